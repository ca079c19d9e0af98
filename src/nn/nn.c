/*
 * The layer table: validation, shape inference and the parameter tensors a
 * trainer updates and model.c stores.  Inference plans live in nn_infer.c.
 */
#include "nn.h"
#include "errmsg.h"
#include "names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generous bounds that keep every size computation far from overflow. */
#define MAX_DIM 4096
#define MAX_PARAM_FLOATS ((size_t) 1 << 26)	/* 256 MB of weights */

static const char *const kind_names[] = {
	[IS_LAYER_CONV3X3] = "conv3x3",
	[IS_LAYER_BATCHNORM] = "batchnorm",
	[IS_LAYER_RELU] = "relu",
	[IS_LAYER_MAXPOOL2] = "maxpool2",
	[IS_LAYER_GAP] = "gap",
	[IS_LAYER_LINEAR] = "linear",
	[IS_LAYER_L2NORM] = "l2norm",
};

const char *
is_layer_kind_name(is_layer_kind kind)
{
	return is_name_of(kind_names, IS_N_NAMES(kind_names), (int) kind);
}

int
is_layer_kind_parse(const char *name, is_layer_kind *kind)
{
	int			i = is_name_index(kind_names, IS_N_NAMES(kind_names), name);

	if (i >= 0)
		*kind = (is_layer_kind) i;
	return i < 0 ? -1 : 0;
}


/* Parameter tensor shapes of one layer: returns the tensor count. */
static int
layer_shapes(const is_layer *l, int shape[IS_NET_MAX_PARAMS][4], int ndim[IS_NET_MAX_PARAMS])
{
	switch (l->kind)
	{
		case IS_LAYER_CONV3X3:
			ndim[0] = 4;
			shape[0][0] = l->out_c;
			shape[0][1] = l->in_c;
			shape[0][2] = shape[0][3] = 3;
			ndim[1] = 1;
			shape[1][0] = l->out_c;
			return 2;
		case IS_LAYER_LINEAR:
			ndim[0] = 2;
			shape[0][0] = l->out_c;
			shape[0][1] = l->in_c;
			ndim[1] = 1;
			shape[1][0] = l->out_c;
			return 2;
		case IS_LAYER_BATCHNORM:
			for (int i = 0; i < 4; i++)
			{
				ndim[i] = 1;
				shape[i][0] = l->in_c;
			}
			return 4;
		default:
			return 0;
	}
}

static size_t
shape_count(const int *shape, int ndim)
{
	size_t		count = 1;

	for (int d = 0; d < ndim; d++)
		count *= (size_t) shape[d];
	return count;
}

static const char *const param_names[][IS_NET_MAX_PARAMS] = {
	[IS_LAYER_CONV3X3] = {"weight", "bias"},
	[IS_LAYER_LINEAR] = {"weight", "bias"},
	[IS_LAYER_BATCHNORM] = {"weight", "bias", "running_mean", "running_var"},
};

/* Derives the output shape of layer l from its input shape; 0 or -1. */
static int
layer_infer(is_layer *l, int i, int *vector, char *err, size_t errlen)
{
	const char *name = is_layer_kind_name(l->kind);

	l->out_c = l->in_c;
	l->out_h = l->in_h;
	l->out_w = l->in_w;
	switch (l->kind)
	{
		case IS_LAYER_CONV3X3:
		case IS_LAYER_MAXPOOL2:
		case IS_LAYER_GAP:
			if (*vector)
				return is_fail(err, errlen, "layer %d (%s) needs a feature map, but follows gap", i, name);
			if (l->kind == IS_LAYER_CONV3X3)
			{
				if (l->out < 1 || l->out > MAX_DIM)
					return is_fail(err, errlen, "layer %d (conv3x3): %d output channels, want 1..%d", i, l->out, MAX_DIM);
				l->out_c = l->out;
			}
			else if (l->kind == IS_LAYER_MAXPOOL2)
			{
				if (l->in_h < 2 || l->in_w < 2)
					return is_fail(err, errlen, "layer %d (maxpool2): input %dx%d is smaller than 2x2", i, l->in_h, l->in_w);
				l->out_h = l->in_h / 2;
				l->out_w = l->in_w / 2;
			}
			else
			{
				l->out_h = l->out_w = 1;
				*vector = 1;
			}
			return 0;
		case IS_LAYER_LINEAR:
			if (!*vector)
				return is_fail(err, errlen, "layer %d (linear) needs a vector: put gap before it", i);
			if (l->out < 1 || l->out > 65536)
				return is_fail(err, errlen, "layer %d (linear): %d outputs, want 1..65536", i, l->out);
			l->out_c = l->out;
			return 0;
		case IS_LAYER_BATCHNORM:
			if (!(l->eps > 0.0f) || !isfinite(l->eps))
				return is_fail(err, errlen, "layer %d (batchnorm): eps must be positive", i);
			return 0;
		case IS_LAYER_RELU:
		case IS_LAYER_L2NORM:
			return 0;
	}
	return is_fail(err, errlen, "layer %d: unknown kind %d", i, (int) l->kind);
}

int
is_net_init(is_net *net, char *err, size_t errlen)
{
	int			c = net->in_c,
				h = net->in_h,
				w = net->in_w;
	int			vector = 0;

	net->params = NULL;
	net->n_floats = 0;
	if (c < 1 || h < 1 || w < 1 || c > MAX_DIM || h > MAX_DIM || w > MAX_DIM)
		return is_fail(err, errlen, "input shape %dx%dx%d out of range 1..%d", c, h, w, MAX_DIM);
	if (net->n_layers < 1 || net->n_layers > IS_NET_MAX_LAYERS)
		return is_fail(err, errlen, "%d layers, want 1..%d", net->n_layers, IS_NET_MAX_LAYERS);

	for (int i = 0; i < net->n_layers; i++)
	{
		is_layer   *l = &net->layers[i];
		int			shape[IS_NET_MAX_PARAMS][4],
					ndim[IS_NET_MAX_PARAMS];

		l->in_c = c;
		l->in_h = h;
		l->in_w = w;
		if (layer_infer(l, i, &vector, err, errlen) < 0)
			return -1;
		c = l->out_c;
		h = l->out_h;
		w = l->out_w;
		l->n_params = layer_shapes(l, shape, ndim);
		for (int p = 0; p < l->n_params; p++)
			net->n_floats += shape_count(shape[p], ndim[p]);
		if (net->n_floats > MAX_PARAM_FLOATS)
			return is_fail(err, errlen, "more than %zu parameters", MAX_PARAM_FLOATS);
	}
	if (!vector)
		return is_fail(err, errlen, "the network must end in a vector: add a gap layer");

	net->params = calloc(net->n_floats ? net->n_floats : 1, sizeof(float));
	if (!net->params)
		return is_fail(err, errlen, "out of memory for %zu parameters", net->n_floats);

	{
		float	   *p = net->params;

		for (int i = 0; i < net->n_layers; i++)
		{
			is_layer   *l = &net->layers[i];
			int			shape[IS_NET_MAX_PARAMS][4],
						ndim[IS_NET_MAX_PARAMS];

			layer_shapes(l, shape, ndim);
			for (int t = 0; t < l->n_params; t++)
			{
				l->param[t] = p;
				p += shape_count(shape[t], ndim[t]);
			}
		}
	}
	return 0;
}

void
is_net_free(is_net *net)
{
	free(net->params);
	net->params = NULL;
	for (int i = 0; i < net->n_layers && i < IS_NET_MAX_LAYERS; i++)
		memset(net->layers[i].param, 0, sizeof(net->layers[i].param));
}

int
is_net_tensor_count(const is_net *net)
{
	int			n = 0;

	for (int i = 0; i < net->n_layers; i++)
		n += net->layers[i].n_params;
	return n;
}

int
is_net_tensor(const is_net *net, int index, is_tensor *t)
{
	for (int i = 0; i < net->n_layers; i++)
	{
		const is_layer *l = &net->layers[i];
		int			shape[IS_NET_MAX_PARAMS][4],
					ndim[IS_NET_MAX_PARAMS];

		if (index >= l->n_params)
		{
			index -= l->n_params;
			continue;
		}
		layer_shapes(l, shape, ndim);
		snprintf(t->name, sizeof(t->name), "%d.%s", i, param_names[l->kind][index]);
		t->ndim = ndim[index];
		memcpy(t->shape, shape[index], sizeof(t->shape));
		t->count = shape_count(t->shape, t->ndim);
		t->data = l->param[index];
		return 0;
	}
	return -1;
}

int
is_net_out_dim(const is_net *net)
{
	return net->n_layers > 0 ? net->layers[net->n_layers - 1].out_c : 0;
}

int
is_net_block_start(const is_net *net, int blocks)
{
	int			convs = 0;

	if (blocks < 0)
		return -1;
	for (int i = 0; i < net->n_layers; i++)
		if (net->layers[i].kind == IS_LAYER_CONV3X3 && convs++ == blocks)
			return i;
	return -1;
}

double
is_net_flops(const is_net *net)
{
	double		f = 0.0;

	for (int i = 0; i < net->n_layers; i++)
	{
		const is_layer *l = &net->layers[i];

		if (l->kind == IS_LAYER_CONV3X3)
			f += 2.0 * 9 * l->in_c * l->out_c * l->out_h * l->out_w;
		else if (l->kind == IS_LAYER_LINEAR)
			f += 2.0 * l->in_c * l->out_c;
	}
	return f;
}

int
is_net_default(is_net *net, int in_c, int in_h, int in_w, const int *channels,
			   int n_blocks, int emb_dim, char *err, size_t errlen)
{
	int			k = 0;

	if (n_blocks < 1 || 4 * n_blocks + 3 > IS_NET_MAX_LAYERS)
		return is_fail(err, errlen, "%d blocks, want 1..%d", n_blocks,
					   (IS_NET_MAX_LAYERS - 3) / 4);
	memset(net, 0, sizeof(*net));
	net->in_c = in_c;
	net->in_h = in_h;
	net->in_w = in_w;
	for (int b = 0; b < n_blocks; b++)
	{
		net->layers[k++] = (is_layer) {.kind = IS_LAYER_CONV3X3, .out = channels[b]};
		net->layers[k++] = (is_layer) {.kind = IS_LAYER_BATCHNORM, .eps = 1e-5f};
		net->layers[k++] = (is_layer) {.kind = IS_LAYER_RELU};
		net->layers[k++] = (is_layer) {.kind = IS_LAYER_MAXPOOL2};
	}
	net->layers[k++] = (is_layer) {.kind = IS_LAYER_GAP};
	net->layers[k++] = (is_layer) {.kind = IS_LAYER_LINEAR, .out = emb_dim};
	net->layers[k++] = (is_layer) {.kind = IS_LAYER_L2NORM};
	net->n_layers = k;
	return is_net_init(net, err, errlen);
}
