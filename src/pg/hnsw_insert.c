/*
 * Inserting one element into the on-disk graph (aminsert, and the build once
 * the graph no longer fits in maintenance_work_mem).
 *
 * Steps: search the graph for the new element's neighbours at each of its
 * levels, write the element with those links, then add the reverse link to
 * each neighbour, pruning its list with the heuristic when it is full.  Each
 * page change is one GenericXLog record under that buffer's exclusive lock.
 * A neighbour's list is rewritten only if it is still what we pruned from;
 * otherwise we retry, so concurrent inserters never lose each other's links.
 */
#include "postgres.h"

#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "embedding.h"
#include "hnsw.h"

#define LINK_RETRIES 3

typedef struct Link
{
	ItemPointerData tid;
	ItemPointerData heaptid;
	float		dist;
	float	   *vec;
} Link;

typedef struct InsertState
{
	HnswShape	shape;
	int			level;
	Link	   *links[HNSW_MAX_LEVEL + 1];
	int			nlinks[HNSW_MAX_LEVEL + 1];
	HnswNeighbor *results;
} InsertState;

/* Called by the search after each level: keep the heuristic's choice. */
static void
collect_links(HnswSearch *s, int level, void *arg)
{
	InsertState *st = arg;
	const HnswShape *sh = &st->shape;
	int			n = hnsw_search_results(s, st->results, sh->ef_construction, true);
	int			kept = hnsw_select_neighbors(st->results, n,
											 hnsw_level_capacity(sh->m, level),
											 sh->metric, sh->dim, NULL);

	st->links[level] = palloc(sizeof(Link) * Max(kept, 1));
	st->nlinks[level] = kept;
	for (int i = 0; i < kept; i++)
	{
		Link	   *l = &st->links[level][i];

		l->tid = st->results[i].tid;
		l->heaptid = *hnsw_search_heaptid(s, st->results[i].id);
		l->dist = st->results[i].dist;
		l->vec = palloc(sizeof(float) * sh->dim);
		memcpy(l->vec, st->results[i].vec, sizeof(float) * sh->dim);
	}
}

static bool
add_to_page(Relation index, Buffer buf, HnswElementTuple tup, Size size,
			bool new_page, ItemPointer out)
{
	GenericXLogState *state;
	Page		page;
	OffsetNumber off;

	if (!new_page)
	{
		page = BufferGetPage(buf);
		if (HnswPageGetOpaque(page)->page_id != HNSW_PAGE_ID ||
			HnswPageGetOpaque(page)->flags != HNSW_PAGE_ELEMENTS ||
			PageGetFreeSpace(page) < MAXALIGN(size))
			return false;
	}
	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buf, new_page ? GENERIC_XLOG_FULL_IMAGE : 0);
	if (new_page)
		hnsw_init_page(page, HNSW_PAGE_ELEMENTS);
	off = PageAddItem(page, (Item) tup, size, InvalidOffsetNumber, false, false);
	if (off == InvalidOffsetNumber)
		elog(ERROR, "failed to add element to instsim_hnsw index \"%s\"",
			 RelationGetRelationName(index));
	GenericXLogFinish(state);
	ItemPointerSet(out, BufferGetBlockNumber(buf), off);
	RecordPageWithFreeSpace(index, BufferGetBlockNumber(buf), PageGetFreeSpace(page));
	return true;
}

static bool
try_page(Relation index, BlockNumber blkno, HnswElementTuple tup, Size size,
		 ItemPointer out)
{
	Buffer		buf;
	bool		ok;

	if (!BlockNumberIsValid(blkno) || blkno == HNSW_METAPAGE_BLKNO ||
		blkno >= RelationGetNumberOfBlocks(index))
		return false;
	buf = ReadBuffer(index, blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	ok = add_to_page(index, buf, tup, size, false, out);
	if (!ok)
		RecordPageWithFreeSpace(index, blkno, PageGetFreeSpace(BufferGetPage(buf)));
	UnlockReleaseBuffer(buf);
	return ok;
}

/* The meta page, locked and registered for a WAL-logged change; see meta_done. */
static HnswMetaPage
meta_for_update(Relation index, Buffer *buf, GenericXLogState **state)
{
	*buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	LockBuffer(*buf, BUFFER_LOCK_EXCLUSIVE);
	*state = GenericXLogStart(index);
	return HnswPageGetMeta(GenericXLogRegisterBuffer(*state, *buf, 0));
}

static void
meta_done(GenericXLogState *state, Buffer buf)
{
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

static void
set_insert_page(Relation index, BlockNumber blkno)
{
	Buffer		buf;
	GenericXLogState *state;
	HnswMetaPage meta = meta_for_update(index, &buf, &state);

	if (!BlockNumberIsValid(meta->insert_blkno) || meta->insert_blkno < blkno)
		meta->insert_blkno = blkno;
	meta_done(state, buf);
}

/* Puts the tuple on a page with room: FSM first, then the last page, then a new one. */
static void
place_element(Relation index, const HnswMetaPageData *meta, HnswElementTuple tup,
			  Size size, ItemPointer out)
{
	Size		need = MAXALIGN(size) + sizeof(ItemIdData);
	BlockNumber blkno;
	Buffer		buf;

	for (int tries = 0; tries < 3; tries++)
	{
		blkno = GetPageWithFreeSpace(index, need);
		if (!BlockNumberIsValid(blkno))
			break;
		if (try_page(index, blkno, tup, size, out))
			return;
	}
	if (try_page(index, meta->insert_blkno, tup, size, out))
		return;

	LockRelationForExtension(index, ExclusiveLock);
	buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	UnlockRelationForExtension(index, ExclusiveLock);
	add_to_page(index, buf, tup, size, true, out);
	blkno = BufferGetBlockNumber(buf);
	UnlockReleaseBuffer(buf);
	set_insert_page(index, blkno);
}

/*
 * Chooses the new list for a full neighbour list: the heuristic over the old
 * members plus the new element.  Returns the number kept into `tids`, or -1
 * when the new element is not among them (nothing to write).
 */
static int
prune_list(Relation index, const HnswShape *sh, const float *base,
		   const ItemPointerData *old, int cap, const Link *add, float *vecbuf,
		   ItemPointerData *tids)
{
	HnswNeighbor *c = palloc(sizeof(HnswNeighbor) * (cap + 1));
	int			nc = 0;
	int			kept;
	int			result = -1;

	/* start every member's cache misses before the first read */
	for (int i = 0; i < cap; i++)
		hnsw_prefetch_element(index, ItemPointerGetBlockNumber(&old[i]),
							  ItemPointerGetOffsetNumber(&old[i]));
	for (int i = 0; i < cap; i++)
	{
		float	   *v = vecbuf + (Size) nc * sh->dim;

		if (!hnsw_read_vector(index, sh, (ItemPointer) &old[i], v))
			continue;
		c[nc].vec = v;
		c[nc].dist = hnsw_distance(sh->metric, base, v, sh->dim);
		c[nc].tid = old[i];
		c[nc].id = 0;
		nc++;
	}
	c[nc].vec = add->vec;
	c[nc].dist = add->dist;
	c[nc].tid = add->tid;
	c[nc].id = 1;
	nc++;
	hnsw_sort_neighbors(c, nc);
	kept = hnsw_select_neighbors(c, nc, cap, sh->metric, sh->dim, NULL);
	for (int i = 0; i < kept; i++)
	{
		tids[i] = c[i].tid;
		if (c[i].id == 1)
			result = kept;
	}
	pfree(c);
	return result;
}

/*
 * The element at `tid` on the locked page if it is still the one we mean
 * (same heap TID: VACUUM may have reused the slot) and lives at `level`.
 */
static HnswElementTuple
locked_element(Page page, const HnswShape *sh, const Link *who, int level)
{
	HnswElementTuple t = hnsw_page_element(page, ItemPointerGetOffsetNumber(&who->tid), sh);

	if (t == NULL || (t->flags & HNSW_ELEMENT_DELETED) || t->level < level ||
		!ItemPointerEquals(&t->heaptid, (ItemPointer) &who->heaptid))
		return NULL;
	return t;
}

static void
write_list(Relation index, Buffer buf, const HnswShape *sh, const Link *who,
		   int level, const ItemPointerData *tids, int n)
{
	GenericXLogState *state = GenericXLogStart(index);
	Page		page = GenericXLogRegisterBuffer(state, buf, 0);
	HnswElementTuple t = locked_element(page, sh, who, level);
	ItemPointer dst = hnsw_element_neighbors(t, sh, level);
	int			cap = hnsw_level_capacity(sh->m, level);

	for (int i = 0; i < cap; i++)
	{
		if (i < n)
			dst[i] = tids[i];
		else
			ItemPointerSetInvalid(&dst[i]);
	}
	GenericXLogFinish(state);
}

/* Adds the reverse link nbr -> new element at `level`. */
static void
add_reverse_link(Relation index, const HnswShape *sh, const Link *nbr, int level,
				 const Link *added, float *vecbuf, ItemPointerData *old,
				 ItemPointerData *chosen)
{
	int			cap = hnsw_level_capacity(sh->m, level);

	for (int attempt = 0; attempt < LINK_RETRIES; attempt++)
	{
		Buffer		buf = ReadBuffer(index, ItemPointerGetBlockNumber(&nbr->tid));
		HnswElementTuple t;
		ItemPointer list;
		int			n = 0;
		int			kept;

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		t = locked_element(BufferGetPage(buf), sh, nbr, level);
		if (t == NULL)
		{
			UnlockReleaseBuffer(buf);
			return;
		}
		list = hnsw_element_neighbors(t, sh, level);
		memcpy(old, list, sizeof(ItemPointerData) * cap);
		while (n < cap && ItemPointerIsValid(&old[n]))
			n++;
		if (n < cap)
		{
			old[n] = added->tid;
			write_list(index, buf, sh, nbr, level, old, n + 1);
			UnlockReleaseBuffer(buf);
			return;
		}
		UnlockReleaseBuffer(buf);

		kept = prune_list(index, sh, nbr->vec, old, cap, added, vecbuf, chosen);
		if (kept < 0)
			return;

		buf = ReadBuffer(index, ItemPointerGetBlockNumber(&nbr->tid));
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		t = locked_element(BufferGetPage(buf), sh, nbr, level);
		if (t != NULL &&
			memcmp(hnsw_element_neighbors(t, sh, level), old,
				   sizeof(ItemPointerData) * cap) == 0)
		{
			write_list(index, buf, sh, nbr, level, chosen, kept);
			UnlockReleaseBuffer(buf);
			return;
		}
		/* Changed under us (a concurrent insert or VACUUM): start over. */
		UnlockReleaseBuffer(buf);
	}
}

static void
update_entry(Relation index, ItemPointer tid, int level, int dim, int max_level)
{
	Buffer		buf;
	GenericXLogState *state;
	HnswMetaPage meta = meta_for_update(index, &buf, &state);

	if (meta->dim == 0)
	{
		meta->dim = dim;
		meta->max_level = max_level;
	}
	if (tid != NULL)
	{
		meta->entry_blkno = ItemPointerGetBlockNumber(tid);
		meta->entry_offno = ItemPointerGetOffsetNumber(tid);
		meta->entry_level = level;
	}
	meta_done(state, buf);
}

void
hnsw_insert_vector(Relation index, const float *in, int dim, ItemPointer heaptid)
{
	HnswMetaPageData meta;
	InsertState st;
	LOCKMODE	lockmode = ShareLock;
	HnswElementTuple tup;
	Size		size;
	Link		self;
	int			top;
	float	   *vecbuf;
	ItemPointerData *old;
	ItemPointerData *chosen;

	hnsw_read_meta(index, &meta);
	hnsw_shape_from_meta(&meta, &st.shape);
	hnsw_check_dim(&st.shape, dim);
	if (st.shape.dim == 0)
	{
		st.shape.dim = dim;
		st.shape.max_level = hnsw_max_level_for(&st.shape);
	}
	self.vec = palloc(sizeof(float) * dim);
	if (!hnsw_prepare_vector(st.shape.metric, in, self.vec, dim))
		return;					/* zero vector under cosine: not indexed */
	st.level = hnsw_random_level(st.shape.m, st.shape.max_level);

	/*
	 * Whoever may move the entry point (or set the dimensions) must be alone;
	 * everybody else only excludes VACUUM's repair phase.
	 */
	LockPage(index, HNSW_METAPAGE_BLKNO, lockmode);
	hnsw_read_meta(index, &meta);
	if (meta.dim == 0 || st.level > meta.entry_level)
	{
		HnswShape	now;

		UnlockPage(index, HNSW_METAPAGE_BLKNO, lockmode);
		lockmode = ExclusiveLock;
		LockPage(index, HNSW_METAPAGE_BLKNO, lockmode);
		hnsw_read_meta(index, &meta);
		/* another insert may have set the dimensions meanwhile */
		hnsw_shape_from_meta(&meta, &now);
		hnsw_check_dim(&now, dim);
		if (meta.dim == 0)
		{
			update_entry(index, NULL, 0, dim, st.shape.max_level);
			hnsw_read_meta(index, &meta);
		}
	}

	memset(st.links, 0, sizeof(st.links));
	memset(st.nlinks, 0, sizeof(st.nlinks));
	st.results = palloc(sizeof(HnswNeighbor) * st.shape.ef_construction);
	if (BlockNumberIsValid(meta.entry_blkno))
	{
		HnswSearch *s = hnsw_search_create(index, &st.shape, true);

		hnsw_search_begin(s, self.vec, false);
		hnsw_search_from_entry(s, &meta, st.level, st.shape.ef_construction,
							   collect_links, &st);
	}

	size = hnsw_element_size(&st.shape, st.level);
	tup = palloc0(size);
	tup->level = st.level;
	tup->heaptid = *heaptid;
	hnsw_encode_vector(&st.shape, self.vec, tup->data);
	for (int level = 0; level <= st.level; level++)
	{
		ItemPointer dst = hnsw_element_neighbors(tup, &st.shape, level);

		for (int i = 0; i < hnsw_level_capacity(st.shape.m, level); i++)
		{
			if (i < st.nlinks[level])
				dst[i] = st.links[level][i].tid;
			else
				ItemPointerSetInvalid(&dst[i]);
		}
	}
	place_element(index, &meta, tup, size, &self.tid);
	self.heaptid = *heaptid;

	vecbuf = palloc(sizeof(float) * dim * 2 * st.shape.m);
	old = palloc(sizeof(ItemPointerData) * 2 * st.shape.m);
	chosen = palloc(sizeof(ItemPointerData) * 2 * st.shape.m);
	top = Min(st.level, meta.entry_level);
	for (int level = 0; level <= top; level++)
	{
		for (int i = 0; i < st.nlinks[level]; i++)
		{
			self.dist = st.links[level][i].dist;
			add_reverse_link(index, &st.shape, &st.links[level][i], level, &self,
							 vecbuf, old, chosen);
		}
	}
	if (!BlockNumberIsValid(meta.entry_blkno) || st.level > meta.entry_level)
		update_entry(index, &self.tid, st.level, dim, st.shape.max_level);
	UnlockPage(index, HNSW_METAPAGE_BLKNO, lockmode);
}

bool
hnsw_insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
			Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
			struct IndexInfo *indexInfo)
{
	MemoryContext tmp;
	MemoryContext old;
	Embedding  *e;

	if (isnull[0])
		return false;
	tmp = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw insert",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	e = DatumGetEmbedding(values[0]);
	hnsw_insert_vector(index, e->x, e->dim, heap_tid);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
	return false;
}
