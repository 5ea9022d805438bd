/*
 * parsers/follow: appends, partial lines, start position, rotation,
 * truncation, long lines, stdin, and a writer thread racing the reader
 * through rotations and a truncation with exact line accounting.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parsers/follow.h"
#include "tests/testutil.h"

/* Appends s to path (created if missing). */
static void
append(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

/* Reads every line available now into out (joined with '|'); returns count. */
static int
drain(struct ps_follow *f, char *out, size_t n)
{
	struct ps_follow_line l;
	struct fs_err err;
	int c = 0, r;

	fs_err_clear(&err);
	if (out != NULL)
		out[0] = '\0';
	while ((r = ps_follow_next(f, &l, &err)) == 1) {
		if (out != NULL) {
			strncat(out, l.p, l.n < n - strlen(out) - 2 ? l.n : n - strlen(out) - 2);
			strcat(out, "|");
		}
		c++;
	}
	ck_assert_msg(r == 0, "follow error: %s", err.msg);
	return c;
}

/* A follower on dir/log with the given start mode. */
static struct ps_follow *
open_log(const char *dir, int from_start, char *path, size_t n)
{
	struct ps_follow_options o;
	struct ps_follow *f;
	struct fs_err err;

	snprintf(path, n, "%s/log", dir);
	ps_follow_options_default(&o);
	o.from_start = from_start;
	o.poll_ms = 10;
	fs_err_clear(&err);
	f = ps_follow_new(&o, &err);
	ck_assert_ptr_nonnull(f);
	ck_assert_msg(ps_follow_add(f, path, &err) == 0, "%s", err.msg);
	return f;
}

START_TEST(test_append_and_partial)
{
	char dir[64], path[128], got[1024];
	struct ps_follow *f;

	tu_mkdtemp(dir, sizeof(dir), "follow");
	snprintf(path, sizeof(path), "%s/log", dir);
	append(path, "a\nb\n");
	f = open_log(dir, 1, path, sizeof(path));
	ck_assert_int_eq(drain(f, got, sizeof(got)), 2);
	ck_assert_str_eq(got, "a|b|");
	append(path, "c\nhalf");
	ck_assert_int_eq(drain(f, got, sizeof(got)), 1);
	ck_assert_str_eq(got, "c|");
	/* The partial line is held, not handed out. */
	ck_assert_int_eq(drain(f, got, sizeof(got)), 0);
	append(path, " done\n");
	ck_assert_int_eq(drain(f, got, sizeof(got)), 1);
	ck_assert_str_eq(got, "half done|");
	ps_follow_free(f);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_start_at_end)
{
	char dir[64], path[128], got[1024];
	struct ps_follow *f;

	tu_mkdtemp(dir, sizeof(dir), "follow");
	snprintf(path, sizeof(path), "%s/log", dir);
	append(path, "old1\nold2\nold-partial");
	f = open_log(dir, 0, path, sizeof(path));
	ck_assert_int_eq(drain(f, got, sizeof(got)), 0);
	append(path, " rest\nnew1\n");
	/* The line we started inside is skipped; only new lines come. */
	ck_assert_int_eq(drain(f, got, sizeof(got)), 1);
	ck_assert_str_eq(got, "new1|");
	ps_follow_free(f);
	tu_rmtree(dir);
}
END_TEST

/*
 * Only the followed file wakes the follower: writes to another file in its
 * directory (top --db's database beside the log, other logs in /var/log)
 * do not; an append and a rotation do.
 */
START_TEST(test_wakes_only_for_its_file)
{
	char dir[64], path[128], other[160], old[160];
	struct ps_follow *f;
	uint64_t n;
	int i;

	tu_mkdtemp(dir, sizeof(dir), "follow");
	snprintf(path, sizeof(path), "%s/log", dir);
	snprintf(other, sizeof(other), "%s/flushscope.db-wal", dir);
	snprintf(old, sizeof(old), "%s/log.1", dir);
	append(path, "1\n");
	append(other, "its header\n");	/* there already: its creation is no news */
	f = open_log(dir, 1, path, sizeof(path));
	ck_assert_int_eq(drain(f, NULL, 0), 1);
	for (i = 0; i < 20; i++)
		append(other, "a database page\n");
	(void)ps_follow_wait(f, -1, 0);
	ck_assert_uint_eq(ps_follow_wakes(f), 0);
	append(path, "2\n");
	(void)ps_follow_wait(f, -1, 0);
	ck_assert_uint_eq(ps_follow_wakes(f), 1);
	ck_assert_int_eq(drain(f, NULL, 0), 1);
	ck_assert_int_eq(rename(path, old), 0);
	(void)ps_follow_wait(f, -1, 0);
	ck_assert_uint_eq(ps_follow_wakes(f), 2);
	append(path, "3\n");
	(void)ps_follow_wait(f, -1, 0);
	ck_assert_uint_eq(ps_follow_wakes(f), 3);
	ck_assert_int_eq(drain(f, NULL, 0), 1);
	/* the new file is watched, the rotated one no longer (its watch's removal is news once) */
	(void)ps_follow_wait(f, -1, 0);
	n = ps_follow_wakes(f);
	append(old, "late\n");
	append(other, "another page\n");
	(void)ps_follow_wait(f, -1, 0);
	ck_assert_uint_eq(ps_follow_wakes(f), n);
	append(path, "4\n");
	(void)ps_follow_wait(f, -1, 0);
	ck_assert_uint_eq(ps_follow_wakes(f), n + 1);
	ps_follow_free(f);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_rotation)
{
	char dir[64], path[128], old[160], got[1024];
	struct ps_follow *f;
	struct ps_follow_stats st;

	tu_mkdtemp(dir, sizeof(dir), "follow");
	snprintf(path, sizeof(path), "%s/log", dir);
	snprintf(old, sizeof(old), "%s/log.1", dir);
	append(path, "1\n2\n");
	f = open_log(dir, 1, path, sizeof(path));
	ck_assert_int_eq(drain(f, got, sizeof(got)), 2);
	/* Written before the rename, not yet read; then a final partial line. */
	append(path, "3\n4\nlast-no-newline");
	ck_assert_int_eq(rename(path, old), 0);
	append(path, "n1\nn2\n");
	ck_assert_int_eq(drain(f, got, sizeof(got)), 5);
	ck_assert_str_eq(got, "3|4|last-no-newline|n1|n2|");
	ps_follow_stats(f, 0, &st);
	ck_assert_uint_eq(st.rotations, 1);
	ck_assert_uint_eq(st.lines, 7);
	append(path, "n3\n");
	ck_assert_int_eq(drain(f, got, sizeof(got)), 1);
	ck_assert_str_eq(got, "n3|");
	ps_follow_free(f);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_truncation)
{
	char dir[64], path[128], got[1024];
	struct ps_follow *f;
	struct ps_follow_stats st;

	tu_mkdtemp(dir, sizeof(dir), "follow");
	snprintf(path, sizeof(path), "%s/log", dir);
	append(path, "aaaaaaaa\nbbbbbbbb\n");
	f = open_log(dir, 1, path, sizeof(path));
	ck_assert_int_eq(drain(f, got, sizeof(got)), 2);
	append(path, "held");
	ck_assert_int_eq(drain(f, got, sizeof(got)), 0);
	ck_assert_int_eq(truncate(path, 0), 0);
	append(path, "x\ny\n");
	ck_assert_int_eq(drain(f, got, sizeof(got)), 2);
	ck_assert_str_eq(got, "x|y|");
	ps_follow_stats(f, 0, &st);
	ck_assert_uint_eq(st.truncations, 1);
	ps_follow_free(f);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_long_line_cut)
{
	char dir[64], path[128];
	struct ps_follow_options o;
	struct ps_follow *f;
	struct ps_follow_line l;
	struct fs_err err;
	struct ps_follow_stats st;
	char *big;
	size_t n = 3 * 1024 * 1024;

	tu_mkdtemp(dir, sizeof(dir), "follow");
	snprintf(path, sizeof(path), "%s/log", dir);
	big = malloc(n + 16);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', n);
	strcpy(big + n, "\nafter\n");
	append(path, big);
	free(big);
	ps_follow_options_default(&o);
	o.from_start = 1;
	o.max_line = 4096;
	fs_err_clear(&err);
	f = ps_follow_new(&o, &err);
	ck_assert_int_eq(ps_follow_add(f, path, &err), 0);
	ck_assert_int_eq(ps_follow_next(f, &l, &err), 1);
	ck_assert_uint_eq(l.n, 4096);
	ck_assert_int_eq(ps_follow_next(f, &l, &err), 1);
	ck_assert_uint_eq(l.n, 5);
	ck_assert_int_eq(memcmp(l.p, "after", 5), 0);
	ck_assert_uint_eq(l.off, n + 1);
	ps_follow_stats(f, 0, &st);
	ck_assert_uint_eq(st.cut_lines, 1);
	ps_follow_free(f);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_stdin_pipe)
{
	struct ps_follow *f;
	struct fs_err err;
	char got[256];
	int p[2], saved;

	ck_assert_int_eq(pipe(p), 0);
	saved = dup(0);
	ck_assert_int_eq(dup2(p[0], 0), 0);
	close(p[0]);
	fs_err_clear(&err);
	f = ps_follow_new(NULL, &err);
	ck_assert_int_eq(ps_follow_add(f, "-", &err), 0);
	ck_assert_int_eq(write(p[1], "s1\ns2\npart", 10), 10);
	ck_assert_int_eq(drain(f, got, sizeof(got)), 2);
	ck_assert_str_eq(got, "s1|s2|");
	ck_assert_int_eq(ps_follow_ended(f), 0);
	close(p[1]);
	/* At the end of input the partial line is a line. */
	ck_assert_int_eq(drain(f, got, sizeof(got)), 1);
	ck_assert_str_eq(got, "part|");
	ck_assert_int_eq(ps_follow_ended(f), 1);
	ps_follow_free(f);
	dup2(saved, 0);
	close(saved);
}
END_TEST

START_TEST(test_missing_file)
{
	struct ps_follow *f;
	struct fs_err err;

	fs_err_clear(&err);
	f = ps_follow_new(NULL, &err);
	ck_assert_int_eq(ps_follow_add(f, "/nonexistent/fs.log", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/fs.log"));
	ck_assert_int_eq(ps_follow_add(f, "/tmp", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "directory"));
	ps_follow_free(f);
}
END_TEST

/* ---- a writer thread racing the reader ---- */

#define RACE_LINES	20000
#define RACE_ROTATE	5000	/* rotate after every this many lines */
#define RACE_TRUNC	12500	/* truncate (copytruncate style) at this line */

struct race {
	char path[128];
	char dir[64];
	atomic_int consumed;	/* lines the reader has seen */
	atomic_int truncs_seen;	/* truncations the reader has noticed */
	atomic_int rots_seen;	/* rotations the reader has noticed */
	atomic_int done;
};

/* Writes RACE_LINES numbered lines in odd-sized pieces, rotating and truncating. */
static void *
writer(void *arg)
{
	struct race *r = arg;
	char line[64], rot[160];
	int fd, i, nrot = 0;
	size_t k, len;

	fd = open(r->path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	for (i = 1; i <= RACE_LINES; i++) {
		len = (size_t)snprintf(line, sizeof(line), "line %06d payload\n", i);
		/* Split each line in two writes so the reader sees partial lines. */
		k = (size_t)(i % 7) + 1;
		if (write(fd, line, k) != (ssize_t)k ||
		    write(fd, line + k, len - k) != (ssize_t)(len - k))
			abort();
		if (i % RACE_ROTATE == 0 && i < RACE_LINES) {
			snprintf(rot, sizeof(rot), "%s/log.%d", r->dir, ++nrot);
			if (rename(r->path, rot) != 0)
				abort();
			close(fd);
			fd = open(r->path, O_WRONLY | O_APPEND | O_CREAT, 0644);
			/*
			 * Like tail -F, a follower that sleeps through two
			 * rotations never sees the middle file: rotate again
			 * only once this one was noticed (real logs rotate
			 * hours apart, a loaded test machine may be slow).
			 */
			while (atomic_load(&r->rots_seen) < nrot)
				usleep(200);
		}
		if (i == RACE_TRUNC) {
			/* copytruncate: wait until everything was read, then cut. */
			while (atomic_load(&r->consumed) < i)
				usleep(200);
			if (ftruncate(fd, 0) != 0)
				abort();
			while (atomic_load(&r->truncs_seen) < 1)
				usleep(200);
		}
		if (i % 997 == 0)
			usleep(100);
	}
	close(fd);
	atomic_store(&r->done, 1);
	return NULL;
}

START_TEST(test_writer_race)
{
	struct race r;
	struct ps_follow_options o;
	struct ps_follow *f;
	struct ps_follow_line l;
	struct ps_follow_stats st;
	struct fs_err err;
	pthread_t th;
	int expect = 1, n, rc, idle = 0;
	char tmp[32];

	memset(&r, 0, sizeof(r));
	tu_mkdtemp(r.dir, sizeof(r.dir), "follow");
	snprintf(r.path, sizeof(r.path), "%s/log", r.dir);
	append(r.path, "");
	ps_follow_options_default(&o);
	o.from_start = 1;
	o.poll_ms = 5;
	fs_err_clear(&err);
	f = ps_follow_new(&o, &err);
	ck_assert_int_eq(ps_follow_add(f, r.path, &err), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, writer, &r), 0);
	for (;;) {
		rc = ps_follow_next(f, &l, &err);
		ck_assert_msg(rc >= 0, "%s", err.msg);
		if (rc == 1) {
			ck_assert_uint_eq(l.n, 19);
			memcpy(tmp, l.p + 5, 6);
			tmp[6] = '\0';
			n = atoi(tmp);
			ck_assert_msg(n == expect, "line %d where %d was due", n, expect);
			expect++;
			atomic_store(&r.consumed, n);
			continue;
		}
		ps_follow_stats(f, 0, &st);
		atomic_store(&r.truncs_seen, (int)st.truncations);
		atomic_store(&r.rots_seen, (int)st.rotations);
		if (atomic_load(&r.done)) {
			/* One more look after the writer finished. */
			if (++idle > 3)
				break;
		}
		ps_follow_wait(f, -1, 5);
	}
	pthread_join(th, NULL);
	ck_assert_int_eq(expect - 1, RACE_LINES);
	ps_follow_stats(f, 0, &st);
	ck_assert_uint_eq(st.lines, RACE_LINES);
	ck_assert_uint_eq(st.rotations, RACE_LINES / RACE_ROTATE - 1);
	ck_assert_uint_eq(st.truncations, 1);
	ps_follow_free(f);
	tu_rmtree(r.dir);
}
END_TEST

Suite *follow_suite(void);

Suite *
follow_suite(void)
{
	Suite *s = suite_create("follow");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_append_and_partial);
	tcase_add_test(tc, test_start_at_end);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_wakes_only_for_its_file);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_long_line_cut);
	tcase_add_test(tc, test_stdin_pipe);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_writer_race);
	suite_add_tcase(s, tc);
	return s;
}
