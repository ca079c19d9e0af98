#include "fft16.h"
#include "transpose16.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * How: the n real samples of a frame are read as m = n/2 complex points
 * z[i] = x[2i] + i x[2i+1]; a radix-4 decimation-in-frequency FFT (one radix-2
 * step when log2 m is odd) transforms them in place, leaving the spectrum in
 * digit-reversed order, which is never undone: the final real-FFT split step
 * reads bin k from pos[k].  Data are split re / im arrays of 16-frame vectors.
 * The first passes go depth-first so that a sub-transform is finished while
 * it sits in L1 (32 KiB of a 48 KiB L1d: 256 points x 16 lanes x 8 bytes).
 */
#define L1_POINTS 256

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FFT16_AVAILABLE 1
#define AVX512 __attribute__((target("avx512f")))
#else
#define FFT16_AVAILABLE 0
#endif

struct is_fft16
{
	int			n;				/* real length */
	int			m;				/* complex points, n / 2 */
	int		   *pos;			/* buffer slot of spectrum bin k, m entries */
	/* radix-4 pass at sub-length L: 6 floats (w^q, w^2q, w^3q) per q < L/4 */
	float	  **tw;				/* one table per pass, by depth */
	int			depth;
	float	   *post;			/* cos, sin of 2 pi k / n for k <= m / 2 */
};

/* The sizes it handles: powers of two, 64 .. 65536. */
static bool
size_ok(int n)
{
	return n >= 64 && n <= 65536 && (n & (n - 1)) == 0;
}

bool
is_fft16_usable(int n)
{
#if FFT16_AVAILABLE
	__builtin_cpu_init();
	return size_ok(n) && __builtin_cpu_supports("avx512f");
#else
	(void) n;
	return false;
#endif
}

/*
 * After a DIF radix-r step on a length-L block (L = r Q), slot k Q + s holds
 * the sub-transform for bins congruent to k mod r, so bin k + r f' lives at
 * k Q + (slot of f' in the length-Q sub-transform).
 */
static int
slot_of(int bin, int len)
{
	int			slot = 0;

	while (len > 1)
	{
		int			r = len >= 4 ? 4 : 2;

		len /= r;
		slot += (bin % r) * len;
		bin /= r;
	}
	return slot;
}

is_fft16 *
is_fft16_new(int n)
{
	is_fft16   *f;
	int			depth = 0;

	if (!size_ok(n))
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->n = n;
	f->m = n / 2;
	for (int len = f->m; len >= 4; len /= 4)
		depth++;
	f->depth = depth;
	f->pos = malloc(sizeof(int) * f->m);
	f->tw = calloc(depth > 0 ? depth : 1, sizeof(float *));
	f->post = malloc(sizeof(float) * 2 * (f->m / 2 + 1));
	if (!f->pos || !f->tw || !f->post)
	{
		is_fft16_free(f);
		return NULL;
	}
	for (int k = 0; k < f->m; k++)
		f->pos[k] = slot_of(k, f->m);
	for (int d = 0, len = f->m; d < depth; d++, len /= 4)
	{
		int			q = len / 4;

		f->tw[d] = malloc(sizeof(float) * 6 * q);
		if (!f->tw[d])
		{
			is_fft16_free(f);
			return NULL;
		}
		for (int i = 0; i < q; i++)
			for (int k = 1; k <= 3; k++)
			{
				double		a = -2.0 * M_PI * k * i / len;

				f->tw[d][6 * i + 2 * (k - 1)] = (float) cos(a);
				f->tw[d][6 * i + 2 * (k - 1) + 1] = (float) sin(a);
			}
	}
	for (int k = 0; k <= f->m / 2; k++)
	{
		f->post[2 * k] = (float) cos(2.0 * M_PI * k / n);
		f->post[2 * k + 1] = (float) sin(2.0 * M_PI * k / n);
	}
	return f;
}

size_t
is_fft16_work_floats(const is_fft16 *f)
{
	return (size_t) 2 * f->m * IS_FFT16_LANES;
}

void
is_fft16_free(is_fft16 *f)
{
	if (!f)
		return;
	if (f->tw)
		for (int d = 0; d < f->depth; d++)
			free(f->tw[d]);
	free(f->tw);
	free(f->pos);
	free(f->post);
	free(f);
}

#if FFT16_AVAILABLE

typedef is_v16 v16;

/*
 * Samples i .. i+15 of the 16 frames, windowed and transposed to one vector
 * per sample, as complex points i/2 .. i/2+7 (even samples re, odd im).
 */
AVX512 static inline void
load_points(const float *const frames[IS_FFT16_LANES], const float *window, int i,
			v16 *re, v16 *im)
{
	v16			r[16],
				w;

	memcpy(&w, window + i, sizeof(w));
#pragma GCC unroll 16
	for (int j = 0; j < 16; j++)
	{
		memcpy(&r[j], frames[j] + i, sizeof(v16));
		r[j] *= w;
	}
	is_transpose16(r);
#pragma GCC unroll 8
	for (int s = 0; s < 8; s++)
	{
		re[s] = r[2 * s];
		im[s] = r[2 * s + 1];
	}
}

/*
 * Radix-4 DIF butterfly on points 0, q, 2q, 3q of xr/xi, in place:
 * y_k = sum_j a_j (-i)^(jk), then y_k *= w^k (w from a twiddle table row;
 * NULL for none), and slot k q holds y_k.
 */
AVX512 static inline void
butterfly4(v16 *xr, v16 *xi, int q, const float *w)
{
	v16			t0r = xr[0] + xr[2 * q],
				t0i = xi[0] + xi[2 * q],
				t1r = xr[0] - xr[2 * q],
				t1i = xi[0] - xi[2 * q],
				t2r = xr[q] + xr[3 * q],
				t2i = xi[q] + xi[3 * q],
				t3r = xr[q] - xr[3 * q],
				t3i = xi[q] - xi[3 * q];
	/* y0 = t0 + t2, y2 = t0 - t2, y1 = t1 - i t3, y3 = t1 + i t3 */
	v16			y1r = t1r + t3i,
				y1i = t1i - t3r,
				y2r = t0r - t2r,
				y2i = t0i - t2i,
				y3r = t1r - t3i,
				y3i = t1i + t3r;

	xr[0] = t0r + t2r;
	xi[0] = t0i + t2i;
	if (!w)
	{
		xr[q] = y1r, xi[q] = y1i;
		xr[2 * q] = y2r, xi[2 * q] = y2i;
		xr[3 * q] = y3r, xi[3 * q] = y3i;
		return;
	}
	xr[q] = y1r * w[0] - y1i * w[1];
	xi[q] = y1r * w[1] + y1i * w[0];
	xr[2 * q] = y2r * w[2] - y2i * w[3];
	xi[2 * q] = y2r * w[3] + y2i * w[2];
	xr[3 * q] = y3r * w[4] - y3i * w[5];
	xi[3 * q] = y3r * w[5] + y3i * w[4];
}

/* One radix-4 step on every length-len block of re/im[0 .. span). */
AVX512 static void
radix4_pass(v16 *re, v16 *im, int span, int len, const float *tw)
{
	int			q = len / 4;

	for (int b = 0; b < span; b += len)
	{
		if (q == 1)
		{
			butterfly4(re + b, im + b, 1, NULL);
			continue;
		}
		for (int i = 0; i < q; i++)
			butterfly4(re + b + i, im + b + i, q, tw + 6 * i);
	}
}

/*
 * Window, transpose and the first radix-4 step (length m) in one sweep: the
 * 8 points of each quarter that one butterfly group needs are loaded, then
 * transformed while still in L1, so the frames cross L2 once, not three
 * times (20% of the transform here).  Needs m / 4 to be a multiple of 8.
 */
AVX512 static void
load_first_pass(const is_fft16 *f, const float *const frames[IS_FFT16_LANES],
				const float *window, v16 *re, v16 *im)
{
	int			q = f->m / 4;

	for (int i = 0; i < q; i += 8)
	{
		for (int c = 0; c < 4; c++)
			load_points(frames, window, 2 * (i + c * q), re + i + c * q, im + i + c * q);
		for (int s = 0; s < 8; s++)
			butterfly4(re + i + s, im + i + s, q, f->tw[0] + 6 * (i + s));
	}
}

/* Radix-2 DIF step on every length-2 block (the last step when log2 m is odd). */
AVX512 static void
radix2_pass(v16 *re, v16 *im, int span)
{
	for (int b = 0; b < span; b += 2)
	{
		v16			ar = re[b],
					ai = im[b];

		re[b] = ar + re[b + 1];
		im[b] = ai + im[b + 1];
		re[b + 1] = ar - re[b + 1];
		im[b + 1] = ai - im[b + 1];
	}
}

/*
 * The rest of the transform of the length-len block at re/im, whose
 * radix-4 steps use twiddle tables tw[d], tw[d + 1], ...
 */
AVX512 static void
dif(const is_fft16 *f, v16 *re, v16 *im, int len, int d)
{
	if (len > L1_POINTS)
	{
		radix4_pass(re, im, len, len, f->tw[d]);
		for (int k = 0; k < 4; k++)
			dif(f, re + k * (len / 4), im + k * (len / 4), len / 4, d + 1);
		return;
	}
	/* breadth-first over this block, which stays in L1 */
	for (int sub = len; sub >= 4; sub /= 4, d++)
		radix4_pass(re, im, len, sub, f->tw[d]);
}

/*
 * Real-FFT split: with Z the m-point DFT of z, X[k] = (S + T) / 2 and
 * X[m-k] = conj(S - T) / 2 where S = Z[k] + conj Z[m-k],
 * T = w^k (-i) (Z[k] - conj Z[m-k]), w = exp(-2 pi i / n).
 */
AVX512 static void
split_power(const is_fft16 *f, const v16 *re, const v16 *im, v16 *power)
{
	int			m = f->m;

	for (int k = 0; k <= m / 2; k++)
	{
		int			a = f->pos[k],
					b = f->pos[(m - k) & (m - 1)];
		float		c = f->post[2 * k],
					s = f->post[2 * k + 1];
		v16			sr = re[a] + re[b],
					si = im[a] - im[b],
					dr = re[a] - re[b],
					di = im[a] + im[b];
		v16			tr = di * c - dr * s,
					ti = -(dr * c) - di * s;
		v16			ur = sr + tr,
					ui = si + ti,
					vr = sr - tr,
					vi = si - ti;

		power[k] = (ur * ur + ui * ui) * 0.25f;
		power[m - k] = (vr * vr + vi * vi) * 0.25f;
	}
}

AVX512 void
is_fft16_power(const is_fft16 *f, const float *const frames[IS_FFT16_LANES],
			   const float *window, float *work, float *power)
{
	v16		   *re = (v16 *) work;
	v16		   *im = re + f->m;

	load_first_pass(f, frames, window, re, im);
	for (int k = 0; k < 4; k++)
		dif(f, re + k * (f->m / 4), im + k * (f->m / 4), f->m / 4, 1);
	if ((f->m >> (2 * f->depth)) == 2)
		radix2_pass(re, im, f->m);
	split_power(f, re, im, (v16 *) power);
}

#else

void
is_fft16_power(const is_fft16 *f, const float *const frames[IS_FFT16_LANES],
			   const float *window, float *work, float *power)
{
	/* is_fft16_usable() is false here, so no caller gets this far. */
	abort();
}

#endif
