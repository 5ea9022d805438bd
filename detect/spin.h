/*
 * The streaming spin detector: one state machine, fed one ps_event at a
 * time, used by `ingest`, `spins` and `top` alike.  It implements the
 * design's definitions (architecture.md, "What a spin is"):
 *
 *   wasted examination  EXAMINE of bmap B that ends with B still queued and
 *                       nothing attributed to it (no SCHEDULE, no RPC, not
 *                       retired).  Era A: REQUEUE of B whose latest EXAMINE
 *                       had nothing attributed.  Era Z: `flushable?` of B
 *                       not followed by `try flush` of B before B's next
 *                       `flushable?`.
 *   spin episode        >= min_cycles consecutive wasted examinations of one
 *                       bmap (fid, bno), each within max_gap_us of the
 *                       previous, whichever flush thread made them.
 *   pass                per thread: starts at the first EXAMINE after a
 *                       REQUEUE / is-clean on that thread (era A), or at
 *                       each `work time` / wake (era Z).
 *
 * Results are delivered through callbacks as soon as they are final, so a
 * caller can store them (ingest), print them (spins) or show them (top)
 * without the detector holding history.  Memory is bounded by the number of
 * live bmaps and threads, never by the number of lines.
 */
#ifndef FS_ANALYSIS_SPIN_H
#define FS_ANALYSIS_SPIN_H

#include <stdint.h>

#include "parsers/event.h"
#include "util/err.h"

enum sp_cause {
	SP_CAUSE_INFLIGHT = 0,	/* RPCs outstanding below the window limit */
	SP_CAUSE_THROTTLED,	/* outstanding at the window limit */
	SP_CAUSE_NOTREADY	/* nothing outstanding */
};

/* Returns "inflight", "throttled" or "notready". */
const char *sp_cause_name(enum sp_cause c);

struct sp_options {
	int min_cycles;			/* default 3 */
	int64_t max_gap_us;		/* default 50000 */
	int64_t window_limit;		/* outstanding count meaning "throttled"; default 128 */
};

/* Fills in the design's defaults. */
void sp_options_default(struct sp_options *o);

#define SP_NAME_MAX 64

/* One spin episode, final when delivered. */
struct sp_episode {
	char thread[SP_NAME_MAX];	/* thread that made most of the examinations */
	char tid[SP_NAME_MAX];		/* its tid as logged */
	uint64_t fid;
	uint32_t bno;
	uint64_t addr;			/* bmap address at the first cycle */
	int64_t start_us, end_us;	/* first and last wasted examination */
	uint64_t cycles;		/* wasted examinations in the run */
	int64_t period_us;		/* median gap between consecutive cycles */
	int64_t outstanding_min, outstanding_max;	/* -1 if never logged */
	enum sp_cause cause;
	uint64_t first_off, last_off;	/* source byte offsets of first/last cycle */
};

/* Per-thread figures, cumulative since the detector started. */
struct sp_thread_stats {
	char thread[SP_NAME_MAX];
	char tid[SP_NAME_MAX];
	uint64_t passes;
	uint64_t useless_passes;	/* passes with no useful examination */
	uint64_t examinations;
	uint64_t wasted_examinations;
	int64_t first_us, last_us;	/* time span seen */
	/* pass-period distribution: log2 buckets of the gap between pass
	 * starts, bucket i holds periods in [2^i, 2^(i+1)) microseconds */
	uint64_t period_hist[40];
	int64_t period_p50_us, period_p99_us;	/* from the histogram */
};

struct sp_callbacks {
	void *arg;
	/* An episode ended (its run broke, or sp_detector_finish flushed it). */
	void (*episode)(void *arg, const struct sp_episode *ep);
	/* One wasted examination (for per-second series: plot, top). May be NULL. */
	void (*wasted)(void *arg, const struct ps_event *ev, uint64_t fid, uint32_t bno);
	/* A pass ended on a thread; useful=0 when it did nothing. May be NULL. */
	void (*pass)(void *arg, const char *thread, int64_t start_us, int64_t end_us, int useful);
};

struct sp_detector;

/* Creates a detector; returns NULL with err set on failure. */
struct sp_detector *sp_detector_new(const struct sp_options *opt,
    const struct sp_callbacks *cb, struct fs_err *err);

/* Feeds one event (events must arrive in log order per source). */
void sp_detector_feed(struct sp_detector *d, const struct ps_event *ev);

/* Ends every open run (episodes with >= min_cycles are delivered). */
void sp_detector_finish(struct sp_detector *d);

/* Number of threads seen, and a copy of thread i's figures. */
int sp_detector_nthreads(const struct sp_detector *d);
void sp_detector_thread(const struct sp_detector *d, int i, struct sp_thread_stats *out);

/* Frees the detector (call sp_detector_finish first to get open episodes). */
void sp_detector_free(struct sp_detector *d);

#endif
