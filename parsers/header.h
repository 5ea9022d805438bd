/*
 * The psclog header grammar: a PSC_LOG_FORMAT string compiled into an
 * anchored, JIT-compiled PCRE2 pattern with one named group per escape
 * (spec section 1.2).  Exposed so tests and fuzzers can drive it directly;
 * ps_parser (parser.h) is the usual entry point.
 *
 * Group names: sec (%s), usec (%u), thread (%n), func (%F), file (%f),
 * line (%l), level (%L), host (%h) or fqdn (%H) whichever comes first
 * (ps_event.host), rank (%r), tid (%i),
 * pid (%P), uid (%U), subsys_id (%t), subsys (%T), base (%B), date (%D<..>),
 * prog (%N), ptid (%I), exe (%X), peer (%A), stack (%S).  Only the first
 * occurrence of an escape is captured.
 *
 * A ps_header owns its match data: one header must not be used by two
 * threads at once.
 */
#ifndef FS_PARSERS_HEADER_H
#define FS_PARSERS_HEADER_H

#include <stddef.h>

#include "parsers/event.h"
#include "util/err.h"

struct ps_header;

/* Compiles a PSC_LOG_FORMAT string.  NULL with err set on failure. */
struct ps_header *ps_header_compile(const char *fmt, struct fs_err *err);

/* The format string the header was compiled from. */
const char *ps_header_format(const struct ps_header *h);

/* The PCRE2 pattern generated from the format (NUL-terminated). */
const char *ps_header_pattern(const struct ps_header *h);

/*
 * Matches the header at line[0] (anchored).  On a match fills the header
 * fields of ev (ts_us, thread, tid_s, tid, subsys, file, func, host,
 * srcline, level and PS_HAS_LEVEL) and returns the header length in bytes
 * (> 0, the message starts there); returns 0 if the line does not match.
 * ev is not reset.
 *
 * %u: 6 digits are microseconds; 7 or 8 are usec x 100 (PFL printed %u so
 * from bcfda782 to 02f7add4, 2016-03, and "%06u" also matches "%06u00");
 * once a header has seen that, its 6-digit values are usec x 100 too (the
 * window printed 6 digits below 10 ms).  This is the header's only state:
 * one header per source (ps_parser does so).  %I accepts a "0x" prefix
 * (pthread_t printed as a pointer on FreeBSD and macOS).
 */
size_t ps_header_match(struct ps_header *h, const char *line, size_t len,
    struct ps_event *ev);

/*
 * Formats whose fields are plain (the built-in defaults among them) are
 * also compiled into a hand-written left-to-right matcher that gives the
 * same result as the pattern and is used by default.  on = 0 forces
 * PCRE2, on = 1 the fast matcher where there is one.  Returns 1 if the
 * format has a fast matcher.  For tests and benchmarks.
 */
int ps_header_set_fast(struct ps_header *h, int on);

/*
 * Infers the PSC_LOG_FORMAT of a local layout from one line whose header
 * no known format matches: "[" ["@"] epoch seconds, "." or ":", the
 * fraction, a space, then words up to the first "]".  The first word with
 * a ':' starts "thread:..."; the words after the thread are read by
 * content: right after it a number is %i and a hex number %I, the last
 * number is %l, a name ending in .c/.h is %B, of the C identifiers the
 * last is %F and, when there are several, the first %T; other numbers are
 * %P; anything else (and every word before the thread) is copied as a
 * literal, so "[%s.%06u00 junk %n:%I:%T %B %F %l]" is found from one of
 * its lines.  Writes the NUL-terminated format to fmt (fmtsz bytes) and
 * returns its length, or 0 if the line does not look like such a header.
 * The caller compiles the format and checks that it matches the line.
 */
size_t ps_header_infer(const char *line, size_t len, char *fmt, size_t fmtsz);

/* The usec x 100 state of ps_header_match (for copying a parser's state). */
int ps_header_usec_x100(const struct ps_header *h);
void ps_header_set_usec_x100(struct ps_header *h, int on);

/* Frees a compiled header (NULL is fine). */
void ps_header_free(struct ps_header *h);

/*
 * The built-in formats: the defaults of spec 1.3 (newest first), then the
 * local layouts of spec 3.5 (function before file); and their count.
 */
int ps_header_nbuiltin(void);
const char *ps_header_builtin(int i);

/*
 * Length of a syslog prefix at the start of line, or 0 if there is none:
 *   - RFC 3164: "Mon DD HH:MM:SS host ident[pid]: " (the host may be
 *     missing, the pid too), or an RFC 3339 stamp instead of the BSD one;
 *   - RFC 5424: "<PRI>1 STAMP HOST APP PROCID MSGID SD " (SD "-" or
 *     [elements]), e.g. "<30>1 2015-06-30T04:37:02-04:00 h app 1 - - ";
 *   - either with a leading "<PRI>" as sent over the network;
 *   - the bare "ident[pid]: " of a daemon's own LOG_PERROR echo.
 * *host is set to the host name the prefix carries (empty if none: no
 * host field, or RFC 5424's nil "-").
 */
size_t ps_header_syslog(const char *line, size_t len, struct ps_str *host);

/* ps_header_syslog() without the host. */
size_t ps_header_syslog_len(const char *line, size_t len);

#endif
