/*
 * Training throughput: segments/s of one full step (forward in train mode,
 * cosine triplet loss, backward, Adam) on the default network (4 x [conv3x3,
 * batchnorm, relu, maxpool2] 16-32-64-128, gap, linear 128, l2norm) with
 * batches of TRIPLETS triplets = 3 x TRIPLETS segments of 1 x 128 x 130.
 *
 * Usage: bench_train THREADS [STEPS] [TRIPLETS]
 * Prints one line: threads, steps, segments per step, wall s, segments per
 * wall second, segments per CPU second, and the time of a forward pass alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rng.h"
#include "train_step.h"

static double
now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	static const int channels[] = {16, 32, 64, 128};
	int			threads = argc > 1 ? atoi(argv[1]) : 1;
	int			steps = argc > 2 ? atoi(argv[2]) : 5;
	int			trip = argc > 3 ? atoi(argv[3]) : 64;
	int			rows = 3 * trip;
	size_t		per = 128 * 130;
	char		err[256];
	is_net		net;
	is_step		st;
	is_rng		rng;
	float	   *batch;
	int		   *label;
	double		w0,
				c0,
				wall,
				cpu,
				fwd;

	if (threads < 1 || steps < 1 || trip < 1)
	{
		fprintf(stderr, "usage: bench_train THREADS [STEPS] [TRIPLETS]\n");
		return 2;
	}
	if (is_net_default(&net, 1, 128, 130, channels, 4, 128, err, sizeof(err)) < 0 ||
		(is_net_init_params(&net, 1), is_step_init(&st, &net, trip, threads, 1e-3f, err, sizeof(err))) < 0)
	{
		fprintf(stderr, "bench_train: %s\n", err);
		return 1;
	}
	batch = malloc(sizeof(float) * per * rows);
	label = malloc(sizeof(int) * rows);
	if (!batch || !label)
		return 1;
	is_rng_seed(&rng, 1);
	for (size_t i = 0; i < per * rows; i++)
		batch[i] = (float) (4.0 * is_rng_unit(&rng) - 8.0);
	for (int i = 0; i < rows; i++)
		label[i] = i < 2 * trip ? i % trip : trip + i;

	is_step_run(&st, batch, label, trip, NULL);	/* warm-up */
	w0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	for (int s = 0; s < steps; s++)
		is_step_run(&st, batch, label, trip, NULL);
	wall = now(CLOCK_MONOTONIC) - w0;
	cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	w0 = now(CLOCK_MONOTONIC);
	is_train_forward(st.train, batch, rows, 0);
	fwd = now(CLOCK_MONOTONIC) - w0;

	printf("threads %d steps %d segments/step %d wall %.3f s  %.1f segments/s  %.1f segments/cpu-s  forward %.3f s/step\n",
		   threads, steps, rows, wall, (double) steps * rows / wall,
		   (double) steps * rows / cpu, fwd);
	is_step_free(&st);
	is_net_free(&net);
	free(batch);
	free(label);
	return 0;
}
