#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "embedded.h"
#include "http.h"
#include "mime.h"
#include "phone.h"
#include "timeutil.h"
#include "yamltree.h"

struct loader {
	struct pca_ydoc *doc;
	struct pca_config *cfg;
	struct pca_err *err;
	struct pca_ynode *inline_secret; /* first inline secret, for the permission check */
};

static const char *const top_keys[] = { "timezone", "region", "contacts", "credits", "templates",
	"actions", "spool", "allow_networks", "allow_http", "cacert", NULL };
static const char *const template_keys[] = { "sms", "email_subject", "email_text",
	"email_html", NULL };
static const char *const credit_keys[] = { "sms_segment", "email_recipient", NULL };
static const char *const when_keys[] = { "status", "direction", "min_duration", "contact", NULL };
static const char *const sms_keys[] = { "id", "type", "when", "templates", "to", "from",
	"max_segments", "rate", "timeout", "provider", "status_callback", "twilio", "vonage",
	"telnyx", "sns", "http", NULL };
static const char *const email_keys[] = { "id", "type", "when", "templates", "to", "cc", "bcc",
	"from", "reply_to", "list_id", "envelope_from", "timeout", "smtp", "sendmail", NULL };
static const char *const smtp_keys[] = { "url", "tls", "user", "password", "password_file",
	"password_env", "oauth2_token", "oauth2_token_file", "oauth2_token_env", "cacert", NULL };
static const char *const twilio_keys[] = { "account_sid", "api_key", "auth_token",
	"auth_token_file", "auth_token_env", "messaging_service_sid", "base_url", NULL };
static const char *const vonage_keys[] = { "api_key", "api_secret", "api_secret_file",
	"api_secret_env", "base_url", NULL };
static const char *const telnyx_keys[] = { "api_key", "api_key_file", "api_key_env",
	"messaging_profile_id", "base_url", NULL };
static const char *const sns_keys[] = { "region", "access_key_id", "secret_access_key",
	"secret_access_key_file", "secret_access_key_env", "session_token", "session_token_file",
	"session_token_env", "base_url", NULL };
static const char *const http_keys[] = { "url", "method", "headers", "form", "json", "secret",
	"secret_file", "secret_env", "message_id", NULL };
static const char *const webhook_keys[] = { "id", "type", "when", "url", "secret", "secret_file",
	"secret_env", "timeout", NULL };
static const char *const call_statuses[] = { "completed", "failed", "busy", "no_answer",
	"canceled", "voicemail", "transferred", NULL };

const char *
pca_action_type_name(enum pca_action_type t)
{
	return t == PCA_SMS ? "sms" : t == PCA_EMAIL ? "email" : "webhook";
}

static char *
origin_of(struct loader *ld, const struct pca_ynode *n)
{
	return pca_asprintf("%s:%lu:%lu", ld->doc->file, n->line, n->col);
}

/* A path from the configuration, relative to the configuration's folder. */
static char *
resolve_path(struct loader *ld, const char *p)
{
	if (p[0] == '/' || !ld->cfg->dir)
		return pca_strdup(p);
	return pca_asprintf("%s/%s", ld->cfg->dir, p);
}

static int
get_str(struct loader *ld, struct pca_ynode *map, const char *key, char **out)
{
	struct pca_ynode *n = pca_ymap_get(map, key);
	const char *s;

	if (!n)
		return 0;
	if (pca_ynode_str(ld->doc, n, &s, ld->err) < 0)
		return -1;
	free(*out);
	*out = pca_strdup(s);
	return 1;
}

static int
get_readable_path(struct loader *ld, struct pca_ynode *map, const char *key, char **out)
{
	struct pca_ynode *n = pca_ymap_get(map, key);
	const char *s;
	char *path;

	if (!n)
		return 0;
	if (pca_ynode_str(ld->doc, n, &s, ld->err) < 0)
		return -1;
	path = resolve_path(ld, s);
	if (access(path, R_OK) < 0) {
		pca_yerr(ld->doc, n, ld->err, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(*out);
	*out = path;
	return 1;
}

static int
parse_templates(struct loader *ld, struct pca_ynode *n, struct pca_template_paths *t)
{
	if (!n)
		return 0;
	if (pca_ynode_want(ld->doc, n, PCA_YMAP, "a mapping of template names to files",
	    ld->err) < 0 ||
	    get_readable_path(ld, n, "sms", &t->sms) < 0 ||
	    get_readable_path(ld, n, "email_subject", &t->email_subject) < 0 ||
	    get_readable_path(ld, n, "email_text", &t->email_text) < 0 ||
	    get_readable_path(ld, n, "email_html", &t->email_html) < 0)
		return -1;
	return pca_ymap_check_unused(ld->doc, n, template_keys, ld->err);
}

static int
parse_credits(struct loader *ld, struct pca_ynode *n)
{
	struct pca_ynode *v;

	if (!n)
		return 0;
	if (pca_ynode_want(ld->doc, n, PCA_YMAP, "a mapping of credit rates", ld->err) < 0)
		return -1;
	if ((v = pca_ymap_get(n, "sms_segment")) &&
	    pca_ynode_number(ld->doc, v, 0, 1e9, &ld->cfg->credits.sms_segment, ld->err) < 0)
		return -1;
	if ((v = pca_ymap_get(n, "email_recipient")) &&
	    pca_ynode_number(ld->doc, v, 0, 1e9, &ld->cfg->credits.email_recipient, ld->err) < 0)
		return -1;
	return pca_ymap_check_unused(ld->doc, n, credit_keys, ld->err);
}

static char **
dup_list(const char **list, size_t n)
{
	char **out = pca_calloc(n + 1, sizeof *out);

	for (size_t i = 0; i < n; i++)
		out[i] = pca_strdup(list[i]);
	return out;
}

static void
free_list(char **list)
{
	for (size_t i = 0; list && list[i]; i++)
		free(list[i]);
	free(list);
}

static bool
in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static int
parse_when_status(struct loader *ld, struct pca_ynode *n, struct pca_when *w)
{
	const char **list;
	size_t k;

	if (pca_ynode_strlist(ld->doc, n, &list, &k, ld->err) < 0)
		return -1;
	for (size_t i = 0; i < k; i++) {
		if (!in_list(list[i], call_statuses)) {
			struct pca_ynode *at = n->type == PCA_YSEQ ? n->items[i] : n;
			free(list);
			return pca_yerr(ld->doc, at, ld->err, "unknown call status \"%s\" (known: "
			    "completed, failed, busy, no_answer, canceled, voicemail, transferred)",
			    at->value);
		}
	}
	w->status = dup_list(list, k);
	free(list);
	return 0;
}

static int
parse_when(struct loader *ld, struct pca_ynode *n, struct pca_when *w)
{
	struct pca_ynode *v;
	struct pca_err derr = PCA_ERR_INIT;
	const char *s;

	w->min_duration_ms = -1;
	w->contact = -1;
	if (!n)
		return 0;
	if (pca_ynode_want(ld->doc, n, PCA_YMAP, "a mapping of conditions", ld->err) < 0)
		return -1;
	if ((v = pca_ymap_get(n, "status")) && parse_when_status(ld, v, w) < 0)
		return -1;
	if ((v = pca_ymap_get(n, "direction"))) {
		if (pca_ynode_str(ld->doc, v, &s, ld->err) < 0)
			return -1;
		if (strcmp(s, "inbound") != 0 && strcmp(s, "outbound") != 0)
			return pca_yerr(ld->doc, v, ld->err, "direction must be inbound or outbound");
		w->direction = pca_strdup(s);
	}
	if ((v = pca_ymap_get(n, "min_duration"))) {
		if (pca_ynode_str(ld->doc, v, &s, ld->err) < 0)
			return -1;
		if (pca_duration_parse(s, &w->min_duration_ms, &derr) < 0) {
			pca_yerr(ld->doc, v, ld->err, "%s", derr.msg);
			pca_err_clear(&derr);
			return -1;
		}
	}
	if ((v = pca_ymap_get(n, "contact"))) {
		if (pca_ynode_str(ld->doc, v, &s, ld->err) < 0)
			return -1;
		if (strcmp(s, "saved") != 0 && strcmp(s, "unsaved") != 0)
			return pca_yerr(ld->doc, v, ld->err, "contact must be saved or unsaved");
		w->contact = strcmp(s, "saved") == 0;
	}
	return pca_ymap_check_unused(ld->doc, n, when_keys, ld->err);
}

bool
pca_when_matches(const struct pca_when *w, const struct pca_call *call, const char *contact_name,
	const char **why)
{
	bool ok = !w->status;

	for (size_t i = 0; w->status && w->status[i]; i++)
		ok = ok || strcmp(w->status[i], call->status) == 0;
	if (!ok)
		return *why = "status", false;
	if (w->direction && strcmp(w->direction, call->direction) != 0)
		return *why = "direction", false;
	if (w->min_duration_ms >= 0 && call->duration_ms < w->min_duration_ms)
		return *why = "min_duration", false;
	if (w->contact >= 0 && (contact_name != NULL) != (w->contact == 1))
		return *why = "contact", false;
	return true;
}

/* Recipients: a value or a list, each checked by `check`. */
static int
parse_recipients(struct loader *ld, struct pca_ynode *map, const char *key, bool required,
	int (*check)(struct loader *, struct pca_ynode *, const char *), char ***out, size_t *n)
{
	struct pca_ynode *v = pca_ymap_get(map, key);
	const char **list;

	*n = 0;
	if (!v) {
		if (required)
			return pca_yerr(ld->doc, map, ld->err, "\"%s\" is missing: at least one "
			    "recipient is needed", key);
		return 0;
	}
	if (pca_ynode_strlist(ld->doc, v, &list, n, ld->err) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		if (check(ld, v->type == PCA_YSEQ ? v->items[i] : v, list[i]) < 0) {
			free(list);
			return -1;
		}
	}
	if (*n == 0 && required) {
		free(list);
		return pca_yerr(ld->doc, v, ld->err, "\"%s\" is empty: at least one recipient is "
		    "needed", key);
	}
	*out = dup_list(list, *n);
	free(list);
	return 0;
}

/* The address a recipient names, for telling recipients apart: a mailbox's
 * addr-spec in lower case, or the number itself. */
static char *
recipient_id(const char *r)
{
	struct pca_mailbox mb = { 0 };
	struct pca_err e = PCA_ERR_INIT;
	char *id;

	if (r[0] == '+' || pca_mailbox_parse(r, &mb, &e) < 0) {
		pca_err_clear(&e);
		return pca_strdup(r);
	}
	id = pca_strdup(mb.addr);
	for (char *p = id; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	pca_mailbox_free(&mb);
	return id;
}

/* A recipient named twice would get the message twice (or, with a spool,
 * share one idempotency key and be reported wrongly). Returns the address
 * named twice (a new string) and in which list, or NULL. */
static char *
duplicate_recipient(const struct pca_action *a, int *list)
{
	char **lists[3] = { a->to, a->cc, a->bcc };
	char **ids = pca_calloc(a->nto + a->ncc + a->nbcc + 1, sizeof *ids), *dup = NULL;
	size_t k = 0;

	for (int l = 0; l < 3 && !dup; l++) {
		for (size_t i = 0; lists[l] && lists[l][i] && !dup; i++) {
			ids[k] = recipient_id(lists[l][i]);
			for (size_t j = 0; j < k && !dup; j++)
				if (strcmp(ids[j], ids[k]) == 0)
					dup = pca_strdup(ids[k]), *list = l;
			k++;
		}
	}
	for (size_t i = 0; i < k; i++)
		free(ids[i]);
	free(ids);
	return dup;
}

static int
check_duplicate_recipients(struct loader *ld, struct pca_ynode *n, const struct pca_action *a)
{
	static const char *const keys[3] = { "to", "cc", "bcc" };
	int list = 0;
	char *dup = duplicate_recipient(a, &list);
	int rc = 0;

	if (dup)
		rc = pca_yerr(ld->doc, pca_ymap_get(n, keys[list]), ld->err,
		    "%s is listed twice among the recipients", dup);
	free(dup);
	return rc;
}

static int
check_e164(struct loader *ld, struct pca_ynode *at, const char *s)
{
	if (pca_phone_is_e164(s))
		return 0;
	return pca_yerr(ld->doc, at, ld->err, "\"%s\" is not an E.164 number (like +14155550123)",
	    s);
}

static int
check_mailbox(struct loader *ld, struct pca_ynode *at, const char *s)
{
	struct pca_mailbox mb = { 0 };
	struct pca_err merr = PCA_ERR_INIT;

	if (pca_mailbox_parse(s, &mb, &merr) == 0) {
		pca_mailbox_free(&mb);
		return 0;
	}
	pca_yerr(ld->doc, at, ld->err, "%s", pca_err_msg(&merr));
	pca_err_clear(&merr);
	return -1;
}

/* A secret as "<name>", "<name>_file" or "<name>_env"; at most one. */
static int
parse_secret(struct loader *ld, struct pca_ynode *map, const char *name, struct pca_secret *s)
{
	char *kfile = pca_asprintf("%s_file", name), *kenv = pca_asprintf("%s_env", name);
	struct pca_ynode *vi = pca_ymap_get(map, name), *vf = pca_ymap_get(map, kfile),
	    *ve = pca_ymap_get(map, kenv), *v = vi ? vi : vf ? vf : ve;
	const char *text;
	int rc = -1;

	if ((vi != NULL) + (vf != NULL) + (ve != NULL) > 1) {
		pca_yerr(ld->doc, v, ld->err, "give only one of %s, %s and %s", name, kfile, kenv);
		goto out;
	}
	rc = 0;
	if (!v)
		goto out;
	rc = -1;
	if (pca_ynode_str(ld->doc, v, &text, ld->err) < 0)
		goto out;
	s->kind = vi ? PCA_SECRET_INLINE : vf ? PCA_SECRET_FILE : PCA_SECRET_ENV;
	s->ref = vf ? resolve_path(ld, text) : pca_strdup(text);
	s->origin = origin_of(ld, v);
	if (vi && !ld->inline_secret)
		ld->inline_secret = vi;
	rc = 0;
out:
	free(kfile);
	free(kenv);
	return rc;
}

static bool
valid_id(const char *s)
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
parse_timeout(struct loader *ld, struct pca_ynode *n, struct pca_action *a, int64_t dflt)
{
	struct pca_ynode *v = pca_ymap_get(n, "timeout");
	struct pca_err derr = PCA_ERR_INIT;
	const char *s;

	a->timeout_ms = dflt;
	if (!v)
		return 0;
	if (pca_ynode_str(ld->doc, v, &s, ld->err) < 0)
		return -1;
	if (pca_duration_parse(s, &a->timeout_ms, &derr) < 0 || a->timeout_ms < 100) {
		pca_yerr(ld->doc, v, ld->err, "%s", derr.msg ? derr.msg : "timeout under 100ms");
		pca_err_clear(&derr);
		return -1;
	}
	return 0;
}

/* A mapping of names to template strings (the generic provider). */
static int
parse_fields(struct loader *ld, struct pca_ynode *n, struct pca_sms_field **out, size_t *count)
{
	const char *v;

	if (pca_ynode_want(ld->doc, n, PCA_YMAP, "a mapping of names to values", ld->err) < 0)
		return -1;
	*out = pca_calloc(n->n ? n->n : 1, sizeof **out);
	for (size_t i = 0; i < n->n; i++) {
		n->used[i] = true;
		if (pca_ynode_str(ld->doc, n->items[2 * i + 1], &v, ld->err) < 0)
			return -1;
		(*out)[i].name = pca_strdup(n->items[2 * i]->value);
		(*out)[i].value = pca_strdup(v);
		*count = i + 1;
	}
	return 0;
}

static int
need_str(struct loader *ld, struct pca_ynode *sec, const char *key, char **out)
{
	int rc = get_str(ld, sec, key, out);

	if (rc == 0)
		return pca_yerr(ld->doc, sec, ld->err, "\"%s\" is missing", key);
	return rc < 0 ? -1 : 0;
}

static int
need_secret(struct loader *ld, struct pca_ynode *sec, const char *name, struct pca_secret *s)
{
	if (parse_secret(ld, sec, name, s) < 0)
		return -1;
	if (s->kind == PCA_SECRET_NONE)
		return pca_yerr(ld->doc, sec, ld->err, "no %s (give %s_file, %s_env or %s)", name, name,
		    name, name);
	return 0;
}

static int
parse_http_provider(struct loader *ld, struct pca_ynode *sec, struct pca_action *a)
{
	struct pca_sms_provider *p = &a->provider;
	struct pca_ynode *form = pca_ymap_get(sec, "form"), *json = pca_ymap_get(sec, "json"), *h;

	if (need_str(ld, sec, "url", &p->url) < 0 || get_str(ld, sec, "method", &p->method) < 0 ||
	    get_str(ld, sec, "message_id", &p->message_id_path) < 0 ||
	    parse_secret(ld, sec, "secret", &a->secret) < 0)
		return -1;
	if (p->method && strcmp(p->method, "POST") != 0 && strcmp(p->method, "PUT") != 0)
		return pca_yerr(ld->doc, pca_ymap_get(sec, "method"), ld->err, "method must be POST "
		    "or PUT");
	if (!!form == !!json)
		return pca_yerr(ld->doc, sec, ld->err, "give the message fields as \"form\" or as "
		    "\"json\" (one of them)");
	p->json = json != NULL;
	if (parse_fields(ld, form ? form : json, &p->fields, &p->nfields) < 0)
		return -1;
	if ((h = pca_ymap_get(sec, "headers")) && parse_fields(ld, h, &p->headers, &p->nheaders) < 0)
		return -1;
	return 0;
}

static int
parse_provider_section(struct loader *ld, struct pca_ynode *sec, struct pca_action *a)
{
	struct pca_sms_provider *p = &a->provider;

	if (pca_ynode_want(ld->doc, sec, PCA_YMAP, "a mapping of provider settings", ld->err) < 0 ||
	    get_str(ld, sec, "base_url", &p->base_url) < 0)
		return -1;
	switch (p->kind) {
	case PCA_SMS_TWILIO:
		if (need_str(ld, sec, "account_sid", &p->account_sid) < 0 ||
		    get_str(ld, sec, "api_key", &p->api_key) < 0 ||
		    get_str(ld, sec, "messaging_service_sid", &p->messaging_service_sid) < 0 ||
		    need_secret(ld, sec, "auth_token", &a->secret) < 0)
			return -1;
		return pca_ymap_check_unused(ld->doc, sec, twilio_keys, ld->err);
	case PCA_SMS_VONAGE:
		if (need_str(ld, sec, "api_key", &p->api_key) < 0 ||
		    need_secret(ld, sec, "api_secret", &a->secret) < 0)
			return -1;
		return pca_ymap_check_unused(ld->doc, sec, vonage_keys, ld->err);
	case PCA_SMS_TELNYX:
		if (need_secret(ld, sec, "api_key", &a->secret) < 0 ||
		    get_str(ld, sec, "messaging_profile_id", &p->messaging_profile_id) < 0)
			return -1;
		return pca_ymap_check_unused(ld->doc, sec, telnyx_keys, ld->err);
	case PCA_SMS_SNS:
		if (need_str(ld, sec, "region", &p->region) < 0 ||
		    need_str(ld, sec, "access_key_id", &p->access_key_id) < 0 ||
		    need_secret(ld, sec, "secret_access_key", &a->secret) < 0 ||
		    parse_secret(ld, sec, "session_token", &a->session_token) < 0)
			return -1;
		return pca_ymap_check_unused(ld->doc, sec, sns_keys, ld->err);
	case PCA_SMS_HTTP:
		if (parse_http_provider(ld, sec, a) < 0)
			return -1;
		return pca_ymap_check_unused(ld->doc, sec, http_keys, ld->err);
	}
	return -1;
}

/* "provider: NAME" and the section of that name; a section alone names
 * its provider. */
static int
parse_provider(struct loader *ld, struct pca_ynode *n, struct pca_action *a)
{
	static const char *const names[] = { "twilio", "vonage", "telnyx", "sns", "http" };
	struct pca_ynode *v = pca_ymap_get(n, "provider"), *sec = NULL, *other;
	const char *name = NULL;
	int kind;

	if (v && pca_ynode_str(ld->doc, v, &name, ld->err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		if (!(other = pca_ymap_get(n, names[i])))
			continue;
		if (sec)
			return pca_yerr(ld->doc, other, ld->err, "settings for both %s and %s: one "
			    "provider per action", name, names[i]);
		if (name && strcmp(name, names[i]) != 0)
			return pca_yerr(ld->doc, other, ld->err, "settings for %s, but the provider is %s",
			    names[i], name);
		sec = other;
		name = names[i];
	}
	if (!name)
		return 0; /* renders, but pca-send-sms will ask for a provider */
	if ((kind = pca_sms_provider_kind(name)) < 0)
		return pca_yerr(ld->doc, v, ld->err, "unknown SMS provider \"%s\" (known: twilio, "
		    "vonage, telnyx, sns, http)", name);
	if (!sec)
		return pca_yerr(ld->doc, v, ld->err, "provider %s needs a \"%s:\" section with its "
		    "settings", name, name);
	a->has_provider = true;
	a->provider.kind = kind;
	return parse_provider_section(ld, sec, a);
}

/* Every provider needs to know who sends, one way or another. */
static const char *
sms_sender_missing(const struct pca_action *a)
{
	const struct pca_sms_provider *p = &a->provider;

	if (!a->has_provider || a->from)
		return NULL;
	if (p->kind == PCA_SMS_TWILIO && !p->messaging_service_sid)
		return "twilio needs a sender: \"from\" (a number or sender id) or "
		    "messaging_service_sid";
	if (p->kind == PCA_SMS_VONAGE)
		return "vonage needs a sender: \"from\"";
	if (p->kind == PCA_SMS_TELNYX && !p->messaging_profile_id)
		return "telnyx needs a sender: \"from\" or messaging_profile_id";
	return NULL;
}

static int
parse_sms(struct loader *ld, struct pca_ynode *n, struct pca_action *a)
{
	struct pca_ynode *v;
	int64_t segs = 2;

	if (parse_recipients(ld, n, "to", true, check_e164, &a->to, &a->nto) < 0 ||
	    get_str(ld, n, "from", &a->from) < 0 || parse_timeout(ld, n, a, 15000) < 0 ||
	    get_str(ld, n, "status_callback", &a->provider.status_callback) < 0)
		return -1;
	if ((v = pca_ymap_get(n, "max_segments")) &&
	    pca_ynode_int(ld->doc, v, 1, 10, &segs, ld->err) < 0)
		return -1;
	a->max_segments = (int)segs;
	if ((v = pca_ymap_get(n, "rate")) &&
	    pca_ynode_number(ld->doc, v, 0, 10000, &a->rate, ld->err) < 0)
		return -1;
	if (parse_provider(ld, n, a) < 0)
		return -1;
	if (sms_sender_missing(a))
		return pca_yerr(ld->doc, n, ld->err, "%s", sms_sender_missing(a));
	if (check_duplicate_recipients(ld, n, a) < 0)
		return -1;
	return pca_ymap_check_unused(ld->doc, n, sms_keys, ld->err);
}

static int
parse_smtp(struct loader *ld, struct pca_ynode *sec, struct pca_action *a)
{
	struct pca_ynode *v;
	const char *tls;

	if (pca_ynode_want(ld->doc, sec, PCA_YMAP, "a mapping of SMTP settings", ld->err) < 0 ||
	    need_str(ld, sec, "url", &a->smtp_url) < 0 ||
	    get_str(ld, sec, "user", &a->smtp_user) < 0 ||
	    parse_secret(ld, sec, "password", &a->smtp_password) < 0 ||
	    parse_secret(ld, sec, "oauth2_token", &a->smtp_oauth2) < 0 ||
	    get_readable_path(ld, sec, "cacert", &a->smtp_cacert) < 0)
		return -1;
	if (strncmp(a->smtp_url, "smtp://", 7) != 0 && strncmp(a->smtp_url, "smtps://", 8) != 0)
		return pca_yerr(ld->doc, pca_ymap_get(sec, "url"), ld->err, "an SMTP url starts with "
		    "smtp:// (STARTTLS) or smtps:// (TLS from the start)");
	a->smtp_tls = PCA_TLS_REQUIRED;
	if ((v = pca_ymap_get(sec, "tls"))) {
		if (pca_ynode_str(ld->doc, v, &tls, ld->err) < 0)
			return -1;
		if (strcmp(tls, "optional") == 0)
			a->smtp_tls = PCA_TLS_OPTIONAL;
		else if (strcmp(tls, "none") == 0)
			a->smtp_tls = PCA_TLS_NONE;
		else if (strcmp(tls, "required") != 0)
			return pca_yerr(ld->doc, v, ld->err, "tls must be required, optional or none");
	}
	if ((a->smtp_password.kind || a->smtp_oauth2.kind) && !a->smtp_user)
		return pca_yerr(ld->doc, sec, ld->err, "a password or token needs a \"user\"");
	if (a->smtp_password.kind && a->smtp_oauth2.kind)
		return pca_yerr(ld->doc, sec, ld->err, "give a password or an oauth2_token, not both");
	return pca_ymap_check_unused(ld->doc, sec, smtp_keys, ld->err);
}

/* SMTP, or a local MTA's sendmail program. */
static int
parse_transport(struct loader *ld, struct pca_ynode *n, struct pca_action *a)
{
	struct pca_ynode *smtp = pca_ymap_get(n, "smtp"), *sm = pca_ymap_get(n, "sendmail");
	bool on;

	if (smtp && sm)
		return pca_yerr(ld->doc, sm, ld->err, "give smtp or sendmail, not both");
	if (smtp)
		return parse_smtp(ld, smtp, a);
	if (!sm)
		return 0;
	if (sm->plain && pca_ynode_bool(ld->doc, sm, &on, NULL) == 0) {
		a->sendmail = on ? pca_strdup("/usr/sbin/sendmail") : NULL;
		return 0;
	}
	return get_str(ld, n, "sendmail", &a->sendmail) < 0 ? -1 : 0;
}

static int
parse_email(struct loader *ld, struct pca_ynode *n, struct pca_action *a)
{
	struct pca_ynode *v;

	if (!(v = pca_ymap_get(n, "from")))
		return pca_yerr(ld->doc, n, ld->err, "\"from\" is missing: an email needs a sender");
	if (get_str(ld, n, "from", &a->from) < 0 || check_mailbox(ld, v, a->from) < 0 ||
	    parse_recipients(ld, n, "to", true, check_mailbox, &a->to, &a->nto) < 0 ||
	    parse_recipients(ld, n, "cc", false, check_mailbox, &a->cc, &a->ncc) < 0 ||
	    parse_recipients(ld, n, "bcc", false, check_mailbox, &a->bcc, &a->nbcc) < 0)
		return -1;
	if (get_str(ld, n, "reply_to", &a->reply_to) > 0 &&
	    check_mailbox(ld, pca_ymap_get(n, "reply_to"), a->reply_to) < 0)
		return -1;
	if (get_str(ld, n, "list_id", &a->list_id) < 0 ||
	    get_str(ld, n, "envelope_from", &a->envelope_from) < 0 ||
	    parse_timeout(ld, n, a, 60000) < 0 || parse_transport(ld, n, a) < 0)
		return -1;
	if (a->envelope_from && check_mailbox(ld, pca_ymap_get(n, "envelope_from"),
	    a->envelope_from) < 0)
		return -1;
	if (check_duplicate_recipients(ld, n, a) < 0)
		return -1;
	for (const char *p = a->list_id; p && *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return pca_yerr(ld->doc, pca_ymap_get(n, "list_id"), ld->err,
			    "list_id must be printable ASCII, like \"Calls <calls.acme.example>\"");
	return pca_ymap_check_unused(ld->doc, n, email_keys, ld->err);
}

static int
parse_webhook(struct loader *ld, struct pca_ynode *n, struct pca_action *a)
{
	struct pca_ynode *v = pca_ymap_get(n, "url");
	const char *s;

	if (!v)
		return pca_yerr(ld->doc, n, ld->err, "\"url\" is missing: a webhook needs a URL");
	if (pca_ynode_str(ld->doc, v, &s, ld->err) < 0)
		return -1;
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return pca_yerr(ld->doc, v, ld->err, "not an http or https URL: \"%s\"", s);
	a->url = pca_strdup(s);
	if (parse_secret(ld, n, "secret", &a->secret) < 0)
		return -1;
	if (parse_timeout(ld, n, a, 15000) < 0)
		return -1;
	return pca_ymap_check_unused(ld->doc, n, webhook_keys, ld->err);
}

static int
parse_action_type(struct loader *ld, struct pca_ynode *n, struct pca_action *a)
{
	struct pca_ynode *v = pca_ymap_get(n, "type");
	const char *s;

	if (!v)
		return pca_yerr(ld->doc, n, ld->err, "action \"%s\": \"type\" is missing (sms, email "
		    "or webhook)", a->id);
	if (pca_ynode_str(ld->doc, v, &s, ld->err) < 0)
		return -1;
	if (strcmp(s, "sms") == 0)
		a->type = PCA_SMS;
	else if (strcmp(s, "email") == 0)
		a->type = PCA_EMAIL;
	else if (strcmp(s, "webhook") == 0)
		a->type = PCA_WEBHOOK;
	else
		return pca_yerr(ld->doc, v, ld->err, "unknown action type \"%s\" (known: sms, email, "
		    "webhook)", s);
	return 0;
}

static int
parse_action(struct loader *ld, struct pca_ynode *n, struct pca_action *a)
{
	struct pca_ynode *v;
	const char *id;

	if (pca_ynode_want(ld->doc, n, PCA_YMAP, "an action (a mapping with id and type)",
	    ld->err) < 0)
		return -1;
	a->origin = origin_of(ld, n);
	if (!(v = pca_ymap_get(n, "id")))
		return pca_yerr(ld->doc, n, ld->err, "action without \"id\"");
	if (pca_ynode_str(ld->doc, v, &id, ld->err) < 0)
		return -1;
	if (!valid_id(id))
		return pca_yerr(ld->doc, v, ld->err, "action id \"%s\": use 1 to 64 letters, digits, "
		    "'_' or '-'", id);
	for (size_t i = 0; i < ld->cfg->nactions; i++)
		if (strcmp(ld->cfg->actions[i].id, id) == 0)
			return pca_yerr(ld->doc, v, ld->err, "duplicate action id \"%s\" (first at %s)",
			    id, ld->cfg->actions[i].origin);
	a->id = pca_strdup(id);
	if (parse_action_type(ld, n, a) < 0 || parse_when(ld, pca_ymap_get(n, "when"), &a->when) < 0)
		return -1;
	if (a->type != PCA_WEBHOOK &&
	    parse_templates(ld, pca_ymap_get(n, "templates"), &a->templates) < 0)
		return -1;
	switch (a->type) {
	case PCA_SMS: return parse_sms(ld, n, a);
	case PCA_EMAIL: return parse_email(ld, n, a);
	case PCA_WEBHOOK: return parse_webhook(ld, n, a);
	}
	return -1;
}

static int
parse_actions(struct loader *ld, struct pca_ynode *n)
{
	if (!n)
		return 0;
	if (pca_ynode_want(ld->doc, n, PCA_YSEQ, "a list of actions", ld->err) < 0)
		return -1;
	for (size_t i = 0; i < n->n; i++) {
		if (i == PCA_MAX_ACTIONS)
			return pca_yerr(ld->doc, n->items[i], ld->err, "more than %d actions: a call "
			    "has at most %d post-call actions", PCA_MAX_ACTIONS, PCA_MAX_ACTIONS);
		if (parse_action(ld, n->items[i], &ld->cfg->actions[i]) < 0) {
			ld->cfg->nactions = i + 1; /* so pca_config_free sees the partial one */
			return -1;
		}
		ld->cfg->nactions = i + 1;
	}
	return 0;
}

static int
parse_region_and_zone(struct loader *ld, struct pca_ynode *root)
{
	struct pca_ynode *v;
	struct pca_err e = PCA_ERR_INIT;

	if (get_str(ld, root, "region", &ld->cfg->region) < 0)
		return -1;
	if (ld->cfg->region && pca_phone_region_calling_code(ld->cfg->region) == 0)
		return pca_yerr(ld->doc, pca_ymap_get(root, "region"), ld->err,
		    "unknown region \"%s\" (an ISO 3166-1 alpha-2 code like US, GB, DE)",
		    ld->cfg->region);
	v = pca_ymap_get(root, "timezone");
	if (v && get_str(ld, root, "timezone", &ld->cfg->timezone) < 0)
		return -1;
	/* Always select a zone, UTC by default, so that local times in messages
	 * never depend on the TZ of whoever runs the program. */
	if (pca_tz_select(ld->cfg->timezone, &e) < 0) {
		pca_yerr(ld->doc, v, ld->err, "%s", e.msg);
		pca_err_clear(&e);
		return -1;
	}
	return 0;
}

static int
load_contacts(struct loader *ld, struct pca_ynode *root)
{
	struct pca_ynode *v;
	struct pca_err e = PCA_ERR_INIT;

	if (get_readable_path(ld, root, "contacts", &ld->cfg->contacts_path) <= 0)
		return ld->err->msg ? -1 : 0;
	ld->cfg->contacts = pca_contacts_load(ld->cfg->contacts_path, ld->cfg->region, &e);
	if (!ld->cfg->contacts) {
		v = pca_ymap_get(root, "contacts");
		pca_yerr(ld->doc, v, ld->err, "%s", e.msg);
		pca_err_clear(&e);
		return -1;
	}
	return 0;
}

/* Like ssh with private keys: a secret written into the file is only
 * accepted when nobody but the owner can read the file. */
static int
check_inline_secrets(struct loader *ld, const char *path)
{
	struct stat st;

	if (!ld->inline_secret || !path)
		return 0;
	if (stat(path, &st) < 0)
		return pca_yerr(ld->doc, ld->inline_secret, ld->err, "%s", strerror(errno));
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return pca_yerr(ld->doc, ld->inline_secret, ld->err, "a secret is written inline but "
		    "%s can be read by group or others (chmod 600 it, or use a *_file or *_env "
		    "reference)", path);
	return 0;
}

static int
parse_network(struct loader *ld, struct pca_ynode *root)
{
	struct pca_ynode *v;
	const char **list;

	if (get_str(ld, root, "spool", &ld->cfg->spool) > 0) {
		char *abs = resolve_path(ld, ld->cfg->spool);
		free(ld->cfg->spool);
		ld->cfg->spool = abs;
	}
	if (get_readable_path(ld, root, "cacert", &ld->cfg->cacert) < 0)
		return -1;
	if ((v = pca_ymap_get(root, "allow_http")) &&
	    pca_ynode_bool(ld->doc, v, &ld->cfg->allow_http, ld->err) < 0)
		return -1;
	if ((v = pca_ymap_get(root, "allow_networks"))) {
		if (pca_ynode_strlist(ld->doc, v, &list, &ld->cfg->nallow_networks, ld->err) < 0)
			return -1;
		ld->cfg->allow_networks = dup_list(list, ld->cfg->nallow_networks);
		free(list);
		struct pca_err nerr = PCA_ERR_INIT;
		struct pca_netlist *nl = pca_netlist_parse(ld->cfg->allow_networks,
		    ld->cfg->nallow_networks, &nerr);
		if (!nl) {
			pca_yerr(ld->doc, v, ld->err, "%s", nerr.msg);
			pca_err_clear(&nerr);
			return -1;
		}
		pca_netlist_free(nl);
	}
	return 0;
}

static int
parse_root(struct loader *ld, const char *path)
{
	struct pca_ynode *root = ld->doc->root;

	if (parse_region_and_zone(ld, root) < 0 || load_contacts(ld, root) < 0 ||
	    parse_credits(ld, pca_ymap_get(root, "credits")) < 0 ||
	    parse_templates(ld, pca_ymap_get(root, "templates"), &ld->cfg->templates) < 0 ||
	    parse_actions(ld, pca_ymap_get(root, "actions")) < 0 || parse_network(ld, root) < 0 ||
	    pca_ymap_check_unused(ld->doc, root, top_keys, ld->err) < 0)
		return -1;
	return check_inline_secrets(ld, path);
}

static struct pca_config *
load(const char *name, const char *path, const char *text, size_t len, struct pca_err *err)
{
	struct loader ld = { .err = err };
	struct pca_config *cfg = pca_calloc(1, sizeof *cfg);
	char *copy;

	cfg->path = pca_strdup(name);
	if (path) {
		copy = pca_strdup(path);
		cfg->dir = pca_strdup(dirname(copy));
		free(copy);
	}
	cfg->timezone = pca_strdup("UTC");
	cfg->credits.sms_segment = 1;
	cfg->credits.email_recipient = 1;
	ld.cfg = cfg;
	ld.doc = pca_ydoc_load(name, text, len, err);
	if (!ld.doc || parse_root(&ld, path) < 0) {
		pca_ydoc_free(ld.doc);
		pca_config_free(cfg);
		return NULL;
	}
	pca_ydoc_free(ld.doc);
	return cfg;
}

struct pca_config *
pca_config_load(const char *path, struct pca_err *err)
{
	return load(path, path, NULL, 0, err);
}

struct pca_config *
pca_config_parse(const char *name, const char *text, size_t len, struct pca_err *err)
{
	return load(name, NULL, text, len, err);
}

struct pca_config *
pca_config_builtin(struct pca_err *err)
{
	const struct pca_embedded *f = pca_embedded_find("config.yaml");

	return load("(built-in configuration)", NULL, f->data, f->len, err);
}

static char *
existing(char *path)
{
	if (path && access(path, F_OK) == 0)
		return path;
	free(path);
	return NULL;
}

char *
pca_config_find(void)
{
	const char *env = getenv("PCA_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME"),
	    *home = getenv("HOME");
	char *p;

	if (env && *env)
		return pca_strdup(env);
	if (xdg && *xdg)
		p = existing(pca_asprintf("%s/pca/config.yaml", xdg));
	else
		p = home && *home ? existing(pca_asprintf("%s/.config/pca/config.yaml", home)) : NULL;
	return p ? p : existing(pca_strdup("/etc/pca/config.yaml"));
}

static void
free_templates(struct pca_template_paths *t)
{
	free(t->sms);
	free(t->email_subject);
	free(t->email_text);
	free(t->email_html);
}

static void
free_secret(struct pca_secret *s)
{
	if (s->ref)
		memset(s->ref, 0, strlen(s->ref));
	free(s->ref);
	free(s->origin);
}

static void
free_action(struct pca_action *a)
{
	free(a->id);
	free(a->origin);
	free_list(a->when.status);
	free(a->when.direction);
	free_templates(&a->templates);
	free_list(a->to);
	free_list(a->cc);
	free_list(a->bcc);
	free(a->from);
	free(a->reply_to);
	free(a->list_id);
	free(a->url);
	free_secret(&a->secret);
	free_secret(&a->session_token);
	pca_sms_provider_free(&a->provider);
	free(a->envelope_from);
	free(a->smtp_url);
	free(a->smtp_user);
	free_secret(&a->smtp_password);
	free_secret(&a->smtp_oauth2);
	free(a->smtp_cacert);
	free(a->sendmail);
}

void
pca_config_free(struct pca_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nactions; i++)
		free_action(&cfg->actions[i]);
	free_templates(&cfg->templates);
	pca_contacts_free(cfg->contacts);
	free(cfg->contacts_path);
	free(cfg->path);
	free(cfg->dir);
	free(cfg->timezone);
	free(cfg->region);
	free(cfg->spool);
	free_list(cfg->allow_networks);
	free(cfg->cacert);
	free(cfg);
}

static int
read_secret_file(const struct pca_secret *s, struct pca_buf *out, struct pca_err *err)
{
	struct pca_err ferr = PCA_ERR_INIT;

	if (pca_buf_read_file(out, s->ref, &ferr) < 0) {
		pca_err_set(err, "%s: secret file %s", s->origin, ferr.msg);
		pca_err_clear(&ferr);
		return -1;
	}
	while (out->len && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
		out->data[--out->len] = '\0';
	if (!out->len)
		return pca_err_set(err, "%s: secret file %s is empty", s->origin, s->ref);
	return 0;
}

int
pca_secret_read(const struct pca_secret *s, struct pca_buf *out, struct pca_err *err)
{
	const char *v;

	pca_buf_reset(out);
	switch (s->kind) {
	case PCA_SECRET_NONE:
		return pca_err_set(err, "no secret configured");
	case PCA_SECRET_FILE:
		return read_secret_file(s, out, err);
	case PCA_SECRET_ENV:
		v = getenv(s->ref);
		if (!v || !*v)
			return pca_err_set(err, "%s: environment variable %s is not set", s->origin,
			    s->ref);
		pca_buf_adds(out, v);
		return 0;
	case PCA_SECRET_INLINE:
		pca_buf_adds(out, s->ref);
		return 0;
	}
	return -1;
}

struct pca_config *
pca_config_adhoc_webhook(const char *url, int secret_kind, const char *ref, struct pca_err *err)
{
	struct pca_config *cfg = load("(command line)", NULL, "{}", 2, err);
	struct pca_action *a;

	if (!cfg)
		return NULL;
	a = &cfg->actions[cfg->nactions++];
	a->id = pca_strdup("webhook");
	a->type = PCA_WEBHOOK;
	a->origin = pca_strdup("--url");
	a->url = pca_strdup(url);
	a->timeout_ms = 15000;
	a->max_segments = 2;
	a->when.min_duration_ms = -1;
	a->when.contact = -1;
	a->secret.kind = secret_kind;
	a->secret.ref = pca_strdup(ref);
	a->secret.origin = pca_strdup(secret_kind == PCA_SECRET_FILE ? "--secret-file" :
	    "--secret-env");
	return cfg;
}

static int
adhoc_duplicates(const struct pca_action *a, struct pca_err *err)
{
	int list;
	char *dup = duplicate_recipient(a, &list);

	if (!dup)
		return 0;
	pca_err_set(err, "%s is given twice among the recipients", dup);
	free(dup);
	return -1;
}

static int
adhoc_provider(const struct pca_sms_adhoc *h, struct pca_action *a, struct pca_err *err)
{
	int kind = pca_sms_provider_kind(h->provider ? h->provider : "");

	if (kind != PCA_SMS_TWILIO && kind != PCA_SMS_VONAGE && kind != PCA_SMS_TELNYX)
		return pca_err_set(err, "--provider: twilio, vonage or telnyx from the command line "
		    "(sns and http need a configuration file)");
	if (kind == PCA_SMS_TWILIO && !h->account_sid)
		return pca_err_set(err, "--provider twilio needs --account-sid");
	if (kind == PCA_SMS_VONAGE && !h->api_key)
		return pca_err_set(err, "--provider vonage needs --api-key");
	a->has_provider = true;
	a->provider.kind = kind;
	a->provider.account_sid = h->account_sid ? pca_strdup(h->account_sid) : NULL;
	a->provider.api_key = h->api_key ? pca_strdup(h->api_key) : NULL;
	a->provider.base_url = h->base_url ? pca_strdup(h->base_url) : NULL;
	return 0;
}

struct pca_config *
pca_config_adhoc_sms(const struct pca_sms_adhoc *h, struct pca_err *err)
{
	struct pca_config *cfg = load("(command line)", NULL, "{}", 2, err);
	struct pca_action *a;
	size_t n = 0;

	if (!cfg)
		return NULL;
	a = &cfg->actions[cfg->nactions++];
	a->id = pca_strdup("sms");
	a->type = PCA_SMS;
	a->origin = pca_strdup("--to");
	a->when.min_duration_ms = -1;
	a->when.contact = -1;
	a->timeout_ms = 15000;
	a->max_segments = h->max_segments ? h->max_segments : 2;
	while (h->to && h->to[n])
		n++;
	for (size_t i = 0; i < n; i++)
		if (!pca_phone_is_e164(h->to[i])) {
			pca_err_set(err, "--to %s: not an E.164 number (like +14155550123)", h->to[i]);
			goto fail;
		}
	a->to = dup_list((const char **)h->to, n);
	a->nto = n;
	a->from = h->from ? pca_strdup(h->from) : NULL;
	a->secret.kind = h->secret_kind;
	a->secret.ref = pca_strdup(h->secret_ref);
	a->secret.origin = pca_strdup(h->secret_kind == PCA_SECRET_FILE ? "--secret-file" :
	    "--secret-env");
	if (adhoc_duplicates(a, err) < 0)
		goto fail;
	if (adhoc_provider(h, a, err) == 0 && !sms_sender_missing(a))
		return cfg;
	if (sms_sender_missing(a))
		pca_err_set(err, "%s (--from)", sms_sender_missing(a));
fail:
	pca_config_free(cfg);
	return NULL;
}

static int
adhoc_mailboxes(char **in, char ***out, size_t *n, const char *flag, struct pca_err *err)
{
	struct pca_mailbox mb = { 0 };
	struct pca_err e = PCA_ERR_INIT;

	*n = 0;
	while (in && in[*n]) {
		if (pca_mailbox_parse(in[*n], &mb, &e) < 0) {
			pca_err_set(err, "%s %s: %s", flag, in[*n], e.msg);
			pca_err_clear(&e);
			return -1;
		}
		pca_mailbox_free(&mb);
		(*n)++;
	}
	*out = dup_list((const char **)in, *n);
	return 0;
}

static int
adhoc_transport(const struct pca_email_adhoc *h, struct pca_action *a, struct pca_err *err)
{
	if (h->sendmail) {
		a->sendmail = pca_strdup(h->sendmail);
		return 0;
	}
	if (!h->smtp_url)
		return pca_err_set(err, "give --smtp URL or --sendmail");
	if (strncmp(h->smtp_url, "smtp://", 7) != 0 && strncmp(h->smtp_url, "smtps://", 8) != 0)
		return pca_err_set(err, "--smtp %s: an SMTP url starts with smtp:// or smtps://",
		    h->smtp_url);
	a->smtp_url = pca_strdup(h->smtp_url);
	a->smtp_tls = !h->tls || strcmp(h->tls, "required") == 0 ? PCA_TLS_REQUIRED :
	    strcmp(h->tls, "optional") == 0 ? PCA_TLS_OPTIONAL : PCA_TLS_NONE;
	if (h->tls && strcmp(h->tls, "required") && strcmp(h->tls, "optional") &&
	    strcmp(h->tls, "none"))
		return pca_err_set(err, "--tls %s: required, optional or none", h->tls);
	a->smtp_user = h->user ? pca_strdup(h->user) : NULL;
	a->smtp_cacert = h->cacert ? pca_strdup(h->cacert) : NULL;
	if (h->password_kind) {
		if (!h->user)
			return pca_err_set(err, "a password needs --user");
		a->smtp_password.kind = h->password_kind;
		a->smtp_password.ref = pca_strdup(h->password_ref);
		a->smtp_password.origin = pca_strdup(h->password_kind == PCA_SECRET_FILE ?
		    "--password-file" : "--password-env");
	}
	return 0;
}

struct pca_config *
pca_config_adhoc_email(const struct pca_email_adhoc *h, struct pca_err *err)
{
	struct pca_config *cfg = load("(command line)", NULL, "{}", 2, err);
	struct pca_mailbox mb = { 0 };
	struct pca_action *a;

	if (!cfg)
		return NULL;
	a = &cfg->actions[cfg->nactions++];
	a->id = pca_strdup("email");
	a->type = PCA_EMAIL;
	a->origin = pca_strdup("--to");
	a->when.min_duration_ms = -1;
	a->when.contact = -1;
	a->timeout_ms = 60000;
	if (!h->from || pca_mailbox_parse(h->from, &mb, err) < 0) {
		if (!h->from)
			pca_err_set(err, "give --from");
		else
			pca_err_prefix(err, "--from %s", h->from);
		goto fail;
	}
	pca_mailbox_free(&mb);
	a->from = pca_strdup(h->from);
	a->envelope_from = h->envelope_from ? pca_strdup(h->envelope_from) : NULL;
	if (adhoc_mailboxes(h->to, &a->to, &a->nto, "--to", err) < 0 ||
	    adhoc_mailboxes(h->cc, &a->cc, &a->ncc, "--cc", err) < 0 ||
	    adhoc_mailboxes(h->bcc, &a->bcc, &a->nbcc, "--bcc", err) < 0 ||
	    adhoc_transport(h, a, err) < 0)
		goto fail;
	if (a->nto + a->ncc + a->nbcc == 0) {
		pca_err_set(err, "give at least one --to");
		goto fail;
	}
	if (adhoc_duplicates(a, err) < 0)
		goto fail;
	return cfg;
fail:
	pca_config_free(cfg);
	return NULL;
}
