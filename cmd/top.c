/*
 * flushscope top: watch a live client log like top(1).
 *
 * The front end only: options, the follow/refresh loop, the ncursesw screen
 * and the batch printer.  Following is parsers/follow, the analysis (the
 * shared parser and spin detector, rates, rows) is live/live.
 */
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "live/live.h"
#include "cmd/cmd.h"
#include "parsers/follow.h"
#include "ingest/record.h"
#include "util/clock.h"
#include "util/err.h"

#define TOP_PUMP_LINES	65536		/* lines between clock checks */
#define TOP_KEY_SLICE_US 20000		/* interactive: keys are looked at this often */

/* Set by SIGINT/SIGTERM; the loop restores the terminal and leaves. */
static volatile sig_atomic_t top_stop;

/* Records the signal; the loop does the rest. */
static void
on_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

/*
 * --db: the followed files are recorded (ingest/record.h) from the lines
 * top reads anyway: each line is parsed once, handed to the recorder, then
 * to the model.  Commits: every `interval` seconds and when top stops;
 * a failed one is retried at the next.
 */
struct top_db {
	const char *path;
	double interval;
	struct ig_recorder *rec;
	int64_t next_us;		/* next commit (monotonic) */
};

/* Commits every input's recording; final ends their sources. */
static void
db_commit(struct top_db *d, struct lv_model *m, int n, int final)
{
	struct fs_err err;
	int i;

	if (d->rec == NULL)
		return;
	for (i = 0; i < n; i++) {
		fs_err_clear(&err);
		ig_record_commit(d->rec, i, lv_source_detector(m, i), lv_source_parser(m, i),
		    final, &err);
	}
	d->next_us = fs_mono_us() + (int64_t)(d->interval * 1e6);
}

/* The recorder waits for a locked database before it starts a source. */
static void
db_waiting(void *arg, const char *why)
{
	(void)arg;
	fs_warn("top", "%s: waiting for the database", why);
}

/* The recording status line ("" without --db). */
static void
db_status(struct top_db *d, char *buf, size_t n)
{
	uint64_t lines, commits;
	char err[512];

	buf[0] = '\0';
	if (d->rec == NULL)
		return;
	ig_record_status(d->rec, &lines, &commits, err, sizeof(err));
	if (err[0] != '\0')
		snprintf(buf, n, "Recording to %.200s: %" PRIu64 " lines, retrying: %.250s", d->path,
		    lines, err);
	else
		snprintf(buf, n, "Recording to %.200s: %" PRIu64 " lines, %" PRIu64 " commit%s",
		    d->path, lines, commits, commits == 1 ? "" : "s");
}

struct top {
	/* options */
	double delay;
	int batch, iterations, from_start, threads_view, rows_max, poll_ms, no_inotify;
	enum fs_format format;
	struct lv_options lo;
	struct lv_view view;
	char filter[64];
	struct top_db db;

	/* state */
	struct ps_follow *f;
	struct lv_model *m;
	uint64_t *gen;			/* last generation seen per source */
	int nsrc;
	char **paths;
	int iter;
	int paused, ended;

	/* screen */
	int color, utf8;
	SCREEN *scr;
	FILE *tty;
	int mode;			/* 0 table, 1 help, 2 filter input, 3 sort menu */
	char input[64];
	size_t ninput;
	struct lv_summary sum;
	const struct lv_row *rows;
	size_t nrows;
	const struct lv_thread_row *trows;
	size_t ntrows;
};

/* Prints the usage text. */
static void
usage(FILE *o)
{
	fprintf(o,
	    "usage: flushscope top [options] FILE... | -\n"
	    "Watch a live SLASH2 client log like top: which bmaps the flush thread\n"
	    "re-scans for nothing, how often, and the outstanding RPCs.\n\n"
	    "  -d, --delay=SECONDS     refresh interval (default 2)\n"
	    "  -b, --batch             plain-text snapshots on stdout (default when\n"
	    "                          stdout is not a terminal or TERM=dumb)\n"
	    "  -n, --iterations=N      stop after N snapshots\n"
	    "      --from-start        read the files from the beginning (default: end)\n"
	    "  -s, --sort=COLUMN       id, addr, thread, wasted, cycles, period, outst,\n"
	    "                          state, age (default wasted)\n"
	    "  -r, --reverse           reverse the sort order\n"
	    "      --filter=TEXT       only bmaps whose fid:bno or thread contains TEXT\n"
	    "  -t, --threads           per-thread view instead of bmaps\n"
	    "      --rows=N            batch: at most N rows per snapshot (0 = all; default 50)\n"
	    "      --format=FMT        batch: table (default), csv or json\n"
	    "      --window=SECONDS    rate window in log time (default 10, at most %d)\n"
	    "      --min-cycles=N      detector: cycles that make an episode (default 3)\n"
	    "      --max-gap=MS        detector: largest gap inside a run (default 50)\n"
	    "      --log-format=FMT    PSC_LOG_FORMAT of the input (default: detect)\n"
	    "      --poll=MS           longest wait between file checks (default 100)\n"
	    "      --no-inotify        poll only\n"
	    "      --db=FILE           also record the followed files into FILE with the\n"
	    "                          ingest engine (at start, every --db-interval seconds\n"
	    "                          (default 30) and at exit; files only, not stdin)\n"
	    "  -h, --help              this help\n\n"
	    "Keys: q quit, ?/h help, space/p pause, < > sort column, F sort menu, R reverse,\n"
	    "/ filter, t threads view, Ctrl-L redraw.  See flushscope-top(1).\n", LV_WIN_MAX);
}

/* Parses a sort column name. */
static int
parse_sort(const char *s)
{
	static const char *const names[LV_NSORT] = { "id", "addr", "thread", "wasted",
	    "cycles", "period", "outst", "state", "age" };
	int i;

	for (i = 0; i < LV_NSORT; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* Formats a count with k/M/G suffixes. */
static char *
human(double v, char *buf, size_t n)
{
	if (v < 0)
		snprintf(buf, n, "-");
	else if (v < 1000)
		snprintf(buf, n, v == floor(v) ? "%.0f" : "%.1f", v);
	else if (v < 1e6)
		snprintf(buf, n, "%.1fk", v / 1e3);
	else if (v < 1e9)
		snprintf(buf, n, "%.2fM", v / 1e6);
	else
		snprintf(buf, n, "%.2fG", v / 1e9);
	return buf;
}

/* Formats a duration in microseconds (-1: "-"). */
static char *
dur(int64_t us, char *buf, size_t n)
{
	if (us < 0)
		snprintf(buf, n, "-");
	else if (us < 10000)
		snprintf(buf, n, "%.2fms", (double)us / 1e3);
	else if (us < 1000000)
		snprintf(buf, n, "%.0fms", (double)us / 1e3);
	else if (us < 600LL * 1000000)
		snprintf(buf, n, "%.1fs", (double)us / 1e6);
	else
		snprintf(buf, n, "%" PRId64 "m", us / 60000000);
	return buf;
}

/* Formats a log time as "YYYY-mm-dd HH:MM:SS.uuuuuu" (UTC). */
static char *
logtime(int64_t us, char *buf, size_t n)
{
	time_t t;
	struct tm tm;
	char d[32];

	if (us == INT64_MIN) {
		snprintf(buf, n, "-");
		return buf;
	}
	t = (time_t)(us / 1000000);
	gmtime_r(&t, &tm);
	strftime(d, sizeof(d), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, n, "%s.%06d", d, (int)(us % 1000000));
	return buf;
}

/*
 * The sparkline of outstanding RPCs from second `first` on, UTF-8 blocks
 * or ASCII, scaled between the minimum and maximum of the minute (so 70
 * against 89 shows); *minp and *maxp get those (-1 when nothing logged).
 */
static void
sparkline(const struct lv_summary *s, int utf8, int first, char *buf, size_t n,
    int64_t *minp, int64_t *maxp)
{
	static const char *const blocks[] = { "\u2581", "\u2582", "\u2583", "\u2584",
	    "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[] = "_.-=+*#@";
	int64_t mx = -1, mn = -1;
	size_t o = 0;
	int k;

	for (k = 0; k < LV_SPARK; k++) {
		if (s->spark[k] < 0)
			continue;
		if (s->spark[k] > mx)
			mx = s->spark[k];
		if (mn < 0 || s->spark[k] < mn)
			mn = s->spark[k];
	}
	*minp = mn;
	*maxp = mx;
	buf[0] = '\0';
	for (k = first < 0 ? 0 : first; k < LV_SPARK && o + 4 < n; k++) {
		int lvl;

		if (s->spark[k] < 0) {
			buf[o++] = ' ';
			continue;
		}
		lvl = mx > mn ? (int)((s->spark[k] - mn) * 7 / (mx - mn)) : 3;
		if (utf8) {
			memcpy(buf + o, blocks[lvl], 3);
			o += 3;
		} else {
			buf[o++] = ascii[lvl];
		}
	}
	buf[o] = '\0';
}

/* The summary lines (shared by the screen and batch mode); returns count. */
static int
summary_lines(const struct top *t, char lines[4][256])
{
	const struct lv_summary *s = &t->sum;
	char a[32], b[32], c[32], d[32], e[32], lt[64];

	snprintf(lines[0], 256, "Lines: %s/s (%" PRIu64 ")   Events: %s/s (%" PRIu64 ")   "
	    "Unparsed: %" PRIu64 "   Log time: %s",
	    human(s->lines_rate, a, sizeof(a)), s->lines, human(s->events_rate, b, sizeof(b)),
	    s->events, s->unparsed, logtime(s->log_now_us, lt, sizeof(lt)));
	snprintf(lines[1], 256, "Passes: %s/s (%" PRIu64 ")   Wasted: %s/s (%" PRIu64 ")   "
	    "Episodes: %" PRIu64 " open, %" PRIu64 " done",
	    human(s->passes_rate, c, sizeof(c)), s->passes, human(s->wasted_rate, d, sizeof(d)),
	    s->wasted, s->episodes_open, s->episodes_done);
	snprintf(lines[2], 256, "Bmaps: %" PRIu64 " dirty, %" PRIu64 " tracked   "
	    "Outstanding RPCs: %s", s->dirty, s->tracked,
	    s->outstanding >= 0 ? human((double)s->outstanding, e, sizeof(e)) : "-");
	return 3;
}

/*
 * One bmap row as text columns (shared by screen and batch).  narrow: an
 * 80-column layout without the ADDRESS column.
 */
static void
row_text(const struct lv_row *r, int multi, int narrow, char *buf, size_t n)
{
	char id[48], sid[64], rate[24], per[24], age[24], addr[24], outst[24];

	lv_row_id(r, id, sizeof(id));
	if (multi)
		snprintf(sid, sizeof(sid), "%d/%s", r->src, id);
	else
		snprintf(sid, sizeof(sid), "%s", id);
	snprintf(addr, sizeof(addr), r->addr ? "0x%" PRIx64 : "-", r->addr);
	if (r->outstanding >= 0)
		snprintf(outst, sizeof(outst), "%" PRId64, r->outstanding);
	else
		snprintf(outst, sizeof(outst), "-");
	if (narrow)
		snprintf(buf, n, "%-19s %-12s %9s %7" PRIu64 " %8s %5s %-6s %7s",
		    sid, r->thread[0] ? r->thread : "-", human(r->wasted_rate, rate, sizeof(rate)),
		    r->cycles, dur(r->period_us, per, sizeof(per)), outst,
		    lv_state_name(r->state), dur(r->age_us, age, sizeof(age)));
	else
		snprintf(buf, n, "%-22s %-14s %-14s %9s %7" PRIu64 " %8s %6s %-6s %7s",
		    sid, addr, r->thread[0] ? r->thread : "-",
		    human(r->wasted_rate, rate, sizeof(rate)), r->cycles,
		    dur(r->period_us, per, sizeof(per)), outst, lv_state_name(r->state),
		    dur(r->age_us, age, sizeof(age)));
}

/* The table header with the sort column marked. */
static void
header_text(const struct top *t, int narrow, char *buf, size_t n)
{
	char h[LV_NSORT][24];
	int i;

	for (i = 0; i < LV_NSORT; i++)
		snprintf(h[i], sizeof(h[i]), "%s%s", lv_sort_name(i),
		    (int)t->view.sort == i ? (t->view.reverse ? "^" : "*") : "");
	if (narrow)
		snprintf(buf, n, "%-19s %-12s %9s %7s %8s %5s %-6s %7s",
		    h[0], h[2], h[3], h[4], h[5], h[6], h[7], h[8]);
	else
		snprintf(buf, n, "%-22s %-14s %-14s %9s %7s %8s %6s %-6s %7s",
		    h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]);
}

/* One thread row as text. */
static void
thread_text(const struct lv_thread_row *r, char *buf, size_t n)
{
	char a[16], b[16], p[16];

	snprintf(buf, n, "%-16s %-16s %9s %9s %10" PRIu64 " %10" PRIu64 " %12" PRIu64
	    " %12" PRIu64 " %8s", r->thread, r->tid, human(r->passes_rate, a, sizeof(a)),
	    human(r->wasted_rate, b, sizeof(b)), r->passes, r->useless_passes, r->examinations,
	    r->wasted, dur(r->period_p50_us, p, sizeof(p)));
}

static const char thread_header[] = "THREAD           TID              PASSES/S  WASTED/S"
    "     PASSES    USELESS        EXAMS       WASTED  P50PER";

/* Takes a snapshot into t (rows or thread rows). */
static int
take_snapshot(struct top *t, struct fs_err *err)
{
	t->view.filter = t->filter[0] ? t->filter : NULL;
	if (lv_snapshot(t->m, fs_mono_us(), &t->view, &t->sum, &t->rows, &t->nrows, err) < 0)
		return -1;
	if (t->threads_view &&
	    lv_threads(t->m, t->view.filter, &t->trows, &t->ntrows, err) < 0)
		return -1;
	return 0;
}

/* Prints one batch snapshot in the chosen format. */
static void
print_batch(struct top *t)
{
	char sl[4][256], line[512], spark[LV_SPARK * 4 + 1], id[48];
	int64_t mn, mx;
	size_t i, lim = t->rows_max > 0 ? (size_t)t->rows_max : (size_t)-1;
	int k, n;

	if (t->format == FS_FMT_JSON) {
		const struct lv_summary *s = &t->sum;

		printf("{\"lines\":%" PRIu64 ",\"events\":%" PRIu64 ",\"unparsed\":%" PRIu64
		    ",\"passes\":%" PRIu64 ",\"wasted\":%" PRIu64 ",\"episodes_open\":%" PRIu64
		    ",\"episodes_done\":%" PRIu64 ",\"dirty\":%" PRIu64 ",\"outstanding\":%" PRId64
		    ",\"lines_per_s\":%.1f,\"events_per_s\":%.1f,\"passes_per_s\":%.1f"
		    ",\"wasted_per_s\":%.1f,\"log_now_us\":%" PRId64 ",\"bmaps\":[",
		    s->lines, s->events, s->unparsed, s->passes, s->wasted, s->episodes_open,
		    s->episodes_done, s->dirty, s->outstanding, s->lines_rate, s->events_rate,
		    s->passes_rate, s->wasted_rate,
		    s->log_now_us == INT64_MIN ? (int64_t)0 : s->log_now_us);
		if (t->threads_view) {
			printf("],\"threads\":[");
			for (i = 0; i < t->ntrows && i < lim; i++) {
				const struct lv_thread_row *r = &t->trows[i];

				printf("%s{\"src\":%d,\"thread\":", i ? "," : "", r->src);
				fs_json_str(stdout, r->thread, strlen(r->thread));
				printf(",\"tid\":");
				fs_json_str(stdout, r->tid, strlen(r->tid));
				printf(",\"passes_per_s\":%.1f,\"wasted_per_s\":%.1f,\"passes\":%" PRIu64
				    ",\"useless_passes\":%" PRIu64 ",\"examinations\":%" PRIu64
				    ",\"wasted\":%" PRIu64 ",\"period_p50_us\":%" PRId64 "}",
				    r->passes_rate, r->wasted_rate, r->passes, r->useless_passes,
				    r->examinations, r->wasted, r->period_p50_us);
			}
			printf("]}\n");
			fflush(stdout);
			return;
		}
		for (i = 0; i < t->nrows && i < lim; i++) {
			const struct lv_row *r = &t->rows[i];

			printf("%s{\"src\":%d,\"id\":\"%s\",\"addr\":\"0x%" PRIx64 "\",\"thread\":",
			    i ? "," : "", r->src, lv_row_id(r, id, sizeof(id)), r->addr);
			fs_json_str(stdout, r->thread, strlen(r->thread));
			printf(",\"wasted_per_s\":%.1f,\"cycles\":%" PRIu64 ",\"wasted\":%" PRIu64
			    ",\"period_us\":%" PRId64 ",\"outstanding\":%" PRId64
			    ",\"state\":\"%s\",\"age_us\":%" PRId64 "}", r->wasted_rate, r->cycles,
			    r->wasted_total, r->period_us, r->outstanding, lv_state_name(r->state),
			    r->age_us);
		}
		printf("]}\n");
		fflush(stdout);
		return;
	}
	if (t->format == FS_FMT_CSV && t->threads_view) {
		if (t->iter == 0)
			printf("snapshot,src,thread,tid,passes_per_s,wasted_per_s,passes,useless_passes,"
			    "examinations,wasted,period_p50_us\n");
		for (i = 0; i < t->ntrows && i < lim; i++) {
			const struct lv_thread_row *r = &t->trows[i];

			printf("%d,%d,%s,%s,%.1f,%.1f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			    ",%" PRId64 "\n", t->iter + 1, r->src, r->thread, r->tid, r->passes_rate,
			    r->wasted_rate, r->passes, r->useless_passes, r->examinations, r->wasted,
			    r->period_p50_us);
		}
		fflush(stdout);
		return;
	}
	if (t->format == FS_FMT_CSV) {
		if (t->iter == 0)
			printf("snapshot,src,id,addr,thread,wasted_per_s,cycles,wasted,period_us,"
			    "outstanding,state,age_us\n");
		for (i = 0; i < t->nrows && i < lim; i++) {
			const struct lv_row *r = &t->rows[i];

			printf("%d,%d,%s,0x%" PRIx64 ",%s,%.1f,%" PRIu64 ",%" PRIu64 ",%" PRId64
			    ",%" PRId64 ",%s,%" PRId64 "\n", t->iter + 1, r->src,
			    lv_row_id(r, id, sizeof(id)), r->addr, r->thread, r->wasted_rate,
			    r->cycles, r->wasted_total, r->period_us, r->outstanding,
			    lv_state_name(r->state), r->age_us);
		}
		fflush(stdout);
		return;
	}
	{
		time_t w = time(NULL);
		struct tm tm;
		char ts[32];

		localtime_r(&w, &tm);
		strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
		printf("flushscope top - %s - snapshot %d - %d source%s%s\n", ts, t->iter + 1,
		    t->nsrc, t->nsrc == 1 ? "" : "s", t->ended ? " - input ended" : "");
	}
	n = summary_lines(t, sl);
	for (k = 0; k < n; k++)
		printf("%s\n", sl[k]);
	db_status(&t->db, line, sizeof(line));
	if (line[0])
		printf("%s\n", line);
	sparkline(&t->sum, 0, 0, spark, sizeof(spark), &mn, &mx);
	printf("Outstanding, last %ds (%" PRId64 "..%" PRId64 "): [%s]\n", LV_SPARK, mn, mx, spark);
	if (t->filter[0])
		printf("Filter: %s\n", t->filter);
	printf("\n");
	if (t->threads_view) {
		printf("%s\n", thread_header);
		for (i = 0; i < t->ntrows && i < lim; i++) {
			thread_text(&t->trows[i], line, sizeof(line));
			printf("%s\n", line);
		}
	} else {
		header_text(t, 0, line, sizeof(line));
		printf("%s\n", line);
		for (i = 0; i < t->nrows && i < lim; i++) {
			row_text(&t->rows[i], t->nsrc > 1, 0, line, sizeof(line));
			printf("%s\n", line);
		}
		if (i < t->nrows)
			printf("... %zu more\n", t->nrows - i);
	}
	printf("\n");
	fflush(stdout);
}

/* ---- the screen ---- */

enum { CP_HEAD = 1, CP_SPIN, CP_WASTE, CP_BAR, CP_TITLE };

/* Starts curses on the terminal (keys from /dev/tty when stdin is a log or no tty). */
static int
screen_start(struct top *t, int stdin_is_log)
{
	const char *cs;

	t->tty = NULL;
	if (stdin_is_log || !isatty(STDIN_FILENO)) {
		if ((t->tty = fopen("/dev/tty", "r")) == NULL)
			return -1;
	}
	if ((t->scr = newterm(NULL, stdout, t->tty ? t->tty : stdin)) == NULL) {
		if (t->tty != NULL)
			fclose(t->tty);
		t->tty = NULL;
		return -1;
	}
	set_term(t->scr);
	set_escdelay(25);	/* Esc leaves the filter prompt at once */
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	cs = nl_langinfo(CODESET);
	t->utf8 = cs != NULL && strcmp(cs, "UTF-8") == 0;
	t->color = getenv("NO_COLOR") == NULL && has_colors();
	if (t->color) {
		start_color();
		use_default_colors();
		init_pair(CP_HEAD, COLOR_BLACK, COLOR_GREEN);
		init_pair(CP_SPIN, COLOR_RED, -1);
		init_pair(CP_WASTE, COLOR_YELLOW, -1);
		init_pair(CP_BAR, COLOR_BLACK, COLOR_CYAN);
		init_pair(CP_TITLE, COLOR_CYAN, -1);
	}
	return 0;
}

/* Restores the terminal. */
static void
screen_end(struct top *t)
{
	if (t->scr == NULL)
		return;
	curs_set(1);
	endwin();
	delscreen(t->scr);
	t->scr = NULL;
	if (t->tty != NULL)
		fclose(t->tty);
	t->tty = NULL;
}

/* Draws a string clipped to the screen width at (y, 0), padded when fill. */
static void
put_line(int y, const char *s, int fill)
{
	int w = COLS;

	move(y, 0);
	addnstr(s, w);
	if (fill) {
		int x, yy;

		getyx(stdscr, yy, x);
		(void)yy;
		while (x++ < w)
			addch(' ');
	}
}

/* The help screen. */
static void
draw_help(void)
{
	static const char *const lines[] = {
		"flushscope top - keys",
		"",
		"  q            quit",
		"  ? h          this help (any key returns)",
		"  space p      pause / resume the display (reading goes on)",
		"  < >          sort by the column to the left / right",
		"  F            sort menu (pick a column by its number)",
		"  R            reverse the sort order",
		"  /            filter by fid or thread (Enter applies, Esc clears)",
		"  t            per-thread view on / off",
		"  Ctrl-L       redraw the screen",
		"",
		"Columns: FID:BNO bmap (fid in hex), ADDRESS bmap@ address, THREAD last",
		"flush thread to examine it, WASTED/S wasted examinations per second of",
		"log time, CYCLES wasted examinations in the current run, PERIOD median",
		"gap between them, OUTST outstanding RPCs logged with it, STATE SPIN (an",
		"episode: >= min-cycles) WASTE ACTIVE IDLE CLEAN, AGE time in the state.",
		NULL
	};
	int i;

	erase();
	for (i = 0; lines[i] != NULL && i < LINES; i++)
		put_line(i, lines[i], 0);
	refresh();
}

/* Draws the main screen. */
static void
draw(struct top *t)
{
	char sl[4][256], line[512], spark[LV_SPARK * 4 + 1], title[512];
	int64_t mn, mx;
	int y = 0, n, k, bottom;
	size_t i;

	if (t->mode == 1) {
		draw_help();
		return;
	}
	erase();
	snprintf(title, sizeof(title), "flushscope top - %d source%s: %s%s%s%s", t->nsrc,
	    t->nsrc == 1 ? "" : "s", t->paths[0], t->nsrc > 1 ? " ..." : "",
	    t->paused ? "   [PAUSED]" : "", t->ended ? "   [input ended]" : "");
	if (t->color)
		attron(COLOR_PAIR(CP_TITLE) | A_BOLD);
	else
		attron(A_BOLD);
	put_line(y++, title, 0);
	attrset(A_NORMAL);
	n = summary_lines(t, sl);
	for (k = 0; k < n && y < LINES; k++)
		put_line(y++, sl[k], 0);
	if (y < LINES) {
		int lw;

		/* The newest seconds that fit beside the label. */
		sparkline(&t->sum, 0, 0, spark, sizeof(spark), &mn, &mx);
		lw = snprintf(line, sizeof(line), "Outstanding, last %ds (%" PRId64 "..%" PRId64
		    "): ", LV_SPARK, mn, mx);
		sparkline(&t->sum, t->utf8, LV_SPARK - (COLS - lw - 1), spark, sizeof(spark),
		    &mn, &mx);
		snprintf(line + lw, sizeof(line) - (size_t)lw, "%s", spark);
		put_line(y++, line, 0);
	}
	db_status(&t->db, line, sizeof(line));
	if (line[0] && y < LINES)
		put_line(y++, line, 0);
	if (y < LINES) {
		snprintf(line, sizeof(line), "%s%s", t->filter[0] ? "Filter: " : "", t->filter);
		put_line(y++, line, 0);
	}
	bottom = LINES - 1;
	if (y < bottom) {
		if (t->threads_view)
			snprintf(line, sizeof(line), "%s", thread_header);
		else
			header_text(t, COLS < 100, line, sizeof(line));
		attron(t->color ? COLOR_PAIR(CP_HEAD) : A_REVERSE);
		put_line(y++, line, 1);
		attrset(A_NORMAL);
	}
	if (t->threads_view) {
		for (i = 0; i < t->ntrows && y < bottom; i++) {
			thread_text(&t->trows[i], line, sizeof(line));
			put_line(y++, line, 0);
		}
	} else {
		for (i = 0; i < t->nrows && y < bottom; i++) {
			const struct lv_row *r = &t->rows[i];

			row_text(r, t->nsrc > 1, COLS < 100, line, sizeof(line));
			if (r->state == LV_SPIN)
				attron(t->color ? COLOR_PAIR(CP_SPIN) | A_BOLD : A_BOLD);
			else if (r->state == LV_WASTE && t->color)
				attron(COLOR_PAIR(CP_WASTE));
			put_line(y++, line, 0);
			attrset(A_NORMAL);
		}
	}
	/* The key bar, or the prompt of an input mode. */
	if (t->mode == 2)
		snprintf(line, sizeof(line), "Filter (fid:bno or thread, Enter apply, Esc clear): %.*s_",
		    (int)t->ninput, t->input);
	else if (t->mode == 3) {
		size_t o = (size_t)snprintf(line, sizeof(line), "Sort by:");

		for (k = 0; k < LV_NSORT && o < sizeof(line); k++)
			o += (size_t)snprintf(line + o, sizeof(line) - o, " %d=%s", k + 1,
			    lv_sort_name(k));
		if (o < sizeof(line))
			snprintf(line + o, sizeof(line) - o, "  (R reverse, Esc cancel)");
	} else
		snprintf(line, sizeof(line), " q Quit  h Help  p Pause  </> Sort  F SortBy  R Rev"
		    "  / Filter  t Threads  ^L Redraw");
	attron(t->color ? COLOR_PAIR(CP_BAR) : A_REVERSE);
	put_line(LINES - 1, line, 1);
	attrset(A_NORMAL);
	refresh();
}

/* Handles one key; returns 1 to quit, 2 when the screen must be redrawn. */
static int
handle_key(struct top *t, int ch)
{
	if (t->mode == 1) {		/* help: any key returns */
		t->mode = 0;
		return 2;
	}
	if (t->mode == 2) {		/* filter input */
		if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
			memcpy(t->filter, t->input, t->ninput);
			t->filter[t->ninput] = '\0';
			t->mode = 0;
		} else if (ch == 27) {
			t->filter[0] = '\0';
			t->ninput = 0;
			t->mode = 0;
		} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
			if (t->ninput > 0)
				t->ninput--;
		} else if (ch >= 0x20 && ch < 0x7f && t->ninput + 1 < sizeof(t->input)) {
			t->input[t->ninput++] = (char)ch;
		}
		return 2;
	}
	if (t->mode == 3) {		/* sort menu */
		if (ch >= '1' && ch < '1' + LV_NSORT) {
			t->view.sort = (enum lv_sort)(ch - '1');
			t->mode = 0;
		} else if (ch == 'R' || ch == 'r') {
			t->view.reverse = !t->view.reverse;
		} else {
			t->mode = 0;
		}
		return 2;
	}
	switch (ch) {
	case 'q':
	case 'Q':
		return 1;
	case '?':
	case 'h':
	case 'H':
		t->mode = 1;
		return 2;
	case ' ':
	case 'p':
	case 'P':
		t->paused = !t->paused;
		return 2;
	case '<':
	case KEY_LEFT:
		t->view.sort = (enum lv_sort)((t->view.sort + LV_NSORT - 1) % LV_NSORT);
		return 2;
	case '>':
	case KEY_RIGHT:
		t->view.sort = (enum lv_sort)((t->view.sort + 1) % LV_NSORT);
		return 2;
	case 'F':
	case 'f':
		t->mode = 3;
		return 2;
	case 'R':
		t->view.reverse = !t->view.reverse;
		return 2;
	case '/':
		t->mode = 2;
		t->ninput = strlen(t->filter);
		memcpy(t->input, t->filter, t->ninput);
		return 2;
	case 't':
	case 'T':
		t->threads_view = !t->threads_view;
		return 2;
	case 12:		/* Ctrl-L */
		clearok(curscr, TRUE);
		return 2;
	case KEY_RESIZE:
		return 2;
	default:
		return 0;
	}
}

/* ---- the loop ---- */

/* Reads up to TOP_PUMP_LINES available lines into the model; count or -1. */
static long
pump(struct top *t, struct fs_err *err)
{
	struct ps_follow_line l;
	long n = 0;
	int r = 0;

	while (n < TOP_PUMP_LINES && (r = ps_follow_next(t->f, &l, err)) == 1) {
		struct ps_item it;

		if (l.generation != t->gen[l.src]) {
			t->gen[l.src] = l.generation;
			lv_source_reset(t->m, l.src);
		}
		lv_parse(t->m, l.src, l.p, l.n, l.off, l.lineno, &it);
		if (t->db.rec != NULL && ig_record_line(t->db.rec, l.src, l.generation,
		    lv_source_detector(t->m, l.src), &it, err) != 0)
			return -1;
		lv_feed(t->m, l.src, &it);
		n++;
	}
	if (n == 0 && r < 0)
		return -1;
	return n;
}

/* Runs the follow/refresh loop until done; returns an exit status. */
static int
run(struct top *t)
{
	struct fs_err err;
	int64_t delay_us = (int64_t)(t->delay * 1e6), next, now;
	int interactive = !t->batch, keyfd = -1, redraw = 1, resnap = 0, printed_end = 0;

	fs_err_clear(&err);
	if (delay_us < 10000)
		delay_us = 10000;
	if (interactive)
		keyfd = t->tty != NULL ? fileno(t->tty) : STDIN_FILENO;
	next = fs_mono_us() + delay_us;
	/* A first snapshot sets the base of the wall-clock rates. */
	if (take_snapshot(t, &err) < 0)
		goto fail;
	if (interactive)
		draw(t);
	while (!top_stop) {
		long got;
		int64_t slice_end;

		now = fs_mono_us();
		slice_end = interactive && now + TOP_KEY_SLICE_US < next ? now + TOP_KEY_SLICE_US : next;
		/* Read until the slice ends or nothing is left. */
		while (!top_stop && (now = fs_mono_us()) < slice_end) {
			if ((got = pump(t, &err)) < 0)
				goto fail;
			if (got > 0)
				continue;
			if (ps_follow_ended(t->f)) {
				t->ended = 1;
				break;
			}
			if (ps_follow_wait(t->f, keyfd, (int)((slice_end - now + 999) / 1000)) == 1)
				break;
		}
		if (top_stop)
			break;
		if (t->ended)
			lv_finish(t->m);	/* the input is over: final figures */
		if (t->db.rec != NULL && fs_mono_us() >= t->db.next_us)
			db_commit(&t->db, t->m, t->nsrc, 0);
		if (interactive) {
			int ch, r;

			while ((ch = getch()) != ERR) {
				if ((r = handle_key(t, ch)) == 1)
					return FS_EXIT_OK;
				if (r == 2)
					redraw = resnap = 1;
			}
		}
		now = fs_mono_us();
		if (now >= next || (t->ended && !printed_end)) {
			if (!t->paused || !interactive) {
				if (take_snapshot(t, &err) < 0)
					goto fail;
				redraw = 1;
				resnap = 0;
				if (!interactive) {
					print_batch(t);
					t->iter++;
					if (t->iterations > 0 && t->iter >= t->iterations)
						return FS_EXIT_OK;
					if (t->ended)
						return FS_EXIT_OK;
				} else {
					t->iter++;
					if (t->iterations > 0 && t->iter >= t->iterations)
						return FS_EXIT_OK;
				}
			}
			if (t->ended)
				printed_end = 1;
			next += delay_us;
			if (next <= now)
				next = now + delay_us;
		}
		if (interactive && redraw) {
			/* A changed view shows at once (sort, filter, threads). */
			if (resnap && !t->paused && t->mode == 0 && take_snapshot(t, &err) < 0)
				goto fail;
			draw(t);
			redraw = resnap = 0;
		}
		if (t->ended && interactive) {
			/* Nothing more will come: just wait for keys. */
			ps_follow_wait(t->f, keyfd, 100);
		}
	}
	return FS_EXIT_OK;
fail:
	screen_end(t);
	fs_warn("top", "%s", err.msg);
	return FS_EXIT_RUNTIME;
}

/* flushscope top. */
int
cmd_top(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "batch", no_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "from-start", no_argument, NULL, 'S' },
		{ "sort", required_argument, NULL, 's' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "filter", required_argument, NULL, 'i' },
		{ "threads", no_argument, NULL, 't' },
		{ "rows", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "window", required_argument, NULL, 'w' },
		{ "min-cycles", required_argument, NULL, 'c' },
		{ "max-gap", required_argument, NULL, 'g' },
		{ "log-format", required_argument, NULL, 'L' },
		{ "poll", required_argument, NULL, 'P' },
		{ "no-inotify", no_argument, NULL, 'I' },
		{ "db", required_argument, NULL, 'D' },
		{ "db-interval", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct top t;
	struct ps_follow_options fo;
	struct fs_err err;
	struct sigaction sa, old_int, old_term;
	const char *term;
	char *end;
	int c, i, rc, stdin_is_log = 0, sort;
	double v;

	memset(&t, 0, sizeof(t));
	t.delay = 2.0;
	t.rows_max = 50;
	t.poll_ms = 100;
	t.format = FS_FMT_TABLE;
	t.view.sort = LV_SORT_WASTED;
	t.db.interval = 30;
	lv_options_default(&t.lo);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:bn:s:rth", lopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			v = strtod(optarg, &end);
			if (*end != '\0' || !(v > 0) || v > 86400) {
				fs_warn("top", "bad delay '%s' (seconds, > 0)", optarg);
				return FS_EXIT_USAGE;
			}
			t.delay = v;
			break;
		case 'b':
			t.batch = 1;
			break;
		case 'n':
			t.iterations = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || t.iterations < 1) {
				fs_warn("top", "bad iteration count '%s'", optarg);
				return FS_EXIT_USAGE;
			}
			break;
		case 'S':
			t.from_start = 1;
			break;
		case 's':
			if ((sort = parse_sort(optarg)) < 0) {
				fs_warn("top", "unknown sort column '%s'", optarg);
				return FS_EXIT_USAGE;
			}
			t.view.sort = (enum lv_sort)sort;
			break;
		case 'r':
			t.view.reverse = 1;
			break;
		case 'i':
			snprintf(t.filter, sizeof(t.filter), "%s", optarg);
			break;
		case 't':
			t.threads_view = 1;
			break;
		case 'o':
			t.rows_max = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || t.rows_max < 0) {
				fs_warn("top", "bad row count '%s'", optarg);
				return FS_EXIT_USAGE;
			}
			break;
		case 'f':
			if ((rc = fs_opt_format("top", optarg)) < 0)
				return FS_EXIT_USAGE;
			t.format = (enum fs_format)rc;
			break;
		case 'w':
			t.lo.window_s = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || t.lo.window_s < 1 || t.lo.window_s > LV_WIN_MAX) {
				fs_warn("top", "bad window '%s' (1..%d seconds)", optarg, LV_WIN_MAX);
				return FS_EXIT_USAGE;
			}
			break;
		case 'c':
			t.lo.sp.min_cycles = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || t.lo.sp.min_cycles < 1) {
				fs_warn("top", "bad --min-cycles '%s'", optarg);
				return FS_EXIT_USAGE;
			}
			break;
		case 'g':
			v = strtod(optarg, &end);
			if (*end != '\0' || !(v > 0)) {
				fs_warn("top", "bad --max-gap '%s' (milliseconds)", optarg);
				return FS_EXIT_USAGE;
			}
			t.lo.sp.max_gap_us = (int64_t)(v * 1000);
			break;
		case 'L':
			t.lo.log_format = optarg;
			break;
		case 'P':
			t.poll_ms = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || t.poll_ms < 1) {
				fs_warn("top", "bad --poll '%s' (milliseconds)", optarg);
				return FS_EXIT_USAGE;
			}
			break;
		case 'I':
			t.no_inotify = 1;
			break;
		case 'D':
			t.db.path = optarg;
			break;
		case 'E':
			v = strtod(optarg, &end);
			if (*end != '\0' || !(v >= 1) || v > 86400) {
				fs_warn("top", "bad --db-interval '%s' (seconds, >= 1)", optarg);
				return FS_EXIT_USAGE;
			}
			t.db.interval = v;
			break;
		case 'h':
			usage(stdout);
			return FS_EXIT_OK;
		case ':':
			fs_warn("top", "option '%s' needs a value", argv[optind - 1]);
			return FS_EXIT_USAGE;
		default:
			fs_warn("top", "unknown option '%s'", argv[optind - 1]);
			usage(stderr);
			return FS_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fs_warn("top", "no log to watch (give FILE... or - for stdin)");
		usage(stderr);
		return FS_EXIT_USAGE;
	}
	term = getenv("TERM");
	if (!isatty(STDOUT_FILENO) || term == NULL || strcmp(term, "dumb") == 0 || term[0] == '\0')
		t.batch = 1;
	if (!t.batch && t.format != FS_FMT_TABLE) {
		fs_warn("top", "--format applies to batch mode (-b) only");
		return FS_EXIT_USAGE;
	}

	fs_err_clear(&err);
	ps_follow_options_default(&fo);
	/* --db records whole files: they are read from their first byte */
	fo.from_start = t.from_start || t.db.path != NULL;
	fo.poll_ms = t.poll_ms;
	fo.no_inotify = t.no_inotify;
	t.nsrc = argc - optind;
	t.paths = argv + optind;
	if ((t.f = ps_follow_new(&fo, &err)) == NULL ||
	    (t.m = lv_new(&t.lo, &err)) == NULL ||
	    (t.gen = calloc((size_t)t.nsrc, sizeof(*t.gen))) == NULL) {
		if (err.msg[0] == '\0')
			fs_err_set(&err, ENOMEM, "out of memory");
		rc = FS_EXIT_RUNTIME;
		fs_warn("top", "%s", err.msg);
		goto out;
	}
	for (i = 0; i < t.nsrc; i++) {
		if (strcmp(t.paths[i], "-") == 0) {
			if (stdin_is_log) {
				fs_warn("top", "stdin given twice");
				rc = FS_EXIT_USAGE;
				goto out;
			}
			stdin_is_log = 1;
		}
	}
	if (t.db.path != NULL) {
		struct ig_options io;

		if (stdin_is_log) {
			fs_warn("top", "--db records files; it cannot re-read stdin");
			rc = FS_EXIT_USAGE;
			goto out;
		}
		ig_options_default(&io);
		io.sp = t.lo.sp;
		io.log_format = t.lo.log_format;
		if ((t.db.rec = ig_record_new(t.db.path, t.paths, t.nsrc, &io, db_waiting, NULL,
		    &err)) == NULL) {
			fs_warn("top", "%s", err.msg);
			rc = FS_EXIT_RUNTIME;
			goto out;
		}
		t.db.next_us = fs_mono_us() + (int64_t)(t.db.interval * 1e6);
	}
	for (i = 0; i < t.nsrc; i++) {
		struct sp_callbacks also;

		if (t.db.rec != NULL)
			ig_record_callbacks(t.db.rec, i, &also);
		if (ps_follow_add(t.f, t.paths[i], &err) < 0 ||
		    lv_add_source(t.m, t.db.rec != NULL ? &also : NULL, &err) < 0) {
			fs_warn("top", "%s", err.msg);
			rc = FS_EXIT_RUNTIME;
			goto out;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	top_stop = 0;
	if (!t.batch) {
		setlocale(LC_ALL, "");
		if (screen_start(&t, stdin_is_log) < 0)
			t.batch = 1;	/* no usable terminal: plain snapshots */
	}
	rc = run(&t);
	screen_end(&t);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
out:
	if (t.db.rec != NULL) {
		uint64_t lines, commits;
		char msg[512];

		if (t.m != NULL)
			lv_finish(t.m);
		db_commit(&t.db, t.m, t.nsrc, 1);
		ig_record_status(t.db.rec, &lines, &commits, msg, sizeof(msg));
		ig_record_free(t.db.rec);
		if (msg[0] != '\0') {
			fs_warn("top", "recording: %s", msg);
			if (rc == FS_EXIT_OK)
				rc = FS_EXIT_RUNTIME;
		}
	}
	lv_free(t.m);
	ps_follow_free(t.f);
	free(t.gen);
	return rc;
}
