/* The training weight gradient (conv_wgrad.h) for AVX2: 8 output channels per vector. */
#include "simd_avx2.h"

#define D_WGRAD is_conv_wgrad_avx2

#include "conv_wgrad.h"
