/*
 * VACUUM: remove the elements of deleted rows and repair the graph around
 * them, in three passes.
 *
 * 1. Mark: flag every element whose heap row is gone.  Flagged elements are
 *    never returned by scans nor chosen as neighbours, but they stay in the
 *    graph so that searches can still pass through them.
 * 2. Repair, holding the index's update lock exclusively (no insert is in
 *    flight, so none can add a link to a flagged element from now on): every
 *    list that points at a flagged element is rebuilt with the heuristic over
 *    its live members plus the live members of the flagged ones (a local
 *    repair: their neighbourhoods are exactly the area the removal opens up).
 *    A flagged entry point is replaced by the highest live element.
 * 3. Free: delete the flagged tuples, keeping line pointer numbers stable, and
 *    tell the free space map so inserts refill the space.
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

typedef struct VacuumState
{
	Relation	index;
	HnswShape	shape;
	BufferAccessStrategy strategy;
	ItemPointerData *dead;		/* sorted: collected in page order */
	uint64		ndead;
	uint64		dead_cap;
	double		live;
	ItemPointerData best;		/* highest-level live element */
	int			best_level;

	/* repair scratch, sized for one list plus its flagged members' lists */
	HnswNeighbor *cands;
	float	   *vecs;
	float	   *base;			/* the vector of the element being repaired */
	ItemPointerData *list;
	int			max_cands;
} VacuumState;

static bool
is_dead(VacuumState *vs, ItemPointer tid)
{
	return bsearch(tid, vs->dead, vs->ndead, sizeof(ItemPointerData),
				   (int (*) (const void *, const void *)) ItemPointerCompare) != NULL;
}

static void
mark_dead(VacuumState *vs, BlockNumber blkno, IndexBulkDeleteCallback callback,
		  void *callback_state)
{
	Buffer		buf = hnsw_read_locked(vs->index, blkno,
									   vs->strategy, BUFFER_LOCK_EXCLUSIVE);
	Page		page = BufferGetPage(buf);
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	GenericXLogState *state = NULL;

	if (!hnsw_is_element_page(page))
	{
		UnlockReleaseBuffer(buf);
		return;
	}
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
	{
		HnswElementTuple t = hnsw_page_element(page, off, &vs->shape);

		if (t == NULL)
			continue;
		if ((t->flags & HNSW_ELEMENT_DELETED) || callback(&t->heaptid, callback_state))
		{
			if (!(t->flags & HNSW_ELEMENT_DELETED))
			{
				HnswElementTuple ct;

				if (state == NULL)
				{
					state = GenericXLogStart(vs->index);
					page = GenericXLogRegisterBuffer(state, buf, 0);
				}
				ct = hnsw_page_element(page, off, &vs->shape);
				ct->flags |= HNSW_ELEMENT_DELETED;
			}
			if (vs->ndead == vs->dead_cap)
				vs->dead = hnsw_grow(vs->dead, sizeof(ItemPointerData), &vs->dead_cap,
									 vs->ndead + 1);
			ItemPointerSet(&vs->dead[vs->ndead], blkno, off);
			vs->ndead++;
			continue;
		}
		vs->live++;
		if (t->level > vs->best_level)
		{
			vs->best_level = t->level;
			ItemPointerSet(&vs->best, blkno, off);
		}
	}
	if (state != NULL)
		GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

static void
add_candidate(VacuumState *vs, int *n, ItemPointer tid, ItemPointer self,
			  const float *base)
{
	HnswNeighbor *c = &vs->cands[*n];

	if (*n >= vs->max_cands || ItemPointerEquals(tid, self) || is_dead(vs, tid))
		return;
	for (int i = 0; i < *n; i++)
		if (ItemPointerEquals(&vs->cands[i].tid, tid))
			return;
	c->vec = vs->vecs + (Size) *n * vs->shape.dim;
	if (!hnsw_read_vector(vs->index, &vs->shape, tid, (float *) c->vec))
		return;
	c->tid = *tid;
	c->id = 0;
	c->dist = hnsw_distance(vs->shape.metric, base, c->vec, vs->shape.dim);
	(*n)++;
}

/* The level-`level` list of a (flagged) element, copied into vs->list. */
static int
read_list(VacuumState *vs, ItemPointer tid, int level)
{
	Buffer		buf = hnsw_read_locked(vs->index, ItemPointerGetBlockNumber(tid),
									   vs->strategy, BUFFER_LOCK_SHARE);
	HnswElementTuple t = hnsw_page_element(BufferGetPage(buf),
										   ItemPointerGetOffsetNumber(tid), &vs->shape);
	int			cap = hnsw_level_capacity(vs->shape.m, level);
	int			n = 0;

	if (t != NULL && t->level >= level)
	{
		ItemPointer list = hnsw_element_neighbors(t, &vs->shape, level);

		while (n < cap && ItemPointerIsValid(&list[n]))
		{
			vs->list[n] = list[n];
			n++;
		}
	}
	UnlockReleaseBuffer(buf);
	return n;
}

/*
 * Rebuilds one list of element `self` (copied in `t`) that points at flagged
 * elements, and writes it if the list is still what we read.
 */
static void
repair_list(VacuumState *vs, ItemPointer self, HnswElementTuple t, int level)
{
	const HnswShape *sh = &vs->shape;
	int			cap = hnsw_level_capacity(sh->m, level);
	ItemPointer old = hnsw_element_neighbors(t, sh, level);
	int			n = 0;
	int			kept;
	Buffer		buf;
	HnswElementTuple cur;

	for (int i = 0; i < cap && ItemPointerIsValid(&old[i]); i++)
	{
		if (!is_dead(vs, &old[i]))
			add_candidate(vs, &n, &old[i], self, vs->base);
	}
	for (int i = 0; i < cap && ItemPointerIsValid(&old[i]); i++)
	{
		if (is_dead(vs, &old[i]))
		{
			int			nl = read_list(vs, &old[i], level);

			for (int j = 0; j < nl; j++)
				add_candidate(vs, &n, &vs->list[j], self, vs->base);
		}
	}
	hnsw_sort_neighbors(vs->cands, n);
	kept = hnsw_select_neighbors(vs->cands, n, cap, sh->metric, sh->dim, NULL);

	buf = hnsw_read_locked(vs->index, ItemPointerGetBlockNumber(self),
						   vs->strategy, BUFFER_LOCK_EXCLUSIVE);
	cur = hnsw_page_element(BufferGetPage(buf), ItemPointerGetOffsetNumber(self), sh);
	if (cur != NULL && ItemPointerEquals(&cur->heaptid, &t->heaptid) &&
		memcmp(hnsw_element_neighbors(cur, sh, level), old,
			   sizeof(ItemPointerData) * cap) == 0)
	{
		GenericXLogState *state = GenericXLogStart(vs->index);
		Page		page = GenericXLogRegisterBuffer(state, buf, 0);
		ItemPointer dst;

		cur = hnsw_page_element(page, ItemPointerGetOffsetNumber(self), sh);
		dst = hnsw_element_neighbors(cur, sh, level);
		for (int i = 0; i < cap; i++)
		{
			if (i < kept)
				dst[i] = vs->cands[i].tid;
			else
				ItemPointerSetInvalid(&dst[i]);
		}
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
}

static void
repair_page(VacuumState *vs, BlockNumber blkno, HnswElementTuple copy)
{
	const HnswShape *sh = &vs->shape;
	Buffer		buf = hnsw_read_locked(vs->index, blkno, vs->strategy, BUFFER_LOCK_SHARE);
	Page		page = BufferGetPage(buf);
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	OffsetNumber *todo = palloc(sizeof(OffsetNumber) * (maxoff + 1));
	int			ntodo = 0;

	if (!hnsw_is_element_page(page))
		maxoff = InvalidOffsetNumber;
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
	{
		HnswElementTuple t = hnsw_page_element(page, off, sh);
		bool		broken = false;

		if (t == NULL || (t->flags & HNSW_ELEMENT_DELETED))
			continue;
		for (int l = 0; l <= t->level && !broken; l++)
		{
			ItemPointer list = hnsw_element_neighbors(t, sh, l);

			for (int i = 0; i < hnsw_level_capacity(sh->m, l) &&
				 ItemPointerIsValid(&list[i]); i++)
			{
				if (is_dead(vs, &list[i]))
				{
					broken = true;
					break;
				}
			}
		}
		if (broken)
			todo[ntodo++] = off;
	}
	UnlockReleaseBuffer(buf);

	for (int k = 0; k < ntodo; k++)
	{
		ItemPointerData self;

		ItemPointerSet(&self, blkno, todo[k]);
		buf = hnsw_read_locked(vs->index, blkno, vs->strategy, BUFFER_LOCK_SHARE);
		{
			HnswElementTuple t = hnsw_page_element(BufferGetPage(buf), todo[k], sh);

			if (t == NULL)
			{
				UnlockReleaseBuffer(buf);
				continue;
			}
			memcpy(copy, t, hnsw_element_size(sh, t->level));
		}
		UnlockReleaseBuffer(buf);
		hnsw_decode_vector(sh, copy->data, vs->base);
		for (int l = 0; l <= copy->level; l++)
		{
			vacuum_delay_point();
			repair_list(vs, &self, copy, l);
		}
	}
	pfree(todo);
}

static void
replace_entry_if_dead(VacuumState *vs)
{
	Buffer		buf = hnsw_read_locked(vs->index, HNSW_METAPAGE_BLKNO,
									   vs->strategy, BUFFER_LOCK_EXCLUSIVE);
	HnswMetaPage meta = HnswPageGetMeta(BufferGetPage(buf));
	ItemPointerData entry;

	ItemPointerSet(&entry, meta->entry_blkno, meta->entry_offno);
	if (BlockNumberIsValid(meta->entry_blkno) && is_dead(vs, &entry))
	{
		GenericXLogState *state = GenericXLogStart(vs->index);

		meta = HnswPageGetMeta(GenericXLogRegisterBuffer(state, buf, 0));
		if (vs->best_level >= 0)
		{
			meta->entry_blkno = ItemPointerGetBlockNumber(&vs->best);
			meta->entry_offno = ItemPointerGetOffsetNumber(&vs->best);
			meta->entry_level = vs->best_level;
		}
		else
		{
			meta->entry_blkno = InvalidBlockNumber;
			meta->entry_offno = InvalidOffsetNumber;
			meta->entry_level = -1;
		}
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
}

/* Deletes the flagged tuples of one page; line pointers keep their numbers. */
static void
free_dead(VacuumState *vs, uint64 first, uint64 end)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(&vs->dead[first]);
	Buffer		buf = hnsw_read_locked(vs->index, blkno,
									   vs->strategy, BUFFER_LOCK_EXCLUSIVE);
	GenericXLogState *state = GenericXLogStart(vs->index);
	Page		page = GenericXLogRegisterBuffer(state, buf, 0);

	for (uint64 i = first; i < end; i++)
		PageIndexTupleDeleteNoCompact(page, ItemPointerGetOffsetNumber(&vs->dead[i]));
	PageSetHasFreeLinePointers(page);
	GenericXLogFinish(state);
	RecordPageWithFreeSpace(vs->index, blkno, PageGetFreeSpace(BufferGetPage(buf)));
	UnlockReleaseBuffer(buf);
}

IndexBulkDeleteResult *
hnsw_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	HnswMetaPageData meta;
	VacuumState vs;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw vacuum",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(ctx);
	HnswElementTuple copy;

	if (stats == NULL)
		stats = MemoryContextAllocZero(old, sizeof(IndexBulkDeleteResult));
	hnsw_read_meta(index, &meta);
	memset(&vs, 0, sizeof(vs));
	vs.index = index;
	vs.strategy = info->strategy;
	vs.best_level = -1;
	hnsw_shape_from_meta(&meta, &vs.shape);
	stats->num_pages = nblocks;
	if (meta.dim == 0)
		goto done;

	for (BlockNumber blkno = HNSW_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		vacuum_delay_point();
		mark_dead(&vs, blkno, callback, callback_state);
	}
	stats->num_index_tuples = vs.live;
	if (vs.ndead == 0)
		goto done;

	/* a list's live members plus, per flagged member, all of its members */
	vs.max_cands = 2 * vs.shape.m * (2 * vs.shape.m + 1);
	vs.cands = palloc(sizeof(HnswNeighbor) * vs.max_cands);
	vs.vecs = palloc(sizeof(float) * vs.shape.dim * vs.max_cands);
	vs.base = palloc(sizeof(float) * vs.shape.dim);
	vs.list = palloc(sizeof(ItemPointerData) * 2 * vs.shape.m);
	copy = palloc(hnsw_element_size(&vs.shape, vs.shape.max_level));

	LockPage(index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
	nblocks = RelationGetNumberOfBlocks(index);
	for (BlockNumber blkno = HNSW_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
		repair_page(&vs, blkno, copy);
	replace_entry_if_dead(&vs);
	for (uint64 i = 0; i < vs.ndead;)
	{
		uint64		end = i + 1;

		while (end < vs.ndead &&
			   ItemPointerGetBlockNumber(&vs.dead[end]) == ItemPointerGetBlockNumber(&vs.dead[i]))
			end++;
		vacuum_delay_point();
		free_dead(&vs, i, end);
		i = end;
	}
	UnlockPage(index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
	IndexFreeSpaceMapVacuum(index);
	stats->tuples_removed += vs.ndead;

done:
	MemoryContextSwitchTo(old);
	MemoryContextDelete(ctx);
	return stats;
}

/*
 * After every VACUUM, with or without deletions: link the elements that no
 * search can reach (hnsw_relink.c) and count the live ones.
 */
IndexBulkDeleteResult *
hnsw_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;
	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));
	stats->num_index_tuples = hnsw_relink(info->index, info->strategy);
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
