/*
 * The documentation is executable: every command README.md and the man
 * pages' EXAMPLES show is run and must print what they show (convention:
 * tests/docrun.h).  `make check-docs` runs this suite alone.  The man
 * pages are also checked with mandoc -T lint -W warning.
 */
#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/docrun.h"
#include "tests/testutil.h"

Suite *docs_suite(void);

/* The source tree ($FS_SRCDIR, else the current directory). */
static const char *
srcdir(void)
{
	const char *s = getenv("FS_SRCDIR");

	return s != NULL ? s : ".";
}

/* Runs one document and fails with the mismatches. */
static void
check_doc(const char *path, int man, int want_some)
{
	char *rep = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&rep, &n);
	int bad, nrun;

	ck_assert_ptr_nonnull(f);
	bad = tu_doc_check(path, man, srcdir(), tu_fsbin(), f, &nrun);
	fclose(f);
	if (bad != 0)
		fprintf(stderr, "%s", rep);	/* Check cuts long messages */
	ck_assert_msg(bad == 0, "%s: %d example(s) print something else than the document "
	    "shows (the differences are on stderr)", path, bad);
	if (want_some)
		ck_assert_msg(nrun > 0, "%s: no example was run", path);
	free(rep);
}

START_TEST(readme)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/README.md", srcdir());
	check_doc(path, 0, 1);
}
END_TEST

static const char *const pages[] = {
	"flushscope.1", "flushscope-ingest.1", "flushscope-spins.1", "flushscope-top.1",
	"flushscope-synth.1", "flushscope-extract.1", "flushscope-replay.1",
	"flushscope-verify.1", "flushscope-tune.1", "flushscope-workload.5",
};

START_TEST(man_examples)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/man/%s", srcdir(), pages[_i]);
	check_doc(path, 1, 1);
}
END_TEST

/* Every man page is lint-clean for mandoc. */
START_TEST(man_lint)
{
	char cmd[1024], out[4096] = "";
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "mandoc -T lint -W warning '%s/man/%s' 2>&1", srcdir(),
	    pages[_i]);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	ck_assert_msg(n == 0, "mandoc -T lint -W warning %s:\n%s", pages[_i], out);
}
END_TEST

/*
 * check-docs has teeth: a number changed in an output line of README.md
 * (one the masks leave alone) makes it fail, while the same excerpt
 * unchanged passes.
 */
START_TEST(readme_number_edited)
{
	char path[512], dir[128], good[256], bad[256], *text, *p, *line, *end;
	size_t n;
	int nrun, r;
	FILE *f;

	snprintf(path, sizeof(path), "%s/README.md", srcdir());
	text = tu_slurp(path, &n);
	/* the first output line of an example: after "    $ ..." lines, a "    " line with a digit */
	line = NULL;
	for (p = strstr(text, "\n    $ "); p != NULL && line == NULL; p = strstr(p + 1, "\n    $ ")) {
		char *q = strchr(p + 1, '\n');

		while (q != NULL && strncmp(q, "\n    ", 5) == 0 && strncmp(q, "\n    $ ", 7) != 0) {
			char *e = strchr(q + 1, '\n'), *d;

			for (d = q + 5; d < e; d++)
				if (*d >= '1' && *d <= '9' && (d[-1] == ' ' || d[-1] == '(')) {
					line = d;
					break;
				}
			if (line != NULL)
				break;
			q = e;
		}
	}
	ck_assert_msg(line != NULL, "README.md shows no output with a number");
	/* cut the document after that block */
	end = strstr(line, "\n\n");
	while (end != NULL && strncmp(end + 2, "    ", 4) == 0)
		end = strstr(end + 2, "\n\n");
	if (end != NULL)
		end[1] = '\0';
	tu_mkdtemp(dir, sizeof(dir), "docedit");
	snprintf(good, sizeof(good), "%s/good.md", dir);
	snprintf(bad, sizeof(bad), "%s/bad.md", dir);
	tu_spit(good, "w", text, strlen(text));
	*line = *line == '9' ? '1' : (char)(*line + 1);
	tu_spit(bad, "w", text, strlen(text));
	ck_assert_ptr_nonnull(f = fopen("/dev/null", "w"));
	r = tu_doc_check(good, 0, srcdir(), tu_fsbin(), f, &nrun);
	ck_assert_msg(r == 0, "the unchanged excerpt fails (%d)", r);
	ck_assert_int_gt(nrun, 0);
	r = tu_doc_check(bad, 0, srcdir(), tu_fsbin(), f, &nrun);
	ck_assert_msg(r > 0, "an edited number went unnoticed");
	fclose(f);
	tu_rmtree(dir);
	free(text);
}
END_TEST

Suite *
docs_suite(void)
{
	Suite *s = suite_create("docs");
	TCase *tc = tcase_create("docs");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, readme);
	tcase_add_loop_test(tc, man_examples, 0, (int)(sizeof(pages) / sizeof(pages[0])));
	tcase_add_loop_test(tc, man_lint, 0, (int)(sizeof(pages) / sizeof(pages[0])));
	tcase_add_test(tc, readme_number_edited);
	suite_add_tcase(s, tc);
	return s;
}
