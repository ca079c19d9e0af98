/*
 * Writing the in-memory graph of a build (serial or parallel) to the index.
 * The graph holds float vectors whatever the index's storage: links are
 * chosen with exact distances, and vectors are coded (hnsw_storage.c) only
 * here.
 *
 * First the reachability repair, on the graph's own arrays; then the pages,
 * with elements in breadth-first order from the entry point, so graph
 * neighbours tend to share pages and a scan touches fewer buffers.  Pages are
 * written without WAL and logged in bulk at the end.  Only the leader
 * writes, while no participant inserts.
 */
#include "postgres.h"

#include "access/xloginsert.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw_graph.h"

/* Breadth-first order over level 0 from the entry point, then the rest. */
static int32 *
layout_order(HnswGraph *g)
{
	int64		n = g->head->n;
	int32	   *order = palloc_extended(sizeof(int32) * Max(n, 1), MCXT_ALLOC_HUGE);
	int64		head = 0;
	int64		tail = 0;

	hnsw_graph_next_epoch(g);
	for (int64 start = -1; start < n; start++)
	{
		int32		root = start < 0 ? g->head->entry : (int32) start;

		if (root < 0 || g->visit[root] == g->epoch)
			continue;
		g->visit[root] = g->epoch;
		order[tail++] = root;
		while (head < tail)
		{
			int32		id = order[head++];
			NodeList	l = node_list(g, id, 0);

			for (int i = 0; i < *l.count; i++)
			{
				if (g->visit[l.ids[i]] != g->epoch)
				{
					g->visit[l.ids[i]] = g->epoch;
					order[tail++] = l.ids[i];
				}
			}
		}
	}
	return order;
}

void
hnsw_append_page(Relation index, Page local, BlockNumber expect)
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
element_space(HnswGraph *g, int32 id)
{
	return MAXALIGN(hnsw_element_size(&g->shape, g->levels[id])) +
		sizeof(ItemIdData);
}

/* Gives every element that no search could reach an incoming link. */
static void
graph_relink(HnswGraph *g, Relation index)
{
	int64		n = g->head->n;
	HnswAdjacency adj;
	bool	   *live = palloc_extended(sizeof(bool) * Max(n, 1), MCXT_ALLOC_HUGE);

	memset(live, true, sizeof(bool) * n);
	adj.n = n;
	adj.cap = 2 * g->shape.m;
	adj.links = g->links0;
	adj.count = g->count0;
	adj.live = live;
	adj.changed = palloc_extended(sizeof(bool) * Max(n, 1), MCXT_ALLOC_HUGE);
	if (hnsw_link_unreachable(&adj, g->head->entry) < 0)
		hnsw_warn_unrepaired(index);
	pfree(live);
	pfree(adj.changed);
}

/* The element tuple of node `id`, with its lists as TIDs. */
static void
fill_tuple(HnswGraph *g, int32 id, const ItemPointerData *tids, HnswElementTuple tup)
{
	const HnswShape *sh = &g->shape;

	tup->level = g->levels[id];
	tup->flags = 0;
	tup->heaptid = g->heaptids[id];
	hnsw_encode_vector(sh, node_vec(g, id), tup->data);
	for (int l = 0; l <= tup->level; l++)
	{
		NodeList	list = node_list(g, id, l);
		ItemPointer dst = hnsw_element_neighbors(tup, sh, l);

		for (int k = 0; k < list.cap; k++)
		{
			if (k < *list.count)
				dst[k] = tids[list.ids[k]];
			else
				ItemPointerSetInvalid(&dst[k]);
		}
	}
}

/*
 * Writes the graph after the meta page and logs it all.  Two passes: TIDs
 * must be known before the lists that point at them are written.
 */
void
hnsw_graph_write(HnswGraph *g, Relation index)
{
	const HnswShape *sh = &g->shape;
	int64		n = g->head->n;
	int32	   *order;
	ItemPointerData *tids = palloc_extended(sizeof(ItemPointerData) * Max(n, 1),
											MCXT_ALLOC_HUGE);
	PGAlignedBlock local;
	Page		page = (Page) local.data;
	HnswElementTuple tup = palloc0(hnsw_element_size(sh, sh->max_level));
	BlockNumber blkno = HNSW_METAPAGE_BLKNO + 1;
	Size		room = 0;
	OffsetNumber off = 0;
	Buffer		metabuf;
	HnswMetaPage meta;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_WRITE);
	graph_relink(g, index);
	order = layout_order(g);
	for (int64 i = 0; i < n; i++)
	{
		Size		need = element_space(g, order[i]);

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
	for (int64 i = 0; i < n; i++)
	{
		int32		id = order[i];

		CHECK_FOR_INTERRUPTS();
		if (ItemPointerGetBlockNumber(&tids[id]) != blkno)
		{
			hnsw_append_page(index, page, blkno++);
			hnsw_init_page(page, HNSW_PAGE_ELEMENTS);
		}
		fill_tuple(g, id, tids, tup);
		if (PageAddItem(page, (Item) tup, hnsw_element_size(sh, tup->level),
						InvalidOffsetNumber, false, false) !=
			ItemPointerGetOffsetNumber(&tids[id]))
			elog(ERROR, "instsim_hnsw build of \"%s\" lost its page layout",
				 RelationGetRelationName(index));
	}
	if (n > 0)
		hnsw_append_page(index, page, blkno);

	metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	meta = HnswPageGetMeta(BufferGetPage(metabuf));
	meta->dim = sh->dim;
	meta->max_level = sh->max_level;
	if (g->head->entry >= 0)
	{
		meta->entry_blkno = ItemPointerGetBlockNumber(&tids[g->head->entry]);
		meta->entry_offno = ItemPointerGetOffsetNumber(&tids[g->head->entry]);
		meta->entry_level = g->head->entry_level;
		meta->insert_blkno = blkno;
	}
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0,
						  RelationGetNumberOfBlocks(index), true);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
	pfree(order);
	pfree(tids);
	pfree(tup);
}
