#include "smtp.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"

extern char **environ;

/* Only what the server says (CURLINFO_HEADER_IN) is read: what we send
 * includes AUTH, which must never reach a log or an error. */
static int
watch_replies(CURL *e, curl_infotype type, char *data, size_t size, void *ud)
{
	struct pca_smtp_call *c = ud;
	const char *p = data, *end = data + size, *nl;

	(void)e;
	if (type != CURLINFO_HEADER_IN)
		return 0;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		size_t n = (size_t)(nl - p);
		while (n && (p[n - 1] == '\r' || p[n - 1] == '\n'))
			n--;
		if (n >= 3 && isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2])) {
			c->reply_code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
			pca_buf_reset(&c->reply);
			pca_buf_add(&c->reply, p, n < 300 ? n : 300);
			if (c->reply_code == 235)
				c->authenticated = true;
			/* What follows a refusal (QUIT's 221) must not hide it. */
			if (c->reply_code >= 400 && !c->refusal_code) {
				c->refusal_code = c->reply_code;
				pca_buf_add(&c->refusal, p, n < 300 ? n : 300);
			}
		}
		if (nl == end)
			break;
	}
	return 0;
}

static bool
reused_connection(struct pca_smtp_call *c)
{
	long made = 1;

	return curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &made) == CURLE_OK && made == 0;
}

static size_t
read_message(char *buf, size_t size, size_t n, void *ud)
{
	struct pca_smtp_call *c = ud;
	size_t room = size * n, left = c->len - c->sent, k = left < room ? left : room;

	/* libcurl goes on without AUTH when the server offers none; a message
	 * for an account that must log in is held back instead. A reused
	 * connection logged in when it was made (libcurl matches connections
	 * by credentials), so only a new one must have seen the 235. */
	if (c->need_auth && !c->authenticated && c->sent == 0 && !reused_connection(c)) {
		c->refused_unauthenticated = true;
		return CURL_READFUNC_ABORT;
	}
	memcpy(buf, c->data + c->sent, k);
	c->sent += k;
	return k;
}

static void
set_tls(CURL *e, const struct pca_smtp_opts *o)
{
	long use = o->tls == PCA_TLS_NONE ? CURLUSESSL_NONE : o->tls == PCA_TLS_OPTIONAL ?
	    CURLUSESSL_TRY : CURLUSESSL_ALL;

	curl_easy_setopt(e, CURLOPT_USE_SSL, use);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
}

static void
set_auth(CURL *e, const struct pca_smtp_opts *o)
{
	if (!o->user)
		return;
	curl_easy_setopt(e, CURLOPT_USERNAME, o->user);
	if (o->oauth2_token) {
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, o->oauth2_token);
		curl_easy_setopt(e, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
	} else if (o->password) {
		curl_easy_setopt(e, CURLOPT_PASSWORD, o->password);
	}
	/* The credentials with the AUTH command: one round trip less. */
	curl_easy_setopt(e, CURLOPT_SASL_IR, 1L);
}

int
pca_smtp_prepare(struct pca_smtp_call *c, const struct pca_smtp_opts *o, const char *address,
	const char *message, size_t len, struct pca_err *err)
{
	struct pca_buf b = PCA_BUF_INIT;
	CURL *e;

	memset(c, 0, sizeof *c);
	c->data = message;
	c->len = len;
	if (!(e = c->easy = curl_easy_init()))
		return pca_err_set(err, "libcurl could not start a transfer");
	pca_buf_addf(&b, "<%s>", address);
	c->rcpt = curl_slist_append(NULL, b.data);
	pca_buf_reset(&b);
	pca_buf_addf(&b, "<%s>", o->envelope_from);
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_MAIL_FROM, b.data);
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, c->rcpt);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, read_message);
	curl_easy_setopt(e, CURLOPT_READDATA, c);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	/* Also for the QUIT libcurl sends on a failed connection, which would
	 * otherwise wait two minutes and hold every other transfer meanwhile. */
	curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT, o->timeout_ms / 1000 > 0 ?
	    o->timeout_ms / 1000 : 1L);
	c->need_auth = o->user != NULL;
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms < 10000 ? o->timeout_ms : 10000L);
	curl_easy_setopt(e, CURLOPT_VERBOSE, 1L); /* feeds watch_replies, which prints nothing */
	curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, watch_replies);
	curl_easy_setopt(e, CURLOPT_DEBUGDATA, c);
	set_tls(e, o);
	set_auth(e, o);
	pca_buf_free(&b);
	return 0;
}

void
pca_smtp_call_cleanup(struct pca_smtp_call *c)
{
	if (c->easy)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->rcpt);
	pca_buf_free(&c->reply);
	pca_buf_free(&c->refusal);
	memset(c, 0, sizeof *c);
}

void
pca_smtp_outcome_clear(struct pca_smtp_outcome *o)
{
	pca_buf_free(&o->message);
}

static bool
tls_failure(CURLcode rc)
{
	return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
	    rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE ||
	    rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_CIPHER;
}

/* No SMTP verdict to go by: judge by what libcurl says went wrong. */
static void
network_outcome(struct pca_smtp_call *c, CURLcode rc, struct pca_smtp_outcome *out)
{
	out->temporary = true;
	out->code = 0; /* the last reply (EHLO's 250) says nothing of this failure */
	if (c->refused_unauthenticated) {
		out->class = "auth";
		out->temporary = false;
		pca_buf_adds(&out->message, "the server offered no authentication but a user is "
		    "configured: the message was held back");
		return;
	}
	if (rc == CURLE_USE_SSL_FAILED) {
		out->class = "tls_required";
		out->temporary = false;
		pca_buf_adds(&out->message, "the server does not offer STARTTLS and TLS is required: "
		    "nothing was sent");
		return;
	}
	if (tls_failure(rc)) {
		out->class = "tls";
		out->temporary = false;
	} else if (rc == CURLE_LOGIN_DENIED) {
		out->class = "auth";
		out->temporary = false;
	} else if (rc == CURLE_COULDNT_RESOLVE_HOST) {
		out->class = "dns";
	} else if (rc == CURLE_COULDNT_CONNECT) {
		out->class = "connect";
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		out->class = "timeout";
	} else {
		out->class = "reset";
	}
	/* The whole message left and no verdict came: it may have been taken.
	 * The sender cannot tell a cut while the server still read from one after
	 * the final dot, so both count as ambiguous. */
	out->ambiguous = c->len > 0 && c->sent == c->len &&
	    (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
	    rc == CURLE_SEND_ERROR);
	pca_buf_adds(&out->message, c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
}

void
pca_smtp_outcome(struct pca_smtp_call *c, CURLcode rc, struct pca_smtp_outcome *out)
{
	curl_off_t total = 0;

	memset(out, 0, sizeof *out);
	curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &total);
	out->latency_ms = (int64_t)(total / 1000);
	out->code = c->reply_code;
	if (rc == CURLE_OK) {
		out->delivered = true;
		pca_buf_add(&out->message, c->reply.data ? c->reply.data : "", c->reply.len);
		return;
	}
	/* The server said no: its reply code decides, 4xx again later, 5xx never. */
	if (c->refusal_code && !tls_failure(rc) && rc != CURLE_USE_SSL_FAILED) {
		out->code = c->refusal_code;
		snprintf(out->classbuf, sizeof out->classbuf, "smtp_%d", c->refusal_code);
		out->class = out->classbuf;
		out->temporary = c->refusal_code < 500;
		pca_buf_add(&out->message, c->refusal.data ? c->refusal.data : "", c->refusal.len);
		return;
	}
	network_outcome(c, rc, out);
}

/* ---- a local MTA ---- */

static void
lf_only(struct pca_buf *out, const char *s, size_t len)
{
	size_t run = 0;

	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] == '\r' && s[i + 1] == '\n') {
			pca_buf_add(out, s + run, i - run);
			run = i + 1;
		}
	}
	pca_buf_add(out, s + run, len - run);
}

static bool
feed(int fd, const char *s, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

void
pca_sendmail(const char *program, const char *from, const char *address, const char *message,
	size_t len, struct pca_smtp_outcome *out)
{
	char *argv[] = { (char *)program, "-i", "-f", (char *)from, "--", (char *)address, NULL };
	posix_spawn_file_actions_t fa;
	struct pca_buf text = PCA_BUF_INIT;
	int fds[2], status = 0, rc;
	pid_t pid;

	memset(out, 0, sizeof *out);
	if (pipe(fds) < 0) {
		out->class = "sendmail";
		out->temporary = true;
		pca_buf_addf(&out->message, "pipe: %s", strerror(errno));
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	rc = posix_spawn(&pid, program, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (rc == 0) {
		lf_only(&text, message, len);
		feed(fds[1], text.data ? text.data : "", text.len);
	}
	close(fds[1]);
	pca_buf_free(&text);
	if (rc == 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		out->delivered = true;
		return;
	}
	out->class = "sendmail";
	out->temporary = rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 75;
	if (rc != 0)
		pca_buf_addf(&out->message, "%s: %s", program, strerror(rc));
	else if (WIFEXITED(status))
		pca_buf_addf(&out->message, "%s exited with %d", program, WEXITSTATUS(status));
	else
		pca_buf_addf(&out->message, "%s was killed by signal %d", program, WTERMSIG(status));
}
