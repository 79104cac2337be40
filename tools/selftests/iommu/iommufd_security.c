// SPDX-License-Identifier: GPL-2.0-only
/*
 * Security boundaries of /dev/iommu, one fixture each:
 *
 *  bind     a device bound to one iommufd cannot be bound to another, nor
 *           be reached through a second open of its VFIO cdev or its group
 *           (QEMU's edu device; skipped where there is none);
 *  xfile    an object ID names an object of one file only: IDs of file A
 *           are ENOENT in file B, whatever the ioctl, and A is untouched;
 *  memlock  RLIMIT_MEMLOCK, per user (the default) and per process: after
 *           fork memory is charged to the process it belongs to, through
 *           whichever process pins it; IOMMU_IOAS_CHANGE_PROCESS moves the
 *           charge to its caller, all or nothing; no copy, second file,
 *           memfd, domain, HWPT or access pin gets past the limit;
 *  eventq   a FAULT fd answers only the faults it delivered, wherever the
 *           fd has gone; a vEVENTQ fd takes no writes at all;
 *  mmio     mmap() of the region a vIOMMU exports reaches that region
 *           exactly, through its own file only, and cannot be grown.
 *
 * Everything asserted is what upstream v6.17 does, errno for errno. Tests
 * that change limits or capabilities rely on the harness running each test
 * in a process of its own. Processes forked inside a test report through
 * their exit status (0, or 1 after printing the check that failed), never
 * through the harness.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include "iommufd_test_lib.h"
#include "edu_vfio.h"

#define BASE MOCK_APERTURE_START
#define LIMIT 16		/* RLIMIT_MEMLOCK, in pages */
#define KB(pages) ((long)((pages) * PAGE_SZ / 1024))
#define SELFTEST_VIOMMU IOMMU_VIOMMU_TYPE_SELFTEST
#define SELFTEST_EVENTS IOMMU_VEVENTQ_TYPE_SELFTEST
#define SELFTEST_QUEUE IOMMU_HW_QUEUE_TYPE_SELFTEST

/* A check in a forked process: report it and fail the process. */
#define CHILD_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "# child %d: line %d: %s\n",	\
				(int)getpid(), __LINE__, #cond);	\
			return 1;					\
		}							\
	} while (0)

/* Run @fn(@arg) in a child process: its exit status, -1 if it died. */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* A field of /proc/@pid/status, in KiB; -1 if it cannot be read. */
static long status_kb(pid_t pid, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return proc_kb(path, key);
}

/*
 * Whether process @pid is charged for @pages pinned pages: VmPin counts
 * them in both modes; VmLck (mm->locked_vm) only in the per-process mode,
 * which charges the mm rather than the user.
 */
static bool charged(pid_t pid, long pages, bool per_process)
{
	return status_kb(pid, "VmPin") == KB(pages) &&
	       status_kb(pid, "VmLck") == (per_process ? KB(pages) : 0);
}

static int set_memlock(unsigned long pages)
{
	struct rlimit rl = {
		.rlim_cur = pages * PAGE_SZ,
		.rlim_max = pages * PAGE_SZ,
	};

	return setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
}

/* IOMMU_GET_HW_INFO asking for no data: does @fd know DEVICE @id? */
static int hw_info(int fd, uint32_t id)
{
	struct iommu_hw_info cmd = { .size = sizeof(cmd), .dev_id = id };

	return xioctl(fd, IOMMU_GET_HW_INFO, &cmd);
}

/* =====================================================================
 * bind: one device, one iommufd. vfio-pci's cdev (6.12's VFIO, which runs
 * here, and v6.17's agree) allows a single bound open of a device (a
 * second open may exist but stays unbound and can do nothing), a bound
 * open cannot be bound again, and a device bound through its cdev keeps
 * its group closed, and the reverse.
 */

FIXTURE(bind)
{
	int a, b;		/* two iommufd files */
	struct edu edu;		/* edu 0 through its cdev, bound to a */
	char cdev[300];
};

FIXTURE_SETUP(bind)
{
	int rc;

	self->edu.device_fd = -1;
	self->a = iofd_open();
	ASSERT_LE(0, self->a);
	self->b = iofd_open();
	ASSERT_LE(0, self->b);
	rc = edu_find_cdev(0, self->cdev, sizeof(self->cdev));
	if ((rc == -ENODEV || rc == -ENOENT) && !getenv("IOMMUFD_EXPECT_IOMMU"))
		SKIP(return, "no edu device bound to vfio-pci");
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, edu_open(&self->edu, 0, self->a));
}

FIXTURE_TEARDOWN(bind)
{
	edu_close(&self->edu);
	close(self->a);
	close(self->b);
}

/* The group node of edu 0. */
static int edu0_group(char *path, size_t len)
{
	char bdf[64];
	int rc = edu_find_bdf(0, bdf, sizeof(bdf));

	return rc ? rc : edu_group_path(bdf, path, len);
}

TEST_F(bind, second_open_cannot_bind_anywhere)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
	struct vfio_device_info info = { .argsz = sizeof(info) };
	uint32_t id = 0, ioas;
	int dev2;

	ASSERT_EQ(0, ioas_alloc(self->b, &ioas));
	dev2 = open(self->cdev, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev2);
	EXPECT_EQ(-EINVAL, edu_bind(dev2, self->b, &id));
	EXPECT_EQ(-EINVAL, edu_bind(dev2, self->a, &id));
	EXPECT_EQ(0, id);

	/* Unbound, the second open reaches nothing of the device. */
	attach.pt_id = ioas;
	EXPECT_EQ(-EINVAL, xioctl(dev2, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
				  &attach));
	EXPECT_EQ(-EINVAL, xioctl(dev2, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(-1, pread(dev2, &id, sizeof(id), self->edu.config_offset));
	EXPECT_EQ(EINVAL, errno);
	close(dev2);

	/* The device is still a's, and never was b's. */
	EXPECT_EQ(0, hw_info(self->a, self->edu.devid));
	EXPECT_EQ(-ENOENT, hw_info(self->b, self->edu.devid));
}

TEST_F(bind, bound_open_cannot_rebind)
{
	uint8_t *buf = alloc_buffer(2 * PAGE_SZ);
	uint32_t id = 0, ioas_a, ioas_b, pt, unused;
	unsigned int i;

	ASSERT_NE(NULL, buf);
	EXPECT_EQ(-EINVAL, edu_bind(self->edu.device_fd, self->b, &id));
	EXPECT_EQ(-EINVAL, edu_bind(self->edu.device_fd, self->a, &id));
	EXPECT_EQ(0, id);
	EXPECT_EQ(-ENOENT, hw_info(self->b, self->edu.devid));

	/*
	 * Attaching names a page table of the bound file: an IOAS ID of b
	 * that a does not have is ENOENT (b's IDs are pushed past a's).
	 */
	for (i = 0; i != 8; i++)
		ASSERT_EQ(0, ioas_alloc(self->b, &unused));
	ASSERT_EQ(0, ioas_alloc(self->b, &ioas_b));
	ASSERT_EQ(0, ioas_map(self->b, ioas_b, buf, 2 * PAGE_SZ, 0x100000,
			      RW_FLAGS));
	pt = ioas_b;
	EXPECT_EQ(-ENOENT, edu_attach(&self->edu, &pt));

	/* a's own IOAS works: a round trip of DMA through it. */
	ASSERT_EQ(0, ioas_alloc(self->a, &ioas_a));
	ASSERT_NE(ioas_a, ioas_b);
	ASSERT_EQ(0, ioas_map(self->a, ioas_a, buf, 2 * PAGE_SZ, 0x100000,
			      RW_FLAGS));
	pt = ioas_a;
	ASSERT_EQ(0, edu_attach(&self->edu, &pt));
	ASSERT_EQ(0, edu_enable_dma(&self->edu));
	memset(buf, 0x5a, 64);
	memset(buf + PAGE_SZ, 0, 64);
	ASSERT_EQ(0, edu_dma_from_ram(&self->edu, 0x100000, 64));
	ASSERT_EQ(0, edu_dma_to_ram(&self->edu, 0x100000 + PAGE_SZ, 64));
	EXPECT_EQ(0, memcmp(buf, buf + PAGE_SZ, 64));
	ASSERT_EQ(0, edu_detach(&self->edu));
}

/* The group and the cdev exclude each other, either way round. */
TEST_F(bind, group_and_cdev_exclude_each_other)
{
	char group[300];
	uint32_t id;
	int gfd, dev2;

	ASSERT_EQ(0, edu0_group(group, sizeof(group)));
	EXPECT_EQ(-1, open(group, O_RDWR | O_CLOEXEC));
	EXPECT_EQ(EBUSY, errno);

	/* Unbound now: the group may be opened, and then no cdev binds. */
	edu_close(&self->edu);
	EXPECT_EQ(-ENOENT, hw_info(self->a, self->edu.devid));
	gfd = open(group, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, gfd);
	dev2 = open(self->cdev, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev2);
	EXPECT_EQ(-EBUSY, edu_bind(dev2, self->b, &id));
	close(gfd);
	EXPECT_EQ(0, edu_bind(dev2, self->b, &id));
	close(dev2);
}

/* Once its bound open is closed the device may go to another file. */
TEST_F(bind, closed_device_moves_to_another_file)
{
	uint32_t id;
	int dev2;

	dev2 = open(self->cdev, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev2);
	EXPECT_EQ(-EINVAL, edu_bind(dev2, self->b, &id));
	edu_close(&self->edu);
	/* Unbound from a with the close: its ID there is gone. */
	EXPECT_EQ(-ENOENT, hw_info(self->a, self->edu.devid));
	ASSERT_EQ(0, edu_bind(dev2, self->b, &id));
	EXPECT_EQ(0, hw_info(self->b, id));
	EXPECT_EQ(-EBUSY, obj_destroy(self->b, id));
	close(dev2);
	EXPECT_EQ(-ENOENT, hw_info(self->b, id));
}

/* Only an open /dev/iommu binds: anything else is EBADFD, EBADF, EINVAL. */
TEST_F(bind, bind_needs_an_iommufd)
{
	uint32_t fault_id, id = 0;
	int dev2, mfd, ffd;

	dev2 = open(self->cdev, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev2);
	mfd = make_memfd(PAGE_SZ, 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, fault_alloc(self->b, &fault_id, &ffd));

	EXPECT_EQ(-EBADFD, edu_bind(dev2, mfd, &id));
	/* A FAULT fd comes from an iommufd, but is none. */
	EXPECT_EQ(-EBADFD, edu_bind(dev2, ffd, &id));
	EXPECT_EQ(-EBADFD, edu_bind(dev2, self->edu.device_fd, &id));
	close(mfd);
	EXPECT_EQ(-EBADF, edu_bind(dev2, mfd, &id));
	EXPECT_EQ(-EINVAL, edu_bind(dev2, -1, &id));
	EXPECT_EQ(0, id);
	close(ffd);
	close(dev2);
	EXPECT_EQ(0, hw_info(self->a, self->edu.devid));
}

/* =====================================================================
 * xfile: object IDs are per file. File a holds one object of every kind
 * (and, unseen by user space, the access object of a mock access); file b
 * holds its own. Each file numbers its objects from 1, so a allocates
 * spare IOASes first to put every ID of its objects above all of b's.
 */

struct objs {
	uint32_t ioas, stdev, hwpt, idev, parent, viommu, nested, vdev;
	uint32_t fault, fault_hwpt, veventq, hw_queue;
	int ffd, qfd, afd;
};

static int build_objs(int fd, struct objs *o, void *buf, bool all)
{
	int rc;

	o->ffd = -1;
	o->qfd = -1;
	o->afd = -1;
	rc = ioas_alloc(fd, &o->ioas) ?:
	     mock_domain(fd, o->ioas, &o->stdev, &o->hwpt, &o->idev) ?:
	     ioas_map(fd, o->ioas, buf, 4 * PAGE_SZ, BASE, RW_FLAGS) ?:
	     hwpt_alloc(fd, o->idev, o->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
			&o->parent) ?:
	     viommu_alloc(fd, o->idev, o->parent, SELFTEST_VIOMMU, NULL, 0,
			  &o->viommu);
	if (rc || !all)
		return rc;
	return mock_nested_alloc(fd, o->idev, o->viommu, 0, &o->nested) ?:
	       vdevice_alloc(fd, o->viommu, o->idev, 0x42, &o->vdev) ?:
	       veventq_alloc(fd, o->viommu, SELFTEST_EVENTS, 4, &o->veventq,
			     &o->qfd) ?:
	       hw_queue_alloc(fd, o->viommu, SELFTEST_QUEUE, 0, BASE, PAGE_SZ,
			      &o->hw_queue) ?:
	       fault_alloc(fd, &o->fault, &o->ffd) ?:
	       hwpt_alloc_full(fd, o->idev, o->ioas, IOMMU_HWPT_FAULT_ID_VALID,
			       o->fault, IOMMU_HWPT_DATA_NONE, NULL, 0,
			       &o->fault_hwpt) ?:
	       access_create(fd, o->ioas, true, &o->afd);
}

FIXTURE(xfile)
{
	int a, b;
	struct objs oa, ob;
	uint8_t *buf;
	int mfd;
};

FIXTURE_SETUP(xfile)
{
	unsigned int i;
	uint32_t spare;

	self->a = iofd_open();
	ASSERT_LE(0, self->a);
	self->b = iofd_open();
	ASSERT_LE(0, self->b);
	self->buf = alloc_buffer(8 * PAGE_SZ);
	ASSERT_NE(NULL, self->buf);
	self->mfd = make_memfd(PAGE_SZ, 0);
	ASSERT_LE(0, self->mfd);

	ASSERT_EQ(0, build_objs(self->b, &self->ob, self->buf + 4 * PAGE_SZ,
				false));
	for (i = 0; i != 16; i++)
		ASSERT_EQ(0, ioas_alloc(self->a, &spare));
	ASSERT_EQ(0, build_objs(self->a, &self->oa, self->buf, true));
	ASSERT_LT(self->ob.viommu, self->oa.ioas);
}

FIXTURE_TEARDOWN(xfile)
{
	if (self->oa.afd >= 0)
		close(self->oa.afd);
	if (self->oa.ffd >= 0)
		close(self->oa.ffd);
	if (self->oa.qfd >= 0)
		close(self->oa.qfd);
	close(self->a);
	close(self->b);
	close(self->mfd);
}

/* Whether @id names one of b's objects. */
static bool is_b_object(const struct objs *ob, uint32_t id)
{
	return id == ob->ioas || id == ob->stdev || id == ob->hwpt ||
	       id == ob->idev || id == ob->parent || id == ob->viommu;
}

/*
 * Every ioctl that takes an object ID, given in file b an ID that is not
 * b's: ENOENT. @id runs over all of a's IDs, known or not. Returns how
 * many calls did not give ENOENT.
 */
static int foreign_id_calls(struct __test_metadata *_metadata,
			    FIXTURE_DATA(xfile) *self, uint32_t id)
{
	const struct objs *ob = &self->ob;
	struct iommu_vfio_ioas vfio = {
		.size = sizeof(vfio),
		.ioas_id = id,
		.op = IOMMU_VFIO_IOAS_SET,
	};
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow),
		.ioas_id = id,
	};
	struct iommu_iova_range range;
	uint64_t val = 0, bits = 0;
	uint32_t out, num = 0;
	int bad = 0, afd;

#define FOREIGN(call)							\
	do {								\
		int __rc = (call);					\
									\
		if (__rc != -ENOENT) {					\
			TH_LOG("id %u: %s gave %d", id, #call, __rc);	\
			bad++;						\
		}							\
	} while (0)

	FOREIGN(obj_destroy(self->b, id));
	/* IOAS ioctls */
	FOREIGN(ioas_map(self->b, id, self->buf, PAGE_SZ, BASE, RW_FLAGS));
	FOREIGN(ioas_map_file(self->b, id, self->mfd, 0, PAGE_SZ, BASE,
			      RW_FLAGS));
	FOREIGN(ioas_unmap(self->b, id, BASE, PAGE_SZ, NULL));
	FOREIGN(ioas_unmap(self->b, id, 0, UINT64_MAX, NULL));
	FOREIGN(ioas_ranges(self->b, id, &range, 1, NULL));
	FOREIGN(xioctl(self->b, IOMMU_IOAS_ALLOW_IOVAS, &allow));
	FOREIGN(ioas_copy(self->b, ob->ioas, BASE + 64 * PAGE_SZ, id, BASE,
			  PAGE_SZ, RW_FLAGS));
	FOREIGN(ioas_copy(self->b, id, BASE + 64 * PAGE_SZ, ob->ioas, BASE,
			  PAGE_SZ, RW_FLAGS));
	FOREIGN(option(self->b, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
		       id, &val));
	FOREIGN(xioctl(self->b, IOMMU_VFIO_IOAS, &vfio));
	/* devices and HWPTs */
	FOREIGN(hw_info(self->b, id));
	FOREIGN(hwpt_alloc(self->b, id, ob->ioas, 0, &out));
	FOREIGN(hwpt_alloc(self->b, ob->idev, id, 0, &out));
	FOREIGN(hwpt_alloc_full(self->b, ob->idev, ob->ioas,
				IOMMU_HWPT_FAULT_ID_VALID, id,
				IOMMU_HWPT_DATA_NONE, NULL, 0, &out));
	FOREIGN(set_tracking(self->b, id, false));
	FOREIGN(read_dirty(self->b, id, BASE, PAGE_SZ, PAGE_SZ, &bits, 0));
	FOREIGN(invalidate_any(self->b, id, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
			       NULL, 0, &num));
	/* vIOMMU family */
	FOREIGN(viommu_alloc(self->b, id, ob->parent, SELFTEST_VIOMMU, NULL, 0,
			     &out));
	FOREIGN(viommu_alloc(self->b, ob->idev, id, SELFTEST_VIOMMU, NULL, 0,
			     &out));
	FOREIGN(vdevice_alloc(self->b, id, ob->idev, 0x99, &out));
	FOREIGN(vdevice_alloc(self->b, ob->viommu, id, 0x99, &out));
	FOREIGN(veventq_alloc(self->b, id, SELFTEST_EVENTS, 2, &out, &afd));
	FOREIGN(hw_queue_alloc(self->b, id, SELFTEST_QUEUE, 0, BASE, PAGE_SZ,
			       &out));
	/* the selftest's own commands */
	FOREIGN(mock_domain(self->b, id, NULL, NULL, NULL));
	FOREIGN(check_map(self->b, id, BASE, PAGE_SZ, self->buf));
	FOREIGN(access_create(self->b, id, true, &afd));
	FOREIGN(trigger_iopf(self->b, id, 0, 1, BASE));
	FOREIGN(trigger_vevent(self->b, id));
	out = ob->ioas;
	FOREIGN(mock_replace(self->b, id, &out));
	out = id;
	FOREIGN(mock_replace(self->b, ob->stdev, &out));
#undef FOREIGN
	return bad;
}

TEST_F(xfile, ids_of_another_file_are_enoent)
{
	const struct objs *oa = &self->oa;
	const uint32_t named[] = {
		oa->ioas, oa->stdev, oa->hwpt, oa->idev, oa->parent,
		oa->viommu, oa->nested, oa->vdev, oa->fault, oa->fault_hwpt,
		oa->veventq, oa->hw_queue,
	};
	struct iommu_iova_range before[8], after[8];
	uint32_t id, max = 0;
	unsigned int i;
	int n;

	for (i = 0; i != ARRAY_LEN(named); i++) {
		ASSERT_FALSE(is_b_object(&self->ob, named[i]));
		if (named[i] > max)
			max = named[i];
	}
	n = ioas_ranges(self->a, oa->ioas, before, ARRAY_LEN(before), NULL);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, ioas_map(self->b, self->ob.ioas, self->buf + 4 * PAGE_SZ,
			      PAGE_SZ, BASE + 32 * PAGE_SZ, RW_FLAGS));

	/*
	 * Every ID a's objects may have, up to a few past the last. (The
	 * spare IOASes below them are a's too, but their numbers are free
	 * in b, and some calls there, MOCK_DOMAIN for one, give them to
	 * objects of their own for a moment.)
	 */
	for (id = oa->ioas; id <= max + 4; id++)
		if (!is_b_object(&self->ob, id))
			EXPECT_EQ(0, foreign_id_calls(_metadata, self, id));

	/* Nothing of a changed: its mappings, ranges and pins. */
	EXPECT_EQ(0, check_map(self->a, oa->hwpt, BASE, 4 * PAGE_SZ,
			       self->buf));
	EXPECT_EQ(n, ioas_ranges(self->a, oa->ioas, after, ARRAY_LEN(after),
				 NULL));
	EXPECT_EQ(0, memcmp(before, after, n * sizeof(before[0])));
	EXPECT_EQ(0, check_pins(self->a, self->buf, 4 * PAGE_SZ, 1));
	/* b gained nothing either: its mapping stays where it was put. */
	EXPECT_EQ(0, check_map(self->b, self->ob.hwpt, BASE + 32 * PAGE_SZ,
			       PAGE_SZ, self->buf + 4 * PAGE_SZ));

	/* Every object of a is still there: each destroys exactly once. */
	close(self->oa.qfd);
	self->oa.qfd = -1;
	close(self->oa.ffd);
	self->oa.ffd = -1;
	close(self->oa.afd);
	self->oa.afd = -1;
	EXPECT_EQ(0, obj_destroy(self->a, oa->hw_queue));
	EXPECT_EQ(0, obj_destroy(self->a, oa->veventq));
	EXPECT_EQ(0, obj_destroy(self->a, oa->vdev));
	EXPECT_EQ(0, obj_destroy(self->a, oa->nested));
	EXPECT_EQ(0, obj_destroy(self->a, oa->viommu));
	EXPECT_EQ(0, obj_destroy(self->a, oa->parent));
	EXPECT_EQ(0, obj_destroy(self->a, oa->fault_hwpt));
	EXPECT_EQ(0, obj_destroy(self->a, oa->fault));
	EXPECT_EQ(0, obj_destroy(self->a, oa->stdev));
	EXPECT_EQ(0, obj_destroy(self->a, oa->ioas));
	for (i = 0; i != ARRAY_LEN(named); i++)
		EXPECT_EQ(-ENOENT, obj_destroy(self->a, named[i]));
}

/* The same number in two files names two unrelated objects. */
TEST_F(xfile, same_number_other_object)
{
	int c = iofd_open(), d = iofd_open();
	uint32_t ioas_c, ioas_d, hwpt_c, hwpt_d;
	uint64_t done;

	ASSERT_LE(0, c);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, ioas_alloc(c, &ioas_c));
	ASSERT_EQ(0, ioas_alloc(d, &ioas_d));
	ASSERT_EQ(ioas_c, ioas_d);
	ASSERT_EQ(0, mock_domain(c, ioas_c, NULL, &hwpt_c, NULL));
	ASSERT_EQ(0, mock_domain(d, ioas_d, NULL, &hwpt_d, NULL));

	ASSERT_EQ(0, ioas_map(d, ioas_d, self->buf, 2 * PAGE_SZ, BASE,
			      RW_FLAGS));
	EXPECT_EQ(-ENOENT, ioas_unmap(c, ioas_c, BASE, 2 * PAGE_SZ, NULL));
	EXPECT_EQ(-ENOENT, ioas_copy(c, ioas_c, BASE + 8 * PAGE_SZ, ioas_c,
				     BASE, PAGE_SZ, RW_FLAGS));
	ASSERT_EQ(0, ioas_map(c, ioas_c, self->buf + 2 * PAGE_SZ, 2 * PAGE_SZ,
			      BASE, RW_FLAGS));
	EXPECT_EQ(0, check_map(c, hwpt_c, BASE, 2 * PAGE_SZ,
			       self->buf + 2 * PAGE_SZ));
	EXPECT_EQ(0, check_map(d, hwpt_d, BASE, 2 * PAGE_SZ, self->buf));
	ASSERT_EQ(0, ioas_unmap(d, ioas_d, 0, UINT64_MAX, &done));
	EXPECT_EQ(2 * PAGE_SZ, done);
	EXPECT_EQ(0, check_map(c, hwpt_c, BASE, 2 * PAGE_SZ,
			       self->buf + 2 * PAGE_SZ));
	close(c);
	close(d);
}

/*
 * A mock access is reached through its own fd, so the selftest command
 * may arrive through any file; the IOAS it moves to is still looked up in
 * the access's file, never in the one the command came through.
 */
TEST_F(xfile, access_stays_in_its_file)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
		.id = self->oa.afd,
	};
	uint32_t item, ioas_b, used_by_a;

	/* An IOAS of b whose number a has not given out. */
	ASSERT_EQ(0, ioas_alloc(self->a, &used_by_a));
	do {
		ASSERT_EQ(0, ioas_alloc(self->b, &ioas_b));
	} while (ioas_b <= used_by_a + 4);
	cmd.access_replace_ioas.ioas_id = ioas_b;
	EXPECT_EQ(-ENOENT, test_cmd(self->a, &cmd));
	EXPECT_EQ(-ENOENT, test_cmd(self->b, &cmd));
	/* Still on a's IOAS: it pins a's memory at a's IOVA. */
	ASSERT_EQ(0, access_pin(self->a, self->oa.afd, BASE, 2 * PAGE_SZ,
				self->buf, &item));
	EXPECT_EQ(0, access_unpin(self->a, self->oa.afd, item));
}

/* =====================================================================
 * memlock: RLIMIT_MEMLOCK of LIMIT pages, CAP_IPC_LOCK dropped, in both
 * accounting modes. The per-user mode charges user->locked_vm against the
 * limit of the process that owns the memory; the per-process mode charges
 * that process's mm->locked_vm (VmLck), which mlock() uses too. Either way
 * the owner is the process that mapped the memory, and stays so until an
 * IOMMU_IOAS_CHANGE_PROCESS: whoever pins later pins for the owner.
 */

FIXTURE(memlock)
{
	int fd;
	uint32_t ioas;		/* with a mock domain */
	uint32_t stdev, hwpt, idev;
	uint8_t *buf;
	size_t len;
	int mfd;
};

FIXTURE_VARIANT(memlock)
{
	bool per_process;	/* IOMMU_OPTION_RLIMIT_MODE 1 */
};

FIXTURE_VARIANT_ADD(memlock, per_user)
{
	.per_process = false,
};

FIXTURE_VARIANT_ADD(memlock, per_process)
{
	.per_process = true,
};

/* A new file in the variant's mode; CAP_SYS_RESOURCE is still there. */
static int memlock_file(bool per_process)
{
	uint64_t mode = per_process;
	int fd = iofd_open();

	if (fd < 0)
		return -errno;
	if (option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0,
		   &mode)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

FIXTURE_SETUP(memlock)
{
	self->mfd = -1;
	self->fd = memlock_file(variant->per_process);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, drop_cap(CAP_IPC_LOCK));
	ASSERT_EQ(0, set_memlock(LIMIT));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &self->stdev,
				 &self->hwpt, &self->idev));
	self->len = 8 * LIMIT * PAGE_SZ;
	self->buf = alloc_buffer(self->len);
	ASSERT_NE(NULL, self->buf);
	ASSERT_TRUE(charged(getpid(), 0, variant->per_process));
}

FIXTURE_TEARDOWN(memlock)
{
	if (self->mfd >= 0)
		close(self->mfd);
	close(self->fd);
	self->fd = iofd_open();
	EXPECT_EQ(0, check_pins(self->fd, self->buf, self->len, 0));
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));
	close(self->fd);
}

/* A memfd of @pages pages in self->mfd, mapped at BASE into self->ioas. */
static int map_memfd(FIXTURE_DATA(memlock) *self, unsigned long pages)
{
	self->mfd = make_memfd(pages * PAGE_SZ, 0);
	if (self->mfd < 0)
		return self->mfd;
	return ioas_map_file(self->fd, self->ioas, self->mfd, 0,
			     pages * PAGE_SZ, BASE, RW_FLAGS);
}

/* ---- after fork ---------------------------------------------------- */

struct fork_args {
	FIXTURE_DATA(memlock) *self;
	bool per_process;
	uint32_t ioas;		/* mapped, without a domain */
	uint32_t stdev, hwpt;	/* out */
	int to_parent[2], to_child[2];
};

static int attach_for_parent(void *arg)
{
	struct fork_args *f = arg;

	/* The parent's memory is pinned, and charged to the parent. */
	CHILD_CHECK(!mock_domain(f->self->fd, f->ioas, &f->stdev, &f->hwpt,
				 NULL));
	CHILD_CHECK(charged(getpid(), 0, f->per_process));
	CHILD_CHECK(charged(getppid(), 4, f->per_process));
	return 0;
}

TEST_F(memlock, child_pins_parent_memory_for_the_parent)
{
	struct fork_args *f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, f);
	f->self = self;
	f->per_process = variant->per_process;
	ASSERT_EQ(0, ioas_alloc(self->fd, &f->ioas));
	ASSERT_EQ(0, ioas_map(self->fd, f->ioas, self->buf, 4 * PAGE_SZ, BASE,
			      RW_FLAGS));
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));

	ASSERT_EQ(0, in_child(attach_for_parent, f));
	/* The domain the child made maps this process's pages. */
	EXPECT_TRUE(charged(getpid(), 4, variant->per_process));
	EXPECT_EQ(0, check_map(self->fd, f->hwpt, BASE, 4 * PAGE_SZ,
			       self->buf));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 4 * PAGE_SZ, 1));
	ASSERT_EQ(0, obj_destroy(self->fd, f->stdev));
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));
	munmap(f, sizeof(*f));
}

static int pin_beyond_parent_limit(void *arg)
{
	struct fork_args *f = arg;
	uint8_t *mine = f->self->buf + 2 * LIMIT * PAGE_SZ;
	int fd = f->self->fd;
	uint32_t ioas = f->self->ioas;

	/* A limit of its own, four times the parent's, changes nothing. */
	CHILD_CHECK(!set_memlock(4 * LIMIT));
	CHILD_CHECK(mock_domain(fd, f->ioas, NULL, NULL, NULL) == -ENOMEM);
	CHILD_CHECK(charged(getpid(), 0, f->per_process));
	CHILD_CHECK(charged(getppid(), 0, f->per_process));
	/* Its own memory is its own to pin, up to its own limit. */
	CHILD_CHECK(!ioas_map(fd, ioas, mine, 2 * LIMIT * PAGE_SZ, BASE, RW_FLAGS));
	CHILD_CHECK(charged(getpid(), 2 * LIMIT, f->per_process));
	CHILD_CHECK(charged(getppid(), 0, f->per_process));
	CHILD_CHECK(!ioas_unmap(fd, ioas, BASE, 2 * LIMIT * PAGE_SZ, NULL));
	CHILD_CHECK(charged(getpid(), 0, f->per_process));
	return 0;
}

TEST_F(memlock, child_cannot_spend_its_limit_on_parent_memory)
{
	struct fork_args f = {
		.self = self,
		.per_process = variant->per_process,
	};

	ASSERT_EQ(0, ioas_alloc(self->fd, &f.ioas));
	ASSERT_EQ(0, ioas_map(self->fd, f.ioas, self->buf, 2 * LIMIT * PAGE_SZ,
			      BASE, RW_FLAGS));
	ASSERT_EQ(0, in_child(pin_beyond_parent_limit, &f));
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, self->len, 0));
}

/*
 * The child takes the charge for the file's memfd pages and tells the
 * parent; the parent takes it back while the child is still alive (as a
 * VMM handing over during a live update does) and tells the child.
 */
static int take_charge(void *arg)
{
	struct fork_args *f = arg;
	char c = 'y';

	/* Only the parent's ends: should the parent die, read() sees EOF. */
	close(f->to_parent[0]);
	close(f->to_child[1]);
	CHILD_CHECK(!change_process(f->self->fd));
	CHILD_CHECK(charged(getpid(), 4, f->per_process));
	CHILD_CHECK(charged(getppid(), 0, f->per_process));
	CHILD_CHECK(write(f->to_parent[1], &c, 1) == 1);
	CHILD_CHECK(read(f->to_child[0], &c, 1) == 1);
	CHILD_CHECK(charged(getpid(), 0, f->per_process));
	return 0;
}

TEST_F(memlock, change_process_moves_the_charge)
{
	struct fork_args f = {
		.self = self,
		.per_process = variant->per_process,
	};
	int status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, map_memfd(self, 4));
	EXPECT_TRUE(charged(getpid(), 4, variant->per_process));
	ASSERT_EQ(0, pipe(f.to_parent));
	ASSERT_EQ(0, pipe(f.to_child));

	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(take_charge(&f));
	ASSERT_EQ(1, read(f.to_parent[0], &c, 1));
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));
	EXPECT_TRUE(charged(pid, 4, variant->per_process));
	EXPECT_EQ(0, change_process(self->fd));
	EXPECT_TRUE(charged(getpid(), 4, variant->per_process));
	EXPECT_TRUE(charged(pid, 0, variant->per_process));
	ASSERT_EQ(1, write(f.to_child[1], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, NULL));
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));
}

static int change_refused(void *arg)
{
	struct fork_args *f = arg;

	CHILD_CHECK(change_process(f->self->fd) == -EINVAL);
	CHILD_CHECK(charged(getpid(), 0, f->per_process));
	CHILD_CHECK(charged(getppid(), 4, f->per_process));
	return 0;
}

/*
 * Memory mapped by address belongs to its process's address space, so
 * the charge cannot move while any such mapping exists in any IOAS of the
 * file, even one that pins nothing.
 */
TEST_F(memlock, change_process_refuses_address_mappings)
{
	struct fork_args f = {
		.self = self,
		.per_process = variant->per_process,
	};

	ASSERT_EQ(0, map_memfd(self, 4));
	ASSERT_EQ(0, ioas_alloc(self->fd, &f.ioas));
	ASSERT_EQ(0, ioas_map(self->fd, f.ioas, self->buf, PAGE_SZ, BASE,
			      RW_FLAGS));
	ASSERT_EQ(0, in_child(change_refused, &f));
	EXPECT_TRUE(charged(getpid(), 4, variant->per_process));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, NULL));
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));
}

static int change_over_limit(void *arg)
{
	struct fork_args *f = arg;

	CHILD_CHECK(!set_memlock(3));
	CHILD_CHECK(change_process(f->self->fd) == -ENOMEM);
	CHILD_CHECK(charged(getpid(), 0, f->per_process));
	CHILD_CHECK(charged(getppid(), 4, f->per_process));
	return 0;
}

TEST_F(memlock, change_process_over_the_limit_changes_nothing)
{
	struct fork_args f = {
		.self = self,
		.per_process = variant->per_process,
	};

	ASSERT_EQ(0, map_memfd(self, 4));
	ASSERT_EQ(0, in_child(change_over_limit, &f));
	EXPECT_TRUE(charged(getpid(), 4, variant->per_process));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, NULL));
}

/*
 * The owner calling it again has nothing to move: nothing is charged a
 * second time, so it works well past half the limit.
 */
TEST_F(memlock, change_process_by_the_owner_changes_nothing)
{
	ASSERT_EQ(0, map_memfd(self, 3 * LIMIT / 4));
	EXPECT_TRUE(charged(getpid(), 3 * LIMIT / 4, variant->per_process));
	EXPECT_EQ(0, change_process(self->fd));
	EXPECT_TRUE(charged(getpid(), 3 * LIMIT / 4, variant->per_process));
	/* The room left is what it was. */
	EXPECT_EQ(0, ioas_map(self->fd, self->ioas, self->buf,
			      LIMIT / 4 * PAGE_SZ, BASE + LIMIT * PAGE_SZ,
			      RW_FLAGS));
	EXPECT_EQ(-ENOMEM, ioas_map(self->fd, self->ioas,
				    self->buf + LIMIT * PAGE_SZ, PAGE_SZ,
				    BASE + 2 * LIMIT * PAGE_SZ, RW_FLAGS));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, NULL));
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));
}

/* ---- bypass attempts ----------------------------------------------- */

/* A copy into an IOAS with a domain pins there, within the limit. */
TEST_F(memlock, copy_into_a_domain_is_charged)
{
	uint32_t src;

	ASSERT_EQ(0, ioas_alloc(self->fd, &src));
	ASSERT_EQ(0, ioas_map(self->fd, src, self->buf, 2 * LIMIT * PAGE_SZ,
			      BASE, RW_FLAGS));
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));
	EXPECT_EQ(-ENOMEM, ioas_copy(self->fd, self->ioas, BASE, src, BASE,
				     2 * LIMIT * PAGE_SZ, RW_FLAGS));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 2 * LIMIT * PAGE_SZ, 0));
	EXPECT_EQ(-ENOENT, ioas_unmap(self->fd, self->ioas, BASE, PAGE_SZ,
				      NULL));
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));

	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas, BASE, src, BASE,
			       LIMIT * PAGE_SZ, RW_FLAGS));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));
	EXPECT_EQ(-ENOMEM, ioas_copy(self->fd, self->ioas,
				     BASE + LIMIT * PAGE_SZ, src,
				     BASE + LIMIT * PAGE_SZ, PAGE_SZ,
				     RW_FLAGS));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));
}

/* Pins shared by a copy stay charged while any holder keeps them. */
TEST_F(memlock, copy_keeps_the_charge_until_the_last_holder)
{
	uint32_t ioas2, hwpt2;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf,
			      LIMIT * PAGE_SZ, BASE, RW_FLAGS));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, &hwpt2, NULL));
	ASSERT_EQ(0, ioas_copy(self->fd, ioas2, BASE, self->ioas, BASE,
			       LIMIT * PAGE_SZ, RW_FLAGS));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE, LIMIT * PAGE_SZ,
				NULL));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));
	EXPECT_EQ(0, check_map(self->fd, hwpt2, BASE, LIMIT * PAGE_SZ,
			       self->buf));
	EXPECT_EQ(-ENOMEM, ioas_map(self->fd, self->ioas,
				    self->buf + LIMIT * PAGE_SZ, PAGE_SZ, BASE,
				    RW_FLAGS));

	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, BASE, LIMIT * PAGE_SZ, NULL));
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));
	EXPECT_EQ(0, ioas_map(self->fd, self->ioas,
			      self->buf + LIMIT * PAGE_SZ, PAGE_SZ, BASE,
			      RW_FLAGS));
}

/* Another file cannot share pins: mapping the same memory charges again. */
TEST_F(memlock, same_memory_in_another_file)
{
	int other = memlock_file(variant->per_process);
	uint32_t ioas2;

	ASSERT_LE(0, other);
	ASSERT_EQ(0, ioas_alloc(other, &ioas2));
	ASSERT_EQ(0, mock_domain(other, ioas2, NULL, NULL, NULL));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf,
			      LIMIT * PAGE_SZ, BASE, RW_FLAGS));
	EXPECT_EQ(-ENOMEM, ioas_map(other, ioas2, self->buf, PAGE_SZ, BASE,
				    RW_FLAGS));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, LIMIT * PAGE_SZ, 1));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE, LIMIT * PAGE_SZ,
				NULL));
	EXPECT_EQ(0, ioas_map(other, ioas2, self->buf, LIMIT * PAGE_SZ, BASE,
			      RW_FLAGS));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));
	close(other);
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));
}

/* Many files of one process share its one limit. */
TEST_F(memlock, many_files_share_one_limit)
{
	const unsigned long quarter = LIMIT / 4;
	int fds[8];
	unsigned int i;

	for (i = 0; i != ARRAY_LEN(fds); i++) {
		uint32_t ioas;

		fds[i] = memlock_file(variant->per_process);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, ioas_alloc(fds[i], &ioas));
		ASSERT_EQ(0, mock_domain(fds[i], ioas, NULL, NULL, NULL));
		EXPECT_EQ(i < 4 ? 0 : -ENOMEM,
			  ioas_map(fds[i], ioas,
				   self->buf + i * quarter * PAGE_SZ,
				   quarter * PAGE_SZ, BASE, RW_FLAGS));
	}
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));
	for (i = 0; i != ARRAY_LEN(fds); i++)
		close(fds[i]);
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));
}

static int map_one_more(void *arg)
{
	struct fork_args *f = arg;
	uint8_t *mine = f->self->buf + 2 * LIMIT * PAGE_SZ;
	uint32_t ioas;
	int fd;

	fd = memlock_file(f->per_process);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(!ioas_alloc(fd, &ioas));
	CHILD_CHECK(!mock_domain(fd, ioas, NULL, NULL, NULL));
	if (!f->per_process) {
		/* The user's pins count, whichever process made them. */
		CHILD_CHECK(ioas_map(fd, ioas, mine, PAGE_SZ, BASE, RW_FLAGS) ==
			    -ENOMEM);
		CHILD_CHECK(charged(getpid(), 0, false));
	} else {
		/* Per process, as VFIO's type1: each has a limit of its own. */
		CHILD_CHECK(!ioas_map(fd, ioas, mine, PAGE_SZ, BASE, RW_FLAGS));
		CHILD_CHECK(charged(getpid(), 1, true));
	}
	close(fd);
	CHILD_CHECK(charged(getpid(), 0, f->per_process));
	return 0;
}

TEST_F(memlock, another_process_of_the_user)
{
	struct fork_args f = {
		.self = self,
		.per_process = variant->per_process,
	};

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf,
			      LIMIT * PAGE_SZ, BASE, RW_FLAGS));
	ASSERT_EQ(0, in_child(map_one_more, &f));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));
}

/*
 * memfd pages are charged like any others: a second mapping of the same
 * pages, by file or by address, is charged again; a copy is not.
 */
TEST_F(memlock, map_file_is_charged)
{
	uint32_t ioas2;
	uint8_t *view;

	EXPECT_EQ(-ENOMEM, map_memfd(self, 2 * LIMIT));
	ASSERT_LE(0, self->mfd);
	EXPECT_TRUE(charged(getpid(), 0, variant->per_process));
	ASSERT_EQ(-ENOENT, ioas_unmap(self->fd, self->ioas, BASE, PAGE_SZ,
				      NULL));
	ASSERT_EQ(0, ioas_map_file(self->fd, self->ioas, self->mfd, 0,
				   LIMIT * PAGE_SZ, BASE, RW_FLAGS));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));
	EXPECT_EQ(-ENOMEM, ioas_map_file(self->fd, self->ioas, self->mfd,
					 LIMIT * PAGE_SZ, PAGE_SZ,
					 BASE + LIMIT * PAGE_SZ, RW_FLAGS));

	view = mmap(NULL, LIMIT * PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED,
		    self->mfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, NULL, NULL));
	EXPECT_EQ(-ENOMEM, ioas_map_file(self->fd, ioas2, self->mfd, 0,
					 PAGE_SZ, BASE, RW_FLAGS));
	EXPECT_EQ(-ENOMEM, ioas_map(self->fd, ioas2, view, PAGE_SZ, BASE,
				    RW_FLAGS));
	EXPECT_EQ(0, ioas_copy(self->fd, ioas2, BASE, self->ioas, BASE,
			       LIMIT * PAGE_SZ, RW_FLAGS));
	EXPECT_EQ(0, check_pins(self->fd, view, LIMIT * PAGE_SZ, 1));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));
	munmap(view, LIMIT * PAGE_SZ);
}

/*
 * mlock() and per-process pinning share mm->locked_vm and so one limit,
 * each way round; per user, pins are counted apart from mlock().
 */
TEST_F(memlock, mlock_and_pins)
{
	uint8_t *locked = self->buf + 4 * LIMIT * PAGE_SZ;

	ASSERT_EQ(0, mlock(locked, LIMIT / 2 * PAGE_SZ));
	if (variant->per_process) {
		EXPECT_EQ(-ENOMEM, ioas_map(self->fd, self->ioas, self->buf,
					    LIMIT * PAGE_SZ, BASE, RW_FLAGS));
		EXPECT_EQ(0, ioas_map(self->fd, self->ioas, self->buf,
				      LIMIT / 2 * PAGE_SZ, BASE, RW_FLAGS));
		EXPECT_EQ(-1, mlock(locked + LIMIT / 2 * PAGE_SZ, PAGE_SZ));
		EXPECT_EQ(ENOMEM, errno);
		EXPECT_EQ(KB(LIMIT), status_kb(getpid(), "VmLck"));
	} else {
		EXPECT_EQ(0, ioas_map(self->fd, self->ioas, self->buf,
				      LIMIT * PAGE_SZ, BASE, RW_FLAGS));
		EXPECT_EQ(KB(LIMIT / 2), status_kb(getpid(), "VmLck"));
	}
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, NULL));
	ASSERT_EQ(0, munlock(locked, LIMIT / 2 * PAGE_SZ));
}

/* Choosing the accounting mode is a privilege of its own. */
TEST_F(memlock, rlimit_mode_needs_cap_sys_resource)
{
	uint64_t val;
	int fd;

	ASSERT_EQ(0, drop_cap(CAP_SYS_RESOURCE));
	fd = iofd_open();
	ASSERT_LE(0, fd);
	val = 0;
	EXPECT_EQ(-EPERM, option(fd, IOMMU_OPTION_RLIMIT_MODE,
				 IOMMU_OPTION_OP_SET, 0, &val));
	val = 1;
	EXPECT_EQ(-EPERM, option(fd, IOMMU_OPTION_RLIMIT_MODE,
				 IOMMU_OPTION_OP_SET, 0, &val));
	val = 7;
	EXPECT_EQ(0, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET,
			    0, &val));
	EXPECT_EQ(0, val);
	close(fd);
	/* Nor can the limit be raised again without it. */
	EXPECT_EQ(-EPERM, set_memlock(2 * LIMIT));
}

/* ---- small limit: domains, HWPTs and accesses ---------------------- */

TEST_F(memlock, domains_share_pins_new_memory_does_not_fit)
{
	uint32_t hwpt2, ioas3;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf,
			      LIMIT * PAGE_SZ, BASE, RW_FLAGS));
	/* A second domain of the same IOAS maps the pages already pinned. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, NULL, &hwpt2, NULL));
	EXPECT_EQ(0, check_map(self->fd, hwpt2, BASE, LIMIT * PAGE_SZ,
			       self->buf));
	EXPECT_EQ(0, check_pins(self->fd, self->buf, LIMIT * PAGE_SZ, 1));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));
	/* Other memory does not fit. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas3));
	ASSERT_EQ(0, ioas_map(self->fd, ioas3, self->buf + LIMIT * PAGE_SZ,
			      PAGE_SZ, BASE, RW_FLAGS));
	EXPECT_EQ(-ENOMEM, mock_domain(self->fd, ioas3, NULL, NULL, NULL));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));
	EXPECT_EQ(0, obj_destroy(self->fd, ioas3));
}

/* A failed HWPT_ALLOC or replace leaves the device where it was. */
TEST_F(memlock, hwpt_alloc_and_replace_over_the_limit)
{
	uint32_t big, pt, hwpt = 0;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, PAGE_SZ, BASE,
			      RW_FLAGS));
	ASSERT_EQ(0, ioas_alloc(self->fd, &big));
	ASSERT_EQ(0, ioas_map(self->fd, big, self->buf + PAGE_SZ,
			      LIMIT * PAGE_SZ, BASE, RW_FLAGS));
	EXPECT_EQ(-ENOMEM, hwpt_alloc(self->fd, self->idev, big, 0, &hwpt));
	EXPECT_EQ(-ENOMEM, hwpt_alloc(self->fd, self->idev, big,
				      IOMMU_HWPT_ALLOC_NEST_PARENT, &hwpt));
	EXPECT_EQ(0, hwpt);
	pt = big;
	EXPECT_EQ(-ENOMEM, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_TRUE(charged(getpid(), 1, variant->per_process));
	EXPECT_EQ(0, check_pins(self->fd, self->buf + PAGE_SZ,
				LIMIT * PAGE_SZ, 0));
	/* Still on its own domain, and nothing holds the big IOAS. */
	EXPECT_EQ(0, check_map(self->fd, self->hwpt, BASE, PAGE_SZ,
			       self->buf));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->ioas));
	EXPECT_EQ(0, obj_destroy(self->fd, big));
}

/* An access pins within the limit, sharing what a domain pinned. */
TEST_F(memlock, access_pins_within_the_limit)
{
	uint32_t ioas2, item;
	int afd, afd2;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf,
			      LIMIT * PAGE_SZ, BASE, RW_FLAGS));
	ASSERT_EQ(0, access_create(self->fd, self->ioas, true, &afd));
	ASSERT_EQ(0, access_pin(self->fd, afd, BASE, LIMIT * PAGE_SZ,
				self->buf, &item));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map(self->fd, ioas2, self->buf + LIMIT * PAGE_SZ,
			      PAGE_SZ, BASE, RW_FLAGS));
	ASSERT_EQ(0, access_create(self->fd, ioas2, true, &afd2));
	EXPECT_EQ(-ENOMEM, access_pin(self->fd, afd2, BASE, PAGE_SZ, NULL,
				      NULL));
	ASSERT_EQ(0, access_unpin(self->fd, afd, item));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));
	close(afd2);
	close(afd);
}

/*
 * Lowering the limit keeps what is pinned, and refuses more until the
 * charge is below the new limit.
 */
TEST_F(memlock, lowered_limit)
{
	const size_t quarter = LIMIT / 4 * PAGE_SZ;
	unsigned int i;

	for (i = 0; i != 4; i++)
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas,
				      self->buf + i * quarter, quarter,
				      BASE + i * quarter, RW_FLAGS));
	ASSERT_EQ(0, set_memlock(LIMIT / 2));
	EXPECT_TRUE(charged(getpid(), LIMIT, variant->per_process));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE, quarter, NULL));
	EXPECT_EQ(-ENOMEM, ioas_map(self->fd, self->ioas,
				    self->buf + LIMIT * PAGE_SZ, PAGE_SZ,
				    BASE + LIMIT * PAGE_SZ, RW_FLAGS));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE + quarter,
				2 * quarter, NULL));
	EXPECT_TRUE(charged(getpid(), LIMIT / 4, variant->per_process));
	EXPECT_EQ(0, ioas_map(self->fd, self->ioas,
			      self->buf + LIMIT * PAGE_SZ, PAGE_SZ,
			      BASE + LIMIT * PAGE_SZ, RW_FLAGS));
}

/* =====================================================================
 * eventq: FAULT and vEVENTQ fds. Cookies number the faults a FAULT fd has
 * delivered and are that fd's alone: every FAULT object counts from 1, so
 * the same number in another queue is another fault.
 */

#define PGF_SIZE sizeof(struct iommu_hwpt_pgfault)

FIXTURE(eventq)
{
	int fd;
	uint32_t ioas;
	uint32_t stdev[2], idev[2];
	uint32_t fault[2], fhwpt[2];
	int ffd[2];
};

static int fault_setup(int fd, uint32_t ioas, uint32_t *stdev,
		       uint32_t *idev, uint32_t *fault, int *ffd,
		       uint32_t *fhwpt)
{
	uint32_t pt;
	int rc;

	rc = mock_domain(fd, ioas, stdev, NULL, idev) ?:
	     fault_alloc(fd, fault, ffd) ?:
	     hwpt_alloc_full(fd, *idev, ioas, IOMMU_HWPT_FAULT_ID_VALID,
			     *fault, IOMMU_HWPT_DATA_NONE, NULL, 0, fhwpt);
	if (rc)
		return rc;
	pt = *fhwpt;
	return mock_replace(fd, *stdev, &pt);
}

FIXTURE_SETUP(eventq)
{
	unsigned int i;

	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	for (i = 0; i != 2; i++)
		ASSERT_EQ(0, fault_setup(self->fd, self->ioas, &self->stdev[i],
					 &self->idev[i], &self->fault[i],
					 &self->ffd[i], &self->fhwpt[i]));
}

FIXTURE_TEARDOWN(eventq)
{
	close(self->ffd[0]);
	close(self->ffd[1]);
	close(self->fd);
}

/* Raise a fault on @idev and read it from @ffd. */
static int raise_and_read(int fd, uint32_t idev, int ffd, uint32_t grpid,
			  struct iommu_hwpt_pgfault *f)
{
	ssize_t n;
	int rc;

	rc = trigger_iopf(fd, idev, 0, grpid, 0x1000 * grpid);
	if (rc)
		return rc;
	n = read(ffd, f, PGF_SIZE);
	return n == PGF_SIZE ? 0 : -EIO;
}

TEST_F(eventq, cookie_of_another_queue)
{
	struct iommu_hwpt_pgfault f0, f1;
	struct iommu_hwpt_page_response resp[2];

	ASSERT_EQ(0, raise_and_read(self->fd, self->idev[0], self->ffd[0], 1,
				    &f0));
	EXPECT_EQ(self->idev[0], f0.dev_id);
	/* Queue 1 has delivered nothing: no cookie of its own to answer. */
	EXPECT_EQ(-EINVAL, fault_respond(self->ffd[1], f0.cookie,
					 IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(0, read(self->ffd[1], &f1, PGF_SIZE));

	/* Queue 1's first fault has queue 0's number: its own fault. */
	ASSERT_EQ(0, raise_and_read(self->fd, self->idev[1], self->ffd[1], 2,
				    &f1));
	EXPECT_EQ(self->idev[1], f1.dev_id);
	/* Each queue numbers its cookies from 1, as v6.17 allocates them. */
	EXPECT_EQ(f0.cookie, f1.cookie);
	EXPECT_EQ(0, fault_respond(self->ffd[1], f1.cookie,
				   IOMMUFD_PAGE_RESP_INVALID));
	EXPECT_EQ(-EINVAL, fault_respond(self->ffd[1], f1.cookie,
					 IOMMUFD_PAGE_RESP_INVALID));

	/* Queue 0's fault is still waiting: a batch stops at its stranger. */
	resp[0].cookie = f0.cookie;
	resp[0].code = IOMMUFD_PAGE_RESP_SUCCESS;
	resp[1].cookie = f0.cookie + 1;
	resp[1].code = IOMMUFD_PAGE_RESP_SUCCESS;
	EXPECT_EQ(sizeof(resp[0]), write(self->ffd[0], resp, sizeof(resp)));
	EXPECT_EQ(-EINVAL, fault_respond(self->ffd[0], f0.cookie,
					 IOMMUFD_PAGE_RESP_SUCCESS));
}

TEST_F(eventq, cookie_of_another_file)
{
	struct iommu_hwpt_pgfault f0, fo;
	uint32_t ioas, stdev, idev, fault, fhwpt;
	int other, offd;

	other = iofd_open();
	ASSERT_LE(0, other);
	ASSERT_EQ(0, ioas_alloc(other, &ioas));
	ASSERT_EQ(0, fault_setup(other, ioas, &stdev, &idev, &fault, &offd,
				 &fhwpt));
	ASSERT_EQ(0, raise_and_read(self->fd, self->idev[0], self->ffd[0], 1,
				    &f0));
	EXPECT_EQ(-EINVAL, fault_respond(offd, f0.cookie,
					 IOMMUFD_PAGE_RESP_SUCCESS));
	ASSERT_EQ(0, raise_and_read(other, idev, offd, 3, &fo));
	EXPECT_EQ(idev, fo.dev_id);
	EXPECT_EQ(3, fo.grpid);
	EXPECT_EQ(0, fault_respond(offd, fo.cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	/* Answering the other file's fault answered nothing here. */
	EXPECT_EQ(0, fault_respond(self->ffd[0], f0.cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	close(offd);
	close(other);
}

struct passed {
	FIXTURE_DATA(eventq) *self;
	pid_t owner;		/* the process holding the FAULT fd */
	uint32_t cookie;	/* out: the fault the child answered */
};

/* Take a copy of descriptor @fd of process @pid (pidfd_getfd(2)). */
static int fd_of_process(pid_t pid, int fd)
{
	int pidfd = syscall(SYS_pidfd_open, pid, 0);
	int got;

	if (pidfd < 0)
		return -errno;
	got = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (got < 0)
		got = -errno;
	close(pidfd);
	return got;
}

/*
 * A process holding nothing but a FAULT fd, taken from the process that
 * made it: it reads and answers that queue's faults and nothing else, and
 * the fd opens no door to the iommufd behind it.
 */
static int answer_passed_fault(void *arg)
{
	struct passed *p = arg;
	struct iommu_hwpt_pgfault f;
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int ffd, theirs = p->self->ffd[0];
	void *map;

	close(p->self->fd);
	close(p->self->ffd[0]);
	close(p->self->ffd[1]);
	ffd = fd_of_process(p->owner, theirs);
	CHILD_CHECK(ffd >= 0);
	CHILD_CHECK(read(ffd, &f, PGF_SIZE) == PGF_SIZE);
	CHILD_CHECK(f.dev_id == p->self->idev[0] && f.grpid == 5);
	p->cookie = f.cookie;
	CHILD_CHECK(fault_respond(ffd, f.cookie + 1,
				  IOMMUFD_PAGE_RESP_SUCCESS) == -EINVAL);
	CHILD_CHECK(xioctl(ffd, IOMMU_IOAS_ALLOC, &alloc) == -ENOTTY);
	map = mmap(NULL, PAGE_SZ, PROT_READ, MAP_SHARED, ffd, 0);
	CHILD_CHECK(map == MAP_FAILED && errno == ENODEV);
	CHILD_CHECK(!fault_respond(ffd, f.cookie, IOMMUFD_PAGE_RESP_SUCCESS));
	close(ffd);
	return 0;
}

TEST_F(eventq, fault_fd_passed_to_another_process)
{
	struct passed *p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct iommu_hwpt_pgfault f;

	ASSERT_NE(MAP_FAILED, p);
	p->self = self;
	p->owner = getpid();
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev[0], 0, 5, 0x5000));
	ASSERT_EQ(0, in_child(answer_passed_fault, p));
	/* The fault it read was taken from this queue and answered there. */
	EXPECT_EQ(0, read(self->ffd[0], &f, PGF_SIZE));
	EXPECT_EQ(-EINVAL, fault_respond(self->ffd[0], p->cookie,
					 IOMMUFD_PAGE_RESP_SUCCESS));
	munmap(p, sizeof(*p));
}

/* One record of a selftest vEVENTQ. */
struct vrec {
	struct iommufd_vevent_header hdr;
	struct iommu_viommu_event_selftest ev;
};

/* A vEVENTQ fd delivers events; nothing can be written into it. */
TEST_F(eventq, veventq_takes_no_writes)
{
	uint32_t parent, viommu, nested, vdev, q, pt;
	struct vrec rec = {}, fake = {
		.hdr = { .sequence = 0 },
		.ev = { .virt_id = 0xbad },
	};
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int qfd;

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev[0], self->ioas,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	ASSERT_EQ(0, viommu_alloc(self->fd, self->idev[0], parent,
				  SELFTEST_VIOMMU, NULL, 0, &viommu));
	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev[0], viommu, 0,
				       &nested));
	ASSERT_EQ(0, vdevice_alloc(self->fd, viommu, self->idev[0], 0x33,
				   &vdev));
	pt = nested;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev[0], &pt));
	ASSERT_EQ(0, veventq_alloc(self->fd, viommu, SELFTEST_EVENTS, 4, &q,
				   &qfd));

	EXPECT_EQ(-1, write(qfd, &fake, sizeof(fake)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(qfd, &fake, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pwrite(qfd, &fake, sizeof(fake), 0));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-ENOTTY, xioctl(qfd, IOMMU_IOAS_ALLOC, &alloc));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE_SZ, PROT_READ, MAP_SHARED, qfd,
				   0));
	EXPECT_EQ(ENODEV, errno);
	/* Nothing was queued by the writes; a real event reads back as is. */
	EXPECT_EQ(0, read(qfd, &rec, sizeof(rec)));
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev[0]));
	EXPECT_EQ(-1, write(qfd, &fake, sizeof(fake)));
	ASSERT_EQ(sizeof(rec), read(qfd, &rec, sizeof(rec)));
	EXPECT_EQ(0, rec.hdr.flags);
	EXPECT_EQ(0, rec.hdr.sequence);
	EXPECT_EQ(0x33, rec.ev.virt_id);
	EXPECT_EQ(0, read(qfd, &rec, sizeof(rec)));

	close(qfd);
	pt = self->fhwpt[0];
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev[0], &pt));
}

/* =====================================================================
 * mmio: the pages a mock vIOMMU exports (as a real one exports its MMIO
 * page), mmap()ed through the iommufd at the offset and with the length
 * the allocation reported.
 */

FIXTURE(mmio)
{
	int fd;
	uint32_t ioas, stdev, idev, parent, viommu;
	struct iommu_viommu_selftest data;
};

/* A vIOMMU exporting its pages, with @tag in its first word. */
static int viommu_with_pages(int fd, uint32_t *ioas, uint32_t *idev,
			     uint32_t *parent, uint32_t *viommu,
			     struct iommu_viommu_selftest *data, uint32_t tag)
{
	memset(data, 0, sizeof(*data));
	data->in_data = tag;
	return ioas_alloc(fd, ioas) ?:
	       mock_domain(fd, *ioas, NULL, NULL, idev) ?:
	       hwpt_alloc(fd, *idev, *ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
			  parent) ?:
	       viommu_alloc(fd, *idev, *parent, SELFTEST_VIOMMU, data,
			    sizeof(*data), viommu);
}

FIXTURE_SETUP(mmio)
{
	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, viommu_with_pages(self->fd, &self->ioas, &self->idev,
				       &self->parent, &self->viommu,
				       &self->data, 0x5eedf00d));
	ASSERT_NE(0, self->data.out_mmap_length);
	ASSERT_EQ(0, self->data.out_mmap_length % PAGE_SZ);
}

FIXTURE_TEARDOWN(mmio)
{
	close(self->fd);
}

/* mmap() of the iommufd: 0 with the mapping in *p, or the errno. */
static int mmap_err(int fd, uint64_t off, size_t len, int prot, int flags,
		    void **p)
{
	*p = mmap(NULL, len, prot, flags, fd, off);
	return *p == MAP_FAILED ? errno : 0;
}

TEST_F(mmio, only_the_whole_region)
{
	const uint64_t off = self->data.out_mmap_offset;
	const size_t len = self->data.out_mmap_length;
	const size_t pg = PAGE_SZ;
	const struct {
		uint64_t off;
		size_t len;
	} beyond[] = {
		{ off, len + pg },		/* one page too long */
		{ off, 2 * len },
		{ off, len - pg },		/* part of it */
		{ off + pg, len - pg },		/* its tail only */
		{ off + pg, len },		/* shifted past its end */
		{ off + len, pg },		/* just past its end */
		{ off + len, len },
		{ off + 64 * len, len },	/* far past it */
		{ 1ULL << 40, len },
	};
	unsigned int i;
	uint32_t *p;

	for (i = 0; i != ARRAY_LEN(beyond); i++) {
		EXPECT_EQ(ENXIO, mmap_err(self->fd, beyond[i].off,
					  beyond[i].len, PROT_READ,
					  MAP_SHARED, (void **)&p))
			TH_LOG("offset %#llx length %#zx",
			       (unsigned long long)beyond[i].off,
			       beyond[i].len);
	}
	/*
	 * Offsets start past the file's first page, as v6.17 hands them
	 * out, so that 0 can mean no region: nothing maps there.
	 */
	EXPECT_LE(pg, off);
	EXPECT_EQ(ENXIO, mmap_err(self->fd, 0, len, PROT_READ, MAP_SHARED,
				  (void **)&p));
	EXPECT_EQ(ENXIO, mmap_err(self->fd, off - pg, len + pg, PROT_READ,
				  MAP_SHARED, (void **)&p));
	/* Shared and not executable, even when it is the whole region. */
	EXPECT_EQ(EINVAL, mmap_err(self->fd, off, len, PROT_READ, MAP_PRIVATE,
				   (void **)&p));
	EXPECT_EQ(EPERM, mmap_err(self->fd, off, len, PROT_READ | PROT_EXEC,
				  MAP_SHARED, (void **)&p));

	ASSERT_EQ(0, mmap_err(self->fd, off, len, PROT_READ | PROT_WRITE,
			      MAP_SHARED, (void **)&p));
	EXPECT_EQ(0x5eedf00d, p[0]);
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->viommu));
	ASSERT_EQ(0, munmap(p, len));
	EXPECT_EQ(0, obj_destroy(self->fd, self->viommu));
}

/*
 * mremap() may move the mapping whole but never grow or duplicate it; the
 * moved mapping still holds the vIOMMU.
 */
TEST_F(mmio, mremap_cannot_grow)
{
	const size_t len = self->data.out_mmap_length;
	uint32_t *p, *q, *spot;

	ASSERT_EQ(0, mmap_err(self->fd, self->data.out_mmap_offset, len,
			      PROT_READ, MAP_SHARED, (void **)&p));
	EXPECT_EQ(MAP_FAILED, mremap(p, len, len + PAGE_SZ, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(MAP_FAILED, mremap(p, len, 2 * len, MREMAP_MAYMOVE));
	EXPECT_EQ(EFAULT, errno);
	/* An old length of 0 asks for a second mapping of the same pages. */
	EXPECT_EQ(MAP_FAILED, mremap(p, 0, len, MREMAP_MAYMOVE));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(MAP_FAILED, mremap(p, len, len,
				     MREMAP_MAYMOVE | MREMAP_DONTUNMAP));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0x5eedf00d, p[0]);

	spot = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, spot);
	q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, spot);
	ASSERT_EQ(spot, q);
	EXPECT_EQ(0x5eedf00d, q[0]);
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->viommu));
	ASSERT_EQ(0, munmap(q, len));
	EXPECT_EQ(0, obj_destroy(self->fd, self->viommu));
}

/* Offsets are the file's own: another file maps its own region or none. */
TEST_F(mmio, offset_of_another_file)
{
	const uint64_t off = self->data.out_mmap_offset;
	const size_t len = self->data.out_mmap_length;
	struct iommu_viommu_selftest data2;
	uint32_t ioas, idev, parent, viommu, *p, *q;
	int other;

	other = iofd_open();
	ASSERT_LE(0, other);
	EXPECT_EQ(ENXIO, mmap_err(other, off, len, PROT_READ, MAP_SHARED,
				  (void **)&p));
	/* Objects without a region give no offset either. */
	ASSERT_EQ(0, ioas_alloc(other, &ioas));
	ASSERT_EQ(0, mock_domain(other, ioas, NULL, NULL, &idev));
	ASSERT_EQ(0, hwpt_alloc(other, idev, ioas,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	ASSERT_EQ(0, viommu_alloc(other, idev, parent, SELFTEST_VIOMMU, NULL, 0,
				  &viommu));
	EXPECT_EQ(ENXIO, mmap_err(other, off, len, PROT_READ, MAP_SHARED,
				  (void **)&p));
	ASSERT_EQ(0, obj_destroy(other, viommu));
	ASSERT_EQ(0, obj_destroy(other, parent));

	/* Its own region: whatever the offset, the pages are its own. */
	ASSERT_EQ(0, hwpt_alloc(other, idev, ioas,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	data2.in_data = 0x0ddba11;
	data2.out_mmap_offset = 0;
	data2.out_mmap_length = 0;
	ASSERT_EQ(0, viommu_alloc(other, idev, parent, SELFTEST_VIOMMU, &data2,
				  sizeof(data2), &viommu));
	ASSERT_EQ(0, mmap_err(other, data2.out_mmap_offset,
			      data2.out_mmap_length, PROT_READ, MAP_SHARED,
			      (void **)&q));
	ASSERT_EQ(0, mmap_err(self->fd, off, len, PROT_READ, MAP_SHARED,
			      (void **)&p));
	EXPECT_EQ(0x0ddba11, q[0]);
	EXPECT_EQ(0x5eedf00d, p[0]);
	TH_LOG("offsets: this file %#llx, the other %#llx",
	       (unsigned long long)off,
	       (unsigned long long)data2.out_mmap_offset);
	munmap(p, len);
	munmap(q, data2.out_mmap_length);
	close(other);
}

TEST_HARNESS_MAIN
