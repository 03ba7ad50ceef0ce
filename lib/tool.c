#include "tool.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <yaml.h>

#include "alloc.h"
#include "jsonl.h"
#include "pca-build.h"
#include "progress.h"

static const char *progname = "pca";
static int stdout_errno; /* errno of the first failed write to stdout */

int
pca_outcome_status(const struct pca_outcome *o)
{
	if (o->config)
		return PCA_EXIT_CONFIG;
	if (o->usage)
		return PCA_EXIT_USAGE;
	if (o->ioerr)
		return PCA_EXIT_IOERR;
	if (o->noinput)
		return PCA_EXIT_NOINPUT;
	if (o->rejected)
		return PCA_EXIT_DATAERR;
	if (o->failed)
		return PCA_EXIT_FAILED;
	if (o->spooled)
		return PCA_EXIT_TEMPFAIL;
	return PCA_EXIT_OK;
}

static void
out_of_memory(size_t n)
{
	/* No allocation here: print with what is left and go. */
	fprintf(stderr, "%s: out of memory (wanted %zu bytes)\n", progname, n);
	_exit(PCA_EXIT_OSERR);
}

void
pca_tool_init(const char *name)
{
	static char outbuf[1 << 16];

	progname = name;
	pca_set_oom_handler(out_of_memory);
	/* Records and payloads of a few megabytes come and go all the time;
	 * giving that memory back to the kernel after each, and mapping it anew
	 * for the next, cost a sending run more than half its time. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
}

const char *
pca_tool_name(void)
{
	return progname;
}

void
pca_warn(const char *fmt, ...)
{
	va_list ap;

	pca_progress_hide();
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
pca_warn_at(const char *file, unsigned long line, const char *fmt, ...)
{
	va_list ap;

	pca_progress_hide();
	fprintf(stderr, "%s: %s:%lu: ", progname, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
pca_usage_fail(const char *synopsis, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\nTry '%s --help' for more.\n", synopsis, progname);
	exit(PCA_EXIT_USAGE);
}

/* The long option argv[optind - 1] names, when getopt's complaint is about
 * it rather than about a short option inside a cluster. */
static const struct option *
long_option_at_fault(const struct option *longopts, const char *arg)
{
	size_t n;

	if (strncmp(arg, "--", 2) != 0)
		return NULL;
	n = strcspn(arg + 2, "=");
	for (const struct option *o = longopts; o && o->name; o++)
		if (strlen(o->name) == n && strncmp(o->name, arg + 2, n) == 0 &&
		    (optopt == 0 || optopt == o->val))
			return o;
	return NULL;
}

void
pca_usage_bad_option(const char *synopsis, const struct option *longopts, char **argv, int c)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	const struct option *lo = long_option_at_fault(longopts, arg);
	size_t n = strcspn(arg, "=");

	if (lo && c == ':')
		pca_usage_fail(synopsis, "option --%s needs a value", lo->name);
	if (lo && lo->has_arg == no_argument && arg[n] == '=')
		pca_usage_fail(synopsis, "option --%s takes no value", lo->name);
	if (strncmp(arg, "--", 2) == 0 && optopt == 0)
		pca_usage_fail(synopsis, "unknown option %.*s", (int)n, arg);
	if (c == ':')
		pca_usage_fail(synopsis, "option -%c needs a value", optopt);
	pca_usage_fail(synopsis, "unknown option -%c", optopt);
}

/* Weak: a program that does not link a library (pca-verify has no use for
 * libcurl, and loading it would double its start-up time) says nothing of
 * it, rather than linking it just to print its version. */
#pragma weak curl_version_info
#pragma weak yaml_get_version_string
#pragma weak sqlite3_libversion

void
pca_print_version(FILE *fp)
{
	const curl_version_info_data *cv;

	fprintf(fp, "%s %s\n", progname, PCA_VERSION);
	fprintf(fp, "json-c %s, %s", json_c_version(), OpenSSL_version(OPENSSL_VERSION));
	if (curl_version_info && (cv = curl_version_info(CURLVERSION_NOW)))
		fprintf(fp, ", libcurl %s (%s)", cv->version, cv->ssl_version ? cv->ssl_version :
		    "no TLS");
	if (yaml_get_version_string)
		fprintf(fp, ", libyaml %s", yaml_get_version_string());
	if (sqlite3_libversion)
		fprintf(fp, ", SQLite %s", sqlite3_libversion());
	fprintf(fp, "\nbuild: %s\n", PCA_BUILD_OPTIONS);
}

int
pca_rejects_open(struct pca_rejects *rj, const char *path, struct pca_err *err)
{
	memset(rj, 0, sizeof *rj);
	if (!path)
		return 0;
	rj->fp = fopen(path, "a");
	if (!rj->fp)
		return pca_err_set(err, "--rejects %s: %s", path, strerror(errno));
	rj->path = pca_strdup(path);
	return 0;
}

void
pca_reject(struct pca_rejects *rj, const char *file, unsigned long line, const char *text,
	size_t len, const char *why)
{
	pca_warn_at(file, line, "%s", why);
	if (rj->fp) {
		errno = 0;
		if ((fwrite(text, 1, len, rj->fp) != len || fputc('\n', rj->fp) == EOF) && !rj->error)
			rj->error = errno ? errno : EIO;
	} else {
		fprintf(stderr, "%s:%lu: ", file, line);
		fwrite(text, 1, len, stderr);
		fputc('\n', stderr);
	}
}

bool
pca_rejects_close(struct pca_rejects *rj)
{
	bool ok = true;

	errno = 0;
	if (rj->fp && (ferror(rj->fp) | fclose(rj->fp))) {
		pca_warn("--rejects %s: write error: %s", rj->path,
		    strerror(rj->error ? rj->error : errno ? errno : EIO));
		ok = false;
	}
	free(rj->path);
	memset(rj, 0, sizeof *rj);
	return ok;
}

bool
pca_out(const void *p, size_t n)
{
	errno = 0;
	if (fwrite(p, 1, n, stdout) != n && !stdout_errno)
		stdout_errno = errno ? errno : EIO;
	return !ferror(stdout);
}

bool
pca_stdout_ok(void)
{
	if (!ferror(stdout))
		return true;
	if (!stdout_errno)
		stdout_errno = errno ? errno : EIO;
	return false;
}

int
pca_tool_finish(int status)
{
	bool bad = !pca_stdout_ok();

	errno = 0;
	if (fclose(stdout) != 0 || bad) {
		pca_warn("writing output failed: %s", strerror(stdout_errno ? stdout_errno :
		    errno ? errno : EIO));
		return status == PCA_EXIT_CONFIG || status == PCA_EXIT_USAGE ? status : PCA_EXIT_IOERR;
	}
	return status;
}

bool
pca_tool_take_record(struct pca_parser *p, const struct pca_reader *rd, const char *line,
	size_t len, struct pca_rejects *rj, struct pca_outcome *o, struct pca_call *call)
{
	struct pca_err err = PCA_ERR_INIT;

	if (pca_record_parse(p, line, len, call, &err) == 0)
		return true;
	pca_reject(rj, rd->name, rd->lineno, line, len, err.msg);
	pca_err_clear(&err);
	o->rejected++;
	return false;
}

int
pca_tool_each_file(char **files, int nfiles, struct pca_outcome *o, pca_file_fn *fn, void *ud)
{
	static char *dash[] = { "-" };
	struct pca_parser *p = pca_parser_new();
	struct pca_reader rd;
	struct pca_err err = PCA_ERR_INIT;
	int rc = 0;

	if (nfiles == 0) {
		files = dash;
		nfiles = 1;
	}
	for (int i = 0; i < nfiles && rc == 0 && pca_stdout_ok(); i++) {
		if (pca_reader_open(&rd, files[i], &err) < 0) {
			pca_warn("%s", err.msg);
			pca_err_clear(&err);
			o->noinput++;
			continue;
		}
		rc = fn(ud, &rd, p);
		pca_reader_close(&rd);
	}
	pca_parser_free(p);
	return rc;
}

struct record_loop {
	struct pca_rejects *rj;
	struct pca_outcome *o;
	pca_record_fn *fn;
	void *ud;
};

static int
each_line(void *ud, struct pca_reader *rd, struct pca_parser *p)
{
	struct record_loop *l = ud;
	struct pca_err err = PCA_ERR_INIT;
	struct pca_call call;
	char *line;
	size_t len;
	int rc = 0;

	while (pca_stdout_ok() && (rc = pca_reader_next(rd, &line, &len, &err)) > 0) {
		if (!pca_tool_take_record(p, rd, line, len, l->rj, l->o, &call))
			continue;
		rc = l->fn(l->ud, &call, rd->name, rd->lineno);
		pca_call_release(&call);
		if (rc < 0)
			return -1;
	}
	if (rc < 0) {
		pca_warn("%s", err.msg);
		pca_err_clear(&err);
		l->o->noinput++;
	}
	return 0;
}

int
pca_tool_each_record(char **files, int nfiles, struct pca_rejects *rj, struct pca_outcome *o,
	pca_record_fn *fn, void *ud)
{
	struct record_loop l = { rj, o, fn, ud };

	return pca_tool_each_file(files, nfiles, o, each_line, &l);
}

