/*
 * Replay of a workload through libflush, the fidelity check, the verify
 * comparison and the report writers.  See replay/replay.h.
 */
#include "replay/replay.h"

#include "util/plot.h"
#include "util/json.h"

#include <errno.h>
#include <stdio.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FL_MAX_THREADS_RP	64	/* flush threads at most (libflush's limit) */

/* Fills the replay defaults. */
void
rp_options_default(struct rp_options *o)
{
	memset(o, 0, sizeof(*o));
	o->clock = FL_CLOCK_VIRTUAL;
	o->speed = 1.0;
	o->repeat = 0;
	o->calibrate = 1;
	o->wake_latency_ns = RP_ENGINE_DEFAULT;
	o->batch_ns = RP_ENGINE_DEFAULT;
	o->cost.wake_ns = RP_COST_WAKE_NS;
	o->cost.exam_ns = RP_COST_EXAM_NS;
	o->cost.rpc_ns = RP_COST_RPC_NS;
	o->cost.rearm_ns = RP_COST_REARM_NS;
}

/* Parses "WAKE,EXAM,RPC[,REARM]" in microseconds. */
int
rp_cost_parse(const char *s, struct rp_cost *c, struct fs_err *err)
{
	double v[4];
	const char *p = s;
	char *end;
	int n = 0;

	for (;;) {
		v[n] = strtod(p, &end);
		if (end == p || !(v[n] >= 0) || v[n] > 1e6) {
			n = 0;		/* not a cost */
			break;
		}
		n++;
		if (*end != ',' || n == 4)
			break;
		p = end + 1;
	}
	if (n < 3 || *end != '\0')
		return fs_err_set(err, EINVAL, "bad CPU cost '%s': want WAKE,EXAM,RPC[,REARM] in "
		    "microseconds, e.g. 12,0.1,1.2", s);
	c->wake_ns = v[0] * 1e3;
	c->exam_ns = v[1] * 1e3;
	c->rpc_ns = v[2] * 1e3;
	if (n == 4)
		c->rearm_ns = v[3] * 1e3;
	return 0;
}

/* The flush-thread part of the model (what rp_fit_cost fits). */
static double
flush_model_ns(const struct rp_cost *c, const struct fl_stats *st)
{
	return c->wake_ns * (double)st->wakeups + c->exam_ns * (double)st->exams +
	    c->rpc_ns * (double)st->rpcs;
}

/* Modelled CPU of a run's counters: the flush thread's and the re-arms'. */
double
rp_model_cpu_ns(const struct rp_cost *c, const struct fl_stats *st)
{
	return flush_model_ns(c, st) + c->rearm_ns * (double)st->rearms;
}

/*
 * Solves the k x k system m x = v in place (Gaussian elimination with
 * partial pivoting); -1 if it is singular.
 */
static int
solve(double m[3][3], double v[3], int k, double x[3])
{
	int i, j, r;

	for (i = 0; i < k; i++) {
		int p = i;

		for (r = i + 1; r < k; r++)
			if (fabs(m[r][i]) > fabs(m[p][i]))
				p = r;
		if (fabs(m[p][i]) < 1e-12)
			return -1;
		if (p != i) {
			double t;

			for (j = 0; j < k; j++) {
				t = m[i][j];
				m[i][j] = m[p][j];
				m[p][j] = t;
			}
			t = v[i];
			v[i] = v[p];
			v[p] = t;
		}
		for (r = i + 1; r < k; r++) {
			double f = m[r][i] / m[i][i];

			for (j = i; j < k; j++)
				m[r][j] -= f * m[i][j];
			v[r] -= f * v[i];
		}
	}
	for (i = k - 1; i >= 0; i--) {
		double t = v[i];

		for (j = i + 1; j < k; j++)
			t -= m[i][j] * x[j];
		x[i] = t / m[i][i];
	}
	return 0;
}

/* The three counters the model charges, for result r. */
static void
cost_row(const struct rp_result *r, double a[3])
{
	a[0] = (double)r->st.wakeups;
	a[1] = (double)r->st.exams;
	a[2] = (double)r->st.rpcs;
}

/* Fits the CPU model to measured flush CPU. */
int
rp_fit_cost(const struct rp_result *r, int n, struct rp_cost *out, double *max_rel,
    struct fs_err *err)
{
	double best_x[3] = { 0, 0, 0 }, best_res = -1;
	int mask, i;

	for (i = 0; i < n; i++)
		if (r[i].clock != FL_CLOCK_REAL || r[i].flush_cpu_ns == 0)
			return fs_err_set(err, EINVAL, "cost fit: needs real-clock results with "
			    "measured CPU");
	if (n < 4)
		return fs_err_set(err, EINVAL, "cost fit: %d runs cannot both fit three costs "
		    "and check them; replay all four policies", n);
	/*
	 * Non-negative least squares by enumeration: every subset of the three
	 * costs is fitted unconstrained; the best fit with no negative cost wins.
	 * Rows are divided by the measured CPU (relative error).
	 */
	for (mask = 1; mask < 8; mask++) {
		double m[3][3] = { { 0 } }, v[3] = { 0 }, x[3] = { 0 }, full[3] = { 0, 0, 0 };
		double res = 0;
		int idx[3], k = 0, a, b, neg = 0;

		for (a = 0; a < 3; a++)
			if (mask & (1 << a))
				idx[k++] = a;
		if (k > n)
			continue;
		for (i = 0; i < n; i++) {
			double row[3], y = 1.0, w = (double)r[i].flush_cpu_ns;

			cost_row(&r[i], row);
			for (a = 0; a < k; a++) {
				for (b = 0; b < k; b++)
					m[a][b] += row[idx[a]] / w * row[idx[b]] / w;
				v[a] += row[idx[a]] / w * y;
			}
		}
		if (solve(m, v, k, x) < 0)
			continue;
		for (a = 0; a < k; a++) {
			neg |= x[a] < 0;
			full[idx[a]] = x[a];
		}
		if (neg)
			continue;
		for (i = 0; i < n; i++) {
			double row[3], d;

			cost_row(&r[i], row);
			d = (row[0] * full[0] + row[1] * full[1] + row[2] * full[2]) /
			    (double)r[i].flush_cpu_ns - 1.0;
			res += d * d;
		}
		if (best_res < 0 || res < best_res - 1e-15) {
			best_res = res;
			memcpy(best_x, full, sizeof(best_x));
		}
	}
	if (best_res < 0)
		return fs_err_set(err, EINVAL, "cost fit: the counters of the %d runs do not "
		    "determine the costs (replay more policies)", n);
	out->rearm_ns = RP_COST_REARM_NS;	/* a writer's cost: not in flush-thread CPU */
	out->wake_ns = best_x[0];
	out->exam_ns = best_x[1];
	out->rpc_ns = best_x[2];
	if (max_rel != NULL) {
		*max_rel = 0;
		for (i = 0; i < n; i++) {
			double d = fabs(flush_model_ns(out, &r[i].st) /
			    (double)r[i].flush_cpu_ns - 1.0);

			if (d > *max_rel)
				*max_rel = d;
		}
	}
	return 0;
}

/* Frees a result's arrays. */
void
rp_result_free(struct rp_result *r)
{
	free(r->lat_ns);
	free(r->cpu_runs);
	r->lat_ns = NULL;
	r->cpu_runs = NULL;
	r->nlat = 0;
}

/*
 * Microseconds of the trace to engine nanoseconds at speed x, saturated at
 * FL_TIME_MAX (the engine refuses inputs there, with the line): a guarded
 * float-to-integer conversion, as every one in this file.
 */
static uint64_t
us_to_ns(int64_t us, double speed)
{
	double v;

	if (us <= 0)
		return 0;
	v = (double)us * 1000.0 / speed;
	return v < (double)FL_TIME_MAX ? (uint64_t)v : FL_TIME_MAX;
}

/*
 * The service model handed to the engine's transport callback.  Recorded
 * RPCs are grouped by bmap (sorted by fid, bno, then time); each group keeps
 * a cursor past its used prefix so a lookup scans a bounded window.
 */
struct svc {
	const struct wl_workload *w;
	double speed;
	const struct wl_event **rpc;	/* recorded RPCs sorted by (fid, bno, t) */
	size_t nrpc;
	char *used;
	size_t *cursor;			/* per rpc index of a group's first entry */
	const int64_t *samples;
	size_t nsamples;
	int64_t *own_samples;
	uint64_t nsampled, nrecorded, ndefault;
};

/* Orders recorded RPCs by bmap, then time. */
static int
rpc_cmp(const void *a, const void *b)
{
	const struct wl_event *x = *(const struct wl_event *const *)a;
	const struct wl_event *y = *(const struct wl_event *const *)b;

	if (x->fid != y->fid)
		return x->fid < y->fid ? -1 : 1;
	if (x->bno != y->bno)
		return x->bno < y->bno ? -1 : 1;
	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Builds the service model of w. */
static int
svc_init(struct svc *s, const struct wl_workload *w, double speed, struct fs_err *err)
{
	size_t i, n = 0;

	memset(s, 0, sizeof(*s));
	s->w = w;
	s->speed = speed;
	for (i = 0; i < w->n; i++)
		if (w->ev[i].kind == WL_RPC)
			n++;
	s->rpc = calloc(n ? n : 1, sizeof(*s->rpc));
	s->used = calloc(n ? n : 1, 1);
	s->cursor = calloc(n ? n : 1, sizeof(*s->cursor));
	if (!s->rpc || !s->used || !s->cursor)
		return fs_err_set(err, ENOMEM, "replay: out of memory");
	for (i = 0; i < w->n; i++)
		if (w->ev[i].kind == WL_RPC)
			s->rpc[s->nrpc++] = &w->ev[i];
	qsort(s->rpc, s->nrpc, sizeof(*s->rpc), rpc_cmp);
	for (i = 0; i < s->nrpc; i++)
		s->cursor[i] = (i > 0 && s->rpc[i]->fid == s->rpc[i - 1]->fid &&
		    s->rpc[i]->bno == s->rpc[i - 1]->bno) ? s->cursor[i - 1] : i;
	s->samples = w->samples;
	s->nsamples = w->nsamples;
	if (s->nsamples == 0) {
		/* a hand-written file may give latencies only on its rpc lines */
		s->own_samples = calloc(s->nrpc ? s->nrpc : 1, sizeof(*s->own_samples));
		if (s->own_samples == NULL)
			return fs_err_set(err, ENOMEM, "replay: out of memory");
		for (i = 0; i < w->n; i++)
			if (w->ev[i].kind == WL_RPC && w->ev[i].lat_us >= 0)
				s->own_samples[s->nsamples++] = w->ev[i].lat_us;
		s->samples = s->own_samples;
	}
	return 0;
}

/* Frees the service model. */
static void
svc_free(struct svc *s)
{
	free(s->rpc);
	free(s->used);
	free(s->cursor);
	free(s->own_samples);
}

/* Finds the first recorded RPC of (fid, bno); returns nrpc if none. */
static size_t
svc_group(const struct svc *s, uint64_t fid, uint32_t bno)
{
	size_t lo = 0, hi = s->nrpc;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct wl_event *e = s->rpc[mid];

		if (e->fid < fid || (e->fid == fid && e->bno < bno))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->nrpc && s->rpc[lo]->fid == fid && s->rpc[lo]->bno == bno)
		return lo;
	return s->nrpc;
}

/* The transport callback: the latency of one RPC the engine issued. */
static uint64_t
svc_latency(void *arg, const struct fl_rpc_info *rpc)
{
	struct svc *s = arg;
	size_t g = svc_group(s, rpc->fid, rpc->bno), i, k;
	int64_t lat = -1;

	if (g < s->nrpc) {
		size_t start = s->cursor[g];

		for (i = start, k = 0; i < s->nrpc && k < 256 &&
		    s->rpc[i]->fid == rpc->fid && s->rpc[i]->bno == rpc->bno; i++, k++) {
			const struct wl_event *e = s->rpc[i];

			if (s->used[i])
				continue;
			if (e->off < (uint64_t)rpc->off + rpc->len && rpc->off < e->off + e->len) {
				s->used[i] = 1;
				lat = e->lat_us;
				break;
			}
		}
		while (start < s->nrpc && s->used[start] && s->rpc[start]->fid == rpc->fid &&
		    s->rpc[start]->bno == rpc->bno)
			start++;
		s->cursor[g] = start;
	}
	if (lat >= 0)
		s->nrecorded++;
	else if (s->nsamples > 0) {
		lat = s->samples[(s->nsampled * 2654435761u) % s->nsamples];
		s->nsampled++;
	} else {
		lat = s->w->default_lat_us;
		s->ndefault++;
	}
	return us_to_ns(lat, s->speed);
}

/* What the trace observer collects during one run. */
struct obs {
	int64_t pass_t[64];		/* start of the current pass per thread */
	int pass_seen[64];		/* current pass examined something */
	int64_t last_visible[64];	/* start of the previous visible pass */
	int64_t *gaps;			/* gaps between visible passes */
	size_t ngaps, capgaps;
	uint64_t visible;
	uint64_t span_ns;		/* the trace's span in engine time (FL_TIME_NEVER: all) */
	uint64_t span_exams, span_wasted, span_passes;
	uint64_t after_exams, after_wasted, after_passes;
	const uint64_t *ready_ns;	/* ready time per engine write (id) */
	size_t nwrites;
	uint64_t *lat;
	size_t nlat, caplat;
	int keep;
	int oom;
	int64_t pending, inflight;	/* writes not yet sent, RPCs not yet done */
	uint64_t last_done;		/* time of the last RPC completion */
	uint64_t idle;			/* wake-ups with neither */
	struct bobs *bo;		/* what the bound needs (NULL: nothing) */
};

/* Appends to a growable uint64/int64 array. */
static int
push64(void *arrp, size_t *n, size_t *cap, uint64_t v)
{
	uint64_t **arr = arrp;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		uint64_t *na = realloc(*arr, nc * sizeof(**arr));

		if (na == NULL)
			return -1;
		*arr = na;
		*cap = nc;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

/* An examination: counted within the trace's span or after it; starts a visible pass. */
static void
observe_exam(struct obs *o, const struct fl_trace_ev *ev, unsigned th)
{
	int in_span = ev->t_ns <= o->span_ns;

	if (in_span) {
		o->span_exams++;
		o->span_wasted += ev->wasted != 0;
	} else {
		o->after_exams++;
		o->after_wasted += ev->wasted != 0;
	}
	if (o->pass_seen[th])
		return;
	o->pass_seen[th] = 1;
	o->visible++;
	if (o->pass_t[th] >= 0 && (uint64_t)o->pass_t[th] > o->span_ns)
		o->after_passes++;
	else
		o->span_passes++;
	/* the period is a median of every gap: not a count, a short span would skew it */
	if (o->last_visible[th] >= 0 && o->pass_t[th] > o->last_visible[th] &&
	    push64(&o->gaps, &o->ngaps, &o->capgaps,
	    (uint64_t)(o->pass_t[th] - o->last_visible[th])) < 0)
		o->oom = 1;
	o->last_visible[th] = o->pass_t[th];
}

/*
 * What the lower bound of a run needs, per engine write (its id): when it
 * arrived, when it was first issued, and when the run of the flush thread
 * that issued it began (its wake-up; 0 for a thread's first run).
 */
struct bobs {
	uint64_t *ready, *issue, *start;
	size_t n;
	uint64_t wake_t[FL_MAX_THREADS_RP];
	int woke[FL_MAX_THREADS_RP];	/* the thread has slept and woken */
	uint64_t lag_max;		/* longest wake-up -> issue */
};

/* Allocates the per-write arrays for n writes; -1 on ENOMEM. */
static int
bobs_init(struct bobs *b, size_t n)
{
	size_t i;

	memset(b, 0, sizeof(*b));
	b->n = n;
	b->ready = malloc((n ? n : 1) * sizeof(*b->ready));
	b->issue = malloc((n ? n : 1) * sizeof(*b->issue));
	b->start = malloc((n ? n : 1) * sizeof(*b->start));
	if (!b->ready || !b->issue || !b->start)
		return -1;
	for (i = 0; i < n; i++)
		b->ready[i] = b->issue[i] = b->start[i] = FL_TIME_NEVER;
	return 0;
}

/* Frees the arrays. */
static void
bobs_free(struct bobs *b)
{
	free(b->ready);
	free(b->issue);
	free(b->start);
}

/* Notes arrivals, wake-ups and first issues for the bound. */
static void
observe_bound(struct bobs *b, const struct fl_trace_ev *ev)
{
	unsigned th = ev->thread < FL_MAX_THREADS_RP ? ev->thread : FL_MAX_THREADS_RP - 1;

	switch (ev->kind) {
	case FL_TR_ARRIVE:
		if (ev->id < b->n && b->ready[ev->id] == FL_TIME_NEVER)
			b->ready[ev->id] = ev->t_ns;
		break;
	case FL_TR_WAKE:
		b->wake_t[th] = ev->t_ns;
		b->woke[th] = 1;
		break;
	case FL_TR_IDLE:
		b->wake_t[th] = ev->t_ns + (ev->count - 1) * ev->period_ns;
		b->woke[th] = 1;
		break;
	case FL_TR_BIORQ_SENT:
		if (ev->id < b->n && b->issue[ev->id] == FL_TIME_NEVER) {
			b->issue[ev->id] = ev->t_ns;
			/* a thread's first run is no wake-up: what it sends needs none */
			b->start[ev->id] = b->woke[th] ? b->wake_t[th] : FL_BOUND_NO_WAKE;
			if (b->woke[th] && ev->t_ns - b->wake_t[th] > b->lag_max)
				b->lag_max = ev->t_ns - b->wake_t[th];
		}
		break;
	default:
		break;
	}
}

/* The engine's trace callback: visible passes and ready->issue samples. */
static void
observe(void *arg, const struct fl_trace_ev *ev)
{
	struct obs *o = arg;
	unsigned th = ev->thread < 64 ? ev->thread : 63;

	if (o->bo != NULL)
		observe_bound(o->bo, ev);

	switch (ev->kind) {
	case FL_TR_ARRIVE:
		o->pending++;
		break;
	case FL_TR_SEND:
		o->inflight++;
		break;
	case FL_TR_DONE:
		o->inflight--;
		if (ev->t_ns > o->last_done)
			o->last_done = ev->t_ns;
		break;
	case FL_TR_WAKE:
		if (o->pending <= 0 && o->inflight <= 0)
			o->idle++;
		break;
	case FL_TR_IDLE:
		/* idle wake-ups accounted in bulk: nothing pending, nothing examined */
		o->idle += ev->count;
		o->pass_t[th] = (int64_t)(ev->t_ns + (ev->count - 1) * ev->period_ns);
		o->pass_seen[th] = 0;
		break;
	case FL_TR_PASS:
		o->pass_t[th] = (int64_t)ev->t_ns;
		o->pass_seen[th] = 0;
		break;
	case FL_TR_EXAMINE:
		observe_exam(o, ev, th);
		break;
	case FL_TR_BIORQ_SENT:
		o->pending--;
		if (o->keep && ev->id < o->nwrites) {
			/* the batch's first RPC if given, else the time it went in flight */
			uint64_t at = ev->rpc != NULL ? ev->rpc->issue_ns : ev->t_ns;

			if (push64(&o->lat, &o->nlat, &o->caplat, at > o->ready_ns[ev->id] ?
			    at - o->ready_ns[ev->id] : 0) < 0)
				o->oom = 1;
		}
		break;
	default:
		break;
	}
}

/* Compares uint64 values for qsort. */
static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* True if write ev fits in its bmap (a log may hold one that does not). */
static int
write_fits(const struct wl_event *ev)
{
	return ev->len > 0 && ev->off < FL_BMAP_SIZE && ev->len <= FL_BMAP_SIZE - ev->off;
}

/* One engine run of w under configuration c; fills st. */
static int
run_once(const struct wl_workload *w, const struct fl_config *c, double speed,
    const struct obs *o, struct fl_stats *st, struct fs_err *err)
{
	struct fl_engine *e;
	size_t i;
	int rc = 0;

	if ((e = fl_engine_new(c, err)) == NULL)
		return -1;
	for (i = 0; i < w->n && rc == 0; i++) {
		const struct wl_event *ev = &w->ev[i];
		uint64_t at = us_to_ns(ev->t_us, speed);

		if (ev->kind == WL_WRITE && write_fits(ev))
			rc = fl_engine_write(e, at, ev->fid, ev->bno, (uint32_t)ev->off, ev->len,
			    FL_READY_AT_ARRIVAL, err);
		else if (ev->kind == WL_FSYNC)
			rc = fl_engine_force(e, at, ev->fid, ev->bno, err);
		if (rc < 0)
			fs_err_prefix(err, "workload line %" PRIu64, ev->lineno);
	}
	/*
	 * The trace went on until end_us: the engine runs until then, so a
	 * policy's idle cost over the whole trace is counted.
	 */
	if (rc == 0 && w->end_us > 0)
		rc = fl_engine_mark(e, us_to_ns(w->end_us, speed), err);
	if (rc == 0)
		rc = fl_engine_run(e, err);
	if (rc == 0) {
		uint64_t last = 0;

		fl_engine_stats(e, st);
		/*
		 * Drain: from the last real input to the last completion (the
		 * end-of-trace marker is neither).
		 */
		for (i = 0; i < w->n; i++)
			if (w->ev[i].kind != WL_RPC && w->ev[i].t_us > 0)
				last = us_to_ns(w->ev[i].t_us, speed);
		st->end_ns = o->last_done;
		st->drain_ns = o->last_done > last ? o->last_done - last : 0;
	}
	fl_engine_free(e);
	return rc;
}

/*
 * Calibrates legacy and pendq to the recorded machine's timing: its usleep
 * (with overshoot) and its cost per line logged are inputs, not a policy
 * difference.  With the trace's sleep between passes and gap between the
 * lines of a pass known, the tick is that sleep and each line costs that
 * gap, so a pass lasts as long as the recorded one for the same work and
 * RPCs go out at the same point of it (1).  Otherwise (a workload without
 * them) the tick is the trace's median pass period and lines cost nothing:
 * the period is right, the timing within a pass is not (2).
 */
static int
calibrate(const struct wl_workload *w, struct fl_tunables *t)
{
	t->sleep_overshoot_ns = 0;
	if (w->obs.sleep_us > 0 && w->obs.line_us >= 0) {
		t->poll_ns = (uint64_t)w->obs.sleep_us * 1000;
		t->line_cost_ns = (uint64_t)w->obs.line_us * 1000;
		/* the work before the trace (inferred) set the tick's phase at its first pass */
		if (w->obs.first_pass_us > 0)
			t->sync_pass_ns = (uint64_t)w->obs.first_pass_us * 1000;
		return 1;
	}
	t->poll_ns = (uint64_t)w->obs.pass_period_us * 1000;
	t->line_cost_ns = 0;
	return 2;
}

/* What the observer and the service model saw in one run. */
struct runobs {
	uint64_t rec, samp, dflt, visible, idle;
	uint64_t span_exams, span_wasted, span_passes;
	uint64_t after_exams, after_wasted, after_passes;
	int64_t period;
	uint64_t *lat;
	size_t nlat;
	struct fl_bound bound;		/* the run's lower bound (bound_of_run) */
	uint64_t lag_max;
};

/* Notes the writes that do not fit in their bmap (skipped, reported) in r. */
static void
note_skipped(const struct wl_workload *w, struct rp_result *r)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		const struct wl_event *ev = &w->ev[i];

		if (ev->kind != WL_WRITE || write_fits(ev))
			continue;
		if (r->skipped++ == 0) {
			r->skip_line = ev->lineno;
			snprintf(r->skip_what, sizeof(r->skip_what), "%" PRId64 " write %" PRIx64
			    ":%" PRIu32 " %" PRIu64 " %" PRIu32, ev->t_us, ev->fid, ev->bno, ev->off,
			    ev->len);
		}
	}
}

/* Whether setting s applies to policy. */
static int
setting_applies(const struct rp_setting *s, const char *policy)
{
	return s->policy[0] == '\0' || strcmp(s->policy, policy) == 0;
}

/* The settings that apply to policy, as text. */
void
rp_settings_text(const struct rp_options *o, const char *policy, char *buf, size_t n)
{
	size_t k = 0;
	int i;

	if (n == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < o->nset && k < n; i++)
		if (setting_applies(&o->set[i], policy))
			k += (size_t)snprintf(buf + k, n - k, "%s%s=%" PRIu64, k ? " " : "",
			    o->set[i].name, o->set[i].value);
}

/* 1 if the user sets tunable name for policy (--set). */
static int
user_sets(const struct rp_options *o, const char *policy, const char *name)
{
	int i;

	for (i = 0; i < o->nset; i++)
		if (setting_applies(&o->set[i], policy) && strcmp(o->set[i].name, name) == 0)
			return 1;
	return 0;
}

/* Configures c for policy on w from the options; -1 with err set. */
static int
configure(const struct wl_workload *w, const char *policy, const struct rp_options *opt,
    struct fl_config *c, struct rp_result *r, struct fs_err *err)
{
	if (fl_config_init(c, policy) < 0)
		return fs_err_set(err, EINVAL, "unknown policy '%s' (%s)", policy,
		    fl_policy_list());
	c->clock = opt->clock;
	/*
	 * The per-line pass cost models a client logging its flush path, as
	 * the traces of eras A-Z show it did; a workload of unknown era (one
	 * written by hand) shows no log, so its passes cost nothing (unless
	 * calibrated to a trace's own timing below).
	 */
	if (w->era == '?')
		c->tun.line_cost_ns = 0;
	/*
	 * A tick the user sets (--set poll_ns) is not the recorded machine's:
	 * no calibration at all then (its line cost and phase belong to the
	 * recorded tick).
	 */
	if (opt->clock == FL_CLOCK_VIRTUAL && opt->calibrate && w->obs.pass_period_us > 0 &&
	    (w->era == 'A' || w->era == '?') &&
	    (c->policy == FL_POL_LEGACY || c->policy == FL_POL_PENDQ) &&
	    !user_sets(opt, policy, "poll_ns")) {
		r->calibrated = calibrate(w, &c->tun);
	}
	if (opt->batch_ns != RP_ENGINE_DEFAULT && c->policy == FL_POL_DEADLINE) {
		if (opt->batch_ns > c->tun.max_age_ns)
			return fs_err_set(err, EINVAL, "the batching window (%.3f us) must not "
			    "exceed max age (%.3f us)", (double)opt->batch_ns / 1e3,
			    (double)c->tun.max_age_ns / 1e3);
		c->tun.batch_ns = opt->batch_ns;
	}
	if (opt->clock == FL_CLOCK_VIRTUAL) {
		c->tun.exam_cost_ns = opt->exam_cost_ns;
		if (opt->wake_latency_ns != RP_ENGINE_DEFAULT)
			c->tun.wake_latency_ns = opt->wake_latency_ns;
	}
	/* the wall clock of the 2010 expiry test is the trace's */
	if (w->epoch_us > 0) {
		c->log_epoch_s = (uint64_t)w->epoch_us / 1000000;
		c->log_epoch_us = (uint64_t)w->epoch_us % 1000000;
	}
	/* the user's settings come last: they win over the calibrated tick too */
	for (int i = 0; i < opt->nset; i++) {
		char v[24];

		if (!setting_applies(&opt->set[i], policy))
			continue;
		snprintf(v, sizeof(v), "%" PRIu64, opt->set[i].value);
		if (fl_config_set(c, opt->set[i].name, v, err) < 0)
			return -1;
	}
	rp_settings_text(opt, policy, r->settings, sizeof(r->settings));
	return 0;
}

/*
 * The bound's inputs from w: its writes that fit and its forced flushes,
 * at their times at speed x (writes: at ready[k] for the k-th when given).
 * Stores the k-th write's index in *wpos[k] when wpos is given.  NULL on ENOMEM.
 */
static struct fl_bound_in *
bound_inputs(const struct wl_workload *w, double speed, const uint64_t *ready, size_t *n,
    size_t *wpos)
{
	struct fl_bound_in *in = malloc((w->n ? w->n : 1) * sizeof(*in));
	size_t i, j = 0, k = 0;

	if (in == NULL)
		return NULL;
	for (i = 0; i < w->n; i++) {
		const struct wl_event *ev = &w->ev[i];
		int wr = ev->kind == WL_WRITE && write_fits(ev);

		if (!wr && ev->kind != WL_FSYNC)
			continue;
		in[j].t_ns = us_to_ns(ev->t_us, speed);
		in[j].fid = ev->fid;
		in[j].bno = ev->bno;
		in[j].off = wr ? (uint32_t)ev->off : 0;
		in[j].len = wr ? ev->len : 0;
		if (wr) {
			if (ready != NULL && ready[k] != FL_TIME_NEVER)
				in[j].t_ns = ready[k];
			if (wpos != NULL)
				wpos[k] = j;
			k++;
		}
		j++;
	}
	*n = j;
	return in;
}

/*
 * The lower bound of one run under c's budgets (fl_wakeups_min): from the
 * workload's times (the real clock: when each write really arrived), and
 * realised, from when each write was issued and by which wake-up.
 */
static int
bound_of_run(const struct wl_workload *w, const struct fl_config *c, double speed,
    const struct bobs *bo, struct runobs *ro, struct fs_err *err)
{
	struct fl_budget bud;
	struct fl_bound_in *in;
	uint64_t *issue = NULL, *start = NULL;
	size_t *wpos = malloc((bo->n ? bo->n : 1) * sizeof(*wpos)), n = 0, i, k;
	int rc = -1;

	in = wpos ? bound_inputs(w, speed, c->clock == FL_CLOCK_REAL ? bo->ready : NULL, &n,
	    wpos) : NULL;
	if (in != NULL) {
		issue = malloc((n ? n : 1) * sizeof(*issue));
		start = malloc((n ? n : 1) * sizeof(*start));
	}
	if (in == NULL || issue == NULL || start == NULL) {
		fs_err_set(err, ENOMEM, "replay: out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		issue[i] = start[i] = FL_TIME_NEVER;
	for (k = 0; k < bo->n; k++) {
		issue[wpos[k]] = bo->issue[k];
		start[wpos[k]] = bo->start[k];
	}
	fl_config_budget(c, &bud);
	rc = fl_wakeups_min(in, n, &bud, issue, start, &ro->bound, err);
	ro->lag_max = bo->lag_max;
out:
	free(in);
	free(issue);
	free(start);
	free(wpos);
	return rc;
}

/* Runs repeat k of policy on w (see rp_run) and records what it saw in ro. */
static int
run_repeat(const struct wl_workload *w, struct fl_config *c, double speed, const uint64_t *ready,
    size_t nw, int keep, struct fl_stats *st, struct runobs *ro, struct fs_err *err)
{
	struct svc s;
	struct obs o;
	struct bobs bo;
	size_t i;
	int rc;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < 64; i++)
		o.last_visible[i] = -1;
	o.ready_ns = ready;
	o.nwrites = nw;
	o.keep = keep;
	o.span_ns = w->end_us > 0 ? us_to_ns(w->end_us, speed) : FL_TIME_NEVER;
	if (svc_init(&s, w, speed, err) < 0) {
		svc_free(&s);
		return -1;
	}
	c->transport.kind = FL_LAT_CALLBACK;
	c->transport.fn = svc_latency;
	c->transport.arg = &s;
	c->trace = observe;
	c->trace_arg = &o;
	if (bobs_init(&bo, nw) < 0) {
		bobs_free(&bo);
		svc_free(&s);
		return fs_err_set(err, ENOMEM, "replay: out of memory");
	}
	o.bo = &bo;
	rc = run_once(w, c, speed, &o, st, err);
	if (rc == 0)
		rc = bound_of_run(w, c, speed, &bo, ro, err);
	bobs_free(&bo);
	ro->rec = s.nrecorded;
	ro->samp = s.nsampled;
	ro->dflt = s.ndefault;
	ro->visible = o.visible;
	ro->idle = o.idle;
	ro->span_exams = o.span_exams;
	ro->span_wasted = o.span_wasted;
	ro->span_passes = o.span_passes;
	ro->after_exams = o.after_exams;
	ro->after_wasted = o.after_wasted;
	ro->after_passes = o.after_passes;
	ro->period = -1;
	if (o.ngaps > 0) {
		qsort(o.gaps, o.ngaps, sizeof(*o.gaps), u64_cmp);
		ro->period = (int64_t)(((uint64_t *)o.gaps)[o.ngaps / 2] / 1000);
	}
	if (o.keep) {
		qsort(o.lat, o.nlat, sizeof(*o.lat), u64_cmp);
		ro->lat = o.lat;
		ro->nlat = o.nlat;
		o.lat = NULL;
	}
	svc_free(&s);
	free(o.gaps);
	free(o.lat);
	if (rc == 0 && o.oom)
		rc = fs_err_set(err, ENOMEM, "replay: out of memory");
	return rc;
}

/* Copies the chosen run's observations into r. */
static void
fill_result(struct rp_result *r, const struct runobs *ro)
{
	r->svc_recorded = ro->rec;
	r->svc_sampled = ro->samp;
	r->svc_default = ro->dflt;
	r->visible_passes = ro->visible;
	r->idle_wakeups = ro->idle;
	r->pass_period_us = ro->period;
	r->span_exams = ro->span_exams;
	r->span_wasted = ro->span_wasted;
	r->span_passes = ro->span_passes;
	r->after_exams = ro->after_exams;
	r->after_wasted = ro->after_wasted;
	r->after_passes = ro->after_passes;
}

/* Copies the chosen run's bound into r, with the efficiency. */
static void
fill_bound(struct rp_result *r, const struct runobs *ro)
{
	r->wakeups_min = ro->bound.wakeups_min_realised;
	r->wakeups_min_budget = ro->bound.wakeups_min;
	r->past_budget = ro->bound.past_budget;
	r->issue_lag_max_ns = ro->lag_max;
	if (r->st.wakeups > 0)
		r->efficiency = (double)r->wakeups_min / (double)r->st.wakeups;
	else
		r->efficiency = r->wakeups_min == 0 ? 1.0 : (double)r->wakeups_min;
}

/* The lower bound on wake-ups of w under policy's budgets (NULL: the defaults). */
int
rp_wakeups_min(const struct wl_workload *w, const char *policy, const struct rp_options *o,
    uint64_t *n, struct fs_err *err)
{
	struct fl_config c;
	struct rp_result scratch;
	struct fl_budget bud;
	struct fl_bound_in *in;
	struct fl_bound res;
	double speed = o->clock == FL_CLOCK_REAL && o->speed > 0 ? o->speed : 1.0;
	size_t nin;
	int rc;

	memset(&scratch, 0, sizeof(scratch));
	if (policy == NULL)
		fl_config_init(&c, "deadline");
	else if (configure(w, policy, o, &c, &scratch, err) < 0)
		return -1;
	if ((in = bound_inputs(w, speed, NULL, &nin, NULL)) == NULL)
		return fs_err_set(err, ENOMEM, "replay: out of memory");
	fl_config_budget(&c, &bud);
	rc = fl_wakeups_min(in, nin, &bud, NULL, NULL, &res, err);
	free(in);
	*n = res.wakeups_min;
	return rc;
}

/* The lower bound on wake-ups of w for each latency budget lat_ns[i] (rp_bound_curve). */
int
rp_bound_curve(const struct wl_workload *w, const struct rp_options *o, const uint64_t *lat_ns,
    size_t n, uint64_t *out, struct fs_err *err)
{
	struct fl_config c;
	struct fl_budget bud;
	struct fl_bound_in *in;
	struct fl_bound res;
	double speed = o->clock == FL_CLOCK_REAL && o->speed > 0 ? o->speed : 1.0;
	size_t nin, i;
	int rc = 0;

	if ((in = bound_inputs(w, speed, NULL, &nin, NULL)) == NULL)
		return fs_err_set(err, ENOMEM, "replay: out of memory");
	/* every write within L: the max age and the batching window are L, no second cap */
	fl_config_init(&c, "deadline");
	fl_config_budget(&c, &bud);
	bud.wall_second = 0;
	for (i = 0; i < n && rc == 0; i++) {
		bud.max_age_ns = bud.full_ns = lat_ns[i];
		rc = fl_wakeups_min(in, nin, &bud, NULL, NULL, &res, err);
		out[i] = res.wakeups_min;
	}
	free(in);
	return rc;
}

/* True if c's budget is the default one (rp_wakeups_min with no policy). */
static int
default_budget(const struct fl_config *c)
{
	struct fl_config d;
	struct fl_budget a, b;

	fl_config_init(&d, "deadline");
	fl_config_budget(c, &a);
	fl_config_budget(&d, &b);
	return a.max_age_ns == b.max_age_ns && a.full_ns == b.full_ns && !a.wall_second &&
	    !b.wall_second && a.full_size == b.full_size;
}

/* Runs one policy on a workload. */
int
rp_run(const struct wl_workload *w, const char *policy, const struct rp_options *opt,
    struct rp_result *r, struct fs_err *err)
{
	struct fl_config c;
	uint64_t *ready = NULL, *cpu = NULL, *proc = NULL;
	struct fl_stats *sts = NULL;
	struct runobs *ro = NULL;
	size_t i, nw = 0;
	int k, nrep, rc = -1, med;
	double speed = opt->speed > 0 ? opt->speed : 1.0;

	memset(r, 0, sizeof(*r));
	r->pass_period_us = -1;
	if (configure(w, policy, opt, &c, r, err) < 0)
		return -1;
	snprintf(r->policy, sizeof(r->policy), "%s", policy);
	r->clock = opt->clock;
	if (opt->clock == FL_CLOCK_VIRTUAL)
		speed = 1.0;
	r->poll_ns = c.tun.poll_ns;
	r->line_cost_ns = opt->clock == FL_CLOCK_VIRTUAL ? c.tun.line_cost_ns : 0;
	note_skipped(w, r);
	nrep = opt->clock != FL_CLOCK_REAL ? 1 : opt->repeat > 0 ? opt->repeat : RP_REAL_REPEATS;
	r->repeats = nrep;

	for (i = 0; i < w->n; i++)
		if (w->ev[i].kind == WL_WRITE && write_fits(&w->ev[i]))
			nw++;
	ready = calloc(nw ? nw : 1, sizeof(*ready));
	cpu = calloc((size_t)nrep, sizeof(*cpu));
	proc = calloc((size_t)nrep, sizeof(*proc));
	sts = calloc((size_t)nrep, sizeof(*sts));
	ro = calloc((size_t)nrep, sizeof(*ro));
	if (!ready || !cpu || !proc || !sts || !ro) {
		fs_err_set(err, ENOMEM, "replay: out of memory");
		goto out;
	}
	for (i = 0, nw = 0; i < w->n; i++)
		if (w->ev[i].kind == WL_WRITE && write_fits(&w->ev[i]))
			ready[nw++] = us_to_ns(w->ev[i].t_us, speed);

	for (k = 0; k < nrep; k++) {
		rc = run_repeat(w, &c, speed, ready, nw, opt->keep_samples, &sts[k], &ro[k], err);
		if (rc < 0) {
			fs_err_prefix(err, "%s", policy);
			goto out;
		}
		cpu[k] = sts[k].flush_cpu_ns;
		proc[k] = sts[k].proc_cpu_ns;
	}
	/* The median run by flush CPU supplies the counters. */
	med = 0;
	if (nrep > 1) {
		uint64_t *sorted = malloc((size_t)nrep * sizeof(*sorted));

		if (sorted == NULL) {
			rc = fs_err_set(err, ENOMEM, "replay: out of memory");
			goto out;
		}
		memcpy(sorted, cpu, (size_t)nrep * sizeof(*sorted));
		qsort(sorted, (size_t)nrep, sizeof(*sorted), u64_cmp);
		for (k = 0; k < nrep; k++)
			if (cpu[k] == sorted[nrep / 2])
				med = k;
		free(sorted);
	}
	/* Everything but the CPU medians comes from that one run. */
	r->st = sts[med];
	fill_result(r, &ro[med]);
	r->lat_ns = ro[med].lat;
	r->nlat = ro[med].nlat;
	ro[med].lat = NULL;
	r->flush_cpu_ns = cpu[med];
	qsort(proc, (size_t)nrep, sizeof(*proc), u64_cmp);
	r->proc_cpu_ns = proc[nrep / 2];
	r->cpu_runs = cpu;
	cpu = NULL;
	r->cost = opt->cost;
	r->wake_latency_ns = opt->clock == FL_CLOCK_VIRTUAL ? c.tun.wake_latency_ns : 0;
	r->batch_ns = c.tun.batch_ns;
	r->model_cpu_ns = rp_model_cpu_ns(&opt->cost, &r->st);
	fill_bound(r, &ro[med]);
	if (opt->clock == FL_CLOCK_VIRTUAL && default_budget(&c))
		r->wakeups_min_default = r->wakeups_min_budget;	/* the same inputs and budget */
	else if ((rc = rp_wakeups_min(w, NULL, opt, &r->wakeups_min_default, err)) < 0)
		goto out;
	rc = 0;
out:
	for (k = 0; ro != NULL && k < nrep; k++)
		free(ro[k].lat);
	free(ro);
	free(ready);
	free(cpu);
	free(proc);
	free(sts);
	if (rc < 0)
		rp_result_free(r);
	return rc;
}

/* |a - b| / b, or 0 when both are 0. */
static double
dev(int64_t a, int64_t b)
{
	if (b == 0)
		return a == 0 ? 0.0 : 1.0;
	return fabs((double)(a - b)) / (double)b;
}

/* The policy that wrote a trace of w's era. */
const char *
rp_fidelity_policy(const struct wl_workload *w)
{
	switch (w->era) {
	case 'Z':
		return "head";
	case 'B':
		return "2010-10";
	case 'C':
		return "2011-08";
	default:
		return "legacy";
	}
}

/*
 * Compares the replay of the trace's own policy with the trace, over the
 * trace's own span: what the replay did after the trace's last line (RPCs
 * still out when the trace was cut) is not compared.
 */
void
rp_fidelity_check(const struct wl_workload *w, const struct rp_result *r, struct rp_fidelity *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->policy, sizeof(f->policy), "%s", r->policy);
	f->ok = 1;
	f->trace_wasted = w->obs.wasted_examinations;
	f->replay_wasted = (int64_t)r->span_wasted;
	f->replay_passes = (int64_t)r->span_passes;
	f->after_wasted = (int64_t)r->after_wasted;
	f->after_passes = (int64_t)r->after_passes;
	f->trace_period_us = w->obs.pass_period_us;
	f->replay_period_us = r->pass_period_us;
	snprintf(f->altered, sizeof(f->altered), "%s", r->settings);
	if (f->altered[0] != '\0')
		return;		/* not the recorded engine: nothing to check */
	if (f->trace_wasted >= 0) {
		f->have_wasted = 1;
		f->wasted_dev = dev(f->replay_wasted, f->trace_wasted);
		if (f->wasted_dev > 0.05)
			f->ok = 0;
	}
	/* era Z passes follow wake-ups, not a tick: only the count is compared */
	if (w->era != 'Z' && f->trace_period_us > 0 && f->replay_period_us > 0) {
		f->have_period = 1;
		f->period_dev = dev(f->replay_period_us, f->trace_period_us);
		if (f->period_dev > 0.05)
			f->ok = 0;
	}
}

/* Fills a report's cost fit. */
void
rp_fit_report(const struct rp_result *r, int n, struct rp_fit *fit)
{
	struct fs_err err;

	memset(fit, 0, sizeof(*fit));
	fit->n = n;
	fs_err_clear(&err);
	if (rp_fit_cost(r, n, &fit->cost, &fit->max_rel, &err) == 0)
		fit->ok = 1;
	else
		snprintf(fit->why, sizeof(fit->why), "%s", err.msg);
}

/* ---- verify ---- */

/* Fills the verify defaults. */
void
rp_thresholds_default(struct rp_thresholds *t)
{
	t->min_cpu_reduction = 0.9;
	t->max_p99_regression_us = 500;
	t->set_p99 = 0;
	t->max_wasted = 0;
	t->min_efficiency = 0;
}

/* Adds one check to out[*n]. */
static void
add_check(struct rp_check *out, int *n, const char *metric, double b, double c, double lim,
    int pass, const char *msg)
{
	struct rp_check *k = &out[(*n)++];

	snprintf(k->metric, sizeof(k->metric), "%s", metric);
	k->baseline = b;
	k->candidate = c;
	k->limit = lim;
	k->pass = pass;
	snprintf(k->msg, sizeof(k->msg), "%s", msg);
}

/* Compares candidate with baseline. */
int
rp_verify(const struct rp_result *b, const struct rp_result *c, const struct rp_thresholds *t,
    struct rp_check *out)
{
	char msg[256];
	int n = 0, real = c->clock == FL_CLOCK_REAL, i;
	double bc, cc, red, bm, cm;

	/* CPU */
	if (real) {
		bc = (double)b->flush_cpu_ns;
		cc = (double)c->flush_cpu_ns;
	} else {
		bc = b->model_cpu_ns;
		cc = c->model_cpu_ns;
	}
	red = bc > 0 ? 1.0 - cc / bc : 0.0;
	snprintf(msg, sizeof(msg), "cpu: %s flush-thread CPU %.3f ms vs baseline %.3f ms: "
	    "reduction %.1f %% (minimum %.1f %%)", real ? "measured" : "modelled", cc / 1e6,
	    bc / 1e6, red * 100, t->min_cpu_reduction * 100);
	add_check(out, &n, "cpu", bc, cc, t->min_cpu_reduction, red >= t->min_cpu_reduction, msg);

	/* latency p99 and p99.9 */
	for (i = 0; i < 2; i++) {
		double bv = (double)(i == 0 ? b->st.ready_issue.p99 : b->st.ready_issue.p999) / 1000.0;
		double cv = (double)(i == 0 ? c->st.ready_issue.p99 : c->st.ready_issue.p999) / 1000.0;
		double tol = 0;

		if (real)
			tol = fmax(t->max_p99_regression_us, 0.05 * bv);
		else if (t->set_p99)
			tol = t->max_p99_regression_us;
		snprintf(msg, sizeof(msg), "%s: ready->issue %s %.1f us vs baseline %.1f us "
		    "(allowed %.1f us more%s)", i == 0 ? "p99" : "p999", i == 0 ? "p99" : "p99.9",
		    cv, bv, tol, real ? ", real clock" : ", virtual clock: exact");
		add_check(out, &n, i == 0 ? "p99" : "p999", bv, cv, bv + tol, cv <= bv + tol, msg);
	}

	/* RPC sizes: no more RPCs for the same bytes (mean size, 5 % tolerance) */
	bm = b->st.rpcs ? (double)b->st.bytes_sent / (double)b->st.rpcs : 0;
	cm = c->st.rpcs ? (double)c->st.bytes_sent / (double)c->st.rpcs : 0;
	snprintf(msg, sizeof(msg), "rpc_size: mean RPC size %.0f B (%" PRIu64 " RPCs) vs baseline "
	    "%.0f B (%" PRIu64 " RPCs); minimum %.0f B", cm, c->st.rpcs, bm, b->st.rpcs, bm * 0.95);
	add_check(out, &n, "rpc_size", bm, cm, bm * 0.95, cm >= bm * 0.95, msg);

	/* wasted examinations */
	snprintf(msg, sizeof(msg), "wasted: %" PRIu64 " wasted examinations (baseline %" PRIu64
	    ", maximum %" PRId64 ")", c->st.wasted, b->st.wasted, t->max_wasted);
	add_check(out, &n, "wasted", (double)b->st.wasted, (double)c->st.wasted,
	    (double)t->max_wasted, (int64_t)c->st.wasted <= t->max_wasted, msg);

	/* efficiency: the candidate's wake-ups against the lower bound */
	if (t->min_efficiency > 0) {
		snprintf(msg, sizeof(msg), "efficiency: %" PRIu64 " wake-ups, lower bound %" PRIu64
		    ": efficiency %.3f (minimum %.3f; baseline %.3f)", c->st.wakeups,
		    c->wakeups_min, c->efficiency, t->min_efficiency, b->efficiency);
		add_check(out, &n, "efficiency", b->efficiency, c->efficiency,
		    t->min_efficiency, c->efficiency >= t->min_efficiency, msg);
	}
	return n;
}

/* ---- output ---- */

/* One metric row of the report: a name and a value per result. */
struct metric {
	const char *name;	/* table label */
	const char *key;	/* csv key */
	int real_only;
	double (*get)(const struct rp_result *r);
};

#define M(fn, expr) static double fn(const struct rp_result *r) { return (double)(expr); }
M(m_cpu, r->flush_cpu_ns / 1e6)
M(m_model, r->model_cpu_ns / 1e6)
M(m_proc, r->proc_cpu_ns / 1e6)
M(m_wake, r->st.wakeups)
M(m_wto, r->st.wake_timeout)
M(m_wsig, r->st.wake_signal)
M(m_widle, r->idle_wakeups)
M(m_wuseless, r->st.wake_useless)
M(m_rearm, r->st.rearms)
M(m_wmin, r->wakeups_min)
M(m_eff, r->efficiency)
M(m_pass, r->st.passes)
M(m_exam, r->st.exams)
M(m_wasted, r->st.wasted)
M(m_rpcs, r->st.rpcs)
M(m_bytes, r->st.bytes_sent)
M(m_p50, r->st.ready_issue.p50 / 1e3)
M(m_p99, r->st.ready_issue.p99 / 1e3)
M(m_p999, r->st.ready_issue.p999 / 1e3)
M(m_max, r->st.ready_issue.max / 1e3)
M(m_late, r->st.late_writes)
M(m_latemax, r->st.late_max_ns / 1e3)
M(m_drain, r->st.drain_ns / 1e3)
M(m_rlate, r->st.replay_late.p99 / 1e3)
M(m_rlatemax, r->st.replay_late.max / 1e3)
M(m_wlat50, r->st.wake_latency.p50 / 1e3)
M(m_wlat99, r->st.wake_latency.p99 / 1e3)
#undef M

static const struct metric metrics[] = {
	{ "flush-thread CPU (ms)", "flush_cpu_ms", 1, m_cpu },
	{ "modelled flush CPU (ms)", "model_cpu_ms", 0, m_model },
	{ "process CPU (ms)", "proc_cpu_ms", 1, m_proc },
	{ "wake-ups", "wakeups", 0, m_wake },
	{ "  by timeout", "wake_timeout", 0, m_wto },
	{ "  by signal", "wake_signal", 0, m_wsig },
	{ "  idle (nothing to do)", "idle_wakeups", 0, m_widle },
	{ "  useless (sent nothing)", "useless_wakeups", 0, m_wuseless },
	{ "timer re-arms (writers)", "rearms", 0, m_rearm },
	{ "wake-ups, lower bound", "wakeups_min", 0, m_wmin },
	{ "efficiency (bound/wake-ups)", "efficiency", 0, m_eff },
	{ "passes", "passes", 0, m_pass },
	{ "examinations", "examinations", 0, m_exam },
	{ "wasted examinations", "wasted_examinations", 0, m_wasted },
	{ "RPCs", "rpcs", 0, m_rpcs },
	{ "bytes", "bytes", 0, m_bytes },
	{ "ready->issue p50 (us)", "latency_p50_us", 0, m_p50 },
	{ "ready->issue p99 (us)", "latency_p99_us", 0, m_p99 },
	{ "ready->issue p99.9 (us)", "latency_p999_us", 0, m_p999 },
	{ "ready->issue max (us)", "latency_max_us", 0, m_max },
	{ "late writes (past max age)", "late_writes", 0, m_late },
	{ "lateness max (us)", "late_max_us", 0, m_latemax },
	{ "drain (us)", "drain_us", 0, m_drain },
	{ "replay lateness p99 (us)", "replay_late_p99_us", 1, m_rlate },
	{ "replay lateness max (us)", "replay_late_max_us", 1, m_rlatemax },
	{ "signal->run p50 (us)", "wake_latency_p50_us", 1, m_wlat50 },
	{ "signal->run p99 (us)", "wake_latency_p99_us", 1, m_wlat99 },
};
#define NMETRICS (sizeof(metrics) / sizeof(metrics[0]))

/* Formats a value compactly (integers without decimals). */
static void
fmtv(char *buf, size_t n, double v)
{
	if (fabs(v - floor(v)) < 1e-9 && fabs(v) < 1e15)
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.3f", v);
}

/* Prints the workload summary lines. */
static void
print_summary(FILE *f, const struct wl_workload *w, const struct rp_result *r, int n,
    double speed)
{
	int i;
	char mix[160];

	wl_service_mix(w, mix, sizeof(mix));
	fprintf(f, "workload: fidelity %s (arrivals %s, service %s%s%s), era %c, %zu writes, "
	    "%zu forced flushes, %zu recorded RPCs\n", wl_fidelity_name(w->fidelity),
	    wl_fidelity_name(w->arrivals), wl_fidelity_name(w->service), mix[0] ? ": " : "", mix,
	    w->era,
	    wl_count(w, WL_WRITE), wl_count(w, WL_FSYNC), wl_count(w, WL_RPC));
	if (w->arrivals != WL_FID_BIORQ)
		fprintf(f, "note: no biorq lines: arrivals %s (ready time = RPC send time minus "
		    "one poll period; inferred in-flight writes are fitted)\n",
		    w->arrivals == WL_FID_RPC ? "come from the RPCs sent" : "are inferred");
	if (n > 0 && r[0].skipped > 0) {
		fprintf(f, "warning: %" PRIu64 " write%s outside %s 128 MiB bmap skipped; the first: "
		    "\"%s\"", r[0].skipped, r[0].skipped == 1 ? "" : "s",
		    r[0].skipped == 1 ? "its" : "their", r[0].skip_what);
		if (r[0].skip_line > 0)
			fprintf(f, " (line %" PRIu64 ")", r[0].skip_line);
		fputc('\n', f);
	}
	if (n > 0) {
		fprintf(f, "clock: %s", r[0].clock == FL_CLOCK_REAL ? "real" : "virtual");
		if (r[0].clock == FL_CLOCK_REAL)
			fprintf(f, ", %d repeat%s (medians), speed %gx", r[0].repeats,
			    r[0].repeats == 1 ? "" : "s", speed);
		fputc('\n', f);
		for (i = 0; i < n; i++) {
			if (r[i].calibrated == 1)
				fprintf(f, "note: %s calibrated to the trace's timing: %" PRIu64 " us "
				    "from a pass's last line to the next pass, %" PRIu64 " us a line "
				    "(the recorded machine's usleep and pass cost)\n", r[i].policy,
				    r[i].poll_ns / 1000, r[i].line_cost_ns / 1000);
			else if (r[i].calibrated)
				fprintf(f, "note: %s tick calibrated to the trace's pass period "
				    "%" PRIu64 " us (usleep overshoot of the recorded machine)\n",
				    r[i].policy, r[i].poll_ns / 1000);
			if (r[i].settings[0] != '\0')
				fprintf(f, "note: %s runs with %s (--set)\n", r[i].policy,
				    r[i].settings);
		}
		if (r[0].clock == FL_CLOCK_REAL && speed != 1.0)
			fprintf(f, "warning: --speed %g compresses time: polling cost per "
			    "trace-second is understated by about %gx\n", speed, speed);
		if (r[0].clock == FL_CLOCK_VIRTUAL)
			fprintf(f, "note: virtual clock: CPU is not measured; modelled CPU = "
			    "wake-ups x %.2f us + examinations x %.2f us + RPCs x %.2f us + timer "
			    "re-arms (by writers) x %.2f us; a signalled flush thread runs %.1f us "
			    "later\n", r[0].cost.wake_ns / 1e3, r[0].cost.exam_ns / 1e3,
			    r[0].cost.rpc_ns / 1e3, r[0].cost.rearm_ns / 1e3,
			    (double)r[0].wake_latency_ns / 1e3);
	}
}

/* Prints the fidelity check. */
static void
print_fidelity(FILE *f, const struct rp_fidelity *fid)
{
	if (fid == NULL) {
		fprintf(f, "fidelity check: not run (replay the policy that wrote the trace too: "
		    "legacy for era A, 2010-10 for B, 2011-08 for C, head for Z)\n");
		return;
	}
	fprintf(f, "fidelity check (%s vs trace): ", fid->policy);
	if (fid->altered[0] != '\0') {
		fprintf(f, "not run: %s ran with %s (--set), not as the recorded engine\n",
		    fid->policy, fid->altered);
		return;
	}
	if (fid->have_wasted)
		fprintf(f, "wasted examinations %" PRId64 " vs %" PRId64 " (%.1f %%)",
		    fid->replay_wasted, fid->trace_wasted, fid->wasted_dev * 100);
	else
		fprintf(f, "wasted examinations %" PRId64 " (trace: unknown)", fid->replay_wasted);
	if (fid->have_period)
		fprintf(f, ", pass period %" PRId64 " us vs %" PRId64 " us (%.1f %%)",
		    fid->replay_period_us, fid->trace_period_us, fid->period_dev * 100);
	else
		fprintf(f, ", pass period %" PRId64 " us (trace: %" PRId64 " us; not compared)",
		    fid->replay_period_us, fid->trace_period_us);
	fprintf(f, ": %s\n", fid->ok ? "ok (within 5 %)" : "WARNING: not within 5 %");
	fprintf(f, "  (the replay's figures over the trace's own span: %" PRId64 " passes; after "
	    "its last line, %" PRId64 " more passes and %" PRId64 " wasted examinations, not "
	    "compared)\n", fid->replay_passes, fid->after_passes, fid->after_wasted);
}

/* Prints results side by side with ratios against the first. */
void
rp_print_table(FILE *f, const struct wl_workload *w, const struct rp_result *r, int n,
    const struct rp_fidelity *fid, double speed, const struct rp_fit *fit)
{
	char v[64], cell[96];
	size_t m;
	int i, b, real = n > 0 && r[0].clock == FL_CLOCK_REAL;

	print_summary(f, w, r, n, speed);
	if (real)
		fprintf(f, "note: real clock: CPU and latencies are measured on this machine and "
		    "vary with its load from run to run; they inform, the virtual clock's counts "
		    "are the deterministic gate (flushscope verify)\n");
	fprintf(f, "\n%-28s", "metric");
	for (i = 0; i < n; i++)
		fprintf(f, " %22s", r[i].policy);
	fputc('\n', f);
	for (m = 0; m < NMETRICS; m++) {
		if (metrics[m].real_only && !real)
			continue;
		fprintf(f, "%-28s", metrics[m].name);
		for (i = 0; i < n; i++) {
			double x = metrics[m].get(&r[i]), base = metrics[m].get(&r[0]);
			int wl = metrics[m].get == m_wlat50 || metrics[m].get == m_wlat99;

			if (wl && r[i].st.wake_latency.n == 0) {
				fprintf(f, " %22s", "-");	/* never signalled: unknown */
				continue;
			}
			if (wl && r[0].st.wake_latency.n == 0)
				base = 0;
			fmtv(v, sizeof(v), x);
			if (i > 0 && base != 0)
				snprintf(cell, sizeof(cell), "%s (%.2fx)", v, x / base);
			else if (i > 0)
				snprintf(cell, sizeof(cell), "%s (-)", v);
			else
				snprintf(cell, sizeof(cell), "%s", v);
			fprintf(f, " %22s", cell);
		}
		fputc('\n', f);
	}
	for (b = 0; b < FL_SIZE_BUCKETS; b++) {
		int any = 0;

		for (i = 0; i < n; i++)
			any |= r[i].st.rpc_size_hist[b] != 0;
		if (!any)
			continue;
		snprintf(cell, sizeof(cell), "  RPCs %s", fl_size_bucket_name(b));
		fprintf(f, "%-28s", cell);
		for (i = 0; i < n; i++)
			fprintf(f, " %22" PRIu64, r[i].st.rpc_size_hist[b]);
		fputc('\n', f);
	}
	fprintf(f, "%-28s", "service: recorded/drawn/dflt");
	for (i = 0; i < n; i++) {
		snprintf(cell, sizeof(cell), "%" PRIu64 "/%" PRIu64 "/%" PRIu64, r[i].svc_recorded,
		    r[i].svc_sampled, r[i].svc_default);
		fprintf(f, " %22s", cell);
	}
	fprintf(f, "\n\n");
	print_fidelity(f, fid);
	if (fit != NULL && fit->ok)
		fprintf(f, "cost fit (%d runs): wake-up %.2f us, examination %.2f us, RPC %.2f us; "
		    "the model is within %.1f %% of every measured flush CPU (use: --cpu-cost "
		    "%.2fus,%.2fus,%.2fus)\n", fit->n, fit->cost.wake_ns / 1e3, fit->cost.exam_ns / 1e3,
		    fit->cost.rpc_ns / 1e3, fit->max_rel * 100, fit->cost.wake_ns / 1e3,
		    fit->cost.exam_ns / 1e3, fit->cost.rpc_ns / 1e3);
	else if (fit != NULL)
		fprintf(f, "cost fit: %s\n", fit->why);
}

/* Prints CSV rows: policy,clock,metric,value,ratio. */
void
rp_print_csv(FILE *f, const struct wl_workload *w, const struct rp_result *r, int n)
{
	size_t m;
	int i, b;

	fprintf(f, "policy,clock,fidelity,metric,value,ratio\n");
	for (i = 0; i < n; i++) {
		const char *clk = r[i].clock == FL_CLOCK_REAL ? "real" : "virtual";

		for (m = 0; m < NMETRICS; m++) {
			double x = metrics[m].get(&r[i]), base = metrics[m].get(&r[0]);
			char v[64];

			if (metrics[m].real_only && r[i].clock != FL_CLOCK_REAL)
				continue;
			if ((metrics[m].get == m_wlat50 || metrics[m].get == m_wlat99) &&
			    r[i].st.wake_latency.n == 0) {
				/* never signalled: unknown, an empty field */
				fprintf(f, "%s,%s,%s,%s,,\n", r[i].policy, clk,
				    wl_fidelity_name(w->fidelity), metrics[m].key);
				continue;
			}
			if ((metrics[m].get == m_wlat50 || metrics[m].get == m_wlat99) &&
			    r[0].st.wake_latency.n == 0)
				base = 0;
			fmtv(v, sizeof(v), x);
			fprintf(f, "%s,%s,%s,%s,%s,", r[i].policy, clk,
			    wl_fidelity_name(w->fidelity), metrics[m].key, v);
			if (base != 0)
				fprintf(f, "%.4f", x / base);
			fputc('\n', f);
		}
		for (b = 0; b < FL_SIZE_BUCKETS; b++)
			fprintf(f, "%s,%s,%s,rpc_size_%s,%" PRIu64 ",\n", r[i].policy, clk,
			    wl_fidelity_name(w->fidelity), fl_size_bucket_name(b),
			    r[i].st.rpc_size_hist[b]);
	}
}

/* Prints a JSON number, or null for a negative "unknown". */
static void
jnum(FILE *f, int64_t v)
{
	if (v < 0)
		fputs("null", f);
	else
		fprintf(f, "%" PRId64, v);
}

/* Prints the JSON report. */
void
rp_print_json(FILE *f, const struct wl_workload *w, const struct rp_result *r, int n,
    const struct rp_fidelity *fid, double speed, const struct rp_fit *fit)
{
	int i, b;

	fprintf(f, "{\"fidelity\":\"%s\",\"arrivals\":\"%s\",\"service\":\"%s\",\"era\":\"%c\","
	    "\"writes\":%zu,\"forced_flushes\":%zu,\"recorded_rpcs\":%zu,\"speed\":%g,",
	    wl_fidelity_name(w->fidelity), wl_fidelity_name(w->arrivals),
	    wl_fidelity_name(w->service), w->era, wl_count(w, WL_WRITE),
	    wl_count(w, WL_FSYNC), wl_count(w, WL_RPC), speed);
	if (n > 0) {
		fprintf(f, "\"wakeups_min\":%" PRIu64 ",", r[0].wakeups_min_default);
		fprintf(f, "\"skipped_writes\":%" PRIu64 ",", r[0].skipped);
		if (r[0].skipped > 0) {
			fprintf(f, "\"first_skipped\":{\"line\":%" PRIu64 ",\"write\":", r[0].skip_line);
			fs_json_str(f, r[0].skip_what, strlen(r[0].skip_what));
			fprintf(f, "},");
		}
	}
	fprintf(f, "\"trace\":{\"wasted_examinations\":");
	jnum(f, w->obs.wasted_examinations);
	fprintf(f, ",\"examinations\":");
	jnum(f, w->obs.examinations);
	fprintf(f, ",\"passes\":");
	jnum(f, w->obs.passes);
	fprintf(f, ",\"pass_period_us\":");
	jnum(f, w->obs.pass_period_us);
	fprintf(f, ",\"rpcs\":");
	jnum(f, w->obs.rpcs);
	fprintf(f, "},");
	if (fid != NULL) {
		fprintf(f, "\"fidelity_check\":{\"policy\":\"%s\",\"ok\":%s,\"altered\":",
		    fid->policy, fid->ok ? "true" : "false");
		if (fid->altered[0] != '\0')
			fs_json_str(f, fid->altered, strlen(fid->altered));
		else
			fputs("null", f);
		fprintf(f, ",\"replay_wasted\":%" PRId64 ",\"trace_wasted\":", fid->replay_wasted);
		jnum(f, fid->trace_wasted);
		fprintf(f, ",\"replay_passes_in_span\":%" PRId64 ",\"replay_passes_after\":%" PRId64
		    ",\"replay_wasted_after\":%" PRId64, fid->replay_passes, fid->after_passes,
		    fid->after_wasted);
		fprintf(f, ",\"replay_pass_period_us\":");
		jnum(f, fid->replay_period_us);
		fprintf(f, ",\"trace_pass_period_us\":");
		jnum(f, fid->trace_period_us);
		fprintf(f, "},");
	}
	fprintf(f, "\"policies\":[");
	for (i = 0; i < n; i++) {
		const struct fl_stats *s = &r[i].st;
		int real = r[i].clock == FL_CLOCK_REAL;

		fprintf(f, "%s{\"policy\":\"%s\",\"clock\":\"%s\",\"repeats\":%d,\"poll_us\":%" PRIu64
		    ",\"line_us\":%" PRIu64 ",\"calibrated\":%s,\"settings\":", i ? "," : "",
		    r[i].policy, real ? "real" : "virtual", r[i].repeats, r[i].poll_ns / 1000,
		    r[i].line_cost_ns / 1000, r[i].calibrated ? "true" : "false");
		fs_json_str(f, r[i].settings, strlen(r[i].settings));
		fputc(',', f);
		fprintf(f, "\"wakeups\":%" PRIu64 ",\"wake_timeout\":%" PRIu64 ",\"wake_signal\":%"
		    PRIu64 ",\"idle_wakeups\":%" PRIu64 ",\"useless_wakeups\":%" PRIu64 ",\"passes\":%" PRIu64 ",\"examinations\":%"
		    PRIu64 ",\"wasted_examinations\":%" PRIu64 ",\"rpcs\":%" PRIu64 ",\"bytes\":%"
		    PRIu64 ",", s->wakeups, s->wake_timeout, s->wake_signal, r[i].idle_wakeups,
		    s->wake_useless, s->passes, s->exams, s->wasted, s->rpcs, s->bytes_sent);
		fprintf(f, "\"rearms\":%" PRIu64 ",", s->rearms);
		fprintf(f, "\"wakeups_min\":%" PRIu64 ",\"efficiency\":%.4f,\"wakeups_min_budget\":%"
		    PRIu64 ",\"past_budget\":%" PRIu64 ",", r[i].wakeups_min, r[i].efficiency,
		    r[i].wakeups_min_budget, r[i].past_budget);
		if (real)
			fprintf(f, "\"flush_cpu_ns\":%" PRIu64 ",\"proc_cpu_ns\":%" PRIu64 ",",
			    r[i].flush_cpu_ns, r[i].proc_cpu_ns);
		else
			fprintf(f, "\"flush_cpu_ns\":null,\"proc_cpu_ns\":null,");
		fprintf(f, "\"model_cpu_ns\":%.0f,", r[i].model_cpu_ns);
		if (real && s->wake_latency.n > 0)
			fprintf(f, "\"wake_latency_us\":{\"p50\":%.3f,\"p99\":%.3f},",
			    s->wake_latency.p50 / 1e3, s->wake_latency.p99 / 1e3);
		else
			fprintf(f, "\"wake_latency_us\":null,");
		fprintf(f, "\"latency_us\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f},",
		    s->ready_issue.p50 / 1e3, s->ready_issue.p99 / 1e3, s->ready_issue.p999 / 1e3,
		    s->ready_issue.max / 1e3);
		fprintf(f, "\"late_writes\":%" PRIu64 ",\"late_max_us\":%.3f,\"drain_us\":%.3f,",
		    s->late_writes, s->late_max_ns / 1e3, s->drain_ns / 1e3);
		if (real)
			fprintf(f, "\"replay_late_us\":{\"p99\":%.3f,\"max\":%.3f},",
			    s->replay_late.p99 / 1e3, s->replay_late.max / 1e3);
		else
			fprintf(f, "\"replay_late_us\":null,");
		fprintf(f, "\"pass_period_us\":");
		jnum(f, r[i].pass_period_us);
		fprintf(f, ",\"rpc_sizes\":{");
		for (b = 0; b < FL_SIZE_BUCKETS; b++)
			fprintf(f, "%s\"%s\":%" PRIu64, b ? "," : "", fl_size_bucket_name(b),
			    s->rpc_size_hist[b]);
		fprintf(f, "}}");
	}
	fprintf(f, "]");
	if (n > 0)
	{
		fprintf(f, ",\"cpu_model\":{\"wake_ns\":%.1f,\"exam_ns\":%.1f,\"rpc_ns\":%.1f,"
		    "\"rearm_ns\":%.1f,\"wake_latency_ns\":", r[0].cost.wake_ns, r[0].cost.exam_ns,
		    r[0].cost.rpc_ns, r[0].cost.rearm_ns);
		if (r[0].clock == FL_CLOCK_VIRTUAL)
			fprintf(f, "%" PRIu64 "}", r[0].wake_latency_ns);
		else
			fputs("null}", f);	/* measured per policy: wake_latency_us */
	}
	if (fit != NULL && fit->ok)
		fprintf(f, ",\"cost_fit\":{\"runs\":%d,\"wake_ns\":%.1f,\"exam_ns\":%.1f,"
		    "\"rpc_ns\":%.1f,\"max_rel_err\":%.4f}", fit->n, fit->cost.wake_ns,
		    fit->cost.exam_ns, fit->cost.rpc_ns, fit->max_rel);
	else if (fit != NULL) {
		fprintf(f, ",\"cost_fit\":{\"runs\":%d,\"error\":", fit->n);
		fs_json_str(f, fit->why, strlen(fit->why));
		fputc('}', f);
	}
	fprintf(f, "}\n");
}

/* ---- SVG (charts drawn by util/plot.c) ---- */

/* Renders a chart to a string starting at its <svg> element; NULL on error. */
static char *
chart_str(struct pl_chart *c, double *height, struct fs_err *err)
{
	char *buf = NULL, *svg, *h;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (m == NULL) {
		fs_err_set(err, ENOMEM, "plot: out of memory");
		return NULL;
	}
	if (pl_chart_svg(c, m, err) < 0) {
		fclose(m);
		free(buf);
		return NULL;
	}
	fclose(m);
	if ((svg = strstr(buf, "<svg")) == NULL) {
		free(buf);
		fs_err_set(err, EINVAL, "plot: no <svg> element");
		return NULL;
	}
	h = strstr(svg, "height='");
	*height = h ? strtod(h + 8, NULL) : 300;
	memmove(buf, svg, strlen(svg) + 1);
	return buf;
}

/*
 * Two charts stacked in one SVG: the CDF of flush-thread CPU per policy
 * (real clock: one point per repeat; virtual clock: the modelled CPU) and
 * the CDF of ready->issue latency per policy on a
 * log axis.
 */
int
rp_plot_svg(FILE *f, const struct rp_result *r, int n, struct fs_err *err)
{
	struct pl_chart *cpu = NULL, *lat = NULL;
	char *s1 = NULL, *s2 = NULL;
	double h1 = 0, h2 = 0, *x = NULL, *y = NULL;
	int i, k, real = n > 0 && r[0].clock == FL_CLOCK_REAL, rc = -1;
	size_t j, maxn = 2;

	for (i = 0; i < n; i++) {
		if (r[i].nlat + 1 > maxn)
			maxn = r[i].nlat + 1;
		if ((size_t)r[i].repeats + 1 > maxn)
			maxn = (size_t)r[i].repeats + 1;
	}
	x = calloc(maxn, sizeof(*x));
	y = calloc(maxn, sizeof(*y));
	if (!x || !y) {
		fs_err_set(err, ENOMEM, "plot: out of memory");
		goto out;
	}
	if ((cpu = pl_chart_new(real ? "flush-thread CPU per run (CDF over repeats)" :
	    "modelled flush-thread CPU (virtual clock)", 1, err)) == NULL ||
	    (lat = pl_chart_new("ready->issue latency (CDF per policy)", 1, err)) == NULL)
		goto out;
	pl_chart_xaxis(cpu, real ? "flush-thread CPU (ms)" : "modelled flush-thread CPU (ms)", 0);
	pl_panel_yaxis(cpu, 0, "fraction of runs", 0);
	pl_chart_xaxis(lat, "ready->issue (us)", 1);
	pl_panel_yaxis(lat, 0, "fraction of writes", 0);
	for (i = 0; i < n; i++) {
		uint64_t *runs = r[i].cpu_runs;
		int nr = r[i].repeats;

		if (real && runs != NULL) {
			uint64_t *sorted = malloc((size_t)nr * sizeof(*sorted));

			if (sorted == NULL) {
				fs_err_set(err, ENOMEM, "plot: out of memory");
				goto out;
			}
			memcpy(sorted, runs, (size_t)nr * sizeof(*sorted));
			qsort(sorted, (size_t)nr, sizeof(*sorted), u64_cmp);
			x[0] = sorted[0] / 1e6;
			y[0] = 0;
			for (k = 0; k < nr; k++) {
				x[k + 1] = sorted[k] / 1e6;
				y[k + 1] = (k + 1.0) / nr;
			}
			free(sorted);
			k = nr + 1;
		} else {
			x[0] = x[1] = r[i].model_cpu_ns / 1e6;
			y[0] = 0;
			y[1] = 1;
			k = 2;
		}
		if (pl_series(cpu, 0, r[i].policy, x, y, (size_t)k, PL_STEP) < 0)
			goto nomem;
		if (r[i].nlat == 0)
			continue;
		for (j = 0; j < r[i].nlat; j++) {
			x[j] = fmax(r[i].lat_ns[j] / 1e3, 1.0);	/* log axis: floor at 1 us */
			y[j] = (j + 1.0) / (double)r[i].nlat;
		}
		if (pl_series(lat, 0, r[i].policy, x, y, r[i].nlat, PL_STEP) < 0)
			goto nomem;
	}
	if ((s1 = chart_str(cpu, &h1, err)) == NULL || (s2 = chart_str(lat, &h2, err)) == NULL)
		goto out;
	fprintf(f, "<?xml version='1.0' encoding='UTF-8'?>\n"
	    "<svg xmlns='http://www.w3.org/2000/svg' width='960' height='%.0f'>\n"
	    "<g>%s</g>\n<g transform='translate(0,%.0f)'>%s</g>\n</svg>\n", h1 + h2, s1, h1, s2);
	if (fflush(f) != 0 || ferror(f)) {
		fs_err_set(err, EIO, "plot: write error");
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	fs_err_set(err, ENOMEM, "plot: out of memory");
out:
	free(s1);
	free(s2);
	free(x);
	free(y);
	pl_chart_free(cpu);
	pl_chart_free(lat);
	return rc;
}
