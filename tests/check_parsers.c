/*
 * parsers: reader, header grammar, prefixes, classifier.
 *
 * The line tables live in testdata/lines/NAME.lines: a "> LINE" is followed by
 * "= key=value ..." (msg= last, taking the rest of the line) or "= ok=0";
 * "#" lines are comments; "! format=FMT" forces a format for the lines
 * after it.  Each file is parsed in order by one parser (format detection
 * and era hints carry over), and each line is one loop test.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "parsers/header.h"
#include "parsers/internal.h"
#include "parsers/parser.h"
#include "tests/testutil.h"

Suite *parsers_suite(void);

/* ---- table of sample lines ---- */

struct tline {
	char *file;		/* testdata/lines/x.lines */
	int index;		/* index of this line within its file */
	char *line;
	char *expect;
	char *format;		/* forced format, or NULL */
};

static struct tline *tl;
static int ntl;

/* Strips a trailing newline. */
static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Loads one .lines file into tl. */
static void
load_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL, *fmt = NULL;
	size_t cap = 0;
	int idx = 0;

	if (f == NULL)
		return;
	while (getline(&buf, &cap, f) > 0) {
		chomp(buf);
		if (strncmp(buf, "! format=", 9) == 0) {
			fmt = strdup(buf + 9);
		} else if (strncmp(buf, "> ", 2) == 0) {
			tl = realloc(tl, sizeof(*tl) * (size_t)(ntl + 1));
			tl[ntl] = (struct tline){ strdup(path), idx++, strdup(buf + 2),
			    NULL, fmt };
			ntl++;
		} else if (strncmp(buf, "= ", 2) == 0 && ntl > 0 &&
		    tl[ntl - 1].expect == NULL) {
			tl[ntl - 1].expect = strdup(buf + 2);
		}
	}
	free(buf);
	fclose(f);
}

/* Sorts names. */
static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every testdata/lines/ *.lines file, in name order. */
static void
load_lines(void)
{
	char dir[4096], path[8192];
	char *names[256];
	int n = 0, i;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/lines", tu_testdata_dir());
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < 256) {
		size_t l = strlen(de->d_name);

		if (l > 6 && strcmp(de->d_name + l - 6, ".lines") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmpstr);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		load_file(path);
		free(names[i]);
	}
}

/* Compares a slice with a string. */
static int
str_eq(struct ps_str s, const char *v)
{
	return s.n == strlen(v) && (s.n == 0 || memcmp(s.p, v, s.n) == 0);
}

/* Checks one "key=value" against ev; returns NULL or a description. */
static const char *
check_key(const struct ps_event *ev, int ok, const char *k, const char *v,
    char *why, size_t wn)
{
	long long iv = strtoll(v, NULL, 0);
	unsigned long long uv = strtoull(v, NULL, 0);
	int bad = 0;

#define U(field) ((unsigned long long)(field) != uv)
#define I(field) ((long long)(field) != iv)
#define S(field) (!str_eq(field, v))
	if (strcmp(k, "ok") == 0) bad = I(ok);
	else if (strcmp(k, "ts_us") == 0) bad = I(ev->ts_us);
	else if (strcmp(k, "thread") == 0) bad = S(ev->thread);
	else if (strcmp(k, "tid") == 0) bad = U(ev->tid);
	else if (strcmp(k, "tid_s") == 0) bad = S(ev->tid_s);
	else if (strcmp(k, "subsys") == 0) bad = S(ev->subsys);
	else if (strcmp(k, "file") == 0) bad = S(ev->file);
	else if (strcmp(k, "func") == 0) bad = S(ev->func);
	else if (strcmp(k, "line") == 0) bad = I(ev->srcline);
	else if (strcmp(k, "level") == 0) bad = I(ev->level);
	else if (strcmp(k, "syslog") == 0) bad = I(!!(ev->has & PS_HAS_SYSLOG));
	else if (strcmp(k, "fcmh") == 0) bad = I(!!(ev->has & PS_HAS_FCMH));
	else if (strcmp(k, "bmap.addr") == 0) bad = !(ev->has & PS_HAS_BMAP) || U(ev->bmap.addr);
	else if (strcmp(k, "bmap.bno") == 0) bad = U(ev->bmap.bno);
	else if (strcmp(k, "bmap.fid") == 0) bad = U(ev->bmap.fid);
	else if (strcmp(k, "bmap.flags") == 0) bad = U(ev->bmap.flags);
	else if (strcmp(k, "bmap.opcnt") == 0) bad = I(ev->bmap.opcnt);
	else if (strcmp(k, "bmap.dirty") == 0) bad = I(ev->bmap.dirty);
	else if (strcmp(k, "biorq.addr") == 0) bad = !(ev->has & PS_HAS_BIORQ) || U(ev->biorq.addr);
	else if (strcmp(k, "biorq.bmap") == 0) bad = U(ev->biorq.bmap_addr);
	else if (strcmp(k, "biorq.off") == 0) bad = U(ev->biorq.off);
	else if (strcmp(k, "biorq.len") == 0) bad = U(ev->biorq.len);
	else if (strcmp(k, "biorq.flags") == 0) bad = U(ev->biorq.flags);
	else if (strcmp(k, "bmpce.addr") == 0) bad = !(ev->has & PS_HAS_BMPCE) || U(ev->bmpce.addr);
	else if (strcmp(k, "bmpce.off") == 0) bad = U(ev->bmpce.off);
	else if (strcmp(k, "bmpce.flags") == 0) bad = U(ev->bmpce.flags);
	else if (strcmp(k, "req.addr") == 0) bad = !(ev->has & PS_HAS_REQ) || U(ev->req.addr);
	else if (strcmp(k, "req.xid") == 0) bad = I(ev->req.xid);
	else if (strcmp(k, "req.opc") == 0) bad = I(ev->req.opc);
	else if (strcmp(k, "kind") == 0) bad = strcmp(ps_ev_kind_name(ev->kind), v) != 0;
	else if (strcmp(k, "msg_id") == 0) bad = strcmp(ps_msg_name(ev->msg_id), v) != 0;
	else if (strcmp(k, "forced") == 0) bad = I(ps_msg_forced(ev->msg_id));
	else if (strcmp(k, "outstanding") == 0) bad = I(ev->outstanding);
	else if (strcmp(k, "rpc_off") == 0) bad = I(ev->rpc_off);
	else if (strcmp(k, "rpc_sz") == 0) bad = I(ev->rpc_sz);
	else if (strcmp(k, "rpc_rc") == 0) bad = I(ev->rpc_rc);
	else if (strcmp(k, "rpc_fid") == 0) bad = U(ev->rpc_fid);
	else if (strcmp(k, "rpc_bno") == 0) bad = I(ev->rpc_bno);
	else if (strcmp(k, "wake_reason") == 0) bad = I(ev->wake_reason);
	else if (strcmp(k, "woke") == 0) bad = I(ev->woke);
	else if (strcmp(k, "alarm_us") == 0) bad = I(ev->alarm_us);
	else if (strcmp(k, "biorq_expired") == 0) bad = I(ev->biorq_expired);
	else if (strcmp(k, "run_size") == 0) bad = I(ev->run_size);
	else if (strcmp(k, "run_nbiorqs") == 0) bad = I(ev->run_nbiorqs);
	else if (strcmp(k, "bwc_addr") == 0) bad = U(ev->bwc_addr);
	else if (strcmp(k, "host") == 0) bad = S(ev->host);
	else if (strcmp(k, "msg") == 0) bad = S(ev->msg);
	else {
		snprintf(why, wn, "unknown key %s", k);
		return why;
	}
#undef U
#undef I
#undef S
	if (!bad)
		return NULL;
	snprintf(why, wn, "%s: expected %s", k, v);
	return why;
}

/* Keys that must keep their "absent" value when the table omits them. */
static void
check_absent(const struct ps_event *ev, const char *expect)
{
	if (strstr(expect, "outstanding=") == NULL)
		ck_assert_int_eq(ev->outstanding, -1);
	if (strstr(expect, "rpc_off=") == NULL)
		ck_assert_int_eq(ev->rpc_off, -1);
	if (strstr(expect, "bmap.addr=") == NULL)
		ck_assert(!(ev->has & PS_HAS_BMAP));
	if (strstr(expect, "req.addr=") == NULL)
		ck_assert(!(ev->has & PS_HAS_REQ));
	if (strstr(expect, "kind=") == NULL)
		ck_assert_int_eq(ev->kind, PS_EV_OTHER);
	if (strstr(expect, "rpc_rc=") == NULL)
		ck_assert_int_eq(ev->rpc_rc, -1);
	if (strstr(expect, "wake_reason=") == NULL)
		ck_assert_int_eq(ev->wake_reason, -1);
	if (strstr(expect, "woke=") == NULL)
		ck_assert_int_eq(ev->woke, -1);
	if (strstr(expect, "alarm_us=") == NULL)
		ck_assert(ev->alarm_us == INT64_MIN);
	if (strstr(expect, "biorq_expired=") == NULL)
		ck_assert_int_eq(ev->biorq_expired, -1);
	if (strstr(expect, "run_size=") == NULL)
		ck_assert_int_eq(ev->run_size, -1);
	if (strstr(expect, "run_nbiorqs=") == NULL)
		ck_assert_int_eq(ev->run_nbiorqs, -1);
	if (strstr(expect, "host=") == NULL)
		ck_assert_uint_eq(ev->host.n, 0);
	if (strstr(expect, "forced=") == NULL)
		ck_assert_int_eq(ps_msg_forced(ev->msg_id), 0);
}


/* A reset event knows nothing, whatever the memory held before. */
START_TEST(test_event_reset)
{
	struct ps_event ev;

	memset(&ev, 0xab, sizeof(ev));
	ps_event_reset(&ev);
	ck_assert_int_eq(ev.kind, 0);
	ck_assert_uint_eq(ev.has, 0);
	ck_assert(ev.ts_us == INT64_MIN && ev.alarm_us == INT64_MIN);
	ck_assert(ev.thread.p == NULL && ev.thread.n == 0 && ev.msg.p == NULL);
	ck_assert(ev.host.p == NULL && ev.host.n == 0);
	ck_assert_int_eq(ev.srcline, -1);
	ck_assert_int_eq(ev.level, -1);
	ck_assert(ev.req.xid == -1 && ev.req.opc == -1 && ev.req.addr == 0);
	ck_assert(ev.bmap.opcnt == -1 && ev.bmap.dirty == -1 && ev.bmap.fid == 0);
	ck_assert(ev.outstanding == -1 && ev.rpc_off == -1 && ev.rpc_sz == -1);
	ck_assert(ev.rpc_rc == -1 && ev.rpc_bno == -1 && ev.rpc_fid == 0);
	ck_assert(ev.wake_reason == -1 && ev.woke == -1 && ev.thr == -1);
	ck_assert(ev.biorq_expired == -1 && ev.run_size == -1 && ev.run_nbiorqs == -1);
	ck_assert(ev.bwc_addr == 0 && ev.forced == 0 && ev.bm_known == 0);
	ck_assert(ev.src_off == 0 && ev.lineno == 0 && ev.tid == 0);
}
END_TEST

/* One table line: parse its file up to it, then compare every key. */
START_TEST(test_line_table)
{
	struct tline *t;
	struct ps_parser *p;
	struct ps_event ev;
	struct fs_err err;
	char *exp, *kvs, *msg, *tok, *save = NULL, why[512];
	int i, ok = 0, first;

	ck_assert_msg(ntl > 0, "no testdata/lines/*.lines found");
	t = &tl[_i];
	ck_assert_msg(t->expect != NULL, "%s: line %d has no expectation",
	    t->file, t->index);
	p = ps_parser_new(t->format, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	first = _i - t->index;
	for (i = first; i <= _i; i++)
		ok = ps_parser_parse(p, tl[i].line, strlen(tl[i].line),
		    100, (uint64_t)(i - first + 1), &ev);
	ck_assert_int_eq(ev.src_off, 100);
	ck_assert_int_eq(ev.lineno, t->index + 1);
	exp = strdup(t->expect);
	msg = strstr(exp, " msg=");
	if (strncmp(exp, "msg=", 4) == 0)
		msg = exp - 1;
	if (msg != NULL) {
		*msg = '\0';
		msg += 5;
	}
	kvs = exp;
	for (tok = strtok_r(kvs, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		const char *bad;

		ck_assert_msg(eq != NULL, "bad expectation token %s", tok);
		*eq = '\0';
		bad = check_key(&ev, ok, tok, eq + 1, why, sizeof(why));
		ck_assert_msg(bad == NULL, "%s line %d [%s]: %s", t->file,
		    t->index, t->line, bad);
	}
	if (msg != NULL) {
		const char *bad = check_key(&ev, ok, "msg", msg, why, sizeof(why));

		ck_assert_msg(bad == NULL, "%s line %d: %s (got \"%.*s\")", t->file,
		    t->index, bad, (int)ev.msg.n, ev.msg.p);
	}
	if (ok)
		check_absent(&ev, t->expect);
	else {
		ck_assert_int_eq(ev.kind, PS_EV_OTHER);
		ck_assert(ev.msg.p == tl[_i].line);
	}
	free(exp);
	ps_parser_free(p);
}
END_TEST

/* ---- seeds ---- */

/* Checks every "[..." line of one seed file against its own text. */
static int
check_seed_file(const char *path)
{
	FILE *f = fopen(path, "r");
	struct ps_parser *p;
	struct fs_err err;
	struct ps_event ev;
	char *buf = NULL;
	size_t cap = 0;
	int n = 0;

	if (f == NULL)
		return -1;
	p = ps_parser_new(NULL, &err);
	ck_assert_ptr_nonnull(p);
	while (getline(&buf, &cap, f) > 0) {
		long long sec, usec;
		unsigned long long addr, fid;
		unsigned bno, m, tid;
		int opcnt, line;
		char func[64];

		chomp(buf);
		if (buf[0] != '[')
			continue;
		n++;
		ck_assert_int_eq(sscanf(buf, "[%lld:%lld msbflushthr:%u:bmap:%63[^:]:%d] "
		    "bmap@%llx b:%x m:%u i:%llx opcnt=%d", &sec, &usec, &tid, func,
		    &line, &addr, &bno, &m, &fid, &opcnt), 10);
		ck_assert_int_eq(ps_parser_parse(p, buf, strlen(buf), 0, 1, &ev), 1);
		ck_assert_int_eq(ev.ts_us, sec * 1000000 + usec);
		ck_assert(str_eq(ev.thread, "msbflushthr"));
		ck_assert_int_eq(ev.tid, tid);
		ck_assert(str_eq(ev.subsys, "bmap"));
		ck_assert(str_eq(ev.func, func));
		ck_assert_int_eq(ev.srcline, line);
		ck_assert(ev.has & PS_HAS_BMAP);
		ck_assert_uint_eq(ev.bmap.addr, addr);
		ck_assert_uint_eq(ev.bmap.bno, bno);
		ck_assert_uint_eq(ev.bmap.flags, m);
		ck_assert_uint_eq(ev.bmap.fid, fid);
		ck_assert_int_eq(ev.bmap.opcnt, opcnt);
		if (strstr(buf, "try flush (outstandingRpcCnt=75)") != NULL) {
			ck_assert_int_eq(ev.kind, PS_EV_EXAMINE);
			ck_assert_int_eq(ev.msg_id, PS_MSG_A_TRY_FLUSH_BMAP);
			ck_assert_int_eq(ev.outstanding, 75);
		} else {
			ck_assert_msg(strstr(buf, "restore to dirty list") != NULL, "%s", buf);
			ck_assert_int_eq(ev.kind, PS_EV_REQUEUE);
			ck_assert_int_eq(ev.outstanding, -1);
		}
	}
	free(buf);
	fclose(f);
	ps_parser_free(p);
	return n;
}

/* Every line of shared/seeds/ and of testdata/seed-excerpt.log. */
START_TEST(test_seeds)
{
	const char *shared = getenv("FS_SHARED");
	char path[4096];
	int n;

	snprintf(path, sizeof(path), "%s/seed-excerpt.log", tu_testdata_dir());
	ck_assert_int_eq(check_seed_file(path), 13);
	if (shared == NULL)
		return;
	snprintf(path, sizeof(path), "%s/seeds/bmap-flush-sleep-too-short.md", shared);
	n = check_seed_file(path);
	ck_assert(n == -1 || n == 13);
	snprintf(path, sizeof(path), "%s/seeds/spinning-on-bmapflushq.md", shared);
	n = check_seed_file(path);
	ck_assert(n == -1 || n == 0);
}
END_TEST

/* ---- header grammar ---- */

/* Expands a PSC_LOG_FORMAT with fixed sample values (the FMTSTR rules). */
static void
expand(const char *fmt, int hex_tid, char *out, size_t on)
{
	size_t o = 0;
	const char *p;

	for (p = fmt; *p != '\0' && o + 64 < on; p++) {
		char spec[16];
		size_t sn = 0;

		if (*p != '%') {
			out[o++] = *p;
			continue;
		}
		spec[sn++] = '%';
		for (p++; *p != '\0' && !((*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z')) && sn < 10; p++)
			spec[sn++] = *p;
		spec[sn] = '\0';
		switch (*p) {
		case 's': strcat(spec, "ld"); o += (size_t)snprintf(out + o, on - o, spec, 1282327206L); break;
		case 'u': strcat(spec, "lu"); o += (size_t)snprintf(out + o, on - o, spec, 161331UL); break;
		case 'n': strcat(spec, "s"); o += (size_t)snprintf(out + o, on - o, spec, "msbflushthr"); break;
		case 'i': strcat(spec, "d"); o += (size_t)snprintf(out + o, on - o, spec, 23667); break;
		case 'I':
			if (hex_tid) {
				strcat(spec, "lx");
				o += (size_t)snprintf(out + o, on - o, spec, 0x7f1c1affd700UL);
			} else {
				strcat(spec, "lu");
				o += (size_t)snprintf(out + o, on - o, spec, 23667UL);
			}
			break;
		case 'T': strcat(spec, "s"); o += (size_t)snprintf(out + o, on - o, spec, "bmap"); break;
		case 'B': strcat(spec, "s"); o += (size_t)snprintf(out + o, on - o, spec, "bmap_flush.c"); break;
		case 'F': strcat(spec, "s"); o += (size_t)snprintf(out + o, on - o, spec, "bmap_flush"); break;
		case 'l': strcat(spec, "d"); o += (size_t)snprintf(out + o, on - o, spec, 639); break;
		default: out[o++] = '%'; out[o++] = *p; break;
		}
	}
	out[o] = '\0';
}

/* Every built-in format: detected as itself, with the same fields. */
START_TEST(test_builtin_formats)
{
	const char *fmt = ps_header_builtin(_i);
	const char *body = "bmap@0x881330 b:1 m:8259 i:80000002d907b opcnt=65 "
	    "try flush (outstandingRpcCnt=75)";
	char line[1024];
	struct ps_parser *p, *pf;
	struct fs_err err;
	struct ps_event ev;
	int hex_tid = strstr(fmt, "%I") != NULL;

	ck_assert_ptr_nonnull(fmt);
	expand(fmt, hex_tid, line, sizeof(line) - 200);
	strcat(line, body);
	p = ps_parser_new(NULL, &err);
	pf = ps_parser_new(fmt, &err);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(pf);
	ck_assert_int_eq(ps_parser_parse(pf, line, strlen(line), 0, 1, &ev), 1);
	ck_assert_int_eq(ps_parser_parse(p, line, strlen(line), 0, 1, &ev), 1);
	ck_assert_int_eq(ps_parser_nformats(p), 1);
	ck_assert_msg(strcmp(ps_parser_format(p, 0), fmt) == 0,
	    "line %s detected as %s, not %s", line, ps_parser_format(p, 0), fmt);
	ck_assert_ptr_null(ps_parser_format(p, 1));
	ck_assert_int_eq(ev.ts_us, 1282327206161331LL);
	ck_assert(str_eq(ev.thread, "msbflushthr"));
	ck_assert(str_eq(ev.func, "bmap_flush"));
	ck_assert_int_eq(ev.srcline, 639);
	if (strstr(fmt, "%i") != NULL || (strstr(fmt, "%I") != NULL && !hex_tid))
		ck_assert_uint_eq(ev.tid, 23667);
	else if (hex_tid) {
		ck_assert_uint_eq(ev.tid, 0x7f1c1affd700ULL);
		ck_assert(str_eq(ev.tid_s, "7f1c1affd700"));
	} else
		ck_assert_int_eq(ev.tid_s.n, 0);
	if (strstr(fmt, "%T") != NULL)
		ck_assert(str_eq(ev.subsys, "bmap"));
	if (strstr(fmt, "%B") != NULL)
		ck_assert(str_eq(ev.file, "bmap_flush.c"));
	ck_assert(str_eq(ev.msg, body + 50));
	ck_assert_int_eq(ev.kind, PS_EV_EXAMINE);
	ck_assert_uint_eq(ev.bmap.addr, 0x881330);
	ps_parser_free(p);
	ps_parser_free(pf);
}
END_TEST

/* Header fields of two events equal? */
static int
same_header(const struct ps_event *a, const struct ps_event *b)
{
#define SS(f) (a->f.n == b->f.n && (a->f.n == 0 || a->f.p == b->f.p))
	return a->ts_us == b->ts_us && SS(thread) && SS(tid_s) && a->tid == b->tid &&
	    SS(subsys) && SS(file) && SS(func) && a->srcline == b->srcline &&
	    a->level == b->level && a->has == b->has;
#undef SS
}

/* Compares the fast matcher with PCRE2 on one line; returns 1 if matched. */
static int
fast_vs_pcre(struct ps_header *h, const char *line, size_t len)
{
	struct ps_event a, b;
	size_t ha, hb;

	ps_event_reset(&a);
	ps_event_reset(&b);
	ps_header_set_fast(h, 1);
	ha = ps_header_match(h, line, len, &a);
	ps_header_set_fast(h, 0);
	hb = ps_header_match(h, line, len, &b);
	ck_assert_msg(ha == hb, "format %s on [%.*s]: fast %zu, pcre %zu",
	    ps_header_format(h), (int)len, line, ha, hb);
	ck_assert_msg(same_header(&a, &b), "format %s on [%.*s]: fields differ",
	    ps_header_format(h), (int)len, line);
	return ha > 0;
}

/*
 * The hand-written matcher of built-in format _i gives exactly PCRE2's
 * result on every table line, on its prefixes and with single bytes
 * replaced (separators, digits, hex, NUL, 0xff).
 */
START_TEST(test_fast_equals_pcre)
{
	static const char repl[] = { ' ', ':', '0', 'a', ']', '\t', '\0', '\xff', '.' };
	struct fs_err err;
	struct ps_header *h = ps_header_compile(ps_header_builtin(_i), &err);
	/*
	 * The PCRE2 JIT reads aligned blocks around the subject; keep them
	 * initialised so valgrind stays quiet (a known false positive).
	 */
	static char area[4096 + 128];
	char *buf = area + 64;
	const size_t bufsz = 4096;
	int t, matched = 0;

	ck_assert_ptr_nonnull(h);
	ck_assert_msg(ps_header_set_fast(h, 1) == 1, "no fast matcher for %s",
	    ps_header_format(h));
	for (t = 0; t < ntl; t++) {
		size_t len = strlen(tl[t].line), k, r;

		if (len >= bufsz)
			continue;
		matched += fast_vs_pcre(h, tl[t].line, len);
		for (k = 0; k <= len && k < 160; k++) {
			memcpy(buf, tl[t].line, len);
			fast_vs_pcre(h, buf, k);
			for (r = 0; r < sizeof(repl) && k < len; r++) {
				buf[k] = repl[r];
				fast_vs_pcre(h, buf, len);
			}
		}
	}
	/* The built-in formats that the tables use do match some lines. */
	if (_i <= 2 || _i == 6)
		ck_assert_int_gt(matched, 0);
	ps_header_free(h);
}
END_TEST

/*
 * Long fields (the fast matcher scans them sixteen bytes at a time): every
 * byte value at every position of a 40-byte field of each class (digits,
 * hex, [^\s:]) and at the first positions after it, and each field cut at
 * every length; the fast matcher agrees with PCRE2 on all of them.
 */
START_TEST(test_fast_long_fields)
{
	static const struct {
		const char *fmt, *pre, *post;
		char fill;
	} c[] = {
		{ "[%s:%06u %n:%i:%T:%F:%l] ", "[1282327206:002074 ", ":23650:bmap:f:1185] m", 'w' },
		{ "[%s:%06u %n:%i:%T:%F:%l] ", "[", ":002074 t:1:s:f:1] m", '7' },
		{ "[%I:%n ", "[", ":thr m", 'c' },
		{ "[%I:%n ", "[0x", ":thr m", 'E' },
	};
	static char area[4096 + 128];	/* initialised around the subject, for the JIT */
	char *buf = area + 64;
	size_t k;

	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct fs_err err;
		struct ps_header *h = ps_header_compile(c[k].fmt, &err);
		size_t pl = strlen(c[k].pre), ql = strlen(c[k].post), len = pl + 40 + ql, at;
		int b;

		ck_assert_ptr_nonnull(h);
		ck_assert_int_eq(ps_header_set_fast(h, 1), 1);
		for (at = 0; at < 40 + 3; at++)
			for (b = 0; b < 256; b++) {
				memcpy(buf, c[k].pre, pl);
				memset(buf + pl, c[k].fill, 40);
				memcpy(buf + pl + 40, c[k].post, ql);
				buf[pl + at] = (char)b;
				fast_vs_pcre(h, buf, len);
			}
		memcpy(buf, c[k].pre, pl);
		memset(buf + pl, c[k].fill, 40);
		memcpy(buf + pl + 40, c[k].post, ql);
		ck_assert_msg(fast_vs_pcre(h, buf, len), "%s: the unchanged line matches",
		    c[k].fmt);
		for (at = 0; at <= len; at++)
			fast_vs_pcre(h, buf, at);
		ps_header_free(h);
	}
}
END_TEST

/* A decimal run's value as ps_dec gives it: saturated at INT64_MAX. */
static int64_t
dec_ref(const char *s, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		v = v > (uint64_t)(INT64_MAX - d) / 10 ? (uint64_t)INT64_MAX : v * 10 + d;
	}
	return (int64_t)v;
}

/*
 * The header's numbers (read eight digits at a time) at every length from
 * 1 to 20 digits, every digit at every place, each line in a buffer of its
 * exact size (so that ASan sees any read past it): seconds, tid and source
 * line equal the plain decimal reading, with and without the fast matcher.
 */
/*
 * A header keeps its last second decoded: a second that differs from the
 * last in any one digit, of any length from 1 to 12, is decoded afresh,
 * and the same second again is read as it was.  Both matchers.
 */
START_TEST(test_header_second_cache)
{
	struct fs_err err;
	struct ps_header *h = ps_header_compile("[%s:%06u %n:%i:%T:%F:%l] ", &err);
	int fast, nd, i, again;

	ck_assert_ptr_nonnull(h);
	for (fast = 0; fast < 2; fast++)
		for (nd = 1; nd <= 12; nd++)
			for (i = 0; i < nd; i++)
				for (again = 0; again < 3; again++) {
					char sec[24], line[128];
					struct ps_event ev;
					int len, k;
					int64_t v = 0;

					for (k = 0; k < nd; k++)	/* "123..." with digit i bumped on the middle pass */
						sec[k] = (char)('1' + (k + (again == 1 && k == i)) % 9);
					sec[nd] = '\0';
					for (k = 0; k < nd; k++)
						v = v * 10 + (sec[k] - '0');
					len = snprintf(line, sizeof(line), "[%s:002074 msbflushthr:23667:bmap:"
					    "bmap_flush:639] restore to dirty list", sec);
					ps_header_set_fast(h, fast);
					ps_event_reset(&ev);
					ck_assert_uint_gt(ps_header_match(h, line, (size_t)len, &ev), 0);
					ck_assert_msg(ev.ts_us == v * 1000000 + 2074, "sec %s: %" PRId64, sec,
					    ev.ts_us);
				}
	ps_header_free(h);
}
END_TEST

START_TEST(test_header_numbers)
{
	static const char digs[] = "9876543210";
	struct fs_err err;
	struct ps_header *h = ps_header_compile("[%s:%06u %n:%i:%T:%F:%l]", &err);
	int fast, nd, rot;

	ck_assert_ptr_nonnull(h);
	for (fast = 0; fast < 2; fast++)
		for (nd = 1; nd <= 20; nd++)
			for (rot = 0; rot < 10; rot++) {
				char num[24], line[160], *buf;
				struct ps_event ev;
				int len, k;
				int64_t v;

				for (k = 0; k < nd; k++)
					num[k] = digs[(k + rot) % 10];
				num[nd] = '\0';
				v = dec_ref(num, (size_t)nd);
				len = snprintf(line, sizeof(line), "[%s:002074 t:%s:s:f:%s]",
				    nd <= 12 ? num : "1", num, nd <= 9 ? num : "1");
				ck_assert_ptr_nonnull(buf = malloc((size_t)len));
				memcpy(buf, line, (size_t)len);
				ps_header_set_fast(h, fast);
				ps_event_reset(&ev);
				ck_assert_uint_eq(ps_header_match(h, buf, (size_t)len, &ev), (size_t)len);
				ck_assert_msg(ev.tid == (uint64_t)v, "tid %s: %" PRIu64, num, ev.tid);
				if (nd <= 12)
					ck_assert_msg(ev.ts_us == v * 1000000 + 2074, "sec %s: %" PRId64,
					    num, ev.ts_us);
				if (nd <= 9)
					ck_assert_msg(ev.srcline == (int)v, "line %s: %d", num,
					    ev.srcline);
				free(buf);
			}
	ps_header_free(h);
}
END_TEST

/* A hex run's value as x = x * 16 + d gives it: modulo 2^64. */
static uint64_t
hex_ref(const char *s, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v * 16 + (uint64_t)(s[i] <= '9' ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10);
	return v;
}

/*
 * The body's hex values at every length from 1 to 40 digits, every digit
 * and letter of either case at every place, each message in a buffer of its
 * exact size, with text after the values and without: address, block, fid
 * and a biorq's bmap equal the digit-by-digit reading modulo 2^64, and the
 * message starts where it should.
 */
START_TEST(test_body_hex)
{
	static const char digs[] = "0123456789abcdefABCDEF";
	int nd, rot, tail;

	for (tail = 0; tail < 2; tail++)
		for (nd = 1; nd <= 40; nd++)
			for (rot = 0; rot < (int)sizeof(digs) - 1; rot++) {
				const char *msg = tail ? "" : " restore to dirty list";
				char num[48], text[256], *buf;
				struct ps_event ev;
				uint64_t v;
				int len, k;

				for (k = 0; k < nd; k++)
					num[k] = digs[(k + rot) % (sizeof(digs) - 1)];
				num[nd] = '\0';
				v = hex_ref(num, (size_t)nd);
				len = snprintf(text, sizeof(text), "bmap@0x%s b:%s m:8259 i:%s "
				    "opcnt=17%s", num, num, num, msg);
				ck_assert_ptr_nonnull(buf = malloc((size_t)len));
				memcpy(buf, text, (size_t)len);
				ps_event_reset(&ev);
				ps_body_decode(NULL, buf, (size_t)len, &ev);
				ck_assert_msg(ev.has & PS_HAS_BMAP, "%s", text);
				ck_assert_msg(ev.bmap.addr == v && ev.bmap.fid == v &&
				    ev.bmap.bno == (uint32_t)v, "%s: %" PRIx64 " %" PRIx64 " %x",
				    text, ev.bmap.addr, ev.bmap.fid, ev.bmap.bno);
				ck_assert_msg(ev.msg.p == buf + len - strlen(msg) + (tail ? 0 : 1),
				    "%s", text);
				free(buf);

				len = snprintf(text, sizeof(text), "biorq@0x%s fl=514 o=0 l=1 np=4 "
				    "b=0x%s ts=1:2 wR%s", num, num, msg);
				ck_assert_ptr_nonnull(buf = malloc((size_t)len));
				memcpy(buf, text, (size_t)len);
				ps_event_reset(&ev);
				ps_body_decode(NULL, buf, (size_t)len, &ev);
				ck_assert_msg(ev.has & PS_HAS_BIORQ, "%s", text);
				ck_assert_msg(ev.biorq.addr == v && ev.biorq.bmap_addr == v,
				    "%s: %" PRIx64 " %" PRIx64, text, ev.biorq.addr,
				    ev.biorq.bmap_addr);
				free(buf);
			}
}
END_TEST

/*
 * The bmap@ memo the comparisons share (each test that uses it clears it):
 * the prefixes it keeps meet their own cuts and mutations.
 */
static struct ps_body_memo body_memo;

/*
 * Decodes body[0..n) (copied into a buffer of exactly n bytes, for ASan)
 * with ps_body_decode, without and with body_memo, and with the token loops
 * alone; fails unless the three events are the same bytes.  Returns 1 if
 * the decoders found a bmap@ or biorq@ prefix.
 */
static int
body_both(const char *body, size_t n, const char *what)
{
	struct ps_event a, b, c;
	char *buf;

	ck_assert_ptr_nonnull(buf = malloc(n ? n : 1));
	memcpy(buf, body, n);
	ps_event_reset(&a);
	ps_event_reset(&b);
	ps_event_reset(&c);
	ps_body_decode(NULL, buf, n, &a);
	ps_body_decode_ref(buf, n, &b);
	ps_body_decode(&body_memo, buf, n, &c);
	ck_assert_msg(memcmp(&a, &b, sizeof(a)) == 0,
	    "%s: fast and token-loop decoders differ on [%.*s]: has %x/%x, msg at %td/%td",
	    what, (int)n, buf, a.has, b.has, a.msg.p - buf, b.msg.p - buf);
	ck_assert_msg(memcmp(&c, &b, sizeof(c)) == 0,
	    "%s: the memo changed the decoding of [%.*s]: has %x/%x, msg at %td/%td",
	    what, (int)n, buf, c.has, b.has, c.msg.p - buf, b.msg.p - buf);
	free(buf);
	return (a.has & (PS_HAS_BMAP | PS_HAS_BIORQ)) != 0;
}

/* The one kept slot of body_memo, which must hold exactly one. */
static struct ps_bmap_memo_slot *
memo_only_slot(void)
{
	struct ps_bmap_memo_slot *e = NULL;
	int i;

	for (i = 0; i < PS_BMAP_MEMO_SLOTS; i++)
		if (body_memo.slot[i].len != 0) {
			ck_assert_msg(e == NULL, "more than one slot kept");
			e = &body_memo.slot[i];
		}
	ck_assert_msg(e != NULL, "no slot kept");
	return e;
}

/* Sets a kept slot's fid to 0x1234 (no era-A body here has that fid). */
static void
memo_poison(struct ps_bmap_memo_slot *e)
{
	struct ps_event ev;

	memcpy(&ev.bmap, e->bmap, sizeof(ev.bmap));
	ev.bmap.fid = 0x1234;
	memcpy(e->bmap, &ev.bmap, sizeof(ev.bmap));
}

/* Decodes body (NUL-terminated; its first n bytes) with body_memo. */
static void
memo_decode(const char *body, size_t n, struct ps_event *ev)
{
	char *buf;

	ck_assert_ptr_nonnull(buf = malloc(n ? n : 1));
	memcpy(buf, body, n);
	ps_event_reset(ev);
	ps_body_decode(&body_memo, buf, n, ev);
	ev->msg.p = NULL;	/* buf is gone */
	free(buf);
}

/*
 * The memo is read, and only for the very bytes it kept: a kept slot whose
 * fid is altered by hand gives that fid to the same prefix before any
 * message, but not to a prefix that differs in any byte the decoder read
 * (a digit, the space after opcnt's value) or that the line cuts short of
 * the two bytes after it; " : " after the kept bytes is consumed as the
 * decoder does.
 */
START_TEST(test_body_memo)
{
	static const char body[] = "bmap@0x882110 b:3 m:8259 i:80000002d907b opcnt=17 "
	    "try flush (outstandingRpcCnt=0)";
	static const char *const hit[] = {
		"bmap@0x882110 b:3 m:8259 i:80000002d907b opcnt=17 restore to dirty list",
		"bmap@0x882110 b:3 m:8259 i:80000002d907b opcnt=17 : flushable?",
		"bmap@0x882110 b:3 m:8259 i:80000002d907b opcnt=17 xy",
	};
	static const char *const miss[] = {
		"bmap@0x882110 b:3 m:8259 i:80000002d907c opcnt=17 try flush",
		"bmap@0x882110 b:3 m:8259 i:80000002d907b opcnt=1 try flush",
		"bmap@0x882110 b:3 m:8259 i:80000002d907b opcnt=171 try flush",
		"bmap@0x882110 b:3 m:8259 i:80000002d907b opcnt=17:try flush",
		"bmap@0x882110 b:3 m:8259 i:80000002d907b opcnt=17 x",
		"bmap@0x882110 b:3 m:8259 i:80000002d907b opcnt=17 ",
	};
	size_t key = strlen("0x882110 b:3 m:8259 i:80000002d907b opcnt=17 "), i;
	struct ps_bmap_memo_slot *e;
	struct ps_event ev, ref;

	memset(&body_memo, 0, sizeof(body_memo));
	memo_decode(body, strlen(body), &ev);
	ck_assert(ev.has & PS_HAS_BMAP);
	e = memo_only_slot();
	ck_assert_uint_eq(e->len, key);
	ck_assert_mem_eq(e->key, body + 5, key);
	memo_poison(e);
	for (i = 0; i < sizeof(hit) / sizeof(hit[0]); i++) {
		const char *msg = strstr(hit[i], "17 ") + 3;

		memo_decode(hit[i], strlen(hit[i]), &ev);
		ck_assert_msg((ev.has & PS_HAS_BMAP) && ev.bmap.fid == 0x1234 &&
		    ev.bmap.addr == 0x882110 && ev.bmap.opcnt == 17, "not kept: %s", hit[i]);
		ck_assert_uint_eq(ev.msg.n, strlen(msg) - (msg[0] == ':' ? 2 : 0));
	}
	for (i = 0; i < sizeof(miss) / sizeof(miss[0]); i++) {
		char *buf = strdup(miss[i]);

		ck_assert_ptr_nonnull(buf);
		ps_event_reset(&ref);
		ps_body_decode_ref(buf, strlen(buf), &ref);
		free(buf);
		memset(&body_memo, 0, sizeof(body_memo));	/* the body's slot alone, altered */
		memo_decode(body, strlen(body), &ev);
		memo_poison(memo_only_slot());
		memo_decode(miss[i], strlen(miss[i]), &ev);
		ck_assert_msg(ev.bmap.fid == ref.bmap.fid && ev.has == ref.has &&
		    ev.bmap.opcnt == ref.bmap.opcnt && ev.msg.n == ref.msg.n, "kept: %s", miss[i]);
	}
}
END_TEST

/*
 * Era A's one-pass bmap@/biorq@ decoders against the token loops: every
 * bmap@ and biorq@ body of the test logs, each cut at every length, and
 * with each of its first 80 bytes replaced by bytes that end or extend a
 * token (a space, ':', '=', a digit, a hex letter, 'x', '-', a letter, a
 * NUL).  Both decoders must leave the very same event.
 */
START_TEST(test_body_fast_equals_ref)
{
	static const char *const files[] = {
		"sample.log", "forced-a.log", "extract-unsent.log", "seed-excerpt.log",
		"synth/seedlike-A.log", "synth/forced-B.log", "synth/seedlike-Z.log",
	};
	static const char subst[] = " :=9fxX-g";
	size_t fi, bodies = 0, decoded = 0;

	memset(&body_memo, 0, sizeof(body_memo));

	for (fi = 0; fi < sizeof(files) / sizeof(files[0]); fi++) {
		char path[4096], line[4096];
		FILE *f;
		int nmut[2] = { 0, 0 };

		snprintf(path, sizeof(path), "%s/%s", tu_testdata_dir(), files[fi]);
		ck_assert_msg((f = fopen(path, "r")) != NULL, "%s", path);
		while (fgets(line, sizeof(line), f) != NULL) {
			const char *body = strstr(line, "] ");
			size_t n, i, k;

			if (body == NULL)
				continue;
			body += 2;
			if (strncmp(body, "bmap@", 5) != 0 && strncmp(body, "biorq@", 6) != 0)
				continue;
			n = strcspn(body, "\r\n");
			decoded += (size_t)body_both(body, n, files[fi]);
			bodies++;
			/* cuts and mutations of the first 8 of each kind in each file */
			if (nmut[body[1] == 'm']++ >= 8)
				continue;
			for (k = 0; k <= n; k++)
				(void)body_both(body, k, files[fi]);
			for (i = 0; i < n && i < 80; i++)
				for (k = 0; k < sizeof(subst); k++) {	/* the last is the NUL */
					char mut[4096];

					memcpy(mut, body, n);
					mut[i] = subst[k];
					(void)body_both(mut, n, files[fi]);
				}
		}
		fclose(f);
	}
	/* the test logs hold era A's prefixes, and both decoders read them */
	ck_assert_msg(bodies > 2000 && decoded == bodies, "%zu bodies, %zu decoded", bodies,
	    decoded);
}
END_TEST

/*
 * The same comparison on constructed bodies that the logs do not hold:
 * each value of era A's two layouts in turn given every length around the
 * decoders' limits (8, 9, 16 digits) and where a number saturates or wraps
 * (10, 17, 20 digits), in both cases, signed, empty, "(nil)"; each body
 * with every ending the token loops treat apart (the message, " : " of a
 * later era, " :" at the end, nothing, two spaces, no flag letters), and
 * cut at every length.
 */
START_TEST(test_body_fast_edges)
{
	static const char *const hexv[] = {
		"1", "882110", "fFfFfFfF", "123456789", "ffffffffffffffff", "10000000000000000",
		"00000000000000000001", "0x5", "", "-1", "(nil)", "3g",
	};
	static const char *const decv[] = {
		"0", "8259", "99999999", "999999999", "4294967296", "9999999999999999",
		"18446744073709551617", "99999999999999999999", "", "-7", "0x40", "12:WL",
	};
	static const char *const bmap_end[] = {
		" try flush (outstandingRpcCnt=1)", " : flushable?", " :", " : ", "", " ",
		"  x", ":x", " x=1 y",
	};
	static const char *const biorq_end[] = {
		" wR consider for flush", "  x", " wR", "", " ", " wR : x", " : x",
	};
	enum { NB = 5, NQ = 7 };
	_Static_assert(sizeof(hexv) == sizeof(decv), "one value of each kind per step");
	size_t f, v, e, k, n = 0;

	memset(&body_memo, 0, sizeof(body_memo));

	for (f = 0; f < NB + NQ; f++)
		for (v = 0; v < sizeof(hexv) / sizeof(hexv[0]); v++)
			for (e = 0; e < (f < NB ? sizeof(bmap_end) / sizeof(bmap_end[0]) :
			    sizeof(biorq_end) / sizeof(biorq_end[0])); e++) {
				/* field f takes value v, the others their usual values */
				const char *bv[NB] = { "881330", "1", "8259", "80000002d907b", "65" };
				const char *qv[NQ] = { "7f95c4012a30", "530", "0", "1048576", "32",
					"881330", "1282327206:4244000" };
				char body[512];
				int len;

				if (f < NB)
					bv[f] = f == 2 || f == 4 ? decv[v] : hexv[v];
				else
					qv[f - NB] = f - NB >= 1 && f - NB <= 4 ? decv[v] : hexv[v];
				if (f < NB)
					len = snprintf(body, sizeof(body), "bmap@0x%s b:%s m:%s i:%s "
					    "opcnt=%s%s", bv[0], bv[1], bv[2], bv[3], bv[4],
					    bmap_end[e]);
				else
					len = snprintf(body, sizeof(body), "biorq@0x%s fl=%s o=%s l=%s "
					    "np=%s b=0x%s ts=%s%s", qv[0], qv[1], qv[2], qv[3], qv[4],
					    qv[5], qv[6], biorq_end[e]);
				for (k = 0; k <= (size_t)len; k++)
					(void)body_both(body, k, "constructed");
				n++;
			}
	ck_assert_int_gt(n, 1000);
}
END_TEST

/*
 * ps_msg_biorq_addr reads the first "biorq=0x" address of a message as
 * strtoull reads its (at most 63) hex digits, saturating past 64 bits;
 * -1 without digits, without the token, or for another message.
 */
START_TEST(test_msg_biorq_addr)
{
	static const struct {
		const char *msg;
		int rc;
		uint64_t addr;
	} c[] = {
		{ "biorq=0x7f95c4084730 list_empty(1)", 0, 0x7f95c4084730ULL },
		{ "opcnt=3 biorq=0xABCdef list_empty(0)", 0, 0xabcdefULL },
		{ "biorq=0x1 biorq=0x2", 0, 1 },
		{ "biorq=0xffffffffffffffff", 0, UINT64_MAX },
		{ "biorq=0x10000000000000000", 0, UINT64_MAX },		/* 17 digits: saturates */
		{ "biorq=0x0000000000000000000000ff", 0, 0xff },		/* leading zeros */
		{ "biorq=0x1234g", 0, 0x1234 },
		{ "biorq=0x", -1, 0 },
		{ "biorq=0xg1", -1, 0 },
		{ "biorq=0", -1, 0 },
		{ "list_empty(1)", -1, 0 },
		{ "", -1, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t n = strlen(c[i].msg);
		char *buf = malloc(n ? n : 1);	/* exactly the message, for ASan */
		struct ps_event ev;
		uint64_t a = 42;

		ck_assert_ptr_nonnull(buf);
		memcpy(buf, c[i].msg, n);
		ps_event_reset(&ev);
		ev.msg_id = PS_MSG_A_BIORQ_LIST_EMPTY;
		ev.msg = (struct ps_str){ buf, n };
		ck_assert_msg(ps_msg_biorq_addr(&ev, &a) == c[i].rc, "%s", c[i].msg);
		if (c[i].rc == 0)
			ck_assert_msg(a == c[i].addr, "%s: %" PRIx64, c[i].msg, a);
		ev.msg_id = PS_MSG_NONE;
		ck_assert_int_eq(ps_msg_biorq_addr(&ev, &a), -1);
		free(buf);
	}
	{	/* 64 digits: strtoull saw the first 63 */
		char msg[80] = "biorq=0x";
		struct ps_event ev;
		uint64_t a = 0;

		memset(msg + 8, '0', 63);
		msg[8 + 63] = '7';
		ps_event_reset(&ev);
		ev.msg_id = PS_MSG_A_BIORQ_LIST_EMPTY;
		ev.msg = (struct ps_str){ msg, 8 + 64 };
		ck_assert_int_eq(ps_msg_biorq_addr(&ev, &a), 0);
		ck_assert_uint_eq(a, 0);
	}
}
END_TEST

/*
 * ps_memfind finds what memmem finds: every needle of the decoders and
 * classifier, and needles that overlap themselves, in every prefix and
 * every suffix of some haystacks (each in a buffer of its exact size, for
 * ASan).
 */
START_TEST(test_memfind)
{
	static const char *const hay[] = {
		"req@0x7f95c4100a00 x1000/t0 c0 o43->@12345-10.32.5.12@tcp10:30 lens 232/112"
		    " ref 1 res 0 ret 0 fl New:/0/0 replyc deadbeef rc 0/0 to=0 :: off=0 sz=1 op=1",
		"try flush (outstandingRpcCnt=75)",
		"sending WRITE RPC to iosid=0x1 fid=0x00080000002d907b:0 off=0 sz=4096 infl=3",
		"  :  :: ::: :::: ((oo (o", "aaaaab", "",
	};
	static const char *const needle[] = {
		" :: ", " o", " off=", "(outstandingRpcCnt=", " fid=", " infl=", "::", ":::",
		"(o", "aab", "ab", "b", "", " mode=", " : ",
	};
	size_t h, k, cut;

	for (h = 0; h < sizeof(hay) / sizeof(hay[0]); h++)
		for (k = 0; k < sizeof(needle) / sizeof(needle[0]); k++)
			for (cut = 0; cut <= 2 * strlen(hay[h]); cut++) {
				/* every prefix, then every suffix */
				size_t hn = strlen(hay[h]), nl = strlen(needle[k]);
				size_t from = cut <= hn ? 0 : cut - hn, len = hn - from;
				const char *a, *b;
				char *buf;

				if (cut <= hn)
					len = cut;
				ck_assert_ptr_nonnull(buf = malloc(len ? len : 1));
				memcpy(buf, hay[h] + from, len);
				a = ps_memfind(buf, len, needle[k], nl);
				b = memmem(buf, len, needle[k], nl);
				ck_assert_msg(a == b, "'%s' in '%.*s': %td, memmem %td", needle[k],
				    (int)len, buf, a ? a - buf : -1, b ? b - buf : -1);
				free(buf);
			}
}
END_TEST

/* Formats with widths, flags or %D get no fast matcher; plain ones do. */
START_TEST(test_fast_eligibility)
{
	static const struct {
		const char *fmt;
		int fast;
	} c[] = {
		{ "[%s:%06u %n:%i:%T:%F:%l] ", 1 },
		{ "%s.%06u %n %F %l: ", 1 },
		{ "[%s:%u %n]", 0 },		/* %n followed by ']' (in its class) */
		{ "%D<%s>:%06u %n ", 0 },
		{ "%-5n: ", 0 },
		{ "%5l: ", 0 },
		{ "%L %n ", 0 },		/* signed field */
		{ "%s%u ", 0 },			/* field followed by a field */
		{ "%s:%06u00", 0 },		/* digits at the very end */
		{ "%I:%n ", 1 },
		{ "%Ixy %n ", 0 },		/* "0x" could be the prefix or the literal */
	};
	size_t k;

	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct fs_err err;
		struct ps_header *h = ps_header_compile(c[k].fmt, &err);

		ck_assert_ptr_nonnull(h);
		ck_assert_msg(ps_header_set_fast(h, 1) == c[k].fast, "%s", c[k].fmt);
		ps_header_free(h);
	}
}
END_TEST

/*
 * %I with the "0x" of a pointer (FreeBSD, macOS): the fast matcher agrees
 * with PCRE2 around the prefix, and the tid is decoded without it.
 */
START_TEST(test_hex_prefix)
{
	static const char *const fmts[] = { "[%I:%n ", "[%08I:%n ", "<%I>" };
	static const char *const lines[] = {
		"[0x801c15400:t] m", "[801c15400:t] m", "[0x:t] m", "[0xg:t] m",
		"[0x0:t] m", "[00x1:t] m", "[0x00000001:t] m", "[0x1234567:t] m",
		"<0x12>", "<0>", "<0x>", "<x12>", "[0X12:t] m",
	};
	size_t f, k;

	for (f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
		struct fs_err err;
		struct ps_header *h = ps_header_compile(fmts[f], &err);

		ck_assert_ptr_nonnull(h);
		ck_assert_int_eq(ps_header_set_fast(h, 1), 1);
		for (k = 0; k < sizeof(lines) / sizeof(lines[0]); k++)
			fast_vs_pcre(h, lines[k], strlen(lines[k]));
		ps_header_free(h);
	}
	{
		struct fs_err err;
		struct ps_header *h = ps_header_compile("[%I:%n ", &err);
		struct ps_event ev;

		ck_assert_ptr_nonnull(h);
		ps_event_reset(&ev);
		ck_assert_uint_eq(ps_header_match(h, lines[0], strlen(lines[0]), &ev), 16);
		ck_assert_uint_eq(ev.tid, 0x801c15400ULL);
		ck_assert(str_eq(ev.tid_s, "0x801c15400"));
		ck_assert(str_eq(ev.thread, "t]"));
		ps_event_reset(&ev);
		ck_assert_uint_eq(ps_header_match(h, lines[2], strlen(lines[2]), &ev), 0);
		ps_header_free(h);
	}
}
END_TEST

/* The format inferred from one line of an unknown local layout. */
START_TEST(test_infer)
{
	static const struct {
		const char *line, *fmt;
	} c[] = {
		{ "[1462300000.12345600 x-- msflushthr1:7f1c1affd700:bmap bflush.c msflushthr_main 886]r",
		  "[%s.%06u00 x-- %n:%I:%T %B %F %l]" },
		{ "[1282327206:161331 client1 msbflushthr:23667:bmap:bmap_flush:639] x",
		  "[%s:%06u client1 %n:%i:%T:%F:%l] " },
		{ "[@1458400001.1234500 t:0x801c15400:mem a.h f 67 9] x",
		  "[@%s.%06u %n:%I:%T %B %F %P %l] " },
		{ "[1282327206:1 t:def]x", "[%s:%u %n:%F]" },
		{ "[1282327206:161331  t:1  -1 f  2] x", "[%s:%06u  %n:%i  -1 %F  %l] " },
		{ "[1282327206:161331 <23670>:23670:gen:psc_ctlthr_main:300] x",
		  "[%s:%06u %n:%i:%T:%F:%l] " },
		{ "[1282327206:161331 a.c:1] x", NULL },	/* not a thread name */
		{ "[1282327206:161331 123:1] x", NULL },
		{ "[1282327206:161331 t] x", NULL },
		{ "[1282327206:161331 t:] x", NULL },
		{ "[1282327206:161331 t:1 x", NULL },		/* no ] */
		{ "[1282327206:161331t:1] x", NULL },
		{ "[128232720:161331 t:1] x", "[%s:%06u %n:%i] " },
		{ "[12823272:161331 t:1] x", NULL },
		{ "x[1282327206:161331 t:1] x", NULL },
	};
	char fmt[1024];
	size_t k, n;

	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		n = ps_header_infer(c[k].line, strlen(c[k].line), fmt, sizeof(fmt));
		if (c[k].fmt == NULL) {
			ck_assert_msg(n == 0, "%s: inferred %s", c[k].line, fmt);
			continue;
		}
		ck_assert_msg(n > 0, "%s: nothing inferred", c[k].line);
		ck_assert_str_eq(fmt, c[k].fmt);
		ck_assert_uint_eq(n, strlen(fmt));
	}
	/* Too small a buffer: nothing, never a cut format. */
	ck_assert_uint_eq(ps_header_infer(c[0].line, strlen(c[0].line), fmt, 10), 0);
}
END_TEST

/*
 * Inferred formats are candidates listed by ps_parser_format; past the
 * parser's 32 formats, lines of yet other layouts still parse.
 */
START_TEST(test_infer_parser)
{
	struct fs_err err;
	struct ps_parser *p = ps_parser_new(NULL, &err);
	struct ps_event ev;
	char line[256];
	int i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "[1282327206:%06d host%d thr%d:7:bmap:f:1] m", i, i, i);
		ck_assert_int_eq(ps_parser_parse(p, line, strlen(line), 0, 1, &ev), 1);
		ck_assert(str_eq(ev.msg, "m"));
		ck_assert_int_eq(ev.ts_us, 1282327206000000LL + i);
		snprintf(line, sizeof(line), "thr%d", i);
		ck_assert(str_eq(ev.thread, line));
		/* the same layout again: the candidate, nothing new */
		snprintf(line, sizeof(line), "[1282327207:%06d host%d thr%d:8:bmap:g:2] n", i, i, i);
		ck_assert_int_eq(ps_parser_parse(p, line, strlen(line), 0, 2, &ev), 1);
		ck_assert(str_eq(ev.func, "g"));
	}
	ck_assert_int_eq(ps_parser_nformats(p), 32 - ps_header_nbuiltin());
	ck_assert_str_eq(ps_parser_format(p, 0), "[%s:%06u host0 %n:%i:%T:%F:%l] ");
	ps_parser_free(p);
	/* A forced format infers nothing. */
	p = ps_parser_new("[%s:%06u %n:%i:%T:%F:%l] ", &err);
	ck_assert_ptr_nonnull(p);
	snprintf(line, sizeof(line), "[1282327206:000001 h t:7:b:f:1] m");
	ck_assert_int_eq(ps_parser_parse(p, line, strlen(line), 0, 1, &ev), 0);
	ps_parser_free(p);
}
END_TEST

/* Custom formats: widths, flags, %D<...>, %L, unknown letters, bare %D. */
START_TEST(test_custom_formats)
{
	static const struct {
		const char *fmt, *line, *msg;
		long long ts;
		const char *thread, *func;
		int srcline, level;
		const char *host;
	} c[] = {
		{ "%D<%Y-%m-%d %H:%M:%S>.%06u %-12n %5l %L %F: ",
		  "2019-01-16 12:31:50.158850 msflushthr5    813 4 bmap_flush: try flush",
		  "try flush", 1547641910158850LL, "msflushthr5", "bmap_flush", 813, 4, NULL },
		{ "[%D<%s>:%06u %n %F %l]",
		  "[1282327206:161331 msbflushthr bmap_flush 639]hello",
		  "hello", 1282327206161331LL, "msbflushthr", "bmap_flush", 639, -1, NULL },
		{ "%D<%F %T> [%10n] %F:%-5l| ",
		  "2010-08-20 17:20:06 [msbflushthr] bmap_flush:639  | x y",
		  "x y", 1282324806000000LL, "msbflushthr", "bmap_flush", 639, -1, NULL },
		{ "%q{%s.%u} %n: ",
		  "%q{1282327206.5} t1: m",
		  "m", 1282327206000005LL, "t1", NULL, -1, -1, NULL },
		{ "[%s:%06u %n]%D (%F)",
		  "[1282327206:000001 thr](fn)z",
		  "z", 1282327206000001LL, "thr", "fn", -1, -1, NULL },
		{ "%D<%H:%M> %n %F ",
		  "17:20 thr fn msg",
		  "msg", INT64_MIN, "thr", "fn", -1, -1, NULL },
		{ "<%h:%H:%r:%P:%U:%t:%N:%X:%A:%S:%f> %n ",
		  "<c1:c1.example.org:0:-1:-1:3:mount_slash:/bin/dd:12345-10.0.0.1@tcp:a:b:c:io.c> t x",
		  "x", INT64_MIN, "t", NULL, -1, -1, "c1" },
		{ "%H %s:%06u %n ",
		  "c2.example.org 1282327206:000002 t y",
		  "y", 1282327206000002LL, "t", NULL, -1, -1, "c2.example.org" },
	};
	size_t k;

	setenv("TZ", "UTC", 1);
	tzset();
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct fs_err err;
		struct ps_header *h = ps_header_compile(c[k].fmt, &err);
		struct ps_event ev;
		size_t hl;

		ck_assert_msg(h != NULL, "%s", err.msg);
		ck_assert_str_eq(ps_header_format(h), c[k].fmt);
		ck_assert_ptr_nonnull(ps_header_pattern(h));
		ps_event_reset(&ev);
		hl = ps_header_match(h, c[k].line, strlen(c[k].line), &ev);
		ck_assert_msg(hl > 0, "%s did not match %s (pattern %s)", c[k].fmt,
		    c[k].line, ps_header_pattern(h));
		ck_assert_str_eq(c[k].line + hl, c[k].msg);
		ck_assert_int_eq(ev.ts_us, c[k].ts);
		ck_assert(str_eq(ev.thread, c[k].thread));
		if (c[k].func)
			ck_assert(str_eq(ev.func, c[k].func));
		ck_assert_int_eq(ev.srcline, c[k].srcline);
		ck_assert_int_eq(ev.level, c[k].level);
		ck_assert_int_eq(!!(ev.has & PS_HAS_LEVEL), c[k].level >= 0);
		ck_assert(str_eq(ev.host, c[k].host != NULL ? c[k].host : ""));
		ck_assert_int_eq(ps_header_match(h, "nothing", 7, &ev), 0);
		ps_header_free(h);
	}
	{
		struct fs_err err;

		ck_assert_ptr_null(ps_header_compile("[%D<%Y", &err));
		ck_assert(strstr(err.msg, "%D<") != NULL);
	}
}
END_TEST

/* A forced custom format through ps_parser, with the body decoded. */
START_TEST(test_forced_format)
{
	struct fs_err err;
	struct ps_parser *p = ps_parser_new("%s.%06u %n %F %l: ", &err);
	struct ps_event ev;
	const char *l1 = "1282327206.161331 msbflushthr bmap_flush 639: bmap@0x881330 "
	    "b:1 m:8259 i:80000002d907b opcnt=65 restore to dirty list";
	const char *l2 = "[1282327206:161331 msbflushthr:23667:bmap:bmap_flush:754] "
	    "bmap@0x881330 b:1 m:8259 i:80000002d907b opcnt=65 restore to dirty list";

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ps_parser_parse(p, l1, strlen(l1), 0, 1, &ev), 1);
	ck_assert_int_eq(ev.kind, PS_EV_REQUEUE);
	ck_assert_int_eq(ev.ts_us, 1282327206161331LL);
	/* A forced format is the only one tried. */
	ck_assert_int_eq(ps_parser_parse(p, l2, strlen(l2), 0, 2, &ev), 0);
	ck_assert_int_eq(ps_parser_nformats(p), 1);
	ps_parser_free(p);
	ck_assert_ptr_null(ps_parser_new("%D<", &err));
}
END_TEST

/* The format changes mid-file and back; unparsed lines in between. */
START_TEST(test_format_change)
{
	const char *lines[] = {
		"[1282327206:161331 msbflushthr:23667:bmap:bmap_flush:639] bmap@0x881330 b:1 m:8259 i:80000002d907b opcnt=65 try flush (outstandingRpcCnt=75)",
		"not a log line",
		"[1547659910.15902000 msflushthr5:7f1c1affd700:bmap bflush.c bmap_flush 765]bmap@0x881330 bno:1 flg:0x30006:WL+ fid:0x00080000002d907b opcnt=4 : flushable?",
		"[1547659910.15903100 msflushthr5:7f1c1affd700:bmap bflush.c bmap_flush 813]bmap@0x881330 bno:1 flg:0x34006:WL+ fid:0x00080000002d907b opcnt=5 : try flush",
		"[1282327206:161360 msbflushthr:23667:bmap:bmap_flush:754] bmap@0x881330 b:1 m:8259 i:80000002d907b opcnt=65 restore to dirty list",
		"",
	};
	const int ok[] = { 1, 0, 1, 1, 1, 0 };
	const enum ps_ev_kind kind[] = { PS_EV_EXAMINE, PS_EV_OTHER, PS_EV_EXAMINE,
	    PS_EV_SCHEDULE, PS_EV_REQUEUE, PS_EV_OTHER };
	struct fs_err err;
	struct ps_parser *p = ps_parser_new(NULL, &err);
	struct ps_event ev;
	int i;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ps_parser_nformats(p), 0);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(ps_parser_parse(p, lines[i], strlen(lines[i]), 0,
		    (uint64_t)i + 1, &ev), ok[i]);
		ck_assert_int_eq(ev.kind, kind[i]);
	}
	ck_assert_int_eq(ps_parser_nformats(p), 2);
	ck_assert_str_eq(ps_parser_format(p, 0), "[%s:%06u %n:%i:%T:%F:%l] ");
	ck_assert_str_eq(ps_parser_format(p, 1), "[%s.%06u00 %n:%I:%T %B %F %l]");
	ps_parser_free(p);
}
END_TEST

/* Syslog prefixes recognised (or not) by ps_header_syslog_len. */
START_TEST(test_syslog_len)
{
	static const struct {
		const char *s;
		size_t len;
		const char *host;
	} c[] = {
		{ "Jan 16 12:31:50 client1 mount_wokfs-prod[4242]: [x", 48, "client1" },
		{ "Jan  6 12:31:50 client1 mount_wokfs: [x", 37, "client1" },
		{ "Jan 16 12:31:50 mount_wokfs[1]: [x", 32, "" },
		{ "2019-01-16T12:31:50.1+00:00 c1 slash2[7]: [x", 42, "c1" },
		{ "mount_slash[4242]: [x", 19, "" },
		{ "mount_slash: [x", 0, "" },
		{ "[1282327206:161331 a:1:b:c:1] x", 0, "" },
		{ "Jan 16 12:31:50 client1", 0, "" },
		{ "", 0, "" },
		/* the network form: <PRI> before RFC 3164 */
		{ "<30>Jan 16 12:31:50 client1 mount_wokfs[4242]: [x", 47, "client1" },
		{ "<191>Jan 16 12:31:50 mount_wokfs[4242]: [x", 40, "" },
		{ "<30>mount_wokfs[4242]: [x", 0, "" },
		{ "<>Jan 16 12:31:50 c mount_wokfs[4242]: [x", 0, "" },
		{ "<1234>Jan 16 12:31:50 c mount_wokfs[4242]: [x", 0, "" },
		/* RFC 5424 */
		{ "<30>1 2015-06-30T04:37:02-04:00 c3.example.org mount_slash-prod 4242 - - [x",
		  73, "c3.example.org" },
		{ "<30>1 - - - - - - [x", 18, "" },
		{ "<30>1 - h a p m -", 17, "h" },
		{ "<30>1 - h a p m [a b=\"]\"][c] [x", 29, "h" },
		{ "<30>1 - h a p m [a b=\"\\\"]\"] [x", 28, "h" },
		{ "<30>1 - h a p m [a b=\"] [x", 0, "" },		/* open quote */
		{ "<30>1 - h a p m [1282327206:161331 a:1:b:c:1] x", 0, "" },
		{ "<30>1 - h a p m x [x", 0, "" },
		{ "<30>1 - h a p", 0, "" },
		{ "<30>2 - h a p m - [x", 0, "" },
		{ "<30>1 - h a p m - \xef\xbb\xbf[x", 21, "h" },
	};
	size_t k;

	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct ps_str host;
		size_t got = ps_header_syslog(c[k].s, strlen(c[k].s), &host);

		ck_assert_msg(got == c[k].len, "%s: got %zu", c[k].s, got);
		ck_assert_uint_eq(ps_header_syslog_len(c[k].s, strlen(c[k].s)), got);
		ck_assert_msg(str_eq(host, c[k].host), "%s: host %.*s", c[k].s,
		    (int)host.n, host.p ? host.p : "");
	}
}
END_TEST

/* ---- reader ---- */

/* Writes n bytes to a new temp file; returns its malloc'd path. */
static char *
tmpfile_with(const void *data, size_t n)
{
	char *path = strdup("/tmp/fs-check-parsers-XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
	return path;
}

/* Writes data gzip-compressed (members = number of gzip members). */
static char *
gzfile_with(const char *data, size_t n, int members)
{
	char *path = strdup("/tmp/fs-check-parsers-XXXXXX");
	int fd = mkstemp(path), m;
	size_t per = n / (size_t)members, done = 0;

	ck_assert_int_ge(fd, 0);
	close(fd);
	for (m = 0; m < members; m++) {
		gzFile g = gzopen(path, m == 0 ? "wb" : "ab");
		size_t k = m == members - 1 ? n - done : per;

		ck_assert_ptr_nonnull(g);
		if (k > 0)
			ck_assert_int_eq(gzwrite(g, data + done, (unsigned)k), (int)k);
		gzclose(g);
		done += k;
	}
	return path;
}

/* Reads every line of path into a check of (expected lines, offsets). */
static void
expect_lines(const char *path, uint64_t start, const char *const *want,
    const size_t *wlen, const uint64_t *woff, int n)
{
	struct fs_err err;
	struct ps_reader *r = ps_reader_open(path, start, &err);
	const char *line;
	size_t len;
	uint64_t off;
	int i;

	ck_assert_msg(r != NULL, "%s", err.msg);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(ps_reader_next(r, &line, &len, &off, &err), 1);
		ck_assert_uint_eq(len, wlen[i]);
		ck_assert(memcmp(line, want[i], len) == 0);
		ck_assert_uint_eq(off, woff[i]);
	}
	ck_assert_int_eq(ps_reader_next(r, &line, &len, &off, &err), 0);
	ck_assert_int_eq(ps_reader_next(r, &line, &len, &off, &err), 0);
	ps_reader_close(r);
}

/* CRLF, NUL, invalid UTF-8, empty lines, a final line without newline. */
static const char edge[] = "a\r\nb\0c\n\xff\xfe\xc3(\n\n\r\nlast";
static const char *const edge_want[] = { "a", "b\0c", "\xff\xfe\xc3(", "", "", "last" };
static const size_t edge_len[] = { 1, 3, 4, 0, 0, 4 };
static const uint64_t edge_off[] = { 0, 3, 7, 12, 13, 15 };

START_TEST(test_reader_edges)
{
	char *path = tmpfile_with(edge, sizeof(edge) - 1);
	struct fs_err err;
	struct ps_reader *r;
	const char *line;
	size_t len;
	uint64_t off;

	expect_lines(path, 0, edge_want, edge_len, edge_off, 6);
	/* Resume at the start of line 3. */
	expect_lines(path, 7, edge_want + 2, edge_len + 2, edge_off + 2, 4);
	r = ps_reader_open(path, 0, &err);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(ps_reader_is_gz(r), 0);
	ck_assert_int_eq(ps_reader_next(r, &line, &len, &off, &err), 1);
	ck_assert_uint_eq(ps_reader_offset(r), 3);
	ps_reader_close(r);
	/* Past the end is an error naming the file. */
	ck_assert_ptr_null(ps_reader_open(path, 1000, &err));
	ck_assert(strstr(err.msg, path) != NULL);
	unlink(path);
	free(path);
	/* An empty file has no lines. */
	path = tmpfile_with("", 0);
	expect_lines(path, 0, NULL, NULL, NULL, 0);
	unlink(path);
	free(path);
}
END_TEST

/* The same through gzip (detected by magic bytes, not by name), 3 members. */
START_TEST(test_reader_gz)
{
	char *path = gzfile_with(edge, sizeof(edge) - 1, 3);
	struct fs_err err;
	struct ps_reader *r;

	r = ps_reader_open(path, 0, &err);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(ps_reader_is_gz(r), 1);
	ps_reader_close(r);
	expect_lines(path, 0, edge_want, edge_len, edge_off, 6);
	expect_lines(path, 12, edge_want + 3, edge_len + 3, edge_off + 3, 3);
	unlink(path);
	free(path);
}
END_TEST

/* A 10 MB line between two short ones, plain and gzip. */
START_TEST(test_reader_long_line)
{
	size_t big = 10u << 20, n = big + 16;
	char *data = malloc(n), *path;
	const char *want[3];
	size_t wlen[3] = { 1, big, 3 };
	uint64_t woff[3] = { 0, 2, big + 3 };
	int gz;

	ck_assert_ptr_nonnull(data);
	memcpy(data, "x\n", 2);
	memset(data + 2, 'L', big);
	data[2 + 5] = '\0';
	memcpy(data + 2 + big, "\nend\n", 5);
	want[0] = "x";
	want[1] = data + 2;
	want[2] = "end";
	for (gz = 0; gz < 2; gz++) {
		path = gz ? gzfile_with(data, big + 7, 1) : tmpfile_with(data, big + 7);
		expect_lines(path, 0, want, wlen, woff, 3);
		unlink(path);
		free(path);
	}
	free(data);
}
END_TEST

/* Missing file, directory, corrupt and truncated gzip: errors name the file. */
START_TEST(test_reader_errors)
{
	struct fs_err err;
	struct ps_reader *r;
	const char *line;
	size_t len, i;
	uint64_t off;
	char *text, *path, *gzp;
	FILE *f;
	long gzn;
	char *gzdata;
	int rc;

	ck_assert_ptr_null(ps_reader_open("/nonexistent/x.log", 0, &err));
	ck_assert_str_eq(err.msg, "/nonexistent/x.log: no such file");
	ck_assert_ptr_null(ps_reader_open("/tmp", 0, &err));
	ck_assert_str_eq(err.msg, "/tmp: is a directory");
	if (geteuid() != 0) {
		path = tmpfile_with("x\n", 2);
		chmod(path, 0);
		ck_assert_ptr_null(ps_reader_open(path, 0, &err));
		ck_assert(strstr(err.msg, path) != NULL);
		unlink(path);
		free(path);
	}
	/* 200000 distinct lines, so the damage lies well past line 1. */
	text = malloc(200000 * 40);
	ck_assert_ptr_nonnull(text);
	for (i = 0, len = 0; i < 200000; i++)
		len += (size_t)sprintf(text + len, "line %zu %zx\n", i, i * 2654435761u);
	gzp = gzfile_with(text, len, 1);
	f = fopen(gzp, "rb");
	fseek(f, 0, SEEK_END);
	gzn = ftell(f);
	rewind(f);
	gzdata = malloc((size_t)gzn);
	ck_assert_int_eq(fread(gzdata, 1, (size_t)gzn, f), (size_t)gzn);
	fclose(f);
	/* Truncated: half the compressed bytes. */
	path = tmpfile_with(gzdata, (size_t)gzn / 2);
	r = ps_reader_open(path, 0, &err);
	ck_assert_ptr_nonnull(r);
	i = 0;
	while ((rc = ps_reader_next(r, &line, &len, &off, &err)) == 1)
		i++;
	ck_assert_int_eq(rc, -1);
	ck_assert(i > 1000 && i < 200000);
	ck_assert_msg(strstr(err.msg, path) != NULL && strstr(err.msg, "truncated") != NULL,
	    "%s", err.msg);
	{
		char want[64];

		snprintf(want, sizeof(want), ":%zu: ", i + 1);
		ck_assert_msg(strstr(err.msg, want) != NULL, "%s (want %s)", err.msg, want);
	}
	ps_reader_close(r);
	unlink(path);
	free(path);
	/* Corrupt: garbage in the middle of the deflate data. */
	memset(gzdata + gzn / 2, 0x55, 64);
	path = tmpfile_with(gzdata, (size_t)gzn);
	r = ps_reader_open(path, 0, &err);
	ck_assert_ptr_nonnull(r);
	while ((rc = ps_reader_next(r, &line, &len, &off, &err)) == 1)
		;
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(strstr(err.msg, path) != NULL &&
	    (strstr(err.msg, "corrupt") != NULL || strstr(err.msg, "truncated") != NULL),
	    "%s", err.msg);
	ps_reader_close(r);
	unlink(path);
	free(path);
	/* A corrupt gzip header fails at open. */
	memcpy(gzdata + 2, "\x99\xff\xff", 3);
	path = tmpfile_with(gzdata, 16);
	r = ps_reader_open(path, 0, &err);
	if (r != NULL) {
		while ((rc = ps_reader_next(r, &line, &len, &off, &err)) == 1)
			;
		ck_assert_int_eq(rc, -1);
		ps_reader_close(r);
	}
	ck_assert(strstr(err.msg, path) != NULL);
	unlink(path);
	free(path);
	unlink(gzp);
	free(gzp);
	free(gzdata);
	free(text);
}
END_TEST

/*
 * Lines longer than max_line are cut (first max bytes), the rest dropped
 * up to the newline, counted; offsets stay exact.  _i: 0 plain, 1 gzip.
 * A 3 MiB line outgrows the initial 1 MiB buffer (the rest is read through
 * the skip chunk), a 150-byte one has its newline in the window already.
 */
START_TEST(test_reader_max_line)
{
	const size_t max = 100, big = 3u << 20;
	const size_t lens[] = { 5, 100, 101, 150, 3u << 20, 7, 100, 2000 };
	const int term[] = { 1, 1, 1, 1, 1, 1, 1, 0 };	/* last: no newline */
	size_t n = 0, i, total = 0;
	uint64_t offs[8], cut_bytes = 0;
	char *data = malloc(big + 8192), *path;
	struct ps_reader_stats st;
	struct ps_reader *r;
	struct fs_err err;
	const char *line;
	size_t len;
	uint64_t off;

	ck_assert_ptr_nonnull(data);
	for (i = 0; i < 8; i++) {
		offs[i] = n;
		memset(data + n, 'a' + (int)i, lens[i]);
		data[n] = (char)('A' + i);		/* the first byte tells the line */
		n += lens[i];
		if (term[i])
			data[n++] = '\n';
		if (lens[i] > max)
			cut_bytes += lens[i] - max;
	}
	total = n;
	path = _i ? gzfile_with(data, n, 1) : tmpfile_with(data, n);
	r = ps_reader_open(path, 0, &err);
	ck_assert_msg(r != NULL, "%s", err.msg);
	ps_reader_set_max_line(r, max);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(ps_reader_next(r, &line, &len, &off, &err), 1);
		ck_assert_uint_eq(len, lens[i] > max ? max : lens[i]);
		ck_assert_int_eq(line[0], 'A' + (int)i);
		ck_assert_uint_eq(off, offs[i]);
		ck_assert_int_eq(ps_reader_last_cut(r), lens[i] > max);
		ck_assert_uint_eq(ps_reader_offset(r), i < 7 ? offs[i + 1] : total);
	}
	ck_assert_int_eq(ps_reader_unterminated(r), 1);
	ck_assert_int_eq(ps_reader_next(r, &line, &len, &off, &err), 0);
	ps_reader_stats(r, &st);
	ck_assert_uint_eq(st.lines, 8);
	ck_assert_uint_eq(st.cut_lines, 4);
	ck_assert_uint_eq(st.first_cut_lineno, 3);
	ck_assert_uint_eq(st.first_cut_off, offs[2]);
	ck_assert_uint_eq(st.cut_bytes, cut_bytes);
	ps_reader_close(r);
	/* Resumed at the line after the big one; the default cap keeps it whole. */
	r = ps_reader_open(path, offs[4], &err);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(ps_reader_next(r, &line, &len, &off, &err), 1);
	ck_assert_uint_eq(len, big);
	ck_assert_int_eq(ps_reader_last_cut(r), 0);
	ps_reader_set_max_line(r, 1);
	ck_assert_int_eq(ps_reader_next(r, &line, &len, &off, &err), 1);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(off, offs[5]);
	ps_reader_set_max_line(r, 0);
	ck_assert_int_eq(ps_reader_next(r, &line, &len, &off, &err), 1);
	ck_assert_uint_eq(len, 100);
	ps_reader_stats(r, &st);
	ck_assert_uint_eq(st.cut_lines, 1);
	ck_assert_uint_eq(st.first_cut_lineno, 2);
	ps_reader_close(r);
	unlink(path);
	free(path);
	free(data);
}
END_TEST

/* The peak resident set (VmHWM) of this process in KiB, after clearing it. */
static long
peak_kib(int reset)
{
	FILE *f;
	char buf[256];
	long v = -1;

	if (reset) {
		f = fopen("/proc/self/clear_refs", "w");
		if (f == NULL)
			return -1;
		fputs("5", f);
		fclose(f);
	}
	f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), f) != NULL)
		if (sscanf(buf, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * One endless line (like ingest /dev/zero) is read in bounded memory: a
 * 256 MiB sparse file of NUL bytes and 64 MiB of gzip'd zeros, with the
 * line cut at 1 MiB, raise the peak RSS by less than 16 MiB.
 */
START_TEST(test_reader_bounded)
{
	char *path = tmpfile_with("", 0), *zeros, *gz;
	struct ps_reader_stats st;
	struct ps_reader *r;
	struct fs_err err;
	const char *line;
	size_t len;
	uint64_t off;
	long before, after;
	int pass;

	ck_assert_int_eq(truncate(path, 256L << 20), 0);
	zeros = calloc(1, 64u << 20);
	ck_assert_ptr_nonnull(zeros);
	gz = gzfile_with(zeros, 64u << 20, 1);
	free(zeros);
	for (pass = 0; pass < 2; pass++) {
		before = peak_kib(1);
		if (before < 0)
			return;		/* no clear_refs (not Linux) */
		r = ps_reader_open(pass ? gz : path, 0, &err);
		ck_assert_ptr_nonnull(r);
		ps_reader_set_max_line(r, 1u << 20);
		ck_assert_int_eq(ps_reader_next(r, &line, &len, &off, &err), 1);
		ck_assert_uint_eq(len, 1u << 20);
		ck_assert_int_eq(ps_reader_next(r, &line, &len, &off, &err), 0);
		ps_reader_stats(r, &st);
		ck_assert_uint_eq(st.cut_lines, 1);
		ck_assert_uint_eq(st.cut_bytes, (pass ? 64u << 20 : 256u << 20) - (1u << 20));
		ck_assert_uint_eq(ps_reader_offset(r), pass ? 64u << 20 : 256u << 20);
		ps_reader_close(r);
		after = peak_kib(0);
		ck_assert_msg(after - before < 16 * 1024, "peak grew by %ld KiB", after - before);
	}
	unlink(path);
	unlink(gz);
	free(path);
	free(gz);
}
END_TEST

/* A file named *.gz whose content is not gzip is an error naming it. */
START_TEST(test_reader_gz_name)
{
	static const char *const bodies[] = { "plain text\n", "", "\x1f" };
	char path[64];
	struct ps_reader *r;
	struct fs_err err;
	size_t k;
	int fd;

	for (k = 0; k < sizeof(bodies) / sizeof(bodies[0]); k++) {
		snprintf(path, sizeof(path), "/tmp/fs-check-parsers-XXXXXX.gz");
		fd = mkstemps(path, 3);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, bodies[k], strlen(bodies[k])), (ssize_t)strlen(bodies[k]));
		close(fd);
		ck_assert_ptr_null(ps_reader_open(path, 0, &err));
		ck_assert_msg(strstr(err.msg, path) != NULL &&
		    strstr(err.msg, "not in gzip format") != NULL, "%s", err.msg);
		unlink(path);
	}
	/* The content decides otherwise: gzip under any name is read. */
	{
		char *p = gzfile_with("x\n", 2, 1);

		r = ps_reader_open(p, 0, &err);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(ps_reader_is_gz(r), 1);
		ps_reader_close(r);
		unlink(p);
		free(p);
	}
}
END_TEST

/* "-" reads standard input. */
START_TEST(test_reader_stdin)
{
	char *path = tmpfile_with(edge, sizeof(edge) - 1);
	int saved = dup(0), fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 0), 0);
	close(fd);
	expect_lines("-", 0, edge_want, edge_len, edge_off, 6);
	dup2(saved, 0);
	close(saved);
	unlink(path);
	free(path);
}
END_TEST

/* Builds the suite (loads the line tables first). */
Suite *
parsers_suite(void)
{
	Suite *s = suite_create("parsers");
	TCase *tl_tc = tcase_create("lines");
	TCase *hd = tcase_create("header");
	TCase *rd = tcase_create("reader");

	load_lines();
	tcase_add_loop_test(tl_tc, test_line_table, 0, ntl > 0 ? ntl : 1);
	tcase_add_test(tl_tc, test_seeds);
	tcase_add_test(tl_tc, test_event_reset);
	suite_add_tcase(s, tl_tc);
	tcase_add_loop_test(hd, test_builtin_formats, 0, ps_header_nbuiltin());
	tcase_add_loop_test(hd, test_fast_equals_pcre, 0, ps_header_nbuiltin());
	tcase_add_test(hd, test_fast_long_fields);
	tcase_add_test(hd, test_header_numbers);
	tcase_add_test(hd, test_header_second_cache);
	tcase_add_test(hd, test_body_hex);
	tcase_add_test(hd, test_body_fast_equals_ref);
	tcase_add_test(hd, test_body_fast_edges);
	tcase_add_test(hd, test_body_memo);
	tcase_add_test(hd, test_memfind);
	tcase_add_test(hd, test_msg_biorq_addr);
	tcase_add_test(hd, test_fast_eligibility);
	tcase_add_test(hd, test_hex_prefix);
	tcase_add_test(hd, test_infer);
	tcase_add_test(hd, test_infer_parser);
	tcase_add_test(hd, test_custom_formats);
	tcase_add_test(hd, test_forced_format);
	tcase_add_test(hd, test_format_change);
	tcase_add_test(hd, test_syslog_len);
	suite_add_tcase(s, hd);
	tcase_add_test(rd, test_reader_edges);
	tcase_add_test(rd, test_reader_gz);
	tcase_add_test(rd, test_reader_long_line);
	tcase_add_test(rd, test_reader_errors);
	tcase_add_test(rd, test_reader_stdin);
	tcase_add_loop_test(rd, test_reader_max_line, 0, 2);
	tcase_add_test(rd, test_reader_bounded);
	tcase_add_test(rd, test_reader_gz_name);
	suite_add_tcase(s, rd);
	return s;
}
