// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel API for drivers: bound devices and in-kernel access users.
 *
 * Devices
 * -------
 * A driver (vfio-pci, or the selftest's mock bus) binds a device to an
 * iommufd with iommufd_device_bind(). That claims DMA ownership of its
 * iommu_group for the context and creates a DEVICE object, which the
 * driver holds until iommufd_device_unbind(). While bound the device also
 * keeps the context alive (except mock devices, which live inside it).
 *
 * IOMMUs attach whole iommu_groups, so the devices of one group bound to
 * one context share a struct iommufd_group: the HWPT the group is attached
 * to and the list of its attached devices. The first device to attach
 * attaches the group; the last to detach detaches it; a replace moves the
 * group, and with it every attached device, to a new HWPT. Each attached
 * device holds a reference on the HWPT and has its reserved regions
 * reserved in the HWPT's IOAS.
 *
 * Attaching to an IOAS rather than a HWPT picks the first automatic HWPT
 * of that IOAS the device's IOMMU accepts, or creates one. An automatic
 * HWPT is destroyed when its last device leaves it. A new one is attached
 * before it is published; until then its creator holds a reference of its
 * own, so that a device leaving it at once does not destroy it unpublished.
 *
 * Accesses
 * --------
 * An access is an in-kernel user (an emulated or mdev device) that reads,
 * writes or pins IOAS memory through the CPU instead of through an IOMMU.
 * It is created by its driver, attached to at most one IOAS at a time, and
 * must unpin whatever it pinned in a range when its unmap callback says
 * that range is about to go.
 *
 * An access changes IOAS (attach, replace, detach) under its move_lock,
 * one change at a time. While a change is in flight the access is
 * "moving": no pin or read/write may start in the IOAS it is leaving, but
 * unpins still find that IOAS, which stays its access->ioas until the
 * driver has been asked, through its unmap callback, to unpin everything
 * there. ioas_lock protects access->ioas and the moving flag; it is held
 * across a pin or read/write but never across the unmap callback.
 *
 * Locking: the order is in iommufd_private.h. iommufd_group::lock protects
 * a group's HWPT and device list; ioas->mutex is taken before it when an
 * automatic HWPT is chosen.
 */
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pci-ats.h>
#include <linux/slab.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Allow binding devices whose MSIs the platform cannot isolate. A device could then trigger interrupts outside its VM.");

/* ---------------------------------------------------------------------
 * Groups.
 */

/* Called with ictx->groups' lock held, which it releases. */
static void iommufd_group_release(struct kref *kref)
	__releases(&igroup->ictx->groups.xa_lock)
{
	struct iommufd_group *igroup =
		container_of(kref, struct iommufd_group, ref);
	struct xarray *groups = &igroup->ictx->groups;

	WARN_ON(igroup->hwpt || !list_empty(&igroup->device_list));
	__xa_erase(groups, iommu_group_id(igroup->group));
	xa_unlock(groups);

	iommu_group_put(igroup->group);
	mutex_destroy(&igroup->lock);
	kfree(igroup);
}

static void iommufd_put_group(struct iommufd_group *igroup)
{
	kref_put_lock(&igroup->ref, iommufd_group_release,
		      &igroup->ictx->groups.xa_lock);
}

/* The group state for @dev's iommu_group in @ictx, created if needed. */
static struct iommufd_group *iommufd_get_group(struct iommufd_ctx *ictx,
					       struct device *dev)
{
	struct iommufd_group *igroup, *new = NULL;
	struct iommu_group *group;
	unsigned int id;
	int rc;

	group = iommu_group_get(dev);
	if (!group)
		return ERR_PTR(-ENODEV);
	id = iommu_group_id(group);

	while (true) {
		/* Entries stay until their last reference is gone. */
		xa_lock(&ictx->groups);
		igroup = xa_load(&ictx->groups, id);
		if (igroup)
			kref_get(&igroup->ref);
		xa_unlock(&ictx->groups);
		if (igroup) {
			iommu_group_put(group);
			kfree(new);
			return igroup;
		}

		if (!new) {
			new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
			if (!new) {
				iommu_group_put(group);
				return ERR_PTR(-ENOMEM);
			}
			kref_init(&new->ref);
			mutex_init(&new->lock);
			INIT_LIST_HEAD(&new->device_list);
			new->sw_msi_start = PHYS_ADDR_MAX;
			new->ictx = ictx;
			new->group = group;
			continue;
		}

		rc = xa_insert(&ictx->groups, id, new, GFP_KERNEL_ACCOUNT);
		if (!rc)
			return new;
		if (rc != -EBUSY) {
			mutex_destroy(&new->lock);
			kfree(new);
			iommu_group_put(group);
			return ERR_PTR(rc);
		}
		/* Someone else installed one: use theirs. */
	}
}

/**
 * iommufd_ctx_has_group() - whether devices of a group are bound to a context
 * @ictx: the context
 * @group: the iommu_group
 *
 * Return: true if at least one device of @group is bound to @ictx.
 */
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group)
{
	struct iommufd_group *igroup;
	bool found;

	if (!ictx || !group)
		return false;
	xa_lock(&ictx->groups);
	igroup = xa_load(&ictx->groups, iommu_group_id(group));
	found = igroup && igroup->group == group;
	xa_unlock(&ictx->groups);
	return found;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_has_group, IOMMUFD);

/* ---------------------------------------------------------------------
 * Binding.
 */

/**
 * iommufd_device_bind() - give a device's DMA to an iommufd
 * @ictx: the context
 * @dev: the device; its driver must be ready to have DMA blocked
 * @id: receives the DEVICE object's ID, for user space
 *
 * Claims DMA ownership of @dev's iommu_group for @ictx: the group's DMA is
 * blocked until a device of it is attached. Every device of a group must be
 * bound to the same context, or unbound, to be attached.
 *
 * Return: the device, to be passed to iommufd_device_unbind() eventually,
 * or an ERR_PTR: -EINVAL if the IOMMU cannot keep DMA cache coherent,
 * -EPERM if the platform cannot isolate the device's MSIs (see the
 * allow_unsafe_interrupts parameter), -ENODEV without an IOMMU, -EBUSY if
 * another owner has the group.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	bool mock = iommufd_selftest_is_mock_dev(dev);
	struct iommufd_group *igroup;
	struct iommufd_device *idev;
	int rc;

	/* User space has no way to restore coherency, so it is a must. */
	if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY))
		return ERR_PTR(-EINVAL);

	igroup = iommufd_get_group(ictx, dev);
	if (IS_ERR(igroup))
		return ERR_CAST(igroup);

	/*
	 * A DMA write to the MSI window must not raise interrupts outside
	 * this context, or the device can attack the host.
	 */
	if (!mock && !iommu_group_has_isolated_msi(igroup->group)) {
		if (!allow_unsafe_interrupts) {
			rc = -EPERM;
			goto out_put_group;
		}
		dev_warn(dev,
			 "binding with MSIs the platform cannot isolate (interrupt remapping off?), as allow_unsafe_interrupts permits\n");
	}

	rc = iommu_device_claim_dma_owner(dev, ictx);
	if (rc)
		goto out_put_group;

	idev = iommufd_object_alloc(ictx, struct iommufd_device, obj,
				    IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto out_release_owner;
	}
	idev->ictx = ictx;
	idev->dev = dev;
	idev->igroup = igroup;
	INIT_LIST_HEAD(&idev->group_item);
	xa_init(&idev->pasids);
	spin_lock_init(&idev->vdevs_lock);
	INIT_LIST_HEAD(&idev->vdevs);
	idev->enforce_cache_coherency =
		device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	if (!mock)
		iommufd_ctx_get(ictx);
	/*
	 * The binding driver owns the object: its reference, given back by
	 * iommufd_device_unbind(), is why IOMMU_DESTROY can never free it.
	 */
	iommufd_object_add_user(&idev->obj);
	iommufd_object_finalize(ictx, &idev->obj);
	*id = idev->obj.id;
	return idev;

out_release_owner:
	iommu_device_release_dma_owner(dev);
out_put_group:
	iommufd_put_group(igroup);
	return ERR_PTR(rc);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_bind, IOMMUFD);

/* The DEVICE object's destroy op: undo what binding claimed. */
void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev = container_of(obj, typeof(*idev), obj);
	bool mock = iommufd_selftest_is_mock_dev(idev->dev);
	struct iommufd_ctx *ictx = idev->ictx;

	WARN_ON(!xa_empty(&idev->pasids) || !list_empty(&idev->vdevs));
	xa_destroy(&idev->pasids);
	iommu_device_release_dma_owner(idev->dev);
	iommufd_put_group(idev->igroup);
	/* Mock devices live inside the file and never held it. */
	if (!mock)
		iommufd_ctx_put(ictx);
}

/*
 * The DEVICE object's unlink op: once no lookup can find the device, its
 * vDEVICEs go, leaving their IDs reserved.
 */
void iommufd_device_unlink(struct iommufd_object *obj)
{
	iommufd_device_tombstone_vdevs(container_of(obj, struct iommufd_device,
						    obj));
}

/**
 * iommufd_device_unbind() - undo iommufd_device_bind()
 * @idev: the device, detached from its IOAS or HWPT and from every PASID
 *
 * Waits for ioctls using the DEVICE object to finish, destroys the
 * device's vDEVICEs (their IDs stay reserved until the file is closed),
 * then releases the device's DMA ownership. The device's DMA stays blocked
 * until its driver sets it up again.
 */
void iommufd_device_unbind(struct iommufd_device *idev)
{
	if (WARN_ON(!list_empty(&idev->group_item)))
		iommufd_device_detach(idev);
	if (WARN_ON(!xa_empty(&idev->pasids))) {
		struct iommufd_pasid_attach *attach;
		unsigned long pasid;

		xa_for_each(&idev->pasids, pasid, attach)
			iommufd_device_pasid_detach(idev, pasid);
	}
	/* Takes over the driver's reference. */
	iommufd_object_destroy_kernel(idev->ictx, &idev->obj);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_unbind, IOMMUFD);

/**
 * iommufd_device_to_ictx() - the context a device is bound to
 * @idev: the device
 *
 * Return: the context; valid while the device is bound.
 */
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev)
{
	return idev->ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_ictx, IOMMUFD);

/**
 * iommufd_device_to_id() - the object ID user space knows the device by
 * @idev: the device
 *
 * Return: the DEVICE object's ID.
 */
u32 iommufd_device_to_id(struct iommufd_device *idev)
{
	return idev->obj.id;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_id, IOMMUFD);

/* ---------------------------------------------------------------------
 * Attaching.
 */

/*
 * The IOAS whose memory the device reaches through @hwpt: a nested HWPT's
 * output goes through its parent's.
 */
static struct iommufd_ioas *hwpt_ioas(struct iommufd_hw_pagetable *hwpt)
{
	if (hwpt_is_paging(hwpt))
		return to_hwpt_paging(hwpt)->ioas;
	return container_of(hwpt, struct iommufd_hwpt_nested, common)
		->parent->ioas;
}

/* Software-managed MSI windows (ARM) need a cookie in the domain. */
static int iommufd_group_setup_msi(struct iommufd_group *igroup,
				   struct iommufd_hw_pagetable *hwpt)
{
	int rc;

	if (igroup->sw_msi_start == PHYS_ADDR_MAX || !hwpt_is_paging(hwpt))
		return 0;
	rc = iommu_get_msi_cookie(hwpt->domain, igroup->sw_msi_start);
	return rc == -EEXIST ? 0 : rc;
}

/* A device that can have coherency enforced requires it of its HWPT. */
static int iommufd_device_check_cc(struct iommufd_device *idev,
				   struct iommufd_hw_pagetable *hwpt)
{
	if (!hwpt_is_paging(hwpt) || !idev->enforce_cache_coherency)
		return 0;
	return iommufd_hwpt_paging_enforce_cc(to_hwpt_paging(hwpt));
}

/*
 * Make @idev's requirements hold in @hwpt: coherency, and its reserved
 * regions kept out of the IOAS it reaches (for a nested HWPT, the parent's:
 * the guest's addresses end up there).
 */
static int iommufd_device_prepare(struct iommufd_device *idev,
				  struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_group *igroup = idev->igroup;
	int rc;

	rc = iommufd_device_check_cc(idev, hwpt);
	if (rc)
		return rc;
	return iopt_table_enforce_dev_resv_regions(&hwpt_ioas(hwpt)->iopt,
						   idev->dev,
						   &igroup->sw_msi_start);
}

static void iommufd_device_unprepare(struct iommufd_device *idev,
				     struct iommufd_hw_pagetable *hwpt)
{
	iopt_remove_reserved_iova(&hwpt_ioas(hwpt)->iopt, idev->dev);
}

/*
 * I/O page faults: a device reaching a HWPT with a FAULT object has them
 * turned on (IOMMU_DEV_FEAT_IOPF) from before it joins until after it
 * leaves. All under the group's lock.
 */
static int iommufd_device_iopf_get(struct iommufd_device *idev)
{
	int rc;

	lockdep_assert_held(&idev->igroup->lock);
	if (idev->iopf_users) {
		idev->iopf_users++;
		return 0;
	}
	rc = iommu_dev_enable_feature(idev->dev, IOMMU_DEV_FEAT_IOPF);
	if (!rc)
		idev->iopf_users = 1;
	return rc;
}

static void iommufd_device_iopf_put(struct iommufd_device *idev)
{
	lockdep_assert_held(&idev->igroup->lock);
	if (!WARN_ON(!idev->iopf_users) && !--idev->iopf_users)
		iommu_dev_disable_feature(idev->dev, IOMMU_DEV_FEAT_IOPF);
}

/* The RID's share of the count: at most one, while it reaches a FAULT. */
static int iommufd_device_iopf_on(struct iommufd_device *idev,
				  struct iommufd_hw_pagetable *hwpt)
{
	int rc;

	lockdep_assert_held(&idev->igroup->lock);
	if (!hwpt->fault || idev->iopf_enabled)
		return 0;
	rc = iommufd_device_iopf_get(idev);
	if (!rc)
		idev->iopf_enabled = true;
	return rc;
}

static void iommufd_device_iopf_off(struct iommufd_device *idev)
{
	lockdep_assert_held(&idev->igroup->lock);
	if (!idev->iopf_enabled)
		return;
	iommufd_device_iopf_put(idev);
	idev->iopf_enabled = false;
}

/*
 * @idev no longer reaches @old (now it reaches @new, or nothing): its
 * faults still queued in @old's FAULT object are answered for it, then
 * faults are turned off unless @new takes them. In that order, as turning
 * them off frees what the core still holds of the device's faults.
 */
static void iommufd_device_iopf_leave(struct iommufd_device *idev,
				      struct iommufd_hw_pagetable *old,
				      struct iommufd_hw_pagetable *new)
{
	if (old->fault)
		iommufd_fault_drain(old->fault, idev->dev,
				    &idev->igroup->handle.handle);
	if (!new || !new->fault)
		iommufd_device_iopf_off(idev);
}

/*
 * A device with PASIDs attached keeps its RID on PASID-compatible HWPTs,
 * as the IOMMU may have to share translation structures between them.
 */
static bool iommufd_device_rid_compat(struct iommufd_device *idev,
				      struct iommufd_hw_pagetable *hwpt)
{
	lockdep_assert_held(&idev->igroup->lock);
	return hwpt->pasid_compat || xa_empty(&idev->pasids);
}

static int iommufd_device_do_attach(struct iommufd_device *idev,
				    struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_group *igroup = idev->igroup;
	int rc;

	mutex_lock(&igroup->lock);
	if ((igroup->hwpt && igroup->hwpt != hwpt) ||
	    !list_empty(&idev->group_item) ||
	    !iommufd_device_rid_compat(idev, hwpt)) {
		rc = -EINVAL;
		goto out_unlock;
	}

	rc = iommufd_device_prepare(idev, hwpt);
	if (rc)
		goto out_unlock;
	rc = iommufd_device_iopf_on(idev, hwpt);
	if (rc)
		goto out_unprepare;

	if (list_empty(&igroup->device_list)) {
		rc = iommufd_group_setup_msi(igroup, hwpt);
		if (rc)
			goto out_iopf;
		WRITE_ONCE(igroup->handle.dev_id, idev->obj.id);
		rc = iommu_attach_group_handle(hwpt->domain, igroup->group,
					       &igroup->handle.handle);
		if (rc)
			goto out_iopf;
		igroup->hwpt = hwpt;
	}
	iommufd_object_add_user(&hwpt->obj);
	list_add_tail(&idev->group_item, &igroup->device_list);
	mutex_unlock(&igroup->lock);
	return 0;

out_iopf:
	/* It was not attached before: whatever is on, this call turned on. */
	iommufd_device_iopf_off(idev);
out_unprepare:
	iommufd_device_unprepare(idev, hwpt);
out_unlock:
	mutex_unlock(&igroup->lock);
	return rc;
}

/* Drop a device's reference on a HWPT it left; automatic ones may go. */
static void iommufd_hwpt_leave(struct iommufd_ctx *ictx,
			       struct iommufd_hw_pagetable *hwpt,
			       unsigned int ndevs)
{
	bool auto_domain = hwpt_is_paging(hwpt) &&
			   to_hwpt_paging(hwpt)->auto_domain;

	while (ndevs--) {
		if (auto_domain && !ndevs)
			iommufd_object_put_and_try_destroy(ictx, &hwpt->obj);
		else
			iommufd_object_drop_user(&hwpt->obj);
	}
}

/*
 * Move @idev's whole group to @hwpt. On success *old is the HWPT left and
 * *ndevs how many device references it lost; the caller drops them.
 */
static int iommufd_device_do_replace(struct iommufd_device *idev,
				     struct iommufd_hw_pagetable *hwpt,
				     struct iommufd_hw_pagetable **old,
				     unsigned int *ndevs)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *cur;
	struct iommufd_device *cdev;
	bool new_ioas;
	int rc;

	*old = NULL;
	*ndevs = 0;
	mutex_lock(&igroup->lock);
	cur = igroup->hwpt;
	if (!cur || list_empty(&idev->group_item)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (cur == hwpt) {
		rc = 0;
		goto out_unlock;
	}

	new_ioas = hwpt_ioas(hwpt) != hwpt_ioas(cur);
	list_for_each_entry(cdev, &igroup->device_list, group_item) {
		if (!iommufd_device_rid_compat(cdev, hwpt)) {
			rc = -EINVAL;
			goto err_unprepare;
		}
		if (new_ioas)
			rc = iommufd_device_prepare(cdev, hwpt);
		else
			rc = iommufd_device_check_cc(cdev, hwpt);
		if (rc)
			goto err_unprepare;
		rc = iommufd_device_iopf_on(cdev, hwpt);
		if (rc) {
			if (new_ioas)
				iommufd_device_unprepare(cdev, hwpt);
			goto err_unprepare;
		}
	}

	rc = iommufd_group_setup_msi(igroup, hwpt);
	if (!rc) {
		rc = iommu_replace_group_handle(igroup->group, hwpt->domain,
						&igroup->handle.handle);
		/* The core points the handle at the new domain even then. */
		if (rc)
			igroup->handle.handle.domain = cur->domain;
	}
	if (rc)
		goto err_unprepare;

	list_for_each_entry(cdev, &igroup->device_list, group_item) {
		if (new_ioas)
			iommufd_device_unprepare(cdev, cur);
		iommufd_device_iopf_leave(cdev, cur, hwpt);
		iommufd_object_add_user(&hwpt->obj);
		(*ndevs)++;
	}
	igroup->hwpt = hwpt;
	*old = cur;
	mutex_unlock(&igroup->lock);
	return 0;

err_unprepare:
	{
		struct iommufd_device *udev;

		list_for_each_entry(udev, &igroup->device_list, group_item) {
			if (udev == cdev)
				break;
			if (new_ioas)
				iommufd_device_unprepare(udev, hwpt);
			/* Back to what the current HWPT needs. */
			if (!cur->fault)
				iommufd_device_iopf_off(udev);
		}
	}
out_unlock:
	mutex_unlock(&igroup->lock);
	return rc;
}

static int iommufd_device_join(struct iommufd_device *idev,
			       struct iommufd_hw_pagetable *hwpt, bool replace,
			       struct iommufd_hw_pagetable **old,
			       unsigned int *ndevs)
{
	if (replace)
		return iommufd_device_do_replace(idev, hwpt, old, ndevs);
	*old = NULL;
	*ndevs = 0;
	return iommufd_device_do_attach(idev, hwpt);
}

/* Attach to, or replace with, an automatic HWPT of @ioas. */
static int iommufd_device_join_ioas(struct iommufd_device *idev,
				    struct iommufd_ioas *ioas, u32 *pt_id,
				    bool replace,
				    struct iommufd_hw_pagetable **old,
				    unsigned int *ndevs)
{
	struct iommufd_hwpt_paging *hwpt_paging, *next;
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	mutex_lock(&ioas->mutex);
	/* _safe: the one tried may be destroyed, taking it off the list. */
	list_for_each_entry_safe(hwpt_paging, next, &ioas->hwpt_list,
				 hwpt_item) {
		hwpt = &hwpt_paging->common;
		/* One that IOMMU_DESTROY is taking away is skipped. */
		if (!hwpt_paging->auto_domain ||
		    !iommufd_object_try_lookup(&hwpt->obj))
			continue;
		rc = iommufd_device_join(idev, hwpt, replace, old, ndevs);
		if (!rc)
			*pt_id = hwpt->obj.id;
		/*
		 * If its last device left it meanwhile, in another thread,
		 * that could not destroy it while we looked: then we do.
		 */
		iommufd_object_put_lookup_and_reap(idev->ictx, &hwpt->obj);
		/* -EINVAL: this domain does not suit the device; try on. */
		if (rc == -EINVAL)
			continue;
		goto out_unlock;
	}

	hwpt_paging = iommufd_hwpt_paging_alloc(idev->ictx, ioas, idev, 0);
	if (IS_ERR(hwpt_paging)) {
		rc = PTR_ERR(hwpt_paging);
		goto out_unlock;
	}
	hwpt = &hwpt_paging->common;
	hwpt_paging->auto_domain = true;
	/* The device may want its PASIDs attached here later. */
	hwpt->pasid_compat = iommufd_device_pasid_capable(idev) &&
			     hwpt->domain->ops->set_dev_pasid;
	/*
	 * Once joined, the device's reference is no longer ours: the device
	 * may be moved away in another thread (its group's lock is not held
	 * between the join and here), and dropping the last device reference
	 * destroys an automatic HWPT, published or not. Keep one of our own
	 * until it is published.
	 */
	iommufd_object_add_user(&hwpt->obj);
	rc = iommufd_device_join(idev, hwpt, replace, old, ndevs);
	if (rc) {
		iommufd_object_drop_user(&hwpt->obj);
		iommufd_object_abort_and_destroy(idev->ictx, &hwpt->obj);
		goto out_unlock;
	}
	*pt_id = hwpt->obj.id;
	iommufd_object_finalize(idev->ictx, &hwpt->obj);
	mutex_unlock(&ioas->mutex);
	/* If the device has already left, the HWPT goes now, unused. */
	iommufd_object_put_and_try_destroy(idev->ictx, &hwpt->obj);
	return 0;

out_unlock:
	mutex_unlock(&ioas->mutex);
	return rc;
}

static int iommufd_device_change_pt(struct iommufd_device *idev, u32 *pt_id,
				    bool replace)
{
	struct iommufd_hw_pagetable *old = NULL;
	struct iommufd_object *pt_obj;
	unsigned int ndevs = 0;
	int rc;

	pt_obj = iommufd_get_object(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_HWPT_PAGING:
	case IOMMUFD_OBJ_HWPT_NESTED:
		rc = iommufd_device_join(idev,
					 container_of(pt_obj,
						      struct iommufd_hw_pagetable,
						      obj),
					 replace, &old, &ndevs);
		break;
	case IOMMUFD_OBJ_IOAS:
		rc = iommufd_device_join_ioas(idev,
					      container_of(pt_obj,
							   struct iommufd_ioas,
							   obj),
					      pt_id, replace, &old, &ndevs);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	iommufd_put_object(idev->ictx, pt_obj);
	if (old)
		iommufd_hwpt_leave(idev->ictx, old, ndevs);
	return rc;
}

/**
 * iommufd_device_attach() - connect a device to an IOAS or HWPT
 * @idev: a bound, detached device
 * @pt_id: in: an IOAS or HWPT ID; out: the HWPT attached, which for an IOAS
 *         is an automatic one
 *
 * Return: 0, -ENOENT for an unknown ID, -EINVAL if the device cannot use
 * it (or its group is attached elsewhere), -EADDRINUSE if the device's
 * reserved regions are already mapped or allowed in the IOAS.
 */
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	return iommufd_device_change_pt(idev, pt_id, false);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_attach, IOMMUFD);

/**
 * iommufd_device_replace() - move an attached device to another IOAS/HWPT
 * @idev: an attached device
 * @pt_id: as for iommufd_device_attach()
 *
 * The change is atomic for DMA: at no point is the device's group attached
 * to neither. Every device of the group moves with it.
 *
 * Return: as for iommufd_device_attach(); on failure nothing changed.
 */
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id)
{
	return iommufd_device_change_pt(idev, pt_id, true);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_replace, IOMMUFD);

/**
 * iommufd_device_detach() - disconnect a device from its HWPT
 * @idev: an attached device
 *
 * When the last device of its group leaves, the group's DMA is blocked.
 */
void iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *hwpt;

	mutex_lock(&igroup->lock);
	hwpt = igroup->hwpt;
	if (WARN_ON(!hwpt || list_empty(&idev->group_item))) {
		mutex_unlock(&igroup->lock);
		return;
	}
	list_del_init(&idev->group_item);
	if (list_empty(&igroup->device_list)) {
		iommu_detach_group_handle(hwpt->domain, igroup->group);
		igroup->hwpt = NULL;
	} else if (igroup->handle.dev_id == idev->obj.id) {
		/* Faults are reported for a device still attached. */
		WRITE_ONCE(igroup->handle.dev_id,
			   list_first_entry(&igroup->device_list,
					    struct iommufd_device,
					    group_item)->obj.id);
	}
	iommufd_device_unprepare(idev, hwpt);
	iommufd_device_iopf_leave(idev, hwpt, NULL);
	mutex_unlock(&igroup->lock);

	iommufd_hwpt_leave(idev->ictx, hwpt, 1);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_detach, IOMMUFD);

/* ---------------------------------------------------------------------
 * PASIDs.
 *
 * A PASID of a device is attached to a HWPT on its own, beside the device's
 * main (RID) attachment: only HWPTs allocated with IOMMU_HWPT_ALLOC_PASID,
 * and only while the RID's HWPT, if any, is such a HWPT too (and the RID
 * stays on such HWPTs while any PASID is attached). Each attached PASID
 * holds a reference on its HWPT and has its own attach handle, so the I/O
 * page faults tagged with it go to that HWPT's FAULT object, if it has one.
 * All under the group's lock, like the RID's changes.
 */

/**
 * iommufd_device_pasid_capable() - whether a device can issue PASIDs
 * @idev: the device
 *
 * Return: true if the device and its IOMMU support PASIDs.
 */
bool iommufd_device_pasid_capable(struct iommufd_device *idev)
{
	return idev->dev->iommu && idev->dev->iommu->max_pasids;
}

/* The PASID-compatible HWPT @pt_id, with a lookup reference. */
static struct iommufd_hw_pagetable *
pasid_hwpt_get(struct iommufd_device *idev, u32 pasid, u32 pt_id)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *obj;

	if (pasid == IOMMU_NO_PASID || !iommufd_device_pasid_capable(idev) ||
	    pasid >= idev->dev->iommu->max_pasids)
		return ERR_PTR(-EINVAL);
	obj = iommufd_get_object(idev->ictx, pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	if (obj->type != IOMMUFD_OBJ_HWPT_PAGING &&
	    obj->type != IOMMUFD_OBJ_HWPT_NESTED) {
		iommufd_put_object(idev->ictx, obj);
		return ERR_PTR(-EINVAL);
	}
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (!hwpt->pasid_compat) {
		iommufd_put_object(idev->ictx, obj);
		return ERR_PTR(-EINVAL);
	}
	return hwpt;
}

/* Attach @pasid, which is not attached, to @hwpt. Under the group lock. */
static int pasid_do_attach(struct iommufd_device *idev, u32 pasid,
			   struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hw_pagetable *rid_hwpt = idev->igroup->hwpt;
	struct iommufd_pasid_attach *attach;
	int rc;

	lockdep_assert_held(&idev->igroup->lock);
	if (rid_hwpt && !rid_hwpt->pasid_compat)
		return -EINVAL;
	if (xa_load(&idev->pasids, pasid))
		return -EBUSY;

	attach = kzalloc(sizeof(*attach), GFP_KERNEL_ACCOUNT);
	if (!attach)
		return -ENOMEM;
	attach->hwpt = hwpt;
	attach->handle.dev_id = idev->obj.id;
	rc = xa_insert(&idev->pasids, pasid, attach, GFP_KERNEL_ACCOUNT);
	if (rc)
		goto out_free;
	if (hwpt->fault) {
		rc = iommufd_device_iopf_get(idev);
		if (rc)
			goto out_erase;
	}
	rc = iommu_attach_device_pasid(hwpt->domain, idev->dev, pasid,
				       &attach->handle.handle);
	if (rc)
		goto out_iopf;
	iommufd_object_add_user(&hwpt->obj);
	return 0;

out_iopf:
	if (hwpt->fault)
		iommufd_device_iopf_put(idev);
out_erase:
	xa_erase(&idev->pasids, pasid);
out_free:
	kfree(attach);
	return rc;
}

/**
 * iommufd_device_pasid_attach() - attach one PASID of a device to a HWPT
 * @idev: the device
 * @pasid: the PASID, which must not be attached yet
 * @pt_id: a HWPT allocated with IOMMU_HWPT_ALLOC_PASID
 *
 * Return: 0; -EINVAL for a PASID the device cannot issue, for an ID that is
 * not such a HWPT (an IOAS, say), or while the device's RID is attached to
 * a HWPT that is not PASID-compatible; -ENOENT for an unknown ID; -EBUSY if
 * the PASID is attached already (see iommufd_device_pasid_replace()).
 */
int iommufd_device_pasid_attach(struct iommufd_device *idev, u32 pasid,
				u32 *pt_id)
{
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	hwpt = pasid_hwpt_get(idev, pasid, *pt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	mutex_lock(&idev->igroup->lock);
	rc = pasid_do_attach(idev, pasid, hwpt);
	mutex_unlock(&idev->igroup->lock);
	iommufd_put_object(idev->ictx, &hwpt->obj);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_pasid_attach, IOMMUFD);

/**
 * iommufd_device_pasid_replace() - move an attached PASID to another HWPT
 * @idev: the device
 * @pasid: an attached PASID
 * @pt_id: as for iommufd_device_pasid_attach()
 *
 * DMA with the PASID never finds it unattached on the way.
 *
 * Return: as for iommufd_device_pasid_attach(), and -EINVAL if @pasid is
 * not attached; on failure it stays where it was.
 */
int iommufd_device_pasid_replace(struct iommufd_device *idev, u32 pasid,
				 u32 *pt_id)
{
	struct iommufd_hw_pagetable *hwpt, *old = NULL;
	struct iommufd_pasid_attach *attach;
	int rc;

	hwpt = pasid_hwpt_get(idev, pasid, *pt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);

	mutex_lock(&idev->igroup->lock);
	attach = xa_load(&idev->pasids, pasid);
	if (!attach) {
		rc = -EINVAL;
		goto out_unlock;
	}
	rc = 0;
	if (attach->hwpt == hwpt)
		goto out_unlock;
	if (hwpt->fault) {
		rc = iommufd_device_iopf_get(idev);
		if (rc)
			goto out_unlock;
	}
	rc = iommu_replace_device_pasid(hwpt->domain, idev->dev, pasid,
					&attach->handle.handle);
	if (rc) {
		if (hwpt->fault)
			iommufd_device_iopf_put(idev);
		goto out_unlock;
	}
	old = attach->hwpt;
	attach->hwpt = hwpt;
	iommufd_object_add_user(&hwpt->obj);
	if (old->fault) {
		iommufd_fault_drain(old->fault, idev->dev,
				    &attach->handle.handle);
		iommufd_device_iopf_put(idev);
	}
out_unlock:
	mutex_unlock(&idev->igroup->lock);
	iommufd_put_object(idev->ictx, &hwpt->obj);
	if (old)
		iommufd_hwpt_leave(idev->ictx, old, 1);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_pasid_replace, IOMMUFD);

/**
 * iommufd_device_pasid_detach() - detach one PASID of a device
 * @idev: the device
 * @pasid: the PASID; nothing happens if it is not attached
 *
 * DMA with the PASID is blocked afterwards; its faults still queued are
 * answered for it.
 */
void iommufd_device_pasid_detach(struct iommufd_device *idev, u32 pasid)
{
	struct iommufd_pasid_attach *attach;
	struct iommufd_hw_pagetable *hwpt;

	mutex_lock(&idev->igroup->lock);
	attach = xa_load(&idev->pasids, pasid);
	if (!attach) {
		mutex_unlock(&idev->igroup->lock);
		return;
	}
	hwpt = attach->hwpt;
	iommu_detach_device_pasid(hwpt->domain, idev->dev, pasid);
	xa_erase(&idev->pasids, pasid);
	if (hwpt->fault) {
		iommufd_fault_drain(hwpt->fault, idev->dev,
				    &attach->handle.handle);
		iommufd_device_iopf_put(idev);
	}
	mutex_unlock(&idev->igroup->lock);
	kfree(attach);
	iommufd_hwpt_leave(idev->ictx, hwpt, 1);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_pasid_detach, IOMMUFD);

/* ---------------------------------------------------------------------
 * IOMMU_GET_HW_INFO
 */

static u64 pci_pasid_caps(struct device *dev)
{
	u64 caps = 0;
	int features;

	if (!dev_is_pci(dev))
		return 0;
	features = pci_pasid_features(to_pci_dev(dev));
	if (features < 0)
		return 0;
	if (features & PCI_PASID_CAP_EXEC)
		caps |= IOMMU_HW_CAP_PCI_PASID_EXEC;
	if (features & PCI_PASID_CAP_PRIV)
		caps |= IOMMU_HW_CAP_PCI_PASID_PRIV;
	return caps;
}

int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	void __user *user_ptr = u64_to_user_ptr(cmd->data_uptr);
	const struct iommu_ops *ops;
	struct iommufd_device *idev;
	unsigned int copy_len;
	u32 data_len = 0;
	void *data = NULL;
	u32 type = IOMMU_HW_INFO_TYPE_NONE;
	int rc = 0;

	if (cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		return -EOPNOTSUPP;
	if (cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;

	idev = iommufd_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	ops = dev_iommu_ops(idev->dev);
	if (ops->hw_info) {
		data = ops->hw_info(idev->dev, &data_len, &type);
		if (IS_ERR(data)) {
			rc = PTR_ERR(data);
			data = NULL;
			goto out_put;
		}
	}
	/* This driver generation reports one type; asking for another fails. */
	if ((cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE) &&
	    cmd->in_data_type != IOMMU_HW_INFO_TYPE_DEFAULT &&
	    cmd->in_data_type != type) {
		rc = -EOPNOTSUPP;
		goto out_free;
	}

	copy_len = min(cmd->data_len, data_len);
	if (copy_to_user(user_ptr, data, copy_len) ||
	    (cmd->data_len > copy_len &&
	     clear_user(user_ptr + copy_len, cmd->data_len - copy_len))) {
		rc = -EFAULT;
		goto out_free;
	}

	cmd->data_len = data_len;
	cmd->out_data_type = type;
	cmd->out_capabilities = 0;
	if (device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING))
		cmd->out_capabilities |= IOMMU_HW_CAP_DIRTY_TRACKING;
	cmd->out_max_pasid_log2 = 0;
	if (idev->dev->iommu && idev->dev->iommu->max_pasids) {
		cmd->out_max_pasid_log2 = ilog2(idev->dev->iommu->max_pasids);
		cmd->out_capabilities |= pci_pasid_caps(idev->dev);
	}
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	kfree(data);
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* ---------------------------------------------------------------------
 * Accesses.
 */

/**
 * iommufd_access_create() - create an in-kernel access user
 * @ictx: the context
 * @ops: callbacks; users that pin pages must provide an unmap callback
 * @data: passed to @ops
 * @id: receives the ACCESS object's ID
 *
 * The access holds a reference on the context until it is destroyed.
 *
 * Return: the access, or an ERR_PTR.
 */
struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id)
{
	struct iommufd_access *access;

	if (ops->needs_pin_pages && !ops->unmap)
		return ERR_PTR(-EINVAL);

	access = iommufd_object_alloc(ictx, struct iommufd_access, obj,
				      IOMMUFD_OBJ_ACCESS);
	if (IS_ERR(access))
		return access;

	access->data = data;
	access->ops = ops;
	access->iova_alignment = ops->needs_pin_pages ? PAGE_SIZE : 1;
	access->ictx = ictx;
	iommufd_ctx_get(ictx);
	mutex_init(&access->move_lock);
	mutex_init(&access->ioas_lock);
	/* The creating driver owns it, until iommufd_access_destroy(). */
	iommufd_object_add_user(&access->obj);
	iommufd_object_finalize(ictx, &access->obj);
	*id = access->obj.id;
	return access;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_create, IOMMUFD);

/*
 * Set what pins and reads/writes see. A NULL IOAS, or one being left, makes
 * them fail with -ENOENT; unpins keep using access->ioas.
 */
static void access_set_ioas(struct iommufd_access *access,
			    struct iommufd_ioas *ioas, bool moving)
{
	mutex_lock(&access->ioas_lock);
	access->ioas = ioas;
	access->moving = moving;
	mutex_unlock(&access->ioas_lock);
}

/*
 * Move the access from its IOAS, if any, to @to, which may be NULL. The
 * new IOAS is joined first, so a failure changes nothing. The old one is
 * left only after the driver's unmap callback has been asked to unpin
 * everything, with the access marked moving so that nothing new gets
 * pinned there meanwhile. Never fails when @to is NULL.
 */
static int iommufd_access_move(struct iommufd_access *access,
			       struct iommufd_ioas *to)
{
	struct iommufd_ioas *from = access->ioas;
	u32 from_id = access->iopt_access_list_id;
	u32 to_id = 0;
	int rc;

	lockdep_assert_held(&access->move_lock);

	if (from == to)
		return 0;
	if (to) {
		rc = iopt_add_access(&to->iopt, access, &to_id);
		if (rc)
			return rc;
		iommufd_object_add_user(&to->obj);
	}
	if (from) {
		access_set_ioas(access, from, true);
		if (access->ops->unmap)
			access->ops->unmap(access->data, 0, ULONG_MAX);
		iopt_remove_access(&from->iopt, access, from_id);
	}
	access->iopt_access_list_id = to_id;
	access_set_ioas(access, to, false);
	if (from)
		iommufd_object_drop_user(&from->obj);
	return 0;
}

/*
 * Attach (@replace false: the access must be detached) or move (@replace
 * true: it must be attached) the access to the IOAS @ioas_id.
 */
static int iommufd_access_move_to_id(struct iommufd_access *access,
				     u32 ioas_id, bool replace)
{
	struct iommufd_ioas *ioas;
	int rc;

	mutex_lock(&access->move_lock);
	if (replace != !!access->ioas) {
		rc = replace ? -ENOENT : -EINVAL;
		goto out_unlock;
	}
	ioas = iommufd_get_ioas(access->ictx, ioas_id);
	if (IS_ERR(ioas)) {
		rc = PTR_ERR(ioas);
		goto out_unlock;
	}
	rc = iommufd_access_move(access, ioas);
	iommufd_put_object(access->ictx, &ioas->obj);
out_unlock:
	mutex_unlock(&access->move_lock);
	return rc;
}

/*
 * The ACCESS object's destroy op. Only iommufd_access_destroy() gets here
 * (the access holds the file open, so closing it cannot), after detaching.
 */
void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access = container_of(obj, typeof(*access),
						     obj);

	WARN_ON(access->ioas);
	mutex_destroy(&access->ioas_lock);
	mutex_destroy(&access->move_lock);
	iommufd_ctx_put(access->ictx);
}

/**
 * iommufd_access_detach() - detach an access from its IOAS
 * @access: the access
 *
 * The driver's unmap callback is first asked to unpin everything. Waits
 * for an attach or replace in flight to finish first.
 */
void iommufd_access_detach(struct iommufd_access *access)
{
	mutex_lock(&access->move_lock);
	iommufd_access_move(access, NULL);
	mutex_unlock(&access->move_lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_detach, IOMMUFD);

/**
 * iommufd_access_destroy() - undo iommufd_access_create()
 * @access: the access
 *
 * Detaches it if still attached (through the unmap callback), waits for
 * whatever is using it right now to finish, and frees it. Once detached no
 * unmap of its former IOAS can reach it any more.
 */
void iommufd_access_destroy(struct iommufd_access *access)
{
	iommufd_access_detach(access);
	/* Takes over the creator's reference. */
	iommufd_object_destroy_kernel(access->ictx, &access->obj);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_destroy, IOMMUFD);

/**
 * iommufd_access_create_internal() - an access for iommufd's own use
 * @ictx: the context
 * @ops: callbacks; @data passed to them is NULL
 * @ioas: the IOAS to attach it to; the caller holds a reference on it
 *
 * Unlike iommufd_access_create() the access has no ID and does not hold
 * the file open: it belongs to an object of the file, which destroys it
 * with iommufd_access_destroy_internal().
 *
 * Return: the attached access, or an ERR_PTR.
 */
struct iommufd_access *
iommufd_access_create_internal(struct iommufd_ctx *ictx,
			       const struct iommufd_access_ops *ops,
			       struct iommufd_ioas *ioas)
{
	struct iommufd_access *access;
	int rc;

	access = kzalloc(sizeof(*access), GFP_KERNEL_ACCOUNT);
	if (!access)
		return ERR_PTR(-ENOMEM);
	access->obj.type = IOMMUFD_OBJ_ACCESS;
	refcount_set(&access->obj.users, 1);
	refcount_set(&access->obj.lookups, 1);
	access->ops = ops;
	access->iova_alignment = ops->needs_pin_pages ? PAGE_SIZE : 1;
	access->ictx = ictx;
	mutex_init(&access->move_lock);
	mutex_init(&access->ioas_lock);

	mutex_lock(&access->move_lock);
	rc = iommufd_access_move(access, ioas);
	mutex_unlock(&access->move_lock);
	if (rc) {
		iommufd_access_destroy_internal(access);
		return ERR_PTR(rc);
	}
	return access;
}

/**
 * iommufd_access_destroy_internal() - undo iommufd_access_create_internal()
 * @access: the access, with nothing pinned any more
 */
void iommufd_access_destroy_internal(struct iommufd_access *access)
{
	iommufd_access_detach(access);
	/* An unmap may still be calling back through a lookup it holds. */
	iommufd_object_close_and_drain(access->ictx, &access->obj);
	mutex_destroy(&access->ioas_lock);
	mutex_destroy(&access->move_lock);
	kfree(access);
}

/**
 * iommufd_access_attach() - attach an access to an IOAS
 * @access: a detached access
 * @ioas_id: the IOAS
 *
 * Return: 0, -EINVAL if already attached, -ENOENT for an unknown IOAS,
 * -EADDRINUSE if existing mappings are not page aligned but the access
 * pins pages.
 */
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	return iommufd_access_move_to_id(access, ioas_id, false);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_attach, IOMMUFD);

/**
 * iommufd_access_replace() - move an attached access to another IOAS
 * @access: an attached access
 * @ioas_id: the new IOAS
 *
 * The driver's unmap callback is first asked to unpin everything. Waits
 * for another attach, replace or detach in flight to finish first.
 *
 * Return: 0, -ENOENT if not attached or for an unknown IOAS, or as for
 * iommufd_access_attach(); on failure nothing changed.
 */
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id)
{
	return iommufd_access_move_to_id(access, ioas_id, true);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_replace, IOMMUFD);

/**
 * iommufd_access_notify_unmap() - tell accesses a range is going away
 * @iopt: the table
 * @iova: start of the range
 * @length: its length
 *
 * Calls every attached access's unmap callback. Called with no
 * io_pagetable lock held. An access being destroyed is skipped: its
 * destroy has detached it, or is about to, which unpins it everywhere.
 */
void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length)
{
	struct iommufd_access *access;
	unsigned long index;

	xa_lock(&iopt->accesses);
	xa_for_each(&iopt->accesses, index, access) {
		if (!iommufd_object_try_lookup(&access->obj))
			continue;
		xa_unlock(&iopt->accesses);

		if (access->ops->unmap)
			access->ops->unmap(access->data, iova, length);
		iommufd_put_object(access->ictx, &access->obj);

		xa_lock(&iopt->accesses);
	}
	xa_unlock(&iopt->accesses);
}

/*
 * Whether the mapping @area lets an access do what @flags say: writing
 * needs a writable mapping, anything else a readable one.
 */
static bool access_allowed(struct iopt_area *area, unsigned int flags)
{
	int needed = (flags & IOMMUFD_ACCESS_RW_WRITE) ? IOMMU_WRITE :
							 IOMMU_READ;

	return area->iommu_prot & needed;
}

/* The IOAS pins and reads/writes may use now, with ioas_lock held. */
static struct iommufd_ioas *access_lock_ioas(struct iommufd_access *access)
{
	mutex_lock(&access->ioas_lock);
	if (access->ioas && !access->moving)
		return access->ioas;
	mutex_unlock(&access->ioas_lock);
	return NULL;
}

static unsigned long area_start_byte(struct iopt_area *area,
				     unsigned long iova)
{
	return iopt_area_index(area) * PAGE_SIZE + area->page_offset +
	       (iova - iopt_area_iova(area));
}

/* Undo pins made on [iova, stop) of an access's IOAS. */
static void access_unpin_range(struct io_pagetable *iopt, unsigned long iova,
			       unsigned long last)
{
	struct iopt_area_span span;
	struct iopt_area *area;

	for (area = iopt_area_span_first(&span, iopt, iova, last); area;
	     area = iopt_area_span_next(&span)) {
		unsigned long area_last = min(last, iopt_area_last_iova(area));

		iopt_area_remove_access(area,
					iopt_area_iova_to_index(area, span.cur),
					iopt_area_iova_to_index(area,
								area_last));
	}
	WARN_ON(!iopt_area_span_done(&span));
}

/**
 * iommufd_access_unpin_pages() - release pages iommufd_access_pin_pages() pinned
 * @access: the access
 * @iova: the IOVA given then
 * @length: the length given then
 */
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
	struct io_pagetable *iopt;
	unsigned long last;

	if (WARN_ON(!length) || WARN_ON(check_add_overflow(iova, length - 1,
							   &last)))
		return;

	/* Also while moving: the pins are in the IOAS being left. */
	mutex_lock(&access->ioas_lock);
	if (WARN_ON(!access->ioas)) {
		mutex_unlock(&access->ioas_lock);
		return;
	}
	iopt = &access->ioas->iopt;
	down_read(&iopt->iova_rwsem);
	access_unpin_range(iopt, iova, last);
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_unpin_pages, IOMMUFD);

/**
 * iommufd_access_pin_pages() - pin the memory behind an IOVA range
 * @access: an access created with needs_pin_pages
 * @iova: start of the range
 * @length: its length
 * @out_pages: receives one struct page per page of the range
 * @flags: IOMMUFD_ACCESS_RW_WRITE if the pages will be written
 *
 * The pages stay pinned until iommufd_access_unpin_pages() with the same
 * range, which the driver must call at the latest from its unmap callback.
 *
 * Return: 0, -ENOENT if the range is not fully mapped or the access is not
 * attached (or is changing IOAS), -EPERM if the mapping does not allow the
 * access (writing needs IOMMU_IOAS_MAP_WRITEABLE, reading
 * IOMMU_IOAS_MAP_READABLE), -EINVAL if it is being unmapped, or an errno
 * from pinning; on failure nothing is pinned.
 */
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags)
{
	struct iopt_area_span span;
	struct iommufd_ioas *ioas;
	struct io_pagetable *iopt;
	struct iopt_area *area;
	unsigned long last;
	int rc = 0;

	/* Only users that promised to honour unmap may pin. */
	if (WARN_ON_ONCE(access->iova_alignment != PAGE_SIZE ||
			 !access->ops->unmap))
		return -EINVAL;
	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	ioas = access_lock_ioas(access);
	if (!ioas)
		return -ENOENT;
	iopt = &ioas->iopt;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_span_first(&span, iopt, iova, last); area;
	     area = iopt_area_span_next(&span)) {
		unsigned long area_last = min(last, iopt_area_last_iova(area));
		unsigned long first_index =
			iopt_area_iova_to_index(area, span.cur);
		unsigned long last_index =
			iopt_area_iova_to_index(area, area_last);

		if (!access_allowed(area, flags))
			rc = -EPERM;
		else
			rc = iopt_area_add_access(area, first_index, last_index,
						  out_pages, flags);
		if (rc)
			break;
		out_pages += last_index - first_index + 1;
	}
	if (!rc && !iopt_area_span_done(&span))
		rc = -ENOENT;
	if (rc && span.cur != iova)
		access_unpin_range(iopt, iova, span.cur - 1);
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_pin_pages, IOMMUFD);

/**
 * iommufd_access_rw() - read or write IOVA memory through the CPU
 * @access: the access
 * @iova: start of the range
 * @data: kernel buffer
 * @length: bytes to copy
 * @flags: IOMMUFD_ACCESS_RW_WRITE to write, IOMMUFD_ACCESS_RW_KTHREAD when
 *         called from a kthread
 *
 * Return: 0, -ENOENT if the range is not fully mapped or the access is not
 * attached (or is changing IOAS), -EPERM if the mapping does not allow the
 * access (see iommufd_access_pin_pages()), -EFAULT if the memory is gone.
 */
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t length, unsigned int flags)
{
	struct iopt_area_span span;
	struct iommufd_ioas *ioas;
	struct io_pagetable *iopt;
	struct iopt_area *area;
	unsigned long last;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	ioas = access_lock_ioas(access);
	if (!ioas)
		return -ENOENT;
	iopt = &ioas->iopt;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_span_first(&span, iopt, iova, last); area;
	     area = iopt_area_span_next(&span)) {
		unsigned long area_last = min(last, iopt_area_last_iova(area));
		unsigned long bytes = area_last - span.cur + 1;

		if (area->prevent_access) {
			rc = -EINVAL;
			break;
		}
		if (!access_allowed(area, flags)) {
			rc = -EPERM;
			break;
		}
		rc = iopt_pages_rw_access(area->pages,
					  area_start_byte(area, span.cur),
					  data, bytes, flags);
		if (rc)
			break;
		data += bytes;
	}
	if (!rc && !iopt_area_span_done(&span))
		rc = -ENOENT;
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_rw, IOMMUFD);
