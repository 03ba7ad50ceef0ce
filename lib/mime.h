/* Internet message pieces: RFC 5322 headers and dates, RFC 2047 encoded
 * words, quoted-printable bodies, mailbox parsing.
 *
 * Everything written ends lines in CRLF and folds header lines at 78
 * columns where folding white space allows. Nothing written ever contains a
 * bare CR, a bare LF or a NUL inside a header: values carrying them have those
 * bytes turned into spaces first.
 */
#ifndef PCA_MIME_H
#define PCA_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct pca_mailbox {
	char *name; /* display name, UTF-8, or NULL */
	char *addr; /* addr-spec: local@domain */
};

/* Parse one mailbox as a person writes it in a configuration file:
 *   owner@acme.example
 *   Acme Calls <calls@acme.example>
 *   "Lee, Dana" <dana@example.com>
 *   José García <jose@example.es>      (UTF-8 display name)
 * The addr-spec must be local@domain with a dot-atom or quoted-string local
 * part and a domain of LDH labels (or a UTF-8 IDN label). CR, LF, NUL,
 * unbalanced quotes or angle brackets and a missing @ are errors that say
 * what is wrong. */
int pca_mailbox_parse(const char *s, struct pca_mailbox *mb, struct pca_err *err);
void pca_mailbox_free(struct pca_mailbox *mb);

/* "Name: value" for an unstructured field (Subject). Words that are not
 * printable ASCII are RFC 2047 encoded-words (charset UTF-8, Q or B, whichever
 * is shorter), at most 75 characters each, never splitting a UTF-8 sequence;
 * adjacent encoded words are separated only by folding white space. */
void pca_mime_header_text(struct pca_buf *out, const char *name, const char *value, size_t len);

/* "Name: mbox, mbox" for From, To, Cc, Reply-To. Display names that need it
 * become quoted-strings (ASCII) or encoded-words (non-ASCII). */
void pca_mime_header_mailboxes(struct pca_buf *out, const char *name,
	const struct pca_mailbox *mbs, size_t n);

/* "Name: value" for a value that is already valid header text (ASCII,
 * e.g. Message-ID, List-Id), folded at white space when long. */
void pca_mime_header_raw(struct pca_buf *out, const char *name, const char *value);

/* Quoted-printable (RFC 2045 6.7) for UTF-8 text whose lines end in LF or
 * CRLF: output lines end in CRLF and are at most 76 characters; '=' and
 * non-ASCII bytes are encoded, white space before a line break is encoded,
 * a line "From " or a lone "." is protected, soft breaks never split an
 * =XX triplet. */
void pca_mime_qp_encode(struct pca_buf *out, const char *s, size_t len);
/* Decode quoted-printable (soft breaks removed, CRLF kept as CRLF). */
int pca_mime_qp_decode(struct pca_buf *out, const char *s, size_t len, struct pca_err *err);

/* Decode a header value that may hold RFC 2047 encoded words (UTF-8 or
 * US-ASCII charset, Q or B) and unfold it. For tests and fuzzing. */
int pca_mime_header_decode(struct pca_buf *out, const char *s, size_t len, struct pca_err *err);

/* RFC 5322 date-time in UTC: "Sat, 28 Nov 2026 11:13:25 +0000". */
void pca_mime_date(struct pca_buf *out, int64_t unix_seconds);

#endif
