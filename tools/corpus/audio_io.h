/*
 * Whole-file audio I/O for corpus files (FLAC stems and mixes).  Reading gives
 * mono float at the requested rate whatever the file holds (real Slakh stems
 * are read unchanged); writing produces mono 16-bit FLAC, Slakh's format.
 */
#ifndef INSTSIM_AUDIO_IO_H
#define INSTSIM_AUDIO_IO_H

#include <stddef.h>

/*
 * Reads path as mono (channel average) at sample_rate, resampling if needed.
 * *x is malloc'd (free() it; NULL when *n is 0).  0 on success, -1 with err.
 */
int			audio_read_mono(const char *path, int sample_rate, float **x,
							size_t *n, char *err, size_t errlen);

/* Writes x as mono 16-bit FLAC, clipping samples outside [-1, 1]. */
int			audio_write_flac(const char *path, const float *x, size_t n,
							 int sample_rate, char *err, size_t errlen);

#endif
