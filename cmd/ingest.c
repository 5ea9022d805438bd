/*
 * flushscope ingest: logs into a SQLite database.  Option handling and
 * output only; the work is ingest/ingest.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "parsers/parser.h"
#include "parsers/sniff.h"
#include "ingest/ingest.h"
#include "store/store.h"
#include "util/clock.h"

#define INGEST_MAX_FORMATS 32

struct totals {
	uint64_t lines, unparsed, bytes, episodes;	/* stored by this run (episodes: of the sources) */
	int unchanged;					/* files unchanged since the last ingest */
	uint64_t old_lines, old_unparsed;		/* what is stored for those */
	uint64_t old_events[PS_EV_NKINDS];
	uint64_t held, held_bytes;	/* unterminated last lines held back */
	uint64_t cut, cut_bytes;	/* lines cut at the reader's limit */
	const char *cut_file;		/* the first one */
	uint64_t cut_line;
	uint64_t events[PS_EV_NKINDS];
	const char *formats[INGEST_MAX_FORMATS];
	int nformats;
	char sample[IG_SAMPLE_MAX + 1];
	const char *sample_file;
	uint64_t sample_line;
	double seconds;
};

struct progress_state {
	int active;
	int drawn;
};

/* Draws the progress line on stderr (terminal only). */
static void
progress_draw(void *arg, const struct ig_progress *p)
{
	struct progress_state *ps = arg;
	double rate = p->seconds > 0 ? p->lines / p->seconds : 0;

	if (!ps->active)
		return;
	if (p->total > 0) {
		double frac = (double)p->bytes / (double)p->total;
		double bps = p->seconds > 0 ? p->bytes / p->seconds : 0;
		int i, w = 30, fill;

		if (frac > 1)
			frac = 1;
		fill = (int)(frac * w);
		fprintf(stderr, "\r\033[K%s [", p->path);
		for (i = 0; i < w; i++)
			fputc(i < fill ? '#' : '.', stderr);
		fprintf(stderr, "] %3.0f%% %.0f/%.0f MB %.2f M lines/s ETA %.0fs", frac * 100,
		    p->bytes / 1e6, p->total / 1e6, rate / 1e6,
		    bps > 0 ? (double)(p->total - (p->bytes < p->total ? p->bytes : p->total)) /
		    bps : 0.0);
	} else
		fprintf(stderr, "\r\033[K%s %.0f MB %" PRIu64 " lines %.2f M lines/s", p->path,
		    p->bytes / 1e6, p->lines, rate / 1e6);
	ps->drawn = 1;
}

/* Adds the '\n'-separated formats of a result to the totals (deduplicated). */
static void
add_formats(struct totals *t, char *formats)
{
	char *save = NULL, *f;
	int i;

	for (f = strtok_r(formats, "\n", &save); f != NULL; f = strtok_r(NULL, "\n", &save)) {
		for (i = 0; i < t->nformats; i++)
			if (strcmp(t->formats[i], f) == 0)
				break;
		if (i == t->nformats && t->nformats < INGEST_MAX_FORMATS)
			t->formats[t->nformats++] = strdup(f);
	}
}

/* Prints the closing summary as a table on stderr. */
static void
summary_table(const struct totals *t, int nfiles)
{
	uint64_t lines = t->lines + t->old_lines, ev;
	int i, first = 1;

	if (t->unchanged == 0)
		fprintf(stderr, "ingested %d file%s: %" PRIu64 " lines, %.1f MB in %.2f s "
		    "(%.2f M lines/s)\n", nfiles, nfiles == 1 ? "" : "s", t->lines, t->bytes / 1e6,
		    t->seconds, t->seconds > 0 ? t->lines / t->seconds / 1e6 : 0.0);
	else
		fprintf(stderr, "ingested %d file%s (%d unchanged: already stored): %" PRIu64
		    " lines, %" PRIu64 " new, %.1f MB read in %.2f s\n", nfiles,
		    nfiles == 1 ? "" : "s", t->unchanged, lines, t->lines, t->bytes / 1e6,
		    t->seconds);
	fprintf(stderr, "  events    ");
	for (i = 0; i < PS_EV_NKINDS; i++) {
		if ((ev = t->events[i] + t->old_events[i]) == 0)
			continue;
		fprintf(stderr, "%s%s %" PRIu64, first ? "" : ", ",
		    ps_ev_kind_name((enum ps_ev_kind)i), ev);
		first = 0;
	}
	fprintf(stderr, "%s\n", first ? "none" : "");
	fprintf(stderr, "  unparsed  %" PRIu64, t->unparsed + t->old_unparsed);
	if (t->sample_file != NULL)
		fprintf(stderr, " (first: %s:%" PRIu64 ": %s)", t->sample_file, t->sample_line,
		    t->sample);
	fputc('\n', stderr);
	fprintf(stderr, "  formats   ");
	for (i = 0; i < t->nformats; i++)
		fprintf(stderr, "%s'%s'", i ? ", " : "", t->formats[i]);
	fprintf(stderr, "%s\n", t->nformats ? "" : "none");
	fprintf(stderr, "  episodes  %" PRIu64 " spin episode%s\n", t->episodes,
	    t->episodes == 1 ? "" : "s");
	if (t->cut > 0)
		fprintf(stderr, "  cut       %" PRIu64 " line%s at %d MiB (%" PRIu64 " bytes past "
		    "the cut dropped; first: %s:%" PRIu64 ")\n", t->cut, t->cut == 1 ? "" : "s",
		    (int)(PS_READER_MAX_LINE >> 20), t->cut_bytes, t->cut_file, t->cut_line);
	if (t->held > 0)
		fprintf(stderr, "  held back %" PRIu64 " unterminated last line%s (%" PRIu64
		    " bytes): re-run ingest when the writer finishes %s, or use --final\n",
		    t->held, t->held == 1 ? "" : "s", t->held_bytes, t->held == 1 ? "it" : "them");
}

/* Prints the summary as one JSON object on stdout. */
static void
summary_json(const struct totals *t, char **paths, const struct ig_result *res, int nres)
{
	int i, k;

	printf("{\"lines\":%" PRIu64 ",\"unparsed\":%" PRIu64 ",\"events\":{", t->lines,
	    t->unparsed);
	for (i = 0; i < PS_EV_NKINDS; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", ps_ev_kind_name((enum ps_ev_kind)i),
		    t->events[i]);
	printf("},\"formats\":[");
	for (i = 0; i < t->nformats; i++) {
		if (i)
			putchar(',');
		fs_json_str(stdout, t->formats[i], strlen(t->formats[i]));
	}
	printf("],\"episodes\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.3f,"
	    "\"lines_per_s\":%.0f,\"unparsed_sample\":", t->episodes, t->bytes, t->seconds,
	    t->seconds > 0 ? t->lines / t->seconds : 0.0);
	if (t->sample_file != NULL) {
		printf("{\"file\":");
		fs_json_str(stdout, t->sample_file, strlen(t->sample_file));
		printf(",\"line\":%" PRIu64 ",\"text\":", t->sample_line);
		fs_json_str(stdout, t->sample, strlen(t->sample));
		putchar('}');
	} else
		printf("null");
	printf(",\"held_back\":%" PRIu64 ",\"held_bytes\":%" PRIu64, t->held, t->held_bytes);
	printf(",\"cut_lines\":%" PRIu64 ",\"cut_bytes\":%" PRIu64, t->cut, t->cut_bytes);
	printf(",\"files\":[");
	for (k = 0; k < nres; k++) {
		printf("%s{\"path\":", k ? "," : "");
		fs_json_str(stdout, paths[k], strlen(paths[k]));
		printf(",\"status\":\"%s\",\"source_id\":%" PRId64 ",\"lines\":%" PRIu64
		    ",\"unparsed\":%" PRIu64 ",\"episodes\":%" PRIu64 ",\"held_back\":%d"
		    ",\"held_bytes\":%" PRIu64 ",\"cut_lines\":%" PRIu64 ",\"first_cut_line\":",
		    ig_status_name((enum ig_status)res[k].status), res[k].source_id,
		    res[k].lines, res[k].unparsed, res[k].episodes, res[k].held,
		    res[k].held_bytes, res[k].cut_lines);
		if (res[k].cut_lines > 0)
			printf("%" PRIu64, res[k].first_cut_lineno);
		else
			printf("null");
		printf(",\"note\":");
		fs_json_str(stdout, res[k].note, strlen(res[k].note));
		putchar('}');
	}
	printf("]}\n");
}

/* Prints the summary as key,value CSV on stdout. */
static void
summary_csv(const struct totals *t)
{
	int i;

	printf("key,value\nlines,%" PRIu64 "\nunparsed,%" PRIu64 "\n", t->lines, t->unparsed);
	for (i = 0; i < PS_EV_NKINDS; i++)
		printf("events.%s,%" PRIu64 "\n", ps_ev_kind_name((enum ps_ev_kind)i),
		    t->events[i]);
	printf("episodes,%" PRIu64 "\nbytes,%" PRIu64 "\nseconds,%.3f\n", t->episodes,
	    t->bytes, t->seconds);
	printf("held_back,%" PRIu64 "\nheld_bytes,%" PRIu64 "\n", t->held, t->held_bytes);
	printf("cut_lines,%" PRIu64 "\ncut_bytes,%" PRIu64 "\n", t->cut, t->cut_bytes);
	for (i = 0; i < t->nformats; i++) {
		printf("format,\"");
		for (const char *c = t->formats[i]; *c; c++)
			printf(*c == '"' ? "\"\"" : "%c", *c);
		printf("\"\n");
	}
}

/*
 * Standard input is judged like a file before anything is stored: its first
 * bytes are read here (until a log line shows, PS_SNIFF_BYTES, or its end),
 * then handed to the reader with the rest of the input through a pipe that
 * a thread fills.  The thread is detached: it ends at the end of the input,
 * or when the reader is gone (EPIPE).
 */
struct refeed {
	int in, out;		/* the original standard input; the pipe's write end */
	char *buf;
	size_t n;
};

/* Writes n bytes; -1 when the reader is gone. */
static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The refeeding thread: what was read first, then the rest. */
static void *
refeed_main(void *arg)
{
	struct refeed *rf = arg;
	char chunk[65536];
	ssize_t k;

	if (write_all(rf->out, rf->buf, rf->n) == 0)
		while ((k = read(rf->in, chunk, sizeof(chunk))) != 0) {
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0 || write_all(rf->out, chunk, (size_t)k) < 0)
				break;
		}
	close(rf->out);
	close(rf->in);
	free(rf->buf);
	free(rf);
	return NULL;
}

/*
 * Reads the start of standard input and judges it; if it holds a log line,
 * puts it back (fd 0 becomes a pipe fed by a thread).  Returns 0, or -1
 * with err set ("-: no SLASH2 log line found ...").
 */
static int
check_stdin(const char *log_format, struct fs_err *err)
{
	struct refeed *rf;
	struct ps_sniff sn;
	pthread_t th;
	size_t cap = 65536;
	int p[2], r = PS_SNIFF_NOT_LOG, eof = 0;
	ssize_t k;

	if ((rf = calloc(1, sizeof(*rf))) == NULL || (rf->buf = malloc(cap)) == NULL) {
		free(rf);
		return fs_err_set(err, ENOMEM, "-: out of memory");
	}
	memset(&sn, 0, sizeof(sn));
	while (!eof && rf->n < PS_SNIFF_BYTES) {
		if (rf->n == cap) {
			char *nb = realloc(rf->buf, cap *= 2);

			if (nb == NULL)
				break;
			rf->buf = nb;
		}
		if ((k = read(0, rf->buf + rf->n, cap - rf->n)) < 0) {
			if (errno == EINTR)
				continue;
			fs_err_set(err, errno, "-: %s", strerror(errno));
			free(rf->buf);
			free(rf);
			return -1;
		}
		eof = k == 0;
		rf->n += (size_t)k;
		if ((r = ps_sniff_buf(rf->buf, rf->n, log_format, &sn, err)) != PS_SNIFF_NOT_LOG)
			break;
	}
	if (r != PS_SNIFF_LOG) {
		free(rf->buf);
		free(rf);
		if (r < 0)
			return -1;
		if (sn.lines == 0)
			return fs_err_set(err, EINVAL, "-: no SLASH2 log line found (the input is "
			    "empty)");
		return fs_err_set(err, EINVAL, "-: no SLASH2 log line found (in the first %llu "
		    "line%s)", (unsigned long long)sn.lines, sn.lines == 1 ? "" : "s");
	}
	if ((rf->in = dup(0)) < 0 || pipe(p) != 0) {
		fs_err_set(err, errno, "-: %s", strerror(errno));
		free(rf->buf);
		free(rf);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);	/* a reader that stops early ends the thread (EPIPE) */
	rf->out = p[1];
	dup2(p[0], 0);
	close(p[0]);
	if (pthread_create(&th, NULL, refeed_main, rf) != 0) {
		free(rf->buf);
		free(rf);
		return fs_err_set(err, EAGAIN, "-: cannot start a thread");
	}
	pthread_detach(th);
	return 0;
}

struct ingest_args {
	const char *db, *log_format, *client;
	int keep_text, quiet, format, final, force;
	long long commit_lines, jobs;
};

#define A struct ingest_args
static const struct fs_opt ingest_opts[] = {
	FS_OPT_STRING('d', "db", A, db, "DB", "flushscope.db",
	    "the database: a file (created if missing), or a postgresql:// URI or"
	    " conninfo string (a server's database; its schema is created)"),
	FS_OPT_STRING(0, "client", A, client, "NAME", NULL,
	    "the client the files come from: a label, and part of each source's identity"
	    " (default: the host their syslog lines name, else unknown)"),
	FS_OPT_STRING(0, "log-format", A, log_format, "FMT", NULL,
	    "PSC_LOG_FORMAT of the logs (default: detected per file)"),
	FS_OPT_FLAG(0, "keep-text", A, keep_text, "also store the text of every line (table lines)"),
	FS_OPT_FLAG('q', "quiet", A, quiet, "no progress bar, no summary on stderr"),
	FS_OPT_CHOICE(0, "format", A, format, FS_FORMATS, "table",
	    "the summary: a table on stderr, or csv or json on stdout"),
	FS_OPT_COUNT(0, "commit-lines", A, commit_lines, "N", NULL, 1, 1e12,
	    "lines per transaction (default: 262144 into a file, 65536 into a server;"
	    " fewer in the first ones and towards the end of a file)"),
	FS_OPT_FLAG(0, "final", A, final,
	    "the files are finished: store an unterminated last line too"),
	FS_OPT_FLAG(0, "force", A, force,
	    "ingest a file with no SLASH2 log line in its first lines (as unparsed lines)"),
	FS_OPT_JOBS_WRITER(A, jobs),
	FS_OPT_END
};
#undef A

_Static_assert(IG_BUSY_THREADS == 1, "--jobs' default text says: the cores but one, the writer's");

const struct fs_cmdspec fs_spec_ingest = {
	.name = "ingest",
	.usage = { "FILE..." },
	.min_ops = 1, .max_ops = -1,
	.summary = "Parses logs into a database, a file or a server (resumable); finds spins.",
	.notes = "FILE '-' is standard input; .gz files are read transparently.  Re-ingesting\n"
	    "a file adds nothing; a grown file adds only its new lines.  A file's\n"
	    "unterminated last line is held back until a later run finds it finished.\n",
	.opts = ingest_opts,
};

/* flushscope ingest. */
int
cmd_ingest(int argc, char **argv)
{
	struct ingest_args a;
	struct fs_args fa;
	struct ig_options o;
	struct ig_ingest *ig = NULL;
	struct ig_result *res = NULL;
	struct progress_state prog;
	struct totals tot;
	struct fs_err err;
	int i, nres = 0, ret = FS_EXIT_OK, quiet;
	double t0;

	memset(&a, 0, sizeof(a));
	if ((i = fs_opt_parse(&fs_spec_ingest, &a, argc, argv, &fa)) != 0)
		return i == FS_OPT_HELP ? FS_EXIT_OK : FS_EXIT_USAGE;
	/*
	 * Blocks of 256 KiB and more (chunk buffers, the batches' row arrays)
	 * get mappings of their own, returned when freed.  By default glibc
	 * raises that threshold to the largest block freed so far (up to 32
	 * MiB): the arrays the batches outgrow while they ramp up stayed in the
	 * heap as holes, and a 5 M-line ingest peaked at 60.5 MB, not 54.5.
	 * (Only here: replay frees large blocks often, and pays in system time
	 * for mappings.)
	 */
#ifdef M_MMAP_THRESHOLD
	(void)mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
	quiet = a.quiet || fs_global.quiet;
	ig_options_default(&o);
	o.log_format = a.log_format;
	o.keep_text = a.keep_text;
	o.final = a.final;
	if (a.client != NULL && (a.client[0] == '\0' || strlen(a.client) >= ST_CLIENT_MAX))
		return fs_usage(&fs_spec_ingest, "--client: a name of 1 to %d bytes",
		    ST_CLIENT_MAX - 1);
	o.client = a.client;
	o.commit_lines = (uint64_t)a.commit_lines;
	o.jobs = fs_jobs(a.jobs, IG_BUSY_THREADS);
	fs_err_clear(&err);
	if (o.log_format != NULL) {
		struct ps_parser *p = ps_parser_new(o.log_format, &err);

		if (p == NULL)
			return fs_usage(&fs_spec_ingest, "--log-format: %s", err.msg);
		ps_parser_free(p);
	}
	/* Every input is looked at before the database is opened or created. */
	for (i = 0; i < fa.nops; i++) {
		int is_stdin = strcmp(fa.ops[i], "-") == 0;

		if (a.force && (is_stdin || access(fa.ops[i], R_OK) == 0))
			continue;
		if (is_stdin ? check_stdin(o.log_format, &err) :
		    fs_check_log(fa.ops[i], o.log_format, &err)) {
			if (strstr(err.msg, "no SLASH2 log line") != NULL)
				fs_warn("ingest", "%s; nothing stored (--force ingests it as unparsed "
				    "lines)", err.msg);
			else
				fs_warn("ingest", "%s", err.msg);
			return FS_EXIT_RUNTIME;
		}
	}
	memset(&prog, 0, sizeof(prog));
	prog.active = !quiet && isatty(STDERR_FILENO);
	o.progress = progress_draw;
	o.progress_arg = &prog;
	memset(&tot, 0, sizeof(tot));
	t0 = fs_mono_s();
	if ((ig = ig_new(a.db, &o, &err)) == NULL) {
		fs_warn("ingest", "%s", err.msg);
		return FS_EXIT_RUNTIME;
	}
	if ((res = calloc((size_t)fa.nops, sizeof(*res))) == NULL) {
		fs_warn("ingest", "out of memory");
		ig_free(ig);
		return FS_EXIT_RUNTIME;
	}
	for (i = 0; i < fa.nops; i++) {
		struct ig_result *r = &res[nres];
		const char *path = fa.ops[i];
		int k, rc = ig_file(ig, path, r, &err);

		if (prog.drawn) {
			fputs("\r\033[K", stderr);
			prog.drawn = 0;
		}
		if (rc != 0) {
			fs_warn("ingest", "%s", err.msg);
			ret = FS_EXIT_RUNTIME;
			break;
		}
		nres++;
		if (r->note[0] != '\0')
			fs_warn("ingest", "%s", r->note);
		tot.episodes += r->episodes;
		tot.held += (uint64_t)r->held;
		tot.held_bytes += r->held_bytes;
		if (r->cut_lines > 0 && tot.cut == 0) {
			tot.cut_file = strcmp(path, "-") == 0 ? "<stdin>" : path;
			tot.cut_line = r->first_cut_lineno;
		}
		tot.cut += r->cut_lines;
		tot.cut_bytes += r->cut_bytes;
		add_formats(&tot, r->formats);
		if (r->status == IG_UNCHANGED) {
			/* nothing added: its counts are what is stored for it */
			tot.unchanged++;
			tot.old_lines += r->lines;
			tot.old_unparsed += r->unparsed;
			for (k = 0; k < PS_EV_NKINDS; k++)
				tot.old_events[k] += r->events[k];
			if (!quiet && a.format == FS_FMT_TABLE)
				fprintf(stderr, "%s: unchanged since the last ingest (source %" PRId64
				    "): %" PRIu64 " lines, %" PRIu64 " spin episode%s stored; nothing "
				    "added\n", path, r->source_id, r->lines, r->episodes,
				    r->episodes == 1 ? "" : "s");
		} else {
			tot.lines += r->lines;
			tot.unparsed += r->unparsed;
			tot.bytes += r->bytes;
			for (k = 0; k < PS_EV_NKINDS; k++)
				tot.events[k] += r->events[k];
			if (tot.sample_file == NULL && r->sample_lineno != 0) {
				tot.sample_file = path;
				tot.sample_line = r->sample_lineno;
				snprintf(tot.sample, sizeof(tot.sample), "%s", r->sample);
			}
		}
		if (!quiet && a.format == FS_FMT_TABLE && r->held)
			fprintf(stderr, "%s:%" PRIu64 ": held back: unterminated last line (%"
			    PRIu64 " bytes), not stored until a later ingest finds its newline\n",
			    path, r->held_lineno, r->held_bytes);
	}
	ig_free(ig);
	tot.seconds = fs_mono_s() - t0;
	if (ret == FS_EXIT_OK) {
		if (a.format == FS_FMT_JSON)
			summary_json(&tot, fa.ops, res, nres);
		else if (a.format == FS_FMT_CSV)
			summary_csv(&tot);
		else if (!quiet)
			summary_table(&tot, nres);
	}
	for (i = 0; i < tot.nformats; i++)
		free((char *)tot.formats[i]);
	free(res);
	return ret;
}
