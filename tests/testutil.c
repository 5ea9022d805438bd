#include "tests/testutil.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

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

/* The testdata directory. */
const char *
tu_testdata_dir(void)
{
	const char *d = getenv("FS_TESTDATA");

	return d != NULL ? d : "testdata";
}

/* Path of a testdata file. */
const char *
tu_testdata(const char *name)
{
	static char buf[8][1024];
	static unsigned next;
	char *b = buf[next++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", tu_testdata_dir(), name);
	return b;
}

/* Makes a private temporary directory. */
void
tu_mkdtemp(char *dir, size_t n, const char *tag)
{
	snprintf(dir, n, "/tmp/fs-check-%s-XXXXXX", tag);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Removes a directory tree. */
void
tu_rmtree(const char *dir)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "chattr -R -i '%s' 2>/dev/null; chmod -R u+w '%s' && "
	    "rm -rf '%s'", dir, dir, dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A path under dir. */
const char *
tu_path(const char *dir, int slot, const char *name)
{
	static char buf[8][1024];

	ck_assert_int_lt((unsigned)slot, 8);
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", dir, name);
	return buf[slot];
}

/* Walks the rows of a kind through a callback. */
int
tu_walk(struct st_store *st, int kind, const struct st_filter *f,
    int (*cb)(void *arg, const union st_row *row), void *arg)
{
	const union st_row *row;
	struct st_cursor *c;
	struct fs_err err;
	int rc, ret = 0;

	c = st_cursor_open(st, (enum st_kind)kind, f, &err);
	ck_assert_msg(c != NULL, "%s", err.msg);
	while ((rc = st_cursor_next(c, &row, &err)) == 1)
		if ((ret = cb(arg, row)) != 0)
			break;
	ck_assert_msg(rc >= 0, "%s", err.msg);
	st_cursor_close(c);
	return ret;
}

/* The canonical dump of a database. */
char *
tu_dump_db(const char *db)
{
	struct fs_err err;
	struct st_store *st = st_open(db, ST_OPEN_READONLY, &err);
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	ck_assert_msg(st != NULL, "%s", err.msg);
	f = open_memstream(&buf, &n);
	ck_assert_int_eq(st_dump(st, f, &err), 0);
	fclose(f);
	st_close(st);
	return buf;
}
