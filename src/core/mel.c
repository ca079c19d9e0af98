#include "mel.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

/* FFTW's planner keeps global state: plan creation/destruction must not race. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

struct is_mel
{
	int			n_fft;
	int			hop;
	int			n_bins;			/* n_fft / 2 + 1 */
	int			n_mels;
	int			n_samples;
	int			n_frames;
	float		log_offset;
	float	   *window;			/* periodic Hann, n_fft */
	float	   *frame;			/* windowed frame, FFT input */
	fftwf_complex *spectrum;	/* FFT output, n_bins */
	float	   *power;			/* |spectrum|^2, n_bins */
	/* Sparse filterbank: band b covers bins first[b] .. first[b]+count[b]-1. */
	int		   *first;
	int		   *count;
	int		   *offset;			/* into weights */
	float	   *weights;
	fftwf_plan	plan;
};

static void *set_error(char *errbuf, size_t errlen, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static void *
set_error(char *errbuf, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	if (errbuf && errlen > 0)
	{
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return NULL;
}

/* Slaney's auditory-toolbox mel scale: linear below 1 kHz, log above. */
#define SLANEY_F_SP		(200.0 / 3.0)
#define SLANEY_MIN_LOG_HZ	1000.0
#define SLANEY_MIN_LOG_MEL	(SLANEY_MIN_LOG_HZ / SLANEY_F_SP)
#define SLANEY_LOGSTEP	(log(6.4) / 27.0)

static double
hz_to_mel(double hz)
{
	if (hz >= SLANEY_MIN_LOG_HZ)
		return SLANEY_MIN_LOG_MEL + log(hz / SLANEY_MIN_LOG_HZ) / SLANEY_LOGSTEP;
	return hz / SLANEY_F_SP;
}

static double
mel_to_hz(double mel)
{
	if (mel >= SLANEY_MIN_LOG_MEL)
		return SLANEY_MIN_LOG_HZ * exp(SLANEY_LOGSTEP * (mel - SLANEY_MIN_LOG_MEL));
	return SLANEY_F_SP * mel;
}

/*
 * torchaudio's melscale_fbanks(norm="slaney", mel_scale="slaney"): triangles
 * between mel-spaced edges, each scaled by 2 / (its width in Hz) so that the
 * bands carry roughly equal energy.  Computed in double; only the nonzero run
 * of each band is kept (every bin falls in at most two bands).
 */
static int
build_filters(is_mel *m, const is_frontend *fe)
{
	int			n_edges = m->n_mels + 2;
	double	   *f_pts = malloc(sizeof(double) * n_edges);
	double		m_min = hz_to_mel(fe->f_min);
	double		m_max = hz_to_mel(fe->f_max);
	/* torchaudio spaces the bins up to sample_rate // 2 (integer division). */
	double		bin_hz = (double) (fe->sample_rate / 2) / (m->n_bins - 1);
	int			total = 0;

	m->first = calloc(m->n_mels, sizeof(int));
	m->count = calloc(m->n_mels, sizeof(int));
	m->offset = calloc(m->n_mels, sizeof(int));
	m->weights = malloc(sizeof(float) * 2 * m->n_bins);
	if (!f_pts || !m->first || !m->count || !m->offset || !m->weights)
	{
		free(f_pts);
		return -1;
	}
	for (int i = 0; i < n_edges; i++)
		f_pts[i] = mel_to_hz(m_min + (m_max - m_min) * i / (n_edges - 1));

	for (int b = 0; b < m->n_mels; b++)
	{
		double		lo = f_pts[b],
					mid = f_pts[b + 1],
					hi = f_pts[b + 2];
		double		enorm = 2.0 / (hi - lo);

		m->first[b] = 0;
		m->offset[b] = total;
		for (int k = 0; k < m->n_bins; k++)
		{
			double		f = k * bin_hz;
			double		w = fmin((f - lo) / (mid - lo), (hi - f) / (hi - mid));

			if (!(w > 0.0))
				continue;
			/* Triangles are convex: the nonzero bins are contiguous. */
			if (m->count[b] == 0)
				m->first[b] = k;
			if (total >= 2 * m->n_bins)
				break;
			m->weights[total++] = (float) (w * enorm);
			m->count[b]++;
		}
	}
	free(f_pts);
	return 0;
}

static const char *
check_params(const is_frontend *fe, int n_samples)
{
	if (fe->n_fft < 16 || fe->n_fft > (1 << 16) || fe->n_fft % 2)
		return "n_fft must be even and between 16 and 65536";
	if (fe->hop_length < 1 || fe->hop_length > fe->n_fft)
		return "hop_length must be between 1 and n_fft";
	if (fe->n_mels < 1 || fe->n_mels > fe->n_fft / 2)
		return "n_mels must be between 1 and n_fft / 2";
	if (fe->sample_rate < 1)
		return "sample_rate must be positive";
	if (!(fe->f_min >= 0.0 && fe->f_min < fe->f_max && fe->f_max <= fe->sample_rate / 2.0))
		return "need 0 <= f_min < f_max <= sample_rate / 2";
	if (!(fe->log_offset > 0.0 && isfinite(fe->log_offset)))
		return "log_offset must be positive";
	/* Reflect padding mirrors n_fft/2 samples, which must exist. */
	if (n_samples <= fe->n_fft / 2)
		return "segment must be longer than n_fft / 2 samples";
	return NULL;
}

is_mel *
is_mel_new(const is_frontend *fe, int n_samples, char *errbuf, size_t errlen)
{
	const char *problem = fe ? check_params(fe, n_samples) : "missing front-end parameters";
	is_mel	   *m;

	if (problem)
		return set_error(errbuf, errlen, "invalid mel parameters: %s", problem);
	m = calloc(1, sizeof(*m));
	if (!m)
		return set_error(errbuf, errlen, "out of memory for the mel context");
	m->n_fft = fe->n_fft;
	m->hop = fe->hop_length;
	m->n_bins = fe->n_fft / 2 + 1;
	m->n_mels = fe->n_mels;
	m->n_samples = n_samples;
	m->n_frames = 1 + n_samples / fe->hop_length;
	m->log_offset = (float) fe->log_offset;
	m->window = malloc(sizeof(float) * m->n_fft);
	m->frame = fftwf_alloc_real(m->n_fft);
	m->spectrum = fftwf_alloc_complex(m->n_bins);
	m->power = fftwf_alloc_real(m->n_bins);
	if (!m->window || !m->frame || !m->spectrum || !m->power || build_filters(m, fe) != 0)
	{
		is_mel_free(m);
		return set_error(errbuf, errlen, "out of memory for the mel context");
	}
	for (int i = 0; i < m->n_fft; i++)
		m->window[i] = (float) (0.5 - 0.5 * cos(2.0 * M_PI * i / m->n_fft));

	pthread_mutex_lock(&planner_lock);
	m->plan = fftwf_plan_dft_r2c_1d(m->n_fft, m->frame, m->spectrum, FFTW_MEASURE);
	pthread_mutex_unlock(&planner_lock);
	if (!m->plan)
	{
		is_mel_free(m);
		return set_error(errbuf, errlen, "FFTW could not plan a %d-point transform", fe->n_fft);
	}
	return m;
}

int
is_mel_frames(const is_mel *m)
{
	return m->n_frames;
}

int
is_mel_bands(const is_mel *m)
{
	return m->n_mels;
}

/* Frame t starts n_fft/2 samples before t * hop; outside x it mirrors x. */
static void
load_frame(is_mel *m, const float *x, int t)
{
	int			start = t * m->hop - m->n_fft / 2;
	const float *w = m->window;
	float	   *f = m->frame;
	int			n = m->n_samples;

	if (start >= 0 && start + m->n_fft <= n)
	{
		const float *src = x + start;

#pragma omp simd
		for (int i = 0; i < m->n_fft; i++)
			f[i] = src[i] * w[i];
		return;
	}
	for (int i = 0; i < m->n_fft; i++)
	{
		int			j = start + i;

		if (j < 0)
			j = -j;
		else if (j >= n)
			j = 2 * (n - 1) - j;
		f[i] = x[j] * w[i];
	}
}

void
is_mel_compute(is_mel *m, const float *x, float *out)
{
	const float *spec = (const float *) m->spectrum;
	float	   *power = m->power;
	float		offset = m->log_offset;
	size_t		n_out = (size_t) m->n_mels * m->n_frames;

	for (int t = 0; t < m->n_frames; t++)
	{
		load_frame(m, x, t);
		fftwf_execute(m->plan);
#pragma omp simd
		for (int k = 0; k < m->n_bins; k++)
			power[k] = spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1];
		for (int b = 0; b < m->n_mels; b++)
		{
			const float *w = m->weights + m->offset[b];
			const float *p = power + m->first[b];
			float		s = 0.0f;

#pragma omp simd reduction(+:s)
			for (int k = 0; k < m->count[b]; k++)
				s += p[k] * w[k];
			out[(size_t) b * m->n_frames + t] = s;
		}
	}
	for (size_t i = 0; i < n_out; i++)
		out[i] = logf(out[i] + offset);
}

void
is_mel_free(is_mel *m)
{
	if (!m)
		return;
	if (m->plan)
	{
		pthread_mutex_lock(&planner_lock);
		fftwf_destroy_plan(m->plan);
		pthread_mutex_unlock(&planner_lock);
	}
	free(m->window);
	fftwf_free(m->frame);
	fftwf_free(m->spectrum);
	fftwf_free(m->power);
	free(m->first);
	free(m->count);
	free(m->offset);
	free(m->weights);
	free(m);
}
