/*
 * Replay through libflush (virtual clock): fidelity of legacy on a seed-like
 * workload, the service model, verify verdicts, the JSON report.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/replay.h"

Suite *replay_suite(void);

/* The seed excerpt's shape: two bmaps whose only writes are in flight. */
static const char seed_wl[] =
    "flushscope-workload 1\n"
    "fidelity fitted\n"
    "observed wasted_examinations 6\n"
    "observed pass_period_us 2160\n"
    "0 write 80000002d907b:1 0 32768\n"
    "1024 rpc 80000002d907b:1 0 32768 7000 run -\n"
    "0 write 80000002d907b:3 0 32768\n"
    "1024 rpc 80000002d907b:3 0 32768 7000 run -\n";

/* Reads a workload from a string. */
static void
load(struct wl_workload *w, const char *text)
{
	struct fs_err err;
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(wl_read(w, f, "test.wl", &err) == 0, "%s", err.msg);
	fclose(f);
}

/* Runs one policy on the virtual clock. */
static void
run(const struct wl_workload *w, const char *pol, int calibrate, struct rp_result *r)
{
	struct rp_options o;
	struct fs_err err;

	rp_options_default(&o);
	o.calibrate = calibrate;
	o.keep_samples = 1;
	ck_assert_msg(rp_run(w, pol, &o, r, &err) == 0, "%s", err.msg);
}

START_TEST(test_legacy_fidelity)
{
	struct wl_workload w;
	struct rp_result r;
	struct rp_fidelity f;

	load(&w, seed_wl);
	run(&w, "legacy", 1, &r);
	ck_assert_uint_eq(r.poll_ns, 2160000);
	ck_assert(r.calibrated);
	rp_fidelity_check(&w, &r, &f);
	ck_assert_int_eq(f.trace_wasted, 6);
	ck_assert_int_eq(f.replay_wasted, 6);
	ck_assert_int_eq(f.replay_period_us, 2160);
	ck_assert(f.ok);
	ck_assert_uint_eq(r.st.rpcs, 2);
	ck_assert_uint_eq(r.svc_recorded, 2);
	ck_assert_uint_eq(r.nlat, 2);
	rp_result_free(&r);

	/* without calibration the 2048 us tick is 5.2 % off the trace's period */
	run(&w, "legacy", 0, &r);
	rp_fidelity_check(&w, &r, &f);
	ck_assert_int_eq(f.replay_period_us, 2048);
	ck_assert(!f.ok);
	rp_result_free(&r);
	wl_free(&w);
}
END_TEST

START_TEST(test_deadline_no_waste)
{
	struct wl_workload w;
	struct rp_result l, d;

	load(&w, seed_wl);
	run(&w, "legacy", 1, &l);
	run(&w, "deadline", 1, &d);
	ck_assert(!d.calibrated);
	ck_assert_uint_eq(d.st.wasted, 0);
	ck_assert_uint_lt(d.st.wakeups, l.st.wakeups);
	ck_assert_uint_le(d.st.ready_issue.p99, l.st.ready_issue.p99);
	ck_assert_uint_eq(d.st.bytes_sent, l.st.bytes_sent);
	rp_result_free(&l);
	rp_result_free(&d);
	wl_free(&w);
}
END_TEST

/* Recorded latencies follow the bmap and offset, not the issue order. */
START_TEST(test_service_model)
{
	static const char text[] =
	    "flushscope-workload 1\n"
	    "0 write a:0 0 4096\n"
	    "0 write b:0 0 4096\n"
	    "10 rpc b:0 0 4096 3000 xid 7\n"
	    "20 rpc a:0 0 4096 50000 xid 8\n"
	    "sample 1234\n";
	struct wl_workload w;
	struct rp_result r;

	load(&w, text);
	run(&w, "deadline", 1, &r);
	ck_assert_uint_eq(r.svc_recorded, 2);
	ck_assert_uint_eq(r.svc_sampled, 0);
	/* the slow bmap a ends the run: 1 ms max age + 50 ms */
	ck_assert_uint_eq(r.st.end_ns, 51000000);
	rp_result_free(&r);
	wl_free(&w);

	/* nothing recorded for this bmap: drawn from the samples */
	load(&w, "flushscope-workload 1\n0 write c:0 0 4096\nsample 1234\n");
	run(&w, "deadline", 1, &r);
	ck_assert_uint_eq(r.svc_sampled, 1);
	ck_assert_uint_eq(r.st.end_ns, 1000000 + 1234000);
	rp_result_free(&r);
	wl_free(&w);

	/* nothing at all: the default latency */
	load(&w, "flushscope-workload 1\ndefault_latency_us 777\n0 write c:0 0 4096\n");
	run(&w, "deadline", 1, &r);
	ck_assert_uint_eq(r.svc_default, 1);
	ck_assert_uint_eq(r.st.end_ns, 1000000 + 777000);
	rp_result_free(&r);
	wl_free(&w);
}
END_TEST

/* Returns the check named metric. */
static const struct rp_check *
find(const struct rp_check *c, int n, const char *metric)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(c[i].metric, metric) == 0)
			return &c[i];
	ck_abort_msg("no check %s", metric);
	return NULL;
}

START_TEST(test_verify_verdicts)
{
	struct wl_workload w;
	struct rp_result l, d;
	struct rp_thresholds t;
	struct rp_check c[RP_CHECK_MAX];
	int n;

	load(&w, seed_wl);
	run(&w, "legacy", 1, &l);
	run(&w, "deadline", 1, &d);
	rp_thresholds_default(&t);
	t.min_cpu_reduction = 0.5;
	n = rp_verify(&l, &d, &t, c);
	ck_assert_int_eq(n, 5);
	ck_assert_msg(find(c, n, "cpu")->pass, "%s", find(c, n, "cpu")->msg);
	ck_assert(find(c, n, "p99")->pass);
	ck_assert(find(c, n, "p999")->pass);
	ck_assert(find(c, n, "rpc_size")->pass);
	ck_assert(find(c, n, "wasted")->pass);
	ck_assert_ptr_nonnull(strstr(find(c, n, "cpu")->msg, "virtual clock proxy"));

	/* legacy as the candidate fails, and the message names metric and numbers */
	n = rp_verify(&d, &l, &t, c);
	ck_assert(!find(c, n, "cpu")->pass);
	ck_assert(!find(c, n, "wasted")->pass);
	ck_assert(!find(c, n, "p99")->pass);
	ck_assert_ptr_nonnull(strstr(find(c, n, "wasted")->msg, "wasted: 6 wasted examinations"));
	ck_assert_ptr_nonnull(strstr(find(c, n, "p99")->msg, "2160.0 us vs baseline 1000.0 us"));
	rp_result_free(&l);
	rp_result_free(&d);
	wl_free(&w);
}
END_TEST

START_TEST(test_json_report)
{
	static const char *const keys[] = {
		"\"fidelity\":\"fitted\"", "\"policies\":[", "\"policy\":\"legacy\"",
		"\"clock\":\"virtual\"", "\"wakeups\":", "\"idle_wakeups\":", "\"examinations\":",
		"\"wasted_examinations\":6", "\"rpcs\":2", "\"bytes\":65536",
		"\"flush_cpu_ns\":null", "\"latency_us\":{\"p50\":", "\"p999\":", "\"max\":",
		"\"drain_us\":", "\"policy\":\"deadline\"", "\"fidelity_check\":{\"ok\":true",
	};
	struct wl_workload w;
	struct rp_result r[2];
	struct rp_fidelity f;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *m;

	load(&w, seed_wl);
	run(&w, "legacy", 1, &r[0]);
	run(&w, "deadline", 1, &r[1]);
	rp_fidelity_check(&w, &r[0], &f);
	m = open_memstream(&buf, &len);
	rp_print_json(m, &w, r, 2, &f, 1.0);
	fclose(m);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_msg(strstr(buf, keys[i]) != NULL, "missing %s in %s", keys[i], buf);
	free(buf);
	buf = NULL;
	m = open_memstream(&buf, &len);
	ck_assert_int_eq(rp_plot_svg(m, r, 2, NULL), 0);
	fclose(m);
	ck_assert_ptr_nonnull(strstr(buf, "<svg"));
	ck_assert_ptr_nonnull(strstr(buf, "deadline"));
	free(buf);
	rp_result_free(&r[0]);
	rp_result_free(&r[1]);
	wl_free(&w);
}
END_TEST

Suite *
replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("virtual");

	tcase_add_test(tc, test_legacy_fidelity);
	tcase_add_test(tc, test_deadline_no_waste);
	tcase_add_test(tc, test_service_model);
	tcase_add_test(tc, test_verify_verdicts);
	tcase_add_test(tc, test_json_report);
	suite_add_tcase(s, tc);
	return s;
}
