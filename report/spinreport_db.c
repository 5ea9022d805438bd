/*
 * report/spinreport_db: filling a spin report from a database made by
 * ingest, through store/store.h: episodes, thread figures, and the
 * per-second series of threads and bmaps that give the same windowed
 * counts a file gives (see report/spinreport.h).
 */
#include "report/spinreport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/clock.h"
#include "util/map.h"

/* Windowed counts of one stored thread (source, tno). */
struct db_thread {
	int64_t source_id;
	int tno;
	uint64_t passes, useless, exams, wasted;
};

struct db_ctx {
	struct sp_report *r;
	const struct sp_filter *f;
	struct db_thread *th;
	size_t nth, capth;
	struct fs_map src_ci;		/* (source id, 0) -> client index (want_clients) */
	int nomem;
};

/* The report's client index of a stored source; -1 if unknown. */
static int
client_of(struct db_ctx *c, int64_t source_id)
{
	uint32_t v;

	return fs_map_get(&c->src_ci, (uint64_t)source_id, 0, &v) ? (int)v : -1;
}

/* One stored episode, kept if the filter does. */
static int
db_episode(struct db_ctx *c, const struct st_episode_row *row)
{
	const struct st_episode *s = &row->ep;
	struct sp_episode ep;
	int cause = sp_cause_parse(s->cause);

	memset(&ep, 0, sizeof(ep));
	memcpy(ep.thread, s->thread, sizeof(ep.thread));
	memcpy(ep.tid, s->tid, sizeof(ep.tid));
	ep.f.fid = s->fid;
	ep.f.bno = s->bno;
	ep.f.addr = s->addr;
	ep.f.start_us = s->start_us;
	ep.f.end_us = s->end_us;
	ep.f.cycles = s->cycles;
	ep.f.period_us = s->period_us;
	ep.f.outstanding_min = s->outstanding_min;
	ep.f.outstanding_max = s->outstanding_max;
	ep.f.cause = cause >= 0 ? (enum sp_cause)cause : SP_CAUSE_INFLIGHT;
	ep.f.first_off = s->first_off;
	ep.f.last_off = s->last_off;
	if (!sp_filter_episode(c->f, &ep))
		return 0;
	if (sp_report_add_episode(c->r, &ep) != 0 || (c->f->want_clients &&
	    client_of(c, row->source_id) >= 0 &&
	    sp_report_client_episode(c->r, client_of(c, row->source_id),
	    &c->r->eps[c->r->neps - 1]) != 0)) {
		c->nomem = 1;
		return 1;
	}
	return 0;
}

/* The windowed counters of stored thread (source, tno). */
static struct db_thread *
db_thread_get(struct db_ctx *c, int64_t source_id, int tno)
{
	size_t i;

	for (i = 0; i < c->nth; i++)
		if (c->th[i].source_id == source_id && c->th[i].tno == tno)
			return &c->th[i];
	if (c->nth == c->capth) {
		size_t nc = c->capth ? c->capth * 2 : 16;
		struct db_thread *n = realloc(c->th, nc * sizeof(*n));

		if (n == NULL)
			return NULL;
		c->th = n;
		c->capth = nc;
	}
	memset(&c->th[c->nth], 0, sizeof(c->th[0]));
	c->th[c->nth].source_id = source_id;
	c->th[c->nth].tno = tno;
	return &c->th[c->nth++];
}

/* One thread-second of the series. */
static int
db_series(struct db_ctx *c, const struct st_series *s)
{
	struct db_thread *t;

	if (!sp_filter_second(c->f, s->sec))
		return 0;
	if ((t = db_thread_get(c, s->source_id, s->tno)) == NULL) {
		c->nomem = 1;
		return 1;
	}
	t->passes += s->passes;
	t->useless += s->useless_passes;
	t->exams += s->examinations;
	t->wasted += s->wasted;
	if (sp_report_add_second(c->r, s->sec, s->wasted, s->max_outstanding) != 0) {
		c->nomem = 1;
		return 1;
	}
	return 0;
}

/* One thread's stored figures, with its windowed counts. */
static int
db_thread(struct db_ctx *c, const struct st_thread_row *row)
{
	const struct st_thread_stats *s = &row->st;
	struct sp_thread_stats st;
	struct db_thread *t;

	if (!sp_thread_match(c->f->thread, s->thread, s->tid))
		return 0;
	if ((t = db_thread_get(c, row->source_id, row->tno)) == NULL) {
		c->nomem = 1;
		return 1;
	}
	memset(&st, 0, sizeof(st));
	memcpy(st.thread, s->thread, sizeof(st.thread));
	memcpy(st.tid, s->tid, sizeof(st.tid));
	st.passes = t->passes;
	st.useless_passes = t->useless;
	st.examinations = t->exams;
	st.wasted_examinations = t->wasted;
	st.first_us = s->first_us;
	st.last_us = s->last_us;
	st.first_pass_us = INT64_MIN;
	if (st.first_us != INT64_MIN && st.first_us < c->f->since_us)
		st.first_us = c->f->since_us;
	if (st.last_us != INT64_MIN && st.last_us > c->f->until_us)
		st.last_us = c->f->until_us;
	st.period_p50_us = s->period_p50_us;
	st.period_p99_us = s->period_p99_us;
	st.sleep_p50_us = s->sleep_p50_us;
	st.line_p50_us = s->line_p50_us;
	st.era = s->era;
	_Static_assert(sizeof(st.period_hist) == sizeof(s->period_hist), "one histogram");
	memcpy(st.period_hist, s->period_hist, sizeof(st.period_hist));
	if (sp_report_add_thread(c->r, &st) != 0) {
		c->nomem = 1;
		return 1;
	}
	if (c->f->want_clients && client_of(c, row->source_id) >= 0)
		sp_report_client_thread(c->r, client_of(c, row->source_id), &st);
	return 0;
}

/* One bmap-second. */
static int
db_bmap(struct db_ctx *c, const struct st_bmap_stat *b)
{

	if (!sp_filter_second(c->f, b->sec))
		return 0;
	if (sp_report_add_bmap(c->r, b->fid, b->bno, b->examinations, b->wasted) != 0) {
		c->nomem = 1;
		return 1;
	}
	return 0;
}

/* Walks the rows of kind under f through fn; 0, or -1 with err set. */
static int
walk(struct st_store *st, enum st_kind kind, const struct st_filter *f, struct db_ctx *c,
    int (*fn)(struct db_ctx *c, const union st_row *row), struct fs_err *err)
{
	struct st_cursor *cur = st_cursor_open(st, kind, f, err);
	const union st_row *row;
	int rc;

	if (cur == NULL)
		return -1;
	while ((rc = st_cursor_next(cur, &row, err)) == 1)
		if (fn(c, row) != 0)
			break;
	st_cursor_close(cur);
	return rc < 0 ? -1 : 0;
}

/* Row handlers for walk. */
static int
on_source(struct db_ctx *c, const union st_row *row)
{
	int ci = sp_report_client(c->r, row->source.client);

	if (ci < 0 || fs_map_put(&c->src_ci, (uint64_t)row->source.id, 0, (uint32_t)ci) != 0) {
		c->nomem = 1;
		return 1;
	}
	return 0;
}

static int
on_series(struct db_ctx *c, const union st_row *row)
{
	return db_series(c, &row->series);
}

static int
on_thread(struct db_ctx *c, const union st_row *row)
{
	return db_thread(c, &row->thread);
}

static int
on_episode(struct db_ctx *c, const union st_row *row)
{
	return db_episode(c, &row->episode);
}

static int
on_bmap(struct db_ctx *c, const union st_row *row)
{
	return db_bmap(c, &row->bmap);
}

/* Adds what the filter selects of a database. */
int
sp_report_add_db(struct sp_report *r, const char *path, const struct sp_filter *flt,
    struct fs_err *err)
{
	struct st_store *st;
	struct st_filter f;
	struct db_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.f = flt;
	if ((st = st_open(path, ST_OPEN_READONLY, err)) == NULL)
		return -1;
	/* the store narrows by whole seconds; the handlers apply the filter exactly */
	st_filter_init(&f);
	f.since_us = flt->since_us;
	f.until_us = flt->until_us;
	f.client = flt->client;
	rc = flt->want_clients ? walk(st, ST_SOURCES, &f, &c, on_source, err) : 0;
	if (rc == 0 && !c.nomem)
		rc = walk(st, ST_SERIES, &f, &c, on_series, err);
	if (rc == 0 && !c.nomem)
		rc = walk(st, ST_THREAD_STATS, &f, &c, on_thread, err);
	if (flt->has_fid) {
		f.has_fid = 1;
		f.fid = flt->fid;
		f.bno = -1;
	}
	if (rc == 0 && !c.nomem)
		rc = walk(st, ST_EPISODES, &f, &c, on_episode, err);
	if (rc == 0 && !c.nomem && flt->want_bmaps)
		rc = walk(st, ST_BMAP_SERIES, &f, &c, on_bmap, err);
	st_close(st);
	free(c.th);
	fs_map_free(&c.src_ci);
	if (c.nomem)
		return fs_err_set(err, ENOMEM, "%s: out of memory reading the spin results", path);
	return rc == 0 ? 0 : -1;
}
