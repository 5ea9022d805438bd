/*
 * util/bytes: equality of short byte strings without a call, for the
 * per-line comparisons of names and numbers (memcmp's call was most of
 * their cost at 5-16 bytes).
 */
#ifndef FS_UTIL_BYTES_H
#define FS_UTIL_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * 1 if a[0..n) and b[0..n) are the same bytes: up to 16 of them in at most
 * four loads, each within a's and b's own n bytes (the two ends,
 * overlapping); memcmp beyond.
 */
static inline int
fs_bytes_eq(const char *a, const char *b, size_t n)
{
	uint64_t a0, a1, b0, b1;
	uint32_t c0, c1, d0, d1;
	size_t i;

	if (n >= 8 && n <= 16) {
		memcpy(&a0, a, 8);
		memcpy(&b0, b, 8);
		memcpy(&a1, a + n - 8, 8);
		memcpy(&b1, b + n - 8, 8);
		return ((a0 ^ b0) | (a1 ^ b1)) == 0;
	}
	if (n >= 4 && n < 8) {
		memcpy(&c0, a, 4);
		memcpy(&d0, b, 4);
		memcpy(&c1, a + n - 4, 4);
		memcpy(&d1, b + n - 4, 4);
		return ((c0 ^ d0) | (c1 ^ d1)) == 0;
	}
	if (n > 16)
		return memcmp(a, b, n) == 0;
	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

#endif
