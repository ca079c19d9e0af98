/*
 * Which model files instsim-eval evaluates.  The trainer writes one file per
 * instrument and seed, and the evaluator finds them by name:
 *
 *   <instrument>-seed<S>.safetensors   one of N models trained with seed S
 *   <instrument>.safetensors           a single model (e.g. the shipped ones
 *                                      in models/), counted as seed -1
 *
 * with <instrument> followed by "_mix" for a model that hears the mix
 * (input kind mix, issue #14): drums_mix-seed2.safetensors, bass_mix.safetensors.
 *
 * --models is a directory holding such files, or a comma-separated list of
 * them (the file names still tell instrument and seed).
 */
#ifndef INSTSIM_EVAL_MODELS_H
#define INSTSIM_EVAL_MODELS_H

#include <stddef.h>

#include "model.h"
#include "slakh.h"

#define EVAL_PATH_MAX 4096

typedef struct eval_model
{
	char		path[EVAL_PATH_MAX];
	int			seed;
} eval_model;

/*
 * The models of inst and input kind named by spec, sorted by seed, at most max_models
 * (<= 0: all).  *out is malloc'd (NULL when *n is 0).  0, or -1 with err.
 */
int			eval_find_models(const char *spec, slakh_inst inst, is_input_kind input,
							 int max_models, eval_model **out, int *n, char *err, size_t errlen);

/*
 * Parses a file name (no directory) of the pattern above: 0 with *inst,
 * *input and *seed set, or -1 if it is not a model file name.
 */
int			eval_parse_model_name(const char *base, slakh_inst *inst, is_input_kind *input,
								  int *seed);

#endif
