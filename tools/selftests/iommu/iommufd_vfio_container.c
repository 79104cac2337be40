// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO type1 container emulated on an iommufd: the container ioctls on
 * a /dev/iommu file whose compatibility IOAS holds a mock device (what
 * VFIO_GROUP_SET_CONTAINER would have set up), in TYPE1v2 and TYPE1 mode,
 * and /dev/vfio/vfio served by iommufd. The same flow with a real device
 * behind the emulated VT-d is in iommufd_vfio_edu.
 */
#include <linux/vfio.h>

#include "iommufd_test_lib.h"

#define BASE MOCK_APERTURE_START
#define NPAGES 16

static int vfio_ioas(int fd, uint32_t op, uint32_t *ioas)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = op,
		.ioas_id = *ioas,
	};
	int rc = xioctl(fd, IOMMU_VFIO_IOAS, &cmd);

	*ioas = cmd.ioas_id;
	return rc;
}

#define RDWR (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* Without a compatibility IOAS there is no container to act on. */
TEST(container_without_ioas)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	uint8_t *buf = alloc_buffer(PAGE_SZ);
	uint64_t size = PAGE_SZ;
	int fd = iofd_open();

	ASSERT_LE(0, fd);
	EXPECT_EQ(VFIO_API_VERSION, ioctl(fd, VFIO_GET_API_VERSION));
	EXPECT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL));
	EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_NESTING_IOMMU));
	EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR));
	EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU));
	EXPECT_EQ(-ENODEV, xioctl(fd, VFIO_CHECK_EXTENSION,
				  (void *)VFIO_DMA_CC_IOMMU));

	EXPECT_EQ(-ENODEV, xioctl(fd, VFIO_SET_IOMMU,
				  (void *)VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(-ENODEV, xioctl(fd, VFIO_IOMMU_GET_INFO, &info));
	EXPECT_EQ(-ENODEV, map_dma(fd, buf, BASE, PAGE_SZ, RDWR));
	EXPECT_EQ(-ENODEV, unmap_dma(fd, BASE, &size, 0));
	/* Not emulated: the container's own dirty tracking. */
	EXPECT_EQ(-ENOTTY, xioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &info));
	close(fd);
}

FIXTURE(container)
{
	int fd;
	uint32_t ioas;
	uint32_t hwpt;
	uint8_t *buf;
};

FIXTURE_VARIANT(container)
{
	unsigned long type;
};

FIXTURE_VARIANT_ADD(container, type1v2)
{
	.type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_VARIANT_ADD(container, type1)
{
	.type = VFIO_TYPE1_IOMMU,
};

FIXTURE_SETUP(container)
{
	uint32_t id;

	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, NULL, &self->hwpt,
				 NULL));
	id = self->ioas;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, xioctl(self->fd, VFIO_SET_IOMMU, (void *)variant->type));
	self->buf = alloc_buffer(NPAGES * PAGE_SZ);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(container)
{
	close(self->fd);
	self->fd = iofd_open();
	EXPECT_EQ(0, check_pins(self->fd, self->buf, NPAGES * PAGE_SZ, 0));
	close(self->fd);
}

TEST_F(container, bad_input_changes_nothing)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = RDWR,
		.vaddr = (uintptr_t)self->buf,
		.iova = BASE,
		.size = PAGE_SZ,
	};
	struct vfio_iommu_type1_info info = {};
	uint64_t size = PAGE_SZ, done;

	map.argsz = offsetof(typeof(map), size);
	EXPECT_EQ(-EINVAL, xioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	map.argsz = sizeof(map);
	map.flags = RDWR | (1U << 31);
	EXPECT_EQ(-EINVAL, xioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	map.flags = 0;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	map.flags = RDWR;
	map.size = 0;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	map.size = PAGE_SZ;
	map.iova = 0;	/* outside the mock aperture */
	EXPECT_NE(0, xioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	EXPECT_EQ(-EFAULT, xioctl(self->fd, VFIO_IOMMU_MAP_DMA, NULL));

	EXPECT_EQ(-EINVAL, unmap_dma(self->fd, BASE, &size, 1U << 31));
	size = PAGE_SZ;
	EXPECT_EQ(-EINVAL, unmap_dma(self->fd, BASE, &size,
				     VFIO_DMA_UNMAP_FLAG_ALL));
	size = PAGE_SZ;
	EXPECT_EQ(-EINVAL, unmap_dma(self->fd, BASE, &size,
				     VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP));

	info.argsz = offsetof(typeof(info), iova_pgsizes);
	EXPECT_EQ(-EINVAL, xioctl(self->fd, VFIO_IOMMU_GET_INFO, &info));
	EXPECT_EQ(-EINVAL, xioctl(self->fd, VFIO_SET_IOMMU, (void *)99UL));

	/* Nothing got mapped. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, &done));
	EXPECT_EQ(0, done);
}

TEST_F(container, map_and_unmap)
{
	uint64_t size = NPAGES * PAGE_SZ;

	ASSERT_EQ(0, map_dma(self->fd, self->buf, BASE, size, RDWR));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt, BASE, size, self->buf));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, size, 1));
	/* Taken: a fixed IOVA is never replaced. */
	EXPECT_EQ(-EEXIST, map_dma(self->fd, self->buf, BASE, PAGE_SZ, RDWR));
	/* The mapping is an ordinary one of the IOAS. */
	EXPECT_EQ(-EEXIST, ioas_map(self->fd, self->ioas, self->buf, PAGE_SZ,
				    BASE, RW_FLAGS));

	ASSERT_EQ(0, unmap_dma(self->fd, BASE, &size, 0));
	EXPECT_EQ(NPAGES * PAGE_SZ, size);
	EXPECT_EQ(0, check_pins(self->fd, self->buf, NPAGES * PAGE_SZ, 0));
	/* Nothing left there: success, nothing unmapped (not IOAS_UNMAP's ENOENT). */
	size = NPAGES * PAGE_SZ;
	ASSERT_EQ(0, unmap_dma(self->fd, BASE, &size, 0));
	EXPECT_EQ(0, size);
	EXPECT_EQ(-ENOENT, ioas_unmap(self->fd, self->ioas, BASE,
				      NPAGES * PAGE_SZ, NULL));

	/* UNMAP_ALL takes everything, and wants iova and size 0. */
	ASSERT_EQ(0, map_dma(self->fd, self->buf, BASE, PAGE_SZ, RDWR));
	ASSERT_EQ(0, map_dma(self->fd, self->buf + 4 * PAGE_SZ,
			     BASE + 8 * PAGE_SZ, 2 * PAGE_SZ,
			     VFIO_DMA_MAP_FLAG_READ));
	size = 0;
	ASSERT_EQ(0, unmap_dma(self->fd, 0, &size, VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(3 * PAGE_SZ, size);
}

/*
 * Unmapping part of a mapping: TYPE1 cuts it, TYPE1v2 refuses with ENOENT
 * and leaves it whole.
 */
TEST_F(container, partial_unmap)
{
	uint64_t size = NPAGES * PAGE_SZ, part = 4 * PAGE_SZ;
	uint64_t mid = BASE + 4 * PAGE_SZ;

	ASSERT_EQ(0, map_dma(self->fd, self->buf, BASE, size, RDWR));
	if (variant->type == VFIO_TYPE1v2_IOMMU) {
		EXPECT_EQ(-ENOENT, unmap_dma(self->fd, mid, &part, 0));
		EXPECT_EQ(0, check_map(self->fd, self->hwpt, BASE, size,
				       self->buf));
		return;
	}
	ASSERT_EQ(0, unmap_dma(self->fd, mid, &part, 0));
	EXPECT_EQ(4 * PAGE_SZ, part);
	EXPECT_EQ(0, check_map(self->fd, self->hwpt, BASE, 4 * PAGE_SZ,
			       self->buf));
	EXPECT_NE(0, check_map(self->fd, self->hwpt, mid, PAGE_SZ,
			       self->buf + 4 * PAGE_SZ));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt, BASE + 8 * PAGE_SZ,
			       8 * PAGE_SZ, self->buf + 8 * PAGE_SZ));
	EXPECT_EQ(0, check_pins(self->fd, self->buf + 4 * PAGE_SZ,
				4 * PAGE_SZ, 0));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 4 * PAGE_SZ, 1));
	EXPECT_EQ(0, check_pins(self->fd, self->buf + 8 * PAGE_SZ,
				8 * PAGE_SZ, 1));

	/* Cut again at each end of what is left, one page at a time. */
	part = PAGE_SZ;
	ASSERT_EQ(0, unmap_dma(self->fd, BASE, &part, 0));
	EXPECT_EQ(PAGE_SZ, part);
	part = PAGE_SZ;
	ASSERT_EQ(0, unmap_dma(self->fd, BASE + (NPAGES - 1) * PAGE_SZ, &part,
			       0));
	EXPECT_EQ(PAGE_SZ, part);
	/*
	 * Left: pages 1-3 and 8-14. Pages 2-9 straddle the hole: the ends
	 * are cut off their mappings and 2-3 and 8-9 go.
	 */
	part = 8 * PAGE_SZ;
	ASSERT_EQ(0, unmap_dma(self->fd, BASE + 2 * PAGE_SZ, &part, 0));
	EXPECT_EQ(4 * PAGE_SZ, part);
	size = 0;
	ASSERT_EQ(0, unmap_dma(self->fd, 0, &size, VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ((NPAGES - 10) * PAGE_SZ, size);
}

/* A mapping an access user has pinned pages of cannot be cut. */
TEST_F(container, partial_unmap_with_access_pins)
{
	uint64_t size = NPAGES * PAGE_SZ, part = 4 * PAGE_SZ;
	uint32_t item;
	int afd;

	if (variant->type != VFIO_TYPE1_IOMMU)
		SKIP(return, "only TYPE1 cuts mappings");
	ASSERT_EQ(0, map_dma(self->fd, self->buf, BASE, size, RDWR));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, true, &afd));
	ASSERT_EQ(0, access_pin(self->fd, afd, BASE, PAGE_SZ, self->buf,
				&item));
	EXPECT_EQ(-EINVAL, unmap_dma(self->fd, BASE + 4 * PAGE_SZ, &part, 0));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt, BASE, size, self->buf));
	/* A whole mapping still goes: the access is told to let go. */
	ASSERT_EQ(0, unmap_dma(self->fd, BASE, &size, 0));
	EXPECT_EQ(NPAGES * PAGE_SZ, size);
	EXPECT_EQ(-ENOENT, access_unpin(self->fd, afd, item));
	close(afd);
}

/* The info structure, its page sizes and its capability chain. */
TEST_F(container, get_info)
{
	struct vfio_iommu_type1_info *info;
	struct vfio_iommu_type1_info_cap_iova_range *ranges = NULL;
	struct vfio_info_cap_header *cap;
	uint8_t raw[1024];
	uint32_t full, off, seen = 0;

	info = (void *)raw;
	memset(raw, 0xaa, sizeof(raw));
	*info = (struct vfio_iommu_type1_info){ .argsz = sizeof(*info) };
	ASSERT_EQ(0, xioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, info->flags);
	/* Too small for the chain: none of it, and the size that would do. */
	EXPECT_EQ(0, info->cap_offset);
	full = info->argsz;
	ASSERT_LT(sizeof(*info), full);
	ASSERT_GE(sizeof(raw), full);
	EXPECT_EQ(0xaa, raw[sizeof(*info)]);
	/* The mock's half pages fold into a CPU page; TYPE1 maps no larger. */
	EXPECT_EQ(PAGE_SZ, variant->type == VFIO_TYPE1_IOMMU ?
				   info->iova_pgsizes :
				   info->iova_pgsizes & -info->iova_pgsizes);

	/* Before capabilities existed: only what fits is written. */
	*info = (struct vfio_iommu_type1_info){
		.argsz = offsetof(struct vfio_iommu_type1_info, cap_offset),
		.cap_offset = 0xaaaaaaaa,
	};
	ASSERT_EQ(0, xioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(0xaaaaaaaa, info->cap_offset);
	EXPECT_NE(0, info->iova_pgsizes);

	memset(raw, 0xaa, sizeof(raw));
	*info = (struct vfio_iommu_type1_info){ .argsz = full };
	ASSERT_EQ(0, xioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(full, info->argsz);
	EXPECT_EQ(0xaa, raw[full]);
	for (off = info->cap_offset; off; off = cap->next) {
		ASSERT_LE(off + sizeof(*cap), full);
		cap = (void *)(raw + off);
		EXPECT_EQ(1, cap->version);
		if (cap->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			ranges = (void *)cap;
		} else {
			EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, cap->id);
		}
		seen++;
		ASSERT_GT(cap->next ?: full, off);
	}
	EXPECT_EQ(2, seen);
	ASSERT_NE(NULL, ranges);
	/* The mock domain's aperture is all there is. */
	ASSERT_EQ(1, ranges->nr_iovas);
	EXPECT_EQ(MOCK_APERTURE_START, ranges->iova_ranges[0].start);
	EXPECT_EQ(MOCK_APERTURE_LAST, ranges->iova_ranges[0].end);
}

/* TYPE1 is emulated by mapping every page singly. */
TEST_F(container, type1_maps_pages_singly)
{
	uint64_t val = 9;

	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_GET, self->ioas, &val));
	EXPECT_EQ(variant->type == VFIO_TYPE1_IOMMU ? 0 : 1, val);
	/* The mock IOMMU cannot enforce coherency, and says so. */
	EXPECT_EQ(0, ioctl(self->fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
}

/*
 * /dev/vfio/vfio is an iommufd too, one that charges pinned memory to the
 * process (as VFIO's container does) rather than to the user.
 */
TEST(dev_vfio_vfio_is_an_iommufd)
{
	int fds[2] = { iofd_open(), open("/dev/vfio/vfio", O_RDWR) };
	uint8_t *buf = alloc_buffer(NPAGES * PAGE_SZ);
	unsigned int i;

	if (fds[1] < 0 && errno == ENOENT)
		SKIP(return, "no /dev/vfio/vfio");
	for (i = 0; i != 2; i++) {
		uint64_t mode = 9, size = NPAGES * PAGE_SZ;
		uint32_t ioas, id;
		long before;

		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, option(fds[i], IOMMU_OPTION_RLIMIT_MODE,
				    IOMMU_OPTION_OP_GET, 0, &mode));
		EXPECT_EQ(i, mode);
		EXPECT_EQ(VFIO_API_VERSION,
			  ioctl(fds[i], VFIO_GET_API_VERSION));

		ASSERT_EQ(0, ioas_alloc(fds[i], &ioas));
		ASSERT_EQ(0, mock_domain(fds[i], ioas, NULL, NULL, NULL));
		id = ioas;
		ASSERT_EQ(0, vfio_ioas(fds[i], IOMMU_VFIO_IOAS_SET, &id));
		ASSERT_EQ(0, xioctl(fds[i], VFIO_SET_IOMMU,
				    (void *)VFIO_TYPE1v2_IOMMU));
		before = proc_kb("/proc/self/status", "VmLck");
		ASSERT_EQ(0, map_dma(fds[i], buf, BASE, size, RDWR));
		EXPECT_EQ(before + (i ? (long)size / 1024 : 0),
			  proc_kb("/proc/self/status", "VmLck"));
		ASSERT_EQ(0, unmap_dma(fds[i], BASE, &size, 0));
		EXPECT_EQ(before, proc_kb("/proc/self/status", "VmLck"));
		close(fds[i]);
	}
}

TEST_HARNESS_MAIN
