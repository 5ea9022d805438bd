/*
 * libflush engine: the public API, inputs and completions, examinations,
 * and the run.  The queueing policy is reached only through e->ops (see
 * internal.h); the clocks are in thread.c.
 *
 * Invariants (tested in tests/check_libflush.c and tests/check_policies.c):
 *   - every byte of every write is carried by an RPC (exactly once unless
 *     the overlap_full tunable is set);
 *   - fl_engine_run returns only when every write is sent and completed;
 *   - counters are identical from run to run on the virtual clock.
 */
#include "libflush/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const size_names[FL_SIZE_BUCKETS] = {
	"<=4K", "<=8K", "<=16K", "<=32K", "<=64K", "<=128K", "<=256K", "<=512K",
	"<=1M", "<=2M", "<=4M", ">4M"
};

/* Names a size-histogram bucket. */
const char *
fl_size_bucket_name(int i)
{
	return i >= 0 && i < FL_SIZE_BUCKETS ? size_names[i] : "?";
}

/* ---------------------------------------------------------------- helpers */

/* Grows *pp to hold at least n elements of size sz. */
int
fl_grow(void *pp, size_t *cap, size_t n, size_t sz)
{
	void **p = pp;
	size_t nc;
	void *np;

	if (n <= *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	while (nc < n)
		nc *= 2;
	if ((np = realloc(*p, nc * sz)) == NULL)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

/* a + b, saturating. */
uint64_t
fl_sat_add(uint64_t a, uint64_t b)
{
	return a > FL_TIME_NEVER - b ? FL_TIME_NEVER : a + b;
}

/* Records a failure. */
void
fl_fail(struct fl_engine *e, const char *msg)
{
	if (!e->failed) {
		e->failed = 1;
		snprintf(e->failmsg, sizeof(e->failmsg), "%s: %s", e->ops->info.name, msg);
	}
}

/* Calls the trace observer. */
void
fl_trace(struct fl_engine *e, struct fl_trace_ev *ev)
{
	if (e->c.trace != NULL)
		e->c.trace(e->c.trace_arg, ev);
}

/* Emits a bmap-level trace record. */
void
fl_trace_bmap(struct fl_engine *e, enum fl_trace_kind kind, struct fl_bmap *b, unsigned k,
    uint64_t t)
{
	struct fl_trace_ev ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.t_ns = t;
	ev.thread = k;
	ev.fid = b->fid;
	ev.bno = b->bno;
	fl_trace(e, &ev);
}

/* Counts a pass and emits its PASS record. */
void
fl_pass_begin(struct fl_ctx *x)
{
	struct fl_trace_ev ev;

	x->e->st.passes++;
	memset(&ev, 0, sizeof(ev));
	ev.kind = FL_TR_PASS;
	ev.t_ns = x->now;
	ev.thread = x->t->k;
	fl_trace(x->e, &ev);
}

/* ----------------------------------------------------------- examinations */

/* Begins an examination of b. */
void
fl_exam_begin(struct fl_ctx *x, struct fl_bmap *b)
{
	struct fl_engine *e = x->e;

	e->st.exams++;
	b->st.exams++;
	b->sent &= ~FL_THR_BIT(x->t->k);
	b->sched &= ~FL_THR_BIT(x->t->k);
	fl_log_exam(x, b);
	b->exam_t[x->t->k] = x->now;
	if (!e->real)
		x->now += e->c.tun.exam_cost_ns;
}

/*
 * Ends it.  Wasted: b stays queued and the examination made no progress:
 * no RPC issued for b and (2010-10 on) no `try flush` of b, which marks an
 * examination that found flushable work (architecture.md, "What a spin is").
 */
void
fl_exam_end(struct fl_ctx *x, struct fl_bmap *b, int stays)
{
	struct fl_engine *e = x->e;
	struct fl_trace_ev ev;
	uint64_t bit = FL_THR_BIT(x->t->k);
	int wasted = stays && !(b->sent & bit) && !(b->sched & bit);

	if (wasted) {
		e->st.wasted++;
		b->st.wasted++;
		if (b->nun == 0 && b->partial == NULL && b->nblk == 0)
			e->st.wasted_inflight++;
		else if (fl_win_room(e, b->ios) == 0)
			e->st.wasted_throttled++;
		else
			e->st.wasted_notready++;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = FL_TR_EXAMINE;
	ev.t_ns = b->exam_t[x->t->k];
	ev.thread = x->t->k;
	ev.fid = b->fid;
	ev.bno = b->bno;
	ev.wasted = wasted;
	fl_trace(e, &ev);
}

/* ------------------------------------------------------------- the core */

/* True when every input is in and every write sent and acknowledged. */
int
fl_core_idle(const struct fl_engine *e)
{
	return e->next_in >= e->nin && e->pending_writes == 0 && e->outstanding == 0;
}

/* The write q becomes flushable at now (FLUSHRDY). */
static void
write_ready(struct fl_engine *e, struct fl_biorq *q, uint64_t now)
{
	struct fl_bmap *b = q->b;
	struct fl_trace_ev ev;
	int was_dirty = b->dirty;

	if (fl_un_insert(e, b, q) < 0) {
		fl_fail(e, "out of memory");
		return;
	}
	q->flags |= FLB_WRITE | FLB_FLUSHRDY;
	q->flags &= ~(uint32_t)FLB_BLOCKED;
	b->dirty = 1;
	b->gen++;
	e->unsent++;
	memset(&ev, 0, sizeof(ev));
	ev.kind = FL_TR_ARRIVE;
	ev.t_ns = now;
	ev.fid = b->fid;
	ev.bno = b->bno;
	ev.off = q->off;
	ev.len = q->len;
	ev.id = q->id;
	fl_trace(e, &ev);
	e->ops->write(e, b, q, was_dirty, now);
}

/* The deadline of a biorq created at ready: max age, capped at the next wall second. */
static uint64_t
deadline_of(const struct fl_engine *e, uint64_t ready)
{
	uint64_t dl = fl_sat_add(ready, e->c.tun.max_age_ns);

	if (e->ops->second_cap) {
		/* 2010 expiry (bf:108-130): compared seconds first */
		uint64_t wall = e->epoch_ns + ready;
		uint64_t next = (wall / 1000000000ull + 1) * 1000000000ull - e->epoch_ns;

		if (next < dl)
			dl = next;
	}
	return dl;
}

/* An input is due at now. */
void
fl_core_input(struct fl_engine *e, struct fl_input *in, uint64_t now)
{
	struct fl_biorq *q = &in->bq;
	struct fl_bmap *b;

	e->last_progress = now;
	if (in->kind == FLI_MARK)
		return;
	if (in->kind == FLI_FORCE) {
		struct fl_trace_ev ev;

		e->st.forces++;
		memset(&ev, 0, sizeof(ev));
		ev.kind = FL_TR_FORCE;
		ev.t_ns = now;
		ev.fid = in->fid;
		ev.bno = in->bno;
		fl_trace(e, &ev);
		e->ops->force(e, in->fid, in->bno, now);
		return;
	}
	b = q->b;
	e->st.writes++;
	e->st.bytes_written += q->len;
	e->pending_writes++;
	b->npending++;
	b->st.writes++;
	if (q->flags & FLB_READY_AT_ARR)
		q->ready = now;		/* real clock: when it really arrived */
	q->deadline = deadline_of(e, q->ready);
	q->due = q->deadline;
	if (e->ops->pin_writes && b->runs != NULL && fl_infl_overlaps(b, q->off, q->len, 1)) {
		/* the writer copies into pages in flight: it blocks (io:1681-1688) */
		if (fl_grow(&b->blk, &b->capblk, b->nblk + 1, sizeof(*b->blk)) < 0) {
			fl_fail(e, "out of memory");
			return;
		}
		q->flags |= FLB_BLOCKED;
		b->blk[b->nblk++] = q;
		e->st.writes_blocked++;
		return;
	}
	write_ready(e, q, now);
}

/* Writers blocked on b's pinned pages that are free now go on. */
static void
unblock(struct fl_engine *e, struct fl_bmap *b, uint64_t now)
{
	size_t i, w = 0, n = b->nblk;
	struct fl_biorq **ready = NULL;
	size_t nready = 0;

	if (n == 0)
		return;
	if ((ready = malloc(n * sizeof(*ready))) == NULL) {
		fl_fail(e, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		struct fl_biorq *q = b->blk[i];

		if (fl_infl_overlaps(b, q->off, q->len, 1))
			b->blk[w++] = q;
		else
			ready[nready++] = q;
	}
	b->nblk = w;
	for (i = 0; i < nready && !e->failed; i++)
		write_ready(e, ready[i], now);
	free(ready);
}

/* Unlinks a finished run from its bmap. */
static void
run_unlink(struct fl_bmap *b, struct fl_batch *ba)
{
	if (ba->bprev)
		ba->bprev->bnext = ba->bnext;
	else
		b->runs = ba->bnext;
	if (ba->bnext)
		ba->bnext->bprev = ba->bprev;
	b->nruns--;
	if (b->partial == ba)
		b->partial = NULL;
}

/* An RPC reply is processed at now. */
void
fl_core_complete(struct fl_engine *e, struct fl_rpc *r, uint64_t now)
{
	struct fl_batch *ba = r->batch;
	struct fl_bmap *b = ba->b;
	struct fl_win *w = &e->win[ba->ios];
	struct fl_trace_ev ev;
	unsigned before = w->inflight + w->credits;
	int done;
	size_t i;

	e->outstanding--;
	w->inflight--;
	fl_win_account(e, ba->ios, now, before);
	e->last_progress = now;
	e->st.end_ns = now;
	fl_log_done(e, now, r);
	memset(&ev, 0, sizeof(ev));
	ev.kind = FL_TR_DONE;
	ev.t_ns = now;
	ev.fid = b->fid;
	ev.bno = b->bno;
	ev.off = r->info.off;
	ev.len = r->info.len;
	ev.rpc = &r->info;
	fl_trace(e, &ev);
	ba->nleft--;
	done = ba->nleft == 0 && ba->sent == ba->ncuts;
	if (done) {
		/* the whole run is acknowledged: its biorqs complete, its pages unpin */
		b->gen++;
		for (i = 0; i < ba->nbq; i++) {
			ba->bq[i]->flags &= ~(uint32_t)FLB_INFL;
			ba->bq[i]->batch = NULL;
		}
		b->ninfl -= ba->nbq;
		b->npending -= ba->nbq;
		e->pending_writes -= ba->nbq;
		run_unlink(b, ba);
		if (b->npending == b->nblk && b->dirty) {
			b->dirty = 0;
			fl_log_unset_dirty(e, now, b);
		}
	}
	/* credit waiters of this I/O server are all woken (rpc:46-76) */
	fl_wakeall(e, &w->credit_wq);
	e->ops->complete(e, ba, done, now);
	if (done) {
		unblock(e, b, now);
		free(ba->bq);
		free(ba->cuts);
		free(ba);
	}
	free(r);
}

/* ---------------------------------------------------------------- public */

/* Checks c and creates an engine. */
struct fl_engine *
fl_engine_new(const struct fl_config *c, struct fs_err *err)
{
	struct fl_engine *e;
	const struct fl_tunables *t = &c->tun;
	const struct fl_policy_ops *ops = fl_ops(c->policy);
	unsigned i;

	if (ops == NULL) {
		fs_err_set(err, EINVAL, "libflush: unknown policy %d", (int)c->policy);
		return NULL;
	}
	if (t->window < 1 || t->threads < 1 || t->threads > FL_MAX_THREADS ||
	    t->coalesce_size < 4096 || t->coalesce_size > FL_BMAP_SIZE || t->max_iovs < 1 ||
	    t->poll_ns == 0 || t->safety_timeout_ns == 0 || t->ios < 1 || t->ios > FL_MAX_IOS ||
	    t->force_poll_ns == 0 || t->poll_ns > FL_TIME_MAX || t->safety_timeout_ns > FL_TIME_MAX ||
	    t->max_age_ns > FL_TIME_MAX) {
		fs_err_set(err, EINVAL, "libflush: bad tunables (window >= 1, 1..64 threads, "
		    "1..256 I/O servers, coalesce size 4 KiB..128 MiB, max iovecs >= 1, poll and "
		    "timeouts > 0)");
		return NULL;
	}
	if (t->wake_latency_ns > 1000000000ull || t->exam_cost_ns > 1000000000ull ||
	    t->line_cost_ns > 1000000000ull || t->sleep_overshoot_ns > 1000000000ull ||
	    t->batch_ns > t->max_age_ns) {
		fs_err_set(err, EINVAL, "libflush: wake latency, examination and line costs and "
		    "sleep overshoot must be <= 1 s, the batching window <= max age");
		return NULL;
	}
	if (c->era >= FL_ERA_COUNT) {
		fs_err_set(err, EINVAL, "libflush: unknown era %d", (int)c->era);
		return NULL;
	}
	if (c->log != NULL && c->era != FL_ERA_NONE && ops->info.historical &&
	    c->era != ops->info.era) {
		fs_err_set(err, EINVAL, "libflush: %s (%s) writes era %s logs only, not era %s",
		    ops->info.name, ops->info.commit, fl_era_name(ops->info.era),
		    fl_era_name(c->era));
		return NULL;
	}
	if (c->transport.kind == FL_LAT_LIST && c->transport.nlist > 0 && c->transport.list == NULL) {
		fs_err_set(err, EINVAL, "libflush: latency list is NULL");
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->win = calloc(t->ios, sizeof(*e->win))) == NULL) {
		free(e);
		fs_err_set(err, ENOMEM, "libflush: out of memory");
		return NULL;
	}
	e->c = *c;
	e->ops = ops;
	e->real = c->clock == FL_CLOCK_REAL;
	e->rng = c->transport.seed;
	e->logging = c->log != NULL && c->era != FL_ERA_NONE;
	e->era = e->logging ? c->era : ops->info.era;
	e->epoch_ns = c->log_epoch_s * 1000000000ull + c->log_epoch_us * 1000ull;
	e->nios = t->ios;
	for (i = 0; i < t->ios; i++)
		e->win[i].limit = t->window;
	for (i = 0; i < FL_MAX_THREADS; i++) {
		e->thr[i].k = i;
		e->thr[i].until = FL_TIME_NEVER;
		e->thr[i].tfd = e->thr[i].efd = -1;
		e->thr[i].e = e;
	}
	if (ops->start != NULL && ops->start(e) < 0) {
		free(e->win);
		free(e);
		fs_err_set(err, ENOMEM, "libflush: out of memory");
		return NULL;
	}
	return e;
}

/* Appends an input record. */
static struct fl_input *
add_input(struct fl_engine *e, uint64_t at, struct fs_err *err)
{
	struct fl_input *in;

	if (e->ran) {
		fs_err_set(err, EINVAL, "libflush: inputs must be added before fl_engine_run");
		return NULL;
	}
	if (at >= FL_TIME_MAX) {
		fs_err_set(err, EINVAL, "libflush: input time %llu ns out of range",
		    (unsigned long long)at);
		return NULL;
	}
	if (fl_grow(&e->in, &e->capin, e->nin + 1, sizeof(*e->in)) < 0) {
		fs_err_set(err, ENOMEM, "libflush: out of memory");
		return NULL;
	}
	in = &e->in[e->nin];
	memset(in, 0, sizeof(*in));
	in->at = at;
	in->seq = e->nin++;
	return in;
}

/* Adds a write arrival. */
int
fl_engine_write(struct fl_engine *e, uint64_t at_ns, uint64_t fid, uint32_t bno,
    uint32_t off, uint32_t len, uint64_t ready_ns, struct fs_err *err)
{
	struct fl_input *in;

	if (len == 0 || off >= FL_BMAP_SIZE || len > FL_BMAP_SIZE - off)
		return fs_err_set(err, EINVAL, "libflush: write off=%u len=%u outside the "
		    "128 MiB bmap", off, len);
	if (ready_ns != FL_READY_AT_ARRIVAL && ready_ns >= FL_TIME_MAX)
		return fs_err_set(err, EINVAL, "libflush: ready time out of range");
	if ((in = add_input(e, at_ns, err)) == NULL)
		return -1;
	in->kind = FLI_WRITE;
	in->fid = fid;
	in->bno = bno;
	in->bq.id = e->nwrites++;
	in->bq.at = at_ns;
	in->bq.ready = ready_ns == FL_READY_AT_ARRIVAL ? at_ns : ready_ns;
	if (ready_ns == FL_READY_AT_ARRIVAL)
		in->bq.flags |= FLB_READY_AT_ARR;
	in->bq.off = off;
	in->bq.len = len;
	return 0;
}

/* Adds a forced flush. */
int
fl_engine_force(struct fl_engine *e, uint64_t at_ns, uint64_t fid, uint32_t bno,
    struct fs_err *err)
{
	struct fl_input *in;

	if ((in = add_input(e, at_ns, err)) == NULL)
		return -1;
	in->kind = FLI_FORCE;
	in->fid = fid;
	in->bno = bno;
	return 0;
}

/* Adds an end-of-trace mark. */
int
fl_engine_mark(struct fl_engine *e, uint64_t at_ns, struct fs_err *err)
{
	struct fl_input *in;

	if ((in = add_input(e, at_ns, err)) == NULL)
		return -1;
	in->kind = FLI_MARK;
	return 0;
}

/* Orders inputs by time, then by the order they were added. */
static int
in_cmp(const void *a, const void *b)
{
	const struct fl_input *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Swaps two uint64 values. */
static void
u64_swap(uint64_t *a, uint64_t *b)
{
	uint64_t t = *a;

	*a = *b;
	*b = t;
}

/*
 * Puts the k-th smallest of v[lo, hi] at v[k], smaller ones before it and
 * larger ones after (Hoare's selection, median-of-three pivots): O(n)
 * expected, where sorting millions of samples was a visible part of a
 * replay.
 */
static void
select_k(uint64_t *v, size_t lo, size_t hi, size_t k)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, i = lo, j = hi;
		uint64_t p;

		if (v[mid] < v[lo])
			u64_swap(&v[mid], &v[lo]);
		if (v[hi] < v[lo])
			u64_swap(&v[hi], &v[lo]);
		if (v[hi] < v[mid])
			u64_swap(&v[hi], &v[mid]);
		p = v[mid];
		while (i <= j) {
			while (v[i] < p)
				i++;
			while (v[j] > p)
				j--;
			if (i <= j) {
				u64_swap(&v[i], &v[j]);
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return;
	}
}

/*
 * Exact nearest-rank percentiles of v (reordered in place): the ranks are
 * selected from high to low, each within the part below the previous one.
 */
static void
pctl(uint64_t *v, size_t n, struct fl_pctl *p)
{
	size_t i, r999, r99, r50;
	unsigned __int128 sum = 0;

	memset(p, 0, sizeof(*p));
	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		sum += v[i];
		if (v[i] > p->max)
			p->max = v[i];
	}
	r999 = (n * 999 + 999) / 1000 - 1;
	r99 = (n * 990 + 999) / 1000 - 1;
	r50 = (n * 500 + 999) / 1000 - 1;
	select_k(v, 0, n - 1, r999);
	p->p999 = v[r999];
	if (r99 < r999)
		select_k(v, 0, r999 - 1, r99);
	p->p99 = v[r99];
	if (r50 < r99)
		select_k(v, 0, r99 - 1, r50);
	p->p50 = v[r50];
	p->n = n;
	p->mean = (uint64_t)(sum / n);
}

/* Sorts the inputs and attaches each write to its bmap. */
static int
prepare(struct fl_engine *e, struct fs_err *err)
{
	size_t i;

	for (i = 1; i < e->nin && in_cmp(&e->in[i - 1], &e->in[i]) < 0; i++)
		;
	if (i < e->nin)
		qsort(e->in, e->nin, sizeof(*e->in), in_cmp);
	for (i = 0; i < e->nin; i++) {
		struct fl_input *in = &e->in[i];

		if (in->kind == FLI_WRITE && (in->bq.b = fl_bmap_get(e, in->fid, in->bno)) == NULL)
			return fs_err_set(err, ENOMEM, "libflush: out of memory");
	}
	if (e->nin > 0) {
		e->st.first_input_ns = e->in[0].at;
		e->st.last_input_ns = e->in[e->nin - 1].at;
	}
	return 0;
}

/* Runs the workload to completion on the configured clock. */
int
fl_engine_run(struct fl_engine *e, struct fs_err *err)
{
	unsigned i;
	int rc;

	if (e->ran)
		return fs_err_set(err, EINVAL, "libflush: fl_engine_run called twice");
	e->ran = 1;
	if (prepare(e, err) < 0)
		return -1;
	if (fl_log_open(e) < 0)
		return fs_err_set(err, ENOMEM, "libflush: out of memory");
	if (e->real)
		rc = fl_run_real(e);
	else {
		uint64_t t0 = fl_mono_ns();

		rc = fl_run_virtual(e);
		e->st.wall_ns = fl_mono_ns() - t0;	/* the event loop alone */
	}
	if (e->st.end_ns < e->st.last_input_ns)
		e->st.end_ns = e->st.last_input_ns;	/* idle once the last input is in */
	for (i = 0; i < e->nios; i++)
		if (e->win[i].inflight + e->win[i].credits >= e->win[i].limit &&
		    e->st.end_ns > e->win[i].full_since)
			e->st.window_full_ns += e->st.end_ns - e->win[i].full_since;
	pctl(e->lat, e->nlat, &e->st.ready_issue);
	pctl(e->rlate, e->nrlate, &e->st.replay_late);
	pctl(e->wlat, e->nwlat, &e->st.wake_latency);
	e->st.drain_ns = e->st.end_ns > e->st.last_input_ns ? e->st.end_ns - e->st.last_input_ns : 0;
	fl_log_close(e);
	if (e->c.log != NULL)
		fflush(e->c.log);
	if (rc < 0 || e->failed)
		return fs_err_set(err, EIO, "libflush: %s", e->failed ? e->failmsg : "run failed");
	if (e->pending_writes != 0)
		return fs_err_set(err, EIO, "libflush: %llu writes were never completed",
		    (unsigned long long)e->pending_writes);
	return 0;
}

/* Copies the counters. */
void
fl_engine_stats(const struct fl_engine *e, struct fl_stats *st)
{
	*st = e->st;
}

/* Number of bmaps seen. */
size_t
fl_engine_nbmaps(const struct fl_engine *e)
{
	return e->nbm;
}

/* Counters of the i-th bmap. */
int
fl_engine_bmap_stats(const struct fl_engine *e, size_t i, struct fl_bmap_stats *bs)
{
	if (i >= e->nbm)
		return -1;
	*bs = e->bm[i]->st;
	return 0;
}

/* Frees the runs of a bmap left by a failed run. */
static void
free_runs(struct fl_bmap *b)
{
	while (b->runs != NULL) {
		struct fl_batch *ba = b->runs;

		b->runs = ba->bnext;
		free(ba->bq);
		free(ba->cuts);
		free(ba);
	}
}

/* Frees everything, including what a failed run left. */
void
fl_engine_free(struct fl_engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	fl_rpcs_free(e);
	fl_log_close(e);
	if (e->ops->stop != NULL)
		e->ops->stop(e);
	for (i = 0; i < e->nbm; i++) {
		free_runs(e->bm[i]);
		free(e->bm[i]->un);
		free(e->bm[i]->blk);
		free(e->bm[i]->exam_t);
		fl_ref_free(&e->bm[i]->ref);
		free(e->bm[i]);
	}
	for (i = 0; i < FL_MAX_THREADS; i++) {
		free(e->thr[i].col.v);
		free(e->thr[i].bqs.v);
	}
	free(e->bm);
	free(e->hash);
	free(e->dh);
	free(e->rh);
	free(e->vh);
	free(e->tm);
	free(e->win);
	free(e->in);
	free(e->lat);
	free(e->rlate);
	free(e->wlat);
	free(e);
}
