/*
 * What a model costs and whether it computes: checks run when a model is
 * stored, so that a file that parses but would exhaust memory or time, or
 * whose weights overflow, is refused up front instead of failing (or holding
 * gigabytes) at first use.  The server takes the limits from its settings;
 * tools pass their own.
 */
#ifndef INSTSIM_MODEL_CHECK_H
#define INSTSIM_MODEL_CHECK_H

#include <stddef.h>

#include "model.h"

/* Defaults: every shipped model is far below both (docs/architecture.md). */
#define IS_MODEL_DEFAULT_MAX_ARENA_MB 256
#define IS_MODEL_DEFAULT_MAX_GFLOPS 10

typedef struct is_model_limits
{
	int			max_batch;		/* segments per pass of the caller's embedder */
	size_t		max_arena;		/* bytes of inference arena at max_batch */
	double		max_flops;		/* floating-point operations per segment */
} is_model_limits;

/*
 * Refuses a loaded model that exceeds the limits, whose front end the mel
 * stage cannot run (e.g. f_max above the Nyquist frequency), or whose network
 * gives a non-finite embedding for a probe: one deterministic segment of
 * synthetic audio (a chord over noise) through the whole pipeline.  Builds
 * and frees an embedder.  0; IS_MODEL_OVER_LIMIT when a limit is exceeded, or
 * -1 for any other defect, with a message in err.
 */
#define IS_MODEL_OVER_LIMIT (-2)

int			is_model_check(const is_model *m, const is_model_limits *lim,
						   char *err, size_t errlen);

#endif
