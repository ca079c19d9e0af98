/*
 * VACUUM's reachability repair over the on-disk graph (see hnsw_reach.c for
 * why elements lose their last incoming link).  Level 0 is loaded into dense
 * arrays, one id per line pointer, the repair links what a walk from the
 * entry point misses, and the rewritten lists go back to their pages, one
 * GenericXLog record each.  Runs holding the index's update lock exclusively
 * so that no insert rewrites a list meanwhile; scans go on.  Skipped (with a
 * DEBUG1 message) when the arrays would not fit in maintenance_work_mem.
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

typedef struct Relink
{
	Relation	index;
	HnswShape	shape;
	BufferAccessStrategy strategy;
	BlockNumber nblocks;
	int64	   *first_id;		/* per block, nblocks + 1 entries */
	HnswAdjacency g;
} Relink;

/* Numbers the line pointers of every element page; returns the live count. */
static double
number_slots(Relink *rl)
{
	double		live = 0;
	int64		n = 0;

	for (BlockNumber blkno = 0; blkno < rl->nblocks; blkno++)
	{
		Buffer		buf = hnsw_read_locked(rl->index, blkno,
										   rl->strategy, BUFFER_LOCK_SHARE);
		Page		page = BufferGetPage(buf);
		OffsetNumber maxoff = hnsw_is_element_page(page) ? PageGetMaxOffsetNumber(page) : 0;

		rl->first_id[blkno] = n;
		n += maxoff;
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			HnswElementTuple t = hnsw_page_element(page, off, &rl->shape);

			if (t != NULL && !(t->flags & HNSW_ELEMENT_DELETED))
				live++;
		}
		UnlockReleaseBuffer(buf);
		vacuum_delay_point();
	}
	rl->first_id[rl->nblocks] = n;
	rl->g.n = n;
	return live;
}

static int32
id_of(Relink *rl, ItemPointer tid)
{
	BlockNumber blkno = ItemPointerGetBlockNumberNoCheck(tid);
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);

	if (blkno >= rl->nblocks || off < FirstOffsetNumber ||
		rl->first_id[blkno] + off > rl->first_id[blkno + 1])
		return -1;
	return (int32) (rl->first_id[blkno] + off - 1);
}

static void
tid_of(Relink *rl, int32 id, ItemPointer tid)
{
	BlockNumber lo = 0;
	BlockNumber hi = rl->nblocks - 1;

	/* the last block whose first id is <= id */
	while (lo < hi)
	{
		BlockNumber mid = lo + (hi - lo + 1) / 2;

		if (rl->first_id[mid] <= id)
			lo = mid;
		else
			hi = mid - 1;
	}
	ItemPointerSet(tid, lo, (OffsetNumber) (id - rl->first_id[lo] + 1));
}

static void
load_lists(Relink *rl)
{
	const HnswShape *sh = &rl->shape;
	bool	   *live = (bool *) rl->g.live;

	for (BlockNumber blkno = 0; blkno < rl->nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;

		if (rl->first_id[blkno] == rl->first_id[blkno + 1])
			continue;
		buf = hnsw_read_locked(rl->index, blkno, rl->strategy, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		for (int64 id = rl->first_id[blkno]; id < rl->first_id[blkno + 1]; id++)
		{
			OffsetNumber off = (OffsetNumber) (id - rl->first_id[blkno] + 1);
			HnswElementTuple t = hnsw_page_element(page, off, sh);
			ItemPointer list;
			int32	   *dst = rl->g.links + id * rl->g.cap;

			rl->g.count[id] = 0;
			live[id] = t != NULL && !(t->flags & HNSW_ELEMENT_DELETED);
			if (t == NULL)
				continue;
			list = hnsw_element_neighbors(t, sh->dim, sh->m, 0);
			for (int i = 0; i < rl->g.cap && ItemPointerIsValid(&list[i]); i++)
			{
				int32		nb = id_of(rl, &list[i]);

				if (nb >= 0)
					dst[rl->g.count[id]++] = nb;
			}
		}
		UnlockReleaseBuffer(buf);
		vacuum_delay_point();
	}
}

static void
write_list(Relink *rl, int32 id)
{
	const HnswShape *sh = &rl->shape;
	ItemPointerData self;
	Buffer		buf;
	GenericXLogState *state;
	HnswElementTuple t;

	tid_of(rl, id, &self);
	buf = hnsw_read_locked(rl->index, ItemPointerGetBlockNumber(&self),
						   rl->strategy, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(rl->index);
	t = hnsw_page_element(GenericXLogRegisterBuffer(state, buf, 0),
						  ItemPointerGetOffsetNumber(&self), sh);
	if (t != NULL)
	{
		ItemPointer dst = hnsw_element_neighbors(t, sh->dim, sh->m, 0);

		for (int i = 0; i < rl->g.cap; i++)
		{
			if (i < rl->g.count[id])
				tid_of(rl, rl->g.links[(int64) id * rl->g.cap + i], &dst[i]);
			else
				ItemPointerSetInvalid(&dst[i]);
		}
		GenericXLogFinish(state);
	}
	else
		GenericXLogAbort(state);
	UnlockReleaseBuffer(buf);
}

/*
 * Links every live element that a search from the entry point cannot reach.
 * Returns the number of live elements (VACUUM's index statistics).
 */
double
hnsw_relink(Relation index, BufferAccessStrategy strategy)
{
	HnswMetaPageData meta;
	Relink		rl;
	double		live;
	ItemPointerData entry;
	int32		entry_id;
	MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw relink",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(ctx);

	memset(&rl, 0, sizeof(rl));
	rl.index = index;
	rl.strategy = strategy;
	LockPage(index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
	hnsw_read_meta(index, &meta);
	hnsw_shape_from_meta(&meta, &rl.shape);
	rl.nblocks = RelationGetNumberOfBlocks(index);
	rl.first_id = MemoryContextAllocHuge(ctx, sizeof(int64) * (rl.nblocks + 1));
	live = number_slots(&rl);
	rl.g.cap = 2 * rl.shape.m;
	ItemPointerSet(&entry, meta.entry_blkno, meta.entry_offno);
	entry_id = BlockNumberIsValid(meta.entry_blkno) ? id_of(&rl, &entry) : -1;

	if (entry_id >= 0 && rl.g.n <= PG_INT32_MAX &&
		(double) rl.g.n * (sizeof(int32) * (rl.g.cap + 3) + 3) <=
		(double) maintenance_work_mem * 1024)
	{
		rl.g.links = MemoryContextAllocHuge(ctx, sizeof(int32) * rl.g.cap * rl.g.n);
		rl.g.count = MemoryContextAllocHuge(ctx, sizeof(int32) * rl.g.n);
		rl.g.live = MemoryContextAllocHuge(ctx, sizeof(bool) * rl.g.n);
		rl.g.changed = MemoryContextAllocHuge(ctx, sizeof(bool) * rl.g.n);
		load_lists(&rl);
		if (hnsw_link_unreachable(&rl.g, entry_id) > 0)
		{
			for (int64 id = 0; id < rl.g.n; id++)
				if (rl.g.changed[id])
					write_list(&rl, (int32) id);
		}
	}
	else if (entry_id >= 0)
		elog(DEBUG1, "instsim_hnsw index \"%s\": reachability check skipped, its graph does not fit in maintenance_work_mem",
			 RelationGetRelationName(index));
	UnlockPage(index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	return live;
}
