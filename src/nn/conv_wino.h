/*
 * Winograd F(2x2, 3x3) convolution, with 2x2 max-pooling fused (inference)
 * or without (training), written once and compiled per instruction set
 * (conv_wino_avx512.c, conv_wino_avx2.c define the vector macros of
 * conv_direct.h plus D_SUB and W_TP, W_IMPL) and, for inference only, with
 * its GEMM in bfloat16 (conv_wino_bf16.c defines the W_ operand macros below).
 *
 * Each 2x2 output tile needs 16 multiplies per channel pair instead of 36,
 * and a 2x2 tile is exactly one pooling window, so the output transform ends
 * in max, bias, ReLU and one store of the pooled pixel (or, unpooled, bias,
 * ReLU and the tile's four pixels).  Per strip of TB tiles of one tile row:
 *   1. input transform  V[xi][tile][c]  = (B^T d B)[xi], vectorised over a
 *      block of DVL channels (needs the input in DVL-channel blocks);
 *   2. 16 small GEMMs   M[xi][tile][oc] = sum_c V[xi][tile][c] U[xi][c][oc],
 *      register-blocked W_TP tiles x 2 output blocks, like the direct kernel;
 *   3. output transform (A^T M A), pool, bias, ReLU, store.
 * U = G g G^T is computed once when the plan packs the weights.  nn_infer.c
 * uses this kernel only for pooled convolutions whose input has DVL-channel
 * blocks; the others go to the direct kernel of the same instruction set.
 * Training (train_conv.c) also runs it without pooling, on outputs of even
 * height and width (whole tiles), and then rows y0, y1 must be even.
 */
#include <string.h>

#include "conv.h"

#define W_TB 32					/* tiles per strip: bounds the scratch to L2 */

/*
 * The GEMM's operands U and V: float32 here.  A narrower type packs W_PAIR
 * input channels per 32-bit lane, U as [xi][c / W_PAIR][o][W_PAIR] and V as
 * [xi][tile][c], so that one load of U gives DVL output channels x W_PAIR
 * input channels and one broadcast of V the matching W_PAIR inputs, which
 * W_DOT multiplies and adds into float32 sums.  Input channels are padded to
 * whole DVL blocks, hence to a multiple of W_PAIR.
 */
#ifndef W_PAIR
#define W_PAIR 1				/* input channels per lane */
#define W_ET float				/* element of packed U and V */
#define W_WV DV					/* a load of U, a broadcast of V */
#define W_ROUND(f) (f)			/* float to W_ET */
#define W_VSTORE(p, x) D_STORE((p), (x))
#define W_ULOAD(p) D_LOAD(p)
#define W_VBCAST(p) D_BCAST(p)
#define W_DOT(acc, x, w) D_FMA((x), (w), (acc))
#endif

/* Floats taken by n elements of U or V. */
#define W_FLOATS(n) ((n) * sizeof(W_ET) / sizeof(float))

D_TARGET static int
wino_pad(int c, int b)
{
	return (c + b - 1) / b * b;
}

D_TARGET static size_t
wino_packed_floats(int ic, int ib, int oc)
{
	return W_FLOATS((size_t) 16 * wino_pad(ic, ib) * wino_pad(oc, DVL));
}

/* U[xi][c][o] = (G g G^T)[xi] for g = w[o][c], zeros in the padding. */
D_TARGET static void
wino_pack(const float *w, int ic, int ib, int oc, float *dst)
{
	size_t		icp = wino_pad(ic, ib),
				ocp = wino_pad(oc, DVL);
	W_ET	   *ud = (W_ET *) dst;

	memset(ud, 0, 16 * icp * ocp * sizeof(W_ET));
	for (int o = 0; o < oc; o++)
		for (int c = 0; c < ic; c++)
		{
			const float *g = w + ((size_t) o * ic + c) * 9;
			float		t[4][3],
						u[4][4];

			for (int j = 0; j < 3; j++)
			{
				t[0][j] = g[j];
				t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
				t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
				t[3][j] = g[6 + j];
			}
			for (int i = 0; i < 4; i++)
			{
				u[i][0] = t[i][0];
				u[i][1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
				u[i][2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
				u[i][3] = t[i][2];
			}
			for (int xi = 0; xi < 16; xi++)
				ud[((size_t) xi * icp + c - c % W_PAIR) * ocp + (size_t) o * W_PAIR + c % W_PAIR] =
					W_ROUND(u[xi / 4][xi % 4]);
		}
}

D_TARGET static size_t
wino_scratch_floats(const is_conv_op *op)
{
	return (size_t) 16 * W_TB * (W_FLOATS(wino_pad(op->in.c, op->in.block)) + wino_pad(op->out.c, DVL));
}

/* B^T d B of the 4x4 input tiles at tile row ty, columns tx0 .. tx0 + n - 1. */
D_TARGET static void
wino_input(const is_conv_op *op, const float *in, int ty, int tx0, int n, W_ET *v)
{
	const size_t iw = (size_t) op->in.w + 2;
	const size_t iplane = is_act_plane(&op->in);
	const int	nib = is_act_blocks(&op->in);
	const size_t icp = (size_t) nib * DVL;

	for (int cb = 0; cb < nib; cb++)
		for (int t = 0; t < n; t++)
		{
			const float *base = in + cb * iplane + ((size_t) 2 * ty * iw + 2 * (tx0 + t)) * DVL;
			DV			r[4][4];

			for (int j = 0; j < 4; j++)
			{
				DV			d0 = D_LOAD(base + j * DVL),
							d1 = D_LOAD(base + (iw + j) * DVL),
							d2 = D_LOAD(base + (2 * iw + j) * DVL),
							d3 = D_LOAD(base + (3 * iw + j) * DVL);

				r[0][j] = D_SUB(d0, d2);
				r[1][j] = D_ADD(d1, d2);
				r[2][j] = D_SUB(d2, d1);
				r[3][j] = D_SUB(d1, d3);
			}
			for (int i = 0; i < 4; i++)
			{
				W_ET	   *dst = v + ((size_t) (4 * i) * W_TB + t) * icp + cb * DVL;
				const size_t step = (size_t) W_TB * icp;

				W_VSTORE(dst, D_SUB(r[i][0], r[i][2]));
				W_VSTORE(dst + step, D_ADD(r[i][1], r[i][2]));
				W_VSTORE(dst + 2 * step, D_SUB(r[i][2], r[i][1]));
				W_VSTORE(dst + 3 * step, D_SUB(r[i][1], r[i][3]));
			}
		}
}

/* M[t0 .. t0 + W_TP)[ob .. ob + K) of one xi. */
D_TARGET static inline __attribute__((always_inline)) void
wino_gemm_tile(const W_ET *v, const W_ET *u, float *m, size_t icp, size_t ocp,
			   int t0, int ob, const int K)
{
	DV			acc[W_TP][2];

#pragma GCC unroll 16
	for (int t = 0; t < W_TP; t++)
#pragma GCC unroll 2
		for (int k = 0; k < K; k++)
			acc[t][k] = D_ZERO();
	for (size_t c = 0; c < icp; c += W_PAIR)
	{
		W_WV		w[2];

#pragma GCC unroll 2
		for (int k = 0; k < K; k++)
			w[k] = W_ULOAD(u + c * ocp + (size_t) (ob + k) * DVL * W_PAIR);
#pragma GCC unroll 16
		for (int t = 0; t < W_TP; t++)
		{
			W_WV		x = W_VBCAST(v + (size_t) (t0 + t) * icp + c);

#pragma GCC unroll 2
			for (int k = 0; k < K; k++)
				acc[t][k] = W_DOT(acc[t][k], x, w[k]);
		}
	}
#pragma GCC unroll 16
	for (int t = 0; t < W_TP; t++)
#pragma GCC unroll 2
		for (int k = 0; k < K; k++)
			D_STORE(m + (size_t) (t0 + t) * ocp + (size_t) (ob + k) * DVL, acc[t][k]);
}

D_TARGET static void
wino_gemm(const is_conv_op *op, const W_ET *v, float *m, int n)
{
	const size_t icp = (size_t) is_act_blocks(&op->in) * DVL;
	const int	nob = is_act_blocks(&op->out);
	const size_t ocp = (size_t) nob * DVL;

	for (int xi = 0; xi < 16; xi++)
	{
		const W_ET *vx = v + (size_t) xi * W_TB * icp;
		const W_ET *ux = (const W_ET *) op->weight + (size_t) xi * icp * ocp;
		float	   *mx = m + (size_t) xi * W_TB * ocp;

		/* tiles past n hold stale values: computed, never stored */
		for (int t0 = 0; t0 < n; t0 += W_TP)
		{
			int			ob = 0;

			for (; ob + 2 <= nob; ob += 2)
				wino_gemm_tile(vx, ux, mx, icp, ocp, t0, ob, 2);
			if (ob < nob)
				wino_gemm_tile(vx, ux, mx, icp, ocp, t0, ob, 1);
		}
	}
}

/*
 * A^T M A, then bias and ReLU: pooled (2x2 max first) into pooled row ty, or,
 * without pooling, the tile's four pixels into rows 2 ty and 2 ty + 1.
 */
D_TARGET static void
wino_output(const is_conv_op *op, const float *m, int ty, int tx0, int n, float *out)
{
	const int	nob = is_act_blocks(&op->out);
	const size_t ocp = (size_t) nob * DVL;
	const size_t ow = (size_t) op->out.w + 2;
	const size_t oplane = is_act_plane(&op->out);
	const size_t step = (size_t) W_TB * ocp;

	for (int ob = 0; ob < nob; ob++)
	{
		DV			b = D_LOAD(op->bias + (size_t) ob * DVL);

		for (int t = 0; t < n; t++)
		{
			const float *src = m + (size_t) t * ocp + (size_t) ob * DVL;
			DV			s[2][4],
						y00,
						y01,
						y10,
						y11,
						y;

			for (int j = 0; j < 4; j++)
			{
				DV			m0 = D_LOAD(src + j * step),
							m1 = D_LOAD(src + (4 + j) * step),
							m2 = D_LOAD(src + (8 + j) * step),
							m3 = D_LOAD(src + (12 + j) * step);

				s[0][j] = D_ADD(D_ADD(m0, m1), m2);
				s[1][j] = D_SUB(D_SUB(m1, m2), m3);
			}
			y00 = D_ADD(D_ADD(s[0][0], s[0][1]), s[0][2]);
			y01 = D_SUB(D_SUB(s[0][1], s[0][2]), s[0][3]);
			y10 = D_ADD(D_ADD(s[1][0], s[1][1]), s[1][2]);
			y11 = D_SUB(D_SUB(s[1][1], s[1][2]), s[1][3]);
			if (!op->pool)
			{
				DV			px[4] = {y00, y01, y10, y11};

				for (int i = 0; i < 4; i++)
				{
					y = D_ADD(px[i], b);
					if (op->relu)
						y = D_MAX(y, D_ZERO());
					D_STORE(out + ob * oplane +
							((2 * ty + i / 2 + 1) * ow + 2 * (tx0 + t) + i % 2 + 1) * DVL, y);
				}
				continue;
			}
			y = D_ADD(D_MAX(D_MAX(y00, y01), D_MAX(y10, y11)), b);
			if (op->relu)
				y = D_MAX(y, D_ZERO());
			D_STORE(out + ob * oplane + ((ty + 1) * ow + tx0 + t + 1) * DVL, y);
		}
	}
}

D_TARGET static void
wino_run(const is_conv_op *op, const float *in, float *out, int y0, int y1, float *scratch)
{
	W_ET	   *v = (W_ET *) scratch;
	float	   *m = scratch + W_FLOATS((size_t) 16 * W_TB * is_act_blocks(&op->in) * DVL);

	/* a tile is one pooled pixel, or 2 x 2 pixels (even sizes only) without pooling */
	const int	tiles_w = op->pool ? op->out.w : op->out.w / 2;

	if (!op->pool)
		y0 /= 2, y1 /= 2;
	for (int ty = y0; ty < y1; ty++)
		for (int tx0 = 0; tx0 < tiles_w; tx0 += W_TB)
		{
			int			n = tiles_w - tx0 < W_TB ? tiles_w - tx0 : W_TB;

			wino_input(op, in, ty, tx0, n, v);
			wino_gemm(op, v, m, n);
			wino_output(op, m, ty, tx0, n, out);
		}
}

const is_conv_impl W_IMPL = {
	.block = DVL,
	.packed_floats = wino_packed_floats,
	.pack = wino_pack,
	.scratch_floats = wino_scratch_floats,
	.run = wino_run,
};
