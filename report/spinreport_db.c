/*
 * spinreport_db: filling a spin report from a database made by ingest,
 * through store/store.h (episodes, per-thread figures, per-second series).
 */
#include "report/spinreport.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h"

struct db_ctx {
	struct sp_report *r;
	int nomem;
};

/* Query callback: one stored episode. */
static int
db_episode(void *arg, const struct st_episode_row *row)
{
	struct db_ctx *c = arg;

	if (sp_report_add_episode(c->r, &row->ep) != 0) {
		c->nomem = 1;
		return 1;
	}
	return 0;
}

/* Query callback: one thread's stored figures. */
static int
db_thread(void *arg, const struct st_thread_row *row)
{
	struct db_ctx *c = arg;

	if (sp_report_add_thread(c->r, &row->st) != 0) {
		c->nomem = 1;
		return 1;
	}
	return 0;
}

/* Query callback: one thread-second of the series, summed over threads. */
static int
db_series(void *arg, const struct st_series *s)
{
	struct db_ctx *c = arg;

	if (sp_report_add_second(c->r, s->sec, s->wasted, s->max_outstanding) != 0) {
		c->nomem = 1;
		return 1;
	}
	return 0;
}

/* Adds stored episodes, thread figures and the per-second time-line. */
int
sp_report_add_db(struct sp_report *r, const char *path, const struct sp_filter *flt,
    struct fs_err *err)
{
	struct st_store *st;
	struct st_filter f;
	struct db_ctx c = { r, 0 };
	int rc;

	if ((st = st_open(path, ST_OPEN_READONLY, err)) == NULL)
		return -1;
	st_filter_init(&f);
	/* the store narrows what it can; sp_report_filter does the rest exactly */
	if (flt != NULL && flt->thread != NULL && strchr(flt->thread, ':') == NULL)
		f.thread = flt->thread;
	if (flt != NULL) {
		f.since_us = flt->since_us;
		f.until_us = flt->until_us;
	}
	rc = st_query_thread_stats(st, &f, db_thread, &c, err);
	if (rc == 0)
		rc = st_query_series(st, &f, db_series, &c, err);
	if (flt != NULL && flt->has_fid) {
		f.has_fid = 1;
		f.fid = flt->fid;
		f.bno = -1;
	}
	if (rc == 0)
		rc = st_query_episodes(st, &f, db_episode, &c, err);
	st_close(st);
	if (c.nomem)
		return fs_err_set(err, 12, "%s: out of memory reading the spin results", path);
	return rc == 0 ? 0 : -1;
}
