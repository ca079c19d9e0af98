#include "distance.h"

#include <math.h>
#include <stdbool.h>

/*
 * The kernels are written with GCC vector extensions: 16-float vectors that
 * each target_clones variant lowers to its own registers (one zmm, two ymm,
 * four xmm).  Two independent accumulators hide the FMA latency and the
 * horizontal sum is a shuffle tree, so a 128-d distance is a few dozen
 * instructions; these are the HNSW index's hot loop.  No -ffast-math: the
 * reassociation is explicit here and NaN semantics elsewhere stay intact.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* one string per clone: "avx2,fma" would make an AVX2 clone without FMA */
#define IS_MULTIVERSION __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define IS_MULTIVERSION
#endif

typedef float is_v16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef int is_v16i __attribute__((vector_size(64)));

static inline __attribute__((always_inline)) float
hsum16(is_v16 v)
{
	v += __builtin_shuffle(v, (is_v16i) {8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7});
	v += __builtin_shuffle(v, (is_v16i) {4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3});
	v += __builtin_shuffle(v, (is_v16i) {2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1});
	v += __builtin_shuffle(v, (is_v16i) {1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0});
	return v[0];
}

#define V16(p) (*(const is_v16 *) (p))

IS_MULTIVERSION float
is_dot(const float *a, const float *b, size_t n)
{
	is_v16		s0 = {0};
	is_v16		s1 = {0};
	size_t		i = 0;
	float		s;

	for (; i + 32 <= n; i += 32)
	{
		s0 += V16(a + i) * V16(b + i);
		s1 += V16(a + i + 16) * V16(b + i + 16);
	}
	if (i + 16 <= n)
	{
		s0 += V16(a + i) * V16(b + i);
		i += 16;
	}
	s = hsum16(s0 + s1);
	for (; i < n; i++)
		s += a[i] * b[i];
	return s;
}

IS_MULTIVERSION float
is_l2_squared(const float *a, const float *b, size_t n)
{
	is_v16		s0 = {0};
	is_v16		s1 = {0};
	size_t		i = 0;
	float		s;

	for (; i + 32 <= n; i += 32)
	{
		is_v16		d0 = V16(a + i) - V16(b + i);
		is_v16		d1 = V16(a + i + 16) - V16(b + i + 16);

		s0 += d0 * d0;
		s1 += d1 * d1;
	}
	if (i + 16 <= n)
	{
		is_v16		d0 = V16(a + i) - V16(b + i);

		s0 += d0 * d0;
		i += 16;
	}
	s = hsum16(s0 + s1);
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		s += d * d;
	}
	return s;
}

float
is_norm_squared(const float *a, size_t n)
{
	return is_dot(a, a, n);
}

/*
 * Float sums of squares underflow below ~1e-19 per element and overflow above
 * ~1e19, so a tiny or huge but valid vector would look zero or infinite.  Any
 * overflow leaves the float sum infinite or NaN.  Underflow costs each of the
 * at most 2 * 16000 float operations no more than 2^-150 (~7e-46) absolute, so
 * a sum of at least 1e-30 is still good to float rounding; below that, or when
 * not finite, the sum is redone in double, which covers the whole float4 range.
 */
#define FLOAT_SUM_TRUSTED_MIN 1e-30

static inline bool
float_sum_trusted(double s)
{
	return fabs(s) >= FLOAT_SUM_TRUSTED_MIN && isfinite(s);
}

double
is_dot_checked(const float *a, const float *b, size_t n)
{
	double		s = is_dot(a, b, n);
	double		na,
				nb;

	/* the rare fallback also sums both norms; not worth a loop of its own */
	if (!float_sum_trusted(s))
		is_dot_norms_double(a, b, n, &s, &na, &nb);
	return s;
}

double
is_norm_squared_checked(const float *a, size_t n)
{
	double		s = is_norm_squared(a, n);

	return float_sum_trusted(s) ? s : is_norm_squared_double(a, n);
}

double
is_norm_squared_double(const float *a, size_t n)
{
	double		s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += (double) a[i] * a[i];
	return s;
}

double
is_l2_squared_checked(const float *a, const float *b, size_t n)
{
	double		s = is_l2_squared(a, b, n);

	if (float_sum_trusted(s))
		return s;
	s = 0.0;
	for (size_t i = 0; i < n; i++)
	{
		double		d = (double) a[i] - b[i];

		s += d * d;
	}
	return s;
}

void
is_dot_norms_double(const float *a, const float *b, size_t n,
					double *dot, double *na, double *nb)
{
	double		ab = 0.0,
				aa = 0.0,
				bb = 0.0;

	for (size_t i = 0; i < n; i++)
	{
		ab += (double) a[i] * b[i];
		aa += (double) a[i] * a[i];
		bb += (double) b[i] * b[i];
	}
	*dot = ab;
	*na = aa;
	*nb = bb;
}

static double
cosine_similarity_double(const float *a, const float *b, size_t n)
{
	double		dot,
				na,
				nb;

	is_dot_norms_double(a, b, n, &dot, &na, &nb);
	if (na == 0.0 || nb == 0.0)
		return NAN;
	return dot / sqrt(na) / sqrt(nb);
}

double
is_cosine_distance_qn(const float *a, const float *b, size_t n, double b_norm_sq)
{
	double		na = is_norm_squared(a, n);
	float		dot = is_dot(a, b, n);
	double		sim;

	/*
	 * With both norms trusted, what underflow took from the dot product is
	 * negligible against their product, however small the dot product is.
	 */
	if (float_sum_trusted(na) && float_sum_trusted(b_norm_sq) && isfinite(dot))
		sim = dot / sqrt(na * b_norm_sq);
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
