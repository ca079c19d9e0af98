/*
 * instsim_hnsw: a hierarchical navigable small world graph index for the
 * `embedding` type.
 *
 * Page layout
 *   block 0      meta page: dimensions, m, ef_construction, metric, entry point
 *   block 1..    element pages.  One index tuple per graph element holding, in
 *                one piece, its heap TID, its level, its vector and its
 *                neighbour TIDs for every level it lives on.  Reading a
 *                neighbour's vector and, later, its neighbour list therefore
 *                costs one buffer access, not two.
 *
 * Storage (reloption `storage`, kept in the meta page): vectors as float, or
 * compact as IEEE half or signed bytes with a per-vector scale
 * (hnsw_storage.c).  Compact distances are approximate, so scans of such an
 * index hand the executor a lower bound of each row's distance and let it
 * recompute the exact one from the heap and reorder (xs_recheckorderby).
 *
 * Metric: cosine indexes store unit vectors so that the hot loop is a plain
 * dot product; zero vectors have no direction and are not indexed under
 * cosine (like NULLs), so they can never become an entry point.
 *
 * Locking: every page change is WAL-logged with GenericXLog while holding the
 * buffer's exclusive lock; no writer holds two buffer locks at once, so the
 * search may share-lock all the pages of one neighbour batch together (in
 * block order) without risk of deadlock.  Inserters
 * hold a heavyweight lock on the meta page in share mode (exclusive when they
 * may move the entry point); VACUUM takes it exclusively only while it repairs
 * links and frees dead elements, so no insert can link to a freed slot.
 * Scans take no heavyweight lock and validate every TID they follow.
 * After every build and VACUUM, level 0 is repaired so that every live
 * element is reachable from the entry point and reaches it (hnsw_reach.c):
 * a search then reaches every row from wherever it enters level 0.
 */
#ifndef INSTSIM_HNSW_H
#define INSTSIM_HNSW_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/genam.h"
#include "access/generic_xlog.h"
#include "storage/bufmgr.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"

#include "distance.h"

#define HNSW_MAGIC				0x48534E49	/* "INSH" */
#define HNSW_VERSION			2	/* 2: the meta page names the storage */
#define HNSW_VERSION_FLOAT_ONLY	1	/* before: float vectors only */
#define HNSW_PAGE_ID			0xFF91
#define HNSW_METAPAGE_BLKNO		0
#define HNSW_DISTANCE_PROC		1

#define HNSW_DEFAULT_M			16
#define HNSW_MIN_M				2
#define HNSW_MAX_M				100
#define HNSW_DEFAULT_EF_CONSTRUCTION 64
#define HNSW_MIN_EF_CONSTRUCTION 4
#define HNSW_MAX_EF_CONSTRUCTION 1000
/*
 * Well above what a scan usually needs: data without structure (uniform
 * random vectors of 128 dimensions, say) reaches recall@10 0.99 only at
 * ef ~4000 with m = 16 (bench/hnsw).
 */
#define HNSW_MAX_EF_SEARCH		10000
#define HNSW_MAX_LEVEL			16

/* Build phases reported in pg_stat_progress_create_index. */
#define HNSW_PHASE_LOAD			2
#define HNSW_PHASE_WRITE		3

typedef enum HnswMetric
{
	HNSW_METRIC_L2 = 1,
	HNSW_METRIC_COSINE = 2,
	HNSW_METRIC_IP = 3
} HnswMetric;

/* GUCs, registered by hnsw_init_gucs from _PG_init (hnsw.c) */
extern int	instsim_hnsw_ef_search;
extern bool instsim_hnsw_iterative_scan;
extern int	instsim_hnsw_max_scan_tuples;
extern int	instsim_hnsw_max_repair_memory;
extern void hnsw_init_gucs(void);

/*
 * Iterative scans of this backend that ended because they had visited
 * instsim.max_scan_tuples elements (hnsw_scan.c): a caller reading an index-
 * ordered stream compares it before and after a fetch to tell a stream that
 * was cut off from one that ran out of rows.
 */
extern uint64 instsim_hnsw_scans_cut;

/* How element vectors are stored; 0 is what indexes of version 1 hold. */
typedef enum HnswStorage
{
	HNSW_STORAGE_FLOAT = 0,
	HNSW_STORAGE_HALF = 1,
	HNSW_STORAGE_INT8 = 2
} HnswStorage;

typedef struct HnswOptions
{
	int32		vl_len_;
	int			m;
	int			ef_construction;
	int			storage;		/* HnswStorage */
} HnswOptions;

typedef struct HnswMetaPageData
{
	uint32		magic;
	uint32		version;
	uint16		dim;			/* 0 until the first vector arrives */
	uint16		m;
	uint16		ef_construction;
	uint8		metric;
	uint8		max_level;		/* highest level whose tuple fits a page */
	BlockNumber entry_blkno;	/* InvalidBlockNumber while the graph is empty */
	OffsetNumber entry_offno;
	int16		entry_level;
	BlockNumber insert_blkno;	/* last element page: where inserts go */
	uint8		storage;		/* HnswStorage; version 2 on */
} HnswMetaPageData;

typedef HnswMetaPageData *HnswMetaPage;

typedef struct HnswPageOpaqueData
{
	uint16		flags;
	uint16		page_id;
} HnswPageOpaqueData;

#define HNSW_PAGE_META			1
#define HNSW_PAGE_ELEMENTS		2

#define HnswPageGetOpaque(page) ((HnswPageOpaqueData *) PageGetSpecialPointer(page))
#define HnswPageGetMeta(page)	((HnswMetaPage) PageGetContents(page))

/*
 * Element tuple: the stored vector (hnsw_vector_bytes), then the neighbour
 * slots: 2m at level 0, then m for each level 1..level.  Unused slots hold
 * an invalid TID.
 */
typedef struct HnswElementTupleData
{
	uint8		level;
	uint8		flags;
	ItemPointerData heaptid;
	char		data[FLEXIBLE_ARRAY_MEMBER];
} HnswElementTupleData;

typedef HnswElementTupleData *HnswElementTuple;

#define HNSW_ELEMENT_DELETED	0x01

static inline int
hnsw_level_capacity(int m, int level)
{
	return level == 0 ? 2 * m : m;
}

static inline int
hnsw_total_slots(int m, int level)
{
	return 2 * m + level * m;
}

/* The parameters every phase needs, taken from the meta page. */
typedef struct HnswShape
{
	int			dim;
	int			m;
	int			ef_construction;
	HnswMetric	metric;
	int			max_level;
	HnswStorage storage;
} HnswShape;

/*
 * A compactly stored vector: element i is scale * codes[i] (uint16 halves or
 * int8), and err bounds what the approximation can move a distance
 * (hnsw_order_bound).
 */
typedef struct HnswCompactVector
{
	float		scale;
	float		err;
	char		codes[FLEXIBLE_ARRAY_MEMBER];
} HnswCompactVector;

/* Bytes of a stored vector; a multiple of 4, so the neighbour TIDs stay aligned. */
static inline Size
hnsw_vector_bytes(const HnswShape *sh)
{
	switch (sh->storage)
	{
		case HNSW_STORAGE_HALF:
			return offsetof(HnswCompactVector, codes) + TYPEALIGN(4, sizeof(uint16) * sh->dim);
		case HNSW_STORAGE_INT8:
			return offsetof(HnswCompactVector, codes) + TYPEALIGN(4, sh->dim);
		default:
			return sizeof(float) * sh->dim;
	}
}

static inline Size
hnsw_element_size(const HnswShape *sh, int level)
{
	return offsetof(HnswElementTupleData, data) + hnsw_vector_bytes(sh) +
		sizeof(ItemPointerData) * hnsw_total_slots(sh->m, level);
}

static inline ItemPointer
hnsw_element_neighbors(HnswElementTuple t, const HnswShape *sh, int level)
{
	ItemPointer base = (ItemPointer) (t->data + hnsw_vector_bytes(sh));

	return level == 0 ? base : base + 2 * sh->m + (level - 1) * sh->m;
}

/*
 * The distance the graph is ordered by.  Cosine vectors are stored and
 * queried as unit vectors, so only the dot product is left; L2 keeps the
 * square (same order, no sqrt).
 */
static inline float
hnsw_distance(HnswMetric metric, const float *a, const float *b, int dim)
{
	if (metric == HNSW_METRIC_L2)
		return is_l2_squared(a, b, dim);
	if (metric == HNSW_METRIC_COSINE)
		return 1.0f - is_dot(a, b, dim);
	return -is_dot(a, b, dim);
}

/*
 * The graph distance from a float query (prepared by hnsw_prepare_vector) to
 * an element's stored vector: exact for float storage, approximate for the
 * compact ones, whose scale multiplies the dot product once.
 */
static inline float
hnsw_distance_stored(const HnswShape *sh, const float *q, const char *data)
{
	const HnswCompactVector *cv = (const HnswCompactVector *) data;
	float		dot;

	if (sh->storage == HNSW_STORAGE_FLOAT)
		return hnsw_distance(sh->metric, q, (const float *) data, sh->dim);
	if (sh->metric == HNSW_METRIC_L2)
		return sh->storage == HNSW_STORAGE_HALF ?
			is_l2_squared_f16(q, (const uint16 *) cv->codes, cv->scale, sh->dim) :
			is_l2_squared_i8(q, (const int8 *) cv->codes, cv->scale, sh->dim);
	dot = cv->scale * (sh->storage == HNSW_STORAGE_HALF ?
					   is_dot_f16(q, (const uint16 *) cv->codes, sh->dim) :
					   is_dot_i8(q, (const int8 *) cv->codes, sh->dim));
	return sh->metric == HNSW_METRIC_COSINE ? 1.0f - dot : -dot;
}

/* The stored vector's error bound (0 for float storage: exact). */
static inline float
hnsw_stored_error(const HnswShape *sh, const char *data)
{
	return sh->storage == HNSW_STORAGE_FLOAT ? 0.0f :
		((const HnswCompactVector *) data)->err;
}

/*
 * The neighbour heuristic rejects a candidate when HNSW_ALPHA times its
 * distance to a kept neighbour is below its distance to the base.  Above 1
 * it rejects less and keeps some longer links (the "alpha" of DiskANN's
 * pruning); measured on the 100 000 x 128 bench sets with the fill of
 * hnsw_select_neighbors, lowdim recall@10 at ef 40 was 0.987 at 1.0, 0.993
 * at 1.1, 0.991 at 1.2, 0.990 at 1.3, 0.984 at 1.5; clustered unchanged.
 * Negative inner-product "distances" would turn the factor around, so that
 * metric keeps the plain rule.
 */
#define HNSW_ALPHA 1.1f

/* Whether a candidate at d_base from the base is occluded by a kept neighbour
 * at d_kept from it (see HNSW_ALPHA). */
static inline bool
hnsw_occluded(HnswMetric metric, float d_kept, float d_base)
{
	return (metric == HNSW_METRIC_IP ? d_kept : HNSW_ALPHA * d_kept) < d_base;
}

/* Starts loading `len` bytes into the cache; never faults. */
static inline void
hnsw_prefetch_bytes(const void *p, Size len)
{
	for (Size off = 0; off < len; off += 64)
		__builtin_prefetch((const char *) p + off);
}

/* Room for one element tuple on an empty element page. */
#define HNSW_PAGE_SPACE \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaqueData)) - \
	 sizeof(ItemIdData))

/* A neighbour candidate: its distance to the base element and its vector. */
typedef struct HnswNeighbor
{
	float		dist;
	uint32		id;				/* caller's handle (graph index or slot) */
	const float *vec;
	ItemPointerData tid;
} HnswNeighbor;

/* A binary min-heap of (key, id); a max-heap stores -distance. */
typedef struct HnswHeapItem
{
	float		key;
	uint32		id;
} HnswHeapItem;

typedef struct HnswHeap
{
	HnswHeapItem *items;
	int			n;
	int			cap;
} HnswHeap;

/*
 * Level 0 of a graph as dense ids, for the reachability repair: `cap` slots
 * per list, `count` used.  Elements with live[id] false (empty slots, deleted
 * rows) need no link; changed[id] is set for every list the repair rewrote.
 */
typedef struct HnswAdjacency
{
	int64		n;
	int			cap;
	int32	   *links;
	int32	   *count;
	const bool *live;
	bool	   *changed;
} HnswAdjacency;

/* hnsw_reach.c */
extern int64 hnsw_link_unreachable(HnswAdjacency *g, int32 entry);
extern bool hnsw_reach_mark(HnswAdjacency *g, int32 entry, bool *reached, bool *back);

/* Level 0 of the on-disk graph as an HnswAdjacency, one id per line pointer. */
typedef struct HnswLevel0
{
	Relation	index;
	HnswShape	shape;
	BufferAccessStrategy strategy;
	BlockNumber nblocks;
	int64	   *first_id;		/* per block, nblocks + 1 entries */
	HnswAdjacency g;
	int32		entry;			/* the entry point's id, or -1 */
	double		live;			/* elements not flagged deleted */
} HnswLevel0;

/* hnsw_level0.c */
extern bool hnsw_level0_load(Relation index, BufferAccessStrategy strategy,
							 const HnswMetaPageData *meta, HnswLevel0 *l0);
extern void hnsw_level0_tid(const HnswLevel0 *l0, int32 id, ItemPointer tid);

/* hnsw_bufcache.c */
extern Buffer hnsw_guess_buffer(Relation index, BlockNumber blkno);
extern void hnsw_prefetch_element(Relation index, BlockNumber blkno, OffsetNumber off);
extern Buffer hnsw_pin_buffer(Relation index, BlockNumber blkno);

/* hnsw_relink.c */
extern double hnsw_relink(Relation index, BufferAccessStrategy strategy);
extern void hnsw_warn_unrepaired(Relation index);

/* hnsw_utils.c */
extern void *hnsw_grow(void *p, Size elem, uint64 *cap, uint64 need);
extern void *hnsw_alloc_or_null(Size size);
extern void hnsw_heap_push(HnswHeap *h, float key, uint32 id);
extern HnswHeapItem hnsw_heap_pop(HnswHeap *h);
extern HnswMetric hnsw_index_metric(Relation index);
extern int	hnsw_reloption_m(Relation index);
extern int	hnsw_reloption_ef_construction(Relation index);
extern HnswStorage hnsw_reloption_storage(Relation index);
extern int	hnsw_max_level_for(const HnswShape *shape);
extern void hnsw_check_dim(const HnswShape *shape, int dim);
extern bool hnsw_prepare_vector(HnswMetric metric, const float *in, float *out, int dim);
extern int	hnsw_random_level(int m, int max_level);
extern int	hnsw_select_neighbors(HnswNeighbor *cands, int n, int cap,
								  HnswMetric metric, int dim, int *nkept);
extern void hnsw_sort_neighbors(HnswNeighbor *cands, int n);
extern void hnsw_init_page(Page page, uint16 flags);
extern void hnsw_init_meta(Page page, const HnswShape *shape);
extern void hnsw_read_meta(Relation index, HnswMetaPageData *meta);
extern void hnsw_shape_from_meta(const HnswMetaPageData *meta, HnswShape *shape);
extern bool hnsw_is_element_page(Page page);
extern Buffer hnsw_read_locked(Relation index, BlockNumber blkno,
							   BufferAccessStrategy strategy, int mode);
extern HnswElementTuple hnsw_page_item(Page page, OffsetNumber off, Size *len);
extern bool hnsw_item_is_element(HnswElementTuple t, Size len, const HnswShape *shape);
extern HnswElementTuple hnsw_page_element(Page page, OffsetNumber off, const HnswShape *shape);
extern bool hnsw_read_vector(Relation index, const HnswShape *sh, ItemPointer tid, float *out);

/* hnsw_storage.c */
extern void hnsw_encode_vector(const HnswShape *sh, const float *vec, char *data);
extern void hnsw_decode_vector(const HnswShape *sh, const char *data, float *out);
extern float hnsw_order_bound(const HnswShape *sh, double query_norm, float dist, float err);

/* hnsw_search.c: best-first search over the on-disk graph */
typedef struct HnswSearch HnswSearch;
extern HnswSearch *hnsw_search_create(Relation index, const HnswShape *shape,
									  bool keep_vectors);
extern void hnsw_search_begin(HnswSearch *s, const float *query, bool iterative);
extern bool hnsw_search_from_entry(HnswSearch *s, const HnswMetaPageData *meta,
								   int wide_level, int ef,
								   void (*at_level) (HnswSearch *, int, void *),
								   void *arg);
extern int	hnsw_search_results(HnswSearch *s, HnswNeighbor *out, int max, bool skip_deleted);
extern ItemPointer hnsw_search_heaptid(HnswSearch *s, uint32 id);
extern float hnsw_search_error(HnswSearch *s, uint32 id);
extern bool hnsw_search_next_batch(HnswSearch *s, int ef, int64 max_visits);
extern int64 hnsw_search_visited(HnswSearch *s);

/* hnsw_insert.c */
extern void hnsw_insert_vector(Relation index, const float *vec, int dim,
							   ItemPointer heaptid);
extern bool hnsw_insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
						Relation heap, IndexUniqueCheck checkUnique,
						bool indexUnchanged, struct IndexInfo *indexInfo);

/* hnsw_build.c */
extern IndexBuildResult *hnsw_build(Relation heap, Relation index, struct IndexInfo *indexInfo);
extern void hnsw_buildempty(Relation index);

/* hnsw_scan.c */
extern IndexScanDesc hnsw_beginscan(Relation index, int nkeys, int norderbys);
extern void hnsw_rescan(IndexScanDesc scan, ScanKey keys, int nkeys,
						ScanKey orderbys, int norderbys);
extern bool hnsw_gettuple(IndexScanDesc scan, ScanDirection dir);
extern void hnsw_endscan(IndexScanDesc scan);

/* hnsw_vacuum.c */
extern IndexBulkDeleteResult *hnsw_bulkdelete(IndexVacuumInfo *info,
											  IndexBulkDeleteResult *stats,
											  IndexBulkDeleteCallback callback,
											  void *callback_state);
extern IndexBulkDeleteResult *hnsw_vacuumcleanup(IndexVacuumInfo *info,
												 IndexBulkDeleteResult *stats);

/* hnsw_validate.c */
extern bool hnsw_validate(Oid opclassoid);

#endif
