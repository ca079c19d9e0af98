/*
 * Compact vectors: IEEE half (binary16) conversion, the portable variant of
 * the kernels that measure a float vector against half or signed-byte codes,
 * and the choice of variant.
 *
 * The SIMD variants (distance_compact.h, compiled for AVX-512 and for AVX2 +
 * F16C) turn codes into floats with one or two instructions per vector,
 * which the float kernels' GCC vector extensions do not give (GCC 12 makes a
 * widening __builtin_convertvector scalar, and target_clones has no "f16c"
 * clone).  They are chosen the way target_clones chooses: an ifunc resolver,
 * run once by the dynamic loader, picks the best variant for the running CPU.
 */
#include "distance.h"

#include <math.h>
#include <string.h>

uint16_t
is_f16_from_float(float x)
{
	uint32_t	bits;
	uint32_t	sign;
	uint32_t	mag;

	memcpy(&bits, &x, sizeof(bits));
	sign = (bits >> 16) & 0x8000;
	mag = bits & 0x7FFFFFFF;
	if (mag >= 0x7F800000)		/* infinity stays, NaN stays quiet NaN */
		return sign | 0x7C00 | (mag > 0x7F800000 ? 0x0200 : 0);
	if (mag >= 0x477FF000)		/* 65520 and up round past the largest half */
		return sign | 0x7C00;
	if (mag < 0x38800000)
	{
		/*
		 * Below 2^-14 halves are subnormal, in steps of 2^-24: scaling by
		 * 2^24 is exact here, and rintf rounds to nearest even.
		 */
		return sign | (uint16_t) rintf(fabsf(x) * 16777216.0f);
	}
	/* rebias the exponent, then round the 23-bit fraction to 10 bits (ties to even) */
	mag -= (uint32_t) (127 - 15) << 23;
	mag += 0x0FFF + ((mag >> 13) & 1);
	return sign | (mag >> 13);
}

float
is_f16_to_float(uint16_t h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000) << 16;
	uint32_t	exp = (h >> 10) & 0x1F;
	uint32_t	frac = h & 0x3FF;
	uint32_t	bits;
	float		f;

	if (exp == 0)				/* zero and subnormals: frac * 2^-24, exact */
	{
		f = (float) frac * (1.0f / 16777216.0f);
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7F800000 | (frac << 13);
	else
		bits = sign | ((exp + 127 - 15) << 23) | (frac << 13);
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* The portable variant: one code at a time. */
static float
dot_f16_c(const float *a, const uint16_t *b, size_t n)
{
	float		s = 0.0f;

	for (size_t i = 0; i < n; i++)
		s += a[i] * is_f16_to_float(b[i]);
	return s;
}

static float
l2_squared_f16_c(const float *a, const uint16_t *b, float scale, size_t n)
{
	float		s = 0.0f;

	for (size_t i = 0; i < n; i++)
	{
		float		d = a[i] - scale * is_f16_to_float(b[i]);

		s += d * d;
	}
	return s;
}

static float
dot_i8_c(const float *a, const int8_t *b, size_t n)
{
	float		s = 0.0f;

	for (size_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static float
l2_squared_i8_c(const float *a, const int8_t *b, float scale, size_t n)
{
	float		s = 0.0f;

	for (size_t i = 0; i < n; i++)
	{
		float		d = a[i] - scale * b[i];

		s += d * d;
	}
	return s;
}

static void
decode_f16_c(const uint16_t *b, float scale, float *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = scale * is_f16_to_float(b[i]);
}

static void
decode_i8_c(const int8_t *b, float scale, float *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = scale * b[i];
}

/* distance_compact_avx512.c, distance_compact_avx2.c */
#define DECLARE_VARIANT(SFX) \
	float		is_compact_##SFX##_dot_f16(const float *a, const uint16_t *b, size_t n); \
	float		is_compact_##SFX##_l2_squared_f16(const float *a, const uint16_t *b, float scale, size_t n); \
	float		is_compact_##SFX##_dot_i8(const float *a, const int8_t *b, size_t n); \
	float		is_compact_##SFX##_l2_squared_i8(const float *a, const int8_t *b, float scale, size_t n); \
	void		is_compact_##SFX##_decode_f16(const uint16_t *b, float scale, float *out, size_t n); \
	void		is_compact_##SFX##_decode_i8(const int8_t *b, float scale, float *out, size_t n)
DECLARE_VARIANT(avx512);
DECLARE_VARIANT(avx2);

/* static, so that the ifunc resolvers reach it without a PLT entry */
static int
compact_variant(int level, is_compact_kernels *k)
{
	switch (level)
	{
		case 0:
			*k = (is_compact_kernels) {dot_f16_c, l2_squared_f16_c, dot_i8_c, l2_squared_i8_c,
				decode_f16_c, decode_i8_c};
			return 1;
		case 1:
			__builtin_cpu_init();
			if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") ||
				!__builtin_cpu_supports("f16c"))
				return 0;
			*k = (is_compact_kernels) {is_compact_avx2_dot_f16, is_compact_avx2_l2_squared_f16,
				is_compact_avx2_dot_i8, is_compact_avx2_l2_squared_i8,
				is_compact_avx2_decode_f16, is_compact_avx2_decode_i8};
			return 1;
		case 2:
			__builtin_cpu_init();
			if (!__builtin_cpu_supports("avx512f"))
				return 0;
			*k = (is_compact_kernels) {is_compact_avx512_dot_f16, is_compact_avx512_l2_squared_f16,
				is_compact_avx512_dot_i8, is_compact_avx512_l2_squared_i8,
				is_compact_avx512_decode_f16, is_compact_avx512_decode_i8};
			return 1;
		default:
			return 0;
	}
}

int
is_compact_variant(int level, is_compact_kernels *out)
{
	return compact_variant(level, out);
}

/*
 * The best variant this CPU runs.  The resolvers run while the loader is
 * still relocating the library: they call only static functions (the
 * variants' addresses are fixed by then).
 */
static is_compact_kernels
best_kernels(void)
{
	is_compact_kernels k;

	if (!compact_variant(2, &k) && !compact_variant(1, &k))
		compact_variant(0, &k);
	return k;
}

typedef float (*dot_f16_fn) (const float *, const uint16_t *, size_t);
typedef float (*l2_squared_f16_fn) (const float *, const uint16_t *, float, size_t);
typedef float (*dot_i8_fn) (const float *, const int8_t *, size_t);
typedef float (*l2_squared_i8_fn) (const float *, const int8_t *, float, size_t);
typedef void (*decode_f16_fn) (const uint16_t *, float, float *, size_t);
typedef void (*decode_i8_fn) (const int8_t *, float, float *, size_t);

#define RESOLVER(KERNEL) \
static KERNEL##_fn \
resolve_##KERNEL(void) \
{ \
	return best_kernels().KERNEL; \
}
RESOLVER(dot_f16)
RESOLVER(l2_squared_f16)
RESOLVER(dot_i8)
RESOLVER(l2_squared_i8)
RESOLVER(decode_f16)
RESOLVER(decode_i8)

float		is_dot_f16(const float *a, const uint16_t *b, size_t n)
			__attribute__((ifunc("resolve_dot_f16")));
float		is_l2_squared_f16(const float *a, const uint16_t *b, float scale, size_t n)
			__attribute__((ifunc("resolve_l2_squared_f16")));
float		is_dot_i8(const float *a, const int8_t *b, size_t n)
			__attribute__((ifunc("resolve_dot_i8")));
float		is_l2_squared_i8(const float *a, const int8_t *b, float scale, size_t n)
			__attribute__((ifunc("resolve_l2_squared_i8")));
void		is_decode_f16(const uint16_t *b, float scale, float *out, size_t n)
			__attribute__((ifunc("resolve_decode_f16")));
void		is_decode_i8(const int8_t *b, float scale, float *out, size_t n)
			__attribute__((ifunc("resolve_decode_i8")));
