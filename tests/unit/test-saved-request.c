/* lib/saved_request: header blocks and whole requests as people save them. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#include "saved_request.h"

static struct pca_saved_request rq;
static struct pca_err err;

static int
parse(const char *text, size_t len)
{
	struct pca_buf raw = PCA_BUF_INIT;

	pca_saved_request_free(&rq);
	pca_err_clear(&err);
	pca_buf_add(&raw, text, len);
	return pca_saved_request_parse(&rq, "saved.txt", &raw, &err);
}

#define PARSE(s) parse((s), sizeof(s) - 1)

static const char *
header(const char *name)
{
	const char *v = NULL;

	pca_err_clear(&err);
	return pca_saved_request_header(&rq, name, &v, &err) < 0 ? "(error)" : v ? v : "(none)";
}

static void
test_header_block(void)
{
	is_int(PARSE("webhook-id: msg_1\r\nWebhook-Timestamp:  1700000000 \r\n"
	    "webhook-signature: v1,abc\r\n  v1,def\n"), 0, "a header block parses");
	ok(!rq.request_line && !rq.has_body, "a header block has no body");
	is_str(header("WEBHOOK-ID"), "msg_1", "names match in any case");
	is_str(header("webhook-timestamp"), "1700000000", "values are trimmed");
	is_str(header("webhook-signature"), "v1,abc v1,def", "a folded line continues the value");
	is_str(header("x-missing"), "(none)", "an absent header is NULL");

	is_int(PARSE("a: 1\nb: 2\n\n{\"x\":1}"), 0, "a header block, a blank line, a body");
	ok(rq.has_body && rq.len == 7 && memcmp(rq.body, "{\"x\":1}", 7) == 0,
	    "the body is what follows the blank line");
	is_int(PARSE("a: 1\n\n"), 0, "a blank line and nothing after it");
	ok(!rq.has_body, "is no body");
}

static void
test_request(void)
{
	is_int(PARSE("POST /in HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}\n"), 0,
	    "a whole request parses");
	ok(rq.request_line && rq.has_body, "its request line is seen, and it has a body");
	ok(rq.len == 2 && memcmp(rq.body, "{}", 2) == 0, "of Content-Length bytes");
	is_int(PARSE("POST /in HTTP/1.1\r\n\r\n"), 0, "a request with an empty body");
	ok(rq.has_body && rq.len == 0, "has a body of 0 bytes");
	is_int(PARSE("post /in HTTP/1.1\n"), -1, "a method must be in capitals");
	is_str(err.msg, "saved.txt:1: not a header line (\"Name: value\")",
	    "else the line is a bad header line, named by its number");
	is_int(PARSE("POST /in HTTP/1.1\nContent-Length: 9\n\n{}"), -1,
	    "a Content-Length beyond the saved body");
	is_str(err.msg, "saved.txt: Content-Length 9, but only 2 bytes follow the headers",
	    "is an error that says so");
	is_int(PARSE("POST /in HTTP/1.1\nContent-Length: 2x\n\n{}"), -1, "a Content-Length "
	    "that is not a number");
	is_int(PARSE("POST /in HTTP/1.1\nContent-Length: 2\ncontent-length: 2\n\n{}"), -1,
	    "two Content-Lengths");
	is_str(err.code, "duplicate", "are a duplicate");
	is_int(PARSE("POST /in HTTP/1.1\nTransfer-Encoding: chunked\n\n2\r\n{}\r\n0\r\n\r\n"), -1,
	    "a chunked body is refused");
	is_int(PARSE("POST /in HTTP/1.1\nTransfer-Encoding: identity\n\n{}"), 0,
	    "an identity one is not");
}

static void
test_errors(void)
{
	is_int(PARSE("a: 1\nno colon here\n"), -1, "a line without a colon");
	is_str(err.msg, "saved.txt:2: not a header line (\"Name: value\")", "names line 2");
	is_int(PARSE(": empty name\n"), -1, "an empty name");
	is_int(PARSE("two words: x\n"), -1, "a name with a space");
	is_int(PARSE(" folded first\n"), -1, "a folded line with nothing before it");
	is_int(PARSE("a: 1\0b: 2\n"), 0, "a NUL byte ends a value, not the parse");
}

static void
test_delivery(void)
{
	struct pca_delivery d;

	PARSE("svix-id: s1\nsvix-timestamp: 5\nsvix-signature: v1,x\n");
	memset(&d, 0, sizeof d);
	is_int(pca_saved_request_delivery(&rq, PCA_SCHEME_STANDARD, &d, &err), 0, "svix headers");
	ok(d.id && strcmp(d.id, "s1") == 0 && d.timestamp && strcmp(d.timestamp, "5") == 0 &&
	    d.signature && strcmp(d.signature, "v1,x") == 0, "stand in for webhook-* ones");

	PARSE("svix-id: s1\nwebhook-id: w1\n");
	memset(&d, 0, sizeof d);
	pca_saved_request_delivery(&rq, PCA_SCHEME_STANDARD, &d, &err);
	ok(d.id && strcmp(d.id, "w1") == 0 && !d.signature, "webhook-* wins over svix-*");

	PARSE("webhook-signature: a\nwebhook-signature: b\n");
	is_int(pca_saved_request_delivery(&rq, PCA_SCHEME_STANDARD, &d, &err), -1,
	    "a signature given twice");
	is_str(err.msg, "malformed webhook-signature header (it appears twice in saved.txt)",
	    "is malformed");

	PARSE("X-Hub-Signature: sha1=aa\n");
	memset(&d, 0, sizeof d);
	pca_saved_request_delivery(&rq, PCA_SCHEME_GITHUB, &d, &err);
	ok(d.signature && strcmp(d.signature, "sha1=aa") == 0, "github: SHA-1 when no SHA-256");
	PARSE("X-Hub-Signature: sha1=aa\nX-Hub-Signature-256: sha256=bb\n");
	pca_saved_request_delivery(&rq, PCA_SCHEME_GITHUB, &d, &err);
	ok(d.signature && strcmp(d.signature, "sha256=bb") == 0, "github: SHA-256 first");
	PARSE("stripe-signature: t=1,v1=cc\n");
	memset(&d, 0, sizeof d);
	pca_saved_request_delivery(&rq, PCA_SCHEME_STRIPE, &d, &err);
	ok(d.signature && strcmp(d.signature, "t=1,v1=cc") == 0, "stripe: its one header");
}

int
main(void)
{
	test_header_block();
	test_request();
	test_errors();
	test_delivery();
	pca_saved_request_free(&rq);
	pca_err_clear(&err);
	return tap_done();
}
