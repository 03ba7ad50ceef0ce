/* SMS text: counting, splitting and the GSM-7 codec.
 *
 * Properties, for valid UTF-8 (anything else must be refused by both
 * pca_sms_count and pca_sms_split):
 * - pca_sms_split gives as many segments as pca_sms_count counts, in the same
 *   encoding; its offsets start at 0 and never go back, so the segments put
 *   together are the text;
 * - a boundary never falls inside a grapheme cluster (CR LF counts as two
 *   characters, as the calculator has it) nor, in GSM-7, inside an escape
 *   pair: encoding the segments one by one gives the septets of the whole;
 * - a segment holds at most 153 septets or 67 UTF-16 units (160 or 70 when
 *   there is only one), unless it is a single cluster too large for any, or
 *   the second segment in the calculator's quirk (overflow_ok); only the
 *   first segment may be empty, when the first cluster is that large;
 * - GSM-7 text encodes to as many septets as the count says, and decodes
 *   back to itself; septets that decode encode back to themselves. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sms.h"
#include "utf8.h"

static void
fail_on(const char *s, size_t len, const char *what, size_t seg)
{
	fuzz_dump("text", s, len);
	fuzz_fail("%s (segment %zu)", what, seg);
}

/* True when a cluster boundary as the SMS code sees it is at `at`. */
static bool
is_boundary(const char *s, size_t len, size_t at)
{
	size_t pos = 0;

	while (pos < at)
		pos = pca_utf8_grapheme_end(s, len, pos);
	if (pos == at)
		return true;
	/* CR LF is one cluster, but two characters for the calculator */
	return at > 0 && s[at - 1] == '\r' && s[at] == '\n' && pos == at + 1;
}

static size_t
units_of(const char *s, size_t len, enum pca_sms_encoding enc)
{
	struct pca_sms_count c;
	struct pca_err err = PCA_ERR_INIT;

	if (pca_sms_count(s, len, &c, &err) < 0)
		fuzz_fail("a segment is not valid UTF-8: %s", err.msg);
	/* a GSM-7 segment alone is still GSM-7; a UCS-2 one may not be */
	if (enc == PCA_SMS_UCS2 && c.encoding == PCA_SMS_GSM7) {
		size_t u = 0;
		for (size_t p = 0; p < len; p++)
			u += ((unsigned char)s[p] & 0xC0) != 0x80;
		return u; /* GSM-7 characters are all in the BMP: one unit each */
	}
	return c.units;
}

static bool
one_cluster(const char *s, size_t len)
{
	return len > 0 && pca_utf8_grapheme_end(s, len, 0) == len;
}

/* The calculator's quirk (see lib/sms.c): when a second segment opens, the
 * clusters that no longer fit the first move to it, and it takes the new
 * cluster without another check. So the second segment may go over, but
 * without its last cluster it held at most what one segment without a
 * header holds (160 septets or 70 units). */
static bool
overflow_ok(const char *s, size_t len, enum pca_sms_encoding enc)
{
	size_t pos = 0, last = 0;

	while (pos < len) {
		last = pos;
		pos = pca_utf8_grapheme_end(s, len, pos);
	}
	return units_of(s, last, enc) <= (enc == PCA_SMS_GSM7 ? 160 : 70);
}

static void
check_split(const char *s, size_t len)
{
	struct pca_sms_count c;
	struct pca_err err = PCA_ERR_INIT;
	enum pca_sms_encoding enc;
	size_t *starts, n, cap;

	if (pca_sms_count(s, len, &c, &err) < 0)
		fuzz_fail("valid UTF-8 refused by pca_sms_count: %s", err.msg);
	if (pca_sms_split(s, len, &starts, &n, &enc, &err) < 0)
		fuzz_fail("valid UTF-8 refused by pca_sms_split: %s", err.msg);
	if (n != c.segments || enc != c.encoding)
		fail_on(s, len, "split and count disagree", n);
	if (n == 0 || starts[0] != 0)
		fail_on(s, len, "the first segment does not start at 0", 0);
	cap = enc == PCA_SMS_GSM7 ? (n == 1 ? 160 : 153) : (n == 1 ? 70 : 67);
	for (size_t i = 0; i < n; i++) {
		size_t end = i + 1 < n ? starts[i + 1] : len;
		if (end < starts[i] || end > len)
			fail_on(s, len, "segment offsets go back or past the end", i);
		if (starts[i] < len && !is_boundary(s, len, starts[i]))
			fail_on(s, len, "a boundary splits a grapheme cluster", i);
		if (end == starts[i] && len > 0 && (i > 0 || n == 1 ||
		    units_of(s, pca_utf8_grapheme_end(s, len, 0), enc) <= 67))
			fail_on(s, len, "an empty segment", i);
		if (units_of(s + starts[i], end - starts[i], enc) > cap &&
		    !one_cluster(s + starts[i], end - starts[i]) &&
		    !(i == 1 && overflow_ok(s + starts[i], end - starts[i], enc)))
			fail_on(s, len, "a segment over its capacity", i);
	}
	if (enc == PCA_SMS_GSM7) {
		struct pca_buf whole = PCA_BUF_INIT, parts = PCA_BUF_INIT;
		if (pca_sms_gsm7_encode(s, len, &whole, &err) < 0)
			fuzz_fail("GSM-7 text does not encode: %s", err.msg);
		if (whole.len != c.units)
			fail_on(s, len, "GSM-7 septets differ from the count", 0);
		for (size_t i = 0; i < n; i++) {
			size_t end = i + 1 < n ? starts[i + 1] : len;
			if (pca_sms_gsm7_encode(s + starts[i], end - starts[i], &parts, &err) < 0)
				fail_on(s, len, "a GSM-7 segment does not encode alone", i);
		}
		if (!fuzz_same(parts.data, parts.len, whole.data, whole.len))
			fail_on(s, len, "segments encoded one by one differ from the whole", 0);
		pca_buf_free(&whole);
		pca_buf_free(&parts);
	}
	free(starts);
}

static void
check_gsm7(const char *s, size_t len)
{
	struct pca_buf sept = PCA_BUF_INIT, back = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;

	if (pca_sms_gsm7_encode(s, len, &sept, &err) < 0) {
		pca_err_clear(&err);
		pca_buf_free(&sept);
		return;
	}
	if (pca_sms_gsm7_decode((const unsigned char *)sept.data, sept.len, &back, &err) < 0 ||
	    !fuzz_same(back.data, back.len, s, len)) {
		fuzz_dump("text", s, len);
		fuzz_dump("decoded", back.data, back.len);
		fuzz_fail("gsm7 decode(encode(x)) is not x");
	}
	pca_buf_free(&sept);
	pca_buf_free(&back);
}

/* The input as septets (high bit dropped): what decodes encodes back. */
static void
check_septets(const uint8_t *data, size_t size)
{
	unsigned char *sept = malloc(size + 1);
	struct pca_buf text = PCA_BUF_INIT, again = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;

	for (size_t i = 0; i < size; i++)
		sept[i] = data[i] & 0x7F;
	if (pca_sms_gsm7_decode(sept, size, &text, &err) == 0) {
		if (pca_sms_gsm7_encode(text.data ? text.data : "", text.len, &again, &err) < 0 ||
		    !fuzz_same(again.data, again.len, sept, size)) {
			fuzz_dump("septets", sept, size);
			fuzz_dump("text", text.data, text.len);
			fuzz_fail("gsm7 encode(decode(septets)) is not the septets");
		}
	}
	pca_err_clear(&err);
	pca_buf_free(&text);
	pca_buf_free(&again);
	free(sept);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct pca_sms_count c;
	struct pca_err err = PCA_ERR_INIT;
	size_t *starts = NULL, n;

	check_septets(data, size);
	if (!pca_utf8_valid(s, size, NULL)) {
		FUZZ_CHECK(pca_sms_count(s, size, &c, &err) < 0, "invalid UTF-8 counted");
		pca_err_clear(&err);
		FUZZ_CHECK(pca_sms_split(s, size, &starts, &n, NULL, &err) < 0,
		    "invalid UTF-8 split");
		pca_err_clear(&err);
		return 0;
	}
	FUZZ_CHECK(pca_sms_is_gsm7(s, size) == (pca_sms_count(s, size, &c, &err) == 0 &&
	    c.encoding == PCA_SMS_GSM7), "pca_sms_is_gsm7 and pca_sms_count disagree");
	check_split(s, size);
	check_gsm7(s, size);
	return 0;
}
