#include "sign.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "alloc.h"
#include "hex.h"

#define ED25519_LEN 32          /* seed, public key */
#define ED25519_SIG_LEN 64
#define TIMESTAMP_DIGITS_MAX 18 /* below INT64_MAX whatever the digits */

struct span {
	const void *p;
	size_t n;
};

/* ---- encodings ---- */

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* The most bytes b64_decode can write for n characters. */
static size_t
b64_decoded_max(size_t n)
{
	return n / 4 * 3 + 2;
}

/* Strict base64 (EVP_DecodeBlock skips white space and accepts junk): the
 * standard alphabet only, '=' padding optional but complete when present,
 * and the unused low bits of the last character zero, so that a byte string
 * has exactly one spelling. Returns the decoded length, or -1. */
static long
b64_decode(const char *s, size_t n, unsigned char *out)
{
	uint32_t acc = 0;
	size_t o = 0, i;

	if (n % 4 == 0 && n > 0 && s[n - 1] == '=')
		n -= s[n - 2] == '=' ? 2 : 1;
	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		int v = b64_value((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			acc = 0;
		}
	}
	if (n % 4 == 2) {
		if (acc & 0xf)
			return -1;
		out[o++] = (unsigned char)(acc >> 4);
	} else if (n % 4 == 3) {
		if (acc & 0x3)
			return -1;
		out[o++] = (unsigned char)(acc >> 10);
		out[o++] = (unsigned char)(acc >> 2);
	}
	return (long)o;
}

/* Decode a signature that must be exactly `want` bytes (at most 64). The
 * text's length is bounded first, so the scratch space suffices. */
static bool
b64_decode_exact(const char *s, size_t n, unsigned char *out, size_t want)
{
	unsigned char tmp[72];
	size_t unpadded = (want * 4 + 2) / 3, padded = (want + 2) / 3 * 4;

	if (want > 64 || n < unpadded || n > padded || b64_decode(s, n, tmp) != (long)want)
		return false;
	memcpy(out, tmp, want);
	return true;
}

static void
b64_append(struct pca_buf *out, const unsigned char *p, size_t n)
{
	size_t need = (n + 2) / 3 * 4;

	pca_buf_grow(out, need);
	EVP_EncodeBlock((unsigned char *)out->data + out->len, p, (int)n);
	out->len += need;
	out->data[out->len] = '\0';
}

/* Exactly `want` bytes of hex, either case. */
static bool
hex_decode_exact(const char *s, size_t n, unsigned char *out, size_t want)
{
	if (n != 2 * want)
		return false;
	for (size_t i = 0; i < want; i++) {
		int hi = pca_hex_value((unsigned char)s[2 * i]), lo = pca_hex_value((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* ---- small text helpers ---- */

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool
has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(s, prefix, k) == 0;
}

static bool
span_is(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(s, word, n) == 0;
}

/* strchr alone would count the terminating NUL as one of them. */
static bool
is_sep(char c, const char *seps)
{
	return c != '\0' && strchr(seps, c) != NULL;
}

/* The next item of a list separated by any of `seps`, with the blanks
 * around it trimmed; empty items are skipped. */
static bool
next_item(const char **pos, const char *end, const char *seps, const char **item, size_t *n)
{
	const char *p = *pos, *q;

	for (;;) {
		while (p < end && is_sep(*p, seps))
			p++;
		if (p >= end) {
			*pos = p;
			return false;
		}
		q = p;
		while (q < end && !is_sep(*q, seps))
			q++;
		*pos = q;
		while (p < q && is_space(*p))
			p++;
		while (q > p && is_space(q[-1]))
			q--;
		if (q > p) {
			*item = p;
			*n = (size_t)(q - p);
			return true;
		}
		p = *pos;
	}
}

/* One secret a line (line ends stripped, blank lines skipped), for schemes
 * whose secrets are free text. */
static bool
next_line(const char **pos, const char *end, const char **item, size_t *n)
{
	const char *p = *pos, *q;

	for (;;) {
		if (p >= end)
			return false;
		q = memchr(p, '\n', (size_t)(end - p));
		*pos = q ? q + 1 : end;
		if (!q)
			q = end;
		if (q > p && q[-1] == '\r')
			q--;
		for (const char *c = p; c < q; c++) {
			if (!is_space(*c)) {
				*item = p;
				*n = (size_t)(q - p);
				return true;
			}
		}
		p = *pos;
	}
}

/* Decimal digits only (no sign, no fraction, no blanks), short enough for
 * int64_t: the one timestamp syntax every scheme agrees on. */
static bool
parse_seconds(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;

	if (n == 0 || n > TIMESTAMP_DIGITS_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* ---- keys ---- */

enum key_kind { KEY_HMAC, KEY_ED_SECRET, KEY_ED_PUBLIC };

struct key {
	enum key_kind kind;
	EVP_MAC_CTX *mac;   /* keyed once, duplicated for each message */
	EVP_MAC_CTX *mac1;  /* github: HMAC-SHA1 for the legacy sha1= header */
	EVP_PKEY *pkey;
};

struct keyring {
	enum pca_scheme scheme;
	bool allow_v1a;
	bool signing;       /* a pca_signer: public keys are of no use */
	EVP_MAC *hmac;
	struct key *keys;
	size_t n;
	char *warning;
};

struct pca_signer {
	struct keyring kr;
};

struct pca_verifier {
	struct keyring kr;
};

static EVP_MAC_CTX *
hmac_keyed(EVP_MAC *hmac, const char *digest, const unsigned char *key, size_t len)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac);
	char name[16];

	/* OSSL_PARAM takes the digest's name as a mutable string */
	snprintf(name, sizeof name, "%s", digest);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!ctx || !EVP_MAC_init(ctx, key, len, params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static struct key *
key_add(struct keyring *kr, enum key_kind kind)
{
	struct key *k;

	kr->keys = pca_reallocarray(kr->keys, kr->n + 1, sizeof *kr->keys);
	k = &kr->keys[kr->n++];
	memset(k, 0, sizeof *k);
	k->kind = kind;
	return k;
}

/* An HMAC key from raw bytes; the digests follow the scheme. */
static int
add_hmac(struct keyring *kr, const unsigned char *raw, size_t len, size_t idx, struct pca_err *err)
{
	struct key *k = key_add(kr, KEY_HMAC);

	k->mac = hmac_keyed(kr->hmac, kr->scheme == PCA_SCHEME_TWILIO ? "SHA1" : "SHA256", raw, len);
	if (k->mac && kr->scheme == PCA_SCHEME_GITHUB)
		k->mac1 = hmac_keyed(kr->hmac, "SHA1", raw, len);
	if (!k->mac || (kr->scheme == PCA_SCHEME_GITHUB && !k->mac1))
		return pca_err_set(err, "secret %zu: cannot set up the HMAC key", idx);
	return 0;
}

static void
set_warning(struct keyring *kr, size_t idx, size_t len)
{
	if (kr->warning)
		return;
	kr->warning = pca_asprintf("secret %zu is %zu bytes, over the %d the specification allows",
	    idx, len, PCA_WHSEC_MAX);
}

static int
add_whsec(struct keyring *kr, const unsigned char *raw, long len, size_t idx, struct pca_err *err)
{
	if (len < PCA_WHSEC_MIN)
		return pca_err_set(err, "secret %zu: %ld bytes, under the %d the specification requires",
		    idx, len, PCA_WHSEC_MIN);
	if (len > PCA_WHSEC_MAX)
		set_warning(kr, idx, (size_t)len);
	return add_hmac(kr, raw, (size_t)len, idx, err);
}

/* "whsk_": a 32-byte seed, or the 64-byte seed and public key that Svix and
 * libsodium write; the public half must be the seed's. */
static int
add_whsk(struct keyring *kr, const unsigned char *raw, long len, size_t idx, struct pca_err *err)
{
	unsigned char pub[ED25519_LEN];
	size_t publen = sizeof pub;
	struct key *k;

	if (len != ED25519_LEN && len != 2 * ED25519_LEN)
		return pca_err_set(err, "secret %zu: a whsk_ key is 32 or 64 bytes, not %ld", idx, len);
	k = key_add(kr, KEY_ED_SECRET);
	k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, ED25519_LEN);
	if (!k->pkey || !EVP_PKEY_get_raw_public_key(k->pkey, pub, &publen))
		return pca_err_set(err, "secret %zu: not a usable Ed25519 key", idx);
	if (len == 2 * ED25519_LEN && CRYPTO_memcmp(pub, raw + ED25519_LEN, ED25519_LEN) != 0)
		return pca_err_set(err, "secret %zu: the public half of the whsk_ key does not match "
		    "its seed", idx);
	return 0;
}

static int
add_whpk(struct keyring *kr, const unsigned char *raw, long len, size_t idx, struct pca_err *err)
{
	struct key *k;

	if (kr->signing)
		return pca_err_set(err, "secret %zu: a whpk_ public key cannot sign", idx);
	if (len != ED25519_LEN)
		return pca_err_set(err, "secret %zu: a whpk_ key is 32 bytes, not %ld", idx, len);
	k = key_add(kr, KEY_ED_PUBLIC);
	k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, ED25519_LEN);
	if (!k->pkey)
		return pca_err_set(err, "secret %zu: not a usable Ed25519 public key", idx);
	return 0;
}

/* What the text before the base64 says the secret is. */
static int
standard_prefix(const struct keyring *kr, const char *tok, size_t n, size_t idx, size_t *skip,
	struct pca_err *err)
{
	static const char *const prefixes[] = { "whsec_", "whsk_", "whpk_" };

	for (int i = 0; i < 3; i++) {
		if (!has_prefix(tok, n, prefixes[i]))
			continue;
		if (i > 0 && !kr->allow_v1a)
			return pca_err_set(err, "secret %zu: %s keys are for v1a (Ed25519) signatures, "
			    "which are not enabled", idx, prefixes[i]);
		*skip = strlen(prefixes[i]);
		return i;
	}
	if (has_prefix(tok, n, "v1,") || has_prefix(tok, n, "v1a,"))
		return pca_err_set(err, "secret %zu: looks like a signature (\"v1,...\"), not a secret",
		    idx);
	return pca_err_set(err, "secret %zu: not a Standard Webhooks secret (\"whsec_...\")", idx);
}

static int
add_standard(struct keyring *kr, const char *tok, size_t n, size_t idx, struct pca_err *err)
{
	size_t skip = 0, cap;
	unsigned char *raw;
	long len;
	int kind, rc;

	if ((kind = standard_prefix(kr, tok, n, idx, &skip, err)) < 0)
		return -1;
	if (n == skip)
		return pca_err_set(err, "secret %zu: empty after its prefix", idx);
	cap = b64_decoded_max(n - skip);
	raw = pca_malloc(cap);
	len = b64_decode(tok + skip, n - skip, raw);
	if (len < 0)
		rc = pca_err_set(err, "secret %zu: not valid base64", idx);
	else if (kind == 0)
		rc = add_whsec(kr, raw, len, idx, err);
	else if (kind == 1)
		rc = add_whsk(kr, raw, len, idx, err);
	else
		rc = add_whpk(kr, raw, len, idx, err);
	OPENSSL_cleanse(raw, cap);
	free(raw);
	return rc;
}

/* OpenSSL wipes the keys it holds (HMAC states, Ed25519 private keys) as
 * it frees them; the raw bytes were wiped as soon as they were loaded. */
static void
keyring_clear(struct keyring *kr)
{
	for (size_t i = 0; i < kr->n; i++) {
		EVP_MAC_CTX_free(kr->keys[i].mac);
		EVP_MAC_CTX_free(kr->keys[i].mac1);
		EVP_PKEY_free(kr->keys[i].pkey);
	}
	free(kr->keys);
	EVP_MAC_free(kr->hmac);
	free(kr->warning);
	memset(kr, 0, sizeof *kr);
}

static int
keyring_load(struct keyring *kr, const char *text, size_t len, struct pca_err *err)
{
	const char *pos = text, *end = text + len, *tok;
	bool lines = kr->scheme == PCA_SCHEME_GITHUB || kr->scheme == PCA_SCHEME_TWILIO;
	size_t n, idx = 0;
	int rc;

	kr->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!kr->hmac)
		return pca_err_set(err, "secrets: OpenSSL has no HMAC");
	while (lines ? next_line(&pos, end, &tok, &n) : next_item(&pos, end, " \t\r\n\v\f", &tok, &n)) {
		idx++;
		if (kr->scheme == PCA_SCHEME_STANDARD)
			rc = add_standard(kr, tok, n, idx, err);
		else
			rc = add_hmac(kr, (const unsigned char *)tok, n, idx, err);
		if (rc < 0)
			return -1;
	}
	if (idx == 0)
		return pca_err_set(err, "secrets: none given (the text is empty)");
	return 0;
}

/* ---- computing signatures ---- */

/* HMAC of the concatenated parts into out[outsize], with a copy of the
 * pre-keyed context so that the key schedule is done once per secret, not
 * once per message. */
static int
mac_parts(EVP_MAC_CTX *keyed, const struct span *parts, size_t nparts, unsigned char *out,
	size_t outsize, size_t *outlen)
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(keyed);
	int ok = c != NULL;

	for (size_t i = 0; ok && i < nparts; i++)
		if (parts[i].n > 0)
			ok = EVP_MAC_update(c, parts[i].p, parts[i].n);
	ok = ok && EVP_MAC_final(c, out, outlen, outsize);
	EVP_MAC_CTX_free(c);
	return ok ? 0 : -1;
}

/* The Standard Webhooks content to sign: id.timestamp.body. */
static void
standard_parts(struct span parts[5], const char *id, const char *ts, const void *body, size_t len)
{
	parts[0] = (struct span){ id, strlen(id) };
	parts[1] = (struct span){ ".", 1 };
	parts[2] = (struct span){ ts, strlen(ts) };
	parts[3] = (struct span){ ".", 1 };
	parts[4] = (struct span){ body, len };
}

/* Ed25519 signs the whole message at once (no streaming in pure Ed25519). */
static void
join_parts(struct pca_buf *msg, const struct span *parts, size_t nparts)
{
	for (size_t i = 0; i < nparts; i++)
		pca_buf_add(msg, parts[i].p, parts[i].n);
}

static int
ed_sign(EVP_PKEY *pkey, const struct pca_buf *msg, unsigned char sig[ED25519_SIG_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t siglen = ED25519_SIG_LEN;
	int ok;

	ok = c && EVP_DigestSignInit(c, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestSign(c, sig, &siglen, (const unsigned char *)msg->data, msg->len) == 1 &&
	    siglen == ED25519_SIG_LEN;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

static bool
ed_verify(EVP_PKEY *pkey, const struct pca_buf *msg, const unsigned char sig[ED25519_SIG_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok;

	ok = c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestVerify(c, sig, ED25519_SIG_LEN, (const unsigned char *)msg->data,
	    msg->len) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

/* Append "v1,<b64>" / "v1a,<b64>" for every key that can sign. */
static int
standard_sign(struct keyring *kr, const char *id, const char *ts, const void *body, size_t len,
	struct pca_buf *out, struct pca_err *err)
{
	unsigned char mac[EVP_MAX_MD_SIZE], sig[ED25519_SIG_LEN];
	struct pca_buf msg = PCA_BUF_INIT;
	struct span parts[5];
	size_t maclen;
	int rc = 0;

	if (!*id)
		return pca_err_set(err, "webhook id: empty");
	if (strchr(id, '.'))
		return pca_err_set(err, "webhook id: contains '.', which the signed content uses "
		    "as its separator");
	standard_parts(parts, id, ts, body, len);
	for (size_t i = 0; i < kr->n && rc == 0; i++) {
		struct key *k = &kr->keys[i];
		if (i > 0)
			pca_buf_addc(out, ' ');
		if (k->kind == KEY_HMAC) {
			if ((rc = mac_parts(k->mac, parts, 5, mac, sizeof mac, &maclen)) == 0) {
				pca_buf_adds(out, "v1,");
				b64_append(out, mac, maclen);
			}
		} else if (k->kind == KEY_ED_SECRET) {
			if (msg.len == 0)
				join_parts(&msg, parts, 5);
			if ((rc = ed_sign(k->pkey, &msg, sig)) == 0) {
				pca_buf_adds(out, "v1a,");
				b64_append(out, sig, sizeof sig);
			}
		} else {
			rc = pca_err_set(err, "secret %zu: a whpk_ public key cannot sign", i + 1);
		}
	}
	pca_buf_free(&msg);
	if (rc < 0 && err && !err->msg)
		pca_err_set(err, "signing: OpenSSL failed");
	return rc;
}

/* ---- signing (the contract pca-webhook uses) ---- */

struct pca_signer *
pca_signer_new(const char *text, size_t len, bool allow_v1a, struct pca_err *err)
{
	struct pca_signer *s = pca_calloc(1, sizeof *s);

	s->kr.scheme = PCA_SCHEME_STANDARD;
	s->kr.allow_v1a = allow_v1a;
	s->kr.signing = true;
	if (keyring_load(&s->kr, text, len, err) < 0) {
		pca_signer_free(s);
		return NULL;
	}
	return s;
}

const char *
pca_signer_warning(const struct pca_signer *s)
{
	return s->kr.warning;
}

size_t
pca_signer_count(const struct pca_signer *s)
{
	return s->kr.n;
}

int
pca_signer_sign(struct pca_signer *s, const char *id, int64_t timestamp, const void *body,
	size_t len, struct pca_buf *out, struct pca_err *err)
{
	char ts[24];

	if (timestamp < 0)
		return pca_err_set(err, "webhook timestamp: negative (%" PRId64 ")", timestamp);
	snprintf(ts, sizeof ts, "%" PRId64, timestamp);
	return standard_sign(&s->kr, id, ts, body, len, out, err);
}

void
pca_signer_free(struct pca_signer *s)
{
	if (!s)
		return;
	keyring_clear(&s->kr);
	free(s);
}

/* ---- schemes and verdicts ---- */

static const char *const scheme_names[] = { "standard", "stripe", "github", "twilio" };
static const char *const scheme_headers[] = {
	"webhook-signature", "Stripe-Signature", "X-Hub-Signature-256", "X-Twilio-Signature",
};

int
pca_scheme_parse(const char *name, enum pca_scheme *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, scheme_names[i]) == 0) {
			*out = (enum pca_scheme)i;
			return 0;
		}
	}
	return -1;
}

const char *
pca_scheme_name(enum pca_scheme scheme)
{
	return scheme_names[scheme];
}

const char *
pca_scheme_header(enum pca_scheme scheme)
{
	return scheme_headers[scheme];
}

const char *
pca_verdict_name(enum pca_verdict v)
{
	static const char *const names[] = { "valid", "no_match", "too_old", "too_new", "malformed" };

	return names[v];
}

static enum pca_verdict
say(struct pca_buf *reason, enum pca_verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum pca_verdict
say(struct pca_buf *reason, enum pca_verdict v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pca_buf_vaddf(reason, fmt, ap);
	va_end(ap);
	return v;
}

/* A header that must be there, not blank, and of a sane size. */
static bool
header_present(const char *value, const char *name, struct pca_buf *reason)
{
	size_t n;

	if (!value) {
		say(reason, PCA_VERDICT_MALFORMED, "missing %s header", name);
		return false;
	}
	n = strlen(value);
	if (n > PCA_HEADER_MAX) {
		say(reason, PCA_VERDICT_MALFORMED, "malformed %s header (%zu bytes, over %d)", name, n,
		    PCA_HEADER_MAX);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_space(value[i]))
			return true;
	say(reason, PCA_VERDICT_MALFORMED, "malformed %s header (empty)", name);
	return false;
}

static enum pca_verdict
check_age(int64_t ts, int64_t now, int64_t tolerance, bool past_only, struct pca_buf *reason)
{
	if (tolerance < 0)
		return say(reason, PCA_VERDICT_VALID, "valid");
	if (now - ts > tolerance)
		return say(reason, PCA_VERDICT_TOO_OLD, "timestamp too old (%" PRId64 " s > %" PRId64
		    " s)", now - ts, tolerance);
	if (!past_only && ts - now > tolerance)
		return say(reason, PCA_VERDICT_TOO_NEW, "timestamp too new (%" PRId64 " s ahead > %"
		    PRId64 " s)", ts - now, tolerance);
	return say(reason, PCA_VERDICT_VALID, "valid");
}

static enum pca_verdict
crypto_failed(struct pca_buf *reason)
{
	return say(reason, PCA_VERDICT_NO_MATCH, "no matching signature (OpenSSL failed)");
}

/* ---- Standard Webhooks ---- */

/* What the tokens of a webhook-signature header held. */
struct tally {
	size_t usable;    /* signatures we could check */
	size_t broken;    /* tokens that are not "version,signature", bad v1/v1a values */
	size_t skipped;   /* other versions (v1a without allow_v1a) */
	bool matched;
};

static void
check_v1(struct keyring *kr, const unsigned char *macs, const char *val, size_t n,
	struct tally *t)
{
	unsigned char sig[32];

	if (!b64_decode_exact(val, n, sig, sizeof sig)) {
		t->broken++;
		return;
	}
	t->usable++;
	for (size_t i = 0; i < kr->n; i++)
		if (kr->keys[i].kind == KEY_HMAC && CRYPTO_memcmp(macs + 32 * i, sig, 32) == 0)
			t->matched = true;
}

static void
check_v1a(struct keyring *kr, const struct pca_buf *msg, const char *val, size_t n,
	struct tally *t)
{
	unsigned char sig[ED25519_SIG_LEN];

	if (!b64_decode_exact(val, n, sig, sizeof sig)) {
		t->broken++;
		return;
	}
	t->usable++;
	for (size_t i = 0; i < kr->n && !t->matched; i++)
		if (kr->keys[i].kind != KEY_HMAC && ed_verify(kr->keys[i].pkey, msg, sig))
			t->matched = true;
}

/* Every HMAC key's MAC of the message, 32 bytes each, computed once however
 * many tokens the header carries. */
static int
standard_macs(struct keyring *kr, const struct span *parts, unsigned char *macs)
{
	size_t len;

	for (size_t i = 0; i < kr->n; i++)
		if (kr->keys[i].kind == KEY_HMAC && mac_parts(kr->keys[i].mac, parts, 5,
		    macs + 32 * i, 32, &len) < 0)
			return -1;
	return 0;
}

static int
standard_tally(struct keyring *kr, const struct pca_delivery *d, struct tally *t)
{
	const char *pos = d->signature, *end = pos + strlen(pos), *tok, *comma;
	unsigned char *macs = pca_calloc(kr->n, 32);
	struct pca_buf msg = PCA_BUF_INIT;
	struct span parts[5];
	size_t n;
	int rc;

	standard_parts(parts, d->id, d->timestamp, d->body, d->len);
	rc = standard_macs(kr, parts, macs);
	while (rc == 0 && next_item(&pos, end, " \t", &tok, &n)) {
		comma = memchr(tok, ',', n);
		if (!comma) {
			t->broken++;
		} else if (span_is(tok, (size_t)(comma - tok), "v1")) {
			check_v1(kr, macs, comma + 1, n - (size_t)(comma + 1 - tok), t);
		} else if (span_is(tok, (size_t)(comma - tok), "v1a") && kr->allow_v1a) {
			if (msg.len == 0)
				join_parts(&msg, parts, 5);
			check_v1a(kr, &msg, comma + 1, n - (size_t)(comma + 1 - tok), t);
		} else {
			t->skipped++;
		}
	}
	pca_buf_free(&msg);
	free(macs);
	return rc;
}

static bool
standard_headers_ok(const struct pca_delivery *d, int64_t *ts, struct pca_buf *reason)
{
	if (!header_present(d->signature, "webhook-signature", reason) ||
	    !header_present(d->id, "webhook-id", reason) ||
	    !header_present(d->timestamp, "webhook-timestamp", reason))
		return false;
	if (strchr(d->id, '.')) {
		say(reason, PCA_VERDICT_MALFORMED, "malformed webhook-id header (it contains '.', the "
		    "separator of the signed content)");
		return false;
	}
	if (!parse_seconds(d->timestamp, strlen(d->timestamp), ts)) {
		say(reason, PCA_VERDICT_MALFORMED, "malformed webhook-timestamp header (not a whole "
		    "number of seconds)");
		return false;
	}
	return true;
}

static enum pca_verdict
verify_standard(struct keyring *kr, const struct pca_delivery *d, int64_t now, int64_t tolerance,
	struct pca_buf *reason)
{
	struct tally t = { 0 };
	int64_t ts;

	if (!standard_headers_ok(d, &ts, reason))
		return PCA_VERDICT_MALFORMED;
	if (standard_tally(kr, d, &t) < 0)
		return crypto_failed(reason);
	if (t.matched)
		return check_age(ts, now, tolerance, false, reason);
	if (t.usable > 0)
		return say(reason, PCA_VERDICT_NO_MATCH, "no matching signature");
	if (t.broken > 0)
		return say(reason, PCA_VERDICT_MALFORMED, "malformed webhook-signature header (no "
		    "well-formed \"v1,<base64 of 32 bytes>\" signature)");
	return say(reason, PCA_VERDICT_NO_MATCH, "no matching signature (the header has no %s "
	    "signature)", kr->allow_v1a ? "v1 or v1a" : "v1");
}

/* ---- Stripe ---- */

struct stripe_header {
	int64_t ts;
	const char *t;      /* the digits, as signed */
	size_t tlen;
	size_t v1, bad;
};

static bool
stripe_parse(const char *value, struct stripe_header *h, struct pca_buf *reason)
{
	const char *pos = value, *end = value + strlen(value), *item, *eq;
	unsigned char sig[32];
	size_t n;

	while (next_item(&pos, end, ",", &item, &n)) {
		if (!(eq = memchr(item, '=', n))) {
			say(reason, PCA_VERDICT_MALFORMED, "malformed Stripe-Signature header (an item "
			    "is not key=value)");
			return false;
		}
		if (span_is(item, (size_t)(eq - item), "t")) {
			if (h->t || !parse_seconds(eq + 1, n - (size_t)(eq + 1 - item), &h->ts)) {
				say(reason, PCA_VERDICT_MALFORMED, "malformed Stripe-Signature header (%s)",
				    h->t ? "two t= items" : "t= is not a whole number of seconds");
				return false;
			}
			h->t = eq + 1;
			h->tlen = n - (size_t)(eq + 1 - item);
		} else if (span_is(item, (size_t)(eq - item), "v1")) {
			if (hex_decode_exact(eq + 1, n - (size_t)(eq + 1 - item), sig, sizeof sig))
				h->v1++;
			else
				h->bad++;
		}
	}
	if (!h->t || h->v1 == 0) {
		say(reason, PCA_VERDICT_MALFORMED, "malformed Stripe-Signature header (%s)",
		    !h->t ? "no t= timestamp" : "no v1= signature of 64 hex digits");
		return false;
	}
	return true;
}

static int
stripe_mac(struct key *k, const char *t, size_t tlen, const struct pca_delivery *d,
	unsigned char mac[32])
{
	struct span parts[3] = { { t, tlen }, { ".", 1 }, { d->body, d->len } };
	size_t len;

	return mac_parts(k->mac, parts, 3, mac, 32, &len);
}

static int
stripe_match(struct keyring *kr, const struct pca_delivery *d, const struct stripe_header *h,
	bool *matched)
{
	const char *pos = d->signature, *end = pos + strlen(pos), *item;
	unsigned char *macs = pca_calloc(kr->n, 32), sig[32];
	size_t n;

	for (size_t i = 0; i < kr->n; i++) {
		if (stripe_mac(&kr->keys[i], h->t, h->tlen, d, macs + 32 * i) < 0) {
			free(macs);
			return -1;
		}
	}
	while (next_item(&pos, end, ",", &item, &n)) {
		if (n < 3 || memcmp(item, "v1=", 3) != 0 || !hex_decode_exact(item + 3, n - 3, sig, 32))
			continue;
		for (size_t i = 0; i < kr->n; i++)
			if (CRYPTO_memcmp(macs + 32 * i, sig, 32) == 0)
				*matched = true;
	}
	free(macs);
	return 0;
}

static enum pca_verdict
verify_stripe(struct keyring *kr, const struct pca_delivery *d, int64_t now, int64_t tolerance,
	struct pca_buf *reason)
{
	struct stripe_header h = { 0 };
	bool matched = false;

	if (!header_present(d->signature, "Stripe-Signature", reason) ||
	    !stripe_parse(d->signature, &h, reason))
		return PCA_VERDICT_MALFORMED;
	if (stripe_match(kr, d, &h, &matched) < 0)
		return crypto_failed(reason);
	if (!matched)
		return say(reason, PCA_VERDICT_NO_MATCH, "no matching signature");
	return check_age(h.ts, now, tolerance, true, reason);
}

/* ---- GitHub ---- */

static enum pca_verdict
verify_github(struct keyring *kr, const struct pca_delivery *d, struct pca_buf *reason)
{
	const char *pos = d->signature, *val = "";
	unsigned char sig[32], mac[EVP_MAX_MD_SIZE];
	struct span body = { d->body, d->len };
	size_t n = 0, want, len;
	bool sha1, matched = false;

	if (!header_present(d->signature, "X-Hub-Signature-256", reason))
		return PCA_VERDICT_MALFORMED;
	next_item(&pos, pos + strlen(pos), "", &val, &n);
	sha1 = has_prefix(val, n, "sha1=");
	want = sha1 ? 20 : 32;
	if (!(sha1 || has_prefix(val, n, "sha256=")) ||
	    !hex_decode_exact(strchr(val, '=') + 1, n - (size_t)(strchr(val, '=') + 1 - val), sig,
	    want))
		return say(reason, PCA_VERDICT_MALFORMED, "malformed X-Hub-Signature-256 header (not "
		    "sha256=<64 hex digits> or sha1=<40 hex digits>)");
	for (size_t i = 0; i < kr->n; i++) {
		if (mac_parts(sha1 ? kr->keys[i].mac1 : kr->keys[i].mac, &body, 1, mac, sizeof mac,
		    &len) < 0)
			return crypto_failed(reason);
		if (CRYPTO_memcmp(mac, sig, want) == 0)
			matched = true;
	}
	if (!matched)
		return say(reason, PCA_VERDICT_NO_MATCH, "no matching signature");
	return say(reason, PCA_VERDICT_VALID, "valid");
}

/* ---- Twilio ---- */

struct param {
	char *name, *value;
	size_t nlen, vlen;
};

/* application/x-www-form-urlencoded: '+' is a space, %XX a byte; a '%'
 * without two hex digits stays as it is, as the usual decoders do. */
static char *
form_decode(const char *s, size_t n, size_t *outlen)
{
	char *out = pca_malloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < n && pca_hex_value((unsigned char)s[i + 1]) >= 0 && pca_hex_value((unsigned char)s[i + 2]) >= 0) {
			out[o++] = (char)(pca_hex_value((unsigned char)s[i + 1]) << 4 |
			    pca_hex_value((unsigned char)s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static int
bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	return c ? c : (an > bn) - (an < bn);
}

/* Twilio sorts by name, and the values of a repeated name among themselves. */
static int
param_cmp(const void *pa, const void *pb)
{
	const struct param *a = pa, *b = pb;
	int c = bytes_cmp(a->name, a->nlen, b->name, b->nlen);

	return c ? c : bytes_cmp(a->value, a->vlen, b->value, b->vlen);
}

static size_t
form_parse(const char *body, size_t len, struct param **out)
{
	const char *pos = body, *end = body + len, *item, *eq;
	struct param *ps = NULL;
	size_t n, np = 0;

	while (next_item(&pos, end, "&", &item, &n)) {
		eq = memchr(item, '=', n);
		ps = pca_reallocarray(ps, np + 1, sizeof *ps);
		ps[np].name = form_decode(item, eq ? (size_t)(eq - item) : n, &ps[np].nlen);
		ps[np].value = eq ? form_decode(eq + 1, n - (size_t)(eq + 1 - item), &ps[np].vlen) :
		    form_decode("", 0, &ps[np].vlen);
		np++;
	}
	if (np > 1)
		qsort(ps, np, sizeof *ps, param_cmp);
	*out = ps;
	return np;
}

static void
params_free(struct param *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ps[i].name);
		free(ps[i].value);
	}
	free(ps);
}

/* The value of query parameter `name` of a URL, or NULL. */
static const char *
query_param(const char *url, const char *name, size_t *vlen)
{
	const char *q = strchr(url, '?'), *end, *item, *eq;
	size_t n;

	if (!q)
		return NULL;
	q++;
	end = q + strcspn(q, "#");
	while (next_item(&q, end, "&", &item, &n)) {
		eq = memchr(item, '=', n);
		if (eq && span_is(item, (size_t)(eq - item), name)) {
			*vlen = n - (size_t)(eq + 1 - item);
			return eq + 1;
		}
	}
	return NULL;
}

/* Twilio's own validators try the URL with the port and without it, since
 * its signing side has not always agreed with itself: `with` gets the
 * scheme's default port when there is none, `without` loses any port. */
static void
url_ports(const char *url, struct pca_buf *with, struct pca_buf *without)
{
	const char *sep = strstr(url, "://"), *auth, *end, *host, *colon;

	pca_buf_adds(with, url);
	pca_buf_adds(without, url);
	if (!sep)
		return;
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	host = auth;
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			host = p + 1;
	colon = NULL;
	for (const char *p = *host == '[' ? memchr(host, ']', (size_t)(end - host)) : host;
	    p && p < end; p++)
		if (*p == ':')
			colon = p;
	pca_buf_reset(with);
	pca_buf_reset(without);
	if (colon) {
		pca_buf_adds(with, url);
		pca_buf_add(without, url, (size_t)(colon - url));
		pca_buf_adds(without, end);
		return;
	}
	pca_buf_adds(without, url);
	pca_buf_add(with, url, (size_t)(end - url));
	pca_buf_adds(with, sep - url == 5 && strncasecmp(url, "https", 5) == 0 ? ":443" : ":80");
	pca_buf_adds(with, end);
}

/* The string Twilio signs: the URL, then each parameter's name and value. */
static void
twilio_content(struct pca_buf *out, const char *url, const struct param *ps, size_t np)
{
	pca_buf_reset(out);
	pca_buf_adds(out, url);
	for (size_t i = 0; i < np; i++) {
		pca_buf_add(out, ps[i].name, ps[i].nlen);
		pca_buf_add(out, ps[i].value, ps[i].vlen);
	}
}

/* The parameters signed: none when the URL carries bodySHA256 (a JSON
 * body, checked by its hash instead), else the form fields of the body. */
static size_t
twilio_params(const struct pca_delivery *d, struct param **ps)
{
	size_t vlen;

	*ps = NULL;
	if (query_param(d->url, "bodySHA256", &vlen))
		return 0;
	return form_parse(d->body, d->len, ps);
}

static bool
twilio_body_ok(const struct pca_delivery *d)
{
	unsigned char md[32];
	struct pca_buf hex = PCA_BUF_INIT;
	const char *want;
	size_t vlen;
	unsigned int mdlen = 0;
	bool ok;

	if (!(want = query_param(d->url, "bodySHA256", &vlen)))
		return true;
	ok = EVP_Digest(d->body, d->len, md, &mdlen, EVP_sha256(), NULL) == 1;
	pca_hex_append(&hex, md, mdlen);
	ok = ok && vlen == hex.len && strncasecmp(want, hex.data, vlen) == 0;
	pca_buf_free(&hex);
	return ok;
}

static int
twilio_match(struct keyring *kr, const struct pca_delivery *d, const unsigned char sig[20],
	bool *matched)
{
	struct pca_buf urls[2] = { PCA_BUF_INIT, PCA_BUF_INIT }, content = PCA_BUF_INIT;
	unsigned char mac[EVP_MAX_MD_SIZE];
	struct param *ps;
	size_t np = twilio_params(d, &ps), len;
	int rc = 0;

	url_ports(d->url, &urls[0], &urls[1]);
	for (int u = 0; u < 2 && rc == 0; u++) {
		struct span part;
		twilio_content(&content, urls[u].data, ps, np);
		part = (struct span){ content.data, content.len };
		for (size_t i = 0; i < kr->n && rc == 0; i++) {
			rc = mac_parts(kr->keys[i].mac, &part, 1, mac, sizeof mac, &len);
			if (rc == 0 && CRYPTO_memcmp(mac, sig, 20) == 0)
				*matched = true;
		}
	}
	params_free(ps, np);
	pca_buf_free(&urls[0]);
	pca_buf_free(&urls[1]);
	pca_buf_free(&content);
	return rc;
}

static enum pca_verdict
verify_twilio(struct keyring *kr, const struct pca_delivery *d, struct pca_buf *reason)
{
	const char *pos = d->signature, *val = "";
	unsigned char sig[20];
	bool matched = false;
	size_t n;

	if (!header_present(d->signature, "X-Twilio-Signature", reason))
		return PCA_VERDICT_MALFORMED;
	next_item(&pos, pos + strlen(pos), "", &val, &n);
	if (!b64_decode_exact(val, n, sig, sizeof sig))
		return say(reason, PCA_VERDICT_MALFORMED, "malformed X-Twilio-Signature header (not "
		    "the base64 of 20 bytes)");
	if (!d->url || !*d->url)
		return say(reason, PCA_VERDICT_MALFORMED, "no URL: Twilio signs the URL it requested");
	if (twilio_match(kr, d, sig, &matched) < 0)
		return crypto_failed(reason);
	if (!matched)
		return say(reason, PCA_VERDICT_NO_MATCH, "no matching signature");
	if (!twilio_body_ok(d))
		return say(reason, PCA_VERDICT_NO_MATCH, "no matching signature (the body does not "
		    "match the bodySHA256 of the URL)");
	return say(reason, PCA_VERDICT_VALID, "valid");
}

/* ---- verification API ---- */

struct pca_verifier *
pca_verifier_new(enum pca_scheme scheme, const char *text, size_t len, bool allow_v1a,
	struct pca_err *err)
{
	struct pca_verifier *v = pca_calloc(1, sizeof *v);

	v->kr.scheme = scheme;
	v->kr.allow_v1a = allow_v1a && scheme == PCA_SCHEME_STANDARD;
	if (keyring_load(&v->kr, text, len, err) < 0) {
		pca_verifier_free(v);
		return NULL;
	}
	return v;
}

const char *
pca_verifier_warning(const struct pca_verifier *v)
{
	return v->kr.warning;
}

size_t
pca_verifier_count(const struct pca_verifier *v)
{
	return v->kr.n;
}

enum pca_verdict
pca_verify(struct pca_verifier *v, const struct pca_delivery *d, int64_t now, int64_t tolerance,
	struct pca_buf *reason)
{
	switch (v->kr.scheme) {
	case PCA_SCHEME_STANDARD:
		return verify_standard(&v->kr, d, now, tolerance, reason);
	case PCA_SCHEME_STRIPE:
		return verify_stripe(&v->kr, d, now, tolerance, reason);
	case PCA_SCHEME_GITHUB:
		return verify_github(&v->kr, d, reason);
	case PCA_SCHEME_TWILIO:
		return verify_twilio(&v->kr, d, reason);
	}
	return say(reason, PCA_VERDICT_MALFORMED, "unknown scheme");
}

static int
timestamp_text(const char *ts, struct pca_err *err)
{
	int64_t v;

	if (!ts || !parse_seconds(ts, strlen(ts), &v))
		return pca_err_set(err, "timestamp: not a whole number of seconds");
	return 0;
}

static int
sign_stripe(struct keyring *kr, const struct pca_delivery *d, struct pca_buf *out,
	struct pca_err *err)
{
	unsigned char mac[32];

	if (timestamp_text(d->timestamp, err) < 0)
		return -1;
	pca_buf_addf(out, "t=%s", d->timestamp);
	for (size_t i = 0; i < kr->n; i++) {
		if (stripe_mac(&kr->keys[i], d->timestamp, strlen(d->timestamp), d, mac) < 0)
			return pca_err_set(err, "signing: OpenSSL failed");
		pca_buf_adds(out, ",v1=");
		pca_hex_append(out, mac, sizeof mac);
	}
	return 0;
}

static int
sign_twilio(struct keyring *kr, const struct pca_delivery *d, struct pca_buf *out,
	struct pca_err *err)
{
	struct pca_buf content = PCA_BUF_INIT;
	unsigned char mac[EVP_MAX_MD_SIZE];
	struct param *ps;
	struct span part;
	size_t np, len;
	int rc;

	if (!d->url || !*d->url)
		return pca_err_set(err, "url: Twilio signs the URL it requests, and none was given");
	np = twilio_params(d, &ps);
	twilio_content(&content, d->url, ps, np);
	part = (struct span){ content.data, content.len };
	rc = mac_parts(kr->keys[0].mac, &part, 1, mac, sizeof mac, &len);
	if (rc == 0)
		b64_append(out, mac, len);
	params_free(ps, np);
	pca_buf_free(&content);
	return rc < 0 ? pca_err_set(err, "signing: OpenSSL failed") : 0;
}

int
pca_verifier_sign(struct pca_verifier *v, const struct pca_delivery *d, struct pca_buf *out,
	struct pca_err *err)
{
	struct span body = { d->body, d->len };
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t len;

	switch (v->kr.scheme) {
	case PCA_SCHEME_STANDARD:
		if (timestamp_text(d->timestamp, err) < 0)
			return -1;
		if (!d->id)
			return pca_err_set(err, "webhook id: none given");
		return standard_sign(&v->kr, d->id, d->timestamp, d->body, d->len, out, err);
	case PCA_SCHEME_STRIPE:
		return sign_stripe(&v->kr, d, out, err);
	case PCA_SCHEME_GITHUB:
		if (mac_parts(v->kr.keys[0].mac, &body, 1, mac, sizeof mac, &len) < 0)
			return pca_err_set(err, "signing: OpenSSL failed");
		pca_buf_adds(out, "sha256=");
		pca_hex_append(out, mac, len);
		return 0;
	case PCA_SCHEME_TWILIO:
		return sign_twilio(&v->kr, d, out, err);
	}
	return pca_err_set(err, "unknown scheme");
}

void
pca_verifier_free(struct pca_verifier *v)
{
	if (!v)
		return;
	keyring_clear(&v->kr);
	free(v);
}
