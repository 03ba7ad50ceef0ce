/* What every fuzz target shares: the libFuzzer entry points, a property
 * check that aborts (so libFuzzer keeps the input), cutting an input into
 * fields, and an in-memory file for the readers that take a path. */
#ifndef PCA_FUZZ_H
#define PCA_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property does not hold: say which on stderr, then abort. */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define FUZZ_CHECK(cond, ...) do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

struct fuzz_span {
	const char *p;
	size_t n;
};

/* Cut s at each occurrence of sep into at most max spans; the last span
 * takes the rest, separators included. Returns the number of spans (at
 * least 1). */
size_t fuzz_split(const char *s, size_t len, const char *sep, struct fuzz_span *out,
	size_t max);

/* A new NUL-terminated copy of a span (NUL bytes inside cut it short as a C
 * string, as a header value would be). Free with free(). */
char *fuzz_cstr(struct fuzz_span sp);

/* A file in memory (memfd), reachable by a path for code that opens paths. */
struct fuzz_file {
	int fd;
	char path[32];
};

void fuzz_file_open(struct fuzz_file *f, const char *name);
/* Replace the contents. */
void fuzz_file_set(struct fuzz_file *f, const void *data, size_t len);

/* Whether two byte strings are equal (either may be NULL when empty). */
bool fuzz_same(const void *a, size_t alen, const void *b, size_t blen);

/* Print the bytes as a C string literal, for property messages. */
void fuzz_dump(const char *label, const void *data, size_t len);

#endif
