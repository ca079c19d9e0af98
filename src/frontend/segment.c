#include "segment.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct is_segmenter
{
	is_sample_reader read;
	void	   *read_ctx;
	int			len;
	int			hop;
	int			sample_rate;
	double		silence_dbfs;
	int			max_segments;	/* <= 0: unlimited */
	float	   *buf;			/* the current window */
	int64_t		windows;
	int64_t		silent;
	int			emitted;
	bool		done;
};

int
is_segment_samples(const is_frontend *fe)
{
	return (int) lround(fe->segment_s * fe->sample_rate);
}

int
is_segment_hop_samples(const is_frontend *fe)
{
	return (int) lround(fe->hop_s * fe->sample_rate);
}

double
is_rms_dbfs(const float *x, size_t n)
{
	double		sum = 0.0;

	if (n == 0)
		return -INFINITY;
#pragma omp simd reduction(+:sum)
	for (size_t i = 0; i < n; i++)
		sum += (double) x[i] * x[i];
	/* 20 log10(sqrt(mean)) = 10 log10(mean); log10(0) = -inf. */
	return 10.0 * log10(sum / n);
}

ssize_t
is_segment_read_stream(void *stream, float *buf, size_t max, is_audio_error *err)
{
	return is_audio_read(stream, buf, max, err);
}

ssize_t
is_segment_read_buffer(void *buffer, float *buf, size_t max, is_audio_error *err)
{
	is_sample_buffer *b = buffer;
	size_t		k = b->n - b->at < max ? b->n - b->at : max;

	memcpy(buf, b->x + b->at, k * sizeof(float));
	b->at += k;
	return (ssize_t) k;
}

is_audio_status
is_segmenter_new(const is_frontend *fe, int max_segments, is_sample_reader read,
				 void *read_ctx, is_segmenter **out, is_audio_error *err)
{
	is_segmenter *sg;

	if (out)
		*out = NULL;
	if (!fe || !read || !out)
		return is_audio_set_error(err, IS_AUDIO_INVALID_ARG, "missing segmenter argument");
	/* Bounds keep the window under 64 Mi samples and the hop inside it. */
	if (!(fe->sample_rate > 0 && fe->segment_s > 0.0 && fe->hop_s > 0.0 &&
		  fe->segment_s * fe->sample_rate < (1 << 26) && fe->hop_s <= fe->segment_s &&
		  is_segment_hop_samples(fe) >= 1))
		return is_audio_set_error(err, IS_AUDIO_INVALID_ARG,
								  "segment length %g s / hop %g s at %d Hz is not usable",
								  fe->segment_s, fe->hop_s, fe->sample_rate);
	sg = calloc(1, sizeof(*sg));
	if (!sg)
		return is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "out of memory for the segmenter");
	sg->read = read;
	sg->read_ctx = read_ctx;
	sg->len = is_segment_samples(fe);
	sg->hop = is_segment_hop_samples(fe);
	sg->sample_rate = fe->sample_rate;
	sg->silence_dbfs = fe->silence_dbfs;
	sg->max_segments = max_segments;
	sg->buf = malloc(sizeof(float) * sg->len);
	if (!sg->buf)
	{
		free(sg);
		return is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "out of memory for a %d-sample window",
								  is_segment_samples(fe));
	}
	*out = sg;
	return IS_AUDIO_OK;
}

/* Reads until buf[from..len) is full; returns false at the end or on error. */
static bool
fill(is_segmenter *sg, int from, bool *error, is_audio_error *err)
{
	while (from < sg->len)
	{
		ssize_t		got = sg->read(sg->read_ctx, sg->buf + from, (size_t) (sg->len - from), err);

		if (got < 0)
			*error = true;
		if (got <= 0)
			return false;
		from += (int) got;
	}
	return true;
}

int
is_segmenter_next(is_segmenter *sg, is_segment *seg, is_audio_error *err)
{
	while (!sg->done)
	{
		bool		error = false;
		int			keep = sg->len - sg->hop;
		double		level;

		if (sg->max_segments > 0 && sg->emitted >= sg->max_segments)
			break;
		if (sg->windows > 0)
			memmove(sg->buf, sg->buf + sg->hop, sizeof(float) * keep);
		if (!fill(sg, sg->windows > 0 ? keep : 0, &error, err))
		{
			sg->done = true;
			return error ? -1 : 0;
		}
		level = is_rms_dbfs(sg->buf, (size_t) sg->len);
		if (isnan(level) || level == INFINITY)
		{
			sg->done = true;
			is_audio_set_error(err, IS_AUDIO_CORRUPT, "non-finite samples in window %lld",
							   (long long) sg->windows);
			return -1;
		}
		sg->windows++;
		if (level < sg->silence_dbfs)
		{
			sg->silent++;
			continue;
		}
		sg->emitted++;
		seg->index = sg->windows - 1;
		seg->start_s = (double) seg->index * sg->hop / sg->sample_rate;
		seg->rms_dbfs = level;
		seg->samples = sg->buf;
		seg->n_samples = sg->len;
		return 1;
	}
	return 0;
}

int64_t
is_segmenter_windows(const is_segmenter *sg)
{
	return sg->windows;
}

int64_t
is_segmenter_silent(const is_segmenter *sg)
{
	return sg->silent;
}

void
is_segmenter_free(is_segmenter *sg)
{
	if (!sg)
		return;
	free(sg->buf);
	free(sg);
}
