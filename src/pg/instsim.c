/*
 * Module entry point.  Each subsystem registers its own GUCs from here so that
 * they exist as soon as the library is loaded, whichever function loads it.
 */
#include "postgres.h"
#include "fmgr.h"
#include "utils/guc.h"

#include <cblas.h>

#include "hnsw.h"
#include "model_cache.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	hnsw_init_gucs();
	model_cache_init_gucs();
	MarkGUCPrefixReserved("instsim");

	/*
	 * One BLAS thread per backend: parallelism comes from PostgreSQL itself
	 * (one backend or parallel worker per core), and OpenBLAS's own thread
	 * pool would oversubscribe the cores and keep idle threads alive in every
	 * backend that ever embedded a track.
	 */
	openblas_set_num_threads(1);
}
