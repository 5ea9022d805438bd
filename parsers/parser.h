/*
 * parsers: bytes -> lines -> header -> body -> struct ps_event.
 *
 *   ps_reader   one input (a file, "-" for stdin, .gz read transparently):
 *               yields lines with their byte offsets, cut at max_line (64
 *               MiB by default) so memory stays bounded.  CR before LF is
 *               dropped; NUL bytes and invalid UTF-8 are passed through; a
 *               final line without a newline is still a line.
 *   ps_parser   recognises the psclog header (any PSC_LOG_FORMAT, detected
 *               per source and re-detected when it changes mid-file, with an
 *               optional syslog prefix; the format of an unknown local
 *               layout is inferred from its lines), decodes the object
 *               prefixes and classifies the message into the design's event
 *               vocabulary.
 *
 * One parser per source: format detection is per file.
 */
#ifndef FS_PARSERS_PARSER_H
#define FS_PARSERS_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "parsers/event.h"
#include "util/err.h"

/* ---- lines ---- */

struct ps_reader;

/* The default longest line returned whole (ps_reader_set_max_line). */
#define PS_READER_MAX_LINE	((size_t)64 << 20)

/*
 * Opens path ("-" = stdin) and positions it at byte start_off of the
 * (decompressed) stream.  gzip is recognised by its content.  Returns NULL
 * with err set ("PATH: reason") on a missing or unreadable file, a
 * directory, a corrupt .gz header, or a file named *.gz whose content is
 * not gzip ("PATH: not in gzip format ...").
 */
struct ps_reader *ps_reader_open(const char *path, uint64_t start_off, struct fs_err *err);

/*
 * Next line.  Returns 1 and sets *line (not NUL-terminated, without the line
 * terminator), *len and *off (offset of the line's first byte); 0 at end of
 * input; -1 on a read or decompression error (err names the file and the
 * line number where it happened).  The line stays valid until the next call.
 */
int ps_reader_next(struct ps_reader *r, const char **line, size_t *len,
    uint64_t *off, struct fs_err *err);

/*
 * Lines longer than max bytes are cut: the first max bytes are returned
 * as the line (its offset is the line's), the rest up to its newline is
 * read and dropped, and it is counted (ps_reader_stats).  max = 0 sets
 * the default, PS_READER_MAX_LINE.  The reader's buffer stays below max
 * plus 64 KiB (or 1 MiB).  May be called at any time; applies from the
 * next line.
 */
void ps_reader_set_max_line(struct ps_reader *r, size_t max);

/* What the reader has seen (line numbers count from where it started). */
struct ps_reader_stats {
	uint64_t lines;			/* lines returned */
	uint64_t cut_lines;		/* lines longer than max_line, returned cut */
	uint64_t cut_bytes;		/* bytes dropped from them */
	uint64_t first_cut_lineno;	/* 1-based number of the first cut line; 0 if none */
	uint64_t first_cut_off;		/* its byte offset */
};

/* Fills *st. */
void ps_reader_stats(const struct ps_reader *r, struct ps_reader_stats *st);

/* 1 if the last line returned was cut. */
int ps_reader_last_cut(const struct ps_reader *r);

/* Byte offset just past the last line returned (where a resume would start). */
uint64_t ps_reader_offset(const struct ps_reader *r);

/*
 * 1 if the last line returned was the input's final line and had no
 * newline: all there was at the end of the input when it was read.  Its
 * writer may still be in the middle of it (a file being written), so a
 * caller that can read the file again later may prefer to leave it.
 */
int ps_reader_unterminated(const struct ps_reader *r);

/* 1 if the input is gzip-compressed. */
int ps_reader_is_gz(const struct ps_reader *r);

/* Closes the input. */
void ps_reader_close(struct ps_reader *r);

/*
 * Block reading, for a caller that splits lines itself (the reader thread
 * of parsers/source.c): the next up to n bytes of the (decompressed)
 * stream into dst, from where the reader stands.  Returns the count, 0 at
 * the end of the input, -1 on error with err holding the reason alone
 * (the caller names the file and the line).  Not to be mixed with
 * ps_reader_next on one reader.
 */
ssize_t ps_reader_read(struct ps_reader *r, char *dst, size_t n, struct fs_err *err);

/*
 * From now on a read that waits for input (a pipe, a terminal) ends when
 * *stop becomes nonzero (read atomically; another thread sets it): it
 * fails with ECANCELED.  NULL: reads wait as long as it takes.
 */
void ps_reader_set_stop(struct ps_reader *r, const int *stop);

/* Frees the line buffer once ps_reader_read has drained it (memory only). */
void ps_reader_drop_buffer(struct ps_reader *r);

/* ---- headers and bodies ---- */

struct ps_parser;

/*
 * Creates a parser.  log_format is a PSC_LOG_FORMAT string to use for every
 * line, or NULL to detect the format from the lines themselves.
 */
struct ps_parser *ps_parser_new(const char *log_format, struct fs_err *err);

/*
 * Parses one line.  Always fills *ev (ps_event_reset first; src_off and
 * lineno set from the arguments).  Returns 1 if a psclog header was
 * recognised (ev->kind may still be PS_EV_OTHER), 0 if the line is
 * unparsed (no header matched).
 */
int ps_parser_parse(struct ps_parser *p, const char *line, size_t len,
    uint64_t off, uint64_t lineno, struct ps_event *ev);

/* The header formats seen so far (PSC_LOG_FORMAT strings, inferred ones too), in order. */
int ps_parser_nformats(const struct ps_parser *p);
const char *ps_parser_format(const struct ps_parser *p, int i);

/* Frees the parser. */
void ps_parser_free(struct ps_parser *p);

/*
 * Parsing in parallel (parsers/source.c): what a parser carries from one
 * line to the next (the candidate that matched last, the formats seen and
 * inferred, the syslog hint, the classifier's era hint, each header's
 * usec x 100 reading).  Two parsers in equal states parse the next lines
 * alike, so a chunk parsed ahead from a guessed state is exact when the
 * guess equals the state the lines before it left.
 */
#define PS_PARSER_MAX_FMTS	32

struct ps_parser_state {
	int nfmts;			/* candidates: the given or built-in ones, then inferred */
	int cur;			/* the one that matched last; -1 before the first */
	int nseen;			/* formats seen, in order of first match */
	unsigned char seen[PS_PARSER_MAX_FMTS];
	int last_syslog;
	int seen_checking;
	uint32_t usec_x100;		/* bit i: candidate i reads 6-digit %u as usec x 100 */
	char *inferred[PS_PARSER_MAX_FMTS];	/* format strings of candidates past the base ones */
};

/* Copies p's state into *s (owning copies of inferred formats); -1 out of memory. */
int ps_parser_state_get(const struct ps_parser *p, struct ps_parser_state *s);

/*
 * Puts p into state s: compiles the inferred formats p lacks, drops the
 * ones s does not have.  s must come from a parser with the same
 * log_format.  -1 with err set on failure (p is then unchanged).
 */
int ps_parser_state_set(struct ps_parser *p, const struct ps_parser_state *s,
    struct fs_err *err);

/*
 * 1 if a and b are the same state.  Inferred formats are compared by count
 * only: states of one input share their formats' order, so a state's
 * inferred formats are a prefix of any later state's.
 */
int ps_parser_state_eq(const struct ps_parser_state *a, const struct ps_parser_state *b);

/* Frees what ps_parser_state_get allocated (the struct itself is the caller's). */
void ps_parser_state_free(struct ps_parser_state *s);

#endif
