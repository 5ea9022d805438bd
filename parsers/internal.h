/*
 * Private to parsers/: the body decoder and the classifier that parser.c
 * glues behind ps_parser_parse().  Not for use outside parsers/ and tests.
 */
#ifndef FS_PARSERS_INTERNAL_H
#define FS_PARSERS_INTERNAL_H

#include <stddef.h>

#include "parsers/event.h"

/*
 * Decodes the object prefixes (bmap@, biorq@, bmpce@, req@, fcmh@, any
 * number in a row) at the start of the message s[0..n) into ev and sets
 * ev->msg to the text after them.
 */
void ps_body_decode(const char *s, size_t n, struct ps_event *ev);

/* Per-source state the classifier keeps (era hints seen so far). */
struct ps_class_state {
	int seen_checking;	/* "checking for flush" / "flushable?" seen: era M/Z */
};

/* Sets ev->kind, ev->msg_id and the message fields from func + ev->msg. */
void ps_classify(struct ps_class_state *st, struct ps_event *ev);

#endif
