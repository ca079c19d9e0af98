/*
 * A frozen trunk (issue #14): a network trained on top of the first conv
 * blocks of another model, which stay exactly as they are.  The model
 * written is those blocks followed by the trained layers, so the server,
 * embedding it together with the trunk's own model in one call, computes the
 * common blocks once (is_infer_shared_prefix finds them by their folded
 * parameters): mix-input models on the mix model's first blocks cost only
 * their own later blocks.
 *
 * The trunk runs in an inference plan, as the server runs it (batch-norm on
 * its running statistics, the same kernels), so the trained layers learn on
 * the activations they will be given.
 */
#ifndef INSTSIM_FROZEN_TRUNK_H
#define INSTSIM_FROZEN_TRUNK_H

#include <stddef.h>

#include "conv.h"
#include "model.h"
#include "nn.h"

typedef struct is_trunk
{
	is_model	model;			/* the model whose first blocks are the trunk */
	int			blocks;			/* conv blocks in the trunk */
	int			n_layers;		/* its layers, model.net.layers[0 .. n_layers) */
	is_infer   *plan;
	is_act		act;			/* one input's output of the trunk (c x h x w) in the plan's layout */
	float	   *buf;			/* a plan batch of outputs in that layout */
} is_trunk;

/*
 * Loads the model at path and plans its first `blocks` conv blocks (at
 * least one, and the model must go on with a conv block after them).  0, or
 * -1 with a message (t is then safe to close).
 */
int			is_trunk_open(is_trunk *t, const char *path, int blocks, int threads,
						  char *err, size_t errlen);
void		is_trunk_close(is_trunk *t);

/*
 * n inputs of the model's input shape through the trunk into n dense
 * act.c x act.h x act.w images (NCHW, the trainer's input).  0, or -1 with a message.
 */
int			is_trunk_run(is_trunk *t, const float *in, int n, float *out, char *err, size_t errlen);

/*
 * whole = the trunk's layers, then rest's (whose input must be the trunk's
 * output), with both parameters copied: the model to save.  0 or -1.
 */
int			is_trunk_join(const is_trunk *t, const is_net *rest, is_net *whole, char *err, size_t errlen);

#endif
