/*
 * Private to parsers/: the body decoder and the classifier that parser.c
 * glues behind ps_parser_parse(), and the number reader every decoder
 * shares.  Not for use outside parsers/ and tests.
 */
#ifndef FS_PARSERS_INTERNAL_H
#define FS_PARSERS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
 * The first needle[0..nl) in s[0..n), or NULL (s itself for nl = 0).  A
 * memchr for the needle's second byte, then a compare at each hit: the
 * needles are short keys (" :: ", " off=", "(outstandingRpcCnt="), most
 * starting with a space or '(' that the message holds many of, and glibc's
 * memmem took ~360 instructions a call on them (callgrind).
 */
static inline const char *
ps_memfind(const char *s, size_t n, const char *needle, size_t nl)
{
	size_t i = 0;
	const char *q;

	if (nl < 2)
		return nl == 0 ? s : memchr(s, needle[0], n);
	while (n - i >= nl && (q = memchr(s + i + 1, needle[1], n - i - 1)) != NULL) {
		i = (size_t)(q - s) - 1;
		if (n - i < nl)
			break;
		if (memcmp(s + i, needle, nl) == 0)
			return s + i;
		i++;
	}
	return NULL;
}

/*
 * Era A's bmap@ prefixes lately decoded, one per slot (see body.c): a
 * line whose prefix repeats one byte for byte, as a bmap's does while its
 * state holds, takes the decoded fields from here.  A parser's own (no
 * lock); all zero is empty.
 */
#define PS_BMAP_MEMO_BITS	6
#define PS_BMAP_MEMO_SLOTS	(1 << PS_BMAP_MEMO_BITS)
#define PS_BMAP_MEMO_KEY	64	/* longest prefix kept, bytes */

struct ps_bmap_memo_slot {
	uint8_t len;			/* bytes of key; 0: empty */
	char key[PS_BMAP_MEMO_KEY];	/* from after "bmap@" to the space after opcnt's value */
	char bmap[sizeof(((struct ps_event *)0)->bmap)];	/* the event's bmap fields */
};

struct ps_body_memo {
	struct ps_bmap_memo_slot slot[PS_BMAP_MEMO_SLOTS];
};

/*
 * Decodes the object prefixes (bmap@, biorq@, bmpce@, req@, fcmh@, any
 * number in a row) at the start of the message s[0..n) into ev and sets
 * ev->msg to the text after them.  m (NULL: none) remembers era A's bmap@
 * prefixes; the event is the same with or without it.
 */
void ps_body_decode(struct ps_body_memo *m, const char *s, size_t n, struct ps_event *ev);

/* ps_body_decode without era A's one-pass decoders: the reference for tests. */
void ps_body_decode_ref(const char *s, size_t n, struct ps_event *ev);

/* Per-source state the classifier keeps (era hints seen so far). */
struct ps_class_state {
	int seen_checking;	/* "checking for flush" / "flushable?" seen: era M/Z */
};

/* Sets ev->kind, ev->msg_id and the message fields from func + ev->msg. */
void ps_classify(struct ps_class_state *st, struct ps_event *ev);

#endif
