#include "result.h"

#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "utf8.h"
#include "timeutil.h"

json_object *
pca_result_new(const char *action_id, const char *type, const char *target)
{
	json_object *r = json_object_new_object();

	pca_result_str(r, "action_id", action_id);
	pca_result_str(r, "type", type);
	if (target)
		pca_result_str(r, "target", target);
	return r;
}

void
pca_result_str(json_object *r, const char *key, const char *value)
{
	json_object_object_add(r, key, json_object_new_string(value));
}

void
pca_result_int(json_object *r, const char *key, int64_t value)
{
	json_object_object_add(r, key, json_object_new_int64(value));
}

void
pca_result_num(json_object *r, const char *key, double value)
{
	if (value == (double)(int64_t)value)
		json_object_object_add(r, key, json_object_new_int64((int64_t)value));
	else
		json_object_object_add(r, key, json_object_new_double(value));
}

void
pca_result_time(json_object *r, const char *key, int64_t ms)
{
	struct pca_buf b = PCA_BUF_INIT;

	pca_time_format(&b, ms);
	pca_result_str(r, key, b.data);
	pca_buf_free(&b);
}

void
pca_result_error(json_object *r, const char *code, const char *message)
{
	json_object *e = json_object_new_object();

	pca_result_str(e, "code", code);
	pca_result_str(e, "message", message);
	json_object_object_add(r, "error", e);
}

static const char *
entry_id(json_object *entry)
{
	return pca_json_str(entry, "action_id");
}

size_t
pca_result_projected(const struct pca_call *call, const char *const *action_ids, size_t n)
{
	size_t count = n;

	for (size_t i = 0; i < call->nactions; i++) {
		const char *id = entry_id(json_object_array_get_idx(call->actions, i));
		bool ours = false;
		for (size_t k = 0; id && k < n && !ours; k++)
			ours = strcmp(id, action_ids[k]) == 0;
		count += !ours;
	}
	return count;
}

void
pca_result_set(struct pca_call *call, json_object *entry)
{
	const char *id = entry_id(entry), *other;

	for (size_t i = 0; call->actions && i < json_object_array_length(call->actions); i++) {
		other = entry_id(json_object_array_get_idx(call->actions, i));
		if (other && strcmp(other, id) == 0) {
			json_object_array_put_idx(call->actions, i, entry);
			return;
		}
	}
	pca_call_add_action(call, entry);
}

void
pca_result_response(json_object *r, const char *data, size_t len)
{
	struct pca_buf b = PCA_BUF_INIT;
	size_t pos = 0;
	int32_t cp;
	char u[4];

	/* Results are JSON text: keep valid UTF-8 only, and not too much. */
	while (pos < len && b.len < 512)
		if ((cp = pca_utf8_next(data, len, &pos)) >= 0)
			pca_buf_add(&b, u, pca_utf8_put(u, (uint32_t)cp));
	if (b.len)
		json_object_object_add(r, "response", json_object_new_string_len(b.data, (int)b.len));
	pca_buf_free(&b);
}
