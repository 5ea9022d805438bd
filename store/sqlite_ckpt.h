/*
 * store/sqlite_ckpt.h: checkpoints an SQLite database's WAL in a thread of
 * its own, so the connection that writes does not wait for them.
 *
 * In WAL mode every commit appends pages to the -wal file; a checkpoint
 * copies them back into the database and syncs both files.  SQLite runs
 * it inside the commit that fills the WAL past 1000 pages, on the
 * writer's thread, which then waits for the copy and for two fdatasync
 * calls (about 10 ms each on these disks).  Once attached, the writer's
 * commits only ask for a checkpoint; a second connection, in its own
 * thread, runs it while the writer goes on with its next transaction.
 *
 * The WAL can restart from its beginning only when a write transaction
 * starts with every frame already copied back, and a writer that never
 * waits rarely gives the checkpointer that moment.  So the WAL has a cap
 * (SQ_CKPT_CAP pages): a commit that leaves that many or more waits for
 * the checkpointer and checkpoints the rest itself, as SQLite would, and
 * the next transaction restarts the WAL.  A reader holding an older
 * snapshot stops both (with or without this thread): the WAL then grows
 * until the reader ends, as it does under SQLite's own checkpoints.
 *
 * A checkpoint that cannot finish (such a reader, another process
 * checkpointing) is left to the next one, as SQLite's own auto-checkpoint
 * leaves it; a commit that cannot grow the WAL fails by itself.  Nothing
 * here changes what is stored.  Commits become durable when a checkpoint
 * syncs the WAL (synchronous=NORMAL), as before; that sync now runs on the
 * thread, a little later than inside the commit.
 */
#ifndef FS_STORE_SQLITE_CKPT_H
#define FS_STORE_SQLITE_CKPT_H

#include <stdint.h>

#include <sqlite3.h>

#define SQ_CKPT_START 1000	/* WAL pages after a commit that ask for a checkpoint */
#define SQ_CKPT_CAP 2000	/* WAL pages after a commit that the writer checkpoints itself */

struct sq_ckpt;

/* What a checkpointer has done, for tests and diagnostics. */
struct sq_ckpt_stats {
	uint64_t asked;		/* checkpoints the writer's commits asked for */
	uint64_t background;	/* checkpoints the thread ran */
	uint64_t background_done;	/* of them, those after which frames were copied back */
	uint64_t writer;	/* checkpoints the writer ran itself (the cap, or no thread) */
};

/*
 * Takes over db's checkpoints (its WAL hook; db is in WAL mode, on a
 * file).  The thread and its connection start when the WAL first reaches
 * SQ_CKPT_START pages; if they cannot, the writer checkpoints as SQLite
 * would.  NULL when out of memory: SQLite's own checkpoints stay.
 */
struct sq_ckpt *sq_ckpt_attach(sqlite3 *db);

/* Waits until no checkpoint is asked for or running, then copies the counts. */
void sq_ckpt_stats(struct sq_ckpt *ck, struct sq_ckpt_stats *out);

/*
 * Waits for a running checkpoint, stops the thread and closes its
 * connection.  Call before sqlite3_close(db), so that closing db, the
 * last connection, checkpoints the rest and removes the WAL.  NULL is
 * ignored.
 */
void sq_ckpt_detach(struct sq_ckpt *ck);

#endif
