/* The configuration: which post-call actions run, with which templates,
 * contacts, credit rates and secrets. See pca-config(5).
 *
 * Loading checks everything a run needs before anything is sent: unknown
 * keys, duplicate action ids, more than 10 actions, unreadable contacts or
 * templates, inline secrets in a file others can read. Errors name
 * "file:line:column".
 */
#ifndef PCA_CONFIG_H
#define PCA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "contacts.h"
#include "err.h"
#include "record.h"
#include "sms_provider.h"

enum pca_action_type { PCA_SMS, PCA_EMAIL, PCA_WEBHOOK };

/* A secret given by reference (or inline, in a private file). */
struct pca_secret {
	enum { PCA_SECRET_NONE, PCA_SECRET_FILE, PCA_SECRET_ENV, PCA_SECRET_INLINE } kind;
	char *ref;    /* the path, the variable name, or the inline value itself */
	char *origin; /* "config.yaml:12:5", for messages */
};

/* Template overrides: file paths (absolute after loading), or NULL for the
 * built-in template. */
struct pca_template_paths {
	char *sms;
	char *email_subject;
	char *email_text;
	char *email_html;
};

/* Which calls an action is for; an empty condition matches every call. */
struct pca_when {
	char **status;           /* NULL-terminated, or NULL for any */
	char *direction;         /* or NULL for any */
	int64_t min_duration_ms; /* -1 for none */
	int contact;             /* -1 any, 1 only saved contacts, 0 only unsaved */
};

struct pca_action {
	char *id;
	enum pca_action_type type;
	char *origin;            /* "config.yaml:14:5" */
	struct pca_when when;
	struct pca_template_paths templates;
	char **to, **cc, **bcc;  /* NULL-terminated; SMS: E.164 numbers; email: mailboxes */
	size_t nto, ncc, nbcc;
	char *from;              /* SMS: number, sender id or service; email: mailbox */
	char *reply_to, *list_id;
	int max_segments;        /* SMS */
	char *url;               /* webhook */
	struct pca_secret secret;  /* webhook signing secrets; SMS provider secret */
	int64_t timeout_ms;
	/* SMS */
	bool has_provider;
	struct pca_sms_provider provider;
	struct pca_secret session_token; /* sns */
	double rate;             /* messages per second per sender, 0: no pacing */
	/* email */
	char *envelope_from;     /* the bounce address, or NULL for From's */
	char *smtp_url;          /* smtp://host:587 or smtps://host:465 */
	enum { PCA_TLS_REQUIRED, PCA_TLS_OPTIONAL, PCA_TLS_NONE } smtp_tls;
	char *smtp_user;
	struct pca_secret smtp_password, smtp_oauth2;
	char *smtp_cacert;
	char *sendmail;          /* hand to this MTA program instead of SMTP, or NULL */
};

struct pca_credit_rates {
	double sms_segment;     /* per segment per recipient */
	double email_recipient; /* per recipient (To, Cc and Bcc) */
};

struct pca_config {
	char *path;              /* as given, or "(built-in)" */
	char *dir;               /* for relative paths */
	char *timezone;          /* IANA name; "UTC" by default */
	char *region;            /* ISO 3166-1 alpha-2 for national numbers, or NULL */
	char *contacts_path;
	struct pca_contacts *contacts;
	struct pca_credit_rates credits;
	struct pca_template_paths templates;
	struct pca_action actions[PCA_MAX_ACTIONS];
	size_t nactions;
	char *spool;             /* the spool database, or NULL */
	char **allow_networks;   /* private networks senders may reach (CIDR) */
	size_t nallow_networks;
	bool allow_http;         /* plain http:// webhook URLs */
	char *cacert;            /* CA bundle for TLS, or NULL for the system's */
};

/* The file a program should read: $PCA_CONFIG, else
 * $XDG_CONFIG_HOME/pca/config.yaml (~/.config when unset), else
 * /etc/pca/config.yaml; NULL when none of them exists. A new string. */
char *pca_config_find(void);

struct pca_config *pca_config_load(const char *path, struct pca_err *err);
/* The built-in configuration: one action of each type with placeholder
 * recipients, for rendering without any set-up. */
struct pca_config *pca_config_builtin(struct pca_err *err);
/* Parse a configuration held in memory (name is used in messages). */
struct pca_config *pca_config_parse(const char *name, const char *text, size_t len,
	struct pca_err *err);
void pca_config_free(struct pca_config *cfg);

/* A configuration made from command-line flags alone: one webhook action
 * "webhook" to url, its secret read from a file or an environment variable
 * (kind PCA_SECRET_FILE or PCA_SECRET_ENV). Checked like a file's. */
struct pca_config *pca_config_adhoc_webhook(const char *url, int secret_kind, const char *ref,
	struct pca_err *err);

/* The same for SMS: one action "sms" sending from `from` to each of `to`
 * through a provider (twilio, vonage or telnyx) named by flags. */
struct pca_sms_adhoc {
	const char *provider;      /* "twilio", "vonage", "telnyx" */
	char **to;                 /* E.164 numbers, NULL-terminated */
	const char *from;
	const char *account_sid;   /* twilio */
	const char *api_key;       /* twilio API key SID, vonage api_key */
	const char *base_url;      /* or NULL for the provider's */
	int secret_kind;           /* PCA_SECRET_FILE or PCA_SECRET_ENV */
	const char *secret_ref;
	int max_segments;          /* 0: 2 */
};
struct pca_config *pca_config_adhoc_sms(const struct pca_sms_adhoc *h, struct pca_err *err);

/* And for email: one action "email" from `from` to the recipients, over
 * SMTP (smtp_url) or a local sendmail. */
struct pca_email_adhoc {
	const char *from;
	char **to, **cc, **bcc;    /* NULL-terminated, or NULL */
	const char *smtp_url;      /* or NULL with sendmail */
	const char *sendmail;
	const char *tls;           /* "required", "optional", "none", or NULL */
	const char *user;
	int password_kind;         /* PCA_SECRET_NONE, _FILE or _ENV */
	const char *password_ref;
	const char *cacert;
	const char *envelope_from;
};
struct pca_config *pca_config_adhoc_email(const struct pca_email_adhoc *h, struct pca_err *err);

const char *pca_action_type_name(enum pca_action_type t);

/* Whether the action is for this call; when not, *why says which condition
 * excluded it ("status is busy"). */
bool pca_when_matches(const struct pca_when *w, const struct pca_call *call,
	const char *contact_name, const char **why);

/* Read a secret's value (a file's contents without the trailing newline, an
 * environment variable, or the inline value). Errors never contain the
 * value. The caller wipes `out` after use (pca_buf_wipe). */
int pca_secret_read(const struct pca_secret *s, struct pca_buf *out, struct pca_err *err);

#endif
