/*
 * Reachability repair for level 0 of the graph.
 *
 * The neighbour heuristic prunes a full list to the links that point in
 * distinct directions, and the pruned link may have been the only way into
 * its target.  Such an element can no longer be found by any search: a row
 * that an index scan silently loses.  After a build and in VACUUM we walk
 * level 0 from the entry point and give every element the walk misses an
 * incoming link, then walk on from it.
 *
 * The new link comes, by preference, from one of the orphan's own neighbours
 * (they are near it, so the link is one a search can use) that has a free
 * slot; otherwise it takes the slot of the farthest member that other lists
 * also point at, so nobody else is cut off.  A final pass re-walks from the
 * entry point and repeats until nothing is missed.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "hnsw.h"

#define REACH_PASSES 4

typedef struct Reach
{
	HnswAdjacency *g;
	bool	   *reached;
	int32	   *queue;
	int32	   *indeg;
} Reach;

static inline int32 *
list_of(HnswAdjacency *g, int32 id)
{
	return g->links + (int64) id * g->cap;
}

static void
walk(Reach *r, int32 from)
{
	HnswAdjacency *g = r->g;
	int64		head = 0;
	int64		tail = 0;

	if (r->reached[from])
		return;
	r->reached[from] = true;
	r->queue[tail++] = from;
	while (head < tail)
	{
		int32		id = r->queue[head++];
		int32	   *list = list_of(g, id);

		if ((head & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < g->count[id]; i++)
		{
			if (!r->reached[list[i]])
			{
				r->reached[list[i]] = true;
				r->queue[tail++] = list[i];
			}
		}
	}
}

/* Links holder -> orphan; false when no slot of the holder can be given up. */
static bool
add_link(Reach *r, int32 holder, int32 orphan)
{
	HnswAdjacency *g = r->g;
	int32	   *list = list_of(g, holder);
	int			n = g->count[holder];
	int			j;

	if (holder == orphan || !g->live[holder])
		return false;
	if (n < g->cap)
		list[g->count[holder]++] = orphan;
	else
	{
		for (j = n - 1; j >= 0 && r->indeg[list[j]] < 2; j--)
			;
		if (j < 0)
			return false;
		r->indeg[list[j]]--;
		list[j] = orphan;
	}
	r->indeg[orphan]++;
	g->changed[holder] = true;
	return true;
}

/* Tries the orphan's own neighbours that the walk reached: free slot first. */
static bool
link_from_neighbors(Reach *r, int32 orphan)
{
	HnswAdjacency *g = r->g;
	int32	   *list = list_of(g, orphan);

	for (int i = 0; i < g->count[orphan]; i++)
	{
		int32		y = list[i];

		if (r->reached[y] && g->live[y] && g->count[y] < g->cap)
			return add_link(r, y, orphan);
	}
	for (int i = 0; i < g->count[orphan]; i++)
	{
		if (r->reached[list[i]] && add_link(r, list[i], orphan))
			return true;
	}
	return false;
}

/* One walk from the entry and the repairs it calls for; returns links added. */
static int64
repair_pass(Reach *r, int32 entry)
{
	HnswAdjacency *g = r->g;
	int64		added = 0;
	int64		cursor = 0;

	memset(r->reached, 0, sizeof(bool) * g->n);
	walk(r, entry);
	/* Second round: orphans whose neighbours were all orphans too. */
	for (int round = 0; round < 2; round++)
	{
		for (int64 id = 0; id < g->n; id++)
		{
			bool		linked;

			if (r->reached[id] || !g->live[id])
				continue;
			linked = link_from_neighbors(r, (int32) id);
			/* Last resort: any reached element that can take one more link. */
			for (; !linked && round == 1 && cursor < g->n; cursor++)
				linked = r->reached[cursor] && add_link(r, (int32) cursor, (int32) id);
			if (linked)
			{
				added++;
				walk(r, (int32) id);
			}
		}
	}
	return added;
}

int64
hnsw_link_unreachable(HnswAdjacency *g, int32 entry)
{
	Reach		r;
	int64		total = 0;

	if (g->n == 0 || entry < 0)
		return 0;
	r.g = g;
	r.reached = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(bool) * g->n);
	r.queue = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * g->n);
	r.indeg = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * g->n);
	memset(r.indeg, 0, sizeof(int32) * g->n);
	memset(g->changed, 0, sizeof(bool) * g->n);
	for (int64 id = 0; id < g->n; id++)
		for (int i = 0; i < g->count[id]; i++)
			r.indeg[list_of(g, (int32) id)[i]]++;

	for (int pass = 0; pass < REACH_PASSES; pass++)
	{
		int64		added = repair_pass(&r, entry);

		total += added;
		if (added == 0)
			break;
	}
	pfree(r.reached);
	pfree(r.queue);
	pfree(r.indeg);
	return total;
}
