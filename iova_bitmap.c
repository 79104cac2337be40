// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writing dirty-page bitmaps straight into user memory.
 *
 * A caller (an IOMMU driver reporting dirty IOVAs, or a VFIO migration
 * driver) is given an IOVA range and a user array of u64 in which bit b,
 * counting from bit 0 of data[0], stands for the IOVA bytes
 * [iova + b * page_size, iova + (b + 1) * page_size).
 *
 * The user bitmap can be far larger than anything worth pinning at once, so
 * it is processed through a window: iova_bitmap_for_each() pins at most one
 * page of page pointers' worth of the user array, calls back with the IOVA
 * range that part covers, and moves on. Inside the callback
 * iova_bitmap_set() sets bits through the pinned pages. A set that runs past
 * the window's end is remembered and replayed into the next window, so
 * callers may report ranges without knowing where windows end.
 *
 * Bit numbers ("bit", "first", "last") count from bit 0 of the whole user
 * array; "last" is inclusive. Bits are set as bitmap_set() sets them in
 * memory starting at the array, which is the u64 array the callers' uAPIs
 * describe when it is u64 aligned, and on little-endian machines at any
 * alignment (bit b is then bit b % 8 of byte b / 8). So the array may have
 * any alignment; every window holds whole bytes, and each after the first
 * starts at a page boundary.
 */
#include <linux/highmem.h>
#include <linux/iova_bitmap.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#define IOVA_BITMAP_WINDOW_PAGES (PAGE_SIZE / sizeof(struct page *))
#define BITS_PER_PAGE_BYTES (PAGE_SIZE * BITS_PER_BYTE)

/**
 * struct iova_bitmap - a user bitmap being filled in
 * @iova: the IOVA bit 0 stands for
 * @length: bytes of IOVA the bitmap covers
 * @pgshift: log2 of the IOVA bytes one bit stands for
 * @data: the user array
 * @nbits: bits needed to cover @length
 * @pages: the pinned user pages of the window
 * @npinned: how many entries of @pages are pinned; 0 outside a callback
 * @win_first: the first bit in the window
 * @win_last: the last bit in the window
 * @win_offset: byte offset of @win_first's byte in the first pinned page
 * @pend_first: first bit of a set that ran past the window, or ULONG_MAX
 * @pend_last: last bit of that set
 */
struct iova_bitmap {
	unsigned long iova;
	size_t length;
	unsigned int pgshift;
	u64 __user *data;
	unsigned long nbits;

	struct page **pages;
	unsigned long npinned;
	unsigned long win_first;
	unsigned long win_last;
	unsigned long win_offset;

	unsigned long pend_first;
	unsigned long pend_last;
};

/**
 * iova_bitmap_alloc() - prepare to write a dirty bitmap into user memory
 * @iova: the IOVA that bit 0 stands for
 * @length: bytes of IOVA to cover; not 0
 * @page_size: IOVA bytes per bit; a power of two
 * @data: the user's u64 array; any alignment
 *
 * Return: the bitmap, to be released with iova_bitmap_free(), or an
 * ERR_PTR: -EINVAL for bad arguments, -ENOMEM.
 */
struct iova_bitmap *iova_bitmap_alloc(unsigned long iova, size_t length,
				      unsigned long page_size,
				      u64 __user *data)
{
	struct iova_bitmap *bitmap;

	if (!length || !is_power_of_2(page_size))
		return ERR_PTR(-EINVAL);

	bitmap = kzalloc(sizeof(*bitmap), GFP_KERNEL);
	if (!bitmap)
		return ERR_PTR(-ENOMEM);
	bitmap->pages = (struct page **)__get_free_page(GFP_KERNEL);
	if (!bitmap->pages) {
		kfree(bitmap);
		return ERR_PTR(-ENOMEM);
	}
	bitmap->iova = iova;
	bitmap->length = length;
	bitmap->pgshift = __ffs(page_size);
	bitmap->data = data;
	bitmap->nbits = ((length - 1) >> bitmap->pgshift) + 1;
	bitmap->pend_first = ULONG_MAX;
	return bitmap;
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_alloc, IOMMUFD);

/**
 * iova_bitmap_free() - release what iova_bitmap_alloc() returned
 * @bitmap: the bitmap
 */
void iova_bitmap_free(struct iova_bitmap *bitmap)
{
	if (IS_ERR_OR_NULL(bitmap))
		return;
	free_page((unsigned long)bitmap->pages);
	kfree(bitmap);
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_free, IOMMUFD);

/*
 * Pin the user bytes holding bits from @first on, as many as fit. @first
 * is a multiple of 8: windows hold whole bytes.
 */
static int iova_bitmap_pin_window(struct iova_bitmap *bitmap,
				  unsigned long first)
{
	unsigned long uaddr = (unsigned long)bitmap->data +
			      first / BITS_PER_BYTE;
	unsigned long last_uaddr = (unsigned long)bitmap->data +
				   (bitmap->nbits - 1) / BITS_PER_BYTE;
	unsigned long start = uaddr & PAGE_MASK;
	unsigned long npages, win_bits;
	long pinned;

	npages = min_t(unsigned long, IOVA_BITMAP_WINDOW_PAGES,
		       ((last_uaddr - start) >> PAGE_SHIFT) + 1);
	pinned = pin_user_pages_fast(start, npages, FOLL_WRITE, bitmap->pages);
	if (pinned <= 0)
		return pinned ? pinned : -EFAULT;

	bitmap->npinned = pinned;
	bitmap->win_first = first;
	bitmap->win_offset = uaddr - start;
	win_bits = (pinned * PAGE_SIZE - bitmap->win_offset) * BITS_PER_BYTE;
	bitmap->win_last = min(bitmap->nbits - 1, first + win_bits - 1);
	return 0;
}

static void iova_bitmap_unpin_window(struct iova_bitmap *bitmap)
{
	unpin_user_pages_dirty_lock(bitmap->pages, bitmap->npinned, true);
	bitmap->npinned = 0;
}

/* Set bits [first, last], all inside the window. */
static void iova_bitmap_fill(struct iova_bitmap *bitmap, unsigned long first,
			     unsigned long last)
{
	unsigned long pos = bitmap->win_offset * BITS_PER_BYTE +
			    (first - bitmap->win_first);
	unsigned long left = last - first + 1;

	while (left) {
		unsigned long in_page = pos % BITS_PER_PAGE_BYTES;
		unsigned long n = min(left, BITS_PER_PAGE_BYTES - in_page);
		void *kaddr;

		kaddr = kmap_local_page(bitmap->pages[pos / BITS_PER_PAGE_BYTES]);
		bitmap_set(kaddr, in_page, n);
		kunmap_local(kaddr);
		pos += n;
		left -= n;
	}
}

/* Set bits [first, last]; what lies past the window waits for the next. */
static void iova_bitmap_set_bits(struct iova_bitmap *bitmap,
				 unsigned long first, unsigned long last)
{
	last = min(last, bitmap->nbits - 1);
	if (first > last)
		return;

	if (last > bitmap->win_last) {
		unsigned long ahead = max(first, bitmap->win_last + 1);

		if (bitmap->pend_first == ULONG_MAX) {
			bitmap->pend_first = ahead;
			bitmap->pend_last = last;
		} else {
			bitmap->pend_first = min(bitmap->pend_first, ahead);
			bitmap->pend_last = max(bitmap->pend_last, last);
		}
		last = bitmap->win_last;
	}
	first = max(first, bitmap->win_first);
	if (first <= last)
		iova_bitmap_fill(bitmap, first, last);
}

/**
 * iova_bitmap_set() - mark an IOVA range dirty
 * @bitmap: the bitmap, inside an iova_bitmap_for_each() callback
 * @iova: start of the dirty range
 * @length: its length in bytes
 *
 * Every bit the range touches is set. Parts of the range beyond the current
 * window are recorded and set when the window reaches them; parts outside
 * the bitmap are ignored.
 */
void iova_bitmap_set(struct iova_bitmap *bitmap, unsigned long iova,
		     size_t length)
{
	unsigned long end;

	if (!length || !bitmap->npinned)
		return;
	if (check_add_overflow(iova, length - 1, &end))
		end = ULONG_MAX;
	if (end < bitmap->iova)
		return;
	iova = max(iova, bitmap->iova);
	iova_bitmap_set_bits(bitmap, (iova - bitmap->iova) >> bitmap->pgshift,
			     (end - bitmap->iova) >> bitmap->pgshift);
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_set, IOMMUFD);

/**
 * iova_bitmap_for_each() - walk the bitmap window by window
 * @bitmap: the bitmap
 * @opaque: passed to @fn
 * @fn: called once per window with the IOVA range the window covers; it
 *      reports dirty IOVAs with iova_bitmap_set() and returns 0 to go on
 *
 * Return: 0 once every window was processed, the first non-zero return of
 * @fn, or -EFAULT when the user array cannot be pinned.
 */
int iova_bitmap_for_each(struct iova_bitmap *bitmap, void *opaque,
			 iova_bitmap_fn_t fn)
{
	unsigned long first = 0;
	int rc;

	while (first < bitmap->nbits) {
		u64 offset, span;

		rc = iova_bitmap_pin_window(bitmap, first);
		if (rc)
			return rc;

		if (bitmap->pend_first != ULONG_MAX) {
			unsigned long pf = bitmap->pend_first;

			bitmap->pend_first = ULONG_MAX;
			iova_bitmap_set_bits(bitmap, pf, bitmap->pend_last);
		}

		offset = (u64)first << bitmap->pgshift;
		if (check_shl_overflow((u64)(bitmap->win_last - first + 1),
				       bitmap->pgshift, &span))
			span = U64_MAX;
		rc = fn(bitmap, bitmap->iova + offset,
			min_t(u64, span, bitmap->length - offset), opaque);
		iova_bitmap_unpin_window(bitmap);
		if (rc)
			return rc;
		first = bitmap->win_last + 1;
	}
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_for_each, IOMMUFD);
