// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOAS that VFIO's container interface works on.
 *
 * VFIO's group and container ioctls name no object, so a context has at
 * most one "compatibility" IOAS, ictx->vfio_ioas, that they use. It is a
 * plain pointer into the object table: it does not keep the IOAS alive,
 * and destroying the IOAS clears it (main.c does so under the table lock).
 * It is read and written under the object table's xarray lock; creating
 * one is serialized by ictx->ioas_creation_lock.
 */
#include <linux/iommufd.h>

#include "iommufd_private.h"

/* The compatibility IOAS with a lookup reference, or NULL. */
static struct iommufd_ioas *compat_ioas_get(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	xa_lock(&ictx->objects);
	ioas = ictx->vfio_ioas;
	if (ioas && !iommufd_object_try_lookup(&ioas->obj))
		ioas = NULL;
	xa_unlock(&ictx->objects);
	return ioas;
}

/* The compatibility IOAS, created if there is none; with a reference. */
static struct iommufd_ioas *compat_ioas_get_or_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	ioas = compat_ioas_get(ictx);
	if (ioas)
		return ioas;

	down_write(&ictx->ioas_creation_lock);
	ioas = compat_ioas_get(ictx);
	if (ioas)
		goto out_unlock;
	ioas = iommufd_ioas_alloc(ictx);
	if (IS_ERR(ioas))
		goto out_unlock;
	/* The short-term reference the caller gets. */
	WARN_ON(!iommufd_object_try_lookup(&ioas->obj));
	iommufd_object_finalize(ictx, &ioas->obj);
	xa_lock(&ictx->objects);
	ictx->vfio_ioas = ioas;
	xa_unlock(&ictx->objects);
out_unlock:
	up_write(&ictx->ioas_creation_lock);
	return ioas;
}

/**
 * iommufd_vfio_compat_ioas_get_id() - the ID of the compatibility IOAS
 * @ictx: the context
 * @out_ioas_id: receives the ID
 *
 * Return: 0, or -ENODEV if there is no compatibility IOAS.
 */
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *out_ioas_id)
{
	struct iommufd_ioas *ioas = compat_ioas_get(ictx);

	if (!ioas)
		return -ENODEV;
	*out_ioas_id = ioas->obj.id;
	iommufd_put_object(ictx, &ioas->obj);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_get_id, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_ioas_create() - make sure a compatibility IOAS exists
 * @ictx: the context
 *
 * Return: 0 or -ENOMEM.
 */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = compat_ioas_get_or_create(ictx);

	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	iommufd_put_object(ictx, &ioas->obj);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_create, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_set_no_iommu() - use VFIO's no-IOMMU mode
 * @ictx: the context
 *
 * Not offered by this iommufd: VFIO no-IOMMU mode gives user space
 * unrestricted DMA, and its container emulation is not implemented here.
 *
 * Return: -EPERM.
 */
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	return -EPERM;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_set_no_iommu, IOMMUFD_VFIO);

int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = compat_ioas_get(ucmd->ictx);
		if (!ioas)
			return -ENODEV;
		cmd->ioas_id = ioas->obj.id;
		iommufd_put_object(ucmd->ictx, &ioas->obj);
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		xa_lock(&ucmd->ictx->objects);
		ucmd->ictx->vfio_ioas = ioas;
		xa_unlock(&ucmd->ictx->objects);
		iommufd_put_object(ucmd->ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		xa_lock(&ucmd->ictx->objects);
		ucmd->ictx->vfio_ioas = NULL;
		xa_unlock(&ucmd->ictx->objects);
		return 0;
	default:
		rc = -EOPNOTSUPP;
	}
	return rc;
}
