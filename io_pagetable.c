// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOVA side of the pinned-page engine: struct io_pagetable.
 *
 * Model
 * -----
 * An io_pagetable is the map of one IOAS. It owns three interval trees over
 * IOVA space:
 *
 *  - areas: each struct iopt_area maps an IOVA range to a byte range of an
 *    iopt_pages (pages.c). Areas never overlap and are only ever removed
 *    whole: an unmap must cover every area it touches.
 *  - reserved ranges: IOVA that may not be mapped, each tagged with its
 *    owner: a domain (what lies outside its aperture), a device (its
 *    reserved regions, e.g. the MSI window) or the selftest.
 *  - allowed ranges: what user space asked to keep usable. Nothing may be
 *    reserved inside them, and automatic IOVA allocation stays inside them
 *    when there are any.
 *
 * The IOVAs user space may use are the holes of the reserved tree, which is
 * what IOMMU_IOAS_IOVA_RANGES reports.
 *
 * Every iommu_domain in @domains mirrors every area, and every access in
 * @accesses may pin pages through any area. Adding a domain maps all areas
 * into it; removing one unmaps them (pages.c decides what stays pinned).
 * Mappings must be aligned to the largest minimum page size among the
 * domains and accesses (iova_alignment): the IOVA, the length and the
 * offset into the first page all.
 *
 * An area is created in two steps so that the slow part, pinning and
 * mapping, runs without the IOVA lock: it is first inserted with no pages
 * (reserving its IOVA; unmap and access pinning treat it as busy or absent),
 * then filled, then given its pages.
 *
 * Removing an area is the mirror image: it is taken out of service (its
 * pages pointer cleared) under iova_rwsem, unmapped and unpinned without
 * it, then freed.
 *
 * Locking
 * -------
 * The order is in iommufd_private.h. domains_rwsem: write to change domains,
 * accesses or the large page option; read for map and unmap, so the domain
 * set is stable while an area is filled or emptied. iova_rwsem: write to
 * change any of the three trees or the alignment; read to look areas up.
 * Neither is held across an access's unmap callback.
 *
 * "last" is an inclusive IOVA; lengths are checked so that last never
 * overflows.
 */
#include <linux/iommu.h>
#include <linux/iova_bitmap.h>
#include <linux/slab.h>

#include "iommufd_private.h"
#include "io_pagetable.h"

/* One contiguous piece of memory to map: a byte range of a pages. */
struct iopt_piece {
	struct iopt_pages *pages;
	unsigned long start_byte;
	unsigned long length;
	struct iopt_area *area;
};

/* ---------------------------------------------------------------------
 * Finding areas.
 */

static struct iopt_area *to_area(struct interval_tree_node *node)
{
	return node ? container_of(node, struct iopt_area, node) : NULL;
}

struct iopt_area *iopt_area_first(struct io_pagetable *iopt,
				  unsigned long start, unsigned long last)
{
	lockdep_assert_held(&iopt->iova_rwsem);
	return to_area(interval_tree_iter_first(&iopt->area_itree, start,
						last));
}

struct iopt_area *iopt_area_next(struct iopt_area *area, unsigned long start,
				 unsigned long last)
{
	return to_area(interval_tree_iter_next(&area->node, start, last));
}

/**
 * iopt_area_span_first() - start walking the areas covering a range
 * @span: iteration state
 * @iopt: the table, with iova_rwsem held
 * @start: first IOVA
 * @last: last IOVA
 *
 * Return: the area holding @start, or NULL if there is none or it is still
 * being built. Continue with iopt_area_span_next(); iopt_area_span_done()
 * then says whether the areas covered [@start, @last] without a gap.
 */
struct iopt_area *iopt_area_span_first(struct iopt_area_span *span,
				       struct io_pagetable *iopt,
				       unsigned long start, unsigned long last)
{
	span->iopt = iopt;
	span->cur = start;
	span->last = last;
	span->covered = false;
	span->area = iopt_area_first(iopt, start, start);
	if (span->area && !span->area->pages)
		span->area = NULL;
	return span->area;
}

/**
 * iopt_area_span_next() - the next area, if it continues the span
 * @span: iteration state
 *
 * Return: the area starting right after the current one, or NULL.
 */
struct iopt_area *iopt_area_span_next(struct iopt_area_span *span)
{
	unsigned long last = iopt_area_last_iova(span->area);

	if (last >= span->last) {
		span->covered = true;
		span->area = NULL;
		return NULL;
	}
	span->cur = last + 1;
	span->area = iopt_area_next(span->area, span->cur, span->cur);
	if (span->area && (!span->area->pages ||
			   iopt_area_iova(span->area) != span->cur))
		span->area = NULL;
	return span->area;
}

/**
 * iopt_area_span_done() - whether a finished walk covered the whole range
 * @span: iteration state after the last iopt_area_span_next()
 *
 * Return: true if the areas walked covered every IOVA of the range.
 */
bool iopt_area_span_done(struct iopt_area_span *span)
{
	return span->covered;
}

/* ---------------------------------------------------------------------
 * IOVA allocation and checks.
 */

/* Whether [start, last] has room for @length bytes at @align; where. */
static bool hole_fits(unsigned long start, unsigned long last,
		      unsigned long length, unsigned long align,
		      unsigned long *iova)
{
	unsigned long aligned = ALIGN(start, align);

	if (aligned < start || aligned > last || last - aligned < length - 1)
		return false;
	*iova = aligned;
	return true;
}

/*
 * A free IOVA in [start, last] clear of reserved ranges and areas.
 * *first_hole receives the start of the first free IOVA seen, which may be
 * in a hole too small for this request (ULONG_MAX if there is none).
 */
static bool iopt_find_hole(struct io_pagetable *iopt, unsigned long start,
			   unsigned long last, unsigned long length,
			   unsigned long align, unsigned long *iova,
			   unsigned long *first_hole)
{
	struct interval_tree_span_iter a, r;

	*first_hole = ULONG_MAX;
	interval_tree_for_each_span(&a, &iopt->area_itree, start, last) {
		if (!a.is_hole)
			continue;
		interval_tree_for_each_span(&r, &iopt->reserved_itree,
					    a.start_hole, a.last_hole) {
			if (!r.is_hole)
				continue;
			if (*first_hole == ULONG_MAX)
				*first_hole = r.start_hole;
			if (hole_fits(r.start_hole, r.last_hole, length, align,
				      iova))
				return true;
		}
	}
	return false;
}

/*
 * Automatic allocation never hands out the first or the last page of the
 * IOVA space: 0 reads as "no address" to too much code, and the last page
 * is one overflow away from it.
 */
#define IOPT_AUTO_FIRST PAGE_SIZE
#define IOPT_AUTO_LAST (ULONG_MAX - PAGE_SIZE)

/* Something below @start became free: allocation must look there again. */
static void iopt_lower_floor(struct io_pagetable *iopt, unsigned long start)
{
	lockdep_assert_held_write(&iopt->iova_rwsem);
	iopt->alloc_floor = max(min(iopt->alloc_floor, start), IOPT_AUTO_FIRST);
}

/*
 * Choose an IOVA for @length bytes, the lowest that fits. The alignment
 * keeps that of @hint (the user address, or 0) up to the size of the
 * mapping, so that memory in huge pages can be mapped with huge IOMMU
 * pages. The search starts at alloc_floor, below which nothing is free,
 * which keeps filling a space one mapping after another from growing
 * quadratic.
 */
static int iopt_alloc_iova(struct io_pagetable *iopt, unsigned long *iova,
			   unsigned long hint, unsigned long length)
{
	struct interval_tree_span_iter allowed;
	unsigned long align, first_hole, from;
	bool found;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (length > ULONG_MAX / 2)
		return -EOVERFLOW;
	align = roundup_pow_of_two(length);
	if (hint)
		align = min(align, 1UL << __ffs(hint));
	align = max(align, iopt->iova_alignment);

	if (RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root)) {
		found = iopt_find_hole(iopt, iopt->alloc_floor, IOPT_AUTO_LAST,
				       length, align, iova, &first_hole);
		/* Everything from the floor up to the first hole is used. */
		iopt->alloc_floor = first_hole;
		return found ? 0 : -ENOSPC;
	}

	interval_tree_for_each_span(&allowed, &iopt->allowed_itree,
				    IOPT_AUTO_FIRST, IOPT_AUTO_LAST) {
		if (allowed.is_hole || allowed.last_used < iopt->alloc_floor)
			continue;
		from = max(allowed.start_used, iopt->alloc_floor);
		found = iopt_find_hole(iopt, from, allowed.last_used, length,
				       align, iova, &first_hole);
		/* Only what lies in one allowed range is known to be used. */
		if (found && from == iopt->alloc_floor)
			iopt->alloc_floor = first_hole;
		if (found)
			return 0;
	}
	return -ENOSPC;
}

/* A caller-chosen IOVA range must be free and not reserved. */
static int iopt_check_iova(struct io_pagetable *iopt, unsigned long iova,
			   unsigned long length)
{
	unsigned long last;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (interval_tree_iter_first(&iopt->reserved_itree, iova, last))
		return -EINVAL;
	if (iopt_area_first(iopt, iova, last))
		return -EEXIST;
	return 0;
}

static bool iopt_aligned(unsigned long align, unsigned long iova,
			 unsigned long length, unsigned int page_offset)
{
	return !((iova | length | page_offset) & (align - 1));
}

/* Whether every area would satisfy @align. */
static bool iopt_areas_aligned(struct io_pagetable *iopt, unsigned long align)
{
	struct iopt_area *area;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX))
		if (!iopt_aligned(align, iopt_area_iova(area),
				  iopt_area_length(area), area->page_offset))
			return false;
	return true;
}

/* The alignment the current domains, accesses and options require. */
static unsigned long iopt_required_alignment(struct io_pagetable *iopt)
{
	unsigned long align = iopt->disable_large_pages ? PAGE_SIZE : 1;
	struct iommufd_access *access;
	struct iommu_domain *domain;
	unsigned long index;

	lockdep_assert_held(&iopt->domains_rwsem);

	xa_for_each(&iopt->domains, index, domain)
		align = max(align, 1UL << __ffs(domain->pgsize_bitmap));
	xa_for_each(&iopt->accesses, index, access)
		align = max(align, access->iova_alignment);
	return align;
}

/* ---------------------------------------------------------------------
 * Creating and destroying areas.
 */

static void iopt_area_init(struct iopt_area *area, struct io_pagetable *iopt,
			   struct iopt_piece *piece, unsigned long iova,
			   int iommu_prot)
{
	area->iopt = iopt;
	area->node.start = iova;
	area->node.last = iova + piece->length - 1;
	area->page_offset = piece->start_byte % PAGE_SIZE;
	area->pages_node.start = piece->start_byte / PAGE_SIZE;
	area->pages_node.last = (piece->start_byte + piece->length - 1) /
				PAGE_SIZE;
	area->iommu_prot = iommu_prot;
}

/* Take an area out of the IOVA tree and free it; it has no pages yet. */
static void iopt_area_discard(struct io_pagetable *iopt, struct iopt_area *area)
{
	lockdep_assert_held_write(&iopt->iova_rwsem);
	interval_tree_remove(&area->node, &iopt->area_itree);
	iopt_lower_floor(iopt, iopt_area_iova(area));
	kfree(area);
}

/*
 * Map @pieces back to back from *iova on (chosen here with IOPT_ALLOC_IOVA,
 * @hint guiding the alignment). Each piece becomes one area holding a
 * reference on its pages. On failure nothing is left mapped or pinned.
 */
static int iopt_map_pieces(struct io_pagetable *iopt, struct iopt_piece *pieces,
			   unsigned int npieces, unsigned long *iova,
			   unsigned long hint, int iommu_prot,
			   unsigned int flags)
{
	unsigned long length = 0, cur;
	unsigned int i;
	int rc;

	for (i = 0; i != npieces; i++) {
		if (check_add_overflow(length, pieces[i].length, &length))
			return -EOVERFLOW;
		pieces[i].area = kzalloc(sizeof(*pieces[i].area),
					 GFP_KERNEL_ACCOUNT);
		if (!pieces[i].area) {
			rc = -ENOMEM;
			goto out_free;
		}
	}
	if (!length) {
		rc = -EINVAL;
		goto out_free;
	}

	down_read(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	if (flags & IOPT_ALLOC_IOVA)
		rc = iopt_alloc_iova(iopt, iova, hint, length);
	else
		rc = iopt_check_iova(iopt, *iova, length);
	for (i = 0, cur = *iova; !rc && i != npieces; i++) {
		if (!iopt_aligned(iopt->iova_alignment, cur, pieces[i].length,
				  pieces[i].start_byte % PAGE_SIZE))
			rc = -EINVAL;
		cur += pieces[i].length;
	}
	if (rc) {
		up_write(&iopt->iova_rwsem);
		up_read(&iopt->domains_rwsem);
		goto out_free;
	}
	for (i = 0, cur = *iova; i != npieces; i++) {
		iopt_area_init(pieces[i].area, iopt, &pieces[i], cur,
			       iommu_prot);
		interval_tree_insert(&pieces[i].area->node, &iopt->area_itree);
		cur += pieces[i].length;
	}
	/* Filling the hole at the floor moves the floor past the mapping. */
	if (*iova == iopt->alloc_floor)
		iopt->alloc_floor = *iova + length - 1 == ULONG_MAX ?
					    ULONG_MAX : *iova + length;
	up_write(&iopt->iova_rwsem);

	/* The slow part: pin and map, with only the domain set locked. */
	for (i = 0; i != npieces; i++) {
		rc = iopt_area_fill_domains(pieces[i].area, pieces[i].pages);
		if (rc)
			break;
	}

	down_write(&iopt->iova_rwsem);
	if (rc) {
		while (i--)
			iopt_area_unfill_domains(pieces[i].area,
						 pieces[i].pages);
		for (i = 0; i != npieces; i++)
			iopt_area_discard(iopt, pieces[i].area);
	} else {
		for (i = 0; i != npieces; i++) {
			kref_get(&pieces[i].pages->kref);
			pieces[i].area->pages = pieces[i].pages;
		}
	}
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	return rc;

out_free:
	for (i = 0; i != npieces; i++)
		kfree(pieces[i].area);
	return rc;
}

/**
 * iopt_map_user_pages() - map a range of the caller's memory
 * @ictx: the context, for its accounting mode
 * @iopt: the table
 * @iova: in: the IOVA to use; out: the IOVA chosen, with IOPT_ALLOC_IOVA
 * @uptr: start of the memory
 * @length: bytes to map
 * @iommu_prot: IOMMU_READ, IOMMU_WRITE, IOMMU_CACHE
 * @flags: IOPT_ALLOC_IOVA to choose the IOVA
 *
 * Return: 0 or an errno; on failure nothing changed.
 */
int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, void __user *uptr,
			unsigned long length, int iommu_prot,
			unsigned int flags)
{
	struct iopt_piece piece = {};
	int rc;

	piece.pages = iopt_alloc_user_pages(uptr, length,
					    iommu_prot & IOMMU_WRITE);
	if (IS_ERR(piece.pages))
		return PTR_ERR(piece.pages);
	piece.pages->account_mode = ictx->account_mode;
	piece.start_byte = (unsigned long)uptr % PAGE_SIZE;
	piece.length = length;

	rc = iopt_map_pieces(iopt, &piece, 1, iova, (unsigned long)uptr,
			     iommu_prot, flags);
	iopt_put_pages(piece.pages);
	return rc;
}

/**
 * iopt_map_file_pages() - map a range of a memfd
 * @ictx: the context, for its accounting mode
 * @iopt: the table
 * @iova: in: the IOVA to use; out: the IOVA chosen, with IOPT_ALLOC_IOVA
 * @file: the memfd
 * @start: byte offset in the file
 * @length: bytes to map
 * @iommu_prot: IOMMU_READ, IOMMU_WRITE, IOMMU_CACHE
 * @flags: IOPT_ALLOC_IOVA to choose the IOVA
 *
 * Return: 0 or an errno; on failure nothing changed.
 */
int iopt_map_file_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, struct file *file,
			unsigned long start, unsigned long length,
			int iommu_prot, unsigned int flags)
{
	struct iopt_piece piece = {};
	int rc;

	piece.pages = iopt_alloc_file_pages(file, start, length,
					    iommu_prot & IOMMU_WRITE);
	if (IS_ERR(piece.pages))
		return PTR_ERR(piece.pages);
	piece.pages->account_mode = ictx->account_mode;
	piece.start_byte = start % PAGE_SIZE;
	piece.length = length;

	rc = iopt_map_pieces(iopt, &piece, 1, iova, start, iommu_prot, flags);
	iopt_put_pages(piece.pages);
	return rc;
}

/**
 * iopt_copy() - map into @dst memory already mapped in @src
 * @dst: the table receiving the mapping
 * @src: the table holding it; may be @dst
 * @src_iova: where the range starts in @src
 * @length: its length
 * @dst_iova: in: the IOVA in @dst; out: the IOVA chosen with IOPT_ALLOC_IOVA
 * @iommu_prot: protection of the new mapping
 * @flags: IOPT_ALLOC_IOVA to choose the IOVA
 *
 * The range must be covered, without gaps, by areas of @src. The new
 * mapping shares their pages: nothing is pinned or charged twice.
 *
 * Return: 0 or an errno: -ENOENT when the range is not fully mapped,
 * -EPERM when asking for write access to read-only memory.
 */
int iopt_copy(struct io_pagetable *dst, struct io_pagetable *src,
	      unsigned long src_iova, unsigned long length,
	      unsigned long *dst_iova, int iommu_prot, unsigned int flags)
{
	struct iopt_piece *pieces = NULL;
	struct iopt_area_span span;
	unsigned int n = 0, i;
	struct iopt_area *area;
	unsigned long last;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(src_iova, length - 1, &last))
		return -EOVERFLOW;

	/* Collect the pages under the source's lock, then let go of it. */
	down_read(&src->iova_rwsem);
	for (area = iopt_area_span_first(&span, src, src_iova, last); area;
	     area = iopt_area_span_next(&span))
		n++;
	if (!iopt_area_span_done(&span) || !n) {
		rc = -ENOENT;
		goto out_unlock;
	}
	pieces = kcalloc(n, sizeof(*pieces), GFP_KERNEL_ACCOUNT);
	if (!pieces) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	i = 0;
	for (area = iopt_area_span_first(&span, src, src_iova, last); area;
	     area = iopt_area_span_next(&span)) {
		unsigned long from = max(src_iova, iopt_area_iova(area));
		unsigned long to = min(last, iopt_area_last_iova(area));

		if ((iommu_prot & IOMMU_WRITE) && !area->pages->writable) {
			rc = -EPERM;
			break;
		}
		kref_get(&area->pages->kref);
		pieces[i].pages = area->pages;
		pieces[i].start_byte = iopt_area_index(area) * PAGE_SIZE +
				       area->page_offset +
				       (from - iopt_area_iova(area));
		pieces[i].length = to - from + 1;
		i++;
	}
out_unlock:
	up_read(&src->iova_rwsem);

	if (!rc)
		rc = iopt_map_pieces(dst, pieces, n, dst_iova, src_iova,
				     iommu_prot, flags);
	if (pieces) {
		for (i = 0; i != n && pieces[i].pages; i++)
			iopt_put_pages(pieces[i].pages);
		kfree(pieces);
	}
	return rc;
}

/*
 * How many times in a row unmap asks the accesses to let go of an area
 * before it gives up. One round is enough for a driver that honours its
 * unmap callback; a few more let one that re-pins while the callback runs
 * elsewhere catch up.
 */
#define IOPT_UNMAP_ACCESS_ROUNDS 8

/*
 * Before anything is removed: every area touching [start, last] must be in
 * service (-EBUSY: another call is still mapping or unmapping it), and,
 * unless @all, lie inside the range (-ENOENT).
 */
static int iopt_unmap_check(struct io_pagetable *iopt, unsigned long start,
			    unsigned long last, bool all)
{
	struct iopt_area *area;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (area = iopt_area_first(iopt, start, last); area;
	     area = iopt_area_next(area, start, last)) {
		if (!area->pages)
			return -EBUSY;
		if (!all && (iopt_area_iova(area) < start ||
			     iopt_area_last_iova(area) > last))
			return -ENOENT;
	}
	return 0;
}

/*
 * Whether accesses have pages of @area pinned. If so, it is marked so that
 * no new pin starts in it while they are asked to let go.
 */
static bool iopt_area_claim_from_accesses(struct iopt_area *area)
{
	struct iopt_pages *pages = area->pages;
	bool busy;

	mutex_lock(&pages->mutex);
	busy = area->num_accesses;
	area->prevent_access = busy;
	mutex_unlock(&pages->mutex);
	return busy;
}

/* Undo iopt_area_claim_from_accesses(): accesses may pin @area again. */
static void iopt_area_release_to_accesses(struct iopt_area *area)
{
	mutex_lock(&area->pages->mutex);
	area->prevent_access = false;
	mutex_unlock(&area->pages->mutex);
}

/*
 * Remove the areas inside [start, last]; with @all, every area. An area
 * only partly inside, or one another call is still mapping or unmapping,
 * makes the call fail before anything is removed; areas that a racing map
 * creates after that check are left alone.
 *
 * Each area is taken out of service under iova_rwsem (its pages pointer
 * cleared, so lookups treat it as absent while its IOVA stays taken), then
 * unmapped from the domains and unpinned with only domains_rwsem held, so
 * that a big unmap does not stall every lookup in the IOAS, and finally
 * freed under iova_rwsem again.
 */
static int iopt_unmap_range(struct io_pagetable *iopt, unsigned long start,
			    unsigned long last, bool all,
			    unsigned long *unmapped)
{
	unsigned int rounds = 0;
	unsigned long done = 0;
	struct iopt_area *area;
	int rc;

	down_read(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	rc = iopt_unmap_check(iopt, start, last, all);
	if (rc)
		goto out_unlock;

	area = iopt_area_first(iopt, start, last);
	while (area) {
		unsigned long first_iova = iopt_area_iova(area);
		unsigned long area_last = iopt_area_last_iova(area);
		struct iopt_pages *pages = area->pages;

		/* Being built, or from a racing map: not ours to remove. */
		if (!pages || first_iova < start || area_last > last) {
			area = iopt_area_next(area, start, last);
			continue;
		}

		if (iopt_area_claim_from_accesses(area)) {
			if (++rounds > IOPT_UNMAP_ACCESS_ROUNDS) {
				/* A driver keeps its pins: give up cleanly. */
				iopt_area_release_to_accesses(area);
				rc = -EBUSY;
				goto out_unlock;
			}
			up_write(&iopt->iova_rwsem);
			up_read(&iopt->domains_rwsem);
			iommufd_access_notify_unmap(iopt, first_iova,
						    area_last - first_iova + 1);
			down_read(&iopt->domains_rwsem);
			down_write(&iopt->iova_rwsem);
			/* The tree may have changed; carry on from this IOVA. */
			area = iopt_area_first(iopt, first_iova, last);
			continue;
		}

		area->pages = NULL;
		up_write(&iopt->iova_rwsem);
		iopt_area_unfill_domains(area, pages);
		down_write(&iopt->iova_rwsem);
		iopt_area_discard(iopt, area);
		iopt_put_pages(pages);

		done += area_last - first_iova + 1;
		rounds = 0;
		if (area_last >= last)
			break;
		area = iopt_area_first(iopt, area_last + 1, last);
	}

out_unlock:
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	if (unmapped)
		*unmapped = done;
	return rc;
}

/**
 * iopt_unmap_iova() - remove the mappings inside an IOVA range
 * @iopt: the table
 * @iova: first IOVA of the range
 * @length: its length
 * @unmapped: if not NULL, receives the bytes unmapped
 *
 * Return: 0, also when nothing was mapped in the range (*unmapped is then
 * 0); -ENOENT if a mapping lies only partly inside, -EBUSY if another call
 * is mapping or unmapping one; nothing is removed then.
 */
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped)
{
	unsigned long last;

	if (unmapped)
		*unmapped = 0;
	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	return iopt_unmap_range(iopt, iova, last, false, unmapped);
}

/**
 * iopt_unmap_all() - remove every mapping
 * @iopt: the table
 * @unmapped: if not NULL, receives the bytes unmapped
 *
 * Return: 0, also when nothing was mapped; -EBUSY if another call is
 * mapping or unmapping some area right now (nothing is removed then).
 */
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped)
{
	return iopt_unmap_range(iopt, 0, ULONG_MAX, true, unmapped);
}

/*
 * Split the area holding @iova, if any, so that @iova becomes the last IOVA
 * of one area. Only bookkeeping changes: the domains keep their mappings,
 * which is why an area a domain may have mapped with large pages is never
 * split.
 */
static int iopt_split_area_at(struct io_pagetable *iopt, unsigned long iova)
{
	struct iopt_area *area = iopt_area_first(iopt, iova, iova);
	unsigned long next = iova + 1, next_byte;
	struct iopt_area *tail;
	int rc;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (!area || iopt_area_last_iova(area) == iova)
		return 0;
	if (!area->pages || area->prevent_access)
		return -EBUSY;
	if (area->storage_domain && !iopt->disable_large_pages)
		return -EINVAL;
	/* Both halves must be mappings the table could have made. */
	next_byte = iopt_area_index(area) * PAGE_SIZE + area->page_offset +
		    (next - iopt_area_iova(area));
	if ((next | next_byte) & (iopt->iova_alignment - 1))
		return -EINVAL;

	tail = kzalloc(sizeof(*tail), GFP_KERNEL_ACCOUNT);
	if (!tail)
		return -ENOMEM;
	tail->iopt = iopt;
	tail->node.start = next;
	tail->node.last = iopt_area_last_iova(area);
	tail->pages_node.start = next_byte / PAGE_SIZE;
	tail->pages_node.last = iopt_area_last_index(area);
	tail->page_offset = next_byte % PAGE_SIZE;
	tail->iommu_prot = area->iommu_prot;
	rc = iopt_area_split_pages(area, tail, (next_byte - 1) / PAGE_SIZE);
	if (rc) {
		kfree(tail);
		return rc;
	}

	interval_tree_remove(&area->node, &iopt->area_itree);
	area->node.last = iova;
	interval_tree_insert(&area->node, &iopt->area_itree);
	interval_tree_insert(&tail->node, &iopt->area_itree);
	return 0;
}

/**
 * iopt_cut_iova() - make mappings end at given IOVAs
 * @iopt: the table
 * @iovas: IOVAs that are to be the last IOVA of a mapping
 * @n: how many
 *
 * Splits every mapping that holds one of @iovas elsewhere than at its end,
 * so that a later unmap can remove part of what was mapped as one piece.
 * This is how the VFIO TYPE1 container's partial unmaps are emulated.
 *
 * Return: 0; -EINVAL if a cut is misaligned, falls in a mapping that may
 * use large IOMMU pages or has access pins; -EBUSY if the mapping is being
 * created or removed; -ENOMEM. Cuts made before a failure stay.
 */
int iopt_cut_iova(struct io_pagetable *iopt, unsigned long *iovas,
		  unsigned int n)
{
	unsigned int i;
	int rc = 0;

	down_write(&iopt->iova_rwsem);
	for (i = 0; i != n && !rc; i++)
		rc = iopt_split_area_at(iopt, iovas[i]);
	up_write(&iopt->iova_rwsem);
	return rc;
}

/* ---------------------------------------------------------------------
 * Reserved and allowed ranges.
 */

static int iopt_reserve_locked(struct io_pagetable *iopt, unsigned long start,
			       unsigned long last, void *owner)
{
	struct iopt_reserved *reserved;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (interval_tree_iter_first(&iopt->allowed_itree, start, last) ||
	    iopt_area_first(iopt, start, last))
		return -EADDRINUSE;

	reserved = kzalloc(sizeof(*reserved), GFP_KERNEL_ACCOUNT);
	if (!reserved)
		return -ENOMEM;
	reserved->node.start = start;
	reserved->node.last = last;
	reserved->owner = owner;
	interval_tree_insert(&reserved->node, &iopt->reserved_itree);
	return 0;
}

static void iopt_unreserve_locked(struct io_pagetable *iopt, void *owner)
{
	struct interval_tree_node *node, *next;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (node = interval_tree_iter_first(&iopt->reserved_itree, 0,
					     ULONG_MAX);
	     node; node = next) {
		struct iopt_reserved *reserved =
			container_of(node, struct iopt_reserved, node);

		next = interval_tree_iter_next(node, 0, ULONG_MAX);
		if (reserved->owner == owner) {
			interval_tree_remove(node, &iopt->reserved_itree);
			iopt_lower_floor(iopt, node->start);
			kfree(reserved);
		}
	}
}

/**
 * iopt_reserve_iova() - forbid mapping an IOVA range
 * @iopt: the table
 * @start: first IOVA
 * @last: last IOVA
 * @owner: tag for iopt_remove_reserved_iova()
 *
 * Return: 0, or -EADDRINUSE if the range is mapped or allowed.
 */
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner)
{
	int rc;

	down_write(&iopt->iova_rwsem);
	rc = iopt_reserve_locked(iopt, start, last, owner);
	up_write(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_remove_reserved_iova() - drop every range reserved by @owner
 * @iopt: the table
 * @owner: the tag given to iopt_reserve_iova()
 */
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	down_write(&iopt->iova_rwsem);
	iopt_unreserve_locked(iopt, owner);
	up_write(&iopt->iova_rwsem);
}

/**
 * iopt_set_allow_iova() - replace the allowed ranges
 * @iopt: the table
 * @allowed_iova: a tree of struct iopt_allowed; on success its nodes move
 *                into the table and the previous ones into this tree
 *
 * Return: 0, or -EADDRINUSE if a new range is reserved.
 */
int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct rb_root_cached *allowed_iova)
{
	struct interval_tree_node *node;
	struct rb_root_cached old;

	down_write(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(allowed_iova, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (interval_tree_iter_first(&iopt->reserved_itree, node->start,
					     node->last)) {
			up_write(&iopt->iova_rwsem);
			return -EADDRINUSE;
		}
	}
	old = iopt->allowed_itree;
	iopt->allowed_itree = *allowed_iova;
	*allowed_iova = old;
	up_write(&iopt->iova_rwsem);
	return 0;
}

/**
 * iopt_table_enforce_dev_resv_regions() - reserve a device's special ranges
 * @iopt: the table the device is joining
 * @dev: the device
 * @sw_msi_start: receives the start of its software MSI window, if any
 *
 * Reserves, tagged with @dev, every region the IOMMU layer says must not be
 * used for DMA to memory (MSI windows, direct-mapped regions).
 *
 * Return: 0, or an errno with nothing reserved.
 */
int iopt_table_enforce_dev_resv_regions(struct io_pagetable *iopt,
					struct device *dev,
					phys_addr_t *sw_msi_start)
{
	struct iommu_resv_region *resv;
	LIST_HEAD(resv_regions);
	int rc = 0;

	if (iommufd_should_fail())
		return -EINVAL;

	down_write(&iopt->iova_rwsem);
	iommu_get_resv_regions(dev, &resv_regions);
	list_for_each_entry(resv, &resv_regions, list) {
		if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE)
			continue;
		if (sw_msi_start && resv->type == IOMMU_RESV_SW_MSI)
			*sw_msi_start = resv->start;
		rc = iopt_reserve_locked(iopt, resv->start,
					 resv->length - 1 + resv->start, dev);
		if (rc)
			break;
	}
	if (rc)
		iopt_unreserve_locked(iopt, dev);
	iommu_put_resv_regions(dev, &resv_regions);
	up_write(&iopt->iova_rwsem);
	return rc;
}

/* ---------------------------------------------------------------------
 * Domains.
 */

/* Reserve what lies outside the domain's aperture, tagged with the domain. */
static int iopt_reserve_aperture(struct io_pagetable *iopt,
				 struct iommu_domain *domain)
{
	struct iommu_domain_geometry *geo = &domain->geometry;
	int rc;

	if (!geo->force_aperture)
		return 0;
	if (geo->aperture_start) {
		rc = iopt_reserve_locked(iopt, 0, geo->aperture_start - 1,
					 domain);
		if (rc)
			return rc;
	}
	if (geo->aperture_end != ULONG_MAX) {
		rc = iopt_reserve_locked(iopt, geo->aperture_end + 1,
					 ULONG_MAX, domain);
		if (rc)
			return rc;
	}
	return 0;
}

/* Take @domain out of every area in [first area, @stop). */
static void iopt_unfill_domain(struct io_pagetable *iopt,
			       struct iommu_domain *domain,
			       struct iopt_area *stop)
{
	struct iopt_area *area;

	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area && area != stop;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		if (area->storage_domain == domain)
			iopt_area_unfill_domain(area, area->pages, domain);
		else
			iopt_area_unmap_domain(area, domain);
	}
}

/**
 * iopt_table_add_domain() - make a domain mirror the table
 * @iopt: the table
 * @domain: a paging domain, not in any table
 *
 * Maps every area into @domain and reserves what lies outside its aperture.
 *
 * Return: 0, -EADDRINUSE if existing mappings do not fit the domain
 * (outside its aperture or misaligned for its page size), or another errno;
 * on failure nothing changed.
 */
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain)
{
	struct iopt_area *area;
	unsigned long align;
	u32 id;
	int rc;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	align = max(iopt->iova_alignment, 1UL << __ffs(domain->pgsize_bitmap));

	/* Reserve the slot first so that publishing cannot fail. */
	rc = xa_alloc(&iopt->domains, &id, XA_ZERO_ENTRY, xa_limit_31b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto out_unlock;

	if (!iopt_areas_aligned(iopt, align)) {
		rc = -EADDRINUSE;
		goto out_release;
	}
	rc = iopt_reserve_aperture(iopt, domain);
	if (rc)
		goto out_unreserve;

	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		rc = iopt_area_fill_domain(area, domain);
		if (rc) {
			iopt_unfill_domain(iopt, domain, area);
			goto out_unreserve;
		}
	}

	xa_store(&iopt->domains, id, domain, GFP_KERNEL);
	iopt->iova_alignment = align;
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return 0;

out_unreserve:
	iopt_unreserve_locked(iopt, domain);
out_release:
	xa_erase(&iopt->domains, id);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_table_remove_domain() - stop a domain mirroring the table
 * @iopt: the table
 * @domain: a domain added with iopt_table_add_domain()
 *
 * Unmaps every area from @domain. Pages it alone held are unpinned.
 */
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain)
{
	struct iommu_domain *other = NULL, *d;
	struct iopt_area *area;
	unsigned long index;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);

	xa_for_each(&iopt->domains, index, d) {
		if (d == domain) {
			xa_erase(&iopt->domains, index);
			break;
		}
	}
	xa_for_each(&iopt->domains, index, d) {
		other = d;
		break;
	}

	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		struct iopt_pages *pages = area->pages;

		if (!other) {
			iopt_area_unfill_domain(area, pages, domain);
			continue;
		}
		/* Another domain takes over as the record of the PFNs. */
		mutex_lock(&pages->mutex);
		if (area->storage_domain == domain)
			area->storage_domain = other;
		mutex_unlock(&pages->mutex);
		iopt_area_unmap_domain(area, domain);
	}

	iopt_unreserve_locked(iopt, domain);
	iopt->iova_alignment = iopt_required_alignment(iopt);
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/* ---------------------------------------------------------------------
 * Accesses and options.
 */

/**
 * iopt_add_access() - register an in-kernel access user
 * @iopt: the table
 * @access: the access; its alignment requirement must be set
 * @id: receives the index to give iopt_remove_access()
 *
 * Return: 0, -EADDRINUSE if existing mappings are not aligned as the access
 * requires, or -ENOMEM.
 */
int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access,
		    u32 *id)
{
	unsigned long align;
	int rc;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	align = max(iopt->iova_alignment, access->iova_alignment);
	if (!iopt_areas_aligned(iopt, align)) {
		rc = -EADDRINUSE;
		goto out_unlock;
	}
	rc = xa_alloc(&iopt->accesses, id, access, xa_limit_16b,
		      GFP_KERNEL_ACCOUNT);
	if (rc)
		goto out_unlock;
	iopt->iova_alignment = align;
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_remove_access() - unregister an access user
 * @iopt: the table
 * @access: the access
 * @iopt_access_list_id: the ID iopt_add_access() gave it
 */
void iopt_remove_access(struct io_pagetable *iopt,
			struct iommufd_access *access, u32 iopt_access_list_id)
{
	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	WARN_ON(xa_erase(&iopt->accesses, iopt_access_list_id) != access);
	iopt->iova_alignment = iopt_required_alignment(iopt);
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/*
 * Large pages can only be switched while no domain holds mappings made
 * under the other setting.
 */
static int iopt_set_large_pages(struct io_pagetable *iopt, bool disable)
{
	int rc = 0;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	if (iopt->disable_large_pages == disable)
		goto out_unlock;
	if (!xa_empty(&iopt->domains) &&
	    !RB_EMPTY_ROOT(&iopt->area_itree.rb_root)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (disable && !iopt_areas_aligned(iopt, PAGE_SIZE)) {
		rc = -EADDRINUSE;
		goto out_unlock;
	}
	iopt->disable_large_pages = disable;
	iopt->iova_alignment = iopt_required_alignment(iopt);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return rc;
}

/**
 * iopt_disable_large_pages() - map every page singly from now on
 * @iopt: the table
 *
 * Also requires PAGE_SIZE alignment of every mapping.
 *
 * Return: 0, -EADDRINUSE if existing mappings are misaligned, -EINVAL if
 * domains already hold mappings.
 */
int iopt_disable_large_pages(struct io_pagetable *iopt)
{
	return iopt_set_large_pages(iopt, true);
}

/**
 * iopt_enable_large_pages() - let contiguous memory use large IOMMU pages
 * @iopt: the table
 *
 * Return: 0, or -EINVAL if domains already hold mappings.
 */
int iopt_enable_large_pages(struct io_pagetable *iopt)
{
	return iopt_set_large_pages(iopt, false);
}

/* ---------------------------------------------------------------------
 * Life of the table.
 */

void iopt_init_table(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->domains_rwsem);
	init_rwsem(&iopt->iova_rwsem);
	iopt->area_itree = RB_ROOT_CACHED;
	iopt->allowed_itree = RB_ROOT_CACHED;
	iopt->reserved_itree = RB_ROOT_CACHED;
	xa_init_flags(&iopt->domains, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	xa_init_flags(&iopt->accesses, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	iopt->iova_alignment = 1;
	iopt->alloc_floor = IOPT_AUTO_FIRST;
}

static void iopt_free_itree(struct rb_root_cached *root, size_t offset)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(root, 0, ULONG_MAX))) {
		interval_tree_remove(node, root);
		kfree((void *)node - offset);
	}
}

void iopt_destroy_table(struct io_pagetable *iopt)
{
	/* Domains and accesses hold the IOAS, so none are left here. */
	WARN_ON(!xa_empty(&iopt->domains));
	WARN_ON(!xa_empty(&iopt->accesses));

	iopt_unmap_all(iopt, NULL);
	WARN_ON(!RB_EMPTY_ROOT(&iopt->area_itree.rb_root));
	iopt_free_itree(&iopt->allowed_itree,
			offsetof(struct iopt_allowed, node));
	iopt_free_itree(&iopt->reserved_itree,
			offsetof(struct iopt_reserved, node));
	xa_destroy(&iopt->domains);
	xa_destroy(&iopt->accesses);
}

/* ---------------------------------------------------------------------
 * Dirty tracking: what a domain with dirty_ops says was written.
 *
 * Only areas in service are asked about: under iova_rwsem they are mapped
 * in every domain of the table and stay so, while an area being mapped or
 * unmapped may be half there. Pages of an area unmapped during a read are
 * simply not reported; nothing is left to migrate in them.
 */

struct iopt_dirty_read {
	struct io_pagetable *iopt;
	struct iommu_domain *domain;
	unsigned long flags;		/* IOMMU_DIRTY_* */
	struct iova_bitmap *bitmap;	/* NULL: only clear */
};

/* Ask the driver about the in-service areas in [iova, last]. */
static int iopt_dirty_range(struct iopt_dirty_read *rd, unsigned long iova,
			    unsigned long last)
{
	const struct iommu_dirty_ops *ops = rd->domain->dirty_ops;
	unsigned long pgsize = 1UL << __ffs(rd->domain->pgsize_bitmap);
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty;
	struct iopt_area *area;
	int rc = 0;

	/*
	 * Windows of a fine bitmap can end inside an IOMMU page: drivers are
	 * asked about whole pages (areas are aligned to at least that). A
	 * page asked about twice is reported by the first window, which
	 * carries the bits past its end over to the next.
	 */
	iova = ALIGN_DOWN(iova, pgsize);
	last = ALIGN_DOWN(last, pgsize) + pgsize - 1;

	iommu_iotlb_gather_init(&gather);
	iommu_dirty_bitmap_init(&dirty, rd->bitmap, &gather);

	down_read(&rd->iopt->iova_rwsem);
	for (area = iopt_area_first(rd->iopt, iova, last); area && !rc;
	     area = iopt_area_next(area, iova, last)) {
		unsigned long first = max(iova, iopt_area_iova(area));
		unsigned long end = min(last, iopt_area_last_iova(area));

		if (!area->pages)
			continue;
		rc = ops->read_and_clear_dirty(rd->domain, first,
					       end - first + 1, rd->flags,
					       &dirty);
	}
	/*
	 * Cleared dirty bits may still be cached as set in the IOTLB, where
	 * the next write would not set them again.
	 */
	if (!(rd->flags & IOMMU_DIRTY_NO_CLEAR))
		iommu_iotlb_sync(rd->domain, &gather);
	up_read(&rd->iopt->iova_rwsem);
	return rc;
}

static int iopt_dirty_window(struct iova_bitmap *bitmap, unsigned long iova,
			     size_t length, void *opaque)
{
	return iopt_dirty_range(opaque, iova, iova + length - 1);
}

/**
 * iopt_set_dirty_tracking() - turn a domain's dirty tracking on or off
 * @iopt: the table the domain mirrors
 * @domain: the domain
 * @enable: on or off
 *
 * Turning it on first clears whatever the domain held as dirty, so that
 * the first read reports only writes made while tracking.
 *
 * Return: 0, -EOPNOTSUPP if the domain cannot track, or the driver's error.
 */
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable)
{
	struct iopt_dirty_read rd = {
		.iopt = iopt,
		.domain = domain,
	};
	int rc;

	if (!domain->dirty_ops)
		return -EOPNOTSUPP;
	if (enable) {
		rc = iopt_dirty_range(&rd, 0, ULONG_MAX);
		if (rc)
			return rc;
	}
	return domain->dirty_ops->set_dirty_tracking(domain, enable);
}

/**
 * iopt_read_dirty() - write a domain's dirty pages into a user bitmap
 * @iopt: the table the domain mirrors
 * @domain: the domain
 * @iova: first IOVA; aligned to @page_size and the table's alignment
 * @length: bytes to cover, likewise aligned, not 0
 * @page_size: IOVA bytes per bit, a power of two
 * @data: the user's u64 array (any alignment)
 * @flags: IOMMU_DIRTY_NO_CLEAR to leave the dirty state as it is
 *
 * Bits of pages that are not dirty are left as the user had them.
 *
 * Return: 0, -EOVERFLOW if the range does not fit an unsigned long,
 * -EINVAL for misaligned arguments, -EOPNOTSUPP if the domain cannot
 * track, -EFAULT for a bad user array, or the driver's error.
 */
int iopt_read_dirty(struct io_pagetable *iopt, struct iommu_domain *domain,
		    u64 iova, u64 length, u64 page_size, u64 __user *data,
		    unsigned long flags)
{
	struct iopt_dirty_read rd = {
		.iopt = iopt,
		.domain = domain,
		.flags = flags,
	};
	unsigned long align;
	u64 last;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last) || last > ULONG_MAX)
		return -EOVERFLOW;
	down_read(&iopt->iova_rwsem);
	align = iopt->iova_alignment;
	up_read(&iopt->iova_rwsem);
	if (!IS_ALIGNED(iova, align) || !IS_ALIGNED(length, align))
		return -EINVAL;
	if (!page_size || !is_power_of_2(page_size) || page_size > ULONG_MAX ||
	    !IS_ALIGNED(iova, page_size) || !IS_ALIGNED(length, page_size))
		return -EINVAL;
	if (!domain->dirty_ops)
		return -EOPNOTSUPP;

	rd.bitmap = iova_bitmap_alloc(iova, length, page_size, data);
	if (IS_ERR(rd.bitmap))
		return PTR_ERR(rd.bitmap);
	rc = iova_bitmap_for_each(rd.bitmap, &rd, iopt_dirty_window);
	iova_bitmap_free(rd.bitmap);
	return rc;
}
