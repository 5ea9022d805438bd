/*
 * Flush threads and the two clock drivers.
 *
 * A flush thread alternates between work and waiting.  Its policy says what
 * the work is (ops->run, after a wake-up) and what it waits for next
 * (ops->plan, asked when the work is over): run again, a fixed sleep nobody
 * can cut short (usleep), or a wait on a wait queue, optionally timed.
 * Wait queues behave like PFL's: a wake with no waiter is lost; wake-one
 * reaches the longest waiter (or the lowest-numbered, by tunable).
 *
 * Virtual clock: a discrete-event loop over inputs and an event heap (RPC
 * completions, policy timers, thread wake-ups, ends of modelled work);
 * deterministic.  A woken thread runs wake_latency_ns later (its own timer
 * if sooner); modelled costs keep a thread busy, and its plan is asked at
 * the end of the busy time.  Idle stretches of a periodic policy are
 * accounted in bulk (ops->idle_period) when nothing is logged.
 *
 * Real clock: one pthread per flush thread, each with its own condition
 * variable; a completion thread delivers replies at their due times; the
 * caller's thread injects inputs and runs policy timers.  Everything runs
 * under e->mu.  A policy with rearm_timer has its flush threads wait in
 * poll(2) on a timerfd, which another thread re-arms (fl_rearm: one
 * timerfd_settime, no wake-up), and an eventfd, which a wake writes.
 */
#include "libflush/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* Reads CLOCK_MONOTONIC in ns. */
uint64_t
fl_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The engine's clock: ns since the start of the run. */
uint64_t
fl_now(const struct fl_engine *e)
{
	return e->real ? fl_mono_ns() - e->rstart : e->vnow;
}

/* ------------------------------------------------------------ wait queues */

/* Appends t to wq. */
static void
wq_add(struct fl_waitq *wq, struct fl_thr *t)
{
	t->wq = wq;
	t->wnext = NULL;
	t->wprev = wq->tail;
	if (wq->tail)
		wq->tail->wnext = t;
	else
		wq->head = t;
	wq->tail = t;
	wq->n++;
}

/* Takes t off its wait queue, if any. */
static void
wq_del(struct fl_thr *t)
{
	struct fl_waitq *wq = t->wq;

	if (wq == NULL)
		return;
	if (t->wprev)
		t->wprev->wnext = t->wnext;
	else
		wq->head = t->wnext;
	if (t->wnext)
		t->wnext->wprev = t->wprev;
	else
		wq->tail = t->wprev;
	t->wnext = t->wprev = NULL;
	t->wq = NULL;
	wq->n--;
}

/* ---------------------------------------------------------- event heaps */

/* Orders virtual events: time, kind, sequence. */
static int
vev_less(const struct fl_vev *a, const struct fl_vev *b)
{
	if (a->t != b->t)
		return a->t < b->t;
	if (a->kind != b->kind)
		return a->kind < b->kind;
	return a->seq < b->seq;
}

/* Pushes a virtual event. */
static void
vpush(struct fl_engine *e, struct fl_vev ev)
{
	size_t i;

	if (fl_grow(&e->vh, &e->capvh, e->nvh + 1, sizeof(*e->vh)) < 0) {
		fl_fail(e, "out of memory");
		return;
	}
	ev.seq = e->vseq++;
	i = e->nvh++;
	while (i > 0 && vev_less(&ev, &e->vh[(i - 1) / 2])) {
		e->vh[i] = e->vh[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	e->vh[i] = ev;
}

/* Pops the earliest virtual event. */
static struct fl_vev
vpop(struct fl_engine *e)
{
	struct fl_vev top = e->vh[0], last = e->vh[--e->nvh];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, m;

		if (l >= e->nvh)
			break;
		m = (l + 1 < e->nvh && vev_less(&e->vh[l + 1], &e->vh[l])) ? l + 1 : l;
		if (!vev_less(&e->vh[m], &last))
			break;
		e->vh[i] = e->vh[m];
		i = m;
	}
	if (e->nvh > 0)
		e->vh[i] = last;
	return top;
}

/* Orders RPCs by completion time, then xid. */
static int
rh_less(const struct fl_rpc *a, const struct fl_rpc *b)
{
	if (a->info.done_ns != b->info.done_ns)
		return a->info.done_ns < b->info.done_ns;
	return a->info.xid < b->info.xid;
}

/* Pushes an RPC on the real clock's completion heap. */
static int
rh_push(struct fl_engine *e, struct fl_rpc *r)
{
	size_t i;

	if (fl_grow(&e->rh, &e->caprh, e->nrh + 1, sizeof(*e->rh)) < 0)
		return -1;
	i = e->nrh++;
	while (i > 0 && rh_less(r, e->rh[(i - 1) / 2])) {
		e->rh[i] = e->rh[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	e->rh[i] = r;
	return 0;
}

/* Pops the earliest-completing RPC. */
static struct fl_rpc *
rh_pop(struct fl_engine *e)
{
	struct fl_rpc *top = e->rh[0], *last = e->rh[--e->nrh];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, m;

		if (l >= e->nrh)
			break;
		m = (l + 1 < e->nrh && rh_less(e->rh[l + 1], e->rh[l])) ? l + 1 : l;
		if (!rh_less(e->rh[m], last))
			break;
		e->rh[i] = e->rh[m];
		i = m;
	}
	if (e->nrh > 0)
		e->rh[i] = last;
	return top;
}

/* Frees the RPCs still in flight (and their runs) after a failed run. */

void
fl_rpcs_free(struct fl_engine *e)
{
	size_t i;

	for (i = 0; i < e->nvh; i++)
		if (e->vh[i].kind == FLV_DONE && e->vh[i].rpc != NULL && rh_push(e, e->vh[i].rpc) < 0)
			free(e->vh[i].rpc);
	e->nvh = 0;
	while (e->nrh > 0) {
		struct fl_rpc *r = rh_pop(e);

		r->batch->nleft--;
		free(r);
	}
}

/* --------------------------------------------------------- timers, sends */

/* Schedules a policy timer. */
void
fl_timer_add(struct fl_engine *e, uint64_t t, uint64_t arg)
{
	if (!e->real) {
		struct fl_vev ev;

		memset(&ev, 0, sizeof(ev));
		ev.t = t > e->vnow ? t : e->vnow;
		ev.kind = FLV_TIMER;
		ev.arg = arg;
		vpush(e, ev);
		return;
	}
	if (fl_grow(&e->tm, &e->captm, e->ntm + 1, sizeof(*e->tm)) < 0) {
		fl_fail(e, "out of memory");
		return;
	}
	{
		size_t i = e->ntm++;
		struct fl_timer tm = { t, e->tseq++, arg };

		while (i > 0 && (e->tm[(i - 1) / 2].t > tm.t ||
		    (e->tm[(i - 1) / 2].t == tm.t && e->tm[(i - 1) / 2].seq > tm.seq))) {
			e->tm[i] = e->tm[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		e->tm[i] = tm;
	}
	pthread_cond_signal(&e->icv);
}

/* Pops the earliest real-clock timer. */
static struct fl_timer
tm_pop(struct fl_engine *e)
{
	struct fl_timer top = e->tm[0], last = e->tm[--e->ntm];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, m;

		if (l >= e->ntm)
			break;
		m = l;
		if (l + 1 < e->ntm && (e->tm[l + 1].t < e->tm[l].t ||
		    (e->tm[l + 1].t == e->tm[l].t && e->tm[l + 1].seq < e->tm[l].seq)))
			m = l + 1;
		if (e->tm[m].t > last.t || (e->tm[m].t == last.t && e->tm[m].seq > last.seq))
			break;
		e->tm[i] = e->tm[m];
		i = m;
	}
	if (e->ntm > 0)
		e->tm[i] = last;
	return top;
}

/* Tells the completion side that an RPC was issued. */
void
fl_drv_rpc_sent(struct fl_engine *e, struct fl_rpc *r)
{
	struct fl_vev ev;

	if (e->real) {
		if (rh_push(e, r) < 0)
			fl_fail(e, "out of memory");
		else if (e->rh[0] == r)
			pthread_cond_signal(&e->ccv);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.t = r->info.done_ns;
	ev.kind = FLV_DONE;
	ev.rpc = r;
	vpush(e, ev);
}

/* ------------------------------------------------------ wake-up accounting */

/* Counts a wake-up of t (timeout or signal) and notes where its work starts. */
static void
wake_count(struct fl_engine *e, struct fl_thr *t, enum fl_why why, uint64_t now)
{
	struct fl_trace_ev ev;

	t->lines = 0;
	t->spins = 0;
	if (why != FL_WHY_TIMEOUT && why != FL_WHY_SIGNAL)
		return;
	e->st.wakeups++;
	if (why == FL_WHY_TIMEOUT)
		e->st.wake_timeout++;
	else
		e->st.wake_signal++;
	t->woke = 1;
	t->woke_at = now;
	t->rpcs_at_wake = e->st.rpcs;
	memset(&ev, 0, sizeof(ev));
	ev.kind = FL_TR_WAKE;
	ev.t_ns = now;
	ev.thread = t->k;
	ev.reason = why == FL_WHY_TIMEOUT ? 1 : 2;
	fl_trace(e, &ev);
}

/* t begins to wait at now: a wake-up that sent nothing was useless. */
static void
wait_begin(struct fl_engine *e, struct fl_thr *t, uint64_t now)
{
	if (t->woke && e->st.rpcs == t->rpcs_at_wake)
		e->st.wake_useless++;
	t->woke = 0;
	t->slept_at = now;
	t->spins = 0;
}

/* Asks t's policy what it does next; NULL-safe guard against a thread that never waits. */
static struct fl_wait
plan(struct fl_engine *e, struct fl_thr *t, uint64_t now)
{
	struct fl_ctx x = { e, t, now };
	struct fl_wait w = e->ops->plan(&x);

	if (w.kind == FLW_RUN && ++t->spins > 1000000) {
		fl_fail(e, "a flush thread ran a million times without waiting or time passing "
		    "(policy bug)");
		w.kind = FLW_SLEEP;
		w.until = FL_TIME_NEVER;
	}
	return w;
}

/* --------------------------------------------------------- virtual driver */

/* Schedules t's wake event at time at. */
static void
v_wake_at(struct fl_engine *e, struct fl_thr *t, uint64_t at, enum fl_why why)
{
	struct fl_vev ev;

	memset(&ev, 0, sizeof(ev));
	ev.t = at > e->vnow ? at : e->vnow;
	ev.kind = FLV_WAKE;
	ev.why = why;
	ev.k = t->k;
	ev.token = t->token;
	vpush(e, ev);
}

/* Makes t wait as w says (virtual). */
static void
v_enter(struct fl_engine *e, struct fl_thr *t, struct fl_wait w, uint64_t now)
{
	wait_begin(e, t, now);
	t->token++;
	t->until = w.until;
	if (w.kind == FLW_SLEEP) {
		t->state = FLT_SLEEP;
		if (w.until != FL_TIME_NEVER)
			v_wake_at(e, t, w.until, FL_WHY_TIMEOUT);
		return;
	}
	t->state = FLT_WAIT;
	wq_add(w.wq, t);
	if (w.until != FL_TIME_NEVER)
		v_wake_at(e, t, w.until, FL_WHY_TIMEOUT);
}

/* Runs t from now (virtual): work, then its plan, until it waits or is busy. */
static void
v_go(struct fl_engine *e, struct fl_thr *t, enum fl_why why, uint64_t now)
{
	for (;;) {
		struct fl_ctx x = { e, t, now };
		struct fl_wait w;

		t->state = FLT_RUN;
		e->ops->run(&x, why);
		if (e->failed)
			return;
		if (x.now > now) {
			/* busy until x.now: the plan is asked then */
			t->token++;
			t->spins = 0;
			{
				struct fl_vev ev;

				memset(&ev, 0, sizeof(ev));
				ev.t = x.now;
				ev.kind = FLV_BUSY;
				ev.k = t->k;
				ev.token = t->token;
				vpush(e, ev);
			}
			return;
		}
		w = plan(e, t, now);
		if (w.kind != FLW_RUN) {
			v_enter(e, t, w, now);
			return;
		}
		why = FL_WHY_NONE;
	}
}

/* The end of t's busy time (virtual). */
static void
v_settle(struct fl_engine *e, struct fl_thr *t, uint64_t now)
{
	struct fl_wait w = plan(e, t, now);

	if (w.kind != FLW_RUN)
		v_enter(e, t, w, now);
	else
		v_go(e, t, FL_WHY_NONE, now);
}

/* Wakes t (virtual): it runs after the wake-up latency, or at its timer if sooner. */
static void
v_wake(struct fl_engine *e, struct fl_thr *t)
{
	uint64_t at = fl_sat_add(e->vnow, e->c.tun.wake_latency_ns);
	enum fl_why why = FL_WHY_SIGNAL;

	wq_del(t);
	t->state = FLT_WOKEN;
	t->token++;
	if (t->until < at) {
		at = t->until;
		why = FL_WHY_TIMEOUT;
	}
	v_wake_at(e, t, at, why);
}

/* ------------------------------------------------------------ real driver */

/* Tells real flush thread t to look at its state: its condition variable, or its eventfd. */
static void
r_kick(struct fl_thr *t)
{
	uint64_t one = 1;

	if (t->efd >= 0) {
		while (write(t->efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	} else
		pthread_cond_signal(&t->cv);
}

/* Wakes t (real): it leaves the queue now and runs when it gets the lock. */
static void
r_wake(struct fl_engine *e, struct fl_thr *t)
{
	wq_del(t);
	t->woken = 1;
	t->sig_at = fl_now(e);
	t->state = FLT_RUN;
	r_kick(t);
}

/* Run-relative time t as an absolute CLOCK_MONOTONIC timespec. */
static struct timespec abs_ts(const struct fl_engine *e, uint64_t t);

/* Sets t's timerfd to its wait deadline (disarmed for an untimed wait). */
static void
r_arm(const struct fl_engine *e, struct fl_thr *t)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (t->until != FL_TIME_NEVER) {
		its.it_value = abs_ts(e, t->until);
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;	/* 0 would disarm it */
	}
	timerfd_settime(t->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Picks the thread a wake-one reaches. */
static struct fl_thr *
wq_pick(const struct fl_engine *e, const struct fl_waitq *wq)
{
	struct fl_thr *t, *best = wq->head;

	if (e->c.tun.wake_oldest)
		return best;
	for (t = wq->head; t != NULL; t = t->wnext)
		if (t->k < best->k)
			best = t;
	return best;
}

/* Wakes one waiter of wq. */
int
fl_wakeone(struct fl_engine *e, struct fl_waitq *wq)
{
	struct fl_thr *t;

	if (wq->head == NULL)
		return 0;
	t = wq_pick(e, wq);
	if (e->real)
		r_wake(e, t);
	else
		v_wake(e, t);
	return 1;
}

/* Wakes every waiter of wq. */
unsigned
fl_wakeall(struct fl_engine *e, struct fl_waitq *wq)
{
	unsigned n = 0;

	while (wq->head != NULL) {
		if (e->real)
			r_wake(e, wq->head);
		else
			v_wake(e, wq->head);
		n++;
	}
	return n;
}

/* Brings a timed wait of wq forward to until without a wake-up, if none ends by then. */
int
fl_rearm(struct fl_engine *e, struct fl_waitq *wq, uint64_t until)
{
	struct fl_thr *t;

	if (wq->head == NULL)
		return 0;
	for (t = wq->head; t != NULL; t = t->wnext)
		if (t->until <= until)
			return 0;	/* one wakes by then already */
	t = wq_pick(e, wq);
	if (!e->ops->rearm_timer || (e->real && t->tfd < 0)) {
		fl_wakeone(e, wq);
		return 0;
	}
	e->st.rearms++;
	t->until = until;
	if (e->real)
		r_arm(e, t);
	else {
		t->token++;	/* its old timer event is stale */
		v_wake_at(e, t, until, FL_WHY_TIMEOUT);
	}
	return 1;
}

/*
 * True when thread t's timed wake-up at hand could be one of a run of idle
 * ones: nothing queued, pending or in flight, a later input, nothing logged.
 */
static int
can_skip_idle(const struct fl_engine *e, const struct fl_thr *t)
{
	int i;

	if (e->c.tun.no_fast_forward || e->logging || e->c.tun.threads != 1 ||
	    e->ops->idle_period == NULL || e->pending_writes != 0 || e->outstanding != 0 ||
	    e->ndh != 0 || e->next_in >= e->nin || t->state == FLT_WOKEN)
		return 0;
	for (i = 0; i < FL_NQUEUES; i++)
		if (e->q[i].n != 0)
			return 0;
	return 1;
}

/*
 * Accounts in bulk the idle wake-ups of t that would come before the next
 * input or event, leaving the last one to run; returns its time.
 */
static uint64_t
skip_idle(struct fl_engine *e, struct fl_thr *t, uint64_t at)
{
	uint64_t p = e->ops->idle_period(e, t), lim = e->in[e->next_in].at, n;
	struct fl_trace_ev ev;

	if (e->nvh > 0 && e->vh[0].t < lim)
		lim = e->vh[0].t;
	if (p == 0 || at >= lim || (n = (lim - at + p - 1) / p) < 2)
		return at;
	n--;
	e->st.wakeups += n;
	e->st.wake_timeout += n;
	e->st.wake_useless += n;
	e->ops->idle_skip(e, t, n);
	memset(&ev, 0, sizeof(ev));
	ev.kind = FL_TR_IDLE;
	ev.t_ns = at;
	ev.thread = t->k;
	ev.count = n;
	ev.period_ns = p;
	ev.pass = 1;
	fl_trace(e, &ev);
	return at + n * p;
}

/* Process user+sys CPU in ns. */
static uint64_t
proc_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_utime.tv_sec * 1000000000ull + (uint64_t)ru.ru_utime.tv_usec * 1000 +
	    (uint64_t)ru.ru_stime.tv_sec * 1000000000ull + (uint64_t)ru.ru_stime.tv_usec * 1000;
}

/* Runs the whole workload on the virtual clock (proc_cpu_ns: its event loop's CPU). */
int
fl_run_virtual(struct fl_engine *e)
{
	uint64_t cpu0 = proc_cpu();
	unsigned k;

	for (k = 0; k < e->c.tun.threads && !e->failed; k++) {
		wake_count(e, &e->thr[k], FL_WHY_START, 0);
		v_go(e, &e->thr[k], FL_WHY_START, 0);
	}
	while (!e->failed && !fl_core_idle(e)) {
		struct fl_vev ev;
		struct fl_thr *t;
		int use_input = e->next_in < e->nin &&
		    (e->nvh == 0 || e->in[e->next_in].at < e->vh[0].t ||
		    (e->in[e->next_in].at == e->vh[0].t && e->vh[0].kind != FLV_DONE));

		e->st.events++;
		if (use_input) {
			struct fl_input *in = &e->in[e->next_in++];

			e->vnow = in->at;
			fl_core_input(e, in, e->vnow);
			continue;
		}
		if (e->nvh == 0) {
			fl_fail(e, "engine stalled: writes pending and nothing scheduled (policy bug)");
			break;
		}
		ev = vpop(e);
		e->vnow = ev.t;
		if (ev.kind == FLV_DONE) {
			fl_core_complete(e, ev.rpc, e->vnow);
			continue;
		}
		if (ev.kind == FLV_TIMER) {
			e->ops->timer(e, ev.arg, e->vnow);
			continue;
		}
		t = &e->thr[ev.k];
		if (ev.token != t->token)
			continue;	/* cancelled */
		if (e->unsent > 0 && e->outstanding == 0 &&
		    e->vnow > fl_sat_add(e->last_progress, 3600000000000ull)) {
			fl_fail(e, "writes stayed unsent for an hour of virtual time with nothing "
			    "in flight (policy bug)");
			break;
		}
		if (ev.kind == FLV_BUSY) {
			v_settle(e, t, e->vnow);
			continue;
		}
		if (ev.why == FL_WHY_TIMEOUT && can_skip_idle(e, t))
			e->vnow = skip_idle(e, t, e->vnow);
		wq_del(t);
		wake_count(e, t, ev.why, e->vnow);
		v_go(e, t, ev.why, e->vnow);
	}
	e->st.proc_cpu_ns = proc_cpu() - cpu0;
	return e->failed ? -1 : 0;
}

/* Run-relative time t as an absolute CLOCK_MONOTONIC timespec. */
static struct timespec
abs_ts(const struct fl_engine *e, uint64_t t)
{
	struct timespec ts;
	uint64_t a = fl_sat_add(e->rstart, t);

	if (a > (uint64_t)INT32_MAX * 1000000000ull)
		a = (uint64_t)INT32_MAX * 1000000000ull;	/* "never", in range */
	ts.tv_sec = (time_t)(a / 1000000000ull);
	ts.tv_nsec = (long)(a % 1000000000ull);
	return ts;
}

/* Converts a timespec to ns. */
static uint64_t
ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* Wakes the injector when the engine went idle. */
static void
r_idle_check(struct fl_engine *e)
{
	if (fl_core_idle(e))
		pthread_cond_signal(&e->icv);
}

/* Empties a nonblocking timerfd or eventfd. */
static void
r_drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) > 0)
		;
}

/*
 * Waits on t's timerfd and eventfd until woken or the (possibly re-armed)
 * deadline t->until passes; the mutex is released while it polls.  A stale
 * expiry or an old wake's count only makes it look again.
 */
static void
r_poll_wait(struct fl_engine *e, struct fl_thr *t)
{
	struct pollfd pfd[2];

	r_arm(e, t);
	while (!t->woken && !e->stop && (t->until == FL_TIME_NEVER || fl_now(e) < t->until)) {
		pfd[0].fd = t->tfd;
		pfd[1].fd = t->efd;
		pfd[0].events = pfd[1].events = POLLIN;
		pthread_mutex_unlock(&e->mu);
		while (poll(pfd, 2, -1) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&e->mu);
		r_drain(t->tfd);
		r_drain(t->efd);
	}
}

/* A real flush thread waits as w says; returns why it runs next. */
static enum fl_why
r_wait(struct fl_engine *e, struct fl_thr *t, struct fl_wait w)
{
	wait_begin(e, t, fl_now(e));
	if (w.kind == FLW_SLEEP) {
		struct timespec ts = abs_ts(e, w.until);

		/* usleep(2048): a fixed sleep nobody can cut short */
		t->state = FLT_SLEEP;
		pthread_mutex_unlock(&e->mu);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		pthread_mutex_lock(&e->mu);
		t->state = FLT_RUN;
		return FL_WHY_TIMEOUT;
	}
	t->state = FLT_WAIT;
	t->until = w.until;
	t->woken = 0;
	wq_add(w.wq, t);
	if (t->tfd >= 0)
		r_poll_wait(e, t);
	while (t->tfd < 0 && !t->woken && !e->stop) {
		if (w.until == FL_TIME_NEVER)
			pthread_cond_wait(&t->cv, &e->mu);
		else {
			struct timespec ts = abs_ts(e, w.until);

			if (pthread_cond_timedwait(&t->cv, &e->mu, &ts) == ETIMEDOUT)
				break;
		}
	}
	t->state = FLT_RUN;
	if (t->woken) {
		uint64_t now = fl_now(e);

		if (fl_grow(&e->wlat, &e->capwlat, e->nwlat + 1, sizeof(*e->wlat)) == 0)
			e->wlat[e->nwlat++] = now > t->sig_at ? now - t->sig_at : 0;
		return FL_WHY_SIGNAL;
	}
	wq_del(t);
	return FL_WHY_TIMEOUT;
}

/* A real flush thread: work, plan, wait, repeat. */
static void *
flush_thread(void *arg)
{
	struct fl_thr *t = arg;
	struct fl_engine *e = t->e;
	enum fl_why why = FL_WHY_START;
	struct timespec cpu;
	struct rusage ru;

	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		struct fl_ctx x = { e, t, fl_now(e) };
		struct fl_wait w;

		wake_count(e, t, why, x.now);
		e->ops->run(&x, why);
		while ((w = plan(e, t, fl_now(e))).kind == FLW_RUN && !e->stop) {
			x.now = fl_now(e);
			e->ops->run(&x, FL_WHY_NONE);
		}
		r_idle_check(e);
		if (e->stop)
			break;
		why = r_wait(e, t, w);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	getrusage(RUSAGE_THREAD, &ru);
	e->st.flush_cpu_ns += ts_ns(&cpu);
	e->st.flush_nvcsw += (uint64_t)ru.ru_nvcsw;
	e->st.flush_nivcsw += (uint64_t)ru.ru_nivcsw;
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* The real RPC completion thread: delivers replies at their due times. */
static void *
completion_thread(void *arg)
{
	struct fl_engine *e = arg;

	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		if (e->nrh == 0) {
			pthread_cond_wait(&e->ccv, &e->mu);
			continue;
		}
		if (e->rh[0]->info.done_ns > fl_now(e)) {
			struct timespec ts = abs_ts(e, e->rh[0]->info.done_ns);

			pthread_cond_timedwait(&e->ccv, &e->mu, &ts);
			continue;
		}
		fl_core_complete(e, rh_pop(e), fl_now(e));
		r_idle_check(e);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* Injects inputs and runs timers at their times until everything is done. */
static void
r_inject(struct fl_engine *e)
{
	while (!e->failed) {
		uint64_t now = fl_now(e), next = FL_TIME_NEVER;
		struct timespec ts;

		while (e->next_in < e->nin && e->in[e->next_in].at <= now) {
			struct fl_input *in = &e->in[e->next_in++];

			e->rlate[e->nrlate++] = now - in->at;
			fl_core_input(e, in, now);
		}
		while (e->ntm > 0 && e->tm[0].t <= now) {
			struct fl_timer tm = tm_pop(e);

			e->ops->timer(e, tm.arg, now);
		}
		if (e->next_in >= e->nin && fl_core_idle(e))
			break;
		if (e->next_in < e->nin)
			next = e->in[e->next_in].at;
		if (e->ntm > 0 && e->tm[0].t < next)
			next = e->tm[0].t;
		if (next == FL_TIME_NEVER) {
			/* draining: a stall is writes unsent with nothing in flight for 30 s */
			if (e->unsent > 0 && e->outstanding == 0 &&
			    now > e->last_progress + 30000000000ull) {
				fl_fail(e, "writes stayed unsent for 30 s with nothing in flight");
				break;
			}
			next = now + 100000000ull;
		}
		ts = abs_ts(e, next);
		pthread_cond_timedwait(&e->icv, &e->mu, &ts);
	}
}

/* Runs the workload on the real clock with real threads. */
int
fl_run_real(struct fl_engine *e)
{
	pthread_condattr_t ca;
	pthread_t ct;
	unsigned k, started = 0;
	int rc = 0, cstarted = 0, slack;
	uint64_t cpu0 = proc_cpu();

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->ccv, &ca);
	pthread_cond_init(&e->icv, &ca);
	for (k = 0; k < e->c.tun.threads; k++) {
		pthread_cond_init(&e->thr[k].cv, &ca);
		if (e->ops->rearm_timer) {
			e->thr[k].tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
			e->thr[k].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (e->thr[k].tfd < 0 || e->thr[k].efd < 0)
				rc = -1;
		}
	}
	pthread_condattr_destroy(&ca);
	if (rc < 0)
		fl_fail(e, "cannot create a timerfd or an eventfd");
	if (rc == 0 && (e->rlate = malloc((e->nin + 1) * sizeof(*e->rlate))) == NULL)
		rc = -1;
	e->nrlate = 0;
	/*
	 * Sleeps end on time: with the default 50 us timer slack, timed wakes,
	 * replies and injections would run late.  Threads inherit the slack at
	 * creation; the caller's is restored.
	 */
	slack = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	pthread_mutex_lock(&e->mu);
	e->rstart = fl_mono_ns();
	for (k = 0; rc == 0 && k < e->c.tun.threads; k++) {
		e->thr[k].e = e;
		if (pthread_create(&e->thr[k].tid, NULL, flush_thread, &e->thr[k]) != 0)
			break;
		started++;
	}
	if (rc == 0 && started == e->c.tun.threads &&
	    pthread_create(&ct, NULL, completion_thread, e) == 0)
		cstarted = 1;
	if (!cstarted) {
		fl_fail(e, "cannot create threads");
		rc = -1;
	}
	if (rc == 0)
		r_inject(e);
	e->stop = 1;
	for (k = 0; k < started; k++)
		r_kick(&e->thr[k]);
	pthread_cond_broadcast(&e->ccv);
	pthread_mutex_unlock(&e->mu);
	for (k = 0; k < started; k++)
		pthread_join(e->thr[k].tid, NULL);
	if (cstarted)
		pthread_join(ct, NULL);
	if (slack > 0)
		prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0UL, 0UL, 0UL);
	e->st.wall_ns = fl_mono_ns() - e->rstart;
	e->st.proc_cpu_ns = proc_cpu() - cpu0;
	for (k = 0; k < e->c.tun.threads; k++) {
		pthread_cond_destroy(&e->thr[k].cv);
		if (e->thr[k].tfd >= 0)
			close(e->thr[k].tfd);
		if (e->thr[k].efd >= 0)
			close(e->thr[k].efd);
		e->thr[k].tfd = e->thr[k].efd = -1;
	}
	pthread_cond_destroy(&e->ccv);
	pthread_cond_destroy(&e->icv);
	pthread_mutex_destroy(&e->mu);
	return e->failed ? -1 : rc;
}
