/*
 * util/map: the one hash table of flushscope.  An open-addressing map from
 * a two-word key (fid and bmap number, an address and 0, a thread hash and
 * its tid, ...) to a 32-bit value, with linear probing and backward-shift
 * deletion, so that tables of live records stay as small as the records
 * they index.  Keys are compared whole; values are the caller's (usually an
 * index into the caller's own array of records).
 */
#ifndef FS_UTIL_MAP_H
#define FS_UTIL_MAP_H

#include <stddef.h>
#include <stdint.h>

struct fs_map_slot {
	uint64_t a, b;
	uint32_t v;
	uint32_t used;
};

struct fs_map {
	struct fs_map_slot *s;
	size_t cap;		/* power of two, or 0 */
	size_t n;		/* used slots */
};

/* The 64-bit mixer every table uses (splitmix64's finaliser over both words). */
static inline uint64_t
fs_mix2(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL);

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* An empty map (no memory until the first put). */
void fs_map_init(struct fs_map *m);

/* Frees the map's memory; it is empty and usable again. */
void fs_map_free(struct fs_map *m);

/* Removes every key, keeping the memory. */
void fs_map_clear(struct fs_map *m);

/* Looks key (a, b) up: 1 and *v set if present, 0 if not. */
int fs_map_get(const struct fs_map *m, uint64_t a, uint64_t b, uint32_t *v);

/* Sets key (a, b) to v (inserting or replacing); -1 when out of memory. */
int fs_map_put(struct fs_map *m, uint64_t a, uint64_t b, uint32_t v);

/* Removes key (a, b); 1 if it was there. */
int fs_map_del(struct fs_map *m, uint64_t a, uint64_t b);

#endif
