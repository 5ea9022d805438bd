#include "tests/testutil.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The flushscope binary under test. */
const char *
tu_fsbin(void)
{
	const char *b = getenv("FS_BIN");

	return b ? b : "./flushscope";
}

/* Reads a whole file into a malloc'd NUL-terminated string. */
char *
tu_slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	if (n != NULL)
		*n = (size_t)len;
	return buf;
}

/* Writes n bytes to a file (mode "w" or "a"). */
void
tu_spit(const char *path, const char *mode, const char *data, size_t n)
{
	FILE *f = fopen(path, mode);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(data, 1, n, f), n);
	fclose(f);
}
