/* post_call_actions entries: what an action did, as data in the record.
 *
 *   {"action_id":"crm","type":"webhook","target":"https://crm.example/…",
 *    "status":"succeeded","attempts":1,"started_at":...,"finished_at":...,
 *    "provider":"pca-webhook","provider_message_id":"pca:crm:call_1",
 *    "http_status":204,"latency_ms":31}
 */
#ifndef PCA_RESULT_H
#define PCA_RESULT_H

#include <stdint.h>

#include <json-c/json.h>

#include "record.h"

json_object *pca_result_new(const char *action_id, const char *type, const char *target);
void pca_result_str(json_object *r, const char *key, const char *value);
void pca_result_int(json_object *r, const char *key, int64_t value);
void pca_result_num(json_object *r, const char *key, double value);
void pca_result_time(json_object *r, const char *key, int64_t ms);
void pca_result_error(json_object *r, const char *code, const char *message);
/* "response": the start of what a server answered (at most 512 bytes, whole
 * UTF-8 characters, invalid bytes dropped), when there is any. */
void pca_result_response(json_object *r, const char *data, size_t len);

/* How many post_call_actions entries the record would have once these action
 * ids have their entry (an entry of the same action_id is replaced, not
 * added). */
size_t pca_result_projected(const struct pca_call *call, const char *const *action_ids, size_t n);

/* Put the entry into the record, replacing an earlier entry of the same
 * action_id (a resend shows its latest outcome). Takes ownership. */
void pca_result_set(struct pca_call *call, json_object *entry);

#endif
