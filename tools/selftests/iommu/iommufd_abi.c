// SPDX-License-Identifier: GPL-2.0-only
/*
 * The binary interface, pinned down: sizes and field offsets of every
 * structure, ioctl numbers and flag values, as Linux v6.17 has them. VMMs
 * built against v6.17 headers, and upstream's own kselftests, depend on
 * each of these numbers. A change to include/uapi/linux/iommufd.h or
 * iommufd_test.h that moves one fails here, at build time and in the run.
 */
#include "iommufd_test_lib.h"

#define LAYOUT(type, size)						\
	_Static_assert(sizeof(struct type) == (size), #type " size")
#define AT(type, field, off)						\
	_Static_assert(offsetof(struct type, field) == (off),		\
		      #type "." #field " offset")

LAYOUT(iommu_destroy, 8);
AT(iommu_destroy, id, 4);
LAYOUT(iommu_ioas_alloc, 12);
AT(iommu_ioas_alloc, out_ioas_id, 8);
LAYOUT(iommu_iova_range, 16);
LAYOUT(iommu_ioas_iova_ranges, 32);
AT(iommu_ioas_iova_ranges, allowed_iovas, 16);
AT(iommu_ioas_iova_ranges, out_iova_alignment, 24);
LAYOUT(iommu_ioas_allow_iovas, 24);
AT(iommu_ioas_allow_iovas, allowed_iovas, 16);
LAYOUT(iommu_ioas_map, 40);
AT(iommu_ioas_map, user_va, 16);
AT(iommu_ioas_map, iova, 32);
LAYOUT(iommu_ioas_map_file, 40);
AT(iommu_ioas_map_file, fd, 12);
AT(iommu_ioas_map_file, start, 16);
AT(iommu_ioas_map_file, iova, 32);
LAYOUT(iommu_ioas_copy, 40);
AT(iommu_ioas_copy, length, 16);
AT(iommu_ioas_copy, src_iova, 32);
LAYOUT(iommu_ioas_unmap, 24);
AT(iommu_ioas_unmap, length, 16);
LAYOUT(iommu_option, 24);
AT(iommu_option, op, 8);
AT(iommu_option, object_id, 12);
AT(iommu_option, val64, 16);
LAYOUT(iommu_vfio_ioas, 12);
AT(iommu_vfio_ioas, op, 8);
LAYOUT(iommu_hwpt_vtd_s1, 24);
AT(iommu_hwpt_vtd_s1, addr_width, 16);
LAYOUT(iommu_hwpt_arm_smmuv3, 16);
LAYOUT(iommu_hwpt_alloc, 48);
AT(iommu_hwpt_alloc, data_type, 24);
AT(iommu_hwpt_alloc, data_uptr, 32);
AT(iommu_hwpt_alloc, fault_id, 40);
AT(iommu_hwpt_alloc, __reserved2, 44);
LAYOUT(iommu_hw_info_vtd, 24);
AT(iommu_hw_info_vtd, ecap_reg, 16);
LAYOUT(iommu_hw_info_arm_smmuv3, 40);
AT(iommu_hw_info_arm_smmuv3, iidr, 32);
LAYOUT(iommu_hw_info_tegra241_cmdqv, 8);
AT(iommu_hw_info_tegra241_cmdqv, log2vsids, 6);
LAYOUT(iommu_hw_info, 40);
AT(iommu_hw_info, data_uptr, 16);
AT(iommu_hw_info, in_data_type, 24);
AT(iommu_hw_info, out_data_type, 24);
AT(iommu_hw_info, out_max_pasid_log2, 28);
AT(iommu_hw_info, __reserved, 29);
AT(iommu_hw_info, out_capabilities, 32);
LAYOUT(iommu_hwpt_set_dirty_tracking, 16);
LAYOUT(iommu_hwpt_get_dirty_bitmap, 48);
AT(iommu_hwpt_get_dirty_bitmap, iova, 16);
AT(iommu_hwpt_get_dirty_bitmap, data, 40);
LAYOUT(iommu_hwpt_vtd_s1_invalidate, 24);
LAYOUT(iommu_viommu_arm_smmuv3_invalidate, 16);
LAYOUT(iommu_hwpt_invalidate, 32);
AT(iommu_hwpt_invalidate, data_uptr, 8);
AT(iommu_hwpt_invalidate, entry_num, 24);
LAYOUT(iommu_hwpt_pgfault, 40);
AT(iommu_hwpt_pgfault, addr, 24);
AT(iommu_hwpt_pgfault, cookie, 36);
LAYOUT(iommu_hwpt_page_response, 8);
LAYOUT(iommu_fault_alloc, 16);
LAYOUT(iommu_viommu_tegra241_cmdqv, 16);
LAYOUT(iommu_viommu_alloc, 40);
AT(iommu_viommu_alloc, data_uptr, 32);
LAYOUT(iommu_vdevice_alloc, 24);
AT(iommu_vdevice_alloc, virt_id, 16);
LAYOUT(iommu_ioas_change_process, 8);
LAYOUT(iommufd_vevent_header, 8);
LAYOUT(iommu_vevent_arm_smmuv3, 32);
LAYOUT(iommu_vevent_tegra241_cmdqv, 16);
LAYOUT(iommu_veventq_alloc, 32);
AT(iommu_veventq_alloc, out_veventq_fd, 24);
LAYOUT(iommu_hw_queue_alloc, 40);
AT(iommu_hw_queue_alloc, nesting_parent_iova, 24);
AT(iommu_hw_queue_alloc, length, 32);

/* The selftest ABI. */
LAYOUT(iommu_test_cmd, 72);
AT(iommu_test_cmd, check_map, 16);
AT(iommu_test_cmd, access_pages.iova, 24);
AT(iommu_test_cmd, dirty.out_nr_dirty, 56);
AT(iommu_test_cmd, trigger_iopf.addr, 32);
AT(iommu_test_cmd, last, 64);
LAYOUT(iommu_test_hw_info, 8);
LAYOUT(iommu_hwpt_selftest, 4);
LAYOUT(iommu_hwpt_invalidate_selftest, 8);
LAYOUT(iommu_viommu_selftest, 24);
LAYOUT(iommu_viommu_invalidate_selftest, 12);

static const struct {
	const char *name;
	unsigned long have;
	unsigned long want;
} numbers[] = {
#define N(x, v) { #x, (unsigned long)(x), (v) }
	N(IOMMU_DESTROY, 0x3b80),
	N(IOMMU_IOAS_ALLOC, 0x3b81),
	N(IOMMU_IOAS_ALLOW_IOVAS, 0x3b82),
	N(IOMMU_IOAS_COPY, 0x3b83),
	N(IOMMU_IOAS_IOVA_RANGES, 0x3b84),
	N(IOMMU_IOAS_MAP, 0x3b85),
	N(IOMMU_IOAS_UNMAP, 0x3b86),
	N(IOMMU_OPTION, 0x3b87),
	N(IOMMU_VFIO_IOAS, 0x3b88),
	N(IOMMU_HWPT_ALLOC, 0x3b89),
	N(IOMMU_GET_HW_INFO, 0x3b8a),
	N(IOMMU_HWPT_SET_DIRTY_TRACKING, 0x3b8b),
	N(IOMMU_HWPT_GET_DIRTY_BITMAP, 0x3b8c),
	N(IOMMU_HWPT_INVALIDATE, 0x3b8d),
	N(IOMMU_FAULT_QUEUE_ALLOC, 0x3b8e),
	N(IOMMU_IOAS_MAP_FILE, 0x3b8f),
	N(IOMMU_VIOMMU_ALLOC, 0x3b90),
	N(IOMMU_VDEVICE_ALLOC, 0x3b91),
	N(IOMMU_IOAS_CHANGE_PROCESS, 0x3b92),
	N(IOMMU_VEVENTQ_ALLOC, 0x3b93),
	N(IOMMU_HW_QUEUE_ALLOC, 0x3b94),
	N(IOMMU_TEST_CMD, 0x3ba0),
	N(IOMMU_IOAS_MAP_FIXED_IOVA, 1),
	N(IOMMU_IOAS_MAP_WRITEABLE, 2),
	N(IOMMU_IOAS_MAP_READABLE, 4),
	N(IOMMU_OPTION_HUGE_PAGES, 1),
	N(IOMMU_VFIO_IOAS_CLEAR, 2),
	N(IOMMU_HWPT_ALLOC_NEST_PARENT, 1),
	N(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 2),
	N(IOMMU_HWPT_FAULT_ID_VALID, 4),
	N(IOMMU_HWPT_ALLOC_PASID, 8),
	N(IOMMU_VTD_S1_WPE, 4),
	N(IOMMU_HWPT_DATA_ARM_SMMUV3, 2),
	N(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, 1),
	N(IOMMU_HW_INFO_TYPE_DEFAULT, 0),
	N(IOMMU_HW_INFO_TYPE_INTEL_VTD, 1),
	N(IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV, 3),
	N(IOMMU_HW_CAP_DIRTY_TRACKING, 1),
	N(IOMMU_HW_CAP_PCI_PASID_PRIV, 4),
	N(IOMMU_HW_INFO_FLAG_INPUT_TYPE, 1),
	N(IOMMU_HWPT_DIRTY_TRACKING_ENABLE, 1),
	N(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 1),
	N(IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 0),
	N(IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, 1),
	N(IOMMU_VTD_INV_FLAGS_LEAF, 1),
	N(IOMMU_PGFAULT_FLAGS_LAST_PAGE, 2),
	N(IOMMU_PGFAULT_PERM_PRIV, 8),
	N(IOMMUFD_PAGE_RESP_INVALID, 1),
	N(IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 1),
	N(IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV, 2),
	N(IOMMU_VEVENTQ_FLAG_LOST_EVENTS, 1),
	N(IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV, 2),
	N(IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, 1),
	N(IOMMU_TEST_OP_ADD_RESERVED, 1),
	N(IOMMU_TEST_OP_ACCESS_PAGES, 7),
	N(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 9),
	N(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, 12),
	N(IOMMU_TEST_OP_TRIGGER_VEVENT, 17),
	N(IOMMU_TEST_OP_PASID_CHECK_HWPT, 21),
	N(MOCK_APERTURE_START, 1UL << 24),
	N(MOCK_APERTURE_LAST, (1UL << 31) - 1),
	N(MOCK_FLAGS_DEVICE_PASID, 4),
	N(MOCK_PASID_WIDTH, 20),
	N(IOMMU_HW_INFO_TYPE_SELFTEST, 0xfeedbeef),
	N(IOMMU_HWPT_DATA_SELFTEST, 0xdead),
	N(IOMMU_VIOMMU_TYPE_SELFTEST, 0xdeadbeef),
	N(IOMMU_VEVENTQ_TYPE_SELFTEST, 0xbeefbeef),
	N(IOMMU_TEST_HW_QUEUE_MAX, 2),
#undef N
};

TEST(numbers_match_v6_17)
{
	unsigned int i;

	for (i = 0; i != ARRAY_LEN(numbers); i++) {
		if (numbers[i].have != numbers[i].want)
			TH_LOG("%s is 0x%lx, v6.17 has 0x%lx", numbers[i].name,
			       numbers[i].have, numbers[i].want);
		EXPECT_EQ(numbers[i].want, numbers[i].have);
	}
}

/* The layouts are checked when this file compiles; say so in the run. */
TEST(layouts_match_v6_17)
{
	EXPECT_EQ(72, sizeof(struct iommu_test_cmd));
}

TEST_HARNESS_MAIN
