/*
 * Workloads: the INPUTS of a flush engine recovered from a trace, never its
 * outputs (see flushscope-workload(5) for the text format).
 *
 *   write   a write becomes ready (bmap fid:bno, offset, length, ready time)
 *   fsync   a forced flush of a bmap (fsync/close, FORCE_EXPIRE)
 *   rpc     one write RPC the recorded engine sent: kept only as the RPC
 *           service model (its latency, keyed by bmap and offset); the send
 *           time is the old engine's output and is what replay compares, not
 *           what it feeds
 *
 * A workload carries its fidelity (how exact its inputs are) and the
 * figures the trace itself showed (examinations, wasted examinations,
 * passes, pass period) so that replaying `legacy` can be checked against
 * them.
 *
 * The extractor is streaming: wl_extract_feed() takes one struct ps_event at
 * a time in log order (from a source, or rebuilt from a store's rows), so
 * it works the same from a log and from a database.  It does not judge what
 * the flush thread did: the spin detector's runs of wasted examinations
 * (wl_extract_run) and figures (wl_extract_figures) come from the detector
 * run over the log, or from what ingest stored.  Memory is the workload
 * itself plus state per bmap, thread, biorq and outstanding RPC.
 */
#ifndef FS_REPLAY_WORKLOAD_H
#define FS_REPLAY_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parsers/event.h"
#include "util/err.h"

#define WL_VERSION 1

/* How exact the inputs are; lower is better.  Order matters (min = best). */
enum wl_fidelity {
	WL_FID_BIORQ = 0,	/* arrivals from biorq lines, latencies paired by xid */
	WL_FID_RPC,		/* arrivals from the RPCs sent, or latencies derived */
	WL_FID_FITTED		/* arrivals or latencies inferred / drawn from a fit */
};

/* Where one RPC's latency came from. */
enum wl_lat_src {
	WL_LAT_NONE = 0,	/* unknown: replay draws from the service samples */
	WL_LAT_XID,		/* send and done paired by xid: exact */
	WL_LAT_COUNTER,		/* paired in order using the outstanding counter */
	WL_LAT_RUN,		/* from the end of the bmap's requeue run (unset DIRTY) */
	WL_LAT_FITTED		/* drawn from the fitted distribution at extraction */
};

enum wl_kind {
	WL_WRITE = 0,
	WL_FSYNC,
	WL_RPC
};

struct wl_event {
	enum wl_kind kind;
	int64_t t_us;		/* relative to wl_workload.epoch_us; ready / fsync / send time */
	uint64_t fid;
	uint32_t bno;
	uint64_t off;		/* offset within the bmap (write, rpc) */
	uint32_t len;		/* bytes (write, rpc) */
	int64_t lat_us;		/* rpc: service latency; -1 unknown */
	enum wl_lat_src lat_src;	/* rpc */
	int64_t xid;		/* rpc: xid when logged; -1 otherwise */
	uint64_t lineno;	/* line in the workload file, or of the source log */
};

/* What the trace itself showed; -1 = not known. */
struct wl_observed {
	int64_t lines;			/* lines (events) fed */
	int64_t span_us;		/* first to last timestamp */
	int64_t examinations;
	int64_t wasted_examinations;
	int64_t passes;
	int64_t pass_period_us;		/* median gap between pass starts */
	int64_t sleep_us;		/* median gap from a pass's last line to the next pass */
	int64_t line_us;		/* median gap between consecutive lines of a pass */
	int64_t first_pass_us;		/* the busiest flush thread's first pass (relative) */
	int64_t rpcs;			/* write RPCs sent */
	int64_t bytes;			/* bytes in those RPCs */
	int64_t outstanding_max;	/* largest outstanding-RPC counter logged */
	int64_t arrivals_dropped;	/* biorqs seen without offset/length */
	int64_t writes_unsent;		/* writes the trace never shows sent (ready or in
					 * flight at its end, before their RPC line) */
};

struct wl_workload {
	int version;
	enum wl_fidelity fidelity;	/* the worst of arrivals and service */
	enum wl_fidelity arrivals;	/* biorq, rpc (from RPC sends) or fitted */
	enum wl_fidelity service;	/* biorq (xid), rpc (counter/run) or fitted */
	int64_t epoch_us;		/* absolute time (µs since the Epoch) of t=0 */
	int64_t end_us;			/* the trace's last timestamp (relative); 0 = none */
	int64_t poll_us;		/* poll period assumed for RPC-derived ready times */
	char era;			/* 'A', 'Z' or '?' */
	struct wl_observed obs;
	struct wl_event *ev;		/* sorted by t_us (stable) */
	size_t n, cap;
	int64_t *samples;		/* fitted service distribution: latencies seen */
	size_t nsamples, capsamples;
	int64_t default_lat_us;		/* service latency when nothing better is known */
};

/* Returns "biorq", "rpc" or "fitted". */
const char *wl_fidelity_name(enum wl_fidelity f);

/* Parses a fidelity name; -1 if unknown. */
int wl_fidelity_parse(const char *s);

/* Returns "none", "xid", "counter", "run" or "fitted". */
const char *wl_lat_src_name(enum wl_lat_src s);

/* Initialises an empty workload (version, defaults, unknown observations). */
void wl_init(struct wl_workload *w);

/* Frees the arrays of a workload (the struct itself is the caller's). */
void wl_free(struct wl_workload *w);

/* Appends one event; returns -1 with err set when out of memory. */
int wl_add(struct wl_workload *w, const struct wl_event *e, struct fs_err *err);

/* Appends one service sample; returns -1 with err set when out of memory. */
int wl_add_sample(struct wl_workload *w, int64_t lat_us, struct fs_err *err);

/* Sorts events by time (stable: equal times keep their order). */
void wl_sort(struct wl_workload *w);

/* Counts events of one kind. */
size_t wl_count(const struct wl_workload *w, enum wl_kind k);

/*
 * Where the RPC latencies came from, when they came from more than one kind
 * of source (the service fidelity is the worst of them): e.g. "213488 by
 * xid, 1 fitted".  Writes "" when all came from one kind.
 */
void wl_service_mix(const struct wl_workload *w, char *buf, size_t n);

/*
 * Writes w in the text format of flushscope-workload(5).  source (may be
 * NULL) is written as a comment.  Returns -1 with err set on a write error.
 */
int wl_write(const struct wl_workload *w, FILE *f, const char *source, struct fs_err *err);

/*
 * Reads a workload from f; name is used in messages ("NAME:LINE: ...").
 * Returns -1 with err set (naming the file and line) on bad input.
 */
int wl_read(struct wl_workload *w, FILE *f, const char *name, struct fs_err *err);

/* Opens path and reads it ("-" = stdin). */
int wl_read_file(struct wl_workload *w, const char *path, struct fs_err *err);

/* ---- extraction ---- */

struct wl_extract_opts {
	int64_t poll_us;		/* poll period assumed (default 2048) */
	int64_t max_age_us;		/* coalescer max age assumed (default 1000) */
	int64_t default_lat_us;		/* latency when nothing was seen (default 10000) */
	uint32_t default_len;		/* size of an inferred write (default 32768) */
	int jobs;			/* parser threads reading logs (default 1: sequential) */
	const char *client;		/* a database: this client's sources only (NULL = all) */
};

/* Fills in the defaults above. */
void wl_extract_opts_default(struct wl_extract_opts *o);

struct wl_extractor;

/* Creates an extractor; NULL with err set on failure. */
struct wl_extractor *wl_extract_new(const struct wl_extract_opts *o, struct fs_err *err);

/* Feeds one event (in log order).  Returns -1 with err set when out of memory. */
int wl_extract_feed(struct wl_extractor *x, const struct ps_event *ev, struct fs_err *err);

/*
 * A run of wasted examinations of bmap (fid, bno) from first to last (the
 * detector's run, or a stored episode); ended is the time of the line that
 * ended it, INT64_MIN if the trace ended first.  A run that no input of
 * its bmap explains had writes in flight from before the trace: one such
 * write and its RPC are inferred.  -1 with err set when out of memory.
 */
int wl_extract_run(struct wl_extractor *x, uint64_t fid, uint32_t bno, int64_t first,
    int64_t last, int64_t ended, struct fs_err *err);

/* The detector's figures of the trace (summed over its flush threads). */
struct wl_figures {
	int64_t examinations, wasted, passes;
	int64_t pass_period_us;		/* the busiest thread's median; -1 unknown */
	int64_t sleep_us, line_us;	/* that thread's pass timing (sp_thread_stats); -1 */
	int64_t first_pass_us;		/* the first pass start; INT64_MIN unknown */
	char era;			/* that thread's examination era; 0 unknown */
};

/* Gives the extractor the detector's figures (the workload's observed ones). */
void wl_extract_figures(struct wl_extractor *x, const struct wl_figures *f);

/*
 * Ends extraction: pairs what is left, infers pre-trace in-flight writes,
 * chooses the fidelity, rebases times on epoch_us and sorts.  The result is
 * moved into *out (initialised by this call).  Returns -1 with err set.
 */
int wl_extract_finish(struct wl_extractor *x, struct wl_workload *out, struct fs_err *err);

/* Frees an extractor. */
void wl_extract_free(struct wl_extractor *x);

#endif
