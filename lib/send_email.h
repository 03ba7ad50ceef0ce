/* The email channel of the delivery engine (deliver.h): the message
 * pca-render prints, sent over SMTP to each recipient (To, Cc and Bcc) in
 * its own transaction, or handed to a local MTA's sendmail. */
#ifndef PCA_SEND_EMAIL_H
#define PCA_SEND_EMAIL_H

#include <stdbool.h>

#include "deliver.h"

extern const struct pca_channel pca_email_channel;

struct pca_email_ctx {
	bool retry_ambiguous;   /* send again after a connection lost at the end of DATA */
	const char *sendmail;   /* --sendmail: this MTA program for every action, or NULL */
};

#endif
