/*
 * Inside the trainer: the state shared by train_net.c (arena, passes, the
 * convolution and vector layers) and train_fmap.c (the element-wise layers
 * over feature maps).  Not an interface: include train_net.h instead.
 *
 * Activation layout.  Feature maps live in the convolution kernels' layout
 * (conv.h): per image, blocks of b channels, each a zero-bordered plane of
 * b-float pixels, b being the kernel's block (16 with AVX-512, 8 with AVX2,
 * 1 for the portable kernel; the network input has b = 1 when it has one
 * channel).  So the kernels read and write the activations in place, and the
 * element-wise passes run along the b channels of a pixel, contiguous floats.
 * Vectors (after gap) are plain rows of features: b = 1, no border.  Every
 * pass writes only the interior of a feature map; borders stay zero, except in
 * the gradient buffers, which are shared between layers: the convolution
 * clears the border of the gradient it reads.
 */
#ifndef INSTSIM_TRAIN_INTERNAL_H
#define INSTSIM_TRAIN_INTERNAL_H

#include <stddef.h>

#include "simd_clones.h"
#include "train_conv.h"
#include "train_net.h"
#include "workers.h"

/* The most channels per block (AVX-512's 16 floats). */
#define TRAIN_MAX_BLOCK 16

/* Where one activation tensor's elements are. */
typedef struct train_view
{
	int			c, h, w;		/* channels, rows, columns (1 x 1 for vectors) */
	int			b;				/* channels per block */
	int			halo;			/* 1: zero border (feature maps), 0: vectors */
	size_t		plane;			/* floats per channel block */
	size_t		image;			/* floats per image */
} train_view;

/* Interior row y of channel block cb of image n. */
static inline float *
train_row(const train_view *v, float *base, int n, int cb, int y)
{
	return base + n * v->image + cb * v->plane +
		((size_t) (y + v->halo) * (v->w + 2 * v->halo) + v->halo) * v->b;
}

static inline int
train_blocks(const train_view *v)
{
	return (v->c + v->b - 1) / v->b;
}

typedef struct layer_state
{
	float	   *mean, *invstd;	/* batchnorm: batch statistics of the last forward */
	float	   *norm;			/* l2norm: |x| per input */
	is_train_conv conv;			/* conv3x3: the kernels and their packed weights */
	size_t		param_off;		/* offset of param[0] in net->params */
} layer_state;

struct is_train
{
	is_net	   *net;
	int			max_batch;
	is_workers *workers;
	int			n_workers;
	float	   *arena;
	size_t		arena_floats;

	/*
	 * act[i] = input of layer i; NULL where it is never stored (the
	 * batch-norm and ReLU outputs of a fused block, a recomputed
	 * convolution's output: train_net.c).
	 */
	float	   *act[IS_NET_MAX_LAYERS + 1];
	train_view	view[IS_NET_MAX_LAYERS + 1];	/* and its layout */
	float	   *dbuf[2];		/* gradients w.r.t. activations, ping-pong */
	layer_state ls[IS_NET_MAX_LAYERS];
	is_conv_kind conv_kind;		/* kernel of the convolutions (train_conv.h) */
	float	   *conv_scratch;	/* per worker, for the convolutions */
	size_t		conv_scratch_floats;
	float	   *wacc;			/* per worker: a Winograd weight gradient's dU (train_conv.h) */
	size_t		wacc_floats;
	int			recompute;		/* recompute cheap blocks (train_net.c recomputed()) */
	float	   *rc;				/* per worker: one recomputed convolution output */
	size_t		rc_floats;
	float	   *flip;			/* turned weights while packing */
	float	   *gacc;			/* per worker: parameter gradients */
	double	   *part;			/* per worker: per-channel partial sums */
	size_t		part_doubles;

	int			n;				/* batch of the last forward */
};

typedef struct phase phase;

/* One worker's share of a phase: images [lo, hi) of the batch. */
typedef void (*phase_fn) (const phase *ph, const is_layer *l, int id, int lo, int hi);

struct phase
{
	is_train   *t;
	int			layer;
	const float *dy;			/* backward: gradient w.r.t. the layer's output */
	float	   *dx;				/* backward: gradient w.r.t. its input (or NULL) */
	int			relu;			/* batch-norm fused with the in-place ReLU after it */
	phase_fn	fn;
};

/* train_fmap.c: the element-wise layers (batch-norm also on vectors); the fused block is train_block_image. */
void		train_bn_sums(const phase *ph, const is_layer *l, int id, int lo, int hi);
void		train_bn_apply(const phase *ph, const is_layer *l, int id, int lo, int hi);
void		train_bn_backward(const phase *ph, const is_layer *l, int id, int lo, int hi);
void		train_relu(const phase *ph, const is_layer *l, int id, int lo, int hi);
void		train_pool(const phase *ph, const is_layer *l, int id, int lo, int hi);
void		train_gap(const phase *ph, const is_layer *l, int id, int lo, int hi);
/* Adds image n's per-channel sum and sum of squares of tensor x (view v) into part. */
void		train_image_sums(const train_view *v, const float *x, int n, double *part);

/* What one pass over the 2x2 cells of an image does (train_fmap.c). */
enum
{
	CELLS_FWD,					/* pooled output into out */
	CELLS_ROUTE,				/* routed gradient into d (full size); max-pool only */
	CELLS_SUMS,					/* only batch-norm's backward sums */
	CELLS_APPLY					/* routing and batch-norm backward, in place over x */
};

/*
 * One image of the fused block whose batch-norm is layer `layer`, its input
 * x (the convolution's output, layout t->view[layer]) held outside the
 * activations: CELLS_FWD writes the pooled image out; CELLS_SUMS adds the
 * backward sums for the pooled gradient g into part; CELLS_APPLY turns x into
 * the gradient w.r.t. the convolution's output, from g and the reduced sums
 * in t->part.
 */
void		train_block_image(const is_train *t, int layer, int mode, float *x, float *out,
							  const float *g, double *part);

#endif
