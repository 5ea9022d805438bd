/*
 * store/sqlite.c: the SQLite backend (store/backend.h): a file.
 *
 * Invariants:
 *  - A database is ours when PRAGMA application_id is ST_APP_ID; a fresh
 *    (empty) file gets the schema; anything else is refused.
 *  - PRAGMA user_version is the schema version; the migration from it to
 *    ST_SCHEMA_VERSION (rendered from store/schema.c) runs in one
 *    transaction.
 *  - Every commit is one transaction (BEGIN IMMEDIATE: the one writer)
 *    holding the rows AND the source's bookkeeping (done_off, counts), so
 *    the sources row always describes exactly which lines of the source
 *    are stored.
 *  - A writable database's WAL is checkpointed by a thread of its own,
 *    on a second connection (store/sqlite_ckpt.h), not inside commits.
 */
#include "store/backend.h"
#include "store/sqlite_ckpt.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define ST_APP_ID 0x46537370	/* "FSsp" */

/* ---- statements ---- */

enum {
	S_THREAD, S_BMAP, S_RPC, S_WRITE, S_STATE, S_FORCED,
	S_UNPARSED, S_LINE, S_EPISODE, S_SERIES, S_BSTAT, S_TSTAT,
	S_DEL_EP, S_DEL_SERIES, S_DEL_BSTAT, S_DEL_TSTAT,
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_THREAD] = "INSERT OR IGNORE INTO threads(source_id, tno, name, tid) VALUES(?,?,?,?)",
	/* the bmaps, the per-line rows and the episodes: from the batch itself (see "Row feeds");
	 * WHERE true: an upsert's SELECT needs a clause before ON CONFLICT */
	[S_BMAP] = "INSERT INTO bmaps(fid, bno, last_addr, first_us, last_us)"
	    " SELECT * FROM fs_feed_bmaps WHERE true"
	    " ON CONFLICT(fid, bno) DO UPDATE SET last_addr=excluded.last_addr,"
	    " first_us=min(coalesce(first_us, excluded.first_us), coalesce(excluded.first_us, first_us)),"
	    " last_us=max(coalesce(last_us, excluded.last_us), coalesce(excluded.last_us, last_us))",
	[S_RPC] = "INSERT INTO rpcs(source_id, src_off, tno, ts_us, kind, xid, off, sz,"
	    " outstanding, rc, fid, bno, req_addr, bwc) SELECT * FROM fs_feed_rpcs",
	[S_WRITE] = "INSERT INTO writes(source_id, src_off, tno, ts_us, fid, bno, bmap_addr,"
	    " biorq_addr, off, len, msg) SELECT * FROM fs_feed_writes",
	[S_STATE] = "INSERT INTO bmap_states(source_id, src_off, tno, ts_us, fid, bno,"
	    " bmap_addr, state, msg, flags, opcnt) SELECT * FROM fs_feed_states",
	[S_FORCED] = "INSERT INTO forced(source_id, src_off, tno, ts_us, fid, bno, biorq_addr)"
	    " SELECT * FROM fs_feed_forced",
	[S_UNPARSED] = "INSERT OR REPLACE INTO unparsed(source_id, src_off, lineno, text)"
	    " VALUES(?,?,?,?)",
	[S_LINE] = "INSERT OR REPLACE INTO lines(source_id, src_off, lineno, text) VALUES(?,?,?,?)",
	[S_EPISODE] = "INSERT INTO episodes(source_id, tno, fid, bno, addr, start_us, end_us,"
	    " cycles, period_us, outstanding_min, outstanding_max, cause, first_off, last_off)"
	    " SELECT * FROM fs_feed_episodes",
	[S_SERIES] = "INSERT INTO series(source_id, tno, sec, examinations, wasted, passes,"
	    " useless_passes, rpcs_sent, rpcs_done, max_outstanding)"
	    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) ON CONFLICT(source_id, tno, sec) DO UPDATE"
	    " SET examinations=examinations+?4, wasted=wasted+?5, passes=passes+?6,"
	    " useless_passes=useless_passes+?7, rpcs_sent=rpcs_sent+?8, rpcs_done=rpcs_done+?9,"
	    " max_outstanding=max(max_outstanding, ?10)",
	[S_BSTAT] = "INSERT INTO bmap_series(source_id, fid, bno, sec, examinations, wasted)"
	    " VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(source_id, fid, bno, sec) DO UPDATE"
	    " SET examinations=examinations+?5, wasted=wasted+?6",
	[S_TSTAT] = "INSERT OR REPLACE INTO thread_stats(source_id, tno, passes, useless_passes,"
	    " examinations, wasted, first_us, last_us, period_p50_us, period_p99_us, period_hist,"
	    " first_pass_us, sleep_p50_us, line_p50_us, era)"
	    " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_DEL_EP] = "DELETE FROM episodes WHERE source_id=?",
	[S_DEL_SERIES] = "DELETE FROM series WHERE source_id=?",
	[S_DEL_BSTAT] = "DELETE FROM bmap_series WHERE source_id=?",
	[S_DEL_TSTAT] = "DELETE FROM thread_stats WHERE source_id=?",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
};

/*
 * Row feeds.  The bmaps, the per-line tables and the episodes are inserted
 * by one statement per table and batch, INSERT .. SELECT * FROM a feed: an
 * eponymous virtual table (fs_feed_<table>, this connection's only, never
 * stored) whose rows are the batch's, converted to column values one row
 * at a time (feed_load).  Against binding each value (sqlite3_bind_*, then
 * copied into a register), even with 32 VALUES tuples a statement, it
 * saves about 15 % of the instructions of an insert.  Rows go in the
 * batch's order, so their ids are the same; the bmaps (no ids) go in
 * (fid, bno) order (write_refs).  (The PostgreSQL backend sends rows with
 * COPY and needs none of this.)
 */
enum { F_BMAP, F_RPC, F_WRITE, F_STATE, F_FORCED, F_EPISODE, F_COUNT };

#define FEED_MAXCOLS 14

/*
 * One column's value: SQLITE_NULL, SQLITE_INTEGER (i) or SQLITE_TEXT (t: a
 * literal or the batch's own text, valid while the statement runs).
 */
struct sq_val {
	int type;
	int64_t i;
	const char *t;
};

/* What a feed is: its module's name, columns, statement and row converter. */
struct feed_kind {
	const char *module;
	int ncol, stmt;
	void (*row)(struct sq_val *v, int64_t sid, const void *row);
};

/* A feed's rows while its statement runs (the module's client data). */
struct sq_feed {
	const struct feed_kind *kind;
	const char *v;			/* n rows of sz bytes */
	size_t n, sz;
	int64_t sid;			/* the source they belong to */
};

struct sq_store {
	struct st_store base;		/* first: a struct st_store * is a struct sq_store * */
	sqlite3 *db;
	int readonly;
	sqlite3_stmt *stmt[S_COUNT];
	struct sq_feed feed[F_COUNT];
	FS_VEC(struct st_bbmap) bsorted;	/* a batch's bmaps in (fid, bno) order */
	struct sq_ckpt *ck;		/* checkpoints off the writer's thread; NULL: SQLite's */
};

struct st_rawq {
	struct sq_store *sq;
	sqlite3_stmt *s;
};

/* The SQLite store of a store. */
static struct sq_store *
SQ(struct st_store *st)
{
	return (struct sq_store *)st;
}


/* Sets err from the database's last error, prefixed with the database path. */
static int
db_err(struct sq_store *st, struct fs_err *err, const char *what)
{
	int rc = sqlite3_extended_errcode(st->db);
	const char *m = sqlite3_errmsg(st->db);

	if ((rc & 0xff) == SQLITE_FULL)
		return fs_err_set(err, ENOSPC, "%s: %s: disk full (%s)", st->base.name, what, m);
	if ((rc & 0xff) == SQLITE_READONLY)
		return fs_err_set(err, EROFS, "%s: %s: database is read-only (%s)", st->base.name,
		    what, m);
	if ((rc & 0xff) == SQLITE_NOTADB)
		return fs_err_set(err, -1, "%s: not a flushscope database (%s)", st->base.name, m);
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return fs_err_set(err, EBUSY, "%s: %s: %s", st->base.name, what, m);
	return fs_err_set(err, -1, "%s: %s: %s", st->base.name, what, m);
}

/* Runs SQL with no results. */
static int
exec(struct sq_store *st, const char *sql, struct fs_err *err, const char *what)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(st, err, what);
	return 0;
}

/* Reads a single integer PRAGMA (or query); -1 on error. */
static int
query_int(struct sq_store *st, const char *sql, int64_t *out, struct fs_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_err(st, err, "reading the schema");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(st, err, "reading the schema");
	return 0;
}

/* Reads application_id, user_version and the number of schema objects. */
static int
schema_read(struct sq_store *st, int64_t *appid, int64_t *ver, int64_t *ntables,
    struct fs_err *err)
{
	if (query_int(st, "PRAGMA application_id", appid, err) != 0 ||
	    query_int(st, "PRAGMA user_version", ver, err) != 0 ||
	    query_int(st, "SELECT count(*) FROM sqlite_master", ntables, err) != 0)
		return -1;
	return 0;
}

/* Checks what schema_read found; 1 = ours and current, 0 = needs creating/migrating. */
static int
schema_verdict(struct sq_store *st, int flags, int64_t appid, int64_t ver, int64_t ntables,
    struct fs_err *err)
{
	if (appid != ST_APP_ID) {
		if (appid != 0 || ver != 0 || ntables != 0)
			return fs_err_set(err, -1, "%s: not a flushscope database "
			    "(it has other tables; refusing to touch it)", st->base.name);
		if (!(flags & ST_OPEN_CREATE) || st->readonly)
			return fs_err_set(err, -1, "%s: empty database, no flushscope schema",
			    st->base.name);
	}
	if (ver > ST_SCHEMA_VERSION)
		return fs_err_set(err, -1, "%s: schema version %" PRId64 " is newer than this "
		    "flushscope understands (%d); upgrade flushscope", st->base.name, ver,
		    ST_SCHEMA_VERSION);
	if (ver == ST_SCHEMA_VERSION)
		return 1;
	if (st->readonly)
		return fs_err_set(err, -1, "%s: schema version %" PRId64 " needs migrating to %d; "
		    "open it once for writing (flushscope ingest)", st->base.name, ver,
		    ST_SCHEMA_VERSION);
	return 0;
}

/*
 * Checks the database is ours, creating or migrating the schema when
 * allowed.  The decision is taken again inside an exclusive transaction,
 * so two processes opening a new database at once create it once.
 */
static int
schema_check(struct sq_store *st, int flags, struct fs_err *err)
{
	int64_t appid, ver, ntables;
	char sql[128];
	int v;

	/* one read transaction: the three reads see one state (another process may
	 * be creating the schema meanwhile) */
	if (exec(st, "BEGIN", err, "reading the schema") != 0)
		return -1;
	v = schema_read(st, &appid, &ver, &ntables, err);
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	if (v != 0 || (v = schema_verdict(st, flags, appid, ver, ntables, err)) < 0)
		return -1;
	if (v == 1)
		return 0;
	if (exec(st, "BEGIN EXCLUSIVE", err, "migrating the schema") != 0)
		return -1;
	if (schema_read(st, &appid, &ver, &ntables, err) != 0 ||
	    (v = schema_verdict(st, flags, appid, ver, ntables, err)) < 0)
		goto fail;
	if (v == 0) {
		char *mig = st_schema_sql(ST_SQLITE, (int)ver);

		if (mig == NULL) {
			fs_err_set(err, ENOMEM, "%s: out of memory", st->base.name);
			goto fail;
		}
		v = exec(st, mig, err, "migrating the schema");
		free(mig);
		if (v != 0)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA application_id=%d; PRAGMA user_version=%d",
	    ST_APP_ID, ST_SCHEMA_VERSION);
	if ((v == 0 && exec(st, sql, err, "migrating the schema") != 0) ||
	    exec(st, "COMMIT", err, "migrating the schema") != 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* ---- binding helpers ---- */

/* Binds an integer, or NULL when it equals the "absent" marker. */
static void
bind_opt(sqlite3_stmt *s, int i, int64_t v, int64_t absent)
{
	if (v == absent)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

/* ---- column values of the feeds' rows ---- */

/* An integer. */
static void
val_int(struct sq_val *v, int64_t x)
{
	v->type = SQLITE_INTEGER;
	v->i = x;
}

/* An integer, or NULL when it equals the "absent" marker (as bind_opt). */
static void
val_opt(struct sq_val *v, int64_t x, int64_t absent)
{
	if (x == absent)
		v->type = SQLITE_NULL;
	else
		val_int(v, x);
}

/* Text that outlives the statement (a literal, or the batch's). */
static void
val_text(struct sq_val *v, const char *t)
{
	v->type = SQLITE_TEXT;
	v->t = t;
}

/* A per-line row's source, offset, thread (NULL when < 0) and time at v[0..3]. */
static void
val_line(struct sq_val *v, int64_t sid, uint64_t src_off, int tno, int64_t ts_us)
{
	val_int(&v[0], sid);
	val_int(&v[1], (int64_t)src_off);
	val_opt(&v[2], tno, -1);
	val_opt(&v[3], ts_us, INT64_MIN);
}

/* A bmap (fid, bno) at v[0], v[1]; both NULL when the row has none. */
static void
val_bmap(struct sq_val *v, int has, uint64_t fid, int64_t bno)
{
	if (has) {
		val_int(&v[0], (int64_t)fid);
		val_int(&v[1], bno);
	} else
		v[0].type = v[1].type = SQLITE_NULL;
}

/* Steps an insert statement and resets it; 0 or -1. */
static int
step_reset(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- commit ---- */

static int insert_rows(struct sq_store *st, int k, int64_t sid, const void *v, size_t n,
    size_t sz);

/* Orders bmaps by identity. */
static int
bbmap_cmp(const void *a, const void *b)
{
	const struct st_bbmap *x = a, *y = b;

	if (x->fid != y->fid)
		return x->fid < y->fid ? -1 : 1;
	return x->bno < y->bno ? -1 : x->bno > y->bno;
}

/*
 * Writes the batch's threads and bmaps, after deleting replaced derived rows.
 * The bmaps are merged into their rows in (fid, bno) order: each upsert then
 * finds its row next to the last one's, in pages just read.
 */
static int
write_refs(struct sq_store *st, const struct st_batch *b)
{
	int64_t sid = b->src.id;
	sqlite3_stmt *s;
	size_t i;
	int k;

	if (b->replace_derived) {
		for (k = S_DEL_EP; k <= S_DEL_TSTAT; k++) {
			sqlite3_bind_int64(st->stmt[k], 1, sid);
			if (step_reset(st->stmt[k]) != 0)
				return -1;
		}
	}
	s = st->stmt[S_THREAD];
	for (i = 0; i < b->threads.n; i++) {
		const struct st_bthread *t = &b->threads.v[i];

		sqlite3_bind_int64(s, 1, sid);
		sqlite3_bind_int(s, 2, t->tno);
		sqlite3_bind_text(s, 3, b->text + t->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, b->text + t->tid, -1, SQLITE_STATIC);
		if (step_reset(s) != 0)
			return -1;
	}
	if (b->bmaps.n == 0 || fs_vec_reserve(&st->bsorted, b->bmaps.n) != 0)	/* order is speed only */
		return insert_rows(st, F_BMAP, sid, b->bmaps.v, b->bmaps.n, sizeof(*b->bmaps.v));
	memcpy(st->bsorted.v, b->bmaps.v, b->bmaps.n * sizeof(*b->bmaps.v));
	st->bsorted.n = b->bmaps.n;
	qsort(st->bsorted.v, st->bsorted.n, sizeof(*st->bsorted.v), bbmap_cmp);
	return insert_rows(st, F_BMAP, sid, st->bsorted.v, st->bsorted.n, sizeof(*st->bsorted.v));
}

/* A bmap row's columns (S_BMAP's order); it belongs to no source. */
static void
row_bmap(struct sq_val *v, int64_t sid, const void *row)
{
	const struct st_bbmap *m = row;

	(void)sid;
	val_int(&v[0], (int64_t)m->fid);
	val_int(&v[1], m->bno);
	val_int(&v[2], (int64_t)m->addr);
	val_opt(&v[3], m->first_us, INT64_MIN);
	val_opt(&v[4], m->last_us, INT64_MIN);
}

/* An RPC row's columns (S_RPC's order). */
static void
row_rpc(struct sq_val *v, int64_t sid, const void *row)
{
	const struct st_rpc *r = row;

	val_line(v, sid, r->src_off, r->tno, r->ts_us);
	val_text(&v[4], r->kind == ST_RPC_DONE ? "done" : "send");
	val_opt(&v[5], r->xid, -1);
	val_opt(&v[6], r->off, -1);
	val_opt(&v[7], r->sz, -1);
	val_opt(&v[8], r->outstanding, -1);
	val_opt(&v[9], r->rc, -1);
	val_bmap(&v[10], r->has_bmap, r->fid, r->bno);
	val_opt(&v[12], (int64_t)r->req_addr, 0);
	val_opt(&v[13], (int64_t)r->bwc_addr, 0);
}

/* A write row's columns (S_WRITE's order). */
static void
row_write(struct sq_val *v, int64_t sid, const void *row)
{
	const struct st_write *w = row;

	val_line(v, sid, w->src_off, w->tno, w->ts_us);
	val_bmap(&v[4], w->has_bmap, w->fid, w->bno);
	val_opt(&v[6], (int64_t)w->bmap_addr, 0);
	val_opt(&v[7], (int64_t)w->biorq_addr, 0);
	val_opt(&v[8], w->off, -1);
	val_opt(&v[9], w->len, -1);
	val_int(&v[10], w->msg_id);
}

/* A state row's columns (S_STATE's order). */
static void
row_state(struct sq_val *v, int64_t sid, const void *row)
{
	const struct st_state *x = row;

	val_line(v, sid, x->src_off, x->tno, x->ts_us);
	val_bmap(&v[4], 1, x->fid, x->bno);
	val_opt(&v[6], (int64_t)x->bmap_addr, 0);
	val_text(&v[7], x->kind == PS_EV_CLEAN ? "clean" : "ready");
	val_int(&v[8], x->msg_id);
	val_int(&v[9], x->flags);
	val_opt(&v[10], x->opcnt, -1);
}

/* A forced-flush row's columns (S_FORCED's order). */
static void
row_forced(struct sq_val *v, int64_t sid, const void *row)
{
	const struct st_forced *f = row;

	val_line(v, sid, f->src_off, f->tno, f->ts_us);
	val_bmap(&v[4], f->has_bmap, f->fid, f->bno);
	val_opt(&v[6], (int64_t)f->biorq_addr, 0);
}

/* An episode row's columns (S_EPISODE's order). */
static void
row_episode(struct sq_val *v, int64_t sid, const void *row)
{
	const struct st_bepisode *b = row;
	const struct st_episode *e = &b->ep;

	val_int(&v[0], sid);
	val_opt(&v[1], b->tno, -1);
	val_int(&v[2], (int64_t)e->fid);
	val_int(&v[3], e->bno);
	val_int(&v[4], (int64_t)e->addr);
	val_int(&v[5], e->start_us);
	val_int(&v[6], e->end_us);
	val_int(&v[7], (int64_t)e->cycles);
	val_int(&v[8], e->period_us);
	val_opt(&v[9], e->outstanding_min, -1);
	val_opt(&v[10], e->outstanding_max, -1);
	val_text(&v[11], e->cause);
	val_int(&v[12], (int64_t)e->first_off);
	val_int(&v[13], (int64_t)e->last_off);
}

static const struct feed_kind feed_kinds[F_COUNT] = {
	[F_BMAP] = { "fs_feed_bmaps", 5, S_BMAP, row_bmap },
	[F_RPC] = { "fs_feed_rpcs", 14, S_RPC, row_rpc },
	[F_WRITE] = { "fs_feed_writes", 11, S_WRITE, row_write },
	[F_STATE] = { "fs_feed_states", 11, S_STATE, row_state },
	[F_FORCED] = { "fs_feed_forced", 7, S_FORCED, row_forced },
	[F_EPISODE] = { "fs_feed_episodes", 14, S_EPISODE, row_episode },
};

/* ---- the feeds' virtual table module (see "Row feeds") ---- */

struct feed_vtab {
	sqlite3_vtab base;
	struct sq_feed *f;
};

struct feed_cursor {
	sqlite3_vtab_cursor base;
	struct sq_feed *f;
	size_t i;				/* the current row */
	struct sq_val v[FEED_MAXCOLS];		/* its columns */
};

/* Declares the feed's columns c0, c1, .. (the statement names the table's). */
static int
feed_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
    char **errmsg)
{
	struct sq_feed *f = aux;
	struct feed_vtab *t;
	char decl[32 + FEED_MAXCOLS * 6];
	size_t n;
	int i, rc;

	(void)argc;
	(void)argv;
	if (f->kind->ncol > FEED_MAXCOLS) {
		*errmsg = sqlite3_mprintf("%s: %d columns, at most %d", f->kind->module,
		    f->kind->ncol, FEED_MAXCOLS);
		return SQLITE_ERROR;
	}
	n = (size_t)snprintf(decl, sizeof(decl), "CREATE TABLE x(");
	for (i = 0; i < f->kind->ncol; i++)
		n += (size_t)snprintf(decl + n, sizeof(decl) - n, "%sc%d", i ? "," : "", i);
	snprintf(decl + n, sizeof(decl) - n, ")");
	if ((rc = sqlite3_declare_vtab(db, decl)) != SQLITE_OK)
		return rc;
	(void)sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
	if ((t = sqlite3_malloc(sizeof(*t))) == NULL)
		return SQLITE_NOMEM;
	memset(t, 0, sizeof(*t));
	t->f = f;
	*out = &t->base;
	return SQLITE_OK;
}

static int
feed_disconnect(sqlite3_vtab *t)
{
	sqlite3_free(t);
	return SQLITE_OK;
}

/* One plan: every row, in order. */
static int
feed_best_index(sqlite3_vtab *t, sqlite3_index_info *ii)
{
	(void)t;
	ii->estimatedCost = 1e6;
	ii->estimatedRows = 1000000;
	return SQLITE_OK;
}

static int
feed_open(sqlite3_vtab *t, sqlite3_vtab_cursor **out)
{
	struct feed_cursor *c = sqlite3_malloc(sizeof(*c));

	if (c == NULL)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	c->f = ((struct feed_vtab *)t)->f;
	*out = &c->base;
	return SQLITE_OK;
}

static int
feed_close(sqlite3_vtab_cursor *c)
{
	sqlite3_free(c);
	return SQLITE_OK;
}

/* Converts the current row, if any. */
static void
feed_load(struct feed_cursor *c)
{
	if (c->i < c->f->n)
		c->f->kind->row(c->v, c->f->sid, c->f->v + c->i * c->f->sz);
}

static int
feed_filter(sqlite3_vtab_cursor *cur, int idx, const char *idxs, int argc, sqlite3_value **argv)
{
	struct feed_cursor *c = (struct feed_cursor *)cur;

	(void)idx;
	(void)idxs;
	(void)argc;
	(void)argv;
	c->i = 0;
	feed_load(c);
	return SQLITE_OK;
}

static int
feed_next(sqlite3_vtab_cursor *cur)
{
	struct feed_cursor *c = (struct feed_cursor *)cur;

	c->i++;
	feed_load(c);
	return SQLITE_OK;
}

static int
feed_eof(sqlite3_vtab_cursor *cur)
{
	struct feed_cursor *c = (struct feed_cursor *)cur;

	return c->i >= c->f->n;
}

static int
feed_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i)
{
	const struct sq_val *v = &((struct feed_cursor *)cur)->v[i];

	if (v->type == SQLITE_INTEGER)
		sqlite3_result_int64(ctx, v->i);
	else if (v->type == SQLITE_TEXT)
		sqlite3_result_text(ctx, v->t, -1, SQLITE_STATIC);
	else
		sqlite3_result_null(ctx);
	return SQLITE_OK;
}

static int
feed_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)((struct feed_cursor *)cur)->i;
	return SQLITE_OK;
}

/* Eponymous only (no xCreate): fs_feed_<table> exists on this connection alone. */
static const sqlite3_module feed_module = {
	.iVersion = 0,
	.xConnect = feed_connect,
	.xBestIndex = feed_best_index,
	.xDisconnect = feed_disconnect,
	.xOpen = feed_open,
	.xClose = feed_close,
	.xFilter = feed_filter,
	.xNext = feed_next,
	.xEof = feed_eof,
	.xColumn = feed_column,
	.xRowid = feed_rowid,
};

/* Inserts n rows of size sz at v through feed k (one statement run); 0 or -1. */
static int
insert_rows(struct sq_store *st, int k, int64_t sid, const void *v, size_t n, size_t sz)
{
	struct sq_feed *f = &st->feed[k];
	int rc;

	if (n == 0)
		return 0;
	f->v = v;
	f->n = n;
	f->sz = sz;
	f->sid = sid;
	rc = step_reset(st->stmt[f->kind->stmt]);
	f->v = NULL;
	f->n = 0;
	return rc;
}

/* Writes the per-line rows: RPCs, writes, state changes, forced flushes. */
static int
write_rows(struct sq_store *st, const struct st_batch *b)
{
	int64_t sid = b->src.id;

	if (insert_rows(st, F_RPC, sid, b->rpcs.v, b->rpcs.n, sizeof(*b->rpcs.v)) != 0 ||
	    insert_rows(st, F_WRITE, sid, b->writes.v, b->writes.n, sizeof(*b->writes.v)) != 0 ||
	    insert_rows(st, F_STATE, sid, b->states.v, b->states.n, sizeof(*b->states.v)) != 0 ||
	    insert_rows(st, F_FORCED, sid, b->forced.v, b->forced.n, sizeof(*b->forced.v)) != 0)
		return -1;
	return 0;
}

/* Writes the kept lines and the unparsed samples. */
static int
write_lines(struct sq_store *st, const struct st_batch *b)
{
	int64_t sid = b->src.id;
	sqlite3_stmt *s;
	size_t i;
	int k;

	for (k = 0; k < 2; k++) {
		const struct st_bline *v = k ? b->lines.v : b->unparsed.v;
		size_t n = k ? b->lines.n : b->unparsed.n;

		s = st->stmt[k ? S_LINE : S_UNPARSED];
		for (i = 0; i < n; i++) {
			sqlite3_bind_int64(s, 1, sid);
			sqlite3_bind_int64(s, 2, (int64_t)v[i].src_off);
			sqlite3_bind_int64(s, 3, (int64_t)v[i].lineno);
			sqlite3_bind_text(s, 4, b->text + v[i].text, (int)v[i].len,
			    SQLITE_STATIC);
			if (step_reset(s) != 0)
				return -1;
		}
	}
	return 0;
}

/* Writes the detector's results: episodes, series, bmap series, thread figures. */
static int
write_derived(struct sq_store *st, const struct st_batch *b)
{
	int64_t sid = b->src.id;
	sqlite3_stmt *s;
	size_t i;

	if (insert_rows(st, F_EPISODE, sid, b->episodes.v, b->episodes.n,
	    sizeof(*b->episodes.v)) != 0)
		return -1;
	s = st->stmt[S_SERIES];
	for (i = 0; i < b->series.n; i++) {
		const struct st_series *r = &b->series.v[i];

		sqlite3_bind_int64(s, 1, sid);
		sqlite3_bind_int(s, 2, r->tno);
		sqlite3_bind_int64(s, 3, r->sec);
		sqlite3_bind_int64(s, 4, (int64_t)r->examinations);
		sqlite3_bind_int64(s, 5, (int64_t)r->wasted);
		sqlite3_bind_int64(s, 6, (int64_t)r->passes);
		sqlite3_bind_int64(s, 7, (int64_t)r->useless_passes);
		sqlite3_bind_int64(s, 8, (int64_t)r->rpcs_sent);
		sqlite3_bind_int64(s, 9, (int64_t)r->rpcs_done);
		sqlite3_bind_int64(s, 10, r->max_outstanding);
		if (step_reset(s) != 0)
			return -1;
	}
	s = st->stmt[S_BSTAT];
	for (i = 0; i < b->bstats.n; i++) {
		const struct st_bmap_stat *r = &b->bstats.v[i];

		sqlite3_bind_int64(s, 1, sid);
		sqlite3_bind_int64(s, 2, (int64_t)r->fid);
		sqlite3_bind_int64(s, 3, r->bno);
		sqlite3_bind_int64(s, 4, r->sec);
		sqlite3_bind_int64(s, 5, (int64_t)r->examinations);
		sqlite3_bind_int64(s, 6, (int64_t)r->wasted);
		if (step_reset(s) != 0)
			return -1;
	}
	s = st->stmt[S_TSTAT];
	for (i = 0; i < b->tstats.n; i++) {
		const struct st_thread_stats *t = &b->tstats.v[i].st;
		char hist[ST_HIST_TEXT];
		size_t hn = st__hist_text(t->period_hist, hist, sizeof(hist));
		sqlite3_bind_int64(s, 1, sid);
		sqlite3_bind_int(s, 2, b->tstats.v[i].tno);
		sqlite3_bind_int64(s, 3, (int64_t)t->passes);
		sqlite3_bind_int64(s, 4, (int64_t)t->useless_passes);
		sqlite3_bind_int64(s, 5, (int64_t)t->examinations);
		sqlite3_bind_int64(s, 6, (int64_t)t->wasted);
		bind_opt(s, 7, t->first_us, INT64_MIN);
		bind_opt(s, 8, t->last_us, INT64_MIN);
		sqlite3_bind_int64(s, 9, t->period_p50_us);
		sqlite3_bind_int64(s, 10, t->period_p99_us);
		sqlite3_bind_text(s, 11, hist, (int)hn, SQLITE_TRANSIENT);
		bind_opt(s, 12, t->first_pass_us, INT64_MIN);
		bind_opt(s, 13, t->sleep_p50_us, -1);
		bind_opt(s, 14, t->line_p50_us, -1);
		if (t->era != 0)
			sqlite3_bind_text(s, 15, &t->era, 1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(s, 15);
		if (step_reset(s) != 0)
			return -1;
	}
	return 0;
}

/* Writes every row of the batch (inside the caller's transaction); 0 or -1, err set. */
static int
batch_write(struct sq_store *st, const struct st_batch *b, struct fs_err *err)
{
	if (write_refs(st, b) != 0 || write_rows(st, b) != 0 || write_lines(st, b) != 0 ||
	    write_derived(st, b) != 0)
		return db_err(st, err, "writing rows");
	if (b->has_source && st__source_write(&st->base, &b->src, err) != 0)
		return -1;
	return 0;
}

/* Writes a batch in one transaction. */
static int
sq_commit(struct st_store *base, struct st_batch *b, struct fs_err *err)
{
	struct sq_store *st = SQ(base);

	if (step_reset(st->stmt[S_BEGIN]) != 0)
		return db_err(st, err, "starting a transaction");
	/* BEGIN IMMEDIATE holds the write lock: no other commit runs until ours ends */
	if (st__commit_check(base, b, "", err) != 0) {
		step_reset(st->stmt[S_ROLLBACK]);
		return -1;
	}
	if (batch_write(st, b, err) != 0) {
		step_reset(st->stmt[S_ROLLBACK]);
		return -1;
	}
	if (step_reset(st->stmt[S_COMMIT]) != 0) {
		db_err(st, err, "committing");
		step_reset(st->stmt[S_ROLLBACK]);
		return -1;
	}
	return 0;
}

/* Runs fn in one write transaction. */
static int
sq_transaction(struct st_store *base,
    int (*fn)(void *arg, struct st_store *st, struct fs_err *err), void *arg,
    struct fs_err *err)
{
	struct sq_store *st = SQ(base);
	int rc;

	if (exec(st, "BEGIN IMMEDIATE", err, "starting a transaction") != 0)
		return -1;
	if ((rc = fn(arg, base, err)) != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if (exec(st, "COMMIT", err, "committing") != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Process-wide SQLite settings; see store.h. */
void
st_process_init(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Closes the database. */
static void
sq_close(struct st_store *base)
{
	struct sq_store *st = SQ(base);
	int i;

	sq_ckpt_detach(st->ck);
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st->bsorted.v);
	free(st);
}

/* Opens the database file; see store.h. */
static struct st_store *
sq_open(const char *path, const char *name, int flags, struct fs_err *err)
{
	struct sq_store *st;
	int oflags, i;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		fs_err_set(err, ENOMEM, "%s: out of memory", name);
		return NULL;
	}
	st->base.be = &st_sqlite_backend;
	snprintf(st->base.name, sizeof(st->base.name), "%s", name);
	if (flags & ST_OPEN_READONLY)
		oflags = SQLITE_OPEN_READONLY;
	else
		oflags = SQLITE_OPEN_READWRITE | ((flags & ST_OPEN_CREATE) ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (st->db == NULL)
			fs_err_set(err, ENOMEM, "%s: out of memory", name);
		else
			fs_err_set(err, -1, "%s: cannot open database: %s", name,
			    sqlite3_errmsg(st->db));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 10000);
	st->readonly = (flags & ST_OPEN_READONLY) || sqlite3_db_readonly(st->db, "main") == 1;
	st->base.readonly = st->readonly;
	if (st->readonly && !(flags & ST_OPEN_READONLY)) {
		fs_err_set(err, EROFS, "%s: database is read-only", name);
		goto fail;
	}
	/*
	 * A new (or empty) file's pages are 16 KiB; a file with a schema keeps
	 * its own.  Ingest writes every page twice (WAL, then checkpoint), and
	 * pages four times the default size make a quarter of the write calls
	 * and balance the trees less often.  The pragma writes nothing.
	 */
	if (!st->readonly && exec(st, "PRAGMA page_size=16384", err, "setting the page size") != 0)
		goto fail;
	/* nothing is written to a database before it is known to be ours */
	if (schema_check(st, flags, err) != 0)
		goto fail;
	if (!st->readonly) {
		/* WAL: readers (sqlite3, flushscope top) read while we write. */
		if (exec(st, "PRAGMA journal_mode=WAL", err, "setting WAL mode") != 0)
			goto fail;
		if (exec(st, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384;"
		    "PRAGMA temp_store=MEMORY", err, "setting pragmas") != 0)
			goto fail;
		/* the WAL is copied back by a thread of its own (store/sqlite_ckpt.h) */
		st->ck = sq_ckpt_attach(st->db);
		for (i = 0; i < F_COUNT; i++) {
			st->feed[i].kind = &feed_kinds[i];
			if (sqlite3_create_module_v2(st->db, feed_kinds[i].module, &feed_module,
			    &st->feed[i], NULL) != SQLITE_OK) {
				db_err(st, err, "registering the row feeds");
				goto fail;
			}
		}
		for (i = 0; i < S_COUNT; i++)
			if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
			    &st->stmt[i], NULL) != SQLITE_OK) {
				db_err(st, err, "preparing statements");
				goto fail;
			}
	}
	return &st->base;
fail:
	sq_close(&st->base);
	return NULL;
}

/* ---- raw cursors ---- */

/* Prepares sql and binds its parameters. */
static struct st_rawq *
sq_query_open(struct st_store *base, const char *sql, const struct st_param *p, int np,
    int stream, struct fs_err *err)
{
	struct sq_store *st = SQ(base);
	struct st_rawq *q;
	int i;

	(void)stream;	/* SQLite steps every statement a row at a time */
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		fs_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	q->sq = st;
	if (sqlite3_prepare_v2(st->db, sql, -1, &q->s, NULL) != SQLITE_OK) {
		db_err(st, err, "querying");
		free(q);
		return NULL;
	}
	for (i = 0; i < np; i++) {
		if (p[i].type == ST_P_INT)
			sqlite3_bind_int64(q->s, i + 1, p[i].i);
		else if (p[i].type == ST_P_TEXT)
			sqlite3_bind_text(q->s, i + 1, p[i].s, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(q->s, i + 1);
	}
	return q;
}

/* Steps a raw cursor. */
static int
sq_query_next(struct st_rawq *q, struct fs_err *err)
{
	int rc = sqlite3_step(q->s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	db_err(q->sq, err, "querying");
	return -1;
}

/* The number of columns. */
static int
sq_col_count(struct st_rawq *q)
{
	return sqlite3_column_count(q->s);
}

/* 1 if column i is NULL. */
static int
sq_col_null(struct st_rawq *q, int i)
{
	return sqlite3_column_type(q->s, i) == SQLITE_NULL;
}

/* Column i as an integer. */
static int64_t
sq_col_int(struct st_rawq *q, int i)
{
	return sqlite3_column_int64(q->s, i);
}

/* Column i as text ("" for NULL). */
static const char *
sq_col_text(struct st_rawq *q, int i, size_t *len)
{
	const char *t = (const char *)sqlite3_column_text(q->s, i);

	*len = t != NULL ? (size_t)sqlite3_column_bytes(q->s, i) : 0;
	return t != NULL ? t : "";
}

/* Finalizes a raw cursor. */
static void
sq_query_close(struct st_rawq *q)
{
	if (q == NULL)
		return;
	sqlite3_finalize(q->s);
	free(q);
}

const struct st_backend st_sqlite_backend = {
	"sqlite", ST_SQLITE,
	sq_open, sq_close, sq_transaction, sq_commit,
	sq_query_open, sq_query_next, sq_col_count, sq_col_null, sq_col_int, sq_col_text,
	sq_query_close,
};
