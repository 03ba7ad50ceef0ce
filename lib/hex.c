#include "hex.h"

int
pca_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
pca_hex_write(char *out, const void *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *u = p;

	for (size_t i = 0; i < n; i++) {
		*out++ = digits[u[i] >> 4];
		*out++ = digits[u[i] & 15];
	}
	*out = '\0';
}

void
pca_hex_append(struct pca_buf *b, const void *p, size_t n)
{
	pca_buf_grow(b, 2 * n);
	pca_hex_write(b->data + b->len, p, n);
	b->len += 2 * n;
}
