/*
 * A synthetic model, so tests need no training run: the default architecture
 * (README.md: 4 x [conv3x3, batchnorm, relu, maxpool2] with 16-32-64-128
 * channels, gap, linear 128 -> 128, l2norm) with weights drawn from a seeded
 * generator and non-trivial batch-norm statistics, so that folding is
 * exercised.  The same seed gives the same bytes on every machine; the tests
 * and tools/makemodel.c use it.
 */
#ifndef INSTSIM_NN_SYNTH_H
#define INSTSIM_NN_SYNTH_H

#include <stdint.h>

#include "model.h"

/* Fills m (instrument, front end fe, network, parameters).  0 or -1. */
int			is_model_synth(is_model *m, const char *instrument, const is_frontend *fe,
						   uint64_t seed, char *err, size_t errlen);

/* Fills the parameters of an initialised net from seed (He-uniform weights). */
void		is_net_synth_params(is_net *net, uint64_t seed);

#endif
