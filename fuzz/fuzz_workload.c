/*
 * Fuzz target: the workload file reader, then the replay.  Arbitrary text
 * must be read into a workload or rejected with a file:line error; a
 * workload that is read must replay under every policy on the virtual clock
 * or fail with a message, never crash or hit undefined behaviour (the
 * build adds UBSan).  The replay is bounded so that one input stays fast:
 * at most 64 events within 10 s, latencies up to 1 s.
 */
#include <stdint.h>
#include <stdio.h>

#include "replay/replay.h"
#include "replay/workload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True if w is small and short enough to replay within the fuzzer's time. */
static int
bounded(const struct wl_workload *w)
{
	size_t i;

	if (w->n > 64 || w->end_us > 10000000 || w->default_lat_us > 1000000 ||
	    w->obs.pass_period_us > 1000000)
		return 0;
	for (i = 0; i < w->nsamples; i++)
		if (w->samples[i] > 1000000)
			return 0;
	for (i = 0; i < w->n; i++)
		if (w->ev[i].t_us > 10000000 || w->ev[i].lat_us > 1000000)
			return 0;
	return 1;
}

/* Reads the input as a workload file and replays it. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const pols[] = {
		"legacy", "2010-10", "2011-08", "head", "pendq", "deadline"
	};
	struct wl_workload w;
	struct rp_options o;
	struct fs_err err;
	size_t i;
	FILE *f;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (f == NULL)
		return 0;
	if (wl_read(&w, f, "fuzz", &err) == 0) {
		if (bounded(&w)) {
			rp_options_default(&o);
			for (i = 0; i < sizeof(pols) / sizeof(pols[0]); i++) {
				struct rp_result r;

				if (rp_run(&w, pols[i], &o, &r, &err) == 0)
					rp_result_free(&r);
			}
		}
		wl_free(&w);
	}
	fclose(f);
	return 0;
}
