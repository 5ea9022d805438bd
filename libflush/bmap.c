/*
 * Bmaps and their queues: the (fid, bno) table, the policy queues (lists),
 * the deadline heap, each bmap's array of unsent biorqs in the policy's
 * order, its runs in flight and the pages they pin.
 *
 * Invariants:
 *   - b->un holds exactly b's FLUSHRDY biorqs not in flight, sorted by the
 *     policy's order (fl_bq_order), equal keys in arrival order;
 *   - b->runs lists b's runs with an RPC in flight or still to issue; their
 *     biorqs are FLB_INFL and counted in b->ninfl;
 *   - a bmap is on at most one queue (b->q) and in the heap at most once.
 */
#include "libflush/internal.h"

#include <stdlib.h>
#include <string.h>

/* Hashes (fid, bno). */
static size_t
bm_hash(uint64_t fid, uint32_t bno, size_t n)
{
	uint64_t h = fid * 0x9e3779b97f4a7c15ull ^ ((uint64_t)bno * 0xc2b2ae3d27d4eb4full);

	return (size_t)(h ^ (h >> 29)) & (n - 1);
}

/* Doubles the hash table. */
static int
bm_rehash(struct fl_engine *e)
{
	size_t ns = e->hsize ? e->hsize * 2 : 64, i, h;
	struct fl_bmap **nh = calloc(ns, sizeof(*nh));

	if (nh == NULL)
		return -1;
	for (i = 0; i < e->nbm; i++) {
		struct fl_bmap *b = e->bm[i];

		h = bm_hash(b->fid, b->bno, ns);
		b->hnext = nh[h];
		nh[h] = b;
	}
	free(e->hash);
	e->hash = nh;
	e->hsize = ns;
	return 0;
}

/* Finds or creates the bmap (fid, bno). */
struct fl_bmap *
fl_bmap_get(struct fl_engine *e, uint64_t fid, uint32_t bno)
{
	struct fl_bmap *b;
	size_t h;

	if ((e->hsize == 0 || e->nbm * 2 >= e->hsize) && bm_rehash(e) < 0)
		return NULL;
	h = bm_hash(fid, bno, e->hsize);
	for (b = e->hash[h]; b; b = b->hnext)
		if (b->fid == fid && b->bno == bno)
			return b;
	if (fl_grow(&e->bm, &e->capbm, e->nbm + 1, sizeof(*e->bm)) < 0 ||
	    (b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if ((b->exam_t = calloc(e->c.tun.threads, sizeof(*b->exam_t))) == NULL) {
		free(b);
		return NULL;
	}
	b->fid = fid;
	b->bno = bno;
	b->idx = e->nbm;
	b->addr = 0x881330 + (uint64_t)e->nbm * 0xde0;
	/* a bmap's I/O server: fixed by hash, as an IOS assignment would be */
	b->ios = (unsigned)(bm_hash(fid, bno ^ 0x5bd1e995u, 1u << 30) % e->nios);
	b->hidx = SIZE_MAX;
	b->st.fid = fid;
	b->st.bno = bno;
	b->st.ios = b->ios;
	b->hnext = e->hash[h];
	e->hash[h] = b;
	e->bm[e->nbm++] = b;
	return b;
}

/* ------------------------------------------------------------------ queues */

/* Appends b to queue qi. */
void
fl_q_push(struct fl_engine *e, int qi, struct fl_bmap *b)
{
	struct fl_list *l = &e->q[qi];

	b->qnext = NULL;
	b->qprev = l->tail;
	if (l->tail)
		l->tail->qnext = b;
	else
		l->head = b;
	l->tail = b;
	l->n++;
	b->q = qi + 1;
}

/* Takes b off its queue. */
void
fl_q_del(struct fl_engine *e, struct fl_bmap *b)
{
	struct fl_list *l;

	if (b->q == 0)
		return;
	l = &e->q[b->q - 1];
	if (b->qprev)
		b->qprev->qnext = b->qnext;
	else
		l->head = b->qnext;
	if (b->qnext)
		b->qnext->qprev = b->qprev;
	else
		l->tail = b->qprev;
	b->qprev = b->qnext = NULL;
	l->n--;
	b->q = 0;
}

/* True if b is on queue qi. */
int
fl_q_on(const struct fl_bmap *b, int qi)
{
	return b->q == qi + 1;
}

/* ---------------------------------------------------------- deadline heap */

/* Swaps two heap slots. */
static void
dh_swap(struct fl_engine *e, size_t i, size_t j)
{
	struct fl_bmap *t = e->dh[i];

	e->dh[i] = e->dh[j];
	e->dh[j] = t;
	e->dh[i]->hidx = i;
	e->dh[j]->hidx = j;
}

/* Restores heap order around slot i. */
static void
dh_fix(struct fl_engine *e, size_t i)
{
	while (i > 0 && e->dh[(i - 1) / 2]->hkey > e->dh[i]->hkey) {
		dh_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < e->ndh && e->dh[l]->hkey < e->dh[m]->hkey)
			m = l;
		if (r < e->ndh && e->dh[r]->hkey < e->dh[m]->hkey)
			m = r;
		if (m == i)
			break;
		dh_swap(e, i, m);
		i = m;
	}
}

/* Removes b from the heap if present. */
static void
dh_del(struct fl_engine *e, struct fl_bmap *b)
{
	size_t i = b->hidx;

	if (i == SIZE_MAX)
		return;
	e->ndh--;
	if (i != e->ndh) {
		e->dh[i] = e->dh[e->ndh];
		e->dh[i]->hidx = i;
		dh_fix(e, i);
	}
	b->hidx = SIZE_MAX;
}

/* Inserts, re-keys or (FL_TIME_NEVER) removes b. */
void
fl_dh_set(struct fl_engine *e, struct fl_bmap *b, uint64_t key)
{
	if (key == FL_TIME_NEVER) {
		dh_del(e, b);
		return;
	}
	if (b->hidx != SIZE_MAX) {
		b->hkey = key;
		dh_fix(e, b->hidx);
		return;
	}
	if (fl_grow(&e->dh, &e->capdh, e->ndh + 1, sizeof(*e->dh)) < 0) {
		fl_fail(e, "out of memory");
		return;
	}
	b->hkey = key;
	b->hidx = e->ndh;
	e->dh[e->ndh++] = b;
	dh_fix(e, b->hidx);
}

/* The earliest key of the heap. */
uint64_t
fl_dh_min(const struct fl_engine *e)
{
	return e->ndh > 0 ? e->dh[0]->hkey : FL_TIME_NEVER;
}

/* ---------------------------------------------------------- unsent biorqs */

/* -1, 0 or 1 as a sorts before, with or after b in the policy's order. */
static int
bq_cmp(enum fl_order o, const struct fl_biorq *a, const struct fl_biorq *b)
{
	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	if (o == FL_ORD_OFF_LONGER && a->len != b->len)
		return a->len > b->len ? -1 : 1;
	if (o == FL_ORD_OFF_SHORTER && a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/*
 * Appends q.  The array stays sorted while arrivals come in order (the
 * common case: sequential writes); otherwise the new ones wait, unsorted,
 * after un[nsorted) until a reader merges them (fl_un_sort): inserting
 * each in place would cost a memmove of the backlog per write, quadratic
 * when a policy falls behind.
 */
int
fl_un_insert(struct fl_engine *e, struct fl_bmap *b, struct fl_biorq *q)
{
	if (fl_grow(&b->un, &b->capun, b->nun + 1, sizeof(*b->un)) < 0)
		return -1;
	if (b->nsorted == b->nun &&
	    (b->nun == 0 || bq_cmp(e->ops->order, b->un[b->nun - 1], q) <= 0))
		b->nsorted++;
	b->un[b->nun++] = q;
	return 0;
}

/* qsort_r comparator over biorq pointers in the order arg points to (ids make ties impossible). */
static int
bqp_cmp(const void *a, const void *b, void *arg)
{
	return bq_cmp(*(const enum fl_order *)arg, *(struct fl_biorq *const *)a,
	    *(struct fl_biorq *const *)b);
}

/* Sorts the unmerged arrivals and merges them into the sorted prefix. */
void
fl_un_sort(struct fl_engine *e, struct fl_bmap *b)
{
	enum fl_order o = e->ops->order;
	struct fl_biorq **tmp;
	size_t i, j, k, n = b->nun, m = b->nsorted;

	if (m == n)
		return;
	qsort_r(b->un + m, n - m, sizeof(*b->un), bqp_cmp, &o);
	if (m > 0 && bq_cmp(o, b->un[m - 1], b->un[m]) > 0) {
		if ((tmp = malloc(m * sizeof(*tmp))) == NULL) {
			/* no room to merge: sort the whole array in place */
			qsort_r(b->un, n, sizeof(*b->un), bqp_cmp, &o);
			b->nsorted = n;
			return;
		}
		memcpy(tmp, b->un, m * sizeof(*tmp));
		for (i = 0, j = m, k = 0; i < m; k++)
			b->un[k] = (j < n && bq_cmp(o, b->un[j], tmp[i]) < 0) ? b->un[j++] : tmp[i++];
		free(tmp);
	}
	b->nsorted = n;
}

/* Drops the biorqs now in flight from b's unsent array (keeps the order). */
void
fl_un_compact(struct fl_bmap *b)
{
	size_t i, w, ns = 0;

	for (i = 0; i < b->nun && !(b->un[i]->flags & FLB_INFL); i++)
		;
	ns = i < b->nsorted ? i : b->nsorted;
	for (w = i; i < b->nun; i++)
		if (!(b->un[i]->flags & FLB_INFL)) {
			if (i < b->nsorted)
				ns++;
			b->un[w++] = b->un[i];
		}
	b->nun = w;
	b->nsorted = ns;
}

/*
 * Drops run ba's biorqs: when the array is sorted and they are adjacent in
 * it (they always are for a run cut from the whole array), one binary
 * search and one memmove; otherwise a full compaction.
 */
void
fl_un_remove_run(struct fl_engine *e, struct fl_bmap *b, const struct fl_batch *ba)
{
	size_t lo = 0, hi = b->nun, n = ba->nbq, i;

	if (b->nsorted == b->nun && n > 0) {
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (bq_cmp(e->ops->order, b->un[mid], ba->bq[0]) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (i = 0; i < n && lo + i < b->nun && b->un[lo + i] == ba->bq[i]; i++)
			;
		if (i == n) {
			memmove(&b->un[lo], &b->un[lo + n], (b->nun - lo - n) * sizeof(*b->un));
			b->nun -= n;
			b->nsorted = b->nun;
			return;
		}
	}
	fl_un_compact(b);
}

/* True if [off, off+len) overlaps one of b's runs in flight (bytes or whole pages). */
int
fl_infl_overlaps(const struct fl_bmap *b, uint32_t off, uint32_t len, int page)
{
	const struct fl_batch *ba;
	uint64_t s = off, e = (uint64_t)off + len;

	if (page) {
		s = s / FL_BMPC_BUFSZ * FL_BMPC_BUFSZ;
		e = (e + FL_BMPC_BUFSZ - 1) / FL_BMPC_BUFSZ * FL_BMPC_BUFSZ;
	}
	for (ba = b->runs; ba != NULL; ba = ba->bnext) {
		uint64_t rs = ba->start, re = ba->end;

		if (page) {
			rs = rs / FL_BMPC_BUFSZ * FL_BMPC_BUFSZ;
			re = (re + FL_BMPC_BUFSZ - 1) / FL_BMPC_BUFSZ * FL_BMPC_BUFSZ;
		}
		if (s < re && rs < e)
			return 1;
	}
	return 0;
}

/* Flags every unsent and blocked biorq of b FORCE; returns how many were new. */
size_t
fl_force_flag(struct fl_bmap *b)
{
	size_t i, n = 0;

	for (i = 0; i < b->nun; i++)
		if (!(b->un[i]->flags & FLB_FORCE)) {
			b->un[i]->flags |= FLB_FORCE;
			n++;
		}
	for (i = 0; i < b->nblk; i++)
		if (!(b->blk[i]->flags & FLB_FORCE)) {
			b->blk[i]->flags |= FLB_FORCE;
			n++;
		}
	if (n > 0)
		b->gen++;
	return n;
}

/* Appends p to v. */
int
fl_vec_push(struct fl_engine *e, struct fl_vec *v, void *p)
{
	if (fl_grow(&v->v, &v->cap, v->n + 1, sizeof(*v->v)) < 0) {
		fl_fail(e, "out of memory");
		return -1;
	}
	v->v[v->n++] = p;
	return 0;
}
