/*
 * legacy: the SLASH2 client of f020379d5 (2010-08-20), engine-history.md
 * section A.
 *
 * One flush thread: `if (outstanding < 128) bmap_flush(); usleep(2048);`
 * (bf:982-989), nothing can cut the sleep short.  A pass pops every queued
 * bmap while the budget (128 - outstanding) lasts, logs `try flush`, sends
 * every ready run of a dirty bmap (the window is soft: a bmap sends all its
 * runs), then restores each kept bmap that still has writes pending, in
 * flight included (the seed's spin), or lets it go.  Runs follow the 2010
 * trycoalesce (FL_CUT_READY); a write's deadline is the earlier of creation
 * + max age and the next whole wall-clock second.  No hold-back of writes
 * overlapping ones in flight; replies wake nobody; fsync/close only flag.
 *
 * Queue membership is FLUSHPROC: set when the writer queues a clean bmap,
 * cleared when a pass lets the bmap go.
 */
#include "libflush/internal.h"

#define LG_FLUSHPROC	0x1	/* BMAP_CLI_FLUSHPROC: on the queue or in a pass */
#define LG_DIRTYQ	0	/* bmapFlushQ */

/* legacy's constants beyond the common 2010 ones. */
static void
lg_defaults(struct fl_tunables *t)
{
	t->line_cost_ns = FL_LINE_COST_NS;
	t->sleep_overshoot_ns = FL_USLEEP_OVERSHOOT_NS;
	t->reaper_poll_ns = 100000;
}

/* The writer: queue a bmap whose FLUSHPROC is clear. */
void
fl_legacy_write(struct fl_engine *e, struct fl_bmap *b, struct fl_biorq *q, int was_dirty,
    uint64_t now)
{
	int newq = !(b->pflags & LG_FLUSHPROC);

	(void)was_dirty;
	fl_log_arrive(e, now, q, b->nun == 1, newq);
	if (newq) {
		b->pflags |= LG_FLUSHPROC;
		fl_q_push(e, LG_DIRTYQ, b);
	}
}

/* close/fsync: FORCE_EXPIRE on the file's biorqs; the flush thread is not woken. */
size_t
fl_legacy_force(struct fl_engine *e, uint64_t fid, uint32_t bno, uint64_t now)
{
	size_t i, n = 0;

	for (i = 0; i < e->nbm; i++) {
		struct fl_bmap *b = e->bm[i];
		size_t k;

		if (b->fid != fid || (bno != FL_BMAP_ALL && b->bno != bno))
			continue;
		k = fl_force_flag(b);
		fl_log_force(e, now, b, k);
		n += k;
	}
	return n;
}

/* legacy's force. */
static void
lg_force(struct fl_engine *e, uint64_t fid, uint32_t bno, uint64_t now)
{
	fl_legacy_force(e, fid, bno, now);
}

/* Replies wake nobody (bf:169-185). */
static void
lg_complete(struct fl_engine *e, struct fl_batch *ba, int done, uint64_t now)
{
	(void)e;
	(void)ba;
	(void)done;
	(void)now;
}

/*
 * Step 2 for a dirty bmap: every unsent biorq is considered and scheduled
 * (:671-708), sorted (the array is kept sorted), cut and sent; returns the
 * RPCs sent.
 */
static size_t
flush_bmap(struct fl_ctx *x, struct fl_bmap *b)
{
	struct fl_thr *t = x->t;
	struct fl_run run;
	size_t i, sent = 0;

	fl_un_sort(x->e, b);
	t->bqs.n = 0;
	for (i = 0; i < b->nun; i++) {
		struct fl_biorq *q = b->un[i];

		fl_log_consider(x, q, 0);
		q->flags |= FLB_SCHED;
		fl_log_biorq_try(x, q);
		if (fl_vec_push(x->e, &t->bqs, q) < 0)
			return sent;
	}
	t->cpos = 0;
	while (!x->e->failed && fl_cut(x, FL_CUT_READY, &run)) {
		struct fl_batch *ba = fl_batch_new(x, b, (struct fl_biorq **)t->bqs.v + run.first,
		    run.last - run.first, run.expired && !run.large, 0);

		if (ba == NULL)
			break;
		sent += fl_batch_send(x, ba, SIZE_MAX, 0);
	}
	return sent;
}

/* Step 3 for a kept bmap: restore it while writes are pending, else let it go. */
static void
keep_or_release(struct fl_ctx *x, struct fl_bmap *b)
{
	struct fl_engine *e = x->e;

	if (b->npending > 0) {
		fl_log_restore(x, b);
		fl_exam_end(x, b, 1);
		e->st.requeues++;
		b->st.requeues++;
		fl_trace_bmap(e, FL_TR_REQUEUE, b, x->t->k, x->now);
		fl_q_push(e, LG_DIRTYQ, b);
		return;
	}
	b->pflags &= ~LG_FLUSHPROC;
	fl_log_clean(x, b);
	fl_exam_end(x, b, 0);
	fl_trace_bmap(e, FL_TR_CLEAN, b, x->t->k, x->now);
}

/* One 2010 pass (bf:611-775). */
void
fl_legacy_pass(struct fl_ctx *x, int (*park)(struct fl_ctx *x, struct fl_bmap *b))
{
	struct fl_engine *e = x->e;
	struct fl_vec *col = &x->t->col;
	long budget = (long)e->c.tun.window - (long)e->outstanding;
	size_t i;

	fl_pass_begin(x);
	col->n = 0;
	while (budget > 0 && e->q[LG_DIRTYQ].head != NULL && !e->failed) {
		struct fl_bmap *b = e->q[LG_DIRTYQ].head;

		fl_q_del(e, b);
		fl_exam_begin(x, b);
		if (!b->dirty) {
			/* 650-666: nothing pending: off to the timeout queue */
			b->pflags &= ~LG_FLUSHPROC;
			fl_log_timeoq(x, b);
			fl_exam_end(x, b, 0);
			fl_trace_bmap(e, FL_TR_CLEAN, b, x->t->k, x->now);
			continue;
		}
		b->in_pass = 1;
		if (fl_vec_push(e, col, b) < 0)
			break;
		budget -= (long)flush_bmap(x, b);
	}
	for (i = 0; i < col->n; i++) {
		struct fl_bmap *b = col->v[i];

		b->in_pass = 0;
		if (park == NULL || !park(x, b))
			keep_or_release(x, b);
	}
	col->n = 0;
}

/* The thread wakes from usleep: pass if the window has room (bf:985). */
static void
lg_run(struct fl_ctx *x, enum fl_why why)
{
	struct fl_engine *e = x->e;

	if (why == FL_WHY_START)
		return;
	if (e->outstanding >= e->c.tun.window) {
		e->st.skipped_passes++;
		return;
	}
	fl_legacy_pass(x, NULL);
}

/*
 * The end of usleep(2048) begun at x->now, plus the modelled overshoot on
 * the virtual clock, where a sleep that would end less than half a tick
 * before sync_pass_ns, or after it, ends at it instead (the tick's phase
 * taken from a trace).
 */
uint64_t
fl_legacy_wake(const struct fl_ctx *x)
{
	const struct fl_tunables *t = &x->e->c.tun;
	uint64_t d = t->poll_ns, until;

	if (x->e->real)
		return fl_sat_add(x->now, d);
	d += t->sleep_overshoot_ns;
	until = fl_sat_add(x->now, d);
	if (t->sync_pass_ns > x->now && t->sync_pass_ns <= fl_sat_add(until, d / 2))
		until = t->sync_pass_ns;
	return until;
}

/* usleep(2048). */
static struct fl_wait
lg_plan(struct fl_ctx *x)
{
	struct fl_wait w = { FLW_SLEEP, NULL, 0 };

	w.until = fl_legacy_wake(x);
	return w;
}

/* Idle, a pass finds nothing and logs nothing: one tick. */
static uint64_t
lg_idle_period(struct fl_engine *e, struct fl_thr *t)
{
	(void)t;
	return e->c.tun.poll_ns + e->c.tun.sleep_overshoot_ns;
}

/* n idle ticks: each was a pass. */
static void
lg_idle_skip(struct fl_engine *e, struct fl_thr *t, uint64_t n)
{
	(void)t;
	e->st.passes += n;
}

const struct fl_policy_ops fl_pol_legacy = {
	.info = {
		.name = "legacy",
		.commit = "f020379d5",
		.date = "2010-08-20",
		.summary = "pop every dirty bmap, requeue while any write is pending (in flight "
		    "included), usleep(2048); soft window of 128",
		.era = FL_ERA_A,
		.historical = 1,
	},
	.order = FL_ORD_OFF_LONGER,
	.second_cap = 1,
	.defaults = lg_defaults,
	.write = fl_legacy_write,
	.force = lg_force,
	.complete = lg_complete,
	.run = lg_run,
	.plan = lg_plan,
	.idle_period = lg_idle_period,
	.idle_skip = lg_idle_skip,
};
