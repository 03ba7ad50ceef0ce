#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static char *
config_error(const char *yaml)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_config *cfg = pca_config_parse("t.yaml", yaml, strlen(yaml), &err);
	char *msg;

	if (cfg) {
		pca_config_free(cfg);
		return strdup("(accepted)");
	}
	msg = strdup(pca_err_msg(&err));
	pca_err_clear(&err);
	return msg;
}

static void
refused(const char *yaml, const char *want, const char *name)
{
	char *msg = config_error(yaml);

	ok(strncmp(msg, want, strlen(want)) == 0, "%s: %s", name, msg);
	if (strncmp(msg, want, strlen(want)) != 0)
		printf("#   want \"%s...\"\n", want);
	free(msg);
}

static const char good[] =
    "timezone: Europe/Berlin\n"
    "region: DE\n"
    "credits:\n"
    "  sms_segment: 0.5\n"
    "  email_recipient: 0.1\n"
    "actions:\n"
    "  - id: owner-sms\n"
    "    type: sms\n"
    "    to: [\"+4915112345678\", \"+14155550100\"]\n"
    "    max_segments: 3\n"
    "    when:\n"
    "      status: [completed, voicemail]\n"
    "      min_duration: 10s\n"
    "  - id: office\n"
    "    type: email\n"
    "    from: Acme Calls <calls@acme.example>\n"
    "    to: owner@acme.example\n"
    "    bcc: [audit@acme.example]\n"
    "    list_id: Calls <calls.acme.example>\n"
    "  - id: crm\n"
    "    type: webhook\n"
    "    url: https://crm.example/hooks\n"
    "    secret_env: PCA_TEST_SECRET\n"
    "    timeout: 5s\n";

static void
test_good(void)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_config *cfg = pca_config_parse("t.yaml", good, strlen(good), &err);
	struct pca_buf secret = PCA_BUF_INIT;

	if (!ok(cfg != NULL, "a full configuration loads: %s", pca_err_msg(&err)))
		return;
	is_int(cfg->nactions, 3, "three actions");
	is_str(cfg->timezone, "Europe/Berlin", "timezone");
	ok(cfg->credits.sms_segment == 0.5 && cfg->credits.email_recipient == 0.1, "credit rates");
	is_int(cfg->actions[0].type, PCA_SMS, "first is sms");
	is_int(cfg->actions[0].nto, 2, "two SMS recipients");
	is_int(cfg->actions[0].max_segments, 3, "max_segments");
	is_str(cfg->actions[0].when.status[1], "voicemail", "when: status list");
	is_int(cfg->actions[0].when.min_duration_ms, 10000, "when: min_duration");
	is_str(cfg->actions[1].bcc[0], "audit@acme.example", "bcc");
	is_int(cfg->actions[2].timeout_ms, 5000, "webhook timeout");
	is_int(cfg->actions[2].secret.kind, PCA_SECRET_ENV, "secret by environment");
	is_str(cfg->actions[2].secret.origin, "t.yaml:23:17", "the secret remembers where it was set");
	setenv("PCA_TEST_SECRET", "whsec_abc", 1);
	ok(pca_secret_read(&cfg->actions[2].secret, &secret, &err) == 0 &&
	    strcmp(secret.data, "whsec_abc") == 0, "reads the secret from the environment");
	unsetenv("PCA_TEST_SECRET");
	ok(pca_secret_read(&cfg->actions[2].secret, &secret, &err) < 0 &&
	    strstr(err.msg, "PCA_TEST_SECRET is not set"), "an unset variable is an error: %s",
	    pca_err_msg(&err));
	pca_buf_wipe(&secret);
	pca_err_clear(&err);
	pca_config_free(cfg);
}

static void
test_errors(void)
{
	struct pca_buf many = PCA_BUF_INIT;

	refused("tmeplates: {}\n", "t.yaml:1:1: unknown key \"tmeplates\" (known: timezone,",
	    "a typo at top level");
	refused("actions:\n  - id: a\n    type: sms\n    to: \"+14155550100\"\n    max_segmnts: 2\n",
	    "t.yaml:5:5: unknown key \"max_segmnts\"", "a typo in an action");
	refused("actions:\n  - id: a\n    type: webhook\n    url: https://x.example\n"
	    "  - id: a\n    type: webhook\n    url: https://y.example\n",
	    "t.yaml:5:9: duplicate action id \"a\" (first at t.yaml:2:5)", "duplicate ids");
	pca_buf_adds(&many, "actions:\n");
	for (int i = 0; i < 11; i++)
		pca_buf_addf(&many, "  - {id: w%d, type: webhook, url: \"https://h.example/%d\"}\n", i, i);
	refused(many.data, "t.yaml:12:5: more than 10 actions", "an 11th action");
	pca_buf_free(&many);
	refused("actions:\n  - {id: a, type: fax}\n", "t.yaml:2:19: unknown action type \"fax\"",
	    "an unknown type");
	refused("actions:\n  - {id: a, type: sms, to: \"0151 1234567\"}\n",
	    "t.yaml:2:28: \"0151 1234567\" is not an E.164 number", "a national number as recipient");
	refused("actions:\n  - {id: a, type: sms}\n", "t.yaml:2:5: \"to\" is missing",
	    "an SMS without recipients");
	refused("actions:\n  - {id: a, type: email, from: me, to: x@y.example}\n", "t.yaml:2:32: not an email address",
	    "a sender that is not an address");
	refused("actions:\n  - {id: a, type: webhook, url: \"ftp://x\"}\n",
	    "t.yaml:2:33: not an http or https URL", "an ftp URL");
	refused("actions:\n  - {id: \"a.b\", type: webhook, url: \"https://x\"}\n",
	    "t.yaml:2:10: action id \"a.b\"", "a dot in an action id");
	refused("timezone: Mars/Base\n", "t.yaml:1:11: unknown time zone \"Mars/Base\"", "a bad zone");
	refused("region: XX\n", "t.yaml:1:9: unknown region \"XX\"", "a bad region");
	refused("region: US\nregion: DE\n", "t.yaml:2:1: duplicate key \"region\" (first at line 1)",
	    "a YAML key given twice");
	refused("actions: [\n", "t.yaml:", "broken YAML");
	refused("- a\n- b\n", "t.yaml:1:1: the configuration must be a mapping", "a list at the top");
	refused("", "t.yaml:1:1: empty configuration", "an empty file");
	refused("a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one YAML document", "two documents");
	refused("actions:\n  - {id: a, type: sms, to: \"+14155550100\", when: {status: done}}\n",
	    "t.yaml:2:59: unknown call status \"done\"", "an unknown status in when");
	refused("actions:\n  - {id: a, type: sms, to: \"+14155550100\", max_segments: 11}\n",
	    "t.yaml:2:58: 11 is out of range (1 to 10)", "max_segments over 10");
	refused("actions:\n  - {id: a, type: webhook, url: \"https://x\", secret: s, secret_file: f}\n",
	    "t.yaml:2:", "two kinds of secret at once");
	refused("templates: {sms: /nonexistent/sms.mustache}\n",
	    "t.yaml:1:18: /nonexistent/sms.mustache: No such file", "a missing template file");
	refused("credits: {sms_segment: -1}\n", "t.yaml:1:24: -1 is out of range", "negative credits");
}

static void
test_inline_secret_permissions(void)
{
	char path[] = "/tmp/pca-test-config-XXXXXX";
	const char *yaml = "actions:\n  - {id: w, type: webhook, url: \"https://x\", "
	    "secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}\n";
	struct pca_err err = PCA_ERR_INIT;
	struct pca_config *cfg;
	int fd = mkstemp(path);

	if (write(fd, yaml, strlen(yaml)) < 0)
		abort();
	close(fd);
	chmod(path, 0644);
	cfg = pca_config_load(path, &err);
	ok(!cfg && strstr(pca_err_msg(&err), "can be read by group or others") &&
	    !strstr(pca_err_msg(&err), "whsec_"), "an inline secret in a 0644 file is refused, "
	    "without showing it: %s", pca_err_msg(&err));
	pca_err_clear(&err);
	chmod(path, 0600);
	cfg = pca_config_load(path, &err);
	ok(cfg != NULL, "and accepted at 0600: %s", pca_err_msg(&err));
	pca_config_free(cfg);
	unlink(path);
}

int
main(void)
{
	struct pca_err err = PCA_ERR_INIT;
	struct pca_config *cfg = pca_config_builtin(&err);

	ok(cfg && cfg->nactions == 3, "the built-in configuration loads: %s", pca_err_msg(&err));
	pca_config_free(cfg);
	test_good();
	test_errors();
	test_inline_secret_permissions();
	return tap_done();
}
