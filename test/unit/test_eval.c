/*
 * The evaluation measures against fixtures small enough to check by hand.
 */
#include <math.h>

#include "eval.h"
#include "tap.h"

static void
test_vote(void)
{
	int			a[] = {3, 1, 1, 2, 3};	/* 3 and 1 tie at two; 3 is nearest */
	int			b[] = {2, 1, 1, 1, 2};
	int			c[] = {4, 5, 6, 7, 8};
	int			d[] = {1, 2, 2, 1, 9};	/* 1 and 2 tie; 1 is nearest */

	tap_ok(is_knn_vote(a, 5) == 3, "vote: tie goes to the label seen nearest");
	tap_ok(is_knn_vote(b, 5) == 1, "vote: majority wins over nearest");
	tap_ok(is_knn_vote(c, 5) == 4, "vote: all distinct gives the nearest");
	tap_ok(is_knn_vote(d, 5) == 1, "vote: two-two tie");
	tap_ok(is_knn_vote(b, 1) == 2, "vote: k = 1 is the nearest neighbour");
}

static void
test_knn(void)
{
	/* two tight clusters on the unit circle, and one zero vector */
	float		x[] = {1, 0, 0.99f, 0.1f, 0.98f, -0.1f, 0, 1, 0.1f, 0.99f, 0, 0};
	int			labels[] = {0, 0, 0, 1, 1, 1};
	int			nn[6 * 2];
	int			pred[6];
	double		acc;

	tap_ok(is_knn_exact(x, 6, 2, 2, nn) == 0, "knn: runs");
	tap_ok(nn[0] == 1 && nn[1] == 2, "knn: nearest of point 0 are 1, 2");
	tap_ok(nn[6] == 4, "knn: nearest of point 3 is 4");
	tap_ok(nn[8] != 5 && nn[9] != 5, "knn: the zero vector is never a near neighbour");
	tap_ok(is_knn_exact(x, 6, 2, 6, nn) == -1, "knn: k must be below n");
	is_knn_exact(x, 6, 2, 2, nn);
	acc = is_knn_accuracy(labels, nn, 6, 2, pred);
	/* points 0-4 vote their own track; the zero vector (5) has nearest 0,1 by index */
	tap_near(acc, 5.0 / 6.0, 1e-12, "accuracy: 5 of 6");
	tap_ok(pred[5] == 0, "accuracy: prediction of the zero vector is the index-order tie");
}

static void
test_centroids(void)
{
	float		x[] = {1, 0, 0, 1, 3, 4, 0, 0};
	int			labels[] = {0, 0, 1, 0};
	float		c[3 * 2];
	double		d[9];

	is_track_centroids(x, labels, 4, 2, 3, c);
	tap_near(c[0], sqrt(0.5), 1e-6, "centroid 0 x");
	tap_near(c[1], sqrt(0.5), 1e-6, "centroid 0 y");
	tap_near(c[2], 0.6, 1e-6, "centroid 1 normalised x");
	tap_near(c[3], 0.8, 1e-6, "centroid 1 normalised y");
	tap_ok(c[4] == 0 && c[5] == 0, "a track without segments has a zero centroid");
	is_distance_matrix(c, 2, 2, d);
	tap_near(d[1], 1.0 - (0.6 + 0.8) * sqrt(0.5), 1e-6, "distance matrix entry");
	tap_ok(d[0] == 0 && d[3] == 0 && d[1] == d[2], "distance matrix is symmetric with zero diagonal");
}

static void
test_correlations(void)
{
	double		a[] = {1, 2, 3, 4, 5};
	double		b[] = {2, 4, 6, 8, 10};
	double		c[] = {5, 4, 3, 2, 1};
	double		e[] = {1, 3, 2, 5, 4};
	double		ties[] = {1, 2, 2, 3};
	double		ranks[4];
	double		f[] = {10, 20, 20, 30};
	double		g[] = {1, 1, 2, 2};
	double		k[] = {3, 3, 3, 3};

	tap_near(is_pearson(a, b, 5), 1.0, 1e-12, "pearson: linear is 1");
	tap_near(is_pearson(a, c, 5), -1.0, 1e-12, "pearson: reversed is -1");
	/* hand: sum dxdy = 8, sum dx^2 = sum dy^2 = 10 */
	tap_near(is_pearson(a, e, 5), 0.8, 1e-12, "pearson: hand-computed 0.8");
	tap_ok(isnan(is_pearson(a, k, 4)), "pearson: constant series is NaN");
	is_rank(ties, 4, ranks);
	tap_ok(ranks[0] == 1 && ranks[1] == 2.5 && ranks[2] == 2.5 && ranks[3] == 4,
		   "rank: ties get the average rank");
	tap_near(is_spearman(a, e, 5), 0.8, 1e-12, "spearman without ties");
	/* ranks f = 1,2.5,2.5,4; g = 1.5,1.5,3.5,3.5: sum dxdy = 3, sxx = 4.5, syy = 4 */
	tap_near(is_spearman(f, g, 4), 3.0 / sqrt(4.5 * 4.0), 1e-12, "spearman with ties in both");
	tap_near(is_spearman(a, b, 5), 1.0, 1e-12, "spearman: monotone is 1");
}

static void
test_matrix_correlation(void)
{
	/* 3 tracks; d2 = 2 * d1 (same ranking), d3 reverses the order */
	double		d1[] = {0, 1, 2, 1, 0, 3, 2, 3, 0};
	double		d2[] = {0, 2, 4, 2, 0, 6, 4, 6, 0};
	double		d3[] = {0, 3, 2, 3, 0, 1, 2, 1, 0};
	double		p,
				s;

	tap_ok(is_matrix_correlation(d1, d2, 3, &p, &s) == 0, "matrix correlation runs");
	tap_near(p, 1.0, 1e-12, "matrix pearson of scaled matrices is 1");
	tap_near(s, 1.0, 1e-12, "matrix spearman of scaled matrices is 1");
	is_matrix_correlation(d1, d3, 3, &p, &s);
	tap_near(p, -1.0, 1e-12, "matrix pearson of reversed upper triangle is -1");
	/* columns: t0 (1,2) vs (3,2): -1; t1 (1,3) vs (3,1): -1; t2 (2,3) vs (2,1): -1 */
	tap_near(s, -1.0, 1e-12, "matrix spearman per column, averaged");
	tap_ok(is_matrix_correlation(d1, d2, 2, &p, &s) == -1, "matrix correlation needs 3 tracks");
}

int
main(void)
{
	test_vote();
	test_knn();
	test_centroids();
	test_correlations();
	test_matrix_correlation();
	return tap_done();
}
