/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Definitions shared by the files of iommufd. The object model, its
 * lifetime rules and the locks are described at the top of main.c.
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"

struct iommufd_device;

/* The types of object an iommufd file can hold. */
enum iommufd_object_type {
	IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT_PAGING,
	IOMMUFD_OBJ_HWPT_NESTED,
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_ACCESS,
	IOMMUFD_OBJ_FAULT,
	IOMMUFD_OBJ_VIOMMU,
	IOMMUFD_OBJ_VDEVICE,
	IOMMUFD_OBJ_VEVENTQ,
	IOMMUFD_OBJ_HW_QUEUE,
#ifdef CONFIG_IOMMUFD_TEST
	IOMMUFD_OBJ_SELFTEST,
#endif
	IOMMUFD_OBJ_MAX,
};

/**
 * struct iommufd_object - the header every object embeds first
 * @users: one reference held by the ID table while the object is published,
 *         plus one per lookup in flight and one per long-term dependent.
 *         Only an object whose count is exactly 1 can be destroyed.
 * @type: what the object is
 * @id: its ID in iommufd_ctx::objects
 */
struct iommufd_object {
	refcount_t users;
	enum iommufd_object_type type;
	u32 id;
};

/**
 * struct iommufd_ctx - the state behind one open /dev/iommu
 * @file: the file; kernel users keep the context alive through it
 * @objects: ID -> object. A reserved slot (XA_ZERO_ENTRY) is an ID that is
 *           allocated but not visible: an object being built or torn down.
 * @groups: iommu_group -> the device group state of bound devices
 * @destroy_wait: woken whenever a lookup reference is dropped, for removals
 *                that wait for lookups to drain
 * @ioas_creation_lock: serializes creating the VFIO compatibility IOAS
 * @account_mode: one of enum iommufd_account, for new pinned memory
 * @vfio_ioas: the IOAS the VFIO container emulation works on, or NULL; a
 *             plain pointer, cleared when that IOAS is destroyed
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
	struct xarray groups;
	wait_queue_head_t destroy_wait;
	struct rw_semaphore ioas_creation_lock;
	u8 account_mode;
	struct iommufd_ioas *vfio_ioas;
};

/**
 * struct iommufd_ucmd - one ioctl call in progress
 * @ictx: the file's context
 * @ubuffer: the user's structure
 * @user_size: how many bytes of it user space declared
 * @cmd: the kernel's copy of it, zero-extended to the kernel's size
 */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/* Copy the (possibly updated) command back to user space. */
static inline int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd,
				       size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

/* Object table, main.c */
struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx,
					     size_t size,
					     enum iommufd_object_type type);

/*
 * Allocate an object of structure @type, which must embed struct
 * iommufd_object as its first member, named obj. Returns a @type pointer or
 * an ERR_PTR.
 */
#define iommufd_object_alloc(ictx, type, obj_type)                             \
	((type *)_iommufd_object_alloc(ictx, sizeof(type) +                    \
				       BUILD_BUG_ON_ZERO(offsetof(type, obj)), \
				       obj_type))

void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj);
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj);
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type);
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj);
int iommufd_object_destroy_user(struct iommufd_ctx *ictx, u32 id);
void iommufd_object_destroy_kernel(struct iommufd_ctx *ictx,
				   struct iommufd_object *obj);

/* Take a long-term reference on an object the caller already holds. */
static inline void iommufd_object_get(struct iommufd_object *obj)
{
	refcount_inc(&obj->users);
}

/* Drop a long-term reference; the table's own reference keeps it alive. */
static inline void iommufd_object_drop(struct iommufd_object *obj)
{
	refcount_dec(&obj->users);
}

/* How pinned memory is charged against RLIMIT_MEMLOCK. */
enum iommufd_account {
	IOPT_PAGES_ACCOUNT_USER = 0,
	IOPT_PAGES_ACCOUNT_MM = 1,
	IOPT_PAGES_ACCOUNT_NONE = 2,
};

/**
 * struct iommufd_ioas - an I/O address space (IOMMUFD_OBJ_IOAS)
 * @obj: object header
 * @iopt: the IOVA -> pinned memory map
 * @mutex: serializes attaching and detaching devices and picking HWPTs
 * @hwpt_list: the paging HWPTs built from this IOAS, under @mutex
 */
struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
	struct mutex mutex; /* see @mutex above */
	struct list_head hwpt_list;
};

static inline struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx,
						    u32 id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id,
							IOMMUFD_OBJ_IOAS);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_ioas, obj);
}

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx);
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
void iommufd_ioas_destroy(struct iommufd_object *obj);

#ifdef CONFIG_IOMMUFD_TEST
int iommufd_test(struct iommufd_ucmd *ucmd);
void iommufd_selftest_destroy(struct iommufd_object *obj);
int __init iommufd_test_init(void);
void iommufd_test_exit(void);
#else
static inline int iommufd_test_init(void)
{
	return 0;
}

static inline void iommufd_test_exit(void)
{
}
#endif

#endif
