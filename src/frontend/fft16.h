/*
 * Power spectra of 16 real frames at once, one frame per lane of a 16-float
 * AVX-512 vector ("vertical" SIMD).  Every butterfly is the same for all
 * frames, so the transform needs no shuffles, and the power spectrum comes
 * out frame-interleaved, which is the layout the mel filterbank wants
 * (power[16 k + j] is frame j at bin k).  Used by mel.c for full blocks of
 * frames when the CPU has AVX-512; FFTW does the rest and every other CPU.
 *
 * n (the real length) must be a power of two, 64 .. 65536.
 */
#ifndef INSTSIM_FFT16_H
#define INSTSIM_FFT16_H

#include <stdbool.h>
#include <stddef.h>

#define IS_FFT16_LANES 16

typedef struct is_fft16 is_fft16;

/* True when this CPU can run it and n is a size it handles. */
bool		is_fft16_usable(int n);

/* NULL when n is unusable or memory runs out. */
is_fft16   *is_fft16_new(int n);

/* Floats of scratch that is_fft16_power() needs (64-byte aligned). */
size_t		is_fft16_work_floats(const is_fft16 *f);

/*
 * frames[j]: n samples of frame j, window: n floats (applied to every frame),
 * power: (n/2 + 1) * 16 floats, |DFT of window * frame j|^2 at bin k in
 * power[16 k + j].  work and power must be 64-byte aligned.
 */
void		is_fft16_power(const is_fft16 *f, const float *const frames[IS_FFT16_LANES],
						   const float *window, float *work, float *power);

void		is_fft16_free(is_fft16 *f);

#endif
