/*
 * A fleet of clients in one database (issue 16), through the real binary:
 * logs of several clients ingested at the same moment are one source each,
 * a second round adds nothing, spins --by client names and ranks every
 * client, --client narrows every reading command; and a PostgreSQL server
 * gives the same answers as an SQLite file (spins, extract, replay).  The
 * cases run against both backends where both apply (loop index = backend).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "tests/testutil.h"

Suite *fleet_suite(void);

static char tmpdir[256];

#define tp(slot, name) tu_path(tmpdir, (slot), (name))

/* Creates a private temporary directory. */
static void
setup(void)
{
	tu_mkdtemp(tmpdir, sizeof(tmpdir), "fleet");
}

/* Removes it. */
static void
teardown(void)
{
	tu_rmtree(tmpdir);
}

/*
 * Starts FS_BIN with args (NULL-terminated), stdout into file `out` of the
 * temporary directory (NULL: /dev/null), stderr into "err-<pid>"; returns
 * the pid.
 */
static pid_t
start(const char *out, const char *const *args)
{
	const char *argv[32];
	pid_t pid;
	int n = 0;

	argv[n++] = tu_fsbin();
	while (*args != NULL && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	if ((pid = fork()) == 0) {
		char err[300];
		int fd1 = open(out ? tp(6, out) : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fd2;

		snprintf(err, sizeof(err), "%s/err-%ld", tmpdir, (long)getpid());
		fd2 = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd1, 1);
		dup2(fd2, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	return pid;
}

/* Waits for pid; its exit status. */
static int
wait_for(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs FS_BIN to the end; its exit status. */
#define RUN(out, ...) wait_for(start((out), (const char *const[]){ __VA_ARGS__, NULL }))

/* The stderr of run pid. */
static char *
err_of(pid_t pid)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/err-%ld", tmpdir, (long)pid);
	return tu_slurp(path, NULL);
}

/* A copy of testdata file name at the temporary directory's name `as`. */
static const char *
copy_log(const char *name, int slot, const char *as)
{
	size_t n;
	char *d = tu_slurp(tu_testdata(name), &n);
	const char *p = tp(slot, as);

	tu_spit(p, "w", d, n);
	free(d);
	return p;
}

/* Counts the sources of db (and those of client, when not NULL). */
static int
sources(const char *db, const char *client)
{
	struct fs_err err;
	struct st_store *st = st_open(db, ST_OPEN_READONLY, &err);
	struct st_filter f;
	struct st_cursor *c;
	const union st_row *row;
	int n = 0;

	ck_assert_msg(st != NULL, "%s", err.msg);
	st_filter_init(&f);
	f.client = client;
	c = st_cursor_open(st, ST_SOURCES, &f, &err);
	ck_assert_msg(c != NULL, "%s", err.msg);
	while (st_cursor_next(c, &row, &err) == 1)
		n++;
	st_cursor_close(c);
	st_close(st);
	return n;
}

/*
 * Ingests the three clients' logs into db (all succeed): at the same
 * moment, or one after the other (then source ids follow the order).
 */
static void
ingest_three(const char *db, const char *a, const char *b, const char *c, int at_once)
{
	pid_t p[3];
	int i;

	p[0] = start(NULL, (const char *const[]){ "ingest", "-q", "-d", db, "--client", "alpha",
	    "--commit-lines", "200", a, NULL });
	if (!at_once)
		ck_assert_int_eq(wait_for(p[0]), 0);
	p[1] = start(NULL, (const char *const[]){ "ingest", "-q", "-d", db, "--client", "beta",
	    b, NULL });
	if (!at_once)
		ck_assert_int_eq(wait_for(p[1]), 0);
	p[2] = start(NULL, (const char *const[]){ "ingest", "-q", "-d", db, "--client", "gamma",
	    "--commit-lines", "150", c, NULL });
	for (i = at_once ? 0 : 2; i < 3; i++) {
		int rc = wait_for(p[i]);
		char *e = err_of(p[i]);

		ck_assert_msg(rc == 0, "ingest %d: status %d: %s", i, rc, e);
		free(e);
	}
}

/*
 * Three clients at once (gamma's log is a copy of alpha's, on another
 * client: another source): exactly three sources; again: nothing added;
 * spins --by client names the three, gamma's figures alpha's.
 */
START_TEST(clients_at_once)
{
	const char *a = copy_log("sample.log", 1, "client.log");
	const char *b = copy_log("spins/era-z.log", 2, "b.log");
	const char *c = copy_log("sample.log", 3, "c.log");
	char db[1024], *d1, *d2, *csv, *line;

	snprintf(db, sizeof(db), "%s", tu_db(_i, tmpdir, 0, "fleet.db"));
	ingest_three(db, a, b, c, 1);
	ck_assert_int_eq(sources(db, NULL), 3);
	ck_assert_int_eq(sources(db, "beta"), 1);
	d1 = tu_dump_db(db);
	ingest_three(db, a, b, c, 1);
	d2 = tu_dump_db(db);
	ck_assert_msg(strcmp(d1, d2) == 0, "a second round changed the database");
	ck_assert_int_eq(RUN("clients.csv", "spins", "-d", db, "--by", "client", "--format",
	    "csv"), 0);
	csv = tu_slurp(tp(6, "clients.csv"), NULL);
	ck_assert_msg(strncmp(csv, "client,wasted_per_s,", 20) == 0, "%s", csv);
	ck_assert_ptr_nonnull(strstr(csv, "\n\"alpha\",55.4,113,125,6,80000002d907b,1,57,"));
	ck_assert_ptr_nonnull(strstr(csv, "\n\"gamma\",55.4,113,125,6,80000002d907b,1,57,"));
	/* beta: the fastest waste, ranked first */
	line = strchr(csv, '\n') + 1;
	ck_assert_msg(strncmp(line, "\"beta\",", 7) == 0, "%s", csv);
	free(csv);
	ck_assert_int_eq(RUN("clients.json", "spins", "-d", db, "--by", "client", "--format",
	    "json"), 0);
	csv = tu_slurp(tp(6, "clients.json"), NULL);
	ck_assert_msg(strstr(csv, "\"clients\":[\n{\"client\":\"beta\",") != NULL, "%s", csv);
	ck_assert_ptr_nonnull(strstr(csv, "{\"client\":\"gamma\",\"wasted_per_s\":55.3536,"));
	ck_assert_ptr_nonnull(strstr(csv, "\"worst_bmap\":{\"fid\":\"80000002d907b\",\"bmapno\":1,"
	    "\"cycles\":57}"));
	free(csv);
	/* --client narrows: beta's one episode */
	ck_assert_int_eq(RUN("beta.csv", "spins", "-d", db, "--client", "beta", "--format",
	    "csv"), 0);
	csv = tu_slurp(tp(6, "beta.csv"), NULL);
	ck_assert_ptr_nonnull(strstr(csv, "\n1,msflushthr3,"));
	ck_assert_ptr_null(strstr(csv, "\n2,"));
	free(csv);
	/* without --client, a new source's client is unknown */
	ck_assert_int_eq(RUN(NULL, "ingest", "-q", "-d", db, tu_testdata("seed-excerpt.log")), 0);
	ck_assert_int_eq(sources(db, "unknown"), 1);
	free(d1);
	free(d2);
}
END_TEST

/* Runs a reading command's args with -d db into file out; its text. */
static char *
read_cmd(const char *out, const char *cmd, const char *db, const char *extra)
{
	if (extra != NULL)
		ck_assert_int_eq(RUN(out, cmd, "-d", db, extra, "--format", "csv"), 0);
	else if (strcmp(cmd, "extract") == 0)
		ck_assert_int_eq(RUN(out, cmd, "-d", db), 0);
	else
		ck_assert_int_eq(RUN(out, cmd, "-d", db, "--format", "csv"), 0);
	return tu_slurp(tp(6, out), NULL);
}

/* Drops the "# source: ..." line of a workload (it names the database). */
static void
drop_source_line(char *w)
{
	char *p = strstr(w, "# source: ");

	if (p != NULL) {
		char *e = strchr(p, '\n');

		memmove(p, e + 1, strlen(e + 1) + 1);
	}
}

/*
 * The same logs in an SQLite file and on the server: spins (episodes and
 * threads, by bmap, by client, one client), extract and replay answer the
 * same, byte for byte.  (replay is of one client: the engine replays one
 * client's flush thread.)
 */
START_TEST(same_answers)
{
	static const struct { const char *cmd, *extra; } cmds[] = {
		{ "spins", NULL }, { "spins", "--by=bmap" }, { "spins", "--by=client" },
		{ "spins", "--client=beta" }, { "extract", NULL }, { "replay", "--client=alpha" },
	};
	const char *a = copy_log("sample.log", 1, "client.log");
	const char *b = copy_log("spins/era-z.log", 2, "b.log");
	const char *c = copy_log("sample.log", 3, "c.log");
	char file[1024], server[1024];
	size_t i;

	snprintf(file, sizeof(file), "%s", tu_db(TU_SQLITE, tmpdir, 0, "f.db"));
	snprintf(server, sizeof(server), "%s", tu_db(TU_PG, tmpdir, 4, "x"));
	ingest_three(file, a, b, c, 0);
	ingest_three(server, a, b, c, 0);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char *x = read_cmd("x.out", cmds[i].cmd, file, cmds[i].extra);
		char *y = read_cmd("y.out", cmds[i].cmd, server, cmds[i].extra);

		drop_source_line(x);
		drop_source_line(y);
		ck_assert_msg(strlen(x) > 40, "%s %s: little output: %s", cmds[i].cmd,
		    cmds[i].extra ? cmds[i].extra : "", x);
		if (strcmp(x, y) != 0) {
			size_t k = 0;

			while (x[k] == y[k])
				k++;
			k = k > 200 ? k - 200 : 0;
			ck_abort_msg("%s %s differs at byte %zu:\n%.400s\n---\n%.400s", cmds[i].cmd,
			    cmds[i].extra ? cmds[i].extra : "", k, x + k, y + k);
		}
		free(x);
		free(y);
	}
}
END_TEST

/* A URI's password is never shown, whatever fails. */
START_TEST(no_password_shown)
{
	char uri[600], *e;
	const char *dir = getenv("FS_PG_DIR");
	pid_t p;

	ck_assert_msg(dir != NULL, "FS_PG_DIR is not set (run through make check)");
	snprintf(uri, sizeof(uri), "postgresql://fs:s3cret@/nosuchdb?host=%s", dir);
	p = start(NULL, (const char *const[]){ "spins", "-d", uri, NULL });
	ck_assert_int_ne(wait_for(p), 0);
	e = err_of(p);
	ck_assert_msg(strstr(e, "s3cret") == NULL, "%s", e);
	ck_assert_msg(strstr(e, "postgresql://fs:***@/nosuchdb") != NULL, "%s", e);
	free(e);
	p = start(NULL, (const char *const[]){ "ingest", "-q", "-d", uri,
	    tu_testdata("sample.log"), NULL });
	ck_assert_int_ne(wait_for(p), 0);
	e = err_of(p);
	ck_assert_msg(strstr(e, "s3cret") == NULL, "%s", e);
	free(e);
}
END_TEST

/*
 * Without --client, a source's client is the syslog host its lines carry
 * (the first one): in the database and for spins on the file alike.
 */
START_TEST(client_from_syslog)
{
	size_t n, i, k = 0;
	char *d = tu_slurp(tu_testdata("sample.log"), &n), *out, db[1024];
	static const char pfx[] = "Aug 20 18:00:06 client42 mount_slash[4242]: ";
	char *w = malloc(n + 1381 * sizeof(pfx) + sizeof(pfx));

	ck_assert_ptr_nonnull(w);
	for (i = 0; i < n; i++) {
		if (i == 0 || d[i - 1] == '\n') {
			memcpy(w + k, pfx, sizeof(pfx) - 1);
			k += sizeof(pfx) - 1;
		}
		w[k++] = d[i];
	}
	tu_spit(tp(1, "sys.log"), "w", w, k);
	snprintf(db, sizeof(db), "%s", tu_db(_i, tmpdir, 0, "s.db"));
	ck_assert_int_eq(RUN(NULL, "ingest", "-q", "-d", db, tp(1, "sys.log")), 0);
	ck_assert_int_eq(sources(db, "client42"), 1);
	ck_assert_int_eq(RUN("c.csv", "spins", "-d", db, "--by", "client", "--format", "csv"), 0);
	out = tu_slurp(tp(6, "c.csv"), NULL);
	ck_assert_msg(strstr(out, "\n\"client42\",55.4,113,125,6,") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(RUN("f.csv", "spins", "--by", "client", "--format", "csv",
	    tp(1, "sys.log")), 0);
	out = tu_slurp(tp(6, "f.csv"), NULL);
	ck_assert_msg(strstr(out, "\n\"client42\",55.4,113,125,6,") != NULL, "%s", out);
	free(out);
	free(w);
	free(d);
}
END_TEST

/* Builds the fleet suite. */
Suite *
fleet_suite(void)
{
	Suite *s = suite_create("fleet");
	TCase *tc = tcase_create("clients");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, clients_at_once, 0, TU_NBACKENDS);
	tcase_add_test(tc, same_answers);
	tcase_add_loop_test(tc, client_from_syslog, 0, TU_NBACKENDS);
	tcase_add_test(tc, no_password_shown);
	suite_add_tcase(s, tc);
	return s;
}
