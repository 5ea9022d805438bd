/*
 * Executable documentation: runs the commands a document shows and compares
 * what they print with what the document says they print.
 *
 * The convention (README.md and the man pages' EXAMPLES):
 *  - In a code block (README: indented by 4 spaces or fenced with ```; man:
 *    between .nf and .fi), a line starting with "$ " is a command; a command
 *    ending in a backslash continues on the next line.  The lines after it,
 *    up to the next "$ " line or the end of the block, are its output
 *    (standard output and standard error, as a terminal shows them).
 *  - A line "..." in the output stands for any number of lines.
 *  - A command that exits with status N != 0 shows "[exit N]" as its last
 *    output line.
 *  - Code blocks without a "$ " line are not run (sketches, live examples).
 *  - Volatile fields are masked on both sides before comparing: elapsed
 *    times and rates ("in 0.02 s (0.06 M lines/s)", "12.3k/s"), and top's
 *    wall-clock time.
 * Each document runs in a fresh directory holding `flushscope` (the binary
 * under test, also first on PATH) and `testdata`; a command starting with
 * `make` runs in the source tree (make -s -C SRCDIR ...).
 */
#ifndef FS_TESTS_DOCRUN_H
#define FS_TESTS_DOCRUN_H

#include <stdio.h>

/*
 * Runs every example of the document at path (man = 1 for a roff page),
 * writing each mismatch to report.  Returns the number of mismatches, or
 * -1 if the document cannot be read; *nrun gets the commands run.
 */
int tu_doc_check(const char *path, int man, const char *srcdir, const char *bin,
    FILE *report, int *nrun);

#endif
