/* Reading JSON Lines: one record a line, any length.
 *
 * A reader numbers every line of its file, strips the line end (LF or CRLF),
 * skips lines that hold only white space, and hands out the rest. A last
 * line without a newline is still a line.
 *
 * It reads the file descriptor itself (no stdio), so a caller can tell
 * whether a whole line is already buffered (pca_reader_try) and otherwise
 * wait for the descriptor together with its network transfers.
 */
#ifndef PCA_JSONL_H
#define PCA_JSONL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct pca_reader {
	int fd;
	char *name;            /* "calls.jsonl", or "<stdin>" for "-" */
	unsigned long lineno;  /* of the line last returned */
	char *buf;
	size_t start, len, cap;/* unread bytes are buf[start .. len) */
	size_t scanned;        /* bytes from start known to hold no newline */
	bool eof, owns_fd;
};

/* Open `path` for reading; "-" is standard input. */
int pca_reader_open(struct pca_reader *r, const char *path, struct pca_err *err);

/* The next non-blank line: 1 with line and len set (valid until the next
 * call; NUL-terminated, but it may contain NUL bytes), 0 at end of file,
 * -1 on a read error. Blocks until a line is there. */
int pca_reader_next(struct pca_reader *r, char **line, size_t *len, struct pca_err *err);

/* Like pca_reader_next, but never blocks: returns 2 when no whole line is
 * buffered yet. Then wait until r->fd is readable and call pca_reader_fill. */
int pca_reader_try(struct pca_reader *r, char **line, size_t *len, struct pca_err *err);

/* One read(2) into the buffer: 1 read something, 0 end of file, -1 error. */
int pca_reader_fill(struct pca_reader *r, struct pca_err *err);

void pca_reader_close(struct pca_reader *r);

#endif
