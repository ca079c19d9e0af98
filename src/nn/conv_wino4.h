/*
 * Winograd F(4x4, 3x3) convolution with 2x2 max-pooling fused (inference)
 * or without pooling (training, when asked for: train_conv.c), compiled per
 * instruction set like conv_wino.h's F(2x2, 3x3) (conv_wino4_avx512.c,
 * conv_wino4_avx2.c).  Not in bfloat16: its larger
 * transform coefficients (up to 8) carry the rounding of V further, and a
 * bfloat16 GEMM over it erred 2.4x more than wino-bf16 on real music (mean
 * 1 - cos against gemm, piano_mix) for 1.08x its speed.
 *
 * A 4x4 output tile takes 36 multiplies per channel pair where F(2x2, 3x3)
 * takes 64 (16 for each of its four 2x2 tiles): the GEMMs, most of a
 * Winograd layer's time (bench/cnn/RESULTS.md), shrink by 1.78x, and the
 * transforms, which work per channel and not per channel pair, grow.  With
 * the points 0, +-1, +-2 and infinity (Lavin & Gray 2016) a layer's outputs
 * stay within 2.5e-6 of the direct kernel's, relative to the largest, against
 * 3.9e-7 for F(2x2, 3x3) (test_nn), and the shipped models' embeddings within
 * the same 2e-8 (1 - cos) of gemm's as F(2x2, 3x3)'s (bench/cnn/RESULTS.md).
 * A tile is 2 x 2 pooling windows, so the output transform still ends in
 * max, bias, ReLU and stores of pooled pixels; unpooled, in bias, ReLU and
 * stores of its 4 x 4 pixels.
 *
 * A strip is W_TB tiles taken row after row across tile rows, since the late
 * layers' maps are only a few tiles wide (16 x 16 is 4 x 4 tiles) and the
 * GEMM wants W_TP tiles at a time.  Sizes need not be multiples of 4: tiles
 * over the input's edge read it through a zero-filled copy, and pooled pixels
 * past the output or outside the caller's rows [y0, y1) are not stored, so
 * threads may split a tile row between them.
 */
#define W_NX 36					/* (4 + 2)^2 transform elements */
#define W_TB 16					/* tiles per strip: scratch about conv_wino.h's */

/* u = G g G^T, 6 x 6 row-major, for one 3x3 filter g (conv_wino_gemm.h packs it); in double, rounded once. */
D_TARGET static void
wino_filter(const float *g, float *u)
{
	static const double G[6][3] = {
		{1.0 / 4, 0, 0},
		{-1.0 / 6, -1.0 / 6, -1.0 / 6},
		{-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6},
		{1.0 / 24, -1.0 / 12, 1.0 / 6},
		{0, 0, 1},
	};
	double		t[6][3];

	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 3; j++)
			t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++)
			u[6 * i + j] = (float) (t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]);
}

#include "conv_wino_gemm.h"

/* Six vectors from p on, stride floats apart: a column of a 6 x 6 block. */
D_TARGET static inline __attribute__((always_inline)) void
wino4_load6(const float *p, size_t stride, DV d[6])
{
#pragma GCC unroll 6
	for (int i = 0; i < 6; i++)
		d[i] = D_LOAD(p + i * stride);
}

/* B^T d along one direction: six vectors in, six out. */
D_TARGET static inline __attribute__((always_inline)) void
wino4_bt(const DV d[6], DV r[6])
{
	const DV	t = D_SUB(d[4], d[2]),
				u = D_SUB(d[3], d[1]);

	r[0] = D_FMA(D_SET1(4.0f), d[0], D_FMA(D_SET1(-5.0f), d[2], d[4]));
	r[1] = D_FMA(D_SET1(-4.0f), D_ADD(d[1], d[2]), D_ADD(d[3], d[4]));
	r[2] = D_FMA(D_SET1(4.0f), D_SUB(d[1], d[2]), D_SUB(d[4], d[3]));
	r[3] = D_FMA(D_SET1(2.0f), u, t);
	r[4] = D_FMA(D_SET1(-2.0f), u, t);
	r[5] = D_FMA(D_SET1(4.0f), d[1], D_FMA(D_SET1(-5.0f), d[3], d[5]));
}

/* A^T m along one direction: six vectors in, four out. */
D_TARGET static inline __attribute__((always_inline)) void
wino4_at(const DV m[6], DV y[4])
{
	const DV	a = D_ADD(m[1], m[2]),
				b = D_SUB(m[1], m[2]),
				c = D_ADD(m[3], m[4]),
				d = D_SUB(m[3], m[4]);

	y[0] = D_ADD(D_ADD(m[0], a), c);
	y[1] = D_FMA(D_SET1(2.0f), d, b);
	y[2] = D_FMA(D_SET1(4.0f), c, a);
	y[3] = D_ADD(D_FMA(D_SET1(8.0f), d, b), m[5]);
}

/*
 * B^T d B of strip tiles s .. s + n - 1, tiles counted row after row from
 * tile row ty0 in rows of tiles_w.  Tile (ty, tx) reads the 6 x 6 pixels of
 * the haloed input from (4 ty, 4 tx); those that fall past the halo read as 0.
 */
D_TARGET static void
wino_input(const is_conv_op *op, const float *in, int ty0, int tiles_w, int s, int n, W_ET *v)
{
	const int	iw = op->in.w + 2,
				ih = op->in.h + 2;
	const size_t iplane = is_act_plane(&op->in);
	const int	nib = is_act_blocks(&op->in);
	const size_t icp = (size_t) nib * DVL;
	const size_t step = wino_vstep(icp);
	float		edge[36 * DVL];

	for (int t = 0; t < n; t++)
	{
		const int	ty = ty0 + (s + t) / tiles_w,
					tx = (s + t) % tiles_w;
		const int	rows = ih - 4 * ty < 6 ? ih - 4 * ty : 6,
					cols = iw - 4 * tx < 6 ? iw - 4 * tx : 6;

		/* each block copies into the same rows x cols corner: the rest stays zero */
		if (rows < 6 || cols < 6)
			memset(edge, 0, sizeof(edge));
		for (int cb = 0; cb < nib; cb++)
		{
			const float *base = in + cb * iplane + ((size_t) 4 * ty * iw + 4 * tx) * DVL;
			size_t		stride = (size_t) iw * DVL;
			DV			r[6][6];

			if (rows < 6 || cols < 6)
			{
				for (int i = 0; i < rows; i++)
					memcpy(edge + i * 6 * DVL, base + i * stride, (size_t) cols * DVL * sizeof(float));
				base = edge;
				stride = 6 * DVL;
			}
#pragma GCC unroll 6
			for (int j = 0; j < 6; j++)
			{
				DV			d[6],
							c[6];

				wino4_load6(base + j * DVL, stride, d);
				wino4_bt(d, c);
#pragma GCC unroll 6
				for (int i = 0; i < 6; i++)
					r[i][j] = c[i];
			}
#pragma GCC unroll 6
			for (int i = 0; i < 6; i++)
			{
				W_ET	   *dst = v + 6 * i * step + (size_t) t * icp + cb * DVL;
				DV			c[6];

				wino4_bt(r[i], c);
#pragma GCC unroll 6
				for (int j = 0; j < 6; j++)
					W_VSTORE(dst + j * step, c[j]);
			}
		}
	}
}

/*
 * Bias and ReLU of one tile's outputs y, after a 2 x 2 max when pooling,
 * stored for the (pooled) pixels inside the output and rows [y0, y1) of
 * out, the tile's output channel block.
 * Inlined with a constant `pool`, so that y stays in registers.
 */
D_TARGET static inline __attribute__((always_inline)) void
wino4_store(const is_conv_op *op, const wino_out *g, DV y[4][4], DV b, int ty, int tx,
			int y0, int y1, float *out, const int pool)
{
	const int	side = pool ? 2 : 4;	/* a tile's stored pixels per side */

#pragma GCC unroll 4
	for (int py = 0; py < side; py++)
	{
		const int	oy = side * ty + py;

		if (oy < y0 || oy >= y1)
			continue;
#pragma GCC unroll 4
		for (int px = 0; px < side; px++)
		{
			DV			p = pool ? D_MAX(D_MAX(y[2 * py][2 * px], y[2 * py][2 * px + 1]),
										 D_MAX(y[2 * py + 1][2 * px], y[2 * py + 1][2 * px + 1])) :
				y[py][px];

			if (side * tx + px >= op->out.w)
				break;
			p = D_ADD(p, b);
			if (op->relu)
				p = D_MAX(p, D_ZERO());
			D_STORE(out + ((size_t) (oy + 1) * g->ow + side * tx + px + 1) * DVL, p);
		}
	}
}

/*
 * A^T M A of strip tiles s .. s + n - 1 (as wino_input counts them), then
 * wino4_store into the output's rows [y0, y1).
 */
D_TARGET static void
wino_output(const is_conv_op *op, const float *m, int ty0, int tiles_w, int s, int n,
			int y0, int y1, float *out)
{
	const wino_out g = wino_out_of(op);

	for (int t = 0; t < n; t++)
	{
		const int	ty = ty0 + (s + t) / tiles_w,
					tx = (s + t) % tiles_w;

		for (int ob = 0; ob < g.nob; ob++)
		{
			const float *src = m + (size_t) t * g.ocp + (size_t) ob * DVL;
			const DV	b = D_LOAD(op->bias + (size_t) ob * DVL);
			DV			q[4][6],
						y[4][4];

#pragma GCC unroll 6
			for (int j = 0; j < 6; j++)
			{
				DV			c[6],
							a[4];

				wino4_load6(src + j * g.step, 6 * g.step, c);
				wino4_at(c, a);
#pragma GCC unroll 6
				for (int i = 0; i < 4; i++)
					q[i][j] = a[i];
			}
#pragma GCC unroll 6
			for (int i = 0; i < 4; i++)
				wino4_at(q[i], y[i]);
			if (op->pool)
				wino4_store(op, &g, y, b, ty, tx, y0, y1, out + ob * g.oplane, 1);
			else
				wino4_store(op, &g, y, b, ty, tx, y0, y1, out + ob * g.oplane, 0);
		}
	}
}

/* Output rows [y0, y1) (pooled, when pooling): the tile rows that hold them, W_TB tiles at a time. */
D_TARGET static void
wino_run(const is_conv_op *op, const float *in, float *out, int y0, int y1, float *scratch)
{
	W_ET	   *v = (W_ET *) scratch;
	float	   *m = wino_m(op, scratch);
	const int	side = op->pool ? 2 : 4;
	const int	tiles_w = (op->out.w + side - 1) / side,
				ty0 = y0 / side,
				total = ((y1 + side - 1) / side - ty0) * tiles_w;

	for (int s = 0; s < total; s += W_TB)
	{
		int			n = total - s < W_TB ? total - s : W_TB;

		wino_input(op, in, ty0, tiles_w, s, n, v);
		wino_gemm(op, v, m, n);
		wino_output(op, m, ty0, tiles_w, s, n, y0, y1, out);
	}
}
