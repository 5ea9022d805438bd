/*
 * spin_bench: events per second of the spin detector, measured side by
 * side with the parser on the same lines (bench/spin.sh builds and runs it).
 *
 *   spin_bench FILE [ROUNDS]
 *
 * The file is read into memory and parsed once into an array of events
 * (slices point into the in-memory file); then the parse and the detector
 * are each timed ROUNDS times and the best round of each is reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect/spin.h"
#include "parsers/parser.h"

/* Monotonic time in seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t nep, nwasted;

/* Counts episodes. */
static void
on_ep(void *arg, const struct sp_episode *ep)
{
	(void)arg;
	(void)ep;
	nep++;
}

/* Counts wasted examinations. */
static void
on_exam(void *arg, const struct sp_exam *x)
{
	(void)arg;
	if (x->verdict == SP_WASTED)
		nwasted++;
}

int
main(int argc, char **argv)
{
	FILE *f;
	char *buf, *p, *e;
	long sz;
	size_t n = 0, cap = 1 << 16, i;
	struct ps_event *ev;
	struct fs_err err;
	struct ps_parser *ps;
	int rounds = argc > 2 ? atoi(argv[2]) : 3, r;
	double best_parse = 1e9, best_det = 1e9, t;
	struct sp_callbacks cb = { .episode = on_ep, .exam = on_exam };

	if (argc < 2 || (f = fopen(argv[1], "rb")) == NULL) {
		fprintf(stderr, "usage: spin_bench FILE [ROUNDS]\n");
		return 2;
	}
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	rewind(f);
	buf = malloc((size_t)sz + 1);
	if (buf == NULL || fread(buf, 1, (size_t)sz, f) != (size_t)sz)
		return 3;
	fclose(f);
	ev = malloc(cap * sizeof(*ev));
	for (r = 0; r < rounds; r++) {
		ps = ps_parser_new(NULL, &err);
		n = 0;
		t = now();
		for (p = buf; p < buf + sz; p = e + 1) {
			if ((e = memchr(p, '\n', (size_t)(buf + sz - p))) == NULL)
				e = buf + sz;
			if (n == cap) {
				cap *= 2;
				ev = realloc(ev, cap * sizeof(*ev));
			}
			ps_parser_parse(ps, p, (size_t)(e - p), (uint64_t)(p - buf), n + 1, &ev[n]);
			n++;
		}
		t = now() - t;
		if (t < best_parse)
			best_parse = t;
		ps_parser_free(ps);
	}
	for (r = 0; r < rounds; r++) {
		struct sp_detector *d = sp_detector_new(NULL, &cb, &err);

		nep = nwasted = 0;
		t = now();
		for (i = 0; i < n; i++)
			sp_detector_feed(d, &ev[i]);
		sp_detector_finish(d);
		t = now() - t;
		if (t < best_det)
			best_det = t;
		sp_detector_free(d);
	}
	printf("lines            %zu\n", n);
	printf("episodes         %llu, wasted examinations %llu\n", (unsigned long long)nep,
	    (unsigned long long)nwasted);
	printf("parser           %.3f s  %.2f M lines/s\n", best_parse, n / best_parse / 1e6);
	printf("detector         %.3f s  %.2f M events/s\n", best_det, n / best_det / 1e6);
	printf("detector/parser  %.3f (detector time as a share of parse time)\n",
	    best_det / best_parse);
	free(ev);
	free(buf);
	return 0;
}
