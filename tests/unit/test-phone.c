#include "tap.h"

#include "alloc.h"
#include "buf.h"
#include "err.h"
#include "phone.h"

static void
test_is_e164(void)
{
	ok(pca_phone_is_e164("+14155550123"), "is_e164: NANP number");
	ok(pca_phone_is_e164("+12"), "is_e164: 2 digits is the minimum");
	ok(pca_phone_is_e164("+141555501234567"), "is_e164: 15 digits is the maximum");
	ok(!pca_phone_is_e164("+1415555012345678"), "is_e164: 16 digits");
	ok(!pca_phone_is_e164("+1"), "is_e164: 1 digit");
	ok(!pca_phone_is_e164("+0123456"), "is_e164: leading 0");
	ok(!pca_phone_is_e164("14155550123"), "is_e164: no +");
	ok(!pca_phone_is_e164("+1 415 555 0123"), "is_e164: spaces");
	ok(!pca_phone_is_e164("+1415555012a"), "is_e164: letter");
	ok(!pca_phone_is_e164("+14155550123\n"), "is_e164: trailing newline");
	ok(!pca_phone_is_e164(""), "is_e164: empty");
	ok(!pca_phone_is_e164(NULL), "is_e164: NULL");
}

static void
code_is(const char *e164, int want, int want_digits)
{
	int digits = -1, got = pca_phone_calling_code(e164, &digits);

	ok(got == want && digits == want_digits, "calling_code %s = %d (%d digits)", e164, want,
		want_digits);
	if (got != want || digits != want_digits)
		printf("#   got %d (%d digits)\n", got, digits);
}

static void
test_calling_code(void)
{
	code_is("+14155550123", 1, 1);
	code_is("+79161234567", 7, 1);
	code_is("+442079460958", 44, 2);
	code_is("+4915112345678", 49, 2);
	code_is("+8613812345678", 86, 2);
	code_is("+27211234567", 27, 2);
	code_is("+35312345678", 353, 3);
	code_is("+358401234567", 358, 3);
	code_is("+380441234567", 380, 3);
	code_is("+971501234567", 971, 3);
	code_is("+2111234567", 211, 3);
	code_is("+3831234567", 383, 3);
	code_is("+80012345678", 800, 3);
	code_is("+2591234567", 0, 0);
	code_is("+6931234567", 0, 0);
	code_is("14155550123", 0, 0);
	code_is("", 0, 0);
	is_int(pca_phone_calling_code("+3361234", NULL), 33, "calling_code: digits may be NULL");
	is_int(pca_phone_calling_code(NULL, NULL), 0, "calling_code: NULL");
}

static void
test_region_code(void)
{
	is_int(pca_phone_region_calling_code("US"), 1, "region US");
	is_int(pca_phone_region_calling_code("us"), 1, "region us (case)");
	is_int(pca_phone_region_calling_code("CA"), 1, "region CA");
	is_int(pca_phone_region_calling_code("PR"), 1, "region PR (NANP)");
	is_int(pca_phone_region_calling_code("DE"), 49, "region DE");
	is_int(pca_phone_region_calling_code("GB"), 44, "region GB");
	is_int(pca_phone_region_calling_code("JE"), 44, "region JE");
	is_int(pca_phone_region_calling_code("FR"), 33, "region FR");
	is_int(pca_phone_region_calling_code("KZ"), 7, "region KZ");
	is_int(pca_phone_region_calling_code("AE"), 971, "region AE");
	is_int(pca_phone_region_calling_code("XK"), 383, "region XK");
	is_int(pca_phone_region_calling_code("ZW"), 263, "region ZW (last)");
	is_int(pca_phone_region_calling_code("AC"), 247, "region AC (first)");
	is_int(pca_phone_region_calling_code("ZZ"), 0, "region ZZ");
	is_int(pca_phone_region_calling_code("USA"), 0, "region USA");
	is_int(pca_phone_region_calling_code("U"), 0, "region U");
	is_int(pca_phone_region_calling_code(""), 0, "region empty");
	is_int(pca_phone_region_calling_code(NULL), 0, "region NULL");
}

static void
norm_is(const char *in, const char *region, const char *want)
{
	struct pca_err err = PCA_ERR_INIT;
	char out[PCA_E164_MAX + 1] = "";
	int rc = pca_phone_normalize(in, region, out, &err);

	ok(rc == 0 && strcmp(out, want) == 0, "normalize \"%s\" (%s) = %s", in,
		region ? region : "no region", want);
	if (rc != 0 || strcmp(out, want) != 0)
		printf("#   rc %d, got \"%s\", error \"%s\"\n", rc, out, pca_err_msg(&err));
	pca_err_clear(&err);
}

static void
norm_fails(const char *in, const char *region, const char *want_err)
{
	struct pca_err err = PCA_ERR_INIT;
	char out[PCA_E164_MAX + 1] = "";
	int rc = pca_phone_normalize(in, region, out, &err);

	ok(rc == -1 && err.msg && strcmp(err.msg, want_err) == 0,
		"normalize \"%s\" (%s) fails: %s", in ? in : "NULL", region ? region : "no region",
		want_err);
	if (rc != -1 || !err.msg || strcmp(err.msg, want_err) != 0)
		printf("#   rc %d, out \"%s\", error \"%s\"\n", rc, out, pca_err_msg(&err));
	pca_err_clear(&err);
}

static void
test_normalize_international(void)
{
	norm_is("+14155550123", NULL, "+14155550123");
	norm_is("+1 (415) 555-0123", NULL, "+14155550123");
	norm_is("  +1 415 555 0123  ", "US", "+14155550123");
	norm_is("tel:+1-415-555-0123", NULL, "+14155550123");
	norm_is("TEL:+1-415-555-0123;ext=123", NULL, "+14155550123");
	norm_is("tel:+44-20-7946-0958;phone-context=example.com", NULL, "+442079460958");
	norm_is("+1.415.555.0123", "DE", "+14155550123");
	norm_is("00 44 20 7946 0958", NULL, "+442079460958");
	norm_is("00 44 20 7946 0958", "US", "+442079460958");
	norm_is("0044 20 7946 0958", "DE", "+442079460958");
	norm_is("011 44 20 7946 0958", "US", "+442079460958");
	norm_is("011 44 20 7946 0958", NULL, "+442079460958");
	norm_is("011 44 20 7946 0958", "CA", "+442079460958");
	norm_is("+00 44 20 7946 0958", NULL, "+442079460958");
	norm_is("+44 (0)20 7946 0958", NULL, "+442079460958");
	norm_is("+44 (0) 20 7946 0958", "GB", "+442079460958");
	norm_is("0044 (0)20 7946 0958", "FR", "+442079460958");
	norm_is("(+44) 20 7946 0958", NULL, "+442079460958");
	norm_is("+49 0151 12345678", NULL, "+4915112345678");
	norm_is("+39 02 1234 5678", NULL, "+390212345678");
	norm_is("+7 495 123-45-67", NULL, "+74951234567");
	norm_is("+353 86 123 4567", NULL, "+353861234567");
	norm_is("+971 50 123 4567", NULL, "+971501234567");
	norm_is("+86 138 1234 5678", NULL, "+8613812345678");
	norm_is("+380 44 123 4567", NULL, "+380441234567");
	norm_is("+358 40 123 4567", NULL, "+358401234567");
	norm_is("+683 4002", NULL, "+6834002");
	norm_is("+4915112345678", "ZZ", "+4915112345678");
}

static void
test_normalize_separators(void)
{
	norm_is("415\xc2\xa0" "555\xc2\xa0" "0123", "US", "+14155550123");
	norm_is("+44\xe2\x80\xaf" "20\xe2\x80\xaf" "7946\xe2\x80\xaf" "0958", NULL, "+442079460958");
	norm_is("415\xe2\x80\x91" "555\xe2\x80\x93" "0123", "US", "+14155550123");
	norm_is("415/555-0123", "US", "+14155550123");
	norm_is("415.555.0123", "US", "+14155550123");
	norm_is("415\t555 0123", "US", "+14155550123");
	norm_is("415 555 0123 x123", "US", "+14155550123");
	norm_is("415-555-0123x12", "US", "+14155550123");
	norm_is("415-555-0123 ext. 12", "US", "+14155550123");
	norm_is("415-555-0123 EXT 12", "US", "+14155550123");
	norm_is("415-555-0123 extension 7", "US", "+14155550123");
	norm_is("415-555-0123;ext=99", "US", "+14155550123");
	norm_is("4155550123,,1234#", "US", "+14155550123");
}

static void
test_normalize_national(void)
{
	norm_is("(415) 555-0123", "US", "+14155550123");
	norm_is("415 555 0123", "us", "+14155550123");
	norm_is("1-415-555-0123", "US", "+14155550123");
	norm_is("1 (415) 555-0123", "CA", "+14155550123");
	norm_is("(876) 555-0123", "JM", "+18765550123");
	norm_is("0151 12345678", "DE", "+4915112345678");
	norm_is("030 1234567", "DE", "+49301234567");
	norm_is("030/1234567", "de", "+49301234567");
	norm_is("(030) 123 45 67", "DE", "+49301234567");
	norm_is("020 7946 0958", "GB", "+442079460958");
	norm_is("07700 900123", "GB", "+447700900123");
	norm_is("0114 496 0123", "GB", "+441144960123");
	norm_is("0114 496 0123", "JE", "+441144960123");
	norm_is("06 12 34 56 78", "FR", "+33612345678");
	norm_is("06.12.34.56.78", "FR", "+33612345678");
	norm_is("06 1234 5678", "IT", "+390612345678");
	norm_is("312 345 6789", "IT", "+393123456789");
	norm_is("8 (495) 123-45-67", "RU", "+74951234567");
	norm_is("(495) 123-45-67", "RU", "+74951234567");
	norm_is("8 10 49 30 1234567", "RU", "+49301234567");
	norm_is("8 017 123 45 67", "BY", "+375171234567");
	norm_is("06 1 234 5678", "HU", "+3612345678");
	norm_is("55 1234 5678", "MX", "+525512345678");
	norm_is("044 55 1234 5678", "MX", "+525512345678");
	norm_is("01 55 1234 5678", "MX", "+525512345678");
	norm_is("8 612 34567", "LT", "+37061234567");
	norm_is("0 612 34567", "LT", "+37061234567");
	norm_is("612 345 678", "ES", "+34612345678");
	norm_is("512 345 678", "PL", "+48512345678");
	norm_is("090-1234-5678", "JP", "+819012345678");
	norm_is("0412 345 678", "AU", "+61412345678");
	norm_is("050 123 4567", "AE", "+971501234567");
}

static void
test_normalize_errors(void)
{
	norm_fails("(415) 555-0123", NULL, "national number but no default region");
	norm_fails("415 555 0123", "ZZ", "unknown region \"ZZ\"");
	norm_fails("415 555 0123", "USA", "unknown region \"USA\"");
	norm_fails("1-800-FLOWERS", "US", "letters in phone number");
	norm_fails("415 555 0123 abc", "US", "letters in phone number");
	norm_fails("x123", "US", "letters in phone number");
	norm_fails("Dana Lee", "US", "letters in phone number");
	norm_fails("mailto:dana@example.com", "US", "letters in phone number");
	norm_fails("", "US", "empty phone number");
	norm_fails("   ", "US", "empty phone number");
	norm_fails("tel:", NULL, "empty phone number");
	norm_fails(NULL, "US", "empty phone number");
	norm_fails("+", NULL, "not a phone number");
	norm_fails("*86", "US", "not a phone number");
	norm_fails("#31#", "US", "not a phone number");
	norm_fails(";ext=1", "US", "not a phone number");
	norm_fails("\xef\xbc\x95\xef\xbc\x95\xef\xbc\x95", "US", "not a phone number");
	norm_fails("+0 1234 5678", NULL, "not a phone number");
	norm_fails("+1 415 +555", NULL, "misplaced + in phone number");
	norm_fails("415+5550123", "US", "misplaced + in phone number");
	norm_fails("611", "US", "wrong length for a NANP number");
	norm_fails("555-0123", "US", "wrong length for a NANP number");
	norm_fails("+1 415 555 012", NULL, "wrong length for a NANP number");
	norm_fails("+1 415 555 01234", NULL, "wrong length for a NANP number");
	norm_fails("+1 015 555 0123", NULL, "invalid NANP area or exchange code");
	norm_fails("+1 415 155 0123", NULL, "invalid NANP area or exchange code");
	norm_fails("112", "DE", "phone number too short");
	norm_fails("0044", NULL, "phone number too short");
	norm_fails("+49 151", NULL, "phone number too short");
	norm_fails("+999 1234567", NULL, "unknown country calling code");
	norm_fails("+259 1234567", NULL, "unknown country calling code");
	norm_fails("+44 20 7946 0958 1234 5678", NULL, "phone number too long");
	norm_fails("0151 1234567890123456789", "DE", "phone number too long");
}

static void
test_normalize_huge(void)
{
	struct pca_err err = PCA_ERR_INIT;
	char out[PCA_E164_MAX + 1];
	size_t n = 1 << 20;
	char *s = pca_malloc(n + 2);

	s[0] = '+';
	memset(s + 1, '7', n);
	s[n + 1] = '\0';
	is_int(pca_phone_normalize(s, NULL, out, &err), -1, "normalize: a megabyte of digits");
	is_str(err.msg, "phone number too long", "normalize: a megabyte of digits is too long");
	free(s);
	pca_err_clear(&err);
}

static void
fmt_is(const char *e164, const char *want)
{
	struct pca_buf b = PCA_BUF_INIT;

	pca_phone_format(&b, e164);
	is_str(pca_buf_cstr(&b), want, e164 ? e164 : "format NULL");
	pca_buf_free(&b);
}

static void
test_format(void)
{
	struct pca_buf b = PCA_BUF_INIT;

	fmt_is("+14155550123", "+1 415 555 0123");
	fmt_is("+18765550123", "+1 876 555 0123");
	fmt_is("+442079460958", "+44 20 7946 0958");
	fmt_is("+447700900123", "+44 7700 900123");
	fmt_is("+441214960123", "+44 121 496 0123");
	fmt_is("+441144960123", "+44 114 496 0123");
	fmt_is("+441632960123", "+44 1632 960123");
	fmt_is("+448001234567", "+44 800 123 4567");
	fmt_is("+4915112345678", "+49 151 12345678");
	fmt_is("+491701234567", "+49 170 1234567");
	fmt_is("+49301234567", "+49 30 1234567");
	fmt_is("+49891234567", "+49 89 1234567");
	fmt_is("+492111234567", "+49 211 1234567");
	fmt_is("+4923311234567", "+49 2331 1234567");
	fmt_is("+33612345678", "+33 6 12 34 56 78");
	fmt_is("+33142345678", "+33 1 42 34 56 78");
	fmt_is("+353861234567", "+353 861 234 567");
	fmt_is("+390612345678", "+39 061 234 5678");
	fmt_is("+74951234567", "+7 495 123 4567");
	fmt_is("+6512345678", "+65 12 345 678");
	fmt_is("+3541234567", "+354 123 4567");
	fmt_is("+6834002", "+683 4002");
	fmt_is("+29012345", "+290 12 345");
	fmt_is("+8613812345678", "+86 13 812 345 678");
	fmt_is("+12", "+1 2");
	fmt_is("+44", "+44");
	fmt_is("+2591234567", "+2591234567");
	fmt_is("4155550123", "4155550123");
	fmt_is(NULL, "");

	pca_buf_adds(&b, "Dana Lee (");
	pca_phone_format(&b, "+14155550123");
	pca_buf_addc(&b, ')');
	is_str(pca_buf_cstr(&b), "Dana Lee (+1 415 555 0123)", "format appends to the buffer");
	pca_buf_free(&b);
}

static void
redact_is(const char *e164, const char *want)
{
	struct pca_buf b = PCA_BUF_INIT;

	pca_phone_redact(&b, e164);
	is_str(pca_buf_cstr(&b), want, e164 ? e164 : "redact NULL");
	pca_buf_free(&b);
}

static void
test_redact(void)
{
	redact_is("+14155550123", "+1415***0123");
	redact_is("+442079460958", "+44207***0958");
	redact_is("+4915112345678", "+49151***5678");
	redact_is("+8613812345678", "+86138***5678");
	redact_is("+33612345678", "+3361***5678");
	redact_is("+4512345678", "+451***5678");
	redact_is("+3541234567", "+354***567");
	redact_is("+35312345", "+353***45");
	redact_is("+6834002", "+683***02");
	redact_is("+12", "+1***");
	redact_is("+2591234567", "+259***4567");
	redact_is("415-555-0123", "***");
	redact_is("", "***");
	redact_is(NULL, "***");
}

int
main(void)
{
	test_is_e164();
	test_calling_code();
	test_region_code();
	test_normalize_international();
	test_normalize_separators();
	test_normalize_national();
	test_normalize_errors();
	test_normalize_huge();
	test_format();
	test_redact();
	return tap_done();
}
