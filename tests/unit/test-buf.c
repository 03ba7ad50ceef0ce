#include <string.h>

#include "buf.h"
#include "err.h"
#include "tap.h"

int
main(void)
{
	struct pca_buf b = PCA_BUF_INIT;
	struct pca_err e = PCA_ERR_INIT;
	char *p;
	size_t n;

	is_str(pca_buf_cstr(&b), "", "an empty buffer reads as \"\"");
	pca_buf_adds(&b, "call");
	pca_buf_addc(&b, ' ');
	pca_buf_addf(&b, "%d of %s", 3, "10");
	is_str(b.data, "call 3 of 10", "adds, addc and addf append");
	pca_buf_add(&b, "\0x", 2);
	is_int(b.len, 14, "binary appends keep NUL bytes");
	ok(b.data[b.len] == '\0', "always NUL-terminated");
	pca_buf_truncate(&b, 4);
	is_str(b.data, "call", "truncate");
	for (int i = 0; i < 100000; i++)
		pca_buf_addf(&b, "%08d", i);
	is_int(b.len, 4 + 800000, "grows to megabytes");
	ok(memcmp(b.data + b.len - 8, "00099999", 8) == 0, "the last piece is where it belongs");
	pca_buf_reset(&b);
	is_int(b.len, 0, "reset empties");
	pca_buf_adds(&b, "secret");
	p = pca_buf_detach(&b, &n);
	is_str(p, "secret", "detach hands over the data");
	is_int(n, 6, "detach reports the length");
	ok(b.data == NULL && b.len == 0, "detach leaves an empty buffer");
	free(p);
	pca_buf_adds(&b, "whsec_x");
	pca_buf_wipe(&b);
	ok(b.data == NULL, "wipe frees");

	ok(pca_buf_read_file(&b, "/nonexistent/pca", &e) < 0, "reading a missing file fails");
	ok(e.msg && strstr(e.msg, "/nonexistent/pca: No such file") == e.msg,
	    "and the error names the file: %s", pca_err_msg(&e));
	pca_err_prefix(&e, "contacts");
	ok(strncmp(pca_err_msg(&e), "contacts: /nonexistent", 22) == 0, "prefix puts a place in front");
	pca_err_setc(&e, "dns", "could not resolve %s", "example.invalid");
	is_str(e.code, "dns", "setc keeps a machine-readable code");
	pca_err_clear(&e);
	ok(e.msg == NULL && e.code == NULL, "clear empties the error");
	is_str(pca_err_msg(&e), "unknown error", "an empty error still reads as something");
	return tap_done();
}
