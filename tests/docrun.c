/*
 * Executable documentation (see tests/docrun.h).
 */
#include "tests/docrun.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "tests/testutil.h"

/* A growable list of strings. */
struct strv {
	char **v;
	int n, cap;
};

/* Appends a copy of s (n bytes) to l. */
static void
sv_add(struct strv *l, const char *s, size_t n)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = realloc(l->v, (size_t)l->cap * sizeof(*l->v));
	}
	l->v[l->n] = malloc(n + 1);
	memcpy(l->v[l->n], s, n);
	l->v[l->n][n] = '\0';
	l->n++;
}

/* Frees a list. */
static void
sv_free(struct strv *l)
{
	int i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Splits text into lines (without their newlines). */
static void
split_lines(const char *text, struct strv *out)
{
	const char *p = text, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		sv_add(out, p, nl ? (size_t)(nl - p) : strlen(p));
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/* One command of a document and the output it shows. */
struct example {
	int line;		/* line of the "$ " in the document */
	char *cmd;
	struct strv out;
};

struct examples {
	struct example *v;
	int n, cap;
};

/* Undoes the roff escapes used in examples. */
static void
unroff(char *s)
{
	char *w = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] == '-') {
			*w++ = '-';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'e') {
			*w++ = '\\';
			s += 2;
		} else if (s[0] == '\\' && s[1] == '&') {
			s += 2;
		} else if (strncmp(s, "\\(aq", 4) == 0) {
			*w++ = '\'';
			s += 4;
		} else if (strncmp(s, "\\(dq", 4) == 0) {
			*w++ = '"';
			s += 4;
		} else if (strncmp(s, "\\(mc", 4) == 0) {
			memcpy(w, "\xc2\xb5", 2);	/* micro sign */
			w += 2;
			s += 4;
		} else if (strncmp(s, "\\(mu", 4) == 0) {
			*w++ = 'x';
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

/* 1 if s holds an odd number of single quotes (a quoted string goes on). */
static int
odd_quotes(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\'';
	return n & 1;
}

/* Turns one code block (its lines, first at line0) into examples. */
static void
block_examples(struct strv *b, int line0, struct examples *ex)
{
	struct example *cur = NULL;
	int i;

	for (i = 0; i < b->n; i++) {
		const char *l = b->v[i];

		if (strncmp(l, "$ ", 2) == 0) {
			size_t len;
			char *cmd;

			if (ex->n == ex->cap) {
				ex->cap = ex->cap ? ex->cap * 2 : 16;
				ex->v = realloc(ex->v, (size_t)ex->cap * sizeof(*ex->v));
			}
			cur = &ex->v[ex->n++];
			memset(cur, 0, sizeof(*cur));
			cur->line = line0 + i;
			cmd = strdup(l + 2);
			/* continuation lines: a trailing backslash, or an open '...' */
			while ((len = strlen(cmd)) > 0 && (cmd[len - 1] == '\\' || odd_quotes(cmd)) &&
			    i + 1 < b->n) {
				const char *next = b->v[++i];

				cmd = realloc(cmd, len + strlen(next) + 2);
				cmd[len] = '\n';	/* the shell joins "\\\n" */
				strcpy(cmd + len + 1, next);
			}
			cur->cmd = cmd;
		} else if (cur != NULL) {
			sv_add(&cur->out, l, strlen(l));
		}
	}
	/* blank lines between examples separate them; they are not output */
	for (i = 0; i < ex->n; i++)
		while (ex->v[i].out.n > 0 && ex->v[i].out.v[ex->v[i].out.n - 1][0] == '\0')
			free(ex->v[i].out.v[--ex->v[i].out.n]);
}

/* Collects the examples of a Markdown document. */
static void
md_examples(struct strv *doc, struct examples *ex)
{
	struct strv b = { 0 };
	int i = 0, j, start;

	while (i < doc->n) {
		const char *l = doc->v[i];

		if (strncmp(l, "```", 3) == 0) {
			start = ++i;
			while (i < doc->n && strncmp(doc->v[i], "```", 3) != 0) {
				sv_add(&b, doc->v[i], strlen(doc->v[i]));
				i++;
			}
			block_examples(&b, start + 1, ex);
			sv_free(&b);
			i++;
			continue;
		}
		if (strncmp(l, "    ", 4) == 0 && (i == 0 || doc->v[i - 1][0] == '\0')) {
			start = i;
			for (j = i; j < doc->n; j++) {
				if (strncmp(doc->v[j], "    ", 4) == 0) {
					sv_add(&b, doc->v[j] + 4, strlen(doc->v[j] + 4));
					continue;
				}
				if (doc->v[j][0] != '\0')
					break;
				/* a blank line: part of the block if it goes on */
				{
					int k = j;

					while (k < doc->n && doc->v[k][0] == '\0')
						k++;
					if (k >= doc->n || strncmp(doc->v[k], "    ", 4) != 0)
						break;
				}
				sv_add(&b, "", 0);
			}
			block_examples(&b, start + 1, ex);
			sv_free(&b);
			i = j;
			continue;
		}
		i++;
	}
}

/* Collects the examples of a man page's EXAMPLES section. */
static void
man_examples(struct strv *doc, struct examples *ex)
{
	struct strv b = { 0 };
	int i, in = 0, nf = 0, start = 0;

	for (i = 0; i < doc->n; i++) {
		const char *l = doc->v[i];

		if (strncmp(l, ".SH", 3) == 0) {
			in = strstr(l, "EXAMPLES") != NULL;
			continue;
		}
		if (!in)
			continue;
		if (strncmp(l, ".nf", 3) == 0) {
			nf = 1;
			start = i + 1;
			continue;
		}
		if (strncmp(l, ".fi", 3) == 0 && nf) {
			block_examples(&b, start + 1, ex);
			sv_free(&b);
			nf = 0;
			continue;
		}
		if (nf && l[0] != '.') {
			char *c = strdup(l);

			unroff(c);
			sv_add(&b, c, strlen(c));
			free(c);
		}
	}
	sv_free(&b);
}

/* Replaces every match of re in *s by rep. */
static void
re_replace(char **s, const char *re, const char *rep)
{
	regex_t rx;
	regmatch_t m;
	char *out;
	size_t off = 0, cap;

	if (regcomp(&rx, re, REG_EXTENDED) != 0)
		abort();
	cap = strlen(*s) * 2 + 64;
	out = malloc(cap);
	out[0] = '\0';
	while (regexec(&rx, *s + off, 1, &m, off ? REG_NOTBOL : 0) == 0 && m.rm_eo > 0) {
		size_t need = strlen(out) + (size_t)m.rm_so + strlen(rep) + 1;

		if (need > cap)
			out = realloc(out, cap = need * 2);
		strncat(out, *s + off, (size_t)m.rm_so);
		strcat(out, rep);
		off += (size_t)m.rm_eo;
	}
	if (strlen(out) + strlen(*s + off) + 1 > cap)
		out = realloc(out, strlen(out) + strlen(*s + off) + 1);
	strcat(out, *s + off);
	regfree(&rx);
	free(*s);
	*s = out;
}

/* Masks the volatile fields of a line and drops trailing blanks. */
static char *
mask(const char *line, const char *dir)
{
	char *s = strdup(line), *p;
	size_t n;

	if (dir != NULL && (p = strstr(s, dir)) != NULL) {
		char *t = malloc(strlen(s) + 8);

		memcpy(t, s, (size_t)(p - s));
		strcpy(t + (p - s), "<DIR>");
		strcat(t, p + strlen(dir));
		free(s);
		s = t;
	}
	re_replace(&s, "in [0-9]+\\.[0-9]+ s \\([0-9]+\\.[0-9]+ M lines/s\\)",
	    "in <T> s (<R> M lines/s)");
	re_replace(&s, "read in [0-9]+\\.[0-9]+ s", "read in <T> s");
	re_replace(&s, "[0-9]+(\\.[0-9]+)?[kMG]?/s", "<R>/s");
	re_replace(&s, "top - [0-9][0-9]:[0-9][0-9]:[0-9][0-9] -", "top - <T> -");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* 1 if the actual lines match the expected ones ("..." = any lines). */
static int
lines_match(char **want, int nw, char **got, int ng)
{
	char *ok = calloc((size_t)(nw + 1) * (size_t)(ng + 1), 1);
	int i, j, r;

#define OK(i, j) ok[(size_t)(i) * (size_t)(ng + 1) + (size_t)(j)]
	OK(nw, ng) = 1;
	for (i = nw; i >= 0; i--)
		for (j = ng; j >= 0; j--) {
			if (i == nw)
				OK(i, j) = j == ng;
			else if (strcmp(want[i], "...") == 0)
				OK(i, j) = OK(i + 1, j) || (j < ng && OK(i, j + 1));
			else
				OK(i, j) = j < ng && strcmp(want[i], got[j]) == 0 && OK(i + 1, j + 1);
		}
	r = OK(0, 0);
#undef OK
	free(ok);
	return r;
}

/* Runs one command in dir; its output (2>&1, "[exit N]" when not 0) in *out. */
static char *
run(const char *cmd, const char *dir, const char *srcdir)
{
	char *full, *buf = NULL;
	size_t cap = 0, n = 0, k;
	const char *san = getenv("FS_SANITIZE");
	char chunk[4096];
	FILE *p;
	int st;

	if (strncmp(cmd, "make", 4) == 0 && (cmd[4] == ' ' || cmd[4] == '\0')) {
		size_t len = strlen(cmd) + strlen(srcdir) + 256;

		full = malloc(len);
		snprintf(full, len, "make -s --no-print-directory -C '%s'%s%s%s", srcdir,
		    san && *san ? " SANITIZE=" : "", san && *san ? san : "", cmd + 4);
	} else
		full = strdup(cmd);
	setenv("FS_DOC_CMD", full, 1);
	free(full);
	snprintf(chunk, sizeof(chunk), "cd '%s' && sh -c 'eval \"$FS_DOC_CMD\"' </dev/null 2>&1",
	    dir);
	if ((p = popen(chunk, "r")) == NULL)
		return strdup("[popen failed]");
	while ((k = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		if (n + k + 64 > cap)
			buf = realloc(buf, cap = (n + k + 64) * 2);
		memcpy(buf + n, chunk, k);
		n += k;
	}
	st = pclose(p);
	if (buf == NULL)
		buf = malloc(cap = 64);
	if (n > 0 && buf[n - 1] != '\n')
		buf[n++] = '\n';
	buf[n] = '\0';
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		snprintf(buf + n, cap - n, "[exit %d]\n", WEXITSTATUS(st));
	else if (!WIFEXITED(st))
		snprintf(buf + n, cap - n, "[killed]\n");
	return buf;
}

/* Runs the examples of a document. */
int
tu_doc_check(const char *path, int man, const char *srcdir, const char *bin, FILE *report,
    int *nrun)
{
	struct strv doc = { 0 };
	struct examples ex = { 0 };
	char dir[128], link[256], *text, *path_env;
	char *oldpath = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	int i, j, bad = 0;

	*nrun = 0;
	if ((text = tu_slurp(path, NULL)) == NULL)
		return -1;
	split_lines(text, &doc);
	free(text);
	if (man)
		man_examples(&doc, &ex);
	else
		md_examples(&doc, &ex);
	tu_mkdtemp(dir, sizeof(dir), "docs");
	snprintf(link, sizeof(link), "%s/flushscope", dir);
	if (symlink(bin, link) != 0)
		return -1;
	snprintf(link, sizeof(link), "%s/testdata", dir);
	{
		char td[512];

		snprintf(td, sizeof(td), "%s/testdata", srcdir);
		if (symlink(td, link) != 0)
			return -1;
	}
	path_env = malloc(strlen(dir) + strlen(oldpath ? oldpath : "/usr/bin:/bin") + 2);
	sprintf(path_env, "%s:%s", dir, oldpath ? oldpath : "/usr/bin:/bin");
	setenv("PATH", path_env, 1);
	setenv("NO_COLOR", "1", 1);
	setenv("TZ", "UTC", 1);
	setenv("LC_ALL", "C.UTF-8", 1);
	unsetenv("MAKEFLAGS");
	unsetenv("MFLAGS");
	unsetenv("MAKELEVEL");
	for (i = 0; i < ex.n; i++) {
		struct example *e = &ex.v[i];
		struct strv got = { 0 };
		char *out = run(e->cmd, dir, srcdir), **w, **g;

		(*nrun)++;
		split_lines(out, &got);
		free(out);
		while (got.n > 0 && got.v[got.n - 1][0] == '\0')	/* as the document's blocks */
			free(got.v[--got.n]);
		w = calloc((size_t)e->out.n + 1, sizeof(*w));
		g = calloc((size_t)got.n + 1, sizeof(*g));
		for (j = 0; j < e->out.n; j++)
			w[j] = mask(e->out.v[j], dir);
		for (j = 0; j < got.n; j++)
			g[j] = mask(got.v[j], dir);
		if (!lines_match(w, e->out.n, g, got.n)) {
			bad++;
			fprintf(report, "%s:%d: $ %s\n--- the document shows:\n", path, e->line,
			    e->cmd);
			for (j = 0; j < e->out.n; j++)
				fprintf(report, "%s\n", w[j]);
			fprintf(report, "--- the command printed:\n");
			for (j = 0; j < got.n; j++)
				fprintf(report, "%s\n", g[j]);
			fprintf(report, "---\n");
		}
		for (j = 0; j < e->out.n; j++)
			free(w[j]);
		for (j = 0; j < got.n; j++)
			free(g[j]);
		free(w);
		free(g);
		sv_free(&got);
		sv_free(&e->out);
		free(e->cmd);
	}
	if (oldpath != NULL)
		setenv("PATH", oldpath, 1);
	free(oldpath);
	free(path_env);
	free(ex.v);
	sv_free(&doc);
	tu_rmtree(dir);
	return bad;
}
