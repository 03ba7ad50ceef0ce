#include "send_webhook.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "alloc.h"
#include "hex.h"
#include "pca-build.h"
#include "render.h"
#include "result.h"
#include "sign.h"
#include "timeutil.h"

struct wh_action {
	const struct pca_action *a;
	struct pca_signer *signer;
	const struct pca_http_opts *http;
};

/* One attempt in flight. */
struct wh_attempt {
	struct pca_http_call http;
	struct pca_buf sig;
	int64_t ts;
};

static void *
setup(void *ctx, const struct pca_action *a, const struct pca_sender_opts *o, struct pca_err *err)
{
	struct pca_webhook_ctx *c = ctx;
	struct pca_buf secret = PCA_BUF_INIT;
	struct pca_err e = PCA_ERR_INIT;
	struct wh_action *w = pca_calloc(1, sizeof *w);

	w->a = a;
	w->http = &o->http;
	if (pca_http_check_url(a->url, &o->http, &e) < 0) {
		pca_err_set(err, "%s: action %s: %s", a->origin, a->id, e.msg);
	} else if (a->secret.kind == PCA_SECRET_NONE) {
		pca_err_set(err, "%s: action %s: no secret (secret_file, secret_env or secret)",
		    a->origin, a->id);
	} else if (pca_secret_read(&a->secret, &secret, err) == 0) {
		w->signer = pca_signer_new(secret.data, secret.len, c->v1a, &e);
		if (!w->signer)
			pca_err_set(err, "%s: action %s: %s", a->secret.origin, a->id, e.msg);
		else if (pca_signer_warning(w->signer) && o->warn)
			o->warn(o->warn_ud, pca_signer_warning(w->signer));
	}
	pca_buf_wipe(&secret);
	pca_err_clear(&e);
	if (!w->signer) {
		free(w);
		return NULL;
	}
	return w;
}

static void
teardown(void *ctx, void *astate)
{
	struct wh_action *w = astate;

	(void)ctx;
	if (!w)
		return;
	pca_signer_free(w->signer);
	free(w);
}

static int
render(void *ctx, void *astate, struct pca_renderer *r, const struct pca_action *a,
	const struct pca_call *call, int64_t now, struct pca_buf *payload, json_object *fields,
	struct pca_err *err)
{
	(void)ctx, (void)astate, (void)a, (void)now, (void)fields, (void)err;
	pca_render_webhook(r, call, payload);
	return 0;
}

static char *
redact(const char *url)
{
	struct pca_buf b = PCA_BUF_INIT;

	pca_http_redact_url(&b, url);
	return pca_buf_detach(&b, NULL);
}

static const char *
provider(void *ctx, void *astate)
{
	(void)ctx, (void)astate;
	return "pca-webhook";
}

/* --dry-run: the request as it would go on the wire (HTTP/1.1 origin form). */
static int
show(void *ctx, void *astate, struct pca_send_job *d, int64_t now, struct pca_buf *out,
	struct pca_err *err)
{
	struct wh_action *w = astate;
	struct pca_buf sig = PCA_BUF_INIT;
	int64_t ts = now / 1000;

	(void)ctx;
	CURLU *u = curl_url();
	char *host = NULL, *path = NULL, *port = NULL;
	int rc = pca_signer_sign(w->signer, d->key, ts, d->payload->data, d->payload->len, &sig,
	    err);

	if (rc == 0) {
		curl_url_set(u, CURLUPART_URL, w->a->url, 0);
		curl_url_get(u, CURLUPART_HOST, &host, 0);
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		curl_url_get(u, CURLUPART_PATH, &path, 0);
		pca_buf_addf(out, "POST %s HTTP/1.1\r\nHost: %s%s%s\r\nUser-Agent: %s\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\nwebhook-id: %s\r\n"
		    "webhook-timestamp: %lld\r\nwebhook-signature: %s\r\n\r\n", path ? path : "/", host,
		    port ? ":" : "", port ? port : "", w->http->user_agent, d->payload->len, d->key,
		    (long long)ts, sig.data);
		pca_buf_add(out, d->payload->data, d->payload->len);
	}
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	pca_buf_free(&sig);
	return rc;
}

static void
free_attempt(struct pca_send_job *d)
{
	struct wh_attempt *t = d->attempt;

	if (!t)
		return;
	pca_http_call_cleanup(&t->http);
	pca_buf_free(&t->sig);
	free(t);
	d->attempt = NULL;
}

static CURL *
start(void *ctx, void *astate, struct pca_send_job *d, int64_t now, struct pca_attempt *a)
{
	struct wh_action *w = astate;
	struct wh_attempt *t = pca_calloc(1, sizeof *t);
	struct pca_buf h[4] = { PCA_BUF_INIT, PCA_BUF_INIT, PCA_BUF_INIT, PCA_BUF_INIT };
	const char *headers[5];
	struct pca_err err = PCA_ERR_INIT;
	int rc;

	(void)ctx, (void)now;
	d->attempt = t;
	/* A fresh timestamp and signature on every attempt; the id stays. */
	t->ts = pca_sender_now_of(d) / 1000;
	rc = pca_signer_sign(w->signer, d->key, t->ts, d->payload->data, d->payload->len, &t->sig,
	    &err);
	pca_buf_adds(&h[0], "Content-Type: application/json");
	pca_buf_addf(&h[1], "webhook-id: %s", d->key);
	pca_buf_addf(&h[2], "webhook-timestamp: %lld", (long long)t->ts);
	pca_buf_addf(&h[3], "webhook-signature: %s", pca_buf_cstr(&t->sig));
	for (int i = 0; i < 4; i++)
		headers[i] = h[i].data;
	headers[4] = NULL;
	if (rc == 0)
		rc = pca_http_prepare_post(&t->http, w->http, w->a->url, headers, d->payload->data,
		    d->payload->len, (long)pca_send_job_timeout(d), &err);
	for (int i = 0; i < 4; i++)
		pca_buf_free(&h[i]);
	if (rc == 0)
		return t->http.easy;
	free_attempt(d);
	pca_send_job_unprepared(d, a, &err);
	return NULL;
}

static void
finish(void *ctx, void *astate, struct pca_send_job *d, CURL *easy, CURLcode rc, int64_t now,
	struct pca_attempt *a)
{
	struct wh_attempt *t = d->attempt;
	struct pca_http_outcome o;

	(void)ctx, (void)astate, (void)easy, (void)now;
	pca_http_outcome(&t->http, rc, pca_sender_now_of(d), &o);
	a->verdict = pca_retry_classify(&o);
	a->http_status = o.status;
	a->latency_ms = o.latency_ms;
	a->retry_after_ms = o.retry_after_ms;
	a->code = o.code;
	pca_buf_add(&a->message, o.message.data ? o.message.data : "", o.message.len);
	a->provider_message_id = pca_strdup(d->key);
	if (a->verdict != PCA_DELIVERED) {
		a->details = json_object_new_object();
		pca_result_response(a->details, t->http.response.data, t->http.response.len);
	}
	pca_http_outcome_clear(&o);
	/* The attempt's state stays until the log line is written: freed on the
	 * next start, or by the engine's cleanup. */
	pca_http_call_cleanup(&t->http);
}

static void
log_fields(void *ctx, void *astate, struct pca_send_job *d, bool bodies, struct pca_buf *line)
{
	struct wh_action *w = astate;
	struct wh_attempt *t = d->attempt;
	unsigned char md[32];

	(void)ctx;
	pca_buf_adds(line, ",\"webhook_id\":");
	pca_json_write_string(line, d->key, strlen(d->key));
	pca_buf_addf(line, ",\"timestamp\":%lld,\"signature\":\"%s\",\"url\":",
	    (long long)(t ? t->ts : 0), t ? pca_buf_cstr(&t->sig) : "");
	pca_json_write_string(line, w->a->url, strlen(w->a->url));
	EVP_Digest(d->payload->data, d->payload->len, md, NULL, EVP_sha256(), NULL);
	pca_buf_adds(line, ",\"body_sha256\":\"");
	pca_hex_append(line, md, sizeof md);
	pca_buf_addc(line, '"');
	if (bodies) {
		pca_buf_adds(line, ",\"body\":");
		pca_json_write_string(line, d->payload->data, d->payload->len);
	}
}

static void
end_attempt(void *ctx, void *astate, struct pca_send_job *d)
{
	(void)ctx, (void)astate;
	free_attempt(d);
}

const struct pca_channel pca_webhook_channel = {
	.name = "webhook",
	.type = PCA_WEBHOOK,
	.per_recipient = false,
	.setup = setup,
	.teardown = teardown,
	.render = render,
	.redact = redact,
	.show = show,
	.start = start,
	.finish = finish,
	.provider = provider,
	.log_fields = log_fields,
	.end_attempt = end_attempt,
};
