/* Program support: what every pca program does the same way.
 *
 * This is the one module of libpca that writes to the terminal and decides
 * exit statuses, on behalf of the programs in cmd/; nothing else in lib/
 * prints or exits.
 */
#ifndef PCA_TOOL_H
#define PCA_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <getopt.h>
#include <stdio.h>

#include "err.h"
#include "record.h"

/* Exit statuses, shared by every program (see pca(7)). */
enum {
	PCA_EXIT_OK = 0,
	PCA_EXIT_FAILED = 1,    /* some action failed (pca-verify: invalid) */
	PCA_EXIT_USAGE = 2,
	PCA_EXIT_DATAERR = 65,  /* some input lines were not records */
	PCA_EXIT_NOINPUT = 66,  /* an input file could not be read */
	PCA_EXIT_SOFTWARE = 70, /* an internal error */
	PCA_EXIT_OSERR = 71,    /* out of memory and the like */
	PCA_EXIT_IOERR = 74,    /* the output could not be written */
	PCA_EXIT_TEMPFAIL = 75, /* some actions were spooled for later */
	PCA_EXIT_CONFIG = 78,
};

/* What happened during a run; pca_outcome_status() turns it into the exit
 * status, the most important first: 78 > 2 > 74 > 66 > 65 > 1 > 75 > 0. */
struct pca_outcome {
	bool config, usage, ioerr;
	unsigned long noinput, rejected, failed, spooled;
	unsigned long read;   /* records read, for the progress line */
};

int pca_outcome_status(const struct pca_outcome *o);

/* Name the program for messages, ignore SIGPIPE (a closed pipe becomes a
 * write error we report), buffer stdout, and report running out of memory. */
void pca_tool_init(const char *name);
const char *pca_tool_name(void);

/* "name: message" on stderr. */
void pca_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "name: file:line: message" on stderr. */
void pca_warn_at(const char *file, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A usage mistake: "name: message", the synopsis, a hint to --help; exits 2. */
_Noreturn void pca_usage_fail(const char *synopsis, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* What getopt_long refused (c is ':' or '?'), said right for short options,
 * clusters (-qx), long options and --flag=value: then exits 2. */
struct option;
_Noreturn void pca_usage_bad_option(const char *synopsis, const struct option *longopts,
	char **argv, int c);

/* "name version" and the versions of the libraries it runs with. */
void pca_print_version(FILE *fp);

/* Lines that are not records go to the rejects file unchanged (--rejects),
 * or, by default, to stderr after the error line. The error line always goes
 * to stderr. */
struct pca_rejects {
	FILE *fp;      /* NULL: stderr */
	char *path;
	int error;     /* errno of the first failed write */
};

int pca_rejects_open(struct pca_rejects *rj, const char *path, struct pca_err *err);
void pca_reject(struct pca_rejects *rj, const char *file, unsigned long line, const char *text,
	size_t len, const char *why);
/* Close; false (and a message) when the rejects could not be written. */
bool pca_rejects_close(struct pca_rejects *rj);

/* Write to stdout; false once stdout has failed. The reason is kept as the
 * write fails: by the time pca_tool_finish reports it, errno holds something
 * else (a non-blocking read's EAGAIN, say). */
bool pca_out(const void *p, size_t n);

/* False once stdout has failed (closed pipe, full disk): stop reading. */
bool pca_stdout_ok(void);

/* Flush and close stdout, turning a write error into a message and
 * PCA_EXIT_IOERR; otherwise return status unchanged. */
int pca_tool_finish(int status);

/* Called for each valid record, in input order. Returning -1 stops the run. */
typedef int pca_record_fn(void *ud, struct pca_call *call, const char *file, unsigned long line);

/* The read loop every program shares: each named file in turn ("-" or none
 * at all: stdin), each line parsed and validated; lines that are not valid
 * records go to the rejects (counted in o->rejected), unreadable files are
 * reported (o->noinput), and the loop stops early when stdout fails. */
int pca_tool_each_record(char **files, int nfiles, struct pca_rejects *rj, struct pca_outcome *o,
	pca_record_fn *fn, void *ud);

/* The file loop under both read loops: each named file in turn ("-" or
 * none at all: stdin) while stdout holds, opened and handed to fn with the
 * run's one parser; a file that cannot be opened is reported and counted in
 * o->noinput. Stops at the first fn that returns -1, and returns that. */
struct pca_reader;
typedef int pca_file_fn(void *ud, struct pca_reader *rd, struct pca_parser *p);
int pca_tool_each_file(char **files, int nfiles, struct pca_outcome *o, pca_file_fn *fn,
	void *ud);

/* A line just read from rd as a record: true with *call set, or false when
 * it is not a valid one, rejected (to rj, counted in o->rejected). */
bool pca_tool_take_record(struct pca_parser *p, const struct pca_reader *rd, const char *line,
	size_t len, struct pca_rejects *rj, struct pca_outcome *o, struct pca_call *call);

struct pca_sender;

/* The read loop for senders: like pca_tool_each_record, but reading only
 * when a line is there or nothing else can progress, and pausing the input
 * while more than max_waiting records or max_held bytes wait, so memory
 * stays flat. Returns -1 when the sender could not go on (reported). */
int pca_tool_each_record_async(char **files, int nfiles, struct pca_rejects *rj,
	struct pca_outcome *o, struct pca_sender *s, size_t max_waiting, size_t max_held);

/* What the spool options of a sender ask for. */
enum pca_spool_mode { PCA_SPOOL_LIST, PCA_SPOOL_COUNT, PCA_SPOOL_REQUEUE, PCA_SPOOL_ENABLE };

struct pca_spool_request {
	enum pca_spool_mode mode;
	const char *path;       /* the spool */
	const char *channel;    /* "webhook", "sms", "email" */
	const char *status;     /* --status, or NULL */
	const char *since;      /* --since: RFC 3339, or a duration ago */
	const char *action;     /* --action, or NULL */
	const char *endpoint;   /* --enable-endpoint */
	int64_t now;
	bool quiet;
};

/* --list (records with their current entry, as JSON Lines on stdout),
 * --count (a number), --requeue (due now), --enable-endpoint. Bad --status or
 * --since values are usage errors. */
int pca_tool_spool(const struct pca_spool_request *r, const char *synopsis, struct pca_outcome *o,
	struct pca_err *err);

/* ---- what the three senders have in common (tool_send.c) ---- */

struct option;
struct pca_config;
struct pca_channel;

enum pca_send_mode { PCA_MODE_SEND, PCA_MODE_DRAIN, PCA_MODE_LIST, PCA_MODE_COUNT,
	PCA_MODE_REQUEUE, PCA_MODE_ENABLE };

struct pca_send_options {
	const char *config, *action, *spool, *rejects, *log, *now, *status, *since, *cacert;
	const char *enable;
	bool resend, new_id, log_bodies, dry_run, allow_private, allow_http, quiet, verbose;
	int parallel, retries;
	long timeout;
	enum pca_send_mode mode;
	int nmodes;
};

/* The short options every sender takes ("c:a:j:nqv" plus h and V); the
 * long ones are a table in tool_send.c (codes 256-299). */
#define PCA_SEND_SHORTOPTS ":c:a:j:nqvhV"

/* A program's own option (codes from 300): take it and return true, or
 * return false when c is none of them. */
typedef bool pca_own_option_fn(void *ud, int c, char *arg);

/* The option loop every sender shares: the shared options into *o, the
 * program's own_longopts through own(ud, c, arg), --help and --version, and
 * usage errors for the rest and for options that do not go together.
 * Returns the index of the first operand. */
int pca_send_parse_args(int argc, char **argv, struct pca_send_options *o,
	const struct option *own_longopts, pca_own_option_fn *own, void *ud, void (*help)(void),
	const char *synopsis);

/* The configuration named by -c, $PCA_CONFIG, ~/.config/pca/config.yaml or
 * /etc/pca/config.yaml; an error when there is none. NULL without an error
 * when the spool alone is enough (--list, --count, --requeue or
 * --enable-endpoint with --spool and no -c). */
struct pca_config *pca_send_load_config(const struct pca_send_options *o, const char *adhoc_hint,
	struct pca_err *err);

/* Run a sender program's mode and return its exit status: send the input
 * records (or the dry run), drain, or the spool options. cfg may be NULL for
 * the spool options when --spool is given. */
int pca_send_run(struct pca_send_options *o, struct pca_config *cfg, const struct pca_channel *ch,
	void *chctx, char **files, int nfiles, const char *synopsis);

#endif
