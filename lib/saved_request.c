#include "saved_request.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"

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

static int
add_header(struct pca_saved_request *rq, const char *line, size_t n, unsigned long lineno,
	struct pca_err *err)
{
	const char *colon = memchr(line, ':', n);
	struct pca_saved_header *last;
	char *more, *joined;

	if ((*line == ' ' || *line == '\t') && rq->nh > 0) {
		last = &rq->h[rq->nh - 1];
		more = trimmed(line, n);
		joined = pca_asprintf("%s %s", last->value, more);
		free(last->value);
		free(more);
		last->value = joined;
		return 0;
	}
	if (!colon || colon == line || memchr(line, ' ', (size_t)(colon - line)))
		return pca_err_set(err, "%s:%lu: not a header line (\"Name: value\")", rq->name,
		    lineno);
	rq->h = pca_reallocarray(rq->h, rq->nh + 1, sizeof *rq->h);
	rq->h[rq->nh++] = (struct pca_saved_header){ line, (size_t)(colon - line),
	    trimmed(colon + 1, n - (size_t)(colon + 1 - line)) };
	return 0;
}

int
pca_saved_request_header(const struct pca_saved_request *rq, const char *name,
	const char **value, struct pca_err *err)
{
	size_t len = strlen(name);

	*value = NULL;
	for (size_t i = 0; i < rq->nh; i++) {
		if (rq->h[i].nlen != len || strncasecmp(rq->h[i].name, name, len) != 0)
			continue;
		if (*value)
			return pca_err_setc(err, "duplicate", "malformed %s header (it appears twice "
			    "in %s)", name, rq->name);
		*value = rq->h[i].value;
	}
	return 0;
}

/* Content-Length bytes of what follows the headers, when it says. */
static int
cut_body(struct pca_saved_request *rq, const char *rest, size_t n, struct pca_err *err)
{
	const char *cl, *te;
	unsigned long long want;
	char *end;

	rq->body = rest;
	rq->len = n;
	if (pca_saved_request_header(rq, "Content-Length", &cl, err) < 0 ||
	    pca_saved_request_header(rq, "Transfer-Encoding", &te, err) < 0)
		return -1;
	if (te && strcasecmp(te, "identity") != 0)
		return pca_err_set(err, "%s: a body with Transfer-Encoding %s: save the decoded "
		    "body instead", rq->name, te);
	if (!cl)
		return 0;
	want = strtoull(cl, &end, 10);
	if (!*cl || *end || strspn(cl, "0123456789") != strlen(cl))
		return pca_err_set(err, "%s: Content-Length is not a number", rq->name);
	if (want > n)
		return pca_err_set(err, "%s: Content-Length %llu, but only %zu bytes follow the "
		    "headers", rq->name, want, n);
	rq->len = (size_t)want;
	return 0;
}

int
pca_saved_request_parse(struct pca_saved_request *rq, const char *name, struct pca_buf *raw,
	struct pca_err *err)
{
	const char *p, *end, *nl;
	unsigned long lineno = 0;
	size_t n;

	memset(rq, 0, sizeof *rq);
	rq->name = name;
	rq->raw = *raw;
	*raw = (struct pca_buf)PCA_BUF_INIT;
	p = rq->raw.data ? rq->raw.data : "";
	end = p + rq->raw.len;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl ? nl : end) - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		lineno++;
		if (n == 0) {
			p = nl ? nl + 1 : end;
			rq->has_body = p < end;
			break;
		}
		if (lineno == 1 && is_request_line(p, n))
			rq->request_line = true;
		else if (add_header(rq, p, n, lineno, err) < 0)
			return -1;
		p = nl ? nl + 1 : end;
	}
	if (rq->request_line)
		rq->has_body = true;
	return rq->has_body ? cut_body(rq, p, (size_t)(end - p), err) : 0;
}

/* Svix sends the same headers under svix-*; webhook-* wins when both are there. */
static int
standard_headers(const struct pca_saved_request *rq, struct pca_delivery *d, struct pca_err *err)
{
	static const char *const names[2][3] = {
		{ "webhook-id", "webhook-timestamp", "webhook-signature" },
		{ "svix-id", "svix-timestamp", "svix-signature" },
	};

	for (int set = 0; set < 2; set++) {
		if (pca_saved_request_header(rq, names[set][0], &d->id, err) < 0 ||
		    pca_saved_request_header(rq, names[set][1], &d->timestamp, err) < 0 ||
		    pca_saved_request_header(rq, names[set][2], &d->signature, err) < 0)
			return -1;
		if (d->id || d->timestamp || d->signature)
			break;
	}
	return 0;
}

int
pca_saved_request_delivery(const struct pca_saved_request *rq, enum pca_scheme scheme,
	struct pca_delivery *d, struct pca_err *err)
{
	switch (scheme) {
	case PCA_SCHEME_STANDARD:
		return standard_headers(rq, d, err);
	case PCA_SCHEME_GITHUB:
		if (pca_saved_request_header(rq, "X-Hub-Signature-256", &d->signature, err) < 0)
			return -1;
		if (!d->signature)
			return pca_saved_request_header(rq, "X-Hub-Signature", &d->signature, err);
		return 0;
	default:
		return pca_saved_request_header(rq, pca_scheme_header(scheme), &d->signature, err);
	}
}

void
pca_saved_request_free(struct pca_saved_request *rq)
{
	for (size_t i = 0; i < rq->nh; i++)
		free(rq->h[i].value);
	free(rq->h);
	pca_buf_free(&rq->raw);
	rq->h = NULL;
	rq->nh = 0;
}
