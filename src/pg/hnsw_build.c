/*
 * Index build.
 *
 * While the graph fits in maintenance_work_mem it is built in flat arrays
 * (vectors contiguous, neighbour lists as int32 ids, an epoch-stamped visited
 * array: no hashing, no buffer manager) and then written out once.  The
 * write-out places elements in breadth-first order from the entry point, so
 * graph neighbours tend to share pages and a scan touches fewer buffers.
 * Pages are written without WAL and logged in bulk at the end.
 *
 * When the arrays would outgrow maintenance_work_mem, the graph built so far
 * is written out and the remaining rows go through the ordinary on-disk
 * insert path, which is slower but needs no memory beyond one search.
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
#include "hnsw.h"

typedef struct BuildState
{
	Relation	index;
	HnswShape	shape;
	MemoryContext graph_ctx;
	MemoryContext tuple_ctx;
	bool		on_disk;
	double		indtuples;

	/* the in-memory graph */
	int64		n;
	int64		cap;
	int64		cap_limit;
	float	   *vecs;
	ItemPointerData *heaptids;
	uint8	   *levels;
	int32	   *links0;			/* 2m per node */
	int32	   *count0;
	int32	   *upper_at;		/* first level-1 block in upper, or -1 */
	int32	   *upper;			/* per level >= 1: count, then m ids */
	uint64		upper_used;
	uint64		upper_cap;
	uint32	   *visit;
	uint32		epoch;
	int32		entry;
	int			entry_level;

	HnswHeap	cand;
	HnswHeap	best;
	HnswHeapItem *seeds;
	int			nseeds;
	HnswNeighbor *pick;
} BuildState;

static inline float *
node_vec(BuildState *bs, int32 id)
{
	return bs->vecs + (int64) id * bs->shape.dim;
}

/* A node's list at `level`: its ids and a pointer to its count. */
static inline int32 *
node_links(BuildState *bs, int32 id, int level, int *cap, int32 **count)
{
	if (level == 0)
	{
		*cap = 2 * bs->shape.m;
		*count = &bs->count0[id];
		return bs->links0 + (int64) id * 2 * bs->shape.m;
	}
	*cap = bs->shape.m;
	*count = bs->upper + bs->upper_at[id] + (int64) (level - 1) * (bs->shape.m + 1);
	return *count + 1;
}

static Size
node_bytes(const HnswShape *sh)
{
	/* per node, plus the expected share of upper-level lists (1 in m nodes) */
	return sizeof(float) * sh->dim + sizeof(ItemPointerData) + 1 +
		sizeof(int32) * (2 * sh->m + 1) + sizeof(int32) + sizeof(uint32) +
		sizeof(int32) * (sh->m + 1) * 2 / sh->m;
}

static void
graph_reserve(BuildState *bs)
{
	const HnswShape *sh = &bs->shape;
	int64		newcap = Min(Max(bs->cap * 2, 1024), bs->cap_limit);
	MemoryContext old = MemoryContextSwitchTo(bs->graph_ctx);

#define GROW(field, type, per) \
	bs->field = bs->field ? \
		repalloc_huge(bs->field, sizeof(type) * (per) * newcap) : \
		MemoryContextAllocHuge(bs->graph_ctx, sizeof(type) * (per) * newcap)
	GROW(vecs, float, sh->dim);
	GROW(heaptids, ItemPointerData, 1);
	GROW(levels, uint8, 1);
	GROW(links0, int32, 2 * sh->m);
	GROW(count0, int32, 1);
	GROW(upper_at, int32, 1);
	GROW(visit, uint32, 1);
#undef GROW
	memset(bs->visit + bs->cap, 0, sizeof(uint32) * (newcap - bs->cap));
	bs->cap = newcap;
	MemoryContextSwitchTo(old);
}

static float
dist_to(BuildState *bs, const float *q, int32 id)
{
	return hnsw_distance(bs->shape.metric, q, node_vec(bs, id), bs->shape.dim);
}

/* Standard layer search from bs->seeds; leaves the results in bs->best. */
static void
search_layer(BuildState *bs, const float *q, int level, int ef)
{
	bs->cand.n = 0;
	bs->best.n = 0;
	if (++bs->epoch == 0)
	{
		memset(bs->visit, 0, sizeof(uint32) * bs->cap);
		bs->epoch = 1;
	}
	for (int i = 0; i < bs->nseeds; i++)
	{
		bs->visit[bs->seeds[i].id] = bs->epoch;
		hnsw_heap_push(&bs->cand, bs->seeds[i].key, bs->seeds[i].id);
		hnsw_heap_push(&bs->best, -bs->seeds[i].key, bs->seeds[i].id);
	}
	while (bs->cand.n > 0)
	{
		HnswHeapItem c = hnsw_heap_pop(&bs->cand);
		int			cap;
		int32	   *count;
		int32	   *links;

		if (c.key > -bs->best.items[0].key && bs->best.n >= ef)
			break;
		links = node_links(bs, c.id, level, &cap, &count);
		for (int i = 0; i < *count; i++)
		{
			int32		nb = links[i];
			float		d;

			if (bs->visit[nb] == bs->epoch)
				continue;
			bs->visit[nb] = bs->epoch;
			d = dist_to(bs, q, nb);
			if (bs->best.n < ef || d < -bs->best.items[0].key)
			{
				hnsw_heap_push(&bs->cand, d, nb);
				hnsw_heap_push(&bs->best, -d, nb);
				if (bs->best.n > ef)
					hnsw_heap_pop(&bs->best);
			}
		}
	}
}

/* Moves bs->best into bs->seeds (the next level's starting set). */
static void
best_to_seeds(BuildState *bs)
{
	bs->nseeds = bs->best.n;
	for (int i = 0; i < bs->best.n; i++)
	{
		bs->seeds[i].key = -bs->best.items[i].key;
		bs->seeds[i].id = bs->best.items[i].id;
	}
}

/* Fills bs->pick from the seeds, sorted, and applies the heuristic. */
static int
pick_neighbors(BuildState *bs, int cap)
{
	for (int i = 0; i < bs->nseeds; i++)
	{
		bs->pick[i].dist = bs->seeds[i].key;
		bs->pick[i].id = bs->seeds[i].id;
		bs->pick[i].vec = node_vec(bs, bs->seeds[i].id);
	}
	hnsw_sort_neighbors(bs->pick, bs->nseeds);
	return hnsw_select_neighbors(bs->pick, bs->nseeds, cap, bs->shape.metric,
								 bs->shape.dim);
}

/* Adds the link from -> to at `level`, pruning from's list when full. */
static void
link_back(BuildState *bs, int32 from, int32 to, float d, int level)
{
	int			cap;
	int32	   *count;
	int32	   *links = node_links(bs, from, level, &cap, &count);
	const float *base = node_vec(bs, from);
	int			n = *count;
	int			kept;

	if (n < cap)
	{
		links[n] = to;
		*count = n + 1;
		return;
	}
	for (int i = 0; i < n; i++)
	{
		bs->pick[i].id = links[i];
		bs->pick[i].vec = node_vec(bs, links[i]);
		bs->pick[i].dist = hnsw_distance(bs->shape.metric, base, bs->pick[i].vec,
										 bs->shape.dim);
	}
	bs->pick[n].id = to;
	bs->pick[n].vec = node_vec(bs, to);
	bs->pick[n].dist = d;
	hnsw_sort_neighbors(bs->pick, n + 1);
	kept = hnsw_select_neighbors(bs->pick, n + 1, cap, bs->shape.metric, bs->shape.dim);
	for (int i = 0; i < kept; i++)
		links[i] = bs->pick[i].id;
	*count = kept;
}

static void
graph_add(BuildState *bs, const float *vec, ItemPointer heaptid)
{
	const HnswShape *sh = &bs->shape;
	int32		q = (int32) bs->n;
	int			level = hnsw_random_level(sh->m, sh->max_level);
	float	   *qv;

	if (bs->n == bs->cap)
		graph_reserve(bs);
	qv = node_vec(bs, q);
	if (!hnsw_prepare_vector(sh->metric, vec, qv, sh->dim))
		return;					/* zero vector under cosine: not indexed */
	bs->n++;
	bs->heaptids[q] = *heaptid;
	bs->levels[q] = level;
	bs->count0[q] = 0;
	bs->upper_at[q] = -1;
	if (level > 0)
	{
		uint64		need = (uint64) level * (sh->m + 1);

		if (bs->upper_used + need > bs->upper_cap)
			bs->upper = hnsw_grow(bs->upper, sizeof(int32), &bs->upper_cap,
								  bs->upper_used + need);
		bs->upper_at[q] = (int32) bs->upper_used;
		for (int l = 0; l < level; l++)
			bs->upper[bs->upper_used + (uint64) l * (sh->m + 1)] = 0;
		bs->upper_used += need;
	}
	if (bs->entry < 0)
	{
		bs->entry = q;
		bs->entry_level = level;
		return;
	}

	bs->nseeds = 1;
	bs->seeds[0].id = bs->entry;
	bs->seeds[0].key = dist_to(bs, qv, bs->entry);
	for (int l = bs->entry_level; l >= 0; l--)
	{
		search_layer(bs, qv, l, l > level ? 1 : sh->ef_construction);
		best_to_seeds(bs);
		if (l <= level)
		{
			int			cap;
			int32	   *count;
			int32	   *links = node_links(bs, q, l, &cap, &count);
			int			kept = pick_neighbors(bs, cap);

			/* link_back reuses bs->pick, so take the choice out first */
			for (int i = 0; i < kept; i++)
				links[i] = bs->pick[i].id;
			*count = kept;
			for (int i = 0; i < kept; i++)
				link_back(bs, links[i], q,
						  dist_to(bs, qv, links[i]), l);
		}
	}
	if (level > bs->entry_level)
	{
		bs->entry = q;
		bs->entry_level = level;
	}
}

/* Breadth-first order over level 0 from the entry point, then the rest. */
static int32 *
layout_order(BuildState *bs)
{
	int32	   *order = MemoryContextAllocHuge(bs->graph_ctx, sizeof(int32) * bs->n);
	int64		head = 0;
	int64		tail = 0;

	if (++bs->epoch == 0)
	{
		memset(bs->visit, 0, sizeof(uint32) * bs->cap);
		bs->epoch = 1;
	}
	for (int64 start = -1; start < bs->n; start++)
	{
		int32		root = start < 0 ? bs->entry : (int32) start;

		if (root < 0 || bs->visit[root] == bs->epoch)
			continue;
		bs->visit[root] = bs->epoch;
		order[tail++] = root;
		while (head < tail)
		{
			int32		id = order[head++];
			int32	   *links = bs->links0 + (int64) id * 2 * bs->shape.m;

			for (int i = 0; i < bs->count0[id]; i++)
			{
				if (bs->visit[links[i]] != bs->epoch)
				{
					bs->visit[links[i]] = bs->epoch;
					order[tail++] = links[i];
				}
			}
		}
	}
	return order;
}

static void
append_page(Relation index, Page local, BlockNumber expect)
{
	Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);

	if (BufferGetBlockNumber(buf) != expect)
		elog(ERROR, "instsim_hnsw build of \"%s\" expected block %u, got %u",
			 RelationGetRelationName(index), expect, BufferGetBlockNumber(buf));
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	memcpy(BufferGetPage(buf), local, BLCKSZ);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

static Size
element_space(BuildState *bs, int32 id)
{
	return MAXALIGN(hnsw_element_size(bs->shape.dim, bs->shape.m, bs->levels[id])) +
		sizeof(ItemIdData);
}

/* Gives every element that no search could reach an incoming link. */
static void
graph_relink(BuildState *bs)
{
	HnswAdjacency g;
	bool	   *live = MemoryContextAllocHuge(bs->graph_ctx, sizeof(bool) * Max(bs->n, 1));

	memset(live, true, sizeof(bool) * bs->n);
	g.n = bs->n;
	g.cap = 2 * bs->shape.m;
	g.links = bs->links0;
	g.count = bs->count0;
	g.live = live;
	g.changed = MemoryContextAllocHuge(bs->graph_ctx, sizeof(bool) * Max(bs->n, 1));
	hnsw_link_unreachable(&g, bs->entry);
	pfree(live);
	pfree(g.changed);
}

/*
 * Writes the in-memory graph after the meta page and logs it all.  Two
 * passes: TIDs must be known before the lists that point at them are written.
 */
static void
graph_write(BuildState *bs)
{
	const HnswShape *sh = &bs->shape;
	int32	   *order;
	ItemPointerData *tids = MemoryContextAllocHuge(bs->graph_ctx,
												   sizeof(ItemPointerData) * Max(bs->n, 1));
	PGAlignedBlock local;
	Page		page = (Page) local.data;
	HnswElementTuple tup = palloc0(hnsw_element_size(sh->dim, sh->m, sh->max_level));
	BlockNumber blkno = HNSW_METAPAGE_BLKNO + 1;
	Size		room = 0;
	OffsetNumber off = 0;
	Buffer		metabuf;
	HnswMetaPage meta;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_WRITE);
	graph_relink(bs);
	order = layout_order(bs);
	for (int64 i = 0; i < bs->n; i++)
	{
		Size		need = element_space(bs, order[i]);

		if (need > room)
		{
			if (off > 0)
				blkno++;
			room = BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(HnswPageOpaqueData));
			off = 0;
		}
		room -= need;
		off++;
		ItemPointerSet(&tids[order[i]], blkno, off);
	}

	hnsw_init_page(page, HNSW_PAGE_ELEMENTS);
	blkno = HNSW_METAPAGE_BLKNO + 1;
	for (int64 i = 0; i < bs->n; i++)
	{
		int32		id = order[i];
		Size		size = hnsw_element_size(sh->dim, sh->m, bs->levels[id]);

		CHECK_FOR_INTERRUPTS();
		if (ItemPointerGetBlockNumber(&tids[id]) != blkno)
		{
			append_page(bs->index, page, blkno++);
			hnsw_init_page(page, HNSW_PAGE_ELEMENTS);
		}
		tup->level = bs->levels[id];
		tup->flags = 0;
		tup->heaptid = bs->heaptids[id];
		memcpy(tup->vec, node_vec(bs, id), sizeof(float) * sh->dim);
		for (int l = 0; l <= tup->level; l++)
		{
			int			cap;
			int32	   *count;
			int32	   *links = node_links(bs, id, l, &cap, &count);
			ItemPointer dst = hnsw_element_neighbors(tup, sh->dim, sh->m, l);

			for (int k = 0; k < cap; k++)
			{
				if (k < *count)
					dst[k] = tids[links[k]];
				else
					ItemPointerSetInvalid(&dst[k]);
			}
		}
		if (PageAddItem(page, (Item) tup, size, InvalidOffsetNumber, false, false) !=
			ItemPointerGetOffsetNumber(&tids[id]))
			elog(ERROR, "instsim_hnsw build of \"%s\" lost its page layout",
				 RelationGetRelationName(bs->index));
	}
	if (bs->n > 0)
		append_page(bs->index, page, blkno);

	metabuf = ReadBuffer(bs->index, HNSW_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	meta = HnswPageGetMeta(BufferGetPage(metabuf));
	meta->dim = sh->dim;
	meta->max_level = sh->max_level;
	if (bs->entry >= 0)
	{
		meta->entry_blkno = ItemPointerGetBlockNumber(&tids[bs->entry]);
		meta->entry_offno = ItemPointerGetOffsetNumber(&tids[bs->entry]);
		meta->entry_level = bs->entry_level;
		meta->insert_blkno = blkno;
	}
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	if (RelationNeedsWAL(bs->index))
		log_newpage_range(bs->index, MAIN_FORKNUM, 0,
						  RelationGetNumberOfBlocks(bs->index), true);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
}

static void
graph_start(BuildState *bs, int dim)
{
	HnswShape  *sh = &bs->shape;

	hnsw_check_dim(dim, sh->m, 0);
	sh->dim = dim;
	sh->max_level = hnsw_max_level_for(dim, sh->m);
	bs->cap_limit = Max((int64) maintenance_work_mem * 1024 / (int64) node_bytes(sh), 2);
	bs->seeds = MemoryContextAlloc(bs->graph_ctx,
								   sizeof(HnswHeapItem) * (sh->ef_construction + 1));
	bs->pick = MemoryContextAlloc(bs->graph_ctx,
								  sizeof(HnswNeighbor) * (Max(sh->ef_construction, 2 * sh->m) + 1));
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
	if (bs->shape.dim == 0 || bs->seeds == NULL)
		graph_start(bs, bs->shape.dim == 0 ? e->dim : bs->shape.dim);
	hnsw_check_dim(e->dim, bs->shape.m, bs->shape.dim);

	if (!bs->on_disk && bs->n == bs->cap && bs->cap >= bs->cap_limit)
	{
		ereport(NOTICE,
				(errmsg("instsim_hnsw graph no longer fits in maintenance_work_mem after %.0f tuples",
						bs->indtuples),
				 errdetail("Building will take significantly longer."),
				 errhint("Increase maintenance_work_mem to speed up builds.")));
		graph_write(bs);
		bs->on_disk = true;
		MemoryContextReset(bs->graph_ctx);
	}
	if (bs->on_disk)
		hnsw_insert_vector(index, e->x, e->dim, tid);
	else
	{
		/* the search heaps grow inside and must outlive this tuple */
		MemoryContextSwitchTo(bs->graph_ctx);
		graph_add(bs, e->x, tid);
		MemoryContextSwitchTo(bs->tuple_ctx);
	}

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
		append_page(index, page, HNSW_METAPAGE_BLKNO);
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
	IndexBuildResult *result;
	BuildState	bs;
	double		reltuples;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	memset(&bs, 0, sizeof(bs));
	bs.index = index;
	bs.entry = -1;
	shape_for_new_index(index, &bs.shape);
	bs.graph_ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw build graph",
										 ALLOCSET_DEFAULT_SIZES);
	bs.tuple_ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw build tuple",
										 ALLOCSET_DEFAULT_SIZES);
	write_empty_meta(index, &bs.shape, MAIN_FORKNUM);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
								 (int64) Max(heap->rd_rel->reltuples, 0));
	reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
									   build_callback, &bs, NULL);
	if (!bs.on_disk)
		graph_write(&bs);

	MemoryContextDelete(bs.graph_ctx);
	MemoryContextDelete(bs.tuple_ctx);
	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
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
