/*
 * flushscope extract: the workload (the engine's inputs) recovered from a
 * log or a database, written as a workload file (flushscope-workload(5)).
 * Logic: replay/workload.c, replay/wlsource.c.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/wlsource.h"
#include "store/store.h"
#include "cmd/cmd.h"
#include "util/err.h"

/* Prints the usage text. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: flushscope extract [-d DB | LOG...] [-o FILE] [--poll-us N] [--max-age-us N]\n"
	    "                          [--latency-us N]\n"
	    "\n"
	    "Recovers the flush engine's inputs (write arrivals, forced flushes, the RPC\n"
	    "service model) from logs or an ingested database and writes them as a\n"
	    "workload file (flushscope-workload(5)) to stdout or FILE.\n"
	    "\n"
	    "  -d, --db DB        read the events of an ingested database (a file, or a\n"
	    "                     postgresql:// URI or conninfo string)\n"
	    "      --client NAME  only the sources of this client (a database)\n"
	    "  -o, --output FILE  write the workload to FILE (default stdout)\n"
	    "      --poll-us N    poll period assumed for RPC-derived ready times (2048)\n"
	    "      --max-age-us N coalescer max age assumed for inferred writes (1000)\n"
	    "      --latency-us N RPC latency when none can be measured (10000)\n"
	    "\nSee flushscope-extract(1).\n");
}

/* The extract command. */
int
cmd_extract(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "poll-us", required_argument, NULL, 'P' },
		{ "max-age-us", required_argument, NULL, 'A' },
		{ "latency-us", required_argument, NULL, 'L' },
		{ "client", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *db = NULL, *out = NULL;
	char shown[512];
	struct wl_extract_opts xo;
	long lv;
	struct wl_workload w;
	struct fs_err err;
	FILE *f = stdout;
	int c, rc;

	wl_extract_opts_default(&xo);
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'U':
			xo.client = optarg;
			break;
		case 'P':
			if (fs_opt_long("extract", "--poll-us", optarg, 1, LONG_MAX, &lv) < 0)
				return FS_EXIT_USAGE;
			xo.poll_us = lv;
			break;
		case 'A':
			if (fs_opt_long("extract", "--max-age-us", optarg, 1, LONG_MAX, &lv) < 0)
				return FS_EXIT_USAGE;
			xo.max_age_us = lv;
			break;
		case 'L':
			if (fs_opt_long("extract", "--latency-us", optarg, 1, LONG_MAX, &lv) < 0)
				return FS_EXIT_USAGE;
			xo.default_lat_us = lv;
			break;
		case 'h':
			usage(stdout);
			return FS_EXIT_OK;
		default:
			usage(stderr);
			return FS_EXIT_USAGE;
		}
	}
	if ((db != NULL) == (optind < argc)) {
		fs_warn("extract", db ? "give -d DB or LOG..., not both" : "no input: give -d DB or LOG...");
		usage(stderr);
		return FS_EXIT_USAGE;
	}
	fs_err_clear(&err);
	if (db != NULL)
		rc = wl_load_db(&w, db, &xo, &err);
	else
		rc = wl_load_logs(&w, argv + optind, argc - optind, &xo, &err);
	if (rc < 0) {
		fs_warn("extract", "%s", err.msg);
		return FS_EXIT_RUNTIME;
	}
	if (out != NULL && (f = fopen(out, "w")) == NULL) {
		fs_warn("extract", "%s: %s", out, strerror(errno));
		wl_free(&w);
		return FS_EXIT_RUNTIME;
	}
	rc = wl_write(&w, f, db ? st_display_name(db, shown, sizeof(shown)) : argv[optind], &err);
	if (out != NULL && fclose(f) != 0 && rc == 0)
		rc = fs_err_set(&err, errno, "%s", strerror(errno));
	if (rc < 0) {
		fs_warn("extract", "%s: %s", out ? out : "<stdout>", err.msg);
		wl_free(&w);
		return FS_EXIT_RUNTIME;
	}
	if (!fs_global.quiet) {
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
