/* Mustache templates over json-c values.
 *
 * Conforms to the Mustache specification's required modules (comments,
 * delimiters, interpolation, inverted, partials, sections). A template is
 * compiled once and rendered many times. Escaping is chosen by the caller at
 * render time, per output, never by the template:
 *
 *   PCA_ESCAPE_HTML    {{x}} escapes & " < > ' (text/html parts)
 *   PCA_ESCAPE_NONE    {{x}} is written as it is (SMS, text/plain)
 *   PCA_ESCAPE_HEADER  {{x}} has CR, LF, NUL and other C0 controls turned into
 *                      spaces, so a value can never start a new header line
 *
 * {{{x}}} and {{&x}} are never HTML-escaped, but PCA_ESCAPE_HEADER still
 * applies to them: a header must not be broken by any tag.
 *
 * Truthiness for sections: false, null, "", 0 and [] are false; everything
 * else is true. Objects push themselves, arrays iterate.
 *
 * Ownership: the library borrows `ctx`; it never keeps a reference after
 * render returns.
 */
#ifndef PCA_TEMPLATE_H
#define PCA_TEMPLATE_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "err.h"

enum pca_escape {
	PCA_ESCAPE_NONE,
	PCA_ESCAPE_HTML,
	PCA_ESCAPE_HEADER,
};

/* Finds a partial's source by name. Returns 1 and sets *src and *len when found,
 * 0 when there is no such partial (it then renders as nothing, as the spec
 * says). The source must stay valid until pca_template_render returns. */
typedef int pca_partial_fn(void *ud, const char *name, const char **src, size_t *len);

struct pca_template;

/* Compile src (UTF-8, any length, may contain NUL bytes). `name` is used in
 * errors: "sms.mustache:3:14: unclosed section \"summary\"". */
struct pca_template *pca_template_compile(const char *src, size_t len, const char *name,
	struct pca_err *err);

/* Append the rendering to `out`. Fails only on a broken partial (syntax
 * error, or nesting deeper than 64). */
int pca_template_render(const struct pca_template *t, json_object *ctx, enum pca_escape esc,
	pca_partial_fn *partials, void *ud, struct pca_buf *out, struct pca_err *err);

void pca_template_free(struct pca_template *t);

#endif
