/*
 * The 3x3 convolutions of training through the inference kernels (conv.h),
 * one image at a time, on activations kept in the kernels' channel-blocked,
 * zero-bordered layout (train_internal.h): the forward pass; the input
 * gradient, itself a 3x3 convolution of the output gradient with the weights
 * transposed (in <-> out) and turned 180 degrees; and the weight and bias
 * gradients, a correlation of the two images (conv_wgrad.h).  With AVX-512 or
 * AVX2 these are our kernels (Winograd where the sizes allow, else direct);
 * elsewhere the portable gemm kernel, and im2col + sgemm over dense copies
 * for the weight gradient.
 */
#ifndef INSTSIM_TRAIN_CONV_H
#define INSTSIM_TRAIN_CONV_H

#include <stddef.h>

#include "conv.h"
#include "nn.h"

typedef struct is_train_conv
{
	const is_conv_impl *impl;	/* the kind's direct (or gemm) kernel: its block */
	const is_conv_impl *fimpl, *bimpl;	/* what runs fwd and bwd: it, or Winograd */
	/* weight gradient over the kernel's layout; NULL: im2col + sgemm */
	void		(*wgrad) (const is_conv_op *op, const float *x, const float *dy, float *gw,
						  float *gb);
	/* the Winograd weight gradient, where it applies and the kind has one (else NULL) */
	void		(*wgrad_wino) (const is_conv_op *op, const float *x, const float *dy,
							   float *du, float *gb, float *scratch);
	is_conv_op	fwd;			/* x -> y, the layer's weights and bias */
	is_conv_op	bwd;			/* dy -> dx, turned weights, zero bias; unused without dx */
	int			need_dx;
	float	   *wf, *bf, *wb, *bb;	/* packed weights and biases of fwd and bwd */
} is_train_conv;

/*
 * The kernel of the trainer's convolutions and of its inference passes (a
 * frozen --trunk, the --teacher's targets, the held-out k-NN):
 * INSTSIM_CONV_KERNEL if set (a direct or F(2x2) kind trains its weight
 * gradient with the direct kernel, a bfloat16 kind in float32), else
 * F(4x4, 3x3) of the widest instruction set the CPU runs, else gemm.  0, or
 * -1 with err set (a kernel the CPU lacks).
 */
int			is_train_conv_kind(is_conv_kind *kind, char *err, size_t errlen);

/* Channels per block of kernel kind's layout (16, 8 or 1). */
int			is_train_conv_block(is_conv_kind kind);

/*
 * Sets up c for conv layer l with kernel kind (a Winograd kind means its
 * instruction set: each op takes Winograd where its sizes allow, else the
 * direct kernel), reading input in blocks of ib channels (the kind's block,
 * or 1); returns the floats of parameter memory it needs at mem (mem NULL:
 * only measures).  need_dx: the input gradient is wanted.
 */
size_t		is_train_conv_init(is_train_conv *c, const is_layer *l, int need_dx,
							   is_conv_kind kind, int ib, float *mem);

/* Per-worker scratch floats for one image of this layer (64-byte multiple). */
size_t		is_train_conv_scratch(const is_train_conv *c);

/* Repacks the layer's current weights (after each optimiser step); tmp: in*out*9 floats. */
void		is_train_conv_pack(is_train_conv *c, const is_layer *l, float *tmp);

/* One image, in the layouts c->fwd.in and c->fwd.out: y = conv(x) + bias (interior). */
void		is_train_conv_forward(const is_train_conv *c, const float *x, float *y,
								  float *scratch);

/*
 * One image: gw[out_c][in_c][9] and gb[out_c] += the weight and bias
 * gradients, and dx (interior, layout c->bwd.out) = the input gradient (set
 * up with need_dx; dx NULL skips it), from the layer's input x and the output
 * gradient dy (layout c->fwd.out), whose border this zeroes.
 */
void		is_train_conv_backward(const is_train_conv *c, const float *x, float *dy,
								   float *dx, float *gw, float *gb, float *wacc, float *scratch);

/*
 * With the Winograd weight gradient (c->wgrad_wino), is_train_conv_backward
 * adds the weight gradient into wacc, is_train_conv_wacc_floats(c) floats
 * (zero to begin with), and not into gw; is_train_conv_wgrad_fold adds wacc
 * into gw and clears it, once for the images of one batch.  Without it, 0
 * floats, and the fold does nothing.
 */
size_t		is_train_conv_wacc_floats(const is_train_conv *c);
void		is_train_conv_wgrad_fold(const is_train_conv *c, float *wacc, float *gw);

/*
 * Training's weight and bias gradient for one image (conv_wgrad.h):
 * gw[oc][ic][9] += the correlation of dy (in op->out's layout, block = the
 * kernel's) with x (op->in's layout), gb[oc] += the sums of dy.  Only for
 * op->in.block 1 or the kernel's block.
 */
void		is_conv_wgrad_avx2(const is_conv_op *op, const float *x, const float *dy,
							   float *gw, float *gb);
void		is_conv_wgrad_avx512(const is_conv_op *op, const float *x, const float *dy,
								 float *gw, float *gb);

/*
 * The same by Winograd F(2x2, 3x3) (conv_wgrad_wino.h), but adding the
 * weight gradient into du, dU in the Winograd domain (is_train_conv_wgrad_fold
 * turns it into gw's): op->in.block the kernel's, out.h and out.w even,
 * scratch is_wgrad_wino_scratch(op) floats.
 */
void		is_conv_wgrad_wino_avx2(const is_conv_op *op, const float *x, const float *dy,
									float *du, float *gb, float *scratch);
void		is_conv_wgrad_wino_avx512(const is_conv_op *op, const float *x, const float *dy,
									  float *du, float *gb, float *scratch);

#define WG_TB 32				/* tiles per strip of the Winograd weight gradient */

/*
 * Floats from one transform element's strip panel to the next, for cp
 * (padded) channels: a cache line more than its tiles, so that the 16
 * panels a tile's transform writes do not share one L1 set.
 */
static inline size_t
is_wgrad_wino_step(size_t cp)
{
	return (size_t) WG_TB * cp + 16;
}

/* Its scratch: one strip's V and dM. */
static inline size_t
is_wgrad_wino_scratch(const is_conv_op *op)
{
	return 16 * (is_wgrad_wino_step(is_act_padded_c(&op->in)) +
				 is_wgrad_wino_step(is_act_padded_c(&op->out)));
}

/* A dense c x h x w image into layout a (every float written, border zero), and back. */
void		is_act_from_nchw(const float *x, const is_act *a, float *dst);
void		is_act_to_nchw(const float *src, const is_act *a, float *y);

#endif
