#include "sms.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"
#include "utf8.h"

/*
 * GSM 03.38 default alphabet, the one source of truth for both directions:
 * the code point of each septet, and of each septet that follows the
 * escape 0x1B. The values are those of Twilio's calculator (UnicodeToGSM):
 * 0x09 is capital C with cedilla, and the calculator knows no other
 * extension characters than these ten.
 */
#define GSM_ESC 0x1B
#define GSM_NONE 0xFFFF /* the escape has no character of its own */

static const uint16_t gsm_basic[128] = {
	0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC,
	0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,
	0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,
	0x03A3, 0x0398, 0x039E, GSM_NONE, 0x00C6, 0x00E6, 0x00DF, 0x00C9,
	0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027,
	0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
	0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
	0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,
	0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
	0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,
	0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
	0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,
	0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
	0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,
	0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
	0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

static const struct gsm_ext {
	uint8_t code;
	uint16_t cp;
} gsm_ext[] = {
	{ 0x0A, 0x000C }, /* form feed */
	{ 0x14, 0x005E }, /* ^ */
	{ 0x28, 0x007B }, /* { */
	{ 0x29, 0x007D }, /* } */
	{ 0x2F, 0x005C }, /* backslash */
	{ 0x3C, 0x005B }, /* [ */
	{ 0x3D, 0x007E }, /* ~ */
	{ 0x3E, 0x005D }, /* ] */
	{ 0x40, 0x007C }, /* | */
	{ 0x65, 0x20AC }, /* euro sign */
};

#define NEXT (sizeof gsm_ext / sizeof gsm_ext[0])

/*
 * The reverse map, built once from the tables above: for a code point
 * below U+0100 an entry (septets << 8 | code), 0 when it has none; the few
 * characters above (Greek capitals, the euro sign) in a short list.
 */
struct gsm_enc {
	uint32_t cp;
	uint16_t val;
};

static uint16_t enc_low[256];
static struct gsm_enc enc_high[128 + NEXT];
static size_t enc_nhigh;
static pthread_once_t enc_once = PTHREAD_ONCE_INIT;

static void
enc_set(uint32_t cp, uint16_t val)
{
	if (cp < 256)
		enc_low[cp] = val;
	else if (enc_nhigh < sizeof enc_high / sizeof enc_high[0])
		enc_high[enc_nhigh++] = (struct gsm_enc){ cp, val };
}

static void
enc_init(void)
{
	size_t i;

	for (i = 0; i < 128; i++)
		if (gsm_basic[i] != GSM_NONE)
			enc_set(gsm_basic[i], (uint16_t)(1 << 8 | i));
	for (i = 0; i < NEXT; i++)
		enc_set(gsm_ext[i].cp, (uint16_t)(2 << 8 | gsm_ext[i].code));
}

/* Septets that cp costs in GSM-7 (0 when it is not in GSM 03.38); the
 * septet code (after the escape for an extension character) in *code. */
static unsigned
gsm_lookup(uint32_t cp, unsigned *code)
{
	uint16_t v = 0;
	size_t i;

	if (cp < 256) {
		v = enc_low[cp];
	} else {
		for (i = 0; i < enc_nhigh; i++)
			if (enc_high[i].cp == cp)
				v = enc_high[i].val;
	}
	if (code)
		*code = v & 0xFF;
	return v >> 8;
}

const char *
pca_sms_encoding_name(enum pca_sms_encoding enc)
{
	return enc == PCA_SMS_GSM7 ? "GSM-7" : "UCS-2";
}

/* One character as the calculator counts it: a grapheme cluster, except
 * that CR LF is two (it splits that cluster back into its characters). */
struct cluster {
	size_t end;     /* byte offset just after it */
	size_t units;   /* UTF-16 code units */
	unsigned gsm;   /* septets when it is one GSM 03.38 character, else 0 */
};

static void
next_cluster(const char *s, size_t len, size_t pos, struct cluster *c)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, first;
	int32_t cp;

	if (p[pos] < 0x80 && (pos + 1 == len || p[pos + 1] < 0x80 || p[pos] == '\r')) {
		c->end = pos + 1;
		c->units = 1;
		c->gsm = enc_low[p[pos]] >> 8;
		return;
	}
	c->end = pca_utf8_grapheme_end(s, len, pos);
	first = pos;
	cp = pca_utf8_next(s, len, &first);
	c->gsm = first == c->end && cp >= 0 ? gsm_lookup((uint32_t)cp, NULL) : 0;
	c->units = 0;
	for (i = pos; i < c->end; i++) {
		/* a lead byte starts a unit, a 4-byte one a surrogate pair */
		c->units += (p[i] & 0xC0) != 0x80;
		c->units += p[i] >= 0xF0;
	}
}

bool
pca_sms_is_gsm7(const char *s, size_t len)
{
	struct cluster c;
	size_t pos = 0;

	pthread_once(&enc_once, enc_init);
	while (pos < len) {
		next_cluster(s, len, pos, &c);
		if (!c.gsm)
			return false;
		pos = c.end;
	}
	return true;
}

/*
 * Filling segments the way the calculator does, in bits: a segment holds
 * 1120; a character that does not fit opens a new segment, which starts
 * with a 48-bit User Data Header. When the second segment opens, the
 * first gets its header too, and the characters that no longer fit in it
 * move to the second, which then takes the new character without another
 * check. So the first segment keeps the longest prefix of at most
 * 1120 - 48 bits (keep_*), and a single character larger than a segment
 * leaves the first segment empty; both are the calculator's behaviour.
 */
#define SEG_BITS 1120
#define UDH_BITS 48

struct packer {
	size_t segments;
	size_t used;            /* bits in the current segment, header included */
	size_t keep_bits;       /* first segment: bits of the prefix it keeps */
	size_t keep_end;        /* ... and the byte offset where that prefix ends */
	size_t *starts;         /* when not NULL, record segment starts */
	size_t nstarts, cap;
};

static void
pk_start(struct packer *pk, size_t at)
{
	if (!pk->starts)
		return;
	if (pk->nstarts == pk->cap) {
		pk->cap = pk->cap ? pk->cap * 2 : 8;
		pk->starts = pca_reallocarray(pk->starts, pk->cap, sizeof pk->starts[0]);
	}
	pk->starts[pk->nstarts++] = at;
}

static void
pk_add(struct packer *pk, size_t bits, size_t start, size_t end)
{
	if (pk->used + bits <= SEG_BITS) {
		pk->used += bits;
		if (pk->segments == 1 && pk->used <= SEG_BITS - UDH_BITS) {
			pk->keep_bits = pk->used;
			pk->keep_end = end;
		}
		return;
	}
	if (pk->segments == 1) {
		pk_start(pk, pk->keep_end);
		pk->used = UDH_BITS + (pk->used - pk->keep_bits) + bits;
	} else {
		pk_start(pk, start);
		pk->used = UDH_BITS + bits;
	}
	pk->segments++;
}

/* Pack the text as enc; false when enc is GSM-7 and a character is not. */
static bool
pack(const char *s, size_t len, enum pca_sms_encoding enc, struct packer *pk,
	struct pca_sms_count *out)
{
	struct cluster c;
	size_t pos = 0, bits;

	out->encoding = enc;
	out->segments = out->characters = out->units = 0;
	pk->segments = 1;
	pk->used = pk->keep_bits = pk->keep_end = 0;
	pk->nstarts = 0;
	pk_start(pk, 0);
	while (pos < len) {
		next_cluster(s, len, pos, &c);
		if (enc == PCA_SMS_GSM7) {
			if (!c.gsm)
				return false;
			bits = 7 * (size_t)c.gsm;
			out->characters += c.gsm;
			out->units += c.gsm;
		} else {
			bits = 16 * c.units;
			out->characters++;
			out->units += c.units;
		}
		pk_add(pk, bits, pos, c.end);
		pos = c.end;
	}
	out->segments = pk->segments;
	return true;
}

/* GSM-7 is tried first and abandoned at the first character it lacks, so
 * the text is read at most twice after validation. */
static int
count(const char *s, size_t len, struct packer *pk, struct pca_sms_count *out,
	struct pca_err *err)
{
	size_t bad;

	if (!pca_utf8_valid(s, len, &bad))
		return pca_err_set(err, "sms text: invalid UTF-8 at byte %zu", bad);
	pthread_once(&enc_once, enc_init);
	if (!pack(s, len, PCA_SMS_GSM7, pk, out))
		pack(s, len, PCA_SMS_UCS2, pk, out);
	return 0;
}

int
pca_sms_count(const char *s, size_t len, struct pca_sms_count *out, struct pca_err *err)
{
	struct packer pk = { 0 };

	return count(s, len, &pk, out, err);
}

int
pca_sms_split(const char *s, size_t len, size_t **starts, size_t *n,
	enum pca_sms_encoding *enc, struct pca_err *err)
{
	struct packer pk = { 0 };
	struct pca_sms_count c;

	pk.cap = 8;
	pk.starts = pca_reallocarray(NULL, pk.cap, sizeof pk.starts[0]);
	if (count(s, len, &pk, &c, err) < 0) {
		free(pk.starts);
		return -1;
	}
	*starts = pk.starts;
	*n = pk.nstarts;
	if (enc)
		*enc = c.encoding;
	return 0;
}

int
pca_sms_gsm7_encode(const char *s, size_t len, struct pca_buf *out, struct pca_err *err)
{
	size_t pos = 0, at;
	unsigned code, n;
	int32_t cp;

	pthread_once(&enc_once, enc_init);
	while (pos < len) {
		at = pos;
		cp = pca_utf8_next(s, len, &pos);
		if (cp < 0)
			return pca_err_set(err, "gsm-7: invalid UTF-8 at byte %zu", at);
		n = gsm_lookup((uint32_t)cp, &code);
		if (n == 0)
			return pca_err_set(err, "gsm-7: U+%04X at byte %zu is not in GSM 03.38",
			    (unsigned)cp, at);
		if (n == 2)
			pca_buf_addc(out, GSM_ESC);
		pca_buf_addc(out, (char)code);
	}
	return 0;
}

static int32_t
ext_char(unsigned code)
{
	size_t i;

	for (i = 0; i < NEXT; i++)
		if (gsm_ext[i].code == code)
			return gsm_ext[i].cp;
	return -1;
}

int
pca_sms_gsm7_decode(const unsigned char *septets, size_t n, struct pca_buf *out,
	struct pca_err *err)
{
	char u[4];
	int32_t cp;
	size_t i;

	for (i = 0; i < n; i++) {
		if (septets[i] > 0x7F)
			return pca_err_set(err, "gsm-7: septet 0x%02X at %zu is above 0x7F",
			    septets[i], i);
		if (septets[i] != GSM_ESC) {
			cp = gsm_basic[septets[i]];
		} else {
			cp = i + 1 < n ? ext_char(septets[i + 1]) : -1;
			if (cp < 0)
				return pca_err_set(err, "gsm-7: escape at %zu starts no extension character", i);
			i++;
		}
		pca_buf_add(out, u, pca_utf8_put(u, (uint32_t)cp));
	}
	return 0;
}
