/*
 * pendq: the seed's proposal ("another queue for delayed or pending I/Os")
 * applied to the 2010 client.  legacy in every respect (pass, tick, soft
 * window, runs, logs) except that a bmap whose only writes are in flight
 * waits on a pending queue instead of being restored to the dirty queue;
 * the reply that completes its last write, or a new write, moves it back.
 * The periodic tick stays.
 */
#include "libflush/internal.h"

#define PQ_DIRTYQ	0
#define PQ_PENDQ	1

/* legacy's constants: pendq changes only the queue. */
static void
pq_defaults(struct fl_tunables *t)
{
	t->line_cost_ns = FL_LINE_COST_NS;
	t->sleep_overshoot_ns = FL_USLEEP_OVERSHOOT_NS;
	t->reaper_poll_ns = 100000;
}

/* A write: legacy's writer; a parked bmap with new work goes back to the dirty queue. */
static void
pq_write(struct fl_engine *e, struct fl_bmap *b, struct fl_biorq *q, int was_dirty, uint64_t now)
{
	fl_legacy_write(e, b, q, was_dirty, now);
	if (fl_q_on(b, PQ_PENDQ)) {
		fl_q_del(e, b);
		fl_q_push(e, PQ_DIRTYQ, b);
	}
}

/* legacy's force; a parked bmap has nothing unsent to flag. */
static void
pq_force(struct fl_engine *e, uint64_t fid, uint32_t bno, uint64_t now)
{
	fl_legacy_force(e, fid, bno, now);
}

/* The reply that completes a parked bmap's last write moves it back (the next pass retires it). */
static void
pq_complete(struct fl_engine *e, struct fl_batch *ba, int done, uint64_t now)
{
	struct fl_bmap *b = ba->b;

	(void)now;
	if (done && b->npending == 0 && fl_q_on(b, PQ_PENDQ)) {
		fl_q_del(e, b);
		fl_q_push(e, PQ_DIRTYQ, b);
	}
}

/* Step 3: a bmap with only writes in flight parks (not a wasted examination). */
static int
pq_park(struct fl_ctx *x, struct fl_bmap *b)
{
	if (b->nun != 0 || b->npending == 0 || b->nblk != 0)
		return 0;
	fl_exam_end(x, b, 0);
	fl_q_push(x->e, PQ_PENDQ, b);
	return 1;
}

/* legacy's loop with the pending queue. */
static void
pq_run(struct fl_ctx *x, enum fl_why why)
{
	struct fl_engine *e = x->e;

	if (why == FL_WHY_START)
		return;
	if (e->outstanding >= e->c.tun.window) {
		e->st.skipped_passes++;
		return;
	}
	fl_legacy_pass(x, pq_park);
}

/* usleep(2048), as legacy. */
static struct fl_wait
pq_plan(struct fl_ctx *x)
{
	struct fl_wait w = { FLW_SLEEP, NULL, 0 };

	w.until = fl_legacy_wake(x);
	return w;
}

/* One idle tick. */
static uint64_t
pq_idle_period(struct fl_engine *e, struct fl_thr *t)
{
	(void)t;
	return e->c.tun.poll_ns + e->c.tun.sleep_overshoot_ns;
}

/* n idle ticks, each a pass. */
static void
pq_idle_skip(struct fl_engine *e, struct fl_thr *t, uint64_t n)
{
	(void)t;
	e->st.passes += n;
}

const struct fl_policy_ops fl_pol_pendq = {
	.info = {
		.name = "pendq",
		.commit = NULL,
		.date = NULL,
		.summary = "legacy, but bmaps whose only writes are in flight wait on a pending "
		    "queue that replies drain; the 2048 us tick stays",
		.era = FL_ERA_A,
		.historical = 0,
	},
	.order = FL_ORD_OFF_LONGER,
	.second_cap = 1,
	.defaults = pq_defaults,
	.write = pq_write,
	.force = pq_force,
	.complete = pq_complete,
	.run = pq_run,
	.plan = pq_plan,
	.idle_period = pq_idle_period,
	.idle_skip = pq_idle_skip,
};
