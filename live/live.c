/*
 * The live model behind `flushscope top` (see live/live.h).
 *
 * Records
 *   bmaps    a pool of struct lv_bmap addressed by index, found by (src,
 *            fid, bno) through a util/map index; freed records go on a
 *            free list.  Indices stay valid when the pool grows; pointers
 *            do not, so none is kept across a growth.
 *   threads  a small array (LV_MAX_THREADS) of per-thread rate buckets,
 *            keyed by (src, thread name); threads beyond that get no
 *            rate (their totals still come from the detector).
 *   buckets  per-second counters in rings indexed by (log second mod N),
 *            each slot tagged with its second; a slot whose tag is not in
 *            the window counts as zero.  Rates are window sums divided by
 *            the part of the window that has data.
 *
 * Callbacks of the detector arrive while it is fed, i.e. before lv_line
 * looks at the event itself; the per-bmap logic relies on that order (see
 * on_event).
 */
#include "live/live.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/source.h"
#include "util/clock.h"
#include "util/map.h"

#define LV_GAPS		8		/* recent gaps kept per bmap (median period) */
#define LV_GRING	64		/* global per-second ring (>= LV_SPARK, LV_WIN_MAX) */
#define LV_MAX_THREADS	256
#define LV_SWEEP_EVERY	4096		/* new records between expiry sweeps */
#define LV_IDLE_US	(5LL * 1000000)	/* quiet this long: IDLE */
#define LV_MIN_SPAN_US	250000		/* rate divisor floor */
#define LV_MIN_RATE_US	200000		/* shortest wall interval for lines/s */

struct lv_bmap {
	int used;
	int src;
	uint64_t fid;
	uint32_t bno;
	uint32_t next_free;		/* free list: index + 1, 0 = end */
	uint64_t addr;
	char thread[SP_NAME_MAX];
	int64_t first_ts, last_ts, state_since;
	enum lv_state state;
	uint64_t cycles, wasted_total, episodes;
	int64_t run_last;		/* the run's last wasted examination */
	int64_t outstanding;
	uint32_t gaps[LV_GAPS];
	uint32_t ngaps;
	int64_t first_wasted;
	int64_t bk_sec[LV_WIN_MAX];
	uint32_t bk_cnt[LV_WIN_MAX];
};

struct lv_thr {
	int src;
	char name[SP_NAME_MAX];
	int64_t first_ts;
	int64_t bk_sec[LV_WIN_MAX];
	uint32_t bk_pass[LV_WIN_MAX], bk_wasted[LV_WIN_MAX];
};

struct lv_source {
	struct lv_model *m;
	int idx;
	int eof_run;			/* the run being delivered was cut by the end of the input */
	struct ps_stream *stream;
	struct sp_detector *det;
	struct sp_callbacks also;	/* another consumer of the detector (top --db) */
	int last_thr;			/* cache for thread look-ups */
};

struct lv_model {
	struct lv_options opt;
	struct lv_source **src;
	int nsrc;

	struct lv_bmap *pool;
	uint32_t npool, cappool, freelist, nused;
	uint64_t created;		/* records created, for the expiry sweep */
	struct fs_map idx;		/* (fid, src << 32 | bno) -> pool index */

	struct lv_thr *thr;
	int nthr;

	/* totals (passes and wasted examinations: the detectors') */
	uint64_t lines, events, unparsed, episodes_done;
	int finished;			/* every input ended: log time stops at its last line */
	int64_t outstanding;
	int64_t max_ts, first_ts;

	/* global per-second ring */
	int64_t g_sec[LV_GRING];
	uint64_t g_wasted[LV_GRING], g_passes[LV_GRING];
	int64_t g_outst[LV_GRING];

	/* snapshot state */
	int64_t anchor_ts, anchor_wall, now;
	int64_t last_wall;
	uint64_t last_lines, last_events;
	double lines_rate, events_rate;
	struct lv_row *rows;
	size_t caprows;
	struct lv_thread_row *trows;
	size_t captrows;
};

/* Fills in the defaults. */
void
lv_options_default(struct lv_options *o)
{
	memset(o, 0, sizeof(*o));
	sp_options_default(&o->sp);
	o->window_s = 10;
	o->linger_s = 30;
	o->max_rows = 100000;
}

/* Names of the states. */
const char *
lv_state_name(enum lv_state s)
{
	static const char *const n[] = { "SPIN", "WASTE", "ACTIVE", "IDLE", "CLEAN" };

	return (unsigned)s < LV_NSTATES ? n[s] : "?";
}

/* Column headers, which are also the sort keys' names. */
const char *
lv_sort_name(enum lv_sort s)
{
	static const char *const n[] = { "FID:BNO", "ADDRESS", "THREAD", "WASTED/S",
	    "CYCLES", "PERIOD", "OUTST", "STATE", "AGE" };

	return (unsigned)s < LV_NSORT ? n[s] : "?";
}

/* Formats "fid:bno". */
char *
lv_row_id(const struct lv_row *r, char *buf, size_t n)
{
	snprintf(buf, n, "%" PRIx64 ":%" PRIu32, r->fid, r->bno);
	return buf;
}

/* Adds k to the ring slot of second sec. */
static void
bucket_add(int64_t *secs, uint32_t *cnt, int n, int64_t sec, uint32_t k)
{
	int i = (int)(((sec % n) + n) % n);

	if (secs[i] != sec) {
		secs[i] = sec;
		cnt[i] = 0;
	}
	cnt[i] += k;
}

/* Sum of the ring's slots within the window ending at second now_sec. */
static uint64_t
bucket_sum(const int64_t *secs, const uint32_t *cnt, int n, int64_t now_sec, int w)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < n; i++)
		if (secs[i] <= now_sec && secs[i] > now_sec - w)
			s += cnt[i];
	return s;
}

/* The part of the window (seconds) that has data, given the first time seen. */
static double
window_span(const struct lv_model *m, int64_t first_ts)
{
	int64_t ws = (fs_sec_of(m->now) - m->opt.window_s + 1) * 1000000;
	int64_t span;

	if (first_ts > ws)
		ws = first_ts;
	span = m->now - ws;
	if (span < LV_MIN_SPAN_US)
		span = LV_MIN_SPAN_US;
	return (double)span / 1e6;
}

/* The key of (src, fid, bno) in the index. */
#define LV_KEY_B(src, bno)	((uint64_t)(uint32_t)(src) << 32 | (bno))

/* Finds a bmap record; index or UINT32_MAX. */
static uint32_t
bmap_find(const struct lv_model *m, int src, uint64_t fid, uint32_t bno)
{
	uint32_t v;

	return fs_map_get(&m->idx, fid, LV_KEY_B(src, bno), &v) ? v : UINT32_MAX;
}

/* Unindexes and frees record i. */
static void
bmap_free(struct lv_model *m, uint32_t i)
{
	struct lv_bmap *b = &m->pool[i];

	fs_map_del(&m->idx, b->fid, LV_KEY_B(b->src, b->bno));
	b->used = 0;
	b->next_free = m->freelist;
	m->freelist = i + 1;
	m->nused--;
}

/* Orders int64 values (qsort). */
static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The cap was reached: drops the least recently active eighth of the
 * records at once (at least one), so that a stream of new bmaps costs
 * O(log n) amortised per record instead of a scan each.
 */
static void
evict_oldest(struct lv_model *m)
{
	int64_t *ts, cutoff;
	uint32_t i, n = 0, dropped = 0, want;

	if ((ts = malloc((size_t)m->nused * sizeof(*ts))) == NULL) {
		/* No memory for the sort: drop the single oldest. */
		uint32_t best = UINT32_MAX;

		for (i = 0; i < m->npool; i++)
			if (m->pool[i].used && (best == UINT32_MAX ||
			    m->pool[i].last_ts < m->pool[best].last_ts))
				best = i;
		if (best != UINT32_MAX)
			bmap_free(m, best);
		return;
	}
	for (i = 0; i < m->npool; i++)
		if (m->pool[i].used)
			ts[n++] = m->pool[i].last_ts;
	if (n == 0) {
		free(ts);
		return;
	}
	qsort(ts, n, sizeof(*ts), cmp_i64);
	want = n / 8 > 0 ? n / 8 : 1;
	cutoff = ts[want - 1];
	free(ts);
	for (i = 0; i < m->npool && dropped < want; i++)
		if (m->pool[i].used && m->pool[i].last_ts <= cutoff) {
			bmap_free(m, i);
			dropped++;
		}
}

/* 1 if record b has been quiet too long at log time now (clean: linger_s; else 4x). */
static int
row_expired(const struct lv_model *m, const struct lv_bmap *b, int64_t now)
{
	int64_t quiet = now - b->last_ts;

	return (b->state == LV_CLEAN && quiet > (int64_t)m->opt.linger_s * 1000000) ||
	    quiet > 4LL * m->opt.linger_s * 1000000;
}

/*
 * Frees the records expired at the newest log time.  Called every
 * LV_SWEEP_EVERY new records, so memory follows the bmaps of the recent
 * past even when no snapshot is taken (a log read to its end in batch
 * mode).
 */
static void
expire_rows(struct lv_model *m)
{
	uint32_t i;

	if (m->max_ts == INT64_MIN)
		return;
	for (i = 0; i < m->npool; i++)
		if (m->pool[i].used && row_expired(m, &m->pool[i], m->max_ts))
			bmap_free(m, i);
}

/* Finds or creates the record of (src, fid, bno); NULL when out of memory. */
static struct lv_bmap *
bmap_get(struct lv_model *m, int src, uint64_t fid, uint32_t bno, int64_t ts)
{
	uint32_t i = bmap_find(m, src, fid, bno);
	struct lv_bmap *b;

	if (i != UINT32_MAX)
		return &m->pool[i];
	if (++m->created % LV_SWEEP_EVERY == 0)
		expire_rows(m);
	if (m->nused >= m->opt.max_rows)
		evict_oldest(m);
	if (m->freelist != 0) {
		i = m->freelist - 1;
		m->freelist = m->pool[i].next_free;
	} else {
		if (m->npool == m->cappool) {
			uint32_t nc = m->cappool ? m->cappool * 2 : 256;
			struct lv_bmap *np = realloc(m->pool, (size_t)nc * sizeof(*np));

			if (np == NULL)
				return NULL;
			m->pool = np;
			m->cappool = nc;
		}
		i = m->npool++;
	}
	if (fs_map_put(&m->idx, fid, LV_KEY_B(src, bno), i) != 0) {
		m->pool[i].used = 0;
		m->pool[i].next_free = m->freelist;
		m->freelist = i + 1;
		return NULL;
	}
	b = &m->pool[i];
	memset(b, 0, sizeof(*b));
	b->used = 1;
	b->src = src;
	b->fid = fid;
	b->bno = bno;
	b->first_ts = b->last_ts = b->state_since = ts;
	b->state = LV_ACTIVE;
	b->outstanding = -1;
	b->first_wasted = INT64_MIN;
	memset(b->bk_sec, 0x80, sizeof(b->bk_sec));	/* very negative tags: empty */
	m->nused++;
	return b;
}

/* Moves a record to a new state (state_since = ts unless the state stays). */
static void
set_state(struct lv_bmap *b, enum lv_state s, int64_t ts)
{
	if (b->state != s) {
		b->state = s;
		b->state_since = ts;
	}
}

/* Ends a record's run of wasted examinations. */
static void
run_reset(struct lv_bmap *b, int64_t ts)
{
	b->cycles = 0;
	b->ngaps = 0;
	if (b->state == LV_SPIN || b->state == LV_WASTE)
		set_state(b, LV_ACTIVE, ts);
}

/* Per-thread rate record of (src, name); NULL past LV_MAX_THREADS. */
static struct lv_thr *
thr_get(struct lv_model *m, struct lv_source *s, const char *name, size_t n, int64_t ts)
{
	struct lv_thr *t;
	int i;

	if (n >= SP_NAME_MAX)
		n = SP_NAME_MAX - 1;
	if (s->last_thr >= 0) {
		t = &m->thr[s->last_thr];
		if (t->src == s->idx && strncmp(t->name, name, n) == 0 && t->name[n] == '\0')
			return t;
	}
	for (i = 0; i < m->nthr; i++) {
		t = &m->thr[i];
		if (t->src == s->idx && strncmp(t->name, name, n) == 0 && t->name[n] == '\0') {
			s->last_thr = i;
			return t;
		}
	}
	if (m->nthr == LV_MAX_THREADS)
		return NULL;
	t = &m->thr[m->nthr];
	memset(t, 0, sizeof(*t));
	t->src = s->idx;
	memcpy(t->name, name, n);
	t->name[n] = '\0';
	t->first_ts = ts;
	memset(t->bk_sec, 0x80, sizeof(t->bk_sec));
	s->last_thr = m->nthr++;
	return t;
}

/* Global ring slot of second sec (reset when it was another second). */
static int
gslot(struct lv_model *m, int64_t sec)
{
	int i = (int)(((sec % LV_GRING) + LV_GRING) % LV_GRING);

	if (m->g_sec[i] != sec) {
		m->g_sec[i] = sec;
		m->g_wasted[i] = m->g_passes[i] = 0;
		m->g_outst[i] = -1;
	}
	return i;
}

/* Records one wasted examination of bmap b (the detector's verdict x). */
static void
bmap_wasted(struct lv_model *m, struct lv_bmap *b, const struct sp_exam *x)
{
	int64_t ts = x->ts_us;
	int64_t since;

	if (x->run_cycles > 1 && b->cycles > 0) {
		int64_t gap = ts - b->run_last;

		if (gap < 0)
			gap = 0;
		b->gaps[b->ngaps % LV_GAPS] = gap > UINT32_MAX ? UINT32_MAX : (uint32_t)gap;
		b->ngaps++;
	} else {
		b->ngaps = 0;
		b->state_since = ts;	/* a run's age starts at its first cycle */
	}
	b->cycles = x->run_cycles;
	b->run_last = ts;
	b->wasted_total++;
	if (b->first_wasted == INT64_MIN)
		b->first_wasted = ts;
	if (x->outstanding >= 0)
		b->outstanding = x->outstanding;
	if (x->addr != 0)
		b->addr = x->addr;
	if (ts > b->last_ts)
		b->last_ts = ts;
	bucket_add(b->bk_sec, b->bk_cnt, LV_WIN_MAX, fs_sec_of(ts), 1);
	since = b->state_since;
	set_state(b, b->cycles >= (uint64_t)m->opt.sp.min_cycles ? LV_SPIN : LV_WASTE, ts);
	b->state_since = since;
}

/* Detector callback: an examination was decided. */
static void
cb_exam(void *arg, const struct sp_exam *x)
{
	struct lv_source *s = arg;
	struct lv_model *m = s->m;
	int64_t ts = x->ts_us;
	struct lv_bmap *b;
	struct lv_thr *t;

	if (x->verdict == SP_WASTED) {
		m->g_wasted[gslot(m, fs_sec_of(ts))]++;
		if ((t = thr_get(m, s, x->thread_name, strlen(x->thread_name), ts)) != NULL)
			bucket_add(t->bk_sec, t->bk_wasted, LV_WIN_MAX, fs_sec_of(ts), 1);
		if ((b = bmap_get(m, s->idx, x->fid, x->bno, ts)) != NULL)
			bmap_wasted(m, b, x);
	} else if (x->verdict == SP_USEFUL &&
	    (b = bmap_get(m, s->idx, x->fid, x->bno, ts)) != NULL && b->state != LV_CLEAN) {
		run_reset(b, ts);
		set_state(b, LV_ACTIVE, ts);
	}
	if (s->also.exam != NULL)
		s->also.exam(s->also.arg, x);
}

/* Detector callback: a run ended (the bmap's cycles go back to zero). */
static void
cb_run_end(void *arg, const struct sp_run *r)
{
	struct lv_source *s = arg;
	struct lv_model *m = s->m;
	uint32_t i;

	/* a run the end of the input cut stays on screen as it was (still open) */
	s->eof_run = r->why == SP_RUN_EOF;
	if (!s->eof_run && (i = bmap_find(m, s->idx, r->fid, r->bno)) != UINT32_MAX)
		run_reset(&m->pool[i], r->ended_us != INT64_MIN ? r->ended_us : r->end_us);
	if (s->also.run_end != NULL)
		s->also.run_end(s->also.arg, r);
}

/* Detector callback: an episode ended. */
static void
cb_episode(void *arg, const struct sp_episode *ep)
{
	struct lv_source *s = arg;
	struct lv_model *m = s->m;
	uint32_t i;

	if (!s->eof_run) {
		m->episodes_done++;
		if ((i = bmap_find(m, s->idx, ep->f.fid, ep->f.bno)) != UINT32_MAX)
			m->pool[i].episodes++;
	}
	if (s->also.episode != NULL)
		s->also.episode(s->also.arg, ep);
}

/* Detector callback: a pass started (counted in the second it started). */
static void
cb_pass_start(void *arg, const struct sp_pass *p)
{
	struct lv_source *s = arg;
	struct lv_model *m = s->m;
	struct lv_thr *t;

	m->g_passes[gslot(m, fs_sec_of(p->start_us))]++;
	if ((t = thr_get(m, s, p->thread_name, strlen(p->thread_name), p->start_us)) != NULL)
		bucket_add(t->bk_sec, t->bk_pass, LV_WIN_MAX, fs_sec_of(p->start_us), 1);
	if (s->also.pass_start != NULL)
		s->also.pass_start(s->also.arg, p);
}

/* Detector callback: a pass ended (for the other consumer only). */
static void
cb_pass(void *arg, const struct sp_pass *p)
{
	struct lv_source *s = arg;

	if (s->also.pass != NULL)
		s->also.pass(s->also.arg, p);
}

/* Creates a model. */
struct lv_model *
lv_new(const struct lv_options *o, struct fs_err *err)
{
	struct lv_model *m;
	int i;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		fs_err_set(err, ENOMEM, "top: out of memory");
		return NULL;
	}
	if (o != NULL)
		m->opt = *o;
	else
		lv_options_default(&m->opt);
	if (m->opt.window_s < 1)
		m->opt.window_s = 1;
	if (m->opt.window_s > LV_WIN_MAX)
		m->opt.window_s = LV_WIN_MAX;
	if (m->opt.linger_s < 1)
		m->opt.linger_s = 1;
	if (m->opt.max_rows < 16)
		m->opt.max_rows = 16;
	fs_map_init(&m->idx);
	m->thr = calloc(LV_MAX_THREADS, sizeof(*m->thr));
	if (m->thr == NULL) {
		lv_free(m);
		fs_err_set(err, ENOMEM, "top: out of memory");
		return NULL;
	}
	for (i = 0; i < LV_GRING; i++) {
		m->g_sec[i] = INT64_MIN;
		m->g_outst[i] = -1;
	}
	m->outstanding = -1;
	m->max_ts = m->first_ts = m->anchor_ts = m->now = INT64_MIN;
	return m;
}

/* Adds a source with its own stream and detector. */
int
lv_add_source(struct lv_model *m, const struct sp_callbacks *also, struct fs_err *err)
{
	struct lv_source *s, **ns;
	struct sp_callbacks cb;

	if ((ns = realloc(m->src, (size_t)(m->nsrc + 1) * sizeof(*ns))) == NULL)
		return fs_err_set(err, ENOMEM, "top: out of memory");
	m->src = ns;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return fs_err_set(err, ENOMEM, "top: out of memory");
	s->m = m;
	s->idx = m->nsrc;
	s->last_thr = -1;
	if (also != NULL)
		s->also = *also;
	memset(&cb, 0, sizeof(cb));
	cb.arg = s;
	cb.exam = cb_exam;
	cb.episode = cb_episode;
	cb.run_end = cb_run_end;
	cb.pass_start = cb_pass_start;
	cb.pass = cb_pass;
	if ((s->stream = ps_stream_new(m->opt.log_format, err)) == NULL ||
	    (s->det = sp_detector_new(&m->opt.sp, &cb, err)) == NULL) {
		ps_stream_free(s->stream);
		free(s);
		return -1;
	}
	m->src[m->nsrc] = s;
	return m->nsrc++;
}

/* Re-detects the header format of a source after rotation or truncation. */
void
lv_source_reset(struct lv_model *m, int src)
{
	struct fs_err err;

	if (src < 0 || src >= m->nsrc)
		return;
	fs_err_clear(&err);
	(void)ps_stream_reset(m->src[src]->stream, &err);	/* on failure the old parser works */
}

/* A source's parser and detector (for a recording sink's commits). */
const struct ps_parser *
lv_source_parser(const struct lv_model *m, int src)
{
	return src >= 0 && src < m->nsrc ? ps_stream_parser(m->src[src]->stream) : NULL;
}

const struct sp_detector *
lv_source_detector(const struct lv_model *m, int src)
{
	return src >= 0 && src < m->nsrc ? m->src[src]->det : NULL;
}

/*
 * Per-bmap bookkeeping of one line's facts (after the detector saw it, so
 * its verdicts for this line are in): where the bmap is, who examined it
 * last, the outstanding count, and whether it is queued or left.
 */
static void
on_event(struct lv_model *m, struct lv_source *s, const struct ps_event *ev, int64_t ts)
{
	struct lv_bmap *b;

	if (ev->outstanding >= 0 && (ev->kind == PS_EV_EXAMINE || ev->kind == PS_EV_RPC_SEND ||
	    ev->kind == PS_EV_RPC_DONE || ev->msg_id == PS_MSG_M_STALL)) {
		m->outstanding = ev->outstanding;
		if (ts != INT64_MIN)
			m->g_outst[gslot(m, fs_sec_of(ts))] = ev->outstanding;
	}
	if (!(ev->has & PS_HAS_BMAP) || ts == INT64_MIN)
		return;
	switch (ev->kind) {
	case PS_EV_EXAMINE:
	case PS_EV_WRITE_READY:
	case PS_EV_REQUEUE:
	case PS_EV_SCHEDULE:
		if ((b = bmap_get(m, s->idx, ev->bmap.fid, ev->bmap.bno, ts)) == NULL)
			return;
		if (ev->kind == PS_EV_EXAMINE && ev->thread.n > 0) {
			size_t n = ev->thread.n < SP_NAME_MAX - 1 ? ev->thread.n : SP_NAME_MAX - 1;

			memcpy(b->thread, ev->thread.p, n);
			b->thread[n] = '\0';
			if (ev->outstanding >= 0)
				b->outstanding = ev->outstanding;
		}
		if (b->state == LV_CLEAN || b->state == LV_IDLE)
			set_state(b, LV_ACTIVE, ts);	/* queued again */
		break;
	case PS_EV_CLEAN:
		if ((b = bmap_get(m, s->idx, ev->bmap.fid, ev->bmap.bno, ts)) == NULL)
			return;
		b->cycles = 0;
		b->ngaps = 0;
		set_state(b, LV_CLEAN, ts);
		break;
	default:
		return;
	}
	b->addr = ev->bmap.addr;
	if (ts > b->last_ts)
		b->last_ts = ts;
}

/* Parses one line of source src into *it (counted). */
int
lv_parse(struct lv_model *m, int src, const char *line, size_t len, uint64_t off,
    uint64_t lineno, struct ps_item *it)
{
	if (src < 0 || src >= m->nsrc)
		return -1;
	it->line = line;
	it->len = len;
	it->off = off;
	it->end = off + len + 1;
	it->lineno = lineno;
	it->unterminated = 0;
	it->parsed = ps_stream_line(m->src[src]->stream, line, len, off, lineno, &it->ev);
	m->lines++;
	if (!it->parsed)
		m->unparsed++;
	if (it->ev.kind != PS_EV_OTHER)
		m->events++;
	return 0;
}

/* Feeds a parsed line of source src to its detector and the model. */
void
lv_feed(struct lv_model *m, int src, const struct ps_item *it)
{
	const struct ps_event *ev = &it->ev;
	struct lv_source *s;
	int64_t ts;

	if (src < 0 || src >= m->nsrc || !it->parsed)
		return;
	s = m->src[src];
	if (ev->ts_us != INT64_MIN && ev->ts_us > m->max_ts) {
		m->max_ts = ev->ts_us;
		if (m->first_ts == INT64_MIN)
			m->first_ts = ev->ts_us;
	}
	sp_detector_feed(s->det, ev);
	if (ev->kind == PS_EV_OTHER)
		return;
	ts = ev->ts_us != INT64_MIN ? ev->ts_us : m->max_ts;
	on_event(m, s, ev, ts);
}

/* Feeds one line. */
void
lv_line(struct lv_model *m, int src, const char *line, size_t len, uint64_t off, uint64_t lineno)
{
	struct ps_item it;

	if (lv_parse(m, src, line, len, off, lineno, &it) == 0)
		lv_feed(m, src, &it);
}

/* Every input ended: the detectors decide what they can and log time stops. */
void
lv_finish(struct lv_model *m)
{
	int i;

	if (m->finished)
		return;
	for (i = 0; i < m->nsrc; i++)
		sp_detector_finish(m->src[i]->det);
	m->finished = 1;
}

/* Median of a record's recent gaps; -1 without any. */
static int64_t
median_gap(const struct lv_bmap *b)
{
	uint32_t g[LV_GAPS], n = b->ngaps < LV_GAPS ? b->ngaps : LV_GAPS, i, j;

	if (n == 0)
		return -1;
	memcpy(g, b->gaps, n * sizeof(g[0]));
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && g[j - 1] > g[j]; j--) {
			uint32_t t = g[j];

			g[j] = g[j - 1];
			g[j - 1] = t;
		}
	return n % 2 ? g[n / 2] : ((int64_t)g[n / 2 - 1] + g[n / 2]) / 2;
}

/* Numeric comparison helper. */
static int
cmp_num(double a, double b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

/* Compares rows for sorting by the view's column (qsort_r). */
static int
row_cmp(const void *pa, const void *pb, void *arg)
{
	const struct lv_row *a = pa, *b = pb;
	const struct lv_view *v = arg;
	int c = 0, desc = 1;

	switch (v->sort) {
	case LV_SORT_ID:
		desc = 0;
		c = a->fid != b->fid ? cmp_num((double)a->fid, (double)b->fid) :
		    cmp_num(a->bno, b->bno);
		if (c == 0)
			c = cmp_num(a->src, b->src);
		break;
	case LV_SORT_ADDR:
		desc = 0;
		c = a->addr < b->addr ? -1 : a->addr > b->addr;
		break;
	case LV_SORT_THREAD:
		desc = 0;
		c = strcmp(a->thread, b->thread);
		break;
	case LV_SORT_WASTED:
		c = cmp_num(a->wasted_rate, b->wasted_rate);
		break;
	case LV_SORT_CYCLES:
		c = cmp_num((double)a->cycles, (double)b->cycles);
		break;
	case LV_SORT_PERIOD:
		c = cmp_num((double)a->period_us, (double)b->period_us);
		break;
	case LV_SORT_OUTST:
		c = cmp_num((double)a->outstanding, (double)b->outstanding);
		break;
	case LV_SORT_STATE:
		desc = 0;
		c = cmp_num(a->state, b->state);
		break;
	case LV_SORT_AGE:
		c = cmp_num((double)a->age_us, (double)b->age_us);
		break;
	default:
		break;
	}
	if (desc)
		c = -c;
	if (v->reverse)
		c = -c;
	if (c != 0)
		return c;
	/* Ties: most wasteful first, then by id, so the order is stable. */
	if ((c = -cmp_num(a->wasted_rate, b->wasted_rate)) != 0)
		return c;
	if ((c = -cmp_num((double)a->cycles, (double)b->cycles)) != 0)
		return c;
	if (a->fid != b->fid)
		return a->fid < b->fid ? -1 : 1;
	if (a->bno != b->bno)
		return a->bno < b->bno ? -1 : 1;
	return cmp_num(a->src, b->src);
}

/* 1 if the row matches the filter (substring of its id or thread). */
static int
row_match(const struct lv_row *r, const char *filter)
{
	char id[64];

	if (filter == NULL || filter[0] == '\0')
		return 1;
	lv_row_id(r, id, sizeof(id));
	return strstr(id, filter) != NULL || strstr(r->thread, filter) != NULL;
}

/* Takes a snapshot (see live.h). */
int
lv_snapshot(struct lv_model *m, int64_t wall_us, const struct lv_view *v,
    struct lv_summary *sum, const struct lv_row **rows, size_t *nrows, struct fs_err *err)
{
	struct lv_view dv = { LV_SORT_WASTED, 0, NULL };
	int64_t now_sec, carry;
	uint32_t i;
	size_t n = 0;
	int k;

	if (v == NULL)
		v = &dv;
	/* "now" in log time, advancing with the wall clock while quiet. */
	if (m->max_ts != INT64_MIN && (m->anchor_ts == INT64_MIN || m->max_ts > m->anchor_ts)) {
		m->anchor_ts = m->max_ts;
		m->anchor_wall = wall_us;
	}
	m->now = m->anchor_ts;
	if (!m->finished && m->anchor_ts != INT64_MIN && wall_us > 0 && m->anchor_wall > 0 &&
	    wall_us > m->anchor_wall)
		m->now = m->anchor_ts + (wall_us - m->anchor_wall);

	memset(sum, 0, sizeof(*sum));
	sum->lines = m->lines;
	sum->events = m->events;
	sum->unparsed = m->unparsed;
	for (k = 0; k < m->nsrc; k++) {
		int i2, nt = sp_detector_nthreads(m->src[k]->det);

		for (i2 = 0; i2 < nt; i2++) {
			struct sp_thread_stats st;

			sp_detector_thread(m->src[k]->det, i2, &st);
			sum->passes += st.passes;
			sum->wasted += st.wasted_examinations;
		}
	}
	sum->episodes_done = m->episodes_done;
	sum->outstanding = m->outstanding;
	sum->log_now_us = m->now;
	/*
	 * Wall-clock rates over the time since the previous rate base; a
	 * snapshot taken sooner than LV_MIN_RATE_US after it (a key press
	 * redrawing the screen) reuses the last rates and keeps the base.
	 */
	if (wall_us > 0 && (m->last_wall <= 0 || wall_us - m->last_wall >= LV_MIN_RATE_US)) {
		if (m->last_wall > 0) {
			double dt = (double)(wall_us - m->last_wall) / 1e6;

			m->lines_rate = (double)(m->lines - m->last_lines) / dt;
			m->events_rate = (double)(m->events - m->last_events) / dt;
		}
		m->last_wall = wall_us;
		m->last_lines = m->lines;
		m->last_events = m->events;
	}
	sum->lines_rate = m->lines_rate;
	sum->events_rate = m->events_rate;
	for (k = 0; k < LV_SPARK; k++)
		sum->spark[k] = -1;
	if (m->now == INT64_MIN) {
		*rows = NULL;
		*nrows = 0;
		return 0;
	}
	now_sec = fs_sec_of(m->now);

	/* Global window rates and the sparkline. */
	{
		uint64_t w = 0, p = 0;
		double span = window_span(m, m->first_ts);

		for (k = 0; k < LV_GRING; k++)
			if (m->g_sec[k] <= now_sec && m->g_sec[k] > now_sec - m->opt.window_s) {
				w += m->g_wasted[k];
				p += m->g_passes[k];
			}
		sum->wasted_rate = (double)w / span;
		sum->passes_rate = (double)p / span;
		carry = -1;
		for (k = 0; k < LV_SPARK; k++) {
			int64_t sec = now_sec - LV_SPARK + 1 + k;
			int j = (int)(((sec % LV_GRING) + LV_GRING) % LV_GRING);

			if (m->g_sec[j] == sec && m->g_outst[j] >= 0)
				carry = m->g_outst[j];
			sum->spark[k] = carry;
		}
	}

	/* Rows: expire, settle states, filter. */
	if (m->caprows < m->nused) {
		size_t nc = m->nused + 64;
		struct lv_row *nr = realloc(m->rows, nc * sizeof(*nr));

		if (nr == NULL)
			return fs_err_set(err, ENOMEM, "top: out of memory");
		m->rows = nr;
		m->caprows = nc;
	}
	for (i = 0; i < m->npool; i++) {
		struct lv_bmap *b = &m->pool[i];
		struct lv_row *r;
		int64_t quiet;

		if (!b->used)
			continue;
		if (row_expired(m, b, m->now)) {
			bmap_free(m, i);
			continue;
		}
		quiet = m->now - b->last_ts;
		if ((b->state == LV_SPIN || b->state == LV_WASTE) &&
		    m->now - b->run_last > m->opt.sp.max_gap_us) {
			b->cycles = 0;
			b->ngaps = 0;
			set_state(b, LV_IDLE, b->run_last);
		} else if (b->state == LV_ACTIVE && quiet > LV_IDLE_US) {
			set_state(b, LV_IDLE, b->last_ts);
		}
		if (b->state != LV_CLEAN)
			sum->dirty++;
		if (b->state == LV_SPIN)
			sum->episodes_open++;
		r = &m->rows[n];
		r->src = b->src;
		r->fid = b->fid;
		r->bno = b->bno;
		r->addr = b->addr;
		memcpy(r->thread, b->thread, sizeof(r->thread));
		r->wasted_rate = (double)bucket_sum(b->bk_sec, b->bk_cnt, LV_WIN_MAX, now_sec,
		    m->opt.window_s) / window_span(m, b->first_wasted != INT64_MIN ?
		    b->first_wasted : b->first_ts);
		r->cycles = b->cycles;
		r->wasted_total = b->wasted_total;
		r->episodes = b->episodes;
		r->period_us = median_gap(b);
		r->outstanding = b->outstanding;
		r->state = b->state;
		r->age_us = m->now - b->state_since;
		if (r->age_us < 0)
			r->age_us = 0;
		if (row_match(r, v->filter))
			n++;
	}
	sum->tracked = m->nused;
	if (n > 1)	/* rows is NULL while nothing was tracked */
		qsort_r(m->rows, n, sizeof(m->rows[0]), row_cmp, (void *)v);
	*rows = m->rows;
	*nrows = n;
	return 0;
}

/* Compares thread rows: most wasted/s, then most passes/s, then name. */
static int
thr_cmp(const void *pa, const void *pb)
{
	const struct lv_thread_row *a = pa, *b = pb;
	int c;

	if ((c = -cmp_num(a->wasted_rate, b->wasted_rate)) != 0)
		return c;
	if ((c = -cmp_num(a->passes_rate, b->passes_rate)) != 0)
		return c;
	if ((c = strcmp(a->thread, b->thread)) != 0)
		return c;
	return strcmp(a->tid, b->tid);
}

/* The per-thread view. */
int
lv_threads(struct lv_model *m, const char *filter, const struct lv_thread_row **rows,
    size_t *nrows, struct fs_err *err)
{
	size_t n = 0, total = 0;
	int s, i, j;
	int64_t now_sec = m->now != INT64_MIN ? fs_sec_of(m->now) : 0;

	for (s = 0; s < m->nsrc; s++)
		total += (size_t)sp_detector_nthreads(m->src[s]->det);
	if (m->captrows < total) {
		struct lv_thread_row *nr = realloc(m->trows, (total + 16) * sizeof(*nr));

		if (nr == NULL)
			return fs_err_set(err, ENOMEM, "top: out of memory");
		m->trows = nr;
		m->captrows = total + 16;
	}
	for (s = 0; s < m->nsrc; s++) {
		int nt = sp_detector_nthreads(m->src[s]->det);

		for (i = 0; i < nt; i++) {
			struct sp_thread_stats st;
			struct lv_thread_row *r = &m->trows[n];

			sp_detector_thread(m->src[s]->det, i, &st);
			if (filter != NULL && filter[0] != '\0' && strstr(st.thread, filter) == NULL)
				continue;
			memset(r, 0, sizeof(*r));
			r->src = s;
			memcpy(r->thread, st.thread, sizeof(r->thread));
			memcpy(r->tid, st.tid, sizeof(r->tid));
			r->passes = st.passes;
			r->useless_passes = st.useless_passes;
			r->examinations = st.examinations;
			r->wasted = st.wasted_examinations;
			r->period_p50_us = st.period_p50_us;
			for (j = 0; j < m->nthr && m->now != INT64_MIN; j++) {
				struct lv_thr *t = &m->thr[j];

				if (t->src != s || strcmp(t->name, st.thread) != 0)
					continue;
				r->passes_rate = (double)bucket_sum(t->bk_sec, t->bk_pass, LV_WIN_MAX,
				    now_sec, m->opt.window_s) / window_span(m, t->first_ts);
				r->wasted_rate = (double)bucket_sum(t->bk_sec, t->bk_wasted, LV_WIN_MAX,
				    now_sec, m->opt.window_s) / window_span(m, t->first_ts);
				break;
			}
			n++;
		}
	}
	if (n > 1)	/* trows is NULL while no thread was seen */
		qsort(m->trows, n, sizeof(m->trows[0]), thr_cmp);
	*rows = m->trows;
	*nrows = n;
	return 0;
}

/* Frees the model and its sources. */
void
lv_free(struct lv_model *m)
{
	int i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nsrc; i++) {
		sp_detector_free(m->src[i]->det);
		ps_stream_free(m->src[i]->stream);
		free(m->src[i]);
	}
	free(m->src);
	free(m->pool);
	fs_map_free(&m->idx);
	free(m->thr);
	free(m->rows);
	free(m->trows);
	free(m);
}
