/*
 * tests/check_tune.c: flushscope tune's sweep (replay/tune.c) and command:
 * the frontier, the choice under a constraint, the grids, the same answer
 * on any number of threads, and the outputs.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "replay/tune.h"
#include "replay/wlsource.h"
#include "tests/testutil.h"

Suite *tune_suite(void);

/* Points (CPU, p99) for the frontier and the choice. */
static const struct {
	double cpu;
	uint64_t p99;
	int valid, pareto;
} pts[] = {
	{ 10, 100, 1, 1 },	/* the fastest */
	{ 5, 200, 1, 1 },
	{ 6, 250, 1, 0 },	/* dominated by (5, 200) */
	{ 5, 300, 1, 0 },	/* same CPU, slower */
	{ 2, 1000, 1, 1 },	/* the cheapest */
	{ 1, 50, 0, 0 },	/* invalid: dominates nothing */
	{ 5, 200, 1, 1 },	/* equal to another: neither dominates */
	{ 20, 100, 1, 0 },	/* same p99 as the fastest, dearer */
};
#define NPTS (sizeof(pts) / sizeof(pts[0]))

/* Builds the table's points. */
static void
make_points(struct tn_point *p)
{
	size_t i;

	memset(p, 0, NPTS * sizeof(*p));
	for (i = 0; i < NPTS; i++) {
		p[i].cpu_ns = pts[i].cpu;
		p[i].p99_ns = pts[i].p99;
		p[i].valid = pts[i].valid;
		p[i].wakeups = 100 - i;
	}
}

START_TEST(test_pareto)
{
	struct tn_point p[NPTS];
	size_t i, j;

	make_points(p);
	tn_pareto(p, NPTS);
	for (i = 0; i < NPTS; i++)
		ck_assert_msg(p[i].pareto == pts[i].pareto, "point %zu: pareto %d", i, p[i].pareto);
	/* the definition itself: no marked point is dominated, every other valid one is */
	for (i = 0; i < NPTS; i++) {
		int dominated = 0;

		for (j = 0; j < NPTS; j++)
			dominated |= j != i && p[j].valid && p[j].cpu_ns <= p[i].cpu_ns &&
			    p[j].p99_ns <= p[i].p99_ns &&
			    (p[j].cpu_ns < p[i].cpu_ns || p[j].p99_ns < p[i].p99_ns);
		if (p[i].valid)
			ck_assert_int_eq(p[i].pareto, !dominated);
	}
}
END_TEST

/*
 * The choice: the cheapest valid point within the limit, -1 when none;
 * between equal CPU and p99 (points 1 and 6) the one with fewer wake-ups.
 */
static const struct {
	uint64_t limit;
	long want;
} rec_cases[] = {
	{ 100, 0 }, { 199, 0 }, { 200, 6 }, { 260, 6 }, { 999, 6 }, { 1000, 4 },
	{ 99, -1 }, { 49, -1 },
};

START_TEST(test_recommend)
{
	struct tn_point p[NPTS];
	long r;
	size_t i;

	make_points(p);
	r = tn_recommend(p, NPTS, rec_cases[_i].limit);
	ck_assert_int_eq(r, rec_cases[_i].want);
	/* and no valid point within the limit is cheaper */
	for (i = 0; r >= 0 && i < NPTS; i++)
		if (p[i].valid && p[i].p99_ns <= rec_cases[_i].limit)
			ck_assert(p[i].cpu_ns >= p[r].cpu_ns);
}
END_TEST

/* Every policy has a default grid holding its defaults; --grid replaces or adds. */
START_TEST(test_grids)
{
	static const char *const pols[] = { "legacy", "2010-10", "2011-08", "head", "pendq",
		"deadline" };
	struct tn_grid g;
	struct tn_axis ax;
	struct fs_err err;
	size_t i;
	int a, k;

	for (i = 0; i < sizeof(pols) / sizeof(pols[0]); i++) {
		struct fl_config c;

		ck_assert_int_eq(tn_default_grid(pols[i], &g), 0);
		ck_assert_int_gt(g.nax, 0);
		ck_assert_int_eq(fl_config_init(&c, pols[i]), 0);
		for (a = 0; a < g.nax; a++) {
			uint64_t def;
			int found = 0;

			ck_assert_int_eq(fl_tunable_get(&c.tun, g.ax[a].name, &def), 0);
			for (k = 0; k < g.ax[a].n; k++)
				found |= g.ax[a].v[k] == def;
			ck_assert_msg(found, "%s: %s's default %llu is not in its grid", pols[i],
			    g.ax[a].name, (unsigned long long)def);
		}
	}
	ck_assert_int_eq(tn_default_grid("nosuch", &g), -1);
	ck_assert_int_eq(tn_default_grid("deadline", &g), 0);
	memset(&ax, 0, sizeof(ax));
	snprintf(ax.name, sizeof(ax.name), "batch_ns");
	ax.v[0] = 0;
	ax.n = 1;
	ck_assert_int_eq(tn_grid_set(&g, &ax, &err), 0);
	ck_assert_int_eq(g.nax, 2);
	ck_assert_int_eq(g.ax[1].n, 1);
	snprintf(ax.name, sizeof(ax.name), "window");
	ck_assert_int_eq(tn_grid_set(&g, &ax, &err), 0);
	ck_assert_int_eq(g.nax, 3);
	snprintf(ax.name, sizeof(ax.name), "threads");
	ck_assert_int_eq(tn_grid_set(&g, &ax, &err), 0);
	snprintf(ax.name, sizeof(ax.name), "scan_cap");
	ck_assert_int_eq(tn_grid_set(&g, &ax, &err), -1);
}
END_TEST

/*
 * The sweep: grid order (the last axis fastest), a refused combination kept
 * with its reason, and the same figures on one thread and on three.
 */
START_TEST(test_sweep_jobs)
{
	char *paths[1] = { (char *)tu_testdata("sample.log") };
	struct wl_workload w;
	struct tn_grid g[2];
	struct tn_point *p1, *p3;
	struct rp_options o;
	struct fs_err err = { 0 };
	size_t n1, n3, i;

	ck_assert_msg(wl_load_logs(&w, paths, 1, NULL, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(tn_default_grid("legacy", &g[0]), 0);
	ck_assert_int_eq(tn_default_grid("deadline", &g[1]), 0);
	g[1].ax[1].v[g[1].ax[1].n++] = 2000000;	/* batch 2ms: over a 1ms max age */
	rp_options_default(&o);
	ck_assert_msg(tn_sweep(&w, g, 2, &o, 1, &p1, &n1, &err) == 0, "%s", err.msg);
	ck_assert_msg(tn_sweep(&w, g, 2, &o, 3, &p3, &n3, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(n1, 4 + 4 * 4);
	ck_assert_uint_eq(n1, n3);
	for (i = 0; i < n1; i++) {
		ck_assert_str_eq(p1[i].policy, p3[i].policy);
		ck_assert_int_eq(p1[i].valid, p3[i].valid);
		ck_assert(p1[i].cpu_ns == p3[i].cpu_ns);
		ck_assert_uint_eq(p1[i].wakeups, p3[i].wakeups);
		ck_assert_uint_eq(p1[i].p99_ns, p3[i].p99_ns);
		ck_assert_uint_eq(p1[i].max_ns, p3[i].max_ns);
		ck_assert_int_eq(p1[i].pareto, p3[i].pareto);
	}
	/* deadline's points: max_age 1ms with batch 0, 200us, 1ms, 2ms, then 2ms ... */
	ck_assert_str_eq(p1[4].policy, "deadline");
	ck_assert_str_eq(p1[4].set[0].name, "max_age_ns");
	ck_assert_uint_eq(p1[4].set[0].value, 1000000);
	ck_assert_uint_eq(p1[5].set[1].value, 200000);
	ck_assert_uint_eq(p1[8].set[0].value, 2000000);
	ck_assert_int_eq(p1[7].valid, 0);
	ck_assert_msg(strstr(p1[7].why, "max age") != NULL || strstr(p1[7].why, "batch") != NULL,
	    "%s", p1[7].why);
	ck_assert_int_eq(p1[11].valid, 1);		/* 2ms window, 2ms max age */
	/* a point's figures are its replay's */
	for (i = 0; i < n1; i++)
		if (p1[i].valid)
			ck_assert_uint_le(p1[i].p99_ns, p1[i].max_ns);
	free(p1);
	free(p3);
	wl_free(&w);
}
END_TEST

/*
 * The limit as a curve: 1-2-5 steps spanning the points' p99, never rising
 * with the latency, each the bound of deadline with that max age and
 * window (the same fl_wakeups_min reached through the policy's budget),
 * and under every point's own bound for the latency it achieved.
 */
START_TEST(test_bound_curve)
{
	char *paths[1] = { (char *)tu_testdata("synth/seedlike-A.log") };
	static const uint64_t steps[] = { 1, 2, 5 };
	struct wl_workload w;
	struct tn_grid g[2];
	struct tn_point *p, base;
	struct tn_bound *b;
	struct rp_options o;
	struct rp_result r;
	struct fs_err err = { 0 };
	uint64_t lo = UINT64_MAX, hi = 0, v;
	size_t n, nb, i, k;

	ck_assert_msg(wl_load_logs(&w, paths, 1, NULL, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(tn_default_grid("legacy", &g[0]), 0);
	ck_assert_int_eq(tn_default_grid("deadline", &g[1]), 0);
	rp_options_default(&o);
	ck_assert_msg(tn_sweep(&w, g, 2, &o, 2, &p, &n, &err) == 0, "%s", err.msg);
	memset(&base, 0, sizeof(base));
	ck_assert_msg(rp_run(&w, "legacy", &o, &r, &err) == 0, "%s", err.msg);
	tn_point_from(&base, &r);
	rp_result_free(&r);
	ck_assert_msg(tn_bound_curve(&w, &o, p, n, &base, 2, &b, &nb, &err) == 0, "%s", err.msg);
	for (i = 0; i < n; i++)
		if (p[i].valid) {
			lo = p[i].p99_ns < lo ? p[i].p99_ns : lo;
			hi = p[i].p99_ns > hi ? p[i].p99_ns : hi;
		}
	ck_assert_uint_ge(nb, 2);
	ck_assert_uint_le(b[0].latency_ns, lo);
	ck_assert_uint_ge(b[nb - 1].latency_ns, hi);
	for (i = 0; i < n; i++)
		if (p[i].valid)
			ck_assert_uint_ge(b[nb - 1].latency_ns, p[i].max_ns);
	for (i = 0; i < nb; i++) {
		struct rp_options od = o;

		int is_max = b[i].latency_ns == base.max_ns;

		for (k = 0; k < n; k++)
			is_max |= p[k].valid && p[k].max_ns == b[i].latency_ns;
		/* a 1-2-5 step, or a point's worst latency */
		for (v = b[i].latency_ns; v % 10 == 0; v /= 10)
			;
		ck_assert_msg(is_max || v == steps[0] || v == steps[1] || v == steps[2],
		    "%" PRIu64, b[i].latency_ns);
		ck_assert_int_eq(tn_is_step(b[i].latency_ns),
		    v == steps[0] || v == steps[1] || v == steps[2]);
		if (i > 0) {
			ck_assert_uint_gt(b[i].latency_ns, b[i - 1].latency_ns);
			ck_assert_uint_le(b[i].wakeups_min, b[i - 1].wakeups_min);
		}
		ck_assert_uint_ge(b[i].wakeups_min, 1);
		snprintf(od.set[0].policy, sizeof(od.set[0].policy), "deadline");
		snprintf(od.set[0].name, sizeof(od.set[0].name), "max_age_ns");
		od.set[0].value = b[i].latency_ns;
		od.set[1] = od.set[0];
		snprintf(od.set[1].name, sizeof(od.set[1].name), "batch_ns");
		od.nset = 2;
		ck_assert_msg(rp_wakeups_min(&w, "deadline", &od, &v, &err) == 0, "%s", err.msg);
		ck_assert_uint_eq(v, b[i].wakeups_min);
	}
	for (i = 0; i < n; i++) {
		if (!p[i].valid)
			continue;
		ck_assert_uint_le(p[i].wakeups_min, p[i].wakeups);
		ck_assert(p[i].efficiency > 0 && p[i].efficiency <= 1.0);
		/*
		 * every write was sent within max: the curve has that latency, and
		 * neither the point nor its own bound is under it
		 */
		for (k = 0; k < nb && b[k].latency_ns != p[i].max_ns; k++)
			;
		ck_assert_msg(k < nb, "point %zu: its max is not on the curve", i);
		ck_assert_msg(p[i].wakeups >= b[k].wakeups_min && p[i].wakeups_min >=
		    b[k].wakeups_min, "point %zu: %" PRIu64 "/%" PRIu64 " < %" PRIu64, i,
		    p[i].wakeups, p[i].wakeups_min, b[k].wakeups_min);
	}
	free(b);
	free(p);
	wl_free(&w);
}
END_TEST

/* Runs the binary with args (a shell line); its exit status, stdout in *out. */
static int
run_fs(const char *args, char **out)
{
	char cmd[1024], path[] = "/tmp/fs-tune-out-XXXXXX";
	int fd = mkstemp(path), st;

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "'%s' %s > '%s' 2>/dev/null", tu_fsbin(), args, path);
	st = system(cmd);
	ck_assert(st != -1 && WIFEXITED(st));
	*out = tu_slurp(path, NULL);
	unlink(path);
	return WEXITSTATUS(st);
}

/* --jobs 1 and --jobs 2 print the same JSON; no point meeting the limit is exit 1. */
START_TEST(test_command)
{
	char args[600], *a, *b;
	const char *log = tu_testdata("sample.log");

	snprintf(args, sizeof(args), "tune --format json --jobs 1 '%s'", log);
	ck_assert_int_eq(run_fs(args, &a), 0);
	snprintf(args, sizeof(args), "tune --format json --jobs 2 '%s'", log);
	ck_assert_int_eq(run_fs(args, &b), 0);
	ck_assert_str_eq(a, b);
	ck_assert_ptr_nonnull(strstr(a, "\"points\":[{\"policy\":\"legacy\""));
	ck_assert_ptr_nonnull(strstr(a, "\"recommendation\":{\"policy\":"));
	ck_assert_ptr_nonnull(strstr(a, "\"pareto\":true"));
	ck_assert_ptr_nonnull(strstr(a, "\"efficiency\":"));
	ck_assert_ptr_nonnull(strstr(a, "\"bound\":[{\"latency_us\":"));
	free(a);
	free(b);
	/* a point's figures are replay's for the same settings, bound included */
	snprintf(args, sizeof(args), "tune --policy deadline --grid max_age=2ms --grid batch=1ms "
	    "--format json '%s'", log);
	ck_assert_int_eq(run_fs(args, &a), 0);
	snprintf(args, sizeof(args), "replay --policy deadline --set max_age=2ms --set batch=1ms "
	    "--format json '%s'", log);
	ck_assert_int_eq(run_fs(args, &b), 0);
	{
		static const char *keys[] = { "\"model_cpu_ns\":", "\"wakeups_min\":",
		    "\"efficiency\":", "\"late_writes\":" };
		const char *pa = strstr(a, "\"points\":"), *pb = strstr(b, "\"policies\":");
		size_t k;

		ck_assert(pa != NULL && pb != NULL);
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const char *x = strstr(pa, keys[k]), *y = strstr(pb, keys[k]);

			ck_assert_msg(x != NULL && y != NULL, "%s", keys[k]);
			ck_assert_msg(strtod(x + strlen(keys[k]), NULL) ==
			    strtod(y + strlen(keys[k]), NULL), "%s tune %.40s replay %.40s", keys[k],
			    x, y);
		}
	}
	free(a);
	free(b);
	/* the baseline is no point of the frontier, which is the swept points' alone */
	snprintf(args, sizeof(args), "tune --policy legacy --baseline deadline --max-p99 10ms "
	    "--format json '%s'", log);
	ck_assert_int_eq(run_fs(args, &a), 0);
	{
		const char *bl = strstr(a, "\"baseline\":");

		ck_assert_ptr_nonnull(bl);
		ck_assert_ptr_nonnull(strstr(bl, "\"pareto\":false}"));
		ck_assert(strstr(a, "\"pareto\":true") < bl);	/* some legacy point is on it */
	}
	free(a);
	snprintf(args, sizeof(args), "tune --policy deadline --max-p99 1ns '%s'", log);
	ck_assert_int_eq(run_fs(args, &a), 1);
	ck_assert_ptr_nonnull(strstr(a, "recommendation: none"));
	free(a);
	snprintf(args, sizeof(args), "tune --policy deadline --grid nosuch=1 '%s'", log);
	ck_assert_int_eq(run_fs(args, &a), 2);
	free(a);
	snprintf(args, sizeof(args), "tune --policy legacy --grid deadline:batch=0 '%s'", log);
	ck_assert_int_eq(run_fs(args, &a), 2);
	free(a);
}
END_TEST

/* The chart is well-formed SVG with the frontier, the baseline and the choice. */
START_TEST(test_plot)
{
	char args[600], svg[] = "/tmp/fs-tune-svg-XXXXXX", *o, *s;
	int fd = mkstemp(svg);

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(args, sizeof(args), "tune --policy legacy,deadline --plot '%s' '%s'", svg,
	    tu_testdata("sample.log"));
	ck_assert_int_eq(run_fs(args, &o), 0);
	s = tu_slurp(svg, NULL);
	unlink(svg);
	ck_assert_ptr_nonnull(strstr(s, "<svg"));
	ck_assert_ptr_nonnull(strstr(s, "</svg>"));
	ck_assert_ptr_nonnull(strstr(s, "Pareto frontier"));
	ck_assert_ptr_nonnull(strstr(s, "baseline"));
	ck_assert_ptr_nonnull(strstr(s, "recommendation"));
	ck_assert_ptr_nonnull(strstr(s, "limit: every write within x"));
	free(s);
	free(o);
}
END_TEST

Suite *
tune_suite(void)
{
	Suite *s = suite_create("tune");
	TCase *tc = tcase_create("sweep");

	tcase_add_test(tc, test_pareto);
	tcase_add_loop_test(tc, test_recommend, 0, (int)(sizeof(rec_cases) / sizeof(rec_cases[0])));
	tcase_add_test(tc, test_grids);
	tcase_add_test(tc, test_sweep_jobs);
	tcase_add_test(tc, test_bound_curve);
	tcase_add_test(tc, test_command);
	tcase_add_test(tc, test_plot);
	suite_add_tcase(s, tc);
	return s;
}
