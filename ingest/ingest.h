/*
 * ingest: a source of events (parsers/source.h) -> spin detector -> store.
 *
 * The engine behind `flushscope ingest` and `top --db`.  One struct
 * ig_ingest holds an open database; ig_file() ingests one input and reports
 * what it did.  Underneath, a struct ig_sink records one input: the rows of
 * each line handed to it and the detector's results (its callbacks), in
 * batches committed with the source's bookkeeping.  ig_file() is a source
 * loop around a sink; `top --db` attaches a sink to the pipeline it already
 * runs, so every line is read and parsed once.
 *
 * Resumability (see flushscope-ingest(1), "RESUMING"):
 *  - A file is recognised by its content (ingest/identity.h): the checksum
 *    of its first bytes and of the bytes before the stored offset, under
 *    its path or, renamed or compressed by a rotation, another one.
 *    Unchanged and already complete: nothing is read, nothing is added.
 *  - The run claims the source: a concurrent ingest of the same file
 *    loses it at its next commit (its rows are never stored twice).
 *  - Otherwise the file is read from its start.  Lines before the source's
 *    done_off are already stored: they only feed the spin detector (whose
 *    state depends on everything before); lines from done_off on are stored.
 *    The detector's results (episodes, per-second series, per-thread and
 *    per-bmap figures) are replaced as a whole by this run.
 *  - Every commit (at most --commit-lines lines; where batches end:
 *    ig_sink_full) carries the new done_off, so a run killed at any moment
 *    leaves a consistent database, and the next run ends with exactly the
 *    rows of an uninterrupted ingest.
 *  - A path that names a new file, a rewritten one or a truncated one is
 *    reported as rotated, replaced or truncated and becomes a new source;
 *    the old source's rows stay.
 *  - A plain file (regular, not gzip) that ends in a line without a newline
 *    is being written: that last line is held back (neither stored nor fed
 *    to the detector, done_off stays before it) so the run that finds it
 *    completed stores it whole, once.  The source is complete with done_off
 *    < size; an unchanged file is still "unchanged" and reports the held
 *    line again.  ig_options.final stores it anyway (a writer that is gone).
 *    Standard input and .gz end for good: their last line is always stored.
 *
 * Writes go to the database on a second thread (a queue of two batches), so
 * parsing and SQLite overlap.  Memory is bounded by the batch size, the
 * detector's live bmaps and the SQLite page cache, not by the input size.
 */
#ifndef FS_INGEST_INGEST_H
#define FS_INGEST_INGEST_H

#include <stdint.h>

#include "detect/spin.h"
#include "ingest/identity.h"
#include "parsers/event.h"
#include "parsers/source.h"
#include "store/store.h"
#include "util/err.h"

struct ig_progress {
	const char *path;
	uint64_t bytes;			/* input bytes read so far (decompressed for .gz) */
	uint64_t total;			/* file size if known (0 = unknown, e.g. stdin/.gz) */
	uint64_t lines;			/* lines read so far in this file */
	double seconds;			/* since this file started */
};

struct ig_options {
	const char *log_format;		/* PSC_LOG_FORMAT to force, NULL = detect */
	int keep_text;			/* store every line's text (table lines) */
	uint64_t commit_lines;		/* lines per transaction; 0 = default (262144 into
					   a file, 65536 into a server) */
	int final;			/* the files are finished: store an unterminated last line */
	int jobs;			/* parser threads: ps_source_open's jobs */
	const char *client;		/* the client the files come from (a source's label and
					   part of its identity); NULL = unknown */
	struct sp_options sp;		/* spin detector options */
	/* Called from the ingesting thread about 4 times a second; may be NULL. */
	void (*progress)(void *arg, const struct ig_progress *p);
	void *progress_arg;
};

/* Fills in defaults. */
void ig_options_default(struct ig_options *o);

/*
 * Threads of an ingest that keep a core busy beside the caller's: the
 * database writer.  Parser threads by default: the cores but these
 * (ps_jobs_default's busy).
 */
#define IG_BUSY_THREADS 1

#define IG_SAMPLE_MAX 200

/*
 * What one ig_file() call did (counts are of lines stored by this call; for
 * an IG_UNCHANGED file, which adds nothing, they are what is stored for it).
 */
struct ig_result {
	int status;			/* enum ig_status */
	int64_t source_id;
	char note[512];			/* why it was rotated, etc.; "" if nothing */
	uint64_t bytes;			/* bytes read (a held-back last line excluded) */
	uint64_t lines;			/* lines stored by this run */
	uint64_t unparsed;
	uint64_t events[PS_EV_NKINDS];
	uint64_t episodes;		/* spin episodes of the whole source after this run */
	uint64_t sample_lineno;		/* first unparsed line stored by this run (0 = none) */
	char sample[IG_SAMPLE_MAX];	/* its text (truncated) */
	char formats[ST_FORMATS_MAX];	/* header formats seen, '\n'-separated */
	int held;			/* 1 if an unterminated last line was held back */
	uint64_t held_bytes;		/* its length in bytes */
	uint64_t held_lineno;		/* its line number */
	uint64_t cut_lines;		/* lines stored cut at PS_READER_MAX_LINE */
	uint64_t cut_bytes;		/* bytes dropped from them */
	uint64_t first_cut_lineno;	/* the first one's line number (0 = none) */
	uint64_t commits;		/* transactions this call handed to the writer */
	double seconds;
};

struct ig_ingest;

/* Opens (creating if needed) the database at db_path. */
struct ig_ingest *ig_new(const char *db_path, const struct ig_options *o, struct fs_err *err);

/*
 * Ingests one input ("-" = stdin).  Returns 0 and fills *res, or -1 with
 * err naming the file (and line) on bad input or a database error; what
 * was committed before the error stays, consistent.
 */
int ig_file(struct ig_ingest *ig, const char *path, struct ig_result *res,
    struct fs_err *err);

/* Closes the database and frees everything. */
void ig_free(struct ig_ingest *ig);

/* ---- sinks: recording one input ---- */

struct ig_sink;

/*
 * Starts recording the input at path ("-" or a pipe: a new source each
 * time) into ig's database: decides (ingest/identity.h) whether it is new,
 * grown, unchanged, renamed, rotated, replaced or truncated (res->status,
 * res->note; *unchanged = 1 when the database already holds all of it).
 * claim_unchanged: claim the source even then (a recorder that stores what
 * is appended later); otherwise the sink must not be fed.  NULL with err
 * set on failure.  One sink per ig_ingest at a time.
 */
struct ig_sink *ig_sink_open(struct ig_ingest *ig, const char *path, int claim_unchanged,
    struct ig_result *res, int *unchanged, struct fs_err *err);

/*
 * Lines before this offset are stored already: hand them to the sink (and
 * the detector) all the same, from the input's first byte, so the derived
 * figures are those of the whole input; only later lines are stored.
 */
uint64_t ig_sink_resume_off(const struct ig_sink *k);

/* The detector callbacks that record its results into the sink. */
void ig_sink_callbacks(struct ig_sink *k, struct sp_callbacks *cb);

/* Records one line (its rows, counts and samples; hand it before the detector sees it). */
void ig_sink_line(struct ig_sink *k, const struct ps_item *it);

/* 1 when the batch being built should be committed (size or line count). */
int ig_sink_full(const struct ig_sink *k);

/*
 * Commits what was recorded since the last commit, with the source's
 * bookkeeping and the parser's formats (p may be NULL); with det, also the
 * detector's per-thread figures as they stand.  complete marks the source
 * read to its end.  A failed commit keeps its rows: the next commit retries
 * them with what came since (returns -1 with err set each time).
 */
int ig_sink_commit(struct ig_sink *k, const struct sp_detector *det,
    const struct ps_parser *p, int complete, struct fs_err *err);

/* Ends recording: waits for the last commit (-1 with err if it failed); frees the sink. */
int ig_sink_close(struct ig_sink *k, struct fs_err *err);

#endif
