/*
 * Song-generation draws over the core's seeded PRNG (src/core/rng.h), so the
 * same seed gives the same songs on every machine and libc.  rand_below keeps
 * its own 32-bit multiply-shift rather than is_rng_below: every generated
 * corpus is defined by these exact draws, and changing them would change the
 * songs that a documented seed produces.
 */
#ifndef INSTSIM_RAND_H
#define INSTSIM_RAND_H

#include <stdint.h>

#include "rng.h"

/* Uniform in [0, n), n >= 1 (Lemire's multiply-shift; bias < 2^-32, fine here). */
static inline uint32_t
rand_below(is_rng *r, uint32_t n)
{
	return (uint32_t) (((is_rng_next(r) >> 32) * (uint64_t) n) >> 32);
}

/* Uniform integer in [lo, hi]. */
static inline int
rand_range(is_rng *r, int lo, int hi)
{
	return lo + (int) rand_below(r, (uint32_t) (hi - lo + 1));
}

/* True with probability p. */
static inline int
rand_chance(is_rng *r, double p)
{
	return is_rng_unit(r) < p;
}

#endif
