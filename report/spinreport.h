/*
 * spinreport: what `flushscope spins` shows, gathered in one place so the
 * command only prints.  A report is filled either from log files (reader ->
 * parser -> spin detector, sp_report_add_file) or from stored results
 * (sp_report_add_episode / sp_report_add_thread, e.g. from the database),
 * then filtered, ranked and printed or drawn (sp_report_plot).
 *
 * The time-line (per second: wasted examinations, highest outstanding RPC
 * count seen) is filled only from files; from stored episodes the plot
 * spreads each episode's cycles evenly over its seconds.
 */
#ifndef FS_ANALYSIS_SPINREPORT_H
#define FS_ANALYSIS_SPINREPORT_H

#include <stdint.h>
#include <stdio.h>

#include "detect/spin.h"
#include "util/err.h"

struct sp_report {
	struct sp_episode *eps;
	size_t neps, capeps;
	struct sp_thread_stats *threads;
	size_t nthreads, capthreads;

	/* time-line: slot i is second t0_s + i */
	int64_t t0_s;
	size_t nsec, capsec;
	uint32_t *wasted_s;		/* wasted examinations (by EXAMINE time) */
	int32_t *outst_s;		/* highest outstanding count logged; -1 none */
	int timeline_exact;		/* 1 if built from events, 0 if from episodes */

	int64_t first_us, last_us;	/* time span of the events read; INT64_MIN none */
	uint64_t lines, unparsed;	/* lines read, lines without a psclog header */
};

/* Which episodes and threads to keep (zero / NULL fields keep everything). */
struct sp_filter {
	int has_fid;
	uint64_t fid;
	const char *thread;		/* "name" or "name:tid" */
	int64_t since_us, until_us;	/* keep episodes overlapping; INT64_MIN/MAX open */
	uint64_t min_cycles;
};

/* Initialises an empty report. */
void sp_report_init(struct sp_report *r);

/* Frees what a report holds (the struct itself is the caller's). */
void sp_report_free(struct sp_report *r);

/*
 * Runs one log file (path "-" = stdin, .gz read transparently) through the
 * parser and a fresh detector with options o; only events whose time is in
 * [since_us, until_us] are fed.  Episodes, thread figures and the time-line
 * are added to r.  Returns -1 with err naming the file (and line) on a read
 * error; what was read before the error stays in r.
 */
int sp_report_add_file(struct sp_report *r, const char *path, const struct sp_options *o,
    int64_t since_us, int64_t until_us, struct fs_err *err);

/*
 * Adds the episodes, thread figures and per-second series stored in
 * database path (made by `flushscope ingest`); f (may be NULL) lets the
 * store skip rows that cannot match (sp_report_filter still applies).
 * Returns -1 with err set if it cannot be read.
 */
int sp_report_add_db(struct sp_report *r, const char *path, const struct sp_filter *f,
    struct fs_err *err);

/* Adds one episode / one thread's figures (copied); -1 on no memory. */
int sp_report_add_episode(struct sp_report *r, const struct sp_episode *ep);
int sp_report_add_thread(struct sp_report *r, const struct sp_thread_stats *t);

/*
 * Adds to the time-line's second sec (unix seconds): wasted examinations,
 * and an outstanding count (kept if higher; -1 = none).  -1 on no memory;
 * a second that would stretch the time-line past ~194 days is left out.
 */
int sp_report_add_second(struct sp_report *r, int64_t sec, uint64_t wasted,
    int64_t outstanding);

/* Drops the episodes (and, for f->thread, the threads) that do not match. */
void sp_report_filter(struct sp_report *r, const struct sp_filter *f);

/* Ranks episodes: most cycles first, then longest, then earliest. */
void sp_report_rank(struct sp_report *r);

/* 1 if the thread stats t match "name" or "name:tid". */
int sp_thread_match(const char *want, const char *thread, const char *tid);

/*
 * Draws the time-line as SVG: wasted examinations per second and outstanding
 * RPCs, episodes shaded and the largest labelled.  Returns -1 with err set.
 */
int sp_report_plot(const struct sp_report *r, FILE *f, struct fs_err *err);

#endif
