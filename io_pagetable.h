/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pinned-page engine: data structures shared by io_pagetable.c (the
 * IOVA side) and pages.c (the memory side). The model and the locking
 * rules are described at the top of those two files.
 */
#ifndef __IO_PAGETABLE_H
#define __IO_PAGETABLE_H

#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/xarray.h>

struct iommu_domain;
struct iommufd_access;
struct iommufd_ctx;

/**
 * struct io_pagetable - the IOVA map of one IOAS
 * @domains_rwsem: outermost lock. Held for write to change @domains or
 *                 @accesses; held for read by everything that maps or unmaps
 *                 so the set of domains cannot change under it.
 * @domains: index -> struct iommu_domain; every domain mirroring this map
 * @accesses: index -> struct iommufd_access; every in-kernel user
 * @next_domain_id: unused index hint for @domains
 * @iova_rwsem: nests inside @domains_rwsem; protects @area_itree,
 *              @allowed_itree, @reserved_itree, @iova_alignment,
 *              @alloc_floor and @disable_large_pages
 * @area_itree: the mappings (struct iopt_area), keyed by IOVA
 * @allowed_itree: struct iopt_allowed, the ranges user space asked to keep
 * @reserved_itree: struct iopt_reserved, the ranges that may not be mapped
 * @iova_alignment: what mapping IOVAs, lengths and page offsets must be a
 *                  multiple of: the largest minimum page size among the
 *                  domains and accesses, PAGE_SIZE with large pages off
 * @alloc_floor: automatic allocation starts its search here: between its
 *               lowest possible IOVA and this one, nothing is free
 * @disable_large_pages: IOMMU_OPTION_HUGE_PAGES is 0
 */
struct io_pagetable {
	struct rw_semaphore domains_rwsem;
	struct xarray domains;
	struct xarray accesses;
	unsigned int next_domain_id;

	struct rw_semaphore iova_rwsem;
	struct rb_root_cached area_itree;
	struct rb_root_cached allowed_itree;
	struct rb_root_cached reserved_itree;
	unsigned long iova_alignment;
	unsigned long alloc_floor;
	bool disable_large_pages;
};

/**
 * struct iopt_area - one mapping: an IOVA range backed by part of a pages
 * @node: in io_pagetable::area_itree; start/last are the IOVA range
 * @pages_node: in iopt_pages::domains_itree while the area's pages are
 *              mapped into the domains of @iopt; start/last are page indexes
 * @iopt: the table the area belongs to
 * @pages: the memory; NULL while the area is still being built
 * @storage_domain: the domain the PFNs of the area are read back from, or
 *                  NULL when @iopt has no domain (nothing is pinned for it)
 * @flat_chunks: while the area is filled, a bitmap over its pages in chunks
 *               of IOPT_FLAT_CHUNK: a set bit says the chunk's PFNs are
 *               consecutive, so they can be read back from a domain in one
 *               lookup. NULL until the first such chunk is seen, and when
 *               there was no memory for it. Under @pages->mutex; see
 *               pages.c
 * @page_offset: byte offset of the first IOVA inside page @pages_node.start
 * @iommu_prot: IOMMU_READ/IOMMU_WRITE/IOMMU_CACHE for the domain mappings
 * @prevent_access: being unmapped; accesses may not pin it anymore
 * @num_accesses: page ranges of this area pinned by accesses, under
 *                @pages->mutex
 *
 * The page indexes are valid even while the area is not in the domains
 * tree. They only change when a cut (iopt_cut_iova()) splits the area.
 */
struct iopt_area {
	struct interval_tree_node node;
	struct interval_tree_node pages_node;
	struct io_pagetable *iopt;
	struct iopt_pages *pages;
	struct iommu_domain *storage_domain;
	unsigned long *flat_chunks;
	unsigned int page_offset;
	int iommu_prot;
	bool prevent_access : 1;
	unsigned int num_accesses;
};

/**
 * struct iopt_allowed - a range IOMMU_IOAS_ALLOW_IOVAS promised to keep
 * @node: in io_pagetable::allowed_itree, keyed by IOVA
 */
struct iopt_allowed {
	struct interval_tree_node node;
};

/**
 * struct iopt_reserved - a range that may not be mapped
 * @node: in io_pagetable::reserved_itree, keyed by IOVA
 * @owner: who reserved it (a domain, a device, or the test), so that it can
 *         be removed again with everything else that owner reserved
 */
struct iopt_reserved {
	struct interval_tree_node node;
	void *owner;
};

/* Where the memory of an iopt_pages comes from. */
enum iopt_address_type {
	IOPT_ADDRESS_USER = 0,
	IOPT_ADDRESS_FILE = 1,
};

/**
 * struct iopt_pages - a contiguous run of user memory that may be pinned
 * @kref: one per area using it and one per in-flight operation
 * @mutex: protects everything below that changes after creation
 * @npages: size in pages; page indexes run from 0 to @npages - 1
 * @npinned: pages currently pinned (each pinned page is pinned once)
 * @last_npinned: pages charged to the account; equal to @npinned whenever
 *                @mutex is not held
 * @source_task: the task whose RLIMIT_MEMLOCK applies
 * @source_mm: the mm the memory belongs to (mmgrab'd)
 * @source_user: the user charged in IOPT_PAGES_ACCOUNT_USER mode
 * @account_mode: enum iommufd_account, fixed at creation
 * @unlimited: the creator had CAP_IPC_LOCK; charged but never refused
 * @writable: the memory may be pinned for writing
 * @type: enum iopt_address_type
 * @uptr: page-aligned user address of index 0 (IOPT_ADDRESS_USER)
 * @file: the memfd (IOPT_ADDRESS_FILE), with a reference
 * @start: page-aligned file offset of index 0 (IOPT_ADDRESS_FILE)
 * @pinned_pfns: index -> PFN (xa_mk_value) of pages accesses have pinned
 * @access_itree: struct iopt_pages_access, ranges pinned by accesses
 * @domains_itree: iopt_area::pages_node of areas filled into domains
 */
struct iopt_pages {
	struct kref kref;
	struct mutex mutex; /* see @mutex above */
	size_t npages;
	size_t npinned;
	size_t last_npinned;
	struct task_struct *source_task;
	struct mm_struct *source_mm;
	struct user_struct *source_user;
	u8 account_mode;
	bool unlimited : 1;
	bool writable : 1;
	u8 type;
	union {
		void __user *uptr;
		struct {
			struct file *file;
			unsigned long start;
		};
	};
	struct xarray pinned_pfns;
	struct rb_root_cached access_itree;
	struct rb_root_cached domains_itree;
};

/**
 * struct iopt_pages_access - a range of page indexes accesses have pinned
 * @node: in iopt_pages::access_itree; start/last are page indexes
 * @users: how many pins of exactly this range are outstanding
 */
struct iopt_pages_access {
	struct interval_tree_node node;
	unsigned int users;
};

/* IOVA helpers. "last" is always inclusive. */
static inline unsigned long iopt_area_iova(struct iopt_area *area)
{
	return area->node.start;
}

static inline unsigned long iopt_area_last_iova(struct iopt_area *area)
{
	return area->node.last;
}

static inline size_t iopt_area_length(struct iopt_area *area)
{
	return area->node.last - area->node.start + 1;
}

static inline unsigned long iopt_area_index(struct iopt_area *area)
{
	return area->pages_node.start;
}

static inline unsigned long iopt_area_last_index(struct iopt_area *area)
{
	return area->pages_node.last;
}

/* The page index holding @iova, which must lie inside the area. */
static inline unsigned long iopt_area_iova_to_index(struct iopt_area *area,
						    unsigned long iova)
{
	return iopt_area_index(area) +
	       (iova - iopt_area_iova(area) + area->page_offset) / PAGE_SIZE;
}

struct iopt_area *iopt_area_first(struct io_pagetable *iopt,
				  unsigned long start, unsigned long last);
struct iopt_area *iopt_area_next(struct iopt_area *area, unsigned long start,
				 unsigned long last);

/*
 * Walk the areas that cover [start, last] as one unbroken span. After the
 * loop, iopt_area_span_done() says whether the whole range was covered.
 */
struct iopt_area_span {
	struct io_pagetable *iopt;
	unsigned long cur;
	unsigned long last;
	struct iopt_area *area;
	bool covered;
};

struct iopt_area *iopt_area_span_first(struct iopt_area_span *span,
				       struct io_pagetable *iopt,
				       unsigned long start, unsigned long last);
struct iopt_area *iopt_area_span_next(struct iopt_area_span *span);
bool iopt_area_span_done(struct iopt_area_span *span);

/* pages.c */
struct iopt_pages *iopt_alloc_user_pages(void __user *uptr,
					 unsigned long length, bool writable);
struct iopt_pages *iopt_alloc_file_pages(struct file *file,
					 unsigned long start,
					 unsigned long length, bool writable);
void iopt_release_pages(struct kref *kref);

static inline void iopt_put_pages(struct iopt_pages *pages)
{
	kref_put(&pages->kref, iopt_release_pages);
}

int iopt_area_fill_domains(struct iopt_area *area, struct iopt_pages *pages);
void iopt_area_unfill_domains(struct iopt_area *area, struct iopt_pages *pages);
int iopt_area_fill_domain(struct iopt_area *area, struct iommu_domain *domain);
void iopt_area_unfill_domain(struct iopt_area *area, struct iopt_pages *pages,
			     struct iommu_domain *domain);
void iopt_area_unmap_domain(struct iopt_area *area,
			    struct iommu_domain *domain);

int iopt_area_add_access(struct iopt_area *area, unsigned long start_index,
			 unsigned long last_index, struct page **out_pages,
			 unsigned int flags);
void iopt_area_remove_access(struct iopt_area *area, unsigned long start_index,
			     unsigned long last_index);
int iopt_pages_rw_access(struct iopt_pages *pages, unsigned long start_byte,
			 void *data, unsigned long length, unsigned int flags);
int iopt_pages_change_source(struct iopt_pages **pages, size_t n);
int iopt_area_split_pages(struct iopt_area *area, struct iopt_area *tail,
			  unsigned long last_index);

/* io_pagetable.c */
void iopt_init_table(struct io_pagetable *iopt);
void iopt_destroy_table(struct io_pagetable *iopt);
int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, void __user *uptr,
			unsigned long length, int iommu_prot,
			unsigned int flags);
int iopt_map_file_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt,
			unsigned long *iova, struct file *file,
			unsigned long start, unsigned long length,
			int iommu_prot, unsigned int flags);
int iopt_copy(struct io_pagetable *dst, struct io_pagetable *src,
	      unsigned long src_iova, unsigned long length,
	      unsigned long *dst_iova, int iommu_prot, unsigned int flags);
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped);
int iopt_cut_iova(struct io_pagetable *iopt, unsigned long *iovas,
		  unsigned int n);

/* iopt_map_*() flags */
enum {
	IOPT_ALLOC_IOVA = 1 << 0,
};

int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner);
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner);
int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct rb_root_cached *allowed_iova);
int iopt_table_enforce_dev_resv_regions(struct io_pagetable *iopt,
					struct device *dev,
					phys_addr_t *sw_msi_start);
int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain);
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain);
int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access,
		    u32 *id);
void iopt_remove_access(struct io_pagetable *iopt,
			struct iommufd_access *access, u32 iopt_access_list_id);
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable);
int iopt_read_dirty(struct io_pagetable *iopt, struct iommu_domain *domain,
		    u64 iova, u64 length, u64 page_size, u64 __user *data,
		    unsigned long flags);
int iopt_disable_large_pages(struct io_pagetable *iopt);
int iopt_enable_large_pages(struct io_pagetable *iopt);

#endif
