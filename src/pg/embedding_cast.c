/*
 * Casts between `embedding` and SQL arrays.  One entry point takes real[],
 * double precision[], integer[] and numeric[] alike, so every array type goes
 * through the same checks (one dimension, no NULLs, finite values, typmod).
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "embedding.h"

static float
element_to_float(Datum d, Oid type)
{
	double		v;

	switch (type)
	{
		case FLOAT4OID:
			return DatumGetFloat4(d);
		case FLOAT8OID:
			v = DatumGetFloat8(d);
			break;
		case INT4OID:
			return (float) DatumGetInt32(d);
		case NUMERICOID:
			v = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
			/* a finite numeric past double's range comes back infinite */
			if (isinf(v) && !numeric_is_inf(DatumGetNumeric(d)))
				v = copysign(DBL_MAX, v);
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("cannot cast %s to embedding", format_type_be(type)),
					 errhint("Use real[], double precision[], integer[] or numeric[].")));
	}
	return element_from_double(v);
}

PG_FUNCTION_INFO_V1(array_to_embedding);
Datum
array_to_embedding(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(arr);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	Embedding  *r;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("array must be one-dimensional to cast to embedding")));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
	check_embedding_dim(n);
	check_typmod_dim(n, typmod);

	r = new_embedding(n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array must not contain NULLs to cast to embedding")));
		r->x[i] = element_to_float(elems[i], elemtype);
		check_element(r->x[i]);
	}
	PG_RETURN_EMBEDDING_P(r);
}

PG_FUNCTION_INFO_V1(embedding_to_float4_array);
Datum
embedding_to_float4_array(PG_FUNCTION_ARGS)
{
	Embedding  *e = PG_GETARG_EMBEDDING_P(0);
	Datum	   *d = palloc(sizeof(Datum) * e->dim);

	for (int i = 0; i < e->dim; i++)
		d[i] = Float4GetDatum(e->x[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, e->dim, FLOAT4OID, sizeof(float4), true,
										  TYPALIGN_INT));
}
