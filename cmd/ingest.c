/*
 * flushscope ingest: logs into a SQLite database.  Option handling and
 * output only; the work is ingest/ingest.c.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "parsers/parser.h"
#include "ingest/ingest.h"
#include "util/clock.h"

#define INGEST_MAX_FORMATS 32

/* Prints the usage of `flushscope ingest`. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: flushscope ingest [-d DB] [--log-format FMT] [--keep-text] [-q]\n"
	    "                         [--format=table|csv|json] [--commit-lines N] [--final]\n"
	    "                         FILE...\n"
	    "\n"
	    "Parses SLASH2 client logs (FILE '-' is stdin; .gz is read transparently)\n"
	    "into a SQLite database, finds flush-thread spins, and prints a summary.\n"
	    "Re-ingesting a file adds nothing; a grown file adds only its new lines.\n"
	    "A file's unterminated last line (still being written) is held back until\n"
	    "a later run finds it finished.\n"
	    "\n"
	    "  -d, --db DB           database: a file (default flushscope.db), or a\n"
	    "                        postgresql:// URI or conninfo string (a server)\n"
	    "      --client NAME     the client the files come from (a label, and part of\n"
	    "                        each source's identity; default: unknown)\n"
	    "      --log-format FMT  PSC_LOG_FORMAT of the logs (default: detect)\n"
	    "      --keep-text       also store the text of every line (table lines)\n"
	    "  -q, --quiet           no progress bar, no summary on stderr\n"
	    "      --format=FMT      summary as table (stderr), csv or json (stdout)\n"
	    "      --commit-lines N  lines per transaction (default 262144)\n"
	    "      --final           the files are finished: store an unterminated last\n"
	    "                        line too (e.g. the log of a writer that crashed)\n"
	    "  -h, --help            this help\n"
	    "\n"
	    "See flushscope-ingest(1).\n");
}

struct totals {
	uint64_t lines, unparsed, bytes, episodes;
	uint64_t held, held_bytes;	/* unterminated last lines held back */
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
	int i, first = 1;

	fprintf(stderr, "ingested %d file%s: %" PRIu64 " lines, %.1f MB in %.2f s (%.2f M lines/s)\n",
	    nfiles, nfiles == 1 ? "" : "s", t->lines, t->bytes / 1e6, t->seconds,
	    t->seconds > 0 ? t->lines / t->seconds / 1e6 : 0.0);
	fprintf(stderr, "  events    ");
	for (i = 0; i < PS_EV_NKINDS; i++) {
		if (t->events[i] == 0)
			continue;
		fprintf(stderr, "%s%s %" PRIu64, first ? "" : ", ",
		    ps_ev_kind_name((enum ps_ev_kind)i), t->events[i]);
		first = 0;
	}
	fprintf(stderr, "%s\n", first ? "none" : "");
	fprintf(stderr, "  unparsed  %" PRIu64, t->unparsed);
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
	printf(",\"files\":[");
	for (k = 0; k < nres; k++) {
		printf("%s{\"path\":", k ? "," : "");
		fs_json_str(stdout, paths[k], strlen(paths[k]));
		printf(",\"status\":\"%s\",\"source_id\":%" PRId64 ",\"lines\":%" PRIu64
		    ",\"unparsed\":%" PRIu64 ",\"episodes\":%" PRIu64 ",\"held_back\":%d"
		    ",\"held_bytes\":%" PRIu64 ",\"note\":",
		    ig_status_name((enum ig_status)res[k].status), res[k].source_id,
		    res[k].lines, res[k].unparsed, res[k].episodes, res[k].held,
		    res[k].held_bytes);
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
	for (i = 0; i < t->nformats; i++) {
		printf("format,\"");
		for (const char *c = t->formats[i]; *c; c++)
			printf(*c == '"' ? "\"\"" : "%c", *c);
		printf("\"\n");
	}
}

/* flushscope ingest. */
int
cmd_ingest(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "log-format", required_argument, NULL, 'L' },
		{ "keep-text", no_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'f' },
		{ "commit-lines", required_argument, NULL, 'c' },
		{ "final", no_argument, NULL, 'F' },
		{ "client", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *db = "flushscope.db";
	struct ig_options o;
	struct ig_ingest *ig = NULL;
	struct ig_result *res = NULL;
	struct progress_state prog;
	struct totals tot;
	struct fs_err err;
	int c, fmt = FS_FMT_TABLE, quiet = fs_global.quiet, i, nres = 0, ret = FS_EXIT_OK;
	double t0;

	ig_options_default(&o);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+d:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'L':
			o.log_format = optarg;
			break;
		case 'k':
			o.keep_text = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'f':
			if ((fmt = fs_opt_format("ingest", optarg)) < 0)
				return FS_EXIT_USAGE;
			break;
		case 'c': {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);

			if (*end != '\0' || v == 0) {
				fs_warn("ingest", "--commit-lines wants a positive number, not '%s'",
				    optarg);
				return FS_EXIT_USAGE;
			}
			o.commit_lines = v;
			break;
		}
		case 'F':
			o.final = 1;
			break;
		case 'C':
			if (*optarg == '\0' || strlen(optarg) >= ST_CLIENT_MAX) {
				fs_warn("ingest", "--client: a name of 1 to %d bytes", ST_CLIENT_MAX - 1);
				return FS_EXIT_USAGE;
			}
			o.client = optarg;
			break;
		case 'h':
			usage(stdout);
			return FS_EXIT_OK;
		default:
			fs_warn("ingest", "unknown option '%s'", argv[optind - 1]);
			usage(stderr);
			return FS_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fs_warn("ingest", "no input files (use '-' for stdin)");
		usage(stderr);
		return FS_EXIT_USAGE;
	}
	if (o.log_format != NULL) {
		struct ps_parser *p = ps_parser_new(o.log_format, &err);

		if (p == NULL) {
			fs_warn("ingest", "--log-format: %s", err.msg);
			return FS_EXIT_USAGE;
		}
		ps_parser_free(p);
	}
	memset(&prog, 0, sizeof(prog));
	prog.active = !quiet && isatty(STDERR_FILENO);
	o.progress = progress_draw;
	o.progress_arg = &prog;
	memset(&tot, 0, sizeof(tot));
	t0 = fs_mono_s();
	if ((ig = ig_new(db, &o, &err)) == NULL) {
		fs_warn("ingest", "%s", err.msg);
		return FS_EXIT_RUNTIME;
	}
	if ((res = calloc((size_t)(argc - optind), sizeof(*res))) == NULL) {
		fs_warn("ingest", "out of memory");
		ig_free(ig);
		return FS_EXIT_RUNTIME;
	}
	for (i = optind; i < argc; i++) {
		struct ig_result *r = &res[nres];
		int k, rc = ig_file(ig, argv[i], r, &err);

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
		tot.lines += r->lines;
		tot.unparsed += r->unparsed;
		tot.bytes += r->bytes;
		tot.episodes += r->episodes;
		tot.held += (uint64_t)r->held;
		tot.held_bytes += r->held_bytes;
		for (k = 0; k < PS_EV_NKINDS; k++)
			tot.events[k] += r->events[k];
		if (tot.sample_file == NULL && r->sample_lineno != 0) {
			tot.sample_file = argv[i];
			tot.sample_line = r->sample_lineno;
			snprintf(tot.sample, sizeof(tot.sample), "%s", r->sample);
		}
		add_formats(&tot, r->formats);
		if (!quiet && fmt == FS_FMT_TABLE && r->status == IG_UNCHANGED)
			fprintf(stderr, "%s: unchanged since the last ingest (source %" PRId64
			    "), nothing added\n", argv[i], r->source_id);
		if (!quiet && fmt == FS_FMT_TABLE && r->held)
			fprintf(stderr, "%s:%" PRIu64 ": held back: unterminated last line (%"
			    PRIu64 " bytes), not stored until a later ingest finds its newline\n",
			    argv[i], r->held_lineno, r->held_bytes);
	}
	ig_free(ig);
	tot.seconds = fs_mono_s() - t0;
	if (ret == FS_EXIT_OK) {
		if (fmt == FS_FMT_JSON)
			summary_json(&tot, argv + optind, res, nres);
		else if (fmt == FS_FMT_CSV)
			summary_csv(&tot);
		else if (!quiet)
			summary_table(&tot, nres);
	}
	for (i = 0; i < tot.nformats; i++)
		free((char *)tot.formats[i]);
	free(res);
	return ret;
}
