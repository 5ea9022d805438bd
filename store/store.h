/*
 * store: the one storage interface of flushscope.
 *
 * Everything that persists parsed logs or reads them back goes through this
 * header.  Two backends sit behind it (store/backend.h, a table of
 * operations): SQLite, a file (store/sqlite.c), and PostgreSQL, a server
 * many ingests write to at once (store/pg.c); st_open picks one from the
 * string it is given.  Nothing outside store/ names a database library.
 * Both hold the same schema, described once (store/schema.c); it is
 * documented in flushscope-ingest(1) and README.md ("From a log to a
 * first SQL query").
 *
 * Model:
 *   source   one ingested input (file or stdin); every stored row carries
 *            (source_id, src_off) = the byte offset of the line it came from
 *            in that source's (decompressed) stream, so each row leads back
 *            to its line.
 *   thread   a logging thread of one source, numbered tno = 0, 1, ... in
 *            order of first appearance in the source (stable across runs).
 *   bmap     (fid, bno); its last address and first/last time seen.
 *   rows     RPCs, write arrivals, bmap state changes, forced flushes,
 *            unparsed-line samples, optionally the text of every line.
 *   derived  spin episodes, per-thread stats, per-second series and per-bmap
 *            counters of a source: written by the detector; a run that
 *            re-reads a source replaces them (st_batch_replace_derived).
 *
 * Writing: fill a struct st_batch, then st_commit() writes it in ONE
 * transaction together with the source's bookkeeping (done_off, counts),
 * so a process killed at any moment leaves a consistent database whose
 * sources row says exactly which lines are stored.
 *
 * Reading: a cursor over one kind of row with a filter (st_cursor_open,
 * st_cursor_next, st_cursor_close).
 *
 * Errors: a database locked by another writer past the busy timeout is
 * reported with err->code EBUSY (worth retrying); other codes are final.
 *
 * A struct st_store is used by one thread at a time.  Several processes may
 * use one database at once: on SQLite readers during an ingest (WAL, busy
 * timeout, one writer at a time); on PostgreSQL any number of readers and
 * writers (see store/pg.c for how commits of one source are serialised).
 */
#ifndef FS_STORE_STORE_H
#define FS_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parsers/event.h"
#include "util/err.h"

/*
 * Schema version stored in the database (SQLite: PRAGMA user_version;
 * PostgreSQL: the table fs_meta).  3: sources.client.  4: each flush
 * thread's pass timing and era (thread_stats.sleep_p50_us, line_p50_us,
 * era), HEAD's bwc of an RPC (rpcs.bwc).
 */
#define ST_SCHEMA_VERSION 4

/* ---- opening ---- */

enum {
	ST_OPEN_READONLY = 1 << 0,	/* never write; fail if the file is missing */
	ST_OPEN_CREATE = 1 << 1		/* create the database if it is missing */
};

struct st_store;

/*
 * Opens (and with ST_OPEN_CREATE creates or migrates) the database named
 * by spec: a PostgreSQL URI (postgresql://..., postgres://...) or conninfo
 * string ("host=... dbname=...", see st_is_server), else the path of an
 * SQLite file.  Returns NULL with err set ("DB: reason", the password of a
 * URI never shown) if it is not a flushscope database, has a newer
 * schema, is read-only when writing was asked for, or cannot be opened.
 * A server's database must exist; its schema is created.
 */
struct st_store *st_open(const char *spec, int flags, struct fs_err *err);

/* 1 if spec names a PostgreSQL server (a URI or a conninfo string), 0 if a file. */
int st_is_server(const char *spec);

/*
 * The database as messages name it: the path, or the URI / conninfo with
 * its password replaced by "***".  Into buf (n bytes); returns buf.
 */
char *st_display_name(const char *spec, char *buf, size_t n);

/*
 * Tunes SQLite for the whole process, before anything opens a database: no
 * memory statistics (they take a global mutex on every allocation; about
 * 7 % of an ingest's database writes).  A program calls it first thing
 * (flushscope's main does); called later, it changes nothing.
 */
void st_process_init(void);

/* Closes the database (NULL is fine). */
void st_close(struct st_store *st);

/* ---- sources ---- */

#define ST_PATH_MAX 4096
#define ST_FORMATS_MAX 2048
#define ST_HEAD_MAX 4096	/* bytes hashed to recognise a file */
#define ST_CLIENT_MAX 256	/* a client's name, NUL included */
#define ST_CLIENT_UNKNOWN "unknown"

enum st_source_state {
	ST_SRC_PARTIAL = 0,	/* ingest started, not finished: derived rows incomplete */
	ST_SRC_COMPLETE = 1	/* read to its end */
};

struct st_source {
	int64_t id;			/* 0 until st_source_add */
	char path[ST_PATH_MAX];		/* as given (absolute when known); "-" for stdin */
	uint64_t dev, ino;		/* of the file at the last run (0 for stdin) */
	uint64_t size;			/* raw file size at the last run */
	uint64_t head_len;		/* bytes hashed: min(ST_HEAD_MAX, length at first run) */
	uint64_t head_sum;		/* FNV-1a 64 of the first head_len decompressed bytes */
	uint64_t tail_len;		/* bytes hashed: min(ST_HEAD_MAX, done_off) */
	uint64_t tail_sum;		/* FNV-1a 64 of the tail_len bytes just before done_off */
	uint64_t run_id;		/* the ingest run that owns the source (st_source_claim) */
	int gz;				/* gzip-compressed */
	uint64_t done_off;		/* stream offset just past the last stored line */
	uint64_t lines;			/* lines stored (= lines before done_off) */
	uint64_t unparsed;		/* of which had no recognised header */
	uint64_t events[PS_EV_NKINDS];	/* parsed lines by event kind */
	char formats[ST_FORMATS_MAX];	/* header formats seen, '\n'-separated */
	int state;			/* enum st_source_state */
	int64_t updated;		/* unix time of the last commit */
	char client[ST_CLIENT_MAX];	/* which client wrote it ("unknown" if not known) */
};

/*
 * Finds the most recent source with this path (of this client; NULL = of
 * any client): 1 found, 0 none, -1 error.
 */
int st_source_find_path(struct st_store *st, const char *path, const char *client,
    struct st_source *out, struct fs_err *err);

/* Inserts src (its own transaction) and sets src->id; 0 or -1. */
int st_source_add(struct st_store *st, struct st_source *src, struct fs_err *err);

/*
 * Runs fn inside one write transaction: other writers' transactions wait
 * until it ends (SQLite: the write lock; PostgreSQL: an advisory lock), so
 * a look-up and the insert or claim that follows it are atomic.  fn
 * returns 0 to commit, or -1 (err set) to roll back; st_transaction
 * returns what fn returned, or -1 if the transaction itself failed.
 */
int st_transaction(struct st_store *st,
    int (*fn)(void *arg, struct st_store *st, struct fs_err *err), void *arg,
    struct fs_err *err);

/* Inside st_transaction: inserts src and sets src->id; writes src's bookkeeping. */
int st_source_insert(struct st_store *st, struct st_source *src, struct fs_err *err);
int st_source_update(struct st_store *st, const struct st_source *src, struct fs_err *err);

/*
 * Inside st_transaction: makes the caller the source's only writer (its
 * run_id goes up by one; *run gets it).  A run that claimed a source
 * before loses it: its next commit fails (st_batch_expect_run).  The
 * claim waits for a commit of the source in flight; if that moved the
 * source's done_off away from expect_off (what the caller's decision was
 * based on), it fails with EAGAIN: decide again, in a new transaction.
 */
int st_source_claim(struct st_store *st, int64_t id, uint64_t expect_off, uint64_t *run,
    struct fs_err *err);

/* ---- row types (adding: tno identifies the thread; thread is NULL) ---- */

enum st_rpc_kind { ST_RPC_SEND = 0, ST_RPC_DONE = 1 };

struct st_rpc {
	int64_t source_id;		/* set by queries; ignored when adding */
	uint64_t src_off;		/* byte offset of the line */
	int tno;			/* thread number within the source, -1 none */
	const char *thread;		/* queries: thread name (NULL if none) */
	int64_t ts_us;
	int kind;			/* enum st_rpc_kind */
	int64_t xid;			/* -1 if not logged */
	int64_t off, sz;		/* RPC_SEND offset and size; -1 if not logged */
	int64_t outstanding;		/* outstandingRpcCnt= / infl=; -1 if not logged */
	int64_t rc;			/* reply rc (era Z); -1 if not logged */
	int has_bmap;			/* fid/bno known (era Z) or attributed (era A) */
	uint64_t fid;
	int64_t bno;
	uint64_t req_addr;		/* req@ pointer, 0 if none */
	uint64_t bwc_addr;		/* era Z: the run's bwc (ps_event.bwc_addr), 0 if none */
};

/* A write arrival (WRITE_READY). */
struct st_write {
	int64_t source_id;
	uint64_t src_off;
	int tno;
	const char *thread;
	int64_t ts_us;
	int has_bmap;
	uint64_t fid;
	int64_t bno;
	uint64_t bmap_addr;		/* 0 if unknown */
	uint64_t biorq_addr;		/* 0 if unknown */
	int64_t off, len;		/* within the bmap; -1 if not logged */
	int msg_id;			/* enum ps_msg */
};

/* A bmap state change: the bmap left the flush queue (CLEAN). */
struct st_state {
	int64_t source_id;
	uint64_t src_off;
	int tno;
	const char *thread;
	int64_t ts_us;
	uint64_t fid;
	int64_t bno;
	uint64_t bmap_addr;
	int kind;			/* enum ps_ev_kind (PS_EV_CLEAN) */
	int msg_id;			/* enum ps_msg: which message */
	uint32_t flags;			/* bmap flags as logged */
	int32_t opcnt;
};

/* A forced flush (era Z `force expire`, or a biorq marked FORCE_EXPIRE). */
struct st_forced {
	int64_t source_id;
	uint64_t src_off;
	int tno;
	const char *thread;
	int64_t ts_us;
	int has_bmap;
	uint64_t fid;
	int64_t bno;
	uint64_t biorq_addr;
};

/* Per thread and second: what the flush path did. */
struct st_series {
	int64_t source_id;
	int tno;
	const char *thread;
	int64_t sec;			/* unix seconds */
	uint64_t examinations, wasted;
	uint64_t passes, useless_passes;
	uint64_t rpcs_sent, rpcs_done;
	int64_t max_outstanding;	/* -1 if none logged */
};

/* Per bmap (and source) and second: examinations and wasted examinations. */
struct st_bmap_stat {
	int64_t source_id;
	uint64_t fid;
	uint32_t bno;
	int64_t sec;			/* unix seconds of the EXAMINE lines counted */
	uint64_t examinations, wasted;
};

#define ST_NAME_MAX 64

/* A spin episode as stored (the detector's episode, in the store's own terms). */
struct st_episode {
	char thread[ST_NAME_MAX];	/* the thread that made most of its examinations */
	char tid[ST_NAME_MAX];
	uint64_t fid;
	uint32_t bno;
	uint64_t addr;
	int64_t start_us, end_us;
	uint64_t cycles;
	int64_t period_us;
	int64_t outstanding_min, outstanding_max;	/* -1 if never logged */
	char cause[16];			/* "inflight", "throttled", "notready" */
	uint64_t first_off, last_off;
};

struct st_episode_row {
	int64_t id;
	int64_t source_id;
	struct st_episode ep;		/* thread/tid filled from the threads table */
};

/* Buckets of a thread's pass-period histogram (log2 of microseconds). */
#define ST_HIST_BUCKETS	40
/* Bytes of its text (st__hist_text): each number at most 20 digits and a comma. */
#define ST_HIST_TEXT	(ST_HIST_BUCKETS * 21 + 1)

/* A flush thread's figures over its whole source, as stored. */
struct st_thread_stats {
	char thread[ST_NAME_MAX];
	char tid[ST_NAME_MAX];
	uint64_t passes, useless_passes;
	uint64_t examinations, wasted;
	int64_t first_us, last_us;	/* INT64_MIN if unknown */
	int64_t first_pass_us;		/* start of its first pass; INT64_MIN if unknown */
	int64_t period_p50_us, period_p99_us;	/* -1 if unknown */
	uint64_t period_hist[ST_HIST_BUCKETS];	/* log2 buckets of the gaps between pass starts */
	int64_t sleep_p50_us, line_p50_us;	/* pass timing (sp_thread_stats); -1 if unknown */
	char era;			/* of its examinations: 'A', 'B', 'C', 'Z'; 0 if unknown */
};

struct st_thread_row {
	int64_t source_id;
	int tno;
	struct st_thread_stats st;
};

/* An unparsed-line sample or a stored line (--keep-text). */
struct st_line {
	int64_t source_id;
	uint64_t src_off;
	uint64_t lineno;
	const char *text;
	size_t len;
};

/* ---- batches ---- */

struct st_batch;

/* A new empty batch (NULL if out of memory). */
struct st_batch *st_batch_new(void);

/* Frees a batch. */
void st_batch_free(struct st_batch *b);

/*
 * Empties a batch for reuse.  A batch that held rows keeps the memory of
 * each kind of row unless it used under a quarter of it: a reused batch
 * holds room for its recent rows, not for every kind's busiest batch at
 * once.  An empty batch keeps all its memory.
 */
void st_batch_clear(struct st_batch *b);

/* Bytes of memory a batch holds for rows, used or not. */
size_t st_batch_held(const struct st_batch *b);

/* Rows held, and bytes of memory they use (to bound batch size). */
size_t st_batch_rows(const struct st_batch *b);
size_t st_batch_bytes(const struct st_batch *b);

/*
 * The source's bookkeeping to write with the batch (copied).  Every batch
 * must carry it: done_off/lines/counts advance in the same transaction as
 * the rows.
 */
void st_batch_set_source(struct st_batch *b, const struct st_source *src);

/*
 * Makes the commit fail (nothing written) unless the source's stored
 * done_off is still off: two processes ingesting the same source at once
 * cannot both store the same lines.
 */
void st_batch_expect_offset(struct st_batch *b, uint64_t off);

/*
 * Makes the commit fail (nothing written) unless the source is still
 * claimed by run (st_source_claim): a later ingest of the same source took
 * it over.
 */
void st_batch_expect_run(struct st_batch *b, uint64_t run);

/* Delete the source's derived rows (episodes, series, thread and bmap stats) first. */
void st_batch_replace_derived(struct st_batch *b);

/*
 * Adders.  They copy what they are given; an allocation failure is
 * remembered and reported by st_commit (ENOMEM), so they return nothing.
 */
void st_batch_add_thread(struct st_batch *b, int tno, const char *name, size_t namelen,
    const char *tid, size_t tidlen);
void st_batch_note_bmap(struct st_batch *b, uint64_t fid, uint32_t bno, uint64_t addr,
    int64_t ts_us);
void st_batch_add_rpc(struct st_batch *b, const struct st_rpc *r);
void st_batch_add_write(struct st_batch *b, const struct st_write *w);
void st_batch_add_state(struct st_batch *b, const struct st_state *s);
void st_batch_add_forced(struct st_batch *b, const struct st_forced *f);
void st_batch_add_unparsed(struct st_batch *b, uint64_t src_off, uint64_t lineno,
    const char *text, size_t len);
void st_batch_add_line(struct st_batch *b, uint64_t src_off, uint64_t lineno,
    const char *text, size_t len);
/* Derived rows (added to existing counts if the same key is written twice). */
void st_batch_add_episode(struct st_batch *b, int tno, const struct st_episode *ep);
void st_batch_add_series(struct st_batch *b, const struct st_series *s);
void st_batch_add_bmap_stat(struct st_batch *b, const struct st_bmap_stat *s);
void st_batch_add_thread_stats(struct st_batch *b, int tno, const struct st_thread_stats *ts);

/*
 * Writes the batch and the source row in one transaction.  On error
 * nothing of the batch is stored (the transaction is rolled back) and err
 * says why ("DB: database or disk is full", ...).
 */
int st_commit(struct st_store *st, struct st_batch *b, struct fs_err *err);

/* ---- reading: cursors over a kind of row ---- */

/* Which rows a cursor returns.  st_filter_init sets "everything". */
struct st_filter {
	int64_t source_id;		/* 0 = every source */
	const char *client;		/* sources of this client only, NULL = any */
	int has_fid;			/* filter on fid (and bno when >= 0) */
	uint64_t fid;
	int64_t bno;			/* -1 = any */
	const char *thread;		/* thread name, NULL = any */
	int64_t since_us;		/* rows with ts >= since_us (INT64_MIN = unbounded) */
	int64_t until_us;		/* rows with ts <= until_us (INT64_MAX = unbounded) */
};

/* Sets a filter that matches everything. */
void st_filter_init(struct st_filter *f);

/* The kinds of rows a cursor walks, and the member of union st_row each fills. */
enum st_kind {
	ST_SOURCES = 0,		/* .source, in id order */
	ST_EPISODES,		/* .episode, by start time, source, first offset */
	ST_THREAD_STATS,	/* .thread, by source, tno (whole-source figures) */
	ST_SERIES,		/* .series, by second, source, tno */
	ST_RPCS,		/* .rpc, in log order (source, offset) */
	ST_WRITES,		/* .write */
	ST_STATES,		/* .state */
	ST_FORCED,		/* .forced */
	ST_BMAP_SERIES,		/* .bmap, by source, fid, bno, second */
	ST_UNPARSED,		/* .line: unparsed-line samples, by source, offset */
	ST_LINES,		/* .line: lines kept by --keep-text */
	ST_NKINDS
};

union st_row {
	struct st_source source;
	struct st_episode_row episode;
	struct st_thread_row thread;
	struct st_series series;
	struct st_rpc rpc;
	struct st_write write;
	struct st_state state;
	struct st_forced forced;
	struct st_bmap_stat bmap;
	struct st_line line;
};

struct st_cursor;

/*
 * Opens a cursor over the rows of kind that f selects (NULL = all), in the
 * order given above.  Time filters apply to: episodes (overlap of
 * [start,end]), series and bmap series (the seconds the window touches:
 * floor(since) .. floor(until)), the ts of the per-line rows; thread
 * figures and sources are whole.  The fid filter applies to rows that
 * name a bmap, the thread filter to rows that name a thread, the source
 * and client filters to every kind.  NULL with err set on failure.
 *
 * Several cursors may be open on one store at once, and inside
 * st_transaction (they then see its writes).
 */
struct st_cursor *st_cursor_open(struct st_store *st, enum st_kind kind,
    const struct st_filter *f, struct fs_err *err);

/*
 * Moves to the next row: 1 and *row set (valid until the next call or
 * close; strings in it too), 0 at the end, -1 with err set.
 */
int st_cursor_next(struct st_cursor *c, const union st_row **row, struct fs_err *err);

/* Closes a cursor (NULL is fine), early or at the end. */
void st_cursor_close(struct st_cursor *c);

/*
 * Writes every table's rows to out in a canonical order, without row ids
 * and commit times: two databases holding the same data dump the same
 * text (used to check that an interrupted-and-resumed ingest equals an
 * uninterrupted one).
 */
int st_dump(struct st_store *st, FILE *out, struct fs_err *err);

#endif
