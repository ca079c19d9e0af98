/*
 * The reachability repair over the on-disk graph (see hnsw_reach.c for why
 * elements get cut off), run by every VACUUM and at the end of a build that
 * went on with on-disk inserts.  Level 0 is loaded into dense arrays
 * (hnsw_level0.c), the repair links what the walks from and to the entry
 * point miss, and the rewritten lists go back to their pages, one GenericXLog
 * record each.  Runs holding the index's update lock exclusively so that no
 * insert rewrites a list meanwhile; scans go on.
 */
#include "postgres.h"

#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

static void
write_list(HnswLevel0 *l0, int32 id)
{
	const HnswShape *sh = &l0->shape;
	ItemPointerData self;
	Buffer		buf;
	GenericXLogState *state;
	HnswElementTuple t;

	hnsw_level0_tid(l0, id, &self);
	buf = hnsw_read_locked(l0->index, ItemPointerGetBlockNumber(&self),
						   l0->strategy, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(l0->index);
	t = hnsw_page_element(GenericXLogRegisterBuffer(state, buf, 0),
						  ItemPointerGetOffsetNumber(&self), sh);
	if (t != NULL)
	{
		ItemPointer dst = hnsw_element_neighbors(t, sh, 0);

		for (int i = 0; i < l0->g.cap; i++)
		{
			if (i < l0->g.count[id])
				hnsw_level0_tid(l0, l0->g.links[(int64) id * l0->g.cap + i], &dst[i]);
			else
				ItemPointerSetInvalid(&dst[i]);
		}
		GenericXLogFinish(state);
	}
	else
		GenericXLogAbort(state);
	UnlockReleaseBuffer(buf);
}

void
hnsw_warn_unrepaired(Relation index)
{
	ereport(WARNING,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("instsim_hnsw index \"%s\": reachability repair skipped for lack of memory",
					RelationGetRelationName(index)),
			 errdetail("An index scan may miss rows until the repair runs."),
			 errhint("Raise instsim.max_repair_memory (about 135 bytes per row with m = 16), "
					 "or VACUUM the table again when more memory is free.")));
}

/*
 * Links every live element that a search cannot reach.  Returns the number
 * of live elements (VACUUM's index statistics).
 */
double
hnsw_relink(Relation index, BufferAccessStrategy strategy)
{
	HnswMetaPageData meta;
	HnswLevel0	l0;
	int64		added;
	MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw relink",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(ctx);

	LockPage(index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
	hnsw_read_meta(index, &meta);
	added = hnsw_level0_load(index, strategy, &meta, &l0) ?
		hnsw_link_unreachable(&l0.g, l0.entry) : -1;
	for (int64 id = 0; added > 0 && id < l0.g.n; id++)
		if (l0.g.changed[id])
			write_list(&l0, (int32) id);
	if (added < 0 && l0.entry >= 0)
		hnsw_warn_unrepaired(index);
	UnlockPage(index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	return l0.live;
}
