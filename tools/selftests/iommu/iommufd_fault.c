// SPDX-License-Identifier: GPL-2.0-only
/*
 * FAULT objects on the mock IOMMU: IOMMU_FAULT_QUEUE_ALLOC, HWPTs allocated
 * with IOMMU_HWPT_FAULT_ID_VALID, faults raised by the mock device
 * (IOMMU_TEST_OP_TRIGGER_IOPF) read from the FAULT fd with read(2) and
 * io_uring, answered by writing responses, poll(), and the faults the
 * kernel answers itself when a device leaves or the fd is closed.
 */
#include <linux/io_uring.h>
#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>

#include "iommufd_test_lib.h"

#define PGF_SIZE sizeof(struct iommu_hwpt_pgfault)
#define RESP_SIZE sizeof(struct iommu_hwpt_page_response)

/* A paging HWPT of @pt_id delivering faults to @fault_id. */
static int hwpt_alloc_fault(int fd, uint32_t idev, uint32_t pt_id,
			    uint32_t flags, uint32_t fault_id, uint32_t *hwpt)
{
	return hwpt_alloc_full(fd, idev, pt_id,
			       flags | IOMMU_HWPT_FAULT_ID_VALID, fault_id,
			       IOMMU_HWPT_DATA_NONE, NULL, 0, hwpt);
}

/* How many whole records read() gave, or -errno. */
static long read_faults(int ffd, struct iommu_hwpt_pgfault *out, size_t n)
{
	ssize_t got = read(ffd, out, n * PGF_SIZE);

	return got < 0 ? -errno : got / (long)PGF_SIZE;
}

static bool readable(int ffd)
{
	struct pollfd p = { .fd = ffd, .events = POLLIN | POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

FIXTURE(fault)
{
	int fd;
	uint32_t ioas, stdev, idev;
	uint32_t fault_id;
	int ffd;
	uint32_t hwpt;		/* paging, delivering to fault_id */
	uint32_t plain;		/* paging, no faults */
};

FIXTURE_SETUP(fault)
{
	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &self->stdev, NULL,
				 &self->idev));
	ASSERT_EQ(0, fault_alloc(self->fd, &self->fault_id, &self->ffd));
	ASSERT_EQ(0, hwpt_alloc_fault(self->fd, self->idev, self->ioas, 0,
				      self->fault_id, &self->hwpt));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas, 0,
				&self->plain));
}

FIXTURE_TEARDOWN(fault)
{
	if (self->ffd >= 0)
		close(self->ffd);
	close(self->fd);
}

static int attach(FIXTURE_DATA(fault) *self, uint32_t pt)
{
	return mock_replace(self->fd, self->stdev, &pt);
}

TEST_F(fault, alloc_and_lifetime)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd), .flags = 1 };
	uint32_t id, hwpt;
	int ffd;

	EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd));
	ASSERT_EQ(0, fault_alloc(self->fd, &id, &ffd));
	EXPECT_NE(0, id);
	/* The fd keeps it, and so does a HWPT using it. */
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, id));
	ASSERT_EQ(0, hwpt_alloc_fault(self->fd, self->idev, self->ioas, 0, id,
				      &hwpt));
	close(ffd);
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, id));
	EXPECT_EQ(0, obj_destroy(self->fd, hwpt));
	EXPECT_EQ(0, obj_destroy(self->fd, id));
	EXPECT_EQ(-ENOENT, obj_destroy(self->fd, id));
}

TEST_F(fault, hwpt_alloc_bad_input)
{
	uint32_t hwpt = 0;

	EXPECT_EQ(-ENOENT, hwpt_alloc_fault(self->fd, self->idev, self->ioas, 0,
					    99999, &hwpt));
	/* An ID of another type is no FAULT object. */
	EXPECT_EQ(-ENOENT, hwpt_alloc_fault(self->fd, self->idev, self->ioas, 0,
					    self->ioas, &hwpt));
	EXPECT_EQ(-EOPNOTSUPP,
		  hwpt_alloc_fault(self->fd, self->idev, self->ioas,
				   IOMMU_HWPT_ALLOC_NEST_PARENT,
				   self->fault_id, &hwpt));
	EXPECT_EQ(0, hwpt);
	/* Nothing was taken: the fault object goes once fd and HWPT do. */
	close(self->ffd);
	self->ffd = -1;
	EXPECT_EQ(0, obj_destroy(self->fd, self->hwpt));
	EXPECT_EQ(0, obj_destroy(self->fd, self->fault_id));
}

TEST_F(fault, read_and_respond)
{
	struct iommu_hwpt_pgfault f[2];

	/* Without a fault-capable HWPT nobody takes the fault. */
	EXPECT_EQ(-EINVAL, trigger_iopf(self->fd, self->idev, 0, 1, 0x1000));
	EXPECT_FALSE(readable(self->ffd));
	EXPECT_EQ(0, read_faults(self->ffd, f, 2));

	ASSERT_EQ(0, attach(self, self->hwpt));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev, 0, 7, 0xdead000));
	EXPECT_TRUE(readable(self->ffd));
	ASSERT_EQ(1, read_faults(self->ffd, f, 2));
	EXPECT_FALSE(readable(self->ffd));
	EXPECT_EQ(IOMMU_PGFAULT_FLAGS_LAST_PAGE, f[0].flags);
	EXPECT_EQ(self->idev, f[0].dev_id);
	EXPECT_EQ(7, f[0].grpid);
	EXPECT_EQ(IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE,
		  f[0].perm);
	EXPECT_EQ(0xdead000, f[0].addr);
	EXPECT_EQ(0, f[0].__reserved);

	/* A bad code is refused and the cookie stays good. */
	EXPECT_EQ(-EINVAL, fault_respond(self->ffd, f[0].cookie, 2));
	EXPECT_EQ(-EINVAL, fault_respond(self->ffd, f[0].cookie + 1, 0));
	EXPECT_EQ(0, fault_respond(self->ffd, f[0].cookie,
			     IOMMUFD_PAGE_RESP_SUCCESS));
	/* Answered: the cookie is gone. */
	EXPECT_EQ(-EINVAL, fault_respond(self->ffd, f[0].cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
}

TEST_F(fault, whole_records_and_groups)
{
	struct iommu_hwpt_pgfault f[4];
	struct iommu_hwpt_page_response resp[3];
	unsigned int i;

	ASSERT_EQ(0, attach(self, self->hwpt));
	for (i = 0; i != 3; i++)
		ASSERT_EQ(0, trigger_iopf(self->fd, self->idev, 0, i, 0x1000 * i));

	/* Only whole records, at offset 0. */
	EXPECT_EQ(-1, read(self->ffd, f, PGF_SIZE - 1));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, pread(self->ffd, f, PGF_SIZE, PGF_SIZE));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, write(self->ffd, resp, RESP_SIZE + 1));
	EXPECT_EQ(ESPIPE, errno);

	/* Oldest first, as many as fit. */
	ASSERT_EQ(2, read_faults(self->ffd, f, 2));
	ASSERT_EQ(1, read_faults(self->ffd, f + 2, 2));
	for (i = 0; i != 3; i++) {
		EXPECT_EQ(i, f[i].grpid);
		resp[i].cookie = f[i].cookie;
		resp[i].code = IOMMUFD_PAGE_RESP_INVALID;
	}
	EXPECT_NE(f[0].cookie, f[1].cookie);

	/* A bad middle response: the first counts, the rest stay. */
	resp[1].cookie = 0x7fffffff;
	EXPECT_EQ(RESP_SIZE, write(self->ffd, resp, sizeof(resp)));
	resp[1].cookie = f[1].cookie;
	EXPECT_EQ(2 * RESP_SIZE, write(self->ffd, resp + 1, 2 * RESP_SIZE));
}

/* Faults the user has not answered when the device moves away. */
TEST_F(fault, leaving_answers_pending_faults)
{
	struct iommu_hwpt_pgfault f[2];

	ASSERT_EQ(0, attach(self, self->hwpt));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev, 0, 1, 0x1000));
	ASSERT_EQ(1, read_faults(self->ffd, f, 1));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev, 0, 2, 0x2000));
	/* One read and unanswered, one unread: both answered by replace. */
	ASSERT_EQ(0, attach(self, self->plain));
	EXPECT_FALSE(readable(self->ffd));
	EXPECT_EQ(0, read_faults(self->ffd, f + 1, 1));
	EXPECT_EQ(-EINVAL, fault_respond(self->ffd, f[0].cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	/* Faults are off with the plain HWPT. */
	EXPECT_EQ(-EINVAL, trigger_iopf(self->fd, self->idev, 0, 3, 0x3000));

	/* And back: faults work again; then the device goes away. */
	ASSERT_EQ(0, attach(self, self->hwpt));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev, 0, 4, 0x4000));
	EXPECT_TRUE(readable(self->ffd));
	ASSERT_EQ(0, obj_destroy(self->fd, self->stdev));
	EXPECT_FALSE(readable(self->ffd));
	EXPECT_EQ(0, obj_destroy(self->fd, self->hwpt));
}

/* Closing the fd answers what it held and refuses what comes after. */
TEST_F(fault, close_answers_everything)
{
	struct iommu_hwpt_pgfault f;

	ASSERT_EQ(0, attach(self, self->hwpt));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev, 0, 1, 0x1000));
	ASSERT_EQ(1, read_faults(self->ffd, &f, 1));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev, 0, 2, 0x2000));
	close(self->ffd);
	self->ffd = -1;
	/* Delivered nowhere, answered by the core; the device carries on. */
	EXPECT_EQ(0, trigger_iopf(self->fd, self->idev, 0, 3, 0x3000));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->fault_id));
	ASSERT_EQ(0, attach(self, self->ioas));
	EXPECT_EQ(0, obj_destroy(self->fd, self->hwpt));
	EXPECT_EQ(0, obj_destroy(self->fd, self->fault_id));
}

/* Nested HWPTs with and without faults, both ways; PASID faults too. */
TEST_F(fault, nested_fault_hwpt)
{
	struct iommu_hwpt_pgfault f;
	uint32_t parent, nested, plain_nested;

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev, self->ioas,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, parent,
				       self->fault_id, &nested));
	ASSERT_EQ(0, mock_nested_alloc(self->fd, self->idev, parent, 0,
				       &plain_nested));

	ASSERT_EQ(0, attach(self, plain_nested));
	EXPECT_EQ(-EINVAL, trigger_iopf(self->fd, self->idev, 1, 1, 0x1000));
	ASSERT_EQ(0, attach(self, nested));
	/* A PASID fault goes to the nested domain on the RID. */
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev, 5, 9, 0x5000));
	ASSERT_EQ(1, read_faults(self->ffd, &f, 1));
	EXPECT_EQ(IOMMU_PGFAULT_FLAGS_LAST_PAGE |
		  IOMMU_PGFAULT_FLAGS_PASID_VALID, f.flags);
	EXPECT_EQ(5, f.pasid);
	EXPECT_EQ(0, fault_respond(self->ffd, f.cookie, IOMMUFD_PAGE_RESP_SUCCESS));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev, 0, 2, 0x2000));
	ASSERT_EQ(0, attach(self, plain_nested));
	EXPECT_FALSE(readable(self->ffd));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, self->fault_id));
	EXPECT_EQ(0, obj_destroy(self->fd, nested));
	EXPECT_EQ(0, attach(self, self->ioas));
	EXPECT_EQ(0, obj_destroy(self->fd, plain_nested));
	EXPECT_EQ(0, obj_destroy(self->fd, parent));
}

/* ---- io_uring, with the raw system calls ---- */

struct ring {
	int fd;
	void *sq, *cq, *sqes_map;
	struct io_uring_params p;
	size_t sq_len, cq_len, sqes_len;
};

static int ring_init(struct ring *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = syscall(__NR_io_uring_setup, 4, &r->p);
	if (r->fd < 0)
		return -errno;
	r->sq_len = r->p.sq_off.array + r->p.sq_entries * sizeof(uint32_t);
	r->cq_len = r->p.cq_off.cqes +
		    r->p.cq_entries * sizeof(struct io_uring_cqe);
	r->sqes_len = r->p.sq_entries * sizeof(struct io_uring_sqe);
	r->sq = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r->fd, IORING_OFF_SQ_RING);
	r->cq = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		     r->fd, IORING_OFF_CQ_RING);
	r->sqes_map = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE,
			   MAP_SHARED, r->fd, IORING_OFF_SQES);
	if (r->sq == MAP_FAILED || r->cq == MAP_FAILED ||
	    r->sqes_map == MAP_FAILED)
		return -ENOMEM;
	return 0;
}

/* One read or write through the ring, waited for; its result. */
static int ring_rw(struct ring *r, uint8_t op, int fd, void *buf,
		   uint32_t len)
{
	uint32_t *sq_tail = r->sq + r->p.sq_off.tail;
	uint32_t *sq_array = r->sq + r->p.sq_off.array;
	uint32_t mask = *(uint32_t *)(r->sq + r->p.sq_off.ring_mask);
	uint32_t *cq_head = r->cq + r->p.cq_off.head;
	uint32_t *cq_tail = r->cq + r->p.cq_off.tail;
	uint32_t cmask = *(uint32_t *)(r->cq + r->p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = r->cq + r->p.cq_off.cqes;
	struct io_uring_sqe *sqe;
	uint32_t tail = *sq_tail, head;
	int res;

	sqe = (struct io_uring_sqe *)r->sqes_map + (tail & mask);
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->addr = (uintptr_t)buf;
	sqe->len = len;
	sqe->off = -1;	/* the file position: none here */
	sq_array[tail & mask] = tail & mask;
	__atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1,
		    IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	head = *cq_head;
	if (head == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE))
		return -EIO;
	res = cqes[head & cmask].res;
	__atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

static void ring_fini(struct ring *r)
{
	munmap(r->sq, r->sq_len);
	munmap(r->cq, r->cq_len);
	munmap(r->sqes_map, r->sqes_len);
	close(r->fd);
}

TEST_F(fault, io_uring_read_and_write)
{
	struct iommu_hwpt_page_response resp = {
		.code = IOMMUFD_PAGE_RESP_SUCCESS,
	};
	struct iommu_hwpt_pgfault f[2];
	struct ring r;
	int rc;

	rc = ring_init(&r);
	if (rc == -ENOSYS)
		SKIP(return, "no io_uring in this kernel");
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0, attach(self, self->hwpt));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev, 0, 3, 0x3000));
	ASSERT_EQ(PGF_SIZE, ring_rw(&r, IORING_OP_READ, self->ffd, f,
				    sizeof(f)));
	EXPECT_EQ(3, f[0].grpid);
	resp.cookie = f[0].cookie;
	EXPECT_EQ(RESP_SIZE, ring_rw(&r, IORING_OP_WRITE, self->ffd, &resp,
				     sizeof(resp)));
	EXPECT_EQ(-EINVAL, ring_rw(&r, IORING_OP_WRITE, self->ffd, &resp,
				   sizeof(resp)));
	ring_fini(&r);
}

/* ---- Reading and answering while the device moves and faults ---- */

struct fault_race {
	int fd, ffd;
	uint32_t stdev, idev, hwpt, plain;
	volatile bool stop;
	volatile int failed;
	unsigned long answered, moves;
};

static void *fault_mover(void *arg)
{
	struct fault_race *r = arg;
	unsigned int i;

	for (i = 0; !r->stop; i++) {
		uint32_t pt = i % 3 ? r->hwpt : r->plain;
		int rc;

		if (mock_replace(r->fd, r->stdev, &pt))
			r->failed = 1;
		/* EINVAL while on the plain HWPT. */
		rc = trigger_iopf(r->fd, r->idev, 0, i & 0xff, 0x1000);
		if (rc && rc != -EINVAL)
			r->failed = 2;
		r->moves++;
	}
	return NULL;
}

static void *fault_answerer(void *arg)
{
	struct fault_race *r = arg;
	struct iommu_hwpt_pgfault f[8];

	while (!r->stop) {
		long n = read_faults(r->ffd, f, 8), i;

		if (n < 0)
			r->failed = 3;
		for (i = 0; i < n; i++) {
			int rc = fault_respond(r->ffd, f[i].cookie,
					 IOMMUFD_PAGE_RESP_SUCCESS);

			/* EINVAL: the move answered it first. */
			if (rc && rc != -EINVAL)
				r->failed = 4;
			r->answered += !rc;
		}
	}
	return NULL;
}

TEST_F(fault, race_answer_against_moves)
{
	struct fault_race r = {
		.fd = self->fd,
		.ffd = self->ffd,
		.stdev = self->stdev,
		.idev = self->idev,
		.hwpt = self->hwpt,
		.plain = self->plain,
	};
	pthread_t t[3];
	unsigned int i;

	ASSERT_EQ(0, pthread_create(&t[0], NULL, fault_mover, &r));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, fault_answerer, &r));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, fault_answerer, &r));
	sleep(3);
	r.stop = true;
	for (i = 0; i != 3; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	TH_LOG("%lu moves, %lu faults answered by user space", r.moves,
	       r.answered);
	EXPECT_EQ(0, r.failed);
	/* Everything settles: the device leaves, all objects go. */
	ASSERT_EQ(0, obj_destroy(self->fd, self->stdev));
	close(self->ffd);
	self->ffd = -1;
	EXPECT_EQ(0, obj_destroy(self->fd, self->hwpt));
	EXPECT_EQ(0, obj_destroy(self->fd, self->fault_id));
}

TEST_HARNESS_MAIN
