/*
 * Small helpers over libyaml shared by the corpus files (metadata.yaml,
 * split.yaml): loading a document, walking mappings and sequences, and
 * emitting block-style YAML that PyYAML (Slakh's own tooling) reads back.
 */
#ifndef INSTSIM_YAML_UTIL_H
#define INSTSIM_YAML_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

/* Parses the first document of path; its root must be a mapping. */
int			yu_load(const char *path, yaml_document_t *doc, char *err, size_t errlen);

/* Scalar text of a node, or NULL when the node is not a scalar. */
const char *yu_scalar(yaml_document_t *doc, yaml_node_t *node);

/* Value of key in a mapping node, or NULL. */
yaml_node_t *yu_get(yaml_document_t *doc, yaml_node_t *map, const char *key);

/* YAML 1.1 booleans as PyYAML writes and reads them; -1 if not a boolean. */
int			yu_bool(const char *s);

/* Copies a scalar into dst (truncating); null/~ become "". */
void		yu_copy(char *dst, size_t dstlen, const char *s);

/* Emitter wrapper; the first failure sticks and is reported by yu_emit_end. */
typedef struct yu_writer
{
	yaml_emitter_t emitter;
	FILE	   *file;
	bool		failed;
} yu_writer;

int			yu_emit_begin(yu_writer *w, const char *path, char *err, size_t errlen);
int			yu_emit_end(yu_writer *w, const char *path, char *err, size_t errlen);
void		yu_map_start(yu_writer *w);
void		yu_map_end(yu_writer *w);
void		yu_seq_start(yu_writer *w);
void		yu_seq_end(yu_writer *w);
/* A string, quoted when a YAML reader would otherwise take it for a number, bool or null. */
void		yu_str(yu_writer *w, const char *s);
void		yu_int(yu_writer *w, long long v);
void		yu_uint(yu_writer *w, unsigned long long v);
void		yu_num(yu_writer *w, double v);
void		yu_boolv(yu_writer *w, bool v);

#endif
