/*
 * The direct 3x3 kernel (conv_direct.h) for AVX2 + FMA: 8-channel blocks,
 * tiles of 2 rows x 2 columns x 2 blocks, 8 of the 16 ymm registers as
 * accumulators (measured fastest: 16 accumulators make GCC spill).  Compiled for AVX2 by target attribute so the rest of the build stays
 * portable; nn.c calls it only when the CPU supports it.
 */
#include <immintrin.h>

#define DV __m256
#define DVL 8
#define D_LOAD(p) _mm256_loadu_ps(p)
#define D_STORE(p, v) _mm256_storeu_ps((p), (v))
#define D_BCAST(p) _mm256_broadcast_ss(p)
#define D_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define D_MAX(a, b) _mm256_max_ps((a), (b))
#define D_ADD(a, b) _mm256_add_ps((a), (b))
#define D_ZERO() _mm256_setzero_ps()
#define D_P0 2
#define D_KMAX 2
#define D_P1 2
#define D_TARGET __attribute__((target("avx2,fma")))
#define D_IMPL is_conv_avx2

#include "conv_direct.h"
