/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IOVA side of the pinned-page engine. See io_pagetable.c for the model.
 */
#ifndef __IO_PAGETABLE_H
#define __IO_PAGETABLE_H

#include <linux/interval_tree.h>
#include <linux/list.h>
#include <linux/rwsem.h>
#include <linux/xarray.h>

/**
 * struct io_pagetable - the IOVA map of one IOAS
 * @domains_rwsem: outermost lock; protects @domains, @next_domain_id,
 *                 @accesses and @iova_alignment
 * @domains: index -> struct iommu_domain, every domain mirroring this map
 * @accesses: index -> struct iommufd_access, every in-kernel user
 * @next_domain_id: the index the next domain gets in @domains
 * @iova_rwsem: nests inside @domains_rwsem; protects the three trees
 * @area_itree: the mappings, keyed by IOVA
 * @allowed_itree: ranges user space asked to keep usable, keyed by IOVA
 * @reserved_itree: ranges that may not be mapped, keyed by IOVA
 * @iova_alignment: what every mapping's IOVA and length must be a multiple of
 * @disable_large_pages: map every page singly (IOMMU_OPTION_HUGE_PAGES = 0)
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
	bool disable_large_pages;
};

void iopt_init_table(struct io_pagetable *iopt);
void iopt_destroy_table(struct io_pagetable *iopt);

#endif
