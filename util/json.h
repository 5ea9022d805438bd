/*
 * JSON output helpers shared by the commands and the report printers.
 */
#ifndef FS_UTIL_JSON_H
#define FS_UTIL_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Writes the n bytes at s as a JSON string literal (with quotes) to f. */
void fs_json_str(FILE *f, const char *s, size_t n);

#endif
