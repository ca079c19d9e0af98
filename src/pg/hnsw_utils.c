/*
 * Helpers shared by every phase of the HNSW index: metric, vector checks,
 * level draws, the neighbour-selection heuristic, and page/tuple access.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/genam.h"
#include "common/pg_prng.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "embedding.h"
#include "hnsw.h"

/* The operator functions an opclass may name as its distance (support 1). */
extern Datum embedding_l2_distance(PG_FUNCTION_ARGS);
extern Datum embedding_cosine_distance(PG_FUNCTION_ARGS);
extern Datum embedding_negative_inner_product(PG_FUNCTION_ARGS);

/*
 * The opclass names its distance function as support function 1.  We
 * recognise our own functions by address and then call the SIMD kernels
 * directly instead of going through fmgr for every candidate.
 */
HnswMetric
hnsw_index_metric(Relation index)
{
	FmgrInfo   *proc = index_getprocinfo(index, 1, HNSW_DISTANCE_PROC);

	if (proc->fn_addr == embedding_l2_distance)
		return HNSW_METRIC_L2;
	if (proc->fn_addr == embedding_cosine_distance)
		return HNSW_METRIC_COSINE;
	if (proc->fn_addr == embedding_negative_inner_product)
		return HNSW_METRIC_IP;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("instsim_hnsw does not support distance function %u",
					proc->fn_oid),
			 errhint("Use one of embedding_cosine_ops, embedding_l2_ops, embedding_ip_ops.")));
	return HNSW_METRIC_L2;		/* keep compiler quiet */
}

int
hnsw_reloption_m(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	return opts ? opts->m : HNSW_DEFAULT_M;
}

int
hnsw_reloption_ef_construction(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	return opts ? opts->ef_construction : HNSW_DEFAULT_EF_CONSTRUCTION;
}

HnswStorage
hnsw_reloption_storage(Relation index)
{
	HnswOptions *opts = (HnswOptions *) index->rd_options;

	return opts ? (HnswStorage) opts->storage : HNSW_STORAGE_FLOAT;
}

/* Arrays that double when full: amortised, never one allocation per item. */
void *
hnsw_grow(void *p, Size elem, uint64 *cap, uint64 need)
{
	uint64		newcap = Max(*cap * 2, Max(need, 64));

	p = p ? repalloc_huge(p, elem * newcap) :
		MemoryContextAllocHuge(CurrentMemoryContext, elem * newcap);
	*cap = newcap;
	return p;
}

void
hnsw_heap_push(HnswHeap *h, float key, uint32 id)
{
	int			i;

	if (h->n == h->cap)
	{
		uint64		cap = h->cap;

		h->items = hnsw_grow(h->items, sizeof(HnswHeapItem), &cap, h->n + 1);
		h->cap = (int) cap;
	}
	i = h->n++;
	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (h->items[parent].key <= key)
			break;
		h->items[i] = h->items[parent];
		i = parent;
	}
	h->items[i].key = key;
	h->items[i].id = id;
}

HnswHeapItem
hnsw_heap_pop(HnswHeap *h)
{
	HnswHeapItem top = h->items[0];
	HnswHeapItem last = h->items[--h->n];
	int			i = 0;

	for (;;)
	{
		int			c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->items[c + 1].key < h->items[c].key)
			c++;
		if (last.key <= h->items[c].key)
			break;
		h->items[i] = h->items[c];
		i = c;
	}
	if (h->n > 0)
		h->items[i] = last;
	return top;
}

/* Highest level whose element tuple still fits on a page; -1 if none does. */
int
hnsw_max_level_for(const HnswShape *shape)
{
	int			level = -1;

	while (level < HNSW_MAX_LEVEL &&
		   MAXALIGN(hnsw_element_size(shape, level + 1)) <= HNSW_PAGE_SPACE)
		level++;
	return level;
}

/* A vector of `dim` dimensions must match the index's (unless still unset) and fit a page. */
void
hnsw_check_dim(const HnswShape *shape, int dim)
{
	HnswShape	sized = *shape;

	if (shape->dim != 0 && dim != shape->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("embedding has %d dimensions, but the instsim_hnsw index expects %d",
						dim, shape->dim),
				 errhint("All embeddings in one index must have the same dimensions; "
						 "declare the column as embedding(%d).", shape->dim)));
	sized.dim = dim;
	if (hnsw_max_level_for(&sized) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("embedding with %d dimensions is too large for an instsim_hnsw index with m = %d",
						dim, shape->m),
				 errhint("Use a smaller m%s, or fewer dimensions "
						 "(each element must fit on one %d-byte page).",
						 shape->storage == HNSW_STORAGE_FLOAT ? ", storage = 'half' or 'int8'" :
						 shape->storage == HNSW_STORAGE_HALF ? ", storage = 'int8'" : "",
						 BLCKSZ)));
}

/*
 * Copies a vector into the form the graph stores.  Returns false when the
 * vector cannot take part: a zero vector has no direction under cosine.
 */
bool
hnsw_prepare_vector(HnswMetric metric, const float *in, float *out, int dim)
{
	if (in != out)
		memcpy(out, in, sizeof(float) * dim);
	if (metric == HNSW_METRIC_COSINE)
	{
		/* checked: the float kernel overflows at 3e38 and underflows at 1e-30 */
		double		norm = sqrt(is_norm_squared_checked(in, dim));

		if (!(norm > 0.0) || !isfinite(norm))
			return false;
		for (int i = 0; i < dim; i++)
			out[i] = (float) (out[i] / norm);
	}
	return true;
}

/* Level drawn with probability decaying by 1/m per level (the HNSW rule). */
int
hnsw_random_level(int m, int max_level)
{
	double		u = pg_prng_double(&pg_global_prng_state);
	int			level;

	if (u <= 0.0)
		u = DBL_MIN;
	level = (int) floor(-log(u) / log((double) m));
	return Min(level, max_level);
}

/*
 * The HNSW neighbour heuristic: walk the candidates nearest first and keep
 * one only if it is closer to the base than to every neighbour kept so far,
 * which spreads links across directions instead of into one cluster.  The
 * kept candidates are moved to the front, the rejected ones follow in their
 * distance order, and the free slots are then filled with the nearest of
 * those ("keep pruned connections" of the HNSW paper).  On data of low
 * intrinsic dimension the heuristic alone leaves nodes with a handful of
 * links, and a search at small ef then misses neighbours behind them
 * (lowdim recall@10 at ef 40: 0.978 without the fill); full lists cost a
 * few more distance computations per hop.  Returns how many to keep, and
 * how many of those the heuristic chose in *nkept (if not NULL).  `cands`
 * must be sorted by distance.
 */
int
hnsw_select_neighbors(HnswNeighbor *cands, int n, int cap,
					  HnswMetric metric, int dim, int *nkept)
{
	int			kept = 0;

	for (int i = 0; i < n && kept < cap; i++)
	{
		bool		good = true;

		for (int j = 0; j < kept; j++)
		{
			if (hnsw_occluded(metric, hnsw_distance(metric, cands[i].vec, cands[j].vec, dim),
							  cands[i].dist))
			{
				good = false;
				break;
			}
		}
		if (good)
		{
			HnswNeighbor tmp = cands[i];

			/* shift the rejected ones up: they stay sorted for the fill */
			memmove(&cands[kept + 1], &cands[kept], sizeof(HnswNeighbor) * (i - kept));
			cands[kept++] = tmp;
		}
	}
	if (nkept)
		*nkept = kept;
	return Min(n, cap);
}

void
hnsw_init_page(Page page, uint16 flags)
{
	HnswPageOpaqueData *opaque;

	PageInit(page, BLCKSZ, sizeof(HnswPageOpaqueData));
	opaque = HnswPageGetOpaque(page);
	opaque->flags = flags;
	opaque->page_id = HNSW_PAGE_ID;
}

void
hnsw_init_meta(Page page, const HnswShape *shape)
{
	HnswMetaPage meta;

	hnsw_init_page(page, HNSW_PAGE_META);
	meta = HnswPageGetMeta(page);
	memset(meta, 0, sizeof(HnswMetaPageData));
	meta->magic = HNSW_MAGIC;
	meta->version = HNSW_VERSION;
	meta->dim = shape->dim;
	meta->m = shape->m;
	meta->ef_construction = shape->ef_construction;
	meta->metric = shape->metric;
	meta->max_level = shape->max_level;
	meta->entry_blkno = InvalidBlockNumber;
	meta->entry_offno = InvalidOffsetNumber;
	meta->entry_level = -1;
	meta->insert_blkno = InvalidBlockNumber;
	meta->storage = shape->storage;
	((PageHeader) page)->pd_lower =
		((char *) meta + sizeof(HnswMetaPageData)) - (char *) page;
}

void
hnsw_read_meta(Relation index, HnswMetaPageData *meta)
{
	Buffer		buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	Page		page;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (HnswPageGetOpaque(page)->page_id != HNSW_PAGE_ID ||
		HnswPageGetMeta(page)->magic != HNSW_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not an instsim_hnsw index",
						RelationGetRelationName(index)),
				 errhint("REINDEX it.")));
	*meta = *HnswPageGetMeta(page);
	UnlockReleaseBuffer(buf);
	/* version 1 had no storage field (the byte is zero there, but say so) */
	if (meta->version == HNSW_VERSION_FLOAT_ONLY)
		meta->storage = HNSW_STORAGE_FLOAT;
	else if (meta->version != HNSW_VERSION || meta->storage > HNSW_STORAGE_INT8)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("instsim_hnsw index \"%s\" has version %u (storage %u), expected %u",
						RelationGetRelationName(index), meta->version, meta->storage,
						HNSW_VERSION),
				 errhint("REINDEX it.")));
}

void
hnsw_shape_from_meta(const HnswMetaPageData *meta, HnswShape *shape)
{
	shape->dim = meta->dim;
	shape->m = meta->m;
	shape->ef_construction = meta->ef_construction;
	shape->metric = (HnswMetric) meta->metric;
	shape->max_level = meta->max_level;
	shape->storage = (HnswStorage) meta->storage;
}

bool
hnsw_is_element_page(Page page)
{
	return HnswPageGetOpaque(page)->page_id == HNSW_PAGE_ID &&
		HnswPageGetOpaque(page)->flags == HNSW_PAGE_ELEMENTS;
}

/* A page for a whole-index pass (VACUUM), read through its strategy and locked. */
Buffer
hnsw_read_locked(Relation index, BlockNumber blkno, BufferAccessStrategy strategy,
				 int mode)
{
	Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);

	LockBuffer(buf, mode);
	return buf;
}

/*
 * Where the element at `off` is, without touching the tuple itself (so that
 * the search can prefetch it first); NULL when the slot holds no tuple.
 * Concurrent VACUUM may have freed or reused a slot that a reader still holds
 * a TID for, so everything is checked before it is trusted.
 */
HnswElementTuple
hnsw_page_item(Page page, OffsetNumber off, Size *len)
{
	ItemId		iid;

	if (!hnsw_is_element_page(page) ||
		off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return NULL;
	iid = PageGetItemId(page, off);
	if (!ItemIdIsNormal(iid))
		return NULL;
	*len = ItemIdGetLength(iid);
	return (HnswElementTuple) PageGetItem(page, iid);
}

/* Whether a tuple found by hnsw_page_item() is a whole element. */
bool
hnsw_item_is_element(HnswElementTuple t, Size len, const HnswShape *shape)
{
	return len >= hnsw_element_size(shape, 0) &&
		t->level <= shape->max_level &&
		len >= hnsw_element_size(shape, t->level);
}

/* The element at `off`, or NULL when the slot holds none. */
HnswElementTuple
hnsw_page_element(Page page, OffsetNumber off, const HnswShape *shape)
{
	Size		len;
	HnswElementTuple t = hnsw_page_item(page, off, &len);

	return t != NULL && hnsw_item_is_element(t, len, shape) ? t : NULL;
}

/* Copies a live element's vector into `out`; false if the slot no longer holds one. */
bool
hnsw_read_vector(Relation index, const HnswShape *sh, ItemPointer tid, float *out)
{
	Buffer		buf = hnsw_pin_buffer(index, ItemPointerGetBlockNumber(tid));
	HnswElementTuple t;
	bool		ok;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	t = hnsw_page_element(BufferGetPage(buf), ItemPointerGetOffsetNumber(tid), sh);
	ok = t != NULL && !(t->flags & HNSW_ELEMENT_DELETED);
	if (ok)
		hnsw_decode_vector(sh, t->data, out);
	UnlockReleaseBuffer(buf);
	return ok;
}

/* A huge allocation in the current context, or NULL where palloc would fail. */
void *
hnsw_alloc_or_null(Size size)
{
	return MemoryContextAllocExtended(CurrentMemoryContext, Max(size, 1),
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}
