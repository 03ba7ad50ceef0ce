/* The spool: work that could not finish now, kept in one SQLite database
 * (WAL mode, synchronous=FULL) shared by every sender.
 *
 * An item is one delivery: a (channel, key) pair is unique, where the key is
 * the idempotency key of the delivery ("pca:<action_id>:<call_id>" for a
 * webhook, with the recipient for SMS). Items move through
 *
 *     pending --claim--> leased --done--> done
 *        ^                  |  --dead--> dead
 *        +------retry-------+
 *
 * A lease is held until lease_until; an item whose lease expired (its
 * holder crashed) can be claimed again. Every claim gives a fresh lease
 * token, and done/retry/dead only apply with the current token, so a worker
 * that lost its lease cannot overwrite the new holder's outcome. Delivery is
 * therefore at least once: a crash between sending and recording sends the
 * item again, with the same key.
 *
 * Endpoints that answered 410 Gone are recorded as disabled.
 *
 * Times are milliseconds since the epoch, passed in by the caller (tests
 * use a fixed clock). Functions return -1 and fill err on a database error;
 * "database is locked" waits up to 10 s first.
 */
#ifndef PCA_SPOOL_H
#define PCA_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

enum pca_item_state { PCA_ITEM_PENDING, PCA_ITEM_LEASED, PCA_ITEM_DONE, PCA_ITEM_DEAD };

struct pca_spool_item {
	int64_t id;            /* set by the spool */
	char *channel;         /* "webhook", "sms", "email" */
	char *key;             /* idempotency key */
	char *action_id;
	char *call_id;
	char *target;          /* where it goes: a URL, a number, an address (no secrets) */
	char *record;          /* the call record as JSON text, without this item's result */
	struct pca_buf payload;/* the exact bytes to send */
	char *meta;            /* channel-specific JSON text, or NULL */
	enum pca_item_state state;
	int attempts;          /* attempts made so far */
	int64_t created_at;
	int64_t updated_at;
	int64_t next_attempt_at;
	int64_t lease_until;
	int64_t lease_token;
	char *last_result;     /* JSON text of the last outcome (the result entry), or NULL */
};

struct pca_spool;

/* Open (creating when needed) the spool at path. */
struct pca_spool *pca_spool_open(const char *path, struct pca_err *err);
void pca_spool_close(struct pca_spool *sp);

/* Group many calls into one transaction (one fsync): begin, calls, commit. */
int pca_spool_tx_begin(struct pca_spool *sp, struct pca_err *err);
int pca_spool_tx_commit(struct pca_spool *sp, struct pca_err *err);

/* Journal an item before its first attempt, leased to the caller for
 * lease_ms. Returns 1 when inserted (it->id and it->lease_token set), 0 when
 * an item with that (channel, key) already exists: then every field of `it`
 * is overwritten with a new allocation holding the existing item (state,
 * attempts, last_result...), the caller's own pointers are neither used nor
 * freed (they may be borrowed: keep them to free them), and nothing changes
 * in the spool. With replace (operator resend), an existing item is reset
 * instead and leased to the caller: returns 1. */
int pca_spool_begin(struct pca_spool *sp, struct pca_spool_item *it, int64_t now, int64_t lease_ms,
	bool replace, struct pca_err *err);

/* Outcomes of an attempt on a leased item. Each returns 1 when applied, 0
 * when the lease token is no longer current (the update is ignored). */
int pca_spool_done(struct pca_spool *sp, int64_t id, int64_t token, int attempts,
	const char *result_json, int64_t now, struct pca_err *err);
int pca_spool_retry(struct pca_spool *sp, int64_t id, int64_t token, int attempts,
	int64_t next_attempt_at, const char *result_json, int64_t now, struct pca_err *err);
int pca_spool_dead(struct pca_spool *sp, int64_t id, int64_t token, int attempts,
	const char *result_json, int64_t now, struct pca_err *err);

/* Lease up to max items of channel (and of action_id, unless NULL) that are
 * due (pending with next_attempt_at <= now, or leased with lease_until <
 * now), oldest first. *items is a new array of *n items (free with
 * pca_spool_items_free). Two processes claiming at the same moment never get
 * the same item. */
int pca_spool_claim(struct pca_spool *sp, const char *channel, const char *action_id,
	int64_t now, int64_t lease_ms, size_t max, struct pca_spool_item **items, size_t *n,
	struct pca_err *err);

struct pca_spool_filter {
	const char *channel;   /* or NULL for all */
	const char *state;     /* "pending", "leased", "done", "dead", "due" (pending and due now), or NULL */
	int64_t since;         /* created at or after, or 0 */
	const char *call_id;   /* or NULL */
	const char *action_id; /* or NULL */
};

/* Call fn for each matching item, oldest first; fn returning non-zero stops. */
int pca_spool_list(struct pca_spool *sp, const struct pca_spool_filter *f, int64_t now,
	int (*fn)(void *ud, const struct pca_spool_item *it), void *ud, struct pca_err *err);
int pca_spool_count(struct pca_spool *sp, const struct pca_spool_filter *f, int64_t now,
	size_t *n, struct pca_err *err);

/* Make matching dead (or any non-leased) items pending again, due now,
 * keeping their key: for an operator's replay after an outage. */
int pca_spool_requeue(struct pca_spool *sp, const struct pca_spool_filter *f, int64_t now,
	size_t *n, struct pca_err *err);

/* Endpoints that answered 410 Gone. */
int pca_spool_disable_endpoint(struct pca_spool *sp, const char *url, const char *reason,
	int64_t now, struct pca_err *err);
/* 1 when disabled (with *since set when not NULL), 0 when not. */
int pca_spool_endpoint_disabled(struct pca_spool *sp, const char *url, int64_t *since,
	struct pca_err *err);
int pca_spool_enable_endpoint(struct pca_spool *sp, const char *url, struct pca_err *err);

const char *pca_item_state_name(enum pca_item_state s);
void pca_spool_item_clear(struct pca_spool_item *it);
void pca_spool_items_free(struct pca_spool_item *items, size_t n);

#endif
