/*
 * libflush: coalescer edge cases, the engine's invariants under every policy,
 * the seed-like workload's wake-up and examination counts in virtual time,
 * determinism of the log, and a short real-clock run with threads.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <regex.h>
#include <sys/wait.h>

#include "libflush/flush.h"
#include "tests/testutil.h"
#include "util/err.h"

/* Makes a virtual-clock config for a policy with a trace recorder. */
static void
cfg(struct fl_config *c, const char *pol, struct tu_trace *r)
{
	ck_assert_int_eq(fl_config_init(c, pol), 0);
	c->transport.kind = FL_LAT_FIXED;
	c->transport.fixed_ns = 1000000;
	if (r != NULL) {
		memset(r, 0, sizeof(*r));
		c->trace = tu_trace_cb;
		c->trace_arg = r;
	}
}

/* ------------------------------------------------------------ coalescer */

struct wr {
	uint32_t off, len;
};

struct coal_case {
	const char *name;
	struct wr w[40];
	int nw;
	int ncontig;		/* if > 0: that many contiguous writes of clen bytes from 0 */
	uint32_t clen;
	struct wr rpc[8];	/* expected RPCs in issue order */
	int nrpc;
	uint64_t first_issue;	/* expected issue time of the first RPC (deadline policy) */
};

/*
 * RPCs close where an iovec (one per biorq and 32 KiB page) makes exactly
 * 1 MiB, before one that would pass it, or at 256 iovecs (bf:324-352), so
 * large runs split at page boundaries.
 */
static const struct coal_case coal_cases[] = {
	{ "hole", { { 0, 32768 }, { 65536, 32768 } }, 2, 0, 0,
	  { { 0, 32768 }, { 65536, 32768 } }, 2, 1000000 },
	{ "overlap", { { 0, 32768 }, { 16384, 32768 } }, 2, 0, 0,
	  { { 0, 49152 } }, 1, 1000000 },
	{ "contiguous", { { 0, 4096 }, { 4096, 4096 }, { 8192, 100 } }, 3, 0, 0,
	  { { 0, 8292 } }, 1, 1000000 },
	/* full runs wait for deadline's batching window */
	{ "exactly 1 MiB", { { 0 } }, 0, 32, 32768,
	  { { 0, 1048576 } }, 1, FL_DEADLINE_BATCH_NS },
	{ "larger than 1 MiB", { { 0, 3u << 20 } }, 1, 0, 0,
	  { { 0, 1048576 }, { 1048576, 1048576 }, { 2097152, 1048576 } }, 3, FL_DEADLINE_BATCH_NS },
	{ "unaligned 1 MiB is one RPC", { { 2048, 1048576 } }, 1, 0, 0,
	  { { 2048, 1048576 } }, 1, FL_DEADLINE_BATCH_NS },
	{ "unaligned 3 MiB splits at pages", { { 1000, 3u << 20 } }, 1, 0, 0,
	  { { 1000, 1047576 }, { 1048576, 1048576 }, { 2097152, 1048576 }, { 3145728, 1000 } }, 4,
	  FL_DEADLINE_BATCH_NS },
	{ "256 iovecs", { { 0 } }, 0, 300, 1024,
	  { { 0, 262144 }, { 262144, 45056 } }, 2, 1000000 },
	{ "1.5 MiB in 512K writes", { { 0, 524288 }, { 524288, 524288 }, { 1048576, 524288 } }, 3, 0, 0,
	  { { 0, 1048576 }, { 1048576, 524288 } }, 2, FL_DEADLINE_BATCH_NS },
	{ "out of order arrival", { { 65536, 32768 }, { 0, 32768 }, { 32768, 32768 } }, 3, 0, 0,
	  { { 0, 98304 } }, 1, 1000000 },
};

/* Each coalescer case gives exactly the expected RPCs (deadline and legacy). */
START_TEST(test_coalesce)
{
	const struct coal_case *cc = &coal_cases[_i];
	const char *pols[] = { "deadline", "legacy" };
	int p;

	for (p = 0; p < 2; p++) {
		struct fl_config c;
		struct tu_trace r;
		struct fl_engine *e;
		struct fs_err err;
		int i, n = 0;

		cfg(&c, pols[p], &r);
		e = fl_engine_new(&c, &err);
		ck_assert_ptr_nonnull(e);
		for (i = 0; i < cc->nw; i++)
			ck_assert_int_eq(fl_engine_write(e, 0, 7, 0, cc->w[i].off, cc->w[i].len,
			    FL_READY_AT_ARRIVAL, &err), 0);
		for (i = 0; i < cc->ncontig; i++)
			ck_assert_int_eq(fl_engine_write(e, 0, 7, 0, (uint32_t)i * cc->clen, cc->clen,
			    FL_READY_AT_ARRIVAL, &err), 0);
		ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
		for (i = 0; i < (int)r.n; i++) {
			if (r.ev[i].kind != FL_TR_SEND)
				continue;
			ck_assert_msg(n < cc->nrpc, "%s/%s: extra RPC off=%u len=%u", cc->name,
			    pols[p], r.ev[i].off, r.ev[i].len);
			ck_assert_msg(r.ev[i].off == cc->rpc[n].off && r.ev[i].len == cc->rpc[n].len,
			    "%s/%s: RPC %d is off=%u len=%u, want off=%u len=%u", cc->name, pols[p],
			    n, r.ev[i].off, r.ev[i].len, cc->rpc[n].off, cc->rpc[n].len);
			if (n == 0 && p == 0)
				ck_assert_msg(r.ev[i].t == cc->first_issue, "%s: first issue at %llu",
				    cc->name, (unsigned long long)r.ev[i].t);
			ck_assert_uint_le(r.ev[i].len, 1048576);
			n++;
		}
		ck_assert_int_eq(n, cc->nrpc);
		free(r.ev);
		fl_engine_free(e);
	}
}
END_TEST

/* ------------------------------------------------------ invariant helpers */

static const char *const all_pols[] = { "legacy", "2010-10", "2011-08", "head", "pendq", "deadline" };
#define NPOLS ((int)(sizeof(all_pols) / sizeof(all_pols[0])))

/* Policies that never put overlapping writes in flight together (2011-08 and head by page). */
static const char *const holdback_pols[] = { "2011-08", "head", "deadline" };

/* A seeded generator for test workloads. */
static uint64_t
trng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Every written byte goes out in exactly one RPC; nothing else is sent. */
START_TEST(test_bytes_once)
{
	enum { SLOTS = 512, SLOT = 4096 };
	struct fl_config c;
	struct tu_trace r;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_stats st;
	unsigned char *cov = calloc(2 * SLOTS * SLOT, 1), *wr = calloc(2 * SLOTS * SLOT, 1);
	int order[2 * SLOTS], i, n;
	uint64_t s = 12345 + (uint64_t)_i, t = 0;
	size_t k, twice = 0;

	cfg(&c, all_pols[_i], &r);
	c.transport.kind = FL_LAT_UNIFORM;
	c.transport.a_ns = 100000;
	c.transport.b_ns = 3000000;
	e = fl_engine_new(&c, &err);
	/* every 4 KiB slot of two bmaps once, in random order, random lengths */
	for (i = 0; i < 2 * SLOTS; i++)
		order[i] = i;
	for (i = 2 * SLOTS - 1; i > 0; i--) {
		int j = (int)(trng(&s) % (uint64_t)(i + 1)), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	for (i = 0; i < 2 * SLOTS; i++) {
		int slot = order[i] % SLOTS, bno = order[i] / SLOTS;
		uint32_t len = 1 + (uint32_t)(trng(&s) % SLOT);

		t += trng(&s) % 300000;
		memset(wr + (size_t)order[i] * SLOT, 1, len);
		ck_assert_int_eq(fl_engine_write(e, t, 9, (uint32_t)bno, (uint32_t)slot * SLOT, len,
		    FL_READY_AT_ARRIVAL, &err), 0);
	}
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	for (k = 0; k < r.n; k++) {
		struct tu_tev *v = &r.ev[k];

		if (v->kind != FL_TR_SEND)
			continue;
		for (n = 0; n < (int)v->len; n++) {
			size_t b = (size_t)v->bno * SLOTS * SLOT + v->off + (size_t)n;

			if (cov[b] != 0)
				twice++;
			cov[b] = 1;
		}
	}
	ck_assert_msg(twice == 0, "%s: %zu bytes sent twice", all_pols[_i], twice);
	/* RPCs may carry the holes between coalesced writes only if written: none here */
	ck_assert_msg(memcmp(cov, wr, 2 * SLOTS * SLOT) == 0, "%s: sent bytes != written bytes",
	    all_pols[_i]);
	fl_engine_stats(e, &st);
	ck_assert_uint_eq(st.bytes_sent, st.bytes_written);
	ck_assert_uint_eq(st.writes, 2 * SLOTS);
	free(cov);
	free(wr);
	free(r.ev);
	fl_engine_free(e);
}
END_TEST

/*
 * Overlapping writes under the policies that hold them back (2011-08 skips
 * biorqs on pages in flight, HEAD's writers wait for them, deadline holds
 * overlapping chains): never two overlapping RPCs in flight; older data
 * goes first.  (legacy, 2010-10 and pendq do not: check_policies.c.)
 */
START_TEST(test_overlap_order)
{
	struct fl_config c;
	struct tu_trace r;
	struct fl_engine *e;
	struct fs_err err;
	uint64_t s = 99 + (uint64_t)_i, t = 0;
	struct tu_tev *infl[4096];
	uint64_t sent_at[600];
	uint32_t woff[600], wlen[600];
	size_t ninfl = 0, k, j, bad = 0, nsend = 0;
	int i;

	cfg(&c, holdback_pols[_i], &r);
	c.transport.kind = FL_LAT_UNIFORM;
	c.transport.a_ns = 100000;
	c.transport.b_ns = 5000000;
	e = fl_engine_new(&c, &err);
	for (i = 0; i < 600; i++) {
		woff[i] = (uint32_t)(trng(&s) % (256 * 1024));
		wlen[i] = 1 + (uint32_t)(trng(&s) % (128 * 1024));
		t += trng(&s) % 400000;
		ck_assert_int_eq(fl_engine_write(e, t, 5, 0, woff[i], wlen[i], FL_READY_AT_ARRIVAL,
		    &err), 0);
		sent_at[i] = UINT64_MAX;
	}
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	for (k = 0; k < r.n; k++) {
		struct tu_tev *v = &r.ev[k];

		if (v->kind == FL_TR_SEND) {
			for (j = 0; j < ninfl; j++)
				if (v->off < infl[j]->off + infl[j]->len &&
				    infl[j]->off < v->off + v->len)
					bad++;
			if (ninfl < 4096)
				infl[ninfl++] = v;
			nsend++;
		} else if (v->kind == FL_TR_DONE) {
			for (j = 0; j < ninfl; j++)
				if (infl[j]->xid == v->xid) {
					infl[j] = infl[--ninfl];
					break;
				}
		} else if (v->kind == FL_TR_BIORQ_SENT) {
			/* the batch's first RPC is the next SEND */
			if (v->id >= 600 || sent_at[v->id] != UINT64_MAX)
				bad++;
			else
				sent_at[v->id] = nsend;
		}
	}
	ck_assert_msg(bad == 0, "%s: %zu overlapping RPCs in flight together", holdback_pols[_i], bad);
	/* an older overlapping write is never sent after a newer one */
	for (i = 0; i < 600; i++)
		for (j = (size_t)i + 1; j < 600; j++)
			if (woff[i] < woff[j] + wlen[j] && woff[j] < woff[i] + wlen[i] &&
			    sent_at[i] > sent_at[j])
				ck_assert_msg(0, "%s: write %d sent after overlapping newer write %zu",
				    holdback_pols[_i], i, j);
	free(r.ev);
	fl_engine_free(e);
}
END_TEST

/*
 * The window: hard windows (head per I/O server, deadline) are never
 * exceeded, even by a write needing more RPCs than the window; soft ones
 * (a bmap or a run sends all its RPCs) are, and still send everything.
 */
static const struct { const char *pol; int hard; } win_cases[] = {
	{ "legacy", 0 }, { "2010-10", 0 }, { "2011-08", 0 }, { "head", 1 }, { "pendq", 0 },
	{ "deadline", 1 },
};

START_TEST(test_window)
{
	struct fl_config c;
	struct tu_trace r;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_stats st;
	size_t k;
	int i;

	cfg(&c, win_cases[_i].pol, &r);
	c.tun.window = 4;
	c.tun.wake_below = 2;
	c.transport.fixed_ns = 5000000;
	e = fl_engine_new(&c, &err);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(fl_engine_write(e, (uint64_t)i * 1000, 3, (uint32_t)(i % 3),
		    (uint32_t)(i / 3) << 20, 1u << 20, FL_READY_AT_ARRIVAL, &err), 0);
	/* 9 MiB in one write: 9 RPCs through a window of 4 */
	ck_assert_int_eq(fl_engine_write(e, 200000, 4, 0, 0, 9u << 20, FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	if (win_cases[_i].hard) {
		for (k = 0; k < r.n; k++)
			if (r.ev[k].kind == FL_TR_SEND && r.ev[k].outstanding > 4)
				ck_assert_msg(0, "%s: window exceeded: %u", win_cases[_i].pol,
				    r.ev[k].outstanding);
		ck_assert_uint_eq(st.max_outstanding, 4);
	} else
		ck_assert_msg(st.max_outstanding > 4, "%s: a soft window was never overshot",
		    win_cases[_i].pol);
	ck_assert_uint_eq(st.rpcs, 109);
	ck_assert_uint_eq(st.bytes_sent, st.bytes_written);
	ck_assert_uint_gt(st.window_full_ns, 0);
	free(r.ev);
	fl_engine_free(e);
}
END_TEST

/* Drain: writes still young at the end are sent and acknowledged before run returns. */
START_TEST(test_drain)
{
	struct fl_config c;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_stats st;
	int i;

	cfg(&c, all_pols[_i], NULL);
	c.tun.max_age_ns = 50000000;
	e = fl_engine_new(&c, &err);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(fl_engine_write(e, (uint64_t)i * 1000000, 1, 0,
		    (uint32_t)i * 8192, 4096, FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	ck_assert_uint_eq(st.bytes_sent, 40960);
	ck_assert_uint_eq(st.writes, 10);
	ck_assert_uint_ge(st.drain_ns, 40000000);
	ck_assert_uint_ge(st.end_ns, st.last_input_ns);
	fl_engine_free(e);
}
END_TEST

/* A forced flush gets a young write sent, counted as forced (timing per policy: check_policies.c). */
START_TEST(test_force)
{
	struct fl_config c;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_stats st;

	cfg(&c, all_pols[_i], NULL);
	c.tun.max_age_ns = 500000000;
	e = fl_engine_new(&c, &err);
	ck_assert_int_eq(fl_engine_write(e, 0, 1, 0, 0, 4096, FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_int_eq(fl_engine_force(e, 10000000, 1, FL_BMAP_ALL, &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	ck_assert_uint_eq(st.rpcs_forced, 1);
	ck_assert_uint_eq(st.forces, 1);
	fl_engine_free(e);
}
END_TEST

/* ------------------------------------------------------- determinism */

/* Runs synth-like workload into a memory buffer; returns the log bytes. */
static char *
run_log(const char *pol, enum fl_era era, uint64_t seed, size_t *len)
{
	struct fl_config c;
	struct fl_synth sy;
	struct fl_engine *e;
	struct fs_err err;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	ck_assert_ptr_nonnull(f);
	cfg(&c, pol, NULL);
	ck_assert_int_eq(fl_transport_parse(&c.transport, "uniform:5:30", &err), 0);
	c.transport.seed = seed;
	c.era = era;
	c.log = f;
	fl_synth_defaults(&sy);
	sy.seed = seed;
	sy.duration_ns = 200000000;
	sy.rate = 3000;
	sy.burst = 8;
	sy.poisson = 1;
	e = fl_engine_new(&c, &err);
	ck_assert_int_gt(fl_synth_add(e, &sy, &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_free(e);
	fclose(f);
	return buf;
}

/* Each historical policy in its own era; ours in every era they can write. */
static const struct { const char *pol; enum fl_era era; } log_cases[] = {
	{ "legacy", FL_ERA_A }, { "2010-10", FL_ERA_B }, { "2011-08", FL_ERA_C },
	{ "head", FL_ERA_Z }, { "pendq", FL_ERA_A }, { "pendq", FL_ERA_Z },
	{ "deadline", FL_ERA_A }, { "deadline", FL_ERA_B }, { "deadline", FL_ERA_C },
	{ "deadline", FL_ERA_Z },
};
#define NLOGCASES ((int)(sizeof(log_cases) / sizeof(log_cases[0])))

/* Same seed, same bytes; another seed, other bytes. */
START_TEST(test_same_seed_same_bytes)
{
	enum fl_era era = log_cases[_i].era;
	const char *pol = log_cases[_i].pol;
	size_t n1, n2, n3;
	char *a = run_log(pol, era, 42, &n1), *b = run_log(pol, era, 42, &n2),
	    *d = run_log(pol, era, 43, &n3);

	ck_assert_uint_gt(n1, 1000);
	ck_assert_uint_eq(n1, n2);
	ck_assert(memcmp(a, b, n1) == 0);
	ck_assert(n1 != n3 || memcmp(a, d, n1) != 0);
	free(a);
	free(b);
	free(d);
}
END_TEST

/* The message part of a 2010-2011 line: a bmap, biorq or req prefix, or a bare message. */
#define RE_2010_BIORQ "biorq@0x[0-9a-f]+ fl=[0-9]+ o=[0-9]+ l=[0-9]+ np=[0-9]+ b=0x[0-9a-f]+ " \
	"ts=[0-9]+:[0-9]+ [a-zA-Z]+ |"
#define RE_2010_REQ "req@0x[0-9a-f]+ x[0-9]+/t0 c0 o43->@[^ ]+ lens [0-9]+/[0-9]+ ref 1 res 0 " \
	"ret 0 fl [A-Za-z]+:R?/0/0 replyc [0-9a-f]+ rc 0/0 to=[0-9]+ :: |"
#define RE_2010_BARE "array |force expire|stall flush|mode=|oldalarm=|flush \\("

/* Every line of every policy's log has its era's header and prefix shape (spec §1.3, §2). */
START_TEST(test_header_shape)
{
	static const char *const re[FL_ERA_COUNT] = {
		NULL,
		"^\\[[0-9]+:[0-9]{6} [^: ]+:[0-9]+:(bmap|gen|rpc):[a-z0-9_]+:[0-9]+\\] "
		    "((bmap@0x[0-9a-f]+ b:[0-9a-f]+ m:[0-9]+ i:[0-9a-f]+ opcnt=[0-9]+ |"
		    RE_2010_BIORQ RE_2010_REQ ")[a-zA-Z(]|" RE_2010_BARE ")",
		"^\\[[0-9]+:[0-9]{6} [^: ]+:[0-9]+:(bmap|gen|rpc):[a-z_]+:[0-9]+\\] "
		    "((bmap@0x[0-9a-f]+ b:[0-9a-f]+ flg:[0-9]+ fid:0x[0-9a-f]{14} opcnt=[0-9]+ |"
		    RE_2010_BIORQ RE_2010_REQ ")[a-zA-Z(]|" RE_2010_BARE ")",
		"^\\[[0-9]+:[0-9]{6} [^: ]+:[0-9]+:(bmap|gen|rpc) [a-z_]+\\.c [a-z_]+ [0-9]+\\] "
		    "((bmap@0x[0-9a-f]+ bno:[0-9]+ flg:0x[0-9a-f]+:[A-Za-z]*\\+ fid:0x[0-9a-f]{16} "
		    "opcnt=[0-9]+ |" RE_2010_BIORQ RE_2010_REQ ")[a-zA-Z(]|" RE_2010_BARE ")",
		"^\\[[0-9]+\\.[0-9]{6}00 [^: ]+:[0-9a-f]+:(bmap|rpc) [a-z]+\\.c [a-z_]+ [0-9]+\\]"
		    "(bmap@0x[0-9a-f]+ bno:[0-9]+ flg:0x[0-9a-f]+:[A-Za-z+]+ fid:0x[0-9a-f]{16} opcnt=[0-9]+ : |"
		    "biorq@0x[0-9a-f]+ flg=0x[0-9a-f]+:[a-zA-Z]+ ref=1 off=[0-9]+ len=[0-9]+ retry=0 buf=0x[0-9a-f]+ rqi=0x[0-9a-f]+ pfr=0x[0-9a-f]+ sliod=ffffffff npages=[0-9]+ bmap=0x[0-9a-f]+ exp=[0-9]+:[0-9]{9} : |"
		    "req@0x[0-9a-f]+ x[0-9]+/t0 cb=\\(nil\\) c0 o42->@[^ ]+ lens [0-9]+/[0-9]+ ref 1 res 0 ret 0 fl New:/0/0 replyc deadbeef rc 0/0 to=0 sent=0 :: |)"
		    "[a-zA-Z]"
	};
	regex_t rx;
	size_t n, bad = 0, lines = 0;
	char *buf = run_log(log_cases[_i].pol, log_cases[_i].era, 7, &n), *p, *nl;
	uint64_t prev = 0;

	ck_assert_int_eq(regcomp(&rx, re[log_cases[_i].era], REG_EXTENDED | REG_NOSUB), 0);
	for (p = buf; *p; p = nl + 1) {
		uint64_t s, us;

		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		*nl = '\0';
		lines++;
		if (regexec(&rx, p, 0, NULL, 0) != 0 && bad++ == 0)
			fprintf(stderr, "%s/%s: bad line: %s\n", log_cases[_i].pol,
			    fl_era_name(log_cases[_i].era), p);
		/* in time order, as a real log */
		ck_assert_int_eq(sscanf(p, "[%" SCNu64 "%*[:.]%" SCNu64, &s, &us), 2);
		if (log_cases[_i].era == FL_ERA_Z)
			us /= 100;
		ck_assert_uint_ge(s * 1000000 + us, prev);
		prev = s * 1000000 + us;
	}
	ck_assert_uint_gt(lines, 100);
	ck_assert_msg(bad == 0, "%s/%s: %zu of %zu lines do not have the era's shape",
	    log_cases[_i].pol, fl_era_name(log_cases[_i].era), bad, lines);
	regfree(&rx);
	free(buf);
}
END_TEST

/* ------------------------------------------------ seed-like workload */

/*
 * Seed-like: 2 bmaps, a burst of 75 x 1 MiB every 500 ms, replies taking
 * 20-40 ms.  With the modelled pass cost and usleep overshoot off, the
 * tick policies wake exactly every 2048 us.
 */
static struct fl_engine *
seedlike(const char *pol, struct tu_trace *r, struct fl_stats *st)
{
	struct fl_config c;
	struct fl_synth sy;
	struct fl_engine *e;
	struct fs_err err;

	cfg(&c, pol, r);
	c.tun.line_cost_ns = 0;
	c.tun.sleep_overshoot_ns = 0;
	ck_assert_int_eq(fl_transport_parse(&c.transport, "uniform:20ms:40ms", &err), 0);
	fl_synth_defaults(&sy);
	sy.duration_ns = 2000000000;
	sy.write_size = 1u << 20;
	sy.burst = 75;
	sy.burst_gap_ns = 0;
	sy.rate = 150;
	e = fl_engine_new(&c, &err);
	ck_assert_int_eq(fl_synth_add(e, &sy, &err), 300);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, st);
	return e;
}

/*
 * Virtual-clock wake-ups of deadline: full (1 MiB) writes arrive `n` apart
 * by `gap_ns`; with the modelled wake-up latency and batching window given,
 * the flush thread wakes exactly `wakes` times, none useless, its timer is
 * re-armed by the writers `rearms` times (without a wake-up), and no write
 * waits past batch + latency.
 */
struct wake_case {
	const char *name;
	uint64_t latency_ns, batch_ns, gap_ns;
	int n;
	uint64_t wakes, rearms;
};

static const struct wake_case wake_cases[] = {
	/* no latency, no window: one wake-up per write, each signalled */
	{ "instant", 0, 0, 20000, 20, 20, 0 },
	/* signals within the latency merge into the wake already scheduled */
	{ "latency merges", 10000, 0, 4000, 3, 1, 0 },
	{ "latency apart", 10000, 0, 20000, 3, 3, 0 },
	/*
	 * A window: the first write re-arms the sleeping thread's timer (no
	 * wake-up), the timer sends every write ready by then: at 200 us the
	 * writes of 0..200 us; the write at 220 us re-arms it (the thread
	 * waited untimed), at 420 us the rest.
	 */
	{ "window 200us", 0, 200000, 20000, 20, 2, 2 },
	{ "window 1ms", 0, 1000000, 20000, 20, 1, 1 },
	{ "window and latency", 10000, 200000, 20000, 20, 2, 2 },
};

START_TEST(test_wake_batching)
{
	const struct wake_case *wc = &wake_cases[_i];
	struct fl_config c;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_stats st;
	int i;

	cfg(&c, "deadline", NULL);
	c.tun.wake_latency_ns = wc->latency_ns;
	c.tun.batch_ns = wc->batch_ns;
	e = fl_engine_new(&c, &err);
	ck_assert_ptr_nonnull(e);
	for (i = 0; i < wc->n; i++)
		ck_assert_int_eq(fl_engine_write(e, (uint64_t)i * wc->gap_ns, 3, 0,
		    (uint32_t)i << 20, 1u << 20, FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	ck_assert_msg(st.wakeups == wc->wakes && st.wake_useless == 0 && st.rearms == wc->rearms,
	    "%s: %llu wake-ups (%llu useless, %llu re-arms), want %llu (0, %llu)", wc->name,
	    (unsigned long long)st.wakeups, (unsigned long long)st.wake_useless,
	    (unsigned long long)st.rearms, (unsigned long long)wc->wakes,
	    (unsigned long long)wc->rearms);
	ck_assert_uint_eq(st.rpcs, (uint64_t)wc->n);
	ck_assert_uint_eq(st.late_writes, 0);
	ck_assert_uint_le(st.ready_issue.max, wc->batch_ns + wc->latency_ns);
	fl_engine_free(e);
}
END_TEST

/*
 * A signal shortly before a sleeping thread's timer ends must not push the
 * wake-up past the timer: a small write due at 1 ms, then a full write
 * 5 us before that, whose signal would run the thread 10 us later.
 */
START_TEST(test_signal_keeps_timer)
{
	struct fl_config c;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_stats st;

	cfg(&c, "deadline", NULL);
	c.tun.batch_ns = 0;
	e = fl_engine_new(&c, &err);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(fl_engine_write(e, 0, 1, 0, 0, 4096, FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_int_eq(fl_engine_write(e, c.tun.max_age_ns - 5000, 1, 1, 0, 1u << 20,
	    FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	ck_assert_msg(st.late_writes == 0, "%s: %llu late writes, late by %llu ns", "deadline",
	    (unsigned long long)st.late_writes, (unsigned long long)st.late_max_ns);
	ck_assert_uint_eq(st.rpcs_expired, 1);
	fl_engine_free(e);
}
END_TEST

/*
 * A re-arm brings the sleeping thread's timer forward without waking it: a
 * small write at 0 (due at 1 ms) re-arms the untimed wait, a full one at
 * 100 us (due at 300 us, the batching window) re-arms it again, and one
 * wake-up at 300 us sends both.
 */
START_TEST(test_rearm_no_wake)
{
	struct fl_config c;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_stats st;

	cfg(&c, "deadline", NULL);
	e = fl_engine_new(&c, &err);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(fl_engine_write(e, 0, 1, 1, 0, 4096, FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_int_eq(fl_engine_write(e, 100000, 1, 0, 0, 1u << 20, FL_READY_AT_ARRIVAL,
	    &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	ck_assert_uint_eq(st.wakeups, 1);
	ck_assert_uint_eq(st.wake_timeout, 1);
	ck_assert_uint_eq(st.rearms, 2);
	ck_assert_uint_eq(st.rpcs, 2);
	ck_assert_uint_eq(st.ready_issue.max, 300000);
	ck_assert_uint_eq(st.ready_issue.p50, 200000);
	fl_engine_free(e);
	/* the other policies wake their thread instead */
	cfg(&c, "2011-08", NULL);
	e = fl_engine_new(&c, &err);
	ck_assert_int_eq(fl_engine_write(e, 0, 1, 1, 0, 4096, FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	ck_assert_uint_eq(st.rearms, 0);
	fl_engine_free(e);
}
END_TEST

/*
 * A stream filling a run is held, not cut at another bmap's wake-up: 64 KiB
 * writes every 40 us to bmap 0 fill 1 MiB at 600 us (due 200 us later); a
 * full write to bmap 1 at 100 us is due at 300 us.  The wake-up at 300 us
 * sends it and leaves the half-full stream; the one at 800 us sends the
 * stream whole, one 1 MiB RPC.
 */
START_TEST(test_stream_held)
{
	struct fl_config c;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_stats st;
	int i;

	cfg(&c, "deadline", NULL);
	e = fl_engine_new(&c, &err);
	ck_assert_ptr_nonnull(e);
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(fl_engine_write(e, (uint64_t)i * 40000, 1, 0, (uint32_t)i << 16,
		    1u << 16, FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_int_eq(fl_engine_write(e, 100000, 1, 1, 0, 1u << 20, FL_READY_AT_ARRIVAL,
	    &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	ck_assert_uint_eq(st.wakeups, 2);
	ck_assert_uint_eq(st.rpcs, 2);
	ck_assert_uint_eq(st.rpc_size_hist[8], 2);	/* both 1 MiB */
	ck_assert_uint_eq(st.ready_issue.max, 800000);
	ck_assert_uint_eq(st.late_writes, 0);
	fl_engine_free(e);
}
END_TEST

/* Small runs a deadline pass sends ahead of max age count as early, not expired. */
START_TEST(test_early_not_expired)
{
	struct fl_config c;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_stats st;

	cfg(&c, "deadline", NULL);
	e = fl_engine_new(&c, &err);
	ck_assert_ptr_nonnull(e);
	/*
	 * A small write at 0 is due at max age (1 ms); a full one at 700 us is
	 * due at 900 us, and the small one, due within the window, rides along.
	 */
	ck_assert_int_eq(fl_engine_write(e, 0, 1, 1, 0, 4096, FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_int_eq(fl_engine_write(e, 700000, 1, 0, 0, 1u << 20, FL_READY_AT_ARRIVAL,
	    &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	ck_assert_uint_eq(st.rpcs, 2);
	ck_assert_uint_eq(st.rpcs_full, 1);
	ck_assert_uint_eq(st.rpcs_early, 1);
	ck_assert_uint_eq(st.rpcs_expired, 0);
	ck_assert_uint_eq(st.ready_issue.max, 900000);
	fl_engine_free(e);
}
END_TEST

/* The batching window may not exceed max age (it would make writes late). */
START_TEST(test_batch_bounds)
{
	struct fl_config c;
	struct fs_err err;
	struct fl_engine *e;

	cfg(&c, "deadline", NULL);
	ck_assert_uint_eq(c.tun.batch_ns, FL_DEADLINE_BATCH_NS);
	ck_assert_uint_eq(c.tun.wake_latency_ns, FL_WAKE_LATENCY_NS);
	c.tun.batch_ns = c.tun.max_age_ns + 1;
	ck_assert_ptr_null(fl_engine_new(&c, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "batching window"));
	c.tun.batch_ns = c.tun.max_age_ns;
	e = fl_engine_new(&c, &err);
	ck_assert_ptr_nonnull(e);
	fl_engine_free(e);
	/* the window is deadline's: other policies ignore their (zero) default */
	cfg(&c, "head", NULL);
	ck_assert_uint_eq(c.tun.batch_ns, 0);
}
END_TEST

/* legacy: one wake per 2048 us (488/s) and one wasted examination per waiting bmap per pass. */
START_TEST(test_seedlike_legacy)
{
	struct tu_trace r;
	struct fl_stats st;
	struct fl_engine *e = seedlike("legacy", &r, &st);
	uint64_t expect_wasted = 0, per_s, prev_pass = 0, idle = 0;
	int infl[2] = { 0, 0 }, unsent[2] = { 0, 0 };
	size_t k;

	/* wake-ups per second of run time */
	per_s = st.wakeups * 1000000000ull / st.end_ns;
	ck_assert_msg(per_s >= 487 && per_s <= 489, "legacy wakes %llu/s",
	    (unsigned long long)per_s);
	ck_assert_uint_eq(st.wake_timeout, st.wakeups);
	for (k = 0; k < r.n; k++) {
		struct tu_tev *v = &r.ev[k];
		int b = v->bno == 1 ? 0 : 1;

		switch (v->kind) {
		case FL_TR_ARRIVE: unsent[b]++; break;
		case FL_TR_BIORQ_SENT: unsent[b]--; break;
		case FL_TR_SEND: infl[b]++; break;
		case FL_TR_DONE: infl[b]--; break;
		case FL_TR_PASS:
			/* a bmap waiting only for replies will be examined in vain */
			expect_wasted += (infl[0] > 0 && unsent[0] == 0) +
			    (infl[1] > 0 && unsent[1] == 0);
			ck_assert_uint_eq(v->t - prev_pass, prev_pass ? 2048000 : v->t);
			prev_pass = v->t;
			break;
		case FL_TR_IDLE:
			/* idle ticks accounted in bulk: the same tick */
			ck_assert_uint_eq(v->period, 2048000);
			ck_assert_uint_eq(v->t - prev_pass, 2048000);
			prev_pass = v->t + (v->count - 1) * v->period;
			idle += v->count;
			break;
		default: break;
		}
	}
	ck_assert_uint_gt(idle, 100);
	ck_assert_uint_gt(st.wasted, 100);
	ck_assert_uint_eq(st.wasted, expect_wasted);
	ck_assert_uint_eq(st.wasted_inflight, st.wasted);
	ck_assert_uint_ge(st.requeues, st.wasted);
	free(r.ev);
	fl_engine_free(e);
}
END_TEST

/*
 * deadline: no wake-up while idle, no wasted examination, no wake-up that
 * sends nothing: the first write of a burst re-arms the sleeping thread's
 * timer without waking it (once per burst at most).
 */
START_TEST(test_seedlike_deadline)
{
	struct tu_trace r;
	struct fl_stats st, lg;
	struct fl_engine *e = seedlike("deadline", &r, &st), *l = seedlike("legacy", NULL, &lg);
	int unsent = 0;
	size_t k;

	ck_assert_uint_eq(st.wasted, 0);
	ck_assert_uint_eq(st.wake_useless, 0);
	ck_assert_uint_ge(st.rearms, 1);
	ck_assert_uint_le(st.rearms, 4);	/* 4 bursts */
	ck_assert_uint_gt(st.wakeups, 0);
	for (k = 0; k < r.n; k++) {
		struct tu_tev *v = &r.ev[k];

		if (v->kind == FL_TR_ARRIVE)
			unsent++;
		else if (v->kind == FL_TR_BIORQ_SENT)
			unsent--;
		else if (v->kind == FL_TR_WAKE)
			ck_assert_msg(unsent > 0, "deadline woke at %llu with nothing to send",
			    (unsigned long long)v->t);
	}
	ck_assert_uint_le(st.ready_issue.p99, lg.ready_issue.p99);
	ck_assert_uint_le(st.ready_issue.p999, lg.ready_issue.p999);
	ck_assert_uint_lt(st.wakeups * 10, lg.wakeups);
	free(r.ev);
	fl_engine_free(e);
	fl_engine_free(l);
}
END_TEST

/* pendq: no wasted examinations, but the 2048 us tick is kept (the same wake-ups as legacy's). */
START_TEST(test_seedlike_pendq)
{
	struct fl_stats st, lg;
	struct fl_engine *e = seedlike("pendq", NULL, &st), *l = seedlike("legacy", NULL, &lg);

	ck_assert_uint_eq(st.wasted, 0);
	ck_assert_uint_eq(st.wakeups, lg.wakeups);
	ck_assert_uint_gt(lg.wasted, 0);
	ck_assert_uint_eq(st.rpcs, lg.rpcs);
	fl_engine_free(e);
	fl_engine_free(l);
}
END_TEST

/*
 * True if the line (up to its newline) is `[<s>:<6 digits> ` + mid ... and
 * ends with " m:8259 i:80000002d907b opcnt=<n> " + tail.
 */
static int
lmatch(const char *l, const char *mid, const char *tail)
{
	const char *nl = strchr(l, '\n'), *p;
	size_t tl = strlen(tail);

	if (nl == NULL || strncmp(l, "[1282327206:", 12) != 0 || l[18] != ' ' ||
	    strncmp(l + 19, mid, strlen(mid)) != 0)
		return 0;
	if ((size_t)(nl - l) < tl || strncmp(nl - tl, tail, tl) != 0)
		return 0;
	p = strstr(l, " m:8259 i:80000002d907b opcnt=");
	return p != NULL && p < nl - tl;
}

/* The seed-like era-A log shows the seed's spin: try, try, restore, restore, 2048 us apart. */
START_TEST(test_seedlike_log_shape)
{
	struct fl_config c;
	struct fl_synth sy;
	struct fl_engine *e;
	struct fs_err err;
	char *buf = NULL, *p, *line[6];
	size_t len, i;
	int found = 0;
	FILE *f = open_memstream(&buf, &len);

	cfg(&c, "legacy", NULL);
	ck_assert_int_eq(fl_transport_parse(&c.transport, "uniform:20ms:40ms", &err), 0);
	c.era = FL_ERA_A;
	c.log = f;
	fl_synth_defaults(&sy);
	sy.duration_ns = 100000000;
	sy.write_size = 1u << 20;
	sy.burst = 75;
	sy.rate = 750;
	e = fl_engine_new(&c, &err);
	ck_assert_int_gt(fl_synth_add(e, &sy, &err), 0);
	ck_assert_int_eq(fl_engine_run(e, &err), 0);
	fl_engine_free(e);
	fclose(f);
	/* find a spin pass: four consecutive lines of the seed's shape */
	for (p = buf; p && *p && !found;) {
		char *q = p;

		for (i = 0; i < 6 && q && *q; i++) {
			line[i] = q;
			q = strchr(q, '\n');
			if (q)
				q++;
		}
		if (i == 6 && lmatch(line[0], "msbflushthr:23667:bmap:bmap_flush:639] bmap@0x881330 b:",
		    "try flush (outstandingRpcCnt=75)") &&
		    lmatch(line[1], "msbflushthr:23667:bmap:bmap_flush:639] bmap@0x882110 b:",
		    "try flush (outstandingRpcCnt=75)") &&
		    lmatch(line[2], "msbflushthr:23667:bmap:bmap_flush:754] bmap@0x881330 b:",
		    "restore to dirty list") &&
		    lmatch(line[3], "msbflushthr:23667:bmap:bmap_flush:754] bmap@0x882110 b:",
		    "restore to dirty list") &&
		    lmatch(line[4], "msbflushthr:23667:bmap:bmap_flush:639] bmap@0x881330 b:",
		    "try flush (outstandingRpcCnt=75)"))
			found = 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	ck_assert_msg(found, "no seed-shaped spin pass in the era-A log");
	free(buf);
}
END_TEST

/* ------------------------------------------------------------ real clock */

/*
 * Real threads (head: 16 flush threads, on 2 I/O servers): every policy
 * sends everything, hard windows are respected, CPU is measured.
 */
START_TEST(test_real_clock)
{
	struct fl_config c;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_stats st;
	int i;

	cfg(&c, all_pols[_i], NULL);
	c.clock = FL_CLOCK_REAL;
	c.tun.window = 8;
	if (strcmp(all_pols[_i], "head") == 0)
		c.tun.ios = 2;
	c.transport.fixed_ns = 2000000;
	e = fl_engine_new(&c, &err);
	for (i = 0; i < 120; i++)
		ck_assert_int_eq(fl_engine_write(e, (uint64_t)i * 500000, 8, (uint32_t)(i % 3),
		    (uint32_t)(i / 3) * 65536, 65536, FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_int_eq(fl_engine_force(e, 60000000, 8, FL_BMAP_ALL, &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	ck_assert_uint_eq(st.bytes_sent, 120 * 65536);
	if (strcmp(all_pols[_i], "deadline") == 0)
		ck_assert_uint_le(st.max_outstanding, 8);
	ck_assert_uint_gt(st.wall_ns, 0);
	ck_assert_uint_eq(st.replay_late.n, 121);
	ck_assert_uint_gt(st.flush_cpu_ns, 0);
	fl_engine_free(e);
}
END_TEST

/*
 * deadline on the real clock: small writes 3 ms apart re-arm the flush
 * thread's timerfd from the injecting thread; the thread is never
 * signalled, wakes at most once per write, and every write goes.
 */
START_TEST(test_real_rearm)
{
	struct fl_config c;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_stats st;
	int i;

	cfg(&c, "deadline", NULL);
	c.clock = FL_CLOCK_REAL;
	e = fl_engine_new(&c, &err);
	ck_assert_ptr_nonnull(e);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(fl_engine_write(e, 1000000 + (uint64_t)i * 3000000, 4,
		    (uint32_t)(i % 2), (uint32_t)i * 65536, 4096, FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_msg(fl_engine_run(e, &err) == 0, "%s", err.msg);
	fl_engine_stats(e, &st);
	ck_assert_uint_eq(st.rpcs, 20);
	ck_assert_uint_eq(st.wake_signal, 0);
	ck_assert_uint_ge(st.rearms, 1);
	ck_assert_uint_le(st.wakeups, 20);
	ck_assert_uint_ge(st.wakeups, 1);
	/* each went at its max age (1 ms), give or take the machine's load */
	ck_assert_uint_ge(st.ready_issue.p50, 1000000);
	fl_engine_free(e);
}
END_TEST

/* ------------------------------------------------------------------ API */

/* Bad inputs and configurations are refused with a message. */
START_TEST(test_api_errors)
{
	struct fl_config c;
	struct fl_engine *e;
	struct fs_err err;
	struct fl_transport t;

	ck_assert_int_eq(fl_config_init(&c, "nope"), -1);
	ck_assert_int_eq(fl_config_init(&c, "slash2"), -1);	/* now `head` */
	ck_assert_int_eq(fl_policy_parse("head"), FL_POL_HEAD);
	ck_assert_int_eq(fl_policy_parse("slash2"), -1);
	ck_assert_str_eq(fl_policy_name(FL_POL_PENDQ), "pendq");
	cfg(&c, "legacy", NULL);
	c.tun.window = 0;
	fs_err_clear(&err);
	ck_assert_ptr_null(fl_engine_new(&c, &err));
	ck_assert_int_ne(err.code, 0);
	cfg(&c, "legacy", NULL);
	e = fl_engine_new(&c, &err);
	ck_assert_int_eq(fl_engine_write(e, 0, 1, 0, FL_BMAP_SIZE - 10, 11, FL_READY_AT_ARRIVAL,
	    &err), -1);
	ck_assert_int_eq(fl_engine_write(e, 0, 1, 0, 0, 0, FL_READY_AT_ARRIVAL, &err), -1);
	ck_assert_int_eq(fl_engine_run(e, &err), 0);
	ck_assert_int_eq(fl_engine_run(e, &err), -1);
	ck_assert_int_eq(fl_engine_write(e, 0, 1, 0, 0, 1, FL_READY_AT_ARRIVAL, &err), -1);
	fl_engine_free(e);
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(fl_transport_parse(&t, "20", &err), 0);
	ck_assert_uint_eq(t.fixed_ns, 20000000);
	ck_assert_int_eq(fl_transport_parse(&t, "500us", &err), 0);
	ck_assert_uint_eq(t.fixed_ns, 500000);
	ck_assert_int_eq(fl_transport_parse(&t, "uniform:10:40", &err), 0);
	ck_assert_int_eq(t.kind, FL_LAT_UNIFORM);
	ck_assert_uint_eq(t.b_ns, 40000000);
	ck_assert_int_eq(fl_transport_parse(&t, "exp:1:5", &err), 0);
	ck_assert_int_eq(t.kind, FL_LAT_EXP);
	ck_assert_int_eq(fl_transport_parse(&t, "uniform:40:10", &err), -1);
	ck_assert_int_eq(fl_transport_parse(&t, "fast", &err), -1);
	ck_assert_int_eq(fl_transport_parse(&t, "1e12s", &err), -1);	/* no overflowing cast */
	/* a historical policy writes only its own era */
	cfg(&c, "legacy", NULL);
	c.era = FL_ERA_Z;
	c.log = stderr;
	ck_assert_ptr_null(fl_engine_new(&c, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "writes era A logs only"));
	/* tunables by name */
	cfg(&c, "head", NULL);
	ck_assert_int_eq(fl_config_set(&c, "threads", "4", &err), 0);
	ck_assert_uint_eq(c.tun.threads, 4);
	ck_assert_int_eq(fl_config_set(&c, "threads", "65", &err), -1);
	ck_assert_int_eq(fl_config_set(&c, "nosuch", "1", &err), -1);
	ck_assert_int_eq(fl_config_set(&c, "window", "-1", &err), -1);
	{
		uint64_t v;

		ck_assert_int_eq(fl_tunable_get(&c.tun, "window", &v), 0);
		ck_assert_uint_eq(v, 480);
	}
}
END_TEST

/* The policy table: names, their list, eras, commits of the historical ones. */
START_TEST(test_policy_table)
{
	char list[256] = "";
	int i;

	for (i = 0; i < FL_POL_COUNT; i++) {
		const struct fl_policy_info *pi = fl_policy_info((enum fl_policy)i);

		ck_assert_ptr_nonnull(pi);
		ck_assert_int_eq(fl_policy_parse(pi->name), i);
		ck_assert_int_eq(pi->historical, pi->commit != NULL);
		ck_assert_int_ne(pi->era, FL_ERA_NONE);
		if (i > 0)
			strcat(list, ", ");
		strcat(list, pi->name);
	}
	ck_assert_str_eq(list, fl_policy_list());
	ck_assert_ptr_null(fl_policy_info(FL_POL_COUNT));
	ck_assert_int_eq(fl_era_parse("2010-10"), FL_ERA_B);
	ck_assert_int_eq(fl_era_parse("z"), FL_ERA_Z);
	ck_assert_int_eq(fl_era_parse("Q"), -1);
	ck_assert_str_eq(fl_era_name(FL_ERA_C), "C");
	for (i = 0; fl_tunable_name(i) != NULL; i++) {
		struct fl_config c;
		uint64_t v;

		fl_config_init(&c, "legacy");
		ck_assert_int_eq(fl_tunable_get(&c.tun, fl_tunable_name(i), &v), 0);
	}
	ck_assert_int_gt(i, 15);
}
END_TEST

/* Latencies from a caller-supplied list are used in issue order. */
START_TEST(test_latency_list)
{
	static const uint64_t lat[] = { 5000000, 1000000, 3000000 };
	struct fl_config c;
	struct tu_trace r;
	struct fl_engine *e;
	struct fs_err err;
	size_t k;
	int n = 0;

	cfg(&c, "deadline", &r);
	c.transport.kind = FL_LAT_LIST;
	c.transport.list = lat;
	c.transport.nlist = 3;
	e = fl_engine_new(&c, &err);
	for (k = 0; k < 4; k++)
		ck_assert_int_eq(fl_engine_write(e, k * 10, 1, 0, (uint32_t)k << 20, 1u << 20,
		    FL_READY_AT_ARRIVAL, &err), 0);
	ck_assert_int_eq(fl_engine_run(e, &err), 0);
	for (k = 0; k < r.n; k++)
		if (r.ev[k].kind == FL_TR_SEND) {
			ck_assert_uint_eq(r.ev[k].done - r.ev[k].issue, lat[n < 3 ? n : 2]);
			n++;
		}
	ck_assert_int_eq(n, 4);
	free(r.ev);
	fl_engine_free(e);
}
END_TEST

/* The command: same arguments give the same bytes; bad options exit 2. */
START_TEST(test_cmd_synth)
{
	const char *bin = getenv("FS_BIN");
	char cmd[1024];
	int st;

	if (bin == NULL)
		return;
	snprintf(cmd, sizeof(cmd), "%s synth --seed 5 --duration 50ms --rate 2000 > /tmp/fl_ck_$PPID.1 && "
	    "%s synth --seed 5 --duration 50ms --rate 2000 > /tmp/fl_ck_$PPID.2 && "
	    "cmp -s /tmp/fl_ck_$PPID.1 /tmp/fl_ck_$PPID.2; r=$?; rm -f /tmp/fl_ck_$PPID.*; exit $r",
	    bin, bin);
	st = system(cmd);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	snprintf(cmd, sizeof(cmd), "%s synth --bogus 2>/dev/null", bin);
	st = system(cmd);
	ck_assert_int_eq(WEXITSTATUS(st), 2);
	snprintf(cmd, sizeof(cmd), "%s synth --policy nope 2>/dev/null", bin);
	st = system(cmd);
	ck_assert_int_eq(WEXITSTATUS(st), 2);
}
END_TEST

/* testdata/synth/seedlike-A.log is exactly what its documented command writes. */
START_TEST(test_seedlike_fixture)
{
	const char *bin = getenv("FS_BIN"), *td = getenv("FS_TESTDATA");
	char cmd[2048];
	int st;

	if (bin == NULL || td == NULL)
		return;
	snprintf(cmd, sizeof(cmd), "%s synth --policy legacy --era A --seed 1 --duration 5s "
	    "--files 1 --bmaps 2 --write-size 1048576 --burst 75 --burst-gap 10us --rate 75 "
	    "--rpc-latency uniform:20ms:40ms --truth /tmp/fl_ck_$PPID.t | "
	    "cmp -s - %s/synth/seedlike-A.log && cmp -s /tmp/fl_ck_$PPID.t "
	    "%s/synth/seedlike-A.truth; r=$?; rm -f /tmp/fl_ck_$PPID.t; exit $r", bin, td, td);
	st = system(cmd);
	ck_assert_msg(WEXITSTATUS(st) == 0, "seedlike-A.log/.truth differ from a regeneration "
	    "(see testdata/synth/README)");
}
END_TEST

Suite *libflush_suite(void);

Suite *
libflush_suite(void)
{
	Suite *s = suite_create("libflush");
	TCase *tc = tcase_create("coalescer");
	TCase *ti = tcase_create("invariants");
	TCase *ts = tcase_create("seedlike");
	TCase *tr = tcase_create("real");

	tcase_add_loop_test(tc, test_coalesce, 0, (int)(sizeof(coal_cases) / sizeof(coal_cases[0])));
	tcase_add_test(tc, test_api_errors);
	tcase_add_test(tc, test_policy_table);
	tcase_add_test(tc, test_latency_list);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(ti, test_bytes_once, 0, NPOLS);
	tcase_add_loop_test(ti, test_overlap_order, 0,
	    (int)(sizeof(holdback_pols) / sizeof(holdback_pols[0])));
	tcase_add_loop_test(ti, test_window, 0, (int)(sizeof(win_cases) / sizeof(win_cases[0])));
	tcase_add_loop_test(ti, test_drain, 0, NPOLS);
	tcase_add_loop_test(ti, test_force, 0, NPOLS);
	tcase_add_loop_test(ti, test_same_seed_same_bytes, 0, NLOGCASES);
	tcase_add_loop_test(ti, test_header_shape, 0, NLOGCASES);
	suite_add_tcase(s, ti);
	tcase_add_test(ts, test_seedlike_legacy);
	tcase_add_test(ts, test_seedlike_deadline);
	tcase_add_loop_test(ts, test_wake_batching, 0, (int)(sizeof(wake_cases) / sizeof(wake_cases[0])));
	tcase_add_test(ts, test_batch_bounds);
	tcase_add_test(ts, test_signal_keeps_timer);
	tcase_add_test(ts, test_early_not_expired);
	tcase_add_test(ts, test_rearm_no_wake);
	tcase_add_test(ts, test_stream_held);
	tcase_add_test(ts, test_seedlike_pendq);
	tcase_add_test(ts, test_seedlike_log_shape);
	tcase_add_test(ts, test_cmd_synth);
	tcase_add_test(ts, test_seedlike_fixture);
	suite_add_tcase(s, ts);
	tcase_add_loop_test(tr, test_real_clock, 0, NPOLS);
	tcase_add_test(tr, test_real_rearm);
	tcase_set_timeout(tr, 60);
	suite_add_tcase(s, tr);
	return s;
}
