// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every error path, walked: each test runs a sequence of iommufd calls
 * with the Nth fault-injection point failing (an allocation through
 * failslab or fail_page_alloc, or an iommufd_should_fail() point), for N =
 * 1, 2, ... until a run reaches no Nth point. After every run the file is
 * closed and no page may be left pinned; KASAN, lockdep and kmemleak watch
 * for the rest. A clean run must succeed.
 *
 * The Nth point is counted per thread, through
 * /proc/self/task/<tid>/fail-nth.
 */
#include <dirent.h>
#include <sys/syscall.h>
#include <linux/vfio.h>

#include "iommufd_test_lib.h"

#define BASE MOCK_APERTURE_START
#define MAX_RUNS 3000

static bool write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

/* Let every allocation fail, and keep the kernel log quiet about it. */
static bool setup_fault_injection(void)
{
	DIR *dir = opendir("/sys/kernel/debug");
	struct dirent *d;

	if (!dir)
		return false;
	if (!write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N")) {
		closedir(dir);
		return false;
	}
	write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N");
	write_file("/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N");
	while ((d = readdir(dir))) {
		char path[300];

		if (strncmp(d->d_name, "fail", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/verbose",
			 d->d_name);
		write_file(path, "0");
	}
	closedir(dir);
	return true;
}

struct ctx {
	int fd;
	uint32_t ioas, ioas2;
	uint32_t stdev, idev;
	uint8_t *buf;
	size_t len;
	int memfd;
	uint8_t *fview;
};

/* What one run does with fault injection on; returns 0 or -errno. */
typedef int (*body_fn)(struct ctx *c);
/* Builds the state a run starts from (no fault injection). */
typedef int (*prep_fn)(struct ctx *c);

static int base_prep(struct ctx *c)
{
	c->fd = iofd_open();
	if (c->fd < 0)
		return -errno;
	return ioas_alloc(c->fd, &c->ioas) ?: ioas_alloc(c->fd, &c->ioas2) ?:
	       set_temp_memory_limit(c->fd, 32);
}

static int domain_prep(struct ctx *c)
{
	return base_prep(c) ?:
	       mock_domain(c->fd, c->ioas, &c->stdev, NULL, &c->idev);
}

static int mapped_prep(struct ctx *c)
{
	return domain_prep(c) ?:
	       ioas_map(c->fd, c->ioas, c->buf, c->len, BASE, RW_FLAGS);
}

/*
 * Run @body with the Nth injection point failing, N = 1, 2, ...
 * Returns the number of runs, or 0 on a harness problem.
 */
static unsigned int sweep(struct __test_metadata *_metadata, struct ctx *c,
			  prep_fn prep, body_fn body)
{
	char path[64], val[32];
	unsigned int n;
	int nth, rc;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	nth = open(path, O_RDWR);
	if (nth < 0)
		return 0;

	for (n = 1; n != MAX_RUNS; n++) {
		ssize_t got;
		int check;
		bool fired;

		c->fd = -1;
		rc = prep(c);
		if (rc) {
			TH_LOG("setting up run %u failed: %s", n, strerror(-rc));
			break;
		}
		snprintf(val, sizeof(val), "%u", n);
		if (pwrite(nth, val, strlen(val), 0) != (ssize_t)strlen(val))
			break;
		rc = body(c);
		/* Reading back can itself be the Nth point: then it fired. */
		got = pread(nth, val, sizeof(val) - 1, 0);
		fired = got <= 0 || atoi(val) == 0;
		while (pwrite(nth, "0", 1, 0) != 1)
			;

		close(c->fd);
		c->fd = iofd_open();
		check = check_pins(c->fd, c->buf, c->len, 0);
		close(c->fd);
		if (!check && vm_pinned_kb())
			check = -EBUSY;
		if (check) {
			TH_LOG("run %u left pages pinned (body said %s)", n,
			       strerror(-rc));
			break;
		}
		if (!fired) {
			close(nth);
			if (rc)
				TH_LOG("the clean run failed: %s", strerror(-rc));
			return rc ? 0 : n;
		}
	}
	close(nth);
	return 0;
}

FIXTURE(inject)
{
	struct ctx c;
};

FIXTURE_SETUP(inject)
{
	if (!setup_fault_injection())
		SKIP(return, "fault injection is not available");
	memset(&self->c, 0, sizeof(self->c));
	self->c.len = 64 * PAGE_SZ;
	self->c.buf = alloc_buffer(self->c.len);
	ASSERT_NE(NULL, self->c.buf);
	self->c.memfd = -1;
}

FIXTURE_TEARDOWN(inject)
{
	if (self->c.memfd >= 0)
		close(self->c.memfd);
}

#define SWEEP(prep, body)                                                   \
	do {                                                                \
		unsigned int __runs = sweep(_metadata, &self->c, prep, body);   \
		TH_LOG("%u runs", __runs);                                  \
		EXPECT_NE(0, __runs);                                       \
	} while (0)

/* io_pagetable.c and pages.c: map into two domains, copy, unmap. */
static int map_copy_unmap(struct ctx *c)
{
	uint32_t hwpt;
	uint64_t iova;

	return hwpt_alloc(c->fd, c->idev, c->ioas, 0, &hwpt) ?:
	       ioas_map_auto(c->fd, c->ioas, c->buf, c->len, &iova) ?:
	       ioas_copy(c->fd, c->ioas2, BASE, c->ioas, iova + PAGE_SZ,
			 8 * PAGE_SZ, RW_FLAGS) ?:
	       ioas_copy(c->fd, c->ioas, iova + c->len, c->ioas, iova,
			 4 * PAGE_SZ, RW_FLAGS) ?:
	       ioas_unmap(c->fd, c->ioas, 0, UINT64_MAX, NULL) ?:
	       obj_destroy(c->fd, hwpt);
}

TEST_F(inject, map_copy_unmap)
{
	SWEEP(domain_prep, map_copy_unmap);
}

/*
 * Domains arriving after the memory and leaving again, with two-run
 * batches: the longest sequence here. Upstream's fail_nth allows at most
 * 400 injection points for its similar map_two_domains; the count is
 * logged to keep an eye on the margin (it varies a little with what the
 * debug kernel's own bookkeeping allocates).
 */
static int domains_refill(struct ctx *c)
{
	uint32_t s1, s2;
	uint64_t iova;

	return mock_domain(c->fd, c->ioas2, &s1, NULL, NULL) ?:
	       mock_domain(c->fd, c->ioas2, &s2, NULL, NULL) ?:
	       ioas_map_auto(c->fd, c->ioas2, c->buf, c->len, &iova) ?:
	       obj_destroy(c->fd, s1) ?: obj_destroy(c->fd, s2) ?:
	       mock_domain(c->fd, c->ioas2, &s1, NULL, NULL) ?:
	       mock_domain(c->fd, c->ioas2, &s2, NULL, NULL);
}

/* Hundreds of runs: more than the default 30 s on arm64 under TCG. */
TEST_F_TIMEOUT(inject, domains_refill, 180)
{
	unsigned int runs = sweep(_metadata, &self->c, base_prep,
				  domains_refill);

	TH_LOG("%u runs", runs);
	EXPECT_NE(0, runs);
}

/* device.c and hw_pagetable.c: attach, allocate, replace, detach. */
static int attach_replace(struct ctx *c)
{
	uint32_t stdev, hwpt, pt;

	pt = c->ioas2;
	return mock_domain(c->fd, c->ioas, &stdev, NULL, NULL) ?:
	       hwpt_alloc(c->fd, c->idev, c->ioas, 0, &hwpt) ?:
	       mock_replace(c->fd, stdev, &hwpt) ?:
	       mock_replace(c->fd, stdev, &pt) ?:
	       obj_destroy(c->fd, hwpt) ?:
	       obj_destroy(c->fd, stdev);
}

TEST_F(inject, attach_replace)
{
	SWEEP(mapped_prep, attach_replace);
}

/* Accesses: pin (from a domain and from memory), read, write, unpin. */
static int access_paths(struct ctx *c)
{
	uint32_t item, item2;
	uint8_t data[300];
	int afd, rc;

	rc = access_create(c->fd, c->ioas, true, &afd);
	if (rc)
		return rc;
	rc = access_pin(c->fd, afd, BASE + PAGE_SZ, 8 * PAGE_SZ, NULL,
			&item) ?:
	     access_pin(c->fd, afd, BASE, 16 * PAGE_SZ, NULL, &item2) ?:
	     access_rw(c->fd, afd, BASE + PAGE_SZ - 100, data, sizeof(data),
		       MOCK_ACCESS_RW_WRITE) ?:
	     access_rw(c->fd, afd, BASE + 40 * PAGE_SZ - 100, data,
		       sizeof(data), MOCK_ACCESS_RW_SLOW_PATH) ?:
	     access_unpin(c->fd, afd, item) ?:
	     ioas_unmap(c->fd, c->ioas, BASE, c->len, NULL);
	close(afd);
	return rc;
}

TEST_F(inject, access_paths)
{
	SWEEP(mapped_prep, access_paths);
}

/* Accesses on an IOAS with no domain: pinning comes from memory. */
static int access_no_domain(struct ctx *c)
{
	uint8_t data[64];
	uint32_t item;
	int afd, rc;

	rc = ioas_map(c->fd, c->ioas2, c->buf, c->len, BASE, RW_FLAGS) ?:
	     access_create(c->fd, c->ioas2, true, &afd);
	if (rc)
		return rc;
	rc = access_pin(c->fd, afd, BASE, 8 * PAGE_SZ, c->buf, &item) ?:
	     access_rw(c->fd, afd, BASE + 9 * PAGE_SZ, data, sizeof(data),
		       MOCK_ACCESS_RW_SLOW_PATH) ?:
	     access_unpin(c->fd, afd, item);
	close(afd);
	return rc;
}

TEST_F(inject, access_no_domain)
{
	SWEEP(base_prep, access_no_domain);
}

static int memfd_prep(struct ctx *c)
{
	if (c->memfd < 0) {
		c->memfd = syscall(SYS_memfd_create, "inject", 0);
		if (c->memfd < 0 || ftruncate(c->memfd, 16 * PAGE_SZ))
			return -errno;
	}
	return domain_prep(c);
}

/* memfd mappings and handing their charge to this process. */
static int file_paths(struct ctx *c)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };

	return ioas_map_file(c->fd, c->ioas, c->memfd, 0, 16 * PAGE_SZ, BASE,
			     RW_FLAGS) ?:
	       ioas_map_file(c->fd, c->ioas2, c->memfd, PAGE_SZ, 4 * PAGE_SZ,
			     BASE, RW_FLAGS) ?:
	       xioctl(c->fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd) ?:
	       ioas_unmap(c->fd, c->ioas, 0, UINT64_MAX, NULL);
}

TEST_F(inject, file_paths)
{
	SWEEP(memfd_prep, file_paths);
}

/* Reserved and allowed ranges, and allocation among them. */
static int iova_ranges(struct ctx *c)
{
	struct iommu_iova_range allowed = {
		.start = BASE + 128 * PAGE_SZ,
		.last = BASE + 1024 * PAGE_SZ - 1,
	};
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = c->ioas,
		.num_iovas = 1,
		.allowed_iovas = (uintptr_t)&allowed,
	};
	struct iommu_iova_range ranges[8];
	uint64_t iova;
	int n;

	n = ioas_ranges(c->fd, c->ioas, ranges, 8, NULL);
	if (n < 0)
		return n;
	return add_reserved(c->fd, c->ioas, BASE, 64 * PAGE_SZ) ?:
	       xioctl(c->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd) ?:
	       ioas_map_auto(c->fd, c->ioas, c->buf, 8 * PAGE_SZ, &iova) ?:
	       ioas_unmap(c->fd, c->ioas, iova, 8 * PAGE_SZ, NULL);
}

TEST_F(inject, iova_ranges)
{
	SWEEP(domain_prep, iova_ranges);
}

/*
 * hw_pagetable.c, io_pagetable.c and iova_bitmap.c: a tracking HWPT filled
 * from the IOAS, switched on, marked, read with and without clearing into
 * a bitmap that crosses a page, switched off.
 */
static int dirty_paths(struct ctx *c)
{
	static uint8_t marks[64 * 2 / 8];
	uint8_t *bits = c->buf + c->len - PAGE_SZ - 5;
	uint32_t hwpt = 0;
	long marked;

	memset(marks, 0x55, sizeof(marks));
	marked = hwpt_alloc(c->fd, c->idev, c->ioas,
			    IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt) ?:
		 set_tracking(c->fd, hwpt, true) ?:
		 mark_dirty(c->fd, hwpt, BASE, c->len, MOCK_PAGE, marks);
	if (marked < 0)
		return marked;
	return read_dirty(c->fd, hwpt, BASE, c->len, 64, bits,
			  IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ?:
	       read_dirty(c->fd, hwpt, BASE, c->len, MOCK_PAGE, bits, 0) ?:
	       set_tracking(c->fd, hwpt, false) ?:
	       obj_destroy(c->fd, hwpt);
}

TEST_F(inject, dirty_paths)
{
	SWEEP(mapped_prep, dirty_paths);
}

/*
 * hw_pagetable.c, fault.c and device.c: a FAULT object, a nesting parent,
 * a nested HWPT delivering faults to it, the device moved onto it, a fault
 * raised, read and answered, an invalidation, and the way back.
 */
static int nested_fault_paths(struct ctx *c)
{
	struct iommu_hwpt_invalidate_selftest req = {};
	struct iommu_hwpt_invalidate inv = {
		.size = sizeof(inv),
		.data_uptr = (uintptr_t)&req,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(req),
		.entry_num = 1,
	};
	struct iommu_hwpt_pgfault f;
	uint32_t fault_id, parent = 0, nested = 0, pt;
	int ffd = -1, rc;

	rc = fault_alloc(c->fd, &fault_id, &ffd) ?:
	     hwpt_alloc(c->fd, c->idev, c->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
			&parent) ?:
	     mock_nested_alloc(c->fd, c->idev, parent, fault_id, &nested);
	if (rc)
		goto out;
	pt = nested;
	inv.hwpt_id = nested;
	rc = mock_replace(c->fd, c->stdev, &pt) ?:
	     trigger_iopf(c->fd, c->idev, 0, 1, 0x1000) ?:
	     xioctl(c->fd, IOMMU_HWPT_INVALIDATE, &inv);
	if (rc)
		goto out;
	if (read(ffd, &f, sizeof(f)) != sizeof(f)) {
		rc = -errno ?: -EIO;
		goto out;
	}
	pt = c->ioas;
	rc = fault_respond(ffd, f.cookie, IOMMUFD_PAGE_RESP_SUCCESS) ?:
	     mock_replace(c->fd, c->stdev, &pt) ?:
	     obj_destroy(c->fd, nested) ?: obj_destroy(c->fd, parent);
out:
	if (ffd >= 0)
		close(ffd);
	return rc;
}

/* Near 200 runs, each building a nested HWPT: as domains_refill. */
TEST_F_TIMEOUT(inject, nested_fault_paths, 180)
{
	SWEEP(mapped_prep, nested_fault_paths);
}

/*
 * vfio_compat.c, io_pagetable.c and pages.c: the type1 container on the
 * mock domain's IOAS: the capability chain, a map cut in the middle by a
 * TYPE1 unmap (area and pages split), and unmap-all.
 */
static int container_paths(struct ctx *c)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)c->buf,
		.iova = BASE,
		.size = c->len,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = BASE + 4 * PAGE_SZ,
		.size = 8 * PAGE_SZ,
	};
	struct {
		struct vfio_iommu_type1_info info;
		uint8_t caps[512];
	} info = { .info.argsz = sizeof(info) };
	struct iommu_vfio_ioas set = {
		.size = sizeof(set),
		.op = IOMMU_VFIO_IOAS_SET,
		.ioas_id = c->ioas,
	};
	int rc;

	rc = xioctl(c->fd, IOMMU_VFIO_IOAS, &set) ?:
	     xioctl(c->fd, VFIO_SET_IOMMU, (void *)VFIO_TYPE1_IOMMU) ?:
	     xioctl(c->fd, VFIO_IOMMU_GET_INFO, &info) ?:
	     xioctl(c->fd, VFIO_IOMMU_MAP_DMA, &map) ?:
	     xioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
	if (rc)
		return rc;
	unmap.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	unmap.iova = 0;
	unmap.size = 0;
	return xioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
}

TEST_F(inject, container_paths)
{
	SWEEP(domain_prep, container_paths);
}

/*
 * viommu.c, veventq.c, the PASID half of device.c and main.c's mmap
 * regions: a PASID-capable device, PASID-compatible HWPTs, a vIOMMU with
 * exported pages, a vDEVICE, a vEVENTQ with an event queued, a nested HWPT
 * on the vIOMMU, invalidation through it, two HW queues, and a PASID
 * attached, replaced and detached. What the body leaves is freed when the
 * file closes.
 */
static int viommu_paths(struct ctx *c)
{
	struct iommu_hwpt_selftest hdata = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_viommu_selftest vdata = { .in_data = 1 };
	struct iommu_viommu_invalidate_selftest inv = {
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL,
		.vdev_id = 3,
	};
	uint32_t stdev, idev, parent, s2, viommu, vdev, q, nested, hq0, hq1;
	uint32_t pt, num = 1;
	int qfd = -1, rc;

	rc = mock_domain_flags(c->fd, c->ioas, MOCK_FLAGS_DEVICE_PASID, &stdev,
			       NULL, &idev) ?:
	     hwpt_alloc(c->fd, idev, c->ioas,
			IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_PASID,
			&parent) ?:
	     hwpt_alloc(c->fd, idev, c->ioas, IOMMU_HWPT_ALLOC_PASID, &s2) ?:
	     viommu_alloc(c->fd, idev, parent, IOMMU_VIOMMU_TYPE_SELFTEST,
			  &vdata, sizeof(vdata), &viommu) ?:
	     vdevice_alloc(c->fd, viommu, idev, 3, &vdev) ?:
	     veventq_alloc(c->fd, viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, 4, &q,
			   &qfd) ?:
	     hwpt_alloc_full(c->fd, idev, viommu, IOMMU_HWPT_ALLOC_PASID, 0,
			     IOMMU_HWPT_DATA_SELFTEST, &hdata, sizeof(hdata),
			     &nested);
	if (rc)
		goto out;
	pt = nested;
	rc = mock_replace(c->fd, stdev, &pt) ?:
	     trigger_vevent(c->fd, idev) ?:
	     invalidate_any(c->fd, viommu,
			    IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, &inv,
			    sizeof(inv), &num) ?:
	     hw_queue_alloc(c->fd, viommu, IOMMU_HW_QUEUE_TYPE_SELFTEST, 0,
			    BASE, PAGE_SZ, &hq0) ?:
	     hw_queue_alloc(c->fd, viommu, IOMMU_HW_QUEUE_TYPE_SELFTEST, 1,
			    BASE + PAGE_SZ, PAGE_SZ, &hq1) ?:
	     pasid_op(c->fd, IOMMU_TEST_OP_PASID_ATTACH, stdev, 7, s2) ?:
	     pasid_op(c->fd, IOMMU_TEST_OP_PASID_REPLACE, stdev, 7, nested) ?:
	     pasid_op(c->fd, IOMMU_TEST_OP_PASID_DETACH, stdev, 7, 0) ?:
	     obj_destroy(c->fd, hq1) ?:
	     obj_destroy(c->fd, hq0);
out:
	if (qfd >= 0)
		close(qfd);
	return rc;
}

/*
 * Over 200 runs, each building a vIOMMU with all its objects: 30 s was
 * exceeded behind AMD-Vi under TCG (a make check of 2026-12-03).
 */
TEST_F_TIMEOUT(inject, viommu_paths, 180)
{
	SWEEP(mapped_prep, viommu_paths);
}

TEST_HARNESS_MAIN
