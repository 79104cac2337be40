// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd benchmarks, run inside the guest by tools/bench/run.
 *
 *   iommufd_bench vtd REPS [FILTER]   cases through the emulated VT-d (edu)
 *   iommufd_bench mock REPS [FILTER]  cases through the mock IOMMU, accesses
 *   iommufd_bench amd|smmuv3 REPS [FILTER]
 *                                      map+unmap through that IOMMU (edu)
 *
 * Each case runs REPS times; the program prints one line per case,
 * "result CASE MEDIAN_MS MIN_MS MAX_MS", or "skip CASE REASON". Map+unmap
 * cases also print "phase CASE map=MS unmap=MS" (medians of each half).
 * With FILTER only the cases whose name contains it run. Only
 * ioctls both 6.12's iommufd and ours implement are used, except in cases
 * named "*_ours_only", which the other tree reports as skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "edu_vfio.h"
#include "iommufd_test.h"
#include "iommufd_ioctls.h"

#define GIB (1UL << 30)
#define MAX_REPS 32

static int reps = 5;
static int fd;
static const char *filter;

static int wanted(const char *name)
{
	return !filter || strstr(name, filter);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * "result CASE MEDIAN MIN MAX" for a person reading along, and every
 * repetition on a "samples" line, which tools/bench/run pools across boots.
 */
static void report_fmt(const char *name, double *v, int n, const char *fmt)
{
	int i;

	qsort(v, n, sizeof(*v), cmp_double);
	printf("result %s ", name);
	printf(fmt, v[n / 2]);
	printf(" ");
	printf(fmt, v[0]);
	printf(" ");
	printf(fmt, v[n - 1]);
	printf("\nsamples %s", name);
	for (i = 0; i != n; i++) {
		printf(" ");
		printf(fmt, v[i]);
	}
	printf("\n");
	fflush(stdout);
}

static void report(const char *name, double *v, int n)
{
	report_fmt(name, v, n, "%.3f");
}

/* report(), and a "phase" line with the medians of the map and unmap halves. */
static void report_phases(const char *name, double *v, double *vm,
			  double *vu, int n)
{
	report(name, v, n);
	qsort(vm, n, sizeof(*vm), cmp_double);
	qsort(vu, n, sizeof(*vu), cmp_double);
	printf("phase %s map=%.3f unmap=%.3f\n", name, vm[n / 2], vu[n / 2]);
	fflush(stdout);
}

static void skip(const char *name, const char *why)
{
	printf("skip %s %s\n", name, why);
	fflush(stdout);
}

static void die(const char *what)
{
	fprintf(stderr, "iommufd_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint32_t ioas_new(void)
{
	uint32_t id;

	if (ioas_alloc(fd, &id))
		die("IOAS_ALLOC");
	return id;
}

static void destroy(uint32_t id)
{
	if (obj_destroy(fd, id))
		die("DESTROY");
}

/*
 * Memory that is already faulted in, as a VMM's guest memory is. With
 * @scatter the 4 KiB pages are faulted in a scrambled order, so that pages
 * next to each other in virtual memory are not next to each other
 * physically: the usual state of a long-running system, and the worst case
 * for mapping (no run can use a larger IOMMU page).
 */
static void *alloc_mem(size_t len, int advice, int scatter)
{
	void *p = mmap(NULL, len + (2UL << 20), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t npages = len / 4096, i;
	uint8_t *q;

	if (p == MAP_FAILED)
		die("mmap");
	q = (uint8_t *)(((uintptr_t)p + (2UL << 20) - 1) & ~((2UL << 20) - 1));
	if (madvise(q, len, advice))
		die("madvise");
	if (!scatter) {
		memset(q, 1, len);
		return q;
	}
	/* npages is a power of two, so an odd stride visits every page. */
	for (i = 0; i != npages; i++)
		q[((i * 40503) % npages) * 4096] = 1;
	return q;
}

static void *alloc_memfd(size_t len, int *memfd)
{
	void *p;

	*memfd = memfd_create("bench", 0);
	if (*memfd < 0 || ftruncate(*memfd, len))
		die("memfd");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *memfd, 0);
	if (p == MAP_FAILED)
		die("mmap memfd");
	memset(p, 1, len);
	return p;
}

/*
 * Time IOAS_MAP + IOAS_UNMAP of @len bytes at @buf. A case that takes less
 * than 100 ms (huge pages) is noisier for its size and cheap to repeat, so
 * it gets four times the repetitions.
 */
static void bench_map_unmap(const char *name, uint32_t ioas, void *buf,
			    size_t len)
{
	double v[MAX_REPS], vm[MAX_REPS], vu[MAX_REPS];
	uint64_t iova;
	int i, n = reps;

	if (!wanted(name))
		return;
	for (i = 0; i != n; i++) {
		double t0 = now_ms(), t1;

		if (ioas_map_auto(fd, ioas, buf, len, &iova))
			die(name);
		t1 = now_ms();
		if (ioas_unmap(fd, ioas, iova, len, NULL))
			die(name);
		v[i] = now_ms() - t0;
		vm[i] = t1 - t0;
		vu[i] = v[i] - vm[i];
		if (!i && v[0] < 100)
			n = reps * 4 < MAX_REPS ? reps * 4 : MAX_REPS;
	}
	report_phases(name, v, vm, vu, n);
}

/*
 * How many physically contiguous runs the faulted-in memory at @buf forms,
 * from /proc/self/pagemap: fewer runs mean fewer, larger IOMMU mappings,
 * and the count depends on the page allocator's state at boot, which
 * differs between the two kernels. Printed so that a ratio can be told
 * apart from a different layout of the same memory.
 */
static void print_runs(const char *name, const void *buf, size_t len)
{
	if (wanted(name))
		printf("info %s contiguous_runs=%ld\n", name,
		       phys_runs(buf, len));
}

/*
 * The VFIO type1 container, as legacy VMMs use it: MAP_DMA + UNMAP_DMA of
 * 1 GiB of 4 KiB pages, faulted in order, through the edu device's group
 * (TYPE1v2, the device opened so that a domain mirrors the mappings). On
 * our kernel /dev/vfio/vfio is our iommufd's emulation; the other kernel
 * has VFIO's own type1 container (tools/kconfig/upstream.config). Runs
 * before anything opens the device's cdev, which would make the group's
 * open fail.
 */
static void bench_type1(void)
{
	const char *name = "type1_map_unmap_1g_4k";
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.size = GIB,
	};
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	double v[MAX_REPS], vm[MAX_REPS], vu[MAX_REPS];
	int container, group, i;
	struct edu edu;
	char bdf[64];
	uint8_t *mem;

	if (!wanted(name))
		return;
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0) {
		skip(name, "no /dev/vfio/vfio");
		return;
	}
	if (edu_group_open(0, container, &group, bdf, sizeof(bdf)) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) ||
	    edu_group_get_device(&edu, group, bdf))
		die("type1 container");
	mem = alloc_mem(GIB, MADV_NOHUGEPAGE, 0);
	print_runs(name, mem, GIB);
	map.vaddr = (uintptr_t)mem;
	for (i = 0; i != reps; i++) {
		double t0 = now_ms(), t1;

		if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
			die("MAP_DMA");
		t1 = now_ms();
		unmap.size = GIB;
		if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) ||
		    unmap.size != GIB)
			die("UNMAP_DMA");
		v[i] = now_ms() - t0;
		vm[i] = t1 - t0;
		vu[i] = v[i] - vm[i];
	}
	report_phases(name, v, vm, vu, reps);
	edu_close(&edu);
	close(group);
	close(container);
	munmap(mem, GIB);
}

static void write_file(const char *path, const char *text)
{
	int f = open(path, O_WRONLY);

	if (f >= 0) {
		if (write(f, text, strlen(text)) != (ssize_t)strlen(text))
			perror(path);
		close(f);
	}
}

/* Fold the per-CPU counters into the global ones /proc/meminfo shows. */
static void stat_refresh(void)
{
	write_file("/proc/sys/vm/stat_refresh", "1");
}

/*
 * Kernel memory that cannot be given back while a mapping lives, in KiB:
 * IOMMU page tables (counted as secondary page tables), unreclaimable slab
 * (every object iommufd allocates is there) and vmalloc space. Reclaimable
 * slab (dentries, inodes: caches the kernel drops under pressure) is left
 * out of the sum but printed beside it. MemFree would not do: pages freed
 * by an earlier unmap wait on per-CPU lists, which MemFree counts as used,
 * and a new map takes them back from there without MemFree moving.
 */
static const char *const kmem_keys[] = { "SecPageTables", "SUnreclaim",
					  "VmallocUsed", "SReclaimable" };
#define NKMEM (sizeof(kmem_keys) / sizeof(kmem_keys[0]))
#define NKMEM_SUM 3	/* the first three count */

static long kmem_kb(long part[NKMEM])
{
	long sum = 0;
	unsigned int k;

	stat_refresh();
	for (k = 0; k != NKMEM; k++) {
		part[k] = proc_kb("/proc/meminfo", kmem_keys[k]);
		if (k < NKMEM_SUM)
			sum += part[k];
	}
	return sum;
}

/*
 * Kernel memory a mapped GiB costs: how far kmem_kb() has grown, while 1 GiB
 * of already-faulted memory in scattered 4 KiB pages is mapped, above where
 * it stood before anything was ever mapped through the domain. The baseline
 * is taken once, on a fresh domain: an IOMMU driver may keep page-table
 * pages after an unmap (VT-d frees only tables an unmap covers whole), and
 * a per-repetition baseline would count those as free. What is still held
 * after the last unmap is printed too.
 */
static void bench_kmem(uint32_t ioas, void *buf)
{
	double v[MAX_REPS];
	long b[NKMEM], a[NKMEM], l[NKMEM];
	long base, left;
	uint64_t iova;
	unsigned int k;
	int i;

	if (!wanted("kmem_per_gib_kib"))
		return;
	base = kmem_kb(b);
	for (i = 0; i != reps; i++) {
		if (ioas_map_auto(fd, ioas, buf, GIB, &iova))
			die("kmem map");
		v[i] = kmem_kb(a) - base;
		if (ioas_unmap(fd, ioas, iova, GIB, NULL))
			die("kmem unmap");
	}
	left = kmem_kb(l) - base;
	report_fmt("kmem_per_gib_kib", v, reps, "%.0f");
	/* The parts, from the last repetition. */
	printf("phase kmem_per_gib_kib");
	for (k = 0; k != NKMEM; k++)
		printf(" %s=%ld", kmem_keys[k], a[k] - b[k]);
	printf(" held_after_unmap=%ld\n", left);
	fflush(stdout);
}

static void bench_many_small(uint32_t ioas, uint8_t *buf, unsigned int n)
{
	/*
	 * 6.12 takes minutes per repetition here and the gap is a hundredfold:
	 * one per boot is plenty.
	 */
	int n_reps = 1;
	double v[MAX_REPS];
	uint64_t *iovas;
	unsigned int j;
	int i;

	if (!wanted("map_unmap_65536x4k"))
		return;
	iovas = calloc(n, sizeof(*iovas));
	if (!iovas)
		die("calloc");
	for (i = 0; i != n_reps; i++) {
		double t0 = now_ms();

		for (j = 0; j != n; j++)
			if (ioas_map_auto(fd, ioas, buf + (size_t)j * 4096,
					  4096, &iovas[j]))
				die("small map");
		for (j = 0; j != n; j++)
			if (ioas_unmap(fd, ioas, iovas[j], 4096, NULL))
				die("small unmap");
		v[i] = now_ms() - t0;
	}
	report("map_unmap_65536x4k", v, n_reps);
	free(iovas);
}

static void bench_copy(uint32_t src, uint32_t dst, void *buf)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.src_ioas_id = src,
		.dst_ioas_id = dst,
		.length = GIB,
	};
	double v[MAX_REPS];
	uint64_t iova;
	int i;

	if (!wanted("copy_1g"))
		return;
	if (ioas_map_auto(fd, src, buf, GIB, &iova))
		die("copy source map");
	cmd.src_iova = iova;
	for (i = 0; i != reps; i++) {
		double t0;

		cmd.dst_iova = 0;
		t0 = now_ms();
		if (ioctl(fd, IOMMU_IOAS_COPY, &cmd))
			die("COPY");
		v[i] = now_ms() - t0;
		if (ioas_unmap(fd, dst, cmd.dst_iova, GIB, NULL))
			die("copy unmap");
	}
	report("copy_1g", v, reps);
	ioas_unmap(fd, src, iova, GIB, NULL);
}

static void bench_map_file(uint32_t ioas, int memfd)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.fd = memfd,
		.length = GIB,
	};
	double v[MAX_REPS];
	int i;

	if (!wanted("map_file_unmap_1g_ours_only"))
		return;
	for (i = 0; i != reps; i++) {
		double t0 = now_ms();

		cmd.iova = 0;
		if (ioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd)) {
			skip("map_file_unmap_1g_ours_only",
			     "IOMMU_IOAS_MAP_FILE not supported");
			return;
		}
		if (ioas_unmap(fd, ioas, cmd.iova, GIB, NULL))
			die("map_file unmap");
		v[i] = now_ms() - t0;
	}
	report("map_file_unmap_1g_ours_only", v, reps);
}

/*
 * Map+unmap of a GiB backed by transparent huge pages. Earlier cases leave
 * memory fragmented, and how much of the GiB then gets huge pages varies
 * from boot to boot: compact first, and say how much did.
 */
static void bench_thp(const char *name, uint32_t ioas)
{
	uint8_t *thp;
	long huge;

	if (!wanted(name))
		return;
	write_file("/proc/sys/vm/compact_memory", "1");
	huge = proc_kb("/proc/meminfo", "AnonHugePages");
	thp = alloc_mem(GIB, MADV_HUGEPAGE, 0);
	huge = proc_kb("/proc/meminfo", "AnonHugePages") - huge;
	printf("info %s huge_pages_kib=%ld\n", name, huge);
	bench_map_unmap(name, ioas, thp, GIB);
	munmap(thp, GIB);
}

static void run_vtd(void)
{
	struct edu edu[2];
	uint32_t ioas, ioas2, pt;
	uint8_t *mem, *fmem;
	int memfd, rc;

	bench_type1();
	rc = edu_open(&edu[0], 0, fd);
	if (rc) {
		skip("vtd", "no edu device");
		return;
	}
	ioas = ioas_new();
	pt = ioas;
	if (edu_attach(&edu[0], &pt))
		die("attach");

	mem = alloc_mem(GIB, MADV_NOHUGEPAGE, 1);
	/* First, while the domain has never mapped anything. */
	bench_kmem(ioas, mem);
	print_runs("map_unmap_1g_4k", mem, GIB);
	bench_map_unmap("map_unmap_1g_4k", ioas, mem, GIB);

	if (!edu_open(&edu[1], 1, fd)) {
		ioas2 = ioas_new();
		pt = ioas2;
		if (edu_attach(&edu[1], &pt))
			die("attach second");
		bench_copy(ioas, ioas2, mem);
		edu_close(&edu[1]);
		destroy(ioas2);
	} else {
		skip("copy_1g", "no second edu device");
	}
	munmap(mem, GIB);

	bench_thp("map_unmap_1g_thp", ioas);

	fmem = alloc_memfd(GIB, &memfd);
	print_runs("map_unmap_1g_memfd", fmem, GIB);
	bench_map_unmap("map_unmap_1g_memfd", ioas, fmem, GIB);
	bench_map_file(ioas, memfd);
	munmap(fmem, GIB);
	close(memfd);

	/*
	 * Last: 6.12 takes minutes here, we take a second or two, and the
	 * time passing changes the memory the cases after it get (the kernel
	 * drains its per-CPU free lists over seconds, and the memfd GiB then
	 * came out in 15k contiguous runs in 6.12's boots against 80k in
	 * ours). Nothing runs after it.
	 */
	if (wanted("map_unmap_65536x4k")) {
		mem = alloc_mem(65536 * 4096UL, MADV_NOHUGEPAGE, 1);
		bench_many_small(ioas, mem, 65536);
		munmap(mem, 65536 * 4096UL);
	}

	edu_close(&edu[0]);
	destroy(ioas);
}

/*
 * The map+unmap rows through another vendor's IOMMU (AMD-Vi, SMMUv3): the
 * same cases as the VT-d ones, named with "_SUFFIX".
 */
static void run_vendor(const char *suffix)
{
	char name[64];
	struct edu edu;
	uint32_t ioas, pt;
	uint8_t *mem;

	if (edu_open(&edu, 0, fd)) {
		snprintf(name, sizeof(name), "map_unmap_1g_4k_%s", suffix);
		skip(name, "no edu device");
		return;
	}
	ioas = ioas_new();
	pt = ioas;
	if (edu_attach(&edu, &pt))
		die("attach");
	snprintf(name, sizeof(name), "map_unmap_1g_4k_%s", suffix);
	if (wanted(name)) {
		mem = alloc_mem(GIB, MADV_NOHUGEPAGE, 1);
		print_runs(name, mem, GIB);
		bench_map_unmap(name, ioas, mem, GIB);
		munmap(mem, GIB);
	}
	snprintf(name, sizeof(name), "map_unmap_1g_thp_%s", suffix);
	bench_thp(name, ioas);
	edu_close(&edu);
	destroy(ioas);
}

/*
 * Pin all of a mapped GiB through an in-kernel access user and release it,
 * 16 MiB per request (the most 6.12's test interface takes at once). The
 * row varies by 10-20% from one repetition to the next in both trees, and
 * a repetition costs little next to a boot, so it gets four times the
 * repetitions.
 */
static void bench_access(uint32_t ioas, void *buf)
{
	struct iommu_test_cmd create = {
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas,
		.create_access = {
			.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
		},
	};
	const size_t chunk = 16UL << 20;
	uint32_t ids[GIB / (16UL << 20)];
	int i, n = reps * 4 < MAX_REPS ? reps * 4 : MAX_REPS;
	double v[MAX_REPS];
	uint64_t iova;
	unsigned int j;

	if (!wanted("access_pin_unpin_1g"))
		return;
	if (test_cmd(fd, &create))
		die("CREATE_ACCESS");
	if (ioas_map_auto(fd, ioas, buf, GIB, &iova))
		die("access map");
	for (i = 0; i != n; i++) {
		double t0 = now_ms();

		for (j = 0; j != GIB / chunk; j++) {
			struct iommu_test_cmd pin = {
				.op = IOMMU_TEST_OP_ACCESS_PAGES,
				.id = create.create_access.out_access_fd,
				.access_pages = {
					.iova = iova + j * chunk,
					.length = chunk,
				},
			};

			if (test_cmd(fd, &pin))
				die("ACCESS_PAGES");
			ids[j] = pin.access_pages.out_access_pages_id;
		}
		for (j = 0; j != GIB / chunk; j++) {
			struct iommu_test_cmd unpin = {
				.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
				.id = create.create_access.out_access_fd,
				.destroy_access_pages = { .access_pages_id = ids[j] },
			};

			if (test_cmd(fd, &unpin))
				die("DESTROY_ACCESS_PAGES");
		}
		v[i] = now_ms() - t0;
	}
	report("access_pin_unpin_1g", v, n);
	ioas_unmap(fd, ioas, iova, GIB, NULL);
	close(create.create_access.out_access_fd);
}

static void run_mock(void)
{
	uint32_t ioas, stdev, idev, hwpt;
	uint8_t *mem;

	mem = alloc_mem(GIB, MADV_NOHUGEPAGE, 1);

	ioas = ioas_new();
	bench_access(ioas, mem);

	if (mock_domain(fd, ioas, &stdev, NULL, &idev))
		die("MOCK_DOMAIN");
	bench_map_unmap("mock_map_unmap_1g_1dom", ioas, mem, GIB);
	/* A second domain on the same IOAS, allocated explicitly. */
	if (hwpt_alloc(fd, idev, ioas, 0, &hwpt))
		die("HWPT_ALLOC");
	bench_map_unmap("mock_map_unmap_1g_2dom", ioas, mem, GIB);
	destroy(hwpt);
	destroy(stdev);
	destroy(ioas);
	munmap(mem, GIB);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr,
			"usage: iommufd_bench vtd|amd|smmuv3|mock [REPS [FILTER]]\n");
		return 2;
	}
	if (argc > 2)
		reps = atoi(argv[2]);
	if (reps < 1 || reps > MAX_REPS)
		reps = 5;
	if (argc > 3)
		filter = argv[3];

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		die("/dev/iommu");
	if (!strcmp(argv[1], "vtd"))
		run_vtd();
	else if (!strcmp(argv[1], "amd") || !strcmp(argv[1], "smmuv3"))
		run_vendor(argv[1]);
	else
		run_mock();
	close(fd);
	return 0;
}
