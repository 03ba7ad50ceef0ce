#include "verify_log.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "alloc.h"
#include "hex.h"
#include "record.h"
#include "timeutil.h"

struct pca_log_verifier {
	struct pca_verifier *v;
	int64_t tolerance;
	bool fixed_now;
	int64_t now;
	json_tokener *tok;
	struct pca_buf body;            /* BODY-FILE, for entries logged without theirs */
	char body_sha[2 * 32 + 1];
	bool have_body;
	struct pca_buf reason, ts;
	unsigned long entries, invalid, rejected;
};

struct pca_log_verifier *
pca_log_verifier_new(struct pca_verifier *v, int64_t tolerance, const int64_t *now)
{
	struct pca_log_verifier *lv = pca_calloc(1, sizeof *lv);

	lv->v = v;
	lv->tolerance = tolerance;
	lv->fixed_now = now != NULL;
	lv->now = now ? *now : 0;
	lv->tok = json_tokener_new();
	if (!lv->tok)
		pca_oom(sizeof(json_tokener *));
	return lv;
}

void
pca_log_verifier_set_body(struct pca_log_verifier *lv, const void *body, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	pca_buf_reset(&lv->body);
	pca_buf_add(&lv->body, body, len);
	EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL);
	pca_hex_write(lv->body_sha, md, mdlen);
	lv->have_body = true;
}

static const char *
field_str(json_object *o, const char *key, size_t *len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* The timestamp as the text that was signed: an integer as its digits, a
 * string as it is; anything else as its JSON, which the verifier rejects. */
static const char *
field_timestamp(struct pca_log_verifier *lv, json_object *o)
{
	json_object *v;

	if (!json_object_object_get_ex(o, "timestamp", &v) || json_object_is_type(v, json_type_null))
		return NULL;
	pca_buf_reset(&lv->ts);
	if (json_object_is_type(v, json_type_int))
		pca_buf_addf(&lv->ts, "%" PRId64, json_object_get_int64(v));
	else if (json_object_is_type(v, json_type_string))
		pca_buf_adds(&lv->ts, json_object_get_string(v));
	else
		pca_buf_adds(&lv->ts, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	return lv->ts.data;
}

static void
answer(struct pca_log_verifier *lv, struct pca_buf *out, unsigned long line, const char *id,
	const char *verdict, const char *reason)
{
	bool valid = strcmp(verdict, "valid") == 0;

	pca_buf_addf(out, "{\"line\":%lu,\"webhook_id\":", line);
	if (id)
		pca_json_write_string(out, id, strlen(id));
	else
		pca_buf_adds(out, "null");
	pca_buf_addf(out, ",\"valid\":%s,\"verdict\":\"%s\",\"reason\":", valid ? "true" : "false",
	    verdict);
	pca_json_write_string(out, reason, strlen(reason));
	pca_buf_adds(out, "}\n");
	if (!valid)
		lv->invalid++;
}

/* The time the entry was sent, unless the caller fixed one. */
static bool
entry_now(struct pca_log_verifier *lv, json_object *o, int64_t *now)
{
	struct pca_err err = PCA_ERR_INIT;
	const char *at;
	int64_t ms;

	if (lv->fixed_now) {
		*now = lv->now;
		return true;
	}
	if (!(at = field_str(o, "at", NULL)) || pca_time_parse(at, &ms, &err) < 0) {
		pca_err_clear(&err);
		return false;
	}
	*now = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	return true;
}

/* The body: logged with --log-bodies, or else BODY-FILE if its hash is the
 * one logged. Returns the verdict name when there is none to check. */
static const char *
entry_body(struct pca_log_verifier *lv, json_object *o, struct pca_delivery *d)
{
	const char *sha;

	if ((d->body = field_str(o, "body", &d->len)))
		return NULL;
	if (!lv->have_body)
		return "no_body";
	sha = field_str(o, "body_sha256", NULL);
	if (!sha || strcasecmp(sha, lv->body_sha) != 0)
		return "body_mismatch";
	d->body = lv->body.data ? lv->body.data : "";
	d->len = lv->body.len;
	return NULL;
}

static void
check_entry(struct pca_log_verifier *lv, json_object *o, unsigned long line,
	struct pca_buf *out)
{
	struct pca_delivery d = { NULL, NULL, NULL, NULL, NULL, 0 };
	const char *missing;
	enum pca_verdict verdict;
	int64_t now;

	d.id = field_str(o, "webhook_id", NULL);
	d.timestamp = field_timestamp(lv, o);
	d.signature = field_str(o, "signature", NULL);
	if ((missing = entry_body(lv, o, &d))) {
		answer(lv, out, line, d.id, missing, strcmp(missing, "no_body") == 0 ?
		    "no body in the log (run pca-webhook with --log-bodies)" :
		    "BODY-FILE is not the body of this entry (its sha256 differs from body_sha256)");
		return;
	}
	if (!entry_now(lv, o, &now)) {
		answer(lv, out, line, d.id, "malformed", "no RFC 3339 \"at\" time in the entry to "
		    "check the timestamp against (give --now or --no-timestamp)");
		return;
	}
	pca_buf_reset(&lv->reason);
	verdict = pca_verify(lv->v, &d, now, lv->tolerance, &lv->reason);
	answer(lv, out, line, d.id, pca_verdict_name(verdict), lv->reason.data);
}

bool
pca_log_verify_line(struct pca_log_verifier *lv, const char *text, size_t len,
	unsigned long line, struct pca_buf *out)
{
	json_object *o;
	size_t end;
	bool entry;

	json_tokener_reset(lv->tok);
	o = json_tokener_parse_ex(lv->tok, text, (int)len);
	end = (size_t)json_tokener_get_parse_end(lv->tok);
	if (!o) {
		/* json-c 0.16's reset keeps a pending high surrogate, which would
		 * change the next entry's body: a failed line costs a tokener. */
		json_tokener_free(lv->tok);
		if (!(lv->tok = json_tokener_new()))
			pca_oom(sizeof(json_tokener *));
	}
	entry = o && json_object_is_type(o, json_type_object) &&
	    strspn(text + end, " \t\r") == len - end;
	if (entry) {
		check_entry(lv, o, line, out);
	} else {
		answer(lv, out, line, NULL, "not_an_entry", "not a log entry (a JSON object a line)");
		lv->rejected++;
	}
	lv->entries++;
	json_object_put(o);
	return entry;
}

void
pca_log_verifier_counts(const struct pca_log_verifier *lv, unsigned long *entries,
	unsigned long *invalid, unsigned long *rejected)
{
	*entries = lv->entries;
	*invalid = lv->invalid;
	*rejected = lv->rejected;
}

void
pca_log_verifier_free(struct pca_log_verifier *lv)
{
	if (!lv)
		return;
	json_tokener_free(lv->tok);
	pca_buf_free(&lv->body);
	pca_buf_free(&lv->reason);
	pca_buf_free(&lv->ts);
	free(lv);
}
