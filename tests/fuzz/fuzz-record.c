/* pca_record_parse over the lines of the input, in turn through one parser
 * as the programs read a file: the parser and validator of pca.call.v1, the
 * rewrite of escaped surrogate pairs that json-c mangles, and the strict
 * UTF-8 check.
 *
 * Properties:
 * - a line gives the same result after the lines before it as on its own;
 * - a record that validates, written back with pca_json_write, parses and
 *   validates again, and writing it again gives the same bytes;
 * - pca_json_write_string of valid UTF-8 is a JSON string that json-c reads
 *   back as exactly those bytes;
 * - pca_utf8_valid agrees with libunistring's u8_check, offset included, and
 *   pca_utf8_count with u8_mbsnlen. */
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include <json-c/json.h>

#include "alloc.h"
#include "fuzz.h"
#include "record.h"
#include "utf8.h"

/* The parser that reads the lines of the current input in turn. */
static struct pca_parser *parser;

static void
check_utf8(const char *s, size_t len)
{
	const uint8_t *bad = u8_check((const uint8_t *)s, len);
	size_t at = (size_t)-1;
	bool valid = pca_utf8_valid(s, len, &at);

	FUZZ_CHECK(valid == (bad == NULL), "pca_utf8_valid says %d, u8_check says %d", valid,
	    bad == NULL);
	if (!valid)
		FUZZ_CHECK(at == (size_t)(bad - (const uint8_t *)s),
		    "pca_utf8_valid: bad at %zu, u8_check: at %zu", at,
		    (size_t)(bad - (const uint8_t *)s));
	else
		FUZZ_CHECK(pca_utf8_count(s, len) == u8_mbsnlen((const uint8_t *)s, len),
		    "pca_utf8_count %zu, u8_mbsnlen %zu", pca_utf8_count(s, len),
		    u8_mbsnlen((const uint8_t *)s, len));
}

/* The string writer against json-c's reader. */
static void
check_string_writer(const char *s, size_t len)
{
	struct pca_buf out = PCA_BUF_INIT;
	json_tokener *tok;
	json_object *o;

	if (!pca_utf8_valid(s, len, NULL))
		return;
	pca_json_write_string(&out, s, len);
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, out.data, (int)out.len + 1);
	if (!o || !json_object_is_type(o, json_type_string) ||
	    !fuzz_same(json_object_get_string(o), (size_t)json_object_get_string_len(o), s, len)) {
		fuzz_dump("input", s, len);
		fuzz_dump("written", out.data, out.len);
		fuzz_fail("pca_json_write_string: json-c does not read back the same string (%s)",
		    json_tokener_error_desc(json_tokener_get_error(tok)));
	}
	json_object_put(o);
	json_tokener_free(tok);
	pca_buf_free(&out);
}

/* A valid record survives being written and read again, and the second
 * writing is the first one. */
static void
check_roundtrip(struct pca_call *call)
{
	struct pca_buf first = PCA_BUF_INIT, second = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_parser *fresh = pca_parser_new();
	struct pca_call again;

	pca_json_write(&first, call->obj);
	if (pca_record_parse(fresh, first.data, first.len, &again, &err) < 0) {
		fuzz_dump("written", first.data, first.len);
		fuzz_fail("a valid record, written back, does not parse: %s", err.msg);
	}
	FUZZ_CHECK(strcmp(again.call_id, call->call_id) == 0, "call_id changed");
	FUZZ_CHECK(again.started_ms == call->started_ms && again.ended_ms == call->ended_ms &&
	    again.answered_ms == call->answered_ms && again.duration_ms == call->duration_ms,
	    "times changed");
	FUZZ_CHECK(again.nactions == call->nactions, "post_call_actions changed");
	pca_json_write(&second, again.obj);
	if (!fuzz_same(second.data, second.len, first.data, first.len)) {
		fuzz_dump("first", first.data, first.len);
		fuzz_dump("second", second.data, second.len);
		fuzz_fail("writing a record is not stable");
	}
	pca_call_release(&again);
	pca_parser_free(fresh);
	pca_buf_free(&first);
	pca_buf_free(&second);
}

/* A line read after others gives what it gives on its own: a parser keeps
 * no state from one line to the next. */
static void
check_alone(const char *line, size_t len, int rc, const struct pca_call *call)
{
	struct pca_parser *fresh = pca_parser_new();
	struct pca_buf a = PCA_BUF_INIT, b = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_call alone;
	int rc_alone = pca_record_parse(fresh, line, len, &alone, &err);

	pca_err_clear(&err);
	if (rc == 0 && rc_alone == 0) {
		pca_json_write(&a, call->obj);
		pca_json_write(&b, alone.obj);
	}
	if (rc != rc_alone || !fuzz_same(a.data, a.len, b.data, b.len)) {
		fuzz_dump("line", line, len);
		fuzz_dump("after the lines before it", a.data, a.len);
		fuzz_dump("on its own", b.data, b.len);
		fuzz_fail("a line parses differently after the lines before it (%d, alone %d)", rc,
		    rc_alone);
	}
	if (rc_alone == 0)
		pca_call_release(&alone);
	pca_parser_free(fresh);
	pca_buf_free(&a);
	pca_buf_free(&b);
}

static void
check_line(char *line, size_t size)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_call call;
	int rc;

	check_utf8(line, size);
	check_string_writer(line, size);
	rc = pca_record_parse(parser, line, size, &call, &err);
	if (rc < 0) {
		FUZZ_CHECK(err.msg && *err.msg, "a failure without a message");
		pca_err_clear(&err);
	} else {
		FUZZ_CHECK(call.call_id && call.status && call.direction && call.agent_number,
		    "a valid record without a required field");
		FUZZ_CHECK(call.raw && call.raw_len <= size, "raw line not set");
	}
	check_alone(line, size, rc, &call);
	if (rc == 0) {
		check_roundtrip(&call);
		pca_call_release(&call);
	}
}

/* Each line of the input in turn, through one parser, as pca_tool_each_record
 * reads a file. Lines are NUL-terminated as the JSON Lines reader hands them
 * out: pca_record_parse reads line[len] (it gives json-c the terminator). */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = pca_malloc(size + 1), *line, *nl;
	size_t left = size, n;

	if (size > 0)
		memcpy(copy, data, size);
	copy[size] = '\0';
	parser = pca_parser_new();
	for (line = copy; ; line = nl + 1) {
		nl = memchr(line, '\n', left);
		n = nl ? (size_t)(nl - line) : left;
		line[n] = '\0';
		check_line(line, n);
		if (!nl)
			break;
		left -= n + 1;
	}
	pca_parser_free(parser);
	free(copy);
	return 0;
}
