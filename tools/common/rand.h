/*
 * The corpus tool's own PRNG (xoshiro256** seeded by splitmix64): the same
 * seed gives the same songs on every machine and libc, which rand() and
 * random() do not promise.  Small and inline: the generator draws a lot.
 */
#ifndef INSTSIM_RAND_H
#define INSTSIM_RAND_H

#include <stdint.h>

typedef struct rand_state
{
	uint64_t	s[4];
} rand_state;

static inline uint64_t
rand_splitmix(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void
rand_seed(rand_state *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = rand_splitmix(&seed);
}

static inline uint64_t
rand_next(rand_state *r)
{
	uint64_t   *s = r->s;
	uint64_t	x = s[1] * 5;
	uint64_t	result = ((x << 7) | (x >> 57)) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return result;
}

/* Uniform in [0, n), n >= 1 (Lemire's multiply-shift; bias < 2^-32, fine here). */
static inline uint32_t
rand_below(rand_state *r, uint32_t n)
{
	return (uint32_t) (((rand_next(r) >> 32) * (uint64_t) n) >> 32);
}

/* Uniform in [0, 1). */
static inline double
rand_unit(rand_state *r)
{
	return (double) (rand_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [lo, hi]. */
static inline int
rand_range(rand_state *r, int lo, int hi)
{
	return lo + (int) rand_below(r, (uint32_t) (hi - lo + 1));
}

/* True with probability p. */
static inline int
rand_chance(rand_state *r, double p)
{
	return rand_unit(r) < p;
}

#endif
