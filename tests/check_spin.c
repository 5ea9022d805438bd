/*
 * Tests of the streaming spin detector (analysis/spin.c): table-driven event
 * sequences for every rule of the design's "What a spin is", the seed
 * excerpt end to end through the parser, and the `spins` command.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "analysis/spin.h"
#include "parsers/event.h"

#define FID 0x80000002d907bULL
#define MAXEP 16

/*
 * One step of a hand-built log.  op:
 *   X era-A `try flush (outstandingRpcCnt=o)` of bmap bno   (EXAMINE)
 *   C middle-era `checking for flush`                        (EXAMINE)
 *   F era-Z `flushable?`                                     (EXAMINE)
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
		A_PASS(0, 1, 5), A_PASS(2000, 1, 5), { 'X', 4000, NULL, 1, 5, 0 },
		{ 'U', 4005, "msbflushrpcthr", 1, -1, 0 }, { 'R', 4010, NULL, 1, -1, 0 },
		A_PASS(6000, 1, 5), A_PASS(8000, 1, 5),
		END }, { 0, 0, 0, -1, -1, NULL, 4, -1, -1 } },
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
	{ "era Z: removal from the queue ends the run", {
		{ 'F', 0, "msflushthr5", 1, -1, 0 }, { 'F', 3000, "msflushthr5", 1, -1, 0 },
		{ 'F', 6000, "msflushthr5", 1, -1, 0 }, { 'U', 7000, "msnbrqthr8", 1, -1, 0 },
		{ 'F', 9000, "msflushthr5", 1, -1, 0 }, { 'F', 12000, "msflushthr5", 1, -1, 0 },
		END }, { 0, 0, 0, -1, -1, NULL, 3, -1, -1 } },
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
		END }, { 0, 0, 0, -1, -1, NULL, 2, 2, 1 } },
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

/* Counts wasted examinations (checks the event describes the EXAMINE). */
static void
on_wasted(void *arg, const struct ps_event *ev, uint64_t fid, uint32_t bno)
{
	struct collect *c = arg;

	ck_assert_int_eq(ev->kind, PS_EV_EXAMINE);
	ck_assert_uint_eq(ev->bmap.fid, fid);
	ck_assert_uint_eq(ev->bmap.bno, bno);
	c->nwasted++;
}

/* Counts passes. */
static void
on_pass(void *arg, const char *thread, int64_t start, int64_t end, int useful)
{
	struct collect *c = arg;

	ck_assert_ptr_nonnull(thread);
	ck_assert_int_le(start, end);
	c->npass++;
	if (!useful)
		c->npass_useless++;
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
	case 'X': case 'C': case 'F':
		ev->kind = PS_EV_EXAMINE;
		ev->msg_id = s->op == 'X' ? PS_MSG_A_TRY_FLUSH_BMAP :
		    s->op == 'C' ? PS_MSG_M_CHECKING : PS_MSG_Z_FLUSHABLE;
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
	struct sp_callbacks cb = { c, on_episode, on_wasted, on_pass };
	struct fs_err err;
	struct sp_detector *d;
	struct ps_event ev;
	int i;

	memset(c, 0, sizeof(*c));
	d = sp_detector_new(o, &cb, &err);
	ck_assert_ptr_nonnull(d);
	for (i = 0; steps[i].op != 0; i++) {
		make_event(&steps[i], (uint64_t)i + 1, &ev);
		sp_detector_feed(d, &ev);
	}
	sp_detector_finish(d);
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
		ck_assert_msg(c.ep[0].cycles == ex->cycles0, "%s: cycles %llu", tc->name,
		    (unsigned long long)c.ep[0].cycles);
		ck_assert_uint_eq(c.ep[0].bno, ex->bno0);
		ck_assert_uint_eq(c.ep[0].fid, FID);
		if (ex->period0 >= 0)
			ck_assert_msg(c.ep[0].period_us == ex->period0, "%s: period %lld",
			    tc->name, (long long)c.ep[0].period_us);
		if (ex->cause0 >= 0)
			ck_assert_msg((int)c.ep[0].cause == ex->cause0, "%s: cause %s", tc->name,
			    sp_cause_name(c.ep[0].cause));
		if (ex->thread0 != NULL)
			ck_assert_str_eq(c.ep[0].thread, ex->thread0);
		ck_assert_int_le(c.ep[0].start_us, c.ep[0].end_us);
		ck_assert_uint_le(c.ep[0].first_off, c.ep[0].last_off);
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
		ck_assert_int_eq(c.ep[i].outstanding_min, 75);
		ck_assert_int_eq(c.ep[i].outstanding_max, 75);
		ck_assert_int_eq(c.ep[i].cause, SP_CAUSE_INFLIGHT);
		ck_assert_int_ge(c.ep[i].period_us, 2150);
		ck_assert_int_le(c.ep[i].period_us, 2170);
	}
	/* delivered at finish in record order: b:1 then b:3 */
	ck_assert_uint_eq(c.ep[0].addr, 0x881330);
	ck_assert_uint_eq(c.ep[1].addr, 0x882110);
	ck_assert_uint_eq(c.ep[1].bno, 3);
	ck_assert_int_eq(c.ep[0].start_us, 1282327206161331LL);
	ck_assert_int_eq(c.ep[0].end_us, 1282327206165650LL);
	ck_assert_int_eq(c.ep[1].period_us, 2161);
	ck_assert_uint_eq(c.ep[0].first_off, 200);	/* step 2 */
	ck_assert_uint_eq(c.ep[0].last_off, 1000);	/* step 10 */
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
	ck_assert_uint_eq(c.ep[0].bno, 1);
	ck_assert_uint_eq(c.ep[0].cycles, 2);
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
	cb.arg = &c;
	cb.episode = on_episode;
	cb.wasted = NULL;
	cb.pass = NULL;
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
	ck_assert_uint_eq(c.ep[0].cycles, 10000);
	ck_assert_int_eq(c.ep[0].period_us, 2000);
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
	struct sp_callbacks cb = { &c, on_episode, NULL, NULL };
	struct sp_detector *d;
	struct ps_event ev;
	struct step s = { 'X', 0, NULL, 1, 10, 0 };
	struct fs_err err;
	int i, k;

	memset(&c, 0, sizeof(c));
	d = sp_detector_new(NULL, &cb, &err);
	ck_assert_ptr_nonnull(d);
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
		sp_detector_feed(d, &ev);
		s.op = 'L';
		make_event(&s, 5, &ev);
		sp_detector_feed(d, &ev);
		s.t += 1;
	}
	ck_assert_int_eq(c.neps, 1);	/* delivered by the stale sweep */
	ck_assert_uint_eq(c.ep[0].bno, 1);
	sp_detector_finish(d);
	ck_assert_int_eq(c.neps, 1);
	sp_detector_free(d);
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
	return s;
}
