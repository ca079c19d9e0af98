/*
 * Winograd F(2x2, 3x3) convolution, with 2x2 max-pooling fused (inference)
 * or without (training), written once and compiled per instruction set
 * (conv_wino_avx512.c, conv_wino_avx2.c define the vector macros of
 * conv_direct.h plus D_SUB and W_TP, W_IMPL) and, for inference only, with
 * its GEMM in bfloat16 (conv_wino_bf16.c defines the W_ operand macros of
 * conv_wino_gemm.h).
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
#define W_NX 16				/* (2 + 2)^2 transform elements */
#define W_TB 32					/* tiles per strip: bounds the scratch to L2 */

/* u = G g G^T, 4 x 4 row-major, for one 3x3 filter g (conv_wino_gemm.h packs it). */
D_TARGET static void
wino_filter(const float *g, float *u)
{
	float		t[4][3];

	for (int j = 0; j < 3; j++)
	{
		t[0][j] = g[j];
		t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
		t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
		t[3][j] = g[6 + j];
	}
	for (int i = 0; i < 4; i++)
	{
		u[4 * i] = t[i][0];
		u[4 * i + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
		u[4 * i + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
		u[4 * i + 3] = t[i][2];
	}
}

#include "conv_wino_gemm.h"
#include "conv_wino2_tf.h"

/* B^T d B of the 4x4 input tiles at tile row ty, columns tx0 .. tx0 + n - 1. */
D_TARGET static void
wino_input(const is_conv_op *op, const float *in, int ty, int tx0, int n, W_ET *v)
{
	const size_t iw = (size_t) op->in.w + 2;
	const size_t iplane = is_act_plane(&op->in);
	const int	nib = is_act_blocks(&op->in);
	const size_t icp = (size_t) nib * DVL;
	const size_t step = wino_vstep(icp);

	for (int cb = 0; cb < nib; cb++)
		for (int t = 0; t < n; t++)
		{
			W_ET	   *dst = v + (size_t) t * icp + cb * DVL;
			DV			r[16];

			wino2_input_tile(in + cb * iplane + ((size_t) 2 * ty * iw + 2 * (tx0 + t)) * DVL,
							 iw * DVL, r);
#pragma GCC unroll 16
			for (int xi = 0; xi < 16; xi++)
				W_VSTORE(dst + xi * step, r[xi]);
		}
}

/*
 * A^T M A, then bias and ReLU: pooled (2x2 max first) into pooled row ty, or,
 * without pooling, the tile's four pixels into rows 2 ty and 2 ty + 1.
 */
D_TARGET static void
wino_output(const is_conv_op *op, const float *m, int ty, int tx0, int n, float *out)
{
	const wino_out g = wino_out_of(op);

	for (int ob = 0; ob < g.nob; ob++)
	{
		DV			b = D_LOAD(op->bias + (size_t) ob * DVL);

		for (int t = 0; t < n; t++)
		{
			const float *src = m + (size_t) t * g.ocp + (size_t) ob * DVL;
			DV			s[2][4],
						y00,
						y01,
						y10,
						y11,
						y;

#pragma GCC unroll 4
			for (int j = 0; j < 4; j++)
			{
				DV			m0 = D_LOAD(src + j * g.step),
							m1 = D_LOAD(src + (4 + j) * g.step),
							m2 = D_LOAD(src + (8 + j) * g.step),
							m3 = D_LOAD(src + (12 + j) * g.step);

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

#pragma GCC unroll 4
				for (int i = 0; i < 4; i++)
				{
					y = D_ADD(px[i], b);
					if (op->relu)
						y = D_MAX(y, D_ZERO());
					D_STORE(out + ob * g.oplane +
							((2 * ty + i / 2 + 1) * g.ow + 2 * (tx0 + t) + i % 2 + 1) * DVL, y);
				}
				continue;
			}
			y = D_ADD(D_MAX(D_MAX(y00, y01), D_MAX(y10, y11)), b);
			if (op->relu)
				y = D_MAX(y, D_ZERO());
			D_STORE(out + ob * g.oplane + ((ty + 1) * g.ow + tx0 + t + 1) * DVL, y);
		}
	}
}

D_TARGET static void
wino_run(const is_conv_op *op, const float *in, float *out, int y0, int y1, float *scratch)
{
	W_ET	   *v = (W_ET *) scratch;
	float	   *m = wino_m(op, scratch);

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
