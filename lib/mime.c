/* Internet message pieces: header folding, RFC 2047 encoded-words,
 * quoted-printable, RFC 5322 dates and mailbox parsing.
 *
 * Header values are first "cleaned": every C0 control and DEL becomes a space,
 * so no CR, LF or NUL can ever reach the output and start a new header, and
 * leading and trailing white space is dropped (parsers drop it anyway). In
 * text that is declared UTF-8, invalid sequences become U+FFFD so that every
 * encoded-word decodes.
 */
#include "mime.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "hex.h"
#include "utf8.h"

#define LINE_SOFT 78	/* RFC 5322 2.1.1: lines SHOULD be at most 78 */
#define LINE_HARD 998	/* RFC 5322 2.1.1: lines MUST be at most 998 */
#define LINE_EW 76	/* RFC 2047 2: lines holding an encoded-word */
#define EW_MAX 75	/* RFC 2047 2: one encoded-word */
#define EW_OVERHEAD 12	/* "=?UTF-8?Q?" + "?=" */
#define EW_TEXT (EW_MAX - EW_OVERHEAD)
/* White space runs longer than this go inside an encoded-word, where they
 * can be folded, instead of making one long line. */
#define LONG_WS 16
/* Longer display names are encoded rather than quoted: a quoted-string
 * cannot be folded, an encoded-word can. */
#define QUOTED_NAME_MAX 200
#define QP_LINE 76

static const char hexdigits[] = "0123456789ABCDEF";
static const char b64digits[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---- bytes and UTF-8 ---- */

/* Length of the well-formed UTF-8 sequence at s (1 to 4), or 0 when there is
 * none: overlongs, surrogates, values above U+10FFFF and truncated sequences
 * are all rejected. */
static size_t
utf8_len(const char *str, size_t avail)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xC2)
		return 0;
	if (s[0] < 0xE0)
		n = 2;
	else if (s[0] < 0xF0) {
		n = 3;
		if (s[0] == 0xE0)
			lo = 0xA0;
		else if (s[0] == 0xED)
			hi = 0x9F;
	} else if (s[0] < 0xF5) {
		n = 4;
		if (s[0] == 0xF0)
			lo = 0x90;
		else if (s[0] == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

static bool
utf8_valid(const char *s, size_t len)
{
	size_t i, n;

	for (i = 0; i < len; i += n)
		if ((n = utf8_len(s + i, len - i)) == 0)
			return false;
	return true;
}

static void
add_hex(struct pca_buf *b, unsigned char c)
{
	char t[3] = { '=', hexdigits[c >> 4], hexdigits[c & 15] };

	pca_buf_add(b, t, 3);
}

static bool
has_8bit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* Decoders recognise "=?" as the start of an encoded-word even inside a word,
 * so text holding it literally must itself be encoded. */
static bool
has_ew_start(const char *s, size_t len)
{
	return len >= 2 && memmem(s, len, "=?", 2) != NULL;
}

/* ---- cleaning values ---- */

/* Append " " and the value with controls turned into spaces (and, with
 * fix_utf8, invalid UTF-8 into U+FFFD), without leading or trailing spaces.
 * The leading space is the one that follows "Name:". */
static void
clean_value(struct pca_buf *b, const char *s, size_t len, bool fix_utf8)
{
	size_t i, n, start, end;
	unsigned char c;

	start = b->len;
	pca_buf_addc(b, ' ');
	for (i = 0; i < len; i += n) {
		c = (unsigned char)s[i];
		n = 1;
		if (c < 0x20 || c == 0x7F)
			pca_buf_addc(b, ' ');
		else if (c < 0x80 || !fix_utf8)
			pca_buf_addc(b, (char)c);
		else if ((n = utf8_len(s + i, len - i)) > 0)
			pca_buf_add(b, s + i, n);
		else {
			pca_buf_add(b, "\xEF\xBF\xBD", 3);
			n = 1;
		}
	}
	end = b->len;
	while (end > start + 1 && b->data[end - 1] == ' ')
		end--;
	for (i = start + 1; i < end && b->data[i] == ' '; i++)
		;
	memmove(b->data + start + 1, b->data + i, end - i);
	pca_buf_truncate(b, start + 1 + (end - i));
}

/* A word and the white space before it: [ws, start) and [start, end). */
struct span {
	size_t ws, start, end;
};

static bool
next_word(const char *s, size_t n, size_t *pos, struct span *w)
{
	size_t p = *pos;

	w->ws = p;
	while (p < n && s[p] == ' ')
		p++;
	w->start = p;
	while (p < n && s[p] != ' ')
		p++;
	w->end = p;
	*pos = p;
	return w->end > w->start;
}

/* ---- folding ---- */

struct fold {
	struct pca_buf *out;
	size_t line;	/* offset in out where the current line starts */
	bool has_ew;	/* the current line holds an encoded-word */
	bool started;	/* something follows "Name:", so folding is allowed */
	bool flat;	/* never fold: measuring a mailbox */
};

static size_t
fold_col(const struct fold *f)
{
	return f->out->len - f->line;
}

/* Header names are constants of the caller, but a name with a colon, a space
 * or a control would still break the message: such bytes become '-'. */
static void
fold_start(struct fold *f, struct pca_buf *out, const char *name)
{
	const char *p;

	f->out = out;
	f->line = out->len;
	f->has_ew = false;
	f->started = false;
	f->flat = false;
	for (p = name; *p; p++)
		pca_buf_addc(out, *p > ' ' && *p < 0x7F && *p != ':' ? *p : '-');
	pca_buf_addc(out, ':');
}

static void
fold_break(struct fold *f)
{
	pca_buf_add(f->out, "\r\n", 2);
	f->line = f->out->len;
	f->has_ew = false;
}

/* Append white space (never empty) and a token, folding before the white
 * space when the line would grow past its limit. */
static void
fold_put(struct fold *f, const char *ws, size_t wslen, const char *tok, size_t toklen, bool ew)
{
	size_t limit = ew || f->has_ew ? LINE_EW : LINE_SOFT;

	if (f->started && !f->flat && fold_col(f) + wslen + toklen > limit)
		fold_break(f);
	pca_buf_add(f->out, ws, wslen);
	pca_buf_add(f->out, tok, toklen);
	f->started = true;
	f->has_ew = f->has_ew || ew;
}

static void
fold_end(struct fold *f)
{
	pca_buf_add(f->out, "\r\n", 2);
}

/* ---- encoded-words ---- */

/* In Q, only the characters allowed in every context (RFC 2047 5(3), the
 * strictest one, for phrases) are written as they are. */
static bool
q_plain(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

static size_t
q_cost(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += q_plain((unsigned char)s[i]) || s[i] == ' ' ? 1 : 3;
	return n;
}

static size_t
b_cost(size_t len)
{
	return (len + 2) / 3 * 4;
}

static void
b64_encode(struct pca_buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned long v;
	size_t i, k, rest;
	char t[4];

	for (i = 0; i < len; i += 3) {
		rest = len - i < 3 ? len - i : 3;
		v = (unsigned long)s[i] << 16;
		if (rest > 1)
			v |= (unsigned long)s[i + 1] << 8;
		if (rest > 2)
			v |= s[i + 2];
		for (k = 0; k < 4; k++)
			t[k] = k <= rest ? b64digits[(v >> (18 - 6 * k)) & 63] : '=';
		pca_buf_add(b, t, 4);
	}
}

static void
ew_write(struct pca_buf *b, const char *s, size_t len, bool b64)
{
	size_t i;

	pca_buf_adds(b, b64 ? "=?UTF-8?B?" : "=?UTF-8?Q?");
	if (b64)
		b64_encode(b, s, len);
	else
		for (i = 0; i < len; i++) {
			if (s[i] == ' ')
				pca_buf_addc(b, '_');
			else if (q_plain((unsigned char)s[i]))
				pca_buf_addc(b, s[i]);
			else
				add_hex(b, (unsigned char)s[i]);
		}
	pca_buf_add(b, "?=", 2);
}

static size_t
next_unit(const char *s, size_t len, size_t pos, bool by_cp)
{
	size_t n;

	if (by_cp) {
		n = utf8_len(s + pos, len - pos);
		return pos + (n ? n : 1);
	}
	return pca_utf8_grapheme_end(s, len, pos);
}

/* End of the longest prefix of s[pos, len) made of whole grapheme clusters
 * (or code points, by_cp) whose encoding takes at most cap characters. */
static size_t
ew_fit(const char *s, size_t len, size_t pos, size_t cap, bool b64, bool by_cp)
{
	size_t end = pos, next, cost = 0, add;

	while (end < len) {
		next = next_unit(s, len, end, by_cp);
		if (b64) {
			if (b_cost(next - pos) > cap)
				break;
		} else {
			add = q_cost(s + end, next - end);
			if (cost + add > cap)
				break;
			cost += add;
		}
		end = next;
	}
	return end;
}

/* Graphemes are kept whole when they fit in one word; a cluster too long for
 * that (combining marks piled up) is split between code points. A word
 * ends after a space when one is in its second half: decoders that wrongly
 * show the folding space between two encoded-words (Python's address parser
 * does) then show two spaces rather than a space inside a word. */
static size_t
ew_chunk(const char *s, size_t len, size_t pos, size_t cap, bool b64, bool split_cp)
{
	size_t end = ew_fit(s, len, pos, cap, b64, false), p;

	if (end == pos && split_cp)
		end = ew_fit(s, len, pos, cap, b64, true);
	if (end == len || end == pos || s[end] == ' ')
		return end;
	for (p = end; p > pos + (end - pos) / 2; p--)
		if (s[p - 1] == ' ')
			return p;
	return end;
}

/* Where the first word of a run ends: in the room left on the current line,
 * else (when the line can be folded or the room is hopeless) a full word. */
static size_t
ew_first_chunk(struct fold *f, size_t wslen, const char *s, size_t len, bool b64)
{
	size_t used = fold_col(f) + wslen + EW_OVERHEAD, end = 0;

	if (used < LINE_EW)
		end = ew_chunk(s, len, 0, LINE_EW - used < EW_TEXT ? LINE_EW - used : EW_TEXT,
		    b64, !f->started);
	if (end == 0)
		end = ew_chunk(s, len, 0, EW_TEXT, b64, true);
	return end;
}

/* Write s (valid UTF-8, spaces included) as encoded-words, Q or B, whichever
 * is shorter. The words after the first are each on a line of their own:
 * decoders drop the folding white space between encoded-words, so the spaces
 * of the text travel inside them. */
static void
put_ew_run(struct fold *f, const char *ws, size_t wslen, const char *s, size_t len)
{
	struct pca_buf ew = PCA_BUF_INIT;
	bool b64 = b_cost(len) < q_cost(s, len);
	size_t pos = 0, end;

	while (pos < len) {
		if (pos == 0)
			end = ew_first_chunk(f, wslen, s, len, b64);
		else
			end = ew_chunk(s, len, pos, EW_TEXT, b64, true);
		pca_buf_reset(&ew);
		ew_write(&ew, s + pos, end - pos, b64);
		if (pos == 0)
			fold_put(f, ws, wslen, ew.data, ew.len, true);
		else
			fold_put(f, " ", 1, ew.data, ew.len, true);
		pos = end;
	}
	pca_buf_free(&ew);
}

/* ---- unstructured text ---- */

static bool
word_needs_ew(const struct fold *f, const char *s, const struct span *w, bool first)
{
	size_t wslen = w->start - w->ws, wlen = w->end - w->start;
	size_t col = first ? fold_col(f) : 0;

	return has_8bit(s + w->start, wlen) || has_ew_start(s + w->start, wlen) ||
	    wslen > LONG_WS || col + wslen + wlen > LINE_HARD;
}

/* s is a cleaned value: it starts with one space and has no trailing one.
 * Plain words are written as they are; runs of words that need encoding
 * become encoded-words holding the spaces between them. */
static void
put_text(struct fold *f, const char *s, size_t n)
{
	struct span w, next;
	size_t pos = 0, save, seplen, end;
	bool first = true;

	while (next_word(s, n, &pos, &w)) {
		if (!word_needs_ew(f, s, &w, first)) {
			fold_put(f, s + w.ws, w.start - w.ws, s + w.start, w.end - w.start, false);
			first = false;
			continue;
		}
		seplen = w.start - w.ws > LONG_WS ? 1 : w.start - w.ws;
		end = w.end;
		for (;;) {
			save = pos;
			if (!next_word(s, n, &pos, &next) || !word_needs_ew(f, s, &next, false)) {
				pos = save;
				break;
			}
			end = next.end;
		}
		put_ew_run(f, s + w.ws, seplen, s + w.ws + seplen, end - w.ws - seplen);
		first = false;
	}
}

void
pca_mime_header_text(struct pca_buf *out, const char *name, const char *value, size_t len)
{
	struct pca_buf v = PCA_BUF_INIT;
	struct fold f;

	clean_value(&v, value, len, true);
	fold_start(&f, out, name);
	put_text(&f, v.data, v.len);
	fold_end(&f);
	pca_buf_free(&v);
}

void
pca_mime_header_raw(struct pca_buf *out, const char *name, const char *value)
{
	struct pca_buf v = PCA_BUF_INIT;
	struct fold f;
	struct span w;
	size_t pos = 0;

	clean_value(&v, value, strlen(value), false);
	fold_start(&f, out, name);
	while (next_word(v.data, v.len, &pos, &w))
		fold_put(&f, v.data + w.ws, w.start - w.ws, v.data + w.start, w.end - w.start,
		    false);
	fold_end(&f);
	pca_buf_free(&v);
}

/* ---- mailboxes ---- */

static bool
is_atext(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Atoms separated by single spaces can be written as they are. */
static bool
is_atom_phrase(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == ' ' && i > 0 && s[i - 1] != ' ')
			continue;
		if (!is_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

static void
put_quoted(struct fold *f, const char *s, size_t n)
{
	struct pca_buf q = PCA_BUF_INIT;
	size_t i;

	pca_buf_addc(&q, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			pca_buf_addc(&q, '\\');
		pca_buf_addc(&q, s[i]);
	}
	pca_buf_addc(&q, '"');
	fold_put(f, " ", 1, q.data, q.len, false);
	pca_buf_free(&q);
}

/* s is a cleaned, non-empty name after its leading space. */
static void
put_display_name(struct fold *f, const char *s, size_t n)
{
	if (has_8bit(s, n) || has_ew_start(s, n) || n > QUOTED_NAME_MAX)
		put_ew_run(f, " ", 1, s, n);
	else if (is_atom_phrase(s, n))
		put_text(f, s - 1, n + 1);
	else
		put_quoted(f, s, n);
}

/* The mailbox as tokens: display name words, then "<addr>" and the comma. */
static void
put_mailbox_tokens(struct fold *f, const struct pca_mailbox *mb, bool comma)
{
	struct pca_buf name = PCA_BUF_INIT, tok = PCA_BUF_INIT;
	const char *addr = mb->addr ? mb->addr : "";
	bool named;

	clean_value(&name, mb->name ? mb->name : "", mb->name ? strlen(mb->name) : 0, true);
	named = name.len > 1;
	if (named) {
		put_display_name(f, name.data + 1, name.len - 1);
		pca_buf_addc(&tok, '<');
	}
	clean_value(&tok, addr, strlen(addr), false);
	/* drop the leading space clean_value put in */
	memmove(tok.data + named, tok.data + named + 1, tok.len - named);
	tok.len--;
	if (named)
		pca_buf_addc(&tok, '>');
	if (comma)
		pca_buf_addc(&tok, ',');
	fold_put(f, " ", 1, tok.data, tok.len, false);
	pca_buf_free(&name);
	pca_buf_free(&tok);
}

/* Fold between mailboxes rather than inside one: a mailbox that fits on
 * a line is kept whole. */
static void
put_mailbox(struct fold *f, const struct pca_mailbox *mb, bool comma)
{
	struct pca_buf flat = PCA_BUF_INIT;
	struct fold g = { .out = &flat, .started = true, .flat = true };

	bool here, fresh;

	put_mailbox_tokens(&g, mb, comma);
	here = fold_col(f) + flat.len <= (g.has_ew || f->has_ew ? LINE_EW : LINE_SOFT);
	fresh = flat.len <= (g.has_ew ? LINE_EW : LINE_SOFT);
	if (!here && fresh && f->started)
		fold_break(f);
	if (here || (fresh && f->started)) {
		pca_buf_add(f->out, flat.data, flat.len);
		f->has_ew = f->has_ew || g.has_ew;
		f->started = true;
	} else
		put_mailbox_tokens(f, mb, comma);
	pca_buf_free(&flat);
}

void
pca_mime_header_mailboxes(struct pca_buf *out, const char *name,
	const struct pca_mailbox *mbs, size_t n)
{
	struct fold f;
	size_t i;

	fold_start(&f, out, name);
	for (i = 0; i < n; i++)
		put_mailbox(&f, &mbs[i], i + 1 < n);
	fold_end(&f);
}

/* ---- quoted-printable ---- */

static size_t
line_break_at(const char *s, size_t len, size_t pos)
{
	if (pos < len && s[pos] == '\n')
		return 1;
	if (pos + 1 < len && s[pos] == '\r' && s[pos + 1] == '\n')
		return 2;
	return 0;
}

static bool
line_ends_at(const char *s, size_t len, size_t pos)
{
	return pos == len || line_break_at(s, len, pos) > 0;
}

/* Encode the character at s[pos] into t (at most 12 bytes) and return how
 * many input bytes it took. col0: it would start an output line. */
static size_t
qp_unit(const char *s, size_t len, size_t pos, bool col0, char *t, size_t *tlen)
{
	unsigned char c = (unsigned char)s[pos];
	size_t n = 1, i;
	bool lit;

	if (c >= 0x80 && (n = utf8_len(s + pos, len - pos)) == 0)
		n = 1;
	if (col0 && c == '.' && line_ends_at(s, len, pos + 1))
		lit = false; /* a lone "." ends SMTP data */
	else if (col0 && len - pos >= 5 && memcmp(s + pos, "From ", 5) == 0)
		lit = false; /* mbox readers would quote it with ">" */
	else if (c == ' ' || c == '\t')
		lit = !line_ends_at(s, len, pos + 1);
	else
		lit = c > ' ' && c < 0x7F && c != '=';
	if (lit) {
		t[0] = (char)c;
		*tlen = 1;
		return 1;
	}
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[pos + i];
		t[3 * i] = '=';
		t[3 * i + 1] = hexdigits[c >> 4];
		t[3 * i + 2] = hexdigits[c & 15];
	}
	*tlen = 3 * n;
	return n;
}

void
pca_mime_qp_encode(struct pca_buf *out, const char *s, size_t len)
{
	size_t pos = 0, col = 0, n, tlen, brk;
	char t[12];

	while (pos < len) {
		if ((brk = line_break_at(s, len, pos)) > 0) {
			pca_buf_add(out, "\r\n", 2);
			col = 0;
			pos += brk;
			continue;
		}
		n = qp_unit(s, len, pos, col == 0, t, &tlen);
		/* the last character of a line may use the column a soft break needs */
		if (col + tlen > (line_ends_at(s, len, pos + n) ? QP_LINE : QP_LINE - 1)) {
			pca_buf_add(out, "=\r\n", 3);
			col = 0;
			n = qp_unit(s, len, pos, true, t, &tlen);
		}
		pca_buf_add(out, t, tlen);
		col += tlen;
		pos += n;
	}
}

/* Length of a soft line break ("=", optional white space, line break or the
 * end) at s[pos], or 0. */
static size_t
qp_soft_break(const char *s, size_t len, size_t pos)
{
	size_t p = pos + 1;

	while (p < len && (s[p] == ' ' || s[p] == '\t'))
		p++;
	if (p == len)
		return p - pos;
	return line_break_at(s, len, p) ? p - pos + line_break_at(s, len, p) : 0;
}

static int
qp_escape(struct pca_buf *out, const char *s, size_t len, size_t *pos, struct pca_err *err)
{
	size_t n = qp_soft_break(s, len, *pos);
	int hi, lo;

	if (n > 0) {
		*pos += n;
		return 0;
	}
	if (*pos + 2 >= len || (hi = pca_hex_value((unsigned char)s[*pos + 1])) < 0 ||
	    (lo = pca_hex_value((unsigned char)s[*pos + 2])) < 0)
		return pca_err_set(err, "quoted-printable: invalid escape at byte %zu", *pos);
	pca_buf_addc(out, (char)(hi << 4 | lo));
	*pos += 3;
	return 0;
}

int
pca_mime_qp_decode(struct pca_buf *out, const char *s, size_t len, struct pca_err *err)
{
	size_t pos = 0, p, brk;
	unsigned char c;

	while (pos < len) {
		c = (unsigned char)s[pos];
		if (c == '=') {
			if (qp_escape(out, s, len, &pos, err) < 0)
				return -1;
		} else if (c == ' ' || c == '\t') {
			/* white space at the end of a line was added in transit */
			for (p = pos; p < len && (s[p] == ' ' || s[p] == '\t'); p++)
				;
			if (!line_ends_at(s, len, p))
				pca_buf_add(out, s + pos, p - pos);
			pos = p;
		} else if ((brk = line_break_at(s, len, pos)) > 0) {
			pca_buf_add(out, s + pos, brk);
			pos += brk;
		} else if (c > ' ' && c < 0x7F) {
			pca_buf_addc(out, (char)c);
			pos++;
		} else
			return pca_err_set(err,
			    "quoted-printable: byte 0x%02X at %zu is not allowed", c, pos);
	}
	return 0;
}

/* ---- decoding headers ---- */

/* Remove the line breaks of folding (and a last one); any other line break
 * would have started a new header. */
static int
unfold(struct pca_buf *out, const char *s, size_t len, struct pca_err *err)
{
	size_t pos = 0, brk;

	while (pos < len) {
		brk = line_break_at(s, len, pos);
		if (brk == 0 && (s[pos] == '\r' || s[pos] == '\n' || s[pos] == '\0'))
			return pca_err_set(err, "header: bare CR, LF or NUL at byte %zu", pos);
		if (brk == 0) {
			pca_buf_addc(out, s[pos++]);
			continue;
		}
		if (pos + brk < len && s[pos + brk] != ' ' && s[pos + brk] != '\t')
			return pca_err_set(err,
			    "header: line break not followed by white space at byte %zu", pos);
		pos += brk;
	}
	return 0;
}

static int
q_decode(struct pca_buf *out, const char *s, size_t len)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '_')
			pca_buf_addc(out, ' ');
		else if (s[i] != '=')
			pca_buf_addc(out, s[i]);
		else if (i + 2 < len && (hi = pca_hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = pca_hex_value((unsigned char)s[i + 2])) >= 0) {
			pca_buf_addc(out, (char)(hi << 4 | lo));
			i += 2;
		} else
			return -1;
	}
	return 0;
}

static int
b64_value(char c)
{
	const char *p = c ? strchr(b64digits, c) : NULL;

	return p ? (int)(p - b64digits) : -1;
}

static int
b64_decode(struct pca_buf *out, const char *s, size_t len)
{
	size_t i, k, pad;
	unsigned long v;
	int d;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		v = 0;
		pad = 0;
		for (k = 0; k < 4; k++) {
			d = b64_value(s[i + k]);
			if (s[i + k] == '=' && i + 4 == len && k >= 2)
				pad++, d = 0;
			else if (d < 0 || pad > 0)
				return -1;
			v = v << 6 | (unsigned long)d;
		}
		for (k = 0; k < 3 - pad; k++)
			pca_buf_addc(out, (char)(v >> (16 - 8 * k) & 0xFF));
	}
	return 0;
}

/* Split "=?charset?E?text?=" into its parts; false when w is not shaped like
 * an encoded-word of a charset we read, and so stays literal text. */
static bool
ew_parse(const char *w, size_t n, bool *ascii, char *enc, const char **text, size_t *tlen)
{
	const char *q1, *end = w + n;
	size_t clen;

	if (n < 8 || memcmp(w, "=?", 2) != 0 || memcmp(end - 2, "?=", 2) != 0)
		return false;
	q1 = memchr(w + 2, '?', (size_t)(end - 2 - (w + 2)));
	if (!q1 || q1 + 3 > end - 2 || q1[2] != '?')
		return false;
	clen = (size_t)(q1 - (w + 2));
	if (memchr(w + 2, '*', clen)) /* RFC 2231 language suffix */
		clen = (size_t)((const char *)memchr(w + 2, '*', clen) - (w + 2));
	if (clen == 5 && strncasecmp(w + 2, "UTF-8", 5) == 0)
		*ascii = false;
	else if (clen == 8 && strncasecmp(w + 2, "US-ASCII", 8) == 0)
		*ascii = true;
	else
		return false;
	*enc = q1[1];
	*text = q1 + 3;
	*tlen = (size_t)(end - 2 - *text);
	return *enc && strchr("QqBb", *enc) && !memchr(*text, '?', *tlen);
}

static bool
is_ew(const char *w, size_t n)
{
	const char *text;
	size_t tlen;
	bool ascii;
	char enc;

	return ew_parse(w, n, &ascii, &enc, &text, &tlen);
}

/* 1: w was an encoded-word, decoded into out; 0: it is not one; -1: error. */
static int
ew_decode(struct pca_buf *out, const char *w, size_t n, struct pca_err *err)
{
	struct pca_buf d = PCA_BUF_INIT;
	const char *text;
	size_t tlen;
	bool ascii;
	char enc;
	int rc;

	if (!ew_parse(w, n, &ascii, &enc, &text, &tlen))
		return 0;
	rc = enc == 'Q' || enc == 'q' ? q_decode(&d, text, tlen) : b64_decode(&d, text, tlen);
	if (rc < 0)
		pca_err_set(err, "header: bad %c encoding in \"%.*s\"", enc, (int)n, w);
	else if (ascii ? has_8bit(d.data, d.len) : !utf8_valid(d.data, d.len))
		rc = pca_err_set(err, "header: encoded-word \"%.*s\" is not valid %s", (int)n, w,
		    ascii ? "US-ASCII" : "UTF-8");
	else
		pca_buf_add(out, d.data ? d.data : "", d.len);
	pca_buf_free(&d);
	return rc < 0 ? -1 : 1;
}

int
pca_mime_header_decode(struct pca_buf *out, const char *s, size_t len, struct pca_err *err)
{
	struct pca_buf u = PCA_BUF_INIT;
	size_t pos = 0, ws, start;
	bool prev_ew = false;
	int rc = 0;

	if (unfold(&u, s, len, err) < 0) {
		pca_buf_free(&u);
		return -1;
	}
	while (pos < u.len && (u.data[pos] == ' ' || u.data[pos] == '\t'))
		pos++;
	while (pos < u.len && rc >= 0) {
		for (ws = pos; pos < u.len && (u.data[pos] == ' ' || u.data[pos] == '\t'); pos++)
			;
		for (start = pos; pos < u.len && u.data[pos] != ' ' && u.data[pos] != '\t'; pos++)
			;
		/* white space between two encoded-words is not part of the text */
		if (!prev_ew || !is_ew(u.data + start, pos - start))
			pca_buf_add(out, u.data + ws, start - ws);
		rc = ew_decode(out, u.data + start, pos - start, err);
		if (rc == 0)
			pca_buf_add(out, u.data + start, pos - start);
		prev_ew = rc == 1;
	}
	pca_buf_free(&u);
	return rc < 0 ? -1 : 0;
}

/* ---- dates ---- */

/* RFC 5322 years start at 1900; four digits end at 9999. */
#define DATE_MIN (-2208988800LL)	/* 1900-01-01T00:00:00Z */
#define DATE_MAX 253402300799LL		/* 9999-12-31T23:59:59Z */

static bool
is_leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(long y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return days[m] + (m == 1 && is_leap(y));
}

void
pca_mime_date(struct pca_buf *out, int64_t t)
{
	static const char wday[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	long long days, secs;
	long y = 1970;
	int m = 0;

	t = t < DATE_MIN ? DATE_MIN : t > DATE_MAX ? DATE_MAX : t;
	/* shift so that the division rounds down for times before 1970 */
	days = (t - DATE_MIN) / 86400 + DATE_MIN / 86400;
	secs = t - days * 86400;
	while (days < 0)
		days += is_leap(--y) ? 366 : 365;
	while (days >= (is_leap(y) ? 366 : 365))
		days -= is_leap(y++) ? 366 : 365;
	while (days >= month_days(y, m))
		days -= month_days(y, m++);
	pca_buf_addf(out, "%s, %02lld %s %04ld %02lld:%02lld:%02lld +0000",
	    wday[((t - DATE_MIN) / 86400 + 1) % 7], days + 1, mon[m], y,
	    secs / 3600, secs / 60 % 60, secs % 60);
}

/* ---- parsing mailboxes ---- */

static int
check_chars(const char *s, struct pca_err *err)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '\r' || *p == '\n')
			return pca_err_set(err, "email address contains a line break");
		if ((*p < 0x20 && *p != '\t') || *p == 0x7F)
			return pca_err_set(err, "email address contains a control character");
	}
	if (!utf8_valid(s, strlen(s)))
		return pca_err_set(err, "email address is not valid UTF-8");
	return 0;
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static bool
is_dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == '.' ? s[i - 1] == '.' : !is_atext((unsigned char)s[i]))
			return false;
	return true;
}

static bool
is_quoted_local(const char *s, size_t n)
{
	size_t i;

	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return false;
	for (i = 1; i < n - 1; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return false;
		if (i >= n - 1 || (unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7F)
			return false;
	}
	return true;
}

/* A label of letters, digits and hyphens, or a UTF-8 (IDN) label: the
 * non-ASCII characters are left to IDNA. */
static bool
is_label(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c >= 0x80 || c == '-' || (c >= '0' && c <= '9') ||
		    (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return false;
	}
	return true;
}

static bool
is_domain(const char *s, size_t n)
{
	const char *dot;
	size_t k;

	if (n == 0 || n > 253)
		return false;
	for (;;) {
		dot = memchr(s, '.', n);
		k = dot ? (size_t)(dot - s) : n;
		if (!is_label(s, k))
			return false;
		if (!dot)
			return true;
		s += k + 1;
		n -= k + 1;
	}
}

static int
parse_addr_spec(const char *s, size_t n, struct pca_mailbox *mb, struct pca_err *err)
{
	const char *at;
	size_t llen;

	trim(&s, &n);
	if (n == 0)
		return pca_err_set(err, "email address is empty");
	for (at = s + n; at > s && at[-1] != '@'; at--)
		;
	if (at == s)
		return pca_err_set(err, "not an email address: missing \"@\"");
	llen = (size_t)(at - 1 - s);
	if (llen == 0)
		return pca_err_set(err, "email address: missing local part before \"@\"");
	if (at == s + n)
		return pca_err_set(err, "email address: missing domain after \"@\"");
	if (llen > 64 || !(is_dot_atom(s, llen) || is_quoted_local(s, llen)))
		return pca_err_set(err, "email address: invalid local part \"%.*s\"", (int)llen, s);
	if (!is_domain(at, (size_t)(s + n - at)))
		return pca_err_set(err, "email address: invalid domain \"%.*s\"",
		    (int)(s + n - at), at);
	if (n > 254)
		return pca_err_set(err, "email address: longer than 254 bytes");
	mb->addr = pca_strndup(s, n);
	return 0;
}

/* The display name without its quotes and backslashes, or NULL when empty. */
static char *
unquote_name(const char *s, size_t n)
{
	struct pca_buf b = PCA_BUF_INIT;
	bool inq = false;
	size_t i;

	trim(&s, &n);
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			inq = !inq;
		else if (inq && s[i] == '\\' && i + 1 < n)
			pca_buf_addc(&b, s[++i]);
		else
			pca_buf_addc(&b, s[i]);
	}
	if (b.len == 0)
		return NULL;
	return pca_buf_detach(&b, NULL);
}

/* Find the one "<" and ">" outside quoted strings; -1 on an error. */
static int
find_angles(const char *s, size_t n, size_t *lt, size_t *gt, struct pca_err *err)
{
	size_t i, nlt = 0, ngt = 0;
	bool inq = false;

	for (i = 0; i < n; i++) {
		if (inq && s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '"')
			inq = !inq;
		else if (!inq && s[i] == '<')
			*lt = i, nlt++;
		else if (!inq && s[i] == '>')
			*gt = i, ngt++;
	}
	if (inq)
		return pca_err_set(err, "email address: unbalanced quote");
	if (nlt != ngt || nlt > 1 || (nlt == 1 && *gt < *lt))
		return pca_err_set(err, "email address: unbalanced angle brackets");
	if (nlt == 1 && *gt != n - 1)
		return pca_err_set(err, "email address: unexpected text after \">\"");
	return (int)nlt;
}

int
pca_mailbox_parse(const char *s, struct pca_mailbox *mb, struct pca_err *err)
{
	size_t n = strlen(s), lt = 0, gt = 0;
	int angles;

	mb->name = NULL;
	mb->addr = NULL;
	if (check_chars(s, err) < 0)
		return -1;
	trim(&s, &n);
	if (n == 0)
		return pca_err_set(err, "email address is empty");
	if ((angles = find_angles(s, n, &lt, &gt, err)) < 0)
		return -1;
	if (angles == 0)
		return parse_addr_spec(s, n, mb, err);
	if (parse_addr_spec(s + lt + 1, gt - lt - 1, mb, err) < 0)
		return -1;
	mb->name = unquote_name(s, lt);
	return 0;
}

void
pca_mailbox_free(struct pca_mailbox *mb)
{
	if (!mb)
		return;
	free(mb->name);
	free(mb->addr);
	mb->name = NULL;
	mb->addr = NULL;
}
