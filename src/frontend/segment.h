/*
 * Segmentation of a mono stream into the paper's analysis windows: windows of
 * segment_s seconds every hop_s seconds (3 s every 1.5 s by default), silent
 * windows skipped, optionally stopping after the first N non-silent ones (the
 * paper trains on the first 40 of each track).
 *
 * Window k covers samples [k*hop, k*hop + len) with len = round(segment_s *
 * sample_rate) and hop = round(hop_s * sample_rate); it starts at
 * k * hop / sample_rate seconds.  Only whole windows are produced: audio after
 * the last whole window (less than one hop, or the whole track if it is
 * shorter than one segment) is dropped, as when cutting the training data.
 *
 * Silence: a window is silent when its RMS level in dBFS, 20 log10(sqrt(mean
 * x^2)) with full scale 1.0 (a full-scale sine is -3 dBFS, digital zero is
 * -inf), is below fe->silence_dbfs (-60 dBFS by default: a fade-out tail or
 * an instrument stem that is not playing, while the quietest real playing in
 * Slakh stems sits well above it).
 *
 * Memory: one window of samples (132300 floats = 517 KiB by default), whatever
 * the length of the stream; each window is read once and shifted by one hop.
 */
#ifndef INSTSIM_SEGMENT_H
#define INSTSIM_SEGMENT_H

#include <stdint.h>
#include <sys/types.h>

#include "audio.h"
#include "frontend.h"

/*
 * A source of mono samples at fe->sample_rate, shaped like is_audio_read():
 * returns the count written to buf (< max only at the end), 0 at the end, -1
 * on error with err set.
 */
typedef ssize_t (*is_sample_reader) (void *ctx, float *buf, size_t max,
									 is_audio_error *err);

/* is_sample_reader over an is_audio_stream (pass the stream as ctx). */
ssize_t		is_segment_read_stream(void *stream, float *buf, size_t max,
								   is_audio_error *err);

/* Samples in memory, read from at onwards; the context of is_segment_read_buffer. */
typedef struct is_sample_buffer
{
	const float *x;
	size_t		n,
				at;
} is_sample_buffer;

/* is_sample_reader over an is_sample_buffer (pass it as ctx). */
ssize_t		is_segment_read_buffer(void *buffer, float *buf, size_t max,
								   is_audio_error *err);

typedef struct is_segment
{
	int64_t		index;			/* window number k, counting silent ones too */
	double		start_s;		/* k * hop / sample_rate */
	double		rms_dbfs;
	const float *samples;		/* n_samples; valid until the next call */
	int			n_samples;
} is_segment;

typedef struct is_segmenter is_segmenter;

/* max_segments <= 0: no cap.  *out is NULL on failure. */
is_audio_status is_segmenter_new(const is_frontend *fe, int max_segments,
								 is_sample_reader read, void *read_ctx,
								 is_segmenter **out, is_audio_error *err);

/*
 * Advances to the next non-silent window.  Returns 1 with *seg filled, 0 when
 * the stream (or the cap) is exhausted, -1 on a read error or non-finite
 * samples (err set).
 */
int			is_segmenter_next(is_segmenter *sg, is_segment *seg, is_audio_error *err);

/* Windows examined so far, and how many of them were silent. */
int64_t		is_segmenter_windows(const is_segmenter *sg);
int64_t		is_segmenter_silent(const is_segmenter *sg);

void		is_segmenter_free(is_segmenter *sg);

/* Window length and hop in samples for these parameters. */
int			is_segment_samples(const is_frontend *fe);
int			is_segment_hop_samples(const is_frontend *fe);

/* RMS level of x in dBFS (full scale 1.0); -inf for digital silence. */
double		is_rms_dbfs(const float *x, size_t n);

#endif
