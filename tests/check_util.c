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
	tcase_add_test(tc, test_kind_names);
	suite_add_tcase(s, tc);
	return s;
}
