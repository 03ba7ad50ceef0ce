/* Program support for the senders: the read loop that keeps transfers
 * going, and the spool options. Apart from tool.c so that programs that send
 * nothing (pca-render, pca-verify) do not carry libcurl. */
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "jsonl.h"
#include "result.h"
#include "spool.h"
#include "timeutil.h"
#include "tool.h"

static int
take_line(struct pca_reader *rd, struct pca_parser *p, const char *line, size_t len,
	struct pca_rejects *rj, struct pca_outcome *o, struct pca_sender *s)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_call call;
	int rc;

	if (pca_record_parse(p, line, len, &call, &err) < 0) {
		pca_reject(rj, rd->name, rd->lineno, line, len, err.msg);
		pca_err_clear(&err);
		o->rejected++;
		return 0;
	}
	rc = pca_sender_add(s, &call, rd->name, rd->lineno, &err);
	if (rc == -1) {
		pca_reject(rj, rd->name, rd->lineno, line, len, err.msg);
		o->rejected++;
		pca_call_release(&call);
		rc = 0;
	} else if (rc < 0) {
		pca_warn_at(rd->name, rd->lineno, "%s", pca_err_msg(&err));
	}
	pca_err_clear(&err);
	return rc < 0 ? -1 : 0;
}

static int
each_line_async(struct pca_reader *rd, struct pca_parser *p, struct pca_rejects *rj,
	struct pca_outcome *o, struct pca_sender *s, size_t max_waiting, size_t max_held)
{
	struct pca_err err = PCA_ERR_INIT;
	char *line;
	size_t len;
	bool ready = false;
	int rc;

	while (pca_stdout_ok()) {
		if (pca_sender_waiting(s) >= max_waiting || pca_sender_held(s) >= max_held) {
			if (pca_sender_step(s, 1000, -1, NULL) < 0)
				return -1;
			continue;
		}
		rc = pca_reader_try(rd, &line, &len, &err);
		if (rc == 1 && take_line(rd, p, line, len, rj, o, s) < 0)
			return -1;
		if (rc == 0)
			return 0;
		if (rc == 2 && pca_sender_waiting(s) == 0)
			rc = pca_reader_fill(rd, &err) < 0 ? -1 : 2;
		else if (rc == 2 && pca_sender_step(s, 1000, rd->fd, &ready) < 0)
			return -1;
		else if (rc == 2 && ready)
			rc = pca_reader_fill(rd, &err) < 0 ? -1 : 2;
		if (rc < 0) {
			pca_warn("%s", pca_err_msg(&err));
			pca_err_clear(&err);
			o->noinput++;
			return 0;
		}
	}
	return 0;
}

int
pca_tool_each_record_async(char **files, int nfiles, struct pca_rejects *rj,
	struct pca_outcome *o, struct pca_sender *s, size_t max_waiting, size_t max_held)
{
	static char *dash[] = { "-" };
	struct pca_parser *p = pca_parser_new();
	struct pca_reader rd;
	struct pca_err err = PCA_ERR_INIT;
	int rc = 0;

	if (nfiles == 0) {
		files = dash;
		nfiles = 1;
	}
	for (int i = 0; i < nfiles && rc == 0 && pca_stdout_ok(); i++) {
		if (pca_reader_open(&rd, files[i], &err) < 0) {
			pca_warn("%s", err.msg);
			pca_err_clear(&err);
			o->noinput++;
			continue;
		}
		rc = each_line_async(&rd, p, rj, o, s, max_waiting, max_held);
		pca_reader_close(&rd);
	}
	pca_parser_free(p);
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

/* The item's entry as the sender last wrote it; one made up from the item
 * when there is none (journaled, never finished). */
static json_object *
item_entry(const struct pca_spool_item *it)
{
	json_object *e = it->last_result ? json_tokener_parse(it->last_result) : NULL;

	if (e && json_object_is_type(e, json_type_object))
		return e;
	json_object_put(e);
	e = pca_result_new(it->action_id, it->channel, NULL);
	pca_result_str(e, "status", it->state == PCA_ITEM_DONE ? "succeeded" :
	    it->state == PCA_ITEM_DEAD ? "failed" : "spooled");
	pca_result_int(e, "attempts", it->attempts);
	return e;
}

struct lister {
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
	pca_result_set(&call, item_entry(it));
	pca_buf_reset(&l->line);
	pca_json_write(&l->line, call.obj);
	pca_buf_addc(&l->line, '\n');
	fwrite(l->line.data, 1, l->line.len, stdout);
	pca_call_release(&call);
	return !pca_stdout_ok();
}

int
pca_tool_spool(const struct pca_spool_request *r, const char *synopsis, struct pca_outcome *o,
	struct pca_err *err)
{
	struct pca_spool *sp;
	struct pca_spool_filter f;
	struct lister l = { NULL, o, PCA_BUF_INIT };
	size_t n = 0;
	int rc;

	if (!r->path)
		return pca_err_set(err, "no spool: give --spool FILE, or spool: in the configuration");
	spool_filter(r, synopsis, &f);
	if (!(sp = pca_spool_open(r->path, err)))
		return -1;
	switch (r->mode) {
	case PCA_SPOOL_LIST:
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
		if ((rc = pca_spool_requeue(sp, &f, r->now, &n, err)) == 0 && !r->quiet)
			pca_warn("%zu item%s due now; deliver with --drain", n, n == 1 ? "" : "s");
		break;
	default:
		rc = pca_spool_enable_endpoint(sp, r->endpoint, err);
		break;
	}
	pca_spool_close(sp);
	return rc;
}
