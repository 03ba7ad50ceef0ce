/* pca-verify: check the signature of a webhook delivery (Standard Webhooks,
 * Stripe, GitHub or Twilio) given as flags, as a saved request, or as a whole
 * pca-webhook log; or sign a body for a test fixture. */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "jsonl.h"
#include "saved_request.h"
#include "sign.h"
#include "timeutil.h"
#include "tool.h"
#include "verify_log.h"

static const char synopsis[] =
    "pca-verify [--scheme standard|stripe|github|twilio] (--secret-file FILE | --secret-env VAR)...\n"
    "                  [--id ID --timestamp TS --signature SIG | --headers FILE | --log FILE]\n"
    "                  [--tolerance SECONDS] [--no-timestamp] [--now TIME] [--url URL] [--v1a]\n"
    "                  [--sign] [-q | -v] [BODY-FILE]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Check the signature of a webhook delivery over the exact bytes of its body\n"
	    "(BODY-FILE, or standard input). Prints nothing when it is valid; otherwise one\n"
	    "line on standard error saying why. With --log, checks every delivery of a\n"
	    "pca-webhook log and prints one JSON verdict a line.\n\n"
	    "  -s, --scheme NAME       standard (Standard Webhooks, the default; also svix),\n"
	    "                          stripe, github or twilio\n"
	    "  -f, --secret-file FILE  secrets, several allowed (standard, stripe: separated by\n"
	    "                          white space; github, twilio: one a line); repeatable\n"
	    "  -e, --secret-env VAR    secrets from an environment variable; repeatable\n"
	    "                          (secrets are never taken from the command line)\n"
	    "      --id ID             the webhook-id header\n"
	    "      --timestamp TS      the webhook-timestamp header (with --sign: also stripe's t)\n"
	    "      --signature SIG     the signature header's value\n"
	    "  -H, --headers FILE      the headers from a file: a header block, or a whole\n"
	    "                          request (request line, headers, blank line, body)\n"
	    "  -l, --log FILE          check every entry of a pca-webhook --log file\n"
	    "  -t, --tolerance SECS    allowed clock difference (default 300; also 5m, 1h)\n"
	    "      --no-timestamp      do not check the timestamp (a saved delivery)\n"
	    "      --now TIME          the time to check against: Unix seconds or RFC 3339\n"
	    "                          (default: the clock; with --log, each entry's \"at\")\n"
	    "      --url URL           twilio: the URL Twilio requested\n"
	    "      --v1a               also accept v1a (Ed25519) signatures, with whpk_ or\n"
	    "                          whsk_ keys\n"
	    "      --sign              print the signature headers for the body instead\n"
	    "  -q, --quiet             only errors on stderr: no reason for an invalid delivery\n"
	    "  -v, --verbose           also say so on stderr when the signature is valid\n"
	    "  -h, --help              this help\n"
	    "  -V, --version           version and library versions\n\n"
	    "Exit status: 0 valid, 1 invalid, 2 usage error, 65 a --headers file or --log line\n"
	    "that cannot be read as one, 66 an input file could not be read, 74 output failed,\n"
	    "78 a secret could not be read or is not valid.\n",
	    synopsis);
}

struct source {
	bool env;
	const char *name;
};

struct options {
	enum pca_scheme scheme;
	struct source *secrets;
	size_t nsecrets;
	const char *id, *timestamp, *signature, *headers, *log, *url, *body;
	int64_t tolerance, now;
	bool tolerance_set, have_now, no_timestamp, v1a, sign, quiet, verbose;
};

static _Noreturn void
die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static _Noreturn void
die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", pca_tool_name());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(pca_tool_finish(status));
}

/* A value that may be a secret typed in the wrong place is never echoed. */
static const char *
shown(const char *s)
{
	if (strstr(s, "whsec_") || strstr(s, "whsk_") || strstr(s, "whpk_"))
		return "(not shown: it looks like a secret)";
	return s;
}

/* ---- options ---- */

static int64_t
parse_now(const char *s)
{
	struct pca_err err = PCA_ERR_INIT;
	int64_t ms;

	if (*s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 18)
		return strtoll(s, NULL, 10);
	if (pca_time_parse(s, &ms, &err) < 0)
		pca_usage_fail(synopsis, "--now %s: not Unix seconds or an RFC 3339 time", shown(s));
	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

static int64_t
parse_tolerance(const char *s)
{
	struct pca_err err = PCA_ERR_INIT;
	int64_t ms;

	if (pca_duration_parse(s, &ms, &err) < 0 || ms < 0) {
		pca_err_clear(&err);
		pca_usage_fail(synopsis, "--tolerance %s: not a number of seconds (or 5m, 1h)",
		    shown(s));
	}
	return ms / 1000;
}

static void
add_secret(struct options *o, bool env, const char *name)
{
	o->secrets = pca_reallocarray(o->secrets, o->nsecrets + 1, sizeof *o->secrets);
	o->secrets[o->nsecrets++] = (struct source){ env, name };
}

static void
set_scheme(struct options *o, const char *s)
{
	if (strcmp(s, "svix") == 0)
		o->scheme = PCA_SCHEME_STANDARD;
	else if (pca_scheme_parse(s, &o->scheme) < 0)
		pca_usage_fail(synopsis, "unknown scheme \"%s\" (standard, stripe, github or twilio)",
		    shown(s));
}

enum { O_ID = 256, O_TS, O_SIG, O_NOTS, O_NOW, O_URL, O_V1A, O_SIGN };

static const struct option longopts[] = {
	{ "scheme", required_argument, NULL, 's' },
	{ "secret-file", required_argument, NULL, 'f' },
	{ "secret-env", required_argument, NULL, 'e' },
	{ "id", required_argument, NULL, O_ID },
	{ "timestamp", required_argument, NULL, O_TS },
	{ "signature", required_argument, NULL, O_SIG },
	{ "headers", required_argument, NULL, 'H' },
	{ "log", required_argument, NULL, 'l' },
	{ "tolerance", required_argument, NULL, 't' },
	{ "no-timestamp", no_argument, NULL, O_NOTS },
	{ "now", required_argument, NULL, O_NOW },
	{ "url", required_argument, NULL, O_URL },
	{ "v1a", no_argument, NULL, O_V1A },
	{ "sign", no_argument, NULL, O_SIGN },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};


/* Never echo what follows "--secret=": it may be a secret. */
static _Noreturn void
bad_option(char **argv, int c)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	size_t n = strcspn(arg, "=");

	if (strncmp(arg, "--secret", 8) == 0 && (n == 8 || arg[n] == '='))
		pca_usage_fail(synopsis, "secrets are read only from a file (--secret-file) or the "
		    "environment (--secret-env), never from the command line");
	pca_usage_bad_option(synopsis, longopts, argv, c);
}

static void
parse_option(struct options *o, int c, char **argv)
{
	switch (c) {
	case 's': set_scheme(o, optarg); break;
	case 'f': add_secret(o, false, optarg); break;
	case 'e': add_secret(o, true, optarg); break;
	case 'H': o->headers = optarg; break;
	case 'l': o->log = optarg; break;
	case 't': o->tolerance = parse_tolerance(optarg); o->tolerance_set = true; break;
	case O_ID: o->id = optarg; break;
	case O_TS: o->timestamp = optarg; break;
	case O_SIG: o->signature = optarg; break;
	case O_NOTS: o->no_timestamp = true; break;
	case O_NOW: o->now = parse_now(optarg); o->have_now = true; break;
	case O_URL: o->url = optarg; break;
	case O_V1A: o->v1a = true; break;
	case O_SIGN: o->sign = true; break;
	case 'q': o->quiet = true; break;
	case 'v': o->verbose = true; break;
	case 'h': help(); exit(pca_tool_finish(0));
	case 'V': pca_print_version(stdout); exit(pca_tool_finish(0));
	default: bad_option(argv, c);
	}
}

static void
parse_args(int argc, char **argv, struct options *o)
{
	int c;

	o->tolerance = PCA_TOLERANCE_DEFAULT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:f:e:H:l:t:qvhV", longopts, NULL)) != -1)
		parse_option(o, c, argv);
	if (argc - optind > 1)
		pca_usage_fail(synopsis, "one BODY-FILE at most (%d given)", argc - optind);
	if (optind < argc) {
		o->body = argv[optind];
		if (strcmp(shown(o->body), o->body) != 0)
			pca_usage_fail(synopsis, "BODY-FILE looks like a secret: secrets are read only "
			    "from --secret-file or --secret-env");
	}
}

static void
check_sign_args(const struct options *o)
{
	if (o->headers || o->log || o->signature)
		pca_usage_fail(synopsis, "--sign makes signatures: --headers, --log and --signature "
		    "are for verifying");
	if (o->scheme == PCA_SCHEME_STANDARD && !o->id)
		pca_usage_fail(synopsis, "--sign needs --id (the webhook-id to sign)");
	if (o->id && o->scheme != PCA_SCHEME_STANDARD)
		pca_usage_fail(synopsis, "--id is for --scheme standard");
}

static void
check_verify_args(const struct options *o)
{
	int inputs = (o->id || o->timestamp || o->signature) + !!o->headers + !!o->log;

	if (inputs == 0)
		pca_usage_fail(synopsis, "nothing to verify: give --signature (with --id and "
		    "--timestamp), --headers FILE or --log FILE");
	if (inputs > 1)
		pca_usage_fail(synopsis, "give one of --id/--timestamp/--signature, --headers and --log");
	if (o->log && o->scheme != PCA_SCHEME_STANDARD)
		pca_usage_fail(synopsis, "--log is written by pca-webhook: --scheme standard only");
	if (o->headers || o->log)
		return;
	if (o->scheme == PCA_SCHEME_STANDARD && !(o->id && o->timestamp && o->signature))
		pca_usage_fail(synopsis, "--id, --timestamp and --signature go together");
	if (o->scheme != PCA_SCHEME_STANDARD && (o->id || o->timestamp))
		pca_usage_fail(synopsis, "--id and --timestamp are for --scheme standard (the other "
		    "schemes carry everything in --signature)");
	if (!o->signature)
		pca_usage_fail(synopsis, "missing --signature");
}

static void
check_args(const struct options *o)
{
	if (o->nsecrets == 0)
		pca_usage_fail(synopsis, "no secret: give --secret-file FILE or --secret-env VAR");
	if (o->sign)
		check_sign_args(o);
	else
		check_verify_args(o);
	if (o->url && o->scheme != PCA_SCHEME_TWILIO)
		pca_usage_fail(synopsis, "--url is for --scheme twilio");
	if (!o->url && o->scheme == PCA_SCHEME_TWILIO)
		pca_usage_fail(synopsis, "--scheme twilio needs --url (Twilio signs the URL)");
	if (o->v1a && o->scheme != PCA_SCHEME_STANDARD)
		pca_usage_fail(synopsis, "--v1a is for --scheme standard");
	if (o->no_timestamp && (o->tolerance_set || o->have_now))
		pca_usage_fail(synopsis, "--no-timestamp conflicts with --tolerance and --now");
	if (o->log && o->body && strcmp(o->body, "-") == 0 && strcmp(o->log, "-") == 0)
		pca_usage_fail(synopsis, "the log and the body cannot both be standard input");
}

/* ---- reading ---- */

static void
read_stream(FILE *fp, const char *name, struct pca_buf *b)
{
	size_t n;

	do {
		pca_buf_grow(b, 1 << 16);
		n = fread(b->data + b->len, 1, b->cap - b->len - 1, fp);
		b->len += n;
		b->data[b->len] = '\0';
	} while (n > 0);
	if (ferror(fp))
		die(PCA_EXIT_NOINPUT, "%s: read error", name);
}

/* Sized up front: fewer reallocations, and so fewer stray copies of secrets. */
static int
read_file(const char *path, struct pca_buf *b, struct pca_err *err)
{
	struct stat st;

	if (strcmp(path, "-") == 0) {
		read_stream(stdin, "<stdin>", b);
		return 0;
	}
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		pca_buf_grow(b, (size_t)st.st_size + 1);
	else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return pca_err_set(err, "%s: is a directory", path);
	return pca_buf_read_file(b, path, err);
}

static void
read_body(const char *path, struct pca_buf *body)
{
	struct pca_err err = PCA_ERR_INIT;

	if (read_file(path ? path : "-", body, &err) < 0)
		die(PCA_EXIT_NOINPUT, "%s", err.msg);
}

static void
load_secrets(const struct options *o, struct pca_buf *text)
{
	struct pca_err err = PCA_ERR_INIT;
	const char *v;

	for (size_t i = 0; i < o->nsecrets; i++) {
		const struct source *s = &o->secrets[i];
		if (!s->env) {
			if (read_file(s->name, text, &err) < 0)
				die(PCA_EXIT_CONFIG, "--secret-file %s", err.msg);
		} else if (!(v = getenv(s->name))) {
			die(PCA_EXIT_CONFIG, "--secret-env %s: not set", s->name);
		} else {
			pca_buf_adds(text, v);
		}
		pca_buf_addc(text, '\n');
	}
}

static struct pca_verifier *
make_verifier(const struct options *o)
{
	struct pca_buf text = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_verifier *v;

	load_secrets(o, &text);
	v = pca_verifier_new(o->scheme, text.data, text.len, o->v1a, &err);
	pca_buf_wipe(&text);
	if (!v)
		die(PCA_EXIT_CONFIG, "%s%s", err.msg, strstr(err.msg, "not enabled") ?
		    " (add --v1a)" : "");
	if (pca_verifier_warning(v) && !o->quiet)
		pca_warn("warning: %s", pca_verifier_warning(v));
	return v;
}

/* ---- a saved request (--headers) ---- */

static void
read_request(struct pca_saved_request *rq, const char *path)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_buf raw = PCA_BUF_INIT;

	if (read_file(path, &raw, &err) < 0)
		die(PCA_EXIT_NOINPUT, "%s", err.msg);
	if (pca_saved_request_parse(rq, strcmp(path, "-") == 0 ? "<stdin>" : path, &raw, &err) < 0)
		die(PCA_EXIT_DATAERR, "%s", err.msg);
}

/* A header given twice makes the delivery malformed: a verdict (1), not bad input. */
static void
delivery_from_request(const struct pca_saved_request *rq, enum pca_scheme scheme,
	struct pca_delivery *d)
{
	struct pca_err err = PCA_ERR_INIT;

	if (pca_saved_request_delivery(rq, scheme, d, &err) < 0)
		die(PCA_EXIT_FAILED, "%s", err.msg);
}

/* ---- one delivery ---- */

static int64_t
now_seconds(const struct options *o)
{
	return o->have_now ? o->now : pca_time_now() / 1000;
}

static int64_t
tolerance(const struct options *o)
{
	return o->no_timestamp ? -1 : o->tolerance;
}

static int
verify_one(struct pca_verifier *v, const struct options *o)
{
	struct pca_delivery d = { o->id, o->timestamp, o->signature, o->url, NULL, 0 };
	struct pca_saved_request rq = { 0 };
	struct pca_buf body = PCA_BUF_INIT, reason = PCA_BUF_INIT;
	enum pca_verdict verdict;

	if (o->headers) {
		read_request(&rq, o->headers);
		delivery_from_request(&rq, o->scheme, &d);
		if (rq.has_body && o->body)
			pca_usage_fail(synopsis, "%s holds the whole request, body included: give no "
			    "BODY-FILE", rq.name);
		if (!rq.has_body && !o->body && strcmp(o->headers, "-") == 0)
			pca_usage_fail(synopsis, "the headers came from standard input: give the body "
			    "as BODY-FILE");
	}
	if (rq.has_body) {
		d.body = rq.body;
		d.len = rq.len;
	} else {
		read_body(o->body, &body);
		d.body = body.data ? body.data : "";
		d.len = body.len;
	}
	verdict = pca_verify(v, &d, now_seconds(o), tolerance(o), &reason);
	if (verdict != PCA_VERDICT_VALID && !o->quiet)
		pca_warn("%s", reason.data);
	else if (verdict == PCA_VERDICT_VALID && o->verbose)
		pca_warn("valid");
	pca_buf_free(&body);
	pca_buf_free(&reason);
	pca_saved_request_free(&rq);
	return verdict == PCA_VERDICT_VALID ? PCA_EXIT_OK : PCA_EXIT_FAILED;
}

/* ---- --sign ---- */

static int
sign_one(struct pca_verifier *v, const struct options *o)
{
	struct pca_buf body = PCA_BUF_INIT, sig = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_delivery d = { o->id, o->timestamp, NULL, o->url, NULL, 0 };
	char ts[24];

	if (!d.timestamp) {
		snprintf(ts, sizeof ts, "%" PRId64, now_seconds(o));
		d.timestamp = ts;
	}
	read_body(o->body, &body);
	d.body = body.data ? body.data : "";
	d.len = body.len;
	if (pca_verifier_sign(v, &d, &sig, &err) < 0)
		pca_usage_fail(synopsis, "cannot sign: %s", err.msg);
	if (o->scheme == PCA_SCHEME_STANDARD)
		printf("webhook-id: %s\nwebhook-timestamp: %s\n", d.id, d.timestamp);
	printf("%s: %s\n", pca_scheme_header(o->scheme), sig.data);
	pca_buf_free(&body);
	pca_buf_free(&sig);
	return PCA_EXIT_OK;
}

/* ---- --log: a batch ---- */

static int
batch_status(const struct pca_log_verifier *lv, const struct options *o, const char *name)
{
	unsigned long entries, invalid, rejected;

	pca_log_verifier_counts(lv, &entries, &invalid, &rejected);
	if (invalid && !o->quiet)
		pca_warn("%s: %lu of %lu entries invalid", name, invalid, entries);
	else if (!invalid && !rejected && o->verbose)
		pca_warn("%s: %lu entries, all valid", name, entries);
	if (rejected)
		return PCA_EXIT_DATAERR;
	return invalid ? PCA_EXIT_FAILED : PCA_EXIT_OK;
}

static int
verify_log(struct pca_verifier *v, const struct options *o)
{
	int64_t fixed_now = o->now;
	struct pca_log_verifier *lv = pca_log_verifier_new(v, tolerance(o),
	    o->have_now || o->no_timestamp ? &fixed_now : NULL);
	struct pca_buf body = PCA_BUF_INIT, out = PCA_BUF_INIT;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_reader rd;
	char *line;
	size_t len;
	int rc = 0, status;

	if (o->body) {
		read_body(o->body, &body);
		pca_log_verifier_set_body(lv, body.data ? body.data : "", body.len);
		pca_buf_free(&body);
	}
	if (pca_reader_open(&rd, o->log, &err) < 0)
		die(PCA_EXIT_NOINPUT, "%s", err.msg);
	while (pca_stdout_ok() && (rc = pca_reader_next(&rd, &line, &len, &err)) > 0) {
		pca_buf_reset(&out);
		if (!pca_log_verify_line(lv, line, len, rd.lineno, &out))
			pca_warn_at(rd.name, rd.lineno, "not a log entry (a JSON object a line)");
		pca_out(out.data, out.len);
	}
	if (rc < 0)
		die(PCA_EXIT_NOINPUT, "%s", err.msg);
	status = batch_status(lv, o, rd.name);
	pca_reader_close(&rd);
	pca_log_verifier_free(lv);
	pca_buf_free(&out);
	return status;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct pca_verifier *v;
	int status;

	pca_tool_init("pca-verify");
	parse_args(argc, argv, &o);
	check_args(&o);
	v = make_verifier(&o);
	if (o.sign)
		status = sign_one(v, &o);
	else if (o.log)
		status = verify_log(v, &o);
	else
		status = verify_one(v, &o);
	pca_verifier_free(v);
	free(o.secrets);
	return pca_tool_finish(status);
}
