/*
 * Replay: a workload (replay/workload.h) fed to libflush under one
 * queueing policy, and the comparison of policies that `replay` prints and
 * `verify` turns into a CI verdict.
 *
 * Inputs only: writes (at their ready times) and forced flushes go to the
 * engine; the recorded RPCs serve only as the service model: an RPC the
 * replayed engine issues for bmap B at offset o gets the latency of the
 * first unused recorded RPC of B overlapping [o, o+len); failing that, a
 * latency drawn (deterministically) from the recorded samples; failing that,
 * the workload's default latency.
 */
#ifndef FS_ANALYSIS_REPLAY_H
#define FS_ANALYSIS_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include "replay/workload.h"
#include "libflush/flush.h"
#include "util/err.h"

/*
 * The CPU model: flush-thread CPU = wake_ns per wake-up + exam_ns per bmap
 * examination + rpc_ns per RPC issued, plus rearm_ns per timer re-arm, the
 * CPU a writer (or the reply thread) spends so that the flush thread need
 * not wake (fl_stats.rearms: one timerfd_settime).  The virtual clock
 * measures no CPU, so this is how its CPU figures and verify's virtual CPU
 * check are made; on the real clock it is printed beside the measured CPU,
 * and rp_fit_cost refits its flush-thread part to what was measured.
 * Defaults: RP_COST_* (see flushscope-replay(1) for the measurements they
 * come from).
 */
struct rp_cost {
	double wake_ns, exam_ns, rpc_ns, rearm_ns;
};

#define RP_COST_WAKE_NS		12000.0
#define RP_COST_EXAM_NS		100.0
#define RP_COST_RPC_NS		1200.0
#define RP_COST_REARM_NS	800.0

/*
 * One libflush tunable set for a replay (replay --set): for every policy
 * when policy is "", else for that one only.  name is fl_tunable_name's;
 * value its integer (nanoseconds for the *_ns ones).
 */
struct rp_setting {
	char policy[16];
	char name[32];
	uint64_t value;
};

#define RP_SET_MAX 16

struct rp_options {
	enum fl_clock clock;
	double speed;		/* real clock: inputs and latencies compressed by this factor */
	int repeat;		/* real clock: runs per policy (0: RP_REAL_REPEATS); medians */
	int calibrate;		/* virtual clock: tick = observed pass period (see rp_run) */
	int keep_samples;	/* keep ready->issue samples (for plots) */
	uint64_t exam_cost_ns;	/* virtual clock: time one examination keeps the thread busy (0) */
	uint64_t wake_latency_ns;	/* virtual clock: signal -> run (RP_ENGINE_DEFAULT) */
	struct rp_cost cost;	/* the CPU model (RP_COST_*) */
	uint64_t batch_ns;	/* deadline's batching window (RP_ENGINE_DEFAULT) */
	struct rp_setting set[RP_SET_MAX];	/* applied last, in order */
	int nset;
};

/*
 * Formats the settings that apply to policy as "max_age_ns=5000000
 * window=64" ("" if none) into buf.
 */
void rp_settings_text(const struct rp_options *o, const char *policy, char *buf, size_t n);

#define RP_REAL_REPEATS		3		/* real-clock runs per policy by default */
#define RP_ENGINE_DEFAULT	UINT64_MAX	/* keep libflush's default (fl_config_init) */

/*
 * Defaults: virtual clock, speed 1, 1 run (3 on the real clock), calibrate
 * on, libflush's wake-up latency and batching window, the RP_COST_* model.
 */
void rp_options_default(struct rp_options *o);

/* One policy's outcome on one workload. */
struct rp_result {
	char policy[16];
	enum fl_clock clock;
	int repeats;
	uint64_t poll_ns;		/* tick used (after calibration) */
	uint64_t line_cost_ns;		/* virtual clock: cost of a logged line used */
	int calibrated;			/* 1: tick = the trace's sleep, lines its gap; 2: tick = its period */
	struct fl_stats st;		/* counters of the median run (by flush CPU) */
	uint64_t flush_cpu_ns;		/* median over repeats (real clock), else 0 */
	uint64_t proc_cpu_ns;		/* median over repeats (real clock), else 0 */
	uint64_t *cpu_runs;		/* flush CPU of each repeat (real clock) */
	int64_t pass_period_us;		/* median gap between visible passes (-1) */
	uint64_t visible_passes;	/* passes that examined at least one bmap */
	uint64_t idle_wakeups;		/* wake-ups with no unsent write and no RPC in flight */
	uint64_t svc_recorded, svc_sampled, svc_default;	/* latency sources used */
	uint64_t *lat_ns;		/* ready->issue per biorq (keep_samples) */
	size_t nlat;
	double model_cpu_ns;		/* the options' CPU model applied to st */
	struct rp_cost cost;		/* that model */
	uint64_t wake_latency_ns;	/* virtual clock: the modelled signal -> run latency */
	uint64_t batch_ns;		/* deadline's batching window used (else 0) */
	char settings[160];		/* the --set tunables applied (rp_settings_text) */
	/* over the trace's span (end_us) and after it; see rp_fidelity_check */
	uint64_t span_exams, span_wasted, span_passes;
	uint64_t after_exams, after_wasted, after_passes;
	/*
	 * The limit (fl_wakeups_min): the fewest wake-ups that issue every
	 * write by its deadline under this policy's budgets, ignoring the
	 * window; for a write the policy issued later, by when it issued it
	 * (the bound for the latency it achieved).  efficiency = wakeups_min /
	 * wake-ups (<= 1).  wakeups_min_budget is the bound for the declared
	 * budgets alone; past_budget counts the writes issued after their
	 * deadline; issue_lag_max_ns is the longest time from the start of a
	 * wake-up's run to an issue in it.  wakeups_min_default: the bound
	 * of the workload for the default budgets (rp_wakeups_min, NULL).
	 */
	uint64_t wakeups_min, wakeups_min_budget, past_budget, issue_lag_max_ns;
	double efficiency;
	uint64_t wakeups_min_default;
	/* writes of the workload that do not fit in their bmap: skipped, reported */
	uint64_t skipped;
	uint64_t skip_line;		/* the first one's line (0: not known) */
	char skip_what[96];		/* and its fields, as a workload line */
};

/* CPU that cost c predicts for the counters of st (ns), re-arms included. */
double rp_model_cpu_ns(const struct rp_cost *c, const struct fl_stats *st);

/*
 * Fits the CPU model to the measured flush CPU of n real-clock results
 * (non-negative weighted least squares on relative error, so a policy that
 * burns little CPU weighs as much as one that burns a lot).  Needs results
 * whose counters differ; *max_rel is the largest |model - measured| /
 * measured over them.  Needs n >= 4 (one more run than costs, so the fit is
 * checked, not just solved).  Returns -1 with err set when the costs cannot
 * be determined.
 */
int rp_fit_cost(const struct rp_result *r, int n, struct rp_cost *out, double *max_rel,
    struct fs_err *err);

/* A cost fit for the report (replay --fit-cost). */
struct rp_fit {
	int ok;				/* else why says what went wrong */
	int n;				/* runs fitted */
	struct rp_cost cost;
	double max_rel;
	char why[sizeof(((struct fs_err *)0)->msg)];
};

/* Fills fit from n real-clock results (rp_fit_cost), never failing: see fit->ok. */
void rp_fit_report(const struct rp_result *r, int n, struct rp_fit *fit);

/*
 * Parses a --cpu-cost value "WAKE,EXAM,RPC[,REARM]": three or four costs
 * in microseconds (e.g. "12,0.1,1.2" or "12,0.1,1.2,0.8"; the re-arm cost
 * stays as it was when not given); -1 with err set otherwise.
 */
int rp_cost_parse(const char *s, struct rp_cost *c, struct fs_err *err);

/* Frees the arrays of a result. */
void rp_result_free(struct rp_result *r);

/*
 * Runs policy on w and fills r.  On the virtual clock with calibrate set and
 * an era-A (or unknown-era) trace, legacy and pendq take the recorded
 * machine's timing, an input, not a policy difference: their tick is the
 * trace's median sleep between passes, each line logged costs its median
 * gap between the lines of a pass, and the pass nearest the trace's first
 * starts with it (a workload without those figures: the tick is the trace's
 * pass period and lines cost nothing).  The engine's wall clock
 * (the 2010 expiry test) is the trace's epoch.  Writes that do not fit in
 * their bmap (a bad record of a log) are skipped and counted in r->skipped.
 * Examinations, wasted examinations and passes are also counted over the
 * trace's span (up to end_us) and after it.  Returns -1 with err set.
 */
int rp_run(const struct wl_workload *w, const char *policy, const struct rp_options *o,
    struct rp_result *r, struct fs_err *err);

/*
 * The lower bound on wake-ups of w (fl_wakeups_min) under the budgets
 * policy has in rp_run with options o (its max age, full-run window and
 * wall-second cap), inputs at their times at o's speed; policy NULL: the
 * default budgets (libflush's: max age 1 ms, a full run 200 us, the
 * batching window).  Returns -1 with err set.
 */
int rp_wakeups_min(const struct wl_workload *w, const char *policy, const struct rp_options *o,
    uint64_t *n, struct fs_err *err);

/*
 * The limit as a curve over the latency budget: out[i] is the fewest
 * wake-ups that issue every write of w within lat_ns[i] of its ready time
 * (and by any forced flush of its bmap), ignoring the RPC window
 * (fl_wakeups_min with max age and batching window lat_ns[i]).  Returns
 * -1 with err set.
 */
int rp_bound_curve(const struct wl_workload *w, const struct rp_options *o, const uint64_t *lat_ns,
    size_t n, uint64_t *out, struct fs_err *err);

/*
 * Fidelity check: the replay of the policy that wrote the trace (legacy for
 * era A, 2010-10 for B, 2011-08 for C, head for Z: rp_fidelity_policy)
 * against what the trace showed.
 */
struct rp_fidelity {
	char policy[16];
	int have_wasted, have_period;
	int64_t trace_wasted, replay_wasted;	/* the replay's within the trace's span */
	int64_t replay_passes;			/* visible passes within the span */
	int64_t after_wasted, after_passes;	/* after the trace's last line: not compared */
	int64_t trace_period_us, replay_period_us;
	double wasted_dev, period_dev;	/* |replay - trace| / trace */
	int ok;				/* both known ones within 5 % */
	char altered[160];		/* the policy ran with these --set tunables: not checked */
};

/* The policy whose replay should reproduce the trace: "head" for era Z, else "legacy" (B, C: theirs). */
const char *rp_fidelity_policy(const struct wl_workload *w);

/* Compares that policy's replay with the trace's observed figures. */
void rp_fidelity_check(const struct wl_workload *w, const struct rp_result *r,
    struct rp_fidelity *f);

/* ---- verify ---- */

struct rp_thresholds {
	double min_cpu_reduction;	/* 0.9 */
	double max_p99_regression_us;	/* 500 (real clock; also virtual if set_p99) */
	int set_p99;			/* the user gave --max-p99-regression */
	int64_t max_wasted;		/* 0 */
	double min_efficiency;		/* 0: not checked (verify --min-efficiency) */
};

/* Fills the defaults above. */
void rp_thresholds_default(struct rp_thresholds *t);

#define RP_CHECK_MAX 8

/* One metric's verdict for one trace. */
struct rp_check {
	char metric[32];		/* "cpu", "p99", "p999", "rpc_size", "wasted", "efficiency" */
	double baseline, candidate, limit;
	int pass;
	char msg[256];			/* the numbers, in words */
};

/*
 * Compares candidate with baseline on one trace.  Latency: candidate p99 and
 * p99.9 no worse (exactly in virtual time; within max(threshold, 5 %) on the
 * real clock).  RPC sizes: mean size no smaller than the baseline's (5 %
 * tolerance), i.e. no more RPCs for the same bytes.  CPU: on the real clock
 * 1 - cand/base flush CPU measured; on the virtual clock the same ratio of
 * modelled CPU (model_cpu_ns).  Wasted: candidate's wasted examinations <= max_wasted.
 * Efficiency (when min_efficiency > 0): the candidate's wakeups_min / wake-ups
 * at least min_efficiency.  Returns the number of checks written to out.
 */
int rp_verify(const struct rp_result *base, const struct rp_result *cand,
    const struct rp_thresholds *t, struct rp_check *out);

/* ---- output ---- */

/* Prints results side by side (table), ratios against the first. */
void rp_print_table(FILE *f, const struct wl_workload *w, const struct rp_result *r, int n,
    const struct rp_fidelity *fid, double speed, const struct rp_fit *fit);

/* Prints one CSV row per policy and metric. */
void rp_print_csv(FILE *f, const struct wl_workload *w, const struct rp_result *r, int n);

/* Prints one JSON object: fidelity, a policies array and the cost fit (if fit). */
void rp_print_json(FILE *f, const struct wl_workload *w, const struct rp_result *r, int n,
    const struct rp_fidelity *fid, double speed, const struct rp_fit *fit);

/* Writes an SVG with a CPU panel and ready->issue latency CDFs per policy. */
int rp_plot_svg(FILE *f, const struct rp_result *r, int n, struct fs_err *err);

#endif
