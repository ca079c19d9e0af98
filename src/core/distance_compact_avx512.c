/*
 * The compact-vector kernels (distance_compact.h) for AVX-512: 16 codes a
 * vector, halves through vcvtph2ps, bytes through vpmovsxbd + vcvtdq2ps.
 * distance_compact.c calls them only when the CPU supports AVX-512F.
 */
#include "simd_avx512.h"

#define D_CODE_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (p)))
#define D_CODE_I8(p) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (p))))
#define D_FNMA(a, b, c) _mm512_fnmadd_ps((a), (b), (c))
#define D_MUL(a, b) _mm512_mul_ps((a), (b))
#define D_HSUM(v) _mm512_reduce_add_ps(v)
#define D_NAME(f) is_compact_avx512_##f

#include "distance_compact.h"
