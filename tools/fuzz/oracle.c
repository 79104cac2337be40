// SPDX-License-Identifier: GPL-2.0-only
/*
 * The oracle: one thread of every sequence works on a context of its own
 * (CTX_O) and keeps a model of what its IOAS maps, so that each of its
 * operations has a predicted outcome (success, or the errno the uAPI
 * documents) and, after each, the mock domains are read back and compared
 * with the model: mapped IOVAs translate to the page the model says,
 * unmapped ones to nothing. IOAS_UNMAP must report exactly the bytes the
 * model removes. The other threads cannot reach this context, so the model
 * is exact even while they run.
 *
 * The model is a list of areas, as IOAS_MAP and IOAS_COPY create them: an
 * unmap removes whole areas or fails, and a copy of a range spanning
 * several areas creates one area per piece.
 */
#include <stddef.h>

#include <linux/iommufd.h>

#include "iommufd_test.h"
#include "fuzz.h"

#define PG		4096UL
#define WIN		((uint64_t)MOCK_APERTURE_START)
#define WIN_PAGES	512UL
#define MAX_AREAS	256

/* Slots the oracle owns; slot_new() never hands these out. */
enum {
	OS_IOAS, OS_STDEV, OS_HWPT, OS_IDEV, OS_STDEV2, OS_HWPT2, OS_IDEV2,
	OS_SCRATCH,
};

struct area {
	uint64_t iova;
	uint64_t len;
	uint64_t va;	/* the user address the first page came from */
};

struct model {
	struct area a[MAX_AREAS];
	unsigned int n;
};

struct model *model_new(void)
{
	return calloc(1, sizeof(struct model));
}

void model_free(struct model *m)
{
	free(m);
}

static uint64_t a_end(const struct area *a)
{
	return a->iova + a->len;
}

static bool overlaps(const struct model *m, uint64_t s, uint64_t e)
{
	unsigned int i;

	for (i = 0; i != m->n; i++)
		if (m->a[i].iova < e && s < a_end(&m->a[i]))
			return true;
	return false;
}

static void add_area(struct model *m, uint64_t iova, uint64_t len,
		     uint64_t va)
{
	unsigned int i = m->n;

	if (m->n == MAX_AREAS)
		abort();
	while (i && m->a[i - 1].iova > iova) {
		m->a[i] = m->a[i - 1];
		i--;
	}
	m->a[i] = (struct area){ iova, len, va };
	m->n++;
}

/*
 * Whether [s, e) is covered by areas without a gap; if so, each covered
 * piece is passed to @fn.
 */
static bool covered(const struct model *m, uint64_t s, uint64_t e,
		    void (*fn)(void *ctx, uint64_t iova, uint64_t len,
			       uint64_t va),
		    void *ctx)
{
	uint64_t at = s;
	unsigned int i;

	for (i = 0; i != m->n && at < e; i++) {
		const struct area *a = &m->a[i];
		uint64_t from, to;

		if (a_end(a) <= at)
			continue;
		if (a->iova > at)
			return false;
		from = at;
		to = a_end(a) < e ? a_end(a) : e;
		if (fn)
			fn(ctx, from, to - from, a->va + (from - a->iova));
		at = to;
	}
	return at >= e;
}

/* One setup command on the oracle's context, which must succeed. */
static struct op *setup_op(struct op *ops, unsigned int *n, const char *name,
			   uint32_t cmd, unsigned int size)
{
	struct op *op = &ops[(*n)++];

	op_init(op, A_IOCTL, name);
	op_set_ctx(op, CTX_O);
	op->cmd = cmd;
	op->len = ARG_MAX;
	op->expect = E_OK;
	fz_put(op->arg, 0, 4, size);
	return op;
}

#define TCMD_OFF(m) offsetof(struct iommu_test_cmd, m)

/*
 * Oracle setup: its IOAS, and two mock devices on it, each moved to a
 * paging HWPT of its own allocated for dirty tracking (so that two
 * different domains are checked, and IOMMU_TEST_OP_DIRTY can count what
 * each maps), with tracking on. Returns the number of operations (at
 * most ORACLE_SETUP_MAX).
 */
int oracle_setup(struct gen *g, struct op *ops, unsigned int max)
{
	static const uint8_t stdev[] = { OS_STDEV, OS_STDEV2 };
	static const uint8_t hwpt[] = { OS_HWPT, OS_HWPT2 };
	static const uint8_t idev[] = { OS_IDEV, OS_IDEV2 };
	unsigned int n = 0, i;
	struct op *op;

	if (max < ORACLE_SETUP_MAX)
		abort();
	op = setup_op(ops, &n, "oracle IOAS_ALLOC", IOMMU_IOAS_ALLOC,
		      sizeof(struct iommu_ioas_alloc));
	op_out(op, offsetof(struct iommu_ioas_alloc, out_ioas_id), 4,
	       OS_IOAS, S_IOAS);

	for (i = 0; i != 2; i++) {
		struct iommu_test_cmd *c;

		op = setup_op(ops, &n, "oracle MOCK_DOMAIN_FLAGS",
			      IOMMU_TEST_CMD, sizeof(*c));
		c = (void *)op->arg;
		c->op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS;
		/* the second device maps with large IOVA pages, maybe */
		c->mock_domain_flags.dev_flags = i && chance(g->r, 50) ?
			MOCK_FLAGS_DEVICE_HUGE_IOVA : 0;
		op_fix(op, TCMD_OFF(id), FX_SLOT, 4, OS_IOAS);
		op_out(op, TCMD_OFF(mock_domain_flags.out_stdev_id), 4,
		       stdev[i], S_STDEV);
		/* the automatic domain is left behind by the replace */
		op_out(op, TCMD_OFF(mock_domain_flags.out_hwpt_id), 4,
		       OS_SCRATCH, S_HWPT);
		op_out(op, TCMD_OFF(mock_domain_flags.out_idev_id), 4,
		       idev[i], S_IDEV);

		op = setup_op(ops, &n, "oracle HWPT_ALLOC", IOMMU_HWPT_ALLOC,
			      sizeof(struct iommu_hwpt_alloc));
		((struct iommu_hwpt_alloc *)op->arg)->flags =
			IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
		op_fix(op, offsetof(struct iommu_hwpt_alloc, dev_id), FX_SLOT,
		       4, idev[i]);
		op_fix(op, offsetof(struct iommu_hwpt_alloc, pt_id), FX_SLOT,
		       4, OS_IOAS);
		op_out(op, offsetof(struct iommu_hwpt_alloc, out_hwpt_id), 4,
		       hwpt[i], S_HWPT);

		op = setup_op(ops, &n, "oracle MOCK_DOMAIN_REPLACE",
			      IOMMU_TEST_CMD, sizeof(*c));
		c = (void *)op->arg;
		c->op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
		op_fix(op, TCMD_OFF(id), FX_SLOT, 4, stdev[i]);
		op_fix(op, TCMD_OFF(mock_domain_replace.pt_id), FX_SLOT, 4,
		       hwpt[i]);

		op = setup_op(ops, &n, "oracle SET_DIRTY_TRACKING",
			      IOMMU_HWPT_SET_DIRTY_TRACKING,
			      sizeof(struct iommu_hwpt_set_dirty_tracking));
		((struct iommu_hwpt_set_dirty_tracking *)op->arg)->flags =
			IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
		op_fix(op, offsetof(struct iommu_hwpt_set_dirty_tracking,
				    hwpt_id), FX_SLOT, 4, hwpt[i]);
	}
	return n;
}

static void oracle_cmd(struct op *op, const char *name, uint32_t cmd,
		       unsigned int kind, unsigned int ioas_off)
{
	op_init(op, A_IOCTL, name);
	op_set_ctx(op, CTX_O);
	op->cmd = cmd;
	op->oracle = kind;
	op->len = ARG_MAX;
	op_fix(op, ioas_off, FX_SLOT, 4, OS_IOAS);
}

/* A random page-aligned range of the oracle's window. */
static void win_range(struct gen *g, __u64 *iova, __u64 *len)
{
	uint64_t first = rnd_below(g->r, WIN_PAGES);
	uint64_t n = 1 + rnd_below(g->r, 16);

	if (first + n > WIN_PAGES)
		n = WIN_PAGES - first;
	*iova = WIN + first * PG;
	*len = n * PG;
}

static void gen_map(struct gen *g, struct op *op)
{
	struct iommu_ioas_map *c = (void *)op->arg;
	uint64_t off = rnd_below(g->r, fz_rg[RG_ORACLE].len / PG - 16) * PG;

	oracle_cmd(op, "oracle IOAS_MAP", IOMMU_IOAS_MAP, O_MAP,
		   offsetof(struct iommu_ioas_map, ioas_id));
	c->size = sizeof(*c);
	c->flags = IOMMU_IOAS_MAP_FIXED_IOVA | RW_FLAGS;
	win_range(g, &c->iova, &c->length);
	/* now and then from memory that is not there */
	c->user_va = chance(g->r, 5) ? fz_rg_addr(RG_HOLE) :
				       fz_rg_addr(RG_ORACLE) + off;
	op_desc(op, " va=%#llx len=%#llx iova=%#llx",
		(unsigned long long)c->user_va, (unsigned long long)c->length,
		(unsigned long long)c->iova);
}

static void gen_map_file(struct gen *g, struct op *op)
{
	struct iommu_ioas_map_file *c = (void *)op->arg;

	oracle_cmd(op, "oracle IOAS_MAP_FILE", IOMMU_IOAS_MAP_FILE,
		   O_MAP_FILE, offsetof(struct iommu_ioas_map_file, ioas_id));
	c->size = sizeof(*c);
	c->flags = IOMMU_IOAS_MAP_FIXED_IOVA | RW_FLAGS;
	c->fd = FZ_OFILE_FD;
	win_range(g, &c->iova, &c->length);
	c->start = rnd_below(g->r, fz_rg[RG_OFILE].len / PG - 16) * PG;
	op_desc(op, " start=%#llx len=%#llx iova=%#llx",
		(unsigned long long)c->start, (unsigned long long)c->length,
		(unsigned long long)c->iova);
}

/* A range made of whole areas, part of one, or anything in the window. */
static void area_range(struct gen *g, const struct model *m, __u64 *iova,
		       __u64 *len)
{
	unsigned int i, j;

	if (!m->n || chance(g->r, 20)) {
		win_range(g, iova, len);
		return;
	}
	i = rnd_below(g->r, m->n);
	j = i + (chance(g->r, 30) ? rnd_below(g->r, m->n - i) : 0);
	*iova = m->a[i].iova;
	*len = a_end(&m->a[j]) - *iova;
	if (chance(g->r, 20) && *len > PG) {
		/* shave a page off one end */
		if (chance(g->r, 50))
			*iova += PG;
		*len -= PG;
	}
}

static void gen_unmap(struct gen *g, struct model *m, struct op *op)
{
	struct iommu_ioas_unmap *c = (void *)op->arg;

	oracle_cmd(op, "oracle IOAS_UNMAP", IOMMU_IOAS_UNMAP, O_UNMAP,
		   offsetof(struct iommu_ioas_unmap, ioas_id));
	c->size = sizeof(*c);
	area_range(g, m, &c->iova, &c->length);
	op_desc(op, " iova=%#llx len=%#llx", (unsigned long long)c->iova,
		(unsigned long long)c->length);
}

static void gen_copy(struct gen *g, struct model *m, struct op *op)
{
	struct iommu_ioas_copy *c = (void *)op->arg;
	__u64 dst, dlen;

	oracle_cmd(op, "oracle IOAS_COPY", IOMMU_IOAS_COPY, O_COPY,
		   offsetof(struct iommu_ioas_copy, src_ioas_id));
	op_fix(op, offsetof(struct iommu_ioas_copy, dst_ioas_id), FX_SLOT, 4,
	       OS_IOAS);
	c->size = sizeof(*c);
	c->flags = IOMMU_IOAS_MAP_FIXED_IOVA | RW_FLAGS;
	area_range(g, m, &c->src_iova, &c->length);
	win_range(g, &dst, &dlen);
	if ((dst - WIN) / PG + c->length / PG > WIN_PAGES)
		dst = WIN + (WIN_PAGES * PG - c->length);
	c->dst_iova = dst;
	op_desc(op, " src=%#llx len=%#llx dst=%#llx",
		(unsigned long long)c->src_iova, (unsigned long long)c->length,
		(unsigned long long)c->dst_iova);
}

static void gen_verify(struct gen *g, struct op *op, uint64_t iova,
		       uint64_t len)
{
	op_init(op, A_VERIFY, "oracle VERIFY");
	op_set_ctx(op, CTX_O);
	fz_put(op->arg, 0, 8, iova);
	fz_put(op->arg, 8, 8, len);
	op_desc(op, " iova=%#llx len=%#llx", (unsigned long long)iova,
		(unsigned long long)len);
}

/*
 * The oracle's next operation. After one that changes the IOAS the caller
 * should verify its range: oracle_range() tells which.
 */
void oracle_gen(struct gen *g, struct model *m, struct op *op)
{
	unsigned int r = rnd_below(g->r, 100);
	__u64 iova, len;

	if (r < 35) {
		gen_map(g, op);
	} else if (r < 45) {
		gen_map_file(g, op);
	} else if (r < 75) {
		gen_unmap(g, m, op);
	} else if (r < 90) {
		gen_copy(g, m, op);
	} else {
		win_range(g, &iova, &len);
		gen_verify(g, op, iova, len);
	}
}

/* The range an oracle operation changed, to verify after it. */
void oracle_range(const struct op *op, uint64_t *iova, uint64_t *len)
{
	switch (op->oracle) {
	case O_MAP:
		*iova = ((struct iommu_ioas_map *)op->arg)->iova;
		*len = ((struct iommu_ioas_map *)op->arg)->length;
		return;
	case O_MAP_FILE:
		*iova = ((struct iommu_ioas_map_file *)op->arg)->iova;
		*len = ((struct iommu_ioas_map_file *)op->arg)->length;
		return;
	case O_UNMAP:
		*iova = ((struct iommu_ioas_unmap *)op->arg)->iova;
		*len = ((struct iommu_ioas_unmap *)op->arg)->length;
		return;
	case O_COPY:
		*iova = ((struct iommu_ioas_copy *)op->arg)->dst_iova;
		*len = ((struct iommu_ioas_copy *)op->arg)->length;
		return;
	}
	*iova = WIN;
	*len = 0;
}

void oracle_verify_op(struct op *op, uint64_t iova, uint64_t len)
{
	gen_verify(NULL, op, iova, len);
}

static void expect(struct op *op, unsigned int e, int err)
{
	op->expect = e;
	op->exp_errno = err;
}

static void sum_piece(void *ctx, uint64_t iova, uint64_t len, uint64_t va)
{
	*(uint64_t *)ctx += len;
}

/* Predict the outcome of an oracle operation from the model. */
void oracle_predict(struct model *m, struct pool *p, struct op *op)
{
	uint64_t s, len, sum = 0;
	unsigned int i;
	bool partial = false;

	switch (op->oracle) {
	case O_MAP: {
		struct iommu_ioas_map *c = (void *)op->arg;

		if (overlaps(m, c->iova, c->iova + c->length))
			expect(op, E_ERRNO, EEXIST);
		else if (c->user_va == fz_rg_addr(RG_HOLE))
			expect(op, E_ERRNO, EFAULT);
		else
			expect(op, E_OK, 0);
		return;
	}
	case O_MAP_FILE: {
		struct iommu_ioas_map_file *c = (void *)op->arg;

		expect(op, overlaps(m, c->iova, c->iova + c->length) ?
			   E_ERRNO : E_OK, EEXIST);
		return;
	}
	case O_UNMAP: {
		struct iommu_ioas_unmap *c = (void *)op->arg;

		s = c->iova;
		len = c->length;
		for (i = 0; i != m->n; i++) {
			const struct area *a = &m->a[i];

			if (a_end(a) <= s || a->iova >= s + len)
				continue;
			if (a->iova < s || a_end(a) > s + len)
				partial = true;
			sum += a->len;
		}
		if (partial || !sum) {
			expect(op, E_ERRNO, ENOENT);
		} else {
			expect(op, E_OK, 0);
			op->exp_out_off = offsetof(struct iommu_ioas_unmap,
						   length);
			op->exp_out_val = sum;
		}
		return;
	}
	case O_COPY: {
		struct iommu_ioas_copy *c = (void *)op->arg;
		bool src_ok = covered(m, c->src_iova, c->src_iova + c->length,
				      sum_piece, &sum);
		bool dst_busy = overlaps(m, c->dst_iova,
					 c->dst_iova + c->length);

		/* the source is looked at before the destination */
		if (!src_ok)
			expect(op, E_ERRNO, ENOENT);
		else if (dst_busy)
			expect(op, E_ERRNO, EEXIST);
		else
			expect(op, E_OK, 0);
		return;
	}
	case O_FINAL:
		for (i = 0; i != m->n; i++)
			sum += m->a[i].len;
		expect(op, E_OK, 0);
		op->exp_out_off = offsetof(struct iommu_ioas_unmap, length);
		op->exp_out_val = sum;
		return;
	}
	(void)p;
}

struct copy_ctx {
	struct model *m;
	uint64_t delta;	/* dst_iova - src_iova */
	struct area pieces[MAX_AREAS];
	unsigned int n;
};

static void collect_piece(void *ctx, uint64_t iova, uint64_t len,
			  uint64_t va)
{
	struct copy_ctx *cc = ctx;

	if (cc->n != MAX_AREAS)
		cc->pieces[cc->n++] = (struct area){ iova + cc->delta, len, va };
}

/* Bring the model up to date after an oracle operation succeeded. */
void oracle_apply(struct model *m, struct op *op, const uint8_t *done)
{
	unsigned int i, j;

	switch (op->oracle) {
	case O_MAP: {
		const struct iommu_ioas_map *c = (const void *)done;

		add_area(m, c->iova, c->length, c->user_va);
		return;
	}
	case O_MAP_FILE: {
		const struct iommu_ioas_map_file *c = (const void *)done;

		add_area(m, c->iova, c->length,
			 fz_rg_addr(RG_OFILE) + c->start);
		return;
	}
	case O_UNMAP: {
		const struct iommu_ioas_unmap *c = (const void *)op->arg;

		for (i = j = 0; i != m->n; i++) {
			const struct area *a = &m->a[i];

			if (a->iova >= c->iova && a_end(a) <= c->iova + c->length)
				continue;
			m->a[j++] = *a;
		}
		m->n = j;
		return;
	}
	case O_FINAL:
		m->n = 0;
		return;
	case O_COPY: {
		static __thread struct copy_ctx cc;
		const struct iommu_ioas_copy *c = (const void *)done;

		cc.m = m;
		cc.delta = c->dst_iova - c->src_iova;
		cc.n = 0;
		covered(m, c->src_iova, c->src_iova + c->length, collect_piece,
			&cc);
		for (i = 0; i != cc.n; i++)
			add_area(m, cc.pieces[i].iova, cc.pieces[i].len,
				 cc.pieces[i].va);
		return;
	}
	}
}

/* A selftest command of the oracle's context on the HWPT in slot @hwpt. */
static struct iommu_test_cmd *hwpt_test_cmd(struct op *sub, const char *name,
					    uint32_t nr, unsigned int hwpt)
{
	struct iommu_test_cmd *c = (void *)sub->arg;

	op_init(sub, A_IOCTL, name);
	op_set_ctx(sub, CTX_O);
	sub->cmd = IOMMU_TEST_CMD;
	sub->len = ARG_MAX;
	sub->expect = E_OK;
	c->size = sizeof(*c);
	c->op = nr;
	op_fix(sub, offsetof(struct iommu_test_cmd, id), FX_SLOT, 4, hwpt);
	return c;
}

/* MD_CHECK_MAP: the domain of @hwpt maps [@iova, +@len) to @va. */
static void check_map_in(struct op *sub, unsigned int hwpt, uint64_t iova,
			 uint64_t len, uint64_t va)
{
	struct iommu_test_cmd *c = hwpt_test_cmd(sub, "oracle MD_CHECK_MAP",
						 IOMMU_TEST_OP_MD_CHECK_MAP,
						 hwpt);

	c->check_map.iova = iova;
	c->check_map.length = len;
	c->check_map.uptr = va;
	op_desc(sub, " hwpt=s%u iova=%#llx len=%#llx va=%#llx", hwpt,
		(unsigned long long)iova, (unsigned long long)len,
		(unsigned long long)va);
}

/*
 * IOMMU_TEST_OP_DIRTY over [@iova, @iova + @len) of one domain with every
 * bit set: the count of entries it marks must be @want, one per mapped
 * page. Over a gap that is 0, so a mapping left behind cannot hide.
 */
static void count_mapped(struct op *sub, unsigned int hwpt, uint64_t iova,
			 uint64_t len, uint64_t want)
{
	struct iommu_test_cmd *c = hwpt_test_cmd(sub, "oracle DIRTY count",
						 IOMMU_TEST_OP_DIRTY, hwpt);

	c->dirty.iova = iova;
	c->dirty.length = len;
	c->dirty.page_size = PG;
	memset(sub->arg + ARG_MAX - 64, 0xff, (len / PG + 7) / 8);
	op_fix(sub, offsetof(struct iommu_test_cmd, dirty.uptr), FX_AUX, 8,
	       ARG_MAX - 64);
	sub->exp_out_off = offsetof(struct iommu_test_cmd, dirty.out_nr_dirty);
	sub->exp_out_val = want;
	op_desc(sub, " hwpt=s%u iova=%#llx len=%#llx want=%llu", hwpt,
		(unsigned long long)iova, (unsigned long long)len,
		(unsigned long long)want);
}

/* How many operations oracle_verify_ops() may need for the model now. */
unsigned int oracle_verify_max(const struct model *m)
{
	return 5 * (m->n + 2);
}

/*
 * The checks a VERIFY operation stands for, given the model now: each
 * mapped piece of its range translates to the model's pages in both
 * domains and is there page for page in the first; each gap holds no
 * entry in either. @sub must have room for oracle_verify_max().
 */
unsigned int oracle_verify_ops(struct model *m, struct pool *p,
			       const struct op *v, struct op *sub,
			       unsigned int max)
{
	uint64_t s = fz_get(v->arg, 0, 8), e = s + fz_get(v->arg, 8, 8);
	uint64_t at = s;
	unsigned int i, n = 0;

	(void)p;
	if (max < oracle_verify_max(m))
		abort();
	for (i = 0; i <= m->n && at < e; i++) {
		const struct area *a = i < m->n ? &m->a[i] : NULL;
		uint64_t gap_end = a ? a->iova : e;

		if (a && a_end(a) <= at)
			continue;
		if (gap_end > e)
			gap_end = e;
		if (gap_end > at) {
			/* the bitmap holds 512 bits: the window's size */
			count_mapped(&sub[n++], OS_HWPT, at, gap_end - at, 0);
			count_mapped(&sub[n++], OS_HWPT2, at, gap_end - at, 0);
			at = gap_end;
		}
		if (a && at < e) {
			uint64_t to = a_end(a) < e ? a_end(a) : e;
			uint64_t va = a->va + (at - a->iova);

			check_map_in(&sub[n++], OS_HWPT, at, to - at, va);
			check_map_in(&sub[n++], OS_HWPT2, at, to - at, va);
			count_mapped(&sub[n++], OS_HWPT, at, to - at,
				     (to - at) / PG);
			at = to;
		}
	}
	return n;
}

/* The last oracle operation: empty the IOAS, every byte accounted for. */
void oracle_final(struct op *op)
{
	struct iommu_ioas_unmap *c = (void *)op->arg;

	oracle_cmd(op, "oracle IOAS_UNMAP all", IOMMU_IOAS_UNMAP, O_FINAL,
		   offsetof(struct iommu_ioas_unmap, ioas_id));
	c->size = sizeof(*c);
	c->iova = 0;
	c->length = ~0ULL;
}
