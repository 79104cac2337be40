/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by our iommufd kselftests.
 *
 * Every wrapper returns 0 or -errno rather than setting errno, so tests can
 * write ASSERT_EQ(-EBUSY, obj_destroy(fd, id)).
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
#include <unistd.h>

#include <linux/iommufd.h>

#include "../kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define END_OF(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

/* The mock IOMMU's page size: half a CPU page. */
#define MOCK_PAGE (PAGE_SZ / 2)
#define PAGE_SZ ((unsigned long)sysconf(_SC_PAGESIZE))
#define RW_FLAGS (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static inline int iofd_open(void)
{
	return open("/dev/iommu", O_RDWR | O_CLOEXEC);
}

/* ioctl() that reports failure as -errno. */
static inline int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int obj_destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return xioctl(fd, IOMMU_DESTROY, &cmd);
}

static inline int ioas_alloc(int fd, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc;

	rc = xioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
	if (!rc && id)
		*id = cmd.out_ioas_id;
	return rc;
}

/*
 * Issue @cmd with the structure at @buf declared as @size bytes long. The
 * buffer must have room for @size bytes.
 */
static inline int ioctl_sized(int fd, unsigned long cmd, void *buf,
			      uint32_t size)
{
	memcpy(buf, &size, sizeof(size));
	return xioctl(fd, cmd, buf);
}

static inline long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* Map at a fixed IOVA; ioas_map_auto() lets the kernel choose. */
static inline int ioas_map(int fd, uint32_t ioas, void *buf, uint64_t len,
			   uint64_t iova, uint32_t flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | flags,
		.ioas_id = ioas,
		.user_va = (uintptr_t)buf,
		.length = len,
		.iova = iova,
	};

	return xioctl(fd, IOMMU_IOAS_MAP, &cmd);
}

static inline int ioas_map_auto(int fd, uint32_t ioas, void *buf,
				uint64_t len, uint64_t *iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = RW_FLAGS,
		.ioas_id = ioas,
		.user_va = (uintptr_t)buf,
		.length = len,
	};
	int rc = xioctl(fd, IOMMU_IOAS_MAP, &cmd);

	if (!rc)
		*iova = cmd.iova;
	return rc;
}

static inline int ioas_map_file(int fd, uint32_t ioas, int memfd,
				uint64_t start, uint64_t len, uint64_t iova,
				uint32_t flags)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | flags,
		.ioas_id = ioas,
		.fd = memfd,
		.start = start,
		.length = len,
		.iova = iova,
	};

	return xioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd);
}

/* Unmap; *done (if not NULL) receives the bytes unmapped. */
static inline int ioas_unmap(int fd, uint32_t ioas, uint64_t iova,
			     uint64_t len, uint64_t *done)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.iova = iova,
		.length = len,
	};
	int rc = xioctl(fd, IOMMU_IOAS_UNMAP, &cmd);

	if (done)
		*done = rc ? 0 : cmd.length;
	return rc;
}

static inline int ioas_copy(int fd, uint32_t dst, uint64_t dst_iova,
			    uint32_t src, uint64_t src_iova, uint64_t len,
			    uint32_t flags)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | flags,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = len,
		.dst_iova = dst_iova,
		.src_iova = src_iova,
	};

	return xioctl(fd, IOMMU_IOAS_COPY, &cmd);
}

/* The IOVA ranges of an IOAS; returns how many, or -errno. */
static inline int ioas_ranges(int fd, uint32_t ioas,
			      struct iommu_iova_range *ranges,
			      unsigned int room, uint64_t *alignment)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = room,
		.allowed_iovas = (uintptr_t)ranges,
	};
	int rc = xioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);

	if (alignment)
		*alignment = cmd.out_iova_alignment;
	return rc ? rc : (int)cmd.num_iovas;
}

static inline int option(int fd, uint32_t option_id, uint16_t op,
			 uint32_t object_id, uint64_t *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option_id,
		.op = op,
		.object_id = object_id,
		.val64 = *val,
	};
	int rc = xioctl(fd, IOMMU_OPTION, &cmd);

	*val = cmd.val64;
	return rc;
}

static inline int test_cmd(int fd, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return xioctl(fd, IOMMU_TEST_CMD, cmd);
}

/* A mock device attached to @pt_id; returns the SELFTEST object ID. */
static inline int mock_domain(int fd, uint32_t pt_id, uint32_t *stdev,
			      uint32_t *hwpt, uint32_t *idev)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt_id,
	};
	int rc = test_cmd(fd, &cmd);

	if (rc)
		return rc;
	if (stdev)
		*stdev = cmd.mock_domain.out_stdev_id;
	if (hwpt)
		*hwpt = cmd.mock_domain.out_hwpt_id;
	if (idev)
		*idev = cmd.mock_domain.out_idev_id;
	return 0;
}

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

static inline int hwpt_alloc(int fd, uint32_t idev, uint32_t pt_id,
			     uint32_t flags, uint32_t *hwpt)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = idev,
		.pt_id = pt_id,
	};
	int rc = xioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	if (!rc)
		*hwpt = cmd.out_hwpt_id;
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

static inline int access_pin(int fd, int afd, uint64_t iova, uint64_t len,
			     void *expect, uint32_t *item)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = afd,
		.access_pages = { .iova = iova, .length = len,
				  .uptr = (uintptr_t)expect },
	};
	int rc = test_cmd(fd, &cmd);

	if (!rc && item)
		*item = cmd.access_pages.out_access_pages_id;
	return rc;
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

/* Pinned memory of this process in KiB (VmPin in /proc/self/status). */
static inline long vm_pinned_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
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
