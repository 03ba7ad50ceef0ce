/* pca-verify's readers of saved deliveries, each on to the verifier: a saved
 * request or header block (--headers, lib/saved_request) and a pca-webhook
 * log (--log, lib/verify_log), read as the program reads them.
 *
 * Input: one selector byte, then the file. Selector bits: 0-1 the scheme,
 * 2 read the file as a --log (standard scheme), 3 --no-timestamp, 4 with a
 * BODY-FILE (--log).
 *
 * Properties: a parsed request's body lies inside what was saved; a log
 * gets one answer line per entry, a JSON object naming that entry's line,
 * and the counts agree with the answers. pca-verify's CLI tests check the
 * verdicts themselves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "jsonl.h"
#include "saved_request.h"
#include "sign.h"
#include "verify_log.h"

#define NOW 1700000000

static struct fuzz_file input;
static struct pca_verifier *verifiers[4];

static const char *const secrets[4] = {
	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
	"whsec_test_secret",
	"It's a Secret to Everybody",
	"12345",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pca_err err = PCA_ERR_INIT;

	(void)argc;
	(void)argv;
	fuzz_file_open(&input, "log");
	for (int s = 0; s < 4; s++) {
		verifiers[s] = pca_verifier_new((enum pca_scheme)s, secrets[s], strlen(secrets[s]),
		    false, &err);
		if (!verifiers[s])
			abort();
	}
	return 0;
}

static void
check_request(enum pca_scheme scheme, bool no_timestamp, const uint8_t *data, size_t size)
{
	struct pca_saved_request rq;
	struct pca_buf raw = PCA_BUF_INIT, reason = PCA_BUF_INIT;
	struct pca_delivery d = { NULL, NULL, NULL, NULL, "", 0 };
	struct pca_err err = PCA_ERR_INIT;
	const char *start;

	pca_buf_add(&raw, data, size);
	if (pca_saved_request_parse(&rq, "request", &raw, &err) == 0) {
		start = rq.raw.data ? rq.raw.data : "";
		FUZZ_CHECK(!rq.has_body || (rq.body >= start &&
		    rq.body + rq.len <= start + rq.raw.len), "the body lies outside the request");
		if (pca_saved_request_delivery(&rq, scheme, &d, &err) == 0) {
			d.url = scheme == PCA_SCHEME_TWILIO ? "https://example.com/hook?a=1" : NULL;
			if (rq.has_body) {
				d.body = rq.body;
				d.len = rq.len;
			}
			pca_verify(verifiers[scheme], &d, NOW, no_timestamp ? -1 :
			    PCA_TOLERANCE_DEFAULT, &reason);
		}
	}
	pca_saved_request_free(&rq);
	pca_buf_free(&reason);
	pca_err_clear(&err);
}

/* One answer: a JSON object for this line, ending in exactly one newline. */
static void
check_answer(const struct pca_buf *out, unsigned long line)
{
	json_object *o, *v;

	FUZZ_CHECK(out->len > 0 && out->data[out->len - 1] == '\n' &&
	    memchr(out->data, '\n', out->len) == out->data + out->len - 1,
	    "an answer is not one line");
	o = json_tokener_parse(out->data);
	FUZZ_CHECK(o && json_object_object_get_ex(o, "line", &v) &&
	    (unsigned long)json_object_get_int64(v) == line, "an answer does not name its line");
	json_object_put(o);
}

static void
check_log(bool no_timestamp, bool with_body, const uint8_t *data, size_t size)
{
	int64_t now = NOW;
	struct pca_log_verifier *lv = pca_log_verifier_new(verifiers[PCA_SCHEME_STANDARD],
	    no_timestamp ? -1 : PCA_TOLERANCE_DEFAULT, no_timestamp ? &now : NULL);
	struct pca_buf out = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_reader rd;
	unsigned long lines = 0, entries, invalid, rejected, refused = 0;
	char *line;
	size_t len;

	if (with_body)
		pca_log_verifier_set_body(lv, "{\"type\":\"call.ended\"}", 21);
	fuzz_file_set(&input, data, size);
	if (pca_reader_open(&rd, input.path, &err) < 0)
		abort();
	while (pca_reader_next(&rd, &line, &len, &err) > 0) {
		pca_buf_reset(&out);
		refused += !pca_log_verify_line(lv, line, len, rd.lineno, &out);
		check_answer(&out, rd.lineno);
		lines++;
	}
	pca_log_verifier_counts(lv, &entries, &invalid, &rejected);
	FUZZ_CHECK(entries == lines && rejected == refused && invalid >= rejected &&
	    invalid <= entries, "the counts disagree with the answers");
	pca_reader_close(&rd);
	pca_log_verifier_free(lv);
	pca_buf_free(&out);
	pca_err_clear(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 4)
		check_log(data[0] & 8, data[0] & 16, data + 1, size - 1);
	else
		check_request((enum pca_scheme)(data[0] & 3), data[0] & 8, data + 1, size - 1);
	return 0;
}
