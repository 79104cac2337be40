// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOAS and the pinned-page engine beneath it, in every domain
 * configuration: no domain (nothing pinned until needed), one mock domain,
 * two mock domains (one automatic, one allocated explicitly), and one mock
 * domain with the engine's temporary buffers shrunk to a single PFN run so
 * that every buffer boundary is crossed.
 */
#include <sys/syscall.h>
#include <sys/wait.h>

#include "iommufd_test_lib.h"

#define BUF_PAGES 64
#define BASE MOCK_APERTURE_START

FIXTURE(ioas)
{
	int fd;
	uint32_t ioas;
	uint32_t hwpt[2];
	uint32_t stdev;
	uint32_t idev;
	uint8_t *buf;
	size_t buf_len;
};

FIXTURE_VARIANT(ioas)
{
	unsigned int domains;
	uint32_t memory_limit;
};

FIXTURE_VARIANT_ADD(ioas, no_domain)
{
	.domains = 0,
};

FIXTURE_VARIANT_ADD(ioas, one_domain)
{
	.domains = 1,
};

FIXTURE_VARIANT_ADD(ioas, two_domains)
{
	.domains = 2,
};

FIXTURE_VARIANT_ADD(ioas, one_domain_tiny_batches)
{
	.domains = 1,
	.memory_limit = 16,
};

FIXTURE_SETUP(ioas)
{
	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, set_temp_memory_limit(self->fd, variant->memory_limit ?:
					   65536));
	if (variant->domains >= 1)
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &self->stdev,
					 &self->hwpt[0], &self->idev));
	if (variant->domains >= 2)
		ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas, 0,
					&self->hwpt[1]));
	self->buf_len = BUF_PAGES * PAGE_SZ;
	self->buf = alloc_buffer(self->buf_len);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(ioas)
{
	set_temp_memory_limit(self->fd, 65536);
	close(self->fd);
	/* Closing the file must release every pin. */
	self->fd = iofd_open();
	EXPECT_EQ(0, check_pins(self->fd, self->buf, self->buf_len, 0));
	close(self->fd);
}

/* Every domain of the fixture maps [iova, +len) to buf, or none is set. */
static int check_domains(FIXTURE_DATA(ioas) *self, unsigned int domains,
			 uint64_t iova, uint64_t len, void *buf)
{
	unsigned int i;
	int rc;

	for (i = 0; i != domains; i++) {
		rc = check_map(self->fd, self->hwpt[i], iova, len, buf);
		if (rc)
			return rc;
	}
	return 0;
}

/* Pages are pinned exactly once while any domain maps them. */
TEST_F(ioas, map_pins_once)
{
	uint64_t done;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, self->buf_len,
			      BASE, RW_FLAGS));
	EXPECT_EQ(0, check_domains(self, variant->domains, BASE,
				   self->buf_len, self->buf));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, self->buf_len,
				variant->domains ? 1 : 0));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE, self->buf_len,
				&done));
	EXPECT_EQ(self->buf_len, done);
	EXPECT_EQ(0, check_pins(self->fd, self->buf, self->buf_len, 0));
}

/*
 * Small pages faulted in a scrambled order are mostly not physically next
 * to each other, so one mapping holds thousands of runs: more than one
 * batch, and more than one scatterlist handed to the IOMMU layer. Each page
 * must still land at its own IOVA, in every domain, and be pinned once.
 */
TEST_F(ioas, scattered_pages_each_at_its_iova)
{
	size_t npages = 8192, len = npages * PAGE_SZ, i;
	uint8_t *mem;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, madvise(mem, len, MADV_NOHUGEPAGE));
	/* npages is a power of two, so the odd stride visits every page. */
	for (i = 0; i != npages; i++)
		mem[((i * 40503) % npages) * PAGE_SZ] = 1;
	if (phys_runs(mem, len) < (long)npages / 2) {
		munmap(mem, len);
		SKIP(return, "memory came out contiguous, or PFNs are hidden");
	}

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, mem, len, BASE, RW_FLAGS));
	EXPECT_EQ(0, check_domains(self, variant->domains, BASE, len, mem));
	EXPECT_EQ(0, check_pins(self->fd, mem, len, variant->domains ? 1 : 0));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE, len, NULL));
	EXPECT_EQ(0, check_pins(self->fd, mem, len, 0));
	munmap(mem, len);
}

/* A failed unmap changes nothing: the mapping is still whole afterwards. */
TEST_F(ioas, partial_unmap_changes_nothing)
{
	uint64_t done;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, 4 * PAGE_SZ,
			      BASE, RW_FLAGS));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf + 8 * PAGE_SZ,
			      4 * PAGE_SZ, BASE + 8 * PAGE_SZ, RW_FLAGS));
	/* Covers the first mapping whole and the second in part. */
	EXPECT_EQ(-ENOENT, ioas_unmap(self->fd, self->ioas, BASE,
				      10 * PAGE_SZ, NULL));
	EXPECT_EQ(0, check_domains(self, variant->domains, BASE, 4 * PAGE_SZ,
				   self->buf));
	EXPECT_EQ(-EEXIST, ioas_map(self->fd, self->ioas, self->buf, PAGE_SZ,
				    BASE, RW_FLAGS));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE, 12 * PAGE_SZ,
				&done));
	EXPECT_EQ(8 * PAGE_SZ, done);
	EXPECT_EQ(-ENOENT, ioas_unmap(self->fd, self->ioas, BASE,
				      12 * PAGE_SZ, NULL));
}

TEST_F(ioas, unmap_all)
{
	uint64_t done;
	unsigned int i;

	for (i = 0; i != 8; i++)
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas,
				      self->buf + i * PAGE_SZ, PAGE_SZ,
				      BASE + 2 * i * PAGE_SZ, RW_FLAGS));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, &done));
	EXPECT_EQ(8 * PAGE_SZ, done);
	/* Unmapping everything from an empty IOAS is not an error. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, &done));
	EXPECT_EQ(0, done);
}

/* Automatic IOVAs are aligned like the memory and never overlap. */
TEST_F(ioas, auto_iova)
{
	uint64_t iovas[16];
	unsigned int i, j;

	for (i = 0; i != ARRAY_LEN(iovas); i++) {
		size_t len = (i % 4 + 1) * PAGE_SZ;

		ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas, self->buf,
					   len, &iovas[i]));
		/* The buffer is 2 MiB aligned: keep that up to the size. */
		EXPECT_EQ(0, iovas[i] % (1UL << __builtin_ctzl(len)));
		for (j = 0; j != i; j++)
			EXPECT_NE(iovas[j], iovas[i]);
		if (variant->domains)
			EXPECT_LE(MOCK_APERTURE_START, iovas[i]);
	}
}

TEST_F(ioas, auto_iova_avoids_reserved_and_respects_allowed)
{
	struct iommu_iova_range allowed = {
		.start = BASE + 64 * PAGE_SZ,
		.last = BASE + 128 * PAGE_SZ - 1,
	};
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas,
		.num_iovas = 1,
		.allowed_iovas = (uintptr_t)&allowed,
	};
	struct iommu_iova_range two[2];
	uint64_t iova;
	unsigned int i;

	ASSERT_EQ(0, add_reserved(self->fd, self->ioas, BASE, 64 * PAGE_SZ));
	ASSERT_EQ(0, xioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	for (i = 0; i != 16; i++) {
		ASSERT_EQ(0, ioas_map_auto(self->fd, self->ioas, self->buf,
					   4 * PAGE_SZ, &iova));
		EXPECT_LE(allowed.start, iova);
		EXPECT_GE(allowed.last, iova + 4 * PAGE_SZ - 1);
	}
	/* 16 x 4 pages filled the 64 allowed pages. */
	EXPECT_EQ(-ENOSPC, ioas_map_auto(self->fd, self->ioas, self->buf,
					 PAGE_SZ, &iova));
	/* Reserving inside an allowed range is refused. */
	EXPECT_EQ(-EADDRINUSE, add_reserved(self->fd, self->ioas,
					    allowed.start, PAGE_SZ));
	/* Allowing a reserved range too. */
	allowed.start = BASE;
	EXPECT_EQ(-EADDRINUSE, xioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	/* Overlapping ranges in one call are refused. */
	two[0].start = BASE + 64 * PAGE_SZ;
	two[0].last = BASE + 80 * PAGE_SZ;
	two[1].start = BASE + 70 * PAGE_SZ;
	two[1].last = BASE + 90 * PAGE_SZ;
	cmd.num_iovas = 2;
	cmd.allowed_iovas = (uintptr_t)two;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
}

TEST_F(ioas, iova_ranges_follow_domains)
{
	struct iommu_iova_range ranges[4];
	uint64_t align;
	int n;

	n = ioas_ranges(self->fd, self->ioas, ranges, 4, &align);
	ASSERT_EQ(1, n);
	if (variant->domains) {
		EXPECT_EQ(MOCK_APERTURE_START, ranges[0].start);
		EXPECT_EQ(MOCK_APERTURE_LAST, ranges[0].last);
		EXPECT_EQ(MOCK_PAGE, align);
		/* Outside the aperture cannot be mapped. */
		EXPECT_EQ(-EINVAL, ioas_map(self->fd, self->ioas, self->buf,
					    PAGE_SZ, 0, RW_FLAGS));
		/* Destroying the device gives the space back. */
		if (variant->domains == 1) {
			ASSERT_EQ(0, obj_destroy(self->fd, self->stdev));
			ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas, ranges,
						 4, &align));
			EXPECT_EQ(0, ranges[0].start);
			EXPECT_EQ(1, align);
		}
	} else {
		EXPECT_EQ(0, ranges[0].start);
		EXPECT_EQ(UINT64_MAX, ranges[0].last);
		EXPECT_EQ(1, align);
	}
}

/* Copies share pins, even across areas and at sub-page offsets. */
TEST_F(ioas, copy_shares_pins)
{
	uint32_t dst;

	ASSERT_EQ(0, ioas_alloc(self->fd, &dst));
	/* Two adjacent areas. */
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, 8 * PAGE_SZ,
			      BASE, RW_FLAGS));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf + 8 * PAGE_SZ,
			      8 * PAGE_SZ, BASE + 8 * PAGE_SZ, RW_FLAGS));
	/* A copy spanning both, starting half way into a page. */
	ASSERT_EQ(0, ioas_copy(self->fd, dst, BASE + MOCK_PAGE, self->ioas,
			       BASE + MOCK_PAGE, 12 * PAGE_SZ, RW_FLAGS));
	/* Into the same IOAS too, where domains see it. */
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas, BASE + 32 * PAGE_SZ,
			       self->ioas, BASE + 4 * PAGE_SZ, 8 * PAGE_SZ,
			       RW_FLAGS));
	EXPECT_EQ(0, check_domains(self, variant->domains, BASE + 32 * PAGE_SZ,
				   8 * PAGE_SZ, self->buf + 4 * PAGE_SZ));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 16 * PAGE_SZ,
				variant->domains ? 1 : 0));

	/* The source going away leaves the copies' pins in place. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE, 16 * PAGE_SZ,
				NULL));
	EXPECT_EQ(0, check_domains(self, variant->domains, BASE + 32 * PAGE_SZ,
				   8 * PAGE_SZ, self->buf + 4 * PAGE_SZ));
	EXPECT_EQ(0, check_pins(self->fd, self->buf + 4 * PAGE_SZ,
				8 * PAGE_SZ, variant->domains ? 1 : 0));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 4 * PAGE_SZ, 0));

	/* A gap in the source is ENOENT. */
	EXPECT_EQ(-ENOENT, ioas_copy(self->fd, dst, BASE + 64 * PAGE_SZ,
				     self->ioas, BASE, PAGE_SZ, RW_FLAGS));
	ASSERT_EQ(0, obj_destroy(self->fd, dst));
}

TEST_F(ioas, copy_read_only_as_writable_is_eperm)
{
	uint64_t done;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, 4 * PAGE_SZ,
			      BASE, IOMMU_IOAS_MAP_READABLE));
	EXPECT_EQ(-EPERM, ioas_copy(self->fd, self->ioas, BASE + 8 * PAGE_SZ,
				    self->ioas, BASE, 4 * PAGE_SZ, RW_FLAGS));
	EXPECT_EQ(0, ioas_copy(self->fd, self->ioas, BASE + 8 * PAGE_SZ,
			       self->ioas, BASE, 4 * PAGE_SZ,
			       IOMMU_IOAS_MAP_READABLE));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, &done));
	EXPECT_EQ(8 * PAGE_SZ, done);
}

/* Domains added and removed while mappings exist mirror them exactly. */
TEST_F(ioas, domains_come_and_go)
{
	uint32_t stdev, hwpt;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, self->buf_len,
			      BASE, RW_FLAGS));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &stdev, &hwpt, NULL));
	EXPECT_EQ(0, check_map(self->fd, hwpt, BASE, self->buf_len,
			       self->buf));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, self->buf_len, 1));
	ASSERT_EQ(0, obj_destroy(self->fd, stdev));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, self->buf_len,
				variant->domains ? 1 : 0));
	EXPECT_EQ(0, check_domains(self, variant->domains, BASE, self->buf_len,
				   self->buf));
}

/* IOMMU_DESTROY refuses an IOAS or HWPT in use, and a device held by us. */
TEST_F(ioas, busy_objects)
{
	if (!variant->domains) {
		EXPECT_EQ(0, obj_destroy(self->fd, self->ioas));
		return;
	}
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->ioas));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->hwpt[0]));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->idev));
	ASSERT_EQ(0, obj_destroy(self->fd, self->stdev));
	/* The automatic HWPT went with its last device. */
	EXPECT_EQ(-ENOENT, obj_destroy(self->fd, self->hwpt[0]));
	if (variant->domains == 2) {
		EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->ioas));
		EXPECT_EQ(0, obj_destroy(self->fd, self->hwpt[1]));
	}
	EXPECT_EQ(0, obj_destroy(self->fd, self->ioas));
}

/* Mapping lengths and IOVAs must follow the domain's page size. */
TEST_F(ioas, alignment)
{
	uint64_t align = variant->domains ? MOCK_PAGE : 1;
	uint64_t len;

	for (len = 1; len <= 2 * PAGE_SZ; len += 511) {
		int want = len % align ? -EINVAL : 0;

		EXPECT_EQ(want, ioas_map(self->fd, self->ioas, self->buf, len,
					 BASE, RW_FLAGS));
		if (!want)
			ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE, len,
						NULL));
	}
	EXPECT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, 3 * MOCK_PAGE,
			      BASE, RW_FLAGS));
	EXPECT_EQ(0, check_domains(self, variant->domains, BASE, 3 * MOCK_PAGE,
				   self->buf));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE, 3 * MOCK_PAGE,
				NULL));
	/* The user address's offset in its page must be aligned too. */
	EXPECT_EQ(variant->domains ? -EINVAL : 0,
		  ioas_map(self->fd, self->ioas, self->buf + 100, MOCK_PAGE,
			   BASE + 100, RW_FLAGS));
}

TEST_F(ioas, option_huge_pages)
{
	uint64_t val = 7;

	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_GET, self->ioas, &val));
	EXPECT_EQ(1, val);
	val = 2;
	EXPECT_EQ(-EINVAL, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				  IOMMU_OPTION_OP_SET, self->ioas, &val));
	val = 0;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, self->ioas, &val));
	/* Now everything must be page aligned. */
	EXPECT_EQ(-EINVAL, ioas_map(self->fd, self->ioas, self->buf, MOCK_PAGE,
				    BASE, RW_FLAGS));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, 4 * PAGE_SZ,
			      BASE, RW_FLAGS));
	EXPECT_EQ(0, check_domains(self, variant->domains, BASE, 4 * PAGE_SZ,
				   self->buf));
	/* With domains holding mappings the setting cannot change. */
	val = 1;
	EXPECT_EQ(variant->domains ? -EINVAL : 0,
		  option(self->fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
			 self->ioas, &val));
	val = 9;
	EXPECT_EQ(-ENOENT, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				  IOMMU_OPTION_OP_GET, 0, &val));
}

TEST_F(ioas, bad_input_changes_nothing)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = RW_FLAGS | IOMMU_IOAS_MAP_FIXED_IOVA,
		.ioas_id = self->ioas,
		.user_va = (uintptr_t)self->buf,
		.length = PAGE_SZ,
		.iova = BASE,
	};
	uint64_t done;

	map.flags |= 1U << 7;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_IOAS_MAP, &map));
	map.flags &= ~(1U << 7);
	map.__reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_IOAS_MAP, &map));
	map.__reserved = 0;
	map.length = 0;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, IOMMU_IOAS_MAP, &map));
	map.length = PAGE_SZ;
	map.iova = UINT64_MAX - PAGE_SZ / 2;
	EXPECT_NE(0, xioctl(self->fd, IOMMU_IOAS_MAP, &map));
	map.iova = BASE;
	map.ioas_id = self->ioas + 1000;
	EXPECT_EQ(-ENOENT, xioctl(self->fd, IOMMU_IOAS_MAP, &map));
	map.ioas_id = self->ioas;
	/*
	 * Memory that is not there faults when something must pin it; with
	 * no domain nothing pins yet and the mapping is made.
	 */
	map.user_va = PAGE_SZ;
	EXPECT_EQ(variant->domains ? -EFAULT : 0,
		  xioctl(self->fd, IOMMU_IOAS_MAP, &map));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, &done));
	EXPECT_EQ(variant->domains ? 0 : PAGE_SZ, done);
	/* The IOAS is as before, and usable. */
	map.user_va = (uintptr_t)self->buf;
	EXPECT_EQ(0, xioctl(self->fd, IOMMU_IOAS_MAP, &map));
	EXPECT_EQ(0, check_domains(self, variant->domains, BASE, PAGE_SZ,
				   self->buf));
}

/* Memory that vanishes half way through a map leaves nothing pinned. */
TEST_F(ioas, efault_part_way)
{
	uint8_t *p = mmap(NULL, 8 * PAGE_SZ, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, 8 * PAGE_SZ);
	ASSERT_EQ(0, munmap(p + 4 * PAGE_SZ, 4 * PAGE_SZ));
	EXPECT_EQ(variant->domains ? -EFAULT : 0,
		  ioas_map(self->fd, self->ioas, p, 8 * PAGE_SZ, BASE,
			   RW_FLAGS));
	EXPECT_EQ(0, check_pins(self->fd, p, 4 * PAGE_SZ, 0));
	munmap(p, 4 * PAGE_SZ);
}

/* ---------------------------------------------------------------------
 * memfd mappings (IOMMU_IOAS_MAP_FILE)
 */

TEST_F(ioas, file_mapping)
{
	size_t len = 16 * PAGE_SZ;
	uint8_t *view;
	int mfd;

	mfd = make_memfd(len, 0);
	ASSERT_LE(0, mfd);
	view = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	memset(view, 7, len);

	ASSERT_EQ(0, ioas_map_file(self->fd, self->ioas, mfd, 4 * PAGE_SZ,
				   8 * PAGE_SZ, BASE, RW_FLAGS));
	EXPECT_EQ(0, check_domains(self, variant->domains, BASE, 8 * PAGE_SZ,
				   view + 4 * PAGE_SZ));
	EXPECT_EQ(0, check_pins(self->fd, view + 4 * PAGE_SZ, 8 * PAGE_SZ,
				variant->domains ? 1 : 0));
	/* Copies of file mappings share the pins like any other. */
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas, BASE + 64 * PAGE_SZ,
			       self->ioas, BASE, 8 * PAGE_SZ, RW_FLAGS));
	EXPECT_EQ(0, check_pins(self->fd, view + 4 * PAGE_SZ, 8 * PAGE_SZ,
				variant->domains ? 1 : 0));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, NULL));
	EXPECT_EQ(0, check_pins(self->fd, view, len, 0));

	/* Bad input: a file that is not a memfd, a bad fd, offsets. */
	EXPECT_EQ(-EBADF, ioas_map_file(self->fd, self->ioas, -1, 0, PAGE_SZ,
					BASE, RW_FLAGS));
	EXPECT_EQ(-EINVAL, ioas_map_file(self->fd, self->ioas, self->fd, 0,
					 PAGE_SZ, BASE, RW_FLAGS));
	EXPECT_EQ(-EOVERFLOW, ioas_map_file(self->fd, self->ioas, mfd,
					    UINT64_MAX - 10, PAGE_SZ, BASE,
					    RW_FLAGS));
	munmap(view, len);
	close(mfd);
}

TEST_F(ioas, file_read_only_fd)
{
	char path[64];
	int mfd, ro;

	mfd = make_memfd(4 * PAGE_SZ, 0);
	ASSERT_LE(0, mfd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	ro = open(path, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EPERM, ioas_map_file(self->fd, self->ioas, ro, 0,
					4 * PAGE_SZ, BASE, RW_FLAGS));
	EXPECT_EQ(0, ioas_map_file(self->fd, self->ioas, ro, 0, 4 * PAGE_SZ,
				   BASE, IOMMU_IOAS_MAP_READABLE));
	close(ro);
	close(mfd);
}

/* hugetlbfs memfds: one large folio serves many pages, pinned per page. */
TEST_F(ioas, file_hugetlb)
{
	size_t huge = 2UL << 20;
	uint8_t *view;
	uint32_t stdev;
	int mfd;

	mfd = make_memfd(2 * huge, MFD_HUGETLB);
	if (mfd < 0)
		SKIP(return, "no huge pages for a hugetlb memfd");
	view = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (view == MAP_FAILED) {
		close(mfd);
		SKIP(return, "cannot map the hugetlb memfd");
	}
	memset(view, 9, 2 * huge);

	/* Across the boundary between the two huge pages, unaligned. */
	ASSERT_EQ(0, ioas_map_file(self->fd, self->ioas, mfd,
				   huge - 3 * PAGE_SZ, 7 * PAGE_SZ, BASE,
				   RW_FLAGS));
	EXPECT_EQ(0, check_domains(self, variant->domains, BASE, 7 * PAGE_SZ,
				   view + huge - 3 * PAGE_SZ));
	/* A domain arriving later pins from the file as well. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &stdev, NULL, NULL));
	ASSERT_EQ(0, obj_destroy(self->fd, stdev));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, NULL));
	munmap(view, 2 * huge);
	close(mfd);
}

/* ---------------------------------------------------------------------
 * IOMMU_IOAS_CHANGE_PROCESS
 */

TEST_F(ioas, change_process)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };
	size_t len = 8 * PAGE_SZ;
	int mfd, status, pipefd[2];
	char ok = 0;
	long before;
	pid_t child;

	mfd = make_memfd(len, 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ioas_map_file(self->fd, self->ioas, mfd, 0, len, BASE,
				   RW_FLAGS));

	/* An anonymous mapping cannot move: nothing changes. */
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, PAGE_SZ,
			      BASE + 16 * PAGE_SZ, RW_FLAGS));
	before = vm_pinned_kb();
	EXPECT_EQ(-EINVAL, xioctl(self->fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd));
	EXPECT_EQ(before, vm_pinned_kb());
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE + 16 * PAGE_SZ,
				PAGE_SZ, NULL));
	before = vm_pinned_kb();

	cmd.__reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_IOAS_CHANGE_PROCESS,
				      &cmd));
	cmd.__reserved = 0;

	ASSERT_EQ(0, pipe(pipefd));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		long mine = vm_pinned_kb();

		if (xioctl(self->fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd))
			_exit(1);
		ok = vm_pinned_kb() - mine ==
			     (long)(variant->domains ? len / 1024 : 0) ?
			     'y' : 'n';
		if (write(pipefd[1], &ok, 1) != 1)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(1, read(pipefd[0], &ok, 1));
	EXPECT_EQ('y', ok);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The charge left this process. */
	EXPECT_EQ(before - (long)(variant->domains ? len / 1024 : 0),
		  vm_pinned_kb());
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, NULL));
	close(mfd);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* ---------------------------------------------------------------------
 * Reading PFNs back from a domain where memory is physically contiguous.
 * A domain is read page by page except where the engine recorded that a
 * 2 MiB block of IOVA was pinned as one contiguous run; both ways must
 * return exactly the pages user space had mapped.
 */

#define HUGE_SZ (2UL << 20)

/* Give every small page of [p, p + len) contents of its own. */
static void stamp_pages(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i != len / PAGE_SZ; i++)
		memset(p + i * PAGE_SZ, (int)(i * 7 + 1), PAGE_SZ);
}

/*
 * Map @len bytes at @va to @iova, then read them back through an access
 * (from the domains' page tables when there are domains), pin them
 * checking the pages are @va's, and unmap. Returns 0 or the failing step.
 */
static int read_back(FIXTURE_DATA(ioas) *self, unsigned int domains,
		     uint8_t *va, size_t len, uint64_t iova)
{
	uint8_t *back = malloc(len);
	uint32_t item;
	int afd, rc = 1;

	if (!back)
		return -ENOMEM;
	if (ioas_map(self->fd, self->ioas, va, len, iova, RW_FLAGS))
		goto out;
	rc = 2;
	if (check_domains(self, domains, iova, len, va))
		goto out_unmap;
	rc = 3;
	if (access_create(self->fd, self->ioas, true, &afd))
		goto out_unmap;
	rc = 4;
	if (access_rw(self->fd, afd, iova, back, len, 0) ||
	    memcmp(back, va, len))
		goto out_close;
	rc = 5;
	if (access_pin(self->fd, afd, iova, len, va, &item) ||
	    access_unpin(self->fd, afd, item))
		goto out_close;
	rc = 0;
out_close:
	close(afd);
out_unmap:
	if (ioas_unmap(self->fd, self->ioas, iova, len, NULL) && !rc)
		rc = 6;
	if (vm_pinned_kb() != 0 && !rc)
		rc = 7;
out:
	free(back);
	return rc;
}

/* hugetlb pages: 2 MiB blocks that are certain to be contiguous. */
TEST_F(ioas, read_back_hugetlb)
{
	size_t len = 2 * HUGE_SZ;
	uint8_t *view;

	view = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (view == MAP_FAILED)
		SKIP(return, "no hugetlb pages");
	stamp_pages(view, len);

	/* IOVA blocks on the huge pages. */
	EXPECT_EQ(0, read_back(self, variant->domains, view, len, BASE));
	/* Starting part way into a block, ending part way into the next. */
	EXPECT_EQ(0, read_back(self, variant->domains, view + 3 * PAGE_SZ,
			       HUGE_SZ, BASE + 3 * PAGE_SZ));
	/* IOVA blocks straddling the huge pages. */
	EXPECT_EQ(0, read_back(self, variant->domains, view, len,
			       BASE + 5 * PAGE_SZ));
	/* Within one block, and a single page. */
	EXPECT_EQ(0, read_back(self, variant->domains, view + 9 * PAGE_SZ,
			       20 * PAGE_SZ, BASE + 9 * PAGE_SZ));
	EXPECT_EQ(0, read_back(self, variant->domains, view + HUGE_SZ,
			       PAGE_SZ, BASE));
	munmap(view, len);
}

/*
 * A transparent huge page whose small pages user space has reordered: the
 * block is one folio but not one run, and must be read page by page.
 */
TEST_F(ioas, read_back_reordered_thp)
{
	size_t len = 2 * HUGE_SZ;
	const char *rollup = "/proc/self/smaps_rollup";
	long huge = proc_kb(rollup, "AnonHugePages");
	uint8_t *raw, *view, *tmp;

	raw = mmap(NULL, len + HUGE_SZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, raw);
	tmp = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, tmp);
	view = (uint8_t *)(((uintptr_t)raw + HUGE_SZ - 1) & ~(HUGE_SZ - 1));
	/* Before the first touch, or the fault takes small pages. */
	ASSERT_EQ(0, madvise(view, len, MADV_HUGEPAGE));
	stamp_pages(view, len);
	if (proc_kb(rollup, "AnonHugePages") - huge < (long)(HUGE_SZ >> 10))
		SKIP(return, "no transparent huge page was given");

	/* Swap small pages 1 and 2, by way of a spare page. */
	ASSERT_EQ(tmp, mremap(view + PAGE_SZ, PAGE_SZ, PAGE_SZ,
			      MREMAP_MAYMOVE | MREMAP_FIXED, tmp));
	ASSERT_EQ(view + PAGE_SZ, mremap(view + 2 * PAGE_SZ, PAGE_SZ, PAGE_SZ,
					 MREMAP_MAYMOVE | MREMAP_FIXED,
					 view + PAGE_SZ));
	ASSERT_EQ(view + 2 * PAGE_SZ, mremap(tmp, PAGE_SZ, PAGE_SZ,
					     MREMAP_MAYMOVE | MREMAP_FIXED,
					     view + 2 * PAGE_SZ));
	EXPECT_EQ(1 * 7 + 1, view[2 * PAGE_SZ]);

	EXPECT_EQ(0, read_back(self, variant->domains, view, len, BASE));
	EXPECT_EQ(0, read_back(self, variant->domains, view + PAGE_SZ,
			       len - PAGE_SZ, BASE + PAGE_SZ));
	munmap(raw, len + HUGE_SZ);
}

/* A mapping no device may read or write is refused, whichever ioctl. */
TEST_F(ioas, map_without_access_rights_is_einval)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA,
		.ioas_id = self->ioas,
		.user_va = (uintptr_t)self->buf,
		.length = PAGE_SZ,
		.iova = BASE,
	};
	uint64_t done;
	int mfd;

	EXPECT_EQ(-EINVAL, xioctl(self->fd, IOMMU_IOAS_MAP, &map));
	map.flags = 0;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, IOMMU_IOAS_MAP, &map));

	mfd = make_memfd(PAGE_SZ, 0);
	ASSERT_LE(0, mfd);
	EXPECT_EQ(-EINVAL, ioas_map_file(self->fd, self->ioas, mfd, 0, PAGE_SZ,
					 BASE, 0));
	close(mfd);

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, PAGE_SZ, BASE,
			      RW_FLAGS));
	EXPECT_EQ(-EINVAL, ioas_copy(self->fd, self->ioas, BASE + PAGE_SZ,
				     self->ioas, BASE, PAGE_SZ, 0));
	/* Only the one good mapping was made. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, &done));
	EXPECT_EQ(PAGE_SZ, done);
	EXPECT_EQ(0, check_pins(self->fd, self->buf, PAGE_SZ, 0));
}

/* ---------------------------------------------------------------------
 * Access users.
 */

TEST_F(ioas, access_pin_and_rw)
{
	uint8_t data[300], back[300];
	uint32_t item;
	unsigned int i;
	int afd;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, self->buf_len,
			      BASE, RW_FLAGS));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, true, &afd));
	ASSERT_EQ(0, access_pin(self->fd, afd, BASE + PAGE_SZ, 4 * PAGE_SZ,
				self->buf + PAGE_SZ, &item));
	EXPECT_EQ(0, check_pins(self->fd, self->buf + PAGE_SZ, 4 * PAGE_SZ,
				1));

	for (i = 0; i != sizeof(data); i++)
		data[i] = i * 3;
	/* Through pinned and unpinned pages, across a page boundary. */
	ASSERT_EQ(0, access_rw(self->fd, afd, BASE + 2 * PAGE_SZ - 100, data,
			       sizeof(data), MOCK_ACCESS_RW_WRITE));
	EXPECT_EQ(0, memcmp(self->buf + 2 * PAGE_SZ - 100, data,
			    sizeof(data)));
	ASSERT_EQ(0, access_rw(self->fd, afd, BASE + 9 * PAGE_SZ - 100, data,
			       sizeof(data), MOCK_ACCESS_RW_WRITE |
			       MOCK_ACCESS_RW_SLOW_PATH));
	ASSERT_EQ(0, access_rw(self->fd, afd, BASE + 9 * PAGE_SZ - 100, back,
			       sizeof(back), 0));
	EXPECT_EQ(0, memcmp(data, back, sizeof(back)));

	/* Unmapping makes the access let go; the item is then gone. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE, self->buf_len,
				NULL));
	EXPECT_EQ(-ENOENT, access_unpin(self->fd, afd, item));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, self->buf_len, 0));
	EXPECT_EQ(-ENOENT, access_rw(self->fd, afd, BASE, data, 1, 0));
	close(afd);
}

/*
 * An access user may read only what is mapped readable and write only what
 * is mapped writeable, by copying or by pinning; refusals pin nothing.
 */
TEST_F(ioas, access_obeys_map_permissions)
{
	uint8_t *wo = self->buf, *ro = self->buf + PAGE_SZ;
	uint64_t wo_iova = BASE, ro_iova = BASE + PAGE_SZ;
	uint8_t data[16] = { 1, 2, 3 };
	uint32_t item;
	int afd;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, wo, PAGE_SZ, wo_iova,
			      IOMMU_IOAS_MAP_WRITEABLE));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, ro, PAGE_SZ, ro_iova,
			      IOMMU_IOAS_MAP_READABLE));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, true, &afd));

	EXPECT_EQ(-EPERM, access_rw(self->fd, afd, wo_iova, data,
				    sizeof(data), 0));
	EXPECT_EQ(-EPERM, access_rw(self->fd, afd, wo_iova, data,
				    sizeof(data), MOCK_ACCESS_RW_SLOW_PATH));
	EXPECT_EQ(0, access_rw(self->fd, afd, wo_iova, data, sizeof(data),
			       MOCK_ACCESS_RW_WRITE));
	EXPECT_EQ(0, memcmp(wo, data, sizeof(data)));
	EXPECT_EQ(-EPERM, access_rw(self->fd, afd, ro_iova, data,
				    sizeof(data), MOCK_ACCESS_RW_WRITE));
	EXPECT_EQ(0, access_rw(self->fd, afd, ro_iova, data, sizeof(data), 0));

	/* A range crossing from one mapping into the other. */
	EXPECT_EQ(-EPERM, access_rw(self->fd, afd, ro_iova - 8, data,
				    sizeof(data), 0));

	EXPECT_EQ(-EPERM, access_pin(self->fd, afd, wo_iova, PAGE_SZ, NULL,
				     NULL));
	EXPECT_EQ(-EPERM, access_pin_flags(self->fd, afd, ro_iova, PAGE_SZ,
					   NULL, MOCK_FLAGS_ACCESS_WRITE,
					   NULL));
	EXPECT_EQ(-EPERM, access_pin(self->fd, afd, wo_iova, 2 * PAGE_SZ,
				     NULL, NULL));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 2 * PAGE_SZ,
				variant->domains ? 1 : 0));

	ASSERT_EQ(0, access_pin_flags(self->fd, afd, wo_iova, PAGE_SZ, wo,
				      MOCK_FLAGS_ACCESS_WRITE, &item));
	EXPECT_EQ(0, access_unpin(self->fd, afd, item));
	ASSERT_EQ(0, access_pin(self->fd, afd, ro_iova, PAGE_SZ, ro, &item));
	EXPECT_EQ(0, access_unpin(self->fd, afd, item));
	close(afd);
}

/* An access that pins needs page aligned mappings. */
TEST_F(ioas, access_alignment)
{
	int afd;

	if (variant->domains) {
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf,
				      MOCK_PAGE, BASE + MOCK_PAGE, RW_FLAGS));
	} else {
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, 100,
				      BASE + 100, RW_FLAGS));
	}
	EXPECT_EQ(-EADDRINUSE, access_create(self->fd, self->ioas, true,
					     &afd));
	EXPECT_EQ(0, access_create(self->fd, self->ioas, false, &afd));
	close(afd);
}

TEST_HARNESS_MAIN
