#include "webhook.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "alloc.h"
#include "dispatch.h"
#include "render.h"
#include "result.h"
#include "retry.h"
#include "sign.h"
#include "timeutil.h"
#include "pca-build.h"

#define CHANNEL "webhook"
#define RESPONSE_IN_RESULT 512

struct wh_action {
	const struct pca_action *cfg;
	struct pca_signer *signer;
	char *target;              /* the URL as results may show it */
	int64_t timeout_ms;
	bool gone;                 /* answered 410, or disabled in the spool */
};

enum wh_end { END_NONE, END_OK, END_FAILED, END_SPOOL, END_DEAD, END_SKIPPED };

struct wh_record;

struct wh_job {
	struct pca_job job;
	struct wh_record *rec;
	struct wh_action *act;
	struct pca_http_call http;
	char *webhook_id;
	int attempts;              /* in this run */
	int prior;                 /* before this run (from the spool) */
	int max_attempts;          /* in this run */
	int64_t started_at, next_attempt_at;
	int64_t item_id, token;    /* the spool journal; 0: none */
	enum wh_end end;
	json_object *result;
	bool gone;                 /* this attempt got 410 */
	struct pca_buf sig;        /* of the attempt in flight, for the log */
	int64_t attempt_at, attempt_ts;
};

struct wh_record {
	struct pca_call call;
	char *file;
	unsigned long line;
	struct pca_buf body;
	struct wh_job *jobs;
	struct pca_job **jobptrs;
	size_t njobs, bytes;
	bool drained;              /* came from the spool */
	struct wh_record *next;
};

struct pca_webhook {
	const struct pca_config *cfg;
	struct pca_webhook_opts o;
	struct pca_webhook_hooks h;
	struct pca_renderer *renderer;
	struct wh_action acts[PCA_MAX_ACTIONS];
	size_t nacts;
	struct pca_netlist *allow;
	struct pca_spool *spool;
	bool in_tx;
	struct pca_dispatch *d;
	struct wh_record *pending, *pending_tail; /* journaled, not yet running */
	struct wh_record *done, *done_tail;       /* finished, not yet handed back */
	size_t waiting, held;
	struct pca_webhook_counts counts;
	char user_agent[64];
};

static CURL *job_start(void *ctx, struct pca_job *pj, int64_t now);
static void job_finish(void *ctx, struct pca_job *pj, CURL *easy, CURLcode rc, int64_t now);
static void record_complete(void *ctx, void *ud);

static const struct pca_dispatch_ops dispatch_ops = { job_start, job_finish, record_complete };

static int64_t
wall_now(const struct pca_webhook *w)
{
	return w->o.fixed_now >= 0 ? w->o.fixed_now : pca_time_now();
}

static void
warn(struct pca_webhook *w, const char *file, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void
warn(struct pca_webhook *w, const char *file, unsigned long line, const char *fmt, ...)
{
	struct pca_buf b = PCA_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pca_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (w->h.warn)
		w->h.warn(w->h.ud, file, line, b.data);
	pca_buf_free(&b);
}

/* ---- set-up ---- */

static int
setup_action(struct pca_webhook *w, const struct pca_action *a, struct wh_action *wa,
	struct pca_err *err)
{
	struct pca_buf secret = PCA_BUF_INIT, target = PCA_BUF_INIT;
	struct pca_err e = PCA_ERR_INIT;

	wa->cfg = a;
	wa->timeout_ms = w->o.timeout_ms > 0 ? w->o.timeout_ms : a->timeout_ms;
	if (pca_http_check_url(a->url, &w->o.http, &e) < 0) {
		pca_err_set(err, "%s: action %s: %s", a->origin, a->id, e.msg);
		goto fail;
	}
	if (a->secret.kind == PCA_SECRET_NONE) {
		pca_err_set(err, "%s: action %s: no secret (secret_file, secret_env or secret)",
		    a->origin, a->id);
		goto fail;
	}
	if (pca_secret_read(&a->secret, &secret, err) < 0)
		goto fail;
	wa->signer = pca_signer_new(secret.data, secret.len, w->o.v1a, &e);
	pca_buf_wipe(&secret);
	if (!wa->signer) {
		pca_err_set(err, "%s: action %s: %s", a->secret.origin, a->id, e.msg);
		goto fail;
	}
	if (pca_signer_warning(wa->signer))
		warn(w, NULL, 0, "action %s: %s", a->id, pca_signer_warning(wa->signer));
	pca_http_redact_url(&target, a->url);
	wa->target = pca_buf_detach(&target, NULL);
	return 0;
fail:
	pca_err_clear(&e);
	pca_buf_wipe(&secret);
	return -1;
}

static int
setup_actions(struct pca_webhook *w, struct pca_err *err)
{
	const struct pca_action *a;
	int64_t since;

	for (size_t i = 0; i < w->cfg->nactions; i++) {
		a = &w->cfg->actions[i];
		if (a->type != PCA_WEBHOOK || (w->o.only_action && strcmp(a->id, w->o.only_action)))
			continue;
		if (setup_action(w, a, &w->acts[w->nacts], err) < 0)
			return -1;
		if (w->spool && pca_spool_endpoint_disabled(w->spool, a->url, &since, err) > 0)
			w->acts[w->nacts].gone = true;
		w->nacts++;
	}
	if (w->nacts == 0 && w->o.only_action)
		return pca_err_set(err, "no webhook action \"%s\" in %s", w->o.only_action,
		    w->cfg->path);
	return 0;
}

struct pca_webhook *
pca_webhook_new(const struct pca_config *cfg, const struct pca_webhook_opts *o,
	const struct pca_webhook_hooks *h, struct pca_err *err)
{
	struct pca_webhook *w = pca_calloc(1, sizeof *w);

	w->cfg = cfg;
	w->o = *o;
	w->h = *h;
	snprintf(w->user_agent, sizeof w->user_agent, "pca-webhook/%s", PCA_VERSION);
	w->o.http.user_agent = w->user_agent;
	if (cfg->nallow_networks && !w->o.http.allow) {
		if (!(w->allow = pca_netlist_parse(cfg->allow_networks, cfg->nallow_networks, err)))
			goto fail;
		w->o.http.allow = w->allow;
	}
	if (cfg->allow_http)
		w->o.http.allow_http = true;
	if (cfg->cacert && !w->o.http.cacert)
		w->o.http.cacert = cfg->cacert;
	if (o->spool_path && !o->dry_run && !(w->spool = pca_spool_open(o->spool_path, err)))
		goto fail;
	if (!(w->renderer = pca_renderer_new(cfg, err)) || setup_actions(w, err) < 0)
		goto fail;
	w->d = pca_dispatch_new(o->parallel, &dispatch_ops, w);
	return w;
fail:
	pca_webhook_free(w);
	return NULL;
}

static void
free_record(struct wh_record *rec)
{
	for (size_t i = 0; i < rec->njobs; i++) {
		pca_http_call_cleanup(&rec->jobs[i].http);
		free(rec->jobs[i].webhook_id);
		json_object_put(rec->jobs[i].result);
		pca_buf_free(&rec->jobs[i].sig);
	}
	free(rec->jobs);
	free(rec->jobptrs);
	pca_buf_free(&rec->body);
	pca_call_release(&rec->call);
	free(rec->file);
	free(rec);
}

static void
free_list(struct wh_record *r)
{
	struct wh_record *next;

	for (; r; r = next) {
		next = r->next;
		free_record(r);
	}
}

void
pca_webhook_free(struct pca_webhook *w)
{
	if (!w)
		return;
	pca_dispatch_free(w->d);
	free_list(w->pending);
	free_list(w->done);
	for (size_t i = 0; i < w->nacts; i++) {
		pca_signer_free(w->acts[i].signer);
		free(w->acts[i].target);
	}
	pca_renderer_free(w->renderer);
	if (w->spool && w->in_tx) {
		struct pca_err e = PCA_ERR_INIT;
		pca_spool_tx_commit(w->spool, &e);
		pca_err_clear(&e);
	}
	pca_spool_close(w->spool);
	pca_netlist_free(w->allow);
	free(w);
}

const struct pca_webhook_counts *
pca_webhook_counts(const struct pca_webhook *w)
{
	return &w->counts;
}

size_t
pca_webhook_waiting(const struct pca_webhook *w)
{
	return w->waiting;
}

size_t
pca_webhook_held(const struct pca_webhook *w)
{
	return w->held;
}

/* ---- results ---- */

static void
add_response(json_object *r, const struct pca_buf *resp)
{
	size_t n = resp->len < RESPONSE_IN_RESULT ? resp->len : RESPONSE_IN_RESULT;

	/* Keep whole UTF-8 characters only: results are JSON text. */
	while (n > 0 && n < resp->len && ((unsigned char)resp->data[n] & 0xc0) == 0x80)
		n--;
	if (n)
		json_object_object_add(r, "response", json_object_new_string_len(resp->data,
		    (int)n));
}

static json_object *
new_result(struct wh_job *j, const char *status, int64_t finished)
{
	json_object *r = pca_result_new(j->act->cfg->id, "webhook", j->act->target);

	pca_result_str(r, "status", status);
	pca_result_int(r, "attempts", j->prior + j->attempts);
	if (j->attempts) {
		pca_result_time(r, "started_at", j->started_at);
		pca_result_time(r, "finished_at", finished);
	}
	pca_result_str(r, "provider", "pca-webhook");
	pca_result_str(r, "provider_message_id", j->webhook_id);
	pca_result_int(r, "credits", 0);
	return r;
}

/* A job that ends before any attempt in this run. */
static void
settle_early(struct pca_webhook *w, struct wh_job *j, enum wh_end end, const char *status,
	const char *code, const char *message)
{
	j->end = end;
	j->result = new_result(j, status, wall_now(w));
	if (code)
		pca_result_error(j->result, code, message);
	j->job.done = true;
}

static char *
make_webhook_id(const struct pca_webhook *w, const char *call_id, const char *action_id)
{
	struct pca_buf b = PCA_BUF_INIT;
	unsigned char r[6];

	pca_webhook_id(&b, call_id, action_id);
	if (w->o.new_id && RAND_bytes(r, sizeof r) == 1)
		pca_buf_addf(&b, ":%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
	return pca_buf_detach(&b, NULL);
}

/* ---- adding records ---- */

static void
push(struct wh_record **head, struct wh_record **tail, struct wh_record *r)
{
	r->next = NULL;
	if (*tail)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

/* The spool filled `it` with an existing item: say so in the result,
 * without sending. */
static void
settle_known(struct pca_webhook *w, struct wh_job *j, const struct pca_spool_item *it)
{
	struct pca_buf msg = PCA_BUF_INIT;

	j->prior = it->attempts;
	switch (it->state) {
	case PCA_ITEM_DONE:
		pca_buf_addf(&msg, "%s was delivered before; --resend sends it again", j->webhook_id);
		settle_early(w, j, END_SKIPPED, "skipped", "already_delivered", msg.data);
		break;
	case PCA_ITEM_DEAD:
		pca_buf_addf(&msg, "%s gave up after %d attempts; --resend sends it again",
		    j->webhook_id, it->attempts);
		settle_early(w, j, END_FAILED, "failed", "dead", msg.data);
		break;
	default:
		settle_early(w, j, END_SPOOL, "spooled", NULL, NULL);
		pca_result_time(j->result, "next_attempt_at", it->next_attempt_at);
		break;
	}
	pca_buf_free(&msg);
}

/* Fields we lent to the spool are not the item's to free; those the spool
 * filled in (an existing item) are. */
static void
forget_borrowed(struct pca_spool_item *it, struct wh_record *rec, struct wh_job *j,
	struct pca_buf *text)
{
	if (it->channel == (char *)CHANNEL)
		it->channel = NULL;
	if (it->key == j->webhook_id)
		it->key = NULL;
	if (it->action_id == j->act->cfg->id)
		it->action_id = NULL;
	if (it->call_id == rec->call.call_id)
		it->call_id = NULL;
	if (it->target == j->act->cfg->url)
		it->target = NULL;
	if (it->record == text->data)
		it->record = NULL;
	if (it->payload.data == rec->body.data)
		pca_buf_init(&it->payload);
}

static int
journal(struct pca_webhook *w, struct wh_record *rec, struct wh_job *j, struct pca_err *err)
{
	struct pca_spool_item it = { 0 };
	struct pca_buf text = PCA_BUF_INIT;
	int rc;

	if (!w->in_tx) {
		if (pca_spool_tx_begin(w->spool, err) < 0)
			return -1;
		w->in_tx = true;
	}
	pca_json_write(&text, rec->call.obj);
	it.channel = CHANNEL;
	it.key = j->webhook_id;
	it.action_id = j->act->cfg->id;
	it.call_id = (char *)rec->call.call_id;
	it.target = j->act->cfg->url;
	it.record = text.data;
	it.payload = rec->body;
	/* Long enough for every quick attempt, so nobody reclaims it meanwhile. */
	rc = pca_spool_begin(w->spool, &it, wall_now(w), (int64_t)j->max_attempts *
	    (j->act->timeout_ms + PCA_RETRY_MAX_WAIT) + 60000, w->o.resend, err);
	if (rc == 1) {
		j->item_id = it.id;
		j->token = it.lease_token;
		j->prior = it.attempts;
	} else if (rc == 0) {
		settle_known(w, j, &it);
	}
	forget_borrowed(&it, rec, j, &text);
	pca_spool_item_clear(&it);
	pca_buf_free(&text);
	return rc < 0 ? -1 : 0;
}

/* --dry-run: the request as it would go on the wire (HTTP/1.1 origin form). */
static int
print_request(struct pca_webhook *w, struct wh_record *rec, struct wh_job *j,
	struct pca_err *err)
{
	struct pca_buf sig = PCA_BUF_INIT, out = PCA_BUF_INIT;
	int64_t ts = wall_now(w) / 1000;
	CURLU *u = curl_url();
	char *host = NULL, *path = NULL, *port = NULL;

	if (pca_signer_sign(j->act->signer, j->webhook_id, ts, rec->body.data, rec->body.len, &sig,
	    err) < 0) {
		curl_url_cleanup(u);
		return -1;
	}
	curl_url_set(u, CURLUPART_URL, j->act->cfg->url, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	pca_buf_addf(&out, "POST %s HTTP/1.1\r\nHost: %s%s%s\r\nUser-Agent: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\nwebhook-id: %s\r\n"
	    "webhook-timestamp: %lld\r\nwebhook-signature: %s\r\n\r\n", path ? path : "/", host,
	    port ? ":" : "", port ? port : "", w->user_agent, rec->body.len, j->webhook_id,
	    (long long)ts, sig.data);
	pca_buf_add(&out, rec->body.data, rec->body.len);
	if (w->h.request)
		w->h.request(w->h.ud, out.data, out.len);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	pca_buf_free(&sig);
	pca_buf_free(&out);
	return 0;
}

static size_t
select_actions(struct pca_webhook *w, const struct pca_call *call, struct wh_action **sel,
	const char **ids)
{
	const char *contact = pca_render_contact_name(w->renderer, call), *why;
	size_t n = 0;

	for (size_t i = 0; i < w->nacts; i++) {
		if (!pca_when_matches(&w->acts[i].cfg->when, call, contact, &why))
			continue;
		sel[n] = &w->acts[i];
		ids[n++] = w->acts[i].cfg->id;
	}
	return n;
}

static int
init_job(struct pca_webhook *w, struct wh_record *rec, struct wh_job *j, struct wh_action *a,
	struct pca_err *err)
{
	j->job.ud = j;
	j->rec = rec;
	j->act = a;
	j->max_attempts = w->o.attempts > 0 ? w->o.attempts : PCA_RETRY_FIRST_RUN;
	j->webhook_id = make_webhook_id(w, rec->call.call_id, a->cfg->id);
	if (w->o.dry_run)
		return print_request(w, rec, j, err);
	if (a->gone) {
		settle_early(w, j, END_SKIPPED, "skipped", "endpoint_disabled",
		    "the endpoint answered 410 Gone and is disabled; re-enable it with "
		    "--enable-endpoint");
		return 0;
	}
	return w->spool ? journal(w, rec, j, err) : 0;
}

int
pca_webhook_add(struct pca_webhook *w, struct pca_call *call, const char *file,
	unsigned long line, struct pca_err *err)
{
	struct wh_action *sel[PCA_MAX_ACTIONS];
	const char *ids[PCA_MAX_ACTIONS];
	size_t n = select_actions(w, call, sel, ids), room;
	struct wh_record *rec;

	if ((room = pca_result_projected(call, ids, n)) > PCA_MAX_ACTIONS)
		return pca_err_set(err, "post_call_actions: %zu entries with this program's results, "
		    "more than %d", room, PCA_MAX_ACTIONS);
	rec = pca_calloc(1, sizeof *rec);
	rec->call = *call;
	memset(call, 0, sizeof *call);
	rec->file = pca_strdup(file);
	rec->line = line;
	rec->njobs = n;
	rec->jobs = pca_calloc(n ? n : 1, sizeof *rec->jobs);
	rec->jobptrs = pca_calloc(n ? n : 1, sizeof *rec->jobptrs);
	if (n)
		pca_render_webhook(w->renderer, &rec->call, &rec->body);
	rec->call.raw = NULL; /* the line goes when the next one is read */
	for (size_t i = 0; i < n; i++) {
		rec->jobptrs[i] = &rec->jobs[i].job;
		if (init_job(w, rec, &rec->jobs[i], sel[i], err) < 0) {
			free_record(rec);
			return -2; /* not the record's fault: stop */
		}
	}
	w->counts.records++;
	if (w->o.dry_run) {
		free_record(rec);
		return 0;
	}
	rec->bytes = rec->body.len * 2 + 4096;
	w->held += rec->bytes;
	w->waiting++;
	push(&w->pending, &w->pending_tail, rec);
	return 0;
}

/* ---- attempts ---- */

static void
log_attempt(struct pca_webhook *w, struct wh_job *j, int64_t at, int64_t ts, const char *sig,
	const struct pca_http_outcome *o)
{
	struct pca_buf b = PCA_BUF_INIT, t = PCA_BUF_INIT;
	unsigned char md[32];
	char hex[65];

	if (!w->o.log)
		return;
	EVP_Digest(j->rec->body.data, j->rec->body.len, md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	pca_time_format(&t, at);
	pca_buf_addf(&b, "{\"at\":\"%s\",\"webhook_id\":", t.data);
	pca_json_write_string(&b, j->webhook_id, strlen(j->webhook_id));
	pca_buf_addf(&b, ",\"timestamp\":%lld,\"signature\":\"%s\",\"url\":", (long long)ts, sig);
	pca_json_write_string(&b, j->act->cfg->url, strlen(j->act->cfg->url));
	pca_buf_addf(&b, ",\"status\":%ld,\"latency_ms\":%lld", o->status, (long long)o->latency_ms);
	if (o->code) {
		pca_buf_addf(&b, ",\"error\":\"%s\",\"message\":", o->code);
		pca_json_write_string(&b, o->message.data ? o->message.data : "", o->message.len);
	}
	pca_buf_addf(&b, ",\"body_sha256\":\"%s\",\"call_id\":", hex);
	pca_json_write_string(&b, j->rec->call.call_id, strlen(j->rec->call.call_id));
	pca_buf_addf(&b, ",\"action_id\":\"%s\",\"attempt\":%d", j->act->cfg->id,
	    j->prior + j->attempts);
	if (w->o.log_bodies) {
		pca_buf_adds(&b, ",\"body\":");
		pca_json_write_string(&b, j->rec->body.data, j->rec->body.len);
	}
	pca_buf_adds(&b, "}\n");
	fwrite(b.data, 1, b.len, w->o.log);
	pca_buf_free(&b);
	pca_buf_free(&t);
}

static CURL *
job_start(void *ctx, struct pca_job *pj, int64_t now)
{
	struct pca_webhook *w = ctx;
	struct wh_job *j = pj->ud;
	struct pca_buf sig = PCA_BUF_INIT, h[4] = { PCA_BUF_INIT, PCA_BUF_INIT, PCA_BUF_INIT,
	    PCA_BUF_INIT };
	const char *headers[5];
	struct pca_err err = PCA_ERR_INIT;
	int64_t wall = wall_now(w), ts = wall / 1000;
	int rc;

	(void)now;
	if (j->attempts++ == 0)
		j->started_at = wall;
	/* A fresh timestamp and signature on every attempt; the id stays. */
	rc = pca_signer_sign(j->act->signer, j->webhook_id, ts, j->rec->body.data,
	    j->rec->body.len, &sig, &err);
	pca_buf_adds(&h[0], "Content-Type: application/json");
	pca_buf_addf(&h[1], "webhook-id: %s", j->webhook_id);
	pca_buf_addf(&h[2], "webhook-timestamp: %lld", (long long)ts);
	pca_buf_addf(&h[3], "webhook-signature: %s", pca_buf_cstr(&sig));
	for (int i = 0; i < 4; i++)
		headers[i] = h[i].data;
	headers[4] = NULL;
	if (rc == 0)
		rc = pca_http_prepare_post(&j->http, &w->o.http, j->act->cfg->url, headers,
		    j->rec->body.data, j->rec->body.len, (long)j->act->timeout_ms, &err);
	for (int i = 0; i < 4; i++)
		pca_buf_free(&h[i]);
	if (rc < 0) {
		settle_early(w, j, END_FAILED, "failed", "internal", pca_err_msg(&err));
		pca_buf_free(&sig);
		pca_err_clear(&err);
		return NULL;
	}
	/* Kept for the log line, written when the attempt ends. */
	pca_buf_free(&j->sig);
	j->sig = sig;
	j->attempt_at = wall;
	j->attempt_ts = ts;
	return j->http.easy;
}

static void
end_job(struct pca_webhook *w, struct wh_job *j, enum wh_end end, const char *status,
	const struct pca_http_outcome *o)
{
	int64_t wall = wall_now(w);

	j->end = end;
	j->job.done = true;
	j->result = new_result(j, status, wall);
	if (o->status)
		pca_result_int(j->result, "http_status", o->status);
	pca_result_int(j->result, "latency_ms", o->latency_ms);
	if (o->code)
		pca_result_error(j->result, o->code, pca_buf_cstr((struct pca_buf *)&o->message));
	if (end != END_OK)
		add_response(j->result, &j->http.response);
	if (end == END_SPOOL)
		pca_result_time(j->result, "next_attempt_at", j->next_attempt_at);
}

/* A temporary failure: again soon in this run, or later from the spool. */
static void
temporary(struct pca_webhook *w, struct wh_job *j, const struct pca_http_outcome *o,
	int64_t now)
{
	int64_t delay;

	if (j->attempts < j->max_attempts &&
	    o->retry_after_ms <= PCA_RETRY_MAX_WAIT) {
		delay = pca_retry_quick_delay(j->attempts);
		j->job.not_before = now + (o->retry_after_ms > delay ? o->retry_after_ms : delay);
		return;
	}
	if (!w->spool) {
		end_job(w, j, END_FAILED, "failed", o);
		return;
	}
	delay = pca_retry_spool_delay(j->prior + j->attempts, o->retry_after_ms);
	if (delay < 0) {
		end_job(w, j, END_DEAD, "failed", o);
		return;
	}
	j->next_attempt_at = wall_now(w) + delay;
	end_job(w, j, END_SPOOL, "spooled", o);
}

static void
job_finish(void *ctx, struct pca_job *pj, CURL *easy, CURLcode rc, int64_t now)
{
	struct pca_webhook *w = ctx;
	struct wh_job *j = pj->ud;
	struct pca_http_outcome o;

	(void)easy;
	pca_http_outcome(&j->http, rc, wall_now(w), &o);
	log_attempt(w, j, j->attempt_at, j->attempt_ts, pca_buf_cstr(&j->sig), &o);
	switch (pca_retry_classify(&o)) {
	case PCA_DELIVERED:
		end_job(w, j, END_OK, "succeeded", &o);
		break;
	case PCA_GONE:
		j->act->gone = true;
		j->gone = true;
		end_job(w, j, END_DEAD, "failed", &o);
		pca_result_error(j->result, "gone", "the endpoint answered 410 Gone: it is disabled, "
		    "and later deliveries to it are skipped");
		break;
	case PCA_PERMANENT:
		end_job(w, j, END_DEAD, "failed", &o);
		break;
	case PCA_TEMPORARY:
		temporary(w, j, &o, now);
		break;
	}
	pca_http_outcome_clear(&o);
	pca_http_call_cleanup(&j->http);
}

static void
record_complete(void *ctx, void *ud)
{
	struct pca_webhook *w = ctx;

	push(&w->done, &w->done_tail, ud);
}

/* ---- handing records back ---- */

static int
ensure_tx(struct pca_webhook *w, struct pca_err *err)
{
	if (w->in_tx)
		return 0;
	if (pca_spool_tx_begin(w->spool, err) < 0)
		return -1;
	w->in_tx = true;
	return 0;
}

static int
commit(struct pca_webhook *w, struct pca_err *err)
{
	if (!w->in_tx)
		return 0;
	w->in_tx = false;
	return pca_spool_tx_commit(w->spool, err);
}

static int
spool_outcome(struct pca_webhook *w, struct wh_job *j, struct pca_err *err)
{
	struct pca_buf r = PCA_BUF_INIT;
	int attempts = j->prior + j->attempts, rc = 0;
	int64_t now = wall_now(w);

	if (!j->item_id)
		return 0;
	pca_json_write(&r, j->result);
	if (j->end == END_OK)
		rc = pca_spool_done(w->spool, j->item_id, j->token, attempts, r.data, now, err);
	else if (j->end == END_SPOOL)
		rc = pca_spool_retry(w->spool, j->item_id, j->token, attempts, j->next_attempt_at,
		    r.data, now, err);
	else
		rc = pca_spool_dead(w->spool, j->item_id, j->token, attempts, r.data, now, err);
	if (rc == 0)
		warn(w, j->rec->file, j->rec->line, "%s: the spool lease was lost meanwhile (another "
		    "run took the item over); its outcome stands", j->webhook_id);
	if (rc >= 0 && j->gone)
		rc = pca_spool_disable_endpoint(w->spool, j->act->cfg->url, "410 Gone", now, err);
	pca_buf_free(&r);
	return rc < 0 ? -1 : 0;
}

static void
count(struct pca_webhook *w, const struct wh_job *j)
{
	switch (j->end) {
	case END_OK: w->counts.succeeded++; break;
	case END_SPOOL: w->counts.spooled++; break;
	case END_SKIPPED: w->counts.skipped++; break;
	default: w->counts.failed++; break;
	}
}

static void
hand_back(struct pca_webhook *w, struct wh_record *rec)
{
	bool finished = true;

	for (size_t i = 0; i < rec->njobs; i++) {
		count(w, &rec->jobs[i]);
		finished = finished && rec->jobs[i].end != END_SPOOL;
		pca_result_set(&rec->call, rec->jobs[i].result);
		rec->jobs[i].result = NULL;
	}
	/* A drain prints what it finished; what it put back stays in the spool. */
	if (w->h.record && (!rec->drained || finished))
		w->h.record(w->h.ud, &rec->call);
}

static int
flush_done(struct pca_webhook *w, struct pca_err *err)
{
	struct wh_record *rec, *next;

	if (!w->done)
		return 0;
	if (w->spool) {
		if (ensure_tx(w, err) < 0)
			return -1;
		for (rec = w->done; rec; rec = rec->next)
			for (size_t i = 0; i < rec->njobs; i++)
				if (spool_outcome(w, &rec->jobs[i], err) < 0)
					return -1;
		if (commit(w, err) < 0)
			return -1;
	}
	for (rec = w->done; rec; rec = next) {
		next = rec->next;
		hand_back(w, rec);
		w->waiting--;
		w->held -= rec->bytes;
		free_record(rec);
	}
	w->done = w->done_tail = NULL;
	return 0;
}

static int
step(struct pca_webhook *w, int max_wait_ms, int fd, bool *fd_ready, struct pca_err *err)
{
	struct wh_record *rec, *next;

	/* Journal first, then send: a crash from here on loses nothing. */
	if (w->spool && commit(w, err) < 0)
		return -1;
	for (rec = w->pending; rec; rec = next) {
		next = rec->next;
		pca_dispatch_add(w->d, rec, rec->jobptrs, rec->njobs);
	}
	w->pending = w->pending_tail = NULL;
	if (pca_dispatch_step(w->d, max_wait_ms, fd, fd_ready) < 0)
		return pca_err_set(err, "libcurl failed to run the transfers");
	return flush_done(w, err);
}

int
pca_webhook_step(struct pca_webhook *w, int max_wait_ms, int fd, bool *fd_ready)
{
	struct pca_err err = PCA_ERR_INIT;
	int rc = step(w, max_wait_ms, fd, fd_ready, &err);

	if (rc < 0) {
		warn(w, NULL, 0, "%s", pca_err_msg(&err));
		pca_err_clear(&err);
	}
	return rc;
}

int
pca_webhook_finish(struct pca_webhook *w, struct pca_err *err)
{
	while (w->waiting > 0)
		if (step(w, 1000, -1, NULL, err) < 0)
			return -1;
	return commit(w, err);
}

/* ---- draining the spool ---- */

static struct wh_action *
action_by_id(struct pca_webhook *w, const char *id)
{
	for (size_t i = 0; i < w->nacts; i++)
		if (strcmp(w->acts[i].cfg->id, id) == 0)
			return &w->acts[i];
	return NULL;
}

/* An item whose action is no longer configured, or whose record no longer
 * reads: keep it, an hour later, and say so. */
static int
postpone(struct pca_webhook *w, const struct pca_spool_item *it, const char *why,
	struct pca_err *err)
{
	int64_t now = wall_now(w);

	warn(w, NULL, 0, "spool item %s: %s; kept for later", it->key, why);
	w->counts.spooled++;
	return pca_spool_retry(w->spool, it->id, it->lease_token, it->attempts, now + 3600000, NULL,
	    now, err) < 0 ? -1 : 0;
}

static struct wh_record *
record_from_item(struct pca_webhook *w, struct pca_spool_item *it, struct pca_parser *p,
	struct pca_err *err)
{
	struct wh_action *a = action_by_id(w, it->action_id);
	struct wh_record *rec;
	struct wh_job *j;
	struct pca_err perr = PCA_ERR_INIT;
	struct pca_call call;

	if (!a) {
		postpone(w, it, "no such webhook action in the configuration", err);
		return NULL;
	}
	if (pca_record_parse(p, it->record, strlen(it->record), &call, &perr) < 0) {
		postpone(w, it, perr.msg, err);
		pca_err_clear(&perr);
		return NULL;
	}
	rec = pca_calloc(1, sizeof *rec);
	rec->call = call;
	rec->file = pca_strdup("spool");
	rec->drained = true;
	rec->njobs = 1;
	rec->jobs = j = pca_calloc(1, sizeof *rec->jobs);
	rec->jobptrs = pca_calloc(1, sizeof *rec->jobptrs);
	rec->jobptrs[0] = &j->job;
	rec->body = it->payload;
	pca_buf_init(&it->payload);
	j->job.ud = j;
	j->rec = rec;
	j->act = a;
	j->webhook_id = pca_strdup(it->key);
	j->prior = it->attempts;
	j->max_attempts = 1; /* the spool's schedule spaces the attempts out */
	j->item_id = it->id;
	j->token = it->lease_token;
	if (a->gone)
		settle_early(w, j, END_DEAD, "failed", "endpoint_disabled",
		    "the endpoint answered 410 Gone and is disabled");
	rec->bytes = rec->body.len * 2 + 4096;
	return rec;
}

int
pca_webhook_drain(struct pca_webhook *w, struct pca_err *err)
{
	struct pca_parser *p = pca_parser_new();
	struct pca_spool_item *items;
	struct wh_record *rec;
	size_t n, batch = (size_t)(w->o.parallel > 0 ? w->o.parallel : 16) * 4;
	int64_t lease = (w->o.timeout_ms > 0 ? w->o.timeout_ms : 30000) + 120000;
	int rc = 0;

	if (!w->spool)
		rc = pca_err_set(err, "--drain needs a spool (--spool FILE, or spool: in the "
		    "configuration)");
	while (rc == 0) {
		if (pca_spool_claim(w->spool, CHANNEL, wall_now(w), lease, batch, &items, &n, err) < 0)
			rc = -1;
		if (rc < 0 || n == 0)
			break;
		for (size_t i = 0; i < n && rc == 0; i++) {
			rec = record_from_item(w, &items[i], p, err);
			if (!rec)
				continue;
			w->counts.records++;
			w->waiting++;
			w->held += rec->bytes;
			push(&w->pending, &w->pending_tail, rec);
		}
		pca_spool_items_free(items, n);
		if (rc == 0)
			rc = pca_webhook_finish(w, err);
	}
	pca_parser_free(p);
	return rc;
}
