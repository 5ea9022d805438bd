/*
 * util/map: open addressing, linear probing, backward-shift deletion (no
 * tombstones: a deleted key leaves the table as if it had never been put,
 * so long-running tables of short-lived keys do not degrade).  The load
 * factor stays at or below one half.
 */
#include "util/map.h"

#include <stdlib.h>
#include <string.h>

/* An empty map. */
void
fs_map_init(struct fs_map *m)
{
	memset(m, 0, sizeof(*m));
}

/* Frees the slots. */
void
fs_map_free(struct fs_map *m)
{
	free(m->s);
	fs_map_init(m);
}

/* Empties the map. */
void
fs_map_clear(struct fs_map *m)
{
	if (m->s != NULL)
		memset(m->s, 0, m->cap * sizeof(*m->s));
	m->n = 0;
}

/* The slot holding (a, b), or the empty slot where it would go. */
static size_t
find(const struct fs_map *m, uint64_t a, uint64_t b)
{
	size_t mask = m->cap - 1, i = (size_t)fs_mix2(a, b) & mask;

	while (m->s[i].used && (m->s[i].a != a || m->s[i].b != b))
		i = (i + 1) & mask;
	return i;
}

/* Looks a key up. */
int
fs_map_get(const struct fs_map *m, uint64_t a, uint64_t b, uint32_t *v)
{
	size_t i;

	if (m->cap == 0)
		return 0;
	i = find(m, a, b);
	if (!m->s[i].used)
		return 0;
	*v = m->s[i].v;
	return 1;
}

/* Rehashes into cap slots; -1 when out of memory. */
static int
resize(struct fs_map *m, size_t cap)
{
	struct fs_map nm;
	size_t i;

	nm.cap = cap;
	nm.n = m->n;
	if ((nm.s = calloc(cap, sizeof(*nm.s))) == NULL)
		return -1;
	for (i = 0; i < m->cap; i++)
		if (m->s[i].used)
			nm.s[find(&nm, m->s[i].a, m->s[i].b)] = m->s[i];
	free(m->s);
	*m = nm;
	return 0;
}

/* Inserts or replaces a key. */
int
fs_map_put(struct fs_map *m, uint64_t a, uint64_t b, uint32_t v)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap && resize(m, m->cap ? m->cap * 2 : 64) != 0)
		return -1;
	i = find(m, a, b);
	if (!m->s[i].used) {
		m->s[i].used = 1;
		m->s[i].a = a;
		m->s[i].b = b;
		m->n++;
	}
	m->s[i].v = v;
	return 0;
}

/* Removes a key, shifting the probe chain after it back. */
int
fs_map_del(struct fs_map *m, uint64_t a, uint64_t b)
{
	size_t mask, i, j, k;

	if (m->cap == 0)
		return 0;
	mask = m->cap - 1;
	i = find(m, a, b);
	if (!m->s[i].used)
		return 0;
	m->s[i].used = 0;
	m->n--;
	for (j = (i + 1) & mask; m->s[j].used; j = (j + 1) & mask) {
		k = (size_t)fs_mix2(m->s[j].a, m->s[j].b) & mask;
		/* move j back to the hole i unless its home k lies in (i, j] */
		if ((i <= j) ? (k <= i || k > j) : (k <= i && k > j)) {
			m->s[i] = m->s[j];
			m->s[j].used = 0;
			i = j;
		}
	}
	return 1;
}
