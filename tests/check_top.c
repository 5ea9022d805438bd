/*
 * flushscope top: the live model (live/live) fed table-driven era-A
 * sequences, its bounds, and the command's batch mode with a writer
 * feeding it through a pipe and through a followed, rotated file.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "live/live.h"
#include "store/store.h"
#include "tests/testutil.h"

#define T0 1282327206000000LL

/* Formats one era-A line of msbflushthr (or thr) about bmap bno at t. */
static int
line_a(char *buf, size_t n, int64_t t, const char *thr, int srcline, uint32_t bno,
    const char *msg)
{
	return snprintf(buf, n, "[%" PRId64 ":%06" PRId64 " %s:23667:bmap:bmap_flush:%d] "
	    "bmap@0x%x b:%x m:8259 i:80000002d907b opcnt=65 %s", t / 1000000, t % 1000000,
	    thr ? thr : "msbflushthr", srcline, 0x881330u + bno * 0x1000u, bno, msg);
}

/* An era-A RPC line (no bmap: it belongs to the thread's latest EXAMINE). */
static int
line_rpc(char *buf, size_t n, int64_t t)
{
	return snprintf(buf, n, "[%" PRId64 ":%06" PRId64 " msbflushthr:23667:rpc:"
	    "bmap_flush_create_rpc:224] req@0x7f95c40c3a00 x1412/t0 c0 o43->@12345-10.32.5.12"
	    "@tcp10:30 lens 232/112 ref 1 res 0 ret 0 fl New:/0/0 replyc deadbeef rc 0/0 to=0 "
	    ":: off=1015808 sz=32768 op=1", t / 1000000, t % 1000000);
}

/*
 * Appends the lines of one step to f:
 *   'w' a wasted cycle of bno: try flush, restore
 *   'u' a useful cycle: try flush, RPC, restore
 *   'c' try flush then added to bmapTimeoutQ (clean)
 */
static int
emit(char *buf, size_t n, char op, int64_t t, uint32_t bno)
{
	char l[512];
	size_t o = 0;

	switch (op) {
	case 'w':
		line_a(l, sizeof(l), t, NULL, 639, bno, "try flush (outstandingRpcCnt=75)");
		o += (size_t)snprintf(buf + o, n - o, "%s\n", l);
		line_a(l, sizeof(l), t + 20, NULL, 754, bno, "restore to dirty list");
		o += (size_t)snprintf(buf + o, n - o, "%s\n", l);
		return 2;
	case 'u':
		line_a(l, sizeof(l), t, NULL, 639, bno, "try flush (outstandingRpcCnt=75)");
		o += (size_t)snprintf(buf + o, n - o, "%s\n", l);
		line_rpc(l, sizeof(l), t + 10);
		o += (size_t)snprintf(buf + o, n - o, "%s\n", l);
		line_a(l, sizeof(l), t + 20, NULL, 754, bno, "restore to dirty list");
		o += (size_t)snprintf(buf + o, n - o, "%s\n", l);
		return 3;
	case 'c':
		line_a(l, sizeof(l), t, NULL, 639, bno, "try flush (outstandingRpcCnt=75)");
		o += (size_t)snprintf(buf + o, n - o, "%s\n", l);
		line_a(l, sizeof(l), t + 20, NULL, 662, bno, "added to bmapTimeoutQ");
		o += (size_t)snprintf(buf + o, n - o, "%s\n", l);
		return 2;
	default:
		return 0;
	}
}

/* Feeds a text of lines to the model as source 0. */
static void
feed_text(struct lv_model *m, const char *text)
{
	const char *p = text, *nl;
	uint64_t lineno = 0;

	while ((nl = strchr(p, '\n')) != NULL) {
		lv_line(m, 0, p, (size_t)(nl - p), (uint64_t)(p - text), ++lineno);
		p = nl + 1;
	}
}

/* ---- the model, table-driven ---- */

struct lv_step { char op; int64_t dt; uint32_t bno; };

struct lv_case {
	const char *name;
	struct lv_step steps[24];
	/* expectations on the snapshot */
	size_t nrows;
	uint32_t first_bno;
	enum lv_state first_state;
	uint64_t first_cycles;
	uint64_t wasted;
	uint64_t episodes_open, episodes_done;
	uint64_t dirty;
	int64_t first_period;	/* -1: not checked */
};

#define W(dt, b) { 'w', (dt), (b) }
#define U(dt, b) { 'u', (dt), (b) }
#define C(dt, b) { 'c', (dt), (b) }

static const struct lv_case lv_cases[] = {
	{ "one bmap spinning", { W(0, 1), W(2100, 1), W(2100, 1), W(2100, 1), { 0, 0, 0 } },
	    1, 1, LV_SPIN, 4, 4, 1, 0, 1, 2100 },
	{ "two wasted then useful: the run ends", { W(0, 1), W(2100, 1), U(2100, 1), { 0, 0, 0 } },
	    1, 1, LV_ACTIVE, 0, 2, 0, 0, 1, -1 },
	{ "spin then useful: episode delivered", { W(0, 2), W(2100, 2), W(2100, 2), U(2100, 2),
	    { 0, 0, 0 } }, 1, 2, LV_ACTIVE, 0, 3, 0, 1, 1, -1 },
	{ "spin then clean", { W(0, 3), W(2100, 3), W(2100, 3), C(2100, 3), { 0, 0, 0 } },
	    1, 3, LV_CLEAN, 0, 3, 0, 1, 0, -1 },
	{ "gap above max_gap restarts the run", { W(0, 1), W(2100, 1), W(60000, 1), W(2100, 1),
	    { 0, 0, 0 } }, 1, 1, LV_WASTE, 2, 4, 0, 0, 1, 2100 },
	{ "spinning bmap sorts above a busy one", { U(0, 7), W(10, 5), U(2100, 7), W(10, 5),
	    U(2100, 7), W(10, 5), U(2100, 7), W(10, 5), { 0, 0, 0 } },
	    2, 5, LV_SPIN, 4, 4, 1, 0, 2, 2110 },
};

START_TEST(test_model_cases)
{
	const struct lv_case *c = &lv_cases[_i];
	struct lv_model *m;
	struct lv_summary sum;
	const struct lv_row *rows;
	size_t nrows, o = 0;
	struct fs_err err;
	char *text = malloc(65536);
	int64_t t = T0;
	int k;

	ck_assert_ptr_nonnull(text);
	fs_err_clear(&err);
	m = lv_new(NULL, &err);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(lv_add_source(m, NULL, &err), 0);
	text[0] = '\0';
	for (k = 0; c->steps[k].op != 0; k++) {
		t += c->steps[k].dt;
		emit(text + o, 65536 - o, c->steps[k].op, t, c->steps[k].bno);
		o = strlen(text);
	}
	feed_text(m, text);
	ck_assert_int_eq(lv_snapshot(m, 0, NULL, &sum, &rows, &nrows, &err), 0);
	ck_assert_msg(nrows == c->nrows, "%s: %zu rows", c->name, nrows);
	ck_assert_msg(rows[0].bno == c->first_bno, "%s: first bno %u", c->name, rows[0].bno);
	ck_assert_msg(rows[0].state == c->first_state, "%s: state %s", c->name,
	    lv_state_name(rows[0].state));
	ck_assert_msg(rows[0].cycles == c->first_cycles, "%s: cycles %" PRIu64, c->name,
	    rows[0].cycles);
	ck_assert_msg(sum.wasted == c->wasted, "%s: wasted %" PRIu64, c->name, sum.wasted);
	ck_assert_msg(sum.episodes_open == c->episodes_open, "%s: open %" PRIu64, c->name,
	    sum.episodes_open);
	ck_assert_msg(sum.episodes_done == c->episodes_done, "%s: done %" PRIu64, c->name,
	    sum.episodes_done);
	ck_assert_msg(sum.dirty == c->dirty, "%s: dirty %" PRIu64, c->name, sum.dirty);
	if (c->first_period >= 0)
		ck_assert_msg(rows[0].period_us == c->first_period, "%s: period %" PRId64,
		    c->name, rows[0].period_us);
	ck_assert_uint_eq(sum.lines, sum.events);
	lv_free(m);
	free(text);
}
END_TEST

/* Reads the seed excerpt and feeds it. */
static struct lv_model *
seed_model(void)
{
	const char *td = getenv("FS_TESTDATA");
	char path[512], *buf;
	struct lv_model *m;
	struct fs_err err;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/seed-excerpt.log", td ? td : "testdata");
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	buf = calloc(1, 65536);
	n = fread(buf, 1, 65535, fp);
	fclose(fp);
	ck_assert_uint_gt(n, 0);
	fs_err_clear(&err);
	m = lv_new(NULL, &err);
	ck_assert_int_eq(lv_add_source(m, NULL, &err), 0);
	feed_text(m, buf);
	free(buf);
	return m;
}

START_TEST(test_model_seed)
{
	struct lv_model *m = seed_model();
	struct lv_summary sum;
	const struct lv_row *rows;
	const struct lv_thread_row *tr;
	struct lv_view v = { LV_SORT_ID, 0, NULL };
	size_t nrows, nt;
	struct fs_err err;
	char id[64];

	fs_err_clear(&err);
	ck_assert_int_eq(lv_snapshot(m, 0, &v, &sum, &rows, &nrows, &err), 0);
	ck_assert_uint_eq(nrows, 2);
	ck_assert_uint_eq(sum.lines, 13);
	ck_assert_uint_eq(sum.wasted, 6);
	ck_assert_uint_eq(sum.episodes_open, 2);
	ck_assert_int_eq(sum.outstanding, 75);
	ck_assert_int_eq(sum.spark[LV_SPARK - 1], 75);
	ck_assert_str_eq(lv_row_id(&rows[0], id, sizeof(id)), "80000002d907b:1");
	ck_assert_uint_eq(rows[0].addr, 0x881330);
	ck_assert_str_eq(rows[0].thread, "msbflushthr");
	ck_assert_int_eq(rows[0].state, LV_SPIN);
	ck_assert_uint_eq(rows[0].cycles, 3);
	ck_assert_int_eq(rows[0].outstanding, 75);
	ck_assert_int_ge(rows[0].period_us, 2150);
	ck_assert_int_le(rows[0].period_us, 2170);
	/* Reverse id order, and a filter on the bmap number. */
	v.reverse = 1;
	ck_assert_int_eq(lv_snapshot(m, 0, &v, &sum, &rows, &nrows, &err), 0);
	ck_assert_uint_eq(rows[0].bno, 3);
	v.reverse = 0;
	v.filter = "d907b:3";
	ck_assert_int_eq(lv_snapshot(m, 0, &v, &sum, &rows, &nrows, &err), 0);
	ck_assert_uint_eq(nrows, 1);
	ck_assert_uint_eq(rows[0].bno, 3);
	v.filter = "nosuchthread";
	ck_assert_int_eq(lv_snapshot(m, 0, &v, &sum, &rows, &nrows, &err), 0);
	ck_assert_uint_eq(nrows, 0);
	/* Thread view: the one flush thread with its wasted examinations. */
	ck_assert_int_eq(lv_threads(m, NULL, &tr, &nt, &err), 0);
	ck_assert_uint_eq(nt, 1);
	ck_assert_str_eq(tr[0].thread, "msbflushthr");
	ck_assert_uint_eq(tr[0].wasted, 6);
	lv_free(m);
}
END_TEST

/* The engine's seed-like logs with their truth files (libflush synth). */
static const char *const truth_logs[] = { "seedlike-A", "seedlike-Z" };

START_TEST(test_model_matches_truth)
{
	const char *td = getenv("FS_TESTDATA");
	char path[512], line[1024];
	struct lv_model *m;
	struct lv_summary sum;
	const struct lv_row *rows;
	size_t nrows, n;
	struct fs_err err;
	uint64_t lineno = 0, off = 0, truth = 0;
	FILE *fp;

	fs_err_clear(&err);
	m = lv_new(NULL, &err);
	ck_assert_int_eq(lv_add_source(m, NULL, &err), 0);
	snprintf(path, sizeof(path), "%s/synth/%s.log", td ? td : "testdata", truth_logs[_i]);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		n = strcspn(line, "\n");
		lv_line(m, 0, line, n, off, ++lineno);
		off += strlen(line);
	}
	fclose(fp);
	snprintf(path, sizeof(path), "%s/synth/%s.truth", td ? td : "testdata", truth_logs[_i]);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "examine ", 8) == 0 && strstr(line, " wasted\n") != NULL)
			truth++;
	fclose(fp);
	ck_assert_int_eq(lv_snapshot(m, 0, NULL, &sum, &rows, &nrows, &err), 0);
	/* Top counts exactly the engine's wasted examinations (same detector). */
	ck_assert_uint_gt(truth, 0);
	ck_assert_uint_eq(sum.wasted, truth);
	ck_assert_uint_eq(sum.unparsed, 0);
	lv_free(m);
}
END_TEST

START_TEST(test_model_quiet_log_decays)
{
	struct lv_model *m = seed_model();
	struct lv_summary sum;
	const struct lv_row *rows;
	size_t nrows;
	struct fs_err err;

	/* Wall time 1 s, then 100 s later with no new line: the spin is over. */
	fs_err_clear(&err);
	ck_assert_int_eq(lv_snapshot(m, 1000000, NULL, &sum, &rows, &nrows, &err), 0);
	ck_assert_int_eq(rows[0].state, LV_SPIN);
	ck_assert_int_eq(lv_snapshot(m, 101000000, NULL, &sum, &rows, &nrows, &err), 0);
	ck_assert_uint_eq(nrows, 2);
	ck_assert_int_eq(rows[0].state, LV_IDLE);
	ck_assert(rows[0].wasted_rate == 0);
	ck_assert_uint_eq(sum.episodes_open, 0);
	lv_free(m);
}
END_TEST

START_TEST(test_model_bounded)
{
	struct lv_options o;
	struct lv_model *m;
	struct lv_summary sum;
	const struct lv_row *rows;
	size_t nrows;
	struct fs_err err;
	char buf[1024];
	uint32_t b;
	int64_t t = T0;

	lv_options_default(&o);
	o.max_rows = 100;
	o.linger_s = 1;
	fs_err_clear(&err);
	m = lv_new(&o, &err);
	ck_assert_int_eq(lv_add_source(m, NULL, &err), 0);
	/* 5000 distinct bmaps: never more than max_rows records. */
	for (b = 0; b < 5000; b++) {
		t += 100;
		emit(buf, sizeof(buf), 'w', t, b);
		feed_text(m, buf);
	}
	ck_assert_int_eq(lv_snapshot(m, 0, NULL, &sum, &rows, &nrows, &err), 0);
	ck_assert_uint_le(sum.tracked, 100);
	ck_assert_uint_eq(sum.lines, 10000);
	/* Clean ones go away once linger_s of log time passed. */
	t += 10000;
	emit(buf, sizeof(buf), 'c', t, 4999);
	feed_text(m, buf);
	t += 3 * 1000000;
	emit(buf, sizeof(buf), 'w', t, 7777);
	feed_text(m, buf);
	ck_assert_int_eq(lv_snapshot(m, 0, NULL, &sum, &rows, &nrows, &err), 0);
	ck_assert_uint_le(sum.tracked, 100);
	{
		size_t i;

		for (i = 0; i < nrows; i++)
			ck_assert_msg(rows[i].bno != 4999, "clean bmap kept past linger");
	}
	lv_free(m);
}
END_TEST

/* ---- batch mode of the command ---- */

struct child {
	pid_t pid;
	int in, out;		/* our ends: its stdin (or -1), its stdout */
};

/* Starts FS_BIN with argv; stdin a pipe when with_stdin. */
static void
spawn(struct child *c, char *const argv[], int with_stdin)
{
	int pin[2] = { -1, -1 }, pout[2];

	if (with_stdin)
		ck_assert_int_eq(pipe(pin), 0);
	ck_assert_int_eq(pipe(pout), 0);
	c->pid = fork();
	ck_assert_int_ge(c->pid, 0);
	if (c->pid == 0) {
		if (with_stdin) {
			dup2(pin[0], 0);
			close(pin[0]);
			close(pin[1]);
		} else {
			int nul = open("/dev/null", O_RDONLY);

			dup2(nul, 0);
			close(nul);
		}
		dup2(pout[1], 1);
		close(pout[0]);
		close(pout[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	if (with_stdin)
		close(pin[0]);
	close(pout[1]);
	c->in = with_stdin ? pin[1] : -1;
	c->out = pout[0];
}

/* Reads the child's stdout into buf until EOF or until stop is found after from. */
static size_t
read_out(struct child *c, char *buf, size_t cap, size_t have, const char *stop, int timeout_ms)
{
	struct pollfd p = { .fd = c->out, .events = POLLIN };
	ssize_t n;
	int waited = 0;

	while (have + 1 < cap && waited < timeout_ms) {
		if (poll(&p, 1, 50) <= 0) {
			waited += 50;
			continue;
		}
		n = read(c->out, buf + have, cap - have - 1);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		if (stop != NULL && strstr(buf, stop) != NULL)
			break;
	}
	buf[have] = '\0';
	return have;
}

/* The writer: a spin on bmap 9, useful work on bmap 4, one wasted cycle of 6. */
struct feed {
	int fd;			/* pipe or file */
	const char *path;	/* file: rotate to path.1 halfway */
	int lines;		/* out: lines written */
};

/* Builds the workload text: 40 passes; returns its line count. */
static int
workload(char *buf, size_t cap, int from, int to)
{
	int64_t t = T0;
	size_t o = 0;
	int pass, n = 0;

	buf[0] = '\0';
	for (pass = 0; pass < 40; pass++) {
		t += 2100;
		if (pass < from || pass >= to)
			continue;
		n += emit(buf + o, cap - o, 'u', t, 4);
		o = strlen(buf);
		n += emit(buf + o, cap - o, 'w', t + 100, 9);
		o = strlen(buf);
		if (pass == 5) {
			n += emit(buf + o, cap - o, 'w', t + 200, 6);
			o = strlen(buf);
		}
	}
	return n;
}

/* Writes the workload in uneven pieces (partial lines), with short pauses. */
static void *
feeder(void *arg)
{
	struct feed *f = arg;
	char *buf = malloc(1 << 20);
	size_t len, o = 0, k;

	f->lines = workload(buf, 1 << 20, 0, 40);
	len = strlen(buf);
	for (k = 1; o < len; k++) {
		size_t piece = 777 * k % 3000 + 1;

		if (piece > len - o)
			piece = len - o;
		if (write(f->fd, buf + o, piece) != (ssize_t)piece)
			break;
		o += piece;
		if (k % 4 == 0)
			usleep(2000);
	}
	free(buf);
	return NULL;
}

/* The last snapshot in out (starts at its last "flushscope top -" line). */
static const char *
last_snapshot(const char *out)
{
	const char *p = out, *q, *last = NULL;

	while ((q = strstr(p, "flushscope top - ")) != NULL) {
		last = q;
		p = q + 1;
	}
	return last;
}

/* The total in parentheses after label in a snapshot ("Wasted: 3/s (41)"); -1. */
static long
total_of(const char *snap, const char *label)
{
	const char *p = strstr(snap, label), *q;

	if (p == NULL || (q = strchr(p, '(')) == NULL)
		return -1;
	return strtol(q + 1, NULL, 10);
}

/* The first table row after the header of a snapshot. */
static void
first_row(const char *snap, char *row, size_t n)
{
	const char *h = strstr(snap, "FID:BNO"), *nl;

	row[0] = '\0';
	if (h == NULL || (nl = strchr(h, '\n')) == NULL)
		return;
	h = nl + 1;
	nl = strchr(h, '\n');
	snprintf(row, n, "%.*s", nl ? (int)(nl - h) : (int)strlen(h), h);
}

START_TEST(test_batch_stdin_writer)
{
	const char *bin = getenv("FS_BIN");
	char *argv[] = { (char *)bin, "top", "-b", "-d", "0.05", "--rows", "0", "-", NULL };
	struct child c;
	struct feed f;
	pthread_t th;
	char *out = malloc(1 << 20), row[512];
	const char *snap;
	int st;

	ck_assert_ptr_nonnull(bin);
	spawn(&c, argv, 1);
	f.fd = c.in;
	f.path = NULL;
	ck_assert_int_eq(pthread_create(&th, NULL, feeder, &f), 0);
	pthread_join(th, NULL);
	close(c.in);
	/* Input ended: top prints a final snapshot and exits by itself. */
	read_out(&c, out, 1 << 20, 0, NULL, 20000);
	ck_assert_int_eq(waitpid(c.pid, &st, 0), c.pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snap = last_snapshot(out);
	ck_assert_ptr_nonnull(snap);
	ck_assert_ptr_nonnull(strstr(snap, "input ended"));
	ck_assert_msg(total_of(snap, "Lines: ") == f.lines, "lines != %d:\n%s", f.lines, snap);
	ck_assert_msg(total_of(snap, "Events: ") == f.lines, "events != %d:\n%s", f.lines, snap);
	/* 40 wasted cycles of bmap 9, one of bmap 6. */
	ck_assert_msg(total_of(snap, "Wasted: ") == 41, "wasted total not 41:\n%s", snap);
	ck_assert_ptr_nonnull(strstr(snap, "Episodes: 1 open"));
	first_row(snap, row, sizeof(row));
	ck_assert_msg(strncmp(row, "80000002d907b:9 ", 16) == 0, "first row: %s", row);
	ck_assert_ptr_nonnull(strstr(row, "SPIN"));
	ck_assert_ptr_nonnull(strstr(row, " 40 "));
	ck_assert_ptr_nonnull(strstr(snap, "80000002d907b:4 "));
	ck_assert_ptr_nonnull(strstr(snap, "80000002d907b:6 "));
	free(out);
}
END_TEST

START_TEST(test_batch_follow_rotation)
{
	const char *bin = getenv("FS_BIN");
	char dir[64], path[128], rot[160];
	char *argv[] = { (char *)bin, "top", "-b", "-d", "0.05", "--poll", "10ms", "--history", "0",
	    path, NULL };
	char *buf = malloc(1 << 20), *out = malloc(1 << 21), row[512], expect[64];
	struct child c;
	const char *snap;
	int fd, n1, n2, st;
	size_t have;

	ck_assert_ptr_nonnull(bin);
	tu_mkdtemp(dir, sizeof(dir), "top");
	snprintf(path, sizeof(path), "%s/client.log", dir);
	snprintf(rot, sizeof(rot), "%s/client.log.1", dir);
	/* Old content before top starts: not counted (top starts at the end). */
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	n1 = workload(buf, 1 << 20, 0, 3);
	ck_assert_int_eq(write(fd, buf, strlen(buf)), (ssize_t)strlen(buf));
	spawn(&c, argv, 0);
	/* Wait for the first snapshot: top is following now. */
	have = read_out(&c, out, 1 << 21, 0, "FID:BNO", 20000);
	ck_assert_ptr_nonnull(strstr(out, "FID:BNO"));
	ck_assert_ptr_nonnull(strstr(out, "Lines: 0/s (0)"));
	/* First half, then rotate, then the second half in the new file. */
	n1 = workload(buf, 1 << 20, 3, 20);
	ck_assert_int_eq(write(fd, buf, strlen(buf)), (ssize_t)strlen(buf));
	close(fd);
	ck_assert_int_eq(rename(path, rot), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	n2 = workload(buf, 1 << 20, 20, 40);
	ck_assert_int_eq(write(fd, buf, strlen(buf)), (ssize_t)strlen(buf));
	close(fd);
	snprintf(expect, sizeof(expect), "Lines: 0/s (%d)", n1 + n2);
	/* Eventually a snapshot shows exactly every new line (then nothing moves). */
	have = read_out(&c, out, 1 << 21, have, expect, 20000);
	kill(c.pid, SIGTERM);
	read_out(&c, out, 1 << 21, have, NULL, 2000);
	ck_assert_int_eq(waitpid(c.pid, &st, 0), c.pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	snap = last_snapshot(out);
	ck_assert_ptr_nonnull(snap);
	ck_assert_msg(strstr(snap, expect) != NULL, "%s not in:\n%s", expect, snap);
	first_row(snap, row, sizeof(row));
	ck_assert_msg(strncmp(row, "80000002d907b:9 ", 16) == 0, "first row: %s", row);
	tu_rmtree(dir);
	free(buf);
	free(out);
}
END_TEST

/* Sums the lines of every source in a store. */
static int
sum_lines(void *arg, const union st_row *row_)
{
	const struct st_source *src = &row_->source;
	*(uint64_t *)arg += src->lines;
	return 0;
}

START_TEST(test_batch_db_records)
{
	const char *bin = getenv("FS_BIN");
	char dir[64], path[128], db[128], cmd[1024];
	char *buf = malloc(1 << 20);
	struct st_store *st;
	struct fs_err err;
	uint64_t lines = 0;
	int fd, n;

	ck_assert_ptr_nonnull(bin);
	tu_mkdtemp(dir, sizeof(dir), "topdb");
	snprintf(path, sizeof(path), "%s/client.log", dir);
	snprintf(db, sizeof(db), "%s/top.db", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	n = workload(buf, 1 << 20, 0, 40);
	ck_assert_int_eq(write(fd, buf, strlen(buf)), (ssize_t)strlen(buf));
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s top -b -n 1 -d 0.1 --db %s %s > /dev/null", bin, db, path);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 0);
	fs_err_clear(&err);
	st = st_open(db, ST_OPEN_READONLY, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	ck_assert_int_eq(tu_walk(st, ST_SOURCES, NULL, sum_lines, &lines), 0);
	ck_assert_uint_eq(lines, (uint64_t)n);
	st_close(st);
	/* stdin cannot be recorded: a usage error. */
	snprintf(cmd, sizeof(cmd), "%s top -b --db %s - < /dev/null > /dev/null 2>&1", bin, db);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
	tu_rmtree(dir);
	free(buf);
}
END_TEST

START_TEST(test_usage_errors)
{
	const char *bin = getenv("FS_BIN");
	char cmd[1024];

	ck_assert_ptr_nonnull(bin);
	snprintf(cmd, sizeof(cmd), "%s top -b >/dev/null 2>&1", bin);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "%s top -b -d nope x >/dev/null 2>&1", bin);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "%s top -b --sort nope x >/dev/null 2>&1", bin);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "%s top -b /nonexistent/client.log 2>&1 | "
	    "grep -q /nonexistent/client.log", bin);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 0);
	snprintf(cmd, sizeof(cmd), "%s top -b /nonexistent/client.log >/dev/null 2>&1", bin);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 3);
	snprintf(cmd, sizeof(cmd), "%s help top | grep -q 'usage: flushscope top'", bin);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 0);
}
END_TEST

Suite *top_suite(void);

Suite *
top_suite(void)
{
	Suite *s = suite_create("top");
	TCase *tc = tcase_create("model");
	TCase *tb = tcase_create("batch");

	tcase_add_loop_test(tc, test_model_cases, 0, (int)(sizeof(lv_cases) / sizeof(lv_cases[0])));
	tcase_add_test(tc, test_model_seed);
	tcase_add_loop_test(tc, test_model_matches_truth, 0, 2);
	tcase_add_test(tc, test_model_quiet_log_decays);
	tcase_add_test(tc, test_model_bounded);
	tcase_add_test(tb, test_batch_stdin_writer);
	tcase_add_test(tb, test_batch_follow_rotation);
	tcase_add_test(tb, test_batch_db_records);
	tcase_add_test(tb, test_usage_errors);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tb);
	return s;
}
