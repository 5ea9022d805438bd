/*
 * spinreport: gathering, filtering, ranking and drawing spin results (see
 * report/spinreport.h).
 */
#include "report/spinreport.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/plot.h"
#include "parsers/parser.h"

#define SR_MAX_SECONDS (1u << 24)	/* time-line cap: ~194 days */

/* Initialises an empty report. */
void
sp_report_init(struct sp_report *r)
{
	memset(r, 0, sizeof(*r));
	r->first_us = r->last_us = INT64_MIN;
	r->timeline_exact = 1;
}

/* Frees what a report holds. */
void
sp_report_free(struct sp_report *r)
{
	free(r->eps);
	free(r->threads);
	free(r->wasted_s);
	free(r->outst_s);
	sp_report_init(r);
}

/* Adds one episode. */
int
sp_report_add_episode(struct sp_report *r, const struct sp_episode *ep)
{
	if (r->neps == r->capeps) {
		size_t nc = r->capeps ? r->capeps * 2 : 32;
		struct sp_episode *n = realloc(r->eps, nc * sizeof(*n));

		if (n == NULL)
			return -1;
		r->eps = n;
		r->capeps = nc;
	}
	r->eps[r->neps++] = *ep;
	return 0;
}

/* Adds one thread's figures. */
int
sp_report_add_thread(struct sp_report *r, const struct sp_thread_stats *t)
{
	if (r->nthreads == r->capthreads) {
		size_t nc = r->capthreads ? r->capthreads * 2 : 8;
		struct sp_thread_stats *n = realloc(r->threads, nc * sizeof(*n));

		if (n == NULL)
			return -1;
		r->threads = n;
		r->capthreads = nc;
	}
	r->threads[r->nthreads++] = *t;
	return 0;
}

/*
 * Returns the time-line slot of time ts_us, growing the time-line (also
 * backwards); -1 on no memory, -2 if the time-line would span more than
 * SR_MAX_SECONDS (that second is left out).
 */
static int64_t
slot(struct sp_report *r, int64_t ts_us)
{
	int64_t s = ts_us >= 0 ? ts_us / 1000000 : -((-ts_us + 999999) / 1000000);
	size_t need, i;

	if (r->nsec == 0) {
		r->t0_s = s;
	} else if (s < r->t0_s) {
		size_t shift = (size_t)(r->t0_s - s);

		if (shift + r->nsec > SR_MAX_SECONDS)
			return -2;
		need = r->nsec + shift;
		if (need > r->capsec) {
			uint32_t *w = realloc(r->wasted_s, need * sizeof(*w));
			int32_t *o;

			if (w == NULL)
				return -1;
			r->wasted_s = w;
			if ((o = realloc(r->outst_s, need * sizeof(*o))) == NULL)
				return -1;
			r->outst_s = o;
			r->capsec = need;
		}
		memmove(r->wasted_s + shift, r->wasted_s, r->nsec * sizeof(*r->wasted_s));
		memmove(r->outst_s + shift, r->outst_s, r->nsec * sizeof(*r->outst_s));
		for (i = 0; i < shift; i++) {
			r->wasted_s[i] = 0;
			r->outst_s[i] = -1;
		}
		r->nsec = need;
		r->t0_s = s;
	}
	if ((uint64_t)(s - r->t0_s) >= SR_MAX_SECONDS)
		return -2;
	need = (size_t)(s - r->t0_s) + 1;
	if (need > r->capsec) {
		size_t nc = r->capsec ? r->capsec : 64;
		uint32_t *w;
		int32_t *o;

		while (nc < need)
			nc *= 2;
		if ((w = realloc(r->wasted_s, nc * sizeof(*w))) == NULL)
			return -1;
		r->wasted_s = w;
		if ((o = realloc(r->outst_s, nc * sizeof(*o))) == NULL)
			return -1;
		r->outst_s = o;
		r->capsec = nc;
	}
	for (i = r->nsec; i < need; i++) {
		r->wasted_s[i] = 0;
		r->outst_s[i] = -1;
	}
	if (need > r->nsec)
		r->nsec = need;
	return s - r->t0_s;
}

/* Adds to one second of the time-line. */
int
sp_report_add_second(struct sp_report *r, int64_t sec, uint64_t wasted, int64_t outstanding)
{
	int64_t i;

	if (sec > INT64_MAX / 1000000 || sec < INT64_MIN / 1000000)
		return 0;
	if ((i = slot(r, sec * 1000000)) < 0)
		return i == -1 ? -1 : 0;
	r->wasted_s[i] = r->wasted_s[i] + wasted > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)(r->wasted_s[i] + wasted);
	if (outstanding > r->outst_s[i])
		r->outst_s[i] = outstanding > INT32_MAX ? INT32_MAX : (int32_t)outstanding;
	return 0;
}

/* Detector callback: keep the episode. */
static void
cb_episode(void *arg, const struct sp_episode *ep)
{
	sp_report_add_episode(arg, ep);
}

/* Detector callback: count a wasted examination in its second. */
static void
cb_wasted(void *arg, const struct ps_event *ev, uint64_t fid, uint32_t bno)
{
	struct sp_report *r = arg;
	int64_t i = slot(r, ev->ts_us);

	(void)fid;
	(void)bno;
	if (i >= 0)
		r->wasted_s[i]++;
}

/* Runs one file through parser and detector. */
int
sp_report_add_file(struct sp_report *r, const char *path, const struct sp_options *o,
    int64_t since_us, int64_t until_us, struct fs_err *err)
{
	struct sp_callbacks cb = { r, cb_episode, cb_wasted, NULL };
	struct ps_reader *rd;
	struct ps_parser *ps;
	struct sp_detector *d;
	struct ps_event ev;
	const char *line;
	size_t len;
	uint64_t off, lineno = 0;
	int rc, k;

	if ((rd = ps_reader_open(path, 0, err)) == NULL)
		return -1;
	if ((ps = ps_parser_new(NULL, err)) == NULL) {
		ps_reader_close(rd);
		return -1;
	}
	if ((d = sp_detector_new(o, &cb, err)) == NULL) {
		ps_parser_free(ps);
		ps_reader_close(rd);
		return -1;
	}
	while ((rc = ps_reader_next(rd, &line, &len, &off, err)) == 1) {
		lineno++;
		r->lines++;
		if (ps_parser_parse(ps, line, len, off, lineno, &ev) == 0) {
			r->unparsed++;
			continue;
		}
		if (ev.ts_us == INT64_MIN || ev.ts_us < since_us || ev.ts_us > until_us)
			continue;
		if (r->first_us == INT64_MIN || ev.ts_us < r->first_us)
			r->first_us = ev.ts_us;
		if (ev.ts_us > r->last_us)
			r->last_us = ev.ts_us;
		if (ev.outstanding >= 0) {
			int64_t i = slot(r, ev.ts_us);

			if (i >= 0 && ev.outstanding > r->outst_s[i])
				r->outst_s[i] = ev.outstanding > INT32_MAX ? INT32_MAX :
				    (int32_t)ev.outstanding;
		}
		sp_detector_feed(d, &ev);
	}
	sp_detector_finish(d);
	for (k = 0; k < sp_detector_nthreads(d); k++) {
		struct sp_thread_stats st;

		sp_detector_thread(d, k, &st);
		sp_report_add_thread(r, &st);
	}
	sp_detector_free(d);
	ps_parser_free(ps);
	ps_reader_close(rd);
	return rc < 0 ? -1 : 0;
}

/* 1 if thread/tid match "name" or "name:tid". */
int
sp_thread_match(const char *want, const char *thread, const char *tid)
{
	size_t n = strlen(thread);

	if (want == NULL)
		return 1;
	if (strcmp(want, thread) == 0)
		return 1;
	return strncmp(want, thread, n) == 0 && want[n] == ':' && strcmp(want + n + 1, tid) == 0;
}

/* Drops what does not match. */
void
sp_report_filter(struct sp_report *r, const struct sp_filter *f)
{
	size_t i, k;

	for (i = k = 0; i < r->neps; i++) {
		const struct sp_episode *e = &r->eps[i];

		if (f->has_fid && e->fid != f->fid)
			continue;
		if (!sp_thread_match(f->thread, e->thread, e->tid))
			continue;
		if (e->end_us < f->since_us || e->start_us > f->until_us)
			continue;
		if (e->cycles < f->min_cycles)
			continue;
		r->eps[k++] = *e;
	}
	r->neps = k;
	if (f->thread == NULL)
		return;
	for (i = k = 0; i < r->nthreads; i++)
		if (sp_thread_match(f->thread, r->threads[i].thread, r->threads[i].tid))
			r->threads[k++] = r->threads[i];
	r->nthreads = k;
}

/* Orders episodes: most cycles, longest, earliest. */
static int
ep_cmp(const void *a, const void *b)
{
	const struct sp_episode *x = a, *y = b;
	int64_t dx = x->end_us - x->start_us, dy = y->end_us - y->start_us;

	if (x->cycles != y->cycles)
		return x->cycles > y->cycles ? -1 : 1;
	if (dx != dy)
		return dx > dy ? -1 : 1;
	if (x->start_us != y->start_us)
		return x->start_us < y->start_us ? -1 : 1;
	if (x->fid != y->fid)
		return x->fid < y->fid ? -1 : 1;
	return x->bno < y->bno ? -1 : x->bno > y->bno;
}

/* Ranks episodes. */
void
sp_report_rank(struct sp_report *r)
{
	if (r->neps > 1)
		qsort(r->eps, r->neps, sizeof(*r->eps), ep_cmp);
}

/* Builds an estimated time-line from the episodes (no events were read). */
static int
timeline_from_episodes(struct sp_report *r)
{
	size_t i;

	r->timeline_exact = 0;
	for (i = 0; i < r->neps; i++) {
		const struct sp_episode *e = &r->eps[i];
		int64_t s0 = slot(r, e->start_us), s1 = slot(r, e->end_us), s;
		uint64_t per, rest;

		s0 = slot(r, e->start_us);	/* the time-line may have grown backwards */
		if (s0 < 0 || s1 < 0)
			return -1;
		per = e->cycles / (uint64_t)(s1 - s0 + 1);
		rest = e->cycles % (uint64_t)(s1 - s0 + 1);
		for (s = s0; s <= s1; s++) {
			r->wasted_s[s] += (uint32_t)(per + (rest > 0));
			if (rest > 0)
				rest--;
			if (e->outstanding_max > r->outst_s[s])
				r->outst_s[s] = (int32_t)e->outstanding_max;
		}
	}
	return 0;
}

/* Draws the time-line. */
int
sp_report_plot(const struct sp_report *rin, FILE *f, struct fs_err *err)
{
	struct sp_report r = *rin;	/* shallow: the time-line may be built here */
	struct pl_chart *c;
	double *x = NULL, *w = NULL, *o = NULL;
	char buf[160], tbuf[64];
	size_t i, n;
	int rc = -1;
	time_t t0;
	struct tm tm;

	if (r.nsec == 0 && r.neps > 0) {
		r.wasted_s = NULL;
		r.outst_s = NULL;
		r.nsec = r.capsec = 0;
		if (timeline_from_episodes(&r) != 0) {
			fs_err_set(err, ENOMEM, "plot: episodes span too long a time");
			goto out;
		}
	}
	if ((c = pl_chart_new("flushscope spins: wasted examinations and outstanding RPCs", 2,
	    err)) == NULL)
		goto out;
	n = r.nsec;
	x = calloc(n ? n : 1, sizeof(*x));
	w = calloc(n ? n : 1, sizeof(*w));
	o = calloc(n ? n : 1, sizeof(*o));
	if (x == NULL || w == NULL || o == NULL) {
		fs_err_set(err, ENOMEM, "plot: out of memory");
		pl_chart_free(c);
		goto out;
	}
	for (i = 0; i < n; i++) {
		x[i] = (double)i;
		w[i] = r.wasted_s[i];
		o[i] = r.outst_s[i] >= 0 ? r.outst_s[i] : NAN;
	}
	t0 = (time_t)r.t0_s;
	gmtime_r(&t0, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	snprintf(buf, sizeof(buf), "time (seconds since %s)", tbuf);
	pl_chart_xaxis(c, buf, 0);
	pl_panel_yaxis(c, 0, "wasted examinations per second", 0);
	pl_panel_yaxis(c, 1, "outstanding write RPCs", 0);
	snprintf(buf, sizeof(buf), "shaded: %zu spin episode%s (the largest labelled fid:bmap)%s",
	    r.neps, r.neps == 1 ? "" : "s",
	    r.timeline_exact ? "" : "; per-second values estimated from stored episodes");
	pl_note(c, buf);
	if (pl_series(c, 0, "wasted exams/s", x, w, n, PL_STEP) != 0 ||
	    pl_series(c, 1, "outstanding RPCs", x, o, n, PL_LINE) != 0) {
		fs_err_set(err, ENOMEM, "plot: out of memory");
		pl_chart_free(c);
		goto out;
	}
	for (i = 0; i < r.neps; i++) {
		const struct sp_episode *e = &r.eps[i];

		snprintf(buf, sizeof(buf), "%" PRIx64 ":%" PRIu32 " (%" PRIu64 "x)", e->fid, e->bno,
		    e->cycles);
		pl_band(c, (double)(e->start_us - r.t0_s * 1000000) / 1e6,
		    (double)(e->end_us - r.t0_s * 1000000) / 1e6, buf);
	}
	rc = pl_chart_svg(c, f, err);
	pl_chart_free(c);
out:
	if (r.wasted_s != rin->wasted_s) {
		free(r.wasted_s);
		free(r.outst_s);
	}
	free(x);
	free(w);
	free(o);
	return rc;
}
