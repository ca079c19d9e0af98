/*
 * avg(embedding) and sum(embedding).  The track centroid of the paper is
 * l2_normalize(avg(segment_embedding)), so these run over every segment of a
 * catalogue and must be cheap and parallel.
 *
 * The state is a float8[] {count, sum_1 .. sum_dim}: a plain SQL type needs no
 * serialise/deserialise functions for parallel aggregation, and double sums
 * keep the mean of millions of float4 vectors accurate.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/float.h"

#include "embedding.h"

static ArrayType *
new_state(int dim, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	int			n = dim + 1;
	Size		size = ARR_OVERHEAD_NONULLS(1) + sizeof(float8) * n;
	ArrayType  *r = (ArrayType *) palloc0(size);

	SET_VARSIZE(r, size);
	r->ndim = 1;
	r->dataoffset = 0;
	r->elemtype = FLOAT8OID;
	ARR_DIMS(r)[0] = n;
	ARR_LBOUND(r)[0] = 1;
	MemoryContextSwitchTo(old);
	return r;
}

static void
bad_state(const char *detail, double value)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid embedding aggregate state"),
			 errdetail(detail, value),
			 errhint("The state is {count, sum_1 .. sum_n}, as built by embedding_accum.")));
}

/*
 * The state can come from a user: a direct call, or an aggregate of their own
 * with any INITCOND.  Checks its shape and count, in constant time: one
 * dimension, no NULLs, a count that is a non-negative integer, and sums present
 * exactly when the count is not zero.
 */
static float8 *
state_header(ArrayType *state, int *dim)
{
	float8	   *s;

	if (ARR_NDIM(state) != 1 || ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID ||
		ARR_DIMS(state)[0] < 1 || ARR_DIMS(state)[0] > EMBEDDING_MAX_DIM + 1)
		bad_state("It must be a one-dimensional array of 1 to %.0f numbers without NULLs.",
				  EMBEDDING_MAX_DIM + 1);
	*dim = ARR_DIMS(state)[0] - 1;
	s = (float8 *) ARR_DATA_PTR(state);
	if (!(s[0] >= 0.0) || !isfinite(s[0]) || s[0] != floor(s[0]))
		bad_state("The count is %g; it must be a non-negative integer.", s[0]);
	if (s[0] == 0.0 && *dim != 0)
		bad_state("A count of %g cannot have sums.", s[0]);
	if (s[0] != 0.0 && *dim == 0)
		bad_state("A count of %g needs its sums.", s[0]);
	return s;
}

/* NaN or infinity in a sum can only come from a state made by hand. */
static void
check_sums(const float8 *s, int dim)
{
	for (int i = 1; i <= dim; i++)
		if (!isfinite(s[i]))
			bad_state("It holds a NaN or infinite sum (count %g).", s[0]);
}

static float8 *
state_values(ArrayType *state, int *dim)
{
	float8	   *s = state_header(state, dim);

	check_sums(s, *dim);
	return s;
}

static void
state_dim_mismatch(int have, int got)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("different embedding dimensions %d and %d", have, got),
			 errhint("Aggregate embeddings from one model only.")));
}

/*
 * Inside an aggregate the state belongs to us and is updated in place;
 * otherwise (a direct call) a fresh copy is returned.
 */
PG_FUNCTION_INFO_V1(embedding_accum);
Datum
embedding_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	Embedding  *e = PG_GETARG_EMBEDDING_P(1);
	MemoryContext aggcxt;
	bool		in_agg = AggCheckCallContext(fcinfo, &aggcxt) != 0;
	int			dim;

	/*
	 * Inside an aggregate only the O(1) part is checked on each row: adding
	 * float4 values to finite sums keeps them finite (2^53 rows of FLT_MAX are
	 * ~3e54), and a non-finite sum from a hand-made INITCOND is carried to the
	 * combine and final functions, which check every sum.
	 */
	float8	   *s = in_agg ? state_header(state, &dim) : state_values(state, &dim);

	if (dim == 0 || !in_agg)
	{
		ArrayType  *fresh = new_state(e->dim, in_agg ? aggcxt : CurrentMemoryContext);
		int			olddim = dim;
		float8	   *old = s;

		s = (float8 *) ARR_DATA_PTR(fresh);
		if (olddim != 0)
		{
			if (olddim != e->dim)
				state_dim_mismatch(olddim, e->dim);
			memcpy(s, old, sizeof(float8) * (olddim + 1));
		}
		else
			s[0] = old[0];
		state = fresh;
		dim = e->dim;
	}
	else if (dim != e->dim)
		state_dim_mismatch(dim, e->dim);

	s[0] += 1.0;
	for (int i = 0; i < dim; i++)
		s[i + 1] += e->x[i];
	PG_RETURN_ARRAYTYPE_P(state);
}

PG_FUNCTION_INFO_V1(embedding_combine);
Datum
embedding_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *b = PG_GETARG_ARRAYTYPE_P(1);
	MemoryContext aggcxt;
	int			da,
				db;
	float8	   *sa = state_values(a, &da);
	float8	   *sb = state_values(b, &db);
	ArrayType  *r;
	float8	   *sr;

	if (db == 0)
		PG_RETURN_ARRAYTYPE_P(a);
	if (da == 0)
		PG_RETURN_ARRAYTYPE_P(b);
	if (da != db)
		state_dim_mismatch(da, db);
	r = new_state(da, AggCheckCallContext(fcinfo, &aggcxt) ? aggcxt : CurrentMemoryContext);
	sr = (float8 *) ARR_DATA_PTR(r);
	for (int i = 0; i <= da; i++)
	{
		sr[i] = sa[i] + sb[i];
		/* only hand-made states get near double's range */
		if (unlikely(isinf(sr[i])))
			float_overflow_error();
	}
	PG_RETURN_ARRAYTYPE_P(r);
}

/* The mean (or the sum) of the aggregated vectors, as float4; NULL over no rows. */
static Datum
finish(FunctionCallInfo fcinfo, bool mean)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	int			dim;
	float8	   *s = state_values(state, &dim);
	double		divide_by;
	Embedding  *r;

	if (dim == 0 || s[0] == 0.0)
		PG_RETURN_NULL();
	divide_by = mean ? s[0] : 1.0;
	r = new_embedding(dim);
	for (int i = 0; i < dim; i++)
		r->x[i] = element_from_double(s[i + 1] / divide_by);
	PG_RETURN_EMBEDDING_P(r);
}

PG_FUNCTION_INFO_V1(embedding_avg);
Datum
embedding_avg(PG_FUNCTION_ARGS)
{
	return finish(fcinfo, true);
}

PG_FUNCTION_INFO_V1(embedding_sum);
Datum
embedding_sum(PG_FUNCTION_ARGS)
{
	return finish(fcinfo, false);
}
