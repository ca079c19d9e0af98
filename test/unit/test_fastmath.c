/*
 * The vectorisable float log and exp (fastmath.h) against libm in double,
 * over the ranges the log-mel front end and the remix composition feed
 * them: every float exponent, and the clamps at the ends of exp's range.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "fastmath.h"
#include "tap.h"

/* |got - want| in units of want's float ulp. */
static double
ulps(float got, double want)
{
	int			e;

	frexp(want, &e);
	return fabs((double) got - want) / ldexp(1.0, e - 24);
}

static void
check_log(void)
{
	double		worst = 0;
	float		at = 0;

	/* every power of two from the smallest normal to the largest, 64 steps in each */
	for (float x = FLT_MIN; x < FLT_MAX / 2; x *= 1.0109f)
	{
		double		want = log((double) x);
		double		u = fabs(want) < 1e-3 ? fabs((double) is_log_positive(x) - want) / FLT_EPSILON : ulps(is_log_positive(x), want);

		if (u > worst)
			worst = u, at = x;
	}
	tap_ok(worst <= 4, "log of positive normal floats within 4 ulps of libm (worst %.2f at %g)", worst, at);
	tap_ok(is_log_positive(1.0f) == 0.0f, "log(1) = 0 exactly");
}

static void
check_exp(void)
{
	double		worst = 0;
	float		at = 0;

	for (float x = -87.0f; x <= 88.0f; x += 0.00137f)
	{
		double		u = ulps(is_exp_float(x), exp((double) x));

		if (u > worst)
			worst = u, at = x;
	}
	tap_ok(worst <= 4, "exp over [-87, 88] within 4 ulps of libm (worst %.2f at %g)", worst, at);
	tap_ok(is_exp_float(0.0f) == 1.0f, "exp(0) = 1 exactly");
	tap_ok(is_exp_float(-1000.0f) == is_exp_float(-87.0f) && is_exp_float(-87.0f) > 0,
		   "below the range exp is clamped to a positive normal float, not 0 or a denormal");
	tap_ok(is_exp_float(1000.0f) == is_exp_float(88.0f) && isfinite(is_exp_float(88.0f)),
		   "above the range exp is clamped to a finite float");
	tap_ok(fabsf(is_log_positive(is_exp_float(-13.8f)) + 13.8f) < 1e-5f,
		   "log(exp(x)) = x at a log-mel floor (log of 1e-6)");
}

int
main(void)
{
	check_log();
	check_exp();
	return tap_done();
}
