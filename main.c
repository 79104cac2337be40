// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/iommu: the file, its object table and the ioctl dispatcher.
 *
 * Objects
 * -------
 * Each open file has one struct iommufd_ctx. Everything user space creates
 * through it (IOAS, HWPT, ...) and everything a kernel driver binds to it
 * (DEVICE, ACCESS) is an object with a u32 ID in ictx->objects.
 *
 * Every object goes through the same steps:
 *
 *  1. iommufd_object_alloc() allocates it and reserves its ID. The slot
 *     holds XA_ZERO_ENTRY, so lookups cannot see the object yet.
 *  2. The caller does everything that can fail, including copying the
 *     reply (with the ID) to user space.
 *  3. iommufd_object_finalize() publishes it; it cannot fail. On failure
 *     before that, iommufd_object_abort() (nothing to undo inside the
 *     object) or iommufd_object_abort_and_destroy() releases the ID and
 *     frees it. Nobody else can have seen it.
 *
 * Lifetime
 * --------
 * An object counts two kinds of reference (struct iommufd_object):
 *
 *  - users, the long-term ones: 1 for the ID table while the object is
 *    published, 1 for its kernel owner if it has one (the driver that
 *    bound a device, or created an access), 1 per dependent object;
 *  - lookups, the short-term ones, each given back before the ioctl or
 *    callback that took it returns, plus 1 while the object is open to
 *    lookups at all. Taking that 1 away "closes" the object: a lookup can
 *    then no longer start (refcount_inc_not_zero() fails at zero).
 *
 * Who destroys what:
 *
 *  - IOMMU_DESTROY (iommufd_object_destroy_user()) destroys an object only
 *    if the table holds its only long-term reference and no lookup is in
 *    flight; otherwise EBUSY. Lookups through the table take the table's
 *    lock, and destroy closes the object and takes it out of the table
 *    under that same lock, so a lookup either ran first (destroy fails) or
 *    finds nothing. Long-term references are only added by someone who
 *    holds a reference already, which is why users is checked again once
 *    the object is closed. A kernel owner's reference keeps user space
 *    from ever destroying a DEVICE or an ACCESS.
 *
 *  - Objects with a kernel owner are destroyed by that owner, through
 *    iommufd_object_destroy_kernel(). In one step under the table lock it
 *    hides the object (its slot goes back to XA_ZERO_ENTRY, so IOMMU_DESTROY
 *    now answers ENOENT) and drops the owner's reference; then it closes
 *    the object, waits for the lookups in flight to be returned, and
 *    destroys it. This never fails and never races with IOMMU_DESTROY. The
 *    owner must have removed every dependent first, except those the
 *    object type's unlink op removes once the object is hidden (a
 *    DEVICE's vDEVICEs).
 *
 *  - Objects that lose their reason to exist from under user space (the
 *    vDEVICEs of an unbound device) are destroyed by
 *    iommufd_object_tombstone(): like a kernel destroy, but their slot
 *    stays reserved until the file closes, so the ID user space holds is
 *    not handed to another object meanwhile.
 *
 *  - A user mapping of a region a driver exported through the file
 *    (iommufd_mmap_add()) holds a long-term reference on the exporting
 *    object for as long as it exists.
 *
 *  - Objects the kernel made on user space's behalf and still depends on
 *    (automatic HWPTs) are destroyed when their last kernel user leaves,
 *    by iommufd_object_put_and_try_destroy(), with the IOMMU_DESTROY
 *    rules. If the kernel itself had a lookup out on it just then (a
 *    device trying whether the HWPT suits it), the one returning the
 *    lookup destroys it, through iommufd_object_put_lookup_and_reap().
 *    A lookup user space had out leaves it to user space to destroy.
 *
 *  - Closing the file destroys the remaining objects, dependents before
 *    what they depend on. Kernel owners hold the file open (through
 *    iommufd_ctx_get()) as long as their objects exist, except the
 *    selftest's mock devices, whose owners are objects of the file.
 *
 * Locks
 * -----
 * ictx->objects' xa_lock protects the slots, the lookup of an object
 * through them, and the checks that decide a destroy. It is a spinlock and
 * innermost (see iommufd_private.h). ictx->destroy_wait is where kernel
 * destroys wait for lookups to be returned.
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/iommufd.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

#ifndef IOMMUFD_TREE_ID
#define IOMMUFD_TREE_ID "unknown"
#endif

/**
 * struct iommufd_object_ops - what each object type does when it goes away
 * @destroy: release everything the object holds; never fails. Called with
 *           no references left but the caller's.
 * @abort: undo a partially built object that was never published; when
 *         absent, @destroy is used
 * @unlink: for objects their kernel owner destroys: remove the dependents
 *          that cannot outlive the object (a DEVICE's vDEVICEs). Called by
 *          iommufd_object_destroy_kernel() once no lookup can reach the
 *          object any more, before it checks that nothing depends on it.
 */
struct iommufd_object_ops {
	void (*destroy)(struct iommufd_object *obj);
	void (*abort)(struct iommufd_object *obj);
	void (*unlink)(struct iommufd_object *obj);
};

static const struct iommufd_object_ops iommufd_object_ops[IOMMUFD_OBJ_MAX] = {
	[IOMMUFD_OBJ_IOAS] = {
		.destroy = iommufd_ioas_destroy,
	},
	[IOMMUFD_OBJ_DEVICE] = {
		.destroy = iommufd_device_destroy,
		.unlink = iommufd_device_unlink,
	},
	[IOMMUFD_OBJ_HWPT_PAGING] = {
		.destroy = iommufd_hwpt_paging_destroy,
		.abort = iommufd_hwpt_paging_abort,
	},
	[IOMMUFD_OBJ_HWPT_NESTED] = {
		.destroy = iommufd_hwpt_nested_destroy,
	},
	[IOMMUFD_OBJ_FAULT] = {
		.destroy = iommufd_fault_destroy,
	},
	[IOMMUFD_OBJ_ACCESS] = {
		.destroy = iommufd_access_destroy_object,
	},
	[IOMMUFD_OBJ_VIOMMU] = {
		.destroy = iommufd_viommu_destroy,
	},
	[IOMMUFD_OBJ_VDEVICE] = {
		.destroy = iommufd_vdevice_destroy,
	},
	[IOMMUFD_OBJ_VEVENTQ] = {
		.destroy = iommufd_veventq_destroy,
	},
	[IOMMUFD_OBJ_HW_QUEUE] = {
		.destroy = iommufd_hw_queue_destroy,
	},
#ifdef CONFIG_IOMMUFD_TEST
	[IOMMUFD_OBJ_SELFTEST] = {
		.destroy = iommufd_selftest_destroy,
	},
#endif
};

struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx,
					     size_t size,
					     enum iommufd_object_type type)
{
	struct iommufd_object *obj;
	int rc;

	obj = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->type = type;
	/* The table's reference, and the object open to lookups. */
	refcount_set(&obj->users, 1);
	refcount_set(&obj->lookups, 1);

	/* Reserve the ID; the object stays invisible until finalized. */
	rc = xa_alloc(&ictx->objects, &obj->id, XA_ZERO_ENTRY, xa_limit_31b,
		      GFP_KERNEL_ACCOUNT);
	if (rc) {
		kfree(obj);
		return ERR_PTR(rc);
	}
	return obj;
}

/*
 * Put @entry into @obj's slot if the slot holds @expect, and return what
 * was there. The raw xas calls are used because xa_cmpxchg() and xa_load()
 * report a reserved slot as NULL, the same as an empty one. Overwriting an
 * existing slot needs no memory, so this cannot fail.
 */
static void *object_slot_swap_locked(struct iommufd_ctx *ictx,
				     struct iommufd_object *obj, void *expect,
				     void *entry)
{
	XA_STATE(xas, &ictx->objects, obj->id);
	void *old;

	lockdep_assert_held(&ictx->objects.xa_lock);
	old = xas_load(&xas);
	if (old == expect)
		xas_store(&xas, entry);
	return old;
}

static void *object_slot_swap(struct iommufd_ctx *ictx,
			      struct iommufd_object *obj, void *expect,
			      void *entry)
{
	void *old;

	xa_lock(&ictx->objects);
	old = object_slot_swap_locked(ictx, obj, expect, entry);
	xa_unlock(&ictx->objects);
	return old;
}

/* Publish @obj under its reserved ID. */
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj)
{
	WARN_ON(object_slot_swap(ictx, obj, XA_ZERO_ENTRY, obj) !=
		XA_ZERO_ENTRY);
}

/* Give back the ID of an object that was never published, and free it. */
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	WARN_ON(object_slot_swap(ictx, obj, XA_ZERO_ENTRY, NULL) !=
		XA_ZERO_ENTRY);
	kfree(obj);
}

/* Undo what @obj acquired, in the context (locks held) of its creator. */
static void object_undo(struct iommufd_object *obj)
{
	const struct iommufd_object_ops *ops = &iommufd_object_ops[obj->type];

	if (ops->abort)
		ops->abort(obj);
	else
		ops->destroy(obj);
}

/* As iommufd_object_abort(), first undoing what the object acquired. */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	object_undo(obj);
	iommufd_object_abort(ictx, obj);
}

/**
 * iommufd_get_object() - look up an object and take a short-term reference
 * @ictx: the context
 * @id: the ID user space gave
 * @type: the type wanted, or IOMMUFD_OBJ_ANY
 *
 * Return: the object, to be released with iommufd_put_object() before the
 * current ioctl returns; ERR_PTR(-ENOENT) if @id names no published object
 * of that type.
 */
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type)
{
	struct iommufd_object *obj;

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (!obj || (type != IOMMUFD_OBJ_ANY && obj->type != type) ||
	    !iommufd_object_try_lookup(obj))
		obj = ERR_PTR(-ENOENT);
	xa_unlock(&ictx->objects);
	return obj;
}

/**
 * iommufd_put_object() - return a short-term reference
 * @ictx: the context the object belongs to
 * @obj: the object
 *
 * The reference came from iommufd_get_object() or
 * iommufd_object_try_lookup().
 */
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	/* Zero only once closed: a kernel destroy is waiting for us. */
	if (refcount_dec_and_test(&obj->lookups))
		wake_up_all(&ictx->destroy_wait);
}

static void iommufd_object_free(struct iommufd_object *obj)
{
	iommufd_object_ops[obj->type].destroy(obj);
	kfree(obj);
}

/* Forget the compatibility IOAS if @obj is it. Under the table lock. */
static void object_forget_compat(struct iommufd_ctx *ictx,
				 struct iommufd_object *obj)
{
	lockdep_assert_held(&ictx->objects.xa_lock);
	if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
		ictx->vfio_ioas = NULL;
}

/*
 * Take published @obj out of the table if the table holds the only
 * reference of either kind; the caller then owns it and frees it. Called
 * with the table lock held, which every lookup through the table takes.
 */
static bool object_retire_locked(struct iommufd_ctx *ictx,
				 struct iommufd_object *obj)
{
	lockdep_assert_held(&ictx->objects.xa_lock);

	if (refcount_read(&obj->users) != 1)
		return false;
	/* Close it to lookups; fails while one is in flight. */
	if (!refcount_dec_if_one(&obj->lookups))
		return false;
	/*
	 * A lookup that ended just before may have added a long-term user
	 * (a HWPT being built on this IOAS, say): look again now that no
	 * lookup can start, and reopen if so.
	 */
	smp_mb();
	if (refcount_read(&obj->users) != 1) {
		refcount_set(&obj->lookups, 1);
		return false;
	}
	refcount_set(&obj->users, 0);
	__xa_erase(&ictx->objects, obj->id);
	object_forget_compat(ictx, obj);
	return true;
}

/**
 * iommufd_object_destroy_user() - IOMMU_DESTROY for one ID
 * @ictx: the context
 * @id: the object to destroy
 *
 * Return: 0, -ENOENT if @id names no published object, -EBUSY if anything
 * else holds a reference on it: a dependent object, a kernel owner, or an
 * ioctl using it right now.
 */
int iommufd_object_destroy_user(struct iommufd_ctx *ictx, u32 id)
{
	struct iommufd_object *obj;
	int rc = 0;

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (!obj)
		rc = -ENOENT;
	else if (!object_retire_locked(ictx, obj))
		rc = -EBUSY;
	xa_unlock(&ictx->objects);
	if (rc)
		return rc;

	iommufd_object_free(obj);
	return 0;
}

/**
 * iommufd_object_close_and_drain() - end lookups of an unreachable object
 * @ictx: the context
 * @obj: an object no lookup can newly find (hidden from the table, or off
 *       whatever list lookups found it on)
 *
 * Takes away the reference that kept @obj open to lookups and waits until
 * those in flight have been returned.
 */
void iommufd_object_close_and_drain(struct iommufd_ctx *ictx,
				    struct iommufd_object *obj)
{
	if (refcount_dec_and_test(&obj->lookups))
		return;
	wait_event(ictx->destroy_wait, !refcount_read(&obj->lookups));
	/*
	 * Seen at zero through a plain read: order what follows after the
	 * last lookup's use of the object (its put released it).
	 */
	smp_acquire__after_ctrl_dep();
}

/**
 * iommufd_object_destroy_kernel() - destroy an object on behalf of its owner
 * @ictx: the context
 * @obj: a published object whose long-term references are the table's and
 *       the caller's (the owner's) alone
 *
 * Consumes the owner's reference: hides @obj from lookups and from
 * IOMMU_DESTROY, waits until the lookups in flight have been returned, then
 * destroys it. May sleep; never fails.
 */
void iommufd_object_destroy_kernel(struct iommufd_ctx *ictx,
				   struct iommufd_object *obj)
{
	void *old;

	xa_lock(&ictx->objects);
	old = object_slot_swap_locked(ictx, obj, obj, XA_ZERO_ENTRY);
	iommufd_object_drop_user(obj);
	xa_unlock(&ictx->objects);
	WARN_ON(old != obj);

	/* Close it; lookups in flight end on their own. */
	iommufd_object_close_and_drain(ictx, obj);
	/* Dependents the kernel removes along with the object go first. */
	if (iommufd_object_ops[obj->type].unlink)
		iommufd_object_ops[obj->type].unlink(obj);

	if (WARN(!refcount_dec_if_one(&obj->users),
		 "iommufd: object %u of type %d still has dependents\n",
		 obj->id, obj->type)) {
		/* A bug elsewhere: leave it for the file's close to free. */
		refcount_set(&obj->lookups, 1);
		object_slot_swap(ictx, obj, XA_ZERO_ENTRY, obj);
		return;
	}

	xa_lock(&ictx->objects);
	__xa_erase(&ictx->objects, obj->id);
	object_forget_compat(ictx, obj);
	xa_unlock(&ictx->objects);
	iommufd_object_free(obj);
}

/**
 * iommufd_object_hide() - take a published object out of user space's reach
 * @ictx: the context
 * @obj: the object; the caller makes sure it is not freed meanwhile
 *
 * The first step of iommufd_object_tombstone(), which the caller may take
 * under a spinlock of its own that keeps @obj alive.
 *
 * Return: true if @obj was published and is hidden now, its slot reserved;
 * false if it was not published, because IOMMU_DESTROY (or the file's
 * close) is destroying it already.
 */
bool iommufd_object_hide(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	return object_slot_swap(ictx, obj, obj, XA_ZERO_ENTRY) == obj;
}

/**
 * iommufd_object_tombstone() - destroy a hidden object, keeping its ID taken
 * @ictx: the context
 * @obj: an object iommufd_object_hide() hid, which nothing depends on
 *
 * For an object whose reason to exist went away from under user space (a
 * vDEVICE whose device was unbound): its lookups in flight are waited for
 * and it is destroyed, but its slot stays reserved until the file is
 * closed, so the ID user space holds is not handed out again meanwhile;
 * IOMMU_DESTROY on it answers ENOENT.
 */
void iommufd_object_tombstone(struct iommufd_ctx *ictx,
			      struct iommufd_object *obj)
{
	iommufd_object_close_and_drain(ictx, obj);
	/* A bug elsewhere leaks the object rather than free it in use. */
	if (WARN(!refcount_dec_if_one(&obj->users),
		 "iommufd: object %u of type %d still has dependents\n",
		 obj->id, obj->type))
		return;
	iommufd_object_free(obj);
}

/**
 * iommufd_object_publish_file() - publish a new object with a file for it
 * @ucmd: the command creating the object; the reply is sent from here
 * @obj: the new, unpublished object, whose ID is in the reply already
 * @name: the file's name, for anon_inode_getfile()
 * @fops: the file's operations; their release must drop the references
 *        taken here: a long-term one on @obj and one on the context
 * @priv: the file's private_data
 * @flags: O_RDONLY or O_RDWR
 * @out_fd: where in the reply the file descriptor goes
 * @reply_len: the size of the reply
 *
 * Everything that can fail comes before the file exists, since only the
 * last fput() could undo a file, and that happens later.
 *
 * Return: 0 once the object is published and the descriptor installed; on
 * failure @obj is still unpublished, for the caller to abort.
 */
int iommufd_object_publish_file(struct iommufd_ucmd *ucmd,
				struct iommufd_object *obj, const char *name,
				const struct file_operations *fops, void *priv,
				int flags, u32 *out_fd, size_t reply_len)
{
	struct file *filep;
	int fd, rc;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	*out_fd = fd;
	rc = iommufd_ucmd_respond(ucmd, reply_len);
	if (rc)
		goto out_put_fd;
	filep = anon_inode_getfile(name, fops, priv, flags);
	if (IS_ERR(filep)) {
		rc = PTR_ERR(filep);
		goto out_put_fd;
	}
	iommufd_ctx_get(ucmd->ictx);
	iommufd_object_add_user(obj);
	iommufd_object_finalize(ucmd->ictx, obj);
	fd_install(fd, filep);
	return 0;

out_put_fd:
	put_unused_fd(fd);
	return rc;
}

/**
 * iommufd_object_put_and_try_destroy() - drop a reference, destroy if unused
 * @ictx: the context
 * @obj: a published object on which the caller holds a long-term reference
 *
 * Drops the caller's reference and, if the table's is the only reference
 * left of either kind, destroys the object, in one step under the table
 * lock, so that it cannot race with IOMMU_DESTROY. Used for objects the
 * kernel made for user space, such as automatic HWPTs, when their last
 * kernel user lets go; one that is busy stays, for user space to destroy.
 */
void iommufd_object_put_and_try_destroy(struct iommufd_ctx *ictx,
					struct iommufd_object *obj)
{
	bool gone;

	xa_lock(&ictx->objects);
	iommufd_object_drop_user(obj);
	gone = object_retire_locked(ictx, obj);
	xa_unlock(&ictx->objects);
	if (gone)
		iommufd_object_free(obj);
}

/**
 * iommufd_object_put_lookup_and_reap() - return a lookup, destroy if unused
 * @ictx: the context
 * @obj: a published object on which the caller holds a lookup
 *
 * As iommufd_put_object(), for objects destroyed when their last kernel
 * user leaves (automatic HWPTs). A user that left while this lookup was out
 * could not destroy @obj, since a destroy refuses while lookups are in
 * flight; if nothing uses @obj any more, the caller destroys it here
 * instead, with the object's abort op: the caller holds the locks that op
 * expects held (for an automatic HWPT, its IOAS's mutex).
 */
void iommufd_object_put_lookup_and_reap(struct iommufd_ctx *ictx,
					struct iommufd_object *obj)
{
	bool closed, gone = false;

	xa_lock(&ictx->objects);
	closed = refcount_dec_and_test(&obj->lookups);
	if (!closed)
		gone = object_retire_locked(ictx, obj);
	xa_unlock(&ictx->objects);
	if (closed) {
		/* A kernel destroy is waiting for the lookups to end. */
		wake_up_all(&ictx->destroy_wait);
	} else if (gone) {
		object_undo(obj);
		kfree(obj);
	}
}

static int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return iommufd_object_destroy_user(ucmd->ictx, cmd->id);
}

/*
 * IOMMU_OPTION_RLIMIT_MODE. The mode is read when memory is mapped, so it
 * may only change while the file holds no object at all (nor one being
 * built): then nothing mapped or pinned can have been charged the old way.
 * The check and the change are one step under the table lock, which every
 * new object's ID reservation takes.
 */
static int rlimit_mode_set(struct iommufd_ctx *ictx, u64 val)
{
	int rc = 0;

	if (!capable(CAP_SYS_RESOURCE))
		return -EPERM;

	xa_lock(&ictx->objects);
	if (!xa_empty(&ictx->objects))
		rc = -EBUSY;
	else if (val > 1)
		rc = -EINVAL;
	else
		ictx->account_mode = val ? IOPT_PAGES_ACCOUNT_MM :
					   IOPT_PAGES_ACCOUNT_USER;
	xa_unlock(&ictx->objects);
	return rc;
}

static int iommufd_option_rlimit_mode(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;

	/* A global option: there is no object to name. */
	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_SET)
		return rlimit_mode_set(ucmd->ictx, cmd->val64);
	if (cmd->op != IOMMU_OPTION_OP_GET)
		return -EOPNOTSUPP;
	cmd->val64 = READ_ONCE(ucmd->ictx->account_mode) ==
		     IOPT_PAGES_ACCOUNT_MM;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

/* IOMMU_OPTION: each option's handler validates op and responds itself. */
int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->option_id == IOMMU_OPTION_RLIMIT_MODE)
		return iommufd_option_rlimit_mode(ucmd);
	if (cmd->option_id == IOMMU_OPTION_HUGE_PAGES)
		return iommufd_ioas_option(ucmd);
	return -EOPNOTSUPP;
}

static struct miscdevice vfio_misc_dev;

static int iommufd_fops_open(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx;

	ictx = kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT);
	if (!ictx)
		return -ENOMEM;

	xa_init_flags(&ictx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	xa_init(&ictx->groups);
	init_waitqueue_head(&ictx->destroy_wait);
	init_rwsem(&ictx->ioas_creation_lock);
	mt_init_flags(&ictx->mmaps, MT_FLAGS_ALLOC_RANGE);
	/*
	 * Opened as /dev/vfio/vfio (misc_open() left the miscdevice in
	 * private_data): charge pinned memory per process, as VFIO's own
	 * container does, so that its users keep their limits.
	 */
	if (filp->private_data == &vfio_misc_dev)
		ictx->account_mode = IOPT_PAGES_ACCOUNT_MM;
	else
		ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	ictx->file = filp;
	filp->private_data = ictx;
	return 0;
}

/*
 * Destroy every object that nothing else depends on, and repeat until the
 * table is empty. Each pass frees at least the objects at the leaves of the
 * dependency graph, so a pass that frees nothing means a reference leaked.
 * Nothing else uses the file any more, so the walk itself cannot race; the
 * slot is still read under the lock that retiring needs.
 */
static void iommufd_destroy_all(struct iommufd_ctx *ictx)
{
	struct iommufd_object *obj;
	unsigned long index;
	bool progress;

	do {
		progress = false;
		xa_for_each(&ictx->objects, index, obj) {
			xa_lock(&ictx->objects);
			obj = xa_load(&ictx->objects, index);
			if (obj && !object_retire_locked(ictx, obj))
				obj = NULL;
			xa_unlock(&ictx->objects);
			if (obj) {
				iommufd_object_free(obj);
				progress = true;
			}
		}
	} while (progress);

	/* Tombstones (reserved IDs) may remain; objects must not. */
	xa_for_each(&ictx->objects, index, obj) {
		WARN(1, "objects still referenced when the file closed\n");
		break;
	}
}

static int iommufd_fops_release(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx = filp->private_data;

	iommufd_destroy_all(ictx);
	WARN_ON(!xa_empty(&ictx->groups));
	WARN_ON(!mtree_empty(&ictx->mmaps));
	mtree_destroy(&ictx->mmaps);
	xa_destroy(&ictx->objects);
	xa_destroy(&ictx->groups);
	kfree(ictx);
	return 0;
}

/*
 * Every ioctl's structure, so that one stack buffer fits any of them.
 */
union ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_fault_alloc fault;
	struct iommu_hw_info info;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hwpt_invalidate cache;
	struct iommu_hwpt_set_dirty_tracking set_dirty_tracking;
	struct iommu_hwpt_get_dirty_bitmap get_dirty_bitmap;
	struct iommu_ioas_alloc alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_map_file map_file;
	struct iommu_ioas_unmap unmap;
	struct iommu_ioas_change_process change_process;
	struct iommu_option option;
	struct iommu_vfio_ioas vfio_ioas;
	struct iommu_viommu_alloc viommu;
	struct iommu_vdevice_alloc vdev;
	struct iommu_veventq_alloc veventq;
	struct iommu_hw_queue_alloc hw_queue;
#ifdef CONFIG_IOMMUFD_TEST
	struct iommu_test_cmd test;
#endif
};

/**
 * struct iommufd_ioctl_desc - how one command is copied in and handled
 * @handler: the function that carries it out
 * @size: the size of the command's structure in this kernel
 * @min_size: its size as the command was first introduced: the end of its
 *            last member then. User space may pass anything from this size
 *            up; what we know more of is zero-filled, what it knows more of
 *            must be zero.
 */
struct iommufd_ioctl_desc {
	int (*handler)(struct iommufd_ucmd *ucmd);
	u16 size;
	u16 min_size;
};

/* The entry for IOMMUFD_CMD_@_name, whose structure is @_type. */
#define UCMD_DESC(_name, _handler, _type, _first_last_member)                 \
	[IOMMUFD_CMD_##_name - IOMMUFD_CMD_BASE] = {                          \
		.handler = _handler,                                          \
		.size = sizeof(_type) +                                       \
			BUILD_BUG_ON_ZERO(sizeof(_type) >                     \
					  sizeof(union ucmd_buffer)),         \
		.min_size = offsetofend(_type, _first_last_member),           \
	}

static const struct iommufd_ioctl_desc iommufd_ioctl_descs[] = {
	UCMD_DESC(DESTROY, iommufd_destroy, struct iommu_destroy, id),
	UCMD_DESC(IOAS_ALLOC, iommufd_ioas_alloc_ioctl,
		  struct iommu_ioas_alloc, out_ioas_id),
	UCMD_DESC(IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas,
		  struct iommu_ioas_allow_iovas, allowed_iovas),
	UCMD_DESC(IOAS_COPY, iommufd_ioas_copy, struct iommu_ioas_copy,
		  src_iova),
	UCMD_DESC(IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges,
		  struct iommu_ioas_iova_ranges, out_iova_alignment),
	UCMD_DESC(IOAS_MAP, iommufd_ioas_map, struct iommu_ioas_map, iova),
	UCMD_DESC(IOAS_UNMAP, iommufd_ioas_unmap, struct iommu_ioas_unmap,
		  length),
	UCMD_DESC(OPTION, iommufd_option, struct iommu_option, val64),
	UCMD_DESC(VFIO_IOAS, iommufd_vfio_ioas, struct iommu_vfio_ioas,
		  __reserved),
	UCMD_DESC(HWPT_ALLOC, iommufd_hwpt_alloc, struct iommu_hwpt_alloc,
		  __reserved),
	UCMD_DESC(GET_HW_INFO, iommufd_get_hw_info, struct iommu_hw_info,
		  __reserved),
	UCMD_DESC(HWPT_INVALIDATE, iommufd_hwpt_invalidate,
		  struct iommu_hwpt_invalidate, __reserved),
	UCMD_DESC(HWPT_SET_DIRTY_TRACKING, iommufd_hwpt_set_dirty_tracking,
		  struct iommu_hwpt_set_dirty_tracking, __reserved),
	UCMD_DESC(HWPT_GET_DIRTY_BITMAP, iommufd_hwpt_get_dirty_bitmap,
		  struct iommu_hwpt_get_dirty_bitmap, data),
	UCMD_DESC(FAULT_QUEUE_ALLOC, iommufd_fault_alloc,
		  struct iommu_fault_alloc, out_fault_fd),
	UCMD_DESC(IOAS_CHANGE_PROCESS, iommufd_ioas_change_process,
		  struct iommu_ioas_change_process, __reserved),
	UCMD_DESC(IOAS_MAP_FILE, iommufd_ioas_map_file,
		  struct iommu_ioas_map_file, iova),
	UCMD_DESC(VIOMMU_ALLOC, iommufd_viommu_alloc_ioctl,
		  struct iommu_viommu_alloc, out_viommu_id),
	UCMD_DESC(VDEVICE_ALLOC, iommufd_vdevice_alloc_ioctl,
		  struct iommu_vdevice_alloc, virt_id),
	UCMD_DESC(VEVENTQ_ALLOC, iommufd_veventq_alloc,
		  struct iommu_veventq_alloc, __reserved),
	UCMD_DESC(HW_QUEUE_ALLOC, iommufd_hw_queue_alloc_ioctl,
		  struct iommu_hw_queue_alloc, length),
#ifdef CONFIG_IOMMUFD_TEST
	/* The selftest's command lives at a fixed number past the others. */
	[_IOC_NR(IOMMU_TEST_CMD) - IOMMUFD_CMD_BASE] = {
		.handler = iommufd_test,
		.size = sizeof(struct iommu_test_cmd),
		.min_size = offsetofend(struct iommu_test_cmd, last),
	},
#endif
};

/*
 * The descriptor of @cmd, or NULL if it is not one of ours. Every iommufd
 * ioctl number is a plain _IO(): no direction or size bits.
 */
static const struct iommufd_ioctl_desc *iommufd_ioctl_lookup(unsigned int cmd)
{
	unsigned int slot = _IOC_NR(cmd) - IOMMUFD_CMD_BASE;

	if (cmd != _IO(IOMMUFD_TYPE, _IOC_NR(cmd)) ||
	    _IOC_NR(cmd) < IOMMUFD_CMD_BASE ||
	    slot >= ARRAY_SIZE(iommufd_ioctl_descs) ||
	    !iommufd_ioctl_descs[slot].handler)
		return NULL;
	return &iommufd_ioctl_descs[slot];
}

static long iommufd_fops_ioctl(struct file *filp, unsigned int cmd,
			       unsigned long arg)
{
	const struct iommufd_ioctl_desc *desc = iommufd_ioctl_lookup(cmd);
	union ucmd_buffer buf;
	struct iommufd_ucmd ucmd = {
		.ictx = filp->private_data,
		.ubuffer = (void __user *)arg,
		.cmd = &buf,
	};
	int rc;

	/* Anything else may be one of VFIO's container ioctls. */
	if (!desc)
		return iommufd_vfio_ioctl(ucmd.ictx, cmd, arg);
	/* Every structure starts with its size as user space knows it. */
	if (get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer))
		return -EFAULT;
	if (ucmd.user_size < desc->min_size)
		return -EINVAL;
	rc = copy_struct_from_user(&buf, desc->size, ucmd.ubuffer,
				   ucmd.user_size);
	return rc ?: desc->handler(&ucmd);
}

/*
 * mmap() of regions drivers export (the MMIO page of a vIOMMU, say). Only
 * a whole region can be mapped, shared, and the mapping is never split,
 * copied on fork or grown; while it exists it holds a long-term reference
 * on the object that exported the region, so that object cannot be
 * destroyed and the region stays valid.
 */
static void iommufd_vma_open(struct vm_area_struct *vma)
{
	iommufd_object_add_user(vma->vm_private_data);
}

static void iommufd_vma_close(struct vm_area_struct *vma)
{
	iommufd_object_drop_user(vma->vm_private_data);
}

static int iommufd_vma_may_split(struct vm_area_struct *vma,
				 unsigned long addr)
{
	return -EINVAL;
}

static const struct vm_operations_struct iommufd_vma_ops = {
	.open = iommufd_vma_open,
	.close = iommufd_vma_close,
	.may_split = iommufd_vma_may_split,
};

static int iommufd_fops_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct iommufd_ctx *ictx = filp->private_data;
	size_t length = vma->vm_end - vma->vm_start;
	struct iommufd_object *owner = NULL;
	struct iommufd_mmap *region;
	int rc;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;

	/*
	 * The region is freed only after its owner is destroyed, and an
	 * owner still being built is not published: only a lookup through
	 * the table finds it live.
	 */
	mtree_lock(&ictx->mmaps);
	region = mtree_load(&ictx->mmaps, vma->vm_pgoff);
	if (region && region->pgoff == vma->vm_pgoff &&
	    region->length == length) {
		owner = iommufd_get_object(ictx, region->owner->id,
					   IOMMUFD_OBJ_ANY);
		if (IS_ERR(owner)) {
			owner = NULL;
		} else if (owner != region->owner) {
			iommufd_put_object(ictx, owner);
			owner = NULL;
		}
	}
	mtree_unlock(&ictx->mmaps);
	if (!owner)
		return -ENXIO;

	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP |
			  VM_DONTCOPY);
	if (!page_is_ram(PHYS_PFN(region->base)))
		vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	rc = remap_pfn_range(vma, vma->vm_start, PHYS_PFN(region->base),
			     length, vma->vm_page_prot);
	if (!rc) {
		vma->vm_private_data = owner;
		vma->vm_ops = &iommufd_vma_ops;
		iommufd_object_add_user(owner);
	}
	iommufd_put_object(ictx, owner);
	return rc;
}

/**
 * iommufd_mmap_add() - let user space mmap() a region through the file
 * @ictx: the context
 * @owner: the object exporting it, which must call iommufd_mmap_remove()
 *         before it is freed
 * @base: physical address, page aligned
 * @length: size, a nonzero multiple of PAGE_SIZE
 * @offset: receives the mmap() offset to give user space
 *
 * Return: 0, -EINVAL for a misaligned region, -ENOMEM or -EBUSY if no
 * offset range is free.
 */
int iommufd_mmap_add(struct iommufd_ctx *ictx, struct iommufd_object *owner,
		     phys_addr_t base, size_t length, unsigned long *offset)
{
	struct iommufd_mmap *region;
	unsigned long pgoff;
	int rc;

	if (!length || !PAGE_ALIGNED(length) || !PAGE_ALIGNED(base))
		return -EINVAL;
	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		return -ENOMEM;
	region->owner = owner;
	region->base = base;
	region->length = length;
	/*
	 * Offsets start at the second page, as v6.17's do: 0 is never a
	 * region's, so user space and drivers may take it for "none".
	 */
	rc = mtree_alloc_range(&ictx->mmaps, &pgoff, region,
			       length >> PAGE_SHIFT, 1,
			       ULONG_MAX >> PAGE_SHIFT, GFP_KERNEL_ACCOUNT);
	if (rc) {
		kfree(region);
		return rc;
	}
	/* Not yet visible to mmap(): nobody reads pgoff before this store. */
	region->pgoff = pgoff;
	*offset = pgoff << PAGE_SHIFT;
	return 0;
}

/**
 * iommufd_mmap_remove() - undo iommufd_mmap_add()
 * @ictx: the context
 * @owner: the exporting object, which nothing maps any more
 * @offset: what iommufd_mmap_add() returned
 */
void iommufd_mmap_remove(struct iommufd_ctx *ictx,
			 struct iommufd_object *owner, unsigned long offset)
{
	struct iommufd_mmap *region;

	region = mtree_erase(&ictx->mmaps, offset >> PAGE_SHIFT);
	if (WARN_ON(!region || region->owner != owner))
		return;
	kfree(region);
}

static const struct file_operations iommufd_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_fops_open,
	.release = iommufd_fops_release,
	.unlocked_ioctl = iommufd_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = iommufd_fops_mmap,
};

/**
 * iommufd_ctx_get() - keep an iommufd context alive
 * @ictx: the context
 *
 * Holds a reference on the context's file; iommufd_ctx_put() drops it.
 */
void iommufd_ctx_get(struct iommufd_ctx *ictx)
{
	get_file(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_get, IOMMUFD);

/**
 * iommufd_ctx_from_file() - the iommufd context behind a file
 * @file: a file user space passed in, possibly not an iommufd at all
 *
 * Return: the context with a reference taken (drop it with
 * iommufd_ctx_put()), or ERR_PTR(-EBADFD) if @file is not an open
 * /dev/iommu.
 */
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	if (file->f_op != &iommufd_fops)
		return ERR_PTR(-EBADFD);
	/* Our files' private_data is their context from open to release. */
	iommufd_ctx_get(file->private_data);
	return file->private_data;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_file, IOMMUFD);

/**
 * iommufd_ctx_from_fd() - the iommufd context behind a file descriptor
 * @fd: a descriptor of the calling process
 *
 * Return: the context with a reference taken (drop it with
 * iommufd_ctx_put()), ERR_PTR(-EBADF) for a bad descriptor or
 * ERR_PTR(-EBADFD) if it is not an open /dev/iommu.
 */
struct iommufd_ctx *iommufd_ctx_from_fd(int fd)
{
	struct iommufd_ctx *ictx;
	struct file *file;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	ictx = iommufd_ctx_from_file(file);
	fput(file);
	return ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_fd, IOMMUFD);

/**
 * iommufd_ctx_put() - drop a reference on an iommufd context
 * @ictx: the context
 */
void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
	fput(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_put, IOMMUFD);

static struct miscdevice iommu_misc_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "iommu",
	.fops = &iommufd_fops,
	.nodename = "iommu",
	.mode = 0660,
};

/*
 * With VFIO's own container left out, the same file answers at
 * /dev/vfio/vfio, for programs written against the type1 container.
 */
static struct miscdevice vfio_misc_dev = {
	.minor = VFIO_MINOR,
	.name = "vfio",
	.fops = &iommufd_fops,
	.nodename = "vfio/vfio",
	.mode = 0666,
};

static bool serve_vfio_container(void)
{
	return IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER);
}

static int __init iommufd_init(void)
{
	int rc;

	rc = misc_register(&iommu_misc_dev);
	if (rc)
		return rc;
	if (serve_vfio_container()) {
		rc = misc_register(&vfio_misc_dev);
		if (rc)
			goto err_iommu;
	}
	rc = iommufd_test_init();
	if (rc)
		goto err_vfio;
	pr_info("/dev/iommu from iommufd tree %s\n", IOMMUFD_TREE_ID);
	if (serve_vfio_container())
		pr_info("/dev/vfio/vfio is served by iommufd, not VFIO\n");
	return 0;

err_vfio:
	if (serve_vfio_container())
		misc_deregister(&vfio_misc_dev);
err_iommu:
	misc_deregister(&iommu_misc_dev);
	return rc;
}

static void __exit iommufd_exit(void)
{
	iommufd_test_exit();
	if (serve_vfio_container())
		misc_deregister(&vfio_misc_dev);
	misc_deregister(&iommu_misc_dev);
}

module_init(iommufd_init);
module_exit(iommufd_exit);

MODULE_IMPORT_NS(IOMMUFD_INTERNAL);
MODULE_IMPORT_NS(IOMMUFD);
MODULE_DESCRIPTION("I/O address space management for user space (/dev/iommu)");
MODULE_LICENSE("GPL");
MODULE_ALIAS_MISCDEV(MISC_DYNAMIC_MINOR);
MODULE_ALIAS("devname:iommu");
#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
MODULE_ALIAS_MISCDEV(VFIO_MINOR);
MODULE_ALIAS("devname:vfio/vfio");
#endif
