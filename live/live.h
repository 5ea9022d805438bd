/*
 * live/live: the live model behind `flushscope top`.
 *
 * Lines go in (lv_parse then lv_feed, or lv_line for both: the same source
 * stream and the same sp_detector as ingest and spins, one of each per
 * source; a recording sink can take each parsed line in between and the
 * detector's results as they come); what goes out is a snapshot:
 * summary meters, a sparkline of outstanding RPCs, and a sorted, filtered
 * table of bmaps (or of flush threads).  The screen code only draws it.
 *
 * Time.  Everything derived from the log's content (wasted/s, passes/s,
 * periods, ages, the sparkline) is measured in LOG time: "now" is the
 * newest timestamp seen, so a history read with --from-start shows the
 * rates it had, and tests are deterministic.  When no newer line has come
 * since the previous snapshot, "now" advances with the wall clock from
 * there (a log that went quiet shows its rates falling to zero).  Reading
 * throughput (lines/s, events/s) is measured in WALL time between
 * snapshots.
 *
 * Per-bmap state (the detector's verdicts; the lines only say where a
 * bmap is and whether it is queued):
 *   cycles   the current run of consecutive wasted examinations, as the
 *            detector counts it (its exam and run_end callbacks).
 *   state    SPIN   cycles >= min_cycles (an episode in progress)
 *            WASTE  0 < cycles < min_cycles
 *            ACTIVE queued, last examination useful (or not decided yet)
 *            IDLE   queued, nothing logged for it for more than 5 s, or its
 *                   run broke by a gap longer than max_gap
 *            CLEAN  left the flush queue
 *   age      time in the current state (a SPIN's age is its run's age).
 *
 * Memory: one record per bmap seen in the last linger_s seconds of log
 * time (clean ones) or 4 x linger_s (others), capped at max_rows (at the
 * cap the least recently active eighth is dropped), plus the detectors'
 * own per-bmap state.  Nothing grows with the number of lines.
 */
#ifndef FS_LIVE_LIVE_H
#define FS_LIVE_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "detect/spin.h"
#include "parsers/source.h"
#include "util/err.h"

#define LV_SPARK	60		/* sparkline: one value per log second */
#define LV_WIN_MAX	30		/* longest rate window, seconds */

struct lv_options {
	struct sp_options sp;		/* detector options (min_cycles, max_gap) */
	int window_s;			/* rate window, seconds; default 10 */
	int linger_s;			/* clean rows kept, seconds; default 30 */
	size_t max_rows;		/* bmap records at most; default 100000 */
	const char *log_format;		/* PSC_LOG_FORMAT or NULL to detect */
};

enum lv_state { LV_SPIN = 0, LV_WASTE, LV_ACTIVE, LV_IDLE, LV_CLEAN, LV_NSTATES };

/* Sort keys = table columns, in screen order. */
enum lv_sort {
	LV_SORT_ID = 0,			/* fid:bno */
	LV_SORT_ADDR,
	LV_SORT_THREAD,
	LV_SORT_WASTED,			/* wasted/s (default) */
	LV_SORT_CYCLES,
	LV_SORT_PERIOD,
	LV_SORT_OUTST,
	LV_SORT_STATE,
	LV_SORT_AGE,
	LV_NSORT
};

/* One bmap row of a snapshot. */
struct lv_row {
	int src;			/* source index */
	uint64_t fid;
	uint32_t bno;
	uint64_t addr;
	char thread[SP_NAME_MAX];	/* last thread that examined it */
	double wasted_rate;		/* wasted examinations per log second */
	uint64_t cycles;		/* current run */
	uint64_t wasted_total;
	uint64_t episodes;		/* episodes finished */
	int64_t period_us;		/* median gap of recent wasted examinations; -1 */
	int64_t outstanding;		/* last outstanding count logged with it; -1 */
	enum lv_state state;
	int64_t age_us;
};

/* One flush-thread row (per-thread view). */
struct lv_thread_row {
	int src;
	char thread[SP_NAME_MAX];
	char tid[SP_NAME_MAX];
	uint64_t passes, useless_passes, examinations, wasted;
	double passes_rate, wasted_rate;	/* per log second, window */
	int64_t period_p50_us;
};

struct lv_summary {
	uint64_t lines, events, unparsed;	/* totals */
	uint64_t passes, wasted, episodes_done;	/* totals */
	double lines_rate, events_rate;		/* wall time, since the last snapshot */
	double passes_rate, wasted_rate;	/* log time, window */
	int64_t outstanding;			/* last logged; -1 unknown */
	int64_t spark[LV_SPARK];		/* outstanding per log second, oldest first; -1 none */
	uint64_t dirty;				/* bmaps queued (not CLEAN) */
	uint64_t episodes_open;			/* rows in SPIN */
	uint64_t tracked;			/* bmap records held */
	int64_t log_now_us;			/* "now" in log time; INT64_MIN if none */
};

/* How to present the table. */
struct lv_view {
	enum lv_sort sort;
	int reverse;			/* 1: the other direction */
	const char *filter;		/* substring of "fid:bno" (hex fid) or thread; NULL all */
};

struct lv_model;

/* Fills in the defaults. */
void lv_options_default(struct lv_options *o);

/* Creates a model; NULL with err set on failure. */
struct lv_model *lv_new(const struct lv_options *o, struct fs_err *err);

/*
 * Adds a source (its own stream and detector); returns its index or -1.
 * also (may be NULL): callbacks that get the detector's results too, after
 * the model (e.g. an ingest sink recording the input).
 */
int lv_add_source(struct lv_model *m, const struct sp_callbacks *also, struct fs_err *err);

/*
 * A new input generation of a source began (rotation or truncation): the
 * parser re-detects the header format.  Detector state is kept: a rotated
 * log continues the same client's story.
 */
void lv_source_reset(struct lv_model *m, int src);

/* Parses one line of source src into *it (counted as read); -1 for a bad src. */
int lv_parse(struct lv_model *m, int src, const char *line, size_t len, uint64_t off,
    uint64_t lineno, struct ps_item *it);

/* Feeds a parsed line to source src's detector and to the model. */
void lv_feed(struct lv_model *m, int src, const struct ps_item *it);

/* Feeds one line of source src (lv_parse and lv_feed). */
void lv_line(struct lv_model *m, int src, const char *line, size_t len,
    uint64_t off, uint64_t lineno);

/*
 * Every input ended: the detectors decide what the log lets them (open
 * passes end, open runs become episodes) and log time stops at the last
 * line instead of following the wall clock.
 */
void lv_finish(struct lv_model *m);

/* A source's parser and detector, for a recording sink's commits (NULL if bad src). */
const struct ps_parser *lv_source_parser(const struct lv_model *m, int src);
const struct sp_detector *lv_source_detector(const struct lv_model *m, int src);

/*
 * Takes a snapshot at wall time wall_us (microseconds, any monotonic
 * origin; 0 = don't extrapolate log time).  *rows (owned by the model,
 * valid until the next snapshot) holds the filtered, sorted bmap rows.
 * Returns 0, or -1 with err set (out of memory).
 */
int lv_snapshot(struct lv_model *m, int64_t wall_us, const struct lv_view *v,
    struct lv_summary *sum, const struct lv_row **rows, size_t *nrows, struct fs_err *err);

/*
 * The flush threads of every source, busiest (by wasted/s, then passes)
 * first, filtered by thread name; valid until the next call.  Call after
 * lv_snapshot (uses its "now").
 */
int lv_threads(struct lv_model *m, const char *filter, const struct lv_thread_row **rows,
    size_t *nrows, struct fs_err *err);

/* Names: "SPIN", "WASTE", "ACTIVE", "IDLE", "CLEAN"; column headers. */
const char *lv_state_name(enum lv_state s);
const char *lv_sort_name(enum lv_sort s);

/* Formats row's id as "fid:bno" (fid in hex) into buf; returns buf. */
char *lv_row_id(const struct lv_row *r, char *buf, size_t n);

/* Frees the model. */
void lv_free(struct lv_model *m);

#endif
