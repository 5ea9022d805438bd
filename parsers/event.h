/*
 * The normalised flush event: what one log line means to the flush path.
 *
 * The parser turns every line into one `struct ps_event`; the spin detector,
 * the store, `top` and the workload extractor consume only this struct, so
 * this header is the contract between the layers.  See the design's table
 * "Normalised flush events" and the spec (shared/spec/log-format.md).
 *
 * Lifetime: the `struct ps_str` slices point into the line buffer handed to
 * the parser and are valid only until the next line is parsed.  Copy what
 * you keep.
 */
#ifndef FS_PARSERS_EVENT_H
#define FS_PARSERS_EVENT_H

#include <stddef.h>
#include <stdint.h>

/* A slice of the current line (not NUL-terminated). */
struct ps_str {
	const char *p;
	size_t n;
};

/* The design's event vocabulary.  Names (ps_ev_kind_name) are the design's. */
enum ps_ev_kind {
	PS_EV_OTHER = 0,	/* any other line with a header: kept, counted */
	PS_EV_WRITE_READY,	/* a biorq becomes flushable / bmap queued for flush */
	PS_EV_EXAMINE,		/* the flush thread looks at a bmap */
	PS_EV_SCHEDULE,		/* work found on the bmap (biorq scheduled / bmap try flush in era Z) */
	PS_EV_RPC_SEND,		/* a write RPC is built and sent */
	PS_EV_RPC_DONE,		/* a write RPC reply was processed */
	PS_EV_REQUEUE,		/* era A: restore to dirty list */
	PS_EV_CLEAN,		/* the bmap leaves the flush queue */
	PS_EV_WAKE,		/* era Z: wakeup flusher: reason= */
	PS_EV_PASS,		/* era Z: work time (...),wait time (...) */
	PS_EV_NKINDS
};

/*
 * The finer message identity behind an event (which of the spec's texts the
 * line was).  Kept so that analysis can tell, e.g., `added to bmapTimeoutQ`
 * from `is clean, descheduling..` although both are PS_EV_CLEAN.
 */
enum ps_msg {
	PS_MSG_NONE = 0,
	/* WRITE_READY */
	PS_MSG_A_BIORQ_LIST_EMPTY,	/* era A msl_pages_schedflush: biorq=%p list_empty(%d) */
	PS_MSG_A_FLUSHRDY,		/* era A: BIORQ_FLUSHRDY */
	PS_MSG_Z_SCHED_FLUSH,		/* era Z: sched flush (biorq) */
	PS_MSG_Z_ADD_FLUSHQ,		/* era Z: add to msl_bmapflushq */
	PS_MSG_Z_LIST_EMPTY,		/* era Z: biorq=%p list_empty=%d */
	/* EXAMINE */
	PS_MSG_A_TRY_FLUSH_BMAP,	/* era A: bmap try flush (outstandingRpcCnt=N) */
	PS_MSG_M_CHECKING,		/* 2010-10..2011-08: checking for flush (outstandingRpcCnt=N) */
	PS_MSG_Z_FLUSHABLE,		/* 2011-08..HEAD: flushable? [(outstandingRpcCnt=N)] */
	/* SCHEDULE */
	PS_MSG_A_CONSIDER,		/* era A: biorq consider for flush (NOTICE); kind OTHER: not progress */
	PS_MSG_A_TRY_FLUSH_BIORQ,	/* era A: biorq try flush */
	PS_MSG_A_SET_INFLIGHT,		/* era A: set inflight */
	PS_MSG_M_TRY_FLUSH_BMAP,	/* 2010-10..2011-08 bmap try flush (outstandingRpcCnt=N) */
	PS_MSG_Z_TRY_FLUSH_BMAP,	/* era Z: bmap try flush */
	/* RPC_SEND / RPC_DONE */
	PS_MSG_A_RPC_OFF_SZ,		/* era A: off=%u sz=%u op=%u */
	PS_MSG_Z_SENDING_WRITE,		/* era Z: sending WRITE RPC to ... */
	PS_MSG_A_RPC_DONE,		/* era A: done (outstandingRpcCnt=N) */
	PS_MSG_Z_RPC_CALLBACK,		/* era Z: callback to write RPC ... */
	/* REQUEUE */
	PS_MSG_A_RESTORE,		/* era A: restore to dirty list */
	/* CLEAN */
	PS_MSG_A_ADDED_TIMEOQ,		/* era A: added to bmapTimeoutQ */
	PS_MSG_A_IS_CLEAN,		/* era A: is clean, descheduling.. */
	PS_MSG_A_UNSET_DIRTY,		/* era A: unset DIRTY nitems_pndg(N) */
	PS_MSG_Z_REMOVE_FLUSHQ,		/* era Z: remove from msl_bmapflushq */
	/* WAKE / PASS */
	PS_MSG_Z_WAKEUP,		/* era Z: wakeup flusher: reason=%x wake=%d */
	PS_MSG_Z_WORK_TIME,		/* era Z: work time (..),wait time (..) */
	PS_MSG_M_STALL,			/* 2010-10..: stall flush (nrpcs = N, outstandingRpcCnt=N) */
	/* Appended later (kind OTHER, but analysis may want to tell them apart). */
	PS_MSG_A_DESCHEDULING,		/* era A bmap_flush_trycoalesce: biorq descheduling (not progress) */
	PS_MSG_A_TIMEOQ_DESCHED,	/* era A msbrlsthr: descheduling from timeoq (new I/O arrived) */
	PS_MSG_Z_RESCHED,		/* era Z bmap_flush_resched: resched rc=%d (10 s backoff) */
	/*
	 * Messages found later (spec 3.5).  "M" marks the eras between A and
	 * Z (2010-09 .. 2014); the kind is given after each.
	 */
	PS_MSG_M_RPC_DONE_RC,		/* 97bf587a9..: done rc=%d (req@); RPC_DONE, rpc_rc */
	PS_MSG_M_ADD_BMAPFLUSHQ,	/* d687fd5a4..a3dd635c0: add to bmapFlushQ; WRITE_READY */
	PS_MSG_M_DATA_NOT_READY,	/* 99fa47092..: data not ready (biorq not FLUSHRDY); OTHER */
	PS_MSG_M_ALARM,			/* 97bf587a9: oldalarm=(s:ns) newalarm=(s:ns); WAKE, alarm_us */
	PS_MSG_M_WAKE_MODE,		/* 97bf587a9: mode=%x wake=%d flags=%x outstandingRpcCnt=%d; WAKE */
	PS_MSG_M_FLUSH_LOOP,		/* 97bf587a9: flush (..), rpcwait (..), waitq (..), ...; PASS */
	PS_MSG_M_COULD_NOT_FLUSH,	/* 97bf587a9: could not flush (biorq@ or bmap@); OTHER */
	PS_MSG_M_SEND_FAILURE,		/* 97bf587a9: send failure: %s (req@); OTHER */
	PS_MSG_Z_MARK_FREE,		/* HEAD bmap_free_all_locked: mark bmap free; OTHER */
	PS_MSG_FORCE_EXPIRE,		/* every era, fsync/close: force expire (biorq@); OTHER, forced */
	PS_MSG_FORCE_EXPIRE_BMAP,	/* era A..2011 bmap_biorq_expire: FORCE_EXPIRE (biorq@); OTHER, forced */
	PS_MSG_FCMH_FLUSHING,		/* flush(2): fcmh@ flushing [(mfh=%p)]; OTHER, forced */
	PS_MSG_FCMH_FSYNCING,		/* fsync(2): fcmh@ fsyncing via flush / fsyncing; OTHER, forced */
	PS_MSG_BIORQ_EXPIRED,		/* trycoalesce: biorq #%d (expired=%d)[ nfrags=%d]; OTHER, biorq_expired */
	PS_MSG_A_ARRAY_SIZE,		/* era A..2011 coalesce_size: array %p has size=%zu array len=%d; OTHER, run_size, run_nbiorqs */
	PS_MSG_Z_BWC_CB_ARG,		/* HEAD send_rpcs: bwc cb arg (%p) size=%zu nbiorqs=%d; OTHER, run_size, run_nbiorqs */
	PS_MSG_BIORQ_ARRAY_CB_ARG,	/* era A..2011 send_rpcs: biorq array cb arg (%p)[ size=%zu niovs=%d]; OTHER, run_size */
	PS_MSG_COUNT
};

/*
 * 1 if the message marks a forced flush (fsync, close, flush(2): writes
 * made to expire now).  Consumers use this instead of matching the text.
 */
int ps_msg_forced(enum ps_msg id);

/*
 * The client era a message is the mark of: 'A' (f020379d5, 2010-08), 'B'
 * (99fa47092, 2010-10), 'C' (97bf587a9, 2011-08) or 'Z' (HEAD), the letters
 * of flushscope-synth(1); 0 for a message several eras log alike.
 */
char ps_msg_era(enum ps_msg id);

/* The short name of a message id ("A_TRY_FLUSH_BMAP", ...); "?" if unknown. */
const char *ps_msg_name(enum ps_msg id);

/* Which object prefixes the line carried (bitmask in ps_event.has). */
enum {
	PS_HAS_BMAP = 1u << 0,
	PS_HAS_BIORQ = 1u << 1,
	PS_HAS_BMPCE = 1u << 2,
	PS_HAS_REQ = 1u << 3,
	PS_HAS_FCMH = 1u << 4,
	PS_HAS_LEVEL = 1u << 5,		/* header printed %L */
	PS_HAS_SYSLOG = 1u << 6		/* a syslog prefix stood before the header */
};

struct ps_event {
	enum ps_ev_kind kind;
	enum ps_msg msg_id;
	unsigned has;			/* PS_HAS_* bits */

	/* Where the line came from. */
	uint64_t src_off;		/* byte offset of the line's first byte */
	uint64_t lineno;		/* 1-based line number in its source */

	/* Header fields (absent ones are empty slices / -1). */
	int64_t ts_us;			/* microseconds since the epoch; INT64_MIN if none */
	struct ps_str thread;		/* %n, e.g. "msbflushthr" */
	struct ps_str tid_s;		/* %i or %I exactly as logged */
	uint64_t tid;			/* tid_s as a number (%i decimal, %I hex) */
	struct ps_str subsys;		/* %T */
	struct ps_str file;		/* %f or %B */
	struct ps_str func;		/* %F */
	struct ps_str host;		/* %H or %h, else the syslog prefix's host; empty if none */
	int srcline;			/* %l; -1 if absent */
	int level;			/* %L; -1 if absent */

	/* bmap@ prefix (PS_HAS_BMAP). */
	struct {
		uint64_t addr;
		uint64_t fid;		/* i: (era A hex) / fid: */
		uint32_t bno;		/* b: (hex) / bno: */
		uint32_t flags;		/* m: / flg: numeric value */
		int32_t opcnt;
		/*
		 * DIRTY (writes not yet complete), where the flags say: era A's
		 * and 2010's numeric bit 0x40, or the letter d of the 2011-2015
		 * alphabet (spec 2.1); -1 where they cannot (HEAD's letters).
		 */
		int8_t dirty;
	} bmap;

	/* biorq@ prefix (PS_HAS_BIORQ). */
	struct {
		uint64_t addr;
		uint64_t bmap_addr;	/* b= (era A) / bmap= (HEAD) */
		uint32_t off, len;
		uint32_t flags;
	} biorq;

	/* bmpce@ prefix (PS_HAS_BMPCE). */
	struct {
		uint64_t addr;
		uint32_t off;
		uint32_t flags;
	} bmpce;

	/* req@ prefix (PS_HAS_REQ). */
	struct {
		uint64_t addr;
		int64_t xid;
		int32_t opc;		/* o%d */
	} req;

	/* Message fields; -1 when the message does not carry them. */
	int64_t outstanding;		/* outstandingRpcCnt= / infl= */
	int64_t rpc_off;		/* off= of an RPC_SEND */
	int64_t rpc_sz;			/* sz= of an RPC_SEND */
	int64_t rpc_rc;			/* rc= of an RPC_DONE (era Z) */
	uint64_t rpc_fid;		/* fid= of era-Z sending WRITE RPC; 0 if none */
	int32_t rpc_bno;		/* bmap number of an RPC line; -1 if none (era Z's fid:%lu is
					 * a generation, not a bmap: the parser leaves this -1) */
	int32_t wake_reason;		/* wakeup reason bits (era Z reason=, 2011 mode=) */
	int32_t woke;			/* wake=%d of a wakeup line (1: waiters were woken); -1 */
	int64_t alarm_us;		/* 2011 newalarm=(s:ns) in microseconds; INT64_MIN if none */
	int32_t biorq_expired;		/* biorq #%d (expired=%d): the expiry flag; -1 if none */
	int64_t run_size;		/* bytes of a run about to be sent (size=%zu); -1 if none */
	/*
	 * HEAD's write-RPC context (bwc): the %p of `bwc cb arg (%p)`, of
	 * `callback to write RPC bwc=%p`, and (given by the source) of the
	 * RPC_SEND that follows a `bwc cb arg` on its thread; 0 if none.
	 * One run is one RPC, so it pairs a send with its completion.
	 */
	uint64_t bwc_addr;
	int32_t run_nbiorqs;		/* biorqs in that run (array len= / nbiorqs=); -1 if none */

	struct ps_str msg;		/* the message text after all prefixes */

	/*
	 * The bmap the line is about, as its source attributed it
	 * (parsers/source.h): its bmap@ prefix, its biorq's bmap address, the
	 * fid:bno of an era-Z RPC line, or the bmap of the same thread's
	 * latest EXAMINE.  bm_known = 0: none could be found.
	 */
	int bm_known;
	uint64_t bm_fid;
	uint32_t bm_bno;

	/*
	 * The line's thread as its stream numbers them: 0, 1, ... in order of
	 * first appearance of each (name, tid as logged); -1 if the line names
	 * no thread (or past PS_THREADS_MAX of them).
	 */
	int32_t thr;

	/*
	 * 1 on the line that starts a forced flush (fsync, close, flush(2)) as
	 * the source judged it: a forced marker (ps_msg_forced), or an era-A
	 * biorq line with FORCE_EXPIRE (0x80), once per biorq.
	 */
	uint8_t forced;
};

#define PS_THREADS_MAX 65536	/* threads a stream numbers */

/* Returns the design's name of an event kind ("WRITE_READY", ...). */
const char *ps_ev_kind_name(enum ps_ev_kind k);

/* Resets an event to "nothing known" (all numeric fields -1 / 0). */
void ps_event_reset(struct ps_event *ev);

/*
 * The biorq address an era A-C `biorq=%p list_empty(%d)` message names
 * (its biorq is in the text, not a biorq@ prefix): 0 with *addr set, or
 * -1 if the message names none.
 */
int ps_msg_biorq_addr(const struct ps_event *ev, uint64_t *addr);

#endif
