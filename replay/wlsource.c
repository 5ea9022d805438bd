/*
 * Where workloads come from: a workload file, log files (through the
 * parser and the extractor) or a database (through the store).  One entry
 * point, wl_load(), so that extract, replay and verify accept the same
 * inputs.
 */
#include "replay/wlsource.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/source.h"
#include "store/store.h"

/* Returns the kind of input at path, judged from its first bytes. */
enum wl_input
wl_input_kind(const char *path)
{
	char buf[256];
	size_t n, i;
	FILE *f;

	if (strcmp(path, "-") == 0)
		return WL_IN_LOG;
	if (st_is_server(path))
		return WL_IN_DB;
	if ((f = fopen(path, "rb")) == NULL)
		return WL_IN_LOG;	/* the log reader reports the error */
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (n >= 16 && memcmp(buf, "SQLite format 3", 16) == 0)
		return WL_IN_DB;
	/* a workload: comments and blank lines, then the magic word */
	for (i = 0; i < n;) {
		while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
			i++;
		if (i < n && buf[i] == '#') {
			while (i < n && buf[i] != '\n')
				i++;
			continue;
		}
		break;
	}
	if (n - i >= 19 && memcmp(buf + i, "flushscope-workload", 19) == 0)
		return WL_IN_WORKLOAD;
	return WL_IN_LOG;
}

/* ---- the log pipeline: detector and extractor ---- */

struct wl_pipe {
	struct sp_detector *det;
	struct wl_extractor *x;
	struct fs_err err;		/* the first error of a detector callback */
	int failed;
};

/* Detector callback: a run of wasted examinations goes to the extractor. */
static void
pipe_run(void *arg, const struct sp_run *r)
{
	struct wl_pipe *p = arg;

	if (!p->failed && wl_extract_run(p->x, r->fid, r->bno, r->start_us, r->end_us,
	    r->ended_us, &p->err) < 0)
		p->failed = 1;
}

/* A pipeline from attributed events to a workload. */
struct wl_pipe *
wl_pipe_new(const struct wl_extract_opts *o, const struct sp_options *sp, struct fs_err *err)
{
	struct wl_pipe *p = calloc(1, sizeof(*p));
	struct sp_callbacks cb;

	if (p == NULL) {
		fs_err_set(err, ENOMEM, "extract: out of memory");
		return NULL;
	}
	memset(&cb, 0, sizeof(cb));
	cb.arg = p;
	cb.run_end = pipe_run;
	if ((p->x = wl_extract_new(o, err)) == NULL ||
	    (p->det = sp_detector_new(sp, &cb, err)) == NULL) {
		wl_pipe_free(p);
		return NULL;
	}
	return p;
}

/* Feeds one attributed event to the detector and the extractor. */
int
wl_pipe_feed(struct wl_pipe *p, const struct ps_event *ev, struct fs_err *err)
{
	sp_detector_feed(p->det, ev);
	if (p->failed) {
		*err = p->err;
		return -1;
	}
	return wl_extract_feed(p->x, ev, err);
}

/* The detector's figures, summed over its threads (the busiest thread's period, timing, era). */
static void
figures(const struct sp_detector *d, struct wl_figures *f)
{
	uint64_t best = 0;
	int i;

	memset(f, 0, sizeof(*f));
	f->pass_period_us = f->sleep_us = f->line_us = -1;
	f->first_pass_us = INT64_MIN;
	for (i = 0; i < sp_detector_nthreads(d); i++) {
		struct sp_thread_stats st;

		sp_detector_thread(d, i, &st);
		f->examinations += (int64_t)st.examinations;
		f->wasted += (int64_t)st.wasted_examinations;
		f->passes += (int64_t)st.passes;
		if (st.first_pass_us != INT64_MIN && (f->first_pass_us == INT64_MIN ||
		    st.first_pass_us < f->first_pass_us))
			f->first_pass_us = st.first_pass_us;
		if (st.passes > best) {
			best = st.passes;
			f->pass_period_us = st.period_p50_us;
			f->sleep_us = st.sleep_p50_us;
			f->line_us = st.line_p50_us;
			f->era = st.era;
		}
	}
}

/* Ends the trace: the detector decides what is left; the workload is built. */
int
wl_pipe_finish(struct wl_pipe *p, struct wl_workload *w, struct fs_err *err)
{
	struct wl_figures f;

	sp_detector_finish(p->det);
	if (p->failed) {
		*err = p->err;
		return -1;
	}
	figures(p->det, &f);
	wl_extract_figures(p->x, &f);
	return wl_extract_finish(p->x, w, err);
}

/* Frees a pipeline. */
void
wl_pipe_free(struct wl_pipe *p)
{
	if (p == NULL)
		return;
	sp_detector_free(p->det);
	wl_extract_free(p->x);
	free(p);
}

/* Feeds every line of one log to the pipeline. */
static int
feed_log(struct wl_pipe *p, const char *path, int jobs, struct fs_err *err)
{
	struct ps_source *src;
	struct ps_item *it;
	int rc;

	if ((src = ps_source_open(path, NULL, jobs, err)) == NULL)
		return -1;
	sp_detector_new_stream(p->det);
	while ((rc = ps_source_next_ref(src, &it, err)) == 1) {
		if (wl_pipe_feed(p, &it->ev, err) < 0) {
			fs_err_prefix(err, "%s:%" PRIu64, path, it->lineno);
			rc = -1;
			break;
		}
	}
	ps_source_close(src);
	return rc < 0 ? -1 : 0;
}

/* Extracts a workload from log files, in the order given. */
int
wl_load_logs(struct wl_workload *w, char *const *paths, int n,
    const struct wl_extract_opts *o, struct fs_err *err)
{
	struct wl_pipe *p;
	int i, rc = 0;

	if ((p = wl_pipe_new(o, NULL, err)) == NULL)
		return n > 0 ? fs_err_name(err, paths[0]) : -1;
	for (i = 0; i < n && rc == 0; i++)
		if ((rc = feed_log(p, paths[i], o != NULL ? o->jobs : 1, err)) < 0)
			fs_err_name(err, paths[i]);
	if (rc == 0 && (rc = wl_pipe_finish(p, w, err)) < 0 && n > 0) {
		if (n == 1)
			fs_err_name(err, paths[0]);
		else
			fs_err_prefix(err, "%s and %d more", paths[0], n - 1);
	}
	wl_pipe_free(p);
	return rc;
}

/* Loads a workload from one input of any kind. */
int
wl_load(struct wl_workload *w, const char *path, const struct wl_extract_opts *o,
    struct fs_err *err)
{
	char *paths[1];

	switch (wl_input_kind(path)) {
	case WL_IN_WORKLOAD:
		return wl_read_file(w, path, err);
	case WL_IN_DB:
		return wl_load_db(w, path, o, err);
	default:
		paths[0] = (char *)path;
		return wl_load_logs(w, paths, 1, o, err);
	}
}
