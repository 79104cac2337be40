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
 * A nested HWPT (IOMMUFD_OBJ_HWPT_NESTED) is a domain of type
 * IOMMU_DOMAIN_NESTED: user space (a guest, through its VMM) owns the
 * first-stage table, described by driver-typed data at allocation, and a
 * paging HWPT allocated with IOMMU_HWPT_ALLOC_NEST_PARENT supplies the
 * second stage. The kernel never maps into it; user space tells the driver
 * what to flush with IOMMU_HWPT_INVALIDATE.
 *
 * Lifetime: a paging HWPT holds a reference on its IOAS, a nested HWPT one
 * on its parent; each device attached to either holds one on the HWPT. It is made either by
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
	iommufd_hwpt_put_fault(&hwpt_paging->common);
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

/*
 * Called with the IOAS mutex held: by the creator that failed, or when an
 * automatic HWPT is found unused (iommufd_object_put_lookup_and_reap()).
 */
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

/*
 * IOMMU_HWPT_ALLOC_PASID: whether @idev's IOMMU can attach PASIDs at all.
 * 6.12's drivers do not know the flag; a domain that can be attached to a
 * PASID has the set_dev_pasid op, which is checked once it exists.
 */
static bool iommu_supports_pasid(struct iommufd_device *idev)
{
	return idev->dev->iommu && idev->dev->iommu->iommu_dev &&
	       idev->dev->iommu->iommu_dev->max_pasids;
}

static struct iommu_domain *paging_domain_alloc(struct iommufd_device *idev,
						u32 flags)
{
	const struct iommu_ops *ops = dev_iommu_ops(idev->dev);
	struct iommu_domain *domain;

	flags &= ~IOMMU_HWPT_ALLOC_PASID;

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
 * @flags: IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
 *         IOMMU_HWPT_ALLOC_PASID
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
			  IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			  IOMMU_HWPT_ALLOC_PASID;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommu_domain *domain;
	int rc;

	lockdep_assert_held(&ioas->mutex);

	if (flags & ~valid)
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    !device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_ALLOC_PASID) && !iommu_supports_pasid(idev))
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
	if (flags & IOMMU_HWPT_ALLOC_PASID) {
		if (!domain->ops->set_dev_pasid) {
			rc = -EOPNOTSUPP;
			goto out_abort;
		}
		hwpt_paging->common.pasid_compat = true;
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

void iommufd_hwpt_nested_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_nested *nested =
		container_of(obj, struct iommufd_hwpt_nested, common.obj);

	if (nested->common.domain)
		iommu_domain_free(nested->common.domain);
	iommufd_hwpt_put_fault(&nested->common);
	iommufd_object_drop_user(&nested->parent->common.obj);
	if (nested->viommu)
		iommufd_object_drop_user(&nested->viommu->obj);
}

/* The nested domain, from the vIOMMU's driver or the IOMMU driver. */
static struct iommu_domain *
nested_domain_alloc(struct iommufd_hwpt_nested *nested,
		    struct iommufd_device *idev,
		    const struct iommu_user_data *user_data)
{
	const struct iommu_ops *ops = dev_iommu_ops(idev->dev);
	struct iommufd_viommu *viommu = nested->viommu;
	u32 flags = nested->common.pasid_compat ? IOMMU_HWPT_ALLOC_PASID : 0;
	struct iommu_domain *domain;

	if (viommu)
		domain = viommu->drv->ops->alloc_domain_nested(viommu, flags,
							       user_data);
	else
		domain = ops->domain_alloc_user(idev->dev, 0,
						nested->parent->common.domain,
						user_data);
	if (IS_ERR_OR_NULL(domain))
		return domain ? domain : ERR_PTR(-ENOMEM);
	domain->owner = ops;
	return domain;
}

/*
 * A nested HWPT on @parent, or on @viommu (whose parent @parent is),
 * unpublished. Its driver data is checked by the driver: -EOPNOTSUPP for a
 * type it does not know, -EINVAL for a short or bad one, -EFAULT if it
 * cannot be read.
 */
static struct iommufd_hwpt_nested *
hwpt_nested_alloc(struct iommufd_ctx *ictx, struct iommufd_hwpt_paging *parent,
		  struct iommufd_viommu *viommu, struct iommufd_device *idev,
		  u32 flags, const struct iommu_user_data *user_data)
{
	const struct iommu_ops *ops = dev_iommu_ops(idev->dev);
	struct iommufd_hwpt_nested *nested;
	struct iommu_domain *domain;
	int rc;

	/* The parent's flags describe the second stage, not this one. */
	if ((flags & ~IOMMU_HWPT_ALLOC_PASID) ||
	    user_data->type == IOMMU_HWPT_DATA_NONE ||
	    (!viommu && !ops->domain_alloc_user))
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_ALLOC_PASID) && !iommu_supports_pasid(idev))
		return ERR_PTR(-EOPNOTSUPP);
	if (!parent->nest_parent || parent->common.domain->owner != ops)
		return ERR_PTR(-EINVAL);
	if (viommu && (!idev->dev->iommu ||
		       idev->dev->iommu->iommu_dev != viommu->iommu_dev))
		return ERR_PTR(-EINVAL);

	nested = iommufd_object_alloc(ictx, struct iommufd_hwpt_nested,
				      common.obj, IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(nested))
		return nested;
	iommufd_object_add_user(&parent->common.obj);
	nested->parent = parent;
	if (viommu) {
		iommufd_object_add_user(&viommu->obj);
		nested->viommu = viommu;
	}
	nested->common.pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID;

	domain = nested_domain_alloc(nested, idev, user_data);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto out_abort;
	}
	nested->common.domain = domain;
	if (WARN_ON_ONCE(domain->type != IOMMU_DOMAIN_NESTED) ||
	    (nested->common.pasid_compat && !domain->ops->set_dev_pasid)) {
		rc = -EOPNOTSUPP;
		goto out_abort;
	}
	return nested;

out_abort:
	iommufd_object_abort_and_destroy(ictx, &nested->common.obj);
	return ERR_PTR(rc);
}

/* IOMMU_HWPT_ALLOC on a paging HWPT or a vIOMMU: a nested HWPT. */
static int hwpt_alloc_nested(struct iommufd_ucmd *ucmd,
			     struct iommufd_hwpt_paging *parent,
			     struct iommufd_viommu *viommu,
			     struct iommufd_device *idev,
			     struct iommufd_fault *fault)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	const struct iommu_user_data user_data = {
		.type = cmd->data_type,
		.uptr = u64_to_user_ptr(cmd->data_uptr),
		.len = cmd->data_len,
	};
	struct iommufd_hwpt_nested *nested;
	int rc;

	nested = hwpt_nested_alloc(ucmd->ictx, parent, viommu, idev,
				   cmd->flags & ~IOMMU_HWPT_FAULT_ID_VALID,
				   &user_data);
	if (IS_ERR(nested))
		return PTR_ERR(nested);
	if (fault)
		iommufd_hwpt_set_fault(&nested->common, fault);
	cmd->out_hwpt_id = nested->common.obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		iommufd_object_abort_and_destroy(ucmd->ictx,
						 &nested->common.obj);
		return rc;
	}
	iommufd_object_finalize(ucmd->ictx, &nested->common.obj);
	return 0;
}

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	const u32 valid = IOMMU_HWPT_ALLOC_NEST_PARENT |
			  IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			  IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID;
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_fault *fault = NULL;
	struct iommufd_viommu *viommu;
	struct iommufd_object *pt_obj;
	struct iommufd_device *idev;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved || cmd->__reserved2 || (cmd->flags & ~valid))
		return -EOPNOTSUPP;
	if ((cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len) ||
	    (cmd->data_type != IOMMU_HWPT_DATA_NONE && !cmd->data_len))
		return -EINVAL;
	/* A nesting parent's own faults are not user space's to resolve. */
	if ((cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) &&
	    (cmd->flags & IOMMU_HWPT_ALLOC_NEST_PARENT))
		return -EOPNOTSUPP;

	idev = iommufd_get_device(ucmd, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) {
		fault = iommufd_fault_get(ucmd, cmd->fault_id);
		if (IS_ERR(fault)) {
			rc = PTR_ERR(fault);
			goto out_put_idev;
		}
	}

	pt_obj = iommufd_get_object(ucmd->ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		rc = PTR_ERR(pt_obj);
		goto out_put_fault;
	}

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_IOAS:
		if (cmd->data_type != IOMMU_HWPT_DATA_NONE) {
			rc = -EINVAL;
			goto out_put_pt;
		}
		break;
	case IOMMUFD_OBJ_HWPT_PAGING:
		rc = hwpt_alloc_nested(ucmd,
				       container_of(pt_obj,
						    struct iommufd_hwpt_paging,
						    common.obj),
				       NULL, idev, fault);
		goto out_put_pt;
	case IOMMUFD_OBJ_VIOMMU:
		viommu = container_of(pt_obj, struct iommufd_viommu, obj);
		rc = hwpt_alloc_nested(ucmd, viommu->hwpt, viommu, idev, fault);
		goto out_put_pt;
	default:
		rc = -EINVAL;
		goto out_put_pt;
	}

	ioas = container_of(pt_obj, struct iommufd_ioas, obj);
	mutex_lock(&ioas->mutex);
	hwpt_paging = iommufd_hwpt_paging_alloc(ucmd->ictx, ioas, idev,
						cmd->flags &
						~IOMMU_HWPT_FAULT_ID_VALID);
	if (IS_ERR(hwpt_paging)) {
		rc = PTR_ERR(hwpt_paging);
		goto out_unlock;
	}
	if (fault)
		iommufd_hwpt_set_fault(&hwpt_paging->common, fault);

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
out_put_fault:
	if (fault)
		iommufd_fault_put(ucmd, fault);
out_put_idev:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* At most this many requests per call, each at most a page. */
#define IOMMU_HWPT_INVALIDATE_MAX_ENTRIES BIT(19)

/*
 * The driver works through the array in order and stops at the first
 * request it cannot carry out; entry_num goes back to user space as the
 * number of requests handled, on failure too.
 */
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	/* entry_num: none handled, unless the driver gets to say otherwise. */
	struct iommu_user_data_array reqs = {
		.type = cmd->data_type,
		.uptr = u64_to_user_ptr(cmd->data_uptr),
		.entry_len = cmd->entry_len,
	};
	struct iommufd_viommu *viommu;
	struct iommufd_object *obj;
	struct iommu_domain *domain;
	int rc;

	if (cmd->__reserved) {
		rc = -EOPNOTSUPP;
		goto out_respond;
	}
	if (cmd->entry_num &&
	    (!cmd->data_uptr || !cmd->entry_len ||
	     cmd->entry_len > PAGE_SIZE ||
	     cmd->entry_num > IOMMU_HWPT_INVALIDATE_MAX_ENTRIES)) {
		rc = -EINVAL;
		goto out_respond;
	}

	obj = iommufd_get_object(ucmd->ictx, cmd->hwpt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(obj)) {
		rc = PTR_ERR(obj);
		goto out_respond;
	}
	/*
	 * Only page tables user space manages have caches it must flush
	 * (paging HWPTs are flushed by the kernel: EINVAL, as in v6.17), and
	 * a vIOMMU has those of its devices, which its driver looks up by
	 * virtual ID while they are held still.
	 */
	switch (obj->type) {
	case IOMMUFD_OBJ_HWPT_NESTED:
		domain = container_of(obj, struct iommufd_hw_pagetable,
				      obj)->domain;
		if (!domain->ops->cache_invalidate_user) {
			rc = -EOPNOTSUPP;
			break;
		}
		reqs.entry_num = cmd->entry_num;
		rc = domain->ops->cache_invalidate_user(domain, &reqs);
		break;
	case IOMMUFD_OBJ_VIOMMU:
		viommu = container_of(obj, struct iommufd_viommu, obj);
		if (!viommu->drv->ops->cache_invalidate) {
			rc = -EOPNOTSUPP;
			break;
		}
		reqs.entry_num = cmd->entry_num;
		down_read(&viommu->vdevs_rwsem);
		rc = viommu->drv->ops->cache_invalidate(viommu, &reqs);
		up_read(&viommu->vdevs_rwsem);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	iommufd_put_object(ucmd->ictx, obj);

out_respond:
	cmd->entry_num = reqs.entry_num;
	/* Without the count user space learns nothing: that comes first. */
	if (iommufd_ucmd_respond(ucmd, sizeof(*cmd)))
		return -EFAULT;
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
