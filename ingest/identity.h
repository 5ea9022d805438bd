/*
 * ingest/identity: is this file one the database already holds?
 *
 * A source is known by its content, not by its name: the checksum of its
 * first bytes (up to ST_HEAD_MAX, of the decompressed stream, so a log
 * compressed by its rotation is the file it was) and of the bytes just
 * before the offset stored so far (sources.done_off), plus its device and
 * inode and size while it lives.  ig_identify decides, inside one write
 * transaction (other writers wait), what a run does with a file:
 *
 *   new        no source holds this content: a new source;
 *   resumed    the source at this path (or, renamed or compressed, another
 *              path) holds a prefix of it: read on from its offset;
 *   unchanged  that source holds all of it: nothing to read;
 *   renamed    the content is a source stored under another path (a
 *              rotation: client.log became client.log-1.gz): that source
 *              goes on, under the new path;
 *   rotated    the path names a new file (another inode, other content):
 *              a new source, the old one kept;
 *   replaced   the path's file was rewritten (same inode or not, the bytes
 *              before the stored offset differ): a new source;
 *   truncated  the file is shorter than what was stored: a new source.
 *
 * The run then claims the source (st_source_claim): a run that claimed it
 * before loses it at its next commit, so two ingests of one file never
 * store its rows twice.
 *
 * A client name (ingest --client) is part of a source's identity: the
 * look-ups above then only see that client's sources, so the same path
 * (or the same bytes) on two clients are two sources.  Without one, every
 * source matches, and a new source's client is "unknown".
 */
#ifndef FS_INGEST_IDENTITY_H
#define FS_INGEST_IDENTITY_H

#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

/* What a run does with a file (see above). */
enum ig_status {
	IG_NEW = 0,
	IG_RESUMED,
	IG_UNCHANGED,
	IG_RENAMED,
	IG_ROTATED,
	IG_REPLACED,
	IG_TRUNCATED
};

/* What ig_identify decided. */
struct ig_identity {
	enum ig_status decision;
	int stream;			/* stdin, a pipe or a device: read once, no identity */
	int nothing_new;		/* the source holds all of the file (unchanged, or renamed) */
	int regular;			/* a regular file (it may still grow) */
	struct st_source src;		/* the source to write (id set, claimed) */
	uint64_t run;			/* the claim */
	int64_t old_id;			/* rotated/replaced/truncated/renamed: the other source */
	char old_path[ST_PATH_MAX];
	uint64_t old_size;
};

/* Returns "new", "resumed", "unchanged", "renamed", "rotated", "replaced", "truncated". */
const char *ig_status_name(enum ig_status s);

/*
 * Decides what to do with path in database st (see above), inserting or
 * claiming its source; client: the client it comes from, NULL = unknown.  final: a held-back last line is to be stored
 * (an unchanged file with one is then resumed).  claim_unchanged: claim
 * an unchanged source too (a recorder that will store what is appended);
 * otherwise an unchanged source is left to whoever owns it.  -1 with err
 * set.
 */
int ig_identify(struct st_store *st, const char *path, const char *client, int final,
    int claim_unchanged, struct ig_identity *id, struct fs_err *err);

/* Writes a sentence saying what was decided and why into buf ("" for new/resumed/unchanged). */
void ig_identity_note(const struct ig_identity *id, const char *path, char *buf, size_t n);

#endif
