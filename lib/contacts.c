#include "contacts.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "buf.h"
#include "hex.h"
#include "phone.h"
#include "utf8.h"

struct entry {
	char *number; /* E.164; NULL marks a free slot */
	char *name;
};

/* Open addressing with linear probing; cap is a power of two and the table
 * is never more than 3/4 full, so probes stay short and always end. */
struct pca_contacts {
	struct entry *slots;
	size_t cap;
	size_t count;
	size_t skipped;
	unsigned long first_skipped;
};

/* FNV-1a: numbers are short and differ in their last digits, which this
 * hash mixes into every bit. */
static uint64_t
hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct entry *
find_slot(struct entry *slots, size_t cap, const char *number)
{
	size_t i = (size_t)hash(number) & (cap - 1);

	while (slots[i].number && strcmp(slots[i].number, number) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static void
grow(struct pca_contacts *c)
{
	size_t cap = c->cap ? c->cap * 2 : 64;
	struct entry *slots = pca_calloc(cap, sizeof(*slots));

	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i].number)
			*find_slot(slots, cap, c->slots[i].number) = c->slots[i];
	free(c->slots);
	c->slots = slots;
	c->cap = cap;
}

/* The first entry for a number wins: people save a number twice by
 * mistake, and the older entry is the one they know. */
static void
insert(struct pca_contacts *c, const char *number, const char *name)
{
	struct entry *e;

	if ((c->count + 1) * 4 > c->cap * 3)
		grow(c);
	e = find_slot(c->slots, c->cap, number);
	if (e->number)
		return;
	e->number = pca_strdup(number);
	e->name = pca_strdup(name);
	c->count++;
}

const char *
pca_contacts_lookup(const struct pca_contacts *c, const char *e164)
{
	if (!c || !e164 || c->count == 0)
		return NULL;
	return find_slot(c->slots, c->cap, e164)->name;
}

size_t
pca_contacts_count(const struct pca_contacts *c)
{
	return c ? c->count : 0;
}

size_t
pca_contacts_skipped(const struct pca_contacts *c, unsigned long *first_line)
{
	if (first_line)
		*first_line = c ? c->first_skipped : 0;
	return c ? c->skipped : 0;
}

void
pca_contacts_free(struct pca_contacts *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->cap; i++) {
		free(c->slots[i].number);
		free(c->slots[i].name);
	}
	free(c->slots);
	free(c);
}

/* State shared by both readers. */
struct loader {
	const char *path;
	const char *region;
	struct pca_contacts *c;
	struct pca_err *err;
	struct pca_buf name; /* scratch for names */
	struct pca_buf tmp;  /* scratch for decoded values */
};

static int fail(struct loader *ld, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "path:line: problem" */
static int
fail(struct loader *ld, unsigned long line, const char *fmt, ...)
{
	struct pca_buf msg = PCA_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pca_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	pca_err_set(ld->err, "%s:%lu: %s", ld->path, line, pca_buf_cstr(&msg));
	pca_buf_free(&msg);
	return -1;
}

static void
skip(struct loader *ld, unsigned long line)
{
	if (ld->c->skipped++ == 0)
		ld->c->first_skipped = line;
}

/* Length of a control character or line break at p (C0, DEL, C1, U+2028,
 * U+2029), 0 if there is none. */
static size_t
control_len(const unsigned char *p, size_t n)
{
	if (p[0] < 0x20 || p[0] == 0x7f)
		return 1;
	if (n >= 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		return 3;
	return 0;
}

/* Names end up in email headers and one-line messages: every control
 * character and line break becomes a space, runs of spaces become one, and
 * the ends are trimmed. s must be valid UTF-8. */
static void
clean_name(struct pca_buf *out, const char *s, size_t n)
{
	bool space = false;
	size_t i = 0, k;

	pca_buf_reset(out);
	while (i < n) {
		k = control_len((const unsigned char *)s + i, n - i);
		if (k || s[i] == ' ') {
			space = out->len > 0;
			i += k ? k : 1;
			continue;
		}
		if (space)
			pca_buf_addc(out, ' ');
		space = false;
		pca_buf_addc(out, s[i++]);
	}
}

/* An entry from either format: the raw number as written and the cleaned
 * name. Numbers that do not normalise and nameless entries are counted. */
static void
add_contact(struct loader *ld, const char *raw, const char *name, unsigned long line)
{
	char e164[PCA_E164_MAX + 1];

	if (!*name || pca_phone_normalize(raw, ld->region, e164, NULL) < 0) {
		skip(ld, line);
		return;
	}
	insert(ld->c, e164, name);
}

static unsigned long
line_of(const char *data, size_t off)
{
	unsigned long line = 1;

	for (size_t i = 0; i < off; i++)
		line += data[i] == '\n';
	return line;
}

/* Reading position in the file; line is the number of the line p is on
 * (CSV) or of the last line read (vCard). */
struct cursor {
	const char *p, *end;
	unsigned long line;
};

/*
 * CSV (RFC 4180, read leniently): fields separated by commas, records by LF
 * or CRLF, fields in double quotes may hold commas, line breaks and "" for a
 * quote. Spaces before an opening quote and after a closing one are allowed;
 * other text after a closing quote is an error, since it means the quoting
 * went wrong and the rest of the file would be misread.
 */
struct row {
	struct pca_buf *f;
	size_t n, cap;
};

static struct pca_buf *
row_add(struct row *r)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4;

		r->f = pca_reallocarray(r->f, cap, sizeof(*r->f));
		memset(r->f + r->cap, 0, (cap - r->cap) * sizeof(*r->f));
		r->cap = cap;
	}
	pca_buf_reset(&r->f[r->n]);
	return &r->f[r->n++];
}

static void
row_free(struct row *r)
{
	for (size_t i = 0; i < r->cap; i++)
		pca_buf_free(&r->f[i]);
	free(r->f);
}

static int
csv_quoted(struct loader *ld, struct cursor *cur, struct pca_buf *f)
{
	unsigned long start = cur->line;

	for (cur->p++;; cur->p++) {
		if (cur->p == cur->end)
			return fail(ld, start, "unterminated quoted field");
		if (*cur->p == '"') {
			if (cur->p + 1 == cur->end || cur->p[1] != '"')
				break;
			cur->p++;
		} else if (*cur->p == '\n') {
			cur->line++;
		}
		pca_buf_addc(f, *cur->p);
	}
	for (cur->p++; cur->p < cur->end && (*cur->p == ' ' || *cur->p == '\t'); cur->p++)
		;
	if (cur->p < cur->end && !strchr(",\r\n", *cur->p))
		return fail(ld, cur->line, "text after closing quote");
	return 0;
}

static void
csv_plain(struct cursor *cur, struct pca_buf *f)
{
	const char *s = cur->p;
	size_t n;

	while (cur->p < cur->end && *cur->p != ',' && *cur->p != '\n')
		cur->p++;
	n = (size_t)(cur->p - s);
	if (n && s[n - 1] == '\r')
		n--;
	pca_buf_add(f, s, n);
}

/* One record into r; 1 when read, 0 at the end of the file, -1 on error. */
static int
csv_record(struct loader *ld, struct cursor *cur, struct row *r)
{
	const char *q;

	r->n = 0;
	if (cur->p >= cur->end)
		return 0;
	for (;;) {
		struct pca_buf *f = row_add(r);

		for (q = cur->p; q < cur->end && (*q == ' ' || *q == '\t'); q++)
			;
		if (q < cur->end && *q == '"') {
			cur->p = q;
			if (csv_quoted(ld, cur, f) < 0)
				return -1;
		} else {
			csv_plain(cur, f);
		}
		if (cur->p < cur->end && *cur->p == ',') {
			cur->p++;
			continue;
		}
		if (cur->p < cur->end && *cur->p == '\r')
			cur->p++;
		if (cur->p < cur->end && *cur->p == '\n')
			cur->p++, cur->line++;
		return 1;
	}
}

static bool
field_in(const struct pca_buf *f, const char *const *words)
{
	const char *s = f->data ? f->data : "";
	size_t n = f->len;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	for (; *words; words++)
		if (strlen(*words) == n && strncasecmp(s, *words, n) == 0)
			return true;
	return false;
}

/* A first record that names a number column and a name column is a header,
 * in either order and among other columns. */
static bool
csv_header(const struct row *r, size_t *numcol, size_t *namecol)
{
	static const char *const number_words[] = { "number", "phone", "phone number",
		"telephone", "tel", "mobile", "cell", "e164", "phone 1 - value", NULL };
	static const char *const name_words[] = { "name", "full name", "display name",
		"contact", "contact name", NULL };
	size_t num = r->n, name = r->n;

	for (size_t i = 0; i < r->n; i++) {
		if (num == r->n && field_in(&r->f[i], number_words))
			num = i;
		else if (name == r->n && field_in(&r->f[i], name_words))
			name = i;
	}
	if (num == r->n || name == r->n)
		return false;
	*numcol = num;
	*namecol = name;
	return true;
}

static bool
row_blank(const struct row *r)
{
	static const char *const empty[] = { "", NULL };

	return r->n == 1 && field_in(&r->f[0], empty);
}

static int
load_csv(struct loader *ld, const char *data, size_t len)
{
	struct cursor cur = { data, data + len, 1 };
	struct row r = { 0 };
	size_t numcol = 0, namecol = 1;
	bool first = true;
	unsigned long line;
	int rc;

	for (;;) {
		line = cur.line;
		if ((rc = csv_record(ld, &cur, &r)) <= 0)
			break;
		if (row_blank(&r))
			continue;
		if (first && csv_header(&r, &numcol, &namecol)) {
			first = false;
			continue;
		}
		first = false;
		if (numcol >= r.n || namecol >= r.n) {
			skip(ld, line);
			continue;
		}
		clean_name(&ld->name, pca_buf_cstr(&r.f[namecol]), r.f[namecol].len);
		add_contact(ld, pca_buf_cstr(&r.f[numcol]), pca_buf_cstr(&ld->name), line);
	}
	row_free(&r);
	return rc;
}

/*
 * vCard 2.1 (versit), 3.0 (RFC 2426) and 4.0 (RFC 6350). A content line is
 * [group.]NAME[;param...]:value, folded by a line break and one space or tab;
 * 2.1 values in quoted-printable also continue after a "=" at the end of a
 * line. Only FN, N, ORG and TEL matter here; everything else is skipped but
 * must still be valid UTF-8 unless a CHARSET parameter says otherwise.
 */
struct prop {
	const char *name, *params, *value;
	size_t nlen, plen, vlen;
};

struct tel {
	char *number;
	unsigned long line;
};

struct card {
	unsigned long begin; /* line of BEGIN:VCARD, 0 outside a card */
	struct pca_buf fn, n, org;
	struct tel *tel;
	size_t ntel, tcap;
};

static bool
next_physical(struct cursor *cur, const char **s, size_t *n)
{
	const char *nl;

	if (cur->p >= cur->end)
		return false;
	*s = cur->p;
	nl = memchr(cur->p, '\n', (size_t)(cur->end - cur->p));
	*n = (size_t)((nl ? nl : cur->end) - cur->p);
	cur->p = nl ? nl + 1 : cur->end;
	if (*n && (*s)[*n - 1] == '\r')
		(*n)--;
	cur->line++;
	return true;
}

/* Length of NAME;params up to the ':' that starts the value (a ':' inside a
 * quoted parameter value does not count), n when there is none. */
static size_t
head_len(const char *s, size_t n)
{
	bool quoted = false;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		else if (s[i] == ':' && !quoted)
			return i;
	}
	return n;
}

static bool
ci_contains(const char *s, size_t n, const char *word)
{
	size_t wlen = strlen(word);

	for (size_t i = 0; i + wlen <= n; i++)
		if (strncasecmp(s + i, word, wlen) == 0)
			return true;
	return false;
}

/* A quoted-printable value whose physical line ends in "=" goes on. */
static bool
qp_soft_break(const struct pca_buf *b)
{
	return b->len > 0 && b->data[b->len - 1] == '=' &&
		ci_contains(b->data, head_len(b->data, b->len), "QUOTED-PRINTABLE");
}

/* The next content line, unfolded, into b; *line is where it starts. */
static bool
next_logical(struct cursor *cur, struct pca_buf *b, unsigned long *line)
{
	struct cursor save;
	const char *s;
	size_t n;

	if (!next_physical(cur, &s, &n))
		return false;
	pca_buf_reset(b);
	pca_buf_add(b, s, n);
	*line = cur->line;
	for (;;) {
		save = *cur;
		if (!next_physical(cur, &s, &n))
			break;
		if (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
			pca_buf_add(b, s + 1, n - 1);
		} else if (qp_soft_break(b)) {
			pca_buf_truncate(b, b->len - 1);
			pca_buf_add(b, s, n);
		} else {
			*cur = save;
			break;
		}
	}
	return true;
}

static bool
parse_prop(const char *s, size_t n, struct prop *p)
{
	size_t head = head_len(s, n), i;

	if (head == n)
		return false;
	for (i = 0; i < head && s[i] != ';'; i++)
		;
	p->name = s;
	p->nlen = i;
	for (size_t k = i; k > 0; k--) {
		if (s[k - 1] == '.') { /* "item1.TEL": the group is of no use here */
			p->name = s + k;
			p->nlen = i - k;
			break;
		}
	}
	p->params = i < head ? s + i + 1 : s + head;
	p->plen = i < head ? head - i - 1 : 0;
	p->value = s + head + 1;
	p->vlen = n - head - 1;
	return true;
}

static bool
name_is(const struct prop *p, const char *name)
{
	return strlen(name) == p->nlen && strncasecmp(p->name, name, p->nlen) == 0;
}

static bool
value_is(const struct prop *p, const char *v)
{
	size_t n = p->vlen;

	while (n && (p->value[n - 1] == ' ' || p->value[n - 1] == '\t'))
		n--;
	return strlen(v) == n && strncasecmp(p->value, v, n) == 0;
}

/* Walk the ';'-separated parameters: KEY=VALUE (value unquoted), or a bare
 * 2.1 parameter such as CELL or QUOTED-PRINTABLE with *v set to NULL. */
static bool
next_param(const char **s, const char *end, const char **k, size_t *klen,
	const char **v, size_t *vlen)
{
	const char *seg = *s, *eq;
	bool quoted = false;

	if (seg >= end)
		return false;
	for (*s = seg; *s < end && (quoted || **s != ';'); (*s)++)
		if (**s == '"')
			quoted = !quoted;
	eq = memchr(seg, '=', (size_t)(*s - seg));
	*k = seg;
	*klen = (size_t)((eq ? eq : *s) - seg);
	*v = eq ? eq + 1 : NULL;
	*vlen = eq ? (size_t)(*s - eq - 1) : 0;
	if (*v && *vlen >= 2 && **v == '"' && (*v)[*vlen - 1] == '"')
		(*v)++, *vlen -= 2;
	if (*s < end)
		(*s)++;
	return true;
}

static bool
param_value(const struct prop *p, const char *key, const char **v, size_t *vlen)
{
	const char *s = p->params, *k;
	size_t klen;

	while (next_param(&s, p->params + p->plen, &k, &klen, v, vlen))
		if (*v && klen == strlen(key) && strncasecmp(k, key, klen) == 0)
			return true;
	return false;
}

static bool
is_quoted_printable(const struct prop *p)
{
	const char *s = p->params, *k, *v;
	size_t klen, vlen;

	while (next_param(&s, p->params + p->plen, &k, &klen, &v, &vlen)) {
		if (v && klen == 8 && strncasecmp(k, "ENCODING", 8) == 0) {
			k = v;
			klen = vlen;
		}
		if (klen == 16 && strncasecmp(k, "QUOTED-PRINTABLE", 16) == 0)
			return true;
	}
	return false;
}

/* The CHARSET parameter when it names something other than UTF-8. */
static bool
foreign_charset(const struct prop *p, const char **cs, size_t *len)
{
	static const char *const utf8[] = { "UTF-8", "UTF8", "US-ASCII", "ASCII" };

	if (!param_value(p, "CHARSET", cs, len))
		return false;
	for (size_t i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++)
		if (strlen(utf8[i]) == *len && strncasecmp(*cs, utf8[i], *len) == 0)
			return false;
	return true;
}

/* Soft line breaks are gone by now (next_logical); a "=" that starts no
 * escape is kept as it is. */
static void
qp_decode(struct pca_buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && pca_hex_value((unsigned char)s[i + 1]) >= 0 && pca_hex_value((unsigned char)s[i + 2]) >= 0) {
			pca_buf_addc(out, (char)(pca_hex_value((unsigned char)s[i + 1]) * 16 + pca_hex_value((unsigned char)s[i + 2])));
			i += 2;
		} else {
			pca_buf_addc(out, s[i]);
		}
	}
}

static int
iconv_all(iconv_t cd, const struct pca_buf *in, struct pca_buf *out)
{
	char *src = in->data, *dst;
	size_t left = in->len, room, r = 0;

	while (left > 0) {
		pca_buf_grow(out, left * 4 + 16);
		dst = out->data + out->len;
		room = out->cap - out->len - 1;
		r = iconv(cd, &src, &left, &dst, &room);
		out->len = (size_t)(dst - out->data);
		if (r == (size_t)-1 && errno != E2BIG)
			return -1;
	}
	/* Stateful charsets (ISO-2022-JP) end with a shift back to ASCII. */
	pca_buf_grow(out, 16);
	dst = out->data + out->len;
	room = out->cap - out->len - 1;
	r = iconv(cd, NULL, NULL, &dst, &room);
	out->len = (size_t)(dst - out->data);
	out->data[out->len] = '\0';
	return r == (size_t)-1 ? -1 : 0;
}

/* Convert text from a 2.1 CHARSET (ISO-8859-1, Shift_JIS, ...) to UTF-8. */
static int
convert_charset(struct loader *ld, unsigned long line, const char *cs, size_t cslen,
	struct pca_buf *text)
{
	struct pca_buf out = PCA_BUF_INIT;
	char *name = pca_strndup(cs, cslen);
	iconv_t cd = iconv_open("UTF-8", name);
	int rc = 0;

	if (cd == (iconv_t)-1)
		rc = fail(ld, line, "unknown charset \"%s\"", name);
	else if (text->len && iconv_all(cd, text, &out) < 0)
		rc = fail(ld, line, "text is not valid %s", name);
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	if (rc == 0 && text->len) {
		pca_buf_free(text);
		*text = out;
	} else {
		pca_buf_free(&out);
	}
	free(name);
	return rc;
}

/* The value of p as UTF-8 text, still with its backslash escapes. */
static int
decode_value(struct loader *ld, const struct prop *p, unsigned long line, struct pca_buf *out)
{
	const char *cs;
	size_t cslen;

	pca_buf_reset(out);
	if (is_quoted_printable(p))
		qp_decode(out, p->value, p->vlen);
	else
		pca_buf_add(out, p->value, p->vlen);
	if (foreign_charset(p, &cs, &cslen) && convert_charset(ld, line, cs, cslen, out) < 0)
		return -1;
	if (!pca_utf8_valid(pca_buf_cstr(out), out->len, NULL))
		return fail(ld, line, "invalid UTF-8");
	return 0;
}

/* Undo the escapes \\ \, \; \n (\N); component >= 0 keeps only that
 * ';'-separated field of a structured value such as N. Other backslashes
 * stay: 2.1 has no such escapes, and Windows paths turn up in NOTEs. */
static void
unescape(struct pca_buf *out, const char *s, size_t n, int component)
{
	int at = 0;

	pca_buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		bool take = component < 0 || at == component;
		char c = s[i];

		if (c == '\\' && i + 1 < n) {
			c = s[++i];
			if (c == 'n' || c == 'N')
				c = '\n';
			else if (c != ',' && c != ';' && c != '\\' && take)
				pca_buf_addc(out, '\\');
		} else if (c == ';' && component >= 0) {
			at++;
			continue;
		}
		if (take)
			pca_buf_addc(out, c);
	}
}

/* FN, else N as "given family", else ORG, cleaned into ld->name. */
static void
card_name(struct loader *ld, struct card *cd)
{
	struct pca_buf *t = &ld->tmp;

	clean_name(&ld->name, pca_buf_cstr(&cd->fn), cd->fn.len);
	if (ld->name.len == 0 && cd->n.len) {
		struct pca_buf both = PCA_BUF_INIT;

		unescape(t, cd->n.data, cd->n.len, 1);
		pca_buf_add(&both, pca_buf_cstr(t), t->len);
		pca_buf_addc(&both, ' ');
		unescape(t, cd->n.data, cd->n.len, 0);
		pca_buf_add(&both, pca_buf_cstr(t), t->len);
		clean_name(&ld->name, both.data, both.len);
		pca_buf_free(&both);
	}
	if (ld->name.len == 0 && cd->org.len) {
		unescape(t, cd->org.data, cd->org.len, 0);
		clean_name(&ld->name, pca_buf_cstr(t), t->len);
	}
}

static void
card_reset(struct card *cd)
{
	for (size_t i = 0; i < cd->ntel; i++)
		free(cd->tel[i].number);
	cd->ntel = 0;
	cd->begin = 0;
	pca_buf_reset(&cd->fn);
	pca_buf_reset(&cd->n);
	pca_buf_reset(&cd->org);
}

static void
card_end(struct loader *ld, struct card *cd)
{
	card_name(ld, cd);
	for (size_t i = 0; i < cd->ntel; i++)
		add_contact(ld, cd->tel[i].number, pca_buf_cstr(&ld->name), cd->tel[i].line);
	card_reset(cd);
}

static void
card_add_tel(struct card *cd, const struct pca_buf *v, unsigned long line)
{
	struct pca_buf number = PCA_BUF_INIT;

	if (cd->ntel == cd->tcap) {
		cd->tcap = cd->tcap ? cd->tcap * 2 : 4;
		cd->tel = pca_reallocarray(cd->tel, cd->tcap, sizeof(*cd->tel));
	}
	unescape(&number, v->data, v->len, -1);
	cd->tel[cd->ntel].number = pca_buf_detach(&number, NULL);
	cd->tel[cd->ntel].line = line;
	cd->ntel++;
}

/* FN, N, ORG and TEL of the open card; the first of each name wins. */
static int
card_prop(struct loader *ld, struct card *cd, const struct prop *p, unsigned long line)
{
	struct pca_buf *dst = NULL;

	if (name_is(p, "FN"))
		dst = &cd->fn;
	else if (name_is(p, "N"))
		dst = &cd->n;
	else if (name_is(p, "ORG"))
		dst = &cd->org;
	else if (!name_is(p, "TEL"))
		return 0;
	if (dst && dst->len)
		return 0;
	if (decode_value(ld, p, line, &ld->tmp) < 0)
		return -1;
	if (dst == &cd->fn)
		unescape(dst, ld->tmp.data, ld->tmp.len, -1);
	else if (dst)
		pca_buf_add(dst, ld->tmp.data, ld->tmp.len);
	else
		card_add_tel(cd, &ld->tmp, line);
	return 0;
}

static int
vcard_line(struct loader *ld, struct card *cd, const struct pca_buf *b, unsigned long line)
{
	const char *cs;
	size_t cslen;
	struct prop p;

	if (!parse_prop(b->data, b->len, &p)) {
		if (!cd->begin && b->len != strspn(b->data, " \t"))
			return fail(ld, line, "expected BEGIN:VCARD");
		if (!pca_utf8_valid(b->data, b->len, NULL))
			return fail(ld, line, "invalid UTF-8");
		return 0;
	}
	if (!foreign_charset(&p, &cs, &cslen) && !pca_utf8_valid(b->data, b->len, NULL))
		return fail(ld, line, "invalid UTF-8");
	if (name_is(&p, "BEGIN") && value_is(&p, "VCARD")) {
		if (cd->begin)
			return fail(ld, cd->begin, "END:VCARD missing");
		cd->begin = line;
		return 0;
	}
	if (!cd->begin)
		return fail(ld, line, name_is(&p, "END") ? "END:VCARD without BEGIN:VCARD" :
			"expected BEGIN:VCARD");
	if (name_is(&p, "END") && value_is(&p, "VCARD")) {
		card_end(ld, cd);
		return 0;
	}
	return card_prop(ld, cd, &p, line);
}

static int
load_vcard(struct loader *ld, const char *data, size_t len)
{
	struct cursor cur = { data, data + len, 0 };
	struct pca_buf b = PCA_BUF_INIT;
	struct card cd = { 0 };
	unsigned long line;
	int rc = 0;

	while (rc == 0 && next_logical(&cur, &b, &line))
		rc = vcard_line(ld, &cd, &b, line);
	if (rc == 0 && cd.begin)
		rc = fail(ld, cd.begin, "END:VCARD missing");
	card_reset(&cd);
	free(cd.tel);
	pca_buf_free(&cd.fn);
	pca_buf_free(&cd.n);
	pca_buf_free(&cd.org);
	pca_buf_free(&b);
	return rc;
}

/* The format is the content's, not the file name's: phones name exports
 * anything, and a .csv may well hold vCards. */
static bool
is_vcard(const char *data, size_t len)
{
	while (len && strchr(" \t\r\n", *data))
		data++, len--;
	return len >= 11 && strncasecmp(data, "BEGIN:VCARD", 11) == 0;
}

/* Problems of the file as a whole, found before either reader runs. */
static int
check_file(struct loader *ld, const char *data, size_t len)
{
	const char *nul = memchr(data, '\0', len);
	size_t bad, bom = len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;

	if (len >= 2 && ((data[0] == '\xff' && data[1] == '\xfe') ||
	    (data[0] == '\xfe' && data[1] == '\xff')))
		return fail(ld, 1, "UTF-16 text; save the file as UTF-8");
	if (nul)
		return fail(ld, line_of(data, (size_t)(nul - data)), "NUL byte");
	/* vCard 2.1 may declare other charsets line by line: checked there. */
	if (!is_vcard(data + bom, len - bom) && !pca_utf8_valid(data, len, &bad))
		return fail(ld, line_of(data, bad), "invalid UTF-8");
	return 0;
}

static int
load(struct loader *ld, const char *data, size_t len)
{
	if (check_file(ld, data, len) < 0)
		return -1;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		data += 3, len -= 3;
	return is_vcard(data, len) ? load_vcard(ld, data, len) : load_csv(ld, data, len);
}

struct pca_contacts *
pca_contacts_load(const char *path, const char *default_region, struct pca_err *err)
{
	struct pca_buf file = PCA_BUF_INIT;
	struct loader ld = { path, default_region, NULL, err, PCA_BUF_INIT, PCA_BUF_INIT };
	int rc;

	if (default_region && !pca_phone_region_calling_code(default_region)) {
		pca_err_set(err, "unknown region \"%s\"", default_region);
		return NULL;
	}
	if (pca_buf_read_file(&file, path, err) < 0) {
		pca_buf_free(&file);
		return NULL;
	}
	ld.c = pca_calloc(1, sizeof(*ld.c));
	rc = load(&ld, pca_buf_cstr(&file), file.len);
	pca_buf_free(&file);
	pca_buf_free(&ld.name);
	pca_buf_free(&ld.tmp);
	if (rc < 0) {
		pca_contacts_free(ld.c);
		return NULL;
	}
	return ld.c;
}
