// SPDX-License-Identifier: GPL-2.0-only
/*
 * Virtual IOMMUs on the mock driver: vIOMMU, vDEVICE, vEVENTQ and HW_QUEUE
 * objects, nested HWPTs on a vIOMMU, invalidation through it, the mmap()
 * of its exported pages, and PASID attachment. Each family is checked for
 * what works, what it refuses (each with its errno, changing nothing),
 * destroy order and closing the file with everything alive, and for races
 * between the calls that share state.
 */
#include <poll.h>
#include <pthread.h>

#include "iommufd_test_lib.h"

#define BASE MOCK_APERTURE_START
#define SELFTEST_VIOMMU IOMMU_VIOMMU_TYPE_SELFTEST
#define SELFTEST_EVENTS IOMMU_VEVENTQ_TYPE_SELFTEST
#define SELFTEST_QUEUE IOMMU_HW_QUEUE_TYPE_SELFTEST
#define VIOMMU_INV IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST
#define DEV_CACHE_DEF IOMMU_TEST_DEV_CACHE_DEFAULT

static int check_dev_cache(int fd, uint32_t idev, uint32_t entry,
			   uint32_t val)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DEV_CHECK_CACHE,
		.id = idev,
		.check_dev_cache = { .id = entry, .cache = val },
	};

	return test_cmd(fd, &cmd);
}

static bool dev_cache_is(int fd, uint32_t idev, uint32_t a, uint32_t b,
			 uint32_t c, uint32_t d)
{
	return !check_dev_cache(fd, idev, 0, a) &&
	       !check_dev_cache(fd, idev, 1, b) &&
	       !check_dev_cache(fd, idev, 2, c) &&
	       !check_dev_cache(fd, idev, 3, d);
}

/* A mock nested HWPT on @parent with @flags (and @fault if not 0). */
static int nested_flags_alloc(int fd, uint32_t idev, uint32_t parent,
			      uint32_t flags, uint32_t fault, uint32_t *out)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };

	return hwpt_alloc_full(fd, idev, parent,
			       flags | (fault ? IOMMU_HWPT_FAULT_ID_VALID : 0),
			       fault, IOMMU_HWPT_DATA_SELFTEST, &data,
			       sizeof(data), out);
}

/* One record of a selftest vEVENTQ. */
struct rec {
	struct iommufd_vevent_header hdr;
	struct iommu_viommu_event_selftest ev;
};

FIXTURE(viommu)
{
	int fd;
	uint32_t ioas;
	uint32_t stdev, idev;
	uint32_t parent;
	uint32_t viommu;
	uint8_t *buf;
};

FIXTURE_SETUP(viommu)
{
	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &self->stdev, NULL,
				 &self->idev));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &self->parent));
	ASSERT_EQ(0, viommu_alloc(self->fd, self->idev, self->parent,
				  SELFTEST_VIOMMU, NULL, 0, &self->viommu));
	self->buf = alloc_buffer(8 * PAGE_SZ);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(viommu)
{
	close(self->fd);
}

TEST_F(viommu, alloc_bad_input_changes_nothing)
{
	struct iommu_viommu_alloc cmd = {
		.size = sizeof(cmd),
		.type = SELFTEST_VIOMMU,
		.dev_id = self->idev,
	};
	struct iommu_viommu_selftest data = { .in_data = 1 };
	uint32_t parent2, plain, id = 0;

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &parent2));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas, 0, &plain));
	cmd.hwpt_id = parent2;
	cmd.flags = 1;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_VIOMMU_ALLOC, &cmd));
	cmd.flags = 0;
	cmd.__reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_VIOMMU_ALLOC, &cmd));

	/* Objects: unknown, of the wrong type, not a nesting parent. */
	EXPECT_EQ(-ENOENT, viommu_alloc(self->fd, 99999, parent2,
					SELFTEST_VIOMMU, NULL, 0, &id));
	EXPECT_EQ(-ENOENT, viommu_alloc(self->fd, self->ioas, parent2,
					SELFTEST_VIOMMU, NULL, 0, &id));
	EXPECT_EQ(-ENOENT, viommu_alloc(self->fd, self->idev, 0,
					SELFTEST_VIOMMU, NULL, 0, &id));
	EXPECT_EQ(-ENOENT, viommu_alloc(self->fd, self->idev, self->ioas,
					SELFTEST_VIOMMU, NULL, 0, &id));
	EXPECT_EQ(-EINVAL, viommu_alloc(self->fd, self->idev, plain,
					SELFTEST_VIOMMU, NULL, 0, &id));
	/* Types the driver does not offer; the reserved default. */
	EXPECT_EQ(-EOPNOTSUPP, viommu_alloc(self->fd, self->idev, parent2,
					    0xdead, NULL, 0, &id));
	EXPECT_EQ(-EOPNOTSUPP, viommu_alloc(self->fd, self->idev, parent2,
					    IOMMU_VIOMMU_TYPE_DEFAULT, NULL,
					    0, &id));
	EXPECT_EQ(-EOPNOTSUPP, viommu_alloc(self->fd, self->idev, parent2,
					    IOMMU_VIOMMU_TYPE_ARM_SMMUV3, NULL,
					    0, &id));
	/* Driver data: too short, unreadable. */
	EXPECT_EQ(-EINVAL, viommu_alloc(self->fd, self->idev, parent2,
					SELFTEST_VIOMMU, &data, 2, &id));
	EXPECT_EQ(-EFAULT, viommu_alloc(self->fd, self->idev, parent2,
					SELFTEST_VIOMMU, (void *)8UL,
					sizeof(data), &id));
	EXPECT_EQ(0, id);

	/* Nothing holds the HWPTs. */
	EXPECT_EQ(0, obj_destroy(self->fd, parent2));
	EXPECT_EQ(0, obj_destroy(self->fd, plain));
}

TEST_F(viommu, holds_what_it_builds_on)
{
	uint32_t v2;

	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->parent));
	/* A second vIOMMU on the same parent. */
	ASSERT_EQ(0, viommu_alloc(self->fd, self->idev, self->parent,
				  SELFTEST_VIOMMU, NULL, 0, &v2));
	EXPECT_EQ(0, obj_destroy(self->fd, self->viommu));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->parent));
	EXPECT_EQ(0, obj_destroy(self->fd, v2));
	EXPECT_EQ(0, obj_destroy(self->fd, self->parent));
	EXPECT_EQ(-ENOENT, obj_destroy(self->fd, self->viommu));
}

TEST_F(viommu, data_and_mmap)
{
	struct iommu_viommu_selftest data = { .in_data = 0xfeedcafe };
	size_t len;
	uint32_t *p, v2;
	off_t off;

	ASSERT_EQ(0, viommu_alloc(self->fd, self->idev, self->parent,
				  SELFTEST_VIOMMU, &data, sizeof(data), &v2));
	EXPECT_EQ(data.in_data, data.out_data);
	len = data.out_mmap_length;
	off = data.out_mmap_offset;
	ASSERT_NE(0, len);
	ASSERT_EQ(0, len % PAGE_SZ);

	/* Only the whole region, shared, not executable. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, len, PROT_READ, MAP_SHARED, self->fd,
				   off + PAGE_SZ));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, len / 2, PROT_READ, MAP_SHARED,
				   self->fd, off));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, len * 2, PROT_READ, MAP_SHARED,
				   self->fd, off));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, len, PROT_READ, MAP_PRIVATE,
				   self->fd, off));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, len, PROT_READ | PROT_EXEC,
				   MAP_SHARED, self->fd, off));
	EXPECT_EQ(EPERM, errno);

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, off);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(data.in_data, p[0]);
	/* The mapping holds the vIOMMU; it cannot be cut in two. */
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, v2));
	EXPECT_EQ(-1, munmap(p, PAGE_SZ));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(data.in_data, p[0]);
	ASSERT_EQ(0, munmap(p, len));
	EXPECT_EQ(0, obj_destroy(self->fd, v2));

	/* Its offset is gone with it. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, len, PROT_READ, MAP_SHARED, self->fd,
				   off));
	EXPECT_EQ(ENXIO, errno);
}

/* A mapping alive when the file is closed keeps everything until unmapped. */
TEST_F(viommu, close_while_mapped)
{
	struct iommu_viommu_selftest data = { .in_data = 7 };
	uint32_t v2, *p;

	ASSERT_EQ(0, viommu_alloc(self->fd, self->idev, self->parent,
				  SELFTEST_VIOMMU, &data, sizeof(data), &v2));
	p = mmap(NULL, data.out_mmap_length, PROT_READ, MAP_SHARED, self->fd,
		 data.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, p);
	close(self->fd);
	self->fd = iofd_open();
	EXPECT_EQ(7, p[0]);
	EXPECT_EQ(0, munmap(p, data.out_mmap_length));
}

TEST_F(viommu, nested_needs_a_vdevice)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	uint32_t nested, vdev, pt, id = 0;

	/* Paging flags mean nothing here; a nested HWPT needs its data. */
	EXPECT_EQ(-EOPNOTSUPP,
		  hwpt_alloc_full(self->fd, self->idev, self->viommu,
				  IOMMU_HWPT_ALLOC_NEST_PARENT, 0,
				  IOMMU_HWPT_DATA_SELFTEST, &data,
				  sizeof(data), &id));
	EXPECT_EQ(-EOPNOTSUPP,
		  hwpt_alloc_full(self->fd, self->idev, self->viommu, 1U << 31,
				  0, IOMMU_HWPT_DATA_SELFTEST, &data,
				  sizeof(data), &id));
	EXPECT_EQ(-EOPNOTSUPP, hwpt_alloc_full(self->fd, self->idev,
					       self->viommu, 0, 0,
					       IOMMU_HWPT_DATA_NONE, NULL, 0,
					       &id));
	EXPECT_EQ(-ENOENT, hwpt_alloc_full(self->fd, self->idev, self->viommu,
					   IOMMU_HWPT_FAULT_ID_VALID, 99999,
					   IOMMU_HWPT_DATA_SELFTEST, &data,
					   sizeof(data), &id));
	EXPECT_EQ(0, id);

	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->viommu, 0,
				       &nested));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->viommu));
	pt = nested;
	EXPECT_EQ(-ENOENT, mock_replace(self->fd, self->stdev, &pt));
	ASSERT_EQ(0, vdevice_alloc(self->fd, self->viommu, self->idev, 0x42,
				   &vdev));
	pt = nested;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_EQ(nested, pt);
	/* The vDEVICE can go while the device is attached. */
	EXPECT_EQ(0, obj_destroy(self->fd, vdev));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, nested));
	pt = self->ioas;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_EQ(0, obj_destroy(self->fd, nested));
	EXPECT_EQ(0, obj_destroy(self->fd, self->viommu));
}

TEST_F(viommu, vdevice_rules)
{
	uint32_t stdev2, idev2, v2, vd1, vd2, vd3, id = 0;

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &stdev2, NULL, &idev2));
	EXPECT_EQ(-ENOENT, vdevice_alloc(self->fd, 99999, self->idev, 1, &id));
	EXPECT_EQ(-ENOENT, vdevice_alloc(self->fd, self->ioas, self->idev, 1,
					 &id));
	EXPECT_EQ(-ENOENT, vdevice_alloc(self->fd, self->viommu, self->ioas, 1,
					 &id));
	EXPECT_EQ(0, id);

	ASSERT_EQ(0, vdevice_alloc(self->fd, self->viommu, self->idev, 1,
				   &vd1));
	/* One per device per vIOMMU; one device per virtual ID. */
	EXPECT_EQ(-EEXIST, vdevice_alloc(self->fd, self->viommu, self->idev, 2,
					 &id));
	EXPECT_EQ(-EEXIST, vdevice_alloc(self->fd, self->viommu, idev2, 1,
					 &id));
	ASSERT_EQ(0, vdevice_alloc(self->fd, self->viommu, idev2, 2, &vd2));
	/* Another vIOMMU is another namespace. */
	ASSERT_EQ(0, viommu_alloc(self->fd, self->idev, self->parent,
				  SELFTEST_VIOMMU, NULL, 0, &v2));
	ASSERT_EQ(0, vdevice_alloc(self->fd, v2, self->idev, 2, &vd3));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, v2));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->viommu));

	/* Gone, the ID and the device are free again. */
	EXPECT_EQ(0, obj_destroy(self->fd, vd1));
	ASSERT_EQ(0, vdevice_alloc(self->fd, self->viommu, self->idev, 1,
				   &vd1));
	EXPECT_EQ(0, obj_destroy(self->fd, vd1));
	EXPECT_EQ(0, obj_destroy(self->fd, vd2));
	EXPECT_EQ(0, obj_destroy(self->fd, self->viommu));
	EXPECT_EQ(0, obj_destroy(self->fd, vd3));
	EXPECT_EQ(0, obj_destroy(self->fd, v2));
}

/* Unbinding the device destroys its vDEVICEs; their IDs stay taken. */
TEST_F(viommu, vdevice_tombstone)
{
	uint32_t stdev2, idev2, v2, vd1, vd2, other;

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &stdev2, NULL, &idev2));
	ASSERT_EQ(0, viommu_alloc(self->fd, self->idev, self->parent,
				  SELFTEST_VIOMMU, NULL, 0, &v2));
	ASSERT_EQ(0, vdevice_alloc(self->fd, self->viommu, idev2, 5, &vd1));
	ASSERT_EQ(0, vdevice_alloc(self->fd, v2, idev2, 5, &vd2));
	ASSERT_EQ(0, obj_destroy(self->fd, stdev2));
	EXPECT_EQ(-ENOENT, obj_destroy(self->fd, vd1));
	EXPECT_EQ(-ENOENT, obj_destroy(self->fd, vd2));
	/* The vIOMMUs are free, the virtual ID too, the object IDs not. */
	ASSERT_EQ(0, vdevice_alloc(self->fd, self->viommu, self->idev, 5,
				   &other));
	EXPECT_NE(vd1, other);
	EXPECT_NE(vd2, other);
	EXPECT_EQ(0, obj_destroy(self->fd, other));
	EXPECT_EQ(0, obj_destroy(self->fd, v2));
	EXPECT_EQ(0, obj_destroy(self->fd, self->viommu));
}

TEST_F(viommu, invalidate_device_cache)
{
	struct iommu_viommu_invalidate_selftest reqs[2] = {};
	uint32_t vdev, num;

	ASSERT_EQ(0, vdevice_alloc(self->fd, self->viommu, self->idev, 0x99,
				   &vdev));
	EXPECT_TRUE(dev_cache_is(self->fd, self->idev, DEV_CACHE_DEF,
				 DEV_CACHE_DEF, DEV_CACHE_DEF, DEV_CACHE_DEF));
	num = 0;
	EXPECT_EQ(0, invalidate_any(self->fd, self->viommu, VIOMMU_INV, NULL,
				    0, &num));

	/* Bad requests: nothing done, nothing counted. */
	reqs[0].vdev_id = 0x98;
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, self->viommu, VIOMMU_INV,
					  reqs, sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	reqs[0].vdev_id = 0x99;
	reqs[0].cache_id = MOCK_DEV_CACHE_ID_MAX + 1;
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, self->viommu, VIOMMU_INV,
					  reqs, sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	reqs[0].cache_id = 0;
	reqs[0].flags = 2;
	num = 1;
	EXPECT_EQ(-EOPNOTSUPP, invalidate_any(self->fd, self->viommu,
					      VIOMMU_INV, reqs,
					      sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	reqs[0].flags = 0;
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, self->viommu,
					  IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID,
					  reqs, sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	EXPECT_TRUE(dev_cache_is(self->fd, self->idev, DEV_CACHE_DEF,
				 DEV_CACHE_DEF, DEV_CACHE_DEF, DEV_CACHE_DEF));

	/* In order up to the first bad one. */
	reqs[0].cache_id = 2;
	reqs[1].vdev_id = 0x99;
	reqs[1].cache_id = MOCK_DEV_CACHE_ID_MAX + 1;
	num = 2;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, self->viommu, VIOMMU_INV,
					  reqs, sizeof(reqs[0]), &num));
	EXPECT_EQ(1, num);
	EXPECT_TRUE(dev_cache_is(self->fd, self->idev, DEV_CACHE_DEF,
				 DEV_CACHE_DEF, 0, DEV_CACHE_DEF));
	reqs[0].flags = IOMMU_TEST_INVALIDATE_FLAG_ALL;
	num = 1;
	EXPECT_EQ(0, invalidate_any(self->fd, self->viommu, VIOMMU_INV, reqs,
				    sizeof(reqs[0]), &num));
	EXPECT_EQ(1, num);
	EXPECT_TRUE(dev_cache_is(self->fd, self->idev, 0, 0, 0, 0));

	/* Once the vDEVICE is gone its virtual ID means nothing. */
	EXPECT_EQ(0, obj_destroy(self->fd, vdev));
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, self->viommu, VIOMMU_INV,
					  reqs, sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	/* The checker refuses entries that do not exist. */
	EXPECT_EQ(-EINVAL, check_dev_cache(self->fd, self->idev,
					   MOCK_DEV_CACHE_ID_MAX + 1, 0));
	EXPECT_EQ(-ENOENT, check_dev_cache(self->fd, 99999, 0, 0));
}

/* Read up to @n records; returns how many, or -errno. */
static int read_events(int qfd, struct rec *recs, int n)
{
	ssize_t got = read(qfd, recs, n * sizeof(*recs));

	if (got < 0)
		return -errno;
	return got / sizeof(*recs);
}

TEST_F(viommu, veventq)
{
	struct iommu_veventq_alloc cmd = {
		.size = sizeof(cmd),
		.viommu_id = self->viommu,
		.type = SELFTEST_EVENTS,
		.veventq_depth = 2,
	};
	struct pollfd pfd = { .events = POLLIN };
	uint32_t nested, vdev, q, pt;
	struct rec recs[4];
	int qfd, qfd2;

	cmd.flags = 1;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_VEVENTQ_ALLOC, &cmd));
	cmd.flags = 0;
	cmd.__reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_VEVENTQ_ALLOC, &cmd));
	EXPECT_EQ(-EINVAL, veventq_alloc(self->fd, self->viommu,
					 SELFTEST_EVENTS, 0, &q, &qfd));
	EXPECT_EQ(-EOPNOTSUPP, veventq_alloc(self->fd, self->viommu,
					     IOMMU_VEVENTQ_TYPE_DEFAULT, 2, &q,
					     &qfd));
	EXPECT_EQ(-ENOENT, veventq_alloc(self->fd, self->ioas,
					 SELFTEST_EVENTS, 2, &q, &qfd));

	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->viommu, 0,
				       &nested));
	ASSERT_EQ(0, vdevice_alloc(self->fd, self->viommu, self->idev, 0x77,
				   &vdev));
	/* Not attached through the vIOMMU yet, then no queue yet. */
	EXPECT_EQ(-ENOENT, trigger_vevent(self->fd, self->idev));
	pt = nested;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_EQ(-EOPNOTSUPP, trigger_vevent(self->fd, self->idev));

	ASSERT_EQ(0, veventq_alloc(self->fd, self->viommu, SELFTEST_EVENTS, 2,
				   &q, &qfd));
	EXPECT_EQ(-EEXIST, veventq_alloc(self->fd, self->viommu,
					 SELFTEST_EVENTS, 2, NULL, &qfd2));
	/* Another type is another queue. */
	ASSERT_EQ(0, veventq_alloc(self->fd, self->viommu,
				   IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 1, NULL,
				   &qfd2));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->viommu));

	pfd.fd = qfd;
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, read_events(qfd, recs, 4));

	/* Two fit; a third is lost and marked at the end. */
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev));
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev));
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev));
	/* Too small for the first record. */
	EXPECT_EQ(-1, read(qfd, recs, sizeof(recs[0]) - 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(1, read_events(qfd, recs, 1));
	EXPECT_EQ(0, recs[0].hdr.flags);
	EXPECT_EQ(0, recs[0].hdr.sequence);
	EXPECT_EQ(0x77, recs[0].ev.virt_id);
	/* The marker has no data: one record and a bare header. */
	memset(recs, 0, sizeof(recs));
	EXPECT_EQ(sizeof(recs[0]) + sizeof(recs[0].hdr),
		  read(qfd, recs, sizeof(recs)));
	EXPECT_EQ(1, recs[0].hdr.sequence);
	EXPECT_EQ(0x77, recs[0].ev.virt_id);
	EXPECT_EQ(IOMMU_VEVENTQ_FLAG_LOST_EVENTS, recs[1].hdr.flags);
	EXPECT_EQ(2, recs[1].hdr.sequence);
	EXPECT_EQ(0, poll(&pfd, 1, 0));

	/*
	 * Losses followed by a queued event: the gap shows them and the
	 * marker goes.
	 */
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev));
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev));
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev));
	ASSERT_EQ(2, read_events(qfd, recs, 2));
	EXPECT_EQ(3, recs[0].hdr.sequence);
	EXPECT_EQ(4, recs[1].hdr.sequence);
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev));
	ASSERT_EQ(1, read_events(qfd, recs, 4));
	EXPECT_EQ(0, recs[0].hdr.flags);
	EXPECT_EQ(6, recs[0].hdr.sequence);

	/* The file holds the queue, the queue the vIOMMU. */
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, q));
	close(qfd);
	EXPECT_EQ(0, obj_destroy(self->fd, q));
	/* Events of a type with no queue go nowhere. */
	EXPECT_EQ(-EOPNOTSUPP, trigger_vevent(self->fd, self->idev));
	close(qfd2);
	pt = self->ioas;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_EQ(0, obj_destroy(self->fd, vdev));
	EXPECT_EQ(0, obj_destroy(self->fd, nested));
}

TEST_F(viommu, hw_queue)
{
	uint32_t q[IOMMU_TEST_HW_QUEUE_MAX], v2, id = 0;
	uint64_t iova = BASE;

	EXPECT_EQ(-EOPNOTSUPP, hw_queue_alloc(self->fd, self->viommu,
					      IOMMU_HW_QUEUE_TYPE_DEFAULT, 0,
					      iova, PAGE_SZ, &id));
	EXPECT_EQ(-EINVAL, hw_queue_alloc(self->fd, self->viommu,
					  SELFTEST_QUEUE, 0, iova, 0, &id));
	EXPECT_EQ(-EOVERFLOW, hw_queue_alloc(self->fd, self->viommu,
					     SELFTEST_QUEUE, 0, UINT64_MAX,
					     PAGE_SZ, &id));
	EXPECT_EQ(-ENOENT, hw_queue_alloc(self->fd, self->viommu,
					  SELFTEST_QUEUE, 0, iova, PAGE_SZ,
					  &id));
	EXPECT_EQ(-ENOENT, hw_queue_alloc(self->fd, self->ioas,
					  SELFTEST_QUEUE, 0, iova, PAGE_SZ,
					  &id));

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, 4 * PAGE_SZ,
			      iova, RW_FLAGS));
	/* Index order: 0 first, none twice, at most the maximum. */
	EXPECT_EQ(-EIO, hw_queue_alloc(self->fd, self->viommu, SELFTEST_QUEUE,
				       1, iova, PAGE_SZ, &id));
	EXPECT_EQ(-EINVAL, hw_queue_alloc(self->fd, self->viommu,
					  SELFTEST_QUEUE,
					  IOMMU_TEST_HW_QUEUE_MAX, iova,
					  PAGE_SZ, &id));
	/* Partly mapped; far too long (no huge allocation, no warning). */
	EXPECT_EQ(-ENOENT, hw_queue_alloc(self->fd, self->viommu,
					  SELFTEST_QUEUE, 0, iova + PAGE_SZ,
					  4 * PAGE_SZ, &id));
	EXPECT_EQ(-ENOENT, hw_queue_alloc(self->fd, self->viommu,
					  SELFTEST_QUEUE, 0, iova, 1ULL << 40,
					  &id));
	EXPECT_EQ(0, id);

	ASSERT_EQ(0, hw_queue_alloc(self->fd, self->viommu, SELFTEST_QUEUE, 0,
				    iova, PAGE_SZ, &q[0]));
	EXPECT_EQ(-EEXIST, hw_queue_alloc(self->fd, self->viommu,
					  SELFTEST_QUEUE, 0, iova, PAGE_SZ,
					  &id));
	ASSERT_EQ(0, hw_queue_alloc(self->fd, self->viommu, SELFTEST_QUEUE, 1,
				    iova + PAGE_SZ + 64, 64, &q[1]));
	/* A second vIOMMU has queues of its own. */
	ASSERT_EQ(0, viommu_alloc(self->fd, self->idev, self->parent,
				  SELFTEST_VIOMMU, NULL, 0, &v2));
	ASSERT_EQ(0, hw_queue_alloc(self->fd, v2, SELFTEST_QUEUE, 0, iova,
				    PAGE_SZ, &id));

	/* Pinned while they exist: no unmap, no destroy out of order. */
	EXPECT_EQ(-EBUSY, ioas_unmap(self->fd, self->ioas, iova, 4 * PAGE_SZ,
				     NULL));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, q[0]));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->viommu));
	EXPECT_EQ(0, obj_destroy(self->fd, q[1]));
	EXPECT_EQ(-EBUSY, ioas_unmap(self->fd, self->ioas, iova, 4 * PAGE_SZ,
				     NULL));
	EXPECT_EQ(0, obj_destroy(self->fd, q[0]));
	EXPECT_EQ(0, obj_destroy(self->fd, id));
	/* Failed and destroyed queues alike left no pin behind. */
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, iova, 4 * PAGE_SZ,
				NULL));
	EXPECT_EQ(0, obj_destroy(self->fd, v2));
	EXPECT_EQ(0, obj_destroy(self->fd, self->viommu));
}

/*
 * A read whose buffer faults part way returns the records before the
 * fault; the one that faulted is read next time, and the lost-events
 * marker stays the last record throughout.
 */
TEST_F(viommu, veventq_read_faults)
{
	uint32_t nested, vdev, q, pt;
	struct rec *recs;
	uint8_t *two;
	int qfd;

	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->viommu, 0,
				       &nested));
	ASSERT_EQ(0, vdevice_alloc(self->fd, self->viommu, self->idev, 0x11,
				   &vdev));
	pt = nested;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	ASSERT_EQ(0, veventq_alloc(self->fd, self->viommu, SELFTEST_EVENTS, 2,
				   &q, &qfd));
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev));
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev));
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev));

	/* One record fits before the unreadable page. */
	two = mmap(NULL, 2 * PAGE_SZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	ASSERT_EQ(0, mprotect(two + PAGE_SZ, PAGE_SZ, PROT_NONE));
	recs = (struct rec *)(two + PAGE_SZ - sizeof(*recs));
	EXPECT_EQ(sizeof(*recs), read(qfd, recs, 3 * sizeof(*recs)));
	EXPECT_EQ(0, recs[0].hdr.sequence);
	/* Nothing fits: EFAULT, and nothing is lost. */
	recs = (struct rec *)(two + PAGE_SZ);
	EXPECT_EQ(-1, read(qfd, recs, sizeof(*recs)));
	EXPECT_EQ(EFAULT, errno);
	/* The marker faults too and stays. */
	recs = (struct rec *)(two + PAGE_SZ - sizeof(*recs));
	EXPECT_EQ(sizeof(*recs), read(qfd, recs, 3 * sizeof(*recs)));
	EXPECT_EQ(1, recs[0].hdr.sequence);
	recs = (struct rec *)two;
	EXPECT_EQ(sizeof(recs[0].hdr), read(qfd, recs, 3 * sizeof(*recs)));
	EXPECT_EQ(IOMMU_VEVENTQ_FLAG_LOST_EVENTS, recs[0].hdr.flags);
	EXPECT_EQ(2, recs[0].hdr.sequence);
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev));
	EXPECT_EQ(sizeof(*recs), read(qfd, recs, 3 * sizeof(*recs)));
	EXPECT_EQ(0, recs[0].hdr.flags);
	EXPECT_EQ(3, recs[0].hdr.sequence);
	EXPECT_EQ(0, read(qfd, recs, sizeof(*recs)));
	munmap(two, 2 * PAGE_SZ);

	close(qfd);
	pt = self->ioas;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_EQ(0, obj_destroy(self->fd, q));
	EXPECT_EQ(0, obj_destroy(self->fd, vdev));
	EXPECT_EQ(0, obj_destroy(self->fd, nested));
}

/* Closing the file with every kind of object alive frees them all. */
TEST_F(viommu, close_with_everything_alive)
{
	struct iommu_viommu_selftest data = { .in_data = 3 };
	uint32_t v2, nested, vdev, q, hwq0, hwq1;
	uint32_t pt;
	int qfd;

	ASSERT_EQ(0, viommu_alloc(self->fd, self->idev, self->parent,
				  SELFTEST_VIOMMU, &data, sizeof(data), &v2));
	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, v2, 0, &nested));
	ASSERT_EQ(0, vdevice_alloc(self->fd, v2, self->idev, 9, &vdev));
	pt = nested;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	ASSERT_EQ(0, veventq_alloc(self->fd, v2, SELFTEST_EVENTS, 8, &q,
				   &qfd));
	ASSERT_EQ(0, trigger_vevent(self->fd, self->idev));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, 2 * PAGE_SZ,
			      BASE, RW_FLAGS));
	ASSERT_EQ(0, hw_queue_alloc(self->fd, v2, SELFTEST_QUEUE, 0, BASE,
				    PAGE_SZ, &hwq0));
	ASSERT_EQ(0, hw_queue_alloc(self->fd, v2, SELFTEST_QUEUE, 1,
				    BASE + PAGE_SZ, PAGE_SZ, &hwq1));
	/* The queue's file holds the context: close it first, unread. */
	close(qfd);
	close(self->fd);
	self->fd = iofd_open();
	EXPECT_EQ(0, check_pins(self->fd, self->buf, 2 * PAGE_SZ, 0));
}

FIXTURE(pasid)
{
	int fd;
	uint32_t ioas;
	uint32_t stdev, idev;		/* PASID-capable */
	uint32_t plain_stdev, plain_idev;	/* not */
	uint32_t parent, s2;		/* s2: PASID-compatible paging */
	uint32_t n_pasid;		/* nested, PASID-compatible */
};

FIXTURE_SETUP(pasid)
{
	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas,
				       MOCK_FLAGS_DEVICE_PASID, &self->stdev,
				       NULL, &self->idev));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &self->plain_stdev,
				 NULL, &self->plain_idev));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &self->parent));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas,
				IOMMU_HWPT_ALLOC_PASID, &self->s2));
	ASSERT_EQ(0, nested_flags_alloc(self->fd, self->idev, self->parent,
					IOMMU_HWPT_ALLOC_PASID, 0,
					&self->n_pasid));
}

FIXTURE_TEARDOWN(pasid)
{
	close(self->fd);
}

#define ATTACH IOMMU_TEST_OP_PASID_ATTACH
#define REPLACE IOMMU_TEST_OP_PASID_REPLACE
#define DETACH IOMMU_TEST_OP_PASID_DETACH

TEST_F(pasid, hw_info_reports_width)
{
	struct iommu_test_hw_info info;
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = self->idev,
		.data_len = sizeof(info),
		.data_uptr = (uintptr_t)&info,
	};

	ASSERT_EQ(0, xioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(MOCK_PASID_WIDTH, cmd.out_max_pasid_log2);
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, cmd.out_data_type);
	EXPECT_EQ(IOMMU_HW_CAP_DIRTY_TRACKING, cmd.out_capabilities);
	cmd.dev_id = self->plain_idev;
	ASSERT_EQ(0, xioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(0, cmd.out_max_pasid_log2);
	/* Asking for a type: the driver's own, the default, another. */
	cmd.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
	cmd.in_data_type = IOMMU_HW_INFO_TYPE_SELFTEST;
	EXPECT_EQ(0, xioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.in_data_type = IOMMU_HW_INFO_TYPE_DEFAULT;
	EXPECT_EQ(0, xioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, cmd.out_data_type);
	cmd.in_data_type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.flags = 2;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
}

TEST_F(pasid, attach_rules)
{
	uint32_t pt;

	/* Not PASID-compatible, not a HWPT, no such PASID, no such thing. */
	EXPECT_EQ(-EINVAL, pasid_op(self->fd, ATTACH, self->stdev, 10,
				    self->parent));
	EXPECT_EQ(-EINVAL, pasid_op(self->fd, ATTACH, self->stdev, 10,
				    self->ioas));
	EXPECT_EQ(-EINVAL, pasid_op(self->fd, ATTACH, self->stdev, 0,
				    self->s2));
	EXPECT_EQ(-EINVAL, pasid_op(self->fd, ATTACH, self->stdev,
				    1U << MOCK_PASID_WIDTH, self->s2));
	EXPECT_EQ(-ENOENT, pasid_op(self->fd, ATTACH, self->stdev, 10, 99999));
	EXPECT_EQ(-EINVAL, pasid_op(self->fd, ATTACH, self->plain_stdev, 10,
				    self->s2));
	EXPECT_EQ(0, pasid_check(self->fd, self->stdev, 10, 0));

	/* The RID must be on a PASID-compatible HWPT too, and stay so. */
	pt = self->parent;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_EQ(-EINVAL, pasid_op(self->fd, ATTACH, self->stdev, 10,
				    self->s2));
	pt = self->s2;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	ASSERT_EQ(0, pasid_op(self->fd, ATTACH, self->stdev, 10,
			      self->n_pasid));
	EXPECT_EQ(0, pasid_check(self->fd, self->stdev, 10, self->n_pasid));
	EXPECT_EQ(-EINVAL, pasid_check(self->fd, self->stdev, 10, self->s2));
	pt = self->parent;
	EXPECT_EQ(-EINVAL, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_EQ(-EBUSY, pasid_op(self->fd, ATTACH, self->stdev, 10,
				   self->s2));
	/* A PASID holds its HWPT. */
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->n_pasid));

	/* Replace: only an attached PASID, only to a compatible HWPT. */
	EXPECT_EQ(-EINVAL, pasid_op(self->fd, REPLACE, self->stdev, 11,
				    self->s2));
	EXPECT_EQ(-EINVAL, pasid_op(self->fd, REPLACE, self->stdev, 10,
				    self->ioas));
	EXPECT_EQ(0, pasid_check(self->fd, self->stdev, 10, self->n_pasid));
	ASSERT_EQ(0, pasid_op(self->fd, REPLACE, self->stdev, 10, self->s2));
	EXPECT_EQ(0, pasid_check(self->fd, self->stdev, 10, self->s2));
	EXPECT_EQ(0, obj_destroy(self->fd, self->n_pasid));
	/* Same HWPT again: nothing to do. */
	EXPECT_EQ(0, pasid_op(self->fd, REPLACE, self->stdev, 10, self->s2));

	/* The mock refuses to move this one: it stays where it was. */
	ASSERT_EQ(0, pasid_op(self->fd, ATTACH, self->stdev,
			      IOMMU_TEST_PASID_RESERVED, self->s2));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas,
				IOMMU_HWPT_ALLOC_PASID, &pt));
	EXPECT_EQ(-ENOMEM, pasid_op(self->fd, REPLACE, self->stdev,
				    IOMMU_TEST_PASID_RESERVED, pt));
	EXPECT_EQ(0, pasid_check(self->fd, self->stdev,
				 IOMMU_TEST_PASID_RESERVED, self->s2));
	EXPECT_EQ(0, obj_destroy(self->fd, pt));

	/* Detach is idempotent; then the RID is free to move again. */
	EXPECT_EQ(0, pasid_op(self->fd, DETACH, self->stdev, 10, 0));
	EXPECT_EQ(0, pasid_op(self->fd, DETACH, self->stdev, 10, 0));
	EXPECT_EQ(0, pasid_check(self->fd, self->stdev, 10, 0));
	EXPECT_EQ(0, pasid_op(self->fd, DETACH, self->stdev,
			      IOMMU_TEST_PASID_RESERVED, 0));
	pt = self->parent;
	EXPECT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	pt = self->ioas;
	EXPECT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_EQ(0, obj_destroy(self->fd, self->s2));
}

/* A non-PASID device may use PASID-compatible HWPTs for its RID. */
TEST_F(pasid, compatible_hwpt_for_plain_rid)
{
	uint32_t pt = self->s2;

	ASSERT_EQ(0, mock_replace(self->fd, self->plain_stdev, &pt));
	pt = self->n_pasid;
	ASSERT_EQ(0, mock_replace(self->fd, self->plain_stdev, &pt));
	pt = self->ioas;
	ASSERT_EQ(0, mock_replace(self->fd, self->plain_stdev, &pt));
	/* The PASID flag needs an IOMMU with PASIDs, not a PASID device. */
	EXPECT_EQ(0, hwpt_alloc(self->fd, self->plain_idev, self->ioas,
				IOMMU_HWPT_ALLOC_PASID, &pt));
}

/* Faults tagged with a PASID go to its HWPT's FAULT object. */
TEST_F(pasid, fault_through_pasid)
{
	struct iommu_hwpt_pgfault f;
	uint32_t fault, iopf, pt;
	int ffd;

	ASSERT_EQ(0, fault_alloc(self->fd, &fault, &ffd));
	ASSERT_EQ(0, nested_flags_alloc(self->fd, self->idev, self->parent,
					IOMMU_HWPT_ALLOC_PASID, fault, &iopf));
	pt = self->s2;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	ASSERT_EQ(0, pasid_op(self->fd, ATTACH, self->stdev, 2048, iopf));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev, 2048, 5, 0x1000));
	ASSERT_EQ(sizeof(f), read(ffd, &f, sizeof(f)));
	EXPECT_EQ(2048, f.pasid);
	EXPECT_EQ(self->idev, f.dev_id);
	EXPECT_TRUE(f.flags & IOMMU_PGFAULT_FLAGS_PASID_VALID);
	EXPECT_EQ(0, fault_respond(ffd, f.cookie, IOMMUFD_PAGE_RESP_SUCCESS));

	/* One left unanswered is answered for us when the PASID moves. */
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev, 2048, 6, 0x2000));
	ASSERT_EQ(0, pasid_op(self->fd, REPLACE, self->stdev, 2048, self->s2));
	EXPECT_EQ(0, read(ffd, &f, sizeof(f)));
	EXPECT_EQ(0, pasid_op(self->fd, DETACH, self->stdev, 2048, 0));
	EXPECT_EQ(0, obj_destroy(self->fd, iopf));
	close(ffd);
	EXPECT_EQ(0, obj_destroy(self->fd, fault));
}

/* PASIDs still attached when the file closes are detached. */
TEST_F(pasid, close_with_pasids_attached)
{
	uint32_t pt = self->s2;

	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	ASSERT_EQ(0, pasid_op(self->fd, ATTACH, self->stdev, 1, self->s2));
	ASSERT_EQ(0, pasid_op(self->fd, ATTACH, self->stdev, 2,
			      self->n_pasid));
	close(self->fd);
	self->fd = iofd_open();
}

/*
 * Events against readers against destroy: one thread makes the device
 * raise events, one creates a queue, reads it for a while, closes and
 * destroys it, one takes the device's vDEVICE away and back and moves the
 * device off the vIOMMU and back, one keeps trying to destroy the vIOMMU.
 * Every errno must be one the race explains, records must be well formed
 * and in sequence within each queue.
 */
struct ev_race {
	int fd;
	uint32_t ioas, stdev, idev, viommu, nested;
	volatile bool stop;
	volatile int failed;
	unsigned long events, queues, vdevs;
};

static void *ev_trigger(void *arg)
{
	struct ev_race *r = arg;

	while (!r->stop) {
		int rc = trigger_vevent(r->fd, r->idev);

		/* ENOENT: no vDEVICE or not on the vIOMMU; EOPNOTSUPP: no queue */
		if (!rc)
			r->events++;
		else if (rc != -ENOENT && rc != -EOPNOTSUPP)
			r->failed = 1;
	}
	return NULL;
}

static void *ev_reader(void *arg)
{
	struct ev_race *r = arg;
	struct rec recs[8];

	while (!r->stop) {
		uint32_t q, next = 0;
		bool first = true;
		int qfd, i, n;

		if (veventq_alloc(r->fd, r->viommu, SELFTEST_EVENTS, 4, &q,
				  &qfd)) {
			r->failed = 2;
			break;
		}
		for (i = 0; i != 50; i++) {
			ssize_t got = read(qfd, recs, sizeof(recs));
			char *p = (char *)recs;

			if (got < 0) {
				r->failed = 3;
				break;
			}
			for (n = 0; got > 0; n++) {
				struct rec *rec = (struct rec *)p;

				if (rec->hdr.flags ==
				    IOMMU_VEVENTQ_FLAG_LOST_EVENTS) {
					next = rec->hdr.sequence;
					got -= sizeof(rec->hdr);
					p += sizeof(rec->hdr);
					continue;
				}
				if (rec->hdr.flags || rec->ev.virt_id != 0x55 ||
				    (!first && rec->hdr.sequence < next))
					r->failed = 4;
				first = false;
				next = rec->hdr.sequence + 1;
				got -= sizeof(*rec);
				p += sizeof(*rec);
			}
		}
		close(qfd);
		if (obj_destroy(r->fd, q))
			r->failed = 5;
		r->queues++;
	}
	return NULL;
}

static void *ev_churn(void *arg)
{
	struct ev_race *r = arg;
	unsigned int i;

	for (i = 0; !r->stop; i++) {
		uint32_t vdev, pt;
		int rc;

		rc = vdevice_alloc(r->fd, r->viommu, r->idev, 0x55, &vdev);
		if (rc) {
			r->failed = 6;
			break;
		}
		pt = r->nested;
		if (mock_replace(r->fd, r->stdev, &pt))
			r->failed = 7;
		usleep(100);
		if (i % 2) {
			pt = r->ioas;
			if (mock_replace(r->fd, r->stdev, &pt))
				r->failed = 8;
		}
		if (obj_destroy(r->fd, vdev))
			r->failed = 9;
		if (!(i % 2)) {
			pt = r->ioas;
			if (mock_replace(r->fd, r->stdev, &pt))
				r->failed = 10;
		}
		r->vdevs++;
	}
	return NULL;
}

static void *ev_destroyer(void *arg)
{
	struct ev_race *r = arg;

	while (!r->stop)
		if (obj_destroy(r->fd, r->viommu) != -EBUSY)
			r->failed = 11;
	return NULL;
}

TEST_F(viommu, race_events_read_destroy)
{
	struct ev_race r = {
		.fd = self->fd,
		.ioas = self->ioas,
		.stdev = self->stdev,
		.idev = self->idev,
		.viommu = self->viommu,
	};
	void *(*fns[])(void *) = { ev_trigger, ev_reader, ev_churn,
				   ev_destroyer };
	pthread_t t[4];
	unsigned int i;

	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->viommu, 0,
				       &r.nested));
	for (i = 0; i != 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fns[i], &r));
	sleep(3);
	r.stop = true;
	for (i = 0; i != 4; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	TH_LOG("%lu events, %lu queues, %lu vDEVICEs", r.events, r.queues,
	       r.vdevs);
	EXPECT_EQ(0, r.failed);
	EXPECT_NE(0, r.events);
	EXPECT_EQ(0, obj_destroy(self->fd, r.nested));
	EXPECT_EQ(0, obj_destroy(self->fd, self->viommu));
}

/*
 * vDEVICE allocation against the unbinding of its device: a new mock
 * device is made, given vDEVICEs on two vIOMMUs by racing threads, and
 * destroyed, over and over. No vDEVICE may survive its device, and every
 * errno must be one the race explains.
 */
struct vd_race {
	int fd;
	uint32_t ioas, viommu, v2;
	volatile uint32_t idev;
	volatile uint32_t last_vdev;
	volatile bool stop;
	volatile int failed;
	unsigned long made, lost, destroyed;
};

static void *vd_alloc(void *arg)
{
	struct vd_race *r = arg;
	unsigned int i;

	for (i = 0; !r->stop; i++) {
		uint32_t vdev;
		int rc = vdevice_alloc(r->fd, i % 2 ? r->viommu : r->v2,
				       r->idev, i, &vdev);

		/* ENOENT: the device is gone; EEXIST: it has one there. */
		if (!rc) {
			r->made++;
			r->last_vdev = vdev;
		}
		else if (rc == -ENOENT || rc == -EEXIST)
			r->lost++;
		else
			r->failed = 1;
	}
	return NULL;
}

/*
 * IOMMU_DESTROY of the newest vDEVICE, against the unbind that tombstones
 * it: ENOENT when the unbind got there first. Each ID made is destroyed
 * at most once, so it cannot name another object by then: only this
 * thread frees vDEVICE IDs, and a tombstone keeps its ID.
 */
static void *vd_destroy(void *arg)
{
	struct vd_race *r = arg;

	while (!r->stop) {
		uint32_t id = __atomic_exchange_n(&r->last_vdev, 0,
						  __ATOMIC_SEQ_CST);
		int rc;

		if (!id)
			continue;
		rc = obj_destroy(r->fd, id);
		if (!rc)
			r->destroyed++;
		else if (rc != -ENOENT)
			r->failed = 2;
	}
	return NULL;
}

TEST_F(viommu, race_vdevice_alloc_unbind)
{
	struct vd_race r = { .fd = self->fd, .viommu = self->viommu };
	void *(*fns[])(void *) = { vd_alloc, vd_alloc, vd_destroy };
	pthread_t t[3];
	unsigned int i, n;

	ASSERT_EQ(0, viommu_alloc(self->fd, self->idev, self->parent,
				  SELFTEST_VIOMMU, NULL, 0, &r.v2));
	r.idev = self->idev;
	for (i = 0; i != 3; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fns[i], &r));
	for (n = 0; n != 200; n++) {
		uint32_t stdev, idev;

		ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &stdev, NULL,
					 &idev));
		r.idev = idev;
		usleep(200);
		ASSERT_EQ(0, obj_destroy(self->fd, stdev));
	}
	r.stop = true;
	for (i = 0; i != 3; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	TH_LOG("%lu vDEVICEs made, %lu refused, %lu destroyed", r.made,
	       r.lost, r.destroyed);
	EXPECT_EQ(0, r.failed);
	/* The fixture's own device may hold some; take it away too. */
	ASSERT_EQ(0, obj_destroy(self->fd, self->stdev));
	EXPECT_EQ(0, obj_destroy(self->fd, r.v2));
	EXPECT_EQ(0, obj_destroy(self->fd, self->viommu));
}

/*
 * HW queue allocation against unmapping its memory and destroying it: the
 * queue either pins the memory (and the unmap fails with EBUSY) or finds
 * it gone (ENOENT); no pin may outlive the queue.
 */
struct hq_race {
	int fd;
	uint32_t ioas, viommu;
	uint8_t *buf;
	volatile bool stop;
	volatile int failed;
	unsigned long queues, unmaps;
};

static void *hq_queues(void *arg)
{
	struct hq_race *r = arg;

	while (!r->stop) {
		uint32_t q;
		int rc = hw_queue_alloc(r->fd, r->viommu, SELFTEST_QUEUE, 0,
					BASE, PAGE_SZ, &q);

		/* ENOENT: not mapped; EINVAL: being unmapped right now. */
		if (rc == -ENOENT || rc == -EINVAL)
			continue;
		if (rc) {
			r->failed = 1;
			break;
		}
		r->queues++;
		if (obj_destroy(r->fd, q))
			r->failed = 2;
	}
	return NULL;
}

static void *hq_mapper(void *arg)
{
	struct hq_race *r = arg;

	while (!r->stop) {
		int rc = ioas_map(r->fd, r->ioas, r->buf, PAGE_SZ, BASE,
				  RW_FLAGS);

		if (rc && rc != -EEXIST)
			r->failed = 3;
		rc = ioas_unmap(r->fd, r->ioas, BASE, PAGE_SZ, NULL);
		if (!rc)
			r->unmaps++;
		else if (rc != -EBUSY)
			r->failed = 4;
	}
	return NULL;
}

/*
 * A queue that stays pins part of a mapping, so every unmap of it goes
 * round asking the accesses of the IOAS to let go, and fails with EBUSY;
 * meanwhile queues of other vIOMMUs come and go in another mapping, their
 * internal accesses joining and leaving the IOAS under the unmap's feet.
 */
struct hq_churn {
	int fd;
	uint32_t ioas, viommu;
	uint64_t iova;
	volatile bool *stop;
	volatile int failed;
	unsigned long queues;
};

static void *hq_churner(void *arg)
{
	struct hq_churn *c = arg;

	while (!*c->stop) {
		uint32_t q;
		int rc = hw_queue_alloc(c->fd, c->viommu, SELFTEST_QUEUE, 0,
					c->iova, PAGE_SZ, &q);

		if (rc) {
			c->failed = 1;
			break;
		}
		if (obj_destroy(c->fd, q))
			c->failed = 2;
		/* Unmapped: the access comes and goes without a pin. */
		if (hw_queue_alloc(c->fd, c->viommu, SELFTEST_QUEUE, 0,
				   BASE + 1024 * PAGE_SZ, PAGE_SZ,
				   &q) != -ENOENT)
			c->failed = 3;
		c->queues++;
	}
	return NULL;
}

TEST_F(viommu, race_unmap_against_queue_churn)
{
	volatile bool stop = false;
	struct hq_churn c[2];
	unsigned long busy = 0;
	uint32_t held;
	pthread_t t[2];
	unsigned int i;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, 2 * PAGE_SZ,
			      BASE, RW_FLAGS));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf + 2 * PAGE_SZ,
			      2 * PAGE_SZ, BASE + 64 * PAGE_SZ, RW_FLAGS));
	ASSERT_EQ(0, hw_queue_alloc(self->fd, self->viommu, SELFTEST_QUEUE, 0,
				    BASE, PAGE_SZ, &held));
	for (i = 0; i != 2; i++) {
		c[i] = (struct hq_churn){
			.fd = self->fd,
			.ioas = self->ioas,
			.iova = BASE + (64 + i) * PAGE_SZ,
			.stop = &stop,
		};
		ASSERT_EQ(0, viommu_alloc(self->fd, self->idev, self->parent,
					  SELFTEST_VIOMMU, NULL, 0,
					  &c[i].viommu));
		ASSERT_EQ(0, pthread_create(&t[i], NULL, hq_churner, &c[i]));
	}
	for (i = 0; i != 300; i++) {
		int rc = ioas_unmap(self->fd, self->ioas, BASE, 2 * PAGE_SZ,
				    NULL);

		if (rc != -EBUSY)
			break;
		busy++;
	}
	stop = true;
	for (i = 0; i != 2; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	TH_LOG("%lu refused unmaps, %lu + %lu queues", busy, c[0].queues,
	       c[1].queues);
	EXPECT_EQ(300, busy);
	EXPECT_EQ(0, c[0].failed);
	EXPECT_EQ(0, c[1].failed);
	EXPECT_EQ(0, obj_destroy(self->fd, held));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, 0, UINT64_MAX, NULL));
	EXPECT_EQ(0, obj_destroy(self->fd, c[0].viommu));
	EXPECT_EQ(0, obj_destroy(self->fd, c[1].viommu));
}

TEST_F(viommu, race_hw_queue_unmap)
{
	struct hq_race r = {
		.fd = self->fd,
		.ioas = self->ioas,
		.viommu = self->viommu,
		.buf = self->buf,
	};
	pthread_t t[2];

	ASSERT_EQ(0, pthread_create(&t[0], NULL, hq_queues, &r));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, hq_mapper, &r));
	sleep(2);
	r.stop = true;
	ASSERT_EQ(0, pthread_join(t[0], NULL));
	ASSERT_EQ(0, pthread_join(t[1], NULL));
	TH_LOG("%lu queues, %lu unmaps", r.queues, r.unmaps);
	EXPECT_EQ(0, r.failed);
	ioas_unmap(self->fd, self->ioas, BASE, PAGE_SZ, NULL);
	EXPECT_EQ(0, check_pins(self->fd, self->buf, PAGE_SZ, 0));
}

/*
 * PASID changes against RID replace and HWPT destroy: every errno must be
 * one the race explains, and the rules (a PASID only on a compatible HWPT,
 * the RID only on one while a PASID is attached) must hold at the end.
 */
struct pa_race {
	int fd;
	uint32_t ioas, stdev, idev, parent, s2;
	volatile uint32_t victim;
	volatile bool stop;
	volatile int failed;
	unsigned long moves;
};

static void *pa_pasids(void *arg)
{
	struct pa_race *r = arg;
	unsigned int i;

	for (i = 0; !r->stop; i++) {
		uint32_t pasid = 1 + i % 3;
		int rc;

		rc = pasid_op(r->fd, ATTACH, r->stdev, pasid, r->s2);
		if (rc && rc != -EBUSY && rc != -EINVAL)
			r->failed = 1;
		rc = pasid_op(r->fd, REPLACE, r->stdev, pasid, r->victim);
		/* ENOENT: the victim was destroyed; EINVAL: ID reused. */
		if (rc && rc != -EINVAL && rc != -ENOENT)
			r->failed = 2;
		if (i % 2)
			pasid_op(r->fd, DETACH, r->stdev, pasid, 0);
		r->moves++;
	}
	return NULL;
}

static void *pa_rid(void *arg)
{
	struct pa_race *r = arg;
	unsigned int i;

	for (i = 0; !r->stop; i++) {
		uint32_t pt = i % 2 ? r->parent : r->s2;
		int rc = mock_replace(r->fd, r->stdev, &pt);

		/* EINVAL: the parent is refused while a PASID is attached. */
		if (rc && !(rc == -EINVAL && i % 2))
			r->failed = 3;
	}
	return NULL;
}

static void *pa_recycler(void *arg)
{
	struct pa_race *r = arg;

	while (!r->stop) {
		uint32_t v;
		int rc = obj_destroy(r->fd, r->victim);

		if (rc == -EBUSY)
			continue;
		if (rc || hwpt_alloc(r->fd, r->idev, r->ioas,
				     IOMMU_HWPT_ALLOC_PASID, &v)) {
			r->failed = 4;
			break;
		}
		r->victim = v;
	}
	return NULL;
}

TEST_F(pasid, race_attach_replace_destroy)
{
	struct pa_race r = {
		.fd = self->fd,
		.ioas = self->ioas,
		.stdev = self->stdev,
		.idev = self->idev,
		.parent = self->parent,
		.s2 = self->s2,
	};
	void *(*fns[])(void *) = { pa_pasids, pa_rid, pa_recycler };
	pthread_t t[3];
	unsigned int i;
	uint32_t v;

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas,
				IOMMU_HWPT_ALLOC_PASID, &v));
	r.victim = v;
	for (i = 0; i != 3; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fns[i], &r));
	sleep(3);
	r.stop = true;
	for (i = 0; i != 3; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	TH_LOG("%lu PASID rounds", r.moves);
	EXPECT_EQ(0, r.failed);

	for (i = 1; i != 4; i++)
		EXPECT_EQ(0, pasid_op(self->fd, DETACH, self->stdev, i, 0));
	v = self->ioas;
	EXPECT_EQ(0, mock_replace(self->fd, self->stdev, &v));
	EXPECT_EQ(0, obj_destroy(self->fd, r.victim));
	EXPECT_EQ(0, obj_destroy(self->fd, self->s2));
}

TEST_HARNESS_MAIN
