/*
 * store/sqlite.c: the SQLite backend of store.h.
 *
 * Invariants:
 *  - A database is ours when PRAGMA application_id is ST_APP_ID; a fresh
 *    (empty) file gets the schema; anything else is refused.
 *  - PRAGMA user_version is the schema version; migrations[v] upgrades
 *    from version v to v+1, all in one transaction.
 *  - Every st_commit is one transaction holding the rows AND the source's
 *    bookkeeping (done_off, counts), so the sources row always describes
 *    exactly which lines of the source are stored.
 */
#include "store/store.h"
#include "store/batch.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#define ST_APP_ID 0x46537370	/* "FSsp" */

/* ---- schema ---- */

static const char schema_v1[] =
"CREATE TABLE sources ("
"  id INTEGER PRIMARY KEY,"
"  path TEXT NOT NULL,"
"  dev INTEGER, ino INTEGER, size INTEGER,"
"  head_len INTEGER, head_sum INTEGER, gz INTEGER,"
"  done_off INTEGER NOT NULL DEFAULT 0,"
"  lines INTEGER NOT NULL DEFAULT 0,"
"  unparsed INTEGER NOT NULL DEFAULT 0,"
"  n_other INTEGER DEFAULT 0, n_write_ready INTEGER DEFAULT 0,"
"  n_examine INTEGER DEFAULT 0, n_schedule INTEGER DEFAULT 0,"
"  n_rpc_send INTEGER DEFAULT 0, n_rpc_done INTEGER DEFAULT 0,"
"  n_requeue INTEGER DEFAULT 0, n_clean INTEGER DEFAULT 0,"
"  n_wake INTEGER DEFAULT 0, n_pass INTEGER DEFAULT 0,"
"  formats TEXT, state TEXT NOT NULL DEFAULT 'partial', updated INTEGER);"
"CREATE INDEX sources_path ON sources(path);"
"CREATE TABLE threads (source_id INTEGER NOT NULL, tno INTEGER NOT NULL,"
"  name TEXT, tid TEXT, PRIMARY KEY (source_id, tno)) WITHOUT ROWID;"
"CREATE TABLE bmaps (fid INTEGER NOT NULL, bno INTEGER NOT NULL,"
"  last_addr INTEGER, first_us INTEGER, last_us INTEGER,"
"  PRIMARY KEY (fid, bno)) WITHOUT ROWID;"
"CREATE TABLE rpcs (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL,"
"  src_off INTEGER NOT NULL, tno INTEGER, ts_us INTEGER, kind TEXT,"
"  xid INTEGER, off INTEGER, sz INTEGER, outstanding INTEGER, rc INTEGER,"
"  fid INTEGER, bno INTEGER, req_addr INTEGER);"
"CREATE TABLE writes (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL,"
"  src_off INTEGER NOT NULL, tno INTEGER, ts_us INTEGER, fid INTEGER, bno INTEGER,"
"  bmap_addr INTEGER, biorq_addr INTEGER, off INTEGER, len INTEGER, msg INTEGER);"
"CREATE TABLE bmap_states (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL,"
"  src_off INTEGER NOT NULL, tno INTEGER, ts_us INTEGER, fid INTEGER, bno INTEGER,"
"  bmap_addr INTEGER, state TEXT, msg INTEGER, flags INTEGER, opcnt INTEGER);"
"CREATE TABLE forced (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL,"
"  src_off INTEGER NOT NULL, tno INTEGER, ts_us INTEGER, fid INTEGER, bno INTEGER,"
"  biorq_addr INTEGER);"
"CREATE TABLE unparsed (source_id INTEGER NOT NULL, src_off INTEGER NOT NULL,"
"  lineno INTEGER, text TEXT, PRIMARY KEY (source_id, src_off)) WITHOUT ROWID;"
"CREATE TABLE lines (source_id INTEGER NOT NULL, src_off INTEGER NOT NULL,"
"  lineno INTEGER, text TEXT, PRIMARY KEY (source_id, src_off)) WITHOUT ROWID;"
"CREATE TABLE episodes (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL,"
"  tno INTEGER, fid INTEGER, bno INTEGER, addr INTEGER, start_us INTEGER,"
"  end_us INTEGER, cycles INTEGER, period_us INTEGER, outstanding_min INTEGER,"
"  outstanding_max INTEGER, cause TEXT, first_off INTEGER, last_off INTEGER);"
"CREATE INDEX episodes_bmap ON episodes(fid, bno);"
"CREATE INDEX episodes_source ON episodes(source_id);"
"CREATE TABLE thread_stats (source_id INTEGER NOT NULL, tno INTEGER NOT NULL,"
"  passes INTEGER, useless_passes INTEGER, examinations INTEGER, wasted INTEGER,"
"  first_us INTEGER, last_us INTEGER, period_p50_us INTEGER, period_p99_us INTEGER,"
"  period_hist TEXT, PRIMARY KEY (source_id, tno)) WITHOUT ROWID;"
"CREATE TABLE series (source_id INTEGER NOT NULL, tno INTEGER NOT NULL,"
"  sec INTEGER NOT NULL, examinations INTEGER, wasted INTEGER, passes INTEGER,"
"  useless_passes INTEGER, rpcs_sent INTEGER, rpcs_done INTEGER,"
"  max_outstanding INTEGER, PRIMARY KEY (source_id, tno, sec)) WITHOUT ROWID;"
"CREATE TABLE bmap_stats (source_id INTEGER NOT NULL, fid INTEGER NOT NULL,"
"  bno INTEGER NOT NULL, examinations INTEGER, wasted INTEGER,"
"  PRIMARY KEY (source_id, fid, bno)) WITHOUT ROWID;"
"CREATE VIEW v_episodes AS SELECT e.id, e.source_id, s.path AS source,"
"  t.name AS thread, printf('%x', e.fid) AS fid, e.bno, printf('0x%x', e.addr) AS addr,"
"  e.start_us, e.end_us, (e.end_us - e.start_us) / 1000.0 AS duration_ms,"
"  e.period_us / 1000.0 AS period_ms, e.cycles, e.outstanding_min,"
"  e.outstanding_max, e.cause, e.first_off, e.last_off"
"  FROM episodes e JOIN sources s ON s.id = e.source_id"
"  LEFT JOIN threads t ON t.source_id = e.source_id AND t.tno = e.tno;"
"CREATE VIEW v_bmap_spins AS SELECT printf('%x', b.fid) AS fid, b.bno,"
"  (SELECT count(*) FROM episodes e WHERE e.fid = b.fid AND e.bno = b.bno) AS episodes,"
"  (SELECT coalesce(sum(e.cycles), 0) FROM episodes e"
"     WHERE e.fid = b.fid AND e.bno = b.bno) AS cycles,"
"  sum(b.wasted) AS wasted, sum(b.examinations) AS examinations"
"  FROM bmap_stats b GROUP BY b.fid, b.bno;"
"CREATE VIEW v_thread_spins AS SELECT ts.source_id, s.path AS source,"
"  t.name AS thread, t.tid, ts.passes, ts.useless_passes,"
"  CASE WHEN ts.passes > 0 THEN round(1.0 * ts.useless_passes / ts.passes, 4) END"
"    AS useless_share,"
"  ts.examinations, ts.wasted,"
"  CASE WHEN ts.last_us > ts.first_us"
"    THEN round(ts.wasted * 1e6 / (ts.last_us - ts.first_us), 1) END AS wasted_per_s,"
"  ts.period_p50_us / 1000.0 AS period_p50_ms, ts.period_p99_us / 1000.0 AS period_p99_ms"
"  FROM thread_stats ts JOIN sources s ON s.id = ts.source_id"
"  LEFT JOIN threads t ON t.source_id = ts.source_id AND t.tno = ts.tno;";

/*
 * v2: per-bmap counters per second (bmap_series), so that a time window
 * selects the same examinations from a database as from a file (counters
 * of a v1 database have no seconds: they move to second 0, keeping
 * totals); each thread's first pass start (the replay's phase); a source's
 * identity beyond its first bytes (the checksum of the bytes just before
 * done_off) and the run that owns it (concurrent ingests of one file).
 */
static const char schema_v2[] =
"CREATE TABLE bmap_series (source_id INTEGER NOT NULL, fid INTEGER NOT NULL,"
"  bno INTEGER NOT NULL, sec INTEGER NOT NULL, examinations INTEGER, wasted INTEGER,"
"  PRIMARY KEY (source_id, fid, bno, sec)) WITHOUT ROWID;"
"INSERT INTO bmap_series SELECT source_id, fid, bno, 0, examinations, wasted FROM bmap_stats;"
"DROP VIEW v_bmap_spins;"
"DROP TABLE bmap_stats;"
"CREATE VIEW v_bmap_spins AS SELECT printf('%x', b.fid) AS fid, b.bno,"
"  (SELECT count(*) FROM episodes e WHERE e.fid = b.fid AND e.bno = b.bno) AS episodes,"
"  (SELECT coalesce(sum(e.cycles), 0) FROM episodes e"
"     WHERE e.fid = b.fid AND e.bno = b.bno) AS cycles,"
"  sum(b.wasted) AS wasted, sum(b.examinations) AS examinations"
"  FROM bmap_series b GROUP BY b.fid, b.bno;"
"ALTER TABLE thread_stats ADD COLUMN first_pass_us INTEGER;"
"ALTER TABLE sources ADD COLUMN tail_len INTEGER NOT NULL DEFAULT 0;"
"ALTER TABLE sources ADD COLUMN tail_sum INTEGER NOT NULL DEFAULT 0;"
"ALTER TABLE sources ADD COLUMN run_id INTEGER NOT NULL DEFAULT 0;";

/* migrations[v]: SQL taking the schema from version v to v+1. */
static const char *const migrations[ST_SCHEMA_VERSION] = {
	schema_v1,
	schema_v2,
};

/* ---- statements ---- */

enum {
	S_SRC_UPDATE, S_THREAD, S_BMAP, S_RPC, S_WRITE, S_STATE, S_FORCED,
	S_UNPARSED, S_LINE, S_EPISODE, S_SERIES, S_BSTAT, S_TSTAT,
	S_DEL_EP, S_DEL_SERIES, S_DEL_BSTAT, S_DEL_TSTAT,
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_SRC_OFF,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_SRC_UPDATE] = "UPDATE sources SET path=?2, dev=?3, ino=?4, size=?5, head_len=?6,"
	    " head_sum=?7, gz=?8, done_off=?9, lines=?10, unparsed=?11, n_other=?12,"
	    " n_write_ready=?13, n_examine=?14, n_schedule=?15, n_rpc_send=?16,"
	    " n_rpc_done=?17, n_requeue=?18, n_clean=?19, n_wake=?20, n_pass=?21,"
	    " formats=?22, state=?23, updated=?24, tail_len=?25, tail_sum=?26 WHERE id=?1",
	[S_THREAD] = "INSERT OR IGNORE INTO threads(source_id, tno, name, tid) VALUES(?,?,?,?)",
	[S_BMAP] = "INSERT INTO bmaps(fid, bno, last_addr, first_us, last_us) VALUES(?1,?2,?3,?4,?5)"
	    " ON CONFLICT(fid, bno) DO UPDATE SET last_addr=?3,"
	    " first_us=min(coalesce(first_us, ?4), coalesce(?4, first_us)),"
	    " last_us=max(coalesce(last_us, ?5), coalesce(?5, last_us))",
	[S_RPC] = "INSERT INTO rpcs(source_id, src_off, tno, ts_us, kind, xid, off, sz,"
	    " outstanding, rc, fid, bno, req_addr) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_WRITE] = "INSERT INTO writes(source_id, src_off, tno, ts_us, fid, bno, bmap_addr,"
	    " biorq_addr, off, len, msg) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
	[S_STATE] = "INSERT INTO bmap_states(source_id, src_off, tno, ts_us, fid, bno,"
	    " bmap_addr, state, msg, flags, opcnt) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
	[S_FORCED] = "INSERT INTO forced(source_id, src_off, tno, ts_us, fid, bno, biorq_addr)"
	    " VALUES(?,?,?,?,?,?,?)",
	[S_UNPARSED] = "INSERT OR REPLACE INTO unparsed(source_id, src_off, lineno, text)"
	    " VALUES(?,?,?,?)",
	[S_LINE] = "INSERT OR REPLACE INTO lines(source_id, src_off, lineno, text) VALUES(?,?,?,?)",
	[S_EPISODE] = "INSERT INTO episodes(source_id, tno, fid, bno, addr, start_us, end_us,"
	    " cycles, period_us, outstanding_min, outstanding_max, cause, first_off, last_off)"
	    " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
	    " first_pass_us) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_DEL_EP] = "DELETE FROM episodes WHERE source_id=?",
	[S_DEL_SERIES] = "DELETE FROM series WHERE source_id=?",
	[S_DEL_BSTAT] = "DELETE FROM bmap_series WHERE source_id=?",
	[S_DEL_TSTAT] = "DELETE FROM thread_stats WHERE source_id=?",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SRC_OFF] = "SELECT done_off, run_id FROM sources WHERE id=?",
};

/*
 * The per-line tables and episodes are also inserted ST_MULTI rows per
 * statement (the same statement's VALUES tuple repeated): one statement
 * run instead of ST_MULTI saves about a quarter of the instructions per
 * row.  Rows go in the same order, so their ids are the same.
 */
#define ST_MULTI	32

enum { M_RPC, M_WRITE, M_STATE, M_FORCED, M_EPISODE, M_COUNT };

static const int multi_of[M_COUNT] = {
	[M_RPC] = S_RPC, [M_WRITE] = S_WRITE, [M_STATE] = S_STATE, [M_FORCED] = S_FORCED,
	[M_EPISODE] = S_EPISODE,
};

struct st_store {
	sqlite3 *db;
	char *path;
	int readonly;
	sqlite3_stmt *stmt[S_COUNT];
	sqlite3_stmt *multi[M_COUNT];	/* stmt[multi_of[i]] for ST_MULTI rows */
};

/* Sets err from the database's last error, prefixed with the database path. */
static int
db_err(struct st_store *st, struct fs_err *err, const char *what)
{
	int rc = sqlite3_extended_errcode(st->db);
	const char *m = sqlite3_errmsg(st->db);

	if ((rc & 0xff) == SQLITE_FULL)
		return fs_err_set(err, ENOSPC, "%s: %s: disk full (%s)", st->path, what, m);
	if ((rc & 0xff) == SQLITE_READONLY)
		return fs_err_set(err, EROFS, "%s: %s: database is read-only (%s)", st->path,
		    what, m);
	if ((rc & 0xff) == SQLITE_NOTADB)
		return fs_err_set(err, -1, "%s: not a flushscope database (%s)", st->path, m);
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return fs_err_set(err, EBUSY, "%s: %s: %s", st->path, what, m);
	return fs_err_set(err, -1, "%s: %s: %s", st->path, what, m);
}

/* Runs SQL with no results. */
static int
exec(struct st_store *st, const char *sql, struct fs_err *err, const char *what)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(st, err, what);
	return 0;
}

/* Reads a single integer PRAGMA (or query); -1 on error. */
static int
query_int(struct st_store *st, const char *sql, int64_t *out, struct fs_err *err)
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
schema_read(struct st_store *st, int64_t *appid, int64_t *ver, int64_t *ntables,
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
schema_verdict(struct st_store *st, int flags, int64_t appid, int64_t ver, int64_t ntables,
    struct fs_err *err)
{
	if (appid != ST_APP_ID) {
		if (appid != 0 || ver != 0 || ntables != 0)
			return fs_err_set(err, -1, "%s: not a flushscope database "
			    "(it has other tables; refusing to touch it)", st->path);
		if (!(flags & ST_OPEN_CREATE) || st->readonly)
			return fs_err_set(err, -1, "%s: empty database, no flushscope schema",
			    st->path);
	}
	if (ver > ST_SCHEMA_VERSION)
		return fs_err_set(err, -1, "%s: schema version %" PRId64 " is newer than this "
		    "flushscope understands (%d); upgrade flushscope", st->path, ver,
		    ST_SCHEMA_VERSION);
	if (ver == ST_SCHEMA_VERSION)
		return 1;
	if (st->readonly)
		return fs_err_set(err, -1, "%s: schema version %" PRId64 " needs migrating to %d; "
		    "open it once for writing (flushscope ingest)", st->path, ver,
		    ST_SCHEMA_VERSION);
	return 0;
}

/*
 * Checks the database is ours, creating or migrating the schema when
 * allowed.  The decision is taken again inside an exclusive transaction,
 * so two processes opening a new database at once create it once.
 */
static int
schema_check(struct st_store *st, int flags, struct fs_err *err)
{
	int64_t appid, ver, ntables;
	char sql[128];
	int v;

	if (schema_read(st, &appid, &ver, &ntables, err) != 0 ||
	    (v = schema_verdict(st, flags, appid, ver, ntables, err)) < 0)
		return -1;
	if (v == 1)
		return 0;
	if (exec(st, "BEGIN EXCLUSIVE", err, "migrating the schema") != 0)
		return -1;
	if (schema_read(st, &appid, &ver, &ntables, err) != 0 ||
	    (v = schema_verdict(st, flags, appid, ver, ntables, err)) < 0)
		goto fail;
	for (; v == 0 && ver < ST_SCHEMA_VERSION; ver++)
		if (exec(st, migrations[ver], err, "migrating the schema") != 0)
			goto fail;
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

/*
 * Prepares sql (an INSERT ending in one VALUES tuple) with the tuple
 * repeated ST_MULTI times.
 */
static int
prepare_multi(struct st_store *st, const char *sql, sqlite3_stmt **out, struct fs_err *err)
{
	const char *tuple = strstr(sql, "VALUES(");
	size_t pre, tn, n, k;
	char *buf;
	int rc;

	if (tuple == NULL)
		return fs_err_set(err, EINVAL, "%s: internal: no VALUES in '%s'", st->path, sql);
	tuple += 6;
	pre = (size_t)(tuple - sql);
	tn = strlen(tuple);
	if ((buf = malloc(pre + ST_MULTI * (tn + 1) + 1)) == NULL)
		return fs_err_set(err, ENOMEM, "%s: out of memory", st->path);
	memcpy(buf, sql, pre);
	n = pre;
	for (k = 0; k < ST_MULTI; k++) {
		if (k > 0)
			buf[n++] = ',';
		memcpy(buf + n, tuple, tn);
		n += tn;
	}
	buf[n] = '\0';
	rc = sqlite3_prepare_v3(st->db, buf, (int)n, SQLITE_PREPARE_PERSISTENT, out, NULL);
	free(buf);
	return rc == SQLITE_OK ? 0 : db_err(st, err, "preparing statements");
}

/* Process-wide SQLite settings; see store.h. */
void
st_process_init(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Opens the database; see store.h. */
struct st_store *
st_open(const char *path, int flags, struct fs_err *err)
{
	struct st_store *st;
	int oflags, i;

	fs_err_clear(err);
	if ((st = calloc(1, sizeof(*st))) == NULL || (st->path = strdup(path)) == NULL) {
		free(st);
		fs_err_set(err, ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	if (flags & ST_OPEN_READONLY)
		oflags = SQLITE_OPEN_READONLY;
	else
		oflags = SQLITE_OPEN_READWRITE | ((flags & ST_OPEN_CREATE) ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (st->db == NULL)
			fs_err_set(err, ENOMEM, "%s: out of memory", path);
		else
			fs_err_set(err, -1, "%s: cannot open database: %s", path,
			    sqlite3_errmsg(st->db));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 10000);
	st->readonly = (flags & ST_OPEN_READONLY) || sqlite3_db_readonly(st->db, "main") == 1;
	if (st->readonly && !(flags & ST_OPEN_READONLY)) {
		fs_err_set(err, EROFS, "%s: database is read-only", path);
		goto fail;
	}
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
	}
	if (!st->readonly) {
		for (i = 0; i < S_COUNT; i++)
			if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
			    &st->stmt[i], NULL) != SQLITE_OK) {
				db_err(st, err, "preparing statements");
				goto fail;
			}
		for (i = 0; i < M_COUNT; i++)
			if (prepare_multi(st, stmt_sql[multi_of[i]], &st->multi[i], err) != 0)
				goto fail;
	}
	return st;
fail:
	st_close(st);
	return NULL;
}

/* Closes the database. */
void
st_close(struct st_store *st)
{
	int i;

	if (st == NULL)
		return;
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	for (i = 0; i < M_COUNT; i++)
		sqlite3_finalize(st->multi[i]);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
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

/* Binds a thread number (NULL when < 0). */
static void
bind_tno(sqlite3_stmt *s, int i, int tno)
{
	bind_opt(s, i, tno, -1);
}

/* Steps an insert statement and resets it; 0 or -1. */
static int
step_reset(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}


/* Writes a source row's bookkeeping (statement S_SRC_UPDATE). */
static int
source_write(struct st_store *st, const struct st_source *src)
{
	sqlite3_stmt *s = st->stmt[S_SRC_UPDATE];
	int i;

	sqlite3_bind_int64(s, 1, src->id);
	sqlite3_bind_text(s, 2, src->path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)src->dev);
	sqlite3_bind_int64(s, 4, (int64_t)src->ino);
	sqlite3_bind_int64(s, 5, (int64_t)src->size);
	sqlite3_bind_int64(s, 6, (int64_t)src->head_len);
	sqlite3_bind_int64(s, 7, (int64_t)src->head_sum);
	sqlite3_bind_int(s, 8, src->gz);
	sqlite3_bind_int64(s, 9, (int64_t)src->done_off);
	sqlite3_bind_int64(s, 10, (int64_t)src->lines);
	sqlite3_bind_int64(s, 11, (int64_t)src->unparsed);
	for (i = 0; i < PS_EV_NKINDS; i++)
		sqlite3_bind_int64(s, 12 + i, (int64_t)src->events[i]);
	sqlite3_bind_text(s, 22, src->formats, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 23, src->state == ST_SRC_COMPLETE ? "complete" : "partial", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(s, 24, (int64_t)time(NULL));
	sqlite3_bind_int64(s, 25, (int64_t)src->tail_len);
	sqlite3_bind_int64(s, 26, (int64_t)src->tail_sum);
	return step_reset(s);
}

/* Fills a struct st_source from a "SELECT * FROM sources" row. */
static void
source_read(sqlite3_stmt *s, struct st_source *out)
{
	const unsigned char *t;
	int i;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(s, 0);
	if ((t = sqlite3_column_text(s, 1)) != NULL)
		snprintf(out->path, sizeof(out->path), "%s", (const char *)t);
	out->dev = (uint64_t)sqlite3_column_int64(s, 2);
	out->ino = (uint64_t)sqlite3_column_int64(s, 3);
	out->size = (uint64_t)sqlite3_column_int64(s, 4);
	out->head_len = (uint64_t)sqlite3_column_int64(s, 5);
	out->head_sum = (uint64_t)sqlite3_column_int64(s, 6);
	out->gz = sqlite3_column_int(s, 7);
	out->done_off = (uint64_t)sqlite3_column_int64(s, 8);
	out->lines = (uint64_t)sqlite3_column_int64(s, 9);
	out->unparsed = (uint64_t)sqlite3_column_int64(s, 10);
	for (i = 0; i < PS_EV_NKINDS; i++)
		out->events[i] = (uint64_t)sqlite3_column_int64(s, 11 + i);
	if ((t = sqlite3_column_text(s, 21)) != NULL)
		snprintf(out->formats, sizeof(out->formats), "%s", (const char *)t);
	t = sqlite3_column_text(s, 22);
	out->state = t != NULL && strcmp((const char *)t, "complete") == 0 ?
	    ST_SRC_COMPLETE : ST_SRC_PARTIAL;
	out->updated = sqlite3_column_int64(s, 23);
	out->tail_len = (uint64_t)sqlite3_column_int64(s, 24);
	out->tail_sum = (uint64_t)sqlite3_column_int64(s, 25);
	out->run_id = (uint64_t)sqlite3_column_int64(s, 26);
}

#define SOURCE_COLS "id, path, dev, ino, size, head_len, head_sum, gz, done_off, lines," \
	" unparsed, n_other, n_write_ready, n_examine, n_schedule, n_rpc_send, n_rpc_done," \
	" n_requeue, n_clean, n_wake, n_pass, formats, state, updated, tail_len, tail_sum, run_id"

/* Runs a one-row source lookup prepared by the caller. */
static int
source_lookup(struct st_store *st, sqlite3_stmt *s, struct st_source *out,
    struct fs_err *err)
{
	int rc = sqlite3_step(s), found = 0;

	if (rc == SQLITE_ROW) {
		source_read(s, out);
		found = 1;
	} else if (rc != SQLITE_DONE) {
		db_err(st, err, "reading sources");
		found = -1;
	}
	sqlite3_finalize(s);
	return found;
}

/* Finds the latest source with this path. */
int
st_source_find_path(struct st_store *st, const char *path, struct st_source *out,
    struct fs_err *err)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(st->db, "SELECT " SOURCE_COLS " FROM sources WHERE path=?"
	    " ORDER BY id DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK)
		return db_err(st, err, "reading sources");
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	return source_lookup(st, s, out, err);
}

/* Finds the latest source whose head checksum matches. */
int
st_source_find_head(struct st_store *st, uint64_t head_sum, uint64_t head_len,
    struct st_source *out, struct fs_err *err)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(st->db, "SELECT " SOURCE_COLS " FROM sources WHERE head_sum=?"
	    " AND head_len=? ORDER BY id DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK)
		return db_err(st, err, "reading sources");
	sqlite3_bind_int64(s, 1, (int64_t)head_sum);
	sqlite3_bind_int64(s, 2, (int64_t)head_len);
	return source_lookup(st, s, out, err);
}

/* Runs fn in one write transaction. */
int
st_transaction(struct st_store *st,
    int (*fn)(void *arg, struct st_store *st, struct fs_err *err), void *arg,
    struct fs_err *err)
{
	int rc;

	if (st->readonly)
		return fs_err_set(err, EROFS, "%s: database is read-only", st->path);
	if (exec(st, "BEGIN IMMEDIATE", err, "starting a transaction") != 0)
		return -1;
	if ((rc = fn(arg, st, err)) != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if (exec(st, "COMMIT", err, "committing") != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Inserts a new source row (inside a transaction). */
int
st_source_insert(struct st_store *st, struct st_source *src, struct fs_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO sources(path) VALUES(?)", -1, &s,
	    NULL) != SQLITE_OK)
		return db_err(st, err, "adding a source");
	sqlite3_bind_text(s, 1, src->path, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "adding a source");
	src->id = sqlite3_last_insert_rowid(st->db);
	return st_source_update(st, src, err);
}

/* Writes a source's bookkeeping (inside a transaction). */
int
st_source_update(struct st_store *st, const struct st_source *src, struct fs_err *err)
{
	if (source_write(st, src) != 0)
		return db_err(st, err, "updating a source");
	return 0;
}

/* Claims a source for one run (inside a transaction). */
int
st_source_claim(struct st_store *st, int64_t id, uint64_t *run, struct fs_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, "UPDATE sources SET run_id = run_id + 1 WHERE id = ?"
	    " RETURNING run_id", -1, &s, NULL) != SQLITE_OK)
		return db_err(st, err, "claiming a source");
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*run = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? fs_err_set(err, ENOENT, "%s: no source %lld", st->path,
		    (long long)id) : db_err(st, err, "claiming a source");
	return 0;
}

/* Transaction body of st_source_add. */
static int
add_fn(void *arg, struct st_store *st, struct fs_err *err)
{
	return st_source_insert(st, arg, err);
}

/* Inserts a new source row in its own transaction. */
int
st_source_add(struct st_store *st, struct st_source *src, struct fs_err *err)
{
	return st_transaction(st, add_fn, src, err);
}

/* Lists every source. */
int
st_query_sources(struct st_store *st, int (*cb)(void *arg, const struct st_source *s),
    void *arg, struct fs_err *err)
{
	struct st_source *src;
	sqlite3_stmt *s;
	int rc, ret = 0;

	if ((src = malloc(sizeof(*src))) == NULL)
		return fs_err_set(err, ENOMEM, "out of memory");
	if (sqlite3_prepare_v2(st->db, "SELECT " SOURCE_COLS " FROM sources ORDER BY id", -1,
	    &s, NULL) != SQLITE_OK) {
		free(src);
		return db_err(st, err, "reading sources");
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		source_read(s, src);
		if ((ret = cb(arg, src)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_err(st, err, "reading sources");
	sqlite3_finalize(s);
	free(src);
	return ret;
}

/* ---- commit ---- */

/* Writes the batch's threads and bmaps, after deleting replaced derived rows. */
static int
write_refs(struct st_store *st, const struct st_batch *b)
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
	s = st->stmt[S_BMAP];
	for (i = 0; i < b->bmaps.n; i++) {
		const struct st_bbmap *m = &b->bmaps.v[i];

		sqlite3_bind_int64(s, 1, (int64_t)m->fid);
		sqlite3_bind_int64(s, 2, m->bno);
		sqlite3_bind_int64(s, 3, (int64_t)m->addr);
		bind_opt(s, 4, m->first_us, INT64_MIN);
		bind_opt(s, 5, m->last_us, INT64_MIN);
		if (step_reset(s) != 0)
			return -1;
	}
	return 0;
}

/* Binds RPC row r from parameter o + 1 on. */
static void
bind_rpc(sqlite3_stmt *s, int o, int64_t sid, const void *row)
{
	const struct st_rpc *r = row;

	sqlite3_bind_int64(s, o + 1, sid);
	sqlite3_bind_int64(s, o + 2, (int64_t)r->src_off);
	bind_tno(s, o + 3, r->tno);
	bind_opt(s, o + 4, r->ts_us, INT64_MIN);
	sqlite3_bind_text(s, o + 5, r->kind == ST_RPC_DONE ? "done" : "send", -1, SQLITE_STATIC);
	bind_opt(s, o + 6, r->xid, -1);
	bind_opt(s, o + 7, r->off, -1);
	bind_opt(s, o + 8, r->sz, -1);
	bind_opt(s, o + 9, r->outstanding, -1);
	bind_opt(s, o + 10, r->rc, -1);
	if (r->has_bmap) {
		sqlite3_bind_int64(s, o + 11, (int64_t)r->fid);
		sqlite3_bind_int64(s, o + 12, r->bno);
	} else {
		sqlite3_bind_null(s, o + 11);
		sqlite3_bind_null(s, o + 12);
	}
	bind_opt(s, o + 13, (int64_t)r->req_addr, 0);
}

/* Binds write row w from parameter o + 1 on. */
static void
bind_write(sqlite3_stmt *s, int o, int64_t sid, const void *row)
{
	const struct st_write *w = row;

	sqlite3_bind_int64(s, o + 1, sid);
	sqlite3_bind_int64(s, o + 2, (int64_t)w->src_off);
	bind_tno(s, o + 3, w->tno);
	bind_opt(s, o + 4, w->ts_us, INT64_MIN);
	if (w->has_bmap) {
		sqlite3_bind_int64(s, o + 5, (int64_t)w->fid);
		sqlite3_bind_int64(s, o + 6, w->bno);
	} else {
		sqlite3_bind_null(s, o + 5);
		sqlite3_bind_null(s, o + 6);
	}
	bind_opt(s, o + 7, (int64_t)w->bmap_addr, 0);
	bind_opt(s, o + 8, (int64_t)w->biorq_addr, 0);
	bind_opt(s, o + 9, w->off, -1);
	bind_opt(s, o + 10, w->len, -1);
	sqlite3_bind_int(s, o + 11, w->msg_id);
}

/* Binds state row x from parameter o + 1 on. */
static void
bind_state(sqlite3_stmt *s, int o, int64_t sid, const void *row)
{
	const struct st_state *x = row;

	sqlite3_bind_int64(s, o + 1, sid);
	sqlite3_bind_int64(s, o + 2, (int64_t)x->src_off);
	bind_tno(s, o + 3, x->tno);
	bind_opt(s, o + 4, x->ts_us, INT64_MIN);
	sqlite3_bind_int64(s, o + 5, (int64_t)x->fid);
	sqlite3_bind_int64(s, o + 6, x->bno);
	bind_opt(s, o + 7, (int64_t)x->bmap_addr, 0);
	sqlite3_bind_text(s, o + 8, x->kind == PS_EV_CLEAN ? "clean" : "ready", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, o + 9, x->msg_id);
	sqlite3_bind_int64(s, o + 10, x->flags);
	bind_opt(s, o + 11, x->opcnt, -1);
}

/* Binds forced-flush row f from parameter o + 1 on. */
static void
bind_forced(sqlite3_stmt *s, int o, int64_t sid, const void *row)
{
	const struct st_forced *f = row;

	sqlite3_bind_int64(s, o + 1, sid);
	sqlite3_bind_int64(s, o + 2, (int64_t)f->src_off);
	bind_tno(s, o + 3, f->tno);
	bind_opt(s, o + 4, f->ts_us, INT64_MIN);
	if (f->has_bmap) {
		sqlite3_bind_int64(s, o + 5, (int64_t)f->fid);
		sqlite3_bind_int64(s, o + 6, f->bno);
	} else {
		sqlite3_bind_null(s, o + 5);
		sqlite3_bind_null(s, o + 6);
	}
	bind_opt(s, o + 7, (int64_t)f->biorq_addr, 0);
}

/* Binds episode row b from parameter o + 1 on. */
static void
bind_episode(sqlite3_stmt *s, int o, int64_t sid, const void *row)
{
	const struct st_bepisode *b = row;
	const struct st_episode *e = &b->ep;

	sqlite3_bind_int64(s, o + 1, sid);
	bind_tno(s, o + 2, b->tno);
	sqlite3_bind_int64(s, o + 3, (int64_t)e->fid);
	sqlite3_bind_int64(s, o + 4, e->bno);
	sqlite3_bind_int64(s, o + 5, (int64_t)e->addr);
	sqlite3_bind_int64(s, o + 6, e->start_us);
	sqlite3_bind_int64(s, o + 7, e->end_us);
	sqlite3_bind_int64(s, o + 8, (int64_t)e->cycles);
	sqlite3_bind_int64(s, o + 9, e->period_us);
	bind_opt(s, o + 10, e->outstanding_min, -1);
	bind_opt(s, o + 11, e->outstanding_max, -1);
	sqlite3_bind_text(s, o + 12, e->cause, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, o + 13, (int64_t)e->first_off);
	sqlite3_bind_int64(s, o + 14, (int64_t)e->last_off);
}

/*
 * Inserts n rows of size sz at v with statement k (ST_MULTI at a time
 * with st->multi[m]) and binder fn; 0 or -1.
 */
static int
insert_rows(struct st_store *st, int k, int m, int64_t sid, const void *v, size_t n, size_t sz,
    void (*fn)(sqlite3_stmt *, int, int64_t, const void *))
{
	const char *p = v;
	int ncol = sqlite3_bind_parameter_count(st->stmt[k]), j;
	size_t i = 0;

	for (; i + ST_MULTI <= n; i += ST_MULTI) {
		for (j = 0; j < ST_MULTI; j++)
			fn(st->multi[m], j * ncol, sid, p + (i + (size_t)j) * sz);
		if (step_reset(st->multi[m]) != 0)
			return -1;
	}
	for (; i < n; i++) {
		fn(st->stmt[k], 0, sid, p + i * sz);
		if (step_reset(st->stmt[k]) != 0)
			return -1;
	}
	return 0;
}

/* Writes the per-line rows: RPCs, writes, state changes, forced flushes. */
static int
write_rows(struct st_store *st, const struct st_batch *b)
{
	int64_t sid = b->src.id;

	if (insert_rows(st, S_RPC, M_RPC, sid, b->rpcs.v, b->rpcs.n, sizeof(*b->rpcs.v),
	    bind_rpc) != 0 ||
	    insert_rows(st, S_WRITE, M_WRITE, sid, b->writes.v, b->writes.n,
	    sizeof(*b->writes.v), bind_write) != 0 ||
	    insert_rows(st, S_STATE, M_STATE, sid, b->states.v, b->states.n,
	    sizeof(*b->states.v), bind_state) != 0 ||
	    insert_rows(st, S_FORCED, M_FORCED, sid, b->forced.v, b->forced.n,
	    sizeof(*b->forced.v), bind_forced) != 0)
		return -1;
	return 0;
}

/* Writes the kept lines and the unparsed samples. */
static int
write_lines(struct st_store *st, const struct st_batch *b)
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
write_derived(struct st_store *st, const struct st_batch *b)
{
	int64_t sid = b->src.id;
	sqlite3_stmt *s;
	size_t i;

	if (insert_rows(st, S_EPISODE, M_EPISODE, sid, b->episodes.v, b->episodes.n,
	    sizeof(*b->episodes.v), bind_episode) != 0)
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
		char hist[40 * 21 + 1];
		size_t hn = 0;
		int j;

		for (j = 0; j < 40; j++)
			hn += (size_t)snprintf(hist + hn, sizeof(hist) - hn, "%s%" PRIu64,
			    j ? "," : "", t->period_hist[j]);
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
		if (step_reset(s) != 0)
			return -1;
	}
	return 0;
}

/* Writes every row of the batch (inside the caller's transaction). */
static int
batch_write(struct st_store *st, const struct st_batch *b)
{
	if (write_refs(st, b) != 0 || write_rows(st, b) != 0 || write_lines(st, b) != 0 ||
	    write_derived(st, b) != 0)
		return -1;
	if (b->has_source && source_write(st, &b->src) != 0)
		return -1;
	return 0;
}

/* Writes a batch in one transaction. */
int
st_commit(struct st_store *st, struct st_batch *b, struct fs_err *err)
{
	if (st->readonly)
		return fs_err_set(err, EROFS, "%s: database is read-only", st->path);
	if (b->oom)
		return fs_err_set(err, ENOMEM, "%s: out of memory building a batch", st->path);
	if (step_reset(st->stmt[S_BEGIN]) != 0)
		return db_err(st, err, "starting a transaction");
	if ((b->has_expect || b->has_run) && b->has_source) {
		sqlite3_stmt *s = st->stmt[S_SRC_OFF];
		int64_t cur = -1, run = -1;

		sqlite3_bind_int64(s, 1, b->src.id);
		if (sqlite3_step(s) == SQLITE_ROW) {
			cur = sqlite3_column_int64(s, 0);
			run = sqlite3_column_int64(s, 1);
		}
		sqlite3_reset(s);
		if (b->has_run && run != (int64_t)b->expect_run) {
			step_reset(st->stmt[S_ROLLBACK]);
			return fs_err_set(err, EBUSY, "%s: another ingest took over source %lld (%s);"
			    " it stores the rest, nothing stored is lost", b->src.path,
			    (long long)b->src.id, st->path);
		}
		if (b->has_expect && cur != (int64_t)b->expect_off) {
			step_reset(st->stmt[S_ROLLBACK]);
			return fs_err_set(err, EBUSY, "%s: source %lld (%s) was changed by another"
			    " process (stored up to byte %lld, expected %llu); run again",
			    st->path, (long long)b->src.id, b->src.path, (long long)cur,
			    (unsigned long long)b->expect_off);
		}
	}
	if (batch_write(st, b) != 0) {
		db_err(st, err, "writing rows");
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

/* ---- queries ---- */

/* Matches everything. */
void
st_filter_init(struct st_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->bno = -1;
	f->since_us = INT64_MIN;
	f->until_us = INT64_MAX;
}

/*
 * Appends the WHERE clause of a filter for a table aliased x with the given
 * time columns (t0 = start, t1 = end; the same column for point rows) and
 * binds nothing: parameters are named :sid :fid :bno :thr :since :until.
 */
static void
where_clause(char *buf, size_t n, const struct st_filter *f, const char *t0,
    const char *t1, int has_bmap, int has_thread)
{
	size_t k = (size_t)snprintf(buf, n, " WHERE 1");

	if (f->source_id != 0)
		k += (size_t)snprintf(buf + k, n - k, " AND x.source_id = :sid");
	if (has_bmap && f->has_fid) {
		k += (size_t)snprintf(buf + k, n - k, " AND x.fid = :fid");
		if (f->bno >= 0)
			k += (size_t)snprintf(buf + k, n - k, " AND x.bno = :bno");
	}
	if (has_thread && f->thread != NULL)
		k += (size_t)snprintf(buf + k, n - k, " AND t.name = :thr");
	if (t0 != NULL && f->since_us != INT64_MIN)
		k += (size_t)snprintf(buf + k, n - k, " AND %s >= :since", t1);
	if (t0 != NULL && f->until_us != INT64_MAX)
		snprintf(buf + k, n - k, " AND %s <= :until", t0);
}

/* Binds the named filter parameters that the statement uses. */
static void
bind_filter(sqlite3_stmt *s, const struct st_filter *f, int sec)
{
	int i;

	if ((i = sqlite3_bind_parameter_index(s, ":sid")) > 0)
		sqlite3_bind_int64(s, i, f->source_id);
	if ((i = sqlite3_bind_parameter_index(s, ":fid")) > 0)
		sqlite3_bind_int64(s, i, (int64_t)f->fid);
	if ((i = sqlite3_bind_parameter_index(s, ":bno")) > 0)
		sqlite3_bind_int64(s, i, f->bno);
	if ((i = sqlite3_bind_parameter_index(s, ":thr")) > 0)
		sqlite3_bind_text(s, i, f->thread, -1, SQLITE_STATIC);
	if ((i = sqlite3_bind_parameter_index(s, ":since")) > 0)
		sqlite3_bind_int64(s, i, sec ? f->since_us / 1000000 -
		    (f->since_us % 1000000 < 0) : f->since_us);
	if ((i = sqlite3_bind_parameter_index(s, ":until")) > 0)
		sqlite3_bind_int64(s, i, sec ? f->until_us / 1000000 : f->until_us);
}

/* Prepares "SELECT cols FROM table x LEFT JOIN threads t ... WHERE ... ORDER BY order". */
static sqlite3_stmt *
prepare_query(struct st_store *st, const char *cols, const char *table,
    const struct st_filter *f, const char *t0, const char *t1, int has_bmap,
    const char *order, int sec, struct fs_err *err)
{
	char where[512], *sql;
	sqlite3_stmt *s = NULL;

	where_clause(where, sizeof(where), f, t0, t1, has_bmap, 1);
	sql = sqlite3_mprintf("SELECT %s FROM %s x LEFT JOIN threads t ON"
	    " t.source_id = x.source_id AND t.tno = x.tno%s ORDER BY %s", cols, table, where,
	    order);
	if (sql == NULL) {
		fs_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		db_err(st, err, "querying");
		s = NULL;
	} else
		bind_filter(s, f, sec);
	sqlite3_free(sql);
	return s;
}

/* Column as int64 with a default for NULL. */
static int64_t
col_i64(sqlite3_stmt *s, int i, int64_t dflt)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? dflt : sqlite3_column_int64(s, i);
}

/* Column as a C string or NULL. */
static const char *
col_str(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* Copies a text column into a fixed buffer. */
static void
col_copy(sqlite3_stmt *s, int i, char *dst, size_t n)
{
	const char *t = col_str(s, i);

	snprintf(dst, n, "%s", t ? t : "");
}

/*
 * The per-line tables (rpcs, writes, bmap_states, forced) share their first
 * columns, their time filter and their log order: prepare_line_query selects
 * those columns first, and LINE_HEAD reads them into any row type with the
 * same field names (source_id, src_off, tno, thread, ts_us).
 */
/* Prepares a per-line query: the five head columns, then cols (numbered from 5). */
static sqlite3_stmt *
prepare_line_query(struct st_store *st, const char *cols, const char *table,
    const struct st_filter *f, struct fs_err *err)
{
	char all[512];

	snprintf(all, sizeof(all), "x.source_id, x.src_off, x.tno, t.name, x.ts_us, %s", cols);
	return prepare_query(st, all, table, f, "x.ts_us", "x.ts_us", 1,
	    "x.source_id, x.src_off", 0, err);
}

#define LINE_HEAD(r, s) do {						\
	(r).source_id = sqlite3_column_int64((s), 0);			\
	(r).src_off = (uint64_t)sqlite3_column_int64((s), 1);		\
	(r).tno = (int)col_i64((s), 2, -1);				\
	(r).thread = col_str((s), 3);					\
	(r).ts_us = col_i64((s), 4, INT64_MIN);				\
} while (0)

/* Finishes a query loop: maps the step result to the return value. */
static int
query_end(struct st_store *st, sqlite3_stmt *s, int rc, int ret, struct fs_err *err)
{
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_err(st, err, "querying");
	sqlite3_finalize(s);
	return ret;
}

/* Queries episodes. */
int
st_query_episodes(struct st_store *st, const struct st_filter *f,
    int (*cb)(void *arg, const struct st_episode_row *r), void *arg, struct fs_err *err)
{
	struct st_episode_row r;
	sqlite3_stmt *s;
	int rc, ret = 0;

	s = prepare_query(st, "x.id, x.source_id, t.name, t.tid, x.fid, x.bno, x.addr,"
	    " x.start_us, x.end_us, x.cycles, x.period_us, x.outstanding_min,"
	    " x.outstanding_max, x.cause, x.first_off, x.last_off", "episodes", f,
	    "x.start_us", "x.end_us", 1, "x.start_us, x.source_id, x.first_off", 0, err);
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = sqlite3_column_int64(s, 0);
		r.source_id = sqlite3_column_int64(s, 1);
		col_copy(s, 2, r.ep.thread, sizeof(r.ep.thread));
		col_copy(s, 3, r.ep.tid, sizeof(r.ep.tid));
		r.ep.fid = (uint64_t)sqlite3_column_int64(s, 4);
		r.ep.bno = (uint32_t)sqlite3_column_int64(s, 5);
		r.ep.addr = (uint64_t)sqlite3_column_int64(s, 6);
		r.ep.start_us = sqlite3_column_int64(s, 7);
		r.ep.end_us = sqlite3_column_int64(s, 8);
		r.ep.cycles = (uint64_t)sqlite3_column_int64(s, 9);
		r.ep.period_us = sqlite3_column_int64(s, 10);
		r.ep.outstanding_min = col_i64(s, 11, -1);
		r.ep.outstanding_max = col_i64(s, 12, -1);
		col_copy(s, 13, r.ep.cause, sizeof(r.ep.cause));
		r.ep.first_off = (uint64_t)sqlite3_column_int64(s, 14);
		r.ep.last_off = (uint64_t)sqlite3_column_int64(s, 15);
		if ((ret = cb(arg, &r)) != 0)
			break;
	}
	return query_end(st, s, rc, ret, err);
}

/* Queries per-thread figures. */
int
st_query_thread_stats(struct st_store *st, const struct st_filter *f,
    int (*cb)(void *arg, const struct st_thread_row *r), void *arg, struct fs_err *err)
{
	struct st_filter g = *f;
	struct st_thread_row r;
	sqlite3_stmt *s;
	int rc, ret = 0;

	g.has_fid = 0;
	g.since_us = INT64_MIN;
	g.until_us = INT64_MAX;
	s = prepare_query(st, "x.source_id, x.tno, t.name, t.tid, x.passes, x.useless_passes,"
	    " x.examinations, x.wasted, x.first_us, x.last_us, x.period_p50_us,"
	    " x.period_p99_us, x.period_hist, x.first_pass_us", "thread_stats", &g, NULL, NULL, 0,
	    "x.source_id, x.tno", 0, err);
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *h;
		int j;

		memset(&r, 0, sizeof(r));
		r.source_id = sqlite3_column_int64(s, 0);
		r.tno = sqlite3_column_int(s, 1);
		col_copy(s, 2, r.st.thread, sizeof(r.st.thread));
		col_copy(s, 3, r.st.tid, sizeof(r.st.tid));
		r.st.passes = (uint64_t)sqlite3_column_int64(s, 4);
		r.st.useless_passes = (uint64_t)sqlite3_column_int64(s, 5);
		r.st.examinations = (uint64_t)sqlite3_column_int64(s, 6);
		r.st.wasted = (uint64_t)sqlite3_column_int64(s, 7);
		r.st.first_us = col_i64(s, 8, INT64_MIN);
		r.st.last_us = col_i64(s, 9, INT64_MIN);
		r.st.period_p50_us = sqlite3_column_int64(s, 10);
		r.st.period_p99_us = sqlite3_column_int64(s, 11);
		r.st.first_pass_us = col_i64(s, 13, INT64_MIN);
		h = col_str(s, 12);
		for (j = 0; h != NULL && *h != '\0' && j < 40; j++) {
			char *end;

			r.st.period_hist[j] = strtoull(h, &end, 10);
			h = *end == ',' ? end + 1 : end;
		}
		if ((ret = cb(arg, &r)) != 0)
			break;
	}
	return query_end(st, s, rc, ret, err);
}

/* Queries the per-second series. */
int
st_query_series(struct st_store *st, const struct st_filter *f,
    int (*cb)(void *arg, const struct st_series *r), void *arg, struct fs_err *err)
{
	struct st_filter g = *f;
	struct st_series r;
	sqlite3_stmt *s;
	int rc, ret = 0;

	g.has_fid = 0;
	s = prepare_query(st, "x.source_id, x.tno, t.name, x.sec, x.examinations, x.wasted,"
	    " x.passes, x.useless_passes, x.rpcs_sent, x.rpcs_done, x.max_outstanding",
	    "series", &g, "x.sec", "x.sec", 0, "x.sec, x.source_id, x.tno", 1, err);
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r.source_id = sqlite3_column_int64(s, 0);
		r.tno = sqlite3_column_int(s, 1);
		r.thread = col_str(s, 2);
		r.sec = sqlite3_column_int64(s, 3);
		r.examinations = (uint64_t)sqlite3_column_int64(s, 4);
		r.wasted = (uint64_t)sqlite3_column_int64(s, 5);
		r.passes = (uint64_t)sqlite3_column_int64(s, 6);
		r.useless_passes = (uint64_t)sqlite3_column_int64(s, 7);
		r.rpcs_sent = (uint64_t)sqlite3_column_int64(s, 8);
		r.rpcs_done = (uint64_t)sqlite3_column_int64(s, 9);
		r.max_outstanding = col_i64(s, 10, -1);
		if ((ret = cb(arg, &r)) != 0)
			break;
	}
	return query_end(st, s, rc, ret, err);
}

/* Queries RPCs. */
int
st_query_rpcs(struct st_store *st, const struct st_filter *f,
    int (*cb)(void *arg, const struct st_rpc *r), void *arg, struct fs_err *err)
{
	struct st_rpc r;
	sqlite3_stmt *s;
	int rc, ret = 0;

	s = prepare_line_query(st, "x.kind, x.xid, x.off, x.sz, x.outstanding, x.rc, x.fid,"
	    " x.bno, x.req_addr", "rpcs", f, err);
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k;

		LINE_HEAD(r, s);
		k = col_str(s, 5);
		r.kind = k != NULL && strcmp(k, "done") == 0 ? ST_RPC_DONE : ST_RPC_SEND;
		r.xid = col_i64(s, 6, -1);
		r.off = col_i64(s, 7, -1);
		r.sz = col_i64(s, 8, -1);
		r.outstanding = col_i64(s, 9, -1);
		r.rc = col_i64(s, 10, -1);
		r.has_bmap = sqlite3_column_type(s, 11) != SQLITE_NULL;
		r.fid = (uint64_t)col_i64(s, 11, 0);
		r.bno = col_i64(s, 12, -1);
		r.req_addr = (uint64_t)col_i64(s, 13, 0);
		if ((ret = cb(arg, &r)) != 0)
			break;
	}
	return query_end(st, s, rc, ret, err);
}

/* Queries write arrivals. */
int
st_query_writes(struct st_store *st, const struct st_filter *f,
    int (*cb)(void *arg, const struct st_write *r), void *arg, struct fs_err *err)
{
	struct st_write r;
	sqlite3_stmt *s;
	int rc, ret = 0;

	s = prepare_line_query(st, "x.fid, x.bno, x.bmap_addr, x.biorq_addr, x.off, x.len,"
	    " x.msg", "writes", f, err);
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		LINE_HEAD(r, s);
		r.has_bmap = sqlite3_column_type(s, 5) != SQLITE_NULL;
		r.fid = (uint64_t)col_i64(s, 5, 0);
		r.bno = col_i64(s, 6, -1);
		r.bmap_addr = (uint64_t)col_i64(s, 7, 0);
		r.biorq_addr = (uint64_t)col_i64(s, 8, 0);
		r.off = col_i64(s, 9, -1);
		r.len = col_i64(s, 10, -1);
		r.msg_id = (int)col_i64(s, 11, 0);
		if ((ret = cb(arg, &r)) != 0)
			break;
	}
	return query_end(st, s, rc, ret, err);
}

/* Queries bmap state changes. */
int
st_query_states(struct st_store *st, const struct st_filter *f,
    int (*cb)(void *arg, const struct st_state *r), void *arg, struct fs_err *err)
{
	struct st_state r;
	sqlite3_stmt *s;
	int rc, ret = 0;

	s = prepare_line_query(st, "x.fid, x.bno, x.bmap_addr, x.state, x.msg, x.flags,"
	    " x.opcnt", "bmap_states", f, err);
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k;

		LINE_HEAD(r, s);
		r.fid = (uint64_t)col_i64(s, 5, 0);
		r.bno = col_i64(s, 6, -1);
		r.bmap_addr = (uint64_t)col_i64(s, 7, 0);
		k = col_str(s, 8);
		r.kind = k != NULL && strcmp(k, "clean") == 0 ? PS_EV_CLEAN : PS_EV_WRITE_READY;
		r.msg_id = (int)col_i64(s, 9, 0);
		r.flags = (uint32_t)col_i64(s, 10, 0);
		r.opcnt = (int32_t)col_i64(s, 11, -1);
		if ((ret = cb(arg, &r)) != 0)
			break;
	}
	return query_end(st, s, rc, ret, err);
}

/* Queries forced flushes. */
int
st_query_forced(struct st_store *st, const struct st_filter *f,
    int (*cb)(void *arg, const struct st_forced *r), void *arg, struct fs_err *err)
{
	struct st_forced r;
	sqlite3_stmt *s;
	int rc, ret = 0;

	s = prepare_line_query(st, "x.fid, x.bno, x.biorq_addr", "forced", f, err);
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		LINE_HEAD(r, s);
		r.has_bmap = sqlite3_column_type(s, 5) != SQLITE_NULL;
		r.fid = (uint64_t)col_i64(s, 5, 0);
		r.bno = col_i64(s, 6, -1);
		r.biorq_addr = (uint64_t)col_i64(s, 7, 0);
		if ((ret = cb(arg, &r)) != 0)
			break;
	}
	return query_end(st, s, rc, ret, err);
}

/* Queries per-bmap counters per second, in (source, fid, bno, sec) order. */
int
st_query_bmap_stats(struct st_store *st, const struct st_filter *f,
    int (*cb)(void *arg, const struct st_bmap_stat *r), void *arg, struct fs_err *err)
{
	struct st_bmap_stat r;
	char where[512], *sql;
	sqlite3_stmt *s;
	int rc, ret = 0;

	where_clause(where, sizeof(where), f, "x.sec", "x.sec", 1, 0);
	sql = sqlite3_mprintf("SELECT x.source_id, x.fid, x.bno, x.sec, x.examinations, x.wasted"
	    " FROM bmap_series x%s ORDER BY x.source_id, x.fid, x.bno, x.sec", where);
	if (sql == NULL)
		return fs_err_set(err, ENOMEM, "out of memory");
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return db_err(st, err, "querying");
	bind_filter(s, f, 1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r.source_id = sqlite3_column_int64(s, 0);
		r.fid = (uint64_t)sqlite3_column_int64(s, 1);
		r.bno = (uint32_t)sqlite3_column_int64(s, 2);
		r.sec = sqlite3_column_int64(s, 3);
		r.examinations = (uint64_t)sqlite3_column_int64(s, 4);
		r.wasted = (uint64_t)sqlite3_column_int64(s, 5);
		if ((ret = cb(arg, &r)) != 0)
			break;
	}
	return query_end(st, s, rc, ret, err);
}

/* Queries unparsed samples or kept lines. */
int
st_query_lines(struct st_store *st, int64_t source_id, int kept,
    int (*cb)(void *arg, const struct st_line *r), void *arg, struct fs_err *err)
{
	struct st_line r;
	sqlite3_stmt *s;
	char *sql;
	int rc, ret = 0;

	sql = sqlite3_mprintf("SELECT source_id, src_off, lineno, text FROM %s%s"
	    " ORDER BY source_id, src_off", kept ? "lines" : "unparsed",
	    source_id ? " WHERE source_id = ?" : "");
	if (sql == NULL)
		return fs_err_set(err, ENOMEM, "out of memory");
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return db_err(st, err, "querying");
	if (source_id)
		sqlite3_bind_int64(s, 1, source_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r.source_id = sqlite3_column_int64(s, 0);
		r.src_off = (uint64_t)sqlite3_column_int64(s, 1);
		r.lineno = (uint64_t)sqlite3_column_int64(s, 2);
		r.text = col_str(s, 3);
		r.len = (size_t)sqlite3_column_bytes(s, 3);
		if (r.text == NULL)
			r.text = "";
		if ((ret = cb(arg, &r)) != 0)
			break;
	}
	return query_end(st, s, rc, ret, err);
}

/* ---- dump ---- */

/* Canonical queries: every column except row ids and commit times. */
static const char *const dump_sql[] = {
	"SELECT 'sources', id, path, dev, ino, size, head_len, head_sum, gz, done_off, lines,"
	" unparsed, n_other, n_write_ready, n_examine, n_schedule, n_rpc_send, n_rpc_done,"
	" n_requeue, n_clean, n_wake, n_pass, formats, state, tail_len, tail_sum FROM sources"
	" ORDER BY id",
	"SELECT 'threads', * FROM threads ORDER BY source_id, tno",
	"SELECT 'bmaps', * FROM bmaps ORDER BY fid, bno",
	"SELECT 'rpcs', source_id, src_off, tno, ts_us, kind, xid, off, sz, outstanding, rc,"
	" fid, bno, req_addr FROM rpcs ORDER BY source_id, src_off",
	"SELECT 'writes', source_id, src_off, tno, ts_us, fid, bno, bmap_addr, biorq_addr,"
	" off, len, msg FROM writes ORDER BY source_id, src_off",
	"SELECT 'bmap_states', source_id, src_off, tno, ts_us, fid, bno, bmap_addr, state,"
	" msg, flags, opcnt FROM bmap_states ORDER BY source_id, src_off",
	"SELECT 'forced', source_id, src_off, tno, ts_us, fid, bno, biorq_addr FROM forced"
	" ORDER BY source_id, src_off",
	"SELECT 'unparsed', * FROM unparsed ORDER BY source_id, src_off",
	"SELECT 'lines', * FROM lines ORDER BY source_id, src_off",
	"SELECT 'episodes', source_id, tno, fid, bno, addr, start_us, end_us, cycles,"
	" period_us, outstanding_min, outstanding_max, cause, first_off, last_off"
	" FROM episodes ORDER BY source_id, fid, bno, start_us, first_off",
	"SELECT 'thread_stats', * FROM thread_stats ORDER BY source_id, tno",
	"SELECT 'series', * FROM series ORDER BY source_id, tno, sec",
	"SELECT 'bmap_series', * FROM bmap_series ORDER BY source_id, fid, bno, sec",
};

/* Dumps every table in a canonical order. */
int
st_dump(struct st_store *st, FILE *out, struct fs_err *err)
{
	size_t q;

	for (q = 0; q < sizeof(dump_sql) / sizeof(dump_sql[0]); q++) {
		sqlite3_stmt *s;
		int rc, i, n;

		if (sqlite3_prepare_v2(st->db, dump_sql[q], -1, &s, NULL) != SQLITE_OK)
			return db_err(st, err, "dumping");
		n = sqlite3_column_count(s);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			for (i = 0; i < n; i++) {
				const unsigned char *t = sqlite3_column_text(s, i);

				fprintf(out, "%s%s", i ? "|" : "", t ? (const char *)t : "NULL");
			}
			fputc('\n', out);
		}
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return db_err(st, err, "dumping");
	}
	return 0;
}
