/*
 * flushscope verify: a CI gate.  Replays each trace under a baseline and a
 * candidate policy, checks CPU, latency, RPC sizes and wasted examinations
 * against thresholds, exits 0 (pass) or 1 (fail) and can write JUnit XML.
 * Logic: replay/replay.c (rp_run, rp_verify).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay.h"
#include "replay/wlsource.h"
#include "store/store.h"
#include "cmd/cmd.h"
#include "util/err.h"

/* Prints the usage text. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: flushscope verify --baseline P --candidate Q [--junit FILE]\n"
	    "                         [--min-cpu-reduction R] [--max-p99-regression T]\n"
	    "                         [--max-wasted N] [--clock virtual|real] [--repeat N]\n"
	    "                         [--wake-latency DUR] [--cpu-cost W,E,R] [--batch DUR]\n"
	    "                         [--format=table|csv|json] TRACE...\n"
	    "\n"
	    "Replays each TRACE (log, database or workload file; a database may be a\n"
	    "postgresql:// URI or conninfo string) under the baseline and the\n"
	    "candidate policy and checks the candidate: CPU reduction (real clock: measured\n"
	    "flush-thread CPU; virtual: modelled from wake-ups, examinations and RPCs),\n"
	    "ready->issue p99 and p99.9 no worse, RPC sizes no worse, wasted examinations\n"
	    "at most N.\n"
	    "Exit 0 if every check passes, 1 if one fails.\n"
	    "\n"
	    "  --min-cpu-reduction R   minimum 1 - candidate/baseline CPU (default 0.9)\n"
	    "  --max-p99-regression T  allowed latency increase, e.g. 0.5ms, 200us (default\n"
	    "                          0.5ms on the real clock, exact in virtual time)\n"
	    "  --max-wasted N          wasted examinations allowed to the candidate (0)\n"
	    "  --clock C               virtual (default) or real\n"
	    "  --repeat N              real clock: runs per policy, medians (default 3)\n"
	    "  --junit FILE            JUnit XML, one testcase per trace and metric\n"
	    "  --client NAME           a database trace: only this client's sources\n"
	    "  --wake-latency DUR      virtual clock: signal -> flush thread runs (10us)\n"
	    "  --cpu-cost W,E,R        CPU model, us per wake-up, examination, RPC (12,0.1,1.2)\n"
	    "  --batch DUR             deadline's batching window (200us; 0 = none)\n"
	    "\nSee flushscope-verify(1).\n");
}

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
	char shown[512];
	struct rp_check c[RP_CHECK_MAX];
	int n;
	double seconds;
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

/* The verify command. */
int
cmd_verify(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "baseline", required_argument, NULL, 'b' },
		{ "candidate", required_argument, NULL, 'c' },
		{ "junit", required_argument, NULL, 'j' },
		{ "min-cpu-reduction", required_argument, NULL, 'R' },
		{ "max-p99-regression", required_argument, NULL, 'T' },
		{ "max-wasted", required_argument, NULL, 'W' },
		{ "clock", required_argument, NULL, 'C' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' },
		{ "wake-latency", required_argument, NULL, 'L' },
		{ "cpu-cost", required_argument, NULL, 'K' },
		{ "batch", required_argument, NULL, 'B' },
		{ "client", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *base = NULL, *cand = NULL, *junit = NULL;
	struct rp_thresholds th;
	struct rp_options o;
	struct wl_extract_opts xo;
	struct trace_checks *tc = NULL;
	struct fs_err err;
	int c, fmt = FS_FMT_TABLE, i, k, nt, failed = 0;
	char *end;
	long lv;

	rp_thresholds_default(&th);
	rp_options_default(&o);
	wl_extract_opts_default(&xo);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'b':
			base = optarg;
			break;
		case 'c':
			cand = optarg;
			break;
		case 'j':
			junit = optarg;
			break;
		case 'U':
			xo.client = optarg;
			break;
		case 'R':
			th.min_cpu_reduction = strtod(optarg, &end);
			if (*end != '\0' || th.min_cpu_reduction > 1) {
				fs_warn("verify", "--min-cpu-reduction must be a fraction <= 1, not '%s'",
				    optarg);
				return FS_EXIT_USAGE;
			}
			break;
		case 'T':
			if (fs_opt_duration_us("verify", "--max-p99-regression", optarg,
			    &th.max_p99_regression_us) < 0)
				return FS_EXIT_USAGE;
			th.set_p99 = 1;
			break;
		case 'W':
			th.max_wasted = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || th.max_wasted < 0) {
				fs_warn("verify", "--max-wasted must be a count >= 0, not '%s'", optarg);
				return FS_EXIT_USAGE;
			}
			break;
		case 'C':
			if ((lv = fs_opt_clock("verify", optarg)) < 0)
				return FS_EXIT_USAGE;
			o.clock = (enum fl_clock)lv;
			break;
		case 'r':
			if (fs_opt_long("verify", "--repeat", optarg, 1, 1000, &lv) < 0)
				return FS_EXIT_USAGE;
			o.repeat = (int)lv;
			break;
		case 'f':
			if ((fmt = fs_opt_format("verify", optarg)) < 0)
				return FS_EXIT_USAGE;
			break;
		case 'L':
		case 'K':
		case 'B':
			if (fs_opt_model("verify", c, optarg, &o) < 0)
				return FS_EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return FS_EXIT_OK;
		default:
			usage(stderr);
			return FS_EXIT_USAGE;
		}
	}
	if (base == NULL || cand == NULL || optind >= argc) {
		fs_warn("verify", "need --baseline, --candidate and at least one TRACE");
		usage(stderr);
		return FS_EXIT_USAGE;
	}
	if (fl_policy_parse(base) < 0 || fl_policy_parse(cand) < 0) {
		fs_warn("verify", "unknown policy '%s' (legacy, pendq, deadline, slash2)",
		    fl_policy_parse(base) < 0 ? base : cand);
		return FS_EXIT_USAGE;
	}
	if (o.clock == FL_CLOCK_REAL && o.wake_latency_ns != RP_ENGINE_DEFAULT)
		fs_warn("verify", "--wake-latency applies to the virtual clock only; "
		    "the real clock measures it");
	nt = argc - optind;
	if ((tc = calloc((size_t)nt, sizeof(*tc))) == NULL) {
		fs_warn("verify", "out of memory");
		return FS_EXIT_RUNTIME;
	}
	for (i = 0; i < nt; i++) {
		struct wl_workload w;
		struct rp_result rb, rc;

		tc[i].trace = st_display_name(argv[optind + i], tc[i].shown, sizeof(tc[i].shown));
		fs_err_clear(&err);
		if (wl_load(&w, argv[optind + i], &xo, &err) < 0) {
			fs_warn("verify", "%s", err.msg);
			free(tc);
			return FS_EXIT_RUNTIME;
		}
		if (rp_run(&w, base, &o, &rb, &err) < 0 ||
		    (rp_run(&w, cand, &o, &rc, &err) < 0 && (rp_result_free(&rb), 1))) {
			fs_warn("verify", "%s: %s", tc[i].trace, err.msg);
			wl_free(&w);
			free(tc);
			return FS_EXIT_RUNTIME;
		}
		tc[i].n = rp_verify(&rb, &rc, &th, tc[i].c);
		tc[i].seconds = (rb.st.wall_ns + rc.st.wall_ns) / 1e9;
		for (k = 0; k < tc[i].n; k++)
			failed += !tc[i].c[k].pass;
		rp_result_free(&rb);
		rp_result_free(&rc);
		wl_free(&w);
	}

	if (fmt == FS_FMT_JSON) {
		printf("{\"baseline\":\"%s\",\"candidate\":\"%s\",\"clock\":\"%s\",\"pass\":%s,"
		    "\"checks\":[", base, cand, o.clock == FL_CLOCK_REAL ? "real" : "virtual",
		    failed ? "false" : "true");
		for (i = 0, c = 0; i < nt; i++)
			for (k = 0; k < tc[i].n; k++, c++) {
				const struct rp_check *ck = &tc[i].c[k];

				printf("%s{\"trace\":", c ? "," : "");
				fs_json_str(stdout, tc[i].trace, strlen(tc[i].trace));
				printf(",\"metric\":\"%s\",\"baseline\":%.3f,\"candidate\":%.3f,"
				    "\"limit\":%.3f,\"pass\":%s,\"message\":", ck->metric, ck->baseline,
				    ck->candidate, ck->limit, ck->pass ? "true" : "false");
				fs_json_str(stdout, ck->msg, strlen(ck->msg));
				printf("}");
			}
		printf("]}\n");
	} else if (fmt == FS_FMT_CSV) {
		printf("trace,metric,baseline,candidate,limit,result\n");
		for (i = 0; i < nt; i++)
			for (k = 0; k < tc[i].n; k++)
				printf("%s,%s,%.3f,%.3f,%.3f,%s\n", tc[i].trace, tc[i].c[k].metric,
				    tc[i].c[k].baseline, tc[i].c[k].candidate, tc[i].c[k].limit,
				    tc[i].c[k].pass ? "pass" : "FAIL");
	} else {
		printf("verify: candidate %s against baseline %s, %s clock\n", cand, base,
		    o.clock == FL_CLOCK_REAL ? "real" : "virtual");
		if (o.clock == FL_CLOCK_VIRTUAL)
			printf("note: CPU is modelled: %.2f us per wake-up, %.2f us per examination, "
			    "%.2f us per RPC (--cpu-cost; --clock real measures it)\n",
			    o.cost.wake_ns / 1e3, o.cost.exam_ns / 1e3, o.cost.rpc_ns / 1e3);
		for (i = 0; i < nt; i++) {
			printf("%s\n", tc[i].trace);
			for (k = 0; k < tc[i].n; k++)
				printf("  %-4s %-9s %s\n", tc[i].c[k].pass ? "ok" : "FAIL",
				    tc[i].c[k].metric, tc[i].c[k].msg);
		}
		printf("%s: %d of %d checks failed\n", failed ? "FAIL" : "PASS", failed,
		    nt * (tc[0].n));
	}
	if (junit != NULL && write_junit(junit, tc, nt, base, cand) < 0) {
		fs_warn("verify", "%s: %s", junit, strerror(errno));
		free(tc);
		return FS_EXIT_RUNTIME;
	}
	free(tc);
	if (fflush(stdout) != 0)
		return FS_EXIT_RUNTIME;
	return failed ? FS_EXIT_FOUND : FS_EXIT_OK;
}
