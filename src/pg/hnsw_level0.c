/*
 * Level 0 of the on-disk graph as dense arrays (HnswAdjacency), one id per
 * line pointer of the element pages, for the reachability repair
 * (hnsw_relink.c) and the checker (hnsw_check.c).  The caller holds the
 * index's update lock exclusively, so no insert changes a list meanwhile.
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

/* Numbers the line pointers of every element page; returns the live count. */
static double
number_slots(HnswLevel0 *l0)
{
	double		live = 0;
	int64		n = 0;

	for (BlockNumber blkno = 0; blkno < l0->nblocks; blkno++)
	{
		Buffer		buf = hnsw_read_locked(l0->index, blkno,
										   l0->strategy, BUFFER_LOCK_SHARE);
		Page		page = BufferGetPage(buf);
		OffsetNumber maxoff = hnsw_is_element_page(page) ? PageGetMaxOffsetNumber(page) : 0;

		l0->first_id[blkno] = n;
		n += maxoff;
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			HnswElementTuple t = hnsw_page_element(page, off, &l0->shape);

			if (t != NULL && !(t->flags & HNSW_ELEMENT_DELETED))
				live++;
		}
		UnlockReleaseBuffer(buf);
		vacuum_delay_point();
	}
	l0->first_id[l0->nblocks] = n;
	l0->g.n = n;
	return live;
}

static int32
id_of(HnswLevel0 *l0, ItemPointer tid)
{
	BlockNumber blkno = ItemPointerGetBlockNumberNoCheck(tid);
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);

	if (blkno >= l0->nblocks || off < FirstOffsetNumber ||
		l0->first_id[blkno] + off > l0->first_id[blkno + 1])
		return -1;
	return (int32) (l0->first_id[blkno] + off - 1);
}

void
hnsw_level0_tid(const HnswLevel0 *l0, int32 id, ItemPointer tid)
{
	BlockNumber lo = 0;
	BlockNumber hi = l0->nblocks - 1;

	/* the last block whose first id is <= id */
	while (lo < hi)
	{
		BlockNumber mid = lo + (hi - lo + 1) / 2;

		if (l0->first_id[mid] <= id)
			lo = mid;
		else
			hi = mid - 1;
	}
	ItemPointerSet(tid, lo, (OffsetNumber) (id - l0->first_id[lo] + 1));
}

static void
load_lists(HnswLevel0 *l0)
{
	const HnswShape *sh = &l0->shape;
	bool	   *live = (bool *) l0->g.live;

	for (BlockNumber blkno = 0; blkno < l0->nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;

		if (l0->first_id[blkno] == l0->first_id[blkno + 1])
			continue;
		buf = hnsw_read_locked(l0->index, blkno, l0->strategy, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		for (int64 id = l0->first_id[blkno]; id < l0->first_id[blkno + 1]; id++)
		{
			OffsetNumber off = (OffsetNumber) (id - l0->first_id[blkno] + 1);
			HnswElementTuple t = hnsw_page_element(page, off, sh);
			ItemPointer list;
			int32	   *dst = l0->g.links + id * l0->g.cap;

			l0->g.count[id] = 0;
			live[id] = t != NULL && !(t->flags & HNSW_ELEMENT_DELETED);
			if (t == NULL)
				continue;
			list = hnsw_element_neighbors(t, sh, 0);
			for (int i = 0; i < l0->g.cap && ItemPointerIsValid(&list[i]); i++)
			{
				int32		nb = id_of(l0, &list[i]);

				if (nb >= 0)
					dst[l0->g.count[id]++] = nb;
			}
		}
		UnlockReleaseBuffer(buf);
		vacuum_delay_point();
	}
}

/*
 * Fills l0 (allocating in the current memory context) from the index whose
 * meta page is `meta`.  l0->live is always set; the lists are loaded only
 * when the graph has an entry point and the memory (about 135 bytes per
 * element with m = 16) can be had: returns false when not.
 */
bool
hnsw_level0_load(Relation index, BufferAccessStrategy strategy,
				 const HnswMetaPageData *meta, HnswLevel0 *l0)
{
	ItemPointerData entry;
	int64		n;

	memset(l0, 0, sizeof(*l0));
	l0->index = index;
	l0->strategy = strategy;
	hnsw_shape_from_meta(meta, &l0->shape);
	l0->nblocks = RelationGetNumberOfBlocks(index);
	l0->first_id = MemoryContextAllocHuge(CurrentMemoryContext,
										  sizeof(int64) * (l0->nblocks + 1));
	l0->live = number_slots(l0);
	l0->g.cap = 2 * l0->shape.m;
	ItemPointerSet(&entry, meta->entry_blkno, meta->entry_offno);
	l0->entry = BlockNumberIsValid(meta->entry_blkno) ? id_of(l0, &entry) : -1;
	n = l0->g.n;
	if (l0->entry < 0 || n > PG_INT32_MAX)
		return false;
	/*
	 * A cap of its own rather than overcommitted memory: on Linux an
	 * allocation too large for the machine rarely fails, the OOM killer ends
	 * the backend instead (and with it every session).
	 */
	if ((double) n * (sizeof(int32) * (l0->g.cap + 1) + 2 * sizeof(bool)) >
		(double) instsim_hnsw_max_repair_memory * 1024 * 1024)
		return false;
	l0->g.links = hnsw_alloc_or_null(sizeof(int32) * l0->g.cap * n);
	l0->g.count = hnsw_alloc_or_null(sizeof(int32) * n);
	l0->g.live = hnsw_alloc_or_null(sizeof(bool) * n);
	l0->g.changed = hnsw_alloc_or_null(sizeof(bool) * n);
	if (!l0->g.links || !l0->g.count || !l0->g.live || !l0->g.changed)
		return false;
	load_lists(l0);
	return true;
}
