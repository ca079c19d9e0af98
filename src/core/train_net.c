/*
 * Training forward/backward over plain NCHW activations (no halo: the
 * convolutions copy each image into their kernels' layout, train_conv.c).  Each layer is one or two parallel phases over
 * the batch; cross-image sums (batch-norm statistics, parameter gradients)
 * are kept per worker and reduced in worker order by the caller's thread.
 */
#include "train_net.h"

#include <cblas.h>
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "train_conv.h"
#include "workers.h"

#define L2NORM_EPS 1e-12f

/*
 * The element-wise passes are memory- and vector-bound: each is compiled for
 * AVX-512, AVX2 and the baseline, and the loader picks one for the CPU (the
 * build itself stays portable).  Not for clang, which PGXS uses for bitcode.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TRAIN_SIMD __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define TRAIN_SIMD
#endif

typedef struct layer_state
{
	float	   *mean, *invstd;	/* batchnorm: batch statistics of the last forward */
	float	   *norm;			/* l2norm: |x| per input */
	is_train_conv conv;			/* conv3x3: forward and input gradient */
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

	float	   *act[IS_NET_MAX_LAYERS + 1];	/* act[i] = input of layer i */
	float	   *dbuf[2];		/* gradients w.r.t. activations, ping-pong */
	layer_state ls[IS_NET_MAX_LAYERS];
	is_conv_kind conv_kind;		/* kernel of the convolutions (train_conv.h) */
	int			avx512;			/* the fused block runs 16 cells at a time (with the AVX-512 kernel) */
	float	   *conv_scratch;	/* per worker: one image in the kernels' layout */
	size_t		conv_scratch_floats;
	float	   *flip;			/* turned weights while packing */
	float	   *gacc;			/* per worker: parameter gradients */
	double	   *part;			/* per worker: per-channel partial sums */
	size_t		part_doubles;

	int			n;				/* batch of the last forward */
};

static size_t
act_floats(int c, int h, int w)
{
	return (size_t) c * h * w;
}

static size_t
layer_in(const is_layer *l)
{
	return act_floats(l->in_c, l->in_h, l->in_w);
}

static size_t
layer_out(const is_layer *l)
{
	return act_floats(l->out_c, l->out_h, l->out_w);
}

/* ReLU overwrites its input unless the layer before needs its own output. */
static int
relu_in_place(const is_net *net, int i)
{
	return i > 0 && net->layers[i - 1].kind != IS_LAYER_L2NORM;
}

/*
 * A batch-norm followed by a ReLU runs as one pass each way: the ReLU is in
 * place, so its output is the batch-norm's output buffer, and its backward
 * mask (output > 0) is applied while reading dy.
 */
static int
fuses_relu(const is_net *net, int i)
{
	return net->layers[i].kind == IS_LAYER_BATCHNORM && i + 1 < net->n_layers &&
		net->layers[i + 1].kind == IS_LAYER_RELU;
}

/*
 * batchnorm -> relu -> maxpool2 (the default block after each convolution)
 * runs fused: forward writes only the pooled output, backward routes the pooled gradient through the winner, the ReLU mask
 * (recomputed from the batch-norm input) and batch-norm in two passes.  The
 * full-size batch-norm/ReLU output is never written or read.
 */
static int
fused_block(const is_net *net, int i)
{
	return fuses_relu(net, i) && i + 2 < net->n_layers &&
		net->layers[i + 2].kind == IS_LAYER_MAXPOOL2;
}

int
is_net_tensor_trained(const is_net *net, int index)
{
	for (int i = 0; i < net->n_layers; i++)
	{
		const is_layer *l = &net->layers[i];

		if (index < l->n_params)
			return !(l->kind == IS_LAYER_BATCHNORM && index >= 2);
		index -= l->n_params;
	}
	return 0;
}

/* ---- arena ------------------------------------------------------------- */

/* Hands out count floats at *off, cache-line aligned; only measures when base is NULL. */
static void
take(float *base, size_t *off, float **ptr, size_t count)
{
	if (base)
		*ptr = base + *off;
	*off += (count + 15) & ~(size_t) 15;
}

/* Lays the arena out (base == NULL only measures); returns its float count. */
static size_t
layout(is_train *t, float *base)
{
	const is_net *net = t->net;
	size_t		nb = (size_t) t->max_batch;
	size_t		off = 0;
	size_t		max_act = nb * act_floats(net->in_c, net->in_h, net->in_w);
	size_t		max_c = 1;
	size_t		max_scratch = 1;
	size_t		max_w = 1;

	take(base, &off, &t->act[0], max_act);
	for (int i = 0; i < net->n_layers; i++)
	{
		const is_layer *l = &net->layers[i];
		size_t		out = nb * layer_out(l);

		if (l->kind == IS_LAYER_RELU && relu_in_place(net, i))
		{
			if (base)
				t->act[i + 1] = t->act[i];
		}
		else if (!fused_block(net, i))
			take(base, &off, &t->act[i + 1], out);
		/* else: the output of a fused block's batch-norm is never stored */
		if (out > max_act)
			max_act = out;
		if (l->kind == IS_LAYER_CONV3X3)
		{
			is_train_conv *c = &t->ls[i].conv;
			/* the network input needs no gradient */
			size_t		params = is_train_conv_init(c, l, i > 0, t->conv_kind, NULL);
			float	   *mem = NULL;

			take(base, &off, &mem, params);
			if (base)
				is_train_conv_init(c, l, i > 0, t->conv_kind, mem);
			if (is_train_conv_scratch(c) > max_scratch)
				max_scratch = is_train_conv_scratch(c);
			if ((size_t) l->in_c * l->out_c * 9 > max_w)
				max_w = (size_t) l->in_c * l->out_c * 9;
		}
		if (l->kind == IS_LAYER_BATCHNORM)
		{
			take(base, &off, &t->ls[i].mean, l->in_c);
			take(base, &off, &t->ls[i].invstd, l->in_c);
			if ((size_t) l->in_c > max_c)
				max_c = l->in_c;
		}
		if (l->kind == IS_LAYER_L2NORM)
			take(base, &off, &t->ls[i].norm, nb);

	}
	take(base, &off, &t->dbuf[0], max_act);
	take(base, &off, &t->dbuf[1], max_act);
	t->conv_scratch_floats = (max_scratch + 15) & ~(size_t) 15;
	take(base, &off, &t->conv_scratch, t->conv_scratch_floats * t->n_workers);
	take(base, &off, &t->flip, max_w);
	take(base, &off, &t->gacc, ((net->n_floats + 15) & ~(size_t) 15) * t->n_workers);
	t->part_doubles = 2 * max_c;
	return off;
}

/*
 * The convolution kernel: the direct AVX-512 one where the CPU has it, else
 * the portable gemm one (the AVX2 kernel's 8-channel layout copies are not
 * vectorised, so it is only taken when asked for).  INSTSIM_CONV_KERNEL
 * overrides, as for inference.
 */
static int
choose_conv(is_conv_kind *kind, char *err, size_t errlen)
{
	const char *env = getenv("INSTSIM_CONV_KERNEL");

	*kind = IS_CONV_AUTO;
	if (env && *env && is_conv_kind_parse(env, kind) < 0)
	{
		snprintf(err, errlen, "INSTSIM_CONV_KERNEL=%s: want auto, gemm, avx2 or avx512", env);
		return -1;
	}
	if (*kind == IS_CONV_AUTO)
		*kind = is_conv_supported(IS_CONV_AVX512) ? IS_CONV_AVX512 : IS_CONV_GEMM;
	if (!is_conv_supported(*kind))
	{
		snprintf(err, errlen, "convolution kernel %s is not supported by this CPU",
				 is_conv_kind_name(*kind));
		return -1;
	}
	return 0;
}

is_train *
is_train_create(is_net *net, int max_batch, int threads, char *err, size_t errlen)
{
	is_train   *t;
	is_conv_kind kind;

	if (!net || !net->params || net->n_layers < 1)
	{
		snprintf(err, errlen, "the network has no parameters: call is_net_init first");
		return NULL;
	}
	if (max_batch < 2 || max_batch > 1 << 16)
	{
		snprintf(err, errlen, "batch of %d, want 2..65536 (batch-norm needs two inputs)", max_batch);
		return NULL;
	}
	if (choose_conv(&kind, err, errlen) < 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->conv_kind = kind;
	t->avx512 = kind == IS_CONV_AVX512;
	t->net = net;
	t->max_batch = max_batch;
	t->workers = is_workers_create(threads, err, errlen);
	if (!t->workers)
	{
		free(t);
		return NULL;
	}
	t->n_workers = threads;
	t->arena_floats = layout(t, NULL);
	t->arena = aligned_alloc(64, t->arena_floats * sizeof(float));
	t->part = calloc(t->part_doubles * threads, sizeof(double));
	if (!t->arena || !t->part)
	{
		snprintf(err, errlen, "out of memory for a training arena of %.0f MiB",
				 t->arena_floats * 4.0 / (1 << 20));
		is_train_free(t);
		return NULL;
	}
	memset(t->arena, 0, t->arena_floats * sizeof(float));
	layout(t, t->arena);
	for (int i = 0; i < net->n_layers; i++)
		if (net->layers[i].n_params)
			t->ls[i].param_off = (size_t) (net->layers[i].param[0] - net->params);
	/* concurrent sgemm calls from our workers must not spawn threads of their own */
	openblas_set_num_threads(1);
	return t;
}

void
is_train_free(is_train *t)
{
	if (!t)
		return;
	is_workers_free(t->workers);
	free(t->arena);
	free(t->part);
	free(t);
}

size_t
is_train_arena_bytes(const is_train *t)
{
	return t->arena_floats * sizeof(float);
}

/* ---- parallel phases --------------------------------------------------- */

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

static void
phase_worker(void *arg, int id, int count)
{
	phase	   *ph = arg;
	int			lo,
				hi;

	is_work_range(ph->t->n, id, count, &lo, &hi);
	ph->fn(ph, &ph->t->net->layers[ph->layer], id, lo, hi);
}

/* Runs fn for layer ph->layer on every worker, each on its share of the batch. */
static void
run_phase(phase_fn fn, phase *ph)
{
	ph->fn = fn;
	is_workers_run(ph->t->workers, phase_worker, ph);
}

static float *
worker_grad(is_train *t, int id)
{
	return t->gacc + ((t->net->n_floats + 15) & ~(size_t) 15) * id;
}

/*
 * A batch-norm right after a convolution takes its forward sums from the
 * convolution, which has each output image in cache (one pass less).
 */
static int
conv_sums(const is_net *net, int i)
{
	return net->layers[i].kind == IS_LAYER_BATCHNORM && i > 0 &&
		net->layers[i - 1].kind == IS_LAYER_CONV3X3;
}

static void
conv_forward(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	float	   *scratch = t->conv_scratch + t->conv_scratch_floats * id;
	double	   *part = NULL;

	if (ph->layer + 1 < t->net->n_layers && conv_sums(t->net, ph->layer + 1))
	{
		part = t->part + t->part_doubles * id;
		memset(part, 0, sizeof(double) * 2 * l->out_c);
	}
	for (int b = lo; b < hi; b++)
		is_train_conv_forward(&t->ls[ph->layer].conv,
							  t->act[ph->layer] + (size_t) b * layer_in(l),
							  t->act[ph->layer + 1] + (size_t) b * layer_out(l), part, scratch);
}

static void
conv_backward(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	float	   *gw = worker_grad(t, id) + t->ls[ph->layer].param_off;

	for (int b = lo; b < hi; b++)
		is_train_conv_backward(&t->ls[ph->layer].conv, t->act[ph->layer] + (size_t) b * layer_in(l),
							   ph->dy + (size_t) b * layer_out(l),
							   ph->dx ? ph->dx + (size_t) b * layer_in(l) : NULL,
							   gw, gw + (size_t) l->out_c * l->in_c * 9,
							   t->conv_scratch + t->conv_scratch_floats * id);
}

/*
 * Batch-norm phase 1: per-channel sums of x and x^2 (forward) or of dy and
 * dy * xhat (backward) over this worker's images: one image's plane in float
 * vector lanes (fast, and a plane is short enough for float), the planes
 * added up in double.
 */
TRAIN_SIMD static void
bn_sums(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	const layer_state *s = &t->ls[ph->layer];
	int			hw = l->in_h * l->in_w;
	double	   *part = t->part + t->part_doubles * id;

	memset(part, 0, sizeof(double) * 2 * l->in_c);
	for (int b = lo; b < hi; b++)
		for (int c = 0; c < l->in_c; c++)
		{
			const float *x = t->act[ph->layer] + ((size_t) b * l->in_c + c) * hw;
			double		s1 = 0.0,
						s2 = 0.0;

			if (!ph->dy)
			{
				float		f1 = 0.0f,
							f2 = 0.0f;

#pragma omp simd reduction(+:f1,f2)
				for (int j = 0; j < hw; j++)
				{
					f1 += x[j];
					f2 += x[j] * x[j];
				}
				s1 = f1;
				s2 = f2;
			}
			else
			{
				size_t		off = ((size_t) b * l->in_c + c) * hw;
				const float *dy = ph->dy + off;
				/* without a fused ReLU y is never used (and may not exist) */
				const float *y = ph->relu ? t->act[ph->layer + 1] + off : dy;
				float		m = s->mean[c],
							is = s->invstd[c],
							f1 = 0.0f,
							f2 = 0.0f;
				const int	relu = ph->relu;

#pragma omp simd reduction(+:f1,f2)
				for (int j = 0; j < hw; j++)
				{
					float		g = dy[j],
								v = y[j];

					g = relu && !(v > 0.0f) ? 0.0f : g;
					f1 += g;
					f2 += g * ((x[j] - m) * is);
				}
				s1 = f1;
				s2 = f2;
			}
			part[2 * c] += s1;
			part[2 * c + 1] += s2;
		}
}

/* Sums the workers' partials into worker 0's, in worker order. */
static void
reduce_parts(is_train *t, int channels)
{
	for (int w = 1; w < t->n_workers; w++)
		for (int i = 0; i < 2 * channels; i++)
			t->part[i] += t->part[t->part_doubles * w + i];
}

/* Phase 2 forward: y = (x - mean) * invstd * gamma + beta. */
TRAIN_SIMD static void
bn_apply(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	const layer_state *s = &t->ls[ph->layer];
	int			hw = l->in_h * l->in_w;

	for (int b = lo; b < hi; b++)
		for (int c = 0; c < l->in_c; c++)
		{
			size_t		off = ((size_t) b * l->in_c + c) * hw;
			const float *x = t->act[ph->layer] + off;
			float	   *y = t->act[ph->layer + 1] + off;
			float		scale = s->invstd[c] * l->param[0][c];
			float		shift = l->param[1][c] - s->mean[c] * scale;
			const int	relu = ph->relu;

#pragma omp simd
			for (int j = 0; j < hw; j++)
			{
				float		v = x[j] * scale + shift;

				y[j] = relu && !(v > 0.0f) ? 0.0f : v;
			}
		}
}

/* Phase 2 backward: dx = gamma * invstd * (dy - sum(dy)/M - xhat * sum(dy xhat)/M). */
TRAIN_SIMD static void
bn_backward(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	const layer_state *s = &t->ls[ph->layer];
	int			hw = l->in_h * l->in_w;
	double		inv_m = 1.0 / ((double) t->n * hw);

	for (int b = lo; b < hi; b++)
		for (int c = 0; c < l->in_c; c++)
		{
			size_t		off = ((size_t) b * l->in_c + c) * hw;
			const float *x = t->act[ph->layer] + off;
			const float *dy = ph->dy + off;
			const float *y = ph->relu ? t->act[ph->layer + 1] + off : dy;
			float	   *dx = ph->dx + off;
			float		m = s->mean[c],
						is = s->invstd[c];
			float		k = l->param[0][c] * is;
			const int	relu = ph->relu;
			float		mdy = (float) (t->part[2 * c] * inv_m);
			float		mdyx = (float) (t->part[2 * c + 1] * inv_m);

#pragma omp simd
			for (int j = 0; j < hw; j++)
			{
				float		g = dy[j],
							v = y[j];

				g = relu && !(v > 0.0f) ? 0.0f : g;
				dx[j] = k * (g - mdy - (x[j] - m) * is * mdyx);
			}
		}
}

/*
 * In place is fine both ways: y > 0 exactly where x > 0.  (Pointers are
 * copied to locals: with -fno-strict-aliasing a store through a float
 * pointer could otherwise change ph's fields and block vectorisation.)
 */
TRAIN_SIMD static void
relu_phase(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	size_t		per = layer_in(l);
	float	   *y = t->act[ph->layer + 1];
	const float *x = t->act[ph->layer];
	const float *dy = ph->dy;
	float	   *dx = ph->dx;

	if (dx)
	{
#pragma omp simd
		for (size_t j = per * lo; j < per * hi; j++)
		{
			/* unconditional loads: a conditional one would not vectorise */
			float		g = dy[j],
						v = y[j];

			dx[j] = v > 0.0f ? g : 0.0f;
		}
	}
	else
	{
#pragma omp simd
		for (size_t j = per * lo; j < per * hi; j++)
		{
			float		v = x[j];

			y[j] = v > 0.0f ? v : 0.0f;
		}
	}
}

/*
 * 2x2 max-pool, floor.  The backward pass finds the winner again from the
 * input (the output may have been overwritten by an in-place ReLU); ties go
 * to the first in row-major order, as in PyTorch.  The backward pass writes
 * every input element (no separate zeroing pass); the row and column that
 * floor pooling drops get zero gradient.  (Explicit vectorisation of these
 * stride-2 loops was slower: gathers and scatters.)
 */
TRAIN_SIMD static void
pool_phase(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	const int	iw = l->in_w,
				ih = l->in_h,
				ow = l->out_w,
				oh = l->out_h;
	const size_t iplane = (size_t) ih * iw,
				oplane = (size_t) oh * ow;
	const float *x = t->act[ph->layer];
	float	   *y = t->act[ph->layer + 1];
	const float *dy = ph->dy;
	float	   *dx = ph->dx;

	for (size_t p = (size_t) lo * l->in_c; p < (size_t) hi * l->in_c; p++)
		for (int r = 0; r < oh; r++)
		{
			const float *r0 = x + p * iplane + (size_t) 2 * r * iw;
			const float *r1 = r0 + iw;

			if (!dx)
			{
				float	   *yo = y + p * oplane + (size_t) r * ow;

#pragma omp simd
				for (int c = 0; c < ow; c++)
				{
					float		m = r0[2 * c];

					m = r0[2 * c + 1] > m ? r0[2 * c + 1] : m;
					m = r1[2 * c] > m ? r1[2 * c] : m;
					m = r1[2 * c + 1] > m ? r1[2 * c + 1] : m;
					yo[c] = m;
				}
			}
			else
			{
				const float *g = dy + p * oplane + (size_t) r * ow;
				float	   *d0 = dx + p * iplane + (size_t) 2 * r * iw;
				float	   *d1 = d0 + iw;

#pragma omp simd
				for (int c = 0; c < ow; c++)
				{
					float		a = r0[2 * c],
								b = r0[2 * c + 1],
								e = r1[2 * c],
								f = r1[2 * c + 1];
					float		m = a;
					int			wa,
								wb,
								we;

					m = b > m ? b : m;
					m = e > m ? e : m;
					m = f > m ? f : m;
					wa = a == m;
					wb = !wa && b == m;
					we = !wa && !wb && e == m;
					d0[2 * c] = wa ? g[c] : 0.0f;
					d0[2 * c + 1] = wb ? g[c] : 0.0f;
					d1[2 * c] = we ? g[c] : 0.0f;
					d1[2 * c + 1] = !wa && !wb && !we ? g[c] : 0.0f;
				}
				if (iw & 1)
				{
					d0[iw - 1] = 0.0f;
					d1[iw - 1] = 0.0f;
				}
			}
			if (dx && r == oh - 1 && (ih & 1))
				memset(dx + p * iplane + (size_t) (ih - 1) * iw, 0, sizeof(float) * iw);
		}
}

TRAIN_SIMD static void
gap_phase(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	int			hw = l->in_h * l->in_w;

	for (int b = lo; b < hi; b++)
		for (int c = 0; c < l->in_c; c++)
		{
			size_t		ci = (size_t) b * l->in_c + c;

			if (ph->dx)
			{
				float		g = ph->dy[ci] / hw;

				for (int j = 0; j < hw; j++)
					ph->dx[ci * hw + j] = g;
			}
			else
			{
				const float *x = t->act[ph->layer] + ci * hw;
				float		s = 0.0f;

#pragma omp simd reduction(+:s)
				for (int j = 0; j < hw; j++)
					s += x[j];
				t->act[ph->layer + 1][ci] = s / hw;
			}
		}
}

static void
linear_forward(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	float	   *y;

	if (hi <= lo)
		return;
	y = t->act[ph->layer + 1] + (size_t) lo * l->out_c;
	for (int b = 0; b < hi - lo; b++)
		memcpy(y + (size_t) b * l->out_c, l->param[1], sizeof(float) * l->out_c);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, hi - lo, l->out_c, l->in_c,
				1.0f, t->act[ph->layer] + (size_t) lo * l->in_c, l->in_c,
				l->param[0], l->in_c, 1.0f, y, l->out_c);
}

static void
linear_backward(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	float	   *gw = worker_grad(t, id) + t->ls[ph->layer].param_off;
	float	   *gb = gw + (size_t) l->out_c * l->in_c;
	const float *dy;

	if (hi <= lo)
		return;
	dy = ph->dy + (size_t) lo * l->out_c;
	for (int b = 0; b < hi - lo; b++)
		for (int o = 0; o < l->out_c; o++)
			gb[o] += dy[(size_t) b * l->out_c + o];
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l->out_c, l->in_c, hi - lo,
				1.0f, dy, l->out_c, t->act[ph->layer] + (size_t) lo * l->in_c, l->in_c,
				1.0f, gw, l->in_c);
	if (ph->dx)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, hi - lo, l->in_c, l->out_c,
					1.0f, dy, l->out_c, l->param[0], l->in_c, 0.0f,
					ph->dx + (size_t) lo * l->in_c, l->in_c);
}

/* y = x / max(|x|, eps); dx = (dy - y (y.dy)) / |x| (dy / eps when clamped). */
static void
l2norm_phase(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	int			d = l->in_c;
	float	   *norm = t->ls[ph->layer].norm;

	for (int b = lo; b < hi; b++)
	{
		const float *x = t->act[ph->layer] + (size_t) b * d;
		float	   *y = t->act[ph->layer + 1] + (size_t) b * d;

		if (!ph->dx)
		{
			double		s = 0.0;

			for (int j = 0; j < d; j++)
				s += (double) x[j] * x[j];
			norm[b] = (float) sqrt(s);
			for (int j = 0; j < d; j++)
				y[j] = x[j] / (norm[b] > L2NORM_EPS ? norm[b] : L2NORM_EPS);
		}
		else
		{
			const float *dy = ph->dy + (size_t) b * d;
			float	   *dx = ph->dx + (size_t) b * d;
			double		ydy = 0.0;

			if (!(norm[b] > L2NORM_EPS))
			{
				for (int j = 0; j < d; j++)
					dx[j] = dy[j] / L2NORM_EPS;
				continue;
			}
			for (int j = 0; j < d; j++)
				ydy += (double) y[j] * dy[j];
			for (int j = 0; j < d; j++)
				dx[j] = (float) ((dy[j] - y[j] * ydy) / norm[b]);
		}
	}
}

/*
 * One pooled cell of a fused block: the ReLU'd maximum of the four
 * batch-norm outputs of the 2x2 input cell at column 2c of rows r0 and r1,
 * and which of them won (0..3, row-major, first of equals as in PyTorch; a
 * cell that is all zero after the ReLU goes to element 0).  Branch-free, so
 * the loops over cells vectorise; the backward pass recomputes the winner
 * instead of storing it.
 */
static inline __attribute__((always_inline)) float
cell_max(const float *r0, const float *r1, int c, float scale, float shift)
{
	float		a = r0[2 * c] * scale + shift,
				b = r0[2 * c + 1] * scale + shift,
				e = r1[2 * c] * scale + shift,
				f = r1[2 * c + 1] * scale + shift;
	float		v = a > 0.0f ? a : 0.0f;

	v = b > v ? b : v;
	v = e > v ? e : v;
	return f > v ? f : v;
}

/* Same comparisons as cell_max, tracking which element won. */
static inline __attribute__((always_inline)) float
cell_winner(const float *r0, const float *r1, int c, float scale, float shift)
{
	float		a = r0[2 * c] * scale + shift,
				b = r0[2 * c + 1] * scale + shift,
				e = r1[2 * c] * scale + shift,
				f = r1[2 * c + 1] * scale + shift;
	float		v = a > 0.0f ? a : 0.0f;
	float		k = 0.0f;

	k = b > v ? 1.0f : k;
	v = b > v ? b : v;
	k = e > v ? 2.0f : k;
	v = e > v ? e : v;
	return f > v ? 3.0f : k;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BLOCK16 1
#define BLOCK_AVX512 __attribute__((target("avx512f")))

/*
 * Sixteen cells of a fused block at once with AVX-512: the four batch-norm
 * outputs of cells c .. c+15 of rows r0, r1 (32 input columns each, split into
 * even and odd columns), their ReLU'd maximum, which element won, as masks
 * (same strict comparisons as cell_winner: first of equals wins), and the
 * winner's input value.  A last group of n < 16 cells loads only its 2n
 * columns (the other lanes are computed on zeros and never stored).
 * Written with intrinsics: GCC's generic 16-float vectors gathered the
 * stride-2 columns one float at a time and turned the selects into scalar
 * code, slower than the plain loop.
 */
BLOCK_AVX512 static inline __m512
cells16(const float *r0, const float *r1, int c, int n, __m512 scale, __m512 shift,
		__mmask16 win[4], __m512 *xwin)
{
	const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
	const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
	__mmask16	m0 = n >= 8 ? 0xffff : (__mmask16) ((1u << 2 * n) - 1),
				m1 = n >= 16 ? 0xffff : n > 8 ? (__mmask16) ((1u << (2 * n - 16)) - 1) : 0;
	__m512		p0 = _mm512_maskz_loadu_ps(m0, r0 + 2 * c),
				p1 = _mm512_maskz_loadu_ps(m1, r0 + 2 * c + 16),
				q0 = _mm512_maskz_loadu_ps(m0, r1 + 2 * c),
				q1 = _mm512_maskz_loadu_ps(m1, r1 + 2 * c + 16);
	__m512		xa = _mm512_permutex2var_ps(p0, even, p1),
				xb = _mm512_permutex2var_ps(p0, odd, p1),
				xe = _mm512_permutex2var_ps(q0, even, q1),
				xf = _mm512_permutex2var_ps(q0, odd, q1);
	__m512		a = _mm512_fmadd_ps(xa, scale, shift),
				b = _mm512_fmadd_ps(xb, scale, shift),
				e = _mm512_fmadd_ps(xe, scale, shift),
				f = _mm512_fmadd_ps(xf, scale, shift);
	__m512		v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ), a);
	__mmask16	mb = _mm512_cmp_ps_mask(b, v, _CMP_GT_OQ),
				me,
				mf;

	v = _mm512_mask_mov_ps(v, mb, b);
	me = _mm512_cmp_ps_mask(e, v, _CMP_GT_OQ);
	v = _mm512_mask_mov_ps(v, me, e);
	mf = _mm512_cmp_ps_mask(f, v, _CMP_GT_OQ);
	win[3] = mf;
	win[2] = me & ~mf;
	win[1] = mb & ~me & ~mf;
	win[0] = ~(mb | me | mf);
	*xwin = _mm512_mask_mov_ps(_mm512_mask_mov_ps(_mm512_mask_mov_ps(xa, win[1], xb), win[2], xe),
							   win[3], xf);
	return _mm512_mask_mov_ps(v, mf, f);
}

/* Forward: the pooled outputs yr[0 .. ow). */
BLOCK_AVX512 static void
block_forward16(const float *r0, int iw, float *yr, int ow, float scale, float shift)
{
	__mmask16	win[4];
	__m512		xwin;

	for (int c = 0; c < ow; c += 16)
	{
		int			n = ow - c < 16 ? ow - c : 16;

		_mm512_mask_storeu_ps(yr + c, (__mmask16) ((1u << n) - 1),
							  cells16(r0, r0 + iw, c, n, _mm512_set1_ps(scale),
									  _mm512_set1_ps(shift), win, &xwin));
	}
}

/*
 * Backward: routes g to the winners in rows d0, d0 + iw (the 2 ow columns of
 * cells), and adds to sums[0], sums[1] the sums of the routed gradient and of
 * it times the winner's normalised input (x - mean) invstd: batch-norm's
 * backward sums, taken here so that no pass reads the routed gradient again.
 */
BLOCK_AVX512 static void
block_backward16(const float *r0, int iw, const float *g, float *d0, int ow, float scale,
				 float shift, float mean, float invstd, float sums[2])
{
	const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
	const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
	__m512		s1 = _mm512_setzero_ps(),
				s2 = _mm512_setzero_ps();
	__mmask16	win[4];

	for (int c = 0; c < ow; c += 16)
	{
		int			n = ow - c < 16 ? ow - c : 16;
		__mmask16	m0 = n >= 8 ? 0xffff : (__mmask16) ((1u << 2 * n) - 1),
					m1 = n >= 16 ? 0xffff : n > 8 ? (__mmask16) ((1u << (2 * n - 16)) - 1) : 0;
		__m512		xwin;
		__m512		v = cells16(r0, r0 + iw, c, n, _mm512_set1_ps(scale), _mm512_set1_ps(shift),
								win, &xwin);
		__mmask16	open = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
		__m512		gv = _mm512_maskz_loadu_ps(open & (__mmask16) ((1u << n) - 1), g + c);

		s1 = _mm512_add_ps(s1, gv);
		s2 = _mm512_fmadd_ps(gv, _mm512_mul_ps(_mm512_sub_ps(xwin, _mm512_set1_ps(mean)),
											   _mm512_set1_ps(invstd)), s2);
		/* winners 0, 1 on the top row, 2, 3 on the bottom one, interleaved back */
		for (int k = 0; k < 2; k++)
		{
			__m512		left = _mm512_maskz_mov_ps(win[2 * k], gv),
						right = _mm512_maskz_mov_ps(win[2 * k + 1], gv);

			_mm512_mask_storeu_ps(d0 + k * iw + 2 * c, m0, _mm512_permutex2var_ps(left, lo, right));
			_mm512_mask_storeu_ps(d0 + k * iw + 2 * c + 16, m1,
								  _mm512_permutex2var_ps(left, hi, right));
		}
	}
	sums[0] += _mm512_reduce_add_ps(s1);
	sums[1] += _mm512_reduce_add_ps(s2);
}
#endif

/* The input value of cell c's winner w (0..3, as cell_winner). */
static inline float
cell_input(const float *r0, const float *r1, int c, float w)
{
	return w < 2.0f ? r0[2 * c + (w == 1.0f)] : r1[2 * c + (w == 3.0f)];
}

/*
 * Fused block, forward (dx NULL): y = maxpool(relu(batchnorm(x))).
 * Backward, first half: routes the pooled gradient to each cell's winner,
 * gated by the ReLU mask (its batch-norm output was positive), writing the
 * gradient w.r.t. the batch-norm output at full size (zero elsewhere,
 * including the row and column floor pooling drops), and leaves batch-norm's
 * backward sums of it in this worker's partial sums, as bn_sums would.
 * Batch-norm's backward then runs as usual on it, in place.  Sixteen cells
 * at a time with AVX-512 where the CPU has it, else one by one.
 */
TRAIN_SIMD static void
block_phase(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	const is_layer *pl = &t->net->layers[ph->layer + 2];
	const layer_state *s = &t->ls[ph->layer];
	const int	iw = l->in_w,
				ih = l->in_h,
				ow = pl->out_w,
				oh = pl->out_h;
	const size_t iplane = (size_t) ih * iw,
				oplane = (size_t) oh * ow;
	double	   *part = t->part + t->part_doubles * id;

	if (ph->dx)
		memset(part, 0, sizeof(double) * 2 * l->in_c);
	for (int b = lo; b < hi; b++)
		for (int c = 0; c < l->in_c; c++)
		{
			size_t		p = (size_t) b * l->in_c + c;
			const float *x = t->act[ph->layer] + p * iplane;
			const float scale = s->invstd[c] * l->param[0][c];
			const float shift = l->param[1][c] - s->mean[c] * scale;
			float		sums[2] = {0.0f, 0.0f};

			for (int r = 0; r < oh && !ph->dx; r++)
			{
				const float *r0 = x + (size_t) 2 * r * iw;
				float	   *yr = t->act[ph->layer + 3] + p * oplane + (size_t) r * ow;

#if BLOCK16
				if (t->avx512)
				{
					block_forward16(r0, iw, yr, ow, scale, shift);
					continue;
				}
#endif
				for (int cc = 0; cc < ow; cc++)
					yr[cc] = cell_max(r0, r0 + iw, cc, scale, shift);
			}
			for (int r = 0; r < oh && ph->dx; r++)
			{
				const float *r0 = x + (size_t) 2 * r * iw;
				const float *g = ph->dy + p * oplane + (size_t) r * ow;
				float	   *d0 = ph->dx + p * iplane + (size_t) 2 * r * iw;

#if BLOCK16
				if (t->avx512)
					block_backward16(r0, iw, g, d0, ow, scale, shift, s->mean[c], s->invstd[c], sums);
				else
#endif
					for (int cc = 0; cc < ow; cc++)
					{
						float		w = cell_winner(r0, r0 + iw, cc, scale, shift);
						float		gv = cell_max(r0, r0 + iw, cc, scale, shift) > 0.0f ? g[cc] : 0.0f;

						d0[2 * cc] = w == 0.0f ? gv : 0.0f;
						d0[2 * cc + 1] = w == 1.0f ? gv : 0.0f;
						d0[iw + 2 * cc] = w == 2.0f ? gv : 0.0f;
						d0[iw + 2 * cc + 1] = w == 3.0f ? gv : 0.0f;
						sums[0] += gv;
						sums[1] += gv * ((cell_input(r0, r0 + iw, cc, w) - s->mean[c]) * s->invstd[c]);
					}
				if (iw & 1)
					d0[iw - 1] = d0[2 * iw - 1] = 0.0f;
			}
			if (ph->dx && (ih & 1))
				memset(ph->dx + p * iplane + (size_t) (ih - 1) * iw, 0, sizeof(float) * iw);
			part[2 * c] += sums[0];
			part[2 * c + 1] += sums[1];
		}
}

/* ---- passes ------------------------------------------------------------ */

/* One parallel phase per layer kind (batch-norm needs a reduction between two). */
static const phase_fn forward_phase[] = {
	[IS_LAYER_CONV3X3] = conv_forward,
	[IS_LAYER_RELU] = relu_phase,
	[IS_LAYER_MAXPOOL2] = pool_phase,
	[IS_LAYER_GAP] = gap_phase,
	[IS_LAYER_LINEAR] = linear_forward,
	[IS_LAYER_L2NORM] = l2norm_phase,
};
static const phase_fn backward_phase[] = {
	[IS_LAYER_CONV3X3] = conv_backward,
	[IS_LAYER_RELU] = relu_phase,
	[IS_LAYER_MAXPOOL2] = pool_phase,
	[IS_LAYER_GAP] = gap_phase,
	[IS_LAYER_LINEAR] = linear_backward,
	[IS_LAYER_L2NORM] = l2norm_phase,
};

/* Batch statistics from the reduced sums; running statistics as PyTorch. */
static void
bn_statistics(is_train *t, int i, int update_running)
{
	const is_layer *l = &t->net->layers[i];
	double		m = (double) t->n * l->in_h * l->in_w;

	for (int c = 0; c < l->in_c; c++)
	{
		double		mean = t->part[2 * c] / m;
		double		var = t->part[2 * c + 1] / m - mean * mean;

		if (var < 0.0)
			var = 0.0;
		t->ls[i].mean[c] = (float) mean;
		t->ls[i].invstd[c] = (float) (1.0 / sqrt(var + l->eps));
		if (update_running)
		{
			float	   *rm = l->param[2],
					   *rv = l->param[3];

			rm[c] = (1.0f - IS_BN_MOMENTUM) * rm[c] + IS_BN_MOMENTUM * (float) mean;
			rv[c] = (1.0f - IS_BN_MOMENTUM) * rv[c] +
				IS_BN_MOMENTUM * (float) (m > 1.0 ? var * m / (m - 1.0) : var);
		}
	}
}

const float *
is_train_forward(is_train *t, const float *in, int n, int update_running)
{
	const is_net *net = t->net;
	phase		ph = {.t = t};

	if (n < 1 || n > t->max_batch)
		return NULL;
	t->n = n;
	/* the weights changed since the last pass (an optimiser step) */
	for (int i = 0; i < net->n_layers; i++)
		if (net->layers[i].kind == IS_LAYER_CONV3X3)
			is_train_conv_pack(&t->ls[i].conv, &net->layers[i], t->flip);
	memcpy(t->act[0], in, sizeof(float) * n * act_floats(net->in_c, net->in_h, net->in_w));
	for (int i = 0; i < net->n_layers; i++)
	{
		ph.layer = i;
		if (net->layers[i].kind == IS_LAYER_BATCHNORM)
		{
			int			block = fused_block(net, i);

			ph.relu = fuses_relu(net, i);
			if (!conv_sums(net, i))
				run_phase(bn_sums, &ph);
			reduce_parts(t, net->layers[i].in_c);
			bn_statistics(t, i, update_running);
			run_phase(block ? block_phase : bn_apply, &ph);
			/* the ReLU's output is the same buffer; a fused pool is done */
			i += ph.relu + block;
		}
		else
			run_phase(forward_phase[net->layers[i].kind], &ph);
	}
	return t->act[net->n_layers];
}

static void
zero_grads(const phase *ph, const is_layer *l, int id, int lo, int hi)
{

	memset(worker_grad(ph->t, id), 0, sizeof(float) * ph->t->net->n_floats);
}

void
is_train_backward(is_train *t, const float *dout, float *grad)
{
	const is_net *net = t->net;
	const float *dy = dout;
	int			flip = 0;
	phase		ph = {.t = t};

	run_phase(zero_grads, &ph);
	for (int i = net->n_layers - 1; i >= 0; i--)
	{
		const is_layer *l;
		int			block = i >= 2 && fused_block(net, i - 2);

		ph.relu = block || (i > 0 && fuses_relu(net, i - 1));
		i -= block ? 2 : ph.relu;
		l = &net->layers[i];
		ph.layer = i;
		ph.dy = dy;
		/* the network input needs no gradient, and conv's is the costliest */
		ph.dx = i == 0 && l->kind == IS_LAYER_CONV3X3 ? NULL : t->dbuf[flip];
		if (l->kind == IS_LAYER_BATCHNORM)
		{
			float	   *g = worker_grad(t, 0) + t->ls[i].param_off;

			if (block)
			{
				/* the routed gradient is batch-norm's dy, replaced by dx in place */
				run_phase(block_phase, &ph);
				ph.dy = ph.dx;
				ph.relu = 0;
			}
			else
				run_phase(bn_sums, &ph);
			reduce_parts(t, l->in_c);
			for (int c = 0; c < l->in_c; c++)
			{
				g[c] += (float) t->part[2 * c + 1];
				g[l->in_c + c] += (float) t->part[2 * c];
			}
			run_phase(bn_backward, &ph);
		}
		else
			run_phase(backward_phase[l->kind], &ph);
		dy = ph.dx;
		flip ^= 1;
	}
	memcpy(grad, worker_grad(t, 0), sizeof(float) * net->n_floats);
	for (int w = 1; w < t->n_workers; w++)
	{
		const float *g = worker_grad(t, w);

		for (size_t j = 0; j < net->n_floats; j++)
			grad[j] += g[j];
	}
}

/* ---- parameters ---------------------------------------------------------- */

void
is_net_init_params(is_net *net, uint64_t seed)
{
	is_rng		rng;

	is_rng_seed(&rng, seed);
	for (int i = 0; i < net->n_layers; i++)
	{
		is_layer   *l = &net->layers[i];

		if (l->kind == IS_LAYER_CONV3X3 || l->kind == IS_LAYER_LINEAR)
		{
			int			fan_in = l->in_c * (l->kind == IS_LAYER_CONV3X3 ? 9 : 1);
			double		bound = 1.0 / sqrt((double) fan_in);
			size_t		nw = (size_t) l->out_c * fan_in;

			for (size_t j = 0; j < nw; j++)
				l->param[0][j] = (float) ((2.0 * is_rng_unit(&rng) - 1.0) * bound);
			for (int j = 0; j < l->out_c; j++)
				l->param[1][j] = (float) ((2.0 * is_rng_unit(&rng) - 1.0) * bound);
		}
		else if (l->kind == IS_LAYER_BATCHNORM)
			for (int c = 0; c < l->in_c; c++)
			{
				l->param[0][c] = 1.0f;
				l->param[1][c] = 0.0f;
				l->param[2][c] = 0.0f;
				l->param[3][c] = 1.0f;
			}
	}
}
