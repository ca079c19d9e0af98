/*
 * The embedding network as a layer table.
 *
 * Two levels, so that a trainer and the inference engine share one
 * description of the network:
 *
 *   is_net    the layer table plus the raw parameters exactly as a trainer
 *             updates and saves them (conv weight/bias, batch-norm gamma/beta/
 *             running statistics, linear weight/bias).  model.c reads and
 *             writes it; shapes are derived from the table by is_net_init.
 *   is_infer  an inference plan compiled from an is_net for one maximum batch
 *             size, thread count and kernel choice: batch-norm folded into the
 *             convolutions, weights packed for the chosen kernel, and one arena
 *             holding every activation, so forward passes never allocate.
 *
 * Tensors are float32, row-major, NCHW at the API boundary.
 */
#ifndef INSTSIM_NN_H
#define INSTSIM_NN_H

#include <stddef.h>

#define IS_NET_MAX_LAYERS 64
#define IS_NET_MAX_PARAMS 4		/* tensors per layer */

typedef enum is_layer_kind
{
	IS_LAYER_CONV3X3,			/* 3x3, stride 1, zero padding 1; params weight[out][in][3][3], bias[out] */
	IS_LAYER_BATCHNORM,			/* per channel, eval mode; weight, bias, running_mean, running_var */
	IS_LAYER_RELU,
	IS_LAYER_MAXPOOL2,			/* 2x2, stride 2, floor */
	IS_LAYER_GAP,				/* global average pool: C x H x W -> C */
	IS_LAYER_LINEAR,			/* weight[out][in], bias[out] */
	IS_LAYER_L2NORM				/* y = x / max(|x|, 1e-12), as torch F.normalize */
} is_layer_kind;

typedef struct is_layer
{
	is_layer_kind kind;
	int			out;			/* conv: output channels; linear: output features */
	float		eps;			/* batchnorm */

	/* Derived by is_net_init: input and output shape (c x h x w; h = w = 1 for vectors). */
	int			in_c, in_h, in_w;
	int			out_c, out_h, out_w;

	/* Parameter tensors, pointing into is_net.params (NULL before allocation). */
	int			n_params;
	float	   *param[IS_NET_MAX_PARAMS];
} is_layer;

typedef struct is_net
{
	int			in_c, in_h, in_w;	/* one network input, e.g. 1 x 128 mels x 130 frames */
	int			n_layers;
	is_layer	layers[IS_NET_MAX_LAYERS];
	size_t		n_floats;		/* total parameter count */
	float	   *params;			/* owned; all tensors back to back in is_net_tensor order */
} is_net;

/* One parameter tensor, named as in a PyTorch nn.Sequential state_dict ("4.weight"). */
typedef struct is_tensor
{
	char		name[32];
	int			ndim;
	int			shape[4];
	size_t		count;
	float	   *data;
} is_tensor;

/* Layer kinds by their name in the model metadata ("conv3x3", "batchnorm", ...). */
const char *is_layer_kind_name(is_layer_kind kind);
int			is_layer_kind_parse(const char *name, is_layer_kind *kind);

/*
 * Checks the table (kinds, sizes, order), derives every shape and allocates the
 * zeroed parameter storage.  Call with in_*, n_layers and layers[].kind/out/eps
 * set.  Returns 0, or -1 with a message in err.
 */
int			is_net_init(is_net *net, char *err, size_t errlen);
void		is_net_free(is_net *net);

/*
 * The paper's layer table (its channels are 16, 32, 64, 128): per channel
 * count c in channels[0..n_blocks), the block [conv3x3(c), batchnorm, relu,
 * maxpool2]; then gap, linear(emb_dim), l2norm.  Sets the table and calls
 * is_net_init.
 */
int			is_net_default(is_net *net, int in_c, int in_h, int in_w,
						   const int *channels, int n_blocks, int emb_dim,
						   char *err, size_t errlen);

/* Number of parameter tensors, and the i-th one (0 <= i < count). */
int			is_net_tensor_count(const is_net *net);
int			is_net_tensor(const is_net *net, int i, is_tensor *t);

/* Embedding size (the last layer's output features). */
int			is_net_out_dim(const is_net *net);

/*
 * The layer of the conv that starts block `blocks` + 1 (counting conv
 * layers), i.e. the one that reads the first `blocks` blocks' output; -1
 * when there is none or blocks < 0.
 */
int			is_net_block_start(const is_net *net, int blocks);

/* Floating-point operations of one forward pass of one input (multiply-add = 2). */
double		is_net_flops(const is_net *net);

/* The 3x3-convolution implementations. */
typedef enum is_conv_kind
{
	IS_CONV_AUTO = 0,			/* the fastest supported by this CPU, per layer */
	IS_CONV_GEMM,				/* im2col + cblas_sgemm, portable */
	IS_CONV_AVX2,				/* own direct kernel, 8-channel blocks */
	IS_CONV_AVX512,				/* own direct kernel, 16-channel blocks */
	IS_CONV_WINO_AVX2,			/* Winograd F(2x2,3x3) for pooled layers, else direct AVX2 */
	IS_CONV_WINO_AVX512,		/* Winograd F(2x2,3x3) for pooled layers, else direct AVX-512 */
	IS_CONV_WINO_BF16,			/* wino-avx512 with its GEMM in bfloat16 (AVX512_BF16), float32
								 * sums: reduced precision, never chosen by AUTO */
	IS_CONV_WINO4_AVX2,			/* Winograd F(4x4,3x3) for pooled layers, else direct AVX2 */
	IS_CONV_WINO4_AVX512		/* Winograd F(4x4,3x3) for pooled layers, else direct AVX-512 */
} is_conv_kind;

#define IS_CONV_KINDS (IS_CONV_WINO4_AVX512 + 1)

const char *is_conv_kind_name(is_conv_kind kind);
int			is_conv_kind_parse(const char *name, is_conv_kind *kind);
int			is_conv_supported(is_conv_kind kind);
/*
 * Winograd F(4x4, 3x3) of the widest instruction set the CPU runs (AVX-512,
 * then AVX2 + FMA), else gemm: what inference's AUTO starts from, and the
 * trainer's default (train_conv.c), each by its own choice.
 */
is_conv_kind is_conv_wino4_widest(void);

/*
 * The kernel INSTSIM_CONV_KERNEL names (*kind unchanged when it is unset or
 * empty); -1 with err set when it names no kernel or one this CPU does not
 * run.  Inference plans and the trainer read the variable through this.
 */
int			is_conv_kind_from_env(is_conv_kind *kind, char *err, size_t errlen);

typedef struct is_infer_opts
{
	int			max_batch;		/* inputs per internal pass; larger calls are chunked */
	int			threads;		/* the plan's own workers; 1 = no thread is created.
								 * The gemm kernel and linear layers call
								 * cblas_sgemm from every worker: run OpenBLAS
								 * single-threaded (OPENBLAS_NUM_THREADS=1 or
								 * openblas_set_num_threads(1)). */
	is_conv_kind conv;			/* IS_CONV_AUTO honours env INSTSIM_CONV_KERNEL
								 * (auto, gemm, avx2, avx512, wino-avx2, wino-avx512,
								 * wino-bf16) */
	size_t		max_arena;		/* bytes; 0 means IS_INFER_MAX_ARENA */
} is_infer_opts;

/*
 * Asked between layers, on the caller's thread only, whether to stop the pass
 * (e.g. a query was cancelled): nonzero stops it.  The callback must return;
 * it must not longjmp, since helper threads may be inside the pass.
 */
typedef int (*is_interrupt_fn) (void *arg);

typedef struct is_infer is_infer;

/* Plans larger than this (or opts.max_arena) are refused, so a hostile layer table cannot exhaust memory. */
#define IS_INFER_MAX_ARENA ((size_t) 2 << 30)

/*
 * Compiles the plan: folds batch-norm, packs weights and allocates the arena
 * (is_infer_arena_bytes tells its size).  The plan copies what it needs; the
 * net may be freed afterwards.  Returns NULL with a message in err.
 */
is_infer   *is_infer_create(const is_net *net, const is_infer_opts *opts,
							char *err, size_t errlen);
void		is_infer_free(is_infer *plan);
/* The arena bytes is_infer_create would allocate for these options; 0 or -1. */
int			is_infer_plan_bytes(const is_net *net, const is_infer_opts *opts, size_t *bytes,
								char *err, size_t errlen);
size_t		is_infer_arena_bytes(const is_infer *plan);
/*
 * The kernel chosen for the k-th convolution (k counts convolutions only).
 * A Winograd choice runs layers it cannot take (no pooling, or input not in
 * the kernel's channel blocks, i.e. the first layer) on the direct kernel of
 * the same instruction set, and this reports that.  IS_CONV_AUTO when k is
 * past the last convolution.
 */
is_conv_kind is_infer_conv_kind(const is_infer *plan, int k);

/* Installs fn (NULL: none), polled by every later is_infer_run between layers. */
void		is_infer_set_interrupt(is_infer *plan, is_interrupt_fn fn, void *arg);

/* is_infer_run's result when the interrupt callback stopped the pass. */
#define IS_INFER_STOPPED 1

/*
 * Forward pass of n inputs (n x in_c x in_h x in_w) into n x out_dim outputs.
 * Returns 0; IS_INFER_STOPPED when the interrupt callback asked to stop (every
 * thread has then left the pass and the outputs are undefined); or -1 with a
 * message on bad arguments (n < 0, NULL buffers).
 * Not reentrant on one plan: one plan per concurrent caller.
 */
int			is_infer_run(is_infer *plan, const float *in, int n, float *out,
						 char *err, size_t errlen);

/*
 * Models trained together on one trunk (a head per instrument, instsim-train
 * --instrument A,B,...) or on another model's frozen first blocks
 * (instsim-train --trunk; the activation's layout: is_infer_prefix_act in
 * conv.h) compute the same first operations, so a caller
 * running several of them on the same inputs runs those once and each
 * model's rest on the result.  Running operations [0, k) then [k, n_ops)
 * gives is_infer_run's output bit for bit.
 *
 * is_infer_shared_prefix: how many leading operations a and b compute
 * identically (same layers, folded parameters, kernels and layouts), cut
 * where a pass may stop (after a convolution block or the pool) and leaving
 * both a suffix; 0 if none.  is_infer_prefix_floats: floats per input of the
 * activation after the first k operations.  is_infer_run_ops: n inputs
 * (first 0) or n activations after `first` operations (of this plan or of
 * one that shares them) through operations [first, end), both cuts where a
 * pass may stop, into n activations, or n x out_dim outputs when end is
 * is_infer_n_ops (interruptible like is_infer_run).
 */
int			is_infer_shared_prefix(const is_infer *a, const is_infer *b);
size_t		is_infer_prefix_floats(const is_infer *plan, int k);
int			is_infer_n_ops(const is_infer *plan);
int			is_infer_run_ops(is_infer *plan, int first, int end, const float *in, int n,
							 float *out, char *err, size_t errlen);

#endif
