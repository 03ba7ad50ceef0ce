/* pca-webhook: POST each call record's signed payload to its webhook
 * actions, retry, spool what cannot go yet, and drain the spool from cron. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "send_webhook.h"
#include "tool.h"

static const char synopsis[] =
    "pca-webhook [-c FILE | --url URL (--secret-file F | --secret-env VAR)] [--action ID]\n"
    "                   [--spool DB] [--resend] [--new-id] [--parallel N] [--timeout S]\n"
    "                   [--retries N] [--log FILE] [--log-bodies] [--dry-run] [--now TIME]\n"
    "                   [--allow-private] [--allow-http] [--cacert FILE] [--rejects FILE] [FILE...]\n"
    "       pca-webhook --drain [--spool DB] [options]\n"
    "       pca-webhook (--list | --count | --requeue) [--status S] [--since T]\n"
    "                   [--action ID] [--spool DB]\n"
    "       pca-webhook --enable-endpoint URL [--spool DB]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Deliver each call record (JSON Lines) to its webhook actions, signed as Standard\n"
	    "Webhooks 1.0, and write the record with a post_call_actions entry per delivery.\n\n"
	    "  -c, --config FILE       configuration (default: $PCA_CONFIG, then\n"
	    "                          $XDG_CONFIG_HOME/pca/config.yaml (~/.config/...),\n"
	    "                          /etc/pca/config.yaml)\n"
	    "      --url URL           deliver to URL without a configuration (action id \"webhook\")\n"
	    "      --secret-file F     with --url: file holding the whsec_ secret(s)\n"
	    "      --secret-env VAR    with --url: environment variable holding the secret(s)\n"
	    "  -a, --action ID         only this webhook action\n"
	    "      --spool DB          the spool (default: spool: in the configuration)\n"
	    "      --drain             deliver what the spool has due, print finished records\n"
	    "      --resend            deliver again even what the spool says was delivered\n"
	    "      --new-id            a fresh webhook-id instead of the stable one\n"
	    "      --list              print the spooled records (JSON Lines)\n"
	    "      --count             print how many spooled items match\n"
	    "      --requeue           make matching items due now (after an outage)\n"
	    "      --status S          with --list/--count/--requeue: pending, leased, due, done, dead\n"
	    "      --since T           ... created since T (RFC 3339, or a duration ago: 24h)\n"
	    "      --enable-endpoint URL  deliver to URL again after it answered 410 Gone\n"
	    "  -j, --parallel N        deliveries at once (default 16)\n"
	    "      --timeout S         seconds per attempt (default: the action's, 15)\n"
	    "      --retries N         quick retries in this run before spooling (default 2)\n"
	    "      --log FILE          append one JSON line per attempt\n"
	    "      --log-bodies        with --log: include each body (for pca-verify --log)\n"
	    "  -n, --dry-run           print the requests, send nothing\n"
	    "      --now TIME          the current time, RFC 3339 (reproducible --dry-run)\n"
	    "      --allow-private     allow loopback and private addresses\n"
	    "      --allow-http        allow http:// URLs (default: https only)\n"
	    "      --cacert FILE       trust the CA certificates in FILE\n"
	    "      --v1a               allow whsk_ secrets (Ed25519 v1a signatures)\n"
	    "      --rejects FILE      append lines that are not valid records to FILE\n"
	    "  -q, --quiet             only errors on stderr\n"
	    "  -v, --verbose           a line on stderr per delivery\n"
	    "  -h, --help              this help\n"
	    "  -V, --version           version and library versions\n\n"
	    "Exit status: 0 all delivered, 1 some failed, 2 usage, 65 some lines were not\n"
	    "records, 66 unreadable input, 74 output failed, 75 some were spooled, 78 configuration.\n",
	    synopsis);
}

enum { O_URL = 300, O_SECRET_FILE, O_SECRET_ENV, O_V1A };

static const struct option own_options[] = {
	{ "url", required_argument, NULL, O_URL },
	{ "secret-file", required_argument, NULL, O_SECRET_FILE },
	{ "secret-env", required_argument, NULL, O_SECRET_ENV },
	{ "v1a", no_argument, NULL, O_V1A },
	{ NULL, 0, NULL, 0 },
};

struct options {
	struct pca_send_options send;
	const char *url, *secret_file, *secret_env;
	bool v1a;
};

static bool
own_option(void *ud, int c, char *arg)
{
	struct options *o = ud;

	switch (c) {
	case O_URL: o->url = arg; break;
	case O_SECRET_FILE: o->secret_file = arg; break;
	case O_SECRET_ENV: o->secret_env = arg; break;
	case O_V1A: o->v1a = true; break;
	default: return false;
	}
	return true;
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	int first = pca_send_parse_args(argc, argv, &o->send, own_options, own_option, o, help,
	    synopsis);

	if (o->url && o->send.config)
		pca_usage_fail(synopsis, "give either --url or -c, not both");
	if (o->url && !!o->secret_file == !!o->secret_env)
		pca_usage_fail(synopsis, "--url needs one of --secret-file or --secret-env");
	if (!o->url && (o->secret_file || o->secret_env))
		pca_usage_fail(synopsis, "--secret-file and --secret-env go with --url");
	return first;
}

static struct pca_config *
load_config(const struct options *o, struct pca_err *err)
{
	if (o->url)
		return pca_config_adhoc_webhook(o->url, o->secret_file ? PCA_SECRET_FILE :
		    PCA_SECRET_ENV, o->secret_file ? o->secret_file : o->secret_env, err);
	return pca_send_load_config(&o->send, "use --url with --secret-file", err);
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct pca_webhook_ctx ch = { 0 };
	struct pca_config *cfg;
	struct pca_err err = PCA_ERR_INIT;
	int first, status;

	pca_tool_init("pca-webhook");
	first = parse_args(argc, argv, &o);
	cfg = load_config(&o, &err);
	if (!cfg && err.msg) {
		pca_warn("%s", err.msg);
		pca_err_clear(&err);
		return pca_tool_finish(PCA_EXIT_CONFIG);
	}
	ch.v1a = o.v1a;
	status = pca_send_run(&o.send, cfg, &pca_webhook_channel, &ch, argv + first, argc - first,
	    synopsis);
	pca_config_free(cfg);
	return pca_tool_finish(status);
}
