/*
 * The streaming spin detector: one state machine, fed one ps_event at a
 * time, and the ONE judge of what the flush path did.  ingest, spins, top,
 * extract and replay's trace figures all take examinations, passes, runs
 * and episodes from it (through its callbacks and its per-thread figures)
 * and never re-derive them.  It implements the design's definitions
 * (architecture.md, "What a spin is"):
 *
 *   examination         one EXAMINE line of bmap B, decided as
 *     useful            progress on B followed in the examining thread's
 *                       pass (a SCHEDULE, an RPC sent for B, B retired);
 *     wasted            B stayed queued without progress.  Era A: the
 *                       REQUEUE of B ends its examination with nothing
 *                       attributed.  Middle era and era Z (`checking for
 *                       flush`, `flushable?`): no `try flush` of B followed
 *                       in the same call of the examining thread, decided
 *                       by that thread's next examination of B, its end-
 *                       of-pass line (`work time`, 2011's `flush (...)`),
 *                       another thread's examination of B after its flush
 *                       lines paused for more than SP_BURST_GAP_US (in a
 *                       log without end-of-pass lines), or B leaving the
 *                       queue on another thread, whichever comes first.
 *                       Threads examining B at once each have their own.
 *                       A `flushable?` of a bmap whose flags say clean
 *                       (ps_event bmap.dirty 0: 2011-08 to 2015) is
 *                       useful: that scan removes it without a line;
 *     undecided         the log does not say: the examining thread's pass
 *                       is cut off by the end of the log (or B went idle
 *                       for the stale window), or an era-A examination was
 *                       followed by another one of B by the same thread
 *                       without REQUEUE.
 *                       Counted as an examination, never as wasted.
 *   pass                per thread: starts at the first EXAMINE after a
 *                       REQUEUE / is-clean on that thread (era A), after an
 *                       end-of-pass line (era Z), or (middle era, or era Z
 *                       without end-of-pass lines) after a pause of more
 *                       than SP_BURST_GAP_US in the thread's flush lines;
 *                       in every era, at an EXAMINE of a bmap the thread
 *                       already examined in its pass (a pass examines a
 *                       bmap once).
 *                       Useful if any of its examinations was useful.
 *   run                 consecutive wasted examinations of one bmap (fid,
 *                       bno), each within max_gap_us of the previous,
 *                       whichever flush thread made them; a useful or
 *                       undecided examination, a gap, or B leaving the
 *                       queue ends it.
 *   spin episode        a run of >= min_cycles.
 *
 * Lines are attributed to bmaps before they reach the detector (ev->bm_*,
 * parsers/source.h); events without a timestamp are ignored.
 *
 * Memory is bounded by the live bmaps (those active in the last
 * SP_STALE_US of log time, or still queued) and the threads, never by the
 * number of lines.
 */
#ifndef FS_DETECT_SPIN_H
#define FS_DETECT_SPIN_H

#include <stdint.h>

#include "parsers/event.h"
#include "util/err.h"

#define SP_STALE_US	(300LL * 1000000)	/* a bmap silent this long (log time) is forgotten */
#define SP_BURST_GAP_US	1000			/* pass split without end-of-pass lines */

enum sp_cause {
	SP_CAUSE_INFLIGHT = 0,	/* RPCs outstanding below the window limit */
	SP_CAUSE_THROTTLED,	/* outstanding at the window limit */
	SP_CAUSE_NOTREADY	/* nothing outstanding */
};

/* Returns "inflight", "throttled" or "notready". */
const char *sp_cause_name(enum sp_cause c);

/* Parses a cause name; -1 if unknown. */
int sp_cause_parse(const char *s);

struct sp_options {
	int min_cycles;			/* default 3 */
	int64_t max_gap_us;		/* default 50000 */
	int64_t window_limit;		/* outstanding count meaning "throttled"; default 128 */
};

/* Fills in the design's defaults. */
void sp_options_default(struct sp_options *o);

#define SP_NAME_MAX 64

/* Buckets of a thread's pass-period histogram: floor(log2(us)), the last open-ended. */
#define SP_PERIOD_BUCKETS 40

/* One spin episode, final when delivered. */
/*
 * An episode's figures: all of an episode but its thread's names, which a
 * report keeps once per thread (report/spinreport.h).
 */
struct sp_ep_figures {
	uint32_t bno;
	enum sp_cause cause;
	uint64_t fid;
	uint64_t addr;			/* bmap address at the first cycle */
	int64_t start_us, end_us;	/* first and last wasted examination */
	uint64_t cycles;		/* wasted examinations in the run */
	int64_t period_us;		/* median gap between consecutive cycles */
	int64_t outstanding_min, outstanding_max;	/* -1 if never logged */
	uint64_t first_off, last_off;	/* source byte offsets of first/last cycle */
};

struct sp_episode {
	char thread[SP_NAME_MAX];	/* thread that made most of the examinations */
	char tid[SP_NAME_MAX];		/* its tid as logged */
	struct sp_ep_figures f;
};

/* Per-thread figures, cumulative since the detector started. */
struct sp_thread_stats {
	char thread[SP_NAME_MAX];
	char tid[SP_NAME_MAX];
	uint64_t passes;
	uint64_t useless_passes;	/* passes with no useful examination */
	uint64_t examinations;		/* EXAMINE lines (useful + wasted + undecided) */
	uint64_t wasted_examinations;
	int64_t first_us, last_us;	/* time span seen */
	int64_t first_pass_us;		/* start of its first pass; INT64_MIN if none */
	/* pass-period distribution: log2 buckets of the gap between pass
	 * starts, bucket i holds periods in [2^i, 2^(i+1)) microseconds */
	uint64_t period_hist[SP_PERIOD_BUCKETS];
	int64_t period_p50_us, period_p99_us;	/* -1 if fewer than two passes */
	/*
	 * The pass's timing, for replay's calibration: the median sleep (from
	 * a pass's last flush-path line to the next pass's first line) and the
	 * median gap between consecutive lines of a pass (a gap after an
	 * examination, or over SP_BURST_GAP_US, left out); -1 if none seen.
	 */
	int64_t sleep_p50_us, line_p50_us;
	char era;			/* of its EXAMINE lines: 'A', 'B', 'C', 'Z'; 0 none */
};

enum sp_verdict { SP_USEFUL = 0, SP_WASTED, SP_UNDECIDED };

/* Returns "useful", "wasted" or "undecided". */
const char *sp_verdict_name(enum sp_verdict v);

/* One examination, delivered once decided (every EXAMINE line gets one). */
struct sp_exam {
	int thread;			/* the examining thread (sp_detector_thread index) */
	int32_t thr;			/* its number in its source's stream (ps_event.thr); -1 */
	const char *thread_name;	/* valid during the call */
	const char *tid;
	uint64_t fid;
	uint32_t bno;
	uint64_t addr;			/* bmap address on the EXAMINE line */
	int64_t ts_us;			/* time of the EXAMINE line */
	uint64_t src_off, lineno;	/* of the EXAMINE line */
	int64_t outstanding;		/* on that line, else the last count seen; -1 */
	enum ps_msg msg;		/* which EXAMINE message */
	enum sp_verdict verdict;
	enum sp_cause cause;		/* SP_WASTED: what the bmap waited for */
	uint64_t pass;			/* the thread's pass it was made in (1, 2, ...) */
	uint64_t run_cycles;		/* SP_WASTED: the run's length with this one */
};

/* One pass of a flush thread. */
struct sp_pass {
	int thread;
	int32_t thr;			/* the thread's number in its source's stream; -1 */
	const char *thread_name, *tid;
	uint64_t seq;			/* 1, 2, ... per thread */
	int64_t start_us, end_us;	/* end: the thread's last flush line in it */
	int useful;			/* at the end: any examination of it was useful */
};

enum sp_run_end {
	SP_RUN_PROGRESS = 0,		/* a useful examination */
	SP_RUN_GAP,			/* the next wasted examination came after max_gap */
	SP_RUN_GONE,			/* the bmap left the flush queue */
	SP_RUN_UNDECIDED,		/* an examination the log does not decide */
	SP_RUN_STALE,			/* the bmap went silent for SP_STALE_US */
	SP_RUN_EOF			/* the log ended (sp_detector_finish) */
};

/* A run of wasted examinations ended (any length; >= min_cycles is also an episode). */
struct sp_run {
	uint64_t fid;
	uint32_t bno;
	int64_t start_us, end_us;	/* first and last wasted examination */
	uint64_t cycles;
	enum sp_run_end why;
	int64_t ended_us;		/* time of the line that ended it; INT64_MIN if none */
};

struct sp_callbacks {
	void *arg;
	/* An episode ended (its run broke, or sp_detector_finish flushed it). */
	void (*episode)(void *arg, const struct sp_episode *ep);
	/* An examination was decided (every EXAMINE line, once). */
	void (*exam)(void *arg, const struct sp_exam *x);
	/* A pass started / ended on a thread. */
	void (*pass_start)(void *arg, const struct sp_pass *p);
	void (*pass)(void *arg, const struct sp_pass *p);
	/* A run ended (delivered before its episode, if it is one). */
	void (*run_end)(void *arg, const struct sp_run *r);
};

struct sp_detector;

/* Creates a detector; returns NULL with err set on failure. */
struct sp_detector *sp_detector_new(const struct sp_options *opt,
    const struct sp_callbacks *cb, struct fs_err *err);

/* Feeds one event (events must arrive in log order per source). */
void sp_detector_feed(struct sp_detector *d, const struct ps_event *ev);

/*
 * The events that follow come from another stream (the next log of a
 * series): its thread numbers (ps_event.thr) are its own.  The detector
 * looks threads up by those numbers first.
 */
void sp_detector_new_stream(struct sp_detector *d);

/*
 * The log ended: open examinations are undecided, every open run ends
 * (episodes with >= min_cycles are delivered) and every open pass ends.
 */
void sp_detector_finish(struct sp_detector *d);

/* Number of threads seen, and a copy of thread i's figures. */
int sp_detector_nthreads(const struct sp_detector *d);
void sp_detector_thread(const struct sp_detector *d, int i, struct sp_thread_stats *out);

/* Bmap records held now (live bmaps), for memory tests and top. */
uint64_t sp_detector_nbmaps(const struct sp_detector *d);

/* Frees the detector (call sp_detector_finish first to get open episodes). */
void sp_detector_free(struct sp_detector *d);

#endif
