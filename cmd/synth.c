/*
 * flushscope synth: run libflush on the virtual clock on a parametric
 * workload and write its psclog to stdout (and the true inputs and counts
 * to --truth FILE).  Option handling and output only; the workload and the
 * engine live in libflush.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "libflush/flush.h"
#include "util/err.h"

/* Prints the usage text. */
static void
synth_usage(FILE *f)
{
	fputs("usage: flushscope synth [--policy legacy|2010-10|2011-08|head|pendq|deadline]\n"
	    "         [--era A|B|C|Z|none]\n"
	    "         [--seed N] [--duration SECONDS] [--files N] [--bmaps N] [--write-size B]\n"
	    "         [--rate WRITES/S] [--burst N] [--burst-gap US] [--poisson] [--no-close]\n"
	    "         [--rpc-latency MS|uniform:A:B|exp:MIN:MEAN] [--outstanding N]\n"
	    "         [--max-age MS] [--poll US] [--timeout MS] [--threads N] [--exam-cost NS]\n"
	    "         [--wake-latency NS] [--batch US] [--truth FILE] [--stats]\n"
	    "         [--clock virtual|real]\n"
	    "Runs the flush engine (on the virtual clock unless --clock real) on a parametric\n"
	    "workload and writes its psclog to stdout.  See flushscope-synth(1).\n", f);
}

/* Parses an unsigned number with bounds; -1 if bad. */
static int
num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

/* The --truth writer state. */
struct truth {
	FILE *f;
};

/* Writes one trace record as a truth line. */
static void
truth_ev(void *arg, const struct fl_trace_ev *ev)
{
	FILE *f = ((struct truth *)arg)->f;

	switch (ev->kind) {
	case FL_TR_ARRIVE:
		fprintf(f, "arrive %" PRIu64 " %" PRIx64 " %u %u %u %" PRIu64 "\n", ev->t_ns,
		    ev->fid, ev->bno, ev->off, ev->len, ev->id);
		break;
	case FL_TR_FORCE:
		if (ev->bno == FL_BMAP_ALL)
			fprintf(f, "force %" PRIu64 " %" PRIx64 " all\n", ev->t_ns, ev->fid);
		else
			fprintf(f, "force %" PRIu64 " %" PRIx64 " %u\n", ev->t_ns, ev->fid, ev->bno);
		break;
	case FL_TR_WAKE:
		fprintf(f, "wake %" PRIu64 " %u %s\n", ev->t_ns, ev->thread,
		    ev->reason == 1 ? "timeout" : "signal");
		break;
	case FL_TR_PASS:
		fprintf(f, "pass %" PRIu64 " %u\n", ev->t_ns, ev->thread);
		break;
	case FL_TR_IDLE: {
		/* idle wake-ups accounted in bulk: the lines they would have been */
		uint64_t i, t;

		for (i = 0, t = ev->t_ns; i < ev->count; i++, t += ev->period_ns) {
			fprintf(f, "wake %" PRIu64 " %u timeout\n", t, ev->thread);
			if (ev->pass)
				fprintf(f, "pass %" PRIu64 " %u\n", t, ev->thread);
		}
		break;
	}
	case FL_TR_EXAMINE:
		fprintf(f, "examine %" PRIu64 " %u %" PRIx64 " %u %s\n", ev->t_ns, ev->thread,
		    ev->fid, ev->bno, ev->wasted ? "wasted" : "useful");
		break;
	case FL_TR_REQUEUE:
		fprintf(f, "requeue %" PRIu64 " %" PRIx64 " %u\n", ev->t_ns, ev->fid, ev->bno);
		break;
	case FL_TR_CLEAN:
		fprintf(f, "clean %" PRIu64 " %" PRIx64 " %u\n", ev->t_ns, ev->fid, ev->bno);
		break;
	case FL_TR_DONE:
		fprintf(f, "rpc %" PRIu64 " %" PRIx64 " %u %u %u %" PRIu64 " %" PRIu64 " %" PRIu64
		    "\n", ev->rpc->xid, ev->fid, ev->bno, ev->off, ev->len, ev->rpc->issue_ns,
		    ev->rpc->done_ns, ev->rpc->done_ns - ev->rpc->issue_ns);
		break;
	default:
		break;
	}
}

/* Writes the counters as "name value" lines; real adds the machine measurements. */
static void
print_stats(FILE *f, const char *pfx, const struct fl_stats *st, int real)
{
	int i;

#define S(n) fprintf(f, "%s%s %" PRIu64 "\n", pfx, #n, (uint64_t)st->n)
	S(wakeups); S(wake_timeout); S(wake_signal); S(wake_useless); S(passes);
	S(exams); S(wasted); S(wasted_inflight); S(wasted_throttled); S(wasted_notready);
	S(requeues); S(skipped_passes); S(writes); S(bytes_written); S(forces); S(rpcs);
	S(bytes_sent); S(rpcs_full); S(rpcs_expired); S(rpcs_forced); S(rpcs_early); S(max_outstanding);
	S(window_full_ns); S(ready_issue.p50); S(ready_issue.p99); S(ready_issue.p999);
	S(ready_issue.max); S(late_writes); S(late_max_ns); S(late_total_ns); S(end_ns);
	S(drain_ns); S(events);
	if (real) {
		/* measurements of this machine: not reproducible */
		S(flush_cpu_ns); S(flush_nvcsw); S(flush_nivcsw); S(proc_cpu_ns); S(wall_ns);
		S(replay_late.p99); S(replay_late.max);
	}
#undef S
	for (i = 0; i < FL_SIZE_BUCKETS; i++)
		fprintf(f, "%srpc_size%s %" PRIu64 "\n", pfx, fl_size_bucket_name(i),
		    st->rpc_size_hist[i]);
}

/* flushscope synth. */
int
cmd_synth(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "era", required_argument, NULL, 'e' },
		{ "seed", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "files", required_argument, NULL, 'f' },
		{ "bmaps", required_argument, NULL, 'b' },
		{ "write-size", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'r' },
		{ "burst", required_argument, NULL, 'B' },
		{ "burst-gap", required_argument, NULL, 'G' },
		{ "poisson", no_argument, NULL, 'P' },
		{ "no-close", no_argument, NULL, 'C' },
		{ "rpc-latency", required_argument, NULL, 'l' },
		{ "outstanding", required_argument, NULL, 'o' },
		{ "max-age", required_argument, NULL, 'a' },
		{ "poll", required_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 't' },
		{ "threads", required_argument, NULL, 'n' },
		{ "exam-cost", required_argument, NULL, 'x' },
		{ "wake-latency", required_argument, NULL, 'L' },
		{ "batch", required_argument, NULL, 'W' },
		{ "truth", required_argument, NULL, 'u' },
		{ "stats", no_argument, NULL, 'S' },
		{ "clock", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct fl_config c;
	struct fl_synth sy;
	struct fl_engine *e;
	struct fl_stats st;
	struct fs_err err;
	struct truth tr = { NULL };
	const char *policy = "legacy", *truthpath = NULL, *lat = "uniform:20:40";
	int era = -1, opt, want_stats = 0, rc = FS_EXIT_OK, real = 0, li = -1;
	double v, age = -1, poll = -1, tmo = -1, win = -1, thr = -1, cost = -1, wlat = -1, batch = -1;
	size_t i;

	fs_err_clear(&err);
	fl_synth_defaults(&sy);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lo, &li)) != -1) {
		const char *a = optarg;

		switch (opt) {
		case 'p': policy = a; break;
		case 'e':
			if ((era = fl_era_parse(a)) < 0)
				goto bad;
			break;
		case 's': if (num(a, 0, 1e18, &v) < 0) goto bad; sy.seed = (uint64_t)v; break;
		case 'd': if (num(a, 0, 1e6, &v) < 0) goto bad; sy.duration_ns = (uint64_t)(v * 1e9); break;
		case 'f': if (num(a, 1, 1e6, &v) < 0) goto bad; sy.files = (unsigned)v; break;
		case 'b': if (num(a, 1, 1e6, &v) < 0) goto bad; sy.bmaps = (unsigned)v; break;
		case 'w': if (num(a, 1, FL_BMAP_SIZE, &v) < 0) goto bad; sy.write_size = (uint32_t)v; break;
		case 'r': if (num(a, 1e-6, 1e9, &v) < 0) goto bad; sy.rate = v; break;
		case 'B': if (num(a, 1, 1e6, &v) < 0) goto bad; sy.burst = (unsigned)v; break;
		case 'G': if (num(a, 0, 1e9, &v) < 0) goto bad; sy.burst_gap_ns = (uint64_t)(v * 1e3); break;
		case 'P': sy.poisson = 1; break;
		case 'C': sy.close_at_end = 0; break;
		case 'l': lat = a; break;
		case 'o': if (num(a, 1, 1e6, &win) < 0) goto bad; break;
		case 'a': if (num(a, 0, 1e9, &age) < 0) goto bad; break;
		case 'T': if (num(a, 1, 1e9, &poll) < 0) goto bad; break;
		case 't': if (num(a, 1, 1e9, &tmo) < 0) goto bad; break;
		case 'n': if (num(a, 1, 64, &thr) < 0) goto bad; break;
		case 'x': if (num(a, 0, 1e9, &cost) < 0) goto bad; break;
		case 'L': if (num(a, 0, 1e9, &wlat) < 0) goto bad; break;
		case 'W': if (num(a, 0, 1e6, &batch) < 0) goto bad; break;
		case 'u': truthpath = a; break;
		case 'S': want_stats = 1; break;
		case 'c':
			if (strcmp(a, "real") == 0)
				real = 1;
			else if (strcmp(a, "virtual") == 0)
				real = 0;
			else
				goto bad;
			break;
		case 'h': synth_usage(stdout); return FS_EXIT_OK;
		case ':':
			fs_warn("synth", "option '%s' needs a value", argv[optind - 1]);
			return FS_EXIT_USAGE;
		default:
			fs_warn("synth", "unknown option '%s'", argv[optind - 1]);
			synth_usage(stderr);
			return FS_EXIT_USAGE;
		}
		continue;
bad:
		fs_warn("synth", "bad value '%s' for --%s", a, li >= 0 ? lo[li].name : "?");
		return FS_EXIT_USAGE;
	}
	if (optind < argc) {
		fs_warn("synth", "unexpected argument '%s'", argv[optind]);
		return FS_EXIT_USAGE;
	}
	if (fl_config_init(&c, policy) < 0) {
		fs_warn("synth", "unknown policy '%s' (%s)", policy, fl_policy_list());
		return FS_EXIT_USAGE;
	}
	if (fl_transport_parse(&c.transport, lat, &err) < 0) {
		fs_warn("synth", "%s", err.msg);
		return FS_EXIT_USAGE;
	}
	c.transport.seed = sy.seed;
	if (era < 0)
		era = (int)fl_policy_info(c.policy)->era;	/* each policy writes its own era */
	if (age >= 0) c.tun.max_age_ns = (uint64_t)(age * 1e6);
	if (poll > 0) c.tun.poll_ns = (uint64_t)(poll * 1e3);
	if (tmo > 0) c.tun.safety_timeout_ns = (uint64_t)(tmo * 1e6);
	if (win > 0) c.tun.window = (unsigned)win;
	if (thr > 0) c.tun.threads = (unsigned)thr;
	if (cost >= 0) c.tun.exam_cost_ns = (uint64_t)cost;
	if (wlat >= 0) c.tun.wake_latency_ns = (uint64_t)wlat;
	if (batch >= 0)
		c.tun.batch_ns = (uint64_t)(batch * 1000);
	else if (c.tun.batch_ns > c.tun.max_age_ns)
		c.tun.batch_ns = c.tun.max_age_ns;	/* the default window, for a shorter max age */
	c.era = (enum fl_era)era;
	c.clock = real ? FL_CLOCK_REAL : FL_CLOCK_VIRTUAL;
	c.log = era == FL_ERA_NONE ? NULL : stdout;
	if (truthpath != NULL) {
		if ((tr.f = fopen(truthpath, "w")) == NULL) {
			fs_warn("synth", "%s: %s", truthpath, strerror(errno));
			return FS_EXIT_RUNTIME;
		}
		fprintf(tr.f, "# flushscope synth truth v1 (see flushscope-synth(1))\n"
		    "config policy=%s era=%s seed=%" PRIu64 " duration_ns=%" PRIu64 " files=%u "
		    "bmaps=%u write_size=%u rate=%g burst=%u latency=%s window=%u max_age_ns=%"
		    PRIu64 " poll_ns=%" PRIu64 "\n", fl_policy_name(c.policy),
		    fl_era_name((enum fl_era)era), sy.seed,
		    sy.duration_ns, sy.files, sy.bmaps, sy.write_size, sy.rate, sy.burst, lat,
		    c.tun.window, c.tun.max_age_ns, c.tun.poll_ns);
		c.trace = truth_ev;
		c.trace_arg = &tr;
	}
	if ((e = fl_engine_new(&c, &err)) == NULL) {
		fs_warn("synth", "%s", err.msg);
		rc = FS_EXIT_USAGE;
		goto out;
	}
	if (fl_synth_add(e, &sy, &err) < 0) {
		fs_warn("synth", "%s", err.msg);
		rc = FS_EXIT_USAGE;
	} else if (fl_engine_run(e, &err) < 0) {
		fs_warn("synth", "%s", err.msg);
		rc = FS_EXIT_RUNTIME;
	}
	fl_engine_stats(e, &st);
	if (tr.f != NULL) {
		for (i = 0; i < fl_engine_nbmaps(e); i++) {
			struct fl_bmap_stats bs;

			fl_engine_bmap_stats(e, i, &bs);
			fprintf(tr.f, "bmap %" PRIx64 " %u writes=%" PRIu64 " exams=%" PRIu64
			    " wasted=%" PRIu64 " requeues=%" PRIu64 " rpcs=%" PRIu64 " bytes=%"
			    PRIu64 "\n", bs.fid, bs.bno, bs.writes, bs.exams, bs.wasted,
			    bs.requeues, bs.rpcs, bs.bytes_sent);
		}
		print_stats(tr.f, "stat ", &st, real);
	}
	if (want_stats)
		print_stats(stderr, "", &st, 1);
	fl_engine_free(e);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fs_warn("synth", "writing the log: %s", strerror(errno));
		rc = FS_EXIT_RUNTIME;
	}
out:
	if (tr.f != NULL && fclose(tr.f) != 0) {
		fs_warn("synth", "%s: %s", truthpath, strerror(errno));
		rc = FS_EXIT_RUNTIME;
	}
	return rc;
}
