/*
 * The compact-vector kernels (distance.h: a float vector against half or
 * signed-byte codes), written once and compiled per instruction set:
 * distance_compact_avx512.c and distance_compact_avx2.c include the vector
 * vocabulary (simd_avx512.h, simd_avx2.h) and this file.  Four accumulators
 * of DVL floats hide the FMA latency, as in the float kernels; the codes turn
 * into floats in registers, and the last n mod DVL elements one at a time.
 *
 * Required besides the vocabulary: D_CODE_F16(p) and D_CODE_I8(p) (DVL codes
 * at p as floats), D_FNMA(a, b, c) (c - a * b), D_MUL(a, b), D_HSUM(v) (the
 * sum of the lanes), D_SET1(x), and D_NAME(f), the variant's name for kernel f.
 */
#include "distance.h"

#define D_INLINE D_TARGET static inline __attribute__((always_inline))

/* what distance_compact.c declares for each variant */
float		D_NAME(dot_f16) (const float *a, const uint16_t *b, size_t n);
float		D_NAME(l2_squared_f16) (const float *a, const uint16_t *b, float scale, size_t n);
float		D_NAME(dot_i8) (const float *a, const int8_t *b, size_t n);
float		D_NAME(l2_squared_i8) (const float *a, const int8_t *b, float scale, size_t n);
void		D_NAME(decode_f16) (const uint16_t *b, float scale, float *out, size_t n);
void		D_NAME(decode_i8) (const int8_t *b, float scale, float *out, size_t n);

/* DVL codes from element i on, halves or bytes (a constant once inlined) */
D_INLINE DV
compact_codes(const void *b, size_t i, int half)
{
	return half ? D_CODE_F16((const uint16_t *) b + i) : D_CODE_I8((const int8_t *) b + i);
}

/* s + a c, or with l2 s + (a - scale c)^2 */
D_INLINE DV
compact_step(DV s, const float *a, DV c, DV scale, int l2)
{
	if (!l2)
		return D_FMA(D_LOAD(a), c, s);
	c = D_FNMA(scale, c, D_LOAD(a));
	return D_FMA(c, c, s);
}

D_INLINE float
compact_sum(const float *a, const void *b, float scale, size_t n, int half, int l2)
{
	DV			s0 = D_ZERO();
	DV			s1 = D_ZERO();
	DV			s2 = D_ZERO();
	DV			s3 = D_ZERO();
	DV			sc = D_SET1(scale);
	size_t		i = 0;
	float		s;

	for (; i + 4 * DVL <= n; i += 4 * DVL)
	{
		s0 = compact_step(s0, a + i, compact_codes(b, i, half), sc, l2);
		s1 = compact_step(s1, a + i + DVL, compact_codes(b, i + DVL, half), sc, l2);
		s2 = compact_step(s2, a + i + 2 * DVL, compact_codes(b, i + 2 * DVL, half), sc, l2);
		s3 = compact_step(s3, a + i + 3 * DVL, compact_codes(b, i + 3 * DVL, half), sc, l2);
	}
	for (; i + DVL <= n; i += DVL)
		s0 = compact_step(s0, a + i, compact_codes(b, i, half), sc, l2);
	s = D_HSUM(D_ADD(D_ADD(s0, s1), D_ADD(s2, s3)));
	for (; i < n; i++)
	{
		float		c = half ? is_f16_to_float(((const uint16_t *) b)[i]) : ((const int8_t *) b)[i];
		float		d = l2 ? a[i] - scale * c : c;

		s += l2 ? d * d : a[i] * d;
	}
	return s;
}

D_INLINE void
compact_decode(const void *b, float scale, float *out, size_t n, int half)
{
	DV			sc = D_SET1(scale);
	size_t		i = 0;

	for (; i + DVL <= n; i += DVL)
		D_STORE(out + i, D_MUL(sc, compact_codes(b, i, half)));
	for (; i < n; i++)
		out[i] = scale * (half ? is_f16_to_float(((const uint16_t *) b)[i]) : ((const int8_t *) b)[i]);
}

/* the kernels of one code type, as distance.h names them with the variant's prefix */
#define COMPACT_KERNELS(CODE, CODE_T, HALF) \
D_TARGET float \
D_NAME(dot_##CODE) (const float *a, const CODE_T *b, size_t n) \
{ \
	return compact_sum(a, b, 1.0f, n, HALF, 0); \
} \
D_TARGET float \
D_NAME(l2_squared_##CODE) (const float *a, const CODE_T *b, float scale, size_t n) \
{ \
	return compact_sum(a, b, scale, n, HALF, 1); \
} \
D_TARGET void \
D_NAME(decode_##CODE) (const CODE_T *b, float scale, float *out, size_t n) \
{ \
	compact_decode(b, scale, out, n, HALF); \
}

COMPACT_KERNELS(f16, uint16_t, 1)
COMPACT_KERNELS(i8, int8_t, 0)
