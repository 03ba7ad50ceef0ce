/* pca-send-email: email each call's summary, transcript and recording link
 * to the actions' recipients over SMTP (or a local MTA), and add the results
 * to the records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "send_email.h"
#include "tool.h"

static const char synopsis[] =
    "pca-send-email [-c FILE | --from F --to A... [--cc A] [--bcc A] (--smtp URL [--tls T]\n"
    "                      [--user U (--password-file F | --password-env V)] | --sendmail[=PATH])]\n"
    "                      [--action ID] [--spool DB] [--resend] [--new-id]\n"
    "                      [--parallel N] [--timeout S] [--retries N] [--retry-ambiguous]\n"
    "                      [--log FILE] [--dry-run] [--now TIME] [--cacert FILE]\n"
    "                      [--rejects FILE] [FILE...]\n"
    "       pca-send-email --drain [--spool DB] [options]\n"
    "       pca-send-email (--list | --count | --requeue) [--status S] [--since T]\n"
    "                   [--action ID] [--spool DB]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Email each call record's summary, transcript and recording link (JSON Lines) to its\n"
	    "email actions' recipients, one SMTP transaction per recipient, and write the record\n"
	    "with a post_call_actions entry per action.\n\n"
	    "  -c, --config FILE       configuration (default: $PCA_CONFIG, then\n"
	    "                          $XDG_CONFIG_HOME/pca/config.yaml (~/.config/...),\n"
	    "                          /etc/pca/config.yaml)\n"
	    "      --from MAILBOX      without a configuration: the sender\n"
	    "      --to MAILBOX        ... a recipient (repeat for several)\n"
	    "      --cc MAILBOX        ... a copy recipient\n"
	    "      --bcc MAILBOX       ... a blind copy recipient (never in the headers)\n"
	    "      --envelope-from A   ... the bounce address (default: the From address)\n"
	    "      --smtp URL          ... smtp://host:587 (STARTTLS) or smtps://host:465\n"
	    "      --tls T             ... required (default), optional or none\n"
	    "      --user U            ... the SMTP user\n"
	    "      --password-file F   ... file holding the password\n"
	    "      --password-env V    ... environment variable holding it\n"
	    "      --sendmail[=PATH]   hand each message to a local MTA (default /usr/sbin/sendmail)\n"
	    "                          instead of SMTP, for every action\n"
	    "  -a, --action ID         only this email action\n"
	    "      --spool DB          the spool (default: spool: in the configuration)\n"
	    "      --drain             send what the spool has due, print finished records\n"
	    "      --resend            send even what the spool says was sent\n"
	    "      --new-id            a fresh idempotency key instead of the stable one\n"
	    "      --list              print the spooled records (JSON Lines)\n"
	    "      --count             print how many spooled items match\n"
	    "      --requeue           make matching items due now\n"
	    "      --status S          with --list/--count/--requeue: pending, leased, due, done, dead\n"
	    "      --since T           ... created since T (RFC 3339, or a duration ago: 24h)\n"
	    "      --enable-endpoint URL  (webhooks only; accepted for symmetry)\n"
	    "  -j, --parallel N        SMTP transactions at once (default 16)\n"
	    "      --timeout S         seconds per transaction (default: the action's, 60)\n"
	    "      --retries N         quick retries in this run before spooling (default 2)\n"
	    "      --retry-ambiguous   send again after a connection lost at the end of DATA\n"
	    "      --log FILE          append one JSON line per attempt\n"
	    "      --log-bodies        (accepted; email log lines never hold the message)\n"
	    "  -n, --dry-run           print each transaction (envelope and message), send nothing\n"
	    "      --now TIME          the current time, RFC 3339 (Date header, recording expiry)\n"
	    "      --allow-private     (webhooks and SMS only; SMTP servers are yours)\n"
	    "      --allow-http        (webhooks and SMS only)\n"
	    "      --cacert FILE       trust the CA certificates in FILE (with --smtp)\n"
	    "      --rejects FILE      append lines that are not valid records to FILE\n"
	    "  -q, --quiet             only errors on stderr\n"
	    "  -v, --verbose           a line on stderr per action and record\n"
	    "  -h, --help              this help\n"
	    "  -V, --version           version and library versions\n\n"
	    "Exit status: 0 all sent, 1 some failed, 2 usage, 65 some lines were not records,\n"
	    "66 unreadable input, 74 output failed, 75 some were spooled, 78 configuration.\n",
	    synopsis);
}

enum { O_FROM = 300, O_TO, O_CC, O_BCC, O_ENVELOPE, O_SMTP, O_TLS, O_USER, O_PASSWORD_FILE,
	O_PASSWORD_ENV, O_SENDMAIL, O_RETRY_AMBIGUOUS };

static const struct option own_options[] = {
	{ "from", required_argument, NULL, O_FROM },
	{ "to", required_argument, NULL, O_TO },
	{ "cc", required_argument, NULL, O_CC },
	{ "bcc", required_argument, NULL, O_BCC },
	{ "envelope-from", required_argument, NULL, O_ENVELOPE },
	{ "smtp", required_argument, NULL, O_SMTP },
	{ "tls", required_argument, NULL, O_TLS },
	{ "user", required_argument, NULL, O_USER },
	{ "password-file", required_argument, NULL, O_PASSWORD_FILE },
	{ "password-env", required_argument, NULL, O_PASSWORD_ENV },
	{ "sendmail", optional_argument, NULL, O_SENDMAIL },
	{ "retry-ambiguous", no_argument, NULL, O_RETRY_AMBIGUOUS },
	{ NULL, 0, NULL, 0 },
};

struct options {
	struct pca_send_options send;
	struct pca_email_adhoc adhoc;
	size_t nto, ncc, nbcc;
	const char *sendmail;
	bool adhoc_flags, retry_ambiguous;
};

static void
add_to(char ***list, size_t *n, char *value)
{
	*list = pca_reallocarray(*list, *n + 2, sizeof **list);
	(*list)[(*n)++] = value;
	(*list)[*n] = NULL;
}

static bool
own_option(void *ud, int c, char *arg)
{
	struct options *o = ud;

	if (c < O_FROM || c > O_RETRY_AMBIGUOUS)
		return false;
	o->adhoc_flags = o->adhoc_flags || (c != O_SENDMAIL && c != O_RETRY_AMBIGUOUS);
	switch (c) {
	case O_FROM: o->adhoc.from = arg; break;
	case O_TO: add_to(&o->adhoc.to, &o->nto, arg); break;
	case O_CC: add_to(&o->adhoc.cc, &o->ncc, arg); break;
	case O_BCC: add_to(&o->adhoc.bcc, &o->nbcc, arg); break;
	case O_ENVELOPE: o->adhoc.envelope_from = arg; break;
	case O_SMTP: o->adhoc.smtp_url = arg; break;
	case O_TLS:
		if (strcmp(arg, "required") && strcmp(arg, "optional") && strcmp(arg, "none"))
			pca_usage_fail(synopsis, "--tls %s: required, optional or none", arg);
		o->adhoc.tls = arg;
		break;
	case O_USER: o->adhoc.user = arg; break;
	case O_PASSWORD_FILE: o->adhoc.password_kind = PCA_SECRET_FILE; o->adhoc.password_ref = arg; break;
	case O_PASSWORD_ENV: o->adhoc.password_kind = PCA_SECRET_ENV; o->adhoc.password_ref = arg; break;
	case O_SENDMAIL: o->sendmail = arg ? arg : "/usr/sbin/sendmail"; break;
	case O_RETRY_AMBIGUOUS: o->retry_ambiguous = true; break;
	}
	return true;
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	int first = pca_send_parse_args(argc, argv, &o->send, own_options, own_option, o, help,
	    synopsis);

	if (o->adhoc_flags && o->send.config)
		pca_usage_fail(synopsis, "give either -c or --from/--to, not both");
	if (o->adhoc_flags && (!o->adhoc.from || o->nto + o->ncc + o->nbcc == 0))
		pca_usage_fail(synopsis, "without a configuration, give --from and at least one --to");
	o->adhoc.sendmail = o->sendmail;
	o->adhoc.cacert = o->send.cacert;
	return first;
}

static struct pca_config *
load_config(const struct options *o, struct pca_err *err)
{
	if (o->adhoc_flags)
		return pca_config_adhoc_email(&o->adhoc, err);
	return pca_send_load_config(&o->send, "use --from, --to and --smtp", err);
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct pca_email_ctx ch = { 0 };
	struct pca_config *cfg;
	struct pca_err err = PCA_ERR_INIT;
	int first, status = PCA_EXIT_CONFIG;

	pca_tool_init("pca-send-email");
	first = parse_args(argc, argv, &o);
	cfg = load_config(&o, &err);
	if (!cfg && err.msg) {
		pca_warn("%s", err.msg);
		pca_err_clear(&err);
	} else {
		ch.retry_ambiguous = o.retry_ambiguous;
		ch.sendmail = o.sendmail;
		status = pca_send_run(&o.send, cfg, &pca_email_channel, &ch, argv + first,
		    argc - first, synopsis);
	}
	pca_config_free(cfg);
	free(o.adhoc.to);
	free(o.adhoc.cc);
	free(o.adhoc.bcc);
	return pca_tool_finish(status);
}
