/*
 * The C trainer against PyTorch (data/train_ref.h, made by gen_train_ref.py):
 * same network, weights and batch in train() mode -> same outputs, running
 * statistics, and parameter gradients for a projection loss and for the
 * cosine triplet loss.
 */
#include <math.h>
#include <stdlib.h>

#include "tap.h"
#include "train_nets.h"
#include "train_net.h"
#include "triplet.h"

#include "data/train_ref.h"

#define TOL 2e-4

static double
max_diff(const float *a, const float *b, size_t n)
{
	double		d = 0.0;

	for (size_t i = 0; i < n; i++)
		d = fmax(d, fabs((double) a[i] - b[i]));
	return d;
}

/* Gradients of every trained tensor against ref[i] (NULL entries skipped). */
static void
compare_grads(const char *what, const is_net *net, const float *grad,
			  const float *const *ref)
{
	for (int i = 0; i < is_net_tensor_count(net); i++)
	{
		is_tensor	ts;
		double		scale = 0.0;

		is_net_tensor(net, i, &ts);
		if (!ref[i])
			continue;
		for (size_t j = 0; j < ts.count; j++)
			scale = fmax(scale, fabs(ref[i][j]));
		tap_ok(max_diff(grad + (ts.data - net->params), ref[i], ts.count) <= TOL * (1.0 + scale),
			   "%s: gradient of %s (%s) matches PyTorch", what, ts.name, ref_names[i]);
	}
}

static void
run(int threads)
{
	is_net		net;
	char		err[256];
	is_train   *t;
	const float *out;
	float	   *grad,
				dout[REF_BATCH * 3];
	is_triplet	tr[2] = {{0, 2, 4}, {1, 3, 5}};
	const float *const grads[] = {ref_grad0, ref_grad1, ref_grad2, ref_grad3, NULL, NULL,
		ref_grad6, ref_grad7, ref_grad8, ref_grad9, ref_grad10, ref_grad11, NULL, NULL,
	ref_grad14, ref_grad15};
	const float *const tgrads[] = {ref_tgrad0, ref_tgrad1, ref_tgrad2, ref_tgrad3, NULL, NULL,
		ref_tgrad6, ref_tgrad7, ref_tgrad8, ref_tgrad9, ref_tgrad10, ref_tgrad11, NULL, NULL,
	ref_tgrad14, ref_tgrad15};
	double		loss;

	if (train_net_build(&net, REF_C, REF_H, REF_W, train_all_kinds, TRAIN_ALL_KINDS_N,
						err, sizeof(err)) < 0)
	{
		tap_ok(0, "build: %s", err);
		return;
	}
	tap_ok(is_net_tensor_count(&net) == (int) (sizeof(ref_names) / sizeof(ref_names[0])),
		   "same tensor count as the PyTorch state_dict");
	for (int i = 0; i < is_net_tensor_count(&net); i++)
	{
		is_tensor	ts;

		is_net_tensor(&net, i, &ts);
		for (size_t j = 0; j < ts.count; j++)
			ts.data[j] = ref_params[i][j];
	}
	grad = malloc(sizeof(float) * net.n_floats);
	t = is_train_create(&net, REF_BATCH, threads, err, sizeof(err));

	out = is_train_forward(t, ref_input, REF_BATCH, 1);
	tap_ok(max_diff(out, ref_output, REF_BATCH * 3) <= TOL, "%d thread(s): outputs match PyTorch", threads);
	tap_ok(max_diff(net.layers[1].param[2], ref_running4, 3) <= TOL &&
		   max_diff(net.layers[1].param[3], ref_running5, 3) <= TOL &&
		   max_diff(net.layers[8].param[2], ref_running12, 5) <= TOL &&
		   max_diff(net.layers[8].param[3], ref_running13, 5) <= TOL,
		   "%d thread(s): running statistics match PyTorch", threads);
	tap_ok(is_train_backward(t, ref_proj, grad) == 0, "%d thread(s): backward runs", threads);
	compare_grads(threads == 1 ? "projection, 1 thread" : "projection, 2 threads", &net, grad, grads);
	tap_ok(is_train_backward(t, ref_proj, grad) < 0,
		   "%d thread(s): a second backward of one forward is refused", threads);

	out = is_train_forward(t, ref_input, REF_BATCH, 0);
	loss = is_triplet_loss(out, REF_BATCH, 3, tr, 2, IS_TRIPLET_MARGIN, dout, NULL);
	tap_near(loss, ref_triplet_loss, 1e-5, "triplet loss matches PyTorch");
	is_train_backward(t, dout, grad);
	compare_grads(threads == 1 ? "triplet, 1 thread" : "triplet, 2 threads", &net, grad, tgrads);

	is_train_free(t);
	free(grad);
	is_net_free(&net);
}

int
main(void)
{
	run(1);
	run(2);
	/* the portable kernels too, where the default is a SIMD one */
	if (is_conv_supported(IS_CONV_AVX2))
	{
		tap_diag("again with INSTSIM_CONV_KERNEL=gemm");
		setenv("INSTSIM_CONV_KERNEL", "gemm", 1);
		run(1);
		unsetenv("INSTSIM_CONV_KERNEL");
	}
	/* the first block (one input channel) is recomputed by default: the stored path too */
	tap_diag("again with INSTSIM_TRAIN_RECOMPUTE=off");
	setenv("INSTSIM_TRAIN_RECOMPUTE", "off", 1);
	run(2);
	unsetenv("INSTSIM_TRAIN_RECOMPUTE");
	return tap_done();
}
