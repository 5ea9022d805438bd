/*
 * The limit (libflush/bound.c): each write's deadline, table by table; the
 * greedy count against a brute force over every subset of instants on
 * small random workloads; and no policy below the bound for the latency it
 * achieved, on every bundled trace.
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

Suite *bound_suite(void);

#define US 1000ull
#define MS 1000000ull
#define K 1024u
#define M (1024u * 1024u)
#define ALL FL_BMAP_ALL

/* A budget: max age, full-run window, no wall second, 1 MiB runs. */
static struct fl_budget
budget(uint64_t max_age, uint64_t full)
{
	struct fl_budget b;

	memset(&b, 0, sizeof(b));
	b.max_age_ns = max_age;
	b.full_ns = full;
	b.full_size = M;
	return b;
}

/*
 * Deadlines, one case per table row: up to 6 inputs (len 0: a forced flush
 * of bno, ALL for the file) and the deadline each write must get.
 */
struct dl_case {
	const char *name;
	struct fl_bound_in in[6];
	size_t n;
	uint64_t want[6];		/* FL_TIME_NEVER for a forced flush */
	uint64_t epoch_ns;		/* nonzero: wall-second cap on, this epoch */
};

#define W(t, b, o, l) { (t), 1, (b), (o), (l) }
#define F(t, b) { (t), 1, (b), 0, 0 }
#define NV FL_TIME_NEVER
static const struct dl_case dl_cases[] = {
	{ "lone small write: max age", { W(5 * US, 0, 0, 32 * K) }, 1, { 5 * US + MS }, 0 },
	{ "a full write alone: the full-run window", { W(5 * US, 0, 0, M) }, 1,
	    { 5 * US + 200 * US }, 0 },
	{ "two halves: the second completes the run",
	    { W(0, 0, 0, 512 * K), W(100 * US, 0, 512 * K, 512 * K) }, 2,
	    { MS, 300 * US }, 0 },
	{ "the first half expired before the second: no full run",
	    { W(0, 0, 0, 512 * K), W(MS + 1, 0, 512 * K, 512 * K) }, 2,
	    { MS, 2 * MS + 1 }, 0 },
	{ "ready exactly at the first one's deadline still joins",
	    { W(0, 0, 0, 512 * K), W(MS, 0, 512 * K, 512 * K) }, 2, { MS, MS + 200 * US }, 0 },
	{ "an overlap joins: 768K and 512K..1M make 1M",
	    { W(0, 0, 0, 768 * K), W(50 * US, 0, 512 * K, 512 * K) }, 2,
	    { MS, 250 * US }, 0 },
	{ "a run after it joins: second half first",
	    { W(0, 0, 512 * K, 512 * K), W(10 * US, 0, 0, 512 * K) }, 2,
	    { MS, 210 * US }, 0 },
	{ "a hole: no run", { W(0, 0, 0, 512 * K), W(10 * US, 0, 768 * K, 512 * K) }, 2,
	    { MS, 10 * US + MS }, 0 },
	{ "other bmap: no run", { W(0, 0, 0, 512 * K), W(10 * US, 1, 512 * K, 512 * K) }, 2,
	    { MS, 10 * US + MS }, 0 },
	{ "a full run closes: the next half starts a new one",
	    { W(0, 0, 0, 512 * K), W(10 * US, 0, 512 * K, 512 * K),
	      W(20 * US, 0, M, 512 * K) }, 3,
	    { MS, 210 * US, 20 * US + MS }, 0 },
	{ "a write bridging two runs: 256K + 512K + 256K",
	    { W(0, 0, 0, 256 * K), W(10 * US, 0, 768 * K, 256 * K),
	      W(20 * US, 0, 256 * K, 512 * K) }, 3,
	    { MS, 10 * US + MS, 220 * US }, 0 },
	{ "three quarters: the run passes 1M, still one run",
	    { W(0, 0, 0, 768 * K), W(10 * US, 0, 768 * K, 768 * K) }, 2,
	    { MS, 210 * US }, 0 },
	{ "forced flush of its bmap: due then",
	    { W(0, 0, 0, 32 * K), F(400 * US, 0) }, 2, { 400 * US, NV }, 0 },
	{ "forced flush of the file", { W(0, 3, 0, 32 * K), F(400 * US, ALL) }, 2,
	    { 400 * US, NV }, 0 },
	{ "forced flush of another bmap: nothing",
	    { W(0, 0, 0, 32 * K), F(400 * US, 1) }, 2, { MS, NV }, 0 },
	{ "forced flush before the write: nothing",
	    { F(0, 0), W(0, 0, 0, 32 * K) }, 2, { NV, MS }, 0 },
	{ "forced flush after its deadline: nothing",
	    { W(0, 0, 0, 32 * K), F(2 * MS, 0) }, 2, { MS, NV }, 0 },
	{ "forced flush sends the open run: the second half is alone",
	    { W(0, 0, 0, 512 * K), F(50 * US, 0), W(100 * US, 0, 512 * K, 512 * K) }, 3,
	    { 50 * US, NV, 100 * US + MS }, 0 },
	{ "wall second: 300 us before a whole second",
	    { W(0, 0, 0, 32 * K) }, 1, { 300 * US }, 999700 * US },
	{ "wall second farther than max age", { W(0, 0, 0, 32 * K) }, 1, { MS },
	    500 * MS },
};
#undef W
#undef F

START_TEST(test_deadlines)
{
	const struct dl_case *c = &dl_cases[_i];
	struct fl_budget b = budget(MS, 200 * US);
	uint64_t dl[6];
	struct fs_err err;
	size_t i;

	if (c->epoch_ns != 0) {
		b.wall_second = 1;
		b.epoch_ns = c->epoch_ns;
	}
	ck_assert_int_eq(fl_bound_deadlines(c->in, c->n, &b, dl, &err), 0);
	for (i = 0; i < c->n; i++)
		ck_assert_msg(dl[i] == c->want[i], "%s: input %zu: deadline %" PRIu64
		    " ns, want %" PRIu64, c->name, i, dl[i], c->want[i]);
}
END_TEST

/* A small deterministic generator (xorshift). */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* True if the instants of mask (bit t: instant t) stab every [lo, hi]. */
static int
stabs(uint32_t mask, const uint64_t *lo, const uint64_t *hi, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t t;
		int hit = 0;

		if (lo[i] > hi[i])
			continue;
		for (t = lo[i]; t <= hi[i] && !hit; t++)
			hit = (mask >> t) & 1;
		if (!hit)
			return 0;
	}
	return 1;
}

/*
 * The fewest instants of 0..T stabbing every interval: every subset of
 * k instants, k = 0, 1, ... (Gosper's next mask of the same popcount).
 */
static uint64_t
brute(const uint64_t *lo, const uint64_t *hi, size_t n, unsigned T)
{
	uint32_t k, mask, end = 1u << (T + 1);

	for (k = 0; k <= T + 1; k++)
		for (mask = (1u << k) - 1; mask < end; ) {
			uint32_t c, r;

			if (stabs(mask, lo, hi, n))
				return k;
			if (mask == 0)
				break;
			c = mask & -mask;
			r = mask + c;
			mask = (((r ^ mask) >> 2) / c) | r;
		}
	ck_abort_msg("no stabbing set");
	return 0;
}

/*
 * Small random workloads (times and budgets of a few ns, runs of 4 units):
 * the greedy count equals the brute force over every subset of the
 * instants 0..T, for the budget and for a random realised schedule.
 */
START_TEST(test_brute_force)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)(_i + 1) * 0x2545f4914f6cdd1dull;
	struct fl_bound_in in[7];
	uint64_t dl[7], lo[7], hi[7], issue[7], start[7];
	struct fl_budget b;
	struct fl_bound res;
	struct fs_err err;
	size_t n, i;
	unsigned T = 0;

	rnd(&seed);
	n = 1 + rnd(&seed) % 7;
	b = budget(1 + rnd(&seed) % 5, 0);
	b.full_ns = rnd(&seed) % (b.max_age_ns + 1);
	b.full_size = 4;
	for (i = 0; i < n; i++) {
		in[i].t_ns = rnd(&seed) % 8;
		in[i].fid = 1 + rnd(&seed) % 2;
		in[i].bno = (uint32_t)(rnd(&seed) % 2);
		in[i].off = (uint32_t)(rnd(&seed) % 6);
		in[i].len = (uint32_t)(rnd(&seed) % 5);	/* 0: a forced flush */
		if (in[i].len == 0 && rnd(&seed) % 2)
			in[i].bno = FL_BMAP_ALL;
	}
	ck_assert_int_eq(fl_bound_deadlines(in, n, &b, dl, &err), 0);
	for (i = 0; i < n; i++) {
		lo[i] = in[i].len > 0 ? in[i].t_ns : 1;
		hi[i] = in[i].len > 0 ? dl[i] : 0;
		if (in[i].len > 0) {
			ck_assert_uint_ge(dl[i], in[i].t_ns);
			ck_assert_uint_le(dl[i], in[i].t_ns + b.max_age_ns);
		}
		/*
		 * a realised schedule: issued at most 6 late, from a run begun up
		 * to 2 before, or (1 in 8) by a thread's first run, no wake-up
		 */
		issue[i] = in[i].t_ns + rnd(&seed) % (b.max_age_ns + 7);
		start[i] = issue[i] >= 2 ? issue[i] - rnd(&seed) % 3 : issue[i];
		if (rnd(&seed) % 8 == 0)
			start[i] = FL_BOUND_NO_WAKE;
		if (hi[i] > T)
			T = (unsigned)hi[i];
		if (issue[i] > T)
			T = (unsigned)issue[i];
	}
	ck_assert_int_eq(fl_wakeups_min(in, n, &b, NULL, NULL, &res, &err), 0);
	ck_assert_uint_eq(res.wakeups_min, brute(lo, hi, n, T));
	ck_assert_uint_eq(res.wakeups_min_realised, res.wakeups_min);
	ck_assert_int_eq(fl_wakeups_min(in, n, &b, issue, start, &res, &err), 0);
	for (i = 0; i < n; i++) {
		if (in[i].len == 0)
			continue;
		if (issue[i] > hi[i])
			hi[i] = issue[i];
		if (start[i] == FL_BOUND_NO_WAKE) {
			lo[i] = 1;	/* needs no point */
			hi[i] = 0;
		} else if (start[i] < lo[i])
			lo[i] = start[i];
	}
	ck_assert_uint_eq(res.wakeups_min_realised, brute(lo, hi, n, T));
	ck_assert_uint_le(res.wakeups_min_realised, res.wakeups_min);
}
END_TEST

/* fl_stab_min alone on random intervals, empty ones (lo > hi) ignored. */
START_TEST(test_stab_random)
{
	uint64_t seed = 0xdeadbeefcafef00dull + (uint64_t)_i * 0x9e3779b97f4a7c15ull;
	uint64_t lo[10], hi[10], c;
	struct fs_err err;
	size_t n, i;

	rnd(&seed);
	n = rnd(&seed) % 11;
	for (i = 0; i < n; i++) {
		lo[i] = rnd(&seed) % 16;
		hi[i] = rnd(&seed) % 16;
		if (hi[i] < lo[i] && rnd(&seed) % 4)
			hi[i] = lo[i] + rnd(&seed) % (16 - lo[i]);
	}
	ck_assert_int_eq(fl_stab_min(lo, hi, n, &c, &err), 0);
	ck_assert_uint_eq(c, brute(lo, hi, n, 15));
}
END_TEST

/* The greedy on a long input: linear-sized answers, the known count. */
START_TEST(test_stab_long)
{
	size_t n = 200000, i;
	struct fl_bound_in *in = calloc(n, sizeof(*in));
	struct fl_budget b = budget(MS, 200 * US);
	struct fl_bound res;
	struct fs_err err;

	ck_assert_ptr_nonnull(in);
	/* a small write every 100 us on 8 bmaps: every point stabs 10 writes */
	for (i = 0; i < n; i++) {
		in[i].t_ns = (uint64_t)i * 100 * US;
		in[i].fid = 7;
		in[i].bno = (uint32_t)(i % 8);
		in[i].off = (uint32_t)(i / 8) * 4096 % (64 * M);
		in[i].len = 4096;
	}
	ck_assert_int_eq(fl_wakeups_min(in, n, &b, NULL, NULL, &res, &err), 0);
	/* points at 1 ms, 2.1 ms, 3.2 ms, ...: each covers 11 ready times */
	ck_assert_uint_eq(res.wakeups_min, (n + 10) / 11);
	free(in);
}
END_TEST

/*
 * deadline is the limit's greedy: on workloads with no overlap, a window
 * that never fills and no forced flush, its wake-ups equal the bound for
 * its budget (isolated writes, full 1 MiB writes, regular streams), or
 * stay within 10 % of it (jittered streams among isolated writes, where
 * a stream held to fill up may stop short).
 */
struct greedy_case {
	const char *name;
	int kind;		/* 0 isolated, 1 full writes, 2 streams, 3 jittered mix */
	double slack;		/* wake-ups <= bound * slack */
};

static const struct greedy_case greedy_cases[] = {
	{ "isolated small writes", 0, 1.0 }, { "full 1 MiB writes", 1, 1.0 },
	{ "regular streams", 2, 1.0 }, { "jittered streams and isolated writes", 3, 1.10 },
};

START_TEST(test_deadline_is_greedy)
{
	const struct greedy_case *gc = &greedy_cases[_i / 4];
	uint64_t seed = 0x51ed270b1ull * (uint64_t)(_i + 3), t = 0;
	uint32_t next_off[8] = { 0 };
	struct fl_bound_in *in = calloc(4000, sizeof(*in));
	struct fl_config c;
	struct fl_engine *e;
	struct fl_budget b;
	struct fl_bound res;
	struct fl_stats st;
	struct fs_err err;
	size_t n = 0;

	ck_assert_ptr_nonnull(in);
	ck_assert_int_eq(fl_config_init(&c, "deadline"), 0);
	c.transport.kind = FL_LAT_FIXED;
	c.transport.fixed_ns = 100 * US;
	e = fl_engine_new(&c, &err);
	ck_assert_ptr_nonnull(e);
	rnd(&seed);
	while (n < 3900) {
		uint32_t bno = (uint32_t)(rnd(&seed) % 8), len = 4096u << (rnd(&seed) % 4);
		int k, burst = 1, stream = gc->kind == 2 || (gc->kind == 3 && rnd(&seed) % 3 == 0);
		uint64_t gap = 40 * US;

		t += 1 + rnd(&seed) % (gc->kind == 1 ? 400 * US : 700 * US);
		if (gc->kind == 1)
			len = M;
		if (stream) {
			burst = 16;
			len = 64 * K;
			next_off[bno] = (next_off[bno] + M - 1) / M * M;	/* a fresh run */
		}
		for (k = 0; k < burst; k++) {
			uint64_t at = t + (uint64_t)k * gap;

			if (gc->kind == 3 && stream)
				at += rnd(&seed) % (10 * US);
			if (next_off[bno] + len > 64 * M)
				next_off[bno] = 0;
			in[n].t_ns = at;
			in[n].fid = 9;
			in[n].bno = bno;
			in[n].off = next_off[bno];
			in[n].len = len;
			/* isolated writes leave a hole: nothing joins them */
			next_off[bno] += len + (stream || gc->kind == 1 ? 0 : 4096);
			ck_assert_int_eq(fl_engine_write(e, at, 9, bno, in[n].off, len,
			    FL_READY_AT_ARRIVAL, &err), 0);
			n++;
		}
		if (stream)
			t += (uint64_t)burst * gap;
	}
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	fl_config_budget(&c, &b);
	ck_assert_int_eq(fl_wakeups_min(in, n, &b, NULL, NULL, &res, &err), 0);
	ck_assert_uint_eq(st.late_writes, 0);
	ck_assert_uint_eq(st.wasted, 0);
	ck_assert_msg((double)st.wakeups <= (double)res.wakeups_min * gc->slack &&
	    st.wakeups >= res.wakeups_min, "%s: %" PRIu64 " wake-ups, bound %" PRIu64, gc->name,
	    st.wakeups, res.wakeups_min);
	fl_engine_free(e);
	free(in);
}
END_TEST

/* The bundled traces and the policies for the realised-latency test. */
static const char *const traces[] = {
	"sample.log", "seed-excerpt.log", "synth/seedlike-A.log", "synth/seedlike-Z.log",
};
static const char *const pols[] = { "legacy", "2010-10", "2011-08", "head", "pendq", "deadline" };
#define NPOLS ((int)(sizeof(pols) / sizeof(pols[0])))

/*
 * No policy wakes fewer times than the bound for the latency it achieved:
 * the bound of the schedule it realised (rp_result.wakeups_min), and the
 * bound for one uniform budget, its worst ready->issue latency plus the
 * longest time from a wake-up to an issue it made (a wake-up at s issues
 * writes ready by s within that time; an interval [ready - lag, ready +
 * worst] holds s, and shifting every interval by lag changes nothing).
 */
START_TEST(test_policies_above_bound)
{
	const char *trace = traces[_i / NPOLS], *pol = pols[_i % NPOLS];
	struct wl_workload w;
	struct wl_extract_opts xo;
	struct rp_options o;
	struct rp_result r;
	struct fs_err err;
	struct fl_bound_in *in;
	struct fl_budget b;
	struct fl_bound res;
	size_t i, n = 0;

	wl_extract_opts_default(&xo);
	ck_assert_msg(wl_load(&w, tu_testdata(trace), &xo, &err) == 0, "%s", err.msg);
	rp_options_default(&o);
	ck_assert_msg(rp_run(&w, pol, &o, &r, &err) == 0, "%s", err.msg);
	ck_assert_msg(r.wakeups_min <= r.st.wakeups, "%s %s: %" PRIu64 " wake-ups, bound %"
	    PRIu64, trace, pol, r.st.wakeups, r.wakeups_min);
	ck_assert_uint_le(r.wakeups_min, r.wakeups_min_budget);
	ck_assert(r.efficiency > 0 && r.efficiency <= 1.0);
	ck_assert_uint_gt(r.wakeups_min_default, 0);
	in = calloc(w.n ? w.n : 1, sizeof(*in));
	ck_assert_ptr_nonnull(in);
	for (i = 0; i < w.n; i++)
		if (w.ev[i].kind == WL_WRITE) {
			in[n].t_ns = (uint64_t)w.ev[i].t_us * 1000;
			in[n].fid = w.ev[i].fid;
			in[n].bno = w.ev[i].bno;
			in[n].off = (uint32_t)w.ev[i].off;
			in[n].len = w.ev[i].len;
			n++;
		}
	b = budget(r.st.ready_issue.max + r.issue_lag_max_ns, 0);
	b.full_ns = b.max_age_ns;
	ck_assert_int_eq(fl_wakeups_min(in, n, &b, NULL, NULL, &res, &err), 0);
	ck_assert_msg(res.wakeups_min <= r.st.wakeups, "%s %s: %" PRIu64 " wake-ups, bound %"
	    PRIu64 " for its worst latency %" PRIu64 " ns + lag %" PRIu64 " ns", trace, pol,
	    r.st.wakeups, res.wakeups_min, r.st.ready_issue.max, r.issue_lag_max_ns);
	ck_assert_uint_gt(res.wakeups_min, 0);
	free(in);
	rp_result_free(&r);
	wl_free(&w);
}
END_TEST

/* verify --min-efficiency: a check of its own, failing below the ratio; JSON has the bound. */
START_TEST(test_verify_efficiency)
{
	struct wl_workload w;
	struct wl_extract_opts xo;
	struct rp_options o;
	struct rp_result b, c;
	struct rp_thresholds th;
	struct rp_check ck[RP_CHECK_MAX];
	struct fs_err err;
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int n, k, found = 0;

	wl_extract_opts_default(&xo);
	ck_assert_msg(wl_load(&w, tu_testdata("sample.log"), &xo, &err) == 0, "%s", err.msg);
	rp_options_default(&o);
	ck_assert_msg(rp_run(&w, "legacy", &o, &b, &err) == 0, "%s", err.msg);
	ck_assert_msg(rp_run(&w, "deadline", &o, &c, &err) == 0, "%s", err.msg);
	rp_thresholds_default(&th);
	n = rp_verify(&b, &c, &th, ck);
	for (k = 0; k < n; k++)
		ck_assert_str_ne(ck[k].metric, "efficiency");	/* not asked: not checked */
	th.min_efficiency = c.efficiency;
	n = rp_verify(&b, &c, &th, ck);
	for (k = 0; k < n; k++)
		if (strcmp(ck[k].metric, "efficiency") == 0) {
			found = 1;
			ck_assert(ck[k].pass);
		}
	ck_assert(found);
	th.min_efficiency = c.efficiency + 0.01;
	n = rp_verify(&b, &c, &th, ck);
	ck_assert_str_eq(ck[n - 1].metric, "efficiency");
	ck_assert(!ck[n - 1].pass);
	/* legacy as the candidate: 985 wake-ups for a bound of 3 */
	n = rp_verify(&c, &b, &th, ck);
	ck_assert(!ck[n - 1].pass);
	m = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(m);
	rp_print_json(m, &w, &c, 1, NULL, 1.0, NULL);
	fclose(m);
	ck_assert_ptr_nonnull(strstr(buf, "{\"fidelity\""));
	ck_assert_msg(strstr(buf, "\"wakeups_min\":") != NULL && strstr(buf, "\"efficiency\":") !=
	    NULL, "%s", buf);
	free(buf);
	rp_result_free(&b);
	rp_result_free(&c);
	wl_free(&w);
}
END_TEST

Suite *
bound_suite(void)
{
	Suite *s = suite_create("bound");
	TCase *tc = tcase_create("bound");
	TCase *tp = tcase_create("policies");

	tcase_add_loop_test(tc, test_deadlines, 0, (int)(sizeof(dl_cases) / sizeof(dl_cases[0])));
	tcase_add_loop_test(tc, test_brute_force, 0, 400);
	tcase_add_loop_test(tc, test_stab_random, 0, 300);
	tcase_add_test(tc, test_stab_long);
	tcase_add_loop_test(tc, test_deadline_is_greedy, 0,
	    (int)(sizeof(greedy_cases) / sizeof(greedy_cases[0])) * 4);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(tp, test_policies_above_bound, 0,
	    (int)(sizeof(traces) / sizeof(traces[0])) * NPOLS);
	tcase_add_test(tp, test_verify_efficiency);
	tcase_set_timeout(tp, 120);
	suite_add_tcase(s, tp);
	return s;
}
