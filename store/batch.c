/*
 * store/batch.c: the in-memory batch of rows that st_commit writes in one
 * transaction.  Backend independent: plain growable arrays plus one text
 * arena; the backend walks them.
 */
#include "store/batch.h"

#include <stdlib.h>
#include <string.h>

/* Appends val to array arr of batch b; on no memory the batch remembers it. */
#define PUSH(b, arr, val) do {						\
	if (fs_vec_push(&(b)->arr, (val)) != 0) {			\
		(b)->oom = 1;						\
		return;							\
	}								\
} while (0)

/*
 * Every array of rows a batch has, once: X(name) for each.  Freeing,
 * clearing, counting and sizing a batch all walk this list, so an array
 * added to struct st_batch and here is handled by each of them.
 */
#define BATCH_ARRAYS(X)							\
	X(threads) X(bmaps) X(rpcs) X(writes) X(states) X(forced)	\
	X(unparsed) X(lines) X(episodes) X(series) X(bstats) X(tstats)

/* A new empty batch. */
struct st_batch *
st_batch_new(void)
{
	return calloc(1, sizeof(struct st_batch));
}

/* Frees a batch and everything it holds. */
void
st_batch_free(struct st_batch *b)
{
	if (b == NULL)
		return;
#define FREE_ARRAY(a) free(b->a.v);
	BATCH_ARRAYS(FREE_ARRAY)
#undef FREE_ARRAY
	fs_map_free(&b->bmap_idx);
	free(b->text);
	free(b);
}

/* Arrays (and text arenas) up to this many bytes are always kept. */
#define BATCH_KEEP_MIN ((size_t)64 << 10)

/* 1 if a batch that held rows gives back an array of cap elements of sz bytes, n used. */
static int
batch_shrinks(size_t n, size_t cap, size_t sz)
{
	return cap * sz > BATCH_KEEP_MIN && n < cap / 4;
}

/*
 * Empties a batch.  A batch that held rows keeps the memory of each array
 * unless it used under a quarter of it (batch_shrinks); the text arena
 * likewise.  Batches are reused; without this, one that once held many
 * rows of a kind (the writes of a busy stretch, the closes of another)
 * would keep room for each kind's busiest batch at once.  An empty batch
 * (one cleared again) tells nothing about the next one and keeps
 * everything.
 */
void
st_batch_clear(struct st_batch *b)
{
	int shrink = st_batch_rows(b) > 0;

#define CLEAR_ARRAY(a)							\
	if (shrink && batch_shrinks(b->a.n, b->a.cap, sizeof(*b->a.v))) {	\
		free(b->a.v);						\
		b->a.v = NULL;						\
		b->a.cap = 0;						\
	}								\
	b->a.n = 0;
	BATCH_ARRAYS(CLEAR_ARRAY)
#undef CLEAR_ARRAY
	fs_map_clear(&b->bmap_idx);
	if (shrink && batch_shrinks(b->text_n, b->text_cap, 1)) {
		free(b->text);
		b->text = NULL;
		b->text_cap = 0;
	}
	b->text_n = 0;
	b->has_source = 0;
	b->replace_derived = 0;
	b->has_expect = 0;
	b->has_run = 0;
	b->oom = 0;
}

/* Rows held by the batch. */
size_t
st_batch_rows(const struct st_batch *b)
{
	size_t n = 0;

#define ROWS(a) n += b->a.n;
	BATCH_ARRAYS(ROWS)
#undef ROWS
	return n;
}

/* Approximate bytes of row data held: rows, their text, the bmaps' index. */
size_t
st_batch_bytes(const struct st_batch *b)
{
	size_t n = b->text_n + b->bmaps.n * 2 * sizeof(*b->bmap_idx.s);

#define BYTES(a) n += b->a.n * sizeof(*b->a.v);
	BATCH_ARRAYS(BYTES)
#undef BYTES
	return n;
}

/* Bytes of memory held for rows, used or not. */
size_t
st_batch_held(const struct st_batch *b)
{
	size_t n = b->text_cap;

#define HELD(a) n += b->a.cap * sizeof(*b->a.v);
	BATCH_ARRAYS(HELD)
#undef HELD
	return n;
}

/* Copies the source bookkeeping that goes with the batch. */
void
st_batch_set_source(struct st_batch *b, const struct st_source *src)
{
	b->src = *src;
	b->has_source = 1;
}

/* Asks the commit to check the source is still claimed by run. */
void
st_batch_expect_run(struct st_batch *b, uint64_t run)
{
	b->has_run = 1;
	b->expect_run = run;
}

/* Asks the commit to check the stored offset of the source first. */
void
st_batch_expect_offset(struct st_batch *b, uint64_t off)
{
	b->has_expect = 1;
	b->expect_off = off;
}

/* Asks the commit to delete the source's derived rows first. */
void
st_batch_replace_derived(struct st_batch *b)
{
	b->replace_derived = 1;
}

/* Copies n bytes into the text arena; returns their offset or -1. */
static ptrdiff_t
text_add(struct st_batch *b, const char *s, size_t n)
{
	size_t off = b->text_n;

	if (b->text_n + n + 1 > b->text_cap) {
		size_t nc = b->text_cap ? b->text_cap : 65536;
		char *np;

		while (nc < b->text_n + n + 1)
			nc *= 2;
		if ((np = realloc(b->text, nc)) == NULL) {
			b->oom = 1;
			return -1;
		}
		b->text = np;
		b->text_cap = nc;
	}
	if (n > 0)
		memcpy(b->text + off, s, n);
	b->text[off + n] = '\0';
	b->text_n += n + 1;
	return (ptrdiff_t)off;
}

/* Declares thread tno of the batch's source. */
void
st_batch_add_thread(struct st_batch *b, int tno, const char *name, size_t namelen,
    const char *tid, size_t tidlen)
{
	struct st_bthread t;
	ptrdiff_t a, c;

	if ((a = text_add(b, name, namelen)) < 0 || (c = text_add(b, tid, tidlen)) < 0)
		return;
	t.tno = tno;
	t.name = (size_t)a;
	t.tid = (size_t)c;
	PUSH(b, threads, t);
}

/* Records that bmap (fid, bno) was seen at addr at ts_us (deduplicated per batch). */
void
st_batch_note_bmap(struct st_batch *b, uint64_t fid, uint32_t bno, uint64_t addr,
    int64_t ts_us)
{
	struct st_bbmap m;
	uint32_t v;

	/* consecutive lines often name one bmap: try the last one first */
	if ((b->bmap_last < b->bmaps.n && b->bmaps.v[b->bmap_last].fid == fid &&
	    b->bmaps.v[b->bmap_last].bno == bno && (v = (uint32_t)b->bmap_last, 1)) ||
	    fs_map_get(&b->bmap_idx, fid, bno, &v)) {
		b->bmap_last = v;
		struct st_bbmap *e = &b->bmaps.v[v];

		e->addr = addr;
		if (ts_us != INT64_MIN) {
			if (e->first_us == INT64_MIN || ts_us < e->first_us)
				e->first_us = ts_us;
			if (e->last_us == INT64_MIN || ts_us > e->last_us)
				e->last_us = ts_us;
		}
		return;
	}
	m.fid = fid;
	m.bno = bno;
	m.addr = addr;
	m.first_us = m.last_us = ts_us;
	if (b->bmaps.n >= UINT32_MAX)
		b->oom = 1;
	PUSH(b, bmaps, m);
	if (fs_map_put(&b->bmap_idx, fid, bno, (uint32_t)(b->bmaps.n - 1)) != 0)
		b->oom = 1;
}

/* Adds an RPC row. */
void
st_batch_add_rpc(struct st_batch *b, const struct st_rpc *r)
{
	PUSH(b, rpcs, *r);
}

/* Adds a write-arrival row. */
void
st_batch_add_write(struct st_batch *b, const struct st_write *w)
{
	PUSH(b, writes, *w);
}

/* Adds a bmap state-change row. */
void
st_batch_add_state(struct st_batch *b, const struct st_state *s)
{
	PUSH(b, states, *s);
}

/* Adds a forced-flush row. */
void
st_batch_add_forced(struct st_batch *b, const struct st_forced *f)
{
	PUSH(b, forced, *f);
}

/* Adds a line (text copied) to one of the two line lists. */
static void
line_add(struct st_batch *b, int kept, uint64_t src_off, uint64_t lineno,
    const char *text, size_t len)
{
	struct st_bline l;
	ptrdiff_t t;

	if ((t = text_add(b, text, len)) < 0)
		return;
	l.src_off = src_off;
	l.lineno = lineno;
	l.text = (size_t)t;
	l.len = len;
	if (kept)
		PUSH(b, lines, l);
	else
		PUSH(b, unparsed, l);
}

/* Adds an unparsed-line sample. */
void
st_batch_add_unparsed(struct st_batch *b, uint64_t src_off, uint64_t lineno,
    const char *text, size_t len)
{
	line_add(b, 0, src_off, lineno, text, len);
}

/* Adds the full text of a line (--keep-text). */
void
st_batch_add_line(struct st_batch *b, uint64_t src_off, uint64_t lineno,
    const char *text, size_t len)
{
	line_add(b, 1, src_off, lineno, text, len);
}

/* Adds a spin episode made mostly by thread tno. */
void
st_batch_add_episode(struct st_batch *b, int tno, const struct st_episode *ep)
{
	struct st_bepisode e;

	e.tno = tno;
	e.ep = *ep;
	PUSH(b, episodes, e);
}

/* Adds one per-second series row. */
void
st_batch_add_series(struct st_batch *b, const struct st_series *s)
{
	PUSH(b, series, *s);
}

/* Adds per-bmap counters. */
void
st_batch_add_bmap_stat(struct st_batch *b, const struct st_bmap_stat *s)
{
	PUSH(b, bstats, *s);
}

/* Adds a thread's cumulative figures (replacing earlier ones). */
void
st_batch_add_thread_stats(struct st_batch *b, int tno, const struct st_thread_stats *ts)
{
	struct st_bthrstat t;

	t.tno = tno;
	t.st = *ts;
	PUSH(b, tstats, t);
}
