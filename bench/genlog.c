/*
 * genlog: writes a seed-like era-A SLASH2 client log (the 2010 flush loop)
 * to stdout, for `flushscope top` demos and benchmarks.  Not part of the
 * build: bench/top.sh and bench/top-demo.sh compile it with cc.
 *
 * Each pass of `msbflushthr` (2.1 ms apart) examines every queued bmap:
 *   spinning bmaps  `try flush (outstandingRpcCnt=N)` ... `restore to dirty
 *                   list` with nothing in between: a wasted examination
 *                   (the seed's signature);
 *   busy bmaps      `try flush`, a biorq `consider for flush`, `set
 *                   inflight`, an RPC `off= sz= op=1`, then `restore`:
 *                   useful work;
 * plus a writer's `list_empty` line per busy bmap and the RPC thread's
 * `done` lines.  A spinning bmap spins for -p passes, then its RPC
 * completes, it goes clean (`added to bmapTimeoutQ`) and a new bmap
 * starts spinning.
 *
 *   genlog [-r LINES_PER_S] [-n LINES] [-s SPINNING] [-B BUSY] [-p PASSES]
 *   genlog -f FILE -r LINES_PER_S     copy FILE to stdout at that rate
 *
 * -r 0 (default) writes as fast as it can with log time advancing 2.1 ms
 * per pass; with -r the lines are paced to that rate and stamped with the
 * real time, so a follower sees a live client.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static uint64_t nlines;
static int64_t ts_us;

/* Current wall time in microseconds. */
static int64_t
wall_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Prints the era-A header for a line; ts advances by step microseconds. */
static void
hdr(const char *thr, int tid, const char *subsys, const char *fn, int line)
{
	ts_us += 3;
	printf("[%" PRId64 ":%06" PRId64 " %s:%d:%s:%s:%d] ", ts_us / 1000000, ts_us % 1000000,
	    thr, tid, subsys, fn, line);
	nlines++;
}

/* A bmap@ prefix. */
static void
bmap(unsigned addr, unsigned bno, unsigned mode, int opcnt)
{
	printf("bmap@0x%x b:%x m:%u i:80000002d907b opcnt=%d ", addr, bno, mode, opcnt);
}

/* Copies path to stdout at rate lines per second (64 KiB writes). */
static int
copy_paced(const char *path, double rate)
{
	static char buf[65536];
	FILE *in = fopen(path, "r");
	uint64_t lines = 0;
	int64_t start = wall_us(), due, now;
	size_t n, i;

	if (in == NULL) {
		perror(path);
		return 3;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (fwrite(buf, 1, n, stdout) != n)
			return 3;
		fflush(stdout);
		for (i = 0; i < n; i++)
			lines += buf[i] == '\n';
		due = start + (int64_t)((double)lines / rate * 1e6);
		while ((now = wall_us()) < due)
			usleep((useconds_t)(due - now < 20000 ? due - now : 20000));
	}
	fclose(in);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *copy = NULL;
	double rate = 0;
	uint64_t total = 0, pass = 0, xid = 1000;
	int nspin = 2, nbusy = 3, life = 2000, c, i, outst = 75;
	int64_t start;
	unsigned next_bno = 1;
	struct sbm { unsigned addr, bno; int64_t born; } *spin, *busy;

	while ((c = getopt(argc, argv, "f:r:n:s:B:p:")) != -1) {
		switch (c) {
		case 'f': copy = optarg; break;
		case 'r': rate = atof(optarg); break;
		case 'n': total = strtoull(optarg, NULL, 10); break;
		case 's': nspin = atoi(optarg); break;
		case 'B': nbusy = atoi(optarg); break;
		case 'p': life = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: genlog [-r LINES_PER_S] [-n LINES] [-s SPINNING] "
			    "[-B BUSY] [-p PASSES] | genlog -f FILE -r LINES_PER_S\n");
			return 2;
		}
	}
	if (copy != NULL)
		return copy_paced(copy, rate > 0 ? rate : 1e6);
	spin = calloc((size_t)nspin + 1, sizeof(*spin));
	busy = calloc((size_t)nbusy + 1, sizeof(*busy));
	if (spin == NULL || busy == NULL)
		return 3;
	for (i = 0; i < nspin; i++) {
		spin[i].bno = next_bno++;
		spin[i].addr = 0x881330 + spin[i].bno * 0xde0;
		spin[i].born = -(int64_t)i * life / (nspin ? nspin : 1);	/* staggered */
	}
	for (i = 0; i < nbusy; i++) {
		busy[i].bno = 1000 + (unsigned)i;
		busy[i].addr = 0x990000 + (unsigned)i * 0x1000;
	}
	start = wall_us();
	ts_us = rate > 0 ? start : 1282327206000000LL;
	while (total == 0 || nlines < total) {
		if (rate > 0) {
			/*
			 * Pace: this pass is due when the lines so far fit the
			 * rate; it is stamped with its due time, so the log's
			 * periods stay regular even when a sleep overshoots.
			 */
			int64_t due = start + (int64_t)((double)nlines / rate * 1e6), now;

			fflush(stdout);
			while ((now = wall_us()) < due)
				usleep((useconds_t)(due - now < 20000 ? due - now : 20000));
			ts_us = due;
		} else {
			ts_us += 2100;
		}
		outst = 70 + (int)((pass / 50) % 20);
		/* Writers make the busy bmaps' data ready. */
		for (i = 0; i < nbusy; i++) {
			hdr("msfsthr03", 23650, "bmap", "msl_pages_schedflush", 1185);
			bmap(busy[i].addr, busy[i].bno, 8259, 65);
			printf("biorq=0x7f95c4%06x list_empty(0)\n", (unsigned)(pass % 0xffffff));
		}
		/* Phase 1: examine every queued bmap. */
		for (i = 0; i < nspin; i++) {
			hdr("msbflushthr", 23667, "bmap", "bmap_flush", 639);
			bmap(spin[i].addr, spin[i].bno, 8259, 65);
			printf("try flush (outstandingRpcCnt=%d)\n", outst);
		}
		for (i = 0; i < nbusy; i++) {
			hdr("msbflushthr", 23667, "bmap", "bmap_flush", 639);
			bmap(busy[i].addr, busy[i].bno, 8259, 65);
			printf("try flush (outstandingRpcCnt=%d)\n", outst);
			hdr("msbflushthr", 23667, "gen", "bmap_flush", 674);
			printf("biorq@0x7f95c4012a30 fl=514 o=1015808 l=32768 np=1 b=0x%x "
			    "ts=1282327206:158850112 wR consider for flush\n", busy[i].addr);
			hdr("msbflushthr", 23667, "gen", "bmap_flush_inflight_set", 239);
			printf("biorq@0x7f95c4012a30 fl=562 o=1015808 l=32768 np=1 b=0x%x "
			    "ts=1282327206:158850112 wsiR set inflight\n", busy[i].addr);
			hdr("msbflushthr", 23667, "rpc", "bmap_flush_create_rpc", 224);
			printf("req@0x7f95c40c3a00 x%" PRIu64 "/t0 c0 o43->@12345-10.32.5.12@tcp10:30 "
			    "lens 232/112 ref 1 res 0 ret 0 fl New:/0/0 replyc deadbeef rc 0/0 to=0 :: "
			    "off=1015808 sz=32768 op=1\n", xid++);
		}
		/* Phase 2: put back what still has writes queued. */
		for (i = 0; i < nspin; i++) {
			hdr("msbflushthr", 23667, "bmap", "bmap_flush", 754);
			bmap(spin[i].addr, spin[i].bno, 8259, 65);
			printf("restore to dirty list\n");
		}
		for (i = 0; i < nbusy; i++) {
			hdr("msbflushthr", 23667, "bmap", "bmap_flush", 754);
			bmap(busy[i].addr, busy[i].bno, 8259, 65);
			printf("restore to dirty list\n");
		}
		/* The RPC thread completes the busy bmaps' RPCs. */
		for (i = 0; i < nbusy; i++) {
			hdr("msbflushrpcthr", 23668, "rpc", "bmap_flush_rpc_cb", 179);
			printf("req@0x7f95c40c3a00 x%" PRIu64 "/t0 c0 o43->@12345-10.32.5.12@tcp10:30 "
			    "lens 232/112 ref 1 res 0 ret 0 fl Interpret:R/0/0 replyc 0 rc 0/0 "
			    "to=60 :: done (outstandingRpcCnt=%d)\n", xid - (uint64_t)nbusy + (uint64_t)i,
			    outst);
		}
		/* A spinning bmap whose time is up: its RPC completes, it goes clean. */
		for (i = 0; i < nspin; i++) {
			if ((int64_t)pass - spin[i].born < life)
				continue;
			hdr("msbflushrpcthr", 23668, "bmap", "bmap_biorq_del", 320);
			bmap(spin[i].addr, spin[i].bno, 8195, 65);
			printf("unset DIRTY nitems_pndg(0)\n");
			hdr("msbflushthr", 23667, "bmap", "bmap_flush", 639);
			bmap(spin[i].addr, spin[i].bno, 8195, 65);
			printf("try flush (outstandingRpcCnt=%d)\n", outst);
			hdr("msbflushthr", 23667, "bmap", "bmap_flush", 662);
			bmap(spin[i].addr, spin[i].bno, 515, 64);
			printf("added to bmapTimeoutQ\n");
			spin[i].bno = next_bno++;
			spin[i].addr = 0x881330 + (spin[i].bno % 4096) * 0xde0;
			spin[i].born = (int64_t)pass;
		}
		pass++;
	}
	fflush(stdout);
	free(spin);
	free(busy);
	return 0;
}
