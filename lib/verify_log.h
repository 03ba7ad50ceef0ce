/* Checking a log of deliveries (pca-verify --log): each line one entry of
 * pca-webhook's --log, {"at", "webhook_id", "timestamp", "signature",
 * "body_sha256"[, "body"]}, judged as a receiver would have judged it, and
 * answered with one JSON line:
 *
 *   {"line":N,"webhook_id":"...","valid":BOOL,"verdict":"...","reason":"..."}
 *
 * The verdicts are pca_verdict_name()'s, and three of the log's own:
 * "no_body" (the entry holds no body and no BODY-FILE was given),
 * "body_mismatch" (BODY-FILE is not the entry's body) and "not_an_entry".
 */
#ifndef PCA_VERIFY_LOG_H
#define PCA_VERIFY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sign.h"

struct pca_log_verifier;

/* tolerance: seconds, or -1 not to look at timestamps. now: the time to
 * judge every entry at (seconds), or NULL to judge each at its own "at",
 * the time it was sent. */
struct pca_log_verifier *pca_log_verifier_new(struct pca_verifier *v, int64_t tolerance,
	const int64_t *now);

/* A body for the entries logged without theirs: used for an entry whose
 * body_sha256 is its hash. Copied. */
void pca_log_verifier_set_body(struct pca_log_verifier *lv, const void *body, size_t len);

/* Judge one line (text, len: without its newline) and append its answer
 * line to out. false when it is not an entry at all (a JSON object). */
bool pca_log_verify_line(struct pca_log_verifier *lv, const char *text, size_t len,
	unsigned long line, struct pca_buf *out);

/* Lines judged, lines not valid (not_an_entry included), lines that were
 * not entries. */
void pca_log_verifier_counts(const struct pca_log_verifier *lv, unsigned long *entries,
	unsigned long *invalid, unsigned long *rejected);

void pca_log_verifier_free(struct pca_log_verifier *lv);

#endif
