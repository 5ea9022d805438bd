/*
 * Object prefixes (spec section 2): bmap@, biorq@, bmpce@, req@, fcmh@ of
 * every era, decoded by hand (no regex) for speed.
 *
 * Every prefix is "name@%p" followed by space-separated key:value or
 * key=value tokens.  The prefix ends
 *   - era Z:  at " : " (req@: " :: ");
 *   - era A:  after the era's last key (bmap opcnt=; biorq ts= and bmpce
 *             biorq=, each followed by one flag-letter token that may be
 *             empty, leaving two spaces; req@ and fcmh@ at " :: ").
 * A prefix that does not decode leaves the message untouched (its PS_HAS_*
 * bit is not set).
 */
#include "parsers/internal.h"
#include "util/map.h"

#include <string.h>

/* Cursor over the message. */
struct cur {
	const char *s;
	size_t n, i;
};

/* One key/value token. */
struct kv {
	const char *k, *v;
	size_t kn, vn;
};

/* Hex digit values plus one; 0 for every other byte. */
static const unsigned char hexv1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/*
 * Parses hex (optional 0x) from v[0..n); stops at the first non-digit.
 * Inline: era A's prefix decoders read three hex values a line with it.
 */
static inline uint64_t
p_hex(const char *v, size_t n, size_t *used)
{
	uint64_t x = 0;
	size_t i = 0;
	unsigned d;

	if (n >= 2 && v[0] == '0' && (v[1] | 0x20) == 'x')
		i = 2;
	for (; i < n && (d = hexv1[(unsigned char)v[i]]) != 0; i++)
		x = x * 16 + d - 1;
	if (used)
		*used = i;
	return x;
}

/* A number printed with %u or %#x (0x prefix means hex). */
static uint64_t
p_num(const char *v, size_t n, size_t *used)
{
	if (n >= 2 && v[0] == '0' && (v[1] | 0x20) == 'x')
		return p_hex(v, n, used);
	return (uint64_t)ps_dec(v, n, used);
}

/* A %p value: 0x... or (nil). */
static uint64_t
p_ptr(const char *v, size_t n)
{
	if (n >= 2 && v[0] == '0' && (v[1] | 0x20) == 'x')
		return p_hex(v, n, NULL);
	return 0;
}

/* Reads "0x..." or "(nil)" at the cursor; 0 if neither. */
static int
read_ptr(struct cur *c, uint64_t *out)
{
	const char *s = c->s + c->i;
	size_t n = c->n - c->i, k;

	if (n >= 5 && memcmp(s, "(nil)", 5) == 0) {
		*out = 0;
		c->i += 5;
		return 1;
	}
	if (n < 3 || s[0] != '0' || s[1] != 'x')
		return 0;
	*out = p_hex(s, n, &k);
	if (k == 2)
		return 0;
	c->i += k;
	return 1;
}

/*
 * Reads " key=value" or " key:value" (key of letters/digits/'+'/'_',
 * value up to the next space).  0 if the next token is not one.
 */
static int
read_kv(struct cur *c, struct kv *kv)
{
	const char *s = c->s;
	size_t i = c->i, k0;

	if (i >= c->n || s[i] != ' ')
		return 0;
	i++;
	k0 = i;
	while (i < c->n && s[i] != '=' && s[i] != ':' && s[i] != ' ')
		i++;
	if (i >= c->n || i == k0 || s[i] == ' ')
		return 0;
	kv->k = s + k0;
	kv->kn = i - k0;
	i++;
	kv->v = s + i;
	while (i < c->n && s[i] != ' ')
		i++;
	kv->vn = (size_t)(s + i - kv->v);
	c->i = i;
	return 1;
}

/* Key equality. */
static inline int
key(const struct kv *kv, const char *k)
{
	size_t n = strlen(k);

	return kv->kn == n && memcmp(kv->k, k, n) == 0;
}

/* Consumes " : " (era Z end of prefix); 1 if it was there. */
static int
eat_colon_end(struct cur *c)
{
	if (c->i + 3 <= c->n && c->s[c->i] == ' ' && c->s[c->i + 1] == ':' &&
	    c->s[c->i + 2] == ' ') {
		c->i += 3;
		return 1;
	}
	if (c->i + 2 == c->n && c->s[c->i] == ' ' && c->s[c->i + 1] == ':') {
		c->i += 2;
		return 1;
	}
	return 0;
}

/* Consumes " <letters> " (era A; letters may be empty). */
static int
eat_letters(struct cur *c)
{
	size_t i = c->i;

	if (i >= c->n || c->s[i] != ' ')
		return 0;
	i++;
	while (i < c->n && c->s[i] != ' ')
		i++;
	if (i < c->n)
		i++;	/* the space before the message */
	c->i = i;
	return 1;
}

/* Numeric flags of a "flg" / "fl" value: "8259", "0x406:WL+", "0x1:d". */
static uint32_t
flags_val(const struct kv *kv)
{
	return (uint32_t)p_num(kv->v, kv->vn, NULL);
}

/*
 * Whether a bmap's flags say DIRTY (spec 2.1): decimal flags (era A's m:,
 * 2010's flg:%u) hold bit 0x40; after 2011-05 the bits moved and the
 * letters say it: the 494ee8caf alphabet (R W I D Q C d M L T A G w O) has
 * d for DIRTY; HEAD's (R W L l D F G w B) has none.  -1: cannot tell.
 */
static int8_t
flags_dirty(const struct kv *kv)
{
	const char *colon = memchr(kv->v, ':', kv->vn);
	size_t i, n;
	int old = 0, head = 0, d = 0;

	if (colon == NULL)
		return kv->vn > 1 && kv->v[0] == '0' && (kv->v[1] == 'x' || kv->v[1] == 'X') ? -1 :
		    (flags_val(kv) & 0x40) != 0;
	n = kv->vn - (size_t)(colon + 1 - kv->v);
	for (i = 0; i < n; i++) {
		char ch = colon[1 + i];

		if (strchr("IQCdMTAO", ch) != NULL)
			old = 1;
		else if (strchr("LlFB", ch) != NULL)
			head = 1;
		d |= ch == 'd';
	}
	if (old && !head)
		return (int8_t)d;
	return -1;
}

/*
 * Era A's prefixes in one pass.  Nearly every line of an era-A log is a
 * bmap@ or biorq@ line, and the token loops below spent about 700
 * instructions on each (callgrind): a scan for the key, key comparisons,
 * a second scan for the value, then the value decoded.  The layouts are
 * fixed (spec 2.1, 2.2), so these read them left to right, decoding each
 * value as it is scanned.  They accept only plain runs of digits short
 * enough to decode exactly, each followed by the layout's next key, on
 * which the token loops give the very same event; on anything else they
 * return 0 having changed nothing, and the token loop decodes the prefix.
 * tests/check_parsers.c compares both on every line of the test logs and
 * on mutations of them.
 */

/*
 * A run of 1..max digits (hex or decimal, without a sign or a 0x prefix) at
 * s[*i..n), read by p_hex or ps_dec: its value in *v and *i past it; 0 if
 * the run is empty or longer than max, with nothing changed.
 */
static inline int
digit_run(const char *s, size_t n, size_t *i, int hex, size_t max, uint64_t *v)
{
	size_t k = *i, m = n - k > max ? max + 1 : n - k, used;
	uint64_t x;

	if (m == 0 || s[k] == '-' || (hex && m >= 2 && s[k] == '0' && (s[k + 1] | 0x20) == 'x'))
		return 0;
	x = hex ? p_hex(s + k, m, &used) : (uint64_t)ps_dec(s + k, m, &used);
	if (used == 0 || used > max)
		return 0;
	*v = x;
	*i = k + used;
	return 1;
}

/* The literal lit (of length ln) at s[*i..n): *i past it; 0 if not there. */
static inline int
lit(const char *s, size_t n, size_t *i, const char *lit, size_t ln)
{
	if (n - *i < ln || memcmp(s + *i, lit, ln) != 0)
		return 0;
	*i += ln;
	return 1;
}

/* Skips the bytes before the next space (or n) at s[*i..n). */
static inline void
to_space(const char *s, size_t n, size_t *i)
{
	while (*i < n && s[*i] != ' ')
		(*i)++;
}

/*
 * Ends a bmap@ prefix, c->i just past opcnt's value: at " : " (a later era)
 * or the space before the message.
 */
static int
bmap_done(struct cur *c, struct ps_event *ev)
{
	if (!eat_colon_end(c) && c->i < c->n)
		c->i++;
	ev->has |= PS_HAS_BMAP;
	return 1;
}

/*
 * The memo (see ps_body_memo in internal.h).  A bmap@ prefix that
 * dec_bmap_a decoded is a function of the bytes it read: from after the @ to
 * the space after opcnt's value (the key, kept), then whether ": " follows
 * (bmap_done's " : "), which is read again.  It is kept when the line held
 * those two bytes too; a later prefix with the very same key, and the two
 * bytes after it, decodes the same, so it takes the kept fields.  Equal
 * keys give the same slot: its number is a hash of the first 24 bytes
 * (every key is longer).  A spinning bmap's prefix repeats on each of its
 * lines, before every message: on bench/ingest.sh's era-A log the memo
 * halved the decoder's instructions (582 to 299 a line, callgrind).
 */
#define MEMO_HASHED	24

_Static_assert(PS_BMAP_MEMO_KEY <= UINT8_MAX, "memo key length fits its field");

/* The slot of the prefix at s (MEMO_HASHED bytes readable): the tables' mixer. */
static inline struct ps_bmap_memo_slot *
memo_slot(struct ps_body_memo *m, const char *s)
{
	uint64_t w[MEMO_HASHED / 8];

	memcpy(w, s, sizeof(w));
	return &m->slot[fs_mix2(w[0] ^ w[2], w[1]) >> (64 - PS_BMAP_MEMO_BITS)];
}

/* The kept decoding of the bmap@ prefix at the cursor, if any: 1, ev and c->i set. */
static int
memo_get(struct ps_body_memo *m, struct cur *c, struct ps_event *ev)
{
	const char *s = c->s + c->i;
	size_t left = c->n - c->i, k;
	const struct ps_bmap_memo_slot *e;

	if (left < MEMO_HASHED)
		return 0;
	e = memo_slot(m, s);
	k = e->len;
	if (k == 0 || left < k + 2 || memcmp(s, e->key, k) != 0)
		return 0;
	memcpy(&ev->bmap, e->bmap, sizeof(ev->bmap));	/* all that dec_bmap_a sets */
	ev->has |= PS_HAS_BMAP;
	c->i += s[k] == ':' && s[k + 1] == ' ' ? k + 2 : k;	/* as bmap_done */
	return 1;
}

/* Keeps the decoding in ev of the prefix whose key is s[0..len). */
static void
memo_put(struct ps_body_memo *m, const char *s, size_t len, const struct ps_event *ev)
{
	struct ps_bmap_memo_slot *e;

	if (len > PS_BMAP_MEMO_KEY || len < MEMO_HASHED)
		return;
	e = memo_slot(m, s);
	e->len = (uint8_t)len;
	memcpy(e->key, s, len);
	memcpy(e->bmap, &ev->bmap, sizeof(ev->bmap));
}

/*
 * bmap@ in era A: "0x%p b:%x m:%u i:%x opcnt=%d", then " : " (a later era's
 * end of prefix, as dec_bmap takes it) or the space before the message.
 * Kept in m (if not NULL) when the line holds the bytes the memo needs.
 */
static int
dec_bmap_a(struct cur *c, struct ps_event *ev, struct ps_body_memo *m)
{
	const char *s = c->s;
	size_t n = c->n, i = c->i, i0 = c->i;
	uint64_t addr, bno, flags, fid, opcnt;

	if (!lit(s, n, &i, "0x", 2) || !digit_run(s, n, &i, 1, 16, &addr) ||
	    !lit(s, n, &i, " b:", 3) || !digit_run(s, n, &i, 1, 8, &bno) ||
	    !lit(s, n, &i, " m:", 3) || !digit_run(s, n, &i, 0, 9, &flags) ||
	    !lit(s, n, &i, " i:", 3) || !digit_run(s, n, &i, 1, 16, &fid) ||
	    !lit(s, n, &i, " opcnt=", 7) || !digit_run(s, n, &i, 0, 9, &opcnt) ||
	    (i < n && s[i] != ' '))
		return 0;
	ev->bmap.addr = addr;
	ev->bmap.bno = (uint32_t)bno;
	ev->bmap.flags = (uint32_t)flags;
	ev->bmap.dirty = (flags & 0x40) != 0;
	ev->bmap.fid = fid;
	ev->bmap.opcnt = (int32_t)opcnt;
	c->i = i;
	bmap_done(c, ev);
	if (m != NULL && n - i >= 3)	/* s[i] is the space; bmap_done read the two after */
		memo_put(m, s + i0, i + 1 - i0, ev);
	return 1;
}

/*
 * biorq@ in era A: "0x%p fl=%u o=%u l=%u np=%s b=0x%p ts=%s", the flag
 * letters (possibly none) and the space before the message.
 */
static int
dec_biorq_a(struct cur *c, struct ps_event *ev)
{
	const char *s = c->s;
	size_t n = c->n, i = c->i;
	uint64_t addr, flags, off, len, baddr;
	struct cur t;

	if (!lit(s, n, &i, "0x", 2) || !digit_run(s, n, &i, 1, 16, &addr) ||
	    !lit(s, n, &i, " fl=", 4) || !digit_run(s, n, &i, 0, 9, &flags) ||
	    !lit(s, n, &i, " o=", 3) || !digit_run(s, n, &i, 0, 9, &off) ||
	    !lit(s, n, &i, " l=", 3) || !digit_run(s, n, &i, 0, 9, &len) ||
	    !lit(s, n, &i, " np=", 4))
		return 0;
	to_space(s, n, &i);
	if (!lit(s, n, &i, " b=0x", 5) || !digit_run(s, n, &i, 1, 16, &baddr) ||
	    !lit(s, n, &i, " ts=", 4))
		return 0;
	to_space(s, n, &i);
	t = (struct cur){ s, n, i };
	if (!eat_letters(&t))
		return 0;	/* the line ends after ts=: so does the token loop */
	ev->biorq.addr = addr;
	ev->biorq.flags = (uint32_t)flags;
	ev->biorq.off = (uint32_t)off;
	ev->biorq.len = (uint32_t)len;
	ev->biorq.bmap_addr = baddr;
	c->i = t.i;
	ev->has |= PS_HAS_BIORQ;
	return 1;
}

/* bmap@ prefix (2.1).  c->i is just past '@'. */
static int
dec_bmap(struct cur *c, struct ps_event *ev, int fast, struct ps_body_memo *m)
{
	struct kv kv;

	if (fast && ((m != NULL && memo_get(m, c, ev)) || dec_bmap_a(c, ev, m)))
		return 1;
	if (!read_ptr(c, &ev->bmap.addr))
		return 0;
	while (read_kv(c, &kv)) {
		if (key(&kv, "b"))
			ev->bmap.bno = (uint32_t)p_hex(kv.v, kv.vn, NULL);
		else if (key(&kv, "bno"))
			ev->bmap.bno = (uint32_t)p_num(kv.v, kv.vn, NULL);
		else if (key(&kv, "m") || key(&kv, "flg")) {
			ev->bmap.flags = flags_val(&kv);
			ev->bmap.dirty = flags_dirty(&kv);
		}
		else if (key(&kv, "i") || key(&kv, "fid"))
			ev->bmap.fid = p_hex(kv.v, kv.vn, NULL);
		else if (key(&kv, "opcnt")) {
			ev->bmap.opcnt = (int32_t)ps_dec(kv.v, kv.vn, NULL);
			return bmap_done(c, ev);
		}
	}
	return 0;
}

/* biorq@ prefix (2.2). */
static int
dec_biorq(struct cur *c, struct ps_event *ev, int fast)
{
	struct kv kv;

	if (fast && dec_biorq_a(c, ev))
		return 1;
	if (!read_ptr(c, &ev->biorq.addr))
		return 0;
	while (read_kv(c, &kv)) {
		if (key(&kv, "fl") || key(&kv, "flg"))
			ev->biorq.flags = flags_val(&kv);
		else if (key(&kv, "o") || key(&kv, "off"))
			ev->biorq.off = (uint32_t)ps_dec(kv.v, kv.vn, NULL);
		else if (key(&kv, "l") || key(&kv, "len"))
			ev->biorq.len = (uint32_t)ps_dec(kv.v, kv.vn, NULL);
		else if (key(&kv, "b") || key(&kv, "bmap"))
			ev->biorq.bmap_addr = p_ptr(kv.v, kv.vn);
		else if (key(&kv, "ts")) {
			/* Era A: the flag letters, then the message. */
			if (!eat_letters(c))
				return 0;
			ev->has |= PS_HAS_BIORQ;
			return 1;
		}
		if (eat_colon_end(c)) {
			ev->has |= PS_HAS_BIORQ;
			return 1;
		}
	}
	return 0;
}

/* bmpce@ prefix (2.3). */
static int
dec_bmpce(struct cur *c, struct ps_event *ev)
{
	struct kv kv;

	if (!read_ptr(c, &ev->bmpce.addr))
		return 0;
	while (read_kv(c, &kv)) {
		if (key(&kv, "fl"))
			ev->bmpce.flags = flags_val(&kv);
		else if (key(&kv, "o") || key(&kv, "off"))
			ev->bmpce.off = (uint32_t)p_hex(kv.v, kv.vn, NULL);
		else if (key(&kv, "biorq")) {
			if (!eat_letters(c))
				return 0;
			ev->has |= PS_HAS_BMPCE;
			return 1;
		}
		if (eat_colon_end(c)) {
			ev->has |= PS_HAS_BMPCE;
			return 1;
		}
	}
	return 0;
}

/* Finds needle in s[from..n); index or n. */
static size_t
find(const char *s, size_t n, size_t from, const char *needle)
{
	const char *p;

	if (from >= n)
		return n;
	p = ps_memfind(s + from, n - from, needle, strlen(needle));
	return p ? (size_t)(p - s) : n;
}

/* req@ prefix (2.4): xid and opcode, then up to " :: ". */
static int
dec_req(struct cur *c, struct ps_event *ev)
{
	size_t e, k;
	uint64_t addr;

	if (!read_ptr(c, &addr))
		return 0;
	e = find(c->s, c->n, c->i, " :: ");
	if (e == c->n)
		return 0;
	ev->req.addr = addr;
	if (c->i + 2 < e && c->s[c->i] == ' ' && c->s[c->i + 1] == 'x') {
		ev->req.xid = ps_dec(c->s + c->i + 2, e - c->i - 2, &k);
		c->i += 2 + k;
	}
	/* The opcode: the token " o%d->" . */
	k = find(c->s, e, c->i, " o");
	while (k < e) {
		size_t used;
		int64_t v = ps_dec(c->s + k + 2, e - k - 2, &used);

		if (used > 0 && k + 2 + used + 1 < e && c->s[k + 2 + used] == '-' &&
		    c->s[k + 3 + used] == '>') {
			ev->req.opc = (int32_t)v;
			break;
		}
		k = find(c->s, e, k + 2, " o");
	}
	c->i = e + 4;
	ev->has |= PS_HAS_REQ;
	return 1;
}

/* fcmh@ prefix (2.5): skipped up to " :: " (era A) or " : " after mode=. */
static int
dec_fcmh(struct cur *c, struct ps_event *ev)
{
	uint64_t addr;
	size_t e;

	if (!read_ptr(c, &addr))
		return 0;
	e = find(c->s, c->n, c->i, " :: ");
	if (e < c->n) {
		c->i = e + 4;
	} else {
		e = find(c->s, c->n, c->i, " mode=");
		if (e == c->n)
			return 0;
		e = find(c->s, c->n, e, " : ");
		if (e == c->n)
			return 0;
		c->i = e + 3;
	}
	ev->has |= PS_HAS_FCMH;
	return 1;
}

/*
 * Decodes prefixes at the start of s[0..n) (era A's layouts first if fast,
 * with memo m if not NULL); sets ev->msg.
 */
static inline void
body_decode(const char *s, size_t n, struct ps_event *ev, int fast, struct ps_body_memo *m)
{
	struct cur c = { s, n, 0 };
	int round;

	for (round = 0; round < 6 && c.i + 5 < n; round++) {
		const char *p = s + c.i;
		struct cur save = c;
		int ok;

		if (p[0] == 'b' && memcmp(p, "bmap@", 5) == 0) {
			c.i += 5;
			ok = dec_bmap(&c, ev, fast, m);
		} else if (p[0] == 'b' && c.i + 6 < n && memcmp(p, "biorq@", 6) == 0) {
			c.i += 6;
			ok = dec_biorq(&c, ev, fast);
		} else if (p[0] == 'b' && c.i + 6 < n && memcmp(p, "bmpce@", 6) == 0) {
			c.i += 6;
			ok = dec_bmpce(&c, ev);
		} else if (p[0] == 'r' && memcmp(p, "req@", 4) == 0) {
			c.i += 4;
			ok = dec_req(&c, ev);
		} else if (p[0] == 'f' && memcmp(p, "fcmh@", 5) == 0) {
			c.i += 5;
			ok = dec_fcmh(&c, ev);
		} else
			break;
		if (!ok) {
			c = save;
			break;
		}
	}
	if (c.i > n)
		c.i = n;
	ev->msg.p = s + c.i;
	ev->msg.n = n - c.i;
}

/* Decodes prefixes at the start of s[0..n); sets ev->msg. */
void
ps_body_decode(struct ps_body_memo *m, const char *s, size_t n, struct ps_event *ev)
{
	body_decode(s, n, ev, 1, m);
}

/* The same with the token loops alone (tests compare the two). */
void
ps_body_decode_ref(const char *s, size_t n, struct ps_event *ev)
{
	body_decode(s, n, ev, 0, NULL);
}
