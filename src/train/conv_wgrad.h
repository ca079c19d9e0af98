/*
 * Weight gradient of a 3x3 convolution for one image, over the channel-blocked
 * layouts of conv.h, written once and compiled per instruction set
 * (conv_wgrad_avx512.c, conv_wgrad_avx2.c include a vector vocabulary and
 * this file):
 *
 *   gw[o][i][t] += sum over pixels p of dy[o][p] * x[i][p + tap t]
 *   gb[o] += sum over pixels p of dy[o][p]
 *
 * dy is in op->out's layout (block DVL), x in op->in's (block DVL, or 1 for
 * the network input).  Vector lanes run over DVL output channels; each
 * accumulator is one (input channel, tap) pair, fed by a broadcast input
 * pixel: DVL input channels of one tap per sweep (x in blocks), or the nine
 * taps of one input channel (block 1).  A sweep reads one dy plane and one x
 * plane, which stay in L2 at these sizes.  The zero border makes the taps
 * that fall outside the image contribute nothing, with no edge tests.
 *
 * Required: the vocabulary (DV, DVL, D_TARGET, D_LOAD, D_STORE, D_BCAST,
 * D_FMA, D_ZERO) and D_WGRAD, the name of the function.
 */
#include "train_conv.h"

/* Adds the lanes of acc (output channels ob*DVL ..) into gw at (input channel i, tap t). */
D_TARGET static inline void
wgrad_scatter(const is_conv_op *op, DV acc, int ob, int i, int t, float *gw)
{
	float		lanes[DVL];

	D_STORE(lanes, acc);
	for (int l = 0; l < DVL && ob * DVL + l < op->out.c; l++)
		gw[((size_t) (ob * DVL + l) * op->in.c + i) * 9 + t] += lanes[l];
}

/*
 * One sweep over the interior pixels p, with acc[i] += x[p + tap][i] dy[p]
 * (x in blocks: the DVL channels of one tap, offset tap from the top-left
 * neighbour) or, with x of block 1, acc[t] += x[p + tap t] dy[p] for the nine
 * taps.  The offsets of the accumulators are constants, so they all address
 * off one pointer (runtime offsets took a register each, and spilled); so
 * is ib at every call.  bias, when set, also sums dy (the bias gradient).
 */
D_TARGET static inline __attribute__((always_inline)) void
wgrad_sweep(const is_conv_op *op, const float *x, const float *dy, size_t tap,
			const int ib, DV *acc, DV *bias)
{
	const size_t xw = (size_t) op->in.w + 2,
				yw = (size_t) op->out.w + 2;
	const int	n = ib == 1 ? 9 : DVL;
	/* in a register: through *bias every pixel would wait for the last store */
	DV			bsum = D_ZERO();

	for (int k = 0; k < n; k++)
		acc[k] = D_ZERO();
	for (int y = 0; y < op->out.h; y++)
	{
		const float *d = dy + ((y + 1) * yw + 1) * DVL;
		const float *s = x + y * xw * ib + tap;

		/* unrolled: 10-15% here, mostly on short rows */
#pragma GCC unroll 4
		for (int px = 0; px < op->out.w; px++, d += DVL, s += ib)
		{
			DV			dv = D_LOAD(d);

			if (bias)
				bsum = D_ADD(bsum, dv);
			if (ib == 1)
			{
				const float *w = s;

				/*
				 * Hide that the next pixel's taps reread these floats: kept in
				 * registers, each broadcast became a shuffle on the FMA port.
				 */
				__asm__("" : "+r"(w));
#pragma GCC unroll 9
				for (int t = 0; t < 9; t++)
					acc[t] = D_FMA(D_BCAST(w + (t / 3) * xw + t % 3), dv, acc[t]);
			}
			else
			{
#pragma GCC unroll 16
				for (int i = 0; i < DVL; i++)
					acc[i] = D_FMA(D_BCAST(s + i), dv, acc[i]);
			}
		}
	}
	if (bias)
		*bias = D_ADD(*bias, bsum);
}

D_TARGET void
D_WGRAD(const is_conv_op *op, const float *x, const float *dy, float *gw, float *gb)
{
	const size_t xw = (size_t) op->in.w + 2;
	DV			acc[DVL > 9 ? DVL : 9];

	for (int ob = 0; ob < is_act_blocks(&op->out); ob++)
	{
		const float *d = dy + ob * is_act_plane(&op->out);
		DV			bias = D_ZERO();
		float		lanes[DVL];

		if (op->in.block == 1)
		{
			/* one channel per plane: its nine taps at once */
			for (int i = 0; i < op->in.c; i++)
			{
				wgrad_sweep(op, x + i * is_act_plane(&op->in), d, 0, 1, acc, i ? NULL : &bias);
				for (int t = 0; t < 9; t++)
					wgrad_scatter(op, acc[t], ob, i, t, gw);
			}
		}
		else
			for (int cb = 0; cb < is_act_blocks(&op->in); cb++)
				for (int t = 0; t < 9; t++)
				{
					int			n = op->in.c - cb * DVL < DVL ? op->in.c - cb * DVL : DVL;

					/* channels past in.c are zero: their sums are computed, not stored */
					wgrad_sweep(op, x + cb * is_act_plane(&op->in), d,
								((t / 3) * xw + t % 3) * DVL, DVL, acc, cb || t ? NULL : &bias);
					for (int i = 0; i < n; i++)
						wgrad_scatter(op, acc[i], ob, cb * DVL + i, t, gw);
				}
		D_STORE(lanes, bias);
		for (int l = 0; l < DVL && ob * DVL + l < op->out.c; l++)
			gb[ob * DVL + l] += lanes[l];
	}
}
