/*
 * The same evaluation through the extension, to show that the product itself
 * reproduces the numbers: the models are loaded with instsim_model_load, the
 * server embeds every test track with instsim_segments into a table per
 * model, an instsim_hnsw index is built (optional), and each segment's
 * neighbours come from `ORDER BY emb <=> q LIMIT k + 1` minus the segment
 * itself.  The results are checked against the in-memory evaluation: the
 * embeddings, the neighbour distances and the votes.
 *
 * The audio goes to the server as 32-bit float WAV, so the server decodes
 * exactly the samples the in-memory path saw (an instrument's signal is the
 * sum of its stems, which exists only in memory).
 */
#ifndef INSTSIM_EVAL_DB_H
#define INSTSIM_EVAL_DB_H

#include <stdbool.h>

#include "eval_inst.h"

typedef struct eval_db_opts
{
	const char *conninfo;		/* libpq connection string */
	const char *table;			/* prefix of the work tables */
	bool		use_index;		/* build instsim_hnsw and make the planner use it */
	int			ef_search;		/* instsim.ef_search for the queries */
	bool		keep;			/* keep the tables and models afterwards */
} eval_db_opts;

typedef struct eval_db eval_db;

/* Connects and creates the extension if missing.  NULL with err. */
eval_db    *eval_db_open(const eval_db_opts *opts, char *err, size_t errlen);
void		eval_db_close(eval_db *db);

/* Runs the SQL path for every model of e and fills their sql_* fields. */
int			eval_db_run(eval_db *db, const char *root, const slakh_tracks *test,
						eval_inst *e, char *err, size_t errlen);

#endif
