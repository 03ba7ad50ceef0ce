/* SMS providers: how to ask each one to send a text, and how to read its
 * answer. No network here: the sender runs the requests.
 *
 *   twilio  POST {base}/2010-04-01/Accounts/{sid}/Messages.json, form To,
 *           From or MessagingServiceSid, Body, StatusCallback; basic auth
 *           (account SID or API key SID : auth token or API key secret)
 *   vonage  POST {base}/sms/json, form api_key, api_secret, from, to (no
 *           "+"), text, type=unicode for UCS-2; answers 200 with a status per
 *           message part
 *   telnyx  POST {base}/v2/messages, JSON from, to, text,
 *           messaging_profile_id, webhook_url; Bearer API key
 *   sns     POST {base}/ (https://sns.{region}.amazonaws.com), form
 *           Action=Publish, PhoneNumber, Message, MessageAttributes
 *           (SMSType Transactional, SenderID when the sender is a name),
 *           Version=2010-03-31; signed with libcurl's AWS SigV4
 *   http    a gateway described in the configuration: URL, method, headers
 *           and form or JSON fields, each a Mustache template over the
 *           message (to, from, text, encoding, segments, call_id, action_id,
 *           secret), and where the message id is in the JSON answer
 */
#ifndef PCA_SMS_PROVIDER_H
#define PCA_SMS_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "sms.h"

enum pca_sms_provider_kind {
	PCA_SMS_TWILIO,
	PCA_SMS_VONAGE,
	PCA_SMS_TELNYX,
	PCA_SMS_SNS,
	PCA_SMS_HTTP,
};

/* A name/template pair of the generic provider. */
struct pca_sms_field {
	char *name;
	char *value; /* Mustache template */
};

/* The provider part of an SMS action, as the configuration gives it.
 * Secrets are not here: the sender reads them and passes them in. */
struct pca_sms_provider {
	enum pca_sms_provider_kind kind;
	char *base_url;               /* the provider's default when not configured */
	char *account_sid;            /* twilio */
	char *api_key;                /* twilio API key SID (basic-auth user), vonage api_key */
	char *messaging_service_sid;  /* twilio: send through a service instead of From */
	char *messaging_profile_id;   /* telnyx */
	char *region;                 /* sns */
	char *access_key_id;          /* sns */
	char *status_callback;        /* twilio StatusCallback, telnyx webhook_url */
	/* http */
	char *url;
	char *method;                 /* POST (default) or PUT */
	bool json;                    /* fields as a JSON object (else a form) */
	struct pca_sms_field *fields, *headers;
	size_t nfields, nheaders;
	char *message_id_path;        /* dotted path into the JSON answer, e.g. "messages.0.id" */
};

const char *pca_sms_provider_name(enum pca_sms_provider_kind k);
/* "twilio" -> PCA_SMS_TWILIO; -1 when unknown. */
int pca_sms_provider_kind(const char *name);
/* The default base URL of a provider (sns: for the region). A new string. */
char *pca_sms_provider_default_base(const struct pca_sms_provider *p);

/* One text to one recipient. */
struct pca_sms_message {
	const char *to;               /* E.164 */
	const char *from;             /* E.164 number, alphanumeric sender id, or NULL */
	const char *text;
	size_t len;
	enum pca_sms_encoding encoding;
	size_t segments;
	const char *call_id, *action_id;
};

struct pca_sms_request {
	char *url;
	const char *method;           /* "POST" or "PUT" */
	char **headers;               /* "Name: value", NULL-terminated */
	struct pca_buf body;
	char *username, *password;    /* HTTP basic auth, or NULL; wiped when freed */
	char *aws_sigv4;              /* for CURLOPT_AWS_SIGV4 ("aws:amz:REGION:sns"), or NULL */
	struct pca_buf shown;         /* the request as --dry-run shows it: secrets as "***" */
};

/* Build the request. `secret` is the provider's secret (auth token, API
 * secret, API key, AWS secret access key), `session_token` the AWS session
 * token or NULL. */
int pca_sms_request_build(const struct pca_sms_provider *p, const struct pca_sms_message *m,
	const char *secret, const char *session_token, struct pca_sms_request *out,
	struct pca_err *err);
void pca_sms_request_free(struct pca_sms_request *r);

enum pca_sms_verdict {
	PCA_SMS_ACCEPTED,    /* the provider took the message */
	PCA_SMS_RETRY,       /* not processed, safe to send again (throttled, 5xx...) */
	PCA_SMS_REJECTED,    /* refused for good (invalid number, unverified sender...) */
};

struct pca_sms_reply {
	enum pca_sms_verdict verdict;
	char *message_id;    /* the provider's id (Twilio SM..., Vonage message-id...) */
	char *status;        /* the provider's word for it: queued, accepted, 0... */
	int segments;        /* parts as the provider counted them, 0 when not said */
	char *price;         /* as given ("0.0075 USD"), or NULL */
	char *error_code;    /* the provider's code ("21211"), or NULL */
	char *error_message;
	char *more_info;     /* Twilio's more_info URL, or NULL */
};

/* Read an answer that arrived (any HTTP status). An answer in the
 * provider's format says what it means (a Twilio 2xx with an error_code is
 * rejected); one that cannot be read is judged by its status: 2xx accepted
 * (without an id), 408/429/5xx retry, anything else rejected. */
void pca_sms_reply_parse(const struct pca_sms_provider *p, long http_status, const char *body,
	size_t len, struct pca_sms_reply *out);
void pca_sms_reply_free(struct pca_sms_reply *r);

void pca_sms_provider_free(struct pca_sms_provider *p);

#endif
