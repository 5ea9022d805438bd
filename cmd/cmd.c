#include "cmd/cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay.h"
#include "libflush/flush.h"

struct fs_global fs_global;

/* Parses a --format value. */
int
fs_format_parse(const char *s)
{
	if (strcmp(s, "table") == 0)
		return FS_FMT_TABLE;
	if (strcmp(s, "csv") == 0)
		return FS_FMT_CSV;
	if (strcmp(s, "json") == 0)
		return FS_FMT_JSON;
	return -1;
}

/* Parses a --format value, complaining in the command's name. */
int
fs_opt_format(const char *cmd, const char *arg)
{
	int f = fs_format_parse(arg);

	if (f < 0)
		fs_warn(cmd, "--format must be table, csv or json, not '%s'", arg);
	return f;
}

/* Parses an integer option within [min, max]. */
int
fs_opt_long(const char *cmd, const char *opt, const char *arg, long min,
    long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		if (max == LONG_MAX)
			fs_warn(cmd, "%s must be an integer >= %ld, not '%s'", opt, min, arg);
		else
			fs_warn(cmd, "%s must be %ld..%ld, not '%s'", opt, min, max, arg);
		return -1;
	}
	*out = v;
	return 0;
}

/* Parses --clock into a libflush clock. */
int
fs_opt_clock(const char *cmd, const char *arg)
{
	if (strcmp(arg, "virtual") == 0)
		return FL_CLOCK_VIRTUAL;
	if (strcmp(arg, "real") == 0)
		return FL_CLOCK_REAL;
	fs_warn(cmd, "--clock must be virtual or real, not '%s'", arg);
	return -1;
}

/* Prints a message prefixed with the command name to stderr. */
void
fs_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "flushscope%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Parses a duration option into microseconds. */
int
fs_opt_duration_us(const char *cmd, const char *opt, const char *arg, double *us)
{
	char *end;
	double v = strtod(arg, &end);

	double scale = -1;

	if (end != arg && v >= 0) {
		if (*end == '\0' || strcmp(end, "ms") == 0)
			scale = 1000;
		else if (strcmp(end, "us") == 0)
			scale = 1;
		else if (strcmp(end, "s") == 0)
			scale = 1e6;
		else if (strcmp(end, "ns") == 0)
			scale = 1e-3;
	}
	/* at most 1000 s, so that callers can convert to ns without overflow */
	if (scale < 0 || !(v * scale <= 1e9)) {
		fs_warn(cmd, "%s: bad duration '%s' (e.g. 0.5ms, 200us; at most 1000s)", opt, arg);
		return -1;
	}
	*us = v * scale;
	return 0;
}

/* Parses one of the replay model's options into o. */
int
fs_opt_model(const char *cmd, int code, const char *arg, struct rp_options *o)
{
	struct fs_err err;
	double us;

	switch (code) {
	case 'L':
	case 'B':
		if (fs_opt_duration_us(cmd, code == 'L' ? "--wake-latency" : "--batch", arg,
		    &us) < 0)
			return -1;
		if (us > 1e6) {
			fs_warn(cmd, "%s must be at most 1s, not '%s'",
			    code == 'L' ? "--wake-latency" : "--batch", arg);
			return -1;
		}
		if (code == 'L')
			o->wake_latency_ns = (uint64_t)(us * 1000 + 0.5);
		else
			o->batch_ns = (uint64_t)(us * 1000 + 0.5);
		return 0;
	case 'K':
		fs_err_clear(&err);
		if (rp_cost_parse(arg, &o->cost, &err) < 0) {
			fs_warn(cmd, "--cpu-cost: %s", err.msg);
			return -1;
		}
		return 0;
	default:
		fs_warn(cmd, "internal: option code %d is not a model option", code);
		return -1;
	}
}
