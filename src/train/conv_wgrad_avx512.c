/* The training weight gradient (conv_wgrad.h) for AVX-512: 16 output channels per vector. */
#include "simd_avx512.h"

#define D_WGRAD is_conv_wgrad_avx512

#include "conv_wgrad.h"
