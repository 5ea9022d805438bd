/* Event vocabulary: kind and message names, reset, the forced-flush predicate. */
#include "parsers/event.h"
#include "parsers/internal.h"

#include <ctype.h>
#include <string.h>

static const char *const kind_names[PS_EV_NKINDS] = {
	[PS_EV_OTHER] = "OTHER",
	[PS_EV_WRITE_READY] = "WRITE_READY",
	[PS_EV_EXAMINE] = "EXAMINE",
	[PS_EV_SCHEDULE] = "SCHEDULE",
	[PS_EV_RPC_SEND] = "RPC_SEND",
	[PS_EV_RPC_DONE] = "RPC_DONE",
	[PS_EV_REQUEUE] = "REQUEUE",
	[PS_EV_CLEAN] = "CLEAN",
	[PS_EV_WAKE] = "WAKE",
	[PS_EV_PASS] = "PASS",
};

/* Message names, in enum order (the tables and tests use them). */
static const char *const msg_names[PS_MSG_COUNT] = {
	[PS_MSG_NONE] = "NONE",
	[PS_MSG_A_BIORQ_LIST_EMPTY] = "A_BIORQ_LIST_EMPTY",
	[PS_MSG_A_FLUSHRDY] = "A_FLUSHRDY",
	[PS_MSG_Z_SCHED_FLUSH] = "Z_SCHED_FLUSH",
	[PS_MSG_Z_ADD_FLUSHQ] = "Z_ADD_FLUSHQ",
	[PS_MSG_Z_LIST_EMPTY] = "Z_LIST_EMPTY",
	[PS_MSG_A_TRY_FLUSH_BMAP] = "A_TRY_FLUSH_BMAP",
	[PS_MSG_M_CHECKING] = "M_CHECKING",
	[PS_MSG_Z_FLUSHABLE] = "Z_FLUSHABLE",
	[PS_MSG_A_CONSIDER] = "A_CONSIDER",
	[PS_MSG_A_TRY_FLUSH_BIORQ] = "A_TRY_FLUSH_BIORQ",
	[PS_MSG_A_SET_INFLIGHT] = "A_SET_INFLIGHT",
	[PS_MSG_M_TRY_FLUSH_BMAP] = "M_TRY_FLUSH_BMAP",
	[PS_MSG_Z_TRY_FLUSH_BMAP] = "Z_TRY_FLUSH_BMAP",
	[PS_MSG_A_RPC_OFF_SZ] = "A_RPC_OFF_SZ",
	[PS_MSG_Z_SENDING_WRITE] = "Z_SENDING_WRITE",
	[PS_MSG_A_RPC_DONE] = "A_RPC_DONE",
	[PS_MSG_Z_RPC_CALLBACK] = "Z_RPC_CALLBACK",
	[PS_MSG_A_RESTORE] = "A_RESTORE",
	[PS_MSG_A_ADDED_TIMEOQ] = "A_ADDED_TIMEOQ",
	[PS_MSG_A_IS_CLEAN] = "A_IS_CLEAN",
	[PS_MSG_A_UNSET_DIRTY] = "A_UNSET_DIRTY",
	[PS_MSG_Z_REMOVE_FLUSHQ] = "Z_REMOVE_FLUSHQ",
	[PS_MSG_Z_WAKEUP] = "Z_WAKEUP",
	[PS_MSG_Z_WORK_TIME] = "Z_WORK_TIME",
	[PS_MSG_M_STALL] = "M_STALL",
	[PS_MSG_A_DESCHEDULING] = "A_DESCHEDULING",
	[PS_MSG_A_TIMEOQ_DESCHED] = "A_TIMEOQ_DESCHED",
	[PS_MSG_Z_RESCHED] = "Z_RESCHED",
	[PS_MSG_M_RPC_DONE_RC] = "M_RPC_DONE_RC",
	[PS_MSG_M_ADD_BMAPFLUSHQ] = "M_ADD_BMAPFLUSHQ",
	[PS_MSG_M_DATA_NOT_READY] = "M_DATA_NOT_READY",
	[PS_MSG_M_ALARM] = "M_ALARM",
	[PS_MSG_M_WAKE_MODE] = "M_WAKE_MODE",
	[PS_MSG_M_FLUSH_LOOP] = "M_FLUSH_LOOP",
	[PS_MSG_M_COULD_NOT_FLUSH] = "M_COULD_NOT_FLUSH",
	[PS_MSG_M_SEND_FAILURE] = "M_SEND_FAILURE",
	[PS_MSG_Z_MARK_FREE] = "Z_MARK_FREE",
	[PS_MSG_FORCE_EXPIRE] = "FORCE_EXPIRE",
	[PS_MSG_FORCE_EXPIRE_BMAP] = "FORCE_EXPIRE_BMAP",
	[PS_MSG_FCMH_FLUSHING] = "FCMH_FLUSHING",
	[PS_MSG_FCMH_FSYNCING] = "FCMH_FSYNCING",
	[PS_MSG_BIORQ_EXPIRED] = "BIORQ_EXPIRED",
	[PS_MSG_A_ARRAY_SIZE] = "A_ARRAY_SIZE",
	[PS_MSG_Z_BWC_CB_ARG] = "Z_BWC_CB_ARG",
	[PS_MSG_BIORQ_ARRAY_CB_ARG] = "BIORQ_ARRAY_CB_ARG",
};

/* Returns the short name of a message id. */
const char *
ps_msg_name(enum ps_msg id)
{
	if ((unsigned)id >= PS_MSG_COUNT || msg_names[id] == NULL)
		return "?";
	return msg_names[id];
}

/* 1 if the message marks a forced flush (fsync, close, flush(2)). */
int
ps_msg_forced(enum ps_msg id)
{
	switch (id) {
	case PS_MSG_FORCE_EXPIRE:
	case PS_MSG_FORCE_EXPIRE_BMAP:
	case PS_MSG_FCMH_FLUSHING:
	case PS_MSG_FCMH_FSYNCING:
		return 1;
	default:
		return 0;
	}
}

/* The era a message marks; 0 if it is logged alike by several. */
char
ps_msg_era(enum ps_msg id)
{
	switch (id) {
	case PS_MSG_A_TRY_FLUSH_BMAP: case PS_MSG_A_RESTORE:
		return 'A';
	case PS_MSG_M_CHECKING:
		return 'B';
	case PS_MSG_M_WAKE_MODE: case PS_MSG_M_ALARM: case PS_MSG_M_FLUSH_LOOP:
	case PS_MSG_M_RPC_DONE_RC:
		return 'C';
	case PS_MSG_Z_SCHED_FLUSH: case PS_MSG_Z_ADD_FLUSHQ: case PS_MSG_Z_LIST_EMPTY:
	case PS_MSG_Z_TRY_FLUSH_BMAP: case PS_MSG_Z_SENDING_WRITE: case PS_MSG_Z_RPC_CALLBACK:
	case PS_MSG_Z_REMOVE_FLUSHQ: case PS_MSG_Z_WAKEUP: case PS_MSG_Z_WORK_TIME:
	case PS_MSG_Z_RESCHED: case PS_MSG_Z_MARK_FREE: case PS_MSG_Z_BWC_CB_ARG:
		return 'Z';
	default:
		return 0;
	}
}

/* Returns the design's name of an event kind. */
const char *
ps_ev_kind_name(enum ps_ev_kind k)
{
	if ((unsigned)k >= PS_EV_NKINDS)
		return "?";
	return kind_names[k];
}

/* An event that knows nothing: every absent field at its "none" value. */
static const struct ps_event blank = {
	.ts_us = INT64_MIN,
	.srcline = -1,
	.level = -1,
	.req = { .xid = -1, .opc = -1 },
	.bmap = { .opcnt = -1, .dirty = -1 },
	.outstanding = -1,
	.rpc_off = -1,
	.rpc_sz = -1,
	.rpc_rc = -1,
	.rpc_bno = -1,
	.wake_reason = -1,
	.thr = -1,
	.woke = -1,
	.alarm_us = INT64_MIN,
	.biorq_expired = -1,
	.run_size = -1,
	.run_nbiorqs = -1,
};

/* Sixteen bytes of an event, as one unaligned vector load or store. */
typedef uint64_t ev_chunk __attribute__((vector_size(16), aligned(8), may_alias));
_Static_assert(sizeof(struct ps_event) % sizeof(ev_chunk) == 0,
    "ps_event_reset copies whole 16-byte chunks");

/*
 * Resets an event to "nothing known" (once per line).  A copy of the blank
 * event in 16-byte moves: gcc turns memset or a struct copy of this size
 * into "rep stos"/"rep movs", which took ~120 cycles a line here (3.8 % of
 * an ingest, perf), and would turn this loop back into one without the
 * attribute.  Unrolled, the 25 moves are 36 instructions (the all-zero
 * chunks share one register) where the loop ran 125 (callgrind).
 */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
void
ps_event_reset(struct ps_event *ev)
{
	ev_chunk *d = (ev_chunk *)(void *)ev;
	const ev_chunk *s = (const ev_chunk *)(const void *)&blank;
	size_t i;

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 32
#endif
	for (i = 0; i < sizeof(*ev) / sizeof(*d); i++)
		d[i] = s[i];
}

/* The biorq address of an era A-C `biorq=%p list_empty(%d)` message. */
int
ps_msg_biorq_addr(const struct ps_event *ev, uint64_t *addr)
{
	const struct ps_str *m = &ev->msg;
	const char *p;
	size_t n, left;
	uint64_t v = 0;
	int over = 0;

	if (ev->msg_id != PS_MSG_A_BIORQ_LIST_EMPTY || m->p == NULL ||
	    (p = ps_memfind(m->p, m->n, "biorq=0x", 8)) == NULL)
		return -1;
	p += 8;
	left = m->n - (size_t)(p - m->p);
	/* at most 63 digits, as strtoull read them; past 64 bits it saturates too */
	for (n = 0; n < left && n < 63 && isxdigit((unsigned char)p[n]); n++) {
		over |= v > UINT64_MAX >> 4;
		v = v << 4 | (uint64_t)(p[n] <= '9' ? p[n] - '0' : (p[n] | 0x20) - 'a' + 10);
	}
	if (n == 0)
		return -1;
	*addr = over ? UINT64_MAX : v;
	return 0;
}
