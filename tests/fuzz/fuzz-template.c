/* Mustache: compile a template and render it in all three escape modes.
 *
 * Input: TEMPLATE [SEP JSON [SEP PARTIAL]...], SEP being "\n====\n" and each
 * PARTIAL its name, a newline, then its source. When JSON does not parse,
 * a fixed context is used.
 *
 * Properties:
 * - without any partial, a compiled template always renders (the header:
 *   rendering fails only on a broken partial);
 * - HTML escaping only ever adds entities: when the unescaped rendering
 *   holds no '&', undoing the five entities in the HTML rendering gives it
 *   back byte for byte;
 * - when the template and partials hold no control character, the
 *   PCA_ESCAPE_HEADER rendering is the unescaped one with every C0 control
 *   and DEL turned into a space (so a value can never end a header line).
 *
 * Mustache can take exponential time by design: nested sections over the
 * same array, or partials including themselves twice. Templates are
 * configuration, not input, so the target bounds both: array sections
 * iterate at most ITER_BUDGET times per render in total (afterwards an
 * array counts as one element; json_object_array_length is wrapped with
 * -Wl,--wrap), and all partials together may hold one '>' (one partial tag,
 * so recursion is a chain that the depth limit of 64 ends). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "template.h"

#define SEP "\n====\n"
#define MAX_PARTS 8
#define ITER_BUDGET 2000

size_t __real_json_object_array_length(const struct json_object *obj);
size_t __wrap_json_object_array_length(const struct json_object *obj);

static size_t budget = (size_t)-1;

size_t
__wrap_json_object_array_length(const struct json_object *obj)
{
	size_t n = __real_json_object_array_length(obj);

	if (budget == (size_t)-1 || n <= 1)
		return n;
	if (budget < n)
		n = budget > 1 ? budget : 1;
	budget -= n <= budget ? n : budget;
	return n;
}

static const char default_ctx[] =
    "{\"caller\":{\"name\":\"Dana <Lee> & \\\"co\\\"\",\"number\":\"+14155550123\"},"
    "\"summary\":\"line one\\r\\nline two\\u0000\\ttab\",\"duration\":295,\"ok\":true,"
    "\"no\":false,\"none\":null,\"ratio\":0.25,\"empty\":\"\",\"zero\":0,\"list\":[],"
    "\"items\":[{\"name\":\"a\",\"v\":1},{\"name\":\"b'\",\"v\":2},\"s\",3,[4,5]],"
    "\"a\":{\"b\":{\"c\":\"deep\"}}}";

struct partials {
	struct fuzz_span name[MAX_PARTS], src[MAX_PARTS];
	char *cname[MAX_PARTS];
	size_t n;
};

static int
find(void *ud, const char *name, const char **src, size_t *len)
{
	struct partials *ps = ud;

	for (size_t i = 0; i < ps->n; i++) {
		if (strcmp(ps->cname[i], name) == 0) {
			*src = ps->src[i].p;
			*len = ps->src[i].n;
			return 1;
		}
	}
	return 0;
}

static int
none(void *ud, const char *name, const char **src, size_t *len)
{
	(void)ud;
	(void)name;
	(void)src;
	(void)len;
	return 0;
}

static size_t
count_byte(struct fuzz_span sp, char c)
{
	size_t n = 0;

	for (size_t i = 0; i < sp.n; i++)
		n += sp.p[i] == c;
	return n;
}

static bool
has_control(struct fuzz_span sp)
{
	for (size_t i = 0; i < sp.n; i++)
		if ((unsigned char)sp.p[i] < 0x20 || sp.p[i] == 0x7F)
			return true;
	return false;
}

/* Partials from the parts after the data, as long as they hold one '>' in all. */
static void
read_partials(struct partials *ps, const struct fuzz_span *parts, size_t n)
{
	size_t gt = 0;
	const char *nl;

	ps->n = 0;
	for (size_t i = 0; i < n; i++) {
		struct fuzz_span s = parts[i];
		nl = memchr(s.p, '\n', s.n);
		ps->name[ps->n] = (struct fuzz_span){ s.p, nl ? (size_t)(nl - s.p) : s.n };
		ps->src[ps->n] = nl ? (struct fuzz_span){ nl + 1, s.n - (size_t)(nl + 1 - s.p) } :
		    (struct fuzz_span){ s.p + s.n, 0 };
		gt += count_byte(ps->src[ps->n], '>');
		if (gt > 1)
			break;
		ps->cname[ps->n] = fuzz_cstr(ps->name[ps->n]);
		ps->n++;
	}
}

static int
render(const struct pca_template *t, json_object *ctx, enum pca_escape esc,
	struct partials *ps, struct pca_buf *out)
{
	struct pca_err err = PCA_ERR_INIT;
	int rc;

	budget = ITER_BUDGET;
	pca_buf_reset(out);
	rc = ps ? pca_template_render(t, ctx, esc, find, ps, out, &err) :
	    pca_template_render(t, ctx, esc, none, NULL, out, &err);
	budget = (size_t)-1;
	if (rc < 0) {
		FUZZ_CHECK(ps != NULL, "render failed without any partial: %s", err.msg);
		FUZZ_CHECK(err.msg && *err.msg, "a failure without a message");
		pca_err_clear(&err);
	}
	return rc;
}

/* Undo the five entities of PCA_ESCAPE_HTML. */
static void
unescape_html(const struct pca_buf *in, struct pca_buf *out)
{
	static const char *const ent[][2] = {
		{ "&amp;", "&" }, { "&quot;", "\"" }, { "&lt;", "<" }, { "&gt;", ">" },
		{ "&#39;", "'" },
	};
	size_t i = 0, k, n;

	pca_buf_reset(out);
	while (i < in->len) {
		for (k = 0; k < 5; k++) {
			n = strlen(ent[k][0]);
			if (in->len - i >= n && memcmp(in->data + i, ent[k][0], n) == 0)
				break;
		}
		if (k < 5) {
			pca_buf_adds(out, ent[k][1]);
			i += strlen(ent[k][0]);
		} else {
			pca_buf_addc(out, in->data[i++]);
		}
	}
}

static void
compare(const char *what, const struct pca_buf *want, const struct pca_buf *got)
{
	if (fuzz_same(want->data, want->len, got->data, got->len))
		return;
	fuzz_dump("expected", want->data, want->len);
	fuzz_dump("rendered", got->data, got->len);
	fuzz_fail("%s", what);
}

static void
check_modes(const struct pca_template *t, json_object *ctx, struct partials *ps, bool controls)
{
	struct pca_buf plain = PCA_BUF_INIT, html = PCA_BUF_INIT, hdr = PCA_BUF_INIT,
	    want = PCA_BUF_INIT;
	int a = render(t, ctx, PCA_ESCAPE_NONE, ps, &plain);
	int b = render(t, ctx, PCA_ESCAPE_HTML, ps, &html);
	int c = render(t, ctx, PCA_ESCAPE_HEADER, ps, &hdr);

	FUZZ_CHECK(a == b && b == c, "the escape mode changed whether rendering fails");
	if (a == 0 && !(plain.len && memchr(plain.data, '&', plain.len))) {
		unescape_html(&html, &want);
		compare("HTML rendering is not the plain one with entities", &plain, &want);
	}
	if (a == 0 && !controls) {
		pca_buf_reset(&want);
		for (size_t i = 0; i < plain.len; i++) {
			unsigned char ch = (unsigned char)plain.data[i];
			pca_buf_addc(&want, ch < 0x20 || ch == 0x7F ? ' ' : (char)ch);
		}
		compare("header rendering holds a control or differs from the plain one", &want,
		    &hdr);
	}
	pca_buf_free(&plain);
	pca_buf_free(&html);
	pca_buf_free(&hdr);
	pca_buf_free(&want);
}

static json_object *
parse_data(struct fuzz_span sp)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, sp.p, (int)sp.n);

	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = json_tokener_parse(default_ctx);
	}
	json_tokener_free(tok);
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_span parts[MAX_PARTS + 2];
	size_t n = fuzz_split((const char *)data, size, SEP, parts, MAX_PARTS + 2);
	struct pca_err err = PCA_ERR_INIT;
	struct partials ps;
	struct pca_template *t;
	json_object *ctx;
	bool controls;

	if (size > 1 << 16)
		return 0;
	t = pca_template_compile(parts[0].p, parts[0].n, "fuzz.mustache", &err);
	if (!t) {
		FUZZ_CHECK(err.msg && *err.msg, "a failure without a message");
		pca_err_clear(&err);
		return 0;
	}
	ctx = n > 1 ? parse_data(parts[1]) : json_tokener_parse(default_ctx);
	read_partials(&ps, parts + 2, n > 2 ? n - 2 : 0);
	controls = has_control(parts[0]);
	for (size_t i = 0; i < ps.n; i++)
		controls = controls || has_control(ps.src[i]);
	check_modes(t, ctx, NULL, has_control(parts[0]));
	if (ps.n > 0)
		check_modes(t, ctx, &ps, controls);
	for (size_t i = 0; i < ps.n; i++)
		free(ps.cname[i]);
	json_object_put(ctx);
	pca_template_free(t);
	return 0;
}
