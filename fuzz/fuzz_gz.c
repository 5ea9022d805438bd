/*
 * Fuzz target: the reader's input path (.gz and plain), fed through a
 * memfd so the real open/decompress code runs.  Mutated gzip streams must
 * end in lines or a clean error, never a crash or a hang.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "parsers/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every line of the input as a file. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_reader *r;
	struct fs_err err;
	const char *line;
	size_t len;
	uint64_t off;
	char path[64];
	int fd, rc;

	fd = memfd_create("fuzz", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = ps_reader_open(path, 0, &err);
	if (r != NULL) {
		while ((rc = ps_reader_next(r, &line, &len, &off, &err)) == 1)
			if (len > 0 && (line[0] == '\n' || line[len - 1] == '\n'))
				abort();	/* terminators never belong to a line */
		ps_reader_close(r);
	}
	close(fd);
	return 0;
}
