/*
 * libflush engine: bmaps, biorqs, the coalescer, the RPC window, the four
 * queueing policies, counters, and the two clock drivers.
 *
 * Structure.  The "core" functions (core_input, core_complete, core_wake)
 * change the engine state at a time `now`; they are the only code that
 * touches queues, bmaps and counters, and they are the same for both
 * clocks.  A driver decides when they run:
 *   - virtual: a discrete-event loop (inputs in time order, an event heap of
 *     RPC completions and flush-thread timers); deterministic.
 *   - real: the caller's thread injects inputs at their times
 *     (clock_nanosleep TIMER_ABSTIME), N flush threads sleep (usleep-like
 *     clock_nanosleep for the tick policies, pthread_cond_timedwait on a
 *     CLOCK_MONOTONIC condvar for the event-driven ones), one completion
 *     thread delivers RPC replies at their due times.  Every core call is
 *     made with e->mu held.
 * The flush thread's sleep is planned by core_plan (policy specific) and
 * signals go through drv_signal, which the driver implements.
 *
 * Invariants (tested in tests/check_libflush.c):
 *   - every byte of every biorq is carried by exactly one RPC chunk: a batch
 *     covers the union of its biorqs, its chunks are disjoint and sent in
 *     offset order;
 *   - a biorq overlapping an in-flight biorq (or an older held one) of the
 *     same bmap is held back until those complete, so overlapping writes
 *     are never in flight out of order; overlapping unsent biorqs always
 *     share a batch;
 *   - outstanding <= window at all times (a batch too large for the free
 *     slots is sent partially and continued first on later examinations);
 *   - fl_engine_run returns only when every write is sent and completed.
 */
#include "libflush/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

static const char *const pol_names[FL_POL_COUNT] = { "legacy", "pendq", "deadline", "slash2" };

/* Returns the policy's name. */
const char *
fl_policy_name(enum fl_policy p)
{
	return (unsigned)p < FL_POL_COUNT ? pol_names[p] : "?";
}

/* Looks up a policy by name; -1 if unknown. */
int
fl_policy_parse(const char *name)
{
	int i;

	for (i = 0; i < FL_POL_COUNT; i++)
		if (name != NULL && strcmp(name, pol_names[i]) == 0)
			return i;
	return -1;
}

/* Fills the defaults: 2010 tunables, HEAD's max age for slash2. */
int
fl_config_init(struct fl_config *c, const char *policy)
{
	int p = fl_policy_parse(policy ? policy : "legacy");

	memset(c, 0, sizeof(*c));
	if (p < 0)
		return -1;
	c->policy = (enum fl_policy)p;
	c->clock = FL_CLOCK_VIRTUAL;
	c->tun.poll_ns = 2048000;
	c->tun.max_age_ns = p == FL_POL_SLASH2 ? 10000000 : 1000000;
	c->tun.window = 128;
	c->tun.coalesce_size = FL_LNET_MTU;
	c->tun.max_pages = FL_MAX_BRW_PAGES;
	c->tun.safety_timeout_ns = 2000000000ull;
	c->tun.threads = 1;
	c->tun.exam_cost_ns = 0;
	c->tun.wake_latency_ns = FL_WAKE_LATENCY_NS;
	c->tun.batch_ns = p == FL_POL_DEADLINE ? FL_DEADLINE_BATCH_NS : 0;
	c->transport.kind = FL_LAT_FIXED;
	c->transport.fixed_ns = 20000000;
	c->transport.seed = 1;
	c->era = FL_ERA_NONE;
	c->log_epoch_s = 1282327206;
	c->xid_base = 1411;
	return 0;
}

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

/* Grows *p (elements of size sz) to hold at least n; 0 or -1. */
static int
grow(void *pp, size_t *cap, size_t n, size_t sz)
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

/* splitmix64 step: the transport's seeded generator. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Reads CLOCK_MONOTONIC in ns. */
static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The injected clock: ns since the start of the run. */
static uint64_t
now_ns(struct fl_engine *e)
{
	if (!e->real)
		return e->vnow;
	return mono_ns() - e->rstart;
}

/* Records an internal failure (reported by fl_engine_run). */
static void
fail(struct fl_engine *e, const char *msg)
{
	if (!e->failed) {
		e->failed = 1;
		snprintf(e->failmsg, sizeof(e->failmsg), "%s", msg);
	}
}

/* Calls the trace observer if any. */
static void
trace(struct fl_engine *e, struct fl_trace_ev *ev)
{
	if (e->c.trace != NULL)
		e->c.trace(e->c.trace_arg, ev);
}

/* ------------------------------------------------------------------ lists */

/* Appends b to list l and records which queue it is on. */
static void
list_push(struct fl_list *l, struct fl_bmap *b, enum fl_q q)
{
	b->qnext = NULL;
	b->qprev = l->tail;
	if (l->tail)
		l->tail->qnext = b;
	else
		l->head = b;
	l->tail = b;
	l->n++;
	b->q = q;
}

/* Removes b from list l. */
static void
list_del(struct fl_list *l, struct fl_bmap *b)
{
	if (b->qprev)
		b->qprev->qnext = b->qnext;
	else
		l->head = b->qnext;
	if (b->qnext)
		b->qnext->qprev = b->qprev;
	else
		l->tail = b->qprev;
	b->qprev = b->qnext = NULL;
	l->n--;
	b->q = FLQ_NONE;
}

/* The list a queue id names. */
static struct fl_list *
qlist(struct fl_engine *e, enum fl_q q)
{
	switch (q) {
	case FLQ_DIRTY: return &e->dirtyq;
	case FLQ_PEND: return &e->pendq;
	case FLQ_READY: return &e->readyq;
	default: return NULL;
	}
}

/* Takes b off whatever queue it is on. */
static void
unqueue(struct fl_engine *e, struct fl_bmap *b)
{
	if (b->q != FLQ_NONE)
		list_del(qlist(e, b->q), b);
}

/* ------------------------------------------------------- deadline heap */

/* Swaps two deadline-heap slots. */
static void
dh_swap(struct fl_engine *e, size_t i, size_t j)
{
	struct fl_bmap *t = e->dh[i];

	e->dh[i] = e->dh[j];
	e->dh[j] = t;
	e->dh[i]->hidx = i;
	e->dh[j]->hidx = j;
}

/* Restores heap order around slot i. */
static void
dh_fix(struct fl_engine *e, size_t i)
{
	while (i > 0 && e->dh[(i - 1) / 2]->hkey > e->dh[i]->hkey) {
		dh_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < e->ndh && e->dh[l]->hkey < e->dh[m]->hkey)
			m = l;
		if (r < e->ndh && e->dh[r]->hkey < e->dh[m]->hkey)
			m = r;
		if (m == i)
			break;
		dh_swap(e, i, m);
		i = m;
	}
}

/* Removes b from the deadline heap if present. */
static void
dh_del(struct fl_engine *e, struct fl_bmap *b)
{
	size_t i = b->hidx;

	if (i == SIZE_MAX)
		return;
	e->ndh--;
	if (i != e->ndh) {
		e->dh[i] = e->dh[e->ndh];
		e->dh[i]->hidx = i;
		dh_fix(e, i);
	}
	b->hidx = SIZE_MAX;
}

/* Inserts or re-keys b in the deadline heap. */
static void
dh_set(struct fl_engine *e, struct fl_bmap *b, uint64_t key)
{
	if (b->hidx != SIZE_MAX) {
		b->hkey = key;
		dh_fix(e, b->hidx);
		return;
	}
	if (grow(&e->dh, &e->capdh, e->ndh + 1, sizeof(*e->dh)) < 0) {
		fail(e, "out of memory");
		return;
	}
	b->hkey = key;
	b->hidx = e->ndh;
	e->dh[e->ndh++] = b;
	dh_fix(e, b->hidx);
}

/* ------------------------------------------------------------ RPC heap */

/* Orders RPCs by completion time, then xid. */
static int
rh_less(const struct fl_rpc *a, const struct fl_rpc *b)
{
	if (a->info.done_ns != b->info.done_ns)
		return a->info.done_ns < b->info.done_ns;
	return a->info.xid < b->info.xid;
}

/* Pushes an RPC on the completion heap. */
static int
rh_push(struct fl_engine *e, struct fl_rpc *r)
{
	size_t i;

	if (grow(&e->rh, &e->caprh, e->nrh + 1, sizeof(*e->rh)) < 0)
		return -1;
	i = e->nrh++;
	while (i > 0 && rh_less(r, e->rh[(i - 1) / 2])) {
		e->rh[i] = e->rh[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	e->rh[i] = r;
	return 0;
}

/* Pops the earliest-completing RPC. */
static struct fl_rpc *
rh_pop(struct fl_engine *e)
{
	struct fl_rpc *top = e->rh[0], *last;
	size_t i = 0;

	last = e->rh[--e->nrh];
	for (;;) {
		size_t l = 2 * i + 1, m;

		if (l >= e->nrh)
			break;
		m = (l + 1 < e->nrh && rh_less(e->rh[l + 1], e->rh[l])) ? l + 1 : l;
		if (!rh_less(e->rh[m], last))
			break;
		e->rh[i] = e->rh[m];
		i = m;
	}
	if (e->nrh > 0)
		e->rh[i] = last;
	return top;
}

/* ----------------------------------------------------------------- bmaps */

/* Hashes (fid, bno). */
static size_t
bm_hash(uint64_t fid, uint32_t bno, size_t n)
{
	uint64_t h = fid * 0x9e3779b97f4a7c15ull ^ ((uint64_t)bno * 0xc2b2ae3d27d4eb4full);

	return (size_t)(h ^ (h >> 29)) & (n - 1);
}

/* Finds or creates the bmap (fid, bno). */
static struct fl_bmap *
bmap_get(struct fl_engine *e, uint64_t fid, uint32_t bno)
{
	struct fl_bmap *b;
	size_t h, i;

	if (e->hsize == 0 || e->nbm * 2 >= e->hsize) {
		size_t ns = e->hsize ? e->hsize * 2 : 64;
		struct fl_bmap **nh = calloc(ns, sizeof(*nh));

		if (nh == NULL)
			return NULL;
		for (i = 0; i < e->nbm; i++) {
			b = e->bm[i];
			h = bm_hash(b->fid, b->bno, ns);
			b->hnext = nh[h];
			nh[h] = b;
		}
		free(e->hash);
		e->hash = nh;
		e->hsize = ns;
	}
	h = bm_hash(fid, bno, e->hsize);
	for (b = e->hash[h]; b; b = b->hnext)
		if (b->fid == fid && b->bno == bno)
			return b;
	if (grow(&e->bm, &e->capbm, e->nbm + 1, sizeof(*e->bm)) < 0 ||
	    (b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->fid = fid;
	b->bno = bno;
	b->idx = e->nbm;
	b->addr = 0x881330 + (uint64_t)e->nbm * 0xde0;
	b->hidx = SIZE_MAX;
	b->st.fid = fid;
	b->st.bno = bno;
	b->hnext = e->hash[h];
	e->hash[h] = b;
	e->bm[e->nbm++] = b;
	return b;
}

/* True if a biorq is pending on b (unsent, partially sent or in flight). */
static int
bmap_pending(const struct fl_bmap *b)
{
	return b->nun > 0 || b->ninfl > 0 || b->partial != NULL;
}

/* ------------------------------------------------------------- coalescer */

/* a + b, saturating at FL_TIME_NEVER. */
static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > FL_TIME_NEVER - b ? FL_TIME_NEVER : a + b;
}

/* True if [a, a+al) and [b, b+bl) overlap. */
static int
overlaps(uint32_t a, uint32_t al, uint32_t b, uint32_t bl)
{
	return a < b + bl && b < a + al;
}

/*
 * Marks the unsent biorqs that must wait: those overlapping an in-flight
 * biorq, and (transitively) those overlapping an older held one.
 */
static void
mark_held(struct fl_bmap *b)
{
	size_t i, j;
	int changed, any = 0;

	if (b->ninfl == 0 && b->partial == NULL && !b->any_held)
		return;		/* nothing in flight: nothing can be held */
	for (i = 0; i < b->nun; i++) {
		struct fl_biorq *q = b->un[i];

		q->held = 0;
		for (j = 0; j < b->ninfl; j++)
			if (overlaps(q->off, q->len, b->infl[j]->off, b->infl[j]->len)) {
				q->held = 1;
				any = 1;
				break;
			}
	}
	if (b->partial != NULL) {
		/* the unsent remainder of a partial batch is in flight too */
		for (i = 0; i < b->nun; i++)
			if (!b->un[i]->held && overlaps(b->un[i]->off, b->un[i]->len,
			    b->partial->start, b->partial->end - b->partial->start))
				b->un[i]->held = any = 1;
	}
	b->any_held = any;
	if (!any)
		return;
	do {
		changed = 0;
		for (i = 0; i < b->nun; i++) {
			struct fl_biorq *q = b->un[i];

			if (q->held)
				continue;
			for (j = 0; j < b->nun; j++) {
				struct fl_biorq *h = b->un[j];

				if (h->held && h->id < q->id &&
				    overlaps(q->off, q->len, h->off, h->len)) {
					q->held = 1;
					changed = 1;
					break;
				}
			}
		}
	} while (changed);
}

/* A coalesced run found by plan_runs: un[first..last] minus held ones. */
struct run {
	size_t first, last;
	uint32_t start, end;
	uint64_t oldest;
	int forced;
};

/*
 * Splits b's eligible unsent biorqs (sorted by offset) into runs: overlapping
 * biorqs always join; contiguous ones join while the run is below the
 * coalesce size; a hole starts a new run.  A run is sendable when it reached
 * the coalesce size (deadline: and its oldest member is batch_ns old), its
 * oldest member is max_age old, or it is forced, by the time horizon (>= now:
 * a deadline pass looks batch_ns ahead).  Stores up to maxruns sendable runs;
 * returns the number of sendable runs and stores the earliest later time a
 * run becomes sendable in *next.  Only answers for horizon == now are cached.
 */
static size_t
plan_runs(struct fl_engine *e, struct fl_bmap *b, uint64_t now, uint64_t horizon,
    uint64_t *next, struct run *runs, size_t maxruns, size_t *nruns)
{
	size_t i, ns = 0, nr = 0;
	struct run r;
	int open = 0;
	uint64_t batch = e->c.policy == FL_POL_DEADLINE ? e->c.tun.batch_ns : 0;

	*next = FL_TIME_NEVER;
	if (horizon < now)
		horizon = now;
	mark_held(b);
	for (i = 0; i <= b->nun; i++) {
		struct fl_biorq *q = i < b->nun ? b->un[i] : NULL;

		if (q != NULL && q->held)
			continue;
		if (q != NULL && open && (q->off < r.end ||
		    (q->off == r.end && r.end - r.start < e->c.tun.coalesce_size))) {
			if (q->off + q->len > r.end)
				r.end = q->off + q->len;
			if (q->ready < r.oldest)
				r.oldest = q->ready;
			r.forced |= (q->flags & FLB_FORCE) != 0;
			r.last = i;
			continue;
		}
		if (open) {
			uint64_t dl = sat_add(r.oldest, e->c.tun.max_age_ns);

			if (r.end - r.start >= e->c.tun.coalesce_size && sat_add(r.oldest, batch) < dl)
				dl = sat_add(r.oldest, batch);
			if (r.forced || dl <= horizon) {
				ns++;
				if (runs != NULL && nr < maxruns)
					runs[nr++] = r;
			} else if (dl < *next)
				*next = dl;
		}
		open = 0;
		if (q == NULL)
			break;
		r.first = r.last = i;
		r.start = q->off;
		r.end = q->off + q->len;
		r.oldest = q->ready;
		r.forced = (q->flags & FLB_FORCE) != 0;
		open = 1;
	}
	if (nruns != NULL)
		*nruns = nr;
	if (horizon != now)
		return ns;
	b->pc_gen = b->gen + 1;		/* +1 so that 0 never matches */
	b->pc_now = now;
	b->pc_next = *next;
	b->pc_ns = ns;
	return ns;
}

/*
 * plan_runs without the runs, answered from the cache when nothing changed
 * on the bmap and either the time is the same or no run has reached its
 * deadline since (then the answer is identical).
 */
static size_t
plan_query(struct fl_engine *e, struct fl_bmap *b, uint64_t now, uint64_t *next)
{
	if (b->pc_gen == b->gen + 1 && (now == b->pc_now || (b->pc_ns == 0 && now >= b->pc_now &&
	    now < b->pc_next))) {
		*next = b->pc_next;
		return b->pc_ns;
	}
	return plan_runs(e, b, now, now, next, NULL, 0, NULL);
}

/* Number of RPC chunks needed from offset s to the end of the batch. */
static uint32_t
chunk_end(struct fl_engine *e, uint32_t s, uint32_t end)
{
	uint64_t lim = (uint64_t)s + e->c.tun.coalesce_size;
	uint64_t plim = (uint64_t)(s / FL_BRW_PAGE) * FL_BRW_PAGE +
	    (uint64_t)e->c.tun.max_pages * FL_BRW_PAGE;

	if (plim < lim)
		lim = plim;
	return lim < end ? (uint32_t)lim : end;
}

/* Draws the service time of an RPC from the transport. */
static uint64_t
rpc_latency(struct fl_engine *e, const struct fl_rpc_info *ri)
{
	const struct fl_transport *t = &e->c.transport;
	uint64_t u;

	switch (t->kind) {
	case FL_LAT_UNIFORM:
		if (t->b_ns <= t->a_ns)
			return t->a_ns;
		return t->a_ns + rng_next(&e->rng) % (t->b_ns - t->a_ns + 1);
	case FL_LAT_EXP: {
		double x;

		u = rng_next(&e->rng) >> 11;
		x = ((double)u + 0.5) / 9007199254740992.0;
		return t->a_ns + (uint64_t)(-log(x) * (double)t->b_ns);
	}
	case FL_LAT_LIST:
		if (t->nlist == 0)
			return t->fixed_ns;
		return t->list[e->nrpcs_issued < t->nlist ? e->nrpcs_issued : t->nlist - 1];
	case FL_LAT_CALLBACK:
		return t->fn != NULL ? t->fn(t->arg, ri) : t->fixed_ns;
	default:
		return t->fixed_ns;
	}
}

static void drv_rpc_sent(struct fl_engine *e, struct fl_rpc *r);

/* Accounts the window-limit time when outstanding changes. */
static void
window_account(struct fl_engine *e, uint64_t now, unsigned before)
{
	if (before < e->c.tun.window && e->outstanding >= e->c.tun.window)
		e->win_full_since = now;
	else if (before >= e->c.tun.window && e->outstanding < e->c.tun.window)
		e->st.window_full_ns += now - e->win_full_since;
}

/* Sends the next chunk of batch ba as one RPC at now. */
static int
send_chunk(struct fl_engine *e, struct fl_batch *ba, unsigned k, uint64_t now)
{
	struct fl_rpc *r = calloc(1, sizeof(*r));
	struct fl_trace_ev ev;
	uint32_t end = chunk_end(e, ba->next, ba->end);
	unsigned before = e->outstanding;
	uint64_t lat;
	int bk;

	if (r == NULL)
		return -1;
	r->batch = ba;
	r->info.xid = e->c.xid_base + (++e->xid);
	r->info.fid = ba->b->fid;
	r->info.bno = ba->b->bno;
	r->info.off = ba->next;
	r->info.len = end - ba->next;
	r->info.nbiorqs = (uint32_t)ba->nbq;
	r->info.issue_ns = now;
	r->info.forced = ba->forced;
	r->info.expired = ba->expired;
	e->outstanding++;
	r->info.outstanding = e->outstanding;
	window_account(e, now, before);
	if (e->outstanding > e->st.max_outstanding)
		e->st.max_outstanding = e->outstanding;
	lat = rpc_latency(e, &r->info);
	e->nrpcs_issued++;
	r->info.done_ns = now + lat;
	ba->next = end;
	ba->nleft++;
	e->st.rpcs++;
	e->st.bytes_sent += r->info.len;
	if (ba->forced)
		e->st.rpcs_forced++;
	else if (ba->expired)
		e->st.rpcs_expired++;
	else if (ba->early)
		e->st.rpcs_early++;
	else
		e->st.rpcs_full++;
	for (bk = 0; bk < FL_SIZE_BUCKETS - 1 && r->info.len > (4096u << bk); bk++)
		;
	e->st.rpc_size_hist[bk]++;
	ba->b->st.rpcs++;
	ba->b->st.bytes_sent += r->info.len;
	fl_log_send(e, now, k, r);
	ba->b->sent_in_exam = 1;
	memset(&ev, 0, sizeof(ev));
	ev.kind = FL_TR_SEND;
	ev.t_ns = now;
	ev.thread = k;
	ev.fid = r->info.fid;
	ev.bno = r->info.bno;
	ev.off = r->info.off;
	ev.len = r->info.len;
	ev.rpc = &r->info;
	trace(e, &ev);
	drv_rpc_sent(e, r);
	e->last_progress = now;
	return 0;
}

/* Sends chunks of ba while the window has room; 1 if the batch is fully sent. */
static int
send_batch(struct fl_engine *e, struct fl_batch *ba, unsigned k, uint64_t now)
{
	while (ba->next < ba->end && e->outstanding < e->c.tun.window)
		if (send_chunk(e, ba, k, now) < 0) {
			fail(e, "out of memory");
			return 1;
		}
	return ba->next >= ba->end;
}

/* Moves run r of b into a new batch (biorqs go in flight), sends what fits; returns its biorq count. */
static size_t
start_batch(struct fl_engine *e, struct fl_bmap *b, const struct run *r, unsigned k,
    uint64_t now)
{
	struct fl_batch *ba = calloc(1, sizeof(*ba));
	size_t i, n = 0, w;
	struct fl_trace_ev ev;

	if (ba == NULL || (ba->bq = malloc((r->last - r->first + 1) * sizeof(*ba->bq))) == NULL) {
		free(ba);
		fail(e, "out of memory");
		return 0;
	}
	ba->id = ++e->batch_id;
	ba->b = b;
	b->gen++;
	ba->start = ba->next = r->start;
	ba->end = r->end;
	ba->forced = r->forced;
	if (!r->forced && r->end - r->start < e->c.tun.coalesce_size) {
		ba->expired = sat_add(r->oldest, e->c.tun.max_age_ns) <= now;
		ba->early = !ba->expired;
	}
	for (i = r->first; i <= r->last; i++) {
		struct fl_biorq *q = b->un[i];
		uint64_t late, dl = q->ready + e->c.tun.max_age_ns;

		if (q->held)
			continue;
		ba->bq[n++] = q;
		q->batch = ba;
		q->flags |= FLB_SCHED | FLB_INFL;
		q->issue = now;
		if (grow(&e->lat, &e->caplat, e->nlat + 1, sizeof(*e->lat)) == 0)
			e->lat[e->nlat++] = now >= q->ready ? now - q->ready : 0;
		if (now > dl) {
			late = now - dl;
			e->st.late_writes++;
			e->st.late_total_ns += late;
			if (late > e->st.late_max_ns)
				e->st.late_max_ns = late;
		}
		if (grow(&b->infl, &b->capinfl, b->ninfl + 1, sizeof(*b->infl)) < 0) {
			fail(e, "out of memory");
			return n;
		}
		b->infl[b->ninfl++] = q;
	}
	ba->nbq = n;
	/* drop the batch's biorqs from the unsent array (keeps order) */
	for (i = r->first, w = r->first; i < b->nun; i++)
		if (!(i <= r->last && b->un[i]->batch == ba))
			b->un[w++] = b->un[i];
	b->nun = w;
	for (i = 0; i < n; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = FL_TR_BIORQ_SENT;
		ev.t_ns = now;
		ev.thread = k;
		ev.fid = b->fid;
		ev.bno = b->bno;
		ev.off = ba->bq[i]->off;
		ev.len = ba->bq[i]->len;
		ev.id = ba->bq[i]->id;
		trace(e, &ev);
	}
	fl_log_sched(e, now, k, ba);
	if (!send_batch(e, ba, k, now)) {
		b->partial = ba;
		b->gen++;
	}
	return n;
}

/*
 * Examines bmap b: logs the examination, continues a partial batch, then
 * sends every sendable run the window allows.  Returns 1 if anything was
 * sent.  Counts the examination; wastedness is decided by the caller once
 * it knows whether b stays queued (see count_exam).
 */
static int
examine(struct fl_engine *e, struct fl_bmap *b, unsigned k, uint64_t now)
{
	struct run runs[64];
	size_t nr, i, ns, shift;
	uint64_t next;

	e->st.exams++;
	b->st.exams++;
	b->sent_in_exam = 0;
	fl_log_exam(e, now, k, b);
	if (b->partial != NULL) {
		b->gen++;
		if (send_batch(e, b->partial, k, now))
			b->partial = NULL;
		else
			return b->sent_in_exam;
	}
	do {
		if (e->outstanding >= e->c.tun.window)
			break;
		ns = plan_runs(e, b, now, e->c.policy == FL_POL_DEADLINE ?
		    sat_add(now, e->c.tun.batch_ns) : now, &next, runs, 64, &nr);
		shift = 0;
		for (i = 0; i < nr && e->outstanding < e->c.tun.window; i++) {
			/* earlier batches left the unsent array: shift indexes */
			struct run r = runs[i];

			r.first -= shift;
			r.last -= shift;
			shift += start_batch(e, b, &r, k, now);
			if (b->partial != NULL)
				break;
		}
		/* more than 64 sendable runs: plan again */
	} while (ns > nr && b->partial == NULL && !e->failed);
	return b->sent_in_exam;
}

/* Classifies and counts a wasted examination of b (nothing sent, b stays queued). */
static void
count_wasted(struct fl_engine *e, struct fl_bmap *b, uint64_t now)
{
	uint64_t next;

	e->st.wasted++;
	b->st.wasted++;
	if (b->nun == 0 && b->partial == NULL)
		e->st.wasted_inflight++;
	else if (b->partial != NULL || plan_query(e, b, now, &next) > 0)
		e->st.wasted_throttled++;
	else
		e->st.wasted_notready++;
}

/* Emits the EXAMINE trace record. */
static void
trace_exam(struct fl_engine *e, struct fl_bmap *b, unsigned k, uint64_t now, int wasted)
{
	struct fl_trace_ev ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = FL_TR_EXAMINE;
	ev.t_ns = now;
	ev.thread = k;
	ev.fid = b->fid;
	ev.bno = b->bno;
	ev.wasted = wasted;
	trace(e, &ev);
}

/* Emits a bmap-level trace record (REQUEUE, CLEAN). */
static void
trace_bmap(struct fl_engine *e, enum fl_trace_kind kind, struct fl_bmap *b, unsigned k,
    uint64_t now)
{
	struct fl_trace_ev ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.t_ns = now;
	ev.thread = k;
	ev.fid = b->fid;
	ev.bno = b->bno;
	trace(e, &ev);
}

/* ------------------------------------------------------------- policies */

static void drv_signal(struct fl_engine *e);

/*
 * Deadline/slash2 bookkeeping: files b in the ready queue (deadline: work
 * sendable now) and/or the deadline heap (earliest time a run becomes
 * sendable).  Returns 1 if b has work sendable now.
 */
static int
index_bmap(struct fl_engine *e, struct fl_bmap *b, uint64_t now)
{
	uint64_t next;
	size_t ns = 0;

	if (b->partial == NULL && b->nun > 0)
		ns = plan_query(e, b, now, &next);
	else
		next = FL_TIME_NEVER;
	if (next != FL_TIME_NEVER)
		dh_set(e, b, next);
	else
		dh_del(e, b);
	if (e->c.policy == FL_POL_DEADLINE) {
		int ready = b->partial != NULL || ns > 0;

		if (ready && b->q != FLQ_READY) {
			unqueue(e, b);
			list_push(&e->readyq, b, FLQ_READY);
		} else if (!ready && b->q == FLQ_READY)
			unqueue(e, b);
		return ready;
	}
	return b->partial != NULL || ns > 0;
}

/* Earliest wait deadline among sleeping threads (FL_TIME_NEVER if none sleep). */
static uint64_t
min_sleep_until(struct fl_engine *e, int *any)
{
	uint64_t m = FL_TIME_NEVER;
	unsigned k;

	*any = 0;
	for (k = 0; k < e->c.tun.threads; k++)
		if (e->thr[k].sleeping) {
			*any = 1;
			if (e->thr[k].until < m)
				m = e->thr[k].until;
		}
	return m;
}

/* Marks the bmap clean (no write pending): leaves every queue. */
static void
retire(struct fl_engine *e, struct fl_bmap *b, unsigned k, uint64_t now)
{
	unqueue(e, b);
	dh_del(e, b);
	trace_bmap(e, FL_TR_CLEAN, b, k, now);
}

/* A write arrives (or a force) at now. */
static void
core_input(struct fl_engine *e, struct fl_input *in, uint64_t now)
{
	struct fl_bmap *b;
	struct fl_trace_ev ev;
	int sig = 0;

	e->last_progress = now;
	memset(&ev, 0, sizeof(ev));
	ev.t_ns = now;
	ev.fid = in->fid;
	ev.bno = in->bno;
	if (in->kind == FLI_FORCE) {
		size_t i;

		e->st.forces++;
		ev.kind = FL_TR_FORCE;
		trace(e, &ev);
		for (i = 0; i < e->nbm; i++) {
			size_t j;

			b = e->bm[i];
			if (b->fid != in->fid || (in->bno != FL_BMAP_ALL && b->bno != in->bno) ||
			    b->nun == 0)
				continue;
			for (j = 0; j < b->nun; j++)
				b->un[j]->flags |= FLB_FORCE;
			b->gen++;
			switch (e->c.policy) {
			case FL_POL_LEGACY:
			case FL_POL_PENDQ:
				if (b->q != FLQ_DIRTY) {
					unqueue(e, b);
					list_push(&e->dirtyq, b, FLQ_DIRTY);
				}
				break;
			case FL_POL_DEADLINE:
				if (index_bmap(e, b, now))
					sig = 1;
				break;
			case FL_POL_SLASH2:
				index_bmap(e, b, now);
				sig = 2;
				break;
			default:
				break;
			}
		}
		if (sig == 2)
			fl_log_wakeup(e, now, 2, 0, in->fid);
		if (sig)
			drv_signal(e);
		return;
	}
	{
		struct fl_biorq *q = &in->bq;
		int was_dirty, list_empty;
		size_t pos;

		b = q->b;
		e->st.writes++;
		e->st.bytes_written += q->len;
		e->pending_writes++;
		b->st.writes++;
		was_dirty = b->dirty;
		list_empty = b->nun == 0;
		if (grow(&b->un, &b->capun, b->nun + 1, sizeof(*b->un)) < 0) {
			fail(e, "out of memory");
			return;
		}
		/* insertion keeps (off, id) order; sequential writes append */
		pos = b->nun;
		while (pos > 0 && (b->un[pos - 1]->off > q->off ||
		    (b->un[pos - 1]->off == q->off && b->un[pos - 1]->id > q->id)))
			pos--;
		memmove(&b->un[pos + 1], &b->un[pos], (b->nun - pos) * sizeof(*b->un));
		b->un[pos] = q;
		b->nun++;
		b->gen++;
		q->flags |= FLB_WRITE | FLB_FLUSHRDY;
		if (q->flags & FLB_READY_AT_ARR)
			q->ready = now;		/* real clock: when it really arrived */
		b->dirty = 1;
		ev.kind = FL_TR_ARRIVE;
		ev.off = q->off;
		ev.len = q->len;
		ev.id = q->id;
		trace(e, &ev);
		switch (e->c.policy) {
		case FL_POL_LEGACY:
		case FL_POL_PENDQ: {
			int newq = b->q != FLQ_DIRTY && !b->in_pass;

			fl_log_arrive(e, now, q, list_empty, newq && b->q != FLQ_PEND && !was_dirty);
			if (newq) {
				unqueue(e, b);
				list_push(&e->dirtyq, b, FLQ_DIRTY);
			}
			break;
		}
		case FL_POL_DEADLINE: {
			int any;
			uint64_t m;

			fl_log_arrive(e, now, q, list_empty, !was_dirty);
			if (b->q == FLQ_READY)
				break;		/* already due: the pass will plan it */
			if (index_bmap(e, b, now)) {
				if (e->outstanding < e->c.tun.window)
					drv_signal(e);
			} else if (b->hidx != SIZE_MAX) {
				m = min_sleep_until(e, &any);
				if (any && b->hkey < m)
					drv_signal(e);	/* re-arm the timer earlier */
			}
			break;
		}
		case FL_POL_SLASH2: {
			int newq = b->q != FLQ_DIRTY;

			fl_log_arrive(e, now, q, list_empty, newq);
			if (newq)
				list_push(&e->dirtyq, b, FLQ_DIRTY);
			else
				fl_log_wakeup(e, now, 4, 0, b->fid);
			index_bmap(e, b, now);
			drv_signal(e);
			break;
		}
		default:
			break;
		}
	}
}

/* An RPC reply arrives at now. */
static void
core_complete(struct fl_engine *e, struct fl_rpc *r, uint64_t now)
{
	struct fl_batch *ba = r->batch;
	struct fl_bmap *b = ba->b;
	struct fl_trace_ev ev;
	unsigned before = e->outstanding;
	int was_full = before >= e->c.tun.window;
	size_t i, j;

	e->outstanding--;
	window_account(e, now, before);
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
	trace(e, &ev);
	ba->nleft--;
	if (ba->nleft == 0 && ba->next >= ba->end) {
		/* the whole batch is acknowledged: its biorqs complete */
		b->gen++;
		for (i = 0; i < ba->nbq; i++) {
			struct fl_biorq *q = ba->bq[i];

			for (j = 0; j < b->ninfl; j++)
				if (b->infl[j] == q) {
					b->infl[j] = b->infl[--b->ninfl];
					break;
				}
			q->flags &= ~(uint32_t)FLB_INFL;
			e->pending_writes--;
		}
		free(ba->bq);
		free(ba);
		if (!bmap_pending(b)) {
			b->dirty = 0;
			fl_log_unset_dirty(e, now, b);
			switch (e->c.policy) {
			case FL_POL_PENDQ:
				if (b->q == FLQ_PEND) {
					/* completion moves it back: the next pass retires it */
					list_del(&e->pendq, b);
					list_push(&e->dirtyq, b, FLQ_DIRTY);
				}
				break;
			case FL_POL_DEADLINE:
			case FL_POL_SLASH2:
				retire(e, b, 0, now);
				break;
			default:
				break;
			}
		} else if (e->c.policy == FL_POL_DEADLINE || e->c.policy == FL_POL_SLASH2) {
			/* held writes may have become eligible */
			if (index_bmap(e, b, now) && e->c.policy == FL_POL_DEADLINE)
				drv_signal(e);
			else if (e->c.policy == FL_POL_DEADLINE && b->hidx != SIZE_MAX) {
				int any;

				if (b->hkey < min_sleep_until(e, &any) && any)
					drv_signal(e);
			}
		}
	}
	free(r);
	if (was_full && e->outstanding < e->c.tun.window) {
		if (e->c.policy == FL_POL_DEADLINE) {
			if (e->readyq.n > 0 || (e->ndh > 0 && e->dh[0]->hkey <= now))
				drv_signal(e);
		} else if (e->c.policy == FL_POL_SLASH2) {
			fl_log_wakeup(e, now, 1, 1, 0);
			drv_signal(e);
		}
	}
}

/* legacy/pendq: one 2010 pass (dequeue all, examine, restore). */
static void
pass_legacy(struct fl_engine *e, unsigned k, uint64_t *now)
{
	struct fl_bmap **snap = NULL;
	size_t n = 0, cap = 0, i;

	if (e->outstanding >= e->c.tun.window) {
		e->st.skipped_passes++;
		return;
	}
	e->st.passes++;
	while (e->dirtyq.head != NULL) {
		struct fl_bmap *b = e->dirtyq.head;

		list_del(&e->dirtyq, b);
		if (grow(&snap, &cap, n + 1, sizeof(*snap)) < 0) {
			fail(e, "out of memory");
			break;
		}
		snap[n++] = b;
		b->in_pass = 1;
	}
	for (i = 0; i < n; i++) {
		struct fl_bmap *b = snap[i];

		if (!b->dirty) {
			/* 662: no I/O left: off to the timeout queue */
			e->st.exams++;
			b->st.exams++;
			fl_log_exam(e, *now, k, b);
			fl_log_retire(e, *now, k, b, 1);
			trace_exam(e, b, k, *now, 0);
			trace_bmap(e, FL_TR_CLEAN, b, k, *now);
			b->in_pass = 0;
			snap[i] = NULL;
		} else
			examine(e, b, k, *now);
		*now += e->c.tun.exam_cost_ns;
	}
	for (i = 0; i < n; i++) {
		struct fl_bmap *b = snap[i];
		int wasted;

		if (b == NULL)
			continue;
		b->in_pass = 0;
		if (e->c.policy == FL_POL_PENDQ && b->nun == 0 && b->partial == NULL &&
		    b->ninfl > 0) {
			/* only in-flight writes: park until a completion */
			trace_exam(e, b, k, *now, 0);
			list_push(&e->pendq, b, FLQ_PEND);
			continue;
		}
		if (bmap_pending(b)) {
			wasted = !b->sent_in_exam;
			if (wasted)
				count_wasted(e, b, *now);
			trace_exam(e, b, k, *now, wasted);
			fl_log_restore(e, *now, k, b);
			e->st.requeues++;
			b->st.requeues++;
			trace_bmap(e, FL_TR_REQUEUE, b, k, *now);
			list_push(&e->dirtyq, b, FLQ_DIRTY);
		} else {
			trace_exam(e, b, k, *now, 0);
			b->dirty = 0;
			fl_log_retire(e, *now, k, b, 0);
			trace_bmap(e, FL_TR_CLEAN, b, k, *now);
		}
	}
	free(snap);
}

/* deadline: examine only bmaps with work sendable now, while the window has room. */
static void
pass_deadline(struct fl_engine *e, unsigned k, uint64_t *now)
{
	struct fl_list todo = { NULL, NULL, 0 };
	uint64_t horizon = sat_add(*now, e->c.tun.batch_ns);

	while (e->ndh > 0 && e->dh[0]->hkey <= *now)
		index_bmap(e, e->dh[0], *now);	/* moves it to the ready queue */
	if (e->readyq.n == 0 || e->outstanding >= e->c.tun.window)
		return;
	e->st.passes++;
	/* detach the ready queue so re-filed bmaps are not examined twice */
	todo = e->readyq;
	e->readyq.head = e->readyq.tail = NULL;
	e->readyq.n = 0;
	/* with a batching window, work due within it rides along */
	while (e->ndh > 0 && e->dh[0]->hkey <= horizon) {
		struct fl_bmap *b = e->dh[0];

		dh_del(e, b);
		if (b->q != FLQ_READY)
			list_push(&todo, b, FLQ_READY);
	}
	while (todo.head != NULL) {
		struct fl_bmap *b = todo.head;
		int sent;

		list_del(&todo, b);
		if (e->outstanding >= e->c.tun.window) {
			list_push(&e->readyq, b, FLQ_READY);
			continue;
		}
		sent = examine(e, b, k, *now);
		if (!sent)
			count_wasted(e, b, *now);
		trace_exam(e, b, k, *now, !sent);
		index_bmap(e, b, *now);
		*now += e->c.tun.exam_cost_ns;
	}
}

/* slash2: every queued bmap is looked at; in-flight-only ones cost O(1). */
static int
pass_slash2(struct fl_engine *e, unsigned k, uint64_t *now)
{
	struct fl_bmap *b, *nb;
	uint64_t before = e->st.rpcs;

	e->st.passes++;
	for (b = e->dirtyq.head; b != NULL; b = nb) {
		int sent;

		nb = b->qnext;
		sent = examine(e, b, k, *now);
		if (!sent)
			count_wasted(e, b, *now);
		trace_exam(e, b, k, *now, !sent);
		index_bmap(e, b, *now);
		*now += e->c.tun.exam_cost_ns;
	}
	return e->st.rpcs != before;
}

/*
 * A flush thread woke (reason 1 timeout, 2 signal; 0 = start of a thread's
 * life, not counted) at now: run the policy's passes.  Returns the time the
 * thread is busy until (now plus modelled examination cost).
 */
static uint64_t
core_wake(struct fl_engine *e, unsigned k, int reason, uint64_t now)
{
	struct fl_trace_ev ev;
	uint64_t rpcs = e->st.rpcs, t = now;

	if (reason == 0)
		return now;
	e->st.wakeups++;
	if (reason == 1)
		e->st.wake_timeout++;
	else
		e->st.wake_signal++;
	memset(&ev, 0, sizeof(ev));
	ev.kind = FL_TR_WAKE;
	ev.t_ns = now;
	ev.thread = k;
	ev.reason = reason;
	trace(e, &ev);
	ev.kind = FL_TR_PASS;
	switch (e->c.policy) {
	case FL_POL_LEGACY:
	case FL_POL_PENDQ:
		if (e->outstanding < e->c.tun.window)
			trace(e, &ev);
		pass_legacy(e, k, &t);
		break;
	case FL_POL_DEADLINE:
		trace(e, &ev);
		pass_deadline(e, k, &t);
		break;
	case FL_POL_SLASH2:
		/* msflushthr_main: while (bmap_flush()); */
		do
			trace(e, &ev);
		while (pass_slash2(e, k, &t) && !e->failed);
		break;
	default:
		break;
	}
	if (e->st.rpcs == rpcs)
		e->st.wake_useless++;
	if (e->c.era == FL_ERA_Z)
		fl_log_worktime(e, t, k, t - now, now - e->thr[k].slept_at);
	return t;
}

/* Sleep plan of a flush thread: kind 0 = fixed tick (not interruptible), 1 = condvar wait. */
struct plan {
	int interruptible;
	uint64_t until;
};

/* Decides how flush thread k sleeps after a wake ending at now. */
static struct plan
core_plan(struct fl_engine *e, unsigned k, uint64_t now)
{
	struct plan p;

	(void)k;
	switch (e->c.policy) {
	case FL_POL_LEGACY:
	case FL_POL_PENDQ:
		p.interruptible = 0;
		p.until = now + e->c.tun.poll_ns;
		break;
	case FL_POL_DEADLINE:
		p.interruptible = 1;
		if (e->outstanding >= e->c.tun.window)
			p.until = FL_TIME_NEVER;	/* a completion will signal */
		else if (e->readyq.n > 0)
			p.until = now;
		else
			p.until = e->ndh > 0 ? e->dh[0]->hkey : FL_TIME_NEVER;
		break;
	default:	/* slash2 */
		p.interruptible = 1;
		p.until = now + e->c.tun.safety_timeout_ns;
		if (e->ndh > 0 && e->dh[0]->hkey < p.until)
			p.until = e->dh[0]->hkey;
		break;
	}
	return p;
}

/* True when every input is in and every write sent and acknowledged. */
static int
core_idle(struct fl_engine *e)
{
	return e->next_in >= e->nin && e->pending_writes == 0 && e->outstanding == 0;
}

/* --------------------------------------------------------- virtual driver */

/* Orders virtual events: time, then kind (completions first), then sequence. */
static int
vev_less(const struct fl_vev *a, const struct fl_vev *b)
{
	if (a->t != b->t)
		return a->t < b->t;
	if (a->kind != b->kind)
		return a->kind < b->kind;
	return a->seq < b->seq;
}

/* Pushes a virtual event. */
static void
vpush(struct fl_engine *e, struct fl_vev ev)
{
	size_t i;

	if (grow(&e->vh, &e->capvh, e->nvh + 1, sizeof(*e->vh)) < 0) {
		fail(e, "out of memory");
		return;
	}
	ev.seq = e->vseq++;
	i = e->nvh++;
	while (i > 0 && vev_less(&ev, &e->vh[(i - 1) / 2])) {
		e->vh[i] = e->vh[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	e->vh[i] = ev;
}

/* Pops the earliest virtual event. */
static struct fl_vev
vpop(struct fl_engine *e)
{
	struct fl_vev top = e->vh[0], last = e->vh[--e->nvh];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, m;

		if (l >= e->nvh)
			break;
		m = (l + 1 < e->nvh && vev_less(&e->vh[l + 1], &e->vh[l])) ? l + 1 : l;
		if (!vev_less(&e->vh[m], &last))
			break;
		e->vh[i] = e->vh[m];
		i = m;
	}
	if (e->nvh > 0)
		e->vh[i] = last;
	return top;
}

/* Schedules flush thread k's sleep (virtual clock). */
static void
vsleep(struct fl_engine *e, unsigned k, uint64_t now)
{
	struct fl_thr *t = &e->thr[k];
	struct plan p = core_plan(e, k, now);
	struct fl_vev ev;

	t->token++;
	t->slept_at = now;
	memset(&ev, 0, sizeof(ev));
	ev.kind = 2;
	ev.k = k;
	ev.token = t->token;
	if (p.interruptible && e->sig_pending) {
		e->sig_pending = 0;
		ev.t = now;
		ev.reason = 2;
		t->wake_pending = 1;
		vpush(e, ev);
		return;
	}
	t->sleeping = p.interruptible;
	t->until = p.until;
	if (p.until == FL_TIME_NEVER)
		return;
	ev.t = p.until > now ? p.until : now;
	ev.reason = 1;
	vpush(e, ev);
}

/* Runs the whole workload on the virtual clock. */
static int
run_virtual(struct fl_engine *e)
{
	unsigned k;
	struct fl_vev ev;

	for (k = 0; k < e->c.tun.threads; k++)
		vsleep(e, k, 0);
	while (!e->failed && !core_idle(e)) {
		int use_input = e->next_in < e->nin &&
		    (e->nvh == 0 || e->in[e->next_in].at < e->vh[0].t ||
		    (e->in[e->next_in].at == e->vh[0].t && e->vh[0].kind > 0));

		e->st.events++;
		if (use_input) {
			struct fl_input *in = &e->in[e->next_in++];

			e->vnow = in->at;
			core_input(e, in, e->vnow);
			continue;
		}
		if (e->nvh == 0) {
			fail(e, "engine stalled: writes pending and nothing scheduled");
			break;
		}
		ev = vpop(e);
		e->vnow = ev.t;
		if (ev.kind == 0) {
			core_complete(e, ev.rpc, e->vnow);
			continue;
		}
		if (ev.token != e->thr[ev.k].token)
			continue;	/* cancelled timer */
		if (e->vnow > e->last_progress + 600000000000ull) {
			fail(e, "engine made no progress for 600 s of virtual time");
			break;
		}
		if (ev.kind == 2) {
			uint64_t busy;

			e->thr[ev.k].sleeping = 0;
			e->thr[ev.k].wake_pending = 0;
			busy = core_wake(e, ev.k, ev.reason, e->vnow);
			if (busy > e->vnow) {
				struct fl_vev be;

				memset(&be, 0, sizeof(be));
				be.t = busy;
				be.kind = 3;
				be.k = ev.k;
				be.token = ++e->thr[ev.k].token;
				vpush(e, be);
			} else
				vsleep(e, ev.k, e->vnow);
		} else
			vsleep(e, ev.k, e->vnow);
	}
	return e->failed ? -1 : 0;
}

/* ------------------------------------------------------------ real driver */

/* Adds ns to a CLOCK_MONOTONIC timespec for run-relative time t. */
static struct timespec
abs_ts(struct fl_engine *e, uint64_t t)
{
	struct timespec ts;
	uint64_t a = e->rstart + t;

	ts.tv_sec = (time_t)(a / 1000000000ull);
	ts.tv_nsec = (long)(a % 1000000000ull);
	return ts;
}

/* Signals a flush thread that work (or a rearm) is waiting. */
static void
drv_signal(struct fl_engine *e)
{
	unsigned k;

	if (e->real) {
		if (!e->sig_pending && !e->sig_timed)
			for (k = 0; k < e->c.tun.threads; k++)
				if (e->thr[k].sleeping) {
					/* time the wake-up it causes */
					e->sig_at = now_ns(e);
					e->sig_thr = k;
					e->sig_timed = 1;
					break;
				}
		e->sig_pending = 1;
		pthread_cond_signal(&e->fcv);
		return;
	}
	for (k = 0; k < e->c.tun.threads; k++)
		if (e->thr[k].wake_pending)
			return;		/* a wake already scheduled will see the work */
	for (k = 0; k < e->c.tun.threads; k++) {
		struct fl_thr *t = &e->thr[k];

		if (t->sleeping) {
			struct fl_vev ev;

			t->sleeping = 0;
			t->token++;
			memset(&ev, 0, sizeof(ev));
			/*
			 * It runs once the scheduler gets to it (signals meanwhile
			 * merge), or when its own timer ends, if that is sooner.
			 */
			ev.t = sat_add(e->vnow, e->c.tun.wake_latency_ns);
			ev.reason = 2;
			if (t->until < ev.t) {
				ev.t = t->until > e->vnow ? t->until : e->vnow;
				ev.reason = 1;
			}
			ev.kind = 2;
			ev.k = k;
			ev.token = t->token;
			t->wake_pending = 1;
			vpush(e, ev);
			return;
		}
	}
	e->sig_pending = 1;
}

/* Tells the completion side that an RPC was issued. */
static void
drv_rpc_sent(struct fl_engine *e, struct fl_rpc *r)
{
	if (e->real) {
		if (rh_push(e, r) < 0)
			fail(e, "out of memory");
		else if (e->rh[0] == r)
			pthread_cond_signal(&e->ccv);
		return;
	}
	{
		struct fl_vev ev;

		memset(&ev, 0, sizeof(ev));
		ev.t = r->info.done_ns;
		ev.kind = 0;
		ev.rpc = r;
		vpush(e, ev);
	}
}

/* Converts a timespec to ns. */
static uint64_t
ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* A real flush thread: sleep per the policy's plan, wake, pass, repeat. */
static void *
flush_thread(void *arg)
{
	struct fl_thr *t = arg;
	struct fl_engine *e = t->e;
	struct timespec cpu;
	struct rusage ru;
	uint64_t busy;

	pthread_mutex_lock(&e->mu);
	busy = now_ns(e);
	while (!e->stop) {
		struct plan p = core_plan(e, t->k, busy);
		int reason = 1;

		t->slept_at = busy;
		if (!p.interruptible) {
			struct timespec rel;
			uint64_t d = p.until - busy;

			/* usleep(2048): a fixed sleep nobody can cut short */
			pthread_mutex_unlock(&e->mu);
			rel.tv_sec = (time_t)(d / 1000000000ull);
			rel.tv_nsec = (long)(d % 1000000000ull);
			while (clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, &rel) == EINTR)
				;
			pthread_mutex_lock(&e->mu);
		} else {
			t->sleeping = 1;
			t->until = p.until;
			for (;;) {
				int rc;

				if (e->sig_pending) {
					e->sig_pending = 0;
					reason = 2;
					if (e->sig_timed && e->sig_thr == t->k) {
						uint64_t now = now_ns(e);

						if (grow(&e->wlat, &e->capwlat, e->nwlat + 1,
						    sizeof(*e->wlat)) == 0)
							e->wlat[e->nwlat++] =
							    now > e->sig_at ? now - e->sig_at : 0;
					}
					e->sig_timed = 0;	/* taken: no longer a wake to time */
					break;
				}
				if (e->stop)
					break;
				if (p.until == FL_TIME_NEVER)
					rc = pthread_cond_wait(&e->fcv, &e->mu);
				else {
					struct timespec ts = abs_ts(e, p.until);

					rc = pthread_cond_timedwait(&e->fcv, &e->mu, &ts);
				}
				if (rc == ETIMEDOUT && !e->sig_pending) {
					reason = 1;
					break;
				}
			}
			t->sleeping = 0;
		}
		if (e->stop)
			break;
		core_wake(e, t->k, reason, now_ns(e));
		busy = now_ns(e);
		if (core_idle(e))
			pthread_cond_broadcast(&e->dcv);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	getrusage(RUSAGE_THREAD, &ru);
	e->st.flush_cpu_ns += ts_ns(&cpu);
	e->st.flush_nvcsw += (uint64_t)ru.ru_nvcsw;
	e->st.flush_nivcsw += (uint64_t)ru.ru_nivcsw;
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* The real RPC completion thread: delivers replies at their due times. */
static void *
completion_thread(void *arg)
{
	struct fl_engine *e = arg;

	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		uint64_t now;

		if (e->nrh == 0) {
			pthread_cond_wait(&e->ccv, &e->mu);
			continue;
		}
		now = now_ns(e);
		if (e->rh[0]->info.done_ns > now) {
			struct timespec ts = abs_ts(e, e->rh[0]->info.done_ns);

			pthread_cond_timedwait(&e->ccv, &e->mu, &ts);
			continue;
		}
		core_complete(e, rh_pop(e), now);
		if (core_idle(e))
			pthread_cond_broadcast(&e->dcv);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* Compares two uint64 values for qsort. */
static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Exact nearest-rank percentiles of v (sorted in place). */
static void
pctl(uint64_t *v, size_t n, struct fl_pctl *p)
{
	size_t i;
	unsigned __int128 sum = 0;

	memset(p, 0, sizeof(*p));
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), u64_cmp);
	for (i = 0; i < n; i++)
		sum += v[i];
	p->n = n;
	p->p50 = v[(n * 500 + 999) / 1000 - 1];
	p->p99 = v[(n * 990 + 999) / 1000 - 1];
	p->p999 = v[(n * 999 + 999) / 1000 - 1];
	p->max = v[n - 1];
	p->mean = (uint64_t)(sum / n);
}

/* Process user+sys CPU in ns. */
static uint64_t
proc_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_utime.tv_sec * 1000000000ull + (uint64_t)ru.ru_utime.tv_usec * 1000 +
	    (uint64_t)ru.ru_stime.tv_sec * 1000000000ull + (uint64_t)ru.ru_stime.tv_usec * 1000;
}

/* Runs the workload on the real clock with real threads. */
static int
run_real(struct fl_engine *e)
{
	pthread_condattr_t ca;
	pthread_t ct;
	unsigned k, started = 0;
	int rc = 0, cstarted = 0, slack;
	uint64_t cpu0 = proc_cpu();

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->fcv, &ca);
	pthread_cond_init(&e->ccv, &ca);
	pthread_cond_init(&e->dcv, &ca);
	pthread_condattr_destroy(&ca);
	if ((e->rlate = malloc((e->nin + 1) * sizeof(*e->rlate))) == NULL)
		return -1;
	e->nrlate = 0;
	/*
	 * Sleeps end on time: with the default 50 us timer slack the injector
	 * would wake that late and inject several arrivals under one lock
	 * hold, and timed flush-thread wakes and replies would run late too.
	 * Threads inherit the slack at creation; the caller's is restored.
	 */
	slack = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	pthread_mutex_lock(&e->mu);
	e->rstart = mono_ns();
	for (k = 0; k < e->c.tun.threads; k++) {
		e->thr[k].k = k;
		e->thr[k].e = e;
		if (pthread_create(&e->thr[k].tid, NULL, flush_thread, &e->thr[k]) != 0)
			break;
		started++;
	}
	if (started == e->c.tun.threads &&
	    pthread_create(&ct, NULL, completion_thread, e) == 0)
		cstarted = 1;
	if (!cstarted) {
		fail(e, "cannot create threads");
		rc = -1;
	}
	pthread_mutex_unlock(&e->mu);
	/* inject each input at its time */
	while (rc == 0) {
		struct timespec ts;
		uint64_t now;

		pthread_mutex_lock(&e->mu);
		if (e->next_in >= e->nin) {
			pthread_mutex_unlock(&e->mu);
			break;
		}
		ts = abs_ts(e, e->in[e->next_in].at);
		pthread_mutex_unlock(&e->mu);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		pthread_mutex_lock(&e->mu);
		now = now_ns(e);
		/* everything due by now goes in under one lock hold */
		while (e->next_in < e->nin && e->in[e->next_in].at <= now) {
			struct fl_input *in = &e->in[e->next_in++];

			e->rlate[e->nrlate++] = now - in->at;
			core_input(e, in, now);
		}
		pthread_mutex_unlock(&e->mu);
	}
	/* drain: wait until everything is acknowledged, or no progress for 30 s */
	pthread_mutex_lock(&e->mu);
	while (rc == 0 && !core_idle(e) && !e->failed) {
		struct timespec ts;
		uint64_t now = now_ns(e);

		if (now > e->last_progress + 30000000000ull) {
			fail(e, "engine made no progress for 30 s");
			break;
		}
		ts = abs_ts(e, now + 100000000ull);
		pthread_cond_timedwait(&e->dcv, &e->mu, &ts);
	}
	e->stop = 1;
	pthread_cond_broadcast(&e->fcv);
	pthread_cond_broadcast(&e->ccv);
	pthread_mutex_unlock(&e->mu);
	for (k = 0; k < started; k++)
		pthread_join(e->thr[k].tid, NULL);
	if (cstarted)
		pthread_join(ct, NULL);
	if (slack > 0)
		prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0UL, 0UL, 0UL);
	e->st.wall_ns = mono_ns() - e->rstart;
	e->st.proc_cpu_ns = proc_cpu() - cpu0;
	pctl(e->rlate, e->nrlate, &e->st.replay_late);
	pctl(e->wlat, e->nwlat, &e->st.wake_latency);
	pthread_cond_destroy(&e->fcv);
	pthread_cond_destroy(&e->ccv);
	pthread_cond_destroy(&e->dcv);
	pthread_mutex_destroy(&e->mu);
	return e->failed ? -1 : rc;
}

static uint64_t proc_cpu(void);

/* ---------------------------------------------------------------- public */

/* Creates an engine after checking the configuration. */
struct fl_engine *
fl_engine_new(const struct fl_config *c, struct fs_err *err)
{
	struct fl_engine *e;
	const struct fl_tunables *t = &c->tun;

	if ((unsigned)c->policy >= FL_POL_COUNT) {
		fs_err_set(err, EINVAL, "libflush: unknown policy %d", (int)c->policy);
		return NULL;
	}
	if (t->window < 1 || t->threads < 1 || t->threads > 64 || t->coalesce_size < FL_BRW_PAGE ||
	    t->coalesce_size > FL_BMAP_SIZE || t->max_pages < 1 ||
	    t->max_pages > FL_BMAP_SIZE / FL_BRW_PAGE || t->poll_ns == 0 || t->safety_timeout_ns == 0) {
		fs_err_set(err, EINVAL, "libflush: bad tunables (window >= 1, 1..64 threads, "
		    "coalesce size 4 KiB..128 MiB, max pages >= 1, poll and timeout > 0)");
		return NULL;
	}
	if (t->wake_latency_ns > 1000000000ull || t->exam_cost_ns > 1000000000ull ||
	    t->batch_ns > t->max_age_ns) {
		fs_err_set(err, EINVAL, "libflush: wake latency and examination cost must be "
		    "<= 1 s, the batching window <= max age");
		return NULL;
	}
	if (c->transport.kind == FL_LAT_LIST && c->transport.nlist > 0 && c->transport.list == NULL) {
		fs_err_set(err, EINVAL, "libflush: latency list is NULL");
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		fs_err_set(err, ENOMEM, "libflush: out of memory");
		return NULL;
	}
	e->c = *c;
	e->real = c->clock == FL_CLOCK_REAL;
	e->rng = c->transport.seed;
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
	if (grow(&e->in, &e->capin, e->nin + 1, sizeof(*e->in)) < 0) {
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
	if (at_ns >= FL_TIME_NEVER / 2)
		return fs_err_set(err, EINVAL, "libflush: arrival time out of range");
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

	if (at_ns >= FL_TIME_NEVER / 2)
		return fs_err_set(err, EINVAL, "libflush: force time out of range");
	if ((in = add_input(e, at_ns, err)) == NULL)
		return -1;
	in->kind = FLI_FORCE;
	in->fid = fid;
	in->bno = bno;
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

/* Runs the workload to completion on the configured clock. */
int
fl_engine_run(struct fl_engine *e, struct fs_err *err)
{
	size_t i;
	int rc;

	if (e->ran)
		return fs_err_set(err, EINVAL, "libflush: fl_engine_run called twice");
	e->ran = 1;
	for (i = 1; i < e->nin && in_cmp(&e->in[i - 1], &e->in[i]) < 0; i++)
		;
	if (i < e->nin)
		qsort(e->in, e->nin, sizeof(*e->in), in_cmp);
	for (i = 0; i < e->nin; i++) {
		struct fl_input *in = &e->in[i];

		if (in->kind != FLI_WRITE)
			continue;
		if ((in->bq.b = bmap_get(e, in->fid, in->bno)) == NULL)
			return fs_err_set(err, ENOMEM, "libflush: out of memory");
		if (i == 0 || e->st.first_input_ns > in->at)
			e->st.first_input_ns = in->at;
	}
	if (e->nin > 0) {
		e->st.first_input_ns = e->in[0].at;
		e->st.last_input_ns = e->in[e->nin - 1].at;
	}
	for (i = 0; i < e->c.tun.threads; i++) {
		e->thr[i].k = (unsigned)i;
		e->thr[i].until = FL_TIME_NEVER;
	}
	if (e->real)
		rc = run_real(e);
	else {
		uint64_t t0 = mono_ns(), c0 = proc_cpu();

		rc = run_virtual(e);
		e->st.wall_ns = mono_ns() - t0;	/* the event loop alone */
		e->st.proc_cpu_ns = proc_cpu() - c0;
	}
	if (e->st.end_ns < e->st.last_input_ns)
		e->st.end_ns = e->st.last_input_ns;	/* idle once the last input is in */
	if (e->outstanding >= e->c.tun.window)
		e->st.window_full_ns += e->st.end_ns - e->win_full_since;
	pctl(e->lat, e->nlat, &e->st.ready_issue);
	e->st.drain_ns = e->st.end_ns > e->st.last_input_ns ? e->st.end_ns - e->st.last_input_ns : 0;
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

/* Frees everything, including RPCs and batches left by a failed run. */
void
fl_engine_free(struct fl_engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nvh; i++)
		if (e->vh[i].kind == 0 && e->vh[i].rpc != NULL && rh_push(e, e->vh[i].rpc) < 0)
			free(e->vh[i].rpc);
	while (e->nrh > 0) {
		struct fl_rpc *r = rh_pop(e);
		struct fl_batch *ba = r->batch;

		if (--ba->nleft == 0 && ba->b->partial != ba) {
			free(ba->bq);
			free(ba);
		}
		free(r);
	}
	for (i = 0; i < e->nbm; i++) {
		if (e->bm[i]->partial != NULL && e->bm[i]->partial->nleft == 0) {
			free(e->bm[i]->partial->bq);
			free(e->bm[i]->partial);
		}
		free(e->bm[i]->un);
		free(e->bm[i]->infl);
		free(e->bm[i]);
	}
	free(e->bm);
	free(e->hash);
	free(e->dh);
	free(e->rh);
	free(e->vh);
	free(e->in);
	free(e->lat);
	free(e->rlate);
	free(e->wlat);
	free(e);
}
