/*
 * The layer check (tests/layers.sh) itself: it passes on this tree and
 * fails on a tree where a lower layer includes a higher one or two folders
 * of one layer include each other.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/testutil.h"

/* Runs tests/layers.sh on root (NULL: this tree); returns its exit status. */
static int
run_layers(const char *root)
{
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof(cmd), "sh %s/../tests/layers.sh %s >/dev/null 2>&1",
	    tu_testdata_dir(), root != NULL ? root : "");
	st = system(cmd);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Writes dir/sub/name with one include line. */
static void
put(const char *dir, const char *sub, const char *name, const char *include)
{
	char path[512], text[256];

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	snprintf(text, sizeof(text), "#include \"%s\"\n", include);
	tu_spit(path, "w", text, strlen(text));
}

static const struct {
	const char *sub, *name, *include;
	int status;
} layer_cases[] = {
	{ "detect", "ok.c", "parsers/event.h", 0 },		/* down: fine */
	{ "replay", "ok.c", "libflush/flush.h", 0 },
	{ "store", "bad.c", "detect/spin.h", 1 },		/* a peer */
	{ "parsers", "bad.c", "store/store.h", 1 },		/* up */
	{ "util", "bad.h", "cmd/cmd.h", 1 },
	{ "report", "bad.c", "ingest/ingest.h", 1 },
	{ "libflush", "bad.c", "parsers/parser.h", 1 },
	{ "ingest", "bad.c", "analysis/spin.h", 1 },		/* a folder outside the layers */
};

START_TEST(test_layers_tree)
{
	ck_assert_int_eq(run_layers(NULL), 0);
}
END_TEST

START_TEST(test_layers_cases)
{
	char dir[128];

	tu_mkdtemp(dir, sizeof(dir), "layers");
	put(dir, layer_cases[_i].sub, layer_cases[_i].name, layer_cases[_i].include);
	ck_assert_msg(run_layers(dir) == layer_cases[_i].status, "%s/%s including %s",
	    layer_cases[_i].sub, layer_cases[_i].name, layer_cases[_i].include);
	tu_rmtree(dir);
}
END_TEST

Suite *layers_suite(void);

Suite *
layers_suite(void)
{
	Suite *s = suite_create("layers");
	TCase *tc = tcase_create("includes");

	tcase_add_test(tc, test_layers_tree);
	tcase_add_loop_test(tc, test_layers_cases, 0,
	    (int)(sizeof(layer_cases) / sizeof(layer_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}
