/*
 * Internal interface between the inference plan (nn_infer.c), the training
 * convolutions (train_conv.c) and the 3x3 convolution kernels (conv_gemm.c,
 * conv_avx2.c, conv_avx512.c, conv_wino_*.c).
 *
 * Activation layout, per image: ceil(C/B) channel blocks, each a zero-bordered
 * (H+2) x (W+2) plane of B-float pixels ("NCHW{B}c" with a one-pixel halo).
 * The halo is written once (zeroed arena) and never touched again, so the
 * kernels need no boundary tests; channels past C stay zero because their
 * packed weights and bias are zero.  B is 1 for the network input and the
 * gemm kernel's output, the vector width for the SIMD kernels' output; every
 * kernel reads any B, so kernels may be mixed per layer.
 */
#ifndef INSTSIM_CONV_H
#define INSTSIM_CONV_H

#include <stddef.h>

#include "nn.h"

typedef struct is_act
{
	int			c, h, w, block;
} is_act;

static inline int
is_act_blocks(const is_act *a)
{
	return (a->c + a->block - 1) / a->block;
}

/* Channels padded to whole blocks: a per-channel array's length in the blocked layout. */
static inline size_t
is_act_padded_c(const is_act *a)
{
	return (size_t) is_act_blocks(a) * a->block;
}

static inline size_t
is_act_plane(const is_act *a)
{
	return (size_t) (a->h + 2) * (a->w + 2) * a->block;
}

/* n floats rounded up to whole 64-byte cache lines (arena and scratch layouts). */
static inline size_t
is_round16(size_t n)
{
	return (n + 15) & ~(size_t) 15;
}

/* Floats per image, rounded up to a cache line so every image starts aligned. */
static inline size_t
is_act_image(const is_act *a)
{
	return is_round16((size_t) is_act_blocks(a) * is_act_plane(a));
}

/* Pointer to interior pixel (y, x) of channel c. */
static inline float *
is_act_at(const is_act *a, float *img, int c, int y, int x)
{
	return img + (size_t) (c / a->block) * is_act_plane(a)
		+ ((size_t) (y + 1) * (a->w + 2) + x + 1) * a->block + c % a->block;
}

/* One fused convolution: conv3x3 (batch-norm folded) [+ ReLU] [+ 2x2 max-pool]. */
typedef struct is_conv_op
{
	is_act		in;				/* conv input; spatial size = conv output size */
	is_act		out;			/* after pooling */
	int			relu;
	int			pool;
	const float *weight;		/* packed by the kernel's pack(), in its own
								 * layout (wino-bf16: bfloat16 pairs) */
	const float *bias;			/* out.c rounded up to out.block, zero padded */
} is_conv_op;

typedef struct is_conv_impl
{
	int			block;			/* channel block of the output activation */
	/* Packed weight size for ic input channels read with input block ib. */
	size_t		(*packed_floats) (int ic, int ib, int oc);
	/* w is [oc][ic][3][3] with batch-norm already folded in. */
	void		(*pack) (const float *w, int ic, int ib, int oc, float *dst);
	/* Per-thread scratch the kernel needs for op. */
	size_t		(*scratch_floats) (const is_conv_op *op);
	/* Output rows [y0, y1) of one image. */
	void		(*run) (const is_conv_op *op, const float *in, float *out,
						int y0, int y1, float *scratch);
} is_conv_impl;

/* The implementation of kernel kind (AUTO: gemm); the table is in nn_infer.c. */
const is_conv_impl *is_conv_impl_of(is_conv_kind kind);

/* The direct kernel of a Winograd kind's instruction set; other kinds unchanged. */
static inline is_conv_kind
is_conv_direct_kind(is_conv_kind kind)
{
	return kind == IS_CONV_WINO_AVX2 || kind == IS_CONV_WINO4_AVX2 ? IS_CONV_AVX2 :
		kind == IS_CONV_WINO_AVX512 || kind == IS_CONV_WINO_BF16 ||
		kind == IS_CONV_WINO4_AVX512 ? IS_CONV_AVX512 : kind;
}

/* Winograd F(4x4, 3x3), of either instruction set. */
static inline int
is_conv_wino4_kind(is_conv_kind kind)
{
	return kind == IS_CONV_WINO4_AVX512 || kind == IS_CONV_WINO4_AVX2;
}

/*
 * The float32 Winograd kind of a kind's instruction set; IS_CONV_AUTO where
 * there is none.  The trainer's choice: wino-bf16 trains as wino-avx512.
 */
static inline is_conv_kind
is_conv_winograd_kind(is_conv_kind kind)
{
	is_conv_kind d = is_conv_direct_kind(kind);

	return d == IS_CONV_AVX2 ? IS_CONV_WINO_AVX2 :
		d == IS_CONV_AVX512 ? IS_CONV_WINO_AVX512 : IS_CONV_AUTO;
}

/*
 * The layout of the activation is_infer_run_ops writes for cut k: the
 * k-th operation's output when it is a convolution (0), else -1.  Lets the
 * trainer read a frozen trunk's output (src/train/frozen_trunk.c).
 */
int			is_infer_prefix_act(const is_infer *plan, int k, is_act *act);

extern const is_conv_impl is_conv_gemm;
extern const is_conv_impl is_conv_avx2;
extern const is_conv_impl is_conv_avx512;
extern const is_conv_impl is_conv_wino_avx2;
extern const is_conv_impl is_conv_wino_avx512;
extern const is_conv_impl is_conv_wino_bf16;
extern const is_conv_impl is_conv_wino4_avx2;
extern const is_conv_impl is_conv_wino4_avx512;

#endif
