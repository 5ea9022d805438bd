/*
 * cmd/opt: the one command-line layer of every flushscope command.
 *
 * A command declares each option once, in a table of struct fs_opt: its
 * long and short name, its type (which fixes the unit and the parser), the
 * name of its value, its default, a one-line help and where it is stored
 * (an offset into the command's own argument struct).  From that table come
 * the parsing, the validation, `--help`, `flushscope help CMD`, the usage
 * line and the roff option list that the man page must match
 * (tests/check_cmd.c compares them).
 *
 * Grammar (GNU): options and operands in any order; `--name VALUE`,
 * `--name=VALUE`, `-x VALUE`, `-xVALUE`, bundled flags `-bt`; `--` ends the
 * options; `-` alone is an operand.  Long names are matched exactly.  A
 * repeated option keeps its last value.
 *
 * Defaults are not written twice: before the command line is read, every
 * option's `def` string is parsed by the same parser as a value the user
 * typed (unless FS_OF_DEFTEXT says it is only a description), so `--help`
 * cannot show a default the command does not use.
 *
 * Values: a DURATION is a decimal number and a unit (ns, us or µs, ms, s,
 * min, h) stored in nanoseconds; a bare number is refused (a bare 0 is
 * allowed) unless FS_OF_BARE_SECONDS makes it seconds (top's -d, as in
 * top(1)).  A SIZE is bytes, optionally with K, M or G (KiB, MiB, GiB; all
 * powers of 1024).  A RATIO is a fraction (0.9) or a percentage (90%).
 *
 * Messages follow one convention: "flushscope CMD: reason" on stderr; a
 * usage error prints that one line and "try 'flushscope help CMD'" and the
 * command exits FS_EXIT_USAGE (2) before opening or writing anything.
 *
 * A new command (say cmd/tune.c):
 *
 *	struct tune_args { const char *db; uint64_t max_age_ns; int format; };
 *	#define A struct tune_args
 *	static const struct fs_opt tune_opts[] = {
 *		FS_OPT_STRING('d', "db", A, db, "DB", NULL, "read an ingested database"),
 *		FS_OPT_DURATION(0, "max-age", A, max_age_ns, "1ms", 0, 10 * FS_NS_S,
 *		    "coalescer maximum age"),
 *		FS_OPT_CHOICE(0, "format", A, format, FS_FORMATS, "table", "output format"),
 *		FS_OPT_END
 *	};
 *	#undef A
 *	const struct fs_cmdspec fs_spec_tune = { .name = "tune", .usage = { "TRACE..." },
 *	    .min_ops = 1, .max_ops = -1, .summary = "One line.", .opts = tune_opts };
 *
 *	int cmd_tune(int argc, char **argv) {
 *		struct tune_args a;
 *		struct fs_args fa;
 *		int rc;
 *
 *		memset(&a, 0, sizeof(a));
 *		if ((rc = fs_opt_parse(&fs_spec_tune, &a, argc, argv, &fa)) != 0)
 *			return rc == FS_OPT_HELP ? FS_EXIT_OK : FS_EXIT_USAGE;
 *		... check combinations with fs_usage(), inputs with fs_check_log(),
 *		    then work on fa.ops[0 .. fa.nops - 1] ...
 *	}
 *
 * and CMD(tune, cmd_tune, fs_spec_tune) in cmd/commands.h, a man page whose
 * OPTIONS section is the output of `flushscope help --man tune`, and "tune"
 * in tests/check_cmd.c (cmds[], base_lines[]).
 */
#ifndef FS_CMD_OPT_H
#define FS_CMD_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parsers/source.h"
#include "util/err.h"

enum fs_opt_type {
	FS_OT_END = 0,		/* ends a table */
	FS_OT_FLAG,		/* no value: int = 1 */
	FS_OT_STRING,		/* const char * = the argument */
	FS_OT_COUNT,		/* long long, an integer in [min, max] */
	FS_OT_NUMBER,		/* double, a decimal number in [min, max] */
	FS_OT_DURATION,		/* uint64_t nanoseconds, [min, max] in ns */
	FS_OT_SIZE,		/* uint64_t bytes, [min, max] */
	FS_OT_RATIO,		/* double, [min, max] */
	FS_OT_CHOICE,		/* int, the index of the argument in choices "a|b|c" */
	FS_OT_CUSTOM,		/* parsed and stored by fn */
	FS_OT_GONE		/* an old spelling: refused, help says what to use */
};

/* Option flags. */
#define FS_OF_DEFTEXT		0x1	/* def is a description, not a value to parse */
#define FS_OF_BARE_SECONDS	0x2	/* DURATION: a bare number is seconds */
#define FS_OF_HIDDEN		0x4	/* not in --help nor the man page */

/*
 * Parses arg into dst for FS_OT_CUSTOM; returns 0, or -1 with err set to
 * the reason (the caller prefixes the option's name).
 */
typedef int fs_opt_fn(const char *arg, void *dst, struct fs_err *err);

struct fs_opt {
	enum fs_opt_type type;
	char shortname;		/* 'd', or 0 */
	const char *name;	/* long name without the dashes ("max-gap") */
	size_t off;		/* offset of the value in the command's argument struct */
	const char *arg;	/* the value's name in help ("DB"); NULL: from the type */
	const char *def;	/* default (see above); NULL: none */
	const char *help;	/* one line, without the default */
	double min, max;	/* bounds of COUNT, NUMBER, DURATION (ns), SIZE, RATIO */
	const char *choices;	/* CHOICE: "table|csv|json" */
	fs_opt_fn *fn;		/* CUSTOM */
	unsigned flags;		/* FS_OF_* */
};

/* Declaring options: T is the command's argument struct, F a member. */
#define FS_OPT_FLAG(s, n, T, F, h) \
	{ .type = FS_OT_FLAG, .shortname = (s), .name = (n), .off = offsetof(T, F), .help = (h) }
#define FS_OPT_STRING(s, n, T, F, a, d, h) \
	{ .type = FS_OT_STRING, .shortname = (s), .name = (n), .off = offsetof(T, F), \
	  .arg = (a), .def = (d), .help = (h) }
#define FS_OPT_COUNT(s, n, T, F, a, d, lo, hi, h) \
	{ .type = FS_OT_COUNT, .shortname = (s), .name = (n), .off = offsetof(T, F), \
	  .arg = (a), .def = (d), .help = (h), .min = (lo), .max = (hi) }
#define FS_OPT_NUMBER(s, n, T, F, a, d, lo, hi, h) \
	{ .type = FS_OT_NUMBER, .shortname = (s), .name = (n), .off = offsetof(T, F), \
	  .arg = (a), .def = (d), .help = (h), .min = (lo), .max = (hi) }
#define FS_OPT_DURATION(s, n, T, F, d, lo, hi, h) \
	{ .type = FS_OT_DURATION, .shortname = (s), .name = (n), .off = offsetof(T, F), \
	  .def = (d), .help = (h), .min = (lo), .max = (hi) }
#define FS_OPT_SIZE(s, n, T, F, d, lo, hi, h) \
	{ .type = FS_OT_SIZE, .shortname = (s), .name = (n), .off = offsetof(T, F), \
	  .def = (d), .help = (h), .min = (lo), .max = (hi) }
#define FS_OPT_RATIO(s, n, T, F, d, lo, hi, h) \
	{ .type = FS_OT_RATIO, .shortname = (s), .name = (n), .off = offsetof(T, F), \
	  .def = (d), .help = (h), .min = (lo), .max = (hi) }
#define FS_OPT_CHOICE(s, n, T, F, c, d, h) \
	{ .type = FS_OT_CHOICE, .shortname = (s), .name = (n), .off = offsetof(T, F), \
	  .choices = (c), .def = (d), .help = (h) }
#define FS_OPT_CUSTOM(s, n, T, F, a, d, fun, h) \
	{ .type = FS_OT_CUSTOM, .shortname = (s), .name = (n), .off = offsetof(T, F), \
	  .arg = (a), .def = (d), .fn = (fun), .help = (h) }
#define FS_OPT_GONE(n, h) \
	{ .type = FS_OT_GONE, .name = (n), .help = (h), .flags = FS_OF_HIDDEN }
#define FS_OPT_END { .type = FS_OT_END }

/*
 * --jobs, alike in every command that reads logs: parser threads (0 when
 * not given: fs_jobs() turns it into ps_jobs_default()).  FS_OPT_JOBS_WRITER
 * is ingest's, whose database writer keeps a core busy (fs_jobs' busy:
 * IG_BUSY_THREADS).  The cap in the text is ps_jobs_default's own.
 */
#define FS_OPT_STR_(x) #x
#define FS_OPT_STR(x) FS_OPT_STR_(x)
#define FS_OPT_JOBS_(T, F, D) \
	{ .type = FS_OT_COUNT, .shortname = 'j', .name = "jobs", .off = offsetof(T, F), \
	  .arg = "N", .def = (D), .flags = FS_OF_DEFTEXT, .min = 1, .max = 64, \
	  .help = "threads that parse the logs; 1 reads and parses in one thread" }
#define FS_OPT_JOBS(T, F) FS_OPT_JOBS_(T, F, \
	"the cores available, at most " FS_OPT_STR(PS_JOBS_MAX_USEFUL))
#define FS_OPT_JOBS_WRITER(T, F) FS_OPT_JOBS_(T, F, \
	"the cores available but one, the writer's, at most " FS_OPT_STR(PS_JOBS_MAX_USEFUL))

#define FS_NS_US	1e3
#define FS_NS_MS	1e6
#define FS_NS_S		1e9

/* One command's command line. */
struct fs_cmdspec {
	const char *name;		/* "spins" */
	const char *usage[4];		/* operand forms after "[options]" ("FILE...") */
	int min_ops, max_ops;		/* operands allowed (max -1: any number) */
	const char *summary;		/* one line: what the command does */
	const char *notes;		/* text printed after the option list, or NULL */
	const struct fs_opt *opts;	/* ends with FS_OPT_END; at most 64 */
};

/* What fs_opt_parse found besides the values. */
struct fs_args {
	int nops;			/* operands, in order, in ops[0..nops-1] */
	char **ops;
	uint64_t given;			/* bit i: option i appeared on the command line */
};

#define FS_OPT_HELP	1		/* fs_opt_parse printed --help: exit 0 */

/*
 * Sets every default, then reads argv[1..argc-1] (argv[0] is the command's
 * name) into the struct at base.  Operands are moved to the front of
 * argv[1..] (a->ops).  Returns 0, FS_OPT_HELP after printing the help on
 * stdout, or -1 after printing a usage error (fs_usage).
 */
int fs_opt_parse(const struct fs_cmdspec *c, void *base, int argc, char **argv,
    struct fs_args *a);

/* 1 if the option with this long name appeared on the command line. */
int fs_opt_given(const struct fs_cmdspec *c, const struct fs_args *a, const char *name);

/*
 * Prints "flushscope CMD: message" and "try 'flushscope help CMD'" on
 * stderr; returns FS_EXIT_USAGE.
 */
int fs_usage(const struct fs_cmdspec *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints the help: usage lines, summary, options with defaults, units, notes. */
void fs_opt_help(const struct fs_cmdspec *c, FILE *f);

/* Prints the usage lines only ("usage: flushscope CMD [options] ..."). */
void fs_opt_usage(const struct fs_cmdspec *c, FILE *f);

/*
 * Prints the roff option list the man page's OPTIONS section must hold: per
 * option ".TP", the tag (fs_opt_tag) and the help with its default.
 */
void fs_opt_man(const struct fs_cmdspec *c, FILE *f);

/*
 * The option's tag as plain text, as the man page shows it: "-d, --db DB",
 * "--max-gap DURATION", "-b, --batch".
 */
void fs_opt_tag(const struct fs_opt *o, char *buf, size_t n);

/* ---- the value parsers (also for values that are not options) ---- */

/*
 * A DURATION: decimal number and unit (ns us µs ms s min h).  A bare number
 * is bare_scale nanoseconds (0: refused, but a bare 0 is zero).  Returns 0,
 * or -1 with err saying what is wrong.
 */
int fs_parse_duration(const char *s, double bare_scale, uint64_t *ns, struct fs_err *err);

/* A SIZE in bytes: 4096, 32K, 1M, 1MiB, 2G. */
int fs_parse_size(const char *s, uint64_t *bytes, struct fs_err *err);

/* A RATIO: 0.9 or 90%. */
int fs_parse_ratio(const char *s, double *v, struct fs_err *err);

/* Formats a duration for people: "2.07 ms", "200 us", "1.5 s" (3 significant digits). */
void fs_fmt_duration(char *buf, size_t n, double ns);

/*
 * Formats a duration exactly, as an option value fs_parse_duration reads
 * back: "5ms", "2048us", "1500ns", "0" (the largest unit that divides it).
 */
void fs_fmt_duration_arg(char *buf, size_t n, uint64_t ns);

#endif
