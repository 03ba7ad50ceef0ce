/* pca-verify: check the signature of a webhook delivery (Standard Webhooks,
 * Stripe, GitHub or Twilio) given as flags, as a saved request, or as a whole
 * pca-webhook log; or sign a body for a test fixture. */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "alloc.h"
#include "jsonl.h"
#include "record.h"
#include "sign.h"
#include "timeutil.h"
#include "tool.h"

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

struct header {
	const char *name;
	size_t nlen;
	char *value;
};

struct request {
	const char *path;
	struct pca_buf raw;
	struct header *h;
	size_t nh;
	bool request_line, has_body;
	const char *body;
	size_t len;
};

/* "POST /hooks HTTP/1.1": a method in capitals, a target, a version. */
static bool
is_request_line(const char *s, size_t n)
{
	const char *sp = memchr(s, ' ', n), *last = s + n;

	if (!sp || sp == s)
		return false;
	for (const char *p = s; p < sp; p++)
		if (*p < 'A' || *p > 'Z')
			return false;
	while (last > sp && last[-1] != ' ')
		last--;
	return last > sp + 1 && (size_t)(s + n - last) > 5 && strncmp(last, "HTTP/", 5) == 0;
}

static char *
trimmed(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return pca_strndup(s, n);
}

static void
add_header(struct request *rq, const char *line, size_t n, unsigned long lineno)
{
	const char *colon = memchr(line, ':', n);
	char *joined;

	if ((*line == ' ' || *line == '\t') && rq->nh > 0) {
		/* an obsolete folded line continues the previous value */
		char *more = trimmed(line, n);
		joined = pca_asprintf("%s %s", rq->h[rq->nh - 1].value, more);
		free(rq->h[rq->nh - 1].value);
		rq->h[rq->nh - 1].value = joined;
		free(more);
		return;
	}
	if (!colon || colon == line || memchr(line, ' ', (size_t)(colon - line)))
		die(PCA_EXIT_DATAERR, "%s:%lu: not a header line (\"Name: value\")", rq->path, lineno);
	rq->h = pca_reallocarray(rq->h, rq->nh + 1, sizeof *rq->h);
	rq->h[rq->nh++] = (struct header){ line, (size_t)(colon - line),
	    trimmed(colon + 1, n - (size_t)(colon + 1 - line)) };
}

static const char *
header_find(const struct request *rq, const char *name)
{
	const char *found = NULL;

	for (size_t i = 0; i < rq->nh; i++) {
		if (rq->h[i].nlen != strlen(name) || strncasecmp(rq->h[i].name, name, rq->h[i].nlen))
			continue;
		if (found)
			die(PCA_EXIT_FAILED, "malformed %s header (it appears twice in %s)", name,
			    rq->path);
		found = rq->h[i].value;
	}
	return found;
}

/* The body of a whole request: Content-Length bytes when it says, else all
 * that follows the blank line. */
static void
cut_body(struct request *rq, const char *rest, size_t n)
{
	const char *cl = header_find(rq, "Content-Length"), *te = header_find(rq, "Transfer-Encoding");
	unsigned long long want;
	char *end;

	rq->body = rest;
	rq->len = n;
	if (te && strcasecmp(te, "identity") != 0)
		die(PCA_EXIT_DATAERR, "%s: a body with Transfer-Encoding %s: save the decoded body "
		    "instead", rq->path, te);
	if (!cl)
		return;
	want = strtoull(cl, &end, 10);
	if (!*cl || *end || strspn(cl, "0123456789") != strlen(cl))
		die(PCA_EXIT_DATAERR, "%s: Content-Length is not a number", rq->path);
	if (want > n)
		die(PCA_EXIT_DATAERR, "%s: Content-Length %llu, but only %zu bytes follow the headers",
		    rq->path, want, n);
	rq->len = (size_t)want;
}

static void
parse_request(struct request *rq, const char *path)
{
	struct pca_err err = PCA_ERR_INIT;
	const char *p, *end, *nl;
	unsigned long lineno = 0;

	rq->path = strcmp(path, "-") == 0 ? "<stdin>" : path;
	if (read_file(path, &rq->raw, &err) < 0)
		die(PCA_EXIT_NOINPUT, "%s", err.msg);
	p = rq->raw.data ? rq->raw.data : "";
	end = p + rq->raw.len;
	while (p < end) {
		size_t n;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl ? nl : end) - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		lineno++;
		if (n == 0) {
			p = nl ? nl + 1 : end;
			rq->has_body = rq->request_line || p < end;
			break;
		}
		if (lineno == 1 && is_request_line(p, n))
			rq->request_line = true;
		else
			add_header(rq, p, n, lineno);
		p = nl ? nl + 1 : end;
	}
	if (rq->request_line)
		rq->has_body = true;
	if (rq->has_body)
		cut_body(rq, p, (size_t)(end - p));
}

static void
request_free(struct request *rq)
{
	for (size_t i = 0; i < rq->nh; i++)
		free(rq->h[i].value);
	free(rq->h);
	pca_buf_free(&rq->raw);
}

/* Svix sends the same headers under svix-*; webhook-* wins when both are there. */
static void
standard_headers(const struct request *rq, struct pca_delivery *d)
{
	const char *sig = header_find(rq, "webhook-signature"), *id = header_find(rq, "webhook-id"),
	    *ts = header_find(rq, "webhook-timestamp");

	if (!sig && !id && !ts) {
		sig = header_find(rq, "svix-signature");
		id = header_find(rq, "svix-id");
		ts = header_find(rq, "svix-timestamp");
	}
	d->id = id;
	d->timestamp = ts;
	d->signature = sig;
}

static void
delivery_from_headers(const struct request *rq, enum pca_scheme scheme, struct pca_delivery *d)
{
	switch (scheme) {
	case PCA_SCHEME_STANDARD:
		standard_headers(rq, d);
		break;
	case PCA_SCHEME_GITHUB:
		d->signature = header_find(rq, "X-Hub-Signature-256");
		if (!d->signature)
			d->signature = header_find(rq, "X-Hub-Signature");
		break;
	default:
		d->signature = header_find(rq, pca_scheme_header(scheme));
	}
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
	struct request rq = { 0 };
	struct pca_buf body = PCA_BUF_INIT, reason = PCA_BUF_INIT;
	enum pca_verdict verdict;

	if (o->headers) {
		parse_request(&rq, o->headers);
		delivery_from_headers(&rq, o->scheme, &d);
		if (rq.has_body && o->body)
			pca_usage_fail(synopsis, "%s holds the whole request, body included: give no "
			    "BODY-FILE", rq.path);
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
	request_free(&rq);
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

struct batch {
	struct pca_verifier *v;
	const struct options *o;
	json_tokener *tok;
	struct pca_buf file_body;       /* BODY-FILE, for entries logged without theirs */
	char file_sha[2 * 32 + 1];
	bool have_file;
	struct pca_buf out, reason, ts;
	unsigned long entries, invalid, rejected;
};

static void
sha256_hex(const void *p, size_t n, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static const char *
field_str(json_object *o, const char *key, size_t *len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* The timestamp as the text that was signed: an integer as its digits, a
 * string as it is; anything else as its JSON, which the verifier rejects. */
static const char *
field_timestamp(struct batch *b, json_object *o)
{
	json_object *v;

	if (!json_object_object_get_ex(o, "timestamp", &v) || json_object_is_type(v, json_type_null))
		return NULL;
	pca_buf_reset(&b->ts);
	if (json_object_is_type(v, json_type_int))
		pca_buf_addf(&b->ts, "%" PRId64, json_object_get_int64(v));
	else if (json_object_is_type(v, json_type_string))
		pca_buf_adds(&b->ts, json_object_get_string(v));
	else
		pca_buf_adds(&b->ts, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	return b->ts.data;
}

static void
emit(struct batch *b, unsigned long line, const char *id, const char *verdict, const char *reason)
{
	bool valid = strcmp(verdict, "valid") == 0;

	pca_buf_reset(&b->out);
	pca_buf_addf(&b->out, "{\"line\":%lu,\"webhook_id\":", line);
	if (id)
		pca_json_write_string(&b->out, id, strlen(id));
	else
		pca_buf_adds(&b->out, "null");
	pca_buf_addf(&b->out, ",\"valid\":%s,\"verdict\":\"%s\",\"reason\":", valid ? "true" : "false",
	    verdict);
	pca_json_write_string(&b->out, reason, strlen(reason));
	pca_buf_adds(&b->out, "}\n");
	pca_out(b->out.data, b->out.len);
	if (!valid)
		b->invalid++;
}

/* The time the entry was sent, unless the command line says otherwise. */
static bool
entry_now(struct batch *b, json_object *o, int64_t *now)
{
	struct pca_err err = PCA_ERR_INIT;
	const char *at;
	int64_t ms;

	if (b->o->have_now || b->o->no_timestamp) {
		*now = b->o->now;
		return true;
	}
	if (!(at = field_str(o, "at", NULL)) || pca_time_parse(at, &ms, &err) < 0) {
		pca_err_clear(&err);
		return false;
	}
	*now = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	return true;
}

/* The body: logged with --log-bodies, or else BODY-FILE if its hash is the
 * one logged. Returns the verdict name when there is none to check. */
static const char *
entry_body(struct batch *b, json_object *o, struct pca_delivery *d)
{
	const char *sha;

	if ((d->body = field_str(o, "body", &d->len)))
		return NULL;
	if (!b->have_file)
		return "no_body";
	sha = field_str(o, "body_sha256", NULL);
	if (!sha || strcasecmp(sha, b->file_sha) != 0)
		return "body_mismatch";
	d->body = b->file_body.data ? b->file_body.data : "";
	d->len = b->file_body.len;
	return NULL;
}

static void
check_entry(struct batch *b, json_object *o, unsigned long line)
{
	struct pca_delivery d = { NULL, NULL, NULL, NULL, NULL, 0 };
	const char *missing;
	enum pca_verdict verdict;
	int64_t now;

	d.id = field_str(o, "webhook_id", NULL);
	d.timestamp = field_timestamp(b, o);
	d.signature = field_str(o, "signature", NULL);
	if ((missing = entry_body(b, o, &d))) {
		emit(b, line, d.id, missing, strcmp(missing, "no_body") == 0 ?
		    "no body in the log (run pca-webhook with --log-bodies)" :
		    "BODY-FILE is not the body of this entry (its sha256 differs from body_sha256)");
		return;
	}
	if (!entry_now(b, o, &now)) {
		emit(b, line, d.id, "malformed", "no RFC 3339 \"at\" time in the entry to check the "
		    "timestamp against (give --now or --no-timestamp)");
		return;
	}
	pca_buf_reset(&b->reason);
	verdict = pca_verify(b->v, &d, now, tolerance(b->o), &b->reason);
	emit(b, line, d.id, pca_verdict_name(verdict), b->reason.data);
}

static void
check_line(struct batch *b, const char *text, size_t len, const char *file, unsigned long line)
{
	json_object *o;

	json_tokener_reset(b->tok);
	o = json_tokener_parse_ex(b->tok, text, (int)len);
	if (!o) {
		/* json-c 0.16's reset keeps a pending high surrogate, which would
		 * change the next entry's body: a failed line costs a tokener. */
		json_tokener_free(b->tok);
		b->tok = json_tokener_new();
	}
	if (!o || !json_object_is_type(o, json_type_object) ||
	    strspn(text + json_tokener_get_parse_end(b->tok), " \t\r") !=
	    len - json_tokener_get_parse_end(b->tok)) {
		pca_warn_at(file, line, "not a log entry (a JSON object a line)");
		emit(b, line, NULL, "not_an_entry", "not a log entry (a JSON object a line)");
		b->rejected++;
	} else {
		check_entry(b, o, line);
	}
	b->entries++;
	json_object_put(o);
}

static int
batch_status(const struct batch *b, const char *name)
{
	if (b->invalid && !b->o->quiet)
		pca_warn("%s: %lu of %lu entries invalid", name, b->invalid, b->entries);
	else if (!b->invalid && !b->rejected && b->o->verbose)
		pca_warn("%s: %lu entries, all valid", name, b->entries);
	if (b->rejected)
		return PCA_EXIT_DATAERR;
	return b->invalid ? PCA_EXIT_FAILED : PCA_EXIT_OK;
}

static int
verify_log(struct pca_verifier *v, const struct options *o)
{
	struct batch b = { .v = v, .o = o };
	struct pca_err err = PCA_ERR_INIT;
	struct pca_reader rd;
	char *line;
	size_t len;
	int rc = 0, status;

	if (o->body) {
		read_body(o->body, &b.file_body);
		sha256_hex(b.file_body.data ? b.file_body.data : "", b.file_body.len, b.file_sha);
		b.have_file = true;
	}
	if (pca_reader_open(&rd, o->log, &err) < 0)
		die(PCA_EXIT_NOINPUT, "%s", err.msg);
	b.tok = json_tokener_new();
	while (pca_stdout_ok() && (rc = pca_reader_next(&rd, &line, &len, &err)) > 0)
		check_line(&b, line, len, rd.name, rd.lineno);
	if (rc < 0)
		die(PCA_EXIT_NOINPUT, "%s", err.msg);
	status = batch_status(&b, rd.name);
	json_tokener_free(b.tok);
	pca_reader_close(&rd);
	pca_buf_free(&b.file_body);
	pca_buf_free(&b.out);
	pca_buf_free(&b.reason);
	pca_buf_free(&b.ts);
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
