/* Delivering signed webhooks: the work behind pca-webhook.
 *
 * For each record and each webhook action, the body pca-render would print
 * is signed (Standard Webhooks) and POSTed, in parallel, with retries; the
 * record then gets one post_call_actions entry per action and is handed back
 * in input order. With a spool, every delivery is journaled before its first
 * attempt, deliveries that still fail after the quick retries wait in the
 * spool for a drain, an idempotency key already delivered is not sent again
 * (unless resending), and an endpoint that answered 410 is disabled.
 */
#ifndef PCA_WEBHOOK_H
#define PCA_WEBHOOK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "record.h"
#include "spool.h"

struct pca_webhook_opts {
	const char *only_action;   /* only this action id, or NULL */
	const char *spool_path;    /* or NULL: no spool */
	bool resend;               /* send even when the spool says delivered */
	bool new_id;               /* a fresh webhook-id (and spool key) per delivery */
	bool dry_run;              /* print the requests, send nothing */
	bool v1a;                  /* allow whsk_ secrets (Ed25519 signatures) */
	int parallel;              /* transfers at once */
	int attempts;              /* attempts in this run before spooling */
	int64_t timeout_ms;        /* per attempt; 0: each action's own */
	int64_t fixed_now;         /* wall clock to use, or -1 for the real one */
	FILE *log;                 /* one JSON line per attempt, or NULL */
	bool log_bodies;
	struct pca_http_opts http;
};

/* What the program hears from the sender. */
struct pca_webhook_hooks {
	void *ud;
	/* A record is finished (all its webhooks done, or spooled): write it. */
	void (*record)(void *ud, struct pca_call *call);
	/* --dry-run: the request that would be sent. */
	void (*request)(void *ud, const char *text, size_t len);
	/* Something to tell the user, about a record (file may be NULL). */
	void (*warn)(void *ud, const char *file, unsigned long line, const char *msg);
};

struct pca_webhook_counts {
	unsigned long records, succeeded, failed, spooled, skipped, rejected;
};

struct pca_webhook;

/* Set up: read every webhook action's secrets, open the spool. Errors are
 * configuration errors (a missing secret file, a short secret...). */
struct pca_webhook *pca_webhook_new(const struct pca_config *cfg,
	const struct pca_webhook_opts *o, const struct pca_webhook_hooks *h, struct pca_err *err);
void pca_webhook_free(struct pca_webhook *w);

/* Add a record (the sender takes it over: *call is emptied). Returns -1 and
 * fills err when the record cannot take its results (more than 10
 * post_call_actions): the caller rejects the line, the record is untouched.
 * Returns -2 when the sender cannot go on (the spool failed): stop. */
int pca_webhook_add(struct pca_webhook *w, struct pca_call *call, const char *file,
	unsigned long line, struct pca_err *err);

/* Make progress; wait at most max_wait_ms, or until fd is readable. */
int pca_webhook_step(struct pca_webhook *w, int max_wait_ms, int fd, bool *fd_ready);
/* Records added and not yet handed back. */
size_t pca_webhook_waiting(const struct pca_webhook *w);
/* Bytes of records held; a reader stops reading above a limit. */
size_t pca_webhook_held(const struct pca_webhook *w);
/* Finish everything added. */
int pca_webhook_finish(struct pca_webhook *w, struct pca_err *err);

/* Deliver what the spool has due (cron). */
int pca_webhook_drain(struct pca_webhook *w, struct pca_err *err);

const struct pca_webhook_counts *pca_webhook_counts(const struct pca_webhook *w);

#endif
