/* HTTP requests for the senders, over libcurl, with the safety rules a
 * webhook sender needs:
 *
 * - never follow redirects (a 3xx is an answer, not a new place to go);
 * - TLS verified always (a private CA with cacert);
 * - https only, unless http is allowed;
 * - no connection to loopback, private, link-local, CGNAT, multicast or
 *   reserved addresses (IPv4, IPv6, and IPv4 mapped into IPv6), checked on
 *   the address actually connected to, after DNS, so a hostname that
 *   resolves to 127.0.0.1 is refused too; unless private addresses are
 *   allowed, in all or for listed networks;
 * - no proxy from the environment, so that the check above means what it says;
 * - HTTP/1.1 (Debian's libcurl cannot reuse cleartext HTTP/2 connections).
 *
 * One struct pca_http_call is one attempt. Prepare it, run its easy handle
 * (alone or in a multi handle), then read the outcome.
 */
#ifndef PCA_HTTP_H
#define PCA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "buf.h"
#include "err.h"

#define PCA_HTTP_KEEP_RESPONSE 4096

struct pca_netlist;

struct pca_http_opts {
	bool allow_private;             /* every address allowed */
	const struct pca_netlist *allow;/* or only these networks, or NULL */
	bool allow_http;                /* http:// as well as https:// */
	const char *cacert;             /* CA bundle, or NULL for the system's */
	const char *user_agent;
};

/* Networks in CIDR notation ("10.0.0.0/8", "fd00::/8", "127.0.0.1"). */
struct pca_netlist *pca_netlist_parse(char *const *cidrs, size_t n, struct pca_err *err);
void pca_netlist_free(struct pca_netlist *l);

/* Whether a connection to this address would be refused (not public, and
 * not allowed by opts). */
bool pca_http_address_blocked(const struct sockaddr *sa, const struct pca_http_opts *o);

/* Check a URL before using it: parseable, http(s) as allowed, a host, no
 * user:password part. */
int pca_http_check_url(const char *url, const struct pca_http_opts *o, struct pca_err *err);

/* "https://host/…": what a result or log may show of a URL. */
void pca_http_redact_url(struct pca_buf *out, const char *url);

struct pca_http_call {
	CURL *easy;
	struct curl_slist *headers;
	const struct pca_http_opts *opts;
	struct pca_buf response;     /* the first PCA_HTTP_KEEP_RESPONSE bytes */
	char retry_after[64];        /* the raw Retry-After header, or "" */
	bool blocked;                /* the address check refused the connection */
	char blocked_addr[64];
	char errbuf[CURL_ERROR_SIZE];
	size_t body_len;
};

/* The outcome of one attempt. */
struct pca_http_outcome {
	long status;                 /* HTTP status, 0 when no answer */
	int64_t latency_ms;
	int64_t retry_after_ms;      /* from Retry-After, -1 when absent */
	const char *code;            /* NULL on 2xx; else "dns", "connect", "blocked_ip",
	                              * "tls", "timeout", "reset", "protocol", "redirect",
	                              * "http_<status>", "network" */
	struct pca_buf message;      /* one line for people */
	bool request_sent;           /* the whole request reached the network */
};

/* Set up a POST of body (the caller keeps it alive) with the given extra
 * headers ("Name: value", NULL-terminated). timeout_ms bounds the whole
 * attempt. */
int pca_http_prepare_post(struct pca_http_call *c, const struct pca_http_opts *o, const char *url,
	const char *const *headers, const void *body, size_t len, long timeout_ms,
	struct pca_err *err);

/* After the transfer finished with rc: classify it. now_ms is for an
 * HTTP-date Retry-After. */
void pca_http_outcome(struct pca_http_call *c, CURLcode rc, int64_t now_ms,
	struct pca_http_outcome *out);

/* Let libcurl send "Expect: 100-continue" after all: a request signed with
 * AWS SigV4 must not carry the empty "Expect:" that suppresses it, because
 * libcurl 7.88 signs that header without sending it. */
void pca_http_keep_expect(struct pca_http_call *c);

void pca_http_call_cleanup(struct pca_http_call *c);
void pca_http_outcome_clear(struct pca_http_outcome *o);

/* Retry-After: delta-seconds (an integer, or a decimal) or an HTTP-date.
 * Milliseconds from now, or -1 when it cannot be read. */
int64_t pca_http_retry_after(const char *value, int64_t now_ms);

#endif
