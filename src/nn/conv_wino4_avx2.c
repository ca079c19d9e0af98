/* Winograd F(4x4, 3x3) + pooling (conv_wino4.h) for AVX2: GEMM tiles of 4 tiles x 2 blocks. */
#include "simd_avx2.h"

#define W_TP 4
#define W_IMPL is_conv_wino4_avx2

#include "conv_wino4.h"
