#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alloc.h"

/* ---- URLs ---- */

int
pca_http_check_url(const char *url, const struct pca_http_opts *o, struct pca_err *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL;
	int rc = -1;

	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		pca_err_set(err, "not a URL: \"%s\"", url);
		goto out;
	}
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	if (!scheme || (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0))
		pca_err_set(err, "not an http or https URL: \"%s\"", url);
	else if (strcmp(scheme, "http") == 0 && !o->allow_http)
		pca_err_set(err, "plain http is not allowed (use https, or allow http): %s", url);
	else if (!host || !*host)
		pca_err_set(err, "URL without a host: \"%s\"", url);
	else if (user)
		pca_err_set(err, "URL with a user name or password: credentials do not belong in URLs");
	else
		rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	return rc;
}

void
pca_http_redact_url(struct pca_buf *out, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;

	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		pca_buf_adds(out, "(invalid URL)");
	} else {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		curl_url_get(u, CURLUPART_PATH, &path, 0);
		pca_buf_addf(out, "%s://%s%s%s/%s", scheme, host, port ? ":" : "", port ? port : "",
		    path && strcmp(path, "/") != 0 ? "\xe2\x80\xa6" : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
}

/* ---- one attempt ---- */

static curl_socket_t
open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct pca_http_call *c = ud;

	(void)purpose;
	if (pca_http_address_blocked(&a->addr, c->opts)) {
		const void *raw = a->family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)(void *)&a->addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr;
		c->blocked = true;
		if (!inet_ntop(a->family, raw, c->blocked_addr, sizeof c->blocked_addr))
			snprintf(c->blocked_addr, sizeof c->blocked_addr, "?");
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static size_t
keep_response(char *data, size_t size, size_t n, void *ud)
{
	struct pca_http_call *c = ud;
	size_t len = size * n, room = PCA_HTTP_KEEP_RESPONSE - c->response.len;

	/* Read all of it (the connection stays usable), keep the start. */
	pca_buf_add(&c->response, data, len < room ? len : room);
	return len;
}

static size_t
read_header(char *data, size_t size, size_t n, void *ud)
{
	struct pca_http_call *c = ud;
	size_t len = size * n, vlen;
	const char *v;

	if (len > 12 && strncasecmp(data, "retry-after:", 12) == 0) {
		for (v = data + 12; v < data + len && (*v == ' ' || *v == '\t'); v++)
			;
		vlen = (size_t)(data + len - v);
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen >= sizeof c->retry_after)
			vlen = sizeof c->retry_after - 1;
		memcpy(c->retry_after, v, vlen);
		c->retry_after[vlen] = '\0';
	}
	return len;
}

static void
set_common(struct pca_http_call *c, const struct pca_http_opts *o, long timeout_ms)
{
	CURL *e = c->easy;

	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, o->allow_http ? "http,https" : "https");
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, c);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_response);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, read_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	if (o->user_agent)
		curl_easy_setopt(e, CURLOPT_USERAGENT, o->user_agent);
}

int
pca_http_prepare_post(struct pca_http_call *c, const struct pca_http_opts *o, const char *url,
	const char *const *headers, const void *body, size_t len, long timeout_ms,
	struct pca_err *err)
{
	memset(c, 0, sizeof *c);
	c->opts = o;
	c->body_len = len;
	c->easy = curl_easy_init();
	if (!c->easy)
		return pca_err_set(err, "libcurl could not start a transfer");
	set_common(c, o, timeout_ms);
	/* libcurl would add "Expect: 100-continue" for large bodies: a wasted
	 * round trip, and some receivers mishandle it. */
	c->headers = curl_slist_append(c->headers, "Expect:");
	for (size_t i = 0; headers && headers[i]; i++)
		c->headers = curl_slist_append(c->headers, headers[i]);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	return 0;
}

void
pca_http_keep_expect(struct pca_http_call *c)
{
	struct curl_slist *first = c->headers;

	/* "Expect:" is always the first header prepare_post adds. */
	if (!first || strcmp(first->data, "Expect:") != 0)
		return;
	c->headers = first->next;
	first->next = NULL;
	curl_slist_free_all(first);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
}

void
pca_http_call_cleanup(struct pca_http_call *c)
{
	if (c->easy)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	pca_buf_free(&c->response);
	memset(c, 0, sizeof *c);
}

/* ---- outcomes ---- */

static const char *
classify(CURLcode rc, bool blocked)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return "dns";
	case CURLE_COULDNT_CONNECT:
		return blocked ? "blocked_ip" : "connect";
	case CURLE_OPERATION_TIMEDOUT:
		return "timeout";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return "tls";
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return "reset";
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return "protocol";
	default:
		return "network";
	}
}

static void
status_outcome(struct pca_http_call *c, struct pca_http_outcome *out)
{
	static char code[16];
	const char *location = NULL;

	if (out->status >= 200 && out->status < 300)
		return;
	if (out->status >= 300 && out->status < 400) {
		out->code = "redirect";
		curl_easy_getinfo(c->easy, CURLINFO_REDIRECT_URL, &location);
		pca_buf_addf(&out->message, "HTTP %ld redirect%s%s (not followed)", out->status,
		    location ? " to " : "", location ? location : "");
		return;
	}
	/* One static buffer is enough: the codes are a small fixed set. */
	snprintf(code, sizeof code, "http_%ld", out->status);
	out->code = code;
	pca_buf_addf(&out->message, "HTTP %ld", out->status);
}

void
pca_http_outcome(struct pca_http_call *c, CURLcode rc, int64_t now_ms,
	struct pca_http_outcome *out)
{
	curl_off_t total = 0, uploaded = 0;

	memset(out, 0, sizeof *out);
	out->retry_after_ms = -1;
	curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &total);
	curl_easy_getinfo(c->easy, CURLINFO_SIZE_UPLOAD_T, &uploaded);
	out->latency_ms = (int64_t)(total / 1000);
	out->request_sent = (size_t)uploaded >= c->body_len &&
	    (rc == CURLE_OK || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR ||
	    rc == CURLE_GOT_NOTHING);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &out->status);
		if (c->retry_after[0])
			out->retry_after_ms = pca_http_retry_after(c->retry_after, now_ms);
		status_outcome(c, out);
		return;
	}
	out->code = classify(rc, c->blocked);
	if (c->blocked)
		pca_buf_addf(&out->message, "refused to connect to %s: not a public address "
		    "(allow private addresses to reach it)", c->blocked_addr);
	else
		pca_buf_adds(&out->message, c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
}

void
pca_http_outcome_clear(struct pca_http_outcome *o)
{
	pca_buf_free(&o->message);
}

int64_t
pca_http_retry_after(const char *value, int64_t now_ms)
{
	char *end;
	double secs;
	time_t when;

	while (*value == ' ')
		value++;
	if (isdigit((unsigned char)*value)) {
		errno = 0;
		secs = strtod(value, &end);
		while (*end == ' ')
			end++;
		if (errno || *end || secs < 0 || secs > 1e9)
			return -1;
		return (int64_t)(secs * 1000);
	}
	when = curl_getdate(value, NULL);
	if (when == (time_t)-1)
		return -1;
	return (int64_t)when * 1000 > now_ms ? (int64_t)when * 1000 - now_ms : 0;
}
