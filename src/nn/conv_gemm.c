/*
 * Portable 3x3 convolution: im2col of a strip of rows, one cblas_sgemm, then
 * bias + ReLU + 2x2 max-pool in one pass over the sgemm output.  Works for
 * every shape and input layout; the SIMD kernels are measured against it.
 */
#include "conv.h"

#include <cblas.h>

/* im2col strips of about this many floats stay in L2 next to the weights. */
#define GEMM_STRIP_FLOATS (64 * 1024)

static size_t
gemm_packed_floats(int ic, int ib, int oc)
{
	return (size_t) oc * ic * 9;
}

/* The sgemm consumes the [oc][ic*9] weights as they are. */
static void
gemm_pack(const float *w, int ic, int ib, int oc, float *dst)
{
	for (size_t i = 0; i < (size_t) oc * ic * 9; i++)
		dst[i] = w[i];
}

static int
conv_cols(const is_conv_op *op)
{
	return op->pool ? 2 * op->out.w : op->in.w;
}

/* Conv rows per strip: a multiple of the pooling step, at least one step. */
static int
strip_rows(const is_conv_op *op)
{
	int			step = op->pool ? 2 : 1;
	size_t		per_row = (size_t) op->in.c * 9 * conv_cols(op);
	int			rows = (int) (GEMM_STRIP_FLOATS / per_row) / step * step;

	return rows < step ? step : rows;
}

static size_t
gemm_scratch_floats(const is_conv_op *op)
{
	size_t		cells = (size_t) strip_rows(op) * conv_cols(op);

	return cells * ((size_t) op->in.c * 9 + op->out.c);
}

static void
im2col(const is_conv_op *op, const float *in, int cy, int rows, float *col)
{
	const is_act *a = &op->in;
	int			cw = conv_cols(op);
	size_t		plane = is_act_plane(a);

	for (int c = 0; c < a->c; c++)
	{
		const float *src = in + (size_t) (c / a->block) * plane + c % a->block;

		for (int k = 0; k < 9; k++)
			for (int r = 0; r < rows; r++)
			{
				const float *s = src + ((size_t) (cy + r + k / 3) * (a->w + 2) + k % 3) * a->block;

				for (int x = 0; x < cw; x++)
					*col++ = s[(size_t) x * a->block];
			}
	}
}

/* Bias, ReLU and pooling of conv rows [cy, cy + rows) held in g[oc][rows * cw]. */
static void
epilogue(const is_conv_op *op, const float *g, int cy, int rows, float *out)
{
	int			cw = conv_cols(op);
	int			step = op->pool ? 2 : 1;
	size_t		n = (size_t) rows * cw;

	for (int o = 0; o < op->out.c; o++, g += n)
		for (int r = 0; r < rows; r += step)
		{
			const float *g0 = g + (size_t) r * cw;
			float	   *dst = is_act_at(&op->out, out, o, (cy + r) / step, 0);

			for (int x = 0; x < cw / step; x++)
			{
				float		v = g0[x * step];

				if (op->pool)
				{
					v = v > g0[2 * x + 1] ? v : g0[2 * x + 1];
					v = v > g0[cw + 2 * x] ? v : g0[cw + 2 * x];
					v = v > g0[cw + 2 * x + 1] ? v : g0[cw + 2 * x + 1];
				}
				v += op->bias[o];
				if (op->relu && !(v > 0.0f))
					v = 0.0f;
				dst[(size_t) x * op->out.block] = v;
			}
		}
}

static void
gemm_run(const is_conv_op *op, const float *in, float *out, int y0, int y1,
		 float *scratch)
{
	int			step = op->pool ? 2 : 1;
	int			cw = conv_cols(op);
	int			kdim = op->in.c * 9;
	int			strip = strip_rows(op);
	float	   *col = scratch;
	float	   *g = scratch + (size_t) kdim * strip * cw;

	for (int cy = y0 * step; cy < y1 * step; cy += strip)
	{
		int			rows = y1 * step - cy < strip ? y1 * step - cy : strip;
		int			n = rows * cw;

		im2col(op, in, cy, rows, col);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, op->out.c, n, kdim,
					1.0f, op->weight, kdim, col, n, 0.0f, g, n);
		epilogue(op, g, cy, rows, out);
	}
}

const is_conv_impl is_conv_gemm = {
	.block = 1,
	.packed_floats = gemm_packed_floats,
	.pack = gemm_pack,
	.scratch_floats = gemm_scratch_floats,
	.run = gemm_run,
};
