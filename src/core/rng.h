/*
 * Seeded pseudo-random numbers for training (xoshiro256** seeded by
 * splitmix64): the same seed gives the same initialisation, triplets and
 * shuffles on every machine, which libc's rand() does not promise.
 */
#ifndef INSTSIM_RNG_H
#define INSTSIM_RNG_H

#include <stdint.h>

typedef struct is_rng
{
	uint64_t	s[4];
} is_rng;

static inline uint64_t
is_rng_splitmix(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void
is_rng_seed(is_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = is_rng_splitmix(&seed);
}

static inline uint64_t
is_rng_next(is_rng *r)
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

/* Uniform in [0, n) for n >= 1 (the bias of the multiply-shift is < n / 2^64). */
static inline int
is_rng_below(is_rng *r, int n)
{
	return (int) (((unsigned __int128) is_rng_next(r) * (uint64_t) n) >> 64);
}

/* Uniform in [0, 1). */
static inline double
is_rng_unit(is_rng *r)
{
	return (double) (is_rng_next(r) >> 11) * 0x1.0p-53;
}

static inline void
is_rng_shuffle(is_rng *r, int *a, int n)
{
	for (int i = n - 1; i > 0; i--)
	{
		int			j = is_rng_below(r, i + 1);
		int			t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

#endif
