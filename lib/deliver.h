/* Deliveries: the engine every sender shares (webhook, SMS, email).
 *
 * A channel says how one action sends one thing to one recipient; the
 * engine does the rest, the same way for every channel:
 *
 * - for each record, the actions of the channel whose "when" matches, and
 *   one delivery per action and recipient (a webhook's one recipient is its
 *   URL), each with an idempotency key "pca:<action>:<call>" (+ ":<recipient>"
 *   for channels with several);
 * - with a spool, every delivery is journaled before its first attempt; a
 *   key already delivered is not sent again (unless resending); one still
 *   failing after the quick retries waits in the spool for a drain;
 * - attempts run in parallel over one libcurl multi handle, with quick
 *   retries, Retry-After, and the spool's schedule afterwards;
 * - each record is handed back in input order with one post_call_actions
 *   entry per action (recipients listed when there are several).
 */
#ifndef PCA_DELIVER_H
#define PCA_DELIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "buf.h"
#include "config.h"
#include "dispatch.h"
#include "err.h"
#include "http.h"
#include "record.h"
#include "render.h"
#include "retry.h"

struct pca_sender;
struct pca_dl_record;

enum pca_dl_end { PCA_DL_NONE, PCA_DL_OK, PCA_DL_FAILED, PCA_DL_SPOOL, PCA_DL_DEAD, PCA_DL_SKIPPED };

/* One action sending to one recipient of one record. */
struct pca_send_job {
	struct pca_job job;
	struct pca_dl_record *rec;
	struct pca_dl_action *action;
	char *key;                 /* idempotency key: spool key, webhook-id, Message-ID seed */
	char *recipient;           /* as configured: URL, E.164 number, mailbox */
	char *shown;               /* as results show it: https://host/…, +1415***0123, o***@x */
	size_t index;              /* which of the action's recipients */
	struct pca_buf *payload;   /* what is sent, shared by the action's deliveries */
	int attempts, prior, max_attempts;
	int64_t started_at, attempt_at, next_attempt_at;
	int64_t item_id, token;    /* the spool journal; 0: none */
	enum pca_dl_end end;
	bool gone;                 /* this attempt got 410 Gone */
	bool undelivered;          /* skipped, but a failure for the exit status */
	json_object *result;       /* the outcome, when ended */
	void *attempt;             /* the channel's state for the attempt in flight */
};

/* What one attempt came to, filled by the channel's finish(). */
struct pca_attempt {
	enum pca_retry_class verdict;
	long http_status;          /* 0 when none */
	int smtp_code;             /* 0 when none */
	int64_t latency_ms;
	int64_t retry_after_ms;    /* -1 when none */
	const char *code;          /* error class, NULL on success: "timeout", "http_503", "21211"... */
	char codebuf[48];          /* room for a code that is not a constant */
	struct pca_buf message;
	char *provider_message_id; /* owned, or NULL */
	json_object *details;      /* more fields for the result (owned), or NULL */
};

struct pca_sender_opts {
	const char *only_action;   /* only this action id, or NULL */
	const char *spool_path;    /* or NULL: no spool */
	bool resend;               /* send even when the spool says delivered */
	bool new_id;               /* a fresh key per delivery */
	bool dry_run;              /* show the requests, send nothing */
	int parallel;              /* attempts at once */
	int attempts;              /* attempts in this run before spooling */
	int64_t timeout_ms;        /* per attempt; 0: each action's own */
	int64_t fixed_now;         /* wall clock to use, or -1 for the real one */
	FILE *log;                 /* one JSON line per attempt, or NULL */
	bool log_bodies;
	struct pca_http_opts http;
	/* For channels to warn at set-up ("secret 2 is over 64 bytes"). */
	void (*warn)(void *ud, const char *msg);
	void *warn_ud;
};

/* How one channel sends. ctx is the channel's own; astate its state for one
 * action (from setup). */
struct pca_channel {
	const char *name;          /* "webhook", "sms", "email": spool channel and result type */
	enum pca_action_type type;
	bool per_recipient;        /* keys name the recipient */
	bool blocking;             /* transfers block inside libcurl: one thread each */
	void *(*setup)(void *ctx, const struct pca_action *a, const struct pca_sender_opts *o,
		struct pca_err *err);
	void (*teardown)(void *ctx, void *astate);
	/* What the action sends for this record (the same for every recipient),
	 * and fields for its entry (segments, credits...) into `fields`. */
	int (*render)(void *ctx, void *astate, struct pca_renderer *r, const struct pca_action *a,
		const struct pca_call *call, int64_t now, struct pca_buf *payload, json_object *fields,
		struct pca_err *err);
	/* How a recipient may be shown. A new string. */
	char *(*redact)(const char *recipient);
	/* How a recipient is named in keys, when not as configured (a new
	 * string), or NULL. */
	char *(*key)(const char *recipient);
	/* --dry-run: append the request. */
	int (*show)(void *ctx, void *astate, struct pca_send_job *d, int64_t now, struct pca_buf *out,
		struct pca_err *err);
	/* Begin an attempt: an easy handle, or NULL after setting d->job.done
	 * (finished without a transfer: set *a) or d->job.not_before (later). */
	CURL *(*start)(void *ctx, void *astate, struct pca_send_job *d, int64_t now,
		struct pca_attempt *a);
	/* The attempt ended: fill *a (verdict first). */
	void (*finish)(void *ctx, void *astate, struct pca_send_job *d, CURL *easy, CURLcode rc,
		int64_t now, struct pca_attempt *a);
	/* The provider named in results ("pca-webhook", "twilio", "smtp"...). */
	const char *(*provider)(void *ctx, void *astate);
	/* Extra members for the --log line of an attempt (",\"k\":v..."), or NULL. */
	void (*log_fields)(void *ctx, void *astate, struct pca_send_job *d, bool bodies,
		struct pca_buf *line);
	/* The attempt is over and logged: free d->attempt. */
	void (*end_attempt)(void *ctx, void *astate, struct pca_send_job *d);
};

struct pca_sender_hooks {
	void *ud;
	void (*record)(void *ud, struct pca_call *call);       /* write a finished record */
	void (*request)(void *ud, const char *text, size_t len); /* --dry-run */
	void (*warn)(void *ud, const char *file, unsigned long line, const char *msg);
};

struct pca_sender_counts {
	unsigned long records, succeeded, failed, spooled, skipped;
};

struct pca_sender *pca_sender_new(const struct pca_config *cfg, const struct pca_channel *ch,
	void *chctx, const struct pca_sender_opts *o, const struct pca_sender_hooks *h,
	struct pca_err *err);
void pca_sender_free(struct pca_sender *s);

/* Take a record (*call is emptied). -1: it cannot take its results (the
 * caller rejects the line; the record is untouched); -2: cannot go on. */
int pca_sender_add(struct pca_sender *s, struct pca_call *call, const char *file,
	unsigned long line, struct pca_err *err);
int pca_sender_step(struct pca_sender *s, int max_wait_ms, int fd, bool *fd_ready);
size_t pca_sender_waiting(const struct pca_sender *s);
size_t pca_sender_held(const struct pca_sender *s);
int pca_sender_finish(struct pca_sender *s, struct pca_err *err);
/* Deliver what the spool has due for this channel. */
int pca_sender_drain(struct pca_sender *s, struct pca_err *err);
const struct pca_sender_counts *pca_sender_counts(const struct pca_sender *s);

/* The action's entry as it stands in the spool for this item: for an action
 * with several recipients, each recipient's line taken from its own item.
 * NULL when the item has no entry yet. */
struct pca_spool;
struct pca_spool_item;
json_object *pca_spool_entry(struct pca_spool *sp, const struct pca_spool_item *it, int64_t now);

/* The channel's per-action state of d, the sender's wall clock, and the
 * time an attempt of d may take. */
void *pca_send_job_astate(const struct pca_send_job *d);
int64_t pca_sender_now(const struct pca_sender *s);
int64_t pca_sender_now_of(const struct pca_send_job *d);
int64_t pca_send_job_timeout(const struct pca_send_job *d);
/* The record the job belongs to. */
const struct pca_call *pca_send_job_call(const struct pca_send_job *d);
/* For a channel's start(): the request could not even be built (err says
 * why). The attempt fails for good with the code "internal", and the job is
 * done; start() then returns NULL. Clears err. */
void pca_send_job_unprepared(struct pca_send_job *d, struct pca_attempt *a, struct pca_err *err);
const struct pca_sender_opts *pca_sender_opts_of(const struct pca_send_job *d);
void pca_attempt_clear(struct pca_attempt *a);

#endif
