/*
 * Helpers shared by the Check suites that run the real binary and compare
 * files: the binary under test and whole-file reads and writes.  Failures
 * are Check assertions, so these are for test code only.
 */
#ifndef FS_TESTS_TESTUTIL_H
#define FS_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* The flushscope binary under test ($FS_BIN, else ./flushscope). */
const char *tu_fsbin(void);

/* The benchmark log generator, bench/gen_era_a.c ($FS_GEN_ERA_A, else build/bench/gen_era_a). */
const char *tu_gen_era_a(void);

/* Reads a whole file into a malloc'd NUL-terminated string; *n gets its size. */
char *tu_slurp(const char *path, size_t *n);

/* Writes n bytes to a file opened with mode ("w" or "a"). */
void tu_spit(const char *path, const char *mode, const char *data, size_t n);

/* The number of newline-terminated lines of a file. */
long tu_count_lines(const char *path);

/* The testdata directory ($FS_TESTDATA, else testdata). */
const char *tu_testdata_dir(void);

/* Path of name under the testdata directory; 8 rotating static buffers. */
const char *tu_testdata(const char *name);

/* dir/name in one of 8 static buffers (slot 0..7): several paths can be live at once. */
const char *tu_path(const char *dir, int slot, const char *name);

/*
 * Walks the rows of kind that f selects (NULL = all) in database st: cb
 * per row; stops when cb returns nonzero and returns that value, else 0
 * (a read error fails the test).
 */
struct st_store;
union st_row;
struct st_filter;
int tu_walk(struct st_store *st, int kind, const struct st_filter *f,
    int (*cb)(void *arg, const union st_row *row), void *arg);

/*
 * The backends behavioural tests run against: one table of cases, two
 * backends (a loop test's index picks the backend, e.g. _i % TU_NBACKENDS).
 * The PostgreSQL server is the throw-away one tests/pg.sh starts for
 * `make check` ($FS_PG, $FS_PG_DIR, $FS_PG_BIN); a PostgreSQL case fails,
 * never skips, without it.
 */
enum { TU_SQLITE = 0, TU_PG = 1, TU_NBACKENDS = 2 };

/* "sqlite" or "postgresql". */
const char *tu_backend_name(int backend);

/*
 * A new, empty database of a backend, as -d takes it: SQLite dir/name;
 * PostgreSQL a fresh database on the test server (its postgresql:// URI).
 * In one of 8 static buffers (slot 0..7).
 */
const char *tu_db(int backend, const char *dir, int slot, const char *name);

/* Empties a database made by tu_db (the file removed; a server database made anew). */
void tu_db_reset(const char *db);

/* 1 if the database exists (a file; a server database with flushscope's tables). */
int tu_db_exists(const char *db);

/* Runs SQL on a server database made by tu_db (psql); fails the test if it fails. */
void tu_pg_sql(const char *db, const char *sql);

/* The canonical text of a database (st_dump), malloc'd. */
char *tu_dump_db(const char *db);

/* Makes a private directory /tmp/fs-check-TAG-XXXXXX; its path goes to dir (n bytes). */
void tu_mkdtemp(char *dir, size_t n, const char *tag);

/* Removes dir and everything below it, read-only or immutable files included. */
void tu_rmtree(const char *dir);

/*
 * A libflush trace, recorded event by event: set a config's trace to
 * tu_trace_cb and its trace_arg to a zeroed struct tu_trace; free ev after.
 */
#include "libflush/flush.h"

struct tu_tev {
	enum fl_trace_kind kind;
	uint64_t t;			/* t_ns */
	unsigned thread;
	int reason, wasted;
	uint64_t fid;
	uint32_t bno, off, len;
	uint64_t id, count, period;	/* period_ns (IDLE) */
	uint64_t xid, issue, done;	/* of the event's RPC, if any */
	unsigned outstanding, nbiorqs;
};

struct tu_trace {
	struct tu_tev *ev;
	size_t n, cap;
};

/* The trace observer: appends the event to the struct tu_trace at arg. */
void tu_trace_cb(void *arg, const struct fl_trace_ev *ev);

#endif
