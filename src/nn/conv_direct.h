/*
 * Direct 3x3 convolution over channel-blocked activations, written once and
 * compiled per instruction set: conv_avx512.c and conv_avx2.c include the
 * vector vocabulary (simd_avx512.h, simd_avx2.h) and this file.
 *
 * Register blocking: a tile is R conv rows x P columns x K blocks of DVL
 * output channels, all accumulators in registers.  For every input channel
 * and tap, K weight vectors are loaded and each input pixel is broadcast once
 * and multiplied into K accumulators.  The epilogue max-pools the 2x2 cells,
 * adds the folded batch-norm bias and applies ReLU (pool first: max commutes
 * with a per-channel bias and with ReLU), so a conv block writes its output
 * once, already pooled.  The padded layout (conv.h) removes all edge tests.
 *
 * Input block IB is 1 (network input, gemm output) or DVL (own output).
 *
 * Required besides the vocabulary: D_P0 >= D_P1 (even tile widths tried
 * before 2 and 1), D_PK1 >= D_P0 (the widest tile when there is only one
 * output block, as in a first layer with 16 channels: it needs fewer
 * registers per column), D_KMAX (1..4 output blocks per tile), D_IMPL (name
 * of the is_conv_impl).
 */
#include "conv.h"

D_TARGET static size_t
direct_packed_floats(int ic, int ib, int oc)
{
	size_t		icpad = (size_t) (ic + ib - 1) / ib * ib;

	return (size_t) (oc + DVL - 1) / DVL * DVL * icpad * 9;
}

/* [oc][ic][9] -> [oc / DVL][icpad][9][DVL], zeros in the padding. */
D_TARGET static void
direct_pack(const float *w, int ic, int ib, int oc, float *dst)
{
	int			icpad = (ic + ib - 1) / ib * ib;
	int			nob = (oc + DVL - 1) / DVL;

	for (int ob = 0; ob < nob; ob++)
		for (int c = 0; c < icpad; c++)
			for (int t = 0; t < 9; t++)
				for (int l = 0; l < DVL; l++)
				{
					int			o = ob * DVL + l;

					*dst++ = o < oc && c < ic ? w[((size_t) o * ic + c) * 9 + t] : 0.0f;
				}
}

D_TARGET static size_t
direct_scratch_floats(const is_conv_op *op)
{
	return 0;
}

D_TARGET static inline __attribute__((always_inline)) void
direct_tile(const is_conv_op *op, const float *in, float *out, int cy, int cx,
			int ob, const int R, const int P, const int K, const int IB)
{
	const size_t iw = (size_t) op->in.w + 2;
	const size_t iplane = is_act_plane(&op->in);
	const int	nib = is_act_blocks(&op->in);
	const size_t wstride = (size_t) nib * IB * 9 * DVL;
	const float *w = op->weight + ob * wstride;
	const float *s = in + (cy * iw + cx) * IB;
	DV			acc[2][D_PK1][4];

#pragma GCC unroll 2
	for (int r = 0; r < R; r++)
#pragma GCC unroll 16
		for (int p = 0; p < P; p++)
#pragma GCC unroll 4
			for (int k = 0; k < K; k++)
				acc[r][p][k] = D_ZERO();

	for (int cb = 0; cb < nib; cb++, s += iplane)
		for (int i = 0; i < IB; i++, w += 9 * DVL)
		{
#pragma GCC unroll 3
			for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
				for (int kx = 0; kx < 3; kx++)
				{
					DV			wv[4];
					const float *src = s + i;

					/*
					 * Hide that neighbouring taps read the same pixels: left to
					 * itself the compiler keeps every broadcast of the 3x3
					 * window live across taps and spills accumulators.
					 */
					__asm__("" : "+r"(src));
#pragma GCC unroll 4
					for (int k = 0; k < K; k++)
						wv[k] = D_LOAD(w + k * wstride + (ky * 3 + kx) * DVL);
#pragma GCC unroll 2
					for (int r = 0; r < R; r++)
#pragma GCC unroll 16
						for (int p = 0; p < P; p++)
						{
							DV			x = D_BCAST(src + ((r + ky) * iw + p + kx) * IB);

#pragma GCC unroll 4
							for (int k = 0; k < K; k++)
								acc[r][p][k] = D_FMA(x, wv[k], acc[r][p][k]);
						}
				}
		}

	{
		const size_t ow = (size_t) op->out.w + 2;
		const size_t oplane = is_act_plane(&op->out);

#pragma GCC unroll 4
		for (int k = 0; k < K; k++)
		{
			DV			b = D_LOAD(op->bias + (ob + k) * DVL);
			float	   *o = out + (ob + k) * oplane;

			/* pooling tiles always have R = 2 and an even P (direct_run) */
			if (R == 2 && P % 2 == 0 && op->pool)
			{
#pragma GCC unroll 8
				for (int p = 0; p < P; p += 2)
				{
					DV			v = D_MAX(D_MAX(acc[0][p][k], acc[0][p + 1][k]),
										  D_MAX(acc[1][p][k], acc[1][p + 1][k]));

					v = D_ADD(v, b);
					if (op->relu)
						v = D_MAX(v, D_ZERO());
					D_STORE(o + ((cy / 2 + 1) * ow + cx / 2 + p / 2 + 1) * DVL, v);
				}
			}
			else
			{
#pragma GCC unroll 2
				for (int r = 0; r < R; r++)
#pragma GCC unroll 16
					for (int p = 0; p < P; p++)
					{
						DV			v = D_ADD(acc[r][p][k], b);

						if (op->relu)
							v = D_MAX(v, D_ZERO());
						D_STORE(o + ((cy + r + 1) * ow + cx + p + 1) * DVL, v);
					}
			}
		}
	}
}

/* Each supported tile shape becomes its own fully unrolled copy of direct_tile. */
#define D_TILE(r_, p_, k_, ib_) \
	if (k_ <= D_KMAX && (k_ == 1 || p_ <= D_P0) && R == r_ && P == p_ && K == k_ && IB == ib_) \
	{ direct_tile(op, in, out, cy, cx, ob, r_, p_, k_, ib_); return; }
#define D_TILES_P(r_, k_, ib_) \
	D_TILE(r_, D_PK1, k_, ib_) D_TILE(r_, D_P0, k_, ib_) D_TILE(r_, D_P1, k_, ib_) \
	D_TILE(r_, 2, k_, ib_) D_TILE(r_, 1, k_, ib_)
#define D_TILES_K(r_, ib_) \
	D_TILES_P(r_, 1, ib_) D_TILES_P(r_, 2, ib_) D_TILES_P(r_, 3, ib_) D_TILES_P(r_, 4, ib_)
#define D_TILES_R(ib_) D_TILES_K(1, ib_) D_TILES_K(2, ib_)

D_TARGET static void
direct_tile_any(const is_conv_op *op, const float *in, float *out, int cy, int cx,
				int ob, int R, int P, int K, int IB)
{
	D_TILES_R(1)
	D_TILES_R(DVL)
}

D_TARGET static int
tile_width(int left, int k)
{
	return k == 1 && left >= D_PK1 ? D_PK1 :
		left >= D_P0 ? D_P0 : left >= D_P1 ? D_P1 : left >= 2 ? 2 : 1;
}

D_TARGET static void
direct_run(const is_conv_op *op, const float *in, float *out, int y0, int y1,
		   float *scratch)
{
	int			nob = is_act_blocks(&op->out);
	int			cw = op->pool ? 2 * op->out.w : op->in.w;
	int			ib = op->in.block;

	for (int y = y0; y < y1;)
	{
		/* rows go in pairs; pooling needs both, a plain conv may end on one */
		int			r = op->pool || y + 1 < y1 ? 2 : 1;
		int			cy = op->pool ? 2 * y : y;

		for (int ob = 0; ob < nob; ob += D_KMAX)
		{
			int			k = nob - ob < D_KMAX ? nob - ob : D_KMAX;

			for (int cx = 0; cx < cw;)
			{
				int			p = tile_width(cw - cx, k);

				direct_tile_any(op, in, out, cy, cx, ob, r, p, k, ib);
				cx += p;
			}
		}
		y += op->pool ? 1 : r;
	}
}

const is_conv_impl D_IMPL = {
	.block = DVL,
	.packed_floats = direct_packed_floats,
	.pack = direct_pack,
	.scratch_floats = direct_scratch_floats,
	.run = direct_run,
};
