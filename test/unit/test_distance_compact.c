/*
 * The compact-vector kernels (halves, signed bytes) against the float kernels
 * on the decoded vectors and against a double-precision reference, over
 * lengths that hit every vector-width remainder, in every variant this CPU
 * runs (portable, AVX2 + F16C, AVX-512) and as dispatched.  And the half
 * conversion itself: every half round-trips, and rounding is to nearest even
 * at every boundary between two halves.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "distance.h"
#include "rng.h"
#include "tap.h"

static is_rng rng;

static float
next_float(void)
{
	return (float) (2.0 * is_rng_unit(&rng) - 1.0);
}

static uint32_t
float_bits(float f)
{
	uint32_t	b;

	memcpy(&b, &f, sizeof(b));
	return b;
}

/* Every finite half decodes to a float that encodes back to the same bits. */
static void
check_round_trip(void)
{
	int			bad = 0;
	int			nan_ok = 1;

	for (uint32_t h = 0; h <= 0xFFFF; h++)
	{
		float		f = is_f16_to_float((uint16_t) h);

		if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0)
			nan_ok &= isnan(f) && isnan(is_f16_to_float(is_f16_from_float(f)));
		else if (is_f16_from_float(f) != h)
			bad++;
	}
	tap_ok(bad == 0, "all 63 488 finite halves and the infinities round-trip (%d did not)", bad);
	tap_ok(nan_ok, "NaN halves decode to NaN and encode to NaN");
	tap_ok(is_f16_to_float(0x3C00) == 1.0f && is_f16_to_float(0xC000) == -2.0f &&
		   is_f16_to_float(0x7BFF) == 65504.0f && is_f16_to_float(0x0001) == ldexpf(1, -24) &&
		   is_f16_to_float(0x0400) == ldexpf(1, -14) && float_bits(is_f16_to_float(0x8000)) == 0x80000000,
		   "known values: 1, -2, 65504, 2^-24, 2^-14, -0");
}

/*
 * Around each midpoint between two neighbouring positive halves: one float
 * ulp below goes down, one above goes up, the midpoint itself to the even one.
 */
static void
check_rounding(void)
{
	int			bad = 0;

	for (uint16_t h = 0; h < 0x7BFF; h++)
	{
		float		lo = is_f16_to_float(h);
		float		hi = is_f16_to_float((uint16_t) (h + 1));
		float		mid = (lo + hi) / 2;	/* exact: halves have 11 significant bits */
		uint16_t	even = (h & 1) ? (uint16_t) (h + 1) : h;

		bad += is_f16_from_float(nextafterf(mid, 0.0f)) != h;
		bad += is_f16_from_float(nextafterf(mid, INFINITY)) != h + 1;
		bad += is_f16_from_float(mid) != even;
		bad += is_f16_from_float(-mid) != (even | 0x8000);
	}
	tap_ok(bad == 0, "rounding to nearest even at every boundary (%d wrong)", bad);
	tap_ok(is_f16_from_float(65519.996f) == 0x7BFF && is_f16_from_float(65520.0f) == 0x7C00 &&
		   is_f16_from_float(1e30f) == 0x7C00 && is_f16_from_float(-INFINITY) == 0xFC00,
		   "overflow: up to 65520 (excl.) rounds to 65504, beyond to infinity");
	tap_ok(is_f16_from_float(ldexpf(1, -25)) == 0 && is_f16_from_float(ldexpf(1.5f, -25)) == 1 &&
		   is_f16_from_float(1e-30f) == 0 && is_f16_from_float(-1e-30f) == 0x8000,
		   "underflow: half of 2^-24 rounds to 0 (even), above it to 2^-24");
}

/* got within tol * scale_of_terms of want */
static void
tap_rel(double got, double want, double terms, const char *what, const char *variant, size_t n)
{
	int			ok = fabs(got - want) <= 2e-6 * (terms + 1e-30);

	tap_ok(ok, "%s (%s), n = %zu", what, variant, n);
	if (!ok)
		tap_diag("got %.9g, want %.9g, sum of |terms| %.3g", got, want, terms);
}

int
main(void)
{
	static const size_t lens[] = {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 64, 127, 128, 129, 1000};
	static const char *const names[] = {"portable", "AVX2+F16C", "AVX-512"};
	static float a[1000], bf[1000], cf[1000], out[1000];
	static uint16_t h[1000];
	static int8_t c[1000];
	int			variants = 0;

	is_rng_seed(&rng, 7);
	check_round_trip();
	check_rounding();

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
	{
		size_t		n = lens[k];
		float		hscale = ldexpf(1, (int) k - 7);	/* powers of two, as the index uses */
		float		cscale = 0.37f / 127;
		double		hdot = 0, hl2 = 0, cdot = 0, cl2 = 0, habs = 0, cabs = 0;

		for (size_t i = 0; i < n; i++)
		{
			a[i] = next_float() * 3.0f;
			h[i] = is_f16_from_float(next_float() * 1000.0f);
			c[i] = (int8_t) lrintf(next_float() * 127.0f);
			bf[i] = hscale * is_f16_to_float(h[i]);
			cf[i] = cscale * c[i];
			hdot += (double) a[i] * is_f16_to_float(h[i]);
			habs += fabs((double) a[i] * is_f16_to_float(h[i]));
			cdot += (double) a[i] * c[i];
			cabs += fabs((double) a[i] * c[i]);
			hl2 += ((double) a[i] - bf[i]) * ((double) a[i] - bf[i]);
			cl2 += ((double) a[i] - cf[i]) * ((double) a[i] - cf[i]);
		}
		for (int level = 0; level <= 2; level++)
		{
			is_compact_kernels k;

			if (!is_compact_variant(level, &k))
				continue;
			variants |= 1 << level;
			tap_rel(k.dot_f16(a, h, n), hdot, habs, "half dot matches reference", names[level], n);
			tap_rel(k.l2_squared_f16(a, h, hscale, n), hl2, hl2, "half l2 squared matches reference",
					names[level], n);
			tap_rel(k.dot_i8(a, c, n), cdot, cabs, "int8 dot matches reference", names[level], n);
			tap_rel(k.l2_squared_i8(a, c, cscale, n), cl2, cl2, "int8 l2 squared matches reference",
					names[level], n);
			k.decode_f16(h, hscale, out, n);
			tap_ok(memcmp(out, bf, sizeof(float) * n) == 0, "half decode (%s), n = %zu", names[level], n);
			k.decode_i8(c, cscale, out, n);
			tap_ok(memcmp(out, cf, sizeof(float) * n) == 0, "int8 decode (%s), n = %zu", names[level], n);
		}
		/* the dispatched kernels against the float kernels on decoded vectors */
		tap_rel(hscale * is_dot_f16(a, h, n), is_dot(a, bf, n), hscale * habs,
				"is_dot_f16 * scale equals is_dot on the decoded vector", "dispatched", n);
		tap_rel(is_l2_squared_f16(a, h, hscale, n), is_l2_squared(a, bf, n), hl2,
				"is_l2_squared_f16 equals is_l2_squared on the decoded vector", "dispatched", n);
		tap_rel(cscale * is_dot_i8(a, c, n), is_dot(a, cf, n), cscale * cabs,
				"is_dot_i8 * scale equals is_dot on the decoded vector", "dispatched", n);
		tap_rel(is_l2_squared_i8(a, c, cscale, n), is_l2_squared(a, cf, n), cl2,
				"is_l2_squared_i8 equals is_l2_squared on the decoded vector", "dispatched", n);
	}
	tap_diag("variants run on this CPU: %s%s%s", (variants & 1) ? "portable " : "",
			 (variants & 2) ? "AVX2+F16C " : "", (variants & 4) ? "AVX-512" : "");
	tap_ok(variants & 1, "the portable variant always runs");
	return tap_done();
}
