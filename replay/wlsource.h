/*
 * Workload inputs: a workload file, log files or a database, judged from
 * their first bytes, all turned into a struct wl_workload.
 */
#ifndef FS_REPLAY_WLSOURCE_H
#define FS_REPLAY_WLSOURCE_H

#include "detect/spin.h"
#include "parsers/source.h"
#include "replay/workload.h"
#include "util/err.h"

enum wl_input { WL_IN_LOG = 0, WL_IN_WORKLOAD, WL_IN_DB };

/*
 * The log pipeline: attributed events (a source's, parsers/source.h) go to
 * the spin detector and the extractor; the detector's runs and figures go
 * to the extractor.  sp may be NULL (the detector's defaults).
 */
struct wl_pipe;
struct wl_pipe *wl_pipe_new(const struct wl_extract_opts *o, const struct sp_options *sp,
    struct fs_err *err);
int wl_pipe_feed(struct wl_pipe *p, const struct ps_event *ev, struct fs_err *err);
/* Ends the trace and builds the workload (moved into *w). */
int wl_pipe_finish(struct wl_pipe *p, struct wl_workload *w, struct fs_err *err);
void wl_pipe_free(struct wl_pipe *p);

/* A source over the rows of a database made by ingest, in log order. */
struct ps_source *wl_db_source(const char *path, struct fs_err *err);

/* Judges an input from its first bytes (missing files count as logs). */
enum wl_input wl_input_kind(const char *path);

/* Extracts one workload from log files read in the given order ("-" = stdin). */
int wl_load_logs(struct wl_workload *w, char *const *paths, int n,
    const struct wl_extract_opts *o, struct fs_err *err);

/* Extracts the workload of everything ingested into the database at path. */
int wl_load_db(struct wl_workload *w, const char *path, const struct wl_extract_opts *o,
    struct fs_err *err);

/*
 * Calls cb with every event that wl_load_db feeds the extractor, in the
 * same order (time, source id, source offset; then writes, RPCs, bmap
 * states, episode cycles, each in log order); lineno is the position.
 * The event is valid only during the call.  Returns 0, -1 with err set,
 * or cb's nonzero return value when cb stopped the walk.
 */
int wl_db_events(const char *path, int (*cb)(void *arg, const struct ps_event *ev), void *arg,
    struct fs_err *err);

/* Loads one input of any kind (workload file, database or log). */
int wl_load(struct wl_workload *w, const char *path, const struct wl_extract_opts *o,
    struct fs_err *err);

#endif
