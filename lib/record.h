/* The call record pca.call.v1: parsing a JSON Lines line, validating it,
 * and the decoded view of the fields the suite acts on.
 *
 * Ownership: a struct pca_call holds one reference to the parsed object
 * (call->obj); every const char * in it points into that object and lives
 * as long as it. pca_call_release() drops the reference.
 */
#ifndef PCA_RECORD_H
#define PCA_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "err.h"

#define PCA_SCHEMA "pca.call.v1"
#define PCA_MAX_ACTIONS 10

struct pca_call {
	json_object *obj;
	const char *call_id;
	const char *status;
	const char *direction;
	const char *end_reason;     /* or NULL */
	int64_t started_ms, ended_ms;
	int64_t answered_ms;        /* -1 when never answered */
	int64_t duration_ms;
	json_object *caller;        /* or NULL */
	const char *caller_number;  /* E.164, or NULL when withheld or unknown */
	bool withheld;
	const char *contact_name;   /* as the record has it, or NULL */
	const char *phone_type;     /* or NULL */
	const char *agent_number;
	const char *agent_name;     /* or NULL */
	const char *summary;        /* or NULL */
	json_object *transcript;    /* array or NULL */
	json_object *recording;     /* object or NULL */
	const char *recording_url;  /* or NULL */
	int64_t recording_expires_ms; /* given or ended_at + 6 months; -1 without a recording */
	bool recording_expires_given;
	json_object *events;        /* array or NULL */
	json_object *actions;       /* post_call_actions array or NULL */
	size_t nactions;
	/* The line the record was read from, trimmed: only while that line is
	 * current (inside the read loop's callback), NULL otherwise. */
	const char *raw;
	size_t raw_len;
};

struct pca_parser;

struct pca_parser *pca_parser_new(void);
void pca_parser_free(struct pca_parser *p);

/* Parse one line and validate it as pca.call.v1. line[len] must be
 * readable and '\0' (as pca_reader's lines are): json-c is handed the
 * terminator so that a bare number at the end is complete. On failure the message
 * names the field: "caller.number: not an E.164 number", or says that the
 * line is no record at all: "not JSON: unexpected character at byte 7",
 * "not a JSON object (an array)". */
int pca_record_parse(struct pca_parser *p, const char *line, size_t len, struct pca_call *call,
	struct pca_err *err);

/* Validate an object already parsed (takes a new reference on success). */
int pca_record_validate(json_object *obj, struct pca_call *call, struct pca_err *err);

void pca_call_release(struct pca_call *call);

/* Append a result entry to post_call_actions (creating the array when the
 * record has none). Takes ownership of `entry`. */
void pca_call_add_action(struct pca_call *call, json_object *entry);

/* Serialise any value compactly, UTF-8 as it is, "/" not escaped. */
void pca_json_write(struct pca_buf *out, json_object *o);
/* A JSON string literal for s[0..len), quotes included. */
void pca_json_write_string(struct pca_buf *out, const char *s, size_t len);

/* Shorthands for reading a validated object: the string at key, or NULL. */
const char *pca_json_str(json_object *o, const char *key);

#endif
