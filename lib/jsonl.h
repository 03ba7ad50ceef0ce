/* Reading JSON Lines: one record a line, any length.
 *
 * A reader numbers every line of its file, strips the line end (LF or CRLF),
 * skips lines that hold only white space, and hands out the rest. A last
 * line without a newline is still a line.
 */
#ifndef PCA_JSONL_H
#define PCA_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"

struct pca_reader {
	FILE *fp;
	char *name;            /* "calls.jsonl", or "<stdin>" for "-" */
	unsigned long lineno;  /* of the line last returned */
	char *line;
	size_t cap;
	bool owns_fp;
};

/* Open `path` for reading; "-" is standard input. */
int pca_reader_open(struct pca_reader *r, const char *path, struct pca_err *err);

/* The next non-blank line: 1 with line and len set (valid until the next call;
 * the text is NUL-terminated but may contain NUL bytes), 0 at end of file,
 * -1 on a read error. */
int pca_reader_next(struct pca_reader *r, char **line, size_t *len, struct pca_err *err);

void pca_reader_close(struct pca_reader *r);

#endif
