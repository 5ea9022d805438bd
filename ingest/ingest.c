/*
 * ingest/ingest.c: reader -> parser -> spin detector -> store, with the
 * database writes on a second thread.  See ingest/ingest.h for the
 * resumability rules this file implements.
 */
#include "ingest/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "parsers/parser.h"
#include "util/clock.h"
#include "util/hash.h"

#define IG_COMMIT_LINES_DEFAULT 262144
#define IG_BATCH_BYTES_MAX (8u << 20)	/* close a batch at this much row data */
#define IG_UNPARSED_SAMPLES 10		/* unparsed lines kept per source */
#define IG_UNPARSED_TEXT 4096		/* bytes kept of each unparsed sample */
#define IG_BSTAT_CAP (1u << 16)		/* per-bmap counters held before flushing */
#define IG_MAX_THREADS 4096		/* distinct threads tracked per source */

/* ---- the writer thread ---- */

/*
 * Invariant: at most one batch is pending or being committed; the
 * ingesting thread fills the other one.  `failed` is sticky.
 */
struct writer {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct st_store *st;
	struct st_batch *pending;
	int busy, quit, failed;
	struct fs_err err;
};

/* Commits batches handed over by the ingesting thread. */
static void *
writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct st_batch *b;
		struct fs_err err;
		int rc;

		while (w->pending == NULL && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->pending == NULL)
			break;
		b = w->pending;
		w->pending = NULL;
		w->busy = 1;
		pthread_mutex_unlock(&w->mu);
		fs_err_clear(&err);
		rc = w->failed ? 0 : st_commit(w->st, b, &err);
		pthread_mutex_lock(&w->mu);
		w->busy = 0;
		if (rc != 0 && !w->failed) {
			w->failed = 1;
			w->err = err;
		}
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Waits until the writer is idle; returns -1 (err set) if a commit failed. */
static int
writer_drain(struct writer *w, struct fs_err *err)
{
	int failed;

	pthread_mutex_lock(&w->mu);
	while (w->pending != NULL || w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	failed = w->failed;
	if (failed)
		*err = w->err;
	pthread_mutex_unlock(&w->mu);
	return failed ? -1 : 0;
}

/* Hands a batch to the writer once it is idle. */
static int
writer_submit(struct writer *w, struct st_batch *b, struct fs_err *err)
{
	if (writer_drain(w, err) != 0)
		return -1;
	pthread_mutex_lock(&w->mu);
	w->pending = b;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* ---- per-run state ---- */

struct ig_thread {
	char name[SP_NAME_MAX], tid[SP_NAME_MAX];
	size_t namelen, tidlen;
	/* the series bucket being filled */
	int64_t sec;
	struct st_series row;
	int dirty;
	/* era-A attribution: the bmap of this thread's latest EXAMINE */
	int has_exam;
	uint64_t exam_fid;
	uint32_t exam_bno;
};

struct ig_bstat {
	uint64_t fid;
	uint32_t bno;
	int used;
	uint64_t exams, wasted;
};

struct ig_ingest {
	struct ig_options opt;
	struct st_store *st;
	struct writer w;
	int writer_started;
	struct st_batch *batch[2];
};

struct run {
	struct ig_ingest *ig;
	struct st_source src;
	uint64_t resume_off;		/* lines before this are already stored */
	uint64_t committed_off;		/* done_off as of the last batch handed over */
	int regular;			/* a regular file (by path): it may still grow */
	struct st_batch *cur;
	int curi;
	uint64_t batch_lines;
	struct ig_result *res;
	struct ig_thread *th;
	int nth, lastth;
	struct ig_bstat *bs;
	size_t nbs;
	int failed;
	struct fs_err err;
};

/* Fills in defaults. */
void
ig_options_default(struct ig_options *o)
{
	memset(o, 0, sizeof(*o));
	o->commit_lines = IG_COMMIT_LINES_DEFAULT;
	sp_options_default(&o->sp);
}

/* Names a status. */
const char *
ig_status_name(enum ig_status s)
{
	switch (s) {
	case IG_NEW:
		return "new";
	case IG_RESUMED:
		return "resumed";
	case IG_UNCHANGED:
		return "unchanged";
	case IG_ROTATED:
		return "rotated";
	}
	return "?";
}

/* Opens the database and starts the writer thread. */
struct ig_ingest *
ig_new(const char *db_path, const struct ig_options *o, struct fs_err *err)
{
	struct ig_ingest *ig = calloc(1, sizeof(*ig));

	if (ig == NULL) {
		fs_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	ig->opt = *o;
	if (ig->opt.commit_lines == 0)
		ig->opt.commit_lines = IG_COMMIT_LINES_DEFAULT;
	if ((ig->st = st_open(db_path, ST_OPEN_CREATE, err)) == NULL)
		goto fail;
	if ((ig->batch[0] = st_batch_new()) == NULL || (ig->batch[1] = st_batch_new()) == NULL) {
		fs_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	ig->w.st = ig->st;
	pthread_mutex_init(&ig->w.mu, NULL);
	pthread_cond_init(&ig->w.cv, NULL);
	if ((errno = pthread_create(&ig->w.th, NULL, writer_main, &ig->w)) != 0) {
		fs_err_set(err, errno, "cannot start the writer thread: %s", strerror(errno));
		goto fail;
	}
	ig->writer_started = 1;
	return ig;
fail:
	ig_free(ig);
	return NULL;
}

/* Stops the writer, closes the database, frees everything. */
void
ig_free(struct ig_ingest *ig)
{
	if (ig == NULL)
		return;
	if (ig->writer_started) {
		pthread_mutex_lock(&ig->w.mu);
		ig->w.quit = 1;
		pthread_cond_broadcast(&ig->w.cv);
		pthread_mutex_unlock(&ig->w.mu);
		pthread_join(ig->w.th, NULL);
		pthread_mutex_destroy(&ig->w.mu);
		pthread_cond_destroy(&ig->w.cv);
	}
	st_batch_free(ig->batch[0]);
	st_batch_free(ig->batch[1]);
	st_close(ig->st);
	free(ig);
}

/* ---- batches ---- */

/* Sends the current batch (with the source bookkeeping) and switches to the other. */
static int
run_flush(struct run *r)
{
	if (r->failed)
		return -1;
	st_batch_expect_offset(r->cur, r->committed_off);
	r->committed_off = r->src.done_off;
	st_batch_set_source(r->cur, &r->src);
	if (writer_submit(&r->ig->w, r->cur, &r->err) != 0) {
		r->failed = 1;
		return -1;
	}
	r->curi ^= 1;
	r->cur = r->ig->batch[r->curi];
	st_batch_clear(r->cur);
	r->batch_lines = 0;
	return 0;
}

/* ---- threads and series ---- */

/* Writes a thread's series bucket into the batch and empties it. */
static void
series_emit(struct run *r, int tno)
{
	struct ig_thread *t = &r->th[tno];

	if (!t->dirty)
		return;
	t->row.tno = tno;
	t->row.sec = t->sec;
	st_batch_add_series(r->cur, &t->row);
	memset(&t->row, 0, sizeof(t->row));
	t->row.max_outstanding = -1;
	t->dirty = 0;
}

/* The series row of thread tno for second sec (a fresh standalone row if another second is open). */
static struct st_series *
series_at(struct run *r, int tno, int64_t sec, struct st_series *tmp)
{
	struct ig_thread *t = &r->th[tno];

	if (!t->dirty) {
		t->sec = sec;
		t->dirty = 1;
		return &t->row;
	}
	if (t->sec == sec)
		return &t->row;
	if (sec > t->sec) {
		series_emit(r, tno);
		t->sec = sec;
		t->dirty = 1;
		return &t->row;
	}
	/* an earlier second (a callback about a past event): its own row */
	memset(tmp, 0, sizeof(*tmp));
	tmp->tno = tno;
	tmp->sec = sec;
	tmp->max_outstanding = -1;
	return tmp;
}

/* Flushes a standalone row returned by series_at. */
static void
series_done(struct run *r, struct st_series *row, struct st_series *tmp)
{
	if (row == tmp)
		st_batch_add_series(r->cur, tmp);
}

/* Seconds of a microsecond timestamp (floor). */
static int64_t
sec_of(int64_t us)
{
	return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
}

/* Finds or creates the thread (name, tid); returns its tno or -1. */
static int
thread_find(struct run *r, const char *name, size_t namelen, const char *tid, size_t tidlen,
    int create)
{
	struct ig_thread *t;
	int i;

	if (namelen >= SP_NAME_MAX)
		namelen = SP_NAME_MAX - 1;
	if (tidlen >= SP_NAME_MAX)
		tidlen = SP_NAME_MAX - 1;
	if (r->lastth >= 0) {
		t = &r->th[r->lastth];
		if (t->namelen == namelen && t->tidlen == tidlen &&
		    memcmp(t->name, name, namelen) == 0 && memcmp(t->tid, tid, tidlen) == 0)
			return r->lastth;
	}
	for (i = 0; i < r->nth; i++) {
		t = &r->th[i];
		if (t->namelen == namelen && t->tidlen == tidlen &&
		    memcmp(t->name, name, namelen) == 0 && memcmp(t->tid, tid, tidlen) == 0)
			return r->lastth = i;
	}
	if (!create || r->nth >= IG_MAX_THREADS)
		return -1;
	t = &r->th[r->nth];
	memset(t, 0, sizeof(*t));
	memcpy(t->name, name, namelen);
	memcpy(t->tid, tid, tidlen);
	t->namelen = namelen;
	t->tidlen = tidlen;
	t->row.max_outstanding = -1;
	st_batch_add_thread(r->cur, r->nth, t->name, namelen, t->tid, tidlen);
	return r->lastth = r->nth++;
}

/* ---- per-bmap counters ---- */

/* Writes all per-bmap counters into the batch and empties the table. */
static void
bstat_flush(struct run *r)
{
	size_t i;

	for (i = 0; i < IG_BSTAT_CAP; i++) {
		struct ig_bstat *b = &r->bs[i];
		struct st_bmap_stat s;

		if (!b->used)
			continue;
		memset(&s, 0, sizeof(s));
		s.fid = b->fid;
		s.bno = b->bno;
		s.examinations = b->exams;
		s.wasted = b->wasted;
		st_batch_add_bmap_stat(r->cur, &s);
		b->used = 0;
	}
	r->nbs = 0;
}

/* The counters of bmap (fid, bno). */
static struct ig_bstat *
bstat_get(struct run *r, uint64_t fid, uint32_t bno)
{
	uint64_t x = fid * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)bno * 0xbf58476d1ce4e5b9ULL);
	size_t h;

	if (r->nbs >= IG_BSTAT_CAP / 2)
		bstat_flush(r);
	x ^= x >> 31;
	h = (size_t)(x & (IG_BSTAT_CAP - 1));
	while (r->bs[h].used) {
		if (r->bs[h].fid == fid && r->bs[h].bno == bno)
			return &r->bs[h];
		h = (h + 1) & (IG_BSTAT_CAP - 1);
	}
	r->bs[h].used = 1;
	r->bs[h].fid = fid;
	r->bs[h].bno = bno;
	r->bs[h].exams = r->bs[h].wasted = 0;
	r->nbs++;
	return &r->bs[h];
}

/* ---- detector callbacks ---- */

/* An episode is final: store it. */
static void
on_episode(void *arg, const struct sp_episode *ep)
{
	struct run *r = arg;
	int tno = thread_find(r, ep->thread, strlen(ep->thread), ep->tid, strlen(ep->tid), 0);

	st_batch_add_episode(r->cur, tno, ep);
	r->res->episodes++;
}

/* One wasted examination: count it per second and per bmap. */
static void
on_wasted(void *arg, const struct ps_event *ev, uint64_t fid, uint32_t bno)
{
	struct run *r = arg;
	struct st_series tmp, *row;
	int tno;

	bstat_get(r, fid, bno)->wasted++;
	if (ev->ts_us == INT64_MIN)
		return;
	tno = thread_find(r, ev->thread.p, ev->thread.n, ev->tid_s.p, ev->tid_s.n, 0);
	if (tno < 0)
		return;
	row = series_at(r, tno, sec_of(ev->ts_us), &tmp);
	row->wasted++;
	series_done(r, row, &tmp);
}

/* A pass ended: count it in the second it started. */
static void
on_pass(void *arg, const char *thread, int64_t start_us, int64_t end_us, int useful)
{
	struct run *r = arg;
	struct st_series tmp, *row;
	size_t n = strlen(thread);
	int i, tno = -1;

	(void)end_us;
	if (start_us == INT64_MIN)
		return;
	if (r->lastth >= 0 && r->th[r->lastth].namelen == n &&
	    memcmp(r->th[r->lastth].name, thread, n) == 0)
		tno = r->lastth;
	for (i = 0; tno < 0 && i < r->nth; i++)
		if (r->th[i].namelen == n && memcmp(r->th[i].name, thread, n) == 0)
			tno = i;
	if (tno < 0)
		return;
	row = series_at(r, tno, sec_of(start_us), &tmp);
	row->passes++;
	if (!useful)
		row->useless_passes++;
	series_done(r, row, &tmp);
}

/* ---- one line ---- */

/* Stores the rows one parsed line yields (only for lines not yet stored). */
static void
store_event(struct run *r, const struct ps_event *ev, int tno)
{
	struct st_batch *b = r->cur;

	if (ev->has & PS_HAS_BMAP)
		st_batch_note_bmap(b, ev->bmap.fid, ev->bmap.bno, ev->bmap.addr, ev->ts_us);
	switch (ev->kind) {
	case PS_EV_RPC_SEND:
	case PS_EV_RPC_DONE: {
		struct st_rpc x;

		memset(&x, 0, sizeof(x));
		x.src_off = ev->src_off;
		x.tno = tno;
		x.ts_us = ev->ts_us;
		x.kind = ev->kind == PS_EV_RPC_DONE ? ST_RPC_DONE : ST_RPC_SEND;
		x.xid = (ev->has & PS_HAS_REQ) ? ev->req.xid : -1;
		x.req_addr = (ev->has & PS_HAS_REQ) ? ev->req.addr : 0;
		x.off = ev->rpc_off;
		x.sz = ev->rpc_sz;
		x.outstanding = ev->outstanding;
		x.rc = ev->rpc_rc;
		x.bno = -1;
		if (ev->rpc_fid != 0) {
			x.has_bmap = 1;
			x.fid = ev->rpc_fid;
			x.bno = ev->rpc_bno;
		} else if (ev->has & PS_HAS_BMAP) {
			x.has_bmap = 1;
			x.fid = ev->bmap.fid;
			x.bno = ev->bmap.bno;
		} else if (x.kind == ST_RPC_SEND && tno >= 0 && r->th[tno].has_exam) {
			/* era A: a req@ line belongs to the thread's latest EXAMINE */
			x.has_bmap = 1;
			x.fid = r->th[tno].exam_fid;
			x.bno = r->th[tno].exam_bno;
		}
		st_batch_add_rpc(b, &x);
		break;
	}
	case PS_EV_WRITE_READY: {
		struct st_write x;

		memset(&x, 0, sizeof(x));
		x.src_off = ev->src_off;
		x.tno = tno;
		x.ts_us = ev->ts_us;
		x.bno = -1;
		x.off = x.len = -1;
		x.msg_id = ev->msg_id;
		if (ev->has & PS_HAS_BMAP) {
			x.has_bmap = 1;
			x.fid = ev->bmap.fid;
			x.bno = ev->bmap.bno;
			x.bmap_addr = ev->bmap.addr;
		}
		if (ev->has & PS_HAS_BIORQ) {
			x.biorq_addr = ev->biorq.addr;
			x.off = ev->biorq.off;
			x.len = ev->biorq.len;
			if (x.bmap_addr == 0)
				x.bmap_addr = ev->biorq.bmap_addr;
		}
		st_batch_add_write(b, &x);
		break;
	}
	case PS_EV_CLEAN:
		if (ev->has & PS_HAS_BMAP) {
			struct st_state x;

			memset(&x, 0, sizeof(x));
			x.src_off = ev->src_off;
			x.tno = tno;
			x.ts_us = ev->ts_us;
			x.fid = ev->bmap.fid;
			x.bno = ev->bmap.bno;
			x.bmap_addr = ev->bmap.addr;
			x.kind = PS_EV_CLEAN;
			x.msg_id = ev->msg_id;
			x.flags = ev->bmap.flags;
			x.opcnt = ev->bmap.opcnt;
			st_batch_add_state(b, &x);
		}
		break;
	case PS_EV_OTHER:
		if (ev->msg.n >= 12 && memcmp(ev->msg.p, "force expire", 12) == 0) {
			struct st_forced x;

			memset(&x, 0, sizeof(x));
			x.src_off = ev->src_off;
			x.tno = tno;
			x.ts_us = ev->ts_us;
			x.bno = -1;
			if (ev->has & PS_HAS_BMAP) {
				x.has_bmap = 1;
				x.fid = ev->bmap.fid;
				x.bno = ev->bmap.bno;
			}
			if (ev->has & PS_HAS_BIORQ)
				x.biorq_addr = ev->biorq.addr;
			st_batch_add_forced(b, &x);
		}
		break;
	default:
		break;
	}
}

/* Feeds one parsed line to the series, the per-bmap counters and the detector. */
static void
analyse_event(struct run *r, struct sp_detector *d, const struct ps_event *ev, int tno)
{
	if (tno >= 0 && ev->ts_us != INT64_MIN) {
		struct ig_thread *t = &r->th[tno];
		struct st_series tmp, *row = NULL;

		switch (ev->kind) {
		case PS_EV_EXAMINE:
		case PS_EV_RPC_SEND:
		case PS_EV_RPC_DONE:
			row = series_at(r, tno, sec_of(ev->ts_us), &tmp);
			if (ev->kind == PS_EV_EXAMINE)
				row->examinations++;
			else if (ev->kind == PS_EV_RPC_SEND)
				row->rpcs_sent++;
			else
				row->rpcs_done++;
			break;
		default:
			if (ev->outstanding >= 0)
				row = series_at(r, tno, sec_of(ev->ts_us), &tmp);
			break;
		}
		if (row != NULL) {
			if (ev->outstanding > row->max_outstanding)
				row->max_outstanding = ev->outstanding;
			series_done(r, row, &tmp);
		}
		if (ev->kind == PS_EV_EXAMINE && (ev->has & PS_HAS_BMAP)) {
			t->has_exam = 1;
			t->exam_fid = ev->bmap.fid;
			t->exam_bno = ev->bmap.bno;
		}
	}
	if (ev->kind == PS_EV_EXAMINE && (ev->has & PS_HAS_BMAP))
		bstat_get(r, ev->bmap.fid, ev->bmap.bno)->exams++;
	sp_detector_feed(d, ev);
}

/* ---- identity ---- */

/* Reads the first bytes of a file and its identity; -1 with err on failure. */
static int
read_head(const char *path, unsigned char *head, size_t *headn, struct stat *sb,
    struct fs_err *err)
{
	int fd;
	ssize_t n;
	size_t got = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return fs_err_set(err, errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, sb) != 0) {
		fs_err_set(err, errno, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(sb->st_mode)) {
		close(fd);
		return fs_err_set(err, EISDIR, "%s: is a directory, not a log file", path);
	}
	while (got < ST_HEAD_MAX && (n = read(fd, head + got, ST_HEAD_MAX - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fs_err_set(err, errno, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	*headn = got;
	return 0;
}

/* Counts the episodes a query returns. */
static int
count_episode(void *arg, const struct st_episode_row *row)
{
	(void)row;
	(*(uint64_t *)arg)++;
	return 0;
}

/*
 * Decides how to treat path against what the database knows: fills r->src
 * and r->res->status/note.  Returns 1 if there is nothing to read, 0 to
 * read, -1 on error.
 */
static int
identify(struct run *r, const char *path, struct fs_err *err)
{
	struct st_store *st = r->ig->st;
	unsigned char head[ST_HEAD_MAX];
	size_t headn = 0;
	struct stat sb;
	struct st_source *old = &r->src;
	char abs[PATH_MAX];
	const char *key = path;
	int found;

	memset(&r->src, 0, sizeof(r->src));
	if (strcmp(path, "-") == 0) {
		snprintf(r->src.path, sizeof(r->src.path), "-");
		r->res->status = IG_NEW;
		return st_source_add(st, &r->src, err) == 0 ? 0 : -1;
	}
	if (stat(path, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode) ||
	    S_ISSOCK(sb.st_mode))) {
		/*
		 * A pipe or device named by path (/dev/stdin, a FIFO) is a stream
		 * like "-": peeking at its head would consume it, and it has no
		 * identity to resume by.
		 */
		snprintf(r->src.path, sizeof(r->src.path), "%s", path);
		r->res->status = IG_NEW;
		return st_source_add(st, &r->src, err) == 0 ? 0 : -1;
	}
	if (read_head(path, head, &headn, &sb, err) != 0)
		return -1;
	if (realpath(path, abs) != NULL)
		key = abs;
	found = st_source_find_path(st, key, old, err);
	if (found < 0)
		return -1;
	if (found) {
		uint64_t sum = old->head_len <= headn ? fs_fnv1a(head, (size_t)old->head_len) : 0;

		if (old->head_len > headn || sum != old->head_sum ||
		    (uint64_t)sb.st_size < old->size) {
			snprintf(r->res->note, sizeof(r->res->note),
			    "%s: %s since the last ingest (source %lld: %llu bytes, now %llu);"
			    " ingested as a new source, the old one is kept", path,
			    (uint64_t)sb.st_size < old->size ? "truncated" : "rotated or replaced",
			    (long long)old->id, (unsigned long long)old->size,
			    (unsigned long long)sb.st_size);
			r->res->status = IG_ROTATED;
			found = 0;
		}
	} else if (headn == ST_HEAD_MAX) {
		found = st_source_find_head(st, fs_fnv1a(head, headn), headn, old, err);
		if (found < 0)
			return -1;
		if (found && (uint64_t)sb.st_size < old->size)
			found = 0;	/* same start, shorter: not the same file */
	}
	r->regular = S_ISREG(sb.st_mode);
	if (found) {
		/* a plain file read to its end but for a held-back last line */
		int held = !old->gz && old->done_off < old->size;

		r->src.dev = (uint64_t)sb.st_dev;
		r->src.ino = (uint64_t)sb.st_ino;
		if (old->state == ST_SRC_COMPLETE && (uint64_t)sb.st_size == old->size &&
		    !(held && r->ig->opt.final)) {
			struct st_filter flt;
			int k;

			/* unchanged: report what is stored for it, not zeros */
			r->res->status = IG_UNCHANGED;
			r->res->lines = old->lines;
			r->res->unparsed = old->unparsed;
			for (k = 0; k < PS_EV_NKINDS; k++)
				r->res->events[k] = old->events[k];
			st_filter_init(&flt);
			flt.source_id = old->id;
			if (st_query_episodes(st, &flt, count_episode, &r->res->episodes, err) != 0)
				return -1;
			if (held) {
				r->res->held = 1;
				r->res->held_bytes = old->size - old->done_off;
				r->res->held_lineno = old->lines + 1;
			}
			return 1;
		}
		snprintf(r->src.path, sizeof(r->src.path), "%s", key);
		r->src.size = (uint64_t)sb.st_size;
		r->res->status = IG_RESUMED;
		return 0;
	}
	if (r->res->status != IG_ROTATED)
		r->res->status = IG_NEW;
	memset(&r->src, 0, sizeof(r->src));
	snprintf(r->src.path, sizeof(r->src.path), "%s", key);
	r->src.dev = (uint64_t)sb.st_dev;
	r->src.ino = (uint64_t)sb.st_ino;
	r->src.size = (uint64_t)sb.st_size;
	r->src.head_len = headn;
	r->src.head_sum = fs_fnv1a(head, headn);
	r->src.gz = headn >= 2 && head[0] == 0x1f && head[1] == 0x8b;
	return st_source_add(st, &r->src, err) == 0 ? 0 : -1;
}

/* ---- the loop ---- */

/* Copies the parser's formats into the source row ('\n'-separated). */
static void
formats_copy(struct ps_parser *p, char *dst, size_t n)
{
	size_t k = 0;
	int i;

	dst[0] = '\0';
	for (i = 0; i < ps_parser_nformats(p) && k < n; i++) {
		int w = snprintf(dst + k, n - k, "%s%s", i ? "\n" : "", ps_parser_format(p, i));

		if (w < 0)
			break;
		k += (size_t)w;
	}
}

/* Ingests one input. */
int
ig_file(struct ig_ingest *ig, const char *path, struct ig_result *res, struct fs_err *err)
{
	struct run *r;
	struct ps_reader *rd = NULL;
	struct ps_parser *ps = NULL;
	struct sp_detector *det = NULL;
	struct sp_callbacks cb;
	struct ps_event ev;
	const char *line;
	size_t len;
	uint64_t off, lineno = 0, stored_end, end_off;
	double t0 = fs_mono_s(), tlast = t0;
	int rc, ret = -1, k;

	memset(res, 0, sizeof(*res));
	fs_err_clear(err);
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->th = calloc(IG_MAX_THREADS, sizeof(*r->th))) == NULL ||
	    (r->bs = calloc(IG_BSTAT_CAP, sizeof(*r->bs))) == NULL) {
		if (r != NULL)
			free(r->th);
		free(r);
		return fs_err_set(err, ENOMEM, "%s: out of memory", path);
	}
	r->ig = ig;
	r->res = res;
	r->lastth = -1;
	r->curi = 0;
	r->cur = ig->batch[0];
	st_batch_clear(r->cur);

	if (writer_drain(&ig->w, err) != 0)
		goto out;
	if ((rc = identify(r, path, err)) < 0)
		goto out;
	res->source_id = r->src.id;
	if (rc == 1) {
		snprintf(res->formats, sizeof(res->formats), "%s", r->src.formats);
		ret = 0;
		goto out;
	}
	r->resume_off = r->src.done_off;
	r->committed_off = r->src.done_off;
	stored_end = r->src.done_off;
	r->src.state = ST_SRC_PARTIAL;
	st_batch_replace_derived(r->cur);

	if ((rd = ps_reader_open(path, 0, err)) == NULL)
		goto out;
	if ((ps = ps_parser_new(ig->opt.log_format, err)) == NULL)
		goto out;
	memset(&cb, 0, sizeof(cb));
	cb.arg = r;
	cb.episode = on_episode;
	cb.wasted = on_wasted;
	cb.pass = on_pass;
	if ((det = sp_detector_new(&ig->opt.sp, &cb, err)) == NULL)
		goto out;

	while ((rc = ps_reader_next(rd, &line, &len, &off, err)) == 1) {
		int parsed, tno = -1;
		int store = off >= r->resume_off;

		if (store && r->regular && !ig->opt.final && ps_reader_unterminated(rd) &&
		    !ps_reader_is_gz(rd)) {
			/*
			 * The writer may be in the middle of this line: leave it
			 * (done_off stays before it) for the run that finds it
			 * finished.  Nothing follows it: the loop ends.
			 */
			res->held = 1;
			res->held_bytes = ps_reader_offset(rd) - off;
			res->held_lineno = lineno + 1;
			continue;
		}
		if (!store && ps_reader_offset(rd) > r->resume_off)
			snprintf(res->note, sizeof(res->note), "%s:%llu: this line was stored "
			    "unfinished by an earlier ingest (--final, or a flushscope that did "
			    "not hold back an unterminated last line); the rest of it is not "
			    "stored", path, (unsigned long long)(lineno + 1));
		lineno++;
		parsed = ps_parser_parse(ps, line, len, off, lineno, &ev);
		if (parsed && ev.thread.n > 0)
			tno = thread_find(r, ev.thread.p, ev.thread.n, ev.tid_s.p, ev.tid_s.n, 1);
		if (store) {
			r->src.lines++;
			res->lines++;
			if (!parsed) {
				if (r->src.unparsed < IG_UNPARSED_SAMPLES)
					st_batch_add_unparsed(r->cur, off, lineno, line,
					    len < IG_UNPARSED_TEXT ? len : IG_UNPARSED_TEXT);
				if (res->sample_lineno == 0) {
					size_t n = len < IG_SAMPLE_MAX - 1 ? len : IG_SAMPLE_MAX - 1;
					size_t j;

					/*
					 * The sample is for display: NUL and control
					 * bytes become '?' so it is neither cut at a
					 * NUL nor able to drive a terminal.  The
					 * unparsed table keeps the exact bytes.
					 */
					for (j = 0; j < n; j++) {
						unsigned char c = (unsigned char)line[j];

						res->sample[j] = c < 0x20 || c == 0x7f ? '?' : (char)c;
					}
					res->sample[n] = '\0';
					res->sample_lineno = lineno;
				}
				r->src.unparsed++;
				res->unparsed++;
			} else {
				r->src.events[ev.kind]++;
				res->events[ev.kind]++;
				store_event(r, &ev, tno);
			}
			if (ig->opt.keep_text)
				st_batch_add_line(r->cur, off, lineno, line, len);
			stored_end = ps_reader_offset(rd);
			r->src.done_off = stored_end;
		}
		if (parsed)
			analyse_event(r, det, &ev, tno);
		if (++r->batch_lines >= ig->opt.commit_lines ||
		    st_batch_bytes(r->cur) >= IG_BATCH_BYTES_MAX) {
			formats_copy(ps, r->src.formats, sizeof(r->src.formats));
			if (run_flush(r) != 0) {
				*err = r->err;
				goto out;
			}
		}
		if ((lineno & 16383) == 0 && ig->opt.progress != NULL) {
			double t = fs_mono_s();

			if (t - tlast >= 0.25) {
				struct ig_progress p;

				p.path = path;
				p.bytes = ps_reader_offset(rd);
				p.total = r->src.gz ? 0 : r->src.size;
				p.lines = lineno;
				p.seconds = t - t0;
				ig->opt.progress(ig->opt.progress_arg, &p);
				tlast = t;
			}
		}
	}
	if (rc < 0) {
		/* keep what was read: commit it (the source stays partial) */
		struct fs_err e2;

		formats_copy(ps, r->src.formats, sizeof(r->src.formats));
		if (run_flush(r) == 0)
			writer_drain(&ig->w, &e2);
		goto out;
	}
	end_off = ps_reader_offset(rd) - res->held_bytes;
	res->bytes = end_off;

	/* end of input: the detector's final results, then mark complete */
	sp_detector_finish(det);
	for (k = 0; k < r->nth; k++)
		series_emit(r, k);
	bstat_flush(r);
	for (k = 0; k < sp_detector_nthreads(det); k++) {
		struct sp_thread_stats ts;
		int tno;

		sp_detector_thread(det, k, &ts);
		tno = thread_find(r, ts.thread, strlen(ts.thread), ts.tid, strlen(ts.tid), 0);
		if (tno >= 0)
			st_batch_add_thread_stats(r->cur, tno, &ts);
	}
	formats_copy(ps, r->src.formats, sizeof(r->src.formats));
	snprintf(res->formats, sizeof(res->formats), "%s", r->src.formats);
	if (r->src.done_off < end_off)
		r->src.done_off = end_off;
	r->src.state = ST_SRC_COMPLETE;
	if (run_flush(r) != 0 || writer_drain(&ig->w, &r->err) != 0) {
		*err = r->err;
		goto out;
	}
	ret = 0;
out:
	res->seconds = fs_mono_s() - t0;
	if (ret != 0 && ig != NULL) {
		struct fs_err e2;

		writer_drain(&ig->w, &e2);
	}
	sp_detector_free(det);
	ps_parser_free(ps);
	if (rd != NULL)
		ps_reader_close(rd);
	free(r->th);
	free(r->bs);
	free(r);
	return ret;
}
