/* Webhook signatures.
 *
 * Signing follows Standard Webhooks 1.0: "v1,<base64 HMAC-SHA256 of
 * id.timestamp.body>" with secrets "whsec_<base64>" (24 to 64 bytes; more is
 * accepted with a warning), one signature per secret, space separated, so a
 * secret can be rotated without downtime. "v1a" (Ed25519, "whsk_" secret keys)
 * is available behind a flag, as the specification's asymmetric scheme is
 * not settled.
 *
 * Secrets are wiped from memory when freed. Comparisons are constant-time.
 */
#ifndef PCA_SIGN_H
#define PCA_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define PCA_WHSEC_MIN 24
#define PCA_WHSEC_MAX 64

/* ---- signing (used by pca-webhook) ---- */

struct pca_signer;

/* Parse the secrets in `text` (the contents of a secret file or variable):
 * one or more tokens separated by white space, the newest first. "whsec_..."
 * signs v1; "whsk_..." signs v1a only when allow_v1a, else it is an error.
 * Base64 is decoded strictly, padding optional. A secret under 24 bytes is an
 * error; over 64 bytes sets a warning (pca_signer_warning). Errors never
 * contain secret material. Each HMAC key is set up once here. */
struct pca_signer *pca_signer_new(const char *text, size_t len, bool allow_v1a,
	struct pca_err *err);

/* A warning about the secrets ("secret 2 is 80 bytes, over the 64 the
 * specification allows"), or NULL. */
const char *pca_signer_warning(const struct pca_signer *s);

size_t pca_signer_count(const struct pca_signer *s);

/* Append the webhook-signature header value for one delivery attempt:
 * "v1,<b64>[ v1,<b64>...]". id must not contain '.'. */
int pca_signer_sign(struct pca_signer *s, const char *id, int64_t timestamp, const void *body,
	size_t len, struct pca_buf *out, struct pca_err *err);

void pca_signer_free(struct pca_signer *s);

/* ---- verification (used by pca-verify): declared below by its author ---- */

/* Whose signatures to check. Secrets are read per scheme: standard and
 * stripe take white-space separated tokens (standard: "whsec_", and with
 * allow_v1a "whsk_" or "whpk_"; stripe: the whole "whsec_..." string is the
 * HMAC key, not decoded); github and twilio take one secret a line, since a
 * GitHub secret is free text and may hold spaces. */
enum pca_scheme {
	PCA_SCHEME_STANDARD,    /* Standard Webhooks, Svix */
	PCA_SCHEME_STRIPE,
	PCA_SCHEME_GITHUB,
	PCA_SCHEME_TWILIO,
};

/* "standard", "stripe", "github" or "twilio": 0 and *out, else -1. */
int pca_scheme_parse(const char *name, enum pca_scheme *out);
const char *pca_scheme_name(enum pca_scheme scheme);
/* The header that carries the signature: "webhook-signature",
 * "Stripe-Signature", "X-Hub-Signature-256", "X-Twilio-Signature". */
const char *pca_scheme_header(enum pca_scheme scheme);

/* The outcome of a check. The signature is judged before the timestamp, so
 * "too old" and "too new" always mean "signed by us, but stale". */
enum pca_verdict {
	PCA_VERDICT_VALID,
	PCA_VERDICT_NO_MATCH,   /* well formed, but signed by none of our secrets */
	PCA_VERDICT_TOO_OLD,    /* signature good, timestamp beyond the tolerance in the past */
	PCA_VERDICT_TOO_NEW,    /* signature good, timestamp beyond the tolerance ahead */
	PCA_VERDICT_MALFORMED,  /* a header missing, empty, too long or not in the scheme's syntax */
};

/* "valid", "no_match", "too_old", "too_new", "malformed". */
const char *pca_verdict_name(enum pca_verdict v);

#define PCA_TOLERANCE_DEFAULT 300
/* Longest header value looked at; longer ones are malformed. */
#define PCA_HEADER_MAX 8192

/* One delivery as received. NULL is a header that was not there. */
struct pca_delivery {
	const char *id;         /* standard: webhook-id */
	const char *timestamp;  /* standard: webhook-timestamp, the text received */
	const char *signature;  /* the value of the pca_scheme_header() header */
	const char *url;        /* twilio: the URL Twilio requested, query included */
	const void *body;       /* the exact bytes received; may hold NUL bytes */
	size_t len;
};

struct pca_verifier;

/* Parse the secrets in `text` for `scheme` (see enum pca_scheme); a delivery
 * is valid when any of them signed it. "whsec_" secrets are checked as for
 * pca_signer_new (24 bytes at least, a warning over 64); a "whsk_" secret key
 * is 32 bytes (seed) or 64 (seed and its public key, which must match).
 * Errors name a secret by its place ("secret 2"), never by its content. */
struct pca_verifier *pca_verifier_new(enum pca_scheme scheme, const char *text, size_t len,
	bool allow_v1a, struct pca_err *err);
const char *pca_verifier_warning(const struct pca_verifier *v);
size_t pca_verifier_count(const struct pca_verifier *v);

/* Check one delivery at `now` (Unix seconds). `tolerance` is in seconds,
 * both ways for standard, only the past for stripe (exactly `tolerance` old
 * is accepted); negative: timestamps are not checked (a saved delivery).
 * github and twilio carry no timestamp. Appends a one-line reason to
 * `reason` ("timestamp too old (412 s > 300 s)"); it quotes no header and
 * no secret. Signatures are compared in constant time. */
enum pca_verdict pca_verify(struct pca_verifier *v, const struct pca_delivery *d, int64_t now,
	int64_t tolerance, struct pca_buf *reason);

/* Append the value of the scheme's signature header that a sender holding
 * these secrets would send for d (d->signature is not used): standard as
 * pca_signer_sign (v1a from "whsk_" keys); stripe "t=TS,v1=HEX[,v1=HEX...]"
 * from d->timestamp; github "sha256=HEX" and twilio "BASE64" with the first
 * secret only, as those schemes carry one signature. For fixtures and tests. */
int pca_verifier_sign(struct pca_verifier *v, const struct pca_delivery *d, struct pca_buf *out,
	struct pca_err *err);

void pca_verifier_free(struct pca_verifier *v);

#endif
