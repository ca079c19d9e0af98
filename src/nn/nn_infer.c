/*
 * Inference plans: the layer table compiled into fused operations over one
 * pre-allocated arena, and the batched, optionally threaded, forward pass.
 *
 * Plan grammar (what is_infer_create accepts): feature-map blocks
 * conv3x3 [batchnorm] [relu] [maxpool2] (relu and maxpool2 in either order),
 * then gap, then vector layers linear [batchnorm], relu, l2norm.  Batch-norm
 * is folded into the preceding convolution or linear layer.
 *
 * Threads: worker t owns a contiguous share of the batch; with at least one
 * image per worker it takes its images one at a time through every layer
 * (no synchronisation at all), with fewer images the rows of each
 * convolution are split and the workers meet at a barrier after it.  With
 * one thread no thread is created and no lock is taken.  Workers persist for
 * the plan's lifetime (workers.c: between passes they spin briefly, then
 * sleep; at a barrier they spin, then yield).
 *
 * Interrupts: after every convolution the caller's thread (worker 0) asks the
 * plan's interrupt callback whether to stop.  Its answer is published as the
 * step it was given at; in the barrier mode every worker reads it after the
 * barrier that follows, so all leave at the same layer and none is left
 * waiting at a barrier.  The pass then returns normally to the caller.
 */
#include "nn.h"
#include "errmsg.h"
#include "conv.h"
#include "names.h"
#include "workers.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#define MAX_THREADS 64

typedef enum op_kind
{
	OP_CONV, OP_GAP, OP_LINEAR, OP_RELU, OP_L2NORM
} op_kind;

typedef struct op
{
	op_kind		kind;
	/* OP_CONV */
	is_conv_op	conv;
	const is_conv_impl *impl;
	is_conv_kind conv_kind;
	size_t		in_off, out_off;	/* activation buffers in the arena */
	/* OP_LINEAR: weight[out][in] with batch-norm folded */
	int			in_f, out_f;
	const float *weight, *bias;
	/* while building: folded parameters before packing */
	float	   *tmp_w, *tmp_b;
	size_t		w_off, b_off;
} op;

struct is_infer
{
	int			n_ops;
	op			ops[IS_NET_MAX_LAYERS];
	is_act		input;
	int			out_dim;
	int			max_f;			/* widest vector stage, row stride of vec buffers */
	/*
	 * digest[k]: what the first k + 1 operations compute (their kinds,
	 * shapes, kernels and folded parameters), for finding the prefix that
	 * two plans share
	 */
	unsigned char digest[IS_NET_MAX_LAYERS][32];
	int			max_batch;
	int			threads;
	float	   *arena;
	size_t		arena_floats;
	size_t		in_off, vec_off[2], scratch_off, scratch_floats;

	/*
	 * The pass being run: operations [first, end).  Plans may share a
	 * prefix; a prefix pass (end < n_ops) writes the activation after it,
	 * and a suffix pass (first > 0) reads that activation as its input.
	 * Prefix then suffix is the whole pass, bit for bit: the suffix's first
	 * operation reads the handed-over activation (op_input), laid out as in
	 * the arena, halo included, with the same split of images between workers.
	 */
	int			first, end;
	const float *in;
	float	   *out;
	int			n;
	int			stop_step;		/* INT_MAX, or the step at which worker 0 stopped */

	is_interrupt_fn interrupt;
	void	   *interrupt_arg;
	is_workers *workers;		/* threads - 1 helper threads (workers.c) */
};


static const char *const conv_names[] = {
	[IS_CONV_AUTO] = "auto",
	[IS_CONV_GEMM] = "gemm",
	[IS_CONV_AVX2] = "avx2",
	[IS_CONV_AVX512] = "avx512",
	[IS_CONV_WINO_AVX2] = "wino-avx2",
	[IS_CONV_WINO_AVX512] = "wino-avx512",
	[IS_CONV_WINO_BF16] = "wino-bf16",
	[IS_CONV_WINO4_AVX2] = "wino4-avx2",
	[IS_CONV_WINO4_AVX512] = "wino4-avx512",
};

/* instsim.conv_kernel offers the kinds 0..IS_CONV_KINDS-1 by these names */
_Static_assert(IS_N_NAMES(conv_names) == IS_CONV_KINDS, "a convolution kind without a name, or IS_CONV_KINDS stale");

const char *
is_conv_kind_name(is_conv_kind kind)
{
	return is_name_of(conv_names, IS_N_NAMES(conv_names), (int) kind);
}

int
is_conv_kind_from_env(is_conv_kind *kind, char *err, size_t errlen)
{
	const char *env = getenv("INSTSIM_CONV_KERNEL");
	is_conv_kind k;
	char		want[128];

	if (!env || !*env)
		return 0;
	if (is_conv_kind_parse(env, &k) < 0)
		return is_fail(err, errlen, "INSTSIM_CONV_KERNEL=%s: want %s", env,
					   is_names_list(conv_names, IS_N_NAMES(conv_names), want, sizeof(want)));
	if (!is_conv_supported(k))
		return is_fail(err, errlen, "INSTSIM_CONV_KERNEL=%s (the environment of this process, "
					   "e.g. the server's) names a kernel this CPU does not run: unset it or choose another",
					   env);
	*kind = k;
	return 0;
}

int
is_conv_kind_parse(const char *name, is_conv_kind *kind)
{
	int			i = is_name_index(conv_names, IS_N_NAMES(conv_names), name);

	if (i >= 0)
		*kind = (is_conv_kind) i;
	return i < 0 ? -1 : 0;
}

int
is_conv_supported(is_conv_kind kind)
{
	__builtin_cpu_init();
	switch (kind)
	{
		case IS_CONV_AUTO:
		case IS_CONV_GEMM:
			return 1;
		case IS_CONV_AVX2:
		case IS_CONV_WINO_AVX2:
		case IS_CONV_WINO4_AVX2:
			return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
		case IS_CONV_AVX512:
		case IS_CONV_WINO_AVX512:
		case IS_CONV_WINO4_AVX512:
			return __builtin_cpu_supports("avx512f");
		case IS_CONV_WINO_BF16:
			return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
				__builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
	}
	return 0;
}

is_conv_kind
is_conv_wino4_widest(void)
{
	return is_conv_supported(IS_CONV_AVX512) ? IS_CONV_WINO4_AVX512 :
		is_conv_supported(IS_CONV_AVX2) ? IS_CONV_WINO4_AVX2 : IS_CONV_GEMM;
}

static const is_conv_impl *const conv_impls[] = {
	[IS_CONV_AUTO] = &is_conv_gemm,
	[IS_CONV_GEMM] = &is_conv_gemm,
	[IS_CONV_AVX2] = &is_conv_avx2,
	[IS_CONV_AVX512] = &is_conv_avx512,
	[IS_CONV_WINO_AVX2] = &is_conv_wino_avx2,
	[IS_CONV_WINO_AVX512] = &is_conv_wino_avx512,
	[IS_CONV_WINO_BF16] = &is_conv_wino_bf16,
	[IS_CONV_WINO4_AVX2] = &is_conv_wino4_avx2,
	[IS_CONV_WINO4_AVX512] = &is_conv_wino4_avx512,
};

/*
 * The kernel for one convolution reading activation `in`.  AUTO takes the
 * widest instruction set the CPU runs, with Winograd F(4x4, 3x3): 1.2-1.3x
 * the segments per second of F(2x2, 3x3) on the shipped models, which beat
 * the direct kernels on every pooled layer (bench/cnn/RESULTS.md), at the
 * same embedding error against gemm; never a bfloat16 kind, whose results
 * are not float32's.  Winograd needs pooling and an input in its own channel
 * blocks; otherwise the direct kernel of its ISA.
 */
static is_conv_kind
conv_choose(is_conv_kind want, const is_act *in, int pool)
{
	if (want == IS_CONV_AUTO)
		want = is_conv_wino4_widest();
	if (want != is_conv_direct_kind(want) && !(pool && in->block == conv_impls[want]->block))
		want = is_conv_direct_kind(want);
	return want;
}

const is_conv_impl *
is_conv_impl_of(is_conv_kind kind)
{
	return conv_impls[kind];
}

/* Applies batch-norm layer bn to the rows (output channels) of w and b. */
static void
fold_bn(const is_layer *bn, float *w, float *b, int rows, size_t row_len)
{
	for (int o = 0; o < rows; o++)
	{
		float		s = bn->param[0][o] / sqrtf(bn->param[3][o] + bn->eps);

		for (size_t i = 0; i < row_len; i++)
			w[o * row_len + i] *= s;
		b[o] = (b[o] - bn->param[2][o]) * s + bn->param[1][o];
	}
}

/* Copies weight and bias of layer l (conv or linear) into op->tmp_*, folding a following batch-norm. */
static int
take_params(op *o, const is_layer *l, const is_layer *bn, size_t row_len)
{
	size_t		nw = (size_t) l->out_c * row_len;

	o->tmp_w = malloc(nw * sizeof(float));
	o->tmp_b = malloc((size_t) l->out_c * sizeof(float));
	if (!o->tmp_w || !o->tmp_b)
		return -1;
	memcpy(o->tmp_w, l->param[0], nw * sizeof(float));
	memcpy(o->tmp_b, l->param[1], (size_t) l->out_c * sizeof(float));
	if (bn)
		fold_bn(bn, o->tmp_w, o->tmp_b, l->out_c, row_len);
	return 0;
}

static int
build_ops(is_infer *p, const is_net *net, is_conv_kind want, char *err, size_t errlen)
{
	is_act		cur = {net->in_c, net->in_h, net->in_w, 1};
	int			feat = 0;

	p->input = cur;
	for (int i = 0; i < net->n_layers; i++)
	{
		const is_layer *l = &net->layers[i];
		const is_layer *bn = i + 1 < net->n_layers &&
			net->layers[i + 1].kind == IS_LAYER_BATCHNORM ? &net->layers[i + 1] : NULL;
		op		   *o = &p->ops[p->n_ops++];

		switch (l->kind)
		{
			case IS_LAYER_CONV3X3:
				o->kind = OP_CONV;
				o->conv.in = cur;
				if (take_params(o, l, bn, (size_t) l->in_c * 9) < 0)
					return is_fail(err, errlen, "out of memory");
				i += bn != NULL;
				cur.c = l->out_c;
				/* absorb ReLU and one max-pool, in either order */
				while (i + 1 < net->n_layers)
				{
					is_layer_kind k = net->layers[i + 1].kind;

					if (k == IS_LAYER_RELU)
						o->conv.relu = 1;
					else if (k == IS_LAYER_MAXPOOL2 && !o->conv.pool)
					{
						o->conv.pool = 1;
						cur.h /= 2;
						cur.w /= 2;
					}
					else
						break;
					i++;
				}
				o->conv_kind = conv_choose(want, &o->conv.in, o->conv.pool);
				o->impl = conv_impls[o->conv_kind];
				cur.block = o->impl->block;
				o->conv.out = cur;
				break;
			case IS_LAYER_GAP:
				o->kind = OP_GAP;
				o->conv.in = cur;
				feat = cur.c;
				break;
			case IS_LAYER_LINEAR:
				o->kind = OP_LINEAR;
				o->in_f = l->in_c;
				o->out_f = l->out_c;
				if (take_params(o, l, bn, (size_t) l->in_c) < 0)
					return is_fail(err, errlen, "out of memory");
				i += bn != NULL;
				feat = l->out_c;
				break;
			case IS_LAYER_RELU:
			case IS_LAYER_L2NORM:
				if (!feat)
					return is_fail(err, errlen, "layer %d (%s) on a feature map must follow a conv3x3",
								i, is_layer_kind_name(l->kind));
				o->kind = l->kind == IS_LAYER_RELU ? OP_RELU : OP_L2NORM;
				o->in_f = feat;
				break;
			default:
				return is_fail(err, errlen, "layer %d (%s) must directly follow a %s",
							i, is_layer_kind_name(l->kind),
							l->kind == IS_LAYER_BATCHNORM ? "conv3x3 or linear" : "conv3x3 block");
		}
		if (feat > p->max_f)
			p->max_f = feat;
	}
	p->out_dim = feat;
	return 0;
}

/* Arena offsets are in floats, every buffer aligned to a cache line. */
static size_t
reserve(size_t *top, size_t floats)
{
	size_t		at = *top;

	*top += is_round16(floats);
	return at;
}

static void
layout(is_infer *p)
{
	size_t		top = 0;
	size_t		scratch = 0;
	size_t		act = reserve(&top, (size_t) p->max_batch * is_act_image(&p->input));

	p->in_off = act;
	for (int i = 0; i < p->n_ops; i++)
	{
		op		   *o = &p->ops[i];

		if (o->kind == OP_CONV)
		{
			is_conv_op *c = &o->conv;
			size_t		s = o->impl->scratch_floats(c);

			o->w_off = reserve(&top, o->impl->packed_floats(c->in.c, c->in.block, c->out.c));
			o->b_off = reserve(&top, is_act_padded_c(&c->out));
			o->in_off = act;
			o->out_off = act = reserve(&top, (size_t) p->max_batch * is_act_image(&c->out));
			if (s > scratch)
				scratch = s;
		}
		else if (o->kind == OP_LINEAR)
		{
			o->w_off = reserve(&top, (size_t) o->out_f * o->in_f);
			o->b_off = reserve(&top, o->out_f);
			o->in_off = act;
		}
		else
			o->in_off = act;
	}
	p->vec_off[0] = reserve(&top, (size_t) p->max_batch * p->max_f);
	p->vec_off[1] = reserve(&top, (size_t) p->max_batch * p->max_f);
	p->scratch_floats = is_round16(scratch);
	p->scratch_off = reserve(&top, p->scratch_floats * p->threads);
	p->arena_floats = top;
}

/*
 * Adds operation o to the running digest: everything its output depends on
 * besides its input (kind, shapes, kernel and layout, folded parameters).
 */
static void
digest_op(struct sha256_ctx *ctx, const op *o)
{
	int			desc[12] = {o->kind, o->in_f, o->out_f, o->conv_kind, o->conv.relu, o->conv.pool,
		o->conv.in.c, o->conv.in.h, o->conv.in.w, o->conv.in.block, o->conv.out.c, o->conv.out.block};
	size_t		rows = o->kind == OP_CONV ? (size_t) o->conv.out.c : (size_t) o->out_f,
				row_len = o->kind == OP_CONV ? (size_t) o->conv.in.c * 9 : (size_t) o->in_f;

	sha256_update(ctx, sizeof(desc), (const uint8_t *) desc);
	if (o->tmp_w)
	{
		sha256_update(ctx, rows * row_len * sizeof(float), (const uint8_t *) o->tmp_w);
		sha256_update(ctx, rows * sizeof(float), (const uint8_t *) o->tmp_b);
	}
}

static void
pack(is_infer *p)
{
	struct sha256_ctx ctx;
	int			in[3] = {p->input.c, p->input.h, p->input.w};

	sha256_init(&ctx);
	sha256_update(&ctx, sizeof(in), (const uint8_t *) in);
	for (int i = 0; i < p->n_ops; i++)
	{
		op		   *o = &p->ops[i];
		float	   *w = p->arena + o->w_off;
		float	   *b = p->arena + o->b_off;
		struct sha256_ctx snap;

		digest_op(&ctx, o);
		snap = ctx;
		sha256_digest(&snap, sizeof(p->digest[i]), p->digest[i]);

		if (o->kind == OP_CONV)
		{
			is_conv_op *c = &o->conv;

			o->impl->pack(o->tmp_w, c->in.c, c->in.block, c->out.c, w);
			memcpy(b, o->tmp_b, (size_t) c->out.c * sizeof(float));
			c->weight = w;
			c->bias = b;
		}
		else if (o->kind == OP_LINEAR)
		{
			memcpy(w, o->tmp_w, (size_t) o->out_f * o->in_f * sizeof(float));
			memcpy(b, o->tmp_b, (size_t) o->out_f * sizeof(float));
			o->weight = w;
			o->bias = b;
		}
		free(o->tmp_w);
		free(o->tmp_b);
		o->tmp_w = o->tmp_b = NULL;
	}
}

/* ---- the forward pass -------------------------------------------------- */

static void
sync_workers(is_infer *p)
{
	is_workers_sync(p->workers);
}

/*
 * Images [a, b) of the network's input into the arena, in its blocked
 * layout.  A suffix pass copies nothing: the prefix handed its activation
 * over in the arena's own layout, halo included, and op_input reads it there
 * (one copy per model sharing the prefix was a fifth of what the shared
 * models added to a call).
 */
static void
copy_input(is_infer *p, int a, int b)
{
	const is_act *in = &p->input;
	size_t		img = is_act_image(in);

	if (p->first > 0)
		return;
	for (int n = a; n < b; n++)
		for (int c = 0; c < in->c; c++)
			for (int y = 0; y < in->h; y++)
				memcpy(is_act_at(in, p->arena + p->in_off + n * img, c, y, 0),
					   p->in + (((size_t) n * in->c + c) * in->h + y) * in->w,
					   (size_t) in->w * sizeof(float));
}

/* Where operation o reads its images: the arena, or the handed-over activation. */
static const float *
op_input(const is_infer *p, const op *o)
{
	return p->first > 0 && o == &p->ops[p->first] ? p->in : p->arena + o->in_off;
}

/* Output rows [y0, y1) of image n through convolution o, on worker t's scratch. */
static void
conv_rows(is_infer *p, const op *o, size_t n, int y0, int y1, int t)
{
	const is_conv_op *c = &o->conv;

	o->impl->run(c, op_input(p, o) + n * is_act_image(&c->in),
				 p->arena + o->out_off + n * is_act_image(&c->out), y0, y1,
				 p->arena + p->scratch_off + p->scratch_floats * t);
}

/* Worker t's contiguous share of all (image, output row) pairs of convolution o. */
static void
run_conv(is_infer *p, const op *o, int t)
{
	size_t		rows = (size_t) o->conv.out.h;
	size_t		total = (size_t) p->n * rows;
	size_t		i0 = total * t / p->threads,
				i1 = total * (t + 1) / p->threads;

	while (i0 < i1)
	{
		size_t		n = i0 / rows;
		int			y0 = (int) (i0 % rows);
		int			y1 = i1 - n * rows < rows ? (int) (i1 - n * rows) : (int) rows;

		conv_rows(p, o, n, y0, y1, t);
		i0 = n * rows + y1;
	}
}

/* Worker 0 alone calls the callback: the server's may only run on its own thread. */
static void
poll_stop(is_infer *p, int t, int step)
{
	if (t == 0 && p->interrupt && p->stop_step == INT_MAX && p->interrupt(p->interrupt_arg))
		__atomic_store_n(&p->stop_step, step, __ATOMIC_RELEASE);
}

static int
stop_seen(is_infer *p, int step)
{
	return __atomic_load_n(&p->stop_step, __ATOMIC_ACQUIRE) <= step;
}

/*
 * The feature-map layers for worker t, whose images are [a, b).  When every
 * worker has an image, image by image through all convolutions: an image's
 * maps stay in L2 from layer to layer and workers never wait for each other.
 * Otherwise (batch smaller than the thread count) layer by layer, the rows of
 * each layer split between the workers with a barrier after it.
 */
static void
run_maps(is_infer *p, int t, int a, int b)
{
	if (p->n >= p->threads)
	{
		/* no barrier here: a worker leaves as soon as it sees the stop */
		for (int n = a; n < b; n++)
		{
			copy_input(p, n, n + 1);
			for (int i = p->first; i < p->end; i++)
				if (p->ops[i].kind == OP_CONV)
				{
					conv_rows(p, &p->ops[i], n, 0, p->ops[i].conv.out.h, t);
					poll_stop(p, t, 0);
					if (stop_seen(p, 0))
						return;
				}
		}
		return;					/* GAP and the head stay on the same images */
	}
	copy_input(p, a, b);
	sync_workers(p);
	for (int i = p->first, step = 0; i < p->end; i++)
		if (p->ops[i].kind == OP_CONV)
		{
			run_conv(p, &p->ops[i], t);
			poll_stop(p, t, ++step);
			sync_workers(p);
			if (stop_seen(p, step))
				return;
		}
}

/*
 * Sums of the B channels of one block over the map.  Whole blocks are summed
 * (channels past C are zero); the constant B lets the compiler keep the
 * sums in registers.
 */
static inline __attribute__((always_inline)) void
gap_block(const is_act *act, const float *img, int cb, float *sum, const int B)
{
	float		acc[16] = {0};

	for (int y = 0; y < act->h; y++)
	{
		const float *px = is_act_at(act, (float *) img, cb * B, y, 0);

		for (int x = 0; x < act->w; x++, px += B)
			for (int l = 0; l < B; l++)
				acc[l] += px[l];
	}
	for (int l = 0; l < B && cb * B + l < act->c; l++)
		sum[cb * B + l] = acc[l] / (float) (act->h * act->w);
}

static void
run_gap(is_infer *p, const op *o, int a, int b, float *v)
{
	const is_act *act = &o->conv.in;

	for (int n = a; n < b; n++)
	{
		const float *img = op_input(p, o) + n * is_act_image(act);
		float	   *sum = v + (size_t) n * p->max_f;

		for (int cb = 0; cb < is_act_blocks(act); cb++)
		{
			if (act->block == 16)
				gap_block(act, img, cb, sum, 16);
			else if (act->block == 8)
				gap_block(act, img, cb, sum, 8);
			else
				gap_block(act, img, cb, sum, 1);
		}
	}
}

static void
run_vector(is_infer *p, const op *o, int a, int b, float **v)
{
	int			ld = p->max_f;

	if (b <= a)
		return;
	if (o->kind == OP_LINEAR)
	{
		float	   *src = v[0] + (size_t) a * ld,
				   *dst = v[1] + (size_t) a * ld;

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b - a, o->out_f, o->in_f,
					1.0f, src, ld, o->weight, o->in_f, 0.0f, dst, ld);
		for (int n = 0; n < b - a; n++)
			for (int j = 0; j < o->out_f; j++)
				dst[(size_t) n * ld + j] += o->bias[j];
		dst = v[0];
		v[0] = v[1];
		v[1] = dst;
		return;
	}
	for (int n = a; n < b; n++)
	{
		float	   *x = v[0] + (size_t) n * ld;
		int			f = o->in_f;

		if (o->kind == OP_RELU)
		{
			for (int j = 0; j < f; j++)
				x[j] = x[j] > 0.0f ? x[j] : 0.0f;
		}
		else
		{
			double		ss = 0.0;

			for (int j = 0; j < f; j++)
				ss += (double) x[j] * x[j];
			ss = sqrt(ss);
			for (int j = 0; j < f; j++)
				x[j] = (float) (x[j] / (ss > 1e-12 ? ss : 1e-12));
		}
	}
}

/*
 * Floats per input of the activation after the first k operations: the
 * network's input (k = 0), a feature map, the pool's vector or the output;
 * 0 where no pass may stop (after a vector layer inside the head).
 */
static size_t
cut_floats(const is_infer *p, int k)
{
	if (k == 0)
		return (size_t) p->input.c * p->input.h * p->input.w;
	if (k == p->n_ops)
		return (size_t) p->out_dim;
	if (p->ops[k - 1].kind == OP_CONV)
		return is_act_image(&p->ops[k - 1].conv.out);
	if (p->ops[k - 1].kind == OP_GAP)
		return (size_t) p->ops[k - 1].conv.in.c;
	return 0;
}

/* Worker t's share of one pass over p->n inputs. */
static void
run_share(is_infer *p, int t)
{
	int			a,
				b;
	float	   *v[2] = {p->arena + p->vec_off[0], p->arena + p->vec_off[1]};
	size_t		in_floats = cut_floats(p, p->first),
				out_floats = cut_floats(p, p->end);

	is_work_range(p->n, t, p->threads, &a, &b);
	if (p->first > 0 && p->ops[p->first - 1].kind != OP_CONV)
		/* a suffix from the pool's vector on */
		for (int n = a; n < b; n++)
			memcpy(v[0] + (size_t) n * p->max_f, p->in + n * in_floats, in_floats * sizeof(float));
	else
	{
		run_maps(p, t, a, b);
		if (stop_seen(p, INT_MAX - 1))
			return;
	}
	if (p->end < p->n_ops && p->ops[p->end - 1].kind == OP_CONV)
	{
		/* a prefix ending at a feature map: hand it over as it lies in the arena */
		const op   *cut = &p->ops[p->end - 1];

		memcpy(p->out + a * out_floats, p->arena + cut->out_off + a * out_floats,
			   (b - a) * out_floats * sizeof(float));
		return;
	}
	for (int i = p->first; i < p->end; i++)
	{
		const op   *o = &p->ops[i];

		if (o->kind == OP_GAP)
			run_gap(p, o, a, b, v[0]);
		else if (o->kind != OP_CONV)
			run_vector(p, o, a, b, v);
	}
	for (int n = a; n < b; n++)
		memcpy(p->out + (size_t) n * out_floats, v[0] + (size_t) n * p->max_f,
			   out_floats * sizeof(float));
}

static void
share_worker(void *arg, int id, int count)
{
	run_share(arg, id);
}

void
is_infer_free(is_infer *p)
{
	if (!p)
		return;
	is_workers_free(p->workers);
	for (int i = 0; i < p->n_ops; i++)
	{
		free(p->ops[i].tmp_w);
		free(p->ops[i].tmp_b);
	}
	free(p->arena);
	free(p);
}

/* The plan up to its layout: operations and arena size, no arena yet. */
static is_infer *
plan_layout(const is_net *net, const is_infer_opts *opts, char *err, size_t errlen)
{
	is_conv_kind want = opts->conv;
	is_infer   *p;

	if (opts->max_batch < 1 || opts->max_batch > 65536)
		return is_fail(err, errlen, "max_batch %d out of range 1..65536", opts->max_batch), NULL;
	if (opts->threads < 1 || opts->threads > MAX_THREADS)
		return is_fail(err, errlen, "threads %d out of range 1..%d", opts->threads, MAX_THREADS), NULL;
	if (want == IS_CONV_AUTO && is_conv_kind_from_env(&want, err, errlen) < 0)
		return NULL;
	if (!is_conv_supported(want))
		return is_fail(err, errlen, "convolution kernel %s is not supported by this CPU",
					is_conv_kind_name(want)), NULL;
	if (!net->params)
		return is_fail(err, errlen, "network has no parameters (is_net_init not called)"), NULL;

	p = calloc(1, sizeof(*p));
	if (!p)
		return is_fail(err, errlen, "out of memory"), NULL;
	p->max_batch = opts->max_batch;
	p->threads = opts->threads;
	if (build_ops(p, net, want, err, errlen) < 0)
	{
		is_infer_free(p);
		return NULL;
	}
	layout(p);
	return p;
}

int
is_infer_plan_bytes(const is_net *net, const is_infer_opts *opts, size_t *bytes,
					char *err, size_t errlen)
{
	is_infer   *p = plan_layout(net, opts, err, errlen);

	if (!p)
		return -1;
	*bytes = p->arena_floats * sizeof(float);
	is_infer_free(p);
	return 0;
}

is_infer *
is_infer_create(const is_net *net, const is_infer_opts *opts, char *err, size_t errlen)
{
	size_t		max_arena = opts->max_arena ? opts->max_arena : IS_INFER_MAX_ARENA;
	is_infer   *p = plan_layout(net, opts, err, errlen);

	if (!p)
		return NULL;
	if (p->arena_floats > max_arena / sizeof(float))
	{
		is_fail(err, errlen, "the network needs a %zu-MB arena for batch %d, more than the %zu-MB limit",
				p->arena_floats * sizeof(float) >> 20, p->max_batch, max_arena >> 20);
		is_infer_free(p);
		return NULL;
	}
	p->arena = aligned_alloc(64, p->arena_floats * sizeof(float));
	if (!p->arena)
	{
		is_fail(err, errlen, "out of memory for a %zu-byte arena", p->arena_floats * sizeof(float));
		is_infer_free(p);
		return NULL;
	}
	/* zero once: the halos of every activation stay zero from now on */
	memset(p->arena, 0, p->arena_floats * sizeof(float));
	pack(p);
	if (!(p->workers = is_workers_create(p->threads, err, errlen)))
	{
		is_infer_free(p);
		return NULL;
	}
	return p;
}

size_t
is_infer_arena_bytes(const is_infer *p)
{
	return p->arena_floats * sizeof(float);
}

void
is_infer_set_interrupt(is_infer *p, is_interrupt_fn fn, void *arg)
{
	p->interrupt = fn;
	p->interrupt_arg = arg;
}

is_conv_kind
is_infer_conv_kind(const is_infer *p, int k)
{
	for (int i = 0; i < p->n_ops; i++)
		if (p->ops[i].kind == OP_CONV && k-- == 0)
			return p->ops[i].conv_kind;
	return IS_CONV_AUTO;
}

int
is_infer_shared_prefix(const is_infer *a, const is_infer *b)
{
	int			k = 0;

	for (int i = 0; i < a->n_ops && i < b->n_ops - 1; i++)
	{
		if (memcmp(a->digest[i], b->digest[i], sizeof(a->digest[i])) != 0)
			break;
		/* a cut leaves both a suffix */
		if (cut_floats(a, i + 1) > 0 && i + 1 < a->n_ops)
			k = i + 1;
	}
	return k;
}

size_t
is_infer_prefix_floats(const is_infer *p, int k)
{
	return k >= 0 && k <= p->n_ops ? cut_floats(p, k) : 0;
}

int
is_infer_prefix_act(const is_infer *p, int k, is_act *act)
{
	if (k < 1 || k >= p->n_ops || p->ops[k - 1].kind != OP_CONV)
		return -1;
	*act = p->ops[k - 1].conv.out;
	return 0;
}

/* Operations [first, end) of n inputs in batches; in and out per cut_floats. */
static int
run_ops(is_infer *p, int first, int end, const float *in, int n, float *out, char *err, size_t errlen)
{
	size_t		in_floats = cut_floats(p, first),
				out_floats = cut_floats(p, end);

	if (n < 0 || (n > 0 && (!in || !out)))
		return is_fail(err, errlen, "bad arguments: %d inputs", n);
	if (first < 0 || end > p->n_ops || first >= end || in_floats == 0 || out_floats == 0)
		return is_fail(err, errlen, "operations %d to %d of %d cannot run on their own", first, end, p->n_ops);
	p->first = first;
	p->end = end;
	for (int done = 0; done < n; done += p->max_batch)
	{
		p->in = in + (size_t) done * in_floats;
		p->out = out + (size_t) done * out_floats;
		p->n = n - done < p->max_batch ? n - done : p->max_batch;
		p->stop_step = INT_MAX;
		is_workers_run(p->workers, share_worker, p);
		if (p->stop_step != INT_MAX)
			return IS_INFER_STOPPED;
	}
	return 0;
}

int
is_infer_run(is_infer *p, const float *in, int n, float *out, char *err, size_t errlen)
{
	return run_ops(p, 0, p->n_ops, in, n, out, err, errlen);
}

int
is_infer_run_ops(is_infer *p, int first, int end, const float *in, int n, float *out,
				 char *err, size_t errlen)
{
	return run_ops(p, first, end, in, n, out, err, errlen);
}

int
is_infer_n_ops(const is_infer *p)
{
	return p->n_ops;
}
