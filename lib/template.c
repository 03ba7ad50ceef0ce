#include "template.h"

#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/*
 * A template compiles to a flat array of nodes. A section node records the
 * index just past its body, so a false section is skipped in one step and
 * neither the compiler nor the renderer recurses: the compiler keeps the
 * open sections in a small array (nesting is capped) and the renderer keeps
 * its own stack of frames, one per section being rendered or partial being
 * included.
 *
 * Partials are compiled when a render first meets them and are dropped when
 * the render ends, so a caller that changes a partial between renders sees
 * the change. A standalone partial is compiled with its indentation: the
 * compiler puts an indent node at the start of each line of its text, which
 * is what prepending the indentation to every line of the source would do,
 * while keeping error positions true to the partial's own lines.
 *
 * Interpolating an object or an array writes it as compact JSON: the spec
 * leaves it open, and showing the data beats silently dropping it.
 */

#define MAX_SECTION_DEPTH 100
#define MAX_PARTIAL_DEPTH 64
/* A tag name quoted in an error is cut here: names can be as long as the template. */
#define NAME_SHOWN 64

enum kind {
	K_TEXT,		/* bytes of the source */
	K_INDENT,	/* the partial's indentation, at the start of a line */
	K_VAR,		/* {{x}} */
	K_RAW,		/* {{{x}}} and {{&x}}: never HTML-escaped */
	K_SECTION,
	K_INVERTED,
	K_PARTIAL,
};

struct node {
	enum kind kind;
	unsigned line, col;	/* where the tag starts, for errors */
	size_t off, len;	/* K_TEXT: bytes of src; a tag: its name in arena */
	size_t key, nkeys;	/* the name split on '.', NUL-separated in arena; none for "." */
	size_t end;		/* sections: index of the node after the body */
	size_t ind, indlen;	/* K_PARTIAL: indentation to give the partial, in arena */
};

struct pca_template {
	char *name;
	const char *src;	/* K_TEXT nodes point into it */
	char *own;		/* src, when it is our copy */
	struct pca_buf arena;	/* names, keys and indentation */
	size_t ind, indlen;	/* this template's own indentation, in arena */
	struct node *nodes;
	size_t n, cap;
};

struct tag {
	size_t start, end;	/* the whole tag, delimiters included */
	size_t a, b;		/* its content, trimmed */
	char sigil;		/* '#', '^', '/', '>', '!', '=', '&', '{', or 0 */
	unsigned line, col;
};

struct compiler {
	struct pca_template *t;
	const char *src;
	size_t len;
	struct pca_err *err;
	/* The delimiters, and the closings of {{{x}}} and {{=a b=}}. */
	struct pca_buf otag, ctag, tclose, eclose;
	size_t pos;		/* where the next search for a tag starts */
	size_t text;		/* start of literal text not yet emitted */
	size_t at;		/* how far line/col have been counted */
	size_t line_start;
	unsigned line, col;
	size_t indented;	/* the line start that last got an indent node */
	size_t open[MAX_SECTION_DEPTH];
	size_t nopen;
};

static int
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

static int
fail(struct compiler *c, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fail(struct compiler *c, unsigned line, unsigned col, const char *fmt, ...)
{
	struct pca_buf b = PCA_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pca_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	pca_err_set(c->err, "%s:%u:%u: %s", c->t->name, line, col, pca_buf_cstr(&b));
	pca_buf_free(&b);
	return -1;
}

static int
shown(size_t len)
{
	return len > NAME_SHOWN ? NAME_SHOWN : (int)len;
}

/* Advance the line/column count to p. Tags are met in order, so every byte
 * is counted once. Columns count UTF-8 characters, as an editor shows them. */
static void
locate(struct compiler *c, size_t p)
{
	size_t i;

	for (i = c->at; i < p; i++) {
		unsigned char ch = (unsigned char)c->src[i];

		if (ch == '\n') {
			c->line++;
			c->col = 0;
			c->line_start = i + 1;
		} else if ((ch & 0xC0) != 0x80) {
			c->col++;
		}
	}
	c->at = p;
}

/* memmem, by way of memchr for the usual short delimiters: ASan's memmem
 * checks the whole rest of the haystack on every call, which makes a scan of
 * a big template quadratic under the sanitizer. Long needles, whose byte by
 * byte search could be slow, go to memmem. */
static const char *
find(const char *hay, size_t n, const char *needle, size_t m)
{
	const char *p = hay, *end = hay + n;

	if (m > 8)
		return memmem(hay, n, needle, m);
	while (m <= (size_t)(end - p) && (p = memchr(p, needle[0], (size_t)(end - p) - m + 1))) {
		if (memcmp(p, needle, m) == 0)
			return p;
		p++;
	}
	return NULL;
}

static struct node *
add_node(struct compiler *c, enum kind kind)
{
	struct pca_template *t = c->t;
	struct node *nd;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->nodes = pca_reallocarray(t->nodes, t->cap, sizeof(*t->nodes));
	}
	nd = &t->nodes[t->n++];
	memset(nd, 0, sizeof(*nd));
	nd->kind = kind;
	return nd;
}

static void
add_indent(struct compiler *c, size_t line_start)
{
	if (c->t->indlen == 0 || c->indented == line_start)
		return;
	add_node(c, K_INDENT);
	c->indented = line_start;
}

/* Literal text [from, to). In an indented partial every line that has
 * content starts with the indentation. */
static void
emit_text(struct compiler *c, size_t from, size_t to)
{
	struct node *nd;
	const char *nl;
	size_t p = from, e;

	while (p < to) {
		if (p == 0 || c->src[p - 1] == '\n')
			add_indent(c, p);
		e = to;
		if (c->t->indlen && (nl = memchr(c->src + p, '\n', to - p)))
			e = (size_t)(nl - c->src) + 1;
		nd = add_node(c, K_TEXT);
		nd->off = p;
		nd->len = e - p;
		p = e;
	}
}

static void
set_buf(struct pca_buf *b, const char *prefix, const char *p, size_t n)
{
	pca_buf_reset(b);
	pca_buf_adds(b, prefix);
	pca_buf_add(b, p, n);
}

static void
set_delimiters(struct compiler *c, const char *o, size_t olen, const char *cl, size_t clen)
{
	set_buf(&c->otag, "", o, olen);
	set_buf(&c->ctag, "", cl, clen);
	set_buf(&c->tclose, "}", cl, clen);
	set_buf(&c->eclose, "=", cl, clen);
}

/* Read the tag whose opening delimiter is at p. */
static int
parse_tag(struct compiler *c, size_t p, struct tag *tg)
{
	const struct pca_buf *close = &c->ctag;
	const char *found;
	size_t q = p + c->otag.len;

	locate(c, p);
	tg->start = p;
	tg->line = c->line;
	tg->col = c->col + 1;
	tg->sigil = q < c->len ? c->src[q] : 0;
	switch (tg->sigil) {
	case '{':
		close = &c->tclose;
		q++;
		break;
	case '=':
		close = &c->eclose;
		q++;
		break;
	case '&': case '#': case '^': case '/': case '>': case '!':
		q++;
		break;
	default:
		tg->sigil = 0;
	}
	found = find(c->src + q, c->len - q, close->data, close->len);
	if (!found)
		return fail(c, tg->line, tg->col, tg->sigil == '=' ? "invalid set-delimiter tag" :
			"unclosed tag");
	tg->a = q;
	tg->b = (size_t)(found - c->src);
	tg->end = tg->b + close->len;
	while (tg->a < tg->b && is_space(c->src[tg->a]))
		tg->a++;
	while (tg->b > tg->a && is_space(c->src[tg->b - 1]))
		tg->b--;
	return 0;
}

/* A tag alone on its line, apart from spaces and tabs, vanishes with its
 * line. *ws is where the line starts, *next where the next one does. */
static int
standalone(const struct compiler *c, const struct tag *tg, size_t *ws, size_t *next)
{
	const char *s = c->src;
	size_t a = tg->start, b = tg->end;

	if (tg->sigil == 0 || !strchr("#^/>!=", tg->sigil))
		return 0;
	while (a > 0 && (s[a - 1] == ' ' || s[a - 1] == '\t'))
		a--;
	if (a > 0 && s[a - 1] != '\n')
		return 0;
	while (b < c->len && (s[b] == ' ' || s[b] == '\t'))
		b++;
	if (b < c->len) {
		if (s[b] == '\n')
			b++;
		else if (s[b] == '\r' && b + 1 < c->len && s[b + 1] == '\n')
			b += 2;
		else
			return 0;
	}
	*ws = a;
	*next = b;
	return 1;
}

static int
check_name(struct compiler *c, const struct tag *tg, int dotted)
{
	const char *s = c->src + tg->a;
	size_t n = tg->b - tg->a, i;
	int bad = 0;

	if (n == 0)
		return fail(c, tg->line, tg->col, "empty tag name");
	for (i = 0; i < n && !bad; i++)
		bad = is_space(s[i]) || s[i] == '\0';
	/* Dotted names need a key between every pair of dots; "." alone is the
	 * current context. */
	if (dotted && !bad && !(n == 1 && s[0] == '.'))
		for (i = 0; i < n && !bad; i++)
			bad = s[i] == '.' && (i == 0 || i == n - 1 || s[i + 1] == '.');
	if (bad)
		return fail(c, tg->line, tg->col, "invalid tag name \"%.*s\"", shown(n), s);
	return 0;
}

/* A node for a named tag: the name, and its keys for lookup. */
static struct node *
add_named(struct compiler *c, enum kind kind, const struct tag *tg)
{
	struct pca_buf *ar = &c->t->arena;
	struct node *nd;
	size_t i, n = tg->b - tg->a;
	const char *s = c->src + tg->a;

	nd = add_node(c, kind);
	nd->line = tg->line;
	nd->col = tg->col;
	nd->off = ar->len;
	nd->len = n;
	pca_buf_add(ar, s, n);
	pca_buf_addc(ar, '\0');
	nd->key = ar->len;
	if (kind == K_PARTIAL || (n == 1 && s[0] == '.'))
		return nd;
	nd->nkeys = 1;
	for (i = 0; i < n; i++) {
		pca_buf_addc(ar, s[i] == '.' ? '\0' : s[i]);
		nd->nkeys += s[i] == '.';
	}
	pca_buf_addc(ar, '\0');
	return nd;
}

static int
open_section(struct compiler *c, const struct tag *tg)
{
	if (check_name(c, tg, 1) < 0)
		return -1;
	if (c->nopen == MAX_SECTION_DEPTH)
		return fail(c, tg->line, tg->col, "sections nested deeper than %d",
			MAX_SECTION_DEPTH);
	add_named(c, tg->sigil == '#' ? K_SECTION : K_INVERTED, tg);
	c->open[c->nopen++] = c->t->n - 1;
	return 0;
}

static int
close_section(struct compiler *c, const struct tag *tg)
{
	struct node *nd;
	const char *name, *s = c->src + tg->a;
	size_t n = tg->b - tg->a;

	if (check_name(c, tg, 1) < 0)
		return -1;
	if (c->nopen == 0)
		return fail(c, tg->line, tg->col, "unexpected closing tag \"%.*s\"", shown(n), s);
	nd = &c->t->nodes[c->open[c->nopen - 1]];
	name = c->t->arena.data + nd->off;
	if (nd->len != n || memcmp(name, s, n) != 0)
		return fail(c, tg->line, tg->col,
			"unexpected closing tag \"%.*s\" (open section is \"%.*s\")",
			shown(n), s, shown(nd->len), name);
	nd->end = c->t->n;
	c->nopen--;
	return 0;
}

/* {{=<% %>=}}: exactly two delimiters, separated by whitespace. */
static int
change_delimiters(struct compiler *c, const struct tag *tg)
{
	const char *s = c->src;
	size_t i = tg->a, j;

	while (i < tg->b && !is_space(s[i]))
		i++;
	j = i;
	while (j < tg->b && is_space(s[j]))
		j++;
	if (i == tg->a || j == tg->b || i == j)
		return fail(c, tg->line, tg->col, "invalid set-delimiter tag");
	if (memchr(s + j, ' ', tg->b - j) || memchr(s + j, '\t', tg->b - j) ||
	    memchr(s + j, '\n', tg->b - j) || memchr(s + j, '\r', tg->b - j))
		return fail(c, tg->line, tg->col, "invalid set-delimiter tag");
	set_delimiters(c, s + tg->a, i - tg->a, s + j, tg->b - j);
	return 0;
}

/* {{>name}}; ws..start is its indentation when it stands alone. */
static int
add_partial(struct compiler *c, const struct tag *tg, int alone, size_t ws)
{
	struct pca_buf *ar = &c->t->arena;
	struct node *nd;
	size_t ind;

	if (check_name(c, tg, 0) < 0)
		return -1;
	nd = add_named(c, K_PARTIAL, tg);
	if (!alone)
		return 0;
	/* The inherited indentation is copied from the arena into itself: make
	 * room first so that it cannot move under the copy. */
	pca_buf_grow(ar, c->t->indlen + (tg->start - ws));
	ind = ar->len;
	pca_buf_add(ar, ar->data + c->t->ind, c->t->indlen);
	pca_buf_add(ar, c->src + ws, tg->start - ws);
	nd->ind = ind;
	nd->indlen = ar->len - ind;
	return 0;
}

static int
handle_tag(struct compiler *c, const struct tag *tg, int alone, size_t ws)
{
	switch (tg->sigil) {
	case '!':
		return 0;
	case '=':
		return change_delimiters(c, tg);
	case '#': case '^':
		return open_section(c, tg);
	case '/':
		return close_section(c, tg);
	case '>':
		return add_partial(c, tg, alone, ws);
	default:
		if (check_name(c, tg, 1) < 0)
			return -1;
		add_named(c, tg->sigil ? K_RAW : K_VAR, tg);
		return 0;
	}
}

static int
compile_all(struct compiler *c)
{
	const char *p;
	struct tag tg;
	size_t ws = 0, next = 0;
	int alone;

	while ((p = find(c->src + c->pos, c->len - c->pos, c->otag.data, c->otag.len))) {
		if (parse_tag(c, (size_t)(p - c->src), &tg) < 0)
			return -1;
		alone = standalone(c, &tg, &ws, &next);
		if (alone) {
			emit_text(c, c->text, ws);
			c->pos = c->text = next;
		} else {
			emit_text(c, c->text, tg.start);
			add_indent(c, c->line_start);
			c->pos = c->text = tg.end;
		}
		if (handle_tag(c, &tg, alone, ws) < 0)
			return -1;
	}
	emit_text(c, c->text, c->len);
	if (c->nopen > 0) {
		const struct node *nd = &c->t->nodes[c->open[c->nopen - 1]];

		return fail(c, nd->line, nd->col, "unclosed section \"%.*s\"", shown(nd->len),
			c->t->arena.data + nd->off);
	}
	return 0;
}

/* Compile src. A partial's source is borrowed (it outlives the render that
 * compiles it); a top-level template's is copied. */
static struct pca_template *
compile(const char *src, size_t len, const char *name, const char *indent, size_t indlen,
	int copy, struct pca_err *err)
{
	struct pca_template *t = pca_calloc(1, sizeof(*t));
	struct compiler c;
	int rc;

	t->name = pca_strdup(name ? name : "template");
	if (copy) {
		t->own = pca_malloc(len + 1);
		if (len)
			memcpy(t->own, src, len);
		t->src = t->own;
	} else {
		t->src = src ? src : "";
	}
	pca_buf_add(&t->arena, "", 0);
	t->ind = t->arena.len;
	pca_buf_add(&t->arena, indent, indlen);
	t->indlen = indlen;

	memset(&c, 0, sizeof(c));
	c.t = t;
	c.src = t->src;
	c.len = len;
	c.err = err;
	c.line = 1;
	c.indented = SIZE_MAX;
	set_delimiters(&c, "{{", 2, "}}", 2);
	rc = compile_all(&c);
	pca_buf_free(&c.otag);
	pca_buf_free(&c.ctag);
	pca_buf_free(&c.tclose);
	pca_buf_free(&c.eclose);
	if (rc < 0) {
		pca_template_free(t);
		return NULL;
	}
	return t;
}

struct pca_template *
pca_template_compile(const char *src, size_t len, const char *name, struct pca_err *err)
{
	return compile(src, len, name, "", 0, 1, err);
}

void
pca_template_free(struct pca_template *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->own);
	pca_buf_free(&t->arena);
	free(t->nodes);
	free(t);
}

/* ---- rendering ---- */

struct frame {
	const struct pca_template *t;
	size_t i, end;		/* the next node, and the end of the range */
	size_t body;		/* first node of the section body, for the next element */
	json_object *list;	/* the array a section iterates, or NULL */
	size_t idx, n;
	int pushed;		/* pushed a context */
	int partial;		/* the frame of an included partial */
};

struct partial {
	const char *name;
	const char *ind;
	size_t indlen;
	struct pca_template *t;	/* NULL when there is no such partial */
};

struct render {
	enum pca_escape esc;
	pca_partial_fn *fn;
	void *ud;
	struct pca_buf *out;
	struct pca_err *err;
	json_object **ctx;
	size_t nctx, capctx;
	struct frame *fr;
	size_t nfr, capfr;
	unsigned partial_depth;
	struct partial *cache;	/* partials compiled during this render */
	size_t ncache, capcache;
};

static void
push_ctx(struct render *r, json_object *v)
{
	if (r->nctx == r->capctx) {
		r->capctx = r->capctx ? r->capctx * 2 : 16;
		r->ctx = pca_reallocarray(r->ctx, r->capctx, sizeof(*r->ctx));
	}
	r->ctx[r->nctx++] = v;
}

static struct frame *
push_frame(struct render *r, const struct pca_template *t, size_t from, size_t to)
{
	struct frame *f;

	if (r->nfr == r->capfr) {
		r->capfr = r->capfr ? r->capfr * 2 : 16;
		r->fr = pca_reallocarray(r->fr, r->capfr, sizeof(*r->fr));
	}
	f = &r->fr[r->nfr++];
	memset(f, 0, sizeof(*f));
	f->t = t;
	f->i = f->body = from;
	f->end = to;
	return f;
}

/* Write a value's bytes in the render's escaping mode. */
static void
write_escaped(struct render *r, const char *s, size_t n, int raw)
{
	enum pca_escape esc = r->esc;
	const char *rep;
	size_t i, run = 0;

	if (esc == PCA_ESCAPE_NONE || (esc == PCA_ESCAPE_HTML && raw)) {
		pca_buf_add(r->out, s, n);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		rep = NULL;
		if (esc == PCA_ESCAPE_HEADER) {
			if (ch < 0x20 || ch == 0x7f)
				rep = " ";
		} else if (ch == '&') {
			rep = "&amp;";
		} else if (ch == '"') {
			rep = "&quot;";
		} else if (ch == '<') {
			rep = "&lt;";
		} else if (ch == '>') {
			rep = "&gt;";
		} else if (ch == '\'') {
			rep = "&#39;";
		}
		if (!rep)
			continue;
		pca_buf_add(r->out, s + run, i - run);
		pca_buf_adds(r->out, rep);
		run = i + 1;
	}
	pca_buf_add(r->out, s + run, n - run);
}

/* The locale may spell the decimal point otherwise; the output never does. */
static void
add_number_text(struct pca_buf *out, const char *s)
{
	const char *dp = localeconv()->decimal_point;
	size_t dplen = dp ? strlen(dp) : 0;

	if (dplen == 0 || (dplen == 1 && dp[0] == '.')) {
		pca_buf_adds(out, s);
		return;
	}
	while (*s) {
		if (strncmp(s, dp, dplen) == 0) {
			pca_buf_addc(out, '.');
			s += dplen;
		} else {
			pca_buf_addc(out, *s++);
		}
	}
}

/* The shortest decimal that reads back as d, in plain notation unless it is
 * tiny or huge (as JavaScript prints numbers): 1.21 -> "1.21", 1e6 ->
 * "1000000", 1e-7 -> "1e-07". */
static void
add_double(struct pca_buf *out, double d)
{
	/* Bounded: at most 17 significant digits, and plain notation only for
	 * exponents -7 < e < 21. */
	char buf[64];
	int prec, exp10, decimals;
	char *e;

	if (isnan(d) || isinf(d)) {
		pca_buf_adds(out, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	if (d == 0) {
		pca_buf_addc(out, '0');
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
	e = strchr(buf, 'e');
	exp10 = e ? (int)strtol(e + 1, NULL, 10) : 0;
	if (exp10 >= -6 && exp10 < 21) {
		decimals = prec - 1 - exp10;
		snprintf(buf, sizeof(buf), "%.*f", decimals > 0 ? decimals : 0, d);
	}
	add_number_text(out, buf);
}

static void
write_value(struct render *r, json_object *v, int raw)
{
	const char *s;
	size_t n;
	int64_t i;

	switch (json_object_get_type(v)) {
	case json_type_null:
		return;
	case json_type_boolean:
		pca_buf_adds(r->out, json_object_get_boolean(v) ? "true" : "false");
		return;
	case json_type_int:
		/* int64 saturates: past INT64_MAX the value is a uint64. */
		i = json_object_get_int64(v);
		if (i == INT64_MAX)
			pca_buf_addf(r->out, "%" PRIu64, json_object_get_uint64(v));
		else
			pca_buf_addf(r->out, "%" PRId64, i);
		return;
	case json_type_double:
		add_double(r->out, json_object_get_double(v));
		return;
	case json_type_string:
		s = json_object_get_string(v);
		n = (size_t)json_object_get_string_len(v);
		break;
	default:
		s = json_object_to_json_string_length(v,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
		break;
	}
	write_escaped(r, s, n, raw);
}

static int
truthy(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return 0;
	case json_type_boolean:
		return json_object_get_boolean(v);
	case json_type_int:
		return json_object_get_int64(v) != 0;
	case json_type_double:
		return json_object_get_double(v) != 0.0;
	case json_type_string:
		return json_object_get_string_len(v) != 0;
	case json_type_array:
		return json_object_array_length(v) != 0;
	case json_type_object:
		return 1;
	}
	return 0;
}

/* The spec's name resolution: the first key is looked up down the context
 * stack, the others only in what the previous key found. */
static json_object *
lookup(const struct render *r, const struct pca_template *t, const struct node *nd)
{
	const char *key = t->arena.data + nd->key;
	json_object *v = NULL;
	size_t i, k;

	if (nd->nkeys == 0)
		return r->ctx[r->nctx - 1];
	for (i = r->nctx; i > 0; i--)
		if (json_object_is_type(r->ctx[i - 1], json_type_object) &&
		    json_object_object_get_ex(r->ctx[i - 1], key, &v))
			break;
	if (i == 0)
		return NULL;
	for (k = 1; k < nd->nkeys; k++) {
		/* Keys are our own copies, checked at compile time to hold no NUL. */
		key += strlen(key) + 1;
		if (!json_object_is_type(v, json_type_object) ||
		    !json_object_object_get_ex(v, key, &v))
			return NULL;
	}
	return v;
}

static void
enter_section(struct render *r, const struct pca_template *t, const struct node *nd)
{
	json_object *v = lookup(r, t, nd);
	size_t body = (size_t)(nd - t->nodes) + 1;
	struct frame *f;
	int yes = truthy(v);

	if (body == nd->end || yes != (nd->kind == K_SECTION))
		return;
	f = push_frame(r, t, body, nd->end);
	if (nd->kind == K_INVERTED)
		return;
	f->pushed = 1;
	if (json_object_is_type(v, json_type_array)) {
		f->list = v;
		f->n = json_object_array_length(v);
		v = json_object_array_get_idx(v, 0);
	}
	push_ctx(r, v);
}

/* The partial `name` with this indentation, compiled once per render. */
static int
find_partial(struct render *r, const char *name, const char *ind, size_t indlen,
	struct pca_template **out)
{
	struct partial *p;
	const char *src = NULL;
	size_t i, len = 0;

	for (i = 0; i < r->ncache; i++) {
		p = &r->cache[i];
		if (strcmp(p->name, name) == 0 && p->indlen == indlen &&
		    memcmp(p->ind, ind, indlen) == 0) {
			*out = p->t;
			return 0;
		}
	}
	*out = NULL;
	if (r->fn && r->fn(r->ud, name, &src, &len) == 1) {
		*out = compile(src, src ? len : 0, name, ind, indlen, 0, r->err);
		if (!*out)
			return -1;
	}
	if (r->ncache == r->capcache) {
		r->capcache = r->capcache ? r->capcache * 2 : 8;
		r->cache = pca_reallocarray(r->cache, r->capcache, sizeof(*r->cache));
	}
	p = &r->cache[r->ncache++];
	p->name = name;
	p->ind = ind;
	p->indlen = indlen;
	p->t = *out;
	return 0;
}

static int
enter_partial(struct render *r, const struct pca_template *t, const struct node *nd)
{
	const char *name = t->arena.data + nd->off;
	struct pca_template *p;

	if (find_partial(r, name, t->arena.data + nd->ind, nd->indlen, &p) < 0)
		return -1;
	if (!p || p->n == 0)
		return 0;
	if (r->partial_depth >= MAX_PARTIAL_DEPTH)
		return pca_err_set(r->err, "%s:%u:%u: partial \"%.*s\" nested deeper than %d",
			t->name, nd->line, nd->col, shown(nd->len), name, MAX_PARTIAL_DEPTH);
	push_frame(r, p, 0, p->n)->partial = 1;
	r->partial_depth++;
	return 0;
}

static int
render_node(struct render *r, const struct pca_template *t, const struct node *nd)
{
	switch (nd->kind) {
	case K_TEXT:
		pca_buf_add(r->out, t->src + nd->off, nd->len);
		break;
	case K_INDENT:
		pca_buf_add(r->out, t->arena.data + t->ind, t->indlen);
		break;
	case K_VAR: case K_RAW:
		write_value(r, lookup(r, t, nd), nd->kind == K_RAW);
		break;
	case K_SECTION: case K_INVERTED:
		enter_section(r, t, nd);
		break;
	case K_PARTIAL:
		return enter_partial(r, t, nd);
	}
	return 0;
}

/* The top frame has run out of nodes: go on with the next element of its
 * list, or leave it. */
static void
finish_frame(struct render *r)
{
	struct frame *f = &r->fr[r->nfr - 1];

	if (f->list && ++f->idx < f->n) {
		r->ctx[r->nctx - 1] = json_object_array_get_idx(f->list, f->idx);
		f->i = f->body;
		return;
	}
	if (f->pushed)
		r->nctx--;
	if (f->partial)
		r->partial_depth--;
	r->nfr--;
}

static int
run(struct render *r, const struct pca_template *t)
{
	const struct node *nd;
	struct frame *f;

	push_frame(r, t, 0, t->n);
	while (r->nfr > 0) {
		f = &r->fr[r->nfr - 1];
		if (f->i == f->end) {
			finish_frame(r);
			continue;
		}
		nd = &f->t->nodes[f->i];
		/* Step past a section before its body gets a frame: that may move f. */
		f->i = nd->kind == K_SECTION || nd->kind == K_INVERTED ? nd->end : f->i + 1;
		if (render_node(r, f->t, nd) < 0)
			return -1;
	}
	return 0;
}

int
pca_template_render(const struct pca_template *t, json_object *ctx, enum pca_escape esc,
	pca_partial_fn *partials, void *ud, struct pca_buf *out, struct pca_err *err)
{
	struct render r;
	size_t before = out->len, i;
	int rc;

	memset(&r, 0, sizeof(r));
	r.esc = esc;
	r.fn = partials;
	r.ud = ud;
	r.out = out;
	r.err = err;
	push_ctx(&r, ctx);
	rc = run(&r, t);
	for (i = 0; i < r.ncache; i++)
		pca_template_free(r.cache[i].t);
	free(r.cache);
	free(r.ctx);
	free(r.fr);
	if (rc < 0)
		pca_buf_truncate(out, before);
	return rc;
}
