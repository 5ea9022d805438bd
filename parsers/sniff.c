/*
 * parsers/sniff: whether an input's first lines hold SLASH2 log lines.
 */
#include "parsers/sniff.h"

#include <string.h>
#include <sys/stat.h>

#include "parsers/event.h"
#include "parsers/parser.h"

/* Counts one line; 1 when enough has been seen to stop. */
static int
sniff_line(struct ps_parser *p, struct ps_event *ev, const char *line, size_t len,
    uint64_t off, struct ps_sniff *s, uint64_t *bytes)
{
	s->lines++;
	*bytes += len + 1;
	if (ps_parser_parse(p, line, len, off, s->lines, ev) == 1) {
		if (s->log_lines++ == 0)
			s->first_log = s->lines;
		return 1;	/* one is enough */
	}
	return s->lines >= PS_SNIFF_LINES || *bytes >= PS_SNIFF_BYTES;
}

/* Looks at the first lines of a file. */
int
ps_sniff_path(const char *path, const char *log_format, struct ps_sniff *out,
    struct fs_err *err)
{
	struct ps_sniff s;
	struct ps_reader *r;
	struct ps_parser *p;
	struct ps_event ev;
	struct stat sb;
	const char *line;
	size_t len;
	uint64_t off, bytes = 0;
	int rc;

	memset(&s, 0, sizeof(s));
	if (out != NULL)
		*out = s;
	if (strcmp(path, "-") == 0 || (stat(path, &sb) == 0 && (S_ISFIFO(sb.st_mode) ||
	    S_ISCHR(sb.st_mode) || S_ISSOCK(sb.st_mode) || S_ISBLK(sb.st_mode))))
		return PS_SNIFF_STREAM;
	if ((p = ps_parser_new(log_format, err)) == NULL)
		return -1;
	if ((r = ps_reader_open(path, 0, err)) == NULL) {
		ps_parser_free(p);
		return -1;
	}
	while ((rc = ps_reader_next(r, &line, &len, &off, err)) == 1)
		if (sniff_line(p, &ev, line, len, off, &s, &bytes))
			break;
	ps_reader_close(r);
	ps_parser_free(p);
	if (out != NULL)
		*out = s;
	if (s.log_lines > 0)
		return PS_SNIFF_LOG;	/* a later read error is the reader's to report */
	if (rc < 0)
		return -1;
	return PS_SNIFF_NOT_LOG;
}

/* Looks at the lines of a buffer. */
int
ps_sniff_buf(const char *buf, size_t n, const char *log_format, struct ps_sniff *out,
    struct fs_err *err)
{
	struct ps_sniff s;
	struct ps_parser *p;
	struct ps_event ev;
	size_t i = 0;
	uint64_t bytes = 0;

	memset(&s, 0, sizeof(s));
	if ((p = ps_parser_new(log_format, err)) == NULL)
		return -1;
	while (i < n) {
		const char *nl = memchr(buf + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (buf + i)) : n - i;

		if (len > 0 && buf[i + len - 1] == '\r')
			len--;	/* as the reader drops CR before LF */
		if (sniff_line(p, &ev, buf + i, len, i, &s, &bytes) && s.log_lines > 0)
			break;
		i += (nl ? (size_t)(nl - (buf + i)) + 1 : n - i);
	}
	ps_parser_free(p);
	if (out != NULL)
		*out = s;
	return s.log_lines > 0 ? PS_SNIFF_LOG : PS_SNIFF_NOT_LOG;
}
