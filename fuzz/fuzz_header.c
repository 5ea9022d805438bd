/*
 * Fuzz target: the header grammar compiler.  The input is an arbitrary
 * PSC_LOG_FORMAT string; it must compile or fail cleanly, and a compiled
 * header must match (or not) a few real lines without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const lines[] = {
	"[1282327206:161331 msbflushthr:23667:bmap:bmap_flush:639] bmap@0x881330 b:1 m:8259 "
	    "i:80000002d907b opcnt=65 try flush (outstandingRpcCnt=75)",
	"[1547659910.15902000 msflushthr5:7f1c1affd700:bmap bflush.c bmap_flush 765]bmap@0x881330 "
	    "bno:1 flg:0x30006:WL+ fid:0x00080000002d907b opcnt=4 : flushable?",
	"",
	"%%%%",
};

/* Compiles the input as a format and matches it against fixed lines. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_header *h;
	struct ps_event ev;
	struct fs_err err;
	char *fmt;
	size_t i;

	if (size > 4096)
		return 0;
	fmt = malloc(size + 1);
	if (fmt == NULL)
		return 0;
	memcpy(fmt, data, size);
	fmt[size] = '\0';
	h = ps_header_compile(fmt, &err);
	if (h != NULL) {
		for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
			ps_event_reset(&ev);
			(void)ps_header_match(h, lines[i], strlen(lines[i]), &ev);
		}
		/* the format must also be matchable against its own text */
		ps_event_reset(&ev);
		(void)ps_header_match(h, fmt, size, &ev);
		ps_header_free(h);
	}
	free(fmt);
	return 0;
}
