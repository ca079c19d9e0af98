#include "train_conv.h"

#include <cblas.h>
#include <string.h>

#include "simd_clones.h"
#include "transpose16.h"

typedef void (*wgrad_fn) (const is_conv_op *op, const float *x, const float *dy, float *gw,
						  float *gb);
typedef void (*wgrad_wino_fn) (const is_conv_op *op, const float *x, const float *dy,
							   float *du, float *gb, float *scratch);

/* The direct kernel, and its weight gradient (NULL: im2col + sgemm over the plain layout). */
static const is_conv_impl *
impl_of(is_conv_kind kind, wgrad_fn *wgrad)
{
	kind = is_conv_direct_kind(kind);
	*wgrad = kind == IS_CONV_AVX512 ? is_conv_wgrad_avx512 :
		kind == IS_CONV_AVX2 ? is_conv_wgrad_avx2 : NULL;
	return is_conv_impl_of(*wgrad ? kind : IS_CONV_GEMM);
}

/*
 * The forward kernel (and the input gradient's): F(4x4,3x3) for a wino4-*
 * kind (the default) at every size, the odd widths too, where the input is
 * in the kernel's own blocks.  For the direct and F(2x2) kinds, F(2x2,3x3)
 * where it applies: the kernel's blocks and an output of even height and
 * width (whole 2x2 tiles, no pooling here), 2.25x fewer multiplies than the
 * direct kernel.  Elsewhere the direct (or gemm) kernel.
 */
static const is_conv_impl *
winograd_for(is_conv_kind kind, const is_conv_op *op, const is_conv_impl *direct)
{
	int			wino4 = is_conv_wino4_kind(kind);
	is_conv_kind wk = wino4 ? kind : is_conv_winograd_kind(kind);
	const is_conv_impl *w = wk == IS_CONV_AUTO ? NULL : is_conv_impl_of(wk);

	if (w && op->in.block == w->block && (wino4 || (op->out.h % 2 == 0 && op->out.w % 2 == 0)))
		return w;
	return direct;
}

/*
 * The Winograd weight gradient goes with F(4x4, 3x3) on
 * the layers F(2x2, 3x3) tiles whole (conv_wgrad_wino.h): 2.25x fewer
 * multiplies than the direct correlation.
 */
static wgrad_wino_fn
wgrad_winograd_for(is_conv_kind kind, const is_conv_op *op)
{
	if (op->in.block != is_conv_impl_of(kind)->block || op->out.h % 2 || op->out.w % 2)
		return NULL;
	return kind == IS_CONV_WINO4_AVX512 ? is_conv_wgrad_wino_avx512 :
		kind == IS_CONV_WINO4_AVX2 ? is_conv_wgrad_wino_avx2 : NULL;
}

/*
 * Unless the environment names a kernel, F(4x4, 3x3) of the widest
 * instruction set, for the training passes and the inference passes alike:
 * it trains piano_mix's recipe 1.37x as fast as the direct and F(2x2)
 * kernels did (62 against 85 s an epoch on a 2-core Xeon) to a model as good
 * within a run's noise (docs/training.md, the twenty-fourth wave).  Chosen
 * here, not taken from inference's AUTO: a run must not change, byte for
 * byte, when inference's choice of kernel does.
 */
int
is_train_conv_kind(is_conv_kind *kind, char *err, size_t errlen)
{
	*kind = IS_CONV_AUTO;
	if (is_conv_kind_from_env(kind, err, errlen) < 0)
		return -1;
	if (*kind == IS_CONV_AUTO)
		*kind = is_conv_wino4_widest();
	return 0;
}

int
is_train_conv_block(is_conv_kind kind)
{
	wgrad_fn	wgrad;

	return impl_of(kind, &wgrad)->block;
}

size_t
is_train_conv_init(is_train_conv *c, const is_layer *l, int need_dx, is_conv_kind kind,
				   int ib, float *mem)
{
	wgrad_fn	wgrad;
	const is_conv_impl *impl = impl_of(kind, &wgrad);
	int			b = impl->block;
	size_t		off = 0;
	float	   *at[4];
	size_t		size[4];

	c->impl = impl;
	c->fimpl = c->bimpl = impl;
	c->wgrad = wgrad;
	c->need_dx = need_dx;
	c->fwd = (is_conv_op) {
		.in = {l->in_c, l->in_h, l->in_w, ib},
		.out = {l->out_c, l->out_h, l->out_w, b},
	};
	c->bwd = (is_conv_op) {
		.in = {l->out_c, l->out_h, l->out_w, b},
		.out = {l->in_c, l->in_h, l->in_w, b},
	};
	c->fimpl = winograd_for(kind, &c->fwd, impl);
	c->bimpl = winograd_for(kind, &c->bwd, impl);
	c->wgrad_wino = wgrad_winograd_for(kind, &c->fwd);
	size[0] = c->fimpl->packed_floats(l->in_c, ib, l->out_c);
	size[1] = is_act_padded_c(&c->fwd.out);
	size[2] = need_dx ? c->bimpl->packed_floats(l->out_c, b, l->in_c) : 0;
	size[3] = need_dx ? is_act_padded_c(&c->bwd.out) : 0;
	for (int i = 0; i < 4; i++)
	{
		at[i] = mem ? mem + off : NULL;
		off += is_round16(size[i]);
	}
	c->wf = at[0];
	c->bf = at[1];
	c->wb = at[2];
	c->bb = at[3];
	c->fwd.weight = c->wf;
	c->fwd.bias = c->bf;
	c->bwd.weight = c->wb;
	c->bwd.bias = c->bb;		/* zero: the arena starts zeroed, nothing writes it */
	return off;
}

/*
 * Scratch: the kernels' own; for the Winograd weight gradient, after the
 * input gradient's, its strips (V, dM; dU is the caller's wacc); for the
 * sgemm one, dense copies of x and dy and im2col's columns.
 */
size_t
is_train_conv_scratch(const is_train_conv *c)
{
	size_t		f = c->fimpl->scratch_floats(&c->fwd),
				b = c->need_dx ? c->bimpl->scratch_floats(&c->bwd) : 0;
	size_t		hw = (size_t) c->fwd.in.h * c->fwd.in.w;

	if (c->wgrad_wino)
		b += is_round16(is_wgrad_wino_scratch(&c->fwd));
	else if (!c->wgrad)
		b += is_round16((size_t) c->fwd.in.c * hw) + is_round16((size_t) c->fwd.out.c * hw) +
			is_round16((size_t) c->fwd.in.c * 9 * hw);
	return is_round16(f > b ? f : b);
}

void
is_train_conv_pack(is_train_conv *c, const is_layer *l, float *tmp)
{
	const float *w = l->param[0];

	c->fimpl->pack(w, l->in_c, c->fwd.in.block, l->out_c, c->wf);
	memcpy(c->bf, l->param[1], sizeof(float) * l->out_c);
	if (!c->need_dx)
		return;
	/* dx[i] = sum over o, taps t of w[o][i][t] dy[o] shifted by -t: a conv with w'[i][o][8 - t] */
	for (int o = 0; o < l->out_c; o++)
		for (int i = 0; i < l->in_c; i++)
			for (int t = 0; t < 9; t++)
				tmp[((size_t) i * l->out_c + o) * 9 + t] = w[((size_t) o * l->in_c + i) * 9 + 8 - t];
	c->bimpl->pack(tmp, l->out_c, c->bwd.in.block, l->in_c, c->wb);
}

/* Zeroes the border of every channel block of image x in layout a. */
static void
clear_border(const is_act *a, float *x)
{
	const size_t pw = (size_t) a->w + 2;

	for (int cb = 0; cb < is_act_blocks(a); cb++)
	{
		float	   *p = x + cb * is_act_plane(a);

		memset(p, 0, sizeof(float) * pw * a->block);
		memset(p + (a->h + 1) * pw * a->block, 0, sizeof(float) * pw * a->block);
		for (int y = 1; y <= a->h; y++)
		{
			memset(p + y * pw * a->block, 0, sizeof(float) * a->block);
			memset(p + (y * pw + a->w + 1) * a->block, 0, sizeof(float) * a->block);
		}
	}
}

IS_SIMD_CLONES void
is_act_from_nchw(const float *x, const is_act *a, float *dst)
{
	const int	b = a->block,
				pw = a->w + 2;
	const size_t hw = (size_t) a->h * a->w;

	clear_border(a, dst);
	for (int cb = 0; cb < is_act_blocks(a); cb++)
	{
		float	   *p = dst + cb * is_act_plane(a);
		const float *src = x + (size_t) cb * b * hw;
		int			full = b == 16 && (cb + 1) * 16 <= a->c;

		for (int y = 0; y < a->h; y++, src += a->w)
		{
			float	   *row = p + (size_t) (y + 1) * pw * b;
			int			i = 0;

			for (; full && i + 16 <= a->w; i += 16)
			{
				is_v16		r[16];

#pragma GCC unroll 16
				for (int j = 0; j < 16; j++)
					memcpy(&r[j], src + j * hw + i, sizeof(is_v16));
				is_transpose16(r);
#pragma GCC unroll 16
				for (int s = 0; s < 16; s++)
					memcpy(row + (size_t) (i + 1 + s) * 16, &r[s], sizeof(is_v16));
			}
			for (; i < a->w; i++)
				for (int j = 0; j < b; j++)
					row[(size_t) (i + 1) * b + j] = cb * b + j < a->c ? src[j * hw + i] : 0.0f;
		}
	}
}

IS_SIMD_CLONES void
is_act_to_nchw(const float *src, const is_act *a, float *y)
{
	const int	b = a->block,
				pw = a->w + 2;
	const size_t hw = (size_t) a->h * a->w;

	for (int cb = 0; cb < is_act_blocks(a); cb++)
	{
		const float *p = src + cb * is_act_plane(a);
		float	   *dst = y + (size_t) cb * b * hw;
		int			full = b == 16 && (cb + 1) * 16 <= a->c;
		int			nj = a->c - cb * b < b ? a->c - cb * b : b;

		for (int r = 0; r < a->h; r++, dst += a->w)
		{
			const float *row = p + (size_t) (r + 1) * pw * b;
			int			i = 0;

			for (; full && i + 16 <= a->w; i += 16)
			{
				is_v16		v[16];

#pragma GCC unroll 16
				for (int k = 0; k < 16; k++)
					memcpy(&v[k], row + (size_t) (i + 1 + k) * 16, sizeof(is_v16));
				is_transpose16(v);
#pragma GCC unroll 16
				for (int j = 0; j < 16; j++)
					memcpy(dst + j * hw + i, &v[j], sizeof(is_v16));
			}
			for (; i < a->w; i++)
				for (int j = 0; j < nj; j++)
					dst[j * hw + i] = row[(size_t) (i + 1) * b + j];
		}
	}
}

/* col[(c * 9 + ky * 3 + kx)][y * w + x] = x[c][y + ky - 1][x + kx - 1], zero outside. */
IS_SIMD_CLONES static void
im2col(const float *x, int c, int h, int w, float *col)
{
	for (int ch = 0; ch < c; ch++)
		for (int k = 0; k < 9; k++)
		{
			int			dy = k / 3 - 1,
						dx = k % 3 - 1;
			const float *src = x + (size_t) ch * h * w;

			for (int y = 0; y < h; y++, col += w)
			{
				int			sy = y + dy;
				int			x0 = dx < 0 ? 1 : 0;
				int			x1 = dx > 0 ? w - 1 : w;

				if (sy < 0 || sy >= h)
				{
					memset(col, 0, sizeof(float) * w);
					continue;
				}
				col[0] = 0.0f;
				col[w - 1] = 0.0f;
				memcpy(col + x0, src + (size_t) sy * w + x0 + dx, sizeof(float) * (x1 - x0));
			}
		}
}

void
is_train_conv_forward(const is_train_conv *c, const float *x, float *y, float *scratch)
{
	c->fimpl->run(&c->fwd, x, y, 0, c->fwd.out.h, scratch);
}

void
is_train_conv_backward(const is_train_conv *c, const float *x, float *dy, float *dx,
					   float *gw, float *gb, float *wacc, float *scratch)
{
	const is_conv_op *op = &c->fwd;
	int			hw = op->in.h * op->in.w;
	float	   *xd,
			   *dyd,
			   *col;

	/* the input gradient reads dy's border, which may hold another layer's values */
	clear_border(&c->bwd.in, dy);
	if (dx)
		c->bimpl->run(&c->bwd, dy, dx, 0, c->bwd.out.h, scratch);
	if (c->wgrad_wino)
	{
		c->wgrad_wino(op, x, dy, wacc, gb, scratch + is_round16(dx ? c->bimpl->scratch_floats(&c->bwd) : 0));
		return;
	}
	if (c->wgrad)
	{
		c->wgrad(op, x, dy, gw, gb);
		return;
	}
	/* gw[oc][ic * 9] += dy[oc][hw] col[ic * 9][hw]^T over dense copies */
	xd = scratch + is_round16(dx ? c->bimpl->scratch_floats(&c->bwd) : 0);
	dyd = xd + is_round16((size_t) op->in.c * hw);
	col = dyd + is_round16((size_t) op->out.c * hw);
	is_act_to_nchw(x, &op->in, xd);
	is_act_to_nchw(dy, &op->out, dyd);
	im2col(xd, op->in.c, op->in.h, op->in.w, col);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, op->out.c, op->in.c * 9, hw,
				1.0f, dyd, hw, col, hw, 1.0f, gw, op->in.c * 9);
	for (int o = 0; o < op->out.c; o++)
	{
		float		s = 0.0f;

#pragma omp simd reduction(+:s)
		for (int j = 0; j < hw; j++)
			s += dyd[(size_t) o * hw + j];
		gb[o] += s;
	}
}

/* dU is [xi][o][c], over the channel counts padded to whole blocks. */
size_t
is_train_conv_wacc_floats(const is_train_conv *c)
{
	return c->wgrad_wino ? 16 * is_act_padded_c(&c->fwd.in) * is_act_padded_c(&c->fwd.out) : 0;
}

/*
 * gw[o][c] += G^T dU[.][o][c] G, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 * (conv_wino.h's wino_filter), then dU = 0.  Once a batch, so plain C.
 */
void
is_train_conv_wgrad_fold(const is_train_conv *c, float *wacc, float *gw)
{
	const size_t icp = is_act_padded_c(&c->fwd.in),
				ocp = is_act_padded_c(&c->fwd.out);

	if (!c->wgrad_wino)
		return;
	for (int o = 0; o < c->fwd.out.c; o++)
		for (int i = 0; i < c->fwd.in.c; i++)
		{
			const float *u = wacc + (size_t) o * icp + i;
			float		t[3][4],
					   *g = gw + ((size_t) o * c->fwd.in.c + i) * 9;

			for (int j = 0; j < 4; j++)
			{
				float		u0 = u[j * ocp * icp],
							u1 = u[(4 + j) * ocp * icp],
							u2 = u[(8 + j) * ocp * icp],
							u3 = u[(12 + j) * ocp * icp];

				t[0][j] = u0 + 0.5f * (u1 + u2);
				t[1][j] = 0.5f * (u1 - u2);
				t[2][j] = u3 + 0.5f * (u1 + u2);
			}
			for (int a = 0; a < 3; a++)
			{
				g[3 * a] += t[a][0] + 0.5f * (t[a][1] + t[a][2]);
				g[3 * a + 1] += 0.5f * (t[a][1] - t[a][2]);
				g[3 * a + 2] += t[a][3] + 0.5f * (t[a][1] + t[a][2]);
			}
		}
	memset(wacc, 0, sizeof(float) * is_train_conv_wacc_floats(c));
}
