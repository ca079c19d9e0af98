/*
 * Weight and bias gradient of a 3x3 convolution for one image by Winograd
 * F(2x2, 3x3), written once and compiled per instruction set
 * (conv_wgrad_wino_avx512.c, conv_wgrad_wino_avx2.c define the vector
 * vocabulary, WG_C and D_WGRAD_WINO).  The forward pass is, per 2x2 output
 * tile, Y = A^T [U (.) V] A with U = G g G^T and V = B^T d B (conv_wino.h),
 * so summed over the tiles
 *
 *   dU[xi][o][c] = sum over tiles t of dM[xi][t][o] V[xi][t][c],  dM = A dY A^T,
 *   gw[o][c] += G^T dU[.][o][c] G,
 *
 * 16 GEMMs that reduce over the tiles: 16 multiplies per channel pair and
 * tile where the direct correlation (conv_wgrad.h) takes 36.  Per strip of
 * WG_TB tiles, taken row after row so that small maps fill it too: V of x,
 * dM of dy, then the GEMMs add into dU, WG_C output channels x 2 input
 * blocks of registers at a time.  dU sums over all the images a worker
 * takes; the last transform into gw's [o][c][9] layout, a scatter, runs
 * once for them all (is_train_conv_wgrad_fold, train_conv.c): per image it
 * cost as much as the GEMMs on the 96 -> 192 channel layers.
 *
 * Needs x in DVL-channel blocks and an output of even height and width
 * (whole tiles), as the forward F(2x2, 3x3) does (train_conv.c).
 */
#include "conv_wino2_tf.h"
#include "train_conv.h"

/* dM = A dY A^T of one 2x2 tile of DVL output channels: m[4 i + j]. */
D_TARGET static inline __attribute__((always_inline)) void
wg_output_tile(const float *d, size_t row, DV m[16])
{
	/* A = [1 0; 1 1; 1 -1; 0 -1] */
	const DV	y00 = D_LOAD(d),
				y01 = D_LOAD(d + DVL),
				y10 = D_LOAD(d + row),
				y11 = D_LOAD(d + row + DVL);
	DV			r[4][2] = {
		{y00, y01},
		{D_ADD(y00, y10), D_ADD(y01, y11)},
		{D_SUB(y00, y10), D_SUB(y01, y11)},
		{D_SUB(D_ZERO(), y10), D_SUB(D_ZERO(), y11)},
	};

#pragma GCC unroll 4
	for (int i = 0; i < 4; i++)
	{
		m[4 * i] = r[i][0];
		m[4 * i + 1] = D_ADD(r[i][0], r[i][1]);
		m[4 * i + 2] = D_SUB(r[i][0], r[i][1]);
		m[4 * i + 3] = D_SUB(D_ZERO(), r[i][1]);
	}
}

/* V of x and dM of dy for tiles s .. s + n - 1, into the strip panels v and m. */
D_TARGET static void
wg_transforms(const is_conv_op *op, const float *x, const float *dy, int s, int n, float *v,
			  float *m)
{
	const int	tiles_w = op->out.w / 2;
	const size_t xw = (size_t) op->in.w + 2,
				yw = (size_t) op->out.w + 2;
	const int	nib = is_act_blocks(&op->in),
				nob = is_act_blocks(&op->out);
	const size_t icp = (size_t) nib * DVL,
				ocp = (size_t) nob * DVL,
				vstep = is_wgrad_wino_step(icp),
				mstep = is_wgrad_wino_step(ocp);

	for (int t = 0; t < n; t++)
	{
		const int	ty = (s + t) / tiles_w,
					tx = (s + t) % tiles_w;

		for (int cb = 0; cb < nib; cb++)
		{
			DV			r[16];

			wino2_input_tile(x + cb * is_act_plane(&op->in) + ((size_t) 2 * ty * xw + 2 * tx) * DVL,
							 xw * DVL, r);
#pragma GCC unroll 16
			for (int xi = 0; xi < 16; xi++)
				D_STORE(v + xi * vstep + (size_t) t * icp + cb * DVL, r[xi]);
		}
		for (int ob = 0; ob < nob; ob++)
		{
			DV			r[16];

			wg_output_tile(dy + ob * is_act_plane(&op->out) +
						   ((size_t) (2 * ty + 1) * yw + 2 * tx + 1) * DVL, yw * DVL, r);
#pragma GCC unroll 16
			for (int xi = 0; xi < 16; xi++)
				D_STORE(m + xi * mstep + (size_t) t * ocp + ob * DVL, r[xi]);
		}
	}
}

/* du[o0 .. o0 + WG_C)[cb .. cb + K) += sum over the n tiles of m[t][o] v[t][c]. */
D_TARGET static inline __attribute__((always_inline)) void
wg_gemm_tile(const float *v, const float *m, float *du, size_t icp, size_t ocp, int n, int o0,
			 int cb, const int K)
{
	DV			acc[WG_C][2];

#pragma GCC unroll 16
	for (int k = 0; k < WG_C; k++)
#pragma GCC unroll 2
		for (int j = 0; j < K; j++)
			acc[k][j] = D_LOAD(du + (size_t) (o0 + k) * icp + (size_t) (cb + j) * DVL);
	for (int t = 0; t < n; t++)
	{
		DV			x[2];

#pragma GCC unroll 2
		for (int j = 0; j < K; j++)
			x[j] = D_LOAD(v + (size_t) t * icp + (size_t) (cb + j) * DVL);
#pragma GCC unroll 16
		for (int k = 0; k < WG_C; k++)
		{
			DV			g = D_BCAST(m + (size_t) t * ocp + o0 + k);

#pragma GCC unroll 2
			for (int j = 0; j < K; j++)
				acc[k][j] = D_FMA(g, x[j], acc[k][j]);
		}
	}
#pragma GCC unroll 16
	for (int k = 0; k < WG_C; k++)
#pragma GCC unroll 2
		for (int j = 0; j < K; j++)
			D_STORE(du + (size_t) (o0 + k) * icp + (size_t) (cb + j) * DVL, acc[k][j]);
}

D_TARGET void
D_WGRAD_WINO(const is_conv_op *op, const float *x, const float *dy, float *du, float *gb,
			 float *scratch)
{
	const int	nib = is_act_blocks(&op->in),
				nob = is_act_blocks(&op->out);
	const size_t icp = (size_t) nib * DVL,
				ocp = (size_t) nob * DVL;
	const int	total = op->out.h / 2 * (op->out.w / 2);
	float	   *v = scratch,
			   *m = v + 16 * is_wgrad_wino_step(icp);

	for (int s = 0; s < total; s += WG_TB)
	{
		const int	n = total - s < WG_TB ? total - s : WG_TB;

		wg_transforms(op, x, dy, s, n, v, m);
		for (int xi = 0; xi < 16; xi++)
		{
			const float *vx = v + xi * is_wgrad_wino_step(icp),
					   *mx = m + xi * is_wgrad_wino_step(ocp);
			float	   *dux = du + xi * ocp * icp;

			/* output channels past out.c have zero dM: their rows are summed, never folded */
			for (int o0 = 0; o0 < (int) ocp; o0 += WG_C)
			{
				int			cb = 0;

				for (; cb + 2 <= nib; cb += 2)
					wg_gemm_tile(vx, mx, dux, icp, ocp, n, o0, cb, 2);
				if (cb < nib)
					wg_gemm_tile(vx, mx, dux, icp, ocp, n, o0, cb, 1);
			}
		}
	}
	/* the bias gradient: the sums of dy's interior */
	for (int ob = 0; ob < nob; ob++)
	{
		const size_t yw = (size_t) op->out.w + 2;
		DV			sum = D_ZERO();
		float		lanes[DVL];

		for (int y = 0; y < op->out.h; y++)
			for (int i = 0; i < op->out.w; i++)
				sum = D_ADD(sum, D_LOAD(dy + ob * is_act_plane(&op->out) + ((y + 1) * yw + i + 1) * DVL));
		D_STORE(lanes, sum);
		for (int l = 0; l < DVL && ob * DVL + l < op->out.c; l++)
			gb[ob * DVL + l] += lanes[l];
	}
}
