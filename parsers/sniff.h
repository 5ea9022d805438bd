/*
 * parsers/sniff: is this input a SLASH2 log at all?
 *
 * Commands refuse an input none of whose first lines carries a psclog
 * header (/etc/passwd, a binary, an empty file) before they store or replay
 * anything.  The judgement is the parser's own: the first lines go through
 * ps_reader and ps_parser exactly as ingest would read them.
 */
#ifndef FS_PARSERS_SNIFF_H
#define FS_PARSERS_SNIFF_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define PS_SNIFF_LINES	1000		/* lines looked at, at most */
#define PS_SNIFF_BYTES	(1u << 20)	/* bytes looked at, at most (a longer line is read whole) */

/* What the first lines of an input held. */
struct ps_sniff {
	uint64_t lines;		/* lines looked at */
	uint64_t log_lines;	/* of which carried a psclog header */
	uint64_t first_log;	/* line number of the first of those (0: none) */
};

enum {
	PS_SNIFF_NOT_LOG = 0,	/* no line with a psclog header (an empty input too) */
	PS_SNIFF_LOG = 1,	/* at least one */
	PS_SNIFF_STREAM = 2	/* "-", a pipe, a socket or a device: not read (that would consume it) */
};

/*
 * Looks at the first lines of path (at most PS_SNIFF_LINES lines or
 * PS_SNIFF_BYTES bytes, decompressed) with the header format log_format
 * (NULL: detect).  Returns PS_SNIFF_LOG, PS_SNIFF_NOT_LOG or
 * PS_SNIFF_STREAM, or -1 with err set ("PATH: reason") when the input
 * cannot be opened or read.  out may be NULL.
 */
int ps_sniff_path(const char *path, const char *log_format, struct ps_sniff *out,
    struct fs_err *err);

/*
 * The same over n bytes of lines in memory (the last line may lack its
 * newline); PS_SNIFF_LOG or PS_SNIFF_NOT_LOG, or -1 with err set when
 * log_format is not a valid format.
 */
int ps_sniff_buf(const char *buf, size_t n, const char *log_format, struct ps_sniff *out,
    struct fs_err *err);

#endif
