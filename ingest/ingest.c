/*
 * ingest/ingest.c: a source of events -> spin detector -> store, with the
 * database writes on a second thread.  See ingest/ingest.h for the
 * resumability rules this file implements.
 *
 * Pieces
 *   writer   a thread that commits batches in the order they were handed
 *            over (a queue of at most two).  A failed commit stays at the
 *            head of the queue until the producer asks for a retry, so
 *            nothing is lost and nothing is committed out of order.
 *   sink     one input being recorded: the rows of its lines, its counts,
 *            and the detector's results (per-second series per thread and
 *            per bmap, episodes, thread figures), built into a batch.
 *            Batches cycle through a pool of three: one being filled, at
 *            most two with the writer.
 *   ig_file  identify, then a source loop feeding the sink and the
 *            detector.
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
#include <unistd.h>

#include "parsers/parser.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/map.h"
#include "util/vec.h"

#define IG_COMMIT_LINES_DEFAULT 262144	/* into a file */
#define IG_COMMIT_LINES_SERVER 65536	/* into a server: commits overlap the reading */
#define IG_BATCH_BYTES_MAX (4u << 20)	/* close a batch at this much row data */
#define IG_MIN_BATCH_BYTES (1u << 20)	/* the first batch, and the least near a file's end, in
					   bytes of the input (ig_sink_full) */
#define IG_RAMP_BYTES (32u << 20)	/* the batches ramp up until a run stored this much input */
#define IG_UNPARSED_SAMPLES 10		/* unparsed lines kept per source */
#define IG_UNPARSED_TEXT 4096		/* bytes kept of each unparsed sample */
#define IG_MAX_THREADS 4096		/* distinct threads tracked per source */
#define IG_NBATCH 3			/* one being filled, two with the writer */

/* ---- the writer thread ---- */

struct writer {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct st_store *st;
	struct st_batch *q[2];		/* FIFO: q[0] is committed first */
	int nq;
	int busy;			/* committing q[0] */
	int failed;			/* q[0] failed; waits for a retry */
	int retry;			/* the producer asked for a retry */
	int quit;
	struct fs_err err;
};

/* Commits batches in order; a failed one waits for writer_retry. */
static void *
writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct st_batch *b;
		struct fs_err err;
		int rc;

		while (!w->quit && (w->nq == 0 || (w->failed && !w->retry)))
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit)
			break;
		b = w->q[0];
		w->busy = 1;
		w->retry = 0;
		pthread_mutex_unlock(&w->mu);
		fs_err_clear(&err);
		rc = st_commit(w->st, b, &err);
		pthread_mutex_lock(&w->mu);
		w->busy = 0;
		if (rc != 0) {
			w->failed = 1;
			w->err = err;
		} else {
			w->failed = 0;
			w->q[0] = w->q[1];
			w->q[1] = NULL;
			w->nq--;
			st_batch_clear(b);
		}
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/*
 * Waits until the writer has committed everything (room = 0) or has room
 * for one more batch (room = 1), or failed; -1 (err) if it failed.
 */
static int
writer_wait(struct writer *w, int room, struct fs_err *err)
{
	int failed;

	pthread_mutex_lock(&w->mu);
	while ((room ? w->nq == 2 : w->nq > 0) && !w->failed)
		pthread_cond_wait(&w->cv, &w->mu);
	failed = w->failed;
	if (failed && err != NULL)
		*err = w->err;
	pthread_mutex_unlock(&w->mu);
	return failed ? -1 : 0;
}

/*
 * Hands b (may be NULL) to the writer if the queue has room (waiting for
 * room if block); 1 if handed over, 0 if not, and asks for a retry of a
 * failed commit.  *failed gets the writer's failure state (err with it).
 */
static int
writer_submit(struct writer *w, struct st_batch *b, int block, int *failed, struct fs_err *err)
{
	int given = 0;

	pthread_mutex_lock(&w->mu);
	if (w->failed && !w->busy)
		w->retry = 1;
	pthread_cond_broadcast(&w->cv);
	while (block && w->nq == 2 && !(w->failed && !w->busy && !w->retry))
		pthread_cond_wait(&w->cv, &w->mu);
	if (b != NULL && w->nq < 2) {
		w->q[w->nq++] = b;
		given = 1;
		pthread_cond_broadcast(&w->cv);
	}
	*failed = w->failed && !w->retry && !w->busy;
	if (*failed && err != NULL)
		*err = w->err;
	pthread_mutex_unlock(&w->mu);
	return given;
}

/* 1 if batch b is with the writer. */
static int
writer_holds(struct writer *w, const struct st_batch *b)
{
	int i, held = 0;

	pthread_mutex_lock(&w->mu);
	for (i = 0; i < w->nq; i++)
		if (w->q[i] == b)
			held = 1;
	pthread_mutex_unlock(&w->mu);
	return held;
}

/* ---- state ---- */

struct ig_ingest {
	struct ig_options opt;
	struct st_store *st;
	struct writer w;
	int writer_started;
	struct st_batch *batch[IG_NBATCH];
	int sink_open;
};

/* One thread of the input being recorded (tno = its index). */
struct ig_thread {
	char name[SP_NAME_MAX], tid[SP_NAME_MAX];
	int64_t sec;			/* the series row being filled */
	struct st_series row;
	int dirty;
};

/* One bmap's counters for the second being filled. */
struct ig_bsec {
	uint64_t fid;
	uint32_t bno;
	int64_t sec;
	uint64_t exams, wasted;
};

struct ig_sink {
	struct ig_ingest *ig;
	struct st_source src;
	uint64_t run;			/* this run's claim on the source */
	unsigned char ring[ST_HEAD_MAX];	/* the last bytes read, circular */
	uint64_t ring_end;		/* stream offset just past the last byte in it */
	uint64_t resume_off;		/* lines before this are already stored */
	uint64_t committed_off;		/* done_off as of the last batch handed over */
	int handed;			/* a batch was handed over (derived rows replaced) */
	int regular;			/* a regular file (by path): it may still grow */
	struct st_batch *cur;
	uint64_t batch_lines;
	struct ig_result *res;
	struct fs_map thmap;		/* (name hash, tid hash) -> tno */
	FS_VEC(struct ig_thread) th;
	FS_VEC(int32_t) thr2tno;	/* the stream's thread number -> tno (-1: not yet) */
	struct fs_map bsmap;		/* (fid, bno) -> index in bs */
	FS_VEC(struct ig_bsec) bs;
};

/* Fills in defaults. */
void
ig_options_default(struct ig_options *o)
{
	memset(o, 0, sizeof(*o));
	sp_options_default(&o->sp);
}

/* Opens the database and starts the writer thread. */
struct ig_ingest *
ig_new(const char *db_path, const struct ig_options *o, struct fs_err *err)
{
	struct ig_ingest *ig = calloc(1, sizeof(*ig));
	int i;

	if (ig == NULL) {
		fs_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	ig->opt = *o;
	if (ig->opt.commit_lines == 0)
		ig->opt.commit_lines = st_is_server(db_path) ? IG_COMMIT_LINES_SERVER :
		    IG_COMMIT_LINES_DEFAULT;
	if ((ig->st = st_open(db_path, ST_OPEN_CREATE, err)) == NULL)
		goto fail;
	for (i = 0; i < IG_NBATCH; i++)
		if ((ig->batch[i] = st_batch_new()) == NULL) {
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
	int i;

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
	for (i = 0; i < IG_NBATCH; i++)
		st_batch_free(ig->batch[i]);
	st_close(ig->st);
	free(ig);
}

/* A batch of the pool that is neither being filled nor with the writer. */
static struct st_batch *
free_batch(struct ig_sink *k)
{
	int i;

	for (i = 0; i < IG_NBATCH; i++)
		if (k->ig->batch[i] != k->cur && !writer_holds(&k->ig->w, k->ig->batch[i]))
			return k->ig->batch[i];
	return NULL;
}

/* ---- threads and series ---- */

/* Writes a thread's series row into the batch and empties it. */
static void
series_emit(struct ig_sink *k, int tno)
{
	struct ig_thread *t = &k->th.v[tno];

	if (!t->dirty)
		return;
	t->row.tno = tno;
	t->row.sec = t->sec;
	st_batch_add_series(k->cur, &t->row);
	memset(&t->row, 0, sizeof(t->row));
	t->row.max_outstanding = -1;
	t->dirty = 0;
}

/*
 * The series row of thread tno for second sec: the open one, or (an
 * earlier second: a verdict about a past line) a standalone row in *tmp
 * that series_done adds to the batch; the store adds rows of one key up.
 */
static struct st_series *
series_at(struct ig_sink *k, int tno, int64_t sec, struct st_series *tmp)
{
	struct ig_thread *t = &k->th.v[tno];

	if (t->dirty && t->sec == sec)
		return &t->row;
	if (!t->dirty || sec > t->sec) {
		series_emit(k, tno);
		t->sec = sec;
		t->dirty = 1;
		return &t->row;
	}
	memset(tmp, 0, sizeof(*tmp));
	tmp->tno = tno;
	tmp->sec = sec;
	tmp->max_outstanding = -1;
	return tmp;
}

/* Adds a standalone row returned by series_at. */
static void
series_done(struct ig_sink *k, struct st_series *row, struct st_series *tmp)
{
	if (row == tmp)
		st_batch_add_series(k->cur, tmp);
}

/* The thread (name, tid)'s number, creating it if create; -1 if none. */
static int
thread_find(struct ig_sink *k, const char *name, size_t namelen, const char *tid,
    size_t tidlen, int create)
{
	struct ig_thread t;
	uint64_t ha, hb;
	uint32_t v;

	if (namelen >= SP_NAME_MAX)
		namelen = SP_NAME_MAX - 1;
	if (tidlen >= SP_NAME_MAX)
		tidlen = SP_NAME_MAX - 1;
	ha = fs_fnv1a(name, namelen);
	hb = fs_fnv1a(tid, tidlen);
	if (fs_map_get(&k->thmap, ha, hb, &v))
		return (int)v;
	if (!create || k->th.n >= IG_MAX_THREADS)
		return -1;
	memset(&t, 0, sizeof(t));
	if (namelen > 0)
		memcpy(t.name, name, namelen);
	if (tidlen > 0)		/* a format without a tid: tid is NULL */
		memcpy(t.tid, tid, tidlen);
	t.row.max_outstanding = -1;
	if (fs_vec_push(&k->th, t) != 0)
		return -1;
	if (fs_map_put(&k->thmap, ha, hb, (uint32_t)(k->th.n - 1)) != 0) {
		k->th.n--;
		return -1;
	}
	st_batch_add_thread(k->cur, (int)k->th.n - 1, name, namelen, tid, tidlen);
	return (int)k->th.n - 1;
}

/*
 * The tno of the stream's thread number thr (a line's ev->thr, a verdict's
 * thr), numbering it from name and tid when new; -1 if none.
 */
static int
thread_of(struct ig_sink *k, int32_t thr, const char *name, size_t namelen, const char *tid,
    size_t tidlen)
{
	int tno;

	if (thr < 0)
		return -1;
	if ((size_t)thr < k->thr2tno.n && k->thr2tno.v[thr] >= 0)
		return k->thr2tno.v[thr];
	/* SIZE_MAX: NUL-terminated (the detector's names), measured only here */
	tno = thread_find(k, name, namelen == SIZE_MAX ? strlen(name) : namelen, tid,
	    tidlen == SIZE_MAX ? strlen(tid) : tidlen, 1);
	while (k->thr2tno.n <= (size_t)thr)
		if (fs_vec_push(&k->thr2tno, -1) != 0)
			return tno;
	k->thr2tno.v[thr] = tno;
	return tno;
}

/* ---- per-bmap counters per second ---- */

/* Writes bmap counters slot i into the batch. */
static void
bsec_emit(struct ig_sink *k, const struct ig_bsec *b)
{
	struct st_bmap_stat s;

	memset(&s, 0, sizeof(s));
	s.fid = b->fid;
	s.bno = b->bno;
	s.sec = b->sec;
	s.examinations = b->exams;
	s.wasted = b->wasted;
	st_batch_add_bmap_stat(k->cur, &s);
}

/* Counts one examination of (fid, bno) in second sec. */
static void
bsec_count(struct ig_sink *k, uint64_t fid, uint32_t bno, int64_t sec, int wasted)
{
	struct ig_bsec n, *b;
	uint32_t v;

	if (fs_map_get(&k->bsmap, fid, bno, &v)) {
		b = &k->bs.v[v];
		if (b->sec != sec) {
			if (sec < b->sec) {
				/* a verdict about an earlier second: its own row */
				struct ig_bsec old = { fid, bno, sec, 1, (uint64_t)wasted };

				bsec_emit(k, &old);
				return;
			}
			bsec_emit(k, b);
			b->sec = sec;
			b->exams = b->wasted = 0;
		}
	} else {
		memset(&n, 0, sizeof(n));
		n.fid = fid;
		n.bno = bno;
		n.sec = sec;
		if (k->bs.n >= UINT32_MAX || fs_vec_push(&k->bs, n) != 0 ||
		    fs_map_put(&k->bsmap, fid, bno, (uint32_t)(k->bs.n - 1)) != 0) {
			struct ig_bsec one = { fid, bno, sec, 1, (uint64_t)wasted };

			bsec_emit(k, &one);	/* no memory for a slot: a row of its own */
			return;
		}
		b = &k->bs.v[k->bs.n - 1];
	}
	b->exams++;
	b->wasted += (uint64_t)wasted;
}

/* Writes every open series and bmap row into the batch and empties them. */
static void
derived_emit(struct ig_sink *k)
{
	size_t i;

	for (i = 0; i < k->th.n; i++)
		series_emit(k, (int)i);
	for (i = 0; i < k->bs.n; i++)
		bsec_emit(k, &k->bs.v[i]);
	k->bs.n = 0;
	fs_map_clear(&k->bsmap);
}

/* ---- detector callbacks ---- */

/* An episode is final: store it. */
static void
on_episode(void *arg, const struct sp_episode *ep)
{
	struct ig_sink *k = arg;
	struct st_episode e;
	int tno = thread_find(k, ep->thread, strlen(ep->thread), ep->tid, strlen(ep->tid), 0);

	memset(&e, 0, sizeof(e));
	memcpy(e.thread, ep->thread, sizeof(e.thread));
	memcpy(e.tid, ep->tid, sizeof(e.tid));
	e.fid = ep->f.fid;
	e.bno = ep->f.bno;
	e.addr = ep->f.addr;
	e.start_us = ep->f.start_us;
	e.end_us = ep->f.end_us;
	e.cycles = ep->f.cycles;
	e.period_us = ep->f.period_us;
	e.outstanding_min = ep->f.outstanding_min;
	e.outstanding_max = ep->f.outstanding_max;
	{
		/* a copy, not snprintf: this ran for every episode (0.6 % of an ingest) */
		const char *c = sp_cause_name(ep->f.cause);
		size_t cn = strnlen(c, sizeof(e.cause) - 1);

		memcpy(e.cause, c, cn);		/* e is zeroed: the NUL is there */
	}
	e.first_off = ep->f.first_off;
	e.last_off = ep->f.last_off;
	st_batch_add_episode(k->cur, tno, &e);
	k->res->episodes++;
}

/* An examination was decided: count it for its thread and its bmap, in its second. */
static void
on_exam(void *arg, const struct sp_exam *x)
{
	struct ig_sink *k = arg;
	struct st_series tmp, *row;
	int64_t sec = fs_sec_of(x->ts_us);
	int wasted = x->verdict == SP_WASTED;
	int tno;

	bsec_count(k, x->fid, x->bno, sec, wasted);
	tno = thread_of(k, x->thr, x->thread_name, SIZE_MAX, x->tid, SIZE_MAX);
	if (tno < 0)
		return;
	row = series_at(k, tno, sec, &tmp);
	row->examinations++;
	row->wasted += (uint64_t)wasted;
	series_done(k, row, &tmp);
}

/* Counts a pass (at its start) or a useless one (at its end) in the second it started. */
static void
pass_count(struct ig_sink *k, const struct sp_pass *p, int start)
{
	struct st_series tmp, *row;
	int tno = thread_of(k, p->thr, p->thread_name, SIZE_MAX, p->tid, SIZE_MAX);

	if (tno < 0)
		return;
	row = series_at(k, tno, fs_sec_of(p->start_us), &tmp);
	if (start)
		row->passes++;
	else
		row->useless_passes++;
	series_done(k, row, &tmp);
}

/* A pass started. */
static void
on_pass_start(void *arg, const struct sp_pass *p)
{
	pass_count(arg, p, 1);
}

/* A pass ended: a useless one is counted. */
static void
on_pass(void *arg, const struct sp_pass *p)
{
	if (!p->useful)
		pass_count(arg, p, 0);
}

/* The detector callbacks that record into the sink. */
void
ig_sink_callbacks(struct ig_sink *k, struct sp_callbacks *cb)
{
	memset(cb, 0, sizeof(*cb));
	cb->arg = k;
	cb->episode = on_episode;
	cb->exam = on_exam;
	cb->pass_start = on_pass_start;
	cb->pass = on_pass;
}

/* ---- one line ---- */

/* A writes row's line, message and bmap (when the source attributed one). */
static void
write_row(struct st_write *x, const struct ps_event *ev, int tno)
{
	memset(x, 0, sizeof(*x));
	x->src_off = ev->src_off;
	x->tno = tno;
	x->ts_us = ev->ts_us;
	x->bno = -1;
	x->msg_id = ev->msg_id;
	if (ev->bm_known) {
		x->has_bmap = 1;
		x->fid = ev->bm_fid;
		x->bno = ev->bm_bno;
	}
}

/*
 * Eras A-C: a write's `set inflight` line as a writes row.  Its arrival
 * line (`biorq=%p list_empty(%d)`) names the biorq but not its extent;
 * this line, where the extractor takes a write from a log, gives offset
 * and length, so a database replays the same writes as the log.
 */
static void
store_extent(struct st_batch *b, const struct ps_event *ev, int tno)
{
	struct st_write x;

	write_row(&x, ev, tno);
	x.biorq_addr = ev->biorq.addr;
	x.bmap_addr = ev->biorq.bmap_addr;
	x.off = ev->biorq.off;
	x.len = ev->biorq.len;
	st_batch_add_write(b, &x);
}

/* Stores the rows one parsed line yields (only for lines not yet stored). */
static void
store_event(struct ig_sink *k, const struct ps_event *ev, int tno)
{
	struct st_batch *b = k->cur;

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
		x.bwc_addr = ev->bwc_addr;
		x.off = ev->rpc_off;
		x.sz = ev->rpc_sz;
		x.outstanding = ev->outstanding;
		x.rc = ev->rpc_rc;
		x.bno = -1;
		if (ev->bm_known) {
			x.has_bmap = 1;
			x.fid = ev->bm_fid;
			x.bno = ev->bm_bno;
		}
		st_batch_add_rpc(b, &x);
		break;
	}
	case PS_EV_WRITE_READY: {
		struct st_write x;

		write_row(&x, ev, tno);
		x.off = x.len = -1;
		if (ev->has & PS_HAS_BMAP)
			x.bmap_addr = ev->bmap.addr;
		if (ev->has & PS_HAS_BIORQ) {
			x.biorq_addr = ev->biorq.addr;
			x.off = ev->biorq.off;
			x.len = ev->biorq.len;
			if (x.bmap_addr == 0)
				x.bmap_addr = ev->biorq.bmap_addr;
		} else if (ps_msg_biorq_addr(ev, &x.biorq_addr) < 0)
			x.biorq_addr = 0;
		st_batch_add_write(b, &x);
		break;
	}
	case PS_EV_SCHEDULE:
		if (ev->msg_id == PS_MSG_A_SET_INFLIGHT && (ev->has & PS_HAS_BIORQ))
			store_extent(b, ev, tno);
		break;
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
	default:
		break;
	}
	if (ev->forced) {
		struct st_forced x;

		memset(&x, 0, sizeof(x));
		x.src_off = ev->src_off;
		x.tno = tno;
		x.ts_us = ev->ts_us;
		x.bno = -1;
		if (ev->bm_known) {
			x.has_bmap = 1;
			x.fid = ev->bm_fid;
			x.bno = ev->bm_bno;
		}
		if (ev->has & PS_HAS_BIORQ)
			x.biorq_addr = ev->biorq.addr;
		st_batch_add_forced(b, &x);
	}
}

/* Counts a line's RPCs and outstanding count in its thread's series. */
static void
series_line(struct ig_sink *k, const struct ps_event *ev, int tno)
{
	struct st_series tmp, *row;

	if (tno < 0 || ev->ts_us == INT64_MIN)
		return;
	if (ev->kind != PS_EV_RPC_SEND && ev->kind != PS_EV_RPC_DONE && ev->outstanding < 0)
		return;
	row = series_at(k, tno, fs_sec_of(ev->ts_us), &tmp);
	if (ev->kind == PS_EV_RPC_SEND)
		row->rpcs_sent++;
	else if (ev->kind == PS_EV_RPC_DONE)
		row->rpcs_done++;
	if (ev->outstanding > row->max_outstanding)
		row->max_outstanding = ev->outstanding;
	series_done(k, row, &tmp);
}

/* Keeps the first unparsed line of this run for the summary (printable). */
static void
sample_keep(struct ig_result *res, const struct ps_item *it)
{
	size_t n = it->len < IG_SAMPLE_MAX - 1 ? it->len : IG_SAMPLE_MAX - 1, j;

	/*
	 * The sample is for display: NUL and control bytes become '?' so it
	 * is neither cut at a NUL nor able to drive a terminal.  The
	 * unparsed table keeps the exact bytes.
	 */
	for (j = 0; j < n; j++) {
		unsigned char c = (unsigned char)it->line[j];

		res->sample[j] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	res->sample[n] = '\0';
	res->sample_lineno = it->lineno;
}

/* Adds n bytes to the ring of the last bytes read (circular: ring_end % ST_HEAD_MAX is next). */
static void
ring_add(struct ig_sink *k, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t at, first;

	if (n >= ST_HEAD_MAX) {
		c += n - ST_HEAD_MAX;
		k->ring_end += n - ST_HEAD_MAX;
		n = ST_HEAD_MAX;
	}
	at = (size_t)(k->ring_end % ST_HEAD_MAX);
	first = n < ST_HEAD_MAX - at ? n : ST_HEAD_MAX - at;
	memcpy(k->ring + at, c, first);
	memcpy(k->ring, c + first, n - first);
	k->ring_end += n;
}

/* FNV-1a of the last len bytes of the ring (len <= ST_HEAD_MAX, <= ring_end). */
static uint64_t
ring_sum(const struct ig_sink *k, size_t len)
{
	size_t end = (size_t)(k->ring_end % ST_HEAD_MAX), start = (end + ST_HEAD_MAX - len) % ST_HEAD_MAX;

	if (len == 0)
		return fs_fnv1a(k->ring, 0);
	if (start < end)
		return fs_fnv1a(k->ring + start, len);
	return fs_fnv1a_add(fs_fnv1a(k->ring + start, ST_HEAD_MAX - start), k->ring, end);
}

/* The line's raw bytes (its text and terminator, "\n" or "\r\n") go into the ring. */
static void
ring_line(struct ig_sink *k, const struct ps_item *it)
{
	uint64_t term = it->end - it->off - it->len;

	if (!k->src.gz || it->line == NULL || it->off != k->ring_end || term > 2)
		return;		/* a plain file's tail is read back at the commit (tail_read) */
	ring_add(k, it->line, it->len);
	ring_add(k, &"\r\n"[2 - term], (size_t)term);
}

/*
 * Sets the source's identity at done_off: the checksum of the bytes just
 * before it.  A compressed file's come from the ring of what was read; a
 * plain file's are read back (one pread per commit instead of a copy per
 * line).  Streams have no identity.
 */
static void
tail_update(struct ig_sink *k)
{
	unsigned char buf[ST_HEAD_MAX];
	uint64_t len = k->src.done_off < ST_HEAD_MAX ? k->src.done_off : ST_HEAD_MAX;
	int fd;

	if (k->src.gz) {
		if (k->ring_end == k->src.done_off) {
			k->src.tail_len = len;
			k->src.tail_sum = ring_sum(k, (size_t)len);
		}
		return;
	}
	if (!k->regular ||
	    (fd = open(k->src.path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (pread(fd, buf, len, (off_t)(k->src.done_off - len)) == (ssize_t)len) {
		k->src.tail_len = len;
		k->src.tail_sum = fs_fnv1a(buf, len);
	}
	close(fd);
}

/* Records one line. */
void
ig_sink_line(struct ig_sink *k, const struct ps_item *it)
{
	const struct ps_event *ev = &it->ev;
	struct ig_result *res = k->res;
	int tno = -1;

	ring_line(k, it);
	if (it->parsed)
		tno = thread_of(k, ev->thr, ev->thread.p, ev->thread.n, ev->tid_s.p, ev->tid_s.n);
	if (it->parsed)
		series_line(k, ev, tno);
	k->batch_lines++;
	if (it->parsed && ev->host.n > 0 && k->ig->opt.client == NULL &&
	    strcmp(k->src.client, ST_CLIENT_UNKNOWN) == 0) {
		/* no --client: the client is the first syslog host the lines name */
		size_t n = ev->host.n < ST_CLIENT_MAX - 1 ? ev->host.n : ST_CLIENT_MAX - 1;

		memcpy(k->src.client, ev->host.p, n);
		k->src.client[n] = '\0';
	}
	if (it->off < k->resume_off)
		return;
	k->src.lines++;
	res->lines++;
	if (!it->parsed) {
		if (k->src.unparsed < IG_UNPARSED_SAMPLES && it->line != NULL)
			st_batch_add_unparsed(k->cur, it->off, it->lineno, it->line,
			    it->len < IG_UNPARSED_TEXT ? it->len : IG_UNPARSED_TEXT);
		if (res->sample_lineno == 0 && it->line != NULL)
			sample_keep(res, it);
		k->src.unparsed++;
		res->unparsed++;
	} else {
		k->src.events[ev->kind]++;
		res->events[ev->kind]++;
		store_event(k, ev, tno);
	}
	if (k->ig->opt.keep_text && it->line != NULL)
		st_batch_add_line(k->cur, it->off, it->lineno, it->line, it->len);
	k->src.done_off = it->end;
}

/*
 * 1 when the batch should be committed: at --commit-lines lines, at
 * IG_BATCH_BYTES_MAX of rows, and, measured in bytes of the input stored
 * (which a resume's replayed lines do not move):
 *  - ramp: while this run has stored less than IG_RAMP_BYTES, a batch
 *    closes at as much as the run stored before it (at least
 *    IG_MIN_BATCH_BYTES): 1, 1, 2, 4, 8, 16 MiB.  The writer is the
 *    busiest thread of an ingest and cannot start before the first batch
 *    is handed over: with 256 K-line batches it idled for the first 0.12 s
 *    of a 5 M-line ingest while the reading ran ahead.
 *  - taper: near the end of a file of known size, as soon as the batch
 *    holds as much of it as is left (and at least IG_MIN_BATCH_BYTES).
 *    The writer works a batch or two behind the reading; what it still had
 *    to write when the reading ended ran on one core while the other
 *    idled, 0.06-0.10 s; halving the batches leaves it a few small ones.
 * Where batches end does not change what is stored.
 */
int
ig_sink_full(const struct ig_sink *k)
{
	uint64_t held, run;

	if (k->batch_lines >= k->ig->opt.commit_lines)
		return 1;
	/* the sizes are summed every 256 lines: a batch overshoots by at most that */
	if ((k->batch_lines & 255) != 0)
		return 0;
	held = k->src.done_off - k->committed_off;
	run = k->committed_off - k->resume_off;
	if (run < IG_RAMP_BYTES && held >= (run > IG_MIN_BATCH_BYTES ? run : IG_MIN_BATCH_BYTES))
		return 1;
	if (!k->src.gz && k->src.size > k->src.done_off && held >= IG_MIN_BATCH_BYTES &&
	    held >= k->src.size - k->src.done_off)
		return 1;
	return st_batch_bytes(k->cur) + k->bs.n * (sizeof(*k->bs.v) + 2 * sizeof(*k->bsmap.s)) >=
	    IG_BATCH_BYTES_MAX;
}

/* Copies the parser's formats into the source row ('\n'-separated). */
static void
formats_copy(const struct ps_parser *p, char *dst, size_t n)
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

/* Adds the detector's per-thread figures (cumulative: they replace the stored ones). */
static void
thread_stats_add(struct ig_sink *k, const struct sp_detector *det)
{
	int i;

	for (i = 0; i < sp_detector_nthreads(det); i++) {
		struct sp_thread_stats ts;
		struct st_thread_stats x;
		int tno;

		sp_detector_thread(det, i, &ts);
		tno = thread_find(k, ts.thread, strlen(ts.thread), ts.tid, strlen(ts.tid), 0);
		if (tno < 0)
			continue;
		memset(&x, 0, sizeof(x));
		memcpy(x.thread, ts.thread, sizeof(x.thread));
		memcpy(x.tid, ts.tid, sizeof(x.tid));
		x.passes = ts.passes;
		x.useless_passes = ts.useless_passes;
		x.examinations = ts.examinations;
		x.wasted = ts.wasted_examinations;
		x.first_us = ts.first_us;
		x.last_us = ts.last_us;
		x.first_pass_us = ts.first_pass_us;
		x.period_p50_us = ts.period_p50_us;
		x.period_p99_us = ts.period_p99_us;
		_Static_assert(sizeof(x.period_hist) == sizeof(ts.period_hist), "one histogram");
		memcpy(x.period_hist, ts.period_hist, sizeof(x.period_hist));
		x.sleep_p50_us = ts.sleep_p50_us;
		x.line_p50_us = ts.line_p50_us;
		x.era = ts.era;
		st_batch_add_thread_stats(k->cur, tno, &x);
	}
}

/* Commits what was recorded since the last commit (see ingest.h). */
static int
sink_commit(struct ig_sink *k, const struct sp_detector *det, const struct ps_parser *p,
    int complete, int block, struct fs_err *err)
{
	struct st_batch *next;
	int failed;

	if (p != NULL)
		formats_copy(p, k->src.formats, sizeof(k->src.formats));
	if (block && writer_wait(&k->ig->w, 1, err) != 0)
		return -1;
	if ((next = free_batch(k)) == NULL) {
		/* both other batches are with the writer: keep filling this one */
		writer_submit(&k->ig->w, NULL, 0, &failed, err);
		return failed ? -1 : 0;
	}
	derived_emit(k);
	if (det != NULL)
		thread_stats_add(k, det);
	if (!k->handed)
		st_batch_replace_derived(k->cur);
	k->src.state = complete ? ST_SRC_COMPLETE : ST_SRC_PARTIAL;
	if (!k->src.gz && k->src.done_off > k->src.size)
		k->src.size = k->src.done_off;	/* a file that grew while recorded */
	tail_update(k);
	st_batch_expect_offset(k->cur, k->committed_off);
	st_batch_expect_run(k->cur, k->run);
	st_batch_set_source(k->cur, &k->src);
	if (!writer_submit(&k->ig->w, k->cur, block, &failed, err))
		return failed ? -1 : 0;	/* still full: retried at the next commit */
	k->handed = 1;
	k->res->commits++;
	k->committed_off = k->src.done_off;
	k->cur = next;
	st_batch_clear(k->cur);
	k->batch_lines = 0;
	return failed ? -1 : 0;
}

/* Commits (for callers that record a live input: never waits). */
int
ig_sink_commit(struct ig_sink *k, const struct sp_detector *det, const struct ps_parser *p,
    int complete, struct fs_err *err)
{
	return sink_commit(k, det, p, complete, 0, err);
}

/* Waits for the last commit and frees the sink. */
int
ig_sink_close(struct ig_sink *k, struct fs_err *err)
{
	int rc;

	if (k == NULL)
		return 0;
	rc = writer_wait(&k->ig->w, 0, err);
	k->ig->sink_open = 0;
	fs_map_free(&k->thmap);
	fs_vec_free(&k->thr2tno);
	fs_map_free(&k->bsmap);
	fs_vec_free(&k->th);
	fs_vec_free(&k->bs);
	free(k);
	return rc;
}

/* Resume offset. */
uint64_t
ig_sink_resume_off(const struct ig_sink *k)
{
	return k->resume_off;
}

/* Starts recording an input. */
struct ig_sink *
ig_sink_open(struct ig_ingest *ig, const char *path, int claim_unchanged,
    struct ig_result *res, int *unchanged, struct fs_err *err)
{
	struct ig_identity id;
	struct ig_sink *k;

	*unchanged = 0;
	if (ig->sink_open) {
		fs_err_set(err, EBUSY, "%s: another input is being recorded", path);
		return NULL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		fs_err_set(err, ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	k->ig = ig;
	k->res = res;
	fs_map_init(&k->thmap);
	fs_map_init(&k->bsmap);
	if (writer_wait(&ig->w, 0, err) != 0 || (k->cur = free_batch(k)) == NULL) {
		if (k->cur == NULL && err->code == 0)
			fs_err_set(err, EBUSY, "%s: the database writer is busy", path);
		free(k);
		return NULL;
	}
	st_batch_clear(k->cur);
	ig->sink_open = 1;
	if (ig_identify(ig->st, path, ig->opt.client, ig->opt.final, claim_unchanged, &id, err) != 0) {
		ig_sink_close(k, NULL);
		return NULL;
	}
	k->src = id.src;
	k->run = id.run;
	k->regular = id.regular;
	res->status = (int)id.decision;
	ig_identity_note(&id, path, res->note, sizeof(res->note));
	if (id.nothing_new) {
		*unchanged = 1;
		snprintf(res->formats, sizeof(res->formats), "%s", k->src.formats);
		if (!k->src.gz && k->src.done_off < k->src.size) {
			/* a plain file read to its end but for a held-back last line */
			res->held = 1;
			res->held_bytes = k->src.size - k->src.done_off;
			res->held_lineno = k->src.lines + 1;
		}
	}
	res->source_id = k->src.id;
	k->resume_off = k->src.done_off;
	k->committed_off = k->src.done_off;
	k->src.state = ST_SRC_PARTIAL;
	return k;
}

/* ---- ig_file: the source loop ---- */

/* Reports progress about 4 times a second. */
static void
progress(struct ig_ingest *ig, const char *path, const struct ig_sink *k, uint64_t bytes,
    uint64_t lineno, double t0, double *tlast)
{
	struct ig_progress p;
	double t;

	if (ig->opt.progress == NULL || (lineno & 16383) != 0 || (t = fs_mono_s()) - *tlast < 0.25)
		return;
	p.path = path;
	p.bytes = bytes;
	p.total = k->src.gz ? 0 : k->src.size;
	p.lines = lineno;
	p.seconds = t - t0;
	ig->opt.progress(ig->opt.progress_arg, &p);
	*tlast = t;
}

/*
 * Reads the input through the sink and the detector.  Returns 1 at the end
 * of the input, -1 on a read or commit error (err set).
 */
static int
file_loop(struct ig_ingest *ig, struct ig_sink *k, struct ps_source *src,
    struct sp_detector *det, const char *path, double t0, struct fs_err *err)
{
	struct ig_result *res = k->res;
	struct ps_item *it;
	double tlast = t0;
	int rc;

	while ((rc = ps_source_next_ref(src, &it, err)) == 1) {
		if (it->off >= k->resume_off && k->regular && !ig->opt.final && it->unterminated &&
		    !ps_source_is_gz(src)) {
			/*
			 * The writer may be in the middle of this line: leave it
			 * (done_off stays before it) for the run that finds it
			 * finished.  Nothing follows it: the loop ends.
			 */
			res->held = 1;
			res->held_bytes = it->end - it->off;
			res->held_lineno = it->lineno;
			continue;
		}
		if (it->off < k->resume_off && it->end > k->resume_off)
			snprintf(res->note, sizeof(res->note), "%s:%llu: this line was stored "
			    "unfinished by an earlier ingest (--final, or a flushscope that did "
			    "not hold back an unterminated last line); the rest of it is not "
			    "stored", path, (unsigned long long)it->lineno);
		if (it->cut && it->off >= k->resume_off) {
			if (res->cut_lines++ == 0)
				res->first_cut_lineno = it->lineno;
			res->cut_bytes += it->end - it->off - it->len;
		}
		ig_sink_line(k, it);
		if (it->parsed)
			sp_detector_feed(det, &it->ev);
		if (ig_sink_full(k) &&
		    sink_commit(k, NULL, ps_source_parser(src), 0, 1, err) != 0)
			return -1;
		progress(ig, path, k, ps_source_offset(src), it->lineno, t0, &tlast);
	}
	return rc < 0 ? -1 : 1;
}

/* An unchanged file: the result reports what is stored for it, not zeros. */
static int
stored_counts(struct st_store *st, const struct st_source *src, struct ig_result *res,
    struct fs_err *err)
{
	struct st_filter flt;
	struct st_cursor *c;
	const union st_row *row;
	int k, rc;

	res->lines = src->lines;
	res->unparsed = src->unparsed;
	for (k = 0; k < PS_EV_NKINDS; k++)
		res->events[k] = src->events[k];
	st_filter_init(&flt);
	flt.source_id = src->id;
	if ((c = st_cursor_open(st, ST_EPISODES, &flt, err)) == NULL)
		return -1;
	while ((rc = st_cursor_next(c, &row, err)) == 1)
		res->episodes++;
	st_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

/* Ingests one input. */
int
ig_file(struct ig_ingest *ig, const char *path, struct ig_result *res, struct fs_err *err)
{
	struct ig_sink *k;
	struct ps_source *src = NULL;
	struct sp_detector *det = NULL;
	struct sp_callbacks cb;
	double t0 = fs_mono_s();
	int unchanged, ret = -1;
	struct fs_err e2;

	memset(res, 0, sizeof(*res));
	fs_err_clear(err);
	if ((k = ig_sink_open(ig, path, 0, res, &unchanged, err)) == NULL) {
		res->seconds = fs_mono_s() - t0;
		return -1;
	}
	if (unchanged) {
		ret = stored_counts(ig->st, &k->src, res, err);
		ig_sink_close(k, NULL);
		res->seconds = fs_mono_s() - t0;
		return ret;
	}
	ig_sink_callbacks(k, &cb);
	if ((src = ps_source_open(path, ig->opt.log_format, ig->opt.jobs, err)) == NULL ||
	    (det = sp_detector_new(&ig->opt.sp, &cb, err)) == NULL)
		goto out;
	if (file_loop(ig, k, src, det, path, t0, err) < 0) {
		/* keep what was read: commit it (the source stays partial) */
		fs_err_clear(&e2);
		if (sink_commit(k, NULL, ps_source_parser(src), 0, 1, &e2) == 0)
			writer_wait(&ig->w, 0, NULL);
		goto out;
	}
	res->bytes = ps_source_offset(src) - res->held_bytes;
	/* end of input: the detector's final results, then mark complete */
	sp_detector_finish(det);
	if (k->src.done_off < res->bytes)
		k->src.done_off = res->bytes;
	if (sink_commit(k, det, ps_source_parser(src), 1, 1, err) != 0 ||
	    writer_wait(&ig->w, 0, err) != 0)
		goto out;
	snprintf(res->formats, sizeof(res->formats), "%s", k->src.formats);
	ret = 0;
out:
	res->seconds = fs_mono_s() - t0;
	sp_detector_free(det);
	ps_source_close(src);
	ig_sink_close(k, NULL);
	return ret;
}
