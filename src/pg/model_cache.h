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

/*
 * Validates a model file; on failure raises 22P03 with the loader's message.
 * On success *m owns malloc'd memory: call is_model_free.
 */
extern void pg_model_parse(const bytea *weights, is_model *m);

/* The metadata of a parsed model as JSON text (instsim.model.params). */
extern char *pg_model_params_json(const is_model *m);

/*
 * The embedder for a stored model, loaded on first use and reloaded when the
 * model row changes (its sha256 differs).  Raises 42704 for an unknown model.
 * The embedder belongs to the cache: do not free it, and do not keep it past
 * the current function call.  Within one call several may be held at once:
 * fetching one model never frees or moves another's embedder (hash entries
 * stay put, and a model is reloaded only by a fetch of that same model, which
 * within one command returns the embedder it already returned).
 */
extern is_embedder *pg_model_embedder(const char *name);

#endif
