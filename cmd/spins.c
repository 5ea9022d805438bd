/*
 * flushscope spins: find, size and explain spin patterns.
 *
 *   flushscope spins [options] FILE...     run the detector over log files
 *   flushscope spins [options] -d DB       read what ingest stored
 *
 * Only option handling and output live here; the detector, the report and
 * the plot are detect/, report/ and util/ modules, the database is store/.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect/spin.h"
#include "report/spinreport.h"
#include "cmd/cmd.h"
#include "util/err.h"

#define CMDNAME "spins"

/* Prints the usage text to f. */
static void
usage(FILE *f)
{
	fputs("usage: flushscope spins [options] FILE...\n"
	    "       flushscope spins [options] -d DB\n"
	    "Find flush-thread spins: repeated examinations of a bmap that make no progress.\n\n"
	    "  -d, --db DB             read the episodes and thread figures ingest stored\n"
	    "                          (a file, or a postgresql:// URI or conninfo)\n"
	    "      --client NAME       only this client's sources (a database); the client\n"
	    "                          of the log files\n"
	    "      --fid HEX           only episodes of this file id\n"
	    "      --thread NAME[:TID] only this flush thread\n"
	    "      --since TIME        only episodes ending at or after TIME\n"
	    "      --until TIME        only episodes starting at or before TIME\n"
	    "                          (TIME: epoch seconds[.frac] or YYYY-MM-DD[THH:MM:SS[.frac]] UTC)\n"
	    "      --min-cycles N      wasted examinations that make an episode (default 3)\n"
	    "      --max-gap DURATION  largest gap inside an episode (default 50ms)\n"
	    "      --window-limit N    outstanding count meaning throttled (default 128)\n"
	    "      --scan-cost DURATION  CPU cost of one examination, for the CPU estimate\n"
	    "      --format FMT        table (default), csv or json\n"
	    "      --limit N           episodes listed (default: 50 in a table, all in csv/json;\n"
	    "                          0 = all)\n"
	    "      --plot FILE.svg     also draw the time-line as SVG\n"
	    "      --fail-on-spin      exit 1 when any episode is found\n"
	    "      --by bmap           list bmaps (examinations, wasted, episodes) instead of threads\n"
	    "      --by client         rank clients by wasted examinations per second\n"
	    "  -h, --help              this text\n"
	    "DURATION: a number with ns, us, ms or s (a bare number is microseconds).\n"
	    "See flushscope-spins(1).\n", f);
}

/* Parses a duration into microseconds; -1 if malformed. */
static int64_t
parse_duration_us(const char *s, double *exact_us)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !(v >= 0) || isinf(v))
		return -1;
	if (*end == '\0' || strcmp(end, "us") == 0)
		;
	else if (strcmp(end, "ns") == 0)
		v /= 1000;
	else if (strcmp(end, "ms") == 0)
		v *= 1000;
	else if (strcmp(end, "s") == 0)
		v *= 1000000;
	else
		return -1;
	if (v > 9e15)
		return -1;
	if (exact_us != NULL)
		*exact_us = v;
	return (int64_t)llround(v);
}

/* Parses a time (epoch seconds or an ISO date, UTC) into microseconds; 0 on success. */
static int
parse_time_us(const char *s, int64_t *out)
{
	struct tm tm;
	char *end;
	double v, frac = 0;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%d", &tm)) != NULL) {
		if (*p == 'T' || *p == ' ') {
			if ((p = strptime(p + 1, "%H:%M:%S", &tm)) == NULL)
				return -1;
			if (*p == '.') {
				frac = strtod(p, &end);
				p = end;
			}
		}
		if (*p == 'Z')
			p++;
		if (*p != '\0')
			return -1;
		*out = (int64_t)timegm(&tm) * 1000000 + llround(frac * 1e6);
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !(v >= 0) || v > 9e12)
		return -1;
	*out = llround(v * 1e6);
	return 0;
}

/* Parses a positive integer option; -1 if malformed. */
static long long
parse_count(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < 1)
		return -1;
	return v;
}

/* Formats microseconds since the epoch as "YYYY-MM-DD HH:MM:SS.uuuuuu" UTC. */
static void
fmt_time(char *buf, size_t n, int64_t us)
{
	time_t t = (time_t)(us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000));
	struct tm tm;
	size_t k;

	gmtime_r(&t, &tm);
	k = strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%06lld", (long long)(us - (int64_t)t * 1000000));
}

/* Formats a duration in microseconds for people ("2.160ms", "1.25s", "812us"). */
static void
fmt_dur(char *buf, size_t n, double us)
{
	if (us < 0)
		snprintf(buf, n, "-");
	else if (us < 1000)
		snprintf(buf, n, "%.0fus", us);
	else if (us < 1000000)
		snprintf(buf, n, "%.3fms", us / 1000);
	else
		snprintf(buf, n, "%.3fs", us / 1e6);
}

/* Writes an outstanding range ("75", "70-80", "-"). */
static void
fmt_outst(char *buf, size_t n, const struct sp_episode *e)
{
	if (e->outstanding_min < 0)
		snprintf(buf, n, "-");
	else if (e->outstanding_min == e->outstanding_max)
		snprintf(buf, n, "%lld", (long long)e->outstanding_min);
	else
		snprintf(buf, n, "%lld-%lld", (long long)e->outstanding_min,
		    (long long)e->outstanding_max);
}

/* Seconds a thread was seen for (0 if a single instant). */
static double
span_s(const struct sp_thread_stats *t)
{
	return t->last_us > t->first_us ? (double)(t->last_us - t->first_us) / 1e6 : 0;
}

/* Writes a JSON number or null for NaN. */
static void
json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else
		fprintf(f, "%.6g", v);
}

/* Prints the per-bmap figures (the first limit; 0 = all) in the chosen format. */
static void
print_bmaps(const struct sp_report *r, int fmt, size_t limit)
{
	size_t i, n = limit == 0 || limit > r->nbmaps ? r->nbmaps : limit;

	if (fmt == FS_FMT_TABLE) {
		printf("\nBMAPS: %zu%s\n", r->nbmaps,
		    n < r->nbmaps ? " (the most wasted first; --limit 0 lists all)" : "");
		if (r->nbmaps > 0)
			printf("%-22s %12s %12s %9s %9s\n", "BMAP (fid:bmapno)", "EXAMS", "WASTED",
			    "EPISODES", "CYCLES");
	} else if (fmt == FS_FMT_CSV) {
		printf("fid,bmapno,examinations,wasted_examinations,episodes,cycles\n");
	} else {
		printf("\"bmaps\":[");
	}
	for (i = 0; i < n; i++) {
		const struct sp_bmap_row *b = &r->bmaps[i];
		char bm[48];

		snprintf(bm, sizeof(bm), "%" PRIx64 ":%" PRIu32, b->fid, b->bno);
		if (fmt == FS_FMT_TABLE)
			printf("%-22s %12" PRIu64 " %12" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n", bm,
			    b->examinations, b->wasted, b->episodes, b->cycles);
		else if (fmt == FS_FMT_CSV)
			printf("%" PRIx64 ",%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			    "\n", b->fid, b->bno, b->examinations, b->wasted, b->episodes, b->cycles);
		else
			printf("%s\n{\"fid\":\"%" PRIx64 "\",\"bmapno\":%" PRIu32 ",\"examinations\":%"
			    PRIu64 ",\"wasted_examinations\":%" PRIu64 ",\"episodes\":%" PRIu64
			    ",\"cycles\":%" PRIu64 "}", i ? "," : "", b->fid, b->bno, b->examinations,
			    b->wasted, b->episodes, b->cycles);
	}
	if (fmt == FS_FMT_JSON)
		printf("],\n");
}

/* Formats a time as UTC for a table ("-" if unknown). */
static void
utc(int64_t us, char *buf, size_t n)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (us == INT64_MIN || gmtime_r(&t, &tm) == NULL)
		snprintf(buf, n, "-");
	else
		strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Prints the per-client figures (the first limit; 0 = all) in the chosen format. */
static void
print_clients(const struct sp_report *r, int fmt, size_t limit)
{
	size_t i, n = limit == 0 || limit > r->nclients ? r->nclients : limit;

	if (fmt == FS_FMT_TABLE) {
		printf("\nCLIENTS: %zu%s\n", r->nclients, n < r->nclients ?
		    " (the most wasted examinations per second first; --limit 0 lists all)" :
		    " (the most wasted examinations per second first)");
		if (r->nclients > 0)
			printf("%-20s %10s %12s %12s %8s  %-22s %9s  %-19s  %-19s\n", "CLIENT",
			    "WASTED/S", "WASTED", "EXAMS", "EPISODES", "WORST BMAP", "CYCLES",
			    "FIRST (UTC)", "LAST (UTC)");
	} else if (fmt == FS_FMT_CSV) {
		printf("client,wasted_per_s,wasted_examinations,examinations,episodes,worst_fid,"
		    "worst_bmapno,worst_cycles,first_us,last_us\n");
	} else {
		printf("\"clients\":[");
	}
	for (i = 0; i < n; i++) {
		const struct sp_client_row *c = &r->clients[i];
		char bm[48] = "-", t0[32], t1[32];

		if (c->has_worst)
			snprintf(bm, sizeof(bm), "%" PRIx64 ":%" PRIu32, c->worst_fid, c->worst_bno);
		if (fmt == FS_FMT_TABLE) {
			utc(c->first_us, t0, sizeof(t0));
			utc(c->last_us, t1, sizeof(t1));
			printf("%-20s %10.1f %12" PRIu64 " %12" PRIu64 " %8" PRIu64 "  %-22s %9" PRIu64
			    "  %-19s  %-19s\n", c->client, sp_client_rate(c), c->wasted,
			    c->examinations, c->episodes, bm, c->worst_cycles, t0, t1);
		} else if (fmt == FS_FMT_CSV) {
			putchar('"');
			for (const char *p = c->client; *p; p++)
				printf(*p == '"' ? "\"\"" : "%c", *p);
			printf("\",%.1f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", sp_client_rate(c),
			    c->wasted, c->examinations, c->episodes);
			if (c->has_worst)
				printf("%" PRIx64 ",%" PRIu32 ",%" PRIu64 ",", c->worst_fid,
				    c->worst_bno, c->worst_cycles);
			else
				printf(",,0,");
			if (c->first_us != INT64_MIN)
				printf("%lld", (long long)c->first_us);
			putchar(',');
			if (c->last_us != INT64_MIN)
				printf("%lld", (long long)c->last_us);
			putchar('\n');
		} else {
			printf("%s\n{\"client\":", i ? "," : "");
			fs_json_str(stdout, c->client, strlen(c->client));
			printf(",\"wasted_per_s\":");
			json_num(stdout, sp_client_rate(c));
			printf(",\"wasted_examinations\":%" PRIu64 ",\"examinations\":%" PRIu64
			    ",\"episodes\":%" PRIu64 ",\"worst_bmap\":", c->wasted, c->examinations,
			    c->episodes);
			if (c->has_worst)
				printf("{\"fid\":\"%" PRIx64 "\",\"bmapno\":%" PRIu32 ",\"cycles\":%"
				    PRIu64 "}", c->worst_fid, c->worst_bno, c->worst_cycles);
			else
				printf("null");
			printf(",\"first_us\":");
			if (c->first_us != INT64_MIN)
				printf("%lld", (long long)c->first_us);
			else
				printf("null");
			printf(",\"last_us\":");
			if (c->last_us != INT64_MIN)
				printf("%lld", (long long)c->last_us);
			else
				printf("null");
			putchar('}');
		}
	}
	if (fmt == FS_FMT_JSON)
		printf("],\n");
}

/* Prints the report as a table (the first limit episodes; 0 = all). */
static void
print_table(const struct sp_report *r, double scan_cost_us, size_t limit)
{
	char st[40], dur[24], per[24], out[32], bm[48], th[SP_NAME_MAX * 2 + 2];
	size_t i, n = limit == 0 || limit > r->neps ? r->neps : limit;

	if (n < r->neps)
		printf("EPISODES: %zu (the first %zu by cycles; --limit 0 lists all)\n", r->neps, n);
	else
		printf("EPISODES: %zu\n", r->neps);
	if (r->neps > 0)
		printf("%3s  %-28s %-22s %-14s %-26s %10s %7s %9s %11s  %s\n", "#", "THREAD",
		    "BMAP (fid:bmapno)", "ADDR", "START (UTC)", "DURATION", "CYCLES", "PERIOD",
		    "OUTSTANDING", "CAUSE");
	for (i = 0; i < n; i++) {
		const struct sp_episode *e = &r->eps[i];

		snprintf(th, sizeof(th), "%s:%s", e->thread, e->tid);
		snprintf(bm, sizeof(bm), "%" PRIx64 ":%" PRIu32, e->fid, e->bno);
		fmt_time(st, sizeof(st), e->start_us);
		fmt_dur(dur, sizeof(dur), (double)(e->end_us - e->start_us));
		fmt_dur(per, sizeof(per), (double)e->period_us);
		fmt_outst(out, sizeof(out), e);
		printf("%3zu  %-28s %-22s 0x%-12" PRIx64 " %-26s %10s %7" PRIu64 " %9s %11s  %s\n",
		    i + 1, th, bm, e->addr, st, dur, e->cycles, per, out, sp_cause_name(e->cause));
	}
	printf("\nTHREADS: %zu\n", r->nthreads);
	if (r->nthreads == 0)
		return;
	printf("%-28s %8s %9s %8s %9s %9s %10s %11s%s\n", "THREAD", "PASSES", "PASSES/S",
	    "USELESS", "EXAMS", "WASTED", "WASTED/S", "PERIOD p50",
	    scan_cost_us > 0 ? "  CPU WASTED" : "");
	for (i = 0; i < r->nthreads; i++) {
		const struct sp_thread_stats *t = &r->threads[i];
		double sp = span_s(t);
		char pps[24], wps[24], useless[16], cpu[48];

		snprintf(th, sizeof(th), "%s:%s", t->thread, t->tid);
		if (sp > 0) {
			snprintf(pps, sizeof(pps), "%.1f", (double)t->passes / sp);
			snprintf(wps, sizeof(wps), "%.1f", (double)t->wasted_examinations / sp);
		} else {
			snprintf(pps, sizeof(pps), "-");
			snprintf(wps, sizeof(wps), "-");
		}
		if (t->passes > 0)
			snprintf(useless, sizeof(useless), "%.1f%%",
			    100.0 * (double)t->useless_passes / (double)t->passes);
		else
			snprintf(useless, sizeof(useless), "-");
		fmt_dur(per, sizeof(per), (double)t->period_p50_us);
		cpu[0] = '\0';
		if (scan_cost_us > 0) {
			double c = scan_cost_us * (double)t->wasted_examinations;

			fmt_dur(dur, sizeof(dur), c);
			if (sp > 0)
				snprintf(cpu, sizeof(cpu), "%s (%.2f%%)", dur, 100.0 * c / 1e6 / sp);
			else
				snprintf(cpu, sizeof(cpu), "%s", dur);
		}
		printf("%-28s %8" PRIu64 " %9s %8s %9" PRIu64 " %9" PRIu64 " %10s %11s%s%s\n", th,
		    t->passes, pps, useless, t->examinations, t->wasted_examinations, wps, per,
		    cpu[0] ? "  " : "", cpu);
	}
}

/* Prints the report as CSV: the episodes, a blank line, the threads. */
static void
print_csv(const struct sp_report *r, double scan_cost_us, size_t limit)
{
	size_t i, n = limit == 0 || limit > r->neps ? r->neps : limit;

	printf("rank,thread,tid,fid,bmapno,addr,start_us,end_us,duration_us,cycles,period_us,"
	    "outstanding_min,outstanding_max,cause,first_off,last_off\n");
	for (i = 0; i < n; i++) {
		const struct sp_episode *e = &r->eps[i];

		printf("%zu,%s,%s,%" PRIx64 ",%" PRIu32 ",0x%" PRIx64 ",%lld,%lld,%lld,%" PRIu64
		    ",%lld,%lld,%lld,%s,%" PRIu64 ",%" PRIu64 "\n", i + 1, e->thread, e->tid, e->fid,
		    e->bno, e->addr, (long long)e->start_us, (long long)e->end_us,
		    (long long)(e->end_us - e->start_us), e->cycles, (long long)e->period_us,
		    (long long)e->outstanding_min, (long long)e->outstanding_max,
		    sp_cause_name(e->cause), e->first_off, e->last_off);
	}
	printf("\nthread,tid,passes,useless_passes,examinations,wasted_examinations,first_us,"
	    "last_us,passes_per_s,wasted_per_s,period_p50_us,period_p99_us,cpu_wasted_us\n");
	for (i = 0; i < r->nthreads; i++) {
		const struct sp_thread_stats *t = &r->threads[i];
		double sp = span_s(t);

		printf("%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%lld,%lld,", t->thread,
		    t->tid, t->passes, t->useless_passes, t->examinations, t->wasted_examinations,
		    (long long)t->first_us, (long long)t->last_us);
		if (sp > 0)
			printf("%.3f,%.3f,", (double)t->passes / sp,
			    (double)t->wasted_examinations / sp);
		else
			printf(",,");
		printf("%lld,%lld,", (long long)t->period_p50_us, (long long)t->period_p99_us);
		if (scan_cost_us > 0)
			printf("%.3f", scan_cost_us * (double)t->wasted_examinations);
		putchar('\n');
	}
}

/* Prints the report as one JSON object (with the bmaps / clients when asked for). */
static void
print_json(const struct sp_report *r, double scan_cost_us, size_t limit, int by_bmap,
    int by_client)
{
	char hex[40];
	size_t i, n = limit == 0 || limit > r->neps ? r->neps : limit;

	printf("{\"episodes\":[");
	for (i = 0; i < n; i++) {
		const struct sp_episode *e = &r->eps[i];

		printf("%s\n{\"rank\":%zu,\"thread\":", i ? "," : "", i + 1);
		fs_json_str(stdout, e->thread, strlen(e->thread));
		printf(",\"tid\":");
		fs_json_str(stdout, e->tid, strlen(e->tid));
		snprintf(hex, sizeof(hex), "%" PRIx64, e->fid);
		printf(",\"fid\":\"%s\",\"bmapno\":%" PRIu32 ",\"addr\":\"0x%" PRIx64 "\""
		    ",\"start_us\":%lld,\"end_us\":%lld,\"duration_us\":%lld,\"cycles\":%" PRIu64
		    ",\"period_us\":%lld,\"outstanding_min\":%lld,\"outstanding_max\":%lld"
		    ",\"cause\":\"%s\",\"first_off\":%" PRIu64 ",\"last_off\":%" PRIu64 "}",
		    hex, e->bno, e->addr, (long long)e->start_us, (long long)e->end_us,
		    (long long)(e->end_us - e->start_us), e->cycles, (long long)e->period_us,
		    (long long)e->outstanding_min, (long long)e->outstanding_max,
		    sp_cause_name(e->cause), e->first_off, e->last_off);
	}
	printf("],\n");
	if (by_bmap)
		print_bmaps(r, FS_FMT_JSON, 0);
	if (by_client)
		print_clients(r, FS_FMT_JSON, 0);
	printf("\"threads\":[");
	for (i = 0; i < r->nthreads; i++) {
		const struct sp_thread_stats *t = &r->threads[i];
		double sp = span_s(t);

		printf("%s\n{\"thread\":", i ? "," : "");
		fs_json_str(stdout, t->thread, strlen(t->thread));
		printf(",\"tid\":");
		fs_json_str(stdout, t->tid, strlen(t->tid));
		printf(",\"passes\":%" PRIu64 ",\"useless_passes\":%" PRIu64 ",\"examinations\":%"
		    PRIu64 ",\"wasted_examinations\":%" PRIu64 ",\"first_us\":%lld,\"last_us\":%lld"
		    ",\"period_p50_us\":%lld,\"period_p99_us\":%lld,\"passes_per_s\":",
		    t->passes, t->useless_passes, t->examinations, t->wasted_examinations,
		    (long long)t->first_us, (long long)t->last_us, (long long)t->period_p50_us,
		    (long long)t->period_p99_us);
		json_num(stdout, sp > 0 ? (double)t->passes / sp : NAN);
		printf(",\"wasted_per_s\":");
		json_num(stdout, sp > 0 ? (double)t->wasted_examinations / sp : NAN);
		printf(",\"cpu_wasted_us\":");
		json_num(stdout, scan_cost_us > 0 ? scan_cost_us * (double)t->wasted_examinations : NAN);
		putchar('}');
	}
	printf("],\n\"episodes_total\":%zu,\"lines\":%" PRIu64 ",\"unparsed\":%" PRIu64 "}\n",
	    r->neps, r->lines, r->unparsed);
}

int
cmd_spins(int argc, char **argv)
{
	enum { O_FID = 256, O_THREAD, O_SINCE, O_UNTIL, O_MINC, O_MAXGAP, O_WIN, O_SCAN,
		O_FORMAT, O_PLOT, O_FAIL, O_LIMIT, O_BY, O_CLIENT };
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "fid", required_argument, NULL, O_FID },
		{ "thread", required_argument, NULL, O_THREAD },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "min-cycles", required_argument, NULL, O_MINC },
		{ "max-gap", required_argument, NULL, O_MAXGAP },
		{ "window-limit", required_argument, NULL, O_WIN },
		{ "scan-cost", required_argument, NULL, O_SCAN },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "plot", required_argument, NULL, O_PLOT },
		{ "fail-on-spin", no_argument, NULL, O_FAIL },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "by", required_argument, NULL, O_BY },
		{ "client", required_argument, NULL, O_CLIENT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sp_options opt;
	struct sp_filter flt;
	struct sp_report rep;
	struct fs_err err;
	const char *db = NULL, *plot = NULL;
	double scan_cost_us = 0;
	int fmt = FS_FMT_TABLE, fail_on_spin = 0, c, i, rc = FS_EXIT_OK, min_cycles_set = 0;
	int by_bmap = 0, by_client = 0;
	long long limit = -1;
	long long v;
	char *end;

	sp_options_default(&opt);
	sp_filter_init(&flt);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case O_FID:
			errno = 0;
			flt.fid = strtoull(optarg + (strncmp(optarg, "0x", 2) == 0 ? 2 : 0), &end, 16);
			if (*optarg == '\0' || *end != '\0' || errno != 0) {
				fs_warn(CMDNAME, "--fid: '%s' is not a hex file id", optarg);
				return FS_EXIT_USAGE;
			}
			flt.has_fid = 1;
			break;
		case O_THREAD:
			flt.thread = optarg;
			break;
		case O_SINCE:
		case O_UNTIL:
			if (parse_time_us(optarg, c == O_SINCE ? &flt.since_us : &flt.until_us) != 0) {
				fs_warn(CMDNAME, "--%s: '%s' is not a time (epoch seconds or "
				    "YYYY-MM-DD[THH:MM:SS] UTC)", c == O_SINCE ? "since" : "until", optarg);
				return FS_EXIT_USAGE;
			}
			break;
		case O_MINC:
			if ((v = parse_count(optarg)) < 0 || v > 1000000000) {
				fs_warn(CMDNAME, "--min-cycles: '%s' is not a positive count", optarg);
				return FS_EXIT_USAGE;
			}
			opt.min_cycles = (int)v;
			min_cycles_set = 1;
			break;
		case O_MAXGAP:
			if ((opt.max_gap_us = parse_duration_us(optarg, NULL)) < 0) {
				fs_warn(CMDNAME, "--max-gap: '%s' is not a duration (e.g. 50ms)", optarg);
				return FS_EXIT_USAGE;
			}
			break;
		case O_WIN:
			if ((v = parse_count(optarg)) < 0) {
				fs_warn(CMDNAME, "--window-limit: '%s' is not a positive count", optarg);
				return FS_EXIT_USAGE;
			}
			opt.window_limit = v;
			break;
		case O_SCAN:
			if (parse_duration_us(optarg, &scan_cost_us) < 0 || scan_cost_us <= 0) {
				fs_warn(CMDNAME, "--scan-cost: '%s' is not a duration (e.g. 3us)", optarg);
				return FS_EXIT_USAGE;
			}
			break;
		case O_FORMAT:
			if ((fmt = fs_opt_format(CMDNAME, optarg)) < 0)
				return FS_EXIT_USAGE;
			break;
		case O_PLOT:
			plot = optarg;
			break;
		case O_FAIL:
			fail_on_spin = 1;
			break;
		case O_LIMIT:
			errno = 0;
			limit = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 || limit < 0) {
				fs_warn(CMDNAME, "--limit: '%s' is not a count (0 = all)", optarg);
				return FS_EXIT_USAGE;
			}
			break;
		case O_BY:
			if (strcmp(optarg, "bmap") != 0 && strcmp(optarg, "thread") != 0 &&
			    strcmp(optarg, "client") != 0) {
				fs_warn(CMDNAME, "--by: '%s' is not bmap, client or thread", optarg);
				return FS_EXIT_USAGE;
			}
			by_bmap = strcmp(optarg, "bmap") == 0;
			by_client = strcmp(optarg, "client") == 0;
			break;
		case O_CLIENT:
			if (*optarg == '\0') {
				fs_warn(CMDNAME, "--client: an empty name");
				return FS_EXIT_USAGE;
			}
			flt.client = optarg;
			break;
		case 'h':
			usage(stdout);
			return FS_EXIT_OK;
		default:
			if (optopt != 0 && optopt < 256 && optopt != '?')
				fs_warn(CMDNAME, "option -%c needs a value or is unknown", optopt);
			else
				fs_warn(CMDNAME, "unknown option or missing value: '%s'",
				    argv[optind - 1]);
			usage(stderr);
			return FS_EXIT_USAGE;
		}
	}
	if ((db == NULL) == (optind >= argc)) {
		fs_warn(CMDNAME, db ? "give either -d DB or log files, not both" :
		    "give log files or -d DB");
		usage(stderr);
		return FS_EXIT_USAGE;
	}

	sp_report_init(&rep);
	fs_err_clear(&err);
	flt.want_bmaps = by_bmap;
	flt.want_clients = by_client;
	if (db != NULL) {
		/* stored episodes were cut with ingest's min-cycles: stricter ones filter */
		if (min_cycles_set)
			flt.min_cycles = (uint64_t)opt.min_cycles;
		if (sp_report_add_db(&rep, db, &flt, &err) != 0) {
			fs_warn(CMDNAME, "%s", err.msg);
			sp_report_free(&rep);
			return FS_EXIT_RUNTIME;
		}
	} else {
		for (i = optind; i < argc; i++) {
			if (sp_report_add_file(&rep, argv[i], &opt, &flt, &err) != 0) {
				fs_warn(CMDNAME, "%s", err.msg);
				rc = FS_EXIT_RUNTIME;
				break;
			}
		}
	}
	sp_report_rank(&rep);
	if (rc == FS_EXIT_OK) {
		if (limit < 0)
			limit = fmt == FS_FMT_TABLE ? 50 : 0;
		if (fmt == FS_FMT_JSON)
			print_json(&rep, scan_cost_us, (size_t)limit, by_bmap, by_client);
		else if (fmt == FS_FMT_CSV && by_bmap)
			print_bmaps(&rep, fmt, (size_t)limit);
		else if (fmt == FS_FMT_CSV && by_client)
			print_clients(&rep, fmt, (size_t)limit);
		else if (fmt == FS_FMT_CSV)
			print_csv(&rep, scan_cost_us, (size_t)limit);
		else {
			print_table(&rep, scan_cost_us, (size_t)limit);
			if (by_bmap)
				print_bmaps(&rep, fmt, (size_t)limit);
			if (by_client)
				print_clients(&rep, fmt, (size_t)limit);
		}
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fs_warn(CMDNAME, "writing the output: %s", strerror(errno));
			rc = FS_EXIT_RUNTIME;
		}
	}
	if (rc == FS_EXIT_OK && plot != NULL) {
		FILE *f = fopen(plot, "w");

		if (f == NULL) {
			fs_warn(CMDNAME, "%s: %s", plot, strerror(errno));
			rc = FS_EXIT_RUNTIME;
		} else {
			if (sp_report_plot(&rep, f, &err) != 0) {
				fs_warn(CMDNAME, "%s: %s", plot, err.msg);
				rc = FS_EXIT_RUNTIME;
			}
			if (fclose(f) != 0 && rc == FS_EXIT_OK) {
				fs_warn(CMDNAME, "%s: %s", plot, strerror(errno));
				rc = FS_EXIT_RUNTIME;
			}
		}
	}
	if (rc == FS_EXIT_OK && fail_on_spin && rep.neps > 0)
		rc = FS_EXIT_FOUND;
	sp_report_free(&rep);
	return rc;
}
