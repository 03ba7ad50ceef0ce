/* Files compiled into the library: the built-in configuration and the
 * default templates (lib/defaults/). */
#ifndef PCA_EMBEDDED_H
#define PCA_EMBEDDED_H

#include <stddef.h>

struct pca_embedded {
	const char *name;
	const char *data; /* NUL-terminated */
	size_t len;
};

extern const struct pca_embedded pca_embedded_files[];

/* The file of that name; NULL when there is none. */
const struct pca_embedded *pca_embedded_find(const char *name);

#endif
