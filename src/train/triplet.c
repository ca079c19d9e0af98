#include "triplet.h"

#include "distance.h"
#include "names.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mining_names[] = {"none", "semihard", "hard"};

const char *
is_mining_name(is_mining m)
{
	return is_name_of(mining_names, IS_N_NAMES(mining_names), (int) m);
}

int
is_mining_parse(const char *name, is_mining *m)
{
	int			i = is_name_index(mining_names, IS_N_NAMES(mining_names), name);

	if (i >= 0)
		*m = (is_mining) i;
	return i < 0 ? -1 : 0;
}

/* In double: the loss is a difference of distances, so rounding matters. */
static double
cos_dist(const float *x, const float *y, int dim)
{
	double		xy,
				xx,
				yy;

	is_dot_norms_double(x, y, dim, &xy, &xx, &yy);
	if (xx <= 0.0 || yy <= 0.0)
		return 1.0;
	return 1.0 - xy / sqrt(xx * yy);
}

/*
 * Adds s * d(cos(x, y))/dx to gx and s * d(cos(x, y))/dy to gy:
 * dcos/dx = y / (|x||y|) - cos x / |x|^2.
 */
static void
cosine_grad(const float *x, const float *y, int dim, double s, float *gx, float *gy)
{
	double		xy,
				xx,
				yy;

	is_dot_norms_double(x, y, dim, &xy, &xx, &yy);
	if (xx <= 0.0 || yy <= 0.0)
		return;
	{
		double		inv = 1.0 / sqrt(xx * yy);
		double		cos = xy * inv;

		for (int i = 0; i < dim; i++)
		{
			gx[i] += (float) (s * (y[i] * inv - cos * x[i] / xx));
			gy[i] += (float) (s * (x[i] * inv - cos * y[i] / yy));
		}
	}
}

double
is_triplet_loss(const float *emb, int rows, int dim, const is_triplet *t, int n,
				float margin, float *grad, int *active)
{
	double		sum = 0.0;
	int			act = 0;

	memset(grad, 0, sizeof(float) * (size_t) rows * dim);
	for (int i = 0; i < n; i++)
	{
		const float *a = emb + (size_t) t[i].a * dim;
		const float *p = emb + (size_t) t[i].p * dim;
		const float *ng = emb + (size_t) t[i].n * dim;
		double		h = cos_dist(a, p, dim) - cos_dist(a, ng, dim) + margin;

		if (h <= 0.0)
			continue;
		sum += h;
		act++;
		/* d = 1 - cos: the hinge is -cos(a, p) + cos(a, n) + const */
		cosine_grad(a, p, dim, -1.0 / n, grad + (size_t) t[i].a * dim, grad + (size_t) t[i].p * dim);
		cosine_grad(a, ng, dim, 1.0 / n, grad + (size_t) t[i].a * dim, grad + (size_t) t[i].n * dim);
	}
	if (active)
		*active = act;
	return n > 0 ? sum / n : 0.0;
}

void
is_triplet_mine(const float *emb, int rows, int dim, const int *label,
				is_triplet *t, int n, is_mining mode)
{
	if (mode == IS_MINING_NONE)
		return;
	for (int i = 0; i < n; i++)
	{
		const float *a = emb + (size_t) t[i].a * dim;
		double		dap = cos_dist(a, emb + (size_t) t[i].p * dim, dim);
		double		best = INFINITY;
		int			pick = -1;

		for (int r = 0; r < rows; r++)
		{
			double		d;

			if (label[r] == label[t[i].a])
				continue;
			d = cos_dist(a, emb + (size_t) r * dim, dim);
			if (mode == IS_MINING_SEMIHARD && !(d > dap))
				continue;
			if (d < best)
			{
				best = d;
				pick = r;
			}
		}
		if (pick >= 0)
			t[i].n = pick;
	}
}

int
is_bank_init(is_bank *b, int cap, int dim, int max_anchors, char *err, size_t errlen)
{
	*b = (is_bank) {.cap = cap, .dim = dim, .max_anchors = max_anchors};
	if (cap < 1 || cap > (1 << 20) || dim < 1 || max_anchors < 1)
	{
		snprintf(err, errlen, "a mining bank of %d rows, want 1..%d", cap, 1 << 20);
		return -1;
	}
	b->rows = malloc(sizeof(float) * cap * dim);
	b->label = malloc(sizeof(int) * cap);
	b->scratch = malloc(sizeof(float) * max_anchors * ((size_t) dim + cap));
	if (!b->rows || !b->label || !b->scratch)
	{
		is_bank_free(b);
		snprintf(err, errlen, "out of memory for a mining bank of %d rows", cap);
		return -1;
	}
	return 0;
}

void
is_bank_free(is_bank *b)
{
	free(b->rows);
	free(b->label);
	free(b->scratch);
	*b = (is_bank) {0};
}

/* x / |x| into out (zeros for a zero row). */
static void
unit_row(const float *x, int dim, float *out)
{
	double		xx = 0.0;

	for (int k = 0; k < dim; k++)
		xx += (double) x[k] * x[k];
	for (int k = 0; k < dim; k++)
		out[k] = xx > 0.0 ? (float) (x[k] / sqrt(xx)) : 0.0f;
}

void
is_bank_push(is_bank *b, const float *emb, const int *label, int rows)
{
	for (int r = 0; r < rows; r++)
	{
		unit_row(emb + (size_t) r * b->dim, b->dim, b->rows + (size_t) b->next * b->dim);
		b->label[b->next] = label[r];
		b->next = (b->next + 1) % b->cap;
		if (b->n < b->cap)
			b->n++;
	}
}

void
is_triplet_mine_bank(const float *emb, int rows, int dim, const int *label,
					 is_triplet *t, int n, is_mining mode, is_bank *b)
{
	float	   *unit = b->scratch,
			   *sim = b->scratch + (size_t) b->max_anchors * dim;

	if (mode == IS_MINING_NONE || b->n < 1 || n < 1 || n > b->max_anchors || dim != b->dim)
		return;
	for (int i = 0; i < n; i++)
		unit_row(emb + (size_t) t[i].a * dim, dim, unit + (size_t) i * dim);
	/* one product for every anchor and bank row: the bank is large */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, b->n, dim, 1.0f, unit, dim,
				b->rows, dim, 0.0f, sim, b->n);
	for (int i = 0; i < n; i++)
	{
		const float *a = emb + (size_t) t[i].a * dim;
		double		dap = cos_dist(a, emb + (size_t) t[i].p * dim, dim),
					dcur = cos_dist(a, emb + (size_t) t[i].n * dim, dim),
					best = INFINITY;
		int			pick = -1;

		for (int j = 0; j < b->n; j++)
		{
			double		d = 1.0 - sim[(size_t) i * b->n + j];

			if (b->label[j] == label[t[i].a] || (mode == IS_MINING_SEMIHARD && !(d > dap)))
				continue;
			if (d < best)
			{
				best = d;
				pick = j;
			}
		}
		/* semi-hard: the batch's negative stays only when it is semi-hard and nearer */
		if (pick >= 0 && (best < dcur || (mode == IS_MINING_SEMIHARD && !(dcur > dap))))
			t[i].n = rows + pick;
	}
}

int
is_triplet_check(const int *n_segs, int n_tracks, char *err, size_t errlen)
{
	if (n_tracks < 2)
	{
		snprintf(err, errlen, "%d track(s): triplets need at least two tracks", n_tracks);
		return -1;
	}
	for (int k = 0; k < n_tracks; k++)
		if (n_segs[k] < 2)
		{
			snprintf(err, errlen, "track %d has %d segment(s): triplets need two per track",
					 k, n_segs[k]);
			return -1;
		}
	return 0;
}

void
is_triplet_draw(is_rng *rng, const int *n_segs, int n_tracks, is_seg_ref anchor,
				is_seg_ref *pos, is_seg_ref *neg)
{
	/* draw from the other n - 1 and skip over the excluded one */
	int			s = is_rng_below(rng, n_segs[anchor.track] - 1);
	int			k = is_rng_below(rng, n_tracks - 1);

	pos->track = anchor.track;
	pos->seg = s >= anchor.seg ? s + 1 : s;
	neg->track = k >= anchor.track ? k + 1 : k;
	neg->seg = is_rng_below(rng, n_segs[neg->track]);
}
