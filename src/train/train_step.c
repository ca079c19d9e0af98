#include "train_step.h"
#include "distill.h"
#include "errmsg.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
is_step_init(is_step *s, is_net *net, int max_triplets, int threads, float lr,
			 char *err, size_t errlen)
{
	int			dim = is_net_out_dim(net);

	*s = (is_step) {.net = net, .max_triplets = max_triplets,
	.margin = IS_TRIPLET_MARGIN, .mining = IS_MINING_NONE, .groups = 1};
	if (max_triplets < 1 || max_triplets > (1 << 16) / 3)
	{
		snprintf(err, errlen, "%d triplets per batch, want 1..%d", max_triplets, (1 << 16) / 3);
		return -1;
	}
	if (is_adam_init(&s->adam, net->n_floats, lr, err, errlen) < 0)
		return -1;
	s->train = is_train_create(net, 3 * max_triplets, threads, err, errlen);
	s->grad = malloc(sizeof(float) * net->n_floats);
	s->dout = malloc(sizeof(float) * 3 * max_triplets * dim);
	s->trip = malloc(sizeof(is_triplet) * max_triplets);
	s->sub_emb = malloc(sizeof(float) * 3 * max_triplets * dim);
	s->sub_grad = malloc(sizeof(float) * 3 * max_triplets * dim);
	s->sub_teacher = malloc(sizeof(float) * 3 * max_triplets * dim);
	s->sub_label = malloc(sizeof(int) * 3 * max_triplets);
	s->sub_triplet = malloc(sizeof(int) * max_triplets);
	s->sub_has = malloc(3 * max_triplets);
	if (!s->train || !s->grad || !s->dout || !s->trip || !s->sub_emb || !s->sub_grad ||
		!s->sub_teacher || !s->sub_label || !s->sub_triplet || !s->sub_has)
	{
		if (s->train)
			snprintf(err, errlen, "out of memory for a batch of %d triplets", max_triplets);
		is_step_free(s);
		return -1;
	}
	return 0;
}

void
is_step_free(is_step *s)
{
	is_train_free(s->train);
	is_adam_free(&s->adam);
	free(s->grad);
	free(s->dout);
	free(s->trip);
	free(s->sub_emb);
	free(s->sub_grad);
	free(s->sub_teacher);
	free(s->sub_label);
	free(s->sub_triplet);
	free(s->sub_has);
	free(s->hint_map);
	free(s->hint_grad);
	is_bank_free(&s->bank);
	s->train = NULL;
	s->grad = s->dout = s->sub_emb = s->sub_grad = s->sub_teacher = NULL;
	s->trip = NULL;
	s->sub_label = s->sub_triplet = NULL;
	s->sub_has = NULL;
	s->hint_map = s->hint_grad = NULL;
}

int
is_step_set_hint(is_step *s, int block, float weight, char *err, size_t errlen)
{
	size_t		floats = is_train_block_floats(s->train, block);

	if (s->groups != 1)
		return is_fail(err, errlen, "a feature-map hint needs one head");
	if (floats == 0)
		return is_fail(err, errlen, "the network has no conv block after its first %d: no map to hint", block);
	free(s->hint_map);
	free(s->hint_grad);
	s->hint_map = malloc(sizeof(float) * 3 * s->max_triplets * floats);
	s->hint_grad = malloc(sizeof(float) * 3 * s->max_triplets * floats);
	if (!s->hint_map || !s->hint_grad)
	{
		free(s->hint_map);
		free(s->hint_grad);
		s->hint_map = s->hint_grad = NULL;
		return is_fail(err, errlen, "out of memory for the feature maps of a batch");
	}
	s->hint_block = block;
	s->hint_weight = weight;
	s->hint_floats = floats;
	return 0;
}

int
is_step_set_bank(is_step *s, int rows, char *err, size_t errlen)
{
	int			dim = is_net_out_dim(s->net);
	size_t		all = (size_t) 3 * s->max_triplets + (size_t) (rows > 0 ? rows : 0);
	float	   *e,
			   *g;
	int		   *l;

	if (s->groups != 1 || s->mining == IS_MINING_NONE)
		return is_fail(err, errlen, "a mining bank needs one head and a mining mode");
	is_bank_free(&s->bank);
	if (is_bank_init(&s->bank, rows, dim, s->max_triplets, err, errlen) < 0)
		return -1;
	/* the loss sees the batch's rows followed by the bank's */
	e = realloc(s->sub_emb, sizeof(float) * all * dim);
	if (e)
		s->sub_emb = e;
	g = realloc(s->sub_grad, sizeof(float) * all * dim);
	if (g)
		s->sub_grad = g;
	l = realloc(s->sub_label, sizeof(int) * all);
	if (l)
		s->sub_label = l;
	if (!e || !g || !l)
	{
		is_bank_free(&s->bank);
		return is_fail(err, errlen, "out of memory for a mining bank of %d rows", rows);
	}
	return 0;
}

double
is_step_run(is_step *s, const float *batch, const int *label, int n, int *active)
{
	return is_step_run_distill(s, batch, label, n, NULL, NULL, NULL, active);
}

/* The last linear layer's weight: out x in floats. */
static float *
last_linear(is_step *s, int *out, int *in)
{
	for (int i = s->net->n_layers - 1; i >= 0; i--)
		if (s->net->layers[i].kind == IS_LAYER_LINEAR)
		{
			*out = s->net->layers[i].out_c;
			*in = s->net->layers[i].in_c;
			return s->net->layers[i].param[0];
		}
	return NULL;
}

/* Zeroes the off-diagonal blocks of w (the weight, or its gradient). */
static void
zero_off_diagonal(const is_step *s, float *w, int out, int in)
{
	int			rows = out / s->groups;

	for (int y = 0; y < out; y++)
		for (int x = 0; x < in; x++)
			if (x / s->block_in != y / rows)
				w[(size_t) y * in + x] = 0.0f;
}

void
is_step_block_diagonal(is_step *s)
{
	int			out = 0,
				in = 0;
	float	   *w = last_linear(s, &out, &in);

	if (!w || s->groups < 2 || in % s->groups || out % s->groups)
		return;
	s->block_in = in / s->groups;
	zero_off_diagonal(s, w, out, in);
}

double
is_step_run_distill(is_step *s, const float *batch, const int *label, int n,
					const float *teacher, const unsigned char *has_teacher,
					double *distill, int *active)
{
	is_step_targets tg = {.emb = teacher, .has = has_teacher};

	return is_step_run_groups(s, batch, label, NULL, n, teacher ? &tg : NULL, distill, active);
}

/*
 * Head g's part of the loss: its m triplets' rows, sliced out of emb into a
 * compact batch (anchors, positives, negatives), mined, scored, and the
 * gradient scattered back into dout scaled by m / n.  With one head this is
 * the whole batch, unchanged.
 */
static void
group_loss(is_step *s, const float *emb, const int *label, const int *group, int g, int n,
		   const is_step_targets *tg, double *loss, double *d, int *active)
{
	int			dim = is_net_out_dim(s->net),
				sub = dim / s->groups,
				m = 0,
				act = 0,
				rows;
	double		scale;

	for (int i = 0; i < n; i++)
		if ((group ? group[i] : 0) == g)
			s->sub_triplet[m++] = i;
	if (m == 0)
		return;
	for (int j = 0; j < 3; j++)
		for (int k = 0; k < m; k++)
		{
			int			row = j * n + s->sub_triplet[k],
						at = j * m + k;

			memcpy(s->sub_emb + (size_t) at * sub, emb + (size_t) row * dim + (size_t) g * sub,
				   sizeof(float) * sub);
			s->sub_label[at] = label[row];
			s->sub_has[at] = !tg || !tg->has || tg->has[row];
			if (tg && tg->emb)
				memcpy(s->sub_teacher + (size_t) at * sub, tg->emb + (size_t) row * sub,
					   sizeof(float) * sub);
		}
	for (int k = 0; k < m; k++)
		s->trip[k] = (is_triplet) {k, m + k, 2 * m + k};
	is_triplet_mine(s->sub_emb, 3 * m, sub, s->sub_label, s->trip, m, s->mining);
	rows = 3 * m;
	if (s->bank.n > 0)
	{
		is_triplet_mine_bank(s->sub_emb, 3 * m, sub, s->sub_label, s->trip, m, s->mining, &s->bank);
		/* the bank's rows follow the batch's; their gradients are dropped */
		memcpy(s->sub_emb + (size_t) rows * sub, s->bank.rows, sizeof(float) * s->bank.n * sub);
		rows += s->bank.n;
	}
	scale = (double) m / n;
	s->head_loss[g] = is_triplet_loss(s->sub_emb, rows, sub, s->trip, m, s->margin, s->sub_grad, &act);
	if (tg && tg->emb && s->distill_weight > 0.0f)
		s->head_distill[g] = is_distill_loss(s->sub_emb, s->sub_teacher, s->sub_has, 3 * m, sub,
											 s->distill_weight, s->sub_grad);
	if (s->bank.cap)
		is_bank_push(&s->bank, s->sub_emb, s->sub_label, 3 * m);
	*loss += scale * s->head_loss[g];
	*d += scale * s->head_distill[g];
	*active += act;
	for (int j = 0; j < 3; j++)
		for (int k = 0; k < m; k++)
		{
			const float *src = s->sub_grad + (size_t) (j * m + k) * sub;
			float	   *dst = s->dout + (size_t) (j * n + s->sub_triplet[k]) * dim + (size_t) g * sub;

			for (int x = 0; x < sub; x++)
				dst[x] = (float) (scale * src[x]);
		}
}

double
is_step_run_groups(is_step *s, const float *batch, const int *label, const int *group, int n,
				   const is_step_targets *tg, double *distill, int *active)
{
	int			dim = is_net_out_dim(s->net);
	const float *emb;
	double		loss = 0.0,
				d = 0.0;
	int			act = 0;
	bool		hint;

	if (n < 1 || n > s->max_triplets || s->groups < 1 || s->groups > IS_STEP_MAX_GROUPS ||
		dim % s->groups != 0)
		return -1.0;
	memset(s->head_loss, 0, sizeof(s->head_loss));
	memset(s->head_distill, 0, sizeof(s->head_distill));
	s->hint_loss = 0.0;
	emb = is_train_forward(s->train, batch, 3 * n, 1);
	memset(s->dout, 0, sizeof(float) * 3 * n * dim);
	for (int g = 0; g < s->groups; g++)
		group_loss(s, emb, label, group, g, n, tg, &loss, &d, &act);
	if (distill)
		*distill = d;
	if (active)
		*active = act;
	hint = s->hint_weight > 0.0f && tg && tg->map;
	if (hint)
	{
		is_train_block_output(s->train, s->hint_block, s->hint_map);
		memset(s->hint_grad, 0, sizeof(float) * 3 * n * s->hint_floats);
		s->hint_loss = is_distill_loss(s->hint_map, tg->map, tg->has, 3 * n, (int) s->hint_floats,
									   s->hint_weight, s->hint_grad);
	}
	if (is_train_backward_hint(s->train, s->dout, s->hint_block, hint ? s->hint_grad : NULL,
							   s->grad) < 0)
		return -1.0;
	if (s->block_in)
	{
		int			out = 0,
					in = 0;
		float	   *w = last_linear(s, &out, &in);

		zero_off_diagonal(s, s->grad + (w - s->net->params), out, in);
	}
	is_adam_begin(&s->adam);
	for (int i = 0; i < is_net_tensor_count(s->net); i++)
	{
		is_tensor	t;

		if (!is_net_tensor_trained(s->net, i))
			continue;
		is_net_tensor(s->net, i, &t);
		is_adam_update(&s->adam, s->net->params, s->grad,
					   (size_t) (t.data - s->net->params), t.count);
	}
	return loss + d + s->hint_loss;
}
