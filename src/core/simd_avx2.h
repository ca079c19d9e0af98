/*
 * Vector vocabulary of the templated kernels (conv_direct.h, conv_wino*.h)
 * for AVX2 + FMA: 8 floats per vector.  Every function of a file including
 * this gets D_TARGET, since a pragma would not reach the clang that PGXS
 * uses for the JIT bitcode.
 */
#include <immintrin.h>

#define DV __m256
#define DVL 8
#define D_TARGET __attribute__((target("avx2,fma")))
#define D_LOAD(p) _mm256_loadu_ps(p)
#define D_STORE(p, v) _mm256_storeu_ps((p), (v))
#define D_BCAST(p) _mm256_broadcast_ss(p)
#define D_SET1(f) _mm256_set1_ps(f)
#define D_FMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define D_MAX(a, b) _mm256_max_ps((a), (b))
#define D_ADD(a, b) _mm256_add_ps((a), (b))
#define D_SUB(a, b) _mm256_sub_ps((a), (b))
#define D_ZERO() _mm256_setzero_ps()
