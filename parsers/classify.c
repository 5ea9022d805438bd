/*
 * Message -> event kind (spec sections 3.2-3.5, design "Normalised flush
 * events").  Keyed on the message text after the object prefixes and on
 * the function name (never on source line numbers):
 *
 *  - only client flush-path functions qualify (see client_func(): e.g.
 *    bmap_flush, msl_pages_schedflush, msflushthr_main, slash2fuse_flush);
 *    a header without %F qualifies on the text alone;
 *  - lines of MDS / IOS threads (slm*, sli*) are always OTHER.
 *
 * Messages that carry no progress keep kind OTHER with their own msg id
 * (event.h lists the kind of each).
 *
 * Era hints: a bmap-level "try flush (outstandingRpcCnt=N)" is the era-A
 * EXAMINE, unless this source already showed "checking for flush" or
 * "flushable?" (2010-10 and later), where it is a SCHEDULE.
 */
#include "parsers/internal.h"

#include <string.h>

/* 1 if the message starts with lit. */
#define STARTS(m, lit) ((m).n >= sizeof(lit) - 1 && \
	memcmp((m).p, lit, sizeof(lit) - 1) == 0)

/* 1 if s[0..n) starts with the NUL-terminated p. */
static inline int
has_prefix(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);

	return n >= k && memcmp(s, p, k) == 0;
}

/* Finds "key" in the message and parses the signed decimal after it. */
static int64_t
num_after(const struct ps_str *m, const char *key, int base16)
{
	size_t kn = strlen(key), i;
	const char *p;
	int64_t v = 0;
	int neg = 0, any = 0;

	if (m->n < kn)
		return -1;
	p = ps_memfind(m->p, m->n, key, kn);
	if (p == NULL)
		return -1;
	i = (size_t)(p - m->p) + kn;
	if (base16 && i + 1 < m->n && m->p[i] == '0' && (m->p[i + 1] | 0x20) == 'x')
		i += 2;
	if (i < m->n && m->p[i] == '-') {
		neg = 1;
		i++;
	}
	for (; i < m->n; i++) {
		char c = m->p[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			break;
		/* Saturates at INT64_MAX (a corrupt line can hold any digits). */
		v = v > (INT64_MAX - d) / (base16 ? 16 : 10) ? INT64_MAX :
		    v * (base16 ? 16 : 10) + d;
		any = 1;
	}
	if (!any)
		return -1;
	return neg ? -v : v;
}

/* The 0x-hex pointer after "key" in the message; 0 if none. */
static uint64_t
addr_after(const struct ps_str *m, const char *key)
{
	int64_t v = num_after(m, key, 1);

	return v > 0 ? (uint64_t)v : 0;
}

/* The decimal right after the literal prefix lit of m (known to match); -1 if none. */
static int64_t
num_at(const struct ps_str *m, size_t at)
{
	size_t used, sign;
	int64_t v;

	if (at > m->n)
		return -1;
	sign = at < m->n && m->p[at] == '-';
	v = ps_dec(m->p + at, m->n - at, &used);
	return used > sign ? v : -1;	/* a digit after the sign */
}

/*
 * 1 if the function may log client flush-path messages: bmap_*, bmpc_*
 * (HEAD bmpc_expire_biorqs), msl_*, ms* (msflushthr_main, mslfsop_*) and
 * the 2010 FUSE entry points slash2fuse_* (fsync and flush).
 */
static int
client_func(const struct ps_str *f)
{
	if (f->n == 0)
		return 1;
	return has_prefix(f->p, f->n, "bmap_") || has_prefix(f->p, f->n, "msl_") ||
	    (f->n >= 2 && f->p[0] == 'm' && f->p[1] == 's') ||
	    has_prefix(f->p, f->n, "bmpc_") || has_prefix(f->p, f->n, "slash2fuse_");
}

/*
 * "KEY(sec:nsec)" in the message as microseconds (nsec printed with or
 * without zero padding); INT64_MIN if absent or out of range.
 */
static int64_t
timespec_after(const struct ps_str *m, const char *key)
{
	size_t kn = strlen(key), used, i;
	const char *p = ps_memfind(m->p, m->n, key, kn);
	int64_t sec, nsec;

	if (p == NULL)
		return INT64_MIN;
	i = (size_t)(p - m->p) + kn;
	sec = ps_dec(m->p + i, m->n - i, &used);
	if (used == 0 || m->p[i] == '-' || i + used >= m->n || m->p[i + used] != ':')
		return INT64_MIN;
	i += used + 1;
	nsec = ps_dec(m->p + i, m->n - i, &used);
	if (used == 0 || m->p[i] == '-' || nsec > 999999999 ||
	    sec > (INT64_MAX - 999999) / 1000000)
		return INT64_MIN;
	return sec * 1000000 + nsec / 1000;
}

/* v as an int32_t field: -1 (absent) when it does not fit. */
static inline int32_t
i32(int64_t v)
{
	return v < INT32_MIN || v > INT32_MAX ? -1 : (int32_t)v;
}

/* 1 if the message is exactly lit or lit followed by a space. */
static int
word_is(const struct ps_str *m, const char *lit)
{
	size_t k = strlen(lit);

	return m->n >= k && memcmp(m->p, lit, k) == 0 && (m->n == k || m->p[k] == ' ');
}

/* 1 if the thread is an MDS or IOS daemon thread. */
static int
daemon_thread(const struct ps_str *t)
{
	return has_prefix(t->p, t->n, "slm") || has_prefix(t->p, t->n, "sli");
}

/* Sets kind and msg id. */
static inline void
set(struct ps_event *ev, enum ps_ev_kind k, enum ps_msg id)
{
	ev->kind = k;
	ev->msg_id = id;
}

/*
 * Era-Z "sending WRITE RPC to iosid=%#x fid=%#018lx:%lu off=%u sz=%u ios=%u
 * infl=%d".  The fid is SLPRI_FG, fid:generation (the spec's example sends
 * for bmap 1 with `:0`): no bmap number, so rpc_bno stays -1.
 */
static void
sending_write(struct ps_event *ev)
{
	const struct ps_str *m = &ev->msg;
	const char *p = ps_memfind(m->p, m->n, " fid=", 5);

	ev->rpc_off = num_after(m, " off=", 0);
	ev->rpc_sz = num_after(m, " sz=", 0);
	ev->outstanding = num_after(m, " infl=", 0);
	if (p != NULL) {
		struct ps_str rest = { p + 5, m->n - (size_t)(p + 5 - m->p) };
		int64_t fid = num_after(&rest, "", 1);

		if (fid >= 0)
			ev->rpc_fid = (uint64_t)fid;
	}
}

/*
 * "try flush": era A's examination of a bmap (with its outstanding count
 * and no `checking for flush` seen), 2010-10's and 2011-08's bmap flush
 * after the check, HEAD's (no count); on a biorq line, era A's per-biorq
 * consideration, which is not progress.
 */
static void
classify_try_flush(struct ps_class_state *st, struct ps_event *ev)
{
	const struct ps_str m = ev->msg;

	if (!STARTS(m, "try flush") ||
	    (m.n > 9 && m.p[9] != ' '))
		return;
	if (!(ev->has & PS_HAS_BMAP)) {
		/*
		 * Era A bmap_flush:706 logs this for every biorq it
		 * considers, also those trycoalesce then deschedules:
		 * not progress (spec 3.5).  The id keeps the biorq.
		 */
		if (ev->has & PS_HAS_BIORQ)
			set(ev, PS_EV_OTHER, PS_MSG_A_TRY_FLUSH_BIORQ);
		return;
	}
	if (STARTS(m, "try flush (outstandingRpcCnt="))
		ev->outstanding = num_at(&m,
		    sizeof("try flush (outstandingRpcCnt=") - 1);
	else
		ev->outstanding = num_after(&m, "(outstandingRpcCnt=", 0);
	if (ev->outstanding < 0)
		set(ev, PS_EV_SCHEDULE, PS_MSG_Z_TRY_FLUSH_BMAP);
	else if (st->seen_checking)
		set(ev, PS_EV_SCHEDULE, PS_MSG_M_TRY_FLUSH_BMAP);
	else
		set(ev, PS_EV_EXAMINE, PS_MSG_A_TRY_FLUSH_BMAP);
}

/* Messages starting with 'b': the biorq list and expiry lines, run sizes. */
static void
classify_b(struct ps_event *ev)
{
	const struct ps_str m = ev->msg;

	if (STARTS(m, "biorq=0x") || STARTS(m, "biorq=(nil)")) {
		const char *p = memchr(m.p, ' ', m.n);
		struct ps_str r;

		if (p == NULL)
			return;
		r = (struct ps_str){ p + 1, m.n - (size_t)(p + 1 - m.p) };
		if (STARTS(r, "list_empty(")) {
			set(ev, PS_EV_WRITE_READY, PS_MSG_A_BIORQ_LIST_EMPTY);
		} else if (STARTS(r, "list_empty=")) {
			set(ev, PS_EV_WRITE_READY, PS_MSG_Z_LIST_EMPTY);
		}
	} else if (STARTS(m, "biorq #")) {
		int64_t x = num_after(&m, "(expired=", 0);

		set(ev, PS_EV_OTHER, PS_MSG_BIORQ_EXPIRED);
		ev->biorq_expired = x < 0 ? -1 : x > 0;
	} else if (STARTS(m, "biorq array cb arg (")) {
		set(ev, PS_EV_OTHER, PS_MSG_BIORQ_ARRAY_CB_ARG);
		ev->run_size = num_after(&m, ") size=", 0);
	} else if (STARTS(m, "bwc cb arg (")) {
		set(ev, PS_EV_OTHER, PS_MSG_Z_BWC_CB_ARG);
		ev->run_size = num_after(&m, ") size=", 0);
		ev->run_nbiorqs = i32(num_after(&m, " nbiorqs=", 0));
		ev->bwc_addr = addr_after(&m, "bwc cb arg (");
	}
}

/* Classifies ev (header and prefixes already decoded). */
void
ps_classify(struct ps_class_state *st, struct ps_event *ev)
{
	const struct ps_str m = ev->msg;

	ev->kind = PS_EV_OTHER;
	ev->msg_id = PS_MSG_NONE;
	if (m.n < 3 || !client_func(&ev->func) || daemon_thread(&ev->thread))
		return;
	switch (m.p[0]) {
	case 'a':
		if (STARTS(m, "added to bmapTimeoutQ"))
			set(ev, PS_EV_CLEAN, PS_MSG_A_ADDED_TIMEOQ);
		else if (STARTS(m, "add to msl_bmapflushq"))
			set(ev, PS_EV_WRITE_READY, PS_MSG_Z_ADD_FLUSHQ);
		else if (STARTS(m, "add to bmapFlushQ"))
			set(ev, PS_EV_WRITE_READY, PS_MSG_M_ADD_BMAPFLUSHQ);
		else if (STARTS(m, "array ") && ps_memfind(m.p, m.n, " has size=", 10) != NULL) {
			set(ev, PS_EV_OTHER, PS_MSG_A_ARRAY_SIZE);
			ev->run_size = num_after(&m, " has size=", 0);
			ev->run_nbiorqs = i32(num_after(&m, " array len=", 0));
		}
		break;
	case 'b':
		classify_b(ev);
		break;
	case 'B':
		if (STARTS(m, "BIORQ_FLUSHRDY"))
			set(ev, PS_EV_WRITE_READY, PS_MSG_A_FLUSHRDY);
		break;
	case 'c':
		if (STARTS(m, "checking for flush")) {
			set(ev, PS_EV_EXAMINE, PS_MSG_M_CHECKING);
			ev->outstanding = num_after(&m, "outstandingRpcCnt=", 0);
			st->seen_checking = 1;
		} else if (STARTS(m, "consider for flush")) {
			set(ev, PS_EV_OTHER, PS_MSG_A_CONSIDER);
		} else if (STARTS(m, "callback to write RPC")) {
			set(ev, PS_EV_RPC_DONE, PS_MSG_Z_RPC_CALLBACK);
			ev->outstanding = num_after(&m, " infl=", 0);
			ev->bwc_addr = addr_after(&m, " bwc=");
			ev->rpc_rc = num_after(&m, " rc=", 0);
		} else if (STARTS(m, "could not flush")) {
			set(ev, PS_EV_OTHER, PS_MSG_M_COULD_NOT_FLUSH);
		}
		break;
	case 'd':
		if (STARTS(m, "done (outstandingRpcCnt=")) {
			set(ev, PS_EV_RPC_DONE, PS_MSG_A_RPC_DONE);
			ev->outstanding = num_at(&m, sizeof("done (outstandingRpcCnt=") - 1);
		} else if (STARTS(m, "descheduling from timeoq")) {
			set(ev, PS_EV_OTHER, PS_MSG_A_TIMEOQ_DESCHED);
		} else if (STARTS(m, "descheduling")) {
			set(ev, PS_EV_OTHER, PS_MSG_A_DESCHEDULING);
		} else if (STARTS(m, "done rc=")) {
			/* 97bf587a9 (2011-08): the completion, replacing "done (..)". */
			set(ev, PS_EV_RPC_DONE, PS_MSG_M_RPC_DONE_RC);
			ev->rpc_rc = num_at(&m, sizeof("done rc=") - 1);
		} else if (STARTS(m, "data not ready")) {
			set(ev, PS_EV_OTHER, PS_MSG_M_DATA_NOT_READY);
		}
		break;
	case 'f':
		if (STARTS(m, "flushable?")) {
			set(ev, PS_EV_EXAMINE, PS_MSG_Z_FLUSHABLE);
			ev->outstanding = num_after(&m, "outstandingRpcCnt=", 0);
			st->seen_checking = 1;
		} else if (STARTS(m, "flush (") &&
		    ps_memfind(m.p, m.n, "), rpcwait (", 12) != NULL) {
			/* 97bf587a9: the end of one flush-thread pass. */
			set(ev, PS_EV_PASS, PS_MSG_M_FLUSH_LOOP);
		} else if (word_is(&m, "force expire")) {
			set(ev, PS_EV_OTHER, PS_MSG_FORCE_EXPIRE);
		} else if (word_is(&m, "flushing")) {
			set(ev, PS_EV_OTHER, PS_MSG_FCMH_FLUSHING);
		} else if (word_is(&m, "fsyncing")) {
			set(ev, PS_EV_OTHER, PS_MSG_FCMH_FSYNCING);
		}
		break;
	case 'F':
		if (word_is(&m, "FORCE_EXPIRE"))
			set(ev, PS_EV_OTHER, PS_MSG_FORCE_EXPIRE_BMAP);
		break;
	case 'i':
		if (STARTS(m, "is clean, descheduling"))
			set(ev, PS_EV_CLEAN, PS_MSG_A_IS_CLEAN);
		break;
	case 'm':
		if (STARTS(m, "mark bmap free")) {
			set(ev, PS_EV_OTHER, PS_MSG_Z_MARK_FREE);
		} else if (STARTS(m, "mode=") && ps_memfind(m.p, m.n, " wake=", 6) != NULL) {
			/* 97bf587a9 bmap_flushq_wake: mode = the reason bits. */
			int64_t r = num_after(&m, "mode=", 1);

			set(ev, PS_EV_WAKE, PS_MSG_M_WAKE_MODE);
			ev->wake_reason = i32(r);
			ev->woke = i32(num_after(&m, " wake=", 0));
			ev->outstanding = num_after(&m, "outstandingRpcCnt=", 0);
		}
		break;
	case 'o':
		if (STARTS(m, "oldalarm=(")) {
			/* 97bf587a9: the flush thread's alarm moved earlier. */
			set(ev, PS_EV_WAKE, PS_MSG_M_ALARM);
			ev->alarm_us = timespec_after(&m, "newalarm=(");
		} else if (STARTS(m, "off=") && (ev->has & PS_HAS_REQ)) {
			set(ev, PS_EV_RPC_SEND, PS_MSG_A_RPC_OFF_SZ);
			ev->rpc_off = num_after(&m, "off=", 0);
			ev->rpc_sz = num_after(&m, " sz=", 0);
		}
		break;
	case 'r':
		if (STARTS(m, "restore to dirty list"))
			set(ev, PS_EV_REQUEUE, PS_MSG_A_RESTORE);
		else if (STARTS(m, "remove from msl_bmapflushq"))
			set(ev, PS_EV_CLEAN, PS_MSG_Z_REMOVE_FLUSHQ);
		else if (STARTS(m, "resched rc="))
			set(ev, PS_EV_OTHER, PS_MSG_Z_RESCHED);
		break;
	case 's':
		if (STARTS(m, "set inflight"))
			set(ev, PS_EV_SCHEDULE, PS_MSG_A_SET_INFLIGHT);
		else if (STARTS(m, "sched flush"))
			set(ev, PS_EV_WRITE_READY, PS_MSG_Z_SCHED_FLUSH);
		else if (STARTS(m, "sending WRITE RPC to")) {
			set(ev, PS_EV_RPC_SEND, PS_MSG_Z_SENDING_WRITE);
			sending_write(ev);
		} else if (STARTS(m, "stall flush")) {
			set(ev, PS_EV_OTHER, PS_MSG_M_STALL);
			ev->outstanding = num_after(&m, "outstandingRpcCnt=", 0);
		} else if (STARTS(m, "send failure")) {
			set(ev, PS_EV_OTHER, PS_MSG_M_SEND_FAILURE);
		}
		break;
	case 't':
		classify_try_flush(st, ev);
		break;
	case 'u':
		if (STARTS(m, "unset DIRTY"))
			set(ev, PS_EV_CLEAN, PS_MSG_A_UNSET_DIRTY);
		break;
	case 'w':
		if (STARTS(m, "wakeup flusher: reason=")) {
			/* "... wake=%d" (HEAD), "... wake=%d." (7e622bed3). */
			int64_t r = num_after(&m, "reason=", 1);

			set(ev, PS_EV_WAKE, PS_MSG_Z_WAKEUP);
			ev->wake_reason = i32(r);
			ev->woke = i32(num_after(&m, " wake=", 0));
		} else if (STARTS(m, "work time (")) {
			set(ev, PS_EV_PASS, PS_MSG_Z_WORK_TIME);
		}
		break;
	default:
		break;
	}
}
