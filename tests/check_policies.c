/*
 * The policies against engine-history.md's "Side by side" table, row by
 * row (threads, sleep, wakers, scan, wasted examinations, max age, send
 * trigger, window, completion wake, forced flush), hand-written workloads
 * on the virtual clock; the cases issue 13 names (a lone 1 MiB write, a
 * lone 32 KiB write, legacy's soft window, its 256-biorq rule, expiry before
 * contiguity, no hold-back, the wall-second deadline, the seed's period);
 * the declared budgets; and the historical policies on the real clock with
 * several threads and blocking windows (run under TSan in CI).
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libflush/flush.h"
#include "replay/replay.h"
#include "replay/wlsource.h"
#include "tests/testutil.h"
#include "util/err.h"

Suite *policies_suite(void);

#define MS	((uint64_t)1000000)
#define US	((uint64_t)1000)

/* One input of a hand-written workload: a write, or a forced flush ('f'). */
struct in {
	char kind;
	uint64_t at_us;
	uint64_t fid;
	uint32_t bno, off, len;
};

/* A run: counters, the trace, and per-bmap counters. */
struct run {
	struct fl_stats st;
	struct tu_trace tr;
	struct fl_bmap_stats bs[700];
	size_t nbs;
};

static int overlapping;		/* the workload's writes overlap: bytes sent may be fewer */

/* Runs policy pol on the inputs (fixed latency lat_ns; tune may adjust the config; log may be NULL). */
static void
go(const char *pol, const struct in *in, int nin, uint64_t lat_ns,
    void (*tune)(struct fl_config *), FILE *log, struct run *r)
{
	struct fl_config c;
	struct fl_engine *e;
	struct fs_err err;
	size_t i;

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(fl_config_init(&c, pol), 0);
	c.transport.kind = FL_LAT_FIXED;
	c.transport.fixed_ns = lat_ns;
	c.trace = tu_trace_cb;
	c.trace_arg = &r->tr;
	if (log != NULL) {
		c.log = log;
		c.era = fl_policy_info(c.policy)->era;
	}
	if (tune != NULL)
		tune(&c);
	ck_assert_ptr_nonnull(e = fl_engine_new(&c, &err));
	for (i = 0; i < (size_t)nin; i++) {
		if (in[i].kind == 'f')
			ck_assert_int_eq(fl_engine_force(e, in[i].at_us * US, in[i].fid, in[i].bno,
			    &err), 0);
		else
			ck_assert_msg(fl_engine_write(e, in[i].at_us * US, in[i].fid, in[i].bno,
			    in[i].off, in[i].len, FL_READY_AT_ARRIVAL, &err) == 0, "%s", err.msg);
	}
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s: %s", pol, err.msg);
	fl_engine_stats(e, &r->st);
	for (i = 0; i < fl_engine_nbmaps(e) && i < 700; i++)
		fl_engine_bmap_stats(e, i, &r->bs[r->nbs++]);
	fl_engine_free(e);
	/* every byte goes out (once: the writes of these workloads do not overlap) */
	if (!overlapping)
		ck_assert_uint_eq(r->st.bytes_sent, r->st.bytes_written);
}

/* Frees a run's trace. */
static void
done(struct run *r)
{
	free(r->tr.ev);
	r->tr.ev = NULL;
}

/* When write id was issued (its first RPC); fails if never. */
static uint64_t
issued(const struct run *r, uint64_t id)
{
	size_t k;

	for (k = 0; k < r->tr.n; k++)
		if (r->tr.ev[k].kind == FL_TR_BIORQ_SENT && r->tr.ev[k].id == id)
			return r->tr.ev[k].issue;
	ck_abort_msg("write %" PRIu64 " never issued", id);
	return 0;
}

/* Wake-ups of any thread in [from, to), idle ones accounted in bulk included. */
static uint64_t
wakes_in(const struct run *r, uint64_t from, uint64_t to)
{
	uint64_t n = 0, i;
	size_t k;

	for (k = 0; k < r->tr.n; k++) {
		const struct tu_tev *v = &r->tr.ev[k];

		if (v->kind == FL_TR_WAKE && v->t >= from && v->t < to)
			n++;
		else if (v->kind == FL_TR_IDLE)
			for (i = 0; i < v->count; i++)
				n += v->t + i * v->period >= from && v->t + i * v->period < to;
	}
	return n;
}

/* ----------------------------------------------------------- threads */

static const struct { const char *pol; unsigned threads; } thread_cases[] = {
	{ "legacy", 1 }, { "2010-10", 1 }, { "2011-08", 1 }, { "head", 16 }, { "pendq", 1 },
	{ "deadline", 1 },
};

/* Row "threads": the number of flush threads, and the threads that did run. */
START_TEST(test_threads)
{
	struct in w[400];
	struct run r;
	struct fl_config c;
	unsigned seen[64] = { 0 }, distinct = 0;
	size_t k;
	int i;

	for (i = 0; i < 400; i++)
		w[i] = (struct in){ 'w', (uint64_t)i * 5000, 1, (uint32_t)(i % 4),
		    (uint32_t)(i / 4) * 32768, 32768 };
	fl_config_init(&c, thread_cases[_i].pol);
	ck_assert_uint_eq(c.tun.threads, thread_cases[_i].threads);
	go(thread_cases[_i].pol, w, 400, 20 * MS, NULL, NULL, &r);
	for (k = 0; k < r.tr.n; k++)
		if (r.tr.ev[k].kind == FL_TR_WAKE) {
			ck_assert_uint_lt(r.tr.ev[k].thread, thread_cases[_i].threads);
			if (seen[r.tr.ev[k].thread]++ == 0)
				distinct++;
		}
	if (thread_cases[_i].threads > 1)
		ck_assert_msg(distinct > 8, "%s: only %u threads ever woke", thread_cases[_i].pol,
		    distinct);
	else
		ck_assert_uint_eq(distinct, 1);
	done(&r);
}
END_TEST

/* ------------------------------------------------------------- sleep */

/*
 * Row "sleep": idle between two writes 10 s apart, from 5 s to 9 s the
 * tick policies wake every 2116 us (usleep(2048) + overshoot), 2010-10
 * every 100 ms, 2011-08 every second (W), head and deadline never (the
 * queue is empty: lc_peekheadwait; nothing due).
 */
static const struct { const char *pol; uint64_t lo, hi; } sleep_cases[] = {
	{ "legacy", 1889, 1891 }, { "2010-10", 40, 40 }, { "2011-08", 4, 4 }, { "head", 0, 0 },
	{ "pendq", 1889, 1891 }, { "deadline", 0, 0 },
};

START_TEST(test_sleep)
{
	static const struct in w[] = {
		{ 'w', 0, 1, 0, 0, 4096 }, { 'w', 10000000, 1, 0, 4096, 4096 },
	};
	struct run r;
	uint64_t n;

	go(sleep_cases[_i].pol, w, 2, 2 * MS, NULL, NULL, &r);
	n = wakes_in(&r, 5000 * MS, 9000 * MS);
	ck_assert_msg(n >= sleep_cases[_i].lo && n <= sleep_cases[_i].hi,
	    "%s: %" PRIu64 " wake-ups while idle, want %" PRIu64 "..%" PRIu64, sleep_cases[_i].pol,
	    n, sleep_cases[_i].lo, sleep_cases[_i].hi);
	done(&r);
}
END_TEST

/* ------------------------------------------------------------ wakers */

/* The first wake-up of reason (1 timeout, 2 signal) at or after t; UINT64_MAX if none. */
static uint64_t
first_wake(const struct run *r, uint64_t t, int reason)
{
	size_t k;

	for (k = 0; k < r->tr.n; k++)
		if (r->tr.ev[k].kind == FL_TR_WAKE && r->tr.ev[k].t >= t && r->tr.ev[k].reason == reason)
			return r->tr.ev[k].t;
	return UINT64_MAX;
}

/* Row "wakers", legacy: none; every wake-up is the tick. */
START_TEST(test_wakers_legacy)
{
	static const struct in w[] = {
		{ 'w', 100, 1, 0, 0, 1u << 20 }, { 'w', 3000, 1, 1, 0, 4096 },
		{ 'f', 4000, 1, FL_BMAP_ALL, 0, 0 },
	};
	struct run r;

	go("legacy", w, 3, 5 * MS, NULL, NULL, &r);
	ck_assert_uint_eq(r.st.wake_signal, 0);
	ck_assert_uint_eq(r.st.wake_timeout, r.st.wakeups);
	done(&r);
}
END_TEST

/* Row "wakers", 2010-10: replies below 64 wake it; new writes do not. */
START_TEST(test_wakers_2010_10)
{
	static const struct in w[] = {
		{ 'w', 5000, 1, 0, 0, 32768 }, { 'w', 20000, 1, 0, 65536, 32768 },
		{ 'w', 40000, 1, 1, 0, 32768 },
	};
	struct run r;
	uint64_t done_t = 0;
	size_t k;

	go("2010-10", w, 3, 1 * MS, NULL, NULL, &r);
	ck_assert_uint_eq(wakes_in(&r, 1, 100 * MS), 0);	/* writes at 5, 20, 40 ms: no wake */
	for (k = 0; k < r.tr.n; k++)
		if (r.tr.ev[k].kind == FL_TR_DONE && done_t == 0)
			done_t = r.tr.ev[k].t;
	ck_assert_uint_gt(done_t, 100 * MS);
	/* the reply (fewer than 64 out) wakes the thread: it runs 10 us later */
	ck_assert_uint_eq(first_wake(&r, done_t, 2), done_t + FL_WAKE_LATENCY_NS);
	done(&r);
}
END_TEST

/* Row "wakers", 2011-08: TIMEOA wakes at once (a useless pass), RPCWAIT below 16. */
START_TEST(test_wakers_2011_08)
{
	static const struct in one[] = { { 'w', 5000, 1, 0, 0, 32768 } };
	struct in many[20];
	struct run r;
	uint64_t done_t = 0;
	size_t k;
	int i;

	go("2011-08", one, 1, 1 * MS, NULL, NULL, &r);
	ck_assert_uint_eq(first_wake(&r, 1, 2), 5 * MS + FL_WAKE_LATENCY_NS);
	ck_assert_uint_ge(r.st.wake_useless, 1);
	ck_assert_uint_ge(issued(&r, 0), 15 * MS);
	done(&r);
	/* 20 ready runs, window 16: the pass waits in rpcwait; a reply releases it */
	for (i = 0; i < 20; i++)
		many[i] = (struct in){ 'w', 100, 1, (uint32_t)i, 0, 1u << 20 };
	go("2011-08", many, 20, 3 * MS, NULL, NULL, &r);
	ck_assert_uint_gt(r.st.window_stalls, 0);
	ck_assert_uint_eq(r.st.max_outstanding, 16);
	for (k = 0; k < r.tr.n; k++)
		if (r.tr.ev[k].kind == FL_TR_DONE && done_t == 0)
			done_t = r.tr.ev[k].t;
	ck_assert_uint_eq(first_wake(&r, done_t, 2), done_t + FL_WAKE_LATENCY_NS);
	done(&r);
}
END_TEST

/* Row "wakers", head: a new bmap wakes one empty-queue waiter; TIMEOADD a 2 s waiter. */
START_TEST(test_wakers_head)
{
	static const struct in w[] = {
		{ 'w', 1000, 1, 0, 0, 32768 }, { 'w', 50000, 1, 0, 32768, 32768 },
	};
	struct run r;
	size_t k;
	int n = 0;

	go("head", w, 2, 1 * MS, NULL, NULL, &r);
	for (k = 0; k < r.tr.n; k++)
		if (r.tr.ev[k].kind == FL_TR_WAKE && r.tr.ev[k].t < 40 * MS)
			n++;
	ck_assert_int_eq(n, 1);		/* 16 threads idle, one woken */
	/* the second write finds the bmap queued and a thread in its 2 s wait */
	ck_assert_uint_eq(first_wake(&r, 50 * MS, 2), 50 * MS + FL_WAKE_LATENCY_NS);
	done(&r);
}
END_TEST

/* -------------------------------------------------------------- scan */

/*
 * Row "scan": n bmaps each with a ready 1 MiB run at once; the bmaps the
 * first sending pass sends for: legacy until its budget (window 8) is
 * spent, 2010-10 at most 128 collected, 2011-08 while collected +
 * outstanding < 16, head at most 480 (its window widened so that the
 * pass is not cut short; a 4 KiB write after each 1 MiB one makes that
 * run full).
 */
static const struct {
	const char *pol;
	int nbmaps;
	unsigned window;
	int follower;
	int first;
} scan_cases[] = {
	{ "legacy", 20, 8, 0, 8 }, { "2010-10", 200, 0, 0, 128 }, { "2011-08", 30, 0, 0, 16 },
	{ "head", 600, 100000, 1, 480 },
};

static unsigned scan_window;

/* Sets the window of a scan case. */
static void
scan_tune(struct fl_config *c)
{
	if (scan_window > 0)
		c->tun.window = scan_window;
}

START_TEST(test_scan)
{
	struct in w[1200];
	struct run r;
	size_t k, first = 0;
	int i, exams = 0, n = scan_cases[_i].nbmaps, nw = 0, nsent = 0;
	unsigned th;
	char sent[600] = { 0 };

	for (i = 0; i < n; i++) {
		w[nw++] = (struct in){ 'w', 100, 1, (uint32_t)i, 0, 1u << 20 };
		if (scan_cases[_i].follower)
			w[nw++] = (struct in){ 'w', 100, 1, (uint32_t)i, 1u << 20, 4096 };
	}
	scan_window = scan_cases[_i].window;
	go(scan_cases[_i].pol, w, nw, 50 * MS, scan_tune, NULL, &r);
	/* the pass that sent first: from its PASS to the same thread's next one */
	for (k = 0; k < r.tr.n && r.tr.ev[k].kind != FL_TR_SEND; k++)
		;
	ck_assert_uint_lt(k, r.tr.n);
	th = r.tr.ev[k].thread;
	for (first = k; first > 0 && !(r.tr.ev[first].kind == FL_TR_PASS && r.tr.ev[first].thread == th);
	    first--)
		;
	for (k = first + 1; k < r.tr.n && !(r.tr.ev[k].kind == FL_TR_PASS && r.tr.ev[k].thread == th); k++)
		if (r.tr.ev[k].thread == th) {
			if (r.tr.ev[k].kind == FL_TR_SEND && !sent[r.tr.ev[k].bno]++)
				nsent++;
			exams += r.tr.ev[k].kind == FL_TR_EXAMINE;
		}
	ck_assert_msg(nsent == scan_cases[_i].first, "%s: first pass sent for %d bmaps, want %d",
	    scan_cases[_i].pol, nsent, scan_cases[_i].first);
	if (strcmp(scan_cases[_i].pol, "legacy") == 0)
		ck_assert_int_eq(exams, 8);	/* the rest stay queued, unexamined */
	done(&r);
}
END_TEST

/* ---------------------------------------------------- wasted exams */

/*
 * Row "wasted exams?": a 1 MiB write in flight for 300 ms is examined in
 * vain every legacy pass (2.16 ms), every 2010-10 pass (100 ms ticks), not
 * by 2011-08 (its wait until W outlasts the reply), once by head (the pass
 * after a sending pass), never by pendq and deadline.
 */
static const struct { const char *pol; uint64_t lo, hi; } wasted_cases[] = {
	{ "legacy", 130, 140 }, { "2010-10", 2, 3 }, { "2011-08", 0, 0 }, { "head", 1, 1 },
	{ "pendq", 0, 0 }, { "deadline", 0, 0 },
};

START_TEST(test_wasted)
{
	static const struct in w[] = { { 'w', 1000, 1, 0, 0, 1u << 20 } };
	struct run r;

	go(wasted_cases[_i].pol, w, 1, 300 * MS, NULL, NULL, &r);
	ck_assert_msg(r.st.wasted >= wasted_cases[_i].lo && r.st.wasted <= wasted_cases[_i].hi,
	    "%s: %" PRIu64 " wasted examinations", wasted_cases[_i].pol, r.st.wasted);
	ck_assert_uint_eq(r.st.wasted, r.st.wasted_inflight);
	done(&r);
}
END_TEST

/* --------------------------------------- max age and send trigger */

/*
 * Rows "max age" and "send trigger": a lone write's ready->issue time.
 * 32 KiB at 5 ms: legacy and pendq at the first tick after 1 ms; 2010-10
 * at its 100 ms tick; 2011-08 at its 10 ms max age (the wake it asked
 * for); head only at its 2 s timeout (no timer); deadline at 1 ms.  1 MiB
 * at 1 ms: legacy within one tick; head holds it (full only when the next
 * write would pass 1 MiB) until its timeout.
 */
static const struct { const char *pol; uint64_t at_us; uint32_t len; uint64_t lo, hi; } age_cases[] = {
	{ "legacy", 5000, 32768, 1 * MS, 3400 * US },
	{ "2010-10", 5000, 32768, 1 * MS, 100 * MS },
	{ "2011-08", 5000, 32768, 10 * MS, 10500 * US },
	{ "head", 5000, 32768, 100 * MS, 2100 * MS },
	{ "pendq", 5000, 32768, 1 * MS, 3400 * US },
	{ "deadline", 5000, 32768, 1 * MS, 1010 * US },
	{ "legacy", 1000, 1u << 20, 0, 2200 * US },
	{ "head", 1000, 1u << 20, 100 * MS, 2100 * MS },
	{ "2011-08", 1000, 1u << 20, 0, 200 * US },
	{ "deadline", 1000, 1u << 20, 0, 210 * US },
};

START_TEST(test_age)
{
	struct in w = { 'w', age_cases[_i].at_us, 1, 0, 0, age_cases[_i].len };
	struct run r;
	uint64_t lat;

	go(age_cases[_i].pol, &w, 1, 1 * MS, NULL, NULL, &r);
	lat = issued(&r, 0) - age_cases[_i].at_us * US;
	ck_assert_msg(lat >= age_cases[_i].lo && lat <= age_cases[_i].hi,
	    "%s, %u B: ready->issue %" PRIu64 " us, want %" PRIu64 "..%" PRIu64 " us",
	    age_cases[_i].pol, age_cases[_i].len, lat / US, age_cases[_i].lo / US,
	    age_cases[_i].hi / US);
	done(&r);
}
END_TEST

/* legacy's wall-clock rule: a write is expired once the wall-clock second turns. */
static uint64_t epoch_us;

/* Sets the log epoch (the wall clock of t = 0). */
static void
epoch_tune(struct fl_config *c)
{
	c->log_epoch_s = 1282327206 + epoch_us / 1000000;
	c->log_epoch_us = epoch_us % 1000000;
}

START_TEST(test_legacy_wall_second)
{
	/* 4 KiB at 1.5 ms; the first tick is at 2116 us, when it is 616 us old */
	static const struct in w[] = { { 'w', 1500, 1, 0, 0, 4096 } };
	struct run r;

	/* the second turns at t = 2 ms: expired at the first tick */
	epoch_us = 998000;
	go("legacy", w, 1, 1 * MS, epoch_tune, NULL, &r);
	ck_assert_uint_lt(issued(&r, 0), 2500 * US);
	ck_assert_uint_eq(r.st.rpcs_expired, 1);
	done(&r);
	/* mid-second: young at the first tick, sent at the second */
	epoch_us = 500000;
	go("legacy", w, 1, 1 * MS, epoch_tune, NULL, &r);
	ck_assert_uint_gt(issued(&r, 0), 4 * MS);
	done(&r);
}
END_TEST

/* No modelled pass cost: the 600 lines of a 300-biorq pass would take 8 ms. */
static void
no_line_cost(struct fl_config *c)
{
	c->tun.line_cost_ns = 0;
}

/* legacy: a run is ready at exactly 256 biorqs, before any is 1 ms old. */
START_TEST(test_legacy_256)
{
	struct in w[300];
	struct run r;
	size_t k;
	int i, n256 = 0;

	for (i = 0; i < 300; i++)
		w[i] = (struct in){ 'w', 1800 + (uint64_t)i / 10, 1, 0, (uint32_t)i * 1024, 1024 };
	go("legacy", w, 300, 1 * MS, no_line_cost, NULL, &r);
	for (k = 0; k < r.tr.n; k++)
		if (r.tr.ev[k].kind == FL_TR_SEND && r.tr.ev[k].nbiorqs == 256) {
			n256++;
			ck_assert_uint_lt(r.tr.ev[k].t, 1800 * US + 1 * MS);
		}
	ck_assert_int_eq(n256, 1);
	ck_assert_uint_lt(issued(&r, 0), 2800 * US);
	ck_assert_uint_gt(issued(&r, 299), 2800 * US);	/* the young rest waits */
	done(&r);
}
END_TEST

/* 2011-08: a contiguous stretch goes out whole (sticky `large`); 2010 cuts it at 1 MiB. */
START_TEST(test_sticky_large)
{
	static const struct in w[] = {
		{ 'w', 100, 1, 0, 0, 1u << 20 }, { 'w', 100, 1, 0, 1u << 20, 1u << 20 },
		{ 'w', 100, 1, 0, 2u << 20, 1u << 20 },
	};
	struct run r;
	size_t k;

	go("2011-08", w, 3, 1 * MS, NULL, NULL, &r);
	for (k = 0; k < r.tr.n; k++)
		if (r.tr.ev[k].kind == FL_TR_SEND)
			ck_assert_uint_eq(r.tr.ev[k].nbiorqs, 3);
	ck_assert_uint_eq(r.st.rpcs, 3);
	done(&r);
	go("legacy", w, 3, 1 * MS, NULL, NULL, &r);
	for (k = 0; k < r.tr.n; k++)
		if (r.tr.ev[k].kind == FL_TR_SEND)
			ck_assert_uint_eq(r.tr.ev[k].nbiorqs, 1);
	done(&r);
}
END_TEST

/* head: a 1 MiB run goes at once when the next contiguous write would pass 1 MiB. */
START_TEST(test_head_next_overflows)
{
	static const struct in w[] = {
		{ 'w', 1000, 1, 0, 0, 1u << 20 }, { 'w', 1000, 1, 0, 1u << 20, 4096 },
	};
	struct run r;

	go("head", w, 2, 1 * MS, NULL, NULL, &r);
	ck_assert_uint_lt(issued(&r, 0), 1200 * US);
	ck_assert_uint_gt(issued(&r, 1), 100 * MS);	/* the young 4 KiB waits */
	done(&r);
}
END_TEST

/* legacy: expiry is decided before contiguity: an expired biorq after a gap sends the young run before it. */
START_TEST(test_legacy_expiry_first)
{
	static const struct in w[] = {
		{ 'w', 0, 1, 0, 65536, 4096 },		/* old, after the gap */
		{ 'w', 2000, 1, 0, 0, 4096 },		/* young, before it */
	};
	struct run r;

	go("legacy", w, 2, 1 * MS, NULL, NULL, &r);
	/* both at the first tick (2116 us), the young one 0.1 ms old */
	ck_assert_uint_lt(issued(&r, 1), 2500 * US);
	ck_assert_uint_lt(issued(&r, 0), 2500 * US);
	ck_assert_uint_lt(issued(&r, 1), issued(&r, 0));
	done(&r);
}
END_TEST

/* legacy, 2010-10, pendq: no hold-back: a write overlapping one in flight flies with it. */
START_TEST(test_no_holdback)
{
	static const char *const pols[] = { "legacy", "2010-10", "pendq" };
	/* the second write comes once the first is in flight (2010-10 sends on its 100 ms tick) */
	uint64_t at = _i == 1 ? 150000 : 3000;
	struct in w[] = {
		{ 'w', 0, 1, 0, 0, 65536 }, { 'w', at, 1, 0, 4096, 65536 },
	};
	struct run r;

	overlapping = 1;
	go(pols[_i], w, 2, 300 * MS, NULL, NULL, &r);
	overlapping = 0;
	ck_assert_uint_gt(issued(&r, 1), issued(&r, 0));
	ck_assert_uint_lt(issued(&r, 1), issued(&r, 0) + 300 * MS);
	ck_assert_uint_eq(r.st.max_outstanding, 2);
	ck_assert_uint_eq(r.st.bytes_sent, r.st.bytes_written);
	done(&r);
}
END_TEST

/* ------------------------------------------------------------ window */

/* legacy's window is soft: a bmap sends all its ready runs; the bmaps left stay queued, unexamined, unlogged. */
static void
win4(struct fl_config *c)
{
	c->tun.window = 4;
}

START_TEST(test_legacy_soft_window)
{
	struct in w[18];
	struct run r;
	char *buf = NULL, *p;
	size_t len = 0;
	int i, tries = 0;
	FILE *log = open_memstream(&buf, &len);

	/* 6 bmaps with 3 separate 1 MiB runs each, all ready at once */
	for (i = 0; i < 18; i++)
		w[i] = (struct in){ 'w', 100, 1, (uint32_t)(i / 3), (uint32_t)(i % 3) * (2u << 20),
		    1u << 20 };
	go("legacy", w, 18, 50 * MS, win4, log, &r);
	fclose(log);
	ck_assert_uint_eq(r.st.max_outstanding, 6);	/* 3 + 3: budget 4 is spent in the second */
	/*
	 * `try flush (outstandingRpcCnt=N)` in order: the first pass examines
	 * two bmaps (0, then 3 out); the others are not examined nor logged
	 * until replies let a pass run again (0 out).
	 */
	for (p = buf; tries < 3 && (p = strstr(p, "bmap_flush:639]")) != NULL; p++) {
		unsigned n;
		char *q = strstr(p, "try flush (outstandingRpcCnt=");

		ck_assert_ptr_nonnull(q);
		ck_assert_int_eq(sscanf(q, "try flush (outstandingRpcCnt=%u)", &n), 1);
		ck_assert_uint_eq(n, tries == 1 ? 3 : 0);
		tries++;
	}
	ck_assert_int_eq(tries, 3);
	for (i = 0, p = buf; (p = strstr(p, "bmap_flush:639]")) != NULL && i < 3; p++)
		i++;
	free(buf);
	done(&r);
}
END_TEST

/* 2011-08 blocks at 16 (rpcwait); head at 480 per I/O server, credits counted. */
static void
head_ios(struct fl_config *c)
{
	c->tun.ios = 2;
	c->tun.window = 4;
}

START_TEST(test_window_blocks)
{
	struct in w[40];
	struct run r;
	unsigned infl[2] = { 0, 0 }, mx[2] = { 0, 0 };
	size_t k, j;
	int i;

	for (i = 0; i < 40; i++)
		w[i] = (struct in){ 'w', 100, 1, (uint32_t)i, 0, 1u << 20 };
	go("2011-08", w, 40, 5 * MS, NULL, NULL, &r);
	ck_assert_uint_eq(r.st.max_outstanding, 16);
	ck_assert_uint_gt(r.st.window_stalls, 0);
	done(&r);
	go("head", w, 40, 5 * MS, head_ios, NULL, &r);
	for (k = 0; k < r.tr.n; k++) {
		const struct tu_tev *v = &r.tr.ev[k];
		unsigned ios = 9;

		if (v->kind != FL_TR_SEND && v->kind != FL_TR_DONE)
			continue;
		for (j = 0; j < r.nbs; j++)
			if (r.bs[j].fid == v->fid && r.bs[j].bno == v->bno)
				ios = r.bs[j].ios;
		ck_assert_uint_lt(ios, 2);
		if (v->kind == FL_TR_SEND && ++infl[ios] > mx[ios])
			mx[ios] = infl[ios];
		else if (v->kind == FL_TR_DONE)
			infl[ios]--;
	}
	ck_assert_uint_eq(mx[0], 4);
	ck_assert_uint_eq(mx[1], 4);
	ck_assert_uint_eq(r.st.max_outstanding, 8);
	ck_assert_uint_gt(r.st.window_stalls, 0);
	done(&r);
}
END_TEST

/* -------------------------------------------------- completion wake */

/*
 * Row "completion wake": after the last input, replies wake 2010-10 (fewer
 * than 64 out); legacy, head and deadline (window never full) never; 2011-08
 * only a thread in rpcwait (not here: 2 RPCs out).
 */
static const struct { const char *pol; int wakes; } cwake_cases[] = {
	{ "legacy", 0 }, { "2010-10", 1 }, { "2011-08", 0 }, { "head", 0 }, { "pendq", 0 },
	{ "deadline", 0 },
};

START_TEST(test_completion_wake)
{
	static const struct in w[] = {
		{ 'w', 100, 1, 0, 0, 1u << 20 }, { 'w', 100, 1, 1, 0, 1u << 20 },
	};
	struct run r;
	size_t k, j;
	int woke = 0;

	go(cwake_cases[_i].pol, w, 2, 30 * MS, NULL, NULL, &r);
	for (k = 0; k < r.tr.n; k++)
		if (r.tr.ev[k].kind == FL_TR_DONE)
			for (j = 0; j < r.tr.n; j++)
				if (r.tr.ev[j].kind == FL_TR_WAKE && r.tr.ev[j].reason == 2 &&
				    r.tr.ev[j].t == r.tr.ev[k].t + FL_WAKE_LATENCY_NS)
					woke = 1;
	ck_assert_msg(woke == cwake_cases[_i].wakes, "%s: a reply %s a flush thread",
	    cwake_cases[_i].pol, woke ? "woke" : "did not wake");
	done(&r);
}
END_TEST

/* ------------------------------------------------------ forced flush */

/*
 * Row "forced flush": a young 4 KiB write (max age 500 ms) and an fsync at
 * 10 ms.  legacy and pendq flag it and the next tick sends it; 2010-10 is
 * woken; 2011-08's EXPIRE has no effect (it waits for W, as coded; with
 * expire_rewait 0 it goes at once); head flags it and wakes its threads.
 */
static const struct { const char *pol; int rewait; uint64_t lo, hi; } force_cases[] = {
	{ "legacy", 1, 10 * MS, 12300 * US }, { "2010-10", 1, 10 * MS, 10300 * US },
	{ "2011-08", 1, 499 * MS, 501 * MS }, { "2011-08", 0, 10 * MS, 10300 * US },
	{ "head", 1, 10 * MS, 10300 * US }, { "pendq", 1, 10 * MS, 12300 * US },
	{ "deadline", 1, 10 * MS, 10100 * US },
};

static int force_rewait;

/* A long max age, and 2011-08's EXPIRE re-wait per case. */
static void
force_tune(struct fl_config *c)
{
	c->tun.max_age_ns = 500 * MS;
	c->tun.batch_ns = 0;
	c->tun.expire_rewait = force_rewait;
}

START_TEST(test_forced)
{
	static const struct in w[] = {
		{ 'w', 0, 1, 0, 0, 4096 }, { 'f', 10000, 1, FL_BMAP_ALL, 0, 0 },
	};
	struct run r;
	uint64_t t;

	force_rewait = force_cases[_i].rewait;
	go(force_cases[_i].pol, w, 2, 1 * MS, force_tune, NULL, &r);
	t = issued(&r, 0);
	ck_assert_msg(t >= force_cases[_i].lo && t <= force_cases[_i].hi,
	    "%s: forced write issued at %" PRIu64 " us", force_cases[_i].pol, t / US);
	ck_assert_uint_eq(r.st.rpcs_forced, 1);
	if (strcmp(force_cases[_i].pol, "legacy") == 0)
		ck_assert_uint_eq(r.st.wake_signal, 0);	/* no wake */
	done(&r);
}
END_TEST

/* ------------------------------------------------ budgets, the seed */

/* The declared latency budgets (issue 14 computes a lower bound on wake-ups from them). */
static const struct { const char *pol; uint64_t max_age, full; int second; } budget_cases[] = {
	{ "legacy", 1 * MS, 0, 1 }, { "2010-10", 1 * MS, 0, 0 }, { "2011-08", 10 * MS, 0, 0 },
	{ "head", 10 * MS, 0, 0 }, { "pendq", 1 * MS, 0, 1 },
	{ "deadline", 1 * MS, FL_DEADLINE_BATCH_NS, 0 },
};

START_TEST(test_budget)
{
	struct fl_config c;
	struct fl_budget b;

	ck_assert_int_eq(fl_config_init(&c, budget_cases[_i].pol), 0);
	fl_config_budget(&c, &b);
	ck_assert_uint_eq(b.max_age_ns, budget_cases[_i].max_age);
	ck_assert_uint_eq(b.full_ns, budget_cases[_i].full);
	ck_assert_int_eq(b.wall_second, budget_cases[_i].second);
	/* it follows the tunables */
	c.tun.max_age_ns = 3 * MS;
	fl_config_budget(&c, &b);
	ck_assert_uint_eq(b.max_age_ns, 3 * MS);
}
END_TEST

/*
 * The seed excerpt on the virtual clock without calibration: legacy's pass
 * period is the seed's 2159 us (+-1 %): usleep(2048) overshooting by 68 us
 * and 14 us for each of the pass's lines after the first.
 */
START_TEST(test_seed_period)
{
	struct wl_workload w;
	struct rp_options o;
	struct rp_result r;
	struct fs_err err;

	ck_assert_msg(wl_load(&w, tu_testdata("seed-excerpt.log"), NULL, &err) == 0, "%s",
	    err.msg);
	rp_options_default(&o);
	o.calibrate = 0;
	ck_assert_msg(rp_run(&w, "legacy", &o, &r, &err) == 0, "%s", err.msg);
	ck_assert(!r.calibrated);
	ck_assert_msg(r.pass_period_us >= 2138 && r.pass_period_us <= 2180,
	    "pass period %" PRId64 " us", r.pass_period_us);
	ck_assert_uint_eq(r.st.wasted, 6);	/* two bmaps spin three passes */
	rp_result_free(&r);
	wl_free(&w);
}
END_TEST

/*
 * The same lone writes through replay, as a hand-written workload (no era:
 * no logging cost): legacy sends 1 MiB within one tick of 2159 us, head
 * holds it at least 100 ms; 2010-10 sends 32 KiB at its 100 ms tick,
 * 2011-08 at its 10 ms max age; written at t = 0 or later.
 */
static const struct {
	const char *pol;
	const char *text;
	uint64_t lo_us, hi_us;
} replay_lone[] = {
	{ "legacy", "0 write 1:0 0 1048576\n", 0, 2159 },
	{ "legacy", "1000 write 1:0 0 1048576\n", 0, 2159 },
	{ "head", "0 write 1:0 0 1048576\n", 100000, 2000100 },
	{ "2010-10", "0 write 1:0 0 32768\n", 1000, 100000 },
	{ "2010-10", "7000 write 1:0 0 32768\n", 1000, 100000 },
	{ "2011-08", "0 write 1:0 0 32768\n", 10000, 10000 },
	{ "2011-08", "3000 write 1:0 0 32768\n", 10000, 10000 },
};

START_TEST(test_replay_lone)
{
	char text[128];
	struct wl_workload w;
	struct rp_options o;
	struct rp_result r;
	struct fs_err err;
	FILE *f;

	snprintf(text, sizeof(text), "flushscope-workload 1\n%s", replay_lone[_i].text);
	ck_assert_ptr_nonnull(f = fmemopen(text, strlen(text), "r"));
	ck_assert_msg(wl_read(&w, f, "lone.wl", &err) == 0, "%s", err.msg);
	fclose(f);
	rp_options_default(&o);
	ck_assert_msg(rp_run(&w, replay_lone[_i].pol, &o, &r, &err) == 0, "%s", err.msg);
	ck_assert_msg(r.st.ready_issue.max >= replay_lone[_i].lo_us * US &&
	    r.st.ready_issue.max <= replay_lone[_i].hi_us * US,
	    "%s %s: ready->issue %" PRIu64 " us", replay_lone[_i].pol, replay_lone[_i].text,
	    r.st.ready_issue.max / US);
	rp_result_free(&r);
	wl_free(&w);
}
END_TEST

/* --------------------------------------------------------- real clock */

/*
 * The historical policies on the real clock with real threads: head's 16
 * blocking for credits of two I/O servers, 2011-08 in rpcwait, 2010-10
 * woken by replies.  Everything is sent; hard windows hold.
 */
static const char *const real_pols[] = { "2010-10", "2011-08", "head" };

START_TEST(test_real_threads)
{
	struct fl_config c;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_stats st;
	int i;

	ck_assert_int_eq(fl_config_init(&c, real_pols[_i]), 0);
	c.clock = FL_CLOCK_REAL;
	c.transport.kind = FL_LAT_UNIFORM;
	c.transport.a_ns = 1 * MS;
	c.transport.b_ns = 3 * MS;
	c.tun.window = 3;
	c.tun.wake_below = 3;
	c.tun.ios = 2;
	c.tun.max_age_ns = 2 * MS;
	c.tun.safety_timeout_ns = 20 * MS;
	ck_assert_ptr_nonnull(e = fl_engine_new(&c, &err));
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(fl_engine_write(e, (uint64_t)i * 200 * US, 3, (uint32_t)(i % 7),
		    (uint32_t)(i / 7) * 65536, 65536, FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_int_eq(fl_engine_force(e, 45 * MS, 3, FL_BMAP_ALL, &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	ck_assert_uint_eq(st.bytes_sent, 200 * 65536);
	if (strcmp(real_pols[_i], "head") == 0)
		ck_assert_uint_le(st.max_outstanding, 6);	/* 3 per I/O server */
	ck_assert_uint_gt(st.flush_cpu_ns, 0);
	fl_engine_free(e);
}
END_TEST

/* The suite. */
Suite *
policies_suite(void)
{
	Suite *s = suite_create("policies");
	TCase *tr = tcase_create("rows");
	TCase *tc = tcase_create("cases");
	TCase *tt = tcase_create("real");

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
	tcase_add_loop_test(tr, test_threads, 0, N(thread_cases));
	tcase_add_loop_test(tr, test_sleep, 0, N(sleep_cases));
	tcase_add_test(tr, test_wakers_legacy);
	tcase_add_test(tr, test_wakers_2010_10);
	tcase_add_test(tr, test_wakers_2011_08);
	tcase_add_test(tr, test_wakers_head);
	tcase_add_loop_test(tr, test_scan, 0, N(scan_cases));
	tcase_add_loop_test(tr, test_wasted, 0, N(wasted_cases));
	tcase_add_loop_test(tr, test_age, 0, N(age_cases));
	tcase_add_test(tr, test_sticky_large);
	tcase_add_test(tr, test_head_next_overflows);
	tcase_add_test(tr, test_legacy_soft_window);
	tcase_add_test(tr, test_window_blocks);
	tcase_add_loop_test(tr, test_completion_wake, 0, N(cwake_cases));
	tcase_add_loop_test(tr, test_forced, 0, N(force_cases));
	suite_add_tcase(s, tr);
	tcase_add_test(tc, test_legacy_wall_second);
	tcase_add_test(tc, test_legacy_256);
	tcase_add_test(tc, test_legacy_expiry_first);
	tcase_add_loop_test(tc, test_no_holdback, 0, 3);
	tcase_add_loop_test(tc, test_budget, 0, N(budget_cases));
	tcase_add_test(tc, test_seed_period);
	tcase_add_loop_test(tc, test_replay_lone, 0, N(replay_lone));
	suite_add_tcase(s, tc);
	tcase_add_loop_test(tt, test_real_threads, 0, N(real_pols));
	tcase_set_timeout(tt, 60);
	suite_add_tcase(s, tt);
#undef N
	return s;
}
