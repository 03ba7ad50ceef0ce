#include "send_sms.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "pca-build.h"
#include "phone.h"
#include "render.h"
#include "result.h"
#include "sms_provider.h"

struct sms_action {
	const struct pca_action *a;
	const struct pca_http_opts *http;
	struct pca_buf secret, token;
	int64_t *next_ok;          /* this sender's pacer, or NULL */
	int64_t interval_ms;
};

struct sms_attempt {
	struct pca_http_call http;
	struct pca_sms_request req;
};

void
pca_sms_ctx_init(struct pca_sms_ctx *c)
{
	memset(c, 0, sizeof *c);
}

void
pca_sms_ctx_free(struct pca_sms_ctx *c)
{
	for (size_t i = 0; i < c->npacers; i++)
		free(c->pacers[i].from);
	c->npacers = 0;
}

static int64_t *
pacer_for(struct pca_sms_ctx *c, const char *from)
{
	const char *key = from ? from : "";

	for (size_t i = 0; i < c->npacers; i++)
		if (strcmp(c->pacers[i].from, key) == 0)
			return &c->pacers[i].next_ok;
	if (c->npacers == PCA_SMS_PACERS)
		return NULL;
	c->pacers[c->npacers].from = pca_strdup(key);
	c->pacers[c->npacers].next_ok = 0;
	return &c->pacers[c->npacers++].next_ok;
}

static int
read_secrets(struct sms_action *s, struct pca_err *err)
{
	const struct pca_action *a = s->a;

	if (a->secret.kind != PCA_SECRET_NONE && pca_secret_read(&a->secret, &s->secret, err) < 0)
		return -1;
	if (a->session_token.kind != PCA_SECRET_NONE &&
	    pca_secret_read(&a->session_token, &s->token, err) < 0)
		return -1;
	return 0;
}

static int
check_provider_url(struct sms_action *s, struct pca_err *err)
{
	const struct pca_sms_provider *p = &s->a->provider;
	char *url = p->kind == PCA_SMS_HTTP ? pca_strdup(p->url) : p->base_url ?
	    pca_strdup(p->base_url) : pca_sms_provider_default_base(p);
	struct pca_err e = PCA_ERR_INIT;
	int rc = pca_http_check_url(url, s->http, &e);

	if (rc < 0)
		pca_err_set(err, "%s: action %s: %s", s->a->origin, s->a->id, e.msg);
	pca_err_clear(&e);
	free(url);
	return rc;
}

static void *
setup(void *ctx, const struct pca_action *a, const struct pca_sender_opts *o, struct pca_err *err)
{
	struct pca_sms_ctx *c = ctx;
	struct sms_action *s = pca_calloc(1, sizeof *s);

	s->a = a;
	s->http = &o->http;
	if (!a->has_provider) {
		pca_err_set(err, "%s: action %s: no SMS provider (add provider: twilio, vonage, "
		    "telnyx, sns or http, with its settings)", a->origin, a->id);
	} else if (check_provider_url(s, err) == 0 && read_secrets(s, err) == 0) {
		if (a->rate > 0 && !c->no_pacing) {
			s->next_ok = pacer_for(c, a->from);
			s->interval_ms = (int64_t)(1000.0 / a->rate);
		}
		return s;
	}
	pca_buf_wipe(&s->secret);
	pca_buf_wipe(&s->token);
	free(s);
	return NULL;
}

static void
teardown(void *ctx, void *astate)
{
	struct sms_action *s = astate;

	(void)ctx;
	if (!s)
		return;
	pca_buf_wipe(&s->secret);
	pca_buf_wipe(&s->token);
	free(s);
}

static int
render(void *ctx, void *astate, struct pca_renderer *r, const struct pca_action *a,
	const struct pca_call *call, int64_t now, struct pca_buf *payload, json_object *fields,
	struct pca_err *err)
{
	struct pca_sms_text t;

	(void)ctx, (void)astate;
	if (pca_render_sms(r, a, call, now, &t, err) < 0)
		return -1;
	pca_buf_add(payload, t.text.data, t.text.len);
	pca_result_int(fields, "segments", (int64_t)t.count.segments);
	pca_result_str(fields, "encoding", pca_sms_encoding_name(t.count.encoding));
	if (t.truncated)
		json_object_object_add(fields, "truncated", json_object_new_boolean(true));
	/* What one recipient costs: segments x the configured rate. */
	pca_result_num(fields, "_credits_each", t.credits / (double)(t.recipients ? t.recipients :
	    1));
	pca_sms_text_free(&t);
	return 0;
}

static char *
redact(const char *number)
{
	struct pca_buf b = PCA_BUF_INIT;

	pca_phone_redact(&b, number);
	return pca_buf_detach(&b, NULL);
}

static void
message_of(const struct sms_action *s, const struct pca_send_job *d, struct pca_sms_message *m)
{
	struct pca_sms_count count;
	struct pca_err err = PCA_ERR_INIT;

	memset(m, 0, sizeof *m);
	m->to = d->recipient;
	m->from = s->a->from;
	m->text = d->payload->data ? d->payload->data : "";
	m->len = d->payload->len;
	if (pca_sms_count(m->text, m->len, &count, &err) == 0) {
		m->encoding = count.encoding;
		m->segments = count.segments;
	}
	pca_err_clear(&err);
	m->call_id = pca_send_job_call(d)->call_id;
	m->action_id = s->a->id;
}

static int
build(const struct sms_action *s, const struct pca_send_job *d, struct pca_sms_request *req,
	struct pca_err *err)
{
	struct pca_sms_message m;

	message_of(s, d, &m);
	return pca_sms_request_build(&s->a->provider, &m, s->secret.len ? s->secret.data : NULL,
	    s->token.len ? s->token.data : NULL, req, err);
}

static int
show(void *ctx, void *astate, struct pca_send_job *d, int64_t now, struct pca_buf *out,
	struct pca_err *err)
{
	struct pca_sms_request req;

	(void)ctx, (void)now;
	memset(&req, 0, sizeof req);
	if (build(astate, d, &req, err) < 0)
		return -1;
	pca_buf_add(out, req.shown.data, req.shown.len);
	pca_sms_request_free(&req);
	return 0;
}

static void
free_attempt(struct pca_send_job *d)
{
	struct sms_attempt *t = d->attempt;

	if (!t)
		return;
	pca_http_call_cleanup(&t->http);
	pca_sms_request_free(&t->req);
	free(t);
	d->attempt = NULL;
}

static int
prepare(struct sms_action *s, struct pca_send_job *d, struct sms_attempt *t,
	struct pca_err *err)
{
	CURL *e;

	if (build(s, d, &t->req, err) < 0 ||
	    pca_http_prepare_post(&t->http, s->http, t->req.url, (const char *const *)t->req.headers,
	    t->req.body.data ? t->req.body.data : "", t->req.body.len,
	    (long)pca_send_job_timeout(d), err) < 0)
		return -1;
	e = t->http.easy;
	if (strcmp(t->req.method, "POST") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t->req.method);
	if (t->req.username) {
		curl_easy_setopt(e, CURLOPT_USERNAME, t->req.username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, t->req.password);
	}
	if (t->req.aws_sigv4) {
		curl_easy_setopt(e, CURLOPT_AWS_SIGV4, t->req.aws_sigv4);
		pca_http_keep_expect(&t->http);
	}
	return 0;
}

static CURL *
start(void *ctx, void *astate, struct pca_send_job *d, int64_t now, struct pca_attempt *a)
{
	struct sms_action *s = astate;
	struct sms_attempt *t;
	struct pca_err err = PCA_ERR_INIT;

	(void)ctx;
	/* Pacing: a sender sends at most `rate` messages a second, so that a burst
	 * of calls does not get messages refused by the carrier. */
	if (s->next_ok && now < *s->next_ok) {
		d->job.not_before = *s->next_ok;
		return NULL;
	}
	if (s->next_ok)
		*s->next_ok = now + s->interval_ms;
	t = d->attempt = pca_calloc(1, sizeof *t);
	if (prepare(s, d, t, &err) == 0)
		return t->http.easy;
	free_attempt(d);
	pca_send_job_unprepared(d, a, &err);
	return NULL;
}

/* No answer came. If the request had been sent, the provider may have sent
 * the text: sending again could text the owner twice, and providers take no
 * idempotency key, so by default that is a failure to look into. */
static void
no_answer(struct pca_sms_ctx *c, const struct pca_http_outcome *o, struct pca_attempt *a)
{
	a->code = o->code;
	pca_buf_add(&a->message, o->message.data ? o->message.data : "", o->message.len);
	a->verdict = PCA_TEMPORARY;
	if (o->request_sent && !c->retry_ambiguous && (strcmp(o->code, "timeout") == 0 ||
	    strcmp(o->code, "reset") == 0)) {
		a->verdict = PCA_PERMANENT;
		a->code = "ambiguous_timeout";
		pca_buf_adds(&a->message, " (the request was sent, so the provider may have sent "
		    "the text; --retry-ambiguous sends it again)");
	} else if (strcmp(o->code, "blocked_ip") == 0) {
		a->verdict = PCA_PERMANENT;
	}
}

static void
answered(const struct sms_action *s, struct sms_attempt *t, struct pca_attempt *a)
{
	struct pca_sms_reply r;

	memset(&r, 0, sizeof r);
	pca_sms_reply_parse(&s->a->provider, a->http_status, t->http.response.data,
	    t->http.response.len, &r);
	a->verdict = r.verdict == PCA_SMS_ACCEPTED ? PCA_DELIVERED : r.verdict == PCA_SMS_RETRY ?
	    PCA_TEMPORARY : PCA_PERMANENT;
	if (r.message_id)
		a->provider_message_id = pca_strdup(r.message_id);
	a->details = json_object_new_object();
	if (r.status)
		pca_result_str(a->details, "provider_status", r.status);
	if (r.segments > 0)
		pca_result_int(a->details, "provider_segments", r.segments);
	if (r.price)
		pca_result_str(a->details, "price", r.price);
	if (r.more_info)
		pca_result_str(a->details, "more_info", r.more_info);
	if (r.verdict != PCA_SMS_ACCEPTED) {
		/* The provider's own code names the problem best ("21211"). */
		if (r.error_code)
			snprintf(a->codebuf, sizeof a->codebuf, "%s", r.error_code);
		else
			snprintf(a->codebuf, sizeof a->codebuf, "http_%ld", a->http_status);
		a->code = a->codebuf;
		pca_buf_adds(&a->message, r.error_message ? r.error_message : "refused by the provider");
		pca_result_response(a->details, t->http.response.data, t->http.response.len);
	}
	pca_sms_reply_free(&r);
}

static void
finish(void *ctx, void *astate, struct pca_send_job *d, CURL *easy, CURLcode rc, int64_t now,
	struct pca_attempt *a)
{
	struct sms_attempt *t = d->attempt;
	struct pca_http_outcome o;

	(void)easy, (void)now;
	pca_http_outcome(&t->http, rc, pca_sender_now_of(d), &o);
	a->http_status = o.status;
	a->latency_ms = o.latency_ms;
	a->retry_after_ms = o.retry_after_ms;
	if (o.status)
		answered(astate, t, a);
	else
		no_answer(ctx, &o, a);
	pca_http_outcome_clear(&o);
	pca_http_call_cleanup(&t->http);
}

static const char *
provider(void *ctx, void *astate)
{
	struct sms_action *s = astate;

	(void)ctx;
	return pca_sms_provider_name(s->a->provider.kind);
}

static void
end_attempt(void *ctx, void *astate, struct pca_send_job *d)
{
	(void)ctx, (void)astate;
	free_attempt(d);
}

const struct pca_channel pca_sms_channel = {
	.name = "sms",
	.type = PCA_SMS,
	.per_recipient = true,
	.setup = setup,
	.teardown = teardown,
	.render = render,
	.redact = redact,
	.show = show,
	.start = start,
	.finish = finish,
	.provider = provider,
	.log_fields = NULL,
	.end_attempt = end_attempt,
};
