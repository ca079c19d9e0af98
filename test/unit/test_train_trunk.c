/*
 * Frozen trunks (frozen_trunk.h): layers trained on a trunk's output, joined
 * behind the trunk, compute what they computed in training (the join and the
 * trunk's layout conversion are right), and the joined model shares the
 * trunk's blocks with the trunk's own model, so the server runs them once.
 * Bad trunks and shapes are refused with a message.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frozen_trunk.h"
#include "rng.h"
#include "tap.h"

#define N_INPUTS 40				/* more than one trunk batch */

static is_rng rng;

static float
uniform(void)
{
	return (float) (2.0 * is_rng_unit(&rng) - 1.0);
}

/* Seeded parameters, with running statistics that make batch-norm do something. */
static void
randomise(is_net *net)
{
	for (int i = 0; i < is_net_tensor_count(net); i++)
	{
		is_tensor	t;

		is_net_tensor(net, i, &t);
		for (size_t j = 0; j < t.count; j++)
			t.data[j] = strstr(t.name, "running_var") ? 1.0f + 0.5f * fabsf(uniform()) : 0.3f * uniform();
	}
}

static int
embed(const is_net *net, const float *in, int n, float *out)
{
	is_infer_opts opts = {.max_batch = 16, .threads = 2};
	char		err[256];
	is_infer   *plan = is_infer_create(net, &opts, err, sizeof(err));
	int			rc = plan ? is_infer_run(plan, in, n, out, err, sizeof(err)) : -1;

	if (rc)
		tap_diag("%s", err);
	is_infer_free(plan);
	return rc;
}

int
main(void)
{
	static const int trunk_channels[] = {4, 8, 8},
				rest_channels[] = {12};
	char		path[] = "/tmp/instsim-trunk-XXXXXX";
	char		err[256];
	is_model	m = {.instrument = "mix", .fe = IS_FRONTEND_DEFAULT};
	is_trunk	t;
	is_net		rest,
				whole = {0},
				wrong;
	int			frames = is_frontend_frames(&m.fe),
				fd = mkstemp(path);
	size_t		in_floats = (size_t) m.fe.n_mels * frames;
	float	   *in = malloc(sizeof(float) * N_INPUTS * in_floats),
			   *mid = NULL,
			   *e_rest = malloc(sizeof(float) * N_INPUTS * 16),
			   *e_whole = malloc(sizeof(float) * N_INPUTS * 16);
	double		max_diff = 0.0;

	if (fd < 0 || !in || !e_rest || !e_whole)
		return 1;
	close(fd);
	is_rng_seed(&rng, 42);
	if (is_net_default(&m.net, 1, m.fe.n_mels, frames, trunk_channels, 3, 16, err, sizeof(err)) < 0)
	{
		tap_diag("%s", err);
		return 1;
	}
	randomise(&m.net);
	if (is_model_save_file(&m, path, err, sizeof(err)) < 0)
	{
		tap_diag("%s", err);
		return 1;
	}
	for (size_t i = 0; i < N_INPUTS * in_floats; i++)
		in[i] = uniform();

	if (is_trunk_open(&t, path, 2, 2, err, sizeof(err)) < 0)
	{
		tap_ok(0, "a trunk of the first 2 of 3 blocks opens: %s", err);
		return tap_done();
	}
	tap_ok(1, "a trunk of the first 2 of 3 blocks opens");
	tap_ok(t.act.c == 8 && t.act.h == m.fe.n_mels / 4 && t.act.w == frames / 4,
		   "its output is the second block's: 8 x %d x %d (got %d x %d x %d)",
		   m.fe.n_mels / 4, frames / 4, t.act.c, t.act.h, t.act.w);
	mid = malloc(sizeof(float) * N_INPUTS * t.act.c * t.act.h * t.act.w);
	if (!mid || is_net_default(&rest, t.act.c, t.act.h, t.act.w, rest_channels, 1, 16, err, sizeof(err)) < 0)
	{
		tap_diag("%s", mid ? err : "out of memory");
		return 1;
	}
	randomise(&rest);
	tap_ok(is_trunk_run(&t, in, N_INPUTS, mid, err, sizeof(err)) == 0, "the trunk runs %d inputs", N_INPUTS);
	tap_ok(is_trunk_join(&t, &rest, &whole, err, sizeof(err)) == 0, "trunk and trained layers join");
	tap_ok(whole.n_layers == t.n_layers + rest.n_layers && whole.in_h == m.fe.n_mels,
		   "the joined network has both layer tables and the trunk's input");
	if (embed(&rest, mid, N_INPUTS, e_rest) == 0 && embed(&whole, in, N_INPUTS, e_whole) == 0)
		for (int i = 0; i < N_INPUTS * 16; i++)
			max_diff = fmax(max_diff, fabs(e_rest[i] - e_whole[i]));
	else
		max_diff = INFINITY;
	/* the two plans may pick different kernels for the first trained conv (its input layout differs) */
	tap_ok(max_diff < 1e-5, "the joined model embeds as the trained layers on the trunk's output (max |diff| %.2g)",
		   max_diff);
	{
		is_infer_opts opts = {.max_batch = 8, .threads = 1};
		is_infer   *a = is_infer_create(&m.net, &opts, err, sizeof(err)),
				   *b = is_infer_create(&whole, &opts, err, sizeof(err));

		tap_ok(a && b && is_infer_shared_prefix(a, b) == 2,
			   "the joined model shares exactly the trunk's 2 blocks with the trunk's model (%d)",
			   a && b ? is_infer_shared_prefix(a, b) : -1);
		is_infer_free(a);
		is_infer_free(b);
	}

	err[0] = '\0';
	tap_ok(is_net_default(&wrong, t.act.c, t.act.h / 2, t.act.w, rest_channels, 1, 16, err, sizeof(err)) == 0 &&
		   is_trunk_join(&t, &wrong, &whole, err, sizeof(err)) < 0 && strstr(err, "trunk gives"),
		   "layers of another input shape are refused: %s", err);
	is_net_free(&wrong);
	is_trunk_close(&t);
	err[0] = '\0';
	tap_ok(is_trunk_open(&t, path, 3, 1, err, sizeof(err)) < 0 && strstr(err, "at least one more"),
		   "a trunk of every block is refused: %s", err);
	is_trunk_close(&t);
	tap_ok(is_trunk_open(&t, path, 0, 1, err, sizeof(err)) < 0 && strstr(err, "at least one conv block"),
		   "a trunk of no block is refused: %s", err);
	is_trunk_close(&t);
	tap_ok(is_trunk_open(&t, "/nonexistent/model.safetensors", 1, 1, err, sizeof(err)) < 0 &&
		   strstr(err, "nonexistent"), "a missing model is refused: %s", err);
	is_trunk_close(&t);

	unlink(path);
	is_net_free(&whole);
	is_net_free(&rest);
	is_model_free(&m);
	free(in);
	free(mid);
	free(e_rest);
	free(e_whole);
	return tap_done();
}
