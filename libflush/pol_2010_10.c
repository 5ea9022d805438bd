/*
 * 2010-10: the SLASH2 client of 99fa47092 (2010-10-05), engine-history.md
 * section B.
 *
 * One flush thread (msbflushthr0): a pass, then a 100 ms timed wait on the
 * flush wait queue, with no window check (bf:1087-1094).  It is woken by
 * the RPC callback whenever fewer than 64 RPCs remain out (bf:180-181) and
 * by close/fsync; new writes only queue their bmap.  A pass scans the queue
 * in place, logging `checking for flush` per bmap: clean idle bmaps go to
 * the timeout queue, dirty ones that bmap_flushable() accepts are collected
 * (at most 128); then each collected bmap logs `try flush`, sends its runs
 * as in 2010-08 (FL_CUT_READY, soft window), and if more than 128 RPCs are
 * then out the pass logs `stall flush` and drops the rest.  Expiry is
 * creation + 1 ms (no wall-second rule).
 */
#include "libflush/internal.h"

#define B_QUEUED	0x1	/* on bmapFlushQ */
#define B_FLUSHQ	0
#define B_WQ		0	/* bmapflushwaitq: e->wq[0] */

/* 99fa47092's constants (bf:43, 56, 180, 772). */
static void
b_defaults(struct fl_tunables *t)
{
	t->safety_timeout_ns = 100000000ull;
	t->wake_below = 64;
	t->scan_cap = 128;
	t->line_cost_ns = FL_LINE_COST_NS;
	t->reaper_poll_ns = 100000;
}

/* The writer queues a bmap not yet queued (msi:1194-1202); it does not wake the thread. */
static void
b_write(struct fl_engine *e, struct fl_bmap *b, struct fl_biorq *q, int was_dirty, uint64_t now)
{
	int newq = !(b->pflags & B_QUEUED);

	(void)was_dirty;
	fl_log_arrive(e, now, q, b->nun == 1, newq);
	if (newq) {
		b->pflags |= B_QUEUED;
		fl_q_push(e, B_FLUSHQ, b);
	}
}

/* close/fsync: FORCE_EXPIRE, and a wakeall per biorq flagged (main:1122-1128). */
static void
b_force(struct fl_engine *e, uint64_t fid, uint32_t bno, uint64_t now)
{
	if (fl_legacy_force(e, fid, bno, now) > 0)
		fl_wakeall(e, &e->wq[B_WQ]);
}

/* The RPC callback wakes the thread whenever fewer than 64 remain out. */
static void
b_complete(struct fl_engine *e, struct fl_batch *ba, int done, uint64_t now)
{
	(void)ba;
	(void)done;
	(void)now;
	if (e->outstanding < e->c.tun.wake_below)
		fl_wakeall(e, &e->wq[B_WQ]);
}

/* One pass (bf:730-856). */
static void
b_pass(struct fl_ctx *x)
{
	struct fl_engine *e = x->e;
	struct fl_vec *col = &x->t->col;
	struct fl_bmap *b, *nb;
	size_t i;

	fl_pass_begin(x);
	col->n = 0;
	for (b = e->q[B_FLUSHQ].head; b != NULL && !e->failed; b = nb) {
		nb = b->qnext;
		fl_exam_begin(x, b);
		if (!b->dirty) {
			/* clean and idle: to the timeout queue */
			fl_q_del(e, b);
			b->pflags &= ~B_QUEUED;
			fl_log_timeoq(x, b);
			fl_exam_end(x, b, 0);
			fl_trace_bmap(e, FL_TR_CLEAN, b, x->t->k, x->now);
			continue;
		}
		if (fl_flushable(x, b, NULL)) {
			if (fl_vec_push(e, col, b) < 0)
				break;
			if (e->c.tun.scan_cap > 0 && col->n >= e->c.tun.scan_cap)
				break;
		} else
			fl_exam_end(x, b, 1);
	}
	for (i = 0; i < col->n && !e->failed; i++) {
		size_t sent;

		b = col->v[i];
		fl_log_tryflush(x, b);	/* step 2: try flush, then schedule, cut and send */
		b->sched |= FL_THR_BIT(x->t->k);
		sent = fl_schedule_send(x, b);
		fl_exam_end(x, b, 1);
		if (e->outstanding > e->c.tun.window) {
			fl_log_stall(x, (unsigned)sent);
			e->st.window_stalls++;
			for (i++; i < col->n; i++)
				fl_exam_end(x, col->v[i], 1);
			break;
		}
	}
	col->n = 0;
}

/* Every wake-up (timeout or signal) runs a pass. */
static void
b_run(struct fl_ctx *x, enum fl_why why)
{
	if (why != FL_WHY_START)
		b_pass(x);
}

/* 100 ms timed wait on the flush wait queue. */
static struct fl_wait
b_plan(struct fl_ctx *x)
{
	struct fl_wait w = { FLW_WAIT, &x->e->wq[B_WQ], 0 };

	w.until = fl_sat_add(x->now, x->e->c.tun.safety_timeout_ns);
	return w;
}

/* Idle, the pass logs nothing: one timed wait. */
static uint64_t
b_idle_period(struct fl_engine *e, struct fl_thr *t)
{
	(void)t;
	return e->c.tun.safety_timeout_ns;
}

/* n idle wake-ups, each a pass. */
static void
b_idle_skip(struct fl_engine *e, struct fl_thr *t, uint64_t n)
{
	(void)t;
	e->st.passes += n;
}

const struct fl_policy_ops fl_pol_2010_10 = {
	.info = {
		.name = "2010-10",
		.commit = "99fa47092",
		.date = "2010-10-05",
		.summary = "scan in place, 100 ms wait woken by replies while fewer than 64 RPCs "
		    "are out; new writes do not wake",
		.era = FL_ERA_B,
		.historical = 1,
	},
	.order = FL_ORD_OFF_LONGER,
	.defaults = b_defaults,
	.write = b_write,
	.force = b_force,
	.complete = b_complete,
	.run = b_run,
	.plan = b_plan,
	.idle_period = b_idle_period,
	.idle_skip = b_idle_skip,
};
