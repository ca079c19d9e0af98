/*
 * Server side of the models: parsing a model file with the core loader under
 * PostgreSQL's error handling, and a per-backend cache of ready-to-run
 * embedders keyed by model name.
 */
#ifndef INSTSIM_MODEL_CACHE_H
#define INSTSIM_MODEL_CACHE_H

#include "postgres.h"

#include "embed.h"
#include "model.h"

/* instsim.max_model_arena (MB) and instsim.max_model_gflops */
extern int	instsim_max_model_arena;
extern double instsim_max_model_gflops;
/* instsim.conv_kernel: an is_conv_kind, the kernel the cached models run */
extern int	instsim_conv_kernel;
/* Registers them; called from _PG_init. */
extern void model_cache_init_gucs(void);

/*
 * Validates a model file: its format (22P03 with the loader's message), the
 * limits of the settings above (54000) and that its front end and network
 * compute (22023: is_model_check's probe).  On success *m owns malloc'd
 * memory: call is_model_free.
 */
extern void pg_model_parse(const bytea *weights, is_model *m);

/*
 * Refuses a name that is empty (22023) or longer than NAMEDATALEN - 1 bytes
 * (42622), the longest the cache and the error messages handle.
 */
extern void pg_model_check_name(const char *name);

/* The metadata of a parsed model as JSON text (instsim.model.params). */
extern char *pg_model_params_json(const is_model *m);

/*
 * The embedder for a stored model, loaded on first use and reloaded when the
 * model row changes (its sha256 differs) or instsim.conv_kernel does.  Raises
 * 42704 for an unknown model.
 * The embedder belongs to the cache: do not free it, and do not keep it past
 * the current function call.  Within one call several may be held at once:
 * fetching one model never frees or moves another's embedder (hash entries
 * stay put, and a model is reloaded only by a fetch of that same model, which
 * within one command returns the embedder it already returned).
 */
extern is_embedder *pg_model_embedder(const char *name);

/* The same, but only while the model's SHA-256 is sha256 (else 55000). */
extern is_embedder *pg_model_embedder_version(const char *name, const char *sha256);

#endif
