/*
 * Workload extraction from an ingested database (store/store.h).
 *
 * The store keeps what queries need, not every line: write arrivals, RPCs
 * (attributed to their bmap), bmap state changes, forced flushes, spin
 * episodes and per-thread figures.  The rows of the first three are turned
 * back into struct ps_event in log order (a ps_source over the store, so
 * the extractor reads a database as it reads a log); the detector's results
 * come from what it stored: each episode is a run of wasted examinations
 * (wl_extract_run) and the trace's figures are the stored per-thread ones.
 * Runs shorter than the detector's --min-cycles are not stored and so
 * cannot be inferred from a database.
 *
 * Memory: a row is kept as a compact record of the fields the events need
 * (thread names interned once) plus a 24-byte sort key; the event (~250
 * bytes) is built when it is read.  Each table's keys are sorted on their
 * own (they normally are already) and merged.
 *
 * Order: time, then source id, then source offset, then the order in which
 * the rows were read: writes, RPCs, states (each query in its own log
 * order).  Within a stream a row's number is that read order, and between
 * streams the lower stream wins a tie, so the merge gives exactly that
 * total order.
 */
#include "replay/wlsource.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/hash.h"
#include "util/map.h"
#include "util/vec.h"

/* A row's place in the order; src is the source's rank once loading ends. */
struct key {
	int64_t ts;
	uint64_t off;
	uint32_t src;		/* while loading: index of first sighting */
	uint32_t idx;		/* row number within its stream */
};

/* The tables' streams, in the order their rows were read (the tie-breaker). */
enum { S_WRITE, S_RPC, S_STATE, S_N };

struct stream {
	struct key *k;
	size_t n, cap;
};

enum { W_BMAP = 1, W_BIORQ = 2, W_MSG = 4 };

/* A write arrival. */
struct rwrite {
	uint64_t fid, bmap_addr, biorq_addr;
	uint32_t bno, off, len, thread;
	int32_t msg_id;
	uint8_t flags;		/* W_* */
};

/* An RPC send or completion; fid 0 and bno -1 when no bmap is attributed. */
struct rrpc {
	int64_t xid, off, sz, outstanding;
	uint64_t req_addr, fid, bwc_addr;
	int32_t bno;
	uint32_t thread;
	uint8_t done;
};

/* A bmap state change. */
struct rstate {
	uint64_t fid, addr;
	uint32_t bno, flags, thread;
	int32_t opcnt, kind, msg_id;
};

/* A stored spin episode: a run for the extractor. */
struct repi {
	uint64_t fid;
	int64_t start, end;
	uint32_t bno;
};

struct dbload {
	struct stream s[S_N];
	struct rwrite *w;
	struct rrpc *r;
	struct rstate *st;
	struct repi *ep;
	size_t nw, capw, nr, capr, nst, capst, nep, capep;

	char **name;		/* interned thread names */
	size_t nname, capname;
	struct fs_map names;	/* (name hash, length) -> index in name */
	int64_t *srcid;		/* source ids in order of first sighting */
	size_t nsrc, capsrc;
	struct fs_map srcs;	/* (source id, 0) -> index in srcid */

	struct wl_event *forced;
	size_t nforced, capforced;
	struct wl_figures fig;
	int64_t best_passes;
	/* the pull iterator's place in the merge */
	size_t pos[S_N];
	uint64_t lineno;
	char msg[40];
	int oom, overflow;
};

/* Grows *v (elements of size sz) to hold at least n; 0 or -1. */
static int
grow(void *vp, size_t *cap, size_t n, size_t sz)
{
	return fs_vec_reserve_((void **)vp, cap, n, sz);
}

/*
 * Index of a thread name (NULL = ""), interned as the old per-row copy
 * kept it: at most ST_NAME_MAX - 1 bytes.  Sets d->oom and returns 0 on
 * failure (the caller stops at the oom flag).  Two names with one hash
 * (never seen) would each be kept, the second without an index entry.
 */
static uint32_t
name_idx(struct dbload *d, const char *s)
{
	char buf[ST_NAME_MAX];
	size_t n;
	uint64_t h;
	uint32_t v;

	if (s == NULL)
		s = "";
	n = strnlen(s, ST_NAME_MAX - 1);
	memcpy(buf, s, n);
	buf[n] = '\0';
	h = fs_fnv1a(buf, n);
	if (fs_map_get(&d->names, h, n, &v) && strcmp(d->name[v], buf) == 0)
		return v;
	if (d->nname >= UINT32_MAX - 1 ||
	    grow(&d->name, &d->capname, d->nname + 1, sizeof(*d->name)) < 0 ||
	    (d->name[d->nname] = strdup(buf)) == NULL) {
		d->oom = 1;
		return 0;
	}
	if (!fs_map_get(&d->names, h, n, &v) &&
	    fs_map_put(&d->names, h, n, (uint32_t)d->nname) != 0)
		d->oom = 1;
	return (uint32_t)d->nname++;
}

/* Index of a source id in order of first sighting (sets d->oom on failure). */
static uint32_t
src_idx(struct dbload *d, int64_t id)
{
	uint32_t v;

	if (d->nsrc > 0 && d->srcid[d->nsrc - 1] == id)
		return (uint32_t)d->nsrc - 1;
	if (fs_map_get(&d->srcs, (uint64_t)id, 0, &v))
		return v;
	if (d->nsrc >= UINT32_MAX - 1 ||
	    grow(&d->srcid, &d->capsrc, d->nsrc + 1, sizeof(*d->srcid)) < 0 ||
	    fs_map_put(&d->srcs, (uint64_t)id, 0, (uint32_t)d->nsrc) != 0) {
		d->oom = 1;
		return 0;
	}
	d->srcid[d->nsrc] = id;
	return (uint32_t)d->nsrc++;
}

/* Appends a key to stream s with the next row number; -1 (flags set) on failure. */
static int
push_key(struct dbload *d, int s, int64_t source_id, uint64_t off, int64_t ts)
{
	struct stream *q = &d->s[s];
	struct key *k;

	if (q->n >= UINT32_MAX) {
		d->overflow = 1;
		return -1;
	}
	if (grow(&q->k, &q->cap, q->n + 1, sizeof(*q->k)) < 0) {
		d->oom = 1;
		return -1;
	}
	k = &q->k[q->n];
	k->ts = ts;
	k->off = off;
	k->src = src_idx(d, source_id);
	k->idx = (uint32_t)q->n++;
	return d->oom ? -1 : 0;
}

/* Query callback: write arrivals. */
static int
on_write(void *arg, const struct st_write *r)
{
	struct dbload *d = arg;
	struct rwrite *e;

	if (grow(&d->w, &d->capw, d->nw + 1, sizeof(*d->w)) < 0) {
		d->oom = 1;
		return 1;
	}
	if (push_key(d, S_WRITE, r->source_id, r->src_off, r->ts_us) < 0)
		return 1;
	e = &d->w[d->nw++];
	memset(e, 0, sizeof(*e));
	e->thread = name_idx(d, r->thread);
	e->msg_id = (int32_t)r->msg_id;
	e->bmap_addr = r->bmap_addr;
	e->biorq_addr = r->biorq_addr;
	if (r->has_bmap) {
		e->flags |= W_BMAP;
		e->fid = r->fid;
		e->bno = (uint32_t)r->bno;
	}
	if (r->biorq_addr != 0 && r->off >= 0 && r->len > 0) {
		e->flags |= W_BIORQ;
		e->off = (uint32_t)r->off;
		e->len = (uint32_t)r->len;
	} else if (r->biorq_addr != 0)
		e->flags |= W_MSG;
	return d->oom;
}

/* Query callback: RPC sends and completions. */
static int
on_rpc(void *arg, const struct st_rpc *r)
{
	struct dbload *d = arg;
	struct rrpc *e;

	if (grow(&d->r, &d->capr, d->nr + 1, sizeof(*d->r)) < 0) {
		d->oom = 1;
		return 1;
	}
	if (push_key(d, S_RPC, r->source_id, r->src_off, r->ts_us) < 0)
		return 1;
	e = &d->r[d->nr++];
	memset(e, 0, sizeof(*e));
	e->thread = name_idx(d, r->thread);
	e->done = r->kind != ST_RPC_SEND;
	e->xid = r->xid;
	e->req_addr = r->req_addr;
	e->bwc_addr = r->bwc_addr;
	e->off = r->off;
	e->sz = r->sz;
	e->outstanding = r->outstanding;
	e->bno = -1;
	if (r->has_bmap && r->fid != 0 && r->bno >= 0) {
		e->fid = r->fid;
		e->bno = (int32_t)r->bno;
	}
	return d->oom;
}

/* Query callback: bmap state changes (CLEAN). */
static int
on_state(void *arg, const struct st_state *r)
{
	struct dbload *d = arg;
	struct rstate *e;

	if (grow(&d->st, &d->capst, d->nst + 1, sizeof(*d->st)) < 0) {
		d->oom = 1;
		return 1;
	}
	if (push_key(d, S_STATE, r->source_id, r->src_off, r->ts_us) < 0)
		return 1;
	e = &d->st[d->nst++];
	e->thread = name_idx(d, r->thread);
	e->kind = (int32_t)r->kind;
	e->msg_id = (int32_t)r->msg_id;
	e->fid = r->fid;
	e->bno = (uint32_t)r->bno;
	e->addr = r->bmap_addr;
	e->flags = r->flags;
	e->opcnt = r->opcnt;
	return d->oom;
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

/* Query callback: a spin episode (a run for the extractor). */
static int
on_episode(void *arg, const struct st_episode_row *r)
{
	struct dbload *d = arg;
	struct repi *e;

	if (r->ep.cycles == 0)
		return 0;
	if (grow(&d->ep, &d->capep, d->nep + 1, sizeof(*d->ep)) < 0) {
		d->oom = 1;
		return 1;
	}
	e = &d->ep[d->nep++];
	e->fid = r->ep.fid;
	e->bno = r->ep.bno;
	e->start = r->ep.start_us;
	e->end = r->ep.end_us;
	return 0;
}

/* Query callback: per-thread figures, summed; the busiest thread's period, timing, era. */
static int
on_thread(void *arg, const struct st_thread_row *r)
{
	struct dbload *d = arg;

	d->fig.passes += (int64_t)r->st.passes;
	d->fig.examinations += (int64_t)r->st.examinations;
	d->fig.wasted += (int64_t)r->st.wasted;
	if (r->st.first_pass_us != INT64_MIN && (d->fig.first_pass_us == INT64_MIN ||
	    r->st.first_pass_us < d->fig.first_pass_us))
		d->fig.first_pass_us = r->st.first_pass_us;
	if ((int64_t)r->st.passes > d->best_passes) {
		d->best_passes = (int64_t)r->st.passes;
		d->fig.pass_period_us = r->st.period_p50_us;
		d->fig.sleep_us = r->st.sleep_p50_us;
		d->fig.line_us = r->st.line_p50_us;
		d->fig.era = r->st.era;
	}
	return 0;
}

/* Orders two log positions: time, then source, then byte offset (-1, 0, 1). */
static int
pos_cmp(int64_t ts1, uint32_t src1, uint64_t off1, int64_t ts2, uint32_t src2, uint64_t off2)
{
	if (ts1 != ts2)
		return ts1 < ts2 ? -1 : 1;
	if (src1 != src2)
		return src1 < src2 ? -1 : 1;
	return off1 < off2 ? -1 : off1 > off2;
}

/* Orders keys of one stream: position, then row number. */
static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = pos_cmp(x->ts, x->src, x->off, y->ts, y->src, y->off);

	return c ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* x comes before y in position (streams break the tie). */
static int
key_before(const struct key *x, const struct key *y)
{
	return pos_cmp(x->ts, x->src, x->off, y->ts, y->src, y->off) < 0;
}

/* Orders source ids (for ranking). */
static int
i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Replaces first-sighting source indexes by ranks of the ids and sorts each
 * table's stream.
 */
static int
order_streams(struct dbload *d)
{
	uint32_t *rank = NULL;
	int64_t *sorted = NULL;
	size_t i;
	int s;

	if (d->nsrc > 1) {
		rank = malloc(d->nsrc * sizeof(*rank));
		sorted = malloc(d->nsrc * sizeof(*sorted));
		if (rank == NULL || sorted == NULL) {
			free(rank);
			free(sorted);
			return -1;
		}
		memcpy(sorted, d->srcid, d->nsrc * sizeof(*sorted));
		qsort(sorted, d->nsrc, sizeof(*sorted), i64_cmp);
		for (i = 0; i < d->nsrc; i++) {
			const int64_t *p = bsearch(&d->srcid[i], sorted, d->nsrc, sizeof(*sorted),
			    i64_cmp);

			rank[i] = (uint32_t)(p - sorted);
		}
	}
	for (s = 0; s < S_N; s++) {
		struct stream *q = &d->s[s];
		int is_sorted = 1;

		for (i = 0; i < q->n; i++) {
			if (rank != NULL)
				q->k[i].src = rank[q->k[i].src];
			if (i > 0 && is_sorted && key_cmp(&q->k[i - 1], &q->k[i]) > 0)
				is_sorted = 0;
		}
		if (!is_sorted)
			qsort(q->k, q->n, sizeof(*q->k), key_cmp);
	}
	free(rank);
	free(sorted);
	return 0;
}

/* Reads every row of one kind into d; 0, or -1 with err set. */
static int
load_kind(struct st_store *st, enum st_kind kind, const struct st_filter *f,
    struct dbload *d, struct fs_err *err)
{
	struct st_cursor *c = st_cursor_open(st, kind, f, err);
	const union st_row *r;
	int rc, stop = 0;

	if (c == NULL)
		return -1;
	while (!stop && (rc = st_cursor_next(c, &r, err)) == 1) {
		switch (kind) {
		case ST_WRITES:
			stop = on_write(d, &r->write);
			break;
		case ST_RPCS:
			stop = on_rpc(d, &r->rpc);
			break;
		case ST_STATES:
			stop = on_state(d, &r->state);
			break;
		case ST_FORCED:
			stop = on_forced(d, &r->forced);
			break;
		case ST_EPISODES:
			stop = on_episode(d, &r->episode);
			break;
		default:
			stop = on_thread(d, &r->thread);
			break;
		}
	}
	st_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

/* Reads every kind of row the workload needs (of one client, or all) into d. */
static int
load(struct st_store *st, const char *path, const char *client, struct dbload *d,
    struct fs_err *err)
{
	static const enum st_kind order[] = { ST_WRITES, ST_RPCS, ST_STATES, ST_FORCED,
	    ST_EPISODES, ST_THREAD_STATS };
	struct st_filter f;
	size_t i;

	st_filter_init(&f);
	f.client = client;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (load_kind(st, order[i], &f, d, err) < 0)
			return -1;
	if (d->overflow) {
		fs_err_set(err, EOVERFLOW, "%s: more than %" PRIu32 " rows of one kind", path,
		    UINT32_MAX);
		return -1;
	}
	if (d->oom || order_streams(d) < 0) {
		fs_err_set(err, ENOMEM, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

/* Starts the event of a key: reset, time, offset, thread, empty message. */
static void
ev_start(struct ps_event *ev, const struct dbload *d, int64_t ts, uint64_t off,
    uint32_t thread, char *msg, uint64_t lineno)
{
	ps_event_reset(ev);
	ev->ts_us = ts;
	ev->src_off = off;
	ev->lineno = lineno;
	ev->thread.p = d->name[thread];
	ev->thread.n = strlen(d->name[thread]);
	msg[0] = '\0';
	ev->msg.p = msg;
	ev->msg.n = 0;
}

/* Sets the event's attributed bmap (the store kept the attribution). */
static void
ev_bmap(struct ps_event *ev, uint64_t fid, uint32_t bno)
{
	ev->bm_known = 1;
	ev->bm_fid = fid;
	ev->bm_bno = bno;
}

/* The next row in log order as an item: 1, or 0 when none is left. */
static int
db_next(void *arg, struct ps_item *it, struct fs_err *err)
{
	struct dbload *d = arg;
	struct ps_event *ev = &it->ev;
	const struct key *k;
	int s, best = -1;

	(void)err;
	for (s = 0; s < S_N; s++)
		if (d->pos[s] < d->s[s].n && (best < 0 ||
		    key_before(&d->s[s].k[d->pos[s]], &d->s[best].k[d->pos[best]])))
			best = s;
	if (best < 0)
		return 0;
	k = &d->s[best].k[d->pos[best]++];
	memset(it, 0, sizeof(*it));
	it->parsed = 1;
	it->off = k->off;
	it->lineno = ++d->lineno;
	switch (best) {
	case S_WRITE: {
		const struct rwrite *r = &d->w[k->idx];

		ev_start(ev, d, k->ts, k->off, r->thread, d->msg, it->lineno);
		ev->msg_id = (enum ps_msg)r->msg_id;
		/* a write's arrival, or (eras A-C) its extent as it goes in flight */
		ev->kind = ev->msg_id == PS_MSG_A_SET_INFLIGHT ? PS_EV_SCHEDULE : PS_EV_WRITE_READY;
		if (r->flags & W_BMAP) {
			ev->has |= PS_HAS_BMAP;
			ev->bmap.fid = r->fid;
			ev->bmap.bno = r->bno;
			ev->bmap.addr = r->bmap_addr;
			ev_bmap(ev, r->fid, r->bno);
		}
		if (r->flags & W_BIORQ) {
			ev->has |= PS_HAS_BIORQ;
			ev->biorq.addr = r->biorq_addr;
			ev->biorq.bmap_addr = r->bmap_addr;
			ev->biorq.off = r->off;
			ev->biorq.len = r->len;
			ev->biorq.flags = ev->kind == PS_EV_SCHEDULE ? 0x232 : 0x2;	/* wsi / w */
		} else if (r->flags & W_MSG) {
			snprintf(d->msg, sizeof(d->msg), "biorq=0x%" PRIx64, r->biorq_addr);
			ev->msg.n = strlen(d->msg);
		}
		break;
	}
	case S_RPC: {
		const struct rrpc *r = &d->r[k->idx];

		ev_start(ev, d, k->ts, k->off, r->thread, d->msg, it->lineno);
		ev->kind = r->done ? PS_EV_RPC_DONE : PS_EV_RPC_SEND;
		if (r->xid >= 0) {
			ev->has |= PS_HAS_REQ;
			ev->req.xid = r->xid;
			ev->req.addr = r->req_addr;
		}
		ev->rpc_off = r->off;
		ev->rpc_sz = r->sz;
		ev->outstanding = r->outstanding;
		ev->rpc_fid = r->fid;
		ev->rpc_bno = r->bno;
		ev->bwc_addr = r->bwc_addr;
		if (r->bno >= 0)
			ev_bmap(ev, r->fid, (uint32_t)r->bno);
		break;
	}
	default: {
		const struct rstate *r = &d->st[k->idx];

		ev_start(ev, d, k->ts, k->off, r->thread, d->msg, it->lineno);
		ev->kind = (enum ps_ev_kind)r->kind;
		ev->msg_id = (enum ps_msg)r->msg_id;
		ev->has |= PS_HAS_BMAP;
		ev->bmap.fid = r->fid;
		ev->bmap.bno = r->bno;
		ev->bmap.addr = r->addr;
		ev->bmap.flags = r->flags;
		ev->bmap.opcnt = r->opcnt;
		ev_bmap(ev, r->fid, r->bno);
		break;
	}
	}
	return 1;
}

/* Frees what d holds. */
static void
dbload_free(struct dbload *d)
{
	size_t i;
	int s;

	for (s = 0; s < S_N; s++)
		free(d->s[s].k);
	free(d->w);
	free(d->r);
	free(d->st);
	free(d->ep);
	for (i = 0; i < d->nname; i++)
		free(d->name[i]);
	free(d->name);
	fs_map_free(&d->names);
	free(d->srcid);
	fs_map_free(&d->srcs);
	free(d->forced);
}

/* Opens the database at path and loads it into d (freed by the caller). */
static int
open_load(const char *path, const char *client, struct dbload *d, struct fs_err *err)
{
	struct st_store *st;
	int rc;

	memset(d, 0, sizeof(*d));
	d->fig.pass_period_us = d->fig.sleep_us = d->fig.line_us = -1;
	d->fig.first_pass_us = INT64_MIN;
	if ((st = st_open(path, ST_OPEN_READONLY, err)) == NULL)
		return -1;
	rc = load(st, path, client, d, err);
	st_close(st);
	return rc;
}

/* Frees a loaded database (the pull source's close). */
static void
db_close(void *arg)
{
	dbload_free(arg);
	free(arg);
}

static const struct ps_source_ops db_ops = { db_next, db_close };

/* A source over the rows of a database, in log order. */
struct ps_source *
wl_db_source(const char *path, struct fs_err *err)
{
	struct dbload *d = malloc(sizeof(*d));

	if (d == NULL) {
		fs_err_set(err, ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	if (open_load(path, NULL, d, err) < 0) {
		db_close(d);
		return NULL;
	}
	return ps_source_new(&db_ops, d, err);
}

/* Calls cb with every event of the database in the order it is extracted. */
int
wl_db_events(const char *path, int (*cb)(void *arg, const struct ps_event *ev), void *arg,
    struct fs_err *err)
{
	struct ps_source *src = wl_db_source(path, err);
	struct ps_item it;
	int rc;

	if (src == NULL)
		return -1;
	while ((rc = ps_source_next(src, &it, err)) == 1)
		if ((rc = cb(arg, &it.ev)) != 0)
			break;
	ps_source_close(src);
	return rc;
}

/* Extracts the workload of a database. */
int
wl_load_db(struct wl_workload *w, const char *path, const struct wl_extract_opts *o,
    struct fs_err *err)
{
	struct dbload d;
	struct wl_extractor *x = NULL;
	struct ps_item it;
	size_t i;
	int rc = -1;

	if (open_load(path, o != NULL ? o->client : NULL, &d, err) < 0)
		goto out;
	if ((x = wl_extract_new(o, err)) == NULL)
		goto out;
	while ((rc = db_next(&d, &it, err)) == 1)
		if ((rc = wl_extract_feed(x, &it.ev, err)) < 0)
			goto out;
	rc = -1;
	for (i = 0; i < d.nep; i++)
		if (wl_extract_run(x, d.ep[i].fid, d.ep[i].bno, d.ep[i].start, d.ep[i].end,
		    INT64_MIN, err) < 0)
			goto out;
	if (d.best_passes > 0)
		wl_extract_figures(x, &d.fig);
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
	rc = 0;
out:
	if (rc < 0)
		fs_err_name(err, path);
	wl_extract_free(x);
	dbload_free(&d);
	return rc;
}
