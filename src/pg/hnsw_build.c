/*
 * Index build.
 *
 * While the graph fits in maintenance_work_mem it is built in flat arrays
 * (vectors contiguous, neighbour lists as int32 ids, an epoch-stamped visited
 * array: no hashing, no buffer manager) and then written out once.  The
 * write-out places elements in breadth-first order from the entry point, so
 * graph neighbours tend to share pages and a scan touches fewer buffers.
 * Pages are written without WAL and logged in bulk at the end.  The arrays
 * hold float vectors whatever the index's storage: links are chosen with
 * exact distances, and vectors are coded (hnsw_storage.c) only when written.
 *
 * When the arrays would outgrow maintenance_work_mem, the graph built so far
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
	float	   *dist0;			/* 2m per node: distance to each link */
	int32	   *count0;
	int32	   *kept0;			/* lists' heuristic prefix, see NodeList */
	int32	   *upper_at;		/* first level-1 block in upper, or -1 */
	int32	   *upper;			/* per level >= 1: UPPER_BLOCK(m) slots */
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
	int32	   *todo;			/* one list's unvisited neighbours */
} BuildState;

/*
 * A node's neighbour list at one level.  The first *kept ids are the ones the
 * neighbour heuristic chose, nearest first; the rest fill the free slots with
 * the nearest ones it rejected, nearest first (see hnsw_select_neighbors).
 * Keeping that split and the distances lets link_back decide a new link
 * with a few distance computations instead of re-running the heuristic.
 */
typedef struct NodeList
{
	int32	   *ids;
	float	   *dist;
	int32	   *count;
	int32	   *kept;
	int			cap;
} NodeList;

/* An upper-level block: count, kept, m ids, m distances (as float bits). */
#define UPPER_BLOCK(m) (2 + 2 * (m))

static inline float *
node_vec(BuildState *bs, int32 id)
{
	return bs->vecs + (int64) id * bs->shape.dim;
}

static inline NodeList
node_list(BuildState *bs, int32 id, int level)
{
	NodeList	l;
	int			m = bs->shape.m;

	if (level == 0)
	{
		l.cap = 2 * m;
		l.ids = bs->links0 + (int64) id * 2 * m;
		l.dist = bs->dist0 + (int64) id * 2 * m;
		l.count = &bs->count0[id];
		l.kept = &bs->kept0[id];
	}
	else
	{
		int32	   *block = bs->upper + bs->upper_at[id] + (int64) (level - 1) * UPPER_BLOCK(m);

		l.cap = m;
		l.count = block;
		l.kept = block + 1;
		l.ids = block + 2;
		l.dist = (float *) (block + 2 + m);
	}
	return l;
}

static Size
node_bytes(const HnswShape *sh)
{
	/* per node, plus the expected share of upper-level lists (1 in m nodes) */
	return sizeof(float) * sh->dim + sizeof(ItemPointerData) + 1 +
		(sizeof(int32) + sizeof(float)) * 2 * sh->m + 2 * sizeof(int32) +
		sizeof(int32) + sizeof(uint32) + sizeof(int32) * UPPER_BLOCK(sh->m) * 2 / sh->m;
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
	GROW(dist0, float, 2 * sh->m);
	GROW(count0, int32, 1);
	GROW(kept0, int32, 1);
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
	int32	   *todo = bs->todo;
	int			ntodo;
	Size		prefetch = Min(sizeof(float) * bs->shape.dim, 1024);

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
		NodeList	l;

		if (c.key > -bs->best.items[0].key && bs->best.n >= ef)
			break;
		l = node_list(bs, c.id, level);
		/* the likely next expansion: its list loads while this one is done */
		if (bs->cand.n > 0)
			hnsw_prefetch_bytes(node_list(bs, bs->cand.items[0].id, level).ids,
								sizeof(int32) * l.cap);

		/*
		 * The vectors are scattered over a large array, so a distance mostly
		 * waits for memory: touch the start of every new neighbour's vector
		 * first, then load the next one whole while computing each distance
		 * (prefetching all of them at once stalls on the CPU's fill buffers).
		 */
		ntodo = 0;
		for (int i = 0; i < *l.count; i++)
		{
			int32		nb = l.ids[i];

			if (bs->visit[nb] == bs->epoch)
				continue;
			bs->visit[nb] = bs->epoch;
			todo[ntodo++] = nb;
			__builtin_prefetch(node_vec(bs, nb));
		}
		for (int i = 0; i < ntodo; i++)
		{
			int32		nb = todo[i];
			float		d;

			if (i + 1 < ntodo)
				hnsw_prefetch_bytes(node_vec(bs, todo[i + 1]), prefetch);
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

/* Sorts the first n of bs->pick and makes the heuristic's choice (and fill) l's list. */
static void
pick_to_list(BuildState *bs, NodeList l, int n)
{
	hnsw_sort_neighbors(bs->pick, n);
	n = hnsw_select_neighbors(bs->pick, n, l.cap, bs->shape.metric, bs->shape.dim, l.kept);
	for (int i = 0; i < n; i++)
	{
		l.ids[i] = bs->pick[i].id;
		l.dist[i] = bs->pick[i].dist;
	}
	*l.count = n;
}

/* Chooses q's list at one level from the seeds. */
static void
pick_neighbors(BuildState *bs, NodeList l)
{
	for (int i = 0; i < bs->nseeds; i++)
	{
		bs->pick[i].dist = bs->seeds[i].key;
		bs->pick[i].id = bs->seeds[i].id;
		bs->pick[i].vec = node_vec(bs, bs->seeds[i].id);
	}
	pick_to_list(bs, l, bs->nseeds);
}

/* Inserts (id, d) at position `at` of a list part ending at `end`, if room. */
static void
list_insert(NodeList l, int at, int end, int32 id, float d)
{
	int			move = Min(end, l.cap - 1) - at;

	if (move < 0)
		return;
	memmove(&l.ids[at + 1], &l.ids[at], sizeof(int32) * move);
	memmove(&l.dist[at + 1], &l.dist[at], sizeof(float) * move);
	l.ids[at] = id;
	l.dist[at] = d;
}

/* Re-runs the heuristic over the list plus (to, d): the general case. */
static void
relink_full(BuildState *bs, NodeList l, int32 to, float d)
{
	int			n = *l.count;

	for (int i = 0; i < n; i++)
	{
		bs->pick[i].id = l.ids[i];
		bs->pick[i].vec = node_vec(bs, l.ids[i]);
		bs->pick[i].dist = l.dist[i];
	}
	bs->pick[n].id = to;
	bs->pick[n].vec = node_vec(bs, to);
	bs->pick[n].dist = d;
	pick_to_list(bs, l, n + 1);
}

/*
 * Adds the link from -> to (distance d) at `level`, with the same outcome as
 * re-running the heuristic over the list plus `to`, but usually at the cost
 * of comparing `to` with the heuristic's part only.  The decisions for
 * members nearer than `to` cannot change.  If `to` is rejected, nothing else
 * changes either: it joins the fill part.  If it is accepted and rejects
 * no farther heuristic member, it joins that part and the fill loses its
 * farthest; only when it would push a member out does the heuristic run
 * over the whole list again.
 */
static void
link_back(BuildState *bs, int32 from, int32 to, float d, int level)
{
	NodeList	l = node_list(bs, from, level);
	const float *tv = node_vec(bs, to);
	int			kept = *l.kept;
	int			n = *l.count;
	int			at = 0;

	while (at < kept && l.dist[at] <= d)
	{
		if (hnsw_occluded(bs->shape.metric,
						  hnsw_distance(bs->shape.metric, tv, node_vec(bs, l.ids[at]),
										bs->shape.dim), d))
		{
			/* rejected: into the fill part, in distance order */
			int			f = kept;

			while (f < n && l.dist[f] <= d)
				f++;
			list_insert(l, f, n, to, d);
			*l.count = Min(n + 1, l.cap);
			return;
		}
		at++;
	}
	for (int j = at; j < kept; j++)
	{
		if (hnsw_occluded(bs->shape.metric,
						  hnsw_distance(bs->shape.metric, node_vec(bs, l.ids[j]), tv,
										bs->shape.dim), l.dist[j]))
		{
			relink_full(bs, l, to, d);
			return;
		}
	}
	list_insert(l, at, n, to, d);
	*l.kept = Min(kept + 1, l.cap);
	*l.count = Min(n + 1, l.cap);
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
	bs->kept0[q] = 0;
	bs->upper_at[q] = -1;
	if (level > 0)
	{
		uint64		need = (uint64) level * UPPER_BLOCK(sh->m);

		if (bs->upper_used + need > bs->upper_cap)
			bs->upper = hnsw_grow(bs->upper, sizeof(int32), &bs->upper_cap,
								  bs->upper_used + need);
		bs->upper_at[q] = (int32) bs->upper_used;
		for (int l = 0; l < level; l++)
		{
			bs->upper[bs->upper_used + (uint64) l * UPPER_BLOCK(sh->m)] = 0;
			bs->upper[bs->upper_used + (uint64) l * UPPER_BLOCK(sh->m) + 1] = 0;
		}
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
			NodeList	list = node_list(bs, q, l);

			pick_neighbors(bs, list);
			for (int i = 0; i < *list.count; i++)
				link_back(bs, list.ids[i], q, list.dist[i], l);
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
	return MAXALIGN(hnsw_element_size(&bs->shape, bs->levels[id])) +
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
	if (hnsw_link_unreachable(&g, bs->entry) < 0)
		hnsw_warn_unrepaired(bs->index);
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
	HnswElementTuple tup = palloc0(hnsw_element_size(sh, sh->max_level));
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
		Size		size = hnsw_element_size(sh, bs->levels[id]);

		CHECK_FOR_INTERRUPTS();
		if (ItemPointerGetBlockNumber(&tids[id]) != blkno)
		{
			append_page(bs->index, page, blkno++);
			hnsw_init_page(page, HNSW_PAGE_ELEMENTS);
		}
		tup->level = bs->levels[id];
		tup->flags = 0;
		tup->heaptid = bs->heaptids[id];
		hnsw_encode_vector(sh, node_vec(bs, id), tup->data);
		for (int l = 0; l <= tup->level; l++)
		{
			NodeList	list = node_list(bs, id, l);
			ItemPointer dst = hnsw_element_neighbors(tup, sh, l);

			for (int k = 0; k < list.cap; k++)
			{
				if (k < *list.count)
					dst[k] = tids[list.ids[k]];
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

	sh->dim = dim;
	hnsw_check_dim(sh, dim);
	sh->max_level = hnsw_max_level_for(sh);
	bs->cap_limit = Max((int64) maintenance_work_mem * 1024 / (int64) node_bytes(sh), 2);
	bs->seeds = MemoryContextAlloc(bs->graph_ctx,
								   sizeof(HnswHeapItem) * (sh->ef_construction + 1));
	bs->todo = MemoryContextAlloc(bs->graph_ctx, sizeof(int32) * 2 * sh->m);
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
	hnsw_check_dim(&bs->shape, e->dim);

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
