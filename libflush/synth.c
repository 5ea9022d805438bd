/*
 * Parametric workloads for the engine (flushscope synth) and the transport
 * specification parser.
 */
#include "libflush/flush.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64 step (the synth's own generator, independent of the transport's). */
static uint64_t
synth_rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Fills the synth defaults. */
void
fl_synth_defaults(struct fl_synth *s)
{
	memset(s, 0, sizeof(*s));
	s->seed = 1;
	s->duration_ns = 1000000000ull;
	s->files = 1;
	s->bmaps = 2;
	s->write_size = 32768;
	s->rate = 1000;
	s->burst = 1;
	s->burst_gap_ns = 10000;
	s->close_at_end = 1;
	s->fid_base = 0x80000002d907bull;
	s->bno_base = 1;
	s->bno_step = 2;
}

/* Adds the workload's writes (and closing forces) to the engine. */
long
fl_synth_add(struct fl_engine *e, const struct fl_synth *s, struct fs_err *err)
{
	uint64_t rng = s->seed ^ 0x5deece66dull, t = 0, *cur;
	unsigned ntargets, i;
	long n = 0;
	double gap;

	if (s->files == 0 || s->bmaps == 0 || s->write_size == 0 || s->write_size > FL_BMAP_SIZE ||
	    !(s->rate > 0) || s->burst == 0)
		return fs_err_set(err, EINVAL, "synth: files, bmaps, write size (<= 128 MiB), "
		    "rate and burst must be positive");
	if ((uint64_t)s->files * s->bmaps > 1000000)
		return fs_err_set(err, EINVAL, "synth: at most 1000000 bmaps");
	ntargets = s->files * s->bmaps;
	if ((cur = calloc(ntargets, sizeof(*cur))) == NULL)
		return fs_err_set(err, ENOMEM, "synth: out of memory");
	gap = 1e9 * (double)s->burst / s->rate;
	while (t < s->duration_ns) {
		uint64_t tw = t;

		for (i = 0; i < s->burst && tw < s->duration_ns; i++, tw += s->burst_gap_ns) {
			unsigned tg = (unsigned)(synth_rng(&rng) % ntargets);
			uint64_t fid = s->fid_base + tg / s->bmaps;
			uint32_t bno = s->bno_base + (tg % s->bmaps) * s->bno_step;

			if (cur[tg] + s->write_size > FL_BMAP_SIZE)
				cur[tg] = 0;
			if (fl_engine_write(e, tw, fid, bno, (uint32_t)cur[tg], s->write_size,
			    FL_READY_AT_ARRIVAL, err) < 0) {
				free(cur);
				return -1;
			}
			cur[tg] += s->write_size;
			n++;
		}
		if (s->poisson) {
			double u = ((double)(synth_rng(&rng) >> 11) + 0.5) / 9007199254740992.0;

			t += (uint64_t)(-log(u) * gap) + 1;
		} else
			t += (uint64_t)gap > 0 ? (uint64_t)gap : 1;
	}
	free(cur);
	if (s->close_at_end)
		for (i = 0; i < s->files; i++)
			if (fl_engine_force(e, s->duration_ns, s->fid_base + i, FL_BMAP_ALL, err) < 0)
				return -1;
	return n;
}

/* Parses a duration in ms, or with a unit suffix (ns, us, ms, s); -1 if bad. */
static int
parse_dur(const char *s, uint64_t *ns)
{
	char *end;
	double v = strtod(s, &end);
	double mul = 1e6;

	if (end == s || !(v >= 0) || v > 1e12)
		return -1;
	if (*end == '\0' || strcmp(end, "ms") == 0)
		mul = 1e6;
	else if (strcmp(end, "us") == 0)
		mul = 1e3;
	else if (strcmp(end, "ns") == 0)
		mul = 1;
	else if (strcmp(end, "s") == 0)
		mul = 1e9;
	else
		return -1;
	if (!(v * mul < 4e18))
		return -1;		/* beyond what the engine's clock holds */
	*ns = (uint64_t)llround(v * mul);
	return 0;
}

/* Parses "20", "20ms", "500us", "uniform:10:40", "exp:5:20" into t (kind and values). */
int
fl_transport_parse(struct fl_transport *t, const char *spec, struct fs_err *err)
{
	char buf[128], *a, *b;

	if (strlen(spec) >= sizeof(buf))
		return fs_err_set(err, EINVAL, "bad RPC latency '%s'", spec);
	strcpy(buf, spec);
	if (strncmp(buf, "uniform:", 8) == 0 || strncmp(buf, "exp:", 4) == 0) {
		int uni = buf[0] == 'u';

		a = buf + (uni ? 8 : 4);
		if ((b = strchr(a, ':')) == NULL)
			return fs_err_set(err, EINVAL, "bad RPC latency '%s' (want %s:A:B)", spec,
			    uni ? "uniform" : "exp");
		*b++ = '\0';
		if (parse_dur(a, &t->a_ns) < 0 || parse_dur(b, &t->b_ns) < 0 ||
		    (uni && t->b_ns < t->a_ns))
			return fs_err_set(err, EINVAL, "bad RPC latency '%s'", spec);
		t->kind = uni ? FL_LAT_UNIFORM : FL_LAT_EXP;
		return 0;
	}
	if (parse_dur(buf, &t->fixed_ns) < 0)
		return fs_err_set(err, EINVAL, "bad RPC latency '%s' (want MS, uniform:A:B or "
		    "exp:MIN:MEAN)", spec);
	t->kind = FL_LAT_FIXED;
	return 0;
}
