/*
 * replay/tune: the sweep behind flushscope tune (see replay/tune.h).
 */
#include "replay/tune.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000ull
#define US 1000ull

/* The default grids: each policy's CPU-against-latency knobs around its defaults. */
static const struct {
	const char *policy;
	struct {
		const char *name;
		uint64_t v[8];
		int n;
	} ax[2];
	int nax;
} defaults[] = {
	{ "legacy", { { "poll_ns", { 1 * MS, 2048 * US, 5 * MS, 10 * MS }, 4 } }, 1 },
	{ "pendq", { { "poll_ns", { 1 * MS, 2048 * US, 5 * MS, 10 * MS }, 4 } }, 1 },
	{ "2010-10", { { "safety_timeout_ns", { 20 * MS, 50 * MS, 100 * MS }, 3 } }, 1 },
	{ "2011-08", { { "max_age_ns", { 2 * MS, 5 * MS, 10 * MS, 20 * MS }, 4 } }, 1 },
	{ "head", { { "threads", { 1, 4, 16 }, 3 },
	    { "safety_timeout_ns", { 500 * MS, 2000 * MS }, 2 } }, 2 },
	{ "deadline", { { "max_age_ns", { 1 * MS, 2 * MS, 5 * MS, 10 * MS }, 4 },
	    { "batch_ns", { 0, 200 * US, 1 * MS }, 3 } }, 2 },
};

/* Fills policy's default grid. */
int
tn_default_grid(const char *policy, struct tn_grid *g)
{
	size_t i;
	int a, k;

	memset(g, 0, sizeof(*g));
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		if (strcmp(defaults[i].policy, policy) != 0)
			continue;
		snprintf(g->policy, sizeof(g->policy), "%s", policy);
		for (a = 0; a < defaults[i].nax; a++) {
			snprintf(g->ax[a].name, sizeof(g->ax[a].name), "%s", defaults[i].ax[a].name);
			for (k = 0; k < defaults[i].ax[a].n; k++)
				g->ax[a].v[k] = defaults[i].ax[a].v[k];
			g->ax[a].n = defaults[i].ax[a].n;
		}
		g->nax = defaults[i].nax;
		return 0;
	}
	return -1;
}

/* Replaces or adds an axis. */
int
tn_grid_set(struct tn_grid *g, const struct tn_axis *a, struct fs_err *err)
{
	int i;

	for (i = 0; i < g->nax; i++)
		if (strcmp(g->ax[i].name, a->name) == 0)
			break;
	if (i == g->nax) {
		if (g->nax >= TN_AXES_MAX)
			return fs_err_set(err, E2BIG, "%s: at most %d tunables are varied at once",
			    g->policy, TN_AXES_MAX);
		g->nax++;
	}
	g->ax[i] = *a;
	return 0;
}

/* Fills a point's figures from a replay. */
void
tn_point_from(struct tn_point *p, const struct rp_result *r)
{
	p->valid = 1;
	p->cpu_ns = r->model_cpu_ns;
	p->wakeups = r->st.wakeups;
	p->rpcs = r->st.rpcs;
	p->bytes = r->st.bytes_sent;
	p->late = r->st.late_writes;
	p->wasted = r->st.wasted;
	p->p50_ns = r->st.ready_issue.p50;
	p->p99_ns = r->st.ready_issue.p99;
	p->max_ns = r->st.ready_issue.max;
	p->mean_rpc_bytes = r->st.rpcs > 0 ? (double)r->st.bytes_sent / (double)r->st.rpcs : 0;
	p->wakeups_min = r->wakeups_min;
	p->efficiency = r->efficiency;
}

/*
 * Items 0..n-1 of a piece of work, shared by a pool's threads: each takes
 * the next item and runs fn(ctx, k, err) on it; the first item that fails
 * (fn < 0) stops the others from taking more, and its error is kept.
 */
struct pool {
	size_t n;
	int (*fn)(void *ctx, size_t k, struct fs_err *err);
	void *ctx;
	atomic_size_t next;		/* the next item to take */
	atomic_int failed;
	pthread_mutex_t lock;		/* guards err */
	struct fs_err err;
};

/* A pool thread: runs items until none is left or one failed. */
static void *
pool_worker(void *arg)
{
	struct pool *pl = arg;
	struct fs_err err;
	size_t k;

	fs_err_clear(&err);
	while (!atomic_load(&pl->failed) && (k = atomic_fetch_add(&pl->next, 1)) < pl->n)
		if (pl->fn(pl->ctx, k, &err) < 0) {
			pthread_mutex_lock(&pl->lock);
			if (!atomic_exchange(&pl->failed, 1))
				pl->err = err;
			pthread_mutex_unlock(&pl->lock);
		}
	return NULL;
}

/*
 * Runs fn on items 0..n-1 on jobs threads, this one included, and waits
 * for them all (fewer threads if some cannot start: slower, not wrong).
 * 0, or -1 with err set to the first failure.
 */
static int
run_pool(int jobs, size_t n, int (*fn)(void *, size_t, struct fs_err *), void *ctx,
    struct fs_err *err)
{
	struct pool pl;
	pthread_t th[64];
	int i, started = 0, failed;

	memset(&pl, 0, sizeof(pl));
	pl.n = n;
	pl.fn = fn;
	pl.ctx = ctx;
	atomic_init(&pl.next, 0);
	atomic_init(&pl.failed, 0);
	pthread_mutex_init(&pl.lock, NULL);
	if (jobs > (int)(sizeof(th) / sizeof(th[0])))
		jobs = (int)(sizeof(th) / sizeof(th[0]));
	for (i = 1; i < jobs; i++) {
		if (pthread_create(&th[started], NULL, pool_worker, &pl) != 0)
			break;
		started++;
	}
	pool_worker(&pl);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&pl.lock);
	if ((failed = atomic_load(&pl.failed)) != 0)
		*err = pl.err;
	return failed ? -1 : 0;
}

/* The sweep's points and what each replays. */
struct sweep {
	const struct wl_workload *w;
	const struct rp_options *base;
	struct tn_point *p;
};

/* Replays point k (a pool item); -1 with err set when the replay failed. */
static int
run_point(void *ctx, size_t k, struct fs_err *err)
{
	struct sweep *s = ctx;
	struct tn_point *p = &s->p[k];
	struct rp_options o = *s->base;
	struct rp_result r;
	int i;

	for (i = 0; i < p->nset && o.nset < RP_SET_MAX; i++)
		o.set[o.nset++] = p->set[i];
	fs_err_clear(err);
	if (rp_run(s->w, p->policy, &o, &r, err) < 0) {
		/* the engine refusing a combination is a point it cannot run, not a failure */
		if (err->code == EINVAL) {
			snprintf(p->why, sizeof(p->why), "%s", err->msg);
			fs_err_clear(err);
			return 0;
		}
		return -1;
	}
	tn_point_from(p, &r);
	rp_result_free(&r);
	return 0;
}

/* The number of points of a grid. */
static size_t
grid_points(const struct tn_grid *g)
{
	size_t n = 1;
	int a;

	for (a = 0; a < g->nax; a++)
		n *= (size_t)(g->ax[a].n > 0 ? g->ax[a].n : 1);
	return n;
}

/* Writes grid g's points to p (the last axis varies fastest). */
static void
expand(const struct tn_grid *g, struct tn_point *p)
{
	size_t n = grid_points(g), k;
	int a;

	for (k = 0; k < n; k++) {
		size_t rest = k;

		memset(&p[k], 0, sizeof(p[k]));
		snprintf(p[k].policy, sizeof(p[k].policy), "%s", g->policy);
		for (a = g->nax - 1; a >= 0; a--) {
			struct rp_setting *s = &p[k].set[a];
			int m = g->ax[a].n > 0 ? g->ax[a].n : 1;

			snprintf(s->policy, sizeof(s->policy), "%s", g->policy);
			snprintf(s->name, sizeof(s->name), "%s", g->ax[a].name);
			s->value = g->ax[a].n > 0 ? g->ax[a].v[rest % (size_t)m] : 0;
			rest /= (size_t)m;
		}
		p[k].nset = g->nax;
	}
}

/* Runs the sweep. */
int
tn_sweep(const struct wl_workload *w, const struct tn_grid *grids, int ngrids,
    const struct rp_options *base, int jobs, struct tn_point **out, size_t *n,
    struct fs_err *err)
{
	struct sweep s;
	size_t total = 0, k = 0;
	int i;

	*out = NULL;
	*n = 0;
	for (i = 0; i < ngrids; i++)
		total += grid_points(&grids[i]);
	memset(&s, 0, sizeof(s));
	if (total == 0 || (s.p = calloc(total, sizeof(*s.p))) == NULL)
		return fs_err_set(err, total ? ENOMEM : EINVAL, total ? "tune: out of memory" :
		    "tune: no point to replay");
	for (i = 0; i < ngrids; i++) {
		expand(&grids[i], s.p + k);
		k += grid_points(&grids[i]);
	}
	s.w = w;
	s.base = base;
	if (run_pool(jobs, total, run_point, &s, err) < 0) {
		free(s.p);
		return -1;
	}
	tn_pareto(s.p, total);
	*out = s.p;
	*n = total;
	return 0;
}

/* Marks the frontier. */
void
tn_pareto(struct tn_point *p, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		p[i].pareto = p[i].valid;
		for (j = 0; j < n && p[i].pareto; j++)
			if (j != i && p[j].valid && p[j].cpu_ns <= p[i].cpu_ns &&
			    p[j].p99_ns <= p[i].p99_ns &&
			    (p[j].cpu_ns < p[i].cpu_ns || p[j].p99_ns < p[i].p99_ns))
				p[i].pareto = 0;
	}
}

/* The cheapest point meeting the constraint. */
long
tn_recommend(const struct tn_point *p, size_t n, uint64_t max_p99_ns)
{
	long best = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct tn_point *b = best >= 0 ? &p[best] : NULL;

		if (!p[i].valid || p[i].p99_ns > max_p99_ns)
			continue;
		if (b == NULL || p[i].cpu_ns < b->cpu_ns ||
		    (p[i].cpu_ns == b->cpu_ns && (p[i].wakeups < b->wakeups ||
		    (p[i].wakeups == b->wakeups && p[i].p99_ns < b->p99_ns))))
			best = (long)i;
	}
	return best;
}

/* 1 if v is a 1-2-5 step (1, 2, 5, 10, 20, ...). */
int
tn_is_step(uint64_t v)
{
	while (v >= 10 && v % 10 == 0)
		v /= 10;
	return v == 1 || v == 2 || v == 5;
}

/* The 1-2-5 step at or below v (up: at or above), v >= 1. */
static uint64_t
step125(uint64_t v, int up)
{
	static const uint64_t m[] = { 1, 2, 5 };
	uint64_t d = 1, best = 1;
	int i;

	for (;;) {
		for (i = 0; i < 3; i++) {
			uint64_t s = m[i] * d;

			if (s == v || (up && s > v))
				return s;
			if (s > v)
				return best;
			best = s;
		}
		if (d > UINT64_MAX / 50)
			return best;
		d *= 10;
	}
}

/* The bound curve's latencies, computed in chunks (the pool's items). */
struct curve {
	const struct wl_workload *w;
	const struct rp_options *o;
	struct tn_bound *b;
	size_t n;
	size_t nchunks;			/* one rp_bound_curve call (one set of inputs) each */
};

/* Computes the latencies of chunk k (a contiguous slice of c->b); -1 with err set. */
static int
curve_chunk(void *ctx, size_t k, struct fs_err *err)
{
	struct curve *c = ctx;
	size_t lo = k * c->n / c->nchunks, hi = (k + 1) * c->n / c->nchunks, i;
	uint64_t *v = calloc(2 * (hi - lo + 1), sizeof(*v));
	int rc;

	if (v == NULL)
		return fs_err_set(err, ENOMEM, "tune: out of memory");
	for (i = lo; i < hi; i++)
		v[i - lo] = c->b[i].latency_ns;
	rc = rp_bound_curve(c->w, c->o, v, hi - lo, v + (hi - lo), err);
	for (i = lo; i < hi && rc == 0; i++)
		c->b[i].wakeups_min = v[hi - lo + i - lo];
	free(v);
	return rc;
}

/* Ascending order of latency. */
static int
lat_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct tn_bound *)a)->latency_ns;
	uint64_t y = ((const struct tn_bound *)b)->latency_ns;

	return x < y ? -1 : x > y;
}

/* The bound curve over the sweep's span of latencies. */
int
tn_bound_curve(const struct wl_workload *w, const struct rp_options *o,
    const struct tn_point *p, size_t n, const struct tn_point *base, int jobs,
    struct tn_bound **out, size_t *nout, struct fs_err *err)
{
	uint64_t lo = base->p99_ns, hi = base->max_ns, l;
	struct tn_bound *b;
	struct curve c;
	size_t i, k = 0, m;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < n; i++)
		if (p[i].valid) {
			lo = p[i].p99_ns < lo ? p[i].p99_ns : lo;
			hi = p[i].max_ns > hi ? p[i].max_ns : hi;
		}
	if ((b = malloc((TN_BOUND_MAX + n + 1) * sizeof(*b))) == NULL)
		return fs_err_set(err, ENOMEM, "tune: out of memory");
	lo = step125(lo < US ? US : lo, 0);
	hi = step125(hi < lo ? lo : hi, 1);
	for (l = lo; k < TN_BOUND_MAX; l = step125(l + 1, 1)) {
		b[k++].latency_ns = l;
		if (l >= hi)
			break;
	}
	/* and each point's worst latency: the bound it must not beat */
	for (i = 0; i <= n; i++) {
		const struct tn_point *q = i < n ? &p[i] : base;

		if (q->valid && q->max_ns > 0)
			b[k++].latency_ns = q->max_ns;
	}
	qsort(b, k, sizeof(*b), lat_cmp);
	for (i = m = 0; i < k; i++)
		if (m == 0 || b[i].latency_ns != b[m - 1].latency_ns)
			b[m++] = b[i];
	memset(&c, 0, sizeof(c));
	c.w = w;
	c.o = o;
	c.b = b;
	c.n = m;
	c.nchunks = jobs < 1 ? 1 : (size_t)jobs < m ? (size_t)jobs : m;
	if (run_pool(jobs, c.nchunks, curve_chunk, &c, err) < 0) {
		free(b);
		return -1;
	}
	*out = b;
	*nout = c.n;
	return 0;
}

