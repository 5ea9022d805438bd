/*
 * parsers/source: parsing and attribution of one stream, and the pull
 * iterator over inputs (see parsers/source.h).
 *
 * Threads: each (name, tid) gets a number (ev->thr) in order of first
 * appearance, through a hash table and a one-entry cache of the last
 * thread (consecutive lines mostly come from one thread); each thread's
 * latest EXAMINE is kept by number.
 *
 * Addresses: two generations of (address -> bmap identity) maps.  Look-ups
 * try the current generation, then the previous one (promoting a hit);
 * every PS_ATTRIB_WINDOW_US of log time the previous generation is
 * dropped and the current one becomes the previous.  So an address is
 * remembered for at least one window after it was last seen, and memory
 * follows what the log used recently, never its length.
 */
#include "parsers/source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/parser.h"
#include "util/hash.h"
#include "util/map.h"
#include "util/vec.h"

struct at_bmap {
	uint64_t fid;
	uint32_t bno;
};

/* One generation of one table: key -> index into ids. */
struct at_gen {
	struct fs_map map;
	FS_VEC(struct at_bmap) ids;
};

/* A two-generation table, with the last key put (a cache). */
struct at_table {
	struct at_gen g[2];
	int cur;
	int last_ok, last_gen;
	uint64_t last_a, last_b;
	uint32_t last_v;
};

/* One numbered thread: its name and tid (for the cache) and latest EXAMINE. */
struct at_thread {
	char name[64], tid[64];
	uint8_t namelen, tidlen;
	int has_exam;
	struct at_bmap exam;
};

struct ps_stream {
	struct ps_parser *parser;
	const char *log_format;
	struct at_table addr;		/* (bmap address, 0) -> bmap */
	struct fs_map thmap;		/* (name hash, tid hash) -> thread number */
	FS_VEC(struct at_thread) th;
	int32_t last_thr;		/* the previous line's thread */
	int64_t gen_start;		/* log time the current generation began */
	int oom;			/* a table could not grow: attribution degrades, never fails */
};

/* Empties a table generation. */
static void
gen_clear(struct at_gen *g)
{
	fs_map_clear(&g->map);
	g->ids.n = 0;
}

/* Frees a table. */
static void
table_free(struct at_table *t)
{
	int i;

	for (i = 0; i < 2; i++) {
		fs_map_free(&t->g[i].map);
		fs_vec_free(&t->g[i].ids);
	}
}

/* Drops the previous generation; the current one becomes the previous. */
static void
table_rotate(struct at_table *t)
{
	t->cur ^= 1;
	gen_clear(&t->g[t->cur]);
	t->last_ok = 0;
}

/* Sets key (a, b) to bmap id in the current generation. */
static void
table_put(struct ps_stream *st, struct at_table *t, uint64_t a, uint64_t b, uint64_t fid,
    uint32_t bno)
{
	struct at_gen *g = &t->g[t->cur];
	struct at_bmap id = { fid, bno };
	uint32_t v;

	if (t->last_ok && t->last_a == a && t->last_b == b && t->last_gen == t->cur &&
	    g->ids.v[t->last_v].fid == fid && g->ids.v[t->last_v].bno == bno)
		return;		/* the same as the last put: nothing changes */
	if (fs_map_get(&g->map, a, b, &v)) {
		g->ids.v[v] = id;
		t->last_ok = 1;
		t->last_a = a;
		t->last_b = b;
		t->last_v = v;
		t->last_gen = t->cur;
		return;
	}
	if (g->ids.n >= UINT32_MAX || fs_vec_push(&g->ids, id) != 0 ||
	    fs_map_put(&g->map, a, b, (uint32_t)(g->ids.n - 1)) != 0) {
		st->oom = 1;
		return;
	}
	v = (uint32_t)(g->ids.n - 1);
	t->last_ok = 1;
	t->last_a = a;
	t->last_b = b;
	t->last_v = v;
	t->last_gen = t->cur;
}

/* Looks key (a, b) up in both generations; 1 and *out if found. */
static int
table_get(struct ps_stream *st, struct at_table *t, uint64_t a, uint64_t b,
    struct at_bmap *out)
{
	uint32_t v;

	if (fs_map_get(&t->g[t->cur].map, a, b, &v)) {
		*out = t->g[t->cur].ids.v[v];
		return 1;
	}
	if (fs_map_get(&t->g[t->cur ^ 1].map, a, b, &v)) {
		*out = t->g[t->cur ^ 1].ids.v[v];
		table_put(st, t, a, b, out->fid, out->bno);	/* still in use */
		return 1;
	}
	return 0;
}

/* 1 if thread t is the event's (name and tid as logged). */
static int
thread_is(const struct at_thread *t, const struct ps_event *ev)
{
	return t->namelen == ev->thread.n && t->tidlen == ev->tid_s.n &&
	    memcmp(t->name, ev->thread.p, ev->thread.n) == 0 &&
	    (ev->tid_s.n == 0 || memcmp(t->tid, ev->tid_s.p, ev->tid_s.n) == 0);
}

/* The event's thread number, numbering a new thread; -1 if none. */
static int32_t
thread_number(struct ps_stream *st, const struct ps_event *ev)
{
	struct at_thread t;
	uint64_t a, b;
	uint32_t v;

	if (ev->thread.n == 0 || ev->thread.n >= sizeof(t.name) || ev->tid_s.n >= sizeof(t.tid))
		return -1;
	if (st->last_thr >= 0 && thread_is(&st->th.v[st->last_thr], ev))
		return st->last_thr;
	a = fs_fnv1a(ev->thread.p, ev->thread.n);
	b = fs_fnv1a(ev->tid_s.p, ev->tid_s.n);
	if (fs_map_get(&st->thmap, a, b, &v) && thread_is(&st->th.v[v], ev))
		return st->last_thr = (int32_t)v;
	if (st->th.n >= PS_THREADS_MAX)
		return -1;
	memset(&t, 0, sizeof(t));
	memcpy(t.name, ev->thread.p, ev->thread.n);
	if (ev->tid_s.n > 0)	/* p may be NULL when there is no tid */
		memcpy(t.tid, ev->tid_s.p, ev->tid_s.n);
	t.namelen = (uint8_t)ev->thread.n;
	t.tidlen = (uint8_t)ev->tid_s.n;
	if (fs_vec_push(&st->th, t) != 0 ||
	    fs_map_put(&st->thmap, a, b, (uint32_t)(st->th.n - 1)) != 0) {
		st->oom = 1;
		return -1;
	}
	return st->last_thr = (int32_t)(st->th.n - 1);
}

/* Creates a stream. */
struct ps_stream *
ps_stream_new(const char *log_format, struct fs_err *err)
{
	struct ps_stream *st = calloc(1, sizeof(*st));

	if (st == NULL) {
		fs_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	st->log_format = log_format;
	st->gen_start = INT64_MIN;
	st->last_thr = -1;
	if ((st->parser = ps_parser_new(log_format, err)) == NULL) {
		free(st);
		return NULL;
	}
	return st;
}

/* Starts a new input generation: the format is detected again. */
int
ps_stream_reset(struct ps_stream *st, struct fs_err *err)
{
	struct ps_parser *p = ps_parser_new(st->log_format, err);

	if (p == NULL)
		return -1;
	ps_parser_free(st->parser);
	st->parser = p;
	return 0;
}

/* The stream's parser. */
const struct ps_parser *
ps_stream_parser(const struct ps_stream *st)
{
	return st->parser;
}

/* Frees a stream. */
void
ps_stream_free(struct ps_stream *st)
{
	if (st == NULL)
		return;
	ps_parser_free(st->parser);
	table_free(&st->addr);
	fs_map_free(&st->thmap);
	fs_vec_free(&st->th);
	free(st);
}

/* Sets the event's attributed bmap. */
static void
attr_set(struct ps_event *ev, uint64_t fid, uint32_t bno)
{
	ev->bm_known = 1;
	ev->bm_fid = fid;
	ev->bm_bno = bno;
}

/*
 * Marks the line that starts a forced flush (fsync, close, flush(2)):
 * a forced marker (ps_msg_forced), or an era-A flush-path biorq line with
 * BIORQ_FORCE_EXPIRE (0x80) set.  A biorq is forced once: its later
 * markers and flagged lines are the same flush, until a new biorq becomes
 * ready at its address.  Keys (biorq address, 1) of the address table
 * hold 1 (forced) or 0.
 */
static void
mark_forced(struct ps_stream *st, struct ps_event *ev)
{
	struct at_bmap v;
	int forced = ps_msg_forced(ev->msg_id);

	ev->forced = 0;
	if (!(ev->has & PS_HAS_BIORQ)) {
		ev->forced = (uint8_t)forced;	/* bmap or file: each marker is one */
		return;
	}
	switch (ev->msg_id) {
	case PS_MSG_A_FLUSHRDY: case PS_MSG_A_CONSIDER: case PS_MSG_A_TRY_FLUSH_BIORQ:
	case PS_MSG_A_SET_INFLIGHT: case PS_MSG_A_DESCHEDULING:
		forced |= (ev->biorq.flags & 0x80) != 0;
		break;
	default:
		break;
	}
	if (forced) {
		if (table_get(st, &st->addr, ev->biorq.addr, 1, &v) && v.fid == 1)
			return;
		table_put(st, &st->addr, ev->biorq.addr, 1, 1, 0);
		ev->forced = 1;
	} else if (ev->kind == PS_EV_WRITE_READY &&
	    table_get(st, &st->addr, ev->biorq.addr, 1, &v) && v.fid == 1)
		table_put(st, &st->addr, ev->biorq.addr, 1, 0, 0);	/* a new biorq */
}

/* Attributes an event to its bmap and learns from it. */
static void
attribute_bmap(struct ps_stream *st, struct ps_event *ev)
{
	struct at_bmap id;
	struct at_thread *t;
	int thread_attr;

	ev->bm_known = 0;
	ev->thr = thread_number(st, ev);
	t = ev->thr >= 0 ? &st->th.v[ev->thr] : NULL;
	if (ev->ts_us != INT64_MIN) {
		if (st->gen_start == INT64_MIN)
			st->gen_start = ev->ts_us;
		else if (ev->ts_us - st->gen_start > PS_ATTRIB_WINDOW_US) {
			table_rotate(&st->addr);
			st->gen_start = ev->ts_us;
		}
	}
	if (ev->has & PS_HAS_BMAP) {
		attr_set(ev, ev->bmap.fid, ev->bmap.bno);
		if (ev->bmap.addr != 0)
			table_put(st, &st->addr, ev->bmap.addr, 0, ev->bmap.fid, ev->bmap.bno);
		if ((ev->kind == PS_EV_EXAMINE || ev->kind == PS_EV_SCHEDULE) && t != NULL) {
			t->has_exam = 1;
			t->exam.fid = ev->bmap.fid;
			t->exam.bno = ev->bmap.bno;
		}
		return;
	}
	if ((ev->has & PS_HAS_BIORQ) && ev->biorq.bmap_addr != 0 &&
	    table_get(st, &st->addr, ev->biorq.bmap_addr, 0, &id)) {
		attr_set(ev, id.fid, id.bno);
		return;
	}
	if (ev->kind == PS_EV_RPC_SEND && ev->rpc_fid != 0 && ev->rpc_bno >= 0) {
		attr_set(ev, ev->rpc_fid, (uint32_t)ev->rpc_bno);
		return;
	}
	/*
	 * The flush thread's own lines without a bmap of their own: the RPCs
	 * it builds and the biorqs it handles belong to the bmap it examined
	 * or started to flush last (from 2010-10 a pass checks every bmap
	 * first, then logs `try flush` for each one it flushes).  A new biorq
	 * becoming ready (a writer thread) does not.
	 */
	thread_attr = ev->kind == PS_EV_RPC_SEND || ev->kind == PS_EV_SCHEDULE ||
	    ((ev->has & PS_HAS_BIORQ) && ev->kind != PS_EV_WRITE_READY);
	if (!thread_attr || t == NULL || !t->has_exam)
		return;
	if (ev->kind == PS_EV_RPC_SEND && ev->rpc_fid != 0 && ev->rpc_fid != t->exam.fid)
		return;		/* the RPC names another file */
	attr_set(ev, t->exam.fid, t->exam.bno);
}

/* Attributes an event and learns from it. */
void
ps_stream_attribute(struct ps_stream *st, struct ps_event *ev)
{
	attribute_bmap(st, ev);
	mark_forced(st, ev);
}

/* Parses and attributes one line. */
int
ps_stream_line(struct ps_stream *st, const char *line, size_t len, uint64_t off,
    uint64_t lineno, struct ps_event *ev)
{
	int parsed = ps_parser_parse(st->parser, line, len, off, lineno, ev);

	if (parsed)
		ps_stream_attribute(st, ev);
	else {
		ev->bm_known = 0;
		ev->thr = -1;
		ev->forced = 0;
	}
	return parsed;
}

/* ---- sources ---- */

struct ps_source {
	const struct ps_source_ops *ops;
	void *impl;
	/* file sources */
	struct ps_reader *rd;
	struct ps_stream *st;
	const char *path;
	uint64_t lineno;
};

/* A source over another producer. */
struct ps_source *
ps_source_new(const struct ps_source_ops *ops, void *impl, struct fs_err *err)
{
	struct ps_source *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		fs_err_set(err, ENOMEM, "out of memory");
		if (ops->close != NULL)
			ops->close(impl);
		return NULL;
	}
	s->ops = ops;
	s->impl = impl;
	return s;
}

/* Opens a log file as a source. */
struct ps_source *
ps_source_open(const char *path, const char *log_format, struct fs_err *err)
{
	struct ps_source *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		fs_err_set(err, ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	s->path = path;
	if ((s->rd = ps_reader_open(path, 0, err)) == NULL ||
	    (s->st = ps_stream_new(log_format, err)) == NULL) {
		ps_source_close(s);
		return NULL;
	}
	return s;
}

/* Next item of a source. */
int
ps_source_next(struct ps_source *s, struct ps_item *it, struct fs_err *err)
{
	int rc;

	if (s->ops != NULL)
		return s->ops->next(s->impl, it, err);
	rc = ps_reader_next(s->rd, &it->line, &it->len, &it->off, err);
	if (rc != 1)
		return rc;
	it->lineno = ++s->lineno;
	it->end = ps_reader_offset(s->rd);
	it->unterminated = ps_reader_unterminated(s->rd);
	it->cut = ps_reader_last_cut(s->rd);
	it->parsed = ps_stream_line(s->st, it->line, it->len, it->off, it->lineno, &it->ev);
	return 1;
}

/* The reader's offset (file sources). */
uint64_t
ps_source_offset(const struct ps_source *s)
{
	return s->rd != NULL ? ps_reader_offset(s->rd) : 0;
}

/* 1 if a file source is gzip-compressed. */
int
ps_source_is_gz(const struct ps_source *s)
{
	return s->rd != NULL && ps_reader_is_gz(s->rd);
}

/* The parser of a file source. */
const struct ps_parser *
ps_source_parser(const struct ps_source *s)
{
	return s->st != NULL ? ps_stream_parser(s->st) : NULL;
}

/* Closes a source. */
void
ps_source_close(struct ps_source *s)
{
	if (s == NULL)
		return;
	if (s->ops != NULL && s->ops->close != NULL)
		s->ops->close(s->impl);
	if (s->rd != NULL)
		ps_reader_close(s->rd);
	ps_stream_free(s->st);
	free(s);
}
