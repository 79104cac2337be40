// SPDX-License-Identifier: GPL-2.0-only
/*
 * CONFIG_IOMMUFD_TEST: a mock IOMMU driver and the IOMMU_TEST_CMD ioctl.
 *
 * The mock driver
 * ---------------
 * Mock devices live on their own bus, "iommufd_mock", behind one mock
 * iommu_device; each is alone in its iommu_group. Their paging domains
 * translate MOCK_APERTURE_START..MOCK_APERTURE_LAST in pages of half the
 * CPU page size (MOCK_IO_PAGE_SIZE), so that iommufd's handling of I/O
 * pages smaller than CPU pages is exercised. A domain records its
 * translations in an xarray indexed by IOVA / MOCK_IO_PAGE_SIZE, holding
 * the physical address / MOCK_IO_PAGE_SIZE, with two flags above it: the
 * I/O page was mapped as part of a huge page (MOCK_HUGE_PAGE_SIZE, offered
 * to devices created with MOCK_FLAGS_DEVICE_HUGE_IOVA), and it is dirty.
 *
 * Dirty tracking: devices created with MOCK_FLAGS_DEVICE_NO_DIRTY cannot
 * do it; they get no tracking domain and are refused by one. Nothing real
 * writes through a mock domain, so IOMMU_TEST_OP_DIRTY marks I/O pages
 * dirty on user space's word, and only while tracking is on. Reading the
 * dirty state reports (and unless asked not to, clears) it per page as
 * mapped: a huge page is dirty as a whole if any of its I/O pages is.
 *
 * Test objects
 * ------------
 * IOMMU_TEST_OP_MOCK_DOMAIN creates a mock device, binds it to the file and
 * attaches it; the SELFTEST object that represents it owns the device until
 * it is destroyed, which detaches, unbinds and deletes the device.
 * IOMMU_TEST_OP_CREATE_ACCESS creates an in-kernel access user owned by a
 * new file descriptor: closing the descriptor destroys the access and
 * releases everything it pinned. The access holds the iommufd open.
 *
 * Fault injection: iommufd_should_fail() is a fault_attr ("fail_iommufd" in
 * debugfs) that fail-nth also drives, so error paths that do not allocate
 * can be walked too.
 */
#include <linux/anon_inodes.h>
#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"
#include "iommufd_test.h"

static DECLARE_FAULT_ATTR(fail_iommufd);
static struct dentry *dbgfs_root;

/**
 * iommufd_should_fail() - a fault injection point
 *
 * Return: true when fault injection (fail-nth, or the fail_iommufd
 * debugfs attribute) says the caller should pretend to fail.
 */
bool iommufd_should_fail(void)
{
	return should_fail(&fail_iommufd, 1);
}

#define MOCK_IO_PAGE_SIZE (PAGE_SIZE / 2)
#define MOCK_HUGE_PAGE_SIZE (512 * MOCK_IO_PAGE_SIZE)

/* ---------------------------------------------------------------------
 * Mock devices and their IOMMU.
 */

/**
 * struct mock_dev - a mock device
 * @dev: the device
 * @flags: MOCK_FLAGS_DEVICE_*
 * @id: its number on the mock bus
 * @cache: a pretend device cache (an ATC, say) the guest flushes through
 *         its vIOMMU; entries start at IOMMU_TEST_DEV_CACHE_DEFAULT and
 *         invalidation clears them
 */
struct mock_dev {
	struct device dev;
	u32 flags;
	int id;
	u32 cache[MOCK_DEV_CACHE_NUM];
};

static const struct bus_type iommufd_mock_bus_type = {
	.name = "iommufd_mock",
};

/*
 * Devices without firmware description get the first IOMMU registered
 * without a fwnode (VT-d, on a PC): mock devices name theirs instead.
 */
static struct fwnode_handle mock_iommu_fwnode;
static struct iommu_device mock_iommu_device = {
	.fwnode = &mock_iommu_fwnode,
};

static struct notifier_block mock_bus_nb;
static DEFINE_IDA(mock_dev_ida);

static struct mock_dev *to_mock_dev(struct device *dev)
{
	return container_of(dev, struct mock_dev, dev);
}

bool iommufd_selftest_is_mock_dev(struct device *dev)
{
	return dev->bus == &iommufd_mock_bus_type;
}

/**
 * struct mock_iommu_domain - a mock paging domain
 * @domain: the core's part
 * @pfns: IOVA / MOCK_IO_PAGE_SIZE -> an entry made by mock_entry()
 * @dirty_tracking: whether IOMMU_TEST_OP_DIRTY may mark pages dirty
 */
struct mock_iommu_domain {
	struct iommu_domain domain;
	struct xarray pfns;
	bool dirty_tracking;
};

/* Flags in the low bits of a pfns entry; the page number sits above them. */
#define MOCK_ENTRY_HUGE BIT(0)
#define MOCK_ENTRY_DIRTY BIT(1)
#define MOCK_ENTRY_SHIFT 2

static void *mock_entry(phys_addr_t phys, unsigned long flags)
{
	unsigned long pfn = phys / MOCK_IO_PAGE_SIZE;

	return xa_mk_value(pfn << MOCK_ENTRY_SHIFT | flags);
}

static phys_addr_t mock_entry_phys(void *entry)
{
	return (phys_addr_t)(xa_to_value(entry) >> MOCK_ENTRY_SHIFT) *
	       MOCK_IO_PAGE_SIZE;
}

static struct mock_iommu_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_iommu_domain, domain);
}

static int mock_attach_nop(struct iommu_domain *domain, struct device *dev)
{
	return 0;
}

/* A device that cannot track dirty pages cannot use a domain that does. */
static int mock_attach_paging(struct iommu_domain *domain, struct device *dev)
{
	if (domain->dirty_ops &&
	    (to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return -EINVAL;
	return 0;
}

/*
 * PASIDs: any mock domain may be attached to a PASID of a device that has
 * them. Replacing what PASID IOMMU_TEST_PASID_RESERVED is attached to
 * fails, so that tests see a failed replace leave the PASID as it was.
 */
static int mock_set_dev_pasid(struct iommu_domain *domain, struct device *dev,
			      ioasid_t pasid, struct iommu_domain *old)
{
	if (old && pasid == IOMMU_TEST_PASID_RESERVED)
		return -ENOMEM;
	return 0;
}

static void mock_remove_dev_pasid(struct device *dev, ioasid_t pasid,
				  struct iommu_domain *domain)
{
}

static const struct iommu_domain_ops mock_blocking_ops = {
	.attach_dev = mock_attach_nop,
};

static struct iommu_domain mock_blocking_domain = {
	.type = IOMMU_DOMAIN_BLOCKED,
	.ops = &mock_blocking_ops,
};

static size_t mock_unmap_pages(struct iommu_domain *domain, unsigned long iova,
			       size_t pgsize, size_t pgcount,
			       struct iommu_iotlb_gather *gather)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	size_t done;

	/* Stop at the first hole: iommufd never unmaps what it did not map. */
	for (done = 0; done < pgsize * pgcount; done += MOCK_IO_PAGE_SIZE)
		if (WARN_ON(!xa_erase(&mock->pfns,
				      (iova + done) / MOCK_IO_PAGE_SIZE)))
			break;
	return done;
}

static int mock_map_pages(struct iommu_domain *domain, unsigned long iova,
			  phys_addr_t paddr, size_t pgsize, size_t pgcount,
			  int prot, gfp_t gfp, size_t *mapped)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	unsigned long flags = pgsize == MOCK_HUGE_PAGE_SIZE ?
			      MOCK_ENTRY_HUGE : 0;
	size_t size = pgsize * pgcount, done;
	void *old;

	if (WARN_ON(iova % MOCK_IO_PAGE_SIZE || paddr % MOCK_IO_PAGE_SIZE))
		return -EINVAL;
	/*
	 * A fault injection point, but only for calls starting at a 128 KiB
	 * boundary: a long fill can then fail part way, while the number of
	 * points does not depend on how the memory happens to be laid out.
	 */
	if (!(iova % SZ_128K) && iommufd_should_fail())
		return -ENOENT;

	for (done = 0; done != size; done += MOCK_IO_PAGE_SIZE) {
		old = xa_store(&mock->pfns, (iova + done) / MOCK_IO_PAGE_SIZE,
			       mock_entry(paddr + done, flags), gfp);
		if (xa_is_err(old)) {
			if (done)
				mock_unmap_pages(domain, iova, done, 1, NULL);
			return xa_err(old);
		}
		WARN_ON(old);
	}
	*mapped = size;
	return 0;
}

static phys_addr_t mock_iova_to_phys(struct iommu_domain *domain,
				     dma_addr_t iova)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	void *ent;

	ent = xa_load(&mock->pfns, iova / MOCK_IO_PAGE_SIZE);
	if (WARN_ON(!ent))
		return 0;
	return mock_entry_phys(ent) + iova % MOCK_IO_PAGE_SIZE;
}

/*
 * Real drivers that flush after mapping do it here; the mock has nothing
 * to flush, but having the op sends iommufd down the path that batches
 * syncs (see batch_map()), and it checks that a sync covers mapped pages.
 */
static int mock_iotlb_sync_map(struct iommu_domain *domain,
			       unsigned long iova, size_t size)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	unsigned long first = iova / MOCK_IO_PAGE_SIZE;
	unsigned long last = (iova + size - 1) / MOCK_IO_PAGE_SIZE;

	if (WARN_ON(!size || !xa_load(&mock->pfns, first) ||
		    !xa_load(&mock->pfns, last)))
		return -EINVAL;
	return 0;
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);

	WARN_ON(!xa_empty(&mock->pfns));
	xa_destroy(&mock->pfns);
	kfree(mock);
}

static const struct iommu_domain_ops mock_paging_ops = {
	.attach_dev = mock_attach_paging,
	.set_dev_pasid = mock_set_dev_pasid,
	.map_pages = mock_map_pages,
	.unmap_pages = mock_unmap_pages,
	.iotlb_sync_map = mock_iotlb_sync_map,
	.iova_to_phys = mock_iova_to_phys,
	.free = mock_domain_free,
};

static int mock_set_dirty_tracking(struct iommu_domain *domain, bool enable)
{
	WRITE_ONCE(to_mock_domain(domain)->dirty_tracking, enable);
	return 0;
}

/*
 * Whether any I/O page in [iova, iova + size) is dirty; unless @keep, they
 * are all clean afterwards. The entry lock makes the test and the clear
 * one step against IOMMU_TEST_OP_DIRTY and unmap.
 */
static bool mock_take_dirty(struct mock_iommu_domain *mock, unsigned long iova,
			    size_t size, bool keep)
{
	XA_STATE(xas, &mock->pfns, iova / MOCK_IO_PAGE_SIZE);
	unsigned long last = (iova + size - 1) / MOCK_IO_PAGE_SIZE;
	bool dirty = false;
	void *entry;

	xas_lock(&xas);
	xas_for_each(&xas, entry, last) {
		unsigned long val = xa_to_value(entry);

		if (!(val & MOCK_ENTRY_DIRTY))
			continue;
		dirty = true;
		if (keep)
			break;
		xas_store(&xas, xa_mk_value(val & ~MOCK_ENTRY_DIRTY));
	}
	xas_unlock(&xas);
	return dirty;
}

/* Report dirty pages at the size they were mapped with. */
static int mock_read_and_clear_dirty(struct iommu_domain *domain,
				     unsigned long iova, size_t size,
				     unsigned long flags,
				     struct iommu_dirty_bitmap *dirty)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	bool keep = flags & IOMMU_DIRTY_NO_CLEAR;
	unsigned long cur = iova, end = iova + size - 1;

	/* Clearing is allowed with tracking off; reporting is not. */
	if (dirty->bitmap && !READ_ONCE(mock->dirty_tracking))
		return -EINVAL;

	while (cur <= end) {
		void *entry = xa_load(&mock->pfns, cur / MOCK_IO_PAGE_SIZE);
		unsigned long start = ALIGN_DOWN(cur, MOCK_IO_PAGE_SIZE);
		unsigned long len = MOCK_IO_PAGE_SIZE;

		if (entry && (xa_to_value(entry) & MOCK_ENTRY_HUGE)) {
			start = ALIGN_DOWN(cur, MOCK_HUGE_PAGE_SIZE);
			len = MOCK_HUGE_PAGE_SIZE;
		}
		if (entry && mock_take_dirty(mock, start, len, keep))
			iommu_dirty_bitmap_record(dirty, start, len);
		if (start + len - 1 >= end)
			break;
		cur = start + len;
	}
	return 0;
}

/**
 * struct mock_viommu - the driver data of a mock vIOMMU
 * @core: the vIOMMU it belongs to
 * @parent: its nesting parent's mock domain
 * @page: pages user space may mmap() through the iommufd, as it would map
 *        a real IOMMU's virtual command interface; NULL unless asked for
 *        with struct iommu_viommu_selftest
 * @mmap_offset: the mmap() offset of @page
 * @queues_lock: protects @queues
 * @queues: its HW queues by index; each queue but the first holds the one
 *          before it, so they go in the reverse order they came
 */
struct mock_viommu {
	struct iommufd_viommu *core;
	struct iommu_domain *parent;
	struct page *page;
	unsigned long mmap_offset;
	struct mutex queues_lock; /* see @queues_lock above */
	struct mock_hw_queue *queues[IOMMU_TEST_HW_QUEUE_MAX];
};

/**
 * struct mock_hw_queue - the driver data of a mock HW queue
 * @core: the HW queue it belongs to
 * @mv: its vIOMMU's data
 * @prev: the queue before it, which it holds; NULL for the first
 * @index: its index
 * @base: physical address of the queue memory
 */
struct mock_hw_queue {
	struct iommufd_hw_queue *core;
	struct mock_viommu *mv;
	struct mock_hw_queue *prev;
	u32 index;
	phys_addr_t base;
};

/*
 * Nested mock domains: the first stage is pretend, described only by the
 * value every entry of a pretend IOTLB starts with; invalidations reset
 * entries to 0, so tests can see exactly which requests were carried out.
 */
struct mock_nested_domain {
	struct iommu_domain domain;
	struct mock_viommu *mv;
	u32 iotlb[MOCK_NESTED_DOMAIN_IOTLB_NUM];
};

static struct mock_nested_domain *to_mock_nested(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_nested_domain, domain);
}

static void mock_nested_free(struct iommu_domain *domain)
{
	kfree(to_mock_nested(domain));
}

/* Requests are carried out in order up to the first bad one. */
static int mock_nested_invalidate(struct iommu_domain *domain,
				  struct iommu_user_data_array *reqs)
{
	const u32 type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
	struct mock_nested_domain *nested = to_mock_nested(domain);
	u32 done;
	int rc = 0;

	for (done = 0; done != reqs->entry_num; done++) {
		struct iommu_hwpt_invalidate_selftest req;

		cond_resched();

		rc = iommu_copy_struct_from_user_array(&req, reqs, type, done,
						       iotlb_id);
		if (rc)
			break;
		if (req.flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			rc = -EOPNOTSUPP;
			break;
		}
		if (req.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			memset(nested->iotlb, 0, sizeof(nested->iotlb));
			continue;
		}
		if (req.iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX) {
			rc = -EINVAL;
			break;
		}
		nested->iotlb[req.iotlb_id] = 0;
	}
	reqs->entry_num = done;
	return rc;
}

/*
 * A device reaches a nested domain of a vIOMMU only under a virtual ID,
 * the way a guest's stream table names it. Going back to the domain the
 * device is on already cannot fail, though: that is how the core undoes a
 * failed replace, and the vDEVICE may be gone by then.
 */
static int mock_attach_nested(struct iommu_domain *domain, struct device *dev)
{
	struct mock_nested_domain *nested = to_mock_nested(domain);
	u64 virt_id;

	if (!nested->mv || iommu_get_domain_for_dev(dev) == domain)
		return 0;
	return iommufd_viommu_get_vdev_id(nested->mv->core, dev, &virt_id);
}

static const struct iommu_domain_ops mock_nested_ops = {
	.attach_dev = mock_attach_nested,
	.set_dev_pasid = mock_set_dev_pasid,
	.free = mock_nested_free,
	.cache_invalidate_user = mock_nested_invalidate,
};

static struct iommu_domain *
mock_nested_alloc(struct iommu_domain *parent, struct mock_viommu *mv,
		  const struct iommu_user_data *user_data)
{
	struct mock_nested_domain *nested;
	struct iommu_hwpt_selftest data;
	unsigned int i;
	int rc;

	if (parent->ops != &mock_paging_ops)
		return ERR_PTR(-EINVAL);
	if (user_data->type != IOMMU_HWPT_DATA_SELFTEST)
		return ERR_PTR(-EOPNOTSUPP);
	rc = iommu_copy_struct_from_user(&data, user_data,
					 IOMMU_HWPT_DATA_SELFTEST, iotlb);
	if (rc)
		return ERR_PTR(rc);

	nested = kzalloc(sizeof(*nested), GFP_KERNEL);
	if (!nested)
		return ERR_PTR(-ENOMEM);
	nested->domain.type = IOMMU_DOMAIN_NESTED;
	nested->domain.ops = &mock_nested_ops;
	nested->mv = mv;
	for (i = 0; i != MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
		nested->iotlb[i] = data.iotlb;
	return &nested->domain;
}

static const struct iommu_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_set_dirty_tracking,
	.read_and_clear_dirty = mock_read_and_clear_dirty,
};

static struct iommu_domain *
mock_domain_alloc_user(struct device *dev, u32 flags,
		       struct iommu_domain *parent,
		       const struct iommu_user_data *user_data)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	struct mock_iommu_domain *mock;

	const u32 valid = IOMMU_HWPT_ALLOC_NEST_PARENT |
			  IOMMU_HWPT_ALLOC_DIRTY_TRACKING;

	if (parent) {
		if (flags || !user_data)
			return ERR_PTR(-EOPNOTSUPP);
		return mock_nested_alloc(parent, NULL, user_data);
	}
	if (user_data || (flags & ~valid))
		return ERR_PTR(-EOPNOTSUPP);
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    (mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return ERR_PTR(-EOPNOTSUPP);

	mock = kzalloc(sizeof(*mock), GFP_KERNEL);
	if (!mock)
		return ERR_PTR(-ENOMEM);
	mock->domain.type = IOMMU_DOMAIN_UNMANAGED;
	mock->domain.ops = &mock_paging_ops;
	mock->domain.pgsize_bitmap = MOCK_IO_PAGE_SIZE;
	if (mdev->flags & MOCK_FLAGS_DEVICE_HUGE_IOVA)
		mock->domain.pgsize_bitmap |= MOCK_HUGE_PAGE_SIZE;
	mock->domain.geometry.aperture_start = MOCK_APERTURE_START;
	mock->domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	mock->domain.geometry.force_aperture = true;
	if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
		mock->domain.dirty_ops = &mock_dirty_ops;
	xa_init(&mock->pfns);
	return &mock->domain;
}

static bool mock_capable(struct device *dev, enum iommu_cap cap)
{
	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
		return true;
	case IOMMU_CAP_DIRTY_TRACKING:
		return !(to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
	default:
		return false;
	}
}

static void *mock_hw_info(struct device *dev, u32 *length, u32 *type)
{
	struct iommu_test_hw_info *info;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return ERR_PTR(-ENOMEM);
	info->test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL;
	*length = sizeof(*info);
	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	return info;
}

/* Mock devices all can fault; their faults queue here once turned on. */
static struct iopf_queue *mock_iopf_queue;

static int mock_dev_enable_feat(struct device *dev, enum iommu_dev_features f)
{
	if (f != IOMMU_DEV_FEAT_IOPF)
		return -ENODEV;
	return iopf_queue_add_device(mock_iopf_queue, dev);
}

static int mock_dev_disable_feat(struct device *dev, enum iommu_dev_features f)
{
	if (f != IOMMU_DEV_FEAT_IOPF)
		return -ENODEV;
	iopf_queue_remove_device(mock_iopf_queue, dev);
	return 0;
}

/* Nothing waits on the far side of a mock device's page request. */
static void mock_page_response(struct device *dev, struct iopf_fault *evt,
			       struct iommu_page_response *msg)
{
}

static struct iommu_device *mock_probe_device(struct device *dev)
{
	if (!iommufd_selftest_is_mock_dev(dev))
		return ERR_PTR(-ENODEV);
	return &mock_iommu_device;
}

/*
 * The core looks for a device's PASID width in its firmware description,
 * which mock devices have none of (a software node would do, but removing
 * one after device_add() failed half way frees it twice in 6.12): set it
 * once probing is over.
 */
static void mock_probe_finalize(struct device *dev)
{
	if (to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_PASID)
		dev->iommu->max_pasids = 1U << MOCK_PASID_WIDTH;
}

static const struct iommu_ops mock_ops = {
	.owner = THIS_MODULE,
	.pgsize_bitmap = MOCK_IO_PAGE_SIZE,
	.capable = mock_capable,
	.hw_info = mock_hw_info,
	.domain_alloc_user = mock_domain_alloc_user,
	.probe_device = mock_probe_device,
	.probe_finalize = mock_probe_finalize,
	.device_group = generic_device_group,
	.dev_enable_feat = mock_dev_enable_feat,
	.dev_disable_feat = mock_dev_disable_feat,
	.page_response = mock_page_response,
	.remove_dev_pasid = mock_remove_dev_pasid,
	/* PASID faults may go to a nested domain on the RID. */
	.user_pasid_table = true,
	.default_domain = &mock_blocking_domain,
	.blocked_domain = &mock_blocking_domain,
	.default_domain_ops = &mock_paging_ops,
};

/* ---------------------------------------------------------------------
 * The mock vIOMMU (IOMMU_VIOMMU_TYPE_SELFTEST).
 */

static struct mock_viommu *to_mock_viommu(struct iommufd_viommu *viommu)
{
	return iommufd_viommu_priv(viommu);
}

/*
 * The region a mock vIOMMU exports: two pages (as the selftest ABI has
 * it), the first starting with in_data.
 */
#define MOCK_VIOMMU_MMAP_ORDER 1
#define MOCK_VIOMMU_MMAP_SIZE (PAGE_SIZE << MOCK_VIOMMU_MMAP_ORDER)

/* Export pages holding @in_data for user space to mmap() and read back. */
static int mock_viommu_export_page(struct mock_viommu *mv, u32 in_data)
{
	int rc;

	mv->page = alloc_pages(GFP_KERNEL | __GFP_ZERO,
			       MOCK_VIOMMU_MMAP_ORDER);
	if (!mv->page)
		return -ENOMEM;
	*(u32 *)page_address(mv->page) = in_data;
	rc = iommufd_viommu_alloc_mmap(mv->core, page_to_phys(mv->page),
				       MOCK_VIOMMU_MMAP_SIZE, &mv->mmap_offset);
	if (rc) {
		__free_pages(mv->page, MOCK_VIOMMU_MMAP_ORDER);
		mv->page = NULL;
	}
	return rc;
}

static void mock_viommu_unexport_page(struct mock_viommu *mv)
{
	if (!mv->page)
		return;
	iommufd_viommu_destroy_mmap(mv->core, mv->mmap_offset);
	__free_pages(mv->page, MOCK_VIOMMU_MMAP_ORDER);
	mv->page = NULL;
}

/*
 * With driver data, the vIOMMU echoes in_data and exports a page that
 * holds it; without, it is plain.
 */
static int mock_viommu_init(struct iommufd_viommu *viommu,
			    struct iommu_domain *parent, struct device *dev,
			    const struct iommu_user_data *user_data)
{
	struct mock_viommu *mv = to_mock_viommu(viommu);
	struct iommu_viommu_selftest data;
	int rc;

	if (parent->ops != &mock_paging_ops)
		return -EINVAL;
	mv->core = viommu;
	mv->parent = parent;
	mutex_init(&mv->queues_lock);
	if (!user_data->len)
		return 0;

	rc = iommu_copy_struct_from_user(&data, user_data,
					 IOMMU_VIOMMU_TYPE_SELFTEST, in_data);
	if (rc)
		goto err_mutex;
	rc = mock_viommu_export_page(mv, data.in_data);
	if (rc)
		goto err_mutex;
	data.out_data = data.in_data;
	data.out_mmap_offset = mv->mmap_offset;
	data.out_mmap_length = MOCK_VIOMMU_MMAP_SIZE;
	if (copy_to_user(user_data->uptr, &data,
			 min_t(size_t, user_data->len, sizeof(data)))) {
		rc = -EFAULT;
		goto err_page;
	}
	return 0;

err_page:
	mock_viommu_unexport_page(mv);
err_mutex:
	mutex_destroy(&mv->queues_lock);
	return rc;
}

static void mock_viommu_destroy(struct iommufd_viommu *viommu)
{
	struct mock_viommu *mv = to_mock_viommu(viommu);

	mock_viommu_unexport_page(mv);
	mutex_destroy(&mv->queues_lock);
}

static struct iommu_domain *
mock_viommu_alloc_domain_nested(struct iommufd_viommu *viommu, u32 flags,
				const struct iommu_user_data *user_data)
{
	struct mock_viommu *mv = to_mock_viommu(viommu);

	if (flags & ~IOMMU_HWPT_ALLOC_PASID)
		return ERR_PTR(-EOPNOTSUPP);
	return mock_nested_alloc(mv->parent, mv, user_data);
}

/* Reset one entry, or all, of the pretend cache of the device @vdev_id. */
static int mock_viommu_invalidate_one(struct iommufd_viommu *viommu,
				      const struct iommu_viommu_invalidate_selftest *req)
{
	struct mock_dev *mdev;
	struct device *dev;
	unsigned int i;

	if (req->flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL)
		return -EOPNOTSUPP;
	dev = iommufd_viommu_find_dev(viommu, req->vdev_id);
	if (!dev)
		return -EINVAL;
	mdev = to_mock_dev(dev);
	if (req->flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) {
		for (i = 0; i != MOCK_DEV_CACHE_NUM; i++)
			WRITE_ONCE(mdev->cache[i], 0);
		return 0;
	}
	if (req->cache_id > MOCK_DEV_CACHE_ID_MAX)
		return -EINVAL;
	WRITE_ONCE(mdev->cache[req->cache_id], 0);
	return 0;
}

/* Requests are carried out in order up to the first bad one. */
static int mock_viommu_cache_invalidate(struct iommufd_viommu *viommu,
					struct iommu_user_data_array *reqs)
{
	const u32 type = IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST;
	struct iommu_viommu_invalidate_selftest req;
	u32 done;
	int rc = 0;

	for (done = 0; done != reqs->entry_num; done++) {
		cond_resched();
		rc = iommu_copy_struct_from_user_array(&req, reqs, type, done,
						       cache_id);
		if (!rc)
			rc = mock_viommu_invalidate_one(viommu, &req);
		if (rc)
			break;
	}
	reqs->entry_num = done;
	return rc;
}

static size_t mock_hw_queue_size(struct iommufd_viommu *viommu, u32 type)
{
	return type == IOMMU_HW_QUEUE_TYPE_SELFTEST ?
		       sizeof(struct mock_hw_queue) : 0;
}

/*
 * Queues come in index order, each holding the one before it: index 0
 * first (-EIO otherwise), no index twice (-EEXIST), at most
 * IOMMU_TEST_HW_QUEUE_MAX of them (-EINVAL).
 */
static int mock_hw_queue_init(struct iommufd_hw_queue *hw_queue, u32 index,
			      phys_addr_t base, size_t length)
{
	struct mock_viommu *mv = to_mock_viommu(iommufd_hw_queue_viommu(hw_queue));
	struct mock_hw_queue *q = iommufd_hw_queue_priv(hw_queue);
	struct mock_hw_queue *prev = NULL;
	int rc;

	if (index >= IOMMU_TEST_HW_QUEUE_MAX)
		return -EINVAL;

	guard(mutex)(&mv->queues_lock);
	if (mv->queues[index])
		return -EEXIST;
	if (index) {
		prev = mv->queues[index - 1];
		if (!prev)
			return -EIO;
		rc = iommufd_hw_queue_depend(hw_queue, prev->core);
		if (rc)
			return -EIO;
	}
	q->core = hw_queue;
	q->mv = mv;
	q->prev = prev;
	q->index = index;
	q->base = base;
	mv->queues[index] = q;
	return 0;
}

static void mock_hw_queue_destroy(struct iommufd_hw_queue *hw_queue)
{
	struct mock_hw_queue *q = iommufd_hw_queue_priv(hw_queue);

	guard(mutex)(&q->mv->queues_lock);
	q->mv->queues[q->index] = NULL;
	if (q->prev)
		iommufd_hw_queue_undepend(hw_queue, q->prev->core);
}

static const struct iommufd_viommu_ops mock_viommu_ops = {
	.destroy = mock_viommu_destroy,
	.alloc_domain_nested = mock_viommu_alloc_domain_nested,
	.cache_invalidate = mock_viommu_cache_invalidate,
	.hw_queue_size = mock_hw_queue_size,
	.hw_queue_init = mock_hw_queue_init,
	.hw_queue_destroy = mock_hw_queue_destroy,
};

static struct iommufd_viommu_driver mock_viommu_driver = {
	.iommu_ops = &mock_ops,
	.type = IOMMU_VIOMMU_TYPE_SELFTEST,
	.priv_size = sizeof(struct mock_viommu),
	.init = mock_viommu_init,
	.ops = &mock_viommu_ops,
	.owner = THIS_MODULE,
};

static void mock_dev_release(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	/*
	 * A device the IOMMU core released already had its dev_iommu freed;
	 * one that failed before or during probe still has ours.
	 */
	if (dev->iommu)
		dev_iommu_free(dev);
	ida_free(&mock_dev_ida, mdev->id);
	kfree(mdev);
}

/* Name the device and give it what the IOMMU core looks for at probe. */
static int mock_dev_describe(struct mock_dev *mdev)
{
	int rc;

	rc = dev_set_name(&mdev->dev, "iommufd_mock%u", mdev->id);
	if (rc)
		return rc;
	/* The core expects fwspecs set up under its probe lock. */
	mutex_lock(&iommu_probe_device_lock);
	rc = iommu_fwspec_init(&mdev->dev, &mock_iommu_fwnode);
	mutex_unlock(&iommu_probe_device_lock);
	return rc;
}

static struct mock_dev *mock_dev_create(u32 flags)
{
	const u32 valid = MOCK_FLAGS_DEVICE_NO_DIRTY |
			  MOCK_FLAGS_DEVICE_HUGE_IOVA | MOCK_FLAGS_DEVICE_PASID;
	struct mock_dev *mdev;
	unsigned int i;
	int rc;

	if (flags & ~valid)
		return ERR_PTR(-EINVAL);

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev)
		return ERR_PTR(-ENOMEM);
	rc = ida_alloc(&mock_dev_ida, GFP_KERNEL);
	if (rc < 0) {
		kfree(mdev);
		return ERR_PTR(rc);
	}
	mdev->id = rc;
	/* From here on the release callback frees mdev and its ID. */
	device_initialize(&mdev->dev);
	mdev->flags = flags;
	for (i = 0; i != MOCK_DEV_CACHE_NUM; i++)
		mdev->cache[i] = IOMMU_TEST_DEV_CACHE_DEFAULT;
	mdev->dev.release = mock_dev_release;
	mdev->dev.bus = &iommufd_mock_bus_type;

	rc = mock_dev_describe(mdev);
	if (!rc)
		rc = device_add(&mdev->dev);
	if (rc) {
		/* Dropping the initial reference runs the release callback. */
		put_device(&mdev->dev);
		return ERR_PTR(rc);
	}
	return mdev;
}

/* ---------------------------------------------------------------------
 * The SELFTEST object: a mock device bound and attached.
 */

struct selftest_obj {
	struct iommufd_object obj;
	struct mock_dev *mdev;
	struct iommufd_device *idev;
};

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct selftest_obj *sobj = container_of(obj, struct selftest_obj, obj);
	struct iommufd_pasid_attach *attach;
	unsigned long pasid;

	/* Nothing else changes the device any more. */
	xa_for_each(&sobj->idev->pasids, pasid, attach)
		iommufd_device_pasid_detach(sobj->idev, pasid);
	iommufd_device_detach(sobj->idev);
	iommufd_device_unbind(sobj->idev);
	device_unregister(&sobj->mdev->dev);
}

static int test_mock_domain(struct iommufd_ucmd *ucmd,
			    struct iommu_test_cmd *cmd, u32 dev_flags)
{
	struct selftest_obj *sobj;
	struct iommufd_device *idev;
	struct mock_dev *mdev;
	u32 pt_id = cmd->id;
	u32 idev_id;
	int rc;

	sobj = iommufd_object_alloc(ucmd->ictx, struct selftest_obj, obj,
				    IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);

	mdev = mock_dev_create(dev_flags);
	if (IS_ERR(mdev)) {
		rc = PTR_ERR(mdev);
		goto out_abort;
	}
	idev = iommufd_device_bind(ucmd->ictx, &mdev->dev, &idev_id);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto out_mdev;
	}
	rc = iommufd_device_attach(idev, &pt_id);
	if (rc)
		goto out_unbind;
	sobj->mdev = mdev;
	sobj->idev = idev;

	/* mock_domain and mock_domain_flags share their first members. */
	cmd->mock_domain.out_stdev_id = sobj->obj.id;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_idev_id = idev_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_detach;
	iommufd_object_finalize(ucmd->ictx, &sobj->obj);
	return 0;

out_detach:
	iommufd_device_detach(idev);
out_unbind:
	iommufd_device_unbind(idev);
out_mdev:
	device_unregister(&mdev->dev);
out_abort:
	iommufd_object_abort(ucmd->ictx, &sobj->obj);
	return rc;
}

static struct selftest_obj *get_selftest_obj(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	return container_of(obj, struct selftest_obj, obj);
}

static int test_mock_domain_replace(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj;
	u32 pt_id = cmd->mock_domain_replace.pt_id;
	int rc;

	sobj = get_selftest_obj(ucmd, cmd->id);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	rc = iommufd_device_replace(sobj->idev, &pt_id);
	if (!rc) {
		cmd->mock_domain_replace.pt_id = pt_id;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

static int test_add_reserved(struct iommufd_ucmd *ucmd,
			     struct iommu_test_cmd *cmd)
{
	unsigned long start = cmd->add_reserved.start;
	unsigned long length = cmd->add_reserved.length;
	struct iommufd_ioas *ioas;
	unsigned long last;
	int rc;

	if (!length || cmd->add_reserved.start != start ||
	    cmd->add_reserved.length != length ||
	    check_add_overflow(start, length - 1, &last))
		return -EOVERFLOW;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = iopt_reserve_iova(&ioas->iopt, start, last, NULL);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* The mock domain of a paging HWPT; the caller puts the HWPT. */
static struct iommufd_hw_pagetable *
get_mock_hwpt(struct iommufd_ucmd *ucmd, u32 id,
	      struct mock_iommu_domain **mock)
{
	struct iommufd_object *obj;
	struct iommufd_hw_pagetable *hwpt;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (hwpt->domain->ops != &mock_paging_ops) {
		iommufd_put_object(ucmd->ictx, obj);
		return ERR_PTR(-EINVAL);
	}
	*mock = to_mock_domain(hwpt->domain);
	return hwpt;
}

/* Check that the mock domain maps [iova, iova + length) to the user memory. */
static int test_md_check_map(struct iommufd_ucmd *ucmd,
			     struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->check_map.iova;
	unsigned long uptr = cmd->check_map.uptr;
	u64 left = cmd->check_map.length;
	struct iommufd_hw_pagetable *hwpt;
	struct mock_iommu_domain *mock;
	int rc = 0;

	if (iova % MOCK_IO_PAGE_SIZE || left % MOCK_IO_PAGE_SIZE ||
	    uptr % MOCK_IO_PAGE_SIZE || !left)
		return -EINVAL;

	hwpt = get_mock_hwpt(ucmd, cmd->id, &mock);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);

	for (; left; left -= MOCK_IO_PAGE_SIZE, iova += MOCK_IO_PAGE_SIZE,
	     uptr += MOCK_IO_PAGE_SIZE) {
		struct page *page;
		phys_addr_t want;
		void *ent;

		if (get_user_pages_fast(uptr & PAGE_MASK, 1, 0, &page) != 1) {
			rc = -EFAULT;
			break;
		}
		want = page_to_phys(page) + uptr % PAGE_SIZE;
		put_page(page);

		ent = xa_load(&mock->pfns, iova / MOCK_IO_PAGE_SIZE);
		if (!ent || mock_entry_phys(ent) != want) {
			rc = -EINVAL;
			break;
		}
	}
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
	return rc;
}

/*
 * Have the mock device behind the DEVICE object trigger_iopf.dev_id raise
 * a one-fault page request group. The group's lock is held so that the
 * device's attachment (the HWPT and FAULT object the fault goes to) holds
 * still while the IOMMU core delivers it.
 */
static int test_trigger_iopf(struct iommufd_ucmd *ucmd,
			     struct iommu_test_cmd *cmd)
{
	u32 perm = cmd->trigger_iopf.perm;
	struct iopf_fault event = {};
	struct iommufd_device *idev;
	int rc;

	if (perm & ~(IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE |
		     IOMMU_PGFAULT_PERM_EXEC | IOMMU_PGFAULT_PERM_PRIV))
		return -EINVAL;
	idev = iommufd_get_device(ucmd, cmd->trigger_iopf.dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	if (!iommufd_selftest_is_mock_dev(idev->dev)) {
		rc = -EINVAL;
		goto out_put;
	}

	event.fault.type = IOMMU_FAULT_PAGE_REQ;
	event.fault.prm.flags = IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
	if (cmd->trigger_iopf.pasid != IOMMU_NO_PASID)
		event.fault.prm.flags |= IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
	event.fault.prm.pasid = cmd->trigger_iopf.pasid;
	event.fault.prm.grpid = cmd->trigger_iopf.grpid;
	if (perm & IOMMU_PGFAULT_PERM_READ)
		event.fault.prm.perm |= IOMMU_FAULT_PERM_READ;
	if (perm & IOMMU_PGFAULT_PERM_WRITE)
		event.fault.prm.perm |= IOMMU_FAULT_PERM_WRITE;
	if (perm & IOMMU_PGFAULT_PERM_EXEC)
		event.fault.prm.perm |= IOMMU_FAULT_PERM_EXEC;
	if (perm & IOMMU_PGFAULT_PERM_PRIV)
		event.fault.prm.perm |= IOMMU_FAULT_PERM_PRIV;
	event.fault.prm.addr = cmd->trigger_iopf.addr;

	mutex_lock(&idev->igroup->lock);
	rc = iommu_report_device_fault(idev->dev, &event);
	mutex_unlock(&idev->igroup->lock);
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* Compare entry check_iotlb.id of the nested mock HWPT @id's pretend IOTLB. */
static int test_md_check_iotlb(struct iommufd_ucmd *ucmd,
			       struct iommu_test_cmd *cmd)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *obj;
	int rc = 0;

	if (cmd->check_iotlb.id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
		return -EINVAL;
	obj = iommufd_get_object(ucmd->ictx, cmd->id, IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (hwpt->domain->ops != &mock_nested_ops ||
	    to_mock_nested(hwpt->domain)->iotlb[cmd->check_iotlb.id] !=
		    cmd->check_iotlb.iotlb)
		rc = -EINVAL;
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/*
 * Mark dirty the I/O pages at iova + b * page_size for each bit b set in the
 * user bitmap, where something is mapped; report how many were marked.
 * Only while the domain tracks dirty pages.
 */
static int test_dirty(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->dirty.iova;
	unsigned long page_size = cmd->dirty.page_size;
	u64 length = cmd->dirty.length;
	void __user *uptr = u64_to_user_ptr(cmd->dirty.uptr);
	struct iommufd_hw_pagetable *hwpt;
	struct mock_iommu_domain *mock;
	unsigned long nbits, bit, marked = 0;
	unsigned long *bits;
	int rc = 0;

	if (iova != cmd->dirty.iova || page_size != cmd->dirty.page_size ||
	    !page_size || !length || !uptr || iova % page_size ||
	    length % page_size)
		return -EINVAL;
	/* No more bits than the aperture has I/O pages. */
	nbits = length / page_size;
	if (length > MOCK_APERTURE_LAST - MOCK_APERTURE_START + 1 ||
	    nbits > (MOCK_APERTURE_LAST - MOCK_APERTURE_START + 1) /
			    MOCK_IO_PAGE_SIZE)
		return -EINVAL;

	bits = bitmap_zalloc(nbits, GFP_KERNEL_ACCOUNT);
	if (!bits)
		return -ENOMEM;
	if (copy_from_user(bits, uptr, DIV_ROUND_UP(nbits, BITS_PER_BYTE))) {
		rc = -EFAULT;
		goto out_free;
	}

	hwpt = get_mock_hwpt(ucmd, cmd->id, &mock);
	if (IS_ERR(hwpt)) {
		rc = PTR_ERR(hwpt);
		goto out_free;
	}
	if (!READ_ONCE(mock->dirty_tracking)) {
		rc = -EINVAL;
		goto out_put;
	}

	for_each_set_bit(bit, bits, nbits) {
		unsigned long index = (iova + bit * page_size) /
				      MOCK_IO_PAGE_SIZE;
		void *entry;

		xa_lock(&mock->pfns);
		entry = xa_load(&mock->pfns, index);
		if (entry) {
			__xa_store(&mock->pfns, index,
				   xa_mk_value(xa_to_value(entry) |
					       MOCK_ENTRY_DIRTY),
				   GFP_ATOMIC);
			marked++;
		}
		xa_unlock(&mock->pfns);
	}
	cmd->dirty.out_nr_dirty = marked;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
out_free:
	bitmap_free(bits);
	return rc;
}

/*
 * Check the pin count of every small page in the user range: a pin adds
 * GUP_PIN_COUNTING_BIAS to the page's reference count. Large folios count
 * pins per folio and are not checked.
 */
static int test_md_check_refs(struct iommufd_ucmd *ucmd,
			      struct iommu_test_cmd *cmd)
{
	unsigned long uptr = cmd->check_refs.uptr;
	u64 left = cmd->check_refs.length;
	unsigned long end;

	if (left % PAGE_SIZE || uptr % PAGE_SIZE ||
	    check_add_overflow(uptr, (unsigned long)left, &end))
		return -EINVAL;

	for (; left; left -= PAGE_SIZE, uptr += PAGE_SIZE) {
		struct page *page;
		bool ok;

		if (get_user_pages_fast(uptr, 1, 0, &page) != 1)
			return -EFAULT;
		ok = PageCompound(page) ||
		     page_ref_count(page) / GUP_PIN_COUNTING_BIAS ==
			     cmd->check_refs.refs;
		put_page(page);
		if (!ok)
			return -EIO;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Accesses, each owned by a file descriptor.
 */

struct selftest_access {
	struct iommufd_access *access;
	struct file *file;
	struct mutex lock;	/* protects items and next_id */
	struct list_head items;
	unsigned int next_id;
};

struct selftest_access_item {
	struct list_head node;
	unsigned long iova;
	size_t length;
	unsigned int id;
};

static const struct file_operations selftest_access_fops;

/* The access behind a descriptor, with a file reference; fput() it. */
static struct selftest_access *selftest_access_get(int fd)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADFD);
	if (file->f_op != &selftest_access_fops) {
		fput(file);
		return ERR_PTR(-EBADFD);
	}
	return file->private_data;
}

static void selftest_access_unpin_item(struct selftest_access *staccess,
				       struct selftest_access_item *item)
{
	iommufd_access_unpin_pages(staccess->access, item->iova, item->length);
	list_del(&item->node);
	kfree(item);
}

/* The unmap callback: give back everything pinned in the range. */
static void selftest_access_unmap(void *data, unsigned long iova,
				  unsigned long length)
{
	struct selftest_access *staccess = data;
	struct selftest_access_item *item, *tmp;
	unsigned long last = iova + length - 1;

	mutex_lock(&staccess->lock);
	list_for_each_entry_safe(item, tmp, &staccess->items, node) {
		if (item->iova > last || item->iova + item->length - 1 < iova)
			continue;
		selftest_access_unpin_item(staccess, item);
	}
	mutex_unlock(&staccess->lock);
}

static const struct iommufd_access_ops selftest_access_ops_pin = {
	.needs_pin_pages = 1,
	.unmap = selftest_access_unmap,
};

static const struct iommufd_access_ops selftest_access_ops = {
	.unmap = selftest_access_unmap,
};

static int selftest_access_release(struct inode *inode, struct file *filep)
{
	struct selftest_access *staccess = filep->private_data;

	/*
	 * As VFIO's emulated devices do on unbind: destroying detaches,
	 * which unpins everything through the unmap callback.
	 */
	if (staccess->access)
		iommufd_access_destroy(staccess->access);
	WARN_ON(!list_empty(&staccess->items));
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return 0;
}

static const struct file_operations selftest_access_fops = {
	.release = selftest_access_release,
};

static int test_create_access(struct iommufd_ucmd *ucmd,
			      struct iommu_test_cmd *cmd)
{
	u32 flags = cmd->create_access.flags;
	struct selftest_access *staccess;
	struct iommufd_access *access;
	struct file *file;
	u32 access_id;
	int fd, rc;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;

	staccess = kzalloc(sizeof(*staccess), GFP_KERNEL_ACCOUNT);
	if (!staccess)
		return -ENOMEM;
	INIT_LIST_HEAD(&staccess->items);
	mutex_init(&staccess->lock);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		rc = fd;
		goto out_free;
	}
	file = anon_inode_getfile("[iommufd_test_access]",
				  &selftest_access_fops, staccess, O_RDWR);
	if (IS_ERR(file)) {
		rc = PTR_ERR(file);
		goto out_put_fd;
	}
	/* From here on the file's release frees staccess. */
	staccess->file = file;

	access = iommufd_access_create(ucmd->ictx,
				       (flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) ?
					       &selftest_access_ops_pin :
					       &selftest_access_ops,
				       staccess, &access_id);
	if (IS_ERR(access)) {
		rc = PTR_ERR(access);
		goto out_fput;
	}
	staccess->access = access;
	rc = iommufd_access_attach(access, cmd->id);
	if (rc)
		goto out_fput;

	cmd->create_access.out_access_fd = fd;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_fput;
	fd_install(fd, file);
	return 0;

out_fput:
	put_unused_fd(fd);
	fput(file);
	return rc;
out_put_fd:
	put_unused_fd(fd);
out_free:
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return rc;
}

static int test_access_replace_ioas(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd)
{
	struct selftest_access *staccess = selftest_access_get(cmd->id);
	int rc;

	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	rc = iommufd_access_replace(staccess->access,
				    cmd->access_replace_ioas.ioas_id);
	fput(staccess->file);
	return rc;
}

/* Whether pinned @pages are the pages mapped at user address @uptr. */
static int check_pages_match(struct page **pages, unsigned long npages,
			     unsigned long uptr)
{
	unsigned long i;

	for (i = 0; i != npages; i++, uptr += PAGE_SIZE) {
		struct page *page;
		bool same;

		if (get_user_pages_fast(uptr, 1, 0, &page) != 1)
			return -EFAULT;
		same = page == pages[i];
		put_page(page);
		if (!same)
			return -EINVAL;
	}
	return 0;
}

static int test_access_pages(struct iommufd_ucmd *ucmd,
			     struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->access_pages.iova;
	unsigned long length = cmd->access_pages.length;
	unsigned long uptr = cmd->access_pages.uptr;
	u32 flags = cmd->access_pages.flags;
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	unsigned long npages, end;
	struct page **pages;
	int rc;

	if (flags & ~MOCK_FLAGS_ACCESS_WRITE)
		return -EOPNOTSUPP;
	if (!length || cmd->access_pages.iova != iova ||
	    cmd->access_pages.length != length ||
	    check_add_overflow(iova, length, &end))
		return -EOVERFLOW;
	/* Like ACCESS_RW: the page array must stay a sane allocation. */
	if (length > SZ_64M)
		return -EINVAL;

	staccess = selftest_access_get(cmd->id);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	if (staccess->access->ops != &selftest_access_ops_pin) {
		rc = -EOPNOTSUPP;
		goto out_fput;
	}

	npages = (ALIGN(end, PAGE_SIZE) - ALIGN_DOWN(iova, PAGE_SIZE)) /
		 PAGE_SIZE;
	pages = kvcalloc(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages) {
		rc = -ENOMEM;
		goto out_fput;
	}

	/* Pin and record under the lock so unmap always finds the item. */
	mutex_lock(&staccess->lock);
	rc = iommufd_access_pin_pages(staccess->access, iova, length, pages,
				      (flags & MOCK_FLAGS_ACCESS_WRITE) ?
					      IOMMUFD_ACCESS_RW_WRITE : 0);
	if (rc)
		goto out_unlock;
	if (uptr) {
		rc = check_pages_match(pages, npages, uptr & PAGE_MASK);
		if (rc)
			goto out_unpin;
	}
	item = kzalloc(sizeof(*item), GFP_KERNEL_ACCOUNT);
	if (!item) {
		rc = -ENOMEM;
		goto out_unpin;
	}
	item->iova = iova;
	item->length = length;
	item->id = staccess->next_id++;
	list_add_tail(&item->node, &staccess->items);

	cmd->access_pages.out_access_pages_id = item->id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		selftest_access_unpin_item(staccess, item);
		goto out_unlock;
	}
	goto out_unlock;

out_unpin:
	iommufd_access_unpin_pages(staccess->access, iova, length);
out_unlock:
	mutex_unlock(&staccess->lock);
	kvfree(pages);
out_fput:
	fput(staccess->file);
	return rc;
}

static int test_destroy_access_pages(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct selftest_access *staccess = selftest_access_get(cmd->id);
	struct selftest_access_item *item;
	int rc = -ENOENT;

	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	mutex_lock(&staccess->lock);
	list_for_each_entry(item, &staccess->items, node) {
		if (item->id == cmd->destroy_access_pages.access_pages_id) {
			selftest_access_unpin_item(staccess, item);
			rc = 0;
			break;
		}
	}
	mutex_unlock(&staccess->lock);
	fput(staccess->file);
	return rc;
}

static int test_access_rw(struct iommufd_ucmd *ucmd,
			  struct iommu_test_cmd *cmd)
{
	void __user *uptr = u64_to_user_ptr(cmd->access_rw.uptr);
	unsigned long iova = cmd->access_rw.iova;
	size_t length = cmd->access_rw.length;
	u32 flags = cmd->access_rw.flags;
	struct selftest_access *staccess;
	unsigned int rw_flags = 0;
	void *buf;
	int rc;

	if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH))
		return -EOPNOTSUPP;
	if (cmd->access_rw.iova != iova || cmd->access_rw.length != length ||
	    length > SZ_64M)
		return -EINVAL;
	if (flags & MOCK_ACCESS_RW_WRITE)
		rw_flags |= IOMMUFD_ACCESS_RW_WRITE;
	if (flags & MOCK_ACCESS_RW_SLOW_PATH)
		rw_flags |= __IOMMUFD_ACCESS_RW_SLOW_PATH;

	staccess = selftest_access_get(cmd->id);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);

	buf = kvzalloc(length, GFP_KERNEL_ACCOUNT);
	if (!buf) {
		rc = -ENOMEM;
		goto out_fput;
	}
	if ((flags & MOCK_ACCESS_RW_WRITE) && copy_from_user(buf, uptr, length)) {
		rc = -EFAULT;
		goto out_free;
	}
	rc = iommufd_access_rw(staccess->access, iova, buf, length, rw_flags);
	if (!rc && !(flags & MOCK_ACCESS_RW_WRITE) &&
	    copy_to_user(uptr, buf, length))
		rc = -EFAULT;
out_free:
	kvfree(buf);
out_fput:
	fput(staccess->file);
	return rc;
}

/* The mock device behind the DEVICE object @id, with a lookup reference. */
static struct iommufd_device *get_mock_idev(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_device *idev;

	idev = iommufd_get_device(ucmd, id);
	if (IS_ERR(idev))
		return idev;
	if (!iommufd_selftest_is_mock_dev(idev->dev)) {
		iommufd_put_object(ucmd->ictx, &idev->obj);
		return ERR_PTR(-EINVAL);
	}
	return idev;
}

/* Compare entry check_dev_cache.id of the mock device @id's cache. */
static int test_dev_check_cache(struct iommufd_ucmd *ucmd,
				struct iommu_test_cmd *cmd)
{
	struct iommufd_device *idev;
	int rc = 0;

	if (cmd->check_dev_cache.id > MOCK_DEV_CACHE_ID_MAX)
		return -EINVAL;
	idev = get_mock_idev(ucmd, cmd->id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	if (READ_ONCE(to_mock_dev(idev->dev)->cache[cmd->check_dev_cache.id]) !=
	    cmd->check_dev_cache.cache)
		rc = -EINVAL;
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/*
 * Have the mock device behind trigger_vevent.dev_id raise an event on the
 * vIOMMU its nested HWPT belongs to, under its virtual ID there. The
 * group's lock keeps that attachment, and so the vIOMMU, in place.
 * -ENOENT if the device is not attached through a vIOMMU or has no
 * vDEVICE on it.
 */
static int test_trigger_vevent(struct iommufd_ucmd *ucmd,
			       struct iommu_test_cmd *cmd)
{
	struct iommu_viommu_event_selftest event = {};
	struct iommufd_hwpt_nested *nested;
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_device *idev;
	u64 virt_id;
	int rc = -ENOENT;

	idev = get_mock_idev(ucmd, cmd->trigger_vevent.dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	mutex_lock(&idev->igroup->lock);
	hwpt = idev->igroup->hwpt;
	if (!hwpt || hwpt->obj.type != IOMMUFD_OBJ_HWPT_NESTED)
		goto out_unlock;
	nested = container_of(hwpt, struct iommufd_hwpt_nested, common);
	if (!nested->viommu)
		goto out_unlock;
	rc = iommufd_viommu_get_vdev_id(nested->viommu, idev->dev, &virt_id);
	if (rc)
		goto out_unlock;
	event.virt_id = virt_id;
	rc = iommufd_viommu_report_event(nested->viommu,
					 IOMMU_VEVENTQ_TYPE_SELFTEST, &event,
					 sizeof(event));
out_unlock:
	mutex_unlock(&idev->igroup->lock);
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* PASID attach, replace and detach of the mock device @id. */
static int test_pasid_change(struct iommufd_ucmd *ucmd,
			     struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj;
	u32 pt_id;
	int rc = 0;

	sobj = get_selftest_obj(ucmd, cmd->id);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	switch (cmd->op) {
	case IOMMU_TEST_OP_PASID_ATTACH:
		pt_id = cmd->pasid_attach.pt_id;
		rc = iommufd_device_pasid_attach(sobj->idev,
						 cmd->pasid_attach.pasid,
						 &pt_id);
		break;
	case IOMMU_TEST_OP_PASID_REPLACE:
		pt_id = cmd->pasid_replace.pt_id;
		rc = iommufd_device_pasid_replace(sobj->idev,
						  cmd->pasid_replace.pasid,
						  &pt_id);
		break;
	default:
		iommufd_device_pasid_detach(sobj->idev,
					    cmd->pasid_detach.pasid);
		break;
	}
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

/*
 * Check what the IOMMU core has PASID pasid_check.pasid of the mock device
 * @id attached to: the domain of the HWPT pasid_check.hwpt_id, or nothing
 * for 0. The group's lock keeps the attachment still meanwhile.
 */
static int test_pasid_check_hwpt(struct iommufd_ucmd *ucmd,
				 struct iommu_test_cmd *cmd)
{
	struct iommufd_hw_pagetable *hwpt = NULL;
	struct iommu_attach_handle *handle;
	struct iommufd_object *obj = NULL;
	struct selftest_obj *sobj;
	struct iommufd_group *igroup;
	int rc = 0;

	sobj = get_selftest_obj(ucmd, cmd->id);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	if (cmd->pasid_check.hwpt_id) {
		obj = iommufd_get_object(ucmd->ictx, cmd->pasid_check.hwpt_id,
					 IOMMUFD_OBJ_ANY);
		if (IS_ERR(obj)) {
			rc = PTR_ERR(obj);
			obj = NULL;
			goto out_put;
		}
		if (obj->type != IOMMUFD_OBJ_HWPT_PAGING &&
		    obj->type != IOMMUFD_OBJ_HWPT_NESTED) {
			rc = -EINVAL;
			goto out_put;
		}
		hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	}

	igroup = sobj->idev->igroup;
	mutex_lock(&igroup->lock);
	handle = iommu_attach_handle_get(igroup->group,
					 cmd->pasid_check.pasid, 0);
	if (IS_ERR(handle))
		rc = hwpt ? -EINVAL : 0;
	else if (!hwpt || handle->domain != hwpt->domain)
		rc = -EINVAL;
	mutex_unlock(&igroup->lock);
out_put:
	if (obj)
		iommufd_put_object(ucmd->ictx, obj);
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

/* The smallest useful limit: one run of the engine's PFN batches. */
#define TEST_MEMORY_LIMIT_MIN 16

int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return test_add_reserved(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
		return test_mock_domain(ucmd, cmd, 0);
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return test_mock_domain(ucmd, cmd,
					cmd->mock_domain_flags.dev_flags);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return test_mock_domain_replace(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return test_md_check_map(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return test_md_check_refs(ucmd, cmd);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return test_create_access(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return test_access_replace_ioas(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return test_access_pages(ucmd, cmd);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return test_destroy_access_pages(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_RW:
		return test_access_rw(ucmd, cmd);
	case IOMMU_TEST_OP_DIRTY:
		return test_dirty(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_IOTLB:
		return test_md_check_iotlb(ucmd, cmd);
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		return test_trigger_iopf(ucmd, cmd);
	case IOMMU_TEST_OP_DEV_CHECK_CACHE:
		return test_dev_check_cache(ucmd, cmd);
	case IOMMU_TEST_OP_TRIGGER_VEVENT:
		return test_trigger_vevent(ucmd, cmd);
	case IOMMU_TEST_OP_PASID_ATTACH:
	case IOMMU_TEST_OP_PASID_REPLACE:
	case IOMMU_TEST_OP_PASID_DETACH:
		return test_pasid_change(ucmd, cmd);
	case IOMMU_TEST_OP_PASID_CHECK_HWPT:
		return test_pasid_check_hwpt(ucmd, cmd);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		if (cmd->memory_limit.limit < TEST_MEMORY_LIMIT_MIN)
			return -EINVAL;
		iommufd_test_memory_limit = cmd->memory_limit.limit;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

int __init iommufd_test_init(void)
{
	int rc;

	dbgfs_root = fault_create_debugfs_attr("fail_iommufd", NULL,
					       &fail_iommufd);

	mock_iopf_queue = iopf_queue_alloc("mock-iopfq");
	if (!mock_iopf_queue) {
		rc = -ENOMEM;
		goto err_dbgfs;
	}
	rc = bus_register(&iommufd_mock_bus_type);
	if (rc)
		goto err_iopf;
	rc = iommu_device_sysfs_add(&mock_iommu_device, NULL, NULL, "%s",
				    "iommufd-mock");
	if (rc)
		goto err_bus;
	mock_iommu_device.max_pasids = 1U << MOCK_PASID_WIDTH;
	rc = iommu_device_register_bus(&mock_iommu_device, &mock_ops,
				       &iommufd_mock_bus_type, &mock_bus_nb);
	if (rc)
		goto err_sysfs;
	rc = iommufd_viommu_driver_register(&mock_viommu_driver);
	if (rc)
		goto err_register;
	return 0;

err_register:
	iommu_device_unregister_bus(&mock_iommu_device, &iommufd_mock_bus_type,
				    &mock_bus_nb);
err_sysfs:
	iommu_device_sysfs_remove(&mock_iommu_device);
err_bus:
	bus_unregister(&iommufd_mock_bus_type);
err_iopf:
	iopf_queue_free(mock_iopf_queue);
err_dbgfs:
	debugfs_remove_recursive(dbgfs_root);
	return rc;
}

void iommufd_test_exit(void)
{
	iommufd_viommu_driver_unregister(&mock_viommu_driver);
	iommu_device_unregister_bus(&mock_iommu_device, &iommufd_mock_bus_type,
				    &mock_bus_nb);
	iommu_device_sysfs_remove(&mock_iommu_device);
	bus_unregister(&iommufd_mock_bus_type);
	iopf_queue_free(mock_iopf_queue);
	debugfs_remove_recursive(dbgfs_root);
}
