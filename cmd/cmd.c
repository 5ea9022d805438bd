#include "cmd/cmd.h"
#include "cmd/model.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "libflush/flush.h"
#include "parsers/sniff.h"
#include "parsers/source.h"
#include "replay/wlsource.h"
#include "store/store.h"

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

/* Splits a comma-separated list in place. */
int
fs_split_list(char *s, char **out, int max)
{
	char *tok, *save = NULL;
	int n = 0;

	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return -1;
		out[n++] = tok;
	}
	return n;
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
	memcpy(o->set, m->set.v, sizeof(o->set));
	o->nset = m->set.n;
}

/* Parses --set [POLICY:]NAME=VALUE. */
int
fs_parse_setting(const char *arg, void *dst, struct fs_err *err)
{
	struct fs_settings *ss = dst;
	struct rp_setting s;
	const char *eq = strchr(arg, '='), *colon, *name, *tn = NULL;
	struct fl_config fc;
	size_t nl;
	int i;

	memset(&s, 0, sizeof(s));
	if (eq == NULL || eq == arg)
		return fs_err_set(err, EINVAL, "'%s': want [POLICY:]NAME=VALUE", arg);
	colon = memchr(arg, ':', (size_t)(eq - arg));
	name = colon != NULL ? colon + 1 : arg;
	if (colon != NULL) {
		if ((size_t)(colon - arg) >= sizeof(s.policy))
			return fs_err_set(err, EINVAL, "'%s': no such policy", arg);
		memcpy(s.policy, arg, (size_t)(colon - arg));
		if (fl_policy_parse(s.policy) < 0) {
			char names[128];

			fs_policy_list(names, sizeof(names));
			return fs_err_set(err, EINVAL, "'%s': unknown policy '%s' (%s)", arg,
			    s.policy, names);
		}
	}
	nl = (size_t)(eq - name);
	for (i = 0; (tn = fl_tunable_name(i)) != NULL; i++) {
		size_t tl = strlen(tn);

		if ((tl == nl && strncmp(tn, name, nl) == 0) ||
		    (tl == nl + 3 && strncmp(tn, name, nl) == 0 && strcmp(tn + nl, "_ns") == 0))
			break;
	}
	if (tn == NULL) {
		char names[512];
		size_t k = 0;

		names[0] = '\0';
		for (i = 0; fl_tunable_name(i) != NULL && k < sizeof(names); i++) {
			const char *t = fl_tunable_name(i);
			size_t tl = strlen(t);

			if (tl > 3 && strcmp(t + tl - 3, "_ns") == 0)
				tl -= 3;
			k += (size_t)snprintf(names + k, sizeof(names) - k, "%s%.*s", i ? ", " : "",
			    (int)tl, t);
		}
		return fs_err_set(err, EINVAL, "'%s': unknown tunable '%.*s' (%s)", arg, (int)nl,
		    name, names);
	}
	snprintf(s.name, sizeof(s.name), "%s", tn);
	if (strlen(tn) > 3 && strcmp(tn + strlen(tn) - 3, "_ns") == 0) {
		if (fs_parse_duration(eq + 1, 0, &s.value, err) < 0)
			return fs_err_prefix(err, "%s", arg);
	} else {
		char *end;

		errno = 0;
		s.value = strtoull(eq + 1, &end, 10);
		if (!isdigit((unsigned char)eq[1]) || *end != '\0' || errno != 0)
			return fs_err_set(err, EINVAL, "'%s': %s takes a whole number", arg, tn);
	}
	/* the engine's own range check, now rather than in the middle of a replay */
	if (fl_config_init(&fc, s.policy[0] ? s.policy : "legacy") == 0) {
		char v[24];

		snprintf(v, sizeof(v), "%" PRIu64, s.value);
		if (fl_config_set(&fc, s.name, v, err) < 0)
			return fs_err_prefix(err, "%s", arg);
	}
	if (ss->n >= RP_SET_MAX)
		return fs_err_set(err, E2BIG, "at most %d --set options", RP_SET_MAX);
	ss->v[ss->n++] = s;
	return 0;
}

/* A setting as --set takes it. */
void
fs_setting_arg(const struct rp_setting *s, char *buf, size_t n)
{
	size_t l = strlen(s->name);
	char v[32];

	if (l > 3 && strcmp(s->name + l - 3, "_ns") == 0) {
		l -= 3;
		fs_fmt_duration_arg(v, sizeof(v), s->value);
	} else
		snprintf(v, sizeof(v), "%" PRIu64, s->value);
	snprintf(buf, n, "%s%s%.*s=%s", s->policy, s->policy[0] ? ":" : "", (int)l, s->name, v);
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

/* Checks the TRACE operands. */
int
fs_check_traces(const char *cmd, char **ops, int n)
{
	struct fs_err err;
	int i;

	fs_err_clear(&err);
	for (i = 0; i < n; i++) {
		enum wl_input k = wl_input_kind(ops[i]);

		if (k != WL_IN_LOG && n > 1) {
			fs_warn(cmd, "%s: is a %s: give it alone (or with -d/-w)", ops[i],
			    k == WL_IN_DB ? "database" : "workload file");
			return -1;
		}
		if (k == WL_IN_LOG && fs_check_log(ops[i], NULL, &err) < 0) {
			fs_warn(cmd, "%s", err.msg);
			return -1;
		}
	}
	return 0;
}

/* Checks that a database to read exists and is a file. */
int
fs_check_db(const char *path, struct fs_err *err)
{
	struct stat sb;

	if (st_is_server(path))		/* a server: st_open says what is wrong */
		return 0;
	if (stat(path, &sb) != 0)
		return fs_err_set(err, errno, "%s: %s", path, strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return fs_err_set(err, EISDIR, "%s: is a directory", path);
	return 0;
}

/* The parser threads of a FS_OPT_JOBS value (see cmd.h). */
int
fs_jobs(long long given, int busy)
{
	return given > 0 ? (int)given : ps_jobs_default(busy);
}
