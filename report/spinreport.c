/*
 * spinreport: gathering, filtering, ranking and drawing spin results (see
 * report/spinreport.h).
 */
#include "report/spinreport.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parsers/source.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/map.h"
#include "util/plot.h"
#include "util/vec.h"

#define SR_MAX_SECONDS (1u << 24)	/* time-line cap: ~194 days */

/* Initialises an empty report. */
void
sp_report_init(struct sp_report *r)
{
	memset(r, 0, sizeof(*r));
}

/* Frees what a report holds. */
void
sp_report_free(struct sp_report *r)
{
	free(r->eps);
	fs_vec_free(&r->names);
	fs_map_free(&r->name_idx);
	free(r->threads);
	free(r->bmaps);
	free(r->clients);
	free(r->cbmaps);
	fs_map_free(&r->cbidx);
	free(r->wasted_s);
	free(r->outst_s);
	sp_report_init(r);
}

/* Cycles of one client's episodes on one bmap. */
struct sp_client_bmap {
	uint32_t ci, bno;
	uint64_t fid, cycles;
};

/* The index of a client's row, added if new. */
int
sp_report_client(struct sp_report *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nclients; i++)
		if (strcmp(r->clients[i].client, name) == 0)
			return (int)i;
	if (r->nclients == r->capclients) {
		size_t nc = r->capclients ? r->capclients * 2 : 8;
		struct sp_client_row *n = realloc(r->clients, nc * sizeof(*n));

		if (n == NULL)
			return -1;
		r->clients = n;
		r->capclients = nc;
	}
	memset(&r->clients[r->nclients], 0, sizeof(r->clients[0]));
	snprintf(r->clients[r->nclients].client, SP_CLIENT_MAX, "%s", name);
	r->clients[r->nclients].first_us = r->clients[r->nclients].last_us = INT64_MIN;
	return (int)r->nclients++;
}

/* Adds a thread's windowed figures to a client's. */
int
sp_report_client_thread(struct sp_report *r, int ci, const struct sp_thread_stats *t)
{
	struct sp_client_row *c = &r->clients[ci];

	c->examinations += t->examinations;
	c->wasted += t->wasted_examinations;
	if (t->first_us != INT64_MIN && (c->first_us == INT64_MIN || t->first_us < c->first_us))
		c->first_us = t->first_us;
	if (t->last_us != INT64_MIN && (c->last_us == INT64_MIN || t->last_us > c->last_us))
		c->last_us = t->last_us;
	return 0;
}

/* Adds a kept episode to a client's (and its bmap's cycles). */
int
sp_report_client_episode(struct sp_report *r, int ci, const struct sp_rep_episode *e)
{
	uint64_t key = (uint64_t)ci << 32 | e->f.bno;
	uint32_t v;

	r->clients[ci].episodes++;
	if (fs_map_get(&r->cbidx, e->f.fid, key, &v)) {
		r->cbmaps[v].cycles += e->f.cycles;
		return 0;
	}
	if (r->ncbmaps >= UINT32_MAX || fs_map_put(&r->cbidx, e->f.fid, key,
	    (uint32_t)r->ncbmaps) != 0)
		return -1;
	if (r->ncbmaps == r->capcbmaps) {
		size_t nc = r->capcbmaps ? r->capcbmaps * 2 : 32;
		struct sp_client_bmap *n = realloc(r->cbmaps, nc * sizeof(*n));

		if (n == NULL)
			return -1;
		r->cbmaps = n;
		r->capcbmaps = nc;
	}
	r->cbmaps[r->ncbmaps].ci = (uint32_t)ci;
	r->cbmaps[r->ncbmaps].fid = e->f.fid;
	r->cbmaps[r->ncbmaps].bno = e->f.bno;
	r->cbmaps[r->ncbmaps++].cycles = e->f.cycles;
	return 0;
}

/* A client's wasted examinations per second. */
double
sp_client_rate(const struct sp_client_row *c)
{
	if (c->first_us == INT64_MIN || c->last_us <= c->first_us)
		return 0;
	return (double)c->wasted * 1e6 / (double)(c->last_us - c->first_us);
}

/* Orders clients: the highest rate first, then the most wasted, then by name. */
static int
client_cmp(const void *a, const void *b)
{
	const struct sp_client_row *x = a, *y = b;
	double rx = sp_client_rate(x), ry = sp_client_rate(y);

	if (rx != ry)
		return rx > ry ? -1 : 1;
	if (x->wasted != y->wasted)
		return x->wasted > y->wasted ? -1 : 1;
	return strcmp(x->client, y->client);
}

/* Fills each client's worst bmap, then ranks the clients. */
static void
rank_clients(struct sp_report *r)
{
	size_t i;

	for (i = 0; i < r->ncbmaps; i++) {
		const struct sp_client_bmap *m = &r->cbmaps[i];
		struct sp_client_row *c = &r->clients[m->ci];

		if (!c->has_worst || m->cycles > c->worst_cycles || (m->cycles == c->worst_cycles &&
		    (m->fid < c->worst_fid || (m->fid == c->worst_fid && m->bno < c->worst_bno)))) {
			c->has_worst = 1;
			c->worst_fid = m->fid;
			c->worst_bno = m->bno;
			c->worst_cycles = m->cycles;
		}
	}
	r->ncbmaps = 0;
	fs_map_clear(&r->cbidx);
	if (r->nclients > 1)
		qsort(r->clients, r->nclients, sizeof(*r->clients), client_cmp);
}

/* 1 if name n is (thread, tid). */
static int
name_is(const struct sp_rep_name *n, const char *thread, const char *tid)
{
	return strcmp(n->thread, thread) == 0 && strcmp(n->tid, tid) == 0;
}

/* The number of (thread, tid) in r's names, added if new; -1 on no memory. */
static int64_t
name_number(struct sp_report *r, const char *thread, const char *tid)
{
	uint64_t a = fs_fnv1a(thread, strlen(thread)), b = fs_fnv1a(tid, strlen(tid));
	struct sp_rep_name n;
	uint32_t v;
	size_t i;

	if (fs_map_get(&r->name_idx, a, b, &v) && name_is(&r->names.v[v], thread, tid))
		return v;
	for (i = 0; i < r->names.n; i++)	/* new, or its key is another name's: scan */
		if (name_is(&r->names.v[i], thread, tid))
			return (int64_t)i;
	if (r->names.n >= UINT32_MAX)
		return -1;
	memset(&n, 0, sizeof(n));
	snprintf(n.thread, sizeof(n.thread), "%s", thread);
	snprintf(n.tid, sizeof(n.tid), "%s", tid);
	if (fs_vec_push(&r->names, n) != 0)
		return -1;
	if (!fs_map_get(&r->name_idx, a, b, &v) &&
	    fs_map_put(&r->name_idx, a, b, (uint32_t)(r->names.n - 1)) != 0)
		return -1;
	return (int64_t)(r->names.n - 1);
}

/* Adds one episode. */
int
sp_report_add_episode(struct sp_report *r, const struct sp_episode *ep)
{
	struct sp_rep_episode *e;
	int64_t name;

	if (r->neps == r->capeps) {
		size_t nc = r->capeps ? r->capeps * 2 : 32;
		struct sp_rep_episode *n = realloc(r->eps, nc * sizeof(*n));

		if (n == NULL)
			return -1;
		r->eps = n;
		r->capeps = nc;
	}
	if ((name = name_number(r, ep->thread, ep->tid)) < 0)
		return -1;
	e = &r->eps[r->neps++];
	e->name = (uint32_t)name;
	e->f = ep->f;
	return 0;
}

/* The thread name of a report's episode. */
const char *
sp_report_ep_thread(const struct sp_report *r, const struct sp_rep_episode *e)
{
	return r->names.v[e->name].thread;
}

/* The tid of a report's episode, as logged. */
const char *
sp_report_ep_tid(const struct sp_report *r, const struct sp_rep_episode *e)
{
	return r->names.v[e->name].tid;
}

/* Adds one thread's figures. */
int
sp_report_add_thread(struct sp_report *r, const struct sp_thread_stats *t)
{
	if (r->nthreads == r->capthreads) {
		size_t nc = r->capthreads ? r->capthreads * 2 : 8;
		struct sp_thread_stats *n = realloc(r->threads, nc * sizeof(*n));

		if (n == NULL)
			return -1;
		r->threads = n;
		r->capthreads = nc;
	}
	r->threads[r->nthreads++] = *t;
	return 0;
}

/*
 * Returns the time-line slot of time ts_us, growing the time-line (also
 * backwards); -1 on no memory, -2 if the time-line would span more than
 * SR_MAX_SECONDS (that second is left out).
 */
static int64_t
slot(struct sp_report *r, int64_t ts_us)
{
	int64_t s = fs_sec_of(ts_us);
	size_t need, i;

	if (r->nsec == 0) {
		r->t0_s = s;
	} else if (s < r->t0_s) {
		size_t shift = (size_t)(r->t0_s - s);

		if (shift + r->nsec > SR_MAX_SECONDS)
			return -2;
		need = r->nsec + shift;
		if (need > r->capsec) {
			uint32_t *w = realloc(r->wasted_s, need * sizeof(*w));
			int32_t *o;

			if (w == NULL)
				return -1;
			r->wasted_s = w;
			if ((o = realloc(r->outst_s, need * sizeof(*o))) == NULL)
				return -1;
			r->outst_s = o;
			r->capsec = need;
		}
		memmove(r->wasted_s + shift, r->wasted_s, r->nsec * sizeof(*r->wasted_s));
		memmove(r->outst_s + shift, r->outst_s, r->nsec * sizeof(*r->outst_s));
		for (i = 0; i < shift; i++) {
			r->wasted_s[i] = 0;
			r->outst_s[i] = -1;
		}
		r->nsec = need;
		r->t0_s = s;
	}
	if ((uint64_t)(s - r->t0_s) >= SR_MAX_SECONDS)
		return -2;
	need = (size_t)(s - r->t0_s) + 1;
	if (need > r->capsec) {
		size_t nc = r->capsec ? r->capsec : 64;
		uint32_t *w;
		int32_t *o;

		while (nc < need)
			nc *= 2;
		if ((w = realloc(r->wasted_s, nc * sizeof(*w))) == NULL)
			return -1;
		r->wasted_s = w;
		if ((o = realloc(r->outst_s, nc * sizeof(*o))) == NULL)
			return -1;
		r->outst_s = o;
		r->capsec = nc;
	}
	for (i = r->nsec; i < need; i++) {
		r->wasted_s[i] = 0;
		r->outst_s[i] = -1;
	}
	if (need > r->nsec)
		r->nsec = need;
	return s - r->t0_s;
}

/* Adds to one second of the time-line. */
int
sp_report_add_second(struct sp_report *r, int64_t sec, uint64_t wasted, int64_t outstanding)
{
	int64_t i;

	if (sec > INT64_MAX / 1000000 || sec < INT64_MIN / 1000000)
		return 0;
	if ((i = slot(r, sec * 1000000)) < 0)
		return i == -1 ? -1 : 0;
	r->wasted_s[i] = r->wasted_s[i] + wasted > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)(r->wasted_s[i] + wasted);
	if (outstanding > r->outst_s[i])
		r->outst_s[i] = outstanding > INT32_MAX ? INT32_MAX : (int32_t)outstanding;
	return 0;
}

/* A filter that keeps everything. */
void
sp_filter_init(struct sp_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->since_us = INT64_MIN;
	f->until_us = INT64_MAX;
}

/* 1 if second sec is within the seconds the window touches. */
int
sp_filter_second(const struct sp_filter *f, int64_t sec)
{
	return (f->since_us == INT64_MIN || sec >= fs_sec_of(f->since_us)) &&
	    (f->until_us == INT64_MAX || sec <= fs_sec_of(f->until_us));
}

/* 1 if the episode passes the filter. */
int
sp_filter_episode(const struct sp_filter *f, const struct sp_episode *e)
{
	return (!f->has_fid || e->f.fid == f->fid) &&
	    sp_thread_match(f->thread, e->thread, e->tid) && e->f.end_us >= f->since_us &&
	    e->f.start_us <= f->until_us && e->f.cycles >= f->min_cycles;
}

/* Adds examinations to a bmap's figures (a linear look-up from the end: rows come grouped). */
int
sp_report_add_bmap(struct sp_report *r, uint64_t fid, uint32_t bno, uint64_t exams,
    uint64_t wasted)
{
	struct sp_bmap_row *b;

	if (r->nbmaps == 0 || r->bmaps[r->nbmaps - 1].fid != fid ||
	    r->bmaps[r->nbmaps - 1].bno != bno) {
		if (r->nbmaps == r->capbmaps) {
			size_t nc = r->capbmaps ? r->capbmaps * 2 : 32;
			struct sp_bmap_row *n = realloc(r->bmaps, nc * sizeof(*n));

			if (n == NULL)
				return -1;
			r->bmaps = n;
			r->capbmaps = nc;
		}
		b = &r->bmaps[r->nbmaps++];
		memset(b, 0, sizeof(*b));
		b->fid = fid;
		b->bno = bno;
	} else {
		b = &r->bmaps[r->nbmaps - 1];
	}
	b->examinations += exams;
	b->wasted += wasted;
	return 0;
}

/* ---- from a file ---- */

/* Windowed counts of one detector thread. */
struct fr_thread {
	uint64_t passes, useless, exams, wasted;
};

struct file_run {
	struct sp_report *r;
	const struct sp_filter *f;
	struct fr_thread *th;		/* by detector thread index */
	size_t nth;
	struct fs_map bidx;		/* (fid, bno) -> index in tmp */
	FS_VEC(struct sp_bmap_row) tmp;
	int nomem;
};

/* The windowed counters of detector thread i. */
static struct fr_thread *
fr_thread(struct file_run *c, int i)
{
	if ((size_t)i >= c->nth) {
		size_t nc = (size_t)i + 8;
		struct fr_thread *n = realloc(c->th, nc * sizeof(*n));

		if (n == NULL) {
			c->nomem = 1;
			return NULL;
		}
		memset(n + c->nth, 0, (nc - c->nth) * sizeof(*n));
		c->th = n;
		c->nth = nc;
	}
	return &c->th[i];
}

/* Detector callback: keep the episode if the filter does. */
static void
fr_episode(void *arg, const struct sp_episode *ep)
{
	struct file_run *c = arg;

	if (sp_filter_episode(c->f, ep) && sp_report_add_episode(c->r, ep) != 0)
		c->nomem = 1;
}

/* Detector callback: count an examination in its second. */
static void
fr_exam(void *arg, const struct sp_exam *x)
{
	struct file_run *c = arg;
	int64_t sec = fs_sec_of(x->ts_us);
	int wasted = x->verdict == SP_WASTED;
	struct fr_thread *t;
	uint32_t v;

	if (!sp_filter_second(c->f, sec))
		return;
	if ((t = fr_thread(c, x->thread)) != NULL) {
		t->exams++;
		t->wasted += (uint64_t)wasted;
	}
	if (wasted && sp_report_add_second(c->r, sec, 1, -1) != 0)
		c->nomem = 1;
	if (!c->f->want_bmaps || (c->f->has_fid && x->fid != c->f->fid))
		return;
	if (!fs_map_get(&c->bidx, x->fid, x->bno, &v)) {
		struct sp_bmap_row b;

		memset(&b, 0, sizeof(b));
		b.fid = x->fid;
		b.bno = x->bno;
		if (fs_vec_push(&c->tmp, b) != 0 ||
		    fs_map_put(&c->bidx, x->fid, x->bno, (uint32_t)(c->tmp.n - 1)) != 0) {
			c->nomem = 1;
			return;
		}
		v = (uint32_t)(c->tmp.n - 1);
	}
	c->tmp.v[v].examinations++;
	c->tmp.v[v].wasted += (uint64_t)wasted;
}

/* Detector callbacks: count a pass, and a useless one, in the second it started. */
static void
fr_pass_start(void *arg, const struct sp_pass *p)
{
	struct file_run *c = arg;
	struct fr_thread *t;

	if (sp_filter_second(c->f, fs_sec_of(p->start_us)) && (t = fr_thread(c, p->thread)) != NULL)
		t->passes++;
}

static void
fr_pass(void *arg, const struct sp_pass *p)
{
	struct file_run *c = arg;
	struct fr_thread *t;

	if (!p->useful && sp_filter_second(c->f, fs_sec_of(p->start_us)) &&
	    (t = fr_thread(c, p->thread)) != NULL)
		t->useless++;
}

/* Clips a thread's span to the filter's window. */
static void
span_clip(const struct sp_filter *f, struct sp_thread_stats *st)
{
	if (st->first_us != INT64_MIN && st->first_us < f->since_us)
		st->first_us = f->since_us;
	if (st->last_us != INT64_MIN && st->last_us > f->until_us)
		st->last_us = f->until_us;
}

/* Adds the detector's threads with their windowed counts. */
static int
fr_threads(struct file_run *c, const struct sp_detector *d)
{
	int k;

	for (k = 0; k < sp_detector_nthreads(d); k++) {
		struct sp_thread_stats st;
		struct fr_thread *t = fr_thread(c, k);

		sp_detector_thread(d, k, &st);
		if (t == NULL || !sp_thread_match(c->f->thread, st.thread, st.tid))
			continue;
		st.passes = t->passes;
		st.useless_passes = t->useless;
		st.examinations = t->exams;
		st.wasted_examinations = t->wasted;
		span_clip(c->f, &st);
		if (sp_report_add_thread(c->r, &st) != 0)
			return -1;
	}
	return 0;
}

/* Runs one file through a source and the detector. */
int
sp_report_add_file(struct sp_report *r, const char *path, const struct sp_options *o,
    const struct sp_filter *f, int jobs, struct fs_err *err)
{
	struct file_run c;
	struct sp_callbacks cb;
	struct ps_source *src;
	struct sp_detector *d;
	struct ps_item *it;
	size_t i, th0 = r->nthreads, ep0 = r->neps;
	char host[SP_CLIENT_MAX] = "";
	int rc;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.f = f;
	fs_map_init(&c.bidx);
	memset(&cb, 0, sizeof(cb));
	cb.arg = &c;
	cb.episode = fr_episode;
	cb.exam = fr_exam;
	cb.pass_start = fr_pass_start;
	cb.pass = fr_pass;
	if ((src = ps_source_open(path, NULL, jobs, err)) == NULL)
		return -1;
	if ((d = sp_detector_new(o, &cb, err)) == NULL) {
		ps_source_close(src);
		return -1;
	}
	while ((rc = ps_source_next_ref(src, &it, err)) == 1) {
		const struct ps_event *ev = &it->ev;

		r->lines++;
		if (it->parsed && host[0] == '\0' && ev->host.n > 0 && f->want_clients)
			snprintf(host, sizeof(host), "%.*s", (int)ev->host.n, ev->host.p);
		if (!it->parsed) {
			r->unparsed++;
			continue;
		}
		if (ev->outstanding >= 0 && ev->ts_us != INT64_MIN &&
		    sp_filter_second(f, fs_sec_of(ev->ts_us)) &&
		    sp_report_add_second(r, fs_sec_of(ev->ts_us), 0, ev->outstanding) != 0)
			c.nomem = 1;
		sp_detector_feed(d, ev);
	}
	if (rc == 0) {
		sp_detector_finish(d);
		if (fr_threads(&c, d) != 0)
			c.nomem = 1;
		for (i = 0; i < c.tmp.n; i++)
			if (sp_report_add_bmap(r, c.tmp.v[i].fid, c.tmp.v[i].bno,
			    c.tmp.v[i].examinations, c.tmp.v[i].wasted) != 0)
				c.nomem = 1;
	}
	if (rc == 0 && f->want_clients && !c.nomem) {
		/* a file is its client's: the filter's name for it, else its syslog host */
		int ci = sp_report_client(r, f->client != NULL ? f->client : host[0] != '\0' ?
		    host : "unknown");

		for (i = th0; ci >= 0 && i < r->nthreads; i++)
			sp_report_client_thread(r, ci, &r->threads[i]);
		for (i = ep0; ci >= 0 && i < r->neps; i++)
			if (sp_report_client_episode(r, ci, &r->eps[i]) != 0)
				ci = -1;
		if (ci < 0)
			c.nomem = 1;
	}
	sp_detector_free(d);
	ps_source_close(src);
	free(c.th);
	fs_vec_free(&c.tmp);
	fs_map_free(&c.bidx);
	if (rc == 0 && c.nomem)
		return fs_err_set(err, ENOMEM, "%s: out of memory gathering the spin report", path);
	return rc < 0 ? -1 : 0;
}

/* 1 if thread/tid match "name" or "name:tid". */
int
sp_thread_match(const char *want, const char *thread, const char *tid)
{
	size_t n = strlen(thread);

	if (want == NULL)
		return 1;
	if (strcmp(want, thread) == 0)
		return 1;
	return strncmp(want, thread, n) == 0 && want[n] == ':' && strcmp(want + n + 1, tid) == 0;
}

/* Orders episodes: most cycles, longest, earliest. */
static int
ep_cmp(const void *a, const void *b)
{
	const struct sp_rep_episode *x = a, *y = b;
	int64_t dx = x->f.end_us - x->f.start_us, dy = y->f.end_us - y->f.start_us;

	if (x->f.cycles != y->f.cycles)
		return x->f.cycles > y->f.cycles ? -1 : 1;
	if (dx != dy)
		return dx > dy ? -1 : 1;
	if (x->f.start_us != y->f.start_us)
		return x->f.start_us < y->f.start_us ? -1 : 1;
	if (x->f.fid != y->f.fid)
		return x->f.fid < y->f.fid ? -1 : 1;
	return x->f.bno < y->f.bno ? -1 : x->f.bno > y->f.bno;
}

/* Orders bmaps: most wasted, then fid, bno. */
static int
bmap_cmp(const void *a, const void *b)
{
	const struct sp_bmap_row *x = a, *y = b;

	if (x->wasted != y->wasted)
		return x->wasted > y->wasted ? -1 : 1;
	if (x->fid != y->fid)
		return x->fid < y->fid ? -1 : 1;
	return x->bno < y->bno ? -1 : x->bno > y->bno;
}

/* Orders bmaps by identity. */
static int
bmap_id_cmp(const void *a, const void *b)
{
	const struct sp_bmap_row *x = a, *y = b;

	if (x->fid != y->fid)
		return x->fid < y->fid ? -1 : 1;
	return x->bno < y->bno ? -1 : x->bno > y->bno;
}

/* Ranks episodes and bmaps; fills the bmaps' episode figures. */
void
sp_report_rank(struct sp_report *r)
{
	size_t i, k;

	if (r->nbmaps > 1) {
		/* merge rows of one bmap (several sources), by identity */
		qsort(r->bmaps, r->nbmaps, sizeof(*r->bmaps), bmap_id_cmp);
		for (i = 1, k = 0; i < r->nbmaps; i++) {
			if (bmap_id_cmp(&r->bmaps[k], &r->bmaps[i]) == 0) {
				r->bmaps[k].examinations += r->bmaps[i].examinations;
				r->bmaps[k].wasted += r->bmaps[i].wasted;
			} else
				r->bmaps[++k] = r->bmaps[i];
		}
		r->nbmaps = k + 1;
	}
	for (i = 0; i < r->nbmaps; i++)
		r->bmaps[i].episodes = r->bmaps[i].cycles = 0;
	/* each episode to its bmap's row (found by identity: the rows are in that order) */
	for (k = 0; k < r->neps && r->nbmaps > 0; k++) {
		struct sp_bmap_row want = { .fid = r->eps[k].f.fid, .bno = r->eps[k].f.bno }, *b;

		if ((b = bsearch(&want, r->bmaps, r->nbmaps, sizeof(*r->bmaps),
		    bmap_id_cmp)) != NULL) {
			b->episodes++;
			b->cycles += r->eps[k].f.cycles;
		}
	}
	if (r->nbmaps > 1)
		qsort(r->bmaps, r->nbmaps, sizeof(*r->bmaps), bmap_cmp);
	if (r->neps > 1)
		qsort(r->eps, r->neps, sizeof(*r->eps), ep_cmp);
	rank_clients(r);
}

/* Draws the time-line. */
int
sp_report_plot(const struct sp_report *rp, FILE *f, struct fs_err *err)
{
	const struct sp_report r = *rp;
	struct pl_chart *c;
	double *x = NULL, *w = NULL, *o = NULL;
	char buf[160], tbuf[64];
	size_t i, n;
	int rc = -1;
	time_t t0;
	struct tm tm;

	if ((c = pl_chart_new("flushscope spins: wasted examinations and outstanding RPCs", 2,
	    err)) == NULL)
		goto out;
	n = r.nsec;
	x = calloc(n ? n : 1, sizeof(*x));
	w = calloc(n ? n : 1, sizeof(*w));
	o = calloc(n ? n : 1, sizeof(*o));
	if (x == NULL || w == NULL || o == NULL) {
		fs_err_set(err, ENOMEM, "plot: out of memory");
		pl_chart_free(c);
		goto out;
	}
	for (i = 0; i < n; i++) {
		x[i] = (double)i;
		w[i] = r.wasted_s[i];
		o[i] = r.outst_s[i] >= 0 ? r.outst_s[i] : NAN;
	}
	t0 = (time_t)r.t0_s;
	gmtime_r(&t0, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	snprintf(buf, sizeof(buf), "time (seconds since %s)", tbuf);
	pl_chart_xaxis(c, buf, 0);
	pl_panel_yaxis(c, 0, "wasted examinations per second", 0);
	pl_panel_yaxis(c, 1, "outstanding write RPCs", 0);
	snprintf(buf, sizeof(buf), "shaded: %zu spin episode%s (the largest labelled fid:bmap)",
	    r.neps, r.neps == 1 ? "" : "s");
	pl_note(c, buf);
	if (pl_series(c, 0, "wasted exams/s", x, w, n, PL_STEP) != 0 ||
	    pl_series(c, 1, "outstanding RPCs", x, o, n, PL_LINE) != 0) {
		fs_err_set(err, ENOMEM, "plot: out of memory");
		pl_chart_free(c);
		goto out;
	}
	for (i = 0; i < r.neps; i++) {
		const struct sp_rep_episode *e = &r.eps[i];

		snprintf(buf, sizeof(buf), "%" PRIx64 ":%" PRIu32 " (%" PRIu64 "x)", e->f.fid,
		    e->f.bno, e->f.cycles);
		pl_band(c, (double)(e->f.start_us - r.t0_s * 1000000) / 1e6,
		    (double)(e->f.end_us - r.t0_s * 1000000) / 1e6, buf);
	}
	rc = pl_chart_svg(c, f, err);
	pl_chart_free(c);
out:
	free(x);
	free(w);
	free(o);
	return rc;
}
