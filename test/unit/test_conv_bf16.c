/*
 * wino-bf16 (conv_wino_bf16.c): the Winograd kernel with its GEMM in
 * bfloat16 against the float32 one it narrows.  Every output of random
 * pooled layers lies within the error bound of bfloat16 products, and the
 * outputs are not float32's bit for bit (so the bfloat16 path ran); the
 * embeddings of shipped models stay within a cosine of float32's; plans
 * choose it only when asked.  Skipped on CPUs without AVX512_BF16.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "embed.h"
#include "rng.h"
#include "tap.h"

/*
 * Rounding U and V to 8 significant bits (nearest even) moves each by at
 * most 2^-8 of itself, so a product by 2^-7 + 2^-16 of |U||V|; the rest
 * covers the float32 roundings in which the two kernels' sums differ
 * (about n 2^-24 for n terms).
 */
#define BF16_EPS (0x1p-7 + 0x1p-16 + 0x1p-12)

/*
 * Least cosine to float32's that the shipped models' embeddings of the song
 * below keep (measured: 0.99993 at worst; on real music piano_mix reaches
 * 0.9987, bench/cnn/RESULTS.md).
 */
#define MIN_COSINE 0.999

static is_rng rng;

static float
uniform(void)
{
	return (float) (2.0 * is_rng_unit(&rng) - 1.0);
}

/* Winograd F(2x2,3x3): V = B^T d B, Y = A^T M A */
static const double bt[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const double at[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};

/*
 * The bound on |bf16 - float32| of pooled output (y, x) of channel o: the
 * sum of |U||V| over the terms that make each pixel of its 2x2 tile, the
 * largest of the four times BF16_EPS (max-pooling, bias and ReLU move no
 * difference further).  u is the float32 kernel's packed U[xi][c][o].
 */
static double
tile_bound(const is_conv_op *op, const float *in, const float *u, int o, int y, int x)
{
	int			icp = is_act_blocks(&op->in) * op->in.block,
				ocp = is_act_blocks(&op->out) * op->out.block;
	double		s[16] = {0},
				worst = 0.0;

	for (int c = 0; c < op->in.c; c++)
	{
		double		d[4][4],
					t[4][4];

		/* the 4x4 input tile, halo included, from padded row 2y and column 2x */
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 4; j++)
				d[i][j] = *is_act_at(&op->in, (float *) in, c, 2 * y + i - 1, 2 * x + j - 1);
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 4; j++)
			{
				t[i][j] = 0.0;
				for (int k = 0; k < 4; k++)
					t[i][j] += bt[i][k] * d[k][j];
			}
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 4; j++)
			{
				double		v = 0.0;

				for (int k = 0; k < 4; k++)
					v += t[i][k] * bt[j][k];
				s[4 * i + j] += fabs(v) * fabs(u[((size_t) (4 * i + j) * icp + c) * ocp + o]);
			}
	}
	for (int p = 0; p < 4; p++)
	{
		double		b = 0.0;

		for (int xi = 0; xi < 16; xi++)
			b += fabs(at[p / 2][xi / 4]) * fabs(at[p % 2][xi % 4]) * s[xi];
		worst = fmax(worst, b);
	}
	return worst * BF16_EPS;
}

/* A buffer of n floats, zeroed and cache-line aligned, as the plan's arena is. */
static float *
zeroed(size_t n)
{
	float	   *p = aligned_alloc(64, is_round16(n) * sizeof(float));

	memset(p, 0, is_round16(n) * sizeof(float));
	return p;
}

/* One pooled layer on random input and weights with both kernels. */
static void
check_layer(int ic, int oc, int h, int w, int relu)
{
	const is_conv_impl *f32 = is_conv_impl_of(IS_CONV_WINO_AVX512),
			   *b16 = is_conv_impl_of(IS_CONV_WINO_BF16);
	is_conv_op	op = {.in = {ic, h, w, 16}, .out = {oc, h / 2, w / 2, 16}, .relu = relu, .pool = 1};
	int			ocp = is_act_blocks(&op.out) * 16;
	size_t		scratch_n = f32->scratch_floats(&op) > b16->scratch_floats(&op)
		? f32->scratch_floats(&op) : b16->scratch_floats(&op);
	float	   *in = zeroed(is_act_image(&op.in)),
			   *wt = zeroed((size_t) oc * ic * 9),
			   *bias = zeroed(ocp),
			   *u32 = zeroed(f32->packed_floats(ic, 16, oc)),
			   *u16 = zeroed(b16->packed_floats(ic, 16, oc)),
			   *y32 = zeroed(is_act_image(&op.out)),
			   *y16 = zeroed(is_act_image(&op.out)),
			   *scratch = zeroed(scratch_n);
	double		worst = 0.0,
				err_max = 0.0,
				y_max = 0.0;
	long		differ = 0,
				outside = 0;

	for (int c = 0; c < ic; c++)
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				*is_act_at(&op.in, in, c, y, x) = uniform();
	for (size_t i = 0; i < (size_t) oc * ic * 9; i++)
		wt[i] = uniform() / sqrtf(9.0f * ic);
	for (int o = 0; o < oc; o++)
		bias[o] = 0.1f * uniform();
	f32->pack(wt, ic, 16, oc, u32);
	b16->pack(wt, ic, 16, oc, u16);
	op.bias = bias;
	op.weight = u32;
	f32->run(&op, in, y32, 0, op.out.h, scratch);
	op.weight = u16;
	b16->run(&op, in, y16, 0, op.out.h, scratch);

	for (int o = 0; o < ocp; o++)
		for (int y = 0; y < op.out.h; y++)
			for (int x = 0; x < op.out.w; x++)
			{
				double		a = *is_act_at(&op.out, y32, o, y, x),
							b = *is_act_at(&op.out, y16, o, y, x),
							bound = tile_bound(&op, in, u32, o, y, x) + 0x1p-20 * fabs(a);

				differ += a != b;
				outside += !(fabs(a - b) <= bound);
				if (bound > 0)
					worst = fmax(worst, fabs(a - b) / bound);
				err_max = fmax(err_max, fabs(a - b));
				y_max = fmax(y_max, fabs(a));
			}
	tap_ok(outside == 0, "%d -> %d channels, %dx%d%s: every output within its bfloat16 bound "
		   "(%ld outside; worst error %.3g of its bound, max |error| %.3g of max |y|)",
		   ic, oc, h, w, relu ? ", relu" : "", outside, worst, err_max / y_max);
	tap_ok(differ > 0, "%d -> %d channels: %ld of %ld outputs (padding channels included) "
		   "differ from float32", ic, oc, differ, (long) ocp * op.out.h * op.out.w);
	free(in);
	free(wt);
	free(bias);
	free(u32);
	free(u16);
	free(y32);
	free(y16);
	free(scratch);
}

/* 30 s at 44.1 kHz: a bass line, a chord and noise bursts on the beat. */
static float *
make_song(size_t *n)
{
	static const double notes[] = {110.0, 146.83, 130.81, 98.0};
	size_t		len = 44100 * 30;
	float	   *x = malloc(len * sizeof(float));

	for (size_t i = 0; i < len; i++)
	{
		double		t = i / 44100.0,
					beat = fmod(t, 0.5),
					f = notes[(int) (t / 2.0) % 4];

		x[i] = (float) (0.3 * sin(2 * M_PI * f * t) * exp(-2.0 * fmod(t, 2.0)) +
						0.1 * (sin(2 * M_PI * 2 * f * t) + sin(2 * M_PI * 2.5 * f * t)) +
						0.2 * exp(-40.0 * beat) * uniform());
	}
	*n = len;
	return x;
}

/* Every embedding of x by model m with kernel kind; the count, or -1. */
static int
embed_song(const is_model *m, is_conv_kind kind, const float *x, size_t n, float *emb, int max)
{
	is_infer_opts opts = {.max_batch = 8, .threads = 1, .conv = kind};
	char		err[256];
	is_embedder *e = is_embedder_new_opts(m, &opts, err, sizeof(err));
	is_sample_buffer buf = {.x = x, .n = n};
	is_audio_error aerr;
	is_embed_run *r = e ? is_embed_begin(e, is_segment_read_buffer, &buf, max, &aerr) : NULL;
	int			total = 0,
				got = 0;

	while (r && (got = is_embed_next(r, emb + (size_t) total * is_embedder_dim(e), NULL, NULL, &aerr)) > 0)
		total += got;
	is_embed_end(r);
	is_embedder_free(e);
	return r && got == 0 ? total : -1;
}

static void
check_model(const char *name, const float *x, size_t n)
{
	enum
	{
		MAX_SEG = 64
	};
	char		path[64],
				err[256] = "";
	is_model	m;
	float	   *e32,
			   *e16;
	int			n32,
				n16,
				dim;
	double		min_cos = 1.0,
				sum = 0.0;

	snprintf(path, sizeof(path), "../../models/%s.safetensors", name);
	if (is_model_load_file(&m, path, err, sizeof(err)) < 0)
	{
		tap_ok(0, "%s: %s", path, err);
		return;
	}
	dim = is_net_out_dim(&m.net);
	e32 = malloc(sizeof(float) * MAX_SEG * dim);
	e16 = malloc(sizeof(float) * MAX_SEG * dim);
	n32 = embed_song(&m, IS_CONV_WINO_AVX512, x, n, e32, MAX_SEG);
	n16 = embed_song(&m, IS_CONV_WINO_BF16, x, n, e16, MAX_SEG);
	for (int s = 0; s < n32 && n16 == n32; s++)
	{
		double		c = 0.0;

		for (int i = 0; i < dim; i++)
			c += (double) e32[s * dim + i] * e16[s * dim + i];
		min_cos = fmin(min_cos, c);
		sum += 1.0 - c;
	}
	tap_ok(n32 > 10 && n16 == n32 && min_cos > MIN_COSINE,
		   "%s: %d segments, bfloat16 embeddings' cosine to float32's >= %.6f (mean 1 - cos %.2g)",
		   name, n32, min_cos, n32 > 0 ? sum / n32 : 0.0);
	free(e32);
	free(e16);
	is_model_free(&m);
}

/* Plans run wino-bf16 on the pooled layers when asked, never on their own. */
static void
check_plans(void)
{
	is_model	m;
	char		err[256] = "";
	is_infer_opts opts = {.max_batch = 1, .threads = 1, .conv = IS_CONV_WINO_BF16};
	is_infer   *p = NULL;

	/* an inherited setting would decide what "auto" means below */
	unsetenv("INSTSIM_CONV_KERNEL");
	if (is_model_load_file(&m, "../../models/mix.safetensors", err, sizeof(err)) != 0)
	{
		tap_ok(0, "models/mix.safetensors loads: %s", err);
		return;
	}
	p = is_infer_create(&m.net, &opts, err, sizeof(err));
	tap_ok(p && is_infer_conv_kind(p, 0) == IS_CONV_AVX512 &&
		   is_infer_conv_kind(p, 1) == IS_CONV_WINO_BF16 && is_infer_conv_kind(p, 3) == IS_CONV_WINO_BF16,
		   "wino-bf16 takes the pooled layers, the 1-channel first layer runs avx512 %s", err);
	is_infer_free(p);
	opts.conv = IS_CONV_AUTO;
	p = is_infer_create(&m.net, &opts, err, sizeof(err));
	tap_ok(p && is_infer_conv_kind(p, 1) == IS_CONV_WINO4_AVX512, "auto stays float32 (wino4-avx512)");
	is_infer_free(p);
	setenv("INSTSIM_CONV_KERNEL", "wino-bf16", 1);
	p = is_infer_create(&m.net, &opts, err, sizeof(err));
	tap_ok(p && is_infer_conv_kind(p, 1) == IS_CONV_WINO_BF16, "INSTSIM_CONV_KERNEL=wino-bf16 chooses it");
	unsetenv("INSTSIM_CONV_KERNEL");
	is_infer_free(p);
	is_model_free(&m);
}

int
main(void)
{
	static const char *const models[] = {"mix", "piano_mix", "drums", "bass_mix"};
	static const int layers[][5] = {
		{16, 16, 8, 8, 0}, {17, 33, 10, 14, 1}, {5, 7, 7, 67, 1},	/* 33 pooled columns: two strips */
		{32, 64, 16, 12, 1}, {64, 128, 8, 10, 0}, {128, 24, 4, 6, 1}, {3, 1, 2, 2, 0},
	};
	size_t		n;
	float	   *song;

	if (!is_conv_supported(IS_CONV_WINO_BF16))
	{
		printf("1..0 # SKIP this CPU has no AVX512_BF16\n");
		return 0;
	}
	is_rng_seed(&rng, 20240611);
	for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++)
		check_layer(layers[i][0], layers[i][1], layers[i][2], layers[i][3], layers[i][4]);
	song = make_song(&n);
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		check_model(models[i], song, n);
	free(song);
	check_plans();
	return tap_done();
}
