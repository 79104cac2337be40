/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by our iommufd kselftests.
 *
 * Every wrapper returns 0 or -errno rather than setting errno, so tests can
 * write ASSERT_EQ(-EBUSY, ioas_destroy(fd, id)).
 */
#ifndef IOMMUFD_TEST_LIB_H
#define IOMMUFD_TEST_LIB_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

#endif
