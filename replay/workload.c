/*
 * Workloads: the text format (reader and writer) and the extractor that
 * recovers an engine's inputs from a stream of struct ps_event.
 * See replay/workload.h and man/flushscope-workload.5.
 */
#include "replay/workload.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/map.h"
#include "util/vec.h"

/* ---- names ---- */

static const char *const fid_names[] = { "biorq", "rpc", "fitted" };
static const char *const lat_names[] = { "none", "xid", "counter", "run", "fitted" };
static const char *const kind_names[] = { "write", "fsync", "rpc" };

/* Returns the name of a fidelity level. */
const char *
wl_fidelity_name(enum wl_fidelity f)
{
	return (unsigned)f < 3 ? fid_names[f] : "?";
}

/* Parses a fidelity name. */
int
wl_fidelity_parse(const char *s)
{
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, fid_names[i]) == 0)
			return i;
	return -1;
}

/* Returns the name of a latency source. */
const char *
wl_lat_src_name(enum wl_lat_src s)
{
	return (unsigned)s < 5 ? lat_names[s] : "?";
}

/* ---- the workload container ---- */

/* Marks every observation unknown. */
static void
obs_unknown(struct wl_observed *o)
{
	o->lines = o->span_us = o->examinations = o->wasted_examinations = -1;
	o->passes = o->pass_period_us = o->sleep_us = o->line_us = o->rpcs = o->bytes = -1;
	o->first_pass_us = -1;
	o->outstanding_max = o->arrivals_dropped = o->writes_unsent = -1;
}

/* Initialises an empty workload. */
void
wl_init(struct wl_workload *w)
{
	memset(w, 0, sizeof(*w));
	w->version = WL_VERSION;
	w->fidelity = w->arrivals = w->service = WL_FID_FITTED;
	w->poll_us = 2048;
	w->era = '?';
	w->default_lat_us = 10000;
	obs_unknown(&w->obs);
}

/* Frees a workload's arrays. */
void
wl_free(struct wl_workload *w)
{
	free(w->ev);
	free(w->samples);
	w->ev = NULL;
	w->samples = NULL;
	w->n = w->cap = w->nsamples = w->capsamples = 0;
}

/* Appends one event. */
int
wl_add(struct wl_workload *w, const struct wl_event *e, struct fs_err *err)
{
	if (fs_vec_reserve_((void **)&w->ev, &w->cap, w->n + 1, sizeof(*w->ev)) < 0)
		return fs_err_set(err, ENOMEM, "workload: out of memory");
	w->ev[w->n++] = *e;
	return 0;
}

/* Appends one service sample. */
int
wl_add_sample(struct wl_workload *w, int64_t lat_us, struct fs_err *err)
{
	if (fs_vec_reserve_((void **)&w->samples, &w->capsamples, w->nsamples + 1,
	    sizeof(*w->samples)) < 0)
		return fs_err_set(err, ENOMEM, "workload: out of memory");
	w->samples[w->nsamples++] = lat_us;
	return 0;
}

/* Orders events by time, then by their original position (stability). */
static int
ev_cmp(const void *a, const void *b)
{
	const struct wl_event *x = a, *y = b;

	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	if (x->lineno != y->lineno)
		return x->lineno < y->lineno ? -1 : 1;
	return 0;
}

/*
 * Sorts events by time.  qsort is not stable, so the position is folded in
 * through lineno: events are renumbered by position first when two share a
 * line number (events built in memory), which keeps equal times in order.
 */
void
wl_sort(struct wl_workload *w)
{
	size_t i;
	int sorted = 1;

	for (i = 1; i < w->n; i++)
		if (ev_cmp(&w->ev[i - 1], &w->ev[i]) > 0 ||
		    w->ev[i - 1].lineno == w->ev[i].lineno) {
			sorted = 0;
			break;
		}
	if (sorted)
		return;
	/* Make the tie-breaker the current position, keeping file order. */
	{
		uint64_t *orig = malloc(w->n * sizeof(*orig));

		for (i = 0; i < w->n; i++) {
			if (orig)
				orig[i] = w->ev[i].lineno;
			w->ev[i].lineno = i;
		}
		qsort(w->ev, w->n, sizeof(*w->ev), ev_cmp);
		if (orig) {
			uint64_t *tmp = malloc(w->n * sizeof(*tmp));

			if (tmp) {
				for (i = 0; i < w->n; i++)
					tmp[i] = orig[w->ev[i].lineno];
				for (i = 0; i < w->n; i++)
					w->ev[i].lineno = tmp[i];
				free(tmp);
			}
			free(orig);
		}
	}
}

/* Counts events of one kind. */
size_t
wl_count(const struct wl_workload *w, enum wl_kind k)
{
	size_t i, c = 0;

	for (i = 0; i < w->n; i++)
		if (w->ev[i].kind == k)
			c++;
	return c;
}

/* Describes a mix of latency sources. */
void
wl_service_mix(const struct wl_workload *w, char *buf, size_t n)
{
	static const char *const names[] = {
		[WL_LAT_NONE] = "unknown", [WL_LAT_XID] = "by xid",
		[WL_LAT_COUNTER] = "by counter", [WL_LAT_RUN] = "by requeue run",
		[WL_LAT_FITTED] = "fitted"
	};
	size_t cnt[WL_LAT_FITTED + 1] = { 0 }, i, len = 0;
	int kinds = 0, k;

	buf[0] = '\0';
	for (i = 0; i < w->n; i++)
		if (w->ev[i].kind == WL_RPC && (unsigned)w->ev[i].lat_src <= WL_LAT_FITTED)
			cnt[w->ev[i].lat_src]++;
	for (k = 0; k <= WL_LAT_FITTED; k++)
		kinds += cnt[k] > 0;
	if (kinds < 2)
		return;
	for (k = 0; k <= WL_LAT_FITTED && len < n; k++) {
		int m;

		if (cnt[k] == 0)
			continue;
		m = snprintf(buf + len, n - len, "%s%zu %s", len ? ", " : "", cnt[k], names[k]);
		if (m < 0)
			break;
		len += (size_t)m;
	}
}

/* ---- writer ---- */

/* The observation names, in file order, with their field offsets. */
static const struct {
	const char *name;
	size_t off;
} obs_fields[] = {
	{ "lines", offsetof(struct wl_observed, lines) },
	{ "span_us", offsetof(struct wl_observed, span_us) },
	{ "examinations", offsetof(struct wl_observed, examinations) },
	{ "wasted_examinations", offsetof(struct wl_observed, wasted_examinations) },
	{ "passes", offsetof(struct wl_observed, passes) },
	{ "pass_period_us", offsetof(struct wl_observed, pass_period_us) },
	{ "sleep_us", offsetof(struct wl_observed, sleep_us) },
	{ "line_us", offsetof(struct wl_observed, line_us) },
	{ "first_pass_us", offsetof(struct wl_observed, first_pass_us) },
	{ "rpcs", offsetof(struct wl_observed, rpcs) },
	{ "bytes", offsetof(struct wl_observed, bytes) },
	{ "outstanding_max", offsetof(struct wl_observed, outstanding_max) },
	{ "arrivals_dropped", offsetof(struct wl_observed, arrivals_dropped) },
	{ "writes_unsent", offsetof(struct wl_observed, writes_unsent) },
};
#define NOBS (sizeof(obs_fields) / sizeof(obs_fields[0]))

/* Writes the workload as text. */
int
wl_write(const struct wl_workload *w, FILE *f, const char *source, struct fs_err *err)
{
	size_t i;

	fprintf(f, "flushscope-workload %d\n", WL_VERSION);
	fprintf(f, "# The inputs of a flush engine; see flushscope-workload(5).\n");
	if (source != NULL)
		fprintf(f, "# source: %s\n", source);
	fprintf(f, "fidelity %s\n", wl_fidelity_name(w->fidelity));
	fprintf(f, "arrivals %s\n", wl_fidelity_name(w->arrivals));
	fprintf(f, "service %s\n", wl_fidelity_name(w->service));
	fprintf(f, "era %c\n", w->era);
	fprintf(f, "epoch_us %" PRId64 "\n", w->epoch_us);
	fprintf(f, "end_us %" PRId64 "\n", w->end_us);
	fprintf(f, "poll_us %" PRId64 "\n", w->poll_us);
	fprintf(f, "default_latency_us %" PRId64 "\n", w->default_lat_us);
	fprintf(f, "# what the trace itself showed (-1 = unknown)\n");
	for (i = 0; i < NOBS; i++)
		fprintf(f, "observed %s %" PRId64 "\n", obs_fields[i].name,
		    *(const int64_t *)((const char *)&w->obs + obs_fields[i].off));
	if (w->nsamples > 0)
		fprintf(f, "# service latencies seen (the fitted distribution)\n");
	for (i = 0; i < w->nsamples; i++)
		fprintf(f, "sample %" PRId64 "\n", w->samples[i]);
	fprintf(f, "# t_us kind bmap(fid:bno) [off len [latency_us source xid]]\n");
	for (i = 0; i < w->n; i++) {
		const struct wl_event *e = &w->ev[i];

		fprintf(f, "%" PRId64 " %s %" PRIx64 ":%" PRIu32, e->t_us,
		    kind_names[e->kind], e->fid, e->bno);
		if (e->kind == WL_WRITE || e->kind == WL_RPC)
			fprintf(f, " %" PRIu64 " %" PRIu32, e->off, e->len);
		if (e->kind == WL_RPC) {
			if (e->lat_us >= 0)
				fprintf(f, " %" PRId64, e->lat_us);
			else
				fputs(" -", f);
			fprintf(f, " %s", wl_lat_src_name(e->lat_src));
			if (e->xid >= 0)
				fprintf(f, " %" PRId64, e->xid);
			else
				fputs(" -", f);
		}
		fputc('\n', f);
	}
	if (fflush(f) != 0 || ferror(f))
		return fs_err_set(err, errno ? errno : EIO, "write: %s", strerror(errno ? errno : EIO));
	return 0;
}

/* ---- reader ---- */

#define MAXTOK 16

/*
 * Value ranges (flushscope-workload(5)): times stay within about 31 years
 * of the epoch and latencies within 11.6 days, so that microseconds times
 * 1000 and their sums never overflow the engine's nanosecond clock; a
 * pass period or poll of at most an hour.
 */
#define WL_TIME_MAX	1000000000000000ll	/* |t_us|, end_us: 1e15 us */
#define WL_LAT_MAX	1000000000000ll		/* latencies, samples: 1e12 us */
#define WL_EPOCH_MAX	100000000000000000ll	/* epoch_us: 1e17 us */
#define WL_PERIOD_MAX	3600000000ll		/* poll_us, pass_period_us: 1 h */

/* Parses a signed decimal integer token; returns -1 if it is not one. */
static int
parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Parses an unsigned decimal integer no larger than max. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Parses "fid:bno": fid hex (optional 0x), bno decimal (or 0x hex). */
static int
parse_bmap(const char *s, uint64_t *fid, uint32_t *bno)
{
	const char *colon = strchr(s, ':');
	char *end;
	unsigned long long f, b;

	if (colon == NULL || colon == s || colon[1] == '\0')
		return -1;
	if (!isxdigit((unsigned char)*s))
		return -1;
	errno = 0;
	f = strtoull(s, &end, 16);
	if (errno != 0 || end != colon)
		return -1;
	if (!isdigit((unsigned char)colon[1]))
		return -1;
	b = strtoull(colon + 1, &end, 0);
	if (errno != 0 || *end != '\0' || b > UINT32_MAX)
		return -1;
	*fid = f;
	*bno = (uint32_t)b;
	return 0;
}

/*
 * Splits a line into whitespace-separated tokens, stopping at '#'; tok
 * holds MAXTOK + 1 slots, and the one after the last token is NULL.
 */
static int
tokenize(char *line, char **tok)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0' || *p == '#')
			break;
		if (n == MAXTOK)
			return -1;
		tok[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '#')
			p++;
		if (*p == '#') {
			*p = '\0';
			break;
		}
		if (*p)
			*p++ = '\0';
	}
	tok[n] = NULL;
	return n;
}

/* Parses one event line (tok[0] is the time). */
static int
read_event(struct wl_workload *w, char **tok, int nt, const char *name,
    uint64_t ln, struct fs_err *err)
{
	struct wl_event e;
	uint64_t u;
	int k;

	memset(&e, 0, sizeof(e));
	e.lat_us = -1;
	e.xid = -1;
	e.lineno = ln;
	if (parse_i64(tok[0], &e.t_us) < 0)
		return fs_err_set(err, EINVAL, "%s:%" PRIu64 ": bad time '%s'", name, ln, tok[0]);
	if (e.t_us < -WL_TIME_MAX || e.t_us > WL_TIME_MAX)
		return fs_err_set(err, ERANGE, "%s:%" PRIu64 ": time %s out of range "
		    "(-1e15..1e15 us)", name, ln, tok[0]);
	if (nt < 3)
		return fs_err_set(err, EINVAL, "%s:%" PRIu64 ": expected 't_us kind fid:bno ...'",
		    name, ln);
	for (k = 0; k < 3; k++)
		if (strcmp(tok[1], kind_names[k]) == 0)
			break;
	if (k == 3)
		return fs_err_set(err, EINVAL,
		    "%s:%" PRIu64 ": unknown event kind '%s' (write, fsync or rpc)", name, ln, tok[1]);
	e.kind = (enum wl_kind)k;
	if (parse_bmap(tok[2], &e.fid, &e.bno) < 0)
		return fs_err_set(err, EINVAL,
		    "%s:%" PRIu64 ": bad bmap '%s' (expected hex fid ':' bmap number)", name, ln, tok[2]);
	if (e.kind == WL_FSYNC) {
		if (nt != 3)
			return fs_err_set(err, EINVAL, "%s:%" PRIu64 ": fsync takes no more fields",
			    name, ln);
		return wl_add(w, &e, err);
	}
	if ((e.kind == WL_WRITE && nt != 5) || (e.kind == WL_RPC && nt != 5 && nt != 8))
		return fs_err_set(err, EINVAL, "%s:%" PRIu64 ": %s expects %s", name, ln, tok[1],
		    e.kind == WL_WRITE ? "'t_us write fid:bno off len'" :
		    "'t_us rpc fid:bno off len [latency_us source xid]'");
	if (parse_u64(tok[3], 128ull << 20, &e.off) < 0)
		return fs_err_set(err, EINVAL, "%s:%" PRIu64 ": bad offset '%s' (0..134217728)",
		    name, ln, tok[3]);
	if (parse_u64(tok[4], 128ull << 20, &u) < 0 || u == 0)
		return fs_err_set(err, EINVAL, "%s:%" PRIu64 ": bad length '%s' (1..134217728)",
		    name, ln, tok[4]);
	e.len = (uint32_t)u;
	if (e.off + e.len > (128ull << 20))
		return fs_err_set(err, EINVAL, "%s:%" PRIu64 ": off+len past the 128 MiB bmap",
		    name, ln);
	if (e.kind == WL_RPC && nt == 8) {
		if (strcmp(tok[5], "-") != 0 && (parse_i64(tok[5], &e.lat_us) < 0 || e.lat_us < 0))
			return fs_err_set(err, EINVAL, "%s:%" PRIu64 ": bad latency '%s'",
			    name, ln, tok[5]);
		if (e.lat_us > WL_LAT_MAX)
			return fs_err_set(err, ERANGE, "%s:%" PRIu64 ": latency %s out of range "
			    "(0..1e12 us)", name, ln, tok[5]);
		for (k = 0; k < 5; k++)
			if (strcmp(tok[6], lat_names[k]) == 0)
				break;
		if (k == 5)
			return fs_err_set(err, EINVAL, "%s:%" PRIu64 ": unknown latency source '%s'",
			    name, ln, tok[6]);
		e.lat_src = (enum wl_lat_src)k;
		if (strcmp(tok[7], "-") != 0 && (parse_i64(tok[7], &e.xid) < 0 || e.xid < 0))
			return fs_err_set(err, EINVAL, "%s:%" PRIu64 ": bad xid '%s'", name, ln, tok[7]);
	}
	return wl_add(w, &e, err);
}

/* The numeric header lines and their ranges (sample is the last). */
static const struct {
	const char *name;
	size_t off;
	int64_t lo, hi;
} hdr_ranges[] = {
	{ "epoch_us", offsetof(struct wl_workload, epoch_us), 0, WL_EPOCH_MAX },
	{ "end_us", offsetof(struct wl_workload, end_us), 0, WL_TIME_MAX },
	{ "poll_us", offsetof(struct wl_workload, poll_us), 1, WL_PERIOD_MAX },
	{ "default_latency_us", offsetof(struct wl_workload, default_lat_us), 0, WL_LAT_MAX },
	{ "sample", 0, 0, WL_LAT_MAX },
};

/* Parses one header line. */
static int
read_header(struct wl_workload *w, char **tok, int nt, const char *name,
    uint64_t ln, struct fs_err *err)
{
	int64_t v;
	size_t i;
	int f;

	if (strcmp(tok[0], "fidelity") == 0 || strcmp(tok[0], "arrivals") == 0 ||
	    strcmp(tok[0], "service") == 0) {
		if (nt != 2 || (f = wl_fidelity_parse(tok[1])) < 0)
			return fs_err_set(err, EINVAL,
			    "%s:%" PRIu64 ": %s expects biorq, rpc or fitted", name, ln, tok[0]);
		if (tok[0][0] == 'f')
			w->fidelity = (enum wl_fidelity)f;
		else if (tok[0][0] == 'a')
			w->arrivals = (enum wl_fidelity)f;
		else
			w->service = (enum wl_fidelity)f;
		return 0;
	}
	if (strcmp(tok[0], "era") == 0) {
		if (nt != 2 || strlen(tok[1]) != 1 || strchr("ABCZ?", tok[1][0]) == NULL)
			return fs_err_set(err, EINVAL, "%s:%" PRIu64 ": era expects A, B, C, Z or ?",
			    name, ln);
		w->era = tok[1][0];
		return 0;
	}
	if (strcmp(tok[0], "observed") == 0) {
		int64_t hi;

		if (nt != 3 || parse_i64(tok[2], &v) < 0)
			return fs_err_set(err, EINVAL,
			    "%s:%" PRIu64 ": observed expects a name and an integer", name, ln);
		hi = strcmp(tok[1], "pass_period_us") == 0 || strcmp(tok[1], "sleep_us") == 0 ||
		    strcmp(tok[1], "line_us") == 0 ? WL_PERIOD_MAX : WL_TIME_MAX;
		if (v < -1 || v > hi)
			return fs_err_set(err, ERANGE, "%s:%" PRIu64 ": observed %s %s out of "
			    "range (-1 for unknown, or 0..%" PRId64 ")", name, ln, tok[1], tok[2], hi);
		for (i = 0; i < NOBS; i++)
			if (strcmp(tok[1], obs_fields[i].name) == 0)
				*(int64_t *)((char *)&w->obs + obs_fields[i].off) = v;
		return 0;	/* unknown observations are ignored (newer writers) */
	}
	if (nt != 2 || parse_i64(tok[1], &v) < 0)
		goto unknown;
	for (i = 0; i < sizeof(hdr_ranges) / sizeof(hdr_ranges[0]); i++) {
		if (strcmp(tok[0], hdr_ranges[i].name) != 0)
			continue;
		if (v < hdr_ranges[i].lo || v > hdr_ranges[i].hi)
			return fs_err_set(err, ERANGE, "%s:%" PRIu64 ": %s %s out of range "
			    "(%" PRId64 "..%" PRId64 ")", name, ln, tok[0], tok[1], hdr_ranges[i].lo,
			    hdr_ranges[i].hi);
		if (i == 4)
			return wl_add_sample(w, v, err);
		*(int64_t *)((char *)w + hdr_ranges[i].off) = v;
		return 0;
	}
unknown:
	return fs_err_set(err, EINVAL, "%s:%" PRIu64 ": unknown or malformed line starting '%s'",
	    name, ln, tok[0]);
}

/* Reads a workload from a stream. */
int
wl_read(struct wl_workload *w, FILE *f, const char *name, struct fs_err *err)
{
	char *line = NULL, *tok[MAXTOK + 1];
	size_t cap = 0;
	ssize_t len;
	uint64_t ln = 0;
	int nt, seen_magic = 0, rc = 0;

	wl_init(w);
	while ((len = getline(&line, &cap, f)) >= 0) {
		ln++;
		if ((size_t)len != strlen(line)) {
			rc = fs_err_set(err, EINVAL, "%s:%" PRIu64 ": NUL byte in line", name, ln);
			break;
		}
		if ((nt = tokenize(line, tok)) < 0) {
			rc = fs_err_set(err, EINVAL, "%s:%" PRIu64 ": too many fields", name, ln);
			break;
		}
		if (nt == 0)
			continue;
		if (!seen_magic) {
			int64_t v;

			if (strcmp(tok[0], "flushscope-workload") != 0 || nt != 2 ||
			    parse_i64(tok[1], &v) < 0) {
				rc = fs_err_set(err, EINVAL, "%s:%" PRIu64
				    ": not a workload (expected 'flushscope-workload %d')",
				    name, ln, WL_VERSION);
				break;
			}
			if (v < 1 || v > WL_VERSION) {
				rc = fs_err_set(err, EINVAL, "%s:%" PRIu64
				    ": workload version %" PRId64 " not supported (up to %d)",
				    name, ln, v, WL_VERSION);
				break;
			}
			w->version = (int)v;
			seen_magic = 1;
			continue;
		}
		if (tok[0][0] == '-' || isdigit((unsigned char)tok[0][0]))
			rc = read_event(w, tok, nt, name, ln, err);
		else
			rc = read_header(w, tok, nt, name, ln, err);
		if (rc < 0)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = fs_err_set(err, EIO, "%s:%" PRIu64 ": read error", name, ln);
	if (rc == 0 && !seen_magic)
		rc = fs_err_set(err, EINVAL, "%s:%" PRIu64 ": empty, not a workload", name, ln);
	free(line);
	if (rc < 0) {
		wl_free(w);
		return -1;
	}
	wl_sort(w);
	return 0;
}

/* Opens and reads a workload file. */
int
wl_read_file(struct wl_workload *w, const char *path, struct fs_err *err)
{
	FILE *f;
	int rc;

	if (strcmp(path, "-") == 0) {
		if ((rc = wl_read(w, stdin, "<stdin>", err)) < 0)
			fs_err_name(err, "<stdin>");
		return rc;
	}
	if ((f = fopen(path, "r")) == NULL)
		return fs_err_set(err, errno, "%s: %s", path, strerror(errno));
	if ((rc = wl_read(w, f, path, err)) < 0)
		fs_err_name(err, path);
	fclose(f);
	return rc;
}

/* ---- extraction ---- */

/*
 * The extractor follows the inputs of the recorded engine through the
 * events: biorqs becoming ready, RPCs sent and completed, bmaps going
 * clean.  What the flush thread did with them (examinations, passes, runs
 * of wasted examinations) it does not judge: the spin detector does, and
 * its results arrive through wl_extract_run and wl_extract_figures.
 *
 * Tables map a two-word key to an index into one of the arrays (util/map);
 * records are reused in place (a reused biorq address overwrites its
 * record), so nothing is deleted.
 */

/* One bmap (fid, bno) as the extractor follows it. */
struct xbmap {
	uint64_t fid;
	uint32_t bno;
	int64_t input_t;	/* first arrival or RPC of it (or inferred); INT64_MAX */
	int64_t unset_dirty_t;	/* last `unset DIRTY` / `remove from flushq`; -1 */
};

/* A run of wasted examinations with no input of its own (pre-trace writes). */
struct xrun {
	int64_t bmap;
	int64_t first, last, done;	/* done = -1: the trace ended first */
};

/* One thread. */
struct xthread {
	int64_t zpend;		/* era Z: biorq waiting for its bmap@ line; -1 */
	int64_t inflight_unsent;	/* writes set in flight since its last RPC line */
};

/* One biorq address in its current lifetime. */
struct xbiorq {
	int live;		/* ready and not yet in flight */
	int have;		/* off/len known */
	int64_t ready_t;
	int64_t bmap;		/* bmap index, or -1 (then bmap_addr) */
	uint64_t bmap_addr;
	uint32_t off, len;
};

struct wl_extractor {
	struct wl_extract_opts o;
	struct wl_workload w;		/* rpc events (trace + inferred) */
	struct wl_workload arr;		/* biorq-level arrivals and fsyncs */
	struct wl_workload inferred;	/* inferred pre-trace writes */

	FS_VEC(struct xbmap) bm;
	struct fs_map bmap_by_key;	/* (fid, bno) -> bm */
	struct fs_map bmap_by_addr;	/* (addr, 0) -> bm (latest lifetime) */

	FS_VEC(struct xthread) th;
	struct fs_map thread_by_key;

	FS_VEC(struct xbiorq) bq;
	struct fs_map biorq_by_addr;

	struct fs_map rpc_by_xid;	/* (xid, 0) or (HEAD bwc, 1) -> index in w.ev */
	size_t *fifo;			/* w.ev indices of RPCs not yet paired */
	size_t fifo_head, fifo_n, fifo_cap;
	int64_t *bm_of_rpc;		/* bmap index per w.ev index */
	size_t cap_bm_of_rpc;

	FS_VEC(struct xrun) runs;	/* runs explained by pre-trace writes */
	struct wl_figures fig;		/* the detector's figures */
	int have_fig;

	int64_t first_ts, last_ts;
	int64_t rpcs, bytes, outstanding_max;
	int64_t dropped;
	int64_t lines;
	uint64_t seq;			/* order of emitted events, for stable sorting */
	uint64_t era_lines[4];		/* lines that mark era A, B, C, Z (ps_msg_era) */
	int oom;			/* a table could not grow */
};

/* Fills the extraction defaults. */
void
wl_extract_opts_default(struct wl_extract_opts *o)
{
	o->poll_us = 2048;
	o->max_age_us = 1000;
	o->default_lat_us = 10000;
	o->default_len = 32768;
	o->jobs = 1;
	o->client = NULL;
}

/* Creates an extractor. */
struct wl_extractor *
wl_extract_new(const struct wl_extract_opts *o, struct fs_err *err)
{
	struct wl_extractor *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		fs_err_set(err, ENOMEM, "extract: out of memory");
		return NULL;
	}
	if (o != NULL)
		x->o = *o;
	else
		wl_extract_opts_default(&x->o);
	wl_init(&x->w);
	wl_init(&x->arr);
	wl_init(&x->inferred);
	x->first_ts = x->last_ts = INT64_MIN;
	return x;
}

/* Frees an extractor. */
void
wl_extract_free(struct wl_extractor *x)
{
	if (x == NULL)
		return;
	wl_free(&x->w);
	wl_free(&x->arr);
	wl_free(&x->inferred);
	fs_vec_free(&x->bm);
	fs_vec_free(&x->th);
	fs_vec_free(&x->bq);
	fs_vec_free(&x->runs);
	free(x->fifo);
	free(x->bm_of_rpc);
	fs_map_free(&x->bmap_by_key);
	fs_map_free(&x->bmap_by_addr);
	fs_map_free(&x->thread_by_key);
	fs_map_free(&x->biorq_by_addr);
	fs_map_free(&x->rpc_by_xid);
	free(x);
}

/* Looks a key up: the index, or -1. */
static int64_t
map_get(const struct fs_map *m, uint64_t a, uint64_t b)
{
	uint32_t v;

	return fs_map_get(m, a, b, &v) ? (int64_t)v : -1;
}

/* Returns the index of bmap (fid, bno), creating it; -1 when out of memory. */
static int64_t
bmap_idx(struct wl_extractor *x, uint64_t fid, uint32_t bno)
{
	int64_t i = map_get(&x->bmap_by_key, fid, bno);
	struct xbmap b;

	if (i >= 0)
		return i;
	b.fid = fid;
	b.bno = bno;
	b.input_t = INT64_MAX;
	b.unset_dirty_t = -1;
	if (x->bm.n >= UINT32_MAX || fs_vec_push(&x->bm, b) != 0 ||
	    fs_map_put(&x->bmap_by_key, fid, bno, (uint32_t)(x->bm.n - 1)) != 0)
		return -1;
	return (int64_t)x->bm.n - 1;
}

/* Notes an input of bmap bi at ts (it explains runs after it). */
static void
input_seen(struct wl_extractor *x, int64_t bi, int64_t ts)
{
	if (ts < x->bm.v[bi].input_t)
		x->bm.v[bi].input_t = ts;
}

/* Returns the index of the event's thread, creating it; -1 on ENOMEM. */
static int64_t
thread_idx(struct wl_extractor *x, const struct ps_event *ev)
{
	uint64_t k = fs_fnv1a(ev->thread.p, ev->thread.n);
	int64_t i = map_get(&x->thread_by_key, k, ev->tid);
	struct xthread t;

	if (i >= 0)
		return i;
	t.zpend = -1;
	t.inflight_unsent = 0;
	if (x->th.n >= UINT32_MAX || fs_vec_push(&x->th, t) != 0 ||
	    fs_map_put(&x->thread_by_key, k, ev->tid, (uint32_t)(x->th.n - 1)) != 0)
		return -1;
	return (int64_t)x->th.n - 1;
}

/*
 * A run of wasted examinations of bmap (fid, bno) ended (the detector's
 * verdict).  If no input of the bmap (arrival, RPC) came before the run,
 * nothing explains why it was still queued: it had writes in flight from
 * before the trace.  The run is remembered; wl_extract_finish() infers one
 * such write and its RPC (see infer_runs).  The reply came at the bmap's
 * `unset DIRTY` if logged, else between the last wasted examination and
 * ended (the line that ended the run; INT64_MIN when the trace ended
 * first: decided later).
 */
int
wl_extract_run(struct wl_extractor *x, uint64_t fid, uint32_t bno, int64_t first,
    int64_t last, int64_t ended, struct fs_err *err)
{
	int64_t bi = bmap_idx(x, fid, bno);
	struct xbmap *b;
	struct xrun r;

	if (bi < 0)
		return fs_err_set(err, ENOMEM, "extract: out of memory");
	b = &x->bm.v[bi];
	if (b->input_t <= first)
		return 0;
	r.bmap = bi;
	r.first = first;
	r.last = last;
	if (b->unset_dirty_t > last)
		r.done = b->unset_dirty_t;
	else if (ended != INT64_MIN)
		r.done = last + (ended - last) / 2;
	else
		r.done = -1;
	if (fs_vec_push(&x->runs, r) != 0)
		return fs_err_set(err, ENOMEM, "extract: out of memory");
	input_seen(x, bi, first);	/* one inferred write explains the rest */
	return 0;
}

/* The detector's figures for the trace. */
void
wl_extract_figures(struct wl_extractor *x, const struct wl_figures *f)
{
	x->fig = *f;
	x->have_fig = 1;
}

/*
 * Turns the remembered runs into inferred writes and RPCs, given the pass
 * period P (observed, else the assumed poll).  For the replayed legacy
 * engine to send the write in the pass before the run's first wasted
 * examination and not earlier, it is ready in (first - 2P, first - P -
 * max_age]: the middle of that interval.  Its RPC is sent at first - P and
 * replies at the run's end (half a period after the last wasted examination
 * when the trace ends first).
 */
static int
infer_runs(struct wl_extractor *x, int64_t P, struct fs_err *err)
{
	struct wl_event e;
	size_t i;

	for (i = 0; i < x->runs.n; i++) {
		const struct xrun *r = &x->runs.v[i];
		int64_t lo = r->first - 2 * P, hi = r->first - P - x->o.max_age_us;
		int64_t send = r->first - P, done = r->done >= 0 ? r->done : r->last + P / 2;

		memset(&e, 0, sizeof(e));
		e.kind = WL_WRITE;
		e.t_us = hi > lo ? lo + (hi - lo + 1) / 2 : r->first - P;
		e.fid = x->bm.v[r->bmap].fid;
		e.bno = x->bm.v[r->bmap].bno;
		e.len = x->o.default_len;
		e.lat_us = -1;
		e.xid = -1;
		e.lineno = x->seq++;
		if (wl_add(&x->inferred, &e, err) < 0)
			return -1;
		e.kind = WL_RPC;
		e.t_us = send;
		e.lat_us = done > send ? done - send : 0;
		e.lat_src = WL_LAT_RUN;
		e.lineno = x->seq++;
		if (wl_add(&x->inferred, &e, err) < 0)
			return -1;
	}
	return 0;
}

/* Emits a biorq-level arrival (once it has a bmap and an offset/length): 1 if emitted. */
static int
biorq_emit(struct wl_extractor *x, struct xbiorq *q, struct fs_err *err)
{
	struct wl_event e;
	int64_t bi = q->bmap;

	if (bi < 0)
		bi = map_get(&x->bmap_by_addr, q->bmap_addr, 0);
	if (!q->have || bi < 0) {
		x->dropped++;
		return 0;
	}
	memset(&e, 0, sizeof(e));
	e.kind = WL_WRITE;
	e.t_us = q->ready_t;
	e.fid = x->bm.v[bi].fid;
	e.bno = x->bm.v[bi].bno;
	e.off = q->off;
	e.len = q->len;
	e.lat_us = -1;
	e.xid = -1;
	e.lineno = x->seq++;
	input_seen(x, bi, q->ready_t);
	return wl_add(&x->arr, &e, err) < 0 ? -1 : 1;
}

/* Returns the biorq record for addr, creating an empty one; NULL on ENOMEM. */
static struct xbiorq *
biorq_get(struct wl_extractor *x, uint64_t addr)
{
	int64_t i = map_get(&x->biorq_by_addr, addr, 0);
	struct xbiorq q;

	if (i >= 0)
		return &x->bq.v[i];
	memset(&q, 0, sizeof(q));
	q.bmap = -1;
	if (x->bq.n >= UINT32_MAX || fs_vec_push(&x->bq, q) != 0 ||
	    fs_map_put(&x->biorq_by_addr, addr, 0, (uint32_t)(x->bq.n - 1)) != 0)
		return NULL;
	return &x->bq.v[x->bq.n - 1];
}

/* The bmap index the source attributed the event to; -1 if none (or no memory). */
static int64_t
attr_bmap(struct wl_extractor *x, const struct ps_event *ev)
{
	int64_t bi;

	if (!ev->bm_known)
		return -1;
	if ((bi = bmap_idx(x, ev->bm_fid, ev->bm_bno)) < 0)
		x->oom = 1;
	return bi;
}

/* A forced flush (the source marks it, once per biorq): an fsync of its bmap. */
static int
on_forced(struct wl_extractor *x, const struct ps_event *ev, int64_t ts, struct fs_err *err)
{
	struct wl_event e;

	memset(&e, 0, sizeof(e));
	e.kind = WL_FSYNC;
	e.t_us = ts;
	e.fid = ev->bm_fid;
	e.bno = ev->bm_bno;
	e.lat_us = -1;
	e.xid = -1;
	e.lineno = x->seq++;
	return wl_add(&x->arr, &e, err);
}

/* Handles a line carrying a biorq (arrivals, in-flight). */
static int
on_biorq(struct wl_extractor *x, const struct ps_event *ev, int64_t ts, struct xthread *t,
    struct fs_err *err)
{
	struct xbiorq *q;
	int era_a;

	if ((q = biorq_get(x, ev->biorq.addr)) == NULL)
		return fs_err_set(err, ENOMEM, "extract: out of memory");
	era_a = ev->msg_id != PS_MSG_Z_SCHED_FLUSH;
	if (ev->kind == PS_EV_WRITE_READY && q->live && !era_a) {
		/* era Z: each `sched flush` is a new biorq; emit the old one */
		if (biorq_emit(x, q, err) < 0)
			return -1;
		q->live = 0;
	}
	if (!q->live) {
		/*
		 * A biorq not yet known: its first sighting on the flush thread
		 * (consider, try flush, descheduling: at most one poll period
		 * after it became ready) or the pass that sends it.  Lines of
		 * biorqs already in flight or destroyed are not arrivals.
		 */
		if (ev->kind != PS_EV_WRITE_READY && ev->msg_id != PS_MSG_A_SET_INFLIGHT &&
		    (ev->biorq.flags & 0x120) != 0)
			return 0;
		memset(q, 0, sizeof(*q));
		q->live = 1;
		q->ready_t = ts;
		q->bmap = -1;
	}
	if (!q->have) {
		q->have = 1;
		q->off = ev->biorq.off;
		q->len = ev->biorq.len;
	}
	if (q->len == 0)
		q->have = 0;
	q->bmap_addr = ev->biorq.bmap_addr;
	if (q->bmap < 0)
		q->bmap = attr_bmap(x, ev);
	if (ev->msg_id == PS_MSG_A_SET_INFLIGHT) {
		int r = biorq_emit(x, q, err);

		if (r < 0)
			return -1;
		t->inflight_unsent += r;	/* until the thread's next RPC line */
		q->live = 0;
	} else if (!era_a) {
		/*
		 * era Z: `sched flush` says all there is; emit it once its bmap
		 * is known (now, or at the `add to msl_bmapflushq` line that
		 * follows on the same thread).
		 */
		if (q->bmap >= 0) {
			if (biorq_emit(x, q, err) < 0)
				return -1;
			q->live = 0;
		} else
			t->zpend = q - x->bq.v;
	}
	return 0;
}

/* Pairs an RPC (w.ev index i) with its completion at time ts. */
static int
rpc_paired(struct wl_extractor *x, size_t i, int64_t ts, enum wl_lat_src src, struct fs_err *err)
{
	struct wl_event *e = &x->w.ev[i];

	e->lat_us = ts >= e->t_us ? ts - e->t_us : 0;
	e->lat_src = src;
	return wl_add_sample(&x->w, e->lat_us, err);
}

/* Handles an RPC_SEND. */
static int
on_send(struct wl_extractor *x, const struct ps_event *ev, int64_t ts, struct fs_err *err)
{
	struct wl_event e;
	int64_t bi = attr_bmap(x, ev);

	x->rpcs++;
	if (ev->rpc_sz > 0)
		x->bytes += ev->rpc_sz;
	if (bi < 0 || ev->rpc_off < 0 || ev->rpc_sz <= 0) {
		x->dropped++;
		return 0;
	}
	memset(&e, 0, sizeof(e));
	e.kind = WL_RPC;
	e.t_us = ts;
	e.fid = x->bm.v[bi].fid;
	e.bno = x->bm.v[bi].bno;
	e.off = (uint64_t)ev->rpc_off;
	e.len = (uint32_t)ev->rpc_sz;
	e.lat_us = -1;
	e.lat_src = WL_LAT_NONE;
	e.xid = (ev->has & PS_HAS_REQ) ? ev->req.xid : -1;
	e.lineno = x->seq++;
	if (wl_add(&x->w, &e, err) < 0)
		return -1;
	input_seen(x, bi, ts);
	if (fs_vec_reserve_((void **)&x->bm_of_rpc, &x->cap_bm_of_rpc, x->w.n,
	    sizeof(*x->bm_of_rpc)) < 0 ||
	    fs_vec_reserve_((void **)&x->fifo, &x->fifo_cap, x->fifo_n + 1, sizeof(*x->fifo)) < 0)
		return fs_err_set(err, ENOMEM, "extract: out of memory");
	x->bm_of_rpc[x->w.n - 1] = bi;
	x->fifo[x->fifo_n++] = x->w.n - 1;
	if (e.xid >= 0 && x->w.n - 1 <= UINT32_MAX &&
	    fs_map_put(&x->rpc_by_xid, (uint64_t)e.xid, 0, (uint32_t)(x->w.n - 1)) < 0)
		return fs_err_set(err, ENOMEM, "extract: out of memory");
	if (ev->bwc_addr != 0 && x->w.n - 1 <= UINT32_MAX &&
	    fs_map_put(&x->rpc_by_xid, ev->bwc_addr, 1, (uint32_t)(x->w.n - 1)) < 0)
		return fs_err_set(err, ENOMEM, "extract: out of memory");
	return 0;
}

/* Drops paired RPCs from the front of the FIFO (and compacts it). */
static void
fifo_trim(struct wl_extractor *x)
{
	while (x->fifo_head < x->fifo_n && x->w.ev[x->fifo[x->fifo_head]].lat_us >= 0)
		x->fifo_head++;
	if (x->fifo_head > 4096 && x->fifo_head * 2 > x->fifo_n) {
		memmove(x->fifo, x->fifo + x->fifo_head,
		    (x->fifo_n - x->fifo_head) * sizeof(*x->fifo));
		x->fifo_n -= x->fifo_head;
		x->fifo_head = 0;
	}
}

/*
 * Handles an RPC_DONE: by xid when logged, or by HEAD's bwc (a reused bwc
 * names its latest send), else the oldest unpaired send.  Both exact
 * pairings count as WL_LAT_XID.
 */
static int
on_done(struct wl_extractor *x, const struct ps_event *ev, int64_t ts, struct fs_err *err)
{
	int64_t i;
	int byxid = (ev->has & PS_HAS_REQ) && ev->req.xid >= 0;

	if (byxid || ev->bwc_addr != 0) {
		i = byxid ? map_get(&x->rpc_by_xid, (uint64_t)ev->req.xid, 0) :
		    map_get(&x->rpc_by_xid, ev->bwc_addr, 1);
		if (i < 0 || x->w.ev[i].lat_us >= 0)
			return 0;	/* sent before the trace began, or a repeat */
		if (rpc_paired(x, (size_t)i, ts, WL_LAT_XID, err) < 0)
			return -1;
	} else {
		fifo_trim(x);
		if (x->fifo_head >= x->fifo_n)
			return 0;	/* an RPC sent before the trace began */
		if (rpc_paired(x, x->fifo[x->fifo_head], ts, WL_LAT_COUNTER, err) < 0)
			return -1;
	}
	fifo_trim(x);
	return 0;
}

/* The last write of bmap bi completed at ts (`unset DIRTY`, `remove from flushq`). */
static int
on_bmap_done(struct wl_extractor *x, int64_t bi, int64_t ts, struct fs_err *err)
{
	size_t k;

	x->bm.v[bi].unset_dirty_t = ts;
	/* RPCs of bi still unpaired completed no later than now. */
	if (x->fifo_n - x->fifo_head > 4096)
		return 0;
	for (k = x->fifo_head; k < x->fifo_n; k++) {
		size_t i = x->fifo[k];

		if (x->w.ev[i].lat_us < 0 && x->bm_of_rpc[i] == bi &&
		    rpc_paired(x, i, ts, WL_LAT_RUN, err) < 0)
			return -1;
	}
	fifo_trim(x);
	return 0;
}

/* Notes which era a message belongs to. */
static void
era_note(struct wl_extractor *x, enum ps_msg m)
{
	switch (ps_msg_era(m)) {
	case 'A': x->era_lines[0]++; break;
	case 'B': x->era_lines[1]++; break;
	case 'C': x->era_lines[2]++; break;
	case 'Z': x->era_lines[3]++; break;
	default: break;
	}
}

/* The trace's era: the one whose own messages it holds most of ('?' if none). */
static char
era_of(const struct wl_extractor *x)
{
	static const char letters[] = "ABCZ";
	int i, best = -1;

	for (i = 0; i < 4; i++)
		if (x->era_lines[i] > 0 && (best < 0 || x->era_lines[i] > x->era_lines[best]))
			best = i;
	return best < 0 ? '?' : letters[best];
}

/* Feeds one event to the extractor. */
int
wl_extract_feed(struct wl_extractor *x, const struct ps_event *ev, struct fs_err *err)
{
	int64_t ts = ev->ts_us, ti, bi = -1;
	struct xthread *t = NULL;

	x->lines++;
	if (ts == INT64_MIN)
		return 0;
	if (x->first_ts == INT64_MIN)
		x->first_ts = ts;
	if (ts > x->last_ts)
		x->last_ts = ts;
	era_note(x, ev->msg_id);
	if (ev->outstanding > x->outstanding_max)
		x->outstanding_max = ev->outstanding;
	if (ev->has & PS_HAS_BMAP) {
		if ((bi = bmap_idx(x, ev->bmap.fid, ev->bmap.bno)) < 0 ||
		    fs_map_put(&x->bmap_by_addr, ev->bmap.addr, 0, (uint32_t)bi) < 0)
			return fs_err_set(err, ENOMEM, "extract: out of memory");
	}
	if (ev->kind != PS_EV_OTHER || (ev->has & PS_HAS_BIORQ)) {
		if ((ti = thread_idx(x, ev)) < 0)
			return fs_err_set(err, ENOMEM, "extract: out of memory");
		t = &x->th.v[ti];
	}
	if (t != NULL && t->zpend >= 0 && bi >= 0) {
		struct xbiorq *q = &x->bq.v[t->zpend];

		t->zpend = -1;
		if (q->live && q->bmap < 0 && q->bmap_addr == ev->bmap.addr) {
			q->bmap = bi;
			if (biorq_emit(x, q, err) < 0)
				return -1;
			q->live = 0;
		}
	}
	if (ev->has & PS_HAS_BIORQ) {
		switch (ev->msg_id) {
		case PS_MSG_A_FLUSHRDY: case PS_MSG_Z_SCHED_FLUSH: case PS_MSG_A_CONSIDER:
		case PS_MSG_A_TRY_FLUSH_BIORQ: case PS_MSG_A_SET_INFLIGHT: case PS_MSG_A_DESCHEDULING:
			if (on_biorq(x, ev, ts, t, err) < 0)
				return -1;
			break;
		default:
			break;
		}
	}
	if (x->oom)
		return fs_err_set(err, ENOMEM, "extract: out of memory");
	if (ev->forced && ev->bm_known && on_forced(x, ev, ts, err) < 0)
		return -1;

	switch (ev->kind) {
	case PS_EV_WRITE_READY:
		if (bi >= 0 && ev->msg_id == PS_MSG_A_BIORQ_LIST_EMPTY) {
			uint64_t qa;
			struct xbiorq *q;

			if (ps_msg_biorq_addr(ev, &qa) < 0)
				return 0;
			if ((q = biorq_get(x, qa)) == NULL)
				return fs_err_set(err, ENOMEM, "extract: out of memory");
			if (!q->live) {
				memset(q, 0, sizeof(*q));
				q->live = 1;
				q->ready_t = ts;
			}
			if (ts < q->ready_t)
				q->ready_t = ts;
			q->bmap = bi;
			input_seen(x, bi, ts);
		}
		return 0;
	case PS_EV_RPC_SEND:
		t->inflight_unsent = 0;
		return on_send(x, ev, ts, err);
	case PS_EV_RPC_DONE:
		return on_done(x, ev, ts, err);
	case PS_EV_CLEAN:
		if (bi >= 0 && (ev->msg_id == PS_MSG_A_UNSET_DIRTY ||
		    ev->msg_id == PS_MSG_Z_REMOVE_FLUSHQ))
			return on_bmap_done(x, bi, ts, err);
		return 0;
	default:
		return 0;
	}
}

/* Ends extraction and builds the workload. */
int
wl_extract_finish(struct wl_extractor *x, struct wl_workload *out, struct fs_err *err)
{
	struct wl_workload *w = &x->w;
	enum wl_fidelity arr_f, svc_f = WL_FID_BIORQ;
	size_t i, nrpc_trace, nfit = 0, narr;
	int64_t epoch, period = x->have_fig ? x->fig.pass_period_us : -1, unsent = 0;
	char era;
	int r;

	wl_init(out);
	/* Arrivals still waiting to go in flight. */
	for (i = 0; i < x->bq.n; i++)
		if (x->bq.v[i].live) {
			if ((r = biorq_emit(x, &x->bq.v[i], err)) < 0)
				return -1;
			unsent += r;
			x->bq.v[i].live = 0;
		}
	/* Set in flight after their thread's last RPC line: the trace ended first. */
	for (i = 0; i < x->th.n; i++)
		unsent += x->th.v[i].inflight_unsent;
	if (infer_runs(x, period > 0 ? period : x->o.poll_us, err) < 0)
		return -1;

	/* Service model: unpaired RPCs draw from what was seen. */
	nrpc_trace = w->n;
	for (i = 0; i < nrpc_trace; i++) {
		struct wl_event *e = &w->ev[i];

		if (e->lat_us >= 0)
			continue;
		if (w->nsamples > 0) {
			/* a deterministic spread over the empirical distribution */
			e->lat_us = w->samples[(nfit++ * 2654435761u) % w->nsamples];
			e->lat_src = WL_LAT_FITTED;
		}
	}
	for (i = 0; i < nrpc_trace; i++) {
		enum wl_fidelity f;

		switch (w->ev[i].lat_src) {
		case WL_LAT_XID:
			f = WL_FID_BIORQ;
			break;
		case WL_LAT_COUNTER:
		case WL_LAT_RUN:
			f = WL_FID_RPC;
			break;
		default:
			f = WL_FID_FITTED;
		}
		if (f > svc_f)
			svc_f = f;
	}
	if (x->inferred.n > 0 && svc_f < WL_FID_RPC)
		svc_f = WL_FID_RPC;	/* run-derived latencies */
	if (nrpc_trace == 0 && x->inferred.n == 0)
		svc_f = WL_FID_FITTED;

	/* Arrivals: biorq lines if any; else the RPCs sent; plus inferred writes. */
	narr = wl_count(&x->arr, WL_WRITE);
	if (narr > 0) {
		arr_f = WL_FID_BIORQ;
		for (i = 0; i < x->arr.n; i++)
			if (wl_add(w, &x->arr.ev[i], err) < 0)
				return -1;
	} else {
		arr_f = nrpc_trace > 0 ? WL_FID_RPC : WL_FID_FITTED;
		for (i = 0; i < x->arr.n; i++)		/* fsyncs */
			if (wl_add(w, &x->arr.ev[i], err) < 0)
				return -1;
		for (i = 0; i < nrpc_trace; i++) {
			struct wl_event e = w->ev[i];

			/* ready at most one poll period before the send */
			e.kind = WL_WRITE;
			e.t_us -= x->o.poll_us;
			e.lat_us = -1;
			e.lat_src = WL_LAT_NONE;
			e.xid = -1;
			if (wl_add(w, &e, err) < 0)
				return -1;
		}
	}
	if (x->inferred.n > 0)
		arr_f = WL_FID_FITTED;
	for (i = 0; i < x->inferred.n; i++)
		if (wl_add(w, &x->inferred.ev[i], err) < 0)
			return -1;

	/* Rebase on the earliest time so every t_us is >= 0. */
	epoch = x->first_ts == INT64_MIN ? 0 : x->first_ts;
	for (i = 0; i < w->n; i++)
		if (w->ev[i].t_us < epoch)
			epoch = w->ev[i].t_us;
	/*
	 * Phase of a trace written by the 2010 tick (era A): the replayed
	 * legacy engine, idle, passes every sleep from t = 0 (every period if
	 * the sleep is unknown: the replay then calibrates its tick to the
	 * period), so put t = 0 a whole number of those before the trace's
	 * first pass; replayed passes then start in step with the recorded
	 * ones.  The later engines wait for events, not a tick: t = 0 is the
	 * trace's first line.
	 */
	era = era_of(x);
	if (era == '?' && x->have_fig && x->fig.era != 0)
		era = x->fig.era;	/* a database keeps no era-marking line */
	if (x->have_fig && x->fig.sleep_us > 0 && x->fig.line_us >= 0)
		period = x->fig.sleep_us;
	if ((era == 'A' || era == '?') && x->have_fig && x->fig.first_pass_us != INT64_MIN &&
	    period > 0 && x->fig.first_pass_us >= epoch)
		epoch = x->fig.first_pass_us -
		    ((x->fig.first_pass_us - epoch + period - 1) / period) * period;
	for (i = 0; i < w->n; i++)
		w->ev[i].t_us -= epoch;

	*out = *w;
	wl_init(w);	/* ownership moved */
	out->epoch_us = epoch;
	out->end_us = x->last_ts == INT64_MIN ? 0 : x->last_ts - epoch;
	out->poll_us = x->o.poll_us;
	out->default_lat_us = x->o.default_lat_us;
	out->arrivals = arr_f;
	out->service = svc_f;
	out->fidelity = arr_f > svc_f ? arr_f : svc_f;
	out->era = era;
	out->obs.lines = x->lines;
	out->obs.span_us = x->first_ts == INT64_MIN ? 0 : x->last_ts - x->first_ts;
	if (x->have_fig) {
		out->obs.examinations = x->fig.examinations;
		out->obs.wasted_examinations = x->fig.wasted;
		out->obs.passes = x->fig.passes;
		out->obs.pass_period_us = x->fig.pass_period_us;
		out->obs.sleep_us = x->fig.sleep_us;
		out->obs.line_us = x->fig.line_us;
		if (x->fig.first_pass_us != INT64_MIN && x->fig.first_pass_us >= epoch)
			out->obs.first_pass_us = x->fig.first_pass_us - epoch;
	}
	out->obs.rpcs = x->rpcs;
	out->obs.bytes = x->bytes;
	out->obs.outstanding_max = x->outstanding_max > 0 ? x->outstanding_max : -1;
	out->obs.arrivals_dropped = x->dropped;
	/*
	 * Arrivals taken from the RPCs were all sent; era Z has no in-flight
	 * line per biorq, so what its trace left unsent is unknown.
	 */
	out->obs.writes_unsent = narr == 0 ? 0 : out->era != 'A' && out->era != '?' ? -1 : unsent;
	wl_sort(out);
	return 0;
}
