/*
 * wino-avx512 (conv_wino.h) with its GEMM in bfloat16: U is rounded once when
 * the plan packs it, V as the input transform stores it, and vdpbf16ps adds
 * the products of two input channels into float32 sums, twice the
 * multiply-adds of an FMA per instruction.  Inputs and the output transform
 * stay float32.  Rounding to nearest even (8 significant bits) moves each
 * operand by at most 2^-8 of itself, so each product by 2^-7 (+ 2^-16);
 * an inference option (wino-bf16), never the trainer's.
 * nn_infer.c offers it only on CPUs reporting AVX512_BF16.
 */
#define D_TARGET __attribute__((target("avx512f,fma,avx512bw,avx512vl,avx512bf16")))

#include <stdint.h>
#include <string.h>

#include "simd_avx512.h"

/* bfloat16 bits: the upper half of a float32, rounded to nearest even */
D_TARGET static inline uint16_t
bf16_round(float f)
{
	return (uint16_t) _mm256_extract_epi16((__m256i) _mm512_cvtneps_pbh(_mm512_set1_ps(f)), 0);
}

/* a pair of bfloat16 in every 32-bit lane */
D_TARGET static inline __m512bh
bf16_bcast_pair(const uint16_t *p)
{
	int32_t		pair;

	memcpy(&pair, p, sizeof(pair));
	return (__m512bh) _mm512_set1_epi32(pair);
}

#define W_PAIR 2
#define W_ET uint16_t
#define W_WV __m512bh
#define W_ROUND(f) bf16_round(f)
#define W_VSTORE(p, x) _mm256_storeu_si256((__m256i *) (p), (__m256i) _mm512_cvtneps_pbh(x))
#define W_ULOAD(p) ((__m512bh) _mm512_loadu_si512(p))
#define W_VBCAST(p) bf16_bcast_pair(p)
#define W_DOT(acc, x, w) _mm512_dpbf16_ps((acc), (x), (w))

#define W_TP 8
#define W_IMPL is_conv_wino_bf16

#include "conv_wino.h"
