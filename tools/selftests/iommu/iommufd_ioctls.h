/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Thin wrappers of the /dev/iommu ioctls (and readers of /proc), shared by
 * our kselftests (through iommufd_test_lib.h), the benchmark and the demo.
 * Nothing here depends on the kselftest harness; the wrappers of the
 * selftest-only IOMMU_TEST_CMD at the end exist only for those who included
 * iommufd_test.h first.
 *
 * Every wrapper returns 0 or -errno rather than setting errno alone, so a
 * caller can compare with the error it expects; errno is still set too.
 */
#ifndef IOMMUFD_IOCTLS_H
#define IOMMUFD_IOCTLS_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/iommufd.h>

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

/* Let automatic IOVAs come only from [@start, @last]. */
static inline int ioas_allow_iovas(int fd, uint32_t ioas, uint64_t start,
				   uint64_t last)
{
	struct iommu_iova_range range = { .start = start, .last = last };
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = 1,
		.allowed_iovas = (uintptr_t)&range,
	};

	return xioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

/* Charge every mapping of the file to the calling process. */
static inline int change_process(int fd)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };

	return xioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);
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

/*
 * The value of field @key ("Key: N kB") of a /proc file such as
 * /proc/meminfo, in KiB, or -1 if it is not there.
 */
static inline long proc_kb(const char *path, const char *key)
{
	size_t klen = strlen(key);
	FILE *f = fopen(path, "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			kb = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* Pinned memory of this process in KiB. */
static inline long vm_pinned_kb(void)
{
	return proc_kb("/proc/self/status", "VmPin");
}

/* Locked memory of this process (mm->locked_vm) in KiB. */
static inline long vm_locked_kb(void)
{
	return proc_kb("/proc/self/status", "VmLck");
}

/*
 * How many physically contiguous runs the resident memory [p, p + len)
 * forms, from /proc/self/pagemap; 0 when the PFNs are hidden (not root) or
 * pagemap cannot be read.
 */
static inline long phys_runs(const void *p, size_t len)
{
	uint64_t ent, prev = 0;
	long pg = page_size(), runs = 0;
	int pm = open("/proc/self/pagemap", O_RDONLY);
	size_t i;

	if (pm < 0)
		return 0;
	for (i = 0; i != len / pg; i++) {
		off_t off = ((uintptr_t)p / pg + i) * sizeof(ent);

		if (pread(pm, &ent, sizeof(ent), off) != sizeof(ent)) {
			runs = 0;
			break;
		}
		ent &= (1ULL << 55) - 1;	/* the PFN */
		if (!ent) {
			runs = 0;
			break;
		}
		if (!i || ent != prev + 1)
			runs++;
		prev = ent;
	}
	close(pm);
	return runs;
}

/*
 * The selftest's own command, for callers that included the selftest ABI
 * (iommufd_test.h) first; the kernel needs CONFIG_IOMMUFD_TEST.
 */
#ifdef _UAPI_IOMMUFD_TEST_H
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
#endif

#endif
