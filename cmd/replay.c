/*
 * flushscope replay: the recorded workload through libflush under several
 * queueing policies, side by side.  Logic: replay/replay.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/replay.h"
#include "replay/wlsource.h"
#include "cmd/cmd.h"
#include "util/err.h"

#define MAXPOL 8

/* Prints the usage text. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: flushscope replay [-d DB | --workload FILE | LOG...] [--policy P,Q,...]\n"
	    "                         [--clock virtual|real] [--speed X] [--repeat N]\n"
	    "                         [--format=table|csv|json] [--plot FILE.svg] [--no-calibrate]\n"
	    "                         [--exam-cost NS] [--wake-latency DUR] [--cpu-cost W,E,R]\n"
	    "                         [--fit-cost] [--batch DUR]\n"
	    "\n"
	    "Replays the workload recorded in a log, database or workload file through\n"
	    "libflush under each policy (default legacy,deadline) and prints them side by\n"
	    "side with ratios against the first.  Policies: legacy, pendq, deadline, slash2.\n"
	    "\n"
	    "  -d, --db DB          read the workload from an ingested database (a file, or\n"
	    "                       a postgresql:// URI or conninfo string)\n"
	    "      --client NAME    only the sources of this client (a database)\n"
	    "  -w, --workload FILE  read a workload file (flushscope-workload(5))\n"
	    "  -p, --policy LIST    comma-separated policies, the first is the baseline\n"
	    "      --clock C        virtual (default: deterministic counts) or real (CPU measured)\n"
	    "      --speed X        real clock: compress time by X (understates polling cost)\n"
	    "      --repeat N       real clock: runs per policy, medians reported (default 3)\n"
	    "      --format F       table (default), csv or json\n"
	    "      --plot FILE.svg  CPU and ready->issue latency CDFs per policy\n"
	    "      --no-calibrate   virtual clock: keep the 2048 us tick instead of the trace's\n"
	    "                       observed pass period\n"
	    "      --exam-cost NS   virtual clock: time one bmap examination keeps the flush\n"
	    "                       thread busy (0)\n"
	    "      --wake-latency DUR  virtual clock: a signalled flush thread runs this much\n"
	    "                       later; signals meanwhile merge (default 10us)\n"
	    "      --cpu-cost W,E,R CPU model, microseconds per wake-up, examination and RPC\n"
	    "                       (default 12,0.1,1.2): the virtual clock's CPU figures\n"
	    "      --fit-cost       real clock: fit the CPU model to the measured CPU of the\n"
	    "                       policies replayed (give all four) and print it\n"
	    "      --batch DUR      deadline's batching window (default 200us; 0 = send full\n"
	    "                       runs at once); at most the max age (1ms)\n"
	    "\nSee flushscope-replay(1).\n");
}

/* Splits a comma-separated policy list in place. */
static int
split_policies(char *s, char **out, int max)
{
	int n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return -1;
		out[n++] = tok;
	}
	return n;
}

/* The replay command. */
int
cmd_replay(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "workload", required_argument, NULL, 'w' },
		{ "policy", required_argument, NULL, 'p' },
		{ "clock", required_argument, NULL, 'c' },
		{ "speed", required_argument, NULL, 's' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' },
		{ "plot", required_argument, NULL, 'P' },
		{ "no-calibrate", no_argument, NULL, 'N' },
		{ "exam-cost", required_argument, NULL, 'E' },
		{ "wake-latency", required_argument, NULL, 'L' },
		{ "cpu-cost", required_argument, NULL, 'K' },
		{ "fit-cost", no_argument, NULL, 'F' },
		{ "batch", required_argument, NULL, 'B' },
		{ "client", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char defpol[] = "legacy,deadline", *polstr = defpol, *pols[MAXPOL];
	const char *db = NULL, *wlfile = NULL, *plot = NULL, *client = NULL;
	struct rp_options o;
	struct rp_result res[MAXPOL];
	struct rp_fidelity fid, *fidp = NULL;
	struct wl_workload w;
	struct wl_extract_opts xo;
	struct fs_err err;
	struct rp_fit fit, *fitp = NULL;
	int c, fmt = FS_FMT_TABLE, npol, i, nsrc, rc = FS_EXIT_OK, want_fit = 0;
	char *end;
	long lv;

	rp_options_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:w:p:h", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'w':
			wlfile = optarg;
			break;
		case 'U':
			client = optarg;
			break;
		case 'p':
			polstr = optarg;
			break;
		case 'c':
			if ((lv = fs_opt_clock("replay", optarg)) < 0)
				return FS_EXIT_USAGE;
			o.clock = (enum fl_clock)lv;
			break;
		case 's':
			o.speed = strtod(optarg, &end);
			if (*end != '\0' || !(o.speed > 0)) {
				fs_warn("replay", "--speed must be a positive number, not '%s'", optarg);
				return FS_EXIT_USAGE;
			}
			break;
		case 'r':
			if (fs_opt_long("replay", "--repeat", optarg, 1, 1000, &lv) < 0)
				return FS_EXIT_USAGE;
			o.repeat = (int)lv;
			break;
		case 'f':
			if ((fmt = fs_opt_format("replay", optarg)) < 0)
				return FS_EXIT_USAGE;
			break;
		case 'P':
			plot = optarg;
			break;
		case 'N':
			o.calibrate = 0;
			break;
		case 'E':
			o.exam_cost_ns = strtoull(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || o.exam_cost_ns > 1000000000ull) {
				fs_warn("replay", "--exam-cost must be nanoseconds (0..1e9), not '%s'",
				    optarg);
				return FS_EXIT_USAGE;
			}
			break;
		case 'L':
		case 'K':
		case 'B':
			if (fs_opt_model("replay", c, optarg, &o) < 0)
				return FS_EXIT_USAGE;
			break;
		case 'F':
			want_fit = 1;
			break;
		case 'h':
			usage(stdout);
			return FS_EXIT_OK;
		default:
			usage(stderr);
			return FS_EXIT_USAGE;
		}
	}
	if (o.clock == FL_CLOCK_VIRTUAL && o.speed != 1.0)
		fs_warn("replay", "--speed applies to the real clock only; ignored");
	if (want_fit && o.clock != FL_CLOCK_REAL) {
		fs_warn("replay", "--fit-cost needs --clock real (CPU is measured only there)");
		return FS_EXIT_USAGE;
	}
	if (want_fit && fmt == FS_FMT_CSV) {
		fs_warn("replay", "--fit-cost prints in the table and JSON forms, not CSV");
		return FS_EXIT_USAGE;
	}
	if (o.clock == FL_CLOCK_REAL && o.wake_latency_ns != RP_ENGINE_DEFAULT)
		fs_warn("replay", "--wake-latency applies to the virtual clock only; "
		    "the real clock measures it");
	nsrc = (db != NULL) + (wlfile != NULL) + (optind < argc);
	if (nsrc != 1) {
		fs_warn("replay", nsrc ? "give only one of -d DB, --workload FILE or LOG..." :
		    "no input: give -d DB, --workload FILE or LOG...");
		usage(stderr);
		return FS_EXIT_USAGE;
	}
	if ((npol = split_policies(polstr, pols, MAXPOL)) <= 0) {
		fs_warn("replay", "--policy: give 1 to %d policies", MAXPOL);
		return FS_EXIT_USAGE;
	}
	for (i = 0; i < npol; i++) {
		if (fl_policy_parse(pols[i]) < 0) {
			fs_warn("replay", "unknown policy '%s' (legacy, pendq, deadline, slash2)",
			    pols[i]);
			return FS_EXIT_USAGE;
		}
	}
	o.keep_samples = plot != NULL;

	wl_extract_opts_default(&xo);
	xo.client = client;
	fs_err_clear(&err);
	if (db != NULL)
		c = wl_load_db(&w, db, &xo, &err);
	else if (wlfile != NULL)
		c = wl_read_file(&w, wlfile, &err);
	else if (argc - optind == 1)
		c = wl_load(&w, argv[optind], &xo, &err);
	else
		c = wl_load_logs(&w, argv + optind, argc - optind, &xo, &err);
	if (c < 0) {
		fs_warn("replay", "%s", err.msg);
		return FS_EXIT_RUNTIME;
	}

	if (wl_count(&w, WL_WRITE) == 0 && !fs_global.quiet)
		fs_warn("replay", "the workload has no writes: nothing to replay (see flushscope-extract(1))");
	for (i = 0; i < npol; i++) {
		if (!fs_global.quiet && isatty(2))
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
	if (!fs_global.quiet && isatty(2))
		fprintf(stderr, "%40s\r", "");

	if (want_fit) {
		rp_fit_report(res, npol, &fit);
		fitp = &fit;
	}
	if (fmt == FS_FMT_JSON)
		rp_print_json(stdout, &w, res, npol, fidp, o.speed, fitp);
	else if (fmt == FS_FMT_CSV)
		rp_print_csv(stdout, &w, res, npol);
	else
		rp_print_table(stdout, &w, res, npol, fidp, o.speed, fitp);
	if (fidp != NULL && !fidp->ok && fmt != FS_FMT_TABLE && !fs_global.quiet)
		fs_warn("replay", "fidelity: %s replay does not reproduce the trace within 5 %% "
		    "(wasted examinations %lld vs %lld, pass period %lld us vs %lld us)", fidp->policy,
		    (long long)fidp->replay_wasted, (long long)fidp->trace_wasted,
		    (long long)fidp->replay_period_us, (long long)fidp->trace_period_us);
	if (o.clock == FL_CLOCK_REAL && o.speed != 1.0 && fmt != FS_FMT_TABLE && !fs_global.quiet)
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
