#include "cmd/cmd.h"
#include "cmd/model.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "libflush/flush.h"
#include "parsers/sniff.h"

struct fs_global fs_global;

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

/* Writes a JSON number or null. */
void
fs_json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else if (v == floor(v) && fabs(v) < 1e15)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.6g", v);
}

/* Writes a JSON integer or null. */
void
fs_json_int(FILE *f, int64_t v)
{
	if (v < 0)
		fputs("null", f);
	else
		fprintf(f, "%lld", (long long)v);
}

/* Finds a command's spec. */
const struct fs_cmdspec *
fs_cmd_spec(const char *name)
{
	static const struct fs_cmdspec *const specs[] = {
#define CMD(n, fn, spec) &spec,
#include "cmd/commands.h"
#undef CMD
		&fs_spec_help, NULL
	};
	int i;

	for (i = 0; specs[i] != NULL; i++)
		if (strcmp(specs[i]->name, name) == 0)
			return specs[i];
	return NULL;
}

/* Checks that an input exists and holds log lines. */
int
fs_check_log(const char *path, const char *log_format, struct fs_err *err)
{
	struct ps_sniff s;
	struct stat sb;
	int rc;

	if (strcmp(path, "-") != 0) {
		if (stat(path, &sb) != 0)
			return fs_err_set(err, errno, "%s: %s", path, strerror(errno));
		if (S_ISDIR(sb.st_mode))
			return fs_err_set(err, EISDIR, "%s: is a directory", path);
	}
	rc = ps_sniff_path(path, log_format, &s, err);
	if (rc < 0)
		return -1;
	if (rc == PS_SNIFF_NOT_LOG && s.lines == 0)
		return fs_err_set(err, EINVAL, "%s: no SLASH2 log line found (the file is empty)",
		    path);
	if (rc == PS_SNIFF_NOT_LOG)
		return fs_err_set(err, EINVAL, "%s: no SLASH2 log line found (in the first %llu "
		    "line%s)", path, (unsigned long long)s.lines, s.lines == 1 ? "" : "s");
	return 0;
}

/* Writes the policy names, comma-separated, into buf. */
void
fs_policy_list(char *buf, size_t n)
{
	size_t k = 0;
	int p;

	buf[0] = '\0';
	for (p = 0; p < FL_POL_COUNT && k < n; p++)
		k += (size_t)snprintf(buf + k, n - k, "%s%s", p ? ", " : "",
		    fl_policy_name((enum fl_policy)p));
}

/*
 * Parses --cpu-cost: three durations, per wake-up, examination and RPC,
 * and optionally a fourth, per timer re-arm (else RP_COST_REARM_NS).
 */
int
fs_parse_cpu_cost(const char *arg, void *dst, struct fs_err *err)
{
	struct rp_cost *c = dst;
	char buf[128], *p[5], *save = NULL;
	uint64_t v[4];
	int i, n;

	if (strlen(arg) >= sizeof(buf))
		return fs_err_set(err, EINVAL, "'%s' is too long", arg);
	strcpy(buf, arg);
	for (n = 0; n < 5 && (p[n] = strtok_r(n ? NULL : buf, ",", &save)) != NULL; n++)
		;
	if (n < 3 || n > 4 || arg[strlen(arg) - 1] == ',')
		return fs_err_set(err, EINVAL, "'%s': give three or four durations, per wake-up, "
		    "examination, RPC and timer re-arm (e.g. 12us,0.1us,1.2us,0.8us)", arg);
	for (i = 0; i < n; i++)
		if (fs_parse_duration(p[i], 0, &v[i], err) < 0)
			return -1;
	c->wake_ns = (double)v[0];
	c->exam_ns = (double)v[1];
	c->rpc_ns = (double)v[2];
	c->rearm_ns = n == 4 ? (double)v[3] : RP_COST_REARM_NS;
	return 0;
}

/* Copies the model arguments into replay options. */
void
fs_model_apply(const struct fs_model_args *m, const struct fs_cmdspec *c,
    const struct fs_args *a, struct rp_options *o)
{
	o->clock = m->clock ? FL_CLOCK_REAL : FL_CLOCK_VIRTUAL;
	o->repeat = (int)m->repeat;
	o->cost = m->cost;
	if (fs_opt_given(c, a, "wake-latency"))
		o->wake_latency_ns = m->wake_latency_ns;
	if (fs_opt_given(c, a, "batch"))
		o->batch_ns = m->batch_ns;
}

/* Checks the model options against the engine's limits. */
int
fs_model_check(const struct fs_cmdspec *c, const struct rp_options *o)
{
	struct fl_config fc;
	char a[32], b[32];

	if (o->batch_ns == RP_ENGINE_DEFAULT || fl_config_init(&fc, "deadline") < 0)
		return 0;
	if (o->batch_ns > fc.tun.max_age_ns) {
		fs_fmt_duration(a, sizeof(a), (double)o->batch_ns);
		fs_fmt_duration(b, sizeof(b), (double)fc.tun.max_age_ns);
		return fs_usage(c, "--batch: %s is longer than deadline's max age (%s)", a, b);
	}
	return 0;
}

/* Checks that a database to read exists and is a file. */
int
fs_check_db(const char *path, struct fs_err *err)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return fs_err_set(err, errno, "%s: %s", path, strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return fs_err_set(err, EISDIR, "%s: is a directory", path);
	return 0;
}
