/*
 * ps_reader: lines from a file, stdin or a gzip stream.
 *
 * Invariants:
 *  - buf[pos, end) holds bytes not yet returned; buf_off is the stream
 *    offset of buf[0] (offsets are in the decompressed stream).
 *  - A line is found with memchr; when no '\n' is in the window the window
 *    is moved to the start of buf and, if still full, buf is doubled, so a
 *    line is returned in one piece without per-line malloc.
 *  - A line longer than max_line is cut: its first max_line bytes are
 *    returned, the rest is read and dropped up to its newline through a
 *    chunk after them (cut_line), so buf never outgrows max_line and that
 *    chunk (or its initial size).  Offsets stay exact: buf_off moves past the dropped bytes.
 *  - gzip is recognised by its magic bytes (1f 8b), not by the name; a name
 *    ending in ".gz" with other content is an error.  Concatenated members
 *    are read one after another.
 */
#include "parsers/parser.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define RD_BUFSZ	(1u << 20)	/* initial line buffer */
#define RD_INSZ		(1u << 18)	/* compressed input chunk */
#define RD_SKIPSZ	(1u << 16)	/* chunk through which a cut line's rest is read */

struct ps_reader {
	char *path;
	int fd;
	int own_fd;
	int eof;			/* no more bytes will arrive in buf */
	int gz;
	z_stream zs;
	int zs_init;
	int z_end;			/* last inflate() returned Z_STREAM_END */
	unsigned char *in;		/* compressed input */
	size_t in_len;
	int in_eof;
	char *buf;
	size_t cap, pos, end;
	uint64_t buf_off;		/* stream offset of buf[0] */
	uint64_t next_off;		/* offset just past the last line returned */
	uint64_t lines;			/* lines returned so far */
	int unterminated;		/* the last line returned had no '\n' (end of input) */
	size_t max_line;		/* longer lines are cut */
	int last_cut;			/* the last line returned was cut */
	int blocks;			/* read by ps_reader_read: errors give the reason only */
	const int *stop;		/* ps_reader_set_stop */
	int regular;			/* a regular file: reads never wait */
	uint64_t cut_lines, cut_bytes, first_cut_lineno, first_cut_off;
};

/*
 * Reads up to n raw bytes from the descriptor, retrying on EINTR.  With a
 * stop flag, a descriptor that may keep a read waiting (a pipe, a
 * terminal) is polled first, so the flag ends the wait (-1, ECANCELED).
 */
static ssize_t
raw_read(struct ps_reader *r, void *dst, size_t n)
{
	ssize_t k;

	while (r->stop != NULL && !r->regular) {
		struct pollfd pfd = { r->fd, POLLIN, 0 };

		if (__atomic_load_n(r->stop, __ATOMIC_ACQUIRE)) {
			errno = ECANCELED;
			return -1;
		}
		if (poll(&pfd, 1, 100) != 0)
			break;	/* readable, hung up or failing: read says which */
	}
	do
		k = read(r->fd, dst, n);
	while (k < 0 && errno == EINTR);
	return k;
}

/* Describes where the reader is, for error messages ("line N"). */
static uint64_t
err_line(const struct ps_reader *r)
{
	return r->lines + 1;
}

/*
 * Sets err to "PATH:LINE: reason", or the reason alone when the reader is
 * read in blocks (its caller knows the line); returns -1.
 */
static int
rd_err(const struct ps_reader *r, struct fs_err *err, int code, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (r->blocks)
		return fs_err_set(err, code, "%s", why);
	return fs_err_set(err, code, "%s:%llu: %s", r->path, (unsigned long long)err_line(r),
	    why);
}

/*
 * Inflates into dst (at most n bytes).  Returns bytes produced, 0 at the
 * clean end of the gzip stream, -1 on error (err set).
 */
static ssize_t
gz_fill(struct ps_reader *r, char *dst, size_t n, struct fs_err *err)
{
	size_t want = n > UINT32_MAX ? UINT32_MAX : n, got;
	uInt before;
	ssize_t k;
	int zr;

	r->zs.next_out = (unsigned char *)dst;
	r->zs.avail_out = (uInt)want;
	for (;;) {
		got = want - r->zs.avail_out;
		if (r->zs.avail_in == 0 && !r->in_eof && got == 0) {
			k = raw_read(r, r->in, RD_INSZ);
			if (k < 0)
				return rd_err(r, err, errno, "read error: %s", strerror(errno));
			if (k == 0)
				r->in_eof = 1;
			r->zs.next_in = r->in;
			r->zs.avail_in = (uInt)k;
			continue;
		}
		if (r->z_end) {
			/* Between members: another member, or the end. */
			if (got > 0)
				return (ssize_t)got;
			if (r->zs.avail_in == 0)
				return 0;	/* in_eof here */
			if (r->zs.next_in[0] != 0x1f)
				return 0;	/* trailing garbage: ignored, as gzip -d */
			inflateReset(&r->zs);
			r->z_end = 0;
			continue;
		}
		if (r->zs.avail_out == 0)
			return (ssize_t)got;
		if (r->zs.avail_in == 0 && got > 0)
			return (ssize_t)got;
		/*
		 * With no input left, inflate may still hold output (a match it
		 * stopped copying when dst was full): only when it gives
		 * nothing more is the data truncated.
		 */
		before = r->zs.avail_out;
		zr = inflate(&r->zs, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			r->z_end = 1;
			continue;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return rd_err(r, err, -1, "corrupt gzip data (%s)",
			    r->zs.msg ? r->zs.msg : "inflate error");
		if (r->zs.avail_in == 0 && r->zs.avail_out == before && r->in_eof)
			return rd_err(r, err, -1, "truncated gzip data (unexpected end of file)");
	}
}

/* Appends more bytes at buf[end]; sets eof at the end.  -1 on error. */
static int
fill(struct ps_reader *r, struct fs_err *err)
{
	ssize_t k;

	if (r->pos > 0 && (r->end == r->cap || r->pos >= r->cap / 2)) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->buf_off += r->pos;
		r->end -= r->pos;
		r->pos = 0;
	}
	if (r->end == r->cap) {
		/* Doubling, but no further than a cut line needs. */
		size_t ncap = r->cap * 2, lim = r->max_line + RD_SKIPSZ;
		char *nb;

		if (ncap > lim && r->cap < lim)
			ncap = lim;
		nb = realloc(r->buf, ncap);

		if (nb == NULL)
			return fs_err_set(err, ENOMEM, "%s:%llu: line too long "
			    "(out of memory at %zu bytes)", r->path,
			    (unsigned long long)err_line(r), r->cap);
		/* Bytes past the data stay initialised (PCRE2's JIT reads ahead). */
		memset(nb + r->cap, 0, ncap - r->cap);
		r->buf = nb;
		r->cap = ncap;
	}
	if (r->gz)
		k = gz_fill(r, r->buf + r->end, r->cap - r->end, err);
	else {
		k = raw_read(r, r->buf + r->end, r->cap - r->end);
		if (k < 0)
			rd_err(r, err, errno, "read error: %s", strerror(errno));
	}
	if (k < 0)
		return -1;
	if (k == 0)
		r->eof = 1;
	r->end += (size_t)k;
	return 0;
}

/* Frees everything the reader holds. */
void
ps_reader_close(struct ps_reader *r)
{
	if (r == NULL)
		return;
	if (r->zs_init)
		inflateEnd(&r->zs);
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	free(r->in);
	free(r->buf);
	free(r->path);
	free(r);
}

/* Skips start_off bytes of the stream (seek when possible). */
static int
skip_to(struct ps_reader *r, uint64_t start_off, struct fs_err *err)
{
	struct stat st;

	if (!r->gz && start_off > r->end && fstat(r->fd, &st) == 0 &&
	    S_ISREG(st.st_mode) && (uint64_t)st.st_size >= start_off &&
	    lseek(r->fd, (off_t)start_off, SEEK_SET) == (off_t)start_off) {
		r->buf_off = start_off;
		r->next_off = start_off;
		r->pos = r->end = 0;
		r->eof = 0;
		return 0;
	}
	while (r->buf_off + r->end < start_off && !r->eof) {
		/* Drop everything buffered, then read more. */
		r->buf_off += r->end;
		r->pos = r->end = 0;
		if (fill(r, err) < 0)
			return -1;
	}
	if (r->buf_off + r->end < start_off)
		return fs_err_set(err, -1, "%s: start offset %llu is past the "
		    "end of the input (%llu bytes)", r->path,
		    (unsigned long long)start_off,
		    (unsigned long long)(r->buf_off + r->end));
	r->pos = (size_t)(start_off - r->buf_off);
	r->next_off = start_off;
	return 0;
}

/* 1 if the path names a gzip file by its suffix. */
static int
is_gz_name(const char *path)
{
	size_t n = strlen(path);

	return n > 3 && strcmp(path + n - 3, ".gz") == 0;
}

/* Opens path ("-" = stdin) positioned at start_off of the stream. */
struct ps_reader *
ps_reader_open(const char *path, uint64_t start_off, struct fs_err *err)
{
	struct ps_reader *r;
	struct stat st;
	ssize_t k;

	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->path = strdup(path)) == NULL ||
	    (r->buf = calloc(1, RD_BUFSZ)) == NULL) {
		fs_err_set(err, ENOMEM, "%s: out of memory", path);
		if (r)
			free(r->path);
		free(r);
		return NULL;
	}
	r->cap = RD_BUFSZ;
	r->fd = -1;
	r->max_line = PS_READER_MAX_LINE;
	if (strcmp(path, "-") == 0) {
		r->fd = STDIN_FILENO;
	} else {
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r->fd < 0) {
			fs_err_set(err, errno, "%s: %s", path,
			    errno == ENOENT ? "no such file" : strerror(errno));
			goto fail;
		}
		r->own_fd = 1;
	}
	if (fstat(r->fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			fs_err_set(err, EISDIR, "%s: is a directory", path);
			goto fail;
		}
		r->regular = S_ISREG(st.st_mode);
	}
	/* Sniff the magic bytes: read the first chunk into buf. */
	while (r->end < 2) {
		k = raw_read(r, r->buf + r->end, r->cap - r->end);
		if (k < 0) {
			fs_err_set(err, errno, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (k == 0) {
			r->eof = 1;
			break;
		}
		r->end += (size_t)k;
	}
	if (!(r->end >= 2 && (unsigned char)r->buf[0] == 0x1f &&
	    (unsigned char)r->buf[1] == 0x8b) && is_gz_name(path)) {
		fs_err_set(err, -1, "%s: not in gzip format (the name ends in "
		    ".gz; rename the file to read it as text)", path);
		goto fail;
	}
	if (r->end >= 2 && (unsigned char)r->buf[0] == 0x1f &&
	    (unsigned char)r->buf[1] == 0x8b) {
		int zr;

		r->gz = 1;
		r->eof = 0;
		r->in = malloc(RD_INSZ > r->end ? RD_INSZ : r->end);
		if (r->in == NULL) {
			fs_err_set(err, ENOMEM, "%s: out of memory", path);
			goto fail;
		}
		memcpy(r->in, r->buf, r->end);
		r->zs.next_in = r->in;
		r->zs.avail_in = (uInt)r->end;
		r->end = 0;
		zr = inflateInit2(&r->zs, 15 + 16);
		if (zr != Z_OK) {
			fs_err_set(err, -1, "%s: cannot start gzip decoder", path);
			goto fail;
		}
		r->zs_init = 1;
		/* Decode the first bytes now so a corrupt header fails the open. */
		if (fill(r, err) < 0)
			goto fail;
	}
	if (skip_to(r, start_off, err) < 0)
		goto fail;
	return r;
fail:
	ps_reader_close(r);
	return NULL;
}

/* Reads more bytes into buf[end, cap) (no buffer change); 0 at end of input, -1 on error. */
static ssize_t
read_more(struct ps_reader *r, struct fs_err *err)
{
	ssize_t k;

	if (r->gz)
		return gz_fill(r, r->buf + r->end, r->cap - r->end, err);
	k = raw_read(r, r->buf + r->end, r->cap - r->end);
	if (k < 0)
		rd_err(r, err, errno, "read error: %s", strerror(errno));
	return k;
}

/*
 * Returns the line at buf[pos] cut to max_line bytes.  nl is its newline
 * if already in the window, else NULL: the rest is then read and dropped
 * through a small chunk after the kept bytes until its newline (or the end
 * of the input).  buf[pos, pos + max_line) is not touched, so the line
 * stays valid until the next call.
 */
static int
cut_line(struct ps_reader *r, const char *nl, const char **line, size_t *len,
    uint64_t *off, struct fs_err *err)
{
	size_t keep, next;
	uint64_t gap = 0;
	ssize_t k;

	if (nl == NULL && r->pos > 0 && r->cap - (r->pos + r->max_line) < RD_SKIPSZ) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->buf_off += r->pos;
		r->end -= r->pos;
		r->pos = 0;
	}
	keep = r->pos + r->max_line;
	if (nl == NULL && r->cap - keep < RD_SKIPSZ) {
		size_t ncap = keep + RD_SKIPSZ;
		char *nb = realloc(r->buf, ncap);

		if (nb == NULL)
			return fs_err_set(err, ENOMEM, "%s:%llu: out of memory "
			    "cutting a long line", r->path,
			    (unsigned long long)err_line(r));
		memset(nb + r->cap, 0, ncap - r->cap);
		r->buf = nb;
		r->cap = ncap;
	}
	if (nl != NULL)
		next = (size_t)(nl - r->buf) + 1;
	else {
		/* Drop everything after the kept bytes up to the newline. */
		for (;;) {
			const char *q = memchr(r->buf + keep, '\n', r->end - keep);

			if (q != NULL) {
				next = (size_t)(q - r->buf) + 1;
				break;
			}
			gap += r->end - keep;
			r->end = keep;
			if (r->eof) {
				next = keep;
				r->unterminated = 1;
				break;
			}
			if ((k = read_more(r, err)) < 0)
				return -1;
			if (k == 0)
				r->eof = 1;
			r->end += (size_t)k;
		}
	}
	*line = r->buf + r->pos;
	*len = r->max_line;
	*off = r->buf_off + r->pos;
	/* The bytes from keep on are gap bytes further into the stream. */
	r->cut_bytes += gap + (next - keep) - (nl != NULL || next > keep ? 1 : 0);
	r->buf_off += gap;
	r->pos = next;
	r->next_off = r->buf_off + r->pos;
	r->lines++;
	if (r->cut_lines++ == 0) {
		r->first_cut_lineno = r->lines;
		r->first_cut_off = *off;
	}
	r->last_cut = 1;
	return 1;
}

/* Returns the next line (see parser.h). */
int
ps_reader_next(struct ps_reader *r, const char **line, size_t *len,
    uint64_t *off, struct fs_err *err)
{
	size_t scan = r->pos;
	char *nl;

	r->last_cut = 0;
	for (;;) {
		nl = memchr(r->buf + scan, '\n', r->end - scan);
		if (nl != NULL)
			break;
		if (r->end - r->pos > r->max_line)
			return cut_line(r, NULL, line, len, off, err);
		if (r->eof) {
			if (r->pos == r->end)
				return 0;
			/* Final line without a newline. */
			*line = r->buf + r->pos;
			*len = r->end - r->pos;
			*off = r->buf_off + r->pos;
			if (*len > 0 && (*line)[*len - 1] == '\r')
				(*len)--;
			r->pos = r->end;
			r->next_off = r->buf_off + r->end;
			r->lines++;
			r->unterminated = 1;
			return 1;
		}
		scan = r->end - r->pos;	/* bytes already searched */
		if (fill(r, err) < 0)
			return -1;
		scan += r->pos;
	}
	if ((size_t)(nl - (r->buf + r->pos)) > r->max_line)
		return cut_line(r, nl, line, len, off, err);
	*line = r->buf + r->pos;
	*len = (size_t)(nl - *line);
	*off = r->buf_off + r->pos;
	if (*len > 0 && nl[-1] == '\r')
		(*len)--;
	r->pos = (size_t)(nl - r->buf) + 1;
	r->next_off = r->buf_off + r->pos;
	r->lines++;
	return 1;
}

/* Sets the longest line returned whole (0: the default). */
void
ps_reader_set_max_line(struct ps_reader *r, size_t max)
{
	r->max_line = max > 0 ? max : PS_READER_MAX_LINE;
}

/* 1 if the last line returned was cut. */
int
ps_reader_last_cut(const struct ps_reader *r)
{
	return r->last_cut;
}

/* The reader's counters. */
void
ps_reader_stats(const struct ps_reader *r, struct ps_reader_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->lines = r->lines;
	st->cut_lines = r->cut_lines;
	st->cut_bytes = r->cut_bytes;
	st->first_cut_lineno = r->first_cut_lineno;
	st->first_cut_off = r->first_cut_off;
}

/* 1 if the last line returned ended at the end of the input without a newline. */
int
ps_reader_unterminated(const struct ps_reader *r)
{
	return r->unterminated;
}

/* Offset just past the last line returned. */
uint64_t
ps_reader_offset(const struct ps_reader *r)
{
	return r->next_off;
}

/* 1 if the input is gzip-compressed. */
int
ps_reader_is_gz(const struct ps_reader *r)
{
	return r->gz;
}

/* The next bytes of the stream, in blocks (see parser.h). */
ssize_t
ps_reader_read(struct ps_reader *r, char *dst, size_t n, struct fs_err *err)
{
	ssize_t k;
	size_t have = r->end - r->pos;

	r->blocks = 1;
	if (have > 0) {
		/* What the open read (sniffing, the first inflated bytes) comes first. */
		if (have > n)
			have = n;
		memcpy(dst, r->buf + r->pos, have);
		r->pos += have;
		r->next_off = r->buf_off + r->pos;
		return (ssize_t)have;
	}
	if (r->eof)
		return 0;
	if (r->gz)
		k = gz_fill(r, dst, n, err);
	else if ((k = raw_read(r, dst, n)) < 0)
		rd_err(r, err, errno, "read error: %s", strerror(errno));
	if (k == 0)
		r->eof = 1;
	if (k > 0) {
		r->buf_off += (uint64_t)k;
		r->next_off = r->buf_off + r->pos;
	}
	return k;
}

/* Frees the line buffer of a reader read in blocks only. */
void
ps_reader_drop_buffer(struct ps_reader *r)
{
	if (r->pos == r->end) {
		free(r->buf);
		r->buf = NULL;
		r->cap = r->pos = r->end = 0;
	}
}

/* Lets *stop (read atomically) end a read that waits for input (NULL: none). */
void
ps_reader_set_stop(struct ps_reader *r, const int *stop)
{
	r->stop = stop;
}
