#include <check.h>
#include <string.h>

#include "parsers/event.h"
#include "util/err.h"

START_TEST(test_err_set_prefix)
{
	struct fs_err e;

	fs_err_clear(&e);
	ck_assert_int_eq(e.code, 0);
	ck_assert_int_eq(fs_err_set(&e, 2, "%s:%d: bad", "x.log", 7), -1);
	ck_assert_int_eq(e.code, 2);
	ck_assert_str_eq(e.msg, "x.log:7: bad");
	fs_err_prefix(&e, "ingest");
	ck_assert_str_eq(e.msg, "ingest: x.log:7: bad");
}
END_TEST

/* An error names its input once: not again when it already begins with it. */
static const struct {
	const char *msg, *name, *want;
} name_cases[] = {
	{ "out of memory", "a.log", "a.log: out of memory" },
	{ "a.log:7: bad time", "a.log", "a.log:7: bad time" },
	{ "a.log: No such file or directory", "a.log", "a.log: No such file or directory" },
	{ "a.logx: gone", "a.log", "a.log: a.logx: gone" },
	{ "b.log:3: bad", "a.log", "a.log: b.log:3: bad" },
};

START_TEST(test_err_name)
{
	struct fs_err e;

	fs_err_set(&e, 12, "%s", name_cases[_i].msg);
	ck_assert_int_eq(fs_err_name(&e, name_cases[_i].name), -1);
	ck_assert_str_eq(e.msg, name_cases[_i].want);
	ck_assert_int_eq(e.code, 12);
}
END_TEST

START_TEST(test_kind_names)
{
	ck_assert_str_eq(ps_ev_kind_name(PS_EV_WRITE_READY), "WRITE_READY");
	ck_assert_str_eq(ps_ev_kind_name(PS_EV_REQUEUE), "REQUEUE");
	ck_assert_str_eq(ps_ev_kind_name(PS_EV_PASS), "PASS");
	ck_assert_str_eq(ps_ev_kind_name(PS_EV_NKINDS), "?");
}
END_TEST

Suite *util_suite(void);

Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_err_set_prefix);
	tcase_add_loop_test(tc, test_err_name, 0, (int)(sizeof(name_cases) / sizeof(name_cases[0])));
	tcase_add_test(tc, test_kind_names);
	suite_add_tcase(s, tc);
	return s;
}
