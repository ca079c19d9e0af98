/* The Winograd weight gradient (conv_wgrad_wino.h) for AVX-512: 8 output channels x 2 input blocks. */
#include "simd_avx512.h"

#define WG_C 8
#define D_WGRAD_WINO is_conv_wgrad_wino_avx512

#include "conv_wgrad_wino.h"
