// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOVA map of an IOAS.
 */
#include "iommufd_private.h"

void iopt_init_table(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->domains_rwsem);
	init_rwsem(&iopt->iova_rwsem);
	iopt->area_itree = RB_ROOT_CACHED;
	iopt->allowed_itree = RB_ROOT_CACHED;
	iopt->reserved_itree = RB_ROOT_CACHED;
	xa_init_flags(&iopt->domains, XA_FLAGS_ACCOUNT);
	xa_init_flags(&iopt->accesses, XA_FLAGS_ALLOC);
	iopt->iova_alignment = 1;
}

void iopt_destroy_table(struct io_pagetable *iopt)
{
	WARN_ON(!RB_EMPTY_ROOT(&iopt->area_itree.rb_root));
	WARN_ON(!xa_empty(&iopt->domains));
	WARN_ON(!xa_empty(&iopt->accesses));
	xa_destroy(&iopt->domains);
	xa_destroy(&iopt->accesses);
}
