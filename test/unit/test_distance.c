/*
 * The distance kernels against a double-precision scalar reference, over
 * lengths that hit every vector-width remainder, for whichever SIMD variant the
 * loader picked on this CPU.
 */
#include <math.h>
#include <stdint.h>

#include "distance.h"
#include "rng.h"
#include "tap.h"

static is_rng rng;

/* Uniform in [-1, 1); the sequence is fixed by the seed set in main(). */
static float
next_float(void)
{
	return (float) (2.0 * is_rng_unit(&rng) - 1.0);
}

int
main(void)
{
	static const size_t lens[] = {1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 127, 128, 129, 1000, 16000};
	static float a[16000], b[16000], zero[16000];

	is_rng_seed(&rng, 1);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
	{
		size_t		n = lens[k];
		double		dot = 0, l2 = 0, na = 0, nb = 0;

		for (size_t i = 0; i < n; i++)
		{
			a[i] = next_float();
			b[i] = next_float();
			dot += (double) a[i] * b[i];
			l2 += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
			na += (double) a[i] * a[i];
			nb += (double) b[i] * b[i];
		}
		/* float accumulation error grows with n; 1e-5 relative is ample */
		tap_near(is_dot(a, b, n), dot, 1e-5 * (1 + na), "dot, n matches reference");
		tap_near(is_l2_squared(a, b, n), l2, 1e-5 * (1 + l2), "l2 squared matches reference");
		tap_near(is_norm_squared(a, n), na, 1e-5 * (1 + na), "norm squared matches reference");
		tap_near(is_cosine_distance(a, b, n), 1.0 - dot / sqrt(na * nb), 1e-5,
				 "cosine distance matches reference");
		tap_diag("n = %zu", n);
	}

	tap_near(is_cosine_distance(a, a, 128), 0.0, 1e-6, "cosine distance to itself is 0");
	for (size_t i = 0; i < 128; i++)
		b[i] = -a[i];
	tap_near(is_cosine_distance(a, b, 128), 2.0, 1e-6, "cosine distance to the opposite is 2");
	tap_ok(isnan(is_cosine_distance(a, zero, 128)), "cosine distance to a zero vector is NaN");
	tap_ok(isnan(is_cosine_distance(zero, zero, 128)), "cosine distance between zero vectors is NaN");
	tap_ok(is_cosine_distance(a, a, 1) >= 0.0, "cosine distance is clamped at 0");

	/* float sums of squares would underflow / overflow here */
	for (size_t i = 0; i < 4; i++)
	{
		a[i] = 1e-30f * (float) (i + 1);
		b[i] = 3e38f * (float) (i % 2 ? 1 : -1);
	}
	tap_near(is_cosine_distance(a, a, 4), 0.0, 1e-6, "tiny vectors: distance to itself is 0");
	tap_near(is_cosine_distance(b, b, 4), 0.0, 1e-6, "huge vectors: distance to itself is 0");
	tap_near(is_cosine_distance(a, b, 4), 1.0 - 2.0 / (sqrt(30.0) * 2.0), 1e-6,
			 "tiny against huge vector");
	return tap_done();
}
