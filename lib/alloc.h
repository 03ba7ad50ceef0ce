/* Memory allocation for libpca.
 *
 * Every allocation in the library goes through these. Running out of memory is
 * the one failure the library does not return: it calls the handler the
 * program installed (pca_set_oom_handler), which reports and ends the program.
 * Without a handler it aborts. This keeps every other error path honest
 * instead of threading ENOMEM through hundreds of call sites.
 */
#ifndef PCA_ALLOC_H
#define PCA_ALLOC_H

#include <stddef.h>

typedef void pca_oom_fn(size_t wanted);

void pca_set_oom_handler(pca_oom_fn *fn);
/* For memory another library failed to get (json_tokener_new returned
 * NULL): the same handler, the same end. */
_Noreturn void pca_oom(size_t wanted);

void *pca_malloc(size_t n);
void *pca_calloc(size_t nmemb, size_t size);
void *pca_realloc(void *p, size_t n);
/* realloc for arrays: overflow of nmemb * size is treated as out of memory. */
void *pca_reallocarray(void *p, size_t nmemb, size_t size);
char *pca_strdup(const char *s);
char *pca_strndup(const char *s, size_t n);
void *pca_memdup(const void *p, size_t n);
/* A heap string built like printf. */
char *pca_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
