#include "render.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "alloc.h"
#include "hex.h"
#include "contacts.h"
#include "embedded.h"
#include "mime.h"
#include "phone.h"
#include "template.h"
#include "timeutil.h"
#include "utf8.h"

enum { T_SMS, T_SUBJECT, T_TEXT, T_HTML, T_COUNT };

static const char *const builtin_names[T_COUNT] = { "sms.mustache", "email-subject.mustache",
	"email-text.mustache", "email-html.mustache" };

struct pca_renderer {
	const struct pca_config *cfg;
	/* The configuration's templates, or the built-in ones. */
	struct pca_template *base[T_COUNT];
	bool base_owned[T_COUNT];
	struct pca_template *action[PCA_MAX_ACTIONS][T_COUNT]; /* owned when != base */
};

static struct pca_template *
compile_file(const char *path, struct pca_err *err)
{
	struct pca_buf src = PCA_BUF_INIT;
	struct pca_template *t = NULL;

	if (pca_buf_read_file(&src, path, err) == 0)
		t = pca_template_compile(src.data, src.len, path, err);
	pca_buf_free(&src);
	return t;
}

static const char *
override_path(const struct pca_template_paths *p, int kind)
{
	switch (kind) {
	case T_SMS: return p->sms;
	case T_SUBJECT: return p->email_subject;
	case T_TEXT: return p->email_text;
	default: return p->email_html;
	}
}

static int
load_action_templates(struct pca_renderer *r, size_t i, struct pca_err *err)
{
	const struct pca_action *a = &r->cfg->actions[i];
	const char *path;

	for (int k = 0; k < T_COUNT; k++) {
		path = override_path(&a->templates, k);
		r->action[i][k] = path ? compile_file(path, err) : r->base[k];
		if (!r->action[i][k])
			return -1;
	}
	return 0;
}

static struct pca_template *
load_base(struct pca_renderer *r, int k, struct pca_err *err)
{
	const char *path = override_path(&r->cfg->templates, k);
	const struct pca_embedded *f;

	r->base_owned[k] = path != NULL;
	if (path)
		return compile_file(path, err);
	f = pca_embedded_find(builtin_names[k]);
	return pca_template_compile(f->data, f->len, builtin_names[k], err);
}

struct pca_renderer *
pca_renderer_new(const struct pca_config *cfg, struct pca_err *err)
{
	struct pca_renderer *r = pca_calloc(1, sizeof *r);

	r->cfg = cfg;
	for (int k = 0; k < T_COUNT; k++)
		if (!(r->base[k] = load_base(r, k, err)))
			goto fail;
	for (size_t i = 0; i < cfg->nactions; i++)
		if (load_action_templates(r, i, err) < 0)
			goto fail;
	return r;
fail:
	pca_renderer_free(r);
	return NULL;
}

void
pca_renderer_free(struct pca_renderer *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < PCA_MAX_ACTIONS; i++)
		for (int k = 0; k < T_COUNT; k++)
			if (r->action[i][k] && r->action[i][k] != r->base[k])
				pca_template_free(r->action[i][k]);
	for (int k = 0; k < T_COUNT; k++)
		pca_template_free(r->base[k]);
	free(r);
}

static struct pca_template *
template_for(struct pca_renderer *r, const struct pca_action *a, int kind)
{
	size_t i = (size_t)(a - r->cfg->actions);

	return i < r->cfg->nactions ? r->action[i][kind] : r->base[kind];
}

const char *
pca_render_contact_name(const struct pca_renderer *r, const struct pca_call *call)
{
	if (call->contact_name && *call->contact_name)
		return call->contact_name;
	if (call->caller_number && r->cfg->contacts)
		return pca_contacts_lookup(r->cfg->contacts, call->caller_number);
	return NULL;
}

/* ---- the template view: the record plus what people read ---- */

static const struct label { const char *key, *label, *headline; } status_labels[] = {
	{ "completed", "Completed", "Call" },
	{ "failed", "Failed", "Failed call" },
	{ "busy", "Busy", "Busy call" },
	{ "no_answer", "No answer", "Missed call" },
	{ "canceled", "Canceled", "Canceled call" },
	{ "voicemail", "Voicemail", "Voicemail" },
	{ "transferred", "Transferred", "Transferred call" },
};

static const struct pair { const char *key, *label; } end_reasons[] = {
	{ "caller_hangup", "the caller hung up" },
	{ "agent_hangup", "the agent ended the call" },
	{ "transfer", "transferred" },
	{ "max_duration", "time limit reached" },
	{ "silence_timeout", "silence" },
	{ "error", "an error" },
}, phone_types[] = {
	{ "mobile", "Mobile" }, { "landline", "Landline" }, { "voip", "VoIP" },
	{ "toll_free", "Toll-free" }, { "unknown", "Unknown" },
};

static const char *
lookup(const struct pair *t, size_t n, const char *key)
{
	for (size_t i = 0; key && i < n; i++)
		if (strcmp(t[i].key, key) == 0)
			return t[i].label;
	return NULL;
}

static void
put_str(json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, json_object_new_string(s));
}

static void
put_buf(json_object *o, const char *key, const struct pca_buf *b)
{
	json_object_object_add(o, key, json_object_new_string_len(b->data ? b->data : "",
	    (int)b->len));
}

/* A new object holding the same members (shared references). */
static json_object *
shallow_copy(json_object *src)
{
	json_object *o = json_object_new_object();

	if (!src)
		return o;
	json_object_object_foreach(src, k, v)
		json_object_object_add(o, k, json_object_get(v));
	return o;
}

static void
number_display(struct pca_buf *out, const char *e164)
{
	if (e164)
		pca_phone_format(out, e164);
	else
		pca_buf_adds(out, "withheld");
}

static json_object *
view_caller(const struct pca_renderer *r, const struct pca_call *call)
{
	json_object *c = shallow_copy(call->caller);
	const char *name = pca_render_contact_name(r, call), *type;
	struct pca_buf num = PCA_BUF_INIT, disp = PCA_BUF_INIT;

	number_display(&num, call->caller_number);
	if (name) {
		put_str(c, "contact_name", name);
		pca_buf_addf(&disp, "%s (%s)", name, call->caller_number ? num.data : "withheld number");
	} else if (call->caller_number) {
		pca_buf_add(&disp, num.data, num.len);
	} else {
		pca_buf_adds(&disp, call->withheld ? "a withheld number" : "an unknown caller");
	}
	put_buf(c, "number_display", &num);
	put_buf(c, "display", &disp);
	type = lookup(phone_types, sizeof phone_types / sizeof *phone_types, call->phone_type);
	put_str(c, "phone_type_label", type ? type : "Unknown");
	pca_buf_free(&num);
	pca_buf_free(&disp);
	return c;
}

static json_object *
view_agent(const struct pca_call *call, json_object *rec_agent)
{
	json_object *a = shallow_copy(rec_agent);
	struct pca_buf num = PCA_BUF_INIT, disp = PCA_BUF_INIT;

	pca_phone_format(&num, call->agent_number);
	if (call->agent_name && *call->agent_name)
		pca_buf_addf(&disp, "%s (%s)", call->agent_name, num.data);
	else
		pca_buf_add(&disp, num.data, num.len);
	put_buf(a, "number_display", &num);
	put_buf(a, "display", &disp);
	pca_buf_free(&num);
	pca_buf_free(&disp);
	return a;
}

static const struct label *
status_label(const char *status)
{
	for (size_t i = 0; i < sizeof status_labels / sizeof *status_labels; i++)
		if (strcmp(status_labels[i].key, status) == 0)
			return &status_labels[i];
	return &status_labels[0];
}

static json_object *
view_call(const struct pca_call *call, const char *caller_display)
{
	json_object *c = json_object_new_object();
	const struct label *st = status_label(call->status);
	const char *reason = lookup(end_reasons, sizeof end_reasons / sizeof *end_reasons,
	    call->end_reason);
	struct pca_buf b = PCA_BUF_INIT;
	struct pca_local_time lt;

	put_str(c, "status_label", st->label);
	put_str(c, "headline", st->headline);
	pca_buf_addf(&b, "%s %s %s", st->headline, strcmp(call->direction, "outbound") == 0 ?
	    "to" : "from", caller_display);
	put_buf(c, "title", &b);
	put_str(c, "direction_label", strcmp(call->direction, "outbound") == 0 ? "Outbound" :
	    "Inbound");
	if (reason || call->end_reason)
		put_str(c, "end_reason_label", reason ? reason : call->end_reason);
	pca_buf_reset(&b);
	pca_duration_format(&b, call->duration_ms);
	put_buf(c, "duration", &b);
	json_object_object_add(c, "answered", json_object_new_boolean(call->answered_ms >= 0));
	pca_time_local(call->started_ms, &lt);
	pca_buf_reset(&b);
	pca_buf_addf(&b, "%s %s %s", lt.date, lt.time, lt.zone);
	put_buf(c, "started", &b);
	put_str(c, "started_date", lt.date);
	put_str(c, "started_time", lt.time);
	put_str(c, "timezone", lt.zone);
	pca_buf_free(&b);
	return c;
}

static json_object *
view_recording(const struct pca_call *call, int64_t now_ms)
{
	json_object *rec = shallow_copy(call->recording);
	struct pca_buf b = PCA_BUF_INIT;
	struct pca_local_time lt;
	bool expired = now_ms >= call->recording_expires_ms;

	pca_time_format(&b, call->recording_expires_ms);
	put_buf(rec, "expires_at", &b);
	pca_time_local(call->recording_expires_ms, &lt);
	put_str(rec, "expires_date", lt.day);
	json_object_object_add(rec, "expired", json_object_new_boolean(expired));
	json_object_object_add(rec, "available", json_object_new_boolean(!expired));
	pca_buf_free(&b);
	return rec;
}

static const char *
speaker(const char *role, const struct pca_call *call, const char *contact)
{
	if (strcmp(role, "agent") == 0)
		return call->agent_name && *call->agent_name ? call->agent_name : "Agent";
	if (strcmp(role, "caller") == 0)
		return contact ? contact : "Caller";
	return strcmp(role, "system") == 0 ? "System" : "Tool";
}

static json_object *
view_transcript(const struct pca_call *call, const char *contact)
{
	size_t n = json_object_array_length(call->transcript);
	json_object *arr = json_object_new_array_ext((int)n), *turn, *src, *v;
	struct pca_buf at = PCA_BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		src = json_object_array_get_idx(call->transcript, i);
		turn = shallow_copy(src);
		put_str(turn, "speaker", speaker(pca_json_str(src, "role"), call, contact));
		json_object_object_get_ex(src, "start_ms", &v);
		pca_buf_reset(&at);
		pca_offset_format(&at, json_object_get_int64(v));
		put_buf(turn, "at", &at);
		json_object_array_add(arr, turn);
	}
	pca_buf_free(&at);
	return arr;
}

/* The view shares the record's values; the record itself is not changed. */
static json_object *
build_view(struct pca_renderer *r, const struct pca_call *call, int64_t now_ms, bool transcript)
{
	json_object *view = shallow_copy(call->obj), *caller, *agent = NULL;
	const char *contact = pca_render_contact_name(r, call), *display;

	caller = view_caller(r, call);
	json_object_object_add(view, "caller", caller);
	json_object_object_get_ex(call->obj, "agent", &agent);
	json_object_object_add(view, "agent", view_agent(call, agent));
	display = pca_json_str(caller, "display");
	json_object_object_add(view, "call", view_call(call, display));
	if (call->recording)
		json_object_object_add(view, "recording", view_recording(call, now_ms));
	json_object_object_add(view, "has_transcript", json_object_new_boolean(
	    call->transcript && json_object_array_length(call->transcript) > 0));
	if (transcript && call->transcript)
		json_object_object_add(view, "transcript", view_transcript(call, contact));
	return view;
}

/* ---- SMS ---- */

static void
trim_end(struct pca_buf *b)
{
	while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r' ||
	    b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'))
		b->data[--b->len] = '\0';
}

struct sms_fit {
	struct pca_renderer *r;
	struct pca_template *t;
	json_object *view;
	size_t max_segments;
	struct pca_buf text;
	struct pca_sms_count count;
};

static int
render_text(struct sms_fit *f, struct pca_err *err)
{
	pca_buf_reset(&f->text);
	if (pca_template_render(f->t, f->view, PCA_ESCAPE_NONE, NULL, NULL, &f->text, err) < 0)
		return -1;
	trim_end(&f->text);
	return pca_sms_count(f->text.data ? f->text.data : "", f->text.len, &f->count, err);
}

/* Render with the summary cut to s[0..cut) and an ellipsis: "..." keeps a
 * GSM-7 text in GSM-7, U+2026 costs one unit where the text is UCS-2 anyway.
 * Returns 1 when it fits. */
static int
try_cut(struct sms_fit *f, const char *s, size_t cut, struct pca_err *err)
{
	struct pca_buf b = PCA_BUF_INIT;
	int rc;

	while (cut > 0 && (s[cut - 1] == ' ' || s[cut - 1] == '\n' || s[cut - 1] == '\t'))
		cut--;
	pca_buf_add(&b, s, cut);
	pca_buf_adds(&b, "...");
	json_object_object_add(f->view, "summary", json_object_new_string_len(b.data, (int)b.len));
	rc = render_text(f, err);
	if (rc == 0 && f->count.encoding == PCA_SMS_UCS2) {
		pca_buf_truncate(&b, cut);
		pca_buf_adds(&b, "\xe2\x80\xa6");
		json_object_object_add(f->view, "summary", json_object_new_string_len(b.data,
		    (int)b.len));
		rc = render_text(f, err);
	}
	pca_buf_free(&b);
	return rc < 0 ? -1 : f->count.segments <= f->max_segments;
}

/* Grapheme cluster boundaries of s, so a cut never splits a character. */
static size_t *
boundaries(const char *s, size_t len, size_t *n)
{
	size_t *b = pca_malloc((len + 1) * sizeof *b), k = 0;

	b[k++] = 0;
	for (size_t pos = 0; pos < len;)
		b[k++] = pos = pca_utf8_grapheme_end(s, len, pos);
	*n = k;
	return b;
}

/* The longest prefix (in clusters) that fits, by bisection; then back to
 * the last word boundary inside it, when there is one. */
static int
fit_summary(struct sms_fit *f, const char *s, size_t len, struct pca_err *err)
{
	size_t nb, lo = 0, hi, mid, cut;
	size_t *b = boundaries(s, len, &nb);
	int rc = try_cut(f, s, 0, err);

	if (rc <= 0) {
		free(b);
		return rc;
	}
	hi = nb - 1;
	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		if ((rc = try_cut(f, s, b[mid], err)) < 0)
			break;
		if (rc)
			lo = mid;
		else
			hi = mid - 1;
	}
	cut = b[lo];
	free(b);
	if (rc < 0)
		return -1;
	for (size_t i = cut; i > 0 && cut < len; i--) {
		if (s[i - 1] == ' ' || s[i - 1] == '\n' || s[i - 1] == '\t') {
			cut = i - 1;
			break;
		}
	}
	return try_cut(f, s, cut, err);
}

/* When even an empty summary does not fit (a huge name, a template without
 * a summary), cut the whole text instead. */
static int
fit_whole(struct sms_fit *f, struct pca_err *err)
{
	struct pca_buf full = PCA_BUF_INIT, cand = PCA_BUF_INIT;
	size_t nb, lo = 0, hi, mid, *b;
	int rc = 0;

	pca_buf_add(&full, f->text.data, f->text.len);
	b = boundaries(full.data, full.len, &nb);
	hi = nb - 1;
	while (lo < hi && rc == 0) {
		mid = lo + (hi - lo + 1) / 2;
		pca_buf_reset(&cand);
		pca_buf_add(&cand, full.data, b[mid]);
		pca_buf_adds(&cand, pca_sms_is_gsm7(full.data, b[mid]) ? "..." : "\xe2\x80\xa6");
		rc = pca_sms_count(cand.data, cand.len, &f->count, err);
		if (rc == 0 && f->count.segments <= f->max_segments)
			lo = mid;
		else
			hi = mid - 1;
	}
	pca_buf_reset(&f->text);
	pca_buf_add(&f->text, full.data, b[lo]);
	pca_buf_adds(&f->text, pca_sms_is_gsm7(full.data, b[lo]) ? "..." : "\xe2\x80\xa6");
	if (rc == 0)
		rc = pca_sms_count(f->text.data, f->text.len, &f->count, err);
	free(b);
	pca_buf_free(&full);
	pca_buf_free(&cand);
	return rc;
}

int
pca_render_sms(struct pca_renderer *r, const struct pca_action *a, const struct pca_call *call,
	int64_t now_ms, struct pca_sms_text *out, struct pca_err *err)
{
	struct sms_fit f = { r, template_for(r, a, T_SMS), NULL, a->max_segments ? a->max_segments :
	    2, PCA_BUF_INIT, { 0 } };
	int rc;

	memset(out, 0, sizeof *out);
	f.view = build_view(r, call, now_ms, false);
	rc = render_text(&f, err);
	if (rc == 0 && f.count.segments > f.max_segments) {
		out->truncated = true;
		rc = call->summary && *call->summary ?
		    fit_summary(&f, call->summary, strlen(call->summary), err) : 0;
		if (rc == 0)
			rc = fit_whole(&f, err);
		else if (rc > 0)
			rc = 0;
	}
	json_object_put(f.view);
	if (rc < 0) {
		pca_buf_free(&f.text);
		return -1;
	}
	out->text = f.text;
	out->count = f.count;
	out->recipients = a->nto;
	out->credits = (double)(f.count.segments * a->nto) * r->cfg->credits.sms_segment;
	return 0;
}

void
pca_sms_text_free(struct pca_sms_text *t)
{
	pca_buf_free(&t->text);
}

/* ---- email ---- */

static void
sha256_hex(const char *a, const char *b, char *hex, size_t nhex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, a, strlen(a));
	EVP_DigestUpdate(ctx, "\n", 1);
	EVP_DigestUpdate(ctx, b, strlen(b));
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	pca_hex_write(hex, md, mdlen < (nhex - 1) / 2 ? mdlen : (nhex - 1) / 2);
}

static bool
is_atext(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    strchr("!#$%&'*+-/=?^_`{|}~", *s)))
			return false;
	return true;
}

/* Stable per call and action, so a message sent twice (a retry after a
 * crash) is recognisable as the same message. */
static char *
message_id(const struct pca_call *call, const struct pca_action *a, const char *from_addr)
{
	const char *domain = strrchr(from_addr, '@');
	char hex[33];

	domain = domain && domain[1] ? domain + 1 : "localhost";
	if (is_atext(call->call_id))
		return pca_asprintf("<pca.%s.%s@%s>", a->id, call->call_id, domain);
	sha256_hex(call->call_id, a->id, hex, sizeof hex);
	return pca_asprintf("<pca.%s.%s@%s>", a->id, hex, domain);
}

static void
mailbox_header(struct pca_buf *out, const char *name, char *const *list, size_t n)
{
	struct pca_mailbox *mbs;
	struct pca_err err = PCA_ERR_INIT;

	if (!n)
		return;
	mbs = pca_calloc(n, sizeof *mbs);
	for (size_t i = 0; i < n; i++)
		pca_mailbox_parse(list[i], &mbs[i], &err); /* checked when the config loaded */
	pca_mime_header_mailboxes(out, name, mbs, n);
	for (size_t i = 0; i < n; i++)
		pca_mailbox_free(&mbs[i]);
	free(mbs);
	pca_err_clear(&err);
}

static void
add_part(struct pca_buf *msg, const char *boundary, const char *type, const struct pca_buf *body)
{
	pca_buf_addf(msg, "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, type);
	pca_mime_qp_encode(msg, body->data ? body->data : "", body->len);
	if (msg->len < 2 || memcmp(msg->data + msg->len - 2, "\r\n", 2) != 0)
		pca_buf_adds(msg, "\r\n");
}

static void
email_headers(struct pca_buf *m, const struct pca_action *a, const struct pca_call *call,
	int64_t now_ms, const struct pca_buf *subject, const char *msgid)
{
	pca_buf_adds(m, "Date: ");
	pca_mime_date(m, now_ms / 1000);
	pca_buf_adds(m, "\r\n");
	mailbox_header(m, "From", &a->from, 1);
	mailbox_header(m, "To", a->to, a->nto);
	mailbox_header(m, "Cc", a->cc, a->ncc);
	if (a->reply_to)
		mailbox_header(m, "Reply-To", &a->reply_to, 1);
	pca_mime_header_text(m, "Subject", subject->data ? subject->data : "", subject->len);
	pca_mime_header_raw(m, "Message-ID", msgid);
	if (a->list_id)
		pca_mime_header_raw(m, "List-Id", a->list_id);
	pca_mime_header_raw(m, "Auto-Submitted", "auto-generated");
	pca_mime_header_raw(m, "X-PCA-Call-ID", call->call_id);
	pca_mime_header_raw(m, "MIME-Version", "1.0");
}

static int
render_parts(struct pca_renderer *r, const struct pca_action *a, json_object *view,
	struct pca_buf *subject, struct pca_buf *text, struct pca_buf *html, struct pca_err *err)
{
	if (pca_template_render(template_for(r, a, T_SUBJECT), view, PCA_ESCAPE_HEADER, NULL, NULL,
	    subject, err) < 0 ||
	    pca_template_render(template_for(r, a, T_TEXT), view, PCA_ESCAPE_NONE, NULL, NULL, text,
	    err) < 0 ||
	    pca_template_render(template_for(r, a, T_HTML), view, PCA_ESCAPE_HTML, NULL, NULL, html,
	    err) < 0)
		return -1;
	/* A subject template file ends in a newline; a subject is one line. */
	trim_end(subject);
	for (size_t i = 0; i < subject->len; i++)
		if (subject->data[i] == '\r' || subject->data[i] == '\n' || subject->data[i] == '\0')
			subject->data[i] = ' ';
	return 0;
}

int
pca_render_email(struct pca_renderer *r, const struct pca_action *a, const struct pca_call *call,
	int64_t now_ms, struct pca_email *out, struct pca_err *err)
{
	struct pca_buf text = PCA_BUF_INIT, html = PCA_BUF_INIT;
	struct pca_mailbox from = { 0 };
	json_object *view = build_view(r, call, now_ms, true);
	char boundary[48], hex[17];
	int rc;

	memset(out, 0, sizeof *out);
	rc = render_parts(r, a, view, &out->subject, &text, &html, err);
	json_object_put(view);
	if (rc == 0 && pca_mailbox_parse(a->from, &from, err) < 0)
		rc = -1;
	if (rc < 0) {
		pca_email_free(out);
		pca_buf_free(&text);
		pca_buf_free(&html);
		return -1;
	}
	out->message_id = message_id(call, a, from.addr);
	email_headers(&out->message, a, call, now_ms, &out->subject, out->message_id);
	/* "=_" cannot occur in quoted-printable text, so the boundary never
	 * collides with a body line; it is derived, so output is reproducible. */
	sha256_hex(call->call_id, a->id, hex, sizeof hex);
	snprintf(boundary, sizeof boundary, "=_pca_%s", hex);
	pca_buf_addf(&out->message, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n",
	    boundary);
	add_part(&out->message, boundary, "text/plain", &text);
	add_part(&out->message, boundary, "text/html", &html);
	pca_buf_addf(&out->message, "--%s--\r\n", boundary);
	out->recipients = a->nto + a->ncc + a->nbcc;
	out->credits = (double)out->recipients * r->cfg->credits.email_recipient;
	pca_mailbox_free(&from);
	pca_buf_free(&text);
	pca_buf_free(&html);
	return 0;
}

void
pca_email_free(struct pca_email *e)
{
	pca_buf_free(&e->message);
	pca_buf_free(&e->subject);
	free(e->message_id);
	memset(e, 0, sizeof *e);
}

/* ---- webhook ---- */

void
pca_webhook_id(struct pca_buf *out, const char *call_id, const char *action_id)
{
	pca_buf_addf(out, "pca:%s:%s", action_id, call_id);
}

/* The record's value for key, enriched where the webhook adds facts. */
static void
write_member(struct pca_renderer *r, const struct pca_call *call, const char *key,
	json_object *v, struct pca_buf *body)
{
	const char *contact;
	json_object *copy;
	struct pca_buf exp = PCA_BUF_INIT;

	if (strcmp(key, "caller") == 0 && !(call->contact_name && *call->contact_name) &&
	    (contact = pca_render_contact_name(r, call))) {
		copy = shallow_copy(v);
		put_str(copy, "contact_name", contact);
		pca_json_write(body, copy);
		json_object_put(copy);
	} else if (strcmp(key, "recording") == 0 && !call->recording_expires_given) {
		copy = shallow_copy(v);
		pca_time_format(&exp, call->recording_expires_ms);
		put_buf(copy, "expires_at", &exp);
		pca_json_write(body, copy);
		json_object_put(copy);
		pca_buf_free(&exp);
	} else {
		pca_json_write(body, v);
	}
}

static bool
needs_enrichment(const struct pca_renderer *r, const struct pca_call *call)
{
	if (call->recording && !call->recording_expires_given)
		return true;
	return call->caller && !(call->contact_name && *call->contact_name) &&
	    pca_render_contact_name(r, call);
}

void
pca_render_webhook(struct pca_renderer *r, const struct pca_call *call, struct pca_buf *body)
{
	bool first = true;

	pca_buf_adds(body, "{\"type\":\"call.ended\",\"timestamp\":\"");
	pca_time_format(body, call->ended_ms);
	/* When the webhook adds nothing, data is the record's own bytes: exact,
	 * and no work. */
	if (call->raw && !needs_enrichment(r, call)) {
		pca_buf_adds(body, "\",\"data\":");
		pca_buf_add(body, call->raw, call->raw_len);
		pca_buf_addc(body, '}');
		return;
	}
	pca_buf_adds(body, "\",\"data\":{");
	json_object_object_foreach(call->obj, key, val) {
		if (!first)
			pca_buf_addc(body, ',');
		first = false;
		pca_json_write_string(body, key, strlen(key));
		pca_buf_addc(body, ':');
		write_member(r, call, key, val, body);
	}
	pca_buf_adds(body, "}}");
}
