/*
 * Tune: a sweep of policies x tunables over one workload in virtual time,
 * the points' CPU and latency, the Pareto frontier of CPU against p99, and
 * the cheapest point under a latency constraint (flushscope tune).
 *
 * Every point is one rp_run with its settings (rp_options.set); points are
 * independent, so tn_sweep runs them on several threads, and each result
 * lands in its own slot: the output does not depend on the thread count.
 */
#ifndef FS_REPLAY_TUNE_H
#define FS_REPLAY_TUNE_H

#include <stddef.h>
#include <stdint.h>

#include "replay/replay.h"
#include "replay/workload.h"
#include "util/err.h"

#define TN_AXES_MAX	4	/* tunables varied per policy */
#define TN_VALUES_MAX	16	/* values per tunable */
#define TN_POLICIES_MAX	8

/* One tunable and the values it takes (integers: ns for the *_ns ones). */
struct tn_axis {
	char name[32];			/* fl_tunable_name */
	uint64_t v[TN_VALUES_MAX];
	int n;
};

/* The grid of one policy: every combination of its axes' values. */
struct tn_grid {
	char policy[16];
	struct tn_axis ax[TN_AXES_MAX];
	int nax;
};

/*
 * Fills the default grid of policy (the tunables that trade its CPU against
 * latency, around its defaults, which are among the values); -1 if unknown.
 */
int tn_default_grid(const char *policy, struct tn_grid *g);

/*
 * Sets axis name of g to the values given (replacing an axis of that name,
 * else adding one); -1 with err set when g already has TN_AXES_MAX axes.
 */
int tn_grid_set(struct tn_grid *g, const struct tn_axis *a, struct fs_err *err);

/* One point of the sweep: a policy, its settings, and what the replay did. */
struct tn_point {
	char policy[16];
	struct rp_setting set[TN_AXES_MAX];	/* policy-scoped (rp_setting.policy) */
	int nset;
	int valid;			/* 0: the engine refused the combination (why) */
	char why[sizeof(((struct fs_err *)0)->msg)];
	double cpu_ns;			/* modelled flush-thread CPU */
	uint64_t wakeups, rpcs, bytes, late, wasted;
	uint64_t p50_ns, p99_ns, max_ns;	/* ready -> issue */
	double mean_rpc_bytes;
	/*
	 * The lower bound for this point's own budgets and the latency it
	 * achieved, and wakeups_min / wakeups: replay's figures
	 * (rp_result.wakeups_min, efficiency)
	 */
	uint64_t wakeups_min;
	double efficiency;
	int pareto;			/* on the frontier of CPU against p99 */
};

/*
 * Expands grids into points (in grid order, the last axis fastest) and
 * replays each on w with the options base (its own settings added after
 * base's), on jobs threads (1: in this thread).  A combination the engine
 * refuses (a batching window over the max age) is kept as an invalid point
 * with its reason.  Then marks the Pareto frontier among valid points.
 * Returns 0 and *out (free with free()), or -1 with err set.
 */
int tn_sweep(const struct wl_workload *w, const struct tn_grid *grids, int ngrids,
    const struct rp_options *base, int jobs, struct tn_point **out, size_t *n,
    struct fs_err *err);

/* Fills a point from a replay's result (also used for the baseline). */
void tn_point_from(struct tn_point *p, const struct rp_result *r);

/*
 * Marks pareto on the valid points: no other valid point has CPU and p99
 * both no higher and one lower.
 */
void tn_pareto(struct tn_point *p, size_t n);

/*
 * The cheapest valid point whose p99 is at most max_p99_ns (CPU, then
 * wake-ups, then p99, then sweep order); -1 if none meets it.
 */
long tn_recommend(const struct tn_point *p, size_t n, uint64_t max_p99_ns);

/* One point of the bound curve: the fewest wake-ups that send every write within latency_ns. */
struct tn_bound {
	uint64_t latency_ns, wakeups_min;
};

/*
 * The bound curve over the latencies the sweep spans (rp_bound_curve at
 * 1-2-5 steps from the step at or below the smallest p99 of the valid
 * points and the baseline, at least 1 us, to the step at or above the
 * largest, at most TN_BOUND_MAX steps).  Returns 0 and *out (free with
 * free()), or -1 with err set.
 */
#define TN_BOUND_MAX	64
int tn_bound_curve(const struct wl_workload *w, const struct rp_options *o,
    const struct tn_point *p, size_t n, const struct tn_point *base, struct tn_bound **out,
    size_t *nout, struct fs_err *err);

#endif
