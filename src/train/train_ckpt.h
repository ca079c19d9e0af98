/*
 * Training checkpoints: everything needed to continue a run exactly where it
 * stopped -- parameters (with batch-norm running statistics), Adam's moments
 * and step count, the epoch reached and the sampler's random state.
 *
 * Binary, little-endian as the machine writes it (a checkpoint is a scratch
 * file of one run, not an exchange format: models are saved with model.h):
 * magic "ISCKPT01", a hash of the layer table, input shape and `frozen`,
 * n_floats, epoch, Adam step, RNG state, then params, m and v (n_floats
 * each).
 * Written to a temporary file and renamed, so a crash keeps the last one.
 */
#ifndef INSTSIM_TRAIN_CKPT_H
#define INSTSIM_TRAIN_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "adam.h"
#include "nn.h"
#include "rng.h"

/*
 * frozen: a fingerprint of what else the trained layers depend on (the
 * frozen trunk they are trained behind, frozen_trunk.h), 0 for nothing, so a
 * run resumed behind another trunk is refused.
 */
int			is_ckpt_save(const char *path, const is_net *net, uint64_t frozen, const is_adam *adam,
						 int epoch, const is_rng *rng, char *err, size_t errlen);

/*
 * net and adam must be initialised for the same layer table, and frozen be
 * the saved one (checked); the parameters, moments, *epoch and *rng are
 * replaced.  0 or -1 with err.
 */
int			is_ckpt_load(const char *path, is_net *net, uint64_t frozen, is_adam *adam,
						 int *epoch, is_rng *rng, char *err, size_t errlen);

#endif
