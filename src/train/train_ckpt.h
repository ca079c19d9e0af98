/*
 * Training checkpoints: everything needed to continue a run exactly where it
 * stopped -- parameters (with batch-norm running statistics), Adam's moments
 * and step count, the epoch reached, the sampler's random state and order, and
 * mining's bank.
 *
 * Binary, little-endian as the machine writes it (a checkpoint is a scratch
 * file of one run, not an exchange format: models are saved with model.h):
 * magic "ISCKPT02", a hash of the layer table, input shape and `frozen`,
 * n_floats, epoch, Adam step, RNG state, the number of segments, then
 * params, m and v (n_floats each) and the segments' order; then, when the
 * run mines a bank (triplet.h), "ISBANK01", its cap, n, next and dim (int32)
 * and its rows and labels.
 * Written to a temporary file and renamed, so a crash keeps the last one.
 */
#ifndef INSTSIM_TRAIN_CKPT_H
#define INSTSIM_TRAIN_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "adam.h"
#include "nn.h"
#include "rng.h"
#include "triplet.h"

/* The state of a run besides its network's parameters. */
typedef struct is_ckpt
{
	/*
	 * a fingerprint of what else the trained layers depend on (the frozen
	 * trunk they are trained behind, frozen_trunk.h), 0 for nothing, so a run
	 * resumed behind another trunk is refused
	 */
	uint64_t	frozen;
	is_adam    *adam;
	is_bank    *bank;			/* the run's mining bank (NULL or cap 0: none) */
	/*
	 * The sampler's order of the training segments, n_order of them (NULL:
	 * none).  Each epoch shuffles the order the last one left, so without it
	 * a resumed run would draw other batches.
	 */
	is_seg_ref *order;
	int			n_order;
	int			epoch;
	is_rng	   *rng;
} is_ckpt;

int			is_ckpt_save(const char *path, const is_net *net, const is_ckpt *c, char *err, size_t errlen);

/*
 * net, c->adam, c->bank and c->order must be set up for the same layer table,
 * bank size and number of segments, and c->frozen be the saved one (all
 * checked); the parameters, moments, bank, order, epoch and rng state are
 * replaced.  0 or -1 with err.
 */
int			is_ckpt_load(const char *path, is_net *net, is_ckpt *c, char *err, size_t errlen);

#endif
