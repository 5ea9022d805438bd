/*
 * Shared by the front ends in cmd/: the command entry points and the small
 * helpers every command uses for its command line and output.  No parsing,
 * storage or engine logic lives in cmd/.
 */
#ifndef FS_CMD_CMD_H
#define FS_CMD_CMD_H

#include <stdio.h>

#include "util/json.h"

#define CMD(name, fn, summary) int fn(int argc, char **argv);
#include "cmd/commands.h"
#undef CMD

/* Output formats selected by --format. */
enum fs_format { FS_FMT_TABLE = 0, FS_FMT_CSV, FS_FMT_JSON };

/* Parses "table", "csv" or "json"; returns -1 if unknown. */
int fs_format_parse(const char *s);

/* Parses a --format value; prints the usage message for cmd and returns -1
 * if it is not table, csv or json. */
int fs_opt_format(const char *cmd, const char *arg);

/* Parses an integer option in [min, max]; prints a message naming the
 * option and returns -1 if it is not one. */
int fs_opt_long(const char *cmd, const char *opt, const char *arg, long min,
    long max, long *out);

/* Parses --clock: "virtual" -> 0 (FL_CLOCK_VIRTUAL), "real" -> 1
 * (FL_CLOCK_REAL); prints a message and returns -1 otherwise. */
int fs_opt_clock(const char *cmd, const char *arg);

/* Parses a duration option ("0.5ms", "200us", "1s", "800ns"; a bare number
 * is milliseconds; at most 1000 s) into microseconds; prints a message naming
 * the option and returns -1 if it is not one. */
int fs_opt_duration_us(const char *cmd, const char *opt, const char *arg, double *us);

struct rp_options;

/* The replay model's options, shared by replay and verify: 'L'
 * --wake-latency DUR, 'K' --cpu-cost W,E,R, 'B' --batch DUR (getopt codes).
 * Sets o; prints a message naming the option and returns -1 if arg is bad. */
int fs_opt_model(const char *cmd, int code, const char *arg, struct rp_options *o);

/* Global options, set by flushscope.c before the command runs. */
struct fs_global {
	int quiet;		/* -q: no progress, no summary on stderr */
	int color;		/* colour allowed (terminal and NO_COLOR unset) */
};
extern struct fs_global fs_global;

/* Prints "flushscope <cmd>: message" to stderr (printf-style). */
void fs_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


#endif
