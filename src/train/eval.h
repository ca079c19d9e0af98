/*
 * The paper's evaluation measures (Tables II and III), shared by the
 * instsim-eval tool and the tests:
 *   - music-ID by kNN: each segment's track is predicted by a majority vote of
 *     its k nearest other segments (cosine distance);
 *   - track centroids and the centroid cosine-distance matrix;
 *   - Pearson correlation and Spearman rank correlation (average ranks for
 *     ties) to compare the distance matrices of two instruments.
 * Plain C; the functions that need scratch memory allocate it themselves.
 */
#ifndef INSTSIM_EVAL_H
#define INSTSIM_EVAL_H

#include <stddef.h>

/*
 * Majority vote over the labels of the k nearest neighbours, given nearest
 * first.  Ties are broken in favour of the label whose best neighbour is
 * nearest (it appears first in the list), which makes the vote deterministic
 * and, for k = 1, equal to the nearest neighbour.
 */
int			is_knn_vote(const int *neighbour_labels, int k);

/*
 * For each of n vectors (row-major n x dim) finds its k nearest other vectors
 * by cosine distance (exact, brute force) and writes their indices, nearest
 * first, into nn (n x k).  Equal distances are ordered by index.  Vectors need
 * not be normalised; a zero vector is farthest from everything.  Returns 0, or
 * -1 if k >= n or memory runs out.
 */
int			is_knn_exact(const float *x, int n, int dim, int k, int *nn);

/*
 * Music-ID accuracy: the share of the n segments whose k-NN vote (neighbour
 * indices in nn, n x k) equals their own label.  pred (optional, n ints)
 * receives each prediction.
 */
double		is_knn_accuracy(const int *labels, const int *nn, int n, int k, int *pred);

/*
 * Centroids: for each of n_tracks labels, the L2-normalised mean of its
 * segments (out: n_tracks x dim).  A track without segments gets a zero row.
 */
void		is_track_centroids(const float *x, const int *labels, int n, int dim,
							   int n_tracks, float *out);

/* Cosine-distance matrix of n row vectors (out: n x n, symmetric, zero diagonal). */
void		is_distance_matrix(const float *x, int n, int dim, double *out);

/* Pearson correlation of two series; NaN if either is constant or n < 2. */
double		is_pearson(const double *a, const double *b, int n);

/* Ranks 1..n, ties given their average rank.  Returns 0, or -1 without memory. */
int			is_rank(const double *x, int n, double *ranks);

/* Spearman rank correlation (Pearson of average ranks); NaN as is_pearson. */
double		is_spearman(const double *a, const double *b, int n);

/*
 * Table III for one pair of n x n distance matrices: Pearson correlation of
 * their upper triangles (diagonal excluded), and the mean over tracks of the
 * Spearman correlation of each track's distances to the n - 1 others.
 * Returns 0, or -1 if n < 3 or memory runs out.
 */
int			is_matrix_correlation(const double *d1, const double *d2, int n,
								  double *pearson, double *mean_spearman);

#endif
