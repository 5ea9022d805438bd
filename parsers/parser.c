/*
 * ps_parser: header detection + prefixes + classification (parser.h).
 *
 * Detection: with a forced format only that one is tried.  Otherwise the
 * built-in formats (spec 1.3) are candidates; the one that matched the
 * previous line is tried first, and on a miss every other candidate in
 * turn, so a format change mid-file (msctl -p log.format=...) is followed
 * from its first line.  A syslog prefix is tried when the header does not
 * match at column 0 (first, when the previous line had one).
 *
 * A line no candidate matches may still have a psclog header of a local
 * layout: its format is inferred from the line (ps_header_infer), checked
 * against it and added to the candidates, up to MAX_FMTS in all; past
 * that, such lines are matched with a format compiled for the line alone.
 */
#include "parsers/parser.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/header.h"
#include "parsers/internal.h"

#define MAX_FMTS	PS_PARSER_MAX_FMTS

struct ps_parser {
	struct ps_header *fmts[MAX_FMTS];
	int nfmts;
	int nbase;			/* the given or built-in formats: fmts[0, nbase) */
	int forced;			/* a format was given: nothing is inferred */
	int cur;			/* candidate that matched last; -1 before the first */
	int seen[MAX_FMTS];		/* candidates seen, in order of first match */
	int nseen;
	unsigned char is_seen[MAX_FMTS];
	int last_syslog;
	struct ps_class_state cls;
	struct ps_body_memo memo;	/* a cache: no part of the parser's state */
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
	p->forced = log_format != NULL;
	for (i = 0; i < n && i < MAX_FMTS; i++) {
		const char *f = log_format != NULL ? log_format : ps_header_builtin(i);

		p->fmts[i] = ps_header_compile(f, err);
		if (p->fmts[i] == NULL) {
			ps_parser_free(p);
			return NULL;
		}
		p->nfmts++;
	}
	p->nbase = p->nfmts;
	p->cur = -1;	/* nothing matched yet: the first line tries all */
	return p;
}

/* Notes candidate i as current and, the first time, as seen. */
static void
note_match(struct ps_parser *p, int i)
{
	p->cur = i;
	if (!p->is_seen[i]) {
		p->is_seen[i] = 1;
		p->seen[p->nseen++] = i;
	}
}

/* 1 if the slice names a source file (ends in ".c" or ".h"). */
static int
is_src_name(struct ps_str s)
{
	return s.n > 2 && s.p[s.n - 2] == '.' && (s.p[s.n - 1] == 'c' || s.p[s.n - 1] == 'h');
}

/*
 * 1 if the header put the function where the file belongs: the file field
 * is not a source file name and the function field is.  Formats are
 * ambiguous here ("%B %F" and the local "%F %B" match the same lines).
 */
static int
fields_swapped(const struct ps_event *ev)
{
	return ev->file.n > 0 && ev->func.n > 0 && !is_src_name(ev->file) &&
	    is_src_name(ev->func);
}

/* Resets the fields ps_header_match() fills. */
static void
header_clear(struct ps_event *ev)
{
	ev->ts_us = INT64_MIN;
	ev->thread = ev->tid_s = ev->subsys = ev->file = ev->func = ev->host =
	    (struct ps_str){ NULL, 0 };
	ev->tid = 0;
	ev->srcline = -1;
	ev->level = -1;
	ev->has &= ~(unsigned)PS_HAS_LEVEL;
}

/*
 * Matches the header at line[0] with the current candidate, else with the
 * candidate whose header is longest (so "...] " wins over "...]" and the
 * message does not start with a space; the others are also tried when the
 * current one leaves a space there).  Between candidates of the same
 * length, one that puts a file name in the file field wins; when none
 * does, the two fields are swapped back (they are never left swapped).
 */
static size_t
match_any(struct ps_parser *p, const char *line, size_t len,
    struct ps_event *ev)
{
	struct ps_event base, tmp, best_ev;
	size_t hl, best = 0;
	int i, besti = -1, best_sw = 0;

	if (p->cur >= 0) {
		hl = ps_header_match(p->fmts[p->cur], line, len, ev);
		best_sw = hl > 0 && fields_swapped(ev);
		if (hl > 0 && !best_sw && (hl == len || line[hl] != ' ')) {
			note_match(p, p->cur);
			return hl;
		}
		if (hl > 0) {
			best = hl;
			besti = p->cur;
			best_ev = *ev;
		}
		header_clear(ev);
	}
	base = *ev;
	for (i = 0; i < p->nfmts; i++) {
		int sw;

		if (i == p->cur)
			continue;
		tmp = base;
		hl = ps_header_match(p->fmts[i], line, len, &tmp);
		if (hl == 0)
			continue;
		sw = fields_swapped(&tmp);
		if (hl > best || (hl == best && best_sw && !sw)) {
			best = hl;
			besti = i;
			best_sw = sw;
			best_ev = tmp;
		}
	}
	if (besti < 0)
		return 0;
	if (best_sw) {
		struct ps_str t = best_ev.file;

		best_ev.file = best_ev.func;
		best_ev.func = t;
	}
	*ev = best_ev;
	note_match(p, besti);
	return best;
}

/*
 * Infers the format of an unknown layout from the line; when it matches,
 * keeps it as a candidate and returns the header length, else 0.
 */
static size_t
match_inferred(struct ps_parser *p, const char *line, size_t len,
    struct ps_event *ev)
{
	char fmt[1024];
	struct ps_header *h;
	struct ps_event tmp;
	struct fs_err err;
	size_t hl;
	int i;

	if (p->forced || ps_header_infer(line, len, fmt, sizeof(fmt)) == 0)
		return 0;
	for (i = 0; i < p->nfmts; i++)
		if (strcmp(ps_header_format(p->fmts[i]), fmt) == 0)
			return 0;	/* a candidate already, and it did not match */
	if ((h = ps_header_compile(fmt, &err)) == NULL)
		return 0;
	tmp = *ev;
	hl = ps_header_match(h, line, len, &tmp);
	if (hl == 0 || tmp.thread.n == 0) {
		ps_header_free(h);
		return 0;
	}
	*ev = tmp;
	if (p->nfmts == MAX_FMTS) {
		ps_header_free(h);	/* the slices point into the line */
		return hl;
	}
	p->fmts[p->nfmts] = h;
	note_match(p, p->nfmts++);
	return hl;
}

/* Header length by match_any() or, if infer, by match_inferred(). */
static size_t
match_header(struct ps_parser *p, int infer, const char *line, size_t len,
    struct ps_event *ev)
{
	return infer ? match_inferred(p, line, len, ev) : match_any(p, line, len, ev);
}

/* Tries the header after a syslog prefix; returns the message offset or 0. */
static size_t
match_syslog(struct ps_parser *p, int infer, const char *line, size_t len,
    struct ps_event *ev)
{
	struct ps_str host;
	size_t hl, sl = ps_header_syslog(line, len, &host);

	if (sl == 0 || (hl = match_header(p, infer, line + sl, len - sl, ev)) == 0)
		return 0;
	ev->has |= PS_HAS_SYSLOG;
	if (ev->host.n == 0)
		ev->host = host;	/* the header's own %H/%h wins */
	return sl + hl;
}

/*
 * Header, syslog prefix or both, with the known candidates, then with an
 * inferred format; returns the message offset or 0.
 */
static size_t
match_line(struct ps_parser *p, const char *line, size_t len,
    struct ps_event *ev)
{
	size_t hl;
	int infer;

	if (p->last_syslog && (hl = match_syslog(p, 0, line, len, ev)) > 0)
		return hl;
	for (infer = 0; infer < 2; infer++) {
		hl = match_header(p, infer, line, len, ev);
		if (hl > 0) {
			p->last_syslog = 0;
			return hl;
		}
		if ((infer || !p->last_syslog) &&
		    (hl = match_syslog(p, infer, line, len, ev)) > 0) {
			p->last_syslog = 1;
			return hl;
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
	ps_body_decode(&p->memo, line + ml, len - ml, ev);
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

/* Copies the parser's state (see parser.h). */
int
ps_parser_state_get(const struct ps_parser *p, struct ps_parser_state *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->nfmts = p->nfmts;
	s->cur = p->cur;
	s->nseen = p->nseen;
	for (i = 0; i < p->nseen; i++)
		s->seen[i] = (unsigned char)p->seen[i];
	s->last_syslog = p->last_syslog;
	s->seen_checking = p->cls.seen_checking;
	for (i = 0; i < p->nfmts; i++) {
		if (ps_header_usec_x100(p->fmts[i]))
			s->usec_x100 |= 1u << i;
		if (i >= p->nbase &&
		    (s->inferred[i] = strdup(ps_header_format(p->fmts[i]))) == NULL) {
			ps_parser_state_free(s);
			return -1;
		}
	}
	return 0;
}

/* Puts the parser into a state (see parser.h). */
int
ps_parser_state_set(struct ps_parser *p, const struct ps_parser_state *s,
    struct fs_err *err)
{
	struct ps_header *add[MAX_FMTS];
	int i, n = 0, keep;

	if (s->nfmts < p->nbase || s->nfmts > MAX_FMTS)
		return fs_err_set(err, EINVAL, "parser: a state of another parser");
	/* The formats both have: the base ones and the same inferred ones. */
	for (keep = p->nbase; keep < p->nfmts && keep < s->nfmts; keep++)
		if (s->inferred[keep] == NULL ||
		    strcmp(s->inferred[keep], ps_header_format(p->fmts[keep])) != 0)
			break;
	/* Compile first, so a failure leaves p as it was. */
	for (i = keep; i < s->nfmts; i++, n++)
		if (s->inferred[i] == NULL ||
		    (add[n] = ps_header_compile(s->inferred[i], err)) == NULL) {
			while (n > 0)
				ps_header_free(add[--n]);
			if (s->inferred[i] == NULL)
				fs_err_set(err, EINVAL, "parser: a state without its formats");
			return -1;
		}
	for (i = keep; i < p->nfmts; i++)
		ps_header_free(p->fmts[i]);
	for (i = 0; i < n; i++)
		p->fmts[keep + i] = add[i];
	p->nfmts = s->nfmts;
	p->cur = s->cur;
	p->nseen = s->nseen;
	memset(p->is_seen, 0, sizeof(p->is_seen));
	for (i = 0; i < s->nseen; i++) {
		p->seen[i] = s->seen[i];
		p->is_seen[s->seen[i]] = 1;
	}
	p->last_syslog = s->last_syslog;
	p->cls.seen_checking = s->seen_checking;
	for (i = 0; i < p->nfmts; i++)
		ps_header_set_usec_x100(p->fmts[i], (s->usec_x100 >> i) & 1);
	return 0;
}

/* 1 if two states are the same. */
int
ps_parser_state_eq(const struct ps_parser_state *a, const struct ps_parser_state *b)
{
	return a->nfmts == b->nfmts && a->cur == b->cur && a->nseen == b->nseen &&
	    memcmp(a->seen, b->seen, (size_t)a->nseen) == 0 &&
	    a->last_syslog == b->last_syslog && a->seen_checking == b->seen_checking &&
	    a->usec_x100 == b->usec_x100;
}

/* Frees a state's inferred formats. */
void
ps_parser_state_free(struct ps_parser_state *s)
{
	int i;

	for (i = 0; i < MAX_FMTS; i++) {
		free(s->inferred[i]);
		s->inferred[i] = NULL;
	}
}
