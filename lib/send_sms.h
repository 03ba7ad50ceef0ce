/* The SMS channel of the delivery engine (deliver.h): the text pca-render
 * prints, sent to each recipient through the action's provider, paced per
 * sender. */
#ifndef PCA_SEND_SMS_H
#define PCA_SEND_SMS_H

#include <stdbool.h>

#include "deliver.h"

extern const struct pca_channel pca_sms_channel;

#define PCA_SMS_PACERS PCA_MAX_ACTIONS

struct pca_sms_ctx {
	bool retry_ambiguous;   /* send again after a timeout that may have sent it */
	bool no_pacing;         /* ignore the actions' rates */
	/* One pacer per sender, shared by the actions that send from it. */
	struct {
		char *from;
		int64_t next_ok;
	} pacers[PCA_SMS_PACERS];
	size_t npacers;
};

void pca_sms_ctx_init(struct pca_sms_ctx *c);
void pca_sms_ctx_free(struct pca_sms_ctx *c);

#endif
