/*
 * libflush internals shared by engine.c (core, policies, clocks) and
 * psclog.c (the log writer).  Not installed; callers use flush.h only.
 */
#ifndef FS_LIBFLUSH_INTERNAL_H
#define FS_LIBFLUSH_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "libflush/flush.h"

/* Biorq flags (era-A letters r w f l s i d x D R). */
#define FLB_WRITE	0x2
#define FLB_SCHED	0x10
#define FLB_INFL	0x20
#define FLB_FORCE	0x80
#define FLB_FLUSHRDY	0x200
#define FLB_READY_AT_ARR 0x10000	/* ready time = actual arrival (not logged) */

struct fl_batch;

/* One write request (the input record doubles as the biorq). */
struct fl_biorq {
	uint64_t id;		/* input order among writes */
	uint64_t at, ready;
	uint64_t issue;		/* time its first RPC was issued */
	uint32_t off, len;
	uint32_t flags;
	int held;		/* scratch: overlaps an in-flight or older held write */
	struct fl_bmap *b;
	struct fl_batch *batch;
};

/* A coalesced run of biorqs sent as one or more RPCs (HEAD: bwc). */
struct fl_batch {
	uint64_t id;
	struct fl_bmap *b;
	struct fl_biorq **bq;
	size_t nbq;
	uint32_t start, end;	/* extent */
	uint32_t next;		/* next offset to send (== end once all sent) */
	unsigned nleft;		/* RPCs sent and not yet completed */
	int forced, expired;
	int early;		/* small run sent ahead of max age (deadline's batching window) */
	struct fl_batch *free_next;
};

/* One RPC in flight. */
struct fl_rpc {
	struct fl_rpc_info info;
	struct fl_batch *batch;
	size_t hidx;
};

enum fl_q { FLQ_NONE = 0, FLQ_DIRTY, FLQ_PEND, FLQ_READY };

struct fl_bmap {
	uint64_t fid;
	uint32_t bno;
	size_t idx;
	uint64_t addr;
	/* unsent biorqs, sorted by (off, id) */
	struct fl_biorq **un;
	size_t nun, capun;
	/* in-flight biorqs (unordered) */
	struct fl_biorq **infl;
	size_t ninfl, capinfl;
	struct fl_batch *partial;	/* a batch with chunks still to send */
	int dirty;			/* era A BMAP_DIRTY: writes pending */
	int any_held;			/* some unsent biorq has held set */
	/* plan cache: plan_runs' answer at pc_now for state generation pc_gen */
	uint64_t gen, pc_gen, pc_now, pc_next;
	size_t pc_ns;
	/* queue membership */
	enum fl_q q;
	struct fl_bmap *qprev, *qnext;
	size_t hidx;			/* deadline heap index, or SIZE_MAX */
	uint64_t hkey;
	int in_pass;			/* legacy/pendq: taken off the queue by this pass */
	int sent_in_exam;
	struct fl_bmap_stats st;
	struct fl_bmap *hnext;		/* hash chain */
};

struct fl_list {
	struct fl_bmap *head, *tail;
	size_t n;
};

/* One flush thread. */
struct fl_thr {
	unsigned k;
	int sleeping;		/* in an interruptible wait */
	int wake_pending;	/* virtual: a signal wake is scheduled, not yet run */
	uint64_t until;		/* its wait deadline (FL_TIME_NEVER) */
	uint64_t token;		/* virtual: stale timer events are ignored */
	uint64_t slept_at;	/* when the last sleep began (era-Z wait time) */
	pthread_t tid;
	struct fl_engine *e;
};

enum fl_in_kind { FLI_WRITE = 0, FLI_FORCE };

struct fl_input {
	enum fl_in_kind kind;
	uint64_t at;
	uint64_t seq;
	uint64_t fid;
	uint32_t bno;
	struct fl_biorq bq;	/* FLI_WRITE */
};

struct fl_vev {			/* virtual-clock event */
	uint64_t t;
	uint64_t seq;
	int kind;		/* 0 completion, 2 thread wake, 3 thread end of busy */
	int reason;		/* thread wake: 1 timeout, 2 signal */
	unsigned k;
	uint64_t token;
	struct fl_rpc *rpc;
};

struct fl_engine {
	struct fl_config c;
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
	struct fl_list dirtyq, pendq, readyq;
	struct fl_bmap **dh;		/* deadline heap */
	size_t ndh, capdh;
	/* RPCs */
	struct fl_rpc **rh;		/* completion-time heap */
	size_t nrh, caprh;
	unsigned outstanding;
	uint64_t xid, batch_id;
	uint64_t nrpcs_issued;
	uint64_t rng;
	uint64_t pending_writes;	/* written and not yet completed */
	uint64_t win_full_since;
	/* threads */
	struct fl_thr thr[64];
	int sig_pending;
	int sig_timed;			/* real: sig_at is when sleeping thread sig_thr was signalled */
	unsigned sig_thr;
	uint64_t sig_at;
	int stop;
	int ran;
	int failed;
	char failmsg[256];
	/* time */
	int real;
	uint64_t vnow;
	uint64_t rstart;		/* CLOCK_MONOTONIC ns at run start */
	uint64_t last_progress;
	/* virtual events */
	struct fl_vev *vh;
	size_t nvh, capvh;
	uint64_t vseq;
	/* real clock sync */
	pthread_mutex_t mu;
	pthread_cond_t fcv, ccv, dcv;
	/* latency samples */
	uint64_t *lat;
	size_t nlat, caplat;
	uint64_t *rlate;
	size_t nrlate;
	uint64_t *wlat;			/* real: signal -> run latencies */
	size_t nwlat, capwlat;
	/* era-Z pass timing */
	uint64_t last_log_us;
	struct fl_stats st;
};

/* psclog writer (psclog.c); every function is a no-op without a log. */
void fl_log_arrive(struct fl_engine *e, uint64_t t, struct fl_biorq *q, int list_empty, int newq);
void fl_log_exam(struct fl_engine *e, uint64_t t, unsigned k, struct fl_bmap *b);
void fl_log_sched(struct fl_engine *e, uint64_t t, unsigned k, struct fl_batch *ba);
void fl_log_send(struct fl_engine *e, uint64_t t, unsigned k, struct fl_rpc *r);
void fl_log_restore(struct fl_engine *e, uint64_t t, unsigned k, struct fl_bmap *b);
void fl_log_retire(struct fl_engine *e, uint64_t t, unsigned k, struct fl_bmap *b, int timeoq);
void fl_log_done(struct fl_engine *e, uint64_t t, struct fl_rpc *r);
void fl_log_unset_dirty(struct fl_engine *e, uint64_t t, struct fl_bmap *b);
void fl_log_wakeup(struct fl_engine *e, uint64_t t, int reason, int from_rpc, uint64_t fid);
void fl_log_worktime(struct fl_engine *e, uint64_t t, unsigned k, uint64_t work, uint64_t wait);

#endif
