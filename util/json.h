/*
 * JSON output helpers shared by the commands and the report printers.
 */
#ifndef FS_UTIL_JSON_H
#define FS_UTIL_JSON_H

#include <stddef.h>
#include <stdio.h>

/*
 * Writes the n bytes at s as a JSON string literal (with quotes) to f.
 * Valid UTF-8 is kept; '"', '\\', control bytes and DEL are escaped; a
 * byte that is not valid UTF-8 (0x80-0xff) becomes the lone surrogate
 * \udcXX (Python's surrogateescape), so any bytes (a file name, say) can
 * be mapped back exactly: os.fsencode(json.loads(text)) in Python.
 */
void fs_json_str(FILE *f, const char *s, size_t n);

#endif
