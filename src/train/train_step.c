#include "train_step.h"
#include "distill.h"

#include <stdio.h>
#include <stdlib.h>

int
is_step_init(is_step *s, is_net *net, int max_triplets, int threads, float lr,
			 char *err, size_t errlen)
{
	int			dim = is_net_out_dim(net);

	*s = (is_step) {.net = net, .max_triplets = max_triplets,
	.margin = IS_TRIPLET_MARGIN, .mining = IS_MINING_NONE};
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
	if (!s->train || !s->grad || !s->dout || !s->trip)
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
	s->train = NULL;
	s->grad = s->dout = NULL;
	s->trip = NULL;
}

double
is_step_run(is_step *s, const float *batch, const int *label, int n, int *active)
{
	return is_step_run_distill(s, batch, label, n, NULL, NULL, NULL, active);
}

double
is_step_run_distill(is_step *s, const float *batch, const int *label, int n,
					const float *teacher, const unsigned char *has_teacher,
					double *distill, int *active)
{
	int			dim = is_net_out_dim(s->net);
	const float *emb;
	double		loss,
				d = 0.0;

	if (n < 1 || n > s->max_triplets)
		return -1.0;
	emb = is_train_forward(s->train, batch, 3 * n, 1);
	for (int i = 0; i < n; i++)
		s->trip[i] = (is_triplet) {i, n + i, 2 * n + i};
	is_triplet_mine(emb, 3 * n, dim, label, s->trip, n, s->mining);
	loss = is_triplet_loss(emb, 3 * n, dim, s->trip, n, s->margin, s->dout, active);
	if (teacher && s->distill_weight > 0.0f)
		d = is_distill_loss(emb, teacher, has_teacher, 3 * n, dim, s->distill_weight, s->dout);
	if (distill)
		*distill = d;
	if (is_train_backward(s->train, s->dout, s->grad) < 0)
		return -1.0;
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
	return loss + d;
}
