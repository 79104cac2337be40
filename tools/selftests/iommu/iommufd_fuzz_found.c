// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regressions the fuzzer (tools/fuzz) found: each test is the minimized
 * sequence of one failing seed, rewritten by hand, and names the seed and
 * what went wrong. A kernel warning counts as a failure of the run even
 * when the assertions hold, so several of these only need to not splat.
 * Races it found, which no single-threaded sequence reproduces, are in
 * iommufd_concurrency.c instead (auto_domain_replaced_before_published).
 */
#include "iommufd_test_lib.h"

#define BASE MOCK_APERTURE_START

FIXTURE(found)
{
	int fd;
	uint32_t ioas;
	uint32_t stdev;
	uint32_t hwpt;
	uint32_t idev;
	int afd;
	uint8_t *buf;
};

FIXTURE_SETUP(found)
{
	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &self->stdev,
				 &self->hwpt, &self->idev));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, true, &self->afd));
	self->buf = alloc_buffer(4 * PAGE_SZ);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, 4 * PAGE_SZ,
			      BASE, RW_FLAGS));
}

FIXTURE_TEARDOWN(found)
{
	close(self->afd);
	close(self->fd);
	munmap(self->buf, 4 * PAGE_SZ);
}

/*
 * Found in the first runs (the seed's sequence has changed since, as the
 * generators grew): ACCESS_PAGES sized its page array from the user's
 * length before looking at it, and a length of terabytes made kvcalloc()
 * warn. Such a length is refused now, like ACCESS_RW's, and nothing is
 * pinned.
 */
TEST_F(found, access_pages_with_a_huge_length)
{
	const uint64_t lens[] = { 1ULL << 40, 1ULL << 62,
				  (64ULL << 20) + PAGE_SZ };
	unsigned int i;

	for (i = 0; i != ARRAY_LEN(lens); i++)
		EXPECT_EQ(-EINVAL, access_pin(self->fd, self->afd, BASE,
					      lens[i], self->buf, NULL));
	/* pinned once, by the mock domain, and no more */
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 4 * PAGE_SZ, 1));
	/* the largest length allowed still reaches the mapping check */
	EXPECT_NE(-EINVAL, access_pin(self->fd, self->afd, BASE, 64ULL << 20,
				      self->buf, NULL));
}

/*
 * Seed 21 of make check's bounded fuzz: a device on a nested HWPT of a
 * vIOMMU loses its vDEVICE (destroying it is allowed), then a replace to
 * a nested HWPT where it has no vDEVICE fails; the core puts the device
 * back on its old domain, which the mock refused in turn for want of the
 * vDEVICE, and the core WARNed. Going back must succeed.
 */
TEST_F(found, failed_replace_after_the_vdevice_went)
{
	uint32_t parent, viommu, viommu2, vdev, nested, nested2, pt;

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	ASSERT_EQ(0, viommu_alloc(self->fd, self->idev, parent,
				  IOMMU_VIOMMU_TYPE_SELFTEST, NULL, 0, &viommu));
	ASSERT_EQ(0, viommu_alloc(self->fd, self->idev, parent,
				  IOMMU_VIOMMU_TYPE_SELFTEST, NULL, 0,
				  &viommu2));
	ASSERT_EQ(0, vdevice_alloc(self->fd, viommu, self->idev, 3, &vdev));
	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, viommu, 0,
				       &nested));
	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, viommu2, 0,
				       &nested2));
	pt = nested;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	ASSERT_EQ(0, obj_destroy(self->fd, vdev));

	/* no vDEVICE on viommu2: refused, and the device stays put */
	pt = nested2;
	EXPECT_EQ(-ENOENT, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, nested));

	pt = self->ioas;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_EQ(0, obj_destroy(self->fd, nested));
	EXPECT_EQ(0, obj_destroy(self->fd, nested2));
	EXPECT_EQ(0, obj_destroy(self->fd, viommu));
	EXPECT_EQ(0, obj_destroy(self->fd, viommu2));
	EXPECT_EQ(0, obj_destroy(self->fd, parent));
}

TEST_HARNESS_MAIN
