/*
 * One pipeline, one judge: every log of testdata/ through every path
 * (spins on the file; ingest then the database; top's live model; the
 * workload extracted from the file and from the database) gives the same
 * examinations, wasted examinations, passes, useless passes and episodes,
 * per thread and per bmap, and file and database agree again under
 * --since/--until, --fid and --thread.  Every case runs against both
 * backends (case i: log i / 2, backend i % 2), and the two databases'
 * dumps are the same text.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "live/live.h"
#include "parsers/parser.h"
#include "replay/wlsource.h"
#include "report/spinreport.h"
#include "store/store.h"
#include "tests/testutil.h"

static const char *const logs[] = {
	"sample.log", "seed-excerpt.log", "extract-unsent.log", "forced-a.log",
	"spins/daemons.log", "spins/era-z.log", "spins/middle.log", "spins/no-spin-a.log",
	"synth/seedlike-A.log", "synth/seedlike-Z.log", "synth/forced-B.log",
	"bad/crlf.log", "bad/duplicated-lines.log", "bad/empty.log", "bad/good.log.gz",
	"bad/invalid-utf8.log", "bad/mixed-formats.log", "bad/nul-bytes.log",
	"bad/time-backwards.log", "bad/truncated-last-line.log", "bad/unparsed-line.log",
};

/* The totals of a report's threads. */
struct totals {
	uint64_t passes, useless, exams, wasted;
};

/* Sums a report's thread figures. */
static struct totals
report_totals(const struct sp_report *r)
{
	struct totals t = { 0, 0, 0, 0 };
	size_t i;

	for (i = 0; i < r->nthreads; i++) {
		t.passes += r->threads[i].passes;
		t.useless += r->threads[i].useless_passes;
		t.exams += r->threads[i].examinations;
		t.wasted += r->threads[i].wasted_examinations;
	}
	return t;
}

/* Asserts two reports hold the same episodes, threads and bmaps. */
static void
assert_same_report(const char *what, const struct sp_report *a, const struct sp_report *b)
{
	size_t i;

	ck_assert_msg(a->neps == b->neps, "%s: %zu vs %zu episodes", what, a->neps, b->neps);
	for (i = 0; i < a->neps; i++) {
		const struct sp_rep_episode *x = &a->eps[i], *y = &b->eps[i];

		ck_assert_msg(x->f.fid == y->f.fid && x->f.bno == y->f.bno &&
		    x->f.start_us == y->f.start_us && x->f.end_us == y->f.end_us && x->f.cycles == y->f.cycles &&
		    x->f.period_us == y->f.period_us && x->f.cause == y->f.cause &&
		    strcmp(sp_report_ep_thread(a, x), sp_report_ep_thread(b, y)) == 0 &&
		    strcmp(sp_report_ep_tid(a, x), sp_report_ep_tid(b, y)) == 0 &&
		    x->f.first_off == y->f.first_off,
		    "%s: episode %zu differs (%" PRIx64 ":%u %" PRId64 " %" PRIu64 " cycles vs "
		    "%" PRIx64 ":%u %" PRId64 " %" PRIu64 ")", what, i, x->f.fid, x->f.bno,
		    x->f.start_us, x->f.cycles, y->f.fid, y->f.bno, y->f.start_us, y->f.cycles);
	}
	ck_assert_msg(a->nthreads == b->nthreads, "%s: %zu vs %zu threads", what, a->nthreads,
	    b->nthreads);
	for (i = 0; i < a->nthreads; i++) {
		const struct sp_thread_stats *x = &a->threads[i], *y = &b->threads[i];

		ck_assert_msg(strcmp(x->thread, y->thread) == 0 && strcmp(x->tid, y->tid) == 0,
		    "%s: thread %zu: %s:%s vs %s:%s", what, i, x->thread, x->tid, y->thread, y->tid);
		ck_assert_msg(x->passes == y->passes && x->useless_passes == y->useless_passes &&
		    x->examinations == y->examinations &&
		    x->wasted_examinations == y->wasted_examinations &&
		    x->period_p50_us == y->period_p50_us,
		    "%s: thread %s: passes %" PRIu64 "/%" PRIu64 " useless %" PRIu64 "/%" PRIu64
		    " exams %" PRIu64 "/%" PRIu64 " wasted %" PRIu64 "/%" PRIu64, what, x->thread,
		    x->passes, y->passes, x->useless_passes, y->useless_passes, x->examinations,
		    y->examinations, x->wasted_examinations, y->wasted_examinations);
	}
	ck_assert_msg(a->nbmaps == b->nbmaps, "%s: %zu vs %zu bmaps", what, a->nbmaps, b->nbmaps);
	for (i = 0; i < a->nbmaps; i++) {
		const struct sp_bmap_row *x = &a->bmaps[i], *y = &b->bmaps[i];

		ck_assert_msg(x->fid == y->fid && x->bno == y->bno &&
		    x->examinations == y->examinations && x->wasted == y->wasted &&
		    x->episodes == y->episodes && x->cycles == y->cycles,
		    "%s: bmap %zu: %" PRIx64 ":%u %" PRIu64 "/%" PRIu64 " vs %" PRIx64 ":%u %" PRIu64
		    "/%" PRIu64, what, i, x->fid, x->bno, x->examinations, x->wasted, y->fid,
		    y->bno, y->examinations, y->wasted);
	}
}

/* The report of a file or a database under filter f (ranked). */
static void
report(struct sp_report *r, const char *file, const char *db, const struct sp_filter *f)
{
	struct fs_err err;

	sp_report_init(r);
	if (db != NULL)
		ck_assert_msg(sp_report_add_db(r, db, f, &err) == 0, "%s", err.msg);
	else
		ck_assert_msg(sp_report_add_file(r, file, NULL, f, 2, &err) == 0, "%s", err.msg);
	sp_report_rank(r);
}

/* Ingests file into a fresh database at db. */
static void
ingest(const char *db, const char *file)
{
	struct ig_options o;
	struct ig_ingest *ig;
	struct ig_result res;
	struct fs_err err;

	ig_options_default(&o);
	o.final = 1;		/* as spins, which reads the last line as it is */
	ig = ig_new(db, &o, &err);
	ck_assert_msg(ig != NULL, "%s", err.msg);
	ck_assert_msg(ig_file(ig, file, &res, &err) == 0, "%s", err.msg);
	ig_free(ig);
}

/* top's model fed the whole file, then told the input ended. */
static struct lv_model *
live(const char *file)
{
	struct lv_model *m;
	struct ps_reader *rd;
	struct fs_err err;
	const char *line;
	size_t len;
	uint64_t off, lineno = 0;

	m = lv_new(NULL, &err);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(lv_add_source(m, NULL, &err), 0);
	rd = ps_reader_open(file, 0, &err);
	ck_assert_msg(rd != NULL, "%s", err.msg);
	while (ps_reader_next(rd, &line, &len, &off, &err) == 1)
		lv_line(m, 0, line, len, off, ++lineno);
	ps_reader_close(rd);
	lv_finish(m);
	return m;
}

/* A digest of a workload's forced flushes: their number, times and bmaps. */
static uint64_t
fsync_sum(const struct wl_workload *w)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < w->n; i++) {
		const struct wl_event *e = &w->ev[i];

		if (e->kind != WL_FSYNC)
			continue;
		h = (h ^ (uint64_t)(e->t_us + w->epoch_us)) * 1099511628211ULL;
		h = (h ^ e->fid) * 1099511628211ULL;
		h = (h ^ e->bno) * 1099511628211ULL;
	}
	return h;
}

/* Every path gives the file's figures. */
START_TEST(test_every_path)
{
	const char *file = tu_testdata(logs[_i / TU_NBACKENDS]), *name = logs[_i / TU_NBACKENDS];
	char dir[128], db[1024];
	struct sp_report rf, rd;
	struct sp_filter f;
	struct totals t;
	struct lv_model *m;
	struct lv_summary sum;
	const struct lv_row *rows;
	const struct lv_thread_row *trows;
	size_t nrows, ntrows, i, k;
	struct wl_workload w;
	struct fs_err err;
	uint64_t wasted_rows = 0;

	tu_mkdtemp(dir, sizeof(dir), "consist");
	snprintf(db, sizeof(db), "%s", tu_db(_i % TU_NBACKENDS, dir, 0, "c.db"));
	ingest(db, file);
	sp_filter_init(&f);
	f.want_bmaps = 1;
	report(&rf, file, NULL, &f);
	report(&rd, NULL, db, &f);
	assert_same_report(name, &rf, &rd);
	t = report_totals(&rf);

	/* top: the final snapshot and its thread rows */
	m = live(file);
	ck_assert_int_eq(lv_snapshot(m, 0, NULL, &sum, &rows, &nrows, &err), 0);
	ck_assert_msg(sum.passes == t.passes && sum.wasted == t.wasted,
	    "%s: top %" PRIu64 " passes %" PRIu64 " wasted, spins %" PRIu64 " and %" PRIu64,
	    name, sum.passes, sum.wasted, t.passes, t.wasted);
	ck_assert_int_eq(lv_threads(m, NULL, &trows, &ntrows, &err), 0);
	ck_assert_uint_eq(ntrows, rf.nthreads);
	for (i = 0; i < ntrows; i++) {
		for (k = 0; k < rf.nthreads; k++)
			if (strcmp(rf.threads[k].thread, trows[i].thread) == 0 &&
			    strcmp(rf.threads[k].tid, trows[i].tid) == 0)
				break;
		ck_assert_msg(k < rf.nthreads, "%s: top thread %s", name, trows[i].thread);
		ck_assert_uint_eq(trows[i].passes, rf.threads[k].passes);
		ck_assert_uint_eq(trows[i].useless_passes, rf.threads[k].useless_passes);
		ck_assert_uint_eq(trows[i].examinations, rf.threads[k].examinations);
		ck_assert_uint_eq(trows[i].wasted, rf.threads[k].wasted_examinations);
	}
	for (i = 0; i < nrows; i++)
		wasted_rows += rows[i].wasted_total;
	ck_assert_msg(wasted_rows == t.wasted, "%s: top rows %" PRIu64 " wasted", name,
	    wasted_rows);
	lv_free(m);

	/* the workload's observed figures, from the file and from the database */
	if (rf.nthreads > 0) {
		char *paths[1] = { (char *)file };

		uint64_t fsyncs;

		ck_assert_msg(wl_load_logs(&w, paths, 1, NULL, &err) == 0, "%s", err.msg);
		ck_assert_int_eq(w.obs.passes, (int64_t)t.passes);
		ck_assert_int_eq(w.obs.examinations, (int64_t)t.exams);
		ck_assert_int_eq(w.obs.wasted_examinations, (int64_t)t.wasted);
		fsyncs = fsync_sum(&w);
		wl_free(&w);
		ck_assert_msg(wl_load_db(&w, db, NULL, &err) == 0, "%s", err.msg);
		ck_assert_int_eq(w.obs.passes, (int64_t)t.passes);
		ck_assert_int_eq(w.obs.examinations, (int64_t)t.exams);
		ck_assert_int_eq(w.obs.wasted_examinations, (int64_t)t.wasted);
		/* forced flushes: the source marks them, both paths replay the same */
		ck_assert_msg(fsync_sum(&w) == fsyncs, "%s: forced flushes (count, times, "
		    "bmaps) differ between the file and the database", logs[_i]);
		wl_free(&w);
	}
	sp_report_free(&rf);
	sp_report_free(&rd);
	tu_rmtree(dir);
}
END_TEST

/* File and database agree under every filter. */
START_TEST(test_filters)
{
	static const char *const threads[] = { NULL, "msbflushthr", "msbflushthr:23667",
	    "msflushthr3", "nosuchthread" };
	const char *file = tu_testdata(logs[_i / TU_NBACKENDS]), *name = logs[_i / TU_NBACKENDS];
	char dir[128], db[1024], what[256];
	struct sp_report all, rf, rd;
	struct sp_filter f;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	size_t i, k;

	tu_mkdtemp(dir, sizeof(dir), "consistf");
	snprintf(db, sizeof(db), "%s", tu_db(_i % TU_NBACKENDS, dir, 0, "c.db"));
	ingest(db, file);
	sp_filter_init(&f);
	report(&all, file, NULL, &f);
	for (i = 0; i < all.nthreads; i++) {
		if (all.threads[i].first_us != INT64_MIN && all.threads[i].first_us < lo)
			lo = all.threads[i].first_us;
		if (all.threads[i].last_us != INT64_MIN && all.threads[i].last_us > hi)
			hi = all.threads[i].last_us;
	}
	for (k = 0; k < 12; k++) {
		sp_filter_init(&f);
		f.want_bmaps = 1;
		if (lo < hi && k >= 1 && k <= 6) {
			/* windows that start and end inside the log, and open ones */
			int64_t a = lo + (hi - lo) * (int64_t)k / 8, b = lo + (hi - lo) * (int64_t)(k + 2) / 8;

			if (k % 3 != 2)
				f.since_us = a;
			if (k % 3 != 1)
				f.until_us = b;
		}
		if (k >= 7 && k < 7 + sizeof(threads) / sizeof(threads[0]))
			f.thread = threads[k - 7];
		if (k == 8 || k == 11) {
			f.has_fid = 1;
			f.fid = k == 8 ? 0x80000002d907bULL : 0x1;
		}
		snprintf(what, sizeof(what), "%s filter %zu", name, k);
		report(&rf, file, NULL, &f);
		report(&rd, NULL, db, &f);
		assert_same_report(what, &rf, &rd);
		sp_report_free(&rf);
		sp_report_free(&rd);
	}
	sp_report_free(&all);
	tu_rmtree(dir);
}
END_TEST

/* The same log ingested into SQLite and into PostgreSQL: the same dump, row for row. */
START_TEST(test_same_dump)
{
	const char *file = tu_testdata(logs[_i]);
	char dir[128], a[1024], b[1024], *da, *db;

	tu_mkdtemp(dir, sizeof(dir), "consistd");
	snprintf(a, sizeof(a), "%s", tu_db(TU_SQLITE, dir, 0, "c.db"));
	snprintf(b, sizeof(b), "%s", tu_db(TU_PG, dir, 1, "c.db"));
	ingest(a, file);
	ingest(b, file);
	da = tu_dump_db(a);
	db = tu_dump_db(b);
	ck_assert_msg(strcmp(da, db) == 0, "%s: the dumps differ:\n%.3000s\n---\n%.3000s",
	    logs[_i], da, db);
	free(da);
	free(db);
	tu_rmtree(dir);
}
END_TEST

Suite *consistency_suite(void);

Suite *
consistency_suite(void)
{
	Suite *s = suite_create("consistency");
	TCase *tc = tcase_create("paths");

	tcase_add_loop_test(tc, test_every_path, 0,
	    (int)(sizeof(logs) / sizeof(logs[0])) * TU_NBACKENDS);
	tcase_add_loop_test(tc, test_filters, 0,
	    (int)(sizeof(logs) / sizeof(logs[0])) * TU_NBACKENDS);
	tcase_add_loop_test(tc, test_same_dump, 0, (int)(sizeof(logs) / sizeof(logs[0])));
	suite_add_tcase(s, tc);
	return s;
}
