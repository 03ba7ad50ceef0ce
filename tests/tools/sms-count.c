/* pca-test-sms-count: the SMS counting of libpca for the Python tests.
 *
 * Reads JSON Lines from stdin, each line one JSON string, and prints one
 * JSON line per input line:
 *   (default)     {"encoding":"GSM-7","segments":2,"characters":170,"units":170}
 *   --split       ["text of segment 1","text of segment 2"]
 *   --graphemes   ["c","h","a","r","s"]  the characters as the counting sees them
 * or {"error":"..."} for a line that is not a JSON string or not UTF-8.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "err.h"
#include "sms.h"
#include "utf8.h"

enum mode { COUNT, SPLIT, GRAPHEMES };

static void
print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static struct json_object *
error_object(const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

static struct json_object *
do_count(const char *s, size_t len, struct pca_err *err)
{
	struct pca_sms_count c;
	struct json_object *o;

	if (pca_sms_count(s, len, &c, err) < 0)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "encoding",
	    json_object_new_string(pca_sms_encoding_name(c.encoding)));
	json_object_object_add(o, "segments", json_object_new_int64((int64_t)c.segments));
	json_object_object_add(o, "characters", json_object_new_int64((int64_t)c.characters));
	json_object_object_add(o, "units", json_object_new_int64((int64_t)c.units));
	return o;
}

static struct json_object *
do_split(const char *s, size_t len, struct pca_err *err)
{
	struct json_object *a;
	size_t *starts, n, i, end;

	if (pca_sms_split(s, len, &starts, &n, NULL, err) < 0)
		return NULL;
	a = json_object_new_array();
	for (i = 0; i < n; i++) {
		end = i + 1 < n ? starts[i + 1] : len;
		json_object_array_add(a, json_object_new_string_len(s + starts[i],
		    (int)(end - starts[i])));
	}
	free(starts);
	return a;
}

/* CR LF is one grapheme cluster but two characters to the calculator. */
static struct json_object *
do_graphemes(const char *s, size_t len, struct pca_err *err)
{
	struct json_object *a;
	size_t pos = 0, end, bad;

	if (!pca_utf8_valid(s, len, &bad)) {
		pca_err_set(err, "invalid UTF-8 at byte %zu", bad);
		return NULL;
	}
	a = json_object_new_array();
	while (pos < len) {
		end = s[pos] == '\r' ? pos + 1 : pca_utf8_grapheme_end(s, len, pos);
		json_object_array_add(a, json_object_new_string_len(s + pos, (int)(end - pos)));
		pos = end;
	}
	return a;
}

static void
one_line(const char *line, size_t n, enum mode mode)
{
	struct pca_err err = PCA_ERR_INIT;
	struct json_tokener *tok = json_tokener_new();
	struct json_object *in, *out;
	const char *s;
	size_t len;

	in = json_tokener_parse_ex(tok, line, (int)n);
	if (!in || !json_object_is_type(in, json_type_string) ||
	    json_tokener_get_parse_end(tok) != n) {
		print_json(error_object("input line is not a JSON string"));
		json_object_put(in);
		json_tokener_free(tok);
		return;
	}
	s = json_object_get_string(in);
	len = (size_t)json_object_get_string_len(in);
	if (mode == SPLIT)
		out = do_split(s, len, &err);
	else if (mode == GRAPHEMES)
		out = do_graphemes(s, len, &err);
	else
		out = do_count(s, len, &err);
	print_json(out ? out : error_object(pca_err_msg(&err)));
	pca_err_clear(&err);
	json_object_put(in);
	json_tokener_free(tok);
}

int
main(int argc, char **argv)
{
	enum mode mode = COUNT;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (argc == 2 && strcmp(argv[1], "--split") == 0) {
		mode = SPLIT;
	} else if (argc == 2 && strcmp(argv[1], "--graphemes") == 0) {
		mode = GRAPHEMES;
	} else if (argc != 1) {
		fprintf(stderr, "usage: pca-test-sms-count [--split | --graphemes] < lines.jsonl\n");
		return 2;
	}
	while ((n = getline(&line, &cap, stdin)) != -1) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		one_line(line, (size_t)n, mode);
	}
	free(line);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("pca-test-sms-count: stdout");
		return 1;
	}
	return 0;
}
