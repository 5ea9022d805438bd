/*
 * The policy table: names, defaults, latency budgets and tunables by name.
 * The policies themselves are pol_*.c; this file only lists them.
 */
#include "libflush/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct fl_policy_ops *const table[FL_POL_COUNT] = {
	&fl_pol_legacy, &fl_pol_2010_10, &fl_pol_2011_08, &fl_pol_head, &fl_pol_pendq,
	&fl_pol_deadline
};

/* The operations of policy p (NULL if out of range). */
const struct fl_policy_ops *
fl_ops(enum fl_policy p)
{
	return (unsigned)p < FL_POL_COUNT ? table[p] : NULL;
}

/* Returns the policy's name. */
const char *
fl_policy_name(enum fl_policy p)
{
	return (unsigned)p < FL_POL_COUNT ? table[p]->info.name : "?";
}

/* Looks up a policy by name; -1 if unknown. */
int
fl_policy_parse(const char *name)
{
	int i;

	for (i = 0; i < FL_POL_COUNT && name != NULL; i++)
		if (strcmp(name, table[i]->info.name) == 0)
			return i;
	return -1;
}

/* The policy names for messages (checked against the table by the tests). */
const char *
fl_policy_list(void)
{
	return "legacy, 2010-10, 2011-08, head, pendq, deadline";
}

/* The description of policy p. */
const struct fl_policy_info *
fl_policy_info(enum fl_policy p)
{
	return (unsigned)p < FL_POL_COUNT ? &table[p]->info : NULL;
}

static const char *const era_names[FL_ERA_COUNT] = { "none", "A", "B", "C", "Z" };

/* Names an era. */
const char *
fl_era_name(enum fl_era era)
{
	return (unsigned)era < FL_ERA_COUNT ? era_names[era] : "?";
}

/* Parses an era name or the date of its commit. */
int
fl_era_parse(const char *name)
{
	static const struct { const char *s; enum fl_era e; } alias[] = {
		{ "2010-08", FL_ERA_A }, { "2010-10", FL_ERA_B }, { "2011-08", FL_ERA_C },
		{ "head", FL_ERA_Z }, { "2019", FL_ERA_Z },
	};
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < FL_ERA_COUNT; i++)
		if (strcasecmp(name, era_names[i]) == 0)
			return (int)i;
	for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (strcasecmp(name, alias[i].s) == 0)
			return (int)alias[i].e;
	return -1;
}

/* The defaults every policy starts from (the 2010 client's constants). */
static void
common_defaults(struct fl_tunables *t)
{
	memset(t, 0, sizeof(*t));
	t->poll_ns = 2048000;
	t->max_age_ns = 1000000;
	t->window = 128;
	t->coalesce_size = FL_LNET_MTU;
	t->max_iovs = FL_MAX_IOVS;
	t->safety_timeout_ns = 2000000000ull;
	t->threads = 1;
	t->ios = 1;
	t->wake_latency_ns = FL_WAKE_LATENCY_NS;
	t->force_poll_ns = 100000;
	t->wake_oldest = 1;
	t->expire_rewait = 1;
}

/* Fills the named policy's defaults. */
int
fl_config_init(struct fl_config *c, const char *policy)
{
	int p = fl_policy_parse(policy ? policy : "legacy");

	memset(c, 0, sizeof(*c));
	if (p < 0)
		return -1;
	c->policy = (enum fl_policy)p;
	c->clock = FL_CLOCK_VIRTUAL;
	common_defaults(&c->tun);
	if (table[p]->defaults != NULL)
		table[p]->defaults(&c->tun);
	c->transport.kind = FL_LAT_FIXED;
	c->transport.fixed_ns = 20000000;
	c->transport.seed = 1;
	c->era = FL_ERA_NONE;
	c->log_epoch_s = 1282327206;
	c->xid_base = 1411;
	return 0;
}

/* The latency budget c's policy declares. */
void
fl_config_budget(const struct fl_config *c, struct fl_budget *b)
{
	const struct fl_policy_ops *o = fl_ops(c->policy);

	memset(b, 0, sizeof(*b));
	b->max_age_ns = c->tun.max_age_ns;
	/* a full run is sendable at once, except within deadline's batching window */
	b->full_ns = c->tun.batch_ns < c->tun.max_age_ns ? c->tun.batch_ns : c->tun.max_age_ns;
	b->wall_second = o != NULL && o->second_cap;
	b->full_size = c->tun.coalesce_size;
	b->epoch_ns = c->log_epoch_s * 1000000000ull + c->log_epoch_us * 1000ull;
}

/* One tunable: its name, where it is and its range. */
struct tun_desc {
	const char *name;
	size_t off;
	int size;		/* 8, 4 (unsigned / uint32_t) or -4 (int) */
	uint64_t min, max;
};

#define T8(f, lo, hi) { #f, offsetof(struct fl_tunables, f), 8, lo, hi }
#define T4(f, lo, hi) { #f, offsetof(struct fl_tunables, f), 4, lo, hi }
#define TI(f) { #f, offsetof(struct fl_tunables, f), -4, 0, 1 }
static const struct tun_desc tuns[] = {
	T8(poll_ns, 1000, 3600000000000ull),
	T8(max_age_ns, 0, 3600000000000ull),
	T4(window, 1, 1000000),
	T4(wake_below, 0, 1000000),
	T4(scan_cap, 0, 1000000000),
	T4(coalesce_size, 4096, FL_BMAP_SIZE),
	T4(max_iovs, 1, 1000000),
	T8(safety_timeout_ns, 1000, 3600000000000ull),
	T4(threads, 1, FL_MAX_THREADS),
	T4(ios, 1, FL_MAX_IOS),
	T8(exam_cost_ns, 0, 1000000000),
	T8(wake_latency_ns, 0, 1000000000),
	T8(batch_ns, 0, 3600000000000ull),
	T8(timer_lead_ns, 0, 1000000000),
	T8(line_cost_ns, 0, 1000000000),
	T8(sleep_overshoot_ns, 0, 1000000000),
	T8(sync_pass_ns, 0, FL_TIME_MAX),
	T8(reaper_poll_ns, 0, 1000000000),
	T8(force_poll_ns, 1000, 1000000000),
	TI(wake_oldest),
	TI(expire_rewait),
	TI(overlap_full),
	TI(no_fast_forward),
};
#undef T8
#undef T4
#undef TI
#define NTUNS (sizeof(tuns) / sizeof(tuns[0]))

/* The i-th tunable's name. */
const char *
fl_tunable_name(int i)
{
	return i >= 0 && (size_t)i < NTUNS ? tuns[i].name : NULL;
}

/* Finds a tunable's description. */
static const struct tun_desc *
tun_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < NTUNS; i++)
		if (strcmp(name, tuns[i].name) == 0)
			return &tuns[i];
	return NULL;
}

/* Reads a tunable. */
int
fl_tunable_get(const struct fl_tunables *t, const char *name, uint64_t *v)
{
	const struct tun_desc *d = tun_find(name);
	const char *p = (const char *)t;

	if (d == NULL)
		return -1;
	if (d->size == 8)
		*v = *(const uint64_t *)(const void *)(p + d->off);
	else if (d->size == 4)
		*v = *(const unsigned *)(const void *)(p + d->off);
	else
		*v = (uint64_t)*(const int *)(const void *)(p + d->off);
	return 0;
}

/* Sets a tunable from its decimal text. */
int
fl_config_set(struct fl_config *c, const char *name, const char *value, struct fs_err *err)
{
	const struct tun_desc *d = tun_find(name);
	char *p = (char *)&c->tun, *end;
	unsigned long long v;

	if (d == NULL)
		return fs_err_set(err, EINVAL, "libflush: unknown tunable '%s'", name ? name : "");
	errno = 0;
	v = value != NULL && isdigit((unsigned char)*value) ? strtoull(value, &end, 10) : 0;
	if (value == NULL || !isdigit((unsigned char)*value) || errno != 0 || *end != '\0' ||
	    v < d->min || v > d->max)
		return fs_err_set(err, EINVAL, "libflush: %s must be an integer in %llu..%llu, "
		    "not '%s'", d->name, (unsigned long long)d->min, (unsigned long long)d->max,
		    value ? value : "");
	if (d->size == 8)
		*(uint64_t *)(void *)(p + d->off) = v;
	else if (d->size == 4)
		*(unsigned *)(void *)(p + d->off) = (unsigned)v;
	else
		*(int *)(void *)(p + d->off) = (int)v;
	return 0;
}
