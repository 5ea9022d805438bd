/*
 * flushscope tune: which policy and which setting for this workload, under
 * a latency constraint (the sweep: replay/tune.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/model.h"
#include "replay/replay.h"
#include "replay/tune.h"
#include "replay/wlsource.h"
#include "store/store.h"
#include "util/plot.h"

#define MAXGRID 16

/* The --grid options given, in order. */
struct grid_args {
	struct {
		char policy[16];	/* "" = every policy swept */
		struct tn_axis ax;
	} g[MAXGRID];
	int n;
};

struct tune_args {
	const char *policy, *baseline, *plot, *client;
	uint64_t max_p99_ns, max_reg_ns, wake_latency_ns;
	struct rp_cost cost;
	struct fs_settings set;
	struct grid_args grid;
	long long jobs;
	int format, quiet;
};

/* Parses --grid [POLICY:]NAME=V1,V2,...: the values of one tunable. */
static int
parse_grid(const char *arg, void *dst, struct fs_err *err)
{
	struct grid_args *ga = dst;
	struct fs_settings one;
	const char *eq = strchr(arg, '='), *v;
	char buf[128];
	size_t head;

	if (eq == NULL)
		return fs_err_set(err, EINVAL, "'%s': want [POLICY:]NAME=V1,V2,...", arg);
	if (ga->n >= MAXGRID)
		return fs_err_set(err, E2BIG, "at most %d --grid options", MAXGRID);
	head = (size_t)(eq - arg);
	memset(&ga->g[ga->n], 0, sizeof(ga->g[ga->n]));
	for (v = eq + 1; ; ) {
		size_t vl = strcspn(v, ",");

		if (vl == 0 || head + 1 + vl >= sizeof(buf))
			return fs_err_set(err, EINVAL, "'%s': an empty or overlong value", arg);
		snprintf(buf, sizeof(buf), "%.*s=%.*s", (int)head, arg, (int)vl, v);
		/* each value is one --set: the same names, units and ranges */
		memset(&one, 0, sizeof(one));
		if (fs_parse_setting(buf, &one, err) < 0)
			return -1;
		if (ga->g[ga->n].ax.n >= TN_VALUES_MAX)
			return fs_err_set(err, E2BIG, "'%s': at most %d values", arg, TN_VALUES_MAX);
		snprintf(ga->g[ga->n].policy, sizeof(ga->g[ga->n].policy), "%s", one.v[0].policy);
		snprintf(ga->g[ga->n].ax.name, sizeof(ga->g[ga->n].ax.name), "%s", one.v[0].name);
		ga->g[ga->n].ax.v[ga->g[ga->n].ax.n++] = one.v[0].value;
		if (v[vl] == '\0')
			break;
		v += vl + 1;
	}
	ga->n++;
	return 0;
}

#define A struct tune_args
static const struct fs_opt tune_opts[] = {
	FS_OPT_STRING('p', "policy", A, policy, "LIST",
	    "legacy,2010-10,2011-08,head,pendq,deadline", "comma-separated policies to sweep"),
	FS_OPT_CUSTOM(0, "grid", A, grid, "[POLICY:]NAME=V1,V2,...", NULL, parse_grid,
	    "the values of one tunable (replacing its default grid; units as --set); "
	    "repeatable"),
	FS_OPT_DURATION(0, "max-p99", A, max_p99_ns, NULL, 0, 1000 * FS_NS_S,
	    "constraint: ready->issue p99 at most this (default: the baseline's)"),
	FS_OPT_STRING(0, "baseline", A, baseline, "POLICY", NULL,
	    "compare with POLICY at its defaults (default: the policy that wrote the trace)"),
	FS_OPT_DURATION(0, "max-p99-regression", A, max_reg_ns, "0", 0, 1000 * FS_NS_S,
	    "constraint: p99 at most the baseline's plus this"),
	FS_OPT_COUNT('j', "jobs", A, jobs, "N", NULL, 1, 64,
	    "threads parsing the logs and replaying the points (default: the cores available)"),
	FS_OPT_DURATION(0, "wake-latency", A, wake_latency_ns, NULL, 0, 1 * FS_NS_S,
	    "a signalled flush thread runs this much later (default 10us)"),
	FS_CPU_COST_OPT(A, cost),
	FS_OPT_CUSTOM(0, "set", A, set, "[POLICY:]NAME=VALUE", NULL, fs_parse_setting,
	    "a tunable fixed for every point (and the baseline) of POLICY or all; repeatable"),
	FS_OPT_STRING(0, "client", A, client, "NAME", NULL,
	    "with a database: only the sources of this client"),
	FS_OPT_CHOICE(0, "format", A, format, FS_FORMATS, "table", "output format"),
	FS_OPT_STRING(0, "plot", A, plot, "FILE.svg", NULL,
	    "CPU and wake-ups against p99 for every point, the frontier and the choice, as SVG"),
	FS_OPT_FLAG('q', "quiet", A, quiet, "no progress on stderr"),
	FS_OPT_END
};
#undef A

const struct fs_cmdspec fs_spec_tune = {
	.name = "tune",
	.usage = { "TRACE..." },
	.min_ops = 1, .max_ops = -1,
	.summary = "Finds the cheapest policy and setting for a trace under a latency limit.",
	.notes = "Every point is a replay in virtual time (CPU modelled); the recommendation is\n"
	    "the point with the least CPU whose ready->issue p99 meets the constraint.\n"
	    "Exit 0 with a recommendation, 1 when no point meets the constraint.\n",
	.opts = tune_opts,
};

/* The settings of a point as --set arguments, space-separated. */
static void
settings_args(const struct tn_point *p, char *buf, size_t n, int scoped)
{
	size_t k = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < p->nset && k < n; i++) {
		struct rp_setting s = p->set[i];
		char one[96];

		if (!scoped)
			s.policy[0] = '\0';
		fs_setting_arg(&s, one, sizeof(one));
		k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? " " : "", one);
	}
}

/* Builds the grids for the policies swept: defaults, then the --grid options. */
static int
make_grids(const struct tune_args *a, char **pols, int npol, struct tn_grid *g,
    struct fs_err *err)
{
	int i, k;

	for (i = 0; i < npol; i++) {
		if (tn_default_grid(pols[i], &g[i]) < 0)
			return fs_err_set(err, EINVAL, "no grid for policy '%s'", pols[i]);
		for (k = 0; k < a->grid.n; k++)
			if ((a->grid.g[k].policy[0] == '\0' ||
			    strcmp(a->grid.g[k].policy, pols[i]) == 0) &&
			    tn_grid_set(&g[i], &a->grid.g[k].ax, err) < 0)
				return -1;
	}
	for (k = 0; k < a->grid.n; k++) {
		for (i = 0; i < npol; i++)
			if (a->grid.g[k].policy[0] == '\0' || strcmp(a->grid.g[k].policy, pols[i]) == 0)
				break;
		if (i == npol)
			return fs_err_set(err, EINVAL, "--grid %s:%s: %s is not swept (--policy)",
			    a->grid.g[k].policy, a->grid.g[k].ax.name, a->grid.g[k].policy);
	}
	return 0;
}

/* One point's row of the table. */
static void
table_row(const struct tn_point *p, const char *mark)
{
	char set[160], b50[24], b99[24], bmax[24];

	settings_args(p, set, sizeof(set), 0);
	if (!p->valid) {
		printf("  %-9s %-32s %s\n", p->policy, set, p->why);
		return;
	}
	fs_fmt_duration(b50, sizeof(b50), (double)p->p50_ns);
	fs_fmt_duration(b99, sizeof(b99), (double)p->p99_ns);
	fs_fmt_duration(bmax, sizeof(bmax), (double)p->max_ns);
	printf("%s %-9s %-32s %9.2f %9" PRIu64 " %9" PRIu64 " %5.2f %9s %9s %9s %7" PRIu64
	    " %9.0f %s\n", mark, p->policy, set[0] ? set : "(defaults)", p->cpu_ns / 1e6,
	    p->wakeups, p->wakeups_min, p->efficiency, b50, b99, bmax, p->late,
	    p->mean_rpc_bytes / 1024, p->pareto ? "yes" : "");
}

/*
 * The command lines that reproduce the recommendation: replay shows it
 * beside the baseline (alone if it is the baseline's policy with other
 * settings); verify, whose --set without a policy is the candidate's
 * alone, checks it with the gate this comparison passes.
 */
static void
print_commands(FILE *f, const struct tn_point *base, const struct tn_point *rec,
    const char *client, char **ops, int nops)
{
	char scoped[256] = "", plain[256] = "", trace[512] = "", gate[128] = "";
	int same = strcmp(base->policy, rec->policy) == 0, i;
	size_t k;

	for (i = 0; i < rec->nset; i++) {
		struct rp_setting s = rec->set[i];
		char one[96];

		fs_setting_arg(&s, one, sizeof(one));
		k = strlen(scoped);
		snprintf(scoped + k, sizeof(scoped) - k, " --set %s", one);
		s.policy[0] = '\0';
		fs_setting_arg(&s, one, sizeof(one));
		k = strlen(plain);
		snprintf(plain + k, sizeof(plain) - k, " --set %s", one);
	}
	k = client != NULL ? (size_t)snprintf(trace, sizeof(trace), " --client %s", client) : 0;
	for (i = 0; i < nops && k < sizeof(trace); i++)
		k += (size_t)snprintf(trace + k, sizeof(trace) - k, " %s", ops[i]);
	fprintf(f, "  flushscope replay --policy %s%s%s%s%s\n", same ? "" : base->policy,
	    same ? "" : ",", rec->policy, scoped, trace);
	/* verify's default gate: 90 % less CPU, no p99 regression, no wasted examination */
	if (rec->p99_ns > base->p99_ns) {
		char d[32];

		fs_fmt_duration_arg(d, sizeof(d), rec->p99_ns - base->p99_ns);
		k = strlen(gate);
		snprintf(gate + k, sizeof(gate) - k, " --max-p99-regression %s", d);
	}
	if (base->cpu_ns > 0 && 1 - rec->cpu_ns / base->cpu_ns < 0.9) {
		k = strlen(gate);
		snprintf(gate + k, sizeof(gate) - k, " --min-cpu-reduction %.2f",
		    floor((1 - rec->cpu_ns / base->cpu_ns) * 100) / 100);
	}
	if (rec->wasted > 0) {
		k = strlen(gate);
		snprintf(gate + k, sizeof(gate) - k, " --max-wasted %" PRIu64, rec->wasted);
	}
	fprintf(f, "  flushscope verify --baseline %s --candidate %s%s%s%s\n", base->policy,
	    rec->policy, plain, gate, trace);
}

/* The bound curve at its 1-2-5 steps, as `latency wake-ups` pairs wrapped at 80 columns. */
static void
print_bound(const struct tn_bound *bd, size_t nbd)
{
	char l[24], one[48];
	size_t i, last = 0;	/* the last step: no comma after it */
	int col;

	for (i = 0; i < nbd; i++)
		if (tn_is_step(bd[i].latency_ns))
			last = i;
	col = printf("the limit, the fewest wake-ups that send every write within L:");
	for (i = 0; i < nbd; i++) {
		if (!tn_is_step(bd[i].latency_ns))
			continue;	/* a point's maximum: in JSON, CSV and the plot */
		fs_fmt_duration(l, sizeof(l), (double)bd[i].latency_ns);
		snprintf(one, sizeof(one), " %s %" PRIu64 "%s", l, bd[i].wakeups_min,
		    i < last ? "," : "");
		if (col + (int)strlen(one) > 80)
			col = printf("\n ");
		col += printf("%s", one);
	}
	printf("\n");
}

/* Prints the table form. */
static void
print_table(const char *src, const struct wl_workload *w, const struct tn_point *p, size_t n,
    const struct tn_point *base, long rec, const struct tn_bound *bd, size_t nbd,
    uint64_t limit, const char *why_limit, int jobs, const char *client, char **ops, int nops)
{
	char b99[24], lim[24], r99[24];
	size_t i;

	printf("%s: %zu writes; %zu points in virtual time, %d at once\n", src,
	    wl_count(w, WL_WRITE), n, jobs);
	printf("  %-9s %-32s %9s %9s %9s %5s %9s %9s %9s %7s %9s %s\n", "policy", "settings",
	    "CPU ms", "wake-ups", "bound", "eff.", "p50", "p99", "max", "late", "RPC KiB", "pareto");
	table_row(base, "B");
	for (i = 0; i < n; i++)
		table_row(&p[i], (long)i == rec ? "*" : " ");
	fs_fmt_duration(b99, sizeof(b99), (double)base->p99_ns);
	fs_fmt_duration(lim, sizeof(lim), (double)limit);
	printf("baseline (B): %s at its defaults: %.2f ms CPU, %" PRIu64 " wake-ups, p99 %s\n",
	    base->policy, base->cpu_ns / 1e6, base->wakeups, b99);
	print_bound(bd, nbd);
	fs_fmt_duration(lim, sizeof(lim), (double)limit);
	printf("constraint: p99 at most %s (%s)\n", lim, why_limit);
	if (rec < 0) {
		printf("recommendation: none: no point meets the constraint\n");
		return;
	}
	{
		const struct tn_point *r = &p[rec];
		char set[160];
		double red = base->cpu_ns > 0 ? 1 - r->cpu_ns / base->cpu_ns : 0;

		settings_args(r, set, sizeof(set), 0);
		fs_fmt_duration(r99, sizeof(r99), (double)r->p99_ns);
		printf("recommendation (*): %s%s%s: %.0f %% %s CPU than the baseline, %" PRIu64
		    " wake-ups instead of %" PRIu64 ", p99 %s -> %s; the limit for its budgets: %"
		    PRIu64 " wake-ups (efficiency %.2f)\n", r->policy, set[0] ? " " : "", set,
		    fabs(red) * 100, red >= 0 ? "less" : "more", r->wakeups, base->wakeups, b99, r99,
		    r->wakeups_min, r->efficiency);
		printf("reproduce it:\n");
		print_commands(stdout, base, r, client, ops, nops);
	}
}

/* One point as a JSON object. */
static void
json_point(FILE *f, const struct tn_point *p)
{
	int i;

	fprintf(f, "{\"policy\":\"%s\",\"tunables\":{", p->policy);
	for (i = 0; i < p->nset; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", p->set[i].name, p->set[i].value);
	fprintf(f, "},\"valid\":%s", p->valid ? "true" : "false");
	if (!p->valid) {
		fprintf(f, ",\"why\":");
		fs_json_str(f, p->why, strlen(p->why));
		fputc('}', f);
		return;
	}
	fprintf(f, ",\"model_cpu_ns\":%.0f,\"wakeups\":%" PRIu64 ",\"wakeups_min\":%" PRIu64
	    ",\"efficiency\":%.4f,\"rpcs\":%" PRIu64 ",\"late_writes\":%" PRIu64
	    ",\"mean_rpc_bytes\":%.1f,\"latency_us\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
	    "\"pareto\":%s}", p->cpu_ns, p->wakeups, p->wakeups_min, p->efficiency, p->rpcs,
	    p->late, p->mean_rpc_bytes, (double)p->p50_ns / 1e3, (double)p->p99_ns / 1e3,
	    (double)p->max_ns / 1e3, p->pareto ? "true" : "false");
}

/* Prints the JSON form. */
static void
print_json(const char *src, const struct tn_point *p, size_t n, const struct tn_point *base,
    long rec, const struct tn_bound *bd, size_t nbd, uint64_t limit)
{
	size_t i;

	printf("{\"trace\":");
	fs_json_str(stdout, src, strlen(src));
	printf(",\"max_p99_us\":%.3f,\"points\":[", (double)limit / 1e3);
	for (i = 0; i < n; i++) {
		if (i)
			putchar(',');
		json_point(stdout, &p[i]);
	}
	printf("],\"baseline\":");
	json_point(stdout, base);
	printf(",\"recommendation\":");
	if (rec >= 0)
		json_point(stdout, &p[rec]);
	else
		printf("null");
	printf(",\"bound\":[");
	for (i = 0; i < nbd; i++)
		printf("%s{\"latency_us\":%.3f,\"wakeups_min\":%" PRIu64 "}", i ? "," : "",
		    (double)bd[i].latency_ns / 1e3, bd[i].wakeups_min);
	printf("]}\n");
}

/* Prints the CSV form: one row per point, the baseline first. */
static void
print_csv(const struct tn_point *p, size_t n, const struct tn_point *base, long rec)
{
	size_t i;

	printf("role,policy,settings,valid,model_cpu_ns,wakeups,wakeups_min,efficiency,p50_us,"
	    "p99_us,max_us,late_writes,mean_rpc_bytes,pareto\n");
	for (i = 0; i <= n; i++) {
		const struct tn_point *q = i == 0 ? base : &p[i - 1];
		char set[160];

		settings_args(q, set, sizeof(set), 0);
		printf("%s,%s,%s,%d,%.0f,%" PRIu64 ",%" PRIu64 ",%.4f,%.3f,%.3f,%.3f,%" PRIu64
		    ",%.1f,%d\n",
		    i == 0 ? "baseline" : (long)(i - 1) == rec ? "recommendation" : "point",
		    q->policy, set, q->valid, q->cpu_ns, q->wakeups, q->wakeups_min, q->efficiency,
		    (double)q->p50_ns / 1e3,
		    (double)q->p99_ns / 1e3, (double)q->max_ns / 1e3, q->late, q->mean_rpc_bytes,
		    q->pareto);
	}
}

/*
 * Writes the SVG: CPU and wake-ups against p99, points, frontier, baseline,
 * choice, and the limit: the bound curve on the wake-ups panel, and on the
 * CPU panel its wake-ups at wake_ns each (the model charges at least that).
 */
static int
write_plot(const char *path, const struct tn_point *p, size_t n, const struct tn_point *base,
    long rec, const struct tn_bound *bd, size_t nbd, double wake_ns, struct fs_err *err)
{
	struct pl_chart *c;
	size_t m = (n > nbd ? n : nbd) + 1;
	double *x = calloc(m, sizeof(double)), *y = calloc(m, sizeof(double));
	double *yw = calloc(m, sizeof(double));
	size_t i, k;
	FILE *f;
	int rc = -1;

	if (x == NULL || y == NULL || yw == NULL ||
	    (c = pl_chart_new("flushscope tune: CPU and wake-ups against ready->issue p99", 2,
	    err)) == NULL) {
		if (x == NULL || y == NULL || yw == NULL)
			fs_err_set(err, ENOMEM, "plot: out of memory");
		free(x);
		free(y);
		free(yw);
		return -1;
	}
	pl_chart_xaxis(c, "ready->issue p99 (ms)", 1);
	pl_panel_yaxis(c, 0, "modelled flush CPU (ms)", 1);
	pl_panel_yaxis(c, 1, "wake-ups", 1);
	for (i = k = 0; i < n; i++)
		if (p[i].valid) {
			x[k] = (double)p[i].p99_ns / 1e6;
			y[k] = p[i].cpu_ns / 1e6;
			yw[k++] = (double)p[i].wakeups;
		}
	pl_series(c, 0, "points", x, y, k, PL_POINTS);
	pl_series(c, 1, "points", x, yw, k, PL_POINTS);
	/* the frontier, in p99 order (CPU falls as p99 grows along it) */
	for (i = k = 0; i < n; i++)
		if (p[i].pareto) {
			size_t j = k++;

			while (j > 0 && x[j - 1] > (double)p[i].p99_ns / 1e6) {
				x[j] = x[j - 1];
				y[j] = y[j - 1];
				j--;
			}
			x[j] = (double)p[i].p99_ns / 1e6;
			y[j] = p[i].cpu_ns / 1e6;
		}
	pl_series(c, 0, "Pareto frontier", x, y, k, PL_LINE);
	for (i = 0; i < nbd; i++) {
		x[i] = (double)bd[i].latency_ns / 1e6;
		yw[i] = (double)bd[i].wakeups_min;
		y[i] = yw[i] * wake_ns / 1e6;
	}
	pl_series(c, 0, "limit (its wake-ups' CPU)", x, y, nbd, PL_LINE);
	pl_series(c, 1, "limit: every write within x", x, yw, nbd, PL_LINE);
	x[0] = (double)base->p99_ns / 1e6;
	y[0] = base->cpu_ns / 1e6;
	yw[0] = (double)base->wakeups;
	pl_series(c, 0, "baseline", x, y, 1, PL_POINTS);
	pl_series(c, 1, "baseline", x, yw, 1, PL_POINTS);
	if (rec >= 0) {
		x[0] = (double)p[rec].p99_ns / 1e6;
		y[0] = p[rec].cpu_ns / 1e6;
		yw[0] = (double)p[rec].wakeups;
		pl_series(c, 0, "recommendation", x, y, 1, PL_POINTS);
		pl_series(c, 1, "recommendation", x, yw, 1, PL_POINTS);
	}
	if ((f = fopen(path, "w")) == NULL)
		fs_err_set(err, errno, "%s: %s", path, strerror(errno));
	else {
		rc = pl_chart_svg(c, f, err);
		if (fclose(f) != 0 && rc == 0)
			rc = fs_err_set(err, errno, "%s: %s", path, strerror(errno));
	}
	pl_chart_free(c);
	free(x);
	free(y);
	free(yw);
	return rc;
}

/* The p99 limit of the recommendation: --max-p99, else the baseline's plus what may regress. */
static uint64_t
constraint(const struct tune_args *a, int max_p99_given, const struct tn_point *base, char *why,
    size_t n)
{
	char d[24];

	if (max_p99_given) {
		snprintf(why, n, "--max-p99");
		return a->max_p99_ns;
	}
	fs_fmt_duration(d, sizeof(d), (double)a->max_reg_ns);
	if (a->max_reg_ns == 0)
		snprintf(why, n, "the baseline's");
	else
		snprintf(why, n, "the baseline's plus %s", d);
	return base->p99_ns + a->max_reg_ns;
}

/* The tune command. */
int
cmd_tune(int argc, char **argv)
{
	struct tune_args a;
	struct fs_args fa;
	char polbuf[256], *pols[TN_POLICIES_MAX], names[128], why_limit[96];
	struct tn_grid grids[TN_POLICIES_MAX + 1];	/* and the baseline */
	struct tn_point *pts = NULL, base;
	struct tn_bound *bd = NULL;
	struct rp_options o;
	struct wl_workload w;
	struct wl_extract_opts xo;
	struct fs_err err;
	const char *bpol;
	char shown[512], *src, **disp;
	uint64_t limit;
	size_t npts = 0, nbd = 0;
	long rec;
	int rc, npol, i, jobs;

	memset(&a, 0, sizeof(a));
	if ((rc = fs_opt_parse(&fs_spec_tune, &a, argc, argv, &fa)) != 0)
		return rc == FS_OPT_HELP ? FS_EXIT_OK : FS_EXIT_USAGE;
	fs_err_clear(&err);
	if (strlen(a.policy) >= sizeof(polbuf))
		return fs_usage(&fs_spec_tune, "--policy: the list is too long");
	strcpy(polbuf, a.policy);
	if ((npol = fs_split_list(polbuf, pols, TN_POLICIES_MAX)) <= 0)
		return fs_usage(&fs_spec_tune, "--policy: give 1 to %d policies", TN_POLICIES_MAX);
	for (i = 0; i < npol; i++)
		if (fl_policy_parse(pols[i]) < 0) {
			fs_policy_list(names, sizeof(names));
			return fs_usage(&fs_spec_tune, "--policy: unknown policy '%s' (%s)", pols[i],
			    names);
		}
	if (a.baseline != NULL && fl_policy_parse(a.baseline) < 0) {
		fs_policy_list(names, sizeof(names));
		return fs_usage(&fs_spec_tune, "--baseline: unknown policy '%s' (%s)", a.baseline,
		    names);
	}
	if (fs_opt_given(&fs_spec_tune, &fa, "max-p99") &&
	    fs_opt_given(&fs_spec_tune, &fa, "max-p99-regression"))
		return fs_usage(&fs_spec_tune, "give --max-p99 or --max-p99-regression, not both");
	if (make_grids(&a, pols, npol, grids, &err) < 0)
		return fs_usage(&fs_spec_tune, "%s", err.msg);
	if (fs_check_traces("tune", fa.ops, fa.nops) < 0)
		return FS_EXIT_RUNTIME;
	jobs = fs_opt_given(&fs_spec_tune, &fa, "jobs") ? (int)a.jobs :
	    (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (jobs < 1)
		jobs = 1;

	rp_options_default(&o);
	o.cost = a.cost;
	if (fs_opt_given(&fs_spec_tune, &fa, "wake-latency"))
		o.wake_latency_ns = a.wake_latency_ns;
	memcpy(o.set, a.set.v, sizeof(o.set));
	o.nset = a.set.n;
	/* a database named by URI is shown without its password */
	src = st_display_name(fa.ops[0], shown, sizeof(shown));
	disp = fa.nops == 1 ? &src : fa.ops;

	wl_extract_opts_default(&xo);
	xo.client = a.client;
	xo.jobs = jobs;		/* logs parsed on as many threads (the same workload) */
	if ((fa.nops == 1 ? wl_load(&w, fa.ops[0], &xo, &err) :
	    wl_load_logs(&w, fa.ops, fa.nops, &xo, &err)) < 0) {
		fs_warn("tune", "%s", err.msg);
		return FS_EXIT_RUNTIME;
	}
	if (wl_count(&w, WL_WRITE) == 0) {
		fs_warn("tune", "%s: the workload has no writes, nothing to tune", src);
		wl_free(&w);
		return FS_EXIT_RUNTIME;
	}

	/*
	 * the baseline: a policy at its defaults, the recorded engine unless
	 * told; replayed as one more point of the sweep (a grid without axes),
	 * so it runs beside the others, then taken out of the points
	 */
	bpol = a.baseline != NULL ? a.baseline : rp_fidelity_policy(&w);
	memset(&grids[npol], 0, sizeof(grids[npol]));
	snprintf(grids[npol].policy, sizeof(grids[npol].policy), "%s", bpol);
	if (!a.quiet && !fs_global.quiet && isatty(2))
		fprintf(stderr, "tune: replaying the points on %d thread%s...\r", jobs,
		    jobs == 1 ? "" : "s");
	if (tn_sweep(&w, grids, npol + 1, &o, jobs, &pts, &npts, &err) < 0) {
		fs_warn("tune", "%s: %s", src, err.msg);
		wl_free(&w);
		return FS_EXIT_RUNTIME;
	}
	base = pts[--npts];
	base.pareto = 0;	/* the frontier is the swept points' (tn_pareto below) */
	if (!base.valid) {
		fs_warn("tune", "%s: baseline %s: %s", src, bpol, base.why);
		free(pts);
		wl_free(&w);
		return FS_EXIT_RUNTIME;
	}
	tn_pareto(pts, npts);	/* among the swept points alone */
	limit = constraint(&a, fs_opt_given(&fs_spec_tune, &fa, "max-p99"), &base, why_limit,
	    sizeof(why_limit));
	rec = tn_recommend(pts, npts, limit);
	/* the curve: in the table, JSON and plot (CSV has each point's own bound) */
	if ((a.format != FS_FMT_CSV || a.plot != NULL) &&
	    tn_bound_curve(&w, &o, pts, npts, &base, jobs, &bd, &nbd, &err) < 0) {
		fs_warn("tune", "%s: %s", src, err.msg);
		free(pts);
		wl_free(&w);
		return FS_EXIT_RUNTIME;
	}
	if (!a.quiet && !fs_global.quiet && isatty(2))
		fprintf(stderr, "%60s\r", "");
	if (a.format == FS_FMT_JSON)
		print_json(src, pts, npts, &base, rec, bd, nbd, limit);
	else if (a.format == FS_FMT_CSV)
		print_csv(pts, npts, &base, rec);
	else
		print_table(src, &w, pts, npts, &base, rec, bd, nbd, limit, why_limit, jobs, a.client,
		    disp, fa.nops);
	rc = rec >= 0 ? FS_EXIT_OK : FS_EXIT_FOUND;
	if (a.plot != NULL && write_plot(a.plot, pts, npts, &base, rec, bd, nbd, a.cost.wake_ns,
	    &err) < 0) {
		fs_warn("tune", "%s", err.msg);
		rc = FS_EXIT_RUNTIME;
	}
	free(pts);
	free(bd);
	wl_free(&w);
	if (fflush(stdout) != 0)
		return FS_EXIT_RUNTIME;
	return rc;
}
