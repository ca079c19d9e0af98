/*
 * An in-memory signal as an is_sample_reader (src/frontend/segment.h), so that
 * tools can run the core segmenter over stems they have already loaded.
 */
#ifndef INSTSIM_SAMPLE_ARRAY_H
#define INSTSIM_SAMPLE_ARRAY_H

#include <stddef.h>
#include <sys/types.h>

#include "audio.h"

typedef struct sample_array
{
	const float *x;
	size_t		n;
	size_t		pos;			/* next sample to hand out; start at 0 */
} sample_array;

/* is_sample_reader over a sample_array passed as ctx; never fails. */
ssize_t		sample_array_read(void *ctx, float *buf, size_t max, is_audio_error *err);

#endif
