// SPDX-License-Identifier: GPL-2.0-only
/*
 * Nested HWPTs on the mock IOMMU: a paging HWPT allocated with
 * IOMMU_HWPT_ALLOC_NEST_PARENT, nested HWPTs on it described by
 * IOMMU_HWPT_DATA_SELFTEST, devices attached to and moved between them,
 * and IOMMU_HWPT_INVALIDATE against the mock's pretend IOTLB, which starts
 * with every entry at the value given at allocation and has entries reset
 * to 0 by each request carried out.
 */
#include <pthread.h>

#include "iommufd_test_lib.h"

#define BASE MOCK_APERTURE_START

static int nested_alloc(int fd, uint32_t idev, uint32_t parent, uint32_t flags,
			uint32_t type, void *data, uint32_t len, uint32_t *out)
{
	return hwpt_alloc_full(fd, idev, parent, flags, 0, type, data, len,
			       out);
}

static int check_iotlb(int fd, uint32_t hwpt, uint32_t entry, uint32_t val)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_IOTLB,
		.id = hwpt,
		.check_iotlb = { .id = entry, .iotlb = val },
	};

	return test_cmd(fd, &cmd);
}

/* The four pretend IOTLB entries hold @vals. */
static bool iotlb_is(int fd, uint32_t hwpt, uint32_t a, uint32_t b,
		     uint32_t c, uint32_t d)
{
	return !check_iotlb(fd, hwpt, 0, a) && !check_iotlb(fd, hwpt, 1, b) &&
	       !check_iotlb(fd, hwpt, 2, c) && !check_iotlb(fd, hwpt, 3, d);
}

#define DEF IOMMU_TEST_IOTLB_DEFAULT
#define SELFTEST_INV IOMMU_HWPT_INVALIDATE_DATA_SELFTEST

FIXTURE(nested)
{
	int fd;
	uint32_t ioas;
	uint32_t stdev, idev;
	uint32_t parent;	/* NEST_PARENT paging HWPT of ioas */
	uint32_t plain;		/* a paging HWPT that is no parent */
	struct iommu_hwpt_selftest data;
	uint8_t *buf;
};

FIXTURE_SETUP(nested)
{
	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &self->stdev, NULL,
				 &self->idev));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &self->parent));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas, 0,
				&self->plain));
	self->data.iotlb = DEF;
	self->buf = alloc_buffer(16 * PAGE_SZ);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(nested)
{
	close(self->fd);
}

TEST_F(nested, alloc_bad_input_changes_nothing)
{
	struct {
		struct iommu_hwpt_selftest data;
		uint32_t more;
	} longer = { .data.iotlb = DEF, .more = 1 };
	uint32_t nested, id = 0;

	/* The parent must have been allocated as one. */
	EXPECT_EQ(-EINVAL, nested_alloc(self->fd, self->idev, self->plain, 0,
					IOMMU_HWPT_DATA_SELFTEST, &self->data,
					sizeof(self->data), &id));
	/* Driver data: none, unknown, short, unreadable, too long. */
	EXPECT_EQ(-EINVAL, nested_alloc(self->fd, self->idev, self->parent, 0,
					IOMMU_HWPT_DATA_NONE, &self->data,
					sizeof(self->data), &id));
	EXPECT_EQ(-EOPNOTSUPP, nested_alloc(self->fd, self->idev, self->parent,
					    0, IOMMU_HWPT_DATA_SELFTEST + 1,
					    &self->data, sizeof(self->data),
					    &id));
	EXPECT_EQ(-EINVAL, nested_alloc(self->fd, self->idev, self->parent, 0,
					IOMMU_HWPT_DATA_SELFTEST, &self->data,
					sizeof(self->data) - 1, &id));
	EXPECT_EQ(-EFAULT, nested_alloc(self->fd, self->idev, self->parent, 0,
					IOMMU_HWPT_DATA_SELFTEST, NULL,
					sizeof(self->data), &id));
	EXPECT_EQ(-EINVAL, nested_alloc(self->fd, self->idev, self->parent, 0,
					IOMMU_HWPT_DATA_SELFTEST, &longer,
					sizeof(longer), &id));
	/* Paging flags mean nothing for a nested HWPT. */
	EXPECT_EQ(-EOPNOTSUPP, nested_alloc(self->fd, self->idev, self->parent,
					    IOMMU_HWPT_ALLOC_NEST_PARENT,
					    IOMMU_HWPT_DATA_SELFTEST,
					    &self->data, sizeof(self->data),
					    &id));
	EXPECT_EQ(-EOPNOTSUPP, nested_alloc(self->fd, self->idev, self->parent,
					    IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
					    IOMMU_HWPT_DATA_SELFTEST,
					    &self->data, sizeof(self->data),
					    &id));
	/* Wrong objects. */
	EXPECT_EQ(-ENOENT, nested_alloc(self->fd, self->ioas, self->parent, 0,
					IOMMU_HWPT_DATA_SELFTEST, &self->data,
					sizeof(self->data), &id));
	EXPECT_EQ(-ENOENT, nested_alloc(self->fd, self->idev, 99999, 0,
					IOMMU_HWPT_DATA_SELFTEST, &self->data,
					sizeof(self->data), &id));
	/* No nesting on a nested HWPT. */
	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->parent, 0,
				       &nested));
	EXPECT_EQ(-EINVAL, nested_alloc(self->fd, self->idev, nested, 0,
					IOMMU_HWPT_DATA_SELFTEST, &self->data,
					sizeof(self->data), &id));
	EXPECT_EQ(0, id);

	/* Nothing was left behind: both HWPTs go at once. */
	EXPECT_EQ(0, obj_destroy(self->fd, nested));
	EXPECT_EQ(0, obj_destroy(self->fd, self->parent));
	EXPECT_EQ(0, obj_destroy(self->fd, self->plain));
}

TEST_F(nested, parent_outlives_its_children)
{
	uint32_t n1, n2;

	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->parent, 0,
				       &n1));
	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->parent, 0,
				       &n2));
	EXPECT_NE(n1, n2);
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->parent));
	/* The parent's IOAS is held through it. */
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->ioas));
	EXPECT_EQ(0, obj_destroy(self->fd, n1));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->parent));
	EXPECT_EQ(0, obj_destroy(self->fd, n2));
	EXPECT_EQ(0, obj_destroy(self->fd, self->parent));
}

TEST_F(nested, attach_replace_detach)
{
	uint32_t n1, n2, pt, stdev2;

	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->parent, 0,
				       &n1));
	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->parent, 0,
				       &n2));
	/* Attach a new device straight to a nested HWPT. */
	ASSERT_EQ(0, mock_domain(self->fd, n1, &stdev2, &pt, NULL));
	EXPECT_EQ(n1, pt);
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, n1));

	/* IOAS -> nested -> nested -> parent -> nested -> IOAS. */
	pt = n1;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	pt = n2;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, n2));
	pt = self->parent;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_EQ(0, obj_destroy(self->fd, n2));
	pt = n1;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	pt = self->ioas;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	EXPECT_NE(self->parent, pt);

	/* Still in use by the second device until it goes. */
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, n1));
	ASSERT_EQ(0, obj_destroy(self->fd, stdev2));
	EXPECT_EQ(0, obj_destroy(self->fd, n1));
	EXPECT_EQ(0, obj_destroy(self->fd, self->parent));
}

/* The IOAS under a nested HWPT keeps working: maps reach the parent. */
TEST_F(nested, parent_ioas_still_maps)
{
	uint32_t n1, pt;

	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->parent, 0,
				       &n1));
	pt = n1;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &pt));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas, self->buf, 16 * PAGE_SZ,
			      BASE, RW_FLAGS));
	EXPECT_EQ(0, check_map(self->fd, self->parent, BASE, 16 * PAGE_SZ,
			       self->buf));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas, BASE, 16 * PAGE_SZ,
				NULL));
}

TEST_F(nested, invalidate_in_order)
{
	struct iommu_hwpt_invalidate_selftest reqs[2] = {};
	uint32_t n1, n2, num;

	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->parent, 0,
				       &n1));
	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->parent, 0,
				       &n2));
	EXPECT_TRUE(iotlb_is(self->fd, n1, DEF, DEF, DEF, DEF));

	/* An empty array is fine, whatever its pointer. */
	num = 0;
	EXPECT_EQ(0, invalidate_any(self->fd, n1, SELFTEST_INV, NULL, 0, &num));
	EXPECT_EQ(0, num);

	/* One, then two. */
	reqs[0].iotlb_id = 1;
	num = 1;
	EXPECT_EQ(0, invalidate_any(self->fd, n1, SELFTEST_INV, reqs,
				    sizeof(reqs[0]), &num));
	EXPECT_EQ(1, num);
	EXPECT_TRUE(iotlb_is(self->fd, n1, DEF, 0, DEF, DEF));
	reqs[0].iotlb_id = 0;
	reqs[1].iotlb_id = 3;
	num = 2;
	EXPECT_EQ(0, invalidate_any(self->fd, n1, SELFTEST_INV, reqs,
				    sizeof(reqs[0]), &num));
	EXPECT_EQ(2, num);
	EXPECT_TRUE(iotlb_is(self->fd, n1, 0, 0, DEF, 0));

	/* A bad second request: the first is done and counted. */
	reqs[0].iotlb_id = 2;
	reqs[1].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
	num = 2;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, n1, SELFTEST_INV, reqs,
					  sizeof(reqs[0]), &num));
	EXPECT_EQ(1, num);
	EXPECT_TRUE(iotlb_is(self->fd, n1, 0, 0, 0, 0));

	/* The other HWPT was never touched; ALL clears it. */
	EXPECT_TRUE(iotlb_is(self->fd, n2, DEF, DEF, DEF, DEF));
	reqs[0].flags = IOMMU_TEST_INVALIDATE_FLAG_ALL;
	reqs[0].iotlb_id = 0;
	num = 1;
	EXPECT_EQ(0, invalidate_any(self->fd, n2, SELFTEST_INV, reqs,
				    sizeof(reqs[0]), &num));
	EXPECT_EQ(1, num);
	EXPECT_TRUE(iotlb_is(self->fd, n2, 0, 0, 0, 0));
}

TEST_F(nested, invalidate_bad_input_changes_nothing)
{
	struct iommu_hwpt_invalidate_selftest reqs[2] = {};
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.data_type = SELFTEST_INV,
		.entry_len = sizeof(reqs[0]),
		.entry_num = 1,
		.data_uptr = (uintptr_t)reqs,
	};
	uint32_t n1, num;

	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->parent, 0,
				       &n1));
	cmd.hwpt_id = n1;
	cmd.__reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	/* Every failure says how many were handled: none here. */
	EXPECT_EQ(0, cmd.entry_num);
	cmd.__reserved = 0;
	cmd.entry_len = PAGE_SZ + 8;
	cmd.entry_num = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(0, cmd.entry_num);
	cmd.entry_len = sizeof(reqs[0]);
	cmd.entry_num = (1U << 19) + 1;
	EXPECT_EQ(-EINVAL, xioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(0, cmd.entry_num);

	/* Requests: a flag nobody knows, and the first bad one stops. */
	reqs[0].flags = 0x80;
	num = 2;
	EXPECT_EQ(-EOPNOTSUPP, invalidate_any(self->fd, n1, SELFTEST_INV, reqs,
					      sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	reqs[0].flags = 0;

	/* Array descriptions. */
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, n1, SELFTEST_INV + 1, reqs,
					  sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, n1, SELFTEST_INV, reqs, 0,
					  &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, n1, SELFTEST_INV, NULL,
					  sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, n1, SELFTEST_INV, reqs, 1,
					  &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, n1, SELFTEST_INV, reqs,
					  sizeof(reqs[0]) + 4, &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_EQ(-EFAULT, invalidate_any(self->fd, n1, SELFTEST_INV,
					  (void *)8UL, sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);

	/* Objects without caches of user space's: EINVAL; unknown: ENOENT. */
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, self->parent, SELFTEST_INV,
					  reqs, sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate_any(self->fd, self->ioas, SELFTEST_INV,
					  reqs, sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_EQ(-ENOENT, invalidate_any(self->fd, 99999, SELFTEST_INV, reqs,
					  sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);

	EXPECT_TRUE(iotlb_is(self->fd, n1, DEF, DEF, DEF, DEF));
	/* The selftest's check itself refuses what it cannot check. */
	EXPECT_EQ(-EINVAL, check_iotlb(self->fd, n1, 0, 0));
	EXPECT_EQ(-EINVAL, check_iotlb(self->fd, n1,
				       MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1,
				       DEF));
	EXPECT_EQ(-ENOENT, check_iotlb(self->fd, self->parent, 0, DEF));
}

/*
 * One thread moves a device among two nested HWPTs, their parent and the
 * IOAS; one invalidates; one destroys the second nested HWPT whenever it
 * is free and makes a new one. Every errno must be one the race explains.
 */
struct nest_race {
	int fd;
	uint32_t ioas, stdev, idev, parent, n1;
	volatile uint32_t n2;
	volatile bool stop;
	volatile int failed;
	unsigned long rounds;
};

static void *nest_mover(void *arg)
{
	struct nest_race *r = arg;
	unsigned int i;

	for (i = 0; !r->stop; i++) {
		uint32_t choice[4] = { r->n1, r->n2, r->parent, r->ioas };
		uint32_t pt = choice[i % 4];
		int rc = mock_replace(r->fd, r->stdev, &pt);

		/* ENOENT: n2 was just destroyed. */
		if (rc && !(rc == -ENOENT && i % 4 == 1))
			r->failed = 1;
	}
	return NULL;
}

static void *nest_invalidator(void *arg)
{
	struct iommu_hwpt_invalidate_selftest req = {
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL,
	};
	struct nest_race *r = arg;
	unsigned int i;

	for (i = 0; !r->stop; i++) {
		uint32_t num = 1;
		int rc = invalidate_any(r->fd, i % 2 ? r->n2 : r->n1,
					SELFTEST_INV, &req, sizeof(req), &num);

		/*
		 * A stale n2: gone (ENOENT), or its ID already reused by the
		 * automatic HWPT of a move to the IOAS (EINVAL).
		 */
		if (rc && !((rc == -ENOENT || rc == -EINVAL) && i % 2))
			r->failed = 2;
	}
	return NULL;
}

static void *nest_recycler(void *arg)
{
	struct iommu_hwpt_selftest data = { .iotlb = DEF };
	struct nest_race *r = arg;

	while (!r->stop) {
		uint32_t n2;
		int rc = obj_destroy(r->fd, r->n2);

		if (rc == -EBUSY)
			continue;
		if (rc) {
			r->failed = 3;
			break;
		}
		if (nested_alloc(r->fd, r->idev, r->parent, 0,
				 IOMMU_HWPT_DATA_SELFTEST, &data,
				 sizeof(data), &n2)) {
			r->failed = 4;
			break;
		}
		r->n2 = n2;
		r->rounds++;
	}
	return NULL;
}

TEST_F(nested, race_replace_invalidate_destroy)
{
	struct nest_race r = {
		.fd = self->fd,
		.ioas = self->ioas,
		.stdev = self->stdev,
		.idev = self->idev,
		.parent = self->parent,
	};
	pthread_t t[3];
	uint32_t n2;
	unsigned int i;

	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->parent, 0,
				       &r.n1));
	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, self->parent, 0,
				       &n2));
	r.n2 = n2;
	ASSERT_EQ(0, pthread_create(&t[0], NULL, nest_mover, &r));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, nest_invalidator, &r));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, nest_recycler, &r));
	sleep(3);
	r.stop = true;
	for (i = 0; i != 3; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	TH_LOG("%lu nested HWPTs recycled", r.rounds);
	EXPECT_EQ(0, r.failed);

	/* Settles: back on the IOAS, everything goes. */
	n2 = self->ioas;
	ASSERT_EQ(0, mock_replace(self->fd, self->stdev, &n2));
	EXPECT_EQ(0, obj_destroy(self->fd, r.n1));
	EXPECT_EQ(0, obj_destroy(self->fd, r.n2));
	EXPECT_EQ(0, obj_destroy(self->fd, self->parent));
}

TEST_HARNESS_MAIN
