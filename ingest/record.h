/*
 * ingest/record: recording followed logs into a database while something
 * else reads them (`flushscope top --db`).  The reader parses each line
 * once and hands it here (ig_record_line) before its detector sees it; the
 * detector's results come through the callbacks given to it
 * (ig_record_callbacks).  Each followed input has a sink (ingest/ingest.h)
 * with its own database connection and writer thread; a new generation of
 * an input (rotation, truncation) ends its source and starts a new one.
 * Commits never block the reader: a commit that fails (a lock held too
 * long, a full disk) keeps its rows, and the next one retries them.
 */
#ifndef FS_INGEST_RECORD_H
#define FS_INGEST_RECORD_H

#include <stdint.h>

#include "detect/spin.h"
#include "ingest/ingest.h"
#include "parsers/source.h"
#include "util/err.h"

struct ig_recorder;

/*
 * Records inputs paths[0..n) (regular files: each is read from its first
 * byte by the caller, so the derived figures are those of the whole
 * file) into the database at db.  Starting a source (here, and when an
 * input rotates) waits for a database locked by another writer, calling
 * wait (may be NULL) with the reason before each new try.  NULL with err
 * set on failure.
 */
struct ig_recorder *ig_record_new(const char *db, char *const *paths, int n,
    const struct ig_options *o, void (*wait)(void *arg, const char *why), void *wait_arg,
    struct fs_err *err);

/* The callbacks to give input src's detector (they follow its current source). */
void ig_record_callbacks(struct ig_recorder *r, int src, struct sp_callbacks *cb);

/*
 * Records one line of input src; generation counts the input's rotations
 * and truncations (a new one ends the current source, with det's thread
 * figures, and starts a new one).  -1 with err set if the new source could
 * not be started (recording of src stops).
 */
int ig_record_line(struct ig_recorder *r, int src, uint64_t generation,
    const struct sp_detector *det, const struct ps_item *it, struct fs_err *err);

/*
 * Commits input src's recording (det and p: its detector and parser);
 * final marks its source complete.  -1 with err set when the database
 * refused the commit (kept and retried at the next commit).
 */
int ig_record_commit(struct ig_recorder *r, int src, const struct sp_detector *det,
    const struct ps_parser *p, int final, struct fs_err *err);

/* Lines stored by this recorder, commits handed over, and the last error ("" none). */
void ig_record_status(const struct ig_recorder *r, uint64_t *lines, uint64_t *commits,
    char *err, size_t n);

/* Waits for the last commits and frees the recorder. */
void ig_record_free(struct ig_recorder *r);

#endif
