/*
 * flushscope synth: run libflush on the virtual clock on a parametric
 * workload and write its psclog to stdout (and the true inputs and counts
 * to --truth FILE).  Option handling and output only; the workload and the
 * engine live in libflush.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "libflush/flush.h"
#include "util/err.h"

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

/* --rpc-latency: the transport and the spec as given. */
struct lat_spec {
	struct fl_transport t;
	const char *spec;
};

/* Parses --era: A, B, C, Z or none, or the date of a client (fl_era_parse). */
static int
parse_era(const char *arg, void *dst, struct fs_err *err)
{
	int e = fl_era_parse(arg);

	if (e < 0)
		return fs_err_set(err, EINVAL, "'%s': want A, B, C, Z or none (or 2010-08, "
		    "2010-10, 2011-08, head)", arg);
	*(int *)dst = e;
	return 0;
}

/* Parses --rpc-latency: DURATION, uniform:DURATION:DURATION or exp:DURATION:DURATION. */
static int
parse_latency(const char *arg, void *dst, struct fs_err *err)
{
	struct lat_spec *l = dst;
	char buf[128], *a, *b;
	int uni;

	memset(&l->t, 0, sizeof(l->t));
	l->spec = arg;
	if (strlen(arg) >= sizeof(buf))
		return fs_err_set(err, EINVAL, "'%s' is too long", arg);
	strcpy(buf, arg);
	if (strncmp(buf, "uniform:", 8) != 0 && strncmp(buf, "exp:", 4) != 0) {
		l->t.kind = FL_LAT_FIXED;
		return fs_parse_duration(buf, 0, &l->t.fixed_ns, err);
	}
	uni = buf[0] == 'u';
	a = buf + (uni ? 8 : 4);
	if ((b = strchr(a, ':')) == NULL)
		return fs_err_set(err, EINVAL, "'%s': want %s", arg,
		    uni ? "uniform:MIN:MAX" : "exp:MIN:MEAN");
	*b++ = '\0';
	if (fs_parse_duration(a, 0, &l->t.a_ns, err) < 0 ||
	    fs_parse_duration(b, 0, &l->t.b_ns, err) < 0)
		return -1;
	if (uni && l->t.b_ns < l->t.a_ns)
		return fs_err_set(err, EINVAL, "'%s': MAX is below MIN", arg);
	l->t.kind = uni ? FL_LAT_UNIFORM : FL_LAT_EXP;
	return 0;
}

struct synth_args {
	const char *policy, *truth;
	int era, clock, poisson, no_close, stats;
	long long seed, files, bmaps, burst, outstanding, threads;
	double rate;
	uint64_t write_size;
	uint64_t duration_ns, burst_gap_ns, max_age_ns, poll_ns, timeout_ns, exam_cost_ns;
	uint64_t wake_latency_ns, batch_ns;
	struct lat_spec lat;
};

#define A struct synth_args
static const struct fs_opt synth_opts[] = {
	FS_OPT_STRING('p', "policy", A, policy, "POLICY", "legacy", "the queueing policy"),
	FS_OPT_CUSTOM(0, "era", A, era, "A|B|C|Z|none", NULL, parse_era,
	    "log format (default: the policy's own era; A for pendq and deadline); none "
	    "writes no log"),
	FS_OPT_COUNT(0, "seed", A, seed, "N", "1", 0, 1e18,
	    "seed of the workload and of the latencies"),
	FS_OPT_DURATION(0, "duration", A, duration_ns, "1s", 0, 1e6 * FS_NS_S,
	    "length of the arrival period"),
	FS_OPT_COUNT(0, "files", A, files, "N", "1", 1, 1e6, "files written"),
	FS_OPT_COUNT(0, "bmaps", A, bmaps, "N", "2", 1, 1e6, "bmaps per file"),
	FS_OPT_SIZE(0, "write-size", A, write_size, "32K", 1, 128 << 20, "bytes per write"),
	FS_OPT_NUMBER(0, "rate", A, rate, "WRITES/S", "1000", 1e-6, 1e9,
	    "mean arrival rate, writes per second"),
	FS_OPT_COUNT(0, "burst", A, burst, "N", "1", 1, 1e6, "writes per burst"),
	FS_OPT_DURATION(0, "burst-gap", A, burst_gap_ns, "10us", 0, 1e9 * FS_NS_US,
	    "spacing of the writes of a burst (0: together)"),
	FS_OPT_FLAG(0, "poisson", A, poisson, "exponential gaps between bursts"),
	FS_OPT_FLAG(0, "no-close", A, no_close, "no forced flush (close) at the end"),
	FS_OPT_CUSTOM(0, "rpc-latency", A, lat, "LATENCY", "uniform:20ms:40ms", parse_latency,
	    "RPC service time: DURATION, uniform:MIN:MAX or exp:MIN:MEAN"),
	FS_OPT_COUNT(0, "outstanding", A, outstanding, "N", NULL, 1, 1e6,
	    "window of outstanding RPCs per I/O server (default: the policy's; 128, 16 for "
	    "2011-08, 480 for head)"),
	FS_OPT_DURATION(0, "max-age", A, max_age_ns, NULL, 0, 1000 * FS_NS_S,
	    "coalescer maximum age (default: the policy's, 1ms; 10ms for 2011-08 and head)"),
	FS_OPT_DURATION(0, "poll", A, poll_ns, NULL, 1, 1000 * FS_NS_S,
	    "legacy's and pendq's tick (default 2048us)"),
	FS_OPT_DURATION(0, "timeout", A, timeout_ns, NULL, 1, 1000 * FS_NS_S,
	    "the timed wait (default: the policy's; 2010-10 100ms, 2011-08 1s, head 2s)"),
	FS_OPT_COUNT(0, "threads", A, threads, "N", NULL, 1, 64,
	    "flush threads (default: the policy's; 16 for head, else 1)"),
	FS_OPT_DURATION(0, "exam-cost", A, exam_cost_ns, NULL, 0, 1 * FS_NS_S,
	    "virtual time one bmap examination takes (default 0)"),
	FS_OPT_DURATION(0, "wake-latency", A, wake_latency_ns, NULL, 0, 1 * FS_NS_S,
	    "virtual clock: signal to running flush thread (default 10us)"),
	FS_OPT_DURATION(0, "batch", A, batch_ns, NULL, 0, 1 * FS_NS_S,
	    "deadline's batching window, at most the max age (default 200us)"),
	FS_OPT_CHOICE(0, "clock", A, clock, "virtual|real", "virtual",
	    "the engine's clock (real: threads and sleeps, not reproducible)"),
	FS_OPT_STRING(0, "truth", A, truth, "FILE", NULL,
	    "write the true inputs and counts to FILE"),
	FS_OPT_FLAG(0, "stats", A, stats, "print the engine counters on stderr"),
	FS_OPT_END
};
#undef A

const struct fs_cmdspec fs_spec_synth = {
	.name = "synth",
	.usage = { "" },
	.min_ops = 0, .max_ops = 0,
	.summary = "Runs the flush engine on a synthetic workload and writes its psclog.",
	.notes = "The engine runs on the virtual clock unless --clock real: the same arguments\n"
	    "give the same bytes.  The log goes to standard output.\n",
	.opts = synth_opts,
};

/* flushscope synth. */
int
cmd_synth(int argc, char **argv)
{
	struct synth_args a;
	struct fs_args fa;
	struct fl_config c;
	struct fl_synth sy;
	struct fl_engine *e;
	struct fl_stats st;
	struct fs_err err;
	struct truth tr = { NULL };
	char pols[128];
	int era, rc = FS_EXIT_OK, real;
	size_t i;

	memset(&a, 0, sizeof(a));
	if ((rc = fs_opt_parse(&fs_spec_synth, &a, argc, argv, &fa)) != 0)
		return rc == FS_OPT_HELP ? FS_EXIT_OK : FS_EXIT_USAGE;
	fs_err_clear(&err);
	real = a.clock == 1;
	if (fl_config_init(&c, a.policy) < 0) {
		fs_policy_list(pols, sizeof(pols));
		return fs_usage(&fs_spec_synth, "--policy: unknown policy '%s' (%s)", a.policy,
		    pols);
	}
	/* each policy writes its own era unless told */
	era = fs_opt_given(&fs_spec_synth, &fa, "era") ? a.era :
	    (int)fl_policy_info(c.policy)->era;
	fl_synth_defaults(&sy);
	sy.seed = (uint64_t)a.seed;
	sy.duration_ns = a.duration_ns;
	sy.files = (unsigned)a.files;
	sy.bmaps = (unsigned)a.bmaps;
	sy.write_size = (uint32_t)a.write_size;
	sy.rate = a.rate;
	sy.burst = (unsigned)a.burst;
	sy.burst_gap_ns = a.burst_gap_ns;
	sy.poisson = a.poisson;
	sy.close_at_end = !a.no_close;
	c.transport.kind = a.lat.t.kind;
	c.transport.fixed_ns = a.lat.t.fixed_ns;
	c.transport.a_ns = a.lat.t.a_ns;
	c.transport.b_ns = a.lat.t.b_ns;
	c.transport.seed = sy.seed;
#define GIVEN(n) fs_opt_given(&fs_spec_synth, &fa, n)
	if (GIVEN("max-age"))
		c.tun.max_age_ns = a.max_age_ns;
	if (GIVEN("poll"))
		c.tun.poll_ns = a.poll_ns;
	if (GIVEN("timeout"))
		c.tun.safety_timeout_ns = a.timeout_ns;
	if (GIVEN("outstanding"))
		c.tun.window = (unsigned)a.outstanding;
	if (GIVEN("threads"))
		c.tun.threads = (unsigned)a.threads;
	if (GIVEN("exam-cost"))
		c.tun.exam_cost_ns = a.exam_cost_ns;
	if (GIVEN("wake-latency"))
		c.tun.wake_latency_ns = a.wake_latency_ns;
	if (GIVEN("batch")) {
		if (a.batch_ns > c.tun.max_age_ns) {
			char x[32], y[32];

			fs_fmt_duration(x, sizeof(x), (double)a.batch_ns);
			fs_fmt_duration(y, sizeof(y), (double)c.tun.max_age_ns);
			return fs_usage(&fs_spec_synth, "--batch: %s is longer than the max age (%s)",
			    x, y);
		}
		c.tun.batch_ns = a.batch_ns;
	}
	else if (c.tun.batch_ns > c.tun.max_age_ns)
		c.tun.batch_ns = c.tun.max_age_ns;	/* the default window, for a shorter max age */
#undef GIVEN
	c.era = (enum fl_era)era;
	c.clock = real ? FL_CLOCK_REAL : FL_CLOCK_VIRTUAL;
	c.log = era == FL_ERA_NONE ? NULL : stdout;
	/* The engine checks the configuration before anything is written. */
	if ((e = fl_engine_new(&c, &err)) == NULL)
		return fs_usage(&fs_spec_synth, "%s", err.msg);
	fl_engine_free(e);
	if (a.truth != NULL) {
		if ((tr.f = fopen(a.truth, "w")) == NULL) {
			fs_warn("synth", "%s: %s", a.truth, strerror(errno));
			return FS_EXIT_RUNTIME;
		}
		fprintf(tr.f, "# flushscope synth truth v1 (see flushscope-synth(1))\n"
		    "config policy=%s era=%s seed=%" PRIu64 " duration_ns=%" PRIu64 " files=%u "
		    "bmaps=%u write_size=%u rate=%g burst=%u latency=%s window=%u max_age_ns=%"
		    PRIu64 " poll_ns=%" PRIu64 "\n", fl_policy_name(c.policy),
		    fl_era_name((enum fl_era)era), sy.seed,
		    sy.duration_ns, sy.files, sy.bmaps, sy.write_size, sy.rate, sy.burst,
		    a.lat.spec, c.tun.window, c.tun.max_age_ns, c.tun.poll_ns);
		c.trace = truth_ev;
		c.trace_arg = &tr;
	}
	if ((e = fl_engine_new(&c, &err)) == NULL) {
		fs_warn("synth", "%s", err.msg);
		if (tr.f != NULL)
			fclose(tr.f);
		return FS_EXIT_RUNTIME;
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
	if (a.stats)
		print_stats(stderr, "", &st, 1);
	fl_engine_free(e);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fs_warn("synth", "writing the log: %s", strerror(errno));
		rc = FS_EXIT_RUNTIME;
	}
	if (tr.f != NULL && fclose(tr.f) != 0) {
		fs_warn("synth", "%s: %s", a.truth, strerror(errno));
		rc = FS_EXIT_RUNTIME;
	}
	return rc;
}
