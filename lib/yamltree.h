/* A YAML document as a tree of nodes that remember where they were written,
 * so configuration errors can say "config.yaml:12:5: ...".
 *
 * Read with libyaml. Aliases point at the anchored node (shared, not copied).
 * A document must be a single mapping; duplicate keys are errors.
 *
 * The schema helpers mark the keys a reader consumed, so that
 * pca_ynode_check_unused() can refuse keys nobody asked for: a typo must not
 * silently disable an action.
 */
#ifndef PCA_YAMLTREE_H
#define PCA_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum pca_ytype { PCA_YSCALAR, PCA_YSEQ, PCA_YMAP };

struct pca_ynode {
	enum pca_ytype type;
	unsigned long line, col;     /* 1-based */
	char *value;                 /* scalars: the text (NUL-terminated) */
	size_t len;
	bool plain;                  /* unquoted scalar: "null", "true" may mean null/bool */
	struct pca_ynode **items;    /* seq: items; map: key, value, key, value... */
	size_t n;                    /* seq: item count; map: pair count */
	bool *used;                  /* map: per pair, consumed by a reader */
	struct pca_ynode *next_alloc;
};

struct pca_ydoc {
	char *file;
	struct pca_ynode *root;
	struct pca_ynode *nodes;     /* every node, for freeing */
};

/* Load from a file, or from memory when text is not NULL (name is then used
 * in messages). */
struct pca_ydoc *pca_ydoc_load(const char *file, const char *text, size_t len,
	struct pca_err *err);
void pca_ydoc_free(struct pca_ydoc *doc);

/* "file:line:col: " + message; returns -1. */
int pca_yerr(const struct pca_ydoc *doc, const struct pca_ynode *at, struct pca_err *err,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The value under key in a mapping, marking the key used; NULL when absent
 * or when its value is an explicit null (~, null, empty). */
struct pca_ynode *pca_ymap_get(struct pca_ynode *map, const char *key);
/* The key node of a pair, for locating errors about the key itself. */
struct pca_ynode *pca_ymap_key(struct pca_ynode *map, const char *key);

/* An error for the first key no reader consumed: "unknown key "tmeplates"
 * (known: ...)". `known` lists the valid keys for the message. */
int pca_ymap_check_unused(const struct pca_ydoc *doc, struct pca_ynode *map,
	const char *const *known, struct pca_err *err);

/* Typed readers of a node. Each fails with file:line:col and what was
 * expected. */
int pca_ynode_want(const struct pca_ydoc *doc, struct pca_ynode *n, enum pca_ytype t,
	const char *what, struct pca_err *err);
int pca_ynode_str(const struct pca_ydoc *doc, struct pca_ynode *n, const char **out,
	struct pca_err *err);
int pca_ynode_bool(const struct pca_ydoc *doc, struct pca_ynode *n, bool *out,
	struct pca_err *err);
int pca_ynode_int(const struct pca_ydoc *doc, struct pca_ynode *n, int64_t min, int64_t max,
	int64_t *out, struct pca_err *err);
int pca_ynode_number(const struct pca_ydoc *doc, struct pca_ynode *n, double min, double max,
	double *out, struct pca_err *err);
/* A scalar or a sequence of scalars, as a new NULL-terminated array of
 * borrowed strings (free only the array). */
int pca_ynode_strlist(const struct pca_ydoc *doc, struct pca_ynode *n, const char ***out,
	size_t *count, struct pca_err *err);
/* True when n is an explicit null scalar. */
bool pca_ynode_is_null(const struct pca_ynode *n);

#endif
