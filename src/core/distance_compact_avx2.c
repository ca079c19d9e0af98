/*
 * The compact-vector kernels (distance_compact.h) for AVX2 + FMA + F16C: 8
 * codes a vector, halves through vcvtph2ps (F16C, which every AVX2 CPU has),
 * bytes through vpmovsxbd + vcvtdq2ps.  distance_compact.c calls them only
 * when the CPU supports all three.
 */
#include "simd_avx2.h"

#undef D_TARGET
#define D_TARGET __attribute__((target("avx2,fma,f16c")))
#define D_CODE_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (p)))
#define D_CODE_I8(p) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) (p))))
#define D_FNMA(a, b, c) _mm256_fnmadd_ps((a), (b), (c))
#define D_MUL(a, b) _mm256_mul_ps((a), (b))
#define D_NAME(f) is_compact_avx2_##f
#define D_HSUM(v) hsum8(v)

D_TARGET static inline float
hsum8(__m256 v)
{
	__m128		h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_movehdup_ps(h));
	return _mm_cvtss_f32(h);
}

#include "distance_compact.h"
