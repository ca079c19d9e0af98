/*
 * instsim-benchcnn: throughput of the CNN forward pass, printed like
 * ../shared/bench/ort_cnn.js (one JSON line per batch size) so the numbers sit
 * next to ONNX Runtime's in bench/cnn/RESULTS.md.
 *
 *   instsim-benchcnn MODEL.safetensors THREADS [BATCH,...] [KERNEL]
 *   instsim-benchcnn --layers MODEL.safetensors [BATCH]
 *   instsim-benchcnn --error MODEL.safetensors KERNEL AUDIO...
 *
 * KERNEL: auto (default), gemm, avx2, avx512, wino-avx2, wino-avx512,
 * wino-bf16, wino4-avx2, wino4-avx512; the engine field names it and the kernel of every convolution.
 * OpenBLAS should run single-threaded (OPENBLAS_NUM_THREADS=1): parallelism
 * is ours.
 *
 * --layers times every convolution block with every kernel the CPU runs, on
 * one thread by thread CPU time (steadier than wall time on a shared
 * machine): block k costs the forward of layers [0, end of block k] + gap
 * minus the forward of the blocks before it.
 *
 * --error embeds every non-silent segment of the audio files (any format
 * libsndfile reads) with KERNEL and with gemm, the float32 reference of the
 * tests, and prints the max and mean of 1 - cosine between the two: the
 * price of a reduced-precision kernel (wino-bf16) on real inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio_io.h"
#include "embed.h"
#include "model.h"

static double
clock_s(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * Median over 5 runs of the seconds per pass, as ort_cnn.js measures; -1 if
 * the plan cannot be built.
 */
static double
time_net(const is_net *net, const is_infer_opts *opts, const float *in, int batch,
		 clockid_t clock, char *err)
{
	is_infer   *p = is_infer_create(net, opts, err, 256);
	float	   *out = malloc((size_t) is_net_out_dim(net) * batch * sizeof(float));
	double		t[5];
	int			reps = 64 / batch > 3 ? 64 / batch : 3;

	if (!p || !out)
	{
		is_infer_free(p);
		free(out);
		return -1.0;
	}
	for (int i = 0; i < 3; i++)
		is_infer_run(p, in, batch, out, err, 256);
	for (int r = 0; r < 5; r++)
	{
		double		t0 = clock_s(clock);

		for (int i = 0; i < reps; i++)
			is_infer_run(p, in, batch, out, err, 256);
		t[r] = (clock_s(clock) - t0) / reps;
	}
	is_infer_free(p);
	free(out);
	qsort(t, 5, sizeof(double), cmp_double);
	return t[2];
}

static float *
random_inputs(const is_net *net, int batch)
{
	size_t		n = (size_t) net->in_c * net->in_h * net->in_w * batch;
	float	   *in = malloc(n * sizeof(float));

	for (size_t i = 0; in && i < n; i++)
		in[i] = (float) rand() / RAND_MAX;
	return in;
}

/* The layers [0, end) of net followed by gap, sharing net's leading parameters. */
static int
prefix_net(const is_net *net, int end, is_net *pre, char *err)
{
	memset(pre, 0, sizeof(*pre));
	pre->in_c = net->in_c;
	pre->in_h = net->in_h;
	pre->in_w = net->in_w;
	for (int i = 0; i < end; i++)
		pre->layers[i] = (is_layer) {.kind = net->layers[i].kind, .out = net->layers[i].out, .eps = net->layers[i].eps};
	pre->layers[end] = (is_layer) {.kind = IS_LAYER_GAP};
	pre->n_layers = end + 1;
	if (is_net_init(pre, err, 256) < 0)
		return -1;
	memcpy(pre->params, net->params, pre->n_floats * sizeof(float));
	return 0;
}

static int
bench_layers(const is_net *net, int batch)
{
	static const is_conv_kind kinds[] = {IS_CONV_GEMM, IS_CONV_AVX2, IS_CONV_AVX512,
	IS_CONV_WINO_AVX2, IS_CONV_WINO_AVX512, IS_CONV_WINO_BF16, IS_CONV_WINO4_AVX2, IS_CONV_WINO4_AVX512};
	float	   *in = random_inputs(net, batch);
	double		before[sizeof(kinds) / sizeof(kinds[0])] = {0};
	char		err[256];
	int			block = 0;

	printf("| conv block | in -> out, size |");
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		printf(" %s |", is_conv_kind_name(kinds[k]));
	printf("\n|---|---|");
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		printf("---:|");
	printf("\n");
	for (int i = 0; i < net->n_layers; i++)
	{
		const is_layer *c = &net->layers[i];
		int			end = i + 1;

		if (c->kind != IS_LAYER_CONV3X3)
			continue;
		while (end < net->n_layers && (net->layers[end].kind == IS_LAYER_BATCHNORM ||
									   net->layers[end].kind == IS_LAYER_RELU ||
									   net->layers[end].kind == IS_LAYER_MAXPOOL2))
			end++;
		printf("| %d | %d -> %d, %dx%d |", ++block, c->in_c, c->out_c, c->in_h, c->in_w);
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		{
			is_infer_opts opts = {.max_batch = batch, .threads = 1, .conv = kinds[k]};
			is_net		pre;
			double		t = -1.0;

			if (is_conv_supported(kinds[k]) && prefix_net(net, end, &pre, err) == 0)
				t = time_net(&pre, &opts, in, batch, CLOCK_THREAD_CPUTIME_ID, err) / batch;
			if (t < 0)
				printf(" - |");
			else
				printf(" %.3f ms (%.0f GFLOP/s) |", (t - before[k]) * 1e3,
					   2.0 * 9 * c->in_c * c->out_c * c->in_h * c->in_w / (t - before[k]) * 1e-9);
			before[k] = t;
			if (t >= 0)
				is_net_free(&pre);
		}
		printf("\n");
		i = end - 1;
	}
	free(in);
	return 0;
}

static int
bench_throughput(const is_model *m, const char *model_path, int threads, char *batches,
				 is_conv_kind kind)
{
	double		gflop = is_net_flops(&m->net) * 1e-9;
	char		err[256];

	for (char *tok = strtok(batches, ","); tok; tok = strtok(NULL, ","))
	{
		int			batch = atoi(tok);
		is_infer_opts opts = {.max_batch = batch, .threads = threads, .conv = kind};
		float	   *in = batch > 0 ? random_inputs(&m->net, batch) : NULL;
		double		t = in ? time_net(&m->net, &opts, in, batch, CLOCK_MONOTONIC, err) : -1.0;
		is_infer   *p = t > 0 ? is_infer_create(&m->net, &opts, err, sizeof(err)) : NULL;

		if (!p)
		{
			fprintf(stderr, "instsim-benchcnn: batch %s: %s\n", tok, in ? err : "bad batch size");
			free(in);
			return 1;
		}
		printf("{\"engine\":\"instsim %s (", is_conv_kind_name(kind));
		for (int k = 0; is_infer_conv_kind(p, k) != IS_CONV_AUTO; k++)
			printf("%s%s", k ? "," : "", is_conv_kind_name(is_infer_conv_kind(p, k)));
		printf(")\",\"model\":\"%s\",\"threads\":%d,\"batch\":%d,\"inputs_per_s\":%.1f,\"gflop_per_s\":%.1f}\n",
			   strrchr(model_path, '/') ? strrchr(model_path, '/') + 1 : model_path,
			   threads, batch, batch / t, batch * gflop / t);
		fflush(stdout);
		is_infer_free(p);
		free(in);
	}
	return 0;
}

/*
 * Embeds the non-silent segments of x with e[0] and e[1] in one run (the
 * same log-mel images); 1 - cosine of each pair into worst, sum and count.
 */
static int
compare_embeddings(is_embedder **e, const float *x, size_t n, double *worst, double *sum, long *count)
{
	int			dim = is_embedder_dim(e[0]);
	size_t		floats = (size_t) dim * is_embedder_max_batch(e[0]);
	float	   *emb[2] = {malloc(sizeof(float) * floats), malloc(sizeof(float) * floats)};
	is_sample_buffer buf = {.x = x, .n = n};
	is_audio_error aerr = {0};
	is_embed_run *r = emb[0] && emb[1] ? is_embed_begin_multi(e, 2, is_segment_read_buffer, &buf, 0, &aerr) : NULL;
	int			got = -1;

	while (r && (got = is_embed_next_multi(r, emb, NULL, NULL, &aerr)) > 0)
		for (int s = 0; s < got; s++, (*count)++)
		{
			double		c = 0.0;

			for (int i = 0; i < dim; i++)
				c += (double) emb[0][s * dim + i] * emb[1][s * dim + i];
			*worst = 1.0 - c > *worst ? 1.0 - c : *worst;
			*sum += 1.0 - c;
		}
	if (got < 0)
		fprintf(stderr, "instsim-benchcnn: %s\n", emb[0] && emb[1] ? aerr.message : "out of memory");
	is_embed_end(r);
	free(emb[0]);
	free(emb[1]);
	return got < 0 ? -1 : 0;
}

static int
bench_error(const is_model *m, const char *model_path, is_conv_kind kind, char **files, int n_files)
{
	is_infer_opts opts[2] = {{.max_batch = 16, .threads = 1, .conv = kind},
	{.max_batch = 16, .threads = 1, .conv = IS_CONV_GEMM}};
	char		err[256];
	is_embedder *e[2] = {is_embedder_new_opts(m, &opts[0], err, sizeof(err)), NULL};
	double		worst = 0.0,
				sum = 0.0;
	long		count = 0;
	int			rc = e[0] && (e[1] = is_embedder_new_opts(m, &opts[1], err, sizeof(err))) ? 0 : 1;

	if (rc)
		fprintf(stderr, "instsim-benchcnn: %s\n", err);
	for (int f = 0; f < n_files && rc == 0; f++)
	{
		float	   *x;
		size_t		n;

		if (audio_read_mono(files[f], m->fe.sample_rate, &x, &n, err, sizeof(err)) < 0)
		{
			fprintf(stderr, "instsim-benchcnn: %s\n", err);
			rc = 1;
			break;
		}
		rc = compare_embeddings(e, x, n, &worst, &sum, &count) < 0;
		free(x);
	}
	if (rc == 0)
		printf("{\"kernel\":\"%s\",\"reference\":\"gemm\",\"model\":\"%s\",\"segments\":%ld,"
			   "\"max_1_minus_cos\":%.3g,\"mean_1_minus_cos\":%.3g}\n",
			   is_conv_kind_name(kind), strrchr(model_path, '/') ? strrchr(model_path, '/') + 1 : model_path,
			   count, worst, count ? sum / count : 0.0);
	is_embedder_free(e[0]);
	is_embedder_free(e[1]);
	return rc;
}

int
main(int argc, char **argv)
{
	int			layers = argc > 1 && strcmp(argv[1], "--layers") == 0,
				error = argc > 1 && strcmp(argv[1], "--error") == 0,
				mode = layers || error;
	is_conv_kind kind = IS_CONV_AUTO;
	is_model	m;
	char		err[256];
	int			rc;

	if (argc < 2 + mode || (error && (argc < 5 || is_conv_kind_parse(argv[3], &kind) < 0)) ||
		(!mode && argc > 4 && is_conv_kind_parse(argv[4], &kind) < 0))
	{
		fprintf(stderr, "usage: %s MODEL.safetensors THREADS [BATCH,...] [KERNEL]\n"
				"       %s --layers MODEL.safetensors [BATCH]\n"
				"       %s --error MODEL.safetensors KERNEL AUDIO...\n", argv[0], argv[0], argv[0]);
		return 2;
	}
	if (is_model_load_file(&m, argv[1 + mode], err, sizeof(err)) < 0)
	{
		fprintf(stderr, "instsim-benchcnn: %s\n", err);
		return 1;
	}
	if (layers)
		rc = bench_layers(&m.net, argc > 3 ? atoi(argv[3]) : 16);
	else if (error)
		rc = bench_error(&m, argv[2], kind, argv + 4, argc - 4);
	else
	{
		char	   *batches = strdup(argc > 3 ? argv[3] : "1,16,64");

		rc = bench_throughput(&m, argv[1], argc > 2 ? atoi(argv[2]) : 1, batches, kind);
		free(batches);
	}
	is_model_free(&m);
	return rc;
}
