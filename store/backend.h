/*
 * store/backend.h: private to store/.  A storage backend is a table of
 * operations (as git's ref_storage_be): SQLite (store/sqlite.c) and
 * PostgreSQL (store/pg.c) each fill one, and store/store.c picks one from
 * the string st_open is given and writes everything that is the same SQL
 * on both once, over these operations: the cursors over each kind of row,
 * the source look-up, insert, update and claim, the commit's checks and
 * the canonical dump.
 *
 *   open         connect / open the file, check or create / migrate the
 *                schema (rendered from store/schema.c); flags as st_open
 *   close        free everything (also after a failed open)
 *   transaction  run fn in ONE write transaction that excludes other
 *                writers' transactions (fn's look-up then insert is atomic)
 *   commit       write a batch and its source's bookkeeping in ONE
 *                transaction, after st__commit_check under the source's
 *                row lock
 *   query_*      a raw cursor over any SQL with '?' parameters (each used
 *                once, in order): open, next (1 row, 0 end, -1 error),
 *                column readers, close.  Several may be open at once, and
 *                inside a transaction.  stream: a SELECT whose rows may be
 *                many (read a few at a time); else any statement, its
 *                result small.
 */
#ifndef FS_STORE_BACKEND_H
#define FS_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store/batch.h"
#include "store/schema.h"
#include "store/store.h"

/* A query parameter. */
struct st_param {
	enum { ST_P_INT, ST_P_TEXT, ST_P_NULL } type;
	int64_t i;
	const char *s;			/* NUL-terminated */
};

struct st_rawq;

struct st_backend {
	const char *name;
	enum st_dialect dialect;
	struct st_store *(*open)(const char *spec, const char *name, int flags,
	    struct fs_err *err);
	void (*close)(struct st_store *st);
	int (*transaction)(struct st_store *st,
	    int (*fn)(void *arg, struct st_store *st, struct fs_err *err), void *arg,
	    struct fs_err *err);
	int (*commit)(struct st_store *st, struct st_batch *b, struct fs_err *err);
	struct st_rawq *(*query_open)(struct st_store *st, const char *sql,
	    const struct st_param *p, int np, int stream, struct fs_err *err);
	int (*query_next)(struct st_rawq *q, struct fs_err *err);
	int (*col_count)(struct st_rawq *q);
	int (*col_null)(struct st_rawq *q, int i);
	int64_t (*col_int)(struct st_rawq *q, int i);
	const char *(*col_text)(struct st_rawq *q, int i, size_t *len);	/* never NULL */
	void (*query_close)(struct st_rawq *q);
};

/* The head of every backend's store (the backend's struct starts with it). */
struct st_store {
	const struct st_backend *be;
	char name[512];			/* as messages name it (st_display_name) */
	int readonly;
};

extern const struct st_backend st_sqlite_backend;
extern const struct st_backend st_pg_backend;

/*
 * Inside a commit: checks the batch's expected offset and run against the
 * source row (SQL suffix lock, e.g. " FOR UPDATE", "" for none); 0, or -1
 * with err set (EBUSY: another run took the source over or changed it).
 */
int st__commit_check(struct st_store *st, const struct st_batch *b, const char *lock,
    struct fs_err *err);

/* Writes a source's bookkeeping row (UPDATE sources ... WHERE id); 0 or -1. */
int st__source_write(struct st_store *st, const struct st_source *src, struct fs_err *err);

/* The period histogram as text ("n,n,...", ST_HIST_BUCKETS numbers) into buf; its length. */
size_t st__hist_text(const uint64_t *hist, char *buf, size_t n);

/* The text value of a source state. */
const char *st__state_name(int state);

#endif
