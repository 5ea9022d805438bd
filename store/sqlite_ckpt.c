/*
 * store/sqlite_ckpt.c: the WAL checkpointer of an SQLite writer; see
 * store/sqlite_ckpt.h.
 *
 * Invariants (under mu):
 *  - want: a checkpoint was asked for and has not started; busy: one is
 *    running in the thread.  The writer asks only when neither is set.
 *  - The thread's connection is used by the thread alone, from its start
 *    to sq_ckpt_detach, which joins it first.
 */
#include "store/sqlite_ckpt.h"

#include <pthread.h>
#include <stdlib.h>

struct sq_ckpt {
	sqlite3 *db;			/* the writer's connection */
	sqlite3 *cdb;			/* the thread's own; NULL until it starts */
	int started, failed;		/* the thread was started; it could not be */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int want, busy, stop;
	struct sq_ckpt_stats stats;
};

/* The thread: runs a passive checkpoint each time one is asked for. */
static void *
ck_main(void *arg)
{
	struct sq_ckpt *ck = arg;
	int pages;

	pthread_mutex_lock(&ck->mu);
	for (;;) {
		while (!ck->want && !ck->stop)
			pthread_cond_wait(&ck->cv, &ck->mu);
		if (!ck->want)
			break;
		ck->want = 0;
		ck->busy = 1;
		pthread_mutex_unlock(&ck->mu);
		pages = 0;
		/* PASSIVE: copies what no reader still needs, never waits */
		/* pages: the WAL's frames copied back so far (-1: no WAL seen) */
		(void)sqlite3_wal_checkpoint_v2(ck->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
		    &pages);
		pthread_mutex_lock(&ck->mu);
		ck->stats.background++;
		if (pages > 0)
			ck->stats.background_done++;
		ck->busy = 0;
		pthread_cond_broadcast(&ck->cv);
	}
	pthread_mutex_unlock(&ck->mu);
	return NULL;
}

/*
 * Opens the thread's connection to the writer's file and starts the
 * thread; -1 if either cannot be done.
 */
static int
ck_start(struct sq_ckpt *ck)
{
	const char *path = sqlite3_db_filename(ck->db, "main");

	/* a second thread needs a library built thread-safe (Debian's is) */
	if (path == NULL || *path == '\0' || !sqlite3_threadsafe())
		return -1;
	if (sqlite3_open_v2(path, &ck->cdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK)
		goto fail;
	/*
	 * A connection finds the WAL at its first read; until then a
	 * checkpoint does nothing.  The default synchronous (FULL) syncs a
	 * checkpoint as the writer's NORMAL does: the WAL, then the file.
	 */
	if (sqlite3_exec(ck->cdb, "PRAGMA schema_version", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (pthread_create(&ck->th, NULL, ck_main, ck) != 0)
		goto fail;
	return 0;
fail:
	sqlite3_close(ck->cdb);
	ck->cdb = NULL;
	return -1;
}

/* The writer's WAL hook: runs after each commit, with the WAL's pages. */
static int
ck_hook(void *arg, sqlite3 *db, const char *schema, int pages)
{
	struct sq_ckpt *ck = arg;

	if (pages < SQ_CKPT_START)
		return SQLITE_OK;
	if (!ck->started && !ck->failed) {
		if (ck_start(ck) == 0)
			ck->started = 1;
		else
			ck->failed = 1;
	}
	pthread_mutex_lock(&ck->mu);
	if (ck->started && pages < SQ_CKPT_CAP) {
		if (!ck->want && !ck->busy) {
			ck->want = 1;
			ck->stats.asked++;
			pthread_cond_signal(&ck->cv);
		}
		pthread_mutex_unlock(&ck->mu);
		return SQLITE_OK;
	}
	/* the cap (or no thread): what the thread has not copied, copied here */
	while (ck->want || ck->busy)
		pthread_cond_wait(&ck->cv, &ck->mu);
	ck->stats.writer++;
	pthread_mutex_unlock(&ck->mu);
	(void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

/* Takes over db's checkpoints; see sqlite_ckpt.h. */
struct sq_ckpt *
sq_ckpt_attach(sqlite3 *db)
{
	struct sq_ckpt *ck;

	if ((ck = calloc(1, sizeof(*ck))) == NULL)
		return NULL;
	ck->db = db;
	pthread_mutex_init(&ck->mu, NULL);
	pthread_cond_init(&ck->cv, NULL);
	sqlite3_wal_hook(db, ck_hook, ck);
	return ck;
}

/* Copies the counts once the thread is idle; see sqlite_ckpt.h. */
void
sq_ckpt_stats(struct sq_ckpt *ck, struct sq_ckpt_stats *out)
{
	pthread_mutex_lock(&ck->mu);
	while (ck->want || ck->busy)
		pthread_cond_wait(&ck->cv, &ck->mu);
	*out = ck->stats;
	pthread_mutex_unlock(&ck->mu);
}

/* Stops the thread and closes its connection; see sqlite_ckpt.h. */
void
sq_ckpt_detach(struct sq_ckpt *ck)
{
	if (ck == NULL)
		return;
	sqlite3_wal_hook(ck->db, NULL, NULL);
	if (ck->started) {
		pthread_mutex_lock(&ck->mu);
		ck->stop = 1;
		pthread_cond_broadcast(&ck->cv);
		pthread_mutex_unlock(&ck->mu);
		pthread_join(ck->th, NULL);
		sqlite3_close(ck->cdb);
	}
	pthread_cond_destroy(&ck->cv);
	pthread_mutex_destroy(&ck->mu);
	free(ck);
}
