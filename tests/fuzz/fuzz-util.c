#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc.h"

void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: property failed: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

size_t
fuzz_split(const char *s, size_t len, const char *sep, struct fuzz_span *out, size_t max)
{
	size_t seplen = strlen(sep), n = 0;
	const char *end = s + len, *hit;

	while (n + 1 < max && (hit = memmem(s, (size_t)(end - s), sep, seplen))) {
		out[n++] = (struct fuzz_span){ s, (size_t)(hit - s) };
		s = hit + seplen;
	}
	out[n++] = (struct fuzz_span){ s, (size_t)(end - s) };
	return n;
}

char *
fuzz_cstr(struct fuzz_span sp)
{
	return pca_strndup(sp.p, sp.n);
}

void
fuzz_file_open(struct fuzz_file *f, const char *name)
{
	f->fd = memfd_create(name, 0);
	if (f->fd < 0) {
		perror("fuzz: memfd_create");
		abort();
	}
	snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

void
fuzz_file_set(struct fuzz_file *f, const void *data, size_t len)
{
	const char *p = data;
	ssize_t w;

	if (ftruncate(f->fd, 0) < 0) {
		perror("fuzz: ftruncate");
		abort();
	}
	for (off_t off = 0; len > 0; off += w, p += w, len -= (size_t)w) {
		if ((w = pwrite(f->fd, p, len, off)) <= 0) {
			perror("fuzz: pwrite");
			abort();
		}
	}
}

bool
fuzz_same(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

void
fuzz_dump(const char *label, const void *data, size_t len)
{
	const unsigned char *p = data;

	fprintf(stderr, "%s (%zu bytes): \"", label, len);
	for (size_t i = 0; i < len && i < 4096; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(stderr, "\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7F)
			fputc(p[i], stderr);
		else
			fprintf(stderr, "\\x%02X", p[i]);
	}
	fprintf(stderr, "\"%s\n", len > 4096 ? "..." : "");
}
