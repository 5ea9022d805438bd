/*
 * Tests of the streaming spin detector (detect/spin.c): table-driven event
 * sequences for every rule of the design's "What a spin is", the seed
 * excerpt end to end through the parser, and the `spins` command.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/plot.h"
#include "libflush/flush.h"
#include "detect/spin.h"
#include "report/spinreport.h"
#include "parsers/event.h"
#include "parsers/parser.h"
#include "parsers/source.h"
#include "store/store.h"
#include "tests/testutil.h"

#define FID 0x80000002d907bULL
#define MAXEP 16

/*
 * One step of a hand-built log.  op:
 *   X era-A `try flush (outstandingRpcCnt=o)` of bmap bno   (EXAMINE)
 *   C middle-era `checking for flush`                        (EXAMINE)
 *   F era-Z `flushable?`; with o >= 0, 2011's `flushable? (outstandingRpcCnt=o)`
 *     of a DIRTY bmap (flg 0x2043)                           (EXAMINE)
 *   c 2011's `flushable? (outstandingRpcCnt=o)` of a clean bmap (flg 0x2003)
 *   T era-Z bmap `try flush`                                 (SCHEDULE)
 *   M middle-era bmap `try flush`                            (SCHEDULE)
 *   R `restore to dirty list`                                (REQUEUE)
 *   S era-A biorq `try flush`, bmap named by b= address      (SCHEDULE)
 *   s era-A `set inflight` with an unknown b= address        (SCHEDULE)
 *   P era-A req@ `off= sz= op=` (no bmap)                    (RPC_SEND)
 *   Z era-Z `sending WRITE RPC ... fid=` (fid = bno field)   (RPC_SEND)
 *   K `consider for flush`                                   (SCHEDULE, not progress)
 *   L `added to bmapTimeoutQ`                                (CLEAN)
 *   I `is clean, descheduling..`                             (CLEAN)
 *   U `unset DIRTY` / `remove from msl_bmapflushq`           (CLEAN)
 *   W era-Z `work time (..),wait time (..)`                  (PASS)
 *   D `done (outstandingRpcCnt=o)`                           (RPC_DONE)
 * addr 0 means the default address 0x880000 + 0x1000 * bno.
 */
struct step {
	char op;
	int64_t t;		/* microseconds */
	const char *thr;	/* NULL: msbflushthr */
	uint32_t bno;
	int64_t o;		/* outstanding, -1 none */
	uint64_t addr;
};

struct expect {
	int neps;
	uint64_t cycles0;	/* first episode (in delivery order) */
	uint32_t bno0;
	int64_t period0;	/* -1: not checked */
	int cause0;		/* -1: not checked */
	const char *thread0;	/* NULL: not checked */
	uint64_t wasted;	/* total over threads */
	int64_t passes;		/* thread 0; -1: not checked */
	int64_t useless;	/* thread 0; -1: not checked */
};

struct spin_case {
	const char *name;
	struct step steps[48];
	struct expect ex;
};

#define END { 0, 0, NULL, 0, 0, 0 }
#define A_PASS(t, b, o) { 'X', (t), NULL, (b), (o), 0 }, { 'R', (t) + 20, NULL, (b), -1, 0 }

static const struct spin_case cases[] = {
	{ "seed excerpt, hand-built", {
		{ 'R', 159214, NULL, 3, -1, 0x882110 },
		{ 'X', 161331, NULL, 1, 75, 0x881330 }, { 'X', 161347, NULL, 3, 75, 0x882110 },
		{ 'R', 161360, NULL, 1, -1, 0x881330 }, { 'R', 161374, NULL, 3, -1, 0x882110 },
		{ 'X', 163490, NULL, 1, 75, 0x881330 }, { 'X', 163507, NULL, 3, 75, 0x882110 },
		{ 'R', 163520, NULL, 1, -1, 0x881330 }, { 'R', 163533, NULL, 3, -1, 0x882110 },
		{ 'X', 165650, NULL, 1, 75, 0x881330 }, { 'X', 165668, NULL, 3, 75, 0x882110 },
		{ 'R', 165682, NULL, 1, -1, 0x881330 }, { 'R', 165700, NULL, 3, -1, 0x882110 },
		END }, { 2, 3, 1, 2160, SP_CAUSE_INFLIGHT, "msbflushthr", 6, 3, 3 } },
	{ "examination leading to an RPC is useful", {
		{ 'X', 0, NULL, 1, 5, 0 }, { 'P', 5, NULL, 0, -1, 0 }, { 'R', 10, NULL, 1, -1, 0 },
		{ 'X', 2000, NULL, 1, 5, 0 }, { 'P', 2005, NULL, 0, -1, 0 }, { 'R', 2010, NULL, 1, -1, 0 },
		{ 'X', 4000, NULL, 1, 5, 0 }, { 'P', 4005, NULL, 0, -1, 0 }, { 'R', 4010, NULL, 1, -1, 0 },
		{ 'X', 6000, NULL, 1, 5, 0 }, { 'P', 6005, NULL, 0, -1, 0 }, { 'R', 6010, NULL, 1, -1, 0 },
		END }, { 0, 0, 0, -1, -1, NULL, 0, 4, 0 } },
	{ "RPC goes to the thread's latest examination only", {
		{ 'X', 0, NULL, 1, 5, 0 }, { 'X', 3, NULL, 2, 5, 0 }, { 'P', 5, NULL, 0, -1, 0 },
		{ 'R', 10, NULL, 1, -1, 0 }, { 'R', 12, NULL, 2, -1, 0 },
		{ 'X', 2000, NULL, 1, 5, 0 }, { 'X', 2003, NULL, 2, 5, 0 }, { 'P', 2005, NULL, 0, -1, 0 },
		{ 'R', 2010, NULL, 1, -1, 0 }, { 'R', 2012, NULL, 2, -1, 0 },
		{ 'X', 4000, NULL, 1, 5, 0 }, { 'X', 4003, NULL, 2, 5, 0 }, { 'P', 4005, NULL, 0, -1, 0 },
		{ 'R', 4010, NULL, 1, -1, 0 }, { 'R', 4012, NULL, 2, -1, 0 },
		END }, { 1, 3, 1, 2000, SP_CAUSE_INFLIGHT, NULL, 3, 3, 0 } },
	{ "biorq line attributes by its b= address", {
		{ 'X', 0, NULL, 1, 5, 0 }, { 'X', 3, NULL, 2, 5, 0 }, { 'S', 5, NULL, 2, -1, 0 },
		{ 'R', 10, NULL, 1, -1, 0 }, { 'R', 12, NULL, 2, -1, 0 },
		{ 'X', 2000, NULL, 2, 5, 0 }, { 'X', 2003, NULL, 1, 5, 0 }, { 'S', 2005, NULL, 2, -1, 0 },
		{ 'R', 2010, NULL, 1, -1, 0 }, { 'R', 2012, NULL, 2, -1, 0 },
		{ 'X', 4000, NULL, 1, 5, 0 }, { 'X', 4003, NULL, 2, 5, 0 }, { 'S', 4005, NULL, 2, -1, 0 },
		{ 'R', 4010, NULL, 1, -1, 0 }, { 'R', 4012, NULL, 2, -1, 0 },
		END }, { 1, 3, 1, 2000, SP_CAUSE_INFLIGHT, NULL, 3, 3, 0 } },
	{ "biorq with an unknown address falls back to the latest examination", {
		{ 'X', 0, NULL, 1, 5, 0 }, { 's', 5, NULL, 0, -1, 0xdead0 }, { 'R', 10, NULL, 1, -1, 0 },
		{ 'X', 2000, NULL, 1, 5, 0 }, { 's', 2005, NULL, 0, -1, 0xdead0 }, { 'R', 2010, NULL, 1, -1, 0 },
		{ 'X', 4000, NULL, 1, 5, 0 }, { 's', 4005, NULL, 0, -1, 0xdead0 }, { 'R', 4010, NULL, 1, -1, 0 },
		END }, { 0, 0, 0, -1, -1, NULL, 0, 3, 0 } },
	{ "consider for flush is not progress", {
		{ 'X', 0, NULL, 1, 5, 0 }, { 'K', 5, NULL, 1, -1, 0 }, { 'R', 10, NULL, 1, -1, 0 },
		{ 'X', 2000, NULL, 1, 5, 0 }, { 'K', 2005, NULL, 1, -1, 0 }, { 'R', 2010, NULL, 1, -1, 0 },
		{ 'X', 4000, NULL, 1, 5, 0 }, { 'K', 4005, NULL, 1, -1, 0 }, { 'R', 4010, NULL, 1, -1, 0 },
		END }, { 1, 3, 1, 2000, SP_CAUSE_INFLIGHT, "msbflushthr", 3, 3, 3 } },
	{ "going clean ends the run and the lifetime", {
		A_PASS(0, 1, 5), A_PASS(2000, 1, 5), { 'X', 4000, NULL, 1, 5, 0 },
		{ 'L', 4010, NULL, 1, -1, 0 },
		A_PASS(6000, 1, 5), A_PASS(8000, 1, 5),
		END }, { 0, 0, 0, -1, -1, NULL, 4, -1, -1 } },
	{ "is clean after the examination is useful", {
		A_PASS(0, 1, 5), A_PASS(2000, 1, 5), { 'X', 4000, NULL, 1, 5, 0 },
		{ 'I', 4010, NULL, 1, -1, 0 }, A_PASS(6000, 1, 5),
		END }, { 0, 0, 0, -1, -1, NULL, 3, 4, 3 } },
	{ "gap above max_gap splits the run", {
		A_PASS(0, 1, 5), A_PASS(2000, 1, 5), A_PASS(4000, 1, 5),
		A_PASS(60000, 1, 5), A_PASS(62000, 1, 5), A_PASS(64000, 1, 5),
		END }, { 2, 3, 1, 2000, SP_CAUSE_INFLIGHT, NULL, 6, 6, 6 } },
	{ "gap of exactly max_gap continues the run", {
		A_PASS(0, 1, 5), A_PASS(50000, 1, 5), A_PASS(100000, 1, 5),
		END }, { 1, 3, 1, 50000, SP_CAUSE_INFLIGHT, NULL, 3, 3, 3 } },
	{ "two cycles are not an episode", {
		A_PASS(0, 1, 5), A_PASS(2000, 1, 5),
		END }, { 0, 0, 0, -1, -1, NULL, 2, 2, 2 } },
	{ "restore without its try flush is not counted", {
		{ 'R', 0, NULL, 3, -1, 0 }, { 'R', 2000, NULL, 3, -1, 0 }, { 'R', 4000, NULL, 3, -1, 0 },
		END }, { 0, 0, 0, -1, -1, NULL, 0, -1, -1 } },
	{ "throttled: outstanding at the window limit", {
		A_PASS(0, 1, 128), A_PASS(2000, 1, 128), A_PASS(4000, 1, 130),
		END }, { 1, 3, 1, 2000, SP_CAUSE_THROTTLED, NULL, 3, 3, 3 } },
	{ "notready: nothing outstanding", {
		A_PASS(0, 1, 0), A_PASS(2000, 1, 0), A_PASS(4000, 1, 0),
		END }, { 1, 3, 1, 2000, SP_CAUSE_NOTREADY, NULL, 3, 3, 3 } },
	{ "unset DIRTY on the RPC thread retires the bmap", {
		A_PASS(0, 1, 5), A_PASS(2000, 1, 5), { 'U', 3000, "msbflushrpcthr", 1, -1, 0 },
		A_PASS(4000, 1, 5), A_PASS(6000, 1, 5),
		END }, { 0, 0, 0, -1, -1, NULL, 4, -1, -1 } },
	{ "era A: unset DIRTY inside a pass leaves the examination to the pass", {
		A_PASS(0, 1, 5), A_PASS(2000, 1, 5), { 'X', 4000, NULL, 1, 5, 0 },
		{ 'U', 4005, "msbflushrpcthr", 1, -1, 0 }, { 'R', 4010, NULL, 1, -1, 0 },
		{ 'X', 6000, NULL, 1, 0, 0 }, { 'I', 6010, NULL, 1, -1, 0 },
		END }, { 1, 3, 1, 2000, -1, NULL, 3, -1, -1 } },
	{ "era A re-examination without restore is not counted", {
		A_PASS(0, 1, 5), { 'X', 2000, NULL, 1, 5, 0 }, A_PASS(4000, 1, 5),
		A_PASS(6000, 1, 5),
		END }, { 0, 0, 0, -1, -1, NULL, 3, 4, 4 } },
	{ "address reuse: b= goes to the bmap holding the address now", {
		{ 'X', 0, NULL, 1, 5, 0x7000 }, { 'L', 10, NULL, 1, -1, 0x7000 },
		{ 'X', 2000, NULL, 5, 5, 0x7000 }, { 'S', 2005, NULL, 0, -1, 0x7000 },
		{ 'R', 2010, NULL, 5, -1, 0x7000 },
		{ 'X', 4000, NULL, 5, 5, 0x7000 }, { 'S', 4005, NULL, 0, -1, 0x7000 },
		{ 'R', 4010, NULL, 5, -1, 0x7000 },
		{ 'X', 6000, NULL, 5, 5, 0x7000 }, { 'S', 6005, NULL, 0, -1, 0x7000 },
		{ 'R', 6010, NULL, 5, -1, 0x7000 },
		END }, { 0, 0, 0, -1, -1, NULL, 0, 3, 0 } },
	{ "middle era: checking for flush without try flush", {
		{ 'C', 0, "msbflushthr0", 1, 7, 0 }, { 'M', 5, "msbflushthr0", 1, 7, 0 },
		{ 'C', 2000, "msbflushthr0", 1, 7, 0 }, { 'C', 4000, "msbflushthr0", 1, 7, 0 },
		{ 'C', 6000, "msbflushthr0", 1, 7, 0 }, { 'C', 8000, "msbflushthr0", 1, 7, 0 },
		END }, { 1, 3, 1, 2000, SP_CAUSE_INFLIGHT, "msbflushthr0", 3, 5, 4 } },
	{ "middle era: try flush every time is never counted", {
		{ 'C', 0, "msbflushthr0", 1, 7, 0 }, { 'M', 5, "msbflushthr0", 1, 7, 0 },
		{ 'C', 2000, "msbflushthr0", 1, 7, 0 }, { 'M', 2005, "msbflushthr0", 1, 7, 0 },
		{ 'C', 4000, "msbflushthr0", 1, 7, 0 }, { 'M', 4005, "msbflushthr0", 1, 7, 0 },
		{ 'C', 6000, "msbflushthr0", 1, 7, 0 },
		END }, { 0, 0, 0, -1, -1, NULL, 0, 4, 1 } },
	{ "middle era: RPCs after try flush go to that bmap, not the last examined", {
		{ 'C', 0, "msbflushthr0", 1, 0, 0 }, { 'C', 14, "msbflushthr0", 2, 0, 0 },
		{ 'M', 28, "msbflushthr0", 1, 0, 0 }, { 'P', 42, "msbflushthr0", 0, -1, 0 },
		{ 'C', 10000, "msbflushthr0", 1, 1, 0 }, { 'C', 10014, "msbflushthr0", 2, 1, 0 },
		{ 'M', 10028, "msbflushthr0", 1, 1, 0 }, { 'P', 10042, "msbflushthr0", 0, -1, 0 },
		{ 'C', 20000, "msbflushthr0", 1, 2, 0 }, { 'C', 20014, "msbflushthr0", 2, 2, 0 },
		{ 'M', 20028, "msbflushthr0", 1, 2, 0 }, { 'P', 20042, "msbflushthr0", 0, -1, 0 },
		{ 'C', 30000, "msbflushthr0", 2, 2, 0 },
		END }, { 1, 3, 2, 10000, -1, "msbflushthr0", 3, -1, -1 } },
	{ "2011: the scan drops a bmap that is not DIRTY silently: useful, it leaves", {
		{ 'F', 0, "msbflushthr0", 1, 0, 0 }, { 'W', 10000, "msbflushthr0", 0, -1, 0 },
		{ 'F', 10014, "msbflushthr0", 1, 0, 0 }, { 'W', 20000, "msbflushthr0", 0, -1, 0 },
		{ 'c', 20014, "msbflushthr0", 1, 0, 0 }, { 'W', 30000, "msbflushthr0", 0, -1, 0 },
		{ 'F', 40014, "msbflushthr0", 1, 0, 0 }, { 'W', 50000, "msbflushthr0", 0, -1, 0 },
		{ 'F', 50014, "msbflushthr0", 1, 0, 0 },
		END }, { 0, 0, 0, -1, -1, NULL, 3, 5, 4 } },
	{ "era Z: flushable? repeated without try flush", {
		{ 'F', 0, "msflushthr5", 1, -1, 0 }, { 'F', 3000, "msflushthr5", 1, -1, 0 },
		{ 'F', 6000, "msflushthr5", 1, -1, 0 }, { 'F', 9000, "msflushthr5", 1, -1, 0 },
		END }, { 1, 3, 1, 3000, SP_CAUSE_INFLIGHT, "msflushthr5", 3, 4, 4 } },
	{ "era Z: the last flushable? is not decided", {
		{ 'F', 0, "msflushthr5", 1, -1, 0 }, { 'F', 3000, "msflushthr5", 1, -1, 0 },
		{ 'F', 6000, "msflushthr5", 1, -1, 0 },
		END }, { 0, 0, 0, -1, -1, NULL, 2, -1, -1 } },
	{ "era Z: try flush between flushable? lines", {
		{ 'F', 0, "msflushthr5", 1, -1, 0 }, { 'T', 5, "msflushthr5", 1, -1, 0 },
		{ 'F', 3000, "msflushthr5", 1, -1, 0 }, { 'T', 3005, "msflushthr5", 1, -1, 0 },
		{ 'F', 6000, "msflushthr5", 1, -1, 0 }, { 'T', 6005, "msflushthr5", 1, -1, 0 },
		{ 'F', 9000, "msflushthr5", 1, -1, 0 },
		END }, { 0, 0, 0, -1, -1, NULL, 0, 4, 1 } },
	{ "era Z: removal by the reaper counts the open examination and ends the run", {
		{ 'F', 0, "msflushthr5", 1, -1, 0 }, { 'F', 3000, "msflushthr5", 1, -1, 0 },
		{ 'F', 6000, "msflushthr5", 1, -1, 0 }, { 'U', 7000, "msnbrqthr8", 1, -1, 0 },
		{ 'F', 9000, "msflushthr5", 1, -1, 0 }, { 'F', 12000, "msflushthr5", 1, -1, 0 },
		END }, { 1, 3, 1, 3000, SP_CAUSE_INFLIGHT, NULL, 4, -1, -1 } },
	{ "era Z: RPC naming the examined fid is progress", {
		{ 'F', 0, "msflushthr5", 1, -1, 0 }, { 'Z', 5, "msflushthr5", 1, 17, 0 },
		{ 'F', 3000, "msflushthr5", 1, -1, 0 }, { 'Z', 3005, "msflushthr5", 1, 17, 0 },
		{ 'F', 6000, "msflushthr5", 1, -1, 0 }, { 'Z', 6005, "msflushthr5", 1, 17, 0 },
		{ 'F', 9000, "msflushthr5", 1, -1, 0 },
		END }, { 0, 0, 0, -1, -1, NULL, 0, -1, -1 } },
	{ "era Z: RPC naming another fid is not progress for this bmap", {
		{ 'F', 0, "msflushthr5", 1, -1, 0 }, { 'Z', 5, "msflushthr5", 0, 17, 0 },
		{ 'F', 3000, "msflushthr5", 1, -1, 0 }, { 'Z', 3005, "msflushthr5", 0, 17, 0 },
		{ 'F', 6000, "msflushthr5", 1, -1, 0 }, { 'Z', 6005, "msflushthr5", 0, 17, 0 },
		{ 'F', 9000, "msflushthr5", 1, -1, 0 },
		END }, { 1, 3, 1, 3000, SP_CAUSE_INFLIGHT, NULL, 3, -1, -1 } },
	{ "era Z: sixteen threads share the queue, the busiest names the episode", {
		{ 'F', 0, "msflushthr0", 1, -1, 0 }, { 'F', 2000, "msflushthr3", 1, -1, 0 },
		{ 'F', 4000, "msflushthr3", 1, -1, 0 }, { 'F', 6000, "msflushthr9", 1, -1, 0 },
		{ 'F', 8000, "msflushthr3", 1, -1, 0 }, { 'F', 10000, "msflushthr0", 1, -1, 0 },
		END }, { 1, 5, 1, 2000, SP_CAUSE_INFLIGHT, "msflushthr3", 5, -1, -1 } },
	{ "era Z: threads decide out of order, the run keeps log order", {
		{ 'F', 0, "msflushthr0", 1, -1, 0 }, { 'F', 10, "msflushthr1", 1, -1, 0 },
		{ 'F', 20, "msflushthr2", 1, -1, 0 }, { 'W', 30, "msflushthr2", 0, -1, 0 },
		{ 'W', 40, "msflushthr1", 0, -1, 0 }, { 'W', 50, "msflushthr0", 0, -1, 0 },
		/* decided last to first: still 0, 10, 20 (period 10, offsets in order) */
		END }, { 1, 3, 1, 10, SP_CAUSE_INFLIGHT, "msflushthr0", 3, -1, -1 } },
	{ "era Z: a pass split by a pause leaves the earlier examination open", {
		{ 'F', 0, "msflushthr5", 3, -1, 0 }, { 'F', 5000, "msflushthr5", 5, -1, 0 },
		{ 'T', 5014, "msflushthr5", 3, -1, 0 },
		/* b:3's try flush after the pause still makes its examination useful */
		END }, { 0, 0, 0, -1, -1, NULL, 0, 2, 2 } },
	{ "era Z: outstanding from the last infl= seen", {
		{ 'D', 0, "msnbrqthr8", 0, 0, 0 },
		{ 'F', 10, "msflushthr5", 1, -1, 0 }, { 'F', 3000, "msflushthr5", 1, -1, 0 },
		{ 'F', 6000, "msflushthr5", 1, -1, 0 }, { 'F', 9000, "msflushthr5", 1, -1, 0 },
		END }, { 1, 3, 1, 2995, SP_CAUSE_NOTREADY, NULL, 3, -1, -1 } },
	{ "era Z: work time lines delimit passes", {
		{ 'W', 0, "msflushthr5", 0, -1, 0 },
		{ 'F', 10, "msflushthr5", 1, -1, 0 }, { 'F', 20, "msflushthr5", 2, -1, 0 },
		{ 'W', 3000, "msflushthr5", 0, -1, 0 },
		{ 'F', 3010, "msflushthr5", 1, -1, 0 }, { 'T', 3015, "msflushthr5", 1, -1, 0 },
		{ 'F', 6000, "msflushthr5", 2, -1, 0 },
		{ 'W', 9000, "msflushthr5", 0, -1, 0 },
		/* 3 wasted: b:2 at 6000 is decided by its thread's work time at 9000 */
		END }, { 0, 0, 0, -1, -1, NULL, 3, 2, 1 } },
	{ "era Z: examination bursts delimit passes without work time", {
		{ 'F', 0, "msflushthr5", 1, -1, 0 }, { 'F', 100, "msflushthr5", 2, -1, 0 },
		{ 'F', 5000, "msflushthr5", 1, -1, 0 }, { 'F', 5100, "msflushthr5", 2, -1, 0 },
		{ 'F', 10000, "msflushthr5", 1, -1, 0 }, { 'T', 10050, "msflushthr5", 1, -1, 0 },
		{ 'F', 10100, "msflushthr5", 2, -1, 0 },
		END }, { 0, 0, 0, -1, -1, NULL, 4, 3, 2 } },
	{ "era A pass count: a pass starts after a restore", {
		{ 'X', 0, NULL, 1, 5, 0 }, { 'X', 10, NULL, 2, 5, 0 }, { 'P', 12, NULL, 0, -1, 0 },
		{ 'R', 20, NULL, 1, -1, 0 }, { 'R', 30, NULL, 2, -1, 0 },
		{ 'X', 2000, NULL, 1, 5, 0 }, { 'R', 2010, NULL, 1, -1, 0 },
		{ 'X', 4000, NULL, 1, 5, 0 }, { 'L', 4010, NULL, 1, -1, 0 },
		END }, { 0, 0, 0, -1, -1, NULL, 2, 3, 1 } },
};

struct collect {
	struct sp_episode ep[MAXEP];
	int neps;
	uint64_t nwasted;
	int npass;
	int npass_useless;
};

/* Records an episode. */
static void
on_episode(void *arg, const struct sp_episode *ep)
{
	struct collect *c = arg;

	if (c->neps < MAXEP)
		c->ep[c->neps] = *ep;
	c->neps++;
}

/* Counts wasted examinations (checks the verdict describes the EXAMINE). */
static void
on_exam(void *arg, const struct sp_exam *x)
{
	struct collect *c = arg;

	ck_assert(x->msg == PS_MSG_A_TRY_FLUSH_BMAP || x->msg == PS_MSG_M_CHECKING ||
	    x->msg == PS_MSG_Z_FLUSHABLE);
	ck_assert_uint_eq(x->fid, FID);
	if (x->verdict == SP_WASTED) {
		ck_assert_uint_ge(x->run_cycles, 1);
		c->nwasted++;
	}
}

/* Counts passes. */
static void
on_pass(void *arg, const struct sp_pass *p)
{
	struct collect *c = arg;

	ck_assert_ptr_nonnull(p->thread_name);
	ck_assert_int_le(p->start_us, p->end_us);
	c->npass++;
	if (!p->useful)
		c->npass_useless++;
}

/* Callbacks that collect episodes only. */
static struct sp_callbacks
episodes_only(struct collect *c)
{
	struct sp_callbacks cb;

	memset(&cb, 0, sizeof(cb));
	cb.arg = c;
	cb.episode = on_episode;
	return cb;
}

/* Feeds a hand-built event as a source would: attributed first. */
static void
feed_attributed(struct ps_stream *st, struct sp_detector *d, struct ps_event *ev)
{
	ps_stream_attribute(st, ev);
	sp_detector_feed(d, ev);
}

/* Builds the event of one step. */
static void
make_event(const struct step *s, uint64_t lineno, struct ps_event *ev)
{
	const char *thr = s->thr ? s->thr : "msbflushthr";
	uint64_t addr = s->addr ? s->addr : 0x880000 + 0x1000ULL * s->bno;

	ps_event_reset(ev);
	ev->lineno = lineno;
	ev->src_off = lineno * 100;
	ev->ts_us = 1282327206000000LL + s->t;
	ev->thread.p = thr;
	ev->thread.n = strlen(thr);
	ev->tid_s.p = "23667";
	ev->tid_s.n = 5;
	ev->tid = 23667;
	switch (s->op) {
	case 'X': case 'C': case 'F': case 'c':
		ev->kind = PS_EV_EXAMINE;
		ev->msg_id = s->op == 'X' ? PS_MSG_A_TRY_FLUSH_BMAP :
		    s->op == 'C' ? PS_MSG_M_CHECKING : PS_MSG_Z_FLUSHABLE;
		if (s->op == 'c' || (s->op == 'F' && s->o >= 0)) {
			ev->has = PS_HAS_BMAP;
			ev->bmap.addr = addr;
			ev->bmap.fid = FID;
			ev->bmap.bno = s->bno;
			ev->bmap.flags = s->op == 'c' ? 0x2003 : 0x2043;
			ev->bmap.dirty = s->op == 'c' ? 0 : 1;	/* as the parser reads the flags */
			ev->outstanding = s->o;
			return;
		}
		break;
	case 'T': case 'M':
		ev->kind = PS_EV_SCHEDULE;
		ev->msg_id = s->op == 'T' ? PS_MSG_Z_TRY_FLUSH_BMAP : PS_MSG_M_TRY_FLUSH_BMAP;
		break;
	case 'R':
		ev->kind = PS_EV_REQUEUE;
		ev->msg_id = PS_MSG_A_RESTORE;
		break;
	case 'S': case 's': case 'K':
		ev->kind = PS_EV_SCHEDULE;
		ev->msg_id = s->op == 'S' ? PS_MSG_A_TRY_FLUSH_BIORQ :
		    s->op == 's' ? PS_MSG_A_SET_INFLIGHT : PS_MSG_A_CONSIDER;
		ev->has = PS_HAS_BIORQ;
		ev->biorq.addr = 0x7f95c4012a30;
		ev->biorq.bmap_addr = addr;
		return;
	case 'P':
		ev->kind = PS_EV_RPC_SEND;
		ev->msg_id = PS_MSG_A_RPC_OFF_SZ;
		ev->has = PS_HAS_REQ;
		ev->rpc_off = 0;
		ev->rpc_sz = 32768;
		return;
	case 'Z':
		ev->kind = PS_EV_RPC_SEND;
		ev->msg_id = PS_MSG_Z_SENDING_WRITE;
		ev->has = PS_HAS_REQ;
		ev->rpc_fid = s->bno ? FID : FID + 1;
		ev->outstanding = s->o;
		return;
	case 'L': case 'I': case 'U':
		ev->kind = PS_EV_CLEAN;
		ev->msg_id = s->op == 'L' ? PS_MSG_A_ADDED_TIMEOQ :
		    s->op == 'I' ? PS_MSG_A_IS_CLEAN : PS_MSG_A_UNSET_DIRTY;
		break;
	case 'W':
		ev->kind = PS_EV_PASS;
		ev->msg_id = PS_MSG_Z_WORK_TIME;
		return;
	case 'D':
		ev->kind = PS_EV_RPC_DONE;
		ev->msg_id = PS_MSG_A_RPC_DONE;
		ev->has = PS_HAS_REQ;
		ev->outstanding = s->o;
		return;
	default:
		ck_abort_msg("bad op %c", s->op);
	}
	ev->has = PS_HAS_BMAP;
	ev->bmap.addr = addr;
	ev->bmap.fid = FID;
	ev->bmap.bno = s->bno;
	ev->outstanding = s->o;
}

/* Runs a step list through a fresh detector. */
static struct sp_detector *
run_steps(const struct step *steps, struct collect *c, const struct sp_options *o)
{
	struct sp_callbacks cb = episodes_only(c);
	struct fs_err err;
	struct sp_detector *d;
	struct ps_stream *st = ps_stream_new(NULL, &err);
	struct ps_event ev;
	int i;

	memset(c, 0, sizeof(*c));
	cb.exam = on_exam;
	cb.pass = on_pass;
	d = sp_detector_new(o, &cb, &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(st);
	for (i = 0; steps[i].op != 0; i++) {
		make_event(&steps[i], (uint64_t)i + 1, &ev);
		feed_attributed(st, d, &ev);
	}
	sp_detector_finish(d);
	ps_stream_free(st);
	return d;
}

START_TEST(test_cases)
{
	const struct spin_case *tc = &cases[_i];
	const struct expect *ex = &tc->ex;
	struct collect c;
	struct sp_detector *d = run_steps(tc->steps, &c, NULL);
	struct sp_thread_stats st;
	uint64_t wasted = 0;
	int i;

	for (i = 0; i < sp_detector_nthreads(d); i++) {
		sp_detector_thread(d, i, &st);
		wasted += st.wasted_examinations;
	}
	ck_assert_msg(c.neps == ex->neps, "%s: %d episodes, want %d", tc->name, c.neps, ex->neps);
	ck_assert_msg(wasted == ex->wasted, "%s: %llu wasted, want %llu", tc->name,
	    (unsigned long long)wasted, (unsigned long long)ex->wasted);
	ck_assert_uint_eq(c.nwasted, wasted);
	if (ex->neps > 0) {
		ck_assert_msg(c.ep[0].f.cycles == ex->cycles0, "%s: cycles %llu", tc->name,
		    (unsigned long long)c.ep[0].f.cycles);
		ck_assert_uint_eq(c.ep[0].f.bno, ex->bno0);
		ck_assert_uint_eq(c.ep[0].f.fid, FID);
		if (ex->period0 >= 0)
			ck_assert_msg(c.ep[0].f.period_us == ex->period0, "%s: period %lld",
			    tc->name, (long long)c.ep[0].f.period_us);
		if (ex->cause0 >= 0)
			ck_assert_msg((int)c.ep[0].f.cause == ex->cause0, "%s: cause %s", tc->name,
			    sp_cause_name(c.ep[0].f.cause));
		if (ex->thread0 != NULL)
			ck_assert_str_eq(c.ep[0].thread, ex->thread0);
		ck_assert_int_le(c.ep[0].f.start_us, c.ep[0].f.end_us);
		ck_assert_uint_le(c.ep[0].f.first_off, c.ep[0].f.last_off);
	}
	if (ex->passes >= 0) {
		sp_detector_thread(d, 0, &st);
		ck_assert_msg((int64_t)st.passes == ex->passes, "%s: %llu passes, want %lld",
		    tc->name, (unsigned long long)st.passes, (long long)ex->passes);
		ck_assert_msg((int64_t)st.useless_passes == ex->useless, "%s: %llu useless, want %lld",
		    tc->name, (unsigned long long)st.useless_passes, (long long)ex->useless);
	}
	sp_detector_free(d);
}
END_TEST

/* The seed's figures in full: both episodes, outstanding, offsets, thread. */
START_TEST(test_seed_details)
{
	struct collect c;
	struct sp_detector *d = run_steps(cases[0].steps, &c, NULL);
	struct sp_thread_stats st;
	int i;

	ck_assert_int_eq(c.neps, 2);
	for (i = 0; i < 2; i++) {
		ck_assert_str_eq(c.ep[i].thread, "msbflushthr");
		ck_assert_str_eq(c.ep[i].tid, "23667");
		ck_assert_int_eq(c.ep[i].f.outstanding_min, 75);
		ck_assert_int_eq(c.ep[i].f.outstanding_max, 75);
		ck_assert_int_eq(c.ep[i].f.cause, SP_CAUSE_INFLIGHT);
		ck_assert_int_ge(c.ep[i].f.period_us, 2150);
		ck_assert_int_le(c.ep[i].f.period_us, 2170);
	}
	/* delivered at finish in record order: b:1 then b:3 */
	ck_assert_uint_eq(c.ep[0].f.addr, 0x881330);
	ck_assert_uint_eq(c.ep[1].f.addr, 0x882110);
	ck_assert_uint_eq(c.ep[1].f.bno, 3);
	ck_assert_int_eq(c.ep[0].f.start_us, 1282327206161331LL);
	ck_assert_int_eq(c.ep[0].f.end_us, 1282327206165650LL);
	ck_assert_int_eq(c.ep[1].f.period_us, 2161);
	ck_assert_uint_eq(c.ep[0].f.first_off, 200);	/* step 2 */
	ck_assert_uint_eq(c.ep[0].f.last_off, 1000);	/* step 10 */
	ck_assert_int_eq(sp_detector_nthreads(d), 1);
	sp_detector_thread(d, 0, &st);
	ck_assert_uint_eq(st.examinations, 6);
	ck_assert_uint_eq(st.wasted_examinations, 6);
	ck_assert_int_eq(st.period_p50_us, 2159);
	ck_assert_uint_eq(st.period_hist[11], 2);	/* 2159, 2160 in [2048, 4096) */
	ck_assert_int_eq(c.npass, 3);
	ck_assert_int_eq(c.npass_useless, 3);
	sp_detector_free(d);
}
END_TEST

/* --min-cycles and --max-gap change what an episode is. */
START_TEST(test_options)
{
	struct sp_options o;
	struct collect c;
	struct sp_detector *d;
	struct fs_err err;

	sp_options_default(&o);
	ck_assert_int_eq(o.min_cycles, 3);
	ck_assert_int_eq(o.max_gap_us, 50000);
	ck_assert_int_eq(o.window_limit, 128);
	o.min_cycles = 4;
	d = run_steps(cases[0].steps, &c, &o);
	ck_assert_int_eq(c.neps, 0);
	sp_detector_free(d);
	o.min_cycles = 2;
	o.max_gap_us = 2159;	/* b:1's second gap is 2160 */
	d = run_steps(cases[0].steps, &c, &o);
	ck_assert_int_eq(c.neps, 1);
	ck_assert_uint_eq(c.ep[0].f.bno, 1);
	ck_assert_uint_eq(c.ep[0].f.cycles, 2);
	sp_detector_free(d);
	o.min_cycles = 0;
	ck_assert_ptr_null(sp_detector_new(&o, NULL, &err));
	ck_assert_int_ne(err.code, 0);
	ck_assert_str_eq(sp_cause_name(SP_CAUSE_INFLIGHT), "inflight");
	ck_assert_str_eq(sp_cause_name(SP_CAUSE_THROTTLED), "throttled");
	ck_assert_str_eq(sp_cause_name(SP_CAUSE_NOTREADY), "notready");
}
END_TEST

/* A long run: the median stays right past the exact-sample size. */
START_TEST(test_long_run_median)
{
	struct sp_callbacks cb;
	struct collect c;
	struct sp_detector *d;
	struct ps_event ev;
	struct step s = { 'X', 0, NULL, 1, 10, 0 };
	struct fs_err err;
	int i;

	memset(&c, 0, sizeof(c));
	cb = episodes_only(&c);
	d = sp_detector_new(NULL, &cb, &err);
	ck_assert_ptr_nonnull(d);
	for (i = 0; i < 10000; i++) {
		/* periods 2000 (3 of 4) and 9000 (1 of 4): the median is 2000 */
		s.op = 'X';
		make_event(&s, 2 * i + 1, &ev);
		sp_detector_feed(d, &ev);
		s.op = 'R';
		s.t += 10;
		make_event(&s, 2 * i + 2, &ev);
		sp_detector_feed(d, &ev);
		s.t += (i % 4 == 3 ? 9000 : 2000) - 10;
	}
	sp_detector_finish(d);
	ck_assert_int_eq(c.neps, 1);
	ck_assert_uint_eq(c.ep[0].f.cycles, 10000);
	ck_assert_int_eq(c.ep[0].f.period_us, 2000);
	sp_detector_free(d);
}
END_TEST

/*
 * Many bmaps come and go (memory is reused), and a bmap left without its
 * CLEAN line is retired once stale, delivering its episode before finish.
 */
START_TEST(test_many_bmaps_and_stale)
{
	struct collect c;
	struct sp_callbacks cb = episodes_only(&c);
	struct sp_detector *d;
	struct ps_stream *st = ps_stream_new(NULL, NULL);
	struct ps_event ev;
	struct step s = { 'X', 0, NULL, 1, 10, 0 };
	struct fs_err err;
	int i, k;

	memset(&c, 0, sizeof(c));
	d = sp_detector_new(NULL, &cb, &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(st);
	for (k = 0; k < 3; k++) {	/* bmap 1: three wasted cycles, then silence */
		s.op = 'X';
		make_event(&s, 1, &ev);
		sp_detector_feed(d, &ev);
		s.op = 'R';
		s.t += 10;
		make_event(&s, 2, &ev);
		sp_detector_feed(d, &ev);
		s.t += 1990;
	}
	s.t = 400LL * 1000000;
	for (i = 0; i < 20000; i++) {
		s.bno = 100 + (uint32_t)i;
		s.op = 'X';
		make_event(&s, 3, &ev);
		sp_detector_feed(d, &ev);
		s.op = i % 2 ? 'P' : 'L';
		make_event(&s, 4, &ev);
		feed_attributed(st, d, &ev);
		s.op = 'L';
		make_event(&s, 5, &ev);
		sp_detector_feed(d, &ev);
		s.t += 1;
	}
	ck_assert_int_eq(c.neps, 1);	/* delivered by the stale sweep */
	ck_assert_uint_eq(c.ep[0].f.bno, 1);
	/* memory follows the live bmaps: the 20000 came and went */
	ck_assert_uint_le(sp_detector_nbmaps(d), 2);
	sp_detector_finish(d);
	ck_assert_int_eq(c.neps, 1);
	sp_detector_free(d);
	ps_stream_free(st);
}
END_TEST


/* ---- whole files through reader, parser and detector ---- */

struct file_case {
	const char *file;
	int neps;
	uint64_t wasted;	/* over all threads */
	int nthreads;
	uint32_t bno0;		/* rank 1 */
	uint64_t cycles0;
	const char *thread0;
};

static const struct file_case file_cases[] = {
	{ "seed-excerpt.log", 2, 6, 1, 3, 3, "msbflushthr" },
	/* 7: msflushthr0's last flushable? is decided by its work time line */
	{ "spins/era-z.log", 1, 7, 3, 1, 5, "msflushthr3" },
	{ "spins/middle.log", 1, 3, 1, 1, 3, "msbflushthr0" },
	{ "spins/no-spin-a.log", 0, 1, 1, 0, 0, NULL },
	{ "spins/daemons.log", 0, 0, 0, 0, 0, NULL },
};

START_TEST(test_files)
{
	const struct file_case *fc = &file_cases[_i];
	struct sp_report r;
	struct sp_filter f;
	struct sp_options o;
	struct fs_err err;
	uint64_t wasted = 0;
	size_t i;

	sp_options_default(&o);
	sp_report_init(&r);
	sp_filter_init(&f);
	ck_assert_msg(sp_report_add_file(&r, tu_testdata(fc->file), &o, &f, 1, &err) == 0,
	    "%s", err.msg);
	sp_report_rank(&r);
	for (i = 0; i < r.nthreads; i++)
		wasted += r.threads[i].wasted_examinations;
	ck_assert_msg((int)r.neps == fc->neps, "%s: %zu episodes", fc->file, r.neps);
	ck_assert_msg(wasted == fc->wasted, "%s: %llu wasted", fc->file, (unsigned long long)wasted);
	ck_assert_msg((int)r.nthreads == fc->nthreads, "%s: %zu threads", fc->file, r.nthreads);
	ck_assert_uint_eq(r.unparsed, 0);
	if (fc->neps > 0) {
		ck_assert_uint_eq(r.eps[0].f.bno, fc->bno0);
		ck_assert_uint_eq(r.eps[0].f.cycles, fc->cycles0);
		ck_assert_uint_eq(r.eps[0].f.fid, FID);
		ck_assert_str_eq(sp_report_ep_thread(&r, &r.eps[0]), fc->thread0);
	}
	sp_report_free(&r);
}
END_TEST

/* The must-pass check: the seed excerpt, parsed, gives the report's two episodes. */
START_TEST(test_seed_file)
{
	struct sp_report r;
	struct sp_filter f;
	struct fs_err err;
	size_t i;

	sp_report_init(&r);
	sp_filter_init(&f);
	ck_assert_msg(sp_report_add_file(&r, tu_testdata("seed-excerpt.log"), NULL, &f, 1, &err) == 0,
	    "%s", err.msg);
	ck_assert_int_eq(r.neps, 2);
	for (i = 0; i < 2; i++) {
		const struct sp_rep_episode *e = &r.eps[i];

		ck_assert_uint_eq(e->f.fid, FID);
		ck_assert(e->f.bno == 1 || e->f.bno == 3);
		ck_assert_uint_eq(e->f.addr, e->f.bno == 1 ? 0x881330 : 0x882110);
		ck_assert_uint_eq(e->f.cycles, 3);
		ck_assert_int_ge(e->f.period_us, 2150);
		ck_assert_int_le(e->f.period_us, 2170);
		ck_assert_int_eq(e->f.outstanding_min, 75);
		ck_assert_int_eq(e->f.outstanding_max, 75);
		ck_assert_int_eq(e->f.cause, SP_CAUSE_INFLIGHT);
		ck_assert_str_eq(sp_report_ep_thread(&r, e), "msbflushthr");
		ck_assert_str_eq(sp_report_ep_tid(&r, e), "23667");
	}
	ck_assert_uint_ne(r.eps[0].f.bno, r.eps[1].f.bno);
	ck_assert_int_eq(r.nthreads, 1);
	ck_assert_uint_eq(r.threads[0].wasted_examinations, 6);
	/* the time-line: all six wasted examinations in one second */
	ck_assert_uint_eq(r.nsec, 1);
	ck_assert_uint_eq(r.wasted_s[0], 6);
	ck_assert_int_eq(r.outst_s[0], 75);
	sp_report_free(&r);
}
END_TEST

/* The seed post itself (shared/seeds/, markdown around the lines) gives the same. */
START_TEST(test_seed_post)
{
	const char *sh = getenv("FS_SHARED");
	char path[1024];
	struct sp_report r;
	struct sp_filter f;
	struct fs_err err;

	snprintf(path, sizeof(path), "%s/seeds/bmap-flush-sleep-too-short.md", sh ? sh : "../shared");
	if (access(path, R_OK) != 0)
		return;	/* the shared tree is not beside this checkout */
	sp_report_init(&r);
	sp_filter_init(&f);
	ck_assert_msg(sp_report_add_file(&r, path, NULL, &f, 1, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(r.neps, 2);
	ck_assert_uint_eq(r.eps[0].f.cycles + r.eps[1].f.cycles, 6);
	sp_report_free(&r);
}
END_TEST

/*
 * Ranking fills each bmap's episode figures from the episodes: many bmaps,
 * given out of order and one of them twice (two sources), episodes of
 * some, none of others, and episodes of a bmap without a row.
 */
START_TEST(test_rank_bmap_episodes)
{
	enum { NB = 3000, NE = 20000 };
	static uint64_t want_eps[NB], want_cycles[NB];
	struct sp_report r;
	size_t i;

	sp_report_init(&r);
	memset(want_eps, 0, sizeof(want_eps));
	memset(want_cycles, 0, sizeof(want_cycles));
	for (i = 0; i < NB; i++) {
		uint64_t b = (i * 7919) % NB;	/* a permutation of the bmaps */

		ck_assert_int_eq(sp_report_add_bmap(&r, FID + b / 8, (uint32_t)(b % 8), 10 + b, b), 0);
	}
	ck_assert_int_eq(sp_report_add_bmap(&r, FID + 5, 3, 1, 1), 0);	/* bmap 43 again */
	for (i = 0; i < NE; i++) {
		struct sp_episode e;
		uint64_t b = (i * 104729) % (NB + 100);	/* past NB: no row */

		memset(&e, 0, sizeof(e));
		e.f.fid = FID + b / 8;
		e.f.bno = (uint32_t)(b % 8);
		e.f.cycles = 3 + i % 5;
		e.f.start_us = (int64_t)i * 1000;
		e.f.end_us = e.f.start_us + 10;
		if (b < NB) {
			want_eps[b]++;
			want_cycles[b] += e.f.cycles;
		}
		ck_assert_int_eq(sp_report_add_episode(&r, &e), 0);
	}
	sp_report_rank(&r);
	ck_assert_uint_eq(r.nbmaps, NB);
	for (i = 0; i < r.nbmaps; i++) {
		uint64_t b = (r.bmaps[i].fid - FID) * 8 + r.bmaps[i].bno;

		ck_assert_uint_lt(b, NB);
		ck_assert_uint_eq(r.bmaps[i].examinations, 10 + b + (b == 43));
		ck_assert_uint_eq(r.bmaps[i].episodes, want_eps[b]);
		ck_assert_uint_eq(r.bmaps[i].cycles, want_cycles[b]);
		if (i > 0)	/* most wasted first */
			ck_assert_uint_ge(r.bmaps[i - 1].wasted, r.bmaps[i].wasted);
	}
	for (i = 1; i < r.neps; i++)	/* most cycles first */
		ck_assert_uint_ge(r.eps[i - 1].f.cycles, r.eps[i].f.cycles);
	sp_report_free(&r);
}
END_TEST

/*
 * A report keeps each (thread, tid) of its episodes once, and every
 * episode gives its own back: threads interleaved, one name with two tids,
 * one tid under two names, an empty tid, the longest name.
 */
START_TEST(test_report_episode_names)
{
	static const char *const names[][2] = {
		{ "msbflushthr", "23667" }, { "msbflushthr", "23668" }, { "msflushthr0", "23667" },
		{ "msbflushthr", "" },
		{ "x123456789012345678901234567890123456789012345678901234567890ab", "7f1c1affd700" },
	};
	enum { NN = sizeof(names) / sizeof(names[0]), NE = 1000 };
	struct sp_report r;
	size_t i;

	sp_report_init(&r);
	ck_assert_uint_eq(strlen(names[NN - 1][0]), SP_NAME_MAX - 1);
	for (i = 0; i < NE; i++) {
		struct sp_episode e;
		size_t k = (i * i + i / 3) % NN;

		memset(&e, 0, sizeof(e));
		snprintf(e.thread, sizeof(e.thread), "%s", names[k][0]);
		snprintf(e.tid, sizeof(e.tid), "%s", names[k][1]);
		e.f.fid = FID;
		e.f.bno = (uint32_t)i;
		e.f.cycles = 3;
		ck_assert_int_eq(sp_report_add_episode(&r, &e), 0);
	}
	ck_assert_uint_eq(r.names.n, NN);
	for (i = 0; i < NE; i++) {
		size_t k = (i * i + i / 3) % NN;

		ck_assert_uint_eq(r.eps[i].f.bno, i);
		ck_assert_str_eq(sp_report_ep_thread(&r, &r.eps[i]), names[k][0]);
		ck_assert_str_eq(sp_report_ep_tid(&r, &r.eps[i]), names[k][1]);
	}
	sp_report_free(&r);
}
END_TEST

/* Runs the seed excerpt through the report with filter f. */
static void
seed_filtered(struct sp_report *r, const struct sp_filter *f)
{
	struct fs_err err;

	sp_report_free(r);
	ck_assert_int_eq(sp_report_add_file(r, tu_testdata("seed-excerpt.log"), NULL, f, 1, &err), 0);
}

/* Filters keep what matches and drop the rest. */
START_TEST(test_filter)
{
	struct sp_report r;
	struct sp_filter f;

	sp_report_init(&r);
	sp_filter_init(&f);
	f.thread = "msbflushthr:23667";
	seed_filtered(&r, &f);
	ck_assert_int_eq(r.neps, 2);
	ck_assert_int_eq(r.nthreads, 1);
	f.has_fid = 1;
	f.fid = FID;
	f.until_us = 1282327206161340LL;	/* b:1 starts at .161331, b:3 at .161347 */
	seed_filtered(&r, &f);
	ck_assert_int_eq(r.neps, 1);
	ck_assert_uint_eq(r.eps[0].f.bno, 1);
	f.thread = "msbflushthr:1";
	seed_filtered(&r, &f);
	ck_assert_int_eq(r.neps, 0);
	ck_assert_int_eq(r.nthreads, 0);
	ck_assert(sp_thread_match("msflushthr3", "msflushthr3", "7f"));
	ck_assert(!sp_thread_match("msflushthr", "msflushthr3", "7f"));
	sp_report_free(&r);
}
END_TEST

/* The plot module writes well-formed, labelled SVG with the bands. */
START_TEST(test_plot_svg)
{
	struct fs_err err;
	struct pl_chart *c = pl_chart_new("a <title> & more", 2, &err);
	double x[3] = { 0, 1, 2 }, y[3] = { 5, 0, 7 };
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(pl_chart_new("x", 0, &err));
	pl_chart_xaxis(c, "time (s)", 0);
	pl_panel_yaxis(c, 0, "wasted/s", 0);
	pl_panel_yaxis(c, 1, "latency", 1);
	ck_assert_int_eq(pl_series(c, 0, "series-one", x, y, 3, PL_STEP), 0);
	ck_assert_int_eq(pl_series(c, 1, "series-two", x, y, 3, PL_POINTS), 0);
	ck_assert_int_eq(pl_series(c, 5, "bad", x, y, 3, PL_LINE), -1);
	ck_assert_int_eq(pl_band(c, 0.5, 1.5, "band-label"), 0);
	ck_assert_int_eq(pl_chart_svg(c, f, &err), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "<svg xmlns='http://www.w3.org/2000/svg'"));
	ck_assert_ptr_nonnull(strstr(buf, "a &lt;title&gt; &amp; more"));
	ck_assert_ptr_nonnull(strstr(buf, ">series-one</text>"));
	ck_assert_ptr_nonnull(strstr(buf, ">series-two</text>"));
	ck_assert_ptr_nonnull(strstr(buf, ">band-label</text>"));
	ck_assert_ptr_nonnull(strstr(buf, ">time (s)</text>"));
	ck_assert_ptr_nonnull(strstr(buf, "class='band'"));
	ck_assert_ptr_nonnull(strstr(buf, "</svg>\n"));
	ck_assert_ptr_null(strstr(buf, "nan"));
	pl_chart_free(c);
	free(buf);
}
END_TEST

/* ---- the command (FS_BIN) ---- */

static char cmd_out[256];

/* Runs FS_BIN with args (shell words), stdout to a temp file; returns the exit status. */
static int
run_fs(const char *args, char **out)
{
	const char *bin = getenv("FS_BIN");
	const char *td = getenv("FS_TESTDATA");
	char cmd[8192];
	FILE *f;
	long n;
	int st;

	ck_assert_msg(bin != NULL, "FS_BIN is not set (run through make check)");
	snprintf(cmd_out, sizeof(cmd_out), "/tmp/fs-check-spin-%ld.out", (long)getpid());
	snprintf(cmd, sizeof(cmd), "cd %s && %s spins %s > %s 2>/dev/null", td ? td : "testdata",
	    bin, args, cmd_out);
	st = system(cmd);
	ck_assert(WIFEXITED(st));
	if (out != NULL) {
		f = fopen(cmd_out, "r");
		ck_assert_ptr_nonnull(f);
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		*out = calloc(1, (size_t)n + 1);
		ck_assert_uint_eq(fread(*out, 1, (size_t)n, f), (size_t)n);
		fclose(f);
	}
	unlink(cmd_out);
	return WEXITSTATUS(st);
}

/* Occurrences of needle in hay. */
static int
count_str(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay += strlen(needle))
		n++;
	return n;
}

struct cmd_case {
	const char *args;
	int status;
	int neps;		/* episodes in JSON output; -1: not JSON */
};

static const struct cmd_case cmd_cases[] = {
	{ "--format=json seed-excerpt.log", 0, 2 },
	{ "--format=json --fail-on-spin seed-excerpt.log", 1, 2 },
	{ "--format=json --fail-on-spin spins/no-spin-a.log", 0, 0 },
	{ "--format=json --fail-on-spin spins/daemons.log", 0, 0 },
	{ "--format=json --fail-on-spin spins/era-z.log", 1, 1 },
	{ "--format=json --fid 80000002d907b seed-excerpt.log", 0, 2 },
	{ "--format=json --fid 0x123 --fail-on-spin seed-excerpt.log", 0, 0 },
	{ "--format=json --thread msbflushthr seed-excerpt.log", 0, 2 },
	{ "--format=json --thread msbflushthr:23667 seed-excerpt.log", 0, 2 },
	{ "--format=json --thread msflushthr3 seed-excerpt.log", 0, 0 },
	{ "--format=json --since 1282327207 seed-excerpt.log", 0, 0 },
	{ "--format=json --until 1282327206.1 seed-excerpt.log", 0, 0 },
	{ "--format=json --since 2010-08-20T18:00:06 --until 2010-08-20T18:00:07Z seed-excerpt.log", 0, 2 },
	{ "--format=json --min-cycles 4 seed-excerpt.log", 0, 0 },
	{ "--format=json --min-cycles 2 --max-gap 2ms seed-excerpt.log", 0, 0 },
	{ "--format=json --max-gap 2.5ms seed-excerpt.log", 0, 2 },
	{ "--format=json seed-excerpt.log spins/era-z.log", 0, 3 },
	{ "--format=json - < seed-excerpt.log", 0, 2 },
	{ "--format=json --limit 1 --fail-on-spin seed-excerpt.log", 1, 1 },
	{ "--format=json --limit 0 seed-excerpt.log", 0, 2 },
	{ "--limit -1 seed-excerpt.log", 2, -1 },
	{ "--format=xml seed-excerpt.log", 2, -1 },
	{ "", 2, -1 },
	{ "--max-gap soon seed-excerpt.log", 2, -1 },
	{ "--min-cycles 0 seed-excerpt.log", 2, -1 },
	{ "--since yesterday seed-excerpt.log", 2, -1 },
	{ "--fid xyz seed-excerpt.log", 2, -1 },
	{ "--no-such-option seed-excerpt.log", 2, -1 },
	{ "-d x.db seed-excerpt.log", 2, -1 },
	{ "no-such-file.log", 3, -1 },
	{ "-d no-such-dir/x.db", 3, -1 },
	{ "--help", 0, -1 },
};

START_TEST(test_cmd_cases)
{
	const struct cmd_case *cc = &cmd_cases[_i];
	char *out = NULL;
	int st = run_fs(cc->args, &out);

	ck_assert_msg(st == cc->status, "spins %s: exit %d, want %d", cc->args, st, cc->status);
	if (cc->neps >= 0) {
		ck_assert_msg(strncmp(out, "{\"episodes\":[", 13) == 0, "spins %s: %s", cc->args, out);
		ck_assert_msg(count_str(out, "\"cause\":") == cc->neps, "spins %s: %s", cc->args, out);
	}
	free(out);
}
END_TEST

/* The JSON carries every key the issue names, with the seed's values. */
START_TEST(test_cmd_json_keys)
{
	static const char *const keys[] = {
		"\"thread\":\"msbflushthr\"", "\"tid\":\"23667\"", "\"fid\":\"80000002d907b\"",
		"\"bmapno\":1,", "\"bmapno\":3,", "\"addr\":\"0x881330\"", "\"addr\":\"0x882110\"",
		"\"start_us\":1282327206161331", "\"end_us\":1282327206165650", "\"cycles\":3,",
		"\"period_us\":2160", "\"outstanding_min\":75", "\"outstanding_max\":75",
		"\"cause\":\"inflight\"", "\"threads\":[", "\"passes\":3,", "\"useless_passes\":3,",
		"\"wasted_examinations\":6,", "\"cpu_wasted_us\":18", "\"episodes_total\":2,",
	};
	char *out = NULL;
	size_t i;

	ck_assert_int_eq(run_fs("--format=json --scan-cost 3us seed-excerpt.log", &out), 0);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_msg(strstr(out, keys[i]) != NULL, "missing %s in %s", keys[i], out);
	free(out);
}
END_TEST

/* Table and CSV forms carry the episode and thread lines. */
START_TEST(test_cmd_table_csv)
{
	char *out = NULL;

	ck_assert_int_eq(run_fs("seed-excerpt.log", &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "EPISODES: 2"));
	ck_assert_ptr_nonnull(strstr(out, "80000002d907b:1"));
	ck_assert_ptr_nonnull(strstr(out, "0x881330"));
	ck_assert_ptr_nonnull(strstr(out, "2010-08-20 18:00:06.161331"));
	ck_assert_ptr_nonnull(strstr(out, "2.160ms"));
	ck_assert_ptr_nonnull(strstr(out, "inflight"));
	ck_assert_ptr_nonnull(strstr(out, "msbflushthr:23667"));
	ck_assert_ptr_nonnull(strstr(out, "100.0%"));
	free(out);
	ck_assert_int_eq(run_fs("--format=csv seed-excerpt.log", &out), 0);
	ck_assert_int_eq(strncmp(out, "rank,thread,tid,fid,bmapno,addr,start_us,", 41), 0);
	ck_assert_ptr_nonnull(strstr(out, "\n1,msbflushthr,23667,80000002d907b,3,0x882110,"));
	/* one table per run: the episodes, or with --table threads the threads */
	ck_assert_ptr_null(strstr(out, "thread,tid,passes,useless_passes,"));
	free(out);
	ck_assert_int_eq(run_fs("--format=csv --table threads seed-excerpt.log", &out), 0);
	ck_assert_int_eq(strncmp(out, "thread,tid,passes,useless_passes,", 33), 0);
	ck_assert_ptr_nonnull(strstr(out, "\nmsbflushthr,23667,3,3,6,6,"));
	ck_assert_ptr_null(strstr(out, "rank,"));
	free(out);
}
END_TEST

/* --plot writes a self-contained SVG with both panels and the episodes. */
START_TEST(test_cmd_plot)
{
	char path[256], args[400];
	char *svg;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "/tmp/fs-check-spin-%ld.svg", (long)getpid());
	snprintf(args, sizeof(args), "--plot %s seed-excerpt.log", path);
	ck_assert_int_eq(run_fs(args, NULL), 0);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	svg = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(svg, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	ck_assert_int_eq(strncmp(svg, "<?xml", 5), 0);
	ck_assert_ptr_nonnull(strstr(svg, "wasted examinations per second"));
	ck_assert_ptr_nonnull(strstr(svg, "outstanding write RPCs"));
	ck_assert_ptr_nonnull(strstr(svg, ">wasted exams/s</text>"));
	ck_assert_ptr_nonnull(strstr(svg, ">outstanding RPCs</text>"));
	ck_assert_ptr_nonnull(strstr(svg, "80000002d907b:1 (3x)"));
	/* the two episodes overlap in time: one merged band in each panel */
	ck_assert_int_eq(count_str(svg, "class='band'"), 2);
	ck_assert_ptr_null(strstr(svg, "href"));		/* nothing external */
	ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
	free(svg);
	snprintf(args, sizeof(args), "--plot /nonexistent-dir/x.svg seed-excerpt.log");
	ck_assert_int_eq(run_fs(args, NULL), 3);
}
END_TEST

/* -d DB reads what ingest stored through the store interface. */
START_TEST(test_cmd_db)
{
	char db[200], args[600];
	struct fs_err err;
	struct st_store *st;
	struct st_source src;
	struct st_batch *b;
	struct st_episode ep;
	struct st_thread_stats ts;
	struct st_series se;
	char *out = NULL;

	snprintf(db, sizeof(db), "/tmp/fs-check-spin-%ld.db", (long)getpid());
	unlink(db);
	st = st_open(db, ST_OPEN_CREATE, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	memset(&src, 0, sizeof(src));
	snprintf(src.path, sizeof(src.path), "/var/log/client.log");
	ck_assert_int_eq(st_source_add(st, &src, &err), 0);
	b = st_batch_new();
	ck_assert_ptr_nonnull(b);
	st_batch_add_thread(b, 0, "msbflushthr", 11, "23667", 5);
	memset(&ep, 0, sizeof(ep));
	ep.fid = FID;
	ep.bno = 1;
	ep.addr = 0x881330;
	ep.start_us = 1282327206161331LL;
	ep.end_us = 1282327206165650LL;
	ep.cycles = 3;
	ep.period_us = 2160;
	ep.outstanding_min = ep.outstanding_max = 75;
	snprintf(ep.cause, sizeof(ep.cause), "inflight");
	st_batch_add_episode(b, 0, &ep);
	ep.fid = FID + 1;
	ep.cycles = 7;
	snprintf(ep.cause, sizeof(ep.cause), "throttled");
	st_batch_add_episode(b, 0, &ep);
	memset(&ts, 0, sizeof(ts));
	ts.passes = 3;
	ts.useless_passes = 3;
	ts.examinations = 6;
	ts.wasted = 6;
	ts.first_us = 1282327206161331LL;
	ts.last_us = 1282327206165700LL;
	st_batch_add_thread_stats(b, 0, &ts);
	memset(&se, 0, sizeof(se));
	se.sec = 1282327206;
	se.wasted = 6;
	se.max_outstanding = 75;
	st_batch_add_series(b, &se);
	src.lines = 13;
	src.done_off = 1500;
	src.state = ST_SRC_COMPLETE;
	st_batch_set_source(b, &src);
	ck_assert_msg(st_commit(st, b, &err) == 0, "%s", err.msg);
	st_batch_free(b);
	st_close(st);

	snprintf(args, sizeof(args), "-d %s --format=json", db);
	ck_assert_int_eq(run_fs(args, &out), 0);
	ck_assert_int_eq(count_str(out, "\"cause\":"), 2);
	ck_assert_ptr_nonnull(strstr(out, "\"rank\":1,\"thread\":\"msbflushthr\",\"tid\":\"23667\","
	    "\"fid\":\"80000002d907c\""));
	ck_assert_ptr_nonnull(strstr(out, "\"cause\":\"throttled\""));
	ck_assert_ptr_nonnull(strstr(out, "\"wasted_examinations\":6,"));
	free(out);
	snprintf(args, sizeof(args), "-d %s --format=json --fid 80000002d907b --fail-on-spin", db);
	ck_assert_int_eq(run_fs(args, &out), 1);
	ck_assert_int_eq(count_str(out, "\"cause\":"), 1);
	free(out);
	snprintf(args, sizeof(args), "-d %s --format=json --min-cycles 5", db);
	ck_assert_int_eq(run_fs(args, &out), 0);
	ck_assert_int_eq(count_str(out, "\"cause\":"), 1);
	free(out);
	snprintf(args, sizeof(args), "-d %s --plot %s.svg", db, db);
	ck_assert_int_eq(run_fs(args, NULL), 0);
	snprintf(args, sizeof(args), "%s.svg", db);
	ck_assert_int_eq(access(args, R_OK), 0);
	unlink(args);
	unlink(db);
	snprintf(args, sizeof(args), "%s-wal", db);
	unlink(args);
	snprintf(args, sizeof(args), "%s-shm", db);
	unlink(args);
}
END_TEST


/* ---- synthetic logs with truth (flushscope synth, testdata/synth/) ---- */

#define TRUTH_MAXB 16

struct truth_bmap {
	uint64_t fid;
	uint32_t bno;
	uint64_t wasted_truth, wasted_seen;
	/* episodes rebuilt from the truth's examine lines with the same rule */
	uint64_t run;
	int64_t last_ns;
	int neps;
	uint64_t cycles_sum;
};

struct truth {
	struct truth_bmap b[TRUTH_MAXB];
	int nb;
};

/* Finds (or adds) a bmap in the truth table. */
static struct truth_bmap *
truth_bmap(struct truth *t, uint64_t fid, uint32_t bno)
{
	int i;

	for (i = 0; i < t->nb; i++)
		if (t->b[i].fid == fid && t->b[i].bno == bno)
			return &t->b[i];
	ck_assert_int_lt(t->nb, TRUTH_MAXB);
	memset(&t->b[t->nb], 0, sizeof(t->b[0]));
	t->b[t->nb].fid = fid;
	t->b[t->nb].bno = bno;
	return &t->b[t->nb++];
}

/* Ends a truth run (an episode if >= 3 cycles). */
static void
truth_run_end(struct truth_bmap *b)
{
	if (b->run >= 3) {
		b->neps++;
		b->cycles_sum += b->run;
	}
	b->run = 0;
}

/* Examination callback: counts the wasted ones per bmap. */
static void
truth_exam(void *arg, const struct sp_exam *x)
{
	if (x->verdict == SP_WASTED)
		truth_bmap(arg, x->fid, x->bno)->wasted_seen++;
}

static const char *const synth_logs[] = { "synth/seedlike-A", "synth/seedlike-Z" };

/* Examinations of several flush threads, as the engine made them and as the detector saw them. */
#define THR_MAX		2048
struct thr_exam {
	int64_t us;		/* log time */
	int thread;		/* the flush thread's number (its name's digits) */
	uint64_t fid;
	unsigned bno;
	int verdict;		/* enum sp_verdict */
	int matched;
};

struct thr_exams {
	struct thr_exam v[THR_MAX];
	int n;
};

/* The number at the end of a flush thread's name ("msflushthr12" -> 12). */
static int
thr_number(const char *name)
{
	size_t n = strlen(name);

	while (n > 0 && name[n - 1] >= '0' && name[n - 1] <= '9')
		n--;
	return atoi(name + n);
}

/* Collects the detector's examinations. */
static void
thr_exam_cb(void *arg, const struct sp_exam *x)
{
	struct thr_exams *e = arg;

	ck_assert_int_lt(e->n, THR_MAX);
	e->v[e->n++] = (struct thr_exam){ x->ts_us, thr_number(x->thread_name), x->fid, x->bno,
	    (int)x->verdict, 0 };
}

/*
 * Several flush threads examining one bmap at once (HEAD runs 16, 2011-08
 * several): the engine's examinations and the log's are the same ones,
 * each with the engine's verdict from the detector, so every thread's own
 * count is exact, not only the total.  Before examinations were kept per thread, a
 * second thread's examination closed the first's as wasted and the
 * first's `try flush` then made the second's useful: 110 of 645 verdicts
 * swapped with 16 HEAD threads.  The engine's own record had the same
 * fault: a bmap kept one examination, so with 2011-08 and 4 threads a
 * thread examining a bmap another held collected overwrote its start time
 * and thread (20 of 167 examinations written twice or under the wrong
 * thread, 100 wasted where the log shows 82).
 */
static const struct {
	const char *policy, *era;
	int threads;
} thr_cases[] = {
	{ "head", "Z", 16 },
	{ "head", "Z", 4 },
	{ "2011-08", "C", 4 },
};

START_TEST(test_threads_truth)
{
	/* synth prints t = 0 as this second (libflush's log_epoch_s default) */
	const int64_t epoch_us = 1282327206LL * 1000000;
	static struct thr_exams seen, truth;
	char dir[256], cmd[1400], line[512], what[16];
	struct sp_callbacks cb;
	struct sp_detector *d;
	struct ps_source *src;
	struct ps_item it;
	struct fs_err err;
	int64_t wasted_seen[64] = { 0 }, wasted_truth[64] = { 0 };
	int i, k;
	FILE *f;

	tu_mkdtemp(dir, sizeof(dir), "threads");
	snprintf(cmd, sizeof(cmd), "'%s' synth --policy %s --era %s --threads %d --seed 7 "
	    "--duration 3s --files 2 --bmaps 3 --write-size 1MiB --burst 40 --burst-gap 10us "
	    "--rate 75 --rpc-latency uniform:20ms:40ms --truth '%s/t' > '%s/log'", tu_fsbin(),
	    thr_cases[_i].policy, thr_cases[_i].era, thr_cases[_i].threads, dir, dir);
	ck_assert_int_eq(system(cmd), 0);

	memset(&seen, 0, sizeof(seen));
	memset(&cb, 0, sizeof(cb));
	cb.arg = &seen;
	cb.exam = thr_exam_cb;
	snprintf(cmd, sizeof(cmd), "%s/log", dir);
	ck_assert_ptr_nonnull(src = ps_source_open(cmd, NULL, 1, &err));
	ck_assert_ptr_nonnull(d = sp_detector_new(NULL, &cb, &err));
	while (ps_source_next(src, &it, &err) == 1)
		sp_detector_feed(d, &it.ev);
	sp_detector_finish(d);
	sp_detector_free(d);
	ps_source_close(src);

	memset(&truth, 0, sizeof(truth));
	snprintf(cmd, sizeof(cmd), "%s/t", dir);
	ck_assert_ptr_nonnull(f = fopen(cmd, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		long long ns;
		uint64_t fid;
		unsigned th, bno;

		if (sscanf(line, "examine %lld %u %" SCNx64 " %u %15s", &ns, &th, &fid, &bno,
		    what) != 5)
			continue;
		ck_assert_int_lt(truth.n, THR_MAX);
		ck_assert_uint_lt(th, 64);
		truth.v[truth.n++] = (struct thr_exam){ epoch_us + ns / 1000, (int)th, fid, bno,
		    strcmp(what, "wasted") == 0 ? SP_WASTED : SP_USEFUL, 0 };
		wasted_truth[th] += strcmp(what, "wasted") == 0;
	}
	fclose(f);
	tu_rmtree(dir);
	ck_assert_int_gt(truth.n, 100);

	/* the same examination: thread, bmap and time (the log's microsecond, +-1) */
	for (i = 0; i < truth.n; i++) {
		struct thr_exam *t = &truth.v[i];

		for (k = 0; k < seen.n; k++) {
			struct thr_exam *s = &seen.v[k];

			if (!s->matched && s->thread == t->thread && s->fid == t->fid &&
			    s->bno == t->bno && s->us - t->us <= 1 && t->us - s->us <= 1)
				break;
		}
		ck_assert_msg(k < seen.n, "%s x%d: the engine's examination of b:%u at %" PRId64
		    " us by thread %d is not in the log", thr_cases[_i].policy,
		    thr_cases[_i].threads, t->bno, t->us, t->thread);
		seen.v[k].matched = t->matched = 1;
		ck_assert_msg(seen.v[k].verdict == t->verdict, "%s x%d: thread %d's examination "
		    "of b:%u at %" PRId64 " us: %s, the engine's %s", thr_cases[_i].policy,
		    thr_cases[_i].threads, t->thread, t->bno, t->us,
		    sp_verdict_name(seen.v[k].verdict), sp_verdict_name(t->verdict));
	}
	for (k = 0; k < seen.n; k++) {
		ck_assert_msg(seen.v[k].matched, "%s x%d: the log's examination of b:%u at %" PRId64
		    " us by thread %d is not the engine's", thr_cases[_i].policy,
		    thr_cases[_i].threads, seen.v[k].bno, seen.v[k].us, seen.v[k].thread);
		if (seen.v[k].verdict == SP_WASTED && seen.v[k].thread < 64)
			wasted_seen[seen.v[k].thread]++;
	}
	for (i = 0; i < 64; i++)
		ck_assert_msg(wasted_seen[i] == wasted_truth[i], "%s x%d: thread %d: %" PRId64
		    " wasted examinations, the engine %" PRId64, thr_cases[_i].policy,
		    thr_cases[_i].threads, i, wasted_seen[i], wasted_truth[i]);
}
END_TEST

/*
 * The detector on a log written by the engine finds exactly the wasted
 * examinations the engine says it made (per bmap), and the episodes the
 * truth's own examine lines give under the same rule (3 cycles, 50 ms).
 */
START_TEST(test_synth_truth)
{
	char path[1100], line[512];
	struct truth t;
	int i, k;
	struct collect c;
	struct sp_callbacks cb = episodes_only(&c);
	struct sp_detector *d;
	struct ps_source *src;
	struct ps_item it;
	struct fs_err err;
	uint64_t fid;
	unsigned bno;
	long long ns;
	char what[16];
	FILE *f;

	memset(&t, 0, sizeof(t));
	memset(&c, 0, sizeof(c));
	snprintf(path, sizeof(path), "%s.truth", tu_testdata(synth_logs[_i]));
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *w;

		if (sscanf(line, "bmap %" SCNx64 " %u", &fid, &bno) == 2 &&
		    (w = strstr(line, " wasted=")) != NULL) {
			truth_bmap(&t, fid, bno)->wasted_truth = strtoull(w + 8, NULL, 10);
		} else if (sscanf(line, "examine %lld %*d %" SCNx64 " %u %15s", &ns, &fid, &bno,
		    what) == 4) {
			struct truth_bmap *b = truth_bmap(&t, fid, bno);

			if (strcmp(what, "wasted") == 0) {
				if (b->run > 0 && ns - b->last_ns > 50000000LL)
					truth_run_end(b);
				b->run++;
				b->last_ns = ns;
			} else {
				truth_run_end(b);
			}
		} else if (sscanf(line, "clean %lld %" SCNx64 " %u", &ns, &fid, &bno) == 3) {
			truth_run_end(truth_bmap(&t, fid, bno));
		}
	}
	fclose(f);
	for (i = 0; i < t.nb; i++)
		truth_run_end(&t.b[i]);
	ck_assert_int_gt(t.nb, 0);

	memset(&cb, 0, sizeof(cb));
	cb.arg = &t;
	cb.exam = truth_exam;
	snprintf(path, sizeof(path), "%s.log", tu_testdata(synth_logs[_i]));
	src = ps_source_open(path, NULL, 1, &err);
	ck_assert_msg(src != NULL, "%s", err.msg);
	/* episodes are collected through a second detector fed the same events */
	{
		struct sp_callbacks cb2 = episodes_only(&c);
		struct sp_detector *d2 = sp_detector_new(NULL, &cb2, &err);

		d = sp_detector_new(NULL, &cb, &err);
		ck_assert_ptr_nonnull(d);
		ck_assert_ptr_nonnull(d2);
		while (ps_source_next(src, &it, &err) == 1) {
			sp_detector_feed(d, &it.ev);
			sp_detector_feed(d2, &it.ev);
		}
		sp_detector_finish(d);
		sp_detector_finish(d2);
		sp_detector_free(d2);
	}
	sp_detector_free(d);
	ps_source_close(src);

	for (i = 0; i < t.nb; i++) {
		struct truth_bmap *b = &t.b[i];
		int n = 0;
		uint64_t cyc = 0;

		ck_assert_msg(b->wasted_seen == b->wasted_truth,
		    "%s b:%u: %llu wasted examinations found, truth %llu", synth_logs[_i], b->bno,
		    (unsigned long long)b->wasted_seen, (unsigned long long)b->wasted_truth);
		for (k = 0; k < c.neps && k < MAXEP; k++)
			if (c.ep[k].f.fid == b->fid && c.ep[k].f.bno == b->bno) {
				n++;
				cyc += c.ep[k].f.cycles;
			}
		ck_assert_msg(n == b->neps && cyc == b->cycles_sum,
		    "%s b:%u: %d episodes (%llu cycles), truth %d (%llu)", synth_logs[_i], b->bno,
		    n, (unsigned long long)cyc, b->neps, (unsigned long long)b->cycles_sum);
	}
	ck_assert_int_le(c.neps, MAXEP);
}
END_TEST

/*
 * Every examination's verdict, judged from the log alone, equals the one
 * the engine that wrote the log records, for each historical policy in its
 * own era (head with one flush thread: the design counts an era-Z bmap's
 * examinations together across threads, the engine per thread).  Two bugs
 * this found: 2011-08 takes a clean bmap off its queue without a line, so
 * before the detector read DIRTY from the flags those examinations came out
 * wasted (39 for 30); and from 2010-10 a pass checks every bmap before it
 * flushes any, so an RPC went to the bmap checked last instead of the one
 * whose `try flush` came before it (wasted examinations called useful).
 */
static const struct {
	const char *policy;
	uint64_t seed, duration_ms;
	unsigned burst;
	uint32_t write_size;
	double rate;
} engine_cases[] = {
	{ "legacy", 3, 2000, 32, 32768, 320 },
	{ "legacy", 7, 3000, 75, 1u << 20, 75 },
	{ "2010-10", 3, 2000, 32, 32768, 320 },
	{ "2010-10", 5, 2000, 1, 65536, 900 },
	{ "2011-08", 3, 2000, 32, 32768, 320 },
	{ "2011-08", 7, 3000, 32, 256u << 10, 64 },
	{ "2011-08", 5, 2000, 1, 65536, 900 },
	{ "head", 3, 2000, 32, 32768, 320 },
	{ "head", 7, 3000, 75, 1u << 20, 75 },
};

struct verdicts {
	struct { int64_t t_us; uint64_t fid; uint32_t bno; int wasted; } *v;
	size_t n, cap;
};

static void
verdict_add(struct verdicts *vs, int64_t t_us, uint64_t fid, uint32_t bno, int wasted)
{
	if (vs->n == vs->cap) {
		vs->cap = vs->cap ? vs->cap * 2 : 256;
		vs->v = realloc(vs->v, vs->cap * sizeof(*vs->v));
		ck_assert_ptr_nonnull(vs->v);
	}
	vs->v[vs->n].t_us = t_us;
	vs->v[vs->n].fid = fid;
	vs->v[vs->n].bno = bno;
	vs->v[vs->n++].wasted = wasted;
}

/* Engine trace callback: its examinations, with their verdicts. */
static void
engine_exam(void *arg, const struct fl_trace_ev *ev)
{
	if (ev->kind == FL_TR_EXAMINE)
		verdict_add(arg, (int64_t)(ev->t_ns / 1000), ev->fid, ev->bno, ev->wasted);
}

/* Detector callback: its decided examinations. */
static void
detector_exam(void *arg, const struct sp_exam *x)
{
	ck_assert_msg(x->verdict != SP_UNDECIDED, "undecided examination of %x at %" PRId64,
	    x->bno, x->ts_us);
	verdict_add(arg, x->ts_us - 1282327206000000LL, x->fid, x->bno, x->verdict == SP_WASTED);
}

static int
verdict_cmp(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

START_TEST(test_engine_verdicts)
{
	char path[] = "/tmp/fs-engine-verdicts-XXXXXX";
	struct verdicts truth = { 0 }, seen = { 0 };
	struct fl_config c;
	struct fl_synth sy;
	struct fl_engine *e;
	struct sp_callbacks cb;
	struct sp_detector *d;
	struct ps_source *src;
	struct ps_item it;
	struct fs_err err = { 0 };
	size_t i, nw = 0;
	FILE *f;
	int fd;

	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	ck_assert_int_eq(fl_config_init(&c, engine_cases[_i].policy), 0);
	c.tun.threads = 1;
	c.era = fl_policy_info(c.policy)->era;
	c.log = f;
	c.trace = engine_exam;
	c.trace_arg = &truth;
	ck_assert_int_eq(fl_transport_parse(&c.transport, "uniform:20ms:40ms", &err), 0);
	fl_synth_defaults(&sy);
	sy.seed = engine_cases[_i].seed;
	c.transport.seed = sy.seed;
	sy.duration_ns = engine_cases[_i].duration_ms * 1000000ULL;
	sy.burst = engine_cases[_i].burst;
	sy.write_size = engine_cases[_i].write_size;
	sy.rate = engine_cases[_i].rate;
	ck_assert_msg((e = fl_engine_new(&c, &err)) != NULL, "%s", err.msg);
	ck_assert_int_gt(fl_synth_add(e, &sy, &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_free(e);
	ck_assert_int_eq(fclose(f), 0);

	memset(&cb, 0, sizeof(cb));
	cb.arg = &seen;
	cb.exam = detector_exam;
	ck_assert_ptr_nonnull(d = sp_detector_new(NULL, &cb, &err));
	ck_assert_msg((src = ps_source_open(path, NULL, 1, &err)) != NULL, "%s", err.msg);
	while (ps_source_next(src, &it, &err) == 1)
		if (it.parsed)
			sp_detector_feed(d, &it.ev);
	ps_source_close(src);
	sp_detector_finish(d);
	sp_detector_free(d);
	unlink(path);

	qsort(truth.v, truth.n, sizeof(*truth.v), verdict_cmp);
	qsort(seen.v, seen.n, sizeof(*seen.v), verdict_cmp);
	for (i = 0; i < truth.n; i++)
		nw += truth.v[i].wasted;
	ck_assert_msg(truth.n > 20 && nw > 0, "%s: a workload with %zu examinations, %zu wasted",
	    engine_cases[_i].policy, truth.n, nw);
	ck_assert_msg(seen.n == truth.n, "%s #%d: %zu examinations in the log, the engine made %zu",
	    engine_cases[_i].policy, _i, seen.n, truth.n);
	for (i = 0; i < truth.n; i++)
		ck_assert_msg(seen.v[i].t_us == truth.v[i].t_us && seen.v[i].bno == truth.v[i].bno &&
		    seen.v[i].wasted == truth.v[i].wasted, "%s #%d: examination of b:%x at %" PRId64
		    " us: the log says %s, the engine %s", engine_cases[_i].policy, _i,
		    truth.v[i].bno, truth.v[i].t_us, seen.v[i].wasted ? "wasted" : "useful",
		    truth.v[i].wasted ? "wasted" : "useful");
	free(truth.v);
	free(seen.v);
}
END_TEST

Suite *spin_suite(void);

Suite *
spin_suite(void)
{
	Suite *s = suite_create("spin");
	TCase *tc = tcase_create("detector");

	tcase_add_loop_test(tc, test_cases, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_seed_details);
	tcase_add_test(tc, test_options);
	tcase_add_test(tc, test_long_run_median);
	tcase_add_test(tc, test_many_bmaps_and_stale);
	suite_add_tcase(s, tc);
	tc = tcase_create("files");
	tcase_add_loop_test(tc, test_files, 0, (int)(sizeof(file_cases) / sizeof(file_cases[0])));
	tcase_add_test(tc, test_seed_file);
	tcase_add_test(tc, test_seed_post);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_rank_bmap_episodes);
	tcase_add_test(tc, test_report_episode_names);
	tcase_add_test(tc, test_plot_svg);
	tcase_add_loop_test(tc, test_threads_truth, 0,
	    (int)(sizeof(thr_cases) / sizeof(thr_cases[0])));
	tcase_add_loop_test(tc, test_synth_truth, 0,
	    (int)(sizeof(synth_logs) / sizeof(synth_logs[0])));
	tcase_add_loop_test(tc, test_engine_verdicts, 0,
	    (int)(sizeof(engine_cases) / sizeof(engine_cases[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("command");
	tcase_add_loop_test(tc, test_cmd_cases, 0, (int)(sizeof(cmd_cases) / sizeof(cmd_cases[0])));
	tcase_add_test(tc, test_cmd_json_keys);
	tcase_add_test(tc, test_cmd_table_csv);
	tcase_add_test(tc, test_cmd_plot);
	tcase_add_test(tc, test_cmd_db);
	suite_add_tcase(s, tc);
	return s;
}
