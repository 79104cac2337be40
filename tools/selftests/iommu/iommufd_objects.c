// SPDX-License-Identifier: GPL-2.0-only
/*
 * The object table and the ioctl rules every command shares: IDs, the
 * allocate/publish/destroy cycle, and how sizes, unknown bytes, unknown
 * commands and unknown flags are refused.
 */
#include <pthread.h>

#include "iommufd_test_lib.h"

FIXTURE(objects)
{
	int fd;
};

FIXTURE_SETUP(objects)
{
	self->fd = iofd_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(objects)
{
	close(self->fd);
}

TEST_F(objects, open_and_close_many)
{
	int fds[64];
	unsigned int i;

	for (i = 0; i != ARRAY_LEN(fds); i++) {
		fds[i] = iofd_open();
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i != ARRAY_LEN(fds); i++)
		ASSERT_EQ(0, close(fds[i]));
}

/* Command numbers outside the table, and other subsystems' numbers. */
TEST_F(objects, unknown_command_is_enotty)
{
	static const unsigned long cmds[] = {
		_IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE - 1),
		_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HW_QUEUE_ALLOC + 1),
		_IO(IOMMUFD_TYPE, 0xff),
		_IO(IOMMUFD_TYPE, 0),
		_IO('x', IOMMUFD_CMD_DESTROY),
		/* A known number with direction and size bits is not it. */
		_IOWR(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY, struct iommu_destroy),
		_IOW(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC, __u32),
	};
	uint8_t buf[64] = {};
	unsigned int i;

	*(uint32_t *)buf = sizeof(buf);
	for (i = 0; i != ARRAY_LEN(cmds); i++)
		EXPECT_EQ(-ENOTTY, xioctl(self->fd, cmds[i], buf));
}

/*
 * The size rules, for every command this tree implements: shorter than the
 * structure as first released is EINVAL; longer is fine while the extra
 * bytes are zero and E2BIG otherwise; the ioctl then reaches its handler,
 * which here refuses an ID that does not exist.
 */
struct sized_cmd {
	const char *name;
	unsigned long cmd;
	uint32_t min_size;
	uint32_t size;
	/* errno of a full-size call carrying only zeroes and the size */
	int zero_errno;
};

static const struct sized_cmd sized_cmds[] = {
	{ "DESTROY", IOMMU_DESTROY, END_OF(struct iommu_destroy, id),
	  sizeof(struct iommu_destroy), ENOENT },
	{ "IOAS_ALLOC", IOMMU_IOAS_ALLOC,
	  END_OF(struct iommu_ioas_alloc, out_ioas_id),
	  sizeof(struct iommu_ioas_alloc), 0 },
};

TEST_F(objects, size_rules)
{
	uint8_t buf[256];
	unsigned int i;
	uint32_t size;

	for (i = 0; i != ARRAY_LEN(sized_cmds); i++) {
		const struct sized_cmd *c = &sized_cmds[i];

		TH_LOG("%s", c->name);
		for (size = 0; size < c->min_size; size++) {
			memset(buf, 0, sizeof(buf));
			EXPECT_EQ(-EINVAL, ioctl_sized(self->fd, c->cmd, buf,
						       size));
		}

		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(-c->zero_errno, ioctl_sized(self->fd, c->cmd, buf,
						      c->size));

		/* Longer, zero tail: accepted as the known structure. */
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(-c->zero_errno, ioctl_sized(self->fd, c->cmd, buf,
						      c->size + 64));

		/* Longer, non-zero tail anywhere: E2BIG. */
		memset(buf, 0, sizeof(buf));
		buf[c->size + 63] = 1;
		EXPECT_EQ(-E2BIG, ioctl_sized(self->fd, c->cmd, buf,
					      c->size + 64));
		memset(buf, 0, sizeof(buf));
		buf[c->size] = 0x80;
		EXPECT_EQ(-E2BIG, ioctl_sized(self->fd, c->cmd, buf,
					      c->size + 1));
	}
}

TEST_F(objects, bad_user_pointer_is_efault)
{
	EXPECT_EQ(-EFAULT, xioctl(self->fd, IOMMU_DESTROY, NULL));
	EXPECT_EQ(-EFAULT, xioctl(self->fd, IOMMU_IOAS_ALLOC, (void *)8));
}

/* The reply is written back only within the size user space declared. */
TEST_F(objects, reply_respects_user_size)
{
	struct {
		struct iommu_ioas_alloc cmd;
		uint32_t guard;
	} buf;

	memset(&buf, 0, sizeof(buf));
	buf.guard = 0;
	ASSERT_EQ(0, ioctl_sized(self->fd, IOMMU_IOAS_ALLOC, &buf,
				 sizeof(buf.cmd) + sizeof(buf.guard)));
	EXPECT_NE(0, buf.cmd.out_ioas_id);
	EXPECT_EQ(0, buf.guard);
	EXPECT_EQ(sizeof(buf.cmd) + sizeof(buf.guard), buf.cmd.size);
}

TEST_F(objects, unknown_flags_are_eopnotsupp)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	unsigned int bit;

	for (bit = 0; bit != 32; bit++) {
		cmd.flags = 1U << bit;
		EXPECT_EQ(-EOPNOTSUPP, xioctl(self->fd, IOMMU_IOAS_ALLOC, &cmd));
	}
}

TEST_F(objects, ioas_alloc_and_destroy)
{
	uint32_t a, b;

	ASSERT_EQ(0, ioas_alloc(self->fd, &a));
	ASSERT_EQ(0, ioas_alloc(self->fd, &b));
	EXPECT_NE(0, a);
	EXPECT_NE(a, b);
	EXPECT_EQ(0, obj_destroy(self->fd, a));
	EXPECT_EQ(-ENOENT, obj_destroy(self->fd, a));
	EXPECT_EQ(0, obj_destroy(self->fd, b));
	EXPECT_EQ(-ENOENT, obj_destroy(self->fd, b));
}

TEST_F(objects, destroy_unknown_ids)
{
	static const uint32_t ids[] = { 0, 1, 2, 1000, 0x7fffffff, 0x80000000,
					0xffffffff };
	unsigned int i;

	for (i = 0; i != ARRAY_LEN(ids); i++)
		EXPECT_EQ(-ENOENT, obj_destroy(self->fd, ids[i]));
}

/* IDs belong to one file: another file cannot see or destroy them. */
TEST_F(objects, ids_are_per_file)
{
	int other = iofd_open();
	uint32_t id;

	ASSERT_LE(0, other);
	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	EXPECT_EQ(-ENOENT, obj_destroy(other, id));
	EXPECT_EQ(0, obj_destroy(self->fd, id));
	close(other);
}

/* Many live objects, some destroyed, the rest left for close() to free. */
TEST_F(objects, many_objects_freed_at_close)
{
	uint32_t ids[2000];
	unsigned int i;

	for (i = 0; i != ARRAY_LEN(ids); i++) {
		ASSERT_EQ(0, ioas_alloc(self->fd, &ids[i]));
		if (i)
			ASSERT_NE(ids[i - 1], ids[i]);
	}
	for (i = 0; i < ARRAY_LEN(ids); i += 3)
		ASSERT_EQ(0, obj_destroy(self->fd, ids[i]));
	/* Freed IDs may be handed out again, but never a live one. */
	for (i = 0; i < ARRAY_LEN(ids); i += 3) {
		uint32_t id;
		unsigned int j;

		ASSERT_EQ(0, ioas_alloc(self->fd, &id));
		for (j = 1; j < ARRAY_LEN(ids); j += 3)
			ASSERT_NE(ids[j], id);
	}
}

struct race_ctx {
	int fd;
	volatile bool stop;
	unsigned long destroyed;
};

static void *destroy_everything(void *arg)
{
	struct race_ctx *ctx = arg;
	uint32_t id = 1;

	while (!ctx->stop) {
		if (!obj_destroy(ctx->fd, id))
			ctx->destroyed++;
		id = id % 64 + 1;
	}
	return NULL;
}

/*
 * One thread allocates while another destroys whatever ID it guesses. Every
 * allocation must succeed, and every ID destroyed exactly once.
 */
TEST_F(objects, destroy_races_alloc)
{
	struct race_ctx ctx = { .fd = self->fd };
	unsigned long allocated = 0, left = 0;
	uint32_t id, max_id = 0;
	pthread_t thread;
	unsigned int i;

	ASSERT_EQ(0, pthread_create(&thread, NULL, destroy_everything, &ctx));
	for (i = 0; i != 20000; i++) {
		ASSERT_EQ(0, ioas_alloc(self->fd, &id));
		if (id > max_id)
			max_id = id;
		allocated++;
	}
	ctx.stop = true;
	ASSERT_EQ(0, pthread_join(thread, NULL));

	for (id = 1; id <= max_id; id++)
		if (!obj_destroy(self->fd, id))
			left++;
	EXPECT_EQ(allocated, ctx.destroyed + left);
}

/*
 * IOMMU_OPTION_RLIMIT_MODE applies to the whole file, and can only change
 * while the file holds no object: mappings charged one way must be
 * uncharged the same way.
 */
TEST_F(objects, rlimit_mode_needs_an_empty_file)
{
	uint64_t val = 1;
	uint32_t ioas;

	EXPECT_EQ(-EOPNOTSUPP, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				      IOMMU_OPTION_OP_SET, 1, &val));
	EXPECT_EQ(-EOPNOTSUPP, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				      IOMMU_OPTION_OP_GET, 1, &val));

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	val = 1;
	EXPECT_EQ(-EBUSY, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				 IOMMU_OPTION_OP_SET, 0, &val));
	val = 2;
	EXPECT_EQ(-EBUSY, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				 IOMMU_OPTION_OP_SET, 0, &val));
	val = 7;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_GET, 0, &val));
	EXPECT_EQ(0, val);

	ASSERT_EQ(0, obj_destroy(self->fd, ioas));
	val = 1;
	EXPECT_EQ(0, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_SET, 0, &val));
	val = 7;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_GET, 0, &val));
	EXPECT_EQ(1, val);
	val = 2;
	EXPECT_EQ(-EINVAL, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				  IOMMU_OPTION_OP_SET, 0, &val));
}

/* A device a driver has bound is the driver's to unbind, never ours. */
TEST_F(objects, bound_device_cannot_be_destroyed)
{
	uint32_t ioas, stdev, hwpt, idev;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas));
	ASSERT_EQ(0, mock_domain(self->fd, ioas, &stdev, &hwpt, &idev));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, idev));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, hwpt));
	EXPECT_EQ(-EBUSY, obj_destroy(self->fd, ioas));
	/* Unbinding takes the device and its automatic HWPT away. */
	ASSERT_EQ(0, obj_destroy(self->fd, stdev));
	EXPECT_EQ(-ENOENT, obj_destroy(self->fd, idev));
	EXPECT_EQ(-ENOENT, obj_destroy(self->fd, hwpt));
	EXPECT_EQ(0, obj_destroy(self->fd, ioas));
}

TEST_HARNESS_MAIN
