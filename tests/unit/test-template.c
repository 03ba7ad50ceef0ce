/* lib/template.c beyond the Mustache spec: escaping modes, value formatting,
 * truthiness, error messages, limits, size, NUL bytes and partials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "template.h"
#include "tap.h"

struct named {
	const char *name;
	const char *src;
	size_t len;		/* 0: use strlen(src) */
};

static int partial_calls;

static int
table_partial(void *ud, const char *name, const char **src, size_t *len)
{
	const struct named *p;

	partial_calls++;
	for (p = ud; p && p->name; p++) {
		if (strcmp(p->name, name) == 0) {
			*src = p->src;
			*len = p->len ? p->len : strlen(p->src);
			return 1;
		}
	}
	return 0;
}

/* The last rendering (or error): kept here so that tests need not free. */
static char *last;
static size_t last_len;

static const char *
keep(char *s, size_t n)
{
	free(last);
	last = s;
	last_len = n;
	return s;
}

/* Compile as "t" and render. On failure NULL comes back and *failed is the
 * error message. */
static const char *
render_ctx(const char *tpl, size_t tlen, json_object *ctx, enum pca_escape esc,
	const struct named *parts, const char **failed)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_buf out = PCA_BUF_INIT;
	struct pca_template *t;
	size_t n;
	char *s;

	*failed = NULL;
	t = pca_template_compile(tpl, tlen, "t", &err);
	if (t && pca_template_render(t, ctx, esc, table_partial, (void *)parts, &out, &err) == 0) {
		pca_template_free(t);
		pca_err_clear(&err);
		s = pca_buf_detach(&out, &n);
		return keep(s, n);
	}
	pca_template_free(t);
	pca_buf_free(&out);
	keep(pca_strdup(pca_err_msg(&err)), 0);
	pca_err_clear(&err);
	*failed = last;
	return NULL;
}

/* Render tpl over a JSON text; on failure the error message is returned
 * with "ERROR: " in front, so a comparison shows it. */
static const char *
render_json(const char *tpl, const char *json, enum pca_escape esc, const struct named *parts)
{
	json_object *ctx = json_tokener_parse(json);
	const char *failed, *out;

	if (!ctx && strcmp(json, "null") != 0)
		return "ERROR: bad test JSON";
	out = render_ctx(tpl, strlen(tpl), ctx, esc, parts, &failed);
	json_object_put(ctx);
	if (!out)
		return keep(pca_asprintf("ERROR: %s", failed), 0);
	return out;
}

static const char *
compile_error(const char *tpl, size_t len, const char *name)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_template *t = pca_template_compile(tpl, len, name, &err);

	if (t) {
		pca_template_free(t);
		return "(compiled without error)";
	}
	keep(pca_strdup(pca_err_msg(&err)), 0);
	pca_err_clear(&err);
	return last;
}

/* {"v": value} rendered through "{{v}}" with no escaping. */
static const char *
value_text(const char *value)
{
	char *json = pca_asprintf("{\"v\": %s}", value);
	const char *out = render_json("{{v}}", json, PCA_ESCAPE_NONE, NULL);

	free(json);
	return out;
}

/* "T" per iteration when value is truthy, "F" when it is not. */
static const char *
truth(const char *value)
{
	char *json = pca_asprintf("{\"v\": %s}", value);
	const char *out = render_json("{{#v}}T{{/v}}{{^v}}F{{/v}}", json, PCA_ESCAPE_NONE, NULL);

	free(json);
	return out;
}

static int
bytes_are(const char *got, size_t glen, const char *want, size_t wlen, const char *what)
{
	int pass = got && glen == wlen && memcmp(got, want, wlen) == 0;

	ok(pass, "%s", what);
	if (!pass)
		printf("#   got %zu bytes, want %zu\n", got ? glen : 0, wlen);
	return pass;
}

static void
test_escaping(void)
{
	const char *ctx = "{\"x\": \"<script>alert('x') & \\\"y\\\"</script>\"}";

	is_str(render_json("<p>{{x}}</p>", ctx, PCA_ESCAPE_HTML, NULL),
		"<p>&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;</p>",
		"html: <script> escaped, with ' as &#39;");
	is_str(render_json("{{{x}}}|{{&x}}", ctx, PCA_ESCAPE_HTML, NULL),
		"<script>alert('x') & \"y\"</script>|<script>alert('x') & \"y\"</script>",
		"html: triple mustache and & are raw");
	is_str(render_json("{{x}}", ctx, PCA_ESCAPE_NONE, NULL),
		"<script>alert('x') & \"y\"</script>", "none: written as it is");
	is_str(render_json("<b>&amp;</b>{{x}}", "{\"x\": \"&\"}", PCA_ESCAPE_HTML, NULL),
		"<b>&amp;</b>&amp;", "html: literal text is not escaped");
	is_str(render_json("{{o}}", "{\"o\": {\"a\": \"<\"}}", PCA_ESCAPE_HTML, NULL),
		"{&quot;a&quot;:&quot;&lt;&quot;}", "html: an object's JSON text is escaped");
	is_str(render_json("{{x}}", "{\"x\": \"<&>\\\"'\"}", PCA_ESCAPE_HEADER, NULL),
		"<&>\"'", "header: no html escaping");
	is_str(render_json("{{x}}", "{\"x\": \"caf\u00e9 \u260e\"}", PCA_ESCAPE_HEADER, NULL),
		"caf\u00e9 \u260e", "header: UTF-8 passes unchanged");
	is_str(render_json("a\tb\r\n{{x}}", "{\"x\": \"c\\td\"}", PCA_ESCAPE_HEADER, NULL),
		"a\tb\r\nc d", "header: literal text keeps its controls, the value loses them");
}

static void
test_header_controls(void)
{
	static const char value[] = "a\r\nBcc: x" "\0" "y" "\x01" "\x1f" "\x7f" "\tz";
	static const char want[] = "Subject: a  Bcc: x y    z\r\n";
	json_object *ctx = json_object_new_object();
	const char *failed, *out;

	json_object_object_add(ctx, "s", json_object_new_string_len(value, sizeof(value) - 1));
	out = render_ctx("Subject: {{s}}\r\n", 16, ctx, PCA_ESCAPE_HEADER, NULL, &failed);
	bytes_are(out, last_len, want, sizeof(want) - 1, "header: CR, LF, NUL, C0 and DEL become spaces");
	out = render_ctx("Subject: {{{s}}}\r\n", 18, ctx, PCA_ESCAPE_HEADER, NULL, &failed);
	bytes_are(out, last_len, want, sizeof(want) - 1, "header: triple mustache is still sanitised");
	out = render_ctx("Subject: {{& s}}\r\n", 18, ctx, PCA_ESCAPE_HEADER, NULL, &failed);
	bytes_are(out, last_len, want, sizeof(want) - 1, "header: ampersand is still sanitised");
	json_object_put(ctx);
}

static void
test_values(void)
{
	is_str(value_text("42"), "42", "integer");
	is_str(value_text("-7"), "-7", "negative integer");
	is_str(value_text("9223372036854775807"), "9223372036854775807", "INT64_MAX");
	is_str(value_text("-9223372036854775808"), "-9223372036854775808", "INT64_MIN");
	is_str(value_text("18446744073709551615"), "18446744073709551615", "UINT64_MAX");
	is_str(value_text("1.210"), "1.21", "1.210 -> 1.21");
	is_str(value_text("0.1"), "0.1", "0.1");
	is_str(value_text("3.0"), "3", "3.0 -> 3");
	is_str(value_text("-2.5"), "-2.5", "-2.5");
	is_str(value_text("1e6"), "1000000", "1e6 without exponent");
	is_str(value_text("123456.789"), "123456.789", "123456.789");
	is_str(value_text("0.000001"), "0.000001", "0.000001 without exponent");
	is_str(value_text("0.30000000000000004"), "0.30000000000000004", "17 significant digits");
	is_str(value_text("1e-7"), "1e-07", "tiny double keeps an exponent");
	is_str(value_text("1.5e300"), "1.5e+300", "huge double keeps an exponent");
	is_str(value_text("-0.0"), "0", "negative zero");
	is_str(value_text("true"), "true", "true");
	is_str(value_text("false"), "false", "false");
	is_str(value_text("null"), "", "null is empty");
	is_str(render_json("[{{missing}}]", "{}", PCA_ESCAPE_NONE, NULL), "[]", "missing is empty");
	is_str(value_text("[1, \"a\"]"), "[1,\"a\"]", "array as JSON");
	is_str(value_text("{\"a\": \"b/c\"}"), "{\"a\":\"b/c\"}", "object as JSON");
	is_str(render_json("[{{x}}{{.}}]", "null", PCA_ESCAPE_NONE, NULL), "[]", "null context");
	is_str(render_json("[{{.}}]", "\"root\"", PCA_ESCAPE_NONE, NULL), "[root]", "string context");
	is_str(render_json("{{#n}}<{{.}}>{{/n}}", "{\"n\": 5}", PCA_ESCAPE_NONE, NULL), "<5>",
		"a number section pushes the number");
}

static void
test_truthiness(void)
{
	is_str(truth("\"\""), "F", "\"\" is false");
	is_str(truth("\" \""), "T", "\" \" is true");
	is_str(truth("\"0\""), "T", "\"0\" is true");
	is_str(truth("0"), "F", "0 is false");
	is_str(truth("0.0"), "F", "0.0 is false");
	is_str(truth("-1"), "T", "-1 is true");
	is_str(truth("0.5"), "T", "0.5 is true");
	is_str(truth("[]"), "F", "[] is false");
	is_str(truth("[0]"), "T", "[0] iterates once");
	is_str(truth("[false, 0]"), "TT", "a list iterates over falsy elements too");
	is_str(truth("{}"), "T", "{} is true");
	is_str(truth("false"), "F", "false is false");
	is_str(truth("true"), "T", "true is true");
	is_str(truth("null"), "F", "null is false");
	is_str(render_json("{{#v}}T{{/v}}{{^v}}F{{/v}}", "{}", PCA_ESCAPE_NONE, NULL), "F",
		"a missing name is false");
}

static void
test_errors(void)
{
	char name[300];
	const char *tpl;

	tpl = "Hello {{name}},\n\nSummary:     {{#summary}}\n{{text}}\n";
	is_str(compile_error(tpl, strlen(tpl), "sms.mustache"),
		"sms.mustache:3:14: unclosed section \"summary\"", "unclosed section");
	tpl = "{{#a}}\n{{#b}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:2:1: unclosed section \"b\"",
		"unclosed section: the innermost");
	tpl = "{{#y}}\n  {{/x}}";
	is_str(compile_error(tpl, strlen(tpl), "t"),
		"t:2:3: unexpected closing tag \"x\" (open section is \"y\")", "mismatched close");
	tpl = "a {{/x}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:3: unexpected closing tag \"x\"",
		"close without open");
	tpl = "ab\ncd {{name";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:2:4: unclosed tag", "unclosed tag");
	tpl = "{{{name}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:1: unclosed tag", "unclosed triple");
	tpl = "{{x";
	is_str(compile_error(tpl, strlen(tpl), NULL), "template:1:1: unclosed tag", "no name");
	tpl = "x\n{{=<%=}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:2:1: invalid set-delimiter tag",
		"set-delimiter with one delimiter");
	tpl = "{{=a b c=}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:1: invalid set-delimiter tag",
		"set-delimiter with three");
	tpl = "{{= =}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:1: invalid set-delimiter tag",
		"set-delimiter with none");
	tpl = "{{=<% %>}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:1: invalid set-delimiter tag",
		"set-delimiter without closing =");
	tpl = "{{=<% %>=}}<%/x%>";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:12: unexpected closing tag \"x\"",
		"error after a delimiter change");
	tpl = "x {{ }}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:3: empty tag name", "empty name");
	tpl = "{{#}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:1: empty tag name", "empty section");
	tpl = "{{{ }}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:1: empty tag name", "empty triple");
	tpl = "{{>}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:1: empty tag name", "empty partial");
	tpl = "{{a b}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:1: invalid tag name \"a b\"",
		"space in a name");
	tpl = "{{a..b}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:1: invalid tag name \"a..b\"",
		"empty key in a dotted name");
	tpl = "{{#a.}}{{/a.}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:1: invalid tag name \"a.\"",
		"trailing dot");
	tpl = "h\u00e9llo w\u00f6rld {{/x}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:1:13: unexpected closing tag \"x\"",
		"columns count characters, not bytes");
	tpl = "{{!\n\n}}\n  {{#a}}";
	is_str(compile_error(tpl, strlen(tpl), "t"), "t:4:3: unclosed section \"a\"",
		"lines inside a comment are counted");
	memcpy(name, "{{/", 3);
	memset(name + 3, 'x', 200);
	memcpy(name + 203, "}}", 3);
	is_str(compile_error(name, strlen(name), "t"),
		"t:1:1: unexpected closing tag "
		"\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
		"a long name is cut to 64 bytes");
}

/* {"next": {"next": ... {"next": false}}} with `levels` objects above the last.
 * Built by hand: json-c's parser stops at 32 levels. */
static json_object *
chain(int levels)
{
	json_object *o = json_object_new_object(), *up;

	json_object_object_add(o, "next", json_object_new_boolean(0));
	while (levels-- > 0) {
		up = json_object_new_object();
		json_object_object_add(up, "next", o);
		o = up;
	}
	return o;
}

static void
test_nesting(void)
{
	struct pca_buf tpl = PCA_BUF_INIT;
	struct named parts[] = { { "r", "{{#next}}.{{>r}}{{/next}}", 0 }, { NULL, NULL, 0 } };
	json_object *data;
	const char *failed;
	int i;

	for (i = 0; i < 100; i++)
		pca_buf_adds(&tpl, "{{#a}}");
	pca_buf_adds(&tpl, "x");
	for (i = 0; i < 100; i++)
		pca_buf_adds(&tpl, "{{/a}}");
	is_str(render_json(tpl.data, "{\"a\": true}", PCA_ESCAPE_NONE, NULL), "x",
		"100 nested sections render");
	pca_buf_reset(&tpl);
	for (i = 0; i < 101; i++)
		pca_buf_adds(&tpl, "{{#a}}");
	is_str(compile_error(tpl.data, tpl.len, "t"), "t:1:601: sections nested deeper than 100",
		"101 nested sections fail");

	/* Partial r includes itself once per level of "next": 63 levels make
	 * 64 nested partials, 64 levels would make 65. */
	pca_buf_reset(&tpl);
	for (i = 0; i < 63; i++)
		pca_buf_addc(&tpl, '.');
	data = chain(63);
	is_str(render_ctx("{{>r}}", 6, data, PCA_ESCAPE_NONE, parts, &failed), tpl.data,
		"64 nested partials render");
	json_object_put(data);
	data = chain(64);
	ok(!render_ctx("{{>r}}", 6, data, PCA_ESCAPE_NONE, parts, &failed), "65 nested partials fail");
	is_str(failed, "r:1:11: partial \"r\" nested deeper than 64", "with a clear error");
	json_object_put(data);
	pca_buf_free(&tpl);
}

static void
test_endless_partial(void)
{
	struct named parts[] = { { "self", "x{{>self}}", 0 }, { NULL, NULL, 0 } };
	struct pca_err err = PCA_ERR_INIT;
	struct pca_buf out = PCA_BUF_INIT;
	struct pca_template *t = pca_template_compile("{{>self}}", 9, "main", &err);
	int rc;

	pca_buf_adds(&out, "keep:");
	rc = pca_template_render(t, NULL, PCA_ESCAPE_NONE, table_partial, parts, &out, &err);
	is_int(rc, -1, "endless partial recursion fails");
	is_str(pca_err_msg(&err), "self:1:2: partial \"self\" nested deeper than 64",
		"and says where");
	is_str(pca_buf_cstr(&out), "keep:", "a failed render leaves the buffer as it was");
	pca_template_free(t);
	pca_buf_free(&out);
	pca_err_clear(&err);
}

static void
test_big_template(void)
{
	struct pca_buf tpl = PCA_BUF_INIT, want = PCA_BUF_INIT;
	json_object *ctx = json_tokener_parse("{\"n\": 7, \"flag\": true, \"x\": \"y\"}");
	const char *failed, *out;
	size_t i;

	while (tpl.len < 5 * 1024 * 1024) {
		pca_buf_adds(&tpl, "Line {{n}}: <&> {{#flag}}yes{{/flag}}{{^flag}}no{{/flag}}\n");
		pca_buf_adds(&want, "Line 7: <&> yes\n");
	}
	out = render_ctx(tpl.data, tpl.len, ctx, PCA_ESCAPE_HTML, NULL, &failed);
	bytes_are(out, last_len, want.data, want.len, "a 5 MB template");

	/* Many tags on one line: column counting must stay linear. */
	pca_buf_reset(&tpl);
	pca_buf_reset(&want);
	for (i = 0; i < 300000; i++) {
		pca_buf_adds(&tpl, "{{x}}");
		pca_buf_addc(&want, 'y');
	}
	out = render_ctx(tpl.data, tpl.len, ctx, PCA_ESCAPE_HTML, NULL, &failed);
	bytes_are(out, last_len, want.data, want.len, "300000 tags on one line");
	json_object_put(ctx);
	pca_buf_free(&tpl);
	pca_buf_free(&want);
}

static void
test_big_value(void)
{
	struct pca_buf val = PCA_BUF_INIT, html = PCA_BUF_INIT, hdr = PCA_BUF_INIT;
	json_object *ctx = json_object_new_object();
	const char *failed, *out;
	size_t i;

	for (i = 0; i < 500000; i++) {
		pca_buf_adds(&val, "a<b&c\"d'e\n");
		pca_buf_adds(&html, "a&lt;b&amp;c&quot;d&#39;e\n");
		pca_buf_adds(&hdr, "a<b&c\"d'e ");
	}
	json_object_object_add(ctx, "v", json_object_new_string_len(val.data, (int)val.len));
	out = render_ctx("{{v}}", 5, ctx, PCA_ESCAPE_HTML, NULL, &failed);
	bytes_are(out, last_len, html.data, html.len, "a 5 MB value, html-escaped");
	out = render_ctx("{{{v}}}", 7, ctx, PCA_ESCAPE_HEADER, NULL, &failed);
	bytes_are(out, last_len, hdr.data, hdr.len, "a 5 MB value, header-sanitised");
	out = render_ctx("{{v}}", 5, ctx, PCA_ESCAPE_NONE, NULL, &failed);
	bytes_are(out, last_len, val.data, val.len, "a 5 MB value, as it is");
	json_object_put(ctx);
	pca_buf_free(&val);
	pca_buf_free(&html);
	pca_buf_free(&hdr);
}

static void
test_big_list(void)
{
	struct pca_buf want = PCA_BUF_INIT;
	json_object *ctx = json_object_new_object(), *list = json_object_new_array();
	const char *failed, *out;
	int i;

	for (i = 0; i < 100000; i++) {
		json_object_array_add(list, json_object_new_int(i));
		pca_buf_addf(&want, "%d,", i);
	}
	json_object_object_add(ctx, "list", list);
	out = render_ctx("{{#list}}{{.}},{{/list}}", 24, ctx, PCA_ESCAPE_HTML, NULL, &failed);
	bytes_are(out, last_len, want.data, want.len, "a section over 100000 elements");
	json_object_put(ctx);
	pca_buf_free(&want);
}

static void
test_nul_bytes(void)
{
	static const char tpl[] = "a\0b{{x}}c\0{{! \0 }}";
	json_object *ctx = json_object_new_object();
	const char *failed, *out;

	json_object_object_add(ctx, "x", json_object_new_string_len("1\0002", 3));
	out = render_ctx(tpl, sizeof(tpl) - 1, ctx, PCA_ESCAPE_NONE, NULL, &failed);
	bytes_are(out, last_len, "a\0b1\0002c\0", 8, "NUL bytes in text and value, none");
	out = render_ctx(tpl, sizeof(tpl) - 1, ctx, PCA_ESCAPE_HTML, NULL, &failed);
	bytes_are(out, last_len, "a\0b1\0002c\0", 8, "NUL bytes in text and value, html");
	out = render_ctx(tpl, sizeof(tpl) - 1, ctx, PCA_ESCAPE_HEADER, NULL, &failed);
	bytes_are(out, last_len, "a\0b1 2c\0", 8, "NUL in a value is a space under header");
	ok(!render_ctx("{{a\0b}}", 7, ctx, PCA_ESCAPE_NONE, NULL, &failed) &&
		strncmp(failed, "t:1:1: invalid tag name", 23) == 0, "NUL in a tag name fails");
	json_object_put(ctx);
}

static void
test_partials(void)
{
	struct named parts[] = {
		{ "footer", "Thanks,\n{{#sig}}{{name}}", 0 },
		{ "outer", "o1\n  {{>inner}}\no2\n", 0 },
		{ "inner", "i1\ni2\n", 0 },
		{ "nul", "x\0y", 3 },
		{ "item", "<{{.}}>", 0 },
		{ NULL, NULL, 0 },
	};
	struct pca_err err = PCA_ERR_INIT;
	struct pca_buf out = PCA_BUF_INIT;
	struct pca_template *t;
	const char *failed;

	is_str(render_json("[{{>nope}}]", "{}", PCA_ESCAPE_NONE, parts), "[]",
		"a missing partial renders empty");
	t = pca_template_compile("[{{>nope}}]", 11, "t", &err);
	ok(pca_template_render(t, NULL, PCA_ESCAPE_NONE, NULL, NULL, &out, &err) == 0 &&
		strcmp(pca_buf_cstr(&out), "[]") == 0, "no partial callback renders empty");
	pca_template_free(t);
	pca_buf_free(&out);
	is_str(render_json("Hi\n{{>footer}}", "{}", PCA_ESCAPE_NONE, parts),
		"ERROR: footer:2:1: unclosed section \"sig\"", "a partial's error names the partial");
	is_str(render_json("a\n  {{>outer}}\nb", "{}", PCA_ESCAPE_NONE, parts),
		"a\n  o1\n    i1\n    i2\n  o2\nb", "indentation adds up through nested partials");
	render_ctx("({{>nul}})", 10, NULL, PCA_ESCAPE_NONE, parts, &failed);
	bytes_are(last, last_len, "(x\0y)", 5, "a partial with a NUL byte");

	partial_calls = 0;
	is_str(render_json("{{#l}}{{>item}}{{/l}}", "{\"l\": [1, 2, 3, 4]}", PCA_ESCAPE_NONE, parts),
		"<1><2><3><4>", "a partial in a loop");
	is_int(partial_calls, 1, "is looked up once per render");
	pca_err_clear(&err);
}

static void
test_partial_not_cached(void)
{
	struct named parts[] = { { "p", "one", 0 }, { NULL, NULL, 0 } };
	struct pca_err err = PCA_ERR_INIT;
	struct pca_buf out = PCA_BUF_INIT;
	struct pca_template *t = pca_template_compile("<{{>p}}>", 8, "t", &err);

	pca_template_render(t, NULL, PCA_ESCAPE_NONE, table_partial, parts, &out, &err);
	parts[0].src = "two";
	pca_template_render(t, NULL, PCA_ESCAPE_NONE, table_partial, parts, &out, &err);
	is_str(pca_buf_cstr(&out), "<one><two>", "partials are read again by the next render");
	pca_template_free(t);
	pca_buf_free(&out);
	pca_err_clear(&err);
}

static void
test_dotted_arrays(void)
{
	const char *ctx = "{\"call\": {\"id\": \"c1\", \"transcript\": ["
		"{\"speaker\": {\"name\": \"Ann\"}, \"text\": \"Hi\"},"
		"{\"speaker\": {\"name\": \"Bob\"}, \"text\": \"Yo\"}]}}";

	is_str(render_json("{{#call.transcript}}{{speaker.name}}={{text}};{{/call.transcript}}",
		ctx, PCA_ESCAPE_NONE, NULL), "Ann=Hi;Bob=Yo;", "dotted names in an array of objects");
	is_str(render_json("{{#call.transcript}}{{call.id}},{{/call.transcript}}",
		ctx, PCA_ESCAPE_NONE, NULL), "c1,c1,", "outer dotted names from inside the array");
	is_str(render_json("[{{call.transcript.speaker}}]", ctx, PCA_ESCAPE_NONE, NULL), "[]",
		"a dotted name does not look into an array");
}

static void
test_render_twice(void)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_buf a = PCA_BUF_INIT, b = PCA_BUF_INIT;
	json_object *c1 = json_tokener_parse("{\"l\": [{\"n\": \"x\"}, {\"n\": \"y\"}], \"t\": \"<T>\"}");
	json_object *c2 = json_tokener_parse("{\"l\": [], \"t\": \"U\"}");
	const char *src = "{{t}}:{{#l}}{{n}}{{/l}}{{^l}}none{{/l}}";
	struct pca_template *t = pca_template_compile(src, strlen(src), "t", &err);

	if (!ok(t != NULL, "compiled")) {
		printf("#   %s\n", pca_err_msg(&err));
		return;
	}
	pca_template_render(t, c1, PCA_ESCAPE_HTML, NULL, NULL, &a, &err);
	pca_template_render(t, c1, PCA_ESCAPE_HTML, NULL, NULL, &b, &err);
	is_str(pca_buf_cstr(&a), "&lt;T&gt;:xy", "first render");
	is_str(pca_buf_cstr(&b), pca_buf_cstr(&a), "second render is identical");
	pca_buf_reset(&b);
	pca_template_render(t, c2, PCA_ESCAPE_HTML, NULL, NULL, &b, &err);
	is_str(pca_buf_cstr(&b), "U:none", "a different context");
	pca_template_render(t, c1, PCA_ESCAPE_NONE, NULL, NULL, &b, &err);
	is_str(pca_buf_cstr(&b), "U:none<T>:xy", "render appends to the buffer");
	pca_template_free(t);
	json_object_put(c1);
	json_object_put(c2);
	pca_buf_free(&a);
	pca_buf_free(&b);
	pca_err_clear(&err);
}

static void
test_transcript(void)
{
	const char *call =
		"{\"call_id\": \"call_8f2c\", \"started_at\": \"2025-03-04T10:15:00Z\","
		" \"caller\": {\"number\": \"+14155550123\", \"contact_name\": \"Dana O'Neil\"},"
		" \"summary\": \"Wants to move Thursday's appointment.\","
		" \"transcript\": ["
		"  {\"role\": \"agent\", \"text\": \"Hello, Smith & Co dental, how can I help?\"},"
		"  {\"role\": \"user\", \"text\": \"Hi, I need to move my appointment <Thursday>.\"},"
		"  {\"role\": \"agent\", \"text\": \"Sure, does \\\"Friday 9am\\\" work?\"}],"
		" \"metadata\": {}}";
	const char *tpl = "Call from {{caller.contact_name}} ({{caller.number}})\n"
		"{{#summary}}\nSummary: {{summary}}\n{{/summary}}\n"
		"{{#transcript}}{{role}}: {{text}}\n{{/transcript}}";

	is_str(render_json(tpl, call, PCA_ESCAPE_NONE, NULL),
		"Call from Dana O'Neil (+14155550123)\n"
		"Summary: Wants to move Thursday's appointment.\n"
		"agent: Hello, Smith & Co dental, how can I help?\n"
		"user: Hi, I need to move my appointment <Thursday>.\n"
		"agent: Sure, does \"Friday 9am\" work?\n", "transcript as text");
	is_str(render_json(tpl, call, PCA_ESCAPE_HTML, NULL),
		"Call from Dana O&#39;Neil (+14155550123)\n"
		"Summary: Wants to move Thursday&#39;s appointment.\n"
		"agent: Hello, Smith &amp; Co dental, how can I help?\n"
		"user: Hi, I need to move my appointment &lt;Thursday&gt;.\n"
		"agent: Sure, does &quot;Friday 9am&quot; work?\n", "transcript as html");
	is_str(render_json("{{#transcript}}{{role}}: {{text}}\n{{/transcript}}",
		"{\"transcript\": []}", PCA_ESCAPE_NONE, NULL), "", "an empty transcript");
}

int
main(void)
{
	test_escaping();
	test_header_controls();
	test_values();
	test_truthiness();
	test_errors();
	test_nesting();
	test_endless_partial();
	test_big_template();
	test_big_value();
	test_big_list();
	test_nul_bytes();
	test_partials();
	test_partial_not_cached();
	test_dotted_arrays();
	test_render_twice();
	test_transcript();
	free(last);
	return tap_done();
}
