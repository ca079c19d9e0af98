/*
 * Inserting into the in-memory graph of an index build (see hnsw_graph.h).
 *
 * When the graph is shared by parallel participants (g->concurrent), a node's
 * lists at every level are read and written under that node's LWLock, held
 * for one list at a time, so no participant ever waits while holding one.
 * A new node's vector, level and lists are all written before it is linked
 * from anywhere (its vector and level never change after): the lock release
 * that publishes the first link also publishes them.  Every insert holds
 * entry_lock shared, or exclusive when the new node may become the entry
 * point, so that a node on a new top level is linked before anyone enters
 * the graph through it.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "hnsw_graph.h"

static inline void
node_lock(HnswGraph *g, int32 id, LWLockMode mode)
{
	if (g->concurrent)
		LWLockAcquire(&g->locks[id], mode);
}

static inline void
node_unlock(HnswGraph *g, int32 id)
{
	if (g->concurrent)
		LWLockRelease(&g->locks[id]);
}

/* Bytes per node, with the expected share of upper-level lists (1 in m nodes). */
Size
hnsw_graph_node_bytes(const HnswShape *sh)
{
	return sizeof(float) * sh->dim + sizeof(ItemPointerData) + 1 +
		(sizeof(int32) + sizeof(float)) * 2 * sh->m + 2 * sizeof(int32) +
		sizeof(int32) + HNSW_GRAPH_PRIVATE_BYTES + sizeof(int32) * UPPER_BLOCK(sh->m) * 2 / sh->m;
}

/*
 * Upper-level blocks for `cap` nodes: a node has 1/(m-1) upper levels on
 * average; half as many again, and room for a few tall nodes, make running
 * out (which closes the graph like a full one) vanishingly rare.
 */
uint64
hnsw_graph_upper_blocks(const HnswShape *sh, int64 cap)
{
	return (uint64) (cap * 1.5 / (sh->m - 1)) + 8 * (sh->max_level + 1);
}

/*
 * Places the shared arrays at `base` (NULL: only measures them); returns the
 * bytes they take.
 */
static Size
layout(HnswGraph *g, char *base, int64 cap, uint64 upper_blocks)
{
	const HnswShape *sh = &g->shape;
	Size		off = 0;

#define CARVE(field, type, count) \
	do { \
		if (base) \
			g->field = (type *) (base + off); \
		off = add_size(off, MAXALIGN(mul_size(sizeof(type), (count)))); \
	} while (0)
	CARVE(locks, LWLock, cap);
	CARVE(vecs, float, mul_size(cap, sh->dim));
	CARVE(heaptids, ItemPointerData, cap);
	CARVE(levels, uint8, cap);
	CARVE(links0, int32, mul_size(cap, 2 * sh->m));
	CARVE(dist0, float, mul_size(cap, 2 * sh->m));
	CARVE(count0, int32, cap);
	CARVE(kept0, int32, cap);
	CARVE(upper_at, int32, cap);
	CARVE(upper, int32, mul_size(upper_blocks, UPPER_BLOCK(sh->m)));
#undef CARVE
	return off;
}

Size
hnsw_graph_shared_size(const HnswShape *sh, int64 cap, uint64 upper_cap)
{
	HnswGraph	g;

	g.shape = *sh;
	return layout(&g, NULL, cap, upper_cap / UPPER_BLOCK(sh->m));
}

/* Points a participant's view at the shared arrays; g->shape and g->head set. */
void
hnsw_graph_attach(HnswGraph *g, char *base)
{
	layout(g, base, g->head->cap, g->head->upper_cap / UPPER_BLOCK(g->shape.m));
	g->concurrent = true;
}

/* The search state of one participant; visit_cap > 0 for a fixed capacity. */
void
hnsw_graph_init_private(HnswGraph *g, int64 visit_cap)
{
	const HnswShape *sh = &g->shape;

	g->seeds = palloc(sizeof(HnswHeapItem) * (sh->ef_construction + 1));
	g->todo = palloc(sizeof(int32) * 2 * sh->m);
	/* the candidates of a new node, or a level-0 list's kept and rejected (relink_from) */
	g->pick = palloc(sizeof(HnswNeighbor) * (Max(sh->ef_construction, 4 * sh->m) + 2));
	g->chosen = palloc(sizeof(HnswNeighbor) * hnsw_total_slots(sh->m, sh->max_level));
	g->qbuf = palloc(sizeof(float) * sh->dim);
	if (visit_cap > 0)
	{
		g->visit = palloc_extended(sizeof(uint32) * visit_cap, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		g->vdist = palloc_extended(sizeof(float) * visit_cap, MCXT_ALLOC_HUGE);
		g->visit_cap = visit_cap;
	}
}

/* Serial builds: doubles the per-node arrays, up to cap_limit. */
static void
graph_grow(HnswGraph *g)
{
	const HnswShape *sh = &g->shape;
	int64		cap = g->head->cap;
	int64		newcap = Min(Max(cap * 2, 1024), g->cap_limit);

#define GROW(field, type, per) \
	g->field = g->field ? \
		repalloc_huge(g->field, sizeof(type) * (per) * newcap) : \
		MemoryContextAllocHuge(CurrentMemoryContext, sizeof(type) * (per) * newcap)
	GROW(vecs, float, sh->dim);
	GROW(heaptids, ItemPointerData, 1);
	GROW(levels, uint8, 1);
	GROW(links0, int32, 2 * sh->m);
	GROW(dist0, float, 2 * sh->m);
	GROW(count0, int32, 1);
	GROW(kept0, int32, 1);
	GROW(upper_at, int32, 1);
	GROW(visit, uint32, 1);
	GROW(vdist, float, 1);
#undef GROW
	memset(g->visit + cap, 0, sizeof(uint32) * (newcap - cap));
	g->head->cap = g->visit_cap = newcap;
}

/* Takes a node id and its upper-level blocks; -1 when the graph is full. */
static int32
node_alloc(HnswGraph *g, int level)
{
	HnswGraphHead *h = g->head;
	uint64		need = (uint64) level * UPPER_BLOCK(g->shape.m);
	int32		q = -1;
	uint64		at = 0;

	if (g->concurrent)
	{
		SpinLockAcquire(&h->mutex);
		if (!h->full && h->n < h->cap && h->upper_used + need <= h->upper_cap)
		{
			q = (int32) h->n++;
			at = h->upper_used;
			h->upper_used += need;
		}
		else
			h->full = true;
		SpinLockRelease(&h->mutex);
		if (q < 0)
			return -1;
	}
	else
	{
		if (h->n == h->cap)
		{
			if (h->cap >= g->cap_limit)
			{
				h->full = true;
				return -1;
			}
			graph_grow(g);
		}
		if (h->upper_used + need > h->upper_cap)
			g->upper = hnsw_grow(g->upper, sizeof(int32), &h->upper_cap, h->upper_used + need);
		q = (int32) h->n++;
		at = h->upper_used;
		h->upper_used += need;
	}

	g->levels[q] = level;
	g->count0[q] = 0;
	g->kept0[q] = 0;
	g->upper_at[q] = level > 0 ? (int32) at : -1;
	for (int l = 0; l < level; l++)
	{
		g->upper[at + (uint64) l * UPPER_BLOCK(g->shape.m)] = 0;
		g->upper[at + (uint64) l * UPPER_BLOCK(g->shape.m) + 1] = 0;
	}
	return q;
}

static float
dist_to(HnswGraph *g, const float *q, int32 id)
{
	return hnsw_distance(g->shape.metric, q, node_vec(g, id), g->shape.dim);
}

/* Standard layer search from g->seeds; leaves the results in g->best. */
static void
search_layer(HnswGraph *g, const float *q, int level, int ef)
{
	int32	   *todo = g->todo;
	int			ntodo;
	Size		prefetch = Min(sizeof(float) * g->shape.dim, 1024);

	g->cand.n = 0;
	g->best.n = 0;
	hnsw_graph_next_epoch(g);
	for (int i = 0; i < g->nseeds; i++)
	{
		g->visit[g->seeds[i].id] = g->epoch;
		g->vdist[g->seeds[i].id] = g->seeds[i].key;
		hnsw_heap_push(&g->cand, g->seeds[i].key, g->seeds[i].id);
		hnsw_heap_push(&g->best, -g->seeds[i].key, g->seeds[i].id);
	}
	while (g->cand.n > 0)
	{
		HnswHeapItem c = hnsw_heap_pop(&g->cand);
		NodeList	l;

		if (c.key > -g->best.items[0].key && g->best.n >= ef)
			break;
		l = node_list(g, c.id, level);
		/* the likely next expansion: its list loads while this one is done */
		if (g->cand.n > 0)
			hnsw_prefetch_bytes(node_list(g, g->cand.items[0].id, level).ids,
								sizeof(int32) * l.cap);

		/*
		 * The vectors are scattered over a large array, so a distance mostly
		 * waits for memory: touch the start of every new neighbour's vector
		 * first, then load the next one whole while computing each distance
		 * (prefetching all of them at once stalls on the CPU's fill buffers).
		 */
		ntodo = 0;
		node_lock(g, c.id, LW_SHARED);
		for (int i = 0; i < *l.count; i++)
		{
			int32		nb = l.ids[i];

			if (g->visit[nb] == g->epoch)
				continue;
			g->visit[nb] = g->epoch;
			todo[ntodo++] = nb;
			__builtin_prefetch(node_vec(g, nb));
		}
		node_unlock(g, c.id);
		for (int i = 0; i < ntodo; i++)
		{
			int32		nb = todo[i];
			float		d;

			if (i + 1 < ntodo)
				hnsw_prefetch_bytes(node_vec(g, todo[i + 1]), prefetch);
			d = dist_to(g, q, nb);
			g->vdist[nb] = d;

			if (g->best.n < ef || d < -g->best.items[0].key)
			{
				hnsw_heap_push(&g->cand, d, nb);
				hnsw_heap_push(&g->best, -d, nb);
				if (g->best.n > ef)
					hnsw_heap_pop(&g->best);
			}
		}
	}
}

/* Moves g->best into g->seeds (the next level's starting set). */
static void
best_to_seeds(HnswGraph *g)
{
	g->nseeds = g->best.n;
	for (int i = 0; i < g->best.n; i++)
	{
		g->seeds[i].key = -g->best.items[i].key;
		g->seeds[i].id = g->best.items[i].id;
	}
}

/* Sorts the first n of g->pick and keeps the heuristic's choice (and fill) there. */
static int
pick_select(HnswGraph *g, int n, int cap, int32 *kept)
{
	hnsw_sort_neighbors(g->pick, n);
	return hnsw_select_neighbors(g->pick, n, cap, g->shape.metric, g->shape.dim, kept);
}

static void
list_store(NodeList l, const HnswNeighbor *from, int n, int kept)
{
	for (int i = 0; i < n; i++)
	{
		l.ids[i] = from[i].id;
		l.dist[i] = from[i].dist;
	}
	*l.count = n;
	*l.kept = kept;
}

/* Where q's chosen list at `level` goes in g->chosen (laid out as in a tuple). */
static inline HnswNeighbor *
chosen_at(HnswGraph *g, int level)
{
	return g->chosen + (level == 0 ? 0 : 2 * g->shape.m + (level - 1) * g->shape.m);
}

/*
 * Chooses q's list at one level from the seeds (kept in g->chosen for the
 * links back) and stores it.  No lock: nothing links to q yet, and the first
 * link back publishes the list with it.
 */
static int
pick_neighbors(HnswGraph *g, int32 q, int level)
{
	NodeList	l = node_list(g, q, level);
	int32		kept;
	int			n;

	for (int i = 0; i < g->nseeds; i++)
	{
		g->pick[i].dist = g->seeds[i].key;
		g->pick[i].id = g->seeds[i].id;
		g->pick[i].vec = node_vec(g, g->seeds[i].id);
	}
	n = pick_select(g, g->nseeds, l.cap, &kept);
	memcpy(chosen_at(g, level), g->pick, sizeof(HnswNeighbor) * n);
	list_store(l, g->pick, n, kept);
	return n;
}

/*
 * The distance from the node being inserted (vector tv) to `id`.  Its
 * searches computed it for every node they reached, and linking back compares
 * the new node with the neighbours of its neighbours, most of which they
 * reached: a lookup instead of a pass over both vectors (link_back spent a
 * fifth of a build in distances).  The same kernel computed it, so the value
 * is identical to computing it here in either argument order: the float
 * kernels are symmetric bit for bit (a*b, and (a-b)^2 = (b-a)^2).  Only
 * valid while `to` is the node being inserted (hnsw_graph_add).
 */
static inline float
cached_distance(HnswGraph *g, const float *tv, int32 id)
{
	if (g->visit[id] >= g->insert_epoch)
		return g->vdist[id];
	return hnsw_distance(g->shape.metric, tv, node_vec(g, id), g->shape.dim);
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

/* Whether a kept node's link occludes `id` (distance d_base to the list's owner). */
static inline bool
occluded_by(HnswGraph *g, int32 kept, int32 id, float d_base)
{
	return hnsw_occluded(g->shape.metric,
						 hnsw_distance(g->shape.metric, node_vec(g, id), node_vec(g, kept),
									   g->shape.dim), d_base);
}

/*
 * The general case of link_back_locked: `to` (distance d) is accepted after
 * the first `at` heuristic members and occludes a farther one, so the
 * heuristic runs again over the list plus `to`, from `to` on only.  Everything
 * nearer than `to` keeps its decision.  A farther member that the heuristic
 * kept before was occluded by none of the members nearer than it, so it is
 * compared with `to` and the members kept after `to` only; a farther fill
 * member is compared with everything kept.  Same outcome as re-running the
 * heuristic over the whole list, at a fraction of its distance computations.
 */
static void
relink_from(HnswGraph *g, NodeList l, int at, int32 to, float d)
{
	const float *tv = node_vec(g, to);
	int			kept = *l.kept;
	int			n = *l.count;
	HnswNeighbor *out = g->pick;	/* kept: the first `at`, `to`, then the new choices */
	HnswNeighbor *rej = g->pick + l.cap + 1;
	int			nout = 0;
	int			nrej = 0;
	int			k = at;			/* next old heuristic member */
	int			f = kept;		/* next old fill member */

	for (int i = 0; i < at; i++)
	{
		out[nout].id = l.ids[i];
		out[nout++].dist = l.dist[i];
	}
	out[nout].id = to;
	out[nout++].dist = d;
	/* fill members nearer than `to` stay rejected */
	while (f < n && l.dist[f] <= d)
	{
		rej[nrej].id = l.ids[f];
		rej[nrej++].dist = l.dist[f++];
	}
	while (k < kept || f < n)
	{
		bool		old_kept = f >= n || (k < kept && l.dist[k] <= l.dist[f]);
		int			i = old_kept ? k++ : f++;
		int32		id = l.ids[i];
		float		di = l.dist[i];
		bool		good = nout < l.cap &&
			!hnsw_occluded(g->shape.metric, cached_distance(g, tv, id), di);

		/* out[at] is `to`, checked above from its cached distance */
		for (int j = old_kept ? at + 1 : 0; j < nout && good; j++)
			if (j != at)
				good = !occluded_by(g, out[j].id, id, di);
		if (good)
		{
			out[nout].id = id;
			out[nout++].dist = di;
		}
		else
		{
			rej[nrej].id = id;
			rej[nrej++].dist = di;
		}
	}
	memcpy(out + nout, rej, sizeof(HnswNeighbor) * Min(nrej, l.cap - nout));
	list_store(l, out, Min(nout + nrej, l.cap), nout);
}

/*
 * Adds the link from -> to (distance d) at `level`, with the same outcome as
 * re-running the heuristic over the list plus `to`, but usually at the cost
 * of comparing `to` with the heuristic's part only.  The decisions for
 * members nearer than `to` cannot change.  If `to` is rejected, nothing else
 * changes either: it joins the fill part.  If it is accepted and rejects
 * no farther heuristic member, it joins that part and the fill loses its
 * farthest; only when it would push a member out does the heuristic run
 * again, from `to` on (relink_from).
 */
static void
link_back_locked(HnswGraph *g, NodeList l, int32 to, float d)
{
	const float *tv = node_vec(g, to);
	int			kept = *l.kept;
	int			n = *l.count;
	int			at = 0;

	while (at < kept && l.dist[at] <= d)
	{
		if (hnsw_occluded(g->shape.metric, cached_distance(g, tv, l.ids[at]), d))
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
		if (hnsw_occluded(g->shape.metric, cached_distance(g, tv, l.ids[j]), l.dist[j]))
		{
			relink_from(g, l, at, to, d);
			return;
		}
	}
	list_insert(l, at, n, to, d);
	*l.kept = Min(kept + 1, l.cap);
	*l.count = Min(n + 1, l.cap);
}

static void
link_back(HnswGraph *g, int32 from, int32 to, float d, int level)
{
	node_lock(g, from, LW_EXCLUSIVE);
	link_back_locked(g, node_list(g, from, level), to, d);
	node_unlock(g, from);
}

HnswAddResult
hnsw_graph_add(HnswGraph *g, const float *vec, ItemPointer heaptid)
{
	const HnswShape *sh = &g->shape;
	HnswGraphHead *h = g->head;
	int			level = hnsw_random_level(sh->m, sh->max_level);
	int32		q;
	int32		entry;
	int			entry_level;

	if (!hnsw_prepare_vector(sh->metric, vec, g->qbuf, sh->dim))
		return HNSW_SKIPPED;
	q = node_alloc(g, level);
	if (q < 0)
		return HNSW_FULL;
	memcpy(node_vec(g, q), g->qbuf, sizeof(float) * sh->dim);
	g->heaptids[q] = *heaptid;

	if (g->concurrent)
	{
		LWLockAcquire(&h->entry_lock, LW_SHARED);
		if (h->entry < 0 || level > h->entry_level)
		{
			LWLockRelease(&h->entry_lock);
			LWLockAcquire(&h->entry_lock, LW_EXCLUSIVE);
		}
	}
	entry = h->entry;
	entry_level = h->entry_level;
	if (entry < 0 || level > entry_level)
	{
		h->entry = q;
		h->entry_level = level;
	}

	if (entry >= 0)
	{
		int			nchosen[HNSW_MAX_LEVEL + 1];

		/* 0 after a wrap: search_layer resets it with the marks */
		g->insert_epoch = g->epoch + 1;
		g->nseeds = 1;
		g->seeds[0].id = entry;
		g->seeds[0].key = dist_to(g, g->qbuf, entry);
		for (int l = entry_level; l >= 0; l--)
		{
			search_layer(g, g->qbuf, l, l > level ? 1 : sh->ef_construction);
			best_to_seeds(g);
			if (l <= level)
				nchosen[l] = pick_neighbors(g, q, l);
		}

		/*
		 * Linked bottom up, once all of q's lists are stored: a concurrent
		 * search that reaches q at some level must find its lists below
		 * filled, or a greedy descent ending at q would enter level 0 at a
		 * node without links and link its new node to q alone (with one
		 * participant more than cores, such a half-linked q stalls often
		 * enough to cost recall@10 several points).
		 */
		for (int l = 0; l <= Min(level, entry_level); l++)
		{
			const HnswNeighbor *c = chosen_at(g, l);

			for (int i = 0; i < nchosen[l]; i++)
				link_back(g, c[i].id, q, c[i].dist, l);
		}
	}
	if (g->concurrent)
		LWLockRelease(&h->entry_lock);
	return HNSW_ADDED;
}
