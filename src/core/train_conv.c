#include "train_conv.h"

#include <cblas.h>
#include <string.h>

#include "transpose16.h"

/* The layout copies are shuffle-bound: compiled per instruction set. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CONV_COPY_SIMD __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define CONV_COPY_SIMD
#endif

static size_t
round16(size_t n)
{
	return (n + 15) & ~(size_t) 15;
}

typedef void (*wgrad_fn) (const is_conv_op *op, const float *x, const float *dy, float *gw,
						  float *gb);

/* The kernel, and its weight gradient (NULL: im2col + sgemm over the plain layout). */
static const is_conv_impl *
impl_of(is_conv_kind kind, wgrad_fn *wgrad)
{
	switch (kind)
	{
		case IS_CONV_AVX512:
		case IS_CONV_WINO_AVX512:
			*wgrad = is_conv_wgrad_avx512;
			return &is_conv_avx512;
		case IS_CONV_AVX2:
		case IS_CONV_WINO_AVX2:
			*wgrad = is_conv_wgrad_avx2;
			return &is_conv_avx2;
		default:
			*wgrad = NULL;
			return &is_conv_gemm;
	}
}

size_t
is_train_conv_init(is_train_conv *c, const is_layer *l, int need_dx, is_conv_kind kind,
				   float *mem)
{
	wgrad_fn	wgrad;
	const is_conv_impl *impl = impl_of(kind, &wgrad);
	int			b = impl->block;
	/* the kernels read their own block or 1 (the network input's one channel) */
	int			ib = l->in_c == 1 ? 1 : b;
	size_t		off = 0;
	float	   *at[4];
	size_t		size[4];

	c->impl = impl;
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
	size[0] = impl->packed_floats(l->in_c, ib, l->out_c);
	size[1] = (size_t) is_act_blocks(&c->fwd.out) * b;
	size[2] = need_dx ? impl->packed_floats(l->out_c, b, l->in_c) : 0;
	size[3] = need_dx ? (size_t) is_act_blocks(&c->bwd.out) * b : 0;
	for (int i = 0; i < 4; i++)
	{
		at[i] = mem ? mem + off : NULL;
		off += round16(size[i]);
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
 * Scratch: forward, x and y in the kernel's layout; backward, dy, dx and x
 * in the kernel's layout, or im2col's columns for the sgemm weight gradient.
 */
size_t
is_train_conv_scratch(const is_train_conv *c)
{
	size_t		f = round16(is_act_image(&c->fwd.in)) + round16(is_act_image(&c->fwd.out)) +
		round16(c->impl->scratch_floats(&c->fwd));
	size_t		b = round16(is_act_image(&c->bwd.in)) + round16(is_act_image(&c->bwd.out)) +
		round16(c->impl->scratch_floats(&c->bwd));

	b += c->wgrad ? round16(is_act_image(&c->fwd.in)) :
		round16((size_t) c->fwd.in.c * 9 * c->fwd.in.h * c->fwd.in.w);
	return f > b ? f : b;
}

void
is_train_conv_pack(is_train_conv *c, const is_layer *l, float *tmp)
{
	const float *w = l->param[0];

	c->impl->pack(w, l->in_c, c->fwd.in.block, l->out_c, c->wf);
	memcpy(c->bf, l->param[1], sizeof(float) * l->out_c);
	if (!c->need_dx)
		return;
	/* dx[i] = sum over o, taps t of w[o][i][t] dy[o] shifted by -t: a conv with w'[i][o][8 - t] */
	for (int o = 0; o < l->out_c; o++)
		for (int i = 0; i < l->in_c; i++)
			for (int t = 0; t < 9; t++)
				tmp[((size_t) i * l->out_c + o) * 9 + t] = w[((size_t) o * l->in_c + i) * 9 + 8 - t];
	c->impl->pack(tmp, l->out_c, c->bwd.in.block, l->in_c, c->wb);
}

/* x (c x h x w) into the blocked layout of a: every float of the image written, border zero. */
CONV_COPY_SIMD static void
to_blocked(const float *x, const is_act *a, float *dst)
{
	const int	b = a->block,
				pw = a->w + 2;
	const size_t hw = (size_t) a->h * a->w;

	for (int cb = 0; cb < is_act_blocks(a); cb++)
	{
		float	   *p = dst + cb * is_act_plane(a);
		const float *src = x + (size_t) cb * b * hw;
		int			full = b == 16 && (cb + 1) * 16 <= a->c;

		memset(p, 0, sizeof(float) * pw * b);
		memset(p + (size_t) (a->h + 1) * pw * b, 0, sizeof(float) * pw * b);
		for (int y = 0; y < a->h; y++, src += a->w)
		{
			float	   *row = p + (size_t) (y + 1) * pw * b;
			int			i = 0;

			memset(row, 0, sizeof(float) * b);
			memset(row + (size_t) (a->w + 1) * b, 0, sizeof(float) * b);
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

/*
 * The inverse for the interior: the blocked image src of a into y (c x h x w).
 * With sums, also adds each channel's sum and sum of squares into sums[2 c],
 * sums[2 c + 1] (float within a row, double across rows).
 */
CONV_COPY_SIMD static void
from_blocked(const float *src, const is_act *a, float *y, double *sums)
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
			is_v16		s1 = {0},
						s2 = {0};
			int			i = 0;

			for (; full && i + 16 <= a->w; i += 16)
			{
				is_v16		v[16];

#pragma GCC unroll 16
				for (int k = 0; k < 16; k++)
				{
					memcpy(&v[k], row + (size_t) (i + 1 + k) * 16, sizeof(is_v16));
					s1 += v[k];
					s2 += v[k] * v[k];
				}
				is_transpose16(v);
#pragma GCC unroll 16
				for (int j = 0; j < 16; j++)
					memcpy(dst + j * hw + i, &v[j], sizeof(is_v16));
			}
			for (; i < a->w; i++)
				for (int j = 0; j < nj; j++)
				{
					float		v = row[(size_t) (i + 1) * b + j];

					dst[j * hw + i] = v;
					s1[j] += v;
					s2[j] += v * v;
				}
			for (int j = 0; sums && j < nj; j++)
			{
				sums[2 * (cb * b + j)] += s1[j];
				sums[2 * (cb * b + j) + 1] += s2[j];
			}
		}
	}
}

/* col[(c * 9 + ky * 3 + kx)][y * w + x] = x[c][y + ky - 1][x + kx - 1], zero outside. */
CONV_COPY_SIMD static void
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
is_train_conv_forward(const is_train_conv *c, const float *x, float *y, double *sums,
					  float *scratch)
{
	const is_conv_op *op = &c->fwd;
	float	   *in = scratch;
	float	   *out = in + round16(is_act_image(&op->in));

	to_blocked(x, &op->in, in);
	c->impl->run(op, in, out, 0, op->out.h, out + round16(is_act_image(&op->out)));
	from_blocked(out, &op->out, y, sums);
}

void
is_train_conv_backward(const is_train_conv *c, const float *x, const float *dy, float *dx,
					   float *gw, float *gb, float *scratch)
{
	const is_conv_op *op = &c->bwd;
	float	   *dyb = scratch;
	float	   *dxb = dyb + round16(is_act_image(&op->in));
	float	   *ks = dxb + round16(is_act_image(&op->out));
	float	   *rest = ks + round16(c->impl->scratch_floats(op));
	int			hw = c->fwd.in.h * c->fwd.in.w;

	to_blocked(dy, &op->in, dyb);
	if (dx)
	{
		c->impl->run(op, dyb, dxb, 0, op->out.h, ks);
		from_blocked(dxb, &op->out, dx, NULL);
	}
	if (c->wgrad)
	{
		to_blocked(x, &c->fwd.in, rest);
		c->wgrad(&c->fwd, rest, dyb, gw, gb);
		return;
	}
	for (int o = 0; o < c->fwd.out.c; o++)
	{
		float		s = 0.0f;

#pragma omp simd reduction(+:s)
		for (int j = 0; j < hw; j++)
			s += dy[(size_t) o * hw + j];
		gb[o] += s;
	}
	/* gw[oc][ic * 9] += dy[oc][hw] col[ic * 9][hw]^T */
	im2col(x, c->fwd.in.c, c->fwd.in.h, c->fwd.in.w, rest);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->fwd.out.c, c->fwd.in.c * 9, hw,
				1.0f, dy, hw, rest, hw, 1.0f, gw, c->fwd.in.c * 9);
}
