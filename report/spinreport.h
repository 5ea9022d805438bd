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
 *   clients    (when asked for) per client (a source's label, see
 *              ingest --client): examinations and wasted ones of its
 *              threads as above, their span, its episodes kept and its
 *              worst bmap (the most cycles in those episodes).  A file's
 *              client is the filter's client, else the first syslog host
 *              its lines name, else "unknown".
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
#include "util/map.h"
#include "util/vec.h"

/* Per-bmap figures of a report. */
struct sp_bmap_row {
	uint64_t fid;
	uint32_t bno;
	uint64_t examinations, wasted;
	uint64_t episodes, cycles;	/* of the episodes kept */
};

/*
 * An episode as a report holds it (96 bytes): the detector's figures, its
 * thread and tid by number (sp_report_ep_thread, sp_report_ep_tid).  The
 * names are 128 of a detector episode's 216 bytes, the same few threads
 * over and over, and a long log has millions of episodes: the report keeps
 * each name once.
 */
struct sp_rep_episode {
	uint32_t name;			/* the report's (thread, tid) number */
	struct sp_ep_figures f;
};

/* A (thread, tid) of a report's episodes. */
struct sp_rep_name {
	char thread[SP_NAME_MAX];
	char tid[SP_NAME_MAX];
};

#define SP_CLIENT_MAX 256

/* Per-client figures of a report. */
struct sp_client_row {
	char client[SP_CLIENT_MAX];
	uint64_t examinations, wasted;	/* of its threads, in the window */
	int64_t first_us, last_us;	/* the span of its threads; INT64_MIN unknown */
	uint64_t episodes;		/* kept */
	int has_worst;			/* a worst bmap: the most cycles in its episodes */
	uint64_t worst_fid;
	uint32_t worst_bno;
	uint64_t worst_cycles;
};

struct sp_report {
	struct sp_rep_episode *eps;
	size_t neps, capeps;
	FS_VEC(struct sp_rep_name) names;	/* the episodes' threads */
	struct fs_map name_idx;		/* (hash of thread, hash of tid) -> index in names */
	struct sp_thread_stats *threads;
	size_t nthreads, capthreads;
	struct sp_bmap_row *bmaps;	/* filled when the filter asks for them */
	size_t nbmaps, capbmaps;
	struct sp_client_row *clients;	/* filled when the filter asks for them */
	size_t nclients, capclients;
	struct sp_client_bmap *cbmaps;	/* (client, bmap) cycles, for the worst bmap */
	size_t ncbmaps, capcbmaps;
	struct fs_map cbidx;		/* (fid, client << 32 | bno) -> index in cbmaps */

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
	int want_clients;		/* fill the per-client figures */
	const char *client;		/* databases: this client's sources only, NULL = all;
					   files: their client */
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

/* The thread name and tid of a report's episode (valid until the next episode is added). */
const char *sp_report_ep_thread(const struct sp_report *r, const struct sp_rep_episode *e);
const char *sp_report_ep_tid(const struct sp_report *r, const struct sp_rep_episode *e);
int sp_report_add_thread(struct sp_report *r, const struct sp_thread_stats *t);

/* The index of client name in r->clients (added if new); -1 on no memory. */
int sp_report_client(struct sp_report *r, const char *name);

/* Adds a thread's figures / a kept episode to client ci's; -1 on no memory. */
int sp_report_client_thread(struct sp_report *r, int ci, const struct sp_thread_stats *t);
int sp_report_client_episode(struct sp_report *r, int ci, const struct sp_rep_episode *e);

/* Client c's wasted examinations per second over its span (0 if no span). */
double sp_client_rate(const struct sp_client_row *c);

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
 * (most wasted first, then fid, bno), clients (most wasted examinations
 * per second first, then name) and threads (source order kept), and fills
 * each bmap's episode figures from the episodes, each client's worst bmap.
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
