/*
 * Layer tables shared by the training tests; every layer kind appears, and
 * batch-norm both on feature maps and on vectors.  The PyTorch twin of
 * train_all_kinds is net() in gen_train_ref.py.
 */
#ifndef INSTSIM_TEST_TRAIN_NETS_H
#define INSTSIM_TEST_TRAIN_NETS_H

#include <string.h>

#include "nn.h"

static const is_layer train_all_kinds[] = {
	{.kind = IS_LAYER_CONV3X3, .out = 3},
	{.kind = IS_LAYER_BATCHNORM, .eps = 1e-5f},
	{.kind = IS_LAYER_RELU},
	{.kind = IS_LAYER_MAXPOOL2},
	{.kind = IS_LAYER_CONV3X3, .out = 4},
	{.kind = IS_LAYER_RELU},
	{.kind = IS_LAYER_GAP},
	{.kind = IS_LAYER_LINEAR, .out = 5},
	{.kind = IS_LAYER_BATCHNORM, .eps = 1e-5f},
	{.kind = IS_LAYER_LINEAR, .out = 3},
	{.kind = IS_LAYER_L2NORM},
};

#define TRAIN_ALL_KINDS_N ((int) (sizeof(train_all_kinds) / sizeof(train_all_kinds[0])))

/* A small version of the default network, for the tests whose loss must fall. */
static const is_layer train_tiny[] = {
	{.kind = IS_LAYER_CONV3X3, .out = 4},
	{.kind = IS_LAYER_BATCHNORM, .eps = 1e-5f},
	{.kind = IS_LAYER_RELU},
	{.kind = IS_LAYER_MAXPOOL2},
	{.kind = IS_LAYER_CONV3X3, .out = 8},
	{.kind = IS_LAYER_BATCHNORM, .eps = 1e-5f},
	{.kind = IS_LAYER_RELU},
	{.kind = IS_LAYER_MAXPOOL2},
	{.kind = IS_LAYER_GAP},
	{.kind = IS_LAYER_LINEAR, .out = 8},
	{.kind = IS_LAYER_L2NORM},
};

#define TRAIN_TINY_N ((int) (sizeof(train_tiny) / sizeof(train_tiny[0])))

/* Mean of n losses (the tests compare the first steps' with the last ones'). */
static inline double
train_mean(const double *x, int n)
{
	double		s = 0.0;

	for (int i = 0; i < n; i++)
		s += x[i];
	return s / n;
}

/* Sets the table and allocates the parameters; 0 or -1 with err. */
static inline int
train_net_build(is_net *net, int c, int h, int w, const is_layer *layers, int n,
				char *err, size_t errlen)
{
	memset(net, 0, sizeof(*net));
	net->in_c = c;
	net->in_h = h;
	net->in_w = w;
	net->n_layers = n;
	memcpy(net->layers, layers, sizeof(is_layer) * n);
	return is_net_init(net, err, errlen);
}

#endif
