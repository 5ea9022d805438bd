/*
 * tests/check_source.c: parallel reading (parsers/source.c, jobs >= 2)
 * yields exactly the items of the sequential path (jobs = 1): every field
 * of every item and of its event (attribution included), the formats seen
 * after each item, the offset at the end and the error, if any, with its
 * line number.  Inputs: every log of testdata/, testdata/bad/ and
 * testdata/synth/ (forced flushes once per biorq, era-Z bwc pairing; plain
 * and gzip, truncated and corrupt gzip among them), a generated era-A log,
 * and made-up ones that break chunks everywhere: CRLF, empty lines, lines
 * longer than a chunk, lines past the line limit (ended or not by a
 * newline), formats that change mid-file (so chunks parsed ahead from a
 * stale parser state must be parsed again), an unterminated last line.
 * Small chunk sizes and line limits (ps_source_tune) put those cases at
 * chunk boundaries.
 */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tests/testutil.h"
#include "parsers/header.h"
#include "parsers/parser.h"
#include "parsers/source.h"

Suite *source_suite(void);

static char tmpdir[256];

/* A path in the temporary directory. */
#define tp(slot, name) tu_path(tmpdir, (slot), (name))

/* Creates a private temporary directory. */
static void
setup(void)
{
	tu_mkdtemp(tmpdir, sizeof(tmpdir), "source");
}

/* Removes it. */
static void
teardown(void)
{
	tu_rmtree(tmpdir);
}

/* A growable string. */
struct buf {
	char *p;
	size_t n, cap;
};

/* Appends n bytes. */
static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* Appends printf output. */
static void
buf_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
buf_fmt(struct buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	ck_assert_int_lt(n, (int)sizeof(tmp));
	buf_add(b, tmp, (size_t)n);
}

/* A slice of the line as (offset in the line, length); (-1, 0) when empty. */
static void
slice(struct buf *b, const struct ps_item *it, struct ps_str s)
{
	if (s.p == NULL)
		buf_fmt(b, " -");
	else
		buf_fmt(b, " %td+%zu", s.p - it->line, s.n);
}

/* Everything an item says, as one line of text. */
static void
describe(struct buf *b, const struct ps_source *src, const struct ps_item *it)
{
	const struct ps_event *e = &it->ev;

	buf_fmt(b, "%" PRIu64 " %" PRIu64 "-%" PRIu64 " len %zu u%d c%d p%d fmts %d |",
	    it->lineno, it->off, it->end, it->len, it->unterminated, it->cut, it->parsed,
	    ps_parser_nformats(ps_source_parser(src)));
	for (size_t i = 0; i < it->len; i++) {
		/* NUL bytes would end the text: escaped */
		if (it->line[i] == '\0' || it->line[i] == '\\')
			buf_add(b, it->line[i] ? "\\\\" : "\\0", 2);
		else
			buf_add(b, it->line + i, 1);
	}
	buf_fmt(b, "| k%d m%d h%u off%" PRIu64 " ln%" PRIu64 " ts%" PRId64 " tid%" PRIu64
	    " sl%d lv%d", e->kind, e->msg_id, e->has, e->src_off, e->lineno, e->ts_us, e->tid,
	    e->srcline, e->level);
	slice(b, it, e->thread);
	slice(b, it, e->tid_s);
	slice(b, it, e->subsys);
	slice(b, it, e->file);
	slice(b, it, e->func);
	slice(b, it, e->host);
	slice(b, it, e->msg);
	buf_fmt(b, " bmap %" PRIx64 " %" PRIx64 " %u %u %d %d", e->bmap.addr, e->bmap.fid,
	    e->bmap.bno, e->bmap.flags, e->bmap.opcnt, e->bmap.dirty);
	buf_fmt(b, " biorq %" PRIx64 " %" PRIx64 " %u %u %u", e->biorq.addr, e->biorq.bmap_addr,
	    e->biorq.off, e->biorq.len, e->biorq.flags);
	buf_fmt(b, " bmpce %" PRIx64 " %u %u req %" PRIx64 " %" PRId64 " %d", e->bmpce.addr,
	    e->bmpce.off, e->bmpce.flags, e->req.addr, e->req.xid, e->req.opc);
	buf_fmt(b, " o%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRIx64 " %d %d %d %"
	    PRId64 " %d %" PRId64 " %d", e->outstanding, e->rpc_off, e->rpc_sz, e->rpc_rc,
	    e->rpc_fid, e->rpc_bno, e->wake_reason, e->woke, e->alarm_us, e->biorq_expired,
	    e->run_size, e->run_nbiorqs);
	buf_fmt(b, " bwc %" PRIx64, e->bwc_addr);
	buf_fmt(b, " bm %d %" PRIx64 " %u thr %d f%d\n", e->bm_known, e->bm_fid, e->bm_bno,
	    e->thr, e->forced);
}

/*
 * Reads path through a source with jobs threads (chunk size and line
 * limit as given; 0 = defaults) into one text: every item, then how it
 * ended (0 or the error), the final offset and the formats seen.
 */
static char *
read_all(const char *path, int jobs, size_t chunk, size_t max_line)
{
	struct ps_source *src;
	struct ps_item it;
	struct fs_err err;
	struct buf b = { NULL, 0, 0 };
	int rc, i;

	fs_err_clear(&err);
	src = ps_source_open(path, NULL, jobs, &err);
	if (src == NULL) {
		buf_fmt(&b, "open: %s\n", err.msg);
		return b.p;
	}
	ps_source_tune(src, chunk, max_line);
	while ((rc = ps_source_next(src, &it, &err)) == 1)
		describe(&b, src, &it);
	buf_fmt(&b, "end %d %s offset %" PRIu64 " gz %d\n", rc, rc < 0 ? err.msg : "",
	    ps_source_offset(src), ps_source_is_gz(src));
	for (i = 0; i < ps_parser_nformats(ps_source_parser(src)); i++)
		buf_fmt(&b, "format %s\n", ps_parser_format(ps_source_parser(src), i));
	ps_source_close(src);
	return b.p;
}

/* Chunk sizes and line limits (0: defaults) tried: all, or the first few for big inputs. */
static const size_t tunings[][2] = {
	{ 0, 0 }, { 4096, 0 }, { 64, 0 }, { 1000, 300 }, { 256, 100 }, { 64, 1 },
};
#define ALL_TUNINGS	(sizeof(tunings) / sizeof(tunings[0]))

/* The parallel readings compared with jobs 1: two parser threads, three. */
static const int par_jobs[] = { 2, 3 };

/* Asserts that two and three parser threads read path as jobs 1 does, with the first nt tunings. */
static void
assert_same(const char *path, size_t nt)
{
	size_t t, j;
	int jobs;

	for (t = 0; t < nt; t++) {
		char *want = read_all(path, 1, tunings[t][0], tunings[t][1]);

		ck_assert_msg(strstr(want, "\nend ") != NULL || strncmp(want, "end ", 4) == 0 ||
		    strncmp(want, "open: ", 6) == 0, "%s: %s", path, want);
		for (j = 0; j < sizeof(par_jobs) / sizeof(par_jobs[0]); j++) {
			char *got = read_all(path, jobs = par_jobs[j], tunings[t][0], tunings[t][1]);

			if (strcmp(got, want) != 0) {
				size_t k = 0;

				while (got[k] == want[k])
					k++;
				while (k > 0 && want[k - 1] != '\n')
					k--;
				ck_abort_msg("%s, jobs %d, chunk %zu, max line %zu: differs from "
				    "jobs 1 at:\n  jobs 1: %.300s\n  jobs %d: %.300s", path, jobs,
				    tunings[t][0], tunings[t][1], want + k, jobs, got + k);
			}
			free(got);
		}
		free(want);
	}
}

/* Every log under testdata/, testdata/bad/ and testdata/synth/ (plain and .gz). */
START_TEST(testdata_logs)
{
	static const char *const dirs[] = { "", "bad", "synth" };
	char dir[512], path[1024];
	int d, n = 0;

	for (d = 0; d < 3; d++) {
		DIR *dp;
		struct dirent *de;

		snprintf(dir, sizeof(dir), "%s/%s", tu_testdata_dir(), dirs[d]);
		ck_assert_ptr_nonnull(dp = opendir(dir));
		while ((de = readdir(dp)) != NULL) {
			size_t l = strlen(de->d_name);

			if (!(l > 4 && strcmp(de->d_name + l - 4, ".log") == 0) &&
			    !(l > 7 && strcmp(de->d_name + l - 7, ".log.gz") == 0))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			assert_same(path, ALL_TUNINGS);
			n++;
		}
		closedir(dp);
	}
	ck_assert_int_ge(n, 10);
}
END_TEST

static const char era_a[] = "[1282327206:161331 msbflushthr:23667:bmap:bmap_flush:639] "
    "bmap@0x881330 b:1 m:8259 i:80000002d907b opcnt=65 try flush (outstandingRpcCnt=75)";
static const char era_a2[] = "[1282327206:161360 msbflushthr:23667:gen:bmap_flush:706] "
    "biorq@0x7f95c4084730 fl=530 o=0 l=131072 np=4 b=0x881330 ts=1282327206:4244000 wsR "
    "try flush";
static const char era_a3[] = "[1282327206:161370 msbflushthr:23667:rpc:bmap_flush_send_rpcs:"
    "410] req@0x7f95c40f0010 x1234 o10->0x0 off=0 sz=131072 op=1 :: sent";
static const char head_z[] = "[1547659910.15902000 msflushthr5:7f1c1affd700:bmap bflush.c "
    "bmap_flush 1194] bmap@0x7f1be4021c30 bno:0 flg:0x406:WL+ fid:0x000000000026c80d "
    "opcnt=3 : flushable? (outstandingRpcCnt=0)";
static const char syslog_a[] = "Aug 20 12:40:06 client1 mount_slash[23650]: "
    "[1282327206:161390 msbflushthr:23667:bmap:bmap_flush:754] bmap@0x881330 b:1 m:8259 "
    "i:80000002d907b opcnt=65 restore to dirty list";
static const char local_fmt[] = "[1282327206.161400 junk msbflushthr:7f1c1affd700:bmap "
    "bmap_flush bflush.c 639] bmap@0x881330 b:1 m:8259 i:80000002d907b opcnt=65 try flush";

/* Appends a line (and its terminator) to b. */
static void
line(struct buf *b, const char *s, const char *term)
{
	buf_add(b, s, strlen(s));
	buf_add(b, term, strlen(term));
}

/* Writes b to path, gzip-compressed (level 1) if gz. */
static void
write_file(const char *path, const struct buf *b, int gz)
{
	if (gz) {
		gzFile g = gzopen(path, "wb1");

		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(gzwrite(g, b->n > 0 ? b->p : "", (unsigned)b->n), (int)b->n);
		ck_assert_int_eq(gzclose(g), Z_OK);
	} else
		tu_spit(path, "w", b->n > 0 ? b->p : "", b->n);
}

/*
 * Made-up inputs (each plain and gzip): _i / 2 picks the case, _i % 2
 * the compression.
 */
START_TEST(made_up)
{
	struct buf b = { NULL, 0, 0 };
	char *longl;
	int k, c = _i / 2;
	const char *path = tp(0, _i % 2 ? "m.log.gz" : "m.log");

	longl = malloc(5001);
	ck_assert_ptr_nonnull(longl);
	memset(longl, 'y', 5000);
	longl[5000] = '\0';
	switch (c) {
	case 0:	/* lines of every kind, CRLF, empty, long, cut; unterminated end */
		for (k = 0; k < 150; k++) {
			line(&b, era_a, k % 7 == 0 ? "\r\n" : "\n");
			line(&b, era_a2, "\n");
			line(&b, era_a3, "\n");
			if (k % 11 == 0)
				line(&b, "", "\n");
			if (k % 13 == 0)
				line(&b, "\r", "\n");
			if (k % 17 == 0)
				line(&b, longl, k % 2 ? "\n" : "\r\n");
			if (k % 19 == 0)
				line(&b, "not a log line at all", "\n");
		}
		line(&b, era_a, "");
		break;
	case 1:	/* formats that change every few hundred lines, and per line */
		for (k = 0; k < 1000; k++) {
			int blk = k / 80;

			line(&b, blk % 3 == 0 ? era_a : blk % 3 == 1 ? head_z : syslog_a, "\n");
			if (k > 800)
				line(&b, k % 2 ? head_z : era_a2, "\n");
			if (k == 500)
				line(&b, local_fmt, "\n");
		}
		break;
	case 2:	/* a long last line without a newline */
		for (k = 0; k < 50; k++)
			line(&b, era_a, "\n");
		line(&b, longl, "");
		break;
	case 3:	/* a long last line, and no other */
		line(&b, longl, "\r");
		break;
	case 4:	/* only newlines */
		for (k = 0; k < 2000; k++)
			line(&b, "", "\n");
		break;
	default:	/* empty */
		break;
	}
	write_file(path, &b, _i % 2);
	assert_same(path, ALL_TUNINGS);
	free(b.p);
	free(longl);
}
END_TEST

/* A generated era-A log (20 000 lines, several default-size chunks). */
START_TEST(generated)
{
	const char *gen = tu_gen_era_a();
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "%s -n 20000 -s 3 > '%s'", gen, tp(0, "g.log"));
	ck_assert_int_eq(system(cmd), 0);
	assert_same(tp(0, "g.log"), 2);
}
END_TEST

/*
 * A gzip file cut short: the same lines, then the same error at the same
 * line.  Its decompressed size passes the reader's first buffer, so small
 * chunks read it in small pieces (inflate then stops in the middle of a
 * match; the bytes it still holds at the cut are lines too).
 */
START_TEST(truncated_gz)
{
	struct buf b = { NULL, 0, 0 };
	char *gz;
	size_t n;
	int k;

	for (k = 0; k < 20000; k++)
		line(&b, k % 2 ? era_a : era_a2, "\n");
	write_file(tp(0, "t.log.gz"), &b, 1);
	gz = tu_slurp(tp(0, "t.log.gz"), &n);
	tu_spit(tp(1, "cut.log.gz"), "w", gz, n / 2);
	assert_same(tp(1, "cut.log.gz"), 3);
	{
		char *r = read_all(tp(1, "cut.log.gz"), 2, 0, 0);

		ck_assert_msg(strstr(r, "truncated gzip data") != NULL, "%.300s",
		    r + (strlen(r) > 300 ? strlen(r) - 300 : 0));
		free(r);
	}
	free(gz);
	free(b.p);
}
END_TEST

/* A source closed before its end stops its threads (no leak, no hang). */
START_TEST(close_early)
{
	struct buf b = { NULL, 0, 0 };
	struct ps_source *src;
	struct ps_item it;
	struct fs_err err;
	int k;

	for (k = 0; k < 50000; k++)
		line(&b, era_a, "\n");
	write_file(tp(0, "e.log"), &b, 0);
	for (k = 0; k < 20; k++) {
		int n = 0;

		src = ps_source_open(tp(0, "e.log"), NULL, 2, &err);
		ck_assert_ptr_nonnull(src);
		ps_source_tune(src, 1024, 0);
		while (n < k * 37 && ps_source_next(src, &it, &err) == 1)
			n++;
		ps_source_close(src);
	}
	free(b.p);
}
END_TEST

/*
 * bench/ingest.sh times pcre2grep with the header regex of era A's default
 * format: it must be the pattern the parser compiles for that format.
 */
START_TEST(bench_regex)
{
	const char *src = getenv("FS_SRCDIR");
	char path[1024], *sh, *p, *q;
	struct ps_header *h;
	struct fs_err err;

	snprintf(path, sizeof(path), "%s/bench/ingest.sh", src != NULL ? src : ".");
	sh = tu_slurp(path, NULL);
	ck_assert_ptr_nonnull(p = strstr(sh, "\nHEADER_RE='"));
	p += strlen("\nHEADER_RE='");
	ck_assert_ptr_nonnull(q = strchr(p, '\''));
	*q = '\0';
	h = ps_header_compile("[%s:%06u %n:%i:%T:%F:%l] ", &err);
	ck_assert_msg(h != NULL, "%s", err.msg);
	ck_assert_str_eq(p, ps_header_pattern(h));
	ps_header_free(h);
	free(sh);
}
END_TEST

/* The thread number the stream gives a line of thread name:tid. */
static int32_t
thread_no(struct ps_stream *st, const char *name, const char *tid)
{
	char line[256];
	struct ps_event ev;
	int n = snprintf(line, sizeof(line), "[1282327206:002074 %s:%s:bmap:bmap_flush:639] "
	    "restore to dirty list", name, tid);

	ck_assert_int_eq(ps_stream_line(st, line, (size_t)n, 0, 1, &ev), 1);
	ck_assert(ev.thread.n == strlen(name) && ev.tid_s.n == strlen(tid));
	return ev.thr;
}

/*
 * Threads are told apart by every byte of their name and tid, whatever
 * their lengths (1 to 20 bytes: the comparison reads up to 16 in words,
 * ends overlapping): a name or tid changed in any one byte is another
 * thread, and the original is still its own.
 */
START_TEST(thread_numbers)
{
	static const char base[] = "abcdefghijklmnopqrst";
	static const char digits[] = "12345678901234567890";
	struct fs_err err;
	struct ps_stream *st = ps_stream_new(NULL, &err);
	size_t len, i;

	ck_assert_ptr_nonnull(st);
	for (len = 1; len <= 20; len++) {
		char name[32], tid[32], alt[32];
		int32_t t0;

		memcpy(name, base, len);
		name[len] = '\0';
		memcpy(tid, digits, len);
		tid[len] = '\0';
		t0 = thread_no(st, name, tid);
		ck_assert_int_ge(t0, 0);
		for (i = 0; i < len; i++) {
			memcpy(alt, name, len + 1);
			alt[i] = 'Z';
			ck_assert_msg(thread_no(st, alt, tid) != t0, "name %s vs %s", alt, name);
			ck_assert_int_eq(thread_no(st, name, tid), t0);
			memcpy(alt, tid, len + 1);
			alt[i] = alt[i] == '9' ? '0' : (char)(alt[i] + 1);
			ck_assert_msg(thread_no(st, name, alt) != t0, "tid %s vs %s", alt, tid);
			ck_assert_int_eq(thread_no(st, name, tid), t0);
		}
	}
	ps_stream_free(st);
}
END_TEST

/*
 * The default parser threads follow the cores this process may run on,
 * less those the command keeps busy: one core reads sequentially, and so
 * does ingest (one core busy) on two, where spins has two threads; never
 * more than PS_JOBS_MAX_USEFUL.
 */
START_TEST(jobs_default)
{
	cpu_set_t all, one;
	int n, busy;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(all), &all), 0);
	n = CPU_COUNT(&all);
	for (busy = 0; busy <= 2; busy++) {
		int want = n - busy <= 1 ? 1 : n - busy > PS_JOBS_MAX_USEFUL ?
		    PS_JOBS_MAX_USEFUL : n - busy;

		ck_assert_int_eq(ps_jobs_default(busy), want);
	}
	CPU_ZERO(&one);
	for (n = 0; !CPU_ISSET(n, &all); n++)
		;
	CPU_SET(n, &one);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(one), &one), 0);	/* this test's fork */
	ck_assert_int_eq(ps_jobs_default(0), 1);
	ck_assert_int_eq(ps_jobs_default(1), 1);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(all), &all), 0);
}
END_TEST

/* Builds the source suite. */
Suite *
source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("jobs");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, testdata_logs);
	tcase_add_loop_test(tc, made_up, 0, 12);
	tcase_add_test(tc, generated);
	tcase_add_test(tc, truncated_gz);
	tcase_add_test(tc, close_early);
	tcase_add_test(tc, bench_regex);
	tcase_add_test(tc, jobs_default);
	tcase_add_test(tc, thread_numbers);
	suite_add_tcase(s, tc);
	return s;
}
