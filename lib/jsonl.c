#include "jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"

#define READ_CHUNK 65536

int
pca_reader_open(struct pca_reader *r, const char *path, struct pca_err *err)
{
	memset(r, 0, sizeof *r);
	if (strcmp(path, "-") == 0) {
		r->fd = 0;
		r->name = pca_strdup("<stdin>");
		return 0;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return pca_err_set(err, "%s: %s", path, strerror(errno));
	r->owns_fd = true;
	r->name = pca_strdup(path);
	return 0;
}

int
pca_reader_fill(struct pca_reader *r, struct pca_err *err)
{
	ssize_t n;

	if (r->eof)
		return 0;
	/* Move the unread part to the front before growing. */
	if (r->start > 0 && (r->start > r->cap / 2 || r->len == r->cap)) {
		memmove(r->buf, r->buf + r->start, r->len - r->start);
		r->len -= r->start;
		r->start = 0;
	}
	if (r->cap - r->len < READ_CHUNK) {
		r->cap = r->cap ? r->cap * 2 : READ_CHUNK * 2;
		r->buf = pca_realloc(r->buf, r->cap + 1);
	}
	do
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return pca_err_set(err, "%s: read error: %s", r->name, strerror(errno));
	if (n == 0) {
		r->eof = true;
		return 0;
	}
	r->len += (size_t)n;
	return 1;
}

static bool
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* Cut the next line out of the buffer, if a whole one is there. */
static bool
take_line(struct pca_reader *r, char **line, size_t *len)
{
	char *s, *nl;
	size_t avail = r->len - r->start, n;

	if (avail == 0) { /* before the first read, buf is still NULL */
		r->scanned = 0;
		return false;
	}
	s = r->buf + r->start;
	nl = avail > r->scanned ? memchr(s + r->scanned, '\n', avail - r->scanned) : NULL;
	if (!nl && !(r->eof && avail > 0)) {
		r->scanned = avail;
		return false;
	}
	n = nl ? (size_t)(nl - s) : avail;
	r->start += nl ? n + 1 : n;
	r->scanned = 0;
	r->lineno++;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	s[n] = '\0';
	*line = s;
	*len = n;
	return true;
}

int
pca_reader_try(struct pca_reader *r, char **line, size_t *len, struct pca_err *err)
{
	(void)err;
	while (take_line(r, line, len))
		if (!blank(*line, *len))
			return 1;
	return r->eof ? 0 : 2;
}

int
pca_reader_next(struct pca_reader *r, char **line, size_t *len, struct pca_err *err)
{
	int rc;

	while ((rc = pca_reader_try(r, line, len, err)) == 2)
		if (pca_reader_fill(r, err) < 0)
			return -1;
	return rc;
}

void
pca_reader_close(struct pca_reader *r)
{
	if (r->owns_fd && r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r->name);
	memset(r, 0, sizeof *r);
}
