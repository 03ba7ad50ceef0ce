/* The official Mustache spec, required modules: every test of the six JSON
 * files in $PCA_SHARED_DIR/mustache-spec/ must pass, and all 136 must run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "template.h"
#include "tap.h"

#define SPEC_TESTS 136

static const char *const spec_files[] = {
	"comments", "delimiters", "interpolation", "inverted", "partials", "sections",
};

static int
spec_partial(void *ud, const char *name, const char **src, size_t *len)
{
	json_object *partials = ud, *v;

	if (!json_object_object_get_ex(partials, name, &v) || !json_object_is_type(v, json_type_string))
		return 0;
	*src = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 1;
}

/* One TAP diagnostic line, with control characters shown as C escapes. */
static void
diag(const char *label, const char *s, size_t n)
{
	size_t i;

	printf("#   %s \"", label);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\n')
			printf("\\n");
		else if (ch == '\r')
			printf("\\r");
		else if (ch == '\t')
			printf("\\t");
		else if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	printf("\"\n");
}

static const char *
field_str(json_object *test, const char *key, size_t *len)
{
	json_object *v;

	if (!json_object_object_get_ex(test, key, &v) || !json_object_is_type(v, json_type_string)) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static void
run_test(const char *file, json_object *test)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_buf out = PCA_BUF_INIT;
	struct pca_template *t;
	json_object *data = NULL, *partials = NULL, *jname = NULL;
	const char *tpl, *want;
	size_t tlen, wlen;
	int rc = -1, pass;

	json_object_object_get_ex(test, "name", &jname);
	json_object_object_get_ex(test, "data", &data);
	json_object_object_get_ex(test, "partials", &partials);
	tpl = field_str(test, "template", &tlen);
	want = field_str(test, "expected", &wlen);
	t = tpl ? pca_template_compile(tpl, tlen, "spec", &err) : NULL;
	if (t)
		rc = pca_template_render(t, data, PCA_ESCAPE_HTML, spec_partial, partials, &out, &err);
	pass = rc == 0 && want && out.len == wlen && memcmp(pca_buf_cstr(&out), want, wlen) == 0;
	ok(pass, "%s: %s", file, jname ? json_object_get_string(jname) : "(unnamed)");
	if (!pass) {
		if (!tpl || !want)
			printf("#   test has no template or expected string\n");
		else if (rc < 0)
			printf("#   error: %s\n", pca_err_msg(&err));
		diag("template:", tpl ? tpl : "", tlen);
		diag("expected:", want ? want : "", wlen);
		diag("got:     ", pca_buf_cstr(&out), out.len);
	}
	pca_template_free(t);
	pca_buf_free(&out);
	pca_err_clear(&err);
}

/* Runs every test in one spec file; returns how many ran. */
static int
run_file(const char *dir, const char *file)
{
	char *path = pca_asprintf("%s/mustache-spec/%s.json", dir, file);
	json_object *root = json_object_from_file(path), *tests;
	size_t i, n = 0;

	if (!root || !json_object_object_get_ex(root, "tests", &tests) ||
	    !json_object_is_type(tests, json_type_array)) {
		ok(0, "%s: read the tests of %s", file, path);
		printf("#   %s\n", json_util_get_last_err() ? json_util_get_last_err() : "no tests array");
	} else {
		n = json_object_array_length(tests);
		for (i = 0; i < n; i++)
			run_test(file, json_object_array_get_idx(tests, i));
	}
	json_object_put(root);
	free(path);
	return (int)n;
}

int
main(void)
{
	const char *dir = getenv("PCA_SHARED_DIR");
	size_t i;
	int total = 0;

	if (!dir) {
		ok(0, "PCA_SHARED_DIR is set");
		return tap_done();
	}
	for (i = 0; i < sizeof(spec_files) / sizeof(spec_files[0]); i++)
		total += run_file(dir, spec_files[i]);
	is_int(total, SPEC_TESTS, "all core spec tests ran");
	return tap_done();
}
