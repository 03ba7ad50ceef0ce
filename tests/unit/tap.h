/* A few macros that print TAP (Test Anything Protocol) for the unit tests.
 * meson runs each unit test with protocol 'tap'. */
#ifndef PCA_TAP_H
#define PCA_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

static inline int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		printf("#   failed at %s:%d\n", file, line);
		tap_failed++;
	}
	return pass;
}

static inline int
tap_is_int(long long got, long long want, const char *file, int line, const char *name)
{
	int pass = tap_ok(got == want, file, line, "%s", name);
	if (!pass)
		printf("#   got %lld, want %lld\n", got, want);
	return pass;
}

static inline int
tap_is_str(const char *got, const char *want, const char *file, int line, const char *name)
{
	int pass = got && want ? strcmp(got, want) == 0 : got == want;
	tap_ok(pass, file, line, "%s", name);
	if (!pass)
		printf("#   got  \"%s\"\n#   want \"%s\"\n", got ? got : "(null)", want ? want : "(null)");
	return pass;
}

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
