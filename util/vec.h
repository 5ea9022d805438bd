/*
 * util/vec: the one growable array.  FS_VEC(T) declares a {v, n, cap}
 * struct; fs_vec_reserve makes room for `need` elements, doubling.
 *
 *	FS_VEC(struct foo) list = { 0 };
 *	if (fs_vec_push(&list, x) != 0) ...	// out of memory
 */
#ifndef FS_UTIL_VEC_H
#define FS_UTIL_VEC_H

#include <stddef.h>

#define FS_VEC(T) struct { T *v; size_t n, cap; }

/* Grows *v (elements of size sz, capacity *cap) to hold need; -1 when out of memory. */
int fs_vec_reserve_(void **v, size_t *cap, size_t need, size_t sz);

/* Room for need elements in vec; 0 or -1. */
#define fs_vec_reserve(vec, need) \
	fs_vec_reserve_((void **)&(vec)->v, &(vec)->cap, (need), sizeof(*(vec)->v))

/* Appends x; 0 or -1 when out of memory (vec unchanged). */
#define fs_vec_push(vec, x) \
	(fs_vec_reserve((vec), (vec)->n + 1) != 0 ? -1 : ((vec)->v[(vec)->n++] = (x), 0))

/* Frees the elements and empties vec. */
#define fs_vec_free(vec) \
	do { free((vec)->v); (vec)->v = NULL; (vec)->n = (vec)->cap = 0; } while (0)

#endif
