/* pca-send-sms: text each call's caller ID, contact and summary to the
 * actions' recipients through an SMS provider, and add the results to the
 * records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "send_sms.h"
#include "tool.h"

static const char synopsis[] =
    "pca-send-sms [-c FILE | --provider P --to NUMBER... [--from F] [--account-sid SID]\n"
    "                    [--api-key KEY] (--secret-file F | --secret-env VAR) [--base-url URL]\n"
    "                    [--max-segments N]] [--action ID] [--spool DB] [--resend] [--new-id]\n"
    "                    [--parallel N] [--timeout S] [--retries N] [--retry-ambiguous]\n"
    "                    [--no-pacing] [--log FILE] [--dry-run] [--now TIME] [--allow-private]\n"
    "                    [--allow-http] [--cacert FILE] [--rejects FILE] [FILE...]\n"
    "       pca-send-sms --drain [--spool DB] [options]\n"
    "       pca-send-sms (--list | --count | --requeue) [--status S] [--since T]\n"
    "                   [--action ID] [--spool DB]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Text each call record's caller ID, contact name and summary (JSON Lines) to its SMS\n"
	    "actions' recipients through their provider, and write the record with a\n"
	    "post_call_actions entry per action.\n\n"
	    "  -c, --config FILE       configuration (default: $PCA_CONFIG, then\n"
	    "                          $XDG_CONFIG_HOME/pca/config.yaml (~/.config/...),\n"
	    "                          /etc/pca/config.yaml)\n"
	    "      --provider P        without a configuration: twilio, vonage or telnyx\n"
	    "      --to NUMBER         ... a recipient (E.164; repeat for several)\n"
	    "      --from F            ... the sender: a number or an alphanumeric sender id\n"
	    "      --account-sid SID   ... twilio: the account SID\n"
	    "      --api-key KEY       ... twilio: an API key SID (else the account SID);\n"
	    "                          vonage: the api_key\n"
	    "      --secret-file F     ... file holding the auth token, API secret or API key\n"
	    "      --secret-env VAR    ... environment variable holding it\n"
	    "      --base-url URL      ... the provider's API root (regional endpoints, tests)\n"
	    "      --max-segments N    ... fit the text into N segments (default 2)\n"
	    "  -a, --action ID         only this SMS action\n"
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
	    "  -j, --parallel N        messages in flight at once (default 16)\n"
	    "      --timeout S         seconds per attempt (default: the action's, 15)\n"
	    "      --retries N         quick retries in this run before spooling (default 2)\n"
	    "      --retry-ambiguous   send again after a timeout that may have sent the text\n"
	    "      --no-pacing         ignore the actions' rate: limits\n"
	    "      --log FILE          append one JSON line per attempt\n"
	    "      --log-bodies        (accepted; SMS log lines never hold the text)\n"
	    "  -n, --dry-run           print the requests (secrets masked), send nothing\n"
	    "      --now TIME          the current time, RFC 3339\n"
	    "      --allow-private     allow loopback and private addresses (local gateways, tests)\n"
	    "      --allow-http        allow http:// provider URLs\n"
	    "      --cacert FILE       trust the CA certificates in FILE\n"
	    "      --rejects FILE      append lines that are not valid records to FILE\n"
	    "  -q, --quiet             only errors on stderr\n"
	    "  -v, --verbose           a line on stderr per action and record\n"
	    "  -h, --help              this help\n"
	    "  -V, --version           version and library versions\n\n"
	    "Exit status: 0 all sent, 1 some failed, 2 usage, 65 some lines were not records,\n"
	    "66 unreadable input, 74 output failed, 75 some were spooled, 78 configuration.\n",
	    synopsis);
}

enum { O_PROVIDER = 300, O_TO, O_FROM, O_ACCOUNT_SID, O_API_KEY, O_SECRET_FILE, O_SECRET_ENV,
	O_BASE_URL, O_MAX_SEGMENTS, O_RETRY_AMBIGUOUS, O_NO_PACING };

static const struct option own_options[] = {
	{ "provider", required_argument, NULL, O_PROVIDER },
	{ "to", required_argument, NULL, O_TO },
	{ "from", required_argument, NULL, O_FROM },
	{ "account-sid", required_argument, NULL, O_ACCOUNT_SID },
	{ "api-key", required_argument, NULL, O_API_KEY },
	{ "secret-file", required_argument, NULL, O_SECRET_FILE },
	{ "secret-env", required_argument, NULL, O_SECRET_ENV },
	{ "base-url", required_argument, NULL, O_BASE_URL },
	{ "max-segments", required_argument, NULL, O_MAX_SEGMENTS },
	{ "retry-ambiguous", no_argument, NULL, O_RETRY_AMBIGUOUS },
	{ "no-pacing", no_argument, NULL, O_NO_PACING },
	{ NULL, 0, NULL, 0 },
};

struct options {
	struct pca_send_options send;
	struct pca_sms_adhoc adhoc;
	const char *secret_file, *secret_env;
	size_t nto;
	bool retry_ambiguous, no_pacing;
};

static bool
own_option(void *ud, int c, char *arg)
{
	struct options *o = ud;
	char *end;

	if (c < O_PROVIDER || c > O_NO_PACING)
		return false;
	switch (c) {
	case O_PROVIDER: o->adhoc.provider = arg; break;
	case O_TO:
		o->adhoc.to = pca_reallocarray(o->adhoc.to, o->nto + 2, sizeof *o->adhoc.to);
		o->adhoc.to[o->nto++] = arg;
		o->adhoc.to[o->nto] = NULL;
		break;
	case O_FROM: o->adhoc.from = arg; break;
	case O_ACCOUNT_SID: o->adhoc.account_sid = arg; break;
	case O_API_KEY: o->adhoc.api_key = arg; break;
	case O_SECRET_FILE: o->secret_file = arg; break;
	case O_SECRET_ENV: o->secret_env = arg; break;
	case O_BASE_URL: o->adhoc.base_url = arg; break;
	case O_MAX_SEGMENTS:
		o->adhoc.max_segments = (int)strtol(arg, &end, 10);
		if (*end || o->adhoc.max_segments < 1 || o->adhoc.max_segments > 10)
			pca_usage_fail(synopsis, "--max-segments %s: a whole number from 1 to 10", arg);
		break;
	case O_RETRY_AMBIGUOUS: o->retry_ambiguous = true; break;
	case O_NO_PACING: o->no_pacing = true; break;
	}
	return true;
}

static void
check_adhoc(struct options *o)
{
	bool adhoc = o->adhoc.provider || o->nto || o->adhoc.from || o->adhoc.account_sid ||
	    o->adhoc.api_key || o->secret_file || o->secret_env || o->adhoc.base_url ||
	    o->adhoc.max_segments;

	if (!adhoc)
		return;
	if (o->send.config)
		pca_usage_fail(synopsis, "give either -c or the provider flags, not both");
	if (!o->adhoc.provider || !o->nto)
		pca_usage_fail(synopsis, "without a configuration, give --provider and --to");
	if (!!o->secret_file == !!o->secret_env)
		pca_usage_fail(synopsis, "--provider needs one of --secret-file or --secret-env");
	o->adhoc.secret_kind = o->secret_file ? PCA_SECRET_FILE : PCA_SECRET_ENV;
	o->adhoc.secret_ref = o->secret_file ? o->secret_file : o->secret_env;
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	int first = pca_send_parse_args(argc, argv, &o->send, own_options, own_option, o, help,
	    synopsis);

	check_adhoc(o);
	return first;
}

static struct pca_config *
load_config(const struct options *o, struct pca_err *err)
{
	if (o->adhoc.provider)
		return pca_config_adhoc_sms(&o->adhoc, err);
	return pca_send_load_config(&o->send, "use --provider and --to", err);
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct pca_sms_ctx ch;
	struct pca_config *cfg;
	struct pca_err err = PCA_ERR_INIT;
	int first, status;

	pca_tool_init("pca-send-sms");
	first = parse_args(argc, argv, &o);
	cfg = load_config(&o, &err);
	if (!cfg && err.msg) {
		pca_warn("%s", err.msg);
		pca_err_clear(&err);
		free(o.adhoc.to);
		return pca_tool_finish(PCA_EXIT_CONFIG);
	}
	pca_sms_ctx_init(&ch);
	ch.retry_ambiguous = o.retry_ambiguous;
	ch.no_pacing = o.no_pacing;
	status = pca_send_run(&o.send, cfg, &pca_sms_channel, &ch, argv + first, argc - first,
	    synopsis);
	pca_sms_ctx_free(&ch);
	pca_config_free(cfg);
	free(o.adhoc.to);
	return pca_tool_finish(status);
}
