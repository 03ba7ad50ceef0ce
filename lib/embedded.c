#include "embedded.h"

#include <string.h>

const struct pca_embedded *
pca_embedded_find(const char *name)
{
	for (const struct pca_embedded *f = pca_embedded_files; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}
