/*
 * Fuzz target: the workload file reader.  Arbitrary text must be read into
 * a workload or rejected with a file:line error.
 */
#include <stdint.h>
#include <stdio.h>

#include "replay/workload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the input as a workload file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wl_workload w;
	struct fs_err err;
	FILE *f;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (f == NULL)
		return 0;
	wl_init(&w);
	(void)wl_read(&w, f, "fuzz", &err);
	wl_free(&w);
	fclose(f);
	return 0;
}
