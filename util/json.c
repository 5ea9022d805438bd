/*
 * JSON output helpers (util/json.h).
 *
 * Strings: valid UTF-8 is written as it is; every byte that is not part of
 * a valid UTF-8 sequence (0x80-0xff) is written as the lone surrogate
 * \udcXX, the "surrogateescape" convention of Python's os.fsdecode, so a
 * file name of any bytes survives the trip: os.fsencode(json.loads(s))
 * gives back the exact bytes.  Writing such a byte as \u00XX (Latin-1)
 * would name a different file.
 */
#include "util/json.h"

#include <stdint.h>

/* Length (2-4) of the valid UTF-8 sequence at s[0..n), or 0 if there is none. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t need, k;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		cp = s[0] & 0x1fu;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		cp = s[0] & 0x0fu;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		cp = s[0] & 0x07u;
		min = 0x10000;
	} else
		return 0;
	if (n < need + 1)
		return 0;
	for (k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3fu);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

/* Writes a JSON string literal; see the convention above. */
void
fs_json_str(FILE *f, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, k;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		unsigned char c = u[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else if (c < 0x80)
			fputc(c, f);
		else if ((k = utf8_seq(u + i, n - i)) > 0) {
			fwrite(u + i, 1, k, f);
			i += k - 1;
		} else
			fprintf(f, "\\udc%02x", c);
	}
	fputc('"', f);
}
