/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test-only ioctl of /dev/iommu, present with CONFIG_IOMMUFD_TEST.
 *
 * IOMMU_TEST_CMD drives the mock IOMMU driver in selftest.c: it creates mock
 * devices with mock iommu_domains, in-kernel access users, and checks on the
 * kernel's internal state. The layout and numbering match the test ABI of
 * Linux v6.17 so that upstream's kselftests run unmodified. It is not a
 * stable user API.
 */
#ifndef _UAPI_IOMMUFD_TEST_H
#define _UAPI_IOMMUFD_TEST_H

#include <linux/iommufd.h>
#include <linux/types.h>

/* Values of iommu_test_cmd.op. */
enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN,
	IOMMU_TEST_OP_MD_CHECK_MAP,
	IOMMU_TEST_OP_MD_CHECK_REFS,
	IOMMU_TEST_OP_CREATE_ACCESS,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_RW,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
	IOMMU_TEST_OP_DIRTY,
	IOMMU_TEST_OP_MD_CHECK_IOTLB,
	IOMMU_TEST_OP_TRIGGER_IOPF,
	IOMMU_TEST_OP_DEV_CHECK_CACHE,
	IOMMU_TEST_OP_TRIGGER_VEVENT,
	IOMMU_TEST_OP_PASID_ATTACH,
	IOMMU_TEST_OP_PASID_REPLACE,
	IOMMU_TEST_OP_PASID_DETACH,
	IOMMU_TEST_OP_PASID_CHECK_HWPT,
};

/* The IOVA window every mock domain translates, inclusive. */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

/* access_pages.flags */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
};

/* access_rw.flags */
enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

/* create_access.flags */
enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

/* mock_domain_flags.dev_flags */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
	MOCK_FLAGS_DEVICE_PASID = 1 << 2,
};

/* The mock nested domain's pretend IOTLB: entries 0 to ID_MAX. */
enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

/* The mock device's pretend cache behind a vIOMMU: entries 0 to ID_MAX. */
enum {
	MOCK_DEV_CACHE_ID_MAX = 3,
	MOCK_DEV_CACHE_NUM = 4,
};

/* A PASID the mock device refuses to replace, to test failure paths. */
#define IOMMU_TEST_PASID_RESERVED 1024

/**
 * struct iommu_test_cmd - ioctl(IOMMU_TEST_CMD)
 * @size: sizeof(struct iommu_test_cmd)
 * @op: one of the IOMMU_TEST_OP_* values; selects the union member
 * @id: the object the operation applies to; its type depends on @op
 * @__reserved: must be 0
 * @last: marks the end; never read
 *
 * Union members, one per operation:
 *
 * @add_reserved: reserve [@start, @start + @length) in the IOAS @id as if a
 *     device needed it kept free.
 * @mock_domain: create a mock device, bind it and attach it to the IOAS or
 *     HWPT @id. Returns the selftest device object, the HWPT it attached to
 *     and the bound device's ID (the iommufd DEVICE object).
 * @mock_domain_flags: as @mock_domain, with MOCK_FLAGS_DEVICE_* in
 *     @dev_flags.
 * @mock_domain_replace: move the mock device @id to the IOAS or HWPT @pt_id;
 *     returns the HWPT actually attached in @pt_id.
 * @check_map: check that the mock domain of the paging HWPT @id maps
 *     [@iova, @iova + @length) to the memory at @uptr.
 * @check_refs: check that each page of [@uptr, @uptr + @length) has a page
 *     reference count of @refs (with pins counted as the core counts them).
 * @create_access: create an in-kernel access user bound to @id and return a
 *     file descriptor that owns it.
 * @destroy_access_pages: unpin the pages that @access_pages returned as
 *     @access_pages_id on the access fd @id.
 * @access_pages: pin the IOVA range through the access fd @id and check the
 *     pages match @uptr; returns an ID for the pinned set.
 * @access_rw: copy between @uptr and the IOVA range through the access fd
 *     @id, in the direction given by MOCK_ACCESS_RW_WRITE.
 * @memory_limit: from now on, for every file (the setting is global),
 *     pretend the machine has only @limit pages (at least 16) for the
 *     pinned-page engine's temporary buffers.
 * @access_replace_ioas: move the access fd @id to the IOAS @ioas_id.
 * @dirty: mark the pages of the HWPT @id selected by the bitmap at @uptr
 *     dirty; returns how many were marked.
 * @check_iotlb: check that IOTLB entry @id of the nested mock domain @id
 *     holds @iotlb.
 * @trigger_iopf: inject an I/O page fault on the device @dev_id.
 * @check_dev_cache: check that cache entry @id of the mock device holds
 *     @cache.
 * @trigger_vevent: make the mock device @dev_id raise a vIOMMU event.
 * @pasid_attach: attach PASID @pasid of the mock device @id to @pt_id.
 * @pasid_replace: replace what PASID @pasid of the mock device @id is
 *     attached to with @pt_id.
 * @pasid_detach: detach PASID @pasid of the mock device @id.
 * @pasid_check: check that PASID @pasid of the mock device @id is attached
 *     to @hwpt_id (0: to nothing).
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
		} mock_domain_flags;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr;
		} trigger_iopf;
		struct {
			__u32 id;
			__u32 cache;
		} check_dev_cache;
		struct {
			__u32 dev_id;
		} trigger_vevent;
		struct {
			__u32 pasid;
			__u32 pt_id;
		} pasid_attach;
		struct {
			__u32 pasid;
			__u32 pt_id;
		} pasid_replace;
		struct {
			__u32 pasid;
		} pasid_detach;
		struct {
			__u32 pasid;
			__u32 hwpt_id;
		} pasid_check;
	};
	__u32 last;
};

#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

/* Number of PASID bits the mock IOMMU and MOCK_FLAGS_DEVICE_PASID support. */
#define MOCK_PASID_WIDTH 20

/* IOMMU_GET_HW_INFO on a mock device returns struct iommu_test_hw_info. */
#define IOMMU_HW_INFO_TYPE_SELFTEST	0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL	0xdeadbeef

/**
 * struct iommu_test_hw_info - what the mock IOMMU reports about itself
 * @flags: always 0
 * @test_reg: always IOMMU_HW_INFO_SELFTEST_REGVAL
 */
struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

/* A HWPT data type no real driver uses: a mock nested domain. */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef
#define IOMMU_TEST_DEV_CACHE_DEFAULT 0xbaddad

/**
 * struct iommu_hwpt_selftest - driver data of a mock nested domain
 * @iotlb: initial value of every entry of its pretend IOTLB; user space
 *         passes IOMMU_TEST_IOTLB_DEFAULT
 */
struct iommu_hwpt_selftest {
	__u32 iotlb;
};

/* Invalidation formats of the mock driver, unused by real drivers. */
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

/**
 * struct iommu_hwpt_invalidate_selftest - an invalidation of the mock
 *     nested domain (IOMMU_HWPT_INVALIDATE_DATA_SELFTEST)
 * @flags: IOMMU_TEST_INVALIDATE_FLAG_ALL or 0
 * @iotlb_id: the IOTLB entry to reset; ignored with the ALL flag
 */
struct iommu_hwpt_invalidate_selftest {
#define IOMMU_TEST_INVALIDATE_FLAG_ALL	0x1
	__u32 flags;
	__u32 iotlb_id;
};

#define IOMMU_VIOMMU_TYPE_SELFTEST 0xdeadbeef

/**
 * struct iommu_viommu_selftest - driver data of a mock vIOMMU
 *                                (IOMMU_VIOMMU_TYPE_SELFTEST)
 * @in_data: any value
 * @out_data: returns @in_data, proving the data went both ways
 * @out_mmap_offset: mmap() offset of a page the mock vIOMMU exports
 * @out_mmap_length: mmap() length of that page
 */
struct iommu_viommu_selftest {
	__u32 in_data;
	__u32 out_data;
	__aligned_u64 out_mmap_offset;
	__aligned_u64 out_mmap_length;
};

/* Invalidation formats of the mock vIOMMU. */
#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

/**
 * struct iommu_viommu_invalidate_selftest - an invalidation of a mock
 *     device's cache (IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST)
 * @flags: IOMMU_TEST_INVALIDATE_FLAG_ALL or 0
 * @vdev_id: the virtual ID of the device whose cache to reset
 * @cache_id: the cache entry to reset; ignored with the ALL flag
 */
struct iommu_viommu_invalidate_selftest {
#define IOMMU_TEST_INVALIDATE_FLAG_ALL 0x1
	__u32 flags;
	__u32 vdev_id;
	__u32 cache_id;
};

#define IOMMU_VEVENTQ_TYPE_SELFTEST 0xbeefbeef

/**
 * struct iommu_viommu_event_selftest - a mock vIOMMU event record
 * @virt_id: the virtual ID of the device that raised it
 */
struct iommu_viommu_event_selftest {
	__u32 virt_id;
};

#define IOMMU_HW_QUEUE_TYPE_SELFTEST 0xdeadbeef
#define IOMMU_TEST_HW_QUEUE_MAX 2

#endif
