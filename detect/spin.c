/*
 * The streaming spin detector (see detect/spin.h and the design's "What a
 * spin is").
 *
 * State
 *   bmaps    one record per live bmap, keyed by (fid, bno), in a pool of
 *            records addressed by index (the pool may move when it grows,
 *            so nothing keeps a pointer across a feed call).  Two open-
 *            addressing hash tables index the pool: by (fid, bno) and by the
 *            bmap's current address (biorq lines name the bmap only by its
 *            address).  A record is created by the first EXAMINE of a bmap
 *            and retired when the bmap leaves the queue (CLEAN) or has been
 *            silent for SP_STALE_US of log time (a clock hand checks two
 *            records per new record, so memory stays bounded by the bmaps
 *            active in the last SP_STALE_US even when CLEAN lines are
 *            missing).
 *   threads  one record per flush thread (a thread that logged an EXAMINE
 *            or a `work time` line), keyed by (name, tid as logged).
 *
 * Examinations
 *   An EXAMINE opens an examination of bmap B.  Progress on B (a SCHEDULE
 *   other than `consider for flush`/`descheduling`, an RPC_SEND, or a CLEAN
 *   by the examining thread) closes it as useful.  Era A (`try flush
 *   (outstandingRpcCnt=N)`): a REQUEUE of B closes an open examination as
 *   wasted.  Middle era (`checking for flush`) and era Z (`flushable?`): the
 *   next EXAMINE of B, by any thread, closes the open one as wasted; so does
 *   B leaving the queue on another thread (`remove from msl_bmapflushq` by
 *   the RPC reaper: the examination found nothing to send, B left only when
 *   its in-flight writes completed).  The last examination of a bmap that is
 *   still queued when the log ends is not decided and not counted.  An
 *   era-A examination followed by another EXAMINE of B without REQUEUE, or
 *   open when B goes clean on another thread (`unset DIRTY`), is neither
 *   (the log does not say): it is not counted and ends B's run.
 *
 *   Attribution of lines without a bmap prefix: a biorq line names its bmap
 *   by address (b= / bmap=); a req@ line (RPC_SEND) belongs to the bmap of
 *   the same thread's latest EXAMINE, checked against the fid the era-Z RPC
 *   line names.
 *
 * Runs and episodes
 *   Each bmap keeps its current run of consecutive wasted examinations (time
 *   of each = the time of its EXAMINE line).  A gap above max_gap_us, a
 *   useful or undecidable examination, or the bmap leaving the queue ends
 *   the run; a run of >= min_cycles is delivered as an episode.
 *   Median period: the gaps of a run are kept exactly up to SP_GAPS (so the
 *   median is exact for runs of up to SP_GAPS + 1 cycles); beyond that a
 *   uniform reservoir sample of SP_GAPS gaps (Algorithm R with a per-
 *   detector deterministic generator) stands for them, and the median is the
 *   sample's.  The episode's thread is the one that made most of the run's
 *   wasted examinations (the first SP_RUN_THREADS distinct threads of a run
 *   are counted).  Cause: each wasted examination votes with its outstanding
 *   count (the EXAMINE's own outstandingRpcCnt, else the last count/infl=
 *   seen on any line): 0 -> notready, >= window_limit -> throttled, else
 *   inflight; the most votes win (ties: inflight, throttled, notready); with
 *   no known count the cause is inflight, the design's era-Z spin analog.
 *
 * Passes (per flush thread)
 *   A pass starts at an EXAMINE when the thread has no open pass, or when
 *   since its last pass start the thread logged a REQUEUE or `is clean`
 *   (era A), a `work time` line (era Z), or re-examines a bmap it already
 *   examined in this pass (era A).  Threads that never logged `work time`
 *   and examine with `flushable?`/`checking for flush` start a new pass
 *   when an EXAMINE comes more than SP_BURST_GAP_US after the thread's
 *   previous flush-path line (an examination burst).  A pass is useful if
 *   any examination it made was useful.  Pass periods are the gaps between
 *   pass starts: log2 histogram, and p50/p99 from a reservoir of
 *   SP_PERIODS periods (exact up to that many passes).
 *
 * Cost: O(1) per event (hash look-ups, no allocation except when a table
 * grows, which is amortised); an episode costs a sort of <= SP_GAPS values.
 */
#include "detect/spin.h"

#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

#define SP_GAPS		64		/* exact gaps kept per run */
#define SP_RUN_THREADS	16		/* threads counted per run */
#define SP_PERIODS	256		/* pass periods kept per thread */
#define SP_STALE_US	(300LL * 1000000)	/* idle bmap record lifetime */
#define SP_BURST_GAP_US	1000		/* era-Z pass split without work-time lines */

enum { STYLE_A = 1, STYLE_Z = 2 };	/* how an examination is closed */
enum { CLOSE_WASTED, CLOSE_USEFUL, CLOSE_UNKNOWN };

struct sp_bmap {
	uint64_t fid;
	uint32_t bno;
	int live;
	uint64_t addr;
	int64_t last_ts;		/* last activity, for staleness */

	/* the open examination */
	int exam_open;
	int exam_style;
	int exam_thread;		/* thread index */
	uint64_t exam_pass;		/* that thread's pass number then */
	int64_t exam_ts;
	int64_t exam_outst;
	uint64_t exam_off, exam_lineno;
	enum ps_msg exam_msg;

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

struct sp_thread {
	struct sp_thread_stats st;
	size_t namelen, tidlen;
	uint64_t hash;
	int pass_open;
	uint64_t pass_seq;
	int64_t pass_start, pass_last;
	int pass_useful;
	int boundary;			/* a pass boundary was seen */
	int saw_work_time;
	int64_t last_flush_ts;		/* last flush-path line of this thread */
	int has_last_exam;
	uint64_t last_fid;
	uint32_t last_bno;
	uint64_t nperiods;
	uint32_t periods[SP_PERIODS];
};

struct sp_detector {
	struct sp_options opt;
	struct sp_callbacks cb;
	uint64_t rng;

	struct sp_bmap *pool;
	uint32_t npool, cappool;
	uint32_t *freelist;
	uint32_t nfree;
	uint32_t hand;			/* clock hand for stale records */

	uint32_t *byid;			/* (fid,bno) -> index+1 */
	uint32_t *byaddr;		/* addr -> index+1 */
	uint32_t hcap;			/* capacity of both tables (power of 2) */
	uint32_t nlive;

	struct sp_thread *th;
	int nth, capth;
	int32_t *thash;			/* -> thread index, -1 empty */
	uint32_t thcap;

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

/* Fills in the design's defaults. */
void
sp_options_default(struct sp_options *o)
{
	o->min_cycles = 3;
	o->max_gap_us = 50000;
	o->window_limit = 128;
}

/* A 64-bit mixer (splitmix64 finaliser). */
static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
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

/* Hash of a bmap identity. */
static uint64_t
id_hash(uint64_t fid, uint32_t bno)
{
	return mix64(fid * 0x9e3779b97f4a7c15ULL + bno + 1);
}

/* Finds the slot of (fid,bno) in the id table: index or where it would go. */
static uint32_t
id_slot(const struct sp_detector *d, uint64_t fid, uint32_t bno, int *found)
{
	uint32_t m = d->hcap - 1, i = (uint32_t)id_hash(fid, bno) & m;

	for (;; i = (i + 1) & m) {
		uint32_t v = d->byid[i];

		if (v == 0) {
			*found = 0;
			return i;
		}
		if (d->pool[v - 1].fid == fid && d->pool[v - 1].bno == bno) {
			*found = 1;
			return i;
		}
	}
}

/* Finds the slot of addr in the address table. */
static uint32_t
addr_slot(const struct sp_detector *d, uint64_t addr, int *found)
{
	uint32_t m = d->hcap - 1, i = (uint32_t)mix64(addr) & m;

	for (;; i = (i + 1) & m) {
		uint32_t v = d->byaddr[i];

		if (v == 0) {
			*found = 0;
			return i;
		}
		if (d->pool[v - 1].addr == addr) {
			*found = 1;
			return i;
		}
	}
}

/* Removes slot i of a linear-probing table, shifting followers back. */
static void
table_delete(struct sp_detector *d, uint32_t *t, uint32_t i, int byaddr)
{
	uint32_t m = d->hcap - 1, j = i;

	t[i] = 0;
	for (;;) {
		uint32_t k, v;
		const struct sp_bmap *b;

		j = (j + 1) & m;
		if ((v = t[j]) == 0)
			return;
		b = &d->pool[v - 1];
		k = (uint32_t)(byaddr ? mix64(b->addr) : id_hash(b->fid, b->bno)) & m;
		/* move v back to i if its home k is not in (i, j] */
		if ((i <= j) ? (k <= i || k > j) : (k <= i && k > j)) {
			t[i] = v;
			t[j] = 0;
			i = j;
		}
	}
}

/* Looks up a live bmap by identity; returns its index or -1. */
static int64_t
bmap_find(const struct sp_detector *d, uint64_t fid, uint32_t bno)
{
	int found;
	uint32_t s;

	if (d->hcap == 0)
		return -1;
	s = id_slot(d, fid, bno, &found);
	return found ? (int64_t)d->byid[s] - 1 : -1;
}

/* Looks up a live bmap by its current address; returns its index or -1. */
static int64_t
bmap_find_addr(const struct sp_detector *d, uint64_t addr)
{
	int found;
	uint32_t s;

	if (d->hcap == 0 || addr == 0)
		return -1;
	s = addr_slot(d, addr, &found);
	return found ? (int64_t)d->byaddr[s] - 1 : -1;
}

/* Rebuilds both hash tables with capacity cap; returns -1 on no memory. */
static int
tables_resize(struct sp_detector *d, uint32_t cap)
{
	uint32_t *nid, *naddr, i;
	int found;

	nid = calloc(cap, sizeof(*nid));
	naddr = calloc(cap, sizeof(*naddr));
	if (nid == NULL || naddr == NULL) {
		free(nid);
		free(naddr);
		return -1;
	}
	free(d->byid);
	free(d->byaddr);
	d->byid = nid;
	d->byaddr = naddr;
	d->hcap = cap;
	for (i = 0; i < d->npool; i++) {
		struct sp_bmap *b = &d->pool[i];

		if (!b->live)
			continue;
		d->byid[id_slot(d, b->fid, b->bno, &found)] = i + 1;
		if (b->addr != 0) {
			uint32_t s = addr_slot(d, b->addr, &found);

			if (!found)
				d->byaddr[s] = i + 1;
		}
	}
	return 0;
}

/* Points the address table at bmap i for address addr (addresses are reused). */
static void
bmap_set_addr(struct sp_detector *d, uint32_t i, uint64_t addr)
{
	struct sp_bmap *b = &d->pool[i];
	int found;
	uint32_t s;

	if (addr == 0 || b->addr == addr)
		return;
	if (b->addr != 0) {
		s = addr_slot(d, b->addr, &found);
		if (found && d->byaddr[s] == i + 1)
			table_delete(d, d->byaddr, s, 1);
	}
	/* a previous owner of addr loses it: the address has a new lifetime */
	s = addr_slot(d, addr, &found);
	if (found) {
		d->pool[d->byaddr[s] - 1].addr = 0;
		table_delete(d, d->byaddr, s, 1);
		s = addr_slot(d, addr, &found);
	}
	b->addr = addr;
	d->byaddr[s] = i + 1;
}

/* Sorts a small array of gaps (insertion sort; n <= SP_PERIODS). */
static void
sort_u32(uint32_t *a, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		uint32_t v = a[i];

		for (j = i; j > 0 && a[j - 1] > v; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

/* Delivers the run of bmap b as an episode if long enough, then clears it. */
static void
run_end(struct sp_detector *d, struct sp_bmap *b)
{
	struct sp_episode ep;
	uint32_t g[SP_GAPS];
	size_t n;
	int i, best;

	if (b->run_cycles >= (uint64_t)d->opt.min_cycles && d->cb.episode != NULL) {
		memset(&ep, 0, sizeof(ep));
		best = 0;
		for (i = 1; i < b->run_nth; i++)
			if (b->run_th[i].n > b->run_th[best].n)
				best = i;
		if (b->run_nth > 0) {
			const struct sp_thread *t = &d->th[b->run_th[best].th];

			memcpy(ep.thread, t->st.thread, sizeof(ep.thread));
			memcpy(ep.tid, t->st.tid, sizeof(ep.tid));
		}
		ep.fid = b->fid;
		ep.bno = b->bno;
		ep.addr = b->run_addr;
		ep.start_us = b->run_start;
		ep.end_us = b->run_last;
		ep.cycles = b->run_cycles;
		n = b->run_ngaps < SP_GAPS ? (size_t)b->run_ngaps : SP_GAPS;
		memcpy(g, b->run_gaps, n * sizeof(g[0]));
		sort_u32(g, n);
		if (n == 0)
			ep.period_us = 0;
		else if (n % 2 == 1)
			ep.period_us = g[n / 2];
		else
			ep.period_us = ((int64_t)g[n / 2 - 1] + g[n / 2] + 1) / 2;
		ep.outstanding_min = b->run_omin;
		ep.outstanding_max = b->run_omax;
		if (b->run_votes[0] + b->run_votes[1] + b->run_votes[2] == 0)
			ep.cause = SP_CAUSE_INFLIGHT;
		else if (b->run_votes[SP_CAUSE_INFLIGHT] >= b->run_votes[SP_CAUSE_THROTTLED] &&
		    b->run_votes[SP_CAUSE_INFLIGHT] >= b->run_votes[SP_CAUSE_NOTREADY])
			ep.cause = SP_CAUSE_INFLIGHT;
		else if (b->run_votes[SP_CAUSE_THROTTLED] >= b->run_votes[SP_CAUSE_NOTREADY])
			ep.cause = SP_CAUSE_THROTTLED;
		else
			ep.cause = SP_CAUSE_NOTREADY;
		ep.first_off = b->run_first_off;
		ep.last_off = b->run_last_off;
		d->cb.episode(d->cb.arg, &ep);
	}
	b->run_cycles = 0;
	b->run_ngaps = 0;
	b->run_nth = 0;
}

/* Records one wasted examination (the open one) of bmap index bi. */
static void
wasted_add(struct sp_detector *d, uint32_t bi)
{
	struct sp_bmap *b = &d->pool[bi];
	struct sp_thread *t = &d->th[b->exam_thread];
	int64_t o = b->exam_outst, gap;
	int i;

	t->st.wasted_examinations++;
	if (b->run_cycles > 0) {
		gap = b->exam_ts - b->run_last;
		if (gap > d->opt.max_gap_us || gap < -d->opt.max_gap_us)
			run_end(d, b);
	}
	if (b->run_cycles == 0) {
		b->run_start = b->exam_ts;
		b->run_first_off = b->exam_off;
		b->run_addr = b->addr;
		b->run_omin = b->run_omax = -1;
		b->run_votes[0] = b->run_votes[1] = b->run_votes[2] = 0;
		b->run_ngaps = 0;
		b->run_nth = 0;
	} else {
		gap = b->exam_ts - b->run_last;
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
	b->run_last = b->exam_ts;
	b->run_last_off = b->exam_off;
	if (o >= 0) {
		if (b->run_omin < 0 || o < b->run_omin)
			b->run_omin = o;
		if (o > b->run_omax)
			b->run_omax = o;
		if (o == 0)
			b->run_votes[SP_CAUSE_NOTREADY]++;
		else if (o >= d->opt.window_limit)
			b->run_votes[SP_CAUSE_THROTTLED]++;
		else
			b->run_votes[SP_CAUSE_INFLIGHT]++;
	}
	for (i = 0; i < b->run_nth; i++)
		if (b->run_th[i].th == b->exam_thread)
			break;
	if (i < b->run_nth)
		b->run_th[i].n++;
	else if (i < SP_RUN_THREADS) {
		b->run_th[i].th = b->exam_thread;
		b->run_th[i].n = 1;
		b->run_nth++;
	}

	if (d->cb.wasted != NULL) {
		struct ps_event x;

		ps_event_reset(&x);
		x.kind = PS_EV_EXAMINE;
		x.msg_id = b->exam_msg;
		x.has = PS_HAS_BMAP;
		x.src_off = b->exam_off;
		x.lineno = b->exam_lineno;
		x.ts_us = b->exam_ts;
		x.thread.p = t->st.thread;
		x.thread.n = t->namelen;
		x.tid_s.p = t->st.tid;
		x.tid_s.n = t->tidlen;
		x.bmap.addr = b->addr;
		x.bmap.fid = b->fid;
		x.bmap.bno = b->bno;
		x.outstanding = b->exam_outst;
		d->cb.wasted(d->cb.arg, &x, b->fid, b->bno);
	}
}

/* Closes bmap bi's open examination with the given verdict. */
static void
exam_close(struct sp_detector *d, uint32_t bi, int how)
{
	struct sp_bmap *b = &d->pool[bi];

	if (!b->exam_open)
		return;
	b->exam_open = 0;
	if (how == CLOSE_WASTED) {
		wasted_add(d, bi);
		return;
	}
	if (how == CLOSE_USEFUL) {
		struct sp_thread *t = &d->th[b->exam_thread];

		if (t->pass_open && t->pass_seq == b->exam_pass)
			t->pass_useful = 1;
	}
	run_end(d, b);
}

/* Retires bmap bi: ends its run and frees its record. */
static void
bmap_retire(struct sp_detector *d, uint32_t bi)
{
	struct sp_bmap *b = &d->pool[bi];
	int found;
	uint32_t s;

	run_end(d, b);
	s = id_slot(d, b->fid, b->bno, &found);
	if (found)
		table_delete(d, d->byid, s, 0);
	if (b->addr != 0) {
		s = addr_slot(d, b->addr, &found);
		if (found && d->byaddr[s] == bi + 1)
			table_delete(d, d->byaddr, s, 1);
	}
	b->live = 0;
	b->exam_open = 0;
	d->freelist[d->nfree++] = bi;
	d->nlive--;
}

/* Retires up to two records idle for SP_STALE_US (the clock hand). */
static void
sweep_stale(struct sp_detector *d, int64_t now)
{
	int k;

	for (k = 0; k < 2 && d->npool > 0; k++) {
		uint32_t i = d->hand++ % d->npool;

		if (d->pool[i].live && now - d->pool[i].last_ts > SP_STALE_US)
			bmap_retire(d, i);
	}
}

/* Returns the index of bmap (fid,bno), creating it; -1 on no memory. */
static int64_t
bmap_get(struct sp_detector *d, uint64_t fid, uint32_t bno, int64_t now)
{
	int64_t i = bmap_find(d, fid, bno);
	uint32_t ni;
	int found;

	if (i >= 0)
		return i;
	sweep_stale(d, now);
	if ((uint64_t)(d->nlive + 1) * 2 > d->hcap &&
	    tables_resize(d, d->hcap ? d->hcap * 2 : 64) != 0)
		return -1;
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
			nf = realloc(d->freelist, nc * sizeof(*nf));
			if (nf == NULL)
				return -1;
			d->freelist = nf;
			d->cappool = nc;
		}
		ni = d->npool++;
	}
	memset(&d->pool[ni], 0, sizeof(d->pool[ni]));
	d->pool[ni].fid = fid;
	d->pool[ni].bno = bno;
	d->pool[ni].live = 1;
	d->pool[ni].last_ts = now;
	d->byid[id_slot(d, fid, bno, &found)] = ni + 1;
	d->nlive++;
	return ni;
}

/* Hash of a thread identity (name and tid as logged). */
static uint64_t
thread_hash(const struct ps_str *name, const struct ps_str *tid)
{
	uint64_t h = fs_fnv1a(name->p, name->n);

	h = fs_fnv1a_add(h, ":", 1);
	return mix64(fs_fnv1a_add(h, tid->p, tid->n));
}

/* Finds the event's thread; creates it if create; returns index or -1. */
static int
thread_get(struct sp_detector *d, const struct ps_event *ev, int create)
{
	struct ps_str name = ev->thread, tid = ev->tid_s;
	uint64_t h;
	uint32_t m, s;
	struct sp_thread *t;

	if (name.n >= SP_NAME_MAX)
		name.n = SP_NAME_MAX - 1;
	if (tid.n >= SP_NAME_MAX)
		tid.n = SP_NAME_MAX - 1;
	h = thread_hash(&name, &tid);
	if (d->thcap > 0) {
		m = d->thcap - 1;
		for (s = (uint32_t)h & m; d->thash[s] >= 0; s = (s + 1) & m) {
			t = &d->th[d->thash[s]];
			if (t->hash == h && t->namelen == name.n && t->tidlen == tid.n &&
			    memcmp(t->st.thread, name.p, name.n) == 0 &&
			    memcmp(t->st.tid, tid.p, tid.n) == 0)
				return d->thash[s];
		}
	}
	if (!create)
		return -1;
	if ((uint32_t)(d->nth + 1) * 2 > d->thcap) {
		uint32_t nc = d->thcap ? d->thcap * 2 : 16, i;
		int32_t *nt = malloc(nc * sizeof(*nt));
		int k;

		if (nt == NULL)
			return -1;
		for (i = 0; i < nc; i++)
			nt[i] = -1;
		for (k = 0; k < d->nth; k++) {
			for (s = (uint32_t)d->th[k].hash & (nc - 1); nt[s] >= 0; s = (s + 1) & (nc - 1))
				;
			nt[s] = k;
		}
		free(d->thash);
		d->thash = nt;
		d->thcap = nc;
	}
	if (d->nth == d->capth) {
		int nc = d->capth ? d->capth * 2 : 8;
		struct sp_thread *nt = realloc(d->th, (size_t)nc * sizeof(*nt));

		if (nt == NULL)
			return -1;
		d->th = nt;
		d->capth = nc;
	}
	t = &d->th[d->nth];
	memset(t, 0, sizeof(*t));
	memcpy(t->st.thread, name.p, name.n);
	memcpy(t->st.tid, tid.p, tid.n);
	t->namelen = name.n;
	t->tidlen = tid.n;
	t->hash = h;
	t->st.first_us = ev->ts_us;
	t->st.last_us = ev->ts_us;
	m = d->thcap - 1;
	for (s = (uint32_t)h & m; d->thash[s] >= 0; s = (s + 1) & m)
		;
	d->thash[s] = d->nth;
	return d->nth++;
}

/* Ends thread t's open pass (delivering it). */
static void
pass_end(struct sp_detector *d, struct sp_thread *t)
{
	if (!t->pass_open)
		return;
	t->pass_open = 0;
	if (!t->pass_useful)
		t->st.useless_passes++;
	if (d->cb.pass != NULL)
		d->cb.pass(d->cb.arg, t->st.thread, t->pass_start, t->pass_last, t->pass_useful);
}

/* Starts a pass on thread t at time ts. */
static void
pass_start(struct sp_detector *d, struct sp_thread *t, int64_t ts)
{
	if (t->pass_open)
		pass_end(d, t);
	if (t->st.passes > 0) {
		int64_t p = ts - t->pass_start;
		int bucket = 0;

		if (p < 0)
			p = 0;
		while (bucket < 39 && (p >> (bucket + 1)) != 0)
			bucket++;
		t->st.period_hist[bucket]++;
		if (p > UINT32_MAX)
			p = UINT32_MAX;
		if (t->nperiods < SP_PERIODS) {
			t->periods[t->nperiods] = (uint32_t)p;
		} else {
			uint64_t j = rng_next(d) % (t->nperiods + 1);

			if (j < SP_PERIODS)
				t->periods[j] = (uint32_t)p;
		}
		t->nperiods++;
	}
	t->st.passes++;
	t->pass_open = 1;
	t->pass_seq++;
	t->pass_start = ts;
	t->pass_last = ts;
	t->pass_useful = 0;
	t->boundary = 0;
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

/* An EXAMINE line. */
static void
on_examine(struct sp_detector *d, const struct ps_event *ev)
{
	int style = ev->msg_id == PS_MSG_A_TRY_FLUSH_BMAP ? STYLE_A : STYLE_Z;
	int ti = thread_get(d, ev, 1);
	int64_t bi;
	struct sp_thread *t;
	struct sp_bmap *b;
	int newpass;

	if (ti < 0)
		return;
	bi = bmap_get(d, ev->bmap.fid, ev->bmap.bno, ev->ts_us);
	if (bi < 0)
		return;
	t = &d->th[ti];
	b = &d->pool[bi];

	newpass = !t->pass_open || t->boundary;
	if (!newpass && style == STYLE_A && b->exam_thread == ti && b->exam_pass == t->pass_seq &&
	    b->exam_ts != 0)
		newpass = 1;	/* era A examines a bmap once per pass */
	if (!newpass && style == STYLE_Z && !t->saw_work_time &&
	    ev->ts_us - t->last_flush_ts > SP_BURST_GAP_US)
		newpass = 1;
	if (newpass)
		pass_start(d, t, ev->ts_us);
	thread_touch(t, ev->ts_us);

	if (b->exam_open)
		exam_close(d, (uint32_t)bi, b->exam_style == STYLE_Z ? CLOSE_WASTED : CLOSE_UNKNOWN);
	b = &d->pool[bi];
	bmap_set_addr(d, (uint32_t)bi, ev->bmap.addr);
	b->exam_open = 1;
	b->exam_style = style;
	b->exam_thread = ti;
	b->exam_pass = t->pass_seq;
	b->exam_ts = ev->ts_us;
	b->exam_outst = ev->outstanding >= 0 ? ev->outstanding : d->last_outst;
	b->exam_off = ev->src_off;
	b->exam_lineno = ev->lineno;
	b->exam_msg = ev->msg_id;
	b->last_ts = ev->ts_us;
	t->st.examinations++;
	t->has_last_exam = 1;
	t->last_fid = ev->bmap.fid;
	t->last_bno = ev->bmap.bno;
}

/* The bmap a progress line (SCHEDULE, RPC_SEND) is about; -1 if unknown. */
static int64_t
progress_target(const struct sp_detector *d, const struct ps_event *ev, int ti)
{
	int64_t bi;

	if (ev->has & PS_HAS_BMAP)
		return bmap_find(d, ev->bmap.fid, ev->bmap.bno);
	if ((ev->has & PS_HAS_BIORQ) && (bi = bmap_find_addr(d, ev->biorq.bmap_addr)) >= 0)
		return bi;
	if (ti < 0 || !d->th[ti].has_last_exam)
		return -1;
	if (ev->kind == PS_EV_RPC_SEND && ev->rpc_fid != 0 && ev->rpc_fid != d->th[ti].last_fid)
		return -1;	/* the RPC names another file */
	return bmap_find(d, d->th[ti].last_fid, d->th[ti].last_bno);
}

/* 1 if a SCHEDULE-kind line is not progress (looking at or giving up a biorq). */
static int
not_progress(const struct ps_event *ev)
{
	return ev->msg_id == PS_MSG_A_CONSIDER || ev->msg_id == PS_MSG_A_DESCHEDULING ||
	    ev->msg_id == PS_MSG_Z_RESCHED;
}

/* Feeds one event. */
void
sp_detector_feed(struct sp_detector *d, const struct ps_event *ev)
{
	int ti, how;
	int64_t bi;

	if (ev->outstanding >= 0)
		d->last_outst = ev->outstanding;
	if (ev->ts_us == INT64_MIN)
		return;
	switch (ev->kind) {
	case PS_EV_EXAMINE:
		if (ev->has & PS_HAS_BMAP)
			on_examine(d, ev);
		return;
	case PS_EV_SCHEDULE:
	case PS_EV_RPC_SEND:
		if (ev->kind == PS_EV_SCHEDULE && not_progress(ev))
			return;
		ti = thread_get(d, ev, 0);
		if (ti >= 0)
			thread_touch(&d->th[ti], ev->ts_us);
		if ((bi = progress_target(d, ev, ti)) < 0)
			return;
		d->pool[bi].last_ts = ev->ts_us;
		exam_close(d, (uint32_t)bi, CLOSE_USEFUL);
		return;
	case PS_EV_REQUEUE:
		ti = thread_get(d, ev, 0);
		if (ti >= 0) {
			thread_touch(&d->th[ti], ev->ts_us);
			d->th[ti].boundary = 1;
		}
		if (!(ev->has & PS_HAS_BMAP) || (bi = bmap_find(d, ev->bmap.fid, ev->bmap.bno)) < 0)
			return;
		d->pool[bi].last_ts = ev->ts_us;
		if (d->pool[bi].exam_open && d->pool[bi].exam_style == STYLE_A)
			exam_close(d, (uint32_t)bi, CLOSE_WASTED);
		return;
	case PS_EV_CLEAN:
		ti = thread_get(d, ev, 0);
		if (ti >= 0) {
			thread_touch(&d->th[ti], ev->ts_us);
			if (ev->msg_id == PS_MSG_A_IS_CLEAN)
				d->th[ti].boundary = 1;
		}
		if (!(ev->has & PS_HAS_BMAP) || (bi = bmap_find(d, ev->bmap.fid, ev->bmap.bno)) < 0)
			return;
		if (ti >= 0 && d->pool[bi].exam_thread == ti)
			how = CLOSE_USEFUL;	/* the examining thread retired it */
		else if (d->pool[bi].exam_style == STYLE_Z)
			how = CLOSE_WASTED;	/* left when its in-flight writes completed */
		else
			how = CLOSE_UNKNOWN;
		exam_close(d, (uint32_t)bi, how);
		bmap_retire(d, (uint32_t)bi);
		return;
	case PS_EV_PASS:
		if (ev->msg_id != PS_MSG_Z_WORK_TIME)
			return;
		if ((ti = thread_get(d, ev, 1)) < 0)
			return;
		thread_touch(&d->th[ti], ev->ts_us);
		d->th[ti].saw_work_time = 1;
		d->th[ti].boundary = 1;
		return;
	default:
		return;
	}
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
	if (tables_resize(d, 64) != 0) {
		fs_err_set(err, 12, "spin detector: out of memory");
		free(d);
		return NULL;
	}
	return d;
}

/* Ends every open run and pass (open examinations are not decided). */
void
sp_detector_finish(struct sp_detector *d)
{
	uint32_t i;
	int k;

	for (i = 0; i < d->npool; i++)
		if (d->pool[i].live)
			run_end(d, &d->pool[i]);
	for (k = 0; k < d->nth; k++)
		pass_end(d, &d->th[k]);
}

/* Number of flush threads seen. */
int
sp_detector_nthreads(const struct sp_detector *d)
{
	return d->nth;
}

/* Copies thread i's figures, with the pass-period percentiles. */
void
sp_detector_thread(const struct sp_detector *d, int i, struct sp_thread_stats *out)
{
	const struct sp_thread *t;
	uint32_t p[SP_PERIODS];
	size_t n;

	memset(out, 0, sizeof(*out));
	if (i < 0 || i >= d->nth)
		return;
	t = &d->th[i];
	*out = t->st;
	n = t->nperiods < SP_PERIODS ? (size_t)t->nperiods : SP_PERIODS;
	if (n == 0) {
		out->period_p50_us = out->period_p99_us = -1;
		return;
	}
	memcpy(p, t->periods, n * sizeof(p[0]));
	sort_u32(p, n);
	/* nearest rank: the smallest value with at least q of the sample at or below it */
	out->period_p50_us = p[(n * 50 + 99) / 100 - 1];
	out->period_p99_us = p[(n * 99 + 99) / 100 - 1];
}

/* Frees the detector. */
void
sp_detector_free(struct sp_detector *d)
{
	if (d == NULL)
		return;
	free(d->pool);
	free(d->freelist);
	free(d->byid);
	free(d->byaddr);
	free(d->th);
	free(d->thash);
	free(d);
}
