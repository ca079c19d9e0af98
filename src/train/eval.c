#include "eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "distance.h"

int
is_knn_vote(const int *neighbour_labels, int k)
{
	int			best = neighbour_labels[0];
	int			best_count = 0;

	/* O(k^2) is fine: k is 5 in the paper. Scanning in order of nearness and
	 * replacing only on a strictly larger count implements the tie rule. */
	for (int i = 0; i < k; i++)
	{
		int			count = 0;
		int			seen_before = 0;

		for (int j = 0; j < i; j++)
			if (neighbour_labels[j] == neighbour_labels[i])
				seen_before = 1;
		if (seen_before)
			continue;
		for (int j = i; j < k; j++)
			count += neighbour_labels[j] == neighbour_labels[i];
		if (count > best_count)
		{
			best = neighbour_labels[i];
			best_count = count;
		}
	}
	return best;
}

typedef struct scored
{
	double		dist;
	int			index;
} scored;

static int
scored_cmp(const void *pa, const void *pb)
{
	const scored *a = pa,
			   *b = pb;

	if (a->dist != b->dist)
		return a->dist < b->dist ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

/* Cosine distance with a zero vector counted as the farthest possible. */
static double
ranked_cosine(const float *a, const float *b, int dim)
{
	double		d = is_cosine_distance(a, b, dim);

	return isnan(d) ? INFINITY : d;
}

int
is_knn_exact(const float *x, int n, int dim, int k, int *nn)
{
	scored	   *row;

	if (k < 1 || k >= n)
		return -1;
	row = malloc(sizeof(scored) * n);
	if (!row)
		return -1;
	for (int i = 0; i < n; i++)
	{
		int			m = 0;

		for (int j = 0; j < n; j++)
		{
			if (j == i)
				continue;
			row[m].dist = ranked_cosine(x + (size_t) i * dim, x + (size_t) j * dim, dim);
			row[m].index = j;
			m++;
		}
		qsort(row, m, sizeof(scored), scored_cmp);
		for (int r = 0; r < k; r++)
			nn[(size_t) i * k + r] = row[r].index;
	}
	free(row);
	return 0;
}

double
is_knn_accuracy(const int *labels, const int *nn, int n, int k, int *pred)
{
	int			correct = 0;
	int			votes[64];
	int		   *v = k <= 64 ? votes : malloc(sizeof(int) * k);

	if (!v || n < 1)
		return NAN;
	for (int i = 0; i < n; i++)
	{
		int			p;

		for (int r = 0; r < k; r++)
			v[r] = labels[nn[(size_t) i * k + r]];
		p = is_knn_vote(v, k);
		if (pred)
			pred[i] = p;
		correct += p == labels[i];
	}
	if (v != votes)
		free(v);
	return (double) correct / n;
}

void
is_track_centroids(const float *x, const int *labels, int n, int dim, int n_tracks,
				   float *out)
{
	memset(out, 0, sizeof(float) * (size_t) n_tracks * dim);
	for (int i = 0; i < n; i++)
	{
		float	   *c = out + (size_t) labels[i] * dim;

		for (int d = 0; d < dim; d++)
			c[d] += x[(size_t) i * dim + d];
	}
	/* the mean's direction is the sum's: normalising the sum is enough */
	for (int t = 0; t < n_tracks; t++)
	{
		float	   *c = out + (size_t) t * dim;
		double		norm = sqrt(is_norm_squared(c, dim));

		for (int d = 0; d < dim && norm > 0; d++)
			c[d] = (float) (c[d] / norm);
	}
}

void
is_distance_matrix(const float *x, int n, int dim, double *out)
{
	for (int i = 0; i < n; i++)
	{
		out[(size_t) i * n + i] = 0.0;
		for (int j = i + 1; j < n; j++)
		{
			double		d = is_cosine_distance(x + (size_t) i * dim, x + (size_t) j * dim, dim);

			out[(size_t) i * n + j] = d;
			out[(size_t) j * n + i] = d;
		}
	}
}

double
is_pearson(const double *a, const double *b, int n)
{
	double		ma = 0,
				mb = 0,
				sab = 0,
				saa = 0,
				sbb = 0;

	if (n < 2)
		return NAN;
	for (int i = 0; i < n; i++)
	{
		ma += a[i];
		mb += b[i];
	}
	ma /= n;
	mb /= n;
	for (int i = 0; i < n; i++)
	{
		sab += (a[i] - ma) * (b[i] - mb);
		saa += (a[i] - ma) * (a[i] - ma);
		sbb += (b[i] - mb) * (b[i] - mb);
	}
	if (saa == 0 || sbb == 0)
		return NAN;
	return sab / sqrt(saa * sbb);
}

int
is_rank(const double *x, int n, double *ranks)
{
	scored	   *order = malloc(sizeof(scored) * (n > 0 ? n : 1));

	if (!order)
		return -1;
	for (int i = 0; i < n; i++)
	{
		order[i].dist = x[i];
		order[i].index = i;
	}
	qsort(order, n, sizeof(scored), scored_cmp);
	for (int i = 0; i < n;)
	{
		int			j = i;

		while (j + 1 < n && order[j + 1].dist == order[i].dist)
			j++;
		for (int t = i; t <= j; t++)
			ranks[order[t].index] = (i + j) / 2.0 + 1.0;
		i = j + 1;
	}
	free(order);
	return 0;
}

double
is_spearman(const double *a, const double *b, int n)
{
	double	   *ra = malloc(sizeof(double) * 2 * (n > 0 ? n : 1));
	double		r = NAN;

	if (ra && is_rank(a, n, ra) == 0 && is_rank(b, n, ra + n) == 0)
		r = is_pearson(ra, ra + n, n);
	free(ra);
	return r;
}

int
is_matrix_correlation(const double *d1, const double *d2, int n, double *pearson,
					  double *mean_spearman)
{
	size_t		m = (size_t) n * (n - 1) / 2;
	double	   *u1,
			   *u2,
			   *cols;
	size_t		k = 0;
	double		sum = 0;
	int			counted = 0;

	if (n < 3)
		return -1;
	u1 = malloc(sizeof(double) * m);
	u2 = malloc(sizeof(double) * m);
	cols = malloc(sizeof(double) * 2 * n);
	if (!u1 || !u2 || !cols)
	{
		free(u1);
		free(u2);
		free(cols);
		return -1;
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++, k++)
		{
			u1[k] = d1[(size_t) i * n + j];
			u2[k] = d2[(size_t) i * n + j];
		}
	*pearson = is_pearson(u1, u2, (int) m);

	for (int t = 0; t < n; t++)
	{
		double	   *c1 = cols,
				   *c2 = cols + n;
		int			c = 0;
		double		r;

		for (int j = 0; j < n; j++)
			if (j != t)
			{
				c1[c] = d1[(size_t) j * n + t];
				c2[c] = d2[(size_t) j * n + t];
				c++;
			}
		r = is_spearman(c1, c2, c);
		/* a track whose distances are all equal has no ranking to compare */
		if (!isnan(r))
		{
			sum += r;
			counted++;
		}
	}
	*mean_spearman = counted ? sum / counted : NAN;
	free(u1);
	free(u2);
	free(cols);
	return 0;
}
