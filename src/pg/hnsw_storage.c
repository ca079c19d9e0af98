/*
 * How an instsim_hnsw element stores its vector (reloption `storage`), and
 * what a compact one lets a scan promise the executor.
 *
 *   float  the vector as it is: exact distances.
 *   half   IEEE binary16 codes times a power-of-two scale per vector, chosen
 *          so that the largest element lands in [2^14, 2^15): no code
 *          overflows, and for any magnitude the codes keep half's 11
 *          significant bits (relative error <= 2^-11 per element).
 *   int8   symmetric 8-bit codes, -127..127, times a per-vector scale
 *          max|x_i| / 127: the error of each element is at most half a step.
 *          Per vector rather than per index, so no training pass is needed,
 *          every row inserted later is coded as well as the first ones, and
 *          L2 / inner-product indexes of any magnitude work; for cosine the
 *          vectors are unit vectors before coding.
 *
 * A compact index ranks the graph by approximate distances and hands the
 * executor, for each row, a value that is never above the row's exact
 * distance (the ORDER BY operator on the heap vector); the executor then
 * recomputes the exact distance and reorders (IndexNextWithReorder), which
 * errors out ("index returned tuples in wrong order") if a value were above
 * it.  The bound, per element: err >= |x - x~| (1 + g) + 2 g |x|, where x is
 * the vector the graph sees (unit for cosine), x~ its decoded form, and g =
 * (dim + 16) * 2^-23 covers the rounding of both the float kernels here and
 * those of the operator, whose sums run over at most dim + 1 terms in a row
 * (g is twice the classical (k + 1) * 2^-24 bound).  Then, for a query q:
 *   cosine  |exact - approx| <= err + 3 g             (q, x unit vectors)
 *   ip      |exact - approx| <= |q| err
 *   l2      exact >= (sqrt(approx^2) (1 - g) - err) (1 - g)
 * by Cauchy-Schwarz and the triangle inequality (details at each case).
 */
#include "postgres.h"

#include <math.h>

#include "hnsw.h"

/* twice the unit roundoff times the longest chain of float operations */
static double
rounding_bound(int dim)
{
	return (dim + 16) * ldexp(1.0, -23);
}

/* The float nearest to x from above / below (x finite or not). */
static float
float_at_least(double x)
{
	float		f = (float) x;

	return (double) f < x ? nextafterf(f, INFINITY) : f;
}

static float
float_at_most(double x)
{
	float		f = (float) x;

	return (double) f > x ? nextafterf(f, -INFINITY) : f;
}

/* The i-th code as a number: the element is scale times it. */
static inline float
code_at(HnswStorage storage, const HnswCompactVector *cv, int i)
{
	return storage == HNSW_STORAGE_HALF ?
		is_f16_to_float(((const uint16 *) cv->codes)[i]) : ((const int8 *) cv->codes)[i];
}

/*
 * One element's code.  Rounding can carry the largest element just past
 * FLT_MAX once scaled back (a vector holding 3.4e38); such a code moves one
 * step toward zero, so every decoded vector is finite.
 */
static void
encode_one(HnswStorage storage, HnswCompactVector *cv, int i, float x)
{
	if (storage == HNSW_STORAGE_HALF)
	{
		uint16	   *h = (uint16 *) cv->codes;

		h[i] = is_f16_from_float(x / cv->scale);
		if (!isfinite(cv->scale * code_at(storage, cv, i)))
			h[i]--;
	}
	else
	{
		int8	   *c = (int8 *) cv->codes;
		double		step = cv->scale > 0 ? rint(x / (double) cv->scale) : 0;

		c[i] = (int8) Max(-127, Min(127, step));
		if (!isfinite(cv->scale * code_at(storage, cv, i)))
			c[i] -= c[i] > 0 ? 1 : -1;
	}
}

void
hnsw_encode_vector(const HnswShape *sh, const float *vec, char *data)
{
	HnswCompactVector *cv = (HnswCompactVector *) data;
	double		maxabs = 0;
	double		norm2 = 0;
	double		err2 = 0;
	double		g = rounding_bound(sh->dim);

	if (sh->storage == HNSW_STORAGE_FLOAT)
	{
		memcpy(data, vec, sizeof(float) * sh->dim);
		return;
	}
	memset(data, 0, hnsw_vector_bytes(sh));
	for (int i = 0; i < sh->dim; i++)
	{
		maxabs = Max(maxabs, fabs(vec[i]));
		norm2 += (double) vec[i] * vec[i];
	}
	if (sh->storage == HNSW_STORAGE_HALF)
	{
		int			e;

		/* maxabs = f 2^e with f in [0.5, 1): maxabs / 2^(e-15) in [2^14, 2^15) */
		frexp(maxabs, &e);
		cv->scale = ldexpf(1.0f, Max(e - 15, -149));
	}
	else
		cv->scale = (float) (maxabs / 127);
	for (int i = 0; i < sh->dim; i++)
	{
		double		d;

		encode_one(sh->storage, cv, i, vec[i]);
		/* scale (24 bits) times a code (11 or 8 bits) is exact in double */
		d = vec[i] - (double) cv->scale * code_at(sh->storage, cv, i);
		err2 += d * d;
	}
	cv->err = float_at_least(sqrt(err2) * (1 + g) + 2 * g * sqrt(norm2));
}

void
hnsw_decode_vector(const HnswShape *sh, const char *data, float *out)
{
	const HnswCompactVector *cv = (const HnswCompactVector *) data;

	if (sh->storage == HNSW_STORAGE_FLOAT)
		memcpy(out, data, sizeof(float) * sh->dim);
	else if (sh->storage == HNSW_STORAGE_HALF)
		is_decode_f16((const uint16 *) cv->codes, cv->scale, out, sh->dim);
	else
		is_decode_i8((const int8 *) cv->codes, cv->scale, out, sh->dim);
}

/*
 * The value a scan reports for an element at graph distance `dist` (the
 * approximate one) whose stored error bound is `err`: at most the exact
 * ORDER BY distance of its row, in the operator's units (l2: not squared).
 * query_norm is |q| for inner product.  When the approximation overflowed,
 * the lowest value the operator can return.
 */
float
hnsw_order_bound(const HnswShape *sh, double query_norm, float dist, float err)
{
	double		g = rounding_bound(sh->dim);
	/* room for the rounding of this arithmetic itself */
	double		e = err * (1 + ldexp(1.0, -16));
	double		bound;

	if (!isfinite(dist) || !isfinite(err))
		return sh->metric == HNSW_METRIC_IP ? -INFINITY : 0.0f;
	switch (sh->metric)
	{
		case HNSW_METRIC_COSINE:

			/*
			 * |q.x - q.x~| <= |x - x~| for unit q; the kernels' and the
			 * operator's roundings (normalisation, dot, 1 - dot) are within
			 * 2 g |x| plus 3 g.
			 */
			bound = Max(dist - e - 3 * g, 0.0);
			break;
		case HNSW_METRIC_L2:

			/*
			 * |q - x| >= |q - x~| - |x - x~|; the squared sums, of terms
			 * that are never negative, are good to a factor (1 +- g).
			 */
			bound = Max((sqrt(Max(dist, 0.0f)) * (1 - g) - e) * (1 - g), 0.0);
			break;
		default:
			/* |q.x - q.x~| <= |q| |x - x~|, and the roundings are within |q| 2 g |x| */
			bound = dist - query_norm * (1 + ldexp(1.0, -16)) * e;
			break;
	}
	return float_at_most(bound);
}
