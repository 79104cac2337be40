// SPDX-License-Identifier: GPL-2.0-only
/*
 * RLIMIT_MEMLOCK: pinned memory is charged once per page, refused with
 * ENOMEM past the limit without leaving anything pinned or charged, and
 * uncharged to the last page when released. Each test drops CAP_IPC_LOCK
 * (the harness runs every test in its own process) so that the limit
 * applies to root too.
 */
#include <sys/resource.h>

#include "iommufd_test_lib.h"

#define LIMIT_PAGES 16
#define BASE MOCK_APERTURE_START

FIXTURE(limits)
{
	int fd;
	uint32_t ioas;
	uint32_t stdev;
	uint8_t *buf;
	size_t len;
};

FIXTURE_VARIANT(limits)
{
	bool per_process;	/* IOMMU_OPTION_RLIMIT_MODE 1 */
};

FIXTURE_VARIANT_ADD(limits, per_user)
{
	.per_process = false,
};

FIXTURE_VARIANT_ADD(limits, per_process)
{
	.per_process = true,
};

FIXTURE_SETUP(limits)
{
	struct rlimit rl = {
		.rlim_cur = LIMIT_PAGES * PAGE_SZ,
		.rlim_max = LIMIT_PAGES * PAGE_SZ,
	};
	uint64_t mode = variant->per_process;

	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
	/* Choosing the mode needs CAP_SYS_RESOURCE: do it first. */
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_SET, 0, &mode));
	ASSERT_EQ(0, drop_cap(CAP_IPC_LOCK));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));

	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &self->stdev, NULL,
				 NULL));
	self->len = 4 * LIMIT_PAGES * PAGE_SZ;
	self->buf = alloc_buffer(self->len);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(limits)
{
	close(self->fd);
	self->fd = iofd_open();
	EXPECT_EQ(0, check_pins(self->fd, self->buf, self->len, 0));
	EXPECT_EQ(0, vm_pinned_kb());
	close(self->fd);
}

TEST_F(limits, up_to_the_limit_and_not_beyond)
{
	unsigned int i;

	/* One page at a time up to the limit. */
	for (i = 0; i != LIMIT_PAGES; i++)
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas,
				      self->buf + i * PAGE_SZ, PAGE_SZ,
				      BASE + i * PAGE_SZ, RW_FLAGS));
	EXPECT_EQ(LIMIT_PAGES * PAGE_SZ / 1024, vm_pinned_kb());

	/* One more page is refused, and leaves nothing behind. */
	EXPECT_EQ(-ENOMEM, ioas_map(self->fd, self->ioas,
				    self->buf + LIMIT_PAGES * PAGE_SZ, PAGE_SZ,
				    BASE + LIMIT_PAGES * PAGE_SZ, RW_FLAGS));
	EXPECT_EQ(0, check_pins(self->fd, self->buf + LIMIT_PAGES * PAGE_SZ,
				PAGE_SZ, 0));
	EXPECT_EQ(LIMIT_PAGES * PAGE_SZ / 1024, vm_pinned_kb());
	EXPECT_EQ(-ENOENT, ioas_unmap(self->fd, self->ioas,
				      BASE + LIMIT_PAGES * PAGE_SZ, PAGE_SZ,
				      NULL));

	/*
	 * A copy shares the pins of what it copies: nothing more to charge.
	 * (A second IOAS_MAP of the same memory is a mapping of its own,
	 * pinned and charged again, and is refused here.)
	 */
	EXPECT_EQ(0, ioas_copy(self->fd, self->ioas, BASE + 128 * PAGE_SZ,
			       self->ioas, BASE, 4 * PAGE_SZ, RW_FLAGS));
	EXPECT_EQ(LIMIT_PAGES * PAGE_SZ / 1024, vm_pinned_kb());
	EXPECT_EQ(-ENOMEM, ioas_map(self->fd, self->ioas, self->buf, PAGE_SZ,
				    BASE + 64 * PAGE_SZ, RW_FLAGS));

	/* Everything released: back to zero. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, NULL));
	EXPECT_EQ(0, vm_pinned_kb());
}

TEST_F(limits, one_big_map_over_the_limit)
{
	EXPECT_EQ(-ENOMEM, ioas_map(self->fd, self->ioas, self->buf,
				    2 * LIMIT_PAGES * PAGE_SZ, BASE, RW_FLAGS));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, self->len, 0));
	EXPECT_EQ(0, vm_pinned_kb());
	/* The IOAS is untouched and still works within the limit. */
	EXPECT_EQ(0, ioas_map(self->fd, self->ioas, self->buf,
			      LIMIT_PAGES * PAGE_SZ, BASE, RW_FLAGS));
}

/* Without a domain nothing is pinned, until a domain arrives. */
TEST_F(limits, attach_over_the_limit)
{
	uint32_t ioas2, stdev;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map(self->fd, ioas2, self->buf,
			      2 * LIMIT_PAGES * PAGE_SZ, BASE, RW_FLAGS));
	EXPECT_EQ(0, vm_pinned_kb());
	EXPECT_EQ(-ENOMEM, mock_domain(self->fd, ioas2, &stdev, NULL, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, self->len, 0));
	EXPECT_EQ(0, vm_pinned_kb());
	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, BASE, 2 * LIMIT_PAGES * PAGE_SZ,
				NULL));
	EXPECT_EQ(0, mock_domain(self->fd, ioas2, &stdev, NULL, NULL));
}

TEST_F(limits, access_pins_over_the_limit)
{
	uint32_t ioas2, item;
	int afd;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map(self->fd, ioas2, self->buf,
			      2 * LIMIT_PAGES * PAGE_SZ, BASE, RW_FLAGS));
	ASSERT_EQ(0, access_create(self->fd, ioas2, true, &afd));
	EXPECT_EQ(-ENOMEM, access_pin(self->fd, afd, BASE,
				      2 * LIMIT_PAGES * PAGE_SZ, NULL, &item));
	EXPECT_EQ(0, vm_pinned_kb());
	ASSERT_EQ(0, access_pin(self->fd, afd, BASE, LIMIT_PAGES * PAGE_SZ,
				self->buf, &item));
	EXPECT_EQ(LIMIT_PAGES * PAGE_SZ / 1024, vm_pinned_kb());
	ASSERT_EQ(0, access_unpin(self->fd, afd, item));
	EXPECT_EQ(0, vm_pinned_kb());
	close(afd);
}

TEST_HARNESS_MAIN
