/*
 * Log-mel front end against torchaudio reference values (data/mel_ref.h, made
 * by gen_mel_ref.py), with FFTW and with the 16-lane FFT where the CPU has it,
 * plus parameter validation and concurrent contexts.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fft16.h"
#include "frontend.h"
#include "mel.h"
#include "tap.h"

#include "data/mel_ref.h"

/*
 * Largest |C - torchaudio| allowed on log-mel.  Both sides are float32 FFTs
 * with different algorithms; the difference is largest in low-power bands
 * (relative rounding error of a small power near the log offset).  Measured
 * with torchaudio 0.13.1: 1.8e-4 (default case), 1e-5 (small case).
 */
#define LOGMEL_TOL 1e-3

/* Same formula as test_signal() in gen_mel_ref.py. */
static float *
test_signal(int n, int sample_rate)
{
	float	   *x = malloc(sizeof(float) * n);
	uint64_t	state = 12345;

	for (int i = 0; x && i < n; i++)
	{
		double		t = (double) i / sample_rate;
		double		v;

		state = (state * 1103515245u + 12345u) % (1u << 31);
		v = 0.05 * ((double) state / (double) (1u << 31) - 0.5);
		v += 0.3 * sin(2.0 * M_PI * 440.0 * t);
		v += 0.2 * sin(2.0 * M_PI * (100.0 + 2000.0 * t) * t);
		if (i >= (int64_t) n * 45 / 100 && i < (int64_t) n * 50 / 100)
			v = 0.0;
		else if (i >= (int64_t) n * 60 / 100 && i < (int64_t) n * 65 / 100)
			v *= 1e-4;
		x[i] = (float) v;
	}
	return x;
}

static is_frontend
case_frontend(const mel_ref_case *c)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;

	fe.sample_rate = c->sample_rate;
	fe.n_fft = c->n_fft;
	fe.hop_length = c->hop;
	fe.n_mels = c->n_mels;
	fe.f_min = c->f_min;
	fe.f_max = c->f_max;
	return fe;
}

/* Against the reference with the transform INSTSIM_MEL_FFT names (fftw or fft16). */
static void
check_reference(const mel_ref_case *c, const char *transform)
{
	is_frontend fe = case_frontend(c);
	char		err[256] = "";
	is_mel	   *m = is_mel_new(&fe, c->n, err, sizeof(err));
	float	   *x = test_signal(c->n, c->sample_rate);
	float	   *out;
	float	   *again;
	double		max_err = 0.0;

	tap_ok(m != NULL, "%s: mel context created %s", c->name, err);
	if (!m || !x)
		return;
	tap_ok(strncmp(is_mel_fft_name(m), transform, strlen(transform)) == 0,
		   "%s: transform is %s", c->name, is_mel_fft_name(m));
	tap_ok(is_mel_bands(m) == c->n_mels, "%s: %d bands", c->name, c->n_mels);
	tap_ok(is_mel_frames(m) == 1 + c->n / c->hop, "%s: %d frames", c->name, 1 + c->n / c->hop);
	out = malloc(sizeof(float) * c->n_mels * is_mel_frames(m));
	again = malloc(sizeof(float) * c->n_mels * is_mel_frames(m));
	is_mel_compute(m, x, out);
	for (int b = 0; b < c->n_mels; b++)
		for (int j = 0; j < c->n_sel; j++)
		{
			double		got = out[b * is_mel_frames(m) + c->frames[j]];
			double		want = c->values[b * c->n_sel + j];

			max_err = fmax(max_err, fabs(got - want));
			if (!(fabs(got - want) <= LOGMEL_TOL))
				tap_diag("%s band %d frame %d: got %.7g want %.7g", c->name, b,
						 c->frames[j], got, want);
		}
	tap_diag("%s, %s: max |log-mel - torchaudio| = %.3g over %d values", c->name,
			 is_mel_fft_name(m), max_err, c->n_mels * c->n_sel);
	tap_ok(max_err <= LOGMEL_TOL, "%s: log-mel matches torchaudio within %g", c->name,
		   LOGMEL_TOL);
	is_mel_compute(m, x, again);
	tap_ok(memcmp(out, again, sizeof(float) * c->n_mels * is_mel_frames(m)) == 0,
		   "%s: a context gives identical results when reused", c->name);
	free(out);
	free(again);
	free(x);
	is_mel_free(m);
}

static void
check_rejects(const char *what, is_frontend fe, int n_samples)
{
	char		err[256] = "";
	is_mel	   *m = is_mel_new(&fe, n_samples, err, sizeof(err));

	tap_ok(m == NULL && strstr(err, "invalid mel parameters") != NULL,
		   "rejects %s (%s)", what, err);
	is_mel_free(m);
}

/* Case i of the invalid parameter sets; NULL past the last. */
static const char *
invalid_case(int i, is_frontend *fe, int *n_samples)
{
	*fe = (is_frontend) IS_FRONTEND_DEFAULT;
	*n_samples = 132300;
	switch (i)
	{
		case 0:
			fe->n_fft = 2047;
			return "odd n_fft";
		case 1:
			fe->hop_length = 0;
			return "zero hop";
		case 2:
			fe->f_max = 30000;
			return "f_max above Nyquist";
		case 3:
			fe->f_min = fe->f_max;
			return "empty band range";
		case 4:
			fe->log_offset = 0;
			return "zero log offset";
		case 5:
			fe->n_mels = 0;
			return "no mel bands";
		case 6:
			*n_samples = 1024;
			return "segment shorter than the reflect pad";
	}
	return NULL;
}

static void
check_validation(void)
{
	is_frontend fe;
	int			n;
	const char *what;
	char		err[64];

	for (int i = 0; (what = invalid_case(i, &fe, &n)) != NULL; i++)
		check_rejects(what, fe, n);
	tap_ok(is_mel_new(NULL, 132300, err, sizeof(err)) == NULL, "rejects missing parameters");
}

/* Contexts created, used and freed concurrently (planner lock). */
static void *
worker(void *arg)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;
	float	   *x = arg;
	int			bad = 0;

	for (int i = 0; i < 4; i++)
	{
		is_mel	   *m = is_mel_new(&fe, 132300, NULL, 0);
		float	   *out = malloc(sizeof(float) * 128 * 130);

		if (!m || !out)
			bad++;
		else
		{
			is_mel_compute(m, x, out);
			bad += !isfinite(out[0]);
		}
		free(out);
		is_mel_free(m);
	}
	return (void *) (intptr_t) bad;
}

static void
check_threads(void)
{
	float	   *x = test_signal(132300, 44100);
	pthread_t	th[2];
	void	   *res[2];

	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, worker, x);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], &res[i]);
	tap_ok(res[0] == NULL && res[1] == NULL, "contexts work concurrently in two threads");
	free(x);
}

/* INSTSIM_MEL_FFT: a bad value and an impossible fft16 are errors, auto falls back. */
static void
check_transform_choice(void)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;
	char		err[256] = "";
	is_mel	   *m;

	setenv("INSTSIM_MEL_FFT", "fast", 1);
	m = is_mel_new(&fe, 132300, err, sizeof(err));
	tap_ok(m == NULL && strstr(err, "auto, fftw or fft16") != NULL,
		   "INSTSIM_MEL_FFT=fast is rejected (%s)", err);
	fe.n_fft = 2000;
	setenv("INSTSIM_MEL_FFT", "fft16", 1);
	m = is_mel_new(&fe, 132300, err, sizeof(err));
	tap_ok(m == NULL && strstr(err, "power-of-two") != NULL,
		   "fft16 refuses n_fft 2000 (%s)", err);
	setenv("INSTSIM_MEL_FFT", "auto", 1);
	m = is_mel_new(&fe, 132300, err, sizeof(err));
	tap_ok(m != NULL && strcmp(is_mel_fft_name(m), "fftw") == 0,
		   "auto uses FFTW for n_fft 2000");
	is_mel_free(m);
	unsetenv("INSTSIM_MEL_FFT");
}

int
main(void)
{
	const char *transforms[] = {"fftw", "fft16"};

	for (int t = 0; t < 2; t++)
	{
		if (t == 1 && !is_fft16_usable(2048))
		{
			tap_diag("no AVX-512 here: only the FFTW transform is checked");
			break;
		}
		setenv("INSTSIM_MEL_FFT", transforms[t], 1);
		for (size_t i = 0; i < sizeof(mel_ref_cases) / sizeof(mel_ref_cases[0]); i++)
			check_reference(&mel_ref_cases[i], transforms[t]);
	}
	unsetenv("INSTSIM_MEL_FFT");
	check_transform_choice();
	check_validation();
	check_threads();
	return tap_done();
}
