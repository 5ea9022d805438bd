/*
 * Error reporting shared by every library module: a function that can fail
 * takes a `struct fs_err *` and fills it with a message the caller prints.
 * Libraries never print and never exit().
 */
#ifndef FS_UTIL_ERR_H
#define FS_UTIL_ERR_H

#include <stddef.h>

/* Exit statuses of the flushscope command (see flushscope(1)). */
enum {
	FS_EXIT_OK = 0,		/* success */
	FS_EXIT_FOUND = 1,	/* condition found: spins with --fail-on-spin, verify failed */
	FS_EXIT_USAGE = 2,	/* bad command line */
	FS_EXIT_RUNTIME = 3	/* runtime error: I/O, bad input, database */
};

struct fs_err {
	int code;		/* 0 = no error; otherwise an errno value or -1 */
	char msg[512];		/* "FILE:LINE: what went wrong" */
};

/* Clears an error record. */
void fs_err_clear(struct fs_err *e);

/* Records a formatted error message (printf-style); returns -1 for chaining. */
int fs_err_set(struct fs_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes an existing message with more context ("ctx: old message"). */
int fs_err_prefix(struct fs_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Makes the message name its input: prefixes "NAME: " unless the message
 * already starts with NAME (a FILE:LINE message names it already).
 */
int fs_err_name(struct fs_err *e, const char *name);

#endif
