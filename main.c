// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/iommu: the file, its object table and the ioctl dispatcher.
 *
 * Objects
 * -------
 * Each open file has one struct iommufd_ctx. Everything user space creates
 * through it (IOAS, HWPT, FAULT, ...) and everything a kernel driver binds
 * to it (DEVICE, ACCESS) is an object with a u32 ID in ictx->objects.
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
 * obj->users counts every reference:
 *
 *  - 1 held by the ID table for as long as the object is published;
 *  - 1 per lookup in flight: iommufd_get_object() takes one and the caller
 *    returns it with iommufd_put_object() before its ioctl ends;
 *  - 1 per long-term dependent, e.g. a HWPT on its IOAS, a device on the
 *    HWPT it is attached to. iommufd_object_get()/iommufd_object_drop().
 *
 * An object is destroyed only when the table's reference is the last one:
 *
 *  - IOMMU_DESTROY (iommufd_object_destroy_user()) fails with EBUSY unless
 *    users is exactly 1. The test and the removal from the table happen
 *    under the xarray lock, the same lock every lookup takes, so a lookup
 *    either gets its reference first (and the destroy fails) or finds no
 *    object. Destroy never waits and never races with a lookup.
 *
 *  - Objects owned by a kernel user (devices, accesses, automatic HWPTs)
 *    are torn down by iommufd_object_destroy_kernel(). Their owner
 *    guarantees no long-term dependents remain, but ioctls may still hold
 *    lookups, so it hides the object first (its slot goes back to
 *    XA_ZERO_ENTRY, stopping new lookups), waits on ictx->destroy_wait
 *    for the lookups to finish, then frees the ID and the object.
 *
 *  - Closing the file destroys the remaining objects, dependents before
 *    what they depend on. Kernel users hold a reference on the file (via
 *    iommufd_ctx_get()) for as long as their objects exist, so by then
 *    only user-created objects are left.
 *
 * Locks
 * -----
 * ictx->objects' xa_lock: protects slot contents and the users == 1 test
 * in destroy. It is a spinlock and nests inside every other iommufd lock.
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
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
 */
struct iommufd_object_ops {
	void (*destroy)(struct iommufd_object *obj);
	void (*abort)(struct iommufd_object *obj);
};

static const struct iommufd_object_ops iommufd_object_ops[IOMMUFD_OBJ_MAX] = {
	[IOMMUFD_OBJ_IOAS] = {
		.destroy = iommufd_ioas_destroy,
	},
	[IOMMUFD_OBJ_DEVICE] = {
		.destroy = iommufd_device_destroy,
	},
	[IOMMUFD_OBJ_HWPT_PAGING] = {
		.destroy = iommufd_hwpt_paging_destroy,
		.abort = iommufd_hwpt_paging_abort,
	},
	[IOMMUFD_OBJ_ACCESS] = {
		.destroy = iommufd_access_destroy_object,
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
	refcount_set(&obj->users, 1);

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
 * Replace the reservation at @obj's ID with @entry and return what was
 * there. The raw xas calls are used because xa_cmpxchg() and xa_store()
 * report a reserved slot as NULL, the same as an empty one. Overwriting an
 * existing slot needs no memory, so this cannot fail.
 */
static void *object_slot_swap(struct iommufd_ctx *ictx,
			      struct iommufd_object *obj, void *entry)
{
	XA_STATE(xas, &ictx->objects, obj->id);
	void *old;

	xa_lock(&ictx->objects);
	old = xas_load(&xas);
	if (old == XA_ZERO_ENTRY)
		xas_store(&xas, entry);
	xa_unlock(&ictx->objects);
	return old;
}

/* Publish @obj under its reserved ID. */
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj)
{
	WARN_ON(object_slot_swap(ictx, obj, obj) != XA_ZERO_ENTRY);
}

/* Give back the ID of an object that was never published, and free it. */
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	WARN_ON(object_slot_swap(ictx, obj, NULL) != XA_ZERO_ENTRY);
	kfree(obj);
}

/* As iommufd_object_abort(), first undoing what the object acquired. */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	const struct iommufd_object_ops *ops = &iommufd_object_ops[obj->type];

	if (ops->abort)
		ops->abort(obj);
	else
		ops->destroy(obj);
	iommufd_object_abort(ictx, obj);
}

/**
 * iommufd_get_object() - look up an object and take a reference on it
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
	    !refcount_inc_not_zero(&obj->users))
		obj = ERR_PTR(-ENOENT);
	xa_unlock(&ictx->objects);
	return obj;
}

/**
 * iommufd_put_object() - drop the reference iommufd_get_object() took
 * @ictx: the context the object belongs to
 * @obj: the object
 */
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	refcount_dec(&obj->users);
	/* A kernel-side removal may be waiting for this reference. */
	if (wq_has_sleeper(&ictx->destroy_wait))
		wake_up_all(&ictx->destroy_wait);
}

static void iommufd_object_free(struct iommufd_object *obj)
{
	iommufd_object_ops[obj->type].destroy(obj);
	kfree(obj);
}

/*
 * Take @obj, published under @id, out of the table if nothing but the table
 * references it. Called with the xarray lock held.
 */
static bool iommufd_object_unpublish_locked(struct iommufd_ctx *ictx,
					    struct iommufd_object *obj)
{
	lockdep_assert_held(&ictx->objects.xa_lock);

	if (!refcount_dec_if_one(&obj->users))
		return false;
	__xa_erase(&ictx->objects, obj->id);
	if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
		ictx->vfio_ioas = NULL;
	return true;
}

/**
 * iommufd_object_destroy_user() - IOMMU_DESTROY for one ID
 * @ictx: the context
 * @id: the object to destroy
 *
 * Return: 0, -ENOENT if @id names no published object, -EBUSY if anything
 * else holds a reference on it.
 */
int iommufd_object_destroy_user(struct iommufd_ctx *ictx, u32 id)
{
	struct iommufd_object *obj;
	int rc = 0;

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (!obj)
		rc = -ENOENT;
	else if (!iommufd_object_unpublish_locked(ictx, obj))
		rc = -EBUSY;
	xa_unlock(&ictx->objects);
	if (rc)
		return rc;

	iommufd_object_free(obj);
	return 0;
}

/**
 * iommufd_object_destroy_kernel() - remove an object its kernel owner ends
 * @ictx: the context
 * @obj: a published object with no long-term dependents left
 *
 * Hides @obj from lookups, waits until the lookups in flight have dropped
 * their references, then destroys it. May sleep.
 */
void iommufd_object_destroy_kernel(struct iommufd_ctx *ictx,
				   struct iommufd_object *obj)
{
	void *old;

	old = xa_cmpxchg(&ictx->objects, obj->id, obj, XA_ZERO_ENTRY,
			 GFP_KERNEL);
	WARN_ON(old != obj);

	wait_event(ictx->destroy_wait, refcount_read(&obj->users) == 1);

	xa_lock(&ictx->objects);
	WARN_ON(!refcount_dec_if_one(&obj->users));
	__xa_erase(&ictx->objects, obj->id);
	if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
		ictx->vfio_ioas = NULL;
	xa_unlock(&ictx->objects);

	iommufd_object_free(obj);
}

/**
 * iommufd_object_put_and_try_destroy() - drop a reference, destroy if unused
 * @ictx: the context
 * @obj: a published object on which the caller holds a long-term reference
 *
 * Drops the caller's reference and, if nothing but the table references the
 * object any more, destroys it, in one step under the table lock, so that it
 * cannot race with IOMMU_DESTROY. Used for objects the kernel made for user
 * space, such as automatic HWPTs, when their last kernel user lets go.
 */
void iommufd_object_put_and_try_destroy(struct iommufd_ctx *ictx,
					struct iommufd_object *obj)
{
	bool gone;

	xa_lock(&ictx->objects);
	refcount_dec(&obj->users);
	gone = iommufd_object_unpublish_locked(ictx, obj);
	xa_unlock(&ictx->objects);
	if (gone)
		iommufd_object_free(obj);
}

static int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return iommufd_object_destroy_user(ucmd->ictx, cmd->id);
}

static int iommufd_option_rlimit_mode(struct iommu_option *cmd,
				      struct iommufd_ctx *ictx)
{
	if (cmd->object_id)
		return -EINVAL;

	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = READ_ONCE(ictx->account_mode) ==
			     IOPT_PAGES_ACCOUNT_MM;
		return 0;
	}
	if (cmd->op == IOMMU_OPTION_OP_SET) {
		if (!capable(CAP_SYS_RESOURCE))
			return -EPERM;
		if (cmd->val64 > 1)
			return -EINVAL;
		WRITE_ONCE(ictx->account_mode, cmd->val64 ?
			   IOPT_PAGES_ACCOUNT_MM : IOPT_PAGES_ACCOUNT_USER);
		return 0;
	}
	return -EOPNOTSUPP;
}

int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		rc = iommufd_option_rlimit_mode(cmd, ucmd->ictx);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		rc = iommufd_ioas_option(ucmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc || cmd->op != IOMMU_OPTION_OP_GET)
		return rc;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

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
	ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	ictx->file = filp;
	filp->private_data = ictx;
	return 0;
}

/*
 * Destroy every object that nothing else depends on, and repeat until the
 * table is empty. Each pass frees at least the objects at the leaves of the
 * dependency graph, so a pass that frees nothing means a reference leaked.
 */
static void iommufd_destroy_all(struct iommufd_ctx *ictx)
{
	struct iommufd_object *obj;
	unsigned long index;
	bool progress;

	do {
		progress = false;
		xa_for_each(&ictx->objects, index, obj) {
			bool gone;

			xa_lock(&ictx->objects);
			gone = iommufd_object_unpublish_locked(ictx, obj);
			xa_unlock(&ictx->objects);
			if (gone) {
				iommufd_object_free(obj);
				progress = true;
			}
		}
	} while (progress);

	WARN(!xa_empty(&ictx->objects),
	     "objects still referenced when the file closed\n");
}

static int iommufd_fops_release(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx = filp->private_data;

	iommufd_destroy_all(ictx);
	WARN_ON(!xa_empty(&ictx->groups));
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
	struct iommu_hw_info info;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hwpt_invalidate cache;
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
#ifdef CONFIG_IOMMUFD_TEST
	struct iommu_test_cmd test;
#endif
};

/**
 * struct iommufd_ioctl_op - how to dispatch one ioctl
 * @size: sizeof the structure this kernel knows
 * @min_size: the size of the structure as the ioctl was first introduced;
 *            shorter input is refused
 * @execute: the handler
 */
struct iommufd_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	int (*execute)(struct iommufd_ucmd *ucmd);
};

#define IOCTL_OP(_ioctl, _fn, _struct, _last)                                  \
	[_IOC_NR(_ioctl) - IOMMUFD_CMD_BASE] = {                               \
		.size = sizeof(_struct) +                                      \
			BUILD_BUG_ON_ZERO(sizeof(union ucmd_buffer) <          \
					  sizeof(_struct)),                    \
		.min_size = offsetofend(_struct, _last),                       \
		.execute = _fn,                                                \
	}

static const struct iommufd_ioctl_op iommufd_ioctl_ops[] = {
	IOCTL_OP(IOMMU_DESTROY, iommufd_destroy, struct iommu_destroy, id),
	IOCTL_OP(IOMMU_GET_HW_INFO, iommufd_get_hw_info, struct iommu_hw_info,
		 __reserved),
	IOCTL_OP(IOMMU_HWPT_ALLOC, iommufd_hwpt_alloc, struct iommu_hwpt_alloc,
		 __reserved),
	IOCTL_OP(IOMMU_HWPT_INVALIDATE, iommufd_hwpt_invalidate,
		 struct iommu_hwpt_invalidate, __reserved),
	IOCTL_OP(IOMMU_IOAS_ALLOC, iommufd_ioas_alloc_ioctl,
		 struct iommu_ioas_alloc, out_ioas_id),
	IOCTL_OP(IOMMU_IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas,
		 struct iommu_ioas_allow_iovas, allowed_iovas),
	IOCTL_OP(IOMMU_IOAS_CHANGE_PROCESS, iommufd_ioas_change_process,
		 struct iommu_ioas_change_process, __reserved),
	IOCTL_OP(IOMMU_IOAS_COPY, iommufd_ioas_copy, struct iommu_ioas_copy,
		 src_iova),
	IOCTL_OP(IOMMU_IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges,
		 struct iommu_ioas_iova_ranges, out_iova_alignment),
	IOCTL_OP(IOMMU_IOAS_MAP, iommufd_ioas_map, struct iommu_ioas_map, iova),
	IOCTL_OP(IOMMU_IOAS_MAP_FILE, iommufd_ioas_map_file,
		 struct iommu_ioas_map_file, iova),
	IOCTL_OP(IOMMU_IOAS_UNMAP, iommufd_ioas_unmap, struct iommu_ioas_unmap,
		 length),
	IOCTL_OP(IOMMU_OPTION, iommufd_option, struct iommu_option, val64),
	IOCTL_OP(IOMMU_VFIO_IOAS, iommufd_vfio_ioas, struct iommu_vfio_ioas,
		 __reserved),
#ifdef CONFIG_IOMMUFD_TEST
	IOCTL_OP(IOMMU_TEST_CMD, iommufd_test, struct iommu_test_cmd, last),
#endif
};

static long iommufd_fops_ioctl(struct file *filp, unsigned int cmd,
			       unsigned long arg)
{
	struct iommufd_ctx *ictx = filp->private_data;
	const struct iommufd_ioctl_op *op;
	struct iommufd_ucmd ucmd = {};
	union ucmd_buffer buf;
	unsigned int nr;
	int rc;

	/* Every iommufd ioctl is _IO(): no direction or size bits. */
	nr = _IOC_NR(cmd);
	if (cmd != _IO(IOMMUFD_TYPE, nr) || nr < IOMMUFD_CMD_BASE ||
	    nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_ioctl_ops))
		return -ENOTTY;
	op = &iommufd_ioctl_ops[nr - IOMMUFD_CMD_BASE];
	if (!op->execute)
		return -ENOTTY;

	ucmd.ictx = ictx;
	ucmd.ubuffer = (void __user *)arg;
	rc = get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer);
	if (rc)
		return rc;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;

	/* Zero-extends short input; E2BIG for non-zero bytes we don't know. */
	ucmd.cmd = &buf;
	rc = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
				   ucmd.user_size);
	if (rc)
		return rc;
	return op->execute(&ucmd);
}

static const struct file_operations iommufd_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_fops_open,
	.release = iommufd_fops_release,
	.unlocked_ioctl = iommufd_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
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
	struct iommufd_ctx *ictx;

	if (file->f_op != &iommufd_fops)
		return ERR_PTR(-EBADFD);
	ictx = file->private_data;
	iommufd_ctx_get(ictx);
	return ictx;
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

static int __init iommufd_init(void)
{
	int rc;

	rc = misc_register(&iommu_misc_dev);
	if (rc)
		return rc;
	rc = iommufd_test_init();
	if (rc) {
		misc_deregister(&iommu_misc_dev);
		return rc;
	}
	pr_info("/dev/iommu from iommufd tree %s\n", IOMMUFD_TREE_ID);
	return 0;
}

static void __exit iommufd_exit(void)
{
	iommufd_test_exit();
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
