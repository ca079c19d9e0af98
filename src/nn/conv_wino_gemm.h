/*
 * The part of the Winograd kernels their tile sizes share (conv_wino.h for
 * F(2x2, 3x3), conv_wino4.h for F(4x4, 3x3)): the packed weights, the
 * per-thread scratch and the W_NX small GEMMs, one per transform element xi,
 *   M[xi][tile][oc] = sum_c V[xi][tile][c] U[xi][c][oc],
 * register-blocked W_TP tiles x 2 output blocks like the direct kernel.
 * The including header defines W_NX (transform elements: 16 or 36), W_TB
 * (tiles per strip) and wino_filter (U of one filter), its ISA file W_TP
 * and, for a narrower GEMM type, the operand macros below.
 */
#include <string.h>

#include "conv.h"

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
	return W_FLOATS((size_t) W_NX * wino_pad(ic, ib) * wino_pad(oc, DVL));
}

/* U[xi][c][o] = (G g G^T)[xi] for g = w[o][c], zeros in the padding. */
D_TARGET static void
wino_pack(const float *w, int ic, int ib, int oc, float *dst)
{
	size_t		icp = wino_pad(ic, ib),
				ocp = wino_pad(oc, DVL);
	W_ET	   *ud = (W_ET *) dst;

	memset(ud, 0, W_NX * icp * ocp * sizeof(W_ET));
	for (int o = 0; o < oc; o++)
		for (int c = 0; c < ic; c++)
		{
			float		u[W_NX];

			wino_filter(w + ((size_t) o * ic + c) * 9, u);
			for (int xi = 0; xi < W_NX; xi++)
				ud[((size_t) xi * icp + c - c % W_PAIR) * ocp + (size_t) o * W_PAIR + c % W_PAIR] =
					W_ROUND(u[xi]);
		}
}

/*
 * V and M hold a panel of W_TB tiles per transform element xi, and the
 * transforms touch the same spot of every panel.  Panels a multiple of 4 kB
 * apart would put those W_NX lines in one L1 set, more than its ways, so
 * each panel is a cache line longer than its tiles.
 */
D_TARGET static inline size_t
wino_vstep(size_t icp)
{
	return (size_t) W_TB * icp + 64 / sizeof(W_ET);
}

D_TARGET static inline size_t
wino_mstep(size_t ocp)
{
	return (size_t) W_TB * ocp + 64 / sizeof(float);
}

D_TARGET static size_t
wino_scratch_floats(const is_conv_op *op)
{
	return (size_t) W_NX * (W_FLOATS(wino_vstep(wino_pad(op->in.c, op->in.block))) +
							wino_mstep(wino_pad(op->out.c, DVL)));
}

/* Where an output transform reads M and writes the output activation. */
typedef struct wino_out
{
	int			nob;			/* output channel blocks */
	size_t		ocp;			/* a tile's row of M: the output channels, padded */
	size_t		step;			/* M from one xi to the next */
	size_t		ow;				/* an output row, halo included, in pixels */
	size_t		oplane;			/* an output channel block */
} wino_out;

D_TARGET static inline wino_out
wino_out_of(const is_conv_op *op)
{
	wino_out	g = {.nob = is_act_blocks(&op->out)};

	g.ocp = (size_t) g.nob * DVL;
	g.step = wino_mstep(g.ocp);
	g.ow = (size_t) op->out.w + 2;
	g.oplane = is_act_plane(&op->out);
	return g;
}

/* The scratch holds V (input transforms), then M (GEMM results). */
D_TARGET static inline float *
wino_m(const is_conv_op *op, float *scratch)
{
	return scratch + W_FLOATS((size_t) W_NX * wino_vstep((size_t) is_act_blocks(&op->in) * DVL));
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

	for (int xi = 0; xi < W_NX; xi++)
	{
		const W_ET *vx = v + (size_t) xi * wino_vstep(icp);
		const W_ET *ux = (const W_ET *) op->weight + (size_t) xi * icp * ocp;
		float	   *mx = m + (size_t) xi * wino_mstep(ocp);

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

/* Output rows [y0, y1) of one image: the including header's, after this. */
D_TARGET static void wino_run(const is_conv_op *op, const float *in, float *out, int y0, int y1,
							  float *scratch);

const is_conv_impl W_IMPL = {
	.block = DVL,
	.packed_floats = wino_packed_floats,
	.pack = wino_pack,
	.scratch_floats = wino_scratch_floats,
	.run = wino_run,
};
