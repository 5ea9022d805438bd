#include "tests/testutil.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

/* The flushscope binary under test. */
const char *
tu_fsbin(void)
{
	const char *b = getenv("FS_BIN");

	return b ? b : "./flushscope";
}

/* The benchmark log generator. */
const char *
tu_gen_era_a(void)
{
	const char *g = getenv("FS_GEN_ERA_A");

	return g ? g : "build/bench/gen_era_a";
}

/* Reads a whole file into a malloc'd NUL-terminated string. */
char *
tu_slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	if (n != NULL)
		*n = (size_t)len;
	return buf;
}

/* Writes n bytes to a file (mode "w" or "a"). */
void
tu_spit(const char *path, const char *mode, const char *data, size_t n)
{
	FILE *f = fopen(path, mode);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(data, 1, n, f), n);
	fclose(f);
}

/* The testdata directory. */
const char *
tu_testdata_dir(void)
{
	const char *d = getenv("FS_TESTDATA");

	return d != NULL ? d : "testdata";
}

/* Path of a testdata file. */
const char *
tu_testdata(const char *name)
{
	static char buf[8][1024];
	static unsigned next;
	char *b = buf[next++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", tu_testdata_dir(), name);
	return b;
}

/* Makes a private temporary directory. */
void
tu_mkdtemp(char *dir, size_t n, const char *tag)
{
	snprintf(dir, n, "/tmp/fs-check-%s-XXXXXX", tag);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Removes a directory tree. */
void
tu_rmtree(const char *dir)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "chattr -R -i '%s' 2>/dev/null; chmod -R u+w '%s' && "
	    "rm -rf '%s'", dir, dir, dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A path under dir. */
const char *
tu_path(const char *dir, int slot, const char *name)
{
	static char buf[8][1024];

	ck_assert_int_lt((unsigned)slot, 8);
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", dir, name);
	return buf[slot];
}

/* Walks the rows of a kind through a callback. */
int
tu_walk(struct st_store *st, int kind, const struct st_filter *f,
    int (*cb)(void *arg, const union st_row *row), void *arg)
{
	const union st_row *row;
	struct st_cursor *c;
	struct fs_err err;
	int rc, ret = 0;

	c = st_cursor_open(st, (enum st_kind)kind, f, &err);
	ck_assert_msg(c != NULL, "%s", err.msg);
	while ((rc = st_cursor_next(c, &row, &err)) == 1)
		if ((ret = cb(arg, row)) != 0)
			break;
	ck_assert_msg(rc >= 0, "%s", err.msg);
	st_cursor_close(c);
	return ret;
}

/* Names a backend. */
const char *
tu_backend_name(int backend)
{
	return backend == TU_PG ? "postgresql" : "sqlite";
}

/* The test server's environment, or a failed test saying how to get one. */
static const char *
pg_env(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v != NULL && *v != '\0', "%s is not set: the PostgreSQL cases run"
	    " beside the server tests/pg.sh starts (make check does)", name);
	return v;
}

/* Runs psql on database dbname of the test server. */
static void
psql(const char *dbname, const char *sql)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "'%s/psql' -X -q -At -v ON_ERROR_STOP=1"
	    " 'host=%s user=fs dbname=%s' -c \"%s\" >/dev/null", pg_env("FS_PG_BIN"),
	    pg_env("FS_PG_DIR"), dbname, sql);
	ck_assert_msg(system(cmd) == 0, "psql failed: %s", sql);
}

/* The database name of a URI made by tu_db. */
static void
pg_dbname(const char *db, char *out, size_t n)
{
	const char *p = strstr(db, ":///");

	ck_assert_ptr_nonnull(p);
	p += 4;
	snprintf(out, n, "%.*s", (int)strcspn(p, "?"), p);
}

/* A new empty database. */
const char *
tu_db(int backend, const char *dir, int slot, const char *name)
{
	static char buf[8][1024];
	static unsigned seq;
	char dbname[64];

	ck_assert_int_lt((unsigned)slot, 8);
	if (backend != TU_PG)
		return tu_path(dir, slot, name);
	snprintf(dbname, sizeof(dbname), "fs_%ld_%u", (long)getpid(), seq++);
	{
		char sql[128];

		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
		psql("postgres", sql);
	}
	snprintf(buf[slot], sizeof(buf[slot]), "postgresql:///%s?host=%s&user=fs", dbname,
	    pg_env("FS_PG_DIR"));
	return buf[slot];
}

/* Empties a database. */
void
tu_db_reset(const char *db)
{
	char dbname[64], sql[160], path[1100];

	if (!st_is_server(db)) {
		unlink(db);
		snprintf(path, sizeof(path), "%s-wal", db);
		unlink(path);
		snprintf(path, sizeof(path), "%s-shm", db);
		unlink(path);
		return;
	}
	pg_dbname(db, dbname, sizeof(dbname));
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
	psql("postgres", sql);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
	psql("postgres", sql);
}

/* 1 if the database exists. */
int
tu_db_exists(const char *db)
{
	struct fs_err err;
	struct st_store *st;

	if (!st_is_server(db))
		return access(db, F_OK) == 0;
	st = st_open(db, ST_OPEN_READONLY, &err);
	st_close(st);
	return st != NULL;
}

/* Runs SQL on a server database. */
void
tu_pg_sql(const char *db, const char *sql)
{
	char dbname[64];

	pg_dbname(db, dbname, sizeof(dbname));
	psql(dbname, sql);
}

/* The canonical dump of a database. */
char *
tu_dump_db(const char *db)
{
	struct fs_err err;
	struct st_store *st = st_open(db, ST_OPEN_READONLY, &err);
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	ck_assert_msg(st != NULL, "%s", err.msg);
	f = open_memstream(&buf, &n);
	ck_assert_int_eq(st_dump(st, f, &err), 0);
	fclose(f);
	st_close(st);
	return buf;
}

/* Counts the newline-terminated lines of a file. */
long
tu_count_lines(const char *path)
{
	size_t n, i;
	char *s = tu_slurp(path, &n);
	long c = 0;

	for (i = 0; i < n; i++)
		c += s[i] == '\n';
	free(s);
	return c;
}

/* Appends a libflush trace event to the recorder (see testutil.h). */
void
tu_trace_cb(void *arg, const struct fl_trace_ev *ev)
{
	struct tu_trace *r = arg;
	struct tu_tev *t;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 4096;
		r->ev = realloc(r->ev, r->cap * sizeof(*r->ev));
		ck_assert_ptr_nonnull(r->ev);
	}
	t = &r->ev[r->n++];
	memset(t, 0, sizeof(*t));
	t->kind = ev->kind;
	t->t = ev->t_ns;
	t->thread = ev->thread;
	t->reason = ev->reason;
	t->wasted = ev->wasted;
	t->fid = ev->fid;
	t->bno = ev->bno;
	t->off = ev->off;
	t->len = ev->len;
	t->id = ev->id;
	t->count = ev->count;
	t->period = ev->period_ns;
	if (ev->rpc != NULL) {
		t->xid = ev->rpc->xid;
		t->issue = ev->rpc->issue_ns;
		t->done = ev->rpc->done_ns;
		t->outstanding = ev->rpc->outstanding;
		t->nbiorqs = ev->rpc->nbiorqs;
	}
}
