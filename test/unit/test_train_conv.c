/*
 * Training convolutions through the inference kernels (train_conv.c): the
 * forward pass, the input gradient and the weight and bias gradients of an
 * image (twice, so that gradients add up), in the kernels' blocked layout,
 * against direct loops in double, for every kernel this CPU runs (F(4x4,3x3)
 * too, the trainer's default, with the Winograd weight gradient), with
 * channel counts that fill whole 16-channel blocks and ones
 * that leave a partial block, and widths with a vectorised part and a tail,
 * so every layout-copy path runs.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "tap.h"
#include "train_conv.h"

static float
uniform(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return (float) ((double) *state / 4294967296.0 - 0.5);
}

static double
input_at(const float *x, int c, int h, int w, int y, int i)
{
	return y < 0 || y >= h || i < 0 || i >= w ? 0.0 : x[((size_t) c * h + y) * w + i];
}

static void
check(is_conv_kind kind, int ic, int oc, int h, int w)
{
	is_layer	l = {.kind = IS_LAYER_CONV3X3, .out = oc,
	.in_c = ic, .in_h = h, .in_w = w, .out_c = oc, .out_h = h, .out_w = w, .n_params = 2};
	is_train_conv c;
	size_t		nx = (size_t) ic * h * w,
				ny = (size_t) oc * h * w;
	float	   *wt = malloc(sizeof(float) * oc * ic * 9);
	float	   *bias = malloc(sizeof(float) * oc);
	float	   *x = malloc(sizeof(float) * nx);
	float	   *y = malloc(sizeof(float) * ny);
	float	   *dy = malloc(sizeof(float) * ny);
	float	   *dx = malloc(sizeof(float) * nx);
	float	   *gw = calloc((size_t) oc * ic * 9, sizeof(float));
	float	   *gb = calloc(oc, sizeof(float));
	float	   *mem,
			   *scratch,
			   *xb,
			   *yb,
			   *dyb,
			   *dxb,
			   *tmp = malloc(sizeof(float) * oc * ic * 9);
	uint32_t	state = (uint32_t) (ic * 1000 + oc);
	float	   *wacc;
	size_t		wacc_left = 0;
	double		fwd_err = 0,
				bwd_err = 0,
				w_err = 0,
				b_err = 0;

	for (size_t i = 0; i < (size_t) oc * ic * 9; i++)
		wt[i] = uniform(&state);
	for (int o = 0; o < oc; o++)
		bias[o] = uniform(&state);
	for (size_t i = 0; i < nx; i++)
		x[i] = uniform(&state);
	for (size_t i = 0; i < ny; i++)
		dy[i] = uniform(&state);
	l.param[0] = wt;
	l.param[1] = bias;
	mem = calloc(is_train_conv_init(&c, &l, 1, kind, ic == 1 ? 1 : is_train_conv_block(kind), NULL),
				 sizeof(float));
	is_train_conv_init(&c, &l, 1, kind, ic == 1 ? 1 : is_train_conv_block(kind), mem);
	if (is_conv_wino4_kind(kind) && ic > 1)
		tap_ok(c.fimpl == is_conv_impl_of(kind) && c.bimpl == is_conv_impl_of(kind) &&
			   !c.wgrad_wino == (h % 2 || w % 2),
			   "%s, %d x %d: F(4x4,3x3) both ways, at any size; the weight gradient by F(2x2,3x3) %s",
			   is_conv_kind_name(kind), h, w, h % 2 || w % 2 ? "not at odd sizes" : "at even ones");
	else
		tap_ok(!c.wgrad_wino, "%s: the direct weight gradient", is_conv_kind_name(kind));
	scratch = calloc(is_train_conv_scratch(&c), sizeof(float));
	xb = calloc(is_act_image(&c.fwd.in), sizeof(float));
	yb = calloc(is_act_image(&c.fwd.out), sizeof(float));
	dyb = malloc(sizeof(float) * is_act_image(&c.fwd.out));
	dxb = calloc(is_act_image(&c.bwd.out), sizeof(float));
	/* stale data in the scratch must not leak anywhere */
	for (size_t i = 0; i < is_train_conv_scratch(&c); i++)
		scratch[i] = 1e6f;
	is_train_conv_pack(&c, &l, tmp);
	is_act_from_nchw(x, &c.fwd.in, xb);
	is_train_conv_forward(&c, xb, yb, scratch);
	is_act_to_nchw(yb, &c.fwd.out, y);
	/* a gradient buffer's border holds another layer's values: backward clears it */
	for (size_t i = 0; i < is_act_image(&c.fwd.out); i++)
		dyb[i] = 1e6f;
	{
		float	   *keep = malloc(sizeof(float) * is_act_image(&c.fwd.out));

		is_act_from_nchw(dy, &c.fwd.out, keep);
		for (int k = 0; k < oc; k++)
			for (int r = 0; r < h; r++)
				memcpy(is_act_at(&c.fwd.out, dyb, k, r, 0) - k % c.fwd.out.block, 
					   is_act_at(&c.fwd.out, keep, k, r, 0) - k % c.fwd.out.block,
					   sizeof(float) * w * c.fwd.out.block);
		free(keep);
	}
	/* gw accumulates: starting from 1 checks that it adds */
	for (size_t i = 0; i < (size_t) oc * ic * 9; i++)
		gw[i] = 1.0f;
	for (int o = 0; o < oc; o++)
		gb[o] = 1.0f;
	/* two images' gradients (the same twice) add up, and the Winograd ones fold once */
	wacc = calloc(is_train_conv_wacc_floats(&c) + 1, sizeof(float));
	is_train_conv_backward(&c, xb, dyb, dxb, gw, gb, wacc, scratch);
	is_train_conv_backward(&c, xb, dyb, dxb, gw, gb, wacc, scratch);
	is_train_conv_wgrad_fold(&c, wacc, gw);
	for (size_t i = 0; i < is_train_conv_wacc_floats(&c); i++)
		wacc_left += wacc[i] != 0.0f;
	is_act_to_nchw(dxb, &c.bwd.out, dx);

	for (int o = 0; o < oc; o++)
		for (int r = 0; r < h; r++)
			for (int i = 0; i < w; i++)
			{
				double		s = bias[o];

				for (int k = 0; k < ic; k++)
					for (int t = 0; t < 9; t++)
						s += wt[((size_t) o * ic + k) * 9 + t] *
							input_at(x, k, h, w, r + t / 3 - 1, i + t % 3 - 1);
				fwd_err = fmax(fwd_err, fabs(s - y[((size_t) o * h + r) * w + i]));
			}
	for (int k = 0; k < ic; k++)
		for (int r = 0; r < h; r++)
			for (int i = 0; i < w; i++)
			{
				double		s = 0;

				/* dx[k][r][i] = sum of w[o][k][t] dy[o] at the output pixel that read it */
				for (int o = 0; o < oc; o++)
					for (int t = 0; t < 9; t++)
						s += wt[((size_t) o * ic + k) * 9 + t] *
							input_at(dy, o, h, w, r - (t / 3 - 1), i - (t % 3 - 1));
				bwd_err = fmax(bwd_err, fabs(s - dx[((size_t) k * h + r) * w + i]));
			}
	for (int o = 0; o < oc; o++)
		for (int k = 0; k < ic; k++)
			for (int t = 0; t < 9; t++)
			{
				double		s = 0.0;

				for (int r = 0; r < h; r++)
					for (int i = 0; i < w; i++)
						s += dy[((size_t) o * h + r) * w + i] *
							input_at(x, k, h, w, r + t / 3 - 1, i + t % 3 - 1);
				w_err = fmax(w_err, fabs(1.0 + 2.0 * s - gw[((size_t) o * ic + k) * 9 + t]));
			}
	for (int o = 0; o < oc; o++)
	{
		double		s = 0.0;

		for (size_t j = 0; j < (size_t) h * w; j++)
			s += dy[o * (size_t) h * w + j];
		b_err = fmax(b_err, fabs(1.0 + 2.0 * s - gb[o]));
	}
	tap_ok(fwd_err < 1e-4, "%s (%d-channel blocks%s), %d -> %d channels, %d x %d: forward (max error %.2g)",
		   is_conv_kind_name(kind), c.impl->block, c.fimpl != c.impl ? ", Winograd" : "",
		   ic, oc, h, w, fwd_err);
	tap_ok(bwd_err < 1e-4, "%s, %d -> %d channels, %d x %d: input gradient (max error %.2g)",
		   is_conv_kind_name(kind), ic, oc, h, w, bwd_err);
	tap_ok(w_err < 1e-4, "%s, %d -> %d channels, %d x %d: weight gradient (max error %.2g)",
		   is_conv_kind_name(kind), ic, oc, h, w, w_err);
	tap_ok(b_err < 1e-4, "%s, %d -> %d channels, %d x %d: bias gradient (max error %.2g)",
		   is_conv_kind_name(kind), ic, oc, h, w, b_err);
	tap_ok(wacc_left == 0, "%s, %d x %d: the fold leaves dU cleared (%zu floats not)",
		   is_conv_kind_name(kind), h, w, wacc_left);
	free(wt);
	free(bias);
	free(x);
	free(y);
	free(dy);
	free(dx);
	free(gw);
	free(gb);
	free(xb);
	free(yb);
	free(dyb);
	free(dxb);
	free(mem);
	free(scratch);
	free(tmp);
	free(wacc);
}

/*
 * Which kernel trains: F(4x4, 3x3) of the widest instruction set unless the
 * environment names one, so that the scripts make the models they shipped.
 */
static void
check_default_kind(void)
{
	is_conv_kind want = is_conv_supported(IS_CONV_AVX512) ? IS_CONV_WINO4_AVX512 :
		is_conv_supported(IS_CONV_AVX2) ? IS_CONV_WINO4_AVX2 : IS_CONV_GEMM;
	is_conv_kind kind = IS_CONV_AUTO;
	char		err[256] = "";
	int			rc;

	unsetenv("INSTSIM_CONV_KERNEL");
	rc = is_train_conv_kind(&kind, err, sizeof(err));
	tap_ok(rc == 0 && kind == want, "unset, the trainer runs %s (got %s)",
		   is_conv_kind_name(want), is_conv_kind_name(kind));
	setenv("INSTSIM_CONV_KERNEL", "gemm", 1);
	tap_ok(is_train_conv_kind(&kind, err, sizeof(err)) == 0 && kind == IS_CONV_GEMM,
		   "a kernel named in the environment is the one that trains");
	setenv("INSTSIM_CONV_KERNEL", "no-such-kernel", 1);
	tap_ok(is_train_conv_kind(&kind, err, sizeof(err)) < 0 && strstr(err, "no-such-kernel"),
		   "an unknown name is refused: %s", err);
	unsetenv("INSTSIM_CONV_KERNEL");
}

int
main(void)
{
	const is_conv_kind kinds[] = {IS_CONV_GEMM, IS_CONV_AVX2, IS_CONV_AVX512,
	IS_CONV_WINO4_AVX2, IS_CONV_WINO4_AVX512};

	check_default_kind();
	for (int k = 0; k < (int) (sizeof(kinds) / sizeof(kinds[0])); k++)
	{
		if (!is_conv_supported(kinds[k]))
		{
			tap_diag("%s: not supported by this CPU, skipped", is_conv_kind_name(kinds[k]));
			continue;
		}
		check(kinds[k], 1, 16, 9, 37);	/* the network input: one channel */
		check(kinds[k], 16, 32, 6, 35);	/* whole blocks, 2 x 16 columns + tail */
		check(kinds[k], 17, 5, 5, 19);	/* partial blocks both ways */
		check(kinds[k], 32, 40, 8, 18);	/* even sizes: Winograd both ways (SIMD kinds) */
		check(kinds[k], 16, 16, 7, 65);	/* odd, the trainer's 64 x 65 layers' width */
		check(kinds[k], 17, 5, 6, 20);	/* even, partial blocks both ways */
		check(kinds[k], 40, 24, 12, 12);	/* two strips of tiles, across tile rows */
	}
	return tap_done();
}
