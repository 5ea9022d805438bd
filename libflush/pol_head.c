/*
 * head: the SLASH2 client of d87d35e60 (2019, HEAD), engine-history.md
 * section Z.
 *
 * Sixteen flush threads (msflushthr0-15).  Each loops (bfl:841-891):
 * block with no timeout while the queue is empty (lc_peekheadwait); pass
 * again while the previous pass sent something; set the global RPCWAIT
 * flag, wait up to 2 s, clear it (one thread clearing it stops signals to
 * the others); log `work time`.  No deadline timer and no reply wake: an
 * expired run waits for a wake or the 2 s timeout.  Wakers: a ready write
 * on a queued bmap (TIMEOADD) signals one 2 s waiter if RPCWAIT is set, and
 * the empty-queue waiters; queueing a new bmap signals one thread blocked
 * on the empty queue; fsync/close flags EXPIRE bmap by bmap, polling every
 * 100 us, and wakes all (EXPIRE) when it flags anything new.
 *
 * A pass scans the queue in place (`flushable?`), skipping bmaps another
 * thread holds (SCHED) or whose I/O server is throttled (480 in flight plus
 * credits), and collects those with unsent biorqs (at most 480); each
 * collected bmap logs `try flush` and sends every run FL_CUT_NO_OVERFLOW cuts
 * (full only when the next contiguous biorq would pass 1 MiB; one RPC per
 * run), blocking for a credit when its I/O server is full.  Writers block
 * while their pages are in flight (pin_writes), so HEAD needs no flush-side
 * hold-back.  The bmap leaves the queue when its last write completes.
 */
#include "libflush/internal.h"

#include <stdlib.h>

#define Z_QUEUED	0x1		/* FLUSHQ */
#define Z_SCHED		0x2		/* being flushed by a thread */
#define Z_FLUSHQ	0
#define Z_WQ		0		/* slc_bflush_waitq: the 2 s waiters */
#define Z_EMPTYQ	1		/* the listcache's empty-queue waiters */

#define Z_RPCWAIT	0x1		/* bmap_flushq_wake reasons */
#define Z_EXPIRE	0x2
#define Z_TIMEOADD	0x4

/* Where a flush thread is in its loop. */
enum { PH_CHECKQ = 0, PH_IDLEQ, PH_PASSES, PH_WAIT2S, PH_CREDIT, PH_RESUME };

/* An fsync/close in progress: bmap by bmap of the file (main:2305-2358). */
struct forcer {
	uint64_t fid;
	uint32_t bno;
	size_t i;		/* next bmap index to look at */
	int active;
};

struct zstate {
	int rpcwait;		/* the global RPCWAIT flag */
	struct forcer *f;
	size_t nf, capf;
};

/* HEAD's constants (mount_slash.h:117, bfl:58-59, 65, rpc_cli.h:62, pgc.h:54). */
static void
z_defaults(struct fl_tunables *t)
{
	t->max_age_ns = 10000000;
	t->window = 480;
	t->scan_cap = 480;
	t->max_iovs = FL_HEAD_MAX_IOVS;
	t->safety_timeout_ns = 2000000000ull;
	t->threads = 16;
	t->line_cost_ns = FL_LINE_COST_NS;
}

/* Allocates the flag and the fsync table. */
static int
z_start(struct fl_engine *e)
{
	if ((e->priv = calloc(1, sizeof(struct zstate))) == NULL)
		return -1;
	return 0;
}

/* Frees them. */
static void
z_stop(struct fl_engine *e)
{
	struct zstate *s = e->priv;

	if (s != NULL)
		free(s->f);
	free(s);
	e->priv = NULL;
}

/* bmap_flushq_wake (bfl:184-204). */
static void
flushq_wake(struct fl_engine *e, unsigned reason, uint64_t fid, uint64_t now)
{
	struct zstate *s = e->priv;
	int woke = s->rpcwait;

	if (reason == Z_EXPIRE) {
		if (s->rpcwait)
			fl_wakeall(e, &e->wq[Z_WQ]);
		fl_wakeall(e, &e->wq[Z_EMPTYQ]);
	} else {
		if (s->rpcwait)
			fl_wakeone(e, &e->wq[Z_WQ]);
		fl_wakeone(e, &e->wq[Z_EMPTYQ]);
	}
	fl_log_wake(e, now, reason, woke, 0, fid, 0);
}

/* A write made ready: queue a new bmap (wakes one idle thread) or TIMEOADD. */
static void
z_write(struct fl_engine *e, struct fl_bmap *b, struct fl_biorq *q, int was_dirty, uint64_t now)
{
	(void)was_dirty;
	if (!(b->pflags & Z_QUEUED)) {
		fl_log_arrive(e, now, q, b->nun == 1, 1);
		b->pflags |= Z_QUEUED;
		fl_q_push(e, Z_FLUSHQ, b);
		fl_wakeone(e, &e->wq[Z_EMPTYQ]);	/* lc_add: listcache.c:147-154 */
		return;
	}
	fl_log_arrive(e, now, q, b->nun == 1, 0);
	flushq_wake(e, Z_TIMEOADD, b->fid, now);
}

/* One step of fsync f: flag the current bmap's new biorqs, or move to the next bmap. */
static void
forcer_step(struct fl_engine *e, size_t fi, uint64_t now)
{
	struct zstate *s = e->priv;
	struct forcer *f = &s->f[fi];

	for (; f->i < e->nbm; f->i++) {
		struct fl_bmap *b = e->bm[f->i];
		size_t n;

		if (b->fid != f->fid || (f->bno != FL_BMAP_ALL && b->bno != f->bno) ||
		    b->npending == 0)
			continue;
		if ((n = fl_force_flag(b)) > 0) {
			fl_log_force(e, now, b, n);
			flushq_wake(e, Z_EXPIRE, b->fid, now);
		}
		fl_timer_add(e, fl_sat_add(now, e->c.tun.force_poll_ns), fi);
		return;
	}
	f->active = 0;
}

/* fsync/close: starts the per-bmap poll (pgc.c:547-565). */
static void
z_force(struct fl_engine *e, uint64_t fid, uint32_t bno, uint64_t now)
{
	struct zstate *s = e->priv;
	size_t i;

	for (i = 0; i < s->nf && s->f[i].active; i++)
		;
	if (i == s->nf) {
		if (fl_grow(&s->f, &s->capf, s->nf + 1, sizeof(*s->f)) < 0) {
			fl_fail(e, "out of memory");
			return;
		}
		s->nf++;
	}
	s->f[i].fid = fid;
	s->f[i].bno = bno;
	s->f[i].i = 0;
	s->f[i].active = 1;
	forcer_step(e, i, now);
}

/* The fsync poll's timer. */
static void
z_timer(struct fl_engine *e, uint64_t arg, uint64_t now)
{
	struct zstate *s = e->priv;

	if (arg < s->nf && s->f[arg].active)
		forcer_step(e, (size_t)arg, now);
}

/* A reply wakes no flush thread; the last write's completion takes the bmap off the queue. */
static void
z_complete(struct fl_engine *e, struct fl_batch *ba, int done, uint64_t now)
{
	struct fl_bmap *b = ba->b;

	if (done && b->npending == b->nblk && (b->pflags & Z_QUEUED)) {
		fl_q_del(e, b);
		b->pflags &= ~Z_QUEUED;
		fl_trace_bmap(e, FL_TR_CLEAN, b, 0, now);
	}
}

/*
 * Sends b's runs from where the thread stopped, a credit per RPC; returns
 * 1 if the thread must block for a credit (its I/O server is full).
 */
static int
send_runs(struct fl_ctx *x, struct fl_bmap *b)
{
	struct fl_engine *e = x->e;
	struct fl_thr *t = x->t;
	struct fl_run run;

	for (;;) {
		if (t->pba == NULL) {
			if (!t->has_run && !fl_cut(x, FL_CUT_NO_OVERFLOW, &run))
				return 0;
			if (t->has_run)
				run = t->run;
			if (fl_win_reserve(e, b->ios) < 0) {
				/* the I/O server is full: block for a credit (rpc:98-141) */
				t->run = run;
				t->has_run = 1;
				return 1;
			}
			t->has_run = 0;
			t->pba = fl_batch_new(x, b, (struct fl_biorq **)t->bqs.v + run.first,
			    run.last - run.first, run.expired && !run.large, 0);
			if (t->pba == NULL)
				return 0;
			fl_batch_send(x, t->pba, 1, 1);
		}
		/* a lone biorq over 1 MiB makes several RPCs, a credit each */
		while (t->pba->sent < t->pba->ncuts) {
			if (fl_win_reserve(e, b->ios) < 0)
				return 1;
			fl_batch_send(x, t->pba, 1, 1);
		}
		t->pba = NULL;
		t->m3 = 1;		/* sent for this bmap */
	}
}

/* Step 2 from where it stopped: per collected bmap, try flush and send every run. */
static void
z_send(struct fl_ctx *x)
{
	struct fl_engine *e = x->e;
	struct fl_thr *t = x->t;
	struct fl_vec *col = &t->col;

	for (; col->pos < col->n && !e->failed; col->pos++) {
		struct fl_bmap *b = col->v[col->pos];
		size_t i;

		if (!t->started) {
			if (b->nun == 0) {
				/* recheck: nothing unsent any more */
				b->sent &= ~FL_THR_BIT(t->k);
				b->sched &= ~FL_THR_BIT(t->k);
				fl_exam_end(x, b, 1);
				continue;
			}
			fl_log_tryflush(x, b);
			b->sched |= FL_THR_BIT(t->k);
			fl_un_sort(e, b);
			t->bqs.n = 0;
			for (i = 0; i < b->nun; i++) {
				fl_log_biorq_try(x, b->un[i]);
				if (fl_vec_push(e, &t->bqs, b->un[i]) < 0)
					return;
			}
			t->cpos = 0;
			t->started = 1;
			t->m3 = 0;
		}
		if (send_runs(x, b)) {
			t->phase = PH_CREDIT;
			e->st.window_stalls++;
			return;
		}
		if (t->m3 != 0)
			b->sent |= FL_THR_BIT(t->k);
		else
			b->sent &= ~FL_THR_BIT(t->k);
		b->sched |= FL_THR_BIT(t->k);
		fl_exam_end(x, b, 1);
		t->started = 0;
	}
	if (e->st.rpcs != t->m2)
		t->phase = PH_PASSES;		/* while (bmap_flush()); */
	else {
		t->phase = PH_WAIT2S;
		t->m1 = x->now;
	}
}

/* One pass (bfl:752-839): scan in place, collect, send. */
static void
z_pass(struct fl_ctx *x)
{
	struct fl_engine *e = x->e;
	struct fl_thr *t = x->t;
	struct fl_vec *col = &t->col;
	struct fl_bmap *b, *nb;

	fl_pass_begin(x);
	t->m2 = e->st.rpcs;
	col->n = col->pos = t->rel = 0;
	t->started = t->has_run = 0;
	t->pba = NULL;
	for (b = e->q[Z_FLUSHQ].head; b != NULL && !e->failed; b = nb) {
		nb = b->qnext;
		fl_exam_begin(x, b);
		if ((b->pflags & Z_SCHED) || fl_win_room(e, b->ios) == 0 || b->nun == 0) {
			fl_exam_end(x, b, 1);
			continue;
		}
		b->pflags |= Z_SCHED;
		if (fl_vec_push(e, col, b) < 0)
			return;
		if (e->c.tun.scan_cap > 0 && col->n >= e->c.tun.scan_cap)
			break;
	}
	z_send(x);
}

/* Work after a wake-up, by phase. */
static void
z_run(struct fl_ctx *x, enum fl_why why)
{
	struct zstate *s = x->e->priv;
	struct fl_thr *t = x->t;

	(void)why;
	switch (t->phase) {
	case PH_WAIT2S:
		s->rpcwait = 0;
		fl_log_worktime(x, t->m1 - t->m0, x->now - t->slept_at);
		t->phase = PH_CHECKQ;
		return;
	case PH_PASSES:
		z_pass(x);
		return;
	case PH_RESUME:
		z_send(x);
		return;
	default:	/* PH_CHECKQ, PH_IDLEQ, PH_CREDIT: the plan looks again */
		return;
	}
}

/*
 * Releases (clears SCHED on) the bmaps the thread has finished.  It holds
 * them until its modelled work is over, as the client holds them while it
 * flushes: other threads skip them meanwhile.
 */
static void
release(struct fl_thr *t)
{
	struct fl_vec *col = &t->col;

	for (; t->rel < col->pos; t->rel++)
		((struct fl_bmap *)col->v[t->rel])->pflags &= ~Z_SCHED;
	if (col->pos == col->n)
		col->n = col->pos = t->rel = 0;
}

/* What a HEAD flush thread does next (asked when its work is over). */
static struct fl_wait
z_plan(struct fl_ctx *x)
{
	struct fl_engine *e = x->e;
	struct zstate *s = e->priv;
	struct fl_thr *t = x->t;
	struct fl_wait w = { FLW_RUN, NULL, FL_TIME_NEVER };

	if (t->phase != PH_CREDIT)
		release(t);
	switch (t->phase) {
	case PH_CHECKQ:
	case PH_IDLEQ:
		if (e->q[Z_FLUSHQ].head == NULL) {
			t->phase = PH_IDLEQ;
			w.kind = FLW_WAIT;
			w.wq = &e->wq[Z_EMPTYQ];
			return w;
		}
		t->phase = PH_PASSES;
		t->m0 = x->now;
		return w;
	case PH_WAIT2S:
		s->rpcwait = 1;
		w.kind = FLW_WAIT;
		w.wq = &e->wq[Z_WQ];
		w.until = fl_sat_add(x->now, e->c.tun.safety_timeout_ns);
		return w;
	case PH_CREDIT: {
		const struct fl_bmap *b = t->col.v[t->col.pos];

		if (fl_win_room(e, b->ios) == 0) {
			w.kind = FLW_WAIT;
			w.wq = &e->win[b->ios].credit_wq;
			return w;
		}
		t->phase = PH_RESUME;
		return w;
	}
	default:	/* PH_PASSES, PH_RESUME */
		return w;
	}
}

const struct fl_policy_ops fl_pol_head = {
	.info = {
		.name = "head",
		.commit = "d87d35e60",
		.date = "2019-01-16",
		.summary = "16 threads, 2 s timed wait, no max-age timer, a run is full only when "
		    "the next write would pass 1 MiB, 480 RPCs per I/O server",
		.era = FL_ERA_Z,
		.historical = 1,
	},
	.order = FL_ORD_OFF_SHORTER,
	.pin_writes = 1,
	.iov_per_page = 1,
	.defaults = z_defaults,
	.start = z_start,
	.stop = z_stop,
	.write = z_write,
	.force = z_force,
	.complete = z_complete,
	.timer = z_timer,
	.run = z_run,
	.plan = z_plan,
};
