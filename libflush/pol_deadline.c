/*
 * deadline: ours, event-driven, and as close to the limit (bound.c) as an
 * online policy can be.  Every write is due by the limit's own deadline:
 * its max age, or the batching window after it if it completes a full run
 * (the limit's reference runs, kept here online with the same code); a
 * forced flush makes its writes due at once.  The flush thread sleeps
 * until the earliest due time, and each wake-up sends every write it can,
 * young ones included: that is the greedy that makes the limit exact, so
 * without windows, writes held behind bytes in flight and forced flushes,
 * it wakes exactly as often as the bound says.
 *
 * Only bmaps with work due now are on the ready queue; the others are in
 * the deadline heap keyed by their earliest due time.  The thread waits on
 * its queue until work is due, a reply makes held work sendable (or frees
 * the full window), or a forced flush; idle, it never wakes.  A write or a
 * reply that makes the earliest due time earlier re-arms the sleeping
 * thread's timer itself (fl_rearm: a timerfd on the real clock) rather
 * than waking it to wait again.  Runs come from our planner
 * (fl_plan_runs): overlapping writes never fly together, contiguous ones
 * join up to the coalesce size, and the window is hard (a run too big for
 * it is sent in part and continued first).
 */
#include "libflush/internal.h"

#define DL_READYQ	0

/* deadline's constants: the 2010 ones plus the batching window. */
static void
dl_defaults(struct fl_tunables *t)
{
	t->batch_ns = FL_DEADLINE_BATCH_NS;
}

/*
 * Files b on the ready queue (work sendable now) and/or in the heap (the
 * earliest time a run becomes sendable).  Returns 1 if b has work now.
 */
static int
index_bmap(struct fl_engine *e, struct fl_bmap *b, uint64_t now)
{
	uint64_t next = FL_TIME_NEVER;
	size_t ns = 0;
	int ready;

	if (b->partial == NULL && b->nun > 0)
		ns = fl_plan_query(e, b, now, &next);
	fl_dh_set(e, b, next);
	ready = b->partial != NULL || ns > 0;
	if (ready && !fl_q_on(b, DL_READYQ)) {
		fl_q_del(e, b);
		fl_q_push(e, DL_READYQ, b);
	} else if (!ready && fl_q_on(b, DL_READYQ))
		fl_q_del(e, b);
	return ready;
}

/* The timer's lead on the due time (timer_lead_ns, real clock only). */
static uint64_t
lead(const struct fl_engine *e)
{
	return e->real ? e->c.tun.timer_lead_ns : 0;
}

/* When the thread's timer goes off for work due at t. */
static uint64_t
timer_for(const struct fl_engine *e, uint64_t t)
{
	if (t == FL_TIME_NEVER)
		return t;
	return t > lead(e) ? t - lead(e) : 0;
}

/*
 * Makes the sleeping thread's timer cover b's next deadline: brought
 * forward by the caller (a writer, the reply thread) without waking it.
 */
static void
rearm(struct fl_engine *e, struct fl_bmap *b)
{
	if (b->hidx != SIZE_MAX)
		fl_rearm(e, &e->wq[0], timer_for(e, b->hkey));
}

/*
 * A write: due at the limit's deadline (the batching window if it
 * completes a full run); file its bmap; wake the thread for work due now,
 * or re-arm its timer for an earlier due time.
 */
static void
dl_write(struct fl_engine *e, struct fl_bmap *b, struct fl_biorq *q, int was_dirty, uint64_t now)
{
	int full = fl_ref_write(&b->ref, q->ready, q->off, q->len, q->deadline,
	    e->c.tun.coalesce_size);

	if (full < 0) {
		fl_fail(e, "out of memory");
		return;
	}
	if (full && fl_sat_add(q->ready, e->c.tun.batch_ns) < q->due)
		q->due = fl_sat_add(q->ready, e->c.tun.batch_ns);
	fl_log_arrive(e, now, q, b->nun == 1, !was_dirty);
	if (fl_q_on(b, DL_READYQ))
		return;		/* already due: the pass will plan it */
	if (index_bmap(e, b, now)) {
		if (fl_win_room(e, b->ios) > 0)
			fl_wakeone(e, &e->wq[0]);
	} else
		rearm(e, b);
}

/* fsync/close: flag and send at once. */
static void
dl_force(struct fl_engine *e, uint64_t fid, uint32_t bno, uint64_t now)
{
	size_t i;
	int sig = 0;

	for (i = 0; i < e->nbm; i++) {
		struct fl_bmap *b = e->bm[i];

		if (b->fid != fid || (bno != FL_BMAP_ALL && b->bno != bno))
			continue;
		fl_ref_force(&b->ref);		/* the limit's open runs go now */
		if (b->nun == 0)
			continue;
		fl_log_force(e, now, b, fl_force_flag(b));
		sig |= index_bmap(e, b, now);
	}
	if (sig)
		fl_wakeone(e, &e->wq[0]);
}

/* A reply: retire a finished bmap, re-file one whose held writes may go, free the window. */
static void
dl_complete(struct fl_engine *e, struct fl_batch *ba, int done, uint64_t now)
{
	struct fl_bmap *b = ba->b;
	struct fl_win *w = &e->win[ba->ios];

	if (done) {
		if (b->npending == 0) {
			fl_q_del(e, b);
			fl_dh_set(e, b, FL_TIME_NEVER);
			fl_trace_bmap(e, FL_TR_CLEAN, b, 0, now);
		} else if (index_bmap(e, b, now))
			fl_wakeone(e, &e->wq[0]);
		else
			rearm(e, b);
	}
	if (w->inflight + w->credits + 1 == w->limit &&
	    (e->q[DL_READYQ].n > 0 || timer_for(e, fl_dh_min(e)) <= now))
		fl_wakeone(e, &e->wq[0]);	/* the full window has room again */
}

/*
 * True if run r, not due yet, is a stream filling up: two writes or more,
 * and at the rate its bytes grew since its oldest write it reaches the
 * coalesce size at a time still ahead whose batching window ends no later
 * than r's own due time.  Holding it then costs no wake-up (it will be due
 * as a full run before it would be due as it is) and keeps its RPCs whole;
 * any other run goes at any wake-up.  A wrong guess costs at most the
 * wake-up at r's own due time, never lateness.
 */
static int
growing(const struct fl_engine *e, const struct fl_prun *r, uint64_t now)
{
	uint64_t size = r->end - r->start, full = e->c.tun.coalesce_size;
	double fill;

	if (r->forced || r->n < 2 || r->newest <= r->oldest || size >= full ||
	    size <= r->oldest_len)
		return 0;
	fill = (double)r->newest + (double)(full - size) * (double)(r->newest - r->oldest) /
	    (double)(size - r->oldest_len);
	return fill > (double)now && fill + (double)e->c.tun.batch_ns <= (double)r->due;
}

/*
 * Examines b: continues a partial run, then starts every run of its unsent
 * writes, due or not, but those held behind bytes in flight and streams
 * filling up (growing), while the window has room.  A bmap with nothing
 * to start is left alone (the planner is deadline's index, as the heap
 * is): returns 1 if b was examined (fl_exam_end is then the caller's).
 */
static int
examine(struct fl_ctx *x, struct fl_bmap *b)
{
	struct fl_engine *e = x->e;
	struct fl_prun runs[64];
	size_t nr, i, ns, shift, started;
	uint64_t next;
	int examined = 0;

	if (b->partial != NULL) {
		fl_exam_begin(x, b);
		examined = 1;
		b->gen++;
		fl_batch_send(x, b->partial, fl_win_room(e, b->ios), 0);
		if (b->partial->sent < b->partial->ncuts)
			return 1;
		b->partial = NULL;
	}
	do {
		if (fl_win_room(e, b->ios) == 0)
			break;
		ns = fl_plan_runs(e, b, x->now, FL_TIME_NEVER, &next, runs, 64, &nr);
		shift = started = 0;
		for (i = 0; i < nr && fl_win_room(e, b->ios) > 0; i++) {
			struct fl_prun r = runs[i];

			if (r.due > fl_sat_add(x->now, lead(e)) && growing(e, &r, x->now))
				continue;
			if (!examined) {
				fl_exam_begin(x, b);
				examined = 1;
			}
			/* earlier runs left the unsent array: shift the indexes */
			r.first -= shift;
			r.last -= shift;
			shift += fl_plan_start(x, b, &r, 1);
			started++;
			if (b->partial != NULL)
				break;
		}
	} while (ns > nr && started > 0 && b->partial == NULL && !e->failed);
	return examined;
}

/*
 * A pass: every bmap with work due, and with it every bmap with a write
 * not yet due (sending it now spares the wake-up its own due time would
 * cost: the limit's greedy), but streams filling up.
 */
static void
dl_pass(struct fl_ctx *x)
{
	struct fl_engine *e = x->e;
	struct fl_list todo;

	while (timer_for(e, fl_dh_min(e)) <= x->now)
		/* due (within the timer's lead): to the ready queue */
		index_bmap(e, e->dh[0], fl_sat_add(x->now, lead(e)));
	if (e->q[DL_READYQ].n == 0 || e->outstanding >= e->c.tun.window * e->nios)
		return;
	fl_pass_begin(x);
	/* detach the ready queue so that re-filed bmaps are not examined twice */
	todo = e->q[DL_READYQ];
	e->q[DL_READYQ].head = e->q[DL_READYQ].tail = NULL;
	e->q[DL_READYQ].n = 0;
	while (e->ndh > 0) {
		struct fl_bmap *b = e->dh[0];

		fl_dh_set(e, b, FL_TIME_NEVER);
		if (!fl_q_on(b, DL_READYQ)) {
			/* not on todo either: ride along */
			b->qnext = NULL;
			b->qprev = todo.tail;
			if (todo.tail)
				todo.tail->qnext = b;
			else
				todo.head = b;
			todo.tail = b;
			todo.n++;
			b->q = DL_READYQ + 1;
		}
	}
	while (todo.head != NULL && !e->failed) {
		struct fl_bmap *b = todo.head;

		todo.head = b->qnext;
		if (todo.head)
			todo.head->qprev = NULL;
		b->qnext = b->qprev = NULL;
		b->q = 0;
		if (fl_win_room(e, b->ios) == 0) {
			index_bmap(e, b, x->now);	/* due: the ready queue; else the heap */
			continue;
		}
		if (examine(x, b))
			fl_exam_end(x, b, 1);
		index_bmap(e, b, x->now);
	}
}

/* Work after a wake-up. */
static void
dl_run(struct fl_ctx *x, enum fl_why why)
{
	if (why != FL_WHY_START)
		dl_pass(x);
}

/* Wait for work, a useful reply, or the earliest deadline. */
static struct fl_wait
dl_plan(struct fl_ctx *x)
{
	struct fl_engine *e = x->e;
	struct fl_wait w = { FLW_WAIT, &e->wq[0], FL_TIME_NEVER };

	if (e->outstanding >= e->c.tun.window * e->nios)
		return w;		/* a reply will wake it */
	if (e->q[DL_READYQ].n > 0)
		w.until = x->now;
	else
		w.until = timer_for(e, fl_dh_min(e));
	return w;
}

const struct fl_policy_ops fl_pol_deadline = {
	.info = {
		.name = "deadline",
		.commit = NULL,
		.date = NULL,
		.summary = "event-driven: only bmaps with sendable writes are queued; sleeps until "
		    "new work, a useful reply or the earliest deadline; never wakes idle",
		.era = FL_ERA_A,
		.historical = 0,
	},
	.order = FL_ORD_OFF_ID,
	.rearm_timer = 1,
	.defaults = dl_defaults,
	.write = dl_write,
	.force = dl_force,
	.complete = dl_complete,
	.run = dl_run,
	.plan = dl_plan,
};
