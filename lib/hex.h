/* Hexadecimal digits, both ways: read one (percent and quoted-printable
 * escapes, JSON \u escapes, signatures) and write bytes as lowercase hex
 * (digests in logs and headers). */
#ifndef PCA_HEX_H
#define PCA_HEX_H

#include <stddef.h>

#include "buf.h"

/* The value of hex digit c, either case, or -1. */
int pca_hex_value(int c);

/* p[0..n) as 2n lowercase hex digits into out, then a NUL (2n + 1 bytes). */
void pca_hex_write(char *out, const void *p, size_t n);

/* The same, appended to b. */
void pca_hex_append(struct pca_buf *b, const void *p, size_t n);

#endif
