/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a fuzz sequence and a reproducer written from one have in common:
 * the memory the ioctls point into, placed at fixed addresses so that a
 * user pointer recorded in a sequence means the same bytes when the
 * sequence is replayed or compiled into a reproducer, and the unprivileged
 * identity sequences run under.
 *
 * Layout, one region every FZ_STRIDE bytes from FZ_BASE (the gaps between
 * regions are never mapped, so a range running off a region's end faults):
 *   anon    1 MiB private anonymous memory, read-write
 *   thp     4 MiB anonymous memory, 2 MiB aligned, MADV_HUGEPAGE
 *   ro      64 KiB anonymous memory, read-only after it was filled
 *   hole    64 KiB never mapped
 *   file    1 MiB of a memfd mapped shared; the memfd is fd FZ_FILE_FD
 *   huge    2 MiB of hugetlbfs memory (anonymous memory if none is free)
 *   oracle  2 MiB anonymous memory only the model-checked thread maps
 *   ofile   1 MiB of a second memfd (fd FZ_OFILE_FD), model-checked too
 * Every page starts with its own address, so content can be checked.
 */
#ifndef FUZZ_REPRO_H
#define FUZZ_REPRO_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "iommufd_test.h"
#include "iommufd_ioctls.h"

#define FZ_BASE		0x4000000000UL
#define FZ_STRIDE	(8UL << 20)
#define FZ_FILE_FD	200
#define FZ_OFILE_FD	201
#define FZ_UID		4242
#define FZ_MEMLOCK	(64UL << 20)

enum fz_region {
	RG_ANON, RG_THP, RG_RO, RG_HOLE, RG_FILE, RG_HUGE, RG_ORACLE,
	RG_OFILE, RG_NUM
};

static const struct {
	const char *name;
	unsigned long len;
} fz_rg[RG_NUM] = {
	[RG_ANON] = { "anon", 1UL << 20 },
	[RG_THP] = { "thp", 4UL << 20 },
	[RG_RO] = { "ro", 64UL << 10 },
	[RG_HOLE] = { "hole", 64UL << 10 },
	[RG_FILE] = { "file", 1UL << 20 },
	[RG_HUGE] = { "huge", 2UL << 20 },
	[RG_ORACLE] = { "oracle", 2UL << 20 },
	[RG_OFILE] = { "ofile", 1UL << 20 },
};

static inline uint64_t fz_rg_addr(unsigned int rg)
{
	return FZ_BASE + rg * FZ_STRIDE;
}

/* Stamp each page of [p, p + len) with its own address. */
static inline void fz_stamp(uint64_t p, unsigned long len)
{
	unsigned long off;

	for (off = 0; off < len; off += 4096)
		*(volatile uint64_t *)(p + off) = p + off;
}

/* A memfd of @len bytes, moved to descriptor @fd and mapped at @addr. */
static inline int fz_map_memfd(const char *name, int fd, uint64_t addr,
			       unsigned long len)
{
	int mfd = memfd_create(name, MFD_CLOEXEC);

	if (mfd < 0 || ftruncate(mfd, len) || dup2(mfd, fd) != fd)
		return -1;
	close(mfd);
	if (mmap((void *)addr, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
		return -1;
	return 0;
}

/*
 * Build the regions (again: anything already at their addresses is
 * replaced). Returns 0, or -1 with errno set.
 */
static inline int fz_regions_setup(void)
{
	const int anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
	const int rw = PROT_READ | PROT_WRITE;
	unsigned int rg;
	void *p;

	for (rg = 0; rg != RG_NUM; rg++) {
		uint64_t a = fz_rg_addr(rg);
		unsigned long len = fz_rg[rg].len;

		munmap((void *)a, FZ_STRIDE);
		switch (rg) {
		case RG_HOLE:
			continue;
		case RG_FILE:
		case RG_OFILE:
			if (fz_map_memfd(fz_rg[rg].name, rg == RG_FILE ?
					 FZ_FILE_FD : FZ_OFILE_FD, a, len))
				return -1;
			break;
		case RG_HUGE:
			p = mmap((void *)a, len, rw, anon | MAP_HUGETLB, -1, 0);
			if (p != MAP_FAILED)
				break;
			/* no huge page free: plain memory */
			if (mmap((void *)a, len, rw, anon, -1, 0) == MAP_FAILED)
				return -1;
			break;
		default:
			if (mmap((void *)a, len, rw, anon, -1, 0) == MAP_FAILED)
				return -1;
			if (rg == RG_THP)
				madvise((void *)a, len, MADV_HUGEPAGE);
		}
		fz_stamp(a, len);
		if (rg == RG_RO && mprotect((void *)a, len, PROT_READ))
			return -1;
	}
	return 0;
}

/*
 * Become the fuzz user: no capabilities, a memlock limit of @memlock
 * bytes. Needs /dev/iommu to be accessible to that user.
 */
static inline int fz_become_user(unsigned long memlock)
{
	struct rlimit rl = { memlock, memlock };

	if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgroups(0, NULL) ||
	    setresgid(FZ_UID, FZ_UID, FZ_UID) ||
	    setresuid(FZ_UID, FZ_UID, FZ_UID))
		return -1;
	return 0;
}

/*
 * The buffer an operation's argument is built in, one per thread: 1 MiB
 * followed by an inaccessible page, so that a kernel writing more than the
 * argument (a bitmap or an array the length of which the fuzzer made up)
 * hits the guard instead of the fuzzer's stack.
 */
#define FZ_SCRATCH (1UL << 20)
static inline uint8_t *fz_scratch(void)
{
	static __thread uint8_t *buf;

	if (!buf) {
		buf = mmap(NULL, FZ_SCRATCH + 4096, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED ||
		    mprotect(buf + FZ_SCRATCH, 4096, PROT_NONE))
			abort();
	}
	return buf;
}

/*
 * The selftest's limit on temporary memory is global: put it back to the
 * largest, as a sequence expects to find it. 0 or -1.
 */
static inline int fz_reset_test_limits(void)
{
	struct iommu_test_cmd c = {
		.size = sizeof(c),
		.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
		.memory_limit = { .limit = ~0U },
	};
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = ioctl(fd, IOMMU_TEST_CMD, &c);
	close(fd);
	return rc;
}

/* Little-endian field access at a byte offset of an argument buffer. */
static inline void fz_put(uint8_t *buf, unsigned int off, unsigned int width,
			  uint64_t val)
{
	memcpy(buf + off, &val, width);
}

static inline uint64_t fz_get(const uint8_t *buf, unsigned int off,
			      unsigned int width)
{
	uint64_t val = 0;

	memcpy(&val, buf + off, width);
	return val;
}

/* What an operation does with its descriptor and buffer. */
enum action {
	A_IOCTL,	/* ioctl(fd, cmd, buf) */
	A_READ,		/* read(fd, buf, len) */
	A_WRITE,	/* write(fd, buf, len) */
	A_CLOSE,	/* close(fd); the descriptor is forgotten */
	/*
	 * A_MMAP: map len bytes (or the u64 in buf[16..23] if not 0) of fd
	 * at the u64 offset in buf[0..7], with the flags in buf[8..11];
	 * touch the first word; unmap.
	 */
	A_MMAP,
	A_REOPEN,	/* close fd and open /dev/iommu in its place */
	A_DONTNEED,	/* madvise(buf[0..7], buf[8..15], MADV_DONTNEED) */
	A_FORK,		/* the operations of one child process follow */
	A_VERIFY,	/* the oracle checks a range (fuzzer only) */
};

/*
 * The descriptor a slot holds, or -1 if it holds none; @take empties the
 * slot, as closing it does.
 */
static inline int fz_slot_fd(uint64_t *slot, bool take)
{
	int fd = *slot >= 3 && *slot < (1U << 20) ? (int)*slot : -1;

	if (take)
		*slot = -1;
	return fd;
}

/* What must come of an operation (set by mutations and by the oracle). */
enum expect { E_ANY, E_OK, E_FAIL, E_ERRNO };

/*
 * Whether @rc (0 or -errno) is what @expect allows; if not, describe the
 * mismatch in @why.
 */
static inline bool fz_expected(int rc, unsigned int expect, int err,
			       char *why, size_t n)
{
	switch (expect) {
	case E_OK:
		if (!rc)
			return true;
		snprintf(why, n, "expected success, got %s", strerror(-rc));
		return false;
	case E_FAIL:
		if (rc)
			return true;
		snprintf(why, n, "expected an error, got success");
		return false;
	case E_ERRNO:
		if (rc == -err)
			return true;
		snprintf(why, n, "expected %s, got %s", strerror(err),
			 rc ? strerror(-rc) : "success");
		return false;
	}
	return true;
}

/*
 * Carry out one operation on the descriptor *@fdp. Returns 0 or -errno
 * (a read or write that transferred anything counts as 0).
 */
static inline int fz_call(unsigned int action, int *fdp, unsigned long cmd,
			  uint8_t *buf, unsigned int len)
{
	ssize_t n;
	void *p;

	errno = 0;
	switch (action) {
	case A_IOCTL:
		return ioctl(*fdp, cmd, buf) ? -errno : 0;
	case A_READ:
		n = read(*fdp, buf, len);
		return n < 0 ? -errno : 0;
	case A_WRITE:
		n = write(*fdp, buf, len);
		return n < 0 ? -errno : 0;
	case A_CLOSE:
		n = close(*fdp);
		*fdp = -1;
		return n ? -errno : 0;
	case A_MMAP:
		if (fz_get(buf, 16, 8))
			len = fz_get(buf, 16, 8);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 (int)fz_get(buf, 8, 4), *fdp, fz_get(buf, 0, 8));
		if (p == MAP_FAILED)
			return -errno;
		(void)*(volatile uint32_t *)p;
		munmap(p, len);
		return 0;
	case A_REOPEN:
		close(*fdp);
		*fdp = open("/dev/iommu", O_RDWR | O_CLOEXEC);
		return *fdp < 0 ? -errno : 0;
	case A_DONTNEED:
		return madvise((void *)fz_get(buf, 0, 8), fz_get(buf, 8, 8),
			       MADV_DONTNEED) ? -errno : 0;
	}
	return -EINVAL;
}

/*
 * What must hold once every descriptor of a sequence is closed: the
 * process pins and locks nothing more than at @pin_kb / @lck_kb, and no
 * page of the regions holds a pin. Returns 0, or -1 with @why filled.
 */
static inline int fz_end_checks(long pin_kb, long lck_kb, char *why,
				size_t n)
{
	static const unsigned int checked[] = { RG_ANON, RG_FILE, RG_RO,
						RG_ORACLE, RG_OFILE };
	long pin = vm_pinned_kb(), lck = proc_kb("/proc/self/status", "VmLck");
	unsigned int i;
	int fd, rc = 0;

	/*
	 * Fault every page in again: a page dropped by MADV_DONTNEED would
	 * read back as the shared zero page, whose count means nothing.
	 */
	for (i = 0; i != sizeof(checked) / sizeof(checked[0]); i++)
		if (checked[i] != RG_RO)
			fz_stamp(fz_rg_addr(checked[i]), fz_rg[checked[i]].len);
	if (pin != pin_kb || lck != lck_kb) {
		snprintf(why, n, "VmPin %ld kB / VmLck %ld kB after close, %ld / %ld before",
			 pin, lck, pin_kb, lck_kb);
		return -1;
	}
	fd = iofd_open();
	if (fd < 0) {
		snprintf(why, n, "cannot open /dev/iommu: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i != sizeof(checked) / sizeof(checked[0]) && !rc; i++) {
		struct iommu_test_cmd c = {
			.size = sizeof(c),
			.op = IOMMU_TEST_OP_MD_CHECK_REFS,
			.check_refs = { .length = fz_rg[checked[i]].len,
					.uptr = fz_rg_addr(checked[i]) },
		};

		rc = xioctl(fd, IOMMU_TEST_CMD, &c);
		if (rc)
			snprintf(why, n, "pages of region %s still pinned after close (%s)",
				 fz_rg[checked[i]].name, strerror(-rc));
	}
	close(fd);
	return rc ? -1 : 0;
}

#endif
