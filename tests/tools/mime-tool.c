/* pca-test-mime-tool: exposes lib/mime.c to tests/cli/test_mime.py.
 *
 *   header-text NAME       stdin (raw bytes) -> "NAME: value" header
 *   header-raw NAME        stdin -> folded ASCII header
 *   mailboxes NAME         one mailbox per stdin line -> "NAME: a, b" header
 *   qp-encode, qp-decode   stdin -> stdout
 *   header-decode          a header value on stdin -> decoded text
 *   date SECONDS...        RFC 5322 dates, one a line
 *   message                JSON {subject, from, to: [...], text, html} on stdin
 *                          -> a multipart/alternative message
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "buf.h"
#include "err.h"
#include "mime.h"

#define BOUNDARY "=_pca_test_boundary_="

static int
fail(const char *what, const struct pca_err *err)
{
	fprintf(stderr, "pca-test-mime-tool: %s: %s\n", what, pca_err_msg(err));
	return 1;
}

static void
read_all(FILE *fp, struct pca_buf *b)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		pca_buf_add(b, chunk, n);
}

static int
write_out(const struct pca_buf *b)
{
	if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len)
		return 1;
	return fflush(stdout) != 0;
}

static int
parse_mailboxes(const char *text, struct pca_mailbox **mbs, size_t *n, struct pca_err *err)
{
	const char *p = text, *nl;
	char *line;
	int rc;

	*mbs = NULL;
	*n = 0;
	while (*p) {
		nl = strchr(p, '\n');
		line = pca_strndup(p, nl ? (size_t)(nl - p) : strlen(p));
		if (*line) {
			*mbs = pca_reallocarray(*mbs, *n + 1, sizeof **mbs);
			rc = pca_mailbox_parse(line, &(*mbs)[*n], err);
			if (rc < 0) {
				free(line);
				return -1;
			}
			(*n)++;
		}
		free(line);
		p = nl ? nl + 1 : p + strlen(p);
	}
	return 0;
}

static void
free_mailboxes(struct pca_mailbox *mbs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		pca_mailbox_free(&mbs[i]);
	free(mbs);
}

static int
cmd_mailboxes(const char *name, struct pca_buf *in, struct pca_buf *out)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_mailbox *mbs;
	size_t n;

	if (parse_mailboxes(pca_buf_cstr(in), &mbs, &n, &err) < 0) {
		fail("mailbox", &err);
		pca_err_clear(&err);
		free_mailboxes(mbs, n);
		return 1;
	}
	pca_mime_header_mailboxes(out, name, mbs, n);
	free_mailboxes(mbs, n);
	return 0;
}

static const char *
jstr(struct json_object *o, const char *key, size_t *len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static void
add_part(struct pca_buf *out, const char *type, const char *text, size_t len)
{
	pca_buf_adds(out, "--" BOUNDARY "\r\n");
	pca_buf_addf(out, "Content-Type: %s; charset=UTF-8\r\n", type);
	pca_buf_adds(out, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	pca_mime_qp_encode(out, text, len);
	pca_buf_adds(out, "\r\n");
}

/* Collect from and every to[] entry into one newline-separated list. */
static int
message_mailboxes(struct json_object *o, struct pca_buf *from, struct pca_buf *to)
{
	struct json_object *arr;
	const char *s;
	size_t i;

	if (!(s = jstr(o, "from", NULL)))
		return -1;
	pca_buf_adds(from, s);
	if (!json_object_object_get_ex(o, "to", &arr) || !json_object_is_type(arr, json_type_array))
		return -1;
	for (i = 0; i < json_object_array_length(arr); i++) {
		s = json_object_get_string(json_object_array_get_idx(arr, i));
		pca_buf_adds(to, s ? s : "");
		pca_buf_addc(to, '\n');
	}
	return 0;
}

static int
build_message(struct json_object *o, struct pca_buf *out)
{
	struct pca_buf from = PCA_BUF_INIT, to = PCA_BUF_INIT;
	const char *subject, *text, *html;
	size_t slen, tlen, hlen;
	int rc;

	if (!(subject = jstr(o, "subject", &slen)) || !(text = jstr(o, "text", &tlen)) ||
	    !(html = jstr(o, "html", &hlen)) || message_mailboxes(o, &from, &to) < 0) {
		fprintf(stderr,
		    "pca-test-mime-tool: message: need subject, from, to[], text, html\n");
		rc = 1;
	} else {
		pca_buf_adds(out, "Date: ");
		pca_mime_date(out, 1779966805);
		pca_buf_adds(out, "\r\n");
		rc = cmd_mailboxes("From", &from, out) || cmd_mailboxes("To", &to, out);
		pca_mime_header_text(out, "Subject", subject, slen);
		pca_mime_header_raw(out, "Message-ID", "<test.0001@example.com>");
		pca_buf_adds(out, "MIME-Version: 1.0\r\n");
		pca_buf_adds(out, "Content-Type: multipart/alternative; "
		    "boundary=\"" BOUNDARY "\"\r\n\r\n");
		add_part(out, "text/plain", text, tlen);
		add_part(out, "text/html", html, hlen);
		pca_buf_adds(out, "--" BOUNDARY "--\r\n");
	}
	pca_buf_free(&from);
	pca_buf_free(&to);
	return rc;
}

static int
cmd_message(struct pca_buf *in, struct pca_buf *out)
{
	struct json_object *o = json_tokener_parse(pca_buf_cstr(in));
	int rc;

	if (!o || !json_object_is_type(o, json_type_object)) {
		fprintf(stderr, "pca-test-mime-tool: message: stdin is not a JSON object\n");
		json_object_put(o);
		return 1;
	}
	rc = build_message(o, out);
	json_object_put(o);
	return rc;
}

static int
cmd_date(int argc, char **argv, struct pca_buf *out)
{
	long long t;
	char *end;
	int i;

	for (i = 0; i < argc; i++) {
		errno = 0;
		t = strtoll(argv[i], &end, 10);
		if (errno || end == argv[i] || *end) {
			fprintf(stderr, "pca-test-mime-tool: date: not a number: %s\n", argv[i]);
			return 1;
		}
		pca_mime_date(out, t);
		pca_buf_addc(out, '\n');
	}
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: pca-test-mime-tool header-text|header-raw|mailboxes NAME\n"
	    "       pca-test-mime-tool qp-encode|qp-decode|header-decode|message\n"
	    "       pca-test-mime-tool date SECONDS...\n");
	return 2;
}

static int
run(int argc, char **argv, struct pca_buf *in, struct pca_buf *out)
{
	struct pca_err err = PCA_ERR_INIT;
	const char *cmd = argv[1];
	int rc = 0;

	if (strcmp(cmd, "date") == 0)
		return argc >= 3 ? cmd_date(argc - 2, argv + 2, out) : usage();
	read_all(stdin, in);
	if (strcmp(cmd, "header-text") == 0 && argc == 3)
		pca_mime_header_text(out, argv[2], pca_buf_cstr(in), in->len);
	else if (strcmp(cmd, "header-raw") == 0 && argc == 3)
		pca_mime_header_raw(out, argv[2], pca_buf_cstr(in));
	else if (strcmp(cmd, "mailboxes") == 0 && argc == 3)
		rc = cmd_mailboxes(argv[2], in, out);
	else if (strcmp(cmd, "qp-encode") == 0 && argc == 2)
		pca_mime_qp_encode(out, pca_buf_cstr(in), in->len);
	else if (strcmp(cmd, "qp-decode") == 0 && argc == 2)
		rc = pca_mime_qp_decode(out, pca_buf_cstr(in), in->len, &err) < 0 ?
		    fail("qp-decode", &err) : 0;
	else if (strcmp(cmd, "header-decode") == 0 && argc == 2)
		rc = pca_mime_header_decode(out, pca_buf_cstr(in), in->len, &err) < 0 ?
		    fail("header-decode", &err) : 0;
	else if (strcmp(cmd, "message") == 0 && argc == 2)
		rc = cmd_message(in, out);
	else
		rc = usage();
	pca_err_clear(&err);
	return rc;
}

int
main(int argc, char **argv)
{
	struct pca_buf in = PCA_BUF_INIT, out = PCA_BUF_INIT;
	int rc;

	if (argc < 2)
		return usage();
	rc = run(argc, argv, &in, &out);
	if (rc == 0 && write_out(&out) != 0) {
		fprintf(stderr, "pca-test-mime-tool: write error\n");
		rc = 1;
	}
	pca_buf_free(&in);
	pca_buf_free(&out);
	return rc;
}
