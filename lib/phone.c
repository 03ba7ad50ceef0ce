#include "phone.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Country calling codes assigned by ITU-T (E.164 and its complement), sorted.
 * The codes form a prefix code: no code is a prefix of another, which is
 * what lets a number be split without knowing its length. 379 (Vatican
 * City, assigned but not in service) is kept as assigned. Spare and
 * reserved codes (259, 388, 671, 684, 693-699, 801-807, 969, 997, ...) are
 * left out, so numbers that use them are "unknown".
 */
static const unsigned short calling_codes[] = {
	1, 7,
	20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49,
	51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66,
	81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
	211, 212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228,
	229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242,
	243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 256,
	257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291,
	297, 298, 299,
	350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373,
	374, 375, 376, 377, 378, 379, 380, 381, 382, 383, 385, 386, 387, 389,
	420, 421, 423,
	500, 501, 502, 503, 504, 505, 506, 507, 508, 509, 590, 591, 592, 593,
	594, 595, 596, 597, 598, 599,
	670, 672, 673, 674, 675, 676, 677, 678, 679, 680, 681, 682, 683, 685,
	686, 687, 688, 689, 690, 691, 692,
	/* 800 freephone, 808 shared cost, 870 Inmarsat, 878 personal
	 * telecommunication, 881 satellite, 882/883 international networks,
	 * 888 OCHA disaster relief, 979 premium rate, 991 trial service:
	 * global codes that belong to no region. */
	800, 808, 850, 852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886,
	888,
	960, 961, 962, 963, 964, 965, 966, 967, 968, 970, 971, 972, 973, 974,
	975, 976, 977, 979, 991, 992, 993, 994, 995, 996, 998,
};

/*
 * Regions (ISO 3166-1 alpha-2, plus AC Ascension and TA Tristan da Cunha,
 * which ITU lists apart and libraries treat as regions), their calling code
 * and the national (trunk) prefix dialled before a national number: "0" in
 * most, "1" in the NANP, "8" in some former Soviet states, "06" in Hungary,
 * none where the leading digit belongs to the number (Italy keeps its 0) or
 * where there is no trunk prefix at all. Sorted by region.
 *
 * Some regions list several prefixes, separated by commas, the first being
 * today's; all are stripped from national numbers. Values that changed or
 * vary between sources follow the widely documented plan: Mexico has
 * dialled no prefix since 2019, but contacts saved earlier still carry
 * "01" (fixed lines) or "044"/"045" (mobiles), which are stripped; Belarus
 * dials "8" and then area codes written with a 0 ("8 017" for Minsk, +375
 * 17), so "80" is its prefix in practice and "0" is seen too; LT is
 * moving from "8" to "0" and both are in use; UZ is listed with "8" as in
 * most references. PL, ES, PT, GR, DK, NO, CZ, LU, LV and EE dial no trunk
 * prefix. VA uses +39 and numbers in Rome's 06 range (its own +379 is
 * assigned but not in service); XK uses +383 with trunk 0.
 */
struct region {
	char id[3];
	unsigned short code;
	const char *trunk;
};

static const struct region regions[] = {
	{ "AC", 247, "" }, { "AD", 376, "" }, { "AE", 971, "0" },
	{ "AF", 93, "0" }, { "AG", 1, "1" }, { "AI", 1, "1" },
	{ "AL", 355, "0" }, { "AM", 374, "0" }, { "AO", 244, "" },
	{ "AR", 54, "0" }, { "AS", 1, "1" }, { "AT", 43, "0" },
	{ "AU", 61, "0" }, { "AW", 297, "" }, { "AX", 358, "0" },
	{ "AZ", 994, "0" }, { "BA", 387, "0" }, { "BB", 1, "1" },
	{ "BD", 880, "0" }, { "BE", 32, "0" }, { "BF", 226, "" },
	{ "BG", 359, "0" }, { "BH", 973, "" }, { "BI", 257, "" },
	{ "BJ", 229, "" }, { "BL", 590, "0" }, { "BM", 1, "1" },
	{ "BN", 673, "" }, { "BO", 591, "0" }, { "BQ", 599, "" },
	{ "BR", 55, "0" }, { "BS", 1, "1" }, { "BT", 975, "" },
	{ "BW", 267, "" }, { "BY", 375, "80,8,0" }, { "BZ", 501, "" },
	{ "CA", 1, "1" }, { "CC", 61, "0" }, { "CD", 243, "0" },
	{ "CF", 236, "" }, { "CG", 242, "" }, { "CH", 41, "0" },
	{ "CI", 225, "" }, { "CK", 682, "" }, { "CL", 56, "" },
	{ "CM", 237, "" }, { "CN", 86, "0" }, { "CO", 57, "0" },
	{ "CR", 506, "" }, { "CU", 53, "0" }, { "CV", 238, "" },
	{ "CW", 599, "" }, { "CX", 61, "0" }, { "CY", 357, "" },
	{ "CZ", 420, "" }, { "DE", 49, "0" }, { "DJ", 253, "" },
	{ "DK", 45, "" }, { "DM", 1, "1" }, { "DO", 1, "1" },
	{ "DZ", 213, "0" }, { "EC", 593, "0" }, { "EE", 372, "" },
	{ "EG", 20, "0" }, { "EH", 212, "0" }, { "ER", 291, "0" },
	{ "ES", 34, "" }, { "ET", 251, "0" }, { "FI", 358, "0" },
	{ "FJ", 679, "" }, { "FK", 500, "" }, { "FM", 691, "" },
	{ "FO", 298, "" }, { "FR", 33, "0" }, { "GA", 241, "" },
	{ "GB", 44, "0" }, { "GD", 1, "1" }, { "GE", 995, "0" },
	{ "GF", 594, "0" }, { "GG", 44, "0" }, { "GH", 233, "0" },
	{ "GI", 350, "" }, { "GL", 299, "" }, { "GM", 220, "" },
	{ "GN", 224, "" }, { "GP", 590, "0" }, { "GQ", 240, "" },
	{ "GR", 30, "" }, { "GT", 502, "" }, { "GU", 1, "1" },
	{ "GW", 245, "" }, { "GY", 592, "" }, { "HK", 852, "" },
	{ "HN", 504, "" }, { "HR", 385, "0" }, { "HT", 509, "" },
	{ "HU", 36, "06" }, { "ID", 62, "0" }, { "IE", 353, "0" },
	{ "IL", 972, "0" }, { "IM", 44, "0" }, { "IN", 91, "0" },
	{ "IO", 246, "" }, { "IQ", 964, "0" }, { "IR", 98, "0" },
	{ "IS", 354, "" }, { "IT", 39, "" }, { "JE", 44, "0" },
	{ "JM", 1, "1" }, { "JO", 962, "0" }, { "JP", 81, "0" },
	{ "KE", 254, "0" }, { "KG", 996, "0" }, { "KH", 855, "0" },
	{ "KI", 686, "0" }, { "KM", 269, "" }, { "KN", 1, "1" },
	{ "KP", 850, "0" }, { "KR", 82, "0" }, { "KW", 965, "" },
	{ "KY", 1, "1" }, { "KZ", 7, "8" }, { "LA", 856, "0" },
	{ "LB", 961, "0" }, { "LC", 1, "1" }, { "LI", 423, "0" },
	{ "LK", 94, "0" }, { "LR", 231, "0" }, { "LS", 266, "" },
	{ "LT", 370, "0,8" }, { "LU", 352, "" }, { "LV", 371, "" },
	{ "LY", 218, "0" }, { "MA", 212, "0" }, { "MC", 377, "0" },
	{ "MD", 373, "0" }, { "ME", 382, "0" }, { "MF", 590, "0" },
	{ "MG", 261, "0" }, { "MH", 692, "1" }, { "MK", 389, "0" },
	{ "ML", 223, "" }, { "MM", 95, "0" }, { "MN", 976, "0" },
	{ "MO", 853, "" }, { "MP", 1, "1" }, { "MQ", 596, "0" },
	{ "MR", 222, "" }, { "MS", 1, "1" }, { "MT", 356, "" },
	{ "MU", 230, "" }, { "MV", 960, "" }, { "MW", 265, "0" },
	{ "MX", 52, "044,045,01" }, { "MY", 60, "0" }, { "MZ", 258, "" },
	{ "NA", 264, "0" }, { "NC", 687, "" }, { "NE", 227, "" },
	{ "NF", 672, "" }, { "NG", 234, "0" }, { "NI", 505, "" },
	{ "NL", 31, "0" }, { "NO", 47, "" }, { "NP", 977, "0" },
	{ "NR", 674, "" }, { "NU", 683, "" }, { "NZ", 64, "0" },
	{ "OM", 968, "" }, { "PA", 507, "" }, { "PE", 51, "0" },
	{ "PF", 689, "" }, { "PG", 675, "" }, { "PH", 63, "0" },
	{ "PK", 92, "0" }, { "PL", 48, "" }, { "PM", 508, "0" },
	{ "PR", 1, "1" }, { "PS", 970, "0" }, { "PT", 351, "" },
	{ "PW", 680, "" }, { "PY", 595, "0" }, { "QA", 974, "" },
	{ "RE", 262, "0" }, { "RO", 40, "0" }, { "RS", 381, "0" },
	{ "RU", 7, "8" }, { "RW", 250, "0" }, { "SA", 966, "0" },
	{ "SB", 677, "" }, { "SC", 248, "" }, { "SD", 249, "0" },
	{ "SE", 46, "0" }, { "SG", 65, "" }, { "SH", 290, "" },
	{ "SI", 386, "0" }, { "SJ", 47, "" }, { "SK", 421, "0" },
	{ "SL", 232, "0" }, { "SM", 378, "" }, { "SN", 221, "" },
	{ "SO", 252, "0" }, { "SR", 597, "" }, { "SS", 211, "0" },
	{ "ST", 239, "" }, { "SV", 503, "" }, { "SX", 1, "1" },
	{ "SY", 963, "0" }, { "SZ", 268, "" }, { "TA", 290, "" },
	{ "TC", 1, "1" }, { "TD", 235, "" }, { "TG", 228, "" },
	{ "TH", 66, "0" }, { "TJ", 992, "" }, { "TK", 690, "" },
	{ "TL", 670, "" }, { "TM", 993, "8" }, { "TN", 216, "" },
	{ "TO", 676, "" }, { "TR", 90, "0" }, { "TT", 1, "1" },
	{ "TV", 688, "" }, { "TW", 886, "0" }, { "TZ", 255, "0" },
	{ "UA", 380, "0" }, { "UG", 256, "0" }, { "US", 1, "1" },
	{ "UY", 598, "0" }, { "UZ", 998, "8" }, { "VA", 39, "" },
	{ "VC", 1, "1" }, { "VE", 58, "0" }, { "VG", 1, "1" },
	{ "VI", 1, "1" }, { "VN", 84, "0" }, { "VU", 678, "" },
	{ "WF", 681, "" }, { "WS", 685, "" }, { "XK", 383, "0" },
	{ "YE", 967, "0" }, { "YT", 262, "0" }, { "ZA", 27, "0" },
	{ "ZM", 260, "0" }, { "ZW", 263, "0" },
};

#define NREGIONS (sizeof(regions) / sizeof(regions[0]))
#define NCODES (sizeof(calling_codes) / sizeof(calling_codes[0]))

/* National significant numbers shorter than this are service and short
 * codes; the shortest subscriber numbers in use (Niue, Tokelau) have 4. */
#define NSN_MIN 4
/* Digits kept while scanning: room for an exit code in front of 15. */
#define SCAN_MAX 20

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
pca_phone_is_e164(const char *s)
{
	size_t n;

	if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	for (n = 1; is_digit(s[n]); n++)
		;
	return s[n] == '\0' && n >= 3 && n <= PCA_E164_MAX;
}

static bool
known_code(int code)
{
	size_t lo = 0, hi = NCODES;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (calling_codes[mid] == code)
			return true;
		if (calling_codes[mid] < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The calling code at the start of a digit string of length n. */
static int
code_prefix(const char *d, size_t n, int *digits)
{
	for (int len = 3; len >= 1; len--) {
		int code = 0;

		if ((size_t)len > n)
			continue;
		for (int i = 0; i < len; i++)
			code = code * 10 + (d[i] - '0');
		if (d[0] != '0' && known_code(code)) {
			*digits = len;
			return code;
		}
	}
	*digits = 0;
	return 0;
}

int
pca_phone_calling_code(const char *e164, int *digits)
{
	int dummy;
	size_t n;

	if (!digits)
		digits = &dummy;
	*digits = 0;
	if (!e164 || e164[0] != '+')
		return 0;
	for (n = 0; is_digit(e164[1 + n]); n++)
		;
	return code_prefix(e164 + 1, n, digits);
}

static const struct region *
find_region(const char *id)
{
	if (!id || strlen(id) != 2)
		return NULL;
	for (size_t i = 0; i < NREGIONS; i++)
		if (strncasecmp(regions[i].id, id, 2) == 0)
			return &regions[i];
	return NULL;
}

/* The first region of a code: shared codes (+1, +7, +44, +262, ...) have
 * the same trunk prefix in all their regions. */
static const struct region *
region_of_code(int code)
{
	for (size_t i = 0; i < NREGIONS; i++)
		if (regions[i].code == code)
			return &regions[i];
	return NULL;
}

int
pca_phone_region_calling_code(const char *region)
{
	const struct region *r = find_region(region);

	return r ? r->code : 0;
}

/* Walk the comma-separated trunk prefixes of a region. */
static bool
next_trunk(const char **t, const char **p, size_t *len)
{
	if (**t == '\0')
		return false;
	*p = *t;
	*len = strcspn(*t, ",");
	*t += *len;
	if (**t == ',')
		(*t)++;
	return true;
}

/* Length of the trunk prefix of region r that d starts with, 0 if none.
 * Only taken when digits remain after it. */
static size_t
trunk_len(const struct region *r, const char *d, size_t n)
{
	const char *t = r->trunk, *p;
	size_t len;

	while (next_trunk(&t, &p, &len))
		if (n > len && strncmp(d, p, len) == 0)
			return len;
	return 0;
}

/* Whether prefix is one of the trunk prefixes of region r. */
static bool
trunk_has(const struct region *r, const char *prefix)
{
	const char *t = r ? r->trunk : "", *p;
	size_t len;

	while (next_trunk(&t, &p, &len))
		if (len == strlen(prefix) && strncmp(p, prefix, len) == 0)
			return true;
	return false;
}

/*
 * Scanning: the digits of a number as typed, with the separators people and
 * phones put between them dropped, and what follows the number proper
 * (";ext=", ";phone-context=", "," pauses, "x12", "ext. 12") cut off.
 */
struct scan {
	char d[SCAN_MAX];
	size_t n;
	bool plus;
	bool too_long;
};

/* Length of a visual separator at p, 0 if none. */
static size_t
separator_len(const char *p)
{
	static const char *const wide[] = {
		"\xc2\xa0",     /* no-break space */
		"\xe2\x80\x89", /* thin space */
		"\xe2\x80\xaf", /* narrow no-break space */
		"\xe2\x80\x90", /* hyphen */
		"\xe2\x80\x91", /* non-breaking hyphen */
		"\xe2\x80\x93", /* en dash */
	};

	if (*p && strchr(" \t.-()/", *p))
		return 1;
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		if (strncmp(p, wide[i], strlen(wide[i])) == 0)
			return strlen(wide[i]);
	return 0;
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* "x12", "ext12", "ext. 12", "extension 12" up to the end of the string. */
static bool
is_extension(const char *p)
{
	static const char *const marks[] = { "extension", "ext", "x" };
	size_t i, len;

	for (i = 0; i < 3; i++) {
		len = strlen(marks[i]);
		if (strncasecmp(p, marks[i], len) == 0 && !is_alpha(p[len]))
			break;
	}
	if (i == 3)
		return false;
	p += len;
	while (*p == '.' || *p == ' ' || *p == ':' || *p == '=')
		p++;
	if (!is_digit(*p))
		return false;
	while (is_digit(*p) || *p == ' ')
		p++;
	return *p == '\0';
}

/* One character (or sequence) of the number; returns how far to advance,
 * 0 to stop at the end of the number, -1 on error. */
static int
scan_step(const char *p, struct scan *sc, struct pca_err *err)
{
	size_t sep;

	if (is_digit(*p)) {
		if (sc->n < SCAN_MAX)
			sc->d[sc->n++] = *p;
		else
			sc->too_long = true;
		return 1;
	}
	if (*p == '+') {
		if (sc->plus || sc->n > 0)
			return pca_err_set(err, "misplaced + in phone number");
		sc->plus = true;
		return 1;
	}
	/* "+44 (0)20 7946 0958": the trunk prefix shown for national callers,
	 * after an international number's calling code. */
	if (sc->n > 0 && (sc->plus || sc->d[0] == '0') && strncmp(p, "(0)", 3) == 0)
		return 3;
	if ((sep = separator_len(p)) > 0)
		return (int)sep;
	if ((*p == ';' || *p == ',') && sc->n > 0)
		return 0;
	if (is_alpha(*p)) {
		if (sc->n > 0 && is_extension(p))
			return 0;
		return pca_err_set(err, "letters in phone number");
	}
	return pca_err_set(err, "not a phone number");
}

static int
scan_number(const char *s, struct scan *sc, struct pca_err *err)
{
	const char *p = s;
	int step;

	memset(sc, 0, sizeof(*sc));
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "tel:", 4) == 0)
		p += 4;
	while (*p) {
		if ((step = scan_step(p, sc, err)) < 0)
			return -1;
		if (step == 0)
			break;
		p += step;
	}
	if (sc->too_long)
		return pca_err_set(err, "phone number too long");
	if (sc->n == 0)
		return pca_err_set(err, sc->plus || *p ? "not a phone number" : "empty phone number");
	return 0;
}

/* NANP numbers are NXX NXX XXXX: area code and exchange start with 2-9. */
static int
check_nanp(const char *nsn, size_t n, struct pca_err *err)
{
	if (n != 10)
		return pca_err_set(err, "wrong length for a NANP number");
	if (nsn[0] < '2' || nsn[3] < '2')
		return pca_err_set(err, "invalid NANP area or exchange code");
	return 0;
}

/* Write "+", code and national significant number after the checks that
 * hold for every number. */
static int
emit(int code, int code_digits, const char *nsn, size_t n, char *out, struct pca_err *err)
{
	if (code == 1 && check_nanp(nsn, n, err) < 0)
		return -1;
	if (n < NSN_MIN)
		return pca_err_set(err, "phone number too short");
	if ((size_t)code_digits + n > PCA_E164_MAX - 1)
		return pca_err_set(err, "phone number too long");
	out[0] = '+';
	for (int i = code_digits - 1, c = code; i >= 0; i--, c /= 10)
		out[1 + i] = (char)('0' + c % 10);
	memcpy(out + 1 + code_digits, nsn, n);
	out[1 + code_digits + n] = '\0';
	return 0;
}

/* Digits that start with the calling code. */
static int
international(const char *d, size_t n, char *out, struct pca_err *err)
{
	const struct region *r;
	int code, digits;

	if (n == 0 || d[0] == '0')
		return pca_err_set(err, "not a phone number");
	code = code_prefix(d, n, &digits);
	if (!code)
		return pca_err_set(err, "unknown country calling code");
	d += digits;
	n -= (size_t)digits;
	/* "+49 0151 ...": a trunk 0 kept by mistake, where numbers never
	 * start with 0 (Italy's do, and it has no trunk prefix). */
	r = region_of_code(code);
	if (n > 0 && d[0] == '0' && trunk_has(r, "0"))
		d++, n--;
	return emit(code, digits, d, n, out, err);
}

static int
national(const char *d, size_t n, const struct region *r, char *out, struct pca_err *err)
{
	size_t tlen = trunk_len(r, d, n);
	int digits = r->code >= 100 ? 3 : r->code >= 10 ? 2 : 1;

	return emit(r->code, digits, d + tlen, n - tlen, out, err);
}

int
pca_phone_normalize(const char *s, const char *default_region, char *out,
	struct pca_err *err)
{
	const struct region *r;
	struct scan sc;

	if (!s)
		return pca_err_set(err, "empty phone number");
	if (scan_number(s, &sc, err) < 0)
		return -1;
	if (sc.plus) {
		/* "+00 44 ...": both ways of writing the exit at once. */
		if (sc.n >= 2 && sc.d[0] == '0' && sc.d[1] == '0')
			return international(sc.d + 2, sc.n - 2, out, err);
		return international(sc.d, sc.n, out, err);
	}
	/* "00" dials out everywhere it matters, and no national number starts
	 * with it, so it is taken as "+" whatever the region. */
	if (sc.n >= 2 && sc.d[0] == '0' && sc.d[1] == '0')
		return international(sc.d + 2, sc.n - 2, out, err);
	r = find_region(default_region);
	/* 011 is the NANP exit code; elsewhere it can be a trunk 0 and an area
	 * code (0114 is Sheffield), so only NANP regions or no region read it
	 * as "+". Likewise 8 10 is the old exit code where the trunk is 8. */
	if (sc.n > 3 && strncmp(sc.d, "011", 3) == 0 && (!default_region || (r && r->code == 1)))
		return international(sc.d + 3, sc.n - 3, out, err);
	if (trunk_has(r, "8") && sc.n > 3 && strncmp(sc.d, "810", 3) == 0)
		return international(sc.d + 3, sc.n - 3, out, err);
	if (!default_region)
		return pca_err_set(err, "national number but no default region");
	if (!r)
		return pca_err_set(err, "unknown region \"%s\"", default_region);
	return national(sc.d, sc.n, r, out, err);
}

/*
 * Display. Groups follow the national conventions of the most common
 * regions, and a plain rule elsewhere; the last group of a pattern takes
 * whatever digits remain. It is not libphonenumber, but it is
 * deterministic:
 *   +1:  "415 555 0123" (10 digits)
 *   +44: 2x "20 7946 0958"; 11x and 1x1 "121 496 0123"; other 1 and 7
 *        "1632 960123", "7700 900123"; 3, 8, 9 "800 123 4567"
 *   +49: mobile 15x-17x "151 12345678"; 30, 40, 69, 89 "30 1234567";
 *        area codes whose third digit is 1 "211 1234567"; else 4 digits
 *        "2331 123456" (German area codes are 2-5 digits; this is the
 *        usual case, not a table of them)
 *   +33: "6 12 34 56 78" (9 digits)
 *   else groups of three from the left, where a length of 3k+1 ends with
 *        a group of four and 3k+2 starts with a group of two:
 *        "123 456 7890", "12 345 678", "123 456 789".
 */
static void
add_pattern(struct pca_buf *out, const char *d, const int *sizes)
{
	size_t n = strlen(d), at = 0;

	for (int i = 0; at < n; i++) {
		size_t take = sizes[i] ? (size_t)sizes[i] : n - at;

		if (take > n - at)
			take = n - at;
		if (at)
			pca_buf_addc(out, ' ');
		pca_buf_add(out, d + at, take);
		at += take;
	}
}

static void
add_generic(struct pca_buf *out, const char *d)
{
	size_t n = strlen(d), at = 0, take;

	take = n % 3 == 2 ? 2 : 3;
	while (at < n) {
		if (n - at <= 4)
			take = n - at;
		if (at)
			pca_buf_addc(out, ' ');
		pca_buf_add(out, d + at, take);
		at += take;
		take = 3;
	}
}

static const int *
pattern_gb(const char *d, size_t n)
{
	static const int p244[] = { 2, 4, 0 }, p334[] = { 3, 3, 0 }, p4[] = { 4, 0 };

	if (d[0] == '2' && n == 10)
		return p244;
	if (d[0] == '1')
		return d[1] == '1' || d[2] == '1' ? p334 : p4;
	if (d[0] == '7')
		return p4;
	if (d[0] == '3' || d[0] == '8' || d[0] == '9')
		return p334;
	return NULL;
}

static const int *
pattern_de(const char *d, size_t n)
{
	static const int p2[] = { 2, 0 }, p3[] = { 3, 0 }, p4[] = { 4, 0 };

	if (n < 6)
		return NULL;
	if (d[0] == '1' && d[1] >= '5' && d[1] <= '7')
		return p3;
	if (strncmp(d, "30", 2) == 0 || strncmp(d, "40", 2) == 0 ||
	    strncmp(d, "69", 2) == 0 || strncmp(d, "89", 2) == 0)
		return p2;
	return d[2] == '1' ? p3 : p4;
}

static const int *
pattern_for(int code, const char *d)
{
	static const int nanp[] = { 3, 3, 0 }, fr[] = { 1, 2, 2, 2, 0 };
	size_t n = strlen(d);

	switch (code) {
	case 1:
		return n == 10 ? nanp : NULL;
	case 33:
		return n == 9 ? fr : NULL;
	case 44:
		return n >= 9 ? pattern_gb(d, n) : NULL;
	case 49:
		return pattern_de(d, n);
	default:
		return NULL;
	}
}

void
pca_phone_format(struct pca_buf *out, const char *e164)
{
	const int *pattern;
	const char *nsn;
	int code, digits;

	if (!pca_phone_is_e164(e164) || !(code = pca_phone_calling_code(e164, &digits))) {
		pca_buf_adds(out, e164 ? e164 : "");
		return;
	}
	nsn = e164 + 1 + digits;
	pca_buf_addf(out, "+%d", code);
	if (*nsn == '\0')
		return;
	pca_buf_addc(out, ' ');
	if ((pattern = pattern_for(code, nsn)))
		add_pattern(out, nsn, pattern);
	else
		add_generic(out, nsn);
}

/*
 * Redaction keeps enough to tell numbers apart in a log and not enough to
 * dial: "+", the calling code, up to three leading digits of the national
 * number, "***", the last four. At least three digits are always hidden, so
 * the leading digits are 3 from 10 national digits up, 2 at 9, 1 at 8.
 * Shorter national numbers show only their last half ("+683***02"): there
 * four digits would be most of the number. The stars are always three, so
 * the redacted form does not tell the length either.
 */
void
pca_phone_redact(struct pca_buf *out, const char *e164)
{
	const char *nsn;
	size_t n, lead, tail;
	int digits;

	if (!pca_phone_is_e164(e164)) {
		pca_buf_adds(out, "***");
		return;
	}
	/* An unknown code is treated as part of the national digits. */
	pca_phone_calling_code(e164, &digits);
	nsn = e164 + 1 + digits;
	n = strlen(nsn);
	if (n >= 8) {
		tail = 4;
		lead = n - 7 < 3 ? n - 7 : 3;
	} else {
		tail = n / 2;
		lead = 0;
	}
	pca_buf_add(out, e164, 1 + (size_t)digits + lead);
	pca_buf_adds(out, "***");
	pca_buf_add(out, nsn + n - tail, tail);
}
