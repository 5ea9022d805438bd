#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/event.h"
#include "util/bytes.h"
#include "util/err.h"
#include "util/json.h"

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

/* fs_json_str of n bytes, as a malloc'd NUL-terminated string. */
static char *
json_of(const char *s, size_t n)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	fs_json_str(f, s, n);
	fclose(f);
	return out;
}

/* Strings: valid UTF-8 kept, invalid bytes as \udcXX (surrogateescape). */
static const struct {
	const char *in;
	size_t n;
	const char *out;
} json_cases[] = {
	{ "abc", 3, "\"abc\"" },
	{ "a\"b\\c\n\t", 7, "\"a\\\"b\\\\c\\n\\t\"" },
	{ "\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"" },
	{ "", 0, "\"\"" },
	{ "\0x", 2, "\"\\u0000x\"" },
	/* valid UTF-8: 2, 3 and 4 bytes */
	{ "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"" },
	{ "\xe2\x82\xac", 3, "\"\xe2\x82\xac\"" },
	{ "\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"" },
	/* a Latin-1 file name byte: not \u00ff, which names another file */
	{ "/var/log/\xff.log", 14, "\"/var/log/\\udcff.log\"" },
	/* invalid: lone continuation, truncated, overlong, surrogate, > U+10FFFF */
	{ "\x80", 1, "\"\\udc80\"" },
	{ "\xc3", 1, "\"\\udcc3\"" },
	{ "\xc3(", 2, "\"\\udcc3(\"" },
	{ "\xc0\xaf", 2, "\"\\udcc0\\udcaf\"" },
	{ "\xe0\x80\xaf", 3, "\"\\udce0\\udc80\\udcaf\"" },
	{ "\xed\xa0\x80", 3, "\"\\udced\\udca0\\udc80\"" },
	{ "\xf4\x90\x80\x80", 4, "\"\\udcf4\\udc90\\udc80\\udc80\"" },
	{ "\xe2\x82", 2, "\"\\udce2\\udc82\"" },
};

START_TEST(test_json_str)
{
	char *got = json_of(json_cases[_i].in, json_cases[_i].n);

	ck_assert_str_eq(got, json_cases[_i].out);
	free(got);
}
END_TEST

/*
 * Decodes fs_json_str's output back to bytes as a consumer would (JSON
 * escapes, then surrogateescape); returns the length.
 */
static size_t
json_unescape(const char *j, unsigned char *out)
{
	size_t i = 1, o = 0, len = strlen(j);

	ck_assert(len >= 2 && j[0] == '"' && j[len - 1] == '"');
	while (i < len - 1) {
		unsigned v;

		if (j[i] != '\\') {
			out[o++] = (unsigned char)j[i++];
			continue;
		}
		switch (j[i + 1]) {
		case 'n': out[o++] = '\n'; i += 2; break;
		case 't': out[o++] = '\t'; i += 2; break;
		case '"': case '\\': out[o++] = (unsigned char)j[i + 1]; i += 2; break;
		case 'u':
			ck_assert_int_eq(sscanf(j + i + 2, "%4x", &v), 1);
			ck_assert_msg(v < 0x80 || (v >= 0xdc80 && v <= 0xdcff), "\\u%04x", v);
			out[o++] = (unsigned char)(v & 0xff);
			i += 6;
			break;
		default:
			ck_abort_msg("bad escape %c", j[i + 1]);
		}
	}
	return o;
}

/* Any bytes round-trip exactly (random strings, fixed seed). */
START_TEST(test_json_roundtrip)
{
	unsigned char in[64], back[64];
	unsigned seed = 12345;
	int t;

	for (t = 0; t < 20000; t++) {
		size_t n = (size_t)(t % 64), k;
		char *j;

		for (k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			/* biased to high bytes, so valid sequences occur too */
			in[k] = (unsigned char)(seed >> 16);
			if (t % 3 == 0 && k % 3 == 0)
				in[k] = (unsigned char)(0xc2 + (seed >> 24) % 0x32);
			else if (t % 3 == 0)
				in[k] = (unsigned char)(0x80 | ((seed >> 24) & 0x3f));
		}
		j = json_of((const char *)in, n);
		ck_assert_uint_eq(json_unescape(j, back), n);
		ck_assert(memcmp(in, back, n) == 0);
		free(j);
	}
}
END_TEST

/*
 * fs_bytes_eq says what memcmp says for every length 0 to 80 (each of its
 * ways: bytes, words, 16-byte blocks, memcmp), the strings equal and
 * differing in any one byte, each in a buffer of its exact length (ASan).
 */
START_TEST(test_bytes_eq)
{
	size_t n, i;

	for (n = 0; n <= 80; n++) {
		char *a = malloc(n ? n : 1), *b = malloc(n ? n : 1);

		ck_assert(a != NULL && b != NULL);
		for (i = 0; i < n; i++)
			a[i] = b[i] = (char)('a' + i % 26);
		ck_assert_msg(fs_bytes_eq(a, b, n), "length %zu: equal", n);
		for (i = 0; i < n; i++) {
			b[i] ^= 0x20;
			ck_assert_msg(!fs_bytes_eq(a, b, n), "length %zu: byte %zu differs", n, i);
			b[i] ^= 0x20;
		}
		free(a);
		free(b);
	}
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
	tcase_add_test(tc, test_msg_names);
	tcase_add_loop_test(tc, test_json_str, 0,
	    (int)(sizeof(json_cases) / sizeof(json_cases[0])));
	tcase_add_test(tc, test_json_roundtrip);
	tcase_add_test(tc, test_bytes_eq);
	suite_add_tcase(s, tc);
	return s;
}
