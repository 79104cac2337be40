// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO's view of an iommufd: the compatibility IOAS and the emulated type1
 * container.
 *
 * The compatibility IOAS
 * ----------------------
 * VFIO's group and container ioctls name no object, so a context has at
 * most one "compatibility" IOAS, ictx->vfio_ioas, that they use. It is a
 * plain pointer into the object table: it does not keep the IOAS alive,
 * and destroying the IOAS clears it (main.c does so under the table lock).
 * It is read under the object table's xarray lock and written under that
 * lock too; every writer but destroy also holds ictx->ioas_creation_lock,
 * as does the switch to no-IOMMU mode, so creating one decides and
 * publishes without another writer in between. VFIO creates it when a
 * group joins the file as its container; user space can also name one
 * (IOMMU_VFIO_IOAS).
 *
 * The type1 container
 * -------------------
 * Programs written for VFIO's container issue its ioctls (VFIO_SET_IOMMU,
 * VFIO_IOMMU_MAP_DMA, ...) on an iommufd file: one opened as /dev/iommu and
 * handed to VFIO_GROUP_SET_CONTAINER, or, with IOMMUFD_VFIO_CONTAINER, one
 * opened as /dev/vfio/vfio. main.c passes us every ioctl number that is not
 * an iommufd one. They all act on the compatibility IOAS and answer ENODEV
 * while there is none, as a container without a group does.
 *
 * TYPE1v2 maps and unmaps whole mappings only. The original TYPE1 also lets
 * an unmap cut a mapping anywhere; it is emulated by mapping every page
 * singly (IOMMU_OPTION_HUGE_PAGES off), so that the IOMMU page tables can
 * be cut at any page, and by splitting the areas at the ends of the range
 * before unmapping it.
 *
 * No-IOMMU mode: a file whose container VFIO declared no-IOMMU (before any
 * compatibility IOAS existed) offers VFIO_NOIOMMU_IOMMU and nothing else.
 */
#include <linux/iommufd.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <uapi/linux/vfio.h>

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

	/*
	 * Everything that sets vfio_ioas or no-IOMMU mode holds this lock,
	 * so what is decided here stays true until the IOAS is published.
	 */
	down_write(&ictx->ioas_creation_lock);
	ioas = compat_ioas_get(ictx);
	if (ioas)
		goto out_unlock;
	if (ictx->no_iommu_mode) {
		/* A no-IOMMU container has no IOAS. */
		ioas = ERR_PTR(-EINVAL);
		goto out_unlock;
	}
	ioas = iommufd_ioas_alloc(ictx);
	if (IS_ERR(ioas))
		goto out_unlock;
	/*
	 * The caller's short-term reference, taken before the IOAS is in the
	 * table: from then on IOMMU_DESTROY of it fails with EBUSY.
	 */
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
 * Return: 0, -ENOMEM, or -EINVAL if the container is in no-IOMMU mode.
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
 * iommufd_vfio_compat_set_no_iommu() - put the container in no-IOMMU mode
 * @ictx: the context
 *
 * VFIO calls this when a no-IOMMU group joins the file as its container.
 * From then on the container offers VFIO_NOIOMMU_IOMMU only.
 *
 * Return: 0, or -EINVAL if the file already has a compatibility IOAS.
 */
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	int rc = 0;

	down_write(&ictx->ioas_creation_lock);
	xa_lock(&ictx->objects);
	if (ictx->vfio_ioas)
		rc = -EINVAL;
	else
		ictx->no_iommu_mode = true;
	xa_unlock(&ictx->objects);
	up_write(&ictx->ioas_creation_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_set_no_iommu, IOMMUFD_VFIO);

/* Name (or, with NULL, forget) the compatibility IOAS. */
static void compat_ioas_set(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas)
{
	down_write(&ictx->ioas_creation_lock);
	xa_lock(&ictx->objects);
	ictx->vfio_ioas = ioas;
	xa_unlock(&ictx->objects);
	up_write(&ictx->ioas_creation_lock);
}

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
		compat_ioas_set(ucmd->ictx, ioas);
		iommufd_put_object(ucmd->ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		compat_ioas_set(ucmd->ictx, NULL);
		return 0;
	default:
		rc = -EOPNOTSUPP;
	}
	return rc;
}

/* ---------------------------------------------------------------------
 * The type1 container ioctls.
 */

/* The compatibility IOAS with a short-term reference, or -ENODEV. */
static struct iommufd_ioas *container_ioas(struct iommufd_ctx *ictx)
{
	return compat_ioas_get(ictx) ?: ERR_PTR(-ENODEV);
}

/*
 * Copy in a type1 argument structure. @min is how much of it the ioctl
 * needs, which user space's argsz (its first member) must cover.
 */
static int container_copy_in(void *dst, void __user *src, size_t min)
{
	if (copy_from_user(dst, src, min))
		return -EFAULT;
	return *(u32 *)dst < min ? -EINVAL : 0;
}

static int container_map_dma(struct iommufd_ctx *ictx, void __user *uarg)
{
	const u32 known = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	struct vfio_iommu_type1_dma_map map;
	struct iommufd_ioas *ioas;
	unsigned long iova;
	int prot, rc;

	rc = container_copy_in(&map, uarg,
			       offsetofend(typeof(map), size));
	if (rc)
		return rc;
	/* type1 refuses a mapping that is neither readable nor writable. */
	if ((map.flags & ~known) || !(map.flags & known) || !map.size)
		return -EINVAL;
	if (map.iova > ULONG_MAX || map.size > ULONG_MAX ||
	    map.vaddr > ULONG_MAX)
		return -EOVERFLOW;

	prot = IOMMU_CACHE;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;

	ioas = container_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	iova = map.iova;
	rc = iopt_map_user_pages(ictx, &ioas->iopt, &iova,
				 u64_to_user_ptr(map.vaddr), map.size, prot, 0);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/*
 * TYPE1 may unmap part of a mapping: cut the mappings at both ends of
 * [iova, iova + size) first, which works because every page is mapped
 * singly (see container_set_iommu()).
 */
static int container_cut_range(struct io_pagetable *iopt, u64 iova, u64 size)
{
	unsigned long cuts[2];
	unsigned int n = 0;

	if (!size || iova + size - 1 < iova)
		return 0;
	if (iova)
		cuts[n++] = iova - 1;
	cuts[n++] = iova + size - 1;
	return iopt_cut_iova(iopt, cuts, n);
}

static int container_unmap_dma(struct iommufd_ctx *ictx, void __user *uarg)
{
	struct vfio_iommu_type1_dma_unmap unmap;
	size_t min = offsetofend(typeof(unmap), size);
	unsigned long unmapped = 0;
	struct iommufd_ioas *ioas;
	int rc;

	rc = container_copy_in(&unmap, uarg, min);
	if (rc)
		return rc;
	/* Dirty bitmaps and vaddr updates are not offered. */
	if (unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;

	ioas = container_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		rc = (unmap.iova || unmap.size) ? -EINVAL :
			iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (unmap.iova > ULONG_MAX || unmap.size > ULONG_MAX) {
		rc = -EOVERFLOW;
	} else {
		rc = 0;
		if (READ_ONCE(ioas->iopt.disable_large_pages))
			rc = container_cut_range(&ioas->iopt, unmap.iova,
						 unmap.size);
		/* Nothing mapped in the range is success here, unlike IOAS_UNMAP. */
		if (!rc)
			rc = iopt_unmap_iova(&ioas->iopt, unmap.iova,
					     unmap.size, &unmapped);
	}
	iommufd_put_object(ictx, &ioas->obj);
	if (rc)
		return rc;

	unmap.size = unmapped;
	return copy_to_user(uarg, &unmap, min) ? -EFAULT : 0;
}

/*
 * Page sizes VFIO users may map with: what every domain can map, the
 * sizes below a CPU page folded into it (as VFIO reports them), none below
 * the IOAS's alignment, and only the smallest when large pages are off.
 */
static u64 container_pgsizes(struct io_pagetable *iopt)
{
	unsigned long sizes = ULONG_MAX;
	struct iommu_domain *domain;
	unsigned long index;

	down_read(&iopt->domains_rwsem);
	xa_for_each(&iopt->domains, index, domain)
		sizes &= domain->pgsize_bitmap;
	if (sizes & ~PAGE_MASK)
		sizes = (sizes & PAGE_MASK) | PAGE_SIZE;
	sizes &= ~(iopt->iova_alignment - 1);
	if (!sizes)
		sizes = iopt->iova_alignment;
	if (iopt->disable_large_pages)
		sizes &= -sizes;
	up_read(&iopt->domains_rwsem);
	return sizes;
}

/*
 * The capability chain of VFIO_IOMMU_GET_INFO, built in a kernel buffer:
 * the DMA mapping limit, then the usable IOVA ranges (the holes between
 * the reserved ones, as IOMMU_IOAS_IOVA_RANGES reports them). Offsets are
 * from the start of struct vfio_iommu_type1_info. Returns the buffer (the
 * caller kfree()s it) and its size in *len.
 */
static void *container_info_caps(struct io_pagetable *iopt, size_t *len)
{
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	struct vfio_iommu_type1_info_dma_avail *avail;
	size_t at_ranges = sizeof(struct vfio_iommu_type1_info) +
			   ALIGN(sizeof(*avail), sizeof(u64));
	struct interval_tree_span_iter span;
	unsigned int n = 0;
	void *caps;

	down_read(&iopt->iova_rwsem);
	interval_tree_for_each_span(&span, &iopt->reserved_itree, 0, ULONG_MAX)
		n += span.is_hole;
	*len = ALIGN(struct_size(ranges, iova_ranges, n), sizeof(u64)) +
	       at_ranges - sizeof(struct vfio_iommu_type1_info);
	caps = kzalloc(*len, GFP_KERNEL);
	if (!caps)
		goto out_unlock;

	avail = caps;
	avail->header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
	avail->header.version = 1;
	avail->header.next = at_ranges;
	/*
	 * Pinned memory is limited by RLIMIT_MEMLOCK and the memory cgroup,
	 * not by a count of mappings: report the largest count there is.
	 */
	avail->avail = U32_MAX;

	ranges = caps + at_ranges - sizeof(struct vfio_iommu_type1_info);
	ranges->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
	ranges->header.version = 1;
	interval_tree_for_each_span(&span, &iopt->reserved_itree, 0,
				    ULONG_MAX) {
		if (!span.is_hole)
			continue;
		ranges->iova_ranges[ranges->nr_iovas].start = span.start_hole;
		ranges->iova_ranges[ranges->nr_iovas].end = span.last_hole;
		ranges->nr_iovas++;
	}
out_unlock:
	up_read(&iopt->iova_rwsem);
	return caps;
}

static int container_get_info(struct iommufd_ctx *ictx, void __user *uarg)
{
	struct vfio_iommu_type1_info info = {};
	size_t min = offsetofend(typeof(info), iova_pgsizes);
	struct iommufd_ioas *ioas;
	size_t caps_len, argsz;
	void *caps;
	int rc;

	rc = container_copy_in(&info, uarg, min);
	if (rc)
		return rc;
	argsz = info.argsz;

	ioas = container_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
	info.iova_pgsizes = container_pgsizes(&ioas->iopt);
	caps = container_info_caps(&ioas->iopt, &caps_len);
	iommufd_put_object(ictx, &ioas->obj);
	if (!caps)
		return -ENOMEM;

	/*
	 * A caller whose buffer cannot hold the whole chain gets none of it
	 * (cap_offset 0) and, in argsz, the size that would.
	 */
	info.argsz = sizeof(info) + caps_len;
	info.cap_offset = 0;
	if (argsz >= info.argsz) {
		info.cap_offset = sizeof(info);
		if (copy_to_user(uarg + sizeof(info), caps, caps_len))
			rc = -EFAULT;
	}
	kfree(caps);
	if (!rc && copy_to_user(uarg, &info, min_t(size_t, argsz,
						   sizeof(info))))
		rc = -EFAULT;
	return rc;
}

/* 1 if every paging HWPT of the compatibility IOAS blocks non-coherent DMA. */
static int container_dma_coherent(struct iommufd_ctx *ictx)
{
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_ioas *ioas;
	int coherent = 1;

	ioas = container_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt_paging, &ioas->hwpt_list, hwpt_item)
		if (!hwpt_paging->enforce_cache_coherency)
			coherent = 0;
	mutex_unlock(&ioas->mutex);
	iommufd_put_object(ictx, &ioas->obj);
	return coherent;
}

static int container_check_extension(struct iommufd_ctx *ictx,
				     unsigned long ext)
{
	switch (ext) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return !READ_ONCE(ictx->no_iommu_mode);
	case VFIO_NOIOMMU_IOMMU:
		return IS_ENABLED(CONFIG_VFIO_NOIOMMU);
	case VFIO_DMA_CC_IOMMU:
		return container_dma_coherent(ictx);
	default:
		/*
		 * Among others: TYPE1_NESTING (obsolete), UPDATE_VADDR (no
		 * safe way to swap the memory under a live mapping), SPAPR.
		 */
		return 0;
	}
}

static int container_set_iommu(struct iommufd_ctx *ictx, unsigned long type)
{
	bool no_iommu = READ_ONCE(ictx->no_iommu_mode);
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (IS_ENABLED(CONFIG_VFIO_NOIOMMU) && no_iommu &&
	    type == VFIO_NOIOMMU_IOMMU)
		return capable(CAP_SYS_RAWIO) ? 0 : -EPERM;
	if (no_iommu || (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU))
		return -EINVAL;

	/* Like VFIO's container: no group, no IOMMU to set. */
	ioas = container_ioas(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (type == VFIO_TYPE1_IOMMU)
		rc = iopt_disable_large_pages(&ioas->iopt);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/**
 * iommufd_vfio_ioctl() - the VFIO type1 container ioctls on an iommufd
 * @ictx: the context
 * @cmd: the ioctl number, not an iommufd one
 * @arg: its argument
 *
 * Return: what VFIO's container would answer, or -ENOTTY for ioctls it does
 * not have or that are not emulated (VFIO_IOMMU_DIRTY_PAGES among them).
 */
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return container_check_extension(ictx, arg);
	case VFIO_SET_IOMMU:
		return container_set_iommu(ictx, arg);
	case VFIO_IOMMU_GET_INFO:
		return container_get_info(ictx, uarg);
	case VFIO_IOMMU_MAP_DMA:
		return container_map_dma(ictx, uarg);
	case VFIO_IOMMU_UNMAP_DMA:
		return container_unmap_dma(ictx, uarg);
	default:
		return -ENOTTY;
	}
}
