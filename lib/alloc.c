#include "alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pca_oom_fn *oom_handler;

void
pca_set_oom_handler(pca_oom_fn *fn)
{
	oom_handler = fn;
}

_Noreturn void
pca_oom(size_t n)
{
	if (oom_handler)
		oom_handler(n);
	abort();
}

void *
pca_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		pca_oom(n);
	return p;
}

void *
pca_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		pca_oom(nmemb * size);
	return p;
}

void *
pca_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		pca_oom(n);
	return q;
}

void *
pca_reallocarray(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > (size_t)-1 / size)
		pca_oom((size_t)-1);
	return pca_realloc(p, nmemb * size);
}

char *
pca_strdup(const char *s)
{
	return pca_memdup(s, strlen(s) + 1);
}

char *
pca_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = pca_malloc(len + 1);
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

void *
pca_memdup(const void *p, size_t n)
{
	void *d = pca_malloc(n);
	if (n)
		memcpy(d, p, n);
	return d;
}

char *
pca_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		pca_oom(0);
	return s;
}
