/*
 * The direct 3x3 kernel (conv_direct.h) for AVX-512: 16-channel blocks,
 * tiles of 2 rows x 4 columns x 2 blocks = 16 zmm accumulators (larger
 * tiles measured no faster: GCC starts spilling).  Compiled for AVX-512 by a
 * target attribute so the rest of the build stays portable; nn.c calls it
 * only when the CPU supports it.
 */
#include <immintrin.h>

#define DV __m512
#define DVL 16
#define D_LOAD(p) _mm512_loadu_ps(p)
#define D_STORE(p, v) _mm512_storeu_ps((p), (v))
#define D_BCAST(p) _mm512_set1_ps(*(p))
#define D_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define D_MAX(a, b) _mm512_max_ps((a), (b))
#define D_ADD(a, b) _mm512_add_ps((a), (b))
#define D_ZERO() _mm512_setzero_ps()
#define D_P0 4
#define D_KMAX 2
#define D_P1 2
#define D_TARGET __attribute__((target("avx512f,fma")))
#define D_IMPL is_conv_avx512

#include "conv_direct.h"
