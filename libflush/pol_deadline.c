/*
 * deadline: ours, event-driven.  Only bmaps with work sendable now are on
 * the ready queue; the others are in the deadline heap keyed by the time
 * their first run becomes sendable.  The flush thread waits on its queue
 * until new sendable work, a reply that makes work sendable (or frees the
 * full window), or the earliest deadline; idle, it never wakes.  Runs come
 * from our planner (fl_plan_runs): overlapping writes never fly together, a
 * full run waits at most the batching window so writes arriving together
 * share a wake-up, and the window is hard (a run too big for it is sent in
 * part and continued first).
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

/* The earliest timed wait of the waiting threads (FL_TIME_NEVER: none, or untimed). */
static uint64_t
min_wait(const struct fl_engine *e, int *any)
{
	const struct fl_thr *t;
	uint64_t m = FL_TIME_NEVER;

	*any = e->wq[0].head != NULL;
	for (t = e->wq[0].head; t != NULL; t = t->wnext)
		if (t->until < m)
			m = t->until;
	return m;
}

/* Wakes the thread if b's next deadline is earlier than its timer (a re-arm). */
static void
rearm(struct fl_engine *e, struct fl_bmap *b)
{
	int any;

	if (b->hidx != SIZE_MAX && b->hkey < min_wait(e, &any) && any)
		fl_wakeone(e, &e->wq[0]);
}

/* A write: file its bmap; wake the thread for sendable work or an earlier deadline. */
static void
dl_write(struct fl_engine *e, struct fl_bmap *b, struct fl_biorq *q, int was_dirty, uint64_t now)
{
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

		if (b->fid != fid || (bno != FL_BMAP_ALL && b->bno != bno) || b->nun == 0)
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
	    (e->q[DL_READYQ].n > 0 || fl_dh_min(e) <= now))
		fl_wakeone(e, &e->wq[0]);	/* the full window has room again */
}

/*
 * Examines b: continues a partial run, then starts every run sendable by
 * the batching horizon while the window has room.
 */
static void
examine(struct fl_ctx *x, struct fl_bmap *b)
{
	struct fl_engine *e = x->e;
	struct fl_prun runs[64];
	size_t nr, i, ns, shift;
	uint64_t next;

	fl_exam_begin(x, b);
	if (b->partial != NULL) {
		b->gen++;
		fl_batch_send(x, b->partial, fl_win_room(e, b->ios), 0);
		if (b->partial->sent < b->partial->ncuts)
			return;
		b->partial = NULL;
	}
	do {
		if (fl_win_room(e, b->ios) == 0)
			break;
		ns = fl_plan_runs(e, b, x->now, fl_sat_add(x->now, e->c.tun.batch_ns), &next,
		    runs, 64, &nr);
		shift = 0;
		for (i = 0; i < nr && fl_win_room(e, b->ios) > 0; i++) {
			struct fl_prun r = runs[i];

			/* earlier runs left the unsent array: shift the indexes */
			r.first -= shift;
			r.last -= shift;
			shift += fl_plan_start(x, b, &r, 1);
			if (b->partial != NULL)
				break;
		}
	} while (ns > nr && b->partial == NULL && !e->failed);
}

/* A pass: every bmap due by now, and those due within the batching window. */
static void
dl_pass(struct fl_ctx *x)
{
	struct fl_engine *e = x->e;
	struct fl_list todo;
	uint64_t horizon = fl_sat_add(x->now, e->c.tun.batch_ns);

	while (fl_dh_min(e) <= x->now)
		index_bmap(e, e->dh[0], x->now);	/* moves it to the ready queue */
	if (e->q[DL_READYQ].n == 0 || e->outstanding >= e->c.tun.window * e->nios)
		return;
	fl_pass_begin(x);
	/* detach the ready queue so that re-filed bmaps are not examined twice */
	todo = e->q[DL_READYQ];
	e->q[DL_READYQ].head = e->q[DL_READYQ].tail = NULL;
	e->q[DL_READYQ].n = 0;
	for (; fl_dh_min(e) <= horizon; ) {
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
			fl_q_push(e, DL_READYQ, b);
			continue;
		}
		examine(x, b);
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
		w.until = fl_dh_min(e);
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
	.defaults = dl_defaults,
	.write = dl_write,
	.force = dl_force,
	.complete = dl_complete,
	.run = dl_run,
	.plan = dl_plan,
};
