/*
 * Private to parsers/: the body decoder and the classifier that parser.c
 * glues behind ps_parser_parse(), and the number reader every decoder
 * shares.  Not for use outside parsers/ and tests.
 */
#ifndef FS_PARSERS_INTERNAL_H
#define FS_PARSERS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "parsers/event.h"

/*
 * The signed decimal at s[0..n): an optional '-', then digits up to the
 * first non-digit; *used (may be NULL) gets the bytes read, so a number is
 * there when *used exceeds the sign.  Saturates at INT64_MAX: a corrupt
 * line can hold any number of digits.  Inline: the header and body decoders
 * call it for nearly every field of every line.
 */
static inline int64_t
ps_dec(const char *s, size_t n, size_t *used)
{
	uint64_t v = 0;
	size_t i = 0, fast;
	int neg = 0;

	if (n > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	/* 18 digits cannot overflow: no check for them (nearly every number) */
	fast = n - i > 18 ? i + 18 : n;
	for (; i < fast; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9)
			goto out;
		v = v * 10 + d;
	}
	for (; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9)
			break;
		v = v > (uint64_t)(INT64_MAX - d) / 10 ? (uint64_t)INT64_MAX : v * 10 + d;
	}
out:
	if (used != NULL)
		*used = i;
	return neg ? -(int64_t)v : (int64_t)v;
}

/*
 * Decodes the object prefixes (bmap@, biorq@, bmpce@, req@, fcmh@, any
 * number in a row) at the start of the message s[0..n) into ev and sets
 * ev->msg to the text after them.
 */
void ps_body_decode(const char *s, size_t n, struct ps_event *ev);

/* ps_body_decode without era A's one-pass decoders: the reference for tests. */
void ps_body_decode_ref(const char *s, size_t n, struct ps_event *ev);

/* Per-source state the classifier keeps (era hints seen so far). */
struct ps_class_state {
	int seen_checking;	/* "checking for flush" / "flushable?" seen: era M/Z */
};

/* Sets ev->kind, ev->msg_id and the message fields from func + ev->msg. */
void ps_classify(struct ps_class_state *st, struct ps_event *ev);

#endif
