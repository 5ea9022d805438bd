/*
 * tests/check_ingest.c: `flushscope ingest` end to end, running the real
 * binary (FS_BIN): JSON summary counts, idempotent re-ingest, grown,
 * truncated and rotated files, kill -9 and resume, bad inputs, an
 * unterminated last line held back until its writer finishes it; the
 * parallel path (--jobs 2, 3) stores what the sequential one (--jobs 1)
 * does, from a file, a .gz and standard input, and after kills.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ingest/ingest.h"
#include "tests/testutil.h"
#include "store/store.h"

Suite *ingest_suite(void);

static char tmpdir[256];

/* A path in the temporary directory. */
#define tp(slot, name) tu_path(tmpdir, (slot), (name))

/* Creates a private temporary directory. */
static void
setup(void)
{
	tu_mkdtemp(tmpdir, sizeof(tmpdir), "ingest");
}

/* Removes it. */
static void
teardown(void)
{
	tu_rmtree(tmpdir);
}

/*
 * Runs FS_BIN with args (NULL-terminated), stdin from in (or /dev/null),
 * stdout/stderr into files out/err of the temp dir; returns the exit status
 * (128+signal if killed).  If pid_out is set, returns at once with the pid.
 */
static int
run_bin(const char *in, pid_t *pid_out, const char *const *args)
{
	const char *argv[32];
	pid_t pid;
	int n = 0, st;

	argv[n++] = tu_fsbin();
	while (*args != NULL && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	if ((pid = fork()) == 0) {
		int fd0 = open(in ? in : "/dev/null", O_RDONLY);
		int fd1 = open(tp(7, "out"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fd2 = open(tp(7, "err"), O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd0, 0);
		dup2(fd1, 1);
		dup2(fd2, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	if (pid_out != NULL) {
		*pid_out = pid;
		return 0;
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define RUN(...) run_bin(NULL, NULL, (const char *const[]){ __VA_ARGS__, NULL })

/*
 * Every row of the dump `before` is still in `after` (bmaps rows excepted:
 * they are shared by all sources and legitimately updated).
 */
static void
assert_rows_kept(const char *before, const char *after)
{
	const char *p = before;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");
		char *row = strndup(p, n + 1);

		if (strncmp(row, "bmaps|", 6) != 0)
			ck_assert_msg(strstr(after, row) != NULL, "row lost: %s", row);
		free(row);
		p += n + (p[n] == '\n');
	}
}

/* Asserts that the captured stdout contains s. */
static void
out_has(const char *s)
{
	char *o = tu_slurp(tp(7, "out"), NULL);

	ck_assert_msg(strstr(o, s) != NULL, "stdout lacks '%s':\n%s", s, o);
	free(o);
}

/* Asserts that the captured stderr contains s. */
static void
err_has(const char *s)
{
	char *e = tu_slurp(tp(7, "err"), NULL);

	ck_assert_msg(strstr(e, s) != NULL, "stderr lacks '%s':\n%s", s, e);
	free(e);
}

/* The seed excerpt: 13 lines, 6 EXAMINE, 7 REQUEUE, 2 episodes, zero unparsed. */
START_TEST(seed_json)
{
	ck_assert_int_eq(RUN("ingest", "-d", tp(0, "s.db"), "--format=json",
	    tu_testdata("seed-excerpt.log")), 0);
	out_has("\"lines\":13,");
	out_has("\"unparsed\":0,");
	out_has("\"EXAMINE\":6,");
	out_has("\"REQUEUE\":7,");
	out_has("\"RPC_SEND\":0,");
	out_has("\"formats\":[\"[%s:%06u %n:%i:%T:%F:%l] \"]");
	out_has("\"episodes\":2,");
	out_has("\"status\":\"new\"");
}
END_TEST

/* The bundled sample parses completely; the table summary goes to stderr. */
START_TEST(sample_table)
{
	ck_assert_int_eq(RUN("ingest", "-d", tp(0, "s.db"), tu_testdata("sample.log")), 0);
	{
		char want[64];

		snprintf(want, sizeof(want), "%ld lines", tu_count_lines(tu_testdata("sample.log")));
		err_has(want);
	}
	err_has("unparsed  0\n");
	err_has("EXAMINE ");
	err_has("spin episodes");
	{
		size_t n;
		char *o = tu_slurp(tp(7, "out"), &n);

		ck_assert_uint_eq(n, 0);	/* nothing on stdout in table mode */
		free(o);
	}
}
END_TEST

/* Re-ingesting the same file adds nothing (on each backend). */
START_TEST(idempotent)
{
	char *a, *b, db[1024];

	snprintf(db, sizeof(db), "%s", tu_db(_i, tmpdir, 0, "i.db"));
	ck_assert_int_eq(RUN("ingest", "-q", "-d", db, tu_testdata("sample.log")), 0);
	a = tu_dump_db(db);
	ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json",
	    tu_testdata("sample.log")), 0);
	out_has("\"lines\":0,");
	out_has("\"status\":\"unchanged\"");
	b = tu_dump_db(db);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}
END_TEST

/*
 * Forced flushes (testdata/forced-a.log): a biorq's "force expire" and its
 * FORCE_EXPIRE are one forced flush; a biorq whose FORCE_EXPIRE bit (0x80)
 * shows on its try flush and set inflight is another; an fcmh "flushing"
 * is a third, with no bmap.  Before the source marked them, the text
 * "force expire" alone gave one row, and the flagged biorq none.
 */
START_TEST(forced_rows)
{
	char *d, *p;
	int rows = 0, with_bmap = 0;

	ck_assert_int_eq(RUN("ingest", "-q", "-d", tp(0, "f.db"), tu_testdata("forced-a.log")), 0);
	d = tu_dump_db(tp(0, "f.db"));
	for (p = d; (p = strstr(p, "\nforced|")) != NULL; p++) {
		char *eol = strchr(p + 1, '\n');

		rows++;
		with_bmap += eol == NULL || memmem(p, (size_t)(eol - p), "|NULL", 5) == NULL;
	}
	ck_assert_int_eq(rows, 3);
	ck_assert_int_eq(with_bmap, 2);
	free(d);

	/*
	 * synth's 2010-2011 close (testdata/synth/forced-B.log): one `force
	 * expire` per flagged biorq, with its DEBUG_BIORQ prefix: one forced
	 * flush each, each with its bmap (through b=).
	 */
	ck_assert_int_eq(RUN("ingest", "-q", "-d", tp(1, "b.db"),
	    tu_testdata("synth/forced-B.log")), 0);
	d = tu_dump_db(tp(1, "b.db"));
	rows = with_bmap = 0;
	for (p = d; (p = strstr(p, "\nforced|")) != NULL; p++) {
		char *eol = strchr(p + 1, '\n');

		rows++;
		with_bmap += eol == NULL || memmem(p, (size_t)(eol - p), "|NULL", 5) == NULL;
	}
	ck_assert_int_eq(rows, 8);
	ck_assert_int_eq(with_bmap, 8);
	free(d);
}
END_TEST

/* A line past the reader's 64 MiB limit is stored cut, and the summary says so. */
START_TEST(cut_line)
{
	const char *log = tp(1, "long.log");
	const char head[] = "[1282327206:002048 msbflushthr:23667:gen:bmap_flush:706] ";
	size_t n = (size_t)(65u << 20);
	char *big = malloc(n + 1);
	FILE *f = fopen(log, "w");

	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(f);
	memset(big, 'x', n);
	big[n] = '\n';
	fputs(head, f);
	fputs("first\n", f);
	fputs(head, f);
	ck_assert_uint_eq(fwrite(big, 1, n + 1, f), n + 1);
	fputs(head, f);
	fputs("last\n", f);
	ck_assert_int_eq(fclose(f), 0);
	free(big);
	ck_assert_int_eq(RUN("ingest", "-d", tp(0, "c.db"), "--format=json", log), 0);
	out_has("\"lines\":3,");
	out_has("\"cut_lines\":1,\"cut_bytes\":1048634,");	/* 65 MiB + 58 - 64 MiB */
	out_has("\"first_cut_line\":2,");
	ck_assert_int_eq(RUN("ingest", "-d", tp(0, "c2.db"), log), 0);
	err_has("  cut       1 line at 64 MiB (1048634 bytes past the cut dropped; first: ");
	unlink(log);
}
END_TEST

/* A grown file adds only the new lines and ends equal to a one-shot ingest. */
START_TEST(grown)
{
	size_t n, half;
	char *data = tu_slurp(tu_testdata("sample.log"), &n), *a, *b, g[1024], g2[1024];
	const char *log = tp(1, "g.log");

	snprintf(g, sizeof(g), "%s", tu_db(_i, tmpdir, 0, "g.db"));
	snprintf(g2, sizeof(g2), "%s", tu_db(_i, tmpdir, 2, "g2.db"));
	for (half = n / 2; data[half - 1] != '\n'; half++)
		;
	tu_spit(log, "w", data, half);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", g, log), 0);
	tu_spit(log, "a", data + half, n - half);
	ck_assert_int_eq(RUN("ingest", "-d", g, "--format=json", log), 0);
	out_has("\"status\":\"resumed\"");
	{
		char want[64];
		long total = tu_count_lines(tu_testdata("sample.log")), first = 0;
		size_t i;

		for (i = 0; i < half; i++)
			first += data[i] == '\n';
		snprintf(want, sizeof(want), "\"lines\":%ld,", total - first);
		out_has(want);
	}
	ck_assert_int_eq(RUN("ingest", "-q", "-d", g2, log), 0);
	a = tu_dump_db(g);
	b = tu_dump_db(g2);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	free(data);
}
END_TEST

/* Counts sources. */
static int
count_src(void *arg, const union st_row *row_)
{
	const struct st_source *s = &row_->source;
	(void)s;
	(*(int *)arg)++;
	return 0;
}

/*
 * A file truncated (0), rewritten in place (1) or rotated (2: renamed away,
 * a new file under the path) is reported as such and becomes a new source.
 */
START_TEST(truncated_rotated)
{
	static const char *const status[] = { "truncated", "replaced", "rotated" };
	size_t n;
	char *data = tu_slurp(tu_testdata("sample.log"), &n);
	const char *log = tp(1, "t.log");
	char want[64];

	tu_spit(log, "w", data, n);
	ck_assert_int_eq(RUN("ingest", "-q", "-d", tp(0, "t.db"), log), 0);
	if (_i == 0)
		tu_spit(log, "w", data, n / 3);
	else {
		data[1] = '9';		/* a different first line: another file */
		if (_i == 2)
			ck_assert_int_eq(rename(log, tp(2, "t.log.1")), 0);
		tu_spit(log, "w", data, n);
	}
	ck_assert_int_eq(RUN("ingest", "-d", tp(0, "t.db"), "--format=json", log), 0);
	snprintf(want, sizeof(want), "\"status\":\"%s\"", status[_i]);
	out_has(want);
	err_has(status[_i]);
	err_has("t.log");
	{
		struct fs_err err;
		struct st_store *st = st_open(tp(0, "t.db"), ST_OPEN_READONLY, &err);
		int nsrc = 0;

		ck_assert_ptr_nonnull(st);
		/* the old source is kept beside the new one */
		ck_assert_int_eq(tu_walk(st, ST_SOURCES, NULL, count_src, &nsrc), 0);
		ck_assert_int_eq(nsrc, 2);
		st_close(st);
	}
	free(data);
}
END_TEST

/* Reads done_off of the newest source with path, or 0. */
static uint64_t
done_off(const char *db, const char *path, int *state)
{
	struct fs_err err;
	struct st_store *st = st_open(db, ST_OPEN_READONLY, &err);
	struct st_source s;
	uint64_t off = 0;

	*state = -1;
	if (st == NULL)
		return 0;
	if (st_source_find_path(st, path, NULL, &s, &err) == 1) {
		off = s.done_off;
		*state = s.state;
	}
	st_close(st);
	return off;
}

/* The newest source row with this path (asserted to exist). */
static struct st_source
source_of(const char *db, const char *path)
{
	struct fs_err err;
	struct st_store *st = st_open(db, ST_OPEN_READONLY, &err);
	struct st_source s;
	char abs[4096];

	ck_assert_msg(st != NULL, "%s", err.msg);
	ck_assert_ptr_nonnull(realpath(path, abs));
	ck_assert_int_eq(st_source_find_path(st, abs, NULL, &s, &err), 1);
	st_close(st);
	return s;
}

/*
 * kill -9 during ingest, twice, then resume: same rows as an uninterrupted
 * run.  The log ends mid-line (held back by both); once the line is
 * finished, both databases store it and stay equal.
 */
START_TEST(kill_resume)
{
	const char *log = tp(1, "k.log");
	const char *jobs = _i / TU_NBACKENDS ? "2" : "1";
	char *data, *a, *b, abs[4096], db[1024], k2[1024];
	size_t n;
	int i, pass, kills = 0, attempt;

	snprintf(db, sizeof(db), "%s", tu_db(_i % TU_NBACKENDS, tmpdir, 0, "k.db"));
	snprintf(k2, sizeof(k2), "%s", tu_db(_i % TU_NBACKENDS, tmpdir, 2, "k2.db"));
	data = tu_slurp(tu_testdata("sample.log"), &n);
	tu_spit(log, "w", data, n);
	for (i = 0; i < 29; i++)
		tu_spit(log, "a", data, n);
	tu_spit(log, "a", data, 40);	/* the writer is mid-line */
	ck_assert_ptr_nonnull(realpath(log, abs));

	for (attempt = 0; attempt < 2; attempt++) {
		pid_t pid;
		int st, state;
		uint64_t off = 0, last;
		struct timespec ms = { 0, 200000 };

		last = done_off(db, abs, &state);
		run_bin(NULL, &pid, (const char *const[]){ "ingest", "-q", "-d", db,
		    "--commit-lines", "97", "--keep-text", "--jobs", jobs, log, NULL });
		/* wait for a commit beyond the previous one, then kill at once */
		for (i = 0; i < 200000; i++) {
			off = done_off(db, abs, &state);
			if (off > last || waitpid(pid, &st, WNOHANG) == pid)
				break;
			nanosleep(&ms, NULL);
		}
		if (kill(pid, SIGKILL) == 0 && waitpid(pid, &st, 0) == pid &&
		    WIFSIGNALED(st))
			kills++;
		off = done_off(db, abs, &state);
		if (state != ST_SRC_PARTIAL)
			break;
	}
	ck_assert_msg(kills > 0, "the ingest always finished before it could be killed");
	/*
	 * The database is consistent: readable, partial, then completed, and
	 * equal to an uninterrupted ingest; again once the writer finishes the
	 * last line.
	 */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1)
			tu_spit(log, "a", data + 40, strcspn(data, "\n") + 1 - 40);
		ck_assert_int_eq(RUN("ingest", "-q", "-d", db, "--commit-lines", "97",
		    "--keep-text", "--jobs", jobs, log), 0);
		ck_assert_int_eq(RUN("ingest", "-q", "-d", k2, "--keep-text", "--jobs", "1",
		    log), 0);
		a = tu_dump_db(db);
		b = tu_dump_db(k2);
		ck_assert_str_eq(a, b);
		if (pass == 0) {
			free(a);
			free(b);
		}
	}
	{
		struct st_source src = source_of(db, log);
		size_t nl = 0, k;

		for (k = 0; k < n; k++)
			nl += data[k] == '\n';
		ck_assert_uint_eq(src.lines, 30 * nl + 1);
		ck_assert_uint_eq(src.done_off, 30 * n + strcspn(data, "\n") + 1);
	}
	free(a);
	free(b);
	free(data);
}
END_TEST

/*
 * --jobs 2 and 3 store what --jobs 1 does, byte for byte in st_dump: a
 * generated era-A log (many chunks), from a file (_i 0), a .gz (1) and
 * standard input (2); small commits, so batches end mid-chunk too.
 */
START_TEST(jobs_equal)
{
	const char *gen = tu_gen_era_a(), *log = tp(1, _i == 1 ? "j.log.gz" : "j.log");
	char cmd[1200], *want = NULL;
	int jobs;

	snprintf(cmd, sizeof(cmd), "%s -n 40000 -s 5 %s > '%s'", gen, _i == 1 ? "| gzip -1" : "",
	    log);
	ck_assert_int_eq(system(cmd), 0);
	for (jobs = 1; jobs <= 3; jobs++) {
		char j[8], db[300], *got;

		snprintf(j, sizeof(j), "%d", jobs);
		snprintf(db, sizeof(db), "%s", tp(0, j));
		if (_i == 2)
			ck_assert_int_eq(run_bin(log, NULL, (const char *const[]){ "ingest", "-q",
			    "-d", db, "--commit-lines", "5000", "--jobs", j, "-", NULL }), 0);
		else
			ck_assert_int_eq(RUN("ingest", "-q", "-d", db, "--commit-lines", "5000",
			    "--jobs", j, log), 0);
		got = tu_dump_db(db);
		ck_assert_msg(strstr(got, "\nrpcs|") != NULL, "nothing stored:\n%.500s", got);
		if (want == NULL)
			want = got;
		else {
			ck_assert_msg(strcmp(got, want) == 0, "--jobs %d stored other rows than "
			    "--jobs 1", jobs);
			free(got);
		}
	}
	free(want);
}
END_TEST

/*
 * Ingests path into db with --jobs 1 and --commit-lines commit_lines,
 * expecting `lines` lines recorded (what names the run in messages); the
 * transactions it handed to the writer.
 */
static uint64_t
ingest_commits(const char *db, const char *path, uint64_t commit_lines, uint64_t lines,
    const char *what)
{
	struct ig_options o;
	struct ig_ingest *ig;
	struct ig_result res;
	struct fs_err err;

	ig_options_default(&o);
	o.commit_lines = commit_lines;
	o.jobs = 1;
	ck_assert_msg((ig = ig_new(db, &o, &err)) != NULL, "%s", err.msg);
	ck_assert_msg(ig_file(ig, path, &res, &err) == 0, "%s: %s", what, err.msg);
	ck_assert_msg(res.lines == lines, "%s: %llu lines, status %d, %s", what,
	    (unsigned long long)res.lines, res.status, res.note);
	ig_free(ig);
	return res.commits;
}

/*
 * Batch sizes (ig_sink_full): one --commit-lines batch would hold all
 * 40 000 lines (5.65 MiB), yet the first batches ramp up (1 MiB, 1, 2, ..)
 * and, in a file of known size, the last ones taper (each at most what was
 * left, at least 1 MiB); a .gz, whose size is unknown, only ramps.  Both
 * store the same rows.  (Ramp steps past 2 MiB are not reached here.)
 */
START_TEST(ramp_taper)
{
	const char *gen = tu_gen_era_a();
	char cmd[1200], *plain, *gz;
	uint64_t commits[2];
	int k;

	snprintf(cmd, sizeof(cmd), "%s -n 40000 -s 5 > '%s' && gzip -1 -c '%s' > '%s'", gen,
	    tp(1, "t.log"), tp(1, "t.log"), tp(2, "t.log.gz"));
	ck_assert_int_eq(system(cmd), 0);
	for (k = 0; k < 2; k++)
		commits[k] = ingest_commits(tp(3 + k, k ? "g.db" : "p.db"),
		    tp(1 + k, k ? "t.log.gz" : "t.log"), 1000000, 40000, k ? ".gz" : "plain");
	/* ramp 1, 1 MiB; taper 1.83 (half of what was left), 1 (the least), 0.82 MiB */
	ck_assert_msg(commits[0] == 5, "plain file: %llu commits", (unsigned long long)commits[0]);
	/* ramp 1, 1, 2 MiB; the rest (1.65 MiB, short of the next step's 4) */
	ck_assert_msg(commits[1] == 4, ".gz: %llu commits", (unsigned long long)commits[1]);
	plain = tu_dump_db(tp(3, "p.db"));
	gz = tu_dump_db(tp(4, "g.db"));
	ck_assert_msg(strstr(plain, "\nrpcs|") != NULL, "nothing stored");
	/* all rows but the source's (its path, size, and .gz flag) */
	ck_assert(strncmp(plain, "sources|", 8) == 0 && strncmp(gz, "sources|", 8) == 0);
	ck_assert_msg(strcmp(strchr(plain, '\n'), strchr(gz, '\n')) == 0,
	    "the ramped and tapered batches stored other rows");
	free(plain);
	free(gz);
}
END_TEST

/*
 * The ramp counts bytes stored by the run, which a resume's replayed lines
 * do not move: a run that resumes after 50 000 stored lines replays them
 * in batches of --commit-lines 20 000 that store nothing, and still starts
 * its stored lines with a 1 MiB batch.  (Counted in batches, the two empty
 * ones had used up the ramp's first steps.)
 */
START_TEST(ramp_resume)
{
	const char *gen = tu_gen_era_a();
	char cmd[1600];
	uint64_t commits;

	snprintf(cmd, sizeof(cmd), "%s -n 100000 -s 5 > '%s' && head -n 50000 '%s' > '%s'", gen,
	    tp(1, "full.log"), tp(1, "full.log"), tp(2, "t.log"));
	ck_assert_int_eq(system(cmd), 0);
	(void)ingest_commits(tp(3, "r.db"), tp(2, "t.log"), 20000, 50000, "first run");
	snprintf(cmd, sizeof(cmd), "cat '%s' > '%s'", tp(1, "full.log"), tp(2, "t.log"));
	ck_assert_int_eq(system(cmd), 0);
	commits = ingest_commits(tp(3, "r.db"), tp(2, "t.log"), 20000, 50000, "resumed run");
	/*
	 * The second run: 2 batches of replayed lines alone, then ramp 1, 1,
	 * 2 MiB, taper 1.53, 1, 0.53 MiB (of 7.07 MiB stored).  With the ramp
	 * counted in batches, the first stored batch waited for 4 MiB and
	 * --commit-lines closed it (1.41 MiB): 7 in all.
	 */
	ck_assert_msg(commits == 8, "resumed run: %llu commits", (unsigned long long)commits);
}
END_TEST

/* Bad inputs: exit 3 and a message naming the file. */
START_TEST(bad_input)
{
	static const char *const what[] = {
		"missing", "directory", "corrupt-gz", "text-db", "foreign-db", "read-only-db"
	};
	const char *db = tp(0, "b.db"), *arg = NULL, *want = NULL;
	char *before = NULL;

	switch (_i) {
	case 0:
		arg = tp(1, "no-such.log");
		want = "no-such.log";
		break;
	case 1:
		arg = tmpdir;
		want = tmpdir;
		break;
	case 2:
		arg = tp(1, "bad.log.gz");
		tu_spit(arg, "w", "\x1f\x8b\x08\x00garbagegarbagegarbage\n", 26);
		want = "bad.log.gz";
		break;
	case 3:
		tu_spit(db, "w", "not a database\n", 15);
		arg = tu_testdata("seed-excerpt.log");
		want = "not a flushscope database";
		break;
	case 4:
		if (system("command -v sqlite3 >/dev/null") != 0)
			return;
		{
			char cmd[700];

			snprintf(cmd, sizeof(cmd), "sqlite3 %s 'CREATE TABLE t(x); INSERT INTO t"
			    " VALUES(1)'", db);
			ck_assert_int_eq(system(cmd), 0);
		}
		arg = tu_testdata("seed-excerpt.log");
		want = "not a flushscope database";
		break;
	case 5:
		ck_assert_int_eq(RUN("ingest", "-q", "-d", db, tu_testdata("seed-excerpt.log")), 0);
		before = tu_dump_db(db);
		{
			char cmd[700];

			/* immutable even for root; skip where chattr is not supported */
			snprintf(cmd, sizeof(cmd), "chattr +i %s 2>/dev/null", db);
			if (system(cmd) != 0) {
				free(before);
				return;
			}
		}
		arg = tu_testdata("sample.log");
		want = "read-only";
		break;
	}
	if (_i < 3) {
		/* something already stored must survive the failed run */
		ck_assert_int_eq(RUN("ingest", "-q", "-d", db, tu_testdata("seed-excerpt.log")), 0);
		before = tu_dump_db(db);
	}
	ck_assert_msg(RUN("ingest", "-q", "-d", db, arg) == 3, "case %s", what[_i]);
	err_has(want);
	if (_i >= 3)
		err_has(db);
	if (_i == 5) {
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "chattr -i %s", db);
		ck_assert_int_eq(system(cmd), 0);
	}
	if (before != NULL) {
		char *after = tu_dump_db(db);

		/* the seed source is intact (a failed file may add its own partial source) */
		assert_rows_kept(before, after);
		free(after);
		free(before);
	}
	if (_i == 3) {
		char *s = tu_slurp(db, NULL);

		ck_assert_str_eq(s, "not a database\n");	/* untouched */
		free(s);
	}
}
END_TEST

/* Usage errors exit 2. */
START_TEST(usage_errors)
{
	ck_assert_int_eq(RUN("ingest", "-d", tp(0, "u.db")), 2);
	err_has("flushscope ingest: missing operand: give FILE...\ntry 'flushscope help ingest'\n");
	ck_assert_int_eq(RUN("ingest", "--format=xml", tu_testdata("seed-excerpt.log")), 2);
	ck_assert_int_eq(RUN("ingest", "--bogus", tu_testdata("seed-excerpt.log")), 2);
	ck_assert_int_eq(RUN("ingest", "--help"), 0);
	out_has("usage: flushscope ingest");
}
END_TEST

/*
 * Unparsed lines are counted, sampled with file:line, never dropped.  The
 * file's last line has no newline: held back from a file (its writer may
 * be mid-line), stored from stdin (nothing will ever complete it).
 */
START_TEST(unparsed_and_stdin)
{
	const char *log = tp(1, "u.log");
	size_t n;
	char *data = tu_slurp(tu_testdata("seed-excerpt.log"), &n);

	tu_spit(log, "w", data, n);
	tu_spit(log, "a", "garbage line one\n", 17);
	tu_spit(log, "a", "garbage line two", 16);	/* no final newline */
	ck_assert_int_eq(RUN("ingest", "-d", tp(0, "u.db"), log), 0);
	err_has("unparsed  1 (first: ");
	err_has("u.log:14: garbage line one");
	err_has("14 lines");
	err_has("u.log:15: held back: unterminated last line (16 bytes)");
	err_has("held back 1 unterminated last line (16 bytes)");
	/* the same through stdin, JSON */
	ck_assert_int_eq(run_bin(log, NULL, (const char *const[]){ "ingest", "-d",
	    tp(0, "u2.db"), "--format=json", "-", NULL }), 0);
	out_has("\"lines\":15,");
	out_has("\"unparsed\":2,");
	out_has("\"line\":14,");
	out_has("\"held_back\":0,\"held_bytes\":0,");
	free(data);
}
END_TEST

/*
 * A pipe or FIFO named by path is a stream: read once, from its start.
 * (Ingest used to read its first 4 KB to identify it, then open it again:
 * a pipe lost those bytes, a FIFO waited for a second writer forever.)
 */
START_TEST(stream_by_path)
{
	const char *fifo = tp(1, "in.fifo"), *out = tp(2, "out.json");
	char cmd[4096];
	size_t n;
	char *got;

	snprintf(cmd, sizeof(cmd), "cat '%s' | timeout 20 '%s' ingest -q -d '%s' --format=json "
	    "/dev/stdin > '%s'", tu_testdata("seed-excerpt.log"), getenv("FS_BIN"), tp(0, "p.db"), out);
	ck_assert_int_eq(system(cmd), 0);
	got = tu_slurp(out, &n);
	ck_assert_msg(strstr(got, "\"lines\":13,") != NULL, "pipe by path: %s", got);
	free(got);
	snprintf(cmd, sizeof(cmd), "mkfifo '%s' && (cat '%s' > '%s' &) && timeout 20 '%s' ingest "
	    "-q -d '%s' --format=json '%s' > '%s'", fifo, tu_testdata("seed-excerpt.log"), fifo,
	    getenv("FS_BIN"), tp(0, "q.db"), fifo, out);
	ck_assert_int_eq(system(cmd), 0);
	got = tu_slurp(out, &n);
	ck_assert_msg(strstr(got, "\"lines\":13,") != NULL, "FIFO: %s", got);
	free(got);
}
END_TEST

/*
 * A held-back line is reported again while the file is unchanged (and the
 * database is not touched); --final stores it; a line stored unfinished
 * (by --final) whose writer then goes on is reported, not stored twice.
 */
START_TEST(held_final)
{
	const char *log = tp(1, "f.log"), *db = tp(0, "f.db");
	size_t n;
	char *data = tu_slurp(tu_testdata("seed-excerpt.log"), &n), *a, *b;
	struct st_source s;

	tu_spit(log, "w", data, n);
	tu_spit(log, "a", "garbage", 7);
	ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json", log), 0);
	out_has("\"lines\":13,\"unparsed\":0,");
	out_has("\"held_back\":1,\"held_bytes\":7,");
	out_has("\"status\":\"new\"");
	s = source_of(db, log);
	ck_assert_int_eq(s.state, ST_SRC_COMPLETE);
	ck_assert_uint_eq(s.done_off, n);
	ck_assert_uint_eq(s.size, n + 7);
	ck_assert_uint_eq(s.lines, 13);

	/* unchanged: nothing read or written, the held line reported again */
	a = tu_dump_db(db);
	ck_assert_int_eq(RUN("ingest", "-d", db, "--format=csv", log), 0);
	out_has("\nlines,0\n");
	out_has("\nheld_back,1\nheld_bytes,7\n");
	b = tu_dump_db(db);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);

	/* --final: the writer is gone, store it */
	ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json", "--final", log), 0);
	out_has("\"lines\":1,\"unparsed\":1,");
	out_has("\"held_back\":0,");
	out_has("\"status\":\"resumed\"");
	s = source_of(db, log);
	ck_assert_uint_eq(s.done_off, n + 7);
	ck_assert_uint_eq(s.lines, 14);
	ck_assert_uint_eq(s.unparsed, 1);
	ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json", "--final", log), 0);
	out_has("\"status\":\"unchanged\"");
	out_has("\"held_back\":0,");

	/* ... and one --final run of the same file stores the same rows */
	ck_assert_int_eq(RUN("ingest", "-q", "--final", "-d", tp(2, "f2.db"), log), 0);
	a = tu_dump_db(db);
	b = tu_dump_db(tp(2, "f2.db"));
	ck_assert_str_eq(a, b);
	free(a);
	free(b);

	/* the writer was not gone after all: the rest of that line is reported */
	tu_spit(log, "a", " more\n", 6);
	tu_spit(log, "a", data, strcspn(data, "\n") + 1);
	ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json", log), 0);
	out_has("\"lines\":1,\"unparsed\":0,");
	err_has("f.log:14: this line was stored unfinished by an earlier ingest");
	s = source_of(db, log);
	ck_assert_uint_eq(s.lines, 15);
	ck_assert_uint_eq(s.unparsed, 1);
	free(data);
}
END_TEST

/* Standard input (0) and .gz (1) end for good: their unterminated last line is stored. */
START_TEST(held_not_for_streams)
{
	const char *log = tp(1, "s.log"), *gz = tp(3, "s.log.gz"), *db = tp(0, "s.db");
	size_t n;
	char *data = tu_slurp(tu_testdata("seed-excerpt.log"), &n);

	tu_spit(log, "w", data, n);
	tu_spit(log, "a", "garbage", 7);
	if (_i == 0)
		ck_assert_int_eq(run_bin(log, NULL, (const char *const[]){ "ingest", "-d", db,
		    "--format=json", "-", NULL }), 0);
	else {
		gzFile z = gzopen(gz, "wb");

		ck_assert_ptr_nonnull(z);
		ck_assert_int_eq(gzwrite(z, data, (unsigned)n), (int)n);
		ck_assert_int_eq(gzwrite(z, "garbage", 7), 7);
		ck_assert_int_eq(gzclose(z), Z_OK);
		ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json", gz), 0);
	}
	out_has("\"lines\":14,\"unparsed\":1,");
	out_has("\"held_back\":0,\"held_bytes\":0,");
	if (_i == 1) {
		struct st_source s = source_of(db, gz);

		ck_assert_uint_eq(s.done_off, n + 7);
		ck_assert_uint_eq(s.lines, 14);
		/* and again: unchanged, nothing held */
		ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json", gz), 0);
		out_has("\"status\":\"unchanged\"");
		out_has("\"held_back\":0,");
	}
	free(data);
}
END_TEST

/* Collects the RPC rows of one line (src_off == want). */
struct rpc_at {
	uint64_t want;
	int n;
	struct st_rpc row;
};

/* Callback of tu_walk: keeps the rows of the wanted line. */
static int
rpc_at_cb(void *arg, const union st_row *row_)
{
	const struct st_rpc *r = &row_->rpc;
	struct rpc_at *c = arg;

	if (r->src_off == c->want) {
		c->n++;
		c->row = *r;
	}
	return 0;
}

/*
 * The writer is mid-line when ingest runs: the file ends in an unterminated
 * line (an RPC send, cut at `cut` bytes of it, -1 = all but the newline).
 * Then the line is completed and the rest of the log appended.  The resumed
 * ingest must store the completed line exactly once, as its full text
 * parses, and end equal to a one-shot ingest of the finished file.
 */
START_TEST(held_last_line)
{
	static const struct {
		const char *what;
		long cut;		/* bytes of the line written first; -1 = all but '\n' */
	} cases[] = {
		{ "mid-header", 16 },
		{ "mid-message", 220 },
		{ "all but the newline", -1 },
	};
	const char *log = tp(1, "h.log"), *db = tp(0, "h.db");
	size_t n, line_off, line_len, cut;
	char *data = tu_slurp(tu_testdata("sample.log"), &n), *a, *b, *p;
	struct rpc_at c;
	struct fs_err err;
	struct st_store *st;
	struct st_source src;
	struct st_filter f;
	char abs[4096];

	/* the sample's second RPC send (off=1048576 sz=1048576 op=1) */
	p = strstr(data, " off=1048576 sz=1048576 op=1\n");
	ck_assert_ptr_nonnull(p);
	while (p > data && p[-1] != '\n')
		p--;
	line_off = (size_t)(p - data);
	line_len = strcspn(p, "\n");
	cut = cases[_i].cut < 0 ? line_len : (size_t)cases[_i].cut;
	ck_assert_uint_lt(cut, line_len + 1);

	tu_spit(log, "w", data, line_off + cut);
	ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json", log), 0);
	tu_spit(log, "a", data + line_off + cut, n - line_off - cut);
	ck_assert_int_eq(RUN("ingest", "-d", db, "--format=json", log), 0);
	out_has("\"status\":\"resumed\"");

	/* the completed line: one RPC row with its full size; nothing unparsed */
	ck_assert_ptr_nonnull(realpath(log, abs));
	st = st_open(db, ST_OPEN_READONLY, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	memset(&c, 0, sizeof(c));
	c.want = line_off;
	st_filter_init(&f);
	ck_assert_int_eq(tu_walk(st, ST_RPCS, &f, rpc_at_cb, &c), 0);
	ck_assert_msg(c.n == 1, "%s: %d rows for the completed line", cases[_i].what, c.n);
	ck_assert_int_eq(c.row.kind, ST_RPC_SEND);
	ck_assert_int_eq(c.row.sz, 1048576);
	ck_assert_int_eq(c.row.off, 1048576);
	ck_assert_int_eq(st_source_find_path(st, abs, NULL, &src, &err), 1);
	ck_assert_msg(src.unparsed == 0, "%s: %d unparsed", cases[_i].what, (int)src.unparsed);
	ck_assert_int_eq(src.lines, tu_count_lines(tu_testdata("sample.log")));
	st_close(st);

	/* and the same database as one ingest of the finished file */
	ck_assert_int_eq(RUN("ingest", "-q", "-d", tp(2, "h2.db"), log), 0);
	a = tu_dump_db(db);
	b = tu_dump_db(tp(2, "h2.db"));
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	free(data);
}
END_TEST

/* A database write failure (file size limit: like a full disk) exits 3, keeps old rows. */
START_TEST(disk_full)
{
	const char *db = tp(0, "f.db"), *log = tp(1, "f.log");
	char *data, *before, *after;
	size_t n;
	int i;
	pid_t pid;
	int st;

	ck_assert_int_eq(RUN("ingest", "-q", "-d", db, tu_testdata("seed-excerpt.log")), 0);
	before = tu_dump_db(db);
	data = tu_slurp(tu_testdata("sample.log"), &n);
	tu_spit(log, "w", data, n);
	for (i = 0; i < 9; i++)
		tu_spit(log, "a", data, n);
	free(data);
	if ((pid = fork()) == 0) {
		struct rlimit rl = { 2u << 20, 2u << 20 };
		int fd = open(tp(7, "err"), O_WRONLY | O_CREAT | O_TRUNC, 0644);

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		dup2(fd, 2);
		execl(tu_fsbin(), tu_fsbin(), "ingest", "-q", "-d", db, "--keep-text", log,
		    (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3, "status %d", st);
	err_has(db);
	after = tu_dump_db(db);
	assert_rows_kept(before, after);
	free(before);
	free(after);
}
END_TEST

/* `flushscope spins` reads the same episodes from the database as from the log. */
START_TEST(spins_agree)
{
	char *a, *b, *pa, *pb;

	ck_assert_int_eq(RUN("ingest", "-q", "-d", tp(0, "a.db"), tu_testdata("sample.log")), 0);
	if (RUN("spins", "--help") != 0)
		return;		/* no spins command in this build */
	ck_assert_int_eq(RUN("spins", "--format=json", "-d", tp(0, "a.db")), 0);
	a = tu_slurp(tp(7, "out"), NULL);
	ck_assert_int_eq(RUN("spins", "--format=json", tu_testdata("sample.log")), 0);
	b = tu_slurp(tp(7, "out"), NULL);
	/* the line count is known only when reading the file: compare up to it */
	if ((pa = strstr(a, "\"lines\":")) != NULL)
		*pa = '\0';
	if ((pb = strstr(b, "\"lines\":")) != NULL)
		*pb = '\0';
	ck_assert_uint_gt(strlen(a), 1000);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}
END_TEST

struct trace_ctx {
	const char *file;		/* the log's bytes */
	size_t n;
	int rows, bad;
	uint64_t lines;
};

/* The line of the log starting at off must be the stored text. */
static int
trace_line(void *arg, const union st_row *row_)
{
	const struct st_line *l = &row_->line;
	struct trace_ctx *c = arg;

	c->lines++;
	if (l->src_off + l->len > c->n || memcmp(c->file + l->src_off, l->text, l->len) != 0)
		c->bad++;
	return 0;
}

/* An RPC row's offset must lead to a send (off= sz=) or done line. */
static int
trace_rpc(void *arg, const union st_row *row_)
{
	const struct st_rpc *r = &row_->rpc;
	struct trace_ctx *c = arg;
	const char *line = c->file + r->src_off;
	size_t n = strcspn(line, "\n");
	char *t = strndup(line, n);

	c->rows++;
	if (r->kind == ST_RPC_SEND ? strstr(t, " op=1") == NULL : strstr(t, "done (") == NULL)
		c->bad++;
	free(t);
	return 0;
}

/* An episode's first and last offsets lead to `try flush` lines of its bmap. */
static int
trace_episode(void *arg, const union st_row *row_)
{
	const struct st_episode_row *e = &row_->episode;
	struct trace_ctx *c = arg;
	uint64_t offs[2] = { e->ep.first_off, e->ep.last_off };
	int k;

	c->rows++;
	for (k = 0; k < 2; k++) {
		const char *line = c->file + offs[k];
		char *t = strndup(line, strcspn(line, "\n")), want[64];

		snprintf(want, sizeof(want), " b:%x ", e->ep.bno);
		if (strstr(t, "try flush") == NULL || strstr(t, want) == NULL)
			c->bad++;
		free(t);
	}
	return 0;
}

/* A state row leads to a line where the bmap left the flush queue. */
static int
trace_state(void *arg, const union st_row *row_)
{
	const struct st_state *r = &row_->state;
	struct trace_ctx *c = arg;
	const char *line = c->file + r->src_off;
	char *t = strndup(line, strcspn(line, "\n"));

	c->rows++;
	if (r->kind != PS_EV_CLEAN || (strstr(t, "added to bmapTimeoutQ") == NULL &&
	    strstr(t, "unset DIRTY") == NULL && strstr(t, "is clean") == NULL))
		c->bad++;
	free(t);
	return 0;
}

/* Every row leads back to its line through (source, byte offset). */
START_TEST(traceable)
{
	struct trace_ctx c;
	struct st_filter f;
	struct fs_err err;
	struct st_store *st;
	char *file;
	size_t n;

	ck_assert_int_eq(RUN("ingest", "-q", "--keep-text", "-d", tp(0, "tr.db"),
	    tu_testdata("sample.log")), 0);
	file = tu_slurp(tu_testdata("sample.log"), &n);
	memset(&c, 0, sizeof(c));
	c.file = file;
	c.n = n;
	st = st_open(tp(0, "tr.db"), ST_OPEN_READONLY, &err);
	ck_assert_msg(st != NULL, "%s", err.msg);
	st_filter_init(&f);
	ck_assert_int_eq(tu_walk(st, ST_LINES, NULL, trace_line, &c), 0);
	ck_assert_uint_eq(c.lines, (uint64_t)tu_count_lines(tu_testdata("sample.log")));
	/* the bundled sample: 225 RPCs sent and completed, 6 episodes, 12 bmaps
	 * leaving the queue (see README "Two commands" for how it was made) */
	ck_assert_int_eq(tu_walk(st, ST_RPCS, &f, trace_rpc, &c), 0);
	ck_assert_int_eq(c.rows, 450);
	c.rows = 0;
	ck_assert_int_eq(tu_walk(st, ST_EPISODES, &f, trace_episode, &c), 0);
	ck_assert_int_eq(c.rows, 6);
	c.rows = 0;
	ck_assert_int_eq(tu_walk(st, ST_STATES, &f, trace_state, &c), 0);
	ck_assert_int_eq(c.rows, 12);
	ck_assert_int_eq(c.bad, 0);
	st_close(st);
	free(file);
}
END_TEST

/* Builds the ingest suite. */
Suite *
ingest_suite(void)
{
	Suite *s = suite_create("ingest");
	TCase *tc = tcase_create("cli");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, seed_json);
	tcase_add_test(tc, sample_table);
	tcase_add_loop_test(tc, idempotent, 0, TU_NBACKENDS);
	tcase_add_test(tc, forced_rows);
	tcase_add_test(tc, cut_line);
	tcase_add_loop_test(tc, grown, 0, TU_NBACKENDS);
	tcase_add_loop_test(tc, truncated_rotated, 0, 3);
	/* each backend, --jobs 1 then --jobs 2 */
	tcase_add_loop_test(tc, kill_resume, 0, 2 * TU_NBACKENDS);
	tcase_add_loop_test(tc, jobs_equal, 0, 3);
	tcase_add_test(tc, ramp_taper);
	tcase_add_test(tc, ramp_resume);
	tcase_add_loop_test(tc, bad_input, 0, 6);
	tcase_add_test(tc, usage_errors);
	tcase_add_test(tc, unparsed_and_stdin);
	tcase_add_loop_test(tc, held_last_line, 0, 3);
	tcase_add_test(tc, held_final);
	tcase_add_test(tc, stream_by_path);
	tcase_add_loop_test(tc, held_not_for_streams, 0, 2);
	tcase_add_test(tc, disk_full);
	tcase_add_test(tc, spins_agree);
	tcase_add_test(tc, traceable);
	suite_add_tcase(s, tc);
	return s;
}
