/* SMS text: GSM 03.38 (GSM-7) and UCS-2 encodings, segment counting and
 * splitting, counted exactly as Twilio's message segment calculator counts
 * (npm sms-segments-calculator, smart encoding off):
 *
 * - the text is split into grapheme clusters;
 * - it is GSM-7 when every cluster is a single character of the GSM 03.38
 *   basic table or extension table, UCS-2 otherwise;
 * - a segment holds 1120 bits; once there are two or more segments each one
 *   gives 48 bits to the User Data Header: 160/153 septets, 70/67 UTF-16 units;
 * - a GSM-7 extension character costs two septets (escape + code), a
 *   character outside the BMP two UTF-16 units, a cluster all its units;
 * - a cluster is never split across segments, so a segment may end short
 *   (an escape pair or an emoji never straddles two segments).
 */
#ifndef PCA_SMS_H
#define PCA_SMS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

enum pca_sms_encoding {
	PCA_SMS_GSM7,
	PCA_SMS_UCS2,
};

struct pca_sms_count {
	enum pca_sms_encoding encoding;
	size_t segments;   /* 1 for an empty text, as Twilio says */
	size_t characters; /* Twilio's "characters": septets for GSM-7, clusters for UCS-2 */
	size_t units;      /* septets (GSM-7) or UTF-16 code units (UCS-2) */
};

/* "GSM-7" or "UCS-2". */
const char *pca_sms_encoding_name(enum pca_sms_encoding enc);

/* Count a UTF-8 text. Fails only when the text is not valid UTF-8. */
int pca_sms_count(const char *s, size_t len, struct pca_sms_count *out, struct pca_err *err);

/* True when the text would be sent as GSM-7. s must be valid UTF-8. */
bool pca_sms_is_gsm7(const char *s, size_t len);

/* Split into segments as the count does. On success *starts is a new array
 * of *n byte offsets, the first 0, each the start of one segment. */
int pca_sms_split(const char *s, size_t len, size_t **starts, size_t *n,
	enum pca_sms_encoding *enc, struct pca_err *err);

/* GSM-7 septets, one per byte (0x00-0x7F, unpacked), extension characters as
 * 0x1B then their code. Fails on a character that is not in GSM 03.38. */
int pca_sms_gsm7_encode(const char *s, size_t len, struct pca_buf *out, struct pca_err *err);
/* The inverse: unpacked septets back to UTF-8. Fails on a septet above 0x7F
 * or an escape that starts no extension character. */
int pca_sms_gsm7_decode(const unsigned char *septets, size_t n, struct pca_buf *out,
	struct pca_err *err);

#endif
