/*
 * tests/check_store.c: the storage interface (store/store.h) on both
 * backends (loop index = backend): schema creation and refusal, sources,
 * batch commits, cursors, claims, dump, schema 4's columns; SQLite databases
 * of schemas 1, 2 and 3 migrated, a server database of schema 3 migrated;
 * which strings name a server, and that no password is shown; what a
 * batch counts and keeps; the SQLite WAL checkpointer's thread and its cap.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/sqlite_ckpt.h"
#include "store/store.h"
#include "tests/testutil.h"

Suite *store_suite(void);

static char tmpdir[256];
static char the_db[1024];		/* the database of open_with_source */

/* A path in the temporary directory. */
#define tpath(slot, name) tu_path(tmpdir, (slot), (name))

/* Creates a private temporary directory for one test. */
static void
setup(void)
{
	tu_mkdtemp(tmpdir, sizeof(tmpdir), "store");
}

/* Removes the temporary directory. */
static void
teardown(void)
{
	tu_rmtree(tmpdir);
}

/* Opens a new database of backend be (the_db) and adds one source. */
static struct st_store *
open_with_source(int be, struct st_source *src)
{
	struct fs_err err;
	struct st_store *st;

	snprintf(the_db, sizeof(the_db), "%s", tu_db(be, tmpdir, 0, "t.db"));
	st = st_open(the_db, ST_OPEN_CREATE, &err);

	ck_assert_msg(st != NULL, "%s", err.msg);
	memset(src, 0, sizeof(*src));
	snprintf(src->path, sizeof(src->path), "/var/log/x.log");
	src->head_sum = 42;
	src->head_len = 4096;
	ck_assert_int_eq(st_source_add(st, src, &err), 0);
	ck_assert_int_gt(src->id, 0);
	return st;
}

START_TEST(create_and_reopen)
{
	struct st_source src, got;
	struct fs_err err;
	struct st_store *st = open_with_source(_i, &src);

	st_close(st);
	st = st_open(the_db, ST_OPEN_READONLY, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	ck_assert_int_eq(st_source_find_path(st, "/var/log/x.log", NULL, &got, &err), 1);
	ck_assert_int_eq(got.id, src.id);
	ck_assert_int_eq(got.state, ST_SRC_PARTIAL);
	ck_assert_int_eq(st_source_find_path(st, "/nope", NULL, &got, &err), 0);
	st_close(st);
}
END_TEST

/* A log line where a database should be. */
static const char not_a_db[] = "this is not a database, it is a log line\n"
    "[1282327206:161331 msbflushthr:23667:bmap:bmap_flush:639] x\n";

/* Bad databases: each is refused with a message naming the file. */
START_TEST(refuse_foreign)
{
	static const char *const cases[] = { "text", "foreign", "newer", "missing-ro" };
	const char *path = tpath(1, "bad.db");
	struct fs_err err;
	struct st_store *st;
	char cmd[1200];
	int flags = ST_OPEN_CREATE;

	switch (_i) {
	case 0:
		tu_spit(path, "w", not_a_db, sizeof(not_a_db) - 1);
		break;
	case 1:
		/* a database made by someone else: a table of theirs */
		snprintf(cmd, sizeof(cmd), "sqlite3 %s 'CREATE TABLE theirs(x)' 2>/dev/null", path);
		if (system(cmd) != 0)
			return;		/* no sqlite3 shell: nothing to test */
		break;
	case 2:
		{
			struct st_store *o = st_open(path, ST_OPEN_CREATE, &err);

			ck_assert_ptr_nonnull(o);
			st_close(o);
			snprintf(cmd, sizeof(cmd), "sqlite3 %s 'PRAGMA user_version=99'"
			    " 2>/dev/null", path);
			if (system(cmd) != 0)
				return;		/* no sqlite3 shell: nothing to test */
		}
		break;
	case 3:
		flags = ST_OPEN_READONLY;
		path = tpath(1, "missing.db");
		break;
	}
	st = st_open(path, flags, &err);
	ck_assert_msg(st == NULL, "case %s opened", cases[_i]);
	ck_assert_msg(strstr(err.msg, path) != NULL, "case %s: '%s'", cases[_i], err.msg);
	if (_i == 2)
		ck_assert_msg(strstr(err.msg, "newer") != NULL, "%s", err.msg);
	if (_i == 0 || _i == 1)
		ck_assert_msg(strstr(err.msg, "not a flushscope database") != NULL, "%s",
		    err.msg);
}
END_TEST

START_TEST(readonly_file)
{
	struct st_source src;
	struct fs_err err;
	struct st_store *st = open_with_source(TU_SQLITE, &src);

	st_close(st);
	ck_assert_int_eq(chmod(tpath(0, "t.db"), 0444), 0);
	if (access(tpath(0, "t.db"), W_OK) == 0)
		return;		/* root: permissions do not apply */
	st = st_open(tpath(0, "t.db"), ST_OPEN_CREATE, &err);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err.msg, "read-only") != NULL, "%s", err.msg);
}
END_TEST

struct collect {
	int n;
	int64_t a[16];
	char s[16][160];
};

/* Collects RPC xids and thread names. */
static int
rpc_cb(void *arg, const union st_row *row_)
{
	const struct st_rpc *r = &row_->rpc;
	struct collect *c = arg;

	c->a[c->n] = r->xid;
	snprintf(c->s[c->n], sizeof(c->s[0]), "%s", r->thread ? r->thread : "-");
	c->n++;
	return 0;
}

/* Collects episode cycle counts and thread names. */
static int
ep_cb(void *arg, const union st_row *row_)
{
	const struct st_episode_row *r = &row_->episode;
	struct collect *c = arg;

	c->a[c->n] = (int64_t)r->ep.cycles;
	snprintf(c->s[c->n], sizeof(c->s[0]), "%s/%s", r->ep.thread, r->ep.cause);
	c->n++;
	return 0;
}

/* Collects series wasted counts (summed) per row. */
static int
series_cb(void *arg, const union st_row *row_)
{
	const struct st_series *r = &row_->series;
	struct collect *c = arg;

	c->a[c->n++] = (int64_t)r->wasted;
	return 0;
}

/* Counts write rows. */
static int
write_cb(void *arg, const union st_row *row_)
{
	const struct st_write *r = &row_->write;
	(void)r;
	((struct collect *)arg)->n++;
	return 0;
}

/* Stops after the first row. */
static int
stop_cb(void *arg, const union st_row *row_)
{
	const struct st_rpc *r = &row_->rpc;
	(void)r;
	(*(int *)arg)++;
	return 7;
}

START_TEST(batch_commit_and_query)
{
	struct st_source src;
	struct fs_err err;
	struct st_store *st = open_with_source(_i, &src);
	struct st_batch *b = st_batch_new();
	struct st_rpc r;
	struct st_episode ep;
	struct st_series se;
	struct st_filter f;
	struct collect c;
	int stops = 0;

	st_batch_add_thread(b, 0, "msbflushthr", 11, "23667", 5);
	st_batch_add_thread(b, 1, "msbflushrpcthr", 14, "23668", 5);
	memset(&r, 0, sizeof(r));
	r.tno = 0;
	r.ts_us = 1000000;
	r.kind = ST_RPC_SEND;
	r.xid = 1412;
	r.off = 1015808;
	r.sz = 32768;
	r.outstanding = -1;
	r.rc = -1;
	r.has_bmap = 1;
	r.fid = 0x80000002d907bULL;
	r.bno = 1;
	r.src_off = 100;
	st_batch_add_rpc(b, &r);
	r.tno = 1;
	r.kind = ST_RPC_DONE;
	r.src_off = 300;
	r.ts_us = 3000000;
	r.xid = 1413;
	st_batch_add_rpc(b, &r);
	st_batch_note_bmap(b, 0x80000002d907bULL, 1, 0x881330, 1000000);
	st_batch_note_bmap(b, 0x80000002d907bULL, 1, 0x881331, 2000000);
	memset(&ep, 0, sizeof(ep));
	ep.fid = 0x80000002d907bULL;
	ep.bno = 1;
	ep.start_us = 1000000;
	ep.end_us = 1004000;
	ep.cycles = 3;
	ep.period_us = 2160;
	ep.outstanding_min = ep.outstanding_max = 75;
	snprintf(ep.cause, sizeof(ep.cause), "inflight");
	st_batch_add_episode(b, 0, &ep);
	memset(&se, 0, sizeof(se));
	se.tno = 0;
	se.sec = 1;
	se.wasted = 3;
	se.max_outstanding = 75;
	st_batch_add_series(b, &se);
	st_batch_add_series(b, &se);	/* same key: added up */
	src.done_off = 400;
	src.lines = 4;
	src.events[PS_EV_RPC_SEND] = 1;
	st_batch_set_source(b, &src);
	ck_assert_int_gt((int)st_batch_rows(b), 0);
	ck_assert_msg(st_commit(st, b, &err) == 0, "%s", err.msg);

	st_filter_init(&f);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_RPCS, &f, rpc_cb, &c), 0);
	ck_assert_int_eq(c.n, 2);
	ck_assert_int_eq(c.a[0], 1412);
	ck_assert_str_eq(c.s[0], "msbflushthr");
	ck_assert_str_eq(c.s[1], "msbflushrpcthr");

	/* filters: thread, time */
	f.thread = "msbflushrpcthr";
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_RPCS, &f, rpc_cb, &c), 0);
	ck_assert_int_eq(c.n, 1);
	ck_assert_int_eq(c.a[0], 1413);
	st_filter_init(&f);
	f.until_us = 2000000;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_RPCS, &f, rpc_cb, &c), 0);
	ck_assert_int_eq(c.n, 1);
	ck_assert_int_eq(c.a[0], 1412);
	st_filter_init(&f);
	ck_assert_int_eq(tu_walk(st, ST_RPCS, &f, stop_cb, &stops), 7);
	ck_assert_int_eq(stops, 1);

	/* episodes by fid/bno */
	f.has_fid = 1;
	f.fid = 0x80000002d907bULL;
	f.bno = 1;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_EPISODES, &f, ep_cb, &c), 0);
	ck_assert_int_eq(c.n, 1);
	ck_assert_int_eq(c.a[0], 3);
	ck_assert_str_eq(c.s[0], "msbflushthr/inflight");
	f.bno = 2;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_EPISODES, &f, ep_cb, &c), 0);
	ck_assert_int_eq(c.n, 0);

	st_filter_init(&f);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_SERIES, &f, series_cb, &c), 0);
	ck_assert_int_eq(c.n, 1);
	ck_assert_int_eq(c.a[0], 6);

	/* replacing derived rows empties episodes and series */
	st_batch_clear(b);
	st_batch_replace_derived(b);
	st_batch_set_source(b, &src);
	ck_assert_int_eq(st_commit(st, b, &err), 0);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_EPISODES, &f, ep_cb, &c), 0);
	ck_assert_int_eq(c.n, 0);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_RPCS, &f, rpc_cb, &c), 0);
	ck_assert_int_eq(c.n, 2);

	{
		struct st_source got;

		ck_assert_int_eq(st_source_find_path(st, src.path, NULL, &got, &err), 1);
		ck_assert_uint_eq(got.done_off, 400);
		ck_assert_uint_eq(got.events[PS_EV_RPC_SEND], 1);
	}
	st_batch_free(b);
	st_close(st);
}
END_TEST

/*
 * Checks that the rows of a SQLite database's table, in id order, have
 * strictly increasing values of col (the order they were added in), n of them.
 */
static void
assert_id_order(const char *path, const char *table, const char *col, int n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char sql[128];
	int64_t last = INT64_MIN;
	int k = 0;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s ORDER BY id", col, table);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
	    sqlite3_errmsg(db));
	while (sqlite3_step(s) == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(s, 0);

		ck_assert_msg(v > last, "%s: id order is not the order added (%" PRId64
		    " after %" PRId64 ")", table, v, last);
		last = v;
		k++;
	}
	ck_assert_msg(k == n, "%s: %d rows, want %d", table, k, n);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/*
 * Every per-line row kind and episodes, with each optional column present
 * in some rows and absent (NULL) in others, in batches of 0, 1 and many
 * rows: a SQLite database (rows fed through its virtual tables) and a
 * PostgreSQL one (rows sent with COPY) dump the same text, and SQLite's ids
 * follow the order the rows were added in (the dump is by offset).
 */
START_TEST(rows_both_backends)
{
	static const size_t counts[][5] = { { 70, 33, 32, 1, 5 }, { 0, 1, 0, 2, 0 } };
	char *out[TU_NBACKENDS];
	int be;

	for (be = 0; be < TU_NBACKENDS; be++) {
		struct st_source src;
		struct st_store *st = open_with_source(be, &src);
		struct st_batch *b = st_batch_new();
		struct fs_err err;
		uint64_t off = 0;
		size_t c, i;

		st_batch_add_thread(b, 0, "msflushthr0", 11, "7f1c1affd700", 12);
		for (c = 0; c < 2; c++) {
			for (i = 0; i < counts[c][0]; i++) {
				struct st_rpc r;

				memset(&r, 0, sizeof(r));
				r.src_off = off++;
				r.tno = i % 3 == 0 ? -1 : 0;
				r.ts_us = i % 4 == 0 ? INT64_MIN : (int64_t)(1291000000000000 + i);
				r.kind = i % 2 ? ST_RPC_DONE : ST_RPC_SEND;
				r.xid = i % 5 == 0 ? -1 : (int64_t)(i * 7);
				r.off = i % 6 == 0 ? -1 : (int64_t)(i * 4096);
				r.sz = i % 7 == 0 ? -1 : 32768;
				r.outstanding = i % 2 ? -1 : (int64_t)i;
				r.rc = i % 9 == 0 ? -1 : 0;
				r.has_bmap = i % 3 != 1;
				r.fid = 0x100000000000000ULL + i;
				r.bno = (int64_t)i % 4;
				r.req_addr = i % 2 ? 0 : 0x7f0000001000ULL + i;
				r.bwc_addr = i % 3 ? 0 : 0x7f0000002000ULL + i;
				st_batch_add_rpc(b, &r);
			}
			for (i = 0; i < counts[c][1]; i++) {
				struct st_write w;

				memset(&w, 0, sizeof(w));
				w.src_off = off++;
				w.tno = i % 2 ? 0 : -1;
				w.ts_us = (int64_t)i;
				w.has_bmap = i % 4 != 0;
				w.fid = 0x200000000ULL + i;
				w.bno = (int64_t)i;
				w.bmap_addr = i % 3 ? 0x7f0000003000ULL : 0;
				w.biorq_addr = i % 5 ? 0x7f0000004000ULL + i : 0;
				w.off = i % 2 ? -1 : (int64_t)i * 512;
				w.len = i % 3 ? -1 : 512;
				w.msg_id = (int)(i % 4);
				st_batch_add_write(b, &w);
			}
			for (i = 0; i < counts[c][2]; i++) {
				struct st_state x;

				memset(&x, 0, sizeof(x));
				x.src_off = off++;
				x.tno = 0;
				x.ts_us = i % 2 ? INT64_MIN : (int64_t)i;
				x.fid = 0x300000000ULL + i;
				x.bno = (int64_t)i % 2;
				x.bmap_addr = i % 2 ? 0 : 0x7f0000005000ULL;
				x.kind = i % 2 ? PS_EV_CLEAN : PS_EV_WRITE_READY;
				x.msg_id = (int)i % 9;
				x.flags = 0x40u | (uint32_t)i;
				x.opcnt = i % 3 ? -1 : (int32_t)i;
				st_batch_add_state(b, &x);
			}
			for (i = 0; i < counts[c][3]; i++) {
				struct st_forced f;

				memset(&f, 0, sizeof(f));
				f.src_off = off++;
				f.tno = i % 2 ? -1 : 0;
				f.ts_us = (int64_t)i;
				f.has_bmap = (int)(i % 2);
				f.fid = 0x400000000ULL;
				f.bno = 3;
				f.biorq_addr = i % 2 ? 0 : 0x7f0000006000ULL;
				st_batch_add_forced(b, &f);
			}
			for (i = 0; i < counts[c][4]; i++) {
				struct st_episode e;

				memset(&e, 0, sizeof(e));
				snprintf(e.thread, sizeof(e.thread), "msflushthr0");
				snprintf(e.tid, sizeof(e.tid), "7f1c1affd700");
				e.fid = 0x500000000ULL + i;
				e.bno = (uint32_t)i;
				e.addr = 0x7f0000007000ULL;
				e.start_us = (int64_t)i * 1000;
				e.end_us = e.start_us + 999;
				e.cycles = 10 + i;
				e.period_us = 2000;
				e.outstanding_min = i % 2 ? -1 : 1;
				e.outstanding_max = i % 2 ? -1 : 8;
				snprintf(e.cause, sizeof(e.cause), i % 2 ? "throttled" : "inflight");
				e.first_off = i;
				e.last_off = i + 100;
				st_batch_add_episode(b, i % 2 ? -1 : 0, &e);
			}
			src.done_off = off;
			st_batch_set_source(b, &src);
			ck_assert_msg(st_commit(st, b, &err) == 0, "%s: %s", tu_backend_name(be),
			    err.msg);
			st_batch_clear(b);
		}
		st_batch_free(b);
		st_close(st);
		if (be == TU_SQLITE) {
			assert_id_order(the_db, "rpcs", "src_off", 70);
			assert_id_order(the_db, "writes", "src_off", 34);
			assert_id_order(the_db, "bmap_states", "src_off", 32);
			assert_id_order(the_db, "forced", "src_off", 3);
			assert_id_order(the_db, "episodes", "first_off", 5);
		}
		out[be] = tu_dump_db(the_db);
		ck_assert_msg(strstr(out[be], "\nepisodes|") != NULL, "%s: no episodes in\n%s",
		    tu_backend_name(be), out[be]);
	}
	if (strcmp(out[TU_SQLITE], out[TU_PG]) != 0) {
		const char *a = out[TU_SQLITE], *p = out[TU_PG];

		while (*a == *p) {	/* back to the start of the first line that differs */
			a++;
			p++;
		}
		while (a > out[TU_SQLITE] && a[-1] != '\n') {
			a--;
			p--;
		}
		ck_abort_msg("sqlite and postgresql dumps differ:\n%.200s\n---\n%.200s", a, p);
	}
	for (be = 0; be < TU_NBACKENDS; be++)
		free(out[be]);
}
END_TEST

/*
 * The bmaps rows merge every batch's notes: the latest address, the
 * earliest first and latest last time (a note without a time changes
 * neither), whatever order the bmaps were noted in.
 */
START_TEST(bmaps_merge)
{
	static const struct {
		int batch;
		uint64_t fid;
		uint32_t bno, addr;
		int64_t ts;
	} notes[] = {
		{ 0, 0x30, 1, 0x10, 2000 }, { 0, 0x10, 7, 0x20, INT64_MIN }, { 0, 0x20, 2, 0x30, 500 },
		{ 0, 0x10, 3, 0x40, 900 }, { 1, 0x10, 7, 0x21, 4000 }, { 1, 0x30, 1, 0x11, 1000 },
		{ 1, 0x20, 2, 0x31, INT64_MIN }, { 1, 0x30, 1, 0x12, 3000 },
	};
	static const char want[] = "bmaps|16|3|64|900|900\n" "bmaps|16|7|33|4000|4000\n"
	    "bmaps|32|2|49|500|500\n" "bmaps|48|1|18|1000|3000\n";
	struct st_source src;
	struct st_store *st = open_with_source(_i, &src);
	struct st_batch *b = st_batch_new();
	struct fs_err err;
	char *dump, *got;
	size_t i, k = 0;
	int n;

	for (n = 0; n < 2; n++) {
		for (i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
			if (notes[i].batch == n)
				st_batch_note_bmap(b, notes[i].fid, notes[i].bno, notes[i].addr,
				    notes[i].ts);
		st_batch_set_source(b, &src);
		ck_assert_msg(st_commit(st, b, &err) == 0, "%s", err.msg);
		st_batch_clear(b);
	}
	st_batch_free(b);
	st_close(st);
	dump = tu_dump_db(the_db);
	got = calloc(1, strlen(dump) + 1);
	ck_assert_ptr_nonnull(got);
	for (i = 0; dump[i] != '\0'; i++) {	/* the bmaps lines only */
		size_t len = strcspn(dump + i, "\n") + 1;

		if (strncmp(dump + i, "bmaps|", 6) == 0) {
			memcpy(got + k, dump + i, len);
			k += len;
		}
		i += len - 1;
	}
	ck_assert_msg(strcmp(got, want) == 0, "%s: bmaps\n%s\nwant\n%s", tu_backend_name(_i),
	    got, want);
	free(got);
	free(dump);
}
END_TEST

/* The same rows committed in different batch splits dump identically. */
START_TEST(dump_canonical)
{
	struct fs_err err;
	char *out[2];
	size_t outn[2];
	int k;

	for (k = 0; k < 2; k++) {
		struct st_source src;
		struct st_store *st;
		struct st_batch *b = st_batch_new();
		FILE *mf;
		int i;
		char name[16];

		snprintf(name, sizeof(name), "d%d.db", k);
		st = st_open(tu_db(_i, tmpdir, 2, name), ST_OPEN_CREATE, &err);
		ck_assert_ptr_nonnull(st);
		memset(&src, 0, sizeof(src));
		snprintf(src.path, sizeof(src.path), "x");
		ck_assert_int_eq(st_source_add(st, &src, &err), 0);
		for (i = 0; i < 10; i++) {
			struct st_write w;

			memset(&w, 0, sizeof(w));
			w.src_off = (uint64_t)i * 10;
			w.tno = -1;
			w.off = w.len = -1;
			w.ts_us = i;
			st_batch_add_write(b, &w);
			src.done_off = w.src_off + 10;
			if (k == 1 && i % 3 == 2) {
				st_batch_set_source(b, &src);
				ck_assert_int_eq(st_commit(st, b, &err), 0);
				st_batch_clear(b);
			}
		}
		st_batch_set_source(b, &src);
		ck_assert_int_eq(st_commit(st, b, &err), 0);
		mf = open_memstream(&out[k], &outn[k]);
		ck_assert_int_eq(st_dump(st, mf, &err), 0);
		fclose(mf);
		st_batch_free(b);
		st_close(st);
	}
	ck_assert_uint_gt(outn[0], 100);
	ck_assert_str_eq(out[0], out[1]);
	free(out[0]);
	free(out[1]);
}
END_TEST

/* Collects RPC bwc addresses. */
static int
bwc_cb(void *arg, const union st_row *row_)
{
	struct collect *c = arg;

	c->a[c->n++] = (int64_t)row_->rpc.bwc_addr;
	return 0;
}

/* Collects thread figures: sleep, line gap and era as "sleep/line/era". */
static int
tstat_cb(void *arg, const union st_row *row_)
{
	const struct st_thread_stats *t = &row_->thread.st;
	struct collect *c = arg;

	snprintf(c->s[c->n], sizeof(c->s[0]), "%d:%" PRId64 "/%" PRId64 "/%c", row_->thread.tno,
	    t->sleep_p50_us, t->line_p50_us, t->era ? t->era : '-');
	c->n++;
	return 0;
}

/*
 * Schema 4's columns round-trip on both backends: an RPC's bwc, a flush
 * thread's pass timing and era (absent: NULL, read back as 0 / -1); a
 * thread's figures written again replace the old ones.
 */
START_TEST(v4_columns)
{
	struct st_source src;
	struct fs_err err;
	struct st_store *st = open_with_source(_i, &src);
	struct st_batch *b = st_batch_new();
	struct st_thread_stats ts;
	struct st_rpc r;
	struct collect c;
	int k;

	st_batch_add_thread(b, 0, "msflushthr0", 11, "7f1c1affd700", 12);
	st_batch_add_thread(b, 1, "msflushthr3", 11, "7f1c1a7fc700", 12);
	memset(&r, 0, sizeof(r));
	r.xid = r.off = r.sz = r.outstanding = r.rc = r.bno = -1;
	r.src_off = 10;
	r.kind = ST_RPC_SEND;
	r.bwc_addr = 0x7f1c0c0012a0ULL;
	st_batch_add_rpc(b, &r);
	r.src_off = 20;
	r.bwc_addr = 0;
	st_batch_add_rpc(b, &r);
	for (k = 0; k < 2; k++) {
		memset(&ts, 0, sizeof(ts));
		ts.first_us = ts.last_us = ts.first_pass_us = INT64_MIN;
		ts.period_p50_us = ts.period_p99_us = -1;
		ts.sleep_p50_us = k == 0 ? 2116 : -1;
		ts.line_p50_us = k == 0 ? 14 : -1;
		ts.era = k == 0 ? 'A' : 0;
		st_batch_add_thread_stats(b, k, &ts);
	}
	src.done_off = 30;
	st_batch_set_source(b, &src);
	ck_assert_msg(st_commit(st, b, &err) == 0, "%s", err.msg);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_RPCS, NULL, bwc_cb, &c), 0);
	ck_assert_int_eq(c.n, 2);
	ck_assert_int_eq(c.a[0], 0x7f1c0c0012a0LL);
	ck_assert_int_eq(c.a[1], 0);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_THREAD_STATS, NULL, tstat_cb, &c), 0);
	ck_assert_int_eq(c.n, 2);
	ck_assert_str_eq(c.s[0], "0:2116/14/A");
	ck_assert_str_eq(c.s[1], "1:-1/-1/-");

	/* written again (a run that re-reads the source): replaced */
	st_batch_clear(b);
	ts.sleep_p50_us = 99000;
	ts.line_p50_us = 3;
	ts.era = 'C';
	st_batch_add_thread_stats(b, 1, &ts);
	st_batch_set_source(b, &src);
	ck_assert_msg(st_commit(st, b, &err) == 0, "%s", err.msg);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_THREAD_STATS, NULL, tstat_cb, &c), 0);
	ck_assert_str_eq(c.s[1], "1:99000/3/C");
	st_batch_free(b);
	st_close(st);
}
END_TEST

/* A batch expecting a stale offset is refused and writes nothing. */
START_TEST(expect_offset)
{
	struct st_source src, got;
	struct fs_err err;
	struct st_store *st = open_with_source(_i, &src);
	struct st_batch *b = st_batch_new();
	struct st_write w;
	struct st_filter f;
	struct collect c;

	memset(&w, 0, sizeof(w));
	w.tno = -1;
	w.off = w.len = -1;
	st_batch_add_write(b, &w);
	src.done_off = 100;
	st_batch_expect_offset(b, 0);
	st_batch_set_source(b, &src);
	ck_assert_msg(st_commit(st, b, &err) == 0, "%s", err.msg);
	/* a second writer that also started from 0 */
	src.done_off = 200;
	st_batch_expect_offset(b, 0);
	st_batch_set_source(b, &src);
	ck_assert_int_eq(st_commit(st, b, &err), -1);
	ck_assert_msg(strstr(err.msg, "another process") != NULL, "%s", err.msg);
	ck_assert_int_eq(st_source_find_path(st, src.path, NULL, &got, &err), 1);
	ck_assert_uint_eq(got.done_off, 100);
	st_filter_init(&f);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_WRITES, &f, write_cb, &c), 0);
	ck_assert_int_eq(c.n, 1);
	/* the right expectation goes through */
	st_batch_expect_offset(b, 100);
	ck_assert_int_eq(st_commit(st, b, &err), 0);
	st_batch_free(b);
	st_close(st);
}
END_TEST

/* Loads an SQL text into a new SQLite file with the sqlite3 shell (its path in slot). */
static const char *
sqlite_from(const char *sql_file, int slot, const char *name)
{
	const char *path = tpath(slot, name);
	char cmd[2400];

	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' < '%s'", path, tu_testdata(sql_file));
	ck_assert_int_eq(system(cmd), 0);
	return path;
}

/* Runs the binary under test with a shell command line; its status. */
static int
sh(const char *fmt, const char *a, const char *b)
{
	char cmd[3000], line[2800];

	snprintf(line, sizeof(line), fmt, a, b);
	snprintf(cmd, sizeof(cmd), "'%s' %s", tu_fsbin(), line);
	return WEXITSTATUS(system(cmd));
}

/*
 * Cuts the rows of table in a dump (st_dump's "table|f1|f2|...") to their
 * first keep fields (the table's name is field 0), emptying field blank
 * (-1: none).  In place.
 */
static void
dump_cut(char *dump, const char *table, int keep, int blank)
{
	size_t tl = strlen(table);
	char *r = dump, *w = dump;

	while (*r != '\0') {
		size_t n = strcspn(r, "\n");
		int row = strncmp(r, table, tl) == 0 && r[tl] == '|';
		int f = 0;
		size_t i;

		for (i = 0; i < n; i++) {
			if (r[i] == '|')
				f++;
			if (row && (f >= keep || (f == blank && r[i] != '|')))
				continue;
			*w++ = r[i];
		}
		r += n;
		if (*r == '\n')
			*w++ = *r++;
	}
	*w = '\0';
}

/*
 * A database of schema 2 (made by the flushscope before schema 3) opens,
 * is migrated once written to, and then holds the rows a new database
 * given the same log holds (but for what schema 4 added: each thread's pass
 * timing and era, an RPC's bwc, NULL in the migrated rows; and the bmap of
 * HEAD's RPCs, whose fid=%lx:%lu the flushscope of schema 2 read as the
 * bmap number); read-only it is refused until then.
 */
START_TEST(migrate_schema2)
{
	const char *old = sqlite_from("db/schema2.sql", 3, "v2.db"), *fresh = tpath(4, "new.db");
	struct fs_err err;
	struct st_store *st;
	char *a, *b;

	st = st_open(old, ST_OPEN_READONLY, &err);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err.msg, "needs migrating") != NULL, "%s", err.msg);
	st = st_open(old, ST_OPEN_CREATE, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	st_close(st);
	ck_assert_int_eq(sh("ingest -q -d '%s' - < '%s'", fresh,
	    tu_testdata("spins/era-z.log")), 0);
	a = tu_dump_db(old);
	b = tu_dump_db(fresh);
	ck_assert_msg(strstr(a, "|unknown\n") != NULL, "no client 'unknown':\n%.500s", a);
	ck_assert_msg(strstr(b, "|2800|10|Z\n") != NULL, "no thread timing:\n%s", b);
	dump_cut(a, "thread_stats", 13, -1);
	dump_cut(b, "thread_stats", 13, -1);
	dump_cut(a, "rpcs", 14, 12);
	dump_cut(b, "rpcs", 14, 12);
	/* every row but the source's bookkeeping (how a stream's tail is kept changed) */
	ck_assert_msg(strcmp(strchr(a, '\n'), strchr(b, '\n')) == 0, "the migrated rows differ");
	free(a);
	free(b);
}
END_TEST

/* One row of each kind, for batch_bytes_rows. */
static void
add_thread(struct st_batch *b)
{
	st_batch_add_thread(b, 0, "msbflushthr", 11, "1", 1);
}

static void
add_bmap(struct st_batch *b)
{
	static uint64_t fid;		/* a new bmap each time: one row per bmap */

	st_batch_note_bmap(b, ++fid, 2, 3, 4);
}

static void
add_rpc(struct st_batch *b)
{
	struct st_rpc r = { 0 };

	st_batch_add_rpc(b, &r);
}

static void
add_write(struct st_batch *b)
{
	struct st_write w = { 0 };

	st_batch_add_write(b, &w);
}

static void
add_state(struct st_batch *b)
{
	struct st_state x = { 0 };

	st_batch_add_state(b, &x);
}

static void
add_forced(struct st_batch *b)
{
	struct st_forced f = { 0 };

	st_batch_add_forced(b, &f);
}

static void
add_unparsed(struct st_batch *b)
{
	st_batch_add_unparsed(b, 0, 1, "x", 1);
}

static void
add_line(struct st_batch *b)
{
	st_batch_add_line(b, 0, 1, "x", 1);
}

static void
add_episode(struct st_batch *b)
{
	struct st_episode e = { 0 };

	st_batch_add_episode(b, 0, &e);
}

static void
add_series(struct st_batch *b)
{
	struct st_series x = { 0 };

	st_batch_add_series(b, &x);
}

static void
add_bstat(struct st_batch *b)
{
	struct st_bmap_stat x = { 0 };

	st_batch_add_bmap_stat(b, &x);
}

static void
add_tstats(struct st_batch *b)
{
	struct st_thread_stats t = { 0 };

	st_batch_add_thread_stats(b, 0, &t);
}

static const struct {
	const char *kind;
	void (*add)(struct st_batch *);
} batch_rows[] = {
	{ "thread", add_thread }, { "bmap", add_bmap }, { "rpc", add_rpc }, { "write", add_write },
	{ "state", add_state }, { "forced", add_forced }, { "unparsed", add_unparsed },
	{ "line", add_line }, { "episode", add_episode }, { "series", add_series },
	{ "bmap_stat", add_bstat }, { "thread_stats", add_tstats },
};

/*
 * Every kind of row counts in st_batch_bytes (ingest closes a batch at
 * IG_BATCH_BYTES_MAX of it: an uncounted kind grows a batch past that, up
 * to --commit-lines lines).  Each row is at least 16 bytes beside any text
 * it copies (a thread's name and tid: 14 bytes here), so 1,000 more rows
 * add at least 16,000.
 */
START_TEST(batch_bytes_rows)
{
	struct st_batch *b = st_batch_new();
	size_t before;
	int i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < 1000; i++)
		batch_rows[_i].add(b);
	before = st_batch_bytes(b);
	for (i = 0; i < 1000; i++)
		batch_rows[_i].add(b);
	ck_assert_msg(st_batch_bytes(b) >= before + 16000, "%s rows are not counted "
	    "(%zu bytes, then %zu)", batch_rows[_i].kind, before, st_batch_bytes(b));
	st_batch_free(b);
}
END_TEST

/*
 * A cleared batch keeps the memory its rows used, so a steady stream
 * reuses it (also when an empty batch is cleared again, as ingest does),
 * and gives back what a quieter batch left unused: after 20,000 rows of a
 * kind and then 100, it holds under a quarter of what it held (before, it
 * kept room for every kind's busiest batch at once: 63 MB peak on an
 * ingest of a synth log dense in writes and closes).
 */
START_TEST(batch_clear_memory)
{
	struct st_batch *b = st_batch_new();
	size_t busy, quiet;
	int i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < 20000; i++)
		batch_rows[_i].add(b);
	st_batch_clear(b);
	busy = st_batch_held(b);
	ck_assert_msg(busy >= 20000 * 16, "%s: %zu bytes held after a full batch",
	    batch_rows[_i].kind, busy);
	st_batch_clear(b);
	ck_assert_msg(st_batch_held(b) == busy, "%s: %zu bytes held, then %zu once cleared again",
	    batch_rows[_i].kind, busy, st_batch_held(b));
	for (i = 0; i < 20000; i++)
		batch_rows[_i].add(b);
	ck_assert_msg(st_batch_held(b) == busy, "%s: %zu bytes held, then %zu for the same rows",
	    batch_rows[_i].kind, busy, st_batch_held(b));
	st_batch_clear(b);
	for (i = 0; i < 100; i++)
		batch_rows[_i].add(b);
	st_batch_clear(b);
	quiet = st_batch_held(b);
	ck_assert_msg(quiet < busy / 4, "%s: %zu bytes held after 100 rows, %zu after 20,000",
	    batch_rows[_i].kind, quiet, busy);
	st_batch_free(b);
}
END_TEST

/* PRAGMA page_size of a SQLite file. */
static int
page_size(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int v = -1;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/*
 * A new SQLite database has 16 KiB pages (fewer writes a row); an existing
 * one keeps its own page size and is written as before.
 */
START_TEST(sqlite_page_size)
{
	const char *old = sqlite_from("db/schema2.sql", 3, "v2.db"), *fresh = tpath(4, "new.db");
	const char *log = tu_testdata("spins/era-z.log");

	ck_assert_int_eq(page_size(old), 4096);
	ck_assert_int_eq(sh("ingest -q -d '%s' '%s'", fresh, log), 0);
	ck_assert_int_eq(sh("ingest -q -d '%s' '%s'", old, log), 0);
	ck_assert_int_eq(page_size(fresh), 16384);
	ck_assert_int_eq(page_size(old), 4096);
	ck_assert_int_eq(sh("spins -d '%s' --fail-on-spin%s > /dev/null", old, ""), 1);
}
END_TEST

/* The size of a file; 0 when it does not exist. */
static long long
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

/*
 * The checkpointer (store/sqlite_ckpt.h) copies the WAL back in its own
 * thread, and a writer that never waits still keeps the WAL under its cap:
 * 200 commits of about 52 pages each (10,400 frames, five times the cap)
 * never leave a WAL larger than the cap and one commit.  All rows are
 * there afterwards, and closing removes the WAL.
 */
START_TEST(sqlite_checkpointer)
{
	const char *path = tpath(0, "ck.db");
	char wal[1100];
	struct sq_ckpt_stats cs;
	struct sq_ckpt *ck;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long cap = (long long)(SQ_CKPT_CAP + 60) * (4096 + 24) + 32, most = 0;
	int i, j;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=NORMAL; CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)",
	    NULL, NULL, NULL), SQLITE_OK);
	ck_assert_ptr_nonnull(ck = sq_ckpt_attach(db));
	ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO t(v) VALUES(zeroblob(4000))", -1,
	    &s, NULL), SQLITE_OK);
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
		for (j = 0; j < 50; j++) {
			ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
			sqlite3_reset(s);
		}
		ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
		if (file_size(wal) > most)
			most = file_size(wal);
	}
	sqlite3_finalize(s);
	sq_ckpt_stats(ck, &cs);
	ck_assert_msg(most > (long long)SQ_CKPT_START * 4096 && most <= cap,
	    "WAL peaked at %lld bytes; cap %lld", most, cap);
	ck_assert_uint_ge(cs.asked, 1);
	ck_assert_uint_eq(cs.background, cs.asked);
	ck_assert_msg(cs.background_done >= 1, "none of the thread's %llu checkpoints copied",
	    (unsigned long long)cs.background);
	sq_ckpt_detach(ck);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	ck_assert_int_eq(file_size(wal), 0);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*), sum(length(v)) FROM t", -1,
	    &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(s, 0), 10000);
	ck_assert_int_eq(sqlite3_column_int64(s, 1), 40000000);
	sqlite3_finalize(s);
	sqlite3_close(db);
}
END_TEST

/*
 * A database of schema 1 migrates through 2 to 3: its per-bmap counters
 * move to second 0 (totals kept), every other row stays, spins reads it.
 */
START_TEST(migrate_schema1)
{
	const char *old = sqlite_from("db/schema1.sql", 3, "v1.db");
	const char *ref = sqlite_from("db/schema2.sql", 5, "v2.db");
	struct fs_err err;
	struct st_store *st;
	char *a, *b, *p;

	st = st_open(old, ST_OPEN_CREATE, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	st_close(st);
	st = st_open(ref, ST_OPEN_CREATE, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	st_close(st);
	a = tu_dump_db(old);
	b = tu_dump_db(ref);
	/* the same episodes, threads, series and RPCs */
	for (p = strstr(b, "\nepisodes|"); p != NULL; p = strstr(p + 1, "\nepisodes|")) {
		char row[512];

		snprintf(row, sizeof(row), "%.*s", (int)strcspn(p + 1, "\n"), p + 1);
		ck_assert_msg(strstr(a, row) != NULL, "migrated lacks %s", row);
	}
	ck_assert_msg(strstr(a, "\nbmap_series|1|") != NULL, "no bmap series:\n%s", a);
	ck_assert_int_eq(sh("spins -d '%s' --by bmap --format csv > /dev/null%s", old, ""), 0);
	free(a);
	free(b);
}
END_TEST

/* Runs a shell command; its exit status. */
static int
shell(const char *fmt, const char *a, const char *b)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return WEXITSTATUS(system(cmd));
}

/*
 * A database of schema 3 (made by the flushscope before schema 4) is
 * refused read-only, migrated once opened for writing, and then holds
 * every row and column it held, unchanged (compared with a copy left at
 * schema 3); schema 4's columns are NULL (unknown: a thread's timing -1,
 * its era 0, an RPC's bwc 0), and a log ingested next has them.
 */
START_TEST(migrate_schema3)
{
	const char *old = sqlite_from("db/schema3.sql", 3, "v3.db");
	const char *ref = sqlite_from("db/schema3.sql", 5, "v3-ref.db");
	struct fs_err err;
	struct st_store *st;
	struct collect c;

	st = st_open(old, ST_OPEN_READONLY, &err);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err.msg, "schema version 3 needs migrating to 4") != NULL, "%s",
	    err.msg);
	st = st_open(old, ST_OPEN_CREATE, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	st_close(st);
	/* each table of schema 3, its columns of schema 3, in both */
	ck_assert_int_eq(shell("for t in $(sqlite3 '%2$s' \"SELECT name FROM sqlite_master"
	    " WHERE type = 'table'\"); do c=$(sqlite3 '%2$s' \"SELECT group_concat(name)"
	    " FROM pragma_table_info('$t')\"); q=\"SELECT $c FROM $t ORDER BY 1, 2\";"
	    " sqlite3 '%2$s' \"$q\" > '%2$s.txt' && sqlite3 '%1$s' \"$q\" > '%1$s.txt' &&"
	    " cmp -s '%2$s.txt' '%1$s.txt' || { echo \"$t differs\" >&2; exit 1; }; done",
	    old, ref), 0);
	ck_assert_int_eq(shell("test \"$(sqlite3 '%1$s' 'PRAGMA user_version')\" = 4 &&"
	    " test \"$(sqlite3 '%1$s' 'SELECT count(*) FROM thread_stats WHERE era IS NULL')\" = 1"
	    " && test \"$(sqlite3 '%1$s' 'SELECT count(*) FROM rpcs WHERE bwc IS NULL')\" = 1",
	    old, ""), 0);
	st = st_open(old, ST_OPEN_READONLY, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_THREAD_STATS, NULL, tstat_cb, &c), 0);
	ck_assert_int_eq(c.n, 1);
	ck_assert_str_eq(c.s[0], "1:-1/-1/-");
	st_close(st);
	/* what is ingested into it now has schema 4's figures */
	ck_assert_int_eq(sh("ingest -q -d '%s' '%s'", old, tu_testdata("seed-excerpt.log")), 0);
	st = st_open(old, ST_OPEN_READONLY, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_THREAD_STATS, NULL, tstat_cb, &c), 0);
	ck_assert_int_eq(c.n, 2);
	ck_assert_str_eq(c.s[1], "0:2116/14/A");
	st_close(st);
}
END_TEST

/*
 * PostgreSQL: a server database of schema 3 (a new one taken back: schema
 * 4's columns dropped, its version 3) is refused read-only and migrated
 * when opened for writing; the columns come back, NULL for the old rows.
 */
START_TEST(pg_migrate_schema3)
{
	const char *db = tu_db(TU_PG, tmpdir, 0, "v3");
	struct fs_err err;
	struct st_store *st;
	struct collect c;

	ck_assert_int_eq(sh("ingest -q -d '%s' '%s'", db, tu_testdata("seed-excerpt.log")), 0);
	tu_pg_sql(db, "ALTER TABLE thread_stats DROP COLUMN sleep_p50_us,"
	    " DROP COLUMN line_p50_us, DROP COLUMN era; ALTER TABLE rpcs DROP COLUMN bwc;"
	    " UPDATE fs_meta SET value = '3' WHERE key = 'schema_version'");
	st = st_open(db, ST_OPEN_READONLY, &err);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err.msg, "schema version 3 needs migrating to 4") != NULL, "%s",
	    err.msg);
	st = st_open(db, ST_OPEN_CREATE, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_THREAD_STATS, NULL, tstat_cb, &c), 0);
	ck_assert_int_eq(c.n, 1);
	ck_assert_str_eq(c.s[0], "0:-1/-1/-");
	st_close(st);
	/* ingested again from its start (a new source): the figures are stored */
	ck_assert_int_eq(sh("ingest -q -d '%s' - < '%s'", db, tu_testdata("seed-excerpt.log")), 0);
	st = st_open(db, ST_OPEN_READONLY, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tu_walk(st, ST_THREAD_STATS, NULL, tstat_cb, &c), 0);
	ck_assert_int_eq(c.n, 2);
	ck_assert_str_eq(c.s[1], "0:2116/14/A");
	st_close(st);
}
END_TEST

/* A claim based on a source that a commit moved meanwhile fails with EAGAIN. */
START_TEST(claim_stale)
{
	struct st_source src, got;
	struct fs_err err;
	struct st_store *st = open_with_source(_i, &src);
	struct st_batch *b = st_batch_new();
	uint64_t run;

	src.done_off = 10;
	st_batch_set_source(b, &src);
	ck_assert_msg(st_commit(st, b, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(st_source_claim(st, src.id, 0, &run, &err), -1);
	ck_assert_int_eq(err.code, EAGAIN);
	ck_assert_int_eq(st_source_claim(st, src.id, 10, &run, &err), 0);
	ck_assert_int_eq(st_source_find_path(st, src.path, NULL, &got, &err), 1);
	ck_assert_uint_eq(got.run_id, run);
	/* a client names a source's look-up */
	ck_assert_int_eq(st_source_find_path(st, src.path, "nosuchclient", &got, &err), 0);
	ck_assert_int_eq(st_source_find_path(st, src.path, "unknown", &got, &err), 1);
	st_batch_free(b);
	st_close(st);
}
END_TEST

/* Transaction body: adds the source at arg, then fails (the transaction rolls back). */
static int
add_then_fail(void *arg, struct st_store *st, struct fs_err *err)
{
	if (st_source_insert(st, arg, err) != 0)
		return -1;
	return fs_err_set(err, EINTR, "killed");
}

/*
 * A source added in a transaction that rolled back (an ingest killed while
 * deciding) leaves no gap: the next source gets the id it would have had,
 * so a resumed database equals an uninterrupted one.  PostgreSQL's identity
 * sequence gave it id 2.
 */
START_TEST(source_id_after_rollback)
{
	struct st_source src, other;
	struct fs_err err;
	struct st_store *st;

	snprintf(the_db, sizeof(the_db), "%s", tu_db(_i, tmpdir, 0, "r.db"));
	st = st_open(the_db, ST_OPEN_CREATE, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	memset(&src, 0, sizeof(src));
	snprintf(src.path, sizeof(src.path), "/var/log/a.log");
	ck_assert_int_eq(st_transaction(st, add_then_fail, &src, &err), -1);
	ck_assert_int_eq(err.code, EINTR);
	memset(&other, 0, sizeof(other));
	snprintf(other.path, sizeof(other.path), "/var/log/a.log");
	ck_assert_msg(st_source_add(st, &other, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(other.id, 1);
	snprintf(other.path, sizeof(other.path), "/var/log/b.log");
	ck_assert_msg(st_source_add(st, &other, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(other.id, 2);
	st_close(st);
}
END_TEST

/* Which strings name a server, and how messages show them. */
START_TEST(server_names)
{
	static const struct { const char *spec; int server; const char *shown; } cases[] = {
		{ "flushscope.db", 0, "flushscope.db" },
		{ "/tmp/a=b.db", 0, "/tmp/a=b.db" },
		{ "postgresql://fs:s3cret@db.example/flush", 1, "postgresql://fs:***@db.example/flush" },
		{ "postgres://fs@db/flush?password=s3cret&sslmode=require", 1,
		    "postgres://fs@db/flush?password=***&sslmode=require" },
		{ "postgresql:///flush?host=/tmp/x", 1, "postgresql:///flush?host=/tmp/x" },
		{ "host=db dbname=flush password=s3cret user=fs", 1,
		    "host=db dbname=flush password=*** user=fs" },
		{ "dbname = flush password = 'it\\'s s3cret'", 1, "dbname = flush password=***" },
	};
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(st_is_server(cases[i].spec), cases[i].server);
		ck_assert_str_eq(st_display_name(cases[i].spec, buf, sizeof(buf)), cases[i].shown);
		ck_assert_ptr_null(strstr(buf, "s3cret"));
	}
}
END_TEST

/* A server database of someone else's (a table and no fs_meta) is refused, untouched. */
START_TEST(pg_refuse_foreign)
{
	const char *db = tu_db(TU_PG, tmpdir, 0, "x");
	struct fs_err err;
	struct st_store *st;

	st = st_open(db, ST_OPEN_READONLY, &err);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err.msg, "empty database") != NULL, "%s", err.msg);
	tu_pg_sql(db, "CREATE TABLE theirs (x int)");
	st = st_open(db, ST_OPEN_CREATE, &err);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err.msg, "not a flushscope database") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "postgresql:///") != NULL, "%s", err.msg);
	tu_pg_sql(db, "DROP TABLE theirs");
	st = st_open(db, ST_OPEN_CREATE, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	st_close(st);
	tu_pg_sql(db, "UPDATE fs_meta SET value = '99' WHERE key = 'schema_version'");
	st = st_open(db, ST_OPEN_READONLY, &err);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err.msg, "newer") != NULL, "%s", err.msg);
}
END_TEST

/* Builds the store suite. */
Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("backends");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, create_and_reopen, 0, TU_NBACKENDS);
	tcase_add_loop_test(tc, refuse_foreign, 0, 4);
	tcase_add_test(tc, readonly_file);
	tcase_add_loop_test(tc, batch_commit_and_query, 0, TU_NBACKENDS);
	tcase_add_loop_test(tc, dump_canonical, 0, TU_NBACKENDS);
	tcase_add_test(tc, rows_both_backends);
	tcase_add_loop_test(tc, bmaps_merge, 0, TU_NBACKENDS);
	tcase_add_loop_test(tc, v4_columns, 0, TU_NBACKENDS);
	tcase_add_loop_test(tc, expect_offset, 0, TU_NBACKENDS);
	tcase_add_loop_test(tc, claim_stale, 0, TU_NBACKENDS);
	tcase_add_loop_test(tc, source_id_after_rollback, 0, TU_NBACKENDS);
	tcase_add_test(tc, migrate_schema2);
	tcase_add_test(tc, sqlite_page_size);
	tcase_add_test(tc, sqlite_checkpointer);
	tcase_add_loop_test(tc, batch_bytes_rows, 0,
	    (int)(sizeof(batch_rows) / sizeof(batch_rows[0])));
	tcase_add_loop_test(tc, batch_clear_memory, 0,
	    (int)(sizeof(batch_rows) / sizeof(batch_rows[0])));
	tcase_add_test(tc, migrate_schema1);
	tcase_add_test(tc, migrate_schema3);
	tcase_add_test(tc, pg_migrate_schema3);
	tcase_add_test(tc, server_names);
	tcase_add_test(tc, pg_refuse_foreign);
	suite_add_tcase(s, tc);
	return s;
}
