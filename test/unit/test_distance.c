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

/* got within rel of want, relative (want may be far outside float range) */
static void
tap_rel(double got, double want, double rel, const char *what, size_t n)
{
	int			ok = isfinite(got) && fabs(got - want) <= rel * fabs(want);

	tap_ok(ok, "%s, n = %zu", what, n);
	if (!ok)
		tap_diag("got %.9g, want %.9g", got, want);
}

/*
 * The _checked sums at magnitudes where float sums of squares overflow (1e38,
 * 1e19), underflow completely (1e-30, subnormals) or partly (1e-22), on a
 * short vector (scalar tail) and a long one (SIMD body), against double
 * references.
 */
static void
check_extremes(void)
{
	static const float scales[] = {1e38f, 1e19f, 1e-22f, 1e-30f, 1e-44f};
	static const size_t lens[] = {2, 40};
	static float a[40], b[40];

	for (size_t k = 0; k < sizeof(scales) / sizeof(scales[0]); k++)
		for (size_t m = 0; m < sizeof(lens) / sizeof(lens[0]); m++)
		{
			size_t		n = lens[m];
			double		dot = 0, l2 = 0, na = 0, nb = 0;

			for (size_t i = 0; i < n; i++)
			{
				a[i] = scales[k] * (float) (1 + i % 3);
				b[i] = scales[k] * (i % 2 ? -1.0f : 0.5f);
				dot += (double) a[i] * b[i];
				l2 += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
				na += (double) a[i] * a[i];
				nb += (double) b[i] * b[i];
			}
			tap_diag("scale %g", scales[k]);
			tap_rel(is_dot_checked(a, b, n), dot, 1e-6, "checked dot", n);
			tap_rel(is_l2_squared_checked(a, b, n), l2, 1e-6, "checked l2 squared", n);
			tap_rel(is_norm_squared_checked(a, n), na, 1e-6, "checked norm squared", n);
			tap_rel(is_norm_squared_double(a, n), na, 1e-12, "double norm squared", n);
			tap_near(is_cosine_distance(a, b, n), 1.0 - dot / sqrt(na * nb), 1e-6,
					 "cosine distance at extreme scale");
		}

	/* the float sum overflows in opposite directions and would say inf or NaN */
	a[0] = a[1] = b[0] = 3e38f;
	b[1] = -3e38f;
	tap_ok(is_dot_checked(a, b, 2) == 0.0, "checked dot: huge products that cancel give 0");
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
	check_extremes();
	return tap_done();
}
