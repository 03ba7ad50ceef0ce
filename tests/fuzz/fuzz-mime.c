/* Internet message pieces: RFC 2047 header text, quoted-printable, mailbox
 * parsing, and the decoders (which also take the raw input).
 *
 * Properties:
 * - pca_mime_header_decode(pca_mime_header_text(x)) is x as the encoder
 *   documents cleaning it: C0 controls and DEL become spaces, invalid UTF-8
 *   becomes U+FFFD (each byte), leading and trailing spaces go;
 * - every header written (text, raw, mailboxes) ends in CRLF, has no other
 *   CR or LF, no NUL, and continuation lines that start with white space;
 *   text and mailbox headers have lines of at most 998 octets and
 *   encoded-words of at most 75 characters;
 * - pca_mime_qp_decode(pca_mime_qp_encode(x)) is x with each bare LF made
 *   CRLF; the encoding is 7-bit, its lines at most 76 characters, none of
 *   them "." alone or starting "From ". */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fuzz.h"
#include "mime.h"
#include "utf8.h"

#define LINE_HARD 998
#define QP_LINE 76
#define EW_MAX 75

static void
fail_with(const char *what, const void *in, size_t inlen, const struct pca_buf *out)
{
	fuzz_dump("input", in, inlen);
	fuzz_dump("output", out->data, out->len);
	fuzz_fail("%s", what);
}

/* Encoded-words in one header line are at most 75 characters. */
static bool
ew_ok(const char *line, size_t n)
{
	const char *p = line, *end = line + n, *start, *stop;

	while ((start = memmem(p, (size_t)(end - p), "=?", 2))) {
		/* "=?UTF-8?Q?...?=": the closing "?=" after the third '?' */
		const char *q = start + 2;
		int marks = 0;
		while (q < end && marks < 2)
			marks += *q++ == '?';
		stop = q < end ? memmem(q, (size_t)(end - q), "?=", 2) : NULL;
		if (!stop)
			return true;
		if ((size_t)(stop + 2 - start) > EW_MAX)
			return false;
		p = stop + 2;
	}
	return true;
}

/* strict: also the line and encoded-word lengths, which a raw value (one
 * long word, a literal "=?") cannot promise. */
static void
check_header_lines(bool strict, const void *in, size_t inlen, const struct pca_buf *out)
{
	size_t pos = 0, line;
	const char *crlf;

	if (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0)
		fail_with("header does not end in CRLF", in, inlen, out);
	if (memchr(out->data, '\0', out->len))
		fail_with("header holds a NUL", in, inlen, out);
	for (line = 0; pos < out->len; line++) {
		crlf = memmem(out->data + pos, out->len - pos, "\r\n", 2);
		size_t n = (size_t)(crlf - (out->data + pos));
		if (memchr(out->data + pos, '\r', n) || memchr(out->data + pos, '\n', n))
			fail_with("header holds a bare CR or LF", in, inlen, out);
		if (strict && n > LINE_HARD)
			fail_with("header line over 998 octets", in, inlen, out);
		if (line > 0 && out->data[pos] != ' ' && out->data[pos] != '\t')
			fail_with("continuation line without white space", in, inlen, out);
		if (strict && !ew_ok(out->data + pos, n))
			fail_with("encoded-word over 75 characters", in, inlen, out);
		pos += n + 2;
	}
}

/* The value as pca_mime_header_text documents cleaning it. */
static void
cleaned(const char *s, size_t len, struct pca_buf *out)
{
	size_t pos = 0, at, start, end;
	int32_t cp;

	while (pos < len) {
		at = pos;
		cp = pca_utf8_next(s, len, &pos);
		if (cp < 0)
			pca_buf_adds(out, "\xEF\xBF\xBD");
		else if (cp < 0x20 || cp == 0x7F)
			pca_buf_addc(out, ' ');
		else
			pca_buf_add(out, s + at, pos - at);
	}
	for (start = 0; start < out->len && out->data[start] == ' '; start++)
		;
	for (end = out->len; end > start && out->data[end - 1] == ' '; end--)
		;
	if (start > 0)
		memmove(out->data, out->data + start, end - start);
	pca_buf_truncate(out, end - start);
}

static void
check_header_text(const char *s, size_t len)
{
	struct pca_buf out = PCA_BUF_INIT, back = PCA_BUF_INIT, want = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	static const char name[] = "Subject:";

	pca_mime_header_text(&out, "Subject", s, len);
	check_header_lines(true, s, len, &out);
	if (pca_mime_header_decode(&back, out.data + strlen(name), out.len - strlen(name),
	    &err) < 0) {
		fuzz_dump("input", s, len);
		fuzz_dump("header", out.data, out.len);
		fuzz_fail("header_decode fails on header_text's output: %s", err.msg);
	}
	cleaned(s, len, &want);
	if (!fuzz_same(back.data, back.len, want.data, want.len)) {
		fuzz_dump("input", s, len);
		fuzz_dump("header", out.data, out.len);
		fuzz_dump("expected", want.data, want.len);
		fuzz_dump("decoded", back.data, back.len);
		fuzz_fail("header_decode(header_text(x)) is not x cleaned");
	}
	pca_buf_free(&out);
	pca_buf_free(&back);
	pca_buf_free(&want);
}

static void
check_qp_lines(const char *s, size_t len, const struct pca_buf *enc)
{
	size_t pos = 0, n;
	const char *line, *crlf;

	while (pos < enc->len) {
		line = enc->data + pos;
		crlf = memmem(line, enc->len - pos, "\r\n", 2);
		n = crlf ? (size_t)(crlf - line) : enc->len - pos;
		for (size_t i = 0; i < n; i++)
			if (line[i] != '\t' && (line[i] < 0x20 || line[i] > 0x7E))
				fail_with("quoted-printable holds a byte outside printable ASCII", s, len,
				    enc);
		if (n > QP_LINE)
			fail_with("quoted-printable line over 76 characters", s, len, enc);
		if ((n == 1 && line[0] == '.') || (n >= 5 && memcmp(line, "From ", 5) == 0))
			fail_with("quoted-printable line \".\" or \"From \" left as it is", s, len, enc);
		pos += n + (crlf ? 2 : 0);
	}
}

static void
check_qp(const char *s, size_t len)
{
	struct pca_buf enc = PCA_BUF_INIT, dec = PCA_BUF_INIT, want = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;

	pca_mime_qp_encode(&enc, s, len);
	check_qp_lines(s, len, &enc);
	if (pca_mime_qp_decode(&dec, enc.data ? enc.data : "", enc.len, &err) < 0)
		fail_with(err.msg, s, len, &enc);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			pca_buf_addc(&want, '\r');
		pca_buf_addc(&want, s[i]);
	}
	if (!fuzz_same(dec.data, dec.len, want.data, want.len)) {
		fuzz_dump("input", s, len);
		fuzz_dump("encoded", enc.data, enc.len);
		fuzz_dump("decoded", dec.data, dec.len);
		fuzz_fail("qp_decode(qp_encode(x)) is not x with CRLF line ends");
	}
	pca_buf_free(&enc);
	pca_buf_free(&dec);
	pca_buf_free(&want);
}

/* Mailboxes as a configuration has them, and a raw header value. */
static void
check_mailbox_and_raw(const char *s, size_t len)
{
	struct pca_buf out = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_mailbox mb[2] = { { NULL, NULL }, { NULL, NULL } };
	char *c = pca_strndup(s, len);

	if (pca_mailbox_parse(c, &mb[0], &err) == 0) {
		FUZZ_CHECK(mb[0].addr && strchr(mb[0].addr, '@'), "a mailbox without an @");
		mb[1].addr = "second@example.com";
		pca_mime_header_mailboxes(&out, "To", mb, 2);
		check_header_lines(true, s, len, &out);
		pca_mailbox_free(&mb[0]);
	} else {
		FUZZ_CHECK(err.msg && *err.msg, "a failure without a message");
		pca_err_clear(&err);
	}
	pca_buf_reset(&out);
	pca_mime_header_raw(&out, "Message-ID", c);
	check_header_lines(false, s, len, &out);
	pca_buf_free(&out);
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct pca_buf out = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;

	check_header_text(s, size);
	check_qp(s, size);
	check_mailbox_and_raw(s, size);
	/* the decoders on anything */
	if (pca_mime_header_decode(&out, s, size, &err) < 0)
		pca_err_clear(&err);
	pca_buf_reset(&out);
	if (pca_mime_qp_decode(&out, s, size, &err) < 0)
		pca_err_clear(&err);
	pca_buf_free(&out);
	return 0;
}
