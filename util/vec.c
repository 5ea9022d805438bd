/*
 * util/vec: growth for FS_VEC arrays.
 */
#include "util/vec.h"

#include <stdint.h>
#include <stdlib.h>

/* Grows an array to hold need elements (doubling, at least 16). */
int
fs_vec_reserve_(void **v, size_t *cap, size_t need, size_t sz)
{
	size_t nc;
	void *p;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap : 16;
	while (nc < need) {
		if (nc > SIZE_MAX / 2)
			return -1;
		nc *= 2;
	}
	if (sz != 0 && nc > SIZE_MAX / sz)
		return -1;
	if ((p = realloc(*v, nc * sz)) == NULL)
		return -1;
	*v = p;
	*cap = nc;
	return 0;
}
