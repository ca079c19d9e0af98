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

/* The most nodes maintenance_work_mem holds, `extra` bytes per node besides. */
int64
hnsw_build_cap_limit(const HnswShape *sh, Size extra)
{
	return Max((int64) maintenance_work_mem * 1024 /
			   (int64) (hnsw_graph_node_bytes(sh) + extra), 2);
}

/* A serial build learns the dimensions from the first row if it must. */
static void
graph_start(HnswBuilder *b, int dim)
{
	HnswShape  *sh = &b->g.shape;
	MemoryContext old = MemoryContextSwitchTo(b->graph_ctx);

	sh->dim = dim;
	hnsw_check_dim(sh, dim);
	sh->max_level = hnsw_max_level_for(sh);
	b->g.cap_limit = hnsw_build_cap_limit(sh, 0);
	hnsw_graph_init_private(&b->g, 0);
	b->started = true;
	MemoryContextSwitchTo(old);
}

static void
spill(HnswBuilder *b)
{
	ereport(NOTICE,
			(errmsg("instsim_hnsw graph no longer fits in maintenance_work_mem after %.0f tuples",
					b->indtuples),
			 errdetail("Building will take significantly longer."),
			 errhint("Increase maintenance_work_mem to speed up builds.")));
	hnsw_graph_write(&b->g, b->index);
	MemoryContextReset(b->graph_ctx);
}

/* The table scan's callback, serial and parallel. */
void
hnsw_build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
					bool tupleIsAlive, void *state)
{
	HnswBuilder *b = state;
	MemoryContext old;
	Embedding  *e;
	uint64		done;

	if (isnull[0])
		return;
	old = MemoryContextSwitchTo(b->tuple_ctx);
	e = DatumGetEmbedding(values[0]);
	if (!b->started)
		graph_start(b, b->g.shape.dim == 0 ? e->dim : b->g.shape.dim);
	hnsw_check_dim(&b->g.shape, e->dim);

	if (!b->on_disk)
	{
		HnswAddResult r;

		/* the search heaps grow inside and must outlive this tuple */
		MemoryContextSwitchTo(b->graph_ctx);
		r = hnsw_graph_add(&b->g, e->x, tid);
		MemoryContextSwitchTo(b->tuple_ctx);
		if (r == HNSW_FULL)
		{
			if (b->shared)
				hnsw_parallel_spill(b);
			else
				spill(b);
			b->on_disk = true;
		}
	}
	if (b->on_disk)
		hnsw_insert_vector(index, e->x, e->dim, tid);

	b->indtuples++;
	done = b->shared ? hnsw_parallel_count_row(b) : (uint64) b->indtuples;
	if (b->leader)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) done);
	MemoryContextSwitchTo(old);
	MemoryContextReset(b->tuple_ctx);
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
	sh->storage = hnsw_reloption_storage(index);
	sh->dim = 0;
	sh->max_level = 0;
	if (sh->ef_construction < 2 * sh->m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction must be greater than or equal to 2 * m"),
				 errdetail("m = %d, ef_construction = %d.", sh->m, sh->ef_construction)));
	if (typmod > 0)
	{
		hnsw_check_dim(sh, typmod);
		sh->dim = typmod;
		sh->max_level = hnsw_max_level_for(sh);
	}
}

IndexBuildResult *
hnsw_build(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result = palloc(sizeof(IndexBuildResult));
	HnswBuilder b;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	memset(&b, 0, sizeof(b));
	b.index = index;
	b.leader = true;
	b.head.entry = -1;
	b.g.head = &b.head;
	shape_for_new_index(index, &b.g.shape);
	write_empty_meta(index, &b.g.shape, MAIN_FORKNUM);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
								 (int64) Max(heap->rd_rel->reltuples, 0));
	if (hnsw_build_parallel(heap, index, indexInfo, &b.g.shape,
							&result->heap_tuples, &result->index_tuples))
		return result;

	b.graph_ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw build graph",
										ALLOCSET_DEFAULT_SIZES);
	b.tuple_ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw build tuple",
										ALLOCSET_DEFAULT_SIZES);
	result->heap_tuples = table_index_build_scan(heap, index, indexInfo, true, true,
												 hnsw_build_callback, &b, NULL);
	if (!b.on_disk)
		hnsw_graph_write(&b.g, index);
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
	MemoryContextDelete(b.graph_ctx);
	MemoryContextDelete(b.tuple_ctx);
	result->index_tuples = b.indtuples;
	return result;
}

void
hnsw_buildempty(Relation index)
{
	HnswShape	sh;

	shape_for_new_index(index, &sh);
	write_empty_meta(index, &sh, INIT_FORKNUM);
}
