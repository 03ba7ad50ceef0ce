/* pca-webhook: POST each call record's signed payload to its webhook
 * actions, retry, spool what cannot go yet, and drain the spool from cron. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "timeutil.h"
#include "tool.h"
#include "deliver.h"
#include "send_webhook.h"

static const char synopsis[] =
    "pca-webhook [-c FILE | --url URL (--secret-file F | --secret-env VAR)] [--action ID]\n"
    "                   [--spool DB] [--resend] [--new-id] [--parallel N] [--timeout S]\n"
    "                   [--retries N] [--log FILE] [--log-bodies] [--dry-run] [--now TIME]\n"
    "                   [--allow-private] [--allow-http] [--cacert FILE] [--rejects FILE] [FILE...]\n"
    "       pca-webhook --drain [--spool DB] [options]\n"
    "       pca-webhook (--list | --count | --requeue) [--status S] [--since T] [--spool DB]\n"
    "       pca-webhook --enable-endpoint URL [--spool DB]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Deliver each call record (JSON Lines) to its webhook actions, signed as Standard\n"
	    "Webhooks 1.0, and write the record with a post_call_actions entry per delivery.\n\n"
	    "  -c, --config FILE       configuration (default: $PCA_CONFIG, ~/.config/pca/config.yaml,\n"
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

enum mode { M_SEND, M_DRAIN, M_LIST, M_COUNT, M_REQUEUE, M_ENABLE };

struct options {
	const char *config, *url, *secret_file, *secret_env, *action, *spool, *rejects;
	const char *log, *now, *status, *since, *cacert, *enable;
	bool resend, new_id, log_bodies, dry_run, allow_private, allow_http, v1a, quiet, verbose;
	int parallel, retries;
	double timeout;
	enum mode mode;
	int nmodes;
};

static long
number(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < min || v > max)
		pca_usage_fail(synopsis, "%s %s: a whole number from %ld to %ld", opt, s, min, max);
	return v;
}

static void
set_mode(struct options *o, enum mode m)
{
	o->mode = m;
	o->nmodes++;
}

enum {
	O_URL = 256, O_SECRET_FILE, O_SECRET_ENV, O_SPOOL, O_DRAIN, O_RESEND, O_NEW_ID, O_LIST,
	O_COUNT, O_REQUEUE, O_STATUS, O_SINCE, O_ENABLE, O_TIMEOUT, O_RETRIES, O_LOG,
	O_LOG_BODIES, O_NOW, O_ALLOW_PRIVATE, O_ALLOW_HTTP, O_CACERT, O_V1A, O_REJECTS,
};

static const struct option longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "url", required_argument, NULL, O_URL },
	{ "secret-file", required_argument, NULL, O_SECRET_FILE },
	{ "secret-env", required_argument, NULL, O_SECRET_ENV },
	{ "action", required_argument, NULL, 'a' },
	{ "spool", required_argument, NULL, O_SPOOL },
	{ "drain", no_argument, NULL, O_DRAIN },
	{ "resend", no_argument, NULL, O_RESEND },
	{ "new-id", no_argument, NULL, O_NEW_ID },
	{ "list", no_argument, NULL, O_LIST },
	{ "count", no_argument, NULL, O_COUNT },
	{ "requeue", no_argument, NULL, O_REQUEUE },
	{ "status", required_argument, NULL, O_STATUS },
	{ "since", required_argument, NULL, O_SINCE },
	{ "enable-endpoint", required_argument, NULL, O_ENABLE },
	{ "parallel", required_argument, NULL, 'j' },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "retries", required_argument, NULL, O_RETRIES },
	{ "log", required_argument, NULL, O_LOG },
	{ "log-bodies", no_argument, NULL, O_LOG_BODIES },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "now", required_argument, NULL, O_NOW },
	{ "allow-private", no_argument, NULL, O_ALLOW_PRIVATE },
	{ "allow-http", no_argument, NULL, O_ALLOW_HTTP },
	{ "cacert", required_argument, NULL, O_CACERT },
	{ "v1a", no_argument, NULL, O_V1A },
	{ "rejects", required_argument, NULL, O_REJECTS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void
option(struct options *o, int c, char *arg, char **argv)
{
	switch (c) {
	case 'c': o->config = arg; break;
	case O_URL: o->url = arg; break;
	case O_SECRET_FILE: o->secret_file = arg; break;
	case O_SECRET_ENV: o->secret_env = arg; break;
	case 'a': o->action = arg; break;
	case O_SPOOL: o->spool = arg; break;
	case O_DRAIN: set_mode(o, M_DRAIN); break;
	case O_RESEND: o->resend = true; break;
	case O_NEW_ID: o->new_id = true; break;
	case O_LIST: set_mode(o, M_LIST); break;
	case O_COUNT: set_mode(o, M_COUNT); break;
	case O_REQUEUE: set_mode(o, M_REQUEUE); break;
	case O_STATUS: o->status = arg; break;
	case O_SINCE: o->since = arg; break;
	case O_ENABLE: set_mode(o, M_ENABLE); o->enable = arg; break;
	case 'j': o->parallel = (int)number("--parallel", arg, 1, 1024); break;
	case O_TIMEOUT: o->timeout = (double)number("--timeout", arg, 1, 3600); break;
	case O_RETRIES: o->retries = (int)number("--retries", arg, 0, 10); break;
	case O_LOG: o->log = arg; break;
	case O_LOG_BODIES: o->log_bodies = true; break;
	case 'n': o->dry_run = true; break;
	case O_NOW: o->now = arg; break;
	case O_ALLOW_PRIVATE: o->allow_private = true; break;
	case O_ALLOW_HTTP: o->allow_http = true; break;
	case O_CACERT: o->cacert = arg; break;
	case O_V1A: o->v1a = true; break;
	case O_REJECTS: o->rejects = arg; break;
	case 'q': o->quiet = true; break;
	case 'v': o->verbose = true; break;
	case 'h': help(); exit(pca_tool_finish(0));
	case 'V': pca_print_version(stdout); exit(pca_tool_finish(0));
	default: pca_usage_bad_option(synopsis, longopts, argv, c);
	}
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	int c;

	o->parallel = 16;
	o->retries = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:a:j:nqvhV", longopts, NULL)) != -1)
		option(o, c, optarg, argv);
	if (o->nmodes > 1)
		pca_usage_fail(synopsis, "--drain, --list, --count, --requeue and --enable-endpoint "
		    "exclude each other");
	if (o->url && o->config)
		pca_usage_fail(synopsis, "give either --url or -c, not both");
	if (o->url && !!o->secret_file == !!o->secret_env)
		pca_usage_fail(synopsis, "--url needs one of --secret-file or --secret-env");
	if (!o->url && (o->secret_file || o->secret_env))
		pca_usage_fail(synopsis, "--secret-file and --secret-env go with --url");
	if (o->log_bodies && !o->log)
		pca_usage_fail(synopsis, "--log-bodies goes with --log");
	if ((o->status || o->since) && o->mode != M_LIST && o->mode != M_COUNT &&
	    o->mode != M_REQUEUE)
		pca_usage_fail(synopsis, "--status and --since go with --list, --count or --requeue");
	if (o->mode != M_SEND && optind < argc)
		pca_usage_fail(synopsis, "input files go with sending, not with this mode");
	return optind;
}

struct run {
	struct options o;
	struct pca_config *cfg;
	struct pca_sender *s;
	struct pca_webhook_ctx ch;
	struct pca_outcome out;
	struct pca_buf line;
	int64_t now;
	FILE *log;
};

static struct pca_config *
load_config(const struct options *o, struct pca_err *err)
{
	char *found;
	struct pca_config *cfg;

	if (o->url)
		return pca_config_adhoc_webhook(o->url, o->secret_file ? PCA_SECRET_FILE :
		    PCA_SECRET_ENV, o->secret_file ? o->secret_file : o->secret_env, err);
	found = o->config ? NULL : pca_config_find();
	if (!o->config && !found) {
		pca_err_set(err, "no configuration: give -c FILE, set PCA_CONFIG, or create "
		    "~/.config/pca/config.yaml (or use --url with --secret-file)");
		return NULL;
	}
	cfg = pca_config_load(o->config ? o->config : found, err);
	free(found);
	return cfg;
}

static const char *
spool_path(const struct run *r)
{
	return r->o.spool ? r->o.spool : r->cfg ? r->cfg->spool : NULL;
}

/* ---- hooks: what the sender hands back ---- */

static void
write_record(void *ud, struct pca_call *call)
{
	struct run *r = ud;

	pca_buf_reset(&r->line);
	pca_json_write(&r->line, call->obj);
	pca_buf_addc(&r->line, '\n');
	fwrite(r->line.data, 1, r->line.len, stdout);
	if (!r->o.verbose || !call->actions)
		return;
	for (size_t i = 0; i < call->nactions; i++) {
		json_object *e = json_object_array_get_idx(call->actions, i), *v = NULL;
		const char *type = pca_json_str(e, "type");
		if (!type || strcmp(type, "webhook") != 0)
			continue;
		json_object_object_get_ex(e, "http_status", &v);
		pca_warn("%s %s: %s%s%s", call->call_id, pca_json_str(e, "action_id"),
		    pca_json_str(e, "status"), v ? " " : "", v ? json_object_get_string(v) : "");
	}
}

static void
write_request(void *ud, const char *text, size_t len)
{
	(void)ud;
	fwrite(text, 1, len, stdout);
	fputc('\n', stdout);
}

static void
warn_hook(void *ud, const char *file, unsigned long line, const char *msg)
{
	struct run *r = ud;

	if (r->o.quiet)
		return;
	if (file)
		pca_warn_at(file, line, "%s", msg);
	else
		pca_warn("%s", msg);
}

static void
warn_channel(void *ud, const char *msg)
{
	warn_hook(ud, NULL, 0, msg);
}

/* ---- the modes ---- */

static int
spool_mode(struct run *r, struct pca_err *err)
{
	static const enum pca_spool_mode modes[] = { [M_LIST] = PCA_SPOOL_LIST,
		[M_COUNT] = PCA_SPOOL_COUNT, [M_REQUEUE] = PCA_SPOOL_REQUEUE,
		[M_ENABLE] = PCA_SPOOL_ENABLE };
	struct pca_spool_request q = { modes[r->o.mode], spool_path(r), "webhook", r->o.status,
		r->o.since, r->o.action, r->o.enable, r->now, r->o.quiet };

	return pca_tool_spool(&q, synopsis, &r->out, err);
}

static void
sender_opts(const struct run *r, struct pca_sender_opts *so)
{
	memset(so, 0, sizeof *so);
	so->only_action = r->o.action;
	so->spool_path = spool_path(r);
	so->resend = r->o.resend;
	so->new_id = r->o.new_id;
	so->dry_run = r->o.dry_run;
	so->parallel = r->o.parallel;
	so->attempts = r->o.mode == M_DRAIN ? 1 : r->o.retries + 1;
	so->timeout_ms = (int64_t)(r->o.timeout * 1000);
	so->fixed_now = r->o.now ? r->now : -1;
	so->log = r->log;
	so->log_bodies = r->o.log_bodies;
	so->http.allow_private = r->o.allow_private;
	so->http.allow_http = r->o.allow_http;
	so->http.cacert = r->o.cacert;
	so->http.user_agent = r->ch.user_agent;
}

static void
tally(struct run *r)
{
	const struct pca_sender_counts *c = pca_sender_counts(r->s);

	r->out.failed += c->failed;
	r->out.spooled += c->spooled;
}

static int
send_mode(struct run *r, char **files, int nfiles, struct pca_err *err)
{
	struct pca_sender_opts so;
	struct pca_sender_hooks hooks = { r, write_record, write_request, warn_hook };
	struct pca_rejects rj;
	int rc;

	pca_webhook_ctx_init(&r->ch, r->o.v1a);
	r->ch.warn = warn_channel;
	r->ch.warn_ud = r;
	sender_opts(r, &so);
	if (!(r->s = pca_sender_new(r->cfg, &pca_webhook_channel, &r->ch, &so, &hooks, err))) {
		r->out.config = true;
		return -1;
	}
	if (r->o.mode == M_DRAIN) {
		rc = pca_sender_drain(r->s, err);
		tally(r);
		return rc;
	}
	if (pca_rejects_open(&rj, r->o.rejects, err) < 0)
		pca_usage_fail(synopsis, "%s", err->msg);
	/* Read ahead while transfers run, but not without bound. */
	rc = pca_tool_each_record_async(files, nfiles, &rj, &r->out, r->s,
	    (size_t)r->o.parallel * 64, (size_t)64 << 20);
	if (!pca_rejects_close(&rj))
		r->out.ioerr = true;
	tally(r);
	if (rc < 0)
		r->out.failed++;
	return 0;
}

static int
setup(struct run *r, struct pca_err *err)
{
	r->now = pca_time_now();
	if (r->o.now && pca_time_parse(r->o.now, &r->now, err) < 0)
		pca_usage_fail(synopsis, "--now %s: %s", r->o.now, err->msg);
	if (r->o.mode != M_SEND && r->o.mode != M_DRAIN && !r->o.config && !r->o.url &&
	    r->o.spool)
		return 0; /* the spool alone is enough */
	if (!(r->cfg = load_config(&r->o, err))) {
		r->out.config = true;
		return -1;
	}
	if (r->o.log && !(r->log = fopen(r->o.log, "a")))
		pca_usage_fail(synopsis, "--log %s: %s", r->o.log, strerror(errno));
	return 0;
}

int
main(int argc, char **argv)
{
	struct run r = { 0 };
	struct pca_err err = PCA_ERR_INIT;
	int first, rc = 0;

	pca_tool_init("pca-webhook");
	first = parse_args(argc, argv, &r.o);
	if (setup(&r, &err) < 0)
		rc = -1;
	else if (r.o.mode == M_SEND || r.o.mode == M_DRAIN)
		rc = send_mode(&r, argv + first, argc - first, &err);
	else if ((rc = spool_mode(&r, &err)) < 0)
		r.out.failed++;
	if (rc < 0)
		pca_warn("%s", pca_err_msg(&err));
	pca_sender_free(r.s);
	if (r.log && (ferror(r.log) | fclose(r.log))) {
		pca_warn("--log %s: write error", r.o.log);
		r.out.ioerr = true;
	}
	pca_config_free(r.cfg);
	pca_buf_free(&r.line);
	pca_err_clear(&err);
	return pca_tool_finish(pca_outcome_status(&r.out));
}
