#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static char *
vformat(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		return pca_strdup("out of memory formatting an error");
	return s;
}

int
pca_err_set(struct pca_err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	free(e->msg);
	va_start(ap, fmt);
	e->msg = vformat(fmt, ap);
	va_end(ap);
	free(e->code);
	e->code = NULL;
	return -1;
}

int
pca_err_setc(struct pca_err *e, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	free(e->msg);
	va_start(ap, fmt);
	e->msg = vformat(fmt, ap);
	va_end(ap);
	free(e->code);
	e->code = code ? pca_strdup(code) : NULL;
	return -1;
}

int
pca_err_prefix(struct pca_err *e, const char *fmt, ...)
{
	va_list ap;
	char *pre, *joined;

	if (!e)
		return -1;
	va_start(ap, fmt);
	pre = vformat(fmt, ap);
	va_end(ap);
	joined = pca_asprintf("%s: %s", pre, e->msg ? e->msg : "unknown error");
	free(pre);
	free(e->msg);
	e->msg = joined;
	return -1;
}

const char *
pca_err_msg(const struct pca_err *e)
{
	return e && e->msg ? e->msg : "unknown error";
}

void
pca_err_clear(struct pca_err *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e->code);
	e->msg = NULL;
	e->code = NULL;
}

void
pca_err_move(struct pca_err *dst, struct pca_err *src)
{
	pca_err_clear(dst);
	*dst = *src;
	src->msg = NULL;
	src->code = NULL;
}
