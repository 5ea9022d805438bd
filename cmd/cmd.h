/*
 * Shared by the front ends in cmd/: the command entry points and the small
 * helpers every command uses for its output.  Options are declared with
 * cmd/opt.h.  No parsing, storage or engine logic lives in cmd/.
 */
#ifndef FS_CMD_CMD_H
#define FS_CMD_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "cmd/opt.h"
#include "util/json.h"

#define CMD(name, fn, spec) int fn(int argc, char **argv); extern const struct fs_cmdspec spec;
#include "cmd/commands.h"
#undef CMD

/* Output formats selected by --format (the index in FS_FORMATS). */
enum fs_format { FS_FMT_TABLE = 0, FS_FMT_CSV, FS_FMT_JSON };
#define FS_FORMATS "table|csv|json"

/* Global options, set by flushscope.c before the command runs. */
struct fs_global {
	int quiet;		/* -q: no progress, no summary on stderr */
	int color;		/* colour allowed (terminal and NO_COLOR unset) */
};
extern struct fs_global fs_global;

/* Prints "flushscope <cmd>: message" to stderr (printf-style). */
void fs_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The help command's entry point and its spec (flushscope.c dispatches). */
int cmd_help(int argc, char **argv);
extern const struct fs_cmdspec fs_spec_help;

/* Prints the command list (flushscope --help, flushscope help). */
void fs_help_list(FILE *f);

/* Finds a command's spec by name; NULL if there is no such command. */
const struct fs_cmdspec *fs_cmd_spec(const char *name);

/* Writes a JSON number, or null when v is NaN or infinite. */
void fs_json_num(FILE *f, double v);

/* Writes a JSON integer, or null when v < 0 (the outputs' "unknown"). */
void fs_json_int(FILE *f, int64_t v);

/*
 * The input checks every command makes before it reads a log: path must
 * exist, not be a directory, and (unless it is a stream: "-", a pipe, a
 * device) hold a SLASH2 log line among its first lines (parsers/sniff.h,
 * with log_format if given).  Returns 0, or -1 with err set to
 * "PATH: no SLASH2 log line found" or the reader's error.
 */
int fs_check_log(const char *path, const char *log_format, struct fs_err *err);

/*
 * Checks that a database a command reads (-d DB) exists and is not a
 * directory, so that the message is the same as for any missing file (a
 * server's database, a postgresql:// URI or conninfo, is left to st_open).
 */
int fs_check_db(const char *path, struct fs_err *err);

/* Splits a comma-separated list in place into out[0..max); the count, or -1 if more. */
int fs_split_list(char *s, char **out, int max);

/* Writes the policy names ("legacy, pendq, ...") into buf, for messages. */
void fs_policy_list(char *buf, size_t n);

/*
 * Checks the TRACE operands of replay and tune: each exists and, unless it
 * is a workload file or a database (which must then be alone), holds log
 * lines.  Prints the message as cmd and returns -1 on the first bad one.
 */
int fs_check_traces(const char *cmd, char **ops, int n);

/*
 * The parser threads of a FS_OPT_JOBS value: as given, or when 0
 * ps_jobs_default(busy), busy being the cores the command's own threads
 * keep busy beside its in-order stage (ingest's writer: 1).
 */
int fs_jobs(long long given, int busy);

#endif
