#include "distance.h"

#include <math.h>

/*
 * The reductions use "omp simd reduction" so that GCC may reorder the sum and
 * vectorise without -ffast-math (which would also change NaN semantics
 * elsewhere).  Compile with -fopenmp-simd; no OpenMP runtime is involved.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define IS_MULTIVERSION __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define IS_MULTIVERSION
#endif

IS_MULTIVERSION float
is_dot(const float *a, const float *b, size_t n)
{
	float		s = 0.0f;

#pragma omp simd reduction(+:s)
	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

IS_MULTIVERSION float
is_l2_squared(const float *a, const float *b, size_t n)
{
	float		s = 0.0f;

#pragma omp simd reduction(+:s)
	for (size_t i = 0; i < n; i++)
	{
		float		d = a[i] - b[i];

		s += d * d;
	}
	return s;
}

IS_MULTIVERSION float
is_norm_squared(const float *a, size_t n)
{
	float		s = 0.0f;

#pragma omp simd reduction(+:s)
	for (size_t i = 0; i < n; i++)
		s += a[i] * a[i];
	return s;
}

/*
 * Float sums of squares underflow below ~1e-19 per element and overflow above
 * ~1e19, so a tiny or huge but valid vector would look zero or infinite.  Those
 * rare cases are redone here in double, which covers the whole float4 range.
 */
static double
cosine_similarity_double(const float *a, const float *b, size_t n)
{
	double		dot = 0.0,
				na = 0.0,
				nb = 0.0;

	for (size_t i = 0; i < n; i++)
	{
		dot += (double) a[i] * b[i];
		na += (double) a[i] * a[i];
		nb += (double) b[i] * b[i];
	}
	if (na == 0.0 || nb == 0.0)
		return NAN;
	return dot / sqrt(na) / sqrt(nb);
}

double
is_cosine_distance_qn(const float *a, const float *b, size_t n, double b_norm_sq)
{
	double		na = is_norm_squared(a, n);
	double		denom = sqrt(na * b_norm_sq);
	float		dot = is_dot(a, b, n);
	double		sim;

	if (denom > 0.0 && isfinite(denom) && isfinite(dot))
		sim = dot / denom;
	else
		sim = cosine_similarity_double(a, b, n);
	if (isnan(sim))
		return NAN;
	if (sim > 1.0)
		sim = 1.0;
	else if (sim < -1.0)
		sim = -1.0;
	return 1.0 - sim;
}

double
is_cosine_distance(const float *a, const float *b, size_t n)
{
	return is_cosine_distance_qn(a, b, n, is_norm_squared(b, n));
}
