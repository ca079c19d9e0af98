#include "mel.h"

#include "errmsg.h"
#include "fastmath.h"
#include "fft16.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

/*
 * Power spectra of a block of frames are kept interleaved, power[block k + j]
 * for frame j of the block at bin k, so that the filterbank runs across the
 * frames with vector multiply-adds.  A block is 16 frames where the 16-lane
 * FFT (fft16.c) fills it (its output layout), else 8: FFTW's frame pairs then
 * touch half as many cache lines, 15% faster here.
 */
#define MAX_BLOCK IS_FFT16_LANES
#define FFTW_BLOCK 8

/*
 * The per-frame loops are also compiled for AVX2 and picked at load time
 * (about 10% faster here); AVX-512 was no faster for these short loops.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MEL_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MEL_MULTIVERSION
#endif

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
	float	   *mirror[2];		/* edge frames, reflect-padded copies */
	fftwf_complex *packed;		/* two windowed frames as re + i im, n_fft */
	fftwf_complex *spectrum;	/* their joint DFT, n_fft */
	float	   *power;			/* |DFT|^2 of a block of frames, interleaved */
	/* Sparse filterbank: band b covers bins first[b] .. first[b]+count[b]-1. */
	int		   *first;
	int		   *count;
	int		   *offset;			/* into weights */
	float	   *weights;
	fftwf_plan	plan;
	/* 16-lane FFT for full blocks (AVX-512), NULL where FFTW does them all */
	is_fft16   *lanes;
	float	   *lane_work;
	float	   *lane_mirror;	/* MAX_BLOCK reflect-padded edge frames */
};

/* Frames per block: the 16-lane FFT's, or FFTW's pairs' (see MAX_BLOCK). */
static inline int
block_of(const is_mel *m)
{
	return m->lanes ? MAX_BLOCK : FFTW_BLOCK;
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
	/* is_log_positive() needs normal floats. */
	if (!(fe->log_offset >= 1e-30 && isfinite(fe->log_offset)))
		return "log_offset must be at least 1e-30";
	/* Reflect padding mirrors n_fft/2 samples, which must exist. */
	if (n_samples <= fe->n_fft / 2)
		return "segment must be longer than n_fft / 2 samples";
	return NULL;
}

/* Sizes, buffers, window and filterbank; false when memory runs out. */
static bool
init_context(is_mel *m, const is_frontend *fe, int n_samples)
{
	m->n_fft = fe->n_fft;
	m->hop = fe->hop_length;
	m->n_bins = fe->n_fft / 2 + 1;
	m->n_mels = fe->n_mels;
	m->n_samples = n_samples;
	m->n_frames = 1 + n_samples / fe->hop_length;
	m->log_offset = (float) fe->log_offset;
	m->window = fftwf_alloc_real(m->n_fft);
	m->packed = fftwf_alloc_complex(m->n_fft);
	m->spectrum = fftwf_alloc_complex(m->n_fft);
	m->mirror[0] = fftwf_alloc_real(m->n_fft);
	m->mirror[1] = fftwf_alloc_real(m->n_fft);
	m->power = aligned_alloc(64, sizeof(float) * MAX_BLOCK * m->n_bins);
	if (!m->window || !m->packed || !m->spectrum || !m->mirror[0] || !m->mirror[1] ||
		!m->power || build_filters(m, fe) != 0)
		return false;
	for (int i = 0; i < m->n_fft; i++)
		m->window[i] = (float) (0.5 - 0.5 * cos(2.0 * M_PI * i / m->n_fft));
	/* Slots of a short last block are computed on but never stored. */
	memset(m->power, 0, sizeof(float) * MAX_BLOCK * m->n_bins);
	return true;
}

/*
 * INSTSIM_MEL_FFT picks how full blocks of frames are transformed: auto (the
 * default: the 16-lane FFT where the CPU and n_fft allow it), fftw, or fft16
 * (an error where it cannot run).  Tests and benchmarks use it to run both.
 */
static const char *
choose_transform(is_mel *m)
{
	const char *env = getenv("INSTSIM_MEL_FFT");
	bool		fftw = env && strcmp(env, "fftw") == 0;
	bool		fft16 = env && strcmp(env, "fft16") == 0;

	if (env && *env && !fftw && !fft16 && strcmp(env, "auto") != 0)
		return "INSTSIM_MEL_FFT must be auto, fftw or fft16";
	if (fftw)
		return NULL;
	if (!is_fft16_usable(m->n_fft))
		return fft16 ? "INSTSIM_MEL_FFT=fft16 needs AVX-512 and a power-of-two n_fft of 64 or more" : NULL;
	m->lanes = is_fft16_new(m->n_fft);
	m->lane_mirror = malloc(sizeof(float) * MAX_BLOCK * m->n_fft);
	if (m->lanes)
		m->lane_work = aligned_alloc(64, sizeof(float) * is_fft16_work_floats(m->lanes));
	if (!m->lanes || !m->lane_mirror || !m->lane_work)
		return "out of memory for the mel context";
	return NULL;
}

is_mel *
is_mel_new(const is_frontend *fe, int n_samples, char *errbuf, size_t errlen)
{
	const char *problem = fe ? check_params(fe, n_samples) : "missing front-end parameters";
	is_mel	   *m;

	if (problem)
	{
		is_fail(errbuf, errlen, "invalid mel parameters: %s", problem);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !init_context(m, fe, n_samples))
	{
		is_mel_free(m);
		is_fail(errbuf, errlen, "out of memory for the mel context");
		return NULL;
	}
	/*
	 * FFTW_ESTIMATE picks the plan without timing: the same plan (so the same
	 * bits) in every process, and no 0.15 s of planning in each backend.
	 * MEASURE was within noise (about 5%) of it on this machine.
	 */
	pthread_mutex_lock(&planner_lock);
	m->plan = fftwf_plan_dft_1d(m->n_fft, m->packed, m->spectrum, FFTW_FORWARD, FFTW_ESTIMATE);
	pthread_mutex_unlock(&planner_lock);
	if (!m->plan)
	{
		is_mel_free(m);
		is_fail(errbuf, errlen, "FFTW could not plan a %d-point transform", fe->n_fft);
		return NULL;
	}
	if ((problem = choose_transform(m)) != NULL)
	{
		is_mel_free(m);
		is_fail(errbuf, errlen, "%s", problem);
		return NULL;
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

/*
 * Frame t covers x[t*hop - n_fft/2, t*hop + n_fft/2): inside x it is read in
 * place, at the ends it is copied with reflect padding into buf.
 */
static const float *
frame_samples(const is_mel *m, const float *x, int t, float *buf)
{
	int			start = t * m->hop - m->n_fft / 2;
	int			n = m->n_samples;

	if (start >= 0 && start + m->n_fft <= n)
		return x + start;
	for (int i = 0; i < m->n_fft; i++)
	{
		int			j = start + i;

		if (j < 0)
			j = -j;
		else if (j >= n)
			j = 2 * (n - 1) - j;
		buf[i] = x[j];
	}
	return buf;
}

/* Windows frames a and b into the real and imaginary parts of one input. */
MEL_MULTIVERSION static void
pack_frames(float *restrict packed, const float *restrict a, const float *restrict b,
			const float *restrict w, int n)
{
#pragma omp simd
	for (int i = 0; i < n; i++)
	{
		packed[2 * i] = a[i] * w[i];
		packed[2 * i + 1] = b[i] * w[i];
	}
}

/*
 * With Z = DFT(a + i b) of real a, b: A[k] = (Z[k] + conj Z[N-k]) / 2 and
 * B[k] = (Z[k] - conj Z[N-k]) / 2i, so |A|^2 and |B|^2 come from Z alone.
 */
static inline void
split_bin(const float *z, int k, int n_fft, float *pair)
{
	float		zr = z[2 * k],
				zi = z[2 * k + 1];
	float		yr = z[2 * ((n_fft - k) % n_fft)],
				yi = z[2 * ((n_fft - k) % n_fft) + 1];

	pair[0] = 0.25f * ((zr + yr) * (zr + yr) + (zi - yi) * (zi - yi));
	pair[1] = 0.25f * ((zr - yr) * (zr - yr) + (zi + yi) * (zi + yi));
}

/*
 * Writes |A|^2 and |B|^2 into slots 'slot' and 'slot + 1' of pt.  GCC does not
 * vectorise the mirrored access Z[N-k] by itself, so four bins at a time are
 * done with portable 8-float vector extensions (SSE2 pairs or AVX).
 */
typedef float v8sf __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) void
split_power_strided(const float *restrict z, float *restrict pt, int block, int slot,
					int n_fft)
{
	const v8sf	conj = {1.0f, -1.0f, 1.0f, -1.0f, 1.0f, -1.0f, 1.0f, -1.0f};
	int			half = n_fft / 2;
	int			k;

	split_bin(z, 0, n_fft, pt + slot);
	for (k = 1; k + 3 < half; k += 4)
	{
		v8sf		zk,
					y,
					sum,
					diff,
					p;

		/* zk = Z[k .. k+3]; y = conj Z[N-k], ..., conj Z[N-k-3] */
		memcpy(&zk, z + 2 * k, sizeof(zk));
		memcpy(&y, z + 2 * (n_fft - k - 3), sizeof(y));
		y = __builtin_shufflevector(y, y, 6, 7, 4, 5, 2, 3, 0, 1) * conj;
		sum = zk + y;
		diff = zk - y;
		sum *= sum;
		diff *= diff;
		/* re^2 + im^2 (times 4): |A[k]|^2, |B[k]|^2, |A[k+1]|^2, ... */
		p = (__builtin_shufflevector(sum, diff, 0, 8, 2, 10, 4, 12, 6, 14) +
			 __builtin_shufflevector(sum, diff, 1, 9, 3, 11, 5, 13, 7, 15)) * 0.25f;
		for (int i = 0; i < 4; i++)
			memcpy(pt + block * (k + i) + slot, (float *) &p + 2 * i, 2 * sizeof(float));
	}
	for (; k <= half; k++)
		split_bin(z, k, n_fft, pt + block * k + slot);
}

/*
 * Columns t0 .. t0 + n - 1 (n <= block) of the output: one 8-frame
 * vector multiply-add per nonzero filter weight and half-block (two SSE
 * operations on baseline x86-64, one AVX operation where available).
 */
static inline __attribute__((always_inline)) void
apply_filters_strided(const is_mel *m, const float *pt, int block, float *out, int t0, int n)
{
	for (int b = 0; b < m->n_mels; b++)
	{
		const float *w = m->weights + m->offset[b];
		const float *p = pt + block * m->first[b];
		float	   *col = out + (size_t) b * m->n_frames + t0;
		v8sf		acc[MAX_BLOCK / 8] = {{0}};

		for (int k = 0; k < m->count[b]; k++)
		{
#pragma GCC unroll 2
			for (int h = 0; h < block / 8; h++)
			{
				v8sf		pk;

				memcpy(&pk, p + block * k + 8 * h, sizeof(pk));
				acc[h] += pk * w[k];
			}
		}
		if (n == block)
			memcpy(col, acc, sizeof(float) * block);
		else
			for (int j = 0; j < n; j++)
				col[j] = acc[j / 8][j % 8];
	}
}

/*
 * The block is a constant in each branch: with it a run-time value the
 * strided stores and loads above cost 10-15% here.
 */
MEL_MULTIVERSION static void
split_power(const float *restrict z, float *restrict pt, int block, int slot, int n_fft)
{
	if (block == FFTW_BLOCK)
		split_power_strided(z, pt, FFTW_BLOCK, slot, n_fft);
	else
		split_power_strided(z, pt, MAX_BLOCK, slot, n_fft);
}

MEL_MULTIVERSION static void
apply_filters(const is_mel *m, const float *pt, float *out, int t0, int n)
{
	if (!m->lanes)
		apply_filters_strided(m, pt, FFTW_BLOCK, out, t0, n);
	else
		apply_filters_strided(m, pt, MAX_BLOCK, out, t0, n);
}

/*
 * Frames go through FFTW in pairs, as the real and imaginary parts of one
 * complex transform: with Debian's FFTW (SSE2/AVX codelets) an n-point complex
 * transform costs about the same as one n-point real one, so this halves the
 * FFT time.  An odd last frame is paired with zeros.
 */
static void
fftw_block(is_mel *m, const float *x, int t0, int n)
{
	for (int j = 0; j < n; j += 2)
	{
		const float *a = frame_samples(m, x, t0 + j, m->mirror[0]);
		const float *b;

		if (j + 1 < n)
			b = frame_samples(m, x, t0 + j + 1, m->mirror[1]);
		else
		{
			memset(m->mirror[1], 0, sizeof(float) * m->n_fft);
			b = m->mirror[1];
		}
		pack_frames((float *) m->packed, a, b, m->window, m->n_fft);
		fftwf_execute(m->plan);
		split_power((const float *) m->spectrum, m->power, block_of(m), j, m->n_fft);
	}
}

/* A full block in one 16-lane transform (fft16.c). */
static void
lanes_block(is_mel *m, const float *x, int t0)
{
	const float *frames[MAX_BLOCK];

	for (int j = 0; j < MAX_BLOCK; j++)
		frames[j] = frame_samples(m, x, t0 + j, m->lane_mirror + (size_t) j * m->n_fft);
	is_fft16_power(m->lanes, frames, m->window, m->lane_work, m->power);
}

MEL_MULTIVERSION static void
log_all(float *out, size_t n, float offset)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		out[i] = is_log_positive(out[i] + offset);
}

void
is_mel_compute(is_mel *m, const float *x, float *out)
{
	const int	block = block_of(m);

	for (int t0 = 0; t0 < m->n_frames; t0 += block)
	{
		int			n = m->n_frames - t0 < block ? m->n_frames - t0 : block;

		/* a short last block would waste lanes: FFTW pairs are cheaper there */
		if (m->lanes && n == MAX_BLOCK)
			lanes_block(m, x, t0);
		else
			fftw_block(m, x, t0, n);
		apply_filters(m, m->power, out, t0, n);
	}
	log_all(out, (size_t) m->n_mels * m->n_frames, m->log_offset);
}

const char *
is_mel_fft_name(const is_mel *m)
{
	return m->lanes ? "fft16-avx512" : "fftw";
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
	fftwf_free(m->window);
	fftwf_free(m->packed);
	fftwf_free(m->spectrum);
	fftwf_free(m->mirror[0]);
	fftwf_free(m->mirror[1]);
	free(m->power);
	is_fft16_free(m->lanes);
	free(m->lane_work);
	free(m->lane_mirror);
	free(m->first);
	free(m->count);
	free(m->offset);
	free(m->weights);
	free(m);
}
