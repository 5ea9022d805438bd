/*
 * parsers/follow: follow growing logs like `tail -F`.
 *
 * A ps_follow holds one or more sources (files, or "-" for stdin) and hands
 * out their complete lines as they are appended:
 *
 *   - new lines as they are written (inotify on the files' directories, with
 *     a poll of at most poll_ms as the fallback, so nothing depends on
 *     inotify working);
 *   - rotation (the path names a new inode): the old file is read to its
 *     end, a final unterminated line of it is delivered, then the new file
 *     is read from its start;
 *   - truncation (the size drops below what was read): reading restarts at
 *     offset 0, the held partial line (it no longer exists) is dropped;
 *   - a partial last line is held until its newline arrives (or, for stdin
 *     and rotated-away files, until the input ends);
 *   - by default a file is followed from its end (a partial last line there
 *     is skipped up to its newline); from_start reads it from byte 0.
 *
 * Memory is bounded: one read buffer per source of at most max_line plus a
 * read chunk; longer lines are cut at max_line (the rest is skipped up to
 * the newline and counted in cut_lines).  The module never prints.
 *
 * Limitations (as for tail -F): a truncation followed, before the next
 * check, by a rewrite past the old read offset cannot be seen as one; and
 * when the path is rotated twice between two checks, the middle file is
 * never opened (its lines are missed).  The check runs at every end of
 * data and at least every poll_ms.
 */
#ifndef FS_PARSERS_FOLLOW_H
#define FS_PARSERS_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct ps_follow_options {
	int from_start;		/* 1: read existing contents first; 0: start at the end */
	int poll_ms;		/* longest wait between checks; default 100 */
	size_t max_line;	/* lines longer than this are cut; default 1 MiB */
	int no_inotify;		/* 1: poll only (tests, odd filesystems) */
};

/* One line handed out by ps_follow_next; valid until the next call. */
struct ps_follow_line {
	const char *p;		/* not NUL-terminated, without the newline (CR kept) */
	size_t n;
	int src;		/* source index (order of ps_follow_add) */
	uint64_t off;		/* byte offset of the line in the current file */
	uint64_t lineno;	/* 1-based, restarts with each new file / truncation */
	uint64_t generation;	/* rotations + truncations of this source so far */
};

/* Per-source counters. */
struct ps_follow_stats {
	uint64_t lines;		/* lines handed out */
	uint64_t bytes;		/* bytes read */
	uint64_t rotations;
	uint64_t truncations;
	uint64_t cut_lines;	/* lines longer than max_line */
	int ended;		/* stdin (or a non-followable input) reached its end */
};

struct ps_follow;

/* Fills in the defaults (end of file, 100 ms, 1 MiB, inotify on). */
void ps_follow_options_default(struct ps_follow_options *o);

/* Creates an empty follower; NULL with err set on failure. */
struct ps_follow *ps_follow_new(const struct ps_follow_options *o, struct fs_err *err);

/*
 * Adds a source: a path, or "-" for stdin (read from its start).  Returns
 * the source index, or -1 with err set ("PATH: reason") if it cannot be
 * opened or is a directory.
 */
int ps_follow_add(struct ps_follow *f, const char *path, struct fs_err *err);

/*
 * Next complete line of any source (sources take turns).  Returns 1 with
 * *out set, 0 when no complete line is available now, -1 on a read error
 * (err names the file).  Rotation and truncation are handled inside.
 */
int ps_follow_next(struct ps_follow *f, struct ps_follow_line *out, struct fs_err *err);

/*
 * Waits until a source may have new data, extra_fd (if >= 0) is readable,
 * or timeout_ms passes (never longer than poll_ms).  Returns 1 if extra_fd
 * is readable, 0 otherwise (also when interrupted by a signal).
 */
int ps_follow_wait(struct ps_follow *f, int extra_fd, int timeout_ms);

/* 1 when every source has ended (only stdin and pipes end; files never do). */
int ps_follow_ended(const struct ps_follow *f);

/* Number of sources, a source's path as given, and its counters. */
int ps_follow_nsources(const struct ps_follow *f);
const char *ps_follow_path(const struct ps_follow *f, int src);
void ps_follow_stats(const struct ps_follow *f, int src, struct ps_follow_stats *out);

/*
 * How many waits inotify ended: news of a followed file (an append, a
 * truncation) or of its name (a rotation), never another file's writes.
 */
uint64_t ps_follow_wakes(const struct ps_follow *f);

/* Closes every source and frees the follower. */
void ps_follow_free(struct ps_follow *f);

#endif
