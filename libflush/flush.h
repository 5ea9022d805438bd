/*
 * libflush: the SLASH2 client write-back flush engine, runnable outside a
 * mounted filesystem, with the queueing policy as the only thing that varies.
 *
 * One engine = files and bmaps (128 MiB), write requests (biorqs: offset,
 * length, creation time), per-bmap unsent and in-flight writes, the
 * coalescers, windows of RPCs per I/O server, one queueing policy, a clock
 * and a simulated RPC transport.  The policies are the client at four
 * commits (legacy f020379d5, 2010-10 99fa47092, 2011-08 97bf587a9, head
 * d87d35e60; shared/spec/engine-history.md) and two of ours (pendq,
 * deadline); fl_policy_info describes each.
 *
 * Usage (identical for both clocks):
 *
 *	struct fl_config c;
 *	fl_config_init(&c, "deadline");		// the policy's defaults
 *	fl_config_set(&c, "window", "64", &err);	// any tunable by name
 *	c.clock = FL_CLOCK_VIRTUAL;		// or FL_CLOCK_REAL
 *	c.transport.kind = FL_LAT_FIXED; c.transport.fixed_ns = 20000000;
 *	struct fl_engine *e = fl_engine_new(&c, &err);
 *	fl_engine_write(e, at_ns, fid, bno, off, len, ready_ns, &err);	// inputs,
 *	fl_engine_force(e, at_ns, fid, FL_BMAP_ALL, &err);		// any order
 *	fl_engine_run(e, &err);		// inject at their times, run, drain, stop
 *	fl_engine_stats(e, &st);	// counters
 *	fl_engine_free(e);
 *
 * Times are nanoseconds from the start of the run (t = 0 when fl_engine_run
 * starts).  On the virtual clock inputs are events of a deterministic
 * discrete-event simulation (same counts and bytes on every run and machine);
 * on the real clock a thread injects each input at its time with
 * clock_nanosleep(TIMER_ABSTIME) on CLOCK_MONOTONIC while real flush threads
 * and an RPC completion thread run, synchronised by a mutex and condition
 * variables on CLOCK_MONOTONIC.  The engine core (queues, coalescers,
 * windows, policies, counters, log writer) is the same code under both
 * clocks; only the driver that sleeps and wakes threads differs.
 *
 * Errors are returned through struct fs_err (util/err.h); nothing prints
 * except the optional psclog writer, which writes to the FILE the caller gave.
 */
#ifndef FS_LIBFLUSH_FLUSH_H
#define FS_LIBFLUSH_FLUSH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

/* Fixed client geometry (every era). */
#define FL_BMAP_SIZE		(128u << 20)	/* bytes per bmap (SLASH_BMAP_SIZE) */
#define FL_LNET_MTU		(1u << 20)	/* coalesce target and RPC size limit */
#define FL_MAX_IOVS		256u		/* iovecs per write RPC (PSCRPC_MAX_BRW_PAGES) */
#define FL_HEAD_MAX_IOVS	33u		/* HEAD: BMPC_COALESCE_MAX_IOV */
#define FL_BMPC_BUFSZ		32768u		/* page-cache page (np= in biorq lines) */

#define FL_BMAP_ALL		UINT32_MAX	/* fl_engine_force: every bmap of the file */
#define FL_READY_AT_ARRIVAL	UINT64_MAX	/* fl_engine_write: ready time = arrival */
#define FL_TIME_NEVER		UINT64_MAX
#define FL_TIME_MAX		(UINT64_MAX / 4)	/* inputs and latencies stay below this */
#define FL_DEADLINE_BATCH_NS	200000u		/* deadline's default batching window */
#define FL_WAKE_LATENCY_NS	10000u		/* virtual clock: default signal -> run latency */
#define FL_LINE_COST_NS		14000u		/* virtual: seed pass cost per logged line */
#define FL_USLEEP_OVERSHOOT_NS	68000u		/* virtual: seed usleep(2048) overshoot */

/*
 * Queueing policies.  The first four are the SLASH2 client at four commits
 * (shared/spec/engine-history.md); the last two are ours.  fl_policy_info
 * describes each; the engine core knows none of them by name.
 */
enum fl_policy {
	FL_POL_LEGACY = 0,	/* f020379d5 (2010-08-20): pop all, requeue, usleep(2048) */
	FL_POL_2010_10,		/* 99fa47092 (2010-10-05): scan in place, 100 ms wait, woken below 64 */
	FL_POL_2011_08,		/* 97bf587a9 (2011-08-25): max age 10 ms, window 16, wait to next expiry */
	FL_POL_HEAD,		/* d87d35e60 (2019): 16 threads, 2 s wait, 480 RPCs per I/O server */
	FL_POL_PENDQ,		/* legacy + a pending queue for in-flight-only bmaps */
	FL_POL_DEADLINE,	/* event-driven: work, useful completions, earliest deadline */
	FL_POL_COUNT
};

enum fl_clock { FL_CLOCK_VIRTUAL = 0, FL_CLOCK_REAL };

/*
 * psclog eras (log-format.md): the message texts and line header of the
 * client at each commit.  B and C share A's header until 2010-11; C has
 * the 2011-06 header `[%s:%06u %n:%i:%T %B %F %l] `.
 */
enum fl_era { FL_ERA_NONE = 0, FL_ERA_A, FL_ERA_B, FL_ERA_C, FL_ERA_Z, FL_ERA_COUNT };

/*
 * Tunables.  fl_config_init fills the named policy's defaults (its spec
 * section's constants); fl_config_set sets one by name (the names are the
 * field names).  Fields a policy does not use are ignored by it.
 */
struct fl_tunables {
	uint64_t poll_ns;		/* legacy/pendq: usleep between passes (2048 us) */
	uint64_t max_age_ns;		/* a biorq expires this long after its creation */
	unsigned window;		/* RPCs in flight per I/O server (credits included) */
	unsigned wake_below;		/* 2010-10/2011-08: a completion leaving fewer wakes */
	unsigned scan_cap;		/* 2010-10/head: bmaps collected per pass (0: no cap) */
	uint32_t coalesce_size;		/* run size target and RPC size limit (LNET_MTU) */
	uint32_t max_iovs;		/* iovecs per RPC */
	uint64_t safety_timeout_ns;	/* the timed wait: 2010-10 100 ms, 2011-08 1 s, head 2 s */
	unsigned threads;		/* flush threads (1..64) */
	unsigned ios;			/* I/O servers (windows); a bmap's is chosen by hash */
	/*
	 * Virtual clock only: modelled CPU time of one bmap examination; the
	 * flush thread is busy that long per examination (0 by default).
	 */
	uint64_t exam_cost_ns;
	/*
	 * Virtual clock only: time from a signal to a sleeping flush thread
	 * until that thread runs (the scheduler's wake-up latency).  A thread
	 * already woken is not woken again; a timed wait that ends sooner still
	 * ends on time.  Default FL_WAKE_LATENCY_NS.
	 */
	uint64_t wake_latency_ns;
	/*
	 * deadline only: the batching window.  A write that completes a full
	 * run (the coalesce size) is due batch_ns after it arrives, so writes
	 * arriving meanwhile share the wake-up.  At most max age.  Default
	 * FL_DEADLINE_BATCH_NS.
	 */
	uint64_t batch_ns;
	/*
	 * deadline, real clock only: its timer is set this long before the
	 * earliest due time, so that the timer's and the scheduler's latency
	 * (tens of us) do not make writes late.  Each us of lead shortens the
	 * budget the wake-ups are spent on.  Default 0.
	 */
	uint64_t timer_lead_ns;
	/*
	 * Virtual clock only: the pass cost of the real client, which logs as
	 * it works: every line a flush thread logs after the first one of a
	 * wake-up takes line_cost_ns (seed: ~14 us); the thread's sleep starts
	 * at its last line.  Counted whether or not a log is written.
	 */
	uint64_t line_cost_ns;
	uint64_t sleep_overshoot_ns;	/* virtual: usleep overshoot (seed: 2116 - 2048 us) */
	/*
	 * Virtual clock, legacy and pendq: the first pass that would start
	 * after this time, or less than half a tick before it, starts at it
	 * (0: none).  Replay sets it to
	 * a recorded trace's first pass: the work before the trace, which it
	 * can only infer, set the tick's phase there.
	 */
	uint64_t sync_pass_ns;
	uint64_t reaper_poll_ns;	/* 2010 reaper: a run of several RPCs is reaped on this tick */
	uint64_t force_poll_ns;		/* head: fsync re-checks the bmap this often (100 us) */
	int wake_oldest;		/* a wake-one reaches the longest waiter (1) or thread 0.. (0) */
	int expire_rewait;		/* 2011-08: a wake while EXPIRE is set waits again (as coded) */
	int overlap_full;		/* 2010 runs: a partly covered biorq maps its full length */
	int no_fast_forward;		/* never account idle wake-ups in bulk (tests) */
};

/* One write RPC, as the transport and the trace see it. */
struct fl_rpc_info {
	uint64_t xid;		/* 1, 2, ... in issue order (plus config xid_base) */
	uint64_t fid;
	uint32_t bno;		/* bmap number */
	uint32_t off;		/* offset within the bmap */
	uint32_t len;		/* bytes */
	uint32_t nbiorqs;	/* biorqs whose bytes are (partly) in this RPC */
	uint64_t issue_ns;
	uint64_t done_ns;	/* completion time (valid once known) */
	unsigned outstanding;	/* outstanding RPCs after this one was issued */
	int forced;		/* sent because of fsync/close */
	int expired;		/* sent because its oldest member reached max age */
};

/* Simulated RPC service time. */
enum fl_lat_kind {
	FL_LAT_FIXED = 0,	/* fixed_ns for every RPC */
	FL_LAT_UNIFORM,		/* uniform in [a_ns, b_ns], seeded */
	FL_LAT_EXP,		/* a_ns + exponential with mean b_ns, seeded */
	FL_LAT_LIST,		/* list[i] for the i-th RPC issued; after the end, the last value repeats */
	FL_LAT_CALLBACK		/* fn(arg, rpc) for each RPC (called with the engine lock held) */
};

struct fl_transport {
	enum fl_lat_kind kind;
	uint64_t fixed_ns;
	uint64_t a_ns, b_ns;
	uint64_t seed;
	const uint64_t *list;	/* not copied: must outlive fl_engine_run */
	size_t nlist;
	uint64_t (*fn)(void *arg, const struct fl_rpc_info *rpc);
	void *arg;
};

/* Parses "20" (ms, fixed), "20ms", "500us", "uniform:10:40" or "exp:5:20" (ms). */
int fl_transport_parse(struct fl_transport *t, const char *spec, struct fs_err *err);

/* What the engine did, for traces (synth --truth, tests).  See fl_config.trace. */
enum fl_trace_kind {
	FL_TR_ARRIVE = 0,	/* a write became flushable: fid bno off len id */
	FL_TR_FORCE,		/* fsync/close: fid bno (FL_BMAP_ALL = file) */
	FL_TR_WAKE,		/* flush thread woke: thread, reason (1 timeout, 2 signal) */
	FL_TR_PASS,		/* a pass over the queue began: thread */
	FL_TR_EXAMINE,		/* bmap examined: wasted = 1 if nothing progressed */
	FL_TR_SEND,		/* RPC issued: rpc */
	FL_TR_DONE,		/* RPC completed: rpc */
	FL_TR_REQUEUE,		/* bmap put back on the dirty queue */
	FL_TR_CLEAN,		/* bmap left the flush queues (no write pending) */
	FL_TR_BIORQ_SENT,	/* a biorq goes in flight (just before its batch's first SEND): id off len */
	FL_TR_IDLE		/* count idle wake-ups (and passes) of thread, period_ns apart, from t_ns */
};

struct fl_trace_ev {
	enum fl_trace_kind kind;
	uint64_t t_ns;
	unsigned thread;
	int reason;
	int wasted;
	uint64_t fid;
	uint32_t bno;
	uint32_t off, len;
	uint64_t id;			/* biorq id (input order, from 0) */
	const struct fl_rpc_info *rpc;	/* SEND, DONE, BIORQ_SENT */
	uint64_t count, period_ns;	/* IDLE */
	int pass;			/* IDLE: each wake-up also began a (visible-less) pass */
};

struct fl_config {
	enum fl_policy policy;
	enum fl_clock clock;
	struct fl_tunables tun;
	struct fl_transport transport;
	/* psclog writer (era NONE or log NULL: no log). */
	enum fl_era era;
	FILE *log;
	uint64_t log_epoch_s;		/* wall-clock seconds printed for t = 0 (default 1282327206) */
	uint64_t log_epoch_us;		/* plus microseconds (default 0) */
	uint64_t xid_base;		/* first xid is xid_base + 1 (default 1411, so x1412 as in the spec) */
	/* Optional observer, called with the engine lock held; must not call the engine. */
	void (*trace)(void *arg, const struct fl_trace_ev *ev);
	void *trace_arg;
};

/* Fills c with the defaults of the named policy; -1 if the name is unknown. */
int fl_config_init(struct fl_config *c, const char *policy);

/* "legacy", "2010-10", "2011-08", "head", "pendq", "deadline". */
const char *fl_policy_name(enum fl_policy p);

/* Policy by name; -1 if unknown. */
int fl_policy_parse(const char *name);

/* The policy names, comma-separated, for messages. */
const char *fl_policy_list(void);

/* What a policy is (fl_policy_info). */
struct fl_policy_info {
	const char *name;
	const char *commit;	/* the SLASH2 commit it reproduces; NULL for ours */
	const char *date;	/* that commit's date; NULL for ours */
	const char *summary;	/* one line */
	enum fl_era era;	/* the log era it writes by default */
	int historical;		/* 1: the client at commit; it writes only its own era */
};

/* The description of policy p; NULL if out of range. */
const struct fl_policy_info *fl_policy_info(enum fl_policy p);

/* "A", "B", "C", "Z" ("none" for FL_ERA_NONE). */
const char *fl_era_name(enum fl_era era);

/* Era by name: A, B, C, Z (case-insensitive), 2010-08, 2010-10, 2011-08, HEAD, none; -1 if unknown. */
int fl_era_parse(const char *name);

/*
 * A policy's declared latency budget, from its tunables: a write must be
 * issued by its ready time plus max_age_ns, or plus full_ns if it
 * completes a full run (full_size bytes, the coalesce size); with
 * wall_second set, also no later than the next whole wall-clock second
 * (epoch_ns is the wall clock of t = 0: the 2010 expiry test).  The lower
 * bound on wake-ups (fl_wakeups_min) is computed from it.
 */
struct fl_budget {
	uint64_t max_age_ns;
	uint64_t full_ns;
	int wall_second;
	uint32_t full_size;
	uint64_t epoch_ns;
};

/* Fills b from c's policy and tunables. */
void fl_config_budget(const struct fl_config *c, struct fl_budget *b);

/*
 * The limit (architecture.md): the fewest instants at which a flush thread
 * could issue every write by its deadline, ignoring the RPC window.  A
 * write's deadline is its ready time plus the budget's max age, capped at
 * the next wall-clock second if the budget says so, and
 *   - plus full_ns if it completes a full run: per bmap, in ready order,
 *     the reference runs are the coalescer's: a write joins the runs it
 *     overlaps, else a contiguous run below full_size; a run closes when
 *     it reaches full_size (its last write completed it) or when its
 *     earliest deadline passes before the next write (it was sent);
 *   - no later than a forced flush (fsync/close) of its bmap at or after
 *     its ready time, if that comes first.
 * A wake-up at t can issue every write whose [ready, deadline] contains t:
 * the bound is the minimum number of points stabbing every interval,
 * found exactly by a greedy pass in deadline order, O(n log n).
 */
struct fl_bound_in {
	uint64_t t_ns;		/* a write's ready time, or the time of a forced flush */
	uint64_t fid;
	uint32_t bno;		/* forced flush: FL_BMAP_ALL for every bmap of the file */
	uint32_t off, len;	/* a write (len > 0); len 0: a forced flush */
};

/*
 * Each write's deadline under budget b: dl[i] for in[i] (FL_TIME_NEVER for
 * a forced flush).  Inputs in any order; equal times keep their order.
 * Returns 0, or -1 with err set (out of memory).
 */
int fl_bound_deadlines(const struct fl_bound_in *in, size_t n, const struct fl_budget *b,
    uint64_t *dl, struct fs_err *err);

/*
 * The fewest points stabbing every interval [lo[i], hi[i]] (lo[i] <= hi[i];
 * an entry with lo[i] > hi[i] is ignored): sorted by hi, a point at the
 * first hi not yet stabbed.  Stores the count in *count; -1 with err set
 * when out of memory.
 */
int fl_stab_min(const uint64_t *lo, const uint64_t *hi, size_t n, uint64_t *count,
    struct fs_err *err);

/* fl_wakeups_min start_ns: issued by a thread's first run, before it ever slept (no wake-up) */
#define FL_BOUND_NO_WAKE	(FL_TIME_NEVER - 1)

/* What fl_wakeups_min found. */
struct fl_bound {
	uint64_t wakeups_min;		/* the bound for the budget */
	uint64_t wakeups_min_realised;	/* for the realised schedule given (else = wakeups_min) */
	uint64_t past_budget;		/* writes issued after their deadline (realised) */
};

/*
 * The lower bound on wake-ups of the writes and forced flushes in[0, n)
 * under budget b.  With issue_ns (per input: when the write was first
 * issued; FL_TIME_NEVER if unknown) there is also the bound of that
 * realised schedule: a write issued after its deadline gets the time it
 * was issued as its deadline (the bound for the latency a policy
 * achieved), and with start_ns (per input: when the run that issued it
 * began, its wake-up), a write issued by a run that began before it was
 * ready reaches back to that start (FL_BOUND_NO_WAKE: the write was issued
 * before its thread first slept, and needs no wake-up); no schedule whose
 * every issue happens in a run begun at one of its wake-ups has fewer
 * wake-ups.  Either array may be NULL.  Returns 0, or -1 with err set.
 */
int fl_wakeups_min(const struct fl_bound_in *in, size_t n, const struct fl_budget *b,
    const uint64_t *issue_ns, const uint64_t *start_ns, struct fl_bound *out,
    struct fs_err *err);

/*
 * Sets tunable `name` (a struct fl_tunables field name) of c from value
 * (an integer; durations in ns); -1 with err set if the name is unknown or
 * the value is out of range.
 */
int fl_config_set(struct fl_config *c, const char *name, const char *value, struct fs_err *err);

/* The i-th tunable's name (i from 0), NULL past the last. */
const char *fl_tunable_name(int i);

/* Reads tunable name of t into *v (integer value); -1 if unknown. */
int fl_tunable_get(const struct fl_tunables *t, const char *name, uint64_t *v);

/* Exact-order statistics of a sample set (nanoseconds). */
struct fl_pctl {
	uint64_t n, p50, p99, p999, max, mean;
};

#define FL_SIZE_BUCKETS 12	/* RPC sizes: <=4K, <=8K, ... <=4M, >4M (bucket i: <= 4096<<i) */

/* Every counter, for every policy. */
struct fl_stats {
	/* flush thread */
	uint64_t wakeups;		/* sleeps that ended (= wake_timeout + wake_signal) */
	uint64_t wake_timeout;		/* by the end of a timed sleep (tick or deadline) */
	uint64_t wake_signal;		/* by a signal (new work, completion, expiry) */
	/*
	 * Timed waits brought forward without a wake-up (fl_rearm; deadline):
	 * on the real clock each is a timerfd_settime(2) by the thread that
	 * made the earlier deadline (a writer or the reply thread), not by the
	 * flush thread.
	 */
	uint64_t rearms;
	uint64_t wake_useless;		/* wake-ups after which no RPC was sent */
	uint64_t passes;		/* passes over the queue */
	uint64_t exams;			/* bmap examinations */
	uint64_t wasted;		/* examinations with no progress while the bmap stays queued */
	uint64_t wasted_inflight;	/*   ... waiting only for in-flight replies */
	uint64_t wasted_throttled;	/*   ... sendable work but the window was full */
	uint64_t wasted_notready;	/*   ... unsent writes not yet sendable (young, or held behind overlap) */
	uint64_t requeues;		/* bmaps put back on the dirty queue */
	uint64_t skipped_passes;	/* legacy/pendq: passes skipped, window full */
	uint64_t window_stalls;		/* passes cut short by the window (stall flush, rpcwait, credit) */
	uint64_t writes_blocked;	/* head: writes that waited at the writer for pages in flight */
	/* inputs and RPCs */
	uint64_t writes, bytes_written, forces;
	uint64_t rpcs, bytes_sent;
	uint64_t rpcs_full, rpcs_expired, rpcs_forced;	/* why each RPC was sent */
	uint64_t rpcs_early;		/* a small run sent ahead of max age (batching window) */
	uint64_t rpc_size_hist[FL_SIZE_BUCKETS];
	unsigned max_outstanding;
	uint64_t window_full_ns;	/* time spent with outstanding == window */
	/* latency */
	struct fl_pctl ready_issue;	/* per biorq: first RPC issue - ready time */
	uint64_t late_writes;		/* biorqs issued after ready + max age */
	uint64_t late_max_ns, late_total_ns;
	uint64_t first_input_ns, last_input_ns;
	uint64_t end_ns;		/* last completion */
	uint64_t drain_ns;		/* end_ns - last_input_ns */
	/* virtual clock */
	uint64_t events;		/* discrete events processed */
	/* real clock only (0 on the virtual clock, except wall_ns) */
	uint64_t flush_cpu_ns;		/* CLOCK_THREAD_CPUTIME_ID of the flush thread(s) */
	uint64_t flush_nvcsw, flush_nivcsw;	/* getrusage(RUSAGE_THREAD) of the flush thread(s) */
	uint64_t proc_cpu_ns;		/* user+sys of the process during fl_engine_run (virtual: its event loop) */
	uint64_t wall_ns;		/* real duration of fl_engine_run (virtual clock: of its event loop) */
	struct fl_pctl replay_late;	/* how late each input was injected (real clock) */
	struct fl_pctl wake_latency;	/* real clock: signal to a sleeping flush thread -> it runs */
};

/* Per-bmap counters (fl_engine_bmap_stats), bmaps in order of first use. */
struct fl_bmap_stats {
	uint64_t fid;
	uint32_t bno;
	unsigned ios;		/* its I/O server (window), 0..ios-1 */
	uint64_t writes, exams, wasted, requeues, rpcs, bytes_sent;
};

struct fl_engine;

/* Creates an engine; NULL with err set on a bad configuration. */
struct fl_engine *fl_engine_new(const struct fl_config *c, struct fs_err *err);

/*
 * Adds a write arrival: at at_ns the biorq [off, off+len) of bmap bno of
 * file fid becomes flushable; its age counts from ready_ns (the biorq's
 * timestamp; FL_READY_AT_ARRIVAL = the time it is actually injected, which
 * on the real clock excludes the injector's own lateness from ready->issue).
 * off+len must fit in the bmap.
 * Inputs may be added in any order before fl_engine_run; equal times keep
 * the order of the calls.
 */
int fl_engine_write(struct fl_engine *e, uint64_t at_ns, uint64_t fid, uint32_t bno,
    uint32_t off, uint32_t len, uint64_t ready_ns, struct fs_err *err);

/* Adds a forced flush (fsync/close) at at_ns of bmap bno, or every bmap of fid (FL_BMAP_ALL). */
int fl_engine_force(struct fl_engine *e, uint64_t at_ns, uint64_t fid, uint32_t bno,
    struct fs_err *err);

/*
 * Makes the run last at least until at_ns (the end of a recorded trace):
 * an input that does nothing, so a policy's idle cost up to then counts.
 */
int fl_engine_mark(struct fl_engine *e, uint64_t at_ns, struct fs_err *err);

/*
 * Runs: injects every input at its time, lets the policy flush, then drains
 * (waits until every write has been sent and acknowledged) and stops the
 * threads.  Nothing is lost: an error is returned if a write could not be
 * sent.  Call once.
 */
int fl_engine_run(struct fl_engine *e, struct fs_err *err);

/* Copies the counters (valid after fl_engine_run). */
void fl_engine_stats(const struct fl_engine *e, struct fl_stats *st);

/* Number of bmaps seen, and the counters of the i-th (0-based); -1 if out of range. */
size_t fl_engine_nbmaps(const struct fl_engine *e);
int fl_engine_bmap_stats(const struct fl_engine *e, size_t i, struct fl_bmap_stats *bs);

/* Frees the engine (NULL is fine). */
void fl_engine_free(struct fl_engine *e);

/* Size-histogram bucket label ("<=4K" ... ">4M"). */
const char *fl_size_bucket_name(int i);

/*
 * A parametric workload (flushscope synth): `files` files of `bmaps` bmaps
 * each; writes of write_size bytes, sequential within each bmap (wrapping
 * at 128 MiB), each to a bmap chosen with the seeded generator; `rate`
 * writes per second on average, arriving in bursts of `burst` writes
 * burst_gap_ns apart, bursts every burst/rate seconds (exponentially
 * distributed if poisson).  close_at_end adds a forced flush of every file
 * at the end (close).  Deterministic for a given seed.
 */
struct fl_synth {
	uint64_t seed;
	uint64_t duration_ns;
	unsigned files, bmaps;
	uint32_t write_size;
	double rate;
	unsigned burst;
	uint64_t burst_gap_ns;
	int poisson;
	int close_at_end;
	uint64_t fid_base;	/* first file id (default 0x80000002d907b as in the seed) */
	uint32_t bno_base;	/* first bmap number (default 1) */
	uint32_t bno_step;	/* bmap numbers bno_base, +step, ... (default 2: b:1, b:3 as in the seed) */
};

/* Fills the synth defaults (1 file, 2 bmaps, 32 KiB writes, 1000/s, 1 s, seed 1). */
void fl_synth_defaults(struct fl_synth *s);

/* Adds the workload's inputs to e; returns the number of writes, or -1. */
long fl_synth_add(struct fl_engine *e, const struct fl_synth *s, struct fs_err *err);

#endif
