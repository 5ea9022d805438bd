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

/* Every message id has its own name; exactly the fsync/flush markers are forced. */
START_TEST(test_msg_names)
{
	int i, j, nforced = 0;

	for (i = 0; i < PS_MSG_COUNT; i++) {
		ck_assert_str_ne(ps_msg_name((enum ps_msg)i), "?");
		for (j = 0; j < i; j++)
			ck_assert_str_ne(ps_msg_name((enum ps_msg)i), ps_msg_name((enum ps_msg)j));
		nforced += ps_msg_forced((enum ps_msg)i);
	}
	ck_assert_str_eq(ps_msg_name(PS_MSG_COUNT), "?");
	ck_assert_str_eq(ps_msg_name(PS_MSG_M_RPC_DONE_RC), "M_RPC_DONE_RC");
	ck_assert_int_eq(nforced, 4);
	ck_assert(ps_msg_forced(PS_MSG_FORCE_EXPIRE));
	ck_assert(ps_msg_forced(PS_MSG_FORCE_EXPIRE_BMAP));
	ck_assert(ps_msg_forced(PS_MSG_FCMH_FLUSHING));
	ck_assert(ps_msg_forced(PS_MSG_FCMH_FSYNCING));
	ck_assert(!ps_msg_forced(PS_MSG_COUNT));
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
	tcase_add_test(tc, test_msg_names);
	suite_add_tcase(s, tc);
	return s;
}
