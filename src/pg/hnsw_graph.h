/*
 * The in-memory graph of an index build.
 *
 * Flat arrays: vectors contiguous, neighbour lists as int32 ids with their
 * distances, an epoch-stamped visited array per participant: no hashing, no
 * buffer manager.  A serial build (hnsw_build.c) grows the arrays in its own
 * memory up to maintenance_work_mem; a parallel build (hnsw_build_parallel.c)
 * carves them at a fixed capacity out of a DSM segment that every
 * participant maps, and then `concurrent` is set: each node's lists are
 * guarded by that node's LWLock and the entry point by entry_lock.
 */
#ifndef INSTSIM_HNSW_GRAPH_H
#define INSTSIM_HNSW_GRAPH_H

#include "storage/lwlock.h"
#include "storage/spin.h"

#include "hnsw.h"

/* An upper-level block: count, kept, m ids, m distances (as float bits). */
#define UPPER_BLOCK(m) (2 + 2 * (m))

/* What the participants share besides the arrays. */
typedef struct HnswGraphHead
{
	slock_t		mutex;			/* n, upper_used and full, when concurrent */
	int64		n;				/* nodes handed out */
	int64		cap;			/* nodes the arrays hold now */
	uint64		upper_used;
	uint64		upper_cap;
	bool		full;			/* a node did not fit: the graph is closed */
	LWLock		entry_lock;		/* see hnsw_graph_add */
	int32		entry;			/* -1 while empty */
	int			entry_level;
} HnswGraphHead;

/* One participant's view of the graph, and its own search state. */
typedef struct HnswGraph
{
	HnswShape	shape;
	HnswGraphHead *head;
	bool		concurrent;
	int64		cap_limit;		/* the most nodes the arrays may grow to */

	/* per node */
	float	   *vecs;
	ItemPointerData *heaptids;
	uint8	   *levels;
	int32	   *links0;			/* 2m per node */
	float	   *dist0;			/* 2m per node: distance to each link */
	int32	   *count0;
	int32	   *kept0;			/* lists' heuristic prefix, see NodeList */
	int32	   *upper_at;		/* first level-1 block in upper, or -1 */
	LWLock	   *locks;			/* when concurrent */
	int32	   *upper;			/* per level >= 1: UPPER_BLOCK(m) slots */

	/* private to this participant */
	uint32	   *visit;			/* epoch of the last search that reached a node */
	float	   *vdist;			/* its distance to the node being inserted ... */
	uint32		insert_epoch;	/* ... where visit >= this: see cached_distance */
	int64		visit_cap;
	uint32		epoch;
	HnswHeap	cand;
	HnswHeap	best;
	HnswHeapItem *seeds;
	int			nseeds;
	HnswNeighbor *pick;
	HnswNeighbor *chosen;		/* the new node's lists, laid out as in a tuple */
	int32	   *todo;			/* one list's unvisited neighbours */
	float	   *qbuf;
} HnswGraph;

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

static inline float *
node_vec(HnswGraph *g, int32 id)
{
	return g->vecs + (int64) id * g->shape.dim;
}

static inline NodeList
node_list(HnswGraph *g, int32 id, int level)
{
	NodeList	l;
	int			m = g->shape.m;

	if (level == 0)
	{
		l.cap = 2 * m;
		l.ids = g->links0 + (int64) id * 2 * m;
		l.dist = g->dist0 + (int64) id * 2 * m;
		l.count = &g->count0[id];
		l.kept = &g->kept0[id];
	}
	else
	{
		int32	   *block = g->upper + g->upper_at[id] + (int64) (level - 1) * UPPER_BLOCK(m);

		l.cap = m;
		l.count = block;
		l.kept = block + 1;
		l.ids = block + 2;
		l.dist = (float *) (block + 2 + m);
	}
	return l;
}

typedef enum HnswAddResult
{
	HNSW_ADDED,
	HNSW_SKIPPED,				/* zero vector under cosine: not indexed */
	HNSW_FULL					/* no room: nothing was added */
} HnswAddResult;

/*
 * Starts a walk over the graph: marks from earlier walks no longer count.
 * When the epoch wraps, the marks are cleared, and with them those of the
 * insert under way (insert_epoch): their distances are then computed again.
 */
static inline void
hnsw_graph_next_epoch(HnswGraph *g)
{
	if (++g->epoch == 0)
	{
		memset(g->visit, 0, sizeof(uint32) * g->visit_cap);
		g->epoch = g->insert_epoch = 1;
	}
}

/* Bytes per node that each participant keeps for itself (visit, vdist). */
#define HNSW_GRAPH_PRIVATE_BYTES (sizeof(uint32) + sizeof(float))

/* hnsw_graph.c; call them in the memory context the graph grows in */
extern Size hnsw_graph_node_bytes(const HnswShape *sh);
extern void hnsw_graph_init_private(HnswGraph *g, int64 visit_cap);
extern Size hnsw_graph_shared_size(const HnswShape *sh, int64 cap, uint64 upper_cap);
extern void hnsw_graph_attach(HnswGraph *g, char *base);
extern uint64 hnsw_graph_upper_blocks(const HnswShape *sh, int64 cap);
extern HnswAddResult hnsw_graph_add(HnswGraph *g, const float *vec, ItemPointer heaptid);

/* hnsw_graph_write.c */
extern void hnsw_graph_write(HnswGraph *g, Relation index);
extern void hnsw_append_page(Relation index, Page local, BlockNumber expect);

/*
 * One process's part of a build: the whole build when serial, one
 * participant (`shared` set) when parallel.
 */
typedef struct HnswBuilder
{
	Relation	index;
	HnswGraph	g;
	HnswGraphHead head;			/* the serial build's; a parallel one's is shared */
	struct HnswBuildShared *shared;
	bool		leader;			/* reports progress */
	bool		started;		/* g's private state is set up */
	bool		on_disk;		/* the graph is written: insert on disk */
	double		indtuples;
	MemoryContext graph_ctx;
	MemoryContext tuple_ctx;
} HnswBuilder;

/* hnsw_build.c */
extern int64 hnsw_build_cap_limit(const HnswShape *sh, Size extra);
extern void hnsw_build_callback(Relation index, ItemPointer tid, Datum *values,
								bool *isnull, bool tupleIsAlive, void *state);

/* hnsw_build_parallel.c */
extern bool hnsw_build_parallel(Relation heap, Relation index, struct IndexInfo *indexInfo,
								const HnswShape *shape, double *reltuples, double *indtuples);
extern void hnsw_parallel_spill(HnswBuilder *b);
extern uint64 hnsw_parallel_count_row(HnswBuilder *b);

#endif
