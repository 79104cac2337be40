// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel API for drivers that bind devices and in-kernel access users.
 * Placeholder: every entry point refuses until the engine lands.
 */
#include "iommufd_private.h"

struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	return ERR_PTR(-EOPNOTSUPP);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_bind, IOMMUFD);

bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group)
{
	return false;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_has_group, IOMMUFD);

void iommufd_device_unbind(struct iommufd_device *idev)
{
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_unbind, IOMMUFD);

struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev)
{
	return NULL;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_ictx, IOMMUFD);

u32 iommufd_device_to_id(struct iommufd_device *idev)
{
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_id, IOMMUFD);

int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_attach, IOMMUFD);

int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_replace, IOMMUFD);

void iommufd_device_detach(struct iommufd_device *idev)
{
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_detach, IOMMUFD);

struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id)
{
	return ERR_PTR(-EOPNOTSUPP);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_create, IOMMUFD);

void iommufd_access_destroy(struct iommufd_access *access)
{
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_destroy, IOMMUFD);

int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_attach, IOMMUFD);

int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_replace, IOMMUFD);

void iommufd_access_detach(struct iommufd_access *access)
{
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_detach, IOMMUFD);

int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_pin_pages, IOMMUFD);

void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_unpin_pages, IOMMUFD);

int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t len, unsigned int flags)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_rw, IOMMUFD);

int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *out_ioas_id)
{
	return -ENODEV;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_get_id, IOMMUFD_VFIO);

int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_create, IOMMUFD_VFIO);

int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_set_no_iommu, IOMMUFD_VFIO);
