/*
 * parsers/source: the one source of flush events.
 *
 * Every command that reads logs (ingest, spins, top, extract, replay) reads
 * them through this module, so a line is read, parsed and attributed the
 * same way everywhere:
 *
 *   ps_stream   one input stream's parser and attribution state: a line in,
 *               a struct ps_event out, with its thread numbered (ev->thr)
 *               and the bmap it is about already known (ev->bm_*).
 *               Attribution happens here and only here:
 *                 - a line with a bmap@ prefix is about that bmap (and
 *                   teaches the stream which bmap that address is now);
 *                 - a biorq@ line is about the bmap at its b= / bmap=
 *                   address, when a bmap@ line has named that address;
 *                 - an era-Z RPC line names its fid (and bmap number);
 *                 - a req@ RPC line (era A) or a biorq line whose bmap
 *                   address is unknown belongs to the bmap of the same
 *                   thread's latest EXAMINE.
 *               Addresses are valid for one lifetime: a bmap@ line with a
 *               known address and another identity re-points it.  Memory:
 *               the addresses seen in the last PS_ATTRIB_WINDOW_US of log
 *               time (two generations of tables), and the threads.
 *   ps_source   a pull iterator over one input (a file, "-" for stdin, .gz
 *               read transparently, or any other producer of lines or
 *               events: a store's rows, see ps_source_new).  Each item is a
 *               line with its event or "unparsed", its raw text, offset,
 *               line number and whether it is an unterminated last line.
 *
 * Parallel reading (ps_source_open with jobs >= 2): a reader thread reads
 * (and inflates) the input into chunks of whole lines; jobs parser threads
 * parse chunks ahead; the caller's thread takes the chunks in file order
 * and attributes their events, so items come out exactly as with jobs = 1
 * (the sequential path: one line read and parsed per call, no thread).
 * A parser carries a little state from line to line (the format that
 * matched last, formats seen, ...): a chunk is parsed ahead from the state
 * the caller last reached and its result is used only if that guess was
 * the state the lines before it really left and the chunk saw no new
 * format; otherwise the caller parses the chunk itself, line by line.
 */
#ifndef FS_PARSERS_SOURCE_H
#define FS_PARSERS_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "parsers/event.h"
#include "util/err.h"

#define PS_ATTRIB_WINDOW_US	(300LL * 1000000)	/* attribution memory, log time */

/* ---- one stream: parser + attribution ---- */

struct ps_stream;
struct ps_parser;

/* A stream that parses with log_format (NULL: detect it from the lines). */
struct ps_stream *ps_stream_new(const char *log_format, struct fs_err *err);

/*
 * Parses one line into *ev (always filled; src_off and lineno from the
 * arguments) and attributes it.  Returns 1 if a psclog header was
 * recognised, 0 if the line is unparsed.
 */
int ps_stream_line(struct ps_stream *st, const char *line, size_t len, uint64_t off,
    uint64_t lineno, struct ps_event *ev);

/*
 * Attributes an event that did not come from ps_stream_line (e.g. rebuilt
 * from stored rows): fills ev->bm_* from the stream's state and learns
 * from the event, exactly as for a parsed line.
 */
void ps_stream_attribute(struct ps_stream *st, struct ps_event *ev);

/*
 * A new input generation began (rotation, truncation): the header format
 * is detected again.  Attribution state is kept (the same client goes on).
 */
int ps_stream_reset(struct ps_stream *st, struct fs_err *err);

/* The stream's parser (formats seen: ps_parser_nformats / ps_parser_format). */
const struct ps_parser *ps_stream_parser(const struct ps_stream *st);

/* Frees a stream (NULL is fine). */
void ps_stream_free(struct ps_stream *st);

/* ---- the pull iterator ---- */

/* One line of an input, with what it means. */
struct ps_item {
	int parsed;			/* 1: a psclog line (ev is its event); 0: unparsed */
	struct ps_event ev;		/* always set (kind OTHER and no header if unparsed) */
	const char *line;		/* the raw line, without its terminator; may be NULL */
	size_t len;			/*   (NULL for items rebuilt from stored rows) */
	uint64_t off;			/* byte offset of the line in the input stream */
	uint64_t end;			/* offset just past the line (and its newline) */
	uint64_t lineno;		/* 1-based line number (or position) */
	int unterminated;		/* the input's final line, without a newline */
	int cut;			/* longer than the reader's limit: line holds its start */
};

struct ps_source;

/* What an implementation of a source provides (see ps_source_new). */
struct ps_source_ops {
	/* Next item: 1, 0 at the end, -1 with err set. */
	int (*next)(void *impl, struct ps_item *it, struct fs_err *err);
	/* Frees the implementation. */
	void (*close)(void *impl);
};

/* A source over another producer of items (it owns impl). */
struct ps_source *ps_source_new(const struct ps_source_ops *ops, void *impl,
    struct fs_err *err);

/*
 * A source over the log at path ("-" = standard input; gzip recognised by
 * its content), read from its first byte, parsed with log_format (NULL =
 * detect), by jobs parser threads (<= 1: sequentially, in the caller's
 * thread).  The threads start at the first ps_source_next; if they cannot,
 * the source reads sequentially.
 */
struct ps_source *ps_source_open(const char *path, const char *log_format, int jobs,
    struct fs_err *err);

/* Most parser threads worth starting: past them the in-order stages bound the speed. */
#define PS_JOBS_MAX_USEFUL	4

/*
 * The default parser threads of a command whose own threads keep busy
 * cores of the cores available (ingest: 1, its database writer): the rest,
 * at most PS_JOBS_MAX_USEFUL; 1 (sequential) when one or none is left.
 * Parser threads beyond the cores only take them from the in-order
 * stages: on 2 cores an ingest read and parsed in its own thread took 15
 * to 17 % less time and CPU than with two parser threads or one
 * (bench/ingest.sh's log, medians of 15 interleaved runs), and as long on
 * the .gz.
 */
int ps_jobs_default(int busy);

/*
 * For tests: the bytes of text a parallel source's chunks are filled with
 * and the longest line returned whole (see ps_reader_set_max_line); 0 =
 * the defaults (256 KiB, PS_READER_MAX_LINE).  Before the first item.
 */
void ps_source_tune(struct ps_source *s, size_t chunk, size_t max_line);

/* Next item: 1, 0 at the end of the input, -1 with err naming the file and line. */
int ps_source_next(struct ps_source *s, struct ps_item *it, struct fs_err *err);

/*
 * The same without a copy: *it points to the source's own item (a
 * parallel source's parsed chunk), the caller's to read and change until
 * the next call.
 */
int ps_source_next_ref(struct ps_source *s, struct ps_item **it, struct fs_err *err);

/* For a file source: its reader's offset, gzip state and parser (else 0 / NULL). */
uint64_t ps_source_offset(const struct ps_source *s);
int ps_source_is_gz(const struct ps_source *s);
const struct ps_parser *ps_source_parser(const struct ps_source *s);

/* Closes the input (NULL is fine). */
void ps_source_close(struct ps_source *s);

#endif
