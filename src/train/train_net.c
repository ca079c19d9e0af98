/*
 * Training forward/backward: the arena, the passes, and the convolution and
 * vector layers; the element-wise feature-map layers are in train_fmap.c,
 * the activation layout in train_internal.h.  Each layer is one or two
 * parallel phases over the batch; cross-image sums (batch-norm statistics,
 * parameter gradients) are kept per worker and reduced in worker order by
 * the caller's thread.
 */
#include "train_net.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "train_internal.h"

#define L2NORM_EPS 1e-12f

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
 * conv3x3 -> batchnorm -> relu -> maxpool2 (the default block) runs fused,
 * with i the batch-norm: see conv_block() and the block_* passes.  The
 * full-size batch-norm/ReLU output is never written or read.  (Batch-norm on
 * a feature map follows a convolution in every network inference accepts.)
 */
static int
fused_block(const is_net *net, int i)
{
	return i > 0 && net->layers[i - 1].kind == IS_LAYER_CONV3X3 && fuses_relu(net, i) &&
		i + 2 < net->n_layers && net->layers[i + 2].kind == IS_LAYER_MAXPOOL2;
}

/*
 * A fused block whose convolution reads at most RECOMPUTE_MAX_IN channels
 * (the network's first, on the one-channel mel image) keeps no full-size
 * tensor: its convolution is run again, into per-worker scratch, by each of
 * the four passes that need its output (batch statistics, pooled output,
 * backward sums, backward).  That output is the largest tensor of the network
 * (16 x 128 x 130 per segment) and storing it meant six passes over 200 MB
 * per batch; four convolutions of 9 multiply-adds per output cost less
 * (measured on the default network: 305 -> 330 segments/s on one core).
 * INSTSIM_TRAIN_RECOMPUTE=off turns it off (tests run both paths).
 */
#define RECOMPUTE_MAX_IN 2

static int
recomputed(const is_train *t, int i)
{
	const is_net *net = t->net;

	return t->recompute && net->layers[i].kind == IS_LAYER_CONV3X3 &&
		net->layers[i].in_c <= RECOMPUTE_MAX_IN && i + 1 < net->n_layers &&
		fused_block(net, i + 1);
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
	*off += is_round16(count);
}

static train_view
fmap_view(int c, int h, int w, int b)
{
	is_act		a = {c, h, w, b};

	return (train_view) {
		c, h, w, b, 1, is_act_plane(&a), is_act_image(&a)
	};
}

static train_view
vector_view(int c)
{
	return (train_view) {
		c, 1, 1, 1, 0, 1, (size_t) c
	};
}

/*
 * The layout of every activation: feature maps in the kernels' blocks (the
 * convolutions' outputs; other layers keep their input's block), vectors from
 * gap on.  False when the network does not end in vectors.
 */
static int
set_views(is_train *t)
{
	const is_net *net = t->net;
	int			b = is_train_conv_block(t->conv_kind);

	/*
	 * A one-channel input read by the first convolution stays in blocks of 1
	 * (16 times smaller); the input gradient, which the kernels write in
	 * their own blocks, is never needed there.
	 */
	t->view[0] = fmap_view(net->in_c, net->in_h, net->in_w,
						   net->in_c == 1 && net->layers[0].kind == IS_LAYER_CONV3X3 ? 1 : b);
	for (int i = 0; i < net->n_layers; i++)
	{
		const is_layer *l = &net->layers[i];

		if (l->kind == IS_LAYER_GAP || !t->view[i].halo)
			t->view[i + 1] = vector_view(l->out_c);
		else
			t->view[i + 1] = fmap_view(l->out_c, l->out_h, l->out_w,
									   l->kind == IS_LAYER_CONV3X3 ? b : t->view[i].b);
	}
	return !t->view[net->n_layers].halo;
}

/* Lays the arena out (base == NULL only measures); returns its float count. */
static size_t
layout(is_train *t, float *base)
{
	const is_net *net = t->net;
	size_t		nb = (size_t) t->max_batch;
	size_t		off = 0;
	size_t		max_act = nb * t->view[0].image;
	size_t		max_c = 1;
	size_t		max_scratch = 1;
	size_t		max_w = 1;

	take(base, &off, &t->act[0], max_act);
	for (int i = 0; i < net->n_layers; i++)
	{
		const is_layer *l = &net->layers[i];
		size_t		out = nb * t->view[i + 1].image;

		if (l->kind == IS_LAYER_RELU && relu_in_place(net, i))
		{
			if (base)
				t->act[i + 1] = t->act[i];
		}
		else if (!fused_block(net, i) && !recomputed(t, i))
			take(base, &off, &t->act[i + 1], out);
		/* else: the output of a fused block's batch-norm is never stored */
		if (recomputed(t, i) && t->view[i + 1].image > t->rc_floats)
			t->rc_floats = t->view[i + 1].image;
		if (out > max_act)
			max_act = out;
		if (l->kind == IS_LAYER_CONV3X3)
		{
			is_train_conv *c = &t->ls[i].conv;
			/* the network input needs no gradient */
			size_t		params = is_train_conv_init(c, l, i > 0, t->conv_kind, t->view[i].b, NULL);
			float	   *mem = NULL;

			take(base, &off, &mem, params);
			if (base)
				is_train_conv_init(c, l, i > 0, t->conv_kind, t->view[i].b, mem);
			if (is_train_conv_scratch(c) > max_scratch)
				max_scratch = is_train_conv_scratch(c);
			if (is_train_conv_wacc_floats(c) > t->wacc_floats)
				t->wacc_floats = is_train_conv_wacc_floats(c);
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
	t->conv_scratch_floats = max_scratch;
	take(base, &off, &t->conv_scratch, t->conv_scratch_floats * t->n_workers);
	take(base, &off, &t->flip, max_w);
	take(base, &off, &t->rc, t->rc_floats * t->n_workers);
	take(base, &off, &t->wacc, t->wacc_floats * t->n_workers);
	take(base, &off, &t->gacc, is_round16(net->n_floats) * t->n_workers);
	t->part_doubles = 2 * max_c;
	return off;
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
	if (is_train_conv_kind(&kind, err, errlen) < 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->conv_kind = kind;
	t->recompute = !(getenv("INSTSIM_TRAIN_RECOMPUTE") &&
					 strcmp(getenv("INSTSIM_TRAIN_RECOMPUTE"), "off") == 0);
	t->net = net;
	t->max_batch = max_batch;
	t->workers = is_workers_create(threads, err, errlen);
	if (!t->workers)
	{
		free(t);
		return NULL;
	}
	t->n_workers = threads;
	if (!set_views(t))
	{
		snprintf(err, errlen, "the network must end in vector layers (after a gap)");
		is_train_free(t);
		return NULL;
	}
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
	return t->gacc + is_round16(t->net->n_floats) * id;
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
	const train_view *vi = &t->view[ph->layer],
			   *vo = &t->view[ph->layer + 1];
	float	   *scratch = t->conv_scratch + t->conv_scratch_floats * id;
	double	   *part = NULL;

	if (ph->layer + 1 < t->net->n_layers && conv_sums(t->net, ph->layer + 1))
	{
		part = t->part + t->part_doubles * id;
		memset(part, 0, sizeof(double) * 2 * l->out_c);
	}
	for (int n = lo; n < hi; n++)
	{
		is_train_conv_forward(&t->ls[ph->layer].conv, t->act[ph->layer] + n * vi->image,
							  t->act[ph->layer + 1] + n * vo->image, scratch);
		/* the image is still in cache */
		if (part)
			train_image_sums(vo, t->act[ph->layer + 1], n, part);
	}
}

/* dy is one of the gradient buffers (a network ends in vector layers), so it may be written. */
static void
conv_backward(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	const train_view *vi = &t->view[ph->layer],
			   *vo = &t->view[ph->layer + 1];
	float	   *gw = worker_grad(t, id) + t->ls[ph->layer].param_off;
	float	   *wacc = t->wacc + t->wacc_floats * id;

	for (int n = lo; n < hi; n++)
		is_train_conv_backward(&t->ls[ph->layer].conv, t->act[ph->layer] + n * vi->image,
							   (float *) ph->dy + n * vo->image,
							   ph->dx ? ph->dx + n * vi->image : NULL,
							   gw, gw + (size_t) l->out_c * l->in_c * 9, wacc,
							   t->conv_scratch + t->conv_scratch_floats * id);
	is_train_conv_wgrad_fold(&t->ls[ph->layer].conv, wacc, gw);
}

/*
 * A convolution followed by a fused block runs as one unit, in four passes:
 * statistics (the convolution, then its output's sums), forward (the block's
 * pooled output), backward sums (routing the pooled gradient), backward
 * (batch-norm, ReLU and pool backward in place over the convolution's
 * output, which nothing needs afterwards, then the convolution's own
 * backward on it).  So the full-size gradient is written once and never
 * stored apart.  ph->layer is the convolution, its batch-norm ph->layer + 1,
 * the pooled output (or its gradient) is at ph->layer + 4.
 */
static int
conv_block(const is_net *net, int i)
{
	return net->layers[i].kind == IS_LAYER_CONV3X3 && i + 1 < net->n_layers &&
		fused_block(net, i + 1);
}

/*
 * Image n's convolution output: in the activations (computed there first when
 * compute is set: the statistics pass), or, for a recomputed block, made
 * again into this worker's scratch.
 */
static float *
conv_output(const phase *ph, int id, int n, int compute)
{
	is_train   *t = ph->t;
	int			again = recomputed(t, ph->layer);
	float	   *y = again ? t->rc + t->rc_floats * id :
		t->act[ph->layer + 1] + n * t->view[ph->layer + 1].image;

	if (again || compute)
		is_train_conv_forward(&t->ls[ph->layer].conv, t->act[ph->layer] + n * t->view[ph->layer].image,
							  y, t->conv_scratch + t->conv_scratch_floats * id);
	return y;
}

static void
block_statistics(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	double	   *part = t->part + t->part_doubles * id;

	memset(part, 0, sizeof(double) * 2 * l->out_c);
	/* each image's sums while it is still in cache */
	for (int n = lo; n < hi; n++)
		train_image_sums(&t->view[ph->layer + 1], conv_output(ph, id, n, 1), 0, part);
}

static void
block_forward(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	const int	out = ph->layer + 4;

	for (int n = lo; n < hi; n++)
		train_block_image(t, ph->layer + 1, CELLS_FWD, conv_output(ph, id, n, 0),
						  t->act[out] + n * t->view[out].image, NULL, NULL);
}

static void
block_sums(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	double	   *part = t->part + t->part_doubles * id;

	memset(part, 0, sizeof(double) * 2 * l->out_c);
	for (int n = lo; n < hi; n++)
		train_block_image(t, ph->layer + 1, CELLS_SUMS, conv_output(ph, id, n, 0), NULL,
						  ph->dy + n * t->view[ph->layer + 4].image, part);
}

static void
block_backward(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	is_train   *t = ph->t;
	float	   *gw = worker_grad(t, id) + t->ls[ph->layer].param_off;
	float	   *wacc = t->wacc + t->wacc_floats * id;

	for (int n = lo; n < hi; n++)
	{
		float	   *y = conv_output(ph, id, n, 0);

		train_block_image(t, ph->layer + 1, CELLS_APPLY, y, NULL,
						  ph->dy + n * t->view[ph->layer + 4].image, NULL);
		is_train_conv_backward(&t->ls[ph->layer].conv, t->act[ph->layer] + n * t->view[ph->layer].image,
							   y, ph->dx ? ph->dx + n * t->view[ph->layer].image : NULL,
							   gw, gw + (size_t) l->out_c * l->in_c * 9, wacc,
							   t->conv_scratch + t->conv_scratch_floats * id);
	}
	is_train_conv_wgrad_fold(&t->ls[ph->layer].conv, wacc, gw);
}

/* Sums the workers' partials into worker 0's, in worker order. */
static void
reduce_parts(is_train *t, int channels)
{
	for (int w = 1; w < t->n_workers; w++)
		for (int i = 0; i < 2 * channels; i++)
			t->part[i] += t->part[t->part_doubles * w + i];
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

/* ---- passes ------------------------------------------------------------ */

/* One parallel phase per layer kind (batch-norm needs a reduction between two). */
static const phase_fn forward_phase[] = {
	[IS_LAYER_CONV3X3] = conv_forward,
	[IS_LAYER_RELU] = train_relu,
	[IS_LAYER_MAXPOOL2] = train_pool,
	[IS_LAYER_GAP] = train_gap,
	[IS_LAYER_LINEAR] = linear_forward,
	[IS_LAYER_L2NORM] = l2norm_phase,
};
static const phase_fn backward_phase[] = {
	[IS_LAYER_CONV3X3] = conv_backward,
	[IS_LAYER_RELU] = train_relu,
	[IS_LAYER_MAXPOOL2] = train_pool,
	[IS_LAYER_GAP] = train_gap,
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
	for (int b = 0; b < n; b++)
	{
		is_act		a = {net->in_c, net->in_h, net->in_w, t->view[0].b};

		is_act_from_nchw(in + (size_t) b * net->in_c * net->in_h * net->in_w, &a,
						 t->act[0] + b * t->view[0].image);
	}
	for (int i = 0; i < net->n_layers; i++)
	{
		ph.layer = i;
		if (conv_block(net, i))
		{
			run_phase(block_statistics, &ph);
			reduce_parts(t, net->layers[i].out_c);
			bn_statistics(t, i + 1, update_running);
			run_phase(block_forward, &ph);
			i += 3;				/* batch-norm, ReLU, pool */
			continue;
		}
		if (net->layers[i].kind == IS_LAYER_BATCHNORM)
		{
			ph.relu = fuses_relu(net, i);
			if (!conv_sums(net, i))
				run_phase(train_bn_sums, &ph);
			reduce_parts(t, net->layers[i].in_c);
			bn_statistics(t, i, update_running);
			run_phase(train_bn_apply, &ph);
			/* the ReLU's output is the same buffer */
			i += ph.relu;
		}
		else
			run_phase(forward_phase[net->layers[i].kind], &ph);
	}
	return t->act[net->n_layers];
}

/* Batch-norm's gamma and beta gradients from the reduced backward sums. */
static void
add_bn_grads(const is_train *t, const is_layer *l, float *g)
{
	for (int c = 0; c < l->in_c; c++)
	{
		g[c] += (float) t->part[2 * c + 1];
		g[l->in_c + c] += (float) t->part[2 * c];
	}
}

static void
zero_grads(const phase *ph, const is_layer *l, int id, int lo, int hi)
{

	memset(worker_grad(ph->t, id), 0, sizeof(float) * ph->t->net->n_floats);
}

/* The conv that reads the output of the first `block` conv blocks; -1 if none. */
static int
hint_layer(const is_net *net, int block)
{
	return block < 1 ? -1 : is_net_block_start(net, block);
}

size_t
is_train_block_floats(const is_train *t, int block)
{
	int			i = hint_layer(t->net, block);

	return i < 0 ? 0 : (size_t) t->view[i].c * t->view[i].h * t->view[i].w;
}

int
is_train_block_output(const is_train *t, int block, float *out)
{
	int			i = hint_layer(t->net, block);
	const train_view *v;

	if (i < 0)
		return -1;
	v = &t->view[i];
	for (int n = 0; n < t->n; n++)
	{
		is_act		a = {v->c, v->h, v->w, v->b};

		is_act_to_nchw(t->act[i] + n * v->image, &a, out + (size_t) n * v->c * v->h * v->w);
	}
	return 0;
}

/* Adds the n dense maps dmap into the interior of gradient buffer d (view v). */
static void
add_dense_grad(const train_view *v, float *d, int n_images, const float *dmap)
{
	for (int n = 0; n < n_images; n++)
		for (int c = 0; c < v->c; c++)
			for (int y = 0; y < v->h; y++)
			{
				float	   *row = train_row(v, d, n, c / v->b, y) + c % v->b;
				const float *src = dmap + (((size_t) n * v->c + c) * v->h + y) * v->w;

				for (int x = 0; x < v->w; x++)
					row[(size_t) x * v->b] += src[x];
			}
}

int
is_train_backward(is_train *t, const float *dout, float *grad)
{
	return is_train_backward_hint(t, dout, 0, NULL, grad);
}

int
is_train_backward_hint(is_train *t, const float *dout, int block, const float *dmap, float *grad)
{
	const is_net *net = t->net;
	const float *dy = dout;
	int			flip = 0,
				hint = dmap ? hint_layer(net, block) : -1;
	phase		ph = {.t = t};

	if (t->n == 0 || (dmap && hint < 0))
		return -1;
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
		if (block)
		{
			float	   *g = worker_grad(t, 0) + t->ls[i].param_off;

			/* the block and its convolution in two passes; the input's gradient as a conv's */
			ph.layer = --i;
			ph.dx = i == 0 ? NULL : t->dbuf[flip];
			run_phase(block_sums, &ph);
			reduce_parts(t, l->in_c);
			add_bn_grads(t, l, g);
			run_phase(block_backward, &ph);
		}
		else if (l->kind == IS_LAYER_BATCHNORM)
		{
			float	   *g = worker_grad(t, 0) + t->ls[i].param_off;

			run_phase(train_bn_sums, &ph);
			reduce_parts(t, l->in_c);
			add_bn_grads(t, l, g);
			run_phase(train_bn_backward, &ph);
		}
		else
			run_phase(backward_phase[l->kind], &ph);
		if (i == hint)
			add_dense_grad(&t->view[i], ph.dx, t->n, dmap);
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
	/* the block passes overwrote the stored convolution outputs */
	t->n = 0;
	return 0;
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
