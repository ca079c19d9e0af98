/*
 * Distances, element-wise arithmetic, norms and btree ordering of `embedding`.
 * The distance loops themselves live in src/core/distance.c, shared with the
 * index and the CLI tools.
 */
#include "postgres.h"

#include <math.h>

#include "utils/float.h"

#include "distance.h"
#include "embedding.h"

typedef double (*pair_fn) (const float *a, const float *b, size_t n);

/*
 * The _checked sums: right and finite for every pair of finite embeddings,
 * at the cost of a double pass only when the float kernel under- or overflows.
 */
static double
l2(const float *a, const float *b, size_t n)
{
	return sqrt(is_l2_squared_checked(a, b, n));
}

static double
negative_dot(const float *a, const float *b, size_t n)
{
	return -is_dot_checked(a, b, n);
}

/* Every binary distance goes through the same dimension check. */
static Datum
pair_distance(FunctionCallInfo fcinfo, pair_fn fn)
{
	Embedding  *a = PG_GETARG_EMBEDDING_P(0);
	Embedding  *b = PG_GETARG_EMBEDDING_P(1);

	check_same_dims(a, b);
	PG_RETURN_FLOAT8(fn(a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(embedding_l2_distance);
Datum
embedding_l2_distance(PG_FUNCTION_ARGS)
{
	return pair_distance(fcinfo, l2);
}

PG_FUNCTION_INFO_V1(embedding_l2_squared_distance);
Datum
embedding_l2_squared_distance(PG_FUNCTION_ARGS)
{
	return pair_distance(fcinfo, is_l2_squared_checked);
}

PG_FUNCTION_INFO_V1(embedding_inner_product);
Datum
embedding_inner_product(PG_FUNCTION_ARGS)
{
	return pair_distance(fcinfo, is_dot_checked);
}

PG_FUNCTION_INFO_V1(embedding_negative_inner_product);
Datum
embedding_negative_inner_product(PG_FUNCTION_ARGS)
{
	return pair_distance(fcinfo, negative_dot);
}

PG_FUNCTION_INFO_V1(embedding_cosine_distance);
Datum
embedding_cosine_distance(PG_FUNCTION_ARGS)
{
	return pair_distance(fcinfo, is_cosine_distance);
}

PG_FUNCTION_INFO_V1(embedding_norm);
Datum
embedding_norm(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING_P(0);

	PG_RETURN_FLOAT8(sqrt(is_norm_squared_checked(a->x, a->dim)));
}

PG_FUNCTION_INFO_V1(embedding_dims);
Datum
embedding_dims(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING_P(0);

	PG_RETURN_INT32(a->dim);
}

/*
 * A zero vector has no direction; it is returned unchanged rather than NaN.
 * The norm is summed in double, which neither under- nor overflows on float4
 * input and, unlike the float kernel, stays exact to float rounding at 16000
 * dimensions; so any finite non-zero input, subnormal to FLT_MAX, gives a unit
 * vector to within the rounding of its elements to float4 (6e-8).
 */
PG_FUNCTION_INFO_V1(embedding_l2_normalize);
Datum
embedding_l2_normalize(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING_P(0);
	Embedding  *r = new_embedding(a->dim);
	double		norm = sqrt(is_norm_squared_double(a->x, a->dim));

	for (int i = 0; i < a->dim; i++)
		r->x[i] = norm > 0.0 ? (float) (a->x[i] / norm) : 0.0f;
	PG_RETURN_EMBEDDING_P(r);
}

/* 1-based start like substring(); the range is clipped to the vector. */
PG_FUNCTION_INFO_V1(embedding_subvector);
Datum
embedding_subvector(PG_FUNCTION_ARGS)
{
	Embedding  *a = PG_GETARG_EMBEDDING_P(0);
	int64		start = PG_GETARG_INT32(1);
	int64		count = PG_GETARG_INT32(2);
	int64		end = start + count;
	Embedding  *r;

	if (count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("subvector count must be at least 1, not %lld", (long long) count)));
	if (start < 1)
		start = 1;
	if (end > (int64) a->dim + 1)
		end = (int64) a->dim + 1;
	if (end <= start)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("subvector is empty: start %d, count %d on %d dimensions",
						PG_GETARG_INT32(1), PG_GETARG_INT32(2), a->dim)));
	r = new_embedding((int) (end - start));
	memcpy(r->x, a->x + (start - 1), sizeof(float) * r->dim);
	PG_RETURN_EMBEDDING_P(r);
}

typedef float (*elementwise_fn) (float, float);

static float
op_add(float x, float y)
{
	return x + y;
}

static float
op_sub(float x, float y)
{
	return x - y;
}

static float
op_mul(float x, float y)
{
	return x * y;
}

/*
 * Applies op to each pair; a result that overflows to infinity is an error,
 * since the type cannot store it.  Underflow to zero is allowed (float4 too).
 */
static Datum
elementwise(FunctionCallInfo fcinfo, elementwise_fn op)
{
	Embedding  *a = PG_GETARG_EMBEDDING_P(0);
	Embedding  *b = PG_GETARG_EMBEDDING_P(1);
	Embedding  *r;

	check_same_dims(a, b);
	r = new_embedding(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		r->x[i] = op(a->x[i], b->x[i]);
		if (unlikely(isinf(r->x[i])))
			float_overflow_error();
	}
	PG_RETURN_EMBEDDING_P(r);
}

PG_FUNCTION_INFO_V1(embedding_add);
Datum
embedding_add(PG_FUNCTION_ARGS)
{
	return elementwise(fcinfo, op_add);
}

PG_FUNCTION_INFO_V1(embedding_sub);
Datum
embedding_sub(PG_FUNCTION_ARGS)
{
	return elementwise(fcinfo, op_sub);
}

PG_FUNCTION_INFO_V1(embedding_mul);
Datum
embedding_mul(PG_FUNCTION_ARGS)
{
	return elementwise(fcinfo, op_mul);
}

/*
 * Total order for btree: element by element, then the shorter vector first.
 * Vectors of different dimensions are comparable here (unlike distances) so
 * that DISTINCT and ORDER BY work on mixed columns.
 */
static int
embedding_compare(const Embedding *a, const Embedding *b)
{
	int			n = Min(a->dim, b->dim);

	for (int i = 0; i < n; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}
	return (a->dim > b->dim) - (a->dim < b->dim);
}

static int
compare_args(FunctionCallInfo fcinfo)
{
	Embedding  *a = PG_GETARG_EMBEDDING_P(0);
	Embedding  *b = PG_GETARG_EMBEDDING_P(1);

	return embedding_compare(a, b);
}

PG_FUNCTION_INFO_V1(embedding_cmp);
Datum
embedding_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(compare_args(fcinfo));
}

PG_FUNCTION_INFO_V1(embedding_lt);
Datum
embedding_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) < 0);
}

PG_FUNCTION_INFO_V1(embedding_le);
Datum
embedding_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) <= 0);
}

PG_FUNCTION_INFO_V1(embedding_eq);
Datum
embedding_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) == 0);
}

PG_FUNCTION_INFO_V1(embedding_ne);
Datum
embedding_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) != 0);
}

PG_FUNCTION_INFO_V1(embedding_ge);
Datum
embedding_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) >= 0);
}

PG_FUNCTION_INFO_V1(embedding_gt);
Datum
embedding_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) > 0);
}
