// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty tracking on the mock IOMMU: HWPTs allocated with
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_SET_DIRTY_TRACKING and
 * IOMMU_HWPT_GET_DIRTY_BITMAP. The mock marks pages dirty only when told
 * to (IOMMU_TEST_OP_DIRTY), so every bit read back can be predicted.
 */
#include <sys/mman.h>

#include "iommufd_test_lib.h"

#define BASE MOCK_APERTURE_START
#define BUF_LEN (1UL << 20)
#define HUGE_LEN (2UL << 20)
#define MOCK_HUGE (512 * MOCK_PAGE)

static uint32_t hw_caps(int fd, uint32_t idev)
{
	struct iommu_test_hw_info info;
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = idev,
		.data_len = sizeof(info),
		.data_uptr = (uintptr_t)&info,
	};

	if (xioctl(fd, IOMMU_GET_HW_INFO, &cmd))
		return ~0U;
	return cmd.out_capabilities;
}

static bool bit_is_set(const uint8_t *bits, unsigned long b)
{
	return bits[b / 8] & (1U << (b % 8));
}

static void bit_set(uint8_t *bits, unsigned long b)
{
	bits[b / 8] |= 1U << (b % 8);
}

FIXTURE(dirty)
{
	int fd;
	uint32_t ioas;
	uint32_t stdev;
	uint32_t idev;
	uint32_t hwpt;
	uint64_t len;
	unsigned long pte;	/* bytes the mock maps per page */
	void *buf;
	uint8_t bits[4096 + 64];
};

FIXTURE_VARIANT(dirty)
{
	bool huge;
};

FIXTURE_VARIANT_ADD(dirty, small_pages)
{
	.huge = false,
};

FIXTURE_VARIANT_ADD(dirty, huge_pages)
{
	.huge = true,
};

FIXTURE_SETUP(dirty)
{
	uint32_t dev_flags = 0, dev_ioas;

	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
	self->len = BUF_LEN;
	self->pte = MOCK_PAGE;
	if (variant->huge) {
		/* One 2 MiB hugetlb page: two physically contiguous mock
		 * huge pages.
		 */
		self->buf = mmap(NULL, HUGE_LEN, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
				 MAP_POPULATE, -1, 0);
		if (self->buf == MAP_FAILED)
			SKIP(return, "no 2 MiB hugetlb page");
		self->len = HUGE_LEN;
		self->pte = MOCK_HUGE;
		dev_flags = MOCK_FLAGS_DEVICE_HUGE_IOVA;
	} else {
		self->buf = alloc_buffer(BUF_LEN);
		ASSERT_NE(NULL, self->buf);
	}
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	/* The device only allocates the HWPTs: it sits in an IOAS of its own. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &dev_ioas));
	ASSERT_EQ(0, mock_domain_flags(self->fd, dev_ioas, dev_flags,
				       &self->stdev, NULL, &self->idev));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, self->len,
			      BASE, RW_FLAGS));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas,
				IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &self->hwpt));
}

FIXTURE_TEARDOWN(dirty)
{
	close(self->fd);
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, self->len);
}

/* Mark every @stride-th mock page from @first; check the count. */
static long mark_every(int fd, uint32_t hwpt, uint64_t len,
		       unsigned long first, unsigned long stride)
{
	uint8_t bits[4096] = {};
	unsigned long b;

	for (b = first; b < len / MOCK_PAGE; b += stride)
		bit_set(bits, b);
	return mark_dirty(fd, hwpt, BASE, len, MOCK_PAGE, bits);
}

/*
 * Whether page @b of @page_size bytes must read as dirty when mock pages
 * first, first + stride, ... were marked: a dirty mock mapping makes its
 * whole PTE (@pte bytes) dirty.
 */
static bool expect_dirty(unsigned long b, unsigned long page_size,
			 unsigned long pte, unsigned long first,
			 unsigned long stride)
{
	unsigned long unit = pte > page_size ? pte : page_size;
	unsigned long start = (b * page_size) / unit * unit;
	unsigned long m;

	for (m = start / MOCK_PAGE; m < (start + unit) / MOCK_PAGE; m++)
		if (m >= first && (m - first) % stride == 0)
			return true;
	return false;
}

TEST_F(dirty, capability_follows_the_device)
{
	uint32_t stdev, idev, ioas, hwpt;

	EXPECT_EQ(IOMMU_HW_CAP_DIRTY_TRACKING,
		  hw_caps(self->fd, self->idev) & IOMMU_HW_CAP_DIRTY_TRACKING);
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, mock_domain_flags(self->fd, ioas,
				       MOCK_FLAGS_DEVICE_NO_DIRTY, &stdev,
				       NULL, &idev));
	EXPECT_EQ(0, hw_caps(self->fd, idev) & IOMMU_HW_CAP_DIRTY_TRACKING);
	/* It gets no tracking HWPT... */
	EXPECT_EQ(-EOPNOTSUPP, hwpt_alloc(self->fd, idev, self->ioas,
					  IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
					  &hwpt));
	/* ...and cannot join one: EINVAL, and the HWPT stays unused. */
	EXPECT_EQ(-EINVAL, mock_replace(self->fd, stdev, &self->hwpt));
	EXPECT_EQ(-EINVAL, mock_domain_flags(self->fd, self->hwpt,
					     MOCK_FLAGS_DEVICE_NO_DIRTY,
					     &stdev, NULL, NULL));
	EXPECT_EQ(0, obj_destroy(self->fd, self->hwpt));
}

TEST_F(dirty, tracking_device_attaches)
{
	uint32_t stdev, pt = self->hwpt;

	ASSERT_EQ(0, mock_domain_flags(self->fd, pt, variant->huge ?
				       MOCK_FLAGS_DEVICE_HUGE_IOVA : 0,
				       &stdev, NULL, NULL));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->hwpt));
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt, true));
	ASSERT_EQ(0, obj_destroy(self->fd, stdev));
	EXPECT_EQ(0, obj_destroy(self->fd, self->hwpt));
}

TEST_F(dirty, read_reports_and_clears)
{
	unsigned long nbits = self->len / MOCK_PAGE, b;
	unsigned long stride = variant->huge ? 700 : 3;
	long marked;

	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt, true));
	marked = mark_every(self->fd, self->hwpt, self->len, 1, stride);
	EXPECT_EQ((long)((nbits - 1 + stride - 1) / stride), marked);

	memset(self->bits, 0, sizeof(self->bits));
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt, BASE, self->len,
				MOCK_PAGE, self->bits, 0));
	for (b = 0; b != nbits; b++)
		ASSERT_EQ(expect_dirty(b, MOCK_PAGE, self->pte, 1, stride),
			  bit_is_set(self->bits, b));

	/* Read: clean now. */
	memset(self->bits, 0, sizeof(self->bits));
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt, BASE, self->len,
				MOCK_PAGE, self->bits, 0));
	for (b = 0; b != nbits; b++)
		ASSERT_FALSE(bit_is_set(self->bits, b));
}

TEST_F(dirty, no_clear_keeps_the_state)
{
	unsigned long nbits = self->len / MOCK_PAGE, b;
	int round;

	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt, true));
	ASSERT_LT(0, mark_every(self->fd, self->hwpt, self->len, 0, 5));
	for (round = 0; round != 2; round++) {
		memset(self->bits, 0, sizeof(self->bits));
		ASSERT_EQ(0, read_dirty(self->fd, self->hwpt, BASE, self->len,
					MOCK_PAGE, self->bits,
					IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
		for (b = 0; b != nbits; b++)
			ASSERT_EQ(expect_dirty(b, MOCK_PAGE, self->pte, 0, 5),
				  bit_is_set(self->bits, b));
	}
}

/* Coarser bits than the mock's pages; a bitmap at odd addresses. */
TEST_F(dirty, any_page_size_and_alignment)
{
	static const unsigned long sizes[] = { 8192, 65536, 1UL << 20 };
	static const unsigned int offsets[] = { 0, 1, 7, 8, 33 };
	unsigned int s, o;

	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt, true));
	for (s = 0; s != ARRAY_LEN(sizes); s++) {
		for (o = 0; o != ARRAY_LEN(offsets); o++) {
			unsigned long page_size = sizes[s];
			unsigned long nbits = self->len / page_size, b;
			uint8_t *bits = self->bits + offsets[o];

			ASSERT_LT(0, mark_every(self->fd, self->hwpt,
						self->len, 7, 97));
			memset(self->bits, 0, sizeof(self->bits));
			ASSERT_EQ(0, read_dirty(self->fd, self->hwpt, BASE,
						self->len, page_size, bits, 0));
			for (b = 0; b != nbits; b++)
				ASSERT_EQ(expect_dirty(b, page_size, self->pte,
						       7, 97),
					  bit_is_set(bits, b));
			/* Nothing written past the last bit. */
			for (b = nbits; b != (nbits + 7) / 8 * 8 + 64; b++)
				ASSERT_FALSE(bit_is_set(bits, b));
		}
	}
}

/*
 * A bitmap bigger than the kernel pins at once (512 pages of it): a bit
 * per byte of 32 MiB is 4 MiB of bitmap. It starts 3 bytes before a page
 * boundary, so window ends fall inside the runs of bits of dirty pages.
 */
TEST(dirty_window_crossing)
{
	size_t len = 32UL << 20, mock_page = MOCK_PAGE, b;
	size_t pages = len / mock_page;
	uint32_t ioas, stdev, idev, hwpt, dev_ioas;
	uint8_t *bits, *marks;
	void *buf;
	int fd;

	fd = iofd_open();
	ASSERT_LE(0, fd);
	buf = alloc_buffer(len);
	ASSERT_NE(NULL, buf);
	bits = mmap(NULL, len / 8 + PAGE_SZ, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bits);
	marks = calloc(1, pages / 8);
	ASSERT_NE(NULL, marks);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	ASSERT_EQ(0, ioas_alloc(fd, &dev_ioas));
	ASSERT_EQ(0, mock_domain_flags(fd, dev_ioas, 0, &stdev, NULL, &idev));
	ASSERT_EQ(0, ioas_map(fd, ioas, buf, len, BASE, RW_FLAGS));
	ASSERT_EQ(0, hwpt_alloc(fd, idev, ioas,
				IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt));
	ASSERT_EQ(0, set_tracking(fd, hwpt, true));
	for (b = 0; b < pages; b += 1 + b % 13)
		bit_set(marks, b);
	ASSERT_LT(0, mark_dirty(fd, hwpt, BASE, len, MOCK_PAGE, marks));

	ASSERT_EQ(0, read_dirty(fd, hwpt, BASE, len, 1, bits + PAGE_SZ - 3, 0));
	for (b = 0; b != len; b++)
		if (bit_is_set(marks, b / mock_page) !=
		    bit_is_set(bits + PAGE_SZ - 3, b))
			break;
	EXPECT_EQ(len, b);
	close(fd);
	free(marks);
	munmap(bits, len / 8 + PAGE_SZ);
	munmap(buf, len);
}

/* Reading a range with nothing mapped in it any more: no bits, no error. */
TEST_F(dirty, unmapped_pages_are_not_reported)
{
	unsigned long nbits = self->len / MOCK_PAGE, b;

	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt, true));
	ASSERT_LT(0, mark_every(self->fd, self->hwpt, self->len, 0, 1));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE, self->len, NULL));
	memset(self->bits, 0, sizeof(self->bits));
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt, BASE, self->len,
				MOCK_PAGE, self->bits, 0));
	for (b = 0; b != nbits; b++)
		ASSERT_FALSE(bit_is_set(self->bits, b));
}

/* Turning tracking on starts from clean; off, nothing can be read. */
TEST_F(dirty, enabling_starts_clean)
{
	unsigned long nbits = self->len / MOCK_PAGE, b;

	/* Marking needs tracking on. */
	EXPECT_EQ(-EINVAL, mark_every(self->fd, self->hwpt, self->len, 0, 2));
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt, true));
	ASSERT_LT(0, mark_every(self->fd, self->hwpt, self->len, 0, 2));
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt, false));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt, BASE, self->len,
				      MOCK_PAGE, self->bits, 0));
	/* Enabling twice in a row is fine. */
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt, true));
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt, true));
	memset(self->bits, 0, sizeof(self->bits));
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt, BASE, self->len,
				MOCK_PAGE, self->bits, 0));
	for (b = 0; b != nbits; b++)
		ASSERT_FALSE(bit_is_set(self->bits, b));
}

TEST_F(dirty, bad_input)
{
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set),
		.hwpt_id = self->hwpt,
	};
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get),
		.hwpt_id = self->hwpt,
		.iova = BASE,
		.length = self->len,
		.page_size = MOCK_PAGE,
		.data = (uintptr_t)self->bits,
	};
	uint32_t plain, stdev;

	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt, true));
	/* Reserved fields and unknown flags. */
	set.flags = 2;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING,
				      &set));
	set.flags = 0;
	set.__reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING,
				      &set));
	get.flags = 2;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				      &get));
	get.flags = 0;
	get.__reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				      &get));
	get.__reserved = 0;

	/* Wrong objects. */
	EXPECT_EQ(-ENOENT, set_tracking(self->fd, self->ioas, true));
	EXPECT_EQ(-ENOENT, set_tracking(self->fd, 12345, true));
	EXPECT_EQ(-ENOENT, read_dirty(self->fd, self->ioas, BASE, self->len,
				      MOCK_PAGE, self->bits, 0));
	/* A HWPT that cannot track. */
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas, 0, &plain));
	EXPECT_EQ(-EOPNOTSUPP, set_tracking(self->fd, plain, true));
	EXPECT_EQ(-EOPNOTSUPP, read_dirty(self->fd, plain, BASE, self->len,
					  MOCK_PAGE, self->bits, 0));

	/* Ranges and sizes. */
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt, BASE, 0,
				      MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt, BASE, self->len,
				      0, self->bits, 0));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt, BASE, self->len,
				      3 * MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt, BASE + MOCK_PAGE,
				      self->len, 2 * MOCK_PAGE, self->bits,
				      0));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt, BASE,
				      self->len - MOCK_PAGE, 2 * MOCK_PAGE,
				      self->bits, 0));
	EXPECT_EQ(-EOVERFLOW, read_dirty(self->fd, self->hwpt, ~0ULL - 4095,
					 8192, 4096, self->bits, 0));
	EXPECT_EQ(-EFAULT, read_dirty(self->fd, self->hwpt, BASE, self->len,
				      MOCK_PAGE, NULL, 0));

	/*
	 * None of that changed anything: tracking is still on, the HWPTs are
	 * free to go, and a device still attaches.
	 */
	EXPECT_LT(0, mark_every(self->fd, self->hwpt, self->len, 0, 2));
	EXPECT_EQ(0, obj_destroy(self->fd, plain));
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->hwpt, variant->huge ?
				       MOCK_FLAGS_DEVICE_HUGE_IOVA : 0,
				       &stdev, NULL, NULL));
	EXPECT_EQ(0, obj_destroy(self->fd, stdev));
	EXPECT_EQ(0, obj_destroy(self->fd, self->hwpt));
}

TEST_HARNESS_MAIN
