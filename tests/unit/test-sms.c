#include <stdint.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "buf.h"
#include "err.h"
#include "sms.h"
#include "tap.h"
#include "utf8.h"

/* GSM 03.38 written out independently of lib/sms.c: the basic table in
 * septet order (0x1B, the escape, as a space placeholder that is skipped),
 * then the extension table as septet/character pairs. */
static const char *const basic[128] = {
	"@", "\xC2\xA3", "$", "\xC2\xA5", "\xC3\xA8", "\xC3\xA9", "\xC3\xB9", "\xC3\xAC",
	"\xC3\xB2", "\xC3\x87", "\n", "\xC3\x98", "\xC3\xB8", "\r", "\xC3\x85", "\xC3\xA5",
	"\xCE\x94", "_", "\xCE\xA6", "\xCE\x93", "\xCE\x9B", "\xCE\xA9", "\xCE\xA0", "\xCE\xA8",
	"\xCE\xA3", "\xCE\x98", "\xCE\x9E", NULL, "\xC3\x86", "\xC3\xA6", "\xC3\x9F", "\xC3\x89",
	" ", "!", "\"", "#", "\xC2\xA4", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/",
	"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?",
	"\xC2\xA1", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O",
	"P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z",
	"\xC3\x84", "\xC3\x96", "\xC3\x91", "\xC3\x9C", "\xC2\xA7",
	"\xC2\xBF", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
	"p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z",
	"\xC3\xA4", "\xC3\xB6", "\xC3\xB1", "\xC3\xBC", "\xC3\xA0",
};

static const struct {
	unsigned char code;
	const char *ch;
} ext[] = {
	{ 0x0A, "\f" }, { 0x14, "^" }, { 0x28, "{" }, { 0x29, "}" }, { 0x2F, "\\" },
	{ 0x3C, "[" }, { 0x3D, "~" }, { 0x3E, "]" }, { 0x40, "|" }, { 0x65, "\xE2\x82\xAC" },
};

#define NEXT (sizeof ext / sizeof ext[0])

static void
test_gsm7_tables(void)
{
	struct pca_buf b = PCA_BUF_INIT, all = PCA_BUF_INIT, septets = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	unsigned char sep[2];
	size_t i, bad_enc = 0, bad_dec = 0;

	for (i = 0; i < 128; i++) {
		if (!basic[i])
			continue;
		pca_buf_reset(&b);
		if (pca_sms_gsm7_encode(basic[i], strlen(basic[i]), &b, &err) < 0 ||
		    b.len != 1 || (unsigned char)b.data[0] != i)
			bad_enc++;
		pca_buf_reset(&b);
		sep[0] = (unsigned char)i;
		if (pca_sms_gsm7_decode(sep, 1, &b, &err) < 0 || strcmp(pca_buf_cstr(&b), basic[i]) != 0)
			bad_dec++;
		pca_buf_adds(&all, basic[i]);
		pca_buf_addc(&septets, (char)i);
	}
	is_int(bad_enc, 0, "gsm-7: every basic character encodes to its septet");
	is_int(bad_dec, 0, "gsm-7: every basic septet decodes to its character");

	bad_enc = bad_dec = 0;
	for (i = 0; i < NEXT; i++) {
		pca_buf_reset(&b);
		if (pca_sms_gsm7_encode(ext[i].ch, strlen(ext[i].ch), &b, &err) < 0 || b.len != 2 ||
		    b.data[0] != 0x1B || (unsigned char)b.data[1] != ext[i].code)
			bad_enc++;
		pca_buf_reset(&b);
		sep[0] = 0x1B;
		sep[1] = ext[i].code;
		if (pca_sms_gsm7_decode(sep, 2, &b, &err) < 0 || strcmp(pca_buf_cstr(&b), ext[i].ch) != 0)
			bad_dec++;
		pca_buf_adds(&all, ext[i].ch);
		pca_buf_addc(&septets, 0x1B);
		pca_buf_addc(&septets, (char)ext[i].code);
	}
	is_int(bad_enc, 0, "gsm-7: every extension character encodes to escape + code");
	is_int(bad_dec, 0, "gsm-7: every escape + code decodes to its character");

	pca_buf_reset(&b);
	ok(pca_sms_gsm7_encode(all.data, all.len, &b, &err) == 0 && b.len == septets.len &&
	    memcmp(b.data, septets.data, b.len) == 0, "gsm-7: the whole alphabet encodes in one go");
	is_int(b.len, 127 + 2 * 10, "gsm-7: 127 basic + 10 extension characters");
	pca_buf_reset(&b);
	ok(pca_sms_gsm7_decode((unsigned char *)septets.data, septets.len, &b, &err) == 0 &&
	    b.len == all.len && memcmp(b.data, all.data, b.len) == 0,
	    "gsm-7: and decodes back to the same text");
	ok(pca_sms_is_gsm7(all.data, all.len), "is_gsm7: the whole alphabet");
	pca_buf_free(&b);
	pca_buf_free(&all);
	pca_buf_free(&septets);
	pca_err_clear(&err);
}

/* Exactly the 137 table characters count as GSM-7, nothing else in the BMP
 * or above (the astral planes are sampled). */
static void
test_gsm7_membership(void)
{
	char u[4];
	uint32_t cp;
	size_t n, members = 0;

	for (cp = 0; cp < 0x110000; cp += cp < 0x10000 ? 1 : 97) {
		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		n = pca_utf8_put(u, cp);
		members += pca_sms_is_gsm7(u, n);
	}
	is_int(members, 137, "is_gsm7: 137 code points in all");
	ok(!pca_sms_is_gsm7("`", 1), "is_gsm7: backtick is not");
	ok(!pca_sms_is_gsm7("\xC3\xA7", 2), "is_gsm7: small c cedilla is not");
	ok(pca_sms_is_gsm7("\xC3\x87", 2), "is_gsm7: capital C cedilla is");
	ok(!pca_sms_is_gsm7("e\xCC\x81", 3), "is_gsm7: e + combining acute is not");
	ok(!pca_sms_is_gsm7("\xC2\xA0", 2), "is_gsm7: NBSP is not");
	ok(!pca_sms_is_gsm7("\t", 1), "is_gsm7: tab is not");
	ok(pca_sms_is_gsm7("", 0), "is_gsm7: empty text is");
}

static void
test_gsm7_errors(void)
{
	struct pca_buf b = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	const unsigned char at[] = { 0x00, 0x00 }, high[] = { 0x41, 0x80 };
	const unsigned char lone_esc[] = { 0x41, 0x1B }, bad_esc[] = { 0x1B, 0x41 };

	ok(pca_sms_gsm7_encode("ab\xC3\xA7", 4, &b, &err) < 0, "encode: c cedilla fails");
	ok(err.msg && strstr(err.msg, "U+00E7") && strstr(err.msg, "byte 2"),
	    "encode: the error names the character and offset (%s)", pca_err_msg(&err));
	ok(pca_sms_gsm7_encode("`", 1, &b, &err) < 0, "encode: backtick fails");
	ok(pca_sms_gsm7_encode("e\xCC\x81", 3, &b, &err) < 0, "encode: combining mark fails");
	ok(pca_sms_gsm7_encode("a\xFF", 2, &b, &err) < 0, "encode: invalid UTF-8 fails");

	pca_buf_reset(&b);
	ok(pca_sms_gsm7_decode(at, 2, &b, &err) == 0 && b.len == 2 &&
	    strcmp(pca_buf_cstr(&b), "@@") == 0, "decode: septet 0 is @, not a terminator");
	ok(pca_sms_gsm7_decode(high, 2, &b, &err) < 0, "decode: septet 0x80 fails");
	ok(pca_sms_gsm7_decode(lone_esc, 2, &b, &err) < 0, "decode: escape at the end fails");
	ok(pca_sms_gsm7_decode(bad_esc, 2, &b, &err) < 0, "decode: escape + 0x41 fails");
	ok(err.msg && strstr(err.msg, "escape"), "decode: the error says escape (%s)", pca_err_msg(&err));
	pca_buf_free(&b);
	pca_err_clear(&err);
}

static char *
repeat(const char *unit, size_t n, const char *tail)
{
	struct pca_buf b = PCA_BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		pca_buf_adds(&b, unit);
	pca_buf_adds(&b, tail);
	return pca_buf_detach(&b, NULL);
}

struct ccase {
	const char *name;
	const char *unit;
	size_t n;
	const char *tail;
	enum pca_sms_encoding enc;
	size_t segments, characters, units;
};

#define EURO "\xE2\x82\xAC"
#define ZHE "\xD0\xB6"
#define GRIN "\xF0\x9F\x98\x80"

static const struct ccase ccases[] = {
	{ "empty", "", 0, "", PCA_SMS_GSM7, 1, 0, 0 },
	{ "160 septets", "a", 160, "", PCA_SMS_GSM7, 1, 160, 160 },
	{ "161 septets", "a", 161, "", PCA_SMS_GSM7, 2, 161, 161 },
	{ "306 septets", "a", 306, "", PCA_SMS_GSM7, 2, 306, 306 },
	{ "307 septets", "a", 307, "", PCA_SMS_GSM7, 3, 307, 307 },
	{ "158 + euro = 160", "a", 158, EURO, PCA_SMS_GSM7, 1, 160, 160 },
	{ "159 + euro = 161", "a", 159, EURO, PCA_SMS_GSM7, 2, 161, 161 },
	{ "80 tildes", "~", 80, "", PCA_SMS_GSM7, 1, 160, 160 },
	{ "CRLF x 80", "\r\n", 80, "", PCA_SMS_GSM7, 1, 160, 160 },
	{ "70 UCS-2", ZHE, 70, "", PCA_SMS_UCS2, 1, 70, 70 },
	{ "71 UCS-2", ZHE, 71, "", PCA_SMS_UCS2, 2, 71, 71 },
	{ "134 UCS-2", ZHE, 134, "", PCA_SMS_UCS2, 2, 134, 134 },
	{ "135 UCS-2", ZHE, 135, "", PCA_SMS_UCS2, 3, 135, 135 },
	{ "35 emoji", GRIN, 35, "", PCA_SMS_UCS2, 1, 35, 70 },
	{ "36 emoji", GRIN, 36, "", PCA_SMS_UCS2, 2, 36, 72 },
	{ "GSM text with one c cedilla", "a", 200, "\xC3\xA7", PCA_SMS_UCS2, 3, 201, 201 },
	{ "euro in UCS-2 is one unit", EURO, 70, ZHE, PCA_SMS_UCS2, 2, 71, 71 },
	{ "CRLF in UCS-2 is two characters", ZHE, 1, "\r\n", PCA_SMS_UCS2, 1, 3, 3 },
	{ "80 marks: one cluster larger than a segment", "\xCC\x81", 80, "", PCA_SMS_UCS2, 2, 1, 80 },
	{ "80 marks then e: e opens a third segment", "\xCC\x81", 80, "e", PCA_SMS_UCS2, 3, 2, 81 },
};

static void
test_counts(void)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_sms_count c;
	size_t i;
	char *s;

	for (i = 0; i < sizeof ccases / sizeof ccases[0]; i++) {
		s = repeat(ccases[i].unit, ccases[i].n, ccases[i].tail);
		memset(&c, 0xAA, sizeof c);
		if (!ok(pca_sms_count(s, strlen(s), &c, &err) == 0, "count %s", ccases[i].name)) {
			free(s);
			continue;
		}
		ok(c.encoding == ccases[i].enc && c.segments == ccases[i].segments &&
		    c.characters == ccases[i].characters && c.units == ccases[i].units,
		    "count %s: %s %zu segments %zu characters %zu units", ccases[i].name,
		    pca_sms_encoding_name(c.encoding), c.segments, c.characters, c.units);
		is_int(pca_sms_is_gsm7(s, strlen(s)), ccases[i].enc == PCA_SMS_GSM7,
		    "is_gsm7 agrees with count");
		free(s);
	}
	is_str(pca_sms_encoding_name(PCA_SMS_GSM7), "GSM-7", "encoding name GSM-7");
	is_str(pca_sms_encoding_name(PCA_SMS_UCS2), "UCS-2", "encoding name UCS-2");

	ok(pca_sms_count("ok\xED\xA0\x80", 5, &c, &err) < 0, "count: surrogate bytes fail");
	ok(err.msg && strstr(err.msg, "invalid UTF-8") && strstr(err.msg, "byte 2"),
	    "count: error names the offset (%s)", pca_err_msg(&err));
	pca_err_clear(&err);
}

static int
starts_are(const char *s, const size_t *want, size_t nwant, enum pca_sms_encoding want_enc)
{
	struct pca_err err = PCA_ERR_INIT;
	enum pca_sms_encoding enc;
	size_t *starts = NULL, n = 0, i;
	int good;

	if (pca_sms_split(s, strlen(s), &starts, &n, &enc, &err) < 0) {
		printf("#   %s\n", pca_err_msg(&err));
		pca_err_clear(&err);
		return 0;
	}
	good = n == nwant && enc == want_enc;
	for (i = 0; good && i < n; i++)
		good = starts[i] == want[i];
	if (!good) {
		printf("#   got %zu starts:", n);
		for (i = 0; i < n; i++)
			printf(" %zu", starts[i]);
		printf("\n");
	}
	free(starts);
	return good;
}

#define SPLIT(s, enc, name, ...) do { \
		const size_t want_[] = { __VA_ARGS__ }; \
		ok(starts_are(s, want_, sizeof want_ / sizeof want_[0], enc), "split: %s", name); \
	} while (0)

static void
test_split(void)
{
	char *s, *t, *u;

	SPLIT("", PCA_SMS_GSM7, "empty text is one segment", 0);
	SPLIT("hello", PCA_SMS_GSM7, "short text", 0);
	s = repeat("a", 161, "");
	SPLIT(s, PCA_SMS_GSM7, "161 septets: 153 + 8", 0, 153);
	free(s);
	s = repeat("a", 307, "");
	SPLIT(s, PCA_SMS_GSM7, "307 septets", 0, 153, 306);
	free(s);
	s = repeat("a", 152, EURO "aaaaaaaaaa");
	SPLIT(s, PCA_SMS_GSM7, "escape pair never straddles: 152 + the euro", 0, 152);
	free(s);
	s = repeat("a", 152, "^");
	t = repeat("a", 152, "");
	u = pca_asprintf("%s%s", s, t);
	SPLIT(u, PCA_SMS_GSM7, "caret at 153, then 152 more: three segments", 0, 152, 304);
	free(s);
	free(t);
	free(u);
	s = repeat("\xC3\xA9", 161, "");
	SPLIT(s, PCA_SMS_GSM7, "two-byte GSM characters: offsets in bytes", 0, 306);
	free(s);
	s = repeat(ZHE, 71, "");
	SPLIT(s, PCA_SMS_UCS2, "71 UCS-2: 67 + 4", 0, 134);
	free(s);
	s = repeat(ZHE, 66, GRIN ZHE ZHE ZHE ZHE ZHE);
	SPLIT(s, PCA_SMS_UCS2, "emoji at unit 67 moves whole", 0, 132);
	free(s);
	s = repeat("a", 70, "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7");
	SPLIT(s, PCA_SMS_UCS2, "a ZWJ sequence is not split", 0, 67);
	free(s);
	s = repeat("e\xCC\x81", 40, "");
	SPLIT(s, PCA_SMS_UCS2, "e + acute pairs stay together", 0, 99);
	free(s);
	s = repeat("\xCC\x81", 80, "");
	SPLIT(s, PCA_SMS_UCS2, "a lone mark run is one cluster: segment 1 stays empty", 0, 0);
	free(s);
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Linear time: 16 MB of ASCII and 2 MB of one mark cluster. A quadratic
 * count would take hours here; the limits are loose for sanitizer builds. */
static void
test_speed(void)
{
	struct pca_err err = PCA_ERR_INIT;
	static const char line[] = "Hello, world! Your call summary is ready.\n";
	struct pca_sms_count c;
	size_t len = 16 << 20, i;
	char *s = pca_malloc(len);
	double t;

	for (i = 0; i < len; i++)
		s[i] = line[i % (sizeof line - 1)];
	t = seconds();
	ok(pca_sms_count(s, len, &c, &err) == 0 && c.encoding == PCA_SMS_GSM7 &&
	    c.units == len, "count: 16 MB of GSM-7 text");
	t = seconds() - t;
	printf("# 16 MB ASCII counted in %.3f s (%.0f MB/s)\n", t, 16 / (t > 0 ? t : 1e-9));
	ok(t < 10, "count: 16 MB of ASCII in under 10 s");
	s[0] = '`';
	t = seconds();
	ok(pca_sms_count(s, len, &c, &err) == 0 && c.encoding == PCA_SMS_UCS2 &&
	    c.units == len, "count: 16 MB that turn out UCS-2");
	t = seconds() - t;
	printf("# 16 MB ASCII as UCS-2 in %.3f s\n", t);
	ok(t < 10, "count: 16 MB as UCS-2 in under 10 s");
	free(s);

	len = 2 << 20;
	s = repeat("\xCC\x81", len / 2, "");
	t = seconds();
	ok(pca_sms_count(s, len, &c, &err) == 0 && c.characters == 1 && c.segments == 2,
	    "count: 2 MB of marks are one character");
	t = seconds() - t;
	ok(t < 10, "count: one huge cluster in linear time (%.3f s)", t);
	free(s);
}

int
main(void)
{
	test_gsm7_tables();
	test_gsm7_membership();
	test_gsm7_errors();
	test_counts();
	test_split();
	test_speed();
	return tap_done();
}
