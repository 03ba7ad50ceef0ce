/* Program support for the senders: the read loop that keeps transfers
 * going, and the spool options. Apart from tool.c so that programs that send
 * nothing (pca-render, pca-verify) do not carry libcurl. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "deliver.h"
#include "jsonl.h"
#include "pca-build.h"
#include "progress.h"
#include "result.h"
#include "spool.h"
#include "timeutil.h"
#include "tool.h"

struct async_loop {
	struct pca_rejects *rj;
	struct pca_outcome *o;
	struct pca_sender *s;
	size_t max_waiting, max_held;
};

static int
take_line(struct async_loop *l, struct pca_reader *rd, struct pca_parser *p, const char *line,
	size_t len)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_call call;
	int rc;

	l->o->read++;
	if (!pca_tool_take_record(p, rd, line, len, l->rj, l->o, &call))
		return 0;
	rc = pca_sender_add(l->s, &call, rd->name, rd->lineno, &err);
	if (rc == -1) {
		pca_reject(l->rj, rd->name, rd->lineno, line, len, err.msg);
		l->o->rejected++;
		pca_call_release(&call);
		rc = 0;
	} else if (rc < 0) {
		pca_warn_at(rd->name, rd->lineno, "%s", pca_err_msg(&err));
	}
	pca_err_clear(&err);
	return rc < 0 ? -1 : 0;
}

static int
each_line_async(void *ud, struct pca_reader *rd, struct pca_parser *p)
{
	struct async_loop *l = ud;
	struct pca_err err = PCA_ERR_INIT;
	char *line;
	size_t len;
	bool ready = false;
	int rc;

	while (pca_stdout_ok()) {
		pca_progress_tick();
		if (pca_sender_waiting(l->s) >= l->max_waiting ||
		    pca_sender_held(l->s) >= l->max_held) {
			if (pca_sender_step(l->s, 1000, -1, NULL) < 0)
				return -1;
			continue;
		}
		rc = pca_reader_try(rd, &line, &len, &err);
		if (rc == 1 && take_line(l, rd, p, line, len) < 0)
			return -1;
		if (rc == 0)
			return 0;
		if (rc == 2 && pca_sender_waiting(l->s) == 0)
			rc = pca_reader_fill(rd, &err) < 0 ? -1 : 2;
		else if (rc == 2 && pca_sender_step(l->s, 1000, rd->fd, &ready) < 0)
			return -1;
		else if (rc == 2 && ready)
			rc = pca_reader_fill(rd, &err) < 0 ? -1 : 2;
		if (rc < 0) {
			pca_warn("%s", pca_err_msg(&err));
			pca_err_clear(&err);
			l->o->noinput++;
			return 0;
		}
	}
	return 0;
}

int
pca_tool_each_record_async(char **files, int nfiles, struct pca_rejects *rj,
	struct pca_outcome *o, struct pca_sender *s, size_t max_waiting, size_t max_held)
{
	struct async_loop l = { rj, o, s, max_waiting, max_held };
	struct pca_err err = PCA_ERR_INIT;
	int rc = pca_tool_each_file(files, nfiles, o, each_line_async, &l);

	if (rc == 0 && pca_sender_finish(s, &err) < 0) {
		pca_warn("%s", pca_err_msg(&err));
		pca_err_clear(&err);
		rc = -1;
	}
	return rc;
}

/* ---- the spool options ---- */

static void
spool_filter(const struct pca_spool_request *r, const char *synopsis, struct pca_spool_filter *f)
{
	static const char *const states[] = { "pending", "leased", "due", "done", "dead", NULL };
	struct pca_err err = PCA_ERR_INIT;
	int64_t d;
	bool ok = !r->status;

	memset(f, 0, sizeof *f);
	f->channel = r->channel;
	f->state = r->status;
	f->action_id = r->action;
	for (size_t i = 0; r->status && states[i]; i++)
		ok = ok || strcmp(r->status, states[i]) == 0;
	if (!ok)
		pca_usage_fail(synopsis, "--status %s: pending, leased, due, done or dead", r->status);
	if (r->since && pca_time_parse(r->since, &f->since, &err) < 0) {
		pca_err_clear(&err);
		if (pca_duration_parse(r->since, &d, &err) < 0)
			pca_usage_fail(synopsis, "--since %s: an RFC 3339 time or a duration like 24h",
			    r->since);
		f->since = r->now - d;
	}
	pca_err_clear(&err);
}

/* The item's entry as it stands; one made up from the item when there is
 * none (journaled, never finished). */
static json_object *
item_entry(struct pca_spool *sp, const struct pca_spool_item *it, int64_t now)
{
	json_object *e = pca_spool_entry(sp, it, now);

	if (e)
		return e;
	e = pca_result_new(it->action_id, it->channel, NULL);
	pca_result_str(e, "status", it->state == PCA_ITEM_DONE ? "succeeded" :
	    it->state == PCA_ITEM_DEAD ? "failed" : "spooled");
	pca_result_int(e, "attempts", it->attempts);
	return e;
}

struct lister {
	struct pca_spool *sp;
	int64_t now;
	struct pca_parser *p;
	struct pca_outcome *o;
	struct pca_buf line;
};

static int
list_item(void *ud, const struct pca_spool_item *it)
{
	struct lister *l = ud;
	struct pca_call call;
	struct pca_err err = PCA_ERR_INIT;

	if (pca_record_parse(l->p, it->record, strlen(it->record), &call, &err) < 0) {
		pca_warn("spool item %s: %s", it->key, err.msg);
		pca_err_clear(&err);
		l->o->failed++;
		return 0;
	}
	pca_result_set(&call, item_entry(l->sp, it, l->now));
	pca_buf_reset(&l->line);
	pca_json_write(&l->line, call.obj);
	pca_buf_addc(&l->line, '\n');
	pca_out(l->line.data, l->line.len);
	pca_call_release(&call);
	return !pca_stdout_ok();
}

/* Without --status, what waits or gave up: never what was delivered, which
 * would be sent again. */
static int
requeue(struct pca_spool *sp, struct pca_spool_filter *f, const struct pca_spool_request *r,
	size_t *n, struct pca_err *err)
{
	static const char *const states[] = { "dead", "pending" };
	size_t k;

	if (r->status)
		return pca_spool_requeue(sp, f, r->now, n, err);
	*n = 0;
	for (size_t i = 0; i < 2; i++) {
		f->state = states[i];
		if (pca_spool_requeue(sp, f, r->now, &k, err) < 0)
			return -1;
		*n += k;
	}
	return 0;
}

static int
enable(struct pca_spool *sp, const struct pca_spool_request *r, struct pca_err *err)
{
	int disabled = pca_spool_endpoint_disabled(sp, r->endpoint, NULL, err);

	if (disabled < 0)
		return -1;
	if (!disabled && !r->quiet)
		pca_warn("%s was not disabled", r->endpoint);
	return disabled ? pca_spool_enable_endpoint(sp, r->endpoint, err) : 0;
}

int
pca_tool_spool(const struct pca_spool_request *r, const char *synopsis, struct pca_outcome *o,
	struct pca_err *err)
{
	struct pca_spool *sp;
	struct pca_spool_filter f;
	struct lister l = { NULL, r->now, NULL, o, PCA_BUF_INIT };
	size_t n = 0;
	int rc;

	if (!r->path)
		pca_usage_fail(synopsis, "no spool: give --spool FILE, or spool: in the configuration");
	spool_filter(r, synopsis, &f);
	if (!(sp = pca_spool_open(r->path, err))) {
		o->config = true; /* the same as when sending: nothing can be done */
		return -1;
	}
	switch (r->mode) {
	case PCA_SPOOL_LIST:
		l.sp = sp;
		l.p = pca_parser_new();
		rc = pca_spool_list(sp, &f, r->now, list_item, &l, err);
		pca_parser_free(l.p);
		pca_buf_free(&l.line);
		break;
	case PCA_SPOOL_COUNT:
		if ((rc = pca_spool_count(sp, &f, r->now, &n, err)) == 0)
			printf("%zu\n", n);
		break;
	case PCA_SPOOL_REQUEUE:
		rc = requeue(sp, &f, r, &n, err);
		if (rc == 0 && !r->quiet)
			pca_warn("%zu item%s due now; deliver with --drain", n, n == 1 ? "" : "s");
		break;
	default:
		rc = enable(sp, r, err);
		break;
	}
	if (rc < 0)
		o->failed++;
	pca_spool_close(sp);
	return rc;
}

/* ---- the shared options of the senders ---- */

enum {
	O_SPOOL = 256, O_DRAIN, O_RESEND, O_NEW_ID, O_LIST, O_COUNT, O_REQUEUE, O_STATUS, O_SINCE,
	O_ENABLE, O_TIMEOUT, O_RETRIES, O_LOG, O_LOG_BODIES, O_NOW, O_ALLOW_PRIVATE, O_ALLOW_HTTP,
	O_CACERT, O_REJECTS,
};

static const struct option pca_send_longopts[] = {
	{ "config", required_argument, NULL, 'c' },
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
	{ "rejects", required_argument, NULL, O_REJECTS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static struct option *
longopts_with(const struct option *extra)
{
	size_t a = 0, b = 0;
	struct option *all;

	while (pca_send_longopts[a].name)
		a++;
	while (extra && extra[b].name)
		b++;
	all = pca_calloc(a + b + 1, sizeof *all);
	memcpy(all, pca_send_longopts, a * sizeof *all);
	if (b)
		memcpy(all + a, extra, b * sizeof *all);
	return all;
}

static void
options_init(struct pca_send_options *o)
{
	memset(o, 0, sizeof *o);
	o->parallel = 16;
	o->retries = 2;
}

static long
number(const char *synopsis, const char *opt, const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < min || v > max)
		pca_usage_fail(synopsis, "%s %s: a whole number from %ld to %ld", opt, s, min, max);
	return v;
}

static void
set_mode(struct pca_send_options *o, enum pca_send_mode m)
{
	o->mode = m;
	o->nmodes++;
}

static bool
shared_option(struct pca_send_options *o, int c, char *arg, const char *synopsis)
{
	switch (c) {
	case 'c': o->config = arg; break;
	case 'a': o->action = arg; break;
	case O_SPOOL: o->spool = arg; break;
	case O_DRAIN: set_mode(o, PCA_MODE_DRAIN); break;
	case O_RESEND: o->resend = true; break;
	case O_NEW_ID: o->new_id = true; break;
	case O_LIST: set_mode(o, PCA_MODE_LIST); break;
	case O_COUNT: set_mode(o, PCA_MODE_COUNT); break;
	case O_REQUEUE: set_mode(o, PCA_MODE_REQUEUE); break;
	case O_STATUS: o->status = arg; break;
	case O_SINCE: o->since = arg; break;
	case O_ENABLE: set_mode(o, PCA_MODE_ENABLE); o->enable = arg; break;
	case 'j': o->parallel = (int)number(synopsis, "--parallel", arg, 1, 1024); break;
	case O_TIMEOUT: o->timeout = number(synopsis, "--timeout", arg, 1, 3600); break;
	case O_RETRIES: o->retries = (int)number(synopsis, "--retries", arg, 0, 10); break;
	case O_LOG: o->log = arg; break;
	case O_LOG_BODIES: o->log_bodies = true; break;
	case 'n': o->dry_run = true; break;
	case O_NOW: o->now = arg; break;
	case O_ALLOW_PRIVATE: o->allow_private = true; break;
	case O_ALLOW_HTTP: o->allow_http = true; break;
	case O_CACERT: o->cacert = arg; break;
	case O_REJECTS: o->rejects = arg; break;
	case 'q': o->quiet = true; break;
	case 'v': o->verbose = true; break;
	default: return false;
	}
	return true;
}

static void
options_check(const struct pca_send_options *o, const char *synopsis, int nfiles)
{
	bool spool_mode = o->mode != PCA_MODE_SEND && o->mode != PCA_MODE_DRAIN;

	if (o->nmodes > 1)
		pca_usage_fail(synopsis, "--drain, --list, --count, --requeue and --enable-endpoint "
		    "exclude each other");
	if (o->log_bodies && !o->log)
		pca_usage_fail(synopsis, "--log-bodies goes with --log");
	if ((o->status || o->since) && !spool_mode)
		pca_usage_fail(synopsis, "--status and --since go with --list, --count or --requeue");
	if (o->mode != PCA_MODE_SEND && nfiles > 0)
		pca_usage_fail(synopsis, "input files go with sending, not with this mode");
	if (o->dry_run && o->mode != PCA_MODE_SEND)
		pca_usage_fail(synopsis, "--dry-run goes with sending");
}

int
pca_send_parse_args(int argc, char **argv, struct pca_send_options *o,
	const struct option *own_longopts, pca_own_option_fn *own, void *ud, void (*help)(void),
	const char *synopsis)
{
	/* Kept for the life of the program: usage errors exit from inside the
	 * loop below, and the table must not count as leaked then. */
	static struct option *longopts;
	int c;

	longopts = longopts_with(own_longopts);
	options_init(o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, PCA_SEND_SHORTOPTS, longopts, NULL)) != -1) {
		if (shared_option(o, c, optarg, synopsis) || own(ud, c, optarg))
			continue;
		switch (c) {
		case 'h': help(); exit(pca_tool_finish(0));
		case 'V': pca_print_version(stdout); exit(pca_tool_finish(0));
		default: pca_usage_bad_option(synopsis, longopts, argv, c);
		}
	}
	options_check(o, synopsis, argc - optind);
	return optind;
}

struct pca_config *
pca_send_load_config(const struct pca_send_options *o, const char *adhoc_hint,
	struct pca_err *err)
{
	char *found;
	struct pca_config *cfg;

	/* --list, --count, --requeue and --enable-endpoint need only the spool. */
	if (o->mode != PCA_MODE_SEND && o->mode != PCA_MODE_DRAIN && !o->config && o->spool)
		return NULL;
	found = o->config ? NULL : pca_config_find();
	if (!o->config && !found) {
		pca_err_set(err, "no configuration: give -c FILE, set PCA_CONFIG, or create "
		    "~/.config/pca/config.yaml%s%s%s", adhoc_hint ? " (or " : "",
		    adhoc_hint ? adhoc_hint : "", adhoc_hint ? ")" : "");
		return NULL;
	}
	cfg = pca_config_load(o->config ? o->config : found, err);
	free(found);
	return cfg;
}

/* ---- running a sender ---- */

struct send_run {
	struct pca_send_options *o;
	const struct pca_channel *ch;
	struct pca_sender *s;
	struct pca_outcome out;
	struct pca_buf line;
	FILE *log;
	int64_t now;
	unsigned long written;
	char user_agent[64];
};

static void
verbose_lines(struct send_run *r, struct pca_call *call)
{
	json_object *e, *v;
	const char *type;

	for (size_t i = 0; i < call->nactions; i++) {
		e = json_object_array_get_idx(call->actions, i);
		type = pca_json_str(e, "type");
		if (!type || strcmp(type, r->ch->name) != 0)
			continue;
		v = NULL;
		json_object_object_get_ex(e, "error", &v);
		pca_warn("%s %s %s: %s%s%s", call->call_id, pca_json_str(e, "action_id"),
		    pca_json_str(e, "target") ? pca_json_str(e, "target") : "",
		    pca_json_str(e, "status"), v ? " " : "", v ? pca_json_str(v, "code") : "");
	}
}

static void
write_record(void *ud, struct pca_call *call)
{
	struct send_run *r = ud;

	pca_buf_reset(&r->line);
	pca_json_write(&r->line, call->obj);
	pca_buf_addc(&r->line, '\n');
	pca_out(r->line.data, r->line.len);
	r->written++;
	if (r->o->verbose && call->actions)
		verbose_lines(r, call);
	pca_progress_tick();
}

static void
progress_counts(void *ud, struct pca_progress_counts *c)
{
	struct send_run *r = ud;
	const struct pca_sender_counts *sc = pca_sender_counts(r->s);

	c->read = r->out.read;
	c->done = r->written;
	c->sent = sc->succeeded;
	c->failed = sc->failed;
	c->spooled = sc->spooled;
}

static void
write_request(void *ud, const char *text, size_t len)
{
	(void)ud;
	pca_out(text, len);
	pca_out("\n", 1);
}

static void
warn_hook(void *ud, const char *file, unsigned long line, const char *msg)
{
	struct send_run *r = ud;

	if (r->o->quiet)
		return;
	if (file)
		pca_warn_at(file, line, "%s", msg);
	else
		pca_warn("%s", msg);
}

static void
warn_plain(void *ud, const char *msg)
{
	warn_hook(ud, NULL, 0, msg);
}

static const char *
spool_path(const struct send_run *r, const struct pca_config *cfg)
{
	return r->o->spool ? r->o->spool : cfg ? cfg->spool : NULL;
}

static void
sender_opts(struct send_run *r, const struct pca_config *cfg, struct pca_sender_opts *so)
{
	const struct pca_send_options *o = r->o;

	memset(so, 0, sizeof *so);
	so->only_action = o->action;
	so->spool_path = spool_path(r, cfg);
	so->resend = o->resend;
	so->new_id = o->new_id;
	so->dry_run = o->dry_run;
	so->parallel = o->parallel;
	so->attempts = o->mode == PCA_MODE_DRAIN ? 1 : o->retries + 1;
	so->timeout_ms = o->timeout * 1000;
	so->fixed_now = o->now ? r->now : -1;
	so->log = r->log;
	so->log_bodies = o->log_bodies;
	so->http.allow_private = o->allow_private;
	so->http.allow_http = o->allow_http;
	so->http.cacert = o->cacert;
	so->http.user_agent = r->user_agent;
	so->warn = warn_plain;
	so->warn_ud = r;
}

static int
send_records(struct send_run *r, char **files, int nfiles, const char *synopsis,
	struct pca_err *err)
{
	struct pca_rejects rj;
	int rc;

	if (r->o->mode == PCA_MODE_DRAIN)
		return pca_sender_drain(r->s, err);
	if (pca_rejects_open(&rj, r->o->rejects, err) < 0)
		pca_usage_fail(synopsis, "%s", err->msg);
	/* Read ahead while transfers run, but not without bound. */
	rc = pca_tool_each_record_async(files, nfiles, &rj, &r->out, r->s,
	    (size_t)r->o->parallel * 64, (size_t)64 << 20);
	if (!pca_rejects_close(&rj))
		r->out.ioerr = true;
	if (rc < 0)
		r->out.failed++;
	return 0;
}

static int
send_mode(struct send_run *r, struct pca_config *cfg, void *chctx, char **files, int nfiles,
	const char *synopsis, struct pca_err *err)
{
	struct pca_sender_opts so;
	struct pca_sender_hooks hooks = { r, write_record, write_request, warn_hook };
	const struct pca_sender_counts *c;
	int rc;

	if (r->o->log && !(r->log = fopen(r->o->log, "a")))
		pca_usage_fail(synopsis, "--log %s: %s", r->o->log, strerror(errno));
	sender_opts(r, cfg, &so);
	if (r->o->mode == PCA_MODE_DRAIN && !so.spool_path) {
		r->out.config = true;
		return pca_err_set(err, "--drain needs a spool (--spool FILE, or spool: in the "
		    "configuration)");
	}
	if (!(r->s = pca_sender_new(cfg, r->ch, chctx, &so, &hooks, err))) {
		r->out.config = true;
		return -1;
	}
	pca_progress_start(r->o->quiet || r->o->dry_run, progress_counts, r);
	rc = send_records(r, files, nfiles, synopsis, err);
	pca_progress_finish();
	c = pca_sender_counts(r->s);
	r->out.failed += c->failed;
	r->out.spooled += c->spooled;
	return rc;
}

static int
spool_mode(struct send_run *r, const struct pca_config *cfg, const char *synopsis,
	struct pca_err *err)
{
	static const enum pca_spool_mode modes[] = { [PCA_MODE_LIST] = PCA_SPOOL_LIST,
		[PCA_MODE_COUNT] = PCA_SPOOL_COUNT, [PCA_MODE_REQUEUE] = PCA_SPOOL_REQUEUE,
		[PCA_MODE_ENABLE] = PCA_SPOOL_ENABLE };
	struct pca_spool_request q = { modes[r->o->mode], spool_path(r, cfg), r->ch->name,
		r->o->status, r->o->since, r->o->action, r->o->enable, r->now, r->o->quiet };

	return pca_tool_spool(&q, synopsis, &r->out, err);
}

int
pca_send_run(struct pca_send_options *o, struct pca_config *cfg, const struct pca_channel *ch,
	void *chctx, char **files, int nfiles, const char *synopsis)
{
	struct send_run r = { .o = o, .ch = ch };
	struct pca_err err = PCA_ERR_INIT;
	int rc;

	snprintf(r.user_agent, sizeof r.user_agent, "%s/%s", pca_tool_name(), PCA_VERSION);
	r.now = pca_time_now();
	if (o->now && pca_time_parse(o->now, &r.now, &err) < 0)
		pca_usage_fail(synopsis, "--now %s: %s", o->now, err.msg);
	if (o->mode == PCA_MODE_SEND || o->mode == PCA_MODE_DRAIN)
		rc = send_mode(&r, cfg, chctx, files, nfiles, synopsis, &err);
	else
		rc = spool_mode(&r, cfg, synopsis, &err);
	if (rc < 0) {
		pca_warn("%s", pca_err_msg(&err));
		if (!r.out.config)
			r.out.failed++;
	}
	pca_sender_free(r.s);
	if (r.log && (ferror(r.log) | fclose(r.log))) {
		pca_warn("--log %s: write error", o->log);
		r.out.ioerr = true;
	}
	pca_buf_free(&r.line);
	pca_err_clear(&err);
	return pca_outcome_status(&r.out);
}
