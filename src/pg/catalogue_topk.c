/*
 * instsim.threshold_topk: the k rows whose combined distance to several query
 * vectors is smallest, by Fagin's threshold algorithm (TA) over one
 * index-ordered stream per query.
 *
 * Every stream returns (key, d_1 .. d_m), a row's distances to the m query
 * vectors, and is ordered by one of them.  Each row read gives its exact
 * combined distance at once (the other distances come with the row, so there
 * is no second lookup), and the last distance read on each stream is a lower
 * bound for every row that stream has not returned yet.  The combination is
 * monotone (a weighted sum with weights >= 0, or the minimum), so it bounds
 * every unseen row from below; once the k-th best combined distance is at or
 * under that bound, no unseen row can enter the top k, and reading stops.
 * The answer is then exact relative to the streams, so its recall against
 * an exact scan is the index's own.  A stream that runs out proves the rest:
 * every row it never returned lacks its column (NULL) or fails the filter,
 * and so has no combined distance.
 *
 * Contract with the SQL callers (src/sql/81_weighted.sql, 82_more_like.sql):
 * with 'sum', every stream is ordered by a distance whose weight is > 0; with
 * 'min', all distances are to one column, so they are NULL together.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "array_args.h"
#include "catalogue.h"

typedef enum
{
	COMBINE_SUM,
	COMBINE_MIN
} Combine;

/* The best k rows so far: a max-heap of slots on their combined distance. */
typedef struct TopK
{
	int			k;
	int			m;
	int			n;				/* slots in use */
	int			cap;			/* slots allocated: grown up to k as rows come */
	int		   *heap;			/* slot numbers, worst at heap[0] */
	double	   *comb;			/* per slot */
	int64	   *seq;			/* per slot: arrival order, to break ties */
	Datum	   *key;			/* per slot, the key set's copy */
	double	   *dist;			/* per slot, m distances */
	bool	   *dnull;
} TopK;

static bool
slot_worse(const TopK *t, int a, int b)
{
	return t->comb[a] > t->comb[b] || (t->comb[a] == t->comb[b] && t->seq[a] > t->seq[b]);
}

static void
heap_sift_down(TopK *t, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					worst = i,
					tmp;

		if (l < t->n && slot_worse(t, t->heap[l], t->heap[worst]))
			worst = l;
		if (r < t->n && slot_worse(t, t->heap[r], t->heap[worst]))
			worst = r;
		if (worst == i)
			return;
		tmp = t->heap[i];
		t->heap[i] = t->heap[worst];
		t->heap[worst] = tmp;
		i = worst;
	}
}

static void
heap_sift_up(TopK *t, int i)
{
	while (i > 0)
	{
		int			parent = (i - 1) / 2,
					tmp;

		if (!slot_worse(t, t->heap[i], t->heap[parent]))
			return;
		tmp = t->heap[i];
		t->heap[i] = t->heap[parent];
		t->heap[parent] = tmp;
		i = parent;
	}
}

static bool
topk_full(const TopK *t)
{
	return t->n == t->k;
}

static double
topk_worst(const TopK *t)
{
	return t->comb[t->heap[0]];
}

/*
 * Room for one more slot.  The arrays grow with the rows actually kept, so a
 * large k costs memory only when the streams have that many rows.
 */
static void
topk_grow(TopK *t)
{
	if (t->n < t->cap)
		return;
	t->cap = Min(t->k, Max(t->cap * 2, 64));
	t->heap = repalloc(t->heap, sizeof(int) * t->cap);
	t->comb = repalloc(t->comb, sizeof(double) * t->cap);
	t->seq = repalloc(t->seq, sizeof(int64) * t->cap);
	t->key = repalloc(t->key, sizeof(Datum) * t->cap);
	t->dist = repalloc(t->dist, sizeof(double) * (size_t) t->cap * t->m);
	t->dnull = repalloc(t->dnull, sizeof(bool) * (size_t) t->cap * t->m);
}

/* Keeps the row if it is among the best k so far. */
static void
topk_offer(TopK *t, double comb, int64 seq, Datum key, const double *d, const bool *dnull)
{
	int			slot;
	bool		replaced = topk_full(t);

	if (replaced)
	{
		if (comb >= topk_worst(t))
			return;
		slot = t->heap[0];
	}
	else
	{
		topk_grow(t);
		slot = t->n;
		t->heap[t->n++] = slot;
	}
	t->comb[slot] = comb;
	t->seq[slot] = seq;
	t->key[slot] = key;
	memcpy(t->dist + (size_t) slot * t->m, d, sizeof(double) * t->m);
	memcpy(t->dnull + (size_t) slot * t->m, dnull, sizeof(bool) * t->m);
	if (replaced)
		heap_sift_down(t, 0);
	else
		heap_sift_up(t, t->n - 1);
}

/* The row's combined distance; false when it has none (a NULL or NaN that counts). */
static bool
combine(Combine how, const double *w, int m, const double *d, const bool *dnull, double *out)
{
	double		acc = how == COMBINE_SUM ? 0.0 : INFINITY;
	bool		any = false;

	for (int j = 0; j < m; j++)
	{
		bool		missing = dnull[j] || isnan(d[j]);

		if (how == COMBINE_SUM)
		{
			if (w[j] == 0.0)
				continue;
			if (missing)
				return false;
			acc += w[j] * d[j];
			any = true;
		}
		else if (!missing)
		{
			acc = Min(acc, d[j]);
			any = true;
		}
	}
	*out = acc;
	return any;
}

/*
 * The least combined distance any unread row can have, from low[j], the last
 * distance read on the stream ordered by d_j (-inf while none is known).
 */
static double
unseen_bound(Combine how, const double *w, int m, const double *low)
{
	double		acc = how == COMBINE_SUM ? 0.0 : INFINITY;

	for (int j = 0; j < m; j++)
	{
		if (how == COMBINE_MIN)
			acc = Min(acc, low[j]);
		else if (w[j] > 0.0)
		{
			if (isinf(low[j]))
				return -INFINITY;
			acc += w[j] * low[j];
		}
	}
	return acc;
}

static int
slot_cmp(const void *a, const void *b, void *arg)
{
	const TopK *t = arg;
	int			x = *(const int *) a,
				y = *(const int *) b;

	return slot_worse(t, x, y) ? 1 : slot_worse(t, y, x) ? -1 : 0;
}

static void
topk_emit(TopK *t, ReturnSetInfo *rsinfo)
{
	int		   *order = palloc(sizeof(int) * Max(t->n, 1));

	memcpy(order, t->heap, sizeof(int) * t->n);
	qsort_arg(order, t->n, sizeof(int), slot_cmp, t);
	for (int i = 0; i < t->n; i++)
	{
		int			s = order[i];
		Datum	   *elems = palloc(sizeof(Datum) * t->m);
		int			dims[1] = {t->m};
		int			lbs[1] = {1};
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		for (int j = 0; j < t->m; j++)
			elems[j] = Float8GetDatum(t->dist[(size_t) s * t->m + j]);
		values[0] = t->key[s];
		values[1] = Float8GetDatum(t->comb[s]);
		values[2] = PointerGetDatum(construct_md_array(elems, t->dnull + (size_t) s * t->m, 1,
													   dims, lbs, FLOAT8OID, sizeof(float8),
													   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

PG_FUNCTION_INFO_V1(instsim_threshold_topk);
Datum
instsim_threshold_topk(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n,
				n_labels,
				n_orders,
				m,
				n_weights;
	Datum	   *sqls = array_arg_elements(PG_GETARG_ARRAYTYPE_P(0), "streams", &n);
	Datum	   *labels = array_arg_elements(PG_GETARG_ARRAYTYPE_P(1), "labels", &n_labels);
	Datum	   *orders = array_arg_elements(PG_GETARG_ARRAYTYPE_P(2), "order_columns", &n_orders);
	ArrayType  *vec_array = PG_GETARG_ARRAYTYPE_P(3);
	Datum	   *vectors = array_arg_elements(vec_array, "vectors", &m);
	Datum		exclude = PG_GETARG_DATUM(4);
	Datum	   *wd = array_arg_elements(PG_GETARG_ARRAYTYPE_P(5), "weights", &n_weights);
	char	   *how_name = text_to_cstring(PG_GETARG_TEXT_PP(6));
	int			k = PG_GETARG_INT32(7);
	Combine		how;
	double	   *w,
			   *low,
			   *d;
	bool	   *dnull,
			   *done;
	int		   *order_col;
	Oid		   *argtypes;
	Datum	   *args;
	Oid			key_type;
	MemoryContext cxt;
	CatStream  *streams;
	CatKeys    *keys;
	TopK		top;
	int64		seq = 0;
	int			cut_stream = -1;
	bool		certain = false;

	if (strcmp(how_name, "sum") == 0)
		how = COMBINE_SUM;
	else if (strcmp(how_name, "min") == 0)
		how = COMBINE_MIN;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown combination \"%s\"", how_name),
				 errhint("Use 'sum' or 'min'.")));
	if (n < 1 || n_labels != n || n_orders != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("streams, labels and order_columns must have the same length, at least 1")));
	if (m < 1 || n_weights != m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("vectors and weights must have the same length, at least 1")));
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1, not %d", k)));
	w = palloc(sizeof(double) * m);
	for (int j = 0; j < m; j++)
	{
		w[j] = DatumGetFloat8(wd[j]);
		if (!(w[j] >= 0.0) || isinf(w[j]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("weights must be finite and not negative (element %d is %g)", j + 1, w[j])));
	}
	order_col = palloc(sizeof(int) * n);
	for (int i = 0; i < n; i++)
	{
		order_col[i] = DatumGetInt32(orders[i]) - 1;
		if (order_col[i] < 0 || order_col[i] >= m ||
			(how == COMBINE_SUM && w[order_col[i]] == 0.0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("order_columns element %d (%d) must name a distance 1..%d%s",
							i + 1, order_col[i] + 1, m,
							how == COMBINE_SUM ? " whose weight is above 0" : "")));
	}

	InitMaterializedSRF(fcinfo, 0);
	key_type = TupleDescAttr(rsinfo->setDesc, 0)->atttypid;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "instsim threshold top-k",
								ALLOCSET_DEFAULT_SIZES);
	keys = cat_keys_create(cxt, key_type);
	top.k = k;
	top.m = m;
	top.n = 0;
	top.cap = 1;
	top.heap = MemoryContextAlloc(cxt, sizeof(int));
	top.comb = MemoryContextAlloc(cxt, sizeof(double));
	top.seq = MemoryContextAlloc(cxt, sizeof(int64));
	top.key = MemoryContextAlloc(cxt, sizeof(Datum));
	top.dist = MemoryContextAlloc(cxt, sizeof(double) * m);
	top.dnull = MemoryContextAlloc(cxt, sizeof(bool) * m);
	low = MemoryContextAlloc(cxt, sizeof(double) * m);
	d = MemoryContextAlloc(cxt, sizeof(double) * m);
	dnull = MemoryContextAlloc(cxt, sizeof(bool) * m);
	done = MemoryContextAllocZero(cxt, sizeof(bool) * n);
	for (int j = 0; j < m; j++)
		low[j] = -INFINITY;

	/* $1..$m: the vectors; $m+1: the keys to leave out */
	argtypes = palloc(sizeof(Oid) * (m + 1));
	args = palloc(sizeof(Datum) * (m + 1));
	for (int j = 0; j < m; j++)
	{
		argtypes[j] = ARR_ELEMTYPE(vec_array);
		args[j] = vectors[j];
	}
	argtypes[m] = get_fn_expr_argtype(fcinfo->flinfo, 4);
	args[m] = exclude;

	SPI_connect();
	streams = MemoryContextAlloc(cxt, sizeof(CatStream) * n);
	for (int i = 0; i < n; i++)
	{
		cat_stream_open(&streams[i], MemoryContextStrdup(cxt, TextDatumGetCString(labels[i])),
						TextDatumGetCString(sqls[i]), m + 1, argtypes, args,
						Min(Max(k, 8), 64));
		if (cat_stream_desc(&streams[i]) == NULL || cat_stream_desc(&streams[i])->natts != m + 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the query ordered by %s must return the key and %d distances",
							streams[i].label, m)));
		cat_stream_check_column(&streams[i], 1, key_type);
		for (int j = 0; j < m; j++)
			cat_stream_check_column(&streams[i], j + 2, FLOAT8OID);
	}

	/* round robin, a row at a time; each fetch brings a batch */
	while (!certain)
	{
		bool		progress = false;

		for (int i = 0; i < n && !certain; i++)
		{
			HeapTuple	row;
			TupleDesc	desc;
			bool		key_null;
			Datum		key;
			int		   *count;
			double		comb;
			int			oc = order_col[i];

			if (done[i])
				continue;
			row = cat_stream_next(&streams[i]);
			if (row == NULL)
			{
				done[i] = true;
				if (streams[i].cut)
					cut_stream = i;
				else
					certain = true;
				continue;
			}
			progress = true;
			desc = cat_stream_desc(&streams[i]);
			for (int j = 0; j < m; j++)
				d[j] = DatumGetFloat8(SPI_getbinval(row, desc, j + 2, &dnull[j]));
			/* NULLs and NaN sort last: nothing after them has a distance */
			if (dnull[oc] || isnan(d[oc]))
			{
				done[i] = true;
				certain = true;
				continue;
			}
			low[oc] = d[oc];
			key = SPI_getbinval(row, desc, 1, &key_null);
			if (!key_null)
			{
				count = cat_keys_counter(keys, key, &key);
				if ((*count)++ == 0 && combine(how, w, m, d, dnull, &comb))
					topk_offer(&top, comb, seq++, key, d, dnull);
			}
			if (topk_full(&top) && topk_worst(&top) <= unseen_bound(how, w, m, low))
				certain = true;
		}
		if (!progress)
			break;
	}
	if (!certain && cut_stream >= 0)
		cat_stream_notice_cut(&streams[cut_stream], k);
	for (int i = 0; i < n; i++)
	{
		ereport(DEBUG1,
				(errmsg_internal("instsim: threshold top-%d: %lld rows read ordered by %s",
								 k, (long long) streams[i].rows, streams[i].label)));
		cat_stream_close(&streams[i]);
	}
	SPI_finish();

	topk_emit(&top, rsinfo);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
