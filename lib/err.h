/* Errors that the library returns instead of printing.
 *
 * A failing function returns -1 (or NULL) and fills a struct pca_err with a
 * message that names the place and the problem, without the program's name:
 * "caller.number: not an E.164 number". The program adds "pca-x: file:line: "
 * in front. `code` is a short machine-readable class ("dns", "timeout",
 * "smtp_550", ...) for the places that record errors in data; it may be NULL.
 *
 * A struct pca_err starts zeroed (PCA_ERR_INIT) and is reusable after
 * pca_err_clear().
 */
#ifndef PCA_ERR_H
#define PCA_ERR_H

#define PCA_ERR_INIT { 0 }

struct pca_err {
	char *msg;
	char *code;
};

/* Replace the error. Always returns -1 so a caller can `return pca_err_set(...)`. */
int pca_err_set(struct pca_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with a machine-readable code. */
int pca_err_setc(struct pca_err *e, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Put "<prefix>: " in front of the current message (e.g. a field path). Returns -1. */
int pca_err_prefix(struct pca_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message, or "unknown error" when none was set. */
const char *pca_err_msg(const struct pca_err *e);
void pca_err_clear(struct pca_err *e);
/* Move src into dst (dst cleared first); src becomes empty. */
void pca_err_move(struct pca_err *dst, struct pca_err *src);

#endif
