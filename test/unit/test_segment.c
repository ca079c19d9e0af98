/*
 * Segmentation on synthetic signals: window counts and start times, the
 * dropped tail, silence threshold on both sides, the cap, chunked readers,
 * read errors, non-finite samples, and the decoder feeding the segmenter.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio_encode.h"
#include "segment.h"
#include "tap.h"

#define RATE 44100

typedef struct mem_reader
{
	const float *x;
	size_t		n;
	size_t		pos;
	size_t		chunk;			/* most samples handed out per call */
	size_t		fail_at;		/* error once pos reaches this (0: never) */
} mem_reader;

static ssize_t
mem_read(void *ctx, float *buf, size_t max, is_audio_error *err)
{
	mem_reader *r = ctx;
	size_t		k = r->n - r->pos;

	if (r->fail_at && r->pos >= r->fail_at)
		return is_audio_set_error(err, IS_AUDIO_SOURCE_ERROR, "test reader failed"), -1;
	if (k > max)
		k = max;
	if (r->chunk && k > r->chunk)
		k = r->chunk;
	memcpy(buf, r->x + r->pos, k * sizeof(float));
	r->pos += k;
	return (ssize_t) k;
}

/* Sine of the given RMS level (dBFS) over [from, to) seconds, zero elsewhere. */
static float *
tone(double seconds, double from, double to, double dbfs)
{
	size_t		n = (size_t) lround(seconds * RATE);
	float	   *x = calloc(n, sizeof(float));
	double		amp = sqrt(2.0) * pow(10.0, dbfs / 20.0);

	for (size_t i = (size_t) lround(from * RATE); x && i < n && i < (size_t) lround(to * RATE); i++)
		x[i] = (float) (amp * sin(2.0 * M_PI * 441.0 * i / RATE));
	return x;
}

/* Runs a segmenter to the end; returns segments, fills indices. */
static int
run(const float *x, size_t n, size_t chunk, int cap, int64_t *index, int max_index,
	double *first_level)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;
	mem_reader	r = {x, n, 0, chunk, 0};
	is_segmenter *sg = NULL;
	is_segment	seg;
	is_audio_error err = {0};
	int			count = 0;

	if (is_segmenter_new(&fe, cap, mem_read, &r, &sg, &err) != IS_AUDIO_OK)
		return -1;
	while (is_segmenter_next(sg, &seg, &err) == 1)
	{
		if (count < max_index)
			index[count] = seg.index;
		if (count == 0 && first_level)
			*first_level = seg.rms_dbfs;
		if (seg.n_samples != 132300 || seg.samples[0] != x[seg.index * 66150] ||
			fabs(seg.start_s - seg.index * 1.5) > 1e-12)
			count = -1000;
		count++;
	}
	is_segmenter_free(sg);
	return count;
}

static void
check_counts(void)
{
	int64_t		idx[16];
	float	   *x = tone(10.0, 0.0, 10.0, -20.0);
	double		level = 0;

	tap_ok(is_segment_samples(&(is_frontend) IS_FRONTEND_DEFAULT) == 132300 &&
		   is_segment_hop_samples(&(is_frontend) IS_FRONTEND_DEFAULT) == 66150,
		   "3 s / 1.5 s at 44.1 kHz is 132300 / 66150 samples");
	/* 10 s: windows at 0, 1.5, 3, 4.5, 6 s; the 1-s tail after 9 s is dropped. */
	tap_ok(run(x, 10 * RATE, 0, 0, idx, 16, &level) == 5 && idx[4] == 4,
		   "10 s of tone gives 5 windows, start times k * 1.5 s, samples aligned");
	tap_near(level, -20.0, 0.01, "segment RMS level is reported in dBFS");
	tap_ok(run(x, 10 * RATE, 1000, 0, idx, 16, NULL) == 5, "a reader returning 1000 samples per call gives the same");
	tap_ok(run(x, 132300, 0, 0, idx, 16, NULL) == 1, "exactly 3 s gives one window");
	tap_ok(run(x, 132299, 0, 0, idx, 16, NULL) == 0, "2.99998 s gives none (tail dropped)");
	tap_ok(run(x, 0, 0, 0, idx, 16, NULL) == 0, "empty stream gives none");
	tap_ok(run(x, 10 * RATE, 0, 2, idx, 16, NULL) == 2, "cap of 2 stops after 2 segments");
	free(x);
}

static void
check_silence(void)
{
	int64_t		idx[16];
	float	   *x = tone(10.0, 0.0, 4.5, -10.0);
	float	   *quiet = tone(3.0, 0.0, 3.0, -59.5);
	float	   *quieter = tone(3.0, 0.0, 3.0, -60.5);
	float	   *loud_late = tone(10.0, 8.0, 10.0, -10.0);

	/* Tone in 0..4.5 s: windows 0, 1, 2 sound; 3 (4.5..7.5) and 4 are silent. */
	tap_ok(run(x, 10 * RATE, 0, 0, idx, 16, NULL) == 3 && idx[2] == 2,
		   "windows that are digital silence are skipped");
	tap_ok(run(quiet, 3 * RATE, 0, 0, idx, 16, NULL) == 1, "-59.5 dBFS is not silent");
	tap_ok(run(quieter, 3 * RATE, 0, 0, idx, 16, NULL) == 0, "-60.5 dBFS is silent");
	/* Tone in 8..10 s: only window 4 (6..9 s) has it; the cap counts non-silent ones. */
	tap_ok(run(loud_late, 10 * RATE, 0, 1, idx, 16, NULL) == 1 && idx[0] == 4,
		   "silent windows do not count against the cap; the index counts them");
	tap_near(is_rms_dbfs((float[]) {1, -1, 1, -1}, 4), 0.0, 1e-12, "full-scale square is 0 dBFS");
	tap_ok(isinf(is_rms_dbfs((float[]) {0, 0}, 2)), "digital silence is -inf dBFS");
	free(x);
	free(quiet);
	free(quieter);
	free(loud_late);
}

static void
check_errors(void)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;
	float	   *x = tone(10.0, 0.0, 10.0, -20.0);
	mem_reader	r = {x, 10 * RATE, 0, 0, 5 * RATE};
	is_segmenter *sg = NULL;
	is_segment	seg;
	is_audio_error err = {0};
	int			rc;
	int			count = 0;

	is_segmenter_new(&fe, 0, mem_read, &r, &sg, &err);
	while ((rc = is_segmenter_next(sg, &seg, &err)) == 1)
		count++;
	tap_ok(rc == -1 && err.status == IS_AUDIO_SOURCE_ERROR && count == 3,
		   "a read error ends segmentation with -1 after the whole windows (%s)", err.message);
	tap_ok(is_segmenter_next(sg, &seg, &err) == 0, "and the segmenter stays finished");
	is_segmenter_free(sg);

	x[70000] = NAN;
	r = (mem_reader) {x, 10 * RATE, 0, 0, 0};
	is_segmenter_new(&fe, 0, mem_read, &r, &sg, &err);
	tap_ok(is_segmenter_next(sg, &seg, &err) == -1 && err.status == IS_AUDIO_CORRUPT,
		   "NaN samples are an error (%s)", err.message);
	is_segmenter_free(sg);

	fe.hop_s = 4.0;
	tap_ok(is_segmenter_new(&fe, 0, mem_read, &r, &sg, &err) == IS_AUDIO_INVALID_ARG && !sg,
		   "a hop longer than the segment is refused (%s)", err.message);
	fe = (is_frontend) IS_FRONTEND_DEFAULT;
	fe.segment_s = 0;
	tap_ok(is_segmenter_new(&fe, 0, mem_read, &r, &sg, &err) == IS_AUDIO_INVALID_ARG,
		   "a zero-length segment is refused");
	tap_ok(is_segmenter_new(&fe, 0, NULL, &r, &sg, &err) == IS_AUDIO_INVALID_ARG,
		   "a missing reader is refused");
	free(x);
}

/* FLAC bytes -> decoder -> segmenter, as the server will run it. */
static void
check_from_decoder(void)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;
	float	   *x = tone(7.0, 0.0, 7.0, -20.0);
	unsigned char *flac = NULL;
	size_t		len = 0;
	is_audio_stream *s = NULL;
	is_segmenter *sg = NULL;
	is_segment	seg;
	is_audio_error err = {0};
	int			count = 0;

	is_audio_encode(x, 7 * RATE, 1, RATE, IS_AUDIO_FLAC_PCM16, &flac, &len, &err);
	tap_ok(is_audio_open(flac, len, RATE, &s, &err) == IS_AUDIO_OK &&
		   is_segmenter_new(&fe, 0, is_segment_read_stream, s, &sg, &err) == IS_AUDIO_OK,
		   "segmenter over a FLAC stream");
	while (sg && is_segmenter_next(sg, &seg, &err) == 1)
		count++;
	tap_ok(count == 3 && is_segmenter_windows(sg) == 3 && is_segmenter_silent(sg) == 0,
		   "7 s of FLAC gives 3 segments");
	is_segmenter_free(sg);
	is_audio_close(s);
	free(flac);
	free(x);
}

int
main(void)
{
	check_counts();
	check_silence();
	check_errors();
	check_from_decoder();
	return tap_done();
}
