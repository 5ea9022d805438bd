/*
 * store/schema.c: the schema, described once (see store/schema.h), and its
 * rendering into SQLite's and PostgreSQL's DDL.
 */
#include "store/schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

/* Column types, rendered per dialect (see type_sql). */
enum col_type {
	C_ID,		/* a source's id: SQLite's rowid, an identity column on PostgreSQL */
	C_ROWID,	/* a row's id: the same, but on PostgreSQL its sequence cached (ids
			   of concurrent writers interleave in blocks) and not indexed */
	C_INT,		/* a 64-bit integer (unsigned values are stored as their bits) */
	C_TEXT,		/* text: names, paths, words */
	C_LINE		/* a log line's bytes: any byte, NUL and invalid UTF-8 included */
};

struct col {
	const char *name;
	enum col_type type;
	const char *extra;	/* "NOT NULL", "DEFAULT 0", ... or NULL */
	int since;		/* 0 = with its table */
};

struct table {
	const char *name;
	int since, until;	/* until: the version that dropped it, 0 = alive */
	const char *pkey;	/* composite primary key, NULL = the C_ID column or none */
	struct col cols[28];
};

struct index {
	const char *name, *table, *cols;
	int since;
};

struct step {
	int version;		/* run while migrating to this version */
	const char *sql;
};

struct view {
	const char *name;
	const char *sql;	/* the SELECT, HEX(x) and ADDR(x) rendered per dialect */
};

#define NN "NOT NULL"
#define LINE_COLS(src) { "source_id", C_INT, NN, 0 }, { "src_off", C_INT, NN, 0 }, \
	{ "tno", C_INT, NULL, 0 }, { "ts_us", C_INT, NULL, 0 }

static const struct table tables[] = {
	{ "sources", 1, 0, NULL, {
		{ "id", C_ID, NULL, 0 },
		{ "path", C_TEXT, NN, 0 },
		{ "dev", C_INT, NULL, 0 }, { "ino", C_INT, NULL, 0 }, { "size", C_INT, NULL, 0 },
		{ "head_len", C_INT, NULL, 0 }, { "head_sum", C_INT, NULL, 0 },
		{ "gz", C_INT, NULL, 0 },
		{ "done_off", C_INT, "NOT NULL DEFAULT 0", 0 },
		{ "lines", C_INT, "NOT NULL DEFAULT 0", 0 },
		{ "unparsed", C_INT, "NOT NULL DEFAULT 0", 0 },
		{ "n_other", C_INT, "DEFAULT 0", 0 }, { "n_write_ready", C_INT, "DEFAULT 0", 0 },
		{ "n_examine", C_INT, "DEFAULT 0", 0 }, { "n_schedule", C_INT, "DEFAULT 0", 0 },
		{ "n_rpc_send", C_INT, "DEFAULT 0", 0 }, { "n_rpc_done", C_INT, "DEFAULT 0", 0 },
		{ "n_requeue", C_INT, "DEFAULT 0", 0 }, { "n_clean", C_INT, "DEFAULT 0", 0 },
		{ "n_wake", C_INT, "DEFAULT 0", 0 }, { "n_pass", C_INT, "DEFAULT 0", 0 },
		{ "formats", C_TEXT, NULL, 0 },
		{ "state", C_TEXT, "NOT NULL DEFAULT 'partial'", 0 },
		{ "updated", C_INT, NULL, 0 },
		{ "tail_len", C_INT, "NOT NULL DEFAULT 0", 2 },
		{ "tail_sum", C_INT, "NOT NULL DEFAULT 0", 2 },
		{ "run_id", C_INT, "NOT NULL DEFAULT 0", 2 },
		{ "client", C_TEXT, "NOT NULL DEFAULT 'unknown'", 3 },
	} },
	{ "threads", 1, 0, "source_id, tno", {
		{ "source_id", C_INT, NN, 0 }, { "tno", C_INT, NN, 0 },
		{ "name", C_TEXT, NULL, 0 }, { "tid", C_TEXT, NULL, 0 },
	} },
	{ "bmaps", 1, 0, "fid, bno", {
		{ "fid", C_INT, NN, 0 }, { "bno", C_INT, NN, 0 },
		{ "last_addr", C_INT, NULL, 0 }, { "first_us", C_INT, NULL, 0 },
		{ "last_us", C_INT, NULL, 0 },
	} },
	{ "rpcs", 1, 0, NULL, {
		{ "id", C_ROWID, NULL, 0 }, LINE_COLS(),
		{ "kind", C_TEXT, NULL, 0 }, { "xid", C_INT, NULL, 0 }, { "off", C_INT, NULL, 0 },
		{ "sz", C_INT, NULL, 0 }, { "outstanding", C_INT, NULL, 0 },
		{ "rc", C_INT, NULL, 0 }, { "fid", C_INT, NULL, 0 }, { "bno", C_INT, NULL, 0 },
		{ "req_addr", C_INT, NULL, 0 },
		/* v4: HEAD's bwc of a send and of its reply (pairs them: no xid logged) */
		{ "bwc", C_INT, NULL, 4 },
	} },
	{ "writes", 1, 0, NULL, {
		{ "id", C_ROWID, NULL, 0 }, LINE_COLS(),
		{ "fid", C_INT, NULL, 0 }, { "bno", C_INT, NULL, 0 },
		{ "bmap_addr", C_INT, NULL, 0 }, { "biorq_addr", C_INT, NULL, 0 },
		{ "off", C_INT, NULL, 0 }, { "len", C_INT, NULL, 0 }, { "msg", C_INT, NULL, 0 },
	} },
	{ "bmap_states", 1, 0, NULL, {
		{ "id", C_ROWID, NULL, 0 }, LINE_COLS(),
		{ "fid", C_INT, NULL, 0 }, { "bno", C_INT, NULL, 0 },
		{ "bmap_addr", C_INT, NULL, 0 }, { "state", C_TEXT, NULL, 0 },
		{ "msg", C_INT, NULL, 0 }, { "flags", C_INT, NULL, 0 }, { "opcnt", C_INT, NULL, 0 },
	} },
	{ "forced", 1, 0, NULL, {
		{ "id", C_ROWID, NULL, 0 }, LINE_COLS(),
		{ "fid", C_INT, NULL, 0 }, { "bno", C_INT, NULL, 0 },
		{ "biorq_addr", C_INT, NULL, 0 },
	} },
	{ "unparsed", 1, 0, "source_id, src_off", {
		{ "source_id", C_INT, NN, 0 }, { "src_off", C_INT, NN, 0 },
		{ "lineno", C_INT, NULL, 0 }, { "text", C_LINE, NULL, 0 },
	} },
	{ "lines", 1, 0, "source_id, src_off", {
		{ "source_id", C_INT, NN, 0 }, { "src_off", C_INT, NN, 0 },
		{ "lineno", C_INT, NULL, 0 }, { "text", C_LINE, NULL, 0 },
	} },
	{ "episodes", 1, 0, NULL, {
		{ "id", C_ROWID, NULL, 0 }, { "source_id", C_INT, NN, 0 },
		{ "tno", C_INT, NULL, 0 }, { "fid", C_INT, NULL, 0 }, { "bno", C_INT, NULL, 0 },
		{ "addr", C_INT, NULL, 0 }, { "start_us", C_INT, NULL, 0 },
		{ "end_us", C_INT, NULL, 0 }, { "cycles", C_INT, NULL, 0 },
		{ "period_us", C_INT, NULL, 0 }, { "outstanding_min", C_INT, NULL, 0 },
		{ "outstanding_max", C_INT, NULL, 0 }, { "cause", C_TEXT, NULL, 0 },
		{ "first_off", C_INT, NULL, 0 }, { "last_off", C_INT, NULL, 0 },
	} },
	{ "thread_stats", 1, 0, "source_id, tno", {
		{ "source_id", C_INT, NN, 0 }, { "tno", C_INT, NN, 0 },
		{ "passes", C_INT, NULL, 0 }, { "useless_passes", C_INT, NULL, 0 },
		{ "examinations", C_INT, NULL, 0 }, { "wasted", C_INT, NULL, 0 },
		{ "first_us", C_INT, NULL, 0 }, { "last_us", C_INT, NULL, 0 },
		{ "period_p50_us", C_INT, NULL, 0 }, { "period_p99_us", C_INT, NULL, 0 },
		{ "period_hist", C_TEXT, NULL, 0 },
		{ "first_pass_us", C_INT, NULL, 2 },
		/*
		 * v4: the pass's timing (median sleep between passes, median gap
		 * between the lines of a pass: replay's calibration) and the era
		 * of its examinations (a database keeps no other era-marking line)
		 */
		{ "sleep_p50_us", C_INT, NULL, 4 }, { "line_p50_us", C_INT, NULL, 4 },
		{ "era", C_TEXT, NULL, 4 },
	} },
	{ "series", 1, 0, "source_id, tno, sec", {
		{ "source_id", C_INT, NN, 0 }, { "tno", C_INT, NN, 0 }, { "sec", C_INT, NN, 0 },
		{ "examinations", C_INT, NULL, 0 }, { "wasted", C_INT, NULL, 0 },
		{ "passes", C_INT, NULL, 0 }, { "useless_passes", C_INT, NULL, 0 },
		{ "rpcs_sent", C_INT, NULL, 0 }, { "rpcs_done", C_INT, NULL, 0 },
		{ "max_outstanding", C_INT, NULL, 0 },
	} },
	{ "bmap_stats", 1, 2, "source_id, fid, bno", {
		{ "source_id", C_INT, NN, 0 }, { "fid", C_INT, NN, 0 }, { "bno", C_INT, NN, 0 },
		{ "examinations", C_INT, NULL, 0 }, { "wasted", C_INT, NULL, 0 },
	} },
	/*
	 * v2: per-bmap counters per second, so that a time window selects the
	 * same examinations from a database as from a file (the counters of a
	 * v1 database have no seconds: they move to second 0, keeping totals).
	 */
	{ "bmap_series", 2, 0, "source_id, fid, bno, sec", {
		{ "source_id", C_INT, NN, 0 }, { "fid", C_INT, NN, 0 }, { "bno", C_INT, NN, 0 },
		{ "sec", C_INT, NN, 0 },
		{ "examinations", C_INT, NULL, 0 }, { "wasted", C_INT, NULL, 0 },
	} },
};

static const struct index indexes[] = {
	{ "sources_path", "sources", "path", 1 },
	{ "episodes_bmap", "episodes", "fid, bno", 1 },
	{ "episodes_source", "episodes", "source_id", 1 },
	{ "sources_client", "sources", "client, path", 3 },
};

static const struct step steps[] = {
	{ 2, "INSERT INTO bmap_series SELECT source_id, fid, bno, 0, examinations, wasted"
	    " FROM bmap_stats" },
};

const char *const st_schema_views[] = {
	"v_episodes", "v_bmap_spins", "v_thread_spins", "v_client_spins", NULL
};

static const struct view views[] = {
	{ "v_episodes", "SELECT e.id, e.source_id, s.path AS source, s.client,"
	    " t.name AS thread, HEX(e.fid) AS fid, e.bno, ADDR(e.addr) AS addr,"
	    " e.start_us, e.end_us, (e.end_us - e.start_us) / 1000.0 AS duration_ms,"
	    " e.period_us / 1000.0 AS period_ms, e.cycles, e.outstanding_min,"
	    " e.outstanding_max, e.cause, e.first_off, e.last_off"
	    " FROM episodes e JOIN sources s ON s.id = e.source_id"
	    " LEFT JOIN threads t ON t.source_id = e.source_id AND t.tno = e.tno" },
	{ "v_bmap_spins", "SELECT HEX(b.fid) AS fid, b.bno,"
	    " (SELECT count(*) FROM episodes e WHERE e.fid = b.fid AND e.bno = b.bno) AS episodes,"
	    " (SELECT coalesce(sum(e.cycles), 0) FROM episodes e"
	    " WHERE e.fid = b.fid AND e.bno = b.bno) AS cycles,"
	    " sum(b.wasted) AS wasted, sum(b.examinations) AS examinations"
	    " FROM bmap_series b GROUP BY b.fid, b.bno" },
	{ "v_thread_spins", "SELECT ts.source_id, s.path AS source, s.client,"
	    " t.name AS thread, t.tid, ts.passes, ts.useless_passes,"
	    " CASE WHEN ts.passes > 0 THEN round(1.0 * ts.useless_passes / ts.passes, 4) END"
	    " AS useless_share,"
	    " ts.examinations, ts.wasted,"
	    " CASE WHEN ts.last_us > ts.first_us"
	    " THEN round(ts.wasted * 1e6 / (ts.last_us - ts.first_us), 1) END AS wasted_per_s,"
	    " ts.period_p50_us / 1000.0 AS period_p50_ms, ts.period_p99_us / 1000.0 AS period_p99_ms"
	    " FROM thread_stats ts JOIN sources s ON s.id = ts.source_id"
	    " LEFT JOIN threads t ON t.source_id = ts.source_id AND t.tno = ts.tno" },
	{ "v_client_spins", "SELECT c.client, c.sources, c.examinations, c.wasted,"
	    " CASE WHEN c.last_us > c.first_us"
	    " THEN round(c.wasted * 1e6 / (c.last_us - c.first_us), 1) END AS wasted_per_s,"
	    " (SELECT count(*) FROM episodes e JOIN sources s ON s.id = e.source_id"
	    " WHERE s.client = c.client) AS episodes, c.first_us, c.last_us"
	    " FROM (SELECT s.client, count(DISTINCT s.id) AS sources,"
	    " sum(ts.examinations) AS examinations, sum(ts.wasted) AS wasted,"
	    " min(ts.first_us) AS first_us, max(ts.last_us) AS last_us"
	    " FROM sources s JOIN thread_stats ts ON ts.source_id = s.id GROUP BY s.client) c" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A growable string; oom set when an append failed. */
struct sbuf {
	char *p;
	size_t n, cap;
	int oom;
};

/* Appends printf-formatted text. */
static void __attribute__((format(printf, 2, 3)))
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)k < b->cap - b->n) {
			b->n += (size_t)k;
			return;
		}
		{
			size_t nc = (b->cap + (size_t)k + 1) * 2;
			char *np = realloc(b->p, nc);

			if (np == NULL) {
				b->oom = 1;
				return;
			}
			b->p = np;
			b->cap = nc;
		}
	}
}

/* A column type in a dialect. */
static const char *
type_sql(enum st_dialect d, enum col_type t)
{
	switch (t) {
	case C_ID:
		return d == ST_PG ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" :
		    "INTEGER PRIMARY KEY";
	case C_ROWID:
		/* PostgreSQL: a heap; an index on a generated id would only slow COPY */
		return d == ST_PG ? "BIGINT GENERATED BY DEFAULT AS IDENTITY (CACHE 4096) NOT NULL" :
		    "INTEGER PRIMARY KEY";
	case C_INT:
		return d == ST_PG ? "BIGINT" : "INTEGER";
	case C_LINE:
		return d == ST_PG ? "BYTEA" : "TEXT";
	default:
		return "TEXT";
	}
}

/* Appends one column's definition. */
static void
col_sql(struct sbuf *b, enum st_dialect d, const struct col *c)
{
	sb_printf(b, "%s %s%s%s", c->name, type_sql(d, c->type), c->extra ? " " : "",
	    c->extra ? c->extra : "");
}

/* Appends CREATE TABLE for t with the columns of version v. */
static void
create_table(struct sbuf *b, enum st_dialect d, const struct table *t, int v)
{
	size_t i;
	int first = 1;

	sb_printf(b, "CREATE TABLE %s (", t->name);
	for (i = 0; i < NELEM(t->cols) && t->cols[i].name != NULL; i++) {
		if (t->cols[i].since > v)
			continue;
		sb_printf(b, "%s", first ? "" : ", ");
		col_sql(b, d, &t->cols[i]);
		first = 0;
	}
	if (t->pkey != NULL)
		sb_printf(b, ", PRIMARY KEY (%s))%s;\n", t->pkey,
		    d == ST_SQLITE ? " WITHOUT ROWID" : "");
	else
		sb_printf(b, ");\n");
}

/* Appends a view's SQL with HEX() and ADDR() spelled for the dialect. */
static void
view_sql(struct sbuf *b, enum st_dialect d, const struct view *w)
{
	const char *p = w->sql;

	sb_printf(b, "CREATE VIEW %s AS ", w->name);
	while (*p != '\0') {
		if (strncmp(p, "HEX(", 4) == 0) {
			sb_printf(b, "%s", d == ST_PG ? "to_hex(" : "printf('%x', ");
			p += 4;
		} else if (strncmp(p, "ADDR(", 5) == 0) {
			sb_printf(b, "%s", d == ST_PG ? "'0x' || to_hex(" : "printf('0x%x', ");
			p += 5;
		} else {
			sb_printf(b, "%c", *p++);
		}
	}
	sb_printf(b, ";\n");
}

/* Appends the changes of version v (from v - 1): additions, steps, drops. */
static void
version_sql(struct sbuf *b, enum st_dialect d, int v)
{
	size_t i, k;

	for (i = 0; i < NELEM(tables); i++) {
		const struct table *t = &tables[i];

		if (t->since == v)
			create_table(b, d, t, v);
		else if (t->since < v && (t->until == 0 || t->until > v))
			for (k = 0; k < NELEM(t->cols) && t->cols[k].name != NULL; k++)
				if (t->cols[k].since == v) {
					sb_printf(b, "ALTER TABLE %s ADD COLUMN ", t->name);
					col_sql(b, d, &t->cols[k]);
					sb_printf(b, ";\n");
				}
	}
	for (i = 0; i < NELEM(indexes); i++)
		if (indexes[i].since == v)
			sb_printf(b, "CREATE INDEX %s ON %s(%s);\n", indexes[i].name,
			    indexes[i].table, indexes[i].cols);
	for (i = 0; i < NELEM(steps); i++)
		if (steps[i].version == v)
			sb_printf(b, "%s;\n", steps[i].sql);
	for (i = 0; i < NELEM(tables); i++)
		if (tables[i].until == v)
			sb_printf(b, "DROP TABLE %s;\n", tables[i].name);
}

/* The SQL from version from to the current one. */
char *
st_schema_sql(enum st_dialect d, int from)
{
	struct sbuf b = { NULL, 0, 0, 0 };
	size_t i;
	int v;

	sb_printf(&b, "%s", "");
	for (i = 0; from > 0 && st_schema_views[i] != NULL; i++)
		sb_printf(&b, "DROP VIEW IF EXISTS %s;\n", st_schema_views[i]);
	if (from == 0) {
		/* a new database: the current tables and indexes at once */
		for (i = 0; i < NELEM(tables); i++)
			if (tables[i].until == 0)
				create_table(&b, d, &tables[i], ST_SCHEMA_VERSION);
		for (i = 0; i < NELEM(indexes); i++)
			sb_printf(&b, "CREATE INDEX %s ON %s(%s);\n", indexes[i].name,
			    indexes[i].table, indexes[i].cols);
	} else {
		for (v = from + 1; v <= ST_SCHEMA_VERSION; v++)
			version_sql(&b, d, v);
	}
	for (i = 0; i < NELEM(views); i++)
		view_sql(&b, d, &views[i]);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
