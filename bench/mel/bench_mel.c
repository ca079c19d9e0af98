/*
 * Log-mel throughput: segments/s of is_mel_compute() on 3-s segments with the
 * default front end, one context per thread.  Usage: bench_mel THREADS SEGMENTS
 * (SEGMENTS per thread), or bench_mel --check SIGNAL.f32 LOGMEL.f32 to print
 * the max |difference| from torchaudio's output (bench_torch.py --dump).  Prints one line: threads, segments, wall seconds,
 * segments per wall second, segments per CPU second (less sensitive to other
 * load on a shared machine).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend.h"
#include "mel.h"

typedef struct job
{
	int			segments;
	int			failed;
	const char *transform;		/* is_mel_fft_name() of its context */
} job;

static double
seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *
run(void *arg)
{
	job		   *j = arg;
	is_frontend fe = IS_FRONTEND_DEFAULT;
	int			n = (int) (fe.segment_s * fe.sample_rate + 0.5);
	char		err[256];
	is_mel	   *m = is_mel_new(&fe, n, err, sizeof(err));
	float	   *x = malloc(sizeof(float) * n);
	float	   *out = m ? malloc(sizeof(float) * is_mel_bands(m) * is_mel_frames(m)) : NULL;
	uint32_t	state = 1;

	if (!m || !x || !out)
	{
		fprintf(stderr, "setup failed: %s\n", m ? "out of memory" : err);
		j->failed = 1;
		return NULL;
	}
	for (int i = 0; i < n; i++)
	{
		state = state * 1664525u + 1013904223u;
		x[i] = (float) ((double) state / 4294967296.0 - 0.5);
	}
	j->transform = is_mel_fft_name(m);
	for (int s = 0; s < j->segments; s++)
	{
		/* Vary the input a little so nothing can be cached across calls. */
		x[s % n] += 1e-3f;
		is_mel_compute(m, x, out);
	}
	free(out);
	free(x);
	is_mel_free(m);
	return NULL;
}

static float *
read_floats(const char *path, size_t n)
{
	FILE	   *f = fopen(path, "rb");
	float	   *x = malloc(sizeof(float) * n);

	if (!f || !x || fread(x, sizeof(float), n, f) != n)
	{
		fprintf(stderr, "cannot read %zu floats from %s\n", n, path);
		exit(1);
	}
	fclose(f);
	return x;
}

static int
check(const char *signal_path, const char *ref_path)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;
	int			n = (int) (fe.segment_s * fe.sample_rate + 0.5);
	char		err[256];
	is_mel	   *m = is_mel_new(&fe, n, err, sizeof(err));
	size_t		n_out = m ? (size_t) is_mel_bands(m) * is_mel_frames(m) : 0;
	float	   *x = read_floats(signal_path, n);
	float	   *ref = read_floats(ref_path, n_out);
	float	   *out = malloc(sizeof(float) * n_out);
	double		max_err = 0.0;
	size_t		at = 0;

	if (!m || !out)
		return 1;
	is_mel_compute(m, x, out);
	for (size_t i = 0; i < n_out; i++)
		if (fabs(out[i] - ref[i]) > max_err)
		{
			max_err = fabs(out[i] - ref[i]);
			at = i;
		}
	printf("max |C (%s) - torchaudio| on log-mel: %.3g over %zu values (band %zu, frame %zu: %.6f vs %.6f)\n",
		   is_mel_fft_name(m), max_err, n_out, at / is_mel_frames(m), at % is_mel_frames(m),
		   out[at], ref[at]);
	free(out);
	free(ref);
	free(x);
	is_mel_free(m);
	return 0;
}

int
main(int argc, char **argv)
{
	int			threads = argc > 1 ? atoi(argv[1]) : 1;
	int			segments = argc > 2 ? atoi(argv[2]) : 2000;
	pthread_t	th[64];
	job			jobs[64] = {{0}};
	double		t0,
				t1,
				c0,
				c1;

	if (argc == 4 && strcmp(argv[1], "--check") == 0)
		return check(argv[2], argv[3]);
	if (threads < 1 || threads > 64 || segments < 1)
	{
		fprintf(stderr, "usage: bench_mel THREADS(1-64) SEGMENTS_PER_THREAD\n");
		return 2;
	}
	/* One untimed warm-up segment (planning, first-touch page faults). */
	jobs[0].segments = 1;
	run(&jobs[0]);
	t0 = seconds(CLOCK_MONOTONIC);
	c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
	for (int i = 0; i < threads; i++)
	{
		jobs[i].segments = segments;
		pthread_create(&th[i], NULL, run, &jobs[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	t1 = seconds(CLOCK_MONOTONIC);
	c1 = seconds(CLOCK_PROCESS_CPUTIME_ID);
	for (int i = 0; i < threads; i++)
		if (jobs[i].failed)
			return 1;
	printf("C is_mel_compute, %s\t%d\t%d\t%.3f\t%.1f\t%.1f\n", jobs[0].transform, threads,
		   threads * segments, t1 - t0, threads * segments / (t1 - t0),
		   threads * segments / (c1 - c0));
	return 0;
}
