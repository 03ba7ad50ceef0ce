#include "utf8.h"

#include <string.h>

#include <unigbrk.h>

/*
 * Grapheme clusters, as Twilio's segment calculator sees them.
 *
 * SMS segment counts must equal those of the npm package
 * sms-segments-calculator, which splits text with grapheme-splitter 1.0.4:
 * UAX #29 of Unicode 10 (with the E_Base / E_Modifier / Glue_After_Zwj
 * emoji classes that Unicode 11 removed), evaluated by a rule function with
 * a few quirks of its own. libunistring implements Unicode 14, whose rules
 * differ exactly on the inputs that matter for SMS: an emoji ZWJ sequence,
 * a skin tone after a non-emoji, a flag followed by marks. So
 * u8_grapheme_next cannot be used; instead libunistring supplies the break
 * property of each code point, corrected by the table below, and
 * gb_breaks() states the calculator's rules.
 *
 * The table lists every code point whose property differs between
 * libunistring 1.0 (Unicode 14) and grapheme-splitter's Unicode 10 data,
 * found by comparing the two over all of U+0000..U+10FFFF; the value is
 * grapheme-splitter's. It holds the four emoji classes (none exist in
 * Unicode 14) and the marks added or reclassified since Unicode 10.
 * tests/cli/test_sms_segments.py compares the resulting clusters with the
 * calculator's for every code point of planes 0, 1 and 14 and a sample of
 * the others, so a libunistring upgrade that moves a property shows up
 * there.
 */
struct gcb_range {
	uint32_t lo, hi;
	int prop;
};

static const struct gcb_range gcb_fix[] = {
	{ 0x07FD, 0x07FD, GBP_OTHER },
	{ 0x0890, 0x0891, GBP_OTHER },
	{ 0x0898, 0x089F, GBP_OTHER },
	{ 0x08CA, 0x08D3, GBP_OTHER },
	{ 0x09FE, 0x09FE, GBP_OTHER },
	{ 0x0B55, 0x0B55, GBP_OTHER },
	{ 0x0C04, 0x0C04, GBP_OTHER },
	{ 0x0C3C, 0x0C3C, GBP_OTHER },
	{ 0x0D81, 0x0D81, GBP_OTHER },
	{ 0x0EBA, 0x0EBA, GBP_OTHER },
	{ 0x1715, 0x1715, GBP_OTHER },
	{ 0x1734, 0x1734, GBP_EXTEND },
	{ 0x180F, 0x180F, GBP_OTHER },
	{ 0x1ABF, 0x1ACE, GBP_OTHER },
	{ 0x1B35, 0x1B35, GBP_SPACINGMARK },
	{ 0x1CF2, 0x1CF3, GBP_SPACINGMARK },
	{ 0x1DFA, 0x1DFA, GBP_OTHER },
	{ 0x261D, 0x261D, GBP_EB },
	{ 0x2640, 0x2640, GBP_GAZ },
	{ 0x2642, 0x2642, GBP_GAZ },
	{ 0x2695, 0x2696, GBP_GAZ },
	{ 0x26F9, 0x26F9, GBP_EB },
	{ 0x2708, 0x2708, GBP_GAZ },
	{ 0x270A, 0x270D, GBP_EB },
	{ 0x2764, 0x2764, GBP_GAZ },
	{ 0xA82C, 0xA82C, GBP_OTHER },
	{ 0xA8FF, 0xA8FF, GBP_OTHER },
	{ 0xA9BD, 0xA9BD, GBP_SPACINGMARK },
	{ 0x10D24, 0x10D27, GBP_OTHER },
	{ 0x10EAB, 0x10EAC, GBP_OTHER },
	{ 0x10F46, 0x10F50, GBP_OTHER },
	{ 0x10F82, 0x10F85, GBP_OTHER },
	{ 0x11070, 0x11070, GBP_OTHER },
	{ 0x11073, 0x11074, GBP_OTHER },
	{ 0x110C2, 0x110C2, GBP_OTHER },
	{ 0x110CD, 0x110CD, GBP_OTHER },
	{ 0x11145, 0x11146, GBP_OTHER },
	{ 0x111C9, 0x111C9, GBP_OTHER },
	{ 0x111CE, 0x111CF, GBP_OTHER },
	{ 0x1133B, 0x1133B, GBP_OTHER },
	{ 0x1145E, 0x1145E, GBP_OTHER },
	{ 0x11720, 0x11721, GBP_SPACINGMARK },
	{ 0x1182C, 0x1183A, GBP_OTHER },
	{ 0x11930, 0x11935, GBP_OTHER },
	{ 0x11937, 0x11938, GBP_OTHER },
	{ 0x1193B, 0x11943, GBP_OTHER },
	{ 0x119D1, 0x119D7, GBP_OTHER },
	{ 0x119DA, 0x119E0, GBP_OTHER },
	{ 0x119E4, 0x119E4, GBP_OTHER },
	{ 0x11A07, 0x11A08, GBP_SPACINGMARK },
	{ 0x11A84, 0x11A85, GBP_OTHER },
	{ 0x11D8A, 0x11D8E, GBP_OTHER },
	{ 0x11D90, 0x11D91, GBP_OTHER },
	{ 0x11D93, 0x11D97, GBP_OTHER },
	{ 0x11EF3, 0x11EF6, GBP_OTHER },
	{ 0x13430, 0x13438, GBP_OTHER },
	{ 0x16F4F, 0x16F4F, GBP_OTHER },
	{ 0x16F7F, 0x16F87, GBP_OTHER },
	{ 0x16FE4, 0x16FE4, GBP_OTHER },
	{ 0x16FF0, 0x16FF1, GBP_OTHER },
	{ 0x1CF00, 0x1CF2D, GBP_OTHER },
	{ 0x1CF30, 0x1CF46, GBP_OTHER },
	{ 0x1E130, 0x1E136, GBP_OTHER },
	{ 0x1E2AE, 0x1E2AE, GBP_OTHER },
	{ 0x1E2EC, 0x1E2EF, GBP_OTHER },
	{ 0x1F308, 0x1F308, GBP_GAZ },
	{ 0x1F33E, 0x1F33E, GBP_GAZ },
	{ 0x1F373, 0x1F373, GBP_GAZ },
	{ 0x1F385, 0x1F385, GBP_EB },
	{ 0x1F393, 0x1F393, GBP_GAZ },
	{ 0x1F3A4, 0x1F3A4, GBP_GAZ },
	{ 0x1F3A8, 0x1F3A8, GBP_GAZ },
	{ 0x1F3C2, 0x1F3C4, GBP_EB },
	{ 0x1F3C7, 0x1F3C7, GBP_EB },
	{ 0x1F3CA, 0x1F3CC, GBP_EB },
	{ 0x1F3EB, 0x1F3EB, GBP_GAZ },
	{ 0x1F3ED, 0x1F3ED, GBP_GAZ },
	{ 0x1F3FB, 0x1F3FF, GBP_EM },
	{ 0x1F442, 0x1F443, GBP_EB },
	{ 0x1F446, 0x1F450, GBP_EB },
	{ 0x1F466, 0x1F469, GBP_EBG },
	{ 0x1F46E, 0x1F46E, GBP_EB },
	{ 0x1F470, 0x1F478, GBP_EB },
	{ 0x1F47C, 0x1F47C, GBP_EB },
	{ 0x1F481, 0x1F483, GBP_EB },
	{ 0x1F485, 0x1F487, GBP_EB },
	{ 0x1F48B, 0x1F48B, GBP_GAZ },
	{ 0x1F4AA, 0x1F4AA, GBP_EB },
	{ 0x1F4BB, 0x1F4BC, GBP_GAZ },
	{ 0x1F527, 0x1F527, GBP_GAZ },
	{ 0x1F52C, 0x1F52C, GBP_GAZ },
	{ 0x1F574, 0x1F575, GBP_EB },
	{ 0x1F57A, 0x1F57A, GBP_EB },
	{ 0x1F590, 0x1F590, GBP_EB },
	{ 0x1F595, 0x1F596, GBP_EB },
	{ 0x1F5E8, 0x1F5E8, GBP_GAZ },
	{ 0x1F645, 0x1F647, GBP_EB },
	{ 0x1F64B, 0x1F64F, GBP_EB },
	{ 0x1F680, 0x1F680, GBP_GAZ },
	{ 0x1F692, 0x1F692, GBP_GAZ },
	{ 0x1F6A3, 0x1F6A3, GBP_EB },
	{ 0x1F6B4, 0x1F6B6, GBP_EB },
	{ 0x1F6C0, 0x1F6C0, GBP_EB },
	{ 0x1F6CC, 0x1F6CC, GBP_EB },
	{ 0x1F918, 0x1F91C, GBP_EB },
	{ 0x1F91E, 0x1F91F, GBP_EB },
	{ 0x1F926, 0x1F926, GBP_EB },
	{ 0x1F930, 0x1F939, GBP_EB },
	{ 0x1F93D, 0x1F93E, GBP_EB },
	{ 0x1F9D1, 0x1F9DD, GBP_EB },
};

/* Length of the strict UTF-8 sequence at p (n bytes available) and its code
 * point, or 0 when the bytes there are not one: an overlong form, a
 * surrogate, a value above U+10FFFF, a stray or missing continuation byte. */
static size_t
decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need, i;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] < 0xC2 || p[0] > 0xF4)
		return 0;
	if (p[0] < 0xE0) {
		need = 2;
		c = p[0] & 0x1F;
	} else if (p[0] < 0xF0) {
		need = 3;
		c = p[0] & 0x0F;
		if (p[0] == 0xE0)
			lo = 0xA0; /* overlong */
		else if (p[0] == 0xED)
			hi = 0x9F; /* surrogates */
	} else {
		need = 4;
		c = p[0] & 0x07;
		if (p[0] == 0xF0)
			lo = 0x90; /* overlong */
		else if (p[0] == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	}
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 1; i < need; i++) {
		if (i > 1 && (p[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3F);
	}
	*cp = c;
	return need;
}

/* True when none of the 8 bytes at p has its high bit set. */
static int
ascii8(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof w);
	return (w & 0x8080808080808080ULL) == 0;
}

bool
pca_utf8_valid(const char *s, size_t len, size_t *bad_at)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if (len - i >= 8 && ascii8(p + i)) {
			i += 8;
			continue;
		}
		n = decode(p + i, len - i, &cp);
		if (n == 0) {
			if (bad_at)
				*bad_at = i;
			return false;
		}
		i += n;
	}
	return true;
}

int32_t
pca_utf8_next(const char *s, size_t len, size_t *pos)
{
	size_t n;
	uint32_t cp;

	if (*pos >= len)
		return -1;
	n = decode((const unsigned char *)s + *pos, len - *pos, &cp);
	if (n == 0) {
		(*pos)++;
		return -1;
	}
	*pos += n;
	return (int32_t)cp;
}

/* A surrogate or a value above U+10FFFF has no UTF-8 form: it is written as
 * U+FFFD so that the output stays valid. */
size_t
pca_utf8_put(char *out, uint32_t cp)
{
	unsigned char *o = (unsigned char *)out;

	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* An invalid byte counts as one, as pca_utf8_next steps over it. */
size_t
pca_utf8_count(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t pos = 0, n = 0;

	while (pos < len) {
		if (len - pos >= 8 && ascii8(p + pos)) {
			pos += 8;
			n += 8;
			continue;
		}
		if (p[pos] < 0x80)
			pos++;
		else
			pca_utf8_next(s, len, &pos);
		n++;
	}
	return n;
}

static int
gcb_prop(uint32_t cp)
{
	size_t lo = 0, hi = sizeof gcb_fix / sizeof gcb_fix[0], mid;

	if (cp >= gcb_fix[0].lo) {
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (cp < gcb_fix[mid].lo)
				hi = mid;
			else if (cp > gcb_fix[mid].hi)
				lo = mid + 1;
			else
				return gcb_fix[mid].prop;
		}
	}
	return uc_graphemeclusterbreak_property(cp);
}

/*
 * What grapheme-splitter's rule function looks at: the first code point's
 * property, the last two, and a few facts about the ones in between ("mid",
 * all code points after the first). It consults the whole cluster, not
 * only the last code point, and so do its quirks; these flags reproduce
 * that in constant space.
 */
struct gb_state {
	int first, prev, prev2; /* prev2 is valid once k >= 1 */
	size_t k;               /* code points after the first */
	bool any_extend;        /* an Extend anywhere, the first included */
	bool mid_ri_run;        /* mid is a run of RIs so far */
	bool mid_ri;            /* mid holds an RI */
	bool mid_ri_leading;    /* ... and all of them lead mid */
};

static void
gb_start(struct gb_state *st, int prop)
{
	st->first = st->prev = prop;
	st->prev2 = GBP_OTHER;
	st->k = 0;
	st->any_extend = prop == GBP_EXTEND;
	st->mid_ri_run = true;
	st->mid_ri = false;
	st->mid_ri_leading = true;
}

static void
gb_add(struct gb_state *st, int p)
{
	st->prev2 = st->prev;
	st->prev = p;
	st->k++;
	st->any_extend = st->any_extend || p == GBP_EXTEND;
	if (p == GBP_RI) {
		st->mid_ri = true;
		if (!st->mid_ri_run)
			st->mid_ri_leading = false;
	}
	st->mid_ri_run = st->mid_ri_run && p == GBP_RI;
}

static bool
is_ebase(int p)
{
	return p == GBP_EB || p == GBP_EBG;
}

/* grapheme-splitter's look-ahead for regional indicators, which runs
 * before GB3 and so overrides GB9: an RI after a lone non-RI starts a new
 * cluster, and once RIs lead mid, anything after a following non-RI,
 * non-Prepend breaks (a flag takes one mark, not two). Its other
 * look-ahead, for skin tones after Extends, never decides anything the
 * later rules would not, so it is left out. */
static bool
gb_lookahead_break(const struct gb_state *st, int e)
{
	if (e == GBP_RI)
		return st->k == 0 && st->first != GBP_PREPEND && st->first != GBP_RI;
	return st->mid_ri && st->mid_ri_leading &&
	    st->prev != GBP_RI && st->prev != GBP_PREPEND;
}

/* GB3..GB9b: controls, Hangul syllables, marks, Prepend. Returns 1 for a
 * break, 0 for none, -1 when these rules do not decide. */
static int
gb_basic(int prev, int e)
{
	if (prev == GBP_CR && e == GBP_LF)
		return 0;
	if (prev == GBP_CONTROL || prev == GBP_CR || prev == GBP_LF)
		return 1;
	if (e == GBP_CONTROL || e == GBP_CR || e == GBP_LF)
		return 1;
	if (prev == GBP_L && (e == GBP_L || e == GBP_V || e == GBP_LV || e == GBP_LVT))
		return 0;
	if ((prev == GBP_LV || prev == GBP_V) && (e == GBP_V || e == GBP_T))
		return 0;
	if ((prev == GBP_LVT || prev == GBP_T) && e == GBP_T)
		return 0;
	if (e == GBP_EXTEND || e == GBP_ZWJ || e == GBP_SPACINGMARK)
		return 0;
	if (prev == GBP_PREPEND)
		return 0;
	return -1;
}

/* True when grapheme-splitter breaks before a code point of property e. */
static bool
gb_breaks(const struct gb_state *st, int e)
{
	int r;

	if (gb_lookahead_break(st, e))
		return true;
	r = gb_basic(st->prev, e);
	if (r >= 0)
		return r;
	/* GB10 as grapheme-splitter tests it: the emoji base must come right
	 * before the modifier or before one Extend, and with no Extend
	 * earlier in the cluster in the first case. */
	if (e == GBP_EM) {
		if (is_ebase(st->prev) && !st->any_extend)
			return false;
		if (st->k >= 1 && st->prev == GBP_EXTEND && is_ebase(st->prev2))
			return false;
	}
	if (st->prev == GBP_ZWJ && (e == GBP_GAZ || e == GBP_EBG))
		return false; /* GB11 of Unicode 10 */
	if (st->mid_ri)
		return true;
	return !(st->prev == GBP_RI && e == GBP_RI);
}

size_t
pca_utf8_grapheme_end(const char *s, size_t len, size_t pos)
{
	const unsigned char *p = (const unsigned char *)s;
	struct gb_state st;
	int32_t cp;
	size_t next;

	if (pos >= len)
		return len;
	/* Between two ASCII characters there is always a break but in CR LF. */
	if (p[pos] < 0x80 && (pos + 1 == len || p[pos + 1] < 0x80))
		return pos + 1 + (p[pos] == '\r' && pos + 1 < len && p[pos + 1] == '\n');
	cp = pca_utf8_next(s, len, &pos);
	if (cp < 0)
		return pos; /* not UTF-8: one byte on its own */
	gb_start(&st, gcb_prop((uint32_t)cp));
	while (pos < len) {
		next = pos;
		cp = pca_utf8_next(s, len, &next);
		if (cp < 0 || gb_breaks(&st, gcb_prop((uint32_t)cp)))
			break;
		gb_add(&st, gcb_prop((uint32_t)cp));
		pos = next;
	}
	return pos;
}
