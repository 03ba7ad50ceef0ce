/* The contacts reader, CSV and vCard (2.1 quoted-printable and charsets
 * included), through pca_contacts_load, which takes a path: the input is
 * written to a memfd and read as /proc/self/fd/N.
 *
 * Input: one selector byte (the default region: none, US, GB, DE), then the
 * file.
 *
 * Properties: a loaded file answers lookups, and a name it returns is valid
 * UTF-8 without NUL; a refused file says why. */
#include <stdlib.h>
#include <string.h>

#include "contacts.h"
#include "fuzz.h"
#include "utf8.h"

static struct fuzz_file file;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_open(&file, "contacts");
	return 0;
}

static void
check_lookup(const struct pca_contacts *c, const char *e164)
{
	const char *name = pca_contacts_lookup(c, e164);

	if (name)
		FUZZ_CHECK(pca_utf8_valid(name, strlen(name), NULL), "a name that is not UTF-8");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const regions[] = { NULL, "US", "GB", "DE" };
	struct pca_err err = PCA_ERR_INIT;
	struct pca_contacts *c;
	unsigned long first = 0;

	if (size < 1)
		return 0;
	fuzz_file_set(&file, data + 1, size - 1);
	c = pca_contacts_load(file.path, regions[data[0] & 3], &err);
	if (!c) {
		FUZZ_CHECK(err.msg && *err.msg, "a failure without a message");
		pca_err_clear(&err);
		return 0;
	}
	check_lookup(c, "+14155550123");
	check_lookup(c, "+447700900123");
	check_lookup(c, "+4915112345678");
	check_lookup(c, "");
	if (pca_contacts_skipped(c, &first) > 0)
		FUZZ_CHECK(first > 0, "entries skipped, but no first line");
	(void)pca_contacts_count(c);
	pca_contacts_free(c);
	return 0;
}
