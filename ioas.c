// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOAS object and its ioctls: the user-space face of an io_pagetable.
 *
 * An IOAS is created by IOMMU_IOAS_ALLOC and destroyed by IOMMU_DESTROY or
 * when the file closes. Paging HWPTs built from it and in-kernel accesses
 * attached to it each hold a reference, so it cannot go away under them;
 * destroying it unmaps whatever is still mapped.
 *
 * The handlers here only translate between the uAPI and io_pagetable.c:
 * validate, look up (taking a reference), act, respond, put. Mapping
 * ioctls that fail to write their reply undo the mapping, so a call that
 * returns an error has changed nothing.
 */
#include <linux/file.h>
#include <linux/hugetlb.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include "iommufd_private.h"

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);

	iopt_destroy_table(&ioas->iopt);
	mutex_destroy(&ioas->mutex);
}

/* A new, empty, unpublished IOAS; the caller finalizes or aborts it. */
struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = iommufd_object_alloc(ictx,
							 struct iommufd_ioas,
							 obj, IOMMUFD_OBJ_IOAS);

	if (!IS_ERR(ioas)) {
		mutex_init(&ioas->mutex);
		INIT_LIST_HEAD(&ioas->hwpt_list);
		iopt_init_table(&ioas->iopt);
	}
	return ioas;
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;

	if (cmd->flags)
		return -EOPNOTSUPP;
	ioas = iommufd_ioas_alloc(ucmd->ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	/* Publish only once user space has been told the ID. */
	cmd->out_ioas_id = ioas->obj.id;
	if (iommufd_ucmd_respond(ucmd, sizeof(*cmd))) {
		iommufd_object_abort_and_destroy(ucmd->ictx, &ioas->obj);
		return -EFAULT;
	}
	iommufd_object_finalize(ucmd->ictx, &ioas->obj);
	return 0;
}

int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iommu_iova_range __user *ranges;
	struct interval_tree_span_iter span;
	struct iommufd_ioas *ioas;
	u32 room = cmd->num_iovas;
	u32 count = 0;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	ranges = u64_to_user_ptr(cmd->allowed_iovas);
	down_read(&ioas->iopt.iova_rwsem);
	interval_tree_for_each_span(&span, &ioas->iopt.reserved_itree, 0,
				    ULONG_MAX) {
		struct iommu_iova_range range = {
			.start = span.start_hole,
			.last = span.last_hole,
		};

		if (!span.is_hole)
			continue;
		if (count < room &&
		    copy_to_user(&ranges[count], &range, sizeof(range))) {
			rc = -EFAULT;
			break;
		}
		count++;
	}
	cmd->num_iovas = count;
	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	up_read(&ioas->iopt.iova_rwsem);

	if (!rc)
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (!rc && count > room)
		rc = -EMSGSIZE;
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

static void free_allowed_tree(struct rb_root_cached *root)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(root, 0, ULONG_MAX))) {
		interval_tree_remove(node, root);
		kfree(container_of(node, struct iopt_allowed, node));
	}
}

/* Build a tree of the user's ranges; they must be valid and disjoint. */
static int read_allowed_tree(struct rb_root_cached *root,
			     struct iommu_iova_range __user *ranges, u32 num)
{
	u32 i;

	for (i = 0; i != num; i++) {
		struct iommu_iova_range range;
		struct iopt_allowed *allowed;

		if (copy_from_user(&range, &ranges[i], sizeof(range)))
			return -EFAULT;
		if (range.start > range.last || range.last > ULONG_MAX)
			return -EINVAL;
		if (interval_tree_iter_first(root, range.start, range.last))
			return -EINVAL;

		allowed = kzalloc(sizeof(*allowed), GFP_KERNEL_ACCOUNT);
		if (!allowed)
			return -ENOMEM;
		allowed->node.start = range.start;
		allowed->node.last = range.last;
		interval_tree_insert(&allowed->node, root);
	}
	return 0;
}

int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct rb_root_cached tree = RB_ROOT_CACHED;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	rc = read_allowed_tree(&tree, u64_to_user_ptr(cmd->allowed_iovas),
			       cmd->num_iovas);
	if (!rc)
		rc = iopt_set_allow_iova(&ioas->iopt, &tree);
	/* On success the tree holds the old ranges, else the new ones. */
	free_allowed_tree(&tree);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* Translate map flags; -EOPNOTSUPP for flags we do not know. */
static int map_flags_to_prot(u32 flags, int *prot)
{
	if (flags & ~(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |
		      IOMMU_IOAS_MAP_READABLE))
		return -EOPNOTSUPP;

	/* User space cannot undo coherency, so mappings are always cached. */
	*prot = IOMMU_CACHE;
	if (flags & IOMMU_IOAS_MAP_WRITEABLE)
		*prot |= IOMMU_WRITE;
	if (flags & IOMMU_IOAS_MAP_READABLE)
		*prot |= IOMMU_READ;
	return 0;
}

/*
 * A mapping neither readable nor writable is of no use to any device, and
 * some IOMMUs cannot even express it (attaching one of their domains would
 * then fail): refuse it. Checked after the range, as v6.17 orders it.
 */
static int check_map_access(int prot)
{
	return (prot & (IOMMU_READ | IOMMU_WRITE)) ? 0 : -EINVAL;
}

static unsigned int map_flags_to_iopt(u32 flags)
{
	return (flags & IOMMU_IOAS_MAP_FIXED_IOVA) ? 0 : IOPT_ALLOC_IOVA;
}

/* Reply with the IOVA chosen; if that fails, take the mapping back. */
static int respond_mapped(struct iommufd_ucmd *ucmd, struct io_pagetable *iopt,
			  size_t cmd_len, unsigned long iova,
			  unsigned long length)
{
	int rc = iommufd_ucmd_respond(ucmd, cmd_len);

	if (rc)
		iopt_unmap_iova(iopt, iova, length, NULL);
	return rc;
}

int iommufd_ioas_map(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	int prot, rc;

	rc = map_flags_to_prot(cmd->flags, &prot);
	if (rc)
		return rc;
	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX)
		return -EOVERFLOW;
	rc = check_map_access(prot);
	if (rc)
		return rc;
	if (!cmd->length)
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	rc = iopt_map_user_pages(ucmd->ictx, &ioas->iopt, &iova,
				 u64_to_user_ptr(cmd->user_va), cmd->length,
				 prot, map_flags_to_iopt(cmd->flags));
	if (!rc) {
		cmd->iova = iova;
		rc = respond_mapped(ucmd, &ioas->iopt, sizeof(*cmd), iova,
				    cmd->length);
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	struct file *file;
	u64 end;
	int prot, rc;

	rc = map_flags_to_prot(cmd->flags, &prot);
	if (rc)
		return rc;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX ||
	    check_add_overflow(cmd->start, cmd->length, &end) ||
	    end > ULONG_MAX)
		return -EOVERFLOW;
	rc = check_map_access(prot);
	if (rc)
		return rc;
	if (!cmd->length)
		return -EINVAL;

	file = fget(cmd->fd);
	if (!file)
		return -EBADF;
	if (!shmem_file(file) && !is_file_hugepages(file)) {
		rc = -EINVAL;
		goto out_fput;
	}
	if ((prot & IOMMU_WRITE) && !(file->f_mode & FMODE_WRITE)) {
		rc = -EPERM;
		goto out_fput;
	}

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas)) {
		rc = PTR_ERR(ioas);
		goto out_fput;
	}
	rc = iopt_map_file_pages(ucmd->ictx, &ioas->iopt, &iova, file,
				 cmd->start, cmd->length, prot,
				 map_flags_to_iopt(cmd->flags));
	if (!rc) {
		cmd->iova = iova;
		rc = respond_mapped(ucmd, &ioas->iopt, sizeof(*cmd), iova,
				    cmd->length);
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
out_fput:
	fput(file);
	return rc;
}

int iommufd_ioas_copy(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iommufd_ioas *src, *dst;
	unsigned long iova = cmd->dst_iova;
	int prot, rc;

	rc = map_flags_to_prot(cmd->flags, &prot);
	if (rc)
		return rc;
	if (cmd->length >= ULONG_MAX || cmd->src_iova >= ULONG_MAX ||
	    cmd->dst_iova >= ULONG_MAX)
		return -EOVERFLOW;
	rc = check_map_access(prot);
	if (rc)
		return rc;

	src = iommufd_get_ioas(ucmd->ictx, cmd->src_ioas_id);
	if (IS_ERR(src))
		return PTR_ERR(src);
	dst = iommufd_get_ioas(ucmd->ictx, cmd->dst_ioas_id);
	if (IS_ERR(dst)) {
		rc = PTR_ERR(dst);
		goto out_put_src;
	}

	rc = iopt_copy(&dst->iopt, &src->iopt, cmd->src_iova, cmd->length,
		       &iova, prot, map_flags_to_iopt(cmd->flags));
	if (!rc) {
		cmd->dst_iova = iova;
		rc = respond_mapped(ucmd, &dst->iopt, sizeof(*cmd), iova,
				    cmd->length);
	}
	iommufd_put_object(ucmd->ictx, &dst->obj);
out_put_src:
	iommufd_put_object(ucmd->ictx, &src->obj);
	return rc;
}

int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	unsigned long unmapped = 0;
	struct iommufd_ioas *ioas;
	int rc;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (cmd->iova == 0 && cmd->length == U64_MAX) {
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX) {
		rc = -EOVERFLOW;
	} else {
		rc = iopt_unmap_iova(&ioas->iopt, cmd->iova, cmd->length,
				     &unmapped);
		/* Here, unlike in VFIO's container, an empty range is wrong. */
		if (!rc && !unmapped)
			rc = -ENOENT;
	}
	if (!rc) {
		cmd->length = unmapped;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* IOMMU_OPTION_HUGE_PAGES: @object_id names the IOAS. */
int iommufd_ioas_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	switch (cmd->op) {
	case IOMMU_OPTION_OP_GET:
		cmd->val64 = !ioas->iopt.disable_large_pages;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
		break;
	case IOMMU_OPTION_OP_SET:
		if (cmd->val64 > 1)
			rc = -EINVAL;
		else if (cmd->val64)
			rc = iopt_enable_large_pages(&ioas->iopt);
		else
			rc = iopt_disable_large_pages(&ioas->iopt);
		break;
	default:
		rc = -EOPNOTSUPP;
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/*
 * Collect, with a reference each, the distinct pages of every mapping in
 * every IOAS of the context; -EINVAL if one is not file backed.
 */
static int collect_file_pages(struct iommufd_ctx *ictx, struct xarray *seen,
			      size_t *n)
{
	void *entry;
	unsigned long index;
	int rc = 0;

	/*
	 * The walk only yields IDs: an entry may be destroyed the moment it
	 * has been read, so nothing is learnt from it but through a lookup,
	 * which checks the type under the table lock and holds the IOAS.
	 */
	xa_for_each(&ictx->objects, index, entry) {
		struct iommufd_ioas *ioas;
		struct iopt_area *area;

		ioas = iommufd_get_ioas(ictx, index);
		if (IS_ERR(ioas))
			continue;

		down_read(&ioas->iopt.iova_rwsem);
		for (area = iopt_area_first(&ioas->iopt, 0, ULONG_MAX); area;
		     area = iopt_area_next(area, 0, ULONG_MAX)) {
			unsigned long key;

			if (!area->pages)
				continue;
			if (area->pages->type != IOPT_ADDRESS_FILE) {
				rc = -EINVAL;
				break;
			}
			key = (unsigned long)area->pages / sizeof(*area->pages);
			if (xa_load(seen, key))
				continue;
			rc = xa_err(xa_store(seen, key, area->pages,
					     GFP_KERNEL_ACCOUNT));
			if (rc)
				break;
			kref_get(&area->pages->kref);
			(*n)++;
		}
		up_read(&ioas->iopt.iova_rwsem);
		iommufd_put_object(ictx, &ioas->obj);
		if (rc)
			break;
	}
	return rc;
}

int iommufd_ioas_change_process(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_change_process *cmd = ucmd->cmd;
	struct iopt_pages **list = NULL;
	struct iopt_pages *pages;
	struct xarray seen;
	unsigned long key;
	size_t n = 0, i = 0;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	xa_init(&seen);
	rc = collect_file_pages(ucmd->ictx, &seen, &n);
	if (!rc && n) {
		list = kvcalloc(n, sizeof(*list), GFP_KERNEL);
		if (!list)
			rc = -ENOMEM;
	}
	if (!rc && n) {
		xa_for_each(&seen, key, pages)
			list[i++] = pages;
		rc = iopt_pages_change_source(list, n);
	}

	xa_for_each(&seen, key, pages)
		iopt_put_pages(pages);
	xa_destroy(&seen);
	kvfree(list);
	return rc;
}
