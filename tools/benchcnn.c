/*
 * instsim-benchcnn: throughput of the CNN forward pass, printed like
 * ../shared/bench/ort_cnn.js (one JSON line per batch size) so the numbers sit
 * next to ONNX Runtime's in bench/cnn/RESULTS.md.
 *
 *   instsim-benchcnn MODEL.safetensors THREADS [BATCH,...] [KERNEL]
 *
 * KERNEL: auto (default), gemm, avx2, avx512, wino-avx2, wino-avx512; the
 * engine field names it and the kernel of every convolution.  OpenBLAS should run
 * single-threaded (OPENBLAS_NUM_THREADS=1): parallelism is ours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Median over 5 runs of the seconds per pass, as ort_cnn.js measures. */
static double
time_batch(is_infer *p, const float *in, int batch, float *out)
{
	double		t[5];
	int			reps = 64 / batch > 3 ? 64 / batch : 3;
	char		err[256];

	for (int i = 0; i < 3; i++)
		is_infer_run(p, in, batch, out, err, sizeof(err));
	for (int r = 0; r < 5; r++)
	{
		double		t0 = now();

		for (int i = 0; i < reps; i++)
			is_infer_run(p, in, batch, out, err, sizeof(err));
		t[r] = (now() - t0) / reps;
	}
	qsort(t, 5, sizeof(double), cmp_double);
	return t[2];
}

int
main(int argc, char **argv)
{
	is_model	m;
	char		err[256];
	is_infer_opts opts = {.threads = argc > 2 ? atoi(argv[2]) : 1, .conv = IS_CONV_AUTO};
	char	   *batches = strdup(argc > 3 ? argv[3] : "1,16,64");
	size_t		in_floats;
	double		gflop;

	if (argc < 2 || (argc > 4 && is_conv_kind_parse(argv[4], &opts.conv) < 0))
	{
		fprintf(stderr, "usage: %s MODEL.safetensors THREADS [BATCH,...] [KERNEL]\n", argv[0]);
		return 2;
	}
	if (is_model_load_file(&m, argv[1], err, sizeof(err)) < 0)
	{
		fprintf(stderr, "instsim-benchcnn: %s\n", err);
		return 1;
	}
	in_floats = (size_t) m.net.in_c * m.net.in_h * m.net.in_w;
	gflop = is_net_flops(&m.net) * 1e-9;
	for (char *tok = strtok(batches, ","); tok; tok = strtok(NULL, ","))
	{
		int			batch = atoi(tok);
		float	   *in = malloc(in_floats * batch * sizeof(float));
		float	   *out = malloc((size_t) is_net_out_dim(&m.net) * batch * sizeof(float));
		is_infer   *p;
		double		t;

		opts.max_batch = batch;
		p = batch > 0 ? is_infer_create(&m.net, &opts, err, sizeof(err)) : NULL;
		if (!p || !in || !out)
		{
			fprintf(stderr, "instsim-benchcnn: batch %s: %s\n", tok, p ? "out of memory" : err);
			return 1;
		}
		for (size_t i = 0; i < in_floats * batch; i++)
			in[i] = (float) rand() / RAND_MAX;
		t = time_batch(p, in, batch, out);
		printf("{\"engine\":\"instsim %s (", is_conv_kind_name(opts.conv));
		for (int k = 0; is_infer_conv_kind(p, k) != IS_CONV_AUTO; k++)
			printf("%s%s", k ? "," : "", is_conv_kind_name(is_infer_conv_kind(p, k)));
		printf(")\",\"model\":\"%s\",\"threads\":%d,\"batch\":%d,\"inputs_per_s\":%.1f,\"gflop_per_s\":%.1f}\n",
			   strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1],
			   opts.threads, batch, batch / t, batch * gflop / t);
		fflush(stdout);
		is_infer_free(p);
		free(in);
		free(out);
	}
	free(batches);
	is_model_free(&m);
	return 0;
}
