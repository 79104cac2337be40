/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-kernel API of iommufd, for drivers that hand devices or in-kernel
 * DMA users to user space through /dev/iommu (VFIO and its mdev drivers),
 * and for IOMMU drivers that offer virtual IOMMUs (vIOMMU, vDEVICE,
 * vEVENTQ and HW queue objects) to user space.
 *
 * The calls and their signatures are those the Linux 6.12 callers expect;
 * the PASID and vIOMMU calls are additions. Every function is documented
 * where it is defined.
 */
#ifndef __LINUX_IOMMUFD_H
#define __LINUX_IOMMUFD_H

#include <linux/err.h>
#include <linux/errno.h>
#include <linux/list.h>
#include <linux/types.h>

struct device;
struct file;
struct iommu_domain;
struct iommu_group;
struct iommu_ops;
struct iommu_user_data;
struct iommu_user_data_array;
struct iommufd_access;
struct iommufd_ctx;
struct iommufd_device;
struct iommufd_hw_queue;
struct iommufd_viommu;
struct module;
struct page;

struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id);
void iommufd_device_unbind(struct iommufd_device *idev);

int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id);
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id);
void iommufd_device_detach(struct iommufd_device *idev);

int iommufd_device_pasid_attach(struct iommufd_device *idev, u32 pasid,
				u32 *pt_id);
int iommufd_device_pasid_replace(struct iommufd_device *idev, u32 pasid,
				 u32 *pt_id);
void iommufd_device_pasid_detach(struct iommufd_device *idev, u32 pasid);

struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev);
u32 iommufd_device_to_id(struct iommufd_device *idev);

/**
 * struct iommufd_access_ops - what an in-kernel access user provides
 * @needs_pin_pages: the user calls iommufd_access_pin_pages(); it must then
 *                   also provide @unmap
 * @unmap: called before the IOVA range [@iova, @iova + @length) stops being
 *         mapped; the user must unpin every page it pinned in the range
 *         before returning. @data is what was given at creation.
 */
struct iommufd_access_ops {
	u8 needs_pin_pages : 1;
	void (*unmap)(void *data, unsigned long iova, unsigned long length);
};

/* Flags of iommufd_access_rw() and iommufd_access_pin_pages(). */
enum {
	/* Read from the IOVA into the buffer (the default) */
	IOMMUFD_ACCESS_RW_READ = 0,
	/* Write the buffer to the IOVA; for pinning, pin for writing */
	IOMMUFD_ACCESS_RW_WRITE = 1 << 0,
	/* The caller is a kthread; borrow the owning process's mm */
	IOMMUFD_ACCESS_RW_KTHREAD = 1 << 1,

	/*
	 * Test only: never copy through the owning process's address space,
	 * even where that is possible; pin the pages for the copy instead.
	 */
	__IOMMUFD_ACCESS_RW_SLOW_PATH = 1 << 2,
};

struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id);
void iommufd_access_destroy(struct iommufd_access *access);
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id);
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id);
void iommufd_access_detach(struct iommufd_access *access);

void iommufd_ctx_get(struct iommufd_ctx *ictx);

/**
 * struct iommufd_viommu_ops - what an IOMMU driver does for its vIOMMUs
 * @destroy: undo what the driver's init did; called once nothing uses the
 *           vIOMMU any more (its vDEVICEs, nested HWPTs, vEVENTQs and HW
 *           queues are gone). Optional.
 * @alloc_domain_nested: allocate an IOMMU_DOMAIN_NESTED domain whose second
 *                       stage is the vIOMMU's nesting parent, from the
 *                       driver data in @user_data. @flags holds only
 *                       IOMMU_HWPT_ALLOC_PASID. iommufd sets the domain's
 *                       owner and fault handling.
 * @cache_invalidate: carry out the requests of @reqs in order, stopping at
 *                    the first that fails, and set @reqs->entry_num to the
 *                    number carried out. Called with the vIOMMU's vDEVICE
 *                    table held still, so iommufd_viommu_find_dev() works.
 * @hw_queue_size: the bytes of driver data a HW queue of @type needs
 *                 (at least sizeof(void *)), or 0 if the driver has no such
 *                 queue. Both HW queue callbacks are needed for any.
 * @hw_queue_init: set up HW queue @index of its type on the guest memory
 *                 at physical address @base, @length bytes, which iommufd
 *                 keeps pinned until after @hw_queue_destroy.
 * @hw_queue_destroy: tear down a queue @hw_queue_init set up
 */
struct iommufd_viommu_ops {
	void (*destroy)(struct iommufd_viommu *viommu);
	struct iommu_domain *
	(*alloc_domain_nested)(struct iommufd_viommu *viommu, u32 flags,
			       const struct iommu_user_data *user_data);
	int (*cache_invalidate)(struct iommufd_viommu *viommu,
				struct iommu_user_data_array *reqs);
	size_t (*hw_queue_size)(struct iommufd_viommu *viommu, u32 type);
	int (*hw_queue_init)(struct iommufd_hw_queue *hw_queue, u32 index,
			     phys_addr_t base, size_t length);
	void (*hw_queue_destroy)(struct iommufd_hw_queue *hw_queue);
};

/**
 * struct iommufd_viommu_driver - one vIOMMU type an IOMMU driver offers
 * @iommu_ops: the IOMMU driver, as dev_iommu_ops() returns it for its
 *             devices
 * @type: the enum iommu_viommu_type (or selftest type) it implements
 * @priv_size: bytes of driver data allocated with each vIOMMU, returned by
 *             iommufd_viommu_priv()
 * @init: set up a new vIOMMU, whose nesting parent is @parent, for the
 *        IOMMU instance behind @dev. @user_data is the driver data of
 *        IOMMU_VIOMMU_ALLOC (its type is @type); the driver may write
 *        results back to it with iommu_copy_struct_to_user(). On failure
 *        the vIOMMU is freed without @ops->destroy.
 * @ops: the vIOMMU callbacks
 * @owner: the module providing all of the above
 * @item: iommufd's list of drivers; not for the driver
 *
 * 6.12's struct iommu_ops has no vIOMMU hooks, so IOMMU drivers register
 * their vIOMMU types with iommufd instead, with
 * iommufd_viommu_driver_register(), and unregister them before their
 * module goes.
 */
struct iommufd_viommu_driver {
	const struct iommu_ops *iommu_ops;
	u32 type;
	size_t priv_size;
	int (*init)(struct iommufd_viommu *viommu, struct iommu_domain *parent,
		    struct device *dev, const struct iommu_user_data *user_data);
	const struct iommufd_viommu_ops *ops;
	struct module *owner;
	struct list_head item;
};

#if IS_ENABLED(CONFIG_IOMMUFD)
int iommufd_viommu_driver_register(struct iommufd_viommu_driver *drv);
void iommufd_viommu_driver_unregister(struct iommufd_viommu_driver *drv);
void *iommufd_viommu_priv(struct iommufd_viommu *viommu);
struct device *iommufd_viommu_find_dev(struct iommufd_viommu *viommu,
				       u64 virt_id);
int iommufd_viommu_get_vdev_id(struct iommufd_viommu *viommu,
			       struct device *dev, u64 *virt_id);
int iommufd_viommu_report_event(struct iommufd_viommu *viommu, u32 type,
				const void *data, size_t len);
int iommufd_viommu_alloc_mmap(struct iommufd_viommu *viommu, phys_addr_t base,
			      size_t length, unsigned long *offset);
void iommufd_viommu_destroy_mmap(struct iommufd_viommu *viommu,
				 unsigned long offset);
void *iommufd_hw_queue_priv(struct iommufd_hw_queue *hw_queue);
struct iommufd_viommu *
iommufd_hw_queue_viommu(struct iommufd_hw_queue *hw_queue);
int iommufd_hw_queue_depend(struct iommufd_hw_queue *dependent,
			    struct iommufd_hw_queue *on);
void iommufd_hw_queue_undepend(struct iommufd_hw_queue *dependent,
			       struct iommufd_hw_queue *on);

struct iommufd_ctx *iommufd_ctx_from_file(struct file *file);
struct iommufd_ctx *iommufd_ctx_from_fd(int fd);
void iommufd_ctx_put(struct iommufd_ctx *ictx);
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group);

int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags);
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length);
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t len, unsigned int flags);
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *out_ioas_id);
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx);
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx);
#else /* !CONFIG_IOMMUFD */
static inline int
iommufd_viommu_driver_register(struct iommufd_viommu_driver *drv)
{
	return -EOPNOTSUPP;
}

static inline void
iommufd_viommu_driver_unregister(struct iommufd_viommu_driver *drv)
{
}

static inline struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
}

static inline int iommufd_access_pin_pages(struct iommufd_access *access,
					   unsigned long iova,
					   unsigned long length,
					   struct page **out_pages,
					   unsigned int flags)
{
	return -EOPNOTSUPP;
}

static inline void iommufd_access_unpin_pages(struct iommufd_access *access,
					      unsigned long iova,
					      unsigned long length)
{
}

static inline int iommufd_access_rw(struct iommufd_access *access,
				    unsigned long iova, void *data, size_t len,
				    unsigned int flags)
{
	return -EOPNOTSUPP;
}

static inline int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	return -EOPNOTSUPP;
}

static inline int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	return -EOPNOTSUPP;
}
#endif /* CONFIG_IOMMUFD */
#endif
