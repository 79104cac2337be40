// SPDX-License-Identifier: GPL-2.0-only
/*
 * Generators: one per command of the uAPI (v6.17 level), per selftest
 * operation of the mock driver, and per file operation on the descriptors
 * iommufd hands out. Each fills an operation with an argument that is
 * mostly plausible (IDs from the pool, memory from the regions of repro.h)
 * and sometimes not (wrong-type, stale or foreign IDs, bad pointers, odd
 * sizes, unknown flags, reserved fields set). Where the uAPI says an
 * argument must be refused, the operation is marked so, and a success is a
 * failure of the sequence.
 */
#include <stdarg.h>
#include <stddef.h>

#include <linux/iommufd.h>

#include "iommufd_test.h"
#include "fuzz.h"

#define AUX_OFF		256	/* arrays a command points to live here */
#define AUX_MAX		(ARG_MAX - AUX_OFF)
#define PG		4096UL
#define APERTURE	((uint64_t)MOCK_APERTURE_START)
#define SYZ_WINDOW	(64UL << 20)

static const char *const type_names[S_NTYPES] = {
	[S_NONE] = "none", [S_IOAS] = "ioas", [S_HWPT] = "hwpt",
	[S_HWPT_NP] = "hwpt_parent",
	[S_NESTED] = "nested", [S_IDEV] = "idev", [S_STDEV] = "stdev",
	[S_FAULT] = "fault", [S_VIOMMU] = "viommu", [S_VDEV] = "vdev",
	[S_VEVENTQ] = "veventq", [S_HWQ] = "hwq",
	[S_ACCESS_PAGES] = "pages", [S_FD_ACCESS] = "access_fd",
	[S_FD_FAULT] = "fault_fd", [S_FD_VEVENTQ] = "veventq_fd",
	[S_MMAP_OFF] = "mmap_off", [S_IOVA] = "iova",
};

const char *slot_type_name(unsigned int type)
{
	return type < S_NTYPES ? type_names[type] : "?";
}

void op_init(struct op *op, unsigned int action, const char *name)
{
	memset(op, 0, offsetof(struct op, arg));
	memset(op->arg, 0, sizeof(op->arg));
	op->action = action;
	op->fd_kind = FD_NONE;
	op->exp_out_off = -1;
	op->enabled = 1;
	snprintf(op->desc, sizeof(op->desc), "%s", name);
}

void op_set_ctx(struct op *op, unsigned int ctx)
{
	op->fd_kind = FD_CTX;
	op->fd_idx = ctx;
}

void op_desc(struct op *op, const char *fmt, ...)
{
	size_t used = strlen(op->desc);
	va_list ap;

	if (used + 1 >= sizeof(op->desc))
		return;
	va_start(ap, fmt);
	vsnprintf(op->desc + used, sizeof(op->desc) - used, fmt, ap);
	va_end(ap);
}

void op_fix(struct op *op, unsigned int off, unsigned int kind,
	    unsigned int width, uint32_t val)
{
	if (op->nfix == NFIX)
		abort();
	op->fix[op->nfix++] = (struct fix){ off, kind, width, val };
}

void op_out(struct op *op, unsigned int off, unsigned int width,
	    unsigned int slot, unsigned int type)
{
	if (op->nout == NOUT)
		abort();
	op->out[op->nout++] = (struct out){ off, width, slot, type };
}

/* A slot for a value an operation is about to return. */
unsigned int slot_new(struct pool *p, unsigned int type, unsigned int ctx)
{
	unsigned int i;

	pthread_mutex_lock(&p->lock);
	i = ORACLE_SLOTS + p->next++ % (NSLOT - ORACLE_SLOTS);
	/* typed only once an operation has put a value in it */
	p->s[i].type = S_NONE;
	p->s[i].ctx = ctx;
	p->s[i].val = 0;
	pthread_mutex_unlock(&p->lock);
	return i;
}

/* The value at @off, once the operation succeeds, goes to a new slot. */
static void out_new(struct gen *g, struct op *op, unsigned int off,
		    unsigned int width, unsigned int type)
{
	op_out(op, off, width, slot_new(g->p, type, op->fd_idx), type);
}

/*
 * A random slot of @type (S_NONE: of any object type), or -1; mostly one
 * that came from context @ctx, if there is such.
 */
static int slot_pick_ctx(struct gen *g, unsigned int type, unsigned int ctx)
{
	int found[NSLOT], mine[NSLOT], n = 0, nm = 0, newest = -1;
	unsigned int i;

	pthread_mutex_lock(&g->p->lock);
	for (i = 0; i != NSLOT; i++) {
		unsigned int t = g->p->s[i].type;

		/* a nesting parent is a paging HWPT too */
		if (t == S_HWPT_NP && type == S_HWPT)
			t = S_HWPT;
		if (t == S_NONE || (t != type && (type != S_NONE ||
						  t >= S_FIRST_FD)))
			continue;
		found[n++] = i;
		if (g->p->s[i].ctx != ctx)
			continue;
		mine[nm++] = i;
		if (newest < 0 || g->p->s[i].age > g->p->s[newest].age)
			newest = i;
	}
	pthread_mutex_unlock(&g->p->lock);
	/* the newest is the likeliest to be alive still */
	if (newest >= 0 && chance(g->r, 40))
		return newest;
	if (nm && chance(g->r, 85))
		return mine[rnd_below(g->r, nm)];
	return n ? found[rnd_below(g->r, n)] : -1;
}

static int slot_pick(struct gen *g, unsigned int type)
{
	return slot_pick_ctx(g, type, g->ctx);
}

/*
 * The object ID at @off: usually one of @type from the pool, sometimes
 * another type's, 0, a small number that may name anything, or garbage.
 */
static void put_id(struct gen *g, struct op *op, unsigned int off,
		   unsigned int type, const char *field)
{
	unsigned int r = rnd_below(g->r, 100);
	uint32_t lit;
	int s = -1;

	if (r < 80)
		s = slot_pick_ctx(g, type, op->fd_idx);
	else if (r < 88)
		s = slot_pick_ctx(g, S_NONE, op->fd_idx);
	if (s >= 0) {
		op_fix(op, off, FX_SLOT, 4, s);
		op_desc(op, " %s=s%d", field, s);
		return;
	}
	r = rnd_below(g->r, 10);
	lit = r < 3 ? 0 : r < 8 ? rnd_below(g->r, 40) : (uint32_t)rnd(g->r);
	fz_put(op->arg, off, 4, lit);
	op_desc(op, " %s=%u", field, lit);
}

/* Some slot holding a descriptor of @type, or -1. */
static int fd_slot(struct gen *g, unsigned int type)
{
	int s = slot_pick(g, type);

	return s >= 0 && g->p->s[s].type == type ? s : -1;
}

/* The context an operation runs on: mostly the thread's, sometimes not. */
static void pick_ctx(struct gen *g, struct op *op)
{
	op_set_ctx(op, chance(g->r, 85) ? g->ctx : !g->ctx);
}

/* A user address and length: mostly in the regions, sometimes wild. */
static uint64_t pick_uva(struct gen *g, uint64_t *len)
{
	static const uint8_t weights[RG_NUM] = {
		[RG_ANON] = 30, [RG_THP] = 20, [RG_RO] = 8, [RG_HOLE] = 4,
		[RG_FILE] = 18, [RG_HUGE] = 12,
	};
	unsigned int total = 0, r, rg;
	uint64_t base, off, n;

	for (rg = 0; rg != RG_NUM; rg++)
		total += weights[rg];
	r = rnd_below(g->r, total);

	if (chance(g->r, 2)) {
		static const uint64_t wild[] = {
			0, 4096, 0x7ffffffff000ULL, 0xffff800000000000ULL,
			~0ULL - 4095,
		};
		*len = PG << rnd_below(g->r, 4);
		return wild[rnd_below(g->r, 5)];
	}
	for (rg = 0; rg != RG_NUM - 1 && r >= weights[rg]; rg++)
		r -= weights[rg];
	base = fz_rg_addr(rg);
	n = fz_rg[rg].len / PG;
	off = rnd_below(g->r, n) * PG;
	if (chance(g->r, 10))
		off += rnd_below(g->r, PG);
	switch (rnd_below(g->r, 10)) {
	case 0:
		*len = fz_rg[rg].len - off + PG;	/* runs off the end */
		break;
	case 1:
		*len = rnd_below(g->r, 3) ? (1 + rnd_below(g->r, 64)) * PG :
					    rnd_below(g->r, 2 * PG);
		break;
	default:
		*len = (1 + rnd_below(g->r, 16)) * PG;
		if (off + *len > fz_rg[rg].len)
			*len = fz_rg[rg].len - (off & ~(PG - 1));
	}
	return base + off;
}

static uint64_t pick_iova(struct gen *g)
{
	switch (rnd_below(g->r, 20)) {
	case 0:
		return 0;
	case 1:
		return rnd(g->r) & ~(PG - 1);
	case 2:
		return ~0ULL - rnd_below(g->r, 4) * PG;
	case 3:
		return rnd_below(g->r, 1ULL << 32);
	case 4:
	case 5:
		return APERTURE + rnd_below(g->r, SYZ_WINDOW >> 21) * (2UL << 20);
	default:
		return APERTURE + rnd_below(g->r, SYZ_WINDOW / PG) * PG;
	}
}

/* An IOVA at @off: half the time one a mapping of this context got. */
static void put_iova(struct gen *g, struct op *op, unsigned int off)
{
	int s = chance(g->r, 50) ? slot_pick_ctx(g, S_IOVA, op->fd_idx) : -1;

	if (s >= 0 && g->p->s[s].type == S_IOVA) {
		op_fix(op, off, FX_SLOT, 8, s);
		op_desc(op, " iova=s%d", s);
	} else {
		fz_put(op->arg, off, 8, pick_iova(g));
	}
}

static uint64_t pick_len(struct gen *g)
{
	switch (rnd_below(g->r, 12)) {
	case 0:
		return 0;
	case 1:
		return rnd(g->r);
	case 2:
		return rnd_below(g->r, 3 * PG);
	case 3:
		return ~0ULL;
	default:
		return (1 + rnd_below(g->r, 32)) * PG;
	}
}

/*
 * Point the u64 at @off to @len bytes of aux space, or sometimes to memory
 * the kernel cannot read or write.
 */
static void put_ptr(struct gen *g, struct op *op, unsigned int off,
		    unsigned int len)
{
	if (len > AUX_MAX)
		len = AUX_MAX;
	switch (rnd_below(g->r, 25)) {
	case 0:
		fz_put(op->arg, off, 8, 0);
		return;
	case 1:
		fz_put(op->arg, off, 8, fz_rg_addr(RG_HOLE));
		return;
	case 2:
		fz_put(op->arg, off, 8, fz_rg_addr(RG_RO));
		return;
	case 3:
		op_fix(op, off, FX_AUX, 8, AUX_OFF + AUX_MAX - len / 2);
		return;
	default:
		op_fix(op, off, FX_AUX, 8, AUX_OFF);
	}
}

/* What a size or field mutation makes of the expected outcome. */
struct shape {
	unsigned int size;	/* the structure's size in v6.17 */
	unsigned int min;	/* its first-version size */
	int flags_off;		/* -1: no flags field */
	uint32_t flags_known;
	int rsv_off[3];		/* offsets of must-be-zero fields, or 0 */
	unsigned int rsv_width[3];
};

/*
 * Set the size field and maybe break the command: a size below the first
 * version's (EINVAL), a longer structure whose extra bytes are not zero
 * (E2BIG), an unknown flag or a reserved field set (refused). A longer
 * structure with zero extra bytes and an older, shorter one are valid.
 */
static void finish(struct gen *g, struct op *op, const struct shape *sh)
{
	unsigned int r = rnd_below(g->r, 100), size = sh->size, i;

	op->len = AUX_OFF + AUX_MAX;
	if (r < 86) {
		/* as is */
	} else if (r < 90) {
		size += 8 * (1 + rnd_below(g->r, 3));
	} else if (r < 93) {
		size += 8;
		op->arg[size - 1 - rnd_below(g->r, 8)] = 0x5a;
		op->expect = E_ERRNO;
		op->exp_errno = E2BIG;
	} else if (r < 96 && sh->min) {
		size = rnd_below(g->r, sh->min);
		op->expect = E_ERRNO;
		op->exp_errno = EINVAL;
	} else if (sh->min < sh->size) {
		size = sh->min + rnd_below(g->r, sh->size - sh->min);
	}
	fz_put(op->arg, 0, 4, size);
	if (size != sh->size)
		op_desc(op, " size=%u", size);
	if (op->expect != E_ANY || size < sh->size)
		return;

	if (sh->flags_off >= 0 && chance(g->r, 4)) {
		uint32_t bit = 1U << rnd_below(g->r, 32);

		if (!(bit & sh->flags_known)) {
			fz_put(op->arg, sh->flags_off, 4,
			       fz_get(op->arg, sh->flags_off, 4) | bit);
			op->expect = E_FAIL;
			op_desc(op, " +flag%#x", bit);
		}
	}
	for (i = 0; i != 3 && sh->rsv_off[i]; i++) {
		if (!chance(g->r, 3))
			continue;
		fz_put(op->arg, sh->rsv_off[i], sh->rsv_width[i],
		       1 + rnd_below(g->r, 255));
		op->expect = E_FAIL;
		op_desc(op, " +rsv@%d", sh->rsv_off[i]);
	}
}

#define SHAPE(type, last, ...)						\
	((const struct shape){ .size = sizeof(struct type),		\
			       .min = offsetof(struct type, last) +	\
				      sizeof(((struct type *)0)->last),	\
			       __VA_ARGS__ })
#define NOFLAGS .flags_off = -1
#define FLAGS(type, mask) .flags_off = offsetof(struct type, flags),	\
			  .flags_known = (mask)
#define RSV(type, f) .rsv_off = { offsetof(struct type, f) },		\
		     .rsv_width = { sizeof(((struct type *)0)->f) }

#define ARG(type) ((struct type *)op->arg)

static void ucmd(struct gen *g, struct op *op, const char *name, uint32_t cmd)
{
	op_init(op, A_IOCTL, name);
	op->cmd = cmd;
	pick_ctx(g, op);
}

static void g_destroy(struct gen *g, struct op *op)
{
	ucmd(g, op, "DESTROY", IOMMU_DESTROY);
	put_id(g, op, offsetof(struct iommu_destroy, id), S_NONE, "id");
	finish(g, op, &SHAPE(iommu_destroy, id, NOFLAGS));
}

static void g_ioas_alloc(struct gen *g, struct op *op)
{
	ucmd(g, op, "IOAS_ALLOC", IOMMU_IOAS_ALLOC);
	out_new(g, op, offsetof(struct iommu_ioas_alloc, out_ioas_id),
		4, S_IOAS);
	finish(g, op, &SHAPE(iommu_ioas_alloc, out_ioas_id,
			     FLAGS(iommu_ioas_alloc, 0)));
}

/* Up to four IOVA ranges in the aux space, some of them nonsense. */
static unsigned int put_ranges(struct gen *g, struct op *op)
{
	struct iommu_iova_range *rng = (void *)(op->arg + AUX_OFF);
	unsigned int n = rnd_below(g->r, 5), i;

	for (i = 0; i != n; i++) {
		rng[i].start = pick_iova(g);
		rng[i].last = chance(g->r, 80) ?
			rng[i].start + pick_len(g) - 1 : pick_iova(g);
	}
	return n;
}

static void g_iova_ranges(struct gen *g, struct op *op)
{
	ucmd(g, op, "IOAS_IOVA_RANGES", IOMMU_IOAS_IOVA_RANGES);
	put_id(g, op, offsetof(struct iommu_ioas_iova_ranges, ioas_id), S_IOAS,
	       "ioas");
	ARG(iommu_ioas_iova_ranges)->num_iovas = rnd_below(g->r, 6);
	put_ptr(g, op, offsetof(struct iommu_ioas_iova_ranges, allowed_iovas),
		5 * sizeof(struct iommu_iova_range));
	finish(g, op, &SHAPE(iommu_ioas_iova_ranges, out_iova_alignment,
			     NOFLAGS, RSV(iommu_ioas_iova_ranges, __reserved)));
}

static void g_allow_iovas(struct gen *g, struct op *op)
{
	ucmd(g, op, "IOAS_ALLOW_IOVAS", IOMMU_IOAS_ALLOW_IOVAS);
	put_id(g, op, offsetof(struct iommu_ioas_allow_iovas, ioas_id), S_IOAS,
	       "ioas");
	ARG(iommu_ioas_allow_iovas)->num_iovas = put_ranges(g, op);
	op_desc(op, " n=%u", ARG(iommu_ioas_allow_iovas)->num_iovas);
	put_ptr(g, op, offsetof(struct iommu_ioas_allow_iovas, allowed_iovas),
		4 * sizeof(struct iommu_iova_range));
	finish(g, op, &SHAPE(iommu_ioas_allow_iovas, allowed_iovas, NOFLAGS,
			     RSV(iommu_ioas_allow_iovas, __reserved)));
}

static uint32_t map_flags(struct gen *g)
{
	uint32_t f = chance(g->r, 70) ? IOMMU_IOAS_MAP_FIXED_IOVA : 0;

	if (chance(g->r, 90))
		f |= IOMMU_IOAS_MAP_READABLE;
	if (chance(g->r, 70))
		f |= IOMMU_IOAS_MAP_WRITEABLE;
	return f;
}

#define MAP_KNOWN (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | \
		   IOMMU_IOAS_MAP_READABLE)

static void g_ioas_map(struct gen *g, struct op *op)
{
	struct iommu_ioas_map *c = ARG(iommu_ioas_map);
	uint64_t len;

	ucmd(g, op, "IOAS_MAP", IOMMU_IOAS_MAP);
	put_id(g, op, offsetof(struct iommu_ioas_map, ioas_id), S_IOAS, "ioas");
	c->flags = map_flags(g);
	c->user_va = pick_uva(g, &len);
	c->length = chance(g->r, 95) ? len : pick_len(g);
	c->iova = pick_iova(g);
	op_desc(op, " va=%#llx len=%#llx iova=%#llx f=%u",
		(unsigned long long)c->user_va, (unsigned long long)c->length,
		(unsigned long long)c->iova, c->flags);
	out_new(g, op, offsetof(struct iommu_ioas_map, iova), 8, S_IOVA);
	finish(g, op, &SHAPE(iommu_ioas_map, iova, FLAGS(iommu_ioas_map,
		MAP_KNOWN), RSV(iommu_ioas_map, __reserved)));
}

static void g_ioas_map_file(struct gen *g, struct op *op)
{
	struct iommu_ioas_map_file *c = ARG(iommu_ioas_map_file);
	static const int fds[] = { FZ_FILE_FD, FZ_FILE_FD, FZ_FILE_FD, -1, 0,
				   1000 };

	ucmd(g, op, "IOAS_MAP_FILE", IOMMU_IOAS_MAP_FILE);
	put_id(g, op, offsetof(struct iommu_ioas_map_file, ioas_id), S_IOAS,
	       "ioas");
	c->flags = map_flags(g);
	c->fd = fds[rnd_below(g->r, 6)];
	c->start = chance(g->r, 90) ? rnd_below(g->r, 256) * PG :
				      rnd(g->r) >> rnd_below(g->r, 64);
	c->length = chance(g->r, 85) ? (1 + rnd_below(g->r, 32)) * PG :
				       pick_len(g);
	c->iova = pick_iova(g);
	op_desc(op, " fd=%d start=%#llx len=%#llx iova=%#llx f=%u", c->fd,
		(unsigned long long)c->start, (unsigned long long)c->length,
		(unsigned long long)c->iova, c->flags);
	out_new(g, op, offsetof(struct iommu_ioas_map_file, iova), 8, S_IOVA);
	finish(g, op, &SHAPE(iommu_ioas_map_file, iova,
			     FLAGS(iommu_ioas_map_file, MAP_KNOWN)));
}

static void g_ioas_copy(struct gen *g, struct op *op)
{
	struct iommu_ioas_copy *c = ARG(iommu_ioas_copy);

	ucmd(g, op, "IOAS_COPY", IOMMU_IOAS_COPY);
	put_id(g, op, offsetof(struct iommu_ioas_copy, dst_ioas_id), S_IOAS,
	       "dst");
	put_id(g, op, offsetof(struct iommu_ioas_copy, src_ioas_id), S_IOAS,
	       "src");
	c->flags = map_flags(g);
	c->length = pick_len(g);
	c->dst_iova = pick_iova(g);
	put_iova(g, op, offsetof(struct iommu_ioas_copy, src_iova));
	out_new(g, op, offsetof(struct iommu_ioas_copy, dst_iova), 8, S_IOVA);
	op_desc(op, " len=%#llx dst=%#llx src=%#llx",
		(unsigned long long)c->length,
		(unsigned long long)c->dst_iova,
		(unsigned long long)c->src_iova);
	finish(g, op, &SHAPE(iommu_ioas_copy, src_iova,
			     FLAGS(iommu_ioas_copy, MAP_KNOWN)));
}

static void g_ioas_unmap(struct gen *g, struct op *op)
{
	struct iommu_ioas_unmap *c = ARG(iommu_ioas_unmap);

	ucmd(g, op, "IOAS_UNMAP", IOMMU_IOAS_UNMAP);
	put_id(g, op, offsetof(struct iommu_ioas_unmap, ioas_id), S_IOAS,
	       "ioas");
	if (chance(g->r, 15)) {
		c->iova = 0;
		c->length = ~0ULL;
	} else {
		put_iova(g, op, offsetof(struct iommu_ioas_unmap, iova));
		c->length = chance(g->r, 50) ? (2UL << 20) : pick_len(g);
	}
	op_desc(op, " iova=%#llx len=%#llx", (unsigned long long)c->iova,
		(unsigned long long)c->length);
	finish(g, op, &SHAPE(iommu_ioas_unmap, length, NOFLAGS));
}

static void g_option(struct gen *g, struct op *op)
{
	struct iommu_option *c = ARG(iommu_option);

	ucmd(g, op, "OPTION", IOMMU_OPTION);
	c->option_id = rnd_below(g->r, 3);
	c->op = rnd_below(g->r, 3);
	if (c->option_id == IOMMU_OPTION_HUGE_PAGES || chance(g->r, 10))
		put_id(g, op, offsetof(struct iommu_option, object_id), S_IOAS,
		       "obj");
	c->val64 = rnd_below(g->r, 3);
	op_desc(op, " opt=%u op=%u val=%llu", c->option_id, c->op,
		(unsigned long long)c->val64);
	finish(g, op, &SHAPE(iommu_option, val64, NOFLAGS,
			     RSV(iommu_option, __reserved)));
}

static void g_vfio_ioas(struct gen *g, struct op *op)
{
	struct iommu_vfio_ioas *c = ARG(iommu_vfio_ioas);

	ucmd(g, op, "VFIO_IOAS", IOMMU_VFIO_IOAS);
	c->op = rnd_below(g->r, 4);
	if (c->op == IOMMU_VFIO_IOAS_SET)
		put_id(g, op, offsetof(struct iommu_vfio_ioas, ioas_id),
		       S_IOAS, "ioas");
	op_desc(op, " op=%u", c->op);
	finish(g, op, &SHAPE(iommu_vfio_ioas, __reserved, NOFLAGS,
			     RSV(iommu_vfio_ioas, __reserved)));
}

#define HWPT_KNOWN (IOMMU_HWPT_ALLOC_NEST_PARENT | \
		    IOMMU_HWPT_ALLOC_DIRTY_TRACKING | \
		    IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)

static void g_hwpt_alloc(struct gen *g, struct op *op)
{
	struct iommu_hwpt_alloc *c = ARG(iommu_hwpt_alloc);
	bool nested = chance(g->r, 35);
	const struct shape sh = SHAPE(iommu_hwpt_alloc, __reserved,
		FLAGS(iommu_hwpt_alloc, HWPT_KNOWN),
		.rsv_off = { offsetof(struct iommu_hwpt_alloc, __reserved),
			     offsetof(struct iommu_hwpt_alloc, __reserved2) },
		.rsv_width = { 4, 4 });

	ucmd(g, op, "HWPT_ALLOC", IOMMU_HWPT_ALLOC);
	put_id(g, op, offsetof(struct iommu_hwpt_alloc, dev_id), S_IDEV,
	       "dev");
	put_id(g, op, offsetof(struct iommu_hwpt_alloc, pt_id),
	       nested ? (chance(g->r, 50) ? S_HWPT_NP : S_VIOMMU) : S_IOAS,
	       "pt");
	c->flags = rnd_below(g->r, 16) & HWPT_KNOWN;
	if (nested)
		c->flags &= ~IOMMU_HWPT_ALLOC_NEST_PARENT;
	else if (chance(g->r, 40))
		c->flags |= IOMMU_HWPT_ALLOC_NEST_PARENT;
	if (c->flags & IOMMU_HWPT_FAULT_ID_VALID)
		put_id(g, op, offsetof(struct iommu_hwpt_alloc, fault_id),
		       S_FAULT, "fault");
	if (nested) {
		struct iommu_hwpt_selftest *d = (void *)(op->arg + AUX_OFF);

		d->iotlb = chance(g->r, 90) ? IOMMU_TEST_IOTLB_DEFAULT :
					      (uint32_t)rnd(g->r);
		c->data_type = chance(g->r, 90) ? IOMMU_HWPT_DATA_SELFTEST :
						  rnd_below(g->r, 4);
		c->data_len = chance(g->r, 90) ? sizeof(*d) :
						 rnd_below(g->r, 64);
		put_ptr(g, op, offsetof(struct iommu_hwpt_alloc, data_uptr),
			c->data_len);
	}
	op_desc(op, " f=%#x type=%#x", c->flags, c->data_type);
	out_new(g, op, offsetof(struct iommu_hwpt_alloc, out_hwpt_id), 4,
		nested ? S_NESTED : c->flags & IOMMU_HWPT_ALLOC_NEST_PARENT ?
		S_HWPT_NP : S_HWPT);
	finish(g, op, &sh);
}

static void g_hw_info(struct gen *g, struct op *op)
{
	struct iommu_hw_info *c = ARG(iommu_hw_info);

	ucmd(g, op, "GET_HW_INFO", IOMMU_GET_HW_INFO);
	put_id(g, op, offsetof(struct iommu_hw_info, dev_id), S_IDEV, "dev");
	c->data_len = rnd_below(g->r, 4) ? rnd_below(g->r, 80) : 0;
	if (c->data_len)
		put_ptr(g, op, offsetof(struct iommu_hw_info, data_uptr),
			c->data_len);
	if (chance(g->r, 30)) {
		c->flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
		c->in_data_type = chance(g->r, 50) ? IOMMU_HW_INFO_TYPE_SELFTEST :
						     rnd_below(g->r, 4);
	}
	finish(g, op, &(struct shape){
		.size = sizeof(*c),
		.min = offsetof(struct iommu_hw_info, __reserved) + 3,
		FLAGS(iommu_hw_info, IOMMU_HW_INFO_FLAG_INPUT_TYPE),
		.rsv_off = { offsetof(struct iommu_hw_info, __reserved) },
		.rsv_width = { 1 } });
}

static void g_set_dirty(struct gen *g, struct op *op)
{
	ucmd(g, op, "SET_DIRTY_TRACKING", IOMMU_HWPT_SET_DIRTY_TRACKING);
	put_id(g, op, offsetof(struct iommu_hwpt_set_dirty_tracking, hwpt_id),
	       S_HWPT, "hwpt");
	ARG(iommu_hwpt_set_dirty_tracking)->flags = rnd_below(g->r, 2);
	finish(g, op, &SHAPE(iommu_hwpt_set_dirty_tracking, __reserved,
		FLAGS(iommu_hwpt_set_dirty_tracking,
		      IOMMU_HWPT_DIRTY_TRACKING_ENABLE),
		RSV(iommu_hwpt_set_dirty_tracking, __reserved)));
}

static void g_get_dirty(struct gen *g, struct op *op)
{
	struct iommu_hwpt_get_dirty_bitmap *c =
		ARG(iommu_hwpt_get_dirty_bitmap);
	static const uint64_t psz[] = { PG, PG, PG / 2, 2 << 20, 0, 3 * PG };

	ucmd(g, op, "GET_DIRTY_BITMAP", IOMMU_HWPT_GET_DIRTY_BITMAP);
	put_id(g, op, offsetof(struct iommu_hwpt_get_dirty_bitmap, hwpt_id),
	       S_HWPT, "hwpt");
	c->flags = rnd_below(g->r, 2);
	put_iova(g, op, offsetof(struct iommu_hwpt_get_dirty_bitmap, iova));
	c->page_size = psz[rnd_below(g->r, 6)];
	c->length = chance(g->r, 80) && c->page_size ?
		(1 + rnd_below(g->r, 512)) * c->page_size : pick_len(g);
	put_ptr(g, op, offsetof(struct iommu_hwpt_get_dirty_bitmap, data),
		AUX_MAX);
	op_desc(op, " iova=%#llx len=%#llx psz=%#llx",
		(unsigned long long)c->iova, (unsigned long long)c->length,
		(unsigned long long)c->page_size);
	finish(g, op, &SHAPE(iommu_hwpt_get_dirty_bitmap, data,
		FLAGS(iommu_hwpt_get_dirty_bitmap,
		      IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR),
		RSV(iommu_hwpt_get_dirty_bitmap, __reserved)));
}

static void g_invalidate(struct gen *g, struct op *op)
{
	struct iommu_hwpt_invalidate *c = ARG(iommu_hwpt_invalidate);
	struct iommu_viommu_invalidate_selftest *e = (void *)(op->arg + AUX_OFF);
	bool viommu = chance(g->r, 50);
	unsigned int i;

	ucmd(g, op, "HWPT_INVALIDATE", IOMMU_HWPT_INVALIDATE);
	put_id(g, op, offsetof(struct iommu_hwpt_invalidate, hwpt_id),
	       viommu ? S_VIOMMU : S_NESTED, "id");
	c->data_type = chance(g->r, 85) ? IOMMU_HWPT_INVALIDATE_DATA_SELFTEST :
		chance(g->r, 50) ? IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID :
		rnd_below(g->r, 3);
	c->entry_num = rnd_below(g->r, 5);
	c->entry_len = chance(g->r, 85) ?
		(viommu ? sizeof(*e) :
			  sizeof(struct iommu_hwpt_invalidate_selftest)) :
		rnd_below(g->r, 40);
	for (i = 0; i != 4; i++) {
		e[i].flags = rnd_below(g->r, 3);
		e[i].vdev_id = rnd_below(g->r, 6);
		e[i].cache_id = rnd_below(g->r, 6);
	}
	put_ptr(g, op, offsetof(struct iommu_hwpt_invalidate, data_uptr),
		4 * sizeof(*e));
	op_desc(op, " type=%#x n=%u len=%u", c->data_type, c->entry_num,
		c->entry_len);
	finish(g, op, &SHAPE(iommu_hwpt_invalidate, __reserved, NOFLAGS,
			     RSV(iommu_hwpt_invalidate, __reserved)));
}

static void g_fault_alloc(struct gen *g, struct op *op)
{
	ucmd(g, op, "FAULT_QUEUE_ALLOC", IOMMU_FAULT_QUEUE_ALLOC);
	out_new(g, op, offsetof(struct iommu_fault_alloc, out_fault_id),
		4, S_FAULT);
	out_new(g, op, offsetof(struct iommu_fault_alloc, out_fault_fd),
		4, S_FD_FAULT);
	finish(g, op, &SHAPE(iommu_fault_alloc, out_fault_fd,
			     FLAGS(iommu_fault_alloc, 0)));
}

static void g_viommu_alloc(struct gen *g, struct op *op)
{
	struct iommu_viommu_alloc *c = ARG(iommu_viommu_alloc);
	const unsigned int off = offsetof(struct iommu_viommu_alloc, data_uptr);

	ucmd(g, op, "VIOMMU_ALLOC", IOMMU_VIOMMU_ALLOC);
	put_id(g, op, offsetof(struct iommu_viommu_alloc, dev_id), S_IDEV,
	       "dev");
	put_id(g, op, offsetof(struct iommu_viommu_alloc, hwpt_id), S_HWPT_NP,
	       "hwpt");
	c->type = chance(g->r, 85) ? IOMMU_VIOMMU_TYPE_SELFTEST :
				     rnd_below(g->r, 3);
	c->data_len = chance(g->r, 85) ? sizeof(struct iommu_viommu_selftest) :
					 rnd_below(g->r, 40);
	if (chance(g->r, 90)) {
		op_fix(op, off, FX_AUX, 8, AUX_OFF);
		out_new(g, op, AUX_OFF + offsetof(struct iommu_viommu_selftest,
					      out_mmap_offset), 8, S_MMAP_OFF);
	} else {
		put_ptr(g, op, off, c->data_len);
	}
	op_desc(op, " type=%#x len=%u", c->type, c->data_len);
	out_new(g, op, offsetof(struct iommu_viommu_alloc, out_viommu_id),
		4, S_VIOMMU);
	finish(g, op, &SHAPE(iommu_viommu_alloc, out_viommu_id,
			     FLAGS(iommu_viommu_alloc, 0),
			     RSV(iommu_viommu_alloc, __reserved)));
}

static void g_vdevice_alloc(struct gen *g, struct op *op)
{
	struct iommu_vdevice_alloc *c = ARG(iommu_vdevice_alloc);

	ucmd(g, op, "VDEVICE_ALLOC", IOMMU_VDEVICE_ALLOC);
	put_id(g, op, offsetof(struct iommu_vdevice_alloc, viommu_id),
	       S_VIOMMU, "viommu");
	put_id(g, op, offsetof(struct iommu_vdevice_alloc, dev_id), S_IDEV,
	       "dev");
	c->virt_id = chance(g->r, 90) ? rnd_below(g->r, 6) : rnd(g->r);
	op_desc(op, " virt=%llu", (unsigned long long)c->virt_id);
	out_new(g, op, offsetof(struct iommu_vdevice_alloc, out_vdevice_id),
		4, S_VDEV);
	finish(g, op, &SHAPE(iommu_vdevice_alloc, virt_id, NOFLAGS));
}

static void g_change_process(struct gen *g, struct op *op)
{
	ucmd(g, op, "IOAS_CHANGE_PROCESS", IOMMU_IOAS_CHANGE_PROCESS);
	finish(g, op, &SHAPE(iommu_ioas_change_process, __reserved, NOFLAGS,
			     RSV(iommu_ioas_change_process, __reserved)));
}

static void g_veventq_alloc(struct gen *g, struct op *op)
{
	struct iommu_veventq_alloc *c = ARG(iommu_veventq_alloc);

	ucmd(g, op, "VEVENTQ_ALLOC", IOMMU_VEVENTQ_ALLOC);
	put_id(g, op, offsetof(struct iommu_veventq_alloc, viommu_id),
	       S_VIOMMU, "viommu");
	c->type = chance(g->r, 85) ? IOMMU_VEVENTQ_TYPE_SELFTEST :
				     rnd_below(g->r, 3);
	c->veventq_depth = chance(g->r, 90) ? rnd_below(g->r, 5) : rnd(g->r);
	op_desc(op, " type=%#x depth=%u", c->type, c->veventq_depth);
	out_new(g, op, offsetof(struct iommu_veventq_alloc, out_veventq_id),
		4, S_VEVENTQ);
	out_new(g, op, offsetof(struct iommu_veventq_alloc, out_veventq_fd),
		4, S_FD_VEVENTQ);
	finish(g, op, &SHAPE(iommu_veventq_alloc, __reserved,
			     FLAGS(iommu_veventq_alloc, 0),
			     RSV(iommu_veventq_alloc, __reserved)));
}

static void g_hw_queue_alloc(struct gen *g, struct op *op)
{
	struct iommu_hw_queue_alloc *c = ARG(iommu_hw_queue_alloc);

	ucmd(g, op, "HW_QUEUE_ALLOC", IOMMU_HW_QUEUE_ALLOC);
	put_id(g, op, offsetof(struct iommu_hw_queue_alloc, viommu_id),
	       S_VIOMMU, "viommu");
	c->type = chance(g->r, 85) ? IOMMU_HW_QUEUE_TYPE_SELFTEST :
				     rnd_below(g->r, 3);
	c->index = rnd_below(g->r, IOMMU_TEST_HW_QUEUE_MAX + 1);
	put_iova(g, op, offsetof(struct iommu_hw_queue_alloc,
				 nesting_parent_iova));
	c->length = chance(g->r, 80) ? PG << rnd_below(g->r, 3) : pick_len(g);
	op_desc(op, " idx=%u iova=%#llx len=%#llx", c->index,
		(unsigned long long)c->nesting_parent_iova,
		(unsigned long long)c->length);
	out_new(g, op, offsetof(struct iommu_hw_queue_alloc, out_hw_queue_id),
		4, S_HWQ);
	finish(g, op, &SHAPE(iommu_hw_queue_alloc, length,
			     FLAGS(iommu_hw_queue_alloc, 0)));
}

/* ---- the mock driver's selftest operations ---- */

#define TOFF(m) offsetof(struct iommu_test_cmd, m)
#define TARG (ARG(iommu_test_cmd))

static void tcmd(struct gen *g, struct op *op, const char *name, uint32_t nr,
		 unsigned int id_type)
{
	ucmd(g, op, name, IOMMU_TEST_CMD);
	TARG->op = nr;
	if (id_type != S_NTYPES)
		put_id(g, op, TOFF(id), id_type, "id");
}

static void tfinish(struct gen *g, struct op *op)
{
	finish(g, op, &SHAPE(iommu_test_cmd, last, NOFLAGS));
}

/* An ID of any kind of page table: IOAS, paging or nested HWPT. */
static unsigned int pt_type(struct gen *g)
{
	static const uint8_t t[] = { S_IOAS, S_IOAS, S_IOAS, S_HWPT, S_HWPT,
				     S_NESTED };

	return t[rnd_below(g->r, sizeof(t))];
}

static void t_mock_domain(struct gen *g, struct op *op)
{
	bool flags = chance(g->r, 40);

	tcmd(g, op, flags ? "MOCK_DOMAIN_FLAGS" : "MOCK_DOMAIN",
	     flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN,
	     pt_type(g));
	if (flags) {
		TARG->mock_domain_flags.dev_flags = chance(g->r, 95) ?
			rnd_below(g->r, 8) : 1U << rnd_below(g->r, 32);
		op_desc(op, " dev_flags=%#x", TARG->mock_domain_flags.dev_flags);
	}
	out_new(g, op, TOFF(mock_domain.out_stdev_id), 4, S_STDEV);
	out_new(g, op, TOFF(mock_domain.out_hwpt_id), 4, S_HWPT);
	out_new(g, op, TOFF(mock_domain.out_idev_id), 4, S_IDEV);
	tfinish(g, op);
}

static void t_replace(struct gen *g, struct op *op)
{
	tcmd(g, op, "MOCK_DOMAIN_REPLACE", IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
	     S_STDEV);
	put_id(g, op, TOFF(mock_domain_replace.pt_id), pt_type(g), "pt");
	tfinish(g, op);
}

static void t_add_reserved(struct gen *g, struct op *op)
{
	tcmd(g, op, "ADD_RESERVED", IOMMU_TEST_OP_ADD_RESERVED, S_IOAS);
	TARG->add_reserved.start = pick_iova(g);
	TARG->add_reserved.length = pick_len(g);
	tfinish(g, op);
}

static void t_check_map(struct gen *g, struct op *op)
{
	uint64_t len;

	tcmd(g, op, "MD_CHECK_MAP", IOMMU_TEST_OP_MD_CHECK_MAP, pt_type(g));
	put_iova(g, op, TOFF(check_map.iova));
	TARG->check_map.uptr = pick_uva(g, &len);
	TARG->check_map.length = len;
	tfinish(g, op);
}

static void t_check_refs(struct gen *g, struct op *op)
{
	uint64_t len;

	tcmd(g, op, "MD_CHECK_REFS", IOMMU_TEST_OP_MD_CHECK_REFS, S_NTYPES);
	TARG->check_refs.uptr = pick_uva(g, &len);
	TARG->check_refs.length = len;
	TARG->check_refs.refs = rnd_below(g->r, 3);
	tfinish(g, op);
}

/* The selftest operations that name an access take its descriptor. */
static void put_access(struct gen *g, struct op *op)
{
	int s = fd_slot(g, S_FD_ACCESS);

	if (s >= 0 && chance(g->r, 95)) {
		op_fix(op, TOFF(id), FX_SLOT, 4, s);
		op_desc(op, " access=s%d", s);
	} else {
		TARG->id = rnd_below(g->r, 1024);
	}
}

static void t_create_access(struct gen *g, struct op *op)
{
	tcmd(g, op, "CREATE_ACCESS", IOMMU_TEST_OP_CREATE_ACCESS, S_IOAS);
	TARG->create_access.flags = chance(g->r, 95) ? chance(g->r, 70) :
						       rnd(g->r);
	out_new(g, op, TOFF(create_access.out_access_fd), 4, S_FD_ACCESS);
	tfinish(g, op);
}

static void t_access_pages(struct gen *g, struct op *op)
{
	uint64_t len;

	tcmd(g, op, "ACCESS_PAGES", IOMMU_TEST_OP_ACCESS_PAGES, S_NTYPES);
	put_access(g, op);
	TARG->access_pages.flags = chance(g->r, 95) ?
		(rnd_below(g->r, 2) | (chance(g->r, 20) ?
				       MOCK_FLAGS_ACCESS_SYZ : 0)) :
		(uint32_t)rnd(g->r);
	put_iova(g, op, TOFF(access_pages.iova));
	TARG->access_pages.uptr = pick_uva(g, &len);
	TARG->access_pages.length = chance(g->r, 90) ?
		PG << rnd_below(g->r, 3) : pick_len(g);
	out_new(g, op, TOFF(access_pages.out_access_pages_id),
		4, S_ACCESS_PAGES);
	tfinish(g, op);
}

static void t_destroy_access_pages(struct gen *g, struct op *op)
{
	tcmd(g, op, "DESTROY_ACCESS_PAGES",
	     IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, S_NTYPES);
	put_access(g, op);
	put_id(g, op, TOFF(destroy_access_pages.access_pages_id),
	       S_ACCESS_PAGES, "pages");
	tfinish(g, op);
}

static void t_access_rw(struct gen *g, struct op *op)
{
	uint64_t len;

	tcmd(g, op, "ACCESS_RW", IOMMU_TEST_OP_ACCESS_RW, S_NTYPES);
	put_access(g, op);
	put_iova(g, op, TOFF(access_rw.iova));
	TARG->access_rw.uptr = pick_uva(g, &len);
	TARG->access_rw.length = chance(g->r, 70) ? rnd_below(g->r, 3 * PG) :
						    len;
	TARG->access_rw.flags = chance(g->r, 95) ? rnd_below(g->r, 8) & 5 :
						   (uint32_t)rnd(g->r);
	tfinish(g, op);
}

static void t_access_replace(struct gen *g, struct op *op)
{
	tcmd(g, op, "ACCESS_REPLACE_IOAS", IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
	     S_NTYPES);
	put_access(g, op);
	put_id(g, op, TOFF(access_replace_ioas.ioas_id), S_IOAS, "ioas");
	tfinish(g, op);
}

static void t_memory_limit(struct gen *g, struct op *op)
{
	tcmd(g, op, "SET_TEMP_MEMORY_LIMIT", IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
	     S_NTYPES);
	TARG->memory_limit.limit = rnd_below(g->r, 70);
	tfinish(g, op);
}

static void t_dirty(struct gen *g, struct op *op)
{
	tcmd(g, op, "DIRTY", IOMMU_TEST_OP_DIRTY, S_HWPT);
	put_iova(g, op, TOFF(dirty.iova));
	TARG->dirty.page_size = chance(g->r, 80) ? PG : PG / 2;
	TARG->dirty.length = (1 + rnd_below(g->r, 256)) * TARG->dirty.page_size;
	memset(op->arg + AUX_OFF, 0xa5, AUX_MAX);
	put_ptr(g, op, TOFF(dirty.uptr), AUX_MAX);
	tfinish(g, op);
}

static void t_checks(struct gen *g, struct op *op)
{
	if (chance(g->r, 50)) {
		tcmd(g, op, "MD_CHECK_IOTLB", IOMMU_TEST_OP_MD_CHECK_IOTLB,
		     S_NESTED);
		TARG->check_iotlb.id = rnd_below(g->r, 5);
		TARG->check_iotlb.iotlb = chance(g->r, 80) ?
			IOMMU_TEST_IOTLB_DEFAULT : 0;
	} else {
		tcmd(g, op, "DEV_CHECK_CACHE", IOMMU_TEST_OP_DEV_CHECK_CACHE,
		     S_STDEV);
		TARG->check_dev_cache.id = rnd_below(g->r, 5);
		TARG->check_dev_cache.cache = chance(g->r, 80) ?
			IOMMU_TEST_DEV_CACHE_DEFAULT : 0;
	}
	tfinish(g, op);
}

static void t_trigger(struct gen *g, struct op *op)
{
	if (chance(g->r, 60)) {
		tcmd(g, op, "TRIGGER_IOPF", IOMMU_TEST_OP_TRIGGER_IOPF,
		     S_NTYPES);
		put_id(g, op, TOFF(trigger_iopf.dev_id), S_IDEV, "dev");
		TARG->trigger_iopf.pasid = rnd_below(g->r, 3);
		TARG->trigger_iopf.grpid = rnd_below(g->r, 4);
		TARG->trigger_iopf.perm = rnd_below(g->r, 16);
		TARG->trigger_iopf.addr = pick_iova(g);
	} else {
		tcmd(g, op, "TRIGGER_VEVENT", IOMMU_TEST_OP_TRIGGER_VEVENT,
		     S_NTYPES);
		put_id(g, op, TOFF(trigger_vevent.dev_id), S_IDEV, "dev");
	}
	tfinish(g, op);
}

static void t_pasid(struct gen *g, struct op *op)
{
	static const uint32_t pasids[] = { 0, 1, 2, 3, 1, 2,
					   IOMMU_TEST_PASID_RESERVED,
					   1U << MOCK_PASID_WIDTH };
	static const uint32_t nr[] = {
		IOMMU_TEST_OP_PASID_ATTACH, IOMMU_TEST_OP_PASID_REPLACE,
		IOMMU_TEST_OP_PASID_DETACH, IOMMU_TEST_OP_PASID_CHECK_HWPT,
	};
	unsigned int which = rnd_below(g->r, 4);

	tcmd(g, op, "PASID_OP", nr[which], S_STDEV);
	TARG->pasid_attach.pasid = pasids[rnd_below(g->r, 8)];
	if (which != 2)
		put_id(g, op, TOFF(pasid_attach.pt_id),
		       which == 3 ? S_HWPT : pt_type(g), "pt");
	op_desc(op, " op=%u pasid=%u", nr[which], TARG->pasid_attach.pasid);
	tfinish(g, op);
}

/* ---- file operations ---- */

static void f_read(struct gen *g, struct op *op)
{
	static const uint8_t types[] = { S_FD_FAULT, S_FD_VEVENTQ,
					 S_FD_ACCESS };
	int s = fd_slot(g, types[rnd_below(g->r, 3)]);
	static const uint32_t lens[] = {
		sizeof(struct iommu_hwpt_pgfault),
		2 * sizeof(struct iommu_hwpt_pgfault),
		sizeof(struct iommufd_vevent_header) +
			sizeof(struct iommu_viommu_event_selftest),
		4, 0, 200,
	};

	op_init(op, A_READ, "read");
	if (s < 0) {
		pick_ctx(g, op);
	} else {
		op->fd_kind = FD_SLOT;
		op->fd_idx = s;
	}
	op->len = lens[rnd_below(g->r, 6)];
	op_desc(op, " %s len=%u", s < 0 ? "ctx" : slot_type_name(
		g->p->s[s].type), op->len);
}

static void f_write(struct gen *g, struct op *op)
{
	struct iommu_hwpt_page_response *resp = (void *)op->arg;
	int s = fd_slot(g, chance(g->r, 85) ? S_FD_FAULT : S_FD_VEVENTQ);
	unsigned int n = 1 + rnd_below(g->r, 3), i;

	op_init(op, A_WRITE, "write");
	if (s < 0) {
		pick_ctx(g, op);
	} else {
		op->fd_kind = FD_SLOT;
		op->fd_idx = s;
	}
	for (i = 0; i != n; i++) {
		resp[i].cookie = rnd_below(g->r, 6);
		resp[i].code = chance(g->r, 90) ? rnd_below(g->r, 2) : 7;
	}
	op->len = chance(g->r, 90) ? n * sizeof(*resp) : rnd_below(g->r, 30);
	/* a vEVENTQ is read-only: v6.17 refuses writes with EINVAL */
	if (s >= 0 && g->p->s[s].type == S_FD_VEVENTQ) {
		op->expect = E_ERRNO;
		op->exp_errno = EINVAL;
	}
	op_desc(op, " n=%u len=%u", n, op->len);
}

static void f_close(struct gen *g, struct op *op)
{
	static const uint8_t types[] = { S_FD_FAULT, S_FD_VEVENTQ,
					 S_FD_ACCESS };
	int s = fd_slot(g, types[rnd_below(g->r, 3)]);

	op_init(op, A_CLOSE, "close");
	if (s >= 0) {
		op->fd_kind = FD_SLOT;
		op->fd_idx = s;
		op_desc(op, " s%d", s);
	}
}

static void f_mmap(struct gen *g, struct op *op)
{
	int s = slot_pick(g, S_MMAP_OFF);

	op_init(op, A_MMAP, "mmap");
	pick_ctx(g, op);
	op->len = chance(g->r, 85) ? PG : PG << rnd_below(g->r, 3);
	/* the offset lives in arg[0..7], flags in arg[8..11] */
	if (s >= 0 && g->p->s[s].type == S_MMAP_OFF && chance(g->r, 90)) {
		op_fix(op, 0, FX_SLOT, 8, s);
		op_desc(op, " off=s%d", s);
	} else {
		fz_put(op->arg, 0, 8, rnd_below(g->r, 8) * PG);
	}
	fz_put(op->arg, 8, 4, chance(g->r, 90) ? MAP_SHARED : MAP_PRIVATE);
	op_desc(op, " len=%u", op->len);
}

static void f_dontneed(struct gen *g, struct op *op)
{
	uint64_t len, va;

	op_init(op, A_DONTNEED, "madvise_dontneed");
	/* Only where nothing checks page contents or counts. */
	do {
		va = pick_uva(g, &len);
	} while (va < FZ_BASE || va >= fz_rg_addr(RG_RO));
	fz_put(op->arg, 0, 8, va & ~(PG - 1));
	fz_put(op->arg, 8, 8, len);
	op_desc(op, " va=%#llx len=%#llx", (unsigned long long)va,
		(unsigned long long)len);
}

/* ---- chains: one object built on the last, as a VMM would ---- */

/* The next operation of a chain, on context @ctx, as a plain command. */
static struct op *chain_cmd(struct op *ops, unsigned int *n, unsigned int ctx,
			    const char *name, uint32_t cmd, unsigned int size)
{
	struct op *op = &ops[(*n)++];

	op_init(op, A_IOCTL, name);
	op_set_ctx(op, ctx);
	op->cmd = cmd;
	op->len = ARG_MAX;
	fz_put(op->arg, 0, 4, size);
	return op;
}

static struct op *chain_test(struct op *ops, unsigned int *n, unsigned int ctx,
			     const char *name, uint32_t nr)
{
	struct op *op = chain_cmd(ops, n, ctx, name, IOMMU_TEST_CMD,
				  sizeof(struct iommu_test_cmd));

	((struct iommu_test_cmd *)op->arg)->op = nr;
	return op;
}

static unsigned int fresh(struct gen *g, unsigned int type)
{
	return slot_new(g->p, type, g->ctx);
}

#define FIX(op, type, field, slot) \
	op_fix(op, offsetof(struct type, field), FX_SLOT, \
	       sizeof(((struct type *)0)->field), slot)
#define OUT(op, type, field, slot, st) \
	op_out(op, offsetof(struct type, field), \
	       sizeof(((struct type *)0)->field), slot, st)

/*
 * A device on an IOAS, a nesting parent, a vIOMMU with a vDEVICE, an
 * event queue, its MMIO page mapped, a HW queue, a fault queue and a
 * nested HWPT reporting to it; then faults and events raised and read and
 * answered. Each step is its own operation, so the other threads race
 * every one of them. Returns the number of operations (at most 24).
 */
unsigned int gen_chain(struct gen *g, struct op *ops)
{
	unsigned int ioas = fresh(g, S_IOAS), stdev = fresh(g, S_STDEV);
	unsigned int hwpt = fresh(g, S_HWPT), idev = fresh(g, S_IDEV);
	unsigned int np = fresh(g, S_HWPT_NP), viommu = fresh(g, S_VIOMMU);
	unsigned int moff = fresh(g, S_MMAP_OFF), mlen = fresh(g, S_MMAP_OFF);
	unsigned int vdev = fresh(g, S_VDEV), q = fresh(g, S_VEVENTQ);
	unsigned int qfd = fresh(g, S_FD_VEVENTQ), fault = fresh(g, S_FAULT);
	unsigned int ffd = fresh(g, S_FD_FAULT), nested = fresh(g, S_NESTED);
	unsigned int hwq = fresh(g, S_HWQ), ctx = g->ctx, n = 0;
	uint64_t iova = APERTURE + SYZ_WINDOW + rnd_below(g->r, 64) * PG;
	struct iommu_viommu_selftest *vdata;
	struct iommu_test_cmd *t;
	struct op *op;

	op = chain_cmd(ops, &n, ctx, "chain IOAS_ALLOC", IOMMU_IOAS_ALLOC,
		       sizeof(struct iommu_ioas_alloc));
	OUT(op, iommu_ioas_alloc, out_ioas_id, ioas, S_IOAS);

	op = chain_test(ops, &n, ctx, "chain MOCK_DOMAIN_FLAGS",
			IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS);
	t = (void *)op->arg;
	t->mock_domain_flags.dev_flags = rnd_below(g->r, 2) ?
					 MOCK_FLAGS_DEVICE_PASID : 0;
	FIX(op, iommu_test_cmd, id, ioas);
	OUT(op, iommu_test_cmd, mock_domain_flags.out_stdev_id, stdev,
	    S_STDEV);
	OUT(op, iommu_test_cmd, mock_domain_flags.out_hwpt_id, hwpt, S_HWPT);
	OUT(op, iommu_test_cmd, mock_domain_flags.out_idev_id, idev, S_IDEV);

	op = chain_cmd(ops, &n, ctx, "chain IOAS_MAP", IOMMU_IOAS_MAP,
		       sizeof(struct iommu_ioas_map));
	((struct iommu_ioas_map *)op->arg)->flags =
		IOMMU_IOAS_MAP_FIXED_IOVA | RW_FLAGS;
	((struct iommu_ioas_map *)op->arg)->user_va =
		fz_rg_addr(RG_ANON) + rnd_below(g->r, 200) * PG;
	((struct iommu_ioas_map *)op->arg)->length = 4 * PG;
	((struct iommu_ioas_map *)op->arg)->iova = iova;
	FIX(op, iommu_ioas_map, ioas_id, ioas);

	op = chain_cmd(ops, &n, ctx, "chain HWPT_ALLOC parent", IOMMU_HWPT_ALLOC,
		       sizeof(struct iommu_hwpt_alloc));
	((struct iommu_hwpt_alloc *)op->arg)->flags =
		IOMMU_HWPT_ALLOC_NEST_PARENT;
	FIX(op, iommu_hwpt_alloc, dev_id, idev);
	FIX(op, iommu_hwpt_alloc, pt_id, ioas);
	OUT(op, iommu_hwpt_alloc, out_hwpt_id, np, S_HWPT_NP);

	op = chain_cmd(ops, &n, ctx, "chain VIOMMU_ALLOC", IOMMU_VIOMMU_ALLOC,
		       sizeof(struct iommu_viommu_alloc));
	((struct iommu_viommu_alloc *)op->arg)->type =
		IOMMU_VIOMMU_TYPE_SELFTEST;
	((struct iommu_viommu_alloc *)op->arg)->data_len = sizeof(*vdata);
	vdata = (void *)(op->arg + AUX_OFF);
	vdata->in_data = rnd(g->r);
	FIX(op, iommu_viommu_alloc, dev_id, idev);
	FIX(op, iommu_viommu_alloc, hwpt_id, np);
	op_fix(op, offsetof(struct iommu_viommu_alloc, data_uptr), FX_AUX, 8,
	       AUX_OFF);
	OUT(op, iommu_viommu_alloc, out_viommu_id, viommu, S_VIOMMU);
	op_out(op, AUX_OFF + offsetof(struct iommu_viommu_selftest,
				      out_mmap_offset), 8, moff, S_MMAP_OFF);
	op_out(op, AUX_OFF + offsetof(struct iommu_viommu_selftest,
				      out_mmap_length), 8, mlen, S_MMAP_OFF);

	op = chain_cmd(ops, &n, ctx, "chain VDEVICE_ALLOC", IOMMU_VDEVICE_ALLOC,
		       sizeof(struct iommu_vdevice_alloc));
	((struct iommu_vdevice_alloc *)op->arg)->virt_id = rnd_below(g->r, 8);
	FIX(op, iommu_vdevice_alloc, viommu_id, viommu);
	FIX(op, iommu_vdevice_alloc, dev_id, idev);
	OUT(op, iommu_vdevice_alloc, out_vdevice_id, vdev, S_VDEV);

	op = chain_cmd(ops, &n, ctx, "chain VEVENTQ_ALLOC", IOMMU_VEVENTQ_ALLOC,
		       sizeof(struct iommu_veventq_alloc));
	((struct iommu_veventq_alloc *)op->arg)->type =
		IOMMU_VEVENTQ_TYPE_SELFTEST;
	((struct iommu_veventq_alloc *)op->arg)->veventq_depth =
		1 + rnd_below(g->r, 3);
	FIX(op, iommu_veventq_alloc, viommu_id, viommu);
	OUT(op, iommu_veventq_alloc, out_veventq_id, q, S_VEVENTQ);
	OUT(op, iommu_veventq_alloc, out_veventq_fd, qfd, S_FD_VEVENTQ);

	op = &ops[n++];
	op_init(op, A_MMAP, "chain mmap");
	op_set_ctx(op, ctx);
	op->len = PG;
	op_fix(op, 0, FX_SLOT, 8, moff);
	op_fix(op, 16, FX_SLOT, 8, mlen);
	fz_put(op->arg, 8, 4, MAP_SHARED);

	op = chain_cmd(ops, &n, ctx, "chain HW_QUEUE_ALLOC", IOMMU_HW_QUEUE_ALLOC,
		       sizeof(struct iommu_hw_queue_alloc));
	((struct iommu_hw_queue_alloc *)op->arg)->type =
		IOMMU_HW_QUEUE_TYPE_SELFTEST;
	((struct iommu_hw_queue_alloc *)op->arg)->index = rnd_below(g->r, 2);
	((struct iommu_hw_queue_alloc *)op->arg)->nesting_parent_iova = iova;
	((struct iommu_hw_queue_alloc *)op->arg)->length =
		PG << rnd_below(g->r, 2);
	FIX(op, iommu_hw_queue_alloc, viommu_id, viommu);
	OUT(op, iommu_hw_queue_alloc, out_hw_queue_id, hwq, S_HWQ);

	op = chain_cmd(ops, &n, ctx, "chain FAULT_QUEUE_ALLOC",
		       IOMMU_FAULT_QUEUE_ALLOC, sizeof(struct iommu_fault_alloc));
	OUT(op, iommu_fault_alloc, out_fault_id, fault, S_FAULT);
	OUT(op, iommu_fault_alloc, out_fault_fd, ffd, S_FD_FAULT);

	op = chain_cmd(ops, &n, ctx, "chain HWPT_ALLOC nested", IOMMU_HWPT_ALLOC,
		       sizeof(struct iommu_hwpt_alloc));
	((struct iommu_hwpt_alloc *)op->arg)->flags = IOMMU_HWPT_FAULT_ID_VALID;
	((struct iommu_hwpt_alloc *)op->arg)->data_type =
		IOMMU_HWPT_DATA_SELFTEST;
	((struct iommu_hwpt_alloc *)op->arg)->data_len =
		sizeof(struct iommu_hwpt_selftest);
	((struct iommu_hwpt_selftest *)(op->arg + AUX_OFF))->iotlb =
		IOMMU_TEST_IOTLB_DEFAULT;
	FIX(op, iommu_hwpt_alloc, dev_id, idev);
	FIX(op, iommu_hwpt_alloc, pt_id, chance(g->r, 50) ? viommu : np);
	FIX(op, iommu_hwpt_alloc, fault_id, fault);
	op_fix(op, offsetof(struct iommu_hwpt_alloc, data_uptr), FX_AUX, 8,
	       AUX_OFF);
	OUT(op, iommu_hwpt_alloc, out_hwpt_id, nested, S_NESTED);

	op = chain_test(ops, &n, ctx, "chain MOCK_DOMAIN_REPLACE",
			IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE);
	FIX(op, iommu_test_cmd, id, stdev);
	FIX(op, iommu_test_cmd, mock_domain_replace.pt_id, nested);

	op = chain_test(ops, &n, ctx, "chain TRIGGER_IOPF",
			IOMMU_TEST_OP_TRIGGER_IOPF);
	t = (void *)op->arg;
	t->trigger_iopf.grpid = rnd_below(g->r, 4);
	t->trigger_iopf.perm = IOMMU_PGFAULT_PERM_READ;
	t->trigger_iopf.addr = iova;
	FIX(op, iommu_test_cmd, trigger_iopf.dev_id, idev);

	op = chain_test(ops, &n, ctx, "chain TRIGGER_VEVENT",
			IOMMU_TEST_OP_TRIGGER_VEVENT);
	FIX(op, iommu_test_cmd, trigger_vevent.dev_id, idev);

	op = &ops[n++];
	op_init(op, A_READ, "chain read fault");
	op->fd_kind = FD_SLOT;
	op->fd_idx = ffd;
	op->len = sizeof(struct iommu_hwpt_pgfault);

	op = &ops[n++];
	op_init(op, A_WRITE, "chain write response");
	op->fd_kind = FD_SLOT;
	op->fd_idx = ffd;
	((struct iommu_hwpt_page_response *)op->arg)->cookie =
		rnd_below(g->r, 4);
	op->len = sizeof(struct iommu_hwpt_page_response);

	op = &ops[n++];
	op_init(op, A_READ, "chain read vevent");
	op->fd_kind = FD_SLOT;
	op->fd_idx = qfd;
	op->len = 64;

	op = chain_cmd(ops, &n, ctx, "chain HWPT_INVALIDATE", IOMMU_HWPT_INVALIDATE,
		       sizeof(struct iommu_hwpt_invalidate));
	((struct iommu_hwpt_invalidate *)op->arg)->data_type =
		IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST;
	((struct iommu_hwpt_invalidate *)op->arg)->entry_len =
		sizeof(struct iommu_viommu_invalidate_selftest);
	((struct iommu_hwpt_invalidate *)op->arg)->entry_num = 1;
	((struct iommu_viommu_invalidate_selftest *)(op->arg + AUX_OFF))->flags =
		IOMMU_TEST_INVALIDATE_FLAG_ALL;
	FIX(op, iommu_hwpt_invalidate, hwpt_id, viommu);
	op_fix(op, offsetof(struct iommu_hwpt_invalidate, data_uptr), FX_AUX,
	       8, AUX_OFF);

	/* sometimes take it down again, in an order that may be refused */
	if (chance(g->r, 50)) {
		static const uint8_t order[] = { 1, 0, 2, 3 };
		const unsigned int ids[] = { nested, viommu, np, ioas };
		unsigned int i;

		for (i = 0; i != 4; i++) {
			op = chain_cmd(ops, &n, ctx, "chain DESTROY", IOMMU_DESTROY,
				       sizeof(struct iommu_destroy));
			FIX(op, iommu_destroy, id,
			    ids[chance(g->r, 70) ? i : order[i]]);
		}
	}
	(void)hwpt;
	(void)hwq;
	(void)vdev;
	(void)q;
	return n;
}

struct generator {
	void (*fn)(struct gen *g, struct op *op);
	unsigned int weight;
};

static const struct generator hostile[] = {
	{ g_destroy, 8 }, { g_ioas_alloc, 5 }, { g_iova_ranges, 2 },
	{ g_allow_iovas, 2 }, { g_ioas_map, 12 }, { g_ioas_map_file, 5 },
	{ g_ioas_copy, 5 }, { g_ioas_unmap, 9 }, { g_option, 2 },
	{ g_vfio_ioas, 2 }, { g_hwpt_alloc, 6 }, { g_hw_info, 2 },
	{ g_set_dirty, 2 }, { g_get_dirty, 2 }, { g_invalidate, 3 },
	{ g_fault_alloc, 2 }, { g_viommu_alloc, 3 }, { g_vdevice_alloc, 3 },
	{ g_change_process, 1 }, { g_veventq_alloc, 2 },
	{ g_hw_queue_alloc, 3 }, { t_mock_domain, 8 }, { t_replace, 4 },
	{ t_add_reserved, 1 }, { t_check_map, 2 }, { t_check_refs, 1 },
	{ t_create_access, 3 }, { t_access_pages, 4 },
	{ t_destroy_access_pages, 3 }, { t_access_rw, 3 },
	{ t_access_replace, 2 }, { t_memory_limit, 1 }, { t_dirty, 2 },
	{ t_checks, 1 }, { t_trigger, 4 }, { t_pasid, 4 }, { f_read, 3 },
	{ f_write, 2 }, { f_close, 2 }, { f_mmap, 2 }, { f_dontneed, 1 },
};

static void pick(struct gen *g, struct op *op, const struct generator *t,
		 unsigned int n)
{
	unsigned int total = 0, i, r;

	for (i = 0; i != n; i++)
		total += t[i].weight;
	r = rnd_below(g->r, total);
	for (i = 0; r >= t[i].weight; i++)
		r -= t[i].weight;
	t[i].fn(g, op);
}

/* One operation of a hostile thread: anything but the oracle's. */
void gen_hostile(struct gen *g, struct op *op)
{
	if (chance(g->r, 1) && chance(g->r, 50)) {
		op_init(op, A_REOPEN, "reopen");
		op_set_ctx(op, rnd_below(g->r, 2));
		return;
	}
	if (chance(g->r, 1)) {
		op_init(op, A_FORK, "fork");
		return;
	}
	pick(g, op, hostile, sizeof(hostile) / sizeof(hostile[0]));
}

/* One operation of a forked child: no forks, no reopen. */
void gen_child(struct gen *g, struct op *op)
{
	pick(g, op, hostile, sizeof(hostile) / sizeof(hostile[0]));
}
