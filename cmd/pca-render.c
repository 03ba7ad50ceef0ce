/* pca-render: a call record -> the SMS text, email message or webhook body
 * each post-call action would send. No network. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "render.h"
#include "timeutil.h"
#include "tool.h"

static const char synopsis[] =
    "pca-render [-c FILE] -f sms|email|webhook [--action ID] [--raw] [--now TIME]\n"
    "                  [--rejects FILE] [-q | -v] [FILE...]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Render what each post-call action would send for each call record (JSON Lines),\n"
	    "without sending anything. Prints one JSON object per record and action.\n\n"
	    "  -c, --config FILE     configuration (default: $PCA_CONFIG, then\n"
	    "                        $XDG_CONFIG_HOME/pca/config.yaml (~/.config/...),\n"
	    "                        /etc/pca/config.yaml, else a built-in one)\n"
	    "  -f, --format FORMAT   sms, email or webhook\n"
	    "  -a, --action ID       only this action (also renders it when its \"when\" excludes the call)\n"
	    "  -r, --raw             print only the rendering itself, for one record and action\n"
	    "      --now TIME        the current time, RFC 3339 (Date header, recording expiry)\n"
	    "      --rejects FILE    append lines that are not valid records to FILE\n"
	    "  -q, --quiet           only errors on stderr (no notes of what \"when\" skips)\n"
	    "  -v, --verbose         a line on stderr per record and action rendered\n"
	    "  -h, --help            this help\n"
	    "  -V, --version         version and library versions\n\n"
	    "Exit status: 0 all rendered, 1 some rendering failed, 2 usage error, 65 some\n"
	    "lines were not records, 66 an input file could not be read, 74 output failed,\n"
	    "78 configuration error.\n",
	    synopsis);
}

enum format { F_SMS, F_EMAIL, F_WEBHOOK };

struct run {
	struct pca_config *cfg;
	struct pca_renderer *r;
	enum format format;
	const struct pca_action *only;
	bool raw, quiet, verbose;
	int64_t now;
	unsigned long renderings;
	struct pca_buf raw_out;
	struct pca_buf line;
	struct pca_outcome out;
};

static void
json_key(struct pca_buf *b, const char *key)
{
	pca_buf_addf(b, ",\"%s\":", key);
}

static void
json_str(struct pca_buf *b, const char *key, const char *s, size_t len)
{
	json_key(b, key);
	pca_json_write_string(b, s, len);
}

static void
begin_line(struct run *run, const struct pca_call *call, const struct pca_action *a)
{
	pca_buf_reset(&run->line);
	pca_buf_adds(&run->line, "{\"call_id\":");
	pca_json_write_string(&run->line, call->call_id, strlen(call->call_id));
	json_str(&run->line, "action_id", a->id, strlen(a->id));
	json_str(&run->line, "format", pca_action_type_name(a->type),
	    strlen(pca_action_type_name(a->type)));
}

/* --raw prints exactly one rendering: keep it until the input is done. */
static int
emit(struct run *run, const char *raw, size_t rawlen, const char *file, unsigned long line)
{
	run->renderings++;
	if (!run->raw) {
		pca_buf_adds(&run->line, "}\n");
		pca_out(run->line.data, run->line.len);
		return 0;
	}
	if (run->renderings > 1) {
		pca_warn_at(file, line, "--raw prints one rendering, but the input has more "
		    "(choose one record, and one action with --action)");
		run->out.usage = true;
		return -1;
	}
	pca_buf_add(&run->raw_out, raw, rawlen);
	return 0;
}

struct where {
	const char *file;
	unsigned long line;
};

static int
do_sms(struct run *run, const struct pca_action *a, struct pca_call *call,
	const struct where *at, struct pca_err *err)
{
	struct pca_sms_text t;
	const char *enc;
	int rc;

	if (pca_render_sms(run->r, a, call, run->now, &t, err) < 0)
		return -1;
	enc = pca_sms_encoding_name(t.count.encoding);
	begin_line(run, call, a);
	json_str(&run->line, "text", t.text.data, t.text.len);
	json_str(&run->line, "encoding", enc, strlen(enc));
	pca_buf_addf(&run->line, ",\"segments\":%zu,\"characters\":%zu,\"recipients\":%zu,"
	    "\"credits\":%.10g,\"truncated\":%s", t.count.segments, t.count.characters,
	    t.recipients, t.credits, t.truncated ? "true" : "false");
	rc = emit(run, t.text.data, t.text.len, at->file, at->line);
	pca_sms_text_free(&t);
	return rc;
}

static int
do_email(struct run *run, const struct pca_action *a, struct pca_call *call,
	const struct where *at, struct pca_err *err)
{
	struct pca_email e;
	int rc;

	if (pca_render_email(run->r, a, call, run->now, &e, err) < 0)
		return -1;
	begin_line(run, call, a);
	json_str(&run->line, "subject", e.subject.data, e.subject.len);
	json_str(&run->line, "message_id", e.message_id, strlen(e.message_id));
	pca_buf_addf(&run->line, ",\"recipients\":%zu,\"credits\":%.10g", e.recipients, e.credits);
	json_str(&run->line, "message", e.message.data, e.message.len);
	rc = emit(run, e.message.data, e.message.len, at->file, at->line);
	pca_email_free(&e);
	return rc;
}

static int
do_webhook(struct run *run, const struct pca_action *a, struct pca_call *call,
	const struct where *at)
{
	struct pca_buf body = PCA_BUF_INIT, id = PCA_BUF_INIT;
	int rc;

	pca_render_webhook(run->r, call, &body);
	pca_webhook_id(&id, call->call_id, a->id);
	begin_line(run, call, a);
	json_str(&run->line, "webhook_id", id.data, id.len);
	json_str(&run->line, "body", body.data, body.len);
	rc = emit(run, body.data, body.len, at->file, at->line);
	pca_buf_free(&body);
	pca_buf_free(&id);
	return rc;
}

static enum pca_action_type
action_type(enum format f)
{
	return f == F_SMS ? PCA_SMS : f == F_EMAIL ? PCA_EMAIL : PCA_WEBHOOK;
}

static int
render_action(struct run *run, const struct pca_action *a, struct pca_call *call,
	const struct where *at)
{
	struct pca_err err = PCA_ERR_INIT;
	const char *why;
	int rc;

	if (!run->only && !pca_when_matches(&a->when, call, pca_render_contact_name(run->r, call),
	    &why)) {
		if (!run->quiet)
			pca_warn_at(at->file, at->line, "action %s: skipped, its \"when: %s\" does not "
			    "match this call", a->id, why);
		return 0;
	}
	rc = run->format == F_SMS ? do_sms(run, a, call, at, &err) :
	    run->format == F_EMAIL ? do_email(run, a, call, at, &err) :
	    do_webhook(run, a, call, at);
	if (rc < 0 && err.msg) {
		pca_warn_at(at->file, at->line, "action %s: %s", a->id, err.msg);
		run->out.failed++;
		rc = 0;
	} else if (rc == 0 && run->verbose) {
		pca_warn_at(at->file, at->line, "%s action %s: rendered", call->call_id, a->id);
	}
	pca_err_clear(&err);
	return rc;
}

static int
render_record(void *ud, struct pca_call *call, const char *file, unsigned long line)
{
	struct run *run = ud;
	struct where at = { file, line };

	for (size_t i = 0; i < run->cfg->nactions; i++) {
		const struct pca_action *a = &run->cfg->actions[i];
		if (a->type != action_type(run->format) || (run->only && run->only != a))
			continue;
		if (render_action(run, a, call, &at) < 0)
			return -1;
	}
	return 0;
}

static struct pca_config *
load_config(const char *path, struct pca_err *err)
{
	char *found = path ? NULL : pca_config_find();
	struct pca_config *cfg;

	if (path || found)
		cfg = pca_config_load(path ? path : found, err);
	else
		cfg = pca_config_builtin(err);
	free(found);
	return cfg;
}

static const struct pca_action *
find_action(const struct pca_config *cfg, const char *id, enum format f)
{
	for (size_t i = 0; i < cfg->nactions; i++) {
		if (strcmp(cfg->actions[i].id, id) != 0)
			continue;
		if (cfg->actions[i].type != action_type(f))
			pca_usage_fail(synopsis, "action \"%s\" in %s is of type %s, not %s", id,
			    cfg->path, pca_action_type_name(cfg->actions[i].type),
			    pca_action_type_name(action_type(f)));
		return &cfg->actions[i];
	}
	pca_usage_fail(synopsis, "no action \"%s\" in %s", id, cfg->path);
}

static enum format
parse_format(const char *s)
{
	if (strcmp(s, "sms") == 0)
		return F_SMS;
	if (strcmp(s, "email") == 0)
		return F_EMAIL;
	if (strcmp(s, "webhook") == 0)
		return F_WEBHOOK;
	pca_usage_fail(synopsis, "unknown format \"%s\" (sms, email or webhook)", s);
}

struct options {
	const char *config, *format, *action, *now, *rejects;
	bool raw, quiet, verbose;
};

static int
parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_NOW = 256, OPT_REJECTS };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "action", required_argument, NULL, 'a' },
		{ "raw", no_argument, NULL, 'r' },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "rejects", required_argument, NULL, OPT_REJECTS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:f:a:rqvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'f': o->format = optarg; break;
		case 'a': o->action = optarg; break;
		case 'r': o->raw = true; break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose = true; break;
		case OPT_NOW: o->now = optarg; break;
		case OPT_REJECTS: o->rejects = optarg; break;
		case 'h': help(); exit(pca_tool_finish(0));
		case 'V': pca_print_version(stdout); exit(pca_tool_finish(0));
		default: pca_usage_bad_option(synopsis, longopts, argv, c);
		}
	}
	if (!o->format)
		pca_usage_fail(synopsis, "missing -f sms|email|webhook");
	return optind;
}

static int
setup(struct run *run, const struct options *o, struct pca_err *err)
{
	run->format = parse_format(o->format);
	run->raw = o->raw;
	run->quiet = o->quiet;
	run->verbose = o->verbose;
	run->now = pca_time_now();
	if (o->now && pca_time_parse(o->now, &run->now, err) < 0)
		pca_usage_fail(synopsis, "--now %s: %s", o->now, err->msg);
	run->cfg = load_config(o->config, err);
	if (!run->cfg || !(run->r = pca_renderer_new(run->cfg, err))) {
		pca_warn("%s", err->msg);
		return -1;
	}
	if (o->action)
		run->only = find_action(run->cfg, o->action, run->format);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct run run = { 0 };
	struct pca_rejects rj;
	struct pca_err err = PCA_ERR_INIT;
	int first;

	pca_tool_init("pca-render");
	first = parse_args(argc, argv, &o);
	if (setup(&run, &o, &err) < 0) {
		run.out.config = true;
		goto out;
	}
	if (pca_rejects_open(&rj, o.rejects, &err) < 0)
		pca_usage_fail(synopsis, "%s", err.msg);
	pca_tool_each_record(argv + first, argc - first, &rj, &run.out, render_record, &run);
	if (!pca_rejects_close(&rj))
		run.out.ioerr = true;
	if (run.raw && run.renderings == 1)
		pca_out(run.raw_out.data, run.raw_out.len);
out:
	pca_renderer_free(run.r);
	pca_config_free(run.cfg);
	pca_buf_free(&run.raw_out);
	pca_buf_free(&run.line);
	pca_err_clear(&err);
	return pca_tool_finish(pca_outcome_status(&run.out));
}
