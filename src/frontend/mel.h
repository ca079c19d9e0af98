/*
 * Log-mel spectrogram of one fixed-length segment, numerically the same as
 *
 *   torchaudio.transforms.MelSpectrogram(sample_rate, n_fft, hop_length=hop,
 *       n_mels, f_min, f_max, norm="slaney", mel_scale="slaney", power=2.0)
 *   followed by torch.log(mel + log_offset)
 *
 * with torchaudio's defaults for the rest: win_length = n_fft, periodic Hann
 * window, centred frames with reflect padding of n_fft/2 on both sides, no
 * normalisation.  All parameters come from an is_frontend (frontend.h).
 *
 * A context owns its FFTW plan and scratch buffers, so computing allocates
 * nothing; it is not shareable between threads -- give each thread its own
 * context (creation and destruction are thread-safe).
 *
 * How (mel.c): where the CPU has AVX-512 and n_fft is a power of two, full
 * blocks of 16 frames go through our own 16-lane real FFT (fft16.c: one frame
 * per vector lane, power spectra come out frame-interleaved); the other frames
 * and every other CPU use FFTW, two frames windowed into one complex
 * transform and split apart.  A sparse Slaney filterbank runs across the
 * frames of a block, and the log is a vectorised polynomial.  INSTSIM_MEL_FFT
 * (auto, fftw, fft16) overrides the choice for tests and benchmarks.  Max
 * |difference| from torchaudio 0.13 on log-mel: 1.8e-4 on the unit test
 * signal with either transform (test_mel.c).
 */
#ifndef INSTSIM_MEL_H
#define INSTSIM_MEL_H

#include <stddef.h>

#include "frontend.h"

typedef struct is_mel is_mel;

/*
 * For segments of n_samples samples.  Returns NULL with a message in errbuf
 * when the parameters are unusable (odd or tiny n_fft, band edges outside
 * 0..sample_rate/2, a segment not longer than n_fft/2, ...) or memory runs out.
 */
is_mel	   *is_mel_new(const is_frontend *fe, int n_samples, char *errbuf,
					   size_t errlen);

/* Frames per segment: 1 + n_samples / hop_length (130 for the defaults). */
int			is_mel_frames(const is_mel *m);
int			is_mel_bands(const is_mel *m);

/*
 * x: n_samples finite floats.  out: n_mels x n_frames floats, row-major (one row per
 * mel band, time along the row), i.e. torchaudio's (n_mels, time) layout.
 */
void		is_mel_compute(is_mel *m, const float *x, float *out);

/* "fft16-avx512" or "fftw": the transform full blocks of frames go through. */
const char *is_mel_fft_name(const is_mel *m);

void		is_mel_free(is_mel *m);

#endif
