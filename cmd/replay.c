/*
 * flushscope replay: the recorded workload through libflush under several
 * queueing policies, side by side.  Logic: replay/replay.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/replay.h"
#include "replay/wlsource.h"
#include "cmd/cmd.h"
#include "cmd/model.h"
#include "util/err.h"

#define MAXPOL 8

struct replay_args {
	const char *db, *workload, *policy, *plot, *client;
	int format, no_calibrate, fit_cost, quiet, verbose;
	long long jobs;
	double speed;
	uint64_t exam_cost_ns;
	struct fs_model_args model;
};

#define A struct replay_args
static const struct fs_opt replay_opts[] = {
	FS_OPT_STRING('d', "db", A, db, "DB", NULL, "read the workload from an ingested database"
	    " (a file, or a postgresql:// URI or conninfo string)"),
	FS_OPT_STRING(0, "client", A, client, "NAME", NULL,
	    "with -d: only the sources of this client"),
	FS_OPT_STRING('w', "workload", A, workload, "FILE", NULL,
	    "read a workload file (flushscope-workload(5))"),
	FS_OPT_STRING('p', "policy", A, policy, "LIST", "legacy,deadline",
	    "comma-separated policies; the first is the baseline"),
	FS_MODEL_OPTS(A),
	FS_SET_OPT(A, "every policy replayed"),
	FS_OPT_NUMBER(0, "speed", A, speed, "X", "1", 1e-3, 1e6,
	    "real clock: compress time by X (understates polling cost)"),
	FS_OPT_CHOICE(0, "format", A, format, FS_FORMATS, "table", "output format"),
	FS_OPT_STRING(0, "plot", A, plot, "FILE.svg", NULL,
	    "CPU and ready->issue latency CDFs per policy, as SVG"),
	FS_OPT_FLAG(0, "no-calibrate", A, no_calibrate,
	    "virtual clock: keep the policies' default tick, usleep overshoot and line "
	    "cost, not the trace's timing"),
	FS_OPT_DURATION(0, "exam-cost", A, exam_cost_ns, "0", 0, 1 * FS_NS_S,
	    "virtual clock: time one bmap examination keeps the flush thread busy"),
	FS_OPT_FLAG(0, "fit-cost", A, fit_cost,
	    "real clock: fit the CPU model to the measured CPU and print it"),
	FS_OPT_FLAG('v', "verbose", A, verbose, "table: every metric (wake-ups by cause, "
	    "latency percentiles, RPC sizes, ...)"),
	FS_OPT_FLAG('q', "quiet", A, quiet, "no progress or warnings on stderr"),
	FS_OPT_JOBS(A, jobs),
	FS_OPT_END
};
#undef A

const struct fs_cmdspec fs_spec_replay = {
	.name = "replay",
	.usage = { "LOG...", "-d DB", "-w FILE" },
	.min_ops = 0, .max_ops = -1,
	.summary = "Replays a recorded workload through libflush under several policies.",
	.notes = "The input is a log, a database or a workload file; the results are side by\n"
	    "side, compared with the first policy.\n",
	.opts = replay_opts,
};

/* The CPU figure of a result: measured flush-thread CPU (real clock) or modelled. */
static double
cpu_ns(const struct rp_result *r)
{
	return r->clock == FL_CLOCK_REAL ? (double)r->flush_cpu_ns : r->model_cpu_ns;
}

/*
 * The short table: a few rows per policy, then one sentence per policy
 * against the baseline (the first).  -v prints rp_print_table instead.
 */
static void
print_short(const char *src, const struct wl_workload *w, const struct rp_result *r, int n,
    const struct rp_fidelity *fid)
{
	char b[32], c[32];
	int i, real = r[0].clock == FL_CLOCK_REAL;

	printf("%s: %zu writes, %zu forced flushes, %zu recorded RPCs; inputs %s; %s clock",
	    src, wl_count(w, WL_WRITE), wl_count(w, WL_FSYNC), wl_count(w, WL_RPC),
	    wl_fidelity_name(w->fidelity), real ? "real" : "virtual");
	if (real)
		printf(", medians of %d runs\n", r[0].repeats);
	else
		printf(" (CPU modelled: %g us per wake-up, %g us per examination, %g us per RPC, "
		    "%g us per timer re-arm)\n", r[0].cost.wake_ns / 1e3, r[0].cost.exam_ns / 1e3,
		    r[0].cost.rpc_ns / 1e3, r[0].cost.rearm_ns / 1e3);
	if (real)
		printf("note: real clock: CPU and latencies are measured on this machine and vary "
		    "with its load;\n      they inform, the virtual clock's counts are the "
		    "deterministic gate (flushscope verify)\n");
	printf("%-24s", "");
	for (i = 0; i < n; i++)
		printf(" %10s", r[i].policy);
	printf("\n%-24s", real ? "flush-thread CPU (ms)" : "modelled CPU (ms)");
	for (i = 0; i < n; i++)
		printf(" %10.2f", cpu_ns(&r[i]) / 1e6);
	printf("\n%-24s", "wake-ups");
	for (i = 0; i < n; i++)
		printf(" %10" PRIu64, r[i].st.wakeups);
	printf("\n%-24s", "wake-ups, lower bound");
	for (i = 0; i < n; i++)
		printf(" %10" PRIu64, r[i].wakeups_min);
	printf("\n%-24s", "efficiency");
	for (i = 0; i < n; i++)
		printf(" %10.2f", r[i].efficiency);
	printf("\n%-24s", "wasted examinations");
	for (i = 0; i < n; i++)
		printf(" %10" PRIu64, r[i].st.wasted);
	printf("\n%-24s", "RPCs");
	for (i = 0; i < n; i++)
		printf(" %10" PRIu64, r[i].st.rpcs);
	printf("\n%-24s", "ready->issue p99");
	for (i = 0; i < n; i++) {
		fs_fmt_duration(b, sizeof(b), (double)r[i].st.ready_issue.p99);
		printf(" %10s", b);
	}
	putchar('\n');
	if (fid != NULL && fid->altered[0] != '\0')
		printf("fidelity: not checked: %s ran with %s (--set)\n", fid->policy, fid->altered);
	else if (fid != NULL)
		printf("fidelity: %s replay has %" PRId64 " wasted examinations, the trace %" PRId64
		    ": %s\n", fid->policy, fid->replay_wasted, fid->trace_wasted,
		    fid->ok ? "reproduced within 5 %" : "NOT within 5 % (see -v)");
	for (i = 1; i < n; i++) {
		double cb = cpu_ns(&r[0]), cc = cpu_ns(&r[i]), red = cb > 0 ? 1 - cc / cb : 0;

		fs_fmt_duration(b, sizeof(b), (double)r[0].st.ready_issue.p99);
		fs_fmt_duration(c, sizeof(c), (double)r[i].st.ready_issue.p99);
		printf("%s: %.0f %% %s flush-thread CPU than %s, %" PRIu64 " wake-up%s instead of %"
		    PRIu64 ", ready->issue p99 %s -> %s\n", r[i].policy, fabs(red) * 100,
		    red >= 0 ? "less" : "more", r[0].policy, r[i].st.wakeups,
		    r[i].st.wakeups == 1 ? "" : "s", r[0].st.wakeups, b, c);
	}
	printf("(every metric: -v; for machines: --format csv or json)\n");
}

/* The replay command. */
int
cmd_replay(int argc, char **argv)
{
	struct replay_args a;
	struct fs_args fa;
	char polbuf[256], *polstr = polbuf, *pols[MAXPOL], names[128];
	const char *db, *wlfile, *plot, *src;
	struct rp_options o;
	struct rp_result res[MAXPOL];
	struct rp_fidelity fid, *fidp = NULL;
	struct wl_workload w;
	struct wl_extract_opts xo;
	struct fs_err err;
	struct rp_fit fit, *fitp = NULL;
	int c, fmt, npol, i, nsrc, rc = FS_EXIT_OK, want_fit, quiet;

	memset(&a, 0, sizeof(a));
	if ((c = fs_opt_parse(&fs_spec_replay, &a, argc, argv, &fa)) != 0)
		return c == FS_OPT_HELP ? FS_EXIT_OK : FS_EXIT_USAGE;
	rp_options_default(&o);
	fs_model_apply(&a.model, &fs_spec_replay, &fa, &o);
	if (fs_model_check(&fs_spec_replay, &o) != 0)
		return FS_EXIT_USAGE;
	o.speed = a.speed;
	o.calibrate = !a.no_calibrate;
	o.exam_cost_ns = a.exam_cost_ns;
	db = a.db;
	wlfile = a.workload;
	plot = a.plot;
	fmt = a.format;
	want_fit = a.fit_cost;
	quiet = a.quiet || fs_global.quiet;
	if (o.clock == FL_CLOCK_VIRTUAL && fs_opt_given(&fs_spec_replay, &fa, "speed"))
		return fs_usage(&fs_spec_replay, "--speed applies to the real clock only "
		    "(add --clock real)");
	if (want_fit && o.clock != FL_CLOCK_REAL)
		return fs_usage(&fs_spec_replay, "--fit-cost needs --clock real (CPU is measured "
		    "only there)");
	if (want_fit && fmt == FS_FMT_CSV)
		return fs_usage(&fs_spec_replay, "--fit-cost prints in the table and JSON forms, "
		    "not CSV");
	if (o.clock == FL_CLOCK_REAL && fs_opt_given(&fs_spec_replay, &fa, "wake-latency"))
		return fs_usage(&fs_spec_replay, "--wake-latency applies to the virtual clock "
		    "only; the real clock measures it");
	nsrc = (db != NULL) + (wlfile != NULL) + (fa.nops > 0);
	if (nsrc != 1)
		return fs_usage(&fs_spec_replay, nsrc ? "give only one of -d DB, --workload FILE "
		    "or LOG..." : "no input: give -d DB, --workload FILE or LOG...");
	if (strlen(a.policy) >= sizeof(polbuf))
		return fs_usage(&fs_spec_replay, "--policy: the list is too long");
	strcpy(polbuf, a.policy);
	if ((npol = fs_split_list(polstr, pols, MAXPOL)) <= 0)
		return fs_usage(&fs_spec_replay, "--policy: give 1 to %d policies", MAXPOL);
	for (i = 0; i < npol; i++) {
		if (fl_policy_parse(pols[i]) < 0) {
			fs_policy_list(names, sizeof(names));
			return fs_usage(&fs_spec_replay, "--policy: unknown policy '%s' (%s)",
			    pols[i], names);
		}
	}
	if (fs_check_traces("replay", fa.ops, fa.nops) < 0)
		return FS_EXIT_RUNTIME;
	fs_err_clear(&err);
	if ((db != NULL && fs_check_db(db, &err) < 0) ||
	    (wlfile != NULL && fs_check_db(wlfile, &err) < 0)) {
		fs_warn("replay", "%s", err.msg);
		return FS_EXIT_RUNTIME;
	}
	o.keep_samples = plot != NULL;

	wl_extract_opts_default(&xo);
	xo.jobs = fs_jobs(a.jobs, 0);
	xo.client = a.client;
	fs_err_clear(&err);
	if (db != NULL)
		c = wl_load_db(&w, db, &xo, &err);
	else if (wlfile != NULL)
		c = wl_read_file(&w, wlfile, &err);
	else if (fa.nops == 1)
		c = wl_load(&w, fa.ops[0], &xo, &err);
	else
		c = wl_load_logs(&w, fa.ops, fa.nops, &xo, &err);
	if (c < 0) {
		fs_warn("replay", "%s", err.msg);
		return FS_EXIT_RUNTIME;
	}

	src = db ? db : wlfile ? wlfile : fa.ops[0];
	if (wl_count(&w, WL_WRITE) == 0) {
		fs_warn("replay", "%s: the workload has no writes, nothing to replay (no write "
		    "arrivals, RPCs or spinning bmaps in it; see flushscope-extract(1))", src);
		wl_free(&w);
		return FS_EXIT_RUNTIME;
	}
	for (i = 0; i < npol; i++) {
		if (!quiet && isatty(2))
			fprintf(stderr, "replaying %s...\r", pols[i]);
		if (rp_run(&w, pols[i], &o, &res[i], &err) < 0) {
			fs_warn("replay", "%s", err.msg);
			while (i-- > 0)
				rp_result_free(&res[i]);
			wl_free(&w);
			return FS_EXIT_RUNTIME;
		}
		if (strcmp(pols[i], rp_fidelity_policy(&w)) == 0 && fidp == NULL) {
			rp_fidelity_check(&w, &res[i], &fid);
			fidp = &fid;
		}
	}
	if (!quiet && isatty(2))
		fprintf(stderr, "%40s\r", "");

	if (want_fit) {
		rp_fit_report(res, npol, &fit);
		fitp = &fit;
	}
	if (fmt == FS_FMT_JSON)
		rp_print_json(stdout, &w, res, npol, fidp, o.speed, fitp);
	else if (fmt == FS_FMT_CSV)
		rp_print_csv(stdout, &w, res, npol);
	else if (a.verbose || want_fit)
		rp_print_table(stdout, &w, res, npol, fidp, o.speed, fitp);
	else
		print_short(src, &w, res, npol, fidp);
	if (fidp != NULL && !fidp->ok && fmt != FS_FMT_TABLE && !quiet)
		fs_warn("replay", "fidelity: %s replay does not reproduce the trace within 5 %% "
		    "(wasted examinations %lld vs %lld, pass period %lld us vs %lld us)", fidp->policy,
		    (long long)fidp->replay_wasted, (long long)fidp->trace_wasted,
		    (long long)fidp->replay_period_us, (long long)fidp->trace_period_us);
	if (o.clock == FL_CLOCK_REAL && o.speed != 1.0 && fmt != FS_FMT_TABLE && !quiet)
		fs_warn("replay", "--speed %g: polling cost per trace-second is understated", o.speed);

	if (plot != NULL) {
		FILE *pf = fopen(plot, "w");

		if (pf == NULL || rp_plot_svg(pf, res, npol, &err) < 0) {
			fs_warn("replay", "%s: %s", plot, pf ? err.msg : strerror(errno));
			rc = FS_EXIT_RUNTIME;
		}
		if (pf != NULL && fclose(pf) != 0 && rc == FS_EXIT_OK) {
			fs_warn("replay", "%s: %s", plot, strerror(errno));
			rc = FS_EXIT_RUNTIME;
		}
	}
	for (i = 0; i < npol; i++)
		rp_result_free(&res[i]);
	wl_free(&w);
	if (fflush(stdout) != 0)
		return FS_EXIT_RUNTIME;
	return rc;
}
