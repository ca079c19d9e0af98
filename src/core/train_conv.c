#include "train_conv.h"

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

static const is_conv_impl *
impl_of(is_conv_kind kind)
{
	switch (kind)
	{
		case IS_CONV_AVX512:
		case IS_CONV_WINO_AVX512:
			return &is_conv_avx512;
		case IS_CONV_AVX2:
		case IS_CONV_WINO_AVX2:
			return &is_conv_avx2;
		default:
			return &is_conv_gemm;
	}
}

size_t
is_train_conv_init(is_train_conv *c, const is_layer *l, int need_dx, is_conv_kind kind,
				   float *mem)
{
	const is_conv_impl *impl = impl_of(kind);
	int			b = impl->block;
	/* the kernels read their own block or 1 (the network input's one channel) */
	int			ib = l->in_c == 1 ? 1 : b;
	size_t		off = 0;
	float	   *at[4];
	size_t		size[4];

	c->impl = impl;
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

static size_t
op_scratch(const is_train_conv *c, const is_conv_op *op)
{
	return round16(is_act_image(&op->in)) + round16(is_act_image(&op->out)) +
		round16(c->impl->scratch_floats(op));
}

size_t
is_train_conv_scratch(const is_train_conv *c)
{
	size_t		f = op_scratch(c, &c->fwd),
				b = c->need_dx ? op_scratch(c, &c->bwd) : 0;

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

/* The inverse for the interior: the blocked image src of a into y (c x h x w). */
CONV_COPY_SIMD static void
from_blocked(const float *src, const is_act *a, float *y)
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
				for (int s = 0; s < 16; s++)
					memcpy(&v[s], row + (size_t) (i + 1 + s) * 16, sizeof(is_v16));
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

static void
run_op(const is_train_conv *c, const is_conv_op *op, const float *x, float *y, float *scratch)
{
	float	   *in = scratch;
	float	   *out = in + round16(is_act_image(&op->in));
	float	   *ks = out + round16(is_act_image(&op->out));

	to_blocked(x, &op->in, in);
	c->impl->run(op, in, out, 0, op->out.h, ks);
	from_blocked(out, &op->out, y);
}

void
is_train_conv_forward(const is_train_conv *c, const float *x, float *y, float *scratch)
{
	run_op(c, &c->fwd, x, y, scratch);
}

void
is_train_conv_input_grad(const is_train_conv *c, const float *dy, float *dx, float *scratch)
{
	run_op(c, &c->bwd, dy, dx, scratch);
}
