/*
 * One optimisation step of the paper's training: forward a batch of
 * triplets, optional negative mining within the batch, cosine triplet loss,
 * backward, Adam on the trained tensors.  The trainer tool and the tests share
 * it; all buffers are allocated by is_step_init, none per step.
 */
#ifndef INSTSIM_TRAIN_STEP_H
#define INSTSIM_TRAIN_STEP_H

#include <stddef.h>

#include "adam.h"
#include "nn.h"
#include "train_net.h"
#include "triplet.h"

#define IS_STEP_MAX_GROUPS 8

typedef struct is_step
{
	is_net	   *net;
	is_train   *train;
	is_adam		adam;
	int			max_triplets;
	float	   *grad;			/* n_floats */
	float	   *dout;			/* 3 * max_triplets x out_dim */
	is_triplet *trip;			/* max_triplets */
	float		margin;
	is_mining	mining;
	float		distill_weight;	/* of the distillation term (distill.h); 0: none */
	/*
	 * Heads: the embedding is groups slices of out_dim / groups, one per
	 * instrument of a model with a shared trunk (1: one embedding).  A
	 * triplet trains the slice of its group only; mining, the loss and
	 * distillation see that slice (cosine distances, so the slice needs no
	 * normalising of its own).  Set after is_step_init.
	 */
	int			groups;
	/* columns of the last linear layer's weight per head when it is block-diagonal, else 0 */
	int			block_in;
	/* the last step's triplet and distillation loss of each head */
	double		head_loss[IS_STEP_MAX_GROUPS], head_distill[IS_STEP_MAX_GROUPS];
	/* per group: the slice of its triplets' rows, gradients, labels, targets */
	float	   *sub_emb, *sub_grad, *sub_teacher;
	int		   *sub_label, *sub_triplet;
	unsigned char *sub_has;
	/* mining's bank of earlier batches' rows (is_step_set_bank; cap 0: none) */
	is_bank		bank;
	/* a teacher's feature map as a hint (is_step_set_hint; weight 0: none) */
	int			hint_block;
	float		hint_weight;
	size_t		hint_floats;	/* per row */
	float	   *hint_map, *hint_grad;	/* the batch's maps and their gradients */
	double		hint_loss;		/* the last step's */
} is_step;

/* What a teacher says of a batch's rows: its embedding, its feature map. */
typedef struct is_step_targets
{
	const float *emb;			/* out_dim / groups floats per row: its head's target */
	const float *map;			/* with a hint: hint_floats per row, else NULL */
	const unsigned char *has;	/* the rows with targets; NULL: all */
} is_step_targets;

/* For batches of up to max_triplets triplets (3 x as many inputs).  0 or -1. */
int			is_step_init(is_step *s, is_net *net, int max_triplets, int threads,
						 float lr, char *err, size_t errlen);
void		is_step_free(is_step *s);

/*
 * batch: 3n inputs, the n anchors, then the n positives, then the n
 * negatives; label: the track of each of the 3n rows (for mining).  Returns
 * the mean loss before the update; *active (if not NULL) counts the triplets
 * with a positive hinge.
 */
double		is_step_run(is_step *s, const float *batch, const int *label, int n,
						int *active);

/*
 * The same plus distillation when s->distill_weight > 0: teacher holds a
 * target embedding for each of the 3n rows, has_teacher (NULL: all) marks
 * the rows that have one.  Returns the total loss (triplet + distillation)
 * before the update; *distill (if not NULL) receives the distillation part.
 */
double		is_step_run_distill(is_step *s, const float *batch, const int *label, int n,
								const float *teacher, const unsigned char *has_teacher,
								double *distill, int *active);

/*
 * Mining also looks at the last `rows` rows of earlier batches (is_bank),
 * their embeddings as computed then.  One head (groups 1) and a mining mode;
 * set after them.  0 or -1.
 */
int			is_step_set_bank(is_step *s, int rows, char *err, size_t errlen);

/*
 * Distils a teacher's feature map too: the map that the net's first `block`
 * conv blocks write is pulled toward the target's map (is_step_targets.map)
 * with the embedding's loss (distill.h: weight x mean 1 - cosine, over the
 * flattened map), so that the student learns what the teacher's middle
 * layers see, not only where its embedding points.  One head.  0 or -1.
 */
int			is_step_set_hint(is_step *s, int block, float weight, char *err, size_t errlen);

/*
 * Makes the last linear layer block-diagonal over s->groups heads (set
 * groups first): head g's outputs read only the g-th share of its inputs,
 * so a last conv block of groups x C channels is C channels per head.  The
 * other weights are zeroed now and their gradients at every step.
 */
void		is_step_block_diagonal(is_step *s);

/*
 * The same for a model with s->groups heads: group[i] is triplet i's head
 * (NULL: all 0), labels are per triplet's head (its instrument's source
 * track), tg (NULL: none) the teacher's targets.  The loss is the mean over
 * all n triplets, plus the hint's (s->hint_loss) when set.
 */
double		is_step_run_groups(is_step *s, const float *batch, const int *label, const int *group,
							   int n, const is_step_targets *tg, double *distill, int *active);

#endif
