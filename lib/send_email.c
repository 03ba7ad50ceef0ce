#include "send_email.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "mime.h"
#include "render.h"
#include "result.h"
#include "smtp.h"

struct email_action {
	const struct pca_action *a;
	struct pca_smtp_opts smtp;
	const char *sendmail;        /* a local MTA instead of SMTP, or NULL */
	char *envelope;              /* the bounce address */
	struct pca_buf password, token;
};

struct email_attempt {
	struct pca_smtp_call call;
	char *address;
};

static char *
address_of(const char *mailbox)
{
	struct pca_mailbox mb = { 0 };
	struct pca_err err = PCA_ERR_INIT;
	char *addr;

	if (pca_mailbox_parse(mailbox, &mb, &err) < 0) {
		pca_err_clear(&err);
		return pca_strdup(mailbox);
	}
	addr = pca_strdup(mb.addr);
	pca_mailbox_free(&mb);
	return addr;
}

static int
read_smtp_secrets(struct email_action *e, struct pca_err *err)
{
	const struct pca_action *a = e->a;

	if (a->smtp_password.kind && pca_secret_read(&a->smtp_password, &e->password, err) < 0)
		return -1;
	if (a->smtp_oauth2.kind && pca_secret_read(&a->smtp_oauth2, &e->token, err) < 0)
		return -1;
	e->smtp.url = a->smtp_url;
	e->smtp.tls = a->smtp_tls;
	e->smtp.user = a->smtp_user;
	e->smtp.password = e->password.len ? e->password.data : NULL;
	e->smtp.oauth2_token = e->token.len ? e->token.data : NULL;
	e->smtp.cacert = a->smtp_cacert;
	return 0;
}

/* What names a recipient in keys: the address, lower case (a new
 * string); not the display name, which an operator may change. */
static char *
key_of(const char *mailbox)
{
	char *a = address_of(mailbox);

	for (char *p = a; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return a;
}

static void
teardown(void *ctx, void *astate)
{
	struct email_action *e = astate;

	(void)ctx;
	if (!e)
		return;
	pca_buf_wipe(&e->password);
	pca_buf_wipe(&e->token);
	free(e->envelope);
	free(e);
}

static void *
setup(void *ctx, const struct pca_action *a, const struct pca_sender_opts *o, struct pca_err *err)
{
	struct pca_email_ctx *c = ctx;
	struct email_action *e = pca_calloc(1, sizeof *e);

	e->a = a;
	e->envelope = address_of(a->envelope_from ? a->envelope_from : a->from);
	e->smtp.envelope_from = e->envelope;
	e->smtp.timeout_ms = (long)(o->timeout_ms > 0 ? o->timeout_ms : a->timeout_ms);
	e->sendmail = c->sendmail ? c->sendmail : a->sendmail;
	if (e->sendmail)
		return e;
	if (!a->smtp_url)
		pca_err_set(err, "%s: action %s: no way to send (add smtp: with a url, or sendmail:)",
		    a->origin, a->id);
	else if (read_smtp_secrets(e, err) == 0) {
		/* The top-level cacert (or --cacert) serves SMTP too. */
		if (!e->smtp.cacert)
			e->smtp.cacert = o->http.cacert;
		return e;
	}
	teardown(ctx, e);
	return NULL;
}

static int
render(void *ctx, void *astate, struct pca_renderer *r, const struct pca_action *a,
	const struct pca_call *call, int64_t now, struct pca_buf *payload, json_object *fields,
	struct pca_err *err)
{
	struct pca_email m;

	(void)ctx, (void)astate;
	if (pca_render_email(r, a, call, now, &m, err) < 0)
		return -1;
	pca_buf_add(payload, m.message.data, m.message.len);
	pca_result_str(fields, "message_id", m.message_id);
	pca_result_num(fields, "_credits_each", m.recipients ? m.credits / (double)m.recipients : 0);
	pca_email_free(&m);
	return 0;
}

/* "o***@example.com": enough to tell recipients apart, not to harvest. */
static char *
redact(const char *mailbox)
{
	char *addr = address_of(mailbox), *at = strrchr(addr, '@'), *out;

	if (!at || at == addr)
		out = pca_strdup("***");
	else
		out = pca_asprintf("%c***%s", addr[0], at);
	free(addr);
	return out;
}

static const char *
provider(void *ctx, void *astate)
{
	struct email_action *e = astate;

	(void)ctx;
	return e->sendmail ? "sendmail" : "smtp";
}

/* --dry-run: the transaction as the server would see it (envelope, then
 * the message byte for byte). */
static int
show(void *ctx, void *astate, struct pca_send_job *d, int64_t now, struct pca_buf *out,
	struct pca_err *err)
{
	struct email_action *e = astate;
	char *to = address_of(d->recipient);

	(void)ctx, (void)now, (void)err;
	if (e->sendmail)
		pca_buf_addf(out, "# %s -i -f %s -- %s\r\n", e->sendmail, e->envelope, to);
	else
		pca_buf_addf(out, "# %s\r\nMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n", e->a->smtp_url,
		    e->envelope, to);
	pca_buf_add(out, d->payload->data, d->payload->len);
	free(to);
	return 0;
}

static void
free_attempt(struct pca_send_job *d)
{
	struct email_attempt *t = d->attempt;

	if (!t)
		return;
	pca_smtp_call_cleanup(&t->call);
	free(t->address);
	free(t);
	d->attempt = NULL;
}

static void
to_attempt(struct pca_email_ctx *c, struct pca_smtp_outcome *o, struct pca_attempt *a)
{
	a->smtp_code = o->code;
	a->latency_ms = o->latency_ms;
	if (o->delivered) {
		a->verdict = PCA_DELIVERED;
		if (o->message.len) {
			a->details = json_object_new_object();
			pca_result_str(a->details, "reply", o->message.data);
		}
		return;
	}
	a->verdict = o->temporary ? PCA_TEMPORARY : PCA_PERMANENT;
	snprintf(a->codebuf, sizeof a->codebuf, "%s", o->class ? o->class : "smtp");
	a->code = a->codebuf;
	pca_buf_add(&a->message, o->message.data ? o->message.data : "", o->message.len);
	if (o->ambiguous && !c->retry_ambiguous) {
		/* The message may have been taken: sending again could give the
		 * recipient two copies (with one Message-ID). */
		a->verdict = PCA_PERMANENT;
		a->code = "ambiguous";
		pca_buf_adds(&a->message, " (after the whole message was sent: it may have been "
		    "delivered; --retry-ambiguous sends it again)");
	}
}

/* A local MTA runs at once: the job is done without a transfer. */
static CURL *
start_sendmail(struct pca_email_ctx *c, struct email_action *e, struct pca_send_job *d,
	struct pca_attempt *a)
{
	struct pca_smtp_outcome o;
	char *to = address_of(d->recipient);

	int64_t t0 = pca_sender_now_of(d);

	pca_sendmail(e->sendmail, e->envelope, to, d->payload->data ? d->payload->data : "",
	    d->payload->len, &o);
	o.latency_ms = pca_sender_now_of(d) - t0;
	to_attempt(c, &o, a);
	a->provider_message_id = pca_strdup(d->key);
	pca_smtp_outcome_clear(&o);
	free(to);
	d->job.done = true;
	return NULL;
}

static CURL *
start(void *ctx, void *astate, struct pca_send_job *d, int64_t now, struct pca_attempt *a)
{
	struct email_action *e = astate;
	struct email_attempt *t;
	struct pca_err err = PCA_ERR_INIT;

	(void)now;
	if (e->sendmail)
		return start_sendmail(ctx, e, d, a);
	t = d->attempt = pca_calloc(1, sizeof *t);
	t->address = address_of(d->recipient);
	if (pca_smtp_prepare(&t->call, &e->smtp, t->address, d->payload->data ? d->payload->data :
	    "", d->payload->len, &err) == 0)
		return t->call.easy;
	free_attempt(d);
	pca_send_job_unprepared(d, a, &err);
	return NULL;
}

static void
finish(void *ctx, void *astate, struct pca_send_job *d, CURL *easy, CURLcode rc, int64_t now,
	struct pca_attempt *a)
{
	struct email_attempt *t = d->attempt;
	struct pca_smtp_outcome o;

	(void)astate, (void)easy, (void)now;
	pca_smtp_outcome(&t->call, rc, &o);
	to_attempt(ctx, &o, a);
	pca_smtp_outcome_clear(&o);
	pca_smtp_call_cleanup(&t->call);
}

static void
end_attempt(void *ctx, void *astate, struct pca_send_job *d)
{
	(void)ctx, (void)astate;
	free_attempt(d);
}

const struct pca_channel pca_email_channel = {
	.name = "email",
	.type = PCA_EMAIL,
	.per_recipient = true,
	/* libcurl waits for the reply to the end of DATA inside the multi
	 * handle, which would make one slow server hold every transaction. */
	.blocking = true,
	.setup = setup,
	.teardown = teardown,
	.render = render,
	.redact = redact,
	.key = key_of,
	.show = show,
	.start = start,
	.finish = finish,
	.provider = provider,
	.log_fields = NULL,
	.end_attempt = end_attempt,
};
