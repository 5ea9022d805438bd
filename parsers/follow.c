/*
 * Following growing logs (see parsers/follow.h).
 *
 * Per source:
 *   buf[start, end)   bytes read but not yet handed out; buf[start] is at
 *                     file offset base.  Everything before start has been
 *                     handed out (or skipped); a line is handed out only
 *                     when its newline is in the buffer, or when the input
 *                     has ended for good (stdin EOF, rotated-away file).
 *   rd_off            file offset of the next read() = base + (end - start).
 *   skip              1 while discarding up to the next newline (the tail of
 *                     a cut line, or of the partial line we started in).
 *
 * At the end of data of a regular file we check, in this order:
 *   truncation        fstat(fd).st_size < rd_off: restart at 0;
 *   rotation          stat(path) names another inode: read the old file
 *                     to its end (already done: read() just returned 0),
 *                     hand out its unterminated last line, then open the
 *                     new file at offset 0.
 * Both are done before any line of the new contents is handed out, so no
 * line is lost or handed out twice across them.
 */
#include "parsers/follow.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define FOLLOW_CHUNK	(256u * 1024)	/* bytes per read() */

struct follow_src {
	char *path;
	int is_stdin;
	int fd;
	int regular;			/* a regular file (can rotate/truncate) */
	dev_t dev;
	ino_t ino;
	char *buf;
	size_t cap, start, end;
	uint64_t base, rd_off;
	int skip;
	int eof;			/* read() returned 0 at the last attempt */
	int ended;			/* input over for good */
	uint64_t lineno;
	uint64_t generation;
	int wd;				/* its inotify watch, -1: none */
	struct ps_follow_stats st;
};

struct ps_follow {
	struct ps_follow_options opt;
	struct follow_src *src;
	int nsrc, capsrc;
	int cur;			/* round-robin position */
	int ifd;			/* inotify fd or -1 */
	uint64_t wakes;			/* waits ended by inotify news */
};

/* Fills in the defaults. */
void
ps_follow_options_default(struct ps_follow_options *o)
{
	memset(o, 0, sizeof(*o));
	o->poll_ms = 100;
	o->max_line = 1024 * 1024;
}

/* Creates an empty follower. */
struct ps_follow *
ps_follow_new(const struct ps_follow_options *o, struct fs_err *err)
{
	struct ps_follow *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		fs_err_set(err, ENOMEM, "follow: out of memory");
		return NULL;
	}
	if (o != NULL)
		f->opt = *o;
	else
		ps_follow_options_default(&f->opt);
	if (f->opt.poll_ms <= 0)
		f->opt.poll_ms = 100;
	if (f->opt.max_line < 64)
		f->opt.max_line = 64;
	f->ifd = -1;
	if (!f->opt.no_inotify)
		f->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);	/* -1: poll only */
	return f;
}

/*
 * Watches the directory holding path for names that come and go there
 * (creations, renames, deletions: a rotation).  Not for writes: a database
 * beside the log (top --db) would wake the follower at each of its own
 * pages; appends are watched on the file itself (watch_file).
 */
static void
watch_dir(struct ps_follow *f, const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;

	if (f->ifd < 0)
		return;
	if (slash == NULL) {
		strcpy(dir, ".");
	} else {
		n = (size_t)(slash - path);
		if (n == 0)
			n = 1;		/* "/file" */
		if (n >= sizeof(dir))
			return;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	/* Failure only costs latency: the poll fallback still runs. */
	(void)inotify_add_watch(f->ifd, dir, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
	    IN_DELETE);
}

/*
 * Watches the file now at s->path (its inode: appends, truncation, its
 * own rename or deletion); again after each rotation, for the new file.
 */
static void
watch_file(int ifd, struct follow_src *s)
{
	s->wd = -1;
	if (ifd >= 0 && s->regular)
		s->wd = inotify_add_watch(ifd, s->path, IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE |
		    IN_MOVE_SELF | IN_DELETE_SELF);
}

/*
 * 1 if a source watches wd: inotify gives one watch per inode, so two
 * sources on one file (or on a log and its rotated copy) share it.
 */
static int
wd_used(const struct ps_follow *f, int wd)
{
	int i;

	for (i = 0; i < f->nsrc; i++)
		if (f->src[i].wd == wd)
			return 1;
	return 0;
}

/* Opens s->path as the source's current file, watched on ifd; 0, or -1 with err set. */
static int
src_open(struct follow_src *s, int ifd, struct fs_err *err)
{
	struct stat st;
	int fd;

	if ((fd = open(s->path, O_RDONLY | O_CLOEXEC)) < 0)
		return fs_err_set(err, errno, "%s: %s", s->path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		fs_err_set(err, errno, "%s: %s", s->path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return fs_err_set(err, EISDIR, "%s: is a directory", s->path);
	}
	s->fd = fd;
	s->regular = S_ISREG(st.st_mode);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->start = s->end = 0;
	s->base = s->rd_off = 0;
	s->skip = 0;
	s->eof = 0;
	s->lineno = 0;
	watch_file(ifd, s);
	return 0;
}

/* Adds a file or stdin. */
int
ps_follow_add(struct ps_follow *f, const char *path, struct fs_err *err)
{
	struct follow_src *s;
	struct stat st;

	if (f->nsrc == f->capsrc) {
		int nc = f->capsrc ? f->capsrc * 2 : 4;
		struct follow_src *ns = realloc(f->src, (size_t)nc * sizeof(*ns));

		if (ns == NULL)
			return fs_err_set(err, ENOMEM, "%s: out of memory", path);
		f->src = ns;
		f->capsrc = nc;
	}
	s = &f->src[f->nsrc];
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->wd = -1;
	if ((s->path = strdup(path)) == NULL)
		return fs_err_set(err, ENOMEM, "%s: out of memory", path);
	s->cap = FOLLOW_CHUNK * 2;
	if ((s->buf = malloc(s->cap)) == NULL) {
		free(s->path);
		return fs_err_set(err, ENOMEM, "%s: out of memory", path);
	}
	if (strcmp(path, "-") == 0) {
		s->is_stdin = 1;
		s->fd = STDIN_FILENO;
		if (fstat(s->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			free(s->buf);
			free(s->path);
			return fs_err_set(err, EISDIR, "stdin: is a directory");
		}
	} else {
		if (src_open(s, f->ifd, err) < 0) {
			free(s->buf);
			free(s->path);
			return -1;
		}
		if (s->regular && !f->opt.from_start) {
			off_t size = lseek(s->fd, 0, SEEK_END);
			char c;

			if (size > 0) {
				/* Mid-line at the end: skip that line's rest. */
				if (pread(s->fd, &c, 1, size - 1) == 1 && c != '\n')
					s->skip = 1;
				s->base = s->rd_off = (uint64_t)size;
			}
		}
		if (s->regular)
			watch_dir(f, path);
	}
	return f->nsrc++;
}

/* Takes one complete line out of the buffer; 1 if one was found. */
static int
take_line(struct ps_follow *f, struct follow_src *s, int src, struct ps_follow_line *out)
{
	char *nl;

	for (;;) {
		if (s->start == s->end)
			return 0;
		nl = memchr(s->buf + s->start, '\n', s->end - s->start);
		if (nl == NULL) {
			if (s->skip) {
				/* Still inside a skipped line: drop what we have. */
				s->base += s->end - s->start;
				s->start = s->end = 0;
			}
			return 0;
		}
		if (s->skip) {
			size_t adv = (size_t)(nl - (s->buf + s->start)) + 1;

			s->base += adv;
			s->start += adv;
			s->skip = 0;
			continue;
		}
		out->p = s->buf + s->start;
		out->n = (size_t)(nl - out->p);
		out->off = s->base;
		if (out->n > f->opt.max_line) {
			out->n = f->opt.max_line;	/* only reachable via growth slack */
			s->st.cut_lines++;
		}
		out->src = src;
		out->lineno = ++s->lineno;
		out->generation = s->generation;
		s->base += (size_t)(nl - (s->buf + s->start)) + 1;
		s->start = (size_t)(nl - s->buf) + 1;
		s->st.lines++;
		return 1;
	}
}

/* Hands out the held partial line as a last line (input over for it). */
static int
take_rest(struct follow_src *s, int src, struct ps_follow_line *out)
{
	if (s->start == s->end || s->skip) {
		s->base += s->end - s->start;
		s->start = s->end = 0;
		s->skip = 0;
		return 0;
	}
	out->p = s->buf + s->start;
	out->n = s->end - s->start;
	out->off = s->base;
	out->src = src;
	out->lineno = ++s->lineno;
	out->generation = s->generation;
	s->base += out->n;
	s->start = s->end;
	s->st.lines++;
	return 1;
}

/*
 * Makes room for one more read chunk: compacts, grows up to max_line +
 * chunk, and when a single line fills that, cuts it (hands out nothing;
 * the caller's next take_line sees the cut line).  Returns 1 if a cut line
 * is ready in *out.
 */
static int
make_room(struct ps_follow *f, struct follow_src *s, int src, struct ps_follow_line *out)
{
	size_t have = s->end - s->start;

	if (s->start > 0 && s->cap - s->end < FOLLOW_CHUNK) {
		memmove(s->buf, s->buf + s->start, have);
		s->start = 0;
		s->end = have;
	}
	if (s->cap - s->end >= FOLLOW_CHUNK)
		return 0;
	if (have >= f->opt.max_line) {
		/* One line longer than max_line: hand out its head, skip the rest. */
		out->p = s->buf + s->start;
		out->n = f->opt.max_line;
		out->off = s->base;
		out->src = src;
		out->lineno = ++s->lineno;
		out->generation = s->generation;
		s->st.lines++;
		s->st.cut_lines++;
		s->base += have;
		s->start = s->end = 0;
		s->skip = 1;
		return 1;
	}
	{
		size_t nc = s->cap * 2;
		char *nb;

		if (nc > f->opt.max_line + 2 * FOLLOW_CHUNK)
			nc = f->opt.max_line + 2 * FOLLOW_CHUNK;
		if (nc <= s->cap)
			return 0;
		if ((nb = realloc(s->buf, nc)) == NULL)
			return 0;	/* keep the smaller buffer; the line gets cut */
		s->buf = nb;
		s->cap = nc;
	}
	return 0;
}

/*
 * End of data on a regular file: checks truncation and rotation.  Returns
 * 1 if reading should go on (restarted or reopened), 0 if there is simply
 * nothing new, 2 if *out holds the rotated-away file's last partial line.
 */
static int
check_file(struct ps_follow *f, struct follow_src *s, int src, struct ps_follow_line *out,
    struct fs_err *err)
{
	struct stat st;

	if (fstat(s->fd, &st) == 0 && (uint64_t)st.st_size < s->rd_off) {
		/* Truncated: what we held no longer exists. */
		if (lseek(s->fd, 0, SEEK_SET) < 0)
			return fs_err_set(err, errno, "%s: %s", s->path, strerror(errno));
		s->start = s->end = 0;
		s->base = s->rd_off = 0;
		s->skip = 0;
		s->lineno = 0;
		s->generation++;
		s->st.truncations++;
		return 1;
	}
	if (stat(s->path, &st) < 0)
		return 0;		/* rotated away, new one not there yet */
	if (st.st_dev == s->dev && st.st_ino == s->ino)
		return 0;
	/* Rotated: the old file is read to its end; finish its last line. */
	if (take_rest(s, src, out))
		return 2;
	{
		int oldfd = s->fd, oldwd = s->wd;
		uint64_t gen = s->generation;

		if (src_open(s, f->ifd, err) < 0) {
			if (err->code == ENOENT) {
				fs_err_clear(err);
				return 0;	/* gone again: retry later */
			}
			return -1;
		}
		close(oldfd);
		if (oldwd >= 0 && oldwd != s->wd && !wd_used(f, oldwd))
			(void)inotify_rm_watch(f->ifd, oldwd);	/* the rotated file: read out */
		s->generation = gen + 1;
		s->st.rotations++;
	}
	return 1;
}

/* Tries to produce one line from source i; 1 line, 0 none, -1 error. */
static int
src_next(struct ps_follow *f, int i, struct ps_follow_line *out, struct fs_err *err)
{
	struct follow_src *s = &f->src[i];
	ssize_t n;
	int r;

	for (;;) {
		if (take_line(f, s, i, out))
			return 1;
		if (s->ended)
			return take_rest(s, i, out);
		if (make_room(f, s, i, out))
			return 1;
		if (s->end == s->cap) {
			/* No room could be made (allocation failed): cut here. */
			s->skip = 0;
			if (take_rest(s, i, out)) {
				s->st.cut_lines++;
				s->skip = 1;
				return 1;
			}
		}
		if (s->is_stdin || !s->regular) {
			struct pollfd p = { .fd = s->fd, .events = POLLIN };

			if (poll(&p, 1, 0) <= 0)
				return 0;
		}
		n = read(s->fd, s->buf + s->end, s->cap - s->end < FOLLOW_CHUNK ?
		    s->cap - s->end : FOLLOW_CHUNK);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				return 0;
			return fs_err_set(err, errno, "%s: %s",
			    s->is_stdin ? "stdin" : s->path, strerror(errno));
		}
		if (n > 0) {
			s->end += (size_t)n;
			s->rd_off += (uint64_t)n;
			s->st.bytes += (uint64_t)n;
			s->eof = 0;
			continue;
		}
		s->eof = 1;
		if (!s->regular) {
			s->ended = 1;
			s->st.ended = 1;
			return take_rest(s, i, out);
		}
		r = check_file(f, s, i, out, err);
		if (r <= 0)
			return r;
		if (r == 2)
			return 1;
	}
}

/* Next line of any source, round robin. */
int
ps_follow_next(struct ps_follow *f, struct ps_follow_line *out, struct fs_err *err)
{
	int k, i, r;

	for (k = 0; k < f->nsrc; k++) {
		i = (f->cur + k) % f->nsrc;
		r = src_next(f, i, out, err);
		if (r != 0) {
			/* Stay on a source while it has lines: fewer switches. */
			f->cur = i;
			return r;
		}
	}
	return 0;
}

/* Waits for news on any source or extra_fd, at most min(timeout, poll_ms). */
int
ps_follow_wait(struct ps_follow *f, int extra_fd, int timeout_ms)
{
	struct pollfd p[3];
	int np = 0, i, xi = -1, stdin_live = 0;

	if (timeout_ms < 0 || timeout_ms > f->opt.poll_ms)
		timeout_ms = f->opt.poll_ms;
	if (f->ifd >= 0) {
		p[np].fd = f->ifd;
		p[np++].events = POLLIN;
	}
	for (i = 0; i < f->nsrc; i++)
		if ((f->src[i].is_stdin || !f->src[i].regular) && !f->src[i].ended)
			stdin_live = 1;
	if (stdin_live) {
		for (i = 0; i < f->nsrc; i++)
			if (!f->src[i].regular && !f->src[i].ended)
				break;
		p[np].fd = f->src[i].fd;
		p[np++].events = POLLIN;
	}
	if (extra_fd >= 0) {
		xi = np;
		p[np].fd = extra_fd;
		p[np++].events = POLLIN;
	}
	if (poll(p, (nfds_t)np, timeout_ms) <= 0)
		return 0;
	if (f->ifd >= 0 && (p[0].revents & POLLIN)) {
		char ev[4096];

		while (read(f->ifd, ev, sizeof(ev)) > 0)
			;	/* the events only say "look again" */
		f->wakes++;
	}
	return xi >= 0 && (p[xi].revents & (POLLIN | POLLHUP)) ? 1 : 0;
}

/* Waits ended by inotify news. */
uint64_t
ps_follow_wakes(const struct ps_follow *f)
{
	return f->wakes;
}

/* 1 when every source ended. */
int
ps_follow_ended(const struct ps_follow *f)
{
	int i;

	for (i = 0; i < f->nsrc; i++)
		if (!f->src[i].ended)
			return 0;
	return f->nsrc > 0;
}

/* Number of sources. */
int
ps_follow_nsources(const struct ps_follow *f)
{
	return f->nsrc;
}

/* The path of source src as given. */
const char *
ps_follow_path(const struct ps_follow *f, int src)
{
	return src >= 0 && src < f->nsrc ? f->src[src].path : NULL;
}

/* Copies source src's counters. */
void
ps_follow_stats(const struct ps_follow *f, int src, struct ps_follow_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (src >= 0 && src < f->nsrc)
		*out = f->src[src].st;
}

/* Closes and frees everything. */
void
ps_follow_free(struct ps_follow *f)
{
	int i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nsrc; i++) {
		if (f->src[i].fd >= 0 && !f->src[i].is_stdin)
			close(f->src[i].fd);
		free(f->src[i].buf);
		free(f->src[i].path);
	}
	free(f->src);
	if (f->ifd >= 0)
		close(f->ifd);
	free(f);
}
