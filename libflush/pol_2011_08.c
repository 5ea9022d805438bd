/*
 * 2011-08: the SLASH2 client of 97bf587a9 (2011-08-25), engine-history.md
 * section C (close/fsync as fixed a minute later in c32834bcb).
 *
 * One flush thread (msbflushthr0) with two flags, RPCWAIT and EXPIRE, and a
 * planned wake-up time W.  Its loop (bf:1382-1435): a pass, which sets
 * W = now + 1 s and only lowers it; rpcwait: while 16 or more RPCs are out
 * or RPCWAIT is set, set RPCWAIT and wait (<= 1 s) until a reply clears
 * it; then wait until W (a wake while EXPIRE is set waits again, as coded);
 * clear the flags and log the loop line.  Wakers: every write made ready
 * (TIMEOA) pulls W forward to its deadline and wakes the thread unless
 * RPCWAIT is set, so an idle client's first write costs a useless pass; a
 * reply leaving fewer than 16 out clears RPCWAIT and wakes; close/fsync
 * sets EXPIRE (which never shortens the wait).
 *
 * A pass scans the queue in place (`flushable? (outstandingRpcCnt=N)`),
 * drops clean bmaps silently, collects those bmap_flushable() accepts and
 * lowers W to the deadline of the last young eligible biorq it saw (a
 * variable not reset between bmaps), stopping when collected + outstanding
 * reaches 16.  Each collected bmap logs `try flush`, holds back biorqs
 * touching a page in flight (`inflight already`), cuts runs by the 2011
 * rule (FL_CUT_STICKY_LARGE: whole stretches, sticky `large`) and waits in rpcwait
 * after each run, suspending the pass.
 */
#include "libflush/internal.h"

#include <stdlib.h>

#define C_QUEUED	0x1		/* bmap on bmapFlushQ */
#define C_FLUSHQ	0
#define C_WQ		0

#define C_RPCWAIT	0x1		/* bmapFlushTimeoFlags */
#define C_EXPIRE	0x2
#define C_TIMEOA	0x4		/* bmap_flushq_wake mode only */

/* Where the flush thread is in its loop. */
enum { PH_START = 0, PH_PASS_RPCWAIT, PH_RESUME, PH_LOOP_RPCWAIT, PH_WAITW };

struct cstate {
	uint64_t w;		/* bmapFlushWaitTime: the planned wake-up */
	unsigned flags;
};

/* 97bf587a9's constants (bf:43-44, 57, bmpc.h:473-475). */
static void
c_defaults(struct fl_tunables *t)
{
	t->max_age_ns = 10000000;
	t->window = 16;
	t->wake_below = 16;
	t->safety_timeout_ns = 1000000000ull;
	t->line_cost_ns = FL_LINE_COST_NS;
}

/* Allocates W and the flags. */
static int
c_start(struct fl_engine *e)
{
	struct cstate *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	s->w = e->c.tun.safety_timeout_ns;
	e->priv = s;
	return 0;
}

/* Frees them. */
static void
c_stop(struct fl_engine *e)
{
	free(e->priv);
	e->priv = NULL;
}

/* The writer: queue the bmap; TIMEOA pulls W forward and wakes the thread (msi:1280-1281). */
static void
c_write(struct fl_engine *e, struct fl_bmap *b, struct fl_biorq *q, int was_dirty, uint64_t now)
{
	struct cstate *s = e->priv;
	int newq = !(b->pflags & C_QUEUED), wake;

	(void)was_dirty;
	fl_log_arrive(e, now, q, b->nun == 1, newq);
	if (newq) {
		b->pflags |= C_QUEUED;
		fl_q_push(e, C_FLUSHQ, b);
	}
	wake = !(s->flags & C_RPCWAIT) && q->deadline < s->w;
	fl_log_wake(e, now, C_TIMEOA, wake, s->flags, b->fid, 0);
	if (wake) {
		fl_log_alarm(e, now, b->fid, s->w, q->deadline);
		s->w = q->deadline;
		fl_wakeall(e, &e->wq[C_WQ]);
	}
}

/* close/fsync: FORCE_EXPIRE; EXPIRE and a wake unless RPCWAIT is set. */
static void
c_force(struct fl_engine *e, uint64_t fid, uint32_t bno, uint64_t now)
{
	struct cstate *s = e->priv;
	int wake;

	if (fl_legacy_force(e, fid, bno, now) == 0)
		return;
	wake = !(s->flags & C_RPCWAIT);
	fl_log_wake(e, now, C_EXPIRE, wake, s->flags, fid, 0);
	if (wake) {
		s->flags |= C_EXPIRE;
		fl_wakeall(e, &e->wq[C_WQ]);
	}
}

/* A reply leaving fewer than 16 out: RPCWAIT is cleared and the thread woken (bf:248-255). */
static void
c_complete(struct fl_engine *e, struct fl_batch *ba, int done, uint64_t now)
{
	struct cstate *s = e->priv;
	int wake = (s->flags & C_RPCWAIT) != 0;

	(void)done;
	if (e->outstanding >= e->c.tun.wake_below)
		return;
	fl_log_wake(e, now, C_RPCWAIT, wake, s->flags, ba->b->fid, 1);
	if (wake) {
		s->flags &= ~(unsigned)C_RPCWAIT;
		fl_wakeall(e, &e->wq[C_WQ]);
	}
}

/* Collects one bmap's biorqs for step 2, holding back those on pages in flight. */
static void
collect(struct fl_ctx *x, struct fl_bmap *b)
{
	struct fl_thr *t = x->t;
	size_t i;

	fl_log_tryflush(x, b);
	b->sched |= FL_THR_BIT(t->k);
	fl_un_sort(x->e, b);
	t->bqs.n = 0;
	for (i = 0; i < b->nun; i++) {
		struct fl_biorq *q = b->un[i];

		if (b->runs != NULL && fl_infl_overlaps(b, q->off, q->len, 1)) {
			fl_log_inflight_already(x, q);
			continue;
		}
		q->flags |= FLB_SCHED;
		fl_log_biorq_try(x, q);
		if (fl_vec_push(x->e, &t->bqs, q) < 0)
			return;
	}
	t->cpos = 0;
	t->started = 1;
}

/* Step 2 from where it stopped; suspends in rpcwait after a run when the window is full. */
static void
c_send(struct fl_ctx *x)
{
	struct fl_engine *e = x->e;
	struct cstate *s = e->priv;
	struct fl_thr *t = x->t;
	struct fl_vec *col = &t->col;
	struct fl_run run;

	for (; col->pos < col->n && !e->failed; col->pos++) {
		struct fl_bmap *b = col->v[col->pos];

		if (!t->started)
			collect(x, b);
		while (!e->failed && fl_cut(x, FL_CUT_STICKY_LARGE, &run)) {
			struct fl_batch *ba = fl_batch_new(x, b,
			    (struct fl_biorq **)t->bqs.v + run.first, run.last - run.first,
			    run.expired && !run.large, 0);

			if (ba == NULL)
				return;
			fl_batch_send(x, ba, SIZE_MAX, 0);
			if (e->outstanding >= e->c.tun.window || (s->flags & C_RPCWAIT)) {
				t->phase = PH_PASS_RPCWAIT;	/* rpcwait after each run (:1373) */
				return;
			}
		}
		fl_exam_end(x, b, 1);
		t->started = 0;
	}
	col->n = col->pos = 0;
	t->m1 = x->now;
	t->phase = PH_LOOP_RPCWAIT;
}

/* One pass (bf:1249-1380): the scan, then step 2. */
static void
c_pass(struct fl_ctx *x)
{
	struct fl_engine *e = x->e;
	struct cstate *s = e->priv;
	struct fl_thr *t = x->t;
	struct fl_vec *col = &t->col;
	struct fl_bmap *b, *nb;
	uint64_t tv;

	t->m0 = x->now;
	t->m2 = 0;
	fl_pass_begin(x);
	s->w = fl_sat_add(x->now, e->c.tun.safety_timeout_ns);
	tv = s->w;
	col->n = col->pos = 0;
	t->started = 0;
	for (b = e->q[C_FLUSHQ].head; b != NULL && !e->failed &&
	    col->n + e->outstanding < e->c.tun.window; b = nb) {
		nb = b->qnext;
		fl_exam_begin(x, b);
		if (!b->dirty) {
			/* clean and idle: removed silently */
			fl_q_del(e, b);
			b->pflags &= ~C_QUEUED;
			fl_exam_end(x, b, 0);
			fl_trace_bmap(e, FL_TR_CLEAN, b, t->k, x->now);
			continue;
		}
		if (fl_flushable(x, b, &tv)) {
			if (fl_vec_push(e, col, b) < 0)
				return;
		} else {
			if (tv < s->w)
				s->w = tv;
			fl_exam_end(x, b, 1);
		}
	}
	c_send(x);
}

/* Work after a wake-up, by phase. */
static void
c_run(struct fl_ctx *x, enum fl_why why)
{
	struct cstate *s = x->e->priv;
	struct fl_thr *t = x->t;
	unsigned flags;

	switch (t->phase) {
	case PH_START:
		c_pass(x);
		return;
	case PH_PASS_RPCWAIT:
	case PH_LOOP_RPCWAIT:
		if (why != FL_WHY_NONE)
			t->m2 += x->now - t->m3;	/* the plan decides whether it waits on */
		return;
	case PH_RESUME:
		c_send(x);
		return;
	default:	/* PH_WAITW */
		if (why == FL_WHY_SIGNAL && (s->flags & C_EXPIRE) && x->e->c.tun.expire_rewait)
			return;		/* :1402-1408: waits again until W */
		flags = s->flags;
		s->flags = 0;
		fl_log_loop(x, t->m1 - t->m0, t->m2, x->now - t->slept_at, flags, s->w,
		    why == FL_WHY_TIMEOUT ? 110 : 0);
		c_pass(x);
		return;
	}
}

/* rpcwait, then the wait until W. */
static struct fl_wait
c_plan(struct fl_ctx *x)
{
	struct fl_engine *e = x->e;
	struct cstate *s = e->priv;
	struct fl_thr *t = x->t;
	struct fl_wait w = { FLW_WAIT, &e->wq[C_WQ], 0 };

	if (t->phase == PH_PASS_RPCWAIT || t->phase == PH_LOOP_RPCWAIT) {
		if (e->outstanding >= e->c.tun.window || (s->flags & C_RPCWAIT)) {
			s->flags |= C_RPCWAIT;
			e->st.window_stalls++;
			t->m3 = x->now;
			w.until = fl_sat_add(x->now, e->c.tun.safety_timeout_ns);
			return w;
		}
		if (t->phase == PH_PASS_RPCWAIT) {
			t->phase = PH_RESUME;
			w.kind = FLW_RUN;
			return w;
		}
		t->phase = PH_WAITW;
	}
	w.until = s->w > x->now ? s->w : x->now;
	return w;
}

/* Idle with no flags, each loop is a wait until W = the previous pass + 1 s. */
static uint64_t
c_idle_period(struct fl_engine *e, struct fl_thr *t)
{
	const struct cstate *s = e->priv;

	return t->phase == PH_WAITW && s->flags == 0 ? e->c.tun.safety_timeout_ns : 0;
}

/* n idle loops: a pass each, W moves on. */
static void
c_idle_skip(struct fl_engine *e, struct fl_thr *t, uint64_t n)
{
	struct cstate *s = e->priv;

	(void)t;
	e->st.passes += n;
	s->w += n * e->c.tun.safety_timeout_ns;
}

const struct fl_policy_ops fl_pol_2011_08 = {
	.info = {
		.name = "2011-08",
		.commit = "97bf587a9",
		.date = "2011-08-25",
		.summary = "max age 10 ms, window 16, waits until the next expiry (<= 1 s); every "
		    "write with an earlier deadline wakes it",
		.era = FL_ERA_C,
		.historical = 1,
	},
	.order = FL_ORD_OFF_LONGER,
	.defaults = c_defaults,
	.start = c_start,
	.stop = c_stop,
	.write = c_write,
	.force = c_force,
	.complete = c_complete,
	.run = c_run,
	.plan = c_plan,
	.idle_period = c_idle_period,
	.idle_skip = c_idle_skip,
};
