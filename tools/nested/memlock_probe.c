// SPDX-License-Identifier: GPL-2.0-only
/*
 * memlock_probe - is the calling user's pinned-page charge zero?
 *
 *   memlock_probe BYTES
 *
 * Run as an unprivileged user (no CAP_IPC_LOCK), so that iommufd charges
 * every page it pins to that user's locked_vm and refuses to go past
 * RLIMIT_MEMLOCK. The probe lowers its RLIMIT_MEMLOCK to BYTES, attaches
 * the first edu device to a fresh IOAS, and then:
 *   - maps BYTES: this pins BYTES, so it fits only if the user's charge
 *     was zero before (a charge left behind by someone else fails it with
 *     ENOMEM);
 *   - maps one page more: this must fail with ENOMEM, or the limit is not
 *     enforced and the first step proves nothing.
 * Everything is undone before it exits. Exit status 0 and a line starting
 * "memlock_probe: ok" when both hold.
 */
#include <sys/mman.h>
#include <sys/resource.h>

#include "edu_vfio.h"
#include "iommufd_ioctls.h"

static int fail(const char *what, int err)
{
	printf("memlock_probe: FAIL: %s: %s\n", what, strerror(-err));
	return 1;
}

int main(int argc, char **argv)
{
	const uint64_t iova = 0x10000000;
	unsigned long long bytes;
	struct rlimit rl;
	struct edu edu;
	uint32_t ioas, pt;
	char *buf;
	int fd, rc;

	bytes = argc == 2 ? strtoull(argv[1], NULL, 0) : 0;
	if (!bytes || bytes % 4096) {
		fprintf(stderr, "usage: memlock_probe BYTES (a page multiple)\n");
		return 2;
	}
	rl.rlim_cur = bytes;
	rl.rlim_max = bytes;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return fail("setrlimit", -errno);

	fd = iofd_open();
	if (fd < 0)
		return fail("open /dev/iommu", -errno);
	rc = ioas_alloc(fd, &ioas);
	if (rc)
		return fail("IOMMU_IOAS_ALLOC", rc);
	rc = edu_open(&edu, 0, fd);
	if (rc)
		return fail("bind edu", rc);
	pt = ioas;
	rc = edu_attach(&edu, &pt);
	if (rc)
		return fail("attach edu", rc);

	buf = mmap(NULL, bytes + 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return fail("mmap", -errno);

	rc = ioas_map(fd, ioas, buf, bytes, iova, RW_FLAGS);
	if (rc)
		return fail("pinning exactly RLIMIT_MEMLOCK: the user is still charged",
			    rc);
	rc = ioas_map(fd, ioas, buf + bytes, 4096, iova + bytes, RW_FLAGS);
	if (!rc) {
		printf("memlock_probe: FAIL: one page past RLIMIT_MEMLOCK was pinned\n");
		return 1;
	}
	if (rc != -ENOMEM)
		return fail("one page past RLIMIT_MEMLOCK", rc);

	printf("memlock_probe: ok: %llu bytes pinnable, one page more refused\n",
	       bytes);
	edu_detach(&edu);
	edu_close(&edu);
	close(fd);
	return 0;
}
