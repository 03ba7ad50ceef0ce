/* Signature verification of the four schemes over fuzzed header values and
 * bodies, with fixed secrets (those of tests/data/vectors, so that seeds made
 * from the vectors reach the matching paths).
 *
 * Input: one selector byte, then ID \n TIMESTAMP \n SIGNATURE \n URL \n BODY.
 * Selector bits: 0-1 the scheme, 2 allow v1a (standard), 3 no timestamp
 * check (tolerance -1, else 300), 4 check at the time of TIMESTAMP (else at
 * a fixed time), 5-7 leave out the id, the timestamp, the URL.
 *
 * Properties:
 * - pca_verify never crashes and always gives a reason, which never quotes
 *   a secret;
 * - what a sender signs always verifies: pca_signer_sign (pca-webhook) for
 *   (id, timestamp, body) under the standard scheme, and pca_verifier_sign
 *   for every scheme, checked at the signing time and with no timestamp
 *   check. Preconditions are the header's: an id that is not blank, holds
 *   no '.' and fits PCA_HEADER_MAX; Twilio's bodySHA256 must be the body's. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sign.h"

#define FIXED_NOW 1614265330

static const char *const secrets[4] = {
	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
	"whsec_test_secret",
	"It's a Secret to Everybody\nsecond secret, with spaces",
	"12345\nsecond",
};
static const char v1a_secrets[] =
    "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbc= "
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/* What no reason may ever quote. */
static const char *const secret_bits[] = {
	"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "C2FVsBQIhrscChlQIMV", "test_secret",
	"Secret to Everybody", "6Xb/dCcHpPea21PS1N9VY",
};

/* [scheme][v1a] */
static struct pca_verifier *verifiers[4][2];
static struct pca_signer *signers[2];

static struct pca_verifier *
verifier(int scheme, bool v1a)
{
	struct pca_err err = PCA_ERR_INIT;
	const char *text = v1a ? v1a_secrets : secrets[scheme];
	struct pca_verifier *v = pca_verifier_new((enum pca_scheme)scheme, text, strlen(text), v1a,
	    &err);

	if (!v) {
		fprintf(stderr, "fuzz-verify: secrets of %s: %s\n", pca_scheme_name(scheme), err.msg);
		abort();
	}
	return v;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pca_err err = PCA_ERR_INIT;

	(void)argc;
	(void)argv;
	for (int s = 0; s < 4; s++)
		verifiers[s][0] = verifier(s, false);
	verifiers[0][1] = verifier(0, true);
	signers[0] = pca_signer_new(secrets[0], strlen(secrets[0]), false, &err);
	signers[1] = pca_signer_new(v1a_secrets, strlen(v1a_secrets), true, &err);
	if (!signers[0] || !signers[1]) {
		fprintf(stderr, "fuzz-verify: signer: %s\n", err.msg);
		abort();
	}
	return 0;
}

/* Whole seconds as the harness reads them: digits only, at most 18. */
static bool
seconds(const char *s, int64_t *out)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
		return false;
	*out = strtoll(s, NULL, 10);
	return true;
}

static bool
usable_id(const char *id)
{
	size_t n;

	if (!id || strchr(id, '.') || (n = strlen(id)) > PCA_HEADER_MAX)
		return false;
	return strspn(id, " \t\r\n\f\v") < n;
}

static void
fail_verdict(const char *who, const struct pca_delivery *d, enum pca_verdict got,
	const char *reason)
{
	fprintf(stderr, "id=%s timestamp=%s url=%s\n", d->id ? d->id : "(none)",
	    d->timestamp ? d->timestamp : "(none)", d->url ? d->url : "(none)");
	fuzz_dump("signature", d->signature, strlen(d->signature));
	fuzz_dump("body", d->body, d->len);
	fuzz_fail("%s: its own signature is %s: %s", who, pca_verdict_name(got), reason);
}

static void
expect_valid(const char *who, struct pca_verifier *v, const struct pca_delivery *d, int64_t now,
	int64_t tolerance, bool may_mismatch)
{
	struct pca_buf reason = PCA_BUF_INIT;
	enum pca_verdict got = pca_verify(v, d, now, tolerance, &reason);

	if (got != PCA_VERDICT_VALID && !(may_mismatch && got == PCA_VERDICT_NO_MATCH))
		fail_verdict(who, d, got, pca_buf_cstr(&reason));
	pca_buf_free(&reason);
}

/* pca-webhook's signer, checked by the standard verifier. */
static void
check_signer(int v1a, const struct pca_delivery *in)
{
	struct pca_buf sig = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_delivery d = *in;
	char ts[24];
	int64_t t;

	if (!usable_id(in->id) || !seconds(in->timestamp, &t))
		return;
	if (pca_signer_sign(signers[v1a], in->id, t, in->body, in->len, &sig, &err) < 0)
		fuzz_fail("pca_signer_sign failed on a usable id and timestamp: %s", err.msg);
	snprintf(ts, sizeof ts, "%" PRId64, t);
	d.timestamp = ts;
	d.signature = sig.data;
	expect_valid("pca_signer_sign", verifiers[0][v1a], &d, t, PCA_TOLERANCE_DEFAULT, false);
	expect_valid("pca_signer_sign", verifiers[0][v1a], &d, FIXED_NOW, -1, false);
	pca_buf_free(&sig);
}

static void
check_verifier_sign(int scheme, int v1a, const struct pca_delivery *in)
{
	struct pca_verifier *v = verifiers[scheme][v1a];
	struct pca_buf sig = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_delivery d = *in;
	bool timed = scheme == PCA_SCHEME_STANDARD || scheme == PCA_SCHEME_STRIPE;
	int64_t t;

	if (scheme == PCA_SCHEME_STANDARD && !usable_id(in->id))
		return;
	if (pca_verifier_sign(v, &d, &sig, &err) < 0) {
		pca_err_clear(&err);
		pca_buf_free(&sig);
		return;
	}
	d.signature = sig.data;
	bool mismatch = scheme == PCA_SCHEME_TWILIO && d.url && strstr(d.url, "bodySHA256");
	expect_valid("pca_verifier_sign", v, &d, FIXED_NOW, -1, mismatch);
	if (timed && seconds(d.timestamp, &t))
		expect_valid("pca_verifier_sign", v, &d, t, PCA_TOLERANCE_DEFAULT, mismatch);
	pca_buf_free(&sig);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_span f[5];
	struct pca_buf reason = PCA_BUF_INIT;
	struct pca_delivery d;
	char *id, *ts, *sig, *url;
	int scheme, v1a;
	int64_t now = FIXED_NOW, tolerance;
	enum pca_verdict verdict;

	if (size < 1)
		return 0;
	scheme = data[0] & 3;
	v1a = scheme == PCA_SCHEME_STANDARD && (data[0] & 4);
	tolerance = data[0] & 8 ? -1 : PCA_TOLERANCE_DEFAULT;
	for (size_t i = fuzz_split((const char *)data + 1, size - 1, "\n", f, 5); i < 5; i++)
		f[i] = (struct fuzz_span){ "", 0 };
	id = fuzz_cstr(f[0]);
	ts = fuzz_cstr(f[1]);
	sig = fuzz_cstr(f[2]);
	url = fuzz_cstr(f[3]);
	d = (struct pca_delivery){ data[0] & 0x20 ? NULL : id, data[0] & 0x40 ? NULL : ts, sig,
	    data[0] & 0x80 ? NULL : url, f[4].p, f[4].n };
	if (data[0] & 0x10)
		seconds(ts, &now);

	verdict = pca_verify(verifiers[scheme][v1a], &d, now, tolerance, &reason);
	FUZZ_CHECK(verdict <= PCA_VERDICT_MALFORMED && reason.len > 0 &&
	    strlen(pca_verdict_name(verdict)) > 0, "verdict %d without a reason", (int)verdict);
	for (size_t i = 0; i < sizeof secret_bits / sizeof secret_bits[0]; i++)
		FUZZ_CHECK(!strstr(reason.data, secret_bits[i]), "the reason quotes a secret: %s",
		    reason.data);
	if (scheme == PCA_SCHEME_STANDARD)
		check_signer(v1a, &d);
	check_verifier_sign(scheme, v1a, &d);

	pca_buf_free(&reason);
	free(id);
	free(ts);
	free(sig);
	free(url);
	return 0;
}
