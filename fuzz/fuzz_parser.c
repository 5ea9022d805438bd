/*
 * Fuzz target: the line parser and body decoders.  The input is arbitrary
 * bytes, split into lines as the reader would; every line must parse or be
 * reported unparsed, with every slice of the event inside the line.  What
 * follows a line's first "] " (or the whole line) is also decoded as a
 * message body by ps_body_decode, without and with a bmap@ memo kept
 * across the input's lines, and by the token loops alone
 * (ps_body_decode_ref), which must all leave the same event.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/internal.h"
#include "parsers/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless the slice lies inside [line, line+len). */
static void
check_slice(const struct ps_str *s, const char *line, size_t len)
{
	if (s->n == 0)
		return;
	if (s->p < line || s->p + s->n > line + len)
		abort();
}

/* Parses every line of the input with one detecting parser. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_parser *p;
	struct ps_event ev;
	struct fs_err err;
	const char *s = (const char *)data, *end = s + size, *nl;
	uint64_t lineno = 0;
	char *copy;
	static struct ps_body_memo memo;

	memset(&memo, 0, sizeof(memo));
	p = ps_parser_new(NULL, &err);
	if (p == NULL)
		abort();
	while (s < end) {
		size_t len;

		nl = memchr(s, '\n', (size_t)(end - s));
		len = nl ? (size_t)(nl - s) : (size_t)(end - s);
		/* a private copy so ASan sees reads past the line */
		copy = malloc(len ? len : 1);
		if (copy == NULL)
			break;
		memcpy(copy, s, len);
		(void)ps_parser_parse(p, copy, len, (uint64_t)(s - (const char *)data),
		    ++lineno, &ev);
		if ((unsigned)ev.kind >= PS_EV_NKINDS)
			abort();
		check_slice(&ev.thread, copy, len);
		check_slice(&ev.tid_s, copy, len);
		check_slice(&ev.subsys, copy, len);
		check_slice(&ev.file, copy, len);
		check_slice(&ev.func, copy, len);
		check_slice(&ev.host, copy, len);
		check_slice(&ev.msg, copy, len);
		{
			const char *hd = memmem(copy, len, "] ", 2);
			size_t bo = hd != NULL ? (size_t)(hd - copy) + 2 : 0;
			struct ps_event a, b, c;

			ps_event_reset(&a);
			ps_event_reset(&b);
			ps_event_reset(&c);
			ps_body_decode(NULL, copy + bo, len - bo, &a);
			ps_body_decode_ref(copy + bo, len - bo, &b);
			ps_body_decode(&memo, copy + bo, len - bo, &c);
			if (memcmp(&a, &b, sizeof(a)) != 0 || memcmp(&c, &b, sizeof(c)) != 0)
				abort();
		}
		free(copy);
		s += len + (nl != NULL);
	}
	ps_parser_free(p);
	return 0;
}
