/*
 * The engine's psclog writer: what the engine does, written with the real
 * client's format strings (spec log-format.md §1-§5).
 *
 * Era A (2010, f020379d5): header `[%s:%06u %n:%i:%T:%F:%l] `, prefixes
 * DEBUG_BMAP `bmap@%p b:%x m:%u i:%x opcnt=%u `, DEBUG_BIORQ
 * `biorq@%p fl=%d o=%u l=%u np=%d b=%p ts=%ld:%ld <letters> `, DEBUG_REQ
 * `req@%p x%ld/t%ld c%lx o%d->@%s:%d lens ... :: `.
 * Era Z (HEAD): header `[%s.%06u00 %n:%I:%T %B %F %l]` (no space after `]`)
 * and the HEAD prefixes ending in ` : `.
 *
 * Pointers, thread ids and peers are invented but stable (a bmap keeps its
 * address for its lifetime; the first bmap is 0x881330 as in the seed).
 * Timestamps are log_epoch + engine time, never decreasing.
 */
#include "libflush/internal.h"

#include <inttypes.h>
#include <stdio.h>

#define A_FLUSH_TID	23667
#define A_RPC_TID	23668
#define A_FS_TID	23650
#define Z_FLUSH_ID	0x7f1c1affd700ull
#define Z_NBRQ_ID	0x7ffefc7f1700ull
#define Z_FS_ID		0x7f1c2affd700ull
#define Z_THR_STRIDE	0x801000ull

/* Era-A BMAP mode bits used here. */
#define A_M_DIRTY	8259	/* RD|WR|DIRTY|CLI_FLUSHPROC */
#define A_M_CLEANPROC	8195	/* RD|WR|CLI_FLUSHPROC */
#define A_M_TIMEOQ	515	/* RD|WR|REAPABLE */

/* True when the engine writes a log. */
static int
logging(const struct fl_engine *e)
{
	return e->c.log != NULL && e->c.era != FL_ERA_NONE;
}

/* Prints the line header for time t (era chosen by the config). */
static void
hdr(struct fl_engine *e, uint64_t t, const char *thr, uint64_t tid, const char *ss,
    const char *file, const char *fn, int line)
{
	uint64_t us = e->c.log_epoch_s * 1000000ull + e->c.log_epoch_us + t / 1000;

	if (us < e->last_log_us)
		us = e->last_log_us;
	e->last_log_us = us;
	if (e->c.era == FL_ERA_A)
		fprintf(e->c.log, "[%" PRIu64 ":%06" PRIu64 " %s:%" PRIu64 ":%s:%s:%d] ",
		    us / 1000000, us % 1000000, thr, tid, ss, fn, line);
	else
		fprintf(e->c.log, "[%" PRIu64 ".%06" PRIu64 "00 %s:%" PRIx64 ":%s %s %s %d]",
		    us / 1000000, us % 1000000, thr, tid, ss, file, fn, line);
}

/* Reference count shown as opcnt: pending biorqs plus the bmap's own refs. */
static unsigned
opcnt(const struct fl_bmap *b)
{
	return (unsigned)(2 + b->nun + b->ninfl);
}

/* Prints a DEBUG_BMAP prefix; m is the era-A mode, zflg the HEAD flags. */
static void
bmap_pfx(struct fl_engine *e, const struct fl_bmap *b, unsigned m, unsigned zflg, int dop)
{
	if (e->c.era == FL_ERA_A)
		fprintf(e->c.log, "bmap@%#" PRIx64 " b:%x m:%u i:%" PRIx64 " opcnt=%u ",
		    b->addr, b->bno, m, b->fid, opcnt(b) + (unsigned)dop);
	else
		fprintf(e->c.log, "bmap@%#" PRIx64 " bno:%u flg:%#x:WL+ fid:%#018" PRIx64
		    " opcnt=%d : ", b->addr, b->bno, zflg, b->fid, (int)(opcnt(b) + (unsigned)dop));
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

/* Prints an era-A DEBUG_BIORQ prefix with the flag word fl. */
static void
biorq_pfx_a(struct fl_engine *e, const struct fl_biorq *q, unsigned fl)
{
	static const char letters[] = "rwflsidxDR";
	char l[16];
	int i, n = 0;

	for (i = 0; i < 10; i++)
		if (fl & (1u << i))
			l[n++] = letters[i];
	l[n] = '\0';
	uint64_t ts = e->c.log_epoch_s * 1000000000ull + e->c.log_epoch_us * 1000 + q->ready;

	fprintf(e->c.log, "biorq@%#" PRIx64 " fl=%d o=%u l=%u np=%u b=%#" PRIx64
	    " ts=%" PRIu64 ":%" PRIu64 " %s ", biorq_addr(q, 0), (int)fl, q->off, q->len,
	    npages(q), q->b->addr, ts / 1000000000u, ts % 1000000000u, l);
}

/* Era-A flush thread name and tid. */
static void
athr(struct fl_engine *e, unsigned k, char *name, size_t n, uint64_t *tid)
{
	if (e->c.tun.threads == 1) {
		snprintf(name, n, "msbflushthr");
		*tid = A_FLUSH_TID;
	} else {
		snprintf(name, n, "msbflushthr%u", k);
		*tid = k == 0 ? A_FLUSH_TID : A_RPC_TID + 2 + k;
	}
}

/* Era-Z flush thread name and pthread id. */
static void
zthr(unsigned k, char *name, size_t n, uint64_t *tid)
{
	snprintf(name, n, "msflushthr%u", k);
	*tid = Z_FLUSH_ID - (uint64_t)k * Z_THR_STRIDE;
}

/* Writer thread of a file: msfsthrNN. */
static void
fsthr(struct fl_engine *e, uint64_t fid, char *name, size_t n, uint64_t *tid)
{
	unsigned w = (unsigned)(fid % 32);

	snprintf(name, n, "msfsthr%02u", w);
	*tid = e->c.era == FL_ERA_A ? A_FS_TID + w : Z_FS_ID - (uint64_t)w * Z_THR_STRIDE;
}

/* A write became flushable (msl_pages_schedflush). */
void
fl_log_arrive(struct fl_engine *e, uint64_t t, struct fl_biorq *q, int list_empty, int newq)
{
	char nm[32];
	uint64_t tid;
	struct fl_bmap *b = q->b;

	if (!logging(e))
		return;
	fsthr(e, b->fid, nm, sizeof(nm), &tid);
	if (e->c.era == FL_ERA_A) {
		hdr(e, t, nm, tid, "bmap", NULL, "msl_pages_schedflush", 1185);
		bmap_pfx(e, b, A_M_DIRTY, 0, 0);
		fprintf(e->c.log, "biorq=%#" PRIx64 " list_empty(%d)\n", biorq_addr(q, 0),
		    list_empty);
		return;
	}
	{
		uint64_t exp = q->ready + e->c.tun.max_age_ns;

		hdr(e, t, nm, tid, "bmap", "io.c", "msl_pages_schedflush", 1278);
		fprintf(e->c.log, "biorq@%#" PRIx64 " flg=0x122:wlt ref=1 off=%u len=%u retry=0 "
		    "buf=%#" PRIx64 " rqi=%#" PRIx64 " pfr=%#" PRIx64 " sliod=ffffffff npages=%u "
		    "bmap=%#" PRIx64 " exp=%" PRIu64 ":%09" PRIu64 " : sched flush\n",
		    biorq_addr(q, 1), q->off, q->len,
		    (uint64_t)(0x7f1c0d000000ull + (q->id % 4096) * 0x8000),
		    (uint64_t)(0x7f1c0c0a0000ull + (q->id % 4096) * 0x100),
		    (uint64_t)(0x7f1c0c0b0000ull + (q->id % 4096) * 0x100), npages(q), b->addr,
		    (uint64_t)(e->c.log_epoch_s + exp / 1000000000u), (uint64_t)(exp % 1000000000u));
	}
	if (newq) {
		hdr(e, t, nm, tid, "bmap", "io.c", "msl_pages_schedflush", 1294);
		bmap_pfx(e, b, 0, 0x30006, 0);
		fputs("add to msl_bmapflushq\n", e->c.log);
	}
	(void)list_empty;
}

/* The flush thread examines a bmap (try flush / flushable?). */
void
fl_log_exam(struct fl_engine *e, uint64_t t, unsigned k, struct fl_bmap *b)
{
	char nm[32];
	uint64_t tid;

	if (!logging(e))
		return;
	if (e->c.era == FL_ERA_A) {
		athr(e, k, nm, sizeof(nm), &tid);
		hdr(e, t, nm, tid, "bmap", NULL, "bmap_flush", 639);
		bmap_pfx(e, b, b->dirty ? A_M_DIRTY : A_M_CLEANPROC, 0, 0);
		fprintf(e->c.log, "try flush (outstandingRpcCnt=%u)\n", e->outstanding);
	} else {
		zthr(k, nm, sizeof(nm), &tid);
		hdr(e, t, nm, tid, "bmap", "bflush.c", "bmap_flush", 765);
		bmap_pfx(e, b, 0, 0x30006, 0);
		fputs("flushable?\n", e->c.log);
	}
}

/* A run was scheduled: era A logs each biorq's try flush and set inflight. */
void
fl_log_sched(struct fl_engine *e, uint64_t t, unsigned k, struct fl_batch *ba)
{
	char nm[32];
	uint64_t tid;
	size_t i;
	unsigned x;

	if (!logging(e) || e->c.era != FL_ERA_A)
		return;
	athr(e, k, nm, sizeof(nm), &tid);
	for (i = 0; i < ba->nbq; i++) {
		x = (ba->bq[i]->flags & FLB_FORCE) ? 0x80 : 0;
		hdr(e, t, nm, tid, "gen", NULL, "bmap_flush", 706);
		biorq_pfx_a(e, ba->bq[i], 0x212 | x);
		fputs("try flush\n", e->c.log);
	}
	for (i = 0; i < ba->nbq; i++) {
		x = (ba->bq[i]->flags & FLB_FORCE) ? 0x80 : 0;
		hdr(e, t, nm, tid, "gen", NULL, "bmap_flush_inflight_set", 239);
		biorq_pfx_a(e, ba->bq[i], 0x232 | x);
		fputs("set inflight\n", e->c.log);
	}
}

/* A write RPC was built and pushed. */
void
fl_log_send(struct fl_engine *e, uint64_t t, unsigned k, struct fl_rpc *r)
{
	char nm[32];
	uint64_t tid;
	struct fl_bmap *b = r->batch->b;

	if (!logging(e))
		return;
	if (e->c.era == FL_ERA_A) {
		athr(e, k, nm, sizeof(nm), &tid);
		hdr(e, t, nm, tid, "rpc", NULL, "bmap_flush_create_rpc", 224);
		fprintf(e->c.log, "req@%#" PRIx64 " x%" PRIu64 "/t0 c0 o43->@12345-10.32.5.12@tcp10:30 "
		    "lens 232/112 ref 1 res 0 ret 0 fl New:/0/0 replyc deadbeef rc 0/0 to=0 :: "
		    "off=%u sz=%u op=1\n", req_addr(r->info.xid, 0), r->info.xid, r->info.off,
		    r->info.len);
		return;
	}
	zthr(k, nm, sizeof(nm), &tid);
	if (!b->sent_in_exam) {
		hdr(e, t, nm, tid, "bmap", "bflush.c", "bmap_flush", 813);
		bmap_pfx(e, b, 0, 0x34006, 1);
		fputs("try flush\n", e->c.log);
	}
	hdr(e, t, nm, tid, "rpc", "bflush.c", "bmap_flush_create_rpc", 281);
	fprintf(e->c.log, "req@%#" PRIx64 " x%" PRIu64 "/t0 cb=(nil) c0 o42->@54321-128.182.99.208@tcp10:30 "
	    "lens 264/192 ref 1 res 0 ret 0 fl New:/0/0 replyc deadbeef rc 0/0 to=0 sent=0 :: "
	    "sending WRITE RPC to iosid=0x1fff fid=%#018" PRIx64 ":0 off=%u sz=%u ios=8191 infl=%u\n",
	    req_addr(r->info.xid, 1), r->info.xid, b->fid, r->info.off, r->info.len,
	    r->info.outstanding);
}

/* Era A: the bmap goes back on the dirty queue. */
void
fl_log_restore(struct fl_engine *e, uint64_t t, unsigned k, struct fl_bmap *b)
{
	char nm[32];
	uint64_t tid;

	if (!logging(e) || e->c.era != FL_ERA_A)
		return;
	athr(e, k, nm, sizeof(nm), &tid);
	hdr(e, t, nm, tid, "bmap", NULL, "bmap_flush", 754);
	bmap_pfx(e, b, A_M_DIRTY, 0, 0);
	fputs("restore to dirty list\n", e->c.log);
}

/* Era A: the bmap leaves the flush queue (timeoq: added to bmapTimeoutQ, else is clean). */
void
fl_log_retire(struct fl_engine *e, uint64_t t, unsigned k, struct fl_bmap *b, int timeoq)
{
	char nm[32];
	uint64_t tid;

	if (!logging(e) || e->c.era != FL_ERA_A)
		return;
	athr(e, k, nm, sizeof(nm), &tid);
	if (timeoq) {
		hdr(e, t, nm, tid, "bmap", NULL, "bmap_flush", 662);
		bmap_pfx(e, b, A_M_TIMEOQ, 0, -1);
		fputs("added to bmapTimeoutQ\n", e->c.log);
	} else {
		hdr(e, t, nm, tid, "bmap", NULL, "bmap_flush", 767);
		bmap_pfx(e, b, A_M_CLEANPROC, 0, 0);
		fputs("is clean, descheduling..\n", e->c.log);
	}
}

/* An RPC reply was processed. */
void
fl_log_done(struct fl_engine *e, uint64_t t, struct fl_rpc *r)
{
	if (!logging(e))
		return;
	if (e->c.era == FL_ERA_A) {
		hdr(e, t, "msbflushrpcthr", A_RPC_TID, "rpc", NULL, "bmap_flush_rpc_cb", 179);
		fprintf(e->c.log, "req@%#" PRIx64 " x%" PRIu64 "/t0 c0 o43->@12345-10.32.5.12@tcp10:30 "
		    "lens 232/112 ref 1 res 0 ret 0 fl Interpret:R/0/0 replyc 0 rc 0/0 to=60 :: "
		    "done (outstandingRpcCnt=%u)\n", req_addr(r->info.xid, 0), r->info.xid,
		    e->outstanding);
	} else {
		char nm[32];
		unsigned n = (unsigned)(r->info.xid % 16);

		snprintf(nm, sizeof(nm), "msnbrqthr%u", n);
		hdr(e, t, nm, Z_NBRQ_ID - n * Z_THR_STRIDE, "bmap", "bflush.c",
		    "msl_ric_bflush_cb", 224);
		fprintf(e->c.log, "callback to write RPC bwc=%#" PRIx64 " ios=8191 infl=%u rc=0\n",
		    (uint64_t)(0x7f1c0c0c4000ull + (r->batch->id % 4096) * 0x100), e->outstanding);
	}
}

/* The last pending write of the bmap completed. */
void
fl_log_unset_dirty(struct fl_engine *e, uint64_t t, struct fl_bmap *b)
{
	if (!logging(e))
		return;
	if (e->c.era == FL_ERA_A) {
		hdr(e, t, "msbflushrpcthr", A_RPC_TID, "bmap", NULL, "bmap_biorq_del", 320);
		bmap_pfx(e, b, A_M_CLEANPROC, 0, 0);
		fputs("unset DIRTY nitems_pndg(0)\n", e->c.log);
	} else {
		hdr(e, t, "msnbrqthr8", Z_NBRQ_ID - 8 * Z_THR_STRIDE, "bmap", "io.c",
		    "msl_biorq_del", 258);
		bmap_pfx(e, b, 0, 0x20006, 0);
		fputs("remove from msl_bmapflushq\n", e->c.log);
	}
}

/* Era Z: bmap_flushq_wake (reason 1 RPCWAIT, 2 EXPIRE, 4 TIMEOADD) by the writer of fid, or an RPC thread. */
void
fl_log_wakeup(struct fl_engine *e, uint64_t t, int reason, int from_rpc, uint64_t fid)
{
	char nm[32];
	uint64_t tid;

	if (!logging(e) || e->c.era != FL_ERA_Z)
		return;
	if (from_rpc)
		hdr(e, t, "msnbrqthr8", Z_NBRQ_ID - 8 * Z_THR_STRIDE, "bmap", "bflush.c",
		    "bmap_flushq_wake", 202);
	else {
		fsthr(e, fid, nm, sizeof(nm), &tid);
		hdr(e, t, nm, tid, "bmap", "bflush.c", "bmap_flushq_wake", 202);
	}
	fprintf(e->c.log, "wakeup flusher: reason=%x wake=1\n", reason);
}

/* Era Z: msflushthr_main's per-wake timing line. */
void
fl_log_worktime(struct fl_engine *e, uint64_t t, unsigned k, uint64_t work, uint64_t wait)
{
	char nm[32];
	uint64_t tid;

	if (!logging(e) || e->c.era != FL_ERA_Z)
		return;
	zthr(k, nm, sizeof(nm), &tid);
	hdr(e, t, nm, tid, "bmap", "bflush.c", "msflushthr_main", 886);
	fprintf(e->c.log, "work time (%" PRIu64 ":%09" PRIu64 "),wait time (%" PRIu64 ":%09" PRIu64
	    ")\n", (uint64_t)(work / 1000000000u), (uint64_t)(work % 1000000000u),
	    (uint64_t)(wait / 1000000000u), (uint64_t)(wait % 1000000000u));
}
