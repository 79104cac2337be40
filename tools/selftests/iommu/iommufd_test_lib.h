/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by our iommufd kselftests: the selftest-only commands
 * (IOMMU_TEST_CMD) on top of the ioctl wrappers of iommufd_ioctls.h. Like
 * those, every wrapper returns 0 or -errno, so tests can write
 * ASSERT_EQ(-EBUSY, obj_destroy(fd, id)).
 */
#ifndef IOMMUFD_TEST_LIB_H
#define IOMMUFD_TEST_LIB_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* mremap() and its flags */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "../kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "iommufd_ioctls.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define END_OF(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

/* The mock IOMMU's page size: half a CPU page. */
#define MOCK_PAGE (PAGE_SZ / 2)
#define PAGE_SZ ((unsigned long)sysconf(_SC_PAGESIZE))

static inline int mock_replace(int fd, uint32_t stdev, uint32_t *pt_id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev,
		.mock_domain_replace = { .pt_id = *pt_id },
	};
	int rc = test_cmd(fd, &cmd);

	if (!rc)
		*pt_id = cmd.mock_domain_replace.pt_id;
	return rc;
}

/* Does the mock domain of @hwpt map [iova, iova + len) to @buf? */
static inline int check_map(int fd, uint32_t hwpt, uint64_t iova,
			    uint64_t len, void *buf)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = hwpt,
		.check_map = { .iova = iova, .length = len,
			       .uptr = (uintptr_t)buf },
	};

	return test_cmd(fd, &cmd);
}

/* Is every small page of [buf, buf + len) pinned exactly @pins times? */
static inline int check_pins(int fd, void *buf, uint64_t len,
			     unsigned int pins)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = len, .uptr = (uintptr_t)buf,
				.refs = pins },
	};

	return test_cmd(fd, &cmd);
}

static inline int add_reserved(int fd, uint32_t ioas, uint64_t start,
			       uint64_t len)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ADD_RESERVED,
		.id = ioas,
		.add_reserved = { .start = start, .length = len },
	};

	return test_cmd(fd, &cmd);
}

static inline int set_temp_memory_limit(int fd, uint32_t limit)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
		.memory_limit = { .limit = limit },
	};

	return test_cmd(fd, &cmd);
}

/* An access user on @ioas, owned by the returned file descriptor. */
static inline int access_create(int fd, uint32_t ioas, bool pins, int *afd)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas,
		.create_access = {
			.flags = pins ? MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES :
					0,
		},
	};
	int rc = test_cmd(fd, &cmd);

	if (!rc)
		*afd = cmd.create_access.out_access_fd;
	return rc;
}

/* Pin for @flags (MOCK_FLAGS_ACCESS_WRITE to write, else to read). */
static inline int access_pin_flags(int fd, int afd, uint64_t iova,
				   uint64_t len, void *expect, uint32_t flags,
				   uint32_t *item)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = afd,
		.access_pages = { .iova = iova, .length = len, .flags = flags,
				  .uptr = (uintptr_t)expect },
	};
	int rc = test_cmd(fd, &cmd);

	if (!rc && item)
		*item = cmd.access_pages.out_access_pages_id;
	return rc;
}

static inline int access_pin(int fd, int afd, uint64_t iova, uint64_t len,
			     void *expect, uint32_t *item)
{
	return access_pin_flags(fd, afd, iova, len, expect, 0, item);
}

static inline int access_unpin(int fd, int afd, uint32_t item)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
		.id = afd,
		.destroy_access_pages = { .access_pages_id = item },
	};

	return test_cmd(fd, &cmd);
}

static inline int access_rw(int fd, int afd, uint64_t iova, void *buf,
			    uint64_t len, uint32_t flags)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_RW,
		.id = afd,
		.access_rw = { .iova = iova, .length = len,
			       .uptr = (uintptr_t)buf, .flags = flags },
	};

	return test_cmd(fd, &cmd);
}

/* Dirty tracking: IOMMU_HWPT_SET_DIRTY_TRACKING. */
static inline int set_tracking(int fd, uint32_t hwpt, bool on)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd),
		.flags = on ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt,
	};

	return xioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

/* IOMMU_HWPT_GET_DIRTY_BITMAP into @bits. */
static inline int read_dirty(int fd, uint32_t hwpt, uint64_t iova,
			     uint64_t len, uint64_t page_size, void *bits,
			     uint32_t flags)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt,
		.flags = flags,
		.iova = iova,
		.length = len,
		.page_size = page_size,
		.data = (uintptr_t)bits,
	};

	return xioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/*
 * Have the mock domain of @hwpt mark dirty the pages whose bits are set;
 * returns how many it marked, or -errno.
 */
static inline long mark_dirty(int fd, uint32_t hwpt, uint64_t iova,
			      uint64_t len, uint64_t page_size,
			      const void *bits)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DIRTY,
		.id = hwpt,
		.dirty = {
			.iova = iova,
			.length = len,
			.page_size = page_size,
			.uptr = (uintptr_t)bits,
		},
	};
	int rc = test_cmd(fd, &cmd);

	return rc ? rc : (long)cmd.dirty.out_nr_dirty;
}

/*
 * IOMMU_HWPT_ALLOC with everything: @fault_id is used with
 * IOMMU_HWPT_FAULT_ID_VALID in @flags, driver data for nested HWPTs.
 */
static inline int hwpt_alloc_full(int fd, uint32_t idev, uint32_t pt_id,
				  uint32_t flags, uint32_t fault_id,
				  uint32_t data_type, void *data,
				  uint32_t data_len, uint32_t *hwpt)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = idev,
		.pt_id = pt_id,
		.fault_id = fault_id,
		.data_type = data_type,
		.data_len = data_len,
		.data_uptr = (uintptr_t)data,
	};
	int rc = xioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	if (!rc)
		*hwpt = cmd.out_hwpt_id;
	return rc;
}

/* A nested mock HWPT on @parent, delivering faults to @fault_id if not 0. */
static inline int mock_nested_alloc(int fd, uint32_t idev, uint32_t parent,
				    uint32_t fault_id, uint32_t *hwpt)
{
	struct iommu_hwpt_selftest data = {
		.iotlb = IOMMU_TEST_IOTLB_DEFAULT,
	};

	return hwpt_alloc_full(fd, idev, parent,
			       fault_id ? IOMMU_HWPT_FAULT_ID_VALID : 0,
			       fault_id, IOMMU_HWPT_DATA_SELFTEST, &data,
			       sizeof(data), hwpt);
}

/* A mock device with MOCK_FLAGS_DEVICE_* @flags attached to @pt_id. */
static inline int mock_domain_flags(int fd, uint32_t pt_id, uint32_t flags,
				    uint32_t *stdev, uint32_t *hwpt,
				    uint32_t *idev)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		.id = pt_id,
		.mock_domain_flags = { .dev_flags = flags },
	};
	int rc = test_cmd(fd, &cmd);

	if (rc)
		return rc;
	if (stdev)
		*stdev = cmd.mock_domain_flags.out_stdev_id;
	if (hwpt)
		*hwpt = cmd.mock_domain_flags.out_hwpt_id;
	if (idev)
		*idev = cmd.mock_domain_flags.out_idev_id;
	return 0;
}

/* IOMMU_VIOMMU_ALLOC; @data (may be NULL) goes in and comes back. */
static inline int viommu_alloc(int fd, uint32_t idev, uint32_t hwpt,
			       uint32_t type, void *data, uint32_t len,
			       uint32_t *id)
{
	struct iommu_viommu_alloc cmd = {
		.size = sizeof(cmd),
		.type = type,
		.dev_id = idev,
		.hwpt_id = hwpt,
		.data_len = len,
		.data_uptr = (uintptr_t)data,
	};
	int rc = xioctl(fd, IOMMU_VIOMMU_ALLOC, &cmd);

	if (!rc && id)
		*id = cmd.out_viommu_id;
	return rc;
}

static inline int vdevice_alloc(int fd, uint32_t viommu, uint32_t idev,
				uint64_t virt_id, uint32_t *id)
{
	struct iommu_vdevice_alloc cmd = {
		.size = sizeof(cmd),
		.viommu_id = viommu,
		.dev_id = idev,
		.virt_id = virt_id,
	};
	int rc = xioctl(fd, IOMMU_VDEVICE_ALLOC, &cmd);

	if (!rc && id)
		*id = cmd.out_vdevice_id;
	return rc;
}

static inline int veventq_alloc(int fd, uint32_t viommu, uint32_t type,
				uint32_t depth, uint32_t *id, int *qfd)
{
	struct iommu_veventq_alloc cmd = {
		.size = sizeof(cmd),
		.viommu_id = viommu,
		.type = type,
		.veventq_depth = depth,
	};
	int rc = xioctl(fd, IOMMU_VEVENTQ_ALLOC, &cmd);

	if (!rc) {
		if (id)
			*id = cmd.out_veventq_id;
		*qfd = cmd.out_veventq_fd;
	}
	return rc;
}

static inline int hw_queue_alloc(int fd, uint32_t viommu, uint32_t type,
				 uint32_t index, uint64_t iova, uint64_t len,
				 uint32_t *id)
{
	struct iommu_hw_queue_alloc cmd = {
		.size = sizeof(cmd),
		.viommu_id = viommu,
		.type = type,
		.index = index,
		.nesting_parent_iova = iova,
		.length = len,
	};
	int rc = xioctl(fd, IOMMU_HW_QUEUE_ALLOC, &cmd);

	if (!rc && id)
		*id = cmd.out_hw_queue_id;
	return rc;
}

/* IOMMU_HWPT_INVALIDATE on a vIOMMU or HWPT; *num in and out. */
static inline int invalidate_any(int fd, uint32_t id, uint32_t type,
				 void *reqs, uint32_t entry_len, uint32_t *num)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = id,
		.data_uptr = (uintptr_t)reqs,
		.data_type = type,
		.entry_len = entry_len,
		.entry_num = *num,
	};
	int rc = xioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd);

	*num = cmd.entry_num;
	return rc;
}

/* The mock device of DEVICE @idev raises a vIOMMU event. */
static inline int trigger_vevent(int fd, uint32_t idev)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_TRIGGER_VEVENT,
		.trigger_vevent = { .dev_id = idev },
	};

	return test_cmd(fd, &cmd);
}

/* IOMMU_TEST_OP_PASID_ATTACH, _REPLACE or _DETACH of SELFTEST @stdev. */
static inline int pasid_op(int fd, uint32_t op, uint32_t stdev,
			   uint32_t pasid, uint32_t pt_id)
{
	struct iommu_test_cmd cmd = {
		.op = op,
		.id = stdev,
		.pasid_attach = { .pasid = pasid, .pt_id = pt_id },
	};

	return test_cmd(fd, &cmd);
}

/* 0 if PASID @pasid of @stdev is attached to @hwpt (0: to nothing). */
static inline int pasid_check(int fd, uint32_t stdev, uint32_t pasid,
			      uint32_t hwpt)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_PASID_CHECK_HWPT,
		.id = stdev,
		.pasid_check = { .pasid = pasid, .hwpt_id = hwpt },
	};

	return test_cmd(fd, &cmd);
}

/* IOMMU_FAULT_QUEUE_ALLOC: the object's ID and its fd. */
static inline int fault_alloc(int fd, uint32_t *id, int *ffd)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };
	int rc = xioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd);

	if (!rc) {
		*id = cmd.out_fault_id;
		*ffd = cmd.out_fault_fd;
	}
	return rc;
}

/* The mock device of DEVICE @idev raises a one-fault group. */
static inline int trigger_iopf(int fd, uint32_t idev, uint32_t pasid,
			       uint32_t grpid, uint64_t addr)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = {
			.dev_id = idev,
			.pasid = pasid,
			.grpid = grpid,
			.perm = IOMMU_PGFAULT_PERM_READ |
				IOMMU_PGFAULT_PERM_WRITE,
			.addr = addr,
		},
	};

	return test_cmd(fd, &cmd);
}

/* Answer the fault group @cookie on the FAULT fd @ffd. */
static inline int fault_respond(int ffd, uint32_t cookie, uint32_t code)
{
	struct iommu_hwpt_page_response resp = {
		.cookie = cookie,
		.code = code,
	};
	ssize_t got = write(ffd, &resp, sizeof(resp));

	if (got < 0)
		return -errno;
	return got == sizeof(resp) ? 0 : -EIO;
}

/* The VFIO type1 container's VFIO_IOMMU_MAP_DMA, on an iommufd or a container. */
static inline int map_dma(int fd, void *va, uint64_t iova, uint64_t size,
			  uint32_t flags)
{
	struct vfio_iommu_type1_dma_map cmd = {
		.argsz = sizeof(cmd),
		.flags = flags,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	return xioctl(fd, VFIO_IOMMU_MAP_DMA, &cmd);
}

/* *size: in, the range; out, what was unmapped. */
static inline int unmap_dma(int fd, uint64_t iova, uint64_t *size,
			    uint32_t flags)
{
	struct vfio_iommu_type1_dma_unmap cmd = {
		.argsz = sizeof(cmd),
		.flags = flags,
		.iova = iova,
		.size = *size,
	};
	int rc = xioctl(fd, VFIO_IOMMU_UNMAP_DMA, &cmd);

	*size = cmd.size;
	return rc;
}

/*
 * Take @cap out of this process's effective set, so that root is held to
 * the limits it would otherwise override (CAP_IPC_LOCK: RLIMIT_MEMLOCK).
 */
static inline int drop_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/* A memfd of @len bytes (memfd_create() @flags), or -errno. */
static inline int make_memfd(size_t len, unsigned int flags)
{
	int mfd = syscall(SYS_memfd_create, "iommufd-test", flags);

	if (mfd < 0)
		return -errno;
	if (ftruncate(mfd, len)) {
		close(mfd);
		return -errno;
	}
	return mfd;
}

/* Anonymous memory aligned to 2 MiB and faulted in. */
static inline void *alloc_buffer(size_t len)
{
	uint8_t *p = mmap(NULL, len + (2UL << 20), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *q;

	if (p == MAP_FAILED)
		return NULL;
	q = (uint8_t *)(((uintptr_t)p + (2UL << 20) - 1) & ~((2UL << 20) - 1));
	memset(q, 0x33, len);
	return q;
}

#endif
