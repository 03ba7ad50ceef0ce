/* A webhook delivery as somebody saved it, for pca-verify --headers: either
 * a whole HTTP request ("POST /in HTTP/1.1", the headers, a blank line, the
 * body), as a proxy or `nc -l` saves it, or only the header block, with the
 * body kept elsewhere.
 *
 * Lines end in LF or CRLF. An obsolete folded line (leading white space)
 * continues the previous header. The body of a whole request is
 * Content-Length bytes when the request says so (an editor's final newline
 * is then not part of it), else all that follows the blank line; a chunked
 * or otherwise transfer-encoded body is refused, since what was signed is
 * the decoded one.
 */
#ifndef PCA_SAVED_REQUEST_H
#define PCA_SAVED_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "sign.h"

struct pca_saved_header {
	const char *name;       /* into raw, not terminated */
	size_t nlen;
	char *value;            /* trimmed; folded lines joined by a space */
};

struct pca_saved_request {
	const char *name;       /* the file, for errors */
	struct pca_buf raw;
	struct pca_saved_header *h;
	size_t nh;
	bool request_line;      /* it began with a request line */
	bool has_body;          /* a body follows the headers (body, len) */
	const char *body;       /* into raw */
	size_t len;
};

/* Parse the saved text in *raw, which moves into rq (raw is left empty).
 * `name` must outlive rq. On a malformed one, -1 and err ("NAME:4: not a
 * header line ..."); rq must be freed either way. */
int pca_saved_request_parse(struct pca_saved_request *rq, const char *name, struct pca_buf *raw,
	struct pca_err *err);

/* The value of header `name` (any case) in *value, NULL when absent. A
 * header given twice is -1 with err "malformed NAME header (it appears twice
 * in FILE)", code "duplicate": which one was signed is anybody's guess. */
int pca_saved_request_header(const struct pca_saved_request *rq, const char *name,
	const char **value, struct pca_err *err);

/* Fill d's id, timestamp and signature from the headers `scheme` uses:
 * webhook-* (or, when none of those is there, Svix's svix-*) for standard,
 * X-Hub-Signature-256 (or the SHA-1 X-Hub-Signature) for github, the
 * scheme's one header otherwise. -1 as pca_saved_request_header. */
int pca_saved_request_delivery(const struct pca_saved_request *rq, enum pca_scheme scheme,
	struct pca_delivery *d, struct pca_err *err);

void pca_saved_request_free(struct pca_saved_request *rq);

#endif
