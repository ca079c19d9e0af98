/*
 * Index build.
 *
 * While the graph fits in maintenance_work_mem it is built in memory
 * (hnsw_graph.c) and then written out once (hnsw_graph_write.c).  With
 * max_parallel_maintenance_workers, workers and the leader build one graph
 * in shared memory (hnsw_build_parallel.c).
 *
 * When the graph would outgrow maintenance_work_mem, the graph built so far
 * is written out and the remaining rows go through the ordinary on-disk
 * insert path, which is slower but needs no memory beyond one search; the
 * reachability repair then runs over the whole on-disk graph.
 */
#include "postgres.h"

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/smgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "embedding.h"
#include "hnsw_graph.h"

typedef struct BuildState
{
	Relation	index;
	HnswGraph	g;
	HnswGraphHead head;
	MemoryContext graph_ctx;
	MemoryContext tuple_ctx;
	bool		started;
	bool		on_disk;
	double		indtuples;
} BuildState;

/* The most nodes maintenance_work_mem holds, `extra` bytes per node besides. */
int64
hnsw_build_cap_limit(const HnswShape *sh, Size extra)
{
	return Max((int64) maintenance_work_mem * 1024 /
			   (int64) (hnsw_graph_node_bytes(sh) + extra), 2);
}

static void
graph_start(BuildState *bs, int dim)
{
	HnswShape  *sh = &bs->g.shape;
	MemoryContext old = MemoryContextSwitchTo(bs->graph_ctx);

	hnsw_check_dim(dim, sh->m, 0);
	sh->dim = dim;
	sh->max_level = hnsw_max_level_for(dim, sh->m);
	bs->g.cap_limit = hnsw_build_cap_limit(sh, 0);
	hnsw_graph_init_private(&bs->g, 0);
	bs->started = true;
	MemoryContextSwitchTo(old);
}

static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *state)
{
	BuildState *bs = state;
	MemoryContext old;
	Embedding  *e;

	if (isnull[0])
		return;
	old = MemoryContextSwitchTo(bs->tuple_ctx);
	e = DatumGetEmbedding(values[0]);
	if (!bs->started)
		graph_start(bs, bs->g.shape.dim == 0 ? e->dim : bs->g.shape.dim);
	hnsw_check_dim(e->dim, bs->g.shape.m, bs->g.shape.dim);

	if (!bs->on_disk)
	{
		HnswAddResult r;

		/* the search heaps grow inside and must outlive this tuple */
		MemoryContextSwitchTo(bs->graph_ctx);
		r = hnsw_graph_add(&bs->g, e->x, tid);
		MemoryContextSwitchTo(bs->tuple_ctx);
		if (r == HNSW_FULL)
		{
			ereport(NOTICE,
					(errmsg("instsim_hnsw graph no longer fits in maintenance_work_mem after %.0f tuples",
							bs->indtuples),
					 errdetail("Building will take significantly longer."),
					 errhint("Increase maintenance_work_mem to speed up builds.")));
			hnsw_graph_write(&bs->g, index);
			bs->on_disk = true;
			MemoryContextReset(bs->graph_ctx);
		}
	}
	if (bs->on_disk)
		hnsw_insert_vector(index, e->x, e->dim, tid);

	bs->indtuples++;
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->indtuples);
	MemoryContextSwitchTo(old);
	MemoryContextReset(bs->tuple_ctx);
}

static void
write_empty_meta(Relation index, const HnswShape *sh, ForkNumber fork)
{
	PGAlignedBlock local;
	Page		page = (Page) local.data;

	hnsw_init_meta(page, sh);
	if (fork == MAIN_FORKNUM)
	{
		hnsw_append_page(index, page, HNSW_METAPAGE_BLKNO);
		return;
	}
	/* The init fork of an unlogged index bypasses shared buffers. */
	PageSetChecksumInplace(page, HNSW_METAPAGE_BLKNO);
	smgrwrite(RelationGetSmgr(index), fork, HNSW_METAPAGE_BLKNO, (char *) page, true);
	log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, fork,
				HNSW_METAPAGE_BLKNO, page, true);
	smgrimmedsync(RelationGetSmgr(index), fork);
}

static void
shape_for_new_index(Relation index, HnswShape *sh)
{
	int32		typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;

	sh->m = hnsw_reloption_m(index);
	sh->ef_construction = hnsw_reloption_ef_construction(index);
	sh->metric = hnsw_index_metric(index);
	sh->dim = 0;
	sh->max_level = 0;
	if (sh->ef_construction < 2 * sh->m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction must be greater than or equal to 2 * m"),
				 errdetail("m = %d, ef_construction = %d.", sh->m, sh->ef_construction)));
	if (typmod > 0)
	{
		hnsw_check_dim(typmod, sh->m, 0);
		sh->dim = typmod;
		sh->max_level = hnsw_max_level_for(typmod, sh->m);
	}
}

IndexBuildResult *
hnsw_build(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result = palloc(sizeof(IndexBuildResult));
	BuildState	bs;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	memset(&bs, 0, sizeof(bs));
	bs.index = index;
	bs.head.entry = -1;
	bs.g.head = &bs.head;
	shape_for_new_index(index, &bs.g.shape);
	write_empty_meta(index, &bs.g.shape, MAIN_FORKNUM);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
								 (int64) Max(heap->rd_rel->reltuples, 0));
	if (hnsw_build_parallel(heap, index, indexInfo, &bs.g.shape,
							&result->heap_tuples, &result->index_tuples))
		return result;

	bs.graph_ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw build graph",
										 ALLOCSET_DEFAULT_SIZES);
	bs.tuple_ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw build tuple",
										 ALLOCSET_DEFAULT_SIZES);
	result->heap_tuples = table_index_build_scan(heap, index, indexInfo, true, true,
												 build_callback, &bs, NULL);
	if (!bs.on_disk)
		hnsw_graph_write(&bs.g, index);
	else
	{
		/*
		 * The rows after the spill went through the on-disk insert path,
		 * whose pruning cuts elements off like the in-memory build's does
		 * (a 118 000-row build left 278 rows no scan could find): repair the
		 * whole graph as VACUUM does.
		 */
		hnsw_relink(index, NULL);
	}
	MemoryContextDelete(bs.graph_ctx);
	MemoryContextDelete(bs.tuple_ctx);
	result->index_tuples = bs.indtuples;
	return result;
}

void
hnsw_buildempty(Relation index)
{
	HnswShape	sh;

	shape_for_new_index(index, &sh);
	write_empty_meta(index, &sh, INIT_FORKNUM);
}
