/*
 * Distillation (issue #14): a model that hears the mix is pulled towards
 * what the instrument's stem model (the teacher, a shipped model) says about
 * the same segment's stem, so that it inherits the stem model's notion of
 * similarity instead of learning one of its own from track identity alone.
 *
 *   L_d = weight * mean over the rows r that have a target of
 *         (1 - cos(e_r, t_r))
 *
 * e_r the student's embedding of row r, t_r the teacher's.  It is added to
 * the triplet loss (train_step.h); rows without a target (a segment whose
 * stem is not known) do not count.
 */
#ifndef INSTSIM_DISTILL_H
#define INSTSIM_DISTILL_H

/*
 * L_d over rows x dim embeddings emb and targets teacher (same layout);
 * has[r] != 0 marks the rows with a target (NULL: every row).  Adds dL_d/demb
 * into grad (rows x dim).  A row whose embedding or target is all zeros counts
 * with distance 1 and no gradient.  Returns L_d (0 when no row has a target).
 */
double		is_distill_loss(const float *emb, const float *teacher, const unsigned char *has,
							int rows, int dim, float weight, float *grad);

#endif
