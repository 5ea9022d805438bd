/*
 * The replay model's options, shared by replay and verify: one struct and
 * one declaration of the options (cmd/opt.h).  A command embeds struct
 * fs_model_args as a member named `model` and puts FS_MODEL_OPTS(T) in its
 * table.
 */
#ifndef FS_CMD_MODEL_H
#define FS_CMD_MODEL_H

#include <stdint.h>

#include "cmd/opt.h"
#include "replay/replay.h"

/* The --set options given, in order. */
struct fs_settings {
	struct rp_setting v[RP_SET_MAX];
	int n;
};

struct fs_model_args {
	int clock;			/* 0 virtual, 1 real */
	long long repeat;
	uint64_t wake_latency_ns, batch_ns;
	struct rp_cost cost;
	struct fs_settings set;
};

/*
 * Parses one --set [POLICY:]NAME=VALUE and appends it to a struct
 * fs_settings: NAME a libflush tunable, with or without its _ns (max_age,
 * window, threads, ...), VALUE a DURATION for the *_ns ones, else a count.
 */
int fs_parse_setting(const char *arg, void *dst, struct fs_err *err);

/*
 * The setting as the command line takes it back: "deadline:max_age=5ms".
 * buf gets at most n bytes.
 */
void fs_setting_arg(const struct rp_setting *s, char *buf, size_t n);

/* Parses --cpu-cost W,E,R[,A] (three or four durations) into a struct rp_cost. */
int fs_parse_cpu_cost(const char *arg, void *dst, struct fs_err *err);

/* --cpu-cost into field of T (the replay model's costs: one default for every command) */
#define FS_CPU_COST_OPT(T, field) \
	FS_OPT_CUSTOM(0, "cpu-cost", T, field, "W,E,R[,A]", "12us,0.1us,1.2us,0.8us", \
	    fs_parse_cpu_cost, "CPU model: cost per wake-up, examination, RPC and timer re-arm")

#define FS_MODEL_OPTS(T) \
	FS_OPT_CHOICE(0, "clock", T, model.clock, "virtual|real", "virtual", \
	    "virtual: deterministic counts, CPU modelled; real: threads, CPU measured"), \
	FS_OPT_COUNT(0, "repeat", T, model.repeat, "N", "3", 1, 1000, \
	    "real clock: runs per policy, medians reported"), \
	FS_OPT_DURATION(0, "wake-latency", T, model.wake_latency_ns, NULL, 0, 1 * FS_NS_S, \
	    "virtual clock: a signalled flush thread runs this much later (default 10us)"), \
	FS_CPU_COST_OPT(T, model.cost), \
	FS_OPT_DURATION(0, "batch", T, model.batch_ns, NULL, 0, 1 * FS_NS_S, \
	    "deadline's batching window, at most its max age; 0 = none (default 200us)")

/* --set, with the command's own words for whom it applies to (help). */
#define FS_SET_OPT(T, whom) \
	FS_OPT_CUSTOM(0, "set", T, model.set, "[POLICY:]NAME=VALUE", NULL, fs_parse_setting, \
	    "set a libflush tunable (max_age=5ms, window=64, threads=4, ...; flushscope-replay(1) " \
	    "POLICIES) for " whom ", or for POLICY only; repeatable")

/*
 * Copies the model arguments into o; given(name) says which options the
 * user gave (the others keep the engine's defaults).
 */
void fs_model_apply(const struct fs_model_args *m, const struct fs_cmdspec *c,
    const struct fs_args *a, struct rp_options *o);

/*
 * Checks what only the engine knows: --batch at most deadline's max age.
 * Returns 0, or FS_EXIT_USAGE after printing a usage error.
 */
int fs_model_check(const struct fs_cmdspec *c, const struct rp_options *o);

#endif
