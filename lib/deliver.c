#include "deliver.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "alloc.h"
#include "progress.h"
#include "render.h"
#include "result.h"
#include "spool.h"
#include "timeutil.h"

/* render() may put the credits one recipient costs here; the entry then
 * says what the recipients that got it cost. */
#define CREDITS_EACH "_credits_each"

struct pca_dl_action {
	struct pca_sender *s;
	const struct pca_action *cfg;
	void *state;
	int64_t timeout_ms;
	bool gone;                 /* answered 410, or disabled in the spool */
};

/* One action's part of a record: what it sends and to whom. */
struct pca_dl_plan {
	struct pca_dl_action *action;
	struct pca_buf payload;
	json_object *fields;       /* from render(): segments, encoding, credits... */
	size_t first, n;           /* its deliveries in rec->dels */
	struct pca_spool_item *item; /* drain: the spooled item */
	double credits_each;       /* drain: what one recipient costs, -1 if unknown */
};

struct pca_dl_record {
	struct pca_sender *s;
	struct pca_call call;
	char *file;
	unsigned long line;
	struct pca_dl_plan *plans;
	size_t nplans;
	struct pca_send_job *dels;
	struct pca_job **jobptrs;
	size_t ndels, bytes;
	bool drained;
	bool hand_back;            /* written out once its outcomes are committed */
	struct pca_dl_record *next;
};

struct pca_sender {
	const struct pca_config *cfg;
	const struct pca_channel *ch;
	void *chctx;
	struct pca_sender_opts o;
	struct pca_sender_hooks h;
	struct pca_renderer *renderer;
	struct pca_dl_action acts[PCA_MAX_ACTIONS];
	size_t nacts;
	struct pca_netlist *allow;
	struct pca_spool *spool;
	bool in_tx;
	struct pca_dispatch *d;
	struct pca_dl_record *pending, *pending_tail; /* journaled, not yet running */
	struct pca_dl_record *done, *done_tail;       /* finished, not yet handed back */
	size_t waiting, held;
	struct pca_sender_counts counts;
};

static CURL *job_start(void *ctx, struct pca_job *pj, int64_t now);
static void end_attempt(struct pca_sender *s, struct pca_send_job *d);
static void job_finish(void *ctx, struct pca_job *pj, CURL *easy, CURLcode rc, int64_t now);
static void record_complete(void *ctx, void *ud);

static const struct pca_dispatch_ops dispatch_ops = { job_start, job_finish, record_complete };

int64_t
pca_sender_now(const struct pca_sender *s)
{
	return s->o.fixed_now >= 0 ? s->o.fixed_now : pca_time_now();
}

int64_t
pca_sender_now_of(const struct pca_send_job *d)
{
	return pca_sender_now(d->action->s);
}

int64_t
pca_send_job_timeout(const struct pca_send_job *d)
{
	return d->action->timeout_ms;
}

void
pca_send_job_unprepared(struct pca_send_job *d, struct pca_attempt *a, struct pca_err *err)
{
	a->verdict = PCA_PERMANENT;
	a->code = "internal";
	pca_buf_adds(&a->message, pca_err_msg(err));
	pca_err_clear(err);
	d->job.done = true;
}

const struct pca_call *
pca_send_job_call(const struct pca_send_job *d)
{
	return &d->rec->call;
}

void *
pca_send_job_astate(const struct pca_send_job *d)
{
	return d->action->state;
}

const struct pca_sender_opts *
pca_sender_opts_of(const struct pca_send_job *d)
{
	return &d->action->s->o;
}

void
pca_attempt_clear(struct pca_attempt *a)
{
	pca_buf_free(&a->message);
	free(a->provider_message_id);
	json_object_put(a->details);
	memset(a, 0, sizeof *a);
	a->retry_after_ms = -1;
}

static void
warn(struct pca_sender *s, const char *file, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void
warn(struct pca_sender *s, const char *file, unsigned long line, const char *fmt, ...)
{
	struct pca_buf b = PCA_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pca_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (s->h.warn)
		s->h.warn(s->h.ud, file, line, b.data);
	pca_buf_free(&b);
}

/* ---- set-up ---- */

static int
setup_actions(struct pca_sender *s, struct pca_err *err)
{
	const struct pca_action *a;
	struct pca_dl_action *da;
	int64_t since;

	for (size_t i = 0; i < s->cfg->nactions; i++) {
		a = &s->cfg->actions[i];
		if (a->type != s->ch->type || (s->o.only_action && strcmp(a->id, s->o.only_action)))
			continue;
		da = &s->acts[s->nacts];
		da->s = s;
		da->cfg = a;
		da->timeout_ms = s->o.timeout_ms > 0 ? s->o.timeout_ms : a->timeout_ms;
		if (!(da->state = s->ch->setup(s->chctx, a, &s->o, err)))
			return -1;
		s->nacts++;
		if (s->spool && a->type == PCA_WEBHOOK &&
		    pca_spool_endpoint_disabled(s->spool, a->url, &since, err) > 0)
			da->gone = true;
	}
	if (s->nacts == 0 && s->o.only_action)
		return pca_err_set(err, "no %s action \"%s\" in %s", s->ch->name, s->o.only_action,
		    s->cfg->path);
	return 0;
}

static int
setup_http(struct pca_sender *s, struct pca_err *err)
{
	if (s->cfg->nallow_networks && !s->o.http.allow) {
		s->allow = pca_netlist_parse(s->cfg->allow_networks, s->cfg->nallow_networks, err);
		if (!s->allow)
			return -1;
		s->o.http.allow = s->allow;
	}
	if (s->cfg->allow_http)
		s->o.http.allow_http = true;
	if (s->cfg->cacert && !s->o.http.cacert)
		s->o.http.cacert = s->cfg->cacert;
	return 0;
}

struct pca_sender *
pca_sender_new(const struct pca_config *cfg, const struct pca_channel *ch, void *chctx,
	const struct pca_sender_opts *o, const struct pca_sender_hooks *h, struct pca_err *err)
{
	struct pca_sender *s = pca_calloc(1, sizeof *s);

	s->cfg = cfg;
	s->ch = ch;
	s->chctx = chctx;
	s->o = *o;
	s->h = *h;
	if (setup_http(s, err) < 0)
		goto fail;
	if (o->spool_path && !o->dry_run && !(s->spool = pca_spool_open(o->spool_path, err)))
		goto fail;
	if (!(s->renderer = pca_renderer_new(cfg, err)) || setup_actions(s, err) < 0)
		goto fail;
	s->d = pca_dispatch_new(o->parallel, &dispatch_ops, s);
	if (ch->blocking)
		pca_dispatch_use_threads(s->d);
	return s;
fail:
	pca_sender_free(s);
	return NULL;
}

static void
free_record(struct pca_dl_record *rec)
{
	for (size_t i = 0; i < rec->ndels; i++) {
		if (rec->dels[i].action)
			end_attempt(rec->s, &rec->dels[i]);
		free(rec->dels[i].key);
		free(rec->dels[i].recipient);
		free(rec->dels[i].shown);
		json_object_put(rec->dels[i].result);
	}
	for (size_t i = 0; i < rec->nplans; i++) {
		pca_buf_free(&rec->plans[i].payload);
		json_object_put(rec->plans[i].fields);
		if (rec->plans[i].item)
			pca_spool_item_clear(rec->plans[i].item);
		free(rec->plans[i].item);
	}
	free(rec->plans);
	free(rec->dels);
	free(rec->jobptrs);
	pca_call_release(&rec->call);
	free(rec->file);
	free(rec);
}

static void
free_list(struct pca_dl_record *r)
{
	struct pca_dl_record *next;

	for (; r; r = next) {
		next = r->next;
		free_record(r);
	}
}

void
pca_sender_free(struct pca_sender *s)
{
	struct pca_err e = PCA_ERR_INIT;

	if (!s)
		return;
	pca_dispatch_free(s->d);
	free_list(s->pending);
	free_list(s->done);
	for (size_t i = 0; i < s->nacts; i++)
		s->ch->teardown(s->chctx, s->acts[i].state);
	pca_renderer_free(s->renderer);
	if (s->spool && s->in_tx)
		pca_spool_tx_commit(s->spool, &e);
	pca_err_clear(&e);
	pca_spool_close(s->spool);
	pca_netlist_free(s->allow);
	free(s);
}

const struct pca_sender_counts *
pca_sender_counts(const struct pca_sender *s)
{
	return &s->counts;
}

size_t
pca_sender_waiting(const struct pca_sender *s)
{
	return s->waiting;
}

size_t
pca_sender_held(const struct pca_sender *s)
{
	return s->held;
}

/* ---- a delivery's result ---- */

static const char *
provider_of(struct pca_send_job *d)
{
	struct pca_sender *s = d->action->s;

	return s->ch->provider(s->chctx, d->action->state);
}

/* The delivery's own outcome: what a recipient's line in an entry says. */
static json_object *
new_result(struct pca_send_job *d, const char *status, int64_t finished)
{
	json_object *r = json_object_new_object();

	pca_result_str(r, "target", d->shown);
	pca_result_str(r, "status", status);
	pca_result_int(r, "attempts", d->prior + d->attempts);
	if (d->attempts) {
		pca_result_time(r, "started_at", d->started_at);
		pca_result_time(r, "finished_at", finished);
	}
	return r;
}

static void
end_early(struct pca_send_job *d, enum pca_dl_end end, const char *status, const char *code,
	const char *message)
{
	d->end = end;
	d->job.done = true;
	json_object_put(d->result);
	d->result = new_result(d, status, pca_sender_now(d->action->s));
	/* A webhook's key is its webhook-id, known without sending. */
	if (d->action->s->ch->type == PCA_WEBHOOK)
		pca_result_str(d->result, "provider_message_id", d->key);
	if (code)
		pca_result_error(d->result, code, message);
}

/* The attempt's facts into the result. */
static void
end_with(struct pca_send_job *d, enum pca_dl_end end, const char *status,
	struct pca_attempt *a)
{
	json_object *r;

	d->end = end;
	d->job.done = true;
	json_object_put(d->result);
	r = d->result = new_result(d, status, pca_sender_now(d->action->s));
	if (a->provider_message_id)
		pca_result_str(r, "provider_message_id", a->provider_message_id);
	if (a->http_status)
		pca_result_int(r, "http_status", a->http_status);
	if (a->smtp_code)
		pca_result_int(r, "smtp_code", a->smtp_code);
	pca_result_int(r, "latency_ms", a->latency_ms);
	if (a->code)
		pca_result_error(r, a->code, pca_buf_cstr(&a->message));
	if (a->details) {
		json_object_object_foreach(a->details, k, v)
			json_object_object_add(r, k, json_object_get(v));
	}
	if (end == PCA_DL_SPOOL)
		pca_result_time(r, "next_attempt_at", d->next_attempt_at);
}

static char *
make_key(const struct pca_sender *s, const struct pca_call *call, const struct pca_action *a,
	const char *recipient)
{
	struct pca_buf b = PCA_BUF_INIT;
	unsigned char r[6];

	pca_buf_addf(&b, "pca:%s:%s", a->id, call->call_id);
	if (s->ch->per_recipient) {
		char *k = s->ch->key ? s->ch->key(recipient) : NULL;
		pca_buf_addf(&b, ":%s", k ? k : recipient);
		free(k);
	}
	if (s->o.new_id && RAND_bytes(r, sizeof r) == 1)
		pca_buf_addf(&b, ":%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
	return pca_buf_detach(&b, NULL);
}

/* ---- taking records ---- */

static void
push(struct pca_dl_record **head, struct pca_dl_record **tail, struct pca_dl_record *r)
{
	r->next = NULL;
	if (*tail)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

static int
ensure_tx(struct pca_sender *s, struct pca_err *err)
{
	if (s->in_tx)
		return 0;
	if (pca_spool_tx_begin(s->spool, err) < 0)
		return -1;
	s->in_tx = true;
	return 0;
}

static int
commit(struct pca_sender *s, struct pca_err *err)
{
	if (!s->in_tx)
		return 0;
	s->in_tx = false;
	return pca_spool_tx_commit(s->spool, err);
}

/* The spool already has this key: say so, without sending. */
static void
settle_known(struct pca_send_job *d, const struct pca_spool_item *it)
{
	struct pca_buf msg = PCA_BUF_INIT;

	d->prior = it->attempts;
	switch (it->state) {
	case PCA_ITEM_DONE:
		pca_buf_addf(&msg, "%s was delivered before; --resend sends it again", d->key);
		end_early(d, PCA_DL_SKIPPED, "skipped", "already_delivered", msg.data);
		break;
	case PCA_ITEM_DEAD:
		pca_buf_addf(&msg, "%s gave up after %d attempts; --resend sends it again", d->key,
		    it->attempts);
		end_early(d, PCA_DL_FAILED, "failed", "dead", msg.data);
		break;
	default:
		/* Leased by another run (or one that died): it is theirs until the
		 * lease ends, and no drain can take it before. */
		end_early(d, PCA_DL_SPOOL, "spooled", NULL, NULL);
		pca_result_time(d->result, "next_attempt_at", it->state == PCA_ITEM_LEASED &&
		    it->lease_until > it->next_attempt_at ? it->lease_until : it->next_attempt_at);
		break;
	}
	pca_buf_free(&msg);
}

/* The spool neither uses nor frees what we lent it when it fills in an
 * existing item instead: drop our pointers, keep (and free) its copies. */
static void
forget_lent(struct pca_spool_item *it, const struct pca_spool_item *lent)
{
	if (it->channel == lent->channel)
		it->channel = NULL;
	if (it->key == lent->key)
		it->key = NULL;
	if (it->action_id == lent->action_id)
		it->action_id = NULL;
	if (it->call_id == lent->call_id)
		it->call_id = NULL;
	if (it->target == lent->target)
		it->target = NULL;
	if (it->record == lent->record)
		it->record = NULL;
	if (it->payload.data == lent->payload.data)
		pca_buf_init(&it->payload);
	if (it->meta != lent->meta)
		free(lent->meta); /* ours, replaced by the existing item's */
}

/* What a drain needs to put the entry together again: which recipient this
 * is, and what one costs. */
static char *
meta_of(struct pca_send_job *d)
{
	json_object *each = NULL;
	struct pca_dl_plan *plan = NULL;

	for (size_t i = 0; i < d->rec->nplans; i++)
		if (d->payload == &d->rec->plans[i].payload)
			plan = &d->rec->plans[i];
	if (plan)
		json_object_object_get_ex(plan->fields, CREDITS_EACH, &each);
	return pca_asprintf("{\"recipient\":%zu,\"credits_each\":%.10g}", d->index,
	    each ? json_object_get_double(each) : 0.0);
}

static int
journal(struct pca_sender *s, struct pca_send_job *d, struct pca_err *err)
{
	struct pca_spool_item it = { 0 }, lent;
	struct pca_buf text = PCA_BUF_INIT;
	int rc;

	if (ensure_tx(s, err) < 0)
		return -1;
	pca_json_write(&text, d->rec->call.obj);
	it.channel = (char *)s->ch->name;
	it.key = d->key;
	it.action_id = d->action->cfg->id;
	it.call_id = (char *)d->rec->call.call_id;
	it.target = d->recipient;
	it.record = text.data;
	it.payload = *d->payload;
	it.meta = meta_of(d);
	lent = it;
	/* Long enough for every quick attempt, so nobody reclaims it meanwhile. */
	rc = pca_spool_begin(s->spool, &it, pca_sender_now(s), (int64_t)d->max_attempts *
	    (d->action->timeout_ms + PCA_RETRY_MAX_WAIT) + 60000, s->o.resend, err);
	if (rc == 1) {
		d->item_id = it.id;
		d->token = it.lease_token;
		d->prior = it.attempts;
	} else if (rc == 0) {
		settle_known(d, &it);
	}
	forget_lent(&it, &lent);
	pca_spool_item_clear(&it);
	pca_buf_free(&text);
	return rc < 0 ? -1 : 0;
}

static int
init_delivery(struct pca_sender *s, struct pca_dl_record *rec, struct pca_dl_plan *plan,
	struct pca_send_job *d, const char *recipient, struct pca_err *err)
{
	struct pca_buf shown = PCA_BUF_INIT;
	int rc;

	d->job.ud = d;
	d->rec = rec;
	d->action = plan->action;
	d->payload = &plan->payload;
	d->recipient = pca_strdup(recipient);
	d->shown = s->ch->redact(recipient);
	d->max_attempts = s->o.attempts > 0 ? s->o.attempts : PCA_RETRY_FIRST_RUN;
	d->key = make_key(s, &rec->call, plan->action->cfg, recipient);
	if (s->o.dry_run) {
		rc = s->ch->show(s->chctx, plan->action->state, d, pca_sender_now(s), &shown, err);
		if (rc == 0 && s->h.request)
			s->h.request(s->h.ud, shown.data, shown.len);
		pca_buf_free(&shown);
		return rc;
	}
	if (plan->action->gone) {
		end_early(d, PCA_DL_SKIPPED, "skipped", "endpoint_disabled", "the endpoint answered "
		    "410 Gone and is disabled; re-enable it with --enable-endpoint");
		d->undelivered = true; /* skipped, but nobody got it: a failure to report */
		return 0;
	}
	return s->spool ? journal(s, d, err) : 0;
}

/* The action's recipients: a webhook's URL, an SMS's numbers, an email's
 * To, Cc and Bcc. */
static size_t
recipients(const struct pca_action *a, const char **out)
{
	size_t n = 0;

	if (a->type == PCA_WEBHOOK) {
		out[n++] = a->url;
		return n;
	}
	for (size_t i = 0; i < a->nto; i++)
		out[n++] = a->to[i];
	for (size_t i = 0; a->type == PCA_EMAIL && i < a->ncc; i++)
		out[n++] = a->cc[i];
	for (size_t i = 0; a->type == PCA_EMAIL && i < a->nbcc; i++)
		out[n++] = a->bcc[i];
	return n;
}

static size_t
count_recipients(const struct pca_action *a)
{
	return a->type == PCA_WEBHOOK ? 1 : a->nto + (a->type == PCA_EMAIL ? a->ncc + a->nbcc : 0);
}

static size_t
select_actions(struct pca_sender *s, const struct pca_call *call, struct pca_dl_action **sel,
	const char **ids)
{
	const char *contact = pca_render_contact_name(s->renderer, call), *why;
	size_t n = 0;

	for (size_t i = 0; i < s->nacts; i++) {
		if (!pca_when_matches(&s->acts[i].cfg->when, call, contact, &why))
			continue;
		sel[n] = &s->acts[i];
		ids[n++] = s->acts[i].cfg->id;
	}
	return n;
}

static struct pca_dl_record *
new_record(struct pca_call *call, const char *file, unsigned long line, size_t nplans,
	size_t ndels)
{
	struct pca_dl_record *rec = pca_calloc(1, sizeof *rec);

	rec->call = *call;
	memset(call, 0, sizeof *call);
	rec->file = pca_strdup(file);
	rec->line = line;
	rec->nplans = nplans;
	rec->plans = pca_calloc(nplans ? nplans : 1, sizeof *rec->plans);
	rec->ndels = ndels;
	rec->dels = pca_calloc(ndels ? ndels : 1, sizeof *rec->dels);
	rec->jobptrs = pca_calloc(ndels ? ndels : 1, sizeof *rec->jobptrs);
	for (size_t i = 0; i < ndels; i++)
		rec->jobptrs[i] = &rec->dels[i].job;
	return rec;
}

/* Render each action once, then one delivery per recipient. -1: a record
 * the channel cannot render (reject it); -2: the sender cannot go on. */
static int
plan_record(struct pca_sender *s, struct pca_dl_record *rec, struct pca_dl_action **sel,
	struct pca_err *err)
{
	const char **to;
	size_t k = 0, n;
	int rc = 0;

	for (size_t i = 0; i < rec->nplans; i++) {
		struct pca_dl_plan *plan = &rec->plans[i];
		plan->action = sel[i];
		plan->fields = json_object_new_object();
		if (s->ch->render(s->chctx, sel[i]->state, s->renderer, sel[i]->cfg, &rec->call,
		    pca_sender_now(s), &plan->payload, plan->fields, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < rec->nplans && rc == 0; i++) {
		struct pca_dl_plan *plan = &rec->plans[i];
		to = pca_calloc(count_recipients(sel[i]->cfg) + 1, sizeof *to);
		n = recipients(sel[i]->cfg, to);
		plan->first = k;
		plan->n = n;
		for (size_t r = 0; r < n && rc == 0; r++, k++) {
			rec->dels[k].index = r;
			rc = init_delivery(s, rec, plan, &rec->dels[k], to[r], err) < 0 ? -2 : 0;
		}
		free(to);
	}
	return rc;
}

int
pca_sender_add(struct pca_sender *s, struct pca_call *call, const char *file,
	unsigned long line, struct pca_err *err)
{
	struct pca_dl_action *sel[PCA_MAX_ACTIONS];
	const char *ids[PCA_MAX_ACTIONS];
	size_t n = select_actions(s, call, sel, ids), room, ndels = 0;
	struct pca_dl_record *rec;
	int rc;

	if ((room = pca_result_projected(call, ids, n)) > PCA_MAX_ACTIONS)
		return pca_err_set(err, "post_call_actions: %zu entries with this program's results, "
		    "more than %d", room, PCA_MAX_ACTIONS);
	for (size_t i = 0; i < n; i++)
		ndels += count_recipients(sel[i]->cfg);
	rec = new_record(call, file, line, n, ndels);
	rec->s = s;
	rc = plan_record(s, rec, sel, err);
	rec->call.raw = NULL; /* the line goes when the next one is read */
	if (rc == -1) {
		/* Give the record back, untouched, to be rejected. */
		*call = rec->call;
		memset(&rec->call, 0, sizeof rec->call);
	}
	if (rc < 0) {
		free_record(rec);
		return rc;
	}
	s->counts.records++;
	if (s->o.dry_run) {
		free_record(rec);
		return 0;
	}
	for (size_t i = 0; i < rec->nplans; i++)
		rec->bytes += rec->plans[i].payload.len;
	rec->bytes += 4096;
	s->held += rec->bytes;
	s->waiting++;
	push(&s->pending, &s->pending_tail, rec);
	return 0;
}

/* ---- attempts ---- */

static void
log_attempt(struct pca_sender *s, struct pca_send_job *d, int64_t at,
	const struct pca_attempt *a)
{
	struct pca_buf b = PCA_BUF_INIT;

	if (!s->o.log)
		return;
	pca_buf_adds(&b, "{\"at\":\"");
	pca_time_format(&b, at);
	pca_buf_addf(&b, "\",\"channel\":\"%s\",\"key\":", s->ch->name);
	pca_json_write_string(&b, d->key, strlen(d->key));
	pca_buf_adds(&b, ",\"call_id\":");
	pca_json_write_string(&b, d->rec->call.call_id, strlen(d->rec->call.call_id));
	pca_buf_addf(&b, ",\"action_id\":\"%s\",\"attempt\":%d,\"target\":", d->action->cfg->id,
	    d->prior + d->attempts);
	pca_json_write_string(&b, d->shown, strlen(d->shown));
	pca_buf_addf(&b, ",\"status\":%ld,\"latency_ms\":%lld", a->http_status ? a->http_status :
	    (long)a->smtp_code, (long long)a->latency_ms);
	if (a->code) {
		pca_buf_adds(&b, ",\"error\":");
		pca_json_write_string(&b, a->code, strlen(a->code));
		pca_buf_adds(&b, ",\"message\":");
		pca_json_write_string(&b, pca_buf_cstr((struct pca_buf *)&a->message), a->message.len);
	}
	if (s->ch->log_fields)
		s->ch->log_fields(s->chctx, d->action->state, d, s->o.log_bodies, &b);
	pca_buf_adds(&b, "}\n");
	fwrite(b.data, 1, b.len, s->o.log);
	pca_buf_free(&b);
}

/* A temporary failure: again soon in this run, or later from the spool. */
static void
temporary(struct pca_sender *s, struct pca_send_job *d, struct pca_attempt *a, int64_t now)
{
	int64_t delay;

	if (d->attempts < d->max_attempts && a->retry_after_ms <= PCA_RETRY_MAX_WAIT) {
		delay = pca_retry_quick_delay(d->attempts);
		d->job.not_before = now + (a->retry_after_ms > delay ? a->retry_after_ms : delay);
		return;
	}
	if (!s->spool) {
		end_with(d, PCA_DL_FAILED, "failed", a);
		return;
	}
	delay = pca_retry_spool_delay(d->prior + d->attempts, a->retry_after_ms);
	if (delay < 0) {
		end_with(d, PCA_DL_DEAD, "failed", a);
		return;
	}
	d->next_attempt_at = pca_sender_now(s) + delay;
	end_with(d, PCA_DL_SPOOL, "spooled", a);
}

static void
apply(struct pca_sender *s, struct pca_send_job *d, struct pca_attempt *a, int64_t now)
{
	switch (a->verdict) {
	case PCA_DELIVERED:
		end_with(d, PCA_DL_OK, "succeeded", a);
		break;
	case PCA_GONE:
		d->action->gone = true;
		d->gone = true;
		end_with(d, PCA_DL_DEAD, "failed", a);
		pca_result_error(d->result, "gone", "the endpoint answered 410 Gone: it is disabled, "
		    "and later deliveries to it are skipped");
		break;
	case PCA_PERMANENT:
		end_with(d, PCA_DL_DEAD, "failed", a);
		break;
	case PCA_TEMPORARY:
		temporary(s, d, a, now);
		break;
	}
}

static void
end_attempt(struct pca_sender *s, struct pca_send_job *d)
{
	if (d->attempt && s->ch->end_attempt)
		s->ch->end_attempt(s->chctx, d->action ? d->action->state : NULL, d);
}

static CURL *
job_start(void *ctx, struct pca_job *pj, int64_t now)
{
	struct pca_sender *s = ctx;
	struct pca_send_job *d = pj->ud;
	struct pca_attempt a;
	int64_t wall = pca_sender_now(s);
	CURL *e;

	memset(&a, 0, sizeof a);
	a.retry_after_ms = -1;
	/* An earlier delivery of this run got 410 Gone from this endpoint:
	 * records read before that must not knock again. */
	if (d->action->gone) {
		end_early(d, PCA_DL_SKIPPED, "skipped", "endpoint_disabled", "the endpoint answered "
		    "410 Gone and is disabled; re-enable it with --enable-endpoint");
		d->undelivered = true;
		return NULL;
	}
	if (d->attempts++ == 0)
		d->started_at = wall;
	d->attempt_at = wall;
	e = s->ch->start(s->chctx, d->action->state, d, now, &a);
	if (!e && d->job.done) {
		/* Done without a transfer (a local program ran, or it failed early). */
		d->job.done = false;
		log_attempt(s, d, wall, &a);
		end_attempt(s, d);
		apply(s, d, &a, now);
	} else if (!e) {
		d->attempts--; /* not started after all: pacing */
	}
	pca_attempt_clear(&a);
	return e;
}

static void
job_finish(void *ctx, struct pca_job *pj, CURL *easy, CURLcode rc, int64_t now)
{
	struct pca_sender *s = ctx;
	struct pca_send_job *d = pj->ud;
	struct pca_attempt a;

	memset(&a, 0, sizeof a);
	a.retry_after_ms = -1;
	s->ch->finish(s->chctx, d->action->state, d, easy, rc, now, &a);
	log_attempt(s, d, d->attempt_at, &a);
	end_attempt(s, d);
	apply(s, d, &a, now);
	pca_attempt_clear(&a);
}

static void
record_complete(void *ctx, void *ud)
{
	struct pca_sender *s = ctx;

	push(&s->done, &s->done_tail, ud);
}

/* ---- entries: what each action did, into the record ---- */

static const char *
status_word(enum pca_dl_end e)
{
	return e == PCA_DL_OK ? "succeeded" : e == PCA_DL_SPOOL ? "spooled" :
	    e == PCA_DL_SKIPPED ? "skipped" : "failed";
}

/* Several recipients: failed if any failed, else spooled if any waits,
 * else skipped if all were, else succeeded. */
static const char *
overall(struct pca_send_job *const *ds, size_t n)
{
	bool spooled = false, skipped = true;

	for (size_t i = 0; i < n; i++) {
		if (ds[i]->end == PCA_DL_FAILED || ds[i]->end == PCA_DL_DEAD)
			return "failed";
		spooled = spooled || ds[i]->end == PCA_DL_SPOOL;
		skipped = skipped && ds[i]->end == PCA_DL_SKIPPED;
	}
	return spooled ? "spooled" : skipped ? "skipped" : "succeeded";
}

static void
copy_fields(json_object *to, json_object *from, bool skip_target)
{
	json_object_object_foreach(from, k, v) {
		if (skip_target && strcmp(k, "target") == 0)
			continue;
		json_object_object_add(to, k, json_object_get(v));
	}
}

static json_object *
action_entry(struct pca_sender *s, struct pca_dl_plan *plan, struct pca_send_job *const *ds,
	size_t n)
{
	json_object *e, *list, *each = NULL;
	size_t ok = 0;
	int attempts = 0;

	e = pca_result_new(plan->action->cfg->id, s->ch->name, n == 1 ? ds[0]->shown : NULL);
	if (n != 1) {
		struct pca_buf t = PCA_BUF_INIT;
		pca_buf_addf(&t, "%s%s", n ? ds[0]->shown : "", n > 1 ? " and others" : "");
		pca_result_str(e, "target", t.data);
		pca_buf_free(&t);
	}
	pca_result_str(e, "status", n == 1 ? status_word(ds[0]->end) : overall(ds, n));
	for (size_t i = 0; i < n; i++) {
		attempts = ds[i]->prior + ds[i]->attempts > attempts ? ds[i]->prior + ds[i]->attempts :
		    attempts;
		ok += ds[i]->end == PCA_DL_OK;
	}
	pca_result_int(e, "attempts", attempts);
	pca_result_str(e, "provider", provider_of(ds[0]));
	if (n == 1) {
		copy_fields(e, ds[0]->result, true);
	} else {
		list = json_object_new_array();
		json_object_object_get_ex(plan->fields, CREDITS_EACH, &each);
		for (size_t i = 0; i < n; i++) {
			/* Each recipient's line says what it cost, so that a drain can
			 * add up an entry whose lines changed at different times. */
			pca_result_num(ds[i]->result, "credits", ds[i]->end == PCA_DL_OK && each ?
			    json_object_get_double(each) : 0);
			json_object_array_add(list, json_object_get(ds[i]->result));
		}
		json_object_object_add(e, "recipients", list);
		each = NULL;
	}
	copy_fields(e, plan->fields, false);
	if (json_object_object_get_ex(e, CREDITS_EACH, &each)) {
		pca_result_num(e, "credits", json_object_get_double(each) * (double)ok);
		json_object_object_del(e, CREDITS_EACH);
	} else {
		pca_result_int(e, "credits", 0);
	}
	return e;
}

/* ---- entries of actions with several recipients, from the spool ---- */

static int
item_index(const struct pca_spool_item *it)
{
	json_object *m = it->meta ? json_tokener_parse(it->meta) : NULL, *v;
	int i = -1;

	if (m && json_object_object_get_ex(m, "recipient", &v))
		i = json_object_get_int(v);
	json_object_put(m);
	return i;
}

static double
item_credits(const struct pca_spool_item *it)
{
	json_object *m = it->meta ? json_tokener_parse(it->meta) : NULL, *v;
	double c = -1;

	if (m && json_object_object_get_ex(m, "credits_each", &v))
		c = json_object_get_double(v);
	json_object_put(m);
	return c;
}

static json_object *
recipient_lines(json_object *entry)
{
	json_object *list;

	if (!entry || !json_object_object_get_ex(entry, "recipients", &list) ||
	    !json_object_is_type(list, json_type_array))
		return NULL;
	return list;
}

/* Status, attempts and credits of an entry from its recipients' lines. */
static void
sum_up(json_object *entry)
{
	json_object *list = recipient_lines(entry), *line, *v;
	bool failed = false, spooled = false, skipped = true;
	int64_t attempts = 0;
	double credits = 0;
	const char *st;

	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		line = json_object_array_get_idx(list, i);
		st = pca_json_str(line, "status");
		st = st ? st : "failed";
		failed = failed || strcmp(st, "failed") == 0;
		spooled = spooled || strcmp(st, "spooled") == 0;
		skipped = skipped && strcmp(st, "skipped") == 0;
		if (json_object_object_get_ex(line, "attempts", &v) && json_object_get_int64(v) > attempts)
			attempts = json_object_get_int64(v);
		if (json_object_object_get_ex(line, "credits", &v))
			credits += json_object_get_double(v);
	}
	if (!list)
		return;
	pca_result_str(entry, "status", failed ? "failed" : spooled ? "spooled" :
	    skipped ? "skipped" : "succeeded");
	pca_result_int(entry, "attempts", attempts);
	pca_result_num(entry, "credits", credits);
}

struct siblings {
	json_object *lines;
	int64_t self;
};

/* Each item is the authority on its own recipient's line. */
static int
take_line(void *ud, const struct pca_spool_item *it)
{
	struct siblings *sib = ud;
	json_object *e, *line;
	int k = item_index(it);

	if (it->id == sib->self || k < 0 || !it->last_result ||
	    !(e = json_tokener_parse(it->last_result)))
		return 0;
	if ((line = json_object_array_get_idx(recipient_lines(e), (size_t)k)) &&
	    (size_t)k < json_object_array_length(sib->lines)) {
		line = json_tokener_parse(json_object_to_json_string(line));
		if (it->state == PCA_ITEM_PENDING || it->state == PCA_ITEM_LEASED)
			pca_result_str(line, "status", "spooled");
		json_object_array_put_idx(sib->lines, (size_t)k, line);
	}
	json_object_put(e);
	return 0;
}

json_object *
pca_spool_entry(struct pca_spool *sp, const struct pca_spool_item *it, int64_t now)
{
	json_object *e = it->last_result ? json_tokener_parse(it->last_result) : NULL;
	struct pca_spool_filter f = { it->channel, NULL, 0, it->call_id, it->action_id };
	struct siblings sib;
	struct pca_err err = PCA_ERR_INIT;

	bool waiting = it->state == PCA_ITEM_PENDING || it->state == PCA_ITEM_LEASED;
	json_object *own;

	if (!e || !json_object_is_type(e, json_type_object)) {
		json_object_put(e);
		return NULL;
	}
	if (!(sib.lines = recipient_lines(e))) {
		/* One recipient: the entry, with the state the item has now (a
		 * requeued item waits again, whatever its last attempt said). */
		if (waiting) {
			pca_result_str(e, "status", "spooled");
			pca_result_time(e, "next_attempt_at", it->next_attempt_at);
		}
		return e;
	}
	sib.self = it->id;
	if (pca_spool_list(sp, &f, now, take_line, &sib, &err) < 0)
		pca_err_clear(&err); /* the lines stay as they were: still true, if older */
	if (waiting && item_index(it) >= 0 &&
	    (own = json_object_array_get_idx(sib.lines, (size_t)item_index(it))))
		pca_result_str(own, "status", "spooled");
	sum_up(e);
	return e;
}

/* A drained delivery: its line replaced in the entry the spool has. */
static json_object *
drained_entry(struct pca_sender *s, struct pca_dl_plan *plan, struct pca_send_job *d)
{
	json_object *e = plan->item ? pca_spool_entry(s->spool, plan->item, pca_sender_now(s)) : NULL;
	json_object *lines = recipient_lines(e);

	if (!lines || d->index >= json_object_array_length(lines)) {
		json_object_put(e);
		return NULL;
	}
	pca_result_num(d->result, "credits", d->end == PCA_DL_OK && plan->credits_each >= 0 ?
	    plan->credits_each : 0);
	json_object_array_put_idx(lines, d->index, json_object_get(d->result));
	sum_up(e);
	return e;
}

static json_object *
plan_entry(struct pca_sender *s, struct pca_dl_record *rec, struct pca_dl_plan *plan)
{
	struct pca_send_job *ds[64], **dp = plan->n <= 64 ? ds : pca_calloc(plan->n, sizeof *dp);
	json_object *e = NULL;

	for (size_t i = 0; i < plan->n; i++)
		dp[i] = &rec->dels[plan->first + i];
	if (rec->drained && plan->n == 1)
		e = drained_entry(s, plan, dp[0]);
	if (!e)
		e = action_entry(s, plan, dp, plan->n);
	if (dp != ds)
		free(dp);
	return e;
}

/* ---- handing records back ---- */

static int
spool_outcome(struct pca_sender *s, struct pca_send_job *d, json_object *entry,
	struct pca_err *err)
{
	int attempts = d->prior + d->attempts, rc = 0;
	int64_t now = pca_sender_now(s);
	/* The action's entry as it stands, so a drain or a listing can show it. */
	const char *r = json_object_to_json_string_ext(entry, JSON_C_TO_STRING_PLAIN);

	if (!d->item_id)
		return 0;
	if (d->end == PCA_DL_OK)
		rc = pca_spool_done(s->spool, d->item_id, d->token, attempts, r, now, err);
	else if (d->end == PCA_DL_SPOOL)
		rc = pca_spool_retry(s->spool, d->item_id, d->token, attempts, d->next_attempt_at, r,
		    now, err);
	else
		rc = pca_spool_dead(s->spool, d->item_id, d->token, attempts, r, now, err);
	if (rc == 0)
		warn(s, d->rec->file, d->rec->line, "%s: the spool lease was lost meanwhile (another "
		    "run took the item over); its outcome stands", d->key);
	if (rc >= 0 && d->gone)
		rc = pca_spool_disable_endpoint(s->spool, d->recipient, "410 Gone", now, err);
	return rc < 0 ? -1 : 0;
}

static void
count(struct pca_sender *s, const struct pca_send_job *d)
{
	switch (d->end) {
	case PCA_DL_OK: s->counts.succeeded++; break;
	case PCA_DL_SPOOL: s->counts.spooled++; break;
	case PCA_DL_SKIPPED:
		if (d->undelivered)
			s->counts.failed++;
		else
			s->counts.skipped++;
		break;
	default: s->counts.failed++; break;
	}
}

/* Entries into the record and the spool told; returns whether the record is
 * finished (a drain hands back only those: what it put back stays in the
 * spool). */
static int
settle_record(struct pca_sender *s, struct pca_dl_record *rec, bool *finished,
	struct pca_err *err)
{
	json_object *e;

	*finished = true;
	for (size_t i = 0; i < rec->nplans; i++) {
		e = plan_entry(s, rec, &rec->plans[i]);
		for (size_t k = 0; k < rec->plans[i].n; k++) {
			struct pca_send_job *d = &rec->dels[rec->plans[i].first + k];
			count(s, d);
			*finished = *finished && d->end != PCA_DL_SPOOL;
			if (s->spool && spool_outcome(s, d, e, err) < 0) {
				json_object_put(e);
				return -1;
			}
		}
		pca_result_set(&rec->call, e);
	}
	return 0;
}

/* Outcomes go to the spool in one transaction, committed before any record
 * is written: writing can block on a slow reader, and a transaction held
 * meanwhile would stop every other run sharing the spool. */
static int
flush_done(struct pca_sender *s, struct pca_err *err)
{
	struct pca_dl_record *rec, *next;
	bool finished;
	int rc = 0;

	if (!s->done)
		return 0;
	if (s->spool && ensure_tx(s, err) < 0)
		return -1;
	for (rec = s->done; rec && rc == 0; rec = rec->next) {
		rc = settle_record(s, rec, &finished, err);
		rec->hand_back = !rec->drained || finished;
	}
	if (s->spool && commit(s, err) < 0)
		rc = -1;
	for (rec = s->done; rec; rec = next) {
		next = rec->next;
		if (rc == 0 && s->h.record && rec->hand_back)
			s->h.record(s->h.ud, &rec->call);
		s->waiting--;
		s->held -= rec->bytes;
		free_record(rec);
	}
	s->done = s->done_tail = NULL;
	return rc;
}

static int
step(struct pca_sender *s, int max_wait_ms, int fd, bool *fd_ready, struct pca_err *err)
{
	struct pca_dl_record *rec, *next;

	/* Journal first, then send: a crash from here on loses nothing. */
	if (s->spool && commit(s, err) < 0)
		return -1;
	for (rec = s->pending; rec; rec = next) {
		next = rec->next;
		pca_dispatch_add(s->d, rec, rec->jobptrs, rec->ndels);
	}
	s->pending = s->pending_tail = NULL;
	if (pca_dispatch_step(s->d, max_wait_ms, fd, fd_ready) < 0)
		return pca_err_set(err, "libcurl failed to run the transfers");
	pca_progress_tick();
	return flush_done(s, err);
}

int
pca_sender_step(struct pca_sender *s, int max_wait_ms, int fd, bool *fd_ready)
{
	struct pca_err err = PCA_ERR_INIT;
	int rc = step(s, max_wait_ms, fd, fd_ready, &err);

	if (rc < 0) {
		warn(s, NULL, 0, "%s", pca_err_msg(&err));
		pca_err_clear(&err);
	}
	return rc;
}

int
pca_sender_finish(struct pca_sender *s, struct pca_err *err)
{
	while (s->waiting > 0)
		if (step(s, 1000, -1, NULL, err) < 0)
			return -1;
	return s->spool ? commit(s, err) : 0;
}

/* ---- draining the spool ---- */

static struct pca_dl_action *
action_by_id(struct pca_sender *s, const char *id)
{
	for (size_t i = 0; i < s->nacts; i++)
		if (strcmp(s->acts[i].cfg->id, id) == 0)
			return &s->acts[i];
	return NULL;
}

/* An item whose action is no longer configured, or whose record no longer
 * reads: keep it, an hour later, and say so. */
static void
postpone(struct pca_sender *s, const struct pca_spool_item *it, const char *why)
{
	struct pca_err err = PCA_ERR_INIT;
	int64_t now = pca_sender_now(s);

	warn(s, NULL, 0, "spool item %s: %s; kept for later", it->key, why);
	s->counts.spooled++;
	if (pca_spool_retry(s->spool, it->id, it->lease_token, it->attempts, now + 3600000, NULL,
	    now, &err) < 0)
		warn(s, NULL, 0, "%s", pca_err_msg(&err));
	pca_err_clear(&err);
}

static struct pca_dl_record *
record_from_item(struct pca_sender *s, struct pca_spool_item *it, struct pca_parser *p)
{
	struct pca_dl_action *a = action_by_id(s, it->action_id);
	struct pca_err perr = PCA_ERR_INIT;
	struct pca_dl_record *rec;
	struct pca_send_job *d;
	struct pca_call call;

	if (!a) {
		postpone(s, it, "no such action in the configuration");
		return NULL;
	}
	if (pca_record_parse(p, it->record, strlen(it->record), &call, &perr) < 0) {
		postpone(s, it, perr.msg);
		pca_err_clear(&perr);
		return NULL;
	}
	rec = new_record(&call, "spool", 0, 1, 1);
	rec->s = s;
	rec->drained = true;
	rec->call.raw = NULL;
	rec->plans[0].action = a;
	rec->plans[0].payload = it->payload;
	pca_buf_init(&it->payload);
	rec->plans[0].n = 1;
	rec->plans[0].fields = json_object_new_object();
	rec->plans[0].credits_each = item_credits(it);
	d = &rec->dels[0];
	d->index = item_index(it) >= 0 ? (size_t)item_index(it) : 0;
	d->job.ud = d;
	d->rec = rec;
	d->action = a;
	d->payload = &rec->plans[0].payload;
	d->key = pca_strdup(it->key);
	d->recipient = pca_strdup(it->target);
	d->shown = s->ch->redact(it->target);
	d->prior = it->attempts;
	d->max_attempts = 1; /* the spool's schedule spaces the attempts out */
	d->item_id = it->id;
	d->token = it->lease_token;
	if (a->gone)
		end_early(d, PCA_DL_DEAD, "failed", "endpoint_disabled",
		    "the endpoint answered 410 Gone and is disabled");
	rec->bytes = rec->plans[0].payload.len + 4096;
	/* The item itself stays with the record: its entry is read again when
	 * the attempt is over. */
	rec->plans[0].item = pca_malloc(sizeof *it);
	*rec->plans[0].item = *it;
	memset(it, 0, sizeof *it);
	return rec;
}

int
pca_sender_drain(struct pca_sender *s, struct pca_err *err)
{
	struct pca_parser *p = pca_parser_new();
	struct pca_spool_item *items;
	struct pca_dl_record *rec;
	size_t n, batch = (size_t)(s->o.parallel > 0 ? s->o.parallel : 16) * 4;
	int64_t lease = 0;
	int rc = 0;

	/* Long enough for the slowest action's one attempt, with room to spare,
	 * so no other drain takes an item over while it is being sent. */
	for (size_t i = 0; i < s->nacts; i++)
		lease = s->acts[i].timeout_ms > lease ? s->acts[i].timeout_ms : lease;
	lease += 120000;

	if (!s->spool)
		rc = pca_err_set(err, "--drain needs a spool (--spool FILE, or spool: in the "
		    "configuration)");
	while (rc == 0) {
		if (pca_spool_claim(s->spool, s->ch->name, s->o.only_action, pca_sender_now(s), lease,
		    batch, &items, &n, err) < 0)
			rc = -1;
		if (rc < 0 || n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			if (!(rec = record_from_item(s, &items[i], p)))
				continue;
			s->counts.records++;
			s->waiting++;
			s->held += rec->bytes;
			push(&s->pending, &s->pending_tail, rec);
		}
		pca_spool_items_free(items, n);
		rc = pca_sender_finish(s, err);
	}
	pca_parser_free(p);
	return rc;
}
