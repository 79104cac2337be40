// SPDX-License-Identifier: GPL-2.0-only
/*
 * Many threads on one iommufd at once, for a bounded time: mapping and
 * unmapping, copying between IOASes, adding and removing domains, pinning
 * and reading through an access user, and destroying objects by guessed
 * IDs. Every call must either succeed or fail with an errno that the
 * race explains; afterwards the file must still be consistent and closing
 * it must release every pin. Lockdep, KASAN and kmemleak watch the kernel
 * side meanwhile.
 */
#include <pthread.h>
#include <time.h>

#include "iommufd_test_lib.h"

#define RUN_SECONDS 4
#define SLOTS 16		/* IOVA slots of SLOT_PAGES pages each */
#define SLOT_PAGES 4
#define BASE MOCK_APERTURE_START

struct race {
	int fd;
	uint32_t ioas[2];
	uint8_t *buf;
	volatile bool stop;
	volatile int failed;
	char why[160];
	unsigned long calls;
};

static uint64_t slot_iova(unsigned int slot)
{
	return BASE + (uint64_t)slot * SLOT_PAGES * PAGE_SZ;
}

/* Record the first unexplained error; keep the others running. */
static void bad(struct race *r, const char *what, int rc)
{
	if (__sync_bool_compare_and_swap(&r->failed, 0, 1))
		snprintf(r->why, sizeof(r->why), "%s: %s", what,
			 strerror(-rc));
}

static bool one_of(int rc, const int *ok, unsigned int n)
{
	unsigned int i;

	for (i = 0; i != n; i++)
		if (rc == ok[i])
			return true;
	return false;
}

#define CHECK(r, what, rc, ...)                                        \
	do {                                                           \
		static const int __ok[] = { 0, __VA_ARGS__ };          \
		int __rc = (rc);                                       \
		if (!one_of(__rc, __ok, ARRAY_LEN(__ok)))              \
			bad(r, what, __rc);                            \
		__sync_fetch_and_add(&(r)->calls, 1);                  \
	} while (0)

static unsigned int rnd(unsigned int *seed, unsigned int n)
{
	*seed = *seed * 1103515245 + 12345;
	return (*seed >> 8) % n;
}

static void *mapper(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 1;

	while (!r->stop) {
		unsigned int slot = rnd(&seed, SLOTS);
		uint32_t ioas = r->ioas[rnd(&seed, 2)];

		/* Taken, or just unmapped by another thread: both fine. */
		CHECK(r, "map", ioas_map(r->fd, ioas,
					 r->buf + slot * SLOT_PAGES * PAGE_SZ,
					 SLOT_PAGES * PAGE_SZ, slot_iova(slot),
					 RW_FLAGS), -EEXIST);
		slot = rnd(&seed, SLOTS);
		/* EBUSY: a copy of it is being created right now. */
		CHECK(r, "unmap", ioas_unmap(r->fd, ioas, slot_iova(slot),
					     SLOT_PAGES * PAGE_SZ, NULL),
		      -ENOENT, -EBUSY);
	}
	return NULL;
}

static void *copier(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 2;

	while (!r->stop) {
		unsigned int from = rnd(&seed, SLOTS), to = rnd(&seed, SLOTS);
		unsigned int src = rnd(&seed, 2);

		CHECK(r, "copy", ioas_copy(r->fd, r->ioas[!src], slot_iova(to),
					   r->ioas[src], slot_iova(from),
					   SLOT_PAGES * PAGE_SZ, RW_FLAGS),
		      -ENOENT, -EEXIST);
	}
	return NULL;
}

static void *domains(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 3;

	while (!r->stop) {
		uint32_t stdev, hwpt, idev, extra = 0;
		int rc;

		rc = mock_domain(r->fd, r->ioas[rnd(&seed, 2)], &stdev, &hwpt,
				 &idev);
		CHECK(r, "mock domain", rc);
		if (rc)
			continue;
		/*
		 * The destroyer thread may take the device or the new HWPT
		 * away at any moment: ENOENT is then the right answer.
		 */
		rc = hwpt_alloc(r->fd, idev, r->ioas[rnd(&seed, 2)], 0, &extra);
		CHECK(r, "hwpt alloc", rc, -ENOENT);
		if (!rc) {
			CHECK(r, "replace", mock_replace(r->fd, stdev, &extra),
			      -ENOENT);
			CHECK(r, "destroy hwpt", obj_destroy(r->fd, extra),
			      -EBUSY, -ENOENT);
		}
		CHECK(r, "destroy device", obj_destroy(r->fd, stdev), -ENOENT);
		if (extra)
			obj_destroy(r->fd, extra);
	}
	return NULL;
}

static void *accessor(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 4;
	uint8_t data[64];
	int afd;

	if (access_create(r->fd, r->ioas[0], true, &afd)) {
		bad(r, "access create", -errno);
		return NULL;
	}
	while (!r->stop) {
		unsigned int slot = rnd(&seed, SLOTS);
		uint32_t item = 0;
		int rc;

		/* ENOENT: not mapped; EINVAL: being unmapped right now. */
		rc = access_pin(r->fd, afd, slot_iova(slot),
				SLOT_PAGES * PAGE_SZ, NULL, &item);
		CHECK(r, "access pin", rc, -ENOENT, -EINVAL);
		CHECK(r, "access rw", access_rw(r->fd, afd, slot_iova(slot) + 10,
						data, sizeof(data), 0),
		      -ENOENT, -EINVAL);
		/* The unmap callback may have taken it already. */
		if (!rc)
			CHECK(r, "access unpin", access_unpin(r->fd, afd, item),
			      -ENOENT);
	}
	close(afd);
	return NULL;
}

static void *destroyer(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 5;

	while (!r->stop) {
		uint32_t id;

		/* IDs of things other threads own: busy or gone, never ok. */
		id = rnd(&seed, 64) + 1;
		if (id == r->ioas[0] || id == r->ioas[1])
			continue;
		/* A selftest device is destroyable; it is then just gone. */
		CHECK(r, "guessed destroy", obj_destroy(r->fd, id), -EBUSY,
		      -ENOENT);
		CHECK(r, "ioas alloc", ioas_alloc(r->fd, &id));
		/*
		 * IDs are reused, and the guess above may have destroyed the
		 * domains thread's HWPT: the new IOAS can then get that ID,
		 * and that thread, still holding it, destroy the IOAS
		 * (ENOENT) or replace its device onto it (EBUSY).
		 */
		CHECK(r, "ioas destroy", obj_destroy(r->fd, id), -ENOENT,
		      -EBUSY);
	}
	return NULL;
}

FIXTURE(race)
{
	struct race r;
};

FIXTURE_SETUP(race)
{
	memset(&self->r, 0, sizeof(self->r));
	self->r.fd = iofd_open();
	ASSERT_LE(0, self->r.fd);
	ASSERT_EQ(0, ioas_alloc(self->r.fd, &self->r.ioas[0]));
	ASSERT_EQ(0, ioas_alloc(self->r.fd, &self->r.ioas[1]));
	self->r.buf = alloc_buffer(SLOTS * SLOT_PAGES * PAGE_SZ);
	ASSERT_NE(NULL, self->r.buf);
}

FIXTURE_TEARDOWN(race)
{
	if (self->r.fd >= 0)
		close(self->r.fd);
}

static void run(struct __test_metadata *_metadata, struct race *r,
		void *(**fns)(void *), unsigned int n)
{
	pthread_t threads[8];
	unsigned int i;
	int fd;

	for (i = 0; i != n; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, fns[i], r));
	sleep(RUN_SECONDS);
	r->stop = true;
	for (i = 0; i != n; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	TH_LOG("%lu calls", r->calls);
	if (r->failed)
		TH_LOG("first unexplained error: %s", r->why);
	EXPECT_EQ(0, r->failed);

	/* Still consistent: everything can be unmapped and released. */
	EXPECT_EQ(0, ioas_unmap(r->fd, r->ioas[0], 0, UINT64_MAX, NULL));
	EXPECT_EQ(0, ioas_unmap(r->fd, r->ioas[1], 0, UINT64_MAX, NULL));
	close(r->fd);
	r->fd = -1;
	fd = iofd_open();
	EXPECT_EQ(0, check_pins(fd, r->buf, SLOTS * SLOT_PAGES * PAGE_SZ, 0));
	close(fd);
}

TEST_F(race, map_unmap_copy)
{
	void *(*fns[])(void *) = { mapper, mapper, copier };

	run(_metadata, &self->r, fns, ARRAY_LEN(fns));
}

TEST_F(race, with_domains_coming_and_going)
{
	void *(*fns[])(void *) = { mapper, copier, domains };

	run(_metadata, &self->r, fns, ARRAY_LEN(fns));
}

TEST_F(race, with_access_users)
{
	void *(*fns[])(void *) = { mapper, copier, accessor, domains };

	run(_metadata, &self->r, fns, ARRAY_LEN(fns));
}

TEST_F(race, everything_and_destroy)
{
	void *(*fns[])(void *) = { mapper, copier, accessor, domains,
				   destroyer };

	run(_metadata, &self->r, fns, ARRAY_LEN(fns));
}

TEST_HARNESS_MAIN
