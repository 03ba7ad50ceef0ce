#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "utf8.h"

struct vcase {
	const char *name;
	const char *s;
	size_t len;
	int valid;
	size_t bad_at;
};

#define V(name, lit, valid, at) { name, lit, sizeof(lit) - 1, valid, at }

static const struct vcase vcases[] = {
	V("empty", "", 1, 0),
	V("ascii", "hello, world", 1, 0),
	V("U+0080", "\xC2\x80", 1, 0),
	V("U+07FF", "\xDF\xBF", 1, 0),
	V("U+0800", "\xE0\xA0\x80", 1, 0),
	V("U+D7FF", "\xED\x9F\xBF", 1, 0),
	V("U+E000", "\xEE\x80\x80", 1, 0),
	V("U+FFFF", "\xEF\xBF\xBF", 1, 0),
	V("U+10000", "\xF0\x90\x80\x80", 1, 0),
	V("U+10FFFF", "\xF4\x8F\xBF\xBF", 1, 0),
	V("NUL inside", "a\0b", 1, 0),
	V("overlong slash (2 bytes)", "\xC0\xAF", 0, 0),
	V("overlong C1", "ab\xC1\xBF", 0, 2),
	V("overlong slash (3 bytes)", "\xE0\x80\xAF", 0, 0),
	V("overlong U+07FF (3 bytes)", "\xE0\x9F\xBF", 0, 0),
	V("overlong slash (4 bytes)", "\xF0\x80\x80\xAF", 0, 0),
	V("overlong U+FFFF (4 bytes)", "\xF0\x8F\xBF\xBF", 0, 0),
	V("high surrogate", "x\xED\xA0\x80", 0, 1),
	V("low surrogate", "\xED\xBF\xBF", 0, 0),
	V("surrogate pair as CESU-8", "\xED\xA0\xBD\xED\xB8\x80", 0, 0),
	V("above U+10FFFF", "\xF4\x90\x80\x80", 0, 0),
	V("F5 lead", "\xF5\x80\x80\x80", 0, 0),
	V("5-byte form", "\xF8\x88\x80\x80\x80", 0, 0),
	V("FE", "ok\xFE", 0, 2),
	V("FF", "\xFF", 0, 0),
	V("stray continuation", "a\x80", 0, 1),
	V("truncated 2-byte at end", "abc\xC3", 0, 3),
	V("truncated 3-byte at end", "abc\xE2\x82", 0, 3),
	V("truncated 4-byte at end", "\xF0\x9F\x98", 0, 0),
	V("truncated 3-byte before ascii", "\xE2\x82z", 0, 0),
	V("bad third byte", "\xE2\x82\xC0", 0, 0),
	V("bad fourth byte", "\xF0\x9F\x98\x41", 0, 0),
	V("invalid after a long ascii run", "0123456789abcdefgh\xC3(", 0, 18),
	V("valid after a long ascii run", "0123456789abcdefgh\xC3\xA9 \xE2\x82\xAC", 1, 0),
};

static void
test_valid(void)
{
	size_t i, at;
	bool v;

	for (i = 0; i < sizeof vcases / sizeof vcases[0]; i++) {
		at = (size_t)-1;
		v = pca_utf8_valid(vcases[i].s, vcases[i].len, &at);
		is_int(v, vcases[i].valid, vcases[i].name);
		if (!vcases[i].valid)
			is_int(at, vcases[i].bad_at, vcases[i].name);
	}
	ok(!pca_utf8_valid("\xC0\xAF", 2, NULL), "bad_at may be NULL");
}

static void
test_next(void)
{
	const char *s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xC0z";
	size_t len = strlen(s), pos = 0;

	is_int(pca_utf8_next(s, len, &pos), 'a', "next: ascii");
	is_int(pos, 1, "next: advanced 1");
	is_int(pca_utf8_next(s, len, &pos), 0xE9, "next: U+00E9");
	is_int(pos, 3, "next: advanced 2");
	is_int(pca_utf8_next(s, len, &pos), 0x20AC, "next: U+20AC");
	is_int(pca_utf8_next(s, len, &pos), 0x1F600, "next: U+1F600");
	is_int(pos, 10, "next: advanced 4");
	is_int(pca_utf8_next(s, len, &pos), -1, "next: C0 is invalid");
	is_int(pos, 11, "next: invalid advances one byte");
	is_int(pca_utf8_next(s, len, &pos), 'z', "next: resumes after it");
	is_int(pca_utf8_next(s, len, &pos), -1, "next: at the end");
	is_int(pos, len, "next: does not run past the end");

	pos = 0;
	is_int(pca_utf8_next("\xE2\x82", 2, &pos), -1, "next: truncated");
	is_int(pos, 1, "next: truncated advances one byte");
	pos = 0;
	is_int(pca_utf8_next("\xED\xA0\x80", 3, &pos), -1, "next: surrogate");
}

static void
test_put_roundtrip(void)
{
	char b[4];
	uint32_t cp, bad = 0;
	size_t n, pos, want;

	for (cp = 0; cp <= 0x10FFFF; cp++) {
		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		n = pca_utf8_put(b, cp);
		want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		pos = 0;
		if (n != want || !pca_utf8_valid(b, n, NULL) ||
		    pca_utf8_next(b, n, &pos) != (int32_t)cp || pos != n)
			bad++;
	}
	is_int(bad, 0, "put/next round trip over every scalar value");
	n = pca_utf8_put(b, 0x20AC);
	ok(n == 3 && memcmp(b, "\xE2\x82\xAC", 3) == 0, "put: euro sign bytes");
	n = pca_utf8_put(b, 0xD800);
	ok(n == 3 && memcmp(b, "\xEF\xBF\xBD", 3) == 0, "put: surrogate becomes U+FFFD");
	n = pca_utf8_put(b, 0x110000);
	ok(n == 3 && memcmp(b, "\xEF\xBF\xBD", 3) == 0, "put: above U+10FFFF becomes U+FFFD");
}

static void
test_count(void)
{
	is_int(pca_utf8_count("", 0), 0, "count: empty");
	is_int(pca_utf8_count("hello", 5), 5, "count: ascii");
	is_int(pca_utf8_count("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 10), 4, "count: 1-4 byte forms");
	is_int(pca_utf8_count("0123456789\xD0\xB6\xD0\xB6", 14), 12, "count: long ascii then 2-byte");
	is_int(pca_utf8_count("a\xFF\xC3", 3), 3, "count: each invalid byte counts one");
}

/* Byte offset where each cluster ends, one after the other. */
static int
clusters_are(const char *s, const size_t *ends, size_t n)
{
	size_t len = strlen(s), pos = 0, i;

	for (i = 0; i < n; i++) {
		pos = pca_utf8_grapheme_end(s, len, pos);
		if (pos != ends[i]) {
			printf("#   cluster %zu ends at %zu, want %zu\n", i, pos, ends[i]);
			return 0;
		}
	}
	return pos == len;
}

#define CLUSTERS(s, name, ...) do { \
		const size_t ends_[] = { __VA_ARGS__ }; \
		ok(clusters_are(s, ends_, sizeof ends_ / sizeof ends_[0]), "clusters: %s", name); \
	} while (0)

static void
test_graphemes(void)
{
	CLUSTERS("abc", "ascii", 1, 2, 3);
	CLUSTERS("a\r\nb", "CR LF is one cluster", 1, 3, 4);
	CLUSTERS("\r\r\n", "CR then CR LF", 1, 3);
	CLUSTERS("e\xCC\x81x", "e + combining acute", 3, 4);
	CLUSTERS("e\xCC\x81\xCC\xA7", "e + two marks", 5);
	CLUSTERS("\xCC\x81" "a", "a mark at the start stands alone", 2, 3);
	CLUSTERS("\n\xCC\x81", "no mark joins LF", 1, 3);
	CLUSTERS("\xF0\x9F\x87\xBA\xF0\x9F\x87\xB8\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7",
	    "two flags", 8, 16);
	CLUSTERS("\xF0\x9F\x87\xBA\xF0\x9F\x87\xB8\xF0\x9F\x87\xAB", "three regional indicators", 8, 12);
	CLUSTERS("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD!", "thumbs up + skin tone", 8, 9);
	CLUSTERS("\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7"
	    "\xE2\x80\x8D\xF0\x9F\x91\xA6", "ZWJ family", 25);
	CLUSTERS("1\xEF\xB8\x8F\xE2\x83\xA3", "keycap", 7);
	CLUSTERS("\xED\x95\x9C\xEA\xB5\xAD\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8",
	    "Hangul syllables and L V T jamo", 3, 6, 15);
	CLUSTERS("\xE0\xA4\xB8\xE0\xA5\x8D\xE0\xA4\xA4\xE0\xA5\x87", "Devanagari virama, vowel sign", 6, 12);
	CLUSTERS("\xD8\x80\xD9\xA1", "Arabic number sign is Prepend", 4);
	CLUSTERS("\xE0\xA4\x95\xE0\xA4\x83", "spacing mark joins", 6);

	/* Where Twilio's calculator (grapheme-splitter, Unicode 10) and
	 * Unicode 14 part; we follow the calculator. */
	CLUSTERS("\xE2\x9D\xA4\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x94\xA5",
	    "heart on fire: U+1F525 does not glue after ZWJ", 9, 13);
	CLUSTERS("\xF0\x9F\x8F\xB3\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x8C\x88",
	    "rainbow flag: U+1F308 glues after ZWJ", 14);
	CLUSTERS("a\xF0\x9F\x8F\xBB", "skin tone after a letter stands alone", 1, 5);
	CLUSTERS("\xF0\x9F\x87\xBA\xF0\x9F\x87\xB8\xCC\x81\xCC\x81",
	    "flag, mark, mark: break before the second mark", 10, 12);
	CLUSTERS("\xF0\x9F\x91\x8D\xEF\xB8\x8F\xEF\xB8\x8F\xF0\x9F\x8F\xBB",
	    "emoji base, two Extends, skin tone: break", 10, 14);
	CLUSTERS("\xF0\x9F\x91\x8D\xEF\xB8\x8F\xF0\x9F\x8F\xBB",
	    "emoji base, one Extend, skin tone: joined", 11);
	CLUSTERS("a\xE2\x80\x8D\xF0\x9F\x91\xA8", "ZWJ glues a man even after a letter", 8);
	CLUSTERS("\xE0\xA2\x98" "a", "U+0898 is not yet a mark", 3, 4);
	CLUSTERS("a\xE0\xA2\x98", "U+0898 is not yet a mark (after a)", 1, 4);

	is_int(pca_utf8_grapheme_end("ab", 2, 2), 2, "grapheme_end at the end returns len");
	is_int(pca_utf8_grapheme_end("a\xFF\xCC\x81", 4, 1), 2, "an invalid byte is a cluster of its own");
}

/* A cluster of a million marks is read once, not once per mark. */
static void
test_long_cluster(void)
{
	size_t n = 1000000, len = 1 + 2 * n, i;
	char *s = malloc(len);

	s[0] = 'e';
	for (i = 0; i < n; i++)
		memcpy(s + 1 + 2 * i, "\xCC\x81", 2);
	is_int(pca_utf8_grapheme_end(s, len, 0), len, "a million combining marks: one cluster");
	free(s);
}

int
main(void)
{
	test_valid();
	test_next();
	test_put_roundtrip();
	test_count();
	test_graphemes();
	test_long_cluster();
	return tap_done();
}
