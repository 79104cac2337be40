// SPDX-License-Identifier: GPL-2.0-only
/*
 * dma_soak - a real device DMAs while its I/O address space keeps changing
 *
 *   dma_soak [--seconds N] [--seed N] [--edu N] [--progress N]
 *
 * QEMU's edu device is bound through its VFIO cdev to /dev/iommu and
 * attached to an IOAS, "live", behind whatever IOMMU the machine has (VT-d
 * for make soak). For --seconds (default 60) two threads race:
 *
 *   the mapper changes the live IOAS, one ioctl at a time: it maps
 *   page-aligned pieces of buffers (anonymous 4 KiB pages, THP, hugetlbfs,
 *   memfd through a user address and memfd through IOMMU_IOAS_MAP_FILE),
 *   read-write or read-only, at fixed IOVAs or at ones the kernel picks;
 *   copies mappings (IOMMU_IOAS_COPY) within live and to and from a second
 *   IOAS, "hold", which has no device; unmaps single mappings, runs of
 *   them, the whole window, and ranges the kernel must refuse because they
 *   cut a mapping;
 *
 *   the DMA thread has edu write to and read from random IOVAs of the
 *   window, both where the model says they are mapped and, every two
 *   seconds or so, where they are not.
 *
 * The model. Every mapping the kernel holds is an area here: an IOVA range
 * of one IOAS (struct space, areas sorted by IOVA), backed by part of an
 * origin, with the mapping's own permission. An origin is what one
 * IOMMU_IOAS_MAP or MAP_FILE call pinned (one struct iopt_pages in the
 * kernel): a range of a buffer, and whether it was pinned for writing.
 * Copies make new areas of existing origins. The buffers ("backings") stay
 * the same for the whole run, and each has a shadow: the bytes it must
 * hold.
 *
 * Locking. soak.lock is held across every ioctl that changes an IOAS and
 * across every DMA, so what the model says is mapped is exactly what the
 * IOMMU translates while a DMA runs. It protects the spaces and the
 * origins. The contents of the backings and their shadows belong to the
 * DMA thread alone: nothing but that thread, or a DMA it started and
 * waited for, writes them, so it compares them without the lock.
 *
 * Checks; a failed one is a violation, and any violation makes the exit
 * status 1:
 *   - every IOAS ioctl returns what the model predicts (0, EEXIST, ENOENT,
 *     EPERM, ENOSPC), an unmap the bytes the model says it removes, and an
 *     automatic IOVA the lowest free one of the alignment the kernel
 *     promises; on a disagreement the model is lost and the run stops;
 *   - after each change, VmPin and VmLck (the file charges the process:
 *     IOMMU_OPTION_RLIMIT_MODE 1) exceed their start values by the pages
 *     the origins have mapped in live (hold has no domain: it pins
 *     nothing);
 *   - a DMA to memory at writable IOVAs lands in the shadow bytes the
 *     model names and nowhere else in any buffer; a DMA from memory
 *     returns the shadow bytes (edu has no window onto its buffer, so the
 *     thread reads them back through a fixed "sink" mapping);
 *   - a DMA to IOVAs with nothing (writable) mapped changes no buffer,
 *     those unmapped moments ago included, and the IOMMU logs a new fault
 *     at one of its pages (read from /dev/kmsg); a DMA that should pass
 *     logs none. One exception: QEMU's VT-d checks permissions only when
 *     it walks the page table, not when its IOTLB already holds the page,
 *     so a write to a read-only mapping that a read DMA went through
 *     earlier is dropped without a fault. A blocked write that meets only
 *     read-only mappings may therefore go unlogged; it is counted, and it
 *     must still change nothing;
 *   - at the end, everything unmapped, VmPin and VmLck are back at their
 *     start values, and still are once every object and fd is closed.
 *
 * IOVAs. Everything lies in [WIN_BASE, WIN_END), below edu's 28-bit DMA
 * mask: two fixed mappings at WIN_BASE ("staging", whose bytes a write DMA
 * carries, and the sink), then the churn region, [CHURN_BASE, WIN_END),
 * where the mapper works, the DMAs aim and automatic IOVAs are allowed.
 * The hold IOAS uses [HPG, HOLD_END). An "end" here is exclusive.
 *
 * Pacing. A DMA whose pages are partly reachable is never issued: QEMU
 * translates page by page, so what lands of it is not a single answer.
 * The VT-d driver prints at most 10 lines per 5 s and a fault costs two
 * (its status and its record), so blocked DMAs come at most one per
 * FAULT_GAP_MS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>

#include "edu_vfio.h"
#include "iommufd_ioctls.h"

#define PG		4096ULL
#define HPG		(2ULL << 20)	/* a huge page: THP, hugetlbfs */
#define WIN_BASE	0x1000000ULL	/* 16 MiB */
#define WIN_END		0x3000000ULL	/* 48 MiB */
#define CHURN_BASE	(WIN_BASE + HPG)
#define STAGE_IOVA	WIN_BASE
#define SINK_IOVA	(WIN_BASE + PG)
#define HOLD_END	0x4000000ULL
#define MAX_AREAS	256
#define MAX_ORIGINS	512
#define MAX_BACKINGS	24
#define XFER_MAX	(EDU_BUF_SIZE - 1)
#define FAULT_GAP_MS	2000
#define FAULT_WAIT_MS	3000
#define FAULT_WAIT_RO_MS 300	/* when the fault may not come at all */
#define MAX_REPORTS	40	/* violations printed in full */
#define MAX_VIOLATIONS	500	/* then the run stops */
#define HISTORY		24	/* IOAS changes remembered for a report */
#define PATTERN_TAG	0x5a00000000000000ULL
#define CANARY_TAG	0xc300000000000000ULL
#define STAGE		0	/* backings of the two fixed mappings */
#define SINK		1

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum bkind { B_FIXED, B_ANON, B_THP, B_HUGETLB, B_MEMFD, B_MEMFD_HUGE };

static const char *const bkind_name[] = {
	"fixed", "anon", "thp", "hugetlb", "memfd", "memfd-huge",
};

/* The buffers: the two fixed ones first. */
static const struct {
	enum bkind kind;
	__u64 len;
	unsigned int count;
} pool[] = {
	{ B_FIXED, PG, 2 },
	{ B_ANON, 16 << 10, 4 },
	{ B_ANON, 64 << 10, 2 },
	{ B_ANON, 1 << 20, 1 },
	{ B_ANON, 4 << 20, 1 },
	{ B_THP, 4 << 20, 2 },
	{ B_HUGETLB, 4 << 20, 1 },
	{ B_MEMFD, 2 << 20, 2 },
	{ B_MEMFD_HUGE, 4 << 20, 1 },
};

struct backing {
	enum bkind kind;
	__u8 *va;		/* the process's view */
	__u8 *shadow;		/* what the view must show */
	__u64 len;
	int memfd;		/* -1 unless file backed */
};

struct origin {
	int backing;		/* -1: the slot is free */
	__u64 boff, len;	/* the range of the backing it pinned */
	bool writable;		/* pinned for writing */
	unsigned int areas;	/* areas of either IOAS using it */
};

struct area {
	__u64 iova, len;
	int origin;
	__u64 ooff;		/* where in the origin the area starts */
	bool writable;		/* this mapping's IOMMU_IOAS_MAP_WRITEABLE */
	bool fixed;		/* staging or sink: the mapper leaves it */
	bool read_seen;		/* a read DMA went through it */
};

struct space {
	__u32 id;
	unsigned int n;
	struct area a[MAX_AREAS];
};

enum op {
	OP_MAP, OP_MAP_FILE, OP_MAP_AUTO, OP_COPY, OP_STASH, OP_RESTORE,
	OP_UNMAP, OP_UNMAP_RUN, OP_UNMAP_RANGE, OP_UNMAP_WINDOW, OP_DROP,
	OP_NR
};

static const char *const op_name[OP_NR] = {
	"map", "map_file", "map_auto", "copy", "stash", "restore",
	"unmap", "unmap_run", "unmap_range", "unmap_window", "drop",
};

/* Counted by both threads with atomics, read by the progress report. */
struct counts {
	unsigned long writes_ok, writes_blocked, reads_ok, reads_blocked;
	unsigned long blocked_unlogged;	/* behind an IOMMU that logs none */
	unsigned long ro_silent;	/* write to read-only, no fault */
	unsigned long ro_silent_unread;	/* ... nor a read through it before */
	unsigned long dmas;		/* every DMA, fixed ones included */
	unsigned long changes, refused;
	unsigned long op[OP_NR];
	unsigned long edu_unchanged, edu_zeroed, edu_other;
	unsigned long late_faults, suppressed;
	unsigned long violations;
};

/* Where a DMA of the DMA thread goes. */
struct target {
	__u64 iova;
	__u32 n;
	bool blocked;		/* the model says it must not pass */
	bool read_only;		/* blocked by read-only mappings alone */
	bool read_seen;		/* and a read DMA went through each */
	unsigned int np;
	struct {
		int backing;
		__u64 boff;
		__u32 pos, len;	/* bytes [pos, pos + len) of the transfer */
	} p[3];
	char where[320];	/* the DMA and the model's view of it */
};

struct dma_state {
	__u64 rng;
	__u64 seq;		/* of the last write DMA */
	__u64 last_blocked_ms;
	__u64 prev_first, prev_last;	/* pages of the last blocked DMA */
	unsigned long klog_lost;
	__u32 edu_known;	/* edu's buffer [0, edu_known) is edu_buf */
	__u8 edu_buf[EDU_BUF_SIZE];
	__u8 expect[EDU_BUF_SIZE];
};

struct soak {
	pthread_mutex_t lock;	/* see "Locking" above */
	int fd;
	struct edu edu;
	struct space live, hold;
	struct origin origin[MAX_ORIGINS];
	struct backing b[MAX_BACKINGS];
	unsigned int nb;
	bool have_memfd;
	long pin0, lck0;	/* VmPin, VmLck at the start, KiB */
	bool lck_charged;	/* RLIMIT_MODE 1: pins show in VmLck too */
	bool pins_bad;		/* reported; report again once it recovers */
	bool faults_logged;	/* the IOMMU logs faults (not QEMU's AMD-Vi) */
	int klog;
	int stop;
	__u64 seed;
	struct dma_state dma;
	struct counts c;

	pthread_mutex_t hist_lock;	/* the history ring */
	char hist[HISTORY][192];
	unsigned int hist_next;
};

#define COUNT(s, field) __atomic_fetch_add(&(s)->c.field, 1, __ATOMIC_RELAXED)
#define COUNTED(s, field) __atomic_load_n(&(s)->c.field, __ATOMIC_RELAXED)

static __u64 min_u64(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

static __u64 max_u64(__u64 a, __u64 b)
{
	return a > b ? a : b;
}

/* xorshift64*: reproducible from --seed, one state per thread. */
static __u64 rnd(__u64 *st)
{
	__u64 x = *st;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*st = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static __u64 below(__u64 *st, __u64 n)
{
	return n ? rnd(st) % n : 0;
}

static __u64 now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000ULL + t.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec t = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000L,
	};

	nanosleep(&t, NULL);
}

static bool stopped(struct soak *s)
{
	return __atomic_load_n(&s->stop, __ATOMIC_RELAXED);
}

static void stop(struct soak *s)
{
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------------
 * Reports
 */

/* Remember an IOAS change, to print with the first violation. */
static void note_op(struct soak *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->hist_lock);
	va_start(ap, fmt);
	vsnprintf(s->hist[s->hist_next % HISTORY], sizeof(s->hist[0]), fmt,
		  ap);
	va_end(ap);
	s->hist_next++;
	pthread_mutex_unlock(&s->hist_lock);
}

static void print_history(struct soak *s)
{
	unsigned int i, first;

	pthread_mutex_lock(&s->hist_lock);
	first = s->hist_next > HISTORY ? s->hist_next - HISTORY : 0;
	printf("soak:   the last %u IOAS changes, oldest first:\n",
	       s->hist_next - first);
	for (i = first; i != s->hist_next; i++)
		printf("soak:     %s\n", s->hist[i % HISTORY]);
	pthread_mutex_unlock(&s->hist_lock);
}

static void violation(struct soak *s, const char *fmt, ...)
{
	unsigned long n = __atomic_add_fetch(&s->c.violations, 1,
					     __ATOMIC_RELAXED);
	char msg[768];
	va_list ap;

	if (n >= MAX_VIOLATIONS)
		stop(s);
	if (n > MAX_REPORTS) {
		if (n == MAX_REPORTS + 1)
			printf("soak: more violations: counting only\n");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("soak: VIOLATION: %s\n", msg);
	if (n == 1)
		print_history(s);
	fflush(stdout);
}

/* ---------------------------------------------------------------------
 * Buffers
 */

static bool huge_kind(enum bkind kind)
{
	return kind == B_THP || kind == B_HUGETLB || kind == B_MEMFD_HUGE;
}

/* Every 8 bytes name the buffer and their offset in it. */
static void fill_canary(__u8 *p, __u64 len, unsigned int id)
{
	__u64 i, w;

	for (i = 0; i < len; i += 8) {
		w = CANARY_TAG | (__u64)id << 40 | i / 8;
		memcpy(p + i, &w, 8);
	}
}

/* The bytes write DMA number @seq carries: words naming it and their place. */
static void fill_pattern(__u8 *p, __u32 n, __u64 seq)
{
	__u32 i;
	__u64 w;

	for (i = 0; i < n; i += 8) {
		w = PATTERN_TAG | seq << 16 | i / 8;
		memcpy(p + i, &w, min_u64(8, n - i));
	}
}

/* @len bytes of anonymous memory starting at a huge page boundary. */
static void *map_huge_aligned(__u64 len)
{
	__u8 *p = mmap(NULL, len + HPG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 head;

	if (p == MAP_FAILED)
		return p;
	head = (HPG - (uintptr_t)p % HPG) % HPG;
	if (head)
		munmap(p, head);
	munmap(p + head + len, HPG - head);
	return p + head;
}

static int backing_alloc(struct backing *b, enum bkind kind, __u64 len,
			 unsigned int id)
{
	int prot = PROT_READ | PROT_WRITE;
	void *p = MAP_FAILED;
	int rc;

	b->kind = kind;
	b->len = len;
	b->memfd = -1;
	switch (kind) {
	case B_FIXED:
	case B_ANON:
		p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		/* Keep these in 4 KiB pages; failure only loses that. */
		if (p != MAP_FAILED)
			madvise(p, len, MADV_NOHUGEPAGE);
		break;
	case B_THP:
		p = map_huge_aligned(len);
		if (p != MAP_FAILED && madvise(p, len, MADV_HUGEPAGE)) {
			rc = -errno;
			munmap(p, len);
			return rc;
		}
		break;
	case B_HUGETLB:
		p = mmap(NULL, len, prot,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		break;
	case B_MEMFD:
	case B_MEMFD_HUGE:
		b->memfd = memfd_create("dma_soak", MFD_CLOEXEC |
					(kind == B_MEMFD_HUGE ? MFD_HUGETLB : 0));
		if (b->memfd >= 0 && !ftruncate(b->memfd, len))
			p = mmap(NULL, len, prot, MAP_SHARED, b->memfd, 0);
		break;
	}
	if (p == MAP_FAILED) {
		rc = -errno;
		if (b->memfd >= 0)
			close(b->memfd);
		return rc;
	}
	b->va = p;
	b->shadow = malloc(len);
	if (!b->shadow) {
		munmap(p, len);
		if (b->memfd >= 0)
			close(b->memfd);
		return -ENOMEM;
	}
	fill_canary(b->va, len, id);
	memcpy(b->shadow, b->va, len);
	return 0;
}

static void backing_free(struct backing *b)
{
	munmap(b->va, b->len);
	if (b->memfd >= 0)
		close(b->memfd);
	free(b->shadow);
}

/* ---------------------------------------------------------------------
 * The model
 */

/* The first area of @sp that ends after @iova; sp->n if there is none. */
static unsigned int space_seek(const struct space *sp, __u64 iova)
{
	unsigned int lo = 0, hi = sp->n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (sp->a[mid].iova + sp->a[mid].len <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct area *space_at(const struct space *sp, __u64 iova)
{
	unsigned int i = space_seek(sp, iova);

	return i < sp->n && sp->a[i].iova <= iova ? &sp->a[i] : NULL;
}

/* Whether an area of @sp meets [iova, iova + len). */
static bool space_busy(const struct space *sp, __u64 iova, __u64 len)
{
	unsigned int i = space_seek(sp, iova);

	return i < sp->n && sp->a[i].iova < iova + len;
}

static void space_add(struct soak *s, struct space *sp, const struct area *a)
{
	unsigned int i = space_seek(sp, a->iova);

	memmove(&sp->a[i + 1], &sp->a[i], (sp->n - i) * sizeof(*a));
	sp->a[i] = *a;
	sp->n++;
	s->origin[a->origin].areas++;
}

static void space_del(struct soak *s, struct space *sp, unsigned int i)
{
	struct origin *o = &s->origin[sp->a[i].origin];

	if (!--o->areas)
		o->backing = -1;
	memmove(&sp->a[i], &sp->a[i + 1], (sp->n - i - 1) * sizeof(sp->a[0]));
	sp->n--;
}

static unsigned int movable_areas(const struct space *sp)
{
	unsigned int i, n = 0;

	for (i = 0; i != sp->n; i++)
		n += !sp->a[i].fixed;
	return n;
}

/* A random area the mapper may touch; there must be one. */
static unsigned int pick_area(const struct space *sp, __u64 *st)
{
	unsigned int i, k = below(st, movable_areas(sp));

	for (i = 0;; i++)
		if (!sp->a[i].fixed && !k--)
			return i;
}

static int origin_new(struct soak *s, unsigned int backing, __u64 boff,
		      __u64 len, bool writable)
{
	int i;

	for (i = 0; i != MAX_ORIGINS; i++) {
		if (s->origin[i].backing < 0) {
			s->origin[i] = (struct origin) {
				.backing = backing,
				.boff = boff,
				.len = len,
				.writable = writable,
			};
			return i;
		}
	}
	return -1;
}

static unsigned int origins_free(const struct soak *s)
{
	unsigned int i, n = 0;

	for (i = 0; i != MAX_ORIGINS; i++)
		n += s->origin[i].backing < 0;
	return n;
}

/*
 * IOMMU_IOAS_UNMAP of [iova, iova + len) on @sp: -ENOENT when a mapping
 * lies partly inside or none inside; else 0, with the bytes it removes.
 */
static int predict_unmap(const struct space *sp, __u64 iova, __u64 len,
			 __u64 *bytes)
{
	unsigned int i;

	*bytes = 0;
	for (i = space_seek(sp, iova); i < sp->n && sp->a[i].iova < iova + len;
	     i++) {
		if (sp->a[i].iova < iova ||
		    sp->a[i].iova + sp->a[i].len > iova + len)
			return -ENOENT;
		*bytes += sp->a[i].len;
	}
	return *bytes ? 0 : -ENOENT;
}

static void apply_unmap(struct soak *s, struct space *sp, __u64 iova,
			__u64 len)
{
	unsigned int i = space_seek(sp, iova);

	while (i < sp->n && sp->a[i].iova < iova + len)
		space_del(s, sp, i);
}

/* A piece of a copy: one source area's share. */
struct cpiece {
	int origin;
	__u64 ooff, len;
};

/*
 * The source side of IOMMU_IOAS_COPY of [iova, iova + len) of @src: the
 * pieces its areas give, in order, and 0; -ENOENT when the range has a
 * gap, -EPERM when @writable asks for memory pinned read-only.
 */
static int copy_source(const struct soak *s, const struct space *src,
		       __u64 iova, __u64 len, bool writable,
		       struct cpiece *p, unsigned int *np)
{
	__u64 cur = iova, end = iova + len, to;
	bool read_only = false;
	unsigned int i, n = 0;

	*np = 0;
	for (i = space_seek(src, iova); i < src->n && cur < end; i++) {
		const struct area *a = &src->a[i];

		if (a->iova > cur)
			return -ENOENT;
		to = min_u64(end, a->iova + a->len);
		p[n].origin = a->origin;
		p[n].ooff = a->ooff + (cur - a->iova);
		p[n].len = to - cur;
		n++;
		read_only |= !s->origin[a->origin].writable;
		cur = to;
	}
	if (cur < end)
		return -ENOENT;
	*np = n;
	return writable && read_only ? -EPERM : 0;
}

/* The areas a successful copy made at @iova of @dst. */
static void apply_copy(struct soak *s, struct space *dst, __u64 iova,
		       const struct cpiece *p, unsigned int n, bool writable)
{
	struct area a = { .writable = writable };
	unsigned int i;

	for (i = 0; i != n; i++) {
		a.iova = iova;
		a.len = p[i].len;
		a.origin = p[i].origin;
		a.ooff = p[i].ooff;
		space_add(s, dst, &a);
		iova += p[i].len;
	}
}

/* Page ranges of origins, for counting what is pinned. */
struct pin_range {
	int origin;
	__u64 first, end;	/* in pages of the origin */
};

static int pin_range_cmp(const void *x, const void *y)
{
	const struct pin_range *a = x, *b = y;

	if (a->origin != b->origin)
		return a->origin < b->origin ? -1 : 1;
	return a->first < b->first ? -1 : a->first > b->first;
}

/*
 * The pages the kernel must have pinned: for each origin, those its areas
 * in live cover, each once. Areas in hold pin nothing.
 */
static __u64 model_pinned_pages(const struct soak *s)
{
	struct pin_range r[MAX_AREAS];
	unsigned int i, n = s->live.n;
	__u64 pages = 0, end = 0;

	for (i = 0; i != n; i++) {
		r[i].origin = s->live.a[i].origin;
		r[i].first = s->live.a[i].ooff / PG;
		r[i].end = (s->live.a[i].ooff + s->live.a[i].len) / PG;
	}
	qsort(r, n, sizeof(r[0]), pin_range_cmp);
	for (i = 0; i != n; i++) {
		if (!i || r[i].origin != r[i - 1].origin)
			end = 0;
		if (r[i].end > end) {
			pages += r[i].end - max_u64(r[i].first, end);
			end = r[i].end;
		}
	}
	return pages;
}

static void check_pins(struct soak *s, const char *after)
{
	long want = model_pinned_pages(s) * (PG / 1024);
	long pin = vm_pinned_kb() - s->pin0;
	long lck = vm_locked_kb() - s->lck0;
	bool bad = pin != want || lck != (s->lck_charged ? want : 0);

	if (bad && !s->pins_bad)
		violation(s, "after %s: VmPin +%ld KiB, VmLck +%ld KiB, model %ld KiB",
			  after, pin, lck, want);
	s->pins_bad = bad;
}

/*
 * The lowest IOVA in [start, end) aligned to @align with @len bytes free in
 * @sp: where automatic allocation must put a mapping.
 */
static bool lowest_hole(const struct space *sp, __u64 start, __u64 end,
			__u64 len, __u64 align, __u64 *iova)
{
	unsigned int i = space_seek(sp, start);
	__u64 cur = start, gap_end, at;

	for (;; i++) {
		gap_end = i < sp->n ? min_u64(sp->a[i].iova, end) : end;
		at = (cur + align - 1) & ~(align - 1);
		if (at + len <= gap_end) {
			*iova = at;
			return true;
		}
		if (i >= sp->n || sp->a[i].iova >= end)
			return false;
		cur = max_u64(cur, sp->a[i].iova + sp->a[i].len);
	}
}

/*
 * The alignment the kernel gives an automatic IOVA: the mapping's length
 * rounded up to a power of two, but no more than the alignment of @hint
 * (the user address), and at least a page.
 */
static __u64 auto_align(__u64 len, __u64 hint)
{
	__u64 a = 1;

	while (a < len)
		a <<= 1;
	if (hint && (hint & -hint) < a)
		a = hint & -hint;
	return max_u64(a, PG);
}

/* ---------------------------------------------------------------------
 * The mapper
 */

/* A non-fixed buffer; one with a memfd if @file. */
static unsigned int pick_backing(struct soak *s, __u64 *st, bool file)
{
	unsigned int i;

	for (;;) {
		i = 2 + below(st, s->nb - 2);
		if (!file || s->b[i].memfd >= 0)
			return i;
	}
}

/*
 * A page-aligned piece of @b: on memory in huge pages, half the time whole
 * huge pages (*huge), to be mapped at a huge-page-aligned IOVA.
 */
static void pick_range(__u64 *st, const struct backing *b, __u64 *off,
		       __u64 *len, bool *huge)
{
	__u64 pages = b->len / PG, units, first, n;

	*huge = huge_kind(b->kind) && below(st, 2);
	if (*huge) {
		units = b->len / HPG;
		first = below(st, units);
		*off = first * HPG;
		*len = (1 + below(st, units - first)) * HPG;
		return;
	}
	switch (below(st, 3)) {
	case 0:
		n = 1;
		break;
	case 1:
		n = 1 + below(st, 16);
		break;
	default:
		n = 1 + below(st, pages);
		break;
	}
	n = min_u64(n, pages);
	*off = below(st, pages - n + 1) * PG;
	*len = n * PG;
}

/* An @align-aligned IOVA for @len bytes in [base, end); base is aligned. */
static __u64 pick_iova(__u64 *st, __u64 base, __u64 end, __u64 len,
		       __u64 align)
{
	return base + below(st, (end - base - len) / align + 1) * align;
}

/*
 * The kernel answered @rc where the model predicted @want. If they differ
 * the model no longer knows what is mapped: report it and stop the run.
 */
static bool agree(struct soak *s, const char *what, int rc, int want)
{
	if (rc == want)
		return true;
	violation(s, "%s: kernel %d (%s), model %d (%s); model lost, stopping",
		  what, rc, strerror(-rc), want, strerror(-want));
	stop(s);
	return false;
}

/*
 * Record @op and hold the kernel's answer @rc against the model's @want.
 * True only when both say it was done: the model must then apply it.
 */
static bool done_as_predicted(struct soak *s, enum op op, const char *what,
			      int rc, int want)
{
	note_op(s, "%s", what);
	COUNT(s, op[op]);
	if (!agree(s, what, rc, want))
		return false;
	if (rc)
		COUNT(s, refused);
	return !rc;
}

static void changed(struct soak *s, const char *what)
{
	COUNT(s, changes);
	check_pins(s, what);
}

static void op_map(struct soak *s, __u64 *st, enum op op)
{
	bool file = op == OP_MAP_FILE, automatic = op == OP_MAP_AUTO, huge;
	unsigned int bi = pick_backing(s, st, file);
	struct backing *b = &s->b[bi];
	__u64 off, len, iova = 0, align = PG;
	bool writable = automatic || below(st, 5);
	__u32 flags = IOMMU_IOAS_MAP_READABLE |
		      (writable ? IOMMU_IOAS_MAP_WRITEABLE : 0);
	struct area a = { .writable = writable };
	char what[192];
	uint64_t got = 0;
	int rc, want;

	pick_range(st, b, &off, &len, &huge);
	if (automatic) {
		align = auto_align(len, (uintptr_t)(b->va + off));
		want = lowest_hole(&s->live, CHURN_BASE, WIN_END, len, align,
				   &iova) ? 0 : -ENOSPC;
		rc = ioas_map_auto(s->fd, s->live.id, b->va + off, len, &got);
		snprintf(what, sizeof(what),
			 "map_auto %s#%u+0x%llx len 0x%llx rw: got 0x%llx, rc %d",
			 bkind_name[b->kind], bi, off, len,
			 rc ? 0ULL : (unsigned long long)got, rc);
	} else {
		iova = pick_iova(st, CHURN_BASE, WIN_END, len, huge ? HPG : PG);
		want = space_busy(&s->live, iova, len) ? -EEXIST : 0;
		if (file)
			rc = ioas_map_file(s->fd, s->live.id, b->memfd, off,
					   len, iova, flags);
		else
			rc = ioas_map(s->fd, s->live.id, b->va + off, len,
				      iova, flags);
		snprintf(what, sizeof(what),
			 "%s %s#%u+0x%llx len 0x%llx at 0x%llx %s: rc %d",
			 op_name[op], bkind_name[b->kind], bi, off, len, iova,
			 writable ? "rw" : "ro", rc);
	}
	note_op(s, "%s", what);
	COUNT(s, op[op]);
	if (automatic && !rc) {
		/* Wherever it went, it must be somewhere free and allowed. */
		if (got < CHURN_BASE || got + len > WIN_END || got % align ||
		    space_busy(&s->live, got, len)) {
			violation(s, "%s: not a free, allowed IOVA aligned to 0x%llx; stopping",
				  what, align);
			stop(s);
			return;
		}
		if (want || got != iova)
			violation(s, "%s: the lowest free IOVA aligned to 0x%llx is %s0x%llx",
				  what, align, want ? "none, not " : "",
				  want ? (unsigned long long)got : iova);
		iova = got;
	} else if (automatic && rc == -ENOSPC) {
		if (!want)
			violation(s, "%s: ENOSPC, but 0x%llx is free", what,
				  iova);
		COUNT(s, refused);
		return;
	} else if (!agree(s, what, rc, want)) {
		return;
	}
	if (rc) {
		COUNT(s, refused);
		return;
	}
	a.iova = iova;
	a.len = len;
	a.origin = origin_new(s, bi, off, len, writable);
	space_add(s, &s->live, &a);
	changed(s, what);
}

/*
 * A range to copy from @src: from a page of a random area to a page of
 * that area or, sometimes, of one of the next three, gaps and all.
 */
static bool pick_copy_source(__u64 *st, const struct space *src, __u64 *iova,
			     __u64 *len)
{
	const struct area *a, *b;
	unsigned int i, j;
	__u64 first, end;

	if (!movable_areas(src))
		return false;
	i = pick_area(src, st);
	j = below(st, 5) < 2 ? i + below(st, 4) : i;
	j = j < src->n ? j : src->n - 1;
	a = &src->a[i];
	b = &src->a[j];
	first = a->iova + below(st, a->len / PG) * PG;
	if (i == j)
		end = first + (1 + below(st, (a->iova + a->len - first) / PG)) * PG;
	else
		end = b->iova + (1 + below(st, b->len / PG)) * PG;
	*iova = first;
	*len = end - first;
	return true;
}

/* OP_COPY within live, OP_STASH from live to hold, OP_RESTORE back. */
static void op_copy(struct soak *s, __u64 *st, enum op op)
{
	struct space *src = op == OP_RESTORE ? &s->hold : &s->live;
	struct space *dst = op == OP_STASH ? &s->hold : &s->live;
	__u64 base = dst == &s->live ? CHURN_BASE : HPG;
	__u64 end = dst == &s->live ? WIN_END : HOLD_END;
	bool writable = below(st, 10) < 7;
	__u32 flags = IOMMU_IOAS_MAP_READABLE |
		      (writable ? IOMMU_IOAS_MAP_WRITEABLE : 0);
	struct cpiece p[MAX_AREAS];
	__u64 iova, len, to, align;
	unsigned int n;
	char what[192];
	int rc, want;

	if (!pick_copy_source(st, src, &iova, &len) || len > end - base)
		return;
	want = copy_source(s, src, iova, len, writable, p, &n);
	if (dst->n + n + 1 > MAX_AREAS)
		return;
	align = !(iova % HPG) && !(len % HPG) && below(st, 2) ? HPG : PG;
	to = pick_iova(st, base, end, len, align);
	if (!want && space_busy(dst, to, len))
		want = -EEXIST;
	rc = ioas_copy(s->fd, dst->id, to, src->id, iova, len, flags);
	snprintf(what, sizeof(what),
		 "%s 0x%llx len 0x%llx (%u areas) to 0x%llx %s: rc %d",
		 op_name[op], iova, len, n, to, writable ? "rw" : "ro", rc);
	if (!done_as_predicted(s, op, what, rc, want))
		return;
	apply_copy(s, dst, to, p, n, writable);
	changed(s, what);
}

/* The unmaps: of live (OP_UNMAP*) or of hold (OP_DROP). */
static void op_unmap(struct soak *s, __u64 *st, enum op op)
{
	struct space *sp = op == OP_DROP ? &s->hold : &s->live;
	__u64 iova, len, bytes;
	unsigned int i, j;
	char what[192];
	uint64_t done;
	int rc, want;

	if (op != OP_UNMAP_RANGE && op != OP_UNMAP_WINDOW &&
	    !movable_areas(sp))
		return;
	switch (op) {
	case OP_UNMAP_RUN:
		i = pick_area(sp, st);
		j = min_u64(i + 1 + below(st, 3), sp->n - 1);
		iova = sp->a[i].iova;
		len = sp->a[j].iova + sp->a[j].len - iova;
		break;
	case OP_UNMAP_RANGE:
		len = PG * (1 + below(st, below(st, 2) ? 16 : 1024));
		iova = pick_iova(st, CHURN_BASE, WIN_END, len, PG);
		break;
	case OP_UNMAP_WINDOW:
		iova = CHURN_BASE;
		len = WIN_END - CHURN_BASE;
		break;
	default:
		i = pick_area(sp, st);
		iova = sp->a[i].iova;
		len = sp->a[i].len;
		break;
	}
	want = predict_unmap(sp, iova, len, &bytes);
	rc = ioas_unmap(s->fd, sp->id, iova, len, &done);
	snprintf(what, sizeof(what), "%s 0x%llx len 0x%llx: rc %d, 0x%llx bytes",
		 op_name[op], iova, len, rc, (unsigned long long)done);
	if (!done_as_predicted(s, op, what, rc, want))
		return;
	if (done != bytes) {
		violation(s, "%s: the model has 0x%llx bytes there; stopping",
			  what, bytes);
		stop(s);
		return;
	}
	apply_unmap(s, sp, iova, len);
	changed(s, what);
}

/* Grow while the window is emptyish, shrink while it is fullish. */
static enum op choose_op(struct soak *s, __u64 *st)
{
	static const enum op grow_ops[] = {
		OP_MAP, OP_MAP, OP_MAP, OP_MAP_FILE, OP_MAP_FILE, OP_MAP_AUTO,
		OP_COPY, OP_COPY, OP_RESTORE,
	};
	bool room = s->live.n + 8 < MAX_AREAS && s->hold.n + 8 < MAX_AREAS &&
		    origins_free(s) > 8;
	__u64 mapped = 0, fill, grow, r;
	unsigned int i;
	enum op op;

	for (i = 0; i != s->live.n; i++)
		mapped += s->live.a[i].fixed ? 0 : s->live.a[i].len;
	fill = mapped * 100 / (WIN_END - CHURN_BASE);
	grow = !room ? 0 : fill < 15 ? 75 : fill < 40 ? 50 : 20;
	if (below(st, 100) < grow) {
		op = grow_ops[below(st, ARRAY_SIZE(grow_ops))];
		return op == OP_MAP_FILE && !s->have_memfd ? OP_MAP : op;
	}
	if (s->hold.n > 32 || (s->hold.n && !below(st, 8)))
		return OP_DROP;
	if (room && !below(st, 6))
		return OP_STASH;
	r = below(st, 100);
	return r < 50 ? OP_UNMAP : r < 75 ? OP_UNMAP_RUN :
	       r < 98 ? OP_UNMAP_RANGE : OP_UNMAP_WINDOW;
}

static void *mapper(void *arg)
{
	struct soak *s = arg;
	__u64 st = s->seed ^ 0x9e3779b97f4a7c15ULL;
	enum op op;

	while (!stopped(s)) {
		pthread_mutex_lock(&s->lock);
		op = choose_op(s, &st);
		if (op == OP_MAP || op == OP_MAP_FILE || op == OP_MAP_AUTO)
			op_map(s, &st, op);
		else if (op == OP_COPY || op == OP_STASH || op == OP_RESTORE)
			op_copy(s, &st, op);
		else
			op_unmap(s, &st, op);
		pthread_mutex_unlock(&s->lock);
		/* Let the DMA thread have the lock between changes. */
		sleep_ms(1 + below(&st, 10));
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * The DMA thread
 */

/* Mostly short transfers, often nearly the most edu takes. */
static __u32 pick_count(__u64 *st)
{
	switch (below(st, 4)) {
	case 0:
		return 1 + below(st, 64);
	case 1:
		return 1 + below(st, 512);
	default:
		return 1 + below(st, XFER_MAX);
	}
}

/*
 * Where a DMA of t->n bytes at t->iova goes by the model, page by page:
 * 1 if every page can be reached (t->p filled in), 0 if none can, -1 if
 * some can.
 */
static int reach(const struct soak *s, struct target *t, bool write)
{
	__u64 cur = t->iova, end = t->iova + t->n, next;
	unsigned int ok = 0, blocked = 0, read_only = 0, read_seen = 0;
	const struct area *a;

	t->np = 0;
	for (; cur < end; cur = next) {
		next = min_u64(end, (cur & ~(PG - 1)) + PG);
		a = space_at(&s->live, cur);
		if (!a || (write && !a->writable)) {
			blocked++;
			read_only += !!a;
			read_seen += a && a->read_seen;
			continue;
		}
		t->p[t->np].backing = s->origin[a->origin].backing;
		t->p[t->np].boff = s->origin[a->origin].boff + a->ooff +
				   (cur - a->iova);
		t->p[t->np].pos = cur - t->iova;
		t->p[t->np].len = next - cur;
		t->np++;
		ok++;
	}
	t->read_only = blocked && read_only == blocked;
	t->read_seen = blocked && read_seen == blocked;
	return !blocked ? 1 : !ok ? 0 : -1;
}

/* A read DMA went through the areas under @t: QEMU's IOTLB may hold them. */
static void mark_read(struct soak *s, const struct target *t)
{
	unsigned int i;
	__u64 page;

	for (page = t->iova & ~(PG - 1); page < t->iova + t->n; page += PG) {
		i = space_seek(&s->live, page);
		if (i < s->live.n && s->live.a[i].iova <= page)
			s->live.a[i].read_seen = true;
	}
}

/* The DMA and the model's view of its pages, for reports. */
static void describe(const struct soak *s, struct target *t, const char *dir)
{
	__u64 page = t->iova & ~(PG - 1), end = t->iova + t->n;
	const struct area *a;
	size_t used;

	used = snprintf(t->where, sizeof(t->where),
			"%s DMA of %u bytes at 0x%llx (", dir, t->n, t->iova);
	for (; page < end && used < sizeof(t->where); page += PG) {
		a = space_at(&s->live, page);
		if (!a)
			used += snprintf(t->where + used, sizeof(t->where) - used,
					 "%spage 0x%llx unmapped",
					 page > (t->iova & ~(PG - 1)) ? "; " : "",
					 page);
		else
			used += snprintf(t->where + used, sizeof(t->where) - used,
					 "%spage 0x%llx in 0x%llx+0x%llx %s of %s#%d+0x%llx",
					 page > (t->iova & ~(PG - 1)) ? "; " : "",
					 page, a->iova, a->len,
					 a->writable ? "rw" : "ro",
					 bkind_name[s->b[s->origin[a->origin].backing].kind],
					 s->origin[a->origin].backing,
					 s->origin[a->origin].boff + a->ooff +
					 (page - a->iova));
	}
	if (used + 1 < sizeof(t->where))
		strcat(t->where, ")");
}

/*
 * A target of t->n bytes in the churn region that the model says a DMA
 * (a write if @write) can reach, or, if @want_blocked, cannot reach at
 * all. If no blocked target turns up, a reachable one will do; if no
 * reachable one does, none (a blocked DMA now would break the pacing).
 * Called with the lock held.
 */
static bool pick_target(struct soak *s, struct dma_state *d,
			struct target *t, bool write, bool want_blocked)
{
	unsigned int tries, n = movable_areas(&s->live);
	struct target any;
	bool have_any = false;
	const struct area *a;
	int r;

	for (tries = 0; tries != 100; tries++) {
		if (n && below(&d->rng, 2)) {
			a = &s->live.a[pick_area(&s->live, &d->rng)];
			t->iova = a->iova + below(&d->rng, a->len);
			if (t->iova + t->n > WIN_END)
				continue;
		} else {
			t->iova = CHURN_BASE +
				  below(&d->rng, WIN_END - CHURN_BASE - t->n);
		}
		r = reach(s, t, write);
		if (r < 0)
			continue;
		t->blocked = !r;
		if (t->blocked == want_blocked)
			goto found;
		if (want_blocked && !have_any) {
			any = *t;
			have_any = true;
		}
	}
	if (!have_any)
		return false;
	*t = any;
found:
	describe(s, t, write ? "write" : "read");
	return true;
}

/* Whether the next DMA should aim where it must be blocked. */
static bool fault_due(struct dma_state *d)
{
	return now_ms() - d->last_blocked_ms >= FAULT_GAP_MS &&
	       below(&d->rng, 2);
}

static bool fault_text(const char *text)
{
	return strstr(text, "fault addr 0x") || strstr(text, "IO_PAGE_FAULT") ||
	       strstr(text, "event 0x10 received");
}

static bool fault_in(const char *text, __u64 first, __u64 last)
{
	return iommu_fault_in_text(text, first) ||
	       iommu_fault_in_text(text, last);
}

/*
 * Read what the kernel logged since the last DMA. A blocked DMA must bring
 * a fault at one of its pages (VT-d names the page) within FAULT_WAIT_MS;
 * any other fault, but a late one of the previous blocked DMA, is a
 * violation.
 */
static void check_faults(struct soak *s, struct dma_state *d,
			 const struct target *t, const char *dir)
{
	__u64 first = t->iova & ~(PG - 1), last = (t->iova + t->n - 1) & ~(PG - 1);
	bool want = t->blocked && s->faults_logged, found = false;
	__u64 deadline = now_ms() +
			 (t->read_only ? FAULT_WAIT_RO_MS : FAULT_WAIT_MS);
	char text[1024];
	int rc;

	for (;;) {
		rc = klog_next(s->klog, text, sizeof(text), &d->klog_lost);
		if (rc < 0) {
			violation(s, "reading /dev/kmsg: %s", strerror(-rc));
			break;
		}
		if (!rc) {
			if (!want || found || now_ms() > deadline)
				break;
			sleep_ms(10);
			continue;
		}
		if (strstr(text, "callbacks suppressed"))
			COUNT(s, suppressed);
		if (!fault_text(text))
			continue;
		if (t->blocked && fault_in(text, first, last)) {
			found = true;
		} else if (d->last_blocked_ms &&
			   fault_in(text, d->prev_first, d->prev_last)) {
			COUNT(s, late_faults);
		} else {
			violation(s, "%s: unexpected IOMMU fault: %s",
				  t->where, text);
		}
	}
	if (!t->blocked)
		return;
	d->last_blocked_ms = now_ms();
	d->prev_first = first;
	d->prev_last = last;
	if (!s->faults_logged) {
		COUNT(s, blocked_unlogged);
	} else if (!found && t->read_only) {
		/* See "One exception" above. */
		COUNT(s, ro_silent);
		if (!t->read_seen)
			COUNT(s, ro_silent_unread);
	} else if (!found) {
		violation(s, "%s: no IOMMU fault logged within %u ms",
			  t->where, FAULT_WAIT_MS);
	} else if (!strcmp(dir, "write")) {
		COUNT(s, writes_blocked);
	} else {
		COUNT(s, reads_blocked);
	}
}

/* Where in edu's last data the @len bytes at @p start, or -1. */
static long data_offset(const struct dma_state *d, const __u8 *p, __u64 len)
{
	__u64 cmp = min_u64(len, 16);
	__u32 i;

	for (i = 0; i + cmp <= d->edu_known; i++)
		if (!memcmp(d->edu_buf + i, p, cmp))
			return i;
	return -1;
}

/*
 * Every buffer holds its shadow: the DMA landed where the model sent it
 * and nowhere else. A difference is reported once; the shadow then takes
 * it.
 */
static void verify_all(struct soak *s, struct dma_state *d,
		       const struct target *t)
{
	struct backing *b;
	__u64 first, last;
	unsigned int i;
	char from[64];
	long at;

	for (i = 0; i != s->nb; i++) {
		b = &s->b[i];
		if (!memcmp(b->va, b->shadow, b->len))
			continue;
		for (first = 0; b->va[first] == b->shadow[first]; first++)
			;
		for (last = b->len - 1; b->va[last] == b->shadow[last]; last--)
			;
		at = data_offset(d, b->va + first, last - first + 1);
		from[0] = 0;
		if (at >= 0)
			snprintf(from, sizeof(from),
				 ", edu's data from its byte %ld", at);
		violation(s, "%s: %s#%u bytes 0x%llx-0x%llx differ (0x%02x, want 0x%02x%s)",
			  t->where, bkind_name[b->kind], i, first, last,
			  b->va[first], b->shadow[first], from);
		memcpy(b->shadow, b->va, b->len);
	}
}

static bool dma_failed(struct soak *s, int rc, const char *what)
{
	if (!rc)
		return false;
	violation(s, "edu: %s DMA failed: %s; stopping", what, strerror(-rc));
	stop(s);
	return true;
}

/* The edu buffer's first @n bytes now hold @p. */
static void edu_holds(struct dma_state *d, const __u8 *p, __u32 n)
{
	memcpy(d->edu_buf, p, n);
	d->edu_known = d->edu_known > n ? d->edu_known : n;
}

/*
 * Staging -> edu -> a random IOVA: the bytes carry the DMA's number, and
 * must land exactly where the model maps that IOVA, or nowhere.
 */
static void dma_write(struct soak *s, struct dma_state *d)
{
	struct backing *stage = &s->b[STAGE];
	struct target t = { .n = pick_count(&d->rng) };
	bool want_blocked = fault_due(d), picked;
	unsigned int i;
	int rc;

	d->seq++;
	fill_pattern(stage->va, t.n, d->seq);
	memcpy(stage->shadow, stage->va, t.n);

	pthread_mutex_lock(&s->lock);
	rc = edu_dma_from_ram(&s->edu, STAGE_IOVA, t.n);
	picked = !rc && pick_target(s, d, &t, true, want_blocked);
	if (picked)
		rc = edu_dma_to_ram(&s->edu, t.iova, t.n);
	pthread_mutex_unlock(&s->lock);
	COUNT(s, dmas);
	if (dma_failed(s, rc, "write"))
		return;
	edu_holds(d, stage->va, t.n);
	if (!picked)
		return;
	COUNT(s, dmas);
	if (!t.blocked) {
		for (i = 0; i != t.np; i++)
			memcpy(s->b[t.p[i].backing].shadow + t.p[i].boff,
			       d->edu_buf + t.p[i].pos, t.p[i].len);
		COUNT(s, writes_ok);
	}
	check_faults(s, d, &t, "write");
	verify_all(s, d, &t);
}

/* After a blocked read: what did edu put in its buffer? */
static void blocked_read_left(struct soak *s, struct dma_state *d,
			      const __u8 *seen, __u32 n)
{
	__u32 i;

	for (i = 0; i != n && !seen[i]; i++)
		;
	if (n <= d->edu_known && !memcmp(seen, d->edu_buf, n))
		COUNT(s, edu_unchanged);
	else if (i == n)
		COUNT(s, edu_zeroed);
	else
		COUNT(s, edu_other);
}

/*
 * A random IOVA -> edu -> sink: the sink must then hold the bytes the
 * model says are at that IOVA.
 */
static void dma_read(struct soak *s, struct dma_state *d)
{
	struct backing *sink = &s->b[SINK];
	struct target t = { .n = pick_count(&d->rng) };
	bool want_blocked = fault_due(d), picked;
	unsigned int i;
	__u32 k;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	picked = pick_target(s, d, &t, false, want_blocked);
	if (picked)
		rc = edu_dma_from_ram(&s->edu, t.iova, t.n);
	if (picked && !rc && !t.blocked)
		mark_read(s, &t);
	if (picked && !rc)
		rc = edu_dma_to_ram(&s->edu, SINK_IOVA, t.n);
	pthread_mutex_unlock(&s->lock);
	if (!picked)
		return;
	COUNT(s, dmas);
	COUNT(s, dmas);
	if (dma_failed(s, rc, "read"))
		return;
	if (!t.blocked) {
		for (i = 0; i != t.np; i++)
			memcpy(d->expect + t.p[i].pos,
			       s->b[t.p[i].backing].shadow + t.p[i].boff,
			       t.p[i].len);
		for (k = 0; k != t.n && sink->va[k] == d->expect[k]; k++)
			;
		if (k != t.n)
			violation(s, "%s: byte %u read 0x%02x, memory holds 0x%02x",
				  t.where, k, sink->va[k], d->expect[k]);
		COUNT(s, reads_ok);
	} else {
		blocked_read_left(s, d, sink->va, t.n);
	}
	/* The sink holds what edu held, whatever that was. */
	memcpy(sink->shadow, sink->va, t.n);
	edu_holds(d, sink->va, t.n);
	check_faults(s, d, &t, "read");
	verify_all(s, d, &t);
}

static void *dma_thread(void *arg)
{
	struct soak *s = arg;
	struct dma_state *d = &s->dma;

	d->rng = s->seed ^ 0xd1b54a32d192ed03ULL;
	while (!stopped(s)) {
		if (below(&d->rng, 5) < 3)
			dma_write(s, d);
		else
			dma_read(s, d);
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * Setup, teardown, report
 */

static int fail(const char *what, int rc)
{
	printf("soak: setup: %s: %s\n", what, strerror(-rc));
	return rc ? rc : -EINVAL;
}

static int setup_buffers(struct soak *s)
{
	unsigned int i, k;
	int rc;

	for (i = 0; i != ARRAY_SIZE(pool); i++) {
		for (k = 0; k != pool[i].count; k++) {
			struct backing *b = &s->b[s->nb];

			rc = backing_alloc(b, pool[i].kind, pool[i].len, s->nb);
			if (rc && pool[i].kind == B_FIXED)
				return fail("buffer", rc);
			if (rc) {
				printf("soak: no %s buffer of %llu KiB: %s\n",
				       bkind_name[pool[i].kind],
				       pool[i].len >> 10, strerror(-rc));
				continue;
			}
			s->have_memfd |= b->memfd >= 0;
			printf("soak: buffer %s#%u: %llu KiB, %ld physical runs\n",
			       bkind_name[b->kind], s->nb, b->len >> 10,
			       phys_runs(b->va, b->len));
			s->nb++;
		}
	}
	return 0;
}

/* The staging and sink mappings, in place for the whole run. */
static int map_fixed(struct soak *s, unsigned int bi, __u64 iova)
{
	struct area a = {
		.iova = iova,
		.len = PG,
		.writable = true,
		.fixed = true,
	};
	int rc;

	rc = ioas_map(s->fd, s->live.id, s->b[bi].va, PG, iova, RW_FLAGS);
	if (rc)
		return fail("map staging or sink", rc);
	a.origin = origin_new(s, bi, 0, PG, true);
	space_add(s, &s->live, &a);
	return 0;
}

static int setup(struct soak *s, unsigned int nth)
{
	struct iommu_iova_range ranges[16];
	uint64_t mode = 1, align;
	bool covered = false;
	int rc, n, i;
	__u32 pt;

	for (i = 0; i != MAX_ORIGINS; i++)
		s->origin[i].backing = -1;
	s->fd = iofd_open();
	if (s->fd < 0)
		return fail("open /dev/iommu", -errno);
	/* Charge the process, so that VmLck shows the pins too. */
	s->lck_charged = !option(s->fd, IOMMU_OPTION_RLIMIT_MODE,
				 IOMMU_OPTION_OP_SET, 0, &mode);
	rc = ioas_alloc(s->fd, &s->live.id);
	if (!rc)
		rc = ioas_alloc(s->fd, &s->hold.id);
	if (rc)
		return fail("IOMMU_IOAS_ALLOC", rc);
	rc = ioas_allow_iovas(s->fd, s->live.id, CHURN_BASE, WIN_END - 1);
	if (rc)
		return fail("IOMMU_IOAS_ALLOW_IOVAS", rc);
	rc = edu_open(&s->edu, nth, s->fd);
	if (rc)
		return fail("bind edu to the iommufd", rc);
	pt = s->live.id;
	rc = edu_attach(&s->edu, &pt);
	if (!rc)
		rc = edu_enable_dma(&s->edu);
	if (rc)
		return fail("attach edu", rc);

	n = ioas_ranges(s->fd, s->live.id, ranges, 16, &align);
	if (n < 0)
		return fail("IOMMU_IOAS_IOVA_RANGES", n);
	for (i = 0; i < n && i < 16; i++)
		covered |= ranges[i].start <= WIN_BASE &&
			   ranges[i].last >= WIN_END - 1;
	if (!covered || align > PG)
		return fail("the IOVA window is not usable", -ERANGE);

	rc = setup_buffers(s);
	if (!rc)
		rc = map_fixed(s, STAGE, STAGE_IOVA);
	if (!rc)
		rc = map_fixed(s, SINK, SINK_IOVA);
	s->faults_logged = edu_faults_logged();
	return rc;
}

/* A write to where staging was: after unmapping everything, it must fault. */
static void final_blocked_write(struct soak *s)
{
	struct dma_state *d = &s->dma;
	struct target t = {
		.iova = STAGE_IOVA,
		.n = 256,
		.blocked = true,
	};
	__u64 wait = d->last_blocked_ms + FAULT_GAP_MS;
	int rc;

	snprintf(t.where, sizeof(t.where),
		 "write DMA of %u bytes at 0x%llx (everything unmapped)", t.n,
		 t.iova);
	while (now_ms() < wait)
		sleep_ms(50);
	rc = edu_dma_to_ram(&s->edu, t.iova, t.n);
	COUNT(s, dmas);
	if (dma_failed(s, rc, "final write"))
		return;
	check_faults(s, d, &t, "write");
	verify_all(s, d, &t);
}

static void teardown(struct soak *s)
{
	struct space *sp[2] = { &s->live, &s->hold };
	__u64 want;
	uint64_t done;
	unsigned int i, k;
	int rc;

	for (k = 0; k != 2; k++) {
		for (want = 0, i = 0; i != sp[k]->n; i++)
			want += sp[k]->a[i].len;
		rc = ioas_unmap(s->fd, sp[k]->id, 0, UINT64_MAX, &done);
		if (rc || done != want)
			violation(s, "unmap all of %s: rc %d, 0x%llx bytes, model 0x%llx",
				  k ? "hold" : "live", rc,
				  (unsigned long long)done, want);
		while (sp[k]->n)
			space_del(s, sp[k], 0);
	}
	s->pins_bad = false;
	check_pins(s, "unmapping everything");
	final_blocked_write(s);

	rc = edu_detach(&s->edu);
	if (rc)
		violation(s, "detaching edu: %s", strerror(-rc));
	rc = obj_destroy(s->fd, s->hold.id);
	if (!rc)
		rc = obj_destroy(s->fd, s->live.id);
	if (rc)
		violation(s, "destroying the IOASes: %s", strerror(-rc));
	edu_close(&s->edu);
	close(s->fd);
	if (vm_pinned_kb() != s->pin0 || vm_locked_kb() != s->lck0)
		violation(s, "all closed: VmPin %ld KiB, VmLck %ld KiB, not %ld, %ld",
			  vm_pinned_kb(), vm_locked_kb(), s->pin0, s->lck0);
	close(s->klog);
	for (i = 0; i != s->nb; i++)
		backing_free(&s->b[i]);
}

static void progress(struct soak *s, __u64 secs)
{
	unsigned int live, hold, i;
	__u64 kib = 0;

	pthread_mutex_lock(&s->lock);
	live = s->live.n;
	hold = s->hold.n;
	for (i = 0; i != live; i++)
		kib += s->live.a[i].len >> 10;
	pthread_mutex_unlock(&s->lock);
	printf("soak: %llus: dma %lu ok, %lu faulted as expected; ", secs,
	       COUNTED(s, writes_ok) + COUNTED(s, reads_ok),
	       COUNTED(s, writes_blocked) + COUNTED(s, reads_blocked));
	printf("%lu map changes, %lu refused as predicted; ",
	       COUNTED(s, changes), COUNTED(s, refused));
	printf("live %u areas %llu KiB, hold %u areas; VmPin %ld KiB; ", live,
	       kib, hold, vm_pinned_kb());
	printf("%lu violations\n", COUNTED(s, violations));
}

static void summary(struct soak *s)
{
	unsigned int i;

	printf("soak: DMAs: %lu in all; writes %lu landed, %lu blocked; ",
	       s->c.dmas, s->c.writes_ok, s->c.writes_blocked);
	printf("reads %lu right, %lu blocked; %lu blocked, not logged\n",
	       s->c.reads_ok, s->c.reads_blocked, s->c.blocked_unlogged);
	printf("soak: writes to read-only IOVAs blocked without a fault: %lu",
	       s->c.ro_silent);
	printf(" (%lu with no read through them before)\n",
	       s->c.ro_silent_unread);
	printf("soak: IOAS calls:");
	for (i = 0; i != OP_NR; i++)
		printf(" %s %lu%s", op_name[i], s->c.op[i],
		       i + 1 == OP_NR ? "" : ",");
	printf("; %lu refused as predicted\n", s->c.refused);
	printf("soak: edu's buffer after a blocked read: unchanged %lu, ",
	       s->c.edu_unchanged);
	printf("zeroed %lu, other %lu times\n", s->c.edu_zeroed,
	       s->c.edu_other);
	printf("soak: kernel log: %lu late faults, %lu suppressed, %lu lost\n",
	       s->c.late_faults, s->c.suppressed, s->dma.klog_lost);
	printf("soak: VmPin %ld -> %ld KiB, VmLck %ld -> %ld KiB\n", s->pin0,
	       vm_pinned_kb(), s->lck0, vm_locked_kb());
	printf("soak: %lu dma ok, %lu dma faulted as expected, %lu map changes, %lu violations\n",
	       s->c.writes_ok + s->c.reads_ok,
	       s->c.writes_blocked + s->c.reads_blocked, s->c.changes,
	       s->c.violations);
}

static int bad_args(void)
{
	fprintf(stderr, "usage: dma_soak [--seconds N] [--seed N] [--edu N] [--progress N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct soak soak = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.hist_lock = PTHREAD_MUTEX_INITIALIZER,
	};
	unsigned long seconds = 60, every = 60, nth = 0;
	struct soak *s = &soak;
	pthread_t threads[2];
	__u64 start, next;
	int i, rc;

	s->seed = now_ms() ^ (__u64)getpid() << 32;
	for (i = 1; i < argc; i++) {
		if (i + 1 == argc)
			return bad_args();
		if (!strcmp(argv[i], "--seconds"))
			seconds = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seed"))
			s->seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--edu"))
			nth = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--progress"))
			every = strtoul(argv[++i], NULL, 0);
		else
			return bad_args();
	}
	s->seed = s->seed ? s->seed : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);

	s->pin0 = vm_pinned_kb();
	s->lck0 = vm_locked_kb();
	if (s->pin0 < 0 || s->lck0 < 0) {
		fail("no VmPin or VmLck in /proc/self/status", -ENOENT);
		return 2;
	}
	printf("soak: %lu s, seed %llu, edu %lu, IOVA window 0x%llx-0x%llx\n",
	       seconds, s->seed, nth, WIN_BASE, WIN_END - 1);
	if (setup(s, nth))
		return 2;
	s->klog = klog_follow();
	if (s->klog < 0) {
		fail("follow /dev/kmsg", s->klog);
		return 2;
	}
	printf("soak: VmPin %ld KiB, VmLck %ld KiB at the start; pins %s; the IOMMU %s faults\n",
	       s->pin0, s->lck0,
	       s->lck_charged ? "charged to the process" : "charged to the user",
	       s->faults_logged ? "logs" : "does not log");

	start = now_ms();
	next = every;
	rc = pthread_create(&threads[0], NULL, mapper, s);
	if (!rc)
		rc = pthread_create(&threads[1], NULL, dma_thread, s);
	if (rc) {
		printf("soak: pthread_create: %s\n", strerror(rc));
		return 2;
	}
	while (!stopped(s) && now_ms() - start < seconds * 1000) {
		sleep_ms(200);
		if (every && now_ms() - start >= next * 1000) {
			progress(s, next);
			next += every;
		}
	}
	stop(s);
	pthread_join(threads[0], NULL);
	pthread_join(threads[1], NULL);
	teardown(s);
	summary(s);
	return s->c.violations ? 1 : 0;
}
