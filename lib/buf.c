#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "alloc.h"
#include "err.h"

void
pca_buf_init(struct pca_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
pca_buf_free(struct pca_buf *b)
{
	free(b->data);
	pca_buf_init(b);
}

void
pca_buf_reset(struct pca_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
pca_buf_grow(struct pca_buf *b, size_t n)
{
	size_t need, cap;

	if (n > (size_t)-1 - b->len - 1)
		pca_realloc(NULL, (size_t)-1); /* reports out of memory */
	need = b->len + n + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > (size_t)-1 / 2 ? need : cap * 2;
	b->data = pca_realloc(b->data, cap);
	b->cap = cap;
}

void
pca_buf_add(struct pca_buf *b, const void *p, size_t n)
{
	pca_buf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
pca_buf_adds(struct pca_buf *b, const char *s)
{
	pca_buf_add(b, s, strlen(s));
}

void
pca_buf_addc(struct pca_buf *b, char c)
{
	pca_buf_grow(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void
pca_buf_vaddf(struct pca_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	pca_buf_grow(b, 64);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	if (n < 0) {
		va_end(ap2);
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		pca_buf_grow(b, (size_t)n);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	}
	va_end(ap2);
	b->len += (size_t)n;
}

void
pca_buf_addf(struct pca_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pca_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void
pca_buf_truncate(struct pca_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

const char *
pca_buf_cstr(struct pca_buf *b)
{
	return b->data ? b->data : "";
}

char *
pca_buf_detach(struct pca_buf *b, size_t *len)
{
	char *p;

	if (!b->data)
		pca_buf_grow(b, 0), b->data[0] = '\0';
	p = b->data;
	if (len)
		*len = b->len;
	pca_buf_init(b);
	return p;
}

void
pca_buf_wipe(struct pca_buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap);
	pca_buf_free(b);
}

int
pca_buf_read_file(struct pca_buf *b, const char *path, struct pca_err *err)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (!fp)
		return pca_err_set(err, "%s: %s", path, strerror(errno));
	do {
		pca_buf_grow(b, 65536);
		n = fread(b->data + b->len, 1, b->cap - b->len - 1, fp);
		b->len += n;
		b->data[b->len] = '\0';
	} while (n > 0);
	if (ferror(fp)) {
		fclose(fp);
		return pca_err_set(err, "%s: read error", path);
	}
	fclose(fp);
	return 0;
}
