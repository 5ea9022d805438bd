/*
 * tests/check_hardening.c: flushscope on bad input and under faults, run
 * through the real binary (FS_BIN).
 *
 *   - every file of testdata/bad/, plus a 10 MB line and a format change
 *     mid-file generated here: exit status, counts (JSON summary and the
 *     sources row) and the message naming file and line;
 *   - regressions for the fuzzers' finds (overflowing numbers);
 *   - SIGKILL at random points then resume: PRAGMA integrity_check and a
 *     dump equal to an uninterrupted ingest (FS_FAULT_RUNS kills, 30 by
 *     default with a fixed seed; `make check-faults` runs 500);
 *   - file size limit (disk full), read-only database file and directory,
 *     a database locked by another writer, a reader open during ingest;
 *   - peak RSS of a long stream through ingest (FS_RSS_LINES lines, 1 M by
 *     default; `make check-long` runs 50 M).
 */
#include <check.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "parsers/header.h"
#include "parsers/parser.h"
#include "store/store.h"

Suite *hardening_suite(void);

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1	/* peak RSS then measures the sanitizer */
#else
#define UNDER_SANITIZER 0
#endif

/* Child set-up flags for run_opt(). */
#define RO_NOBODY	(1 << 0)	/* drop root to nobody (so file modes bite) */
#define RO_FSIZE	(1 << 1)	/* RLIMIT_FSIZE of 1 MB: a full disk */
#define RO_ASLIMIT	(1 << 2)	/* RLIMIT_AS of as_limit bytes: out of memory */

static rlim_t as_limit;

static char tmpdir[256];

/* A path in the temporary directory. */
#define tp(slot, name) tu_path(tmpdir, (slot), (name))

/* Creates a private temporary directory. */
static void
setup(void)
{
	tu_mkdtemp(tmpdir, sizeof(tmpdir), "hard");
}

/* Removes it. */
static void
teardown(void)
{
	tu_rmtree(tmpdir);
}

/* An integer from the environment, or def. */
static long
env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : def;
}

/* Writes `copies` copies of testdata/sample.log to path. */
static void
make_log(const char *path, int copies)
{
	size_t n;
	char *data = tu_slurp(tu_testdata("sample.log"), &n);
	int i;

	tu_spit(path, "w", "", 0);
	for (i = 0; i < copies; i++)
		tu_spit(path, "a", data, n);
	free(data);
}

/*
 * Starts FS_BIN with args (NULL-terminated), stdin from in (or /dev/null),
 * stdout/stderr into out/err of the temp dir, after the set-up in flags.
 * Returns the pid.
 */
static pid_t
start_opt(int flags, const char *in, const char *const *args)
{
	const char *argv[32];
	pid_t pid;
	int n = 0;

	/* nobody may not reach the build tree (a clone under a 0700 directory):
	 * run the copy the test put in the temporary directory */
	argv[n++] = (flags & RO_NOBODY) ? tp(6, "fs") : tu_fsbin();
	while (*args != NULL && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	if ((pid = fork()) == 0) {
		int fd0 = open(in ? in : "/dev/null", O_RDONLY);
		int fd1 = open(tp(7, "out"), O_WRONLY | O_CREAT | O_TRUNC, 0666);
		int fd2 = open(tp(7, "err"), O_WRONLY | O_CREAT | O_TRUNC, 0666);

		dup2(fd0, 0);
		dup2(fd1, 1);
		dup2(fd2, 2);
		if (flags & RO_FSIZE) {
			struct rlimit rl = { 1u << 20, 1u << 20 };

			signal(SIGXFSZ, SIG_IGN);
			setrlimit(RLIMIT_FSIZE, &rl);
		}
		if (flags & RO_ASLIMIT) {
			struct rlimit rl = { as_limit, as_limit };

			setrlimit(RLIMIT_AS, &rl);
		}
		if ((flags & RO_NOBODY) && geteuid() == 0 &&
		    (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	return pid;
}

/* Waits for pid; returns its exit status (128+signal if killed). */
static int
wait_status(pid_t pid, struct rusage *ru)
{
	struct rusage r;
	int st;

	ck_assert_int_eq(wait4(pid, &st, 0, ru ? ru : &r), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs FS_BIN to completion; returns its exit status. */
static int
run_opt(int flags, const char *in, const char *const *args)
{
	return wait_status(start_opt(flags, in, args), NULL);
}

#define RUN(...) run_opt(0, NULL, (const char *const[]){ __VA_ARGS__, NULL })
#define RUNF(fl, ...) run_opt(fl, NULL, (const char *const[]){ __VA_ARGS__, NULL })

/*
 * Asserts that PRAGMA integrity_check of db says "ok" (sqlite3 CLI); a
 * server database: that it opens and reads whole.
 */
static void
assert_integrity(const char *db)
{
	char cmd[700], out[256] = "";
	FILE *p;

	if (st_is_server(db)) {
		free(tu_dump_db(db));
		return;
	}
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA integrity_check' 2>&1", db);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	if (fgets(out, sizeof(out), p) == NULL)
		out[0] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_msg(strcmp(out, "ok\n") == 0, "%s: integrity_check: %s", db, out);
}

/* Asserts that the captured stdout (slot "out") or stderr ("err") contains s. */
static void
cap_has(const char *which, const char *s)
{
	char *o = tu_slurp(tp(7, which), NULL);

	ck_assert_msg(strstr(o, s) != NULL, "std%s lacks '%s':\n%.2000s", which, s, o);
	free(o);
}

/* Asserts that the captured stderr is empty. */
static void
err_empty(void)
{
	char *e = tu_slurp(tp(7, "err"), NULL);

	ck_assert_msg(e[0] == '\0', "unexpected stderr:\n%.2000s", e);
	free(e);
}

/* Callback of tu_walk: keeps the last source. */
static int
keep_source(void *arg, const union st_row *row_)
{
	const struct st_source *s = &row_->source;
	*(struct st_source *)arg = *s;
	return 0;
}

/* The only (or last) source row of db; 0 if there is none. */
static int
last_source(const char *db, struct st_source *out)
{
	struct fs_err err;
	struct st_store *st = st_open(db, ST_OPEN_READONLY, &err);

	ck_assert_msg(st != NULL, "%s", err.msg);
	memset(out, 0, sizeof(*out));
	out->id = 0;
	ck_assert_int_eq(tu_walk(st, ST_SOURCES, NULL, keep_source, out), 0);
	st_close(st);
	return out->id != 0;
}

/* ---- the bad-input corpus ---- */

/*
 * One case: the input, the expected exit status, lines and unparsed lines
 * stored, events by kind (OTHER, WRITE_READY, EXAMINE, SCHEDULE, RPC_SEND,
 * RPC_DONE, REQUEUE, CLEAN, WAKE, PASS), the first unparsed line (0 =
 * none), the number of header formats, the message expected on stderr
 * ("" = stderr empty) and the unterminated last lines held back (a plain
 * file's last line without a newline is left for a later run; --final
 * stores it).  gen builds inputs too large or too odd to commit.
 */
struct bad_case {
	const char *file;	/* in testdata/bad/, or a generated name */
	int (*gen)(const char *path);
	const char *opt;	/* an extra ingest option, or NULL */
	int status;
	int lines, unparsed;
	int ev[PS_EV_NKINDS];
	int sample_line;
	int nformats;
	const char *msg;	/* "%s" is replaced by the path */
	int held;		/* unterminated last lines held back */
	int no_db;		/* refused before the database is created */
};

static const char line_a1[] = "[1282327206:161331 msbflushthr:23667:bmap:bmap_flush:639] "
    "bmap@0x881330 b:1 m:8259 i:80000002d907b opcnt=65 try flush (outstandingRpcCnt=75)\n";
static const char line_a2[] = "[1282327206:161360 msbflushthr:23667:bmap:bmap_flush:754] "
    "bmap@0x881330 b:1 m:8259 i:80000002d907b opcnt=65 restore to dirty list\n";
static const char line_z1[] = "[1547659910.15902000 msflushthr5:7f1c1affd700:bmap bflush.c "
    "bmap_flush 765]bmap@0x881330 bno:1 flg:0x30006:WL+ fid:0x00080000002d907b opcnt=4 : "
    "flushable?\n";

/* A 10 MB message between two good lines. */
static int
gen_10mb_line(const char *path)
{
	size_t n = 10u << 20;
	char *big = malloc(n);

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', n);
	tu_spit(path, "w", line_a1, strlen(line_a1));
	tu_spit(path, "a", "[1282327206:161331 msbflushthr:23667:bmap:bmap_flush:639] ", 59);
	tu_spit(path, "a", big, n);
	tu_spit(path, "a", "\n", 1);
	tu_spit(path, "a", line_a2, strlen(line_a2));
	free(big);
	return 0;
}

/* 10 MB with no newline at all and no header: one unparsed line. */
static int
gen_10mb_garbage(const char *path)
{
	size_t n = 10u << 20;
	char *big = malloc(n);

	ck_assert_ptr_nonnull(big);
	memset(big, 'y', n);
	tu_spit(path, "w", big, n);
	free(big);
	return 0;
}

/* Three era-A lines, then the daemon restarted with the era-Z format. */
static int
gen_format_change(const char *path)
{
	int i;

	tu_spit(path, "w", "", 0);
	for (i = 0; i < 3; i++)
		tu_spit(path, "a", line_a1, strlen(line_a1));
	for (i = 0; i < 3; i++)
		tu_spit(path, "a", line_z1, strlen(line_z1));
	return 0;
}

#define FMT_A "[%s:%06u %n:%i:%T:%F:%l] "

static const struct bad_case bad_cases[] = {
	/* file, gen, opt, status, lines, unparsed, events, sample line, formats, msg, held */
	/* no SLASH2 log line in the first lines: refused, nothing created */
	{ "empty.log", NULL, NULL, 3, 0, 0, { 0 }, 0, 0, "flushscope ingest: %s: no SLASH2 log "
	    "line found (the file is empty); nothing stored (--force ingests it as unparsed "
	    "lines)", 0, 1 },
	{ "empty.log", NULL, "--force", 0, 0, 0, { 0 }, 0, 0, "", 0, 0 },
	{ "truncated-last-line.log", NULL, NULL, 0, 2, 0, { 0, 0, 1, 0, 0, 0, 1 }, 0, 1, "", 1, 0 },
	{ "truncated-last-line.log", NULL, "--final", 0, 3, 0, { 1, 0, 1, 0, 0, 0, 1 }, 0, 1,
	    "", 0, 0 },
	{ "nul-bytes.log", NULL, NULL, 0, 3, 1, { 0, 0, 2 }, 2, 1, "", 0, 0 },
	{ "invalid-utf8.log", NULL, NULL, 0, 2, 1, { 0, 0, 1 }, 2, 1, "", 0, 0 },
	{ "crlf.log", NULL, NULL, 0, 2, 0, { 0, 0, 1, 0, 0, 0, 1 }, 0, 1, "", 0, 0 },
	{ "mixed-formats.log", NULL, NULL, 0, 3, 0, { 0, 0, 2, 0, 0, 0, 1 }, 0, 2, "", 0, 0 },
	{ "time-backwards.log", NULL, NULL, 0, 2, 0, { 0, 0, 1, 0, 0, 0, 1 }, 0, 1, "", 0, 0 },
	{ "duplicated-lines.log", NULL, NULL, 0, 4, 0, { 0, 0, 2, 0, 0, 0, 2 }, 0, 1, "", 0, 0 },
	{ "unparsed-line.log", NULL, NULL, 0, 3, 1, { 0, 0, 1, 0, 0, 0, 1 }, 2, 1, "", 0, 0 },
	{ "good.log.gz", NULL, NULL, 0, 2, 0, { 0, 0, 1, 0, 0, 0, 1 }, 0, 1, "", 0, 0 },
	{ "truncated.log.gz", NULL, NULL, 3, 0, 0, { 0 }, 0, 0,
	    "flushscope ingest: %s:1: truncated gzip data (unexpected end of file)", 0, 1 },
	{ "corrupt.log.gz", NULL, NULL, 3, 0, 0, { 0 }, 0, 0,
	    "flushscope ingest: %s:1: corrupt gzip data (invalid bit length repeat)", 0, 1 },
	{ "line-10mb.log", gen_10mb_line, NULL, 0, 3, 0, { 1, 0, 1, 0, 0, 0, 1 }, 0, 1, "", 0, 0 },
	{ "garbage-10mb.log", gen_10mb_garbage, NULL, 3, 0, 0, { 0 }, 0, 0, "flushscope ingest: "
	    "%s: no SLASH2 log line found (in the first 1 line); nothing stored", 0, 1 },
	{ "garbage-10mb.log", gen_10mb_garbage, "--force", 0, 0, 0, { 0 }, 0, 0, "", 1, 0 },
	{ "format-change.log", gen_format_change, NULL, 0, 6, 0, { 0, 0, 6 }, 0, 2, "", 0, 0 },
	/* the same with the format forced: the era-Z half is unparsed, from line 4 */
	{ "format-change.log", gen_format_change, "--log-format=" FMT_A, 0, 6, 3, { 0, 0, 3 },
	    4, 1, "", 0, 0 },
};

/* Ingests one bad input and asserts status, counts, stored rows and message. */
START_TEST(bad_corpus)
{
	const struct bad_case *c = &bad_cases[_i];
	const char *db = tp(0, "bad.db");
	char path[512], want[1024], evs[512];
	const char *in;
	struct st_source src;
	int k, n, rc;

	if (c->gen != NULL) {
		snprintf(path, sizeof(path), "%s", tp(1, c->file));
		c->gen(path);
	} else
		snprintf(path, sizeof(path), "%s/bad/%s", tu_testdata_dir(), c->file);
	in = path;
	if (c->opt != NULL)
		rc = RUN("ingest", "-d", db, "--format=json", c->opt, in);
	else
		rc = RUN("ingest", "-d", db, "--format=json", in);
	ck_assert_msg(rc == c->status, "%s: exit %d, want %d", c->file, rc, c->status);
	if (c->msg[0] == '\0')
		err_empty();
	else {
		snprintf(want, sizeof(want), c->msg, in);
		cap_has("err", want);
	}
	if (c->status == 0) {
		/* the JSON summary: counts, events by kind, first unparsed line */
		n = snprintf(evs, sizeof(evs), "{\"lines\":%d,\"unparsed\":%d,\"events\":{",
		    c->lines, c->unparsed);
		for (k = 0; k < PS_EV_NKINDS; k++)
			n += snprintf(evs + n, sizeof(evs) - (size_t)n, "%s\"%s\":%d",
			    k ? "," : "", ps_ev_kind_name((enum ps_ev_kind)k), c->ev[k]);
		cap_has("out", evs);
		if (c->sample_line > 0) {
			snprintf(want, sizeof(want), "\"unparsed_sample\":{\"file\":\"%s\","
			    "\"line\":%d,", in, c->sample_line);
			cap_has("out", want);
		} else
			cap_has("out", "\"unparsed_sample\":null");
		snprintf(want, sizeof(want), "\"held_back\":%d,", c->held);
		cap_has("out", want);
	}
	/* what the database holds */
	if (c->no_db) {
		ck_assert_msg(access(db, F_OK) != 0, "%s: refused, yet %s was created", c->file, db);
		return;
	}
	assert_integrity(db);
	if (last_source(db, &src)) {
		ck_assert_int_eq(src.lines, c->lines);
		ck_assert_int_eq(src.unparsed, c->unparsed);
		for (k = 0; k < PS_EV_NKINDS; k++)
			ck_assert_msg(src.events[k] == (uint64_t)c->ev[k], "%s: %s %d, want %d",
			    c->file, ps_ev_kind_name((enum ps_ev_kind)k), (int)src.events[k],
			    c->ev[k]);
		for (n = 0, k = 0; src.formats[k] != '\0'; k++)
			n += src.formats[k] == '\n';
		n += src.formats[0] != '\0' && src.formats[strlen(src.formats) - 1] != '\n';
		ck_assert_msg(n == c->nformats, "%s: %d formats (%s)", c->file, n, src.formats);
		ck_assert_int_eq(src.state, c->status == 0 ? ST_SRC_COMPLETE : ST_SRC_PARTIAL);
	} else
		ck_assert_msg(c->status != 0, "%s: no source stored", c->file);
	/* re-ingesting adds nothing and keeps the same status */
	if (c->status == 0) {
		char *a = tu_dump_db(db), *b;

		ck_assert_int_eq(c->opt ? RUN("ingest", "-q", "-d", db, c->opt, in) :
		    RUN("ingest", "-q", "-d", db, in), 0);
		b = tu_dump_db(db);
		ck_assert_str_eq(a, b);
		free(a);
		free(b);
	}
}
END_TEST

/* ---- regressions for the fuzzers' finds ---- */

/* fuzz_header: a format width of 18 digits overflowed an int (UBSan). */
START_TEST(fuzz_header_width)
{
	struct fs_err err;
	struct ps_header *h = ps_header_compile("[%s:%111111111111111111%2>u", &err);

	/* compiles or fails cleanly; either way no overflow (checked by UBSan) */
	ps_header_free(h);
	h = ps_header_compile("%099999999999999999999s %n", &err);
	ps_header_free(h);
}
END_TEST

/*
 * fuzz_parser: a 23-digit seconds field overflowed int64 (UBSan); now the
 * timestamp is left unknown, and over-long numbers in the body saturate.
 */
START_TEST(fuzz_parser_overflow)
{
	static const char line[] = "[12823272061282327206128:161331 msbflushthr:23667:bmap:"
	    "bmap_flush:639] bmap@0x881330 b:1 m:8259 i:80000002d907b "
	    "opcnt=99999999999999999999999 try flush (outstandingRpcCnt=99999999999999999999999)";
	static const char near[] = "[9223372036854:775807 msbflushthr:23667:bmap:"
	    "bmap_flush:639] bmap@0x881330 b:1 m:8259 i:80000002d907b opcnt=65 try flush "
	    "(outstandingRpcCnt=75)";
	/* found by fuzz_parser: the key=value decoder of message fields */
	static const char rpc[] = "[1282327206:159140 msbflushthr:23667:rpc:"
	    "bmap_flush_create_rpc:224] req@0x7f95c40c3a00 x1412/t0 c0 o43->@12345-"
	    "10.32.5.12@tcp10:30 lens 232/112 ref 1 res 0 ret 0 fl New:/0/0 replyc deadbeef "
	    "rc 0/0 to=0 :: off=0 sz=144444444444444444444444444444444444444 op=1";
	struct fs_err err;
	struct ps_parser *p = ps_parser_new(FMT_A, &err);
	struct ps_event ev;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ps_parser_parse(p, rpc, strlen(rpc), 0, 3, &ev), 1);
	ck_assert_int_eq(ev.kind, PS_EV_RPC_SEND);
	ck_assert(ev.rpc_sz == INT64_MAX);
	ck_assert_int_eq(ps_parser_parse(p, line, strlen(line), 0, 1, &ev), 1);
	ck_assert(ev.ts_us == INT64_MIN);
	ck_assert_int_eq(ev.kind, PS_EV_EXAMINE);
	ck_assert(ev.outstanding == INT64_MAX);
	/* the largest seconds that still fit are kept exactly */
	ck_assert_int_eq(ps_parser_parse(p, near, strlen(near), 0, 2, &ev), 1);
	ck_assert(ev.ts_us == INT64_C(9223372036854) * 1000000 + 775807);
	ps_parser_free(p);
}
END_TEST

/* ---- fault injection ---- */

/* Microseconds of wall time. */
static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sleeps us microseconds. */
static void
sleep_us(int64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

#define KILL_ARGS(db, log, jobs) "ingest", "-q", "-d", db, "--commit-lines", "250", \
	"--keep-text", "--jobs", jobs, log

/*
 * SIGKILL at random points (fixed seed), FS_FAULT_RUNS times: after each
 * kill the database passes integrity_check; every few kills the ingest is
 * resumed to the end and the dump must equal the uninterrupted one (of
 * --jobs 1).  The killed and resuming runs take --jobs 1, 2 and 3 in turn.
 */
START_TEST(kill_random)
{
	const char *log = tp(1, "k.log");
	char ref[1024], db[1024];
	long runs = env_long("FS_FAULT_RUNS", _i == TU_PG ? 12 : 30), i;
	int64_t t0, span;
	unsigned seed = 20261123;
	char *want, *got;
	int landed = 0, resumes = 0, since = 0;

	snprintf(ref, sizeof(ref), "%s", tu_db(_i, tmpdir, 2, "ref.db"));
	snprintf(db, sizeof(db), "%s", tu_db(_i, tmpdir, 0, "k.db"));
	make_log(log, 2);		/* 5 000 lines */
	t0 = now_us();
	ck_assert_int_eq(RUN(KILL_ARGS(ref, log, "1")), 0);
	span = now_us() - t0;		/* chooses kill points; never asserted */
	want = tu_dump_db(ref);
	for (i = 0; i < runs; i++) {
		const char *jobs = i % 3 == 0 ? "1" : i % 3 == 1 ? "2" : "3";
		pid_t pid = start_opt(0, NULL, (const char *const[]){ KILL_ARGS(db, log, jobs),
		    NULL });
		int rc;

		sleep_us((int64_t)(rand_r(&seed) % (unsigned)(span * 3 / 4 + 1)));
		kill(pid, SIGKILL);
		rc = wait_status(pid, NULL);
		ck_assert_msg(rc == 0 || rc == 128 + SIGKILL, "run %ld: status %d", i, rc);
		landed += rc != 0;
		/* aim the next kill inside the ingest: shorter after a miss */
		span = rc == 0 ? span * 2 / 3 : span * 21 / 20;
		if (tu_db_exists(db))
			assert_integrity(db);
		/* resume to the end every 3rd kill (and after the last) */
		if (++since == 3 || i == runs - 1) {
			ck_assert_int_eq(RUN(KILL_ARGS(db, log, i % 2 ? "1" : "2")), 0);
			got = tu_dump_db(db);
			ck_assert_msg(strcmp(got, want) == 0, "run %ld: resumed database differs", i);
			free(got);
			resumes++;
			since = 0;
			tu_db_reset(db);
		}
	}
	ck_assert_msg(landed * 3 >= runs, "only %d of %ld kills landed", landed, runs);
	fprintf(stderr, "hardening: %s: %ld kill runs (%d killed mid-ingest), %d resumes, "
	    "0 differences\n", tu_backend_name(_i), runs, landed, resumes);
	free(want);
}
END_TEST

/*
 * A full disk (RLIMIT_FSIZE 1 MB) on a database already holding a file:
 * exit 3 naming the database, integrity ok, then without the limit the
 * ingest resumes to exactly the rows of an ingest that never failed.
 */
START_TEST(disk_full_resume)
{
	const char *log = tp(1, "f.log"), *db = tp(0, "f.db"), *ref = tp(2, "fref.db");
	char *want, *got;
	int rc;

	make_log(log, 8);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", ref, tu_testdata("seed-excerpt.log")), 0);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", ref, "--keep-text", log), 0);
	want = tu_dump_db(ref);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", db, tu_testdata("seed-excerpt.log")), 0);
	rc = RUNF(RO_FSIZE, "ingest", "-q", "-d", db, "--keep-text", log);
	ck_assert_int_eq(rc, 3);
	cap_has("err", "flushscope ingest: ");
	cap_has("err", db);
	assert_integrity(db);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", db, "--keep-text", log), 0);
	got = tu_dump_db(db);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
}
END_TEST

/*
 * A database the user cannot write (_i = 0: the file is read-only;
 * 1: its directory is, so the WAL cannot be created): exit 3 with a
 * message naming the database, nothing changed.
 */
START_TEST(read_only_db)
{
	char dir[300], db[400], cmd[4096];
	char *before, *after;
	int rc;

	snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
	snprintf(db, sizeof(db), "%s/r.db", dir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", db, tu_testdata("seed-excerpt.log")), 0);
	/* no -wal/-shm left behind, and the files are nobody's to write */
	before = tu_dump_db(db);
	if (_i == 0)
		snprintf(cmd, sizeof(cmd), "chmod 0444 %s", db);
	else	/* the reader's empty -wal/-shm go: SQLite must create them */
		snprintf(cmd, sizeof(cmd), "rm -f %s-wal %s-shm; chmod 0666 %s; chmod 0555 %s",
		    db, db, db, dir);
	ck_assert_int_eq(system(cmd), 0);
	/* the binary and the input, where nobody can read them */
	snprintf(cmd, sizeof(cmd), "cp %s %s && chmod 0755 %s && cp %s %s && chmod 0644 %s",
	    tu_fsbin(), tp(6, "fs"), tp(6, "fs"), tu_testdata("sample.log"), tp(5, "in.log"),
	    tp(5, "in.log"));
	ck_assert_int_eq(system(cmd), 0);
	rc = RUNF(RO_NOBODY, "ingest", "-q", "-d", db, tp(5, "in.log"));
	ck_assert_msg(rc == 3, "status %d", rc);
	cap_has("err", "flushscope ingest: ");
	cap_has("err", db);
	snprintf(cmd, sizeof(cmd), "chmod 0755 %s; chmod 0644 %s", dir, db);
	ck_assert_int_eq(system(cmd), 0);
	after = tu_dump_db(db);
	ck_assert_str_eq(after, before);
	free(before);
	free(after);
}
END_TEST

/*
 * Starts `sqlite3 db SQL1 '.shell touch MARK; sleep SECS' SQL2` (a second
 * process holding a lock or a snapshot) and waits until it holds it.
 */
static pid_t
start_holder(const char *db, const char *sql1, int secs, const char *sql2)
{
	char shell[700];
	const char *mark = tp(5, "held");
	pid_t pid;
	int i;

	unlink(mark);
	snprintf(shell, sizeof(shell), ".shell touch %s; sleep %d", mark, secs);
	if ((pid = fork()) == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		execlp("sqlite3", "sqlite3", db, sql1, shell, sql2, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	for (i = 0; i < 3000 && access(mark, F_OK) != 0; i++)
		sleep_us(10000);
	ck_assert_msg(access(mark, F_OK) == 0, "sqlite3 never took its lock");
	return pid;
}

/*
 * Another writer holds the database (BEGIN IMMEDIATE) for 2 s: ingest
 * waits (busy timeout) and then succeeds.  With FS_FAULT_RUNS > 30 (make
 * check-faults) the lock is also held past the busy timeout: exit 3 and a
 * message naming the database, nothing lost.
 */
START_TEST(locked_db)
{
	const char *db = tp(0, "l.db");
	char *before, *after;
	pid_t h;
	int rc;

	ck_assert_int_eq(RUN("ingest", "-q", "-d", db, tu_testdata("seed-excerpt.log")), 0);
	h = start_holder(db, "BEGIN IMMEDIATE; INSERT INTO sources(path) VALUES('x'); "
	    "DELETE FROM sources WHERE path = 'x';", 2, "COMMIT;");
	ck_assert_int_eq(RUN("ingest", "-q", "-d", db, tu_testdata("sample.log")), 0);
	ck_assert_int_eq(wait_status(h, NULL), 0);
	assert_integrity(db);
	if (env_long("FS_FAULT_RUNS", 30) <= 30)
		return;
	before = tu_dump_db(db);
	gen_format_change(tp(1, "new.log"));	/* content the database lacks */
	h = start_holder(db, "BEGIN IMMEDIATE; INSERT INTO sources(path) VALUES('x'); "
	    "DELETE FROM sources WHERE path = 'x';", 15, "COMMIT;");
	rc = RUN("ingest", "-q", "-d", db, tp(1, "new.log"));
	ck_assert_int_eq(rc, 3);
	cap_has("err", db);
	cap_has("err", "database is locked");
	ck_assert_int_eq(wait_status(h, NULL), 0);
	after = tu_dump_db(db);
	ck_assert_str_eq(after, before);
	free(before);
	free(after);
}
END_TEST

/*
 * A reader (sqlite3 holding a read transaction, as top --db or a user
 * would) open during a whole ingest: the ingest succeeds and stores what
 * an ingest without the reader stores.
 */
START_TEST(reader_during_ingest)
{
	const char *db = tp(0, "rd.db"), *ref = tp(2, "rdref.db"), *log = tp(1, "rd.log");
	char *want, *got;
	pid_t h;

	make_log(log, 4);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", ref, tu_testdata("seed-excerpt.log")), 0);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", ref, "--commit-lines", "500", log), 0);
	want = tu_dump_db(ref);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", db, tu_testdata("seed-excerpt.log")), 0);
	h = start_holder(db, "BEGIN; SELECT count(*) FROM sources;", 2, "COMMIT;");
	ck_assert_int_eq(RUN("ingest", "-q", "-d", db, "--commit-lines", "500", log), 0);
	ck_assert_int_eq(wait_status(h, NULL), 0);
	assert_integrity(db);
	got = tu_dump_db(db);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
}
END_TEST

/* ---- concurrent writers and file identity (issue 15) ---- */

/* tu_walk callback: counts sources. */
static int
count_cb(void *arg, const union st_row *row_)
{
	const struct st_source *src = &row_->source;
	(void)src;
	(*(int *)arg)++;
	return 0;
}

/* The dump's rows of source 1 (bmaps rows and the source row itself left out). */
static char *
source1_rows(const char *dump)
{
	size_t n = strlen(dump), k = 0;
	char *out = calloc(1, n + 1);
	const char *p = dump;

	ck_assert_ptr_nonnull(out);
	while (*p != '\0') {
		size_t len = strcspn(p, "\n");
		const char *bar = memchr(p, '|', len);

		if (bar != NULL && strncmp(p, "sources|", 8) != 0 && strncmp(p, "bmaps|", 6) != 0 &&
		    strncmp(bar + 1, "1|", 2) == 0) {
			memcpy(out + k, p, len);
			k += len;
			out[k++] = '\n';
		}
		p += len + (p[len] == '\n');
	}
	out[k] = '\0';
	return out;
}

/* Source 1's rows are exactly what they were: none lost, none added twice. */
static void
assert_rows_kept_but_path(const char *before, const char *after)
{
	char *a = source1_rows(before), *b = source1_rows(after);

	ck_assert_msg(strcmp(a, b) == 0, "source 1's rows changed:\n%.2000s\n---\n%.2000s", a, b);
	free(a);
	free(b);
}

/* Starts two ingests of the same arguments at once; returns their statuses. */
static void
run_two(const char *const *args, int *rc1, int *rc2)
{
	pid_t a = start_opt(0, NULL, args), b = start_opt(0, NULL, args);

	*rc1 = wait_status(a, NULL);
	*rc2 = wait_status(b, NULL);
}

/* Each of two concurrent ingests succeeds or yields with a message; one succeeds. */
static void
assert_two_ok(int rc1, int rc2)
{
	ck_assert_msg((rc1 == 0 || rc1 == 3) && (rc2 == 0 || rc2 == 3) && (rc1 == 0 || rc2 == 0),
	    "statuses %d and %d", rc1, rc2);
}

/*
 * Two ingests at once, five times each: of a grown file (variant 0) and of
 * a new file into a database that holds another (1), on each backend (_i /
 * 2).  Whatever the interleaving, the database then equals one clean
 * ingest, and a third run adds nothing.
 */
START_TEST(concurrent_ingests)
{
	const char *log = tp(1, "c.log");
	char ref[1024], db[1024];
	const char *const args[] = { "ingest", "-q", "-d", db, "--commit-lines", "300", log, NULL };
	char *want, *got;
	int round, rc1, rc2, be = _i / 2, variant = _i % 2;

	snprintf(ref, sizeof(ref), "%s", tu_db(be, tmpdir, 2, "cref.db"));
	snprintf(db, sizeof(db), "%s", tu_db(be, tmpdir, 0, "c.db"));
	make_log(log, 6);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", ref, tu_testdata("seed-excerpt.log")), 0);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", ref, log), 0);
	want = tu_dump_db(ref);
	for (round = 0; round < 5; round++) {
		tu_db_reset(db);
		ck_assert_int_eq(RUN("ingest", "-q", "-d", db, tu_testdata("seed-excerpt.log")), 0);
		if (variant == 0) {
			/* a file half ingested, then grown */
			make_log(log, 3);
			ck_assert_int_eq(RUN("ingest", "-q", "-d", db, log), 0);
			make_log(log, 6);
		}
		run_two(args, &rc1, &rc2);
		assert_two_ok(rc1, rc2);
		ck_assert_int_eq(RUN("ingest", "-q", "-d", db, log), 0);
		assert_integrity(db);
		got = tu_dump_db(db);
		ck_assert_msg(strcmp(got, want) == 0, "%s round %d: the database differs from one"
		    " clean ingest (statuses %d, %d)", tu_backend_name(be), round, rc1, rc2);
		free(got);
	}
	free(want);
}
END_TEST

/*
 * The text of testdata/sample.log from byte `from` on with every timestamp's
 * last second digit set to digit: another log of the same shape and length.
 */
static char *
sample_variant(size_t *n, char digit, size_t from)
{
	char *d = tu_slurp(tu_testdata("sample.log"), n);
	size_t i;

	for (i = from; i + 11 < *n; i++)
		if ((i == 0 || d[i - 1] == '\n') && d[i] == '[')
			d[i + 10] = digit;	/* [1282327206:... */
	return d;
}

/* The number of sources of db and the lines of the newest one with path. */
static void
sources_of(const char *db, const char *path, int *nsrc, uint64_t *lines)
{
	struct fs_err err;
	struct st_store *st = st_open(db, ST_OPEN_READONLY, &err);
	struct st_source s;
	char abs[PATH_MAX];

	ck_assert_msg(st != NULL, "%s", err.msg);
	*nsrc = 0;
	ck_assert_int_eq(tu_walk(st, ST_SOURCES, NULL, count_cb, nsrc), 0);
	*lines = 0;
	if (realpath(path, abs) != NULL && st_source_find_path(st, abs, NULL, &s, &err) == 1)
		*lines = s.lines;
	st_close(st);
}

/*
 * File identity beyond the first 4 KiB: a file rewritten with the same
 * first 4 KiB, longer (0) or of the same size (1), is a new source holding
 * exactly its lines; two different logs sharing a long banner are two
 * sources (2); a file under 4 KiB renamed is recognised (3).
 */
START_TEST(identity_cases)
{
	const char *db = tp(0, "i.db"), *log = tp(1, "i.log"), *other = tp(2, "j.log");
	size_t n, m;
	char *a = tu_slurp(tu_testdata("sample.log"), &n), *b;
	long nsample = tu_count_lines(tu_testdata("sample.log"));
	int nsrc;
	uint64_t lines;

	switch (_i) {
	case 0:
	case 1:
		tu_spit(log, "w", a, n);
		ck_assert_int_eq(RUN("ingest", "-q", "-d", db, log), 0);
		/* the same first 5 000 bytes, other lines after them */
		b = sample_variant(&m, '9', 5000);
		tu_spit(log, "w", b, m);
		if (_i == 0)
			tu_spit(log, "a", a, n);	/* and longer */
		ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json", log), 0);
		cap_has("out", "\"status\":\"replaced\"");
		sources_of(db, log, &nsrc, &lines);
		ck_assert_int_eq(nsrc, 2);
		ck_assert_uint_eq(lines, (uint64_t)(_i == 0 ? 2 * nsample : nsample));
		free(b);
		break;
	case 2:
		/* a 5 000-byte banner shared by two different logs */
		b = malloc(5000 + n);
		memset(b, '#', 4999);
		b[4999] = '\n';
		memcpy(b + 5000, a, n);
		tu_spit(log, "w", b, 5000 + n);
		free(a);
		a = sample_variant(&m, '9', 0);
		memcpy(b + 5000, a, m);
		tu_spit(other, "w", b, 5000 + m);
		ck_assert_int_eq(RUN("ingest", "-q", "-d", db, log), 0);
		ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json", other), 0);
		cap_has("out", "\"status\":\"new\"");
		sources_of(db, other, &nsrc, &lines);
		ck_assert_int_eq(nsrc, 2);
		ck_assert_uint_eq(lines, (uint64_t)nsample + 1);	/* and the banner */
		sources_of(db, log, &nsrc, &lines);
		ck_assert_uint_eq(lines, (uint64_t)nsample + 1);
		free(b);
		break;
	default:
		/* a small file, renamed: nothing is stored twice */
		tu_spit(log, "w", a, 1000);
		ck_assert_int_eq(RUN("ingest", "-q", "-d", db, log), 0);
		ck_assert_int_eq(rename(log, other), 0);
		ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json", other), 0);
		cap_has("out", "\"status\":\"renamed\"");
		sources_of(db, other, &nsrc, &lines);
		ck_assert_int_eq(nsrc, 1);
		break;
	}
	free(a);
}
END_TEST

/*
 * Rotation to .gz, as logrotate does it: client.log ingested, renamed to
 * client.log-1 and compressed, a new client.log begun.  Ingesting both
 * adds the new file's rows and no duplicate of the old ones.
 */
START_TEST(gz_rotation)
{
	const char *db = tp(0, "g.db"), *log = tp(1, "client.log");
	char cmd[1200], rot[600], *before, *after;
	size_t n;
	char *v = sample_variant(&n, '8', 0);
	int nsrc;
	uint64_t lines;

	make_log(log, 2);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", db, log), 0);
	before = tu_dump_db(db);
	snprintf(rot, sizeof(rot), "%s-1", log);
	ck_assert_int_eq(rename(log, rot), 0);
	snprintf(cmd, sizeof(cmd), "gzip -n %s", rot);
	ck_assert_int_eq(system(cmd), 0);
	tu_spit(log, "w", v, n);
	snprintf(rot, sizeof(rot), "%s-1.gz", log);
	ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json", rot, log), 0);
	cap_has("out", "\"status\":\"renamed\"");
	cap_has("err", "renamed");
	sources_of(db, log, &nsrc, &lines);
	ck_assert_int_eq(nsrc, 2);
	ck_assert_uint_eq(lines, (uint64_t)tu_count_lines(tu_testdata("sample.log")));
	/* the old rows are all there once, the new file's rows beside them */
	after = tu_dump_db(db);
	assert_rows_kept_but_path(before, after);
	free(before);
	free(after);
	free(v);
}
END_TEST

/*
 * top --db records while another writer holds the database past the busy
 * timeout (12 s): when it starts (_i = 0: it waits for the lock before it
 * reads) and in the middle, while the log grows (1: the failed commits are
 * kept and retried).  Nothing is lost: the database ends equal to an ingest
 * of the whole file.
 */
START_TEST(top_db_recovers)
{
	const char *db = tp(0, "t.db"), *ref = tp(2, "tref.db"), *log = tp(1, "t.log");
	char *want, *got, *data;
	size_t n;
	pid_t h = 0, top;

	make_log(log, 2);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", ref, tu_testdata("seed-excerpt.log")), 0);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", ref, log), 0);
	want = tu_dump_db(ref);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", db, tu_testdata("seed-excerpt.log")), 0);
	if (_i == 1)
		make_log(log, 1);
	else
		h = start_holder(db, "BEGIN IMMEDIATE; INSERT INTO sources(path) VALUES('x'); "
		    "DELETE FROM sources WHERE path = 'x';", 12, "COMMIT;");
	top = start_opt(0, NULL, (const char *const[]){ "top", "-b", "-d", "0.5", "-n", "36",
	    "--rows", "1", "--db", db, "--db-interval", "1s", log, NULL });
	if (_i == 1) {
		sleep_us(2500000);	/* a commit or two have landed */
		h = start_holder(db, "BEGIN IMMEDIATE; INSERT INTO sources(path) VALUES('x'); "
		    "DELETE FROM sources WHERE path = 'x';", 12, "COMMIT;");
		data = tu_slurp(tu_testdata("sample.log"), &n);
		tu_spit(log, "a", data, n);	/* the log grows while the lock is held */
		free(data);
	}
	ck_assert_int_eq(wait_status(h, NULL), 0);
	ck_assert_int_eq(wait_status(top, NULL), 0);
	assert_integrity(db);
	got = tu_dump_db(db);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
}
END_TEST

/* A database that is not flushscope's is refused and left byte for byte as it was. */
START_TEST(foreign_db_untouched)
{
	const char *db = tp(0, "foreign.db");
	char cmd[700];
	char *before, *after;
	size_t n1, n2;

	snprintf(cmd, sizeof(cmd), "sqlite3 %s 'CREATE TABLE t(x); INSERT INTO t VALUES(1);'", db);
	ck_assert_int_eq(system(cmd), 0);
	before = tu_slurp(db, &n1);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", db, tu_testdata("seed-excerpt.log")), 3);
	cap_has("err", "not a flushscope database");
	after = tu_slurp(db, &n2);
	ck_assert_uint_eq(n1, n2);
	ck_assert(memcmp(before, after, n1) == 0);
	snprintf(cmd, sizeof(cmd), "%s-wal", db);
	ck_assert_int_ne(access(cmd, F_OK), 0);
	free(before);
	free(after);
}
END_TEST

/* ---- resource bounds ---- */

/*
 * Streams FS_RSS_LINES lines (copies of sample.log) through `ingest -`
 * from a pipe and reads the child's peak RSS (wait4): it must stay below
 * 64 MB whatever the length.  Skipped under sanitizers (their shadow
 * memory is what would be measured).
 */
START_TEST(rss_bound)
{
	long want = env_long("FS_RSS_LINES", 1000000), copies, i, per;
	const char *db = tp(0, "rss.db");
	int pfd[2];
	pid_t wr, pid;
	struct rusage ru;
	char needle[64];
	size_t n;
	char *data;

	if (UNDER_SANITIZER)
		return;
	data = tu_slurp(tu_testdata("sample.log"), &n);
	for (per = 0, i = 0; i < (long)n; i++)
		per += data[i] == '\n';
	copies = (want + per - 1) / per;
	ck_assert_int_eq(pipe(pfd), 0);
	if ((wr = fork()) == 0) {
		close(pfd[0]);
		for (i = 0; i < copies; i++) {
			size_t done = 0;

			while (done < n) {
				ssize_t w = write(pfd[1], data + done, n - done);

				if (w <= 0)
					_exit(1);
				done += (size_t)w;
			}
		}
		_exit(0);
	}
	ck_assert_int_gt(wr, 0);
	close(pfd[1]);
	if ((pid = fork()) == 0) {
		int fd1 = open(tp(7, "out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fd2 = open(tp(7, "err"), O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(pfd[0], 0);
		dup2(fd1, 1);
		dup2(fd2, 2);
		execl(tu_fsbin(), tu_fsbin(), "ingest", "-q", "-d", db, "--format=json", "-",
		    (char *)NULL);
		_exit(127);
	}
	close(pfd[0]);
	free(data);
	ck_assert_int_eq(wait_status(pid, &ru), 0);
	ck_assert_int_eq(wait_status(wr, NULL), 0);
	snprintf(needle, sizeof(needle), "{\"lines\":%ld,", copies * per);
	cap_has("out", needle);
	fprintf(stderr, "hardening: ingest of %ld lines from a pipe: peak RSS %ld MB\n",
	    copies * per, ru.ru_maxrss / 1024);
	ck_assert_msg(ru.ru_maxrss < 64 * 1024, "peak RSS %ld kB for %ld lines",
	    ru.ru_maxrss, copies * per);
}
END_TEST

/*
 * A log of short-lived bmaps: one new bmap per second of log time, each
 * examined once and then never again (no CLEAN line either), streamed
 * through `ingest -`, `spins -` and `top -b -` (FS_RSS_BMAPS of them,
 * default 300 000; `make check-long`: 1 000 000).  Peak RSS must stay below
 * 64 MB: the detector, the attribution tables, the ingest batches and
 * top's rows follow the bmaps of the recent past, not every bmap ever seen.
 */
static const char *const bmaps_cmds[][6] = {
	{ "ingest", "-q", "-d", "@db", "-", NULL },
	{ "spins", "-", NULL },
	{ "top", "-b", "-", NULL },
};

START_TEST(bmaps_rss)
{
	long nb = env_long("FS_RSS_BMAPS", 300000), i;
	const char *argv[8];
	int pfd[2], k;
	pid_t wr, pid;
	struct rusage ru;

	if (UNDER_SANITIZER)
		return;
	for (k = 0; bmaps_cmds[_i][k] != NULL; k++)
		argv[k + 1] = strcmp(bmaps_cmds[_i][k], "@db") == 0 ? tp(0, "bm.db") :
		    bmaps_cmds[_i][k];
	argv[0] = tu_fsbin();
	argv[k + 1] = NULL;
	ck_assert_int_eq(pipe(pfd), 0);
	if ((wr = fork()) == 0) {
		FILE *f = fdopen(pfd[1], "w");

		close(pfd[0]);
		for (i = 0; f != NULL && i < nb; i++) {
			long s = 1282327206L + i, a = 0x100000L + i * 16;

			fprintf(f, "[%ld:000100 msbflushthr:23667:bmap:bmap_flush:639] bmap@0x%lx b:%lx"
			    " m:8259 i:80000002d907b opcnt=65 try flush (outstandingRpcCnt=3)\n"
			    "[%ld:000200 msbflushthr:23667:bmap:bmap_flush:754] bmap@0x%lx b:%lx"
			    " m:8259 i:80000002d907b opcnt=65 restore to dirty list\n", s, a, i, s, a, i);
		}
		_exit(f != NULL && fclose(f) == 0 ? 0 : 1);
	}
	ck_assert_int_gt(wr, 0);
	close(pfd[1]);
	if ((pid = fork()) == 0) {
		int fd1 = open(tp(7, "out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fd2 = open(tp(7, "err"), O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(pfd[0], 0);
		dup2(fd1, 1);
		dup2(fd2, 2);
		execv(tu_fsbin(), (char *const *)argv);
		_exit(127);
	}
	close(pfd[0]);
	ck_assert_int_eq(wait_status(pid, &ru), 0);
	ck_assert_int_eq(wait_status(wr, NULL), 0);
	fprintf(stderr, "hardening: %s of %ld short-lived bmaps: peak RSS %ld MB\n",
	    bmaps_cmds[_i][0], nb, ru.ru_maxrss / 1024);
	ck_assert_msg(ru.ru_maxrss < 64 * 1024, "%s: peak RSS %ld kB for %ld bmaps",
	    bmaps_cmds[_i][0], ru.ru_maxrss, nb);
}
END_TEST

/*
 * Out of memory, extract and replay say which input they were reading
 * (issue 15: "extract out of memory does not name its input").  The limit
 * on the address space climbs from 8 MB in 256 kB steps until the command
 * succeeds; every failure on the way must be exit 3 with a message that
 * begins with the input's name, and at least one must be "out of memory".
 */
static const char *const oom_cmds[][7] = {
	{ "extract", "-q", "-o", "/dev/null", "@log", NULL },
	{ "extract", "-q", "-o", "/dev/null", "--db", "@db" },
	{ "replay", "-q", "@log", NULL },
};

START_TEST(oom_names_input)
{
	const char *gen = tu_gen_era_a(), *argv[8], *name = NULL;
	char cmd[600], want[300];
	int k, rc, oom = 0;

	if (UNDER_SANITIZER)
		return;		/* the sanitizers reserve far more than any limit */
	snprintf(cmd, sizeof(cmd), "%s -n 60000 -s 7 > '%s'", gen, tp(0, "oom.log"));
	ck_assert_int_eq(system(cmd), 0);
	if (_i == 1)
		ck_assert_int_eq(RUN("ingest", "-q", "-d", tp(1, "oom.db"), tp(0, "oom.log")), 0);
	for (k = 0; oom_cmds[_i][k] != NULL; k++) {
		argv[k] = oom_cmds[_i][k];
		if (strcmp(argv[k], "@log") == 0)
			argv[k] = name = tp(0, "oom.log");
		else if (strcmp(argv[k], "@db") == 0)
			argv[k] = name = tp(1, "oom.db");
	}
	argv[k] = NULL;
	snprintf(want, sizeof(want), "flushscope %s: %s", oom_cmds[_i][0], name);
	for (as_limit = 8u << 20; as_limit < 512u << 20; as_limit += 256u << 10) {
		char *e;

		if ((rc = run_opt(RO_ASLIMIT, NULL, argv)) == 0)
			break;
		e = tu_slurp(tp(7, "err"), NULL);
		if (rc == 127 || strstr(e, "error while loading shared libraries") != NULL) {
			free(e);	/* too small to start at all */
			continue;
		}
		ck_assert_msg(rc == 3 && strncmp(e, want, strlen(want)) == 0,
		    "%s under %lu MB: exit %d, stderr does not begin with '%s':\n%.500s",
		    oom_cmds[_i][0], (unsigned long)(as_limit >> 20), rc, want, e);
		oom += strstr(e, "out of memory") != NULL;
		free(e);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(oom > 0, "%s: no limit ran it out of memory", oom_cmds[_i][0]);
}
END_TEST

/* Builds the hardening suite. */
Suite *
hardening_suite(void)
{
	Suite *s = suite_create("hardening");
	TCase *tc = tcase_create("bad-input");
	TCase *tf = tcase_create("faults");
	TCase *tr = tcase_create("bounds");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, bad_corpus, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, fuzz_header_width);
	tcase_add_test(tc, fuzz_parser_overflow);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_set_timeout(tf, 3600);
	tcase_add_loop_test(tf, kill_random, 0, TU_NBACKENDS);
	tcase_add_test(tf, disk_full_resume);
	tcase_add_loop_test(tf, read_only_db, 0, 2);
	tcase_add_test(tf, locked_db);
	tcase_add_test(tf, reader_during_ingest);
	tcase_add_loop_test(tf, concurrent_ingests, 0, 2 * TU_NBACKENDS);
	tcase_add_loop_test(tf, identity_cases, 0, 4);
	tcase_add_test(tf, gz_rotation);
	tcase_add_test(tf, foreign_db_untouched);
	tcase_add_loop_test(tf, top_db_recovers, 0, 2);
	suite_add_tcase(s, tf);

	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_set_timeout(tr, 3600);
	tcase_add_test(tr, rss_bound);
	tcase_add_loop_test(tr, bmaps_rss, 0, (int)(sizeof(bmaps_cmds) / sizeof(bmaps_cmds[0])));
	tcase_add_loop_test(tr, oom_names_input, 0, (int)(sizeof(oom_cmds) / sizeof(oom_cmds[0])));
	suite_add_tcase(s, tr);
	return s;
}
