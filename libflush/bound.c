/*
 * The limit: a lower bound on wake-ups (flush.h, fl_wakeups_min).
 *
 * Two steps.  fl_bound_deadlines gives every write its deadline under a
 * budget: the max age (or the next wall-clock second), the full-run window
 * for a write that completes a reference run of the coalesce size, a forced
 * flush that comes first.  fl_stab_min then counts the fewest instants that
 * stab every [ready, deadline]: sorted by deadline, a point goes at the
 * first deadline no earlier point reaches (the classic exchange argument
 * makes this exact: some optimal set has its first point at the earliest
 * deadline, and every interval that point stabs can be dropped).
 *
 * The reference runs are formed per bmap in ready order, with no schedule
 * but the budget's: a run is open until it reaches the coalesce size or its
 * earliest deadline passes (then it was sent); a write joins the open runs
 * it overlaps, then the contiguous ones while the run is below the size.
 * Open runs never overlap, so they are kept sorted by start; their earliest
 * deadlines grow with their age, so a FIFO in creation order finds the
 * expired ones (a merged run keeps the id of its oldest part).
 */
#include "libflush/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A sort key: a write by (fid, bno, time, index), a forced flush by (fid, time, index). */
struct bkey {
	uint64_t fid, t;
	uint32_t bno;
	size_t i;
	uint32_t off, len;	/* a write's (copied: the pass reads keys in order) */
	uint64_t dl;		/* its deadline, scattered to the caller's array at the end */
};

/* qsort comparator for forced flushes: by file, time, then input order. */
static int
force_cmp(const void *a, const void *b)
{
	const struct bkey *x = a, *y = b;

	if (x->fid != y->fid)
		return x->fid < y->fid ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* qsort comparator for sort keys. */
static int
key_cmp(const void *a, const void *b)
{
	const struct bkey *x = a, *y = b;

	if (x->fid != y->fid)
		return x->fid < y->fid ? -1 : 1;
	if (x->bno != y->bno)
		return x->bno < y->bno ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* The max-age deadline of a write ready at t (capped at the next wall second). */
static uint64_t
age_deadline(const struct fl_budget *b, uint64_t t)
{
	uint64_t dl = fl_sat_add(t, b->max_age_ns);

	if (b->wall_second) {
		uint64_t wall = b->epoch_ns + t;
		uint64_t next = (wall / 1000000000ull + 1) * 1000000000ull - b->epoch_ns;

		if (next < dl)
			dl = next;
	}
	return dl;
}

/* The position of the first live run ending after off. */
static size_t
first_ending_after(const struct fl_refruns *s, uint32_t off)
{
	size_t lo = 0, hi = s->nord;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->run[s->ord[mid]].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The position of the first live run starting at or after off. */
static size_t
first_starting(const struct fl_refruns *s, uint32_t off)
{
	size_t lo = 0, hi = s->nord;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->run[s->ord[mid]].start < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Removes ord[k, k + m) (the runs stay in the pool, dead or about to be reused). */
static void
ord_cut(struct fl_refruns *s, size_t k, size_t m)
{
	if (m == 0)
		return;
	memmove(&s->ord[k], &s->ord[k + m], (s->nord - k - m) * sizeof(*s->ord));
	s->nord -= m;
}

/* Drops the runs whose earliest deadline passed before now (they were sent). */
static void
expire(struct fl_refruns *s, uint64_t now)
{
	while (s->head < s->nrun) {
		struct fl_refrun *r = &s->run[s->head];

		if (r->alive && r->expiry >= now)
			break;
		if (r->alive) {
			r->alive = 0;
			ord_cut(s, first_starting(s, r->start), 1);
		}
		s->head++;
	}
}

/* Closes every open run (a forced flush sent them). */
void
fl_ref_force(struct fl_refruns *s)
{
	s->head = s->nrun = s->nord = 0;
}

/* Frees the runs' arrays. */
void
fl_ref_free(struct fl_refruns *s)
{
	free(s->run);
	free(s->ord);
	memset(s, 0, sizeof(*s));
}

/* Drops the dead runs before the FIFO's head once they are most of the pool. */
static void
compact(struct fl_refruns *s)
{
	size_t i;

	if (s->head < 64 || s->head * 2 < s->nrun)
		return;
	memmove(s->run, &s->run[s->head], (s->nrun - s->head) * sizeof(*s->run));
	for (i = 0; i < s->nord; i++)
		s->ord[i] -= s->head;	/* live ids are at or after the head */
	s->nrun -= s->head;
	s->head = 0;
}

/* What a write is merging: its extent, earliest deadline and the run id it keeps. */
struct merge {
	uint32_t start, end;
	uint64_t expiry;
	size_t keep;		/* the oldest run merged (SIZE_MAX: none yet) */
};

/* Merges live run id into m; the younger of it and m's run dies. */
static void
absorb(struct fl_refruns *s, struct merge *m, size_t id)
{
	struct fl_refrun *r = &s->run[id];

	if (r->start < m->start)
		m->start = r->start;
	if (r->end > m->end)
		m->end = r->end;
	if (r->expiry < m->expiry)
		m->expiry = r->expiry;
	if (m->keep == SIZE_MAX)
		m->keep = id;
	else {
		s->run[id > m->keep ? id : m->keep].alive = 0;
		if (id < m->keep)
			m->keep = id;
	}
}

/*
 * Adds write [off, off + len) with deadline dl to the open runs as the
 * coalescer would (it joins the runs it overlaps, then a run ending where
 * it starts, then one starting where it ends while below the size);
 * returns 1 if it completes a full run (the run closes), 0 if not, -1 on
 * ENOMEM.
 */
static int
join(struct fl_refruns *s, uint32_t off, uint32_t len, uint64_t dl, uint32_t full)
{
	struct merge m = { off, off + len, dl, SIZE_MAX };
	size_t k = first_ending_after(s, off), n = 0, i;

	while (k + n < s->nord && s->run[s->ord[k + n]].start < m.end)
		n++;
	for (i = k; i < k + n; i++)
		absorb(s, &m, s->ord[i]);
	ord_cut(s, k, n);
	/* open runs never overlap: ord[k - 1] ends at or before m.start */
	if (k > 0 && s->run[s->ord[k - 1]].end == m.start) {
		absorb(s, &m, s->ord[k - 1]);
		ord_cut(s, --k, 1);
	}
	if (k < s->nord && s->run[s->ord[k]].start == m.end && m.end - m.start < full) {
		absorb(s, &m, s->ord[k]);
		ord_cut(s, k, 1);
	}
	if (m.end - m.start >= full) {
		if (m.keep != SIZE_MAX)
			s->run[m.keep].alive = 0;
		return 1;
	}
	if (m.keep == SIZE_MAX) {
		/* a new run: the youngest, at the FIFO's tail */
		if (fl_grow(&s->run, &s->caprun, s->nrun + 1, sizeof(*s->run)) < 0)
			return -1;
		m.keep = s->nrun++;
	}
	if (fl_grow(&s->ord, &s->capord, s->nord + 1, sizeof(*s->ord)) < 0)
		return -1;
	s->run[m.keep].start = m.start;
	s->run[m.keep].end = m.end;
	s->run[m.keep].expiry = m.expiry;
	s->run[m.keep].alive = 1;
	memmove(&s->ord[k + 1], &s->ord[k], (s->nord - k) * sizeof(*s->ord));
	s->ord[k] = m.keep;
	s->nord++;
	return 0;
}

/* A write of the bmap: expires what it outlived, then joins the runs. */
int
fl_ref_write(struct fl_refruns *s, uint64_t t, uint32_t off, uint32_t len, uint64_t dl,
    uint32_t full)
{
	expire(s, t);
	compact(s);
	return join(s, off, len, dl, full ? full : 1);
}

/*
 * Deadlines (w[].dl) of the writes of one bmap, w[0, nw), given the forced
 * flushes f[0, nf) of its file (bno: the flush's, FL_BMAP_ALL for the
 * file), all in input order.
 */
static int
bmap_deadlines(struct bkey *w, size_t nw, const struct bkey *f, size_t nf,
    const struct fl_budget *b, struct fl_refruns *s)
{
	size_t p, since = 0, fi = 0;

	fl_ref_force(s);
	for (p = 0; p <= nw; p++) {
		struct bkey *x = p < nw ? &w[p] : NULL;
		uint64_t fdl;
		int r;

		/* forced flushes of this bmap before this write: its pending writes are due */
		for (; fi < nf && (x == NULL || f[fi].t < x->t ||
		    (f[fi].t == x->t && f[fi].i < x->i)); fi++) {
			if (f[fi].bno != FL_BMAP_ALL && f[fi].bno != w[0].bno)
				continue;
			for (; since < p; since++)
				if (w[since].dl > f[fi].t)
					w[since].dl = f[fi].t;
			fl_ref_force(s);
		}
		if (x == NULL)
			break;
		x->dl = age_deadline(b, x->t);
		if ((r = fl_ref_write(s, x->t, x->off, x->len, x->dl, b->full_size)) < 0)
			return -1;
		fdl = fl_sat_add(x->t, b->full_ns);
		if (r == 1 && fdl < x->dl)
			x->dl = fdl;
	}
	return 0;
}

/* A bmap's entry in group_writes's hash table. */
struct hent {
	uint64_t fid;
	uint32_t bno;
	int used;
	size_t id;
};

/* Finds or adds (fid, bno) in table h of cap (a power of two) entries; returns its slot. */
static size_t
hslot(struct hent *h, size_t cap, uint64_t fid, uint32_t bno)
{
	size_t j = (size_t)((fid * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)bno * 0xc2b2ae3d27d4eb4full)) &
	    (cap - 1);

	while (h[j].used && (h[j].fid != fid || h[j].bno != bno))
		j = (j + 1) & (cap - 1);
	return j;
}

/*
 * Orders the writes w[0, nw), in input order, by bmap: a hash numbers the
 * bmaps, a counting sort groups them stably (O(n)), and only a group whose
 * times are out of order is sorted.  Stores the ng + 1 group starts in
 * *gstart; -1 when out of memory.
 */
static int
group_writes(struct bkey *w, size_t nw, size_t **gstart, size_t *ng)
{
	size_t cap = 1024, n = 0, i, g, *gid = malloc((nw ? nw : 1) * sizeof(*gid)), *cnt = NULL;
	struct hent *h = calloc(cap, sizeof(*h));
	struct bkey *tmp = malloc((nw ? nw : 1) * sizeof(*tmp));
	int rc = -1;

	if (gid == NULL || h == NULL || tmp == NULL)
		goto out;
	for (i = 0; i < nw; i++) {
		size_t j;

		if (2 * (n + 1) > cap) {
			struct hent *nh = calloc(cap * 2, sizeof(*nh));
			size_t k;

			if (nh == NULL)
				goto out;
			for (k = 0; k < cap; k++)
				if (h[k].used)
					nh[hslot(nh, cap * 2, h[k].fid, h[k].bno)] = h[k];
			free(h);
			h = nh;
			cap *= 2;
		}
		j = hslot(h, cap, w[i].fid, w[i].bno);
		if (!h[j].used) {
			h[j].used = 1;
			h[j].fid = w[i].fid;
			h[j].bno = w[i].bno;
			h[j].id = n++;
		}
		gid[i] = h[j].id;
	}
	if ((cnt = calloc(n + 2, sizeof(*cnt))) == NULL)
		goto out;
	for (i = 0; i < nw; i++)
		cnt[gid[i] + 2]++;
	for (g = 2; g < n + 2; g++)
		cnt[g] += cnt[g - 1];
	for (i = 0; i < nw; i++)
		tmp[cnt[gid[i] + 1]++] = w[i];	/* cnt[g + 1] ends as group g's end */
	memcpy(w, tmp, nw * sizeof(*w));
	for (g = 0; g < n; g++) {
		size_t k;

		for (k = cnt[g] + 1; k < cnt[g + 1] && w[k - 1].t <= w[k].t; k++)
			;
		if (k < cnt[g + 1])
			qsort(&w[cnt[g]], cnt[g + 1] - cnt[g], sizeof(*w), key_cmp);
	}
	*gstart = cnt;
	*ng = n;
	cnt = NULL;
	rc = 0;
out:
	free(cnt);
	free(gid);
	free(h);
	free(tmp);
	return rc;
}

/* The first forced flush of file fid in f[0, nf) (sorted by file), or nf. */
static size_t
first_force(const struct bkey *f, size_t nf, uint64_t fid)
{
	size_t lo = 0, hi = nf;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f[mid].fid < fid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Each write's deadline under budget b. */
int
fl_bound_deadlines(const struct fl_bound_in *in, size_t n, const struct fl_budget *b,
    uint64_t *dl, struct fs_err *err)
{
	struct bkey *w = malloc((n ? n : 1) * sizeof(*w)), *f = malloc((n ? n : 1) * sizeof(*f));
	size_t nw = 0, nf = 0, i, ng = 0, *gs = NULL;
	struct fl_refruns s;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	if (w == NULL || f == NULL) {
		free(w);
		free(f);
		return fs_err_set(err, ENOMEM, "libflush: out of memory");
	}
	for (i = 0; i < n; i++) {
		struct bkey k = { in[i].fid, in[i].t_ns, in[i].bno, i, in[i].off, in[i].len,
		    FL_TIME_NEVER };

		dl[i] = FL_TIME_NEVER;
		if (in[i].len > 0)
			w[nw++] = k;
		else
			f[nf++] = k;
	}
	/* forced flushes by file, time, input order (their bno is the bmap flushed) */
	qsort(f, nf, sizeof(*f), force_cmp);
	if ((rc = group_writes(w, nw, &gs, &ng)) == 0)
		for (i = 0; i < ng && rc == 0; i++) {
			const struct bkey *wg = &w[gs[i]];	/* the first write of the bmap */
			size_t fs = first_force(f, nf, wg->fid), fe;

			for (fe = fs; fe < nf && f[fe].fid == wg->fid; fe++)
				;
			rc = bmap_deadlines(&w[gs[i]], gs[i + 1] - gs[i], &f[fs], fe - fs, b, &s);
		}
	for (i = 0; rc == 0 && i < nw; i++)
		dl[w[i].i] = w[i].dl;
	fl_ref_free(&s);
	free(gs);
	free(w);
	free(f);
	if (rc < 0)
		return fs_err_set(err, ENOMEM, "libflush: out of memory");
	return 0;
}

/* An interval to stab. */
struct ival {
	uint64_t hi, lo;
};

#define RADIX_BITS	11
#define RADIX		(1u << RADIX_BITS)

/*
 * Sorts v[0, n) by right end: least significant digit first, 11 bits a
 * pass, a pass skipped when every key has the same digit (the high ones,
 * usually).  Linear, where a comparison sort of millions of intervals was
 * most of a replay's bound.  Uses tmp (n entries); -1 on ENOMEM.
 */
static int
ival_sort(struct ival *v, size_t n)
{
	struct ival *tmp = malloc((n ? n : 1) * sizeof(*tmp)), *src = v, *dst = tmp;
	size_t *cnt = malloc(RADIX * sizeof(*cnt)), i;
	unsigned shift;

	if (tmp == NULL || cnt == NULL) {
		free(tmp);
		free(cnt);
		return -1;
	}
	for (shift = 0; shift < 64; shift += RADIX_BITS) {
		size_t sum = 0, d;

		memset(cnt, 0, RADIX * sizeof(*cnt));
		for (i = 0; i < n; i++)
			cnt[(src[i].hi >> shift) & (RADIX - 1)]++;
		if (n == 0 || cnt[(src[0].hi >> shift) & (RADIX - 1)] == n)
			continue;	/* one digit: the order stands */
		for (d = 0; d < RADIX; d++) {
			size_t c = cnt[d];

			cnt[d] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[cnt[(src[i].hi >> shift) & (RADIX - 1)]++] = src[i];
		src = dst;
		dst = src == v ? tmp : v;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	free(cnt);
	return 0;
}

/* The fewest points stabbing every interval. */
int
fl_stab_min(const uint64_t *lo, const uint64_t *hi, size_t n, uint64_t *count,
    struct fs_err *err)
{
	struct ival *v = malloc((n ? n : 1) * sizeof(*v));
	size_t i, m = 0;
	uint64_t c = 0, p = 0;

	if (v == NULL)
		return fs_err_set(err, ENOMEM, "libflush: out of memory");
	for (i = 0; i < n; i++)
		if (lo[i] <= hi[i]) {
			v[m].lo = lo[i];
			v[m].hi = hi[i];
			m++;
		}
	if (ival_sort(v, m) < 0) {
		free(v);
		return fs_err_set(err, ENOMEM, "libflush: out of memory");
	}
	/* every interval before p's was stabbed; hi >= p for the rest */
	for (i = 0; i < m; i++)
		if (c == 0 || v[i].lo > p) {
			p = v[i].hi;
			c++;
		}
	free(v);
	*count = c;
	return 0;
}

/* The lower bound on wake-ups, and that of a realised schedule. */
int
fl_wakeups_min(const struct fl_bound_in *in, size_t n, const struct fl_budget *b,
    const uint64_t *issue_ns, const uint64_t *start_ns, struct fl_bound *out,
    struct fs_err *err)
{
	uint64_t *lo = malloc((n ? n : 1) * sizeof(*lo)), *hi = malloc((n ? n : 1) * sizeof(*hi));
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (lo == NULL || hi == NULL) {
		free(lo);
		free(hi);
		return fs_err_set(err, ENOMEM, "libflush: out of memory");
	}
	if ((rc = fl_bound_deadlines(in, n, b, hi, err)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		lo[i] = in[i].len > 0 ? in[i].t_ns : 1;	/* a forced flush: no interval */
		if (in[i].len == 0)
			hi[i] = 0;
	}
	if ((rc = fl_stab_min(lo, hi, n, &out->wakeups_min, err)) < 0)
		goto out;
	out->wakeups_min_realised = out->wakeups_min;
	if (issue_ns == NULL && start_ns == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (in[i].len == 0)
			continue;
		if (issue_ns != NULL && issue_ns[i] != FL_TIME_NEVER && issue_ns[i] > hi[i]) {
			hi[i] = issue_ns[i];
			out->past_budget++;
		}
		if (start_ns != NULL && start_ns[i] == FL_BOUND_NO_WAKE) {
			lo[i] = 1;	/* served by a thread's first run: no interval */
			hi[i] = 0;
		} else if (start_ns != NULL && start_ns[i] < lo[i])
			lo[i] = start_ns[i];
	}
	rc = fl_stab_min(lo, hi, n, &out->wakeups_min_realised, err);
out:
	free(lo);
	free(hi);
	return rc;
}
