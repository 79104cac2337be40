// SPDX-License-Identifier: GPL-2.0-only
/*
 * Virtual IOMMUs: the vIOMMU, vDEVICE and HW_QUEUE objects, and the calls
 * IOMMU drivers use to implement them.
 *
 * A vIOMMU (IOMMU_VIOMMU_ALLOC) is one VM's share of one physical IOMMU
 * instance, built on a nesting parent HWPT that holds the VM's second-stage
 * translation. Nested HWPTs can be allocated on it (hw_pagetable.c); their
 * first stage is the guest's, and user space flushes what the IOMMU caches
 * of it, and of the guest's devices, through IOMMU_HWPT_INVALIDATE on the
 * vIOMMU. The driver's data lives in the same allocation (@priv), sized by
 * the driver at registration: 6.12's iommu_ops has no vIOMMU hooks, so a
 * driver describes each vIOMMU type it offers in a struct
 * iommufd_viommu_driver that it registers here.
 *
 * A vDEVICE (IOMMU_VDEVICE_ALLOC) tells a vIOMMU the virtual ID the guest
 * uses for a device behind it: an SMMUv3 stream ID, say. A device has at
 * most one vDEVICE per vIOMMU, and a virtual ID names one device per
 * vIOMMU. Drivers translate in both directions: the guest's invalidation
 * requests name virtual IDs (iommufd_viommu_find_dev()), and events a
 * device raises are reported to the guest under its virtual ID
 * (iommufd_viommu_get_vdev_id(), iommufd_viommu_report_event() and
 * veventq.c).
 *
 * A HW queue (IOMMU_HW_QUEUE_ALLOC) is a queue in guest memory that the
 * IOMMU reads directly. The memory is found through the vIOMMU's nesting
 * parent, pinned by an internal access for as long as the queue exists (so
 * unmapping it from the IOAS fails with EBUSY), and must be physically
 * contiguous; the driver gets its physical address.
 *
 * Lifetime
 * --------
 * A vIOMMU holds its nesting parent and a reference on its driver's module.
 * Each vDEVICE, nested HWPT, vEVENTQ, HW queue and user mapping of a region
 * the driver exported holds the vIOMMU, so IOMMU_DESTROY answers EBUSY
 * until they are gone. A vDEVICE holds its device too; when the device is
 * unbound, its vDEVICEs are destroyed and their IDs kept reserved until the
 * file closes (iommufd_device_tombstone_vdevs()). A HW queue may hold
 * another one of the same vIOMMU that it depends on (the driver decides,
 * with iommufd_hw_queue_depend()).
 *
 * Locking
 * -------
 * viommu_drivers_lock protects the list of registered drivers. A vIOMMU's
 * vdevs_rwsem serializes changes to its vDEVICEs and is held for reading
 * while the driver invalidates caches; lookups of a device's virtual ID use
 * the vdevs xarray's own lock instead, so they work from any context. A
 * device's vdevs_lock (a spinlock) protects its list of vDEVICEs. Neither
 * rwsem is held across a call that takes a group's lock.
 */
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

static LIST_HEAD(viommu_drivers);
static DEFINE_MUTEX(viommu_drivers_lock);

/**
 * iommufd_viommu_driver_register() - offer a vIOMMU type to user space
 * @drv: the type and its callbacks; must stay valid until unregistered
 *
 * Return: 0, -EINVAL if callbacks are missing, -EEXIST if the IOMMU
 * driver already offers the type.
 */
int iommufd_viommu_driver_register(struct iommufd_viommu_driver *drv)
{
	struct iommufd_viommu_driver *cur;

	if (!drv->iommu_ops || !drv->init || !drv->ops ||
	    !drv->ops->alloc_domain_nested)
		return -EINVAL;

	guard(mutex)(&viommu_drivers_lock);
	list_for_each_entry(cur, &viommu_drivers, item)
		if (cur->iommu_ops == drv->iommu_ops && cur->type == drv->type)
			return -EEXIST;
	list_add_tail(&drv->item, &viommu_drivers);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_viommu_driver_register, IOMMUFD);

/**
 * iommufd_viommu_driver_unregister() - withdraw a vIOMMU type
 * @drv: what iommufd_viommu_driver_register() was given
 *
 * No new vIOMMU of the type can be made afterwards. Existing ones keep
 * using @drv, and hold its module: unregister from the module's exit.
 */
void iommufd_viommu_driver_unregister(struct iommufd_viommu_driver *drv)
{
	guard(mutex)(&viommu_drivers_lock);
	list_del(&drv->item);
}
EXPORT_SYMBOL_NS_GPL(iommufd_viommu_driver_unregister, IOMMUFD);

/* The driver of @type for @dev's IOMMU, with its module held. */
static const struct iommufd_viommu_driver *
viommu_driver_get(struct device *dev, u32 type)
{
	const struct iommu_ops *ops = dev_iommu_ops(dev);
	struct iommufd_viommu_driver *drv;

	guard(mutex)(&viommu_drivers_lock);
	list_for_each_entry(drv, &viommu_drivers, item)
		if (drv->iommu_ops == ops && drv->type == type &&
		    try_module_get(drv->owner))
			return drv;
	return NULL;
}

/* The physical IOMMU instance @dev is behind. */
static struct iommu_device *dev_iommu_instance(struct device *dev)
{
	return dev->iommu ? dev->iommu->iommu_dev : NULL;
}

/* ---------------------------------------------------------------------
 * vIOMMU
 */

/* What iommufd_viommu_alloc_ioctl() set up before the driver's init. */
static void viommu_release(struct iommufd_viommu *viommu)
{
	WARN_ON(!xa_empty(&viommu->vdevs));
	WARN_ON(!list_empty(&viommu->veventqs));
	xa_destroy(&viommu->vdevs);
	iommufd_object_drop_user(&viommu->hwpt->common.obj);
	module_put(viommu->drv->owner);
}

void iommufd_viommu_destroy(struct iommufd_object *obj)
{
	struct iommufd_viommu *viommu =
		container_of(obj, struct iommufd_viommu, obj);

	if (viommu->drv->ops->destroy)
		viommu->drv->ops->destroy(viommu);
	viommu_release(viommu);
}

/*
 * A vIOMMU of @drv's type on @hwpt for @idev's IOMMU, unpublished and set
 * up by the driver.
 */
static struct iommufd_viommu *
viommu_create(struct iommufd_ctx *ictx,
	      const struct iommufd_viommu_driver *drv,
	      struct iommufd_hwpt_paging *hwpt, struct iommufd_device *idev,
	      const struct iommu_user_data *user_data)
{
	struct iommufd_viommu *viommu;
	struct iommufd_object *obj;
	int rc;

	obj = _iommufd_object_alloc(ictx,
				    struct_size(viommu, priv, drv->priv_size),
				    IOMMUFD_OBJ_VIOMMU);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	viommu = container_of(obj, struct iommufd_viommu, obj);
	viommu->ictx = ictx;
	viommu->drv = drv;
	viommu->hwpt = hwpt;
	iommufd_object_add_user(&hwpt->common.obj);
	viommu->iommu_dev = dev_iommu_instance(idev->dev);
	init_rwsem(&viommu->vdevs_rwsem);
	xa_init(&viommu->vdevs);
	init_rwsem(&viommu->veventqs_rwsem);
	INIT_LIST_HEAD(&viommu->veventqs);

	rc = drv->init(viommu, hwpt->common.domain, idev->dev, user_data);
	if (rc) {
		/* The driver did not get going: no destroy callback. */
		viommu_release(viommu);
		iommufd_object_abort(ictx, &viommu->obj);
		return ERR_PTR(rc);
	}
	return viommu;
}

int iommufd_viommu_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_viommu_alloc *cmd = ucmd->cmd;
	const struct iommu_user_data user_data = {
		.type = cmd->type,
		.uptr = u64_to_user_ptr(cmd->data_uptr),
		.len = cmd->data_len,
	};
	const struct iommufd_viommu_driver *drv;
	struct iommufd_hwpt_paging *hwpt;
	struct iommufd_viommu *viommu;
	struct iommufd_device *idev;
	struct iommufd_object *obj;
	int rc;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;

	idev = iommufd_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	obj = iommufd_get_object(ucmd->ictx, cmd->hwpt_id,
				 IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj)) {
		rc = PTR_ERR(obj);
		goto out_put_idev;
	}
	hwpt = container_of(obj, struct iommufd_hwpt_paging, common.obj);
	if (!hwpt->nest_parent ||
	    hwpt->common.domain->owner != dev_iommu_ops(idev->dev)) {
		rc = -EINVAL;
		goto out_put_hwpt;
	}

	drv = viommu_driver_get(idev->dev, cmd->type);
	if (!drv) {
		rc = -EOPNOTSUPP;
		goto out_put_hwpt;
	}
	/* From here the vIOMMU owns the module reference. */
	viommu = viommu_create(ucmd->ictx, drv, hwpt, idev, &user_data);
	if (IS_ERR(viommu)) {
		rc = PTR_ERR(viommu);
		goto out_put_hwpt;
	}

	cmd->out_viommu_id = viommu->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		iommufd_object_abort_and_destroy(ucmd->ictx, &viommu->obj);
	else
		iommufd_object_finalize(ucmd->ictx, &viommu->obj);
out_put_hwpt:
	iommufd_put_object(ucmd->ictx, &hwpt->common.obj);
out_put_idev:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/**
 * iommufd_viommu_priv() - the driver's data of a vIOMMU
 * @viommu: the vIOMMU
 *
 * Return: the iommufd_viommu_driver::priv_size bytes reserved for the
 * driver, zeroed at allocation.
 */
void *iommufd_viommu_priv(struct iommufd_viommu *viommu)
{
	return viommu->priv;
}
EXPORT_SYMBOL_NS_GPL(iommufd_viommu_priv, IOMMUFD);

/**
 * iommufd_viommu_find_dev() - the device with a virtual ID on a vIOMMU
 * @viommu: the vIOMMU
 * @virt_id: the virtual ID, as the guest names the device
 *
 * For the driver's cache_invalidate callback, during which the vIOMMU's
 * vDEVICEs cannot change: the device returned stays bound until it ends.
 *
 * Return: the device, or NULL if no vDEVICE has @virt_id.
 */
struct device *iommufd_viommu_find_dev(struct iommufd_viommu *viommu,
				       u64 virt_id)
{
	struct iommufd_vdevice *vdev;

	lockdep_assert_held(&viommu->vdevs_rwsem);
	if (virt_id > ULONG_MAX)
		return NULL;
	vdev = xa_load(&viommu->vdevs, virt_id);
	return vdev ? vdev->idev->dev : NULL;
}
EXPORT_SYMBOL_NS_GPL(iommufd_viommu_find_dev, IOMMUFD);

/**
 * iommufd_viommu_get_vdev_id() - a device's virtual ID on a vIOMMU
 * @viommu: the vIOMMU
 * @dev: a device behind its IOMMU
 * @virt_id: receives the ID
 *
 * Does not sleep. The answer may be stale as soon as it is returned, if
 * user space destroys the vDEVICE meanwhile.
 *
 * Return: 0, or -ENOENT if @dev has no vDEVICE on @viommu.
 */
int iommufd_viommu_get_vdev_id(struct iommufd_viommu *viommu,
			       struct device *dev, u64 *virt_id)
{
	struct iommufd_vdevice *vdev;
	unsigned long index;
	int rc = -ENOENT;

	xa_lock(&viommu->vdevs);
	xa_for_each(&viommu->vdevs, index, vdev) {
		if (vdev->idev->dev == dev) {
			*virt_id = vdev->virt_id;
			rc = 0;
			break;
		}
	}
	xa_unlock(&viommu->vdevs);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_viommu_get_vdev_id, IOMMUFD);

/**
 * iommufd_viommu_report_event() - hand an event to the guest's vIOMMU
 * @viommu: the vIOMMU
 * @type: the enum iommu_veventq_type the event belongs to
 * @data: the event record in that type's format
 * @len: its size
 *
 * May sleep. The event goes to the vIOMMU's vEVENTQ of @type; a full queue
 * loses it, which user space sees in the sequence numbers.
 *
 * Return: 0, -EOPNOTSUPP if user space made no vEVENTQ of @type, -ENOMEM.
 */
int iommufd_viommu_report_event(struct iommufd_viommu *viommu, u32 type,
				const void *data, size_t len)
{
	return iommufd_veventq_report(viommu, type, data, len);
}
EXPORT_SYMBOL_NS_GPL(iommufd_viommu_report_event, IOMMUFD);

/**
 * iommufd_viommu_alloc_mmap() - let user space map a region of the IOMMU
 * @viommu: the vIOMMU the region belongs to
 * @base: physical address of the region, page aligned
 * @length: its size, a multiple of PAGE_SIZE
 * @offset: receives the offset user space passes to mmap() on the iommufd
 *
 * User space maps the whole region or nothing. While it is mapped the
 * vIOMMU cannot be destroyed. Typically called from the driver's init, to
 * report @offset in the driver data.
 *
 * Return: 0 or a negative errno.
 */
int iommufd_viommu_alloc_mmap(struct iommufd_viommu *viommu, phys_addr_t base,
			      size_t length, unsigned long *offset)
{
	return iommufd_mmap_add(viommu->ictx, &viommu->obj, base, length,
				offset);
}
EXPORT_SYMBOL_NS_GPL(iommufd_viommu_alloc_mmap, IOMMUFD);

/**
 * iommufd_viommu_destroy_mmap() - undo iommufd_viommu_alloc_mmap()
 * @viommu: the vIOMMU, which nothing maps any more (it is being destroyed,
 *          or its init is failing)
 * @offset: the offset iommufd_viommu_alloc_mmap() returned
 */
void iommufd_viommu_destroy_mmap(struct iommufd_viommu *viommu,
				 unsigned long offset)
{
	iommufd_mmap_remove(viommu->ictx, &viommu->obj, offset);
}
EXPORT_SYMBOL_NS_GPL(iommufd_viommu_destroy_mmap, IOMMUFD);

/* ---------------------------------------------------------------------
 * vDEVICE
 */

/* Whether @idev has a vDEVICE on @viommu. */
static bool idev_has_vdev_on(struct iommufd_device *idev,
			     struct iommufd_viommu *viommu)
{
	struct iommufd_vdevice *vdev;
	bool found = false;

	spin_lock(&idev->vdevs_lock);
	list_for_each_entry(vdev, &idev->vdevs, idev_item) {
		if (vdev->viommu == viommu) {
			found = true;
			break;
		}
	}
	spin_unlock(&idev->vdevs_lock);
	return found;
}

/*
 * Whether @vdev is the first vDEVICE of @idev still, which the unbind
 * path waits to change.
 */
static bool idev_first_vdev_is(struct iommufd_device *idev,
			       struct iommufd_vdevice *vdev)
{
	bool same;

	spin_lock(&idev->vdevs_lock);
	same = list_first_entry_or_null(&idev->vdevs, struct iommufd_vdevice,
					idev_item) == vdev;
	spin_unlock(&idev->vdevs_lock);
	return same;
}

void iommufd_vdevice_destroy(struct iommufd_object *obj)
{
	struct iommufd_vdevice *vdev =
		container_of(obj, struct iommufd_vdevice, obj);
	struct iommufd_viommu *viommu = vdev->viommu;
	struct iommufd_device *idev = vdev->idev;

	down_write(&viommu->vdevs_rwsem);
	/* Absent if the allocation failed before inserting it. */
	xa_cmpxchg(&viommu->vdevs, vdev->virt_id, vdev, NULL, 0);
	up_write(&viommu->vdevs_rwsem);

	/*
	 * The reference first, then the list: an unbind waiting for the
	 * list to change then finds the device free of us.
	 */
	iommufd_object_drop_user(&idev->obj);
	spin_lock(&idev->vdevs_lock);
	list_del_init(&vdev->idev_item);
	spin_unlock(&idev->vdevs_lock);
	wake_up_all(&viommu->ictx->destroy_wait);

	iommufd_object_drop_user(&viommu->obj);
}

/**
 * iommufd_device_tombstone_vdevs() - destroy the vDEVICEs of a device
 * @idev: a device being unbound, which lookups no longer find
 *
 * Each vDEVICE is destroyed and its ID stays reserved until the file
 * closes. One that IOMMU_DESTROY is destroying at the same time is waited
 * for instead. Afterwards no vDEVICE holds @idev.
 */
void iommufd_device_tombstone_vdevs(struct iommufd_device *idev)
{
	struct iommufd_ctx *ictx = idev->ictx;
	struct iommufd_vdevice *vdev;

	for (;;) {
		bool mine = false;

		/*
		 * A vDEVICE is freed only after its destroy took it off the
		 * list, under the lock: while the lock is held it can be
		 * hidden. Every allocation that put one on the list has been
		 * published or aborted by now (it held the device's lookup).
		 */
		spin_lock(&idev->vdevs_lock);
		vdev = list_first_entry_or_null(&idev->vdevs,
						struct iommufd_vdevice,
						idev_item);
		if (vdev)
			mine = iommufd_object_hide(ictx, &vdev->obj);
		spin_unlock(&idev->vdevs_lock);
		if (!vdev)
			return;
		/* Not ours: being destroyed; wait, never touching it. */
		if (mine)
			iommufd_object_tombstone(ictx, &vdev->obj);
		else
			wait_event(ictx->destroy_wait,
				   !idev_first_vdev_is(idev, vdev));
	}
}

/*
 * Make @vdev the one vDEVICE of its device on its vIOMMU, under its virtual
 * ID: -EEXIST if either is taken.
 */
static int vdevice_insert(struct iommufd_vdevice *vdev)
{
	struct iommufd_viommu *viommu = vdev->viommu;
	struct iommufd_device *idev = vdev->idev;
	int rc;

	guard(rwsem_write)(&viommu->vdevs_rwsem);
	/* Only ever changed under this rwsem: the check stays true. */
	if (idev_has_vdev_on(idev, viommu))
		return -EEXIST;
	rc = xa_insert(&viommu->vdevs, vdev->virt_id, vdev, GFP_KERNEL_ACCOUNT);
	if (rc)
		return rc == -EBUSY ? -EEXIST : rc;
	spin_lock(&idev->vdevs_lock);
	list_add_tail(&vdev->idev_item, &idev->vdevs);
	spin_unlock(&idev->vdevs_lock);
	return 0;
}

int iommufd_vdevice_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_vdevice_alloc *cmd = ucmd->cmd;
	struct iommufd_vdevice *vdev;
	struct iommufd_viommu *viommu;
	struct iommufd_device *idev;
	int rc;

	/* The virtual ID indexes an xarray. */
	if (cmd->virt_id > ULONG_MAX)
		return -EINVAL;

	viommu = iommufd_get_viommu(ucmd, cmd->viommu_id);
	if (IS_ERR(viommu))
		return PTR_ERR(viommu);

	idev = iommufd_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto out_put_viommu;
	}
	if (dev_iommu_instance(idev->dev) != viommu->iommu_dev) {
		rc = -EINVAL;
		goto out_put_idev;
	}

	vdev = iommufd_object_alloc(ucmd->ictx, struct iommufd_vdevice, obj,
				    IOMMUFD_OBJ_VDEVICE);
	if (IS_ERR(vdev)) {
		rc = PTR_ERR(vdev);
		goto out_put_idev;
	}
	vdev->viommu = viommu;
	iommufd_object_add_user(&viommu->obj);
	vdev->idev = idev;
	iommufd_object_add_user(&idev->obj);
	vdev->virt_id = cmd->virt_id;
	INIT_LIST_HEAD(&vdev->idev_item);

	rc = vdevice_insert(vdev);
	if (rc)
		goto out_abort;
	cmd->out_vdevice_id = vdev->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_abort;
	/*
	 * Published while the device's lookup is held: an unbind waits for
	 * that, and then finds this vDEVICE on the device's list.
	 */
	iommufd_object_finalize(ucmd->ictx, &vdev->obj);
	goto out_put_idev;

out_abort:
	iommufd_object_abort_and_destroy(ucmd->ictx, &vdev->obj);
out_put_idev:
	iommufd_put_object(ucmd->ictx, &idev->obj);
out_put_viommu:
	iommufd_put_object(ucmd->ictx, &viommu->obj);
	return rc;
}

/* ---------------------------------------------------------------------
 * HW queues
 */

/*
 * The pins of a HW queue are not given up on request: unmapping the queue
 * memory fails with EBUSY while the queue exists.
 */
static void hw_queue_access_unmap(void *data, unsigned long iova,
				  unsigned long length)
{
}

static const struct iommufd_access_ops hw_queue_access_ops = {
	.needs_pin_pages = 1,
	.unmap = hw_queue_access_unmap,
};

/*
 * Queue memory is pinned in batches of this many pages, each with its own
 * pin (and unpin), so that the page array stays small whatever length
 * user space asks for.
 */
#define HW_QUEUE_PIN_BATCH 512UL

/* Unpin what hw_queue_pin() pinned, batch by batch as it was pinned. */
static void hw_queue_unpin(struct iommufd_hw_queue *hw_queue)
{
	size_t done, n;

	for (done = 0; done < hw_queue->length; done += n) {
		n = min_t(size_t, hw_queue->length - done,
			  HW_QUEUE_PIN_BATCH << PAGE_SHIFT);
		iommufd_access_unpin_pages(hw_queue->access,
					   hw_queue->iova + done, n);
	}
	hw_queue->length = 0;
}

/*
 * Pin [@iova, @iova + @length) of the vIOMMU's IOAS for @hw_queue and find
 * its physical address, which must be contiguous (-EINVAL otherwise).
 * What is pinned is recorded in @hw_queue as it goes, for the destroy to
 * undo.
 */
static int hw_queue_pin(struct iommufd_hw_queue *hw_queue, u64 iova,
			u64 length, phys_addr_t *base)
{
	unsigned long first = ALIGN_DOWN(iova, PAGE_SIZE);
	unsigned long npages = (ALIGN(iova + length, PAGE_SIZE) - first) >>
			       PAGE_SHIFT;
	struct iommufd_viommu *viommu = hw_queue->viommu;
	unsigned long done, n, i, pfn0 = 0;
	struct iommufd_access *access;
	struct page **pages;
	int rc = 0;

	access = iommufd_access_create_internal(viommu->ictx,
						&hw_queue_access_ops,
						viommu->hwpt->ioas);
	if (IS_ERR(access))
		return PTR_ERR(access);
	hw_queue->access = access;
	hw_queue->iova = first;

	pages = kcalloc(min(npages, HW_QUEUE_PIN_BATCH), sizeof(*pages),
			GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (done = 0; done < npages; done += n) {
		n = min(npages - done, HW_QUEUE_PIN_BATCH);
		rc = iommufd_access_pin_pages(access, first + done * PAGE_SIZE,
					      n << PAGE_SHIFT, pages, 0);
		if (rc)
			break;
		hw_queue->length += n << PAGE_SHIFT;
		if (!done)
			pfn0 = page_to_pfn(pages[0]);
		for (i = 0; i != n; i++)
			if (page_to_pfn(pages[i]) != pfn0 + done + i)
				rc = -EINVAL;
		if (rc)
			break;
	}
	if (!rc)
		*base = PFN_PHYS(pfn0) + offset_in_page(iova);
	kfree(pages);
	return rc;
}

void iommufd_hw_queue_destroy(struct iommufd_object *obj)
{
	struct iommufd_hw_queue *hw_queue =
		container_of(obj, struct iommufd_hw_queue, obj);
	struct iommufd_viommu *viommu = hw_queue->viommu;

	if (hw_queue->live)
		viommu->drv->ops->hw_queue_destroy(hw_queue);
	if (hw_queue->access) {
		hw_queue_unpin(hw_queue);
		iommufd_access_destroy_internal(hw_queue->access);
	}
	iommufd_object_drop_user(&viommu->obj);
}

int iommufd_hw_queue_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_queue_alloc *cmd = ucmd->cmd;
	const struct iommufd_viommu_ops *ops;
	struct iommufd_hw_queue *hw_queue;
	struct iommufd_object *qobj;
	struct iommufd_viommu *viommu;
	size_t priv_size = 0;
	phys_addr_t base;
	u64 last;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	viommu = iommufd_get_viommu(ucmd, cmd->viommu_id);
	if (IS_ERR(viommu))
		return PTR_ERR(viommu);
	ops = viommu->drv->ops;

	if (ops->hw_queue_size && ops->hw_queue_init && ops->hw_queue_destroy)
		priv_size = ops->hw_queue_size(viommu, cmd->type);
	if (!priv_size) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	if (!cmd->length) {
		rc = -EINVAL;
		goto out_put;
	}
	if (check_add_overflow(cmd->nesting_parent_iova, cmd->length - 1,
			       &last) ||
	    last > ULONG_MAX - PAGE_SIZE) {
		rc = -EOVERFLOW;
		goto out_put;
	}

	qobj = _iommufd_object_alloc(ucmd->ictx,
				     struct_size(hw_queue, priv, priv_size),
				     IOMMUFD_OBJ_HW_QUEUE);
	if (IS_ERR(qobj)) {
		rc = PTR_ERR(qobj);
		goto out_put;
	}
	hw_queue = container_of(qobj, struct iommufd_hw_queue, obj);
	hw_queue->viommu = viommu;
	iommufd_object_add_user(&viommu->obj);
	hw_queue->type = cmd->type;

	rc = hw_queue_pin(hw_queue, cmd->nesting_parent_iova, cmd->length,
			  &base);
	if (rc)
		goto out_abort;
	rc = ops->hw_queue_init(hw_queue, cmd->index, base, cmd->length);
	if (rc)
		goto out_abort;
	hw_queue->live = true;

	cmd->out_hw_queue_id = hw_queue->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_abort;
	iommufd_object_finalize(ucmd->ictx, &hw_queue->obj);
	goto out_put;

out_abort:
	iommufd_object_abort_and_destroy(ucmd->ictx, &hw_queue->obj);
out_put:
	iommufd_put_object(ucmd->ictx, &viommu->obj);
	return rc;
}

/**
 * iommufd_hw_queue_priv() - the driver's data of a HW queue
 * @hw_queue: the queue
 *
 * Return: the bytes the driver's hw_queue_size asked for, zeroed.
 */
void *iommufd_hw_queue_priv(struct iommufd_hw_queue *hw_queue)
{
	return hw_queue->priv;
}
EXPORT_SYMBOL_NS_GPL(iommufd_hw_queue_priv, IOMMUFD);

/**
 * iommufd_hw_queue_viommu() - the vIOMMU a HW queue belongs to
 * @hw_queue: the queue
 *
 * Return: the vIOMMU.
 */
struct iommufd_viommu *
iommufd_hw_queue_viommu(struct iommufd_hw_queue *hw_queue)
{
	return hw_queue->viommu;
}
EXPORT_SYMBOL_NS_GPL(iommufd_hw_queue_viommu, IOMMUFD);

/**
 * iommufd_hw_queue_depend() - make a HW queue hold another one
 * @dependent: a queue being set up (from hw_queue_init)
 * @on: a queue of the same vIOMMU that @dependent needs; until
 *      iommufd_hw_queue_undepend(), IOMMU_DESTROY of @on answers EBUSY
 *
 * Return: 0, or -ENOENT if @on is not published (still being set up, or
 * being destroyed).
 */
int iommufd_hw_queue_depend(struct iommufd_hw_queue *dependent,
			    struct iommufd_hw_queue *on)
{
	struct iommufd_ctx *ictx = on->viommu->ictx;
	struct iommufd_object *obj;

	if (WARN_ON(dependent->viommu != on->viommu))
		return -EINVAL;
	/* Only through the table: an object being built is not there yet. */
	obj = iommufd_get_object(ictx, on->obj.id, IOMMUFD_OBJ_HW_QUEUE);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	if (obj != &on->obj) {
		iommufd_put_object(ictx, obj);
		return -ENOENT;
	}
	iommufd_object_add_user(&on->obj);
	iommufd_put_object(ictx, obj);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_hw_queue_depend, IOMMUFD);

/**
 * iommufd_hw_queue_undepend() - undo iommufd_hw_queue_depend()
 * @dependent: the queue that depended, being destroyed
 * @on: the queue it held
 */
void iommufd_hw_queue_undepend(struct iommufd_hw_queue *dependent,
			       struct iommufd_hw_queue *on)
{
	iommufd_object_drop_user(&on->obj);
}
EXPORT_SYMBOL_NS_GPL(iommufd_hw_queue_undepend, IOMMUFD);
