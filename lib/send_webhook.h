/* The webhook channel of the delivery engine (deliver.h): the body
 * pca-render prints, signed as Standard Webhooks 1.0 (a fresh timestamp and
 * signature on every attempt, the key as webhook-id), POSTed. */
#ifndef PCA_SEND_WEBHOOK_H
#define PCA_SEND_WEBHOOK_H

#include <stdbool.h>

#include "deliver.h"

extern const struct pca_channel pca_webhook_channel;

/* The channel's own settings. */
struct pca_webhook_ctx {
	bool v1a;            /* allow whsk_ secrets (Ed25519 signatures) */
};

#endif
