// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memory side of the pinned-page engine: struct iopt_pages.
 *
 * Model
 * -----
 * An iopt_pages stands for a run of npages pages of memory, either user
 * memory starting at a page-aligned address (IOAS_MAP) or memfd pages
 * starting at a page-aligned offset (IOAS_MAP_FILE). Pages are named by
 * their index, 0 to npages - 1. One iopt_pages is created per mapping
 * request and shared by every area that maps some of it: IOAS_COPY makes a
 * new area on the same iopt_pages, in the same or another IOAS.
 *
 * Nothing is pinned when an iopt_pages is created. A page is pinned while,
 * and only while, something holds it. There are two kinds of holder:
 *
 *  - areas in domains_itree: an area whose IOAS has at least one
 *    iommu_domain has all its pages mapped into those domains;
 *  - ranges in access_itree: in-kernel access users that pinned pages
 *    through iommufd_access_pin_pages().
 *
 * A held page is pinned exactly once, however many holders it has, and
 * charged to RLIMIT_MEMLOCK exactly once. Its PFN is stored in one of two
 * tiers:
 *
 *  1. pinned_pfns, an xarray, for every index covered by access_itree;
 *  2. otherwise the storage_domain of any area in domains_itree covering
 *     the index: the PFN is read back with iommu_iova_to_phys(). Keeping no
 *     copy of our own is what makes a pinned GiB cost only its page tables.
 *
 * Finding PFNs
 * ------------
 * Every operation that needs PFNs for a range of indexes (filling a
 * domain, pinning for an access, reading for iommufd_access_rw()) walks
 * the range in spans with pfn_reader: a span covered by access_itree is
 * read from the xarray, one covered only by domains_itree from a domain,
 * and one covered by nothing is pinned from the source memory there and
 * then. PFNs are collected into a pfn_batch, a bounded array of physically
 * contiguous runs, which is then handed to the consumer: mapped into
 * domains with the largest runs possible, stored into the xarray, or
 * copied through.
 *
 * Unpinning is the mirror image: after a holder is removed from its tree,
 * the indexes of its range that no remaining holder covers are unpinned,
 * with PFNs read from the tier the holder used, after any domain mapping of
 * them is gone.
 *
 * Locking
 * -------
 * pages->mutex protects npinned, last_npinned, pinned_pfns, both trees,
 * and the storage_domain, flat_chunks and num_accesses of areas using
 * these pages. It nests inside the IOAS locks (io_pagetable.c) and may be
 * taken for several IOASes at once only one pages at a time. The source
 * mm's mmap_lock nests inside it.
 *
 * Conventions: "index" is a page index into an iopt_pages, "last" is
 * inclusive and "end" exclusive. Sizes in pages are unsigned long; page
 * counts are bounded by the mapping length, which was checked for overflow
 * when the pages were created.
 */
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "iommufd_private.h"
#include "io_pagetable.h"

/* A physically contiguous run of pages. */
struct pfn_run {
	unsigned long pfn;
	unsigned long npfns;
};

/*
 * The largest temporary buffer one operation allocates. Bigger buffers mean
 * fewer IOTLB flushes when unmapping; the selftest can shrink this to force
 * every buffer boundary to be crossed.
 */
#define IOPT_TEMP_MAX (1024 * 1024)

#ifdef CONFIG_IOMMUFD_TEST
size_t iommufd_test_memory_limit = IOPT_TEMP_MAX;
#define TEMP_LIMIT() min_t(size_t, iommufd_test_memory_limit, IOPT_TEMP_MAX)
#else
#define TEMP_LIMIT() ((size_t)IOPT_TEMP_MAX)
#endif

/*
 * Allocate a temporary buffer of up to *size bytes, at least @min, and
 * return the size obtained in *size. These buffers live for one operation,
 * so they come from kmalloc alone: physically contiguous memory needs no
 * kernel mapping set up and torn down again, as vmalloc would. A big size
 * is only taken if the allocator has it at hand: with memory fragmented,
 * reclaim or compaction for it would cost more than a smaller buffer does,
 * so the request is halved instead, and only @min may wait for reclaim.
 */
static void *temp_alloc(size_t *size, size_t min)
{
	const gfp_t opportunistic = (GFP_KERNEL | __GFP_NOWARN) &
				    ~__GFP_DIRECT_RECLAIM;
	size_t want = clamp(*size, min, max(TEMP_LIMIT(), min));
	void *buf;

	for (; want > min; want = max(want / 2, min)) {
		buf = kmalloc(want, opportunistic);
		if (buf)
			goto out;
	}
	buf = kmalloc(min, GFP_KERNEL);
out:
	*size = want;
	return buf;
}

/* ---------------------------------------------------------------------
 * Accounting: one charge per pinned page, against RLIMIT_MEMLOCK.
 */

static int account_user(struct iopt_pages *pages, unsigned long npages)
{
	unsigned long limit, cur, new;

	limit = task_rlimit(pages->source_task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cur = atomic_long_read(&pages->source_user->locked_vm);
	do {
		new = cur + npages;
		if (new < cur || (!pages->unlimited && new > limit))
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&pages->source_user->locked_vm, &cur,
					  new));
	return 0;
}

static int account_mm(struct iopt_pages *pages, unsigned long npages,
		      bool inc)
{
	int rc;

	mmap_write_lock(pages->source_mm);
	rc = __account_locked_vm(pages->source_mm, npages, inc,
				 pages->source_task, pages->unlimited);
	mmap_write_unlock(pages->source_mm);
	return rc;
}

/*
 * Bring the charge in line with npinned. Charging may fail with -ENOMEM;
 * uncharging cannot fail.
 */
static int pages_update_charge(struct iopt_pages *pages)
{
	unsigned long delta;
	int rc = 0;

	lockdep_assert_held(&pages->mutex);

	if (pages->npinned == pages->last_npinned)
		return 0;

	if (pages->npinned > pages->last_npinned) {
		delta = pages->npinned - pages->last_npinned;
		if (pages->account_mode == IOPT_PAGES_ACCOUNT_USER)
			rc = account_user(pages, delta);
		else if (pages->account_mode == IOPT_PAGES_ACCOUNT_MM)
			rc = account_mm(pages, delta, true);
		if (rc)
			return rc;
		atomic64_add(delta, &pages->source_mm->pinned_vm);
	} else {
		delta = pages->last_npinned - pages->npinned;
		if (pages->account_mode == IOPT_PAGES_ACCOUNT_USER)
			atomic_long_sub(delta, &pages->source_user->locked_vm);
		else if (pages->account_mode == IOPT_PAGES_ACCOUNT_MM)
			account_mm(pages, delta, false);
		atomic64_sub(delta, &pages->source_mm->pinned_vm);
	}
	pages->last_npinned = pages->npinned;
	return 0;
}

/* ---------------------------------------------------------------------
 * pfn_batch: a bounded list of physically contiguous runs.
 */
struct pfn_batch {
	struct pfn_run *runs;
	unsigned int capacity;
	unsigned int nruns;
	unsigned long npfns;
	struct pfn_run spare;	/* the only run when no memory was had */
};

/*
 * Prepare a batch for up to @max_pfns PFNs. Never fails: without memory the
 * batch holds a single run, which is slow but lets teardown always finish.
 * Callers that may fail use batch_init().
 */
static void batch_init_always(struct pfn_batch *batch, unsigned long max_pfns)
{
	size_t size = max_pfns * sizeof(*batch->runs);

	batch->runs = temp_alloc(&size, sizeof(*batch->runs));
	if (batch->runs) {
		batch->capacity = size / sizeof(*batch->runs);
	} else {
		batch->runs = &batch->spare;
		batch->capacity = 1;
	}
	batch->nruns = 0;
	batch->npfns = 0;
}

static int batch_init(struct pfn_batch *batch, unsigned long max_pfns)
{
	batch_init_always(batch, max_pfns);
	if (batch->runs != &batch->spare)
		return 0;
	return -ENOMEM;
}

static void batch_destroy(struct pfn_batch *batch)
{
	if (batch->runs != &batch->spare)
		kfree(batch->runs);
}

static void batch_clear(struct pfn_batch *batch)
{
	batch->nruns = 0;
	batch->npfns = 0;
}

static bool batch_full(struct pfn_batch *batch)
{
	return batch->nruns == batch->capacity;
}

/*
 * Append the @n consecutive PFNs starting at @pfn; false, with nothing
 * added, when they need a new run and there is no room. Called once per
 * page when pinning or reading back small pages, so it is inlined: as a
 * call it made mapping a GiB of them about 8% slower (perf kernel, -Os).
 */
static __always_inline bool batch_add_pfns(struct pfn_batch *batch,
					   unsigned long pfn, unsigned long n)
{
	struct pfn_run *run;

	if (batch->nruns) {
		run = &batch->runs[batch->nruns - 1];
		if (run->pfn + run->npfns == pfn) {
			run->npfns += n;
			batch->npfns += n;
			return true;
		}
	}
	if (batch_full(batch))
		return false;
	run = &batch->runs[batch->nruns++];
	run->pfn = pfn;
	run->npfns = n;
	batch->npfns += n;
	return true;
}

static __always_inline bool batch_add_pfn(struct pfn_batch *batch,
					  unsigned long pfn)
{
	return batch_add_pfns(batch, pfn, 1);
}

/* Unpin the PFNs at positions [skip, skip + count) of the batch. */
static void batch_unpin_part(struct pfn_batch *batch, unsigned long skip,
			     unsigned long count, bool dirty)
{
	unsigned long pos = 0;
	unsigned int i;

	for (i = 0; i != batch->nruns && count; i++) {
		unsigned long n = batch->runs[i].npfns;
		unsigned long from, len;
		struct page *page;

		if (pos + n <= skip) {
			pos += n;
			continue;
		}
		from = skip - pos;
		len = min(n - from, count);
		page = pfn_to_page(batch->runs[i].pfn + from);
		unpin_user_page_range_dirty_lock(page, len, dirty);
		skip += len;
		count -= len;
		pos += n;
	}
}

/* ---------------------------------------------------------------------
 * Holders: who covers which indexes.
 */

/* The first span of @root from @index: used or not, ending at *span_last. */
static bool itree_span_at(struct rb_root_cached *root, unsigned long index,
			  unsigned long last, unsigned long *span_last)
{
	struct interval_tree_span_iter it;

	interval_tree_span_iter_first(&it, root, index, last);
	if (!it.is_hole) {
		*span_last = min(it.last_used, last);
		return true;
	}
	*span_last = min(it.last_hole, last);
	return false;
}

/*
 * Whether @index is held by an access or a filled area, and the last index
 * (<= @last) up to which that answer stays the same.
 */
static bool pages_index_held(struct iopt_pages *pages, unsigned long index,
			     unsigned long last, unsigned long *run_last)
{
	unsigned long a_last, d_last;
	bool a_used, d_used;

	a_used = itree_span_at(&pages->access_itree, index, last, &a_last);
	d_used = itree_span_at(&pages->domains_itree, index, last, &d_last);
	if (a_used || d_used) {
		*run_last = max(a_used ? a_last : 0, d_used ? d_last : 0);
		return true;
	}
	*run_last = min(a_last, d_last);
	return false;
}

/* A filled area of @pages covering @index, or NULL. */
static struct iopt_area *pages_domain_area(struct iopt_pages *pages,
					   unsigned long index)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_first(&pages->domains_itree, index, index);
	if (!node)
		return NULL;
	return container_of(node, struct iopt_area, pages_node);
}

/*
 * Unpin, among the batch's PFNs for indexes [batch_index, ...), those no
 * holder covers. Used to give back pins once the holder that needed them is
 * gone, or was never added.
 */
static void batch_unpin_unheld(struct pfn_batch *batch,
			       struct iopt_pages *pages,
			       unsigned long batch_index)
{
	unsigned long index = batch_index;
	unsigned long last = batch_index + batch->npfns - 1;

	if (!batch->npfns)
		return;
	while (index <= last) {
		unsigned long run_last;

		if (!pages_index_held(pages, index, last, &run_last)) {
			batch_unpin_part(batch, index - batch_index,
					 run_last - index + 1, pages->writable);
			pages->npinned -= run_last - index + 1;
		}
		index = run_last + 1;
	}
}

/* ---------------------------------------------------------------------
 * Pinning from the source memory.
 */

/*
 * Pages pinned per GUP call. The fast GUP walk runs with interrupts off, so
 * a chunk is kept short; it only needs to be long enough for the call's
 * fixed cost not to matter.
 */
#define PIN_CHUNK 4096UL

/* State for pinning: page pointer buffer and the mm pinned from. */
struct pin_state {
	struct page **upages;
	unsigned long upages_len;
	unsigned long want;		/* pages the reader may need */
	struct mm_struct *remote_mm;	/* mmget'd when not current->mm */
	struct folio **folios;		/* IOPT_ADDRESS_FILE */
	bool tried_failing;		/* fault injection had its chance */
};

static void pin_state_destroy(struct pin_state *ps)
{
	if (ps->remote_mm)
		mmput(ps->remote_mm);
	kfree(ps->folios);
	kfree(ps->upages);
}

/* Pin user pages [index, index + npages) into @dst; may pin fewer. */
static long pin_user(struct iopt_pages *pages, struct pin_state *ps,
		     unsigned long index, unsigned long npages,
		     struct page **dst)
{
	unsigned long addr = (unsigned long)pages->uptr + index * PAGE_SIZE;
	unsigned int gup_flags = FOLL_LONGTERM;
	int locked = 1;
	long rc;

	if (pages->writable)
		gup_flags |= FOLL_WRITE;
	npages = min_t(unsigned long, npages, INT_MAX);

	if (current->mm == pages->source_mm)
		return pin_user_pages_fast(addr, npages, gup_flags, dst);

	/* Pinning for a process other than the caller (after fork, say). */
	if (!ps->remote_mm) {
		if (!mmget_not_zero(pages->source_mm))
			return -EFAULT;
		ps->remote_mm = pages->source_mm;
	}
	mmap_read_lock(ps->remote_mm);
	rc = pin_user_pages_remote(ps->remote_mm, addr, npages, gup_flags, dst,
				   &locked);
	if (locked)
		mmap_read_unlock(ps->remote_mm);
	return rc;
}

/* Pin file pages [index, index + npages) into @dst; may pin fewer. */
static long pin_file(struct iopt_pages *pages, struct pin_state *ps,
		     unsigned long index, unsigned long npages,
		     struct page **dst)
{
	loff_t start = pages->start + (loff_t)index * PAGE_SIZE;
	unsigned long got = 0;
	pgoff_t offset;
	long nfolios, i;

	npages = min_t(unsigned long, npages, 512);
	if (!ps->folios) {
		ps->folios = kmalloc_array(512, sizeof(*ps->folios), GFP_KERNEL);
		if (!ps->folios)
			return -ENOMEM;
	}
	nfolios = memfd_pin_folios(pages->file, start,
				   start + (loff_t)npages * PAGE_SIZE - 1,
				   ps->folios, npages, &offset);
	if (nfolios <= 0)
		return nfolios ? nfolios : -EFAULT;
	/* The offset into the first folio comes in bytes. */
	offset /= PAGE_SIZE;

	/*
	 * memfd_pin_folios() pins each folio once; pins are counted per page
	 * here, so a folio gets one more pin for each further page used.
	 */
	for (i = 0; i != nfolios && got != npages; i++) {
		struct folio *folio = ps->folios[i];
		unsigned long n = min_t(unsigned long,
					folio_nr_pages(folio) - offset,
					npages - got);
		unsigned long j;

		if (n > 1 && folio_add_pins(folio, n - 1))
			break;
		for (j = 0; j != n; j++)
			dst[got + j] = folio_page(folio, offset + j);
		got += n;
		offset = 0;
	}
	if (i != nfolios)
		unpin_folios(ps->folios + i, nfolios - i);
	return got ? got : -ENOMEM;
}

static long pin_some(struct iopt_pages *pages, struct pin_state *ps,
		     unsigned long index, unsigned long npages,
		     struct page **dst)
{
	/* Once per pinning pass is enough to walk the failure paths. */
	if (!ps->tried_failing) {
		ps->tried_failing = true;
		if (iommufd_should_fail())
			return -EFAULT;
	}
	if (pages->type == IOPT_ADDRESS_FILE)
		return pin_file(pages, ps, index, npages, dst);
	return pin_user(pages, ps, index, npages, dst);
}

/*
 * Pin up to @npages pages from @index on and append their PFNs to @batch.
 * Returns how many were pinned and added, or an errno if none were.
 */
static long pages_pin_into(struct iopt_pages *pages, struct pin_state *ps,
			   struct pfn_batch *batch, unsigned long index,
			   unsigned long npages)
{
	long got, i;

	if (!ps->upages) {
		size_t size = min(ps->want, PIN_CHUNK) * sizeof(*ps->upages);

		ps->upages = temp_alloc(&size, sizeof(*ps->upages));
		if (!ps->upages)
			return -ENOMEM;
		ps->upages_len = size / sizeof(*ps->upages);
	}
	/*
	 * Each page may start a new run: pin no more than the batch has room
	 * for, or the excess would be unpinned here and pinned again next.
	 */
	npages = min3(npages, ps->upages_len,
		      (unsigned long)(batch->capacity - batch->nruns));

	got = pin_some(pages, ps, index, npages, ps->upages);
	if (got <= 0)
		return got ? got : -EFAULT;

	for (i = 0; i != got; i++) {
		if (!batch_add_pfn(batch, page_to_pfn(ps->upages[i]))) {
			/* Out of runs: give back what does not fit. */
			unpin_user_pages(ps->upages + i, got - i);
			got = i;
			break;
		}
	}
	pages->npinned += got;
	return got;
}

/* ---------------------------------------------------------------------
 * Where an area's pages sit in IOVA.
 */

/*
 * The IOVA range [*iova, *last] that pages [index, index + n) of @area map
 * to, clipped to the area, and how far into the first page it starts.
 * Offsets are taken from the area's start so nothing wraps.
 */
static void area_pages_iova(struct iopt_area *area, unsigned long index,
			    unsigned long n, unsigned long *iova,
			    unsigned long *last, unsigned int *skip)
{
	unsigned long rel = index - iopt_area_index(area);
	unsigned long end_off;

	*skip = rel ? 0 : area->page_offset;
	*iova = iopt_area_iova(area) +
		(rel ? rel * PAGE_SIZE - area->page_offset : 0);
	end_off = min((rel + n) * PAGE_SIZE - area->page_offset,
		      iopt_area_length(area));
	*last = iopt_area_iova(area) + end_off - 1;
}

/*
 * Flat chunks. Reading PFNs back from a domain costs one page-table walk
 * per page, which dominates unmapping memory backed by huge pages: the
 * domain maps a 2 MiB page with one entry, but the walk is repeated for
 * each of its 512 small pages. iommu_iova_to_phys() cannot say how large
 * the entry it found is, so the area remembers it instead: its pages are
 * cut into chunks along IOPT_FLAT_CHUNK-aligned blocks of IOVA (see
 * area_chunk_lead()), and area->flat_chunks has a bit set for every chunk
 * that was pinned as one physically contiguous run. Such a chunk is read
 * back with one lookup.
 *
 * The bitmap describes the PFNs, not a domain, so it holds for every
 * domain of the table and survives a change of storage domain. It is only
 * allocated once a flat chunk is seen, so scattered memory costs nothing,
 * and it is only a hint: without memory for it every page is looked up.
 * It is written while the area is filled and freed when the area's last
 * domain lets go of it, all under pages->mutex.
 */
#define IOPT_FLAT_CHUNK (SZ_2M / PAGE_SIZE)

/*
 * Chunks follow the IOVA: a chunk is the part of the area inside one
 * IOPT_FLAT_CHUNK-aligned block of IOVA pages, where a domain can put one
 * large page. This is how many pages of the first block lie before the
 * area's first page.
 */
static unsigned long area_chunk_lead(struct iopt_area *area)
{
	return PHYS_PFN(iopt_area_iova(area) - area->page_offset) %
	       IOPT_FLAT_CHUNK;
}

/* Record the chunks that pages [index, index + n), one run, cover. */
static void area_note_run(struct iopt_area *area, unsigned long index,
			  unsigned long n)
{
	unsigned long first = iopt_area_index(area);
	unsigned long area_last = iopt_area_last_index(area);
	unsigned long lead = area_chunk_lead(area);
	unsigned long last = index + n - 1;
	/* The first chunk starting at or after @index. */
	unsigned long c = index == first ? 0 :
		DIV_ROUND_UP(index - first + lead, IOPT_FLAT_CHUNK);

	for (;; c++) {
		unsigned long start = c ? first + c * IOPT_FLAT_CHUNK - lead :
					  first;
		unsigned long chunk_last =
			min(first + (c + 1) * IOPT_FLAT_CHUNK - lead - 1,
			    area_last);

		/* The whole chunk must lie within the run. */
		if (start > last || chunk_last > last)
			return;
		if (!area->flat_chunks) {
			area->flat_chunks =
				bitmap_zalloc((area_last - first + lead) /
					      IOPT_FLAT_CHUNK + 1,
					      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
			if (!area->flat_chunks)
				return;
		}
		__set_bit(c, area->flat_chunks);
	}
}

/*
 * Record the chunks the runs of @batch, whose first PFN is page @index,
 * cover. Only the area's first and last chunks can be shorter than
 * IOPT_FLAT_CHUNK, so only runs at the area's ends and runs at least that
 * long are looked at. A run of n pages adds n - 1 to npfns - nruns, so a
 * batch of scattered small pages is passed over after one compare.
 */
static void area_note_flat(struct iopt_area *area, struct pfn_batch *batch,
			   unsigned long index)
{
	unsigned long end = index + batch->npfns;
	struct pfn_run *tail;
	unsigned int i;

	if (!batch->nruns)
		return;
	if (batch->npfns - batch->nruns < IOPT_FLAT_CHUNK - 1) {
		tail = &batch->runs[batch->nruns - 1];
		if (index == iopt_area_index(area))
			area_note_run(area, index, batch->runs[0].npfns);
		if (end - 1 == iopt_area_last_index(area))
			area_note_run(area, end - tail->npfns, tail->npfns);
		return;
	}
	for (i = 0; i != batch->nruns; index += batch->runs[i++].npfns) {
		unsigned long n = batch->runs[i].npfns;

		if (n >= IOPT_FLAT_CHUNK || index == iopt_area_index(area) ||
		    index + n - 1 == iopt_area_last_index(area))
			area_note_run(area, index, n);
	}
}

static void area_forget_flat(struct iopt_area *area)
{
	bitmap_free(area->flat_chunks);
	area->flat_chunks = NULL;
}

/*
 * How many pages from @index to at most @last are known to have
 * consecutive PFNs: the rest of a flat chunk, or 1.
 */
static unsigned long area_flat_pages(struct iopt_area *area,
				     unsigned long index, unsigned long last)
{
	unsigned long rel = index - iopt_area_index(area) +
			    area_chunk_lead(area);
	unsigned long chunk_last;

	if (!area->flat_chunks ||
	    !test_bit(rel / IOPT_FLAT_CHUNK, area->flat_chunks))
		return 1;
	chunk_last = index + (IOPT_FLAT_CHUNK - 1 - rel % IOPT_FLAT_CHUNK);
	return min(chunk_last, last) - index + 1;
}

/*
 * Reading the PFNs of an area back from a domain that maps it, in order.
 * Only the area's first page may start part way into its page (by
 * page_offset); each later one is mapped a whole page after the last.
 */
struct domain_reader {
	struct iommu_domain *domain;
	unsigned long iova;	/* where the next page is mapped */
	unsigned int skip;	/* bytes of that page before the mapping */
};

static void domain_reader_init(struct domain_reader *r,
			       struct iopt_area *area,
			       struct iommu_domain *domain, unsigned long index)
{
	unsigned long unused;

	r->domain = domain;
	area_pages_iova(area, index, 1, &r->iova, &unused, &r->skip);
}

/*
 * The PFN of the next page; the reader then moves @n pages on. Inlined for
 * the same reason as batch_add_pfns(): it runs once per small page.
 */
static __always_inline unsigned long
domain_reader_next(struct domain_reader *r, unsigned long n)
{
	phys_addr_t phys = iommu_iova_to_phys(r->domain, r->iova) - r->skip;

	r->iova += n * PAGE_SIZE - r->skip;
	r->skip = 0;
	return PHYS_PFN(phys);
}

/* Read the PFNs of pages [index, last] of @area from @domain. */
static unsigned long batch_read_domain(struct pfn_batch *batch,
				       struct iopt_area *area,
				       struct iommu_domain *domain,
				       unsigned long index, unsigned long last)
{
	struct domain_reader r;
	unsigned long done = 0;

	domain_reader_init(&r, area, domain, index);
	if (!area->flat_chunks) {
		/* Nothing known to be contiguous: page by page. */
		for (; index + done <= last; done++)
			if (!batch_add_pfn(batch, domain_reader_next(&r, 1)))
				break;
		return done;
	}
	while (index + done <= last) {
		unsigned long n = area_flat_pages(area, index + done, last);

		if (!batch_add_pfns(batch, domain_reader_next(&r, n), n))
			break;
		done += n;
	}
	return done;
}

static unsigned long batch_read_xarray(struct pfn_batch *batch,
				       struct xarray *xa, unsigned long index,
				       unsigned long last)
{
	XA_STATE(xas, xa, index);
	unsigned long done = 0;
	void *entry;

	rcu_read_lock();
	xas_for_each(&xas, entry, last) {
		if (xas_retry(&xas, entry))
			continue;
		if (WARN_ON(!xa_is_value(entry) || xas.xa_index != index + done))
			break;
		if (!batch_add_pfn(batch, xa_to_value(entry)))
			break;
		done++;
	}
	rcu_read_unlock();
	return done;
}

/* ---------------------------------------------------------------------
 * pfn_reader: PFNs for a range of indexes, from whichever tier has them.
 */
struct pfn_reader {
	struct iopt_pages *pages;
	struct pfn_batch batch;
	struct pin_state pin;
	unsigned long batch_index;	/* index of the batch's first PFN */
	unsigned long next_index;	/* first index not read yet */
	unsigned long last_index;
};

static int pfn_reader_init(struct pfn_reader *r, struct iopt_pages *pages,
			   unsigned long start_index, unsigned long last_index)
{
	lockdep_assert_held(&pages->mutex);

	memset(r, 0, sizeof(*r));
	r->pages = pages;
	r->batch_index = start_index;
	r->next_index = start_index;
	r->last_index = last_index;
	r->pin.want = last_index - start_index + 1;
	return batch_init(&r->batch, last_index - start_index + 1);
}

static void pfn_reader_destroy(struct pfn_reader *r)
{
	pin_state_destroy(&r->pin);
	batch_destroy(&r->batch);
}

static bool pfn_reader_done(struct pfn_reader *r)
{
	return r->next_index > r->last_index;
}

/*
 * Refill the batch with the PFNs of the next indexes, until it is full or
 * the range is done. Pages nobody holds are pinned here. On failure the
 * batch holds what was read before it.
 */
static int pfn_reader_fill(struct pfn_reader *r)
{
	struct iopt_pages *pages = r->pages;
	unsigned long index = r->next_index;
	int rc = 0;

	batch_clear(&r->batch);
	r->batch_index = index;
	while (index <= r->last_index && !batch_full(&r->batch)) {
		struct iopt_area *area;
		unsigned long span_last;
		long got;

		if (itree_span_at(&pages->access_itree, index, r->last_index,
				  &span_last)) {
			got = batch_read_xarray(&r->batch, &pages->pinned_pfns,
						index, span_last);
			goto next;
		}
		area = pages_domain_area(pages, index);
		if (area) {
			span_last = min(span_last, iopt_area_last_index(area));
			got = batch_read_domain(&r->batch, area,
						area->storage_domain, index,
						span_last);
		} else {
			itree_span_at(&pages->domains_itree, index, span_last,
				      &span_last);
			got = pages_pin_into(pages, &r->pin, &r->batch, index,
					     span_last - index + 1);
			if (got < 0) {
				rc = got;
				break;
			}
		}
next:
		if (!got)
			break;
		index += got;
	}
	r->next_index = index;
	return rc;
}

/* ---------------------------------------------------------------------
 * Domains.
 */

/*
 * Most entries one scatterlist handed to iommu_map_sg() holds. The driver's
 * IOTLB is synced once per call rather than once per run, and drivers that
 * must flush after every map (AMD-Vi and VT-d in a VM) spent most of their
 * time mapping scattered small pages on those flushes. 2048 entries bring
 * that down to one flush per 8 MiB of the most scattered memory, for under
 * 100 KiB of scatterlist.
 */
#define IOPT_SG_MAX 2048U

/* The largest length one entry takes: sg->length is an unsigned int. */
#define IOPT_SG_LEN_MAX ((unsigned long)SZ_1G)

/*
 * Where batch_map() sends the pieces of a batch, which come in rising,
 * gap-free IOVA order: into @sgl, mapped with iommu_map_sg() whenever it
 * fills and at the end, or, without @sgl, straight to iommu_map() one by
 * one. Everything below @done is mapped, nothing at or above it. Lives on
 * batch_map()'s stack; @sgl is lent by the caller (see struct sg_stash).
 */
struct map_sink {
	struct iommu_domain *domain;
	int prot;
	struct scatterlist *sgl;
	unsigned int n, cap;
	unsigned long done;
};

/*
 * The scatterlist that batch_map() gathers into, owned by the fill that
 * maps batch after batch: allocated on the first batch that needs one (none
 * if no domain syncs after mapping), kept for the next batches and freed
 * with sg_stash_free() when the fill ends. One allocation per fill, where
 * one per batch and domain made small batches cost an allocation each.
 */
struct sg_stash {
	struct scatterlist *sgl;
	unsigned int cap;
};

static void sg_stash_free(struct sg_stash *stash)
{
	kfree(stash->sgl);
	stash->sgl = NULL;
}

/* Map what @sink has gathered. iommu_map_sg() undoes its own failures. */
static int sink_flush(struct map_sink *sink)
{
	ssize_t mapped;

	if (!sink->n)
		return 0;
	mapped = iommu_map_sg(sink->domain, sink->done, sink->sgl, sink->n,
			      sink->prot, GFP_KERNEL_ACCOUNT);
	sink->n = 0;
	if (mapped < 0)
		return (int)mapped;
	sink->done += mapped;
	return 0;
}

/* The piece [iova, iova + len) at @phys, which starts at sink->done. */
static int sink_add(struct map_sink *sink, unsigned long iova,
		    phys_addr_t phys, unsigned long len)
{
	int rc;

	if (!sink->sgl) {
		rc = iommu_map(sink->domain, iova, phys, len, sink->prot,
			       GFP_KERNEL_ACCOUNT);
		if (!rc)
			sink->done = iova + len;
		return rc;
	}
	if (sink->n == sink->cap) {
		rc = sink_flush(sink);
		if (rc)
			return rc;
	}
	sg_set_page(&sink->sgl[sink->n++], pfn_to_page(PHYS_PFN(phys)), len,
		    offset_in_page(phys));
	return 0;
}

/*
 * Map the batch, whose first PFN is page @index of @area's pages, into
 * @domain at the matching IOVAs, clipped to the area. On failure nothing of
 * the batch stays mapped.
 *
 * With @page_by_page (iopt->disable_large_pages: any single page must be
 * unmappable later) every page gets an iommu_map() of its own, so that no
 * driver joins pages into a larger entry. Otherwise, where the driver syncs
 * after mapping, the runs go through iommu_map_sg(), which maps each
 * physically contiguous entry with the largest pages it can, as
 * iommu_map() does, and syncs once per call. A driver without that sync
 * (SMMUv3) gains nothing from the list, and gets one iommu_map() per run.
 * The list comes from @stash, which is sized for @batch's capacity the
 * first time it is needed.
 */
static int batch_map(struct pfn_batch *batch, struct iopt_area *area,
		     struct iommu_domain *domain, unsigned long index,
		     bool page_by_page, struct sg_stash *stash)
{
	struct map_sink sink = { .domain = domain, .prot = area->iommu_prot };
	unsigned long area_last = iopt_area_last_iova(area);
	unsigned long first_iova, iova, last, left, len;
	unsigned int i, skip;
	phys_addr_t phys;
	int rc;

	if (!batch->nruns)
		return 0;
	if (!page_by_page && domain->ops->iotlb_sync_map) {
		if (!stash->sgl) {
			size_t size = min(batch->capacity, IOPT_SG_MAX) *
				      sizeof(*stash->sgl);

			stash->sgl = temp_alloc(&size, sizeof(*stash->sgl));
			if (!stash->sgl)
				return -ENOMEM;
			stash->cap = size / sizeof(*stash->sgl);
			sg_init_table(stash->sgl, stash->cap);
		}
		sink.sgl = stash->sgl;
		sink.cap = stash->cap;
	}

	area_pages_iova(area, index, batch->runs[0].npfns, &first_iova, &last,
			&skip);
	iova = first_iova;
	sink.done = first_iova;
	for (i = 0; i != batch->nruns; i++) {
		phys = PFN_PHYS(batch->runs[i].pfn);
		if (!i) {
			phys += skip;
		} else {
			/* Later runs start on a page boundary. */
			iova = last + 1;
			last = min(iova + batch->runs[i].npfns * PAGE_SIZE - 1,
				   area_last);
		}
		for (left = last - iova + 1; left; left -= len) {
			len = page_by_page ? PAGE_SIZE - offset_in_page(iova) :
					     IOPT_SG_LEN_MAX;
			len = min(len, left);
			rc = sink_add(&sink, iova, phys, len);
			if (rc)
				goto err_unmap;
			iova += len;
			phys += len;
		}
	}
	rc = sink_flush(&sink);
	if (rc)
		goto err_unmap;
	return 0;

err_unmap:
	if (sink.done != first_iova)
		iommu_unmap(domain, first_iova, sink.done - first_iova);
	return rc;
}

/* Unmap pages [index, last] of @area from @domain. */
static void area_unmap_range(struct iopt_area *area,
			     struct iommu_domain *domain, unsigned long index,
			     unsigned long last)
{
	unsigned long iova, iova_last;
	unsigned int skip;
	size_t unmapped;

	area_pages_iova(area, index, last - index + 1, &iova, &iova_last,
			&skip);
	unmapped = iommu_unmap(domain, iova, iova_last - iova + 1);
	WARN_ON(unmapped != iova_last - iova + 1);
}

/**
 * iopt_area_unmap_domain() - unmap an area from one of several domains
 * @area: a filled area
 * @domain: one of its table's domains, not the area's storage domain
 *
 * The pages stay pinned: the storage domain still holds them.
 */
void iopt_area_unmap_domain(struct iopt_area *area, struct iommu_domain *domain)
{
	size_t unmapped;

	unmapped = iommu_unmap(domain, iopt_area_iova(area),
			       iopt_area_length(area));
	WARN_ON(unmapped != iopt_area_length(area));
}

/* Map one batch into every domain of the area's table, or into none. */
static int batch_map_all(struct pfn_batch *batch, struct iopt_area *area,
			 unsigned long index, struct sg_stash *stash)
{
	struct io_pagetable *iopt = area->iopt;
	struct iommu_domain *domain, *undo;
	unsigned long di, ui;
	int rc;

	xa_for_each(&iopt->domains, di, domain) {
		rc = batch_map(batch, area, domain, index,
			       iopt->disable_large_pages, stash);
		if (rc)
			goto err_unmap;
	}
	return 0;

err_unmap:
	xa_for_each(&iopt->domains, ui, undo) {
		if (ui == di)
			break;
		area_unmap_range(area, undo, index, index + batch->npfns - 1);
	}
	return rc;
}

static struct iommu_domain *iopt_first_domain(struct io_pagetable *iopt)
{
	unsigned long index = 0;

	return xa_find(&iopt->domains, &index, ULONG_MAX, XA_PRESENT);
}

/* Unmap pages [index, last] of @area from @storage, or from every domain. */
static void area_unmap_from(struct iopt_area *area,
			    struct iommu_domain *storage, bool all_domains,
			    unsigned long index, unsigned long last)
{
	struct iommu_domain *domain;
	unsigned long di;

	if (!all_domains) {
		area_unmap_range(area, storage, index, last);
		return;
	}
	xa_for_each(&area->iopt->domains, di, domain)
		area_unmap_range(area, domain, index, last);
}

/*
 * Undo filling pages [first, end) of @area: unmap them from @storage and,
 * if @all_domains, from every domain of the table, then unpin the pages no
 * other holder has, with PFNs read from @storage. The area is not in
 * domains_itree. Cannot fail.
 */
static void area_unfill_range(struct iopt_area *area, struct iopt_pages *pages,
			      struct iommu_domain *storage, bool all_domains,
			      unsigned long first, unsigned long end)
{
	unsigned long index, held_last;
	struct pfn_batch batch;

	if (first >= end)
		return;

	/*
	 * If another area or an access holds every page (the area was an
	 * IOAS_COPY of one still mapped), nothing will be unpinned, so no PFN
	 * needs reading back: unmapping is all. Only the whole range is
	 * treated so, since unmapping part of a run could cut a large IOMMU
	 * page, which some drivers then unmap whole.
	 */
	if (pages_index_held(pages, first, end - 1, &held_last) &&
	    held_last == end - 1) {
		area_unmap_from(area, storage, all_domains, first, end - 1);
		return;
	}

	batch_init_always(&batch, end - first);
	for (index = first; index < end;) {
		unsigned long got;

		batch_clear(&batch);
		got = batch_read_domain(&batch, area, storage, index, end - 1);
		area_unmap_from(area, storage, all_domains, index,
				index + got - 1);
		batch_unpin_unheld(&batch, pages, index);
		index += got;
	}
	batch_destroy(&batch);
	pages_update_charge(pages);
}

/*
 * Map the pages of @area, which are @pages, into @domain, or into every
 * domain of its table when @domain is NULL. The PFNs come from whatever holds them,
 * the rest are pinned and charged. On failure everything this call mapped
 * or pinned is undone, using @storage (the domain now holding the PFNs
 * read so far) to find them again.
 */
static int area_fill(struct iopt_area *area, struct iopt_pages *pages,
		     struct iommu_domain *domain, struct iommu_domain *storage)
{
	unsigned long first = iopt_area_index(area);
	struct sg_stash stash = {};
	struct pfn_reader r;
	int rc;

	rc = pfn_reader_init(&r, pages, first, iopt_area_last_index(area));
	if (rc)
		return rc;

	while (!pfn_reader_done(&r)) {
		rc = pfn_reader_fill(&r);
		if (!rc)
			rc = pages_update_charge(pages);
		if (!rc && domain)
			rc = batch_map(&r.batch, area, domain, r.batch_index,
				       area->iopt->disable_large_pages, &stash);
		else if (!rc)
			rc = batch_map_all(&r.batch, area, r.batch_index,
					   &stash);
		if (rc)
			goto err_undo;
		area_note_flat(area, &r.batch, r.batch_index);
	}
	sg_stash_free(&stash);
	pfn_reader_destroy(&r);
	return 0;

err_undo:
	sg_stash_free(&stash);
	/* The failed batch is mapped nowhere: unpin it directly. */
	batch_unpin_unheld(&r.batch, pages, r.batch_index);
	pfn_reader_destroy(&r);
	if (area->storage_domain) {
		/* Only @domain was being added; nothing was pinned. */
		if (r.batch_index != first)
			area_unmap_range(area, domain, first, r.batch_index - 1);
	} else {
		area_unfill_range(area, pages, storage, !domain, first,
				  r.batch_index);
		area_forget_flat(area);
	}
	pages_update_charge(pages);
	return rc;
}

/**
 * iopt_area_fill_domains() - pin an area's pages and map them everywhere
 * @area: a new area, not yet visible to unmap
 * @pages: its pages
 *
 * Maps the area into every domain of its table; a table without domains
 * needs nothing. Called with the table's domains_rwsem held.
 *
 * Return: 0, or an errno with nothing mapped and nothing left pinned.
 */
int iopt_area_fill_domains(struct iopt_area *area, struct iopt_pages *pages)
{
	struct iommu_domain *storage;
	int rc;

	lockdep_assert_held(&area->iopt->domains_rwsem);

	storage = iopt_first_domain(area->iopt);
	if (!storage)
		return 0;

	mutex_lock(&pages->mutex);
	rc = area_fill(area, pages, NULL, storage);
	if (!rc) {
		area->storage_domain = storage;
		interval_tree_insert(&area->pages_node, &pages->domains_itree);
	}
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_area_unfill_domains() - unmap an area everywhere and unpin its pages
 * @area: the area
 * @pages: its pages
 *
 * Pages still held by another area or by an access stay pinned. Nothing
 * happens if the area was never filled (its table has no domain).
 */
void iopt_area_unfill_domains(struct iopt_area *area, struct iopt_pages *pages)
{
	lockdep_assert_held(&area->iopt->domains_rwsem);

	mutex_lock(&pages->mutex);
	if (area->storage_domain) {
		interval_tree_remove(&area->pages_node, &pages->domains_itree);
		area_unfill_range(area, pages, area->storage_domain, true,
				  iopt_area_index(area),
				  iopt_area_last_index(area) + 1);
		area_forget_flat(area);
		area->storage_domain = NULL;
	}
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_area_fill_domain() - map an area into a domain joining its table
 * @area: an area of the table
 * @domain: the new domain, not yet in the table's domains
 *
 * If the area is already filled its PFNs are copied from its storage domain
 * and nothing is pinned. Otherwise @domain is the table's first domain: the
 * pages are pinned and @domain becomes the area's storage domain.
 *
 * Return: 0, or an errno with @domain and the pins as they were.
 */
int iopt_area_fill_domain(struct iopt_area *area, struct iommu_domain *domain)
{
	struct iopt_pages *pages = area->pages;
	int rc;

	lockdep_assert_held(&area->iopt->domains_rwsem);

	mutex_lock(&pages->mutex);
	rc = area_fill(area, pages, domain, domain);
	if (!rc && !area->storage_domain) {
		area->storage_domain = domain;
		interval_tree_insert(&area->pages_node, &pages->domains_itree);
	}
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_area_unfill_domain() - take an area out of its table's last domain
 * @area: a filled area whose table has no other domain
 * @pages: its pages
 * @domain: that last domain, the area's storage domain
 */
void iopt_area_unfill_domain(struct iopt_area *area, struct iopt_pages *pages,
			     struct iommu_domain *domain)
{
	mutex_lock(&pages->mutex);
	if (!WARN_ON(area->storage_domain != domain)) {
		interval_tree_remove(&area->pages_node, &pages->domains_itree);
		area_unfill_range(area, pages, domain, false,
				  iopt_area_index(area),
				  iopt_area_last_index(area) + 1);
		area_forget_flat(area);
		area->storage_domain = NULL;
	}
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_area_split_pages() - hand the pages past a cut to a new area
 * @area: an area in service; it keeps the pages up to @tail's first
 * @tail: the new area, right after @area's new end: its IOVA range, page
 *        index range and page_offset are set, it is in no tree yet
 * @last_index: @area's last page index after the cut
 *
 * The pages side of cutting a mapping in two (io_pagetable.c does the IOVA
 * side). Both areas then share @area's pages, @tail with a reference of
 * its own, and its storage domain; a filled area's place in domains_itree
 * is taken by both. Nothing is pinned, unpinned or remapped. The flat chunk
 * records are dropped, since the chunks no longer follow either area.
 *
 * Return: 0, or -EINVAL if accesses hold pins in @area: their ranges are
 * not tracked finely enough to be split.
 */
int iopt_area_split_pages(struct iopt_area *area, struct iopt_area *tail,
			  unsigned long last_index)
{
	struct iopt_pages *pages = area->pages;
	bool filled;

	mutex_lock(&pages->mutex);
	if (area->num_accesses) {
		mutex_unlock(&pages->mutex);
		return -EINVAL;
	}
	filled = area->storage_domain;
	if (filled)
		interval_tree_remove(&area->pages_node, &pages->domains_itree);
	area->pages_node.last = last_index;
	area_forget_flat(area);
	tail->storage_domain = area->storage_domain;
	if (filled) {
		interval_tree_insert(&area->pages_node, &pages->domains_itree);
		interval_tree_insert(&tail->pages_node, &pages->domains_itree);
	}
	kref_get(&pages->kref);
	tail->pages = pages;
	mutex_unlock(&pages->mutex);
	return 0;
}

/* ---------------------------------------------------------------------
 * Accesses.
 */

static struct iopt_pages_access *
pages_find_access(struct iopt_pages *pages, unsigned long start,
		  unsigned long last)
{
	struct interval_tree_node *node;

	for (node = interval_tree_iter_first(&pages->access_itree, start, last);
	     node; node = interval_tree_iter_next(node, start, last))
		if (node->start == start && node->last == last)
			return container_of(node, struct iopt_pages_access,
					    node);
	return NULL;
}

/* Store @pages as the PFNs of indexes [first, ...); on failure store none. */
static int pages_to_xarray(struct xarray *xa, unsigned long first,
			   struct page **pages, unsigned long n)
{
	XA_STATE(xas, xa, first);
	unsigned long i = 0;

	/* The node allocations below do fail; this covers the rest. */
	if (iommufd_should_fail())
		return -ENOMEM;

	do {
		xas_lock(&xas);
		for (; i != n; i++) {
			xas_store(&xas, xa_mk_value(page_to_pfn(pages[i])));
			if (xas_error(&xas))
				break;
			xas_next(&xas);
		}
		xas_unlock(&xas);
		/* Allocate outside the lock, then carry on from slot i. */
	} while (xas_nomem(&xas, GFP_KERNEL_ACCOUNT));

	if (xas_error(&xas)) {
		if (i)
			xa_store_range(xa, first, first + i - 1, NULL, GFP_KERNEL);
		return xas_error(&xas);
	}
	return 0;
}

static void xarray_to_pages(struct xarray *xa, unsigned long first,
			    unsigned long last, struct page **out)
{
	XA_STATE(xas, xa, first);
	void *entry;

	rcu_read_lock();
	xas_for_each(&xas, entry, last) {
		if (xas_retry(&xas, entry))
			continue;
		out[xas.xa_index - first] = pfn_to_page(xa_to_value(entry));
	}
	rcu_read_unlock();
}

static void domain_to_pages(struct iopt_area *area, unsigned long first,
			    unsigned long last, struct page **out)
{
	struct domain_reader r;
	unsigned long index = first;

	domain_reader_init(&r, area, area->storage_domain, first);
	while (index <= last) {
		unsigned long n = area_flat_pages(area, index, last);
		unsigned long pfn = domain_reader_next(&r, n);

		for (; n; n--)
			out[index++ - first] = pfn_to_page(pfn++);
	}
}

/* Pin all of [index, index + n) into @out, or nothing. */
static int pages_pin_array(struct iopt_pages *pages, struct pin_state *ps,
			   unsigned long index, unsigned long n,
			   struct page **out)
{
	unsigned long done = 0;
	long got;

	while (done != n) {
		got = pin_some(pages, ps, index + done, n - done, out + done);
		if (got <= 0) {
			unpin_user_pages(out, done);
			return got ? got : -EFAULT;
		}
		done += got;
	}
	pages->npinned += n;
	return 0;
}

/*
 * Unpin the PFNs the xarray records for [first, last], every one of which
 * must be present; the entries themselves stay. Runs are gathered under RCU
 * alone (pages->mutex keeps writers out) and released with nothing held
 * but the mutex, since unpinning may sleep.
 */
static void xarray_unpin_range(struct iopt_pages *pages, unsigned long first,
			       unsigned long last)
{
	unsigned long index = first;
	struct pfn_batch batch;

	/* Each time the batch fills, the walk starts again from the root. */
	batch_init_always(&batch, last - first + 1);
	while (index <= last) {
		XA_STATE(xas, &pages->pinned_pfns, index);
		void *entry;

		rcu_read_lock();
		for (entry = xas_load(&xas); index <= last;
		     entry = xas_next(&xas)) {
			if (WARN_ON_ONCE(!xa_is_value(entry))) {
				index++;
				continue;
			}
			if (!batch_add_pfn(&batch, xa_to_value(entry)))
				break;
			index++;
		}
		rcu_read_unlock();

		batch_unpin_part(&batch, 0, batch.npfns, pages->writable);
		pages->npinned -= batch.npfns;
		batch_clear(&batch);
	}
	batch_destroy(&batch);
}

/*
 * Erase indexes [first, last] from the xarray, unpinning their PFNs first
 * if @unpin. Erasing a range a node at a time, rather than an entry at a
 * time, frees whole leaves at once and never allocates.
 */
static void xarray_take_range(struct iopt_pages *pages, unsigned long first,
			      unsigned long last, bool unpin)
{
	if (unpin)
		xarray_unpin_range(pages, first, last);
	xa_store_range(&pages->pinned_pfns, first, last, NULL, GFP_KERNEL);
}

/*
 * For indexes in [first, last] that accesses no longer hold: erase them
 * from the xarray and unpin those no area holds either.
 */
static void pages_unfill_xarray(struct iopt_pages *pages, unsigned long first,
				unsigned long last)
{
	unsigned long index = first;

	while (index <= last) {
		unsigned long span_last, sub_last;
		bool held;

		if (itree_span_at(&pages->access_itree, index, last,
				  &span_last)) {
			index = span_last + 1;
			continue;
		}
		for (; index <= span_last; index = sub_last + 1) {
			held = itree_span_at(&pages->domains_itree, index,
					     span_last, &sub_last);
			xarray_take_range(pages, index, sub_last, !held);
		}
	}
}

/*
 * Put the pages of [first, last] into @out and record in the xarray those
 * accesses did not hold yet, pinning what nobody holds. On failure nothing
 * changed.
 */
static int pages_fill_xarray(struct iopt_pages *pages, unsigned long first,
			     unsigned long last, struct page **out)
{
	struct pin_state ps = {};
	unsigned long index = first;
	int rc = 0;

	while (index <= last) {
		struct page **cur = out + (index - first);
		unsigned long span_last, n;
		struct iopt_area *area;
		bool pinned = false;

		if (itree_span_at(&pages->access_itree, index, last,
				  &span_last)) {
			xarray_to_pages(&pages->pinned_pfns, index, span_last,
					cur);
			index = span_last + 1;
			continue;
		}
		area = pages_domain_area(pages, index);
		if (area) {
			span_last = min(span_last, iopt_area_last_index(area));
			domain_to_pages(area, index, span_last, cur);
		} else {
			itree_span_at(&pages->domains_itree, index, span_last,
				      &span_last);
			rc = pages_pin_array(pages, &ps, index,
					     span_last - index + 1, cur);
			if (rc)
				break;
			pinned = true;
			rc = pages_update_charge(pages);
		}
		n = span_last - index + 1;
		if (!rc)
			rc = pages_to_xarray(&pages->pinned_pfns, index, cur, n);
		if (rc) {
			if (pinned) {
				unpin_user_pages(cur, n);
				pages->npinned -= n;
			}
			break;
		}
		index = span_last + 1;
	}
	if (ps.remote_mm)
		mmput(ps.remote_mm);
	kfree(ps.folios);

	if (rc) {
		if (index != first)
			pages_unfill_xarray(pages, first, index - 1);
		pages_update_charge(pages);
	}
	return rc;
}

/**
 * iopt_area_add_access() - pin pages of an area for an access user
 * @area: the area
 * @start_index: first page index to pin
 * @last_index: last page index to pin
 * @out_pages: receives the struct page of every index
 * @flags: IOMMUFD_ACCESS_RW_WRITE to require writable memory
 *
 * Return: 0 or an errno; on failure nothing changed.
 */
int iopt_area_add_access(struct iopt_area *area, unsigned long start_index,
			 unsigned long last_index, struct page **out_pages,
			 unsigned int flags)
{
	struct iopt_pages *pages = area->pages;
	struct iopt_pages_access *acc;
	int rc = 0;

	if ((flags & IOMMUFD_ACCESS_RW_WRITE) && !pages->writable)
		return -EPERM;

	mutex_lock(&pages->mutex);
	if (area->prevent_access) {
		rc = -EINVAL;
		goto out_unlock;
	}

	acc = pages_find_access(pages, start_index, last_index);
	if (acc) {
		xarray_to_pages(&pages->pinned_pfns, start_index, last_index,
				out_pages);
		acc->users++;
		area->num_accesses++;
		goto out_unlock;
	}

	acc = kzalloc(sizeof(*acc), GFP_KERNEL_ACCOUNT);
	if (!acc) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	rc = pages_fill_xarray(pages, start_index, last_index, out_pages);
	if (rc) {
		kfree(acc);
		goto out_unlock;
	}
	acc->node.start = start_index;
	acc->node.last = last_index;
	acc->users = 1;
	interval_tree_insert(&acc->node, &pages->access_itree);
	area->num_accesses++;
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_area_remove_access() - undo one iopt_area_add_access()
 * @area: the area given then
 * @start_index: the same first index
 * @last_index: the same last index
 */
void iopt_area_remove_access(struct iopt_area *area, unsigned long start_index,
			     unsigned long last_index)
{
	struct iopt_pages *pages = area->pages;
	struct iopt_pages_access *acc;

	mutex_lock(&pages->mutex);
	acc = pages_find_access(pages, start_index, last_index);
	if (WARN_ON(!acc) || WARN_ON(!area->num_accesses))
		goto out_unlock;
	area->num_accesses--;
	if (--acc->users)
		goto out_unlock;

	interval_tree_remove(&acc->node, &pages->access_itree);
	kfree(acc);
	pages_unfill_xarray(pages, start_index, last_index);
	pages_update_charge(pages);
out_unlock:
	mutex_unlock(&pages->mutex);
}

/* ---------------------------------------------------------------------
 * Reading and writing through the pages, for iommufd_access_rw().
 */

static void copy_pfn(unsigned long pfn, unsigned int offset, void *data,
		     unsigned int len, bool write)
{
	void *kaddr = kmap_local_pfn(pfn);

	if (write)
		memcpy(kaddr + offset, data, len);
	else
		memcpy(data, kaddr + offset, len);
	kunmap_local(kaddr);
}

/* Copy through the PFNs the reader finds, pinning briefly what it must. */
static int pages_rw_pinned(struct iopt_pages *pages, unsigned long start_byte,
			   void *data, unsigned long length, bool write)
{
	unsigned long first = start_byte / PAGE_SIZE;
	unsigned long last = (start_byte + length - 1) / PAGE_SIZE;
	unsigned int offset = start_byte % PAGE_SIZE;
	struct pfn_reader r;
	int rc;

	mutex_lock(&pages->mutex);
	rc = pfn_reader_init(&r, pages, first, last);
	if (rc)
		goto out_unlock;
	while (!pfn_reader_done(&r)) {
		unsigned int i;

		rc = pfn_reader_fill(&r);
		for (i = 0; !rc && i != r.batch.nruns; i++) {
			unsigned long pfn = r.batch.runs[i].pfn;
			unsigned long n = r.batch.runs[i].npfns;

			for (; n; n--, pfn++) {
				unsigned int len = min_t(unsigned long, length,
							 PAGE_SIZE - offset);

				copy_pfn(pfn, offset, data, len, write);
				data += len;
				length -= len;
				offset = 0;
			}
		}
		/* Pins taken just for this copy go straight back. */
		batch_unpin_unheld(&r.batch, pages, r.batch_index);
		if (rc)
			break;
	}
	pages_update_charge(pages);
	pfn_reader_destroy(&r);
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}

/* Copy through the owning process's address space; -EAGAIN if we can't. */
static int pages_rw_user(struct iopt_pages *pages, unsigned long start_byte,
			 void *data, unsigned long length, unsigned int flags)
{
	void __user *uptr = pages->uptr + start_byte;
	bool borrowed = false;
	unsigned long left;

	if (current->mm != pages->source_mm) {
		if (!(flags & IOMMUFD_ACCESS_RW_KTHREAD) || current->mm)
			return -EAGAIN;
		if (!mmget_not_zero(pages->source_mm))
			return -EFAULT;
		kthread_use_mm(pages->source_mm);
		borrowed = true;
	}
	if (flags & IOMMUFD_ACCESS_RW_WRITE)
		left = copy_to_user(uptr, data, length);
	else
		left = copy_from_user(data, uptr, length);
	if (borrowed) {
		kthread_unuse_mm(pages->source_mm);
		mmput(pages->source_mm);
	}
	return left ? -EFAULT : 0;
}

/**
 * iopt_pages_rw_access() - copy between a kernel buffer and the pages
 * @pages: the pages
 * @start_byte: offset in bytes from the start of page index 0
 * @data: the kernel buffer
 * @length: bytes to copy, not 0
 * @flags: IOMMUFD_ACCESS_RW_* flags
 *
 * Pinned pages are copied directly. Memory nobody pinned is reached through
 * the owning process's address space when the caller runs in it (or is a
 * kthread that may borrow it), otherwise it is pinned for the copy.
 *
 * Return: 0 or an errno.
 */
int iopt_pages_rw_access(struct iopt_pages *pages, unsigned long start_byte,
			 void *data, unsigned long length, unsigned int flags)
{
	unsigned long first = start_byte / PAGE_SIZE;
	unsigned long last = (start_byte + length - 1) / PAGE_SIZE;
	unsigned long run_last;
	bool held;
	int rc;

	if ((flags & IOMMUFD_ACCESS_RW_WRITE) && !pages->writable)
		return -EPERM;

	if (pages->type == IOPT_ADDRESS_USER &&
	    !(flags & __IOMMUFD_ACCESS_RW_SLOW_PATH)) {
		mutex_lock(&pages->mutex);
		held = pages_index_held(pages, first, last, &run_last);
		mutex_unlock(&pages->mutex);
		if (!held && run_last == last) {
			rc = pages_rw_user(pages, start_byte, data, length,
					   flags);
			if (rc != -EAGAIN)
				return rc;
		}
	}
	return pages_rw_pinned(pages, start_byte, data, length,
			       flags & IOMMUFD_ACCESS_RW_WRITE);
}

/* ---------------------------------------------------------------------
 * Handing the charge to another process (IOMMU_IOAS_CHANGE_PROCESS).
 */

/*
 * Who pinned memory is charged to. A copy of an iopt_pages' source_*
 * fields (or of current's, for a new owner); it takes no references of
 * its own. owner_put() drops the ones the iopt_pages held.
 */
struct pages_owner {
	struct task_struct *task;
	struct mm_struct *mm;
	struct user_struct *user;
	bool unlimited;
};

static int owner_charge(struct pages_owner *o, u8 mode, unsigned long npages)
{
	struct iopt_pages tmp = {
		.source_task = o->task,
		.source_mm = o->mm,
		.source_user = o->user,
		.unlimited = o->unlimited,
	};
	int rc = 0;

	if (mode == IOPT_PAGES_ACCOUNT_USER)
		rc = account_user(&tmp, npages);
	else if (mode == IOPT_PAGES_ACCOUNT_MM)
		rc = account_mm(&tmp, npages, true);
	if (!rc)
		atomic64_add(npages, &o->mm->pinned_vm);
	return rc;
}

static void owner_uncharge(struct pages_owner *o, u8 mode,
			   unsigned long npages)
{
	struct iopt_pages tmp = {
		.source_task = o->task,
		.source_mm = o->mm,
		.source_user = o->user,
	};

	if (mode == IOPT_PAGES_ACCOUNT_USER)
		atomic_long_sub(npages, &o->user->locked_vm);
	else if (mode == IOPT_PAGES_ACCOUNT_MM)
		account_mm(&tmp, npages, false);
	atomic64_sub(npages, &o->mm->pinned_vm);
}

/* The owner @p is charged to now. */
static struct pages_owner pages_owner_of(struct iopt_pages *p)
{
	return (struct pages_owner) {
		.task = p->source_task,
		.mm = p->source_mm,
		.user = p->source_user,
		.unlimited = p->unlimited,
	};
}

/* Drop the references an iopt_pages held on its owner. */
static void owner_put(struct pages_owner *o)
{
	put_task_struct(o->task);
	mmdrop(o->mm);
	free_uid(o->user);
}

/*
 * Whether @p is charged to @o already, as its mode counts: per process by
 * the mm; per user by the user and, through pinned_vm, the mm too. Such
 * pages have nothing to move, and charging them again would only make
 * the owner need twice its pins within its limit for a moment.
 */
static bool pages_charged_to(struct iopt_pages *p, struct pages_owner *o)
{
	if (p->source_mm != o->mm)
		return false;
	return p->account_mode != IOPT_PAGES_ACCOUNT_USER ||
	       p->source_user == o->user;
}

/* Serializes changes of owner; their many pages mutexes nest under it. */
static DEFINE_MUTEX(change_source_lock);

/**
 * iopt_pages_change_source() - charge pinned memory to the current process
 * @pages: distinct file-backed pages
 * @n: how many
 *
 * Every page pinned in @pages is charged to the caller's user and mm and
 * uncharged from its previous owner, all or nothing. Later pins are
 * charged to the caller as well. Pages charged to the caller already are
 * left as they are.
 *
 * Return: 0, or -ENOMEM if the caller's limit does not allow it (then
 * nothing changed).
 */
int iopt_pages_change_source(struct iopt_pages **pages, size_t n)
{
	struct pages_owner new = {
		.task = current->group_leader,
		.mm = current->mm,
		.user = current_user(),
		.unlimited = capable(CAP_IPC_LOCK),
	};
	size_t i, charged;
	int rc = 0;

	mutex_lock(&change_source_lock);
	for (i = 0; i != n; i++)
		mutex_lock_nest_lock(&pages[i]->mutex, &change_source_lock);

	for (charged = 0; charged != n; charged++) {
		if (pages_charged_to(pages[charged], &new))
			continue;
		rc = owner_charge(&new, pages[charged]->account_mode,
				  pages[charged]->last_npinned);
		if (rc)
			break;
	}
	if (rc) {
		while (charged--)
			if (!pages_charged_to(pages[charged], &new))
				owner_uncharge(&new,
					       pages[charged]->account_mode,
					       pages[charged]->last_npinned);
		goto out_unlock;
	}

	for (i = 0; i != n; i++) {
		struct iopt_pages *p = pages[i];
		struct pages_owner old = pages_owner_of(p);

		/*
		 * Pages charged to the caller already keep their charge, but
		 * the caller's task and capability decide from now on, as for
		 * the others.
		 */
		p->unlimited = new.unlimited;
		if (pages_charged_to(p, &new)) {
			get_task_struct(new.task);
			p->source_task = new.task;
			put_task_struct(old.task);
			continue;
		}
		owner_uncharge(&old, p->account_mode, p->last_npinned);
		get_task_struct(new.task);
		mmgrab(new.mm);
		p->source_task = new.task;
		p->source_mm = new.mm;
		p->source_user = get_uid(new.user);
		owner_put(&old);
	}
out_unlock:
	for (i = 0; i != n; i++)
		mutex_unlock(&pages[i]->mutex);
	mutex_unlock(&change_source_lock);
	return rc;
}

/* ---------------------------------------------------------------------
 * Creation and release.
 */

static struct iopt_pages *iopt_alloc_pages(unsigned long start_byte,
					   unsigned long length, bool writable)
{
	struct iopt_pages *pages;
	unsigned long end;

	/* Keep page arithmetic, and byte offsets within it, in range. */
	if (!length || check_add_overflow(start_byte, length, &end) ||
	    length > SIZE_MAX - PAGE_SIZE)
		return ERR_PTR(-EOVERFLOW);

	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);

	kref_init(&pages->kref);
	mutex_init(&pages->mutex);
	xa_init_flags(&pages->pinned_pfns, XA_FLAGS_ACCOUNT);
	pages->access_itree = RB_ROOT_CACHED;
	pages->domains_itree = RB_ROOT_CACHED;
	pages->npages = (ALIGN(end, PAGE_SIZE) -
			 ALIGN_DOWN(start_byte, PAGE_SIZE)) / PAGE_SIZE;
	pages->writable = writable;
	pages->unlimited = capable(CAP_IPC_LOCK);
	pages->account_mode = IOPT_PAGES_ACCOUNT_USER;

	get_task_struct(current->group_leader);
	pages->source_task = current->group_leader;
	mmgrab(current->mm);
	pages->source_mm = current->mm;
	pages->source_user = get_uid(current_user());
	return pages;
}

/**
 * iopt_alloc_user_pages() - describe a range of the caller's memory
 * @uptr: start of the range; need not be page aligned
 * @length: its length in bytes
 * @writable: whether it will be pinned for writing
 *
 * Return: the pages, with nothing pinned yet, or an ERR_PTR.
 */
struct iopt_pages *iopt_alloc_user_pages(void __user *uptr,
					 unsigned long length, bool writable)
{
	struct iopt_pages *pages;

	pages = iopt_alloc_pages((unsigned long)uptr, length, writable);
	if (IS_ERR(pages))
		return pages;
	pages->type = IOPT_ADDRESS_USER;
	pages->uptr = (void __user *)ALIGN_DOWN((unsigned long)uptr,
						PAGE_SIZE);
	return pages;
}

/**
 * iopt_alloc_file_pages() - describe a range of a memfd
 * @file: the memfd
 * @start: byte offset of the range in the file
 * @length: its length in bytes
 * @writable: whether it will be pinned for writing
 *
 * Return: the pages, with nothing pinned yet, or an ERR_PTR.
 */
struct iopt_pages *iopt_alloc_file_pages(struct file *file,
					 unsigned long start,
					 unsigned long length, bool writable)
{
	struct iopt_pages *pages;

	pages = iopt_alloc_pages(start, length, writable);
	if (IS_ERR(pages))
		return pages;
	pages->type = IOPT_ADDRESS_FILE;
	pages->file = get_file(file);
	pages->start = ALIGN_DOWN(start, PAGE_SIZE);
	return pages;
}

void iopt_release_pages(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);
	struct pages_owner owner = pages_owner_of(pages);

	/* By the last put nothing is pinned, mapped or held by an access. */
	WARN_ON(pages->npinned || !xa_empty(&pages->pinned_pfns));
	WARN_ON(!RB_EMPTY_ROOT(&pages->domains_itree.rb_root) ||
		!RB_EMPTY_ROOT(&pages->access_itree.rb_root));
	if (pages->type == IOPT_ADDRESS_FILE)
		fput(pages->file);
	owner_put(&owner);
	mutex_destroy(&pages->mutex);
	kfree(pages);
}
