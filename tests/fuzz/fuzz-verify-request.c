/* pca-verify's own readers: a saved request or header block (--headers) and
 * a pca-webhook log (--log). They live in cmd/pca-verify.c, as static
 * functions that end the program on bad input, so this target compiles that
 * file itself with main renamed and exit() turned into a jump back here.
 *
 * Input: one selector byte, then the file. Selector bits: 0-1 the scheme,
 * 2 read the file as a --log (standard scheme), 3 --no-timestamp.
 *
 * No property beyond "never crashes, never leaks": pca-verify's CLI tests
 * check the verdicts. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

/* Not static: tool.h, included below with the macro in force, declares
 * pca_tool_finish, which then reads as a declaration of this. */
int fuzz_finish(int status);

static jmp_buf fuzz_jump;

static _Noreturn void
fuzz_exit(int status)
{
	(void)status;
	longjmp(fuzz_jump, 1);
}

int
fuzz_finish(int status)
{
	return status; /* the real one closes stdout */
}

#define exit(status) fuzz_exit(status)
#define pca_tool_finish(status) fuzz_finish(status)
#define main pca_verify_main
int pca_verify_main(int argc, char **argv);
#include "../../cmd/pca-verify.c"
#undef main
#undef exit
#undef pca_tool_finish

#include "fuzz.h"

static struct fuzz_file input;
static struct pca_verifier *verifiers[4];

static const char *const secrets[4] = {
	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
	"whsec_test_secret",
	"It's a Secret to Everybody",
	"12345",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pca_err err = PCA_ERR_INIT;

	(void)argc;
	(void)argv;
	/* Verdicts and warnings are not looked at: send them nowhere. libFuzzer
	 * and the sanitizers write to descriptor 2 directly, not through the
	 * stderr stream, so their reports still show. */
	if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "r", stdin) ||
	    !(stderr = fopen("/dev/null", "w")))
		abort();
	fuzz_file_open(&input, "request");
	for (int s = 0; s < 4; s++) {
		verifiers[s] = pca_verifier_new((enum pca_scheme)s, secrets[s], strlen(secrets[s]),
		    false, &err);
		if (!verifiers[s])
			abort();
	}
	return 0;
}

/* Kept outside the function that calls setjmp, so that what parse_request
 * allocated can be freed after a jump back. */
static struct request rq;
static struct pca_buf body;

/* verify_one() for --headers FILE with the body on standard input (empty). */
static void
verify_headers(struct pca_verifier *v, const struct options *o)
{
	struct pca_delivery d = { NULL, NULL, NULL, NULL, NULL, 0 };
	struct pca_buf reason = PCA_BUF_INIT;

	parse_request(&rq, o->headers);
	delivery_from_headers(&rq, o->scheme, &d);
	if (rq.has_body) {
		d.body = rq.body;
		d.len = rq.len;
	} else {
		read_body(NULL, &body);
		d.body = body.data ? body.data : "";
		d.len = body.len;
	}
	pca_verify(v, &d, now_seconds(o), tolerance(o), &reason);
	pca_buf_free(&reason);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct options o = { 0 };

	if (size < 1)
		return 0;
	fuzz_file_set(&input, data + 1, size - 1);
	o.scheme = (enum pca_scheme)(data[0] & 3);
	o.no_timestamp = data[0] & 8;
	o.tolerance = PCA_TOLERANCE_DEFAULT;
	o.url = o.scheme == PCA_SCHEME_TWILIO ? "https://example.com/hook?a=1" : NULL;
	if (data[0] & 4) {
		/* a read error would end it: none happens on a memfd */
		o.scheme = PCA_SCHEME_STANDARD;
		o.log = input.path;
		if (setjmp(fuzz_jump) == 0)
			verify_log(verifiers[o.scheme], &o);
		return 0;
	}
	o.headers = input.path;
	memset(&rq, 0, sizeof rq);
	if (setjmp(fuzz_jump) == 0)
		verify_headers(verifiers[o.scheme], &o);
	request_free(&rq);
	pca_buf_free(&body);
	return 0;
}
