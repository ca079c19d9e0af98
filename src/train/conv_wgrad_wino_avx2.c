/* The Winograd weight gradient (conv_wgrad_wino.h) for AVX2: 4 output channels x 2 input blocks. */
#include "simd_avx2.h"

#define WG_C 4
#define D_WGRAD_WINO is_conv_wgrad_wino_avx2

#include "conv_wgrad_wino.h"
