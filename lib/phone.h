/* Telephone numbers: E.164 checks, normalisation of numbers as people and
 * phones write them, display and redaction.
 *
 * E.164 here is "+", a country calling code and a subscriber number, 2 to 15
 * digits in all, the first not 0: ^\+[1-9][0-9]{1,14}$
 */
#ifndef PCA_PHONE_H
#define PCA_PHONE_H

#include <stdbool.h>

#include "buf.h"
#include "err.h"

#define PCA_E164_MAX 16 /* "+" and 15 digits */

bool pca_phone_is_e164(const char *s);

/* Normalise "+1 (415) 555-0123", "tel:+1-415-555-0123", "00 44 20 7946 0958",
 * "011 44 ...", "(415) 555-0123" (national, with default_region "US"), "0151
 * 12345678" (national with trunk prefix 0, region "DE") into E.164, written
 * to out (at least PCA_E164_MAX + 1 bytes). default_region is an ISO 3166-1
 * alpha-2 code or NULL (then national numbers are errors). Errors say why:
 * "not a phone number", "national number but no default region". */
int pca_phone_normalize(const char *s, const char *default_region, char *out,
	struct pca_err *err);

/* The country calling code of an E.164 number (1, 44, 353, ...) and the
 * number of its digits, or 0 when unknown. */
int pca_phone_calling_code(const char *e164, int *digits);

/* The calling code of an ISO 3166-1 alpha-2 region ("US" -> 1), 0 if unknown. */
int pca_phone_region_calling_code(const char *region);

/* For people: "+1 415 555 0123", "+44 20 7946 0958", "+49 151 12345678":
 * the calling code, then the national number in groups. */
void pca_phone_format(struct pca_buf *out, const char *e164);

/* For logs and results: "+1415***0123" -- the calling code and the first
 * digits of the number, three stars, the last four digits. Short numbers keep
 * fewer digits, never more than half of them. */
void pca_phone_redact(struct pca_buf *out, const char *e164);

#endif
