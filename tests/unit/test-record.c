/* The record validator against the fixtures in tests/data/records: every
 * valid/ file validates, every invalid/ file fails with the message its
 * "expect_error" names. Plus lines that are not records at all. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "tap.h"

static int
line_error(struct pca_parser *p, const char *line, size_t len, char **msg)
{
	struct pca_call call;
	struct pca_err err = PCA_ERR_INIT;
	int rc = pca_record_parse(p, line, len, &call, &err);

	if (rc == 0)
		pca_call_release(&call);
	*msg = err.msg ? strdup(err.msg) : NULL;
	pca_err_clear(&err);
	return rc;
}

static void
check_fixture(struct pca_parser *p, const char *dir, const char *name, int *count)
{
	char *path, *msg;
	json_object *doc, *rec, *want;
	const char *line;
	int rc;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	doc = json_object_from_file(path);
	free(path);
	if (!ok(doc && json_object_object_get_ex(doc, "record", &rec), "%s parses", name))
		return;
	line = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
	rc = line_error(p, line, strlen(line), &msg);
	if (json_object_object_get_ex(doc, "expect_error", &want)) {
		const char *w = json_object_get_string(want);
		ok(rc < 0 && msg && strncmp(msg, w, strlen(w)) == 0, "invalid/%s: \"%s\"", name,
		    msg ? msg : "(accepted)");
		if (msg && strncmp(msg, w, strlen(w)) != 0)
			printf("#   want \"%s...\"\n", w);
	} else {
		ok(rc == 0, "valid/%s%s%s", name, msg ? ": " : "", msg ? msg : "");
	}
	(*count)++;
	free(msg);
	json_object_put(doc);
}

static int
fixtures(struct pca_parser *p, const char *sub)
{
	char dir[4096];
	struct dirent **list;
	int n, count = 0;

	snprintf(dir, sizeof dir, "%s/records/%s", getenv("PCA_TEST_DATA"), sub);
	n = scandir(dir, &list, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		if (strstr(list[i]->d_name, ".json"))
			check_fixture(p, dir, list[i]->d_name, &count);
		free(list[i]);
	}
	free(list);
	return count;
}

static void
not_a_record(struct pca_parser *p, const char *line, size_t len, const char *want)
{
	char *msg;
	int rc = line_error(p, line, len, &msg);

	ok(rc < 0 && msg && strncmp(msg, want, strlen(want)) == 0, "refused: %s", msg ? msg : "(accepted)");
	free(msg);
}

static const char minimal[] = "{\"schema\":\"pca.call.v1\",\"call_id\":\"c1\",\"status\":\"completed\","
    "\"direction\":\"inbound\",\"started_at\":\"2026-11-28T10:00:00Z\",\"ended_at\":"
    "\"2026-11-28T10:02:00Z\",\"duration_ms\":110000,\"agent\":{\"number\":\"+14155550100\"}%s}";

/* The minimal record, its call_id "c1" written with a \u escape. */
static const char escaped_id[] = "{\"schema\":\"pca.call.v1\",\"call_id\":\"\\u00631\","
    "\"status\":\"completed\",\"direction\":\"inbound\",\"started_at\":"
    "\"2026-11-28T10:00:00Z\",\"ended_at\":\"2026-11-28T10:02:00Z\",\"duration_ms\":110000,"
    "\"agent\":{\"number\":\"+14155550100\"}}";

int
main(void)
{
	struct pca_parser *p = pca_parser_new();
	struct pca_call call;
	struct pca_err err = PCA_ERR_INIT;
	char line[1024];

	ok(fixtures(p, "valid") >= 10, "at least ten valid fixtures");
	ok(fixtures(p, "invalid") >= 50, "at least fifty invalid fixtures");

	not_a_record(p, "hello", 5, "not JSON: unexpected character at byte 1");
	not_a_record(p, "[1,2]", 5, "not a JSON object (an array)");
	not_a_record(p, "42", 2, "not a JSON object (a number)");
	not_a_record(p, "{\"a\":1", 6, "not JSON: the line ends inside a value");
	not_a_record(p, "{\"a\":1}x", 8, "not JSON:");
	not_a_record(p, "{\"a\":\"\xff\"}", 9, "invalid UTF-8 at byte");
	not_a_record(p, "{\"a\":\0}", 7, "not JSON: NUL byte at byte 6");
	not_a_record(p, "{\"a\":1,}", 8, "not JSON:");

	snprintf(line, sizeof line, minimal, "");
	ok(pca_record_parse(p, line, strlen(line), &call, &err) == 0, "a minimal record: %s",
	    pca_err_msg(&err));
	is_str(call.call_id, "c1", "call_id");
	is_int(call.answered_ms, -1, "never answered");
	is_int(call.recording_expires_ms, -1, "no recording, no expiry");
	ok(call.caller == NULL && call.caller_number == NULL, "no caller");
	pca_call_add_action(&call, json_object_new_object());
	is_int(call.nactions, 1, "an action result can be added");
	pca_call_release(&call);

	snprintf(line, sizeof line, minimal, ",\"recording\":{\"url\":\"https://r.example/1.mp3\"}");
	ok(pca_record_parse(p, line, strlen(line), &call, &err) == 0, "with a recording");
	is_int(call.recording_expires_ms, 1811498520000LL, /* 2027-05-28T10:02:00Z */
	    "the recording expires six months after the end");
	ok(!call.recording_expires_given, "expiry not given by the record");
	pca_call_release(&call);

	/* Found by fuzzing: a bad hex digit before a low surrogate (signed
	 * overflow under UBSan), and json-c 0.16 carrying a pending high
	 * surrogate from a failed line into the next one. */
	not_a_record(p, "{\"a\":\"\\uZZZZ\\uDC00\"}", 20, "not JSON:");
	not_a_record(p, "\"\\ud83d\\u00", 11, "not JSON: the line ends");
	snprintf(line, sizeof line, "%s", escaped_id);
	ok(pca_record_parse(p, line, strlen(line), &call, &err) == 0, "a record after a cut "
	    "surrogate: %s", pca_err_msg(&err));
	is_str(call.call_id, "c1", "its first \\u escape decoded alone");
	pca_call_release(&call);

	pca_parser_free(p);
	return tap_done();
}
