#include "yamltree.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "alloc.h"
#include "buf.h"

struct anchor {
	char *name;
	struct pca_ynode *node;
};

struct loader {
	yaml_parser_t parser;
	struct pca_ydoc *doc;
	struct anchor *anchors;
	size_t nanchors;
	struct pca_err *err;
	int depth;
};

static struct pca_ynode *
new_node(struct loader *ld, enum pca_ytype t, const yaml_mark_t *mark)
{
	struct pca_ynode *n = pca_calloc(1, sizeof *n);

	n->type = t;
	n->line = mark->line + 1;
	n->col = mark->column + 1;
	n->next_alloc = ld->doc->nodes;
	ld->doc->nodes = n;
	return n;
}

/* Append to a node's item array (map: key then value). */
static void
push_item(struct pca_ynode *parent, struct pca_ynode *child, size_t *count, size_t *cap)
{
	if (*count == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		parent->items = pca_reallocarray(parent->items, *cap, sizeof *parent->items);
	}
	parent->items[(*count)++] = child;
}

static int
fail_at(struct loader *ld, unsigned long line, unsigned long col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int
fail_at(struct loader *ld, unsigned long line, unsigned long col, const char *fmt, ...)
{
	struct pca_buf b = PCA_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pca_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	pca_err_set(ld->err, "%s:%lu:%lu: %s", ld->doc->file, line, col, b.data);
	pca_buf_free(&b);
	return -1;
}

static int
next_event(struct loader *ld, yaml_event_t *ev)
{
	const yaml_mark_t *m = &ld->parser.problem_mark;

	if (yaml_parser_parse(&ld->parser, ev))
		return 0;
	return fail_at(ld, (unsigned long)m->line + 1, (unsigned long)m->column + 1, "%s%s%s",
	    ld->parser.problem ? ld->parser.problem : "invalid YAML",
	    ld->parser.context ? " " : "", ld->parser.context ? ld->parser.context : "");
}

static void
remember_anchor(struct loader *ld, const yaml_char_t *anchor, struct pca_ynode *n)
{
	if (!anchor)
		return;
	ld->anchors = pca_reallocarray(ld->anchors, ld->nanchors + 1, sizeof *ld->anchors);
	ld->anchors[ld->nanchors].name = pca_strdup((const char *)anchor);
	ld->anchors[ld->nanchors++].node = n;
}

static int parse_node(struct loader *ld, yaml_event_t *ev, struct pca_ynode **out);

static bool
same_scalar(const struct pca_ynode *a, const struct pca_ynode *b)
{
	return a->type == PCA_YSCALAR && b->type == PCA_YSCALAR && a->len == b->len &&
	    memcmp(a->value, b->value, a->len) == 0;
}

static int
check_duplicate_key(struct loader *ld, struct pca_ynode *map, size_t count,
	struct pca_ynode *key)
{
	if (key->type != PCA_YSCALAR)
		return fail_at(ld, key->line, key->col, "a mapping key must be a plain value");
	for (size_t i = 0; i + 1 < count; i += 2)
		if (same_scalar(map->items[i], key))
			return fail_at(ld, key->line, key->col,
			    "duplicate key \"%s\" (first at line %lu)", key->value,
			    map->items[i]->line);
	return 0;
}

static int
parse_children(struct loader *ld, struct pca_ynode *parent, yaml_event_type_t end)
{
	yaml_event_t ev;
	struct pca_ynode *child;
	size_t count = 0, cap = 0;

	for (;;) {
		if (next_event(ld, &ev) < 0)
			return -1;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			break;
		}
		if (parse_node(ld, &ev, &child) < 0)
			return -1;
		if (parent->type == PCA_YMAP && count % 2 == 0 &&
		    check_duplicate_key(ld, parent, count, child) < 0)
			return -1;
		push_item(parent, child, &count, &cap);
	}
	parent->n = parent->type == PCA_YMAP ? count / 2 : count;
	if (parent->type == PCA_YMAP)
		parent->used = pca_calloc(parent->n ? parent->n : 1, sizeof *parent->used);
	return 0;
}

static struct pca_ynode *
find_anchor(struct loader *ld, const yaml_char_t *name)
{
	for (size_t i = ld->nanchors; i-- > 0;)
		if (strcmp(ld->anchors[i].name, (const char *)name) == 0)
			return ld->anchors[i].node;
	return NULL;
}

static int
parse_collection(struct loader *ld, yaml_event_t *ev, struct pca_ynode *n,
	yaml_event_type_t end)
{
	const yaml_char_t *anchor = ev->type == YAML_MAPPING_START_EVENT ?
	    ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	int rc;

	/* A configuration is small; deep nesting only comes from hostile input. */
	if (++ld->depth > 64) {
		yaml_event_delete(ev); /* the event is ours to free on every path */
		return fail_at(ld, n->line, n->col, "nesting deeper than 64 levels");
	}
	remember_anchor(ld, anchor, n);
	yaml_event_delete(ev);
	rc = parse_children(ld, n, end);
	ld->depth--;
	return rc;
}

static int
parse_node(struct loader *ld, yaml_event_t *ev, struct pca_ynode **out)
{
	struct pca_ynode *n;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = new_node(ld, PCA_YSCALAR, &ev->start_mark);
		n->value = pca_memdup(ev->data.scalar.value, ev->data.scalar.length + 1);
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		remember_anchor(ld, ev->data.scalar.anchor, n);
		yaml_event_delete(ev);
		*out = n;
		return 0;
	case YAML_ALIAS_EVENT:
		*out = find_anchor(ld, ev->data.alias.anchor);
		if (!*out) {
			fail_at(ld, ev->start_mark.line + 1, ev->start_mark.column + 1,
			    "unknown alias \"*%s\"", ev->data.alias.anchor);
			yaml_event_delete(ev);
			return -1;
		}
		yaml_event_delete(ev);
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		*out = n = new_node(ld, PCA_YSEQ, &ev->start_mark);
		return parse_collection(ld, ev, n, YAML_SEQUENCE_END_EVENT);
	case YAML_MAPPING_START_EVENT:
		*out = n = new_node(ld, PCA_YMAP, &ev->start_mark);
		return parse_collection(ld, ev, n, YAML_MAPPING_END_EVENT);
	default:
		fail_at(ld, ev->start_mark.line + 1, ev->start_mark.column + 1, "unexpected YAML event");
		yaml_event_delete(ev);
		return -1;
	}
}

/* Stream start, document start, the root, document end; a second document
 * is refused because only the first would be read. */
static int
parse_stream(struct loader *ld)
{
	yaml_event_t ev;

	if (next_event(ld, &ev) < 0)
		return -1;
	yaml_event_delete(&ev); /* STREAM_START */
	if (next_event(ld, &ev) < 0)
		return -1;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return fail_at(ld, 1, 1, "empty configuration");
	}
	yaml_event_delete(&ev); /* DOCUMENT_START */
	if (next_event(ld, &ev) < 0 || parse_node(ld, &ev, &ld->doc->root) < 0)
		return -1;
	if (next_event(ld, &ev) < 0)
		return -1;
	yaml_event_delete(&ev); /* DOCUMENT_END */
	if (next_event(ld, &ev) < 0)
		return -1;
	if (ev.type != YAML_STREAM_END_EVENT) {
		fail_at(ld, ev.start_mark.line + 1, ev.start_mark.column + 1,
		    "more than one YAML document");
		yaml_event_delete(&ev);
		return -1;
	}
	yaml_event_delete(&ev);
	if (ld->doc->root->type != PCA_YMAP)
		return fail_at(ld, ld->doc->root->line, ld->doc->root->col,
		    "the configuration must be a mapping of keys to values");
	return 0;
}

struct pca_ydoc *
pca_ydoc_load(const char *file, const char *text, size_t len, struct pca_err *err)
{
	struct loader ld = { .err = err };
	FILE *fp = NULL;
	int rc;

	ld.doc = pca_calloc(1, sizeof *ld.doc);
	ld.doc->file = pca_strdup(file);
	if (!text && !(fp = fopen(file, "r"))) {
		pca_err_set(err, "%s: %s", file, strerror(errno));
		pca_ydoc_free(ld.doc);
		return NULL;
	}
	yaml_parser_initialize(&ld.parser);
	if (fp)
		yaml_parser_set_input_file(&ld.parser, fp);
	else
		yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text, len);
	rc = parse_stream(&ld);
	yaml_parser_delete(&ld.parser);
	if (fp)
		fclose(fp);
	for (size_t i = 0; i < ld.nanchors; i++)
		free(ld.anchors[i].name);
	free(ld.anchors);
	if (rc < 0) {
		pca_ydoc_free(ld.doc);
		return NULL;
	}
	return ld.doc;
}

void
pca_ydoc_free(struct pca_ydoc *doc)
{
	struct pca_ynode *n, *next;

	if (!doc)
		return;
	for (n = doc->nodes; n; n = next) {
		next = n->next_alloc;
		free(n->value);
		free(n->items);
		free(n->used);
		free(n);
	}
	free(doc->file);
	free(doc);
}

int
pca_yerr(const struct pca_ydoc *doc, const struct pca_ynode *at, struct pca_err *err,
	const char *fmt, ...)
{
	struct pca_buf b = PCA_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pca_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (at)
		pca_err_set(err, "%s:%lu:%lu: %s", doc->file, at->line, at->col, b.data);
	else
		pca_err_set(err, "%s: %s", doc->file, b.data);
	pca_buf_free(&b);
	return -1;
}

bool
pca_ynode_is_null(const struct pca_ynode *n)
{
	return n && n->type == PCA_YSCALAR && n->plain &&
	    (n->len == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
	    strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0);
}

static ssize_t
find_pair(struct pca_ynode *map, const char *key)
{
	if (!map || map->type != PCA_YMAP)
		return -1;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->items[2 * i]->value, key) == 0)
			return (ssize_t)i;
	return -1;
}

struct pca_ynode *
pca_ymap_get(struct pca_ynode *map, const char *key)
{
	ssize_t i = find_pair(map, key);

	if (i < 0)
		return NULL;
	map->used[i] = true;
	return pca_ynode_is_null(map->items[2 * i + 1]) ? NULL : map->items[2 * i + 1];
}

struct pca_ynode *
pca_ymap_key(struct pca_ynode *map, const char *key)
{
	ssize_t i = find_pair(map, key);

	return i < 0 ? NULL : map->items[2 * i];
}

int
pca_ymap_check_unused(const struct pca_ydoc *doc, struct pca_ynode *map,
	const char *const *known, struct pca_err *err)
{
	struct pca_buf list = PCA_BUF_INIT;
	int rc;

	for (size_t i = 0; i < map->n; i++) {
		if (map->used[i])
			continue;
		for (size_t k = 0; known && known[k]; k++)
			pca_buf_addf(&list, "%s%s", k ? ", " : "", known[k]);
		rc = pca_yerr(doc, map->items[2 * i], err, "unknown key \"%s\"%s%s%s",
		    map->items[2 * i]->value, list.len ? " (known: " : "", pca_buf_cstr(&list),
		    list.len ? ")" : "");
		pca_buf_free(&list);
		return rc;
	}
	return 0;
}

int
pca_ynode_want(const struct pca_ydoc *doc, struct pca_ynode *n, enum pca_ytype t,
	const char *what, struct pca_err *err)
{
	if (n->type == t)
		return 0;
	return pca_yerr(doc, n, err, "expected %s", what);
}

int
pca_ynode_str(const struct pca_ydoc *doc, struct pca_ynode *n, const char **out,
	struct pca_err *err)
{
	if (pca_ynode_want(doc, n, PCA_YSCALAR, "a text value", err) < 0)
		return -1;
	if (strlen(n->value) != n->len)
		return pca_yerr(doc, n, err, "value contains a NUL character");
	*out = n->value;
	return 0;
}

int
pca_ynode_bool(const struct pca_ydoc *doc, struct pca_ynode *n, bool *out, struct pca_err *err)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", NULL };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", NULL };

	if (n->type == PCA_YSCALAR && n->plain) {
		for (size_t i = 0; yes[i]; i++)
			if (strcmp(n->value, yes[i]) == 0)
				return *out = true, 0;
		for (size_t i = 0; no[i]; i++)
			if (strcmp(n->value, no[i]) == 0)
				return *out = false, 0;
	}
	return pca_yerr(doc, n, err, "expected true or false");
}

int
pca_ynode_int(const struct pca_ydoc *doc, struct pca_ynode *n, int64_t min, int64_t max,
	int64_t *out, struct pca_err *err)
{
	char *end;
	long long v;

	if (n->type != PCA_YSCALAR || !n->len)
		return pca_yerr(doc, n, err, "expected a whole number");
	errno = 0;
	v = strtoll(n->value, &end, 10);
	if (errno || *end)
		return pca_yerr(doc, n, err, "expected a whole number, not \"%s\"", n->value);
	if (v < min || v > max)
		return pca_yerr(doc, n, err, "%lld is out of range (%lld to %lld)", v,
		    (long long)min, (long long)max);
	*out = v;
	return 0;
}

int
pca_ynode_number(const struct pca_ydoc *doc, struct pca_ynode *n, double min, double max,
	double *out, struct pca_err *err)
{
	char *end;
	double v;

	if (n->type != PCA_YSCALAR || !n->len)
		return pca_yerr(doc, n, err, "expected a number");
	errno = 0;
	v = strtod(n->value, &end);
	if (errno || *end || !isfinite(v))
		return pca_yerr(doc, n, err, "expected a number, not \"%s\"", n->value);
	if (v < min || v > max)
		return pca_yerr(doc, n, err, "%g is out of range (%g to %g)", v, min, max);
	*out = v;
	return 0;
}

int
pca_ynode_strlist(const struct pca_ydoc *doc, struct pca_ynode *n, const char ***out,
	size_t *count, struct pca_err *err)
{
	const char **list;
	size_t k = n->type == PCA_YSEQ ? n->n : 1;

	if (n->type == PCA_YMAP)
		return pca_yerr(doc, n, err, "expected a value or a list of values");
	list = pca_calloc(k + 1, sizeof *list);
	for (size_t i = 0; i < k; i++) {
		struct pca_ynode *item = n->type == PCA_YSEQ ? n->items[i] : n;
		if (pca_ynode_str(doc, item, &list[i], err) < 0) {
			free(list);
			return -1;
		}
	}
	*out = list;
	*count = k;
	return 0;
}
