// SPDX-License-Identifier: GPL-2.0-only
/*
 * Many threads on one iommufd at once, for a bounded time: mapping and
 * unmapping, copying between IOASes, adding and removing domains, pinning
 * and reading through access users, moving them between IOASes, binding
 * and unbinding devices, and destroying objects by guessed IDs. Every call
 * must either succeed or fail with an errno that the race explains;
 * afterwards every IOAS must unmap and destroy cleanly and closing the
 * file must release every pin. Lockdep, KASAN and kmemleak watch the
 * kernel side meanwhile: a splat fails the run even if every check passed.
 */
#include <pthread.h>
#include <time.h>

#include "iommufd_test_lib.h"

/* How long each race runs; IOMMUFD_RACE_SECONDS overrides it (soaks). */
#define RUN_SECONDS 4
#define SLOTS 16		/* IOVA slots of SLOT_PAGES pages each */
#define SLOT_PAGES 4
#define BASE MOCK_APERTURE_START
#define NR_IOAS 3

struct race {
	int fd;
	uint32_t ioas[NR_IOAS];
	unsigned int nr_ioas;	/* how many of them the threads use */
	int afd;		/* a shared access user, or -1 */
	uint8_t *buf;
	volatile bool stop;
	volatile int failed;
	char why[160];
	unsigned long calls;
	unsigned int seconds;	/* 0: RUN_SECONDS */
	/* Lockstep between a thread unbinding and one destroying by ID. */
	volatile uint32_t target;
	volatile unsigned long round, hammering, unbound, stopped;
	/* A device the movers share, and the HWPT they move it to; or 0. */
	uint32_t stdev, hwpt;
	/* A second such pair, for a mover of its own. */
	uint32_t stdev2, hwpt2;
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
		uint32_t ioas = r->ioas[rnd(&seed, r->nr_ioas)];

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
		unsigned int i;
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
		/*
		 * ENOENT above: the destroyer took the device, and may still
		 * be detaching it from @extra. Wait for that (EBUSY), a while.
		 */
		for (i = 0; extra && i != 1000; i++) {
			if (obj_destroy(r->fd, extra) != -EBUSY)
				break;
			usleep(1000);
		}
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
		if (id == r->ioas[0] || id == r->ioas[1] || id == r->ioas[2])
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

/*
 * Bind a device, let the hammer thread start destroying its DEVICE ID,
 * unbind it (by destroying the selftest object that owns it), and wait for
 * the hammer to stop before the ID can be reused.
 */
static void *binder(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		uint32_t stdev, idev;
		unsigned long round;
		int rc;

		rc = mock_domain(r->fd, r->ioas[0], &stdev, NULL, &idev);
		CHECK(r, "mock domain", rc);
		if (rc)
			continue;
		r->target = idev;
		round = ++r->round;
		while (r->hammering != round && !r->stop)
			;
		CHECK(r, "unbind", obj_destroy(r->fd, stdev));
		r->unbound = round;
		while (r->stopped != round && !r->stop)
			;
	}
	r->unbound = r->round;
	return NULL;
}

/* IOMMU_DESTROY of a DEVICE a driver holds must never succeed. */
static void *device_hammer(void *arg)
{
	struct race *r = arg;
	unsigned long seen = 0;

	while (!r->stop) {
		if (r->round == seen)
			continue;
		seen = r->round;
		r->hammering = seen;
		while (r->unbound != seen && !r->stop)
			CHECK(r, "destroy bound device",
			      obj_destroy(r->fd, r->target), -EBUSY, -ENOENT);
		/* Once more after the unbind: the ID must be gone. */
		if (r->unbound == seen)
			CHECK(r, "destroy unbound device",
			      obj_destroy(r->fd, r->target) == -ENOENT ?
				      0 : -EEXIST);
		r->stopped = seen;
	}
	return NULL;
}

/*
 * Access users created, pinning, and closed (which destroys them, as
 * VFIO's emulated unbind does, without detaching first) while the mapper
 * thread unmaps under them.
 */
static void *access_closer(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 6;

	while (!r->stop) {
		unsigned int slot = rnd(&seed, SLOTS);
		int afd, rc;

		rc = access_create(r->fd, r->ioas[0], true, &afd);
		CHECK(r, "access create", rc);
		if (rc)
			continue;
		CHECK(r, "access pin", access_pin(r->fd, afd, slot_iova(slot),
						  SLOT_PAGES * PAGE_SZ, NULL,
						  NULL), -ENOENT, -EINVAL);
		close(afd);
	}
	return NULL;
}

/* Move the shared access user from IOAS to IOAS. */
static void *replacer(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 7 + (unsigned int)(uintptr_t)pthread_self() % 97;
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
		.id = r->afd,
	};

	while (!r->stop) {
		cmd.access_replace_ioas.ioas_id = r->ioas[rnd(&seed,
							      r->nr_ioas)];
		CHECK(r, "access replace", test_cmd(r->fd, &cmd));
	}
	return NULL;
}

/* Pin, read and unpin through the shared access user, wherever it is. */
static void *pinner(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 8;
	uint8_t data[64];

	while (!r->stop) {
		unsigned int slot = rnd(&seed, SLOTS);
		uint32_t item = 0;
		int rc;

		/* ENOENT: not mapped, or the access is moving right now. */
		rc = access_pin(r->fd, r->afd, slot_iova(slot),
				SLOT_PAGES * PAGE_SZ, NULL, &item);
		CHECK(r, "access pin", rc, -ENOENT, -EINVAL);
		CHECK(r, "access rw", access_rw(r->fd, r->afd,
						slot_iova(slot) + 10, data,
						sizeof(data), 0),
		      -ENOENT, -EINVAL);
		if (!rc)
			CHECK(r, "access unpin",
			      access_unpin(r->fd, r->afd, item), -ENOENT);
	}
	return NULL;
}

/*
 * The two movers of one device: onto IOAS 0, where it gets a new automatic
 * HWPT whenever it is elsewhere, and onto r->hwpt, which makes the
 * automatic one go away with its last device. Each racing the other.
 */
static void *to_ioas(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		uint32_t pt = r->ioas[0];

		CHECK(r, "replace to IOAS", mock_replace(r->fd, r->stdev, &pt));
	}
	return NULL;
}

static void *to_hwpt(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		uint32_t pt = r->hwpt;

		CHECK(r, "replace to HWPT", mock_replace(r->fd, r->stdev, &pt));
	}
	return NULL;
}

/*
 * Move a device onto IOAS 0 and back onto its own HWPT, over and over. The
 * automatic HWPT it got there must be gone once it left, unless another
 * device is on it now (EBUSY): if IOMMU_DESTROY can still destroy it, the
 * kernel forgot to.
 */
static void shuttle(struct race *r, uint32_t stdev, uint32_t home)
{
	while (!r->stop) {
		uint32_t pt = r->ioas[0], auto_id;
		int rc;

		rc = mock_replace(r->fd, stdev, &pt);
		CHECK(r, "replace to IOAS", rc);
		if (rc)
			continue;
		auto_id = pt;
		pt = home;
		CHECK(r, "replace home", mock_replace(r->fd, stdev, &pt));
		rc = obj_destroy(r->fd, auto_id);
		CHECK(r, "automatic HWPT outlived its devices",
		      rc ? rc : -EEXIST, -ENOENT, -EBUSY);
	}
}

static void *shuttle1(void *arg)
{
	struct race *r = arg;

	shuttle(r, r->stdev, r->hwpt);
	return NULL;
}

static void *shuttle2(void *arg)
{
	struct race *r = arg;

	shuttle(r, r->stdev2, r->hwpt2);
	return NULL;
}

/* Walk every IOAS of the file while others come and go. */
static void *process_changer(void *arg)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };
	struct race *r = arg;

	/* EINVAL: some mapping is not of a memfd, so nothing can move. */
	while (!r->stop)
		CHECK(r, "change process",
		      xioctl(r->fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd), -EINVAL);
	return NULL;
}

static void *ioas_churn(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		uint32_t id;
		int rc;

		rc = ioas_alloc(r->fd, &id);
		CHECK(r, "ioas alloc", rc);
		if (rc)
			continue;
		/* EBUSY while the walk holds it; it lets go soon. */
		do
			rc = obj_destroy(r->fd, id);
		while (rc == -EBUSY && !r->stop);
		CHECK(r, "ioas destroy", rc, -EBUSY);
	}
	return NULL;
}

/*
 * An access user that pins needs PAGE_SIZE alignment, whatever domains
 * come and go meanwhile: while it is attached, the IOAS must say so.
 */
static void *aligned_access(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		uint64_t align = 0;
		int afd, rc;

		rc = access_create(r->fd, r->ioas[1], true, &afd);
		CHECK(r, "access create", rc);
		if (rc)
			continue;
		rc = ioas_ranges(r->fd, r->ioas[1], NULL, 0, &align);
		CHECK(r, "iova ranges", rc < 0 ? rc : 0, -EMSGSIZE);
		if (align < PAGE_SZ)
			bad(r, "alignment below the access's", -ERANGE);
		close(afd);
	}
	return NULL;
}

static void *domain_churn(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		uint32_t stdev;
		int rc;

		rc = mock_domain(r->fd, r->ioas[1], &stdev, NULL, NULL);
		CHECK(r, "mock domain", rc);
		if (!rc)
			CHECK(r, "destroy device", obj_destroy(r->fd, stdev));
	}
	return NULL;
}

/*
 * Dirty tracking on IOAS 0 while the mappers change it: a tracking HWPT is
 * created, switched on, marked, read (clearing or not) and destroyed over
 * and over. Its device sits in IOAS 2, which nothing else uses.
 */
static void *dirty_reader(void *arg)
{
	size_t len = SLOTS * SLOT_PAGES * PAGE_SZ;
	uint8_t marks[SLOTS * SLOT_PAGES * 2 / 8 + 8];
	uint8_t bits[sizeof(marks)];
	struct race *r = arg;
	uint32_t stdev, idev, hwpt;
	unsigned int i;
	int rc;

	memset(marks, 0xff, sizeof(marks));
	rc = mock_domain(r->fd, r->ioas[2], &stdev, NULL, &idev);
	CHECK(r, "mock domain", rc);
	if (rc)
		return NULL;
	while (!r->stop) {
		rc = hwpt_alloc(r->fd, idev, r->ioas[0],
				IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt);
		CHECK(r, "dirty hwpt", rc);
		if (rc)
			break;
		for (i = 0; i != 16 && !r->stop; i++) {
			long marked;

			CHECK(r, "tracking on", set_tracking(r->fd, hwpt, true));
			marked = mark_dirty(r->fd, hwpt, BASE, len, MOCK_PAGE,
					    marks);
			CHECK(r, "mark dirty", marked < 0 ? (int)marked : 0);
			CHECK(r, "read dirty",
			      read_dirty(r->fd, hwpt, BASE, len, MOCK_PAGE,
					 bits, i % 2 ?
					 IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR :
					 0));
		}
		CHECK(r, "tracking off", set_tracking(r->fd, hwpt, false));
		CHECK(r, "destroy dirty hwpt", obj_destroy(r->fd, hwpt));
	}
	CHECK(r, "destroy device", obj_destroy(r->fd, stdev));
	return NULL;
}

static unsigned int race_seconds(unsigned int dflt)
{
	const char *env = getenv("IOMMUFD_RACE_SECONDS");

	return env && atoi(env) > 0 ? (unsigned int)atoi(env) : dflt;
}

FIXTURE(race)
{
	struct race r;
};

FIXTURE_SETUP(race)
{
	unsigned int i;

	memset(&self->r, 0, sizeof(self->r));
	self->r.afd = -1;
	self->r.nr_ioas = 2;
	self->r.fd = iofd_open();
	ASSERT_LE(0, self->r.fd);
	for (i = 0; i != NR_IOAS; i++)
		ASSERT_EQ(0, ioas_alloc(self->r.fd, &self->r.ioas[i]));
	self->r.buf = alloc_buffer(SLOTS * SLOT_PAGES * PAGE_SZ);
	ASSERT_NE(NULL, self->r.buf);
}

FIXTURE_TEARDOWN(race)
{
	if (self->r.afd >= 0)
		close(self->r.afd);
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
	sleep(race_seconds(r->seconds ?: RUN_SECONDS));
	r->stop = true;
	for (i = 0; i != n; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	TH_LOG("%lu calls", r->calls);
	if (r->failed)
		TH_LOG("first unexplained error: %s", r->why);
	EXPECT_EQ(0, r->failed);
	if (r->stdev) {
		EXPECT_EQ(0, obj_destroy(r->fd, r->stdev));
		EXPECT_EQ(0, obj_destroy(r->fd, r->hwpt));
	}
	if (r->stdev2) {
		EXPECT_EQ(0, obj_destroy(r->fd, r->stdev2));
		EXPECT_EQ(0, obj_destroy(r->fd, r->hwpt2));
	}

	/*
	 * Still consistent: with the access users gone (they unpin on the
	 * way), every IOAS unmaps and is destroyed, and no page stays
	 * pinned.
	 */
	if (r->afd >= 0) {
		close(r->afd);
		r->afd = -1;
	}
	for (i = 0; i != NR_IOAS; i++) {
		EXPECT_EQ(0, ioas_unmap(r->fd, r->ioas[i], 0, UINT64_MAX, NULL));
		EXPECT_EQ(0, obj_destroy(r->fd, r->ioas[i]));
	}
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

/* A driver unbinding while user space destroys the DEVICE's ID. */
TEST_F(race, destroy_never_frees_a_bound_device)
{
	void *(*fns[])(void *) = { binder, device_hammer };

	run(_metadata, &self->r, fns, ARRAY_LEN(fns));
}

/* Access users destroyed, as VFIO does, while their IOAS is unmapped. */
TEST_F(race, access_destroy_during_unmap)
{
	void *(*fns[])(void *) = { mapper, access_closer, access_closer };

	self->r.nr_ioas = 1;
	run(_metadata, &self->r, fns, ARRAY_LEN(fns));
}

/* An access moved between IOASes while it pins and they are unmapped. */
TEST_F(race, access_replace_during_pins)
{
	void *(*fns[])(void *) = { mapper, replacer, pinner };

	ASSERT_EQ(0, access_create(self->r.fd, self->r.ioas[0], true,
				   &self->r.afd));
	run(_metadata, &self->r, fns, ARRAY_LEN(fns));
}

/* Two moves of one access at once, among three IOASes. */
TEST_F(race, access_replace_against_replace)
{
	void *(*fns[])(void *) = { mapper, replacer, replacer, pinner };

	self->r.nr_ioas = NR_IOAS;
	ASSERT_EQ(0, access_create(self->r.fd, self->r.ioas[0], true,
				   &self->r.afd));
	run(_metadata, &self->r, fns, ARRAY_LEN(fns));
}

/*
 * IOMMU_IOAS_CHANGE_PROCESS walks the table while IOASes are destroyed. No
 * anonymous mapping may stop the walk early: nothing is mapped at all.
 */
TEST_F(race, change_process_during_destroy)
{
	void *(*fns[])(void *) = { process_changer, ioas_churn, ioas_churn };

	run(_metadata, &self->r, fns, ARRAY_LEN(fns));
}

/* Dirty bitmaps read, cleared and marked while the IOAS is remapped. */
TEST_F(race, dirty_bitmap_during_unmap)
{
	void *(*fns[])(void *) = { mapper, mapper, dirty_reader,
				   dirty_reader };

	self->r.nr_ioas = 1;
	run(_metadata, &self->r, fns, ARRAY_LEN(fns));
}

/* Domains and an access user raise the IOVA alignment at the same time. */
TEST_F(race, alignment_from_domains_and_accesses)
{
	void *(*fns[])(void *) = { aligned_access, domain_churn };

	run(_metadata, &self->r, fns, ARRAY_LEN(fns));
}

/*
 * Found by the fuzzer (make fuzz FUZZ_SEED=20000, seed 20982): a replace
 * onto an IOAS attached the device to a new automatic HWPT before
 * publishing it, and a replace away from it in another thread freed it in
 * that window; publishing it then WARNed, on freed memory.
 */
TEST_F(race, auto_domain_replaced_before_published)
{
	void *(*fns[])(void *) = { to_ioas, to_hwpt, to_hwpt };
	struct race *r = &self->r;
	uint32_t idev;

	/* The window is a few instructions wide: at 4 s it was often missed. */
	r->seconds = 15;
	ASSERT_EQ(0, mock_domain(r->fd, r->ioas[1], &r->stdev, NULL, &idev));
	ASSERT_EQ(0, hwpt_alloc(r->fd, idev, r->ioas[1], 0, &r->hwpt));
	run(_metadata, r, fns, ARRAY_LEN(fns));
}

/*
 * Two devices in groups of their own shuttle between IOAS 0 and a HWPT
 * each. One has a PASID attached, so it only takes automatic HWPTs made
 * for PASIDs: attaching it to IOAS 0 tries the other's first, under a
 * lookup, and is refused. When the other device left that HWPT during the
 * try, the HWPT used to stay behind with no device, and IOAS 0 could not
 * be destroyed until user space destroyed it by ID.
 */
TEST_F(race, auto_domain_left_while_another_device_tries_it)
{
	void *(*fns[])(void *) = { shuttle1, shuttle2 };
	struct race *r = &self->r;
	uint32_t idev;

	r->seconds = 15;
	ASSERT_EQ(0, mock_domain(r->fd, r->ioas[1], &r->stdev, NULL, &idev));
	ASSERT_EQ(0, hwpt_alloc(r->fd, idev, r->ioas[1], 0, &r->hwpt));
	ASSERT_EQ(0, mock_domain_flags(r->fd, r->ioas[1],
				       MOCK_FLAGS_DEVICE_PASID, &r->stdev2,
				       NULL, &idev));
	ASSERT_EQ(0, hwpt_alloc(r->fd, idev, r->ioas[1],
				IOMMU_HWPT_ALLOC_PASID, &r->hwpt2));
	ASSERT_EQ(0, mock_replace(r->fd, r->stdev2, &r->hwpt2));
	ASSERT_EQ(0, pasid_op(r->fd, IOMMU_TEST_OP_PASID_ATTACH, r->stdev2, 7,
			      r->hwpt2));
	run(_metadata, r, fns, ARRAY_LEN(fns));
}

/*
 * A long unmap holds the IOVA lock only briefly: lookups in the same IOAS
 * (IOMMU_IOAS_IOVA_RANGES here) go on completing while the mapping is
 * being taken out of the domains.
 */
struct unmap_watch {
	int fd;
	uint32_t ioas;
	volatile bool started, done;
	volatile uint64_t from, to;	/* the middle half of the unmap, in ns */
	unsigned long inside;	/* lookups completed in it */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#define WATCH_MAX 100000

static void *ranges_reader(void *arg)
{
	struct unmap_watch *w = arg;
	uint64_t *stamps = calloc(WATCH_MAX, sizeof(*stamps));
	unsigned long n = 0, i;

	while (stamps && !w->started)
		;
	while (stamps && !w->done && n != WATCH_MAX) {
		ioas_ranges(w->fd, w->ioas, NULL, 0, NULL);
		stamps[n++] = now_ns();
	}
	while (!w->to)
		;
	for (i = 0; i != n; i++)
		w->inside += stamps[i] > w->from && stamps[i] < w->to;
	free(stamps);
	return NULL;
}

TEST(unmap_lets_lookups_through)
{
	size_t len = 64UL << 20;
	struct unmap_watch w = {};
	uint64_t start, end;
	pthread_t reader;
	uint8_t *buf;

	w.fd = iofd_open();
	ASSERT_LE(0, w.fd);
	ASSERT_EQ(0, ioas_alloc(w.fd, &w.ioas));
	ASSERT_EQ(0, mock_domain(w.fd, w.ioas, NULL, NULL, NULL));
	ASSERT_EQ(0, mock_domain(w.fd, w.ioas, NULL, NULL, NULL));
	buf = alloc_buffer(len);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, ioas_map(w.fd, w.ioas, buf, len, BASE, RW_FLAGS));

	ASSERT_EQ(0, pthread_create(&reader, NULL, ranges_reader, &w));
	w.started = true;
	usleep(1000);
	start = now_ns();
	ASSERT_EQ(0, ioas_unmap(w.fd, w.ioas, BASE, len, NULL));
	end = now_ns();
	w.done = true;
	w.from = start + (end - start) / 4;
	w.to = end - (end - start) / 4;
	ASSERT_EQ(0, pthread_join(reader, NULL));

	TH_LOG("unmap took %llu ms; %lu lookups completed in its middle half",
	       (unsigned long long)((end - start) / 1000000), w.inside);
	if (end - start < 20000000ULL)
		SKIP(return, "the unmap was too quick to tell");
	EXPECT_LE(3, w.inside);
	close(w.fd);
}

/*
 * IOMMU_IOAS_UNMAP of everything while another thread is still taking a
 * large mapping out of the domains: that mapping still holds its IOVA, so
 * the call must fail with EBUSY rather than report an empty IOAS.
 */
struct unmap_pair {
	int fd;
	uint32_t ioas;
	size_t len;
	volatile bool started, finished;
};

static void *big_unmap(void *arg)
{
	struct unmap_pair *u = arg;

	u->started = true;
	ioas_unmap(u->fd, u->ioas, BASE, u->len, NULL);
	u->finished = true;
	return NULL;
}

TEST(unmap_all_during_unmap_is_ebusy)
{
	struct unmap_pair u = { .len = 64UL << 20 };
	unsigned int i, busy = 0;
	uint8_t *buf;

	u.fd = iofd_open();
	ASSERT_LE(0, u.fd);
	ASSERT_EQ(0, ioas_alloc(u.fd, &u.ioas));
	ASSERT_EQ(0, mock_domain(u.fd, u.ioas, NULL, NULL, NULL));
	ASSERT_EQ(0, mock_domain(u.fd, u.ioas, NULL, NULL, NULL));
	buf = alloc_buffer(u.len);
	ASSERT_NE(NULL, buf);

	for (i = 0; i != 5 && !busy; i++) {
		uint64_t done = 0;
		pthread_t t;
		int rc;

		ASSERT_EQ(0, ioas_map(u.fd, u.ioas, buf, u.len, BASE,
				      RW_FLAGS));
		u.started = u.finished = false;
		ASSERT_EQ(0, pthread_create(&t, NULL, big_unmap, &u));
		while (!u.started)
			;
		usleep(20000);
		rc = ioas_unmap(u.fd, u.ioas, 0, UINT64_MAX, &done);
		/* Success is only right if this call did the removing. */
		if (!u.finished && !rc)
			EXPECT_EQ(u.len, done);
		if (!u.finished && rc == -EBUSY)
			busy++;
		else if (rc)
			EXPECT_EQ(0, rc);
		ASSERT_EQ(0, pthread_join(t, NULL));
		ASSERT_EQ(0, ioas_unmap(u.fd, u.ioas, 0, UINT64_MAX, NULL));
	}
	/* The other unmap takes ~200 ms here: it must have been caught. */
	EXPECT_LT(0, busy);
	close(u.fd);
}

TEST_HARNESS_MAIN
