/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The structured iommufd fuzzer: what an operation looks like once it is
 * generated, so that it can be run, logged, replayed and written out as C.
 *
 * An operation is one system call (an ioctl, a read, a close...) on a file
 * descriptor named symbolically: one of the sequence's /dev/iommu contexts
 * or a descriptor an earlier operation returned. Its argument is a byte
 * buffer built once, at generation time, and "fixed up" just before each
 * run: an object ID or descriptor an earlier operation returned is written
 * at an offset (slots), and so is the address of a part of the buffer
 * itself (for arrays a command points to). What an operation returns is
 * stored back into slots. Because nothing in the buffer depends on the run
 * that produced it, the same log can be run again single-threaded, cut
 * down, and printed as a C program.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "repro.h"

#define ARG_MAX		448
#define NFIX		8
#define NOUT		3
#define NSLOT		96
#define NCTX		3	/* contexts A and B, shared; O, the oracle's */
#define CTX_O		2

/* What a slot holds. */
enum slot_type {
	S_NONE, S_IOAS, S_HWPT, S_HWPT_NP, S_NESTED, S_IDEV, S_STDEV, S_FAULT,
	S_VIOMMU, S_VDEV, S_VEVENTQ, S_HWQ, S_ACCESS_PAGES,
	/* descriptors */
	S_FD_ACCESS, S_FD_FAULT, S_FD_VEVENTQ,
	/* values that are neither */
	S_MMAP_OFF, S_IOVA,
	S_NTYPES
};

#define S_FIRST_FD S_FD_ACCESS

struct slot {
	uint64_t val;
	uint32_t age;	/* when the value came in; higher is newer */
	uint8_t type;
	uint8_t ctx;
};

/* How an operation's descriptor is found. */
enum { FD_CTX, FD_SLOT, FD_NONE };

enum fix_kind {
	FX_SLOT,	/* write the slot's value */
	FX_AUX,		/* write the address of arg + val */
};

struct fix {
	uint16_t off;
	uint8_t kind;
	uint8_t width;
	uint32_t val;
};

struct out {
	uint16_t off;
	uint8_t width;
	uint8_t slot;
	uint8_t type;	/* what the slot holds once the value is in */
};

/* Oracle operations: the model predicts their outcome. */
enum oracle_kind { O_NONE, O_MAP, O_MAP_FILE, O_UNMAP, O_COPY, O_FINAL };

/* Operations the oracle's setup takes. */
#define ORACLE_SETUP_MAX 9

/* Slots 0 .. ORACLE_SLOTS - 1 belong to the oracle. */
#define ORACLE_SLOTS	8

struct op {
	uint32_t seq;		/* position in the run's order */
	uint8_t proc;		/* 0: the sequence's process; N: Nth child */
	uint8_t thread;
	uint8_t action;
	uint8_t fd_kind;
	uint8_t fd_idx;		/* context number or slot */
	uint8_t expect;
	uint8_t oracle;
	uint8_t nfix;
	uint8_t nout;
	uint8_t enabled;	/* cleared while minimizing */
	int32_t exp_errno;
	int32_t exp_out_off;	/* >= 0: on success a u64 there must be */
	uint64_t exp_out_val;	/* exp_out_val */
	uint32_t cmd;
	uint32_t len;
	int32_t rc;		/* result of the recorded run */
	int32_t err;
	struct fix fix[NFIX];
	struct out out[NOUT];
	char desc[104];
	uint8_t arg[ARG_MAX] __attribute__((aligned(8)));
};

/* The random number generator of one thread: xorshift64*. */
struct rng {
	uint64_t s;
};

static inline uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

/* 0 .. n - 1 */
static inline uint64_t rnd_below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

/* True with probability pct percent. */
static inline bool chance(struct rng *r, unsigned int pct)
{
	return rnd_below(r, 100) < pct;
}

static inline uint64_t seed_mix(uint64_t a, uint64_t b)
{
	uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31)) | 1;
}

/* The slots and descriptors of one process of a sequence. */
struct pool {
	pthread_mutex_t lock;
	struct slot s[NSLOT];
	unsigned int next;
	unsigned int clock;
	int ctx[NCTX];
};

/* What a generator works with. */
struct gen {
	struct rng *r;
	struct pool *p;
	unsigned int ctx;	/* the context this thread prefers */
};

/* gen.c */
void gen_hostile(struct gen *g, struct op *op);
void gen_child(struct gen *g, struct op *op);
unsigned int gen_chain(struct gen *g, struct op *ops);
#define CHAIN_MAX 24
const char *slot_type_name(unsigned int type);
void op_init(struct op *op, unsigned int action, const char *name);
void op_set_ctx(struct op *op, unsigned int ctx);
void op_desc(struct op *op, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void op_fix(struct op *op, unsigned int off, unsigned int kind,
	    unsigned int width, uint32_t val);
void op_out(struct op *op, unsigned int off, unsigned int width,
	    unsigned int slot, unsigned int type);
unsigned int slot_new(struct pool *p, unsigned int type, unsigned int ctx);

/* oracle.c */
struct model;
struct model *model_new(void);
void model_free(struct model *m);
int oracle_setup(struct gen *g, struct op *ops, unsigned int max);
void oracle_gen(struct gen *g, struct model *m, struct op *op);
void oracle_predict(struct model *m, struct pool *p, struct op *op);
void oracle_apply(struct model *m, struct op *op, const uint8_t *done);
unsigned int oracle_verify_max(const struct model *m);
unsigned int oracle_verify_ops(struct model *m, struct pool *p,
			       const struct op *v, struct op *sub,
			       unsigned int max);
void oracle_final(struct op *op);
void oracle_range(const struct op *op, uint64_t *iova, uint64_t *len);
void oracle_verify_op(struct op *op, uint64_t iova, uint64_t len);

#endif
