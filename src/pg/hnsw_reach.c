/*
 * Reachability repair for level 0 of the graph.
 *
 * A search can return a row only if level 0 leads to it from where the
 * search enters that level, and it enters wherever the greedy descent through
 * the upper levels ends, not at the entry point.  So every live element must
 * be reachable from the entry point ("forward") and the entry point must be
 * reachable from every live element ("back"): then level 0 is one strongly
 * connected piece and an exhaustive search from any start sees every row.
 *
 * Both break in practice.  The neighbour heuristic prunes a full list to the
 * links that point in distinct directions, and the pruned link may have been
 * the only way into its target: a row no search finds.  VACUUM rebuilds the
 * lists around deleted elements from the deleted elements' own neighbours, so
 * a cluster whose links outward all went through deleted rows ends up with
 * links only among its members: a search that descends into it never gets
 * out (after a concurrent insert/delete soak one query vector reached 2 294
 * of 115 802 rows that way, while every row was reachable from the entry).
 *
 * The forward repair walks from the entry point and gives every element the
 * walk misses an incoming link, by preference from one of its own neighbours
 * (near it, so the link is one a search can use).  The back repair walks the
 * reversed links from the entry point and gives every element that cannot
 * reach it a link to an element that can, by preference one that links to it
 * (again a near one).
 *
 * A full list must give up a slot for the new link, and that must cut no
 * path.  The forward walk records, for each element, the list it was first
 * reached from: those links form a tree that reaches everything the walk
 * reached, so any other link can go without losing anything.  A list gives
 * up its farthest member that it is not the tree parent of.  (Giving up the
 * farthest member that other lists also point at, as this code used to, cut
 * off elements whose other incoming links came from elements that were
 * themselves unreachable; VACUUM then "repaired" the same elements over and
 * over without making them reachable: 12 269 of 109 243 rows stayed lost.)
 * The back repair rewrites only lists of elements that cannot reach the
 * entry, which no path to the entry goes through, and keeps tree links, so
 * neither repair undoes the other; the passes repeat only for what could
 * not be linked at all.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "hnsw.h"

#define REACH_PASSES 4

typedef struct Reach
{
	HnswAdjacency *g;
	bool	   *reached;		/* forward: reachable from the entry */
	bool	   *back;			/* the entry is reachable from it */
	int32	   *queue;
	int32	   *parent;			/* the forward walk's tree: who reached it first */
	int64	   *in_start;		/* reversed links, CSR: n + 1 offsets */
	int32	   *in_links;
} Reach;

static inline int32 *
list_of(HnswAdjacency *g, int32 id)
{
	return g->links + (int64) id * g->cap;
}

/* Walks forward from `from`, which was reached over a link from `parent`. */
static void
walk(Reach *r, int32 from, int32 parent)
{
	HnswAdjacency *g = r->g;
	int64		head = 0;
	int64		tail = 0;

	if (r->reached[from])
		return;
	r->reached[from] = true;
	r->parent[from] = parent;
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
				r->parent[list[i]] = id;
				r->queue[tail++] = list[i];
			}
		}
	}
}

/* The reversed links as they are now: in_links[in_start[t] .. in_start[t + 1]) link to t. */
static void
build_in_links(Reach *r)
{
	HnswAdjacency *g = r->g;
	int64		total;

	memset(r->in_start, 0, sizeof(int64) * (g->n + 1));
	for (int64 id = 0; id < g->n; id++)
		for (int i = 0; i < g->count[id]; i++)
			r->in_start[list_of(g, (int32) id)[i] + 1]++;
	for (int64 id = 0; id < g->n; id++)
		r->in_start[id + 1] += r->in_start[id];
	total = r->in_start[g->n];
	/* fill each list from its end; in_start[t + 1] then holds t's start */
	for (int64 id = 0; id < g->n; id++)
		for (int i = 0; i < g->count[id]; i++)
			r->in_links[--r->in_start[list_of(g, (int32) id)[i] + 1]] = (int32) id;
	memmove(r->in_start, r->in_start + 1, sizeof(int64) * g->n);
	r->in_start[g->n] = total;
}

/*
 * Marks in r->back what can reach `to` over the reversed links.  The lists of
 * elements not yet marked are the ones the back repair rewrites, and only
 * when it marks them, so reversed links from unmarked elements stay true.
 */
static void
walk_back(Reach *r, int32 to)
{
	int64		head = 0;
	int64		tail = 0;

	if (r->back[to])
		return;
	r->back[to] = true;
	r->queue[tail++] = to;
	while (head < tail)
	{
		int32		id = r->queue[head++];

		if ((head & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int64 i = r->in_start[id]; i < r->in_start[id + 1]; i++)
		{
			int32		from = r->in_links[i];

			if (!r->back[from])
			{
				r->back[from] = true;
				r->queue[tail++] = from;
			}
		}
	}
}

/*
 * Links holder -> target; false when the holder's list is full of links the
 * forward walk's tree needs.  A full list gives up its farthest other member.
 */
static bool
add_link(Reach *r, int32 holder, int32 target)
{
	HnswAdjacency *g = r->g;
	int32	   *list = list_of(g, holder);
	int			n = g->count[holder];
	int			j;

	if (holder == target || !g->live[holder])
		return false;
	for (j = 0; j < n; j++)
		if (list[j] == target)
			return false;
	if (n < g->cap)
		list[g->count[holder]++] = target;
	else
	{
		for (j = n - 1; j >= 0 && r->reached[list[j]] && r->parent[list[j]] == holder; j--)
			;
		if (j < 0)
			return false;
		list[j] = target;
	}
	g->changed[holder] = true;
	return true;
}

/*
 * Tries the orphan's own neighbours that the walk reached, free slot first;
 * returns the one that took the link, or -1.
 */
static int32
link_from_neighbors(Reach *r, int32 orphan)
{
	HnswAdjacency *g = r->g;
	int32	   *list = list_of(g, orphan);

	for (int i = 0; i < g->count[orphan]; i++)
	{
		int32		y = list[i];

		if (r->reached[y] && g->live[y] && g->count[y] < g->cap && add_link(r, y, orphan))
			return y;
	}
	for (int i = 0; i < g->count[orphan]; i++)
	{
		if (r->reached[list[i]] && add_link(r, list[i], orphan))
			return list[i];
	}
	return -1;
}

/* One walk from the entry and the forward repairs it calls for; returns links added. */
static int64
forward_pass(Reach *r, int32 entry)
{
	HnswAdjacency *g = r->g;
	int64		added = 0;
	int64		cursor = 0;

	memset(r->reached, 0, sizeof(bool) * g->n);
	walk(r, entry, -1);
	/* Second round: orphans whose neighbours were all orphans too. */
	for (int round = 0; round < 2; round++)
	{
		for (int64 id = 0; id < g->n; id++)
		{
			int32		holder;

			if (r->reached[id] || !g->live[id])
				continue;
			holder = link_from_neighbors(r, (int32) id);
			/* Last resort: any reached element that can take one more link. */
			for (; holder < 0 && round == 1 && cursor < g->n; cursor++)
				if (r->reached[cursor] && add_link(r, (int32) cursor, (int32) id))
					holder = (int32) cursor;
			if (holder >= 0)
			{
				added++;
				walk(r, (int32) id, holder);
			}
		}
	}
	return added;
}

/*
 * One reversed walk from the entry and the back repairs it calls for: each
 * element that cannot reach the entry gets a link to one that can, by
 * preference one that links to it, else the entry itself.  The forward
 * walk's tree must be current.  Returns links added.
 */
static int64
back_pass(Reach *r, int32 entry)
{
	HnswAdjacency *g = r->g;
	int64		added = 0;

	build_in_links(r);
	memset(r->back, 0, sizeof(bool) * g->n);
	walk_back(r, entry);
	for (int64 id = 0; id < g->n; id++)
	{
		bool		linked = false;

		if (r->back[id] || !g->live[id])
			continue;
		for (int64 i = r->in_start[id]; !linked && i < r->in_start[id + 1]; i++)
		{
			int32		from = r->in_links[i];

			linked = r->back[from] && g->live[from] && add_link(r, (int32) id, from);
		}
		if (!linked)
			linked = add_link(r, (int32) id, entry);
		/* A list full of tree links: one of its members (it reaches them) links out. */
		for (int i = 0; !linked && i < g->count[id]; i++)
		{
			int32		member = list_of(g, (int32) id)[i];

			if (add_link(r, member, entry))
			{
				walk_back(r, member);
				linked = true;
			}
		}
		if (linked)
		{
			added++;
			walk_back(r, (int32) id);
		}
	}
	return added;
}

static void
reach_free(Reach *r)
{
	void	   *all[] = {r->reached, r->back, r->queue, r->parent, r->in_start, r->in_links};

	for (size_t i = 0; i < lengthof(all); i++)
		if (all[i] != NULL)
			pfree(all[i]);
}

/* The walks' memory, about 146 bytes per element with m = 16; false if not to be had. */
static bool
reach_init(Reach *r, HnswAdjacency *g)
{
	r->g = g;
	r->reached = hnsw_alloc_or_null(sizeof(bool) * g->n);
	r->back = hnsw_alloc_or_null(sizeof(bool) * g->n);
	r->queue = hnsw_alloc_or_null(sizeof(int32) * g->n);
	r->parent = hnsw_alloc_or_null(sizeof(int32) * g->n);
	r->in_start = hnsw_alloc_or_null(sizeof(int64) * (g->n + 1));
	r->in_links = hnsw_alloc_or_null(sizeof(int32) * (int64) g->n * g->cap);
	if (r->reached && r->back && r->queue && r->parent && r->in_start && r->in_links)
		return true;
	reach_free(r);
	return false;
}

/*
 * Repairs g so that every live element is reachable from the entry and
 * reaches it.  Returns the links added, or -1 when the memory for the walks
 * cannot be had.
 */
int64
hnsw_link_unreachable(HnswAdjacency *g, int32 entry)
{
	Reach		r;
	int64		total = 0;

	if (g->n == 0 || entry < 0)
		return 0;
	memset(g->changed, 0, sizeof(bool) * g->n);
	if (!reach_init(&r, g))
		return -1;
	for (int pass = 0; pass < REACH_PASSES; pass++)
	{
		int64		added = forward_pass(&r, entry);

		added += back_pass(&r, entry);
		total += added;
		if (added == 0)
			break;
	}
	reach_free(&r);
	return total;
}

/*
 * Marks what is reachable from the entry and what reaches it, without
 * repairing anything; false when the memory cannot be had.
 */
bool
hnsw_reach_mark(HnswAdjacency *g, int32 entry, bool *reached, bool *back)
{
	Reach		r;

	memset(reached, 0, sizeof(bool) * g->n);
	memset(back, 0, sizeof(bool) * g->n);
	if (g->n == 0 || entry < 0)
		return true;
	if (!reach_init(&r, g))
		return false;
	memset(r.reached, 0, sizeof(bool) * g->n);
	memset(r.back, 0, sizeof(bool) * g->n);
	walk(&r, entry, -1);
	build_in_links(&r);
	walk_back(&r, entry);
	memcpy(reached, r.reached, sizeof(bool) * g->n);
	memcpy(back, r.back, sizeof(bool) * g->n);
	reach_free(&r);
	return true;
}
