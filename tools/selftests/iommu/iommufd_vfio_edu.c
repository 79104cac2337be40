// SPDX-License-Identifier: GPL-2.0-only
/*
 * A real device through a real IOMMU: QEMU's edu device bound to vfio-pci,
 * used through its VFIO cdev with iommufd, behind whichever IOMMU QEMU
 * emulates (Intel VT-d, AMD-Vi or SMMUv3). This is the path a VMM takes.
 * Skipped where there is no edu device, unless IOMMUFD_EXPECT_IOMMU is set
 * (to intel, amd or smmuv3): then edu must be there, behind that IOMMU.
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#include "iommufd_test_lib.h"
#include "edu_vfio.h"

#define BUF_SIZE (64 * 1024)
#define XFER 3000	/* bytes per DMA: below the edu buffer size */
#define IOVA_A 0x100000ULL
#define IOVA_B 0x200000ULL

static void fill_pattern(uint8_t *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i != len; i++)
		p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 8));
}

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

/*
 * The IOMMU logged a fault at @iova. Behind QEMU 7.2's AMD-Vi no fault is
 * ever logged (see edu_faults_logged()): there the check is left out and
 * says so; the memory checks around it still hold.
 */
#define EXPECT_FAULT_LOGGED(iova)					\
	do {								\
		if (edu_faults_logged()) {				\
			EXPECT_TRUE(iommu_fault_logged_soon(iova));	\
		} else {						\
			TH_LOG("not checked: this IOMMU logs no faults"); \
		}							\
	} while (0)

FIXTURE(vfio_edu)
{
	int fd;
	struct edu edu;
	uint32_t ioas;
	uint32_t hwpt;
	uint8_t *buf;
};

FIXTURE_SETUP(vfio_edu)
{
	int rc;

	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
	rc = edu_open(&self->edu, 0, self->fd);
	/* Where the harness put an IOMMU in front of edu, edu must be there. */
	if ((rc == -ENODEV || rc == -ENOENT) && !getenv("IOMMUFD_EXPECT_IOMMU"))
		SKIP(return, "no edu device bound to vfio-pci");
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	self->hwpt = self->ioas;
	ASSERT_EQ(0, edu_attach(&self->edu, &self->hwpt));
	ASSERT_NE(self->ioas, self->hwpt);
	ASSERT_EQ(0, edu_enable_dma(&self->edu));

	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(vfio_edu)
{
	edu_close(&self->edu);
	if (self->fd >= 0)
		close(self->fd);
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, BUF_SIZE);
}

/* RAM -> device -> RAM, through the IOMMU, byte for byte. */
TEST_F(vfio_edu, dma_round_trip)
{
	uint8_t *src = self->buf, *dst = self->buf + 0x4000;

	fill_pattern(src, XFER, 1);
	memset(dst, 0, XFER);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, BUF_SIZE,
				    IOVA_A, RW));
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_A, XFER));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_A + 0x4000, XFER));
	ASSERT_EQ(0, memcmp(src, dst, XFER));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA_A, BUF_SIZE, NULL));
}

/* After unmap the IOVA is gone: the write faults and memory is untouched. */
TEST_F(vfio_edu, dma_after_unmap_is_blocked)
{
	uint8_t *src = self->buf, *dst = self->buf + 0x4000;
	uint8_t sentinel[XFER];

	fill_pattern(src, XFER, 2);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, BUF_SIZE,
				    IOVA_A, RW));
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_A, XFER));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA_A, BUF_SIZE, NULL));

	memset(dst, 0xa5, XFER);
	memcpy(sentinel, dst, XFER);
	edu_fault_prepare();
	EXPECT_FALSE(iommu_fault_logged(IOVA_A + 0x4000));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_A + 0x4000, XFER));
	EXPECT_EQ(0, memcmp(sentinel, dst, XFER));
	EXPECT_FAULT_LOGGED(IOVA_A + 0x4000);
}

/* A read-only mapping lets the device read but not write. */
TEST_F(vfio_edu, read_only_mapping)
{
	uint8_t *src = self->buf, *dst = self->buf + 0x8000;
	uint8_t sentinel[XFER];

	fill_pattern(src, XFER, 3);
	memset(dst, 0x5a, XFER);
	memcpy(sentinel, dst, XFER);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, BUF_SIZE,
				    IOVA_B, IOMMU_IOAS_MAP_READABLE));
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_B, XFER));
	edu_fault_prepare();
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_B + 0x8000, XFER));
	EXPECT_EQ(0, memcmp(sentinel, dst, XFER));
	EXPECT_FAULT_LOGGED(IOVA_B + 0x8000);
}

/*
 * Every reserved region of the device's group (the MSI window of each
 * platform among them: 0xfee00000 on x86, the software MSI window on
 * SMMUv3) is missing from the IOAS's usable ranges, and the MSI window
 * refuses mappings.
 */
TEST_F(vfio_edu, reserved_regions_excluded)
{
	struct iommu_iova_range ranges[16];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas,
		.num_iovas = ARRAY_LEN(ranges),
		.allowed_iovas = (uintptr_t)ranges,
	};
	struct edu_resv resv[16];
	int i, j, nresv;
	uint64_t msi;

	ASSERT_EQ(0, xioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	ASSERT_LE(2, cmd.num_iovas);
	ASSERT_GE(ARRAY_LEN(ranges), cmd.num_iovas);
	EXPECT_EQ(4096, cmd.out_iova_alignment);

	nresv = edu_reserved_regions(0, resv, ARRAY_LEN(resv));
	ASSERT_LT(0, nresv);
	for (j = 0; j != nresv; j++)
		for (i = 0; i != (int)cmd.num_iovas; i++)
			EXPECT_TRUE(ranges[i].last < resv[j].start ||
				    ranges[i].start > resv[j].last);
	/* Every IOMMU QEMU emulates has an MSI window. */
	ASSERT_EQ(0, edu_msi_window(0, &msi));
	EXPECT_EQ(-EINVAL, ioas_map(self->fd, self->ioas, self->buf, 4096,
				    msi, RW));
}

/* Pinned memory is charged while mapped and uncharged after. */
TEST_F(vfio_edu, pinned_accounting)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | RW,
		.src_ioas_id = self->ioas,
		.src_iova = IOVA_A,
		.dst_iova = IOVA_B,
		.length = BUF_SIZE,
	};
	long before = vm_pinned_kb();

	ASSERT_LE(0, before);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, BUF_SIZE,
				    IOVA_A, RW));
	EXPECT_EQ(before + BUF_SIZE / 1024, vm_pinned_kb());

	/* A copy into a second IOAS shares the pins: nothing more. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &copy.dst_ioas_id));
	ASSERT_EQ(0, xioctl(self->fd, IOMMU_IOAS_COPY, &copy));
	EXPECT_EQ(before + BUF_SIZE / 1024, vm_pinned_kb());

	/* The copy's IOAS has no domain: with the original gone, nothing
	 * holds the pages any more.
	 */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, IOVA_A, BUF_SIZE, NULL));
	EXPECT_EQ(before, vm_pinned_kb());
}

/* One DMA from @iova, back into @dst through @iova_back, checked. */
static int dma_through(struct edu *edu, uint64_t iova, uint64_t iova_back,
		       const uint8_t *src, uint8_t *dst)
{
	int rc;

	memset(dst, 0, XFER);
	rc = edu_dma_from_ram(edu, iova, XFER);
	if (!rc)
		rc = edu_dma_to_ram(edu, iova_back, XFER);
	if (!rc && memcmp(src, dst, XFER))
		rc = -EIO;
	return rc;
}

/*
 * Attaching again replaces: DMA follows the new IOAS at once, and follows
 * it back. The same IOVAs hold different memory in each IOAS.
 */
TEST_F(vfio_edu, replace_ioas)
{
	uint8_t *a = self->buf, *b = self->buf + 0x4000;
	uint8_t *back_a = self->buf + 0x8000, *back_b = self->buf + 0xc000;
	uint32_t ioas2, pt;

	fill_pattern(a, XFER, 4);
	fill_pattern(b, XFER, 5);
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, a, 0x4000, IOVA_A, RW));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, back_a, 0x4000, IOVA_B,
			      RW));
	ASSERT_EQ(0, ioas_map(self->fd, ioas2, b, 0x4000, IOVA_A, RW));
	ASSERT_EQ(0, ioas_map(self->fd, ioas2, back_b, 0x4000, IOVA_B, RW));

	ASSERT_EQ(0, dma_through(&self->edu, IOVA_A, IOVA_B, a, back_a));

	pt = ioas2;
	ASSERT_EQ(0, edu_attach(&self->edu, &pt));
	ASSERT_NE(self->hwpt, pt);
	/* The old automatic HWPT went with the device. */
	EXPECT_EQ(-ENOENT, obj_destroy(self->fd, self->hwpt));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, ioas2));
	ASSERT_EQ(0, dma_through(&self->edu, IOVA_A, IOVA_B, b, back_b));

	self->hwpt = self->ioas;
	ASSERT_EQ(0, edu_attach(&self->edu, &self->hwpt));
	ASSERT_NE(pt, self->hwpt);
	EXPECT_EQ(0, obj_destroy(self->fd, ioas2));
	ASSERT_EQ(0, dma_through(&self->edu, IOVA_A, IOVA_B, a, back_a));

	ASSERT_EQ(0, edu_detach(&self->edu));
}

/* An explicitly allocated HWPT: used by attach, busy while attached. */
TEST_F(vfio_edu, explicit_hwpt)
{
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.dev_id = self->edu.devid,
		.pt_id = self->ioas,
	};
	uint8_t *src = self->buf, *dst = self->buf + 0x4000;
	uint32_t pt;

	ASSERT_EQ(0, xioctl(self->fd, IOMMU_HWPT_ALLOC, &alloc));
	/* The HWPT mirrors what is mapped later, too. */
	fill_pattern(src, XFER, 6);
	memset(dst, 0, XFER);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, BUF_SIZE,
				    IOVA_A, RW));
	pt = alloc.out_hwpt_id;
	ASSERT_EQ(0, edu_attach(&self->edu, &pt));
	EXPECT_EQ(alloc.out_hwpt_id, pt);
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, alloc.out_hwpt_id));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->ioas));
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_A, XFER));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_A + 0x4000, XFER));
	EXPECT_EQ(0, memcmp(src, dst, XFER));
	ASSERT_EQ(0, edu_detach(&self->edu));
	EXPECT_EQ(0, obj_destroy(self->fd, alloc.out_hwpt_id));
}

/* The value of a hex sysfs attribute, or 0 if it cannot be read. */
static uint64_t sysfs_hex(const char *path)
{
	unsigned long long val = 0;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%llx", &val) != 1)
			val = 0;
		fclose(f);
	}
	return val;
}

/*
 * edu sits behind an IOMMU, and behind the one the harness asked QEMU for:
 * the drivers name their instances dmar<N> (VT-d), ivhd<N> (AMD-Vi) and
 * smmu3.<address> (SMMUv3).
 */
TEST_F(vfio_edu, behind_the_expected_iommu)
{
	static const struct {
		const char *vendor, *prefix;
	} names[] = {
		{ "intel", "dmar" }, { "amd", "ivhd" }, { "smmuv3", "smmu3." },
	};
	const char *want = getenv("IOMMUFD_EXPECT_IOMMU");
	char name[256];
	unsigned int i;

	edu_iommu_name(0, name, sizeof(name));
	ASSERT_NE(0, name[0]);
	if (!want)
		return;
	for (i = 0; i != ARRAY_LEN(names); i++)
		if (!strcmp(want, names[i].vendor))
			break;
	ASSERT_GT(ARRAY_LEN(names), i) TH_LOG("unknown vendor %s", want);
	EXPECT_EQ(0, strncmp(name, names[i].prefix, strlen(names[i].prefix)))
		TH_LOG("edu is behind %s, not %s", name, want);
}

/*
 * GET_HW_INFO describes the real IOMMU. VT-d reports its capability
 * registers, which the intel-iommu driver also shows in sysfs. 6.12's
 * AMD-Vi and SMMUv3 drivers have no hw_info operation: the type is then
 * IOMMU_HW_INFO_TYPE_DEFAULT with no data, and the caller's buffer is
 * zeroed.
 */
TEST_F(vfio_edu, hw_info_matches_the_driver)
{
	struct iommu_hw_info_vtd vtd;
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = self->edu.devid,
		.data_len = sizeof(vtd),
		.data_uptr = (uintptr_t)&vtd,
	};
	char name[256], path[320];
	uint64_t cap, ecap;

	memset(&vtd, 0xa5, sizeof(vtd));
	edu_iommu_name(0, name, sizeof(name));
	ASSERT_EQ(0, xioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	/* Nobody's IOMMU tracks dirty pages under QEMU. */
	EXPECT_EQ(0, cmd.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING);
	if (strncmp(name, "dmar", 4)) {
		const struct iommu_hw_info_vtd zero = {};

		EXPECT_EQ(IOMMU_HW_INFO_TYPE_DEFAULT, cmd.out_data_type);
		EXPECT_EQ(0, cmd.data_len);
		EXPECT_EQ(0, memcmp(&zero, &vtd, sizeof(vtd)));
		return;
	}
	snprintf(path, sizeof(path), "/sys/class/iommu/%s/intel-iommu/cap",
		 name);
	cap = sysfs_hex(path);
	snprintf(path, sizeof(path), "/sys/class/iommu/%s/intel-iommu/ecap",
		 name);
	ecap = sysfs_hex(path);
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_INTEL_VTD, cmd.out_data_type);
	EXPECT_EQ(sizeof(vtd), cmd.data_len);
	ASSERT_NE(0, cap);
	EXPECT_EQ(cap, vtd.cap_reg);
	EXPECT_EQ(ecap, vtd.ecap_reg);
	EXPECT_EQ(0, vtd.__reserved);
}

/* A second edu device on the same IOAS shares the automatic HWPT. */
TEST_F(vfio_edu, two_devices_share_hwpt)
{
	struct edu second;
	uint32_t pt = self->ioas;
	int rc;

	rc = edu_open(&second, 1, self->fd);
	if (rc == -ENODEV || rc == -ENOENT)
		SKIP(return, "no second edu device");
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, edu_attach(&second, &pt));
	EXPECT_EQ(self->hwpt, pt);
	/* The device object is held by VFIO, not destroyable by the user. */
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, second.devid));
	edu_close(&second);
	/* Its detach left the HWPT to the first device. */
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->hwpt));
}

/*
 * The legacy flow: a program written for VFIO's type1 container, which on
 * this kernel is an iommufd opened as /dev/vfio/vfio. Its group joins the
 * container, the container gets an IOMMU type, and DMA is mapped with
 * VFIO_IOMMU_MAP_DMA. Each test uses IOVAs of its own, because a blocked
 * DMA is recognised by its address in the kernel log.
 */
#define IOVA_C 0x300000ULL
#define IOVA_D 0x400000ULL
#define IOVA_E 0x500000ULL
#define IOVA_F 0x600000ULL

FIXTURE(vfio_edu_container)
{
	int container;
	int group;
	struct edu edu;
	uint8_t *buf;
};

FIXTURE_VARIANT(vfio_edu_container)
{
	unsigned long type;
};

FIXTURE_VARIANT_ADD(vfio_edu_container, type1v2)
{
	.type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_VARIANT_ADD(vfio_edu_container, type1)
{
	.type = VFIO_TYPE1_IOMMU,
};

FIXTURE_SETUP(vfio_edu_container)
{
	char bdf[64];
	int rc;

	self->edu.device_fd = -1;
	self->group = -1;
	self->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->container);
	rc = edu_group_open(0, self->container, &self->group, bdf,
			    sizeof(bdf));
	if (rc == -ENODEV && !getenv("IOMMUFD_EXPECT_IOMMU"))
		SKIP(return, "no edu device bound to vfio-pci");
	ASSERT_EQ(0, rc);
	ASSERT_EQ(VFIO_API_VERSION,
		  ioctl(self->container, VFIO_GET_API_VERSION));
	ASSERT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   variant->type));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU, variant->type));
	ASSERT_EQ(0, edu_group_get_device(&self->edu, self->group, bdf));
	ASSERT_EQ(0, edu_enable_dma(&self->edu));

	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(vfio_edu_container)
{
	edu_close(&self->edu);
	if (self->group >= 0)
		close(self->group);
	close(self->container);
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, BUF_SIZE);
}

/* Returns the bytes unmapped, or -errno. */
static long long container_unmap(int container, uint64_t iova, uint64_t len)
{
	int rc = unmap_dma(container, iova, &len, 0);

	return rc ? rc : (long long)len;
}

#define DMA_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* RAM -> device -> RAM through MAP_DMA, as on a type1 kernel. */
TEST_F(vfio_edu_container, dma_round_trip)
{
	uint8_t *src = self->buf, *dst = self->buf + 0x4000;

	fill_pattern(src, XFER, 7);
	memset(dst, 0, XFER);
	ASSERT_EQ(0, map_dma(self->container, self->buf,
			     IOVA_C, BUF_SIZE, DMA_RW));
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_C, XFER));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_C + 0x4000, XFER));
	ASSERT_EQ(0, memcmp(src, dst, XFER));
	ASSERT_EQ(BUF_SIZE, container_unmap(self->container, IOVA_C,
					    BUF_SIZE));
}

/* After UNMAP_DMA the device's write faults and memory is untouched. */
TEST_F(vfio_edu_container, dma_after_unmap_dma_is_blocked)
{
	uint64_t iova = variant->type == VFIO_TYPE1_IOMMU ? IOVA_D : IOVA_E;
	uint8_t *src = self->buf, *dst = self->buf + 0x4000;
	uint8_t sentinel[XFER];

	fill_pattern(src, XFER, 8);
	ASSERT_EQ(0, map_dma(self->container, self->buf,
			     iova, BUF_SIZE, DMA_RW));
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, iova, XFER));
	ASSERT_EQ(BUF_SIZE, container_unmap(self->container, iova, BUF_SIZE));

	memset(dst, 0xa5, XFER);
	memcpy(sentinel, dst, XFER);
	edu_fault_prepare();
	EXPECT_FALSE(iommu_fault_logged(iova + 0x4000));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, iova + 0x4000, XFER));
	EXPECT_EQ(0, memcmp(sentinel, dst, XFER));
	EXPECT_FAULT_LOGGED(iova + 0x4000);
}

/*
 * Unmapping the middle of a mapping: the original TYPE1 cuts it out and
 * only the middle stops working; TYPE1v2 refuses and nothing changes.
 */
TEST_F(vfio_edu_container, unmap_middle_of_a_mapping)
{
	uint8_t *src = self->buf, *dst = self->buf + 0x8000;
	uint8_t sentinel[XFER];

	fill_pattern(src, XFER, 9);
	ASSERT_EQ(0, map_dma(self->container, self->buf,
			     IOVA_F, BUF_SIZE, DMA_RW));
	if (variant->type == VFIO_TYPE1v2_IOMMU) {
		EXPECT_GT(0, container_unmap(self->container, IOVA_F + 0x8000,
					     0x4000));
		/* Still all there: a DMA to the middle lands. */
		memset(dst, 0, XFER);
		ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_F, XFER));
		ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_F + 0x8000, XFER));
		EXPECT_EQ(0, memcmp(src, dst, XFER));
		EXPECT_EQ(BUF_SIZE, container_unmap(self->container, IOVA_F,
						    BUF_SIZE));
		return;
	}

	ASSERT_EQ(0x4000, container_unmap(self->container, IOVA_F + 0x8000,
					  0x4000));
	/* Both ends still work... */
	memset(self->buf + 0xc000, 0, XFER);
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, IOVA_F, XFER));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_F + 0xc000, XFER));
	EXPECT_EQ(0, memcmp(src, self->buf + 0xc000, XFER));
	/* ...the middle does not. */
	memset(dst, 0x3c, XFER);
	memcpy(sentinel, dst, XFER);
	edu_fault_prepare();
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, IOVA_F + 0x8000, XFER));
	EXPECT_EQ(0, memcmp(sentinel, dst, XFER));
	EXPECT_FAULT_LOGGED(IOVA_F + 0x8000);
	/* The two pieces left are mappings of their own. */
	EXPECT_EQ(BUF_SIZE - 0x4000,
		  container_unmap(self->container, IOVA_F, BUF_SIZE));
}

/*
 * The container is an iommufd: its IOAS can be named, and it excludes the
 * MSI window that GET_INFO leaves out too.
 */
TEST_F(vfio_edu_container, container_is_an_iommufd)
{
	struct iommu_vfio_ioas get = {
		.size = sizeof(get),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	struct {
		struct vfio_iommu_type1_info info;
		uint8_t caps[4096];
	} info = { .info.argsz = sizeof(info) };
	struct vfio_info_cap_header *hdr;
	uint64_t msi;
	struct vfio_iommu_type1_info_cap_iova_range *ranges = NULL;
	unsigned int i;

	ASSERT_EQ(0, ioctl(self->container, IOMMU_VFIO_IOAS, &get));
	EXPECT_NE(0, get.ioas_id);
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_GET_INFO, &info));
	ASSERT_TRUE(info.info.flags & VFIO_IOMMU_INFO_CAPS);
	/* TYPE1 maps every page singly; TYPE1v2 may use larger pages too. */
	if (variant->type == VFIO_TYPE1_IOMMU) {
		EXPECT_EQ(4096, info.info.iova_pgsizes);
	} else {
		/* The smallest is 4 KiB; which larger ones is the driver's. */
		EXPECT_EQ(4096, info.info.iova_pgsizes &
				-info.info.iova_pgsizes);
	}
	for (i = info.info.cap_offset; i; i = hdr->next) {
		hdr = (void *)&info + i;
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			ranges = (void *)hdr;
	}
	ASSERT_NE(NULL, ranges);
	ASSERT_LE(2, ranges->nr_iovas);
	ASSERT_EQ(0, edu_msi_window(0, &msi));
	for (i = 0; i != ranges->nr_iovas; i++)
		EXPECT_FALSE(ranges->iova_ranges[i].start <= msi &&
			     ranges->iova_ranges[i].end >= msi);
	EXPECT_GT(0, map_dma(self->container, self->buf, msi, 4096, DMA_RW));
}

/*
 * VFIO_GROUP_SET_CONTAINER creates the container's compatibility IOAS
 * while another thread forgets and names it (IOMMU_VFIO_IOAS CLEAR and
 * SET): joining must always work, and whatever IOAS is current works.
 */
struct join_race {
	int container;
	volatile bool stop;
	volatile int failed;
	unsigned long joins;
};

static void *compat_churn(void *arg)
{
	struct join_race *r = arg;
	unsigned int i;

	for (i = 0; !r->stop; i++) {
		struct iommu_vfio_ioas cmd = {
			.size = sizeof(cmd),
			.op = i % 2 ? IOMMU_VFIO_IOAS_GET :
				      IOMMU_VFIO_IOAS_CLEAR,
		};
		int rc = ioctl(r->container, IOMMU_VFIO_IOAS, &cmd) ?
				 -errno : 0;

		if (rc && !(rc == -ENODEV && cmd.op == IOMMU_VFIO_IOAS_GET))
			r->failed = 1;
		if (!rc && cmd.op == IOMMU_VFIO_IOAS_GET) {
			/* Name it again: SET of what GET gave. */
			cmd.op = IOMMU_VFIO_IOAS_SET;
			rc = ioctl(r->container, IOMMU_VFIO_IOAS, &cmd) ?
				     -errno : 0;
			/* What GET named is in the table: it must work. */
			if (rc)
				r->failed = 2;
		}
	}
	return NULL;
}

TEST(container_join_while_compat_ioas_changes)
{
	struct join_race r = {};
	struct timespec end, now;
	char bdf[64], link[64], path[64];
	pthread_t t;
	int group, rc;
	ssize_t n;

	r.container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, r.container);
	rc = edu_group_open(0, r.container, &group, bdf, sizeof(bdf));
	if (rc == -ENODEV)
		SKIP(return, "no edu device bound to vfio-pci");
	ASSERT_EQ(0, rc);
	/* The group's node, to join again and again without sysfs walks. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", group);
	n = readlink(link, path, sizeof(path) - 1);
	ASSERT_LT(0, n);
	path[n] = 0;
	close(group);

	ASSERT_EQ(0, pthread_create(&t, NULL, compat_churn, &r));
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += 3;
	do {
		group = open(path, O_RDWR | O_CLOEXEC);
		rc = group < 0 ? -errno :
		     ioctl(group, VFIO_GROUP_SET_CONTAINER, &r.container) ?
		     -errno : 0;
		if (group >= 0)
			close(group);
		if (rc) {
			TH_LOG("join %lu: %s", r.joins, strerror(-rc));
			break;
		}
		r.joins++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
		 (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	r.stop = true;
	ASSERT_EQ(0, pthread_join(t, NULL));
	TH_LOG("%lu joins", r.joins);
	EXPECT_EQ(0, rc);
	EXPECT_EQ(0, r.failed);
	close(r.container);
}

TEST_HARNESS_MAIN
