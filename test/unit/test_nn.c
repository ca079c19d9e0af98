/*
 * CNN inference: every convolution kernel against a PyTorch forward pass of
 * the same weights (data/nn_ref.h, from gen_nn_ref.py), the kernels against
 * each other on odd shapes and layer combinations, thread counts and batch
 * chunking, and the errors of the layer table and plan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conv.h"
#include "data/nn_ref.h"
#include "nn_synth.h"
#include "tap.h"

static const is_conv_kind kinds[] = {IS_CONV_GEMM, IS_CONV_AVX2, IS_CONV_AVX512, IS_CONV_WINO_AVX2,
	IS_CONV_WINO_AVX512, IS_CONV_WINO4_AVX2, IS_CONV_WINO4_AVX512, IS_CONV_AUTO};

/* The input generator of gen_nn_ref.py. */
static void
make_inputs(float *x, size_t count)
{
	uint32_t	s = 12345;

	for (size_t i = 0; i < count; i++)
	{
		s = s * 1664525u + 1013904223u;
		x[i] = (float) ((int) ((s >> 8) % 2001) - 1000) / 250.0f;
	}
}

/* Runs net on n inputs with one kernel; returns the max |out - want| scaled by max(1, |want|). */
static double
run_diff(const is_net *net, is_conv_kind kind, int threads, int max_batch, const float *in,
		 int n, const float *want, char *err)
{
	is_infer_opts opts = {.max_batch = max_batch, .threads = threads, .conv = kind};
	is_infer   *p = is_infer_create(net, &opts, err, 256);
	int			dim = is_net_out_dim(net);
	float	   *out = calloc((size_t) n * dim, sizeof(float));
	double		worst = 0.0;

	if (!p || is_infer_run(p, in, n, out, err, 256) < 0)
		worst = INFINITY;
	for (int i = 0; p && i < n * dim; i++)
	{
		double		d = fabs(out[i] - want[i]) / fmax(1.0, fabs(want[i]));

		worst = d > worst || isnan(d) ? d : worst;
	}
	is_infer_free(p);
	free(out);
	return worst;
}

static void
test_reference(void)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;
	is_model	m;
	char		err[256] = "";
	unsigned char *buf = NULL;
	size_t		len,
				in_count;
	float	   *in;

	tap_ok(is_model_synth(&m, "mix", &fe, NN_REF_SEED, err, sizeof(err)) == 0, "synthetic model: %s", err);
	tap_ok(is_model_save(&m, &buf, &len, err, sizeof(err)) == 0 &&
		   strcmp(m.sha256, NN_REF_SHA256) == 0,
		   "synthetic model is byte-identical to the one the reference was computed from");
	free(buf);
	in_count = (size_t) NN_REF_N * m.net.in_c * m.net.in_h * m.net.in_w;
	in = malloc(in_count * sizeof(float));
	make_inputs(in, in_count);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
	{
		if (!is_conv_supported(kinds[k]))
		{
			tap_diag("skipping %s: not supported by this CPU", is_conv_kind_name(kinds[k]));
			continue;
		}
		for (int threads = 1; threads <= 2; threads++)
			for (int mb = 2; mb <= 3; mb++)
			{
				double		d = run_diff(&m.net, kinds[k], threads, mb, in, NN_REF_N,
										 &nn_ref_out[0][0], err);

				tap_ok(d <= 1e-5, "%s, %d thread(s), max batch %d matches PyTorch (max err %.2g) %s",
					   is_conv_kind_name(kinds[k]), threads, mb, d, d <= 1e-5 ? "" : err);
			}
	}
	if (is_conv_supported(IS_CONV_WINO_AVX512))
	{
		is_infer_opts opts = {.max_batch = 1, .threads = 1, .conv = IS_CONV_WINO_AVX512};
		is_infer   *p = is_infer_create(&m.net, &opts, err, sizeof(err));

		tap_ok(p && is_infer_conv_kind(p, 0) == IS_CONV_AVX512 &&
			   is_infer_conv_kind(p, 1) == IS_CONV_WINO_AVX512 &&
			   is_infer_conv_kind(p, 3) == IS_CONV_WINO_AVX512,
			   "Winograd takes the pooled layers, the 1-channel first layer stays direct");
		is_infer_free(p);
	}
	free(in);
	is_model_free(&m);
}

typedef struct layer_spec
{
	is_layer_kind kind;
	int			out;
} layer_spec;

static int
make_net(is_net *net, int c, int h, int w, const layer_spec *spec, int n, char *err)
{
	memset(net, 0, sizeof(*net));
	net->in_c = c;
	net->in_h = h;
	net->in_w = w;
	net->n_layers = n;
	for (int i = 0; i < n; i++)
	{
		net->layers[i].kind = spec[i].kind;
		net->layers[i].out = spec[i].out;
		net->layers[i].eps = 1e-3f;
	}
	return is_net_init(net, err, 256);
}

#define C(o) {IS_LAYER_CONV3X3, o}
#define BN {IS_LAYER_BATCHNORM, 0}
#define RELU {IS_LAYER_RELU, 0}
#define POOL {IS_LAYER_MAXPOOL2, 0}
#define GAP {IS_LAYER_GAP, 0}
#define LIN(o) {IS_LAYER_LINEAR, o}
#define L2 {IS_LAYER_L2NORM, 0}

/* Odd channel counts and sizes, convs without pooling, pool before ReLU, vector batch-norm. */
static void
test_odd_shapes(void)
{
	static const layer_spec a[] = {C(20), BN, RELU, POOL, C(17), C(33), POOL, RELU, GAP, LIN(7), RELU, LIN(5), BN, L2};
	static const layer_spec b[] = {C(8), RELU, C(16), BN, POOL, C(9), RELU, GAP, LIN(3)};
	static const layer_spec c[] = {C(40), POOL, RELU, C(1), GAP};
	static const layer_spec d[] = {C(64), BN, RELU, POOL, C(48), BN, RELU, GAP, LIN(128), L2};
	static const layer_spec e[] = {C(16), RELU, POOL, C(20), BN, RELU, POOL, GAP, LIN(4)};
	static const layer_spec f[] = {C(16), RELU, POOL, C(16), BN, RELU, POOL, GAP, LIN(4)};
	struct
	{
		const layer_spec *spec;
		int			n, c, h, w;
	}			nets[] = {
		{a, 14, 3, 13, 11}, {b, 9, 1, 9, 7}, {c, 5, 2, 5, 6}, {d, 10, 5, 34, 19}, {b, 9, 16, 2, 3},
		{e, 9, 2, 10, 150},		/* Winograd strips: 37 pooled columns */
		{f, 9, 2, 10, 150},		/* and a single output block (AVX-512) */
	};

	for (size_t t = 0; t < sizeof(nets) / sizeof(nets[0]); t++)
	{
		is_net		net;
		char		err[256] = "";
		int			n = 5;
		size_t		in_count = (size_t) n * nets[t].c * nets[t].h * nets[t].w;
		float	   *in = malloc(in_count * sizeof(float));
		float	   *want;
		is_infer_opts opts = {.max_batch = n, .threads = 1, .conv = IS_CONV_GEMM};
		is_infer   *p;

		if (make_net(&net, nets[t].c, nets[t].h, nets[t].w, nets[t].spec, nets[t].n, err) < 0)
		{
			tap_ok(0, "odd net %zu: %s", t, err);
			free(in);
			continue;
		}
		is_net_synth_params(&net, 100 + t);
		make_inputs(in, in_count);
		want = malloc((size_t) n * is_net_out_dim(&net) * sizeof(float));
		p = is_infer_create(&net, &opts, err, sizeof(err));
		tap_ok(p && is_infer_run(p, in, n, want, err, sizeof(err)) == 0, "odd net %zu on gemm: %s", t, err);
		is_infer_free(p);
		for (size_t k = 1; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (is_conv_supported(kinds[k]))
				for (int threads = 1; threads <= 2; threads++)
					/* batches of 1 on 2 threads split an image's rows, and Winograd tile rows, between them */
					for (int mb = 1; mb <= 3; mb += 2)
					{
						double		dmax = run_diff(&net, kinds[k], threads, mb, in, n, want, err);

						tap_ok(dmax <= 1e-5, "odd net %zu: %s, %d thread(s), max batch %d agrees with gemm (max err %.2g)",
							   t, is_conv_kind_name(kinds[k]), threads, mb, dmax);
					}
		free(want);
		free(in);
		is_net_free(&net);
	}
}

static void
expect_net_error(const layer_spec *spec, int n, int c, int h, int w, const char *what)
{
	is_net		net;
	char		err[256] = "";
	int			rc = make_net(&net, c, h, w, spec, n, err);

	tap_ok(rc < 0 && err[0], "layer table rejected: %s (%s)", what, err);
	is_net_free(&net);
}

static void
expect_plan_error(const layer_spec *spec, int n, const is_infer_opts *opts, const char *what)
{
	is_net		net;
	char		err[256] = "";
	is_infer   *p = NULL;

	if (make_net(&net, 1, 8, 8, spec, n, err) == 0)
		p = is_infer_create(&net, opts, err, sizeof(err));
	tap_ok(!p && err[0], "plan rejected: %s (%s)", what, err);
	is_infer_free(p);
	is_net_free(&net);
}

static void
test_errors(void)
{
	static const layer_spec ok[] = {C(4), RELU, GAP};
	static const layer_spec lin_first[] = {LIN(4), GAP};
	static const layer_spec no_gap[] = {C(4), RELU};
	static const layer_spec conv_after_gap[] = {GAP, C(4)};
	static const layer_spec big[] = {C(5000), GAP};
	static const layer_spec bn_alone[] = {C(4), RELU, BN, GAP};
	static const layer_spec pool_twice[] = {C(4), POOL, POOL, GAP};
	static const layer_spec relu_map[] = {RELU, C(4), GAP};
	is_infer_opts good = {.max_batch = 2, .threads = 1, .conv = IS_CONV_GEMM};
	is_infer_opts zero_batch = {.max_batch = 0, .threads = 1, .conv = IS_CONV_GEMM};
	is_infer_opts many_threads = {.max_batch = 1, .threads = 1000, .conv = IS_CONV_GEMM};
	is_infer_opts bad_kind = {.max_batch = 1, .threads = 1, .conv = (is_conv_kind) 42};

	expect_net_error(lin_first, 2, 1, 8, 8, "linear before gap");
	expect_net_error(no_gap, 2, 1, 8, 8, "no gap");
	expect_net_error(conv_after_gap, 2, 1, 8, 8, "conv after gap");
	expect_net_error(big, 2, 1, 8, 8, "5000 channels");
	expect_net_error(ok, 3, 1, 0, 8, "zero height");
	expect_net_error((const layer_spec[]) {POOL, GAP}, 2, 1, 1, 8, "pool of a 1-row map");
	expect_plan_error(bn_alone, 4, &good, "batchnorm after relu");
	expect_plan_error(pool_twice, 4, &good, "two pools after one conv");
	expect_plan_error(relu_map, 3, &good, "relu on the input");
	expect_plan_error(ok, 3, &zero_batch, "max_batch 0");
	expect_plan_error(ok, 3, &many_threads, "1000 threads");
	expect_plan_error(ok, 3, &bad_kind, "unknown kernel");
	{
		static const layer_spec wide[] = {C(256), GAP};
		is_net		net;
		char		err[256] = "";
		is_infer_opts opts = {.max_batch = 64, .threads = 1, .conv = IS_CONV_GEMM};
		is_infer   *p = NULL;

		if (make_net(&net, 1, 2048, 2048, wide, 2, err) == 0)
			p = is_infer_create(&net, &opts, err, sizeof(err));
		tap_ok(!p && strstr(err, "limit"), "a plan past the arena limit is refused: %s", err);
		is_infer_free(p);
		is_net_free(&net);
	}

	{
		is_net		net;
		char		err[256] = "";
		is_infer_opts opts = {.max_batch = 1, .threads = 1, .conv = IS_CONV_AUTO};
		is_infer   *p;
		float		out[4];

		make_net(&net, 1, 8, 8, ok, 3, err);
		setenv("INSTSIM_CONV_KERNEL", "gemm", 1);
		p = is_infer_create(&net, &opts, err, sizeof(err));
		tap_ok(p && is_infer_conv_kind(p, 0) == IS_CONV_GEMM, "INSTSIM_CONV_KERNEL=gemm forces gemm");
		tap_ok(p && is_infer_run(p, NULL, 0, out, err, sizeof(err)) == 0, "a pass over 0 inputs is fine");
		tap_ok(p && is_infer_run(p, NULL, 1, out, err, sizeof(err)) < 0, "NULL input is an error");
		is_infer_free(p);
		setenv("INSTSIM_CONV_KERNEL", "fast", 1);
		p = is_infer_create(&net, &opts, err, sizeof(err));
		tap_ok(!p, "INSTSIM_CONV_KERNEL=fast is rejected (%s)", err);
		tap_ok(strstr(err, "want auto, gemm, ") && strstr(err, ", wino4-avx2 or wino4-avx512"),
			   "the message lists every kernel, the last after \"or\"");
		unsetenv("INSTSIM_CONV_KERNEL");
		is_net_free(&net);
	}
}

/*
 * F(4x4, 3x3) tiles reach past the image where its size is not a multiple of
 * 4 (their output there is not stored).  Such a layer, its input image ending
 * right before an unmapped page, must still run (no read past the image) and
 * agree with the direct kernel of its instruction set; run in two parts that
 * split a tile row (pooled rows [0, 3) and [3, 5)), each part must write its
 * own rows and nothing else (a NaN-filled image, halo included, around it).
 */
static void
test_wino4_edges(void)
{
	static const is_conv_kind wk[] = {IS_CONV_WINO4_AVX2, IS_CONV_WINO4_AVX512};
	static const int parts[][2] = {{0, 3}, {3, 5}};
	const size_t page = (size_t) sysconf(_SC_PAGESIZE);

	for (size_t k = 0; k < sizeof(wk) / sizeof(wk[0]); k++)
	{
		const is_conv_impl *w4 = is_conv_impl_of(wk[k]),
				   *dir = is_conv_impl_of(is_conv_direct_kind(wk[k]));
		const int	B = w4->block,
					ic = 2 * B,
					oc = B;
		is_conv_op	op = {.in = {ic, 10, 11, B}, .out = {oc, 5, 5, B}, .relu = 1, .pool = 1};
		size_t		in_floats = is_act_image(&op.in),
					out_floats = is_act_image(&op.out),
					map_len = (in_floats * sizeof(float) + page - 1) / page * page + page;
		float		w[(2 * 16) * 16 * 9],
					bias[16] = {0},
					want[4096] = {0},
					got[4096],
				   *pw = calloc(w4->packed_floats(ic, B, oc), sizeof(float)),
				   *pd = calloc(dir->packed_floats(ic, B, oc), sizeof(float)),
				   *scratch,
				   *in;
		unsigned char *map;
		double		worst = 0.0,
					top = 1.0;
		long		stray = 0;

		if (!is_conv_supported(wk[k]))
		{
			tap_diag("skipping %s: not supported by this CPU", is_conv_kind_name(wk[k]));
			free(pw), free(pd);
			continue;
		}
		map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (map == MAP_FAILED || mprotect(map + map_len - page, page, PROT_NONE) != 0)
		{
			tap_ok(0, "%s: a guarded page for the input", is_conv_kind_name(wk[k]));
			free(pw), free(pd);
			continue;
		}
		in = (float *) (map + map_len - page) - in_floats;
		make_inputs(w, (size_t) oc * ic * 9);
		for (int c = 0; c < ic; c++)
			for (int y = 0; y < op.in.h; y++)
				for (int x = 0; x < op.in.w; x++)
					*is_act_at(&op.in, in, c, y, x) = (float) ((c * 7 + y * 3 + x) % 11) - 5.0f;
		op.bias = bias;
		dir->pack(w, ic, B, oc, pd);
		op.weight = pd;
		scratch = calloc(dir->scratch_floats(&op) + 1, sizeof(float));
		dir->run(&op, in, want, 0, op.out.h, scratch);
		free(scratch);
		w4->pack(w, ic, B, oc, pw);
		op.weight = pw;
		/* exactly what the kernel asks for: an undersized scratch shows as wrong or stray outputs */
		scratch = malloc(w4->scratch_floats(&op) * sizeof(float));
		for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++)
		{
			const int	y0 = parts[p][0],
						y1 = parts[p][1];

			for (size_t i = 0; i < out_floats; i++)
				got[i] = NAN;
			w4->run(&op, in, got, y0, y1, scratch);
			for (int c = 0; c < op.out.c; c++)
				for (int y = -1; y <= op.out.h; y++)
					for (int x = -1; x <= op.out.w; x++)
					{
						float		g = *is_act_at(&op.out, got, c, y, x),
									r = *is_act_at(&op.out, want, c, y, x);

						if (y >= y0 && y < y1 && x >= 0 && x < op.out.w)
						{
							worst = fmax(worst, isnan(g) ? INFINITY : fabs(g - r));
							top = fmax(top, fabs(r));
						}
						else
							stray += !isnan(g);
					}
		}
		/* sums of 288 products of up to 4 x 5: float32 rounding scales with the largest output */
		worst /= top;
		tap_ok(worst <= 1e-5 && stray == 0, "%s on 10 x 11 (pooled 5 x 5), rows split inside a tile row: "
			   "reads inside the image, writes only its rows (%ld stray), agrees with the direct kernel "
			   "(max err %.2g)", is_conv_kind_name(wk[k]), stray, worst);
		free(pw), free(pd), free(scratch);
		munmap(map, map_len);
	}
}

/*
 * A pass split at every operation where one may stop: the prefix [0, k)
 * in one plan, its activation handed to a second plan of the same net for
 * [k, n) as embed.c's shared passes do.  The suffix reads the handed-over
 * activation in place, so it lies in a read-only buffer that ends at a
 * guard page: a write, or a read past its end, kills the test.  Bit for bit
 * the whole pass, image by image (batch >= threads) and layer by layer
 * (batch 1 on 2 threads), in chunks of max_batch, a suffix starting at a
 * convolution or at the pool.
 */
static void
test_split_passes(void)
{
	static const layer_spec a[] = {C(20), BN, RELU, POOL, C(17), C(33), POOL, RELU, GAP, LIN(7), RELU, LIN(5), BN, L2};
	static const is_conv_kind split_kinds[] = {IS_CONV_GEMM, IS_CONV_AUTO};
	const size_t page = (size_t) sysconf(_SC_PAGESIZE);
	const int	n = 5;
	is_net		net;
	char		err[256] = "";
	size_t		in_count = (size_t) n * 3 * 13 * 11;
	float	   *in = malloc(in_count * sizeof(float));

	if (make_net(&net, 3, 13, 11, a, 14, err) < 0)
	{
		tap_ok(0, "split net: %s", err);
		free(in);
		return;
	}
	is_net_synth_params(&net, 7);
	make_inputs(in, in_count);
	for (size_t kk = 0; kk < sizeof(split_kinds) / sizeof(split_kinds[0]); kk++)
		for (int threads = 1; threads <= 2; threads++)
			for (int mb = 1; mb <= 2; mb++)
			{
				is_infer_opts opts = {.max_batch = mb, .threads = threads, .conv = split_kinds[kk]};
				is_infer   *whole = is_infer_create(&net, &opts, err, sizeof(err)),
						   *tail = is_infer_create(&net, &opts, err, sizeof(err));
				int			dim = is_net_out_dim(&net),
							ops = whole ? is_infer_n_ops(whole) : 0,
							cuts = 0,
							bad = 0;
				float	   *want = calloc((size_t) n * dim, sizeof(float)),
						   *got = calloc((size_t) n * dim, sizeof(float));

				if (!whole || !tail || is_infer_run(whole, in, n, want, err, sizeof(err)) != 0)
					bad++;
				for (int k = 1; !bad && k < ops; k++)
				{
					size_t		act = is_infer_prefix_floats(whole, k),
								len = ((size_t) n * act * sizeof(float) + page - 1) / page * page + page;
					unsigned char *map;
					float	   *mid;

					if (act == 0)
						continue;
					map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
					if (map == MAP_FAILED)
					{
						bad++;
						break;
					}
					mid = (float *) (map + len - page) - (size_t) n * act;
					memset(got, 0, sizeof(float) * (size_t) n * dim);
					bad += is_infer_run_ops(whole, 0, k, in, n, mid, err, sizeof(err)) != 0 ||
						mprotect(map, len - page, PROT_READ) != 0 || mprotect(map + len - page, page, PROT_NONE) != 0 ||
						is_infer_run_ops(tail, k, ops, mid, n, got, err, sizeof(err)) != 0 ||
						memcmp(got, want, sizeof(float) * (size_t) n * dim) != 0;
					cuts++;
					munmap(map, len);
				}
				tap_ok(!bad && cuts >= 4, "%s, %d thread(s), max batch %d: prefix then suffix at each of %d cuts "
					   "is the whole pass bit for bit, the handed-over activation read in place %s",
					   is_conv_kind_name(split_kinds[kk]), threads, mb, cuts, err);
				is_infer_free(whole);
				is_infer_free(tail);
				free(want);
				free(got);
			}
	free(in);
	is_net_free(&net);
}

int
main(void)
{
	test_reference();
	test_odd_shapes();
	test_wino4_edges();
	test_split_passes();
	test_errors();
	return tap_done();
}
