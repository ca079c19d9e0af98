/*
 * The direct 3x3 kernel (conv_direct.h) for AVX-512: 16-channel blocks,
 * tiles of 2 rows x 4 columns x 2 blocks = 16 zmm accumulators (larger
 * tiles measured no faster: GCC starts spilling).  nn_infer.c calls it only
 * when the CPU supports AVX-512F.
 */
#include "simd_avx512.h"

#define D_P0 4
#define D_P1 2
#define D_PK1 8
#define D_KMAX 2
#define D_IMPL is_conv_avx512

#include "conv_direct.h"
