/*
 * Distance kernels over float arrays.  Plain C with no PostgreSQL dependency so
 * that the server (operators, index), the CLI tools and the unit tests all share
 * one implementation.  These are the index's hot path: every function is
 * compiled for AVX-512, AVX2 and a generic target and the loader picks the
 * best one for the running CPU (GCC function multiversioning).
 */
#ifndef INSTSIM_DISTANCE_H
#define INSTSIM_DISTANCE_H

#include <stddef.h>
#include <stdint.h>

float		is_dot(const float *a, const float *b, size_t n);
float		is_l2_squared(const float *a, const float *b, size_t n);
float		is_norm_squared(const float *a, size_t n);

/*
 * A float vector a against a compactly stored one, b = scale * codes: the
 * index keeps its vectors as IEEE half (binary16) or signed bytes and measures
 * a float query against them without decoding them to memory.  The dot
 * products leave the scale to the caller (one multiply per vector); the
 * squared distances need it inside.  Same sums as the float kernels, the codes
 * converted to floats in registers (distance_compact.c).
 */
float		is_dot_f16(const float *a, const uint16_t *b, size_t n);
float		is_l2_squared_f16(const float *a, const uint16_t *b, float scale, size_t n);
float		is_dot_i8(const float *a, const int8_t *b, size_t n);
float		is_l2_squared_i8(const float *a, const int8_t *b, float scale, size_t n);

/* The stored vector back as floats: out = scale * codes. */
void		is_decode_f16(const uint16_t *b, float scale, float *out, size_t n);
void		is_decode_i8(const int8_t *b, float scale, float *out, size_t n);

/* IEEE half <-> float, rounding to nearest even (finite halves only come back finite). */
uint16_t	is_f16_from_float(float x);
float		is_f16_to_float(uint16_t h);

/*
 * The variants behind the kernels above, for the unit tests: level 0 is
 * the portable C one, 1 AVX2 + F16C, 2 AVX-512; 0 when this build or CPU has
 * no such variant.
 */
typedef struct is_compact_kernels
{
	float		(*dot_f16) (const float *a, const uint16_t *b, size_t n);
	float		(*l2_squared_f16) (const float *a, const uint16_t *b, float scale, size_t n);
	float		(*dot_i8) (const float *a, const int8_t *b, size_t n);
	float		(*l2_squared_i8) (const float *a, const int8_t *b, float scale, size_t n);
	void		(*decode_f16) (const uint16_t *b, float scale, float *out, size_t n);
	void		(*decode_i8) (const int8_t *b, float scale, float *out, size_t n);
} is_compact_kernels;
int			is_compact_variant(int level, is_compact_kernels *out);

/*
 * The same sums for the SQL functions, which must be right for any finite
 * float4 input: the float kernel's result when it can be trusted, else the sum
 * redone in double.  Double holds every such sum (16000 * FLT_MAX^2 ~ 2e81;
 * the smallest subnormal squared ~ 2e-90), so the result is always finite.
 */
double		is_dot_checked(const float *a, const float *b, size_t n);
double		is_l2_squared_checked(const float *a, const float *b, size_t n);
double		is_norm_squared_checked(const float *a, size_t n);

/*
 * |a|^2 summed in double: good to double rounding at any length, where the
 * float kernel's error bound grows with n (~3e-5 relative for 16000).
 */
double		is_norm_squared_double(const float *a, size_t n);

/*
 * Cosine distance 1 - a.b / (|a| |b|), clamped to [0, 2] against rounding.
 * With a zero-length operand the angle is undefined and the result is NaN:
 * this matches pgvector, sorts after every real distance in ORDER BY and lets
 * callers decide (the index keeps such vectors out of the graph's entry path).
 */
double		is_cosine_distance(const float *a, const float *b, size_t n);

/*
 * a.b, |a|^2 and |b|^2 summed in double: for the rare vectors whose float sums
 * under- or overflow, and for losses that subtract nearly equal distances.
 */
void		is_dot_norms_double(const float *a, const float *b, size_t n,
								double *dot, double *na, double *nb);

/* Same, when |b|^2 is already known (the index caches the query norm). */
double		is_cosine_distance_qn(const float *a, const float *b, size_t n,
								  double b_norm_sq);

#endif
