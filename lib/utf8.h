/* UTF-8 and Unicode text helpers shared by the SMS, MIME and record code. */
#ifndef PCA_UTF8_H
#define PCA_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
 * When it returns false and bad_at is not NULL, *bad_at is the byte offset
 * of the first invalid sequence. */
bool pca_utf8_valid(const char *s, size_t len, size_t *bad_at);

/* Decode one code point at s[*pos], advancing *pos. Returns -1 (and advances
 * by one byte) on an invalid sequence. */
int32_t pca_utf8_next(const char *s, size_t len, size_t *pos);

/* Encode cp into out (at least 4 bytes); returns the number of bytes. */
size_t pca_utf8_put(char *out, uint32_t cp);

/* Byte offset of the end of the extended grapheme cluster that starts at
 * byte offset pos (pos < len): "e" + U+0301, a flag, an emoji ZWJ sequence
 * each end after their last code point. s must be valid UTF-8. */
size_t pca_utf8_grapheme_end(const char *s, size_t len, size_t pos);

/* Number of code points. */
size_t pca_utf8_count(const char *s, size_t len);

#endif
