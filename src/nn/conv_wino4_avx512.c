/* Winograd F(4x4, 3x3) + pooling (conv_wino4.h) for AVX-512: GEMM tiles of 8 tiles x 2 blocks. */
#include "simd_avx512.h"

#define W_TP 8
#define W_IMPL is_conv_wino4_avx512

#include "conv_wino4.h"
