/*
 * parsers/source: parsing and attribution of one stream, and the pull
 * iterator over inputs (see parsers/source.h).
 *
 * Threads: each (name, tid) gets a number (ev->thr) in order of first
 * appearance, through a hash table and a one-entry cache of the last
 * thread (consecutive lines mostly come from one thread); each thread's
 * current bmap (its latest EXAMINE or bmap-level `try flush`) is kept by
 * number.
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
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parsers/parser.h"
#include "util/bytes.h"
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

/* One numbered thread: its name and tid (for the cache) and current bmap. */
struct at_thread {
	char name[64], tid[64];
	uint8_t namelen, tidlen;
	int has_exam;
	struct at_bmap exam;
	uint64_t bwc;			/* its latest `bwc cb arg (%p)`, for its next RPC */
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

/*
 * 1 if thread t is the event's (name and tid as logged).  Every line asks
 * (two memcmp calls were 2 % of an ingest; fs_bytes_eq has no call).
 */
static int
thread_is(const struct at_thread *t, const struct ps_event *ev)
{
	return t->namelen == ev->thread.n && t->tidlen == ev->tid_s.n &&
	    fs_bytes_eq(t->name, ev->thread.p, ev->thread.n) &&
	    fs_bytes_eq(t->tid, ev->tid_s.p, ev->tid_s.n);
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
		/*
		 * The bmap the thread works on: its EXAMINE (era A sends right
		 * after it), or the bmap-level `try flush` of the second phase
		 * of a 2010-10..HEAD pass (the scan examined others since).
		 */
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

/*
 * HEAD builds each run's write-RPC context (bwc), logs `bwc cb arg (%p)`,
 * then sends the run as one RPC: that send gets the thread's bwc, which
 * its `callback to write RPC bwc=%p` names.
 */
static void
attribute_bwc(struct ps_stream *st, struct ps_event *ev)
{
	struct at_thread *t = ev->thr >= 0 ? &st->th.v[ev->thr] : NULL;

	if (t == NULL)
		return;
	if (ev->msg_id == PS_MSG_Z_BWC_CB_ARG)
		t->bwc = ev->bwc_addr;
	else if (ev->kind == PS_EV_RPC_SEND && ev->bwc_addr == 0) {
		ev->bwc_addr = t->bwc;
		t->bwc = 0;
	}
}

/* Attributes an event and learns from it. */
void
ps_stream_attribute(struct ps_stream *st, struct ps_event *ev)
{
	attribute_bmap(st, ev);
	attribute_bwc(st, ev);
	mark_forced(st, ev);
}

/*
 * Attributes a line's event in stream order: a parsed line as
 * ps_stream_attribute does; an unparsed one has no bmap, thread or forced
 * mark.
 */
static void
stream_attribute_item(struct ps_stream *st, int parsed, struct ps_event *ev)
{
	if (parsed)
		ps_stream_attribute(st, ev);
	else {
		ev->bm_known = 0;
		ev->thr = -1;
		ev->forced = 0;
	}
}

/* Parses and attributes one line. */
int
ps_stream_line(struct ps_stream *st, const char *line, size_t len, uint64_t off,
    uint64_t lineno, struct ps_event *ev)
{
	int parsed = ps_parser_parse(st->parser, line, len, off, lineno, ev);

	stream_attribute_item(st, parsed, ev);
	return parsed;
}

/* ---- sources ---- */

/*
 * Parallel reading (s->workers parser threads: ps_source_open's jobs >= 2).
 *
 * Chunks: a ring of PAR_NCK(workers) buffers; chunk number seq lives in slot
 * seq % nck and goes FREE -> FILLING (reader) -> READY -> PARSING (a
 * parser, or the caller) -> PARSED -> (read by the caller) -> FREE.  The
 * reader fills them in order, parsers take READY ones in order, the caller
 * reads them in order.  Every state change is made under mu.
 *
 * A chunk holds whole lines from a line start: the bytes after its last
 * newline are carried to the next chunk.  A chunk without a newline grows
 * (reads of PAR_CHUNK at most, so what is carried stays small) until one
 * shows or the line passes max_line; then the chunk holds the line's first
 * max_line bytes (cut) and the rest is read and dropped up to its newline,
 * as ps_reader does.  At most one chunk buffer is larger than PAR_CHUNK at
 * a time: growing one waits until the caller has released the other.
 *
 * The caller takes chunk cons_seq: a parsed one whose guessed start state
 * equals its own parser's state and that saw no new format is read item by
 * item (attribution only); any other is parsed line by line by the caller
 * (a READY one is taken rather than waited for).  After each chunk the
 * caller's parser state is published as the next guess.
 */
#define PAR_CHUNK	((size_t)256 << 10)	/* bytes of text a chunk is filled with (default) */
#define PAR_NCK(workers)	(2 * (workers) + 2)	/* chunks in the ring */
#define PAR_STACK	((size_t)512 << 10)	/* stack of the reader and parser threads */

enum { CK_FREE, CK_FILLING, CK_READY, CK_PARSING, CK_PARSED };

struct chunk {
	char *buf;
	size_t cap, len;		/* text: buf[0, len) */
	uint64_t off;			/* stream offset of buf[0] */
	uint64_t seq;
	int state;
	int last;			/* nothing follows this chunk */
	int unterminated;		/* its last line ends the input without a newline */
	int cut;			/* buf[0, len) starts a line longer than max_line */
	uint64_t cut_end;		/* that line's end offset (past its newline) */
	int failed;			/* a read error follows its lines (err) */
	struct fs_err err;
	/* a parser's work */
	struct ps_item *items;
	size_t nitems, icap;
	int has_items;
	struct ps_parser_state start, end;
};

struct par;

/* What a parser thread is given. */
struct worker_arg {
	struct par *pa;
	struct ps_parser *p;
};

struct par {
	pthread_mutex_t mu;
	pthread_cond_t cv_reader, cv_work, cv_cons;
	struct chunk *ck;
	int nck;
	uint64_t fill_seq;		/* the next chunk the reader fills */
	uint64_t parse_seq;		/* the next chunk a parser takes */
	uint64_t cons_seq;		/* the chunk the caller reads */
	int reader_done;		/* the reader filled its last chunk */
	int quit;
	int stop;			/* quit, for the reader's reads (atomic) */
	int nbig;			/* chunk buffers larger than the chunk size */
	struct ps_parser_state guess;	/* the caller's parser state after its last chunk */
	const char *log_format;
	size_t chunk;			/* bytes of text a chunk is filled with */
	size_t max_line;
	struct ps_reader *rd;
	pthread_t reader;
	int reader_started;
	pthread_t *workers;
	struct worker_arg *wargs;
	struct ps_parser **wparser;	/* one per parser thread */
	int nparsers, nworkers;		/* parsers made, threads started */
	/* the reader's */
	char *carry;			/* bytes after the last chunk's last newline */
	size_t carry_len, carry_cap;
	uint64_t rd_off;		/* stream offset of the next byte read */
	int eof;
	/* the caller's */
	struct chunk *cur;		/* being read; NULL between chunks */
	int lines_mode;			/* cur is parsed line by line here */
	size_t pos, idx;		/* next byte (lines mode) or item */
	int sticky;			/* 0 or -1 once the end or an error was returned */
	struct fs_err sticky_err;
};

struct ps_source {
	const struct ps_source_ops *ops;
	void *impl;
	/* file sources */
	struct ps_reader *rd;
	struct ps_stream *st;
	const char *path;
	const char *log_format;
	uint64_t lineno;
	uint64_t last_end;		/* end of the last item (parallel reading) */
	struct ps_item item;		/* the item handed out when no chunk holds it */
	int workers;			/* parser threads; 0: sequential */
	int par_tried;
	size_t chunk, max_line;		/* ps_source_tune (0: defaults) */
	struct par *par;		/* running parallel reading; NULL: sequential */
};

/* The default number of parser threads (see source.h). */
int
ps_jobs_default(int busy)
{
	long n = 0;
#ifdef CPU_COUNT
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
#endif
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	n -= busy > 0 ? busy : 0;
	if (n <= 1)
		return 1;
	return n > PS_JOBS_MAX_USEFUL ? PS_JOBS_MAX_USEFUL : (int)n;
}

/* Copies a parser state, with its inferred formats; -1 out of memory. */
static int
state_copy(struct ps_parser_state *dst, const struct ps_parser_state *src)
{
	int i;

	*dst = *src;
	for (i = 0; i < PS_PARSER_MAX_FMTS; i++)
		if (src->inferred[i] != NULL &&
		    (dst->inferred[i] = strdup(src->inferred[i])) == NULL) {
			while (i-- > 0) {
				free(dst->inferred[i]);
				dst->inferred[i] = NULL;
			}
			return -1;
		}
	return 0;
}

/*
 * Splits the line at c->buf[*pos] into it (line, len, off, end,
 * unterminated, cut) and moves *pos past it, as ps_reader_next would.
 */
static void
chunk_line(const struct chunk *c, size_t *pos, size_t max_line, struct ps_item *it)
{
	const char *p = c->buf + *pos, *nl;
	size_t rest = c->len - *pos, n;

	it->line = p;
	it->off = c->off + *pos;
	it->cut = 0;
	it->unterminated = 0;
	if (c->cut) {
		it->len = c->len;
		it->end = c->cut_end;
		it->cut = 1;
		it->unterminated = c->unterminated;
		*pos = c->len;
		return;
	}
	if ((nl = memchr(p, '\n', rest)) == NULL) {
		/* the input's last line, without a newline */
		n = rest;
		it->end = c->off + c->len;
		it->unterminated = 1;
		*pos = c->len;
		if (n > 0 && p[n - 1] == '\r')
			n--;
	} else {
		n = (size_t)(nl - p);
		it->end = it->off + n + 1;
		*pos += n + 1;
		if (n > max_line) {
			n = max_line;
			it->cut = 1;
		} else if (n > 0 && p[n - 1] == '\r')
			n--;
	}
	it->len = n;
}

/* Parses a chunk into its items (a parser thread's work; no lock held). */
static void
chunk_parse(struct ps_parser *p, struct chunk *c, size_t max_line)
{
	size_t pos = 0;

	c->nitems = 0;
	c->has_items = 0;
	while (pos < c->len) {
		struct ps_item *it;

		if (c->nitems == c->icap) {
			size_t ncap = c->icap ? c->icap * 2 : 2048;
			struct ps_item *ni = realloc(c->items, ncap * sizeof(*ni));

			if (ni == NULL)
				return;		/* the caller parses it */
			c->items = ni;
			c->icap = ncap;
		}
		it = &c->items[c->nitems++];
		chunk_line(c, &pos, max_line, it);
		it->lineno = 0;
		it->parsed = ps_parser_parse(p, it->line, it->len, it->off, 0, &it->ev);
	}
	c->has_items = 1;
}

/* A parser thread: parses READY chunks in order from the published guess. */
static void *
worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	struct par *pa = wa->pa;
	struct ps_parser *p = wa->p;

	pthread_mutex_lock(&pa->mu);
	for (;;) {
		struct ps_parser_state guess;
		struct chunk *c;
		struct fs_err err;
		int ok;

		while (!pa->quit && (pa->parse_seq >= pa->fill_seq ||
		    pa->ck[pa->parse_seq % pa->nck].state != CK_READY))
			pthread_cond_wait(&pa->cv_work, &pa->mu);
		if (pa->quit)
			break;
		c = &pa->ck[pa->parse_seq++ % pa->nck];
		c->state = CK_PARSING;
		ok = state_copy(&guess, &pa->guess) == 0;
		pthread_mutex_unlock(&pa->mu);
		c->has_items = 0;
		if (ok && ps_parser_state_set(p, &guess, &err) == 0) {
			ps_parser_state_free(&c->start);
			ps_parser_state_free(&c->end);
			c->start = guess;
			memset(guess.inferred, 0, sizeof(guess.inferred));	/* moved */
			chunk_parse(p, c, pa->max_line);
			if (ps_parser_state_get(p, &c->end) != 0)
				c->has_items = 0;
		}
		ps_parser_state_free(&guess);
		pthread_mutex_lock(&pa->mu);
		c->state = CK_PARSED;
		pthread_cond_broadcast(&pa->cv_cons);
	}
	pthread_mutex_unlock(&pa->mu);
	return NULL;
}

/* Reads into c->buf[c->len, +n) from the input; the count, 0 at its end, -1 (c->err). */
static ssize_t
par_read(struct par *pa, struct chunk *c, size_t at, size_t n)
{
	ssize_t k = ps_reader_read(pa->rd, c->buf + at, n, &c->err);

	ps_reader_drop_buffer(pa->rd);
	if (k > 0)
		pa->rd_off += (uint64_t)k;
	else if (k == 0)
		pa->eof = 1;
	else
		c->failed = 1;
	return k;
}

/* Grows c's buffer (at most one large buffer at a time); -1 (c->err) out of memory. */
static int
chunk_grow(struct par *pa, struct chunk *c)
{
	size_t ncap = c->cap * 2, lim = pa->max_line + pa->chunk;
	char *nb;

	if (ncap > lim)
		ncap = lim > c->cap ? lim : c->cap + pa->chunk;
	pthread_mutex_lock(&pa->mu);
	if (c->cap <= pa->chunk) {
		while (pa->nbig > 0 && !pa->quit)
			pthread_cond_wait(&pa->cv_reader, &pa->mu);
		pa->nbig++;
	}
	pthread_mutex_unlock(&pa->mu);
	if ((nb = realloc(c->buf, ncap)) == NULL) {
		c->failed = 1;
		return fs_err_set(&c->err, ENOMEM, "line too long (out of memory at %zu bytes)",
		    c->cap);
	}
	c->buf = nb;
	c->cap = ncap;
	return 0;
}

/* Keeps n bytes at p as the carry; -1 (c->err) out of memory. */
static int
carry_set(struct par *pa, struct chunk *c, const char *p, size_t n)
{
	if (n > pa->carry_cap) {
		char *nb = realloc(pa->carry, n);

		if (nb == NULL) {
			c->failed = 1;
			return fs_err_set(&c->err, ENOMEM, "out of memory");
		}
		pa->carry = nb;
		pa->carry_cap = n;
	}
	if (n > 0)
		memmove(pa->carry, p, n);
	pa->carry_len = n;
	return 0;
}

/*
 * c holds more than max_line bytes of one line and no newline: keeps
 * max_line of them, reads and drops the rest up to the newline.
 */
static void
chunk_cut(struct par *pa, struct chunk *c)
{
	size_t keep = pa->max_line;

	c->cut = 1;
	c->len = keep;
	for (;;) {
		size_t room = c->cap - keep;
		ssize_t k;
		const char *q;

		if (room > pa->chunk)
			room = pa->chunk;
		if ((k = par_read(pa, c, keep, room)) < 0) {
			c->cut = 0;	/* as ps_reader: the error, not the line */
			c->len = 0;
			c->last = 1;
			return;
		}
		if (k == 0) {
			c->cut_end = pa->rd_off;
			c->unterminated = 1;
			c->last = 1;
			return;
		}
		if ((q = memchr(c->buf + keep, '\n', (size_t)k)) != NULL) {
			size_t after = (size_t)(c->buf + keep + k - (q + 1));

			c->cut_end = pa->rd_off - after;
			if (carry_set(pa, c, q + 1, after) < 0) {
				c->cut = 0;
				c->len = 0;
				c->last = 1;
			}
			return;
		}
	}
}

/*
 * Fills c (it holds the carry: it starts a line, and may hold whole lines
 * after a cut one) with whole lines; see "Chunks".
 */
static void
chunk_fill(struct par *pa, struct chunk *c)
{
	size_t last = SIZE_MAX, tail;	/* offset in buf of the last newline */
	const char *nl = c->len > 0 ? memrchr(c->buf, '\n', c->len) : NULL;

	if (nl != NULL)
		last = (size_t)(nl - c->buf);

	for (;;) {
		size_t step;
		ssize_t k;
		const char *q;

		if (last == SIZE_MAX && c->len > pa->max_line) {
			chunk_cut(pa, c);
			return;
		}
		if (c->len == c->cap) {
			if (last != SIZE_MAX)
				break;
			if (chunk_grow(pa, c) < 0)
				break;
		}
		step = c->cap - c->len;
		if (last == SIZE_MAX && step > pa->chunk)
			step = pa->chunk;
		if ((k = par_read(pa, c, c->len, step)) <= 0)
			break;
		if ((q = memrchr(c->buf + c->len, '\n', (size_t)k)) != NULL)
			last = (size_t)(q - c->buf);
		c->len += (size_t)k;
		if (last != SIZE_MAX && c->cap > pa->chunk)
			break;		/* a grown chunk: carry no more than one read */
	}
	tail = last == SIZE_MAX ? 0 : last + 1;
	if (c->failed) {
		c->len = tail;		/* the partial line is lost with the error, as in ps_reader */
		c->last = 1;
		return;
	}
	if (pa->eof) {
		if (c->len - tail > pa->max_line) {
			if (tail > 0) {
				/* the next chunk holds the long last line alone */
				if (carry_set(pa, c, c->buf + tail, c->len - tail) == 0)
					c->len = tail;
				else
					c->last = 1;
				return;
			}
			c->cut = 1;
			c->cut_end = c->off + c->len;
			c->len = pa->max_line;
			c->unterminated = 1;
			c->last = 1;
			return;
		}
		c->unterminated = c->len > tail;
		c->last = 1;
		return;
	}
	if (carry_set(pa, c, c->buf + tail, c->len - tail) < 0)
		c->last = 1;
	c->len = tail;
}

/* The reader thread: fills chunks in order until the input ends or fails. */
static void *
reader_main(void *arg)
{
	struct par *pa = arg;

	pthread_mutex_lock(&pa->mu);
	for (;;) {
		struct chunk *c = &pa->ck[pa->fill_seq % pa->nck];
		int last;

		while (!pa->quit && c->state != CK_FREE)
			pthread_cond_wait(&pa->cv_reader, &pa->mu);
		if (pa->quit)
			break;
		c->state = CK_FILLING;
		pthread_mutex_unlock(&pa->mu);
		c->seq = pa->fill_seq;
		c->len = 0;
		c->last = c->unterminated = c->cut = c->failed = 0;
		c->cut_end = 0;
		fs_err_clear(&c->err);
		c->off = pa->rd_off - pa->carry_len;
		if (c->buf == NULL && (c->buf = malloc(pa->chunk)) != NULL)
			c->cap = pa->chunk;
		if (c->buf == NULL) {
			c->failed = c->last = 1;
			fs_err_set(&c->err, ENOMEM, "out of memory");
		} else {
			if (pa->carry_len > c->cap) {
				/* cannot happen: a carry is at most one read */
				c->failed = c->last = 1;
				fs_err_set(&c->err, EINVAL, "internal error: carry %zu > %zu",
				    pa->carry_len, c->cap);
			} else {
				if (pa->carry_len > 0)
					memcpy(c->buf, pa->carry, pa->carry_len);
				c->len = pa->carry_len;
				pa->carry_len = 0;
				chunk_fill(pa, c);
			}
		}
		last = c->last;
		pthread_mutex_lock(&pa->mu);
		c->state = CK_READY;
		pa->fill_seq++;
		pthread_cond_signal(&pa->cv_work);	/* one chunk: one parser */
		pthread_cond_broadcast(&pa->cv_cons);
		if (last) {
			pa->reader_done = 1;
			break;
		}
	}
	pthread_mutex_unlock(&pa->mu);
	return NULL;
}

/* Stops the threads and frees the parallel state (NULL is fine). */
static void
par_free(struct par *pa)
{
	int i;

	if (pa == NULL)
		return;
	pthread_mutex_lock(&pa->mu);
	pa->quit = 1;
	__atomic_store_n(&pa->stop, 1, __ATOMIC_RELEASE);	/* ends a read waiting on a pipe */
	pthread_cond_broadcast(&pa->cv_reader);
	pthread_cond_broadcast(&pa->cv_work);
	pthread_mutex_unlock(&pa->mu);
	if (pa->reader_started)
		pthread_join(pa->reader, NULL);
	for (i = 0; i < pa->nworkers; i++)
		pthread_join(pa->workers[i], NULL);
	for (i = 0; i < pa->nck; i++) {
		free(pa->ck[i].buf);
		free(pa->ck[i].items);
		ps_parser_state_free(&pa->ck[i].start);
		ps_parser_state_free(&pa->ck[i].end);
	}
	for (i = 0; i < pa->nparsers; i++)
		ps_parser_free(pa->wparser[i]);
	ps_parser_state_free(&pa->guess);
	pthread_mutex_destroy(&pa->mu);
	pthread_cond_destroy(&pa->cv_reader);
	pthread_cond_destroy(&pa->cv_work);
	pthread_cond_destroy(&pa->cv_cons);
	free(pa->ck);
	free(pa->workers);
	free(pa->wargs);
	free(pa->wparser);
	free(pa->carry);
	free(pa);
}

/*
 * Starts parallel reading of s (at its first line): NULL if it cannot (no
 * memory, no thread), and s is then read sequentially.  Every parser
 * thread is created before any starts work, so a failure leaves nothing
 * running but what is joined here.
 */
static struct par *
par_start(struct ps_source *s)
{
	struct par *pa = calloc(1, sizeof(*pa));
	pthread_attr_t attr;
	struct fs_err err;
	int i, n = s->workers, ok = 1;

	if (pa == NULL)
		return NULL;
	pthread_mutex_init(&pa->mu, NULL);
	pthread_cond_init(&pa->cv_reader, NULL);
	pthread_cond_init(&pa->cv_work, NULL);
	pthread_cond_init(&pa->cv_cons, NULL);
	pa->nck = PAR_NCK(n);
	pa->rd = s->rd;
	pa->log_format = s->log_format;
	pa->chunk = s->chunk > 0 ? s->chunk : PAR_CHUNK;
	pa->max_line = s->max_line > 0 ? s->max_line : PS_READER_MAX_LINE;
	if ((pa->ck = calloc((size_t)pa->nck, sizeof(*pa->ck))) == NULL ||
	    (pa->workers = calloc((size_t)n, sizeof(*pa->workers))) == NULL ||
	    (pa->wparser = calloc((size_t)n, sizeof(*pa->wparser))) == NULL ||
	    (pa->wargs = calloc((size_t)n, sizeof(*pa->wargs))) == NULL ||
	    ps_parser_state_get(s->st->parser, &pa->guess) != 0) {
		par_free(pa);
		return NULL;
	}
	for (i = 0; i < n; i++, pa->nparsers++)
		if ((pa->wparser[i] = ps_parser_new(s->log_format, &err)) == NULL) {
			par_free(pa);
			return NULL;
		}
	ps_reader_set_stop(pa->rd, &pa->stop);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PAR_STACK);
	for (i = 0; i < n && ok; i++) {
		pa->wargs[i].pa = pa;
		pa->wargs[i].p = pa->wparser[i];
		if (pthread_create(&pa->workers[i], &attr, worker_main, &pa->wargs[i]) != 0)
			ok = 0;
		else
			pa->nworkers++;
	}
	if (ok && pthread_create(&pa->reader, &attr, reader_main, pa) == 0)
		pa->reader_started = 1;
	pthread_attr_destroy(&attr);
	if (!pa->reader_started) {
		par_free(pa);
		ps_reader_set_stop(s->rd, NULL);
		return NULL;
	}
	s->par = pa;
	return pa;
}

/* Ends the caller's chunk: hands it back to the reader; publishes the parser state. */
static void
par_release(struct ps_source *s, struct par *pa)
{
	struct chunk *c = pa->cur;
	struct ps_parser_state st;
	int have = ps_parser_state_get(s->st->parser, &st) == 0;

	pthread_mutex_lock(&pa->mu);
	if (c->cap > pa->chunk) {
		free(c->buf);
		c->buf = NULL;
		c->cap = 0;
		pa->nbig--;
	}
	c->state = CK_FREE;
	pa->cons_seq++;
	if (have) {
		ps_parser_state_free(&pa->guess);
		pa->guess = st;
	}
	pthread_cond_broadcast(&pa->cv_reader);
	pthread_mutex_unlock(&pa->mu);
	pa->cur = NULL;
}

/* Takes the next chunk (waiting for it), choosing how to read it. */
static void
par_take(struct ps_source *s, struct par *pa)
{
	struct chunk *c = &pa->ck[pa->cons_seq % pa->nck];
	struct ps_parser_state now;
	struct fs_err err;
	int parsed;

	pthread_mutex_lock(&pa->mu);
	while (!(pa->fill_seq > pa->cons_seq && (c->state == CK_READY || c->state == CK_PARSED)))
		pthread_cond_wait(&pa->cv_cons, &pa->mu);
	parsed = c->state == CK_PARSED;
	if (!parsed) {
		/* no parser took it yet: read it here rather than wait */
		c->state = CK_PARSING;
		pa->parse_seq++;
	}
	pthread_mutex_unlock(&pa->mu);
	pa->cur = c;
	pa->pos = pa->idx = 0;
	pa->lines_mode = 1;
	if (parsed && c->has_items && c->end.nfmts == c->start.nfmts &&
	    c->end.nseen == c->start.nseen && ps_parser_state_get(s->st->parser, &now) == 0) {
		if (ps_parser_state_eq(&now, &c->start) &&
		    ps_parser_state_set(s->st->parser, &c->end, &err) == 0)
			pa->lines_mode = 0;
		ps_parser_state_free(&now);
	}
}

/* Completes an item for the caller: line number, attribution. */
static void
par_finish(struct ps_source *s, struct ps_item *it)
{
	it->lineno = it->ev.lineno = ++s->lineno;
	s->last_end = it->end;
	stream_attribute_item(s->st, it->parsed, &it->ev);
}

/* Next item of a parallel source, in place (see ps_source_next_ref). */
static int
par_next(struct ps_source *s, struct ps_item **out, struct fs_err *err)
{
	struct par *pa = s->par;
	struct ps_item *it;

	if (pa->sticky < 0) {
		*err = pa->sticky_err;
		return -1;
	}
	if (pa->sticky > 0)
		return 0;
	for (;;) {
		struct chunk *c = pa->cur;

		if (c == NULL) {
			par_take(s, pa);
			continue;
		}
		if (!pa->lines_mode && pa->idx < c->nitems) {
			*out = it = &c->items[pa->idx++];
			par_finish(s, it);
			return 1;
		}
		if (pa->lines_mode && pa->pos < c->len) {
			*out = it = &s->item;
			chunk_line(c, &pa->pos, pa->max_line, it);
			it->parsed = ps_parser_parse(s->st->parser, it->line, it->len, it->off, 0,
			    &it->ev);
			par_finish(s, it);
			return 1;
		}
		if (c->failed) {
			fs_err_set(&pa->sticky_err, c->err.code, "%s:%llu: %s", s->path,
			    (unsigned long long)s->lineno + 1, c->err.msg);
			pa->sticky = -1;
			*err = pa->sticky_err;
			return -1;
		}
		if (c->last) {
			pa->sticky = 1;
			return 0;
		}
		par_release(s, pa);
	}
}

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
ps_source_open(const char *path, const char *log_format, int jobs, struct fs_err *err)
{
	struct ps_source *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		fs_err_set(err, ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	s->path = path;
	s->log_format = log_format;
	s->workers = jobs >= 2 ? jobs : 0;
	if ((s->rd = ps_reader_open(path, 0, err)) == NULL ||
	    (s->st = ps_stream_new(log_format, err)) == NULL) {
		ps_source_close(s);
		return NULL;
	}
	return s;
}

/* Next item of a source, in place. */
int
ps_source_next_ref(struct ps_source *s, struct ps_item **out, struct fs_err *err)
{
	struct ps_item *it = &s->item;
	int rc;

	*out = it;
	if (s->ops != NULL)
		return s->ops->next(s->impl, it, err);
	if (s->workers > 0 && !s->par_tried) {
		s->par_tried = 1;	/* one try: without threads, sequentially */
		par_start(s);
	}
	if (s->par != NULL)
		return par_next(s, out, err);
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

/* Next item of a source, copied. */
int
ps_source_next(struct ps_source *s, struct ps_item *it, struct fs_err *err)
{
	struct ps_item *p;
	int rc = ps_source_next_ref(s, &p, err);

	if (rc == 1)
		*it = *p;
	return rc;
}

/* Sets the chunk size and the line limit (tests; before the first item). */
void
ps_source_tune(struct ps_source *s, size_t chunk, size_t max_line)
{
	s->chunk = chunk;
	s->max_line = max_line;
	if (s->rd != NULL)
		ps_reader_set_max_line(s->rd, max_line);
}

/* The offset just past the last line returned (file sources). */
uint64_t
ps_source_offset(const struct ps_source *s)
{
	if (s->par != NULL)
		return s->last_end;
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
	par_free(s->par);
	if (s->rd != NULL)
		ps_reader_close(s->rd);
	ps_stream_free(s->st);
	free(s);
}
