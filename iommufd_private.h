/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Definitions shared by the files of iommufd. The object model and its
 * lifetime rules are described at the top of main.c; each object family's
 * file describes its own state.
 *
 * Lock order
 * ----------
 * This is the one place the order is written down; the files that own the
 * locks say what each protects. Outermost first:
 *
 *  1. iommufd_access::move_lock        attach, replace, detach of one access;
 *                                      held across the driver's unmap
 *                                      callback, so the driver's own locks
 *                                      nest inside it
 *  2. iommufd_ctx::ioas_creation_lock  creating the VFIO compatibility IOAS
 *  3. iommufd_ioas::mutex              the paging HWPTs of one IOAS
 *  4. iommufd_group::lock              attach, replace, detach of one group,
 *                                      and of its devices' PASIDs
 * 4a. iommufd_viommu::veventqs_rwsem   the vEVENTQs of a vIOMMU; read to
 *                                      report an event (the mock reports
 *                                      under 4); then iommufd_veventq's
 *                                      read_mutex (veventq.c)
 * 4b. iommufd_viommu::vdevs_rwsem      the vDEVICEs of a vIOMMU; read across
 *                                      the driver's cache invalidation;
 *                                      never nests with 4 or the above
 *  5. iommufd_fault::mutex             reading, answering and draining the
 *                                      queue of one FAULT object (fault.c)
 *  6. iommufd_access::ioas_lock        which IOAS an access pins from
 *  7. io_pagetable::domains_rwsem      the domains and accesses of an IOAS
 *  8. io_pagetable::iova_rwsem         the IOVA trees of an IOAS
 *  9. iopt_pages::mutex                one pages at a time; also the global
 *                                      change_source_lock of pages.c
 *                                      comes before it
 * 10. the source mm's mmap_lock        taken by GUP under iopt_pages::mutex
 * 11. spinlocks                        the xarrays' (ictx->objects,
 *                                      ictx->groups, io_pagetable::domains
 *                                      and ::accesses, iommufd_viommu::vdevs),
 *                                      iommufd_fault::lock,
 *                                      iommufd_veventq::lock and
 *                                      iommufd_device::vdevs_lock:
 *                                      innermost; nothing sleeps under them.
 *                                      ictx->mmaps' lock and a device's
 *                                      vdevs_lock are taken before
 *                                      ictx->objects'
 *
 * An access's unmap callback is called with none of 3-11 held: IOAS_UNMAP
 * drops the io_pagetable locks first, and a move drops ioas_lock. The
 * callback may therefore unpin (which takes 6, 8 and 9). The IOMMU core's
 * own locks (the iommu_group's mutex, a device's fault parameters) are
 * taken under 4 and never around 5. The core calls the fault handler with
 * none of ours held (the mock's trigger holds 4), and the handler takes
 * only iommufd_fault::lock.
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/iova_bitmap.h>
#include <linux/maple_tree.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "../iommu-priv.h"
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
 * @users: long-term references: one held by the ID table while the object
 *         is published, one per kernel owner (the driver that bound a
 *         device or created an access) and one per dependent object (a
 *         HWPT on its IOAS, an attached device on its HWPT). Taken with
 *         iommufd_object_add_user() by someone already holding a reference
 *         of either kind.
 * @lookups: short-term references plus one while the object is open to
 *           them: iommufd_get_object() and iommufd_object_try_lookup()
 *           take one, iommufd_put_object() returns it before the ioctl or
 *           callback that took it ends. Destruction closes the object by
 *           taking away that extra one; at zero no lookup can start again.
 * @type: what the object is
 * @id: its ID in iommufd_ctx::objects
 *
 * See "Lifetime" at the top of main.c.
 */
struct iommufd_object {
	refcount_t users;
	refcount_t lookups;
	enum iommufd_object_type type;
	u32 id;
};

/**
 * struct iommufd_ctx - the state behind one open /dev/iommu
 * @file: the file; kernel users keep the context alive through it
 * @objects: ID -> object. A reserved slot (XA_ZERO_ENTRY) is an ID that is
 *           allocated but not visible: an object being built or torn down.
 * @groups: iommu_group ID -> struct iommufd_group of the bound devices
 * @destroy_wait: woken whenever a lookup reference is dropped, for removals
 *                that wait for lookups to drain
 * @ioas_creation_lock: serializes creating the VFIO compatibility IOAS
 * @account_mode: enum iommufd_account used for new mappings
 * @no_iommu_mode: VFIO made the file a no-IOMMU container; under the
 *                 table's xa_lock, like @vfio_ioas
 * @vfio_ioas: the IOAS the VFIO container emulation works on, or NULL; a
 *             plain pointer, cleared when that IOAS is destroyed
 * @mmaps: mmap() page offset -> struct iommufd_mmap: the regions drivers
 *         export through this file (main.c)
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
	struct xarray groups;
	wait_queue_head_t destroy_wait;
	struct rw_semaphore ioas_creation_lock;
	u8 account_mode;
	bool no_iommu_mode;
	struct iommufd_ioas *vfio_ioas;
	struct maple_tree mmaps;
};

/**
 * struct iommufd_mmap - a region user space may mmap() through the file
 * @owner: the object that exported it; each mapping holds a long-term
 *         reference on it
 * @pgoff: the mmap() offset, in pages
 * @base: physical address of the region
 * @length: its size in bytes, a multiple of PAGE_SIZE; only whole regions
 *          are mapped
 */
struct iommufd_mmap {
	struct iommufd_object *owner;
	unsigned long pgoff;
	phys_addr_t base;
	size_t length;
};

int iommufd_mmap_add(struct iommufd_ctx *ictx, struct iommufd_object *owner,
		     phys_addr_t base, size_t length, unsigned long *offset);
void iommufd_mmap_remove(struct iommufd_ctx *ictx,
			 struct iommufd_object *owner, unsigned long offset);

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
 * Allocate an object of structure @type, whose struct iommufd_object is
 * @member and comes first. Returns a @type pointer or an ERR_PTR.
 */
#define iommufd_object_alloc(ictx, type, member, obj_type)                     \
	((type *)_iommufd_object_alloc(                                        \
		ictx, sizeof(type) + BUILD_BUG_ON_ZERO(offsetof(type, member)), \
		obj_type))

void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj);
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj);
int iommufd_object_destroy_user(struct iommufd_ctx *ictx, u32 id);
bool iommufd_object_hide(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_tombstone(struct iommufd_ctx *ictx,
			      struct iommufd_object *obj);
void iommufd_object_close_and_drain(struct iommufd_ctx *ictx,
				    struct iommufd_object *obj);
void iommufd_object_destroy_kernel(struct iommufd_ctx *ictx,
				   struct iommufd_object *obj);
void iommufd_object_put_and_try_destroy(struct iommufd_ctx *ictx,
					struct iommufd_object *obj);
void iommufd_object_put_lookup_and_reap(struct iommufd_ctx *ictx,
					struct iommufd_object *obj);
int iommufd_object_publish_file(struct iommufd_ucmd *ucmd,
				struct iommufd_object *obj, const char *name,
				const struct file_operations *fops, void *priv,
				int flags, u32 *out_fd, size_t reply_len);

/* Short-term references: within one ioctl or one callback. */
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type);
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj);

/*
 * A short-term reference on an object found some other way than through
 * the ID table, e.g. on a list its destroy function takes it off. Fails
 * once the object's destruction has begun.
 */
static inline bool iommufd_object_try_lookup(struct iommufd_object *obj)
{
	return refcount_inc_not_zero(&obj->lookups);
}

/*
 * Long-term references. The caller of iommufd_object_add_user() already
 * holds a reference of either kind, so the object cannot be going away;
 * iommufd_object_drop_user() never drops the last one, which belongs to
 * the ID table.
 */
static inline void iommufd_object_add_user(struct iommufd_object *obj)
{
	refcount_inc(&obj->users);
}

static inline void iommufd_object_drop_user(struct iommufd_object *obj)
{
	refcount_dec(&obj->users);
}

#ifdef CONFIG_IOMMUFD_TEST
bool iommufd_should_fail(void);
extern size_t iommufd_test_memory_limit;
#else
static inline bool iommufd_should_fail(void)
{
	return false;
}
#endif

/* How pinned memory is charged against RLIMIT_MEMLOCK. */
enum iommufd_account {
	IOPT_PAGES_ACCOUNT_USER = 0,
	IOPT_PAGES_ACCOUNT_MM = 1,
	IOPT_PAGES_ACCOUNT_NONE = 2,
};

int iommufd_option(struct iommufd_ucmd *ucmd);

/**
 * struct iommufd_ioas - an I/O address space (IOMMUFD_OBJ_IOAS)
 * @obj: object header
 * @iopt: the IOVA -> pinned memory map
 * @mutex: serializes building and tearing down the paging HWPTs of this
 *         IOAS and the attachments made to them; protects @hwpt_list
 * @hwpt_list: struct iommufd_hwpt_paging built from this IOAS
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
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
int iommufd_ioas_change_process(struct iommufd_ucmd *ucmd);
int iommufd_ioas_option(struct iommufd_ucmd *ucmd);
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg);

struct iommufd_fault;

/**
 * struct iommufd_hw_pagetable - what every HWPT has: an iommu_domain
 * @obj: object header
 * @domain: the domain; owned by the HWPT
 * @fault: where the domain's I/O page faults go (IOMMU_HWPT_FAULT_ID_VALID),
 *         with a long-term reference; NULL if they are not handled
 * @pasid_compat: allocated with IOMMU_HWPT_ALLOC_PASID: it may be attached
 *                to PASIDs, and to the RID of a device that has PASIDs
 *                attached
 */
struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommu_domain *domain;
	struct iommufd_fault *fault;
	bool pasid_compat;
};

/**
 * struct iommufd_hwpt_paging - a HWPT kept in step with an IOAS
 *                              (IOMMUFD_OBJ_HWPT_PAGING)
 * @common: the HWPT
 * @ioas: the IOAS it mirrors; holds a reference on it
 * @hwpt_item: in @ioas->hwpt_list while the domain mirrors the IOAS
 * @auto_domain: created by attaching a device to the IOAS; destroyed when
 *               its last device leaves
 * @enforce_cache_coherency: the domain blocks non-coherent DMA
 * @nest_parent: may serve as the parent of nested HWPTs
 */
struct iommufd_hwpt_paging {
	struct iommufd_hw_pagetable common;
	struct iommufd_ioas *ioas;
	struct list_head hwpt_item;
	bool auto_domain : 1;
	bool enforce_cache_coherency : 1;
	bool nest_parent : 1;
};

/**
 * struct iommufd_hwpt_nested - a HWPT whose first-stage table user space
 *                              manages (IOMMUFD_OBJ_HWPT_NESTED)
 * @common: the HWPT; its domain is an IOMMU_DOMAIN_NESTED
 * @parent: the paging HWPT (allocated with IOMMU_HWPT_ALLOC_NEST_PARENT)
 *          that translates the output of @common's table; a long-term
 *          reference on it is held until the nested HWPT is destroyed
 * @viommu: the vIOMMU it was allocated on, with a long-term reference, or
 *          NULL if it was allocated on @parent directly
 */
struct iommufd_hwpt_nested {
	struct iommufd_hw_pagetable common;
	struct iommufd_hwpt_paging *parent;
	struct iommufd_viommu *viommu;
};

static inline struct iommufd_hwpt_paging *
to_hwpt_paging(struct iommufd_hw_pagetable *hwpt)
{
	return container_of(hwpt, struct iommufd_hwpt_paging, common);
}

static inline bool hwpt_is_paging(struct iommufd_hw_pagetable *hwpt)
{
	return hwpt->obj.type == IOMMUFD_OBJ_HWPT_PAGING;
}

struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, u32 flags);
int iommufd_hwpt_paging_enforce_cc(struct iommufd_hwpt_paging *hwpt_paging);
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj);
void iommufd_hwpt_paging_abort(struct iommufd_object *obj);
void iommufd_hwpt_nested_destroy(struct iommufd_object *obj);
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd);

/* fault.c */
int iommufd_fault_alloc(struct iommufd_ucmd *ucmd);
void iommufd_fault_destroy(struct iommufd_object *obj);
struct iommufd_fault *iommufd_fault_get(struct iommufd_ucmd *ucmd, u32 id);
void iommufd_fault_put(struct iommufd_ucmd *ucmd, struct iommufd_fault *fault);
int iommufd_fault_iopf_handler(struct iopf_group *group);
void iommufd_fault_drain(struct iommufd_fault *fault, struct device *dev,
			 struct iommu_attach_handle *handle);
void iommufd_hwpt_set_fault(struct iommufd_hw_pagetable *hwpt,
			    struct iommufd_fault *fault);
void iommufd_hwpt_put_fault(struct iommufd_hw_pagetable *hwpt);

/**
 * struct iommufd_attach_handle - how the IOMMU core knows our attachment
 * @handle: the core's part; its domain is the one the group is attached to
 * @dev_id: the device whose ID I/O page faults through this attachment are
 *          reported with: the group's first attached device. Written
 *          under the group's lock, read by the fault handler without it.
 */
struct iommufd_attach_handle {
	struct iommu_attach_handle handle;
	u32 dev_id;
};

/**
 * struct iommufd_group - the devices of one iommu_group bound to a context
 * @ref: one per bound device of the group
 * @lock: protects @hwpt and @device_list, and serializes attach, replace
 *        and detach for the whole group
 * @ictx: the context
 * @group: the iommu_group, with a reference
 * @hwpt: the HWPT the group is attached to, or NULL
 * @device_list: the bound devices of the group that are attached to @hwpt
 * @sw_msi_start: the software MSI window of the group's devices, if any
 * @handle: given to the IOMMU core with every attach and replace of the
 *          group; protected by @lock
 */
struct iommufd_group {
	struct kref ref;
	struct mutex lock; /* see @lock above */
	struct iommufd_ctx *ictx;
	struct iommu_group *group;
	struct iommufd_hw_pagetable *hwpt;
	struct list_head device_list;
	phys_addr_t sw_msi_start;
	struct iommufd_attach_handle handle;
};

/**
 * struct iommufd_device - a device bound by a driver (IOMMUFD_OBJ_DEVICE)
 * @obj: object header; the binding driver holds a long-term reference
 * @ictx: the context
 * @igroup: its group's state
 * @group_item: in @igroup->device_list while attached
 * @dev: the device
 * @enforce_cache_coherency: its IOMMU can block non-coherent DMA
 * @iopf_enabled: its main (RID) attachment is to a HWPT with a FAULT object
 *                and holds one of @iopf_users; under the group's lock
 * @iopf_users: attachments (the RID's, and one per PASID) to HWPTs with a
 *              FAULT object; I/O page faults are turned on while nonzero.
 *              Under the group's lock
 * @pasids: PASID -> struct iommufd_pasid_attach, the device's PASIDs that
 *          are attached; changed under the group's lock
 * @vdevs_lock: protects @vdevs
 * @vdevs: its vDEVICEs (struct iommufd_vdevice), at most one per vIOMMU;
 *         each holds a long-term reference on the device
 */
struct iommufd_device {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_group *igroup;
	struct list_head group_item;
	struct device *dev;
	bool enforce_cache_coherency;
	bool iopf_enabled;
	unsigned int iopf_users;
	struct xarray pasids;
	spinlock_t vdevs_lock; /* see @vdevs_lock above */
	struct list_head vdevs;
};

/**
 * struct iommufd_pasid_attach - one attached PASID of a device
 * @handle: given to the IOMMU core for the PASID; its dev_id is the
 *          device's, for I/O page faults through the PASID
 * @hwpt: the HWPT attached, with a long-term reference
 */
struct iommufd_pasid_attach {
	struct iommufd_attach_handle handle;
	struct iommufd_hw_pagetable *hwpt;
};

static inline struct iommufd_device *
iommufd_get_device(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj = iommufd_get_object(ucmd->ictx, id,
							IOMMUFD_OBJ_DEVICE);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_device, obj);
}

void iommufd_device_destroy(struct iommufd_object *obj);
void iommufd_device_unlink(struct iommufd_object *obj);
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);
bool iommufd_device_pasid_capable(struct iommufd_device *idev);

/**
 * struct iommufd_viommu - a virtual IOMMU (IOMMUFD_OBJ_VIOMMU)
 * @obj: object header
 * @ictx: the context
 * @hwpt: the nesting parent it builds on, with a long-term reference
 * @iommu_dev: the physical IOMMU instance it is a share of; only devices
 *             behind it can have vDEVICEs or nested HWPTs on it
 * @drv: the driver's description of its type; the vIOMMU holds a reference
 *       on @drv->owner
 * @vdevs_rwsem: taken for writing to change @vdevs, for reading by the
 *               driver's cache_invalidate (so the devices it finds stay)
 * @vdevs: virtual ID -> struct iommufd_vdevice; the xarray's own lock
 *         makes lookups by device safe from any context
 * @veventqs_rwsem: protects @veventqs; taken for reading to report events
 * @veventqs: its vEVENTQs (struct iommufd_veventq), one per type
 * @priv: the driver's data, @drv->priv_size bytes
 *
 * Long-term references on it: one per vDEVICE, nested HWPT, vEVENTQ, HW
 * queue and mmap() of a region it exported, so it is destroyed last.
 */
struct iommufd_viommu {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_hwpt_paging *hwpt;
	struct iommu_device *iommu_dev;
	const struct iommufd_viommu_driver *drv;
	struct rw_semaphore vdevs_rwsem;
	struct xarray vdevs;
	struct rw_semaphore veventqs_rwsem;
	struct list_head veventqs;
	u8 priv[] __aligned(8);
};

/**
 * struct iommufd_vdevice - a device's identity on a vIOMMU
 *                          (IOMMUFD_OBJ_VDEVICE)
 * @obj: object header
 * @viommu: the vIOMMU, with a long-term reference
 * @idev: the device, with a long-term reference
 * @virt_id: the ID the guest knows the device by on @viommu
 * @idev_item: in @idev->vdevs
 *
 * Destroyed by IOMMU_DESTROY, by closing the file, or when its device is
 * unbound: then its ID stays reserved (a tombstone) until the file closes.
 */
struct iommufd_vdevice {
	struct iommufd_object obj;
	struct iommufd_viommu *viommu;
	struct iommufd_device *idev;
	u64 virt_id;
	struct list_head idev_item;
};

/**
 * struct iommufd_hw_queue - a guest queue the IOMMU reads directly
 *                           (IOMMUFD_OBJ_HW_QUEUE)
 * @obj: object header
 * @viommu: its vIOMMU, with a long-term reference
 * @access: an internal access that keeps the queue memory pinned in the
 *          vIOMMU's IOAS
 * @iova: first IOVA of the pinned pages
 * @length: bytes pinned from @iova
 * @type: enum iommu_hw_queue_type
 * @live: the driver's hw_queue_init succeeded; its hw_queue_destroy is due
 * @priv: the driver's data
 */
struct iommufd_hw_queue {
	struct iommufd_object obj;
	struct iommufd_viommu *viommu;
	struct iommufd_access *access;
	unsigned long iova;
	size_t length;
	u32 type;
	bool live;
	u8 priv[] __aligned(8);
};

/* The vIOMMU @id, with a lookup reference; ERR_PTR(-ENOENT) if none. */
static inline struct iommufd_viommu *
iommufd_get_viommu(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj = iommufd_get_object(ucmd->ictx, id,
							IOMMUFD_OBJ_VIOMMU);

	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_viommu, obj);
}

/* viommu.c */
int iommufd_viommu_alloc_ioctl(struct iommufd_ucmd *ucmd);
void iommufd_viommu_destroy(struct iommufd_object *obj);
int iommufd_vdevice_alloc_ioctl(struct iommufd_ucmd *ucmd);
void iommufd_vdevice_destroy(struct iommufd_object *obj);
void iommufd_device_tombstone_vdevs(struct iommufd_device *idev);
int iommufd_hw_queue_alloc_ioctl(struct iommufd_ucmd *ucmd);
void iommufd_hw_queue_destroy(struct iommufd_object *obj);

/* veventq.c */
int iommufd_veventq_alloc(struct iommufd_ucmd *ucmd);
void iommufd_veventq_destroy(struct iommufd_object *obj);
int iommufd_veventq_report(struct iommufd_viommu *viommu, u32 type,
			   const void *data, size_t len);

/**
 * struct iommufd_access - an in-kernel user of an IOAS (IOMMUFD_OBJ_ACCESS)
 * @obj: object header; the creating driver holds a long-term reference
 * @ictx: the context, with a reference
 * @ioas: the IOAS attached, with a long-term reference, or NULL; read under
 *        @ioas_lock, changed under both locks
 * @moving: @ioas is being left: pins and reads/writes must not start in it,
 *          unpins still go there. Under @ioas_lock
 * @ops: the driver's callbacks
 * @data: passed back to @ops
 * @iova_alignment: PAGE_SIZE if the user pins pages, else 1
 * @iopt_access_list_id: its index in @ioas->iopt.accesses; under @move_lock
 * @move_lock: serializes attach, replace and detach; held across the
 *             driver's unmap callback
 * @ioas_lock: held by pins, unpins and reads/writes while they use @ioas
 */
struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_ioas *ioas;
	bool moving;
	const struct iommufd_access_ops *ops;
	void *data;
	unsigned long iova_alignment;
	u32 iopt_access_list_id;
	struct mutex move_lock; /* see @move_lock above */
	struct mutex ioas_lock; /* see @ioas_lock above */
};

void iommufd_access_destroy_object(struct iommufd_object *obj);
struct iommufd_access *
iommufd_access_create_internal(struct iommufd_ctx *ictx,
			       const struct iommufd_access_ops *ops,
			       struct iommufd_ioas *ioas);
void iommufd_access_destroy_internal(struct iommufd_access *access);
void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length);

#ifdef CONFIG_IOMMUFD_TEST
int iommufd_test(struct iommufd_ucmd *ucmd);
void iommufd_selftest_destroy(struct iommufd_object *obj);
bool iommufd_selftest_is_mock_dev(struct device *dev);
int __init iommufd_test_init(void);
void iommufd_test_exit(void);
#else
static inline bool iommufd_selftest_is_mock_dev(struct device *dev)
{
	return false;
}

static inline int iommufd_test_init(void)
{
	return 0;
}

static inline void iommufd_test_exit(void)
{
}
#endif

#endif
