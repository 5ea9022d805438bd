/*
 * PSC_LOG_FORMAT -> PCRE2.  See header.h and spec section 1.2.
 *
 * Compilation walks the format like PFL's FMTSTR: a '%' is followed by any
 * non-letter characters (printf flags, width, precision) up to the first
 * letter.  Known letters become a capturing group (first occurrence) or a
 * non-capturing one; unknown letters are copied out literally with their
 * '%'; everything else is a literal.  The pattern is anchored.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "parsers/header.h"
#include "parsers/internal.h"
#include "util/bytes.h"
#include "util/map.h"

#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Header fields we extract. */
enum hf {
	HF_SEC, HF_USEC, HF_THREAD, HF_FUNC, HF_FILE, HF_LINE, HF_LEVEL,
	HF_TID, HF_PTID, HF_SUBSYS, HF_BASE, HF_DATE, HF_HOST, HF_COUNT
};

/*
 * Fast path.  When every field of a format is one of a few plain classes
 * and is followed by a literal whose first byte cannot belong to it, the
 * anchored regex never backtracks except over the literal digits after a
 * digit run ("%06u00"), so a left-to-right scan gives the very same match
 * as PCRE2.  Such formats (all the built-in defaults) are also compiled into
 * this token program; tests compare both matchers on every sample line.
 */
enum fcls { FC_DIG, FC_HEX, FC_WORD };	/* \d+, (0x)?[0-9a-fA-F]+, [^\s:]+ */

/* Era A's default format (spec 1.3), which match_era_a() matches unrolled. */
#define ERA_A_FORMAT	"[%s:%06u %n:%i:%T:%F:%l] "

#define FAST_MAX	48
#define FAST_NOFIELD	255

struct ftok {
	unsigned char lit;	/* 1: literal bytes; 0: a field */
	unsigned char cls;	/* enum fcls */
	unsigned char hf;	/* enum hf, or FAST_NOFIELD */
	unsigned char min;	/* minimum field length */
	unsigned char ndig;	/* field: leading digits of the next literal */
	unsigned short n;	/* literal length */
	char s[14];		/* literal bytes (longer literals are split) */
	uint64_t w;		/* literal: s[0..n) as one little-endian word (n <= 8) */
	uint64_t wmask;		/* literal: the n low bytes of a word set (n <= 8) */
};

/*
 * Era A's header tails lately matched (see match_era_a): the bytes after
 * the timestamp, thread to "] ", of which a log has few (its threads times
 * their call sites), each with where its fields lie and its tid and line
 * decoded.  One per slot; all zero is empty.
 */
#define TAIL_BITS	7
#define TAIL_KEY	64	/* longest tail kept, bytes */
#define TAIL_MIN	16	/* shortest (the hash reads 16 bytes) */

_Static_assert(TAIL_MIN >= 16 && TAIL_KEY <= 64, "tails are compared by fs_bytes_eq_blocks");

enum { TF_THREAD, TF_TID, TF_SUBSYS, TF_FUNC, TF_LINE, TF_COUNT };

struct tail_slot {
	uint8_t len;			/* bytes of key; 0: empty */
	uint8_t off[TF_COUNT], n[TF_COUNT];	/* each field, from the tail's start */
	int64_t tid, line;
	char key[TAIL_KEY];
};

struct tail_memo {
	struct tail_slot slot[1 << TAIL_BITS];
};

/* How a %D<...> value turns into time. */
enum dkind { D_NONE, D_EPOCH, D_STRPTIME };

struct ps_header {
	char *fmt;
	char *pat;
	pcre2_code *code;
	pcre2_match_data *md;
	int jit;
	int grp[HF_COUNT];	/* capture group number, 0 = not in format */
	enum dkind dkind;
	char *dfmt;		/* strftime format of the captured %D<..> */
	/* The fast program (see "Fast path" below); nfast = 0 if none. */
	struct ftok fast[FAST_MAX];
	int nfast;
	unsigned fast_have;	/* the fields the program captures (spans.have) */
	int era_a;		/* the format is era A's default: match_era_a() */
	struct tail_memo *tails;	/* era A's tails lately matched; NULL: none */
	int fast_ok;		/* still eligible while compiling */
	int use_fast;
	unsigned char in_cls[3][256];	/* byte c is in class k: in_cls[k][c] */
	/*
	 * The one piece of per-source state: this source printed %u as
	 * usec x 100 (PFL bcfda782..02f7add4, 2016-03), seen from a 7- or
	 * 8-digit %u; from then on a 6-digit %u is read as usec x 100 too.
	 */
	int usec_x100;
	/* The last %s decoded (consecutive lines mostly share their second). */
	char sec_s[16];
	size_t sec_n;		/* 0: none */
	int64_t sec_v;
};

/* Growable string used while building the pattern. */
struct sbuf {
	char *p;
	size_t n, cap;
	int oom;
};

/* Appends n bytes to b. */
static void
sb_addn(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t ncap = (b->cap ? b->cap * 2 : 256);
		char *np;

		while (ncap < b->n + n + 1)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (np == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* Appends a NUL-terminated string to b. */
static void
sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

/* Appends one literal character, escaped for PCRE2. */
static void
sb_lit(struct sbuf *b, char c)
{
	char tmp[8];

	if (strchr("\\^$.|?*+()[]{}#/-", c) != NULL && c != '\0') {
		tmp[0] = '\\';
		tmp[1] = c;
		sb_addn(b, tmp, 2);
	} else if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f) {
		snprintf(tmp, sizeof(tmp), "\\x{%02x}", (unsigned char)c);
		sb_add(b, tmp);
	} else
		sb_addn(b, &c, 1);
}

/* The regex of one strftime conversion (without flags); NULL if unknown. */
static const char *
strftime_re(char c)
{
	switch (c) {
	case 'Y': case 'G': return "\\d{4}";
	case 'C': case 'y': case 'g': case 'm': case 'd': case 'H': case 'I':
	case 'M': case 'S': case 'U': case 'V': case 'W': return "\\d{2}";
	case 'e': case 'k': case 'l': return "[ \\d]?\\d";
	case 'j': return "\\d{3}";
	case 's': return "-?\\d+";
	case 'u': case 'w': return "\\d";
	case 'b': case 'h': case 'a': return "[A-Za-z]{3}";
	case 'B': case 'A': case 'Z': return "[A-Za-z]+";
	case 'p': case 'P': return "[AaPp][Mm]";
	case 'z': return "[+-]\\d{4}";
	case 'T': return "\\d{2}:\\d{2}:\\d{2}";
	case 'R': return "\\d{2}:\\d{2}";
	case 'F': return "\\d{4}-\\d{2}-\\d{2}";
	case 'D': case 'x': return "\\d{2}/\\d{2}/\\d{2}";
	case 'n': case 't': return "\\s";
	case '%': return "%";
	default: return NULL;
	}
}

/*
 * Translates the strftime format s[0..n) into a regex; notes whether it
 * yields an epoch (%s) or enough of a date and time for mktime.
 */
static void
strftime_to_re(struct sbuf *b, const char *s, size_t n, enum dkind *dk)
{
	int has_y = 0, has_m = 0, has_d = 0, has_h = 0, has_min = 0, epoch = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *re;
		char c;

		if (s[i] != '%' || i + 1 >= n) {
			sb_lit(b, s[i]);
			continue;
		}
		i++;
		while (i < n && strchr("_-0^#EO", s[i]) != NULL && i + 1 < n)
			i++;
		c = s[i];
		re = strftime_re(c);
		sb_add(b, re != NULL ? re : ".*?");
		switch (c) {
		case 's': epoch = 1; break;
		case 'Y': has_y = 1; break;
		case 'm': case 'b': case 'h': case 'B': has_m = 1; break;
		case 'd': case 'e': has_d = 1; break;
		case 'F': has_y = has_m = has_d = 1; break;
		case 'D': has_y = has_m = has_d = 1; break;
		case 'H': case 'k': has_h = 1; break;
		case 'M': has_min = 1; break;
		case 'T': case 'R': has_h = has_min = 1; break;
		default: break;
		}
	}
	if (epoch)
		*dk = D_EPOCH;
	else if (has_y && has_m && has_d && has_h && has_min)
		*dk = D_STRPTIME;
	else
		*dk = D_NONE;
}

/* Frees a compiled header. */
void
ps_header_free(struct ps_header *h)
{
	if (h == NULL)
		return;
	pcre2_match_data_free(h->md);
	pcre2_code_free(h->code);
	free(h->fmt);
	free(h->pat);
	free(h->dfmt);
	free(h->tails);
	free(h);
}

/* Opens a group for field f (named on first use) and returns its number. */
static void
open_group(struct ps_header *h, struct sbuf *b, int f, const char *name,
    int *ngroups)
{
	if (f >= 0 && h->grp[f] == 0) {
		(*ngroups)++;
		h->grp[f] = *ngroups;
		sb_add(b, "(?<");
		sb_add(b, name);
		sb_add(b, ">");
	} else if (f < 0 && name != NULL) {
		/* A field we capture by name only (no ps_event slot). */
		(*ngroups)++;
		sb_add(b, "(?<");
		sb_add(b, name);
		sb_add(b, ">");
	} else
		sb_add(b, "(?:");
}

/* Appends literal byte c to the fast program. */
static void
fast_lit(struct ps_header *h, char c)
{
	struct ftok *t;

	if (!h->fast_ok)
		return;
	t = h->nfast > 0 ? &h->fast[h->nfast - 1] : NULL;
	if (t == NULL || !t->lit || t->n == sizeof(t->s)) {
		if (h->nfast == FAST_MAX) {
			h->fast_ok = 0;
			return;
		}
		t = &h->fast[h->nfast++];
		memset(t, 0, sizeof(*t));
		t->lit = 1;
	}
	t->s[t->n++] = c;
}

/* Appends a field to the fast program. */
static void
fast_field(struct ps_header *h, enum fcls cls, int hf, int min)
{
	struct ftok *t;

	if (!h->fast_ok)
		return;
	if (h->nfast == FAST_MAX) {
		h->fast_ok = 0;
		return;
	}
	t = &h->fast[h->nfast++];
	memset(t, 0, sizeof(*t));
	t->cls = (unsigned char)cls;
	t->hf = (unsigned char)(hf < 0 ? FAST_NOFIELD : hf);
	t->min = (unsigned char)(min < 1 ? 1 : min > 200 ? 200 : min);
}

/* 1 if byte c belongs to class cls. */
static inline int
fast_in(enum fcls cls, unsigned char c)
{
	switch (cls) {
	case FC_DIG:
		return c >= '0' && c <= '9';
	case FC_HEX:
		return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
	default:
		return !(c == ' ' || c == ':' || (c >= '\t' && c <= '\r'));
	}
}

/*
 * Checks that the program is deterministic: every field is followed by a
 * literal whose first byte is outside the field's class; a digit field may
 * be followed by literal digits only if a non-digit byte follows them in
 * the same literal token.
 */
static void
fast_finish(struct ps_header *h)
{
	unsigned k;
	int i;

	if (!h->fast_ok) {
		h->nfast = 0;
		return;
	}
	h->fast_have = 0;
	for (i = 0; i < h->nfast; i++) {
		struct ftok *t = &h->fast[i], *nx;

		if (t->lit) {
			t->w = t->wmask = 0;
			if (t->n <= 8)
				for (k = 0; k < t->n; k++) {
					t->w |= (uint64_t)(unsigned char)t->s[k] << (8 * k);
					t->wmask |= (uint64_t)0xff << (8 * k);
				}
			continue;
		}
		if (t->hf != FAST_NOFIELD)
			h->fast_have |= 1u << t->hf;
		if (i + 1 >= h->nfast || !h->fast[i + 1].lit)
			goto no;
		nx = &h->fast[i + 1];
		if (t->cls == FC_DIG) {
			for (k = 0; k < nx->n && nx->s[k] >= '0' && nx->s[k] <= '9'; k++)
				;
			if (k == nx->n)
				goto no;
			t->ndig = (unsigned char)k;
			if (fast_in(FC_DIG, (unsigned char)nx->s[k]))
				goto no;
		} else if (fast_in((enum fcls)t->cls, (unsigned char)nx->s[0]))
			goto no;
		else if (t->cls == FC_HEX && nx->s[0] == 'x')
			goto no;	/* "0x" would be the prefix or the literal */
	}
	for (k = 0; k < 256; k++)
		for (i = 0; i < 3; i++)
			h->in_cls[i][k] = (unsigned char)fast_in((enum fcls)i,
			    (unsigned char)k);
	h->use_fast = 1;
	h->era_a = strcmp(h->fmt, ERA_A_FORMAT) == 0;
	if (h->era_a)
		h->tails = calloc(1, sizeof(*h->tails));	/* a cache: NULL only slows */
	return;
no:
	h->nfast = 0;
	h->use_fast = 0;
}

/* The psclog escapes a header format may hold (pfl/log.c). */
static const struct hesc {
	char c;
	int f;			/* HF_* field, -1 = matched but not kept */
	const char *name;
	const char *re;
	int numeric;
	int fcls;		/* fast-path class, -1 = not eligible */
} hesc[] = {
	{ 's', HF_SEC, "sec", "\\d+", 1 , FC_DIG },
	{ 'u', HF_USEC, "usec", "\\d+", 1 , FC_DIG },
	{ 'n', HF_THREAD, "thread", "[^\\s:]+", 0 , FC_WORD },
	{ 'F', HF_FUNC, "func", "[^\\s:]+", 0 , FC_WORD },
	{ 'f', HF_FILE, "file", "[^\\s:]+", 0 , FC_WORD },
	{ 'l', HF_LINE, "line", "\\d+", 1 , FC_DIG },
	{ 'L', HF_LEVEL, "level", "-?\\d+", 1 , -1 },
	{ 'h', HF_HOST, "host", "[^\\s:]+", 0 , FC_WORD },
	{ 'H', HF_HOST, "fqdn", "[^\\s:]+", 0 , FC_WORD },
	{ 'r', -1, "rank", "-?\\d+", 1 , -1 },
	{ 'i', HF_TID, "tid", "\\d+", 1 , FC_DIG },
	{ 'P', -1, "pid", "-?\\d+", 1 , -1 },
	{ 'U', -1, "uid", "-?\\d+", 1 , -1 },
	{ 't', -1, "subsys_id", "-?\\d+", 1 , -1 },
	{ 'T', HF_SUBSYS, "subsys", "[^\\s:]+", 0 , FC_WORD },
	{ 'B', HF_BASE, "base", "[^\\s:]+", 0 , FC_WORD },
	{ 'N', -1, "prog", "[^\\s:]+", 0 , FC_WORD },
	{ 'I', HF_PTID, "ptid", "(?:0x)?[0-9a-fA-F]+", 1 , FC_HEX },
	{ 'X', -1, "exe", "\\S*", 0 , -1 },
	{ 'A', -1, "peer", "\\S*", 0 , -1 },
	{ 'S', -1, "stack", "\\S*", 0 , -1 },
};

/* The state of one format's compilation. */
struct hcomp {
	struct ps_header *h;
	struct sbuf b;			/* the pattern being built */
	unsigned char named[128];	/* escapes already given a named group */
	int ngroups;
	const char *fmt;
};

/* One escape's flags and width: "%-12s", "%06u". */
struct hwidth {
	int width, left, zero;
};

/* Reads the flags and width between '%' and the letter at q. */
static void
read_width(const char *spec, const char *q, struct hwidth *w)
{
	const char *c = spec;

	memset(w, 0, sizeof(*w));
	while (c < q && strchr("-+ #0'", *c) != NULL) {
		if (*c == '-')
			w->left = 1;
		if (*c == '0')
			w->zero = 1;
		c++;
	}
	/* Clamped: a huge width must not overflow the int. */
	while (c < q && isdigit((unsigned char)*c)) {
		if (w->width < 100000)
			w->width = w->width * 10 + (*c - '0');
		c++;
	}
}

/*
 * %D<strftime>: the date group (p at the 'D').  Returns the last character
 * consumed, or NULL with err set.  A bare %D prints "" and swallows the next
 * character.
 */
static const char *
compile_date(struct hcomp *k, const char *p, const struct hwidth *w, struct fs_err *err)
{
	struct ps_header *h = k->h;
	const char *end;
	enum dkind dk;

	h->fast_ok = 0;
	if (p[1] != '<')
		return p[1] != '\0' ? p + 1 : p;
	if ((end = strchr(p + 2, '>')) == NULL) {
		fs_err_set(err, -1, "log format \"%s\": %%D< without closing >", k->fmt);
		return NULL;
	}
	if (h->grp[HF_DATE] == 0) {
		free(h->dfmt);
		if ((h->dfmt = strndup(p + 2, (size_t)(end - p - 2))) == NULL) {
			fs_err_set(err, ENOMEM, "log format: out of memory");
			return NULL;
		}
	}
	if (w->width > 0 && !w->left)
		sb_add(&k->b, " *");
	open_group(h, &k->b, HF_DATE, "date", &k->ngroups);
	strftime_to_re(&k->b, p + 2, (size_t)(end - p - 2), &dk);
	if (h->grp[HF_DATE] == k->ngroups)
		h->dkind = dk;
	sb_add(&k->b, ")");
	if (w->width > 0 && w->left)
		sb_add(&k->b, " *");
	return end;
}

/* One known escape e, written "%<spec..q>": its group and its fast-path field. */
static void
compile_field(struct hcomp *k, const struct hesc *e, const char *spec, const char *q,
    const struct hwidth *w)
{
	struct ps_header *h = k->h;
	/* Fast only with no flags, or "0<width>" on a number. */
	int plain = q == spec;
	const char *c;

	if (!plain && e->numeric && spec[0] == '0') {
		for (c = spec + 1; c < q && isdigit((unsigned char)*c); c++)
			;
		plain = c == q;
	}
	if (e->fcls < 0 || !plain)
		h->fast_ok = 0;
	else
		fast_field(h, (enum fcls)e->fcls, e->f >= 0 && h->grp[e->f] == 0 ? e->f : -1,
		    w->zero && w->width > 1 ? w->width : 1);
	if (w->width > 0 && !w->left && !(w->zero && e->numeric))
		sb_add(&k->b, " *");
	if (e->f >= 0)
		open_group(h, &k->b, e->f, e->name, &k->ngroups);
	else if (!k->named[(unsigned char)e->c]) {
		k->named[(unsigned char)e->c] = 1;
		open_group(h, &k->b, -1, e->name, &k->ngroups);
	} else
		sb_add(&k->b, "(?:");
	if (w->zero && e->numeric && w->width > 1) {
		char tmp[48];

		snprintf(tmp, sizeof(tmp), "%s{%d,}", e->c == 'I' ? "(?:0x)?[0-9a-fA-F]" : "\\d",
		    w->width);
		sb_add(&k->b, tmp);
	} else
		sb_add(&k->b, e->re);
	sb_add(&k->b, ")");
	if (w->width > 0 && w->left)
		sb_add(&k->b, " *");
}

/* Compiles the built pattern (PCRE2, JIT when it can); -1 with err set. */
static int
compile_pattern(struct ps_header *h, const char *fmt, struct fs_err *err)
{
	int errcode;
	PCRE2_SIZE erroff;

	h->code = pcre2_compile((PCRE2_SPTR)h->pat, PCRE2_ZERO_TERMINATED,
	    PCRE2_ANCHORED | PCRE2_DOTALL, &errcode, &erroff, NULL);
	if (h->code == NULL) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		return fs_err_set(err, -1, "log format \"%s\": cannot compile pattern "
		    "at offset %zu: %s", fmt, (size_t)erroff, (char *)msg);
	}
	h->jit = pcre2_jit_compile(h->code, PCRE2_JIT_COMPLETE) == 0;
	h->md = pcre2_match_data_create_from_pattern(h->code, NULL);
	if (h->md == NULL)
		return fs_err_set(err, ENOMEM, "log format: out of memory");
	return 0;
}

/* Compiles a PSC_LOG_FORMAT string into an anchored PCRE2 pattern. */
struct ps_header *
ps_header_compile(const char *fmt, struct fs_err *err)
{
	struct hcomp k;
	const char *p;

	memset(&k, 0, sizeof(k));
	k.fmt = fmt;
	k.h = calloc(1, sizeof(*k.h));
	if (k.h == NULL || (k.h->fmt = strdup(fmt)) == NULL) {
		free(k.h);
		fs_err_set(err, ENOMEM, "log format: out of memory");
		return NULL;
	}
	k.h->fast_ok = 1;
	sb_add(&k.b, "^");
	for (p = fmt; *p != '\0'; p++) {
		const char *spec, *q;
		struct hwidth w;
		size_t e;

		if (*p != '%') {
			sb_lit(&k.b, *p);
			fast_lit(k.h, *p);
			continue;
		}
		spec = p + 1;
		for (q = spec; *q != '\0' && !isalpha((unsigned char)*q); q++)
			;
		if (*q == '\0') {
			/* A trailing '%' and flags without a letter: literal. */
			for (; p < q; p++) {
				sb_lit(&k.b, *p);
				fast_lit(k.h, *p);
			}
			break;
		}
		/* Flags and width (precision is ignored: it only truncates). */
		read_width(spec, q, &w);
		p = q;
		if (*q == 'D') {
			if ((p = compile_date(&k, p, &w, err)) == NULL)
				goto fail;
			continue;
		}
		for (e = 0; e < sizeof(hesc) / sizeof(hesc[0]); e++)
			if (hesc[e].c == *q)
				break;
		if (e == sizeof(hesc) / sizeof(hesc[0])) {
			/* Unknown letter: copied out with its '%'. */
			sb_lit(&k.b, '%');
			sb_lit(&k.b, *q);
			fast_lit(k.h, '%');
			fast_lit(k.h, *q);
			continue;
		}
		compile_field(&k, &hesc[e], spec, q, &w);
	}
	if (k.b.oom) {
		fs_err_set(err, ENOMEM, "log format: out of memory");
		goto fail;
	}
	fast_finish(k.h);
	k.h->pat = k.b.p;
	k.b.p = NULL;
	if (compile_pattern(k.h, fmt, err) < 0)
		goto fail;
	return k.h;
fail:
	free(k.b.p);
	ps_header_free(k.h);
	return NULL;
}

/* The format string. */
const char *
ps_header_format(const struct ps_header *h)
{
	return h->fmt;
}

/* The generated pattern. */
const char *
ps_header_pattern(const struct ps_header *h)
{
	return h->pat;
}

/* Parses hex digits. */
static uint64_t
hex(const char *s, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		v = v * 16 + (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* Converts a captured %D<..> value to epoch seconds; -1 if it cannot. */
static int64_t
date_epoch(const struct ps_header *h, const char *s, size_t n)
{
	char tmp[128];
	struct tm tm;
	char *end;
	time_t t;

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(&tm, 0, sizeof(tm));
	end = strptime(tmp, h->dfmt, &tm);
	if (end == NULL)
		return -1;
	/* With %s, glibc's strptime filled tm from localtime: mktime inverts it. */
	tm.tm_isdst = -1;
	t = mktime(&tm);
	return t == (time_t)-1 ? -1 : (int64_t)t;
}

/*
 * Where each header field lies in the line: p[f] and n[f] when bit f of
 * have is set.  The tid and line are already decoded (tid, line) when bits
 * HF_TID and HF_LINE of decoded are set (a tail memo's hit).
 */
struct spans {
	unsigned have, decoded;
	const char *p[HF_COUNT];
	size_t n[HF_COUNT];
	int64_t tid, line;
};

#ifdef __SSE2__
/*
 * The bytes of v outside class cls, as a 16-bit mask (bit i: byte i); the
 * same classes as fast_in().  An unsigned byte d lies in [0, m] when
 * min(d, m) == d.
 */
static inline unsigned
fast_out16(enum fcls cls, __m128i v)
{
	__m128i d, in;

	switch (cls) {
	case FC_DIG:
		d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
		in = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
		break;
	case FC_HEX: {
		__m128i l = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)),
		    _mm_set1_epi8('a'));

		d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
		in = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d),
		    _mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(5)), l));
		break;
	}
	default:	/* FC_WORD: out are ' ', ':' and '\t'..'\r' */
		d = _mm_sub_epi8(v, _mm_set1_epi8('\t'));
		return (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
		    _mm_cmpeq_epi8(v, _mm_set1_epi8(':'))),
		    _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(4)), d)));
	}
	return ~(unsigned)_mm_movemask_epi8(in) & 0xffffu;
}
#endif

/*
 * The end of the run of class-cls bytes at u[k, len).  Sixteen bytes at a
 * time where SSE2 is there: a run's end is one test rather than a branch
 * per byte, which mispredicted at the end of each of a header's seven runs
 * (ps_header_match was 15 % of an ingest, perf).  The rest byte by byte
 * with the table in[c] (in[c] != 0: c is in the class).
 */
static inline size_t
fast_scan(enum fcls cls, const unsigned char *in, const unsigned char *u, size_t k,
    size_t len)
{
#ifdef __SSE2__
	while (k + 16 <= len) {
		unsigned out = fast_out16(cls,
		    _mm_loadu_si128((const __m128i *)(const void *)(u + k)));

		if (out != 0)
			return k + (size_t)__builtin_ctz(out);
		k += 16;
	}
#else
	(void)cls;
#endif
	while (k < len && in[u[k]])
		k++;
	return k;
}

/*
 * Matches literal t at u[*pos..len) and moves *pos past it; 0 if it is not
 * there.  Eight bytes at a time where the line holds them (little-endian).
 */
static inline int
fast_lit_at(const struct ftok *t, const unsigned char *u, size_t len, size_t *pos)
{
	size_t p = *pos;
	unsigned j;

	if (len - p < t->n)
		return 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (t->n <= 8 && len - p >= 8) {
		uint64_t w;

		memcpy(&w, u + p, sizeof(w));
		if (((w ^ t->w) & t->wmask) != 0)
			return 0;
		*pos = p + t->n;
		return 1;
	}
#endif
	for (j = 0; j < t->n; j++)
		if (u[p + j] != (unsigned char)t->s[j])
			return 0;
	*pos = p + t->n;
	return 1;
}

/*
 * Runs the fast program; returns the header length or 0.  fast_finish saw
 * to it that a literal follows every field, so a field and the literal
 * after it are one step, and the class is known before the scan starts.
 */
static size_t
fast_match(const struct ps_header *h, const char *line, size_t len,
    struct spans *sp)
{
	const unsigned char *u = (const unsigned char *)line;
	const struct ftok *t = h->fast, *end = h->fast + h->nfast;
	size_t pos = 0;

	for (; t < end; t++) {
		size_t k, pfx = 0;

		if (t->lit) {
			if (!fast_lit_at(t, u, len, &pos))
				return 0;
			continue;
		}
		switch (t->cls) {
		case FC_DIG:
			k = fast_scan(FC_DIG, h->in_cls[FC_DIG], u, pos, len);
			break;
		case FC_WORD:
			k = fast_scan(FC_WORD, h->in_cls[FC_WORD], u, pos, len);
			break;
		default:
			/* %I printed as a pointer (FreeBSD, macOS): "0x801c15400". */
			if (len - pos > 2 && u[pos] == '0' && u[pos + 1] == 'x' &&
			    h->in_cls[FC_HEX][u[pos + 2]])
				pfx = 2;
			k = fast_scan(FC_HEX, h->in_cls[FC_HEX], u, pos + pfx, len);
			break;
		}
		k -= pos;
		/* "\d{min,}00": the run ends with the literal's digits, matched with it */
		if (k < t->ndig)
			return 0;
		k -= t->ndig;
		if (k - pfx < t->min)
			return 0;
		if (t->hf != FAST_NOFIELD) {
			sp->p[t->hf] = line + pos;
			sp->n[t->hf] = k;
		}
		pos += k;
		if (!fast_lit_at(++t, u, len, &pos))
			return 0;
	}
	sp->have = h->fast_have;
	return pos;
}

static inline int64_t dec_checked(const char *s, size_t n, const char *end);

/* The header fields of the tail fields, in TF_ order. */
static const unsigned char tail_hf[TF_COUNT] = { HF_THREAD, HF_TID, HF_SUBSYS, HF_FUNC, HF_LINE };

/*
 * The slot of the tail s[0..len) (TAIL_MIN <= len): the tables' mixer over
 * its first and last 8 bytes and its length, so equal tails share a slot.
 */
static inline struct tail_slot *
tail_slot(struct tail_memo *m, const char *s, size_t len)
{
	uint64_t a, b;

	memcpy(&a, s, sizeof(a));
	memcpy(&b, s + len - sizeof(b), sizeof(b));
	return &m->slot[fs_mix2(a ^ len, b) >> (64 - TAIL_BITS)];
}

/*
 * The index of the first ']' in s[0..n), or n.  Sixteen bytes at a time
 * where SSE2 is there (libc's memchr, called for a tail of 40 bytes, cost
 * twice as much: callgrind).
 */
static inline size_t
first_bracket(const char *s, size_t n)
{
	size_t i = 0;

#ifdef __SSE2__
	for (; i + 16 <= n; i += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_loadu_si128((const __m128i *)(const void *)(s + i)), _mm_set1_epi8(']')));

		if (m != 0)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
	while (i < n && s[i] != ']')
		i++;
	return i;
}

/*
 * The kept match of the tail at line[p..len), if any: its length (sp
 * filled, the tid and line decoded), else 0.  The tail a lookup tries ends
 * at the first "] " (a kept tail, which match_era_a matched, holds no
 * other: no field holds a space); its length goes to *key either way, for
 * tail_put.
 */
static size_t
tail_get(struct tail_memo *m, const char *line, size_t p, size_t len, struct spans *sp,
    size_t *key)
{
	const char *s = line + p;
	const struct tail_slot *e;
	size_t k = first_bracket(s, len - p < TAIL_KEY ? len - p : TAIL_KEY) + 2;

	*key = k;
	if (k < TAIL_MIN || k > TAIL_KEY || k > len - p || s[k - 1] != ' ')
		return 0;	/* no "] ", or too near either end */
	e = tail_slot(m, s, k);
	if (e->len != k || !fs_bytes_eq_blocks(s, e->key, k))	/* TAIL_MIN <= k <= TAIL_KEY */
		return 0;
	sp->p[HF_THREAD] = s + e->off[TF_THREAD];
	sp->n[HF_THREAD] = e->n[TF_THREAD];
	sp->p[HF_TID] = s + e->off[TF_TID];
	sp->n[HF_TID] = e->n[TF_TID];
	sp->p[HF_SUBSYS] = s + e->off[TF_SUBSYS];
	sp->n[HF_SUBSYS] = e->n[TF_SUBSYS];
	sp->p[HF_FUNC] = s + e->off[TF_FUNC];
	sp->n[HF_FUNC] = e->n[TF_FUNC];
	sp->p[HF_LINE] = s + e->off[TF_LINE];
	sp->n[HF_LINE] = e->n[TF_LINE];
	sp->tid = e->tid;
	sp->line = e->line;
	sp->decoded = 1u << HF_TID | 1u << HF_LINE;
	return k;
}

/*
 * Keeps the tail line[p..p + k) that match_era_a matched into sp, if it is
 * the one tail_get looked up (key): a later lookup finds it.  The tid and
 * line are decoded here, once, for sp too.
 */
static void
tail_put(struct tail_memo *m, const char *line, size_t p, size_t k, size_t key, size_t len,
    struct spans *sp)
{
	const char *s = line + p;
	struct tail_slot *e;
	size_t i;

	if (k != key || k < TAIL_MIN || k > TAIL_KEY)
		return;		/* too short, too long, or another than tail_get tries */
	e = tail_slot(m, s, k);
	e->len = (uint8_t)k;
	for (i = 0; i < TF_COUNT; i++) {
		e->off[i] = (uint8_t)(sp->p[tail_hf[i]] - s);
		e->n[i] = (uint8_t)sp->n[tail_hf[i]];
	}
	e->tid = sp->tid = dec_checked(sp->p[HF_TID], sp->n[HF_TID], line + len);
	e->line = sp->line = dec_checked(sp->p[HF_LINE], sp->n[HF_LINE], line + len);
	sp->decoded = 1u << HF_TID | 1u << HF_LINE;
	memcpy(e->key, s, k);
}

/*
 * fast_match on era A's default program (ERA_A_FORMAT), unrolled: nearly
 * every line of an era-A log has this header, and reading the program (each
 * token's kind, class, bounds and literal) was half of fast_match's work
 * (callgrind).  The same steps: each field's run, its minimum length, and
 * the literal after it, here one byte or "] ".  After the timestamp, the
 * tail memo: the match of a tail is a function of its bytes (each field's
 * run ends inside it), so a tail kept byte for byte matches as it did
 * (on bench/ingest.sh's log, 517 instructions a header became 422).
 */
static size_t
match_era_a(const struct ps_header *h, const char *line, size_t len,
    struct spans *sp)
{
	const unsigned char *u = (const unsigned char *)line;
	size_t p = 1, e, t, k, key = 0;

#define FIELD(cls, f, min, c) do {						\
	e = fast_scan(cls, h->in_cls[cls], u, p, len);				\
	if (e - p < (min) || e >= len || u[e] != (c))				\
		return 0;							\
	sp->p[f] = line + p;							\
	sp->n[f] = e - p;							\
	p = e + 1;								\
} while (0)
	if (len == 0 || u[0] != '[')
		return 0;
	FIELD(FC_DIG, HF_SEC, 1, ':');
	FIELD(FC_DIG, HF_USEC, 6, ' ');
	if (h->tails != NULL && (k = tail_get(h->tails, line, p, len, sp, &key)) != 0) {
		sp->have = h->fast_have;
		return p + k;
	}
	t = p;
	FIELD(FC_WORD, HF_THREAD, 1, ':');
	FIELD(FC_DIG, HF_TID, 1, ':');
	FIELD(FC_WORD, HF_SUBSYS, 1, ':');
	FIELD(FC_WORD, HF_FUNC, 1, ':');
	FIELD(FC_DIG, HF_LINE, 1, ']');
#undef FIELD
	if (p >= len || u[p] != ' ')
		return 0;
	sp->have = h->fast_have;
	if (h->tails != NULL)
		tail_put(h->tails, line, t, p + 1 - t, key, len, sp);
	return p + 1;
}

/* Runs the PCRE2 pattern; returns the header length or 0. */
static size_t
pcre_match(struct ps_header *h, const char *line, size_t len, struct spans *sp)
{
	PCRE2_SIZE *ov;
	int rc, f;

	if (h->jit)
		rc = pcre2_jit_match(h->code, (PCRE2_SPTR)line, len, 0, 0,
		    h->md, NULL);
	else
		rc = pcre2_match(h->code, (PCRE2_SPTR)line, len, 0,
		    PCRE2_ANCHORED, h->md, NULL);
	if (rc <= 0)
		return 0;
	ov = pcre2_get_ovector_pointer(h->md);
	for (f = 0; f < HF_COUNT; f++) {
		int g = h->grp[f];

		if (g != 0 && g < rc && ov[2 * g] != PCRE2_UNSET) {
			sp->have |= 1u << f;
			sp->p[f] = line + ov[2 * g];
			sp->n[f] = ov[2 * g + 1] - ov[2 * g];
		}
	}
	return ov[1];
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/*
 * The value of the k (1..8) ASCII digits at s, most significant first,
 * from one 8-byte load (s[0..8) must be readable): the digits are shifted
 * to the top bytes (the bytes below become leading zeros), then adjacent
 * digits, pairs and quadruples are combined in place.
 */
static inline uint64_t
digits8(const char *s, size_t k)
{
	unsigned sh = (unsigned)(8 - k) * 8;
	uint64_t w;

	memcpy(&w, s, sizeof(w));
	w = (w << sh) - (0x3030303030303030ULL << sh);
	w = (w * 10 + (w >> 8)) & 0x00ff00ff00ff00ffULL;
	w = (w * 100 + (w >> 16)) & 0x0000ffff0000ffffULL;
	return (w * 10000 + (w >> 32)) & 0xffffffffULL;
}
#endif

/*
 * The value of a header number: n ASCII digits at s that the matcher has
 * checked, in a line ending at end.  Eight digits at a time where the bytes
 * can be read (ps_dec's digit loop was 7 % of a parse, callgrind); ps_dec
 * for the rest, and for more than 16 digits (it saturates).
 */
static inline int64_t
dec_checked(const char *s, size_t n, const char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (n > 8 && n <= 16)
		return (int64_t)(digits8(s, n - 8) * 100000000u + digits8(s + n - 8, 8));
	if (n > 0 && n <= 8 && end - s >= 8)
		return (int64_t)digits8(s, n);
#else
	(void)end;
#endif
	return ps_dec(s, n, NULL);
}

/* Fills the header fields of ev from the spans (of a line ending at end). */
static void
fill_fields(struct ps_header *h, const struct spans *sp, const char *end,
    struct ps_event *ev)
{
	int64_t sec = -1, usec = 0;
	const char *s;
	size_t n;

#define GET(f) ((sp->have & (1u << (f))) != 0 && ((s = sp->p[f]), (n = sp->n[f]), 1))
	if (GET(HF_SEC)) {
		if (n == h->sec_n && fs_bytes_eq(s, h->sec_s, n))
			sec = h->sec_v;
		else {
			sec = dec_checked(s, n, end);
			if (n <= sizeof(h->sec_s)) {
				memcpy(h->sec_s, s, n);
				h->sec_n = n;
				h->sec_v = sec;
			}
		}
	} else if (GET(HF_DATE) && h->dkind != D_NONE)
		sec = date_epoch(h, s, n);
	if (GET(HF_USEC)) {
		usec = dec_checked(s, n, end);
		/*
		 * 7 or 8 digits: usec x 100 (the 2016-03 window, or "%06u"
		 * matching the 8 digits of "%06u00"); the window also printed
		 * 6 digits below 10 ms, read so once this source showed it.
		 * More digits: a finer fraction of a custom format.
		 */
		if (n == 7 || n == 8) {
			usec /= 100;
			h->usec_x100 = 1;
		} else if (n == 6 && h->usec_x100)
			usec /= 100;
		else
			while (n-- > 6)
				usec /= 10;
	}
	/* A timestamp too large for microseconds in int64 is left unset. */
	if (sec >= 0 && usec >= 0 && usec <= 999999 &&
	    sec <= (INT64_MAX - usec) / 1000000)
		ev->ts_us = sec * 1000000 + usec;
	if (GET(HF_THREAD))
		ev->thread = (struct ps_str){ s, n };
	if (GET(HF_TID)) {
		ev->tid_s = (struct ps_str){ s, n };
		ev->tid = (uint64_t)(sp->decoded & 1u << HF_TID ? sp->tid : dec_checked(s, n, end));
	} else if (GET(HF_PTID)) {
		size_t i;
		int ishex = 0;

		ev->tid_s = (struct ps_str){ s, n };
		/*
		 * %I was "%lu" until ecbe42ea (2011-12) and "%lx" after; a
		 * pthread_t printed in hex has a letter in practice
		 * (0x7f...), so all digits means decimal.
		 */
		for (i = 0; i < n; i++)
			if (s[i] > '9')
				ishex = 1;
		if (n > 2 && s[0] == '0' && s[1] == 'x')
			ev->tid = hex(s + 2, n - 2);	/* %p on FreeBSD, macOS */
		else
			ev->tid = ishex ? hex(s, n) : (uint64_t)ps_dec(s, n, NULL);
	}
	if (GET(HF_SUBSYS))
		ev->subsys = (struct ps_str){ s, n };
	if (GET(HF_BASE))
		ev->file = (struct ps_str){ s, n };
	else if (GET(HF_FILE))
		ev->file = (struct ps_str){ s, n };
	if (GET(HF_FUNC))
		ev->func = (struct ps_str){ s, n };
	if (GET(HF_LINE))
		ev->srcline = (int)(sp->decoded & 1u << HF_LINE ? sp->line : dec_checked(s, n, end));
	if (GET(HF_LEVEL)) {
		ev->level = (int)ps_dec(s, n, NULL);
		ev->has |= PS_HAS_LEVEL;
	}
	if (GET(HF_HOST))
		ev->host = (struct ps_str){ s, n };
#undef GET
}

/* Matches the header at line[0]; see header.h. */
size_t
ps_header_match(struct ps_header *h, const char *line, size_t len,
    struct ps_event *ev)
{
	struct spans sp;
	size_t hl;

	sp.have = sp.decoded = 0;	/* not a memset of sp: "rep stos" was 9 % of this function */
	sp.tid = sp.line = 0;		/* read only when decoded says, which gcc cannot see */
	if (!h->use_fast)
		hl = pcre_match(h, line, len, &sp);
	else if (h->era_a)
		hl = match_era_a(h, line, len, &sp);
	else
		hl = fast_match(h, line, len, &sp);
	if (hl == 0)
		return 0;
	fill_fields(h, &sp, line + len, ev);
	return hl;
}

/* 1 if 6-digit %u values are read as usec x 100. */
int
ps_header_usec_x100(const struct ps_header *h)
{
	return h->usec_x100;
}

/* Sets the usec x 100 reading. */
void
ps_header_set_usec_x100(struct ps_header *h, int on)
{
	h->usec_x100 = on != 0;
}

/* Selects the hand-written matcher (on = 1) or PCRE2 (on = 0). */
int
ps_header_set_fast(struct ps_header *h, int on)
{
	h->use_fast = on && h->nfast > 0;
	return h->nfast > 0;
}

/* The default formats of spec 1.3, newest first. */
static const char *const builtin[] = {
	"[%s.%06u00 %n:%I:%T %B %F %l]",	/* 424c682c 2017-06 HEAD */
	ERA_A_FORMAT,				/* 40e245b9 2009-12 era A */
	"[%s.%06u00 %n:%I:%T %B %F %l] ",	/* 09e23489 2016-03-25 */
	"[@%s.%06u00 %n:%I:%T %B %F %l] ",	/* 02f7add4 2016-03-21 */
	"[@%s.%06u %n:%I:%T %B %F %l] ",	/* d9e3641b 2016-03-14 */
	"[%s:%06u %n:%i:%T %B %F %l] ",		/* f6bdc6d7 2011-06 */
	"[%s:%06u %n:%I:%T %B %F %l] ",		/* 118671e3 2011-10 */
	"[%s:%06u %n:%i:%T %F %l] ",		/* e45cfb20 2010-11 */
	"[%s:%06u %n:%i:%F:%l] ",		/* 3d004372 2009-09 */
	"[%s:%06u %n:%F:%l] ",			/* dd431258 2009-07 */
	"[%s:%06u %n:%F:%l]",			/* 56964d44 2008 */
	/*
	 * Not defaults: the function before the file, a local format of
	 * 2013-2015 (spec 3.5).  The parser tells it from 2011-06's by
	 * content: a file name ends in .c or .h, a function does not.
	 */
	"[%s:%06u %n:%i:%T %F %B %l] ",
	"[%s:%06u %n:%I:%T %F %B %l] ",
};

/* Number of built-in formats. */
int
ps_header_nbuiltin(void)
{
	return (int)(sizeof(builtin) / sizeof(builtin[0]));
}

/* Built-in format i, or NULL. */
const char *
ps_header_builtin(int i)
{
	if (i < 0 || i >= ps_header_nbuiltin())
		return NULL;
	return builtin[i];
}

/* Length of "ident[pid]: " or "ident: " at s (0 if none). */
static size_t
ident_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] != ' ' && s[i] != ':' && s[i] != '[' && s[i] != '\t')
		i++;
	if (i == 0 || i >= n)
		return 0;
	if (s[i] == '[') {
		i++;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i >= n || s[i] != ']')
			return 0;
		i++;
	}
	if (i + 1 < n && s[i] == ':' && s[i + 1] == ' ')
		return i + 2;
	return 0;
}

/* Length of an RFC 3339 stamp at s ("2019-01-16T12:31:50[.frac][Z|+hh:mm]"), or 0. */
static size_t
rfc3339_len(const char *s, size_t n)
{
	size_t i;

	if (n < 19 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[3]) ||
	    s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':')
		return 0;
	for (i = 11; i < n && s[i] != ' '; i++)
		;
	return i;
}

/*
 * RFC 5424 after "<PRI>": "1 STAMP HOST APP PROCID MSGID SD " (nil fields
 * are "-"; SD is "-" or [id param="v"...] elements, never "[<digit>" or
 * "[@", which is where a psclog header starts).  Returns the length from s
 * or 0; *host is the HOST field unless nil.
 */
static size_t
rfc5424_len(const char *s, size_t n, struct ps_str *host)
{
	size_t i = 2, f, start, hs = 0, hn = 0;

	if (n < 2 || s[0] != '1' || s[1] != ' ')
		return 0;
	for (f = 0; f < 5; f++) {
		start = i;
		while (i < n && s[i] != ' ')
			i++;
		if (i >= n || i == start)
			return 0;
		if (f == 1 && !(i - start == 1 && s[start] == '-')) {
			hs = start;
			hn = i - start;
		}
		i++;
	}
	if (i < n && s[i] == '-')
		i++;
	else if (i + 1 < n && s[i] == '[' && !isdigit((unsigned char)s[i + 1]) &&
	    s[i + 1] != '@') {
		while (i < n && s[i] == '[') {
			int q = 0;

			for (i++; i < n && (q || s[i] != ']'); i++) {
				if (q && s[i] == '\\')
					i++;
				else if (s[i] == '"')
					q = !q;
			}
			if (i >= n)
				return 0;
			i++;
		}
	} else
		return 0;
	if (i < n && s[i] == ' ')
		i++;
	else if (i != n)
		return 0;
	if (n - i >= 3 && memcmp(s + i, "\xef\xbb\xbf", 3) == 0)
		i += 3;		/* the BOM of a UTF-8 MSG */
	if (hn > 0)
		*host = (struct ps_str){ s + hs, hn };
	return i;
}

/* Length of a syslog prefix at the start of line; sets *host when it names one. */
size_t
ps_header_syslog(const char *s, size_t n, struct ps_str *host)
{
	size_t i = 0, k, pri = 0;

	*host = (struct ps_str){ NULL, 0 };
	if (n > 2 && s[0] == '<') {
		/* "<PRI>" as sent over the network (RFC 3164 and 5424). */
		for (k = 1; k < n && k < 4 && isdigit((unsigned char)s[k]); k++)
			;
		if (k == 1 || k >= n || s[k] != '>')
			return 0;
		pri = i = k + 1;
		if ((k = rfc5424_len(s + i, n - i, host)) > 0)
			return i + k;
	}
	if (n - i >= 16 && isalpha((unsigned char)s[i]) &&
	    isalpha((unsigned char)s[i + 1]) && isalpha((unsigned char)s[i + 2]) &&
	    s[i + 3] == ' ' && (s[i + 4] == ' ' || isdigit((unsigned char)s[i + 4])) &&
	    isdigit((unsigned char)s[i + 5]) && s[i + 6] == ' ' &&
	    isdigit((unsigned char)s[i + 7]) && isdigit((unsigned char)s[i + 8]) &&
	    s[i + 9] == ':' && isdigit((unsigned char)s[i + 10]) &&
	    isdigit((unsigned char)s[i + 11]) && s[i + 12] == ':' &&
	    isdigit((unsigned char)s[i + 13]) && isdigit((unsigned char)s[i + 14]) &&
	    s[i + 15] == ' ') {
		i += 16;	/* "Mon DD HH:MM:SS " */
	} else if ((k = rfc3339_len(s + i, n - i)) > 0 && i + k < n) {
		i += k + 1;	/* RFC 3339 stamp (rsyslog's precise format) */
	} else if (pri) {
		return 0;
	} else {
		/* The LOG_PERROR echo in the log file: "ident[pid]: ". */
		k = ident_len(s, n);
		return k > 0 && memchr(s, '[', k) != NULL ? k : 0;
	}
	/* Host, then the ident. */
	k = i;
	while (k < n && s[k] != ' ')
		k++;
	if (k >= n || k == i)
		return 0;
	{
		size_t il = ident_len(s + k + 1, n - k - 1);

		if (il > 0) {
			*host = (struct ps_str){ s + i, k - i };
			return k + 1 + il;
		}
	}
	/* Some relays drop the host: "Mon DD HH:MM:SS ident[pid]: ". */
	k = ident_len(s + i, n - i);
	return k > 0 ? i + k : 0;
}

/* Length of a syslog prefix at the start of line, or 0. */
size_t
ps_header_syslog_len(const char *s, size_t n)
{
	struct ps_str host;

	return ps_header_syslog(s, n, &host);
}

/* ---- inference of an unknown layout ---- */

/* What one word of an unknown header looks like. */
enum icls { IC_NUM, IC_HEX, IC_FILE, IC_IDENT, IC_OTHER };

/* One word (a ':'- or ' '-separated part) of the header being inferred. */
struct iword {
	size_t off, n;
	enum icls cls;
	const char *esc;	/* the escape it becomes, or NULL: a literal */
};

#define INFER_MAXWORDS	32
#define INFER_MAXHDR	512

/* Classifies the word s[0..n). */
static enum icls
infer_class(const char *s, size_t n)
{
	size_t i;
	int dig = 0, hexl = 0, other = 0;

	if (n > 2 && s[n - 2] == '.' && (s[n - 1] == 'c' || s[n - 1] == 'h'))
		return IC_FILE;
	if (n > 2 && s[0] == '0' && s[1] == 'x') {
		for (i = 2; i < n && isxdigit((unsigned char)s[i]); i++)
			;
		if (i == n)
			return IC_HEX;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isdigit(c))
			dig = 1;
		else if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
			hexl = 1;
		else
			other = 1;
	}
	if (!other && !hexl)
		return IC_NUM;
	if (!other && dig)
		return IC_HEX;		/* "7f1c1affd700"; "def" stays a word */
	if (isalpha((unsigned char)s[0]) || s[0] == '_') {
		for (i = 1; i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'); i++)
			;
		if (i == n)
			return IC_IDENT;
	}
	return IC_OTHER;
}

/* Infers a PSC_LOG_FORMAT from the header of line; see header.h. */
size_t
ps_header_infer(const char *line, size_t len, char *fmt, size_t fmtsz)
{
	struct iword w[INFER_MAXWORDS];
	size_t i = 1, k, rb, o = 0, nw = 0, anchor = 0, lastw;
	size_t fs, fn;
	const char *fracesc;
	int have_anchor = 0, nident = 0, first_ident = -1, last_ident = -1;
	int have_file = 0;

#define PUT(s, n) do {							\
	if (o + (n) + 1 > fmtsz)					\
		return 0;						\
	memcpy(fmt + o, (s), (n));					\
	o += (n);							\
} while (0)
	if (len < 4 || line[0] != '[')
		return 0;
	if (line[1] == '@')
		i = 2;
	for (k = i; k < len && isdigit((unsigned char)line[k]); k++)
		;
	if (k - i < 9 || k - i > 11 || k >= len || (line[k] != '.' && line[k] != ':'))
		return 0;
	fs = k + 1;
	for (k = fs; k < len && isdigit((unsigned char)line[k]); k++)
		;
	fn = k - fs;
	if (fn == 0 || k >= len || line[k] != ' ')
		return 0;
	if (line[fs - 1] == '.' && fn == 8 && line[k - 2] == '0' && line[k - 1] == '0')
		fracesc = "%06u00";
	else
		fracesc = fn >= 6 ? "%06u" : "%u";
	/* The header ends at the first ']'. */
	for (rb = k; rb < len && rb < INFER_MAXHDR && line[rb] != ']'; rb++)
		if (line[rb] == '%' || line[rb] == '[')
			return 0;
	if (rb >= len || line[rb] != ']')
		return 0;
	/* Words: split at spaces, and at ':' from the first word with one. */
	for (i = k + 1; i < rb; ) {
		size_t s0 = i;
		int colon = 0;

		if (line[i] == ' ') {
			i++;
			continue;
		}
		while (i < rb && line[i] != ' ')
			if (line[i++] == ':')
				colon = 1;
		if (colon && !have_anchor) {
			have_anchor = 1;
			anchor = nw;
		}
		if (!have_anchor || !colon) {
			if (nw == INFER_MAXWORDS)
				return 0;
			w[nw++] = (struct iword){ s0, i - s0, IC_OTHER, NULL };
			continue;
		}
		for (k = s0; k <= i; k++) {
			if (k < i && line[k] != ':')
				continue;
			if (nw == INFER_MAXWORDS || k == s0)
				return 0;	/* too many, or an empty part */
			w[nw++] = (struct iword){ s0, k - s0, IC_OTHER, NULL };
			s0 = k + 1;
		}
	}
	if (!have_anchor || anchor + 1 >= nw)
		return 0;
	/* A thread name: msbflushthr, msfsthr03, <23670>; not a file name or a number. */
	for (k = 0; k < w[anchor].n; k++) {
		unsigned char c = (unsigned char)line[w[anchor].off + k];

		if (!isalnum(c) && c != '_' && c != '-' && c != '<' && c != '>')
			return 0;
	}
	if (infer_class(line + w[anchor].off, w[anchor].n) == IC_NUM)
		return 0;
	/* The thread, then the fields after it by content. */
	w[anchor].esc = "%n";
	for (k = anchor + 1; k < nw; k++)
		w[k].cls = infer_class(line + w[k].off, w[k].n);
	lastw = nw - 1;
	if (w[anchor + 1].cls == IC_NUM)
		w[anchor + 1].esc = "%i";
	else if (w[anchor + 1].cls == IC_HEX)
		w[anchor + 1].esc = "%I";
	if (lastw > anchor + 1 && w[lastw].cls == IC_NUM)
		w[lastw].esc = "%l";
	for (k = anchor + 1; k < nw; k++) {
		if (w[k].esc != NULL)
			continue;
		if (w[k].cls == IC_FILE && !have_file) {
			w[k].esc = "%B";
			have_file = 1;
		} else if (w[k].cls == IC_IDENT) {
			if (first_ident < 0)
				first_ident = (int)k;
			last_ident = (int)k;
			nident++;
		} else if (w[k].cls == IC_NUM)
			w[k].esc = "%P";	/* some number: a pid, uid, level... */
		else if (w[k].cls == IC_HEX)
			w[k].esc = "%I";
	}
	if (nident == 1)
		w[first_ident].esc = "%F";
	else if (nident > 1) {
		w[first_ident].esc = "%T";
		w[last_ident].esc = "%F";
	}
	/* Write it out: the literal bytes between the words are kept. */
	PUT(line[1] == '@' ? "[@%s" : "[%s", line[1] == '@' ? 4u : 3u);
	PUT(line + fs - 1, 1);
	PUT(fracesc, strlen(fracesc));
	i = fs + fn;
	for (k = 0; k < nw; k++) {
		PUT(line + i, w[k].off - i);
		if (w[k].esc != NULL)
			PUT(w[k].esc, strlen(w[k].esc));
		else
			PUT(line + w[k].off, w[k].n);
		i = w[k].off + w[k].n;
	}
	PUT(line + i, rb - i);
	PUT(rb + 1 < len && line[rb + 1] == ' ' ? "] " : "]",
	    rb + 1 < len && line[rb + 1] == ' ' ? 2u : 1u);
	fmt[o] = '\0';
#undef PUT
	return o;
}
