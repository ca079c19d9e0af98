/*
 * The element-wise layers of training over the blocked activation layout
 * (train_internal.h): batch-norm (feature maps and vectors), ReLU, 2x2
 * max-pool, global average pooling, and the fused batchnorm -> ReLU ->
 * max-pool block.  Each pass walks the interior pixels of a channel block
 * and, inside a pixel, its b channels: a loop of constant length (16, 8 or 1,
 * chosen by BY_BLOCK) that the compiler turns into one vector operation per
 * statement.  Channels past c in the last block (padding) read zeros and get
 * zero parameters, so they stay zero.
 *
 * Pixel indices are size_t: PostgreSQL builds with -fwrapv, under which an
 * int index px * b + j may wrap, so GCC would gather and scatter lane by lane.
 *
 * Sums over pixels are float within a row and double across rows.  Pooling
 * is floor pooling; ties go to the first element in row-major order, as in
 * PyTorch, and the backward passes find the winner again from the input.
 *
 * Where each layer's forward and backward are.  A phase is one parallel pass
 * of the workers over their images (train_net.c runs them; a "sums" phase is
 * followed by a reduction across workers before the phase that uses it):
 *
 *   layer          forward                       backward (ph->dx set)
 *   batch-norm     train_bn_sums: x, x^2         train_bn_sums: dy, dy * xhat
 *   (maps and      train_bn_apply:               train_bn_backward:
 *   vectors)         y = x scale + shift           dx = BN_BACK(dy, x)
 *                    [ReLU if ph->relu]            [dy masked by masked_grad]
 *   ReLU           train_relu: max(x, 0)         train_relu: y > 0 ? dy : 0
 *   max-pool 2x2   train_pool: cells CELLS_FWD   train_pool: cells CELLS_ROUTE
 *   gap            train_gap: channel means      train_gap: dy / (h w) to all
 *   fused block    train_image_sums of the       train_block_image CELLS_SUMS:
 *   (bn, ReLU,       conv output (train_net.c),    sums of the routed gradient;
 *   pool after a     then train_block_image        CELLS_APPLY: routing and
 *   conv)            CELLS_FWD: pooled output      bn backward, in place over
 *                                                  the conv output
 *
 * The pieces they share:
 *   BY_BLOCK(b, call)    call with the constant block B_ (16, 8 or 1)
 *   get_lanes            a block's per-lane bn scale, shift, mean, invstd
 *   get_apply_lanes      and the backward factors from the reduced sums
 *   BN_BACK(g, x, q, j)  batch-norm backward at one element
 *   masked_grad          dy, or 0 where a fused ReLU's output is not positive
 *   CELL, CELL_BN        a 2x2 cell's four inputs, and their bn outputs
 *   CELL_MAX             the cell's maximum and its winner (ties to the first)
 *   ROUTE                the gradient to the winner, 0 to the other three
 *   clear_dropped,       the odd last column and row that floor pooling
 *   apply_dropped          drops (ROUTE: zero; APPLY: the mean terms only)
 *   cells_image          one image's cells: bn = 0 plain pool, 1 fused block;
 *                        mode = CELLS_FWD, CELLS_ROUTE, CELLS_SUMS, CELLS_APPLY
 */
#include "train_internal.h"

#include <string.h>

#define MAXB TRAIN_MAX_BLOCK

/* Runs call with the constant B_ equal to the view's block (always 16, 8 or 1). */
#define BY_BLOCK(b, call) \
	do { \
		if ((b) == 16) { enum { B_ = 16 }; call; } \
		else if ((b) == 8) { enum { B_ = 8 }; call; } \
		else { enum { B_ = 1 }; call; } \
	} while (0)

/* Per-lane batch-norm parameters of channel block cb: y = x scale + shift. */
typedef struct bn_lanes
{
	float		scale[MAXB], shift[MAXB], mean[MAXB], invstd[MAXB], gamma[MAXB];
} bn_lanes;

static void
get_lanes(const is_layer *l, const layer_state *s, int cb, int b, bn_lanes *p)
{
	memset(p, 0, sizeof(*p));
	for (int j = 0; j < b && cb * b + j < l->in_c; j++)
	{
		int			c = cb * b + j;

		p->mean[j] = s->mean[c];
		p->invstd[j] = s->invstd[c];
		p->gamma[j] = l->param[0][c];
		p->scale[j] = s->invstd[c] * l->param[0][c];
		p->shift[j] = l->param[1][c] - s->mean[c] * p->scale[j];
	}
}

/* Adds lanes of a block's row sums into the per-channel double sums. */
static void
add_lanes(double *part, int cb, int b, int c, const double *s1, const double *s2)
{
	for (int j = 0; j < b && cb * b + j < c; j++)
	{
		part[2 * (cb * b + j)] += s1[j];
		part[2 * (cb * b + j) + 1] += s2[j];
	}
}

/* Batch-norm backward at one element: gradient g, input x (apply_lanes below). */
#define BN_BACK(g, x, q, j) \
	((q).k[j] * ((g) - (q).mdy[j] - ((x) - (q).p.mean[j]) * (q).p.invstd[j] * (q).mdyx[j]))

/* Per-lane batch-norm backward factors from the batch sums. */
typedef struct apply_lanes
{
	bn_lanes	p;
	float		k[MAXB], mdy[MAXB], mdyx[MAXB];
} apply_lanes;

static void
get_apply_lanes(const is_layer *l, const layer_state *s, int cb, int b, const double *sums,
				double inv_m, apply_lanes *q)
{
	get_lanes(l, s, cb, b, &q->p);
	memset(q->k, 0, sizeof(q->k));
	memset(q->mdy, 0, sizeof(q->mdy));
	memset(q->mdyx, 0, sizeof(q->mdyx));
	for (int j = 0; j < b && cb * b + j < l->in_c; j++)
	{
		q->k[j] = q->p.gamma[j] * q->p.invstd[j];
		q->mdy[j] = (float) (sums[2 * (cb * b + j)] * inv_m);
		q->mdyx[j] = (float) (sums[2 * (cb * b + j) + 1] * inv_m);
	}
}

static inline __attribute__((always_inline)) void
image_sums_b(const train_view *v, const float *x, int n, double *part, const int b)
{
	for (int cb = 0; cb < train_blocks(v); cb++)
	{
		double		d1[MAXB] = {0},
					d2[MAXB] = {0};

		for (int y = 0; y < v->h; y++)
		{
			const float *r = train_row(v, (float *) x, n, cb, y);
			float		s1[MAXB] = {0},
						s2[MAXB] = {0};

			for (size_t px = 0; px < (size_t) v->w; px++)
#pragma omp simd
				for (int j = 0; j < b; j++)
				{
					s1[j] += r[px * b + j];
					s2[j] += r[px * b + j] * r[px * b + j];
				}
			for (int j = 0; j < b; j++)
			{
				d1[j] += s1[j];
				d2[j] += s2[j];
			}
		}
		add_lanes(part, cb, b, v->c, d1, d2);
	}
}

IS_SIMD_CLONES void
train_image_sums(const train_view *v, const float *x, int n, double *part)
{
	BY_BLOCK(v->b, image_sums_b(v, x, n, part, B_));
}

/*
 * dy[i], or 0 where a fused ReLU's output yv[i] is not positive.  Both loads
 * are unconditional (yv is dy without a ReLU): a conditional one would not
 * vectorise.
 */
static inline __attribute__((always_inline)) float
masked_grad(const float *dy, const float *yv, size_t i, int relu)
{
	float		g = dy[i],
				u = yv[i];

	return relu && !(u > 0.0f) ? 0.0f : g;
}

/* Backward sums: of dy (ReLU-masked when fused) and of dy * xhat. */
static inline __attribute__((always_inline)) void
bn_grad_sums_b(const phase *ph, const is_layer *l, double *part, int lo, int hi, const int b)
{
	const is_train *t = ph->t;
	const train_view *v = &t->view[ph->layer];
	const int	relu = ph->relu;

	for (int n = lo; n < hi; n++)
		for (int cb = 0; cb < train_blocks(v); cb++)
		{
			bn_lanes	p;
			double		d1[MAXB] = {0},
						d2[MAXB] = {0};

			get_lanes(l, &t->ls[ph->layer], cb, b, &p);
			for (int y = 0; y < v->h; y++)
			{
				const float *x = train_row(v, t->act[ph->layer], n, cb, y);
				const float *dy = train_row(v, (float *) ph->dy, n, cb, y);
				/* without a fused ReLU y is never used (and may not exist) */
				const float *yv = relu ? train_row(v, t->act[ph->layer + 1], n, cb, y) : dy;
				float		s1[MAXB] = {0},
							s2[MAXB] = {0};

				for (size_t px = 0; px < (size_t) v->w; px++)
#pragma omp simd
					for (int j = 0; j < b; j++)
					{
						float		g = masked_grad(dy, yv, px * b + j, relu);

						s1[j] += g;
						s2[j] += g * ((x[px * b + j] - p.mean[j]) * p.invstd[j]);
					}
				for (int j = 0; j < b; j++)
				{
					d1[j] += s1[j];
					d2[j] += s2[j];
				}
			}
			add_lanes(part, cb, b, l->in_c, d1, d2);
		}
}

/*
 * Batch-norm phase 1: per-channel sums of x and x^2 (forward) or of dy and
 * dy * xhat (backward) over this worker's images, into its partial sums.
 */
IS_SIMD_CLONES void
train_bn_sums(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	const is_train *t = ph->t;
	double	   *part = t->part + t->part_doubles * id;

	memset(part, 0, sizeof(double) * 2 * l->in_c);
	if (!ph->dy)
		for (int n = lo; n < hi; n++)
			train_image_sums(&t->view[ph->layer], t->act[ph->layer], n, part);
	else
		BY_BLOCK(t->view[ph->layer].b, bn_grad_sums_b(ph, l, part, lo, hi, B_));
}

static inline __attribute__((always_inline)) void
bn_apply_b(const phase *ph, const is_layer *l, int lo, int hi, const int b)
{
	const is_train *t = ph->t;
	const train_view *v = &t->view[ph->layer];
	const int	relu = ph->relu;

	for (int n = lo; n < hi; n++)
		for (int cb = 0; cb < train_blocks(v); cb++)
		{
			bn_lanes	p;

			get_lanes(l, &t->ls[ph->layer], cb, b, &p);
			for (int y = 0; y < v->h; y++)
			{
				const float *x = train_row(v, t->act[ph->layer], n, cb, y);
				float	   *o = train_row(v, t->act[ph->layer + 1], n, cb, y);

				for (size_t px = 0; px < (size_t) v->w; px++)
#pragma omp simd
					for (int j = 0; j < b; j++)
					{
						float		u = x[px * b + j] * p.scale[j] + p.shift[j];

						o[px * b + j] = relu && !(u > 0.0f) ? 0.0f : u;
					}
			}
		}
}

/* Phase 2 forward: y = (x - mean) * invstd * gamma + beta [then ReLU]. */
IS_SIMD_CLONES void
train_bn_apply(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	BY_BLOCK(ph->t->view[ph->layer].b, bn_apply_b(ph, l, lo, hi, B_));
}

static inline __attribute__((always_inline)) void
bn_backward_b(const phase *ph, const is_layer *l, int lo, int hi, const int b)
{
	const is_train *t = ph->t;
	const train_view *v = &t->view[ph->layer];
	const int	relu = ph->relu;
	double		inv_m = 1.0 / ((double) t->n * v->h * v->w);

	for (int n = lo; n < hi; n++)
		for (int cb = 0; cb < train_blocks(v); cb++)
		{
			apply_lanes q;

			get_apply_lanes(l, &t->ls[ph->layer], cb, b, t->part, inv_m, &q);
			for (int y = 0; y < v->h; y++)
			{
				const float *x = train_row(v, t->act[ph->layer], n, cb, y);
				const float *dy = train_row(v, (float *) ph->dy, n, cb, y);
				const float *yv = relu ? train_row(v, t->act[ph->layer + 1], n, cb, y) : dy;
				float	   *dx = train_row(v, ph->dx, n, cb, y);

				for (size_t px = 0; px < (size_t) v->w; px++)
#pragma omp simd
					for (int j = 0; j < b; j++)
						dx[px * b + j] = BN_BACK(masked_grad(dy, yv, px * b + j, relu),
												 x[px * b + j], q, j);
			}
		}
}

/* Phase 2 backward: dx = gamma * invstd * (dy - sum(dy)/M - xhat * sum(dy xhat)/M). */
IS_SIMD_CLONES void
train_bn_backward(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	BY_BLOCK(ph->t->view[ph->layer].b, bn_backward_b(ph, l, lo, hi, B_));
}

/*
 * Whole images, borders included (they are zero and stay zero).  In place
 * is fine both ways: y > 0 exactly where x > 0.  (Pointers are copied to
 * locals: with -fno-strict-aliasing a store through a float pointer could
 * otherwise change ph's fields and block vectorisation.)
 */
IS_SIMD_CLONES void
train_relu(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	const is_train *t = ph->t;
	size_t		per = t->view[ph->layer].image;
	float	   *y = t->act[ph->layer + 1];
	const float *x = t->act[ph->layer];
	const float *dy = ph->dy;
	float	   *dx = ph->dx;

	if (dx)
	{
#pragma omp simd
		for (size_t j = per * lo; j < per * hi; j++)
		{
			/* unconditional loads: a conditional one would not vectorise */
			float		g = dy[j],
						v = y[j];

			dx[j] = v > 0.0f ? g : 0.0f;
		}
	}
	else
	{
#pragma omp simd
		for (size_t j = per * lo; j < per * hi; j++)
		{
			float		v = x[j];

			y[j] = v > 0.0f ? v : 0.0f;
		}
	}
}

/*
 * The zero gradient of the column and row that floor pooling drops (input
 * view v, image n, block cb); the rest of dx is written cell by cell.
 */
static void
clear_dropped(const train_view *v, float *dx, int n, int cb)
{
	if (v->w & 1)
		for (int y = 0; y < v->h; y++)
			memset(train_row(v, dx, n, cb, y) + (size_t) (v->w - 1) * v->b, 0,
				   sizeof(float) * v->b);
	if (v->h & 1)
		memset(train_row(v, dx, n, cb, v->h - 1), 0, sizeof(float) * v->w * v->b);
}

/*
 * The four inputs of a 2x2 cell in channel lane j (a b / e f, row-major),
 * the maximum and which one won (strictly greater replaces: ties to the first).
 */
#define CELL(r0, r1, px, j, b, A, B, E, F) \
	float		A = (r0)[2 * (px) * (b) + (j)], \
				B = (r0)[(2 * (px) + 1) * (b) + (j)], \
				E = (r1)[2 * (px) * (b) + (j)], \
				F = (r1)[(2 * (px) + 1) * (b) + (j)]

/* Routes g to the winner k (0..3) of cell px, lane j, in rows d0, d1. */
#define ROUTE(d0, d1, px, j, b, k, g) \
	do { \
		(d0)[2 * (px) * (b) + (j)] = (k) == 0.0f ? (g) : 0.0f; \
		(d0)[(2 * (px) + 1) * (b) + (j)] = (k) == 1.0f ? (g) : 0.0f; \
		(d1)[2 * (px) * (b) + (j)] = (k) == 2.0f ? (g) : 0.0f; \
		(d1)[(2 * (px) + 1) * (b) + (j)] = (k) == 3.0f ? (g) : 0.0f; \
	} while (0)

/* Cell px, lane j: max (from first, or from 0 with relu) and winner k, ties to the first. */
#define CELL_MAX(a, bb, e, f, start, m, k) \
	float		m = (start), \
				k = 0.0f; \
	k = (bb) > m ? 1.0f : k; \
	m = (bb) > m ? (bb) : m; \
	k = (e) > m ? 2.0f : k; \
	m = (e) > m ? (e) : m; \
	k = (f) > m ? 3.0f : k; \
	m = (f) > m ? (f) : m

static inline __attribute__((always_inline)) void
gap_b(const phase *ph, const is_layer *l, int lo, int hi, const int b)
{
	const is_train *t = ph->t;
	const train_view *v = &t->view[ph->layer];
	const int	hw = v->h * v->w;

	for (int n = lo; n < hi; n++)
		for (int cb = 0; cb < train_blocks(v); cb++)
		{
			int			nj = l->in_c - cb * b < b ? l->in_c - cb * b : b;
			float	   *vec = (ph->dx ? (float *) ph->dy : t->act[ph->layer + 1]) +
				(size_t) n * l->in_c + cb * b;

			if (ph->dx)
			{
				float		g[MAXB] = {0};

				for (int j = 0; j < nj; j++)
					g[j] = vec[j] / hw;
				for (int y = 0; y < v->h; y++)
				{
					float	   *d = train_row(v, ph->dx, n, cb, y);

					for (size_t px = 0; px < (size_t) v->w; px++)
#pragma omp simd
						for (int j = 0; j < b; j++)
							d[px * b + j] = g[j];
				}
			}
			else
			{
				double		d1[MAXB] = {0};

				for (int y = 0; y < v->h; y++)
				{
					const float *x = train_row(v, t->act[ph->layer], n, cb, y);
					float		s[MAXB] = {0};

					for (size_t px = 0; px < (size_t) v->w; px++)
#pragma omp simd
						for (int j = 0; j < b; j++)
							s[j] += x[px * b + j];
					for (int j = 0; j < b; j++)
						d1[j] += s[j];
				}
				for (int j = 0; j < nj; j++)
					vec[j] = (float) (d1[j] / hw);
			}
		}
}

/* Global average pooling: a feature map to a vector of its channel means. */
IS_SIMD_CLONES void
train_gap(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	BY_BLOCK(ph->t->view[ph->layer].b, gap_b(ph, l, lo, hi, B_));
}

/* The four batch-norm outputs of a cell (lane j). */
#define CELL_BN(xa, xb, xe, xf, p, j, a, bb, e, f) \
	float		a = (xa) * (p).scale[j] + (p).shift[j], \
				bb = (xb) * (p).scale[j] + (p).shift[j], \
				e = (xe) * (p).scale[j] + (p).shift[j], \
				f = (xf) * (p).scale[j] + (p).shift[j]

/*
 * Batch-norm backward (APPLY) at the elements floor pooling drops (the last
 * column and row when odd): they get no routed gradient, only the mean terms.
 */
static inline __attribute__((always_inline)) void
apply_dropped(const train_view *v, float *x, int cb, const apply_lanes *q, const int b)
{
	for (int y = 0; y < v->h; y++)
	{
		float	   *r = train_row(v, x, 0, cb, y);
		size_t		from = (v->h & 1) && y == v->h - 1 ? 0 : (v->w & 1) ? (size_t) v->w - 1 : (size_t) v->w;

		for (size_t px = from; px < (size_t) v->w; px++)
#pragma omp simd
			for (int j = 0; j < b; j++)
				r[px * b + j] = BN_BACK(0.0f, r[px * b + j], *q, j);
	}
}

typedef struct cells_io
{
	const train_view *vi, *vo;	/* the cells' input and the pooled layout */
	float	   *x;				/* input image (written by CELLS_APPLY) */
	float	   *out;			/* CELLS_FWD: pooled image */
	const float *g;				/* backward: pooled gradient image */
	float	   *d;				/* CELLS_ROUTE: gradient image */
	double	   *part;			/* CELLS_SUMS: sums added here */
	const double *sums;			/* CELLS_APPLY: the batch's reduced sums */
	double		inv_m;			/* CELLS_APPLY: 1 / elements per channel */
} cells_io;

/*
 * The 2x2 cells of one image: of the fused block (bn = 1: batch-norm lanes,
 * ReLU) or of a plain max-pool (bn = 0: scale 1, shift 0, no ReLU), in one of
 * the modes above.
 */
static inline __attribute__((always_inline)) void
cells_image(const is_layer *l, const layer_state *ls, const cells_io *io, const int b,
			const int bn, const int mode)
{
	const train_view *vi = io->vi,
			   *vo = io->vo;

	for (int cb = 0; cb < train_blocks(vi); cb++)
	{
		apply_lanes q;
		double		d1[MAXB] = {0},
					d2[MAXB] = {0};

		if (mode == CELLS_APPLY)
			get_apply_lanes(l, ls, cb, b, io->sums, io->inv_m, &q);
		else if (bn)
			get_lanes(l, ls, cb, b, &q.p);
		else
			for (int j = 0; j < MAXB; j++)
				q.p.scale[j] = 1.0f, q.p.shift[j] = q.p.mean[j] = q.p.invstd[j] = 0.0f;
		for (int oy = 0; oy < vo->h; oy++)
		{
			float	   *r0 = train_row(vi, io->x, 0, cb, 2 * oy);
			float	   *r1 = train_row(vi, io->x, 0, cb, 2 * oy + 1);
			float		s1[MAXB] = {0},
						s2[MAXB] = {0};

			if (mode == CELLS_FWD)
			{
				float	   *o = train_row(vo, io->out, 0, cb, oy);

				for (size_t px = 0; px < (size_t) vo->w; px++)
#pragma omp simd
					for (int j = 0; j < b; j++)
					{
						CELL(r0, r1, px, j, b, xa, xb, xe, xf);
						CELL_BN(xa, xb, xe, xf, q.p, j, a, bb, e, f);
						CELL_MAX(a, bb, e, f, bn ? (a > 0.0f ? a : 0.0f) : a, m, k);

						(void) k;
						o[px * b + j] = m;
					}
				continue;
			}
			{
				const float *g = train_row(vo, (float *) io->g, 0, cb, oy);
				float	   *d0 = mode == CELLS_ROUTE ? train_row(vi, io->d, 0, cb, 2 * oy) : r0;
				float	   *d1r = mode == CELLS_ROUTE ? train_row(vi, io->d, 0, cb, 2 * oy + 1) : r1;

				for (size_t px = 0; px < (size_t) vo->w; px++)
#pragma omp simd
					for (int j = 0; j < b; j++)
					{
						CELL(r0, r1, px, j, b, xa, xb, xe, xf);
						CELL_BN(xa, xb, xe, xf, q.p, j, a, bb, e, f);
						CELL_MAX(a, bb, e, f, bn ? (a > 0.0f ? a : 0.0f) : a, m, k);
						{
							/* the ReLU passes the gradient where the winner was positive */
							float		gg = g[px * b + j],
										gv = !bn || m > 0.0f ? gg : 0.0f,
										xw = xa;

							xw = k == 1.0f ? xb : xw;
							xw = k == 2.0f ? xe : xw;
							xw = k == 3.0f ? xf : xw;
							if (mode == CELLS_ROUTE)
								ROUTE(d0, d1r, px, j, b, k, gv);
							if (mode == CELLS_APPLY)
							{
								d0[2 * px * b + j] = BN_BACK(k == 0.0f ? gv : 0.0f, xa, q, j);
								d0[(2 * px + 1) * b + j] = BN_BACK(k == 1.0f ? gv : 0.0f, xb, q, j);
								d1r[2 * px * b + j] = BN_BACK(k == 2.0f ? gv : 0.0f, xe, q, j);
								d1r[(2 * px + 1) * b + j] = BN_BACK(k == 3.0f ? gv : 0.0f, xf, q, j);
							}
							s1[j] += gv;
							s2[j] += gv * ((xw - q.p.mean[j]) * q.p.invstd[j]);
						}
					}
			}
			for (int j = 0; j < b; j++)
			{
				d1[j] += s1[j];
				d2[j] += s2[j];
			}
		}
		if (mode == CELLS_ROUTE)
			clear_dropped(vi, io->d, 0, cb);
		if (mode == CELLS_APPLY)
			apply_dropped(vi, io->x, cb, &q, b);
		if (bn && mode == CELLS_SUMS)
			add_lanes(io->part, cb, b, l->in_c, d1, d2);
	}
}

/* The max-pool cells of the phase's images, forward or CELLS_ROUTE. */
static inline __attribute__((always_inline)) void
pool_phase(const phase *ph, const is_layer *l, int lo, int hi, const int b)
{
	const is_train *t = ph->t;
	cells_io	io = {.vi = &t->view[ph->layer], .vo = &t->view[ph->layer + 1]};

	for (int n = lo; n < hi; n++)
	{
		io.x = t->act[ph->layer] + n * io.vi->image;
		if (!ph->dx)
		{
			io.out = t->act[ph->layer + 1] + n * io.vo->image;
			cells_image(l, &t->ls[ph->layer], &io, b, 0, CELLS_FWD);
			continue;
		}
		io.g = ph->dy + n * io.vo->image;
		io.d = ph->dx + n * io.vi->image;
		cells_image(l, &t->ls[ph->layer], &io, b, 0, CELLS_ROUTE);
	}
}

/* 2x2 max-pool, floor. */
IS_SIMD_CLONES void
train_pool(const phase *ph, const is_layer *l, int id, int lo, int hi)
{
	BY_BLOCK(ph->t->view[ph->layer].b, pool_phase(ph, l, lo, hi, B_));
}

IS_SIMD_CLONES void
train_block_image(const is_train *t, int layer, int mode, float *x, float *out,
				  const float *g, double *part)
{
	const is_layer *l = &t->net->layers[layer];
	const train_view *v = &t->view[layer];
	cells_io	io = {
		.vi = v, .vo = &t->view[layer + 3], .x = x, .out = out, .g = g, .part = part,
		.sums = t->part, .inv_m = 1.0 / ((double) t->n * v->h * v->w),
	};

	if (mode == CELLS_FWD)
		BY_BLOCK(v->b, cells_image(l, &t->ls[layer], &io, B_, 1, CELLS_FWD));
	else if (mode == CELLS_SUMS)
		BY_BLOCK(v->b, cells_image(l, &t->ls[layer], &io, B_, 1, CELLS_SUMS));
	else
		BY_BLOCK(v->b, cells_image(l, &t->ls[layer], &io, B_, 1, CELLS_APPLY));
}
