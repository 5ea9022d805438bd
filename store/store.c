/*
 * store/store.c: what both backends share (see store/backend.h): the
 * choice of a backend, the cursors over each kind of row (their SQL and
 * the decoding of their columns), the sources' look-up, insert, update and
 * claim, the commit's checks and the canonical dump.  All of it is the
 * same SQL on SQLite and PostgreSQL, run through the backend's raw cursor.
 */
#include "store/backend.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- choosing a backend ---- */

/* 1 if spec is a PostgreSQL URI or a conninfo string ("keyword=value ..."). */
int
st_is_server(const char *spec)
{
	const char *p = spec;

	if (strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0)
		return 1;
	while (isspace((unsigned char)*p))
		p++;
	if (!isalpha((unsigned char)*p))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	while (isspace((unsigned char)*p))
		p++;
	return *p == '=';
}

/* Copies [p, p + n) to the output, bounded. */
static void
out_put(char *buf, size_t cap, size_t *k, const char *p, size_t n)
{
	while (n-- > 0 && *k + 1 < cap)
		buf[(*k)++] = *p++;
	buf[*k] = '\0';
}

/*
 * Copies s to buf with every "password=VALUE" (of a conninfo string or a
 * URI's query) replaced by "password=***"; sep ends a URI's value.
 */
static void
redact_params(const char *s, int uri, char *buf, size_t cap, size_t *k)
{
	while (*s != '\0') {
		if (strncasecmp(s, "password", 8) == 0) {
			const char *p = s + 8;

			while (!uri && isspace((unsigned char)*p))
				p++;
			if (*p == '=') {
				p++;
				out_put(buf, cap, k, "password=***", 12);
				while (!uri && isspace((unsigned char)*p))
					p++;
				if (uri)
					while (*p != '\0' && *p != '&')
						p++;
				else if (*p == '\'') {
					for (p++; *p != '\0' && *p != '\''; p++)
						if (*p == '\\' && p[1] != '\0')
							p++;
					if (*p == '\'')
						p++;
				} else
					while (*p != '\0' && !isspace((unsigned char)*p))
						p++;
				s = p;
				continue;
			}
		}
		out_put(buf, cap, k, s++, 1);
	}
}

/* The spec as messages show it: a URI's or conninfo's password hidden. */
char *
st_display_name(const char *spec, char *buf, size_t n)
{
	size_t k = 0;

	buf[0] = '\0';
	if (!st_is_server(spec)) {
		snprintf(buf, n, "%s", spec);
		return buf;
	}
	if (strncmp(spec, "postgres", 8) == 0) {
		const char *a = strstr(spec, "://") + 3;
		size_t alen = strcspn(a, "/?");
		const char *at = memchr(a, '@', alen);
		const char *colon = at ? memchr(a, ':', (size_t)(at - a)) : NULL;

		if (colon != NULL) {
			out_put(buf, n, &k, spec, (size_t)(colon - spec));
			out_put(buf, n, &k, ":***", 4);
			spec = at;
		}
		redact_params(spec, 1, buf, n, &k);
	} else
		redact_params(spec, 0, buf, n, &k);
	return buf;
}

/* Opens a database with the backend its name asks for. */
struct st_store *
st_open(const char *spec, int flags, struct fs_err *err)
{
	const struct st_backend *be = st_is_server(spec) ? &st_pg_backend : &st_sqlite_backend;
	char name[512];

	fs_err_clear(err);
	st_display_name(spec, name, sizeof(name));
	return be->open(spec, name, flags, err);
}

/* Closes a database. */
void
st_close(struct st_store *st)
{
	if (st != NULL)
		st->be->close(st);
}

/* Runs fn in one write transaction. */
int
st_transaction(struct st_store *st,
    int (*fn)(void *arg, struct st_store *st, struct fs_err *err), void *arg,
    struct fs_err *err)
{
	if (st->readonly)
		return fs_err_set(err, EROFS, "%s: database is read-only", st->name);
	return st->be->transaction(st, fn, arg, err);
}

/* Writes a batch in one transaction. */
int
st_commit(struct st_store *st, struct st_batch *b, struct fs_err *err)
{
	if (st->readonly)
		return fs_err_set(err, EROFS, "%s: database is read-only", st->name);
	if (b->oom)
		return fs_err_set(err, ENOMEM, "%s: out of memory building a batch", st->name);
	return st->be->commit(st, b, err);
}

/* ---- running SQL ---- */

/* Runs SQL that returns at most one row; 1 row (q left open), 0 none, -1 error. */
static int
run1(struct st_store *st, const char *sql, const struct st_param *p, int np,
    struct st_rawq **qp, struct fs_err *err)
{
	struct st_rawq *q = st->be->query_open(st, sql, p, np, 0, err);
	int rc;

	*qp = NULL;
	if (q == NULL)
		return -1;
	if ((rc = st->be->query_next(q, err)) != 1) {
		st->be->query_close(q);
		return rc;
	}
	*qp = q;
	return 1;
}

#define PI(v) { ST_P_INT, (int64_t)(v), NULL }
#define PT(v) { ST_P_TEXT, 0, (v) }

/* ---- sources ---- */

#define SOURCE_COLS "id, path, dev, ino, size, head_len, head_sum, gz, done_off, lines," \
	" unparsed, n_other, n_write_ready, n_examine, n_schedule, n_rpc_send, n_rpc_done," \
	" n_requeue, n_clean, n_wake, n_pass, formats, state, updated, tail_len, tail_sum," \
	" run_id, client"

/* The name of a source state. */
const char *
st__state_name(int state)
{
	return state == ST_SRC_COMPLETE ? "complete" : "partial";
}

/* Copies a text column into a fixed buffer. */
static void
col_copy(struct st_store *st, struct st_rawq *q, int i, char *dst, size_t n)
{
	size_t len;
	const char *t = st->be->col_text(q, i, &len);

	if (len >= n)
		len = n - 1;
	memcpy(dst, t, len);
	dst[len] = '\0';
}

/* Fills a source from a row of SOURCE_COLS. */
static void
source_read(struct st_store *st, struct st_rawq *q, struct st_source *out)
{
	const struct st_backend *be = st->be;
	int i;

	memset(out, 0, sizeof(*out));
	out->id = be->col_int(q, 0);
	col_copy(st, q, 1, out->path, sizeof(out->path));
	out->dev = (uint64_t)be->col_int(q, 2);
	out->ino = (uint64_t)be->col_int(q, 3);
	out->size = (uint64_t)be->col_int(q, 4);
	out->head_len = (uint64_t)be->col_int(q, 5);
	out->head_sum = (uint64_t)be->col_int(q, 6);
	out->gz = (int)be->col_int(q, 7);
	out->done_off = (uint64_t)be->col_int(q, 8);
	out->lines = (uint64_t)be->col_int(q, 9);
	out->unparsed = (uint64_t)be->col_int(q, 10);
	for (i = 0; i < PS_EV_NKINDS; i++)
		out->events[i] = (uint64_t)be->col_int(q, 11 + i);
	col_copy(st, q, 21, out->formats, sizeof(out->formats));
	out->state = strcmp(be->col_text(q, 22, &(size_t){ 0 }), "complete") == 0 ?
	    ST_SRC_COMPLETE : ST_SRC_PARTIAL;
	out->updated = be->col_int(q, 23);
	out->tail_len = (uint64_t)be->col_int(q, 24);
	out->tail_sum = (uint64_t)be->col_int(q, 25);
	out->run_id = (uint64_t)be->col_int(q, 26);
	col_copy(st, q, 27, out->client, sizeof(out->client));
}

/* Finds the latest source with this path (and client). */
int
st_source_find_path(struct st_store *st, const char *path, const char *client,
    struct st_source *out, struct fs_err *err)
{
	struct st_param p[2] = { PT(path), PT(client) };
	struct st_rawq *q;
	int rc;

	rc = run1(st, client != NULL ? "SELECT " SOURCE_COLS " FROM sources WHERE path = ?"
	    " AND client = ? ORDER BY id DESC LIMIT 1" : "SELECT " SOURCE_COLS " FROM sources"
	    " WHERE path = ? ORDER BY id DESC LIMIT 1", p, client != NULL ? 2 : 1, &q, err);
	if (rc == 1) {
		source_read(st, q, out);
		st->be->query_close(q);
	}
	return rc;
}

/* The client a source row gets: its own, or "unknown". */
static const char *
client_of(const struct st_source *src)
{
	return src->client[0] != '\0' ? src->client : ST_CLIENT_UNKNOWN;
}

/* Writes a source's bookkeeping. */
int
st__source_write(struct st_store *st, const struct st_source *src, struct fs_err *err)
{
	struct st_param p[27] = {
		PT(src->path), PI(src->dev), PI(src->ino), PI(src->size), PI(src->head_len),
		PI(src->head_sum), PI(src->gz), PI(src->done_off), PI(src->lines),
		PI(src->unparsed),
		PI(src->events[0]), PI(src->events[1]), PI(src->events[2]), PI(src->events[3]),
		PI(src->events[4]), PI(src->events[5]), PI(src->events[6]), PI(src->events[7]),
		PI(src->events[8]), PI(src->events[9]),
		PT(src->formats), PT(st__state_name(src->state)), PI(time(NULL)),
		PI(src->tail_len), PI(src->tail_sum), PT(client_of(src)), PI(src->id),
	};
	struct st_rawq *q;

	_Static_assert(PS_EV_NKINDS == 10, "sources has ten event counters");
	if (run1(st, "UPDATE sources SET path = ?, dev = ?, ino = ?, size = ?, head_len = ?,"
	    " head_sum = ?, gz = ?, done_off = ?, lines = ?, unparsed = ?, n_other = ?,"
	    " n_write_ready = ?, n_examine = ?, n_schedule = ?, n_rpc_send = ?,"
	    " n_rpc_done = ?, n_requeue = ?, n_clean = ?, n_wake = ?, n_pass = ?,"
	    " formats = ?, state = ?, updated = ?, tail_len = ?, tail_sum = ?, client = ?"
	    " WHERE id = ?", p, 27, &q, err) < 0)
		return -1;
	if (q != NULL)
		st->be->query_close(q);
	return 0;
}

/*
 * Inserts a new source row (inside a transaction: st_transaction's, which
 * takes decisions one at a time).  Its id is the largest one plus 1, as
 * SQLite gives a rowid: PostgreSQL's identity sequence is not rolled back,
 * so an ingest killed during its decision left a gap, and the resumed
 * database named its file source 2 where an uninterrupted one says 1
 * (kill_random, about once in 240 kills).
 */
int
st_source_insert(struct st_store *st, struct st_source *src, struct fs_err *err)
{
	struct st_param p[2] = { PT(src->path), PT(client_of(src)) };
	struct st_rawq *q;
	int rc;

	rc = run1(st, "INSERT INTO sources(id, path, client)"
	    " SELECT coalesce(max(id), 0) + 1, ?, ? FROM sources RETURNING id", p, 2, &q, err);
	if (rc <= 0)
		return rc < 0 ? -1 : fs_err_set(err, -1, "%s: adding a source: no id", st->name);
	src->id = st->be->col_int(q, 0);
	st->be->query_close(q);
	return st__source_write(st, src, err);
}

/* Writes a source's bookkeeping (inside a transaction). */
int
st_source_update(struct st_store *st, const struct st_source *src, struct fs_err *err)
{
	return st__source_write(st, src, err);
}

/* Claims a source for one run (inside a transaction). */
int
st_source_claim(struct st_store *st, int64_t id, uint64_t expect_off, uint64_t *run,
    struct fs_err *err)
{
	struct st_param p[1] = { PI(id) };
	struct st_rawq *q;
	uint64_t off;
	int rc;

	rc = run1(st, "UPDATE sources SET run_id = run_id + 1 WHERE id = ?"
	    " RETURNING run_id, done_off", p, 1, &q, err);
	if (rc <= 0)
		return rc < 0 ? -1 : fs_err_set(err, ENOENT, "%s: no source %lld", st->name,
		    (long long)id);
	*run = (uint64_t)st->be->col_int(q, 0);
	off = (uint64_t)st->be->col_int(q, 1);
	st->be->query_close(q);
	if (off != expect_off)
		return fs_err_set(err, EAGAIN, "%s: source %lld moved on while being claimed"
		    " (stored up to byte %llu, not %llu)", st->name, (long long)id,
		    (unsigned long long)off, (unsigned long long)expect_off);
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

/* Checks the batch's expectations against the stored source row. */
int
st__commit_check(struct st_store *st, const struct st_batch *b, const char *lock,
    struct fs_err *err)
{
	struct st_param p[1] = { PI(b->src.id) };
	struct st_rawq *q;
	int64_t cur = -1, run = -1;
	char sql[128];
	int rc;

	if (!(b->has_expect || b->has_run) || !b->has_source)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT done_off, run_id FROM sources WHERE id = ?%s", lock);
	if ((rc = run1(st, sql, p, 1, &q, err)) < 0)
		return -1;
	if (rc == 1) {
		cur = st->be->col_int(q, 0);
		run = st->be->col_int(q, 1);
		st->be->query_close(q);
	}
	if (b->has_run && run != (int64_t)b->expect_run)
		return fs_err_set(err, EBUSY, "%s: another ingest took over source %lld (%s);"
		    " it stores the rest, nothing stored is lost", b->src.path,
		    (long long)b->src.id, st->name);
	if (b->has_expect && cur != (int64_t)b->expect_off)
		return fs_err_set(err, EBUSY, "%s: source %lld (%s) was changed by another"
		    " process (stored up to byte %lld, expected %llu); run again",
		    st->name, (long long)b->src.id, b->src.path, (long long)cur,
		    (unsigned long long)b->expect_off);
	return 0;
}

/* The period histogram as comma-separated text. */
size_t
st__hist_text(const uint64_t *hist, char *buf, size_t n)
{
	size_t k = 0;
	int j;

	buf[0] = '\0';
	for (j = 0; j < ST_HIST_BUCKETS && k < n; j++)
		k += (size_t)snprintf(buf + k, n - k, "%s%" PRIu64, j ? "," : "", hist[j]);
	return k < n ? k : n - 1;
}

/* ---- cursors ---- */

/* Matches everything. */
void
st_filter_init(struct st_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->bno = -1;
	f->since_us = INT64_MIN;
	f->until_us = INT64_MAX;
}

/* How each kind is queried. */
struct kind_sql {
	const char *cols;	/* selected columns (x = the table, t = threads) */
	const char *table;
	const char *t0, *t1;	/* time columns (start, end), NULL = no time filter */
	int sec;		/* the time columns are seconds */
	int bmap;		/* the fid filter applies */
	int thread;		/* joined with threads; the thread filter applies */
	const char *order;
};

#define LINE_HEAD "x.source_id, x.src_off, x.tno, t.name, x.ts_us, "

static const struct kind_sql kinds[ST_NKINDS] = {
	[ST_SOURCES] = { SOURCE_COLS, "sources", NULL, NULL, 0, 0, 0, "x.id" },
	[ST_EPISODES] = { "x.id, x.source_id, t.name, t.tid, x.fid, x.bno, x.addr,"
	    " x.start_us, x.end_us, x.cycles, x.period_us, x.outstanding_min,"
	    " x.outstanding_max, x.cause, x.first_off, x.last_off", "episodes",
	    "x.start_us", "x.end_us", 0, 1, 1, "x.start_us, x.source_id, x.first_off" },
	[ST_THREAD_STATS] = { "x.source_id, x.tno, t.name, t.tid, x.passes, x.useless_passes,"
	    " x.examinations, x.wasted, x.first_us, x.last_us, x.period_p50_us,"
	    " x.period_p99_us, x.period_hist, x.first_pass_us, x.sleep_p50_us, x.line_p50_us,"
	    " x.era", "thread_stats", NULL, NULL, 0, 0, 1, "x.source_id, x.tno" },
	[ST_SERIES] = { "x.source_id, x.tno, t.name, x.sec, x.examinations, x.wasted,"
	    " x.passes, x.useless_passes, x.rpcs_sent, x.rpcs_done, x.max_outstanding",
	    "series", "x.sec", "x.sec", 1, 0, 1, "x.sec, x.source_id, x.tno" },
	[ST_RPCS] = { LINE_HEAD "x.kind, x.xid, x.off, x.sz, x.outstanding, x.rc, x.fid,"
	    " x.bno, x.req_addr, x.bwc", "rpcs", "x.ts_us", "x.ts_us", 0, 1, 1,
	    "x.source_id, x.src_off" },
	[ST_WRITES] = { LINE_HEAD "x.fid, x.bno, x.bmap_addr, x.biorq_addr, x.off, x.len,"
	    " x.msg", "writes", "x.ts_us", "x.ts_us", 0, 1, 1, "x.source_id, x.src_off" },
	[ST_STATES] = { LINE_HEAD "x.fid, x.bno, x.bmap_addr, x.state, x.msg, x.flags,"
	    " x.opcnt", "bmap_states", "x.ts_us", "x.ts_us", 0, 1, 1, "x.source_id, x.src_off" },
	[ST_FORCED] = { LINE_HEAD "x.fid, x.bno, x.biorq_addr", "forced", "x.ts_us", "x.ts_us",
	    0, 1, 1, "x.source_id, x.src_off" },
	[ST_BMAP_SERIES] = { "x.source_id, x.fid, x.bno, x.sec, x.examinations, x.wasted",
	    "bmap_series", "x.sec", "x.sec", 1, 1, 0, "x.source_id, x.fid, x.bno, x.sec" },
	[ST_UNPARSED] = { "x.source_id, x.src_off, x.lineno, x.text", "unparsed", NULL, NULL,
	    0, 0, 0, "x.source_id, x.src_off" },
	[ST_LINES] = { "x.source_id, x.src_off, x.lineno, x.text", "lines", NULL, NULL, 0, 0, 0,
	    "x.source_id, x.src_off" },
};

struct st_cursor {
	struct st_store *st;
	enum st_kind kind;
	struct st_rawq *q;
	union st_row row;
};

/* Appends to a bounded SQL buffer. */
static void __attribute__((format(printf, 3, 4)))
sql_add(char *buf, size_t n, const char *fmt, ...)
{
	size_t k = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + k, n - k, fmt, ap);
	va_end(ap);
}

/* The floor of a time in seconds. */
static int64_t
sec_floor(int64_t us)
{
	return us / 1000000 - (us % 1000000 < 0);
}

/* Builds a kind's query under filter f: SQL into buf, parameters into p. */
static int
build_query(enum st_kind kind, const struct st_filter *f, char *buf, size_t n,
    struct st_param *p)
{
	const struct kind_sql *k = &kinds[kind];
	int np = 0;

	buf[0] = '\0';
	sql_add(buf, n, "SELECT %s FROM %s x", k->cols, k->table);
	if (k->thread)
		sql_add(buf, n, " LEFT JOIN threads t ON t.source_id = x.source_id AND t.tno = x.tno");
	sql_add(buf, n, " WHERE 1 = 1");
	if (f->source_id != 0) {
		sql_add(buf, n, " AND x.%s = ?", kind == ST_SOURCES ? "id" : "source_id");
		p[np++] = (struct st_param)PI(f->source_id);
	}
	if (f->client != NULL) {
		sql_add(buf, n, kind == ST_SOURCES ? " AND x.client = ?" :
		    " AND x.source_id IN (SELECT id FROM sources WHERE client = ?)");
		p[np++] = (struct st_param)PT(f->client);
	}
	if (k->bmap && f->has_fid) {
		sql_add(buf, n, " AND x.fid = ?");
		p[np++] = (struct st_param)PI(f->fid);
		if (f->bno >= 0) {
			sql_add(buf, n, " AND x.bno = ?");
			p[np++] = (struct st_param)PI(f->bno);
		}
	}
	if (k->thread && f->thread != NULL) {
		sql_add(buf, n, " AND t.name = ?");
		p[np++] = (struct st_param)PT(f->thread);
	}
	if (k->t0 != NULL && f->since_us != INT64_MIN) {
		sql_add(buf, n, " AND %s >= ?", k->t1);
		p[np++] = (struct st_param)PI(k->sec ? sec_floor(f->since_us) : f->since_us);
	}
	if (k->t0 != NULL && f->until_us != INT64_MAX) {
		sql_add(buf, n, " AND %s <= ?", k->t0);
		p[np++] = (struct st_param)PI(k->sec ? f->until_us / 1000000 : f->until_us);
	}
	sql_add(buf, n, " ORDER BY %s", k->order);
	return np;
}

/* Opens a cursor over a kind of row. */
struct st_cursor *
st_cursor_open(struct st_store *st, enum st_kind kind, const struct st_filter *f,
    struct fs_err *err)
{
	struct st_param p[8];
	struct st_filter all;
	struct st_cursor *c;
	char sql[1024];
	int np;

	if ((unsigned)kind >= ST_NKINDS) {
		fs_err_set(err, EINVAL, "%s: no such kind of row", st->name);
		return NULL;
	}
	if (f == NULL) {
		st_filter_init(&all);
		f = &all;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		fs_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	c->st = st;
	c->kind = kind;
	np = build_query(kind, f, sql, sizeof(sql), p);
	if ((c->q = st->be->query_open(st, sql, p, np, 1, err)) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

/* Column as int64 with a default for NULL. */
static int64_t
col_i64(struct st_cursor *c, int i, int64_t dflt)
{
	return c->st->be->col_null(c->q, i) ? dflt : c->st->be->col_int(c->q, i);
}

/* Column as a string, NULL if NULL. */
static const char *
col_str(struct st_cursor *c, int i)
{
	size_t len;

	return c->st->be->col_null(c->q, i) ? NULL : c->st->be->col_text(c->q, i, &len);
}

/* Column as a uint64 (NULL = 0). */
#define U(c, i) ((uint64_t)col_i64((c), (i), 0))

/* Fills the five head columns of a per-line row. */
#define LINE_ROW(r, c) do {						\
	(r).source_id = col_i64((c), 0, 0);				\
	(r).src_off = U((c), 1);					\
	(r).tno = (int)col_i64((c), 2, -1);				\
	(r).thread = col_str((c), 3);					\
	(r).ts_us = col_i64((c), 4, INT64_MIN);				\
} while (0)

/* Decodes an episode row. */
static void
decode_episode(struct st_cursor *c, struct st_episode_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = col_i64(c, 0, 0);
	r->source_id = col_i64(c, 1, 0);
	col_copy(c->st, c->q, 2, r->ep.thread, sizeof(r->ep.thread));
	col_copy(c->st, c->q, 3, r->ep.tid, sizeof(r->ep.tid));
	r->ep.fid = U(c, 4);
	r->ep.bno = (uint32_t)U(c, 5);
	r->ep.addr = U(c, 6);
	r->ep.start_us = col_i64(c, 7, 0);
	r->ep.end_us = col_i64(c, 8, 0);
	r->ep.cycles = U(c, 9);
	r->ep.period_us = col_i64(c, 10, 0);
	r->ep.outstanding_min = col_i64(c, 11, -1);
	r->ep.outstanding_max = col_i64(c, 12, -1);
	col_copy(c->st, c->q, 13, r->ep.cause, sizeof(r->ep.cause));
	r->ep.first_off = U(c, 14);
	r->ep.last_off = U(c, 15);
}

/* Decodes a thread-figures row. */
static void
decode_thread(struct st_cursor *c, struct st_thread_row *r)
{
	const char *h;
	int j;

	memset(r, 0, sizeof(*r));
	r->source_id = col_i64(c, 0, 0);
	r->tno = (int)col_i64(c, 1, 0);
	col_copy(c->st, c->q, 2, r->st.thread, sizeof(r->st.thread));
	col_copy(c->st, c->q, 3, r->st.tid, sizeof(r->st.tid));
	r->st.passes = U(c, 4);
	r->st.useless_passes = U(c, 5);
	r->st.examinations = U(c, 6);
	r->st.wasted = U(c, 7);
	r->st.first_us = col_i64(c, 8, INT64_MIN);
	r->st.last_us = col_i64(c, 9, INT64_MIN);
	r->st.period_p50_us = col_i64(c, 10, 0);
	r->st.period_p99_us = col_i64(c, 11, 0);
	r->st.first_pass_us = col_i64(c, 13, INT64_MIN);
	r->st.sleep_p50_us = col_i64(c, 14, -1);
	r->st.line_p50_us = col_i64(c, 15, -1);
	h = col_str(c, 16);
	r->st.era = h != NULL && h[0] != '\0' && strchr("ABCZ", h[0]) != NULL ? h[0] : 0;
	h = col_str(c, 12);
	for (j = 0; h != NULL && *h != '\0' && j < ST_HIST_BUCKETS; j++) {
		char *end;

		r->st.period_hist[j] = strtoull(h, &end, 10);
		h = *end == ',' ? end + 1 : end;
	}
}

/* Decodes the current row into c->row. */
static void
decode(struct st_cursor *c)
{
	union st_row *r = &c->row;
	const char *k;

	switch (c->kind) {
	case ST_SOURCES:
		source_read(c->st, c->q, &r->source);
		break;
	case ST_EPISODES:
		decode_episode(c, &r->episode);
		break;
	case ST_THREAD_STATS:
		decode_thread(c, &r->thread);
		break;
	case ST_SERIES:
		r->series.source_id = col_i64(c, 0, 0);
		r->series.tno = (int)col_i64(c, 1, 0);
		r->series.thread = col_str(c, 2);
		r->series.sec = col_i64(c, 3, 0);
		r->series.examinations = U(c, 4);
		r->series.wasted = U(c, 5);
		r->series.passes = U(c, 6);
		r->series.useless_passes = U(c, 7);
		r->series.rpcs_sent = U(c, 8);
		r->series.rpcs_done = U(c, 9);
		r->series.max_outstanding = col_i64(c, 10, -1);
		break;
	case ST_RPCS:
		LINE_ROW(r->rpc, c);
		k = col_str(c, 5);
		r->rpc.kind = k != NULL && strcmp(k, "done") == 0 ? ST_RPC_DONE : ST_RPC_SEND;
		r->rpc.xid = col_i64(c, 6, -1);
		r->rpc.off = col_i64(c, 7, -1);
		r->rpc.sz = col_i64(c, 8, -1);
		r->rpc.outstanding = col_i64(c, 9, -1);
		r->rpc.rc = col_i64(c, 10, -1);
		r->rpc.has_bmap = !c->st->be->col_null(c->q, 11);
		r->rpc.fid = U(c, 11);
		r->rpc.bno = col_i64(c, 12, -1);
		r->rpc.req_addr = U(c, 13);
		r->rpc.bwc_addr = U(c, 14);
		break;
	case ST_WRITES:
		LINE_ROW(r->write, c);
		r->write.has_bmap = !c->st->be->col_null(c->q, 5);
		r->write.fid = U(c, 5);
		r->write.bno = col_i64(c, 6, -1);
		r->write.bmap_addr = U(c, 7);
		r->write.biorq_addr = U(c, 8);
		r->write.off = col_i64(c, 9, -1);
		r->write.len = col_i64(c, 10, -1);
		r->write.msg_id = (int)col_i64(c, 11, 0);
		break;
	case ST_STATES:
		LINE_ROW(r->state, c);
		r->state.fid = U(c, 5);
		r->state.bno = col_i64(c, 6, -1);
		r->state.bmap_addr = U(c, 7);
		k = col_str(c, 8);
		r->state.kind = k != NULL && strcmp(k, "clean") == 0 ? PS_EV_CLEAN :
		    PS_EV_WRITE_READY;
		r->state.msg_id = (int)col_i64(c, 9, 0);
		r->state.flags = (uint32_t)col_i64(c, 10, 0);
		r->state.opcnt = (int32_t)col_i64(c, 11, -1);
		break;
	case ST_FORCED:
		LINE_ROW(r->forced, c);
		r->forced.has_bmap = !c->st->be->col_null(c->q, 5);
		r->forced.fid = U(c, 5);
		r->forced.bno = col_i64(c, 6, -1);
		r->forced.biorq_addr = U(c, 7);
		break;
	case ST_BMAP_SERIES:
		r->bmap.source_id = col_i64(c, 0, 0);
		r->bmap.fid = U(c, 1);
		r->bmap.bno = (uint32_t)U(c, 2);
		r->bmap.sec = col_i64(c, 3, 0);
		r->bmap.examinations = U(c, 4);
		r->bmap.wasted = U(c, 5);
		break;
	default:
		r->line.source_id = col_i64(c, 0, 0);
		r->line.src_off = U(c, 1);
		r->line.lineno = U(c, 2);
		r->line.text = c->st->be->col_text(c->q, 3, &r->line.len);
		break;
	}
}

/* Moves a cursor to its next row. */
int
st_cursor_next(struct st_cursor *c, const union st_row **row, struct fs_err *err)
{
	int rc = c->st->be->query_next(c->q, err);

	if (rc == 1) {
		decode(c);
		*row = &c->row;
	}
	return rc;
}

/* Closes a cursor. */
void
st_cursor_close(struct st_cursor *c)
{
	if (c == NULL)
		return;
	c->st->be->query_close(c->q);
	free(c);
}

/* ---- dump ---- */

/* Canonical queries: every column except row ids and commit times. */
static const char *const dump_sql[] = {
	"SELECT 'sources', id, path, dev, ino, size, head_len, head_sum, gz, done_off, lines,"
	" unparsed, n_other, n_write_ready, n_examine, n_schedule, n_rpc_send, n_rpc_done,"
	" n_requeue, n_clean, n_wake, n_pass, formats, state, tail_len, tail_sum, client"
	" FROM sources ORDER BY id",
	"SELECT 'threads', * FROM threads ORDER BY source_id, tno",
	"SELECT 'bmaps', * FROM bmaps ORDER BY fid, bno",
	"SELECT 'rpcs', source_id, src_off, tno, ts_us, kind, xid, off, sz, outstanding, rc,"
	" fid, bno, req_addr, bwc FROM rpcs ORDER BY source_id, src_off",
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
	size_t d;

	for (d = 0; d < sizeof(dump_sql) / sizeof(dump_sql[0]); d++) {
		struct st_rawq *q = st->be->query_open(st, dump_sql[d], NULL, 0, 1, err);
		int rc, i, ncol = 0;

		if (q == NULL)
			return -1;
		while ((rc = st->be->query_next(q, err)) == 1) {
			ncol = st->be->col_count(q);
			for (i = 0; i < ncol; i++) {
				size_t len;
				const char *t;

				fputs(i ? "|" : "", out);
				if (st->be->col_null(q, i)) {
					fputs("NULL", out);
					continue;
				}
				t = st->be->col_text(q, i, &len);
				fwrite(t, 1, len, out);
			}
			fputc('\n', out);
		}
		st->be->query_close(q);
		if (rc < 0)
			return -1;
	}
	return 0;
}
