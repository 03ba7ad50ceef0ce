/* pca_config_parse over any text: libyaml, the node tree, and every check
 * of the configuration loader. Loading may select a time zone (setenv TZ):
 * harmless here.
 *
 * The loader opens the files a configuration names (contacts), so the target
 * loads in a directory of its own that holds small ones the seeds refer to
 * (see make_dir),
 * and fopen is wrapped (-Wl,--wrap=fopen) to refuse anything but a small
 * regular file outside /proc and /sys: a configuration naming /dev/zero is
 * the user's mistake, not a finding.
 *
 * Properties of a configuration that loads: at most 10 actions with distinct
 * ids, recipient counts that match their lists, and a condition that can be
 * evaluated against a call. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "record.h"

FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);

#define FILE_MAX (1 << 20)

FILE *
__wrap_fopen(const char *path, const char *mode)
{
	char real[PATH_MAX];
	struct stat st;

	if (mode[0] != 'r')
		return __real_fopen(path, mode);
	if (!realpath(path, real) || stat(real, &st) < 0)
		return __real_fopen(path, mode); /* let it fail as it would */
	if (!S_ISREG(st.st_mode) || st.st_size > FILE_MAX || strncmp(real, "/proc/", 6) == 0 ||
	    strncmp(real, "/sys/", 5) == 0) {
		errno = EACCES;
		return NULL;
	}
	return __real_fopen(path, mode);
}

static const char *const files[][2] = {
	{ "contacts.csv", "number,name\n(415) 555-0123,Dana Lee\n+44 7700 900123,\"Lee, Dana\"\n" },
	{ "contacts.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Dana Lee\r\nTEL:+1 415 555 0124\r\n"
	    "END:VCARD\r\n" },
	{ "sms.mustache", "{{caller.name}}: {{summary}}\n" },
	{ "subject.mustache", "Call from {{caller.name}}\n" },
	{ "crm.whsec", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n" },
	{ "ca.pem", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n" },
};

static const char call_json[] =
    "{\"schema\":\"pca.call.v1\",\"call_id\":\"c1\",\"status\":\"completed\","
    "\"direction\":\"inbound\",\"started_at\":\"2026-11-24T09:15:00.000Z\","
    "\"answered_at\":\"2026-11-24T09:15:02.000Z\",\"ended_at\":\"2026-11-24T09:15:32.500Z\","
    "\"duration_ms\":30500,\"caller\":{\"number\":\"+14155550123\"},"
    "\"agent\":{\"number\":\"+14155550100\"},\"summary\":\"hi\"}";

static struct pca_call call;
static bool have_call;
static int home = -1, workdir = -1;

/* The files live next to the executable, in config-files/: a fixed place
 * in the build directory, written anew by every start (through a temporary
 * name, so that parallel runs never read half a file), and nothing left in
 * /tmp by runs that end in a crash. */
static void
make_dir(void)
{
	char exe[PATH_MAX], tmp[64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash;
	FILE *fp;

	if (n <= 0 || !(slash = memrchr(exe, '/', (size_t)n)))
		abort();
	snprintf(slash, sizeof exe - (size_t)(slash - exe), "/config-files");
	mkdir(exe, 0700);
	if ((home = open(".", O_RDONLY | O_DIRECTORY)) < 0 ||
	    (workdir = open(exe, O_RDONLY | O_DIRECTORY)) < 0 || fchdir(workdir) < 0) {
		perror("fuzz-config: working directory");
		abort();
	}
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(tmp, sizeof tmp, "%s.%ld", files[i][0], (long)getpid());
		if (!(fp = __real_fopen(tmp, "w"))) {
			perror(tmp);
			abort();
		}
		fputs(files[i][1], fp);
		fclose(fp);
		chmod(tmp, 0600);
		if (rename(tmp, files[i][0]) < 0)
			abort();
	}
	if (fchdir(home) < 0)
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pca_parser *p = pca_parser_new();
	struct pca_err err = PCA_ERR_INIT;

	(void)argc;
	(void)argv;
	make_dir();
	have_call = pca_record_parse(p, call_json, sizeof call_json - 1, &call, &err) == 0;
	if (!have_call) {
		fprintf(stderr, "fuzz-config: the sample call does not parse: %s\n", err.msg);
		abort();
	}
	pca_parser_free(p);
	return 0;
}

static size_t
list_len(char **l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

static void
check_config(const struct pca_config *cfg)
{
	const char *why;

	FUZZ_CHECK(cfg->nactions <= PCA_MAX_ACTIONS, "%zu actions", cfg->nactions);
	FUZZ_CHECK(cfg->timezone && *cfg->timezone, "no time zone");
	for (size_t i = 0; i < cfg->nactions; i++) {
		const struct pca_action *a = &cfg->actions[i];
		FUZZ_CHECK(a->id && *a->id, "action %zu has no id", i);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(a->id, cfg->actions[j].id) != 0, "duplicate id %s", a->id);
		FUZZ_CHECK(list_len(a->to) == a->nto && list_len(a->cc) == a->ncc &&
		    list_len(a->bcc) == a->nbcc, "action %s: recipient counts differ from lists",
		    a->id);
		FUZZ_CHECK(pca_action_type_name(a->type) != NULL, "action %s: no type name", a->id);
		why = NULL;
		if (!pca_when_matches(&a->when, &call, NULL, &why))
			FUZZ_CHECK(why && *why, "action %s: excluded without a reason", a->id);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_config *cfg;

	/* only while loading: libFuzzer's own paths stay relative to where it runs */
	if (fchdir(workdir) < 0)
		abort();
	cfg = pca_config_parse("fuzz.yaml", (const char *)data, size, &err);
	if (fchdir(home) < 0)
		abort();
	if (!cfg) {
		FUZZ_CHECK(err.msg && *err.msg, "a failure without a message");
		pca_err_clear(&err);
		return 0;
	}
	check_config(cfg);
	pca_config_free(cfg);
	return 0;
}
