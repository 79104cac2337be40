// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_fuzz: random, structured sequences of iommufd system calls from
 * several threads and processes, checked against invariants.
 *
 *   iommufd_fuzz [--seconds N] [--sequences N] [--seed S] [--threads N]
 *                [--ops N] [--repro-dir DIR] [--leak-every SECS]
 *
 * A sequence is one seed. It runs in a process of its own, mostly as an
 * unprivileged user (FZ_UID, a 64 MiB memlock limit, no capabilities;
 * every fourth seed as root), with two /dev/iommu contexts its hostile
 * threads share and a third the oracle thread (oracle.c) owns. Threads
 * fork children that go on using the inherited descriptors. Every
 * operation is logged, in the order the operations started, in memory the
 * parent shares.
 *
 * A sequence fails when an operation's outcome contradicts its expectation
 * (a refused argument accepted; the oracle's model not matching the IOAS),
 * when after closing everything the process still pins or locks memory or
 * a page of its regions still holds a pin, when the user is still charged
 * for memory once the process is gone, when the kernel log shows a splat,
 * or when the sequence crashes or hangs. A failed sequence is replayed in
 * one thread, minimized by delta debugging while it still fails the same
 * way, and written out as a C program (repro.h is all it needs).
 *
 * The last line is "fuzz: N ioctls, N sequences, N failures", the seeds
 * run are listed above it. Exit status 1 if anything failed.
 */
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "fuzz.h"

#define MAX_OPS		4096
#define MAX_VSUB	4096
#define CHILD_OPS	12
#define SEQ_TIMEOUT	300	/* seconds before a sequence counts as hung */

enum fail_kind { F_NONE, F_EXPECT, F_END, F_USER, F_SPLAT, F_CRASH, F_HANG };

static const char *const fail_names[] = {
	"none", "expectation", "after close", "user charge", "kernel splat",
	"crash", "hang",
};

struct failure {
	int kind;
	int seq;
	char why[256];
};

/* A VERIFY's expansion, recorded by the last replay for the reproducer. */
struct vsub {
	uint32_t parent;
	struct op op;
};

/* How often each kind of operation succeeded and failed, over the run. */
struct tally {
	char name[28];
	atomic_ulong ok, err;
};

#define NTALLY 96

/* Shared between the fuzzer and the processes of the current sequence. */
struct shared {
	struct tally tally[NTALLY];
	atomic_uint n;			/* operations logged */
	atomic_uint nchild;
	atomic_ulong ioctls;		/* over the whole run */
	atomic_int stop;
	struct failure fail;
	pthread_mutex_t fail_lock;	/* process-shared */
	bool record;			/* the replay fills vsub[] */
	unsigned int nvsub;
	uint8_t mask[MAX_OPS];		/* replay: which operations run */
	struct op ops[MAX_OPS];
	struct vsub vsub[MAX_VSUB];
};

/* One process of a sequence. */
struct run {
	struct shared *sh;
	struct pool pool;
	struct model *m;	/* the oracle's, in the sequence's process */
	unsigned int proc;
};

static struct {
	unsigned long seconds, sequences, leak_every;
	unsigned int threads, ops;
	uint64_t seed;
	const char *repro_dir;
} cfg = {
	.leak_every = 300, .threads = 3, .ops = 200, .seed = 1,
	.repro_dir = "/tmp",
};

static struct shared *sh;

static void set_failure(struct shared *s, int kind, int seq, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));

static void set_failure(struct shared *s, int kind, int seq, const char *fmt,
			...)
{
	va_list ap;

	pthread_mutex_lock(&s->fail_lock);
	if (s->fail.kind == F_NONE) {
		s->fail.kind = kind;
		s->fail.seq = seq;
		va_start(ap, fmt);
		vsnprintf(s->fail.why, sizeof(s->fail.why), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&s->fail_lock);
}

/* Count @op's outcome under the first word of its description. */
static void count(struct shared *s, const struct op *op)
{
	size_t len = strcspn(op->desc, " ");
	unsigned int i;

	if (!strncmp(op->desc, "oracle ", 7) || !strncmp(op->desc, "chain ", 6))
		len += 1 + strcspn(op->desc + len + 1, " ");
	if (len >= sizeof(s->tally[0].name))
		len = sizeof(s->tally[0].name) - 1;
	pthread_mutex_lock(&s->fail_lock);
	for (i = 0; i != NTALLY && s->tally[i].name[0]; i++)
		if (!strncmp(s->tally[i].name, op->desc, len) &&
		    !s->tally[i].name[len])
			break;
	if (i != NTALLY && !s->tally[i].name[0])
		memcpy(s->tally[i].name, op->desc, len);
	pthread_mutex_unlock(&s->fail_lock);
	if (i != NTALLY)
		atomic_fetch_add(op->rc ? &s->tally[i].err : &s->tally[i].ok,
				 1);
}

static bool fd_type(unsigned int t)
{
	return t >= S_FIRST_FD && t < S_MMAP_OFF;
}

/*
 * The descriptor of a slot, if the slot (still) holds one; closing takes
 * it out of the slot so that no two threads close the same number.
 */
static int slot_fd(struct pool *p, unsigned int i, bool take)
{
	int fd = -1;

	pthread_mutex_lock(&p->lock);
	if (fd_type(p->s[i].type)) {
		fd = fz_slot_fd(&p->s[i].val, take);
		if (take)
			p->s[i].type = S_NONE;
	}
	pthread_mutex_unlock(&p->lock);
	return fd;
}

static void exec_op(struct run *run, struct op *op);

/* A VERIFY: the checks it stands for, each an operation of its own. */
static void exec_verify(struct run *run, struct op *op)
{
	unsigned int max, n, i;
	struct op *sub;

	if (!run->m)
		return;
	max = oracle_verify_max(run->m);
	sub = malloc(max * sizeof(*sub));
	if (!sub)
		abort();
	n = oracle_verify_ops(run->m, &run->pool, op, sub, max);
	for (i = 0; i != n; i++) {
		sub[i].seq = op->seq;
		exec_op(run, &sub[i]);
		if (run->sh->record && run->sh->nvsub != MAX_VSUB)
			run->sh->vsub[run->sh->nvsub++] =
				(struct vsub){ op->seq, sub[i] };
	}
	free(sub);
}

static void exec_op(struct run *run, struct op *op)
{
	uint8_t *buf = fz_scratch();
	struct pool *p = &run->pool;
	int fd = -1, *fdp = &fd;
	unsigned int i;
	char why[200];
	int rc;

	if (op->action == A_VERIFY) {
		exec_verify(run, op);
		return;
	}
	memcpy(buf, op->arg, ARG_MAX);
	for (i = 0; i != op->nfix; i++) {
		const struct fix *f = &op->fix[i];

		fz_put(buf, f->off, f->width, f->kind == FX_AUX ?
		       (uint64_t)(uintptr_t)(buf + f->val) :
		       p->s[f->val].val);
	}
	if (op->fd_kind == FD_CTX)
		fdp = &p->ctx[op->fd_idx];
	else if (op->fd_kind == FD_SLOT)
		fd = slot_fd(p, op->fd_idx, op->action == A_CLOSE);

	if (op->oracle && run->m)
		oracle_predict(run->m, p, op);
	/* a fork is carried out by whoever logged it */
	rc = op->action == A_FORK ? 0 :
	     fz_call(op->action, fdp, op->cmd, buf, op->len);
	if (op->action == A_IOCTL)
		atomic_fetch_add(&run->sh->ioctls, 1);
	op->rc = rc;
	count(run->sh, op);

	/*
	 * The hostile threads close and reopen the shared contexts under one
	 * another: an operation may find no file at its number (EBADF) or
	 * another kind of file (ENOTTY). The VFS answers those before
	 * iommufd sees the call, so they say nothing of how iommufd checks
	 * its arguments; what an expected refusal must never be is success.
	 * The oracle's context is never reopened: there, they count.
	 */
	if (op->expect == E_ERRNO && (rc == -EBADF || rc == -ENOTTY) &&
	    (op->fd_kind == FD_CTX ? op->fd_idx != CTX_O : fd < 0))
		rc = -op->exp_errno;
	if (!fz_expected(rc, op->expect, op->exp_errno, why, sizeof(why)))
		set_failure(run->sh, F_EXPECT, op->seq, "%s: %s", op->desc,
			    why);
	if (rc)
		return;
	if (op->exp_out_off >= 0 &&
	    fz_get(buf, op->exp_out_off, 8) != op->exp_out_val)
		set_failure(run->sh, F_EXPECT, op->seq,
			    "%s: reported %#llx, the model says %#llx",
			    op->desc,
			    (unsigned long long)fz_get(buf, op->exp_out_off, 8),
			    (unsigned long long)op->exp_out_val);
	pthread_mutex_lock(&p->lock);
	for (i = 0; i != op->nout; i++) {
		struct slot *s = &p->s[op->out[i].slot];

		s->val = fz_get(buf, op->out[i].off, op->out[i].width);
		s->type = op->out[i].type;
		s->age = ++p->clock;
	}
	pthread_mutex_unlock(&p->lock);
	if (op->oracle && run->m)
		oracle_apply(run->m, op, buf);
}

/* Run @op and log it at the position it started in. */
static bool record_exec(struct run *run, struct op *op, unsigned int thread)
{
	unsigned int idx = atomic_fetch_add(&run->sh->n, 1);

	if (idx >= MAX_OPS)
		return false;
	op->seq = idx;
	op->proc = run->proc;
	op->thread = thread;
	exec_op(run, op);
	run->sh->ops[idx] = *op;
	return true;
}

static void pool_init(struct pool *p)
{
	pthread_mutexattr_t a;
	unsigned int i;

	memset(p, 0, sizeof(*p));
	pthread_mutexattr_init(&a);
	pthread_mutex_init(&p->lock, &a);
	for (i = 0; i != NCTX; i++)
		p->ctx[i] = iofd_open();
}

/* Close every descriptor a sequence may have made. */
static void close_all(void)
{
	int fd;

	for (fd = 3; fd < 1024; fd++)
		if (fd != FZ_FILE_FD && fd != FZ_OFILE_FD)
			close(fd);
}

/* A child of a hostile thread: a few operations on what it inherited. */
static void fork_child(struct run *run, struct gen *g, struct op *fop,
		       unsigned int thread)
{
	unsigned int id = atomic_fetch_add(&run->sh->nchild, 1) + 1;
	struct rng r;
	pid_t pid;
	int i;

	fop->fd_idx = id;
	if (!record_exec(run, fop, thread))
		return;
	pthread_mutex_lock(&run->pool.lock);
	pid = fork();
	pthread_mutex_unlock(&run->pool.lock);
	if (pid < 0)
		return;
	if (pid) {
		waitpid(pid, NULL, 0);
		return;
	}
	run->proc = id;
	run->m = NULL;
	r.s = seed_mix(g->r->s, id);
	g->r = &r;
	/* Some children leave the shared context for one of their own. */
	if (chance(&r, 30)) {
		struct op op;

		op_init(&op, A_REOPEN, "child reopen");
		op_set_ctx(&op, g->ctx);
		record_exec(run, &op, 0);
	}
	for (i = 0; i != CHILD_OPS; i++) {
		struct op op;

		gen_child(g, &op);
		if (!record_exec(run, &op, 0))
			break;
	}
	_exit(0);
}

struct thread {
	pthread_t tid;
	struct run *run;
	struct rng r;
	struct gen g;
	unsigned int id;
};

static void *hostile_thread(void *arg)
{
	struct thread *t = arg;
	unsigned int i;

	for (i = 0; i < cfg.ops && !atomic_load(&t->run->sh->stop); i++) {
		struct op op;

		if (chance(&t->r, 4)) {
			struct op chain[CHAIN_MAX];
			unsigned int n = gen_chain(&t->g, chain), k;

			for (k = 0; k != n; k++)
				if (!record_exec(t->run, &chain[k], t->id))
					return NULL;
			i += n - 1;
			continue;
		}
		gen_hostile(&t->g, &op);
		if (op.action == A_FORK) {
			fork_child(t->run, &t->g, &op, t->id);
			continue;
		}
		if (!record_exec(t->run, &op, t->id))
			break;
	}
	return NULL;
}

static bool seed_is_root(uint64_t seed)
{
	return seed % 4 == 0;
}

/* The start of a sequence's process: memory, identity. */
static int seq_prologue(uint64_t seed, long *pin, long *lck)
{
	if (fz_regions_setup() || fz_reset_test_limits()) {
		perror("fuzz: regions");
		return -1;
	}
	if (!seed_is_root(seed) && fz_become_user(FZ_MEMLOCK)) {
		perror("fuzz: becoming the fuzz user");
		return -1;
	}
	*pin = vm_pinned_kb();
	*lck = proc_kb("/proc/self/status", "VmLck");
	return 0;
}

static void seq_epilogue(struct run *run, long pin, long lck)
{
	char why[256];

	close_all();
	if (fz_end_checks(pin, lck, why, sizeof(why)))
		set_failure(run->sh, F_END, -1, "%s", why);
}

/* The process of one live sequence. */
static void run_sequence(uint64_t seed)
{
	struct thread *t = calloc(cfg.threads, sizeof(*t));
	struct run run = { .sh = sh };
	struct rng orng = { seed_mix(seed, 0) };
	struct gen og = { &orng, &run.pool, CTX_O };
	struct op setup[ORACLE_SETUP_MAX], op;
	unsigned int i, n;
	uint64_t iova, len;
	long pin, lck;

	if (seq_prologue(seed, &pin, &lck))
		_exit(2);
	pool_init(&run.pool);
	run.m = model_new();
	n = oracle_setup(&og, setup, ORACLE_SETUP_MAX);
	for (i = 0; i != n; i++)
		record_exec(&run, &setup[i], 0);

	for (i = 0; i != cfg.threads; i++) {
		t[i].run = &run;
		t[i].id = i + 1;
		t[i].r.s = seed_mix(seed, i + 1);
		t[i].g = (struct gen){ &t[i].r, &run.pool, i % 2 };
		pthread_create(&t[i].tid, NULL, hostile_thread, &t[i]);
	}
	/* The oracle, in this thread, while the others run. */
	for (i = 0; i != cfg.ops / 2; i++) {
		oracle_gen(&og, run.m, &op);
		if (!record_exec(&run, &op, 0))
			break;
		if (op.action == A_VERIFY)
			continue;
		oracle_range(&op, &iova, &len);
		oracle_verify_op(&op, iova, len);
		if (!record_exec(&run, &op, 0))
			break;
	}
	for (i = 0; i != cfg.threads; i++)
		pthread_join(t[i].tid, NULL);
	oracle_final(&op);
	record_exec(&run, &op, 0);
	oracle_verify_op(&op, (uint64_t)MOCK_APERTURE_START, 512 * 4096UL);
	record_exec(&run, &op, 0);
	seq_epilogue(&run, pin, lck);
	_exit(0);
}

/* The process of a replay: the logged operations the mask keeps, in order. */
static void replay_sequence(uint64_t seed)
{
	struct run run = { .sh = sh };
	unsigned int n = atomic_load(&sh->n), i, j;
	long pin, lck;

	if (n > MAX_OPS)
		n = MAX_OPS;
	if (seq_prologue(seed, &pin, &lck))
		_exit(2);
	pool_init(&run.pool);
	run.m = model_new();
	for (i = 0; i != n; i++) {
		struct op op = sh->ops[i];
		pid_t pid;

		if (!sh->mask[i] || !op.enabled || op.proc)
			continue;
		if (op.action != A_FORK) {
			exec_op(&run, &op);
			/* keep the prediction for the reproducer */
			sh->ops[i].expect = op.expect;
			sh->ops[i].exp_errno = op.exp_errno;
			sh->ops[i].exp_out_off = op.exp_out_off;
			sh->ops[i].exp_out_val = op.exp_out_val;
			continue;
		}
		pid = fork();
		if (pid < 0)
			continue;
		if (pid) {
			waitpid(pid, NULL, 0);
			continue;
		}
		run.m = NULL;
		for (j = i + 1; j != n; j++) {
			op = sh->ops[j];
			if (sh->mask[j] && op.enabled && op.proc == sh->ops[i].fd_idx)
				exec_op(&run, &op);
		}
		_exit(0);
	}
	seq_epilogue(&run, pin, lck);
	_exit(0);
}

/* ---- the fuzzer's own process ---- */

static int kmsg = -1;

static const char *const splat_words[] = {
	"WARNING:", "BUG:", "BUG ", "Oops", "KASAN:", "UBSAN:",
	"general protection", "possible circular locking",
	"possible recursive locking", "inconsistent lock state",
	"suspicious RCU usage", "unreferenced object", "refcount_t:",
	"list_add corruption", "list_del corruption", "INFO: task",
	"Call Trace:",
};

static char splat_line[160];

/* New kernel log records; true if any looks like a splat (splat_line). */
static bool kmsg_splat(bool show)
{
	char rec[1024];
	bool found = false;
	unsigned int shown = 0, i;
	ssize_t n;

	if (kmsg < 0)
		return false;
	for (;;) {
		n = read(kmsg, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		for (i = 0; !found && i != sizeof(splat_words) /
				       sizeof(splat_words[0]); i++) {
			found = strstr(rec, splat_words[i]);
			if (found)
				snprintf(splat_line, sizeof(splat_line), "%.*s",
					 (int)strcspn(strchr(rec, ';') ?
						      strchr(rec, ';') + 1 : rec,
						      "\n"),
					 strchr(rec, ';') ? strchr(rec, ';') + 1 :
							    rec);
		}
		if (found && show && shown++ < 60)
			printf("# kernel: %s", strchr(rec, ';') ?
			       strchr(rec, ';') + 1 : rec);
	}
	return found;
}

/* Ask kmemleak for a scan; true if it reports anything (shown). */
static bool kmemleak_found(void)
{
	const char *path = "/sys/kernel/debug/kmemleak";
	char buf[4096];
	bool found = false;
	ssize_t n;
	int fd;

	fd = open(path, O_RDWR);
	if (fd < 0)
		return false;
	if (write(fd, "scan", 4) != 4) {
		close(fd);
		return false;
	}
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = 0;
		printf("# kmemleak: %s", buf);
		found = true;
	}
	if (found && write(fd, "clear", 5) != 5)
		perror("fuzz: kmemleak clear");
	close(fd);
	if (found) {
		/* leave it to be seen by whoever reads the kernel log too */
		fd = open("/dev/kmsg", O_WRONLY);
		if (fd >= 0) {
			dprintf(fd, "iommufd-fuzz: kmemleak report, see its output\n");
			close(fd);
		}
	}
	return found;
}

/*
 * Once the sequence's processes are gone its user must not be charged for
 * anything: with a limit of PROBE pages, PROBE pages pin and one more
 * does not.
 */
#define PROBE 16
static void user_probe(void)
{
	char why[200] = "";
	pid_t pid = fork();
	int status;

	if (!pid) {
		size_t len = PROBE * 4096UL;
		uint8_t *buf = mmap(NULL, len + 4096, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
				    -1, 0);
		uint32_t ioas, stdev, hwpt;
		int fd, rc;

		if (fz_become_user(len))
			_exit(3);
		fd = iofd_open();
		if (fd < 0 || ioas_alloc(fd, &ioas) ||
		    mock_domain(fd, ioas, &stdev, &hwpt, NULL))
			_exit(3);
		rc = ioas_map(fd, ioas, buf, len, MOCK_APERTURE_START,
			      RW_FLAGS);
		if (rc)
			_exit(4);
		rc = ioas_map(fd, ioas, buf + len, 4096,
			      MOCK_APERTURE_START + len, RW_FLAGS);
		_exit(rc == -ENOMEM ? 0 : 5);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 4)
		snprintf(why, sizeof(why),
			 "user %d is still charged for memory: %d pages do not pin under a %d page limit",
			 FZ_UID, PROBE, PROBE);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 5)
		snprintf(why, sizeof(why),
			 "the memlock limit did not stop page %d", PROBE + 1);
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		snprintf(why, sizeof(why), "probe failed to run (status %#x)",
			 status);
	if (why[0])
		set_failure(sh, F_USER, -1, "%s", why);
}

/* Run @fn(seed) in a child with a time limit; classify how it ended. */
static void supervise(void (*fn)(uint64_t), uint64_t seed)
{
	time_t deadline = time(NULL) + SEQ_TIMEOUT;
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		set_failure(sh, F_CRASH, -1, "fork: %s", strerror(errno));
		return;
	}
	if (!pid) {
		/* its own group, so that its children go with it */
		setpgid(0, 0);
		if (kmsg >= 0)
			close(kmsg);
		fn(seed);
		_exit(0);
	}
	setpgid(pid, pid);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (time(NULL) > deadline) {
			atomic_store(&sh->stop, 1);
			set_failure(sh, F_HANG, -1, "no end after %d s",
				    SEQ_TIMEOUT);
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			return;
		}
		usleep(20000);
	}
	/* children it left behind must not hold descriptors into the next */
	kill(-pid, SIGKILL);
	if (WIFSIGNALED(status))
		set_failure(sh, F_CRASH, -1, "killed by signal %d",
			    WTERMSIG(status));
	else if (WEXITSTATUS(status))
		set_failure(sh, F_CRASH, -1, "exited with status %d",
			    WEXITSTATUS(status));
}

static void reset_shared(void)
{
	atomic_store(&sh->n, 0);
	atomic_store(&sh->nchild, 0);
	atomic_store(&sh->stop, 0);
	memset(&sh->fail, 0, sizeof(sh->fail));
	sh->record = false;
	sh->nvsub = 0;
}

/* Run one sequence, live or replayed, and check what it leaves behind. */
static struct failure attempt(void (*fn)(uint64_t), uint64_t seed)
{
	supervise(fn, seed);
	if (!seed_is_root(seed) && sh->fail.kind != F_HANG)
		user_probe();
	if (kmsg_splat(true))
		set_failure(sh, F_SPLAT, -1, "the kernel log shows a splat: %s",
			    splat_line);
	return sh->fail;
}

/*
 * Whether two failures are the same one: the same kind, the same failing
 * operation for an expectation, and the same reason, numbers aside (a
 * smaller sequence leaks fewer pages, but the same way).
 */
static bool same_failure(const struct failure *a, const struct failure *b)
{
	size_t la = strcspn(a->why, "0123456789");
	size_t lb = strcspn(b->why, "0123456789");

	if (a->kind != b->kind || la != lb || strncmp(a->why, b->why, la))
		return false;
	return a->kind != F_EXPECT || (a->seq == b->seq &&
				       !strcmp(a->why, b->why));
}

/* Replay with only the operations @keep[] (indices into the log). */
static bool still_fails(uint64_t seed, const unsigned int *keep,
			unsigned int nkeep, const struct failure *want)
{
	unsigned int n = atomic_load(&sh->n), i;
	struct failure got;

	memset(sh->mask, 0, sizeof(sh->mask));
	for (i = 0; i != nkeep; i++)
		sh->mask[keep[i]] = 1;
	memset(&sh->fail, 0, sizeof(sh->fail));
	atomic_store(&sh->stop, 0);
	got = attempt(replay_sequence, seed);
	atomic_store(&sh->n, n);
	return same_failure(&got, want);
}

/* Delta debugging over the logged operations, within a time budget. */
static unsigned int minimize(uint64_t seed, const struct failure *want,
			     unsigned int *keep, unsigned int nkeep)
{
	unsigned int *cand = malloc(MAX_OPS * sizeof(*cand));
	time_t end = time(NULL) + 240;
	unsigned int parts = 2, runs = 0;

	while (nkeep >= 2 && time(NULL) < end) {
		unsigned int chunk = (nkeep + parts - 1) / parts, p, i, nc;
		bool cut = false;

		for (p = 0; p * chunk < nkeep && time(NULL) < end; p++) {
			for (i = nc = 0; i != nkeep; i++)
				if (i / chunk != p)
					cand[nc++] = keep[i];
			runs++;
			if (still_fails(seed, cand, nc, want)) {
				memcpy(keep, cand, nc * sizeof(*keep));
				nkeep = nc;
				parts = parts > 2 ? parts - 1 : 2;
				cut = true;
				break;
			}
		}
		if (cut)
			continue;
		if (parts >= nkeep)
			break;
		parts = parts * 2 < nkeep ? parts * 2 : nkeep;
	}
	printf("# minimized to %u operations in %u replays\n", nkeep, runs);
	free(cand);
	return nkeep;
}

static void emit_bytes(FILE *f, const uint8_t *b, unsigned int n)
{
	unsigned int i;

	fprintf(f, "\tmemcpy(b, \"");
	for (i = 0; i != n; i++)
		fprintf(f, "\\x%02x", b[i]);
	fprintf(f, "\", %u);\n", n);
}

static void emit_op(FILE *f, const struct op *op)
{
	unsigned int n = ARG_MAX, i;

	while (n && !op->arg[n - 1])
		n--;
	fprintf(f, "\n\t/* %u: %s */\n\tmemset(b, 0, %u);\n", op->seq,
		op->desc, ARG_MAX);
	if (n)
		emit_bytes(f, op->arg, n);
	for (i = 0; i != op->nfix; i++) {
		const struct fix *x = &op->fix[i];

		if (x->kind == FX_AUX)
			fprintf(f, "\tfz_put(b, %u, 8, (uintptr_t)(b + %u));\n",
				x->off, x->val);
		else
			fprintf(f, "\tfz_put(b, %u, %u, slot[%u]);\n", x->off,
				x->width, x->val);
	}
	if (op->fd_kind == FD_CTX)
		fprintf(f, "\tfd = &ctx[%u];\n", op->fd_idx);
	else if (op->fd_kind == FD_SLOT)
		fprintf(f, "\tnum = fz_slot_fd(&slot[%u], %d);\n\tfd = &num;\n",
			op->fd_idx, op->action == A_CLOSE);
	else
		fprintf(f, "\tnum = -1;\n\tfd = &num;\n");
	fprintf(f, "\trc = fz_call(%u, fd, %#x, b, %u);\n", op->action,
		op->cmd, op->len);
	fprintf(f, "\tbad += !fz_expected(rc, %u, %d, why, sizeof(why)) && report(%u, why);\n",
		op->expect, op->exp_errno, op->seq);
	if (op->exp_out_off >= 0)
		fprintf(f, "\tbad += !rc && fz_get(b, %d, 8) != %#llxULL && report(%u, \"reported length differs\");\n",
			op->exp_out_off, (unsigned long long)op->exp_out_val,
			op->seq);
	for (i = 0; i != op->nout; i++)
		fprintf(f, "\tif (!rc)\n\t\tslot[%u] = fz_get(b, %u, %u);\n",
			op->out[i].slot, op->out[i].off, op->out[i].width);
}

static void emit_ops(FILE *f, const unsigned int *keep, unsigned int nkeep,
		     unsigned int proc)
{
	unsigned int k, v;

	for (k = 0; k != nkeep; k++) {
		const struct op *op = &sh->ops[keep[k]];

		if (op->proc != proc)
			continue;
		if (op->action == A_FORK) {
			fprintf(f, "\n\t/* %u: fork; child %u */\n\tif (!fork()) {\n",
				op->seq, op->fd_idx);
			emit_ops(f, keep, nkeep, op->fd_idx);
			fprintf(f, "\t_exit(bad != 0);\n\t}\n\twait(&status);\n"
				"\tbad += !WIFEXITED(status) || WEXITSTATUS(status);\n");
		} else if (op->action == A_VERIFY) {
			fprintf(f, "\n\t/* %u: %s */\n", op->seq, op->desc);
			for (v = 0; v != sh->nvsub; v++)
				if (sh->vsub[v].parent == op->seq)
					emit_op(f, &sh->vsub[v].op);
		} else {
			emit_op(f, op);
		}
	}
}

static void write_repro(uint64_t seed, const struct failure *fail,
			const unsigned int *keep, unsigned int nkeep)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/fuzz-repro-%llu.c", cfg.repro_dir,
		 (unsigned long long)seed);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return;
	}
	fprintf(f, "// SPDX-License-Identifier: GPL-2.0-only\n"
		"/*\n * iommufd_fuzz seed %llu, minimized: %s: %s\n"
		" * Build: gcc -static -I tools/fuzz -I tools/selftests/iommu -I . FILE\n"
		" * (iommufd headers of the kernel under test), run as root.\n */\n"
		"#include <sys/wait.h>\n#include \"repro.h\"\n\n"
		"static uint64_t slot[%u];\nstatic int ctx[%u];\n\n"
		"static int report(unsigned int seq, const char *why)\n{\n"
		"\tprintf(\"operation %%u: %%s\\n\", seq, why);\n\treturn 1;\n}\n\n"
		"int main(void)\n{\n"
		"\tuint8_t *b = fz_scratch();\n"
		"\tint rc, num, *fd, bad = 0, i, status;\n\tlong pin, lck;\n\tchar why[256];\n\n"
		"\tif (fz_regions_setup() || fz_reset_test_limits()%s)\n\t\treturn 2;\n"
		"\tpin = vm_pinned_kb();\n"
		"\tlck = proc_kb(\"/proc/self/status\", \"VmLck\");\n"
		"\tfor (i = 0; i != %u; i++)\n\t\tctx[i] = iofd_open();\n",
		(unsigned long long)seed, fail_names[fail->kind], fail->why,
		NSLOT, NCTX,
		seed_is_root(seed) ? "" : " || fz_become_user(FZ_MEMLOCK)",
		NCTX);
	emit_ops(f, keep, nkeep, 0);
	fprintf(f, "\n\tfor (i = 3; i < 1024; i++)\n"
		"\t\tif (i != FZ_FILE_FD && i != FZ_OFILE_FD)\n\t\t\tclose(i);\n"
		"\tif (fz_end_checks(pin, lck, why, sizeof(why)))\n"
		"\t\tbad += report(0, why);\n"
		"\tprintf(\"repro: %%d problems\\n\", bad);\n"
		"\treturn bad != 0;\n}\n");
	fclose(f);
	printf("# reproducer: %s\n", path);
	f = fopen(path, "r");
	if (f) {
		char line[1024];

		while (fgets(line, sizeof(line), f))
			printf("# | %s", line);
		fclose(f);
	}
}

/* A failed seed: show the failure, replay, minimize, write C. */
static void investigate(uint64_t seed, struct failure fail)
{
	unsigned int n = atomic_load(&sh->n), i, nkeep = 0;
	unsigned int *keep = malloc(MAX_OPS * sizeof(*keep));

	if (n > MAX_OPS)
		n = MAX_OPS;
	printf("# seed %llu failed: %s: %s\n", (unsigned long long)seed,
	       fail_names[fail.kind], fail.why);
	if (fail.kind == F_EXPECT && fail.seq >= 0 && fail.seq < (int)n)
		printf("# at operation %d (thread %u, proc %u): %s\n", fail.seq,
		       sh->ops[fail.seq].thread, sh->ops[fail.seq].proc,
		       sh->ops[fail.seq].desc);
	for (i = 0; i != n; i++)
		if (sh->ops[i].enabled)
			keep[nkeep++] = i;
	if (fail.kind == F_HANG || !still_fails(seed, keep, nkeep, &fail))
		printf("# does not fail again when replayed in one thread; the reproducer is the whole log\n");
	else
		nkeep = minimize(seed, &fail, keep, nkeep);
	/* a last replay records what the reproducer must check */
	sh->record = true;
	sh->nvsub = 0;
	if (!still_fails(seed, keep, nkeep, &fail) && fail.kind != F_HANG)
		printf("# the last replay did not fail the same way: the reproducer may not either\n");
	sh->record = false;
	write_repro(seed, &fail, keep, nkeep);
	free(keep);
}

/*
 * Steps of the chains that a working kernel lets succeed now and then
 * whatever the other threads do. If one never does in a run of some
 * length, the fuzzer is not reaching what it claims to (or the kernel
 * refuses what it should not): a failure.
 */
static unsigned long coverage_missing(unsigned long seqs)
{
	static const char *const must[] = {
		"chain VIOMMU_ALLOC", "chain VDEVICE_ALLOC",
		"chain VEVENTQ_ALLOC", "chain mmap", "chain HW_QUEUE_ALLOC",
		"chain HWPT_ALLOC", "chain MOCK_DOMAIN_REPLACE",
		"chain TRIGGER_IOPF", "chain TRIGGER_VEVENT", "chain read",
		"chain HWPT_INVALIDATE", "oracle IOAS_MAP", "oracle IOAS_COPY",
		"oracle IOAS_UNMAP", "oracle IOAS_MAP_FILE", "IOAS_MAP",
		"IOAS_UNMAP", "MOCK_DOMAIN", "HWPT_ALLOC", "fork",
	};
	unsigned long missing = 0;
	unsigned int i, t;

	if (seqs < 20)
		return 0;
	for (i = 0; i != sizeof(must) / sizeof(must[0]); i++) {
		unsigned long ok = 0;

		for (t = 0; t != NTALLY && sh->tally[t].name[0]; t++)
			if (!strcmp(sh->tally[t].name, must[i]))
				ok += sh->tally[t].ok;
		if (!ok) {
			printf("# coverage: \"%s\" never succeeded\n", must[i]);
			missing++;
		}
	}
	return missing;
}

static void usage(void)
{
	fprintf(stderr, "usage: iommufd_fuzz [--seconds N] [--sequences N] [--seed S]\n"
		"       [--threads N] [--ops N] [--repro-dir DIR] [--leak-every SECS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long seqs = 0, failures = 0;
	time_t start = time(NULL), last_leak = start;
	pthread_mutexattr_t a;
	int i;

	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(argv[i], "--seconds"))
			cfg.seconds = strtoul(v, NULL, 0);
		else if (!strcmp(argv[i], "--sequences"))
			cfg.sequences = strtoul(v, NULL, 0);
		else if (!strcmp(argv[i], "--seed"))
			cfg.seed = strtoull(v, NULL, 0);
		else if (!strcmp(argv[i], "--threads"))
			cfg.threads = strtoul(v, NULL, 0);
		else if (!strcmp(argv[i], "--ops"))
			cfg.ops = strtoul(v, NULL, 0);
		else if (!strcmp(argv[i], "--repro-dir"))
			cfg.repro_dir = v;
		else if (!strcmp(argv[i], "--leak-every"))
			cfg.leak_every = strtoul(v, NULL, 0);
		else
			usage();
		i++;
	}
	if (!cfg.threads || cfg.threads > 16 || !cfg.ops ||
	    cfg.ops * (cfg.threads + 2) + 64 > MAX_OPS) {
		fprintf(stderr, "fuzz: --threads 1..16, and threads x ops must fit %u operations\n",
			MAX_OPS);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&sh->fail_lock, &a);
	/* the unprivileged sequences need the device */
	if (chmod("/dev/iommu", 0666))
		perror("fuzz: chmod /dev/iommu");
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg >= 0)
		lseek(kmsg, 0, SEEK_END);
	printf("# fuzz: %u threads x %u operations per sequence, first seed %llu\n",
	       cfg.threads, cfg.ops, (unsigned long long)cfg.seed);

	for (;;) {
		uint64_t seed = cfg.seed + seqs;
		struct failure fail;

		if (cfg.sequences && seqs >= cfg.sequences)
			break;
		if (cfg.seconds && time(NULL) - start >= (time_t)cfg.seconds)
			break;
		reset_shared();
		memset(sh->ops, 0, sizeof(sh->ops));
		fail = attempt(run_sequence, seed);
		seqs++;
		if (fail.kind) {
			failures++;
			investigate(seed, fail);
		}
		/* the tally so far, for whoever has to stop us */
		printf("# seed %llu %s; so far fuzz: %lu ioctls, %lu sequences, %lu failures\n",
		       (unsigned long long)seed, fail.kind ? "FAILED" : "ok",
		       (unsigned long)atomic_load(&sh->ioctls), seqs,
		       failures);
		if (cfg.leak_every && time(NULL) - last_leak >=
		    (time_t)cfg.leak_every) {
			last_leak = time(NULL);
			if (kmemleak_found()) {
				printf("# kmemleak reports leaks, seeds up to %llu\n",
				       (unsigned long long)seed);
				failures++;
			}
		}
	}
	if (cfg.leak_every) {
		sleep(6);
		if (kmemleak_found()) {
			printf("# kmemleak reports leaks\n");
			failures++;
		}
	}
	for (i = 0; i != NTALLY && sh->tally[i].name[0]; i++)
		printf("# %-26s %8lu ok %8lu failed\n", sh->tally[i].name,
		       (unsigned long)sh->tally[i].ok,
		       (unsigned long)sh->tally[i].err);
	failures += coverage_missing(seqs);
	printf("fuzz: %lu ioctls, %lu sequences, %lu failures\n",
	       (unsigned long)atomic_load(&sh->ioctls), seqs, failures);
	return failures ? 1 : 0;
}
