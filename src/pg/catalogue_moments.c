/*
 * instsim.moment_topk: the k nearest segments to a query vector, at most
 * per_key of them per track, from one index-ordered stream over a segment
 * table (rows: track key, start_s, distance).
 *
 * The stream comes nearest first, so the first segments read of a track are
 * its best ones: a track's later segments are skipped once it has per_key,
 * and reading stops at the k-th kept segment.  A query taken from a track of
 * the catalogue finds that track's own neighbouring segments first (adjacent
 * windows overlap by half), which is why the skipping happens here, in C,
 * rather than in a LIMIT the index could stop at too early.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "catalogue.h"

typedef struct Moment
{
	Datum		key;
	float4		start;
	bool		start_null;
	double		distance;
	int64		seq;
} Moment;

static int
moment_cmp(const void *a, const void *b)
{
	const Moment *x = a,
			   *y = b;

	if (x->distance != y->distance)
		return x->distance < y->distance ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

PG_FUNCTION_INFO_V1(instsim_moment_topk);
Datum
instsim_moment_topk(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *label = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			k = PG_GETARG_INT32(4);
	int			per_key = PG_GETARG_INT32(5);
	Oid			argtypes[2];
	Datum		args[2];
	Oid			key_type;
	MemoryContext cxt;
	CatStream	stream;
	CatKeys    *keys;
	Moment	   *kept;
	int			kept_cap = 64;	/* grown with the rows kept, up to k */
	int			n = 0;
	HeapTuple	row;

	if (k < 1 || per_key < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k and per_track must be at least 1, not %d and %d", k, per_key)));
	InitMaterializedSRF(fcinfo, 0);
	key_type = TupleDescAttr(rsinfo->setDesc, 0)->atttypid;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "instsim moment top-k",
								ALLOCSET_DEFAULT_SIZES);
	keys = cat_keys_create(cxt, key_type);
	kept = MemoryContextAlloc(cxt, sizeof(Moment) * kept_cap);

	/* $1: the query vector; $2: the track keys to leave out */
	argtypes[0] = get_fn_expr_argtype(fcinfo->flinfo, 2);
	args[0] = PG_GETARG_DATUM(2);
	argtypes[1] = get_fn_expr_argtype(fcinfo->flinfo, 3);
	args[1] = PG_GETARG_DATUM(3);

	SPI_connect();
	cat_stream_open(&stream, label, sql, 2, argtypes, args, Min(Max(k * per_key, 32), 1000));
	if (cat_stream_desc(&stream) == NULL || cat_stream_desc(&stream)->natts != 3)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the query ordered by %s must return the track key, start_s and the distance",
						label)));
	cat_stream_check_column(&stream, 1, key_type);
	cat_stream_check_column(&stream, 2, FLOAT4OID);
	cat_stream_check_column(&stream, 3, FLOAT8OID);

	while (n < k && (row = cat_stream_next(&stream)) != NULL)
	{
		TupleDesc	desc = cat_stream_desc(&stream);
		bool		isnull;
		Datum		key = SPI_getbinval(row, desc, 1, &isnull);
		double		distance;
		bool		dnull;
		int		   *count;

		if (isnull)
			continue;
		distance = DatumGetFloat8(SPI_getbinval(row, desc, 3, &dnull));
		/* NULLs and NaN sort last: nothing after them has a distance */
		if (dnull || isnan(distance))
			break;
		count = cat_keys_counter(keys, key, &key);
		if (*count >= per_key)
			continue;
		(*count)++;
		if (n == kept_cap)
		{
			kept_cap = Min(k, kept_cap * 2);
			kept = repalloc(kept, sizeof(Moment) * kept_cap);
		}
		kept[n].key = key;
		kept[n].start = DatumGetFloat4(SPI_getbinval(row, desc, 2, &kept[n].start_null));
		kept[n].distance = distance;
		kept[n].seq = n;
		n++;
	}
	if (n < k && stream.cut)
		cat_stream_notice_cut(&stream, k);
	cat_stream_close(&stream);
	SPI_finish();

	/* across the index's batches the order is only nearly increasing */
	qsort(kept, n, sizeof(Moment), moment_cmp);
	for (int i = 0; i < n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, kept[i].start_null, false};

		values[0] = kept[i].key;
		values[1] = Float4GetDatum(kept[i].start);
		values[2] = Float8GetDatum(kept[i].distance);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
