/*
 * All instsim.* configuration parameters.  Kept in one place so that the full
 * list of knobs (and their documented defaults) can be read at a glance.
 */
#include "postgres.h"
#include "utils/guc.h"

#include "instsim.h"
#include "hnsw.h"
#include "model_cache.h"
#include "model_check.h"

/* instsim_hnsw index scans (see hnsw_scan.c) */
int			instsim_hnsw_ef_search = 40;
bool		instsim_hnsw_iterative_scan = false;
int			instsim_hnsw_max_scan_tuples = 20000;

/* model checks when a model is stored (see model_cache.c) */
int			instsim_max_model_arena = IS_MODEL_DEFAULT_MAX_ARENA_MB;
double		instsim_max_model_gflops = IS_MODEL_DEFAULT_MAX_GFLOPS;

void
instsim_init_gucs(void)
{
	DefineCustomIntVariable("instsim.ef_search",
							"Size of the candidate list of an instsim_hnsw index scan.",
							"Larger values find the true nearest neighbours more often, "
							"at the cost of speed; a scan returns at most this many rows "
							"unless instsim.iterative_scan is on.",
							&instsim_hnsw_ef_search, 40, 1, HNSW_MAX_EF_SEARCH,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("instsim.iterative_scan",
							 "Lets an instsim_hnsw scan keep searching until its LIMIT is met.",
							 "With a WHERE filter a plain scan can return fewer rows than "
							 "the LIMIT; when on, the scan resumes in batches of "
							 "instsim.ef_search rows (order across batches is approximate).",
							 &instsim_hnsw_iterative_scan, false,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("instsim.max_scan_tuples",
							"Most graph elements an iterative instsim_hnsw scan visits.",
							"Bounds the work of a filtered query whose filter matches few rows.",
							&instsim_hnsw_max_scan_tuples, 20000, 1, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	/* superuser-only: a role allowed to load models must not lift the limits */
	DefineCustomIntVariable("instsim.max_model_arena",
							"Largest inference arena a model may need, per backend.",
							"A model whose activations for one batch of 16 segments "
							"need more memory is refused when it is loaded or first used.",
							&instsim_max_model_arena, IS_MODEL_DEFAULT_MAX_ARENA_MB, 1, 65536,
							PGC_SUSET, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomRealVariable("instsim.max_model_gflops",
							 "Most floating-point work a model may do per segment, in GFLOP.",
							 "A model whose network needs more per 3-s segment is refused "
							 "when it is loaded.",
							 &instsim_max_model_gflops, IS_MODEL_DEFAULT_MAX_GFLOPS, 0.001, 1e6,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("instsim");
}
