// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hardware page tables (HWPT): iommu_domains owned by iommufd.
 *
 * A paging HWPT (IOMMUFD_OBJ_HWPT_PAGING) wraps a paging iommu_domain that
 * the IOMMU driver of one device allocated, and keeps it identical to one
 * IOAS: creating it maps every area of the IOAS into the domain
 * (iopt_table_add_domain()), and from then on every map and unmap of the
 * IOAS reaches it, until the HWPT is destroyed.
 *
 * Lifetime: a paging HWPT holds a reference on its IOAS; each device
 * attached to it holds one on the HWPT. It is made either by
 * IOMMU_HWPT_ALLOC, and then lives until IOMMU_DESTROY, or automatically
 * when a device attaches to an IOAS ("auto domain"), and is then destroyed
 * as soon as no device uses it.
 *
 * Dirty tracking: a paging HWPT allocated with
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING has a domain with dirty_ops (the IOMMU
 * driver refuses devices that cannot track from attaching to it). User
 * space switches tracking on and off and reads the dirty IOVAs of its IOAS
 * into a bitmap; io_pagetable.c does the walking, under the IOAS's
 * iova_rwsem, one window of the user bitmap at a time.
 *
 * Locking: the IOAS's mutex serializes creating and destroying the HWPTs of
 * that IOAS and protects its hwpt_list, which attach uses to look for a
 * compatible auto domain. Its place in the lock order is in
 * iommufd_private.h.
 */
#include <linux/iommu.h>

#include "iommufd_private.h"

/* Undo what iommufd_hwpt_paging_alloc() set up, whichever steps it got to. */
static void hwpt_paging_teardown(struct iommufd_hwpt_paging *hwpt_paging)
{
	struct iommu_domain *domain = hwpt_paging->common.domain;

	if (!list_empty(&hwpt_paging->hwpt_item)) {
		list_del_init(&hwpt_paging->hwpt_item);
		iopt_table_remove_domain(&hwpt_paging->ioas->iopt, domain);
	}
	if (domain)
		iommu_domain_free(domain);
	iommufd_object_drop_user(&hwpt_paging->ioas->obj);
}

void iommufd_hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hwpt_paging =
		container_of(obj, struct iommufd_hwpt_paging, common.obj);
	struct iommufd_ioas *ioas = hwpt_paging->ioas;

	mutex_lock(&ioas->mutex);
	hwpt_paging_teardown(hwpt_paging);
	mutex_unlock(&ioas->mutex);
}

/* Called with the IOAS mutex held, by the creator that failed. */
void iommufd_hwpt_paging_abort(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hwpt_paging =
		container_of(obj, struct iommufd_hwpt_paging, common.obj);

	lockdep_assert_held(&hwpt_paging->ioas->mutex);
	hwpt_paging_teardown(hwpt_paging);
}

/**
 * iommufd_hwpt_paging_enforce_cc() - make the domain block non-coherent DMA
 * @hwpt_paging: the HWPT
 *
 * Return: 0, or -EINVAL if the driver cannot (some can only before anything
 * is mapped).
 */
int iommufd_hwpt_paging_enforce_cc(struct iommufd_hwpt_paging *hwpt_paging)
{
	struct iommu_domain *domain = hwpt_paging->common.domain;

	if (!hwpt_paging->enforce_cache_coherency &&
	    domain->ops->enforce_cache_coherency)
		hwpt_paging->enforce_cache_coherency =
			domain->ops->enforce_cache_coherency(domain);
	return hwpt_paging->enforce_cache_coherency ? 0 : -EINVAL;
}

static struct iommu_domain *paging_domain_alloc(struct iommufd_device *idev,
						u32 flags)
{
	const struct iommu_ops *ops = dev_iommu_ops(idev->dev);
	struct iommu_domain *domain;

	if (!ops->domain_alloc_user)
		return flags ? ERR_PTR(-EOPNOTSUPP) :
			       iommu_paging_domain_alloc(idev->dev);

	domain = ops->domain_alloc_user(idev->dev, flags, NULL, NULL);
	if (IS_ERR_OR_NULL(domain))
		return domain ? domain : ERR_PTR(-ENOMEM);
	/* Drivers fill in the rest; the core would have set the owner. */
	domain->owner = ops;
	return domain;
}

/**
 * iommufd_hwpt_paging_alloc() - create a paging HWPT mirroring an IOAS
 * @ictx: the context
 * @ioas: the IOAS, whose mutex the caller holds
 * @idev: a device whose IOMMU allocates the domain
 * @flags: IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_ALLOC_DIRTY_TRACKING
 *
 * The HWPT is returned unpublished: the caller finalizes or aborts it.
 *
 * Return: the HWPT, or an ERR_PTR: -EOPNOTSUPP for flags the IOMMU cannot
 * honour, -EINVAL if cache coherency cannot be enforced for @idev, or what
 * mapping the IOAS into the domain failed with.
 */
struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, u32 flags)
{
	const u32 valid = IOMMU_HWPT_ALLOC_NEST_PARENT |
			  IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommu_domain *domain;
	int rc;

	lockdep_assert_held(&ioas->mutex);

	if (flags & ~valid)
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    !device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);

	hwpt_paging = iommufd_object_alloc(ictx, struct iommufd_hwpt_paging,
					   common.obj, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(hwpt_paging))
		return hwpt_paging;
	INIT_LIST_HEAD(&hwpt_paging->hwpt_item);
	iommufd_object_add_user(&ioas->obj);
	hwpt_paging->ioas = ioas;
	hwpt_paging->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;

	domain = paging_domain_alloc(idev, flags);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto out_abort;
	}
	hwpt_paging->common.domain = domain;

	if (WARN_ON_ONCE((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
			 !domain->dirty_ops)) {
		rc = -EOPNOTSUPP;
		goto out_abort;
	}

	/* Only possible before anything is mapped, with some drivers. */
	if (idev->enforce_cache_coherency) {
		rc = iommufd_hwpt_paging_enforce_cc(hwpt_paging);
		if (rc)
			goto out_abort;
	}

	rc = iopt_table_add_domain(&ioas->iopt, domain);
	if (rc)
		goto out_abort;
	list_add_tail(&hwpt_paging->hwpt_item, &ioas->hwpt_list);
	return hwpt_paging;

out_abort:
	iommufd_object_abort_and_destroy(ictx, &hwpt_paging->common.obj);
	return ERR_PTR(rc);
}

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_object *pt_obj;
	struct iommufd_device *idev;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved || cmd->__reserved2)
		return -EOPNOTSUPP;
	if ((cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len) ||
	    (cmd->data_type != IOMMU_HWPT_DATA_NONE && !cmd->data_len))
		return -EINVAL;
	/* FAULT objects and PASID-capable page tables come later. */
	if (cmd->flags & (IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID))
		return -EOPNOTSUPP;

	idev = iommufd_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	pt_obj = iommufd_get_object(ucmd->ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		rc = PTR_ERR(pt_obj);
		goto out_put_idev;
	}

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_IOAS:
		if (cmd->data_type != IOMMU_HWPT_DATA_NONE) {
			rc = -EINVAL;
			goto out_put_pt;
		}
		break;
	case IOMMUFD_OBJ_HWPT_PAGING:
	case IOMMUFD_OBJ_VIOMMU:
		/* Nested page tables need the vIOMMU work of a later change. */
		rc = -EOPNOTSUPP;
		goto out_put_pt;
	default:
		rc = -EINVAL;
		goto out_put_pt;
	}

	ioas = container_of(pt_obj, struct iommufd_ioas, obj);
	mutex_lock(&ioas->mutex);
	hwpt_paging = iommufd_hwpt_paging_alloc(ucmd->ictx, ioas, idev,
						cmd->flags);
	if (IS_ERR(hwpt_paging)) {
		rc = PTR_ERR(hwpt_paging);
		goto out_unlock;
	}

	cmd->out_hwpt_id = hwpt_paging->common.obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		iommufd_object_abort_and_destroy(ucmd->ictx,
						 &hwpt_paging->common.obj);
	else
		iommufd_object_finalize(ucmd->ictx, &hwpt_paging->common.obj);
out_unlock:
	mutex_unlock(&ioas->mutex);
out_put_pt:
	iommufd_put_object(ucmd->ictx, pt_obj);
out_put_idev:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct iommufd_object *obj;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	obj = iommufd_get_object(ucmd->ictx, cmd->hwpt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	/*
	 * Only user-managed page tables (nested HWPTs, vIOMMUs) have caches
	 * user space must flush; paging HWPTs are flushed by the kernel.
	 */
	if (obj->type == IOMMUFD_OBJ_HWPT_NESTED ||
	    obj->type == IOMMUFD_OBJ_VIOMMU)
		rc = -EOPNOTSUPP;
	else
		rc = -EINVAL;
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/* The paging HWPT @id with a lookup reference. */
static struct iommufd_hwpt_paging *hwpt_paging_get(struct iommufd_ucmd *ucmd,
						   u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct iommufd_hwpt_paging, common.obj);
}

int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt_paging;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;

	hwpt_paging = hwpt_paging_get(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);
	rc = iopt_set_dirty_tracking(&hwpt_paging->ioas->iopt,
				     hwpt_paging->common.domain,
				     cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	iommufd_put_object(ucmd->ictx, &hwpt_paging->common.obj);
	return rc;
}

int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt_paging;
	unsigned long flags = 0;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)
		flags |= IOMMU_DIRTY_NO_CLEAR;

	hwpt_paging = hwpt_paging_get(ucmd, cmd->hwpt_id);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);
	rc = iopt_read_dirty(&hwpt_paging->ioas->iopt,
			     hwpt_paging->common.domain, cmd->iova,
			     cmd->length, cmd->page_size,
			     u64_to_user_ptr(cmd->data), flags);
	iommufd_put_object(ucmd->ictx, &hwpt_paging->common.obj);
	return rc;
}
