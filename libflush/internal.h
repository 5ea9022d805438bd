/*
 * libflush internals: the engine core shared by every module of libflush,
 * and the policy interface (struct fl_policy_ops).  Not installed; callers
 * use flush.h only.
 *
 * Modules
 *   engine.c    public API, inputs, completions, the run
 *   bmap.c      bmap table, queues, the deadline heap, unsent-biorq arrays,
 *               in-flight runs and their pages
 *   coalesce.c  the run cutters (the three historical trycoalesce rules),
 *               the RPC splitter, batches, windows and credits, sending
 *   thread.c    wait queues and the two clock drivers (virtual, real)
 *   psclog.c    the psclog writer (eras A, B, C, Z)
 *   policy.c    the policy table, defaults, budgets, tunables by name
 *   pol_*.c     one policy each; the core never names one
 *
 * Locking: on the real clock every function here runs with e->mu held; on
 * the virtual clock there is one thread.  Nothing here sleeps.
 */
#ifndef FS_LIBFLUSH_INTERNAL_H
#define FS_LIBFLUSH_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "libflush/flush.h"

#define FL_MAX_THREADS	64
#define FL_THR_BIT(k)	((uint64_t)1 << (k))	/* flush thread k in a per-thread mask */
#define FL_MAX_IOS	256
#define FL_NQUEUES	3		/* policy-defined bmap queues */

/* Biorq flags (era-A letters r w f l s i d x D R, plus private bits). */
#define FLB_WRITE	0x2
#define FLB_SCHED	0x10
#define FLB_INFL	0x20
#define FLB_FORCE	0x80		/* FORCE_EXPIRE (A-C) / EXPIRE (Z) */
#define FLB_FLUSHRDY	0x200
#define FLB_READY_AT_ARR 0x10000	/* ready time = actual arrival (not logged) */
#define FLB_BLOCKED	0x20000		/* writer blocked on a pinned page (not yet ready) */
#define FLB_SKIP	0x40000		/* scratch: not eligible in this examination */

struct fl_batch;
struct fl_thr;

/*
 * The limit's reference runs of one bmap (bound.c), also kept online by
 * deadline, which wakes by the limit's deadlines: the open runs (never
 * overlapping) by start, and a FIFO of run ids by age.
 */
struct fl_refrun {
	uint32_t start, end;
	uint64_t expiry;	/* earliest max-age deadline of its writes */
	int alive;
};

struct fl_refruns {
	struct fl_refrun *run;
	size_t nrun, caprun;
	size_t *ord;		/* live run ids, by start */
	size_t nord, capord;
	size_t head;		/* FIFO: run ids head..nrun-1, in creation order */
};

/*
 * A write [off, off+len) ready at t with max-age deadline dl joins s's
 * runs as the limit forms them (runs of `full` bytes); 1 if it completes
 * a full run, 0 if not, -1 when out of memory.
 */
int fl_ref_write(struct fl_refruns *s, uint64_t t, uint32_t off, uint32_t len, uint64_t dl,
    uint32_t full);

/* A forced flush of the bmap: its open runs were sent. */
void fl_ref_force(struct fl_refruns *s);

/* Frees s's arrays (s may be reused). */
void fl_ref_free(struct fl_refruns *s);

/* One write request (the input record doubles as the biorq). */
struct fl_biorq {
	uint64_t id;		/* input order among writes */
	uint64_t at, ready;	/* arrival, creation (its age counts from here) */
	uint64_t deadline;	/* when it expires (policy rule, fixed at arrival) */
	uint64_t due;		/* when it must go (planner): deadline, or earlier by policy */
	uint64_t issue;		/* time its first RPC was issued */
	uint32_t off, len;
	uint32_t flags;
	struct fl_bmap *b;
	struct fl_batch *batch;
};

/*
 * A run sent as one or more RPCs (2010: a biorq array; HEAD: a bwc).  Its
 * biorqs' union is the interval [start, end); cuts[i] is the end offset of
 * its i-th RPC, fixed by the splitter when the run is made.
 */
struct fl_batch {
	uint64_t id;
	struct fl_bmap *b;
	struct fl_biorq **bq;
	size_t nbq;
	uint32_t start, end;
	uint32_t *cuts;
	size_t ncuts, sent;	/* RPCs in all, RPCs issued */
	unsigned nleft;		/* RPCs issued and not yet completed */
	unsigned ios;
	int forced, expired, early;
	struct fl_batch *bnext, *bprev;	/* the bmap's list of runs in flight */
};

/* One RPC in flight. */
struct fl_rpc {
	struct fl_rpc_info info;
	struct fl_batch *batch;
	int credit;		/* sent on a reserved credit */
};

/* A wait queue: threads waiting on it, oldest first.  Wakes with no waiter are lost. */
struct fl_waitq {
	struct fl_thr *head, *tail;
	unsigned n;
};

/* One I/O server's window: in flight plus reserved credits at most limit. */
struct fl_win {
	unsigned limit, inflight, credits;
	uint64_t full_since;
	struct fl_waitq credit_wq;	/* threads waiting for a credit */
};

struct fl_bmap {
	uint64_t fid;
	uint32_t bno;
	size_t idx;
	uint64_t addr;
	unsigned ios;
	/*
	 * unsent FLUSHRDY biorqs: un[0, nsorted) in the policy's order, then
	 * the later arrivals not yet merged (fl_un_sort merges them)
	 */
	struct fl_biorq **un;
	size_t nun, capun, nsorted;
	/* writes blocked on pinned pages (policies with pin_writes), arrival order */
	struct fl_biorq **blk;
	size_t nblk, capblk;
	struct fl_batch *runs;		/* runs in flight (a partial one first) */
	unsigned nruns;
	struct fl_batch *partial;	/* a run with RPCs still to issue (hard windows) */
	size_t ninfl;			/* biorqs in flight */
	uint64_t npending;		/* writes not completed (pndgwr): unsent, blocked, in flight */
	int dirty;			/* BMAP_DIRTY: npending > 0 since the last `unset DIRTY` */
	unsigned pflags;		/* policy-private bits (FLUSHPROC, SCHED, ...) */
	struct fl_refruns ref;		/* the limit's runs (deadline) */
	/* plan cache (deadline's planner): answer at pc_now for state generation gen */
	uint64_t gen, pc_gen, pc_now, pc_next;
	size_t pc_ns;
	/* queue membership */
	int q;				/* 0 none, else queue index + 1 */
	struct fl_bmap *qprev, *qnext;
	size_t hidx;			/* deadline heap slot, or SIZE_MAX */
	uint64_t hkey;
	/*
	 * The examinations in progress, one per flush thread k at most (bit k
	 * of the masks, exam_t[k]): HEAD's threads examine a bmap while
	 * another holds it collected, so each keeps its own.
	 */
	int in_pass;
	uint64_t sent;			/* an RPC was issued for it in k's examination */
	uint64_t sched;			/* k's examination found flushable work (try flush, B-Z) */
	uint64_t *exam_t;		/* when k's began: tun.threads entries */
	struct fl_bmap_stats st;
	struct fl_bmap *hnext;		/* hash chain */
};

struct fl_list {
	struct fl_bmap *head, *tail;
	size_t n;
};

/* Thread states. */
enum fl_tstate {
	FLT_RUN = 0,		/* running (or busy until its end-of-busy event) */
	FLT_SLEEP,		/* fixed sleep nobody can cut short (usleep) */
	FLT_WAIT,		/* on a wait queue, optionally timed */
	FLT_WOKEN		/* virtual: woken, its run is scheduled */
};

/* A cut run: bqs[first, last) of a thread's collected biorqs. */
struct fl_run {
	size_t first, last;
	int expired, large;
};

/* Growable list of bmaps or biorqs a thread keeps across a suspended pass. */
struct fl_vec {
	void **v;
	size_t n, cap, pos;
};

/* One flush thread. */
struct fl_thr {
	unsigned k;
	enum fl_tstate state;
	struct fl_waitq *wq;		/* FLT_WAIT: the queue it waits on (NULL: untimed sleep) */
	struct fl_thr *wnext, *wprev;
	uint64_t until;			/* wait deadline (FL_TIME_NEVER) */
	uint64_t token;			/* virtual: stale timer events are ignored */
	uint64_t slept_at;		/* when the current wait began */
	uint64_t woke_at;		/* when the current run began */
	uint64_t rpcs_at_wake;
	int woke;			/* the current run began with a wake-up */
	unsigned lines;			/* lines logged since the wake-up (line cost) */
	unsigned spins;			/* runs at one instant without a wait (guard) */
	/* policy state: a phase and a suspended pass */
	int phase;
	struct fl_vec col;		/* collected bmaps */
	struct fl_vec bqs;		/* scratch: collected biorqs of one bmap */
	size_t cpos;			/* position within bqs */
	size_t rel;			/* collected bmaps released so far (head) */
	int started;			/* the current collected bmap's biorqs are in bqs */
	int has_run;			/* run holds a cut run not yet sent (blocked) */
	struct fl_batch *pba;		/* a run with RPCs still to issue (blocked) */
	struct fl_run run;
	uint64_t m0, m1, m2, m3;	/* policy scratch: phase start times, counters */
	/* real clock */
	pthread_t tid;
	pthread_cond_t cv;
	int tfd, efd;			/* rearm_timer: its timerfd and eventfd (-1: none) */
	int woken;
	uint64_t sig_at;
	struct fl_engine *e;
};

/* What a flush thread does next (fl_policy_ops.plan). */
enum fl_wkind {
	FLW_RUN = 0,		/* run again now (no wake-up) */
	FLW_SLEEP,		/* sleep until `until`; nothing can cut it short */
	FLW_WAIT		/* wait on wq until a wake or `until` (FL_TIME_NEVER: untimed) */
};

struct fl_wait {
	enum fl_wkind kind;
	struct fl_waitq *wq;
	uint64_t until;
};

/* Why a flush thread runs. */
enum fl_why {
	FL_WHY_NONE = 0,	/* continuing (FLW_RUN) */
	FL_WHY_START,		/* the thread starts */
	FL_WHY_TIMEOUT,		/* its sleep or timed wait ended */
	FL_WHY_SIGNAL		/* it was woken */
};

/* The flush thread's view while it works: the engine, itself, its clock. */
struct fl_ctx {
	struct fl_engine *e;
	struct fl_thr *t;
	uint64_t now;		/* advances with modelled costs (virtual clock) */
};

enum fl_in_kind { FLI_WRITE = 0, FLI_FORCE, FLI_MARK };

struct fl_input {
	enum fl_in_kind kind;
	uint64_t at;
	uint64_t seq;
	uint64_t fid;
	uint32_t bno;
	struct fl_biorq bq;	/* FLI_WRITE */
};

/* Virtual-clock event kinds, in tie order at one instant. */
enum fl_vkind { FLV_DONE = 0, FLV_TIMER, FLV_WAKE, FLV_BUSY };

struct fl_vev {
	uint64_t t;
	uint64_t seq;
	enum fl_vkind kind;
	enum fl_why why;	/* FLV_WAKE */
	unsigned k;
	uint64_t token;
	struct fl_rpc *rpc;	/* FLV_DONE */
	uint64_t arg;		/* FLV_TIMER */
};

/* A policy timer (real clock: run by the injector thread). */
struct fl_timer {
	uint64_t t, seq, arg;
};

/* Biorq orders of the unsent array. */
enum fl_order {
	FL_ORD_OFF_ID = 0,	/* offset, then arrival */
	FL_ORD_OFF_LONGER,	/* offset, longer first, then arrival (2010: bf:361-375, msi:72-86) */
	FL_ORD_OFF_SHORTER	/* offset, shorter first, then arrival (HEAD tree, pgc.h:230-244) */
};

/*
 * The policy interface.  Every policy is one table; the core calls it at
 * these points and otherwise knows nothing about it.
 */
struct fl_policy_ops {
	struct fl_policy_info info;
	enum fl_order order;
	int second_cap;		/* a deadline is capped at the next whole wall-clock second */
	int pin_writes;		/* a write touching a page in flight waits at the writer */
	int iov_per_page;	/* one iovec per page (HEAD), not per (biorq, page) segment */
	/*
	 * Its flush threads wait in poll(2) on a timerfd and an eventfd (real
	 * clock), so that another thread can bring a timed wait forward
	 * without waking the flush thread (fl_rearm); on the virtual clock the
	 * same, modelled.
	 */
	int rearm_timer;
	void (*defaults)(struct fl_tunables *t);
	int (*start)(struct fl_engine *e);			/* private state; -1 on ENOMEM */
	void (*stop)(struct fl_engine *e);
	/* a write became flushable on b (already in b->un); was_dirty: b was dirty before */
	void (*write)(struct fl_engine *e, struct fl_bmap *b, struct fl_biorq *q, int was_dirty,
	    uint64_t now);
	/* fsync/close of bmap bno of fid (FL_BMAP_ALL: every bmap) */
	void (*force)(struct fl_engine *e, uint64_t fid, uint32_t bno, uint64_t now);
	/* an RPC of run ba completed; done: the whole run; b->npending may be 0 */
	void (*complete)(struct fl_engine *e, struct fl_batch *ba, int done, uint64_t now);
	/* a policy timer fired (fl_timer_add) */
	void (*timer)(struct fl_engine *e, uint64_t arg, uint64_t now);
	/* flush thread work after a wake-up (or FL_WHY_NONE: continuing) */
	void (*run)(struct fl_ctx *x, enum fl_why why);
	/* what the thread does next, decided when its work is over */
	struct fl_wait (*plan)(struct fl_ctx *x);
	/*
	 * Idle fast-forward (optional): with no bmap queued, no write pending
	 * and no RPC out, the time from one wake-up of thread k to its next,
	 * if it is periodic and changes nothing but counters; 0 otherwise.
	 * idle_skip accounts n such wake-ups.
	 */
	uint64_t (*idle_period)(struct fl_engine *e, struct fl_thr *t);
	void (*idle_skip)(struct fl_engine *e, struct fl_thr *t, uint64_t n);
};

extern const struct fl_policy_ops fl_pol_legacy, fl_pol_2010_10, fl_pol_2011_08, fl_pol_head,
    fl_pol_pendq, fl_pol_deadline;

/* The policy table (policy.c). */
const struct fl_policy_ops *fl_ops(enum fl_policy p);

struct fl_engine {
	struct fl_config c;
	const struct fl_policy_ops *ops;
	void *priv;			/* the policy's state */
	enum fl_era era;		/* lines counted (and written, if logging) in this era */
	int logging;
	uint64_t epoch_ns;		/* wall clock of t = 0 */
	/* inputs */
	struct fl_input *in;
	size_t nin, capin, next_in;
	uint64_t nwrites;
	/* bmaps */
	struct fl_bmap **bm;
	size_t nbm, capbm;
	struct fl_bmap **hash;
	size_t hsize;
	/* queues */
	struct fl_list q[FL_NQUEUES];
	struct fl_bmap **dh;		/* deadline heap */
	size_t ndh, capdh;
	/* RPCs and windows */
	struct fl_rpc **rh;		/* real clock: completion-time heap */
	size_t nrh, caprh;
	unsigned outstanding;		/* all I/O servers */
	struct fl_win *win;
	unsigned nios;
	uint64_t xid, batch_id;
	uint64_t nrpcs_issued;
	uint64_t rng;
	uint64_t pending_writes;	/* written and not yet completed (blocked included) */
	uint64_t unsent;		/* of which not yet sent */
	uint64_t last_progress;
	/* threads */
	struct fl_thr thr[FL_MAX_THREADS];
	struct fl_waitq wq[2];		/* the policy's wait queues */
	int stop;
	int ran;
	int failed;
	char failmsg[256];
	/* time */
	int real;
	uint64_t vnow;
	uint64_t rstart;		/* CLOCK_MONOTONIC ns at run start */
	/* virtual events */
	struct fl_vev *vh;
	size_t nvh, capvh;
	uint64_t vseq;
	/* policy timers (real clock; virtual ones are events) */
	struct fl_timer *tm;
	size_t ntm, captm;
	uint64_t tseq;
	/* real clock sync */
	pthread_mutex_t mu;
	pthread_cond_t ccv, icv;
	/* latency samples */
	uint64_t *lat;
	size_t nlat, caplat;
	uint64_t *rlate;
	size_t nrlate;
	uint64_t *wlat;			/* real: signal -> run latencies */
	size_t nwlat, capwlat;
	uint64_t last_log_us;
	/*
	 * Virtual clock: a flush thread's lines carry the times of its
	 * modelled pass, ahead of the engine's clock, so lines are written
	 * into lf and kept in a heap by time until the clock passes them.
	 */
	FILE *lf;
	char *lbuf;
	size_t lsize;
	int lopen;			/* a line is being written into lf */
	uint64_t lt;			/* its time */
	struct fl_lline *lh;
	size_t nlh, caplh;
	uint64_t lseq;
	struct fl_stats st;
};

/* A buffered log line. */
struct fl_lline {
	uint64_t t, seq;
	char *s;
	size_t n;
};

/* ---- pol_legacy.c: the 2010 pass, shared with pendq ---- */

/*
 * One f020379d5 pass (bf:611-775).  park (may be NULL) is asked about each
 * kept bmap before it is restored; it returns 1 if it took the bmap.
 */
void fl_legacy_pass(struct fl_ctx *x, int (*park)(struct fl_ctx *x, struct fl_bmap *b));

/* The 2010 thread's turn (bf:985): a pass with park unless the window is full. */
void fl_legacy_run(struct fl_ctx *x, enum fl_why why,
    int (*park)(struct fl_ctx *x, struct fl_bmap *b));

/* The end of the 2010 usleep begun at x->now (plus overshoot and sync_pass_ns, virtual). */
uint64_t fl_legacy_wake(const struct fl_ctx *x);

/* usleep(2048): the 2010 plan, its idle tick and n idle ticks skipped (each a pass). */
struct fl_wait fl_legacy_plan(struct fl_ctx *x);
uint64_t fl_legacy_idle_period(struct fl_engine *e, struct fl_thr *t);
void fl_legacy_idle_skip(struct fl_engine *e, struct fl_thr *t, uint64_t n);

/* The 2010 writer: queues b if FLUSHPROC is clear (msi:1153-1181). */
void fl_legacy_write(struct fl_engine *e, struct fl_bmap *b, struct fl_biorq *q, int was_dirty,
    uint64_t now);

/* The 2010 forced flush: flag FORCE_EXPIRE, no wake; returns the biorqs flagged. */
size_t fl_legacy_force(struct fl_engine *e, uint64_t fid, uint32_t bno, uint64_t now);

/* ---- engine.c ---- */

/* Grows *pp (elements of size sz) to hold at least n; 0 or -1. */
int fl_grow(void *pp, size_t *cap, size_t n, size_t sz);

/* Records an internal failure (reported by fl_engine_run). */
void fl_fail(struct fl_engine *e, const char *msg);

/* Calls the trace observer, if any. */
void fl_trace(struct fl_engine *e, struct fl_trace_ev *ev);

/* Emits a bmap-level trace record (REQUEUE, CLEAN). */
void fl_trace_bmap(struct fl_engine *e, enum fl_trace_kind kind, struct fl_bmap *b, unsigned k,
    uint64_t t);

/* Emits a PASS trace record and counts the pass. */
void fl_pass_begin(struct fl_ctx *x);

/* a + b, saturating at FL_TIME_NEVER. */
uint64_t fl_sat_add(uint64_t a, uint64_t b);

/* True when every input is in and every write sent and acknowledged. */
int fl_core_idle(const struct fl_engine *e);

/* An input is due at now (both clocks). */
void fl_core_input(struct fl_engine *e, struct fl_input *in, uint64_t now);

/* An RPC reply is processed at now (both clocks). */
void fl_core_complete(struct fl_engine *e, struct fl_rpc *r, uint64_t now);

/* ---- bmap.c ---- */

/* Finds or creates the bmap (fid, bno); NULL when out of memory. */
struct fl_bmap *fl_bmap_get(struct fl_engine *e, uint64_t fid, uint32_t bno);

/* Appends b to queue qi (0..FL_NQUEUES-1); it must be on none. */
void fl_q_push(struct fl_engine *e, int qi, struct fl_bmap *b);

/* Takes b off its queue, if any. */
void fl_q_del(struct fl_engine *e, struct fl_bmap *b);

/* True if b is on queue qi. */
int fl_q_on(const struct fl_bmap *b, int qi);

/* Inserts or re-keys b in the deadline heap; removes it for FL_TIME_NEVER. */
void fl_dh_set(struct fl_engine *e, struct fl_bmap *b, uint64_t key);

/* The earliest key of the deadline heap (FL_TIME_NEVER if empty). */
uint64_t fl_dh_min(const struct fl_engine *e);

/* Adds a FLUSHRDY biorq to b's unsent array (merged into order by fl_un_sort). */
int fl_un_insert(struct fl_engine *e, struct fl_bmap *b, struct fl_biorq *q);

/* Puts b's whole unsent array in the policy's order; call before reading it in order. */
void fl_un_sort(struct fl_engine *e, struct fl_bmap *b);

/* Drops the biorqs that went in flight (FLB_INFL) from b's unsent array. */
void fl_un_compact(struct fl_bmap *b);

/* Drops run ba's biorqs from b's unsent array (cheaply when they are adjacent). */
void fl_un_remove_run(struct fl_engine *e, struct fl_bmap *b, const struct fl_batch *ba);

/*
 * True if [off, off+len) overlaps a run of b in flight; page: compare whole
 * 32 KiB pages (pinned pages) instead of bytes.
 */
int fl_infl_overlaps(const struct fl_bmap *b, uint32_t off, uint32_t len, int page);

/* Flags b's unsent (and blocked) biorqs FORCE; returns how many were newly flagged. */
size_t fl_force_flag(struct fl_bmap *b);

/* Grows a vector by one pointer; -1 on ENOMEM. */
int fl_vec_push(struct fl_engine *e, struct fl_vec *v, void *p);

/* ---- coalesce.c ---- */

/* True if q has expired at now (FORCE, or its deadline passed). */
int fl_expired(const struct fl_biorq *q, uint64_t now);

/* The three trycoalesce rules of the client's history (engine-history.md). */
enum fl_cut_rule {
	FL_CUT_READY,		/* (A, B) ready at 1 MiB extent or 256 biorqs, stop when ready */
	FL_CUT_STICKY_LARGE,	/* (C) `large` sticks at 1 MiB, no 256 rule, whole stretches */
	FL_CUT_NO_OVERFLOW	/* (Z) full when the next contiguous biorq would overflow */
};

/*
 * Cuts the next run out of the thread's collected biorqs (x->t->bqs from
 * x->t->cpos), logging its biorq and descheduling lines.  Returns 1 with a
 * run, 0 when the bmap is done.
 */
int fl_cut(struct fl_ctx *x, enum fl_cut_rule rule, struct fl_run *run);

/*
 * bmap_flushable (bf:539-628; 2010-10 and 2011-08): `consider for flush`
 * per unsent biorq of b in offset order until the answer: 1 at the first
 * expired one, or when a contiguous run reaches FL_MAX_IOVS biorqs or the
 * coalesce size; else 0.  tv (NULL: not wanted; 2011-08's `&t`) gets the
 * deadline of the last young biorq examined.
 */
int fl_flushable(struct fl_ctx *x, struct fl_bmap *b, uint64_t *tv);

/*
 * Step 2 of the 2010 passes (legacy :671-708, 2010-10): every unsent biorq
 * of b considered and scheduled, then the ready runs cut (FL_CUT_READY) and
 * sent; returns the RPCs sent.
 */
size_t fl_schedule_send(struct fl_ctx *x, struct fl_bmap *b);

/* Makes a run of n biorqs of b in flight and splits it into RPCs; NULL on ENOMEM. */
struct fl_batch *fl_batch_new(struct fl_ctx *x, struct fl_bmap *b, struct fl_biorq **bq,
    size_t n, int expired, int early);

/* Issues up to max RPCs of ba; returns how many. */
size_t fl_batch_send(struct fl_ctx *x, struct fl_batch *ba, size_t max, int credit);

/* Room in I/O server ios's window (limit - in flight - credits; 0 if full). */
unsigned fl_win_room(const struct fl_engine *e, unsigned ios);

/* Reserves a credit on ios; -1 when its window is full. */
int fl_win_reserve(struct fl_engine *e, unsigned ios);

/* Accounts the time windows spend full when outstanding changes. */
void fl_win_account(struct fl_engine *e, unsigned ios, uint64_t now, unsigned before);

/*
 * deadline's planner: the sendable runs of b's unsent biorqs (overlapping
 * ones together, contiguous ones up to the coalesce size, held ones left)
 * by horizon; see coalesce.c.  Stores up to maxruns; returns how many are
 * sendable and the next time one becomes sendable in *next.
 */
struct fl_prun {
	size_t first, last;	/* un[first..last] minus held ones */
	uint32_t start, end;
	uint64_t oldest, newest;	/* earliest and latest ready time */
	uint32_t oldest_len;	/* the oldest biorq's length */
	size_t n;		/* biorqs */
	uint64_t due;		/* earliest due time of its biorqs */
	int forced;
};
size_t fl_plan_runs(struct fl_engine *e, struct fl_bmap *b, uint64_t now, uint64_t horizon,
    uint64_t *next, struct fl_prun *runs, size_t maxruns, size_t *nruns);

/* fl_plan_runs without the runs, cached. */
size_t fl_plan_query(struct fl_engine *e, struct fl_bmap *b, uint64_t now, uint64_t *next);

/* Starts a planned run (deadline, pendq): its biorqs go in flight; returns how many. */
size_t fl_plan_start(struct fl_ctx *x, struct fl_bmap *b, const struct fl_prun *r, int hard);

/* ---- examinations (engine.c) ---- */

/* Begins an examination of b: counts it, logs it, charges its cost. */
void fl_exam_begin(struct fl_ctx *x, struct fl_bmap *b);

/*
 * Ends it: wasted if nothing was issued for b and b stays queued; emits the
 * EXAMINE record (at the time the examination began).
 */
void fl_exam_end(struct fl_ctx *x, struct fl_bmap *b, int stays);

/* ---- thread.c ---- */

/* Wakes the oldest waiter of wq (or the lowest-numbered, per tunable); 1 if one woke. */
int fl_wakeone(struct fl_engine *e, struct fl_waitq *wq);

/* Wakes every waiter of wq; returns how many. */
unsigned fl_wakeall(struct fl_engine *e, struct fl_waitq *wq);

/*
 * Makes sure a waiter of wq wakes by until: if none waits with a timer at
 * or before it, the one a wake-one would reach gets its timed wait
 * brought forward to until, without a wake-up (policies with rearm_timer;
 * the others are woken instead).  Returns 1 if a timer was re-armed.
 */
int fl_rearm(struct fl_engine *e, struct fl_waitq *wq, uint64_t until);

/* Schedules a policy timer at t (ops->timer(e, arg, t)). */
void fl_timer_add(struct fl_engine *e, uint64_t t, uint64_t arg);

/* Runs the workload on the virtual clock / on the real clock. */
int fl_run_virtual(struct fl_engine *e);
int fl_run_real(struct fl_engine *e);

/* Tells the completion side that RPC r was issued. */
void fl_drv_rpc_sent(struct fl_engine *e, struct fl_rpc *r);

/* Frees the RPCs still in flight after a failed run. */
void fl_rpcs_free(struct fl_engine *e);

/* CLOCK_MONOTONIC in ns; the engine's clock (ns since the start of the run). */
uint64_t fl_mono_ns(void);
uint64_t fl_now(const struct fl_engine *e);

/* ---- psclog.c: every function counts the line (line cost) and writes it if logging ---- */

/* Flush-thread lines. */
void fl_log_exam(struct fl_ctx *x, struct fl_bmap *b);
void fl_log_tryflush(struct fl_ctx *x, struct fl_bmap *b);
void fl_log_consider(struct fl_ctx *x, struct fl_biorq *q, int scanning);
void fl_log_biorq_try(struct fl_ctx *x, struct fl_biorq *q);
void fl_log_inflight_already(struct fl_ctx *x, struct fl_biorq *q);
void fl_log_coal(struct fl_ctx *x, struct fl_biorq *q, size_t i, int expired, size_t nfrags);
void fl_log_desched(struct fl_ctx *x, struct fl_biorq *q);
void fl_log_runsize(struct fl_ctx *x, struct fl_batch *ba);
void fl_log_inflight(struct fl_ctx *x, struct fl_batch *ba);
void fl_log_send(struct fl_ctx *x, struct fl_rpc *r);
void fl_log_restore(struct fl_ctx *x, struct fl_bmap *b);
void fl_log_clean(struct fl_ctx *x, struct fl_bmap *b);
void fl_log_timeoq(struct fl_ctx *x, struct fl_bmap *b);
void fl_log_stall(struct fl_ctx *x, unsigned nrpcs);
void fl_log_loop(struct fl_ctx *x, uint64_t flush_ns, uint64_t rpcwait_ns, uint64_t wait_ns,
    unsigned flags, uint64_t w, int rc);
void fl_log_worktime(struct fl_ctx *x, uint64_t work, uint64_t wait);

/* Opens the writer (virtual clock: its reorder buffer); -1 on ENOMEM. */
int fl_log_open(struct fl_engine *e);

/* Writes every buffered line and closes the buffer. */
void fl_log_close(struct fl_engine *e);

/* Lines of other threads (writers, the reaper): no line cost. */
void fl_log_arrive(struct fl_engine *e, uint64_t t, struct fl_biorq *q, int list_empty, int newq);
void fl_log_force(struct fl_engine *e, uint64_t t, struct fl_bmap *b, size_t nflagged);
void fl_log_wake(struct fl_engine *e, uint64_t t, unsigned mode, int woke, unsigned flags,
    uint64_t fid, int from_rpc);
void fl_log_alarm(struct fl_engine *e, uint64_t t, uint64_t fid, uint64_t oldw, uint64_t neww);
void fl_log_done(struct fl_engine *e, uint64_t t, struct fl_rpc *r);
void fl_log_unset_dirty(struct fl_engine *e, uint64_t t, struct fl_bmap *b);

#endif
