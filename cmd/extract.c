/*
 * flushscope extract: the workload (the engine's inputs) recovered from a
 * log or a database, written as a workload file (flushscope-workload(5)).
 * Logic: replay/workload.c, replay/wlsource.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/wlsource.h"
#include "store/store.h"
#include "cmd/cmd.h"
#include "util/err.h"

struct extract_args {
	const char *db, *out, *client;
	int quiet;
	long long jobs;
	uint64_t poll_ns, max_age_ns, latency_ns;
};

#define A struct extract_args
static const struct fs_opt extract_opts[] = {
	FS_OPT_STRING('d', "db", A, db, "DB", NULL,
	    "read the events of an ingested database, a file or a postgresql:// URI"
	    " (instead of LOG...)"),
	FS_OPT_STRING(0, "client", A, client, "NAME", NULL,
	    "with -d: only the sources of this client"),
	FS_OPT_STRING('o', "output", A, out, "FILE", NULL,
	    "write the workload to FILE (default: standard output)"),
	FS_OPT_DURATION(0, "poll", A, poll_ns, "2048us", FS_NS_US, 1000 * FS_NS_S,
	    "poll period assumed for ready times derived from RPCs"),
	FS_OPT_DURATION(0, "max-age", A, max_age_ns, "1ms", FS_NS_US, 1000 * FS_NS_S,
	    "coalescer maximum age assumed for inferred writes"),
	FS_OPT_DURATION(0, "latency", A, latency_ns, "10ms", FS_NS_US, 1000 * FS_NS_S,
	    "RPC latency recorded when none can be measured"),
	FS_OPT_FLAG('q', "quiet", A, quiet, "no summary on stderr"),
	FS_OPT_JOBS(A, jobs),
	FS_OPT_GONE("poll-us", "use --poll DURATION (e.g. --poll 2048us)"),
	FS_OPT_GONE("max-age-us", "use --max-age DURATION (e.g. --max-age 1ms)"),
	FS_OPT_GONE("latency-us", "use --latency DURATION (e.g. --latency 10ms)"),
	FS_OPT_END
};
#undef A

const struct fs_cmdspec fs_spec_extract = {
	.name = "extract",
	.usage = { "LOG...", "-d DB" },
	.min_ops = 0, .max_ops = -1,
	.summary = "Writes the workload (engine inputs) recovered from logs or a database.",
	.notes = "The workload: write arrivals, forced flushes and the RPC service model, as a\n"
	    "workload file (flushscope-workload(5)).\n",
	.opts = extract_opts,
};

/* The extract command. */
int
cmd_extract(int argc, char **argv)
{
	struct extract_args a;
	struct fs_args fa;
	struct wl_extract_opts xo;
	struct wl_workload w;
	struct fs_err err;
	FILE *f = stdout;
	const char *db, *out;
	char shown[512];
	int rc, i;

	memset(&a, 0, sizeof(a));
	if ((rc = fs_opt_parse(&fs_spec_extract, &a, argc, argv, &fa)) != 0)
		return rc == FS_OPT_HELP ? FS_EXIT_OK : FS_EXIT_USAGE;
	db = a.db;
	out = a.out;
	if ((db != NULL) == (fa.nops > 0))
		return fs_usage(&fs_spec_extract, db ? "give -d DB or LOG..., not both" :
		    "no input: give -d DB or LOG...");
	wl_extract_opts_default(&xo);
	xo.poll_us = (int64_t)(a.poll_ns / 1000);
	xo.max_age_us = (int64_t)(a.max_age_ns / 1000);
	xo.default_lat_us = (int64_t)(a.latency_ns / 1000);
	xo.jobs = fs_jobs(a.jobs, 0);
	xo.client = a.client;
	fs_err_clear(&err);
	if (db != NULL && fs_check_db(db, &err) < 0) {
		fs_warn("extract", "%s", err.msg);
		return FS_EXIT_RUNTIME;
	}
	for (i = 0; i < fa.nops; i++) {
		if (wl_input_kind(fa.ops[i]) != WL_IN_LOG) {
			fs_warn("extract", "%s: is a %s, not a log%s", fa.ops[i],
			    wl_input_kind(fa.ops[i]) == WL_IN_DB ? "database" : "workload file",
			    wl_input_kind(fa.ops[i]) == WL_IN_DB ? " (use -d DB)" : "");
			return FS_EXIT_RUNTIME;
		}
		if (fs_check_log(fa.ops[i], NULL, &err) < 0) {
			fs_warn("extract", "%s", err.msg);
			return FS_EXIT_RUNTIME;
		}
	}
	fs_err_clear(&err);
	if (db != NULL)
		rc = wl_load_db(&w, db, &xo, &err);
	else
		rc = wl_load_logs(&w, fa.ops, fa.nops, &xo, &err);
	if (rc < 0) {
		fs_warn("extract", "%s", err.msg);
		return FS_EXIT_RUNTIME;
	}
	if (out != NULL && (f = fopen(out, "w")) == NULL) {
		fs_warn("extract", "%s: %s", out, strerror(errno));
		wl_free(&w);
		return FS_EXIT_RUNTIME;
	}
	rc = wl_write(&w, f, db ? st_display_name(db, shown, sizeof(shown)) : fa.ops[0], &err);
	if (out != NULL && fclose(f) != 0 && rc == 0)
		rc = fs_err_set(&err, errno, "%s", strerror(errno));
	if (rc < 0) {
		fs_warn("extract", "%s: %s", out ? out : "<stdout>", err.msg);
		wl_free(&w);
		return FS_EXIT_RUNTIME;
	}
	if (!fs_global.quiet && !a.quiet) {
		char unsent[64] = "", mix[160], svc[200];

		wl_service_mix(&w, mix, sizeof(mix));
		snprintf(svc, sizeof(svc), "%s%s%s", wl_fidelity_name(w.service), mix[0] ? ": " : "",
		    mix);
		if (w.obs.writes_unsent > 0)
			snprintf(unsent, sizeof(unsent), " (%" PRId64 " not sent within the trace)",
			    w.obs.writes_unsent);
		fprintf(stderr, "extract: %zu writes%s, %zu forced flushes, %zu RPCs; fidelity %s "
		    "(arrivals %s, service %s); trace: %" PRId64 " wasted examinations in %"
		    PRId64 " passes\n", wl_count(&w, WL_WRITE), unsent, wl_count(&w, WL_FSYNC),
		    wl_count(&w, WL_RPC), wl_fidelity_name(w.fidelity), wl_fidelity_name(w.arrivals),
		    svc, w.obs.wasted_examinations, w.obs.passes);
	}
	wl_free(&w);
	return FS_EXIT_OK;
}
