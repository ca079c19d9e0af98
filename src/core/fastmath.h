/*
 * Float log and exp for loops over whole spectrograms.  libm's logf and expf
 * are calls the compiler cannot vectorise without -ffast-math; these are
 * straight-line float arithmetic, so `#pragma omp simd` loops over them run
 * on vectors, within a few float ulps of libm.
 */
#ifndef INSTSIM_FASTMATH_H
#define INSTSIM_FASTMATH_H

#include <stdint.h>
#include <string.h>

/*
 * Natural log of a positive normal float.  x = 2^e * m with m in
 * [sqrt(1/2), sqrt(2)), ln(m) = 2 atanh(s) with s = (m - 1) / (m + 1),
 * |s| < 0.172, whose series to s^9 is exact to about 2e-9 relative.
 */
static inline float
is_log_positive(float x)
{
	const uint32_t sqrt_half = 0x3f3504f3;	/* bits of sqrt(0.5f) */
	uint32_t	bits;
	uint32_t	rel;
	float		m,
				s,
				s2,
				e;

	memcpy(&bits, &x, sizeof(bits));
	rel = bits - sqrt_half;
	e = (float) ((int32_t) rel >> 23);
	bits = (rel & 0x007fffff) + sqrt_half;
	memcpy(&m, &bits, sizeof(m));
	s = (m - 1.0f) / (m + 1.0f);
	s2 = s * s;
	return e * 0.693145752f + (e * 1.42860677e-6f +
							   2.0f * s * (1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9))))));
}

/*
 * e^x, x clamped to [-87, 88] (where e^x is a normal float).  x = n ln 2 + r
 * with n the nearest integer to x / ln 2 and |r| <= ln(2) / 2; e^r by its
 * Taylor series to r^7 (remainder below 8e-9 relative), scaled by 2^n built
 * in the exponent bits.  ln 2 is split in two (a head whose low mantissa bits are
 * zero, so n times it is exact, and the rest): r keeps its precision.  Adding and
 * subtracting 1.5 * 2^23 rounds to the nearest integer without a call.
 */
static inline float
is_exp_float(float x)
{
	const float round_magic = 12582912.0f;
	const float ln2_head = 0.693145752f;
	const float ln2_tail = 1.42860677e-6f;
	float		n,
				r,
				p,
				scale;
	uint32_t	bits;

	x = x < -87.0f ? -87.0f : x;
	x = x > 88.0f ? 88.0f : x;
	n = x * 1.44269504f + round_magic;	/* stored, so that no wider format keeps the fraction */
	n -= round_magic;
	r = (x - n * ln2_head) - n * ln2_tail;
	p = 1.0f + r * (1.0f + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
	bits = (uint32_t) ((int32_t) n + 127) << 23;
	memcpy(&scale, &bits, sizeof(scale));
	return p * scale;
}

#endif							/* INSTSIM_FASTMATH_H */
