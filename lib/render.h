/* What each post-call action sends, built from a call record: the SMS text,
 * the email message and the webhook body. pca-render prints these; the
 * senders send exactly these bytes.
 */
#ifndef PCA_RENDER_H
#define PCA_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "record.h"
#include "sms.h"

struct pca_renderer;

/* Load and compile every template the configuration's actions use (the
 * built-in ones where the configuration names none). A template that does
 * not compile is an error naming its file, line and column. */
struct pca_renderer *pca_renderer_new(const struct pca_config *cfg, struct pca_err *err);
void pca_renderer_free(struct pca_renderer *r);

/* The caller's name: the record's caller.contact_name, else the name saved
 * for the number in the configured contacts, else NULL. */
const char *pca_render_contact_name(const struct pca_renderer *r, const struct pca_call *call);

struct pca_sms_text {
	struct pca_buf text;
	struct pca_sms_count count;
	bool truncated;    /* the summary (or the text) was cut to fit */
	size_t recipients;
	double credits;    /* segments x recipients x rate */
};

/* The SMS text fitted into the action's max_segments: when too long, the
 * summary is cut at a word boundary and ends in an ellipsis ("..." in GSM-7,
 * U+2026 in UCS-2); a character is never split. */
int pca_render_sms(struct pca_renderer *r, const struct pca_action *a, const struct pca_call *call,
	int64_t now_ms, struct pca_sms_text *out, struct pca_err *err);
void pca_sms_text_free(struct pca_sms_text *t);

struct pca_email {
	struct pca_buf message;  /* RFC 5322, CRLF line ends */
	struct pca_buf subject;  /* decoded, one line */
	char *message_id;        /* "<...>" */
	size_t recipients;       /* To + Cc + Bcc */
	double credits;
};

/* The whole message: headers (Bcc never among them), multipart/alternative
 * text and HTML in quoted-printable UTF-8. `now_ms` is the Date and decides
 * whether the recording has expired. */
int pca_render_email(struct pca_renderer *r, const struct pca_action *a, const struct pca_call *call,
	int64_t now_ms, struct pca_email *out, struct pca_err *err);
void pca_email_free(struct pca_email *e);

/* {"type":"call.ended","timestamp":<ended_at>,"data":<record>}: the exact
 * bytes a webhook signs and sends. The record gains the contact name from the
 * contacts file and the recording's default expiry; nothing else changes.
 * When it gains nothing and call->raw is set, data is the line as it was read. */
void pca_render_webhook(struct pca_renderer *r, const struct pca_call *call, struct pca_buf *body);

/* webhook-id: "pca:<action_id>:<call_id>", the same on every attempt. */
void pca_webhook_id(struct pca_buf *out, const char *call_id, const char *action_id);

#endif
