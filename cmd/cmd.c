#include "cmd/cmd.h"

#include <stdarg.h>
#include <string.h>

struct fs_global fs_global;

/* Parses a --format value. */
int
fs_format_parse(const char *s)
{
	if (strcmp(s, "table") == 0)
		return FS_FMT_TABLE;
	if (strcmp(s, "csv") == 0)
		return FS_FMT_CSV;
	if (strcmp(s, "json") == 0)
		return FS_FMT_JSON;
	return -1;
}

/* Prints a message prefixed with the command name to stderr. */
void
fs_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "flushscope%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Writes a JSON string literal; control bytes and invalid bytes are escaped. */
void
fs_json_str(FILE *f, const char *s, size_t n)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
