/*
 * The streaming spin detector (see detect/spin.h and the design's "What a
 * spin is").
 *
 * State
 *   bmaps    one record per live bmap in a pool addressed by index (the
 *            pool may move when it grows, so no pointer is kept across a
 *            feed call), found by (fid, bno) through a util/map table.
 *            Records are chained in least-recently-active order (lru_*);
 *            a record silent for SP_STALE_US of log time is retired when a
 *            new bmap needs a record, so memory stays bounded by the bmaps
 *            active in that window even when CLEAN lines are missing.
 *   threads  one record per flush thread (one that logged an EXAMINE or
 *            an end-of-pass line), keyed by (name, tid as logged).  Each
 *            holds the list (t_*) of the examinations it opened in the
 *            middle-era/era-Z style that are still open, so its end-of-
 *            pass line can decide them.
 *   opens    one record per examination not yet ended, in a pool with a
 *            free list: a bmap's list (b_next) in the order they were
 *            made, at most one open per thread (HEAD's flush threads
 *            examine one bmap at once), and decided ones held behind an
 *            older open one (see Runs).
 *
 * Examinations
 *   An EXAMINE of bmap B on thread T opens an examination (T's previous
 *   open one of B is decided first: wasted in the Z style, undecided in
 *   the A style).  Progress on B (a SCHEDULE other than the biorq-level
 *   "looking" lines, or an RPC_SEND, attributed to B by the source) on T
 *   decides T's useful (another thread's progress on B decides nothing),
 *   and so does B leaving the queue on T.  Era A: a REQUEUE of B on T
 *   decides T's wasted (from a thread not yet known as a flush thread, B's
 *   open one).  Z style: T's end-of-pass line, B leaving the queue on
 *   another thread, or another thread's EXAMINE of B once T's flush lines
 *   paused for more than SP_BURST_GAP_US (T logs no end-of-pass lines: its
 *   pass is over) decides it wasted.  The end of the log and staleness
 *   leave it undecided.
 *
 * Runs and episodes
 *   Each bmap keeps its current run of consecutive wasted examinations
 *   (time of each = the time of its EXAMINE line), in the order they were
 *   made: threads decide theirs out of order, so a decided examination
 *   waits until every older one of its bmap is decided (exam_drain).
 *   Median period: the gaps of a run are kept exactly up to SP_GAPS (the
 *   median is exact for runs of up to SP_GAPS + 1 cycles); beyond that a
 *   uniform reservoir sample of SP_GAPS gaps (Algorithm R, deterministic
 *   generator) stands for them.  The episode's thread is the one that made most of the run's
 *   wasted examinations (the first SP_RUN_THREADS distinct threads are
 *   counted).  Cause: each wasted examination votes with its outstanding
 *   count (the EXAMINE's own outstandingRpcCnt, else the last count or
 *   infl= seen on any line): 0 -> notready, >= window_limit -> throttled,
 *   else inflight; the most votes win (ties: inflight, throttled,
 *   notready); with no known count the cause is inflight, the design's
 *   era-Z spin analog.
 *
 * Passes (per flush thread): see detect/spin.h.  Pass periods are the
 * gaps between pass starts: log2 histogram, and p50/p99 from a reservoir
 * of SP_PERIODS periods (exact up to that many passes).
 *
 * Cost: O(1) per event (hash look-ups, no allocation except when a table
 * grows, amortised); an end-of-pass line costs its open examinations; an
 * episode costs a sort of <= SP_GAPS values.
 */
#include "detect/spin.h"

#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/map.h"
#include "util/vec.h"

#define SP_GAPS		64		/* exact gaps kept per run */
#define SP_RUN_THREADS	16		/* threads counted per run */
#define SP_PERIODS	4096		/* pass periods kept per thread */
#define NIL		0		/* list links are index + 1 */
#define NOT_FLUSH	(-2)		/* thr2th: a thread that is no flush thread (yet) */

enum { STYLE_A = 1, STYLE_Z = 2 };	/* how an examination is decided */

struct sp_bmap {
	uint64_t fid;
	uint32_t bno;
	int live;
	uint64_t addr;
	int64_t last_ts;		/* last activity, for staleness */
	uint32_t lru_prev, lru_next;	/* activity order, oldest first */
	uint32_t open_head;		/* its examinations not yet ended, oldest first (index + 1) */

	/* the latest examination, open or not */
	int last_thread;		/* its thread index; -1 before the first */
	uint64_t last_pass;		/* that thread's pass number then */

	/* the current run of wasted examinations */
	uint64_t run_cycles;
	int64_t run_start, run_last;
	uint64_t run_first_off, run_last_off;
	uint64_t run_addr;
	int64_t run_omin, run_omax;
	uint64_t run_votes[3];
	uint64_t run_ngaps;		/* gaps seen (may exceed SP_GAPS) */
	uint32_t run_gaps[SP_GAPS];
	int run_nth;
	struct {
		int th;
		uint32_t n;
	} run_th[SP_RUN_THREADS];
};

/* One examination not yet ended (open, or decided and held): of bmap `bmap` by thread `thread`. */
struct sp_open {
	uint32_t bmap;			/* bmap index */
	uint32_t b_next;		/* the bmap's next one; the free list's next */
	uint32_t t_prev, t_next;	/* the thread's open Z-style ones */
	int style;
	int thread;			/* thread index */
	uint64_t pass;			/* that thread's pass number then */
	int64_t ts;
	int64_t outst;
	uint64_t off, lineno;
	uint64_t addr;
	enum ps_msg msg;
	/* decided, held until those made before it on the bmap are (exam_drain) */
	int decided;
	enum sp_verdict verdict;
	int64_t when;			/* the deciding line's time */
	enum sp_run_end why;		/* an undecided one's end of run */
};

struct sp_thread {
	struct sp_thread_stats st;
	uint8_t namelen, tidlen;	/* of st.thread and st.tid */
	int32_t thr;			/* its stream's number of it (its first event's) */
	int pass_open;
	uint64_t pass_seq;
	int64_t pass_start, pass_last;
	int pass_useful;
	int boundary;			/* a pass boundary was seen */
	int saw_work_time;		/* it logs end-of-pass lines */
	int64_t last_flush_ts;		/* last flush-path line of this thread */
	uint32_t ex_head;		/* open Z-style examinations (open index + 1) */
	uint64_t nperiods;
	uint32_t periods[SP_PERIODS];
	/* timing: the previous line of the open pass, sleeps and line gaps */
	int64_t prev_line_ts;		/* INT64_MIN: none yet in this pass */
	int prev_line_exam;		/* that line was an EXAMINE */
	uint64_t nsleeps, nlgaps;
	uint32_t sleeps[SP_PERIODS];
	uint64_t lgaps[SP_BURST_GAP_US + 1];	/* line gaps (us): a histogram, exact */
};

struct sp_detector {
	struct sp_options opt;
	struct sp_callbacks cb;
	uint64_t rng;

	struct sp_bmap *pool;
	uint32_t npool, cappool;
	uint32_t *freelist;
	uint32_t nfree;
	uint32_t lru_head, lru_tail;	/* index + 1 */
	struct fs_map byid;		/* (fid, bno) -> index */
	uint32_t nlive;

	struct sp_open *opens;
	uint32_t nopens, capopens;
	uint32_t open_free;		/* free list through b_next (index + 1) */

	struct sp_thread *th;
	int nth, capth;
	struct fs_map thash;		/* (name hash, tid hash) -> thread index */
	FS_VEC(int32_t) thr2th;		/* the stream's thread number -> thread index (-1) */

	int64_t last_outst;		/* last outstanding count seen, -1 none */
};

/* Returns "inflight", "throttled" or "notready". */
const char *
sp_cause_name(enum sp_cause c)
{
	switch (c) {
	case SP_CAUSE_INFLIGHT:
		return "inflight";
	case SP_CAUSE_THROTTLED:
		return "throttled";
	case SP_CAUSE_NOTREADY:
		return "notready";
	}
	return "?";
}

/* Parses a cause name. */
int
sp_cause_parse(const char *s)
{
	int c;

	for (c = SP_CAUSE_INFLIGHT; c <= SP_CAUSE_NOTREADY; c++)
		if (s != NULL && strcmp(s, sp_cause_name((enum sp_cause)c)) == 0)
			return c;
	return -1;
}

/* Returns "useful", "wasted" or "undecided". */
const char *
sp_verdict_name(enum sp_verdict v)
{
	switch (v) {
	case SP_USEFUL:
		return "useful";
	case SP_WASTED:
		return "wasted";
	case SP_UNDECIDED:
		return "undecided";
	}
	return "?";
}

/* Fills in the design's defaults. */
void
sp_options_default(struct sp_options *o)
{
	o->min_cycles = 3;
	o->max_gap_us = 50000;
	o->window_limit = 128;
}

/* Next value of the detector's deterministic generator (xorshift64). */
static uint64_t
rng_next(struct sp_detector *d)
{
	uint64_t x = d->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	d->rng = x;
	return x;
}

/* The cause an outstanding count stands for (-1: unknown counts as in flight). */
static enum sp_cause
cause_of(const struct sp_detector *d, int64_t o)
{
	if (o == 0)
		return SP_CAUSE_NOTREADY;
	if (o >= d->opt.window_limit)
		return SP_CAUSE_THROTTLED;
	return SP_CAUSE_INFLIGHT;
}

/* ---- lists (links are index + 1) ---- */

/* Unlinks bmap i from the activity list (if it is on it). */
static void
lru_unlink(struct sp_detector *d, uint32_t i)
{
	struct sp_bmap *b = &d->pool[i];

	if (b->lru_prev == NIL && b->lru_next == NIL && d->lru_head != i + 1)
		return;		/* not on the list */
	if (b->lru_prev != NIL)
		d->pool[b->lru_prev - 1].lru_next = b->lru_next;
	else
		d->lru_head = b->lru_next;
	if (b->lru_next != NIL)
		d->pool[b->lru_next - 1].lru_prev = b->lru_prev;
	else
		d->lru_tail = b->lru_prev;
	b->lru_prev = b->lru_next = NIL;
}

/* Marks bmap i active at ts: newest in the activity list. */
static void
bmap_touch(struct sp_detector *d, uint32_t i, int64_t ts)
{
	struct sp_bmap *b = &d->pool[i];

	b->last_ts = ts;
	if (d->lru_tail == i + 1)
		return;
	lru_unlink(d, i);
	b->lru_prev = d->lru_tail;
	if (d->lru_tail != NIL)
		d->pool[d->lru_tail - 1].lru_next = i + 1;
	else
		d->lru_head = i + 1;
	d->lru_tail = i + 1;
}

/* Removes open examination i from its thread's list. */
static void
ex_unlink(struct sp_detector *d, uint32_t i)
{
	struct sp_open *o = &d->opens[i];

	if (o->t_prev != NIL)
		d->opens[o->t_prev - 1].t_next = o->t_next;
	else if (d->th[o->thread].ex_head == i + 1)
		d->th[o->thread].ex_head = o->t_next;
	if (o->t_next != NIL)
		d->opens[o->t_next - 1].t_prev = o->t_prev;
	o->t_prev = o->t_next = NIL;
}

/* Adds open examination i to its thread's list. */
static void
ex_link(struct sp_detector *d, uint32_t i)
{
	struct sp_open *o = &d->opens[i];
	struct sp_thread *t = &d->th[o->thread];

	o->t_prev = NIL;
	o->t_next = t->ex_head;
	if (t->ex_head != NIL)
		d->opens[t->ex_head - 1].t_prev = i + 1;
	t->ex_head = i + 1;
}

/* A new open examination of bmap bi, last on its list; its index, or -1 on no memory. */
static int64_t
open_new(struct sp_detector *d, uint32_t bi)
{
	uint32_t i, *p;

	if (d->open_free != NIL) {
		i = d->open_free - 1;
		d->open_free = d->opens[i].b_next;
	} else {
		if (d->nopens == d->capopens) {
			uint32_t nc = d->capopens ? d->capopens * 2 : 32;
			struct sp_open *no = realloc(d->opens, nc * sizeof(*no));

			if (no == NULL)
				return -1;
			d->opens = no;
			d->capopens = nc;
		}
		i = d->nopens++;
	}
	memset(&d->opens[i], 0, sizeof(d->opens[i]));
	d->opens[i].bmap = bi;
	for (p = &d->pool[bi].open_head; *p != NIL; p = &d->opens[*p - 1].b_next)
		;
	*p = i + 1;
	return i;
}

/* Removes open examination i from its bmap's list and frees it. */
static void
open_free(struct sp_detector *d, uint32_t i)
{
	uint32_t *p = &d->pool[d->opens[i].bmap].open_head;

	while (*p != i + 1)
		p = &d->opens[*p - 1].b_next;
	*p = d->opens[i].b_next;
	d->opens[i].b_next = d->open_free;
	d->open_free = i + 1;
}

/* Thread ti's open examination of bmap bi, or -1. */
static int64_t
open_of(const struct sp_detector *d, uint32_t bi, int ti)
{
	uint32_t k;

	for (k = d->pool[bi].open_head; k != NIL; k = d->opens[k - 1].b_next)
		if (!d->opens[k - 1].decided && d->opens[k - 1].thread == ti)
			return k - 1;
	return -1;
}

/* ---- runs and episodes ---- */

/* Orders two uint32 values (qsort). */
static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Sorts an array of gaps or periods.  An episode's at most SP_GAPS gaps by
 * insertion: qsort's merge sort through a comparison function was 4 % of
 * an ingest's detecting thread (callgrind), for 2-64 values.
 */
static void
sort_u32(uint32_t *a, size_t n)
{
	size_t i, j;

	if (n > SP_GAPS) {
		qsort(a, n, sizeof(*a), u32_cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		uint32_t v = a[i];

		for (j = i; j > 0 && a[j - 1] > v; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

/* Fills an episode from bmap b's run. */
static void
episode_of(const struct sp_detector *d, const struct sp_bmap *b, struct sp_episode *ep)
{
	uint32_t g[SP_GAPS];
	size_t n;
	int i, best = 0;
	const uint64_t *v = b->run_votes;

	memset(ep, 0, sizeof(*ep));
	for (i = 1; i < b->run_nth; i++)
		if (b->run_th[i].n > b->run_th[best].n)
			best = i;
	if (b->run_nth > 0) {
		const struct sp_thread *t = &d->th[b->run_th[best].th];

		memcpy(ep->thread, t->st.thread, sizeof(ep->thread));
		memcpy(ep->tid, t->st.tid, sizeof(ep->tid));
	}
	ep->f.fid = b->fid;
	ep->f.bno = b->bno;
	ep->f.addr = b->run_addr;
	ep->f.start_us = b->run_start;
	ep->f.end_us = b->run_last;
	ep->f.cycles = b->run_cycles;
	n = b->run_ngaps < SP_GAPS ? (size_t)b->run_ngaps : SP_GAPS;
	memcpy(g, b->run_gaps, n * sizeof(g[0]));
	sort_u32(g, n);
	if (n == 0)
		ep->f.period_us = 0;
	else if (n % 2 == 1)
		ep->f.period_us = g[n / 2];
	else
		ep->f.period_us = ((int64_t)g[n / 2 - 1] + g[n / 2] + 1) / 2;
	ep->f.outstanding_min = b->run_omin;
	ep->f.outstanding_max = b->run_omax;
	if (v[0] + v[1] + v[2] == 0 ||
	    (v[SP_CAUSE_INFLIGHT] >= v[SP_CAUSE_THROTTLED] &&
	    v[SP_CAUSE_INFLIGHT] >= v[SP_CAUSE_NOTREADY]))
		ep->f.cause = SP_CAUSE_INFLIGHT;
	else if (v[SP_CAUSE_THROTTLED] >= v[SP_CAUSE_NOTREADY])
		ep->f.cause = SP_CAUSE_THROTTLED;
	else
		ep->f.cause = SP_CAUSE_NOTREADY;
	ep->f.first_off = b->run_first_off;
	ep->f.last_off = b->run_last_off;
}

/* Ends bmap b's run (delivering it, and its episode if long enough). */
static void
run_end(struct sp_detector *d, struct sp_bmap *b, enum sp_run_end why, int64_t ended)
{
	if (b->run_cycles == 0)
		return;
	if (d->cb.run_end != NULL) {
		struct sp_run r;

		r.fid = b->fid;
		r.bno = b->bno;
		r.start_us = b->run_start;
		r.end_us = b->run_last;
		r.cycles = b->run_cycles;
		r.why = why;
		r.ended_us = ended;
		d->cb.run_end(d->cb.arg, &r);
	}
	if (b->run_cycles >= (uint64_t)d->opt.min_cycles && d->cb.episode != NULL) {
		struct sp_episode ep;

		episode_of(d, b, &ep);
		d->cb.episode(d->cb.arg, &ep);
	}
	b->run_cycles = 0;
	b->run_ngaps = 0;
	b->run_nth = 0;
}

/* Adds examination x of bmap b (wasted) to its run; returns the run length. */
static uint64_t
run_add(struct sp_detector *d, struct sp_bmap *b, const struct sp_open *x)
{
	int64_t o = x->outst, gap;
	int i;

	if (b->run_cycles > 0) {
		gap = x->ts - b->run_last;
		if (gap > d->opt.max_gap_us || gap < -d->opt.max_gap_us)
			run_end(d, b, SP_RUN_GAP, x->ts);
	}
	if (b->run_cycles == 0) {
		b->run_start = x->ts;
		b->run_first_off = x->off;
		b->run_addr = x->addr;
		b->run_omin = b->run_omax = -1;
		b->run_votes[0] = b->run_votes[1] = b->run_votes[2] = 0;
		b->run_ngaps = 0;
		b->run_nth = 0;
	} else {
		gap = x->ts - b->run_last;
		if (gap < 0)
			gap = 0;
		if (gap > UINT32_MAX)
			gap = UINT32_MAX;
		if (b->run_ngaps < SP_GAPS) {
			b->run_gaps[b->run_ngaps] = (uint32_t)gap;
		} else {
			uint64_t j = rng_next(d) % (b->run_ngaps + 1);

			if (j < SP_GAPS)
				b->run_gaps[j] = (uint32_t)gap;
		}
		b->run_ngaps++;
	}
	b->run_cycles++;
	b->run_last = x->ts;
	b->run_last_off = x->off;
	if (o >= 0) {
		if (b->run_omin < 0 || o < b->run_omin)
			b->run_omin = o;
		if (o > b->run_omax)
			b->run_omax = o;
		b->run_votes[cause_of(d, o)]++;
	}
	for (i = 0; i < b->run_nth; i++)
		if (b->run_th[i].th == x->thread)
			break;
	if (i < b->run_nth)
		b->run_th[i].n++;
	else if (i < SP_RUN_THREADS) {
		b->run_th[i].th = x->thread;
		b->run_th[i].n = 1;
		b->run_nth++;
	}
	return b->run_cycles;
}

/* ---- examinations ---- */

/*
 * Ends the decided examinations at the head of bmap bi's list, in the order
 * they were made: wasted ones join the run, the others end it (at the time
 * of the line that decided them), and each is delivered.  One still open
 * holds back the later ones decided before it, so that a run's cycles,
 * gaps and offsets stay in log order when threads decide out of order.
 */
static void
exam_drain(struct sp_detector *d, uint32_t bi)
{
	uint32_t k;

	while ((k = d->pool[bi].open_head) != NIL && d->opens[k - 1].decided) {
		struct sp_open o = d->opens[k - 1];
		struct sp_bmap *b = &d->pool[bi];
		const struct sp_thread *t = &d->th[o.thread];
		struct sp_exam x;

		open_free(d, k - 1);
		memset(&x, 0, sizeof(x));
		x.verdict = o.verdict;
		if (o.verdict == SP_WASTED) {
			x.run_cycles = run_add(d, b, &o);
			x.cause = cause_of(d, o.outst);
		} else
			run_end(d, b, o.verdict == SP_USEFUL ? SP_RUN_PROGRESS : o.why, o.when);
		if (d->cb.exam == NULL)
			continue;
		x.thread = o.thread;
		x.thr = t->thr;
		x.thread_name = t->st.thread;
		x.tid = t->st.tid;
		x.fid = b->fid;
		x.bno = b->bno;
		x.addr = o.addr;
		x.ts_us = o.ts;
		x.src_off = o.off;
		x.lineno = o.lineno;
		x.outstanding = o.outst;
		x.msg = o.msg;
		x.pass = o.pass;
		d->cb.exam(d->cb.arg, &x);
	}
}

/*
 * Decides open examination oi: its thread's figures now, its run in log
 * order (exam_drain).  now is the time of the line that decided it
 * (INT64_MIN at the end); why_undecided says why an undecided one ends the
 * run.
 */
static void
exam_close(struct sp_detector *d, uint32_t oi, enum sp_verdict v, int64_t now,
    enum sp_run_end why_undecided)
{
	struct sp_open *o = &d->opens[oi];
	struct sp_thread *t = &d->th[o->thread];

	if (o->style == STYLE_Z)
		ex_unlink(d, oi);
	if (v == SP_WASTED)
		t->st.wasted_examinations++;
	else if (v == SP_USEFUL && t->pass_open && t->pass_seq == o->pass)
		t->pass_useful = 1;
	o->decided = 1;
	o->verdict = v;
	o->when = now;
	o->why = why_undecided;
	exam_drain(d, o->bmap);
}

/* Decides every still open examination of bmap bi: undecided. */
static void
exam_close_all(struct sp_detector *d, uint32_t bi, int64_t now, enum sp_run_end why)
{
	uint32_t k;

	while ((k = d->pool[bi].open_head) != NIL)
		exam_close(d, k - 1, SP_UNDECIDED, now, why);	/* the head is open: drained */
}

/* Retires bmap bi: its examinations are undecided, its run ends, its record is freed. */
static void
bmap_retire(struct sp_detector *d, uint32_t bi, enum sp_run_end why, int64_t now)
{
	struct sp_bmap *b;

	exam_close_all(d, bi, now, why);
	b = &d->pool[bi];
	run_end(d, b, why, now);
	fs_map_del(&d->byid, b->fid, b->bno);
	lru_unlink(d, bi);
	b->live = 0;
	d->freelist[d->nfree++] = bi;
	d->nlive--;
}

/* Retires the bmaps silent for longer than SP_STALE_US before now. */
static void
sweep_stale(struct sp_detector *d, int64_t now)
{
	while (d->lru_head != NIL && now - d->pool[d->lru_head - 1].last_ts > SP_STALE_US)
		bmap_retire(d, d->lru_head - 1, SP_RUN_STALE, INT64_MIN);
}

/* Looks up a live bmap by identity; returns its index or -1. */
static int64_t
bmap_find(const struct sp_detector *d, uint64_t fid, uint32_t bno)
{
	uint32_t v;

	return fs_map_get(&d->byid, fid, bno, &v) ? (int64_t)v : -1;
}

/* Returns the index of bmap (fid,bno), creating it; -1 on no memory. */
static int64_t
bmap_get(struct sp_detector *d, uint64_t fid, uint32_t bno, int64_t now)
{
	int64_t i = bmap_find(d, fid, bno);
	uint32_t ni;

	if (i >= 0)
		return i;
	sweep_stale(d, now);
	if (d->nfree > 0) {
		ni = d->freelist[--d->nfree];
	} else {
		if (d->npool == d->cappool) {
			uint32_t nc = d->cappool ? d->cappool * 2 : 32;
			struct sp_bmap *np = realloc(d->pool, nc * sizeof(*np));
			uint32_t *nf;

			if (np == NULL)
				return -1;
			d->pool = np;
			if ((nf = realloc(d->freelist, nc * sizeof(*nf))) == NULL)
				return -1;
			d->freelist = nf;
			d->cappool = nc;
		}
		ni = d->npool++;
	}
	if (fs_map_put(&d->byid, fid, bno, ni) != 0) {
		d->freelist[d->nfree++] = ni;
		return -1;
	}
	memset(&d->pool[ni], 0, sizeof(d->pool[ni]));
	d->pool[ni].fid = fid;
	d->pool[ni].bno = bno;
	d->pool[ni].live = 1;
	d->pool[ni].last_thread = -1;
	d->nlive++;
	bmap_touch(d, ni, now);
	return ni;
}

/* ---- threads and passes ---- */

/*
 * Remembers that the stream's thread number thr is thread ti (or, with
 * NOT_FLUSH, a thread looked up and not found); returns ti.
 */
static int
thr_note(struct sp_detector *d, int32_t thr, int ti)
{
	while (thr >= 0 && d->thr2th.n <= (size_t)thr)
		if (fs_vec_push(&d->thr2th, -1) != 0)
			return ti;
	if (thr >= 0)
		d->thr2th.v[thr] = ti;
	return ti;
}

/* Events from now on come from another stream: its thread numbers are its own. */
void
sp_detector_new_stream(struct sp_detector *d)
{
	d->thr2th.n = 0;
}

/* Finds the event's thread; creates it if create; returns index or -1. */
static int
thread_get(struct sp_detector *d, const struct ps_event *ev, int create)
{
	struct ps_str name = ev->thread, tid = ev->tid_s;
	uint64_t ha, hb;
	uint32_t v;
	struct sp_thread *t;

	if (ev->thr >= 0 && (size_t)ev->thr < d->thr2th.n && d->thr2th.v[ev->thr] != -1) {
		if (d->thr2th.v[ev->thr] >= 0)
			return d->thr2th.v[ev->thr];
		if (!create)
			return -1;	/* NOT_FLUSH: looked up before, not a flush thread */
	}
	if (name.n >= SP_NAME_MAX)
		name.n = SP_NAME_MAX - 1;
	if (tid.n >= SP_NAME_MAX)
		tid.n = SP_NAME_MAX - 1;
	ha = fs_fnv1a(name.p, name.n);
	hb = fs_fnv1a(tid.p, tid.n);
	if (fs_map_get(&d->thash, ha, hb, &v))
		return thr_note(d, ev->thr, (int)v);
	if (!create) {
		thr_note(d, ev->thr, NOT_FLUSH);
		return -1;
	}
	if (d->nth == d->capth) {
		int nc = d->capth ? d->capth * 2 : 8;
		struct sp_thread *nt = realloc(d->th, (size_t)nc * sizeof(*nt));

		if (nt == NULL)
			return -1;
		d->th = nt;
		d->capth = nc;
	}
	if (fs_map_put(&d->thash, ha, hb, (uint32_t)d->nth) != 0)
		return -1;
	t = &d->th[d->nth];
	memset(t, 0, sizeof(*t));
	if (name.n > 0)		/* an empty slice may have no pointer */
		memcpy(t->st.thread, name.p, name.n);
	if (tid.n > 0)
		memcpy(t->st.tid, tid.p, tid.n);
	t->namelen = (uint8_t)name.n;
	t->tidlen = (uint8_t)tid.n;
	t->thr = ev->thr;
	t->st.first_us = ev->ts_us;
	t->st.last_us = ev->ts_us;
	t->st.first_pass_us = INT64_MIN;
	return thr_note(d, ev->thr, d->nth++);
}

/* Fills a pass record of thread ti's current pass. */
static void
pass_fill(const struct sp_detector *d, int ti, struct sp_pass *p)
{
	const struct sp_thread *t = &d->th[ti];

	p->thread = ti;
	p->thr = t->thr;
	p->thread_name = t->st.thread;
	p->tid = t->st.tid;
	p->seq = t->pass_seq;
	p->start_us = t->pass_start;
	p->end_us = t->pass_last;
	p->useful = t->pass_useful;
}

/* Ends thread ti's open pass (delivering it). */
static void
pass_end(struct sp_detector *d, int ti)
{
	struct sp_thread *t = &d->th[ti];
	struct sp_pass p;

	if (!t->pass_open)
		return;
	t->pass_open = 0;
	if (!t->pass_useful)
		t->st.useless_passes++;
	if (d->cb.pass != NULL) {
		pass_fill(d, ti, &p);
		d->cb.pass(d->cb.arg, &p);
	}
}

/* Adds v (clamped to 0..UINT32_MAX) to a reservoir of SP_PERIODS values, *n seen. */
static void
sample(struct sp_detector *d, uint32_t *r, uint64_t *n, int64_t v)
{
	if (v < 0)
		v = 0;
	if (v > UINT32_MAX)
		v = UINT32_MAX;
	if (*n < SP_PERIODS) {
		r[*n] = (uint32_t)v;
	} else {
		uint64_t j = rng_next(d) % (*n + 1);

		if (j < SP_PERIODS)
			r[j] = (uint32_t)v;
	}
	(*n)++;
}

/* Starts a pass on thread ti at time ts. */
static void
pass_start(struct sp_detector *d, int ti, int64_t ts)
{
	struct sp_thread *t = &d->th[ti];
	struct sp_pass p;

	pass_end(d, ti);
	if (t->st.passes > 0) {
		int64_t per = ts - t->pass_start;
		int bucket = 0;

		if (per < 0)
			per = 0;
		if (per > 0) {	/* floor(log2(per)), the last bucket open-ended (a loop was
				 * 0.5 % of an ingest) */
			bucket = 63 - __builtin_clzll((unsigned long long)per);
			if (bucket > SP_PERIOD_BUCKETS - 1)
				bucket = SP_PERIOD_BUCKETS - 1;
		}
		t->st.period_hist[bucket]++;
		sample(d, t->periods, &t->nperiods, per);
		sample(d, t->sleeps, &t->nsleeps, ts - t->pass_last);
	} else {
		t->st.first_pass_us = ts;
	}
	t->st.passes++;
	t->pass_open = 1;
	t->pass_seq++;
	t->pass_start = ts;
	t->pass_last = ts;
	t->pass_useful = 0;
	t->boundary = 0;
	t->prev_line_ts = INT64_MIN;
	if (d->cb.pass_start != NULL) {
		pass_fill(d, ti, &p);
		d->cb.pass_start(d->cb.arg, &p);
	}
}

/* Notes that thread t logged a flush-path line at ts. */
static void
thread_touch(struct sp_thread *t, int64_t ts)
{
	if (ts > t->st.last_us)
		t->st.last_us = ts;
	if (t->pass_open && ts > t->pass_last)
		t->pass_last = ts;
	t->last_flush_ts = ts;
}

/* ---- events ---- */

/* 1 for 2011's `flushable? (outstandingRpcCnt=N)` (HEAD's prints no count). */
static int
flushable_2011(const struct ps_event *ev)
{
	return ev->msg_id == PS_MSG_Z_FLUSHABLE && ev->outstanding >= 0;
}

/*
 * Bmap bi left the queue on thread ti (-1: not a flush thread) at now: ti's
 * examination retired it (useful); another thread's Z-style one was waiting
 * on writes that completed (wasted), its A-style one cannot tell
 * (undecided); then its record goes.
 */
static void
bmap_gone(struct sp_detector *d, uint32_t bi, int ti, int64_t now)
{
	uint32_t k;

	while ((k = d->pool[bi].open_head) != NIL) {	/* the head is open: drained */
		const struct sp_open *o = &d->opens[k - 1];
		enum sp_verdict v;

		if (ti >= 0 && o->thread == ti)
			v = SP_USEFUL;
		else if (o->style == STYLE_Z)
			v = SP_WASTED;
		else
			v = SP_UNDECIDED;
		exam_close(d, k - 1, v, now, SP_RUN_GONE);
	}
	bmap_retire(d, bi, SP_RUN_GONE, now);
}

/*
 * Decides, wasted, the open Z-style examinations of bmap bi whose passes
 * have ended by now: a thread without end-of-pass lines whose flush lines
 * paused for more than SP_BURST_GAP_US (its next line starts a pass; one
 * with them decides its own at its end-of-pass line).
 */
static void
close_ended(struct sp_detector *d, uint32_t bi, int64_t now)
{
	uint32_t k;

again:	/* a close may drain (free) the records after it: look again from the head */
	for (k = d->pool[bi].open_head; k != NIL; k = d->opens[k - 1].b_next) {
		const struct sp_open *o = &d->opens[k - 1];
		const struct sp_thread *t = &d->th[o->thread];

		if (!o->decided && o->style == STYLE_Z && !t->saw_work_time &&
		    now - t->last_flush_ts > SP_BURST_GAP_US) {
			exam_close(d, k - 1, SP_WASTED, now, SP_RUN_UNDECIDED);
			goto again;
		}
	}
}

/* An EXAMINE line of a bmap, on thread ti (-1: not yet a flush thread); returns ti. */
static int
on_examine(struct sp_detector *d, const struct ps_event *ev, int ti)
{
	int style = ev->msg_id == PS_MSG_A_TRY_FLUSH_BMAP ? STYLE_A : STYLE_Z;
	int64_t bi, oi;
	struct sp_thread *t;
	struct sp_bmap *b;
	struct sp_open *o;
	int newpass;

	if (ti < 0 && (ti = thread_get(d, ev, 1)) < 0)
		return -1;
	if ((bi = bmap_get(d, ev->bmap.fid, ev->bmap.bno, ev->ts_us)) < 0)
		return ti;
	t = &d->th[ti];
	b = &d->pool[bi];

	newpass = !t->pass_open || t->boundary;
	if (!newpass && b->last_thread == ti && b->last_pass == t->pass_seq)
		newpass = 1;	/* a pass examines a bmap once */
	if (!newpass && style == STYLE_Z && !t->saw_work_time &&
	    ev->ts_us - t->last_flush_ts > SP_BURST_GAP_US)
		newpass = 1;
	if (newpass)
		pass_start(d, ti, ev->ts_us);
	t = &d->th[ti];
	thread_touch(t, ev->ts_us);

	if ((oi = open_of(d, (uint32_t)bi, ti)) >= 0)
		exam_close(d, (uint32_t)oi, d->opens[oi].style == STYLE_Z ? SP_WASTED :
		    SP_UNDECIDED, ev->ts_us, SP_RUN_UNDECIDED);
	close_ended(d, (uint32_t)bi, ev->ts_us);
	if ((oi = open_new(d, (uint32_t)bi)) < 0)
		return ti;
	b = &d->pool[bi];
	bmap_touch(d, (uint32_t)bi, ev->ts_us);
	b->addr = ev->bmap.addr;
	b->last_thread = ti;
	b->last_pass = t->pass_seq;
	o = &d->opens[oi];
	o->style = style;
	o->thread = ti;
	o->pass = t->pass_seq;
	o->ts = ev->ts_us;
	o->outst = ev->outstanding >= 0 ? ev->outstanding : d->last_outst;
	o->off = ev->src_off;
	o->lineno = ev->lineno;
	o->addr = ev->bmap.addr;
	o->msg = ev->msg_id;
	if (style == STYLE_Z)
		ex_link(d, (uint32_t)oi);
	t->st.examinations++;
	t->st.era = ev->msg_id == PS_MSG_A_TRY_FLUSH_BMAP ? 'A' : ev->msg_id == PS_MSG_M_CHECKING ?
	    'B' : flushable_2011(ev) ? 'C' : 'Z';
	/*
	 * 2011-08 to 2015: a flushable? bmap whose flags say clean (the
	 * parser's bmap.dirty: no d among the 494ee8caf letters) is taken off
	 * the queue without a line (engine-history.md C, Pass 1): the
	 * examination retired it.  HEAD's letters do not say (dirty -1): its
	 * bmaps leave at their last completion, with a line.
	 */
	if (ev->msg_id == PS_MSG_Z_FLUSHABLE && ev->bmap.dirty == 0)
		bmap_gone(d, (uint32_t)bi, ti, ev->ts_us);
	return ti;
}

/* 1 if a SCHEDULE-kind line is not progress (looking at or giving up a biorq). */
static int
not_progress(const struct ps_event *ev)
{
	return ev->msg_id == PS_MSG_A_CONSIDER || ev->msg_id == PS_MSG_A_DESCHEDULING ||
	    ev->msg_id == PS_MSG_Z_RESCHED;
}

/* Progress on the event's bmap (SCHEDULE, RPC_SEND) on thread ti: its examination was useful. */
static void
on_progress(struct sp_detector *d, const struct ps_event *ev, int ti)
{
	int64_t bi, oi;

	if (ev->kind == PS_EV_SCHEDULE && not_progress(ev))
		return;
	if (ti >= 0)
		thread_touch(&d->th[ti], ev->ts_us);
	if (!ev->bm_known || (bi = bmap_find(d, ev->bm_fid, ev->bm_bno)) < 0)
		return;
	bmap_touch(d, (uint32_t)bi, ev->ts_us);
	/*
	 * A line of thread T decides only T's examination: when another HEAD
	 * thread examined the bmap meanwhile, that one stays open until its
	 * own thread takes the bmap or ends its pass without it (wasted).
	 */
	if (ti >= 0 && (oi = open_of(d, (uint32_t)bi, ti)) >= 0)
		exam_close(d, (uint32_t)oi, SP_USEFUL, ev->ts_us, SP_RUN_PROGRESS);
}

/*
 * The A-style examination of bmap bi a line of thread ti decides: ti's own;
 * from a thread not yet seen as a flush thread (ti < 0), the bmap's first;
 * -1 if none.
 */
static int64_t
open_a(const struct sp_detector *d, uint32_t bi, int ti)
{
	int64_t oi;
	uint32_t k;

	if (ti >= 0) {
		oi = open_of(d, bi, ti);
		return oi >= 0 && d->opens[oi].style == STYLE_A ? oi : -1;
	}
	for (k = d->pool[bi].open_head; k != NIL; k = d->opens[k - 1].b_next)
		if (!d->opens[k - 1].decided && d->opens[k - 1].style == STYLE_A)
			return k - 1;
	return -1;
}

/* Era A: restore to dirty list. */
static void
on_requeue(struct sp_detector *d, const struct ps_event *ev, int ti)
{
	int64_t bi, oi;

	if (ti >= 0) {
		thread_touch(&d->th[ti], ev->ts_us);
		d->th[ti].boundary = 1;
	}
	if (!(ev->has & PS_HAS_BMAP) || (bi = bmap_find(d, ev->bmap.fid, ev->bmap.bno)) < 0)
		return;
	bmap_touch(d, (uint32_t)bi, ev->ts_us);
	if ((oi = open_a(d, (uint32_t)bi, ti)) >= 0)
		exam_close(d, (uint32_t)oi, SP_WASTED, ev->ts_us, SP_RUN_UNDECIDED);
}

/* The bmap left the flush queue. */
static void
on_clean(struct sp_detector *d, const struct ps_event *ev, int ti)
{
	int64_t bi;
	struct sp_bmap *b;
	uint32_t k;

	if (ti >= 0) {
		thread_touch(&d->th[ti], ev->ts_us);
		if (ev->msg_id == PS_MSG_A_IS_CLEAN)
			d->th[ti].boundary = 1;
	}
	if (!(ev->has & PS_HAS_BMAP) || (bi = bmap_find(d, ev->bmap.fid, ev->bmap.bno)) < 0)
		return;
	b = &d->pool[bi];
	for (k = b->open_head; k != NIL; k = d->opens[k - 1].b_next)
		if (!d->opens[k - 1].decided && d->opens[k - 1].style == STYLE_A &&
		    (ti < 0 || d->opens[k - 1].thread != ti)) {
			/*
			 * Era A: the reaper's `unset DIRTY` while a pass holds
			 * the bmap.  It stays the flush thread's until that
			 * pass restores it or finds it clean, which decides
			 * the examination.
			 */
			bmap_touch(d, (uint32_t)bi, ev->ts_us);
			return;
		}
	bmap_gone(d, (uint32_t)bi, ti, ev->ts_us);
}

/*
 * An end-of-pass line (`work time`, 2011's `flush (...)`) on thread ti (-1:
 * not yet a flush thread): its open examinations were wasted; returns ti.
 */
static int
on_pass_line(struct sp_detector *d, const struct ps_event *ev, int ti)
{
	struct sp_thread *t;

	if (ti < 0 && (ti = thread_get(d, ev, 1)) < 0)
		return -1;
	t = &d->th[ti];
	thread_touch(t, ev->ts_us);
	t->saw_work_time = 1;
	t->boundary = 1;
	while (d->th[ti].ex_head != NIL)
		exam_close(d, d->th[ti].ex_head - 1, SP_WASTED, ev->ts_us, SP_RUN_UNDECIDED);
	return ti;
}

/*
 * Any line of a flush thread with a pass open: the gap since its previous
 * line of the pass is a line-cost sample, unless that line was an
 * examination (whose work the gap may hold) or the gap is a pause (more
 * than SP_BURST_GAP_US).
 */
static void
on_line(struct sp_detector *d, const struct ps_event *ev, int ti)
{
	struct sp_thread *t;

	if (ti < 0)
		return;
	t = &d->th[ti];
	if (!t->pass_open)
		return;
	if (t->prev_line_ts != INT64_MIN && !t->prev_line_exam && ev->ts_us >= t->prev_line_ts &&
	    ev->ts_us - t->prev_line_ts <= SP_BURST_GAP_US) {
		t->lgaps[ev->ts_us - t->prev_line_ts]++;
		t->nlgaps++;
	}
	t->prev_line_ts = ev->ts_us;
	t->prev_line_exam = ev->kind == PS_EV_EXAMINE;
}

/* Feeds one event. */
void
sp_detector_feed(struct sp_detector *d, const struct ps_event *ev)
{
	int ti;

	if (ev->outstanding >= 0)
		d->last_outst = ev->outstanding;
	if (ev->ts_us == INT64_MIN)
		return;
	ti = thread_get(d, ev, 0);
	switch (ev->kind) {
	case PS_EV_EXAMINE:
		if (ev->has & PS_HAS_BMAP)
			ti = on_examine(d, ev, ti);
		break;
	case PS_EV_SCHEDULE:
	case PS_EV_RPC_SEND:
		on_progress(d, ev, ti);
		break;
	case PS_EV_REQUEUE:
		on_requeue(d, ev, ti);
		break;
	case PS_EV_CLEAN:
		on_clean(d, ev, ti);
		break;
	case PS_EV_PASS:
		ti = on_pass_line(d, ev, ti);
		break;
	default:
		break;
	}
	on_line(d, ev, ti);
}

/* Creates a detector. */
struct sp_detector *
sp_detector_new(const struct sp_options *opt, const struct sp_callbacks *cb, struct fs_err *err)
{
	struct sp_detector *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		fs_err_set(err, 12, "spin detector: out of memory");
		return NULL;
	}
	if (opt != NULL)
		d->opt = *opt;
	else
		sp_options_default(&d->opt);
	if (d->opt.min_cycles < 1 || d->opt.max_gap_us < 0 || d->opt.window_limit < 1) {
		fs_err_set(err, -1, "spin detector: bad options (min_cycles %d, max_gap %lld us)",
		    d->opt.min_cycles, (long long)d->opt.max_gap_us);
		free(d);
		return NULL;
	}
	if (cb != NULL)
		d->cb = *cb;
	d->rng = 0x2545f4914f6cdd1dULL;
	d->last_outst = -1;
	fs_map_init(&d->byid);
	fs_map_init(&d->thash);
	return d;
}

/* The log ended: decide what is left, end runs and passes. */
void
sp_detector_finish(struct sp_detector *d)
{
	int k;

	/* oldest first, so episodes come out in a stable order */
	while (d->lru_head != NIL)
		bmap_retire(d, d->lru_head - 1, SP_RUN_EOF, INT64_MIN);
	for (k = 0; k < d->nth; k++)
		pass_end(d, k);
}

/* Number of flush threads seen. */
int
sp_detector_nthreads(const struct sp_detector *d)
{
	return d->nth;
}

/* Bmap records held. */
uint64_t
sp_detector_nbmaps(const struct sp_detector *d)
{
	return d->nlive;
}

/*
 * The q-th percentile of a reservoir of *n values seen (nearest rank: the
 * smallest value with at least q % of the sample at or below it); -1 if
 * empty or out of memory.
 */
static int64_t
pctl(const uint32_t *r, uint64_t nseen, int q)
{
	size_t n = nseen < SP_PERIODS ? (size_t)nseen : SP_PERIODS;
	uint32_t *p;
	int64_t v;

	if (n == 0 || (p = malloc(n * sizeof(*p))) == NULL)
		return -1;
	memcpy(p, r, n * sizeof(p[0]));
	sort_u32(p, n);
	v = p[(n * (size_t)q + 99) / 100 - 1];
	free(p);
	return v;
}

/* Copies thread i's figures, with the pass-period and timing percentiles. */
void
sp_detector_thread(const struct sp_detector *d, int ti, struct sp_thread_stats *out)
{
	const struct sp_thread *t;
	uint64_t k;
	int i;

	memset(out, 0, sizeof(*out));
	if (ti < 0 || ti >= d->nth)
		return;
	t = &d->th[ti];
	*out = t->st;
	out->period_p50_us = pctl(t->periods, t->nperiods, 50);
	out->period_p99_us = pctl(t->periods, t->nperiods, 99);
	out->sleep_p50_us = pctl(t->sleeps, t->nsleeps, 50);
	out->line_p50_us = -1;
	for (i = 0, k = 0; t->nlgaps > 0 && i <= SP_BURST_GAP_US; i++)
		if ((k += t->lgaps[i]) * 2 >= t->nlgaps) {
			out->line_p50_us = i;	/* nearest rank, as pctl */
			break;
		}
}

/* Frees the detector. */
void
sp_detector_free(struct sp_detector *d)
{
	if (d == NULL)
		return;
	free(d->pool);
	free(d->freelist);
	free(d->opens);
	fs_map_free(&d->byid);
	fs_map_free(&d->thash);
	fs_vec_free(&d->thr2th);
	free(d->th);
	free(d);
}
