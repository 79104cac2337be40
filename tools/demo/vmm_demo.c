// SPDX-License-Identifier: GPL-2.0-only
/*
 * A narrated tour of /dev/iommu, done the way a VMM would do it.
 *
 * Runs inside the test guest (make run). Each step says what it is about to
 * do, does it, and shows what the kernel answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/iommufd.h>

static int failures;

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("demo: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/* Run an ioctl and narrate its outcome against what we expected. */
static int step(int fd, unsigned long cmd, void *arg, int want_errno,
		const char *what)
{
	int rc = ioctl(fd, cmd, arg) ? errno : 0;

	if (rc == want_errno)
		say("  %-52s -> %s%s", what, rc ? strerror(rc) : "ok",
		    rc ? " (as expected)" : "");
	else {
		say("  %-52s -> %s, expected %s  <-- WRONG", what,
		    rc ? strerror(rc) : "ok",
		    want_errno ? strerror(want_errno) : "success");
		failures++;
	}
	return rc;
}

static void objects_tour(int fd)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	uint32_t ioas;

	say("1. An I/O address space (IOAS) is the VMM's view of guest memory.");
	step(fd, IOMMU_IOAS_ALLOC, &alloc, 0, "IOMMU_IOAS_ALLOC");
	ioas = alloc.out_ioas_id;
	say("   the kernel named it object %u", ioas);

	say("2. Objects are destroyed by ID, once.");
	destroy.id = ioas;
	step(fd, IOMMU_DESTROY, &destroy, 0, "IOMMU_DESTROY the IOAS");
	step(fd, IOMMU_DESTROY, &destroy, ENOENT, "IOMMU_DESTROY it again");
}

static void bad_input_tour(int fd)
{
	struct {
		struct iommu_ioas_alloc cmd;
		uint64_t tail;
	} big = {};
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	say("3. Bad input gets a precise errno and changes nothing.");
	alloc.size = 4;
	step(fd, IOMMU_IOAS_ALLOC, &alloc, EINVAL,
	     "IOAS_ALLOC with a structure too short");
	big.cmd.size = sizeof(big);
	big.tail = 1;
	step(fd, IOMMU_IOAS_ALLOC, &big, E2BIG,
	     "IOAS_ALLOC with unknown non-zero trailing bytes");
	big.tail = 0;
	step(fd, IOMMU_IOAS_ALLOC, &big, 0,
	     "IOAS_ALLOC with zero trailing bytes (newer caller)");
	alloc.size = sizeof(alloc);
	alloc.flags = 1u << 31;
	step(fd, IOMMU_IOAS_ALLOC, &alloc, EOPNOTSUPP,
	     "IOAS_ALLOC with a flag we do not know");
	step(fd, _IO(IOMMUFD_TYPE, 0xff), &alloc, ENOTTY,
	     "an ioctl number iommufd does not have");
	step(fd, IOMMU_IOAS_ALLOC, (void *)16, EFAULT,
	     "IOAS_ALLOC with a bad pointer");
}

int main(void)
{
	int fd;

	say("opening /dev/iommu, as QEMU's iommufd backend does");
	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0) {
		say("cannot open /dev/iommu: %s", strerror(errno));
		return 1;
	}
	objects_tour(fd);
	bad_input_tour(fd);
	close(fd);
	say("closing the file frees every object left in it");

	if (failures) {
		say("%d step(s) did not go as expected", failures);
		return 1;
	}
	say("all steps went as expected");
	return 0;
}
