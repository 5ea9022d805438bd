/*
 * ingest/record: one sink per followed input, each with its own ingest
 * engine (database connection and writer thread), see ingest/record.h.
 */
#include "ingest/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec_input {
	struct ig_recorder *r;
	const char *path;
	struct ig_ingest *ig;
	struct ig_sink *sink;		/* NULL after a failure to start a source */
	struct sp_callbacks cb;		/* the current sink's callbacks */
	struct ig_result res;
	uint64_t generation;
	uint64_t stored;		/* lines of earlier sources of this input */
};

struct ig_recorder {
	struct rec_input *in;
	int n;
	uint64_t commits;
	char err[512];
	void (*wait)(void *arg, const char *why);	/* told while a locked database is waited for */
	void *wait_arg;
};

/*
 * Starts recording input i's current file; -1 with err.  A database
 * locked by another writer is waited for (each try waits the busy
 * timeout): the input is not read meanwhile, so nothing goes unrecorded.
 */
static int
input_open(struct rec_input *x, struct fs_err *err)
{
	int unchanged;

	memset(&x->res, 0, sizeof(x->res));
	while ((x->sink = ig_sink_open(x->ig, x->path, 1, &x->res, &unchanged, err)) == NULL) {
		if (err->code != EBUSY)
			return -1;
		snprintf(x->r->err, sizeof(x->r->err), "%s", err->msg);
		if (x->r->wait != NULL)
			x->r->wait(x->r->wait_arg, err->msg);
	}
	x->r->err[0] = '\0';
	ig_sink_callbacks(x->sink, &x->cb);
	return 0;
}

/* Ends input i's current source (a final commit) and closes its sink. */
static int
input_close(struct rec_input *x, const struct sp_detector *det, const struct ps_parser *p,
    struct fs_err *err)
{
	int rc = 0;

	if (x->sink == NULL)
		return 0;
	rc = ig_sink_commit(x->sink, det, p, 1, err);
	if (ig_sink_close(x->sink, rc == 0 ? err : NULL) != 0)	/* waits for the writer */
		rc = -1;
	x->sink = NULL;
	x->stored += x->res.lines;
	return rc;
}

/* Creates a recorder. */
struct ig_recorder *
ig_record_new(const char *db, char *const *paths, int n, const struct ig_options *o,
    void (*wait)(void *arg, const char *why), void *wait_arg, struct fs_err *err)
{
	struct ig_recorder *r = calloc(1, sizeof(*r));
	int i;

	if (r == NULL || (r->in = calloc((size_t)n, sizeof(*r->in))) == NULL) {
		free(r);
		fs_err_set(err, ENOMEM, "%s: out of memory", db);
		return NULL;
	}
	r->n = n;
	r->wait = wait;
	r->wait_arg = wait_arg;
	for (i = 0; i < n; i++) {
		struct rec_input *x = &r->in[i];

		x->r = r;
		x->path = paths[i];
		if ((x->ig = ig_new(db, o, err)) == NULL || input_open(x, err) != 0) {
			ig_record_free(r);
			return NULL;
		}
	}
	return r;
}

/* Forwarders: the detector's results go to the input's current sink. */
static void
fw_episode(void *arg, const struct sp_episode *ep)
{
	struct rec_input *x = arg;

	if (x->sink != NULL && x->cb.episode != NULL)
		x->cb.episode(x->cb.arg, ep);
}

static void
fw_exam(void *arg, const struct sp_exam *e)
{
	struct rec_input *x = arg;

	if (x->sink != NULL && x->cb.exam != NULL)
		x->cb.exam(x->cb.arg, e);
}

static void
fw_pass_start(void *arg, const struct sp_pass *p)
{
	struct rec_input *x = arg;

	if (x->sink != NULL && x->cb.pass_start != NULL)
		x->cb.pass_start(x->cb.arg, p);
}

static void
fw_pass(void *arg, const struct sp_pass *p)
{
	struct rec_input *x = arg;

	if (x->sink != NULL && x->cb.pass != NULL)
		x->cb.pass(x->cb.arg, p);
}

/* The callbacks for input src's detector. */
void
ig_record_callbacks(struct ig_recorder *r, int src, struct sp_callbacks *cb)
{
	memset(cb, 0, sizeof(*cb));
	if (src < 0 || src >= r->n)
		return;
	cb->arg = &r->in[src];
	cb->episode = fw_episode;
	cb->exam = fw_exam;
	cb->pass_start = fw_pass_start;
	cb->pass = fw_pass;
}

/* Records one line (starting a new source on a new generation). */
int
ig_record_line(struct ig_recorder *r, int src, uint64_t generation,
    const struct sp_detector *det, const struct ps_item *it, struct fs_err *err)
{
	struct rec_input *x;

	if (src < 0 || src >= r->n)
		return 0;
	x = &r->in[src];
	if (generation != x->generation) {
		x->generation = generation;
		/* the old file is read to its end: its source is complete */
		if (input_close(x, det, NULL, err) != 0 || input_open(x, err) != 0) {
			snprintf(r->err, sizeof(r->err), "%s", err->msg);
			return -1;
		}
	}
	if (x->sink != NULL)
		ig_sink_line(x->sink, it);
	return 0;
}

/* Commits input src's recording. */
int
ig_record_commit(struct ig_recorder *r, int src, const struct sp_detector *det,
    const struct ps_parser *p, int final, struct fs_err *err)
{
	struct rec_input *x;
	int rc;

	if (src < 0 || src >= r->n || (x = &r->in[src])->sink == NULL)
		return 0;
	rc = final ? input_close(x, det, p, err) : ig_sink_commit(x->sink, det, p, 0, err);
	if (rc != 0)
		snprintf(r->err, sizeof(r->err), "%s", err->msg);
	else {
		r->err[0] = '\0';
		r->commits++;
	}
	return rc;
}

/* Lines stored so far, commits, last error. */
void
ig_record_status(const struct ig_recorder *r, uint64_t *lines, uint64_t *commits, char *err,
    size_t n)
{
	int i;

	*lines = 0;
	for (i = 0; i < r->n; i++)
		*lines += r->in[i].stored + r->in[i].res.lines;
	*commits = r->commits;
	snprintf(err, n, "%s", r->err);
}

/* Frees the recorder. */
void
ig_record_free(struct ig_recorder *r)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		ig_sink_close(r->in[i].sink, NULL);
		ig_free(r->in[i].ig);
	}
	free(r->in);
	free(r);
}
