/*
 * FNV-1a (64-bit): the hash of in-memory tables and of a log file's first
 * bytes (stored as sources.head_sum, so it must never change).
 */
#ifndef FS_UTIL_HASH_H
#define FS_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FS_FNV1A_INIT	0xcbf29ce484222325ULL

/* Continues hash h over the n bytes at p. */
static inline uint64_t
fs_fnv1a_add(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* FNV-1a of the n bytes at p. */
static inline uint64_t
fs_fnv1a(const void *p, size_t n)
{
	return fs_fnv1a_add(FS_FNV1A_INIT, p, n);
}

#endif
