/*
 * report/spinreport: what `flushscope spins` shows, gathered in one place so
 * the command only prints.  A report is filled from log files (a source ->
 * the detector, sp_report_add_file) or from what ingest stored
 * (sp_report_add_db), through the same filter, with the same meaning:
 *
 *   episodes   the detector's episodes; those overlapping [since, until]
 *              are reported whole (the detector always runs over the whole
 *              input, so an episode is never cut by the window);
 *   threads    per flush thread: passes (counted in the second they
 *              started), useless passes, examinations and wasted ones
 *              (counted in the second of their EXAMINE line), all within
 *              the seconds the window touches (fs_sec_of(since) ..
 *              fs_sec_of(until)), because a database keeps these counts per
 *              second; the pass period is the thread's over the whole
 *              input, its span the window clipped to its first and last
 *              line;
 *   bmaps      (when asked for) per bmap: examinations and wasted ones in
 *              those seconds, and the episodes kept and their cycles;
 *   time-line  per second: wasted examinations and the highest outstanding
 *              count logged.
 * --fid narrows episodes and bmaps; --thread narrows episodes and threads;
 * bmaps are per bmap, whichever thread examined them, and the time-line is
 * the whole input's.
 */
#ifndef FS_REPORT_SPINREPORT_H
#define FS_REPORT_SPINREPORT_H

#include <stdint.h>
#include <stdio.h>

#include "detect/spin.h"
#include "util/err.h"

/* Per-bmap figures of a report. */
struct sp_bmap_row {
	uint64_t fid;
	uint32_t bno;
	uint64_t examinations, wasted;
	uint64_t episodes, cycles;	/* of the episodes kept */
};

struct sp_report {
	struct sp_episode *eps;
	size_t neps, capeps;
	struct sp_thread_stats *threads;
	size_t nthreads, capthreads;
	struct sp_bmap_row *bmaps;	/* filled when the filter asks for them */
	size_t nbmaps, capbmaps;

	/* time-line: slot i is second t0_s + i */
	int64_t t0_s;
	size_t nsec, capsec;
	uint32_t *wasted_s;		/* wasted examinations (by EXAMINE time) */
	int32_t *outst_s;		/* highest outstanding count logged; -1 none */

	uint64_t lines, unparsed;	/* lines read, lines without a psclog header (files) */
};

/* What to keep (zero / NULL fields keep everything). */
struct sp_filter {
	int has_fid;
	uint64_t fid;
	const char *thread;		/* "name" or "name:tid" */
	int64_t since_us, until_us;	/* INT64_MIN / INT64_MAX: open */
	uint64_t min_cycles;		/* stored episodes: stricter than ingest's */
	int want_bmaps;			/* fill the per-bmap figures */
};

/* A filter that keeps everything. */
void sp_filter_init(struct sp_filter *f);

/* 1 if the second sec is within the seconds the filter's window touches. */
int sp_filter_second(const struct sp_filter *f, int64_t sec);

/* Initialises an empty report. */
void sp_report_init(struct sp_report *r);

/* Frees what a report holds (the struct itself is the caller's). */
void sp_report_free(struct sp_report *r);

/*
 * Runs one log file (path "-" = stdin, .gz read transparently) through a
 * source and a fresh detector with options o, and adds what f selects.
 * Returns -1 with err naming the file (and line) on a read error; what was
 * read before the error stays in r.
 */
int sp_report_add_file(struct sp_report *r, const char *path, const struct sp_options *o,
    const struct sp_filter *f, int jobs, struct fs_err *err);

/*
 * Adds what f selects of the episodes, thread figures, per-second series
 * and per-bmap series stored in the database at path (made by `flushscope
 * ingest`).  Returns -1 with err set if it cannot be read.
 */
int sp_report_add_db(struct sp_report *r, const char *path, const struct sp_filter *f,
    struct fs_err *err);

/* Adds one episode / one thread's figures (copied); -1 on no memory. */
int sp_report_add_episode(struct sp_report *r, const struct sp_episode *ep);
int sp_report_add_thread(struct sp_report *r, const struct sp_thread_stats *t);

/* Adds examinations to bmap (fid, bno)'s figures; -1 on no memory. */
int sp_report_add_bmap(struct sp_report *r, uint64_t fid, uint32_t bno, uint64_t exams,
    uint64_t wasted);

/*
 * Adds to the time-line's second sec (unix seconds): wasted examinations,
 * and an outstanding count (kept if higher; -1 = none).  -1 on no memory;
 * a second that would stretch the time-line past ~194 days is left out.
 */
int sp_report_add_second(struct sp_report *r, int64_t sec, uint64_t wasted,
    int64_t outstanding);

/* 1 if an episode passes the filter (fid, thread, overlap, min_cycles). */
int sp_filter_episode(const struct sp_filter *f, const struct sp_episode *e);

/*
 * Ranks episodes (most cycles first, then longest, then earliest), bmaps
 * (most wasted first, then fid, bno) and threads (source order kept), and
 * fills each bmap's episode figures from the episodes.
 */
void sp_report_rank(struct sp_report *r);

/* 1 if the thread stats t match "name" or "name:tid". */
int sp_thread_match(const char *want, const char *thread, const char *tid);

/*
 * Draws the time-line as SVG: wasted examinations per second and outstanding
 * RPCs, episodes shaded and the largest labelled.  Returns -1 with err set.
 */
int sp_report_plot(const struct sp_report *r, FILE *f, struct fs_err *err);

#endif
