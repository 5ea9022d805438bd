/*
 * store/pg.c: the PostgreSQL backend (store/backend.h): a server that any
 * number of ingests, on any number of machines, write to at once.
 *
 * Connecting: the string st_open was given goes to libpq as it is (a URI
 * or a conninfo string); credentials come from it, from the PG*
 * environment variables or from ~/.pgpass, as for psql.  Messages name
 * the database by st_display_name (no password).
 *
 * Schema: the tables and views of store/schema.c rendered for PostgreSQL
 * in the connection's current schema (normally public), and a table
 * fs_meta (key, value) holding "application" = "flushscope" and
 * "schema_version".  A database without fs_meta but with tables of its
 * own is not ours and is refused.  Creating or migrating the schema runs
 * in one transaction under an advisory lock (ADVISORY_KEY, 2), so two
 * ingests starting on an empty database create it once.
 *
 * Concurrency, the invariants (see also flushscope-ingest(1)):
 *  - st_transaction (the identity decision: which source a file is, its
 *    insert or claim) holds the transaction-level advisory lock
 *    (ADVISORY_KEY, 1): decisions are taken one at a time across every
 *    process and machine, as SQLite's single writer takes them.  Commits
 *    do not take it: rows of different sources go in in parallel.
 *  - Every commit is ONE transaction: it first locks its source's row
 *    (SELECT ... FOR UPDATE) and checks that its run still owns the
 *    source (run_id) and that done_off is still where the run left it;
 *    then its rows (COPY), then the source's bookkeeping, then COMMIT.
 *    A claim (UPDATE sources SET run_id = run_id + 1) takes the same row
 *    lock, so a claim and a commit of one source never interleave, and a
 *    run that lost its source cannot store one more row.
 *  - A claim returns the row as it is once the lock is held; the identity
 *    decision was taken on a read that a commit in flight may have made
 *    stale, so the caller checks done_off and retries the decision if it
 *    moved (st_source_claim, ingest/identity.c).
 *  - Rows shared by every source (bmaps) are upserted last in a commit and
 *    in (fid, bno) order, so two commits lock them in the same order and
 *    hold them briefly; a deadlock or serialization failure reported by
 *    the server anyway is retried (the batch is still in memory).
 *
 * Reading: a cursor is a server-side cursor (DECLARE ... FETCH n) inside
 * the caller's transaction, or inside a read transaction opened for it
 * and closed with the last cursor; several can be open at once.
 */
#include "store/backend.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* libpq's entry points in the store at hand (a struct pg_store *pg in scope) */
#define PQ (pg->pq)

#define ADVISORY_KEY 0x46537370		/* "FSsp", as SQLite's application_id */
#define FETCH_ROWS 8192			/* rows per FETCH of a cursor */
#define COPY_CHUNK (1 << 20)		/* bytes per PQputCopyData */
#define COMMIT_TRIES 5			/* commits retried after a deadlock */
#define BYTEA_OID 17

/*
 * libpq, loaded when a server is opened (dlopen), not when flushscope
 * starts: commands on files never load it (nor the Kerberos, LDAP and TLS
 * libraries it pulls in, which cost every start-up and print their own
 * errors when memory is short).  One table per store: no global state.
 */
struct pq_api {
	void *lib;
	void (*clear)(PGresult *);
	PGconn *(*connectdbParams)(const char *const *, const char *const *, int);
	char *(*errorMessage)(const PGconn *);
	PGresult *(*exec)(PGconn *, const char *);
	PGresult *(*execParams)(PGconn *, const char *, int, const Oid *, const char *const *,
	    const int *, const int *, int);
	void (*finish)(PGconn *);
	Oid (*ftype)(const PGresult *, int);
	PGresult *(*getResult)(PGconn *);
	int (*getisnull)(const PGresult *, int, int);
	int (*getlength)(const PGresult *, int, int);
	char *(*getvalue)(const PGresult *, int, int);
	int (*nfields)(const PGresult *);
	int (*ntuples)(const PGresult *);
	int (*putCopyData)(PGconn *, const char *, int);
	int (*putCopyEnd)(PGconn *, const char *);
	char *(*resultErrorField)(const PGresult *, int);
	char *(*resultErrorMessage)(const PGresult *);
	ExecStatusType (*resultStatus)(const PGresult *);
	PQnoticeProcessor (*setNoticeProcessor)(PGconn *, PQnoticeProcessor, void *);
	ConnStatusType (*status)(const PGconn *);
};

/* The libpq entry points, by name, and where each goes in struct pq_api. */
#define PQ_SYM(n) { "PQ" #n, offsetof(struct pq_api, n) }
static const struct { const char *name; size_t off; } pq_syms[] = {
	PQ_SYM(clear), PQ_SYM(connectdbParams), PQ_SYM(errorMessage), PQ_SYM(exec),
	PQ_SYM(execParams), PQ_SYM(finish), PQ_SYM(ftype), PQ_SYM(getResult),
	PQ_SYM(getisnull), PQ_SYM(getlength), PQ_SYM(getvalue), PQ_SYM(nfields),
	PQ_SYM(ntuples), PQ_SYM(putCopyData), PQ_SYM(putCopyEnd), PQ_SYM(resultErrorField),
	PQ_SYM(resultErrorMessage), PQ_SYM(resultStatus), PQ_SYM(setNoticeProcessor),
	PQ_SYM(status),
};

struct pg_store {
	struct st_store base;		/* first: a struct st_store * is a struct pg_store * */
	struct pq_api pq;
	PGconn *conn;
	int in_txn;			/* inside st_transaction or a commit */
	int read_txn;			/* a read transaction opened for cursors */
	int ncursors;			/* server-side cursors open */
	unsigned seq;			/* cursor names */
	int staged;			/* the staging tables exist */
	int retry;			/* the last error was a deadlock or serialization failure */
	char *sql;			/* scratch: SQL with $n parameters */
	size_t sqlcap;
};

struct st_rawq {
	struct pg_store *pg;
	PGresult *res;			/* the rows at hand */
	int row;			/* current row in res, -1 before the first */
	int cursor;			/* a server-side cursor (else res is everything) */
	int done;			/* the cursor returned its last rows */
	char name[32];
	char *buf;			/* decoded bytea */
	size_t bufcap;
};

/* A buffer of COPY rows (binary format). */
struct cbuf {
	char *p;
	size_t n, cap;
	int oom;
	int inrow, nf;			/* a row is open, with nf fields so far */
	size_t rowstart;		/* where its field count goes */
};

/* The PostgreSQL store of a store. */
static struct pg_store *
PG(struct st_store *st)
{
	return (struct pg_store *)st;
}

/* ---- errors ---- */

/*
 * Sets err from a failed result (or the connection), prefixed with the
 * database's name: EBUSY for what is worth retrying (deadlock,
 * serialization failure, lock timeout), ENOSPC, EROFS.
 */
static int
pg_err(struct pg_store *pg, const PGresult *res, const char *what, struct fs_err *err)
{
	const char *state = res ? PQ.resultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *m = res ? PQ.resultErrorMessage(res) : PQ.errorMessage(pg->conn);
	char msg[512];
	size_t n;
	int code = -1;

	snprintf(msg, sizeof(msg), "%s", m != NULL && *m != '\0' ? m :
	    PQ.errorMessage(pg->conn));
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	if (strncmp(msg, "ERROR:  ", 8) == 0)
		memmove(msg, msg + 8, strlen(msg + 8) + 1);
	pg->retry = 0;
	if (state != NULL) {
		pg->retry = strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0;
		if (pg->retry || strcmp(state, "55P03") == 0)
			code = EBUSY;
		else if (strcmp(state, "53100") == 0)
			code = ENOSPC;
		else if (strcmp(state, "25006") == 0)
			code = EROFS;
	}
	if (err == NULL)
		return -1;
	return fs_err_set(err, code, "%s: %s: %s", pg->base.name, what, msg);
}

/* Runs SQL without parameters or results; 0, or -1 with err set. */
static int
exec(struct pg_store *pg, const char *sql, const char *what, struct fs_err *err)
{
	PGresult *res = PQ.exec(pg->conn, sql);
	int st = PQ.resultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_err(pg, res, what, err);
		PQ.clear(res);
		return -1;
	}
	PQ.clear(res);
	return 0;
}

/* Rolls back whatever transaction is open (errors ignored). */
static void
rollback(struct pg_store *pg)
{
	PQ.clear(PQ.exec(pg->conn, "ROLLBACK"));
}

/*
 * Copies sql to the scratch buffer with each '?' outside quotes replaced
 * by $1, $2, ...; returns it, or NULL when out of memory.
 */
static const char *
dollar_sql(struct pg_store *pg, const char *sql)
{
	size_t need = strlen(sql) * 4 + 1, k = 0;
	int n = 0, quoted = 0;
	const char *p;

	if (need > pg->sqlcap) {
		char *np = realloc(pg->sql, need);

		if (np == NULL)
			return NULL;
		pg->sql = np;
		pg->sqlcap = need;
	}
	for (p = sql; *p != '\0'; p++) {
		if (*p == '\'')
			quoted = !quoted;
		if (*p == '?' && !quoted)
			k += (size_t)snprintf(pg->sql + k, pg->sqlcap - k, "$%d", ++n);
		else
			pg->sql[k++] = *p;
	}
	pg->sql[k] = '\0';
	return pg->sql;
}

/* Runs sql with parameters p (as text); the result, or NULL with err set. */
static PGresult *
exec_params(struct pg_store *pg, const char *sql, const struct st_param *p, int np,
    const char *what, struct fs_err *err)
{
	const char *vals[32];
	char nums[32][24];
	const char *q;
	PGresult *res;
	int i, st;

	if (np > 32 || (q = dollar_sql(pg, sql)) == NULL) {
		fs_err_set(err, ENOMEM, "%s: out of memory", pg->base.name);
		return NULL;
	}
	for (i = 0; i < np; i++) {
		if (p[i].type == ST_P_INT) {
			snprintf(nums[i], sizeof(nums[i]), "%" PRId64, p[i].i);
			vals[i] = nums[i];
		} else
			vals[i] = p[i].type == ST_P_TEXT ? p[i].s : NULL;
	}
	res = PQ.execParams(pg->conn, q, np, NULL, vals, NULL, NULL, 0);
	st = PQ.resultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_err(pg, res, what, err);
		PQ.clear(res);
		return NULL;
	}
	return res;
}

/* ---- schema ---- */

/*
 * Reads what the database holds: *meta 1 if fs_meta exists, *ver its
 * schema version, *ntables the tables of the current schema.
 */
static int
schema_read(struct pg_store *pg, int *meta, int64_t *ver, int64_t *ntables,
    struct fs_err *err)
{
	PGresult *res;

	res = exec_params(pg, "SELECT to_regclass(quote_ident(current_schema()) || '.fs_meta')"
	    " IS NOT NULL, (SELECT count(*) FROM pg_catalog.pg_tables"
	    " WHERE schemaname = current_schema())", NULL, 0, "reading the schema", err);
	if (res == NULL)
		return -1;
	*meta = strcmp(PQ.getvalue(res, 0, 0), "t") == 0;
	*ntables = strtoll(PQ.getvalue(res, 0, 1), NULL, 10);
	PQ.clear(res);
	*ver = 0;
	if (!*meta)
		return 0;
	res = exec_params(pg, "SELECT (SELECT value FROM fs_meta WHERE key = 'schema_version'),"
	    " (SELECT value FROM fs_meta WHERE key = 'application')", NULL, 0,
	    "reading the schema", err);
	if (res == NULL)
		return -1;
	if (PQ.getisnull(res, 0, 1) || strcmp(PQ.getvalue(res, 0, 1), "flushscope") != 0)
		*meta = 0;
	else
		*ver = strtoll(PQ.getvalue(res, 0, 0), NULL, 10);
	PQ.clear(res);
	return 0;
}

/* Judges what schema_read found: 1 ours and current, 0 to create or migrate, -1. */
static int
schema_verdict(struct pg_store *pg, int flags, int meta, int64_t ver, int64_t ntables,
    struct fs_err *err)
{
	const char *name = pg->base.name;

	if (!meta) {
		if (ntables != 0)
			return fs_err_set(err, -1, "%s: not a flushscope database (it has other"
			    " tables and no fs_meta; refusing to touch it)", name);
		if (!(flags & ST_OPEN_CREATE) || pg->base.readonly)
			return fs_err_set(err, -1, "%s: empty database, no flushscope schema"
			    " (run flushscope ingest first)", name);
		return 0;
	}
	if (ver > ST_SCHEMA_VERSION)
		return fs_err_set(err, -1, "%s: schema version %" PRId64 " is newer than this "
		    "flushscope understands (%d); upgrade flushscope", name, ver,
		    ST_SCHEMA_VERSION);
	if (ver == ST_SCHEMA_VERSION)
		return 1;
	if (pg->base.readonly)
		return fs_err_set(err, -1, "%s: schema version %" PRId64 " needs migrating to %d; "
		    "open it once for writing (flushscope ingest)", name, ver, ST_SCHEMA_VERSION);
	return 0;
}

/* Checks the database is ours; creates or migrates its schema when allowed. */
static int
schema_check(struct pg_store *pg, int flags, struct fs_err *err)
{
	int64_t ver, ntables;
	char *sql = NULL, tail[256];
	int meta, v;

	if (schema_read(pg, &meta, &ver, &ntables, err) != 0 ||
	    (v = schema_verdict(pg, flags, meta, ver, ntables, err)) < 0)
		return -1;
	if (v == 1)
		return 0;
	snprintf(tail, sizeof(tail), "SELECT pg_advisory_xact_lock(%d, 2)", ADVISORY_KEY);
	if (exec(pg, "BEGIN", "migrating the schema", err) != 0)
		return -1;
	if (exec(pg, tail, "migrating the schema", err) != 0 ||
	    schema_read(pg, &meta, &ver, &ntables, err) != 0 ||
	    (v = schema_verdict(pg, flags, meta, ver, ntables, err)) < 0)
		goto fail;
	if (v == 0) {
		if ((sql = st_schema_sql(ST_PG, (int)ver)) == NULL) {
			fs_err_set(err, ENOMEM, "%s: out of memory", pg->base.name);
			goto fail;
		}
		if (exec(pg, sql, "creating the schema", err) != 0)
			goto fail;
		if (!meta && exec(pg, "CREATE TABLE fs_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
		    "INSERT INTO fs_meta VALUES ('application', 'flushscope'),"
		    " ('schema_version', '0')", "creating the schema", err) != 0)
			goto fail;
		snprintf(tail, sizeof(tail), "UPDATE fs_meta SET value = '%d'"
		    " WHERE key = 'schema_version'", ST_SCHEMA_VERSION);
		if (exec(pg, tail, "creating the schema", err) != 0)
			goto fail;
	}
	if (exec(pg, "COMMIT", "creating the schema", err) != 0)
		goto fail;
	free(sql);
	return 0;
fail:
	free(sql);
	rollback(pg);
	return -1;
}

/* ---- opening ---- */

/* Notices (NOTICE: ...) are not for the user of a command. */
static void
quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Closes the connection. */
static void
pg_close(struct st_store *base)
{
	struct pg_store *pg = PG(base);

	if (pg->conn != NULL)
		PQ.finish(pg->conn);
	if (pg->pq.lib != NULL)
		dlclose(pg->pq.lib);
	free(pg->sql);
	free(pg);
}

/* Loads libpq into api; 0, or -1 with err set (the library is missing). */
static int
pq_load(struct pq_api *api, const char *name, struct fs_err *err)
{
	static const char *const libs[] = { "libpq.so.5", "libpq.so" };
	size_t i;

	for (i = 0; i < sizeof(libs) / sizeof(libs[0]) && api->lib == NULL; i++)
		/* never unloaded: libraries it pulls in keep state until exit */
		api->lib = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (api->lib == NULL)
		return fs_err_set(err, -1, "%s: a PostgreSQL server needs libpq, the PostgreSQL"
		    " client library (apt-get install libpq5): %s", name, dlerror());
	for (i = 0; i < sizeof(pq_syms) / sizeof(pq_syms[0]); i++) {
		void *f = dlsym(api->lib, pq_syms[i].name);

		if (f == NULL)
			return fs_err_set(err, -1, "%s: libpq lacks %s: %s", name, pq_syms[i].name,
			    dlerror());
		memcpy((char *)api + pq_syms[i].off, &f, sizeof(f));
	}
	return 0;
}

/* Connects to the server named by spec; see store.h. */
static struct st_store *
pg_open(const char *spec, const char *name, int flags, struct fs_err *err)
{
	static const char *const keys[] = { "dbname", "fallback_application_name", NULL };
	const char *vals[] = { spec, "flushscope", NULL };
	struct pg_store *pg;

	if ((pg = calloc(1, sizeof(*pg))) == NULL) {
		fs_err_set(err, ENOMEM, "%s: out of memory", name);
		return NULL;
	}
	pg->base.be = &st_pg_backend;
	snprintf(pg->base.name, sizeof(pg->base.name), "%s", name);
	pg->base.readonly = (flags & ST_OPEN_READONLY) != 0;
	if (pq_load(&pg->pq, name, err) != 0)
		goto fail;
	pg->conn = PQ.connectdbParams(keys, vals, 1);
	if (pg->conn == NULL) {
		fs_err_set(err, ENOMEM, "%s: out of memory", name);
		goto fail;
	}
	if (PQ.status(pg->conn) != CONNECTION_OK) {
		char msg[512];
		size_t n;

		snprintf(msg, sizeof(msg), "%s", PQ.errorMessage(pg->conn));
		for (n = strlen(msg); n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ');)
			msg[--n] = '\0';
		fs_err_set(err, -1, "%s: cannot connect: %s", name, msg);
		goto fail;
	}
	PQ.setNoticeProcessor(pg->conn, quiet_notice, NULL);
	if (exec(pg, "SET client_min_messages = warning", "setting up", err) != 0)
		goto fail;
	if (pg->base.readonly &&
	    exec(pg, "SET default_transaction_read_only = on", "setting up", err) != 0)
		goto fail;
	/* nothing is written to a database before it is known to be ours */
	if (schema_check(pg, flags, err) != 0)
		goto fail;
	return &pg->base;
fail:
	pg_close(&pg->base);
	return NULL;
}

/* ---- transactions ---- */

/* Runs fn in one write transaction under the identity lock. */
static int
pg_transaction(struct st_store *base,
    int (*fn)(void *arg, struct st_store *st, struct fs_err *err), void *arg,
    struct fs_err *err)
{
	struct pg_store *pg = PG(base);
	char sql[96];
	int rc;

	if (pg->in_txn || pg->read_txn)
		return fs_err_set(err, EINVAL, "%s: a transaction inside a transaction",
		    pg->base.name);
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d, 1)", ADVISORY_KEY);
	if (exec(pg, "BEGIN", "starting a transaction", err) != 0)
		return -1;
	pg->in_txn = 1;
	if (exec(pg, sql, "waiting for other writers", err) != 0) {
		rc = -1;
		goto out;
	}
	if ((rc = fn(arg, base, err)) != 0)
		goto out;
	if (exec(pg, "COMMIT", "committing", err) != 0)
		rc = -1;
out:
	if (rc != 0)
		rollback(pg);
	pg->in_txn = 0;
	return rc;
}

/* ---- COPY, binary format ---- */

/*
 * Rows go to the server in COPY's binary format: per row a 16-bit field
 * count, per field a 32-bit length (-1 = NULL) and its bytes (BIGINT: 8
 * bytes, big-endian; TEXT and BYTEA: the bytes as they are).  A row is
 * opened by its first field and closed by cb_eol, which writes the count.
 */

/* Makes room for n more bytes. */
static int
cb_room(struct cbuf *b, size_t n)
{
	if (b->oom)
		return -1;
	if (b->n + n > b->cap) {
		size_t nc = b->cap ? b->cap : 65536;
		char *np;

		while (nc < b->n + n)
			nc *= 2;
		if ((np = realloc(b->p, nc)) == NULL) {
			b->oom = 1;
			return -1;
		}
		b->p = np;
		b->cap = nc;
	}
	return 0;
}

/* Stores v big-endian in n bytes at p. */
static void
put_be(char *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (char)(v & 0xff);
		v >>= 8;
	}
}

/* Starts a field of len bytes (-1: NULL), and the row with the first field; 0 or -1. */
static int
cb_field(struct cbuf *b, int32_t len)
{
	if (cb_room(b, 2 + 4 + (len > 0 ? (size_t)len : 0)) != 0)
		return -1;
	if (!b->inrow) {
		b->rowstart = b->n;
		b->n += 2;
		b->nf = 0;
		b->inrow = 1;
	}
	put_be(b->p + b->n, (uint32_t)len, 4);
	b->n += 4;
	b->nf++;
	return 0;
}

/* Appends a BIGINT field. */
static void
cb_int(struct cbuf *b, int64_t v)
{
	if (cb_field(b, 8) != 0)
		return;
	put_be(b->p + b->n, (uint64_t)v, 8);
	b->n += 8;
}

/* Appends a NULL field. */
static void
cb_null(struct cbuf *b)
{
	cb_field(b, -1);
}

/* Appends an integer, or NULL when it equals absent (as SQLite's bind_opt). */
static void
cb_opt(struct cbuf *b, int64_t v, int64_t absent)
{
	if (v == absent)
		cb_null(b);
	else
		cb_int(b, v);
}

/* Appends a TEXT or BYTEA field. */
static void
cb_bytes(struct cbuf *b, const char *s, size_t len)
{
	if (len > INT32_MAX) {
		b->oom = 1;
		return;
	}
	if (cb_field(b, (int32_t)len) != 0)
		return;
	memcpy(b->p + b->n, s, len);
	b->n += len;
}

/* Appends a TEXT field. */
static void
cb_text(struct cbuf *b, const char *s, size_t len)
{
	cb_bytes(b, s, len);
}

/* Ends a row: writes its field count. */
static void
cb_eol(struct cbuf *b)
{
	if (!b->oom && b->inrow)
		put_be(b->p + b->rowstart, (uint16_t)b->nf, 2);
	b->inrow = 0;
}

/* Sends b as the rows of "COPY target FROM STDIN (FORMAT binary)"; empties b. */
static int
copy_in(struct pg_store *pg, const char *target, struct cbuf *b, struct fs_err *err)
{
	static const char head[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
	static const char trail[2] = { '\377', '\377' };
	char sql[512];
	PGresult *res;
	size_t off;
	int ok = 1;

	if (b->oom)
		return fs_err_set(err, ENOMEM, "%s: out of memory", pg->base.name);
	if (b->n == 0)
		return 0;
	snprintf(sql, sizeof(sql), "COPY %s FROM STDIN (FORMAT binary)", target);
	res = PQ.exec(pg->conn, sql);
	if (PQ.resultStatus(res) != PGRES_COPY_IN) {
		pg_err(pg, res, "writing rows", err);
		PQ.clear(res);
		b->n = 0;
		return -1;
	}
	PQ.clear(res);
	ok = PQ.putCopyData(pg->conn, head, sizeof(head)) == 1;
	for (off = 0; off < b->n && ok; off += COPY_CHUNK) {
		size_t n = b->n - off < COPY_CHUNK ? b->n - off : COPY_CHUNK;

		ok = PQ.putCopyData(pg->conn, b->p + off, (int)n) == 1;
	}
	if (ok)
		ok = PQ.putCopyData(pg->conn, trail, sizeof(trail)) == 1;
	if (PQ.putCopyEnd(pg->conn, ok ? NULL : "flushscope: sending rows failed") != 1)
		ok = 0;
	b->n = 0;
	while ((res = PQ.getResult(pg->conn)) != NULL) {
		if (PQ.resultStatus(res) != PGRES_COMMAND_OK && ok) {
			pg_err(pg, res, "writing rows", err);
			ok = -1;
		}
		PQ.clear(res);
	}
	if (ok == 0)
		return pg_err(pg, NULL, "writing rows", err);
	return ok == 1 ? 0 : -1;
}

/* ---- commit ---- */

/*
 * Staging tables, one set per connection: the rows of the upserted tables
 * go there by COPY, then into their table with one INSERT ... SELECT ...
 * ON CONFLICT (ord: the batch order, for "the last one wins").
 */
static const char stage_sql[] =
"CREATE TEMP TABLE fs_stage_threads (ord BIGINT, source_id BIGINT, tno BIGINT, name TEXT,"
"  tid TEXT) ON COMMIT DELETE ROWS;"
"CREATE TEMP TABLE fs_stage_bmaps (fid BIGINT, bno BIGINT, last_addr BIGINT,"
"  first_us BIGINT, last_us BIGINT) ON COMMIT DELETE ROWS;"
"CREATE TEMP TABLE fs_stage_lines (ord BIGINT, kept BIGINT, source_id BIGINT, src_off BIGINT,"
"  lineno BIGINT, text BYTEA) ON COMMIT DELETE ROWS;"
"CREATE TEMP TABLE fs_stage_series (source_id BIGINT, tno BIGINT, sec BIGINT,"
"  examinations BIGINT, wasted BIGINT, passes BIGINT, useless_passes BIGINT,"
"  rpcs_sent BIGINT, rpcs_done BIGINT, max_outstanding BIGINT) ON COMMIT DELETE ROWS;"
"CREATE TEMP TABLE fs_stage_bseries (source_id BIGINT, fid BIGINT, bno BIGINT, sec BIGINT,"
"  examinations BIGINT, wasted BIGINT) ON COMMIT DELETE ROWS;"
"CREATE TEMP TABLE fs_stage_tstats (ord BIGINT, source_id BIGINT, tno BIGINT, passes BIGINT,"
"  useless_passes BIGINT, examinations BIGINT, wasted BIGINT, first_us BIGINT,"
"  last_us BIGINT, period_p50_us BIGINT, period_p99_us BIGINT, period_hist TEXT,"
"  first_pass_us BIGINT, sleep_p50_us BIGINT, line_p50_us BIGINT, era TEXT)"
"  ON COMMIT DELETE ROWS";

/* From the staging tables into the real ones (each run when its stage has rows). */
static const char merge_threads[] =
"INSERT INTO threads (source_id, tno, name, tid)"
" SELECT DISTINCT ON (source_id, tno) source_id, tno, name, tid FROM fs_stage_threads"
" ORDER BY source_id, tno, ord ON CONFLICT (source_id, tno) DO NOTHING";
static const char merge_lines[] =
"INSERT INTO %s (source_id, src_off, lineno, text)"
" SELECT DISTINCT ON (source_id, src_off) source_id, src_off, lineno, text"
" FROM fs_stage_lines WHERE kept = %d ORDER BY source_id, src_off, ord DESC"
" ON CONFLICT (source_id, src_off) DO UPDATE SET lineno = excluded.lineno,"
" text = excluded.text";
static const char merge_series[] =
"INSERT INTO series SELECT source_id, tno, sec, sum(examinations), sum(wasted), sum(passes),"
" sum(useless_passes), sum(rpcs_sent), sum(rpcs_done), max(max_outstanding)"
" FROM fs_stage_series GROUP BY source_id, tno, sec ORDER BY source_id, tno, sec"
" ON CONFLICT (source_id, tno, sec) DO UPDATE SET"
" examinations = series.examinations + excluded.examinations,"
" wasted = series.wasted + excluded.wasted, passes = series.passes + excluded.passes,"
" useless_passes = series.useless_passes + excluded.useless_passes,"
" rpcs_sent = series.rpcs_sent + excluded.rpcs_sent,"
" rpcs_done = series.rpcs_done + excluded.rpcs_done,"
" max_outstanding = GREATEST(series.max_outstanding, excluded.max_outstanding)";
static const char merge_bseries[] =
"INSERT INTO bmap_series SELECT source_id, fid, bno, sec, sum(examinations), sum(wasted)"
" FROM fs_stage_bseries GROUP BY source_id, fid, bno, sec ORDER BY source_id, fid, bno, sec"
" ON CONFLICT (source_id, fid, bno, sec) DO UPDATE SET"
" examinations = bmap_series.examinations + excluded.examinations,"
" wasted = bmap_series.wasted + excluded.wasted";
static const char merge_tstats[] =
"INSERT INTO thread_stats (source_id, tno, passes, useless_passes, examinations, wasted,"
" first_us, last_us, period_p50_us, period_p99_us, period_hist, first_pass_us, sleep_p50_us,"
" line_p50_us, era)"
" SELECT DISTINCT ON (source_id, tno) source_id, tno, passes, useless_passes, examinations,"
" wasted, first_us, last_us, period_p50_us, period_p99_us, period_hist, first_pass_us,"
" sleep_p50_us, line_p50_us, era"
" FROM fs_stage_tstats ORDER BY source_id, tno, ord DESC"
" ON CONFLICT (source_id, tno) DO UPDATE SET passes = excluded.passes,"
" useless_passes = excluded.useless_passes, examinations = excluded.examinations,"
" wasted = excluded.wasted, first_us = excluded.first_us, last_us = excluded.last_us,"
" period_p50_us = excluded.period_p50_us, period_p99_us = excluded.period_p99_us,"
" period_hist = excluded.period_hist, first_pass_us = excluded.first_pass_us,"
" sleep_p50_us = excluded.sleep_p50_us, line_p50_us = excluded.line_p50_us,"
" era = excluded.era";
/* bmaps: last, in key order (see the invariants above) */
static const char merge_bmaps[] =
"INSERT INTO bmaps SELECT fid, bno, last_addr, first_us, last_us FROM fs_stage_bmaps"
" ORDER BY fid, bno ON CONFLICT (fid, bno) DO UPDATE SET last_addr = excluded.last_addr,"
" first_us = LEAST(bmaps.first_us, excluded.first_us),"
" last_us = GREATEST(bmaps.last_us, excluded.last_us)";

/* Appends the per-line head fields: source, offset, thread, time. */
static void
cb_head(struct cbuf *c, int64_t sid, uint64_t off, int tno, int64_t ts)
{
	cb_int(c, sid);
	cb_int(c, (int64_t)off);
	cb_opt(c, tno, -1);
	cb_opt(c, ts, INT64_MIN);
}

/* Appends fid and bno, or two NULLs. */
static void
cb_bmap(struct cbuf *c, int has, uint64_t fid, int64_t bno)
{
	if (has) {
		cb_int(c, (int64_t)fid);
		cb_int(c, bno);
	} else {
		cb_null(c);
		cb_null(c);
	}
}

/* COPYs the per-line rows: RPCs, writes, state changes, forced flushes. */
static int
write_rows(struct pg_store *pg, const struct st_batch *b, struct cbuf *c, struct fs_err *err)
{
	int64_t sid = b->src.id;
	size_t i;

	for (i = 0; i < b->rpcs.n; i++) {
		const struct st_rpc *r = &b->rpcs.v[i];

		cb_head(c, sid, r->src_off, r->tno, r->ts_us);
		cb_text(c, r->kind == ST_RPC_DONE ? "done" : "send", 4);
		cb_opt(c, r->xid, -1);
		cb_opt(c, r->off, -1);
		cb_opt(c, r->sz, -1);
		cb_opt(c, r->outstanding, -1);
		cb_opt(c, r->rc, -1);
		cb_bmap(c, r->has_bmap, r->fid, r->bno);
		cb_opt(c, (int64_t)r->req_addr, 0);
		cb_opt(c, (int64_t)r->bwc_addr, 0);
		cb_eol(c);
	}
	if (copy_in(pg, "rpcs (source_id, src_off, tno, ts_us, kind, xid, off, sz, outstanding,"
	    " rc, fid, bno, req_addr, bwc)", c, err) != 0)
		return -1;
	for (i = 0; i < b->writes.n; i++) {
		const struct st_write *w = &b->writes.v[i];

		cb_head(c, sid, w->src_off, w->tno, w->ts_us);
		cb_bmap(c, w->has_bmap, w->fid, w->bno);
		cb_opt(c, (int64_t)w->bmap_addr, 0);
		cb_opt(c, (int64_t)w->biorq_addr, 0);
		cb_opt(c, w->off, -1);
		cb_opt(c, w->len, -1);
		cb_int(c, w->msg_id);
		cb_eol(c);
	}
	if (copy_in(pg, "writes (source_id, src_off, tno, ts_us, fid, bno, bmap_addr,"
	    " biorq_addr, off, len, msg)", c, err) != 0)
		return -1;
	for (i = 0; i < b->states.n; i++) {
		const struct st_state *x = &b->states.v[i];

		cb_head(c, sid, x->src_off, x->tno, x->ts_us);
		cb_int(c, (int64_t)x->fid);
		cb_int(c, x->bno);
		cb_opt(c, (int64_t)x->bmap_addr, 0);
		cb_text(c, x->kind == PS_EV_CLEAN ? "clean" : "ready", 5);
		cb_int(c, x->msg_id);
		cb_int(c, x->flags);
		cb_opt(c, x->opcnt, -1);
		cb_eol(c);
	}
	if (copy_in(pg, "bmap_states (source_id, src_off, tno, ts_us, fid, bno, bmap_addr, state,"
	    " msg, flags, opcnt)", c, err) != 0)
		return -1;
	for (i = 0; i < b->forced.n; i++) {
		const struct st_forced *f = &b->forced.v[i];

		cb_head(c, sid, f->src_off, f->tno, f->ts_us);
		cb_bmap(c, f->has_bmap, f->fid, f->bno);
		cb_opt(c, (int64_t)f->biorq_addr, 0);
		cb_eol(c);
	}
	return copy_in(pg, "forced (source_id, src_off, tno, ts_us, fid, bno, biorq_addr)", c,
	    err);
}

/* COPYs threads and lines to their stages and the episodes to their table. */
static int
write_refs(struct pg_store *pg, const struct st_batch *b, struct cbuf *c, struct fs_err *err)
{
	int64_t sid = b->src.id;
	size_t i;
	int k;

	for (i = 0; i < b->threads.n; i++) {
		const struct st_bthread *t = &b->threads.v[i];

		cb_int(c, (int64_t)i);
		cb_int(c, sid);
		cb_int(c, t->tno);
		cb_text(c, b->text + t->name, strlen(b->text + t->name));
		cb_text(c, b->text + t->tid, strlen(b->text + t->tid));
		cb_eol(c);
	}
	if (copy_in(pg, "fs_stage_threads", c, err) != 0 ||
	    (b->threads.n > 0 && exec(pg, merge_threads, "writing threads", err) != 0))
		return -1;
	for (k = 0; k < 2; k++) {
		const struct st_bline *v = k ? b->lines.v : b->unparsed.v;
		size_t n = k ? b->lines.n : b->unparsed.n;

		for (i = 0; i < n; i++) {
			cb_int(c, (int64_t)i);
			cb_int(c, k);
			cb_int(c, sid);
			cb_int(c, (int64_t)v[i].src_off);
			cb_int(c, (int64_t)v[i].lineno);
			cb_bytes(c, b->text + v[i].text, v[i].len);
			cb_eol(c);
		}
	}
	if (copy_in(pg, "fs_stage_lines", c, err) != 0)
		return -1;
	for (k = 0; k < 2; k++) {
		char sql[sizeof(merge_lines) + 32];

		if ((k ? b->lines.n : b->unparsed.n) == 0)
			continue;
		snprintf(sql, sizeof(sql), merge_lines, k ? "lines" : "unparsed", k);
		if (exec(pg, sql, "writing lines", err) != 0)
			return -1;
	}
	for (i = 0; i < b->episodes.n; i++) {
		const struct st_episode *e = &b->episodes.v[i].ep;

		cb_int(c, sid);
		cb_opt(c, b->episodes.v[i].tno, -1);
		cb_int(c, (int64_t)e->fid);
		cb_int(c, e->bno);
		cb_int(c, (int64_t)e->addr);
		cb_int(c, e->start_us);
		cb_int(c, e->end_us);
		cb_int(c, (int64_t)e->cycles);
		cb_int(c, e->period_us);
		cb_opt(c, e->outstanding_min, -1);
		cb_opt(c, e->outstanding_max, -1);
		cb_text(c, e->cause, strlen(e->cause));
		cb_int(c, (int64_t)e->first_off);
		cb_int(c, (int64_t)e->last_off);
		cb_eol(c);
	}
	return copy_in(pg, "episodes (source_id, tno, fid, bno, addr, start_us, end_us, cycles,"
	    " period_us, outstanding_min, outstanding_max, cause, first_off, last_off)", c, err);
}

/* COPYs and merges the detector's series and thread figures. */
static int
write_derived(struct pg_store *pg, const struct st_batch *b, struct cbuf *c,
    struct fs_err *err)
{
	int64_t sid = b->src.id;
	size_t i;

	for (i = 0; i < b->series.n; i++) {
		const struct st_series *r = &b->series.v[i];

		cb_int(c, sid);
		cb_int(c, r->tno);
		cb_int(c, r->sec);
		cb_int(c, (int64_t)r->examinations);
		cb_int(c, (int64_t)r->wasted);
		cb_int(c, (int64_t)r->passes);
		cb_int(c, (int64_t)r->useless_passes);
		cb_int(c, (int64_t)r->rpcs_sent);
		cb_int(c, (int64_t)r->rpcs_done);
		cb_int(c, r->max_outstanding);
		cb_eol(c);
	}
	if (copy_in(pg, "fs_stage_series", c, err) != 0 ||
	    (b->series.n > 0 && exec(pg, merge_series, "writing series", err) != 0))
		return -1;
	for (i = 0; i < b->bstats.n; i++) {
		const struct st_bmap_stat *r = &b->bstats.v[i];

		cb_int(c, sid);
		cb_int(c, (int64_t)r->fid);
		cb_int(c, r->bno);
		cb_int(c, r->sec);
		cb_int(c, (int64_t)r->examinations);
		cb_int(c, (int64_t)r->wasted);
		cb_eol(c);
	}
	if (copy_in(pg, "fs_stage_bseries", c, err) != 0 ||
	    (b->bstats.n > 0 && exec(pg, merge_bseries, "writing bmap series", err) != 0))
		return -1;
	for (i = 0; i < b->tstats.n; i++) {
		const struct st_thread_stats *t = &b->tstats.v[i].st;
		char hist[ST_HIST_TEXT];
		size_t hn = st__hist_text(t->period_hist, hist, sizeof(hist));

		cb_int(c, (int64_t)i);
		cb_int(c, sid);
		cb_int(c, b->tstats.v[i].tno);
		cb_int(c, (int64_t)t->passes);
		cb_int(c, (int64_t)t->useless_passes);
		cb_int(c, (int64_t)t->examinations);
		cb_int(c, (int64_t)t->wasted);
		cb_opt(c, t->first_us, INT64_MIN);
		cb_opt(c, t->last_us, INT64_MIN);
		cb_int(c, t->period_p50_us);
		cb_int(c, t->period_p99_us);
		cb_text(c, hist, hn);
		cb_opt(c, t->first_pass_us, INT64_MIN);
		cb_opt(c, t->sleep_p50_us, -1);
		cb_opt(c, t->line_p50_us, -1);
		if (t->era != 0)
			cb_text(c, &t->era, 1);
		else
			cb_null(c);
		cb_eol(c);
	}
	return copy_in(pg, "fs_stage_tstats", c, err) != 0 ||
	    (b->tstats.n > 0 && exec(pg, merge_tstats, "writing thread figures", err) != 0) ?
	    -1 : 0;
}

/* COPYs and merges the bmaps (last: they are shared by every source). */
static int
write_bmaps(struct pg_store *pg, const struct st_batch *b, struct cbuf *c, struct fs_err *err)
{
	size_t i;

	for (i = 0; i < b->bmaps.n; i++) {
		const struct st_bbmap *m = &b->bmaps.v[i];

		cb_int(c, (int64_t)m->fid);
		cb_int(c, m->bno);
		cb_int(c, (int64_t)m->addr);
		cb_opt(c, m->first_us, INT64_MIN);
		cb_opt(c, m->last_us, INT64_MIN);
		cb_eol(c);
	}
	return copy_in(pg, "fs_stage_bmaps", c, err) != 0 ||
	    (b->bmaps.n > 0 && exec(pg, merge_bmaps, "writing bmaps", err) != 0) ? -1 : 0;
}

/* One try at a commit: the whole batch in one transaction. */
static int
commit_once(struct pg_store *pg, const struct st_batch *b, struct cbuf *c, struct fs_err *err)
{
	int64_t sid = b->src.id;

	if (exec(pg, "BEGIN", "starting a transaction", err) != 0)
		return -1;
	pg->in_txn = 1;
	if (st__commit_check(&pg->base, b, " FOR UPDATE", err) != 0)
		goto fail;
	if (b->replace_derived) {
		char sql[256];

		snprintf(sql, sizeof(sql), "DELETE FROM episodes WHERE source_id = %" PRId64 ";"
		    "DELETE FROM series WHERE source_id = %" PRId64 ";"
		    "DELETE FROM bmap_series WHERE source_id = %" PRId64 ";"
		    "DELETE FROM thread_stats WHERE source_id = %" PRId64, sid, sid, sid, sid);
		if (exec(pg, sql, "replacing derived rows", err) != 0)
			goto fail;
	}
	if (write_refs(pg, b, c, err) != 0 || write_rows(pg, b, c, err) != 0 ||
	    write_derived(pg, b, c, err) != 0 || write_bmaps(pg, b, c, err) != 0)
		goto fail;
	if (b->has_source && st__source_write(&pg->base, &b->src, err) != 0)
		goto fail;
	if (exec(pg, "COMMIT", "committing", err) != 0)
		goto fail;
	pg->in_txn = 0;
	return 0;
fail:
	c->n = 0;
	c->inrow = 0;
	rollback(pg);
	pg->in_txn = 0;
	return -1;
}

/* Writes a batch in one transaction, retried after a deadlock. */
static int
pg_commit(struct st_store *base, struct st_batch *b, struct fs_err *err)
{
	struct pg_store *pg = PG(base);
	struct cbuf c;
	int tries, rc = -1;

	if (pg->in_txn || pg->read_txn)
		return fs_err_set(err, EINVAL, "%s: a commit inside a transaction", base->name);
	memset(&c, 0, sizeof(c));
	if (!pg->staged) {
		if (exec(pg, stage_sql, "preparing to write", err) != 0)
			return -1;
		pg->staged = 1;
	}
	for (tries = 0; tries < COMMIT_TRIES; tries++) {
		fs_err_clear(err);
		pg->retry = 0;
		if ((rc = commit_once(pg, b, &c, err)) == 0 || !pg->retry)
			break;
	}
	free(c.p);
	return rc;
}

/* ---- raw cursors ---- */

/* Fetches the next rows of a server-side cursor into q->res. */
static int
fetch(struct st_rawq *q, struct fs_err *err)
{
	struct pg_store *pg = q->pg;
	char sql[64];

	PQ.clear(q->res);
	snprintf(sql, sizeof(sql), "FETCH %d FROM %s", FETCH_ROWS, q->name);
	q->res = PQ.exec(q->pg->conn, sql);
	q->row = -1;
	if (PQ.resultStatus(q->res) != PGRES_TUPLES_OK) {
		pg_err(q->pg, q->res, "querying", err);
		PQ.clear(q->res);
		q->res = NULL;
		return -1;
	}
	q->done = PQ.ntuples(q->res) < FETCH_ROWS;
	return 0;
}

/* Opens a raw cursor: a server-side cursor when streaming, else one statement. */
static struct st_rawq *
pg_query_open(struct st_store *base, const char *sql, const struct st_param *p, int np,
    int stream, struct fs_err *err)
{
	struct pg_store *pg = PG(base);
	struct st_rawq *q;
	PGresult *res;
	char *decl;
	size_t n;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		fs_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	q->pg = pg;
	q->row = -1;
	if (!stream) {
		if ((q->res = exec_params(pg, sql, p, np, "querying", err)) == NULL) {
			free(q);
			return NULL;
		}
		q->done = 1;
		return q;
	}
	n = strlen(sql) + 64;
	if ((decl = malloc(n)) == NULL) {
		free(q);
		fs_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(q->name, sizeof(q->name), "fs_c%u", ++pg->seq);
	snprintf(decl, n, "DECLARE %s NO SCROLL CURSOR FOR %s", q->name, sql);
	if (!pg->in_txn && !pg->read_txn) {
		if (exec(pg, "BEGIN", "querying", err) != 0)
			goto fail;
		pg->read_txn = 1;
	}
	if ((res = exec_params(pg, decl, p, np, "querying", err)) == NULL)
		goto fail;
	PQ.clear(res);
	q->cursor = 1;
	pg->ncursors++;
	if (fetch(q, err) == 0) {
		free(decl);
		return q;
	}
	pg->ncursors--;
fail:
	free(decl);
	if (pg->read_txn && pg->ncursors == 0) {
		rollback(pg);
		pg->read_txn = 0;
	}
	free(q);
	return NULL;
}

/* Moves to the next row. */
static int
pg_query_next(struct st_rawq *q, struct fs_err *err)
{
	struct pg_store *pg = q->pg;
	if (q->res == NULL)
		return 0;
	if (q->row + 1 < PQ.ntuples(q->res)) {
		q->row++;
		return 1;
	}
	if (!q->cursor || q->done)
		return 0;
	if (fetch(q, err) != 0)
		return -1;
	return pg_query_next(q, err);
}

/* The number of columns. */
static int
pg_col_count(struct st_rawq *q)
{
	struct pg_store *pg = q->pg;
	return PQ.nfields(q->res);
}

/* 1 if column i is NULL. */
static int
pg_col_null(struct st_rawq *q, int i)
{
	struct pg_store *pg = q->pg;
	return PQ.getisnull(q->res, q->row, i);
}

/* Column i as an integer (0 for NULL). */
static int64_t
pg_col_int(struct st_rawq *q, int i)
{
	struct pg_store *pg = q->pg;
	const char *v = PQ.getvalue(q->res, q->row, i);

	return *v == 't' ? 1 : *v == 'f' ? 0 : strtoll(v, NULL, 10);
}

/* The value of a hex digit. */
static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	    c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0;
}

/* Column i as text, bytea decoded ("" for NULL). */
static const char *
pg_col_text(struct st_rawq *q, int i, size_t *len)
{
	struct pg_store *pg = q->pg;
	const char *v = PQ.getvalue(q->res, q->row, i);
	size_t n = (size_t)PQ.getlength(q->res, q->row, i), k;

	if (PQ.ftype(q->res, i) != BYTEA_OID || n < 2 || v[0] != '\\' || v[1] != 'x') {
		*len = n;
		return v;
	}
	n = (n - 2) / 2;
	if (n + 1 > q->bufcap) {
		char *nb = realloc(q->buf, n + 1);

		if (nb == NULL) {
			*len = 0;
			return "";
		}
		q->buf = nb;
		q->bufcap = n + 1;
	}
	for (k = 0; k < n; k++)
		q->buf[k] = (char)(hexval(v[2 + 2 * k]) << 4 | hexval(v[3 + 2 * k]));
	q->buf[n] = '\0';
	*len = n;
	return q->buf;
}

/* Closes a raw cursor (and the read transaction with the last one). */
static void
pg_query_close(struct st_rawq *q)
{
	struct pg_store *pg;

	if (q == NULL)
		return;
	pg = q->pg;
	PQ.clear(q->res);
	if (q->cursor) {
		char sql[64];

		snprintf(sql, sizeof(sql), "CLOSE %s", q->name);
		PQ.clear(PQ.exec(pg->conn, sql));
		if (--pg->ncursors == 0 && pg->read_txn) {
			PQ.clear(PQ.exec(pg->conn, "COMMIT"));
			pg->read_txn = 0;
		}
	}
	free(q->buf);
	free(q);
}

const struct st_backend st_pg_backend = {
	"postgresql", ST_PG,
	pg_open, pg_close, pg_transaction, pg_commit,
	pg_query_open, pg_query_next, pg_col_count, pg_col_null, pg_col_int, pg_col_text,
	pg_query_close,
};
