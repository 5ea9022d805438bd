/*
 * ingest/identity: which source a file is (see ingest/identity.h).
 */
#include "ingest/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/hash.h"
#include "util/vec.h"

/* The file as it is now. */
struct cur {
	const char *path;		/* as given */
	char key[PATH_MAX];		/* absolute when known: the source's path */
	struct stat sb;
	int gz;
	unsigned char head[ST_HEAD_MAX];	/* first decompressed bytes */
	size_t headn;
};

struct idctx {
	struct cur c;
	int final, claim_unchanged;
	const char *client;		/* NULL: any client's sources match */
	struct ig_identity *id;
};

/* Names a status. */
const char *
ig_status_name(enum ig_status d)
{
	static const char *const n[] = { "new", "resumed", "unchanged", "renamed", "rotated",
	    "replaced", "truncated" };

	return (unsigned)d < sizeof(n) / sizeof(n[0]) ? n[d] : "?";
}

/* Says what was decided, and why. */
void
ig_identity_note(const struct ig_identity *id, const char *path, char *buf, size_t n)
{
	buf[0] = '\0';
	switch (id->decision) {
	case IG_RENAMED:
		snprintf(buf, n, "%s: renamed: the same content as source %lld (%s), which goes"
		    " on under this name; nothing is stored twice", path, (long long)id->old_id,
		    id->old_path);
		break;
	case IG_ROTATED:
		snprintf(buf, n, "%s: rotated: the path names a new file since the last ingest"
		    " (source %lld keeps the old one, %llu bytes); ingested as a new source", path,
		    (long long)id->old_id, (unsigned long long)id->old_size);
		break;
	case IG_REPLACED:
		snprintf(buf, n, "%s: replaced: rewritten since the last ingest (its bytes"
		    " differ from source %lld, %llu bytes, which is kept); ingested as a new source",
		    path, (long long)id->old_id, (unsigned long long)id->old_size);
		break;
	case IG_TRUNCATED:
		snprintf(buf, n, "%s: truncated: shorter than the last ingest stored (source %lld"
		    " held %llu bytes and is kept); ingested as a new source", path,
		    (long long)id->old_id, (unsigned long long)id->old_size);
		break;
	default:
		break;
	}
}

/* Opens path for reading bytes of its decompressed stream (gzip or plain). */
static gzFile
open_stream(const char *path, struct fs_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	gzFile g;

	if (fd < 0) {
		fs_err_set(err, errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((g = gzdopen(fd, "rb")) == NULL) {
		close(fd);
		fs_err_set(err, ENOMEM, "%s: out of memory", path);
	}
	return g;
}

/* Reads the file's identity: stat, whether gzip, its first decompressed bytes. */
static int
read_cur(struct cur *c, struct fs_err *err)
{
	unsigned char magic[2];
	gzFile g;
	int fd, n;

	if ((fd = open(c->path, O_RDONLY | O_CLOEXEC)) < 0)
		return fs_err_set(err, errno, "%s: %s", c->path, strerror(errno));
	if (fstat(fd, &c->sb) != 0) {
		fs_err_set(err, errno, "%s: %s", c->path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(c->sb.st_mode)) {
		close(fd);
		return fs_err_set(err, EISDIR, "%s: is a directory, not a log file", c->path);
	}
	c->gz = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
	close(fd);
	if (realpath(c->path, c->key) == NULL)
		snprintf(c->key, sizeof(c->key), "%s", c->path);
	if ((g = open_stream(c->path, err)) == NULL)
		return -1;
	n = gzread(g, c->head, sizeof(c->head));
	gzclose(g);
	/* a corrupt stream: its identity is what could be read; the reader reports it */
	c->headn = n > 0 ? (size_t)n : 0;
	return 0;
}

/*
 * 1 if the file's decompressed bytes [off - len, off) hash to sum (so it
 * holds at least off bytes and they end as the source's did), 0 if not.
 */
static int
tail_matches(const struct cur *c, uint64_t off, uint64_t len, uint64_t sum)
{
	unsigned char buf[ST_HEAD_MAX];
	struct fs_err err;
	gzFile g;
	int ok = 0;

	if (len > sizeof(buf) || len > off)
		return 0;
	if (len == 0)	/* nothing stored yet, or a database made before tails were kept */
		return c->gz || (uint64_t)c->sb.st_size >= off;
	if (!c->gz) {
		int fd;

		if ((uint64_t)c->sb.st_size < off || (fd = open(c->path, O_RDONLY | O_CLOEXEC)) < 0)
			return 0;
		ok = pread(fd, buf, len, (off_t)(off - len)) == (ssize_t)len;
		close(fd);
	} else if ((g = open_stream(c->path, &err)) != NULL) {
		ok = gzseek(g, (z_off_t)(off - len), SEEK_SET) == (z_off_t)(off - len) &&
		    gzread(g, buf, (unsigned)len) == (int)len;
		gzclose(g);
	}
	return ok && fs_fnv1a(buf, len) == sum;
}

/* 1 if the file starts as source s did and holds its bytes up to done_off. */
static int
same_content(const struct cur *c, const struct st_source *s)
{
	return s->head_len <= c->headn && fs_fnv1a(c->head, s->head_len) == s->head_sum &&
	    tail_matches(c, s->done_off, s->tail_len, s->tail_sum);
}

/* Candidates for a content match: sources with content whose head matches. */
struct cands {
	const struct cur *c;
	FS_VEC(struct st_source) v;
	int oom;
};

/* Keeps a source whose first bytes match; -1 when out of memory. */
static int
cand_add(struct cands *k, const struct st_source *s)
{
	if (s->head_len == 0 || s->done_off == 0 || s->head_len > k->c->headn ||
	    fs_fnv1a(k->c->head, s->head_len) != s->head_sum)
		return 0;
	return fs_vec_push(&k->v, *s);
}

/* A source of this client holding this content under any path (the newest); 1, 0 or -1. */
static int
find_content(struct st_store *st, const struct cur *c, const char *client, int64_t skip,
    struct st_source *out, struct fs_err *err)
{
	const union st_row *row;
	struct st_filter f;
	struct st_cursor *cur;
	struct cands k;
	size_t i;
	int found = 0, rc;

	memset(&k, 0, sizeof(k));
	k.c = c;
	st_filter_init(&f);
	f.client = client;
	if ((cur = st_cursor_open(st, ST_SOURCES, &f, err)) == NULL)
		return -1;
	while ((rc = st_cursor_next(cur, &row, err)) == 1 && !k.oom)
		k.oom = cand_add(&k, &row->source) != 0;
	st_cursor_close(cur);
	if (rc < 0 || k.oom) {
		fs_vec_free(&k.v);
		return k.oom ? fs_err_set(err, ENOMEM, "%s: out of memory", c->path) : -1;
	}
	for (i = k.v.n; i-- > 0 && !found;)
		if (k.v.v[i].id != skip && tail_matches(c, k.v.v[i].done_off, k.v.v[i].tail_len,
		    k.v.v[i].tail_sum)) {
			*out = k.v.v[i];
			found = 1;
		}
	fs_vec_free(&k.v);
	return found;
}

/* Continues source s with the file as it is now: resumed or unchanged. */
static int
continue_source(struct st_store *st, struct idctx *x, const struct st_source *s,
    enum ig_status d, struct fs_err *err)
{
	struct ig_identity *id = x->id;
	int held = !s->gz && s->done_off < s->size;	/* a held-back last line */

	id->src = *s;
	id->decision = d;
	if (s->state == ST_SRC_COMPLETE && (uint64_t)x->c.sb.st_size == s->size &&
	    !(held && x->final)) {
		id->nothing_new = 1;
		if (d == IG_RESUMED)
			id->decision = IG_UNCHANGED;
		if (!x->claim_unchanged)
			return 0;
	}
	/* the claim first: it waits for a commit of the source in flight (a server) */
	if (st_source_claim(st, s->id, s->done_off, &id->run, err) != 0)
		return -1;
	snprintf(id->src.path, sizeof(id->src.path), "%s", x->c.key);
	id->src.dev = (uint64_t)x->c.sb.st_dev;
	id->src.ino = (uint64_t)x->c.sb.st_ino;
	id->src.size = (uint64_t)x->c.sb.st_size;
	id->src.gz = x->c.gz;
	if (x->client != NULL)
		snprintf(id->src.client, sizeof(id->src.client), "%s", x->client);
	return st_source_update(st, &id->src, err);
}

/* Inserts a new source for the file (and claims it). */
static int
new_source(struct st_store *st, struct idctx *x, struct fs_err *err)
{
	struct ig_identity *id = x->id;

	memset(&id->src, 0, sizeof(id->src));
	snprintf(id->src.path, sizeof(id->src.path), "%s", id->stream ? x->c.path : x->c.key);
	if (!id->stream) {
		id->src.dev = (uint64_t)x->c.sb.st_dev;
		id->src.ino = (uint64_t)x->c.sb.st_ino;
		id->src.size = (uint64_t)x->c.sb.st_size;
		id->src.head_len = x->c.headn;
		id->src.head_sum = fs_fnv1a(x->c.head, x->c.headn);
		id->src.gz = x->c.gz;
	}
	snprintf(id->src.client, sizeof(id->src.client), "%s",
	    x->client != NULL ? x->client : ST_CLIENT_UNKNOWN);
	if (st_source_insert(st, &id->src, err) != 0)
		return -1;
	return st_source_claim(st, id->src.id, 0, &id->run, err);
}

/* The decision, inside one write transaction. */
static int
decide(void *arg, struct st_store *st, struct fs_err *err)
{
	struct idctx *x = arg;
	struct ig_identity *id = x->id;
	struct st_source s;
	int found;

	if (id->stream) {
		id->decision = IG_NEW;
		return new_source(st, x, err);
	}
	if ((found = st_source_find_path(st, x->c.key, x->client, &s, err)) < 0)
		return -1;
	if (found) {
		if (same_content(&x->c, &s))
			return continue_source(st, x, &s, IG_RESUMED, err);
		id->old_id = s.id;
		snprintf(id->old_path, sizeof(id->old_path), "%s", s.path);
		id->old_size = s.size;
		if (!x->c.gz && !s.gz && (uint64_t)x->c.sb.st_size < s.done_off)
			id->decision = IG_TRUNCATED;
		else if (s.dev != (uint64_t)x->c.sb.st_dev || s.ino != (uint64_t)x->c.sb.st_ino)
			id->decision = IG_ROTATED;
		else
			id->decision = IG_REPLACED;
	}
	if ((found = find_content(st, &x->c, x->client, found ? s.id : 0, &s, err)) < 0)
		return -1;
	if (found) {
		if (id->old_id == 0) {
			id->old_id = s.id;
			snprintf(id->old_path, sizeof(id->old_path), "%s", s.path);
			id->old_size = s.size;
		}
		return continue_source(st, x, &s, strcmp(s.path, x->c.key) == 0 ?
		    IG_RESUMED : IG_RENAMED, err);
	}
	if (!found && id->old_id == 0)
		id->decision = IG_NEW;
	return new_source(st, x, err);
}

/* Decides what to do with path. */
int
ig_identify(struct st_store *st, const char *path, const char *client, int final,
    int claim_unchanged, struct ig_identity *id, struct fs_err *err)
{
	struct idctx x;
	struct stat sb;
	int tries, rc;

	memset(id, 0, sizeof(*id));
	memset(&x, 0, sizeof(x));
	x.c.path = path;
	x.final = final;
	x.claim_unchanged = claim_unchanged;
	x.client = client;
	x.id = id;
	if (strcmp(path, "-") == 0 || (stat(path, &sb) == 0 && (S_ISFIFO(sb.st_mode) ||
	    S_ISCHR(sb.st_mode) || S_ISSOCK(sb.st_mode)))) {
		/*
		 * Standard input, or a pipe or device named by path
		 * (/dev/stdin, a FIFO): a stream, read once.  Peeking at its
		 * head would consume it, and it has no identity to resume by.
		 */
		id->stream = 1;
	} else if (read_cur(&x.c, err) != 0) {
		return -1;
	} else {
		id->regular = S_ISREG(x.c.sb.st_mode);
	}
	/* a decision taken on a source that moved while it was claimed is taken again */
	for (tries = 0;; tries++) {
		rc = st_transaction(st, decide, &x, err);
		if (rc == 0 || err->code != EAGAIN || tries == 20)
			return rc;
		memset(&id->src, 0, sizeof(id->src));
		id->decision = IG_NEW;
		id->nothing_new = 0;
		id->old_id = 0;
		id->old_path[0] = '\0';
		id->old_size = 0;
	}
}
