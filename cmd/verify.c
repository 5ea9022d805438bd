/*
 * flushscope verify: a CI gate.  Replays each trace under a baseline and a
 * candidate policy, checks CPU, latency, RPC sizes and wasted examinations
 * against thresholds, exits 0 (pass) or 1 (fail) and can write JUnit XML.
 * Logic: replay/replay.c (rp_run, rp_verify).
 */
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay.h"
#include "replay/wlsource.h"
#include "store/store.h"
#include "cmd/cmd.h"
#include "cmd/model.h"
#include "util/err.h"

/* Writes s with XML special characters escaped. */
static void
xml(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

struct trace_checks {
	const char *trace;		/* as messages show it (no password) */
	const char *input;		/* as given */
	char shown[512];
	struct rp_check c[RP_CHECK_MAX];
	int n;
	double seconds;
	double p99_base_ns, p99_cand_ns;	/* ready->issue p99 */
	uint64_t wasted;			/* the candidate's wasted examinations */
};

/* Writes the JUnit XML report. */
static int
write_junit(const char *path, const struct trace_checks *t, int nt, const char *base,
    const char *cand)
{
	FILE *f = fopen(path, "w");
	int i, k, tests = 0, fails = 0;

	if (f == NULL)
		return -1;
	for (i = 0; i < nt; i++)
		for (k = 0; k < t[i].n; k++) {
			tests++;
			fails += !t[i].c[k].pass;
		}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"flushscope verify\" tests=\"%d\" failures=\"%d\">\n",
	    tests, fails);
	fprintf(f, "  <testsuite name=\"verify ");
	xml(f, cand);
	fprintf(f, " vs ");
	xml(f, base);
	fprintf(f, "\" tests=\"%d\" failures=\"%d\" errors=\"0\">\n", tests, fails);
	for (i = 0; i < nt; i++)
		for (k = 0; k < t[i].n; k++) {
			const struct rp_check *c = &t[i].c[k];

			fprintf(f, "    <testcase classname=\"");
			xml(f, t[i].trace);
			fprintf(f, "\" name=\"%s\" time=\"%.3f\">", c->metric, t[i].seconds / t[i].n);
			if (!c->pass) {
				fprintf(f, "\n      <failure message=\"");
				xml(f, c->msg);
				fprintf(f, "\" type=\"%s\">", c->metric);
				xml(f, t[i].trace);
				fprintf(f, ": ");
				xml(f, c->msg);
				fprintf(f, "</failure>\n    ");
			} else {
				fprintf(f, "\n      <system-out>");
				xml(f, c->msg);
				fprintf(f, "</system-out>\n    ");
			}
			fprintf(f, "</testcase>\n");
		}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	if (fclose(f) != 0)
		return -1;
	return 0;
}

/*
 * Prints one trace's verdict as a sentence: "deadline: 95 % less flush-thread
 * CPU than legacy (modelled), ready->issue p99 2.03 ms -> 210 us, no wasted
 * examinations: PASS".
 */
static void
print_verdict(const struct trace_checks *t, const char *base, const char *cand, int real)
{
	char b[32], c[32], failed[128] = "";
	double red = 0;
	size_t o = 0;
	int k;

	for (k = 0; k < t->n; k++) {
		const struct rp_check *ck = &t->c[k];

		if (strcmp(ck->metric, "cpu") == 0)
			red = ck->baseline > 0 ? 1 - ck->candidate / ck->baseline : 0;
		if (!ck->pass && o < sizeof(failed))
			o += (size_t)snprintf(failed + o, sizeof(failed) - o, "%s%s",
			    o ? ", " : "", ck->metric);
	}
	fs_fmt_duration(b, sizeof(b), t->p99_base_ns);
	fs_fmt_duration(c, sizeof(c), t->p99_cand_ns);
	printf("%s: %s: %.0f %% %s flush-thread CPU than %s (%s), ready->issue p99 %s -> %s, ",
	    t->trace, cand, fabs(red) * 100, red >= 0 ? "less" : "more", base,
	    real ? "measured" : "modelled", b, c);
	if (t->wasted == 0)
		printf("no wasted examinations");
	else
		printf("%" PRIu64 " wasted examination%s", t->wasted, t->wasted == 1 ? "" : "s");
	if (o == 0)
		printf(": PASS\n");
	else
		printf(": FAIL (%s)\n", failed);
}

struct verify_args {
	const char *baseline, *candidate, *junit, *client;
	double min_cpu_reduction, min_efficiency;
	uint64_t max_p99_ns;
	long long max_wasted;
	int format, verbose;
	struct fs_model_args model;
};

#define A struct verify_args
static const struct fs_opt verify_opts[] = {
	FS_OPT_STRING(0, "baseline", A, baseline, "POLICY", NULL, "the policy to compare with: "
	    "legacy, 2010-10, 2011-08, head, pendq or deadline (flushscope-replay(1))"),
	FS_OPT_STRING(0, "candidate", A, candidate, "POLICY", NULL, "the policy checked"),
	FS_OPT_STRING(0, "junit", A, junit, "FILE", NULL,
	    "write JUnit XML, one testcase per trace and metric"),
	FS_OPT_STRING(0, "client", A, client, "NAME", NULL,
	    "a database trace: only the sources of this client"),
	FS_OPT_RATIO(0, "min-cpu-reduction", A, min_cpu_reduction, "0.9", -1, 1,
	    "minimum 1 - candidate/baseline flush-thread CPU"),
	FS_OPT_DURATION(0, "max-p99-regression", A, max_p99_ns, NULL, 0, 1000 * FS_NS_S,
	    "ready->issue p99 and p99.9 allowed above the baseline's (default: exact in "
	    "virtual time, 0.5ms on the real clock)"),
	FS_OPT_COUNT(0, "max-wasted", A, max_wasted, "N", "0", 0, 1e18,
	    "wasted examinations allowed to the candidate"),
	FS_OPT_RATIO(0, "min-efficiency", A, min_efficiency, "0", 0, 1,
	    "minimum lower bound / wake-ups of the candidate; 0 = not checked"),
	FS_MODEL_OPTS(A),
	FS_SET_OPT(A, "the candidate (the change checked)"),
	FS_OPT_CHOICE(0, "format", A, format, FS_FORMATS, "table", "output format"),
	FS_OPT_FLAG('v', "verbose", A, verbose, "table: every check with its numbers"),
	FS_OPT_END
};
#undef A

const struct fs_cmdspec fs_spec_verify = {
	.name = "verify",
	.usage = { "--baseline P --candidate Q TRACE..." },
	.min_ops = 1, .max_ops = -1,
	.summary = "CI gate: a candidate policy against a baseline on traces; JUnit output.",
	.notes = "Each TRACE (log, database or workload file; a database may be a\n"
	    "postgresql:// URI) is replayed under both policies; the candidate must cut\n"
	    "CPU, keep ready->issue p99 and p99.9 and RPC sizes no worse, and waste no\n"
	    "examinations.  Exit 0 if every check passes, 1 if one fails.\n",
	.opts = verify_opts,
};

/* Replays one trace under both policies and judges the pair; -1 after the message. */
static int
verify_trace(struct trace_checks *tc, const char *base, const char *cand,
    const struct rp_options *o, const struct rp_thresholds *th,
    const struct wl_extract_opts *xo)
{
	struct wl_workload w;
	struct rp_result rb, rc;
	struct rp_options ob;
	struct fs_err err;
	int i;

	fs_err_clear(&err);
	if (wl_load(&w, tc->input, xo, &err) < 0) {
		fs_warn("verify", "%s", err.msg);
		return -1;
	}
	if (wl_count(&w, WL_WRITE) == 0) {
		fs_warn("verify", "%s: the workload has no writes, nothing to verify (no "
		    "write arrivals, RPCs or spinning bmaps in it)", tc->trace);
		wl_free(&w);
		return -1;
	}
	/* --set without a policy is the candidate's change: the baseline runs without it */
	ob = *o;
	ob.nset = 0;
	for (i = 0; i < o->nset; i++)
		if (o->set[i].policy[0] != '\0')
			ob.set[ob.nset++] = o->set[i];
	if (rp_run(&w, base, &ob, &rb, &err) < 0 ||
	    (rp_run(&w, cand, o, &rc, &err) < 0 && (rp_result_free(&rb), 1))) {
		fs_warn("verify", "%s: %s", tc->trace, err.msg);
		wl_free(&w);
		return -1;
	}
	tc->n = rp_verify(&rb, &rc, th, tc->c);
	tc->seconds = (rb.st.wall_ns + rc.st.wall_ns) / 1e9;
	tc->p99_base_ns = (double)rb.st.ready_issue.p99;
	tc->p99_cand_ns = (double)rc.st.ready_issue.p99;
	tc->wasted = rc.st.wasted;
	rp_result_free(&rb);
	rp_result_free(&rc);
	wl_free(&w);
	return 0;
}

/* The checks as JSON: one object, every trace's checks in one array. */
static void
print_json(const struct trace_checks *tc, int nt, const char *base, const char *cand,
    int real, int failed)
{
	int i, k, c;

	printf("{\"baseline\":");
	fs_json_str(stdout, base, strlen(base));
	printf(",\"candidate\":");
	fs_json_str(stdout, cand, strlen(cand));
	printf(",\"clock\":\"%s\",\"pass\":%s,\"checks\":[",
	    real ? "real" : "virtual", failed ? "false" : "true");
	for (i = 0, c = 0; i < nt; i++)
		for (k = 0; k < tc[i].n; k++, c++) {
			const struct rp_check *ck = &tc[i].c[k];

			printf("%s{\"trace\":", c ? "," : "");
			fs_json_str(stdout, tc[i].trace, strlen(tc[i].trace));
			printf(",\"metric\":\"%s\",\"baseline\":", ck->metric);
			fs_json_num(stdout, ck->baseline);
			printf(",\"candidate\":");
			fs_json_num(stdout, ck->candidate);
			printf(",\"limit\":");
			fs_json_num(stdout, ck->limit);
			printf(",\"pass\":%s,\"message\":", ck->pass ? "true" : "false");
			fs_json_str(stdout, ck->msg, strlen(ck->msg));
			printf("}");
		}
	printf("]}\n");
}

/* The checks as text: the verdicts, and with -v every check. */
static void
print_text(const struct trace_checks *tc, int nt, const char *base, const char *cand,
    const struct rp_options *o, int verbose, int failed)
{
	int i, k;

	if (verbose) {
		printf("verify: candidate %s against baseline %s, %s clock\n", cand, base,
		    o->clock == FL_CLOCK_REAL ? "real" : "virtual");
		if (o->clock == FL_CLOCK_VIRTUAL)
			printf("note: CPU is modelled: %.2f us per wake-up, %.2f us per "
			    "examination, %.2f us per RPC, %.2f us per timer re-arm (--cpu-cost; "
			    "--clock real measures it)\n", o->cost.wake_ns / 1e3,
			    o->cost.exam_ns / 1e3, o->cost.rpc_ns / 1e3, o->cost.rearm_ns / 1e3);
		for (i = 0; i < nt; i++) {
			printf("%s\n", tc[i].trace);
			for (k = 0; k < tc[i].n; k++)
				printf("  %-4s %-9s %s\n", tc[i].c[k].pass ? "ok" : "FAIL",
				    tc[i].c[k].metric, tc[i].c[k].msg);
		}
	}
	for (i = 0; i < nt; i++)
		print_verdict(&tc[i], base, cand, o->clock == FL_CLOCK_REAL);
	if (nt > 1 || verbose)
		printf("%s: %d of %d checks failed\n", failed ? "FAIL" : "PASS", failed,
		    nt * tc[0].n);
}

/* The verify command. */
int
cmd_verify(int argc, char **argv)
{
	struct verify_args a;
	struct fs_args fa;
	const char *base, *cand;
	struct rp_thresholds th;
	struct rp_options o;
	struct wl_extract_opts xo;
	struct trace_checks *tc = NULL;
	struct fs_err err;
	char names[128];
	int c, i, k, nt, failed = 0;

	memset(&a, 0, sizeof(a));
	if ((c = fs_opt_parse(&fs_spec_verify, &a, argc, argv, &fa)) != 0)
		return c == FS_OPT_HELP ? FS_EXIT_OK : FS_EXIT_USAGE;
	base = a.baseline;
	cand = a.candidate;
	if (base == NULL || cand == NULL)
		return fs_usage(&fs_spec_verify, "need --baseline and --candidate");
	if (fl_policy_parse(base) < 0 || fl_policy_parse(cand) < 0) {
		fs_policy_list(names, sizeof(names));
		return fs_usage(&fs_spec_verify, "%s: unknown policy '%s' (%s)",
		    fl_policy_parse(base) < 0 ? "--baseline" : "--candidate",
		    fl_policy_parse(base) < 0 ? base : cand, names);
	}
	rp_thresholds_default(&th);
	rp_options_default(&o);
	fs_model_apply(&a.model, &fs_spec_verify, &fa, &o);
	if (fs_model_check(&fs_spec_verify, &o) != 0)
		return FS_EXIT_USAGE;
	th.min_cpu_reduction = a.min_cpu_reduction;
	th.max_wasted = a.max_wasted;
	th.min_efficiency = a.min_efficiency;
	if (fs_opt_given(&fs_spec_verify, &fa, "max-p99-regression")) {
		th.max_p99_regression_us = (double)a.max_p99_ns / 1e3;
		th.set_p99 = 1;
	}
	if (o.clock == FL_CLOCK_REAL && fs_opt_given(&fs_spec_verify, &fa, "wake-latency"))
		return fs_usage(&fs_spec_verify, "--wake-latency applies to the virtual clock "
		    "only; the real clock measures it");
	wl_extract_opts_default(&xo);
	xo.client = a.client;
	nt = fa.nops;
	fs_err_clear(&err);
	for (i = 0; i < nt; i++)
		if (wl_input_kind(fa.ops[i]) == WL_IN_LOG &&
		    fs_check_log(fa.ops[i], NULL, &err) < 0) {
			fs_warn("verify", "%s", err.msg);
			return FS_EXIT_RUNTIME;
		}
	if (nt <= 0 || (tc = calloc((size_t)nt, sizeof(*tc))) == NULL) {
		fs_warn("verify", "out of memory");
		return FS_EXIT_RUNTIME;
	}
	for (i = 0; i < nt; i++) {
		tc[i].input = fa.ops[i];
		tc[i].trace = st_display_name(fa.ops[i], tc[i].shown, sizeof(tc[i].shown));
		if (verify_trace(&tc[i], base, cand, &o, &th, &xo) < 0) {
			free(tc);
			return FS_EXIT_RUNTIME;
		}
		for (k = 0; k < tc[i].n; k++)
			failed += !tc[i].c[k].pass;
	}
	if (a.format == FS_FMT_JSON)
		print_json(tc, nt, base, cand, o.clock == FL_CLOCK_REAL, failed);
	else if (a.format == FS_FMT_CSV) {
		printf("trace,metric,baseline,candidate,limit,result\n");
		for (i = 0; i < nt; i++)
			for (k = 0; k < tc[i].n; k++)
				printf("%s,%s,%.3f,%.3f,%.3f,%s\n", tc[i].trace, tc[i].c[k].metric,
				    tc[i].c[k].baseline, tc[i].c[k].candidate, tc[i].c[k].limit,
				    tc[i].c[k].pass ? "pass" : "FAIL");
	} else
		print_text(tc, nt, base, cand, &o, a.verbose, failed);
	if (a.junit != NULL && write_junit(a.junit, tc, nt, base, cand) < 0) {
		fs_warn("verify", "%s: %s", a.junit, strerror(errno));
		free(tc);
		return FS_EXIT_RUNTIME;
	}
	free(tc);
	if (fflush(stdout) != 0)
		return FS_EXIT_RUNTIME;
	return failed ? FS_EXIT_FOUND : FS_EXIT_OK;
}
