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
 * 0 when n_segs (segments per track) allows triplets: at least two tracks
 * and at least two segments in every track; else -1 with a message.
 */
int			is_triplet_check(const int *n_segs, int n_tracks, char *err, size_t errlen);

/* A positive (another segment of the anchor's track) and a negative. */
void		is_triplet_draw(is_rng *rng, const int *n_segs, int n_tracks,
							is_seg_ref anchor, is_seg_ref *pos, is_seg_ref *neg);

#endif
