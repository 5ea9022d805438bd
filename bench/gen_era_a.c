/*
 * bench/gen_era_a.c: writes a synthetic era-A (2010) SLASH2 client log of
 * N lines to stdout, in the header format [%s:%06u %n:%i:%T:%F:%l] and the
 * message texts of shared/spec/log-format.md section 3.2.
 *
 * A small simulation, deterministic for a seed: application threads queue
 * writes on a few bmaps (`msl_pages_schedflush`: the write is ready at that
 * line's time); the flush thread wakes every ~2.05 ms and examines each
 * queued bmap (`try flush`).  It sends what the 2010 client would send
 * (`bmap_flush_trycoalesce`, libflush's legacy policy): the bmap's unsent
 * writes, in offset order, form contiguous runs that close at 1 MiB (the
 * coalesce size); a run goes out when it reached 1 MiB or its oldest write
 * is at least 1 ms (the max age) old at the bmap's `try flush`, and
 * otherwise waits for a later pass.  Each write it sends logs biorq lines,
 * `set inflight` and `req@ ... off= sz= op=1`; a bmap examined with nothing
 * to send logs only `try flush` (the client's per-biorq `consider for flush`
 * / `descheduling` lines of a write kept back are not generated).  Then
 * the pass restores bmaps that still have writes queued or in flight
 * (`restore to dirty list`: the spin) or retires idle ones (`added to
 * bmapTimeoutQ`); the RPC thread logs `done` replies 5-25 ms later and
 * `unset DIRTY` on the last one.
 *
 * The output is exactly LINES lines, cut only between events: the four lines
 * that send a write (consider, try flush, set inflight, the RPC) are written
 * together or not at all, so every biorq the log shows in flight has its RPC
 * line.  A biorq keeps one address from `msl_pages_schedflush` to the reply
 * of its RPC, and no two live biorqs share an address, as in the client.
 *
 * usage: gen_era_a [-n LINES] [-s SEED] [-b BMAPS] [-t START_US]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXB 64
#define MAXRPC 4096
#define MAXQ 1024		/* queued writes per bmap */
#define NSLOT 4096		/* biorq addresses: BQBASE + slot * 0x100 */
#define BQBASE 0x7f95c4012a30ULL
#define SENDLINES 4		/* lines that send one write */
#define MAXAGE_US 1000		/* the 2010 client's flush max age */
#define COALESCE (1u << 20)	/* its coalesce size: a run this big goes at once */
#define BMAPSZ (128u << 20)	/* a bmap's size */

struct qw {
	int slot;		/* biorq address slot: BQBASE + slot * 0x100 */
	uint32_t len;
	int64_t ready_us;	/* time of its msl_pages_schedflush line */
};

struct bmap {
	uint64_t addr, fid;
	unsigned bno;
	int queued;		/* on the dirty queue */
	int newq;		/* writes ready, not yet sent */
	int qhead;		/* them, oldest first: q[qhead..qhead+newq) mod MAXQ */
	struct qw q[MAXQ];
	int infl;		/* RPCs in flight */
	int opcnt;
	uint32_t off;
};

struct rpc {
	int64_t done_us;
	int b;
	long xid;
	uint64_t req;
	int slot;		/* its biorq's address slot */
};

static uint64_t rng = 88172645463325252ULL;
static long nlines, maxlines;
static int64_t now_us = 1282327206000000LL;

static unsigned char slot_live[NSLOT];	/* a live biorq holds the address */

/* xorshift64 */
static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Takes the first free biorq address slot from slot r on. */
static int
slot_take(uint64_t r)
{
	int s = (int)(r % NSLOT);

	while (slot_live[s])
		s = (s + 1) % NSLOT;
	slot_live[s] = 1;
	return s;
}

/* Writes a header for thread/subsys/function/line at the current time. */
static void
hdr(const char *thr, int tid, const char *ss, const char *fn, int line)
{
	printf("[%lld:%06lld %s:%d:%s:%s:%d] ", (long long)(now_us / 1000000),
	    (long long)(now_us % 1000000), thr, tid, ss, fn, line);
	nlines++;
}

/* The bmap@ prefix. */
static void
bpre(const struct bmap *b, unsigned mode)
{
	printf("bmap@%#llx b:%x m:%u i:%llx opcnt=%d ", (unsigned long long)b->addr, b->bno,
	    mode, (unsigned long long)b->fid, b->opcnt);
}

/* The req@ prefix. */
static void
rpre(uint64_t req, long xid, int done)
{
	printf("req@%#llx x%ld/t0 c0 o43->@12345-10.32.5.12@tcp10:30 lens 232/112 ref 1 res 0"
	    " ret 0 fl %s/0/0 replyc %s rc 0/0 to=%d :: ", (unsigned long long)req, xid,
	    done ? "Interpret:R" : "New:", done ? "0" : "deadbeef", done ? 60 : 0);
}

/*
 * How many of b's queued writes (oldest first) may go now: they get their
 * offsets in queue order from b->off, so they form contiguous runs (a run
 * closes at COALESCE bytes, or where a write wraps to the bmap's start); a
 * run is sendable when it reached COALESCE or its first (oldest) write is
 * MAXAGE_US old.  The old runs lead and full runs are sendable, so the
 * sendable writes are a prefix of the queue.
 */
static int
sendable(const struct bmap *b)
{
	uint32_t off = b->off, start = b->off;
	int k, first = 0, nsend = 0;

	for (k = 0; k < b->newq; k++) {
		const struct qw *w = &b->q[(b->qhead + k) % MAXQ];

		if (off + w->len > BMAPSZ || off - start >= COALESCE) {
			/* the run [first, k) closes */
			if (off - start >= COALESCE ||
			    now_us - b->q[(b->qhead + first) % MAXQ].ready_us >= MAXAGE_US)
				nsend = k;
			if (off + w->len > BMAPSZ)
				off = 0;
			start = off;
			first = k;
		}
		off += w->len;
	}
	if (b->newq > 0 && (off - start >= COALESCE ||
	    now_us - b->q[(b->qhead + first) % MAXQ].ready_us >= MAXAGE_US))
		nsend = b->newq;
	return nsend;
}

int
main(int argc, char **argv)
{
	static struct bmap bm[MAXB];
	static struct rpc rq[MAXRPC];
	int nb = 6, nrq = 0, c, i, outstanding = 0;
	long xid = 1000;

	maxlines = 1000000;
	while ((c = getopt(argc, argv, "n:s:b:t:")) != -1) {
		if (c == 'n')
			maxlines = atol(optarg);
		else if (c == 's')
			rng = strtoull(optarg, NULL, 10) * 2654435761ULL + 1;
		else if (c == 't')
			now_us = strtoll(optarg, NULL, 10);
		else if (c == 'b')
			nb = atoi(optarg) > MAXB ? MAXB : atoi(optarg);
		else {
			fprintf(stderr, "usage: gen_era_a [-n LINES] [-s SEED] [-b BMAPS] [-t START_US]\n");
			return 2;
		}
	}
	for (i = 0; i < nb; i++) {
		bm[i].addr = 0x881330 + (uint64_t)i * 0xde0;
		bm[i].fid = 0x80000002d907bULL + (uint64_t)(i / 4);
		bm[i].bno = (unsigned)(i % 4) * 2 + 1;
		bm[i].opcnt = 10 + i * 7;
	}
	while (nlines < maxlines) {
		int j;

		/* RPC replies that are due */
		for (j = 0; j < nrq && nlines < maxlines; ) {
			struct bmap *b;

			if (rq[j].done_us > now_us) {
				j++;
				continue;
			}
			b = &bm[rq[j].b];
			outstanding--;
			slot_live[rq[j].slot] = 0;	/* the biorq is freed with its RPC */
			hdr("msbflushrpcthr", 23668, "rpc", "bmap_flush_rpc_cb", 179);
			rpre(rq[j].req, rq[j].xid, 1);
			printf("done (outstandingRpcCnt=%d)\n", outstanding);
			if (--b->infl == 0 && b->newq == 0 && nlines < maxlines) {
				hdr("msbflushrpcthr", 23668, "bmap", "bmap_biorq_del", 320);
				bpre(b, 8195);
				printf("unset DIRTY nitems_pndg(0)\n");
			}
			rq[j] = rq[--nrq];
		}
		/* application writes */
		for (i = 0; i < nb && nlines < maxlines; i++) {
			struct bmap *b = &bm[i];
			struct qw *w;

			if (rnd() % 100 >= 3 || b->newq == MAXQ)
				continue;
			now_us += rnd() % 40;
			b->newq++;
			b->queued = 1;
			w = &b->q[(b->qhead + b->newq - 1) % MAXQ];
			w->slot = slot_take(rnd());
			w->len = 32768u * (1 + (uint32_t)(rnd() % 4));
			w->ready_us = now_us;
			hdr("msfsthr03", 23650, "bmap", "msl_pages_schedflush", 1185);
			bpre(b, 8259);
			printf("biorq=%#llx list_empty(%d)\n",
			    (unsigned long long)(BQBASE + (uint64_t)w->slot * 0x100), b->newq == 1);
		}
		/* one flush pass: phase 1, examine and send */
		for (i = 0; i < nb && nlines < maxlines; i++) {
			struct bmap *b = &bm[i];
			int nsend;

			if (!b->queued)
				continue;
			now_us += 5 + rnd() % 20;
			hdr("msbflushthr", 23667, "bmap", "bmap_flush", 639);
			bpre(b, 8259);
			printf("try flush (outstandingRpcCnt=%d)\n", outstanding);
			nsend = sendable(b);
			while (nsend-- > 0 && nrq < MAXRPC && nlines + SENDLINES <= maxlines) {
				int s = b->q[b->qhead].slot;
				uint64_t bq = BQBASE + (uint64_t)s * 0x100;
				uint32_t len = b->q[b->qhead].len;

				/* a write never crosses the end of its 128 MiB bmap */
				if (b->off + len > BMAPSZ)
					b->off = 0;
				now_us += 3 + rnd() % 10;
				hdr("msbflushthr", 23667, "gen", "bmap_flush", 674);
				printf("biorq@%#llx fl=514 o=%u l=%u np=%u b=%#llx ts=%lld:%lld wR"
				    " consider for flush\n", (unsigned long long)bq, b->off, len,
				    len / 32768, (unsigned long long)b->addr,
				    (long long)(now_us / 1000000), (long long)(now_us % 1000000) * 1000);
				hdr("msbflushthr", 23667, "gen", "bmap_flush", 706);
				printf("biorq@%#llx fl=530 o=%u l=%u np=%u b=%#llx ts=%lld:%lld wsR"
				    " try flush\n", (unsigned long long)bq, b->off, len, len / 32768,
				    (unsigned long long)b->addr, (long long)(now_us / 1000000),
				    (long long)(now_us % 1000000) * 1000);
				hdr("msbflushthr", 23667, "gen", "bmap_flush_inflight_set", 239);
				printf("biorq@%#llx fl=562 o=%u l=%u np=%u b=%#llx ts=%lld:%lld wsiR"
				    " set inflight\n", (unsigned long long)bq, b->off, len, len / 32768,
				    (unsigned long long)b->addr, (long long)(now_us / 1000000),
				    (long long)(now_us % 1000000) * 1000);
				rq[nrq].req = 0x7f95c40c3a00ULL + (uint64_t)(xid % 512) * 0x200;
				rq[nrq].xid = xid++;
				rq[nrq].b = i;
				rq[nrq].slot = s;
				rq[nrq].done_us = now_us + 5000 + (int64_t)(rnd() % 20000);
				outstanding++;
				hdr("msbflushthr", 23667, "rpc", "bmap_flush_create_rpc", 224);
				rpre(rq[nrq].req, rq[nrq].xid, 0);
				printf("off=%u sz=%u op=1\n", b->off, len);
				nrq++;
				b->off += len;
				b->qhead = (b->qhead + 1) % MAXQ;
				b->newq--;
				b->infl++;
			}
		}
		/* phase 2: restore or retire */
		for (i = 0; i < nb && nlines < maxlines; i++) {
			struct bmap *b = &bm[i];

			if (!b->queued)
				continue;
			now_us += 5 + rnd() % 15;
			if (b->infl > 0 || b->newq > 0) {
				hdr("msbflushthr", 23667, "bmap", "bmap_flush", 754);
				bpre(b, 8259);
				printf("restore to dirty list\n");
			} else {
				hdr("msbflushthr", 23667, "bmap", "bmap_flush", 662);
				bpre(b, 515);
				printf("added to bmapTimeoutQ\n");
				b->queued = 0;
			}
		}
		now_us += 2048 + rnd() % 100;
	}
	return 0;
}
