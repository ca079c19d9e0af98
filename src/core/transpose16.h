/*
 * 16 x 16 float transpose in vector registers, with GCC vector extensions:
 * one vector per row in, one per column out.  Header-only so that it inlines
 * into callers compiled for AVX-512 (64 two-source permutes), and still
 * compiles, as more instructions, for any other target.
 */
#ifndef INSTSIM_TRANSPOSE16_H
#define INSTSIM_TRANSPOSE16_H

typedef float is_v16 __attribute__((vector_size(64)));

/*
 * Step b swaps, inside every 2b x 2b diagonal block, the two off-diagonal
 * b x b blocks; steps 8, 4, 2, 1 compose to the full transpose.  Lane t of
 * the new row pair takes, for its offset u = t mod 2b: u < b, lane t (+ b for
 * the second row) of the first row; else lane t - b (+ b) of the second
 * (index 16 + ...).
 */
#define IS_T16_SEL(b, t, h) ((t) % (2 * (b)) < (b) ? (t) + (h) * (b) : 16 + (t) - (b) + (h) * (b))
#define IS_T16_LANES(b, h) \
	IS_T16_SEL(b, 0, h), IS_T16_SEL(b, 1, h), IS_T16_SEL(b, 2, h), IS_T16_SEL(b, 3, h), \
	IS_T16_SEL(b, 4, h), IS_T16_SEL(b, 5, h), IS_T16_SEL(b, 6, h), IS_T16_SEL(b, 7, h), \
	IS_T16_SEL(b, 8, h), IS_T16_SEL(b, 9, h), IS_T16_SEL(b, 10, h), IS_T16_SEL(b, 11, h), \
	IS_T16_SEL(b, 12, h), IS_T16_SEL(b, 13, h), IS_T16_SEL(b, 14, h), IS_T16_SEL(b, 15, h)
#define IS_T16_STEP(r, b) \
	_Pragma("GCC unroll 16") \
	for (int i_ = 0; i_ < 16; i_++) \
		if (!(i_ & (b))) \
		{ \
			is_v16		lo_ = __builtin_shufflevector(r[i_], r[i_ + (b)], IS_T16_LANES(b, 0)); \
			is_v16		hi_ = __builtin_shufflevector(r[i_], r[i_ + (b)], IS_T16_LANES(b, 1)); \
			r[i_] = lo_; \
			r[i_ + (b)] = hi_; \
		}

static inline __attribute__((always_inline)) void
is_transpose16(is_v16 *r)
{
	IS_T16_STEP(r, 8);
	IS_T16_STEP(r, 4);
	IS_T16_STEP(r, 2);
	IS_T16_STEP(r, 1);
}

#endif
