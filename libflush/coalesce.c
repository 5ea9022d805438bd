/*
 * Coalescing and sending: the historical run cutters (trycoalesce at each
 * commit), our planner, the RPC splitter, batches (runs in flight), the
 * windows with their credits, and the transport's service times.
 *
 * Invariants (tested in tests/check_libflush.c and check_policies.c):
 *   - a run is contiguous (each biorq starts at or before the largest end so
 *     far), so its biorqs' union is one interval; its RPCs are consecutive
 *     pieces of that interval and carry each byte once (unless the
 *     overlap_full tunable reproduces the 2010 mapping quirk);
 *   - an RPC carries at most coalesce_size bytes and max_iovs iovecs; it
 *     ends where an iovec makes it exactly coalesce_size, before an iovec
 *     that would exceed it, or at max_iovs iovecs (bf:324-352); iovecs end
 *     at 32 KiB page boundaries, so large runs split there.
 */
#include "libflush/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* True if q has expired at now. */
int
fl_expired(const struct fl_biorq *q, uint64_t now)
{
	return (q->flags & FLB_FORCE) || q->deadline <= now;
}

/* bmap_flushable: see internal.h. */
int
fl_flushable(struct fl_ctx *x, struct fl_bmap *b, uint64_t *tv)
{
	uint32_t rs = 0, re = 0;
	size_t i, n = 0;

	fl_un_sort(x->e, b);
	for (i = 0; i < b->nun; i++) {
		struct fl_biorq *q = b->un[i];

		fl_log_consider(x, q, 1);
		if (fl_expired(q, x->now))
			return 1;
		if (tv != NULL)
			*tv = q->deadline;
		if (n == 0 || q->off > re) {
			n = 0;
			rs = q->off;
			re = q->off;
		}
		n++;
		if (q->off + q->len > re)
			re = q->off + q->len;
		if (n == FL_MAX_IOVS || re - rs >= x->e->c.tun.coalesce_size)
			return 1;
	}
	return 0;
}

/* Schedules, cuts and sends every unsent biorq of b: see internal.h. */
size_t
fl_schedule_send(struct fl_ctx *x, struct fl_bmap *b)
{
	struct fl_thr *t = x->t;
	struct fl_run run;
	size_t i, sent = 0;

	fl_un_sort(x->e, b);
	t->bqs.n = 0;
	for (i = 0; i < b->nun; i++) {
		struct fl_biorq *q = b->un[i];

		fl_log_consider(x, q, 0);
		q->flags |= FLB_SCHED;
		fl_log_biorq_try(x, q);
		if (fl_vec_push(x->e, &t->bqs, q) < 0)
			return sent;
	}
	t->cpos = 0;
	while (!x->e->failed && fl_cut(x, FL_CUT_READY, &run)) {
		struct fl_batch *ba = fl_batch_new(x, b, (struct fl_biorq **)t->bqs.v + run.first,
		    run.last - run.first, run.expired && !run.large, 0);

		if (ba == NULL)
			break;
		sent += fl_batch_send(x, ba, SIZE_MAX, 0);
	}
	return sent;
}

/* ------------------------------------------------------------- cutters */

/* The end of a cut: [start, i) is a run if it is expired or large (1); else 0. */
static int
cut_run(struct fl_thr *t, struct fl_run *run, size_t start, size_t i, int expired, int large)
{
	if (i == start || !(expired || large))
		return 0;
	run->first = start;
	run->last = i;
	run->expired = expired;
	run->large = large;
	t->cpos = i;
	return 1;
}

/* The thread's i-th collected biorq. */
static struct fl_biorq *
bq_at(const struct fl_thr *t, size_t i)
{
	return t->bqs.v[i];
}

/* Clears SCHED on bqs[from, to) and logs `descheduling` for each (2010, 2011). */
static void
desched(struct fl_ctx *x, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++) {
		struct fl_biorq *q = bq_at(x->t, i);

		q->flags &= ~(uint32_t)FLB_SCHED;
		fl_log_desched(x, q);
	}
}

/*
 * A-B (bf:518-608): add biorqs while the run is not ready (extent >= the
 * coalesce size, or exactly 256 biorqs); expiry is or-ed in before the
 * contiguity test; at a gap an expired run stops (the gap's biorq is not
 * consumed), a young one is descheduled and the run restarts there; at the
 * end the run goes if expired or ready, else it is descheduled.
 */
static int
cut_ready(struct fl_ctx *x, struct fl_run *run)
{
	struct fl_thr *t = x->t;
	size_t n = t->bqs.n, i = t->cpos, start = t->cpos, base = t->cpos;
	uint32_t rs = 0, re = 0;
	int expired = 0, ready = 0;

	while (i < n && !ready) {
		struct fl_biorq *q = bq_at(t, i);

		expired |= fl_expired(q, x->now);
		fl_log_coal(x, q, i - base, expired, i - start);
		if (i == start || q->off <= re) {
			if (i == start)
				rs = q->off;
			if (q->off + q->len > re)
				re = q->off + q->len;
			i++;
		} else if (expired) {
			break;
		} else {
			desched(x, start, i);
			start = i;
			rs = q->off;
			re = q->off + q->len;
			i++;
		}
		ready = re - rs >= x->e->c.tun.coalesce_size || i - start == FL_MAX_IOVS;
	}
	if (cut_run(t, run, start, i, expired, ready))
		return 1;
	desched(x, start, i);
	t->cpos = n;
	return 0;
}

/*
 * C (bf:863-955): scan every biorq; `large` sticks once an extent reaches
 * the coalesce size (no 256 rule) and survives a restart; at a gap an
 * expired run stops, any other is descheduled and the run restarts even if
 * large; at the end the run goes if large or expired.
 */
static int
cut_sticky(struct fl_ctx *x, struct fl_run *run)
{
	struct fl_thr *t = x->t;
	size_t n = t->bqs.n, i = t->cpos, start = t->cpos, base = t->cpos;
	uint32_t rs = 0, re = 0;
	int expired = 0, large = 0;

	while (i < n) {
		struct fl_biorq *q = bq_at(t, i);

		expired |= fl_expired(q, x->now);
		fl_log_coal(x, q, i - base, expired, i - start);
		if (i == start || q->off <= re) {
			if (i == start)
				rs = q->off;
			if (q->off + q->len > re)
				re = q->off + q->len;
		} else if (expired) {
			break;
		} else {
			desched(x, start, i);
			start = i;
			rs = q->off;
			re = q->off + q->len;
		}
		if (re - rs >= x->e->c.tun.coalesce_size)
			large = 1;
		i++;
	}
	if (cut_run(t, run, start, i, expired, large))
		return 1;
	desched(x, start, i);
	t->cpos = n;
	return 0;
}

/*
 * Z (bfl:642-746): expiry or-ed in before contiguity; a contiguous biorq
 * that grows the end joins unless the run would pass the coalesce size,
 * which makes the run `large` and stops it without that biorq; at a gap an
 * expired run stops, a young one restarts there; the run goes if large or
 * expired.  A lone biorq bigger than the coalesce size (the client splits
 * those before they reach the flush engine) is a large run by itself.
 */
static int
cut_no_overflow(struct fl_ctx *x, struct fl_run *run)
{
	struct fl_thr *t = x->t;
	size_t n = t->bqs.n, i = t->cpos, start = t->cpos, base = t->cpos;
	uint32_t rs = 0, re = 0, cs = x->e->c.tun.coalesce_size;
	int expired = 0, large = 0;

	while (i < n) {
		struct fl_biorq *q = bq_at(t, i);
		uint32_t qe = q->off + q->len;

		expired |= fl_expired(q, x->now);
		fl_log_coal(x, q, i - base, expired, i - start);
		if (i == start) {
			rs = q->off;
			re = qe;
			i++;
			if (re - rs > cs) {
				large = 1;
				break;
			}
		} else if (q->off <= re) {
			if (qe > re && (uint64_t)(re - rs) + (qe - re) > cs) {
				large = 1;
				break;
			}
			if (qe > re)
				re = qe;
			i++;
		} else if (expired) {
			break;
		} else {
			start = i;
			rs = q->off;
			re = qe;
			i++;
		}
	}
	if (cut_run(t, run, start, i, expired, large))
		return 1;
	for (; start < i; start++)
		bq_at(t, start)->flags &= ~(uint32_t)FLB_SCHED;
	t->cpos = n;
	return 0;
}

/* Cuts the next run with the given rule. */
int
fl_cut(struct fl_ctx *x, enum fl_cut_rule rule, struct fl_run *run)
{
	if (x->t->cpos >= x->t->bqs.n)
		return 0;
	switch (rule) {
	case FL_CUT_READY:
		return cut_ready(x, run);
	case FL_CUT_STICKY_LARGE:
		return cut_sticky(x, run);
	default:
		return cut_no_overflow(x, run);
	}
}

/* ------------------------------------------------------------ splitter */

/* Splitter state: the RPC being filled. */
struct split {
	struct fl_batch *ba;
	size_t cap;
	uint32_t acc, cnt, max, maxiov;
	int oom;
};

/* Closes the current RPC at offset o. */
static void
split_cut(struct split *s, uint32_t o)
{
	if (s->ba->ncuts == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 4;
		uint32_t *n = realloc(s->ba->cuts, nc * sizeof(*n));

		if (n == NULL) {
			s->oom = 1;
			return;
		}
		s->ba->cuts = n;
		s->cap = nc;
	}
	s->ba->cuts[s->ba->ncuts++] = o;
	s->acc = s->cnt = 0;
}

/* Adds the iovecs of [o, e) (one per 32 KiB page piece). */
static void
split_seg(struct split *s, uint32_t o, uint32_t e)
{
	while (o < e && !s->oom) {
		uint32_t pe = (o / FL_BMPC_BUFSZ + 1) * FL_BMPC_BUFSZ, sz;

		if (pe > e)
			pe = e;
		sz = pe - o;
		if (s->acc > 0 && s->acc + sz > s->max)
			split_cut(s, o);
		s->acc += sz;
		s->cnt++;
		if (s->acc >= s->max || s->cnt >= s->maxiov)
			split_cut(s, pe);
		o = pe;
	}
}

/* Fixes the RPC boundaries of ba (bf:289-352, bfl:558-596). */
static int
split(struct fl_engine *e, struct fl_batch *ba)
{
	struct split s;
	uint32_t covered = ba->start;
	size_t i;

	memset(&s, 0, sizeof(s));
	s.ba = ba;
	s.max = e->c.tun.coalesce_size;
	s.maxiov = e->c.tun.max_iovs;
	if (e->ops->iov_per_page) {
		split_seg(&s, ba->start, ba->end);
		covered = ba->end;
	} else {
		for (i = 0; i < ba->nbq && !s.oom; i++) {
			const struct fl_biorq *q = ba->bq[i];
			uint64_t qs = q->off, qe = (uint64_t)q->off + q->len;

			if (e->c.tun.overlap_full && qs < covered && qe > covered) {
				/* A/B map a partly covered biorq with its full length */
				qe = (uint64_t)covered + q->len;
				if (qe > FL_BMAP_SIZE)
					qe = FL_BMAP_SIZE;
			}
			if (qs < covered)
				qs = covered;
			if (qe <= qs)
				continue;
			split_seg(&s, (uint32_t)qs, (uint32_t)qe);
			covered = (uint32_t)qe;
		}
	}
	if (covered > ba->end)
		ba->end = covered;
	if (s.acc > 0 && !s.oom)
		split_cut(&s, covered);
	return s.oom ? -1 : 0;
}

/* -------------------------------------------------------------- batches */

/* Records the ready->issue sample and lateness of q issued at now. */
static void
account_issue(struct fl_engine *e, struct fl_biorq *q, uint64_t now)
{
	q->issue = now;
	if (fl_grow(&e->lat, &e->caplat, e->nlat + 1, sizeof(*e->lat)) == 0)
		e->lat[e->nlat++] = now >= q->ready ? now - q->ready : 0;
	if (now > q->deadline) {
		uint64_t late = now - q->deadline;

		e->st.late_writes++;
		e->st.late_total_ns += late;
		if (late > e->st.late_max_ns)
			e->st.late_max_ns = late;
	}
}

/* Makes n biorqs of b (sorted by offset, contiguous) one run in flight. */
struct fl_batch *
fl_batch_new(struct fl_ctx *x, struct fl_bmap *b, struct fl_biorq **bq, size_t n,
    int expired, int early)
{
	struct fl_engine *e = x->e;
	struct fl_batch *ba = calloc(1, sizeof(*ba));
	size_t i;

	if (ba == NULL || n == 0 || (ba->bq = malloc(n * sizeof(*ba->bq))) == NULL) {
		free(ba);
		fl_fail(e, "out of memory");
		return NULL;
	}
	memcpy(ba->bq, bq, n * sizeof(*bq));
	ba->nbq = n;
	ba->id = ++e->batch_id;
	ba->b = b;
	ba->ios = b->ios;
	ba->start = bq[0]->off;
	ba->expired = expired;
	ba->early = early;
	for (i = 0; i < n; i++) {
		struct fl_biorq *q = bq[i];

		if (q->off + q->len > ba->end)
			ba->end = q->off + q->len;
		ba->forced |= (q->flags & FLB_FORCE) != 0;
		q->flags |= FLB_SCHED | FLB_INFL;
		q->batch = ba;
	}
	if (ba->forced)
		ba->expired = ba->early = 0;
	b->ninfl += n;
	e->unsent -= n;
	b->gen++;
	ba->bnext = b->runs;
	if (b->runs)
		b->runs->bprev = ba;
	b->runs = ba;
	b->nruns++;
	fl_un_remove_run(e, b, ba);
	if (split(e, ba) < 0)
		fl_fail(e, "out of memory");
	fl_log_runsize(x, ba);
	fl_log_inflight(x, ba);
	return ba;
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

/* Draws the service time of an RPC from the transport (at most FL_TIME_MAX). */
static uint64_t
rpc_latency(struct fl_engine *e, const struct fl_rpc_info *ri)
{
	const struct fl_transport *t = &e->c.transport;
	uint64_t v;

	switch (t->kind) {
	case FL_LAT_UNIFORM:
		if (t->b_ns <= t->a_ns)
			v = t->a_ns;
		else
			v = t->a_ns + rng_next(&e->rng) % (t->b_ns - t->a_ns + 1);
		break;
	case FL_LAT_EXP: {
		double u = ((double)(rng_next(&e->rng) >> 11) + 0.5) / 9007199254740992.0;
		double d = -log(u) * (double)t->b_ns;

		v = fl_sat_add(t->a_ns, d < (double)FL_TIME_MAX ? (uint64_t)d : FL_TIME_MAX);
		break;
	}
	case FL_LAT_LIST:
		if (t->nlist == 0)
			v = t->fixed_ns;
		else
			v = t->list[e->nrpcs_issued < t->nlist ? e->nrpcs_issued : t->nlist - 1];
		break;
	case FL_LAT_CALLBACK:
		v = t->fn != NULL ? t->fn(t->arg, ri) : t->fixed_ns;
		break;
	default:
		v = t->fixed_ns;
		break;
	}
	return v < FL_TIME_MAX ? v : FL_TIME_MAX;
}

/* Counts an RPC in the statistics. */
static void
account_rpc(struct fl_engine *e, const struct fl_batch *ba, const struct fl_rpc *r)
{
	int bk;

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
	if (e->outstanding > e->st.max_outstanding)
		e->st.max_outstanding = e->outstanding;
}

/* Issues the next RPC of ba. */
static int
send_one(struct fl_ctx *x, struct fl_batch *ba, int credit)
{
	struct fl_engine *e = x->e;
	struct fl_win *w = &e->win[ba->ios];
	struct fl_rpc *r = calloc(1, sizeof(*r));
	struct fl_trace_ev ev;
	unsigned before = w->inflight + w->credits;
	uint64_t poll = e->c.tun.reaper_poll_ns;

	if (r == NULL)
		return -1;
	r->batch = ba;
	r->info.xid = e->c.xid_base + (++e->xid);
	r->info.fid = ba->b->fid;
	r->info.bno = ba->b->bno;
	r->info.off = ba->sent == 0 ? ba->start : ba->cuts[ba->sent - 1];
	r->info.len = ba->cuts[ba->sent] - r->info.off;
	r->info.nbiorqs = (uint32_t)ba->nbq;
	r->info.forced = ba->forced;
	r->info.expired = ba->expired;
	if (credit && w->credits > 0) {
		w->credits--;
		r->credit = 1;
	}
	w->inflight++;
	e->outstanding++;
	r->info.outstanding = e->outstanding;
	ba->sent++;
	ba->nleft++;
	ba->b->sent |= FL_THR_BIT(x->t->k);
	fl_log_send(x, r);
	/* issued once its line is written (the line cost comes first) */
	r->info.issue_ns = x->now;
	fl_win_account(e, ba->ios, x->now, before);
	r->info.done_ns = fl_sat_add(x->now, rpc_latency(e, &r->info));
	e->nrpcs_issued++;
	if (poll > 0 && ba->ncuts > 1 && r->info.done_ns < FL_TIME_MAX)
		/* the 2010 reaper finishes multi-RPC sets on its 100 us poll */
		r->info.done_ns = (r->info.done_ns + poll - 1) / poll * poll;
	account_rpc(e, ba, r);
	memset(&ev, 0, sizeof(ev));
	ev.t_ns = x->now;
	ev.thread = x->t->k;
	ev.fid = r->info.fid;
	ev.bno = r->info.bno;
	ev.rpc = &r->info;
	if (ba->sent == 1) {
		/* the run's biorqs are issued with its first RPC */
		size_t i;

		ev.kind = FL_TR_BIORQ_SENT;
		for (i = 0; i < ba->nbq; i++) {
			account_issue(e, ba->bq[i], x->now);
			ev.off = ba->bq[i]->off;
			ev.len = ba->bq[i]->len;
			ev.id = ba->bq[i]->id;
			fl_trace(e, &ev);
		}
	}
	ev.kind = FL_TR_SEND;
	ev.off = r->info.off;
	ev.len = r->info.len;
	ev.id = 0;
	fl_trace(e, &ev);
	e->last_progress = x->now;
	fl_drv_rpc_sent(e, r);
	return 0;
}

/* Issues up to max RPCs of ba. */
size_t
fl_batch_send(struct fl_ctx *x, struct fl_batch *ba, size_t max, int credit)
{
	size_t n = 0;

	while (n < max && ba->sent < ba->ncuts && !x->e->failed) {
		if (send_one(x, ba, credit) < 0) {
			fl_fail(x->e, "out of memory");
			break;
		}
		n++;
	}
	return n;
}

/* --------------------------------------------------------------- windows */

/* Free slots of I/O server ios. */
unsigned
fl_win_room(const struct fl_engine *e, unsigned ios)
{
	const struct fl_win *w = &e->win[ios];
	unsigned used = w->inflight + w->credits;

	return used < w->limit ? w->limit - used : 0;
}

/* Reserves a credit (rpc:98-141). */
int
fl_win_reserve(struct fl_engine *e, unsigned ios)
{
	struct fl_win *w = &e->win[ios];
	unsigned before = w->inflight + w->credits;

	if (fl_win_room(e, ios) == 0)
		return -1;
	w->credits++;
	fl_win_account(e, ios, fl_now(e), before);
	return 0;
}

/* Accounts the time a window spends full. */
void
fl_win_account(struct fl_engine *e, unsigned ios, uint64_t now, unsigned before)
{
	struct fl_win *w = &e->win[ios];
	unsigned used = w->inflight + w->credits;

	if (before < w->limit && used >= w->limit)
		w->full_since = now;
	else if (before >= w->limit && used < w->limit && now > w->full_since)
		e->st.window_full_ns += now - w->full_since;
}

/* ---------------------------------------------------------- our planner */

/*
 * Marks (FLB_SKIP) the unsent biorqs that must wait: every chain of
 * overlapping unsent biorqs that overlaps bytes in flight waits whole, so
 * overlapping writes never fly together and overlapping unsent ones share
 * a run.  One sweep: a chain's union is one interval.
 */
static void
mark_held(struct fl_bmap *b)
{
	size_t i = 0, j, k;

	while (i < b->nun) {
		uint32_t cs = b->un[i]->off, ce = b->un[i]->off + b->un[i]->len;
		int held;

		for (j = i + 1; j < b->nun && b->un[j]->off < ce; j++)
			if (b->un[j]->off + b->un[j]->len > ce)
				ce = b->un[j]->off + b->un[j]->len;
		held = b->runs != NULL && fl_infl_overlaps(b, cs, ce - cs, 0);
		for (k = i; k < j; k++) {
			if (held)
				b->un[k]->flags |= FLB_SKIP;
			else
				b->un[k]->flags &= ~(uint32_t)FLB_SKIP;
		}
		i = j;
	}
}

/* Decides whether open run r is sendable by horizon; records it or the next time. */
static void
plan_close(struct fl_prun *r, uint64_t dl, uint64_t horizon,
    uint64_t *next, size_t *ns, struct fl_prun *runs, size_t maxruns, size_t *nr)
{
	r->due = dl;
	if (r->forced || dl <= horizon) {
		(*ns)++;
		if (runs != NULL && *nr < maxruns)
			runs[(*nr)++] = *r;
	} else if (dl < *next)
		*next = dl;
}

/*
 * Splits b's unsent biorqs into runs: overlapping biorqs always join;
 * contiguous ones join while the run is below the coalesce size; a hole
 * starts a new run; held ones are left out.  A run is sendable by horizon
 * when forced or when the earliest due time of its biorqs (q->due: the
 * policy's, deadline's batching window for a write that completes a full
 * run) is at or before horizon.  Only answers for horizon == now are cached.
 */
size_t
fl_plan_runs(struct fl_engine *e, struct fl_bmap *b, uint64_t now, uint64_t horizon,
    uint64_t *next, struct fl_prun *runs, size_t maxruns, size_t *nruns)
{
	size_t i, ns = 0, nr = 0;
	struct fl_prun r;
	uint64_t dl = FL_TIME_NEVER;
	int open = 0;

	memset(&r, 0, sizeof(r));
	*next = FL_TIME_NEVER;
	if (horizon < now)
		horizon = now;
	fl_un_sort(e, b);
	mark_held(b);
	for (i = 0; i < b->nun; i++) {
		struct fl_biorq *q = b->un[i];

		if (q->flags & FLB_SKIP)
			continue;
		if (open && (q->off < r.end ||
		    (q->off == r.end && r.end - r.start < e->c.tun.coalesce_size))) {
			if (q->off + q->len > r.end)
				r.end = q->off + q->len;
			if (q->ready < r.oldest) {
				r.oldest = q->ready;
				r.oldest_len = q->len;
			}
			if (q->ready > r.newest)
				r.newest = q->ready;
			r.n++;
			if (q->due < dl)
				dl = q->due;
			r.forced |= (q->flags & FLB_FORCE) != 0;
			r.last = i;
			continue;
		}
		if (open)
			plan_close(&r, dl, horizon, next, &ns, runs, maxruns, &nr);
		r.first = r.last = i;
		r.start = q->off;
		r.end = q->off + q->len;
		r.oldest = r.newest = q->ready;
		r.oldest_len = q->len;
		r.n = 1;
		r.forced = (q->flags & FLB_FORCE) != 0;
		dl = q->due;
		open = 1;
	}
	if (open)
		plan_close(&r, dl, horizon, next, &ns, runs, maxruns, &nr);
	if (nruns != NULL)
		*nruns = nr;
	if (horizon == now) {
		b->pc_gen = b->gen + 1;		/* +1 so that 0 never matches */
		b->pc_now = now;
		b->pc_next = *next;
		b->pc_ns = ns;
	}
	return ns;
}

/*
 * fl_plan_runs without the runs, from the cache when nothing changed on the
 * bmap and either the time is the same or no run has come due since.
 */
size_t
fl_plan_query(struct fl_engine *e, struct fl_bmap *b, uint64_t now, uint64_t *next)
{
	if (b->pc_gen == b->gen + 1 && (now == b->pc_now || (b->pc_ns == 0 && now >= b->pc_now &&
	    now < b->pc_next))) {
		*next = b->pc_next;
		return b->pc_ns;
	}
	return fl_plan_runs(e, b, now, now, next, NULL, 0, NULL);
}

/* Starts planned run r of b; returns its biorq count. */
size_t
fl_plan_start(struct fl_ctx *x, struct fl_bmap *b, const struct fl_prun *r, int hard)
{
	struct fl_engine *e = x->e;
	struct fl_vec *v = &x->t->bqs;
	struct fl_batch *ba;
	size_t i, n;
	int small = !r->forced && r->end - r->start < e->c.tun.coalesce_size, expired = 0;

	v->n = 0;
	for (i = r->first; i <= r->last; i++)
		if (!(b->un[i]->flags & FLB_SKIP)) {
			if (fl_vec_push(e, v, b->un[i]) < 0)
				return 0;
			expired |= b->un[i]->deadline <= x->now;
		}
	n = v->n;
	if (n == 0 || (ba = fl_batch_new(x, b, (struct fl_biorq **)v->v, n,
	    small && expired, small && !expired)) == NULL)
		return 0;
	fl_batch_send(x, ba, hard ? fl_win_room(e, ba->ios) : SIZE_MAX, 0);
	if (ba->sent < ba->ncuts)
		b->partial = ba;
	return n;
}
