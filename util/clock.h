/*
 * Clocks and time arithmetic: the monotonic clock for elapsed times and
 * progress (never for log timestamps), and the one rule that puts a log
 * timestamp into its second.
 */
#ifndef FS_UTIL_CLOCK_H
#define FS_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds on CLOCK_MONOTONIC. */
static inline int64_t
fs_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Seconds on CLOCK_MONOTONIC. */
static inline double
fs_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The second a time in microseconds since the Epoch falls in (floor).
 * Per-second counts (series, time-lines, rate windows, the seconds a time
 * filter selects) all bucket with this.
 */
static inline int64_t
fs_sec_of(int64_t us)
{
	return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
}

#endif
