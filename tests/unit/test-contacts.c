#include "tap.h"

#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "contacts.h"
#include "err.h"

static char *data_dir;
static char tmp_dir[] = "/tmp/pca-test-contacts-XXXXXX";

static char *
data_path(const char *name)
{
	return pca_asprintf("%s/contacts/%s", data_dir, name);
}

/* Write content to a file in the scratch directory; the caller frees the path. */
static char *
tmp_file(const char *name, const char *content, size_t len)
{
	char *path = pca_asprintf("%s/%s", tmp_dir, name);
	FILE *fp = fopen(path, "wb");

	if (!fp || fwrite(content, 1, len, fp) != len || fclose(fp) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
	return path;
}

static struct pca_contacts *
load_ok(const char *path, const char *region, const char *what)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_contacts *c = pca_contacts_load(path, region, &err);

	ok(c != NULL, "%s loads", what);
	if (!c) {
		printf("#   error: %s\n", pca_err_msg(&err));
		pca_err_clear(&err);
		return NULL;
	}
	return c;
}

static void
name_is(const struct pca_contacts *c, const char *e164, const char *want)
{
	const char *got = pca_contacts_lookup(c, e164);

	ok(got && want ? strcmp(got, want) == 0 : got == want, "lookup %s = %s", e164,
		want ? want : "(none)");
	if (!(got && want ? strcmp(got, want) == 0 : got == want))
		printf("#   got \"%s\"\n", got ? got : "(null)");
}

static void
skipped_is(const struct pca_contacts *c, size_t want, unsigned long want_line, const char *what)
{
	unsigned long line = 12345;
	size_t n = pca_contacts_skipped(c, &line);

	ok(n == want && line == want_line, "%s: %zu skipped, first at line %lu", what, want,
		want_line);
	if (n != want || line != want_line)
		printf("#   got %zu, line %lu\n", n, line);
}

/* Loading fails with "<path>:<rest>" (rest starts with ':' or ' '). */
static void
load_fails(const char *path, const char *region, const char *rest)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_contacts *c = pca_contacts_load(path, region, &err);
	char *want = pca_asprintf("%s%s", path, rest);

	ok(c == NULL && err.msg && strcmp(err.msg, want) == 0, "load fails: %s", want);
	if (c || !err.msg || strcmp(err.msg, want) != 0)
		printf("#   got \"%s\"\n", c ? "(loaded)" : pca_err_msg(&err));
	pca_contacts_free(c);
	pca_err_clear(&err);
	free(want);
}

static void
test_csv(void)
{
	char *path = data_path("contacts.csv");
	struct pca_contacts *c = load_ok(path, "US", "contacts.csv");

	if (c) {
		is_int(pca_contacts_count(c), 10, "contacts.csv: 10 entries");
		skipped_is(c, 2, 7, "contacts.csv");
		name_is(c, "+14155550123", "Dana Lee");
		name_is(c, "+14155550142", "Lee, Dana Jr.");
		name_is(c, "+442079460958", "Oliver \"Ollie\" Smith");
		name_is(c, "+447700900123", "Am\xc3\xa9lie Dubois");
		name_is(c, "+4915112345678", "J\xc3\xbcrgen M\xc3\xbcller");
		name_is(c, "+74951234567", "\xd0\x90\xd0\xbd\xd0\xbd\xd0\xb0 "
			"\xd0\x9f\xd0\xb5\xd1\x82\xd1\x80\xd0\xbe\xd0\xb2\xd0\xb0");
		name_is(c, "+8613812345678", "\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e");
		name_is(c, "+819012345678", "\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e");
		name_is(c, "+14155550199", "Sam Roe");
		name_is(c, "+14155550177", "Kim Park");
		name_is(c, "+14155550100", NULL);
		name_is(c, "+1611", NULL);
		name_is(c, "+14155550124", NULL);
	}
	pca_contacts_free(c);

	/* Without a region only the international numbers are kept. */
	c = load_ok(path, NULL, "contacts.csv without region");
	if (c) {
		is_int(pca_contacts_count(c), 7, "contacts.csv without region: 7 entries");
		skipped_is(c, 5, 3, "contacts.csv without region");
		name_is(c, "+14155550123", "Dana Lee");
		name_is(c, "+14155550142", NULL);
		name_is(c, "+4915112345678", "J\xc3\xbcrgen M\xc3\xbcller");
	}
	pca_contacts_free(c);
	free(path);
}

static void
test_csv_name_first(void)
{
	char *path = data_path("name-first.csv");
	struct pca_contacts *c = load_ok(path, "US", "name-first.csv (US)");

	if (c) {
		is_int(pca_contacts_count(c), 1, "name-first.csv (US): 1 entry");
		skipped_is(c, 1, 3, "name-first.csv (US)");
		name_is(c, "+14155550123", "Lee, Dana");
	}
	pca_contacts_free(c);
	c = load_ok(path, "fr", "name-first.csv (fr)");
	if (c) {
		is_int(pca_contacts_count(c), 2, "name-first.csv (fr): 2 entries");
		skipped_is(c, 0, 0, "name-first.csv (fr)");
		name_is(c, "+33612345678", "Chlo\xc3\xa9 Martin");
		name_is(c, "+14155550123", "Lee, Dana");
	}
	pca_contacts_free(c);
	free(path);
}

static void
test_csv_inline(void)
{
	static const char plain[] = "+14155550123,Dana Lee\n+44 20 7946 0958,Oliver Smith";
	static const char inject[] = "number,name\r\n"
		"+14155550123,\"Dana\r\nBcc: evil@example.com\"\r\n"
		"+14155550124,\"Sam\tRoe\xc2\x85" "Jr\xe2\x80\xa8" "III\x7f\"\r\n";
	static const char spaced[] = "  +14155550123  ,  \"Lee, Dana\"  \n\n\n+14155550124,Sam\n";
	static const char extra[] = "+14155550123\n+14155550124,Sam,Roe,extra\n";
	struct pca_contacts *c;
	char *path;

	path = tmp_file("plain.csv", plain, sizeof(plain) - 1);
	c = load_ok(path, NULL, "CSV without header or final newline");
	if (c) {
		is_int(pca_contacts_count(c), 2, "plain.csv: 2 entries");
		name_is(c, "+14155550123", "Dana Lee");
		name_is(c, "+442079460958", "Oliver Smith");
	}
	pca_contacts_free(c);
	free(path);

	path = tmp_file("inject.csv", inject, sizeof(inject) - 1);
	c = load_ok(path, NULL, "CSV with line breaks and controls in names");
	if (c) {
		name_is(c, "+14155550123", "Dana Bcc: evil@example.com");
		name_is(c, "+14155550124", "Sam Roe Jr III");
	}
	pca_contacts_free(c);
	free(path);

	path = tmp_file("spaced.csv", spaced, sizeof(spaced) - 1);
	c = load_ok(path, NULL, "CSV with spaces and blank lines");
	if (c) {
		is_int(pca_contacts_count(c), 2, "spaced.csv: 2 entries");
		skipped_is(c, 0, 0, "spaced.csv");
		name_is(c, "+14155550123", "Lee, Dana");
		name_is(c, "+14155550124", "Sam");
	}
	pca_contacts_free(c);
	free(path);

	path = tmp_file("extra.csv", extra, sizeof(extra) - 1);
	c = load_ok(path, NULL, "CSV with a missing and an extra column");
	if (c) {
		is_int(pca_contacts_count(c), 1, "extra.csv: 1 entry");
		skipped_is(c, 1, 1, "extra.csv");
		name_is(c, "+14155550124", "Sam");
	}
	pca_contacts_free(c);
	free(path);

	path = tmp_file("empty.csv", "", 0);
	c = load_ok(path, "US", "empty file");
	is_int(pca_contacts_count(c), 0, "empty file: no entries");
	skipped_is(c, 0, 0, "empty file");
	pca_contacts_free(c);
	free(path);
}

static void
test_iphone(void)
{
	char *path = data_path("iphone.vcf");
	struct pca_contacts *c = load_ok(path, "US", "iphone.vcf");

	if (c) {
		is_int(pca_contacts_count(c), 9, "iphone.vcf: 9 entries");
		skipped_is(c, 1, 58, "iphone.vcf");
		name_is(c, "+14155550123", "Dana Lee");
		name_is(c, "+14155550124", "Dana Lee");
		name_is(c, "+442079460958", "Dana Lee");
		name_is(c, "+4915112345678", "J\xc3\xbcrgen M\xc3\xbcller");
		name_is(c, "+33612345678", "Am\xc3\xa9lie Dubois");
		name_is(c, "+35315550123", "O'Brien, Siobh\xc3\xa1n");
		name_is(c, "+79161234567", "\xd0\x9f\xd1\x91\xd1\x82\xd1\x80 "
			"\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\xd0\xbe\xd0\xb2");
		name_is(c, "+49301234567", "Maximilian Alexander von Hohenzollern-Sigmaringen");
		name_is(c, "+14155550177", "Acme Plumbing");
	}
	pca_contacts_free(c);
	free(path);
}

static void
test_android(void)
{
	char *path = data_path("android.vcf");
	struct pca_contacts *c = load_ok(path, "US", "android.vcf (US)");

	if (c) {
		is_int(pca_contacts_count(c), 6, "android.vcf (US): 6 entries");
		skipped_is(c, 2, 20, "android.vcf (US)");
		name_is(c, "+14155550123", "Dana Lee");
		name_is(c, "+14155550156", "Dana Lee");
		name_is(c, "+33612345679", "\xc3\x89lodie Lef\xc3\xa8vre");
		name_is(c, "+79167654321", "\xd0\x9e\xd0\xbb\xd1\x8c\xd0\xb3\xd0\xb0 "
			"\xd0\xa1\xd0\xbc\xd0\xb8\xd1\x80\xd0\xbd\xd0\xbe\xd0\xb2\xd0\xb0");
		name_is(c, "+8613987654321", "\xe9\x99\x88\xe9\x9d\x99");
		name_is(c, "+34612345678", "Jos\xc3\xa9 Garc\xc3\xad" "a");
		name_is(c, "+74957654321", NULL);
	}
	pca_contacts_free(c);

	c = load_ok(path, "RU", "android.vcf (RU)");
	if (c) {
		is_int(pca_contacts_count(c), 7, "android.vcf (RU): 7 entries");
		skipped_is(c, 1, 37, "android.vcf (RU)");
		name_is(c, "+74957654321", "\xd0\x9e\xd0\xbb\xd1\x8c\xd0\xb3\xd0\xb0 "
			"\xd0\xa1\xd0\xbc\xd0\xb8\xd1\x80\xd0\xbd\xd0\xbe\xd0\xb2\xd0\xb0");
		name_is(c, "+74155550156", "Dana Lee");
		name_is(c, "+14155550156", NULL);
	}
	pca_contacts_free(c);
	free(path);
}

static void
test_v4(void)
{
	char *path = data_path("v4.vcf");
	struct pca_contacts *c = load_ok(path, "US", "v4.vcf");

	if (c) {
		is_int(pca_contacts_count(c), 5, "v4.vcf: 5 entries");
		skipped_is(c, 0, 0, "v4.vcf");
		name_is(c, "+14155550123", "Dana Lee");
		name_is(c, "+14155550188", "Dana Lee");
		name_is(c, "+819012345679", "\xe5\xb1\xb1\xe7\x94\xb0 \xe8\x8a\xb1\xe5\xad\x90");
		name_is(c, "+84912345678", "Nguy\xe1\xbb\x85n V\xc4\x83n An");
		name_is(c, "+48512345678", "Zo\xc3\xab Kowalska, PhD");
	}
	pca_contacts_free(c);
	free(path);
}

static void
test_vcard_inline(void)
{
	static const char odd[] = "\xef\xbb\xbf\r\n\r\nbegin:vcard\r\n"
		"VERSION:2.1\r\n"
		"FN;QUOTED-PRINTABLE:Jos=C3=A9 =3D Pepe\r\n"
		"TEL;TYPE=\"a:b\";CELL:+1 415 555 0123\r\n"
		"end:vcard\r\n\r\n"
		"BEGIN:VCARD\r\n"
		"FN:Dana\\nBcc: evil@example.com\\\\x\r\n"
		"TEL:+1 415 555 0124\r\n"
		"END:VCARD\r\n"
		"BEGIN:VCARD\n"
		"FN;CHARSET=SHIFT_JIS:\x8e\x52\x93\x63\n"
		"TEL:+81 90 1234 5670\n"
		"END:VCARD\n"
		"BEGIN:VCARD\n"
		"N:Roe;Sam;;;\n"
		"END:VCARD\n"
		"BEGIN:VCARD\n"
		"TEL:+1 415 555 0125\n"
		"END:VCARD\n";
	struct pca_contacts *c;
	char *path = tmp_file("odd.vcf", odd, sizeof(odd) - 1);

	c = load_ok(path, NULL, "vCards with BOM, bare parameters, escapes, Shift_JIS");
	if (c) {
		is_int(pca_contacts_count(c), 3, "odd.vcf: 3 entries");
		skipped_is(c, 1, 21, "odd.vcf (a TEL without any name)");
		name_is(c, "+14155550123", "Jos\xc3\xa9 = Pepe");
		name_is(c, "+14155550124", "Dana Bcc: evil@example.com\\x");
		name_is(c, "+819012345670", "\xe5\xb1\xb1\xe7\x94\xb0");
	}
	pca_contacts_free(c);
	free(path);
}

static void
test_big(void)
{
	struct pca_buf b = PCA_BUF_INIT;
	struct pca_contacts *c;
	char *path;
	int found = 0;

	for (int i = 0; i < 20000; i++)
		pca_buf_addf(&b, "+1 415 2%02d %04d,Name %d\n", i / 10000, i % 10000, i);
	path = tmp_file("big.csv", b.data, b.len);
	c = load_ok(path, NULL, "20000 contacts");
	for (int i = 0; c && i < 20000; i++) {
		char num[16], want[16];
		const char *got;

		snprintf(num, sizeof(num), "+14152%02d%04d", i / 10000, i % 10000);
		snprintf(want, sizeof(want), "Name %d", i);
		got = pca_contacts_lookup(c, num);
		found += got && strcmp(got, want) == 0;
	}
	is_int(pca_contacts_count(c), 20000, "big.csv: 20000 entries");
	is_int(found, 20000, "big.csv: every number found with its name");
	name_is(c, "+14152020000", NULL);
	pca_contacts_free(c);
	pca_buf_free(&b);
	free(path);
}

static void
test_errors(void)
{
	static const char after_quote[] = "number,name\n+14155550123,\"Dana\" Lee\n";
	static const char no_end[] = "BEGIN:VCARD\nFN:Dana\nTEL:+14155550123\n";
	static const char stray_end[] = "BEGIN:VCARD\nFN:A\nEND:VCARD\nEND:VCARD\n";
	static const char junk[] = "BEGIN:VCARD\nFN:A\nEND:VCARD\nhello\n";
	static const char utf16[] = "\xff\xfen\0u\0m\0";
	static const char nul[] = "number,name\n+14155550123,Da\0na\n";
	static const char charset[] = "BEGIN:VCARD\nVERSION:2.1\n"
		"FN;CHARSET=X-NOPE;ENCODING=QUOTED-PRINTABLE:abc\nEND:VCARD\n";
	static const char badqp[] = "BEGIN:VCARD\nVERSION:2.1\n"
		"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Ren=C3=28e\nEND:VCARD\n";
	static const char badsjis[] = "BEGIN:VCARD\nFN;CHARSET=SHIFT_JIS:\x8e\nEND:VCARD\n";
	char *p;

	p = data_path("bad-quote.csv");
	load_fails(p, "US", ":3: unterminated quoted field");
	free(p);
	p = data_path("missing-end.vcf");
	load_fails(p, "US", ":6: END:VCARD missing");
	free(p);
	p = data_path("bad-utf8.csv");
	load_fails(p, "US", ":3: invalid UTF-8");
	free(p);
	p = data_path("bad-utf8.vcf");
	load_fails(p, "US", ":3: invalid UTF-8");
	free(p);
	p = data_path("no-such-file.csv");
	load_fails(p, "US", ": No such file or directory");
	free(p);

	p = tmp_file("after-quote.csv", after_quote, sizeof(after_quote) - 1);
	load_fails(p, NULL, ":2: text after closing quote");
	free(p);
	p = tmp_file("no-end.vcf", no_end, sizeof(no_end) - 1);
	load_fails(p, NULL, ":1: END:VCARD missing");
	free(p);
	p = tmp_file("stray-end.vcf", stray_end, sizeof(stray_end) - 1);
	load_fails(p, NULL, ":4: END:VCARD without BEGIN:VCARD");
	free(p);
	p = tmp_file("junk.vcf", junk, sizeof(junk) - 1);
	load_fails(p, NULL, ":4: expected BEGIN:VCARD");
	free(p);
	p = tmp_file("utf16.csv", utf16, sizeof(utf16) - 1);
	load_fails(p, NULL, ":1: UTF-16 text; save the file as UTF-8");
	free(p);
	p = tmp_file("nul.csv", nul, sizeof(nul) - 1);
	load_fails(p, NULL, ":2: NUL byte");
	free(p);
	p = tmp_file("charset.vcf", charset, sizeof(charset) - 1);
	load_fails(p, NULL, ":3: unknown charset \"X-NOPE\"");
	free(p);
	p = tmp_file("badqp.vcf", badqp, sizeof(badqp) - 1);
	load_fails(p, NULL, ":3: invalid UTF-8");
	free(p);
	p = tmp_file("badsjis.vcf", badsjis, sizeof(badsjis) - 1);
	load_fails(p, NULL, ":2: text is not valid SHIFT_JIS");
	free(p);

	{
		struct pca_err err = PCA_ERR_INIT;

		p = data_path("contacts.csv");
		ok(pca_contacts_load(p, "ZZ", &err) == NULL, "load with an unknown region fails");
		is_str(err.msg, "unknown region \"ZZ\"", "unknown region message");
		pca_err_clear(&err);
		free(p);
	}
}

static void
test_null(void)
{
	unsigned long line = 99;

	ok(pca_contacts_lookup(NULL, "+14155550123") == NULL, "lookup in NULL");
	is_int(pca_contacts_count(NULL), 0, "count of NULL");
	is_int(pca_contacts_skipped(NULL, &line), 0, "skipped of NULL");
	is_int(line, 0, "first skipped line of NULL");
	pca_contacts_free(NULL);
	ok(1, "free(NULL) is harmless");
}

static void
cleanup(void)
{
	static const char *const names[] = { "plain.csv", "inject.csv", "spaced.csv",
		"extra.csv", "empty.csv", "odd.vcf", "big.csv", "after-quote.csv", "no-end.vcf",
		"stray-end.vcf", "junk.vcf", "utf16.csv", "nul.csv", "charset.vcf", "badqp.vcf",
		"badsjis.vcf", NULL };

	for (int i = 0; names[i]; i++) {
		char *p = pca_asprintf("%s/%s", tmp_dir, names[i]);

		unlink(p);
		free(p);
	}
	rmdir(tmp_dir);
}

int
main(void)
{
	const char *d = getenv("PCA_TEST_DATA");

	data_dir = pca_strdup(d ? d : "tests/data");
	if (!mkdtemp(tmp_dir)) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	test_csv();
	test_csv_name_first();
	test_csv_inline();
	test_iphone();
	test_android();
	test_v4();
	test_vcard_inline();
	test_big();
	test_errors();
	test_null();
	cleanup();
	free(data_dir);
	return tap_done();
}
