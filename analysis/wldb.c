/*
 * Workload extraction from an ingested database (store/store.h).
 *
 * The store keeps what queries need, not every line: write arrivals, RPCs
 * (attributed to their bmap), bmap state changes, forced flushes, spin
 * episodes and per-thread figures.  The rows are turned back into
 * struct ps_event in time order and fed to the same extractor as a log;
 * each stored spin episode becomes its wasted examinations (so a bmap
 * spinning on writes sent before the trace gets its inferred in-flight
 * write, as from a log).  The trace's observed figures come from the
 * stored per-thread statistics.  Runs shorter than the detector's
 * --min-cycles are not stored and so cannot be inferred from a database.
 */
#include "analysis/wlsource.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

/* One row turned into an event, with what must outlive the query callback. */
struct dbev {
	struct ps_event ev;
	int64_t source_id;
	uint64_t src_off;
	uint64_t seq;
	char thread[SP_NAME_MAX];
	char msg[40];
};

struct dbload {
	struct dbev *v;
	size_t n, cap;
	struct wl_event *forced;
	size_t nforced, capforced;
	int64_t passes, exams, wasted, best_passes, period;
	int oom;
};

/* Appends an empty event (NULL when out of memory). */
static struct dbev *
push(struct dbload *d, int64_t source_id, uint64_t src_off, int64_t ts, const char *thread)
{
	struct dbev *e;

	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 1024;
		struct dbev *nv = realloc(d->v, nc * sizeof(*nv));

		if (nv == NULL) {
			d->oom = 1;
			return NULL;
		}
		d->v = nv;
		d->cap = nc;
	}
	e = &d->v[d->n];
	memset(e, 0, sizeof(*e));
	ps_event_reset(&e->ev);
	e->source_id = source_id;
	e->src_off = src_off;
	e->seq = d->n++;
	e->ev.ts_us = ts;
	e->ev.src_off = src_off;
	snprintf(e->thread, sizeof(e->thread), "%s", thread ? thread : "");
	return e;
}

/* Query callback: write arrivals. */
static int
on_write(void *arg, const struct st_write *r)
{
	struct dbload *d = arg;
	struct dbev *e = push(d, r->source_id, r->src_off, r->ts_us, r->thread);

	if (e == NULL)
		return 1;
	e->ev.kind = PS_EV_WRITE_READY;
	e->ev.msg_id = (enum ps_msg)r->msg_id;
	if (r->has_bmap) {
		e->ev.has |= PS_HAS_BMAP;
		e->ev.bmap.fid = r->fid;
		e->ev.bmap.bno = (uint32_t)r->bno;
		e->ev.bmap.addr = r->bmap_addr;
	}
	if (r->biorq_addr != 0 && r->off >= 0 && r->len > 0) {
		e->ev.has |= PS_HAS_BIORQ;
		e->ev.biorq.addr = r->biorq_addr;
		e->ev.biorq.bmap_addr = r->bmap_addr;
		e->ev.biorq.off = (uint32_t)r->off;
		e->ev.biorq.len = (uint32_t)r->len;
		e->ev.biorq.flags = 0x2;
	} else if (r->biorq_addr != 0) {
		snprintf(e->msg, sizeof(e->msg), "biorq=0x%" PRIx64, r->biorq_addr);
	}
	return 0;
}

/* Query callback: RPC sends and completions. */
static int
on_rpc(void *arg, const struct st_rpc *r)
{
	struct dbload *d = arg;
	struct dbev *e = push(d, r->source_id, r->src_off, r->ts_us, r->thread);

	if (e == NULL)
		return 1;
	e->ev.kind = r->kind == ST_RPC_SEND ? PS_EV_RPC_SEND : PS_EV_RPC_DONE;
	if (r->xid >= 0) {
		e->ev.has |= PS_HAS_REQ;
		e->ev.req.xid = r->xid;
		e->ev.req.addr = r->req_addr;
	}
	e->ev.rpc_off = r->off;
	e->ev.rpc_sz = r->sz;
	e->ev.outstanding = r->outstanding;
	if (r->has_bmap && r->fid != 0 && r->bno >= 0) {
		e->ev.rpc_fid = r->fid;
		e->ev.rpc_bno = (int32_t)r->bno;
	}
	return 0;
}

/* Query callback: bmap state changes (CLEAN). */
static int
on_state(void *arg, const struct st_state *r)
{
	struct dbload *d = arg;
	struct dbev *e = push(d, r->source_id, r->src_off, r->ts_us, r->thread);

	if (e == NULL)
		return 1;
	e->ev.kind = (enum ps_ev_kind)r->kind;
	e->ev.msg_id = (enum ps_msg)r->msg_id;
	e->ev.has |= PS_HAS_BMAP;
	e->ev.bmap.fid = r->fid;
	e->ev.bmap.bno = (uint32_t)r->bno;
	e->ev.bmap.addr = r->bmap_addr;
	e->ev.bmap.flags = r->flags;
	e->ev.bmap.opcnt = r->opcnt;
	return 0;
}

/* Query callback: forced flushes become fsync events directly. */
static int
on_forced(void *arg, const struct st_forced *r)
{
	struct dbload *d = arg;
	struct wl_event *e;

	if (!r->has_bmap)
		return 0;
	if (d->nforced == d->capforced) {
		size_t nc = d->capforced ? d->capforced * 2 : 64;
		struct wl_event *nv = realloc(d->forced, nc * sizeof(*nv));

		if (nv == NULL) {
			d->oom = 1;
			return 1;
		}
		d->forced = nv;
		d->capforced = nc;
	}
	e = &d->forced[d->nforced++];
	memset(e, 0, sizeof(*e));
	e->kind = WL_FSYNC;
	e->t_us = r->ts_us;
	e->fid = r->fid;
	e->bno = (uint32_t)r->bno;
	e->lat_us = -1;
	e->xid = -1;
	return 0;
}

/* Query callback: a spin episode becomes its wasted examinations. */
static int
on_episode(void *arg, const struct st_episode_row *r)
{
	struct dbload *d = arg;
	const struct sp_episode *ep = &r->ep;
	uint64_t k;

	for (k = 0; k < ep->cycles; k++) {
		int64_t t = ep->cycles > 1 ? ep->start_us +
		    (int64_t)((ep->end_us - ep->start_us) * (double)k / (double)(ep->cycles - 1)) :
		    ep->start_us;
		struct dbev *e = push(d, r->source_id, ep->first_off, t, ep->thread);
		struct dbev *q;

		if (e == NULL)
			return 1;
		e->ev.kind = PS_EV_EXAMINE;
		e->ev.msg_id = PS_MSG_A_TRY_FLUSH_BMAP;
		e->ev.has |= PS_HAS_BMAP;
		e->ev.bmap.fid = ep->fid;
		e->ev.bmap.bno = ep->bno;
		e->ev.bmap.addr = ep->addr;
		e->ev.outstanding = ep->outstanding_max;
		if ((q = push(d, r->source_id, ep->first_off, t, ep->thread)) == NULL)
			return 1;
		q->ev = d->v[d->n - 2].ev;
		q->ev.kind = PS_EV_REQUEUE;
		q->ev.msg_id = PS_MSG_A_RESTORE;
		q->ev.outstanding = -1;
	}
	return 0;
}

/* Query callback: per-thread figures, summed; the busiest thread's period. */
static int
on_thread(void *arg, const struct st_thread_row *r)
{
	struct dbload *d = arg;

	d->passes += (int64_t)r->st.passes;
	d->exams += (int64_t)r->st.examinations;
	d->wasted += (int64_t)r->st.wasted_examinations;
	if ((int64_t)r->st.passes > d->best_passes) {
		d->best_passes = (int64_t)r->st.passes;
		d->period = r->st.period_p50_us;
	}
	return 0;
}

/* Orders events by time, then source and offset, then row order. */
static int
dbev_cmp(const void *a, const void *b)
{
	const struct dbev *x = a, *y = b;

	if (x->ev.ts_us != y->ev.ts_us)
		return x->ev.ts_us < y->ev.ts_us ? -1 : 1;
	if (x->source_id != y->source_id)
		return x->source_id < y->source_id ? -1 : 1;
	if (x->src_off != y->src_off)
		return x->src_off < y->src_off ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Extracts the workload of a database. */
int
wl_load_db(struct wl_workload *w, const char *path, const struct wl_extract_opts *o,
    struct fs_err *err)
{
	struct st_store *st;
	struct st_filter f;
	struct dbload d;
	struct wl_extractor *x = NULL;
	size_t i;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	d.period = -1;
	if ((st = st_open(path, ST_OPEN_READONLY, err)) == NULL)
		return -1;
	st_filter_init(&f);
	if (st_query_writes(st, &f, on_write, &d, err) < 0 ||
	    st_query_rpcs(st, &f, on_rpc, &d, err) < 0 ||
	    st_query_states(st, &f, on_state, &d, err) < 0 ||
	    st_query_forced(st, &f, on_forced, &d, err) < 0 ||
	    st_query_episodes(st, &f, on_episode, &d, err) < 0 ||
	    st_query_thread_stats(st, &f, on_thread, &d, err) < 0)
		goto out;
	if (d.oom) {
		fs_err_set(err, ENOMEM, "%s: out of memory", path);
		goto out;
	}
	/* Slices into our own buffers: fix them up now that the array is final. */
	for (i = 0; i < d.n; i++) {
		d.v[i].ev.thread.p = d.v[i].thread;
		d.v[i].ev.thread.n = strlen(d.v[i].thread);
		d.v[i].ev.msg.p = d.v[i].msg;
		d.v[i].ev.msg.n = strlen(d.v[i].msg);
	}
	qsort(d.v, d.n, sizeof(*d.v), dbev_cmp);
	for (i = 0; i < d.n; i++) {	/* qsort moved the buffers */
		d.v[i].ev.thread.p = d.v[i].thread;
		d.v[i].ev.msg.p = d.v[i].msg;
		d.v[i].ev.lineno = i + 1;
	}
	if ((x = wl_extract_new(o, err)) == NULL)
		goto out;
	for (i = 0; i < d.n; i++)
		if (wl_extract_feed(x, &d.v[i].ev, err) < 0)
			goto out;
	if (wl_extract_finish(x, w, err) < 0)
		goto out;
	for (i = 0; i < d.nforced; i++) {
		struct wl_event e = d.forced[i];

		if (w->n == 0 && i == 0)
			w->epoch_us = e.t_us;
		e.t_us -= w->epoch_us;
		if (e.t_us < 0)
			e.t_us = 0;
		e.lineno = (uint64_t)-1;
		if (wl_add(w, &e, err) < 0) {
			wl_free(w);
			goto out;
		}
	}
	wl_sort(w);
	if (d.best_passes > 0) {
		w->obs.passes = d.passes;
		w->obs.examinations = d.exams;
		w->obs.wasted_examinations = d.wasted;
		w->obs.pass_period_us = d.period;
	}
	rc = 0;
out:
	wl_extract_free(x);
	st_close(st);
	free(d.v);
	free(d.forced);
	return rc;
}
