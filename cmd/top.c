/*
 * flushscope top: watch a live client log like top(1).
 *
 * The front end only: options, the follow/refresh loop, the ncursesw screen
 * and the batch printer.  Following is parsers/follow, the analysis (the
 * shared parser and spin detector, rates, rows) is live/live.
 */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "live/live.h"
#include "cmd/cmd.h"
#include "parsers/follow.h"
#include "parsers/parser.h"
#include "parsers/sniff.h"
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
	char history[300];		/* what was read back at start ("" if nothing) */

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

/* A CSV field: the number, or empty when unknown (< 0). */
static const char *
csv_int(int64_t v, char *buf, size_t n)
{
	if (v < 0)
		buf[0] = '\0';
	else
		snprintf(buf, n, "%" PRId64, v);
	return buf;
}

/* A snapshot as one JSON object per line. */
static void
batch_json(struct top *t, size_t lim)
{
	const struct lv_summary *s = &t->sum;
	char id[48], lt[64];
	size_t i;

	printf("{\"snapshot\":%d,\"log_time\":", t->iter + 1);
	if (s->log_now_us == INT64_MIN)
		printf("null,\"log_now_us\":null");
	else
		printf("\"%s\",\"log_now_us\":%" PRId64, logtime(s->log_now_us, lt,
		    sizeof(lt)), s->log_now_us);
	printf(",\"lines\":%" PRIu64 ",\"events\":%" PRIu64 ",\"unparsed\":%" PRIu64
	    ",\"passes\":%" PRIu64 ",\"wasted\":%" PRIu64 ",\"episodes_open\":%" PRIu64
	    ",\"episodes_done\":%" PRIu64 ",\"dirty\":%" PRIu64 ",\"outstanding\":",
	    s->lines, s->events, s->unparsed, s->passes, s->wasted, s->episodes_open,
	    s->episodes_done, s->dirty);
	fs_json_int(stdout, s->outstanding);
	printf(",\"lines_per_s\":%.1f,\"events_per_s\":%.1f,\"passes_per_s\":%.1f"
	    ",\"wasted_per_s\":%.1f,\"bmaps\":[", s->lines_rate, s->events_rate,
	    s->passes_rate, s->wasted_rate);
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
			    ",\"wasted\":%" PRIu64 ",\"period_p50_us\":", r->passes_rate,
			    r->wasted_rate, r->passes, r->useless_passes, r->examinations,
			    r->wasted);
			fs_json_int(stdout, r->period_p50_us);
			putchar('}');
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
		    ",\"period_us\":", r->wasted_rate, r->cycles, r->wasted_total);
		fs_json_int(stdout, r->period_us);
		printf(",\"outstanding\":");
		fs_json_int(stdout, r->outstanding);
		printf(",\"state\":\"%s\",\"age_us\":", lv_state_name(r->state));
		fs_json_int(stdout, r->age_us);
		putchar('}');
	}
	printf("]}\n");
	fflush(stdout);
}

/* A snapshot as CSV rows, the header before the first. */
static void
batch_csv(struct top *t, size_t lim)
{
	char id[48], c1[24], c2[24], c3[24];
	size_t i;

	if (t->threads_view) {
		if (t->iter == 0)
			printf("snapshot,src,thread,tid,passes_per_s,wasted_per_s,passes,useless_passes,"
			    "examinations,wasted,period_p50_us\n");
		for (i = 0; i < t->ntrows && i < lim; i++) {
			const struct lv_thread_row *r = &t->trows[i];

			printf("%d,%d,%s,%s,%.1f,%.1f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			    ",%s\n", t->iter + 1, r->src, r->thread, r->tid, r->passes_rate,
			    r->wasted_rate, r->passes, r->useless_passes, r->examinations, r->wasted,
			    csv_int(r->period_p50_us, c1, sizeof(c1)));
		}
		fflush(stdout);
		return;
	}
	if (t->iter == 0)
		printf("snapshot,src,id,addr,thread,wasted_per_s,cycles,wasted,period_us,"
		    "outstanding,state,age_us\n");
	for (i = 0; i < t->nrows && i < lim; i++) {
		const struct lv_row *r = &t->rows[i];

		printf("%d,%d,%s,0x%" PRIx64 ",%s,%.1f,%" PRIu64 ",%" PRIu64 ",%s,%s,%s,%s\n",
		    t->iter + 1, r->src, lv_row_id(r, id, sizeof(id)), r->addr, r->thread,
		    r->wasted_rate, r->cycles, r->wasted_total,
		    csv_int(r->period_us, c1, sizeof(c1)),
		    csv_int(r->outstanding, c2, sizeof(c2)), lv_state_name(r->state),
		    csv_int(r->age_us, c3, sizeof(c3)));
	}
	fflush(stdout);
}

/* A snapshot as the text screen, for --batch. */
static void
batch_text(struct top *t, size_t lim)
{
	char sl[4][256], line[512], spark[LV_SPARK * 4 + 1];
	int64_t mn, mx;
	size_t i;
	int k, n;

	{
		time_t w = time(NULL);
		struct tm tm;
		char ts[32];

		localtime_r(&w, &tm);
		strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
		printf("flushscope top - %s - snapshot %d - %s%s%s\n", ts, t->iter + 1,
		    strcmp(t->paths[0], "-") == 0 ? "standard input" : t->paths[0],
		    t->nsrc > 1 ? " and more" : "", t->ended ? " - input ended" : "");
		if (t->nsrc > 1) {
			printf("Inputs:");
			for (k = 0; k < t->nsrc; k++)
				printf(" %d=%s", k, t->paths[k]);
			putchar('\n');
		}
		if (t->history[0])
			printf("%s\n", t->history);
	}
	n = summary_lines(t, sl);
	for (k = 0; k < n; k++)
		printf("%s\n", sl[k]);
	db_status(&t->db, line, sizeof(line));
	if (line[0])
		printf("%s\n", line);
	sparkline(&t->sum, 0, 0, spark, sizeof(spark), &mn, &mx);
	if (mn < 0)
		printf("Outstanding, last %ds (-): none logged\n", LV_SPARK);
	else
		printf("Outstanding, last %ds (%" PRId64 "..%" PRId64 "): [%s]\n", LV_SPARK, mn, mx,
		    spark);
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

/* Prints one batch snapshot in the chosen format. */
static void
print_batch(struct top *t)
{
	size_t lim = t->rows_max > 0 ? (size_t)t->rows_max : (size_t)-1;

	if (t->format == FS_FMT_JSON)
		batch_json(t, lim);
	else if (t->format == FS_FMT_CSV)
		batch_csv(t, lim);
	else
		batch_text(t, lim);
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
		if (mn < 0)
			lw = snprintf(line, sizeof(line), "Outstanding, last %ds: none logged ",
			    LV_SPARK);
		else
			lw = snprintf(line, sizeof(line), "Outstanding, last %ds (%" PRId64 "..%"
			    PRId64 "): ", LV_SPARK, mn, mx);
		sparkline(&t->sum, t->utf8, LV_SPARK - (COLS - lw - 1), spark, sizeof(spark),
		    &mn, &mx);
		snprintf(line + lw, sizeof(line) - (size_t)lw, "%s", spark);
		put_line(y++, line, 0);
	}
	if (t->history[0] && y < LINES)
		put_line(y++, t->history, 0);
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
	if (!interactive) {
		/* Batch: what is there now is read and printed at once, not after -d. */
		long got = 0;

		while (!top_stop && (got = pump(t, &err)) > 0)
			;
		if (got < 0)
			goto fail;
		t->ended = ps_follow_ended(t->f);
		if (t->ended)
			lv_finish(t->m);	/* the input is over: final figures */
		next = fs_mono_us();
	}
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

/* Parses -d: seconds as in top(1), or a duration; a path gets a pointer to --db. */
static int
parse_delay(const char *arg, void *dst, struct fs_err *err)
{
	if (fs_parse_duration(arg, 1e9, dst, err) == 0)
		return 0;
	if (strchr(arg, '/') != NULL || strstr(arg, ".db") != NULL || access(arg, F_OK) == 0)
		return fs_err_set(err, EINVAL, "'%s' is not a delay: -d is the refresh delay in "
		    "seconds, as in top(1); to record into a database use --db %s", arg, arg);
	return fs_err_set(err, EINVAL, "'%s' is not a delay in seconds (e.g. 2, 0.5 or 500ms)",
	    arg);
}

struct top_args {
	uint64_t delay_ns, window_ns, max_gap_ns, poll_ns, db_interval_ns, history;
	int batch, from_start, reverse, threads, no_inotify, format, sort;
	long long iterations, rows, min_cycles;
	const char *filter, *log_format, *db;
};

#define A struct top_args
static const struct fs_opt top_opts[] = {
	FS_OPT_CUSTOM('d', "delay", A, delay_ns, "SECONDS", "2", parse_delay,
	    "refresh interval, at least 10ms"),
	FS_OPT_FLAG('b', "batch", A, batch,
	    "plain-text snapshots on stdout (the default when it is not a terminal)"),
	FS_OPT_COUNT('n', "iterations", A, iterations, "N", NULL, 1, 1e9,
	    "stop after N snapshots (default: run until quit)"),
	FS_OPT_FLAG(0, "from-start", A, from_start,
	    "read the files from their first line (default: from the end)"),
	FS_OPT_SIZE(0, "history", A, history, "1MiB", 0, 1 << 30,
	    "starting at the end, first read back this much of each file (0: none)"),
	FS_OPT_CHOICE('s', "sort", A, sort, "id|addr|thread|wasted|cycles|period|outst|state|age",
	    "wasted", "sort column"),
	FS_OPT_FLAG('r', "reverse", A, reverse, "reverse the sort order"),
	FS_OPT_STRING(0, "filter", A, filter, "TEXT", NULL,
	    "only bmaps whose fid:bno or thread contains TEXT"),
	FS_OPT_FLAG('t', "threads", A, threads, "per-thread view instead of bmaps"),
	FS_OPT_COUNT(0, "rows", A, rows, "N", "50", 0, 1e9, "batch: rows per snapshot, 0 = all"),
	FS_OPT_CHOICE(0, "format", A, format, FS_FORMATS, "table", "batch: output format"),
	FS_OPT_DURATION(0, "window", A, window_ns, "10s", FS_NS_S, LV_WIN_MAX * FS_NS_S,
	    "rate window in log time, whole seconds"),
	FS_OPT_COUNT(0, "min-cycles", A, min_cycles, "N", "3", 1, 1e9,
	    "detector: wasted examinations that make an episode"),
	FS_OPT_DURATION(0, "max-gap", A, max_gap_ns, "50ms", FS_NS_US, 3600 * FS_NS_S,
	    "detector: largest gap inside a run"),
	FS_OPT_STRING(0, "log-format", A, log_format, "FMT", NULL,
	    "PSC_LOG_FORMAT of the input (default: detected)"),
	FS_OPT_DURATION(0, "poll", A, poll_ns, "100ms", FS_NS_MS, 60 * FS_NS_S,
	    "longest wait between checks of the files"),
	FS_OPT_FLAG(0, "no-inotify", A, no_inotify, "poll only"),
	FS_OPT_STRING(0, "db", A, db, "DB", NULL,
	    "also record the followed files (read from their first byte) into the database DB"
	    " (a file, or a postgresql:// URI or conninfo string)"),
	FS_OPT_DURATION(0, "db-interval", A, db_interval_ns, "30s", FS_NS_S, 86400 * FS_NS_S,
	    "time between commits of the recording"),
	FS_OPT_END
};
#undef A

const struct fs_cmdspec fs_spec_top = {
	.name = "top",
	.usage = { "FILE...", "-" },
	.min_ops = 1, .max_ops = -1,
	.summary = "Watches a live SLASH2 client log like top: spinning bmaps, rates, RPCs.",
	.notes = "SECONDS: seconds as in top(1) (2, 0.5), or a DURATION with a unit (500ms).\n\n"
	    "Shows which bmaps the flush thread re-scans for nothing, how often, and the\n"
	    "outstanding RPCs.  Keys: q quit, ?/h help, space/p pause, < > sort column,\n"
	    "F sort menu, R reverse, / filter, t threads view, Ctrl-L redraw.\n",
	.opts = top_opts,
};

/*
 * Starting at the end of a file, reads back its last `bytes` (from the
 * first line start in them) into the model, so that the first screen shows
 * the recent past.  Sets *nlines; refuses bytes that hold no log line.
 * Returns 0, or -1 with err set.
 */
static int
read_history(struct top *t, int src, const char *path, uint64_t bytes, uint64_t *nlines,
    uint64_t *nread, struct fs_err *err)
{
	struct stat sb;
	char *buf;
	size_t n, i, start = 0;
	off_t from;
	ssize_t k;
	int fd;

	*nlines = *nread = 0;
	if (stat(path, &sb) != 0)
		return fs_err_set(err, errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(sb.st_mode) || sb.st_size == 0 || bytes == 0)
		return 0;
	from = sb.st_size > (off_t)bytes ? sb.st_size - (off_t)bytes : 0;
	n = (size_t)(sb.st_size - from);
	if ((buf = malloc(n)) == NULL)
		return fs_err_set(err, ENOMEM, "%s: out of memory", path);
	if ((fd = open(path, O_RDONLY)) < 0) {
		free(buf);
		return fs_err_set(err, errno, "%s: %s", path, strerror(errno));
	}
	for (i = 0; i < n; i += (size_t)k)
		if ((k = pread(fd, buf + i, n - i, from + (off_t)i)) <= 0)
			break;
	close(fd);
	n = i;
	if (from > 0) {		/* the first line is cut: start after it */
		char *nl = memchr(buf, '\n', n);

		start = nl ? (size_t)(nl - buf) + 1 : n;
	}
	while (n > start && buf[n - 1] != '\n')
		n--;		/* a partial last line is the follower's */
	if (n > start && ps_sniff_buf(buf + start, n - start, t->lo.log_format, NULL, err) !=
	    PS_SNIFF_LOG) {
		free(buf);
		if (err->msg[0] != '\0')
			return -1;
		return fs_err_set(err, EINVAL, "%s: no SLASH2 log line found (in its last %zu "
		    "bytes)", path, n - start);
	}
	for (i = start; i < n;) {
		char *nl = memchr(buf + i, '\n', n - i);
		size_t len = (size_t)(nl - (buf + i));

		lv_line(t->m, src, buf + i, len, (uint64_t)from + i, 0);
		(*nlines)++;
		i += len + 1;
	}
	*nread = n - start;
	free(buf);
	return 0;
}

/*
 * Checks the command line and fills t from it; returns FS_EXIT_OK, or the
 * exit status after the message (usage, or an input that is no log).
 */
static int
configure(struct top *t, const struct top_args *a, const struct fs_args *fa,
    int *stdin_is_log, struct fs_err *err)
{
	const char *term;
	int i;

	if (a->delay_ns < 10 * FS_NS_MS || a->delay_ns > 86400 * FS_NS_S)
		return fs_usage(&fs_spec_top, "-d: the delay must be 10ms to 1 day");
	if (a->window_ns % (uint64_t)FS_NS_S != 0)
		return fs_usage(&fs_spec_top, "--window: give whole seconds (1s to %ds)", LV_WIN_MAX);
	t->delay = (double)a->delay_ns / 1e9;
	t->batch = a->batch;
	t->iterations = (int)a->iterations;
	t->from_start = a->from_start;
	t->view.sort = (enum lv_sort)a->sort;
	t->view.reverse = a->reverse;
	if (a->filter != NULL)
		snprintf(t->filter, sizeof(t->filter), "%s", a->filter);
	t->threads_view = a->threads;
	t->rows_max = (int)a->rows;
	t->format = (enum fs_format)a->format;
	t->poll_ms = (int)(a->poll_ns / 1000000);
	t->no_inotify = a->no_inotify;
	t->db.path = a->db;
	t->db.interval = (double)a->db_interval_ns / 1e9;
	lv_options_default(&t->lo);
	t->lo.window_s = (int)(a->window_ns / 1000000000);
	t->lo.sp.min_cycles = (int)a->min_cycles;
	t->lo.sp.max_gap_us = (int64_t)(a->max_gap_ns / 1000);
	t->lo.log_format = a->log_format;
	if (a->log_format != NULL) {
		struct ps_parser *p = ps_parser_new(a->log_format, err);

		if (p == NULL)
			return fs_usage(&fs_spec_top, "--log-format: %s", err->msg);
		ps_parser_free(p);
	}
	for (i = 0; i < fa->nops; i++) {
		if (strcmp(fa->ops[i], "-") != 0)
			continue;
		if (*stdin_is_log)
			return fs_usage(&fs_spec_top, "standard input ('-') given twice");
		*stdin_is_log = 1;
	}
	if (a->db != NULL && *stdin_is_log)
		return fs_usage(&fs_spec_top, "--db records files; it cannot re-read standard input");
	term = getenv("TERM");
	if (!isatty(STDOUT_FILENO) || term == NULL || strcmp(term, "dumb") == 0 || term[0] == '\0')
		t->batch = 1;
	if (!t->batch && t->format != FS_FMT_TABLE)
		return fs_usage(&fs_spec_top, "--format applies to batch mode (-b) only");
	/* Inputs: each file must exist; read from its start, it must look like a log. */
	for (i = 0; i < fa->nops; i++) {
		struct stat sb;

		if (strcmp(fa->ops[i], "-") == 0)
			continue;
		if ((stat(fa->ops[i], &sb) != 0 || S_ISDIR(sb.st_mode) ||
		    (t->from_start && sb.st_size > 0)) &&
		    fs_check_log(fa->ops[i], a->log_format, err) < 0) {
			fs_warn("top", "%s", err->msg);
			return FS_EXIT_RUNTIME;
		}
	}
	return FS_EXIT_OK;
}

/*
 * Opens the follower, the model, the recorder (--db) and every input, each
 * read back by --history when top starts at the end.
 */
static int
open_inputs(struct top *t, const struct top_args *a, const struct fs_args *fa,
    struct fs_err *err)
{
	struct ps_follow_options fo;
	uint64_t hist_lines = 0, hist_bytes = 0;
	int i;

	ps_follow_options_default(&fo);
	/* --db records whole files: they are read from their first byte */
	if (t->db.path != NULL)
		t->from_start = 1;
	fo.from_start = t->from_start;
	fo.poll_ms = t->poll_ms;
	fo.no_inotify = t->no_inotify;
	t->nsrc = fa->nops;
	t->paths = fa->ops;
	if ((t->f = ps_follow_new(&fo, err)) == NULL ||
	    (t->m = lv_new(&t->lo, err)) == NULL ||
	    (t->gen = calloc((size_t)t->nsrc, sizeof(*t->gen))) == NULL) {
		if (err->msg[0] == '\0')
			fs_err_set(err, ENOMEM, "out of memory");
		return -1;
	}
	if (t->db.path != NULL) {
		struct ig_options io;

		ig_options_default(&io);
		io.sp = t->lo.sp;
		io.log_format = t->lo.log_format;
		if ((t->db.rec = ig_record_new(t->db.path, t->paths, t->nsrc, &io, db_waiting,
		    NULL, err)) == NULL)
			return -1;
		t->db.next_us = fs_mono_us() + (int64_t)(t->db.interval * 1e6);
	}
	for (i = 0; i < t->nsrc; i++) {
		uint64_t nl = 0, nb = 0;
		struct sp_callbacks also;

		if (t->db.rec != NULL)
			ig_record_callbacks(t->db.rec, i, &also);
		if (lv_add_source(t->m, t->db.rec != NULL ? &also : NULL, err) < 0 ||
		    (!t->from_start && strcmp(t->paths[i], "-") != 0 &&
		    read_history(t, i, t->paths[i], a->history, &nl, &nb, err) < 0) ||
		    ps_follow_add(t->f, t->paths[i], err) < 0)
			return -1;
		hist_lines += nl;
		hist_bytes += nb;
	}
	if (hist_lines > 0)
		snprintf(t->history, sizeof(t->history), "Started at the end: read back the last "
		    "%.1f KiB (%" PRIu64 " lines) first (--history)", (double)hist_bytes / 1024,
		    hist_lines);
	return 0;
}

/* flushscope top. */
int
cmd_top(int argc, char **argv)
{
	struct top_args a;
	struct fs_args fa;
	struct top t;
	struct fs_err err;
	struct sigaction sa, old_int, old_term;
	int rc, stdin_is_log = 0;

	memset(&a, 0, sizeof(a));
	if ((rc = fs_opt_parse(&fs_spec_top, &a, argc, argv, &fa)) != 0)
		return rc == FS_OPT_HELP ? FS_EXIT_OK : FS_EXIT_USAGE;
	memset(&t, 0, sizeof(t));
	fs_err_clear(&err);
	if ((rc = configure(&t, &a, &fa, &stdin_is_log, &err)) != FS_EXIT_OK)
		return rc;
	if (open_inputs(&t, &a, &fa, &err) < 0) {
		fs_warn("top", "%s", err.msg);
		rc = FS_EXIT_RUNTIME;
		goto out;
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
