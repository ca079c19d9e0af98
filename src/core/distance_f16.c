/*
 * IEEE half (binary16) vectors: conversion to and from float, and the kernels
 * that measure a float vector against stored halves.
 *
 * The conversion in the kernels is one instruction per 8 or 16 elements
 * (vcvtph2ps) on CPUs with F16C or AVX-512, which GCC's target_clones cannot
 * name (it has no "f16c" clone), so the variants are written with intrinsics
 * and chosen the same way target_clones does it: an ifunc resolver, run once
 * by the dynamic loader, picks the best one for the running CPU.  The
 * portable variant decodes each half in C.
 */
#include "distance.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define IS_F16_SIMD 1
#include <immintrin.h>
#endif

uint16_t
is_f16_from_float(float x)
{
	uint32_t	bits;
	uint32_t	sign;
	uint32_t	mag;

	memcpy(&bits, &x, sizeof(bits));
	sign = (bits >> 16) & 0x8000;
	mag = bits & 0x7FFFFFFF;
	if (mag >= 0x7F800000)		/* infinity stays, NaN stays quiet NaN */
		return sign | 0x7C00 | (mag > 0x7F800000 ? 0x0200 : 0);
	if (mag >= 0x477FF000)		/* 65520 and up round past the largest half */
		return sign | 0x7C00;
	if (mag < 0x38800000)
	{
		/*
		 * Below 2^-14 halves are subnormal, in steps of 2^-24: scaling by
		 * 2^24 is exact here, and rintf rounds to nearest even.
		 */
		return sign | (uint16_t) rintf(fabsf(x) * 16777216.0f);
	}
	/* rebias the exponent, then round the 23-bit fraction to 10 bits (ties to even) */
	mag -= (uint32_t) (127 - 15) << 23;
	mag += 0x0FFF + ((mag >> 13) & 1);
	return sign | (mag >> 13);
}

static inline float
f16_to_float(uint16_t h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000) << 16;
	uint32_t	exp = (h >> 10) & 0x1F;
	uint32_t	frac = h & 0x3FF;
	uint32_t	bits;
	float		f;

	if (exp == 0)				/* zero and subnormals: frac * 2^-24, exact */
	{
		f = (float) frac * (1.0f / 16777216.0f);
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7F800000 | (frac << 13);
	else
		bits = sign | ((exp + 127 - 15) << 23) | (frac << 13);
	memcpy(&f, &bits, sizeof(f));
	return f;
}

float
is_f16_to_float(uint16_t h)
{
	return f16_to_float(h);
}

static float
dot_f16_generic(const float *a, const uint16_t *b, size_t n)
{
	float		s = 0.0f;

	for (size_t i = 0; i < n; i++)
		s += a[i] * f16_to_float(b[i]);
	return s;
}

static float
l2_squared_f16_generic(const float *a, const uint16_t *b, float scale, size_t n)
{
	float		s = 0.0f;

	for (size_t i = 0; i < n; i++)
	{
		float		d = a[i] - scale * f16_to_float(b[i]);

		s += d * d;
	}
	return s;
}

#ifdef IS_F16_SIMD

/*
 * AVX-512: 32 elements per step in two accumulators, like the float kernels;
 * the tail (n mod 16) goes through the portable variant.
 */
__attribute__((target("avx512f")))
static float
dot_f16_avx512(const float *a, const uint16_t *b, size_t n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	size_t		i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i),
							 _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i))), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16),
							 _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i + 16))), s1);
	}
	if (i + 16 <= n)
	{
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i),
							 _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i))), s0);
		i += 16;
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1)) + dot_f16_generic(a + i, b + i, n - i);
}

__attribute__((target("avx512f")))
static float
l2_squared_f16_avx512(const float *a, const uint16_t *b, float scale, size_t n)
{
	__m512		s0 = _mm512_setzero_ps();
	__m512		s1 = _mm512_setzero_ps();
	__m512		sc = _mm512_set1_ps(scale);
	size_t		i = 0;

	for (; i + 32 <= n; i += 32)
	{
		__m512		d0 = _mm512_fnmadd_ps(sc, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i))),
										  _mm512_loadu_ps(a + i));
		__m512		d1 = _mm512_fnmadd_ps(sc, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i + 16))),
										  _mm512_loadu_ps(a + i + 16));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
	}
	if (i + 16 <= n)
	{
		__m512		d0 = _mm512_fnmadd_ps(sc, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (b + i))),
										  _mm512_loadu_ps(a + i));

		s0 = _mm512_fmadd_ps(d0, d0, s0);
		i += 16;
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1)) +
		l2_squared_f16_generic(a + i, b + i, scale, n - i);
}

__attribute__((target("avx2,fma,f16c")))
static inline float
hsum8(__m256 v)
{
	__m128		s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* AVX2: 8 elements a vector, four accumulators, so the same 32 per step. */
__attribute__((target("avx2,fma,f16c")))
static inline __m256
load8_f16(const uint16_t *b)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) b));
}

__attribute__((target("avx2,fma,f16c")))
static float
dot_f16_avx2(const float *a, const uint16_t *b, size_t n)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	size_t		i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8_f16(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load8_f16(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), load8_f16(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), load8_f16(b + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8_f16(b + i), s0);
	return hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) +
		dot_f16_generic(a + i, b + i, n - i);
}

/* (a - scale * b)^2 added to s, for 8 elements */
__attribute__((target("avx2,fma,f16c")))
static inline __m256
l2_step8(__m256 s, const float *a, const uint16_t *b, __m256 scale)
{
	__m256		d = _mm256_fnmadd_ps(scale, load8_f16(b), _mm256_loadu_ps(a));

	return _mm256_fmadd_ps(d, d, s);
}

__attribute__((target("avx2,fma,f16c")))
static float
l2_squared_f16_avx2(const float *a, const uint16_t *b, float scale, size_t n)
{
	__m256		s0 = _mm256_setzero_ps();
	__m256		s1 = _mm256_setzero_ps();
	__m256		s2 = _mm256_setzero_ps();
	__m256		s3 = _mm256_setzero_ps();
	__m256		sc = _mm256_set1_ps(scale);
	size_t		i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = l2_step8(s0, a + i, b + i, sc);
		s1 = l2_step8(s1, a + i + 8, b + i + 8, sc);
		s2 = l2_step8(s2, a + i + 16, b + i + 16, sc);
		s3 = l2_step8(s3, a + i + 24, b + i + 24, sc);
	}
	for (; i + 8 <= n; i += 8)
		s0 = l2_step8(s0, a + i, b + i, sc);
	return hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) +
		l2_squared_f16_generic(a + i, b + i, scale, n - i);
}

#endif							/* IS_F16_SIMD */

/* static, so that the ifunc resolvers reach it without a PLT entry */
static int
f16_variant(int level, is_f16_kernels *out)
{
	switch (level)
	{
		case 0:
			out->dot = dot_f16_generic;
			out->l2_squared = l2_squared_f16_generic;
			return 1;
#ifdef IS_F16_SIMD
		case 1:
			__builtin_cpu_init();
			if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") ||
				!__builtin_cpu_supports("f16c"))
				return 0;
			out->dot = dot_f16_avx2;
			out->l2_squared = l2_squared_f16_avx2;
			return 1;
		case 2:
			__builtin_cpu_init();
			if (!__builtin_cpu_supports("avx512f"))
				return 0;
			out->dot = dot_f16_avx512;
			out->l2_squared = l2_squared_f16_avx512;
			return 1;
#endif
		default:
			return 0;
	}
}

int
is_f16_variant(int level, is_f16_kernels *out)
{
	return f16_variant(level, out);
}

#ifdef IS_F16_SIMD

/*
 * The best variant this CPU runs.  The resolvers run while the loader is
 * still relocating the library: they call only static functions.
 */
static is_f16_kernels
best_f16_kernels(void)
{
	is_f16_kernels k;

	if (!f16_variant(2, &k) && !f16_variant(1, &k))
		f16_variant(0, &k);
	return k;
}

typedef float (*dot_f16_fn) (const float *a, const uint16_t *b, size_t n);
typedef float (*l2_squared_f16_fn) (const float *a, const uint16_t *b, float scale, size_t n);

static dot_f16_fn
resolve_dot_f16(void)
{
	return best_f16_kernels().dot;
}

static l2_squared_f16_fn
resolve_l2_squared_f16(void)
{
	return best_f16_kernels().l2_squared;
}

float		is_dot_f16(const float *a, const uint16_t *b, size_t n)
			__attribute__((ifunc("resolve_dot_f16")));
float		is_l2_squared_f16(const float *a, const uint16_t *b, float scale, size_t n)
			__attribute__((ifunc("resolve_l2_squared_f16")));

#else

float
is_dot_f16(const float *a, const uint16_t *b, size_t n)
{
	return dot_f16_generic(a, b, n);
}

float
is_l2_squared_f16(const float *a, const uint16_t *b, float scale, size_t n)
{
	return l2_squared_f16_generic(a, b, scale, n);
}

#endif
