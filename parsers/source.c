/*
 * parsers/source: parsing and attribution of one stream, and the pull
 * iterator over inputs (see parsers/source.h).
 *
 * Attribution tables: two generations of (key -> bmap identity) maps, one
 * for bmap addresses and one for each thread's latest EXAMINE.  Look-ups
 * try the current generation, then the previous one (promoting a hit);
 * every PS_ATTRIB_WINDOW_US of log time the previous generation is
 * dropped and the current one becomes the previous.  So an address or a
 * thread is remembered for at least one window after it was last seen, and
 * memory follows what the log used recently, never its length.
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

/* A two-generation table. */
struct at_table {
	struct at_gen g[2];
	int cur;
};

struct ps_stream {
	struct ps_parser *parser;
	const char *log_format;
	struct at_table addr;		/* (bmap address, 0) -> bmap */
	struct at_table exam;		/* (thread hash, tid hash) -> bmap of its latest EXAMINE */
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
}

/* Sets key (a, b) to bmap id in the current generation. */
static void
table_put(struct ps_stream *st, struct at_table *t, uint64_t a, uint64_t b, uint64_t fid,
    uint32_t bno)
{
	struct at_gen *g = &t->g[t->cur];
	struct at_bmap id = { fid, bno };
	uint32_t v;

	if (fs_map_get(&g->map, a, b, &v)) {
		g->ids.v[v] = id;
		return;
	}
	if (g->ids.n >= UINT32_MAX || fs_vec_push(&g->ids, id) != 0 ||
	    fs_map_put(&g->map, a, b, (uint32_t)(g->ids.n - 1)) != 0)
		st->oom = 1;
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

/* The thread key of an event: hashes of its name and of its tid as logged. */
static void
thread_key(const struct ps_event *ev, uint64_t *a, uint64_t *b)
{
	*a = fs_fnv1a(ev->thread.p, ev->thread.n);
	*b = fs_fnv1a(ev->tid_s.p, ev->tid_s.n);
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
	table_free(&st->exam);
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

/* Attributes an event and learns from it. */
void
ps_stream_attribute(struct ps_stream *st, struct ps_event *ev)
{
	struct at_bmap id;
	uint64_t ta, tb;
	int thread_attr;

	ev->bm_known = 0;
	if (ev->ts_us != INT64_MIN) {
		if (st->gen_start == INT64_MIN)
			st->gen_start = ev->ts_us;
		else if (ev->ts_us - st->gen_start > PS_ATTRIB_WINDOW_US) {
			table_rotate(&st->addr);
			table_rotate(&st->exam);
			st->gen_start = ev->ts_us;
		}
	}
	if (ev->has & PS_HAS_BMAP) {
		attr_set(ev, ev->bmap.fid, ev->bmap.bno);
		if (ev->bmap.addr != 0)
			table_put(st, &st->addr, ev->bmap.addr, 0, ev->bmap.fid, ev->bmap.bno);
		if (ev->kind == PS_EV_EXAMINE && ev->thread.n > 0) {
			thread_key(ev, &ta, &tb);
			table_put(st, &st->exam, ta, tb, ev->bmap.fid, ev->bmap.bno);
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
	 * last.  A new biorq becoming ready (a writer thread) does not.
	 */
	thread_attr = ev->kind == PS_EV_RPC_SEND || ev->kind == PS_EV_SCHEDULE ||
	    ((ev->has & PS_HAS_BIORQ) && ev->kind != PS_EV_WRITE_READY);
	if (!thread_attr || ev->thread.n == 0)
		return;
	thread_key(ev, &ta, &tb);
	if (!table_get(st, &st->exam, ta, tb, &id))
		return;
	if (ev->kind == PS_EV_RPC_SEND && ev->rpc_fid != 0 && ev->rpc_fid != id.fid)
		return;		/* the RPC names another file */
	attr_set(ev, id.fid, id.bno);
}

/* Parses and attributes one line. */
int
ps_stream_line(struct ps_stream *st, const char *line, size_t len, uint64_t off,
    uint64_t lineno, struct ps_event *ev)
{
	int parsed = ps_parser_parse(st->parser, line, len, off, lineno, ev);

	if (parsed)
		ps_stream_attribute(st, ev);
	else
		ev->bm_known = 0;
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
