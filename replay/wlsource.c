/*
 * Where workloads come from: a workload file, log files (through the
 * parser and the extractor) or a database (through the store).  One entry
 * point, wl_load(), so that extract, replay and verify accept the same
 * inputs.
 */
#include "replay/wlsource.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/parser.h"

/* Returns the kind of input at path, judged from its first bytes. */
enum wl_input
wl_input_kind(const char *path)
{
	char buf[256];
	size_t n, i;
	FILE *f;

	if (strcmp(path, "-") == 0)
		return WL_IN_LOG;
	if ((f = fopen(path, "rb")) == NULL)
		return WL_IN_LOG;	/* the log reader reports the error */
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (n >= 16 && memcmp(buf, "SQLite format 3", 16) == 0)
		return WL_IN_DB;
	/* a workload: comments and blank lines, then the magic word */
	for (i = 0; i < n;) {
		while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
			i++;
		if (i < n && buf[i] == '#') {
			while (i < n && buf[i] != '\n')
				i++;
			continue;
		}
		break;
	}
	if (n - i >= 19 && memcmp(buf + i, "flushscope-workload", 19) == 0)
		return WL_IN_WORKLOAD;
	return WL_IN_LOG;
}

/* Feeds every line of one log to the extractor. */
static int
feed_log(struct wl_extractor *x, const char *path, struct fs_err *err)
{
	struct ps_reader *r;
	struct ps_parser *p;
	struct ps_event ev;
	const char *line;
	size_t len;
	uint64_t off, lineno = 0;
	int rc;

	if ((r = ps_reader_open(path, 0, err)) == NULL)
		return -1;
	if ((p = ps_parser_new(NULL, err)) == NULL) {
		ps_reader_close(r);
		return -1;
	}
	while ((rc = ps_reader_next(r, &line, &len, &off, err)) == 1) {
		lineno++;
		ps_parser_parse(p, line, len, off, lineno, &ev);
		if (wl_extract_feed(x, &ev, err) < 0) {
			fs_err_prefix(err, "%s:%" PRIu64, path, lineno);
			rc = -1;
			break;
		}
	}
	ps_parser_free(p);
	ps_reader_close(r);
	return rc < 0 ? -1 : 0;
}

/* Extracts a workload from log files, in the order given. */
int
wl_load_logs(struct wl_workload *w, char *const *paths, int n,
    const struct wl_extract_opts *o, struct fs_err *err)
{
	struct wl_extractor *x;
	int i;

	if ((x = wl_extract_new(o, err)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (feed_log(x, paths[i], err) < 0) {
			wl_extract_free(x);
			return -1;
		}
	i = wl_extract_finish(x, w, err);
	wl_extract_free(x);
	return i;
}

/* Loads a workload from one input of any kind. */
int
wl_load(struct wl_workload *w, const char *path, const struct wl_extract_opts *o,
    struct fs_err *err)
{
	char *paths[1];

	switch (wl_input_kind(path)) {
	case WL_IN_WORKLOAD:
		return wl_read_file(w, path, err);
	case WL_IN_DB:
		return wl_load_db(w, path, o, err);
	default:
		paths[0] = (char *)path;
		return wl_load_logs(w, paths, 1, o, err);
	}
}
