#include "jsonl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

int
pca_reader_open(struct pca_reader *r, const char *path, struct pca_err *err)
{
	memset(r, 0, sizeof *r);
	if (strcmp(path, "-") == 0) {
		r->fp = stdin;
		r->name = pca_strdup("<stdin>");
		return 0;
	}
	r->fp = fopen(path, "r");
	if (!r->fp)
		return pca_err_set(err, "%s: %s", path, strerror(errno));
	r->owns_fp = true;
	r->name = pca_strdup(path);
	return 0;
}

static bool
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

int
pca_reader_next(struct pca_reader *r, char **line, size_t *len, struct pca_err *err)
{
	ssize_t n;

	for (;;) {
		errno = 0;
		n = getline(&r->line, &r->cap, r->fp);
		if (n < 0) {
			if (ferror(r->fp))
				return pca_err_set(err, "%s: read error: %s", r->name,
				    strerror(errno ? errno : EIO));
			return 0;
		}
		r->lineno++;
		if (n > 0 && r->line[n - 1] == '\n')
			n--;
		if (n > 0 && r->line[n - 1] == '\r')
			n--;
		r->line[n] = '\0';
		if (!blank(r->line, (size_t)n))
			break;
	}
	*line = r->line;
	*len = (size_t)n;
	return 1;
}

void
pca_reader_close(struct pca_reader *r)
{
	if (r->owns_fp && r->fp)
		fclose(r->fp);
	free(r->line);
	free(r->name);
	memset(r, 0, sizeof *r);
}
