/*
 * The 16-lane real FFT (fft16.c) against a direct DFT in double precision,
 * for every size class it handles (log2 of the complex length odd and even,
 * the L1 blocking on and off), with different data in every lane so that a
 * transpose or lane mix-up shows.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fft16.h"
#include "tap.h"

/* |DFT(w x)|^2 at every bin, in double, with a table instead of cos() per term. */
static void
dft_power(const float *x, const float *w, int n, const double *cs, double *out)
{
	for (int k = 0; k <= n / 2; k++)
	{
		double		re = 0,
					im = 0;

		for (int i = 0; i < n; i++)
		{
			int			t = (int) ((int64_t) i * k % n);

			re += (double) x[i] * w[i] * cs[2 * t];
			im -= (double) x[i] * w[i] * cs[2 * t + 1];
		}
		out[k] = re * re + im * im;
	}
}

static void
check_size(int n)
{
	is_fft16   *f = is_fft16_new(n);
	int			bins = n / 2 + 1;
	float	   *frames = malloc(sizeof(float) * n * IS_FFT16_LANES);
	float	   *window = malloc(sizeof(float) * n);
	float	   *work = aligned_alloc(64, sizeof(float) * is_fft16_work_floats(f));
	float	   *power = aligned_alloc(64, sizeof(float) * bins * IS_FFT16_LANES);
	const float *ptr[IS_FFT16_LANES];
	double	   *cs = malloc(sizeof(double) * 2 * n);
	double	   *want = malloc(sizeof(double) * bins);
	uint32_t	state = (uint32_t) n;
	double		worst = 0;

	for (int t = 0; t < n; t++)
	{
		cs[2 * t] = cos(2.0 * M_PI * t / n);
		cs[2 * t + 1] = sin(2.0 * M_PI * t / n);
	}

	for (int i = 0; i < n * IS_FFT16_LANES; i++)
	{
		state = state * 1664525u + 1013904223u;
		frames[i] = (float) ((double) state / 4294967296.0 - 0.5);
	}
	/* a pure tone in lane 3 puts its power in one bin: a wrong bin order shows */
	for (int i = 0; i < n; i++)
	{
		frames[3 * n + i] = (float) cos(2.0 * M_PI * 5 * i / n);
		window[i] = (float) (0.5 - 0.5 * cos(2.0 * M_PI * i / n));
	}
	for (int j = 0; j < IS_FFT16_LANES; j++)
		ptr[j] = frames + (size_t) j * n;
	is_fft16_power(f, ptr, window, work, power);
	for (int j = 0; j < IS_FFT16_LANES; j++)
	{
		double		total = 0;

		dft_power(ptr[j], window, n, cs, want);
		for (int k = 0; k < bins; k++)
			total += want[k];
		for (int k = 0; k < bins; k++)
		{
			double		err = fabs(power[k * IS_FFT16_LANES + j] - want[k]) / (total / bins);

			if (err > worst)
				worst = err;
		}
	}
	tap_diag("n %d: max |error| / mean power = %.3g", n, worst);
	tap_ok(worst < 1e-4, "n %d: 16-lane power spectra match the direct DFT", n);
	tap_ok(power[5 * IS_FFT16_LANES + 3] > 100 * power[7 * IS_FFT16_LANES + 3],
		   "n %d: a tone at bin 5 lands in bin 5", n);
	free(cs);
	free(want);
	free(frames);
	free(window);
	free(work);
	free(power);
	is_fft16_free(f);
}

int
main(void)
{
	tap_ok(is_fft16_new(48) == NULL && is_fft16_new(32) == NULL && is_fft16_new(1 << 17) == NULL,
		   "sizes that are not powers of two in 64..65536 are refused");
	if (!is_fft16_usable(2048))
	{
		tap_diag("no AVX-512 on this CPU: the 16-lane FFT is not used here");
		return tap_done();
	}
	/* 128, 512, ...: odd log2 of m; from 1024 on the L1 blocking (m > 256) */
	for (int n = 64; n <= 4096; n *= 2)
		check_size(n);
	return tap_done();
}
