/*
 * Index scan: ORDER BY embedding <op> query LIMIT k.
 *
 * The first amgettuple runs the whole graph search (ef = instsim.ef_search)
 * and then hands out the results nearest first.  With
 * instsim.iterative_scan = on, a scan whose rows are being filtered out
 * asks for more: the search resumes from everything it has seen but not yet
 * returned, batch after batch, until the executor stops asking (LIMIT met)
 * or instsim.max_scan_tuples elements have been visited.
 *
 * An index with compact storage ranks by approximate distances: each row goes
 * out with a lower bound of its exact distance (hnsw_order_bound), in
 * increasing order of those bounds within a batch, and the executor
 * recomputes the exact distance from the heap row and reorders.
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "embedding.h"
#include "hnsw.h"

typedef struct HnswScanOpaqueData
{
	MemoryContext ctx;
	HnswSearch *search;
	HnswShape	shape;
	float	   *query;
	double		query_norm;		/* |query|, for inner-product bounds */
	bool		started;
	bool		iterative;
	int			ef;
	HnswNeighbor *results;
	int			results_cap;
	int			nresults;
	int			pos;
} HnswScanOpaqueData;

typedef HnswScanOpaqueData *HnswScanOpaque;

uint64		instsim_hnsw_scans_cut = 0;

IndexScanDesc
hnsw_beginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	HnswScanOpaque so = palloc0(sizeof(HnswScanOpaqueData));

	so->ctx = AllocSetContextCreate(CurrentMemoryContext, "instsim_hnsw scan",
									ALLOCSET_DEFAULT_SIZES);
	scan->opaque = so;
	if (norderbys > 0)
	{
		scan->xs_orderbyvals = palloc0(sizeof(Datum) * norderbys);
		scan->xs_orderbynulls = palloc0(sizeof(bool) * norderbys);
	}
	return scan;
}

void
hnsw_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys,
			int norderbys)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
	so->started = false;
	so->nresults = 0;
	so->pos = 0;
}

/*
 * The search's current results, to hand out in order; for compact storage
 * with their distances replaced by the bounds the executor gets, in their
 * order (a bound may not sort like its approximate distance: each element
 * has its own error bound).
 */
static void
take_results(HnswScanOpaque so)
{
	so->nresults = hnsw_search_results(so->search, so->results, so->ef, true);
	so->pos = 0;
	if (so->shape.storage == HNSW_STORAGE_FLOAT)
		return;
	for (int i = 0; i < so->nresults; i++)
		so->results[i].dist = hnsw_order_bound(&so->shape, so->query_norm, so->results[i].dist,
											   hnsw_search_error(so->search, so->results[i].id));
	hnsw_sort_neighbors(so->results, so->nresults);
}

/* Runs the initial search; false when there is nothing to return. */
static bool
start_scan(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	HnswMetaPageData meta;
	HnswShape	shape;
	Embedding  *q;
	bool		ok;

	if (scan->numberOfOrderBys == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("an instsim_hnsw index can only be scanned with ORDER BY distance"),
				 errhint("Write ORDER BY column <=> value LIMIT n (or <->, <#>).")));
	hnsw_read_meta(scan->indexRelation, &meta);
	if (meta.dim == 0 || !BlockNumberIsValid(meta.entry_blkno))
		return false;
	/* ORDER BY col <=> NULL: every distance is NULL; the index has no order to give. */
	if (scan->orderByData[0].sk_flags & SK_ISNULL)
		return false;
	q = DatumGetEmbedding(scan->orderByData[0].sk_argument);
	hnsw_shape_from_meta(&meta, &shape);
	hnsw_check_dim(&shape, q->dim);

	if (so->search == NULL || memcmp(&shape, &so->shape, sizeof(HnswShape)) != 0)
	{
		so->shape = shape;
		so->search = hnsw_search_create(scan->indexRelation, &shape, false);
		so->query = palloc(sizeof(float) * shape.dim);
	}
	/* A zero query has no direction under cosine: all its distances are NaN. */
	ok = hnsw_prepare_vector(shape.metric, q->x, so->query, shape.dim);
	if ((Pointer) q != DatumGetPointer(scan->orderByData[0].sk_argument))
		pfree(q);
	if (!ok)
		return false;
	so->query_norm = sqrt(is_norm_squared_double(so->query, shape.dim));

	so->ef = instsim_hnsw_ef_search;
	so->iterative = instsim_hnsw_iterative_scan;
	if (so->results_cap < so->ef)
	{
		if (so->results)
			pfree(so->results);
		so->results = palloc(sizeof(HnswNeighbor) * so->ef);
		so->results_cap = so->ef;
	}
	hnsw_search_begin(so->search, so->query, so->iterative);
	if (!hnsw_search_from_entry(so->search, &meta, 0, so->ef, NULL, NULL))
		return false;
	take_results(so);
	return true;
}

bool
hnsw_gettuple(IndexScanDesc scan, ScanDirection dir)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	MemoryContext old = MemoryContextSwitchTo(so->ctx);
	bool		found = false;

	if (!so->started)
	{
		so->started = true;
		if (!start_scan(scan))
		{
			MemoryContextSwitchTo(old);
			return false;
		}
	}
	for (;;)
	{
		if (so->pos < so->nresults)
		{
			HnswNeighbor *r = &so->results[so->pos++];

			scan->xs_heaptid = *hnsw_search_heaptid(so->search, r->id);
			scan->xs_recheck = false;
			scan->xs_recheckorderby = so->shape.storage != HNSW_STORAGE_FLOAT;
			if (scan->xs_recheckorderby)
			{
				scan->xs_orderbyvals[0] = Float8GetDatum(r->dist);
				scan->xs_orderbynulls[0] = false;
			}
			found = true;
			break;
		}
		if (!so->iterative)
			break;
		if (!hnsw_search_next_batch(so->search, so->ef, instsim_hnsw_max_scan_tuples))
		{
			if (hnsw_search_visited(so->search) >= instsim_hnsw_max_scan_tuples)
				instsim_hnsw_scans_cut++;
			so->iterative = false;	/* counted once; the scan is over */
			break;
		}
		take_results(so);
	}
	MemoryContextSwitchTo(old);
	return found;
}

void
hnsw_endscan(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	MemoryContextDelete(so->ctx);
	pfree(so);
	scan->opaque = NULL;
}
