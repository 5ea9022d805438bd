/*
 * cmd/opt: declarative options for every command (see cmd/opt.h).
 */
#include "cmd/opt.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

/* The units a DURATION may carry, in nanoseconds. */
static const struct {
	const char *name;
	double ns;
} dur_units[] = {
	{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 }, { "ms", 1e6 },
	{ "s", 1e9 }, { "min", 60e9 }, { "h", 3600e9 },
};

#define DUR_UNITS_TEXT	"ns, us (or \xc2\xb5s), ms, s, min, h"

/*
 * Scans a plain decimal number ("50", "0.05", ".5", "-1.5" when neg) at s;
 * returns the character after it, or NULL if there is none.
 */
static const char *
scan_decimal(const char *s, int neg, double *v)
{
	const char *p = s;
	char buf[64];
	size_t n;
	int digits = 0;

	if (neg && *p == '-')
		p++;
	while (*p >= '0' && *p <= '9') {
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits++;
		}
	}
	n = (size_t)(p - s);
	if (digits == 0 || n >= sizeof(buf))
		return NULL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*v = strtod(buf, NULL);
	return p;
}

/* Parses a duration. */
int
fs_parse_duration(const char *s, double bare_scale, uint64_t *ns, struct fs_err *err)
{
	const char *u;
	double v, scale = -1;
	size_t i;

	if ((u = scan_decimal(s, 0, &v)) == NULL)
		return fs_err_set(err, EINVAL, "'%s' is not a duration (a number and a unit: "
		    DUR_UNITS_TEXT "; e.g. 50ms)", s);
	while (*u == ' ')
		u++;
	if (*u == '\0') {
		if (v == 0)
			scale = 1;
		else if (bare_scale > 0)
			scale = bare_scale;
		else
			return fs_err_set(err, EINVAL, "'%s' has no unit: write %sms, %sus, %ss ... "
			    "(units: " DUR_UNITS_TEXT ")", s, s, s, s);
	}
	for (i = 0; scale < 0 && i < sizeof(dur_units) / sizeof(dur_units[0]); i++)
		if (strcmp(u, dur_units[i].name) == 0)
			scale = dur_units[i].ns;
	if (scale < 0)
		return fs_err_set(err, EINVAL, "'%s': unknown unit '%s' (units: " DUR_UNITS_TEXT ")",
		    s, u);
	if (!(v * scale < 1.8e19))
		return fs_err_set(err, ERANGE, "'%s' is too long", s);
	*ns = (uint64_t)llround(v * scale);
	return 0;
}

/* Parses a size. */
int
fs_parse_size(const char *s, uint64_t *bytes, struct fs_err *err)
{
	static const struct {
		const char *name;
		double mult;
	} units[] = {
		{ "", 1 }, { "B", 1 }, { "K", 1024 }, { "k", 1024 }, { "KiB", 1024 },
		{ "M", 1048576 }, { "MiB", 1048576 }, { "G", 1073741824 }, { "GiB", 1073741824 },
	};
	const char *u;
	double v, x;
	size_t i;

	if ((u = scan_decimal(s, 0, &v)) == NULL)
		return fs_err_set(err, EINVAL, "'%s' is not a size (bytes, or with K, M, G: "
		    "e.g. 4096, 32K, 1MiB)", s);
	while (*u == ' ')
		u++;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(u, units[i].name) != 0)
			continue;
		x = v * units[i].mult;
		if (!(x < 1.8e19))
			return fs_err_set(err, ERANGE, "'%s' is too large", s);
		if (x != floor(x))
			return fs_err_set(err, EINVAL, "'%s' is not a whole number of bytes", s);
		*bytes = (uint64_t)x;
		return 0;
	}
	return fs_err_set(err, EINVAL, "'%s': unknown unit '%s' (K, M, G or KiB, MiB, GiB)", s, u);
}

/* Parses a ratio. */
int
fs_parse_ratio(const char *s, double *v, struct fs_err *err)
{
	const char *u;

	if ((u = scan_decimal(s, 1, v)) == NULL)
		return fs_err_set(err, EINVAL, "'%s' is not a ratio (e.g. 0.9 or 90%%)", s);
	while (*u == ' ')
		u++;
	if (strcmp(u, "%") == 0) {
		*v /= 100;
		return 0;
	}
	if (*u != '\0')
		return fs_err_set(err, EINVAL, "'%s' is not a ratio (e.g. 0.9 or 90%%)", s);
	if (fabs(*v) > 1)
		return fs_err_set(err, EINVAL, "'%s' is more than 1: a ratio is a fraction or a "
		    "percentage (%s%%?)", s, s);
	return 0;
}

/* Formats a duration for people. */
void
fs_fmt_duration(char *buf, size_t n, double ns)
{
	/* the unit is chosen after rounding to 3 digits: 999.6 us is "1 ms", not "1e+03 us" */
	if (!(ns >= 0))
		snprintf(buf, n, "-");
	else if (ns < 999.5)
		snprintf(buf, n, "%.3g ns", ns);
	else if (ns < 999.5e3)
		snprintf(buf, n, "%.3g us", ns / 1e3);
	else if (ns < 999.5e6)
		snprintf(buf, n, "%.3g ms", ns / 1e6);
	else
		snprintf(buf, n, "%.3g s", ns / 1e9);
}

/* Formats a duration exactly, in the largest unit that divides it. */
void
fs_fmt_duration_arg(char *buf, size_t n, uint64_t ns)
{
	static const struct { uint64_t ns; const char *unit; } u[] = {
		{ 3600000000000ull, "h" }, { 60000000000ull, "min" }, { 1000000000, "s" },
		{ 1000000, "ms" }, { 1000, "us" }, { 1, "ns" },
	};
	size_t i;

	if (ns == 0) {
		snprintf(buf, n, "0");
		return;
	}
	for (i = 0; ns % u[i].ns != 0; i++)
		;
	snprintf(buf, n, "%" PRIu64 "%s", ns / u[i].ns, u[i].unit);
}

/* The value name an option shows in help. */
static const char *
arg_name(const struct fs_opt *o)
{
	if (o->arg != NULL)
		return o->arg;
	switch (o->type) {
	case FS_OT_DURATION:
		return o->flags & FS_OF_BARE_SECONDS ? "SECONDS" : "DURATION";
	case FS_OT_SIZE:
		return "SIZE";
	case FS_OT_RATIO:
		return "RATIO";
	case FS_OT_COUNT:
		return "N";
	case FS_OT_NUMBER:
		return "X";
	case FS_OT_CHOICE:
		return o->choices;
	default:
		return "VALUE";
	}
}

/* Formats a bound of an option for a message. */
static void
fmt_bound(const struct fs_opt *o, double v, char *buf, size_t n)
{
	if (o->type == FS_OT_DURATION)
		fs_fmt_duration(buf, n, v);
	else if (o->type == FS_OT_RATIO)
		snprintf(buf, n, "%g", v);
	else
		snprintf(buf, n, "%.15g", v);
}

/* Checks v against the option's bounds; -1 with err set if outside. */
static int
check_bounds(const struct fs_opt *o, double v, const char *arg, struct fs_err *err)
{
	char lo[32], hi[32];

	if (o->min == 0 && o->max == 0)
		return 0;
	if (v >= o->min && v <= o->max)
		return 0;
	fmt_bound(o, o->min, lo, sizeof(lo));
	fmt_bound(o, o->max, hi, sizeof(hi));
	return fs_err_set(err, ERANGE, "'%s' is out of range (%s to %s)", arg, lo, hi);
}

/* Parses one choice; its index, or -1 with err set. */
static int
parse_choice(const struct fs_opt *o, const char *arg, struct fs_err *err)
{
	const char *p = o->choices, *bar;
	size_t n = strlen(arg);
	int i = 0;

	for (;;) {
		bar = strchr(p, '|');
		if ((size_t)(bar ? bar - p : (ptrdiff_t)strlen(p)) == n && strncmp(p, arg, n) == 0)
			return i;
		if (bar == NULL)
			break;
		p = bar + 1;
		i++;
	}
	fs_err_set(err, EINVAL, "'%s' is not one of %s", arg, o->choices);
	return -1;
}

/* Parses arg and stores it in base as option o says; -1 with err set. */
static int
set_value(const struct fs_opt *o, void *base, const char *arg, struct fs_err *err)
{
	char *dst = (char *)base + o->off, *end;
	long long ll;
	uint64_t u;
	double d;
	int k;

	switch (o->type) {
	case FS_OT_FLAG:
		*(int *)dst = 1;
		return 0;
	case FS_OT_STRING:
		*(const char **)dst = arg;
		return 0;
	case FS_OT_COUNT:
		errno = 0;
		ll = strtoll(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || errno != 0 || arg[0] == '+' || arg[0] == ' ')
			return fs_err_set(err, EINVAL, "'%s' is not a whole number", arg);
		if (check_bounds(o, (double)ll, arg, err) < 0)
			return -1;
		*(long long *)dst = ll;
		return 0;
	case FS_OT_NUMBER:
		end = (char *)scan_decimal(arg, o->min < 0, &d);
		if (end == NULL || *end != '\0')
			return fs_err_set(err, EINVAL, "'%s' is not a number", arg);
		if (check_bounds(o, d, arg, err) < 0)
			return -1;
		*(double *)dst = d;
		return 0;
	case FS_OT_DURATION:
		if (fs_parse_duration(arg, o->flags & FS_OF_BARE_SECONDS ? 1e9 : 0, &u, err) < 0 ||
		    check_bounds(o, (double)u, arg, err) < 0)
			return -1;
		*(uint64_t *)dst = u;
		return 0;
	case FS_OT_SIZE:
		if (fs_parse_size(arg, &u, err) < 0 || check_bounds(o, (double)u, arg, err) < 0)
			return -1;
		*(uint64_t *)dst = u;
		return 0;
	case FS_OT_RATIO:
		if (fs_parse_ratio(arg, &d, err) < 0 || check_bounds(o, d, arg, err) < 0)
			return -1;
		*(double *)dst = d;
		return 0;
	case FS_OT_CHOICE:
		if ((k = parse_choice(o, arg, err)) < 0)
			return -1;
		*(int *)dst = k;
		return 0;
	case FS_OT_CUSTOM:
		return o->fn(arg, dst, err);
	default:
		return fs_err_set(err, EINVAL, "internal: option --%s has no type", o->name);
	}
}

/* Prints a usage error. */
int
fs_usage(const struct fs_cmdspec *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "flushscope %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry 'flushscope help %s'\n", c->name);
	return FS_EXIT_USAGE;
}

/* Finds an option by long name (n bytes); NULL if none. */
static const struct fs_opt *
find_long(const struct fs_cmdspec *c, const char *name, size_t n)
{
	const struct fs_opt *o;

	for (o = c->opts; o->type != FS_OT_END; o++)
		if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
			return o;
	return NULL;
}

/* Finds an option by short name; NULL if none. */
static const struct fs_opt *
find_short(const struct fs_cmdspec *c, char ch)
{
	const struct fs_opt *o;

	for (o = c->opts; o->type != FS_OT_END; o++)
		if (o->shortname == ch)
			return o;
	return NULL;
}

/* Applies one option's value; -1 after printing a usage error. */
static int
apply(const struct fs_cmdspec *c, const struct fs_opt *o, void *base, const char *arg,
    const char *spelled, struct fs_args *a)
{
	struct fs_err err;

	fs_err_clear(&err);
	if (o->type == FS_OT_GONE) {
		fs_usage(c, "%s is gone: %s", spelled, o->help);
		return -1;
	}
	if (set_value(o, base, arg, &err) < 0) {
		fs_usage(c, "%s: %s", spelled, err.msg);
		return -1;
	}
	if (o - c->opts < 64)	/* a table holds at most 64 options (cmd/opt.h) */
		a->given |= (uint64_t)1 << (o - c->opts);
	return 0;
}

/* Parses a command line. */
int
fs_opt_parse(const struct fs_cmdspec *c, void *base, int argc, char **argv,
    struct fs_args *a)
{
	const struct fs_opt *o;
	struct fs_err err;
	int i, w = 1, endopts = 0;

	memset(a, 0, sizeof(*a));
	for (o = c->opts; o->type != FS_OT_END; o++) {
		if (o->def == NULL || (o->flags & FS_OF_DEFTEXT) || o->type == FS_OT_FLAG)
			continue;
		fs_err_clear(&err);
		if (set_value(o, base, o->def, &err) < 0) {
			fs_warn(c->name, "internal: bad default of --%s: %s", o->name, err.msg);
			return -1;
		}
	}
	for (i = 1; i < argc; i++) {
		char *s = argv[i], spelled[128];

		if (endopts || s[0] != '-' || s[1] == '\0') {
			argv[w++] = s;
			continue;
		}
		if (strcmp(s, "--") == 0) {
			endopts = 1;
			continue;
		}
		if (s[1] == '-') {
			const char *name = s + 2, *eq = strchr(name, '=');
			size_t n = eq ? (size_t)(eq - name) : strlen(name);
			const char *val;

			snprintf(spelled, sizeof(spelled), "--%.*s", (int)(n < 100 ? n : 100), name);
			if ((o = find_long(c, name, n)) == NULL) {
				if (n == 4 && strncmp(name, "help", 4) == 0) {
					fs_opt_help(c, stdout);
					return FS_OPT_HELP;
				}
				fs_usage(c, "unknown option '%s'", spelled);
				return -1;
			}
			if (o->type == FS_OT_FLAG) {
				if (eq != NULL) {
					fs_usage(c, "%s takes no value", spelled);
					return -1;
				}
				val = NULL;
			} else if (o->type == FS_OT_GONE) {
				val = NULL;
			} else if (eq != NULL) {
				val = eq + 1;
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				fs_usage(c, "%s needs a value (%s)", spelled, arg_name(o));
				return -1;
			}
			if (apply(c, o, base, val, spelled, a) < 0)
				return -1;
			continue;
		}
		for (int j = 1; s[j] != '\0'; j++) {
			snprintf(spelled, sizeof(spelled), "-%c", s[j]);
			if ((o = find_short(c, s[j])) == NULL) {
				if (s[j] == 'h') {
					fs_opt_help(c, stdout);
					return FS_OPT_HELP;
				}
				fs_usage(c, "unknown option '%s'", spelled);
				return -1;
			}
			if (o->type == FS_OT_FLAG) {
				if (apply(c, o, base, NULL, spelled, a) < 0)
					return -1;
				continue;
			}
			if (s[j + 1] != '\0') {
				if (apply(c, o, base, s + j + 1, spelled, a) < 0)
					return -1;
			} else if (i + 1 < argc) {
				if (apply(c, o, base, argv[++i], spelled, a) < 0)
					return -1;
			} else {
				fs_usage(c, "%s needs a value (%s)", spelled, arg_name(o));
				return -1;
			}
			break;
		}
	}
	a->ops = argv + 1;
	a->nops = w - 1;
	if (a->nops < c->min_ops) {
		fs_usage(c, "missing operand: give %s", c->usage[0] ? c->usage[0] : "an operand");
		return -1;
	}
	if (c->max_ops >= 0 && a->nops > c->max_ops) {
		fs_usage(c, "unexpected argument '%s'", a->ops[c->max_ops]);
		return -1;
	}
	return 0;
}

/* Whether an option was given. */
int
fs_opt_given(const struct fs_cmdspec *c, const struct fs_args *a, const char *name)
{
	const struct fs_opt *o = find_long(c, name, strlen(name));

	return o != NULL && o - c->opts < 64 && (a->given >> (o - c->opts) & 1);
}

/* The tag of an option as plain text. */
void
fs_opt_tag(const struct fs_opt *o, char *buf, size_t n)
{
	int k = 0;

	if (o->shortname)
		k = snprintf(buf, n, "-%c, ", o->shortname);
	if (k < 0 || (size_t)k >= n)
		return;
	if (o->type == FS_OT_FLAG)
		snprintf(buf + k, n - (size_t)k, "--%s", o->name);
	else
		snprintf(buf + k, n - (size_t)k, "--%s %s", o->name, arg_name(o));
}

/* Prints the usage lines. */
void
fs_opt_usage(const struct fs_cmdspec *c, FILE *f)
{
	int i;

	for (i = 0; i < 4 && (i == 0 || c->usage[i] != NULL); i++)
		fprintf(f, "%s flushscope %s [options]%s%s\n", i ? "      " : "usage:", c->name,
		    c->usage[i] && c->usage[i][0] ? " " : "", c->usage[i] ? c->usage[i] : "");
}

/* Prints the help of a command. */
void
fs_opt_help(const struct fs_cmdspec *c, FILE *f)
{
	const struct fs_opt *o;
	char disp[160];
	int dur = 0, size = 0, ratio = 0, secs = 0;

	fs_opt_usage(c, f);
	fprintf(f, "\n%s\n\noptions:\n", c->summary);
	for (o = c->opts; o->type != FS_OT_END; o++) {
		if (o->flags & FS_OF_HIDDEN)
			continue;
		snprintf(disp, sizeof(disp), "%s", o->shortname ? "" : "    ");
		fs_opt_tag(o, disp + strlen(disp), sizeof(disp) - strlen(disp));
		if (strlen(disp) > 26)
			fprintf(f, "  %s\n%30s", disp, "");
		else
			fprintf(f, "  %-28s", disp);
		fprintf(f, "%s", o->help);
		if (o->def != NULL)
			fprintf(f, " (default %s)", o->def);
		fputc('\n', f);
		dur |= o->type == FS_OT_DURATION && !(o->flags & FS_OF_BARE_SECONDS);
		secs |= o->type == FS_OT_DURATION && (o->flags & FS_OF_BARE_SECONDS);
		size |= o->type == FS_OT_SIZE;
		ratio |= o->type == FS_OT_RATIO;
	}
	fprintf(f, "  %-28s%s\n", "-h, --help", "this help");
	if (dur || size || ratio || secs)
		fputc('\n', f);
	if (dur)
		fprintf(f, "DURATION: a number and a unit (" DUR_UNITS_TEXT "), e.g. 50ms, 0.5s, "
		    "200us;\n  a bare number is refused (a bare 0 is zero).\n");
	if (secs)
		fprintf(f, "SECONDS: seconds as in top(1) (e.g. 2, 0.5), or a DURATION with a unit.\n");
	if (size)
		fprintf(f, "SIZE: bytes, or with K, M, G (KiB, MiB, GiB; powers of 1024), e.g. 4096, "
		    "32K, 1MiB.\n");
	if (ratio)
		fprintf(f, "RATIO: a fraction or a percentage, e.g. 0.9 or 90%%.\n");
	if (c->notes != NULL)
		fprintf(f, "\n%s", c->notes);
	if (strcmp(c->name, "help") == 0)
		fprintf(f, "\nSee flushscope(1).\n");
	else
		fprintf(f, "\nSee flushscope-%s(1).\n", c->name);
}

/* Writes s for roff: '-' as \-, backslashes doubled. */
static void
roff_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\\')
			fputs("\\e", f);
		else
			fputc(*s, f);
	}
}

/* Prints the roff option list. */
void
fs_opt_man(const struct fs_cmdspec *c, FILE *f)
{
	const struct fs_opt *o;

	for (o = c->opts; o->type != FS_OT_END; o++) {
		if (o->flags & FS_OF_HIDDEN)
			continue;
		fputs(".TP\n", f);
		if (o->shortname)
			fprintf(f, "\\fB\\-%c\\fR, ", o->shortname);
		fputs("\\fB\\-\\-", f);
		roff_str(f, o->name);
		fputs("\\fR", f);
		if (o->type != FS_OT_FLAG) {
			fputs(" \\fI", f);
			roff_str(f, arg_name(o));
			fputs("\\fR", f);
		}
		fputc('\n', f);
		roff_str(f, o->help);
		if (o->def != NULL) {
			fputs(" (default ", f);
			roff_str(f, o->def);
			fputc(')', f);
		}
		fputs(".\n", f);
	}
	fputs(".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nPrint the help and exit.\n", f);
}
