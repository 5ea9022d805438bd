/*
 * The command line (cmd/opt): the value parsers, the GNU grammar, the
 * agreement of each option table with its man page and --help, and the
 * real binary's behaviour on the edges: every time option of every command
 * with a bare number and with units, options before and after operands,
 * and inputs that are not logs (/etc/passwd, a binary, an empty file, a
 * fake .gz) through every command.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/model.h"
#include "cmd/opt.h"
#include "tests/testutil.h"

Suite *cmd_suite(void);

/* ---- the value parsers ---- */

static const struct {
	const char *in;
	int ok;
	uint64_t ns;
} dur_cases[] = {
	{ "50ms", 1, 50000000 }, { "50us", 1, 50000 }, { "50\xc2\xb5s", 1, 50000 },
	{ "0.05s", 1, 50000000 }, { "800ns", 1, 800 }, { "1.5min", 1, 90000000000ull },
	{ "2h", 1, 7200000000000ull }, { "0", 1, 0 }, { "0.0", 1, 0 }, { ".5ms", 1, 500000 },
	{ "50", 0, 0 }, { "1.5", 0, 0 }, { "", 0, 0 }, { "ms", 0, 0 }, { "-5ms", 0, 0 },
	{ "5 parsecs", 0, 0 }, { "1e3ms", 0, 0 }, { "0x10ms", 0, 0 }, { "inf", 0, 0 },
	{ "5ms5", 0, 0 },
};

START_TEST(parse_duration)
{
	struct fs_err err;
	uint64_t ns = 12345;
	int r;

	fs_err_clear(&err);
	r = fs_parse_duration(dur_cases[_i].in, 0, &ns, &err);
	ck_assert_msg((r == 0) == dur_cases[_i].ok, "'%s': %d (%s)", dur_cases[_i].in, r, err.msg);
	if (dur_cases[_i].ok)
		ck_assert_uint_eq(ns, dur_cases[_i].ns);
	else
		ck_assert_msg(strstr(err.msg, dur_cases[_i].in) != NULL, "message '%s' does not "
		    "quote the value", err.msg);
}
END_TEST

/* A bare number is refused with the units named; top's -d takes seconds. */
START_TEST(parse_duration_bare)
{
	struct fs_err err;
	uint64_t ns;

	fs_err_clear(&err);
	ck_assert_int_eq(fs_parse_duration("50", 0, &ns, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "no unit"));
	ck_assert_ptr_nonnull(strstr(err.msg, "ms"));
	ck_assert_ptr_nonnull(strstr(err.msg, "us"));
	ck_assert_int_eq(fs_parse_duration("2", 1e9, &ns, &err), 0);
	ck_assert_uint_eq(ns, 2000000000ull);
	ck_assert_int_eq(fs_parse_duration("0.5", 1e9, &ns, &err), 0);
	ck_assert_uint_eq(ns, 500000000ull);
}
END_TEST

static const struct {
	const char *in;
	int ok;
	uint64_t b;
} size_cases[] = {
	{ "4096", 1, 4096 }, { "32K", 1, 32768 }, { "32k", 1, 32768 }, { "1M", 1, 1048576 },
	{ "1MiB", 1, 1048576 }, { "1.5K", 1, 1536 }, { "2G", 1, 2147483648ull }, { "0", 1, 0 },
	{ "1.1", 0, 0 }, { "1T", 0, 0 }, { "K", 0, 0 }, { "-1", 0, 0 }, { "1 MB", 0, 0 },
};

START_TEST(parse_size)
{
	struct fs_err err;
	uint64_t b = 7;
	int r;

	fs_err_clear(&err);
	r = fs_parse_size(size_cases[_i].in, &b, &err);
	ck_assert_msg((r == 0) == size_cases[_i].ok, "'%s': %d (%s)", size_cases[_i].in, r, err.msg);
	if (size_cases[_i].ok)
		ck_assert_uint_eq(b, size_cases[_i].b);
}
END_TEST

static const struct {
	const char *in;
	int ok;
	double v;
} ratio_cases[] = {
	{ "0.9", 1, 0.9 }, { "90%", 1, 0.9 }, { "90 %", 1, 0.9 }, { "1", 1, 1 }, { "0", 1, 0 },
	{ "-0.1", 1, -0.1 }, { "90", 0, 0 }, { "0.9x", 0, 0 }, { "", 0, 0 }, { "%", 0, 0 },
};

START_TEST(parse_ratio)
{
	struct fs_err err;
	double v = -7;
	int r;

	fs_err_clear(&err);
	r = fs_parse_ratio(ratio_cases[_i].in, &v, &err);
	ck_assert_msg((r == 0) == ratio_cases[_i].ok, "'%s': %d (%s)", ratio_cases[_i].in, r,
	    err.msg);
	if (ratio_cases[_i].ok)
		ck_assert_double_eq_tol(v, ratio_cases[_i].v, 1e-12);
}
END_TEST

/*
 * Durations printed: three digits in the unit that holds them after
 * rounding (999.6 us once printed as "1e+03 us"); and exactly, as an option
 * value that reads back the same.
 */
static const struct {
	double ns;
	const char *human;
	uint64_t exact_ns;
	const char *exact;
} fmt_cases[] = {
	{ 999.6e3, "1 ms", 999600, "999600ns" },
	{ 999.4e3, "999 us", 2048000, "2048us" },
	{ 2.07e6, "2.07 ms", 5000000, "5ms" },
	{ 999.7e6, "1 s", 1500000000, "1500ms" },
	{ 500, "500 ns", 0, "0" },
	{ 2e9, "2 s", 7200000000000ull, "2h" },
};

START_TEST(fmt_duration)
{
	char buf[32];
	uint64_t back;
	struct fs_err err;

	fs_fmt_duration(buf, sizeof(buf), fmt_cases[_i].ns);
	ck_assert_str_eq(buf, fmt_cases[_i].human);
	fs_fmt_duration_arg(buf, sizeof(buf), fmt_cases[_i].exact_ns);
	ck_assert_str_eq(buf, fmt_cases[_i].exact);
	ck_assert_int_eq(fs_parse_duration(buf, 0, &back, &err), 0);
	ck_assert_uint_eq(back, fmt_cases[_i].exact_ns);
}
END_TEST

/* --set [POLICY:]NAME=VALUE: the tunable, its unit, its range, and back. */
static const struct {
	const char *in;
	const char *policy, *name;
	uint64_t value;
	const char *back;		/* fs_setting_arg; NULL: refused */
} set_cases[] = {
	{ "max_age=5ms", "", "max_age_ns", 5000000, "max_age=5ms" },
	{ "max_age_ns=2048us", "", "max_age_ns", 2048000, "max_age=2048us" },
	{ "deadline:batch=0", "deadline", "batch_ns", 0, "deadline:batch=0" },
	{ "head:threads=4", "head", "threads", 4, "head:threads=4" },
	{ "window=64", "", "window", 64, "window=64" },
	{ "2011-08:safety_timeout=1.5s", "2011-08", "safety_timeout_ns", 1500000000,
	    "2011-08:safety_timeout=1500ms" },
	{ "max_age=5", NULL, NULL, 0, NULL },		/* a duration needs its unit */
	{ "window=0", NULL, NULL, 0, NULL },		/* below the engine's range */
	{ "window=6.5", NULL, NULL, 0, NULL },
	{ "window=", NULL, NULL, 0, NULL },
	{ "nosuch=1", NULL, NULL, 0, NULL },
	{ "bogus:window=4", NULL, NULL, 0, NULL },
	{ "window", NULL, NULL, 0, NULL },
	{ "=4", NULL, NULL, 0, NULL },
};

START_TEST(parse_setting)
{
	struct fs_settings ss;
	struct fs_err err;
	char back[64];
	int r;

	memset(&ss, 0, sizeof(ss));
	fs_err_clear(&err);
	r = fs_parse_setting(set_cases[_i].in, &ss, &err);
	if (set_cases[_i].back == NULL) {
		ck_assert_msg(r < 0 && ss.n == 0, "'%s' was taken", set_cases[_i].in);
		ck_assert_msg(err.msg[0] != '\0', "'%s': no message", set_cases[_i].in);
		return;
	}
	ck_assert_msg(r == 0, "'%s': %s", set_cases[_i].in, err.msg);
	ck_assert_int_eq(ss.n, 1);
	ck_assert_str_eq(ss.v[0].policy, set_cases[_i].policy);
	ck_assert_str_eq(ss.v[0].name, set_cases[_i].name);
	ck_assert_uint_eq(ss.v[0].value, set_cases[_i].value);
	fs_setting_arg(&ss.v[0], back, sizeof(back));
	ck_assert_str_eq(back, set_cases[_i].back);
	/* and what it prints reads back the same */
	ck_assert_int_eq(fs_parse_setting(back, &ss, &err), 0);
	ck_assert_uint_eq(ss.v[1].value, ss.v[0].value);
	ck_assert_str_eq(ss.v[1].name, ss.v[0].name);
}
END_TEST

/* ---- the grammar, on a table of its own ---- */

struct targs {
	int flag, b;
	const char *str;
	long long count;
	uint64_t dur;
	int choice;
};

static const struct fs_opt topts[] = {
	FS_OPT_FLAG('f', "flag", struct targs, flag, "a flag"),
	FS_OPT_FLAG('b', "bee", struct targs, b, "another flag"),
	FS_OPT_STRING('s', "str", struct targs, str, "S", "dflt", "a string"),
	FS_OPT_COUNT('n', "count", struct targs, count, "N", "3", 1, 10, "a count"),
	FS_OPT_DURATION(0, "gap", struct targs, dur, "50ms", 1e3, 1e9, "a duration"),
	FS_OPT_CHOICE(0, "format", struct targs, choice, "table|csv|json", "table", "a choice"),
	FS_OPT_GONE("gap-us", "use --gap DURATION"),
	FS_OPT_END
};

static const struct fs_cmdspec tspec = {
	.name = "test", .usage = { "FILE..." }, .min_ops = 1, .max_ops = 3,
	.summary = "A test command.", .opts = topts,
};

/* Parses a NULL-terminated argument list (the command name first). */
static int
tparse(struct targs *a, struct fs_args *fa, char **argv)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	memset(a, 0, sizeof(*a));
	return fs_opt_parse(&tspec, a, argc, argv, fa);
}

START_TEST(grammar)
{
	struct targs a;
	struct fs_args fa;
	char *v1[] = { "test", "x", "--gap", "2ms", "y", "-n", "5", "--str=hi", NULL };
	char *v2[] = { "test", "-fbn7", "x", "--", "--gap", "-", NULL };
	char *v3[] = { "test", "-sval", "--format", "json", "x", NULL };

	ck_assert_int_eq(tparse(&a, &fa, v1), 0);
	ck_assert_int_eq(fa.nops, 2);
	ck_assert_str_eq(fa.ops[0], "x");
	ck_assert_str_eq(fa.ops[1], "y");
	ck_assert_uint_eq(a.dur, 2000000);
	ck_assert_int_eq(a.count, 5);
	ck_assert_str_eq(a.str, "hi");
	ck_assert(fs_opt_given(&tspec, &fa, "gap"));
	ck_assert(!fs_opt_given(&tspec, &fa, "flag"));
	/* bundled flags with a value last; -- ends the options; - is an operand */
	ck_assert_int_eq(tparse(&a, &fa, v2), 0);
	ck_assert(a.flag && a.b);
	ck_assert_int_eq(a.count, 7);
	ck_assert_int_eq(fa.nops, 3);
	ck_assert_str_eq(fa.ops[1], "--gap");
	ck_assert_str_eq(fa.ops[2], "-");
	ck_assert_uint_eq(a.dur, 50000000);	/* the default, parsed from its text */
	ck_assert_str_eq(a.str, "dflt");
	ck_assert_int_eq(tparse(&a, &fa, v3), 0);
	ck_assert_str_eq(a.str, "val");
	ck_assert_int_eq(a.choice, 2);
}
END_TEST

/* Each usage error is refused (-1) with one line and the pointer to help. */
static const char *const bad_lines[][6] = {
	{ "test", "x", "--gap", "50", NULL },		/* no unit */
	{ "test", "x", "--gap", NULL },			/* missing value */
	{ "test", "x", "--nope", NULL },		/* unknown */
	{ "test", "x", "-z", NULL },			/* unknown short */
	{ "test", "x", "--flag=1", NULL },		/* flag with a value */
	{ "test", "x", "--gap-us", "50", NULL },	/* an old spelling */
	{ "test", "x", "-n", "11", NULL },		/* out of range */
	{ "test", "x", "--format", "xml", NULL },	/* not a choice */
	{ "test", NULL },				/* no operand */
	{ "test", "a", "b", "c", "d", NULL },		/* too many */
	{ "test", "x", "--gap", "1ns", NULL },		/* below the minimum */
};

START_TEST(grammar_errors)
{
	struct targs a;
	struct fs_args fa;
	char *argv[6], buf[1024] = "";
	int i, saved = dup(2), pfd[2];
	ssize_t n;

	for (i = 0; bad_lines[_i][i] != NULL; i++)
		argv[i] = (char *)bad_lines[_i][i];
	argv[i] = NULL;
	ck_assert_int_eq(pipe(pfd), 0);
	dup2(pfd[1], 2);
	ck_assert_int_eq(tparse(&a, &fa, argv), -1);
	fflush(stderr);
	dup2(saved, 2);
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	buf[n > 0 ? n : 0] = '\0';
	ck_assert_msg(strncmp(buf, "flushscope test: ", 17) == 0, "message: %s", buf);
	ck_assert_msg(strstr(buf, "\ntry 'flushscope help test'\n") != NULL &&
	    strchr(buf, '\n') == strstr(buf, "\ntry"), "not one line and the pointer: %s", buf);
}
END_TEST

/* ---- the tables agree with the man pages and --help ---- */

static const char *const cmds[] = { "ingest", "spins", "top", "synth", "extract", "replay",
	"verify", "tune" };

/* The OPTIONS section of a man page, malloc'd. */
static char *
man_options(const char *cmd)
{
	char path[512], *text, *a, *b;
	const char *src = getenv("FS_SRCDIR");

	snprintf(path, sizeof(path), "%s/man/flushscope-%s.1", src ? src : ".", cmd);
	text = tu_slurp(path, NULL);
	ck_assert_ptr_nonnull(a = strstr(text, "\n.SH OPTIONS\n"));
	a += strlen("\n.SH OPTIONS\n");
	if ((b = strstr(a, "\n.SH ")) != NULL)
		b[1] = '\0';
	memmove(text, a, strlen(a) + 1);
	return text;
}

START_TEST(man_matches_table)
{
	const struct fs_cmdspec *c = fs_cmd_spec(cmds[_i]);
	char *want = NULL, *man;
	size_t n = 0;
	FILE *f = open_memstream(&want, &n);

	ck_assert_ptr_nonnull(c);
	fs_opt_man(c, f);
	fclose(f);
	man = man_options(cmds[_i]);
	if (strcmp(man, want) != 0)
		fprintf(stderr, "man page:\n%s\ntable:\n%s\n", man, want);
	ck_assert_msg(strcmp(man, want) == 0, "man/flushscope-%s.1's OPTIONS differ from the "
	    "option table (both on stderr); regenerate them with 'flushscope help --man %s'",
	    cmds[_i], cmds[_i]);
	free(man);
	free(want);
}
END_TEST

/* Every visible option shows its default or says why it has none; units show. */
START_TEST(help_shows_defaults)
{
	const struct fs_cmdspec *c = fs_cmd_spec(cmds[_i]);
	const struct fs_opt *o;

	ck_assert_msg(fs_cmd_spec("help") != NULL, "help has no spec");
	for (o = c->opts; o->type != FS_OT_END; o++) {
		ck_assert_msg(o - c->opts < 64, "%s: more than 64 options", c->name);
		if (o->flags & FS_OF_HIDDEN || o->type == FS_OT_FLAG)
			continue;
		if (o->type == FS_OT_DURATION || o->type == FS_OT_COUNT ||
		    o->type == FS_OT_SIZE || o->type == FS_OT_RATIO || o->type == FS_OT_NUMBER ||
		    o->type == FS_OT_CHOICE)
			ck_assert_msg(o->def != NULL || strstr(o->help, "default") != NULL,
			    "%s --%s: no default shown", c->name, o->name);
	}
}
END_TEST

/* ---- the binary ---- */

/*
 * Runs FS_BIN with argv (NULL-terminated, without the binary) in dir,
 * stdin from in (NULL: /dev/null); stdout and stderr to outdir/out and
 * outdir/err.  Returns the exit status.
 */
static int
run_stdin(const char *dir, const char *outdir, char *const *args, const char *in)
{
	char *argv[32], path[256];
	pid_t pid;
	int i, st;

	argv[0] = (char *)tu_fsbin();
	for (i = 0; args[i] != NULL && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if ((pid = fork()) == 0) {
		int fd;

		if (chdir(dir) != 0)
			_exit(127);
		fd = open(in != NULL ? in : "/dev/null", O_RDONLY);
		dup2(fd, 0);
		snprintf(path, sizeof(path), "%s/out", outdir);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		snprintf(path, sizeof(path), "%s/err", outdir);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* run_stdin with standard input from /dev/null. */
static int
run_in(const char *dir, const char *outdir, char *const *args)
{
	return run_stdin(dir, outdir, args, NULL);
}

/* Number of entries in dir besides . and .. and the inputs (named in_*). */
static int
written(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strncmp(e->d_name, "in_", 3))
			n++;
	closedir(d);
	return n;
}

/* Reads the captured stream ("out" or "err") into a malloc'd string. */
static char *
captured(const char *outdir, const char *which)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", outdir, which);
	return tu_slurp(path, NULL);
}

/* A minimal command line for each command; "@" is the input. */
static const char *const base_lines[][8] = {
	{ "ingest", "-d", "o.db", "@", NULL },
	{ "spins", "@", NULL },
	{ "top", "-b", "-n", "1", "@", NULL },
	{ "synth", "--era", "none", "--duration", "20ms", NULL },
	{ "extract", "-o", "o.wl", "@", NULL },
	{ "replay", "@", NULL },
	{ "verify", "--baseline", "legacy", "--candidate", "deadline", "@", NULL },
	{ "tune", "--policy", "legacy,deadline", "@", NULL },
};

/* Builds argv: the base line of command k (input in), then extra before or after it. */
static void
build(char **argv, int k, const char *in, char *const *extra, int before)
{
	int i, j, n = 0;

	argv[n++] = (char *)base_lines[k][0];
	if (before)
		for (j = 0; extra[j] != NULL; j++)
			argv[n++] = extra[j];
	for (i = 1; base_lines[k][i] != NULL; i++)
		argv[n++] = strcmp(base_lines[k][i], "@") == 0 ? (char *)in :
		    (char *)base_lines[k][i];
	if (!before)
		for (j = 0; extra[j] != NULL; j++)
			argv[n++] = extra[j];
	argv[n] = NULL;
}

/*
 * Every time option of every command, with 50, 50us, 50ms and 0.05s, before
 * and after the operands: either it works, the same way in both places, or
 * it exits 2 with nothing written.  A bare 50 is refused (top's -d: 50 s).
 */
START_TEST(time_options)
{
	static const char *const vals[] = { "50", "50us", "50ms", "0.05s" };
	const struct fs_cmdspec *c = fs_cmd_spec(base_lines[_i][0]);
	const struct fs_opt *o;
	char dir[128], outdir[128], in[256], opt[64], *argv[32], *o1, *o2;
	int v, r1, r2, tried = 0;

	tu_mkdtemp(dir, sizeof(dir), "cmdt");
	tu_mkdtemp(outdir, sizeof(outdir), "cmdo");
	snprintf(in, sizeof(in), "%s", tu_testdata("seed-excerpt.log"));
	for (o = c->opts; o->type != FS_OT_END; o++) {
		if (o->type != FS_OT_DURATION && !(o->type == FS_OT_CUSTOM && o->shortname == 'd' &&
		    strcmp(c->name, "top") == 0))
			continue;
		snprintf(opt, sizeof(opt), "--%s", o->name);
		for (v = 0; v < 4; v++) {
			char *extra[] = { opt, (char *)vals[v], NULL };
			int bare_s = strcmp(c->name, "top") == 0 && strcmp(o->name, "delay") == 0;

			tried++;
			build(argv, _i, in, extra, 1);
			r1 = run_in(dir, outdir, argv);
			o1 = captured(outdir, "out");
			if (r1 == 2) {
				char *e = captured(outdir, "err");

				ck_assert_msg(written(dir) == 0, "%s %s %s: exit 2 but wrote files",
				    c->name, opt, vals[v]);
				ck_assert_msg(strstr(e, opt) != NULL || strstr(e, "-d") != NULL,
				    "%s %s %s: the message does not name the option: %s", c->name,
				    opt, vals[v], e);
				free(e);
			} else
				ck_assert_msg(r1 == 0 || r1 == 1, "%s %s %s: exit %d", c->name, opt,
				    vals[v], r1);
			if (v == 0 && !bare_s)
				ck_assert_msg(r1 == 2, "%s %s 50: a bare number was taken (exit %d)",
				    c->name, opt, r1);
			tu_rmtree(dir);
			mkdir(dir, 0700);
			build(argv, _i, in, extra, 0);
			r2 = run_in(dir, outdir, argv);
			o2 = captured(outdir, "out");
			ck_assert_msg(r1 == r2, "%s %s %s: exit %d before the operands, %d after",
			    c->name, opt, vals[v], r1, r2);
			if (strcmp(c->name, "top") != 0)	/* top's title has the wall time */
				ck_assert_msg(strcmp(o1, o2) == 0, "%s %s %s: output differs with the "
				    "option after the operands", c->name, opt, vals[v]);
			free(o1);
			free(o2);
			tu_rmtree(dir);
			mkdir(dir, 0700);
		}
	}
	if (strcmp(c->name, "ingest") != 0)
		ck_assert_msg(tried > 0, "%s has no time option?", c->name);
	tu_rmtree(dir);
	tu_rmtree(outdir);
}
END_TEST

/* Inputs that are not logs, through every command that reads one. */
static const char *const not_logs[] = { "/etc/passwd", "/usr/bin/ls", "in_empty.log",
	"in_fake.gz", "in_fake.log.gz" };

START_TEST(not_a_log)
{
	char dir[128], outdir[128], *argv[32], *e;
	int k, r;

	tu_mkdtemp(dir, sizeof(dir), "cmdn");
	tu_mkdtemp(outdir, sizeof(outdir), "cmdo");
	for (k = 0; k < (int)(sizeof(base_lines) / sizeof(base_lines[0])); k++) {
		char *none[] = { NULL };
		char p[256];

		if (strcmp(base_lines[k][0], "synth") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/in_empty.log", dir);
		tu_spit(p, "w", "", 0);
		snprintf(p, sizeof(p), "%s/in_fake.gz", dir);
		tu_spit(p, "w", "this is not gzip\nnor a log\n", 27);
		snprintf(p, sizeof(p), "%s/in_fake.log.gz", dir);
		tu_spit(p, "w", "root:x:0:0:root:/root:/bin/bash\n", 32);
		build(argv, k, not_logs[_i], none, 0);
		r = run_in(dir, outdir, argv);
		e = captured(outdir, "err");
		if (strcmp(base_lines[k][0], "top") == 0 && strstr(not_logs[_i], "empty") != NULL) {
			/* a live log may be empty yet: top follows it */
			ck_assert_msg(r == 0, "top on an empty file: exit %d: %s", r, e);
		} else {
			ck_assert_msg(r == 3, "%s %s: exit %d, want 3: %s", base_lines[k][0],
			    not_logs[_i], r, e);
			/* a .gz name on other bytes may be refused for that first */
			ck_assert_msg(strstr(e, "no SLASH2 log line found") != NULL ||
			    (strstr(not_logs[_i], ".gz") != NULL &&
			    strstr(e, "not in gzip format") != NULL), "%s %s: %s",
			    base_lines[k][0], not_logs[_i], e);
			ck_assert_msg(strncmp(e, "flushscope ", 11) == 0 && strstr(e,
			    not_logs[_i]) != NULL, "%s: the message names neither command nor file: %s",
			    base_lines[k][0], e);
			ck_assert_msg(written(dir) == 0, "%s %s: files written", base_lines[k][0],
			    not_logs[_i]);
		}
		free(e);
	}
	tu_rmtree(dir);
	tu_rmtree(outdir);
}
END_TEST

/* Standard input is judged too, and handed on whole when it is a log. */
START_TEST(ingest_stdin)
{
	char dir[128], outdir[128], *e;
	char *ing[] = { "ingest", "-d", "s.db", "--format=json", "-", NULL };

	tu_mkdtemp(dir, sizeof(dir), "cmds");
	tu_mkdtemp(outdir, sizeof(outdir), "cmdo");
	ck_assert_int_eq(run_stdin(dir, outdir, ing, "/etc/passwd"), 3);
	e = captured(outdir, "err");
	ck_assert_msg(strstr(e, "flushscope ingest: -: no SLASH2 log line found") != NULL, "%s", e);
	free(e);
	ck_assert_int_eq(written(dir), 0);
	ck_assert_int_eq(run_stdin(dir, outdir, ing, tu_testdata("sample.log")), 0);
	e = captured(outdir, "out");
	{
		char want[64];

		snprintf(want, sizeof(want), "{\"lines\":%ld,\"unparsed\":0,",
		    tu_count_lines(tu_testdata("sample.log")));
		ck_assert_msg(strncmp(e, want, strlen(want)) == 0, "%s", e);
	}
	free(e);
	tu_rmtree(dir);
	tu_rmtree(outdir);
}
END_TEST

/* A log whose workload has no writes: replay and verify say so, exit 3. */
START_TEST(empty_workload)
{
	char dir[128], outdir[128], p[256], *e;
	char *rp[] = { "replay", "in_other.log", NULL };
	char *vf[] = { "verify", "--baseline", "legacy", "--candidate", "deadline", "in_other.log",
		NULL };

	tu_mkdtemp(dir, sizeof(dir), "cmde");
	tu_mkdtemp(outdir, sizeof(outdir), "cmdo");
	snprintf(p, sizeof(p), "%s/in_other.log", dir);
	tu_spit(p, "w", "[1282327206:161331 msbflushthr:23667:bmap:bmap_flush:639] hello\n", 64);
	ck_assert_int_eq(run_in(dir, outdir, rp), 3);
	e = captured(outdir, "err");
	ck_assert_msg(strstr(e, "in_other.log: the workload has no writes") != NULL, "%s", e);
	free(e);
	ck_assert_int_eq(run_in(dir, outdir, vf), 3);
	e = captured(outdir, "err");
	ck_assert_msg(strstr(e, "in_other.log: the workload has no writes") != NULL, "%s", e);
	free(e);
	tu_rmtree(dir);
	tu_rmtree(outdir);
}
END_TEST

/* GNU order: ingest FILE -d DB stores into DB, nothing else; --help is the table's. */
START_TEST(gnu_order_and_help)
{
	char dir[128], outdir[128], *o, *h;
	char *ing[] = { "ingest", (char *)tu_testdata("seed-excerpt.log"), "-d", "x.db", NULL };
	char *hlp[] = { "help", "spins", NULL };
	char *own[] = { "spins", "--help", NULL };
	char *hh[] = { "help", "help", NULL };
	char *top_d[] = { "top", "-b", "-d", "client.db", (char *)tu_testdata("seed-excerpt.log"),
		NULL };

	tu_mkdtemp(dir, sizeof(dir), "cmdg");
	tu_mkdtemp(outdir, sizeof(outdir), "cmdo");
	ck_assert_int_eq(run_in(dir, outdir, ing), 0);
	ck_assert_int_eq(access(tu_path(dir, 0, "x.db"), F_OK), 0);
	ck_assert_int_ne(access(tu_path(dir, 1, "flushscope.db"), F_OK), 0);
	ck_assert_int_eq(run_in(dir, outdir, hlp), 0);
	h = captured(outdir, "out");
	ck_assert_int_eq(run_in(dir, outdir, own), 0);
	o = captured(outdir, "out");
	ck_assert_str_eq(h, o);
	ck_assert_ptr_nonnull(strstr(h, "--max-gap DURATION"));
	ck_assert_ptr_nonnull(strstr(h, "(default 50ms)"));
	free(h);
	free(o);
	ck_assert_int_eq(run_in(dir, outdir, hh), 0);
	o = captured(outdir, "out");
	ck_assert_ptr_nonnull(strstr(o, "usage: flushscope help [options] [COMMAND]"));
	free(o);
	/* top's -d is the delay; a database there gets a pointer to --db */
	ck_assert_int_eq(run_in(dir, outdir, top_d), 2);
	o = captured(outdir, "err");
	ck_assert_ptr_nonnull(strstr(o, "use --db client.db"));
	free(o);
	tu_rmtree(dir);
	tu_rmtree(outdir);
}
END_TEST

/* An unchanged re-ingest reports what is stored for the file, not zeros. */
START_TEST(reingest_reports_stored)
{
	char dir[128], outdir[128], *e, *o, want[256], events[512];
	long nlines = tu_count_lines(tu_testdata("sample.log"));
	char *ing[] = { "ingest", "-d", "s.db", (char *)tu_testdata("sample.log"), NULL };
	char *js[] = { "ingest", "-d", "s.db", "--format=json", (char *)tu_testdata("sample.log"),
		NULL };

	tu_mkdtemp(dir, sizeof(dir), "cmdr");
	tu_mkdtemp(outdir, sizeof(outdir), "cmdo");
	ck_assert_int_eq(run_in(dir, outdir, ing), 0);
	e = captured(outdir, "err");
	ck_assert_ptr_nonnull(strstr(e, "  events    "));
	snprintf(events, sizeof(events), "%.*s", (int)strcspn(strstr(e, "  events    "), "\n"),
	    strstr(e, "  events    "));
	free(e);
	ck_assert_int_eq(run_in(dir, outdir, ing), 0);
	e = captured(outdir, "err");
	snprintf(want, sizeof(want), "unchanged since the last ingest (source 1): %ld lines, 6 "
	    "spin episodes stored; nothing added", nlines);
	ck_assert_msg(strstr(e, want) != NULL, "%s", e);
	ck_assert_msg(strstr(e, "  episodes  6 spin episodes\n") != NULL, "%s", e);
	ck_assert_msg(strstr(e, events) != NULL, "the stored events (%s): %s", events, e);
	free(e);
	/* JSON: nothing stored by this run; the file's entry says what is stored */
	ck_assert_int_eq(run_in(dir, outdir, js), 0);
	o = captured(outdir, "out");
	ck_assert_msg(strncmp(o, "{\"lines\":0,", 11) == 0, "%s", o);
	snprintf(want, sizeof(want), "\"status\":\"unchanged\",\"source_id\":1,\"lines\":%ld,"
	    "\"unparsed\":0,\"episodes\":6,", nlines);
	ck_assert_msg(strstr(o, want) != NULL, "%s", o);
	free(o);
	tu_rmtree(dir);
	tu_rmtree(outdir);
}
END_TEST

/* top started at the end of a finished log reads back its recent past at once. */
START_TEST(top_history)
{
	char dir[128], outdir[128], *o;
	char *t1[] = { "top", "-b", "-n", "1", "-d", "30", (char *)tu_testdata("sample.log"),
		NULL };
	char *t2[] = { "top", "-b", "-n", "1", "--format=json", "--history", "0",
		(char *)tu_testdata("sample.log"), NULL };

	tu_mkdtemp(dir, sizeof(dir), "cmdh");
	tu_mkdtemp(outdir, sizeof(outdir), "cmdo");
	/* -d 30 -n 1: printed at once (the test would time out otherwise) */
	ck_assert_int_eq(run_in(dir, outdir, t1), 0);
	o = captured(outdir, "out");
	ck_assert_msg(strstr(o, "snapshot 1 - ") != NULL && strstr(o, "sample.log") != NULL,
	    "the title names the input: %s", o);
	ck_assert_ptr_nonnull(strstr(o, "Started at the end: read back the last"));
	{
		char want[64];

		snprintf(want, sizeof(want), "(%ld lines)", tu_count_lines(tu_testdata("sample.log")));
		ck_assert_msg(strstr(o, want) != NULL, "%s", o);
	}
	ck_assert_ptr_nonnull(strstr(o, "Lines: "));
	ck_assert_ptr_null(strstr(o, "(-1..-1)"));
	free(o);
	/* --history 0: nothing read yet, and JSON says unknown as null */
	ck_assert_int_eq(run_in(dir, outdir, t2), 0);
	o = captured(outdir, "out");
	ck_assert_msg(strncmp(o, "{\"snapshot\":1,\"log_time\":null,\"log_now_us\":null,", 48)
	    == 0, "%s", o);
	ck_assert_ptr_nonnull(strstr(o, "\"outstanding\":null"));
	free(o);
	tu_rmtree(dir);
	tu_rmtree(outdir);
}
END_TEST

Suite *
cmd_suite(void)
{
	Suite *s = suite_create("cmd");
	TCase *tp = tcase_create("parse");
	TCase *tm = tcase_create("tables");
	TCase *tb = tcase_create("binary");

	tcase_add_loop_test(tp, parse_duration, 0, (int)(sizeof(dur_cases) / sizeof(dur_cases[0])));
	tcase_add_test(tp, parse_duration_bare);
	tcase_add_loop_test(tp, parse_size, 0, (int)(sizeof(size_cases) / sizeof(size_cases[0])));
	tcase_add_loop_test(tp, fmt_duration, 0, (int)(sizeof(fmt_cases) / sizeof(fmt_cases[0])));
	tcase_add_loop_test(tp, parse_setting, 0, (int)(sizeof(set_cases) / sizeof(set_cases[0])));
	tcase_add_loop_test(tp, parse_ratio, 0, (int)(sizeof(ratio_cases) /
	    sizeof(ratio_cases[0])));
	tcase_add_test(tp, grammar);
	tcase_add_loop_test(tp, grammar_errors, 0, (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
	tcase_add_loop_test(tm, man_matches_table, 0, (int)(sizeof(cmds) / sizeof(cmds[0])));
	tcase_add_loop_test(tm, help_shows_defaults, 0, (int)(sizeof(cmds) / sizeof(cmds[0])));
	tcase_set_timeout(tb, 300);
	tcase_add_loop_test(tb, time_options, 0, (int)(sizeof(base_lines) / sizeof(base_lines[0])));
	tcase_add_loop_test(tb, not_a_log, 0, (int)(sizeof(not_logs) / sizeof(not_logs[0])));
	tcase_add_test(tb, empty_workload);
	tcase_add_test(tb, ingest_stdin);
	tcase_add_test(tb, gnu_order_and_help);
	tcase_add_test(tb, top_history);
	tcase_add_test(tb, reingest_reports_stored);
	suite_add_tcase(s, tp);
	suite_add_tcase(s, tm);
	suite_add_tcase(s, tb);
	return s;
}
