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
fmt_outst(char *buf, size_t n, const struct sp_rep_episode *e)
{
	if (e->f.outstanding_min < 0)
		snprintf(buf, n, "-");
	else if (e->f.outstanding_min == e->f.outstanding_max)
		snprintf(buf, n, "%lld", (long long)e->f.outstanding_min);
	else
		snprintf(buf, n, "%lld-%lld", (long long)e->f.outstanding_min,
		    (long long)e->f.outstanding_max);
}

/* Seconds a thread was seen for (0 if a single instant). */
static double
span_s(const struct sp_thread_stats *t)
{
	return t->last_us > t->first_us ? (double)(t->last_us - t->first_us) / 1e6 : 0;
}

/*
 * Prints the report as a table (the first limit episodes; 0 = all): which
 * is 0 for both parts, 1 the episodes only, 2 the threads only.
 */
static void
print_table(const struct sp_report *r, double scan_cost_us, size_t limit, int which)
{
	char st[40], dur[24], per[24], out[32], bm[48], th[SP_NAME_MAX * 2 + 2];
	size_t i, n = limit == 0 || limit > r->neps ? r->neps : limit;

	if (which == 2)
		goto threads;
	if (n < r->neps)
		printf("EPISODES: %zu (the first %zu by cycles; --limit 0 lists all)\n", r->neps, n);
	else
		printf("EPISODES: %zu\n", r->neps);
	if (r->neps > 0)
		printf("%3s  %-28s %-22s %-14s %-26s %10s %7s %9s %11s  %s\n", "#", "THREAD",
		    "BMAP (fid:bmapno)", "ADDR", "START (UTC)", "DURATION", "CYCLES", "PERIOD",
		    "OUTSTANDING", "CAUSE");
	for (i = 0; i < n; i++) {
		const struct sp_rep_episode *e = &r->eps[i];

		snprintf(th, sizeof(th), "%s:%s", sp_report_ep_thread(r, e), sp_report_ep_tid(r, e));
		snprintf(bm, sizeof(bm), "%" PRIx64 ":%" PRIu32, e->f.fid, e->f.bno);
		fmt_time(st, sizeof(st), e->f.start_us);
		fmt_dur(dur, sizeof(dur), (double)(e->f.end_us - e->f.start_us));
		fmt_dur(per, sizeof(per), (double)e->f.period_us);
		fmt_outst(out, sizeof(out), e);
		printf("%3zu  %-28s %-22s 0x%-12" PRIx64 " %-26s %10s %7" PRIu64 " %9s %11s  %s\n",
		    i + 1, th, bm, e->f.addr, st, dur, e->f.cycles, per, out,
		    sp_cause_name(e->f.cause));
	}
	if (which == 1)
		return;
	putchar('\n');
threads:
	printf("THREADS: %zu\n", r->nthreads);
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

/* Prints the per-bmap figures (the first limit; 0 = all): table, CSV or a JSON array. */
static void
print_bmaps(const struct sp_report *r, int fmt, size_t limit)
{
	size_t i, n = limit == 0 || limit > r->nbmaps ? r->nbmaps : limit;

	if (fmt == FS_FMT_TABLE) {
		printf("BMAPS: %zu%s\n", r->nbmaps,
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

/* Formats a time as UTC to the second for a table ("-" if unknown). */
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

/* Writes a time in microseconds as a JSON number, or null when unknown. */
static void
json_time(int64_t us)
{
	if (us == INT64_MIN)
		printf("null");
	else
		printf("%lld", (long long)us);
}

/*
 * Prints the per-client figures (the first limit; 0 = all): table, CSV or
 * a JSON array, the most wasted examinations per second first.
 */
static void
print_clients(const struct sp_report *r, int fmt, size_t limit)
{
	size_t i, n = limit == 0 || limit > r->nclients ? r->nclients : limit;

	if (fmt == FS_FMT_TABLE) {
		printf("CLIENTS: %zu (the most wasted examinations per second first%s)\n",
		    r->nclients, n < r->nclients ? "; --limit 0 lists all" : "");
		if (r->nclients > 0)
			printf("%-20s %10s %10s %10s %8s  %-22s %7s  %-19s  %s\n", "CLIENT",
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
		const char *p;

		if (c->has_worst)
			snprintf(bm, sizeof(bm), "%" PRIx64 ":%" PRIu32, c->worst_fid, c->worst_bno);
		if (fmt == FS_FMT_TABLE) {
			utc(c->first_us, t0, sizeof(t0));
			utc(c->last_us, t1, sizeof(t1));
			printf("%-20s %10.1f %10" PRIu64 " %10" PRIu64 " %8" PRIu64 "  %-22s %7" PRIu64
			    "  %-19s  %s\n", c->client, sp_client_rate(c), c->wasted,
			    c->examinations, c->episodes, bm, c->worst_cycles, t0, t1);
		} else if (fmt == FS_FMT_CSV) {
			putchar('"');
			for (p = c->client; *p != '\0'; p++)
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
			fs_json_num(stdout, sp_client_rate(c));
			printf(",\"wasted_examinations\":%" PRIu64 ",\"examinations\":%" PRIu64
			    ",\"episodes\":%" PRIu64 ",\"worst_bmap\":", c->wasted, c->examinations,
			    c->episodes);
			if (c->has_worst)
				printf("{\"fid\":\"%" PRIx64 "\",\"bmapno\":%" PRIu32 ",\"cycles\":%"
				    PRIu64 "}", c->worst_fid, c->worst_bno, c->worst_cycles);
			else
				printf("null");
			printf(",\"first_us\":");
			json_time(c->first_us);
			printf(",\"last_us\":");
			json_time(c->last_us);
			putchar('}');
		}
	}
	if (fmt == FS_FMT_JSON)
		printf("],\n");
}

/* Writes a CSV integer field, empty when unknown (< 0). */
static void
csv_int(int64_t v)
{
	if (v >= 0)
		printf("%lld", (long long)v);
}

/* Prints one table of the report as CSV: the episodes or the threads. */
static void
print_csv(const struct sp_report *r, double scan_cost_us, size_t limit, int threads)
{
	size_t i, n = limit == 0 || limit > r->neps ? r->neps : limit;

	if (!threads) {
		printf("rank,thread,tid,fid,bmapno,addr,start_us,end_us,duration_us,cycles,"
		    "period_us,outstanding_min,outstanding_max,cause,first_off,last_off\n");
		for (i = 0; i < n; i++) {
			const struct sp_rep_episode *e = &r->eps[i];

			printf("%zu,%s,%s,%" PRIx64 ",%" PRIu32 ",0x%" PRIx64 ",%lld,%lld,%lld,%"
			    PRIu64 ",", i + 1, sp_report_ep_thread(r, e), sp_report_ep_tid(r, e),
			    e->f.fid, e->f.bno, e->f.addr, (long long)e->f.start_us,
			    (long long)e->f.end_us,
			    (long long)(e->f.end_us - e->f.start_us), e->f.cycles);
			csv_int(e->f.period_us);
			putchar(',');
			csv_int(e->f.outstanding_min);
			putchar(',');
			csv_int(e->f.outstanding_max);
			printf(",%s,%" PRIu64 ",%" PRIu64 "\n", sp_cause_name(e->f.cause),
			    e->f.first_off, e->f.last_off);
		}
		return;
	}
	printf("thread,tid,passes,useless_passes,examinations,wasted_examinations,first_us,"
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
		csv_int(t->period_p50_us);
		putchar(',');
		csv_int(t->period_p99_us);
		putchar(',');
		if (scan_cost_us > 0)
			printf("%.3f", scan_cost_us * (double)t->wasted_examinations);
		putchar('\n');
	}
}

/* Prints the report as one JSON object (with the bmaps or clients: which 3 or 4). */
static void
print_json(const struct sp_report *r, double scan_cost_us, size_t limit, int which)
{
	char hex[40];
	size_t i, n = limit == 0 || limit > r->neps ? r->neps : limit;

	printf("{\"episodes\":[");
	for (i = 0; i < n; i++) {
		const struct sp_rep_episode *e = &r->eps[i];
		const char *thread = sp_report_ep_thread(r, e), *tid = sp_report_ep_tid(r, e);

		printf("%s\n{\"rank\":%zu,\"thread\":", i ? "," : "", i + 1);
		fs_json_str(stdout, thread, strlen(thread));
		printf(",\"tid\":");
		fs_json_str(stdout, tid, strlen(tid));
		snprintf(hex, sizeof(hex), "%" PRIx64, e->f.fid);
		printf(",\"fid\":\"%s\",\"bmapno\":%" PRIu32 ",\"addr\":\"0x%" PRIx64 "\""
		    ",\"start_us\":%lld,\"end_us\":%lld,\"duration_us\":%lld,\"cycles\":%" PRIu64
		    ",\"period_us\":", hex, e->f.bno, e->f.addr, (long long)e->f.start_us,
		    (long long)e->f.end_us, (long long)(e->f.end_us - e->f.start_us), e->f.cycles);
		fs_json_int(stdout, e->f.period_us);
		printf(",\"outstanding_min\":");
		fs_json_int(stdout, e->f.outstanding_min);
		printf(",\"outstanding_max\":");
		fs_json_int(stdout, e->f.outstanding_max);
		printf(",\"cause\":\"%s\",\"first_off\":%" PRIu64 ",\"last_off\":%" PRIu64 "}",
		    sp_cause_name(e->f.cause), e->f.first_off, e->f.last_off);
	}
	printf("],\n");
	if (which == 3)
		print_bmaps(r, FS_FMT_JSON, 0);
	if (which == 4)
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
		    ",\"period_p50_us\":", t->passes, t->useless_passes, t->examinations,
		    t->wasted_examinations, (long long)t->first_us, (long long)t->last_us);
		fs_json_int(stdout, t->period_p50_us);
		printf(",\"period_p99_us\":");
		fs_json_int(stdout, t->period_p99_us);
		printf(",\"passes_per_s\":");
		fs_json_num(stdout, sp > 0 ? (double)t->passes / sp : NAN);
		printf(",\"wasted_per_s\":");
		fs_json_num(stdout, sp > 0 ? (double)t->wasted_examinations / sp : NAN);
		printf(",\"cpu_wasted_us\":");
		fs_json_num(stdout, scan_cost_us > 0 ? scan_cost_us * (double)t->wasted_examinations : NAN);
		putchar('}');
	}
	printf("],\n\"episodes_total\":%zu,\"lines\":%" PRIu64 ",\"unparsed\":%" PRIu64 "}\n",
	    r->neps, r->lines, r->unparsed);
}

/* Parses --fid: a hex file id, with or without 0x. */
static int
parse_fid(const char *arg, void *dst, struct fs_err *err)
{
	struct sp_filter *f = dst;
	char *end;

	errno = 0;
	f->fid = strtoull(arg + (strncmp(arg, "0x", 2) == 0 ? 2 : 0), &end, 16);
	if (*arg == '\0' || *end != '\0' || errno != 0 || arg[0] == '-')
		return fs_err_set(err, EINVAL, "'%s' is not a hex file id", arg);
	f->has_fid = 1;
	return 0;
}

/* Parses --since / --until. */
static int
parse_time(const char *arg, void *dst, struct fs_err *err)
{
	if (parse_time_us(arg, dst) != 0)
		return fs_err_set(err, EINVAL, "'%s' is not a time (epoch seconds, or "
		    "YYYY-MM-DD[THH:MM:SS[.frac]] UTC)", arg);
	return 0;
}

struct spins_args {
	const char *db, *plot, *by;
	struct sp_filter flt;
	long long min_cycles, window_limit, limit, jobs;
	uint64_t max_gap_ns, scan_cost_ns;
	int format, table, fail_on_spin;
};

#define A struct spins_args
static const struct fs_opt spins_opts[] = {
	FS_OPT_STRING('d', "db", A, db, "DB", NULL,
	    "read the episodes and thread figures ingest stored, in a file or a"
	    " postgresql:// URI (instead of FILE...)"),
	FS_OPT_STRING(0, "client", A, flt.client, "NAME", NULL,
	    "with -d: only this client's sources; with FILE...: their client's name"),
	FS_OPT_CUSTOM(0, "fid", A, flt, "HEX", NULL, parse_fid,
	    "only episodes and bmaps of this file id"),
	FS_OPT_STRING(0, "thread", A, flt.thread, "NAME[:TID]", NULL,
	    "only this flush thread's episodes and figures"),
	FS_OPT_CUSTOM(0, "since", A, flt.since_us, "TIME", NULL, parse_time,
	    "a window: episodes overlapping it, counts of the seconds it touches"),
	FS_OPT_CUSTOM(0, "until", A, flt.until_us, "TIME", NULL, parse_time,
	    "the window's end (see --since)"),
	FS_OPT_COUNT(0, "min-cycles", A, min_cycles, "N", "3", 1, 1e9,
	    "wasted examinations that make an episode"),
	FS_OPT_DURATION(0, "max-gap", A, max_gap_ns, "50ms", 1e3, 3600e9,
	    "largest gap between the wasted examinations of an episode"),
	FS_OPT_COUNT(0, "window-limit", A, window_limit, "N", "128", 1, 1e9,
	    "outstanding RPC count that means throttled"),
	FS_OPT_DURATION(0, "scan-cost", A, scan_cost_ns, NULL, 1, 1e9,
	    "CPU one examination costs: adds the CPU wasted per thread (default: none)"),
	FS_OPT_CHOICE(0, "format", A, format, FS_FORMATS, "table", "output format"),
	FS_OPT_CHOICE(0, "table", A, table, "all|episodes|threads|bmaps|clients", NULL,
	    "the part to print (default: all = episodes and threads; csv prints one table,"
	    " episodes; json adds the bmaps or clients with --table bmaps or clients)"),
	FS_OPT_STRING(0, "by", A, by, "KIND", NULL,
	    "thread, bmap or client: the same as --table threads, bmaps or clients"),
	FS_OPT_COUNT(0, "limit", A, limit, "N", NULL, 0, 1e12,
	    "episodes listed, 0 = all (default: 50 in a table, all in csv and json)"),
	FS_OPT_STRING(0, "plot", A, plot, "FILE.svg", NULL, "also draw the time-line as SVG"),
	FS_OPT_FLAG(0, "fail-on-spin", A, fail_on_spin, "exit 1 when any episode is found"),
	FS_OPT_JOBS(A, jobs),
	FS_OPT_END
};
#undef A

const struct fs_cmdspec fs_spec_spins = {
	.name = "spins",
	.usage = { "FILE...", "-d DB" },
	.min_ops = 0, .max_ops = -1,
	.summary = "Finds, sizes and explains flush-thread spins in logs or a database.",
	.notes = "TIME: epoch seconds[.frac], or YYYY-MM-DD[THH:MM:SS[.frac]] in UTC.\n",
	.opts = spins_opts,
};

/* flushscope spins. */
int
cmd_spins(int argc, char **argv)
{
	struct spins_args a;
	struct fs_args fa;
	struct sp_options opt;
	struct sp_report rep;
	struct fs_err err;
	double scan_cost_us;
	int i, rc = FS_EXIT_OK, which;

	memset(&a, 0, sizeof(a));
	sp_filter_init(&a.flt);
	a.limit = -1;
	if ((i = fs_opt_parse(&fs_spec_spins, &a, argc, argv, &fa)) != 0)
		return i == FS_OPT_HELP ? FS_EXIT_OK : FS_EXIT_USAGE;
	if ((a.db == NULL) == (fa.nops == 0))
		return fs_usage(&fs_spec_spins, a.db ? "give either -d DB or log files, not both" :
		    "give log files or -d DB");
	if (a.by != NULL) {
		if (strcmp(a.by, "thread") == 0)
			a.table = 2;
		else if (strcmp(a.by, "bmap") == 0)
			a.table = 3;
		else if (strcmp(a.by, "client") == 0)
			a.table = 4;
		else
			return fs_usage(&fs_spec_spins, "--by: '%s' is not thread, bmap or client",
			    a.by);
		if (fs_opt_given(&fs_spec_spins, &fa, "table"))
			return fs_usage(&fs_spec_spins, "give --by or --table, not both");
	}
	if (a.flt.client != NULL && a.flt.client[0] == '\0')
		return fs_usage(&fs_spec_spins, "--client: an empty name");
	if (a.format == FS_FMT_JSON && a.table != 0 && a.table != 3 && a.table != 4)
		return fs_usage(&fs_spec_spins, "--table chooses a table of the table or csv "
		    "format; json holds episodes and threads (and bmaps or clients with --table"
		    " bmaps or clients)");
	sp_options_default(&opt);
	opt.min_cycles = (int)a.min_cycles;
	opt.max_gap_us = (int64_t)(a.max_gap_ns / 1000);
	opt.window_limit = a.window_limit;
	scan_cost_us = (double)a.scan_cost_ns / 1e3;
	which = a.table;
	if (a.format == FS_FMT_CSV && which == 0)
		which = 1;
	fs_err_clear(&err);
	for (i = 0; i < fa.nops; i++)
		if (fs_check_log(fa.ops[i], NULL, &err) < 0) {
			fs_warn(CMDNAME, "%s", err.msg);
			return FS_EXIT_RUNTIME;
		}

	if (a.db != NULL && fs_check_db(a.db, &err) < 0) {
		fs_warn(CMDNAME, "%s", err.msg);
		return FS_EXIT_RUNTIME;
	}
	sp_report_init(&rep);
	a.flt.want_bmaps = which == 3;
	a.flt.want_clients = which == 4;
	if (a.db != NULL) {
		/* stored episodes were cut with ingest's min-cycles: stricter ones filter */
		if (fs_opt_given(&fs_spec_spins, &fa, "min-cycles"))
			a.flt.min_cycles = (uint64_t)opt.min_cycles;
		if (sp_report_add_db(&rep, a.db, &a.flt, &err) != 0) {
			fs_warn(CMDNAME, "%s", err.msg);
			sp_report_free(&rep);
			return FS_EXIT_RUNTIME;
		}
	} else {
		for (i = 0; i < fa.nops; i++) {
			if (sp_report_add_file(&rep, fa.ops[i], &opt, &a.flt,
			    fs_jobs(a.jobs, 0), &err) != 0) {
				fs_warn(CMDNAME, "%s", err.msg);
				rc = FS_EXIT_RUNTIME;
				break;
			}
		}
	}
	sp_report_rank(&rep);
	if (rc == FS_EXIT_OK) {
		if (a.limit < 0)
			a.limit = a.format == FS_FMT_TABLE ? 50 : 0;
		if (a.format == FS_FMT_JSON)
			print_json(&rep, scan_cost_us, (size_t)a.limit, which);
		else if (which == 3)
			print_bmaps(&rep, a.format, (size_t)a.limit);
		else if (which == 4)
			print_clients(&rep, a.format, (size_t)a.limit);
		else if (a.format == FS_FMT_CSV)
			print_csv(&rep, scan_cost_us, (size_t)a.limit, which == 2);
		else
			print_table(&rep, scan_cost_us, (size_t)a.limit, which);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fs_warn(CMDNAME, "writing the output: %s", strerror(errno));
			rc = FS_EXIT_RUNTIME;
		}
	}
	if (rc == FS_EXIT_OK && a.plot != NULL) {
		FILE *f = fopen(a.plot, "w");

		if (f == NULL) {
			fs_warn(CMDNAME, "%s: %s", a.plot, strerror(errno));
			rc = FS_EXIT_RUNTIME;
		} else {
			if (sp_report_plot(&rep, f, &err) != 0) {
				fs_warn(CMDNAME, "%s: %s", a.plot, err.msg);
				rc = FS_EXIT_RUNTIME;
			}
			if (fclose(f) != 0 && rc == FS_EXIT_OK) {
				fs_warn(CMDNAME, "%s: %s", a.plot, strerror(errno));
				rc = FS_EXIT_RUNTIME;
			}
		}
	}
	if (rc == FS_EXIT_OK && a.fail_on_spin && rep.neps > 0)
		rc = FS_EXIT_FOUND;
	sp_report_free(&rep);
	return rc;
}
