/* lib/sign: the vectors in tests/data/vectors/ in both directions,
 * then what JSON cannot hold (huge headers, 20 MB bodies) and the signing
 * contract pca-webhook relies on. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "sign.h"
#include "tap.h"

static const char *
str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

static size_t
str_len(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? (size_t)json_object_get_string_len(v) : 0;
}

static bool
flag(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static int64_t
num(json_object *o, const char *key, int64_t dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : dflt;
}

static json_object *
load(const char *name)
{
	const char *dir = getenv("PCA_TEST_DATA");
	char *path = pca_asprintf("%s/vectors/%s.json", dir ? dir : ".", name);
	json_object *o = json_object_from_file(path), *v = NULL;

	if (!ok(o && json_object_object_get_ex(o, "vectors", &v), "%s loads", path))
		exit(tap_done() | 1);
	json_object_get(v);
	json_object_put(o);
	free(path);
	return v;
}

/* As a browser or Twilio sends a form: everything but unreserved characters
 * percent-encoded, so that the decoder is tested too. */
static void
form_encode(struct pca_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c))
			pca_buf_addc(b, (char)c);
		else
			pca_buf_addf(b, "%%%02X", c);
	}
}

static void
form_body(struct pca_buf *b, json_object *params)
{
	for (size_t i = 0; i < json_object_array_length(params); i++) {
		json_object *pair = json_object_array_get_idx(params, i);
		if (i > 0)
			pca_buf_addc(b, '&');
		form_encode(b, json_object_get_string(json_object_array_get_idx(pair, 0)));
		pca_buf_addc(b, '=');
		form_encode(b, json_object_get_string(json_object_array_get_idx(pair, 1)));
	}
}

static void
delivery_of(json_object *v, struct pca_delivery *d, struct pca_buf *form)
{
	json_object *params;

	memset(d, 0, sizeof *d);
	d->id = str(v, "id");
	d->timestamp = str(v, "timestamp");
	d->signature = str(v, "signature");
	d->url = str(v, "url");
	if (json_object_object_get_ex(v, "params", &params)) {
		form_body(form, params);
		d->body = form->data ? form->data : "";
		d->len = form->len;
	} else {
		d->body = str(v, "body");
		d->len = str_len(v, "body");
	}
}

/* The pca_signer contract must agree with the verifier's own signing. */
static void
check_signer(json_object *v, const struct pca_delivery *d, const char *name)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_buf out = PCA_BUF_INIT;
	const char *secret = str(v, "secret");
	struct pca_signer *s = pca_signer_new(secret, strlen(secret), flag(v, "v1a"), &err);

	if (!ok(s, "%s: pca_signer_new (%s)", name, pca_err_msg(&err)))
		return;
	pca_signer_sign(s, d->id, strtoll(d->timestamp, NULL, 10), d->body, d->len, &out, &err);
	is_str(pca_buf_cstr(&out), str(v, "signature"), "pca_signer_sign reproduces it");
	pca_signer_free(s);
	pca_buf_free(&out);
	pca_err_clear(&err);
}

static void
check_sign(struct pca_verifier *ver, json_object *v, const struct pca_delivery *d, const char *name)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_buf out = PCA_BUF_INIT;

	if (pca_verifier_sign(ver, d, &out, &err) < 0)
		ok(0, "%s: signing failed: %s", name, pca_err_msg(&err));
	else
		is_str(out.data, str(v, "signature"), "signing reproduces the signature");
	if (strcmp(str(v, "scheme"), "standard") == 0)
		check_signer(v, d, name);
	pca_buf_free(&out);
	pca_err_clear(&err);
}

static void
run_vector(json_object *v)
{
	const char *name = str(v, "name"), *secret = str(v, "secret");
	struct pca_buf form = PCA_BUF_INIT, reason = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_verifier *ver;
	struct pca_delivery d;
	enum pca_scheme scheme;
	enum pca_verdict verdict;

	if (pca_scheme_parse(str(v, "scheme"), &scheme) < 0) {
		ok(0, "%s: unknown scheme", name);
		return;
	}
	ver = pca_verifier_new(scheme, secret, strlen(secret), flag(v, "v1a"), &err);
	if (!ok(ver, "%s: secrets accepted (%s)", name, pca_err_msg(&err)))
		return;
	delivery_of(v, &d, &form);
	verdict = pca_verify(ver, &d, num(v, "now", 0), num(v, "tolerance", PCA_TOLERANCE_DEFAULT),
	    &reason);
	if (!is_str(pca_verdict_name(verdict), str(v, "reason"), name))
		printf("#   reason: %s\n", pca_buf_cstr(&reason));
	is_int(verdict == PCA_VERDICT_VALID, flag(v, "valid"), "  valid matches the verdict");
	ok(reason.len > 0 && !memchr(reason.data, '\n', reason.len), "  one-line reason: %s",
	    pca_buf_cstr(&reason));
	if (flag(v, "sign"))
		check_sign(ver, v, &d, name);
	pca_verifier_free(ver);
	pca_buf_free(&form);
	pca_buf_free(&reason);
	pca_err_clear(&err);
}

static void
run_file(const char *file)
{
	json_object *vs = load(file);

	for (size_t i = 0; i < json_object_array_length(vs); i++)
		run_vector(json_object_array_get_idx(vs, i));
	json_object_put(vs);
}

/* An error message must not quote the secret, even in part. */
static bool
leaks(const char *msg, const char *secret)
{
	const char *b64 = strchr(secret, '_') ? strchr(secret, '_') + 1 : secret;
	size_t n = strlen(b64);

	for (size_t i = 0; i + 6 <= n; i++) {
		char piece[7];
		memcpy(piece, b64 + i, 6);
		piece[6] = '\0';
		if (strstr(msg, piece))
			return true;
	}
	return false;
}

static void
run_secret(json_object *v)
{
	const char *name = str(v, "name"), *secret = str(v, "secret");
	struct pca_err err = PCA_ERR_INIT;
	struct pca_verifier *ver;
	enum pca_scheme scheme;

	pca_scheme_parse(str(v, "scheme"), &scheme);
	ver = pca_verifier_new(scheme, secret, strlen(secret), flag(v, "v1a"), &err);
	is_int(ver != NULL, flag(v, "valid"), name);
	if (ver)
		is_int(pca_verifier_warning(ver) != NULL, flag(v, "warning"), "  warning as expected");
	else
		ok(!leaks(pca_err_msg(&err), secret), "  error does not quote the secret: %s",
		    pca_err_msg(&err));
	pca_verifier_free(ver);
	pca_err_clear(&err);
}

static void
test_secret_vectors(void)
{
	json_object *vs = load("secrets");

	for (size_t i = 0; i < json_object_array_length(vs); i++)
		run_secret(json_object_array_get_idx(vs, i));
	json_object_put(vs);
}

/* ---- what the JSON files cannot hold ---- */

#define K1 "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define ID1 "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define TS1 "1614265330"
#define B1 "{\"test\": 2432232314}"
#define S1 "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define K2 "whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="

static struct pca_verifier *
verifier(enum pca_scheme scheme, const char *secrets)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_verifier *v = pca_verifier_new(scheme, secrets, strlen(secrets), false, &err);

	if (!v) {
		printf("# %s\n", pca_err_msg(&err));
		exit(tap_done() | 1);
	}
	return v;
}

static enum pca_verdict
check(struct pca_verifier *v, const char *sig, const void *body, size_t len, int64_t now,
	struct pca_buf *reason)
{
	struct pca_delivery d = { ID1, TS1, sig, NULL, body, len };

	pca_buf_reset(reason);
	return pca_verify(v, &d, now, PCA_TOLERANCE_DEFAULT, reason);
}

static void
test_reasons(void)
{
	struct pca_verifier *v = verifier(PCA_SCHEME_STANDARD, K1);
	struct pca_buf r = PCA_BUF_INIT;

	check(v, S1, B1, strlen(B1), 1614265330 + 412, &r);
	is_str(r.data, "timestamp too old (412 s > 300 s)", "reason for an old timestamp");
	check(v, S1, B1, strlen(B1), 1614265330 - 301, &r);
	is_str(r.data, "timestamp too new (301 s ahead > 300 s)", "reason for a future timestamp");
	check(v, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", B1, strlen(B1), 1614265330, &r);
	is_str(r.data, "no matching signature", "reason for a bad signature");
	check(v, NULL, B1, strlen(B1), 1614265330, &r);
	is_str(r.data, "missing webhook-signature header", "reason for a missing header");
	check(v, "v1,", B1, strlen(B1), 1614265330, &r);
	ok(strncmp(r.data, "malformed webhook-signature header", 34) == 0, "reason for v1,: %s",
	    r.data);
	check(v, S1, B1, strlen(B1), 1614265330, &r);
	is_str(r.data, "valid", "reason when valid");
	pca_verifier_free(v);
	pca_buf_free(&r);
}

static void
test_huge_header(void)
{
	struct pca_verifier *v = verifier(PCA_SCHEME_STANDARD, K1);
	struct pca_buf sig = PCA_BUF_INIT, r = PCA_BUF_INIT;

	pca_buf_adds(&sig, S1);
	while (sig.len < PCA_HEADER_MAX)
		pca_buf_addc(&sig, ' ');
	is_int(check(v, sig.data, B1, strlen(B1), 1614265330, &r), PCA_VERDICT_VALID,
	    "a header of exactly PCA_HEADER_MAX bytes is read");
	pca_buf_adds(&sig, " ");
	is_int(check(v, sig.data, B1, strlen(B1), 1614265330, &r), PCA_VERDICT_MALFORMED,
	    "one byte more is malformed");
	while (sig.len < 100 * 1024)
		pca_buf_adds(&sig, " v2,AAAA");
	is_int(check(v, sig.data, B1, strlen(B1), 1614265330, &r), PCA_VERDICT_MALFORMED,
	    "a 100 KB header is malformed");
	ok(r.len < 200, "  and the reason does not quote it (%zu bytes)", r.len);
	pca_verifier_free(v);
	pca_buf_free(&sig);
	pca_buf_free(&r);
}

/* The comparison must look at every byte: a MAC wrong only in its first or
 * only in its last byte fails, and a signature of another length is turned
 * away before any comparison. */
static void
test_compare(void)
{
	struct pca_verifier *v = verifier(PCA_SCHEME_STANDARD, K1);
	struct pca_buf r = PCA_BUF_INIT;

	is_int(check(v, "v1,h0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", B1, strlen(B1),
	    1614265330, &r), PCA_VERDICT_NO_MATCH, "first byte different: no match");
	is_int(check(v, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", B1, strlen(B1),
	    1614265330, &r), PCA_VERDICT_NO_MATCH, "last byte different: no match");
	is_int(check(v, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ", B1, strlen(B1), 1614265330,
	    &r), PCA_VERDICT_MALFORMED, "a 30-byte prefix of the MAC is not compared");
	is_int(check(v, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OEA", B1, strlen(B1),
	    1614265330, &r), PCA_VERDICT_MALFORMED, "the MAC plus a byte is not compared");
	pca_verifier_free(v);
	pca_buf_free(&r);
}

static void
test_rotation(void)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_signer *s = pca_signer_new(K2 "\n" K1, strlen(K2 "\n" K1), false, &err);
	struct pca_verifier *old = verifier(PCA_SCHEME_STANDARD, K1),
	    *new = verifier(PCA_SCHEME_STANDARD, K2), *other;
	struct pca_buf sig = PCA_BUF_INIT, r = PCA_BUF_INIT;

	other = verifier(PCA_SCHEME_STANDARD, "whsec_" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	ok(s && pca_signer_count(s) == 2, "a signer with two secrets");
	pca_signer_sign(s, ID1, 1614265330, B1, strlen(B1), &sig, &err);
	ok(strchr(sig.data, ' ') && strstr(sig.data, S1) == strchr(sig.data, ' ') + 1,
	    "two signatures, newest first: %s", sig.data);
	is_int(check(old, sig.data, B1, strlen(B1), 1614265330, &r), PCA_VERDICT_VALID,
	    "a receiver that has only the old secret accepts it");
	is_int(check(new, sig.data, B1, strlen(B1), 1614265330, &r), PCA_VERDICT_VALID,
	    "a receiver that has only the new secret accepts it");
	is_int(check(other, sig.data, B1, strlen(B1), 1614265330, &r), PCA_VERDICT_NO_MATCH,
	    "a receiver with neither rejects it");
	pca_signer_free(s);
	pca_verifier_free(old);
	pca_verifier_free(new);
	pca_verifier_free(other);
	pca_buf_free(&sig);
	pca_buf_free(&r);
	pca_err_clear(&err);
}

static void
test_signer_errors(void)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_signer *s = pca_signer_new(K1, strlen(K1), false, &err);
	struct pca_buf out = PCA_BUF_INIT;

	is_int(pca_signer_sign(s, "msg.1", 1, "", 0, &out, &err), -1, "an id with '.' is refused");
	is_int(pca_signer_sign(s, "", 1, "", 0, &out, &err), -1, "an empty id is refused");
	is_int(pca_signer_sign(s, "m", -1, "", 0, &out, &err), -1, "a negative time is refused");
	ok(pca_signer_warning(s) == NULL, "no warning for 24 bytes");
	pca_signer_free(s);
	s = pca_signer_new("whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=", 49, true, &err);
	ok(!s && strstr(pca_err_msg(&err), "cannot sign"), "a public key cannot sign: %s",
	    pca_err_msg(&err));
	s = pca_signer_new("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 36, false, &err);
	is_str(s ? "" : pca_err_msg(&err), "secret 1: 22 bytes, under the 24 the specification "
	    "requires", "a short secret is named by its place");
	pca_signer_free(s);
	pca_buf_free(&out);
	pca_err_clear(&err);
}

/* 20 MB with NUL bytes all through it, signed and checked. */
static void
test_big_body(void)
{
	size_t n = 20u << 20;
	unsigned char *body = pca_malloc(n);
	struct pca_verifier *v = verifier(PCA_SCHEME_STANDARD, K1);
	struct pca_delivery d = { ID1, TS1, NULL, NULL, body, n };
	struct pca_buf sig = PCA_BUF_INIT, r = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;

	for (size_t i = 0; i < n; i++)
		body[i] = (unsigned char)(i * 7);
	ok(pca_verifier_sign(v, &d, &sig, &err) == 0, "sign 20 MB");
	d.signature = sig.data;
	is_int(pca_verify(v, &d, 1614265330, 300, &r), PCA_VERDICT_VALID, "verify 20 MB");
	body[n - 1] ^= 1;
	pca_buf_reset(&r);
	is_int(pca_verify(v, &d, 1614265330, 300, &r), PCA_VERDICT_NO_MATCH,
	    "the last of 20 MB changed");
	free(body);
	pca_verifier_free(v);
	pca_buf_free(&sig);
	pca_buf_free(&r);
	pca_err_clear(&err);
}

static void
test_names(void)
{
	enum pca_scheme s = PCA_SCHEME_STANDARD;

	ok(pca_scheme_parse("github", &s) == 0 && s == PCA_SCHEME_GITHUB, "scheme github");
	ok(pca_scheme_parse("svix", &s) < 0, "scheme svix is not a name (it is standard)");
	is_str(pca_scheme_header(PCA_SCHEME_STRIPE), "Stripe-Signature", "stripe's header");
	is_str(pca_scheme_name(PCA_SCHEME_TWILIO), "twilio", "twilio's name");
	is_str(pca_verdict_name(PCA_VERDICT_TOO_NEW), "too_new", "verdict name");
}

static void
test_other_schemes_edge(void)
{
	struct pca_verifier *v = verifier(PCA_SCHEME_STRIPE, "whsec_test_secret");
	struct pca_delivery d = { NULL, "1614265330", NULL, NULL, "x", 1 };
	struct pca_buf out = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;

	d.timestamp = "16x";
	is_int(pca_verifier_sign(v, &d, &out, &err), -1, "stripe signing needs a numeric timestamp");
	pca_verifier_free(v);
	v = verifier(PCA_SCHEME_TWILIO, "12345");
	d.url = NULL;
	is_int(pca_verifier_sign(v, &d, &out, &err), -1, "twilio signing needs the URL");
	d.signature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
	pca_buf_reset(&out);
	is_int(pca_verify(v, &d, 0, 300, &out), PCA_VERDICT_MALFORMED, "twilio verifying needs it");
	pca_verifier_free(v);
	pca_buf_free(&out);
	pca_err_clear(&err);
}

int
main(void)
{
	run_file("standard");
	run_file("v1a");
	run_file("stripe");
	run_file("github");
	run_file("twilio");
	test_secret_vectors();
	test_reasons();
	test_huge_header();
	test_compare();
	test_rotation();
	test_signer_errors();
	test_big_body();
	test_names();
	test_other_schemes_edge();
	return tap_done();
}
