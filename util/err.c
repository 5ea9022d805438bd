#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Clears an error record. */
void
fs_err_clear(struct fs_err *e)
{
	if (e == NULL)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}

/* Records a formatted error message; returns -1 so callers can `return fs_err_set(...)`. */
int
fs_err_set(struct fs_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code ? code : -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Prefixes the stored message with more context. */
int
fs_err_prefix(struct fs_err *e, const char *fmt, ...)
{
	char old[sizeof(e->msg)];
	va_list ap;
	int n;

	if (e == NULL)
		return -1;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n + 2 < sizeof(e->msg)) {
		memcpy(e->msg + n, ": ", 2);
		size_t room = sizeof(e->msg) - (size_t)n - 3, ol = strnlen(old, sizeof(old));

		memcpy(e->msg + n + 2, old, ol < room ? ol : room);
		e->msg[n + 2 + (ol < room ? ol : room)] = '\0';
	}
	if (e->code == 0)
		e->code = -1;
	return -1;
}

/* Prefixes the input's name unless the message already begins with it. */
int
fs_err_name(struct fs_err *e, const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	if (e == NULL)
		return -1;
	if (name == NULL ||
	    (strncmp(e->msg, name, n) == 0 && (e->msg[n] == ':' || e->msg[n] == '\0'))) {
		if (e->code == 0)
			e->code = -1;
		return -1;
	}
	return fs_err_prefix(e, "%s", name);
}
