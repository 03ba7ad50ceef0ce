/* The user's saved contacts: number -> name, read from a CSV or vCard file as
 * phones and address books export them. */
#ifndef PCA_CONTACTS_H
#define PCA_CONTACTS_H

#include <stddef.h>

#include "err.h"

struct pca_contacts;

/* Load `path`. The format is chosen by the file's content: a file starting
 * with BEGIN:VCARD (after an optional BOM) is vCard 2.1/3.0/4.0 (folded lines,
 * escaped characters, several TEL per card, FN or else N for the name,
 * quoted-printable and charset parameters of 2.1); anything else is CSV with
 * "number,name" per line, an optional header line, RFC 4180 quoting.
 * Every number is normalised to E.164 with default_region (see phone.h).
 * Entries whose number cannot be normalised are skipped and counted, not
 * errors: phones export short codes and voicemail numbers. Errors (unreadable
 * file, malformed CSV quoting, a card without END:VCARD, invalid UTF-8) name
 * the file and line: "contacts.vcf:17: END:VCARD missing". */
struct pca_contacts *pca_contacts_load(const char *path, const char *default_region,
	struct pca_err *err);

/* The name saved for an E.164 number, or NULL. When a number is saved twice
 * the first entry wins. */
const char *pca_contacts_lookup(const struct pca_contacts *c, const char *e164);

size_t pca_contacts_count(const struct pca_contacts *c);
/* How many entries were skipped, and the line of the first (0 if none). */
size_t pca_contacts_skipped(const struct pca_contacts *c, unsigned long *first_line);

void pca_contacts_free(struct pca_contacts *c);

#endif
