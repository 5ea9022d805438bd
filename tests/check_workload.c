/*
 * Workload format (round trip, reader errors with file:line) and the
 * extractor (xid pairing, counter pairing, biorq arrivals, fidelity levels,
 * the seed's pre-trace in-flight writes).
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/workload.h"
#include "parsers/source.h"
#include "replay/wlsource.h"
#include "store/store.h"
#include "tests/testutil.h"

#include <unistd.h>

Suite *workload_suite(void);

/* ---- format ---- */

/* Builds a small workload with every kind of line. */
static void
sample_workload(struct wl_workload *w)
{
	struct fs_err err;
	struct wl_event e;

	wl_init(w);
	w->fidelity = WL_FID_RPC;
	w->arrivals = WL_FID_RPC;
	w->service = WL_FID_BIORQ;
	w->era = 'A';
	w->epoch_us = 1282327206159214;
	w->poll_us = 2048;
	w->obs.wasted_examinations = 6;
	w->obs.passes = 3;
	w->obs.pass_period_us = 2159;
	ck_assert_int_eq(wl_add_sample(w, 12065, &err), 0);
	ck_assert_int_eq(wl_add_sample(w, 9000, &err), 0);
	memset(&e, 0, sizeof(e));
	e.xid = -1;
	e.lat_us = -1;
	e.kind = WL_WRITE;
	e.t_us = 0;
	e.fid = 0x80000002d907bull;
	e.bno = 1;
	e.off = 1015808;
	e.len = 32768;
	ck_assert_int_eq(wl_add(w, &e, &err), 0);
	e.kind = WL_RPC;
	e.t_us = 2048;
	e.lat_us = 12065;
	e.lat_src = WL_LAT_XID;
	e.xid = 1412;
	ck_assert_int_eq(wl_add(w, &e, &err), 0);
	e.kind = WL_RPC;
	e.t_us = 2048;
	e.lat_us = -1;
	e.lat_src = WL_LAT_NONE;
	e.xid = -1;
	e.bno = 3;
	e.off = 0;
	e.len = 1048576;
	ck_assert_int_eq(wl_add(w, &e, &err), 0);
	memset(&e, 0, sizeof(e));
	e.kind = WL_FSYNC;
	e.t_us = 5000;
	e.fid = 0x1;
	e.bno = 0;
	e.xid = e.lat_us = -1;
	ck_assert_int_eq(wl_add(w, &e, &err), 0);
}

START_TEST(test_round_trip)
{
	struct wl_workload w, r;
	struct fs_err err;
	char *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0, i;
	FILE *f;

	sample_workload(&w);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(wl_write(&w, f, "test", &err), 0);
	fclose(f);
	f = fmemopen(buf, len, "r");
	ck_assert_msg(wl_read(&r, f, "mem", &err) == 0, "%s", err.msg);
	fclose(f);
	ck_assert_uint_eq(r.n, w.n);
	for (i = 0; i < w.n; i++) {
		ck_assert_int_eq(r.ev[i].kind, w.ev[i].kind);
		ck_assert_int_eq(r.ev[i].t_us, w.ev[i].t_us);
		ck_assert_uint_eq(r.ev[i].fid, w.ev[i].fid);
		ck_assert_uint_eq(r.ev[i].bno, w.ev[i].bno);
		ck_assert_uint_eq(r.ev[i].off, w.ev[i].off);
		ck_assert_uint_eq(r.ev[i].len, w.ev[i].len);
		if (w.ev[i].kind == WL_RPC) {
			ck_assert_int_eq(r.ev[i].lat_us, w.ev[i].lat_us);
			ck_assert_int_eq(r.ev[i].lat_src, w.ev[i].lat_src);
			ck_assert_int_eq(r.ev[i].xid, w.ev[i].xid);
		}
	}
	ck_assert_int_eq(r.fidelity, WL_FID_RPC);
	ck_assert_int_eq(r.service, WL_FID_BIORQ);
	ck_assert_int_eq(r.era, 'A');
	ck_assert_int_eq(r.epoch_us, w.epoch_us);
	ck_assert_int_eq(r.obs.wasted_examinations, 6);
	ck_assert_int_eq(r.obs.pass_period_us, 2159);
	ck_assert_int_eq(r.obs.rpcs, -1);
	ck_assert_uint_eq(r.nsamples, 2);
	ck_assert_int_eq(r.samples[1], 9000);
	/* writing what was read gives the same bytes */
	f = open_memstream(&buf2, &len2);
	ck_assert_int_eq(wl_write(&r, f, "test", &err), 0);
	fclose(f);
	ck_assert_uint_eq(len, len2);
	ck_assert_int_eq(memcmp(buf, buf2, len), 0);
	free(buf);
	free(buf2);
	wl_free(&w);
	wl_free(&r);
}
END_TEST

/* A hand-written file: comments, blank lines, unsorted events, 0x fids. */
START_TEST(test_hand_written)
{
	static const char text[] =
	    "# my workload\n"
	    "\n"
	    "flushscope-workload 1   # version\n"
	    "fidelity biorq\n"
	    "  5000 write 0x2a:3 0 4096   # late one\n"
	    "0 write 2a:3 4096 4096\n"
	    "0 fsync 2a:3\n";
	struct wl_workload w;
	struct fs_err err;
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");

	ck_assert_msg(wl_read(&w, f, "hand.wl", &err) == 0, "%s", err.msg);
	fclose(f);
	ck_assert_uint_eq(w.n, 3);
	ck_assert_int_eq(w.ev[0].t_us, 0);
	ck_assert_int_eq(w.ev[0].kind, WL_WRITE);	/* file order kept at equal times */
	ck_assert_uint_eq(w.ev[0].off, 4096);
	ck_assert_int_eq(w.ev[1].kind, WL_FSYNC);
	ck_assert_int_eq(w.ev[2].t_us, 5000);
	ck_assert_uint_eq(w.ev[2].fid, 0x2a);
	ck_assert_uint_eq(w.ev[2].lineno, 5);
	ck_assert_int_eq(w.fidelity, WL_FID_BIORQ);
	wl_free(&w);
}
END_TEST

/*
 * The service fidelity is the worst source of any RPC latency; when the
 * sources are mixed the reports say how many came from each (one fitted
 * RPC at the cut of a log made a 213,489-RPC workload read "fitted").
 */
static const struct {
	const char *rpcs;
	const char *mix;
} mix_cases[] = {
	{ "0 rpc 1:0 0 4096 20000 xid 7\n5 rpc 1:0 4096 4096 21000 xid 8\n", "" },
	{ "0 rpc 1:0 0 4096 20000 xid 7\n5 rpc 1:0 4096 4096 21000 xid 8\n"
	  "9 rpc 1:0 8192 4096 20500 fitted -\n", "2 by xid, 1 fitted" },
	{ "0 rpc 1:0 0 4096 20000 counter -\n5 rpc 1:0 4096 4096 21000 run -\n",
	  "1 by counter, 1 by requeue run" },
};

START_TEST(test_service_mix)
{
	char text[512], mix[160];
	struct wl_workload w;
	struct fs_err err;
	FILE *f;

	snprintf(text, sizeof(text), "flushscope-workload 1\n%s", mix_cases[_i].rpcs);
	f = fmemopen(text, strlen(text), "r");
	ck_assert_msg(wl_read(&w, f, "mix.wl", &err) == 0, "%s", err.msg);
	fclose(f);
	wl_service_mix(&w, mix, sizeof(mix));
	ck_assert_str_eq(mix, mix_cases[_i].mix);
	wl_free(&w);
}
END_TEST

/* Bad files and the message each must produce (file:line: ...). */
static const struct {
	const char *text;
	const char *msg;
} bad[] = {
	{ "", "bad.wl:0: empty, not a workload" },
	{ "hello\n", "bad.wl:1: not a workload" },
	{ "flushscope-workload 9\n", "bad.wl:1: workload version 9 not supported" },
	{ "flushscope-workload 1\n# c\n0 write 2a:1 0\n", "bad.wl:3: write expects" },
	{ "flushscope-workload 1\n0 read 2a:1 0 1\n", "bad.wl:2: unknown event kind 'read'" },
	{ "flushscope-workload 1\n\n\n0 write zz:1 0 1\n", "bad.wl:4: bad bmap 'zz:1'" },
	{ "flushscope-workload 1\n0 write 2a 0 1\n", "bad.wl:2: bad bmap '2a'" },
	{ "flushscope-workload 1\nx1 write 2a:1 0 1\n", "bad.wl:2: unknown or malformed line starting 'x1'" },
	{ "flushscope-workload 1\n1.5 write 2a:1 0 1\n", "bad.wl:2: bad time '1.5'" },
	{ "flushscope-workload 1\n0 write 2a:1 0 0\n", "bad.wl:2: bad length '0'" },
	{ "flushscope-workload 1\n0 write 2a:1 134217728 1\n", "bad.wl:2: off+len past" },
	{ "flushscope-workload 1\n0 write 2a:1 -4 1\n", "bad.wl:2: bad offset '-4'" },
	{ "flushscope-workload 1\n0 rpc 2a:1 0 1 10 guess -\n", "bad.wl:2: unknown latency source 'guess'" },
	{ "flushscope-workload 1\n0 rpc 2a:1 0 1 -3 xid -\n", "bad.wl:2: bad latency '-3'" },
	{ "flushscope-workload 1\n0 fsync 2a:1 7\n", "bad.wl:2: fsync takes no more fields" },
	{ "flushscope-workload 1\nfidelity great\n", "bad.wl:2: fidelity expects biorq, rpc or fitted" },
	{ "flushscope-workload 1\npolicy legacy\n", "bad.wl:2: unknown or malformed line starting 'policy'" },
	{ "flushscope-workload 1\nobserved passes many\n", "bad.wl:2: observed expects" },
	/* fewer fields than the line needs: none is read past the last (fuzz) */
	{ "flushscope-workload 1\nobserved\n", "bad.wl:2: observed expects" },
	{ "flushscope-workload 1\nobserved  # pass_period_us 5\n", "bad.wl:2: observed expects" },
	/* out-of-range values are refused, never wrapped (issue 15) */
	{ "flushscope-workload 1\n0 rpc 2a:1 0 1 100000000000000000 xid 1\n",
	  "bad.wl:2: latency 100000000000000000 out of range" },
	{ "flushscope-workload 1\n9223372036854775807 write 2a:1 0 1\n",
	  "bad.wl:2: time 9223372036854775807 out of range" },
	{ "flushscope-workload 1\n-1000000000000001 write 2a:1 0 1\n",
	  "bad.wl:2: time -1000000000000001 out of range" },
	{ "flushscope-workload 1\nobserved pass_period_us 18446744073709552\n",
	  "bad.wl:2: observed pass_period_us 18446744073709552 out of range" },
	{ "flushscope-workload 1\nobserved wasted_examinations -2\n",
	  "bad.wl:2: observed wasted_examinations -2 out of range" },
	{ "flushscope-workload 1\nend_us 1000000000000001\n", "bad.wl:2: end_us 1000000000000001 out of range" },
	{ "flushscope-workload 1\npoll_us 0\n", "bad.wl:2: poll_us 0 out of range" },
	{ "flushscope-workload 1\nepoch_us -5\n", "bad.wl:2: epoch_us -5 out of range" },
	{ "flushscope-workload 1\ndefault_latency_us 1000000000001\n",
	  "bad.wl:2: default_latency_us 1000000000001 out of range" },
	{ "flushscope-workload 1\nsample 1000000000001\n", "bad.wl:2: sample 1000000000001 out of range" },
};

START_TEST(test_reader_errors)
{
	struct wl_workload w;
	struct fs_err err;
	FILE *f;
	size_t n = strlen(bad[_i].text);

	fs_err_clear(&err);
	f = n ? fmemopen((void *)bad[_i].text, n, "r") : fopen("/dev/null", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(wl_read(&w, f, "bad.wl", &err), -1);
	fclose(f);
	ck_assert_msg(strncmp(err.msg, bad[_i].msg, strlen(bad[_i].msg)) == 0,
	    "case %d: got '%s', want '%s...'", _i, err.msg, bad[_i].msg);
}
END_TEST

START_TEST(test_read_missing_file)
{
	struct wl_workload w;
	struct fs_err err;

	ck_assert_int_eq(wl_read_file(&w, "/nonexistent/x.wl", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/x.wl"));
}
END_TEST

/* ---- extraction ---- */

#define FID 0x80000002d907bull
#define T0 1282327206000000ll

/* An event with a header: kind, message, time, thread name. */
static struct ps_event
mk(enum ps_ev_kind kind, enum ps_msg msg, int64_t ts, const char *thread)
{
	struct ps_event ev;

	ps_event_reset(&ev);
	ev.kind = kind;
	ev.msg_id = msg;
	ev.ts_us = ts;
	ev.thread.p = thread;
	ev.thread.n = strlen(thread);
	ev.tid = 23667;
	return ev;
}

/* Adds the bmap@ prefix. */
static struct ps_event
bm(struct ps_event ev, uint64_t addr, uint32_t bno, int64_t outstanding)
{
	ev.has |= PS_HAS_BMAP;
	ev.bmap.addr = addr;
	ev.bmap.fid = FID;
	ev.bmap.bno = bno;
	ev.outstanding = outstanding;
	return ev;
}

/* Hand-built events through the log pipeline: attribution, detector, extractor. */
struct tpipe {
	struct ps_stream *st;
	struct wl_pipe *p;
};

/* A pipeline with the default options. */
static struct tpipe *
tpipe_new(void)
{
	struct tpipe *x = calloc(1, sizeof(*x));
	struct fs_err err;

	ck_assert_ptr_nonnull(x);
	x->st = ps_stream_new(NULL, &err);
	x->p = wl_pipe_new(NULL, NULL, &err);
	ck_assert_ptr_nonnull(x->st);
	ck_assert_ptr_nonnull(x->p);
	return x;
}

/* Feeds an event as a source would (attributed), failing the test on error. */
static void
feed(struct tpipe *x, struct ps_event ev)
{
	struct fs_err err;

	ps_stream_attribute(x->st, &ev);
	ck_assert_msg(wl_pipe_feed(x->p, &ev, &err) == 0, "%s", err.msg);
}

/* Finishes extraction into w. */
static void
finish(struct tpipe *x, struct wl_workload *w)
{
	struct fs_err err;

	ck_assert_msg(wl_pipe_finish(x->p, w, &err) == 0, "%s", err.msg);
	wl_pipe_free(x->p);
	ps_stream_free(x->st);
	free(x);
}

/* Returns the i-th event of kind k (NULL if none). */
static const struct wl_event *
nth(const struct wl_workload *w, enum wl_kind k, size_t i)
{
	size_t j;

	for (j = 0; j < w->n; j++)
		if (w->ev[j].kind == k && i-- == 0)
			return &w->ev[j];
	return NULL;
}

/*
 * The seed excerpt as events: INFO level, no biorq and no RPC lines; two
 * bmaps spinning three times.  Fidelity fitted; two inferred in-flight
 * writes; 6 wasted examinations, 3 passes, period about 2.16 ms.
 */
START_TEST(test_seed_shape)
{
	static const int64_t pass_t[3] = { 161331, 163490, 165650 };
	struct tpipe *x = tpipe_new();
	struct wl_workload w;
	const struct wl_event *e;
	int i;

	feed(x, bm(mk(PS_EV_REQUEUE, PS_MSG_A_RESTORE, T0 + 159214, "msbflushthr"),
	    0x882110, 3, -1));
	for (i = 0; i < 3; i++) {
		int64_t t = T0 + pass_t[i];

		feed(x, bm(mk(PS_EV_EXAMINE, PS_MSG_A_TRY_FLUSH_BMAP, t, "msbflushthr"),
		    0x881330, 1, 75));
		feed(x, bm(mk(PS_EV_EXAMINE, PS_MSG_A_TRY_FLUSH_BMAP, t + 16, "msbflushthr"),
		    0x882110, 3, 75));
		feed(x, bm(mk(PS_EV_REQUEUE, PS_MSG_A_RESTORE, t + 29, "msbflushthr"),
		    0x881330, 1, -1));
		feed(x, bm(mk(PS_EV_REQUEUE, PS_MSG_A_RESTORE, t + 43, "msbflushthr"),
		    0x882110, 3, -1));
	}
	finish(x, &w);
	ck_assert_int_eq(w.obs.examinations, 6);
	ck_assert_int_eq(w.obs.wasted_examinations, 6);
	ck_assert_int_eq(w.obs.passes, 3);
	/* the detector's median of the periods 2159 and 2160 (nearest rank), as spins says */
	ck_assert_int_eq(w.obs.pass_period_us, 2159);
	ck_assert_int_eq(w.obs.outstanding_max, 75);
	ck_assert_int_eq(w.obs.rpcs, 0);
	ck_assert_int_eq(w.fidelity, WL_FID_FITTED);
	ck_assert_int_eq(w.arrivals, WL_FID_FITTED);
	ck_assert_int_eq(w.era, 'A');
	ck_assert_uint_eq(wl_count(&w, WL_WRITE), 2);
	ck_assert_uint_eq(wl_count(&w, WL_RPC), 2);
	/* the inferred writes were ready before the first wasted examination */
	e = nth(&w, WL_WRITE, 0);
	ck_assert_int_lt(w.epoch_us + e->t_us, T0 + 161331 - 2048);
	/* and their replies come at the end of the run */
	e = nth(&w, WL_RPC, 0);
	ck_assert_int_eq(e->lat_src, WL_LAT_RUN);
	ck_assert_int_gt(w.epoch_us + e->t_us + e->lat_us, T0 + 165650);
	ck_assert_int_le(w.epoch_us + e->t_us + e->lat_us, T0 + 165650 + 2048);
	wl_free(&w);
}
END_TEST

/* An era-A RPC: examine, send (xid), restore; done later on the RPC thread. */
static void
feed_send(struct tpipe *x, int64_t t, uint32_t bno, int64_t xid, int64_t off, int64_t sz)
{
	struct ps_event ev;

	feed(x, bm(mk(PS_EV_EXAMINE, PS_MSG_A_TRY_FLUSH_BMAP, t, "msbflushthr"),
	    0x1000 + bno, bno, 3));
	ev = mk(PS_EV_RPC_SEND, PS_MSG_A_RPC_OFF_SZ, t + 10, "msbflushthr");
	if (xid >= 0) {
		ev.has |= PS_HAS_REQ;
		ev.req.xid = xid;
	}
	ev.rpc_off = off;
	ev.rpc_sz = sz;
	feed(x, ev);
	feed(x, bm(mk(PS_EV_REQUEUE, PS_MSG_A_RESTORE, t + 20, "msbflushthr"),
	    0x1000 + bno, bno, -1));
}

/* A done line, with an xid or without. */
static void
feed_done(struct tpipe *x, int64_t t, int64_t xid)
{
	struct ps_event ev = mk(PS_EV_RPC_DONE, PS_MSG_A_RPC_DONE, t, "msbflushrpcthr");

	if (xid >= 0) {
		ev.has |= PS_HAS_REQ;
		ev.req.xid = xid;
	}
	ev.outstanding = 2;
	feed(x, ev);
}

START_TEST(test_xid_pairing)
{
	struct tpipe *x = tpipe_new();
	struct wl_workload w;
	const struct wl_event *e;

	feed_send(x, T0, 1, 1412, 0, 32768);
	feed_send(x, T0 + 2000, 2, 1413, 32768, 65536);
	feed_done(x, T0 + 9000, 1413);	/* out of order: xids decide */
	feed_done(x, T0 + 15000, 1412);
	feed_done(x, T0 + 16000, 999);	/* sent before the trace: ignored */
	finish(x, &w);
	ck_assert_uint_eq(wl_count(&w, WL_RPC), 2);
	e = nth(&w, WL_RPC, 0);
	ck_assert_int_eq(e->xid, 1412);
	ck_assert_int_eq(e->lat_us, 15000 - 10);
	ck_assert_int_eq(e->lat_src, WL_LAT_XID);
	e = nth(&w, WL_RPC, 1);
	ck_assert_int_eq(e->xid, 1413);
	ck_assert_int_eq(e->lat_us, 7000 - 10);
	ck_assert_uint_eq(e->off, 32768);
	ck_assert_uint_eq(e->len, 65536);
	ck_assert_uint_eq(e->bno, 2);
	ck_assert_int_eq(w.service, WL_FID_BIORQ);
	/* no biorq lines: arrivals from the RPCs, one poll period early */
	ck_assert_int_eq(w.arrivals, WL_FID_RPC);
	ck_assert_int_eq(w.fidelity, WL_FID_RPC);
	ck_assert_uint_eq(wl_count(&w, WL_WRITE), 2);
	e = nth(&w, WL_WRITE, 0);
	ck_assert_int_eq(w.epoch_us + e->t_us, T0 + 10 - 2048);
	ck_assert_int_eq(w.obs.rpcs, 2);
	ck_assert_int_eq(w.obs.bytes, 32768 + 65536);
	ck_assert_int_eq(w.obs.wasted_examinations, 0);
	ck_assert_uint_eq(w.nsamples, 2);
	wl_free(&w);
}
END_TEST

START_TEST(test_counter_pairing)
{
	struct tpipe *x = tpipe_new();
	struct wl_workload w;

	feed_send(x, T0, 1, -1, 0, 4096);
	feed_send(x, T0 + 2000, 1, -1, 4096, 4096);
	feed_send(x, T0 + 4000, 2, -1, 0, 4096);
	feed_done(x, T0 + 5000, -1);
	feed_done(x, T0 + 6000, -1);
	finish(x, &w);
	ck_assert_int_eq(nth(&w, WL_RPC, 0)->lat_us, 5000 - 10);
	ck_assert_int_eq(nth(&w, WL_RPC, 0)->lat_src, WL_LAT_COUNTER);
	ck_assert_int_eq(nth(&w, WL_RPC, 1)->lat_us, 4000 - 10);
	/* the third never completed: drawn from what was seen */
	ck_assert_int_eq(nth(&w, WL_RPC, 2)->lat_src, WL_LAT_FITTED);
	ck_assert(nth(&w, WL_RPC, 2)->lat_us == 4990 || nth(&w, WL_RPC, 2)->lat_us == 3990);
	ck_assert_int_eq(w.service, WL_FID_FITTED);
	ck_assert_int_eq(w.fidelity, WL_FID_FITTED);
	wl_free(&w);
}
END_TEST

/* The completion of a bmap's last write (`unset DIRTY`) gives a latency. */
START_TEST(test_run_pairing)
{
	struct tpipe *x = tpipe_new();
	struct wl_workload w;

	feed_send(x, T0, 1, -1, 0, 4096);
	feed_send(x, T0 + 2100, 1, -1, 0, 0);	/* bad size: dropped */
	feed(x, bm(mk(PS_EV_CLEAN, PS_MSG_A_UNSET_DIRTY, T0 + 7000, "msbflushrpcthr"),
	    0x1001, 1, -1));
	finish(x, &w);
	ck_assert_uint_eq(wl_count(&w, WL_RPC), 1);
	ck_assert_int_eq(nth(&w, WL_RPC, 0)->lat_us, 7000 - 10);
	ck_assert_int_eq(nth(&w, WL_RPC, 0)->lat_src, WL_LAT_RUN);
	ck_assert_int_eq(w.service, WL_FID_RPC);
	ck_assert_int_eq(w.obs.arrivals_dropped, 1);
	/* both examinations sent something (the dropped RPC too): none wasted */
	ck_assert_int_eq(w.obs.wasted_examinations, 0);
	wl_free(&w);
}
END_TEST

/* Biorq-level arrivals: FLUSHRDY gives ready time, offset and length. */
START_TEST(test_biorq_arrivals)
{
	struct tpipe *x = tpipe_new();
	struct wl_workload w;
	struct ps_event ev;
	static const char le[] = "biorq=0x7f95c4012a30 list_empty(0)";

	/* era-A INFO: list_empty (bmap prefix) gives the time ... */
	ev = bm(mk(PS_EV_WRITE_READY, PS_MSG_A_BIORQ_LIST_EMPTY, T0 + 100, "msfsthr03"),
	    0x881330, 1, -1);
	ev.msg.p = le;
	ev.msg.n = sizeof(le) - 1;
	feed(x, ev);
	/* ... the first biorq line the offset and length */
	feed(x, bm(mk(PS_EV_EXAMINE, PS_MSG_A_TRY_FLUSH_BMAP, T0 + 200, "msbflushthr"),
	    0x881330, 1, 0));
	ev = mk(PS_EV_OTHER, PS_MSG_A_CONSIDER, T0 + 210, "msbflushthr");
	ev.has |= PS_HAS_BIORQ;
	ev.biorq.addr = 0x7f95c4012a30;
	ev.biorq.bmap_addr = 0x881330;
	ev.biorq.off = 1015808;
	ev.biorq.len = 32768;
	ev.biorq.flags = 514;
	feed(x, ev);
	ev.kind = PS_EV_SCHEDULE;
	ev.msg_id = PS_MSG_A_SET_INFLIGHT;
	ev.ts_us = T0 + 220;
	ev.biorq.flags = 562;
	feed(x, ev);
	/* after completion: `destroying` of the same biorq is not an arrival */
	ev.kind = PS_EV_OTHER;
	ev.msg_id = PS_MSG_NONE;
	ev.ts_us = T0 + 9000;
	ev.biorq.flags = 770;
	feed(x, ev);
	/* a forced one, seen first in flight at FLUSHRDY (DEBUG) */
	ev = mk(PS_EV_WRITE_READY, PS_MSG_A_FLUSHRDY, T0 + 300, "msfsthr04");
	ev.has |= PS_HAS_BIORQ;
	ev.biorq.addr = 0x7f95c4099000;
	ev.biorq.bmap_addr = 0x881330;
	ev.biorq.off = 0;
	ev.biorq.len = 4096;
	ev.biorq.flags = 514 | 0x80;
	feed(x, ev);
	/* the same biorq's list_empty line must not add a second arrival */
	{
		static const char le2[] = "biorq=0x7f95c4099000 list_empty(1)";
		struct ps_event e2 = bm(mk(PS_EV_WRITE_READY, PS_MSG_A_BIORQ_LIST_EMPTY,
		    T0 + 301, "msfsthr04"), 0x881330, 1, -1);

		e2.msg.p = le2;
		e2.msg.n = sizeof(le2) - 1;
		feed(x, e2);
	}
	finish(x, &w);
	ck_assert_int_eq(w.arrivals, WL_FID_BIORQ);
	ck_assert_uint_eq(wl_count(&w, WL_WRITE), 2);
	ck_assert_uint_eq(wl_count(&w, WL_FSYNC), 1);
	ck_assert_int_eq(w.epoch_us + nth(&w, WL_WRITE, 0)->t_us, T0 + 100);
	ck_assert_uint_eq(nth(&w, WL_WRITE, 0)->off, 1015808);
	ck_assert_uint_eq(nth(&w, WL_WRITE, 0)->len, 32768);
	ck_assert_uint_eq(nth(&w, WL_WRITE, 0)->bno, 1);
	ck_assert_int_eq(w.epoch_us + nth(&w, WL_WRITE, 1)->t_us, T0 + 300);
	ck_assert_int_eq(w.epoch_us + nth(&w, WL_FSYNC, 0)->t_us, T0 + 300);
	ck_assert_int_eq(w.obs.wasted_examinations, 0);
	wl_free(&w);
}
END_TEST

/*
 * The benchmark generator (bench/gen_era_a.c, $FS_GEN_ERA_A): -n N gives
 * exactly N lines, and every write the extractor recovers has the RPC that
 * sent it (same bmap, offset, length).  Its sends were once cut after `set
 * inflight` (228,025 writes for 228,024 RPCs in the 5 M-line log) and its
 * biorqs changed address between list_empty and the flush thread.  With
 * seed 7 the first write goes out on lines 8-11 (at the pass after it is
 * 1 ms old) and -n 15 ends inside the second send block, after the line
 * where its `set inflight` would be.
 */
static const long gen_sizes[] = { 11, 15, 34, 100, 2000, 20000 };

START_TEST(test_gen_era_a_counts)
{
	const char *gen = tu_gen_era_a();
	long n = gen_sizes[_i], lines = 0;
	char path[] = "/tmp/fs-wl-gen-XXXXXX", cmd[512], *paths[1] = { path }, *s, *p;
	struct wl_workload w;
	struct fs_err err = { 0 };
	size_t i, j, len;
	int fd, *used;

	ck_assert_msg(access(gen, X_OK) == 0, "no generator %s (make check builds it)", gen);
	ck_assert_int_ge(fd = mkstemp(path), 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s -n %ld -s 7 > %s", gen, n, path);
	ck_assert_int_eq(system(cmd), 0);
	s = tu_slurp(path, &len);
	for (p = s; p < s + len; p++)
		lines += *p == '\n';
	free(s);
	ck_assert_int_eq(lines, n);
	ck_assert_msg(wl_load_logs(&w, paths, 1, NULL, &err) == 0, "%s", err.msg);
	unlink(path);
	ck_assert_uint_eq(wl_count(&w, WL_WRITE), wl_count(&w, WL_RPC));
	ck_assert_int_eq(w.arrivals, WL_FID_BIORQ);
	ck_assert_int_eq(w.obs.writes_unsent, 0);
	used = calloc(w.n, sizeof(*used));
	ck_assert_ptr_nonnull(used);
	for (i = 0; i < w.n; i++) {
		const struct wl_event *e = &w.ev[i];

		if (e->kind != WL_WRITE)
			continue;
		for (j = 0; j < w.n; j++)
			if (w.ev[j].kind == WL_RPC && !used[j] && w.ev[j].fid == e->fid &&
			    w.ev[j].bno == e->bno && w.ev[j].off == e->off && w.ev[j].len == e->len)
				break;
		ck_assert_msg(j < w.n, "n=%ld: write %" PRIx64 ":%u %" PRIu64 " %u has no RPC",
		    n, e->fid, (unsigned)e->bno, (uint64_t)e->off, (unsigned)e->len);
		used[j] = 1;
	}
	free(used);
	wl_free(&w);
}
END_TEST

/*
 * A trace that ends mid-flush (testdata/extract-unsent.log): one write sent,
 * one set in flight with no RPC line after it, one still queued.  All three
 * are arrivals; the two the trace never shows sent are counted, kept by the
 * file and named in extract's summary.
 */
START_TEST(test_writes_unsent)
{
	const char *td = getenv("FS_TESTDATA");
	char log[512], errf[] = "/tmp/fs-wl-unsent-XXXXXX", cmd[1200], *paths[1] = { log }, *s;
	struct wl_workload w, back;
	struct fs_err err = { 0 };
	FILE *f;
	size_t n;
	int fd;

	snprintf(log, sizeof(log), "%s/extract-unsent.log", td ? td : "testdata");
	ck_assert_msg(wl_load_logs(&w, paths, 1, NULL, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(wl_count(&w, WL_WRITE), 3);
	ck_assert_uint_eq(wl_count(&w, WL_RPC), 1);
	ck_assert_int_eq(w.obs.writes_unsent, 2);
	ck_assert_int_eq(w.obs.arrivals_dropped, 0);
	/* the observation survives the file */
	ck_assert_ptr_nonnull(f = tmpfile());
	ck_assert_msg(wl_write(&w, f, NULL, &err) == 0, "%s", err.msg);
	rewind(f);
	wl_init(&back);
	ck_assert_msg(wl_read(&back, f, "tmp", &err) == 0, "%s", err.msg);
	fclose(f);
	ck_assert_int_eq(back.obs.writes_unsent, 2);
	wl_free(&back);
	wl_free(&w);
	/* and the summary says it */
	ck_assert_int_ge(fd = mkstemp(errf), 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s extract %s -o /dev/null 2> %s", tu_fsbin(), log, errf);
	ck_assert_int_eq(system(cmd), 0);
	s = tu_slurp(errf, &n);
	unlink(errf);
	ck_assert_msg(strstr(s, "extract: 3 writes (2 not sent within the trace), ") != NULL,
	    "summary: %s", s);
	free(s);
}
END_TEST

/* Era Z: `flushable?` not followed by `try flush` is wasted; passes from `work time`. */
START_TEST(test_era_z_observed)
{
	struct tpipe *x = tpipe_new();
	struct wl_workload w;
	struct ps_event ev;
	int i;

	for (i = 0; i < 4; i++) {
		int64_t t = T0 + i * 2000000;

		feed(x, mk(PS_EV_PASS, PS_MSG_Z_WORK_TIME, t, "msflushthr5"));
		feed(x, bm(mk(PS_EV_EXAMINE, PS_MSG_Z_FLUSHABLE, t + 5, "msflushthr5"),
		    0x881330, 1, -1));
		if (i == 0) {
			feed(x, bm(mk(PS_EV_SCHEDULE, PS_MSG_Z_TRY_FLUSH_BMAP, t + 6, "msflushthr5"),
			    0x881330, 1, -1));
			ev = mk(PS_EV_RPC_SEND, PS_MSG_Z_SENDING_WRITE, t + 7, "msflushthr5");
			ev.rpc_fid = FID;
			ev.rpc_bno = 1;
			ev.rpc_off = 0;
			ev.rpc_sz = 32768;
			ev.outstanding = 17;
			feed(x, ev);
		}
	}
	ev = mk(PS_EV_RPC_DONE, PS_MSG_Z_RPC_CALLBACK, T0 + 7000000, "msnbrqthr8");
	ev.outstanding = 16;
	feed(x, ev);
	finish(x, &w);
	ck_assert_int_eq(w.era, 'Z');
	ck_assert_int_eq(w.obs.examinations, 4);
	ck_assert_int_eq(w.obs.wasted_examinations, 2);	/* the 4th is still open */
	ck_assert_int_eq(w.obs.passes, 4);
	ck_assert_int_eq(w.obs.pass_period_us, 2000000);
	ck_assert_int_eq(nth(&w, WL_RPC, 0)->lat_us, 7000000 - 7);
	ck_assert_int_eq(nth(&w, WL_RPC, 0)->lat_src, WL_LAT_COUNTER);
	ck_assert_int_eq(w.obs.outstanding_max, 17);
	wl_free(&w);
}
END_TEST


/* ---- from a database ---- */

/* The seed excerpt as the store keeps it: two episodes, thread figures, one RPC pair. */
START_TEST(test_from_database)
{
	char dir[64], path[128];
	struct fs_err err;
	struct st_store *st;
	struct st_source src;
	struct st_batch *b;
	struct st_episode ep;
	struct st_thread_stats ts;
	struct st_rpc r;
	struct st_write wr;
	struct wl_workload w;
	const struct wl_event *e;
	int i;

	tu_mkdtemp(dir, sizeof(dir), "wldb");
	snprintf(path, sizeof(path), "%s/t.db", dir);
	ck_assert_msg((st = st_open(path, ST_OPEN_CREATE, &err)) != NULL, "%s", err.msg);
	memset(&src, 0, sizeof(src));
	snprintf(src.path, sizeof(src.path), "seed.log");
	ck_assert_int_eq(st_source_add(st, &src, &err), 0);
	b = st_batch_new();
	st_batch_add_thread(b, 0, "msbflushthr", 11, "23667", 5);
	for (i = 0; i < 2; i++) {
		memset(&ep, 0, sizeof(ep));
		snprintf(ep.thread, sizeof(ep.thread), "msbflushthr");
		ep.fid = FID;
		ep.bno = i == 0 ? 1 : 3;
		ep.addr = i == 0 ? 0x881330 : 0x882110;
		ep.start_us = T0 + 161331 + 16 * i;
		ep.end_us = T0 + 165650 + 16 * i;
		ep.cycles = 3;
		ep.period_us = 2160;
		ep.outstanding_min = ep.outstanding_max = 75;
		st_batch_add_episode(b, 0, &ep);
	}
	memset(&ts, 0, sizeof(ts));
	snprintf(ts.thread, sizeof(ts.thread), "msbflushthr");
	ts.passes = 3;
	ts.examinations = 6;
	ts.wasted = 6;
	ts.period_p50_us = 2160;
	ts.first_pass_us = INT64_MIN;
	st_batch_add_thread_stats(b, 0, &ts);
	/* a later write and its RPC on another bmap, paired by xid */
	memset(&wr, 0, sizeof(wr));
	wr.ts_us = T0 + 170000;
	wr.src_off = 10;
	wr.has_bmap = 1;
	wr.fid = FID;
	wr.bno = 7;
	wr.bmap_addr = 0x883000;
	wr.biorq_addr = 0x7f0000001000;
	wr.off = 4096;
	wr.len = 8192;
	wr.msg_id = PS_MSG_A_FLUSHRDY;
	st_batch_add_write(b, &wr);
	memset(&r, 0, sizeof(r));
	r.ts_us = T0 + 172000;
	r.src_off = 20;
	r.kind = ST_RPC_SEND;
	r.xid = 2000;
	r.off = 4096;
	r.sz = 8192;
	r.outstanding = r.rc = -1;
	r.has_bmap = 1;
	r.fid = FID;
	r.bno = 7;
	st_batch_add_rpc(b, &r);
	r.kind = ST_RPC_DONE;
	r.ts_us = T0 + 190000;
	r.src_off = 30;
	r.off = r.sz = -1;
	r.has_bmap = 0;
	st_batch_add_rpc(b, &r);
	src.done_off = 40;
	src.lines = 16;
	st_batch_set_source(b, &src);
	ck_assert_msg(st_commit(st, b, &err) == 0, "%s", err.msg);
	st_batch_free(b);
	st_close(st);

	ck_assert_int_eq(wl_input_kind(path), WL_IN_DB);
	ck_assert_msg(wl_load(&w, path, NULL, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(w.obs.wasted_examinations, 6);
	ck_assert_int_eq(w.obs.passes, 3);
	ck_assert_int_eq(w.obs.pass_period_us, 2160);
	ck_assert_int_eq(w.fidelity, WL_FID_FITTED);	/* the spinning bmaps' writes are inferred */
	ck_assert_uint_eq(wl_count(&w, WL_WRITE), 3);
	ck_assert_uint_eq(wl_count(&w, WL_RPC), 3);
	for (i = 0; (e = nth(&w, WL_RPC, (size_t)i)) != NULL; i++)
		if (e->xid == 2000)
			break;
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->lat_us, 18000);
	ck_assert_int_eq(e->lat_src, WL_LAT_XID);
	e = nth(&w, WL_WRITE, 2);
	ck_assert_uint_eq(e->bno, 7);
	ck_assert_uint_eq(e->off, 4096);
	ck_assert_int_eq(w.epoch_us + e->t_us, T0 + 170000);
	wl_free(&w);

	/* not a database: a clear message naming the file */
	{
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs("SQLite format 3 but not really\n", f);
		fclose(f);
		ck_assert_int_eq(wl_load_db(&w, path, NULL, &err), -1);
		ck_assert_msg(strstr(err.msg, path) != NULL, "%s", err.msg);
	}
	tu_rmtree(dir);
}
END_TEST

/*
 * Rows of two sources spread over every table, with equal times, equal
 * offsets across tables, an episode whose cycles tie with another's and
 * episodes whose times fall (end before start, as no detector writes).
 * Source 2 is sighted first (the only writes are its), so its id, not
 * the order rows were read, must decide ties between sources.
 */
static const struct dbrow {
	char tab;		/* w(rite) r(pc send) d(one) s(tate) e(pisode) */
	int src;		/* 1 or 2 */
	uint64_t off;		/* src_off (episodes: first_off) */
	int64_t ts, end;	/* episodes: start and end */
	int tno, cycles;
	uint32_t tag;		/* bno, to recognise the row */
} dbrows[] = {
	{ 'w', 2, 40, 100, 0, 0, 0, 11 },
	{ 'w', 2, 10, 100, 0, 0, 0, 12 },
	{ 'w', 2, 50, 90, 0, 0, 0, 13 },	/* no off/len: a biorq= message */
	{ 'r', 1, 100, 100, 0, 1, 0, 21 },
	{ 'd', 1, 200, 100, 0, 1, 0, 22 },
	{ 'r', 1, 150, 200, 0, 1, 0, 23 },
	{ 'r', 2, 40, 100, 0, 0, 0, 24 },
	{ 's', 1, 100, 100, 0, 0, 0, 31 },
	{ 's', 1, 5, 300, 0, 0, 0, 32 },
	{ 'e', 1, 100, 100, 300, 0, 3, 41 },
	{ 'e', 2, 1, 50, 50, 0, 1, 42 },
	{ 'e', 1, 100, 90, 100, 0, 2, 43 },
	{ 'e', 1, 7, 400, 399, 0, 3, 44 },	/* end before start: 400, 400, 399 */
	{ 'e', 2, 8, 260, 240, 0, 3, 45 },	/* 260, 250, 240 */
};

/* The events of dbrows in the order the extractor must see them. */
static const struct dbev_want {
	int kind;
	int64_t ts;
	uint64_t off;
	const char *thread;
	uint32_t tag;
} dbwant[] = {
	{ PS_EV_WRITE_READY, 90, 50, "othr", 13 },
	{ PS_EV_RPC_SEND, 100, 100, "rpcthr", 21 },
	{ PS_EV_CLEAN, 100, 100, "flushthr", 31 },
	{ PS_EV_RPC_DONE, 100, 200, "rpcthr", 22 },
	{ PS_EV_WRITE_READY, 100, 10, "othr", 12 },
	{ PS_EV_WRITE_READY, 100, 40, "othr", 11 },
	{ PS_EV_RPC_SEND, 100, 40, "othr", 24 },
	{ PS_EV_RPC_SEND, 200, 150, "rpcthr", 23 },
	{ PS_EV_CLEAN, 300, 5, "flushthr", 32 },
};

struct dbseen {
	size_t n;
	int bad_biorq;
};

/* wl_db_events callback: checks each event against dbwant. */
static int
db_check_event(void *arg, const struct ps_event *ev)
{
	struct dbseen *s = arg;
	const struct dbev_want *x;
	uint32_t tag;

	ck_assert_uint_lt(s->n, sizeof(dbwant) / sizeof(dbwant[0]));
	x = &dbwant[s->n];
	tag = ev->kind == PS_EV_RPC_SEND || ev->kind == PS_EV_RPC_DONE ?
	    (uint32_t)ev->rpc_bno : ev->bmap.bno;
	ck_assert_msg((int)ev->kind == x->kind && ev->ts_us == T0 + x->ts && ev->src_off == x->off &&
	    tag == x->tag, "event %zu: kind %d ts %" PRId64 " off %" PRIu64 " tag %u, want"
	    " kind %d ts %" PRId64 " off %" PRIu64 " tag %u", s->n, (int)ev->kind,
	    (int64_t)(ev->ts_us - T0), ev->src_off, tag, x->kind, x->ts, x->off, x->tag);
	ck_assert_uint_eq(ev->lineno, s->n + 1);
	ck_assert_uint_eq(ev->thread.n, strlen(x->thread));
	ck_assert(memcmp(ev->thread.p, x->thread, ev->thread.n) == 0);
	if (tag == 13)
		ck_assert(ev->msg.n == 20 && memcmp(ev->msg.p, "biorq=0x7f0000001300", 20) == 0 &&
		    !(ev->has & PS_HAS_BIORQ));
	else if (tag == 11 && (!(ev->has & PS_HAS_BIORQ) || ev->biorq.off != 4096 ||
	    ev->biorq.len != 8192))
		s->bad_biorq = 1;
	s->n++;
	return 0;
}

/* Events of a database come in time, source, offset, table, row order. */
START_TEST(test_database_order)
{
	char dir[64], path[128];
	struct fs_err err;
	struct st_store *st;
	struct st_source src[2];
	struct dbseen seen = { 0, 0 };
	int i, j;

	tu_mkdtemp(dir, sizeof(dir), "wldb");
	snprintf(path, sizeof(path), "%s/t.db", dir);
	ck_assert_msg((st = st_open(path, ST_OPEN_CREATE, &err)) != NULL, "%s", err.msg);
	for (i = 0; i < 2; i++) {
		struct st_batch *b = st_batch_new();

		memset(&src[i], 0, sizeof(src[i]));
		snprintf(src[i].path, sizeof(src[i].path), "%c.log", 'a' + i);
		ck_assert_int_eq(st_source_add(st, &src[i], &err), 0);
		if (i == 0) {
			st_batch_add_thread(b, 0, "flushthr", 8, "1", 1);
			st_batch_add_thread(b, 1, "rpcthr", 6, "2", 1);
		} else
			st_batch_add_thread(b, 0, "othr", 4, "3", 1);
		for (j = 0; j < (int)(sizeof(dbrows) / sizeof(dbrows[0])); j++) {
			const struct dbrow *r = &dbrows[j];

			if (r->src != i + 1)
				continue;
			if (r->tab == 'w') {
				struct st_write w;

				memset(&w, 0, sizeof(w));
				w.src_off = r->off;
				w.tno = r->tno;
				w.ts_us = T0 + r->ts;
				w.has_bmap = 1;
				w.fid = FID;
				w.bno = r->tag;
				w.bmap_addr = 0x883000;
				w.biorq_addr = 0x7f0000001000 + 0x100 * (r->tag - 10);
				w.off = r->tag == 13 ? -1 : 4096;
				w.len = r->tag == 13 ? -1 : 8192;
				w.msg_id = PS_MSG_A_FLUSHRDY;
				st_batch_add_write(b, &w);
			} else if (r->tab == 'r' || r->tab == 'd') {
				struct st_rpc p;

				memset(&p, 0, sizeof(p));
				p.src_off = r->off;
				p.tno = r->tno;
				p.ts_us = T0 + r->ts;
				p.kind = r->tab == 'r' ? ST_RPC_SEND : ST_RPC_DONE;
				p.xid = 1000 + r->tag;
				p.off = p.sz = p.outstanding = p.rc = -1;
				p.has_bmap = 1;
				p.fid = FID;
				p.bno = r->tag;
				st_batch_add_rpc(b, &p);
			} else if (r->tab == 's') {
				struct st_state s;

				memset(&s, 0, sizeof(s));
				s.src_off = r->off;
				s.tno = r->tno;
				s.ts_us = T0 + r->ts;
				s.fid = FID;
				s.bno = r->tag;
				s.bmap_addr = 0x884000;
				s.kind = PS_EV_CLEAN;
				s.msg_id = PS_MSG_A_IS_CLEAN;
				s.opcnt = -1;
				st_batch_add_state(b, &s);
			} else {
				struct st_episode ep;

				memset(&ep, 0, sizeof(ep));
				ep.fid = FID;
				ep.bno = r->tag;
				ep.addr = 0x885000;
				ep.start_us = T0 + r->ts;
				ep.end_us = T0 + r->end;
				ep.cycles = (uint64_t)r->cycles;
				ep.outstanding_min = ep.outstanding_max = 5;
				ep.first_off = ep.last_off = r->off;
				st_batch_add_episode(b, r->tno, &ep);
			}
		}
		src[i].done_off = 1000;
		src[i].lines = 10;
		st_batch_set_source(b, &src[i]);
		ck_assert_msg(st_commit(st, b, &err) == 0, "%s", err.msg);
		st_batch_free(b);
	}
	st_close(st);
	ck_assert_msg(wl_db_events(path, db_check_event, &seen, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(seen.n, sizeof(dbwant) / sizeof(dbwant[0]));
	ck_assert_int_eq(seen.bad_biorq, 0);
	tu_rmtree(dir);
}
END_TEST

Suite *
workload_suite(void)
{
	Suite *s = suite_create("workload");
	TCase *tc = tcase_create("format");
	TCase *tx = tcase_create("extract");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_hand_written);
	tcase_add_loop_test(tc, test_service_mix, 0, (int)(sizeof(mix_cases) / sizeof(mix_cases[0])));
	tcase_add_loop_test(tc, test_reader_errors, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_read_missing_file);
	suite_add_tcase(s, tc);
	tcase_add_test(tx, test_seed_shape);
	tcase_add_test(tx, test_xid_pairing);
	tcase_add_test(tx, test_counter_pairing);
	tcase_add_test(tx, test_run_pairing);
	tcase_add_test(tx, test_biorq_arrivals);
	tcase_add_test(tx, test_era_z_observed);
	tcase_add_test(tx, test_from_database);
	tcase_add_test(tx, test_writes_unsent);
	tcase_add_loop_test(tx, test_gen_era_a_counts, 0,
	    (int)(sizeof(gen_sizes) / sizeof(gen_sizes[0])));
	tcase_add_test(tx, test_database_order);
	suite_add_tcase(s, tx);
	return s;
}
