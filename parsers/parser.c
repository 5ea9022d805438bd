/*
 * ps_parser: header detection + prefixes + classification (parser.h).
 *
 * Detection: with a forced format only that one is tried.  Otherwise the
 * built-in formats (spec 1.3) are candidates; the one that matched the
 * previous line is tried first, and on a miss every other candidate in
 * turn, so a format change mid-file (msctl -p log.format=...) is followed
 * from its first line.  A syslog prefix is tried when the header does not
 * match at column 0 (first, when the previous line had one).
 */
#include "parsers/parser.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/header.h"
#include "parsers/internal.h"

#define MAX_FMTS	32

struct ps_parser {
	struct ps_header *fmts[MAX_FMTS];
	int nfmts;
	int cur;			/* candidate that matched last; -1 before the first */
	int seen[MAX_FMTS];		/* candidates seen, in order of first match */
	int nseen;
	unsigned char is_seen[MAX_FMTS];
	int last_syslog;
	struct ps_class_state cls;
};

/* Frees the parser. */
void
ps_parser_free(struct ps_parser *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nfmts; i++)
		ps_header_free(p->fmts[i]);
	free(p);
}

/* Creates a parser for log_format, or detecting among the built-ins. */
struct ps_parser *
ps_parser_new(const char *log_format, struct fs_err *err)
{
	struct ps_parser *p;
	int i, n;

	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		fs_err_set(err, ENOMEM, "parser: out of memory");
		return NULL;
	}
	n = log_format != NULL ? 1 : ps_header_nbuiltin();
	for (i = 0; i < n && i < MAX_FMTS; i++) {
		const char *f = log_format != NULL ? log_format : ps_header_builtin(i);

		p->fmts[i] = ps_header_compile(f, err);
		if (p->fmts[i] == NULL) {
			ps_parser_free(p);
			return NULL;
		}
		p->nfmts++;
	}
	p->cur = -1;	/* nothing matched yet: the first line tries all */
	return p;
}

/* Matches the header of one candidate; notes it as current and seen. */
static size_t
try_fmt(struct ps_parser *p, int i, const char *line, size_t len,
    struct ps_event *ev)
{
	size_t hl = ps_header_match(p->fmts[i], line, len, ev);

	if (hl == 0)
		return 0;
	p->cur = i;
	if (!p->is_seen[i]) {
		p->is_seen[i] = 1;
		p->seen[p->nseen++] = i;
	}
	return hl;
}

/*
 * Matches the header at line[0] with the current candidate, else with the
 * candidate whose header is longest (so "...] " wins over "...]" and the
 * message does not start with a space).
 */
static size_t
match_any(struct ps_parser *p, const char *line, size_t len,
    struct ps_event *ev)
{
	struct ps_event tmp;
	size_t hl, best = 0;
	int i, besti = -1;

	if (p->cur >= 0) {
		hl = try_fmt(p, p->cur, line, len, ev);
		if (hl > 0)
			return hl;
	}
	for (i = 0; i < p->nfmts; i++) {
		if (i == p->cur)
			continue;
		tmp = *ev;
		hl = ps_header_match(p->fmts[i], line, len, &tmp);
		if (hl > best) {
			best = hl;
			besti = i;
		}
	}
	if (besti < 0)
		return 0;
	return try_fmt(p, besti, line, len, ev);
}

/* Header, syslog prefix or both; returns the message offset or 0. */
static size_t
match_line(struct ps_parser *p, const char *line, size_t len,
    struct ps_event *ev)
{
	size_t hl, sl;

	if (p->last_syslog) {
		sl = ps_header_syslog_len(line, len);
		if (sl > 0 && (hl = match_any(p, line + sl, len - sl, ev)) > 0) {
			ev->has |= PS_HAS_SYSLOG;
			return sl + hl;
		}
	}
	hl = match_any(p, line, len, ev);
	if (hl > 0) {
		p->last_syslog = 0;
		return hl;
	}
	if (!p->last_syslog) {
		sl = ps_header_syslog_len(line, len);
		if (sl > 0 && (hl = match_any(p, line + sl, len - sl, ev)) > 0) {
			ev->has |= PS_HAS_SYSLOG;
			p->last_syslog = 1;
			return sl + hl;
		}
	}
	return 0;
}

/* Parses one line into ev (see parser.h). */
int
ps_parser_parse(struct ps_parser *p, const char *line, size_t len,
    uint64_t off, uint64_t lineno, struct ps_event *ev)
{
	size_t ml;

	ps_event_reset(ev);
	ev->src_off = off;
	ev->lineno = lineno;
	ml = match_line(p, line, len, ev);
	if (ml == 0) {
		ev->msg.p = line;
		ev->msg.n = len;
		return 0;
	}
	ps_body_decode(line + ml, len - ml, ev);
	ps_classify(&p->cls, ev);
	return 1;
}

/* Number of formats seen so far. */
int
ps_parser_nformats(const struct ps_parser *p)
{
	return p->nseen;
}

/* Format i seen (in order of first match), or NULL. */
const char *
ps_parser_format(const struct ps_parser *p, int i)
{
	if (i < 0 || i >= p->nseen)
		return NULL;
	return ps_header_format(p->fmts[p->seen[i]]);
}
