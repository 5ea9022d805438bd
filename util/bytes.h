/*
 * util/bytes: equality of short byte strings without a call, for the
 * per-line comparisons of names, numbers and the era-A header tails
 * (memcmp's call was most of their cost at 5-64 bytes; the bmap@ memo's
 * keys stay on memcmp, which measured cheaper there).
 */
#ifndef FS_UTIL_BYTES_H
#define FS_UTIL_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/*
 * 1 if a[0..n) and b[0..n) are the same bytes, for 16 <= n <= 64: 16-byte
 * blocks where SSE2 is there, the last one overlapping, each load within
 * a's and b's own n bytes (callers that know n is in range call it
 * directly: the era-A header tails).
 */
static inline int
fs_bytes_eq_blocks(const char *a, const char *b, size_t n)
{
#ifdef __SSE2__
	size_t i;
	__m128i d = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(a + n - 16)),
	    _mm_loadu_si128((const __m128i *)(const void *)(b + n - 16)));

	for (i = 0; i + 16 < n; i += 16)
		d = _mm_or_si128(d, _mm_xor_si128(
		    _mm_loadu_si128((const __m128i *)(const void *)(a + i)),
		    _mm_loadu_si128((const __m128i *)(const void *)(b + i))));
	return _mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) == 0xffff;
#else
	return memcmp(a, b, n) == 0;
#endif
}

/*
 * 1 if a[0..n) and b[0..n) are the same bytes, each load within a's and
 * b's own n bytes: up to 16 in at most four word loads (the two ends,
 * overlapping), up to 64 by fs_bytes_eq_blocks, memcmp beyond.
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
	if (n > 16 && n <= 64)
		return fs_bytes_eq_blocks(a, b, n);
	if (n > 16)
		return memcmp(a, b, n) == 0;
	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

#endif
