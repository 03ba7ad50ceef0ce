/* When to try a delivery again.
 *
 * In the sending process: a few quick attempts with exponential backoff
 * (about 1 s, then 4 s, each +-20%), honouring Retry-After when it is short.
 * Then, in the spool, the Standard Webhooks schedule from its 5-minute step:
 * 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (each +-20%; Retry-After can
 * stretch a step up to twice its length but not shorten it). After the last
 * step the item is dead.
 */
#ifndef PCA_RETRY_H
#define PCA_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

#define PCA_RETRY_FIRST_RUN 3      /* attempts made by the sending run by default */
#define PCA_RETRY_MAX_WAIT 30000   /* longest Retry-After waited for in process, ms */

enum pca_retry_class {
	PCA_DELIVERED,   /* 2xx */
	PCA_TEMPORARY,   /* 408, 429, 5xx, network trouble: try again */
	PCA_PERMANENT,   /* 3xx, other 4xx, refused address: do not try again */
	PCA_GONE,        /* 410: the endpoint asks never to be called again */
};

enum pca_retry_class pca_retry_classify(const struct pca_http_outcome *o);

/* Delay before the next in-process attempt after `attempts` attempts. */
int64_t pca_retry_quick_delay(int attempts);

/* Delay before the next spooled attempt of an item that has had `attempts`
 * attempts, given the last Retry-After (-1 for none); -1 when the schedule is
 * exhausted and the item is dead. */
int64_t pca_retry_spool_delay(int attempts, int64_t retry_after_ms);

/* A random factor in [1 - f, 1 + f]. */
double pca_retry_jitter(double f);

#endif
