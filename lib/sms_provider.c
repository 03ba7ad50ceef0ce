/* SMS providers: the HTTP request for one text to one recipient, and the
 * verdict on the provider's answer.
 *
 * Form bodies are application/x-www-form-urlencoded with every byte but the
 * unreserved A-Z a-z 0-9 - . _ ~ percent-encoded (space as %20, never "+":
 * the one spelling every provider, AWS's signer included, reads the same).
 * Field order is fixed, so the same message always gives the same bytes:
 *
 *   twilio  To, From | MessagingServiceSid, Body, StatusCallback
 *   vonage  api_key, api_secret, from, to, text, type, callback
 *   sns     Action, Version, PhoneNumber, Message, MessageAttributes.entry.1
 *           (SMSType), entry.2 (SenderID or OriginationNumber)
 *   http    the configured fields in configuration order
 *
 * The shown request is the real one with every spelling of the secrets
 * (raw, percent-encoded, JSON-escaped) replaced by "***". Because both
 * encodings work byte by byte, a secret inside any value is always found.
 */
#include "sms_provider.h"

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "alloc.h"
#include "hex.h"
#include "record.h"
#include "template.h"
#include "utf8.h"

#define MASK "***"
/* How much of an unreadable answer an error message quotes. */
#define SNIPPET_MAX 200

static const char *const kind_names[] = { "twilio", "vonage", "telnyx", "sns", "http" };

const char *
pca_sms_provider_name(enum pca_sms_provider_kind k)
{
	if ((unsigned)k >= sizeof kind_names / sizeof *kind_names)
		return "unknown";
	return kind_names[k];
}

int
pca_sms_provider_kind(const char *name)
{
	for (size_t i = 0; name && i < sizeof kind_names / sizeof *kind_names; i++)
		if (strcmp(name, kind_names[i]) == 0)
			return (int)i;
	return -1;
}

char *
pca_sms_provider_default_base(const struct pca_sms_provider *p)
{
	switch (p->kind) {
	case PCA_SMS_TWILIO:
		return pca_strdup("https://api.twilio.com");
	case PCA_SMS_VONAGE:
		return pca_strdup("https://rest.nexmo.com");
	case PCA_SMS_TELNYX:
		return pca_strdup("https://api.telnyx.com");
	case PCA_SMS_SNS:
		return pca_asprintf("https://sns.%s.amazonaws.com",
		    p->region ? p->region : "us-east-1");
	case PCA_SMS_HTTP:
		break;
	}
	return pca_strdup(p->url ? p->url : "");
}

static void
free_fields(struct pca_sms_field *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++) {
		free(f[i].name);
		free(f[i].value);
	}
	free(f);
}

void
pca_sms_provider_free(struct pca_sms_provider *p)
{
	if (!p)
		return;
	free(p->base_url);
	free(p->account_sid);
	free(p->api_key);
	free(p->messaging_service_sid);
	free(p->messaging_profile_id);
	free(p->region);
	free(p->access_key_id);
	free(p->status_callback);
	free(p->url);
	free(p->method);
	free_fields(p->fields, p->nfields);
	free_fields(p->headers, p->nheaders);
	free(p->message_id_path);
	memset(p, 0, sizeof *p);
}

/* ---- building requests ---- */

struct req {
	const struct pca_sms_provider *p;
	const struct pca_sms_message *m;
	const char *secret, *token;
	struct pca_sms_request *r;
	size_t nheaders;
	const char *auth_shown;  /* the Authorization line curl adds, as shown */
};

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

static void
url_encode(struct pca_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	pca_buf_grow(b, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c)) {
			pca_buf_addc(b, (char)c);
		} else {
			pca_buf_addc(b, '%');
			pca_buf_addc(b, hex[c >> 4]);
			pca_buf_addc(b, hex[c & 15]);
		}
	}
}

static void
add_header(struct req *q, const char *name, const char *value)
{
	struct pca_sms_request *r = q->r;

	r->headers = pca_reallocarray(r->headers, q->nheaders + 2, sizeof *r->headers);
	r->headers[q->nheaders++] = pca_asprintf("%s: %s", name, value);
	r->headers[q->nheaders] = NULL;
}

static void
form_addn(struct req *q, const char *name, const char *v, size_t len)
{
	struct pca_buf *b = &q->r->body;

	if (b->len)
		pca_buf_addc(b, '&');
	url_encode(b, name, strlen(name));
	pca_buf_addc(b, '=');
	url_encode(b, v, len);
}

static void
form_add(struct req *q, const char *name, const char *v)
{
	form_addn(q, name, v, strlen(v));
}

static void
json_addn(struct req *q, const char *name, const char *v, size_t len)
{
	struct pca_buf *b = &q->r->body;

	pca_buf_addc(b, b->len ? ',' : '{');
	pca_json_write_string(b, name, strlen(name));
	pca_buf_addc(b, ':');
	pca_json_write_string(b, v, len);
}

static void
json_end(struct req *q)
{
	struct pca_buf *b = &q->r->body;

	if (!b->len)
		pca_buf_addc(b, '{');
	pca_buf_addc(b, '}');
}

/* The base URL without its trailing slashes; out is left untouched (no
 * memory to free) on an error. */
static int
base_url(const struct req *q, struct pca_buf *out, struct pca_err *err)
{
	char *def = NULL;
	const char *base = q->p->base_url;
	size_t n;

	if (!base)
		base = def = pca_sms_provider_default_base(q->p);
	n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	if (n)
		pca_buf_add(out, base, n);
	free(def);
	if (!n)
		return pca_err_set(err, "%s: empty base_url", pca_sms_provider_name(q->p->kind));
	return 0;
}

/* Secrets go into headers and the shown request is masked by value, so a
 * control character (a trailing newline from a file, say) would break both. */
static int
check_secret(const struct req *q, const char *s, const char *what, struct pca_err *err)
{
	const char *name = pca_sms_provider_name(q->p->kind);

	if (!s)
		return pca_err_set(err, "%s: no %s", name, what);
	for (const unsigned char *u = (const unsigned char *)s; *u; u++)
		if (*u < 0x20 || *u == 0x7f)
			return pca_err_set(err, "%s: the %s contains a control character", name,
			    what);
	return 0;
}

static int
build_twilio(struct req *q, struct pca_err *err)
{
	const struct pca_sms_provider *p = q->p;
	const struct pca_sms_message *m = q->m;
	struct pca_buf url = PCA_BUF_INIT;

	if (!p->account_sid)
		return pca_err_set(err, "twilio: no account_sid");
	if (!p->messaging_service_sid && !m->from)
		return pca_err_set(err, "twilio: no sender: give from or messaging_service_sid");
	if (check_secret(q, q->secret, "auth token", err) < 0 || base_url(q, &url, err) < 0)
		return -1;
	pca_buf_adds(&url, "/2010-04-01/Accounts/");
	url_encode(&url, p->account_sid, strlen(p->account_sid));
	pca_buf_adds(&url, "/Messages.json");
	q->r->url = pca_buf_detach(&url, NULL);
	q->r->username = pca_strdup(p->api_key ? p->api_key : p->account_sid);
	q->r->password = pca_strdup(q->secret);
	q->auth_shown = "Basic " MASK;
	add_header(q, "Content-Type", "application/x-www-form-urlencoded");
	form_add(q, "To", m->to);
	if (p->messaging_service_sid)
		form_add(q, "MessagingServiceSid", p->messaging_service_sid);
	else
		form_add(q, "From", m->from);
	form_addn(q, "Body", m->text, m->len);
	if (p->status_callback)
		form_add(q, "StatusCallback", p->status_callback);
	return 0;
}

static int
build_vonage(struct req *q, struct pca_err *err)
{
	const struct pca_sms_provider *p = q->p;
	const struct pca_sms_message *m = q->m;
	struct pca_buf url = PCA_BUF_INIT;

	if (!p->api_key)
		return pca_err_set(err, "vonage: no api_key");
	if (!m->from)
		return pca_err_set(err, "vonage: no sender: give from");
	if (check_secret(q, q->secret, "API secret", err) < 0 || base_url(q, &url, err) < 0)
		return -1;
	pca_buf_adds(&url, "/sms/json");
	q->r->url = pca_buf_detach(&url, NULL);
	add_header(q, "Content-Type", "application/x-www-form-urlencoded");
	form_add(q, "api_key", p->api_key);
	form_add(q, "api_secret", q->secret);
	form_add(q, "from", m->from);
	form_add(q, "to", m->to[0] == '+' ? m->to + 1 : m->to);
	form_addn(q, "text", m->text, m->len);
	if (m->encoding == PCA_SMS_UCS2)
		form_add(q, "type", "unicode");
	if (p->status_callback)
		form_add(q, "callback", p->status_callback);
	return 0;
}

static int
build_telnyx(struct req *q, struct pca_err *err)
{
	const struct pca_sms_provider *p = q->p;
	const struct pca_sms_message *m = q->m;
	struct pca_buf url = PCA_BUF_INIT;
	char *auth;

	if (!m->from && !p->messaging_profile_id)
		return pca_err_set(err, "telnyx: no sender: give from or messaging_profile_id");
	if (check_secret(q, q->secret, "API key", err) < 0 || base_url(q, &url, err) < 0)
		return -1;
	pca_buf_adds(&url, "/v2/messages");
	q->r->url = pca_buf_detach(&url, NULL);
	auth = pca_asprintf("Bearer %s", q->secret);
	add_header(q, "Authorization", auth);
	OPENSSL_cleanse(auth, strlen(auth));
	free(auth);
	add_header(q, "Content-Type", "application/json");
	if (m->from)
		json_addn(q, "from", m->from, strlen(m->from));
	json_addn(q, "to", m->to, strlen(m->to));
	json_addn(q, "text", m->text, m->len);
	if (p->messaging_profile_id)
		json_addn(q, "messaging_profile_id", p->messaging_profile_id,
		    strlen(p->messaging_profile_id));
	if (p->status_callback)
		json_addn(q, "webhook_url", p->status_callback, strlen(p->status_callback));
	json_end(q);
	return 0;
}

/* The region goes into a host name and into curl's SigV4 parameter, where
 * a ':' or '/' would change their meaning. */
static bool
valid_region(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static void
sns_attribute(struct req *q, int n, const char *name, const char *value)
{
	char key[64];

	snprintf(key, sizeof key, "MessageAttributes.entry.%d.Name", n);
	form_add(q, key, name);
	snprintf(key, sizeof key, "MessageAttributes.entry.%d.Value.DataType", n);
	form_add(q, key, "String");
	snprintf(key, sizeof key, "MessageAttributes.entry.%d.Value.StringValue", n);
	form_add(q, key, value);
}

static int
build_sns(struct req *q, struct pca_err *err)
{
	const struct pca_sms_provider *p = q->p;
	const struct pca_sms_message *m = q->m;
	struct pca_buf url = PCA_BUF_INIT;

	if (!p->region || !valid_region(p->region))
		return pca_err_set(err, "sns: %s region", p->region ? "invalid" : "no");
	if (!p->access_key_id)
		return pca_err_set(err, "sns: no access_key_id");
	if (check_secret(q, q->secret, "secret access key", err) < 0 ||
	    (q->token && check_secret(q, q->token, "session token", err) < 0) ||
	    base_url(q, &url, err) < 0)
		return -1;
	pca_buf_addc(&url, '/');
	q->r->url = pca_buf_detach(&url, NULL);
	q->r->username = pca_strdup(p->access_key_id);
	q->r->password = pca_strdup(q->secret);
	q->r->aws_sigv4 = pca_asprintf("aws:amz:%s:sns", p->region);
	q->auth_shown = "AWS4-HMAC-SHA256 " MASK;
	add_header(q, "Content-Type", "application/x-www-form-urlencoded");
	if (q->token)
		add_header(q, "X-Amz-Security-Token", q->token);
	form_add(q, "Action", "Publish");
	form_add(q, "Version", "2010-03-31");
	form_add(q, "PhoneNumber", m->to);
	form_addn(q, "Message", m->text, m->len);
	sns_attribute(q, 1, "AWS.SNS.SMS.SMSType", "Transactional");
	if (m->from && *m->from)
		sns_attribute(q, 2, m->from[0] == '+' ? "AWS.MM.SMS.OriginationNumber" :
		    "AWS.SNS.SMS.SenderID", m->from);
	return 0;
}

/* ---- the generic provider ---- */

static json_object *
message_view(const struct req *q)
{
	const struct pca_sms_message *m = q->m;
	json_object *v = json_object_new_object();

	json_object_object_add(v, "to", json_object_new_string(m->to));
	json_object_object_add(v, "from", m->from ? json_object_new_string(m->from) : NULL);
	json_object_object_add(v, "text", json_object_new_string_len(m->text, (int)m->len));
	json_object_object_add(v, "encoding",
	    json_object_new_string(pca_sms_encoding_name(m->encoding)));
	json_object_object_add(v, "segments", json_object_new_int64((int64_t)m->segments));
	json_object_object_add(v, "call_id",
	    m->call_id ? json_object_new_string(m->call_id) : NULL);
	json_object_object_add(v, "action_id",
	    m->action_id ? json_object_new_string(m->action_id) : NULL);
	json_object_object_add(v, "secret", q->secret ? json_object_new_string(q->secret) : NULL);
	return v;
}

/* Render one configured template; errors name it "http.form.Body". */
static int
render_field(const char *where, const struct pca_sms_field *f, json_object *view,
	enum pca_escape esc, struct pca_buf *out, struct pca_err *err)
{
	char *name = pca_asprintf("http.%s.%s", where, f->name);
	struct pca_template *t = pca_template_compile(f->value, strlen(f->value), name, err);
	int rc = -1;

	if (t) {
		pca_buf_reset(out);
		rc = pca_template_render(t, view, esc, NULL, NULL, out, err);
		pca_template_free(t);
	}
	free(name);
	return rc;
}

static bool
token_char(unsigned char c)
{
	return unreserved(c) || (c && strchr("!#$%&'*+^`|", c));
}

static int
http_header(struct req *q, const struct pca_sms_field *f, json_object *view, struct pca_buf *v,
	struct pca_err *err)
{
	const char *s = f->name;

	if (!*s)
		return pca_err_set(err, "http.headers: empty header name");
	for (; *s; s++)
		if (!token_char((unsigned char)*s))
			return pca_err_set(err, "http.headers.%s: invalid header name", f->name);
	/* PCA_ESCAPE_HEADER blanks line breaks that tags bring in; the ones
	 * written in the template itself are refused. */
	if (render_field("headers", f, view, PCA_ESCAPE_HEADER, v, err) < 0)
		return -1;
	for (size_t i = 0; i < v->len; i++)
		if (v->data[i] == '\r' || v->data[i] == '\n' || v->data[i] == '\0')
			return pca_err_set(err, "http.headers.%s: the value has a line break "
			    "or NUL", f->name);
	add_header(q, f->name, pca_buf_cstr(v));
	return 0;
}

static bool
has_header(const struct pca_sms_provider *p, const char *name)
{
	for (size_t i = 0; i < p->nheaders; i++)
		if (strcasecmp(p->headers[i].name, name) == 0)
			return true;
	return false;
}

static int
http_parts(struct req *q, json_object *view, struct pca_buf *v, struct pca_err *err)
{
	const struct pca_sms_provider *p = q->p;
	const char *where = p->json ? "json" : "form";

	if (!has_header(p, "Content-Type"))
		add_header(q, "Content-Type", p->json ? "application/json" :
		    "application/x-www-form-urlencoded");
	for (size_t i = 0; i < p->nheaders; i++)
		if (http_header(q, &p->headers[i], view, v, err) < 0)
			return -1;
	for (size_t i = 0; i < p->nfields; i++) {
		if (render_field(where, &p->fields[i], view, PCA_ESCAPE_NONE, v, err) < 0)
			return -1;
		if (p->json)
			json_addn(q, p->fields[i].name, pca_buf_cstr(v), v->len);
		else
			form_addn(q, p->fields[i].name, pca_buf_cstr(v), v->len);
	}
	if (p->json)
		json_end(q);
	return 0;
}

static int
build_http(struct req *q, struct pca_err *err)
{
	const struct pca_sms_provider *p = q->p;
	struct pca_buf v = PCA_BUF_INIT;
	json_object *view;
	int rc;

	if (!p->url || !*p->url)
		return pca_err_set(err, "http: no url");
	if (p->method && strcmp(p->method, "POST") != 0 && strcmp(p->method, "PUT") != 0)
		return pca_err_set(err, "http: method must be POST or PUT");
	if (q->secret && check_secret(q, q->secret, "secret", err) < 0)
		return -1;
	if (q->m->len > INT_MAX)
		return pca_err_set(err, "http: text longer than 2 GiB");
	q->r->method = p->method && strcmp(p->method, "PUT") == 0 ? "PUT" : "POST";
	q->r->url = pca_strdup(p->url);
	view = message_view(q);
	rc = http_parts(q, view, &v, err);
	json_object_put(view);
	pca_buf_wipe(&v);
	return rc;
}

/* ---- the shown request ---- */

/* Replace every occurrence of needle in b by MASK. */
static void
mask_bytes(struct pca_buf *b, const char *needle, size_t nlen)
{
	struct pca_buf out = PCA_BUF_INIT;
	const char *s, *hit;
	size_t left;

	if (!nlen || !b->len || !memmem(b->data, b->len, needle, nlen))
		return;
	s = b->data;
	left = b->len;
	while ((hit = memmem(s, left, needle, nlen))) {
		pca_buf_add(&out, s, (size_t)(hit - s));
		pca_buf_adds(&out, MASK);
		left -= (size_t)(hit - s) + nlen;
		s = hit + nlen;
	}
	pca_buf_add(&out, s, left);
	pca_buf_free(b);
	*b = out;
}

/* Every way a value can be spelled in a request: as it is, percent-encoded,
 * JSON-escaped. */
static void
mask_secret(struct pca_buf *b, const char *secret)
{
	struct pca_buf enc = PCA_BUF_INIT;
	size_t n;

	if (!secret || !*secret)
		return;
	n = strlen(secret);
	mask_bytes(b, secret, n);
	url_encode(&enc, secret, n);
	mask_bytes(b, enc.data, enc.len);
	pca_buf_reset(&enc);
	pca_json_write_string(&enc, secret, n);
	mask_bytes(b, enc.data + 1, enc.len - 2);
	pca_buf_wipe(&enc);
}

static void
make_shown(struct req *q)
{
	struct pca_sms_request *r = q->r;
	struct pca_buf *s = &r->shown;

	pca_buf_addf(s, "%s %s\n", r->method, r->url);
	if (q->auth_shown)
		pca_buf_addf(s, "Authorization: %s\n", q->auth_shown);
	for (size_t i = 0; i < q->nheaders; i++)
		pca_buf_addf(s, "%s\n", r->headers[i]);
	pca_buf_addc(s, '\n');
	pca_buf_add(s, r->body.data ? r->body.data : "", r->body.len);
	mask_secret(s, q->secret);
	mask_secret(s, q->token);
}

int
pca_sms_request_build(const struct pca_sms_provider *p, const struct pca_sms_message *m,
	const char *secret, const char *session_token, struct pca_sms_request *out,
	struct pca_err *err)
{
	struct req q = { p, m, secret, session_token, out, 0, NULL };
	struct pca_sms_message fixed;
	int rc = -1;

	memset(out, 0, sizeof *out);
	out->method = "POST";
	if (!m->to || !*m->to)
		return pca_err_set(err, "%s: no recipient", pca_sms_provider_name(p->kind));
	if (!m->text) {
		fixed = *m;
		fixed.text = "";
		fixed.len = 0;
		q.m = &fixed;
	}
	switch (p->kind) {
	case PCA_SMS_TWILIO: rc = build_twilio(&q, err); break;
	case PCA_SMS_VONAGE: rc = build_vonage(&q, err); break;
	case PCA_SMS_TELNYX: rc = build_telnyx(&q, err); break;
	case PCA_SMS_SNS: rc = build_sns(&q, err); break;
	case PCA_SMS_HTTP: rc = build_http(&q, err); break;
	default: pca_err_set(err, "unknown SMS provider %d", (int)p->kind);
	}
	if (rc < 0) {
		pca_sms_request_free(out);
		return -1;
	}
	make_shown(&q);
	return 0;
}

static void
wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void
pca_sms_request_free(struct pca_sms_request *r)
{
	if (!r)
		return;
	free(r->url);
	for (size_t i = 0; r->headers && r->headers[i]; i++)
		wipe_free(r->headers[i]);
	free(r->headers);
	pca_buf_wipe(&r->body);
	free(r->username);
	wipe_free(r->password);
	free(r->aws_sigv4);
	pca_buf_free(&r->shown);
	memset(r, 0, sizeof *r);
}

/* ---- reading answers ---- */

static enum pca_sms_verdict
by_status(long st)
{
	if (st >= 200 && st < 300)
		return PCA_SMS_ACCEPTED;
	/* 408 and 429 say the request was not processed; 5xx is the provider's
	 * trouble. Everything else (3xx included: never followed) is final. */
	if (st == 408 || st == 429 || (st >= 500 && st < 600))
		return PCA_SMS_RETRY;
	return PCA_SMS_REJECTED;
}

static bool
is_2xx(long st)
{
	return st >= 200 && st < 300;
}

/* At most SNIPPET_MAX bytes of an answer, fit for a message: cut on a
 * character boundary, invalid UTF-8 as '?', control characters as spaces. */
static char *
snippet(const char *body, size_t len)
{
	struct pca_buf b = PCA_BUF_INIT;
	size_t pos = 0, start;

	while (pos < len) {
		int32_t cp;

		start = pos;
		cp = pca_utf8_next(body, len, &pos);
		if (b.len + (pos - start) > SNIPPET_MAX)
			break;
		if (cp < 0)
			pca_buf_addc(&b, '?');
		else if (cp < 0x20 || cp == 0x7f)
			pca_buf_addc(&b, ' ');
		else
			pca_buf_add(&b, body + start, pos - start);
	}
	while (b.len && b.data[b.len - 1] == ' ')
		b.len--;
	if (!b.len) {
		pca_buf_free(&b);
		return NULL;
	}
	b.data[b.len] = '\0';
	return pca_buf_detach(&b, NULL);
}

/* A failure the provider did not put in words: quote the answer. */
static void
quote_answer(long st, const char *body, size_t len, struct pca_sms_reply *out)
{
	if (out->verdict == PCA_SMS_ACCEPTED || out->error_message)
		return;
	out->error_message = snippet(body, len);
	if (!out->error_message)
		out->error_message = pca_asprintf("HTTP %ld with an empty answer", st);
}

static json_object *
parse_json(const char *body, size_t len)
{
	struct pca_buf copy = PCA_BUF_INIT;
	json_tokener *tok;
	json_object *o;

	if (!body || !len || len >= INT_MAX)
		return NULL;
	/* json-c needs the terminating NUL to know a bare value is complete. */
	pca_buf_add(&copy, body, len);
	if (!(tok = json_tokener_new()))
		pca_oom(sizeof(json_tokener *));
	o = json_tokener_parse_ex(tok, copy.data, (int)len + 1);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	pca_buf_free(&copy);
	return o;
}

static json_object *
jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A string, or a number written as one ("21211" and 21211 alike). */
static char *
jtext(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	if (!v)
		return NULL;
	if (json_object_is_type(v, json_type_string))
		return pca_strdup(json_object_get_string(v));
	if (json_object_is_type(v, json_type_int))
		return pca_asprintf("%" PRId64, json_object_get_int64(v));
	if (json_object_is_type(v, json_type_double))
		return pca_strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	return NULL;
}

/* A count given as a number or a numeric string; 0 when neither. */
static int
jcount(json_object *o, const char *key)
{
	char *s = jtext(o, key), *end;
	long n = 0;

	if (s && *s) {
		n = strtol(s, &end, 10);
		if (*end || n < 0 || n > INT_MAX)
			n = 0;
	}
	free(s);
	return (int)n;
}

static char *
dup_or_null(const char *s)
{
	return s ? pca_strdup(s) : NULL;
}

/* "0.0075" and "USD" -> "0.0075 USD". */
static char *
join_price(const char *amount, const char *unit)
{
	if (!amount)
		return NULL;
	return unit && *unit ? pca_asprintf("%s %s", amount, unit) : pca_strdup(amount);
}

/* ---- twilio ---- */

static void
twilio_accepted(json_object *o, struct pca_sms_reply *out)
{
	out->message_id = dup_or_null(jstr(o, "sid"));
	out->status = dup_or_null(jstr(o, "status"));
	out->segments = jcount(o, "num_segments");
	out->price = join_price(jstr(o, "price"), jstr(o, "price_unit"));
	/* A message created already failed carries its error code. */
	out->error_code = jtext(o, "error_code");
	if (out->error_code) {
		out->verdict = PCA_SMS_REJECTED;
		out->error_message = dup_or_null(jstr(o, "error_message"));
	}
}

static void
twilio_reply(long st, json_object *o, struct pca_sms_reply *out)
{
	if (is_2xx(st)) {
		twilio_accepted(o, out);
		return;
	}
	out->error_code = jtext(o, "code");
	out->error_message = dup_or_null(jstr(o, "message"));
	out->more_info = dup_or_null(jstr(o, "more_info"));
	if (out->error_code && strcmp(out->error_code, "20429") == 0)
		out->verdict = PCA_SMS_RETRY;
}

/* ---- vonage ---- */

static const char *
vonage_status_text(const char *code)
{
	static const struct { const char *code, *text; } t[] = {
		{ "1", "throttled" }, { "2", "missing parameters" }, { "3", "invalid parameters" },
		{ "4", "invalid credentials" }, { "5", "internal error" },
		{ "6", "invalid message" }, { "7", "number barred" },
		{ "8", "partner account barred" }, { "9", "partner quota violation" },
		{ "10", "too many existing binds" }, { "11", "account not enabled for HTTP" },
		{ "12", "message too long" }, { "14", "invalid signature" },
		{ "15", "invalid sender address" }, { "22", "invalid network code" },
		{ "23", "invalid callback URL" }, { "29", "non-whitelisted destination" },
		{ "32", "signature and API secret disallowed" }, { "33", "number de-activated" },
	};

	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		if (strcmp(code, t[i].code) == 0)
			return t[i].text;
	return "unknown status";
}

/* The price of every part, when each has one. */
static char *
vonage_price(json_object *msgs, size_t n)
{
	double sum = 0;
	const char *p;
	char *end;

	if (n == 1)
		return dup_or_null(jstr(json_object_array_get_idx(msgs, 0), "message-price"));
	for (size_t i = 0; i < n; i++) {
		if (!(p = jstr(json_object_array_get_idx(msgs, i), "message-price")))
			return NULL;
		sum += strtod(p, &end);
		if (end == p || *end)
			return NULL;
	}
	return pca_asprintf("%.8f", sum);
}

/* The first part whose status is not "0", or NULL; *accepted counts the
 * parts that went through. */
static json_object *
vonage_failed_part(json_object *msgs, size_t n, size_t *accepted)
{
	json_object *bad = NULL;

	*accepted = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *part = json_object_array_get_idx(msgs, i);
		const char *s = jstr(part, "status");

		if (s && strcmp(s, "0") == 0)
			(*accepted)++;
		else if (!bad)
			bad = part;
	}
	return bad;
}

static void
vonage_failed(json_object *bad, size_t accepted, struct pca_sms_reply *out)
{
	const char *code = jstr(bad, "status"), *text = jstr(bad, "error-text");

	out->error_code = pca_strdup(code ? code : "unknown");
	out->status = pca_strdup(out->error_code);
	out->error_message = pca_strdup(text ? text : vonage_status_text(out->error_code));
	/* Throttled and internal error are worth another try, unless some
	 * part already went out: sending again would repeat it. */
	if ((strcmp(out->error_code, "1") == 0 || strcmp(out->error_code, "5") == 0) && !accepted)
		out->verdict = PCA_SMS_RETRY;
	else
		out->verdict = PCA_SMS_REJECTED;
}

static void
vonage_reply(long st, json_object *o, struct pca_sms_reply *out)
{
	json_object *msgs = jget(o, "messages"), *bad;
	size_t n, accepted;

	if (!is_2xx(st)) {
		/* Errors outside the SMS API's own format (RFC 7807 style). */
		out->error_code = jtext(o, "type");
		out->error_message = dup_or_null(jstr(o, "detail") ? jstr(o, "detail") :
		    jstr(o, "title") ? jstr(o, "title") : jstr(o, "error-text"));
		return;
	}
	if (!msgs || !json_object_is_type(msgs, json_type_array) ||
	    !(n = json_object_array_length(msgs)))
		return;
	out->segments = jcount(o, "message-count");
	bad = vonage_failed_part(msgs, n, &accepted);
	if (accepted)
		out->message_id = dup_or_null(jstr(json_object_array_get_idx(msgs, 0),
		    "message-id"));
	if (bad) {
		vonage_failed(bad, accepted, out);
		return;
	}
	out->status = pca_strdup("0");
	out->price = vonage_price(msgs, n);
}

/* ---- telnyx ---- */

static void
telnyx_reply(long st, json_object *o, struct pca_sms_reply *out)
{
	json_object *data = jget(o, "data"), *errs = jget(o, "errors"), *to, *e;
	const char *detail, *title;

	if (is_2xx(st)) {
		out->message_id = dup_or_null(jstr(data, "id"));
		out->segments = jcount(data, "parts");
		to = jget(data, "to");
		if (to && json_object_is_type(to, json_type_array) && json_object_array_length(to))
			out->status = dup_or_null(jstr(json_object_array_get_idx(to, 0), "status"));
		out->price = join_price(jstr(jget(data, "cost"), "amount"),
		    jstr(jget(data, "cost"), "currency"));
		return;
	}
	if (!errs || !json_object_is_type(errs, json_type_array) || !json_object_array_length(errs))
		return;
	e = json_object_array_get_idx(errs, 0);
	out->error_code = jtext(e, "code");
	detail = jstr(e, "detail");
	title = jstr(e, "title");
	if (title && detail && strcmp(title, detail) != 0)
		out->error_message = pca_asprintf("%s: %s", title, detail);
	else
		out->error_message = dup_or_null(detail ? detail : title);
}

/* ---- sns (XML) ---- */

static const char *
find_bytes(const char *s, size_t len, const char *needle, size_t nlen)
{
	return memmem(s, len, needle, nlen);
}

static int
digit_value(char c, int base)
{
	if (base == 16)
		return pca_hex_value((unsigned char)c);
	return c >= '0' && c <= '9' ? c - '0' : -1;
}

/* "#65;" or "#x41;" at s: the code point and the length, or 0. */
static size_t
xml_charref(const char *s, size_t len, uint32_t *cp)
{
	int base = len > 1 && s[1] == 'x' ? 16 : 10, d;
	size_t i = base == 16 ? 2 : 1, first = i;
	uint32_t v = 0;

	if (!len || s[0] != '#')
		return 0;
	for (; i < len && (d = digit_value(s[i], base)) >= 0; i++) {
		v = v * (uint32_t)base + (uint32_t)d;
		if (v > 0x10ffff)
			return 0;
	}
	if (i == first || i >= len || s[i] != ';' || v == 0 || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return i + 1;
}

/* One entity or character reference at s (after the '&'); 0 when none. */
static size_t
xml_entity(const char *s, size_t len, struct pca_buf *out)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' },
		{ "apos;", '\'' },
	};
	char enc[4];
	uint32_t cp;
	size_t n;

	for (size_t i = 0; i < sizeof ents / sizeof *ents; i++) {
		n = strlen(ents[i].name);
		if (len >= n && memcmp(s, ents[i].name, n) == 0) {
			pca_buf_addc(out, ents[i].c);
			return n;
		}
	}
	if (!(n = xml_charref(s, len, &cp)))
		return 0;
	pca_buf_add(out, enc, pca_utf8_put(enc, cp));
	return n;
}

static char *
xml_unescape(const char *s, size_t len)
{
	struct pca_buf b = PCA_BUF_INIT;

	for (size_t i = 0; i < len; i++) {
		size_t n;

		if (s[i] == '&' && (n = xml_entity(s + i + 1, len - i - 1, &b))) {
			i += n;
			continue;
		}
		pca_buf_addc(&b, s[i]);
	}
	return pca_buf_detach(&b, NULL);
}

/* The text of the first element named `tag`, entities resolved; NULL when
 * there is none. Enough for the flat answers of AWS's query APIs. */
static char *
xml_text(const char *body, size_t len, const char *tag)
{
	size_t tlen = strlen(tag), off = 0, at, clen;
	const char *open, *gt, *close;
	char *want;

	while ((open = find_bytes(body + off, len - off, "<", 1))) {
		at = (size_t)(open - body);
		off = at + 1;
		if (len - at < tlen + 2 || memcmp(open + 1, tag, tlen) != 0 ||
		    !strchr("> \t\r\n/", open[1 + tlen]))
			continue;
		if (!(gt = memchr(open + 1 + tlen, '>', len - at - 1 - tlen)))
			return NULL;
		if (gt[-1] == '/')
			return pca_strdup("");
		gt++;
		want = pca_asprintf("</%s>", tag);
		clen = strlen(want);
		close = find_bytes(gt, len - (size_t)(gt - body), want, clen);
		free(want);
		return close ? xml_unescape(gt, (size_t)(close - gt)) : NULL;
	}
	return NULL;
}

static bool
sns_retryable(const char *code)
{
	static const char *const retry[] = { "Throttling", "ThrottlingException", "Throttled",
		"ThrottledException", "ServiceUnavailable", "InternalFailure", "InternalError",
		"RequestTimeout", NULL };

	for (size_t i = 0; retry[i]; i++)
		if (strcmp(code, retry[i]) == 0)
			return true;
	return false;
}

/* Returns false when the answer is no SNS answer at all. */
static bool
sns_reply(long st, const char *body, size_t len, struct pca_sms_reply *out)
{
	char *id = xml_text(body, len, "MessageId"), *code = xml_text(body, len, "Code");

	if (is_2xx(st) && id && !code) {
		if (*id)
			out->message_id = id;
		else
			free(id);
		return true;
	}
	free(id);
	if (!code)
		return false;
	out->error_code = code;
	out->error_message = xml_text(body, len, "Message");
	if (sns_retryable(code) || by_status(st) == PCA_SMS_RETRY)
		out->verdict = PCA_SMS_RETRY;
	else
		out->verdict = PCA_SMS_REJECTED;
	return true;
}

/* ---- generic http ---- */

static bool
all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Follow "messages.0.id": object members by name, array items by number. */
static json_object *
json_path(json_object *o, const char *path)
{
	const char *s = path;

	while (o && *s) {
		size_t n = strcspn(s, ".");
		char *part = pca_strndup(s, n);

		if (json_object_is_type(o, json_type_array) && all_digits(part)) {
			unsigned long i = strtoul(part, NULL, 10);

			if (i < json_object_array_length(o))
				o = json_object_array_get_idx(o, i);
			else
				o = NULL;
		} else {
			o = jget(o, part);
		}
		free(part);
		s += n;
		if (*s == '.')
			s++;
	}
	return o;
}

static char *
scalar_text(json_object *v)
{
	if (!v)
		return NULL;
	if (json_object_is_type(v, json_type_string))
		return pca_strdup(json_object_get_string(v));
	if (json_object_is_type(v, json_type_int))
		return pca_asprintf("%" PRId64, json_object_get_int64(v));
	return NULL;
}

static void
http_reply(const struct pca_sms_provider *p, long st, const char *body, size_t len,
	struct pca_sms_reply *out)
{
	json_object *o;

	quote_answer(st, body, len, out);
	if (out->verdict != PCA_SMS_ACCEPTED || !p->message_id_path || !*p->message_id_path)
		return;
	if ((o = parse_json(body, len))) {
		out->message_id = scalar_text(json_path(o, p->message_id_path));
		json_object_put(o);
	}
}

/* ---- dispatch ---- */

static void
json_reply(const struct pca_sms_provider *p, long st, json_object *o, struct pca_sms_reply *out)
{
	switch (p->kind) {
	case PCA_SMS_TWILIO: twilio_reply(st, o, out); break;
	case PCA_SMS_VONAGE: vonage_reply(st, o, out); break;
	case PCA_SMS_TELNYX: telnyx_reply(st, o, out); break;
	default: break;
	}
}

void
pca_sms_reply_parse(const struct pca_sms_provider *p, long http_status, const char *body,
	size_t len, struct pca_sms_reply *out)
{
	json_object *o;

	memset(out, 0, sizeof *out);
	out->verdict = by_status(http_status);
	if (!body)
		len = 0;
	if (p->kind == PCA_SMS_HTTP) {
		http_reply(p, http_status, body, len, out);
		return;
	}
	if (p->kind == PCA_SMS_SNS) {
		sns_reply(http_status, body, len, out);
		quote_answer(http_status, body, len, out);
		return;
	}
	o = parse_json(body, len);
	if (o && json_object_is_type(o, json_type_object))
		json_reply(p, http_status, o, out);
	json_object_put(o);
	quote_answer(http_status, body, len, out);
}

void
pca_sms_reply_free(struct pca_sms_reply *r)
{
	if (!r)
		return;
	free(r->message_id);
	free(r->status);
	free(r->price);
	free(r->error_code);
	free(r->error_message);
	free(r->more_info);
	memset(r, 0, sizeof *r);
}
