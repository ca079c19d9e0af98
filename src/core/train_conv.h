/*
 * The forward pass and the input gradient of a training 3x3 convolution,
 * one image at a time, through the inference kernels (conv.h): the plain
 * NCHW image is copied into the kernel's channel-blocked, zero-bordered
 * layout, the kernel runs without pooling or ReLU, and its output is copied
 * back.  The input gradient is itself a 3x3 convolution of the output
 * gradient, with the weights transposed (in <-> out) and turned 180 degrees.
 * The weight gradient is a correlation of the two blocked images
 * (conv_wgrad.h).  With AVX-512 these are the direct AVX-512 kernels (about
 * 1.5x sgemm's rate on these shapes, no im2col and no col2im); elsewhere the
 * portable gemm kernel and im2col + sgemm for the weight gradient.
 */
#ifndef INSTSIM_TRAIN_CONV_H
#define INSTSIM_TRAIN_CONV_H

#include <stddef.h>

#include "conv.h"
#include "nn.h"

typedef struct is_train_conv
{
	const is_conv_impl *impl;
	/* weight gradient over the kernel's layout; NULL: im2col + sgemm */
	void		(*wgrad) (const is_conv_op *op, const float *x, const float *dy, float *gw,
						  float *gb);
	is_conv_op	fwd;			/* x -> y, the layer's weights and bias */
	is_conv_op	bwd;			/* dy -> dx, turned weights, zero bias; unused without dx */
	int			need_dx;
	float	   *wf, *bf, *wb, *bb;	/* packed weights and biases of fwd and bwd */
} is_train_conv;

/*
 * Sets up c for conv layer l with kernel kind (Winograd kinds mean the direct
 * kernel of their instruction set: there is no pooling here); returns the
 * floats of parameter memory it needs at mem (mem NULL: only measures).
 * need_dx: the input gradient is wanted.
 */
size_t		is_train_conv_init(is_train_conv *c, const is_layer *l, int need_dx,
							   is_conv_kind kind, float *mem);

/* Per-worker scratch floats for one image of this layer. */
size_t		is_train_conv_scratch(const is_train_conv *c);

/* Repacks the layer's current weights (after each optimiser step); tmp: in*out*9 floats. */
void		is_train_conv_pack(is_train_conv *c, const is_layer *l, float *tmp);

/*
 * One image: y (out_c x h x w) = conv(x) + bias.  sums (or NULL): each
 * output channel's sum and sum of squares are added into sums[2 o],
 * sums[2 o + 1], for the batch-norm after it.
 */
void		is_train_conv_forward(const is_train_conv *c, const float *x, float *y,
								  double *sums, float *scratch);

/*
 * One image: gw[out_c][in_c][9] and gb[out_c] += the weight and bias
 * gradients, and dx (in_c x h x w) = the input gradient (set up with
 * need_dx; dx NULL skips it), from the layer's input x and the output
 * gradient dy.
 */
void		is_train_conv_backward(const is_train_conv *c, const float *x, const float *dy,
								   float *dx, float *gw, float *gb, float *scratch);

#endif
