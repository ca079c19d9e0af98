/*
 * Vector vocabulary of the templated kernels (conv_direct.h, conv_wino*.h)
 * for AVX-512: 16 floats per vector.  Every function of a file including
 * this gets D_TARGET, since a pragma would not reach the clang that PGXS
 * uses for the JIT bitcode.
 */
#include <immintrin.h>

#define DV __m512
#define DVL 16
/* a file needing more of the ISA defines its own first (conv_wino_bf16.c) */
#ifndef D_TARGET
#define D_TARGET __attribute__((target("avx512f,fma")))
#endif
#define D_LOAD(p) _mm512_loadu_ps(p)
#define D_STORE(p, v) _mm512_storeu_ps((p), (v))
#define D_BCAST(p) _mm512_set1_ps(*(p))
#define D_SET1(f) _mm512_set1_ps(f)
#define D_FMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define D_MAX(a, b) _mm512_max_ps((a), (b))
#define D_ADD(a, b) _mm512_add_ps((a), (b))
#define D_SUB(a, b) _mm512_sub_ps((a), (b))
#define D_ZERO() _mm512_setzero_ps()
