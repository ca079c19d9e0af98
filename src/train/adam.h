/*
 * Adam as torch.optim.Adam (not AdamW): with weight decay wd, the gradient
 * becomes g + wd * p before the moments are updated.
 *
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * The state covers a flat parameter vector; updates are applied to ranges of
 * it so that buffers that are not trained (batch-norm running statistics)
 * are left alone.
 */
#ifndef INSTSIM_ADAM_H
#define INSTSIM_ADAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct is_adam
{
	float		lr, beta1, beta2, eps, weight_decay;
	int64_t		step;			/* steps taken (t) */
	size_t		n;
	float	   *m, *v;			/* first and second moments, n floats each */
} is_adam;

/* Zeroed moments for n parameters, torch's defaults but lr.  0 or -1. */
int			is_adam_init(is_adam *a, size_t n, float lr, char *err, size_t errlen);
void		is_adam_free(is_adam *a);

/* Starts a step: advances t (call once per step, before the updates). */
void		is_adam_begin(is_adam *a);

/* Updates params[off, off + count) from grad[off, off + count). */
void		is_adam_update(is_adam *a, float *params, const float *grad,
						   size_t off, size_t count);

/*
 * Learning-rate schedules.  Cosine decays from the base rate at the first
 * step to near 0 at the last (half a cosine, no restarts: Loshchilov and
 * Hutter's SGDR): a fixed-length run then ends on small steps, settled,
 * rather than on whatever the last full-size steps left.
 */
typedef enum is_lr_schedule
{
	IS_LR_CONSTANT,
	IS_LR_COSINE
} is_lr_schedule;

/* "constant" or "cosine"; 0, or -1 for anything else. */
int			is_lr_schedule_parse(const char *s, is_lr_schedule *out);

/* The rate for step (0-based) of total steps. */
float		is_lr_at(is_lr_schedule schedule, float base, int64_t step, int64_t total);

#endif
