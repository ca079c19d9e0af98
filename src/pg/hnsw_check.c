/*
 * instsim_hnsw_check(index): does every live row stay findable?  In the
 * spirit of amcheck, a read-only verification for tests and for users who
 * suspect an index misses rows.  It loads level 0 (hnsw_level0.c) and walks
 * it from the entry point along the links and, reversed, back to it
 * (hnsw_reach.c), and reports
 *   live         elements not flagged deleted (one per indexed heap row)
 *   reachable    live elements a walk from the entry point reaches
 *   unreachable  live - reachable: rows no index scan can return
 *   stranded     live elements with no path back to the entry point: a scan
 *                that enters level 0 among them sees only part of the graph
 *   unreachable_tids  heap TIDs of the first few unreachable rows
 * A healthy index reports 0 unreachable and 0 stranded.  Holds the index's
 * update lock exclusively while it runs (inserts wait, scans go on).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

#define CHECK_MAX_TIDS 10

static Relation
open_hnsw_index(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);

	if (rel->rd_rel->relkind != RELKIND_INDEX || rel->rd_indam == NULL ||
		rel->rd_indam->ambuild != hnsw_build)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an instsim_hnsw index", RelationGetRelationName(rel)),
				 errhint("Pass the name of an index created USING instsim_hnsw.")));
	if (RELATION_IS_OTHER_TEMP(rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot check temporary indexes of other sessions")));
	return rel;
}

static void
no_memory(Relation index)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("out of memory"),
			 errdetail("Checking index \"%s\" needs its level-0 links in memory.",
					   RelationGetRelationName(index))));
}

/* The heap TID of the element with level-0 id `id`. */
static bool
element_heaptid(HnswLevel0 *l0, int32 id, ItemPointer out)
{
	ItemPointerData self;
	Buffer		buf;
	HnswElementTuple t;
	bool		found;

	hnsw_level0_tid(l0, id, &self);
	buf = hnsw_read_locked(l0->index, ItemPointerGetBlockNumber(&self), NULL,
						   BUFFER_LOCK_SHARE);
	t = hnsw_page_element(BufferGetPage(buf), ItemPointerGetOffsetNumber(&self), &l0->shape);
	found = t != NULL;
	if (found)
		*out = t->heaptid;
	UnlockReleaseBuffer(buf);
	return found;
}

PG_FUNCTION_INFO_V1(instsim_hnsw_check);
Datum
instsim_hnsw_check(PG_FUNCTION_ARGS)
{
	Relation	index = open_hnsw_index(PG_GETARG_OID(0));
	TupleDesc	desc;
	HnswMetaPageData meta;
	HnswLevel0	l0;
	int64		reachable = 0;
	int64		stranded = 0;
	Datum		tids[CHECK_MAX_TIDS];
	int			ntids = 0;
	Datum		values[5];
	bool		nulls[5] = {false};
	MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw check",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "instsim_hnsw_check must return a record");
	old = MemoryContextSwitchTo(ctx);
	LockPage(index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
	hnsw_read_meta(index, &meta);
	if (hnsw_level0_load(index, NULL, &meta, &l0))
	{
		bool	   *reached = MemoryContextAllocHuge(ctx, l0.g.n);
		bool	   *back = MemoryContextAllocHuge(ctx, l0.g.n);

		if (!hnsw_reach_mark(&l0.g, l0.entry, reached, back))
			no_memory(index);
		for (int64 id = 0; id < l0.g.n; id++)
		{
			ItemPointerData heaptid;

			if (!l0.g.live[id])
				continue;
			reachable += reached[id];
			stranded += !back[id];
			if (!reached[id] && ntids < CHECK_MAX_TIDS &&
				element_heaptid(&l0, (int32) id, &heaptid))
			{
				ItemPointer copy = MemoryContextAlloc(old, sizeof(ItemPointerData));

				*copy = heaptid;
				tids[ntids++] = PointerGetDatum(copy);
			}
		}
	}
	else if (l0.entry >= 0)
		no_memory(index);
	UnlockPage(index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
	MemoryContextSwitchTo(old);

	values[0] = Int64GetDatum((int64) l0.live);
	values[1] = Int64GetDatum(reachable);
	values[2] = Int64GetDatum((int64) l0.live - reachable);
	values[3] = Int64GetDatum(stranded);
	values[4] = PointerGetDatum(construct_array(tids, ntids, TIDOID, sizeof(ItemPointerData),
												false, TYPALIGN_SHORT));
	MemoryContextDelete(ctx);
	relation_close(index, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
