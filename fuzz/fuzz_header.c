/*
 * Fuzz target: the header grammar compiler.  The input is an arbitrary
 * PSC_LOG_FORMAT string, optionally followed by a NUL and a line to match.
 * It must compile or fail cleanly; a compiled header must match (or not)
 * real lines without crashing, and where the format has a hand-written
 * fast matcher, that matcher must agree with the PCRE2 pattern exactly
 * (same length, same header fields).  The input as a line also goes through
 * ps_header_infer(): an inferred format must compile.
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
	"[1282327206:161331 msbflushthr:23667:bmap:bmap_flush:639]",
	"[1330000000:000500 msfsthr05:0x8021f3c00:mem io.c msl_write 320] x",
	"[1376000000:000100 msbflushthr1:10079:rpc bmap_flush_create_rpc bmap_flush.c 224] x",
	"[@1458400001.1234500 msflushthr3:7f1c1affd700:bmap bflush.c bmap_flush 765] x",
	"",
	"%%%%",
};

/* Aborts unless two slices are the same bytes of the same line. */
static void
same_str(const struct ps_str *a, const struct ps_str *b)
{
	if (a->n != b->n || (a->n > 0 && a->p != b->p))
		abort();
}

/* Matches line with PCRE2 and with the fast matcher; aborts on a difference. */
static void
match_both(struct ps_header *h, int fast, const char *line, size_t len)
{
	struct ps_event a, b;
	size_t na, nb;

	ps_event_reset(&a);
	ps_header_set_fast(h, 0);
	na = ps_header_match(h, line, len, &a);
	if (na > len)
		abort();
	if (!fast)
		return;
	ps_event_reset(&b);
	ps_header_set_fast(h, 1);
	nb = ps_header_match(h, line, len, &b);
	if (na != nb)
		abort();
	if (na == 0)
		return;
	if (a.ts_us != b.ts_us || a.tid != b.tid || a.srcline != b.srcline ||
	    a.level != b.level || a.has != b.has)
		abort();
	same_str(&a.thread, &b.thread);
	same_str(&a.tid_s, &b.tid_s);
	same_str(&a.subsys, &b.subsys);
	same_str(&a.file, &b.file);
	same_str(&a.func, &b.func);
	same_str(&a.host, &b.host);
}

/*
 * Infers a format from the bytes as a line: it must compile, and both
 * matchers must agree on the line.
 */
static void
infer(const uint8_t *data, size_t size)
{
	char out[1024], *line;
	struct ps_header *h;
	struct fs_err err;

	if (ps_header_infer((const char *)data, size, out, sizeof(out)) == 0)
		return;
	if (strlen(out) == 0 || (h = ps_header_compile(out, &err)) == NULL)
		abort();
	line = malloc(size ? size : 1);
	if (line != NULL) {
		memcpy(line, data, size);
		match_both(h, ps_header_set_fast(h, 1), line, size);
		free(line);
	}
	ps_header_free(h);
}

/* Compiles the format part of the input and matches lines against it. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_header *h;
	struct fs_err err;
	const uint8_t *nul;
	char *fmt, *line;
	size_t i, flen, llen;
	int fast;

	if (size > 4096)
		return 0;
	nul = memchr(data, '\0', size);
	flen = nul ? (size_t)(nul - data) : size;
	fmt = malloc(flen + 1);
	if (fmt == NULL)
		return 0;
	memcpy(fmt, data, flen);
	fmt[flen] = '\0';
	h = ps_header_compile(fmt, &err);
	if (h != NULL) {
		fast = ps_header_set_fast(h, 1);
		for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
			match_both(h, fast, lines[i], strlen(lines[i]));
		/* the format matched against its own text */
		match_both(h, fast, fmt, flen);
		/* and the bytes after the NUL as a line (private copy for ASan) */
		if (nul != NULL) {
			llen = size - flen - 1;
			line = malloc(llen ? llen : 1);
			if (line != NULL) {
				memcpy(line, nul + 1, llen);
				match_both(h, fast, line, llen);
				free(line);
			}
		}
		ps_header_free(h);
	}
	/* the whole input as a line of an unknown layout */
	infer(data, size);
	free(fmt);
	return 0;
}
