/* Sending one message to one recipient over SMTP, with libcurl.
 *
 * One transaction per recipient (MAIL FROM, one RCPT TO, DATA), so each
 * recipient gets its own reply and its own retry, and a Bcc recipient is
 * never named to anyone else. Connections are reused across transactions
 * when they run in one multi handle. STARTTLS is required unless the
 * action says otherwise; smtps:// is TLS from the first byte.
 */
#ifndef PCA_SMTP_H
#define PCA_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "buf.h"
#include "err.h"

struct pca_smtp_opts {
	const char *url;            /* smtp://host:587 or smtps://host:465 */
	int tls;                    /* PCA_TLS_REQUIRED, _OPTIONAL, _NONE (config.h) */
	const char *user;           /* or NULL */
	const char *password;       /* or NULL */
	const char *oauth2_token;   /* or NULL */
	const char *cacert;         /* or NULL */
	const char *envelope_from;  /* the reverse path: an address */
	long timeout_ms;
};

struct pca_smtp_call {
	CURL *easy;
	struct curl_slist *rcpt;
	const char *data;           /* the message (CRLF line ends) */
	size_t len, sent;
	struct pca_buf reply;       /* the server's last reply line */
	int reply_code;
	struct pca_buf refusal;     /* its first 4xx or 5xx reply, which decides */
	int refusal_code;
	bool need_auth;             /* a user is configured */
	bool authenticated;         /* the server said 235 */
	bool refused_unauthenticated; /* so the message was held back */
	char errbuf[CURL_ERROR_SIZE];
};

struct pca_smtp_outcome {
	int code;                   /* the last SMTP reply code seen, 0 when none */
	int64_t latency_ms;
	bool delivered;             /* 250 to the end of DATA */
	bool temporary;             /* worth trying again */
	bool ambiguous;             /* the whole message went out, but no answer came */
	const char *class;          /* NULL on success; "smtp_550", "tls", "timeout", ... */
	char classbuf[16];
	struct pca_buf message;
};

/* Set up one transaction of message (kept alive by the caller) to address. */
int pca_smtp_prepare(struct pca_smtp_call *c, const struct pca_smtp_opts *o, const char *address,
	const char *message, size_t len, struct pca_err *err);
void pca_smtp_outcome(struct pca_smtp_call *c, CURLcode rc, struct pca_smtp_outcome *out);
void pca_smtp_call_cleanup(struct pca_smtp_call *c);
void pca_smtp_outcome_clear(struct pca_smtp_outcome *o);

/* Hand the message to a local MTA: `program -i -f from -- address`, the
 * message on its standard input (LF line ends, as local submission wants).
 * Exit 0 delivered, 75 (EX_TEMPFAIL) temporary, anything else permanent. */
void pca_sendmail(const char *program, const char *from, const char *address, const char *message,
	size_t len, struct pca_smtp_outcome *out);

#endif
