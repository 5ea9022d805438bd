/*
 * The engine's psclog writer: what the engine does, in the message texts
 * and line header of the client at each commit (log-format.md §1-§5).
 *
 *   era A  f020379d5 (2010-08-20)  header `[%s:%06u %n:%i:%T:%F:%l] `
 *          DEBUG_BMAP `bmap@%p b:%x m:%u i:%x opcnt=%u `
 *   era B  99fa47092 (2010-10-05)  the same header (e45cfb20 is 2010-11-05);
 *          DEBUG_BMAP `bmap@%p b:%x flg:%u fid:%#016x opcnt=%u ` (fe6f92808)
 *   era C  97bf587a9 (2011-08-25)  header `[%s:%06u %n:%i:%T %B %F %l] `
 *          (f6bdc6d7); DEBUG_BMAP `bmap@%p bno:%u flg:%#x:<letters>+
 *          fid:%#018x opcnt=%u ` (494ee8caf, 4ef6b5703)
 *   era Z  d87d35e60 (HEAD)        header `[%s.%06u00 %n:%I:%T %B %F %l]`
 *          (no space after `]`) and the HEAD prefixes ending in ` : `
 * Eras A-C use era A's DEBUG_BIORQ and DEBUG_REQ prefixes (the spec gives
 * no other before HEAD).  Line numbers are those the spec cites, or near
 * them where it cites a range.
 *
 * Every flush-thread line is counted whether or not it is written: on the
 * virtual clock each line after the first of a wake-up costs line_cost_ns
 * (the real pass costs ~14 us per line logged), so the writer is also the
 * pass-cost model.  Other threads' lines (writers, the reaper) cost the
 * flush thread nothing.
 *
 * On the virtual clock a pass is computed at once but its lines carry the
 * times of the modelled work, ahead of the engine's clock; lines are
 * therefore written to a memory stream and kept in a heap ordered by time
 * (then by creation) until the clock passes them, so the log is in time
 * order as a real one, with other threads' lines interleaved.
 *
 * Pointers, thread ids and peers are invented but stable (a bmap keeps its
 * address; the first is 0x881330 as in the seed).  Timestamps are
 * log_epoch + engine time, never decreasing.
 */
#include "libflush/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A_FLUSH_TID	23667
#define A_RPC_TID	23668
#define A_FS_TID	23650
#define Z_FLUSH_ID	0x7f1c1affd700ull
#define Z_NBRQ_ID	0x7ffefc7f1700ull
#define Z_FS_ID		0x7f1c2affd700ull
#define Z_THR_STRIDE	0x801000ull

/* 2010-2011 bmap flag words: RD|WR|DIRTY|CLI_FLUSHPROC, RD|WR|FLUSHPROC, RD|WR|REAPABLE. */
#define A_M_DIRTY	8259
#define A_M_CLEANPROC	8195
#define A_M_TIMEOQ	515

/* Counts a flush-thread line (and charges its cost); 1 if it is to be written. */
static int
line(struct fl_ctx *x)
{
	struct fl_engine *e = x->e;

	if (x->t->lines++ > 0 && !e->real)
		x->now += e->c.tun.line_cost_ns;
	return e->logging;
}

/* Orders buffered lines: time, then creation. */
static int
ll_less(const struct fl_lline *a, const struct fl_lline *b)
{
	return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

/* Writes the buffered lines due by upto, in order. */
static void
lflush(struct fl_engine *e, uint64_t upto)
{
	while (e->nlh > 0 && e->lh[0].t <= upto) {
		struct fl_lline top = e->lh[0], last = e->lh[--e->nlh];
		size_t i = 0;

		for (;;) {
			size_t l = 2 * i + 1, m;

			if (l >= e->nlh)
				break;
			m = l + 1 < e->nlh && ll_less(&e->lh[l + 1], &e->lh[l]) ? l + 1 : l;
			if (!ll_less(&e->lh[m], &last))
				break;
			e->lh[i] = e->lh[m];
			i = m;
		}
		if (e->nlh > 0)
			e->lh[i] = last;
		fwrite(top.s, 1, top.n, e->c.log);
		free(top.s);
	}
}

/* Moves the line being written into the heap. */
static void
lcommit(struct fl_engine *e)
{
	struct fl_lline l;
	size_t i;
	off_t n;

	if (!e->lopen)
		return;
	e->lopen = 0;
	if ((n = ftello(e->lf)) <= 0 || fflush(e->lf) != 0)
		return;
	l.t = e->lt;
	l.seq = e->lseq++;
	l.n = (size_t)n;
	if ((l.s = malloc(l.n)) == NULL ||
	    fl_grow(&e->lh, &e->caplh, e->nlh + 1, sizeof(*e->lh)) < 0) {
		free(l.s);
		fl_fail(e, "out of memory");
		rewind(e->lf);
		return;
	}
	memcpy(l.s, e->lbuf, l.n);
	rewind(e->lf);
	i = e->nlh++;
	while (i > 0 && ll_less(&l, &e->lh[(i - 1) / 2])) {
		e->lh[i] = e->lh[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	e->lh[i] = l;
}

/* Opens the reorder buffer (virtual clock); the real clock writes directly. */
int
fl_log_open(struct fl_engine *e)
{
	if (!e->logging || e->real) {
		e->lf = e->c.log;
		return 0;
	}
	if ((e->lf = open_memstream(&e->lbuf, &e->lsize)) == NULL)
		return -1;
	return 0;
}

/* Writes what is buffered and closes the buffer. */
void
fl_log_close(struct fl_engine *e)
{
	size_t i;

	if (e->lf == NULL || e->lf == e->c.log) {
		e->lf = NULL;
		return;
	}
	if (!e->failed) {
		lcommit(e);
		lflush(e, FL_TIME_NEVER);
	}
	for (i = 0; i < e->nlh; i++)
		free(e->lh[i].s);
	e->nlh = 0;
	free(e->lh);
	e->lh = NULL;
	fclose(e->lf);
	free(e->lbuf);
	e->lf = NULL;
	e->lbuf = NULL;
}

/* Starts a line at time t: prints its header in the engine's era. */
static void
hdr(struct fl_engine *e, uint64_t t, const char *thr, uint64_t tid, const char *ss,
    const char *file, const char *fn, int ln)
{
	uint64_t us = e->c.log_epoch_s * 1000000ull + e->c.log_epoch_us + t / 1000;

	if (e->lf != e->c.log) {
		/* virtual: the lines due by the engine's clock are final */
		lcommit(e);
		lflush(e, e->vnow);
		e->lopen = 1;
		e->lt = t;
	} else {
		if (us < e->last_log_us)
			us = e->last_log_us;
		e->last_log_us = us;
	}
	switch (e->era) {
	case FL_ERA_Z:
		fprintf(e->lf, "[%" PRIu64 ".%06" PRIu64 "00 %s:%" PRIx64 ":%s %s %s %d]",
		    us / 1000000, us % 1000000, thr, tid, ss, file, fn, ln);
		break;
	case FL_ERA_C:
		fprintf(e->lf, "[%" PRIu64 ":%06" PRIu64 " %s:%" PRIu64 ":%s %s %s %d] ",
		    us / 1000000, us % 1000000, thr, tid, ss, file, fn, ln);
		break;
	default:
		fprintf(e->lf, "[%" PRIu64 ":%06" PRIu64 " %s:%" PRIu64 ":%s:%s:%d] ",
		    us / 1000000, us % 1000000, thr, tid, ss, fn, ln);
		break;
	}
}

/* Reference count shown as opcnt: pending biorqs plus the bmap's own refs. */
static unsigned
opcnt(const struct fl_bmap *b)
{
	return (unsigned)(2 + b->nun + b->ninfl);
}

/* Prints a DEBUG_BMAP prefix; m is the 2010-2011 flag word, zflg HEAD's. */
static void
bmap_pfx(struct fl_engine *e, const struct fl_bmap *b, unsigned m, unsigned zflg, int dop)
{
	static const char letters[] = "RWIDQCdMLTAGwO";
	unsigned oc = opcnt(b) + (unsigned)dop;
	char l[16];
	int i, n = 0;

	switch (e->era) {
	case FL_ERA_A:
		fprintf(e->lf, "bmap@%#" PRIx64 " b:%x m:%u i:%" PRIx64 " opcnt=%u ",
		    b->addr, b->bno, m, b->fid, oc);
		break;
	case FL_ERA_B:
		fprintf(e->lf, "bmap@%#" PRIx64 " b:%x flg:%u fid:%#016" PRIx64 " opcnt=%u ",
		    b->addr, b->bno, m, b->fid, oc);
		break;
	case FL_ERA_C:
		for (i = 0; i < 14; i++)
			if (m & (1u << i))
				l[n++] = letters[i];
		l[n] = '\0';
		fprintf(e->lf, "bmap@%#" PRIx64 " bno:%u flg:%#x:%s+ fid:%#018" PRIx64
		    " opcnt=%u ", b->addr, b->bno, m, l, b->fid, oc);
		break;
	default:
		fprintf(e->lf, "bmap@%#" PRIx64 " bno:%u flg:%#x:WL+ fid:%#018" PRIx64
		    " opcnt=%d : ", b->addr, b->bno, zflg, b->fid, (int)oc);
		break;
	}
}

/* Fake address of a biorq. */
static uint64_t
biorq_addr(const struct fl_biorq *q, int z)
{
	return (z ? 0x7f1c0c012a30ull : 0x7f95c4012a30ull) + (q->id % 65536) * 0x130;
}

/* Fake address of a request. */
static uint64_t
req_addr(uint64_t xid, int z)
{
	return (z ? 0x7f1c0c0d5000ull : 0x7f95c40c3a00ull) + (xid % 4096) * 0x200;
}

/* Pages of BMPC_BUFSZ the biorq spans (np=). */
static unsigned
npages(const struct fl_biorq *q)
{
	return (q->off + q->len - 1) / FL_BMPC_BUFSZ - q->off / FL_BMPC_BUFSZ + 1;
}

/* Prints a DEBUG_BIORQ prefix: era A's flag word fl, or HEAD's. */
static void
biorq_pfx(struct fl_engine *e, const struct fl_biorq *q, unsigned fl)
{
	static const char letters[] = "rwflsidxDR";
	char l[16];
	int i, n = 0;

	if (e->era == FL_ERA_Z) {
		uint64_t exp = e->epoch_ns + q->deadline;

		fprintf(e->lf, "biorq@%#" PRIx64 " flg=%#x:wlt%s ref=1 off=%u len=%u retry=0 "
		    "buf=%#" PRIx64 " rqi=%#" PRIx64 " pfr=%#" PRIx64 " sliod=ffffffff npages=%u "
		    "bmap=%#" PRIx64 " exp=%" PRIu64 ":%09" PRIu64 " : ", biorq_addr(q, 1),
		    (q->flags & FLB_FORCE) ? 0x12a : 0x122, (q->flags & FLB_FORCE) ? "x" : "",
		    q->off, q->len, (uint64_t)(0x7f1c0d000000ull + (q->id % 4096) * 0x8000),
		    (uint64_t)(0x7f1c0c0a0000ull + (q->id % 4096) * 0x100),
		    (uint64_t)(0x7f1c0c0b0000ull + (q->id % 4096) * 0x100), npages(q), q->b->addr,
		    exp / 1000000000u, exp % 1000000000u);
		return;
	}
	if (q->flags & FLB_FORCE)
		fl |= 0x80;
	for (i = 0; i < 10; i++)
		if (fl & (1u << i))
			l[n++] = letters[i];
	l[n] = '\0';
	{
		uint64_t ts = e->epoch_ns + q->ready;

		fprintf(e->lf, "biorq@%#" PRIx64 " fl=%d o=%u l=%u np=%u b=%#" PRIx64
		    " ts=%" PRIu64 ":%" PRIu64 " %s ", biorq_addr(q, 0), (int)fl, q->off, q->len,
		    npages(q), q->b->addr, ts / 1000000000u, ts % 1000000000u, l);
	}
}

/* Prints a DEBUG_REQ prefix (phase New or Interpret). */
static void
req_pfx(struct fl_engine *e, uint64_t xid, int done)
{
	if (e->era == FL_ERA_Z)
		fprintf(e->lf, "req@%#" PRIx64 " x%" PRIu64 "/t0 cb=(nil) c0 "
		    "o42->@54321-128.182.99.208@tcp10:30 lens 264/192 ref 1 res 0 ret 0 fl New:/0/0 "
		    "replyc deadbeef rc 0/0 to=0 sent=0 :: ", req_addr(xid, 1), xid);
	else if (done)
		fprintf(e->lf, "req@%#" PRIx64 " x%" PRIu64 "/t0 c0 o43->@12345-10.32.5.12@tcp10:30 "
		    "lens 232/112 ref 1 res 0 ret 0 fl Interpret:R/0/0 replyc 0 rc 0/0 to=60 :: ",
		    req_addr(xid, 0), xid);
	else
		fprintf(e->lf, "req@%#" PRIx64 " x%" PRIu64 "/t0 c0 o43->@12345-10.32.5.12@tcp10:30 "
		    "lens 232/112 ref 1 res 0 ret 0 fl New:/0/0 replyc deadbeef rc 0/0 to=0 :: ",
		    req_addr(xid, 0), xid);
}

/* Flush thread k's name and id in the engine's era. */
static void
fthr(struct fl_engine *e, unsigned k, char *name, size_t n, uint64_t *tid)
{
	if (e->era == FL_ERA_Z) {
		snprintf(name, n, "msflushthr%u", k);
		*tid = Z_FLUSH_ID - (uint64_t)k * Z_THR_STRIDE;
	} else if (e->era == FL_ERA_A && e->c.tun.threads == 1) {
		snprintf(name, n, "msbflushthr");	/* one thread, unnumbered until ca3265c84 */
		*tid = A_FLUSH_TID;
	} else {
		snprintf(name, n, "msbflushthr%u", k);
		*tid = k == 0 ? A_FLUSH_TID : A_RPC_TID + 2 + k;
	}
}

/* A flush-thread header for x at its time. */
static void
fhdr(struct fl_ctx *x, const char *ss, const char *file, const char *fn, int ln)
{
	char nm[32];
	uint64_t tid;

	fthr(x->e, x->t->k, nm, sizeof(nm), &tid);
	hdr(x->e, x->now, nm, tid, ss, file, fn, ln);
}

/* The file of the flush code in the engine's era (eras C and Z print it). */
static const char *
ffile(const struct fl_engine *e)
{
	return e->era == FL_ERA_Z ? "bflush.c" : "bmap_flush.c";
}

/* A writer thread's header (msfsthrNN, chosen by file). */
static void
whdr(struct fl_engine *e, uint64_t t, uint64_t fid, const char *ss, const char *file,
    const char *fn, int ln)
{
	char nm[32];
	unsigned w = (unsigned)(fid % 32);

	snprintf(nm, sizeof(nm), "msfsthr%02u", w);
	hdr(e, t, nm, e->era == FL_ERA_Z ? Z_FS_ID - (uint64_t)w * Z_THR_STRIDE :
	    (uint64_t)A_FS_TID + w, ss, file, fn, ln);
}

/* The reaper's header (2010-2011: msbflushrpcthr; HEAD: msnbrqthrN). */
static void
rhdr(struct fl_engine *e, uint64_t t, unsigned n, const char *ss, const char *file,
    const char *fn, int ln)
{
	char nm[32];

	if (e->era == FL_ERA_Z) {
		snprintf(nm, sizeof(nm), "msnbrqthr%u", n);
		hdr(e, t, nm, Z_NBRQ_ID - n * Z_THR_STRIDE, ss, file, fn, ln);
	} else
		hdr(e, t, "msbflushrpcthr", A_RPC_TID, ss, file, fn, ln);
}

/* ------------------------------------------------------- flush-thread lines */

/* A bmap is examined: try flush / checking for flush / flushable?. */
void
fl_log_exam(struct fl_ctx *x, struct fl_bmap *b)
{
	struct fl_engine *e = x->e;
	unsigned m = b->dirty ? A_M_DIRTY : A_M_CLEANPROC;

	if (!line(x))
		return;
	switch (e->era) {
	case FL_ERA_A:
		fhdr(x, "bmap", NULL, "bmap_flush", 639);
		bmap_pfx(e, b, m, 0, 0);
		fprintf(e->lf, "try flush (outstandingRpcCnt=%u)\n", e->outstanding);
		break;
	case FL_ERA_B:
		fhdr(x, "bmap", NULL, "bmap_flush", 752);
		bmap_pfx(e, b, m, 0, 0);
		fprintf(e->lf, "checking for flush (outstandingRpcCnt=%u)\n", e->outstanding);
		break;
	case FL_ERA_C:
		fhdr(x, "bmap", ffile(e), "bmap_flush", 1272);
		bmap_pfx(e, b, m, 0, 0);
		fprintf(e->lf, "flushable? (outstandingRpcCnt=%u)\n", e->outstanding);
		break;
	default:
		fhdr(x, "bmap", ffile(e), "bmap_flush", 765);
		bmap_pfx(e, b, 0, 0x30006, 0);
		fputs("flushable?\n", e->lf);
		break;
	}
}

/* A collected bmap is flushed: try flush (B, C with the count; Z bare). */
void
fl_log_tryflush(struct fl_ctx *x, struct fl_bmap *b)
{
	struct fl_engine *e = x->e;

	if (e->era == FL_ERA_A || !line(x))
		return;
	if (e->era == FL_ERA_Z) {
		fhdr(x, "bmap", ffile(e), "bmap_flush", 813);
		bmap_pfx(e, b, 0, 0x34006, 1);
		fputs("try flush\n", e->lf);
		return;
	}
	fhdr(x, "bmap", ffile(e), "bmap_flush", e->era == FL_ERA_B ? 818 : 1326);
	bmap_pfx(e, b, A_M_DIRTY, 0, 0);
	fprintf(e->lf, "try flush (outstandingRpcCnt=%u)\n", e->outstanding);
}

/* A biorq is looked at: consider for flush (A-C; in bmap_flushable when scanning). */
void
fl_log_consider(struct fl_ctx *x, struct fl_biorq *q, int scanning)
{
	struct fl_engine *e = x->e;

	if (e->era == FL_ERA_Z || !line(x))
		return;
	if (scanning)
		fhdr(x, "gen", ffile(e), "bmap_flushable", e->era == FL_ERA_B ? 561 : 1150);
	else
		fhdr(x, "gen", ffile(e), "bmap_flush", e->era == FL_ERA_A ? 674 :
		    e->era == FL_ERA_B ? 806 : 1331);
	biorq_pfx(e, q, 0x202);
	fputs("consider for flush\n", e->lf);
}

/* A biorq is scheduled: try flush (A, B), flushable (C NOTICE, Z DEBUG). */
void
fl_log_biorq_try(struct fl_ctx *x, struct fl_biorq *q)
{
	struct fl_engine *e = x->e;

	if (!line(x))
		return;
	switch (e->era) {
	case FL_ERA_A:
	case FL_ERA_B:
		fhdr(x, "gen", NULL, "bmap_flush", e->era == FL_ERA_A ? 706 : 835);
		biorq_pfx(e, q, 0x212);
		fputs("try flush\n", e->lf);
		break;
	case FL_ERA_C:
		fhdr(x, "gen", ffile(e), "bmap_flush", 1350);
		biorq_pfx(e, q, 0x212);
		fputs("flushable\n", e->lf);
		break;
	default:
		fhdr(x, "bmap", ffile(e), "bmap_flush", 815);
		biorq_pfx(e, q, 0);
		fputs("flushable\n", e->lf);
		break;
	}
}

/* C: a biorq touches a page in flight and is held back. */
void
fl_log_inflight_already(struct fl_ctx *x, struct fl_biorq *q)
{
	struct fl_engine *e = x->e;

	if (e->era != FL_ERA_C || !line(x))
		return;
	fhdr(x, "gen", ffile(e), "bmap_flush", 1338);
	biorq_pfx(e, q, 0x202);
	fputs("inflight already\n", e->lf);
}

/* trycoalesce looks at biorq #i of the call (A-C with nfrags; Z without). */
void
fl_log_coal(struct fl_ctx *x, struct fl_biorq *q, size_t i, int expired, size_t nfrags)
{
	struct fl_engine *e = x->e;

	if (!line(x))
		return;
	if (e->era == FL_ERA_Z) {
		fhdr(x, "bmap", ffile(e), "bmap_flush_trycoalesce", 671);
		biorq_pfx(e, q, 0);
		fprintf(e->lf, "biorq #%zu (expired=%d)\n", i, expired);
		return;
	}
	fhdr(x, "gen", ffile(e), "bmap_flush_trycoalesce", e->era == FL_ERA_A ? 547 :
	    e->era == FL_ERA_B ? 660 : 890);
	biorq_pfx(e, q, 0x212);
	fprintf(e->lf, "biorq #%zu (expired=%d) nfrags=%zu\n", i, expired, nfrags);
}

/* trycoalesce gives a biorq back (A-C). */
void
fl_log_desched(struct fl_ctx *x, struct fl_biorq *q)
{
	struct fl_engine *e = x->e;

	if (e->era == FL_ERA_Z || !line(x))
		return;
	fhdr(x, "gen", ffile(e), "bmap_flush_trycoalesce", e->era == FL_ERA_A ? 575 :
	    e->era == FL_ERA_B ? 688 : 920);
	biorq_pfx(e, q, 0x202);
	fputs("descheduling\n", e->lf);
}

/* A run's size (A-C: array has size; Z: bwc cb arg). */
void
fl_log_runsize(struct fl_ctx *x, struct fl_batch *ba)
{
	struct fl_engine *e = x->e;
	uint64_t arr = 0x7f95c40f0000ull + (ba->id % 4096) * 0x40;

	if (!line(x))
		return;
	if (e->era == FL_ERA_Z) {
		fhdr(x, "bmap", ffile(e), "bmap_flush_send_rpcs", 464);
		fprintf(e->lf, "bwc cb arg (%#" PRIx64 ") size=%u nbiorqs=%zu\n",
		    (uint64_t)(0x7f1c0c0c4000ull + (ba->id % 4096) * 0x100), ba->end - ba->start,
		    ba->nbq);
		return;
	}
	fhdr(x, "gen", ffile(e), "bmap_flush_coalesce_size", e->era == FL_ERA_C ? 175 : 163);
	fprintf(e->lf, "array %#" PRIx64 " has size=%u array len=%zu\n", arr,
	    ba->end - ba->start, ba->nbq);
}

/* The run's biorqs go in flight: set inflight per biorq (A-C). */
void
fl_log_inflight(struct fl_ctx *x, struct fl_batch *ba)
{
	struct fl_engine *e = x->e;
	size_t i;

	if (e->era == FL_ERA_Z)
		return;
	for (i = 0; i < ba->nbq; i++) {
		if (!line(x))
			continue;
		fhdr(x, "gen", ffile(e), "bmap_flush_inflight_set", e->era == FL_ERA_C ? 262 : 239);
		biorq_pfx(e, ba->bq[i], 0x232);
		fputs("set inflight\n", e->lf);
	}
}

/* A write RPC is built and pushed. */
void
fl_log_send(struct fl_ctx *x, struct fl_rpc *r)
{
	struct fl_engine *e = x->e;

	if (!line(x))
		return;
	if (e->era == FL_ERA_Z) {
		fhdr(x, "rpc", ffile(e), "bmap_flush_create_rpc", 281);
		req_pfx(e, r->info.xid, 0);
		fprintf(e->lf, "sending WRITE RPC to iosid=%#x fid=%#018" PRIx64 ":0 off=%u sz=%u "
		    "ios=%u infl=%u\n", 0x1fffu - r->batch->ios, r->info.fid, r->info.off,
		    r->info.len, 8191u - r->batch->ios, e->win[r->batch->ios].inflight);
		return;
	}
	fhdr(x, "rpc", ffile(e), "bmap_flush_create_rpc", e->era == FL_ERA_C ? 300 : 224);
	req_pfx(e, r->info.xid, 0);
	fprintf(e->lf, "off=%u sz=%u op=1\n", r->info.off, r->info.len);
}

/* A: the bmap goes back on the dirty queue. */
void
fl_log_restore(struct fl_ctx *x, struct fl_bmap *b)
{
	if (x->e->era != FL_ERA_A || !line(x))
		return;
	fhdr(x, "bmap", NULL, "bmap_flush", 754);
	bmap_pfx(x->e, b, A_M_DIRTY, 0, 0);
	fputs("restore to dirty list\n", x->e->lf);
}

/* A: the bmap had nothing pending at the end of the pass. */
void
fl_log_clean(struct fl_ctx *x, struct fl_bmap *b)
{
	if (x->e->era != FL_ERA_A || !line(x))
		return;
	fhdr(x, "bmap", NULL, "bmap_flush", 767);
	bmap_pfx(x->e, b, A_M_CLEANPROC, 0, 0);
	fputs("is clean, descheduling..\n", x->e->lf);
}

/* A, B: the bmap leaves the flush queue for the timeout queue. */
void
fl_log_timeoq(struct fl_ctx *x, struct fl_bmap *b)
{
	struct fl_engine *e = x->e;

	if ((e->era != FL_ERA_A && e->era != FL_ERA_B) || !line(x))
		return;
	fhdr(x, "bmap", NULL, "bmap_flush", e->era == FL_ERA_A ? 662 : 762);
	bmap_pfx(e, b, A_M_TIMEOQ, 0, -1);
	fputs("added to bmapTimeoutQ\n", e->lf);
}

/* B: too many RPCs out after a bmap: the rest of the pass is dropped. */
void
fl_log_stall(struct fl_ctx *x, unsigned nrpcs)
{
	struct fl_engine *e = x->e;

	if (e->era != FL_ERA_B || !line(x))
		return;
	fhdr(x, "gen", NULL, "bmap_flush", 847);
	fprintf(e->lf, "stall flush (nrpcs = %u, outstandingRpcCnt=%u)\n", nrpcs, e->outstanding);
}

/* C: the flush loop's line after each wait (bf:1382-1435). */
void
fl_log_loop(struct fl_ctx *x, uint64_t flush_ns, uint64_t rpcwait_ns, uint64_t wait_ns,
    unsigned flags, uint64_t w, int rc)
{
	struct fl_engine *e = x->e;
	uint64_t wall = e->epoch_ns + w;

	if (e->era != FL_ERA_C || !line(x))
		return;
	fhdr(x, "bmap", ffile(e), "msbmapflushthr_main", 1425);
	fprintf(e->lf, "flush (%" PRIu64 ":%09" PRIu64 "), rpcwait (%" PRIu64 ":%09" PRIu64
	    "), waitq (%" PRIu64 ":%09" PRIu64 "), bmapFlushTimeoFlags=%u bmapFlushWaitTime(%"
	    PRIu64 ":%09" PRIu64 ") rc=%d\n", flush_ns / 1000000000u, flush_ns % 1000000000u,
	    rpcwait_ns / 1000000000u, rpcwait_ns % 1000000000u, wait_ns / 1000000000u,
	    wait_ns % 1000000000u, flags, wall / 1000000000u, wall % 1000000000u, rc);
}

/* Z: msflushthr_main's line after its timed wait. */
void
fl_log_worktime(struct fl_ctx *x, uint64_t work, uint64_t wait)
{
	struct fl_engine *e = x->e;

	if (e->era != FL_ERA_Z || !line(x))
		return;
	fhdr(x, "bmap", ffile(e), "msflushthr_main", 886);
	fprintf(e->lf, "work time (%" PRIu64 ":%09" PRIu64 "),wait time (%" PRIu64 ":%09" PRIu64
	    ")\n", work / 1000000000u, work % 1000000000u, wait / 1000000000u, wait % 1000000000u);
}

/* ------------------------------------------------------ other threads' lines */

/* A write became flushable (msl_pages_schedflush); newq: its bmap was queued. */
void
fl_log_arrive(struct fl_engine *e, uint64_t t, struct fl_biorq *q, int list_empty, int newq)
{
	struct fl_bmap *b = q->b;

	if (!e->logging)
		return;
	if (e->era == FL_ERA_Z) {
		whdr(e, t, b->fid, "bmap", "io.c", "msl_pages_schedflush", 1278);
		biorq_pfx(e, q, 0);
		fputs("sched flush\n", e->lf);
		if (newq) {
			whdr(e, t, b->fid, "bmap", "io.c", "msl_pages_schedflush", 1294);
			bmap_pfx(e, b, 0, 0x30006, 0);
			fputs("add to msl_bmapflushq\n", e->lf);
		}
		return;
	}
	whdr(e, t, b->fid, "bmap", "mount_slash_int.c", "msl_pages_schedflush",
	    e->era == FL_ERA_A ? 1185 : e->era == FL_ERA_B ? 1197 : 1284);
	bmap_pfx(e, b, A_M_DIRTY, 0, 0);
	fprintf(e->lf, "biorq=%#" PRIx64 " list_empty(%d)\n", biorq_addr(q, 0), list_empty);
	if (newq && e->era != FL_ERA_A) {
		/* d687fd5a4 (2010-09-28) to a3dd635c0 (2014) */
		whdr(e, t, b->fid, "bmap", "mount_slash_int.c", "msl_pages_schedflush",
		    e->era == FL_ERA_B ? 1201 : 1288);
		bmap_pfx(e, b, A_M_DIRTY, 0, 0);
		fputs("add to bmapFlushQ\n", e->lf);
	}
}

/* Eras A-C: a `force expire` line for each of the n biorqs q[] flagged FORCE. */
static void
force_lines(struct fl_engine *e, uint64_t t, struct fl_bmap *b, struct fl_biorq **q, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!(q[i]->flags & FLB_FORCE))
			continue;
		whdr(e, t, b->fid, "gen", "main.c", e->era == FL_ERA_A ?
		    "slash2fuse_flush_int_locked" : "msl_flush_int_locked", 1176);
		biorq_pfx(e, q[i], 0x202);
		fputs("force expire\n", e->lf);
	}
}

/* fsync/close flags b's biorqs: force expire. */
void
fl_log_force(struct fl_engine *e, uint64_t t, struct fl_bmap *b, size_t nflagged)
{
	if (!e->logging || nflagged == 0)
		return;
	if (e->era == FL_ERA_Z) {
		whdr(e, t, b->fid, "bmap", "pgcache.c", "bmpc_expire_biorqs", 531);
		bmap_pfx(e, b, 0, 0x30006, 0);
		fputs("force expire\n", e->lf);
		return;
	}
	/*
	 * 2010-2011: close/fsync flags the handle's biorqs one by one,
	 * DEBUG_BIORQ(PLL_INFO, r, "force expire") (main.c:1176), so each
	 * line names its biorq and, through b=, its bmap.
	 */
	force_lines(e, t, b, b->un, b->nun);
	force_lines(e, t, b, b->blk, b->nblk);
}

/* C: bmap_flushq_wake's line; Z: wakeup flusher (mode = reason). */
void
fl_log_wake(struct fl_engine *e, uint64_t t, unsigned mode, int woke, unsigned flags,
    uint64_t fid, int from_rpc)
{
	if (!e->logging || (e->era != FL_ERA_C && e->era != FL_ERA_Z))
		return;
	if (from_rpc)
		rhdr(e, t, 8, "bmap", ffile(e), "bmap_flushq_wake", e->era == FL_ERA_Z ? 202 : 240);
	else
		whdr(e, t, fid, "bmap", ffile(e), "bmap_flushq_wake", e->era == FL_ERA_Z ? 202 : 240);
	if (e->era == FL_ERA_Z)
		fprintf(e->lf, "wakeup flusher: reason=%x wake=%d\n", mode, woke);
	else
		fprintf(e->lf, "mode=%x wake=%d flags=%x outstandingRpcCnt=%u\n", mode, woke,
		    flags, e->outstanding);
}

/* C: a writer brings the flush thread's planned wake-up forward. */
void
fl_log_alarm(struct fl_engine *e, uint64_t t, uint64_t fid, uint64_t oldw, uint64_t neww)
{
	uint64_t o = e->epoch_ns + oldw, n = e->epoch_ns + neww;

	if (!e->logging || e->era != FL_ERA_C)
		return;
	whdr(e, t, fid, "bmap", ffile(e), "bmap_flushq_wake", 230);
	fprintf(e->lf, "oldalarm=(%" PRIu64 ":%" PRIu64 ") newalarm=(%" PRIu64 ":%" PRIu64 ")\n",
	    o / 1000000000u, o % 1000000000u, n / 1000000000u, n % 1000000000u);
}

/* An RPC reply was processed. */
void
fl_log_done(struct fl_engine *e, uint64_t t, struct fl_rpc *r)
{
	if (!e->logging)
		return;
	switch (e->era) {
	case FL_ERA_Z: {
		unsigned n = (unsigned)(r->info.xid % 16);

		rhdr(e, t, n, "bmap", "bflush.c", "msl_ric_bflush_cb", 224);
		fprintf(e->lf, "callback to write RPC bwc=%#" PRIx64 " ios=%u infl=%u rc=0\n",
		    (uint64_t)(0x7f1c0c0c4000ull + (r->batch->id % 4096) * 0x100),
		    8191u - r->batch->ios, e->win[r->batch->ios].inflight);
		break;
	}
	case FL_ERA_C:
		rhdr(e, t, 0, "rpc", ffile(e), "bmap_flush_rpc_cb", 268);
		req_pfx(e, r->info.xid, 1);
		fputs("done rc=0\n", e->lf);
		break;
	default:
		rhdr(e, t, 0, "rpc", NULL, "bmap_flush_rpc_cb", e->era == FL_ERA_A ? 179 : 183);
		req_pfx(e, r->info.xid, 1);
		fprintf(e->lf, "done (outstandingRpcCnt=%u)\n", e->outstanding);
		break;
	}
}

/* The last pending write of the bmap completed (unset DIRTY / remove from the queue). */
void
fl_log_unset_dirty(struct fl_engine *e, uint64_t t, struct fl_bmap *b)
{
	if (!e->logging)
		return;
	if (e->era == FL_ERA_Z) {
		rhdr(e, t, 8, "bmap", "io.c", "msl_biorq_del", 258);
		bmap_pfx(e, b, 0, 0x20006, 0);
		fputs("remove from msl_bmapflushq\n", e->lf);
		return;
	}
	rhdr(e, t, 0, "bmap", "mount_slash_int.c", "bmap_biorq_del", e->era == FL_ERA_C ? 381 : 320);
	bmap_pfx(e, b, A_M_CLEANPROC, 0, 0);
	fputs("unset DIRTY nitems_pndg(0)\n", e->lf);
}
