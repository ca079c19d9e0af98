/*
 * The direct 3x3 kernel (conv_direct.h) for AVX2 + FMA: 8-channel blocks,
 * tiles of 2 rows x 2 columns x 2 blocks, 8 of the 16 ymm registers as
 * accumulators (measured fastest: 16 accumulators make GCC spill).
 * nn_infer.c calls it only when the CPU supports AVX2 and FMA.
 */
#include "simd_avx2.h"

#define D_P0 2
#define D_P1 2
#define D_PK1 4
#define D_KMAX 2
#define D_IMPL is_conv_avx2

#include "conv_direct.h"
