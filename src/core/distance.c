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

double
is_cosine_distance_qn(const float *a, const float *b, size_t n, double b_norm_sq)
{
	double		na = is_norm_squared(a, n);
	double		denom = sqrt(na * b_norm_sq);
	double		sim;

	if (!(denom > 0.0))
		return NAN;
	sim = is_dot(a, b, n) / denom;
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
