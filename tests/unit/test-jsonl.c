#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonl.h"
#include "tap.h"

static char *
write_temp(const char *data, size_t len)
{
	char *path = strdup("/tmp/pca-test-jsonl-XXXXXX");
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	return path;
}

int
main(void)
{
	static const char text[] = "{\"a\":1}\r\n\n   \t\r\n{\"b\":2}\n\n{\"c\":3}";
	struct pca_reader r;
	struct pca_err err = PCA_ERR_INIT;
	char *path = write_temp(text, sizeof text - 1), *line, *big;
	size_t len, bigsize = 50u << 20;
	unsigned long lines[3];
	int n = 0;

	ok(pca_reader_open(&r, path, &err) == 0, "open a file");
	while (pca_reader_next(&r, &line, &len, &err) > 0 && n < 3) {
		lines[n] = r.lineno;
		if (n == 0)
			ok(len == 7 && strcmp(line, "{\"a\":1}") == 0, "CRLF is stripped");
		if (n == 2)
			ok(len == 7 && strcmp(line, "{\"c\":3}") == 0, "a last line without newline counts");
		n++;
	}
	is_int(n, 3, "blank and white-space lines are skipped");
	ok(lines[0] == 1 && lines[1] == 4 && lines[2] == 6, "lines keep their numbers (1, 4, 6)");
	is_int(pca_reader_next(&r, &line, &len, &err), 0, "then end of file");
	pca_reader_close(&r);
	unlink(path);
	free(path);

	ok(pca_reader_open(&r, "/nonexistent/calls.jsonl", &err) < 0 &&
	    strcmp(err.msg, "/nonexistent/calls.jsonl: No such file or directory") == 0,
	    "a missing file is named: %s", pca_err_msg(&err));
	pca_err_clear(&err);

	/* A 50 MB line: no fixed buffers anywhere. */
	big = malloc(bigsize + 2);
	memset(big, 'x', bigsize);
	big[bigsize] = '\n';
	path = write_temp(big, bigsize + 1);
	pca_reader_open(&r, path, &err);
	ok(pca_reader_next(&r, &line, &len, &err) == 1 && len == bigsize && line[len - 1] == 'x',
	    "a 50 MB line is read whole");
	pca_reader_close(&r);
	unlink(path);
	free(path);
	free(big);

	ok(pca_reader_open(&r, "-", &err) == 0 && strcmp(r.name, "<stdin>") == 0,
	    "\"-\" is standard input, named <stdin>");
	pca_reader_close(&r);
	return tap_done();
}
