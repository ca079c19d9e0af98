#include "frozen_trunk.h"
#include "errmsg.h"
#include "train_conv.h"

#include <stdlib.h>
#include <string.h>

/* A batch of trunk passes at a time: the plan's arena holds every activation of a batch. */
#define TRUNK_BATCH 32

static int
conv_blocks(const is_net *net)
{
	int			n = 0;

	for (int i = 0; i < net->n_layers; i++)
		n += net->layers[i].kind == IS_LAYER_CONV3X3;
	return n;
}

int
is_trunk_open(is_trunk *t, const char *path, int blocks, int threads, char *err, size_t errlen)
{
	is_infer_opts opts = {.max_batch = TRUNK_BATCH, .threads = threads};

	memset(t, 0, sizeof(*t));
	if (is_train_conv_kind(&opts.conv, err, errlen) < 0 ||
		is_model_load_file(&t->model, path, err, errlen) < 0)
		return -1;
	t->blocks = blocks;
	if (blocks < 1)
		return is_fail(err, errlen, "%s: a trunk needs at least one conv block, not %d", path, blocks);
	/* the trunk's layers: those before the conv that starts the next block */
	t->n_layers = is_net_block_start(&t->model.net, blocks);
	if (t->n_layers < 0)
		return is_fail(err, errlen, "%s: a trunk of %d conv blocks must leave the model at least "
					   "one more (it has %d)", path, blocks, conv_blocks(&t->model.net));
	/* the whole model's plan (its later blocks unused): a prefix pass runs in any plan */
	t->plan = is_infer_create(&t->model.net, &opts, err, errlen);
	if (!t->plan)
		return -1;
	/* one fused operation per convolution, so the cut after `blocks` of them */
	if (is_infer_prefix_act(t->plan, blocks, &t->act) < 0)
		return is_fail(err, errlen, "%s: the trunk's output after %d blocks is not a feature map", path, blocks);
	t->buf = malloc(sizeof(float) * TRUNK_BATCH * is_infer_prefix_floats(t->plan, blocks));
	if (!t->buf)
		return is_fail(err, errlen, "out of memory for the trunk's activations");
	return 0;
}

void
is_trunk_close(is_trunk *t)
{
	is_infer_free(t->plan);
	is_model_free(&t->model);
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

int
is_trunk_run(is_trunk *t, const float *in, int n, float *out, char *err, size_t errlen)
{
	size_t		in_floats = (size_t) t->model.net.in_c * t->model.net.in_h * t->model.net.in_w,
				act_floats = is_infer_prefix_floats(t->plan, t->blocks),
				out_floats = (size_t) t->act.c * t->act.h * t->act.w;

	for (int done = 0; done < n; done += TRUNK_BATCH)
	{
		int			m = n - done < TRUNK_BATCH ? n - done : TRUNK_BATCH;

		if (is_infer_run_ops(t->plan, 0, t->blocks, in + done * in_floats, m, t->buf, err, errlen) != 0)
			return -1;
		for (int i = 0; i < m; i++)
			is_act_to_nchw(t->buf + i * act_floats, &t->act, out + (done + i) * out_floats);
	}
	return 0;
}

int
is_trunk_join(const is_trunk *t, const is_net *rest, is_net *whole, char *err, size_t errlen)
{
	const is_net *trunk = &t->model.net;

	if (rest->in_c != t->act.c || rest->in_h != t->act.h || rest->in_w != t->act.w)
		return is_fail(err, errlen, "the trained layers take %d x %d x %d, the trunk gives %d x %d x %d",
					   rest->in_c, rest->in_h, rest->in_w, t->act.c, t->act.h, t->act.w);
	if (t->n_layers + rest->n_layers > IS_NET_MAX_LAYERS)
		return is_fail(err, errlen, "trunk and trained layers make more than %d layers", IS_NET_MAX_LAYERS);
	memset(whole, 0, sizeof(*whole));
	whole->in_c = trunk->in_c;
	whole->in_h = trunk->in_h;
	whole->in_w = trunk->in_w;
	for (int i = 0; i < t->n_layers + rest->n_layers; i++)
	{
		const is_layer *l = i < t->n_layers ? &trunk->layers[i] : &rest->layers[i - t->n_layers];

		whole->layers[i] = (is_layer) {.kind = l->kind, .out = l->out, .eps = l->eps};
	}
	whole->n_layers = t->n_layers + rest->n_layers;
	if (is_net_init(whole, err, errlen) < 0)
		return -1;
	/* layer by layer, each tensor from its source layer's, which has the same shape */
	for (int i = 0, w = 0, k[2] = {0, 0}; i < whole->n_layers; i++)
	{
		int			from_rest = i >= t->n_layers;

		for (int p = 0; p < whole->layers[i].n_params; p++)
		{
			is_tensor	src,
						dst;

			is_net_tensor(whole, w++, &dst);
			if (is_net_tensor(from_rest ? rest : trunk, k[from_rest]++, &src) < 0 || src.count != dst.count)
			{
				is_net_free(whole);
				return is_fail(err, errlen, "layer %d's tensor %s does not match its source's", i, dst.name);
			}
			memcpy(dst.data, src.data, sizeof(float) * dst.count);
		}
	}
	return 0;
}
