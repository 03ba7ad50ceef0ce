/* A growable byte buffer: the one way the library builds strings of any size.
 *
 * data is always NUL-terminated after any append (data[len] == '\0'), so it can
 * be used as a C string when it holds no NUL bytes. A zeroed struct
 * (PCA_BUF_INIT) is an empty buffer; data may then be NULL until the first append.
 */
#ifndef PCA_BUF_H
#define PCA_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define PCA_BUF_INIT { 0 }

struct pca_buf {
	char *data;
	size_t len;
	size_t cap;
};

void pca_buf_init(struct pca_buf *b);
void pca_buf_free(struct pca_buf *b);
/* Empty it but keep the allocation. */
void pca_buf_reset(struct pca_buf *b);
/* Make room for n more bytes (plus the terminator). */
void pca_buf_grow(struct pca_buf *b, size_t n);
void pca_buf_add(struct pca_buf *b, const void *p, size_t n);
void pca_buf_adds(struct pca_buf *b, const char *s);
void pca_buf_addc(struct pca_buf *b, char c);
void pca_buf_addf(struct pca_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pca_buf_vaddf(struct pca_buf *b, const char *fmt, va_list ap);
/* Shorten to len (no-op when already shorter). */
void pca_buf_truncate(struct pca_buf *b, size_t len);
/* The contents as a C string ("" for an empty buffer). */
const char *pca_buf_cstr(struct pca_buf *b);
/* Hand the allocation to the caller (never NULL); the buffer becomes empty. */
char *pca_buf_detach(struct pca_buf *b, size_t *len);
/* Append a whole file; "path: reason" errors. */
struct pca_err;
int pca_buf_read_file(struct pca_buf *b, const char *path, struct pca_err *err);
/* Overwrite with zeros, then free: for buffers that held secrets. */
void pca_buf_wipe(struct pca_buf *b);

#endif
