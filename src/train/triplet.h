/*
 * The paper's triplet loss and how triplets are drawn.
 *
 *   L = mean over triplets of max(0, d(a, p) - d(a, n) + margin),
 *   d(x, y) = 1 - x.y / (|x| |y|)   (cosine distance), margin 0.2.
 *
 * Anchor and positive are two different segments of one track, the negative
 * a segment of another track.  Embeddings of a batch are the rows of one
 * matrix and a triplet names three rows, so mining can re-point negatives at
 * any row of the batch.
 */
#ifndef INSTSIM_TRIPLET_H
#define INSTSIM_TRIPLET_H

#include <stddef.h>

#include "rng.h"

#define IS_TRIPLET_MARGIN 0.2f

typedef struct is_triplet
{
	int			a, p, n;		/* rows of the embedding matrix */
} is_triplet;

/* A segment of the training set. */
typedef struct is_seg_ref
{
	int			track, seg;
} is_seg_ref;

typedef enum is_mining
{
	IS_MINING_NONE = 0,			/* keep the sampled negative */
	IS_MINING_SEMIHARD,			/* closest negative farther than the positive */
	IS_MINING_HARD				/* closest negative */
} is_mining;

const char *is_mining_name(is_mining m);
int			is_mining_parse(const char *name, is_mining *m);

/*
 * Mean loss over n triplets of the rows of emb (rows x dim).  grad (rows x
 * dim) receives dL/demb; rows no triplet uses get zeros.  *active (if not
 * NULL) counts triplets with a positive hinge.
 */
double		is_triplet_loss(const float *emb, int rows, int dim,
							const is_triplet *t, int n, float margin,
							float *grad, int *active);

/*
 * Re-points each triplet's negative at another row of the batch whose label
 * (track) differs from the anchor's: IS_MINING_HARD takes the closest such
 * row, IS_MINING_SEMIHARD the closest one farther than the positive (the
 * sampled negative stays when there is none).
 */
void		is_triplet_mine(const float *emb, int rows, int dim, const int *label,
							is_triplet *t, int n, is_mining mode);

/*
 * A bank of earlier batches' embeddings for mining (a cross-batch memory):
 * the last cap rows pushed, each of unit length, with their labels; a ring,
 * next the oldest once full.  A batch of 64 triplets holds about 190 tracks
 * of a few hundred, seldom the few whose instrument sounds most like the
 * anchor's; a bank holds thousands of rows, embedded by the network of a few
 * steps before, close enough to pick negatives by (the rows train nothing
 * themselves: a negative taken from the bank trains the anchor only).
 */
typedef struct is_bank
{
	int			cap, n, next, dim, max_anchors;
	float	   *rows;			/* cap x dim */
	int		   *label;			/* cap */
	float	   *scratch;		/* max_anchors x (dim + cap) */
} is_bank;

/* For cap rows of dim and up to max_anchors triplets a call.  0 or -1. */
int			is_bank_init(is_bank *b, int cap, int dim, int max_anchors, char *err, size_t errlen);
void		is_bank_free(is_bank *b);

/* rows rows of emb (rows x dim) with their labels in, the oldest out. */
void		is_bank_push(is_bank *b, const float *emb, const int *label, int rows);

/*
 * After is_triplet_mine, the same choice widened to the bank: a bank row
 * that the mode prefers to the triplet's negative becomes it, as row
 * rows + j of the loss's matrix (the bank's rows follow the batch's there).
 */
void		is_triplet_mine_bank(const float *emb, int rows, int dim, const int *label,
								 is_triplet *t, int n, is_mining mode, is_bank *b);

/*
 * 0 when n_segs (segments per track) allows triplets: at least two tracks
 * and at least two segments in every track; else -1 with a message.
 */
int			is_triplet_check(const int *n_segs, int n_tracks, char *err, size_t errlen);

/* A positive (another segment of the anchor's track) and a negative. */
void		is_triplet_draw(is_rng *rng, const int *n_segs, int n_tracks,
							is_seg_ref anchor, is_seg_ref *pos, is_seg_ref *neg);

#endif
