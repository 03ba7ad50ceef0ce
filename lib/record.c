#include "record.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hex.h"
#include "phone.h"
#include "timeutil.h"
#include "utf8.h"

#define RECORDING_KEEP_MONTHS 6

struct pca_parser {
	json_tokener *tok;
	bool spoilt;          /* the last parse failed: see parse_json */
	struct pca_buf fixed; /* a line with escapes json-c mishandles, rewritten */
};

static json_tokener *
new_tokener(void)
{
	/* Records nest a few levels; metadata is free-form, so allow some depth. */
	json_tokener *tok = json_tokener_new_ex(64);

	if (!tok)
		pca_oom(sizeof(json_tokener *));
	/* UTF-8 is checked by us, more strictly than json-c does (it lets
	 * surrogates, overlong forms and code points above U+10FFFF through). */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	return tok;
}

struct pca_parser *
pca_parser_new(void)
{
	struct pca_parser *p = pca_calloc(1, sizeof *p);

	p->tok = new_tokener();
	return p;
}

void
pca_parser_free(struct pca_parser *p)
{
	if (!p)
		return;
	json_tokener_free(p->tok);
	pca_buf_free(&p->fixed);
	free(p);
}

static const char *
type_name(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a number";
	case json_type_int: return "a number";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "something else";
}

static int
hex4(const char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int d = pca_hex_value((unsigned char)c);

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* The code point of an escaped surrogate pair at s (12 bytes: \uD8xx\uDCxx)
 * that json-c 0.16 would decode as U+FFFD: those whose low 16 bits fall in
 * D800-DFFF, like U+1D800. 0 for anything else. */
static uint32_t
mangled_pair(const char *s, size_t left)
{
	int hi, lo;
	uint32_t cp;

	if (left < 12 || s[6] != '\\' || s[7] != 'u' || (hi = hex4(s + 2)) < 0xD800 ||
	    hi > 0xDBFF || (lo = hex4(s + 8)) < 0xDC00 || lo > 0xDFFF)
		return 0;
	cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
	return (cp & 0xFFFF) >= 0xD800 && (cp & 0xFFFF) <= 0xDFFF ? cp : 0;
}

/* Rewrite those pairs as UTF-8 (the same JSON text, meaning kept). Returns
 * the line to parse: the original, or p->fixed. */
static const char *
unmangle(struct pca_parser *p, const char *line, size_t *len)
{
	size_t i, run = 0;
	uint32_t cp;
	bool any = false;

	pca_buf_reset(&p->fixed);
	for (i = 0; i + 1 < *len; i++) {
		if (line[i] != '\\')
			continue;
		if (line[i + 1] == 'u' && (cp = mangled_pair(line + i, *len - i))) {
			char u[4];
			pca_buf_add(&p->fixed, line + run, i - run);
			pca_buf_add(&p->fixed, u, pca_utf8_put(u, cp));
			run = i + 12;
			any = true;
			i += 11;
			continue;
		}
		i++; /* any other escape: skip its second character (\\ included) */
	}
	if (!any)
		return line;
	pca_buf_add(&p->fixed, line + run, *len - run);
	*len = p->fixed.len;
	return p->fixed.data;
}

int
pca_record_parse(struct pca_parser *p, const char *line, size_t len, struct pca_call *call,
	struct pca_err *err)
{
	size_t bad;
	json_object *obj;
	enum json_tokener_error jerr;
	const char *nul = memchr(line, '\0', len);
	int rc;

	if (nul)
		return pca_err_set(err, "not JSON: NUL byte at byte %zu", (size_t)(nul - line) + 1);
	if (!pca_utf8_valid(line, len, &bad))
		return pca_err_set(err, "invalid UTF-8 at byte %zu", bad + 1);
	if (memchr(line, '\\', len))
		line = unmangle(p, line, &len);
	if (len >= INT32_MAX)
		return pca_err_set(err, "line longer than 2 GiB");
	/* json_tokener_reset() leaves a pending high surrogate of json-c 0.16
	 * behind: after a line that ended inside "\ud83d\u00", the next line's
	 * first \u escape would gain a U+FFFD. A failed parse costs a tokener. */
	if (p->spoilt) {
		json_tokener_free(p->tok);
		p->tok = new_tokener();
		p->spoilt = false;
	}
	json_tokener_reset(p->tok);
	/* Passing the terminating NUL tells json-c the input ends here, so a
	 * bare number is complete rather than "to be continued". */
	obj = json_tokener_parse_ex(p->tok, line, (int)len + 1);
	jerr = json_tokener_get_error(p->tok);
	p->spoilt = jerr != json_tokener_success;
	if (jerr == json_tokener_success && !obj)
		return pca_err_set(err, "not a JSON object (null)");
	if (jerr == json_tokener_continue || jerr == json_tokener_error_parse_eof)
		return pca_err_set(err, "not JSON: the line ends inside a value");
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		if (jerr == json_tokener_error_parse_utf8_string)
			return pca_err_set(err, "invalid UTF-8 at byte %zu",
			    json_tokener_get_parse_end(p->tok) + 1);
		return pca_err_set(err, "not JSON: %s at byte %zu", json_tokener_error_desc(jerr),
		    json_tokener_get_parse_end(p->tok) + 1);
	}
	if (!json_object_is_type(obj, json_type_object)) {
		pca_err_set(err, "not a JSON object (%s)", type_name(obj));
		json_object_put(obj);
		return -1;
	}
	rc = pca_record_validate(obj, call, err);
	json_object_put(obj);
	if (rc == 0) {
		while (len && (*line == ' ' || *line == '\t'))
			line++, len--;
		while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
			len--;
		call->raw = line;
		call->raw_len = len;
	}
	return rc;
}

/* ---- field checks: each returns 0 or -1 with err naming the field ---- */

/* How a member may appear: absent allowed, required, or absent-or-null. */
enum { OPTIONAL = 0, REQUIRED = 1, NULLABLE = 2 };

struct seg {
	const char *name;
	long index; /* -1: a member, not an array element */
};

struct ctx {
	struct pca_err *err;
	struct seg segs[8]; /* where we are: built into text only for an error */
	int nsegs;
};

static void
path_text(const struct ctx *c, struct pca_buf *b)
{
	for (int i = 0; i < c->nsegs; i++) {
		pca_buf_addf(b, "%s%s", i ? "." : "", c->segs[i].name);
		if (c->segs[i].index >= 0)
			pca_buf_addf(b, "[%ld]", c->segs[i].index);
	}
}

static int
fail(struct ctx *c, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int
fail(struct ctx *c, const char *field, const char *fmt, ...)
{
	struct pca_buf msg = PCA_BUF_INIT, path = PCA_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pca_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	path_text(c, &path);
	pca_err_set(c->err, "%s%s%s: %s", pca_buf_cstr(&path), path.len && field ? "." : "",
	    field ? field : "", msg.data);
	pca_buf_free(&msg);
	pca_buf_free(&path);
	return -1;
}

/* Look up `key`; -1 when it is required and missing, or present with the
 * wrong type. *out is NULL when absent (or null and null is allowed). */
static int
member(struct ctx *c, json_object *o, const char *key, json_type t, int required,
	json_object **out)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v)) {
		if (required == REQUIRED)
			return fail(c, key, "missing");
		return 0;
	}
	if (!v)
		return required == NULLABLE ? 0 : fail(c, key, "must not be null");
	if (t == json_type_int && json_object_is_type(v, json_type_double))
		return fail(c, key, "must be an integer");
	if (!json_object_is_type(v, t))
		return fail(c, key, "must be %s, not %s", t == json_type_int ? "an integer" :
		    t == json_type_string ? "a string" : t == json_type_object ? "an object" :
		    t == json_type_array ? "an array" : "a boolean", type_name(v));
	*out = v;
	return 0;
}

static int
str_member(struct ctx *c, json_object *o, const char *key, int required, const char **out)
{
	json_object *v;

	*out = NULL;
	if (member(c, o, key, json_type_string, required, &v) < 0)
		return -1;
	if (!v)
		return 0;
	*out = json_object_get_string(v);
	/* An escaped \u0000 would cut the C string short: "+1415\u0000junk"
	 * must not pass as "+1415". */
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return fail(c, key, "contains a NUL character");
	return 0;
}

static int
enum_member(struct ctx *c, json_object *o, const char *key, const char *const *allowed,
	int required, const char **out)
{
	struct pca_buf list = PCA_BUF_INIT;
	int rc;

	if (str_member(c, o, key, required, out) < 0)
		return -1;
	if (!*out)
		return 0;
	for (size_t i = 0; allowed[i]; i++)
		if (strcmp(*out, allowed[i]) == 0)
			return 0;
	for (size_t i = 0; allowed[i]; i++)
		pca_buf_addf(&list, "%s%s", i ? ", " : "", allowed[i]);
	rc = fail(c, key, "must be one of %s", list.data);
	pca_buf_free(&list);
	return rc;
}

static int
int_member(struct ctx *c, json_object *o, const char *key, int required, int64_t min,
	int64_t *out)
{
	json_object *v;

	if (member(c, o, key, json_type_int, required, &v) < 0)
		return -1;
	if (!v)
		return 0;
	*out = json_object_get_int64(v);
	if (*out < min)
		return min == 0 ? fail(c, key, "must be an integer >= 0") :
		    fail(c, key, "must be an integer >= %lld", (long long)min);
	return 0;
}

static int
time_member(struct ctx *c, json_object *o, const char *key, int required, int64_t *ms)
{
	const char *s;
	struct pca_err terr = PCA_ERR_INIT;

	if (str_member(c, o, key, required, &s) < 0)
		return -1;
	if (!s)
		return 0;
	if (pca_time_parse(s, ms, &terr) < 0) {
		fail(c, key, "%s", terr.msg);
		pca_err_clear(&terr);
		return -1;
	}
	return 1;
}

static int
e164_member(struct ctx *c, json_object *o, const char *key, int required, const char **out)
{
	if (str_member(c, o, key, required, out) < 0)
		return -1;
	if (*out && !pca_phone_is_e164(*out))
		return fail(c, key, "not an E.164 number");
	return 0;
}

/* Descend into a member or an array element, for error paths. */
static int
push(struct ctx *c, const char *name, long index)
{
	int mark = c->nsegs;

	if (c->nsegs < (int)(sizeof c->segs / sizeof *c->segs)) {
		c->segs[c->nsegs].name = name;
		c->segs[c->nsegs++].index = index;
	}
	return mark;
}

static void
pop(struct ctx *c, int mark)
{
	c->nsegs = mark;
}

static const char *const statuses[] = { "completed", "failed", "busy", "no_answer", "canceled",
	"voicemail", "transferred", NULL };
static const char *const directions[] = { "inbound", "outbound", NULL };
static const char *const phone_types[] = { "mobile", "landline", "voip", "toll_free", "unknown",
	NULL };
static const char *const roles[] = { "agent", "caller", "system", "tool", NULL };
static const char *const action_types[] = { "sms", "email", "webhook", NULL };
static const char *const action_statuses[] = { "succeeded", "failed", "skipped", "spooled", NULL };

static int
check_call_id(struct ctx *c, const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 256)
		return fail(c, "call_id", "must be 1 to 256 characters");
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)id[i];
		if (ch == '.')
			return fail(c, "call_id", "contains '.' (it is the base of webhook ids)");
		if (ch < 0x21 || ch > 0x7e)
			return fail(c, "call_id", "must be printable ASCII without spaces");
	}
	return 0;
}

static int
check_caller(struct ctx *c, json_object *rec, struct pca_call *call)
{
	json_object *caller, *v;
	const char *country;
	int mark;
	int rc = -1;

	if (member(c, rec, "caller", json_type_object, false, &caller) < 0)
		return -1;
	call->caller = caller;
	if (!caller)
		return 0;
	mark = push(c, "caller", -1);
	if (member(c, caller, "withheld", json_type_boolean, false, &v) < 0)
		goto out;
	call->withheld = v && json_object_get_boolean(v);
	if (e164_member(c, caller, "number", NULLABLE, &call->caller_number) < 0)
		goto out;
	if (!call->caller_number && !call->withheld) {
		fail(c, "number", "missing (a withheld number is null with \"withheld\": true)");
		goto out;
	}
	if (str_member(c, caller, "contact_name", false, &call->contact_name) < 0 ||
	    enum_member(c, caller, "phone_type", phone_types, false, &call->phone_type) < 0 ||
	    str_member(c, caller, "cnam", false, &country) < 0 ||
	    str_member(c, caller, "country", false, &country) < 0)
		goto out;
	if (country && !(strlen(country) == 2 && isupper((unsigned char)country[0]) &&
	    isupper((unsigned char)country[1]))) {
		fail(c, "country", "must be an ISO 3166-1 alpha-2 code like \"US\"");
		goto out;
	}
	rc = 0;
out:
	pop(c, mark);
	return rc;
}

static int
check_agent(struct ctx *c, json_object *rec, struct pca_call *call)
{
	json_object *agent;
	const char *s;
	int mark;
	int rc = -1;

	if (member(c, rec, "agent", json_type_object, true, &agent) < 0)
		return -1;
	mark = push(c, "agent", -1);
	if (e164_member(c, agent, "number", true, &call->agent_number) == 0 &&
	    str_member(c, agent, "id", false, &s) == 0 &&
	    str_member(c, agent, "name", false, &call->agent_name) == 0)
		rc = 0;
	pop(c, mark);
	return rc;
}

static int
check_turn(struct ctx *c, json_object *turn)
{
	const char *s;
	int64_t start = 0, end = -1;

	if (!json_object_is_type(turn, json_type_object))
		return fail(c, NULL, "must be an object, not %s", type_name(turn));
	if (enum_member(c, turn, "role", roles, true, &s) < 0 ||
	    str_member(c, turn, "text", true, &s) < 0 ||
	    int_member(c, turn, "start_ms", true, 0, &start) < 0 ||
	    int_member(c, turn, "end_ms", false, 0, &end) < 0)
		return -1;
	if (end >= 0 && end < start)
		return fail(c, "end_ms", "before start_ms");
	return 0;
}

static int
check_event(struct ctx *c, json_object *ev)
{
	const char *type;
	json_object *v;
	int64_t at, off;

	if (!json_object_is_type(ev, json_type_object))
		return fail(c, NULL, "must be an object, not %s", type_name(ev));
	if (str_member(c, ev, "type", true, &type) < 0)
		return -1;
	if (!*type)
		return fail(c, "type", "must not be empty");
	if (time_member(c, ev, "at", true, &at) < 0 ||
	    int_member(c, ev, "offset_ms", true, INT64_MIN, &off) < 0 ||
	    member(c, ev, "data", json_type_object, false, &v) < 0)
		return -1;
	return 0;
}

static bool
valid_action_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static int
check_action_error(struct ctx *c, json_object *e)
{
	const char *s;
	int mark = push(c, "error", -1);
	int rc = str_member(c, e, "code", false, &s) < 0 || str_member(c, e, "message", false, &s) < 0;

	pop(c, mark);
	return rc ? -1 : 0;
}

static int
check_action(struct ctx *c, json_object *a)
{
	const char *s;
	json_object *v;
	int64_t n, t;

	if (!json_object_is_type(a, json_type_object))
		return fail(c, NULL, "must be an object, not %s", type_name(a));
	if (str_member(c, a, "action_id", true, &s) < 0)
		return -1;
	if (!valid_action_id(s))
		return fail(c, "action_id", "must be 1 to 64 letters, digits, '_' or '-'");
	if (enum_member(c, a, "type", action_types, true, &s) < 0 ||
	    enum_member(c, a, "status", action_statuses, true, &s) < 0 ||
	    str_member(c, a, "target", false, &s) < 0 ||
	    int_member(c, a, "attempts", false, 0, &n) < 0 ||
	    time_member(c, a, "started_at", false, &t) < 0 ||
	    time_member(c, a, "finished_at", false, &t) < 0 ||
	    str_member(c, a, "provider", false, &s) < 0 ||
	    str_member(c, a, "provider_message_id", false, &s) < 0 ||
	    int_member(c, a, "http_status", false, 0, &n) < 0 ||
	    int_member(c, a, "smtp_code", false, 0, &n) < 0 ||
	    int_member(c, a, "segments", false, 1, &n) < 0 ||
	    member(c, a, "error", json_type_object, false, &v) < 0 ||
	    (v && check_action_error(c, v) < 0))
		return -1;
	if (json_object_object_get_ex(a, "credits", &v) &&
	    (!(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ||
	    json_object_get_double(v) < 0))
		return fail(c, "credits", "must be a number >= 0");
	return 0;
}

/* Check every element of an optional array with `each`. */
static int
check_array(struct ctx *c, json_object *rec, const char *key, int (*each)(struct ctx *, json_object *),
	json_object **out)
{
	json_object *arr;
	size_t n;
	int mark;

	if (member(c, rec, key, json_type_array, false, &arr) < 0)
		return -1;
	*out = arr;
	if (!arr)
		return 0;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		mark = push(c, key, (long)i);
		if (each(c, json_object_array_get_idx(arr, i)) < 0) {
			pop(c, mark);
			return -1;
		}
		pop(c, mark);
	}
	return 0;
}

static bool
is_http_url(const char *s)
{
	const char *host;

	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		return false;
	if (!*host || *host == '/' || *host == '?' || *host == '#')
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int
check_recording(struct ctx *c, json_object *rec, struct pca_call *call)
{
	json_object *r;
	const char *s;
	int64_t n;
	int mark;
	int rc = -1, given;

	call->recording_expires_ms = -1;
	if (member(c, rec, "recording", json_type_object, false, &r) < 0)
		return -1;
	call->recording = r;
	if (!r)
		return 0;
	mark = push(c, "recording", -1);
	if (str_member(c, r, "url", true, &call->recording_url) < 0)
		goto out;
	if (!is_http_url(call->recording_url)) {
		fail(c, "url", "not an http or https URL");
		goto out;
	}
	given = time_member(c, r, "expires_at", false, &call->recording_expires_ms);
	if (given < 0 || int_member(c, r, "duration_ms", false, 0, &n) < 0 ||
	    str_member(c, r, "content_type", false, &s) < 0)
		goto out;
	call->recording_expires_given = given > 0;
	if (!call->recording_expires_given)
		call->recording_expires_ms = pca_time_add_months(call->ended_ms, RECORDING_KEEP_MONTHS);
	rc = 0;
out:
	pop(c, mark);
	return rc;
}

static int
check_times(struct ctx *c, json_object *rec, struct pca_call *call)
{
	int answered;

	if (time_member(c, rec, "started_at", true, &call->started_ms) < 0 ||
	    time_member(c, rec, "ended_at", true, &call->ended_ms) < 0)
		return -1;
	answered = time_member(c, rec, "answered_at", NULLABLE, &call->answered_ms);
	if (answered < 0)
		return -1;
	if (!answered)
		call->answered_ms = -1;
	if (call->ended_ms < call->started_ms)
		return fail(c, "ended_at", "before started_at");
	if (answered && (call->answered_ms < call->started_ms || call->answered_ms > call->ended_ms))
		return fail(c, "answered_at", "not between started_at and ended_at");
	return int_member(c, rec, "duration_ms", true, 0, &call->duration_ms);
}

static int
check_core(struct ctx *c, json_object *rec, struct pca_call *call)
{
	json_object *v;
	const char *schema;

	if (str_member(c, rec, "schema", true, &schema) < 0)
		return -1;
	if (strcmp(schema, PCA_SCHEMA) != 0)
		return fail(c, "schema", "\"%s\" is not \"" PCA_SCHEMA "\"", schema);
	if (str_member(c, rec, "call_id", true, &call->call_id) < 0 ||
	    check_call_id(c, call->call_id) < 0 ||
	    enum_member(c, rec, "status", statuses, true, &call->status) < 0 ||
	    str_member(c, rec, "end_reason", false, &call->end_reason) < 0 ||
	    enum_member(c, rec, "direction", directions, true, &call->direction) < 0 ||
	    check_times(c, rec, call) < 0 ||
	    str_member(c, rec, "summary", false, &call->summary) < 0 ||
	    member(c, rec, "metadata", json_type_object, false, &v) < 0)
		return -1;
	return 0;
}

int
pca_record_validate(json_object *obj, struct pca_call *call, struct pca_err *err)
{
	struct ctx c = { .err = err };
	int rc = -1;

	memset(call, 0, sizeof *call);
	if (!json_object_is_type(obj, json_type_object))
		return pca_err_set(err, "not a JSON object (%s)", type_name(obj));
	if (check_core(&c, obj, call) < 0 || check_caller(&c, obj, call) < 0 ||
	    check_agent(&c, obj, call) < 0 ||
	    check_array(&c, obj, "transcript", check_turn, &call->transcript) < 0 ||
	    check_recording(&c, obj, call) < 0 ||
	    check_array(&c, obj, "events", check_event, &call->events) < 0)
		goto out;
	if (json_object_object_get_ex(obj, "post_call_actions", &call->actions) && call->actions &&
	    json_object_is_type(call->actions, json_type_array) &&
	    json_object_array_length(call->actions) > PCA_MAX_ACTIONS) {
		fail(&c, "post_call_actions", "more than %d entries (%zu)", PCA_MAX_ACTIONS,
		    json_object_array_length(call->actions));
		goto out;
	}
	if (check_array(&c, obj, "post_call_actions", check_action, &call->actions) < 0)
		goto out;
	call->nactions = call->actions ? json_object_array_length(call->actions) : 0;
	call->obj = json_object_get(obj);
	rc = 0;
out:
	if (rc < 0)
		memset(call, 0, sizeof *call);
	return rc;
}

void
pca_call_release(struct pca_call *call)
{
	json_object_put(call->obj);
	memset(call, 0, sizeof *call);
}

void
pca_call_add_action(struct pca_call *call, json_object *entry)
{
	if (!call->actions) {
		call->actions = json_object_new_array();
		json_object_object_add(call->obj, "post_call_actions", call->actions);
	}
	json_object_array_add(call->actions, entry);
	call->nactions = json_object_array_length(call->actions);
}

void
pca_json_write(struct pca_buf *out, json_object *o)
{
	size_t len;
	const char *s = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	pca_buf_add(out, s, len);
}

/* 0: as it is; 1: a short escape (\" \\ \n ...); 5: \u00XX. */
static const unsigned char escape_extra[256] = {
	5, 5, 5, 5, 5, 5, 5, 5, 1, 1, 1, 5, 1, 1, 5, 5,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	['\\'] = 1,
};

/* Two passes: measure, then write in place; bodies can be megabytes and
 * full of quotes. */
void
pca_json_write_string(struct pca_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t extra = 0;
	char *p;

	for (size_t i = 0; i < len; i++)
		extra += escape_extra[u[i]];
	pca_buf_grow(out, len + extra + 2);
	p = out->data + out->len;
	*p++ = '"';
	if (!extra) {
		memcpy(p, s, len);
		p += len;
	} else {
		for (size_t i = 0; i < len; i++) {
			unsigned char ch = u[i];
			if (!escape_extra[ch]) {
				*p++ = (char)ch;
				continue;
			}
			*p++ = '\\';
			switch (ch) {
			case '"': *p++ = '"'; break;
			case '\\': *p++ = '\\'; break;
			case '\n': *p++ = 'n'; break;
			case '\r': *p++ = 'r'; break;
			case '\t': *p++ = 't'; break;
			case '\b': *p++ = 'b'; break;
			case '\f': *p++ = 'f'; break;
			default:
				memcpy(p, "u00", 3);
				p[3] = hex[ch >> 4];
				p[4] = hex[ch & 15];
				p += 5;
			}
		}
	}
	*p++ = '"';
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
}

const char *
pca_json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}
