#include "audio.h"
#include "audio_vio.h"
#include "audio_sniff.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <samplerate.h>
#include <sndfile.h>

#define IS_AUDIO_CONVERTER SRC_SINC_MEDIUM_QUALITY

typedef struct memory_source
{
	const unsigned char *data;
	size_t		len;
} memory_source;

struct is_audio_stream
{
	memory_source mem;			/* backs src for is_audio_open() */
	is_audio_source src;
	int64_t		pos;			/* virtual file position */
	bool		source_failed;
	SNDFILE    *sf;
	is_audio_info info;
	float	   *block;			/* IS_AUDIO_BLOCK interleaved frames */
	/* resampling only */
	SRC_STATE  *src_state;
	double		ratio;
	float	   *mono;			/* IS_AUDIO_BLOCK mono frames awaiting the resampler */
	size_t		mono_pos;
	size_t		mono_len;
	bool		eof;
	int64_t		decoded;		/* frames read from the file so far */
	is_audio_error failure;		/* sticky: set once decoding has failed */
};

is_audio_status
is_audio_set_error(is_audio_error *err, is_audio_status status, const char *fmt,...)
{
	va_list		ap;

	if (err)
	{
		err->status = status;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return status;
}

const char *
is_audio_status_name(is_audio_status status)
{
	switch (status)
	{
		case IS_AUDIO_OK:
			return "ok";
		case IS_AUDIO_INVALID_ARG:
			return "invalid argument";
		case IS_AUDIO_EMPTY:
			return "empty input";
		case IS_AUDIO_UNRECOGNISED:
			return "unrecognised audio";
		case IS_AUDIO_BAD_RATE:
			return "bad sample rate";
		case IS_AUDIO_BAD_CHANNELS:
			return "bad channel count";
		case IS_AUDIO_CORRUPT:
			return "corrupt audio";
		case IS_AUDIO_TOO_LONG:
			return "audio too long";
		case IS_AUDIO_NO_MEMORY:
			return "out of memory";
		case IS_AUDIO_SOURCE_ERROR:
			return "source read error";
		case IS_AUDIO_NOT_FINITE:
			return "non-finite embedding";
		case IS_AUDIO_STOPPED:
			return "stopped";
	}
	return "unknown status";
}

/* ---- libsndfile virtual I/O over an is_audio_source (read only) ---------- */

static sf_count_t
vio_length(void *user)
{
	return ((is_audio_stream *) user)->src.length;
}

static sf_count_t
vio_seek(sf_count_t offset, int whence, void *user)
{
	is_audio_stream *s = user;
	int64_t		to = is_vio_seek(offset, whence, s->pos, s->src.length);

	if (to >= 0)
		s->pos = to;
	return to;
}

static sf_count_t
vio_read(void *ptr, sf_count_t count, void *user)
{
	is_audio_stream *s = user;
	ssize_t		got;

	if (count <= 0 || s->pos >= s->src.length)
		return 0;
	if (count > s->src.length - s->pos)
		count = s->src.length - s->pos;
	got = s->src.read_at(s->src.ctx, s->pos, ptr, (size_t) count);
	if (got < 0)
	{
		s->source_failed = true;
		return 0;
	}
	s->pos += got;
	return got;
}

static sf_count_t
vio_write(const void *ptr, sf_count_t count, void *user)
{
	return 0;
}

static sf_count_t
vio_tell(void *user)
{
	return ((is_audio_stream *) user)->pos;
}

static ssize_t
memory_read_at(void *ctx, int64_t offset, void *buf, size_t n)
{
	const memory_source *m = ctx;

	memcpy(buf, m->data + offset, n);
	return (ssize_t) n;
}

/* ---- opening ------------------------------------------------------------- */

/*
 * Containers libsndfile detects by a reliable magic number.  Headerless
 * formats are excluded so that arbitrary bytes are never taken for audio.
 */
static bool
supported_container(int major)
{
	switch (major)
	{
		case SF_FORMAT_WAV:
		case SF_FORMAT_WAVEX:
		case SF_FORMAT_RF64:
		case SF_FORMAT_W64:
		case SF_FORMAT_AIFF:
		case SF_FORMAT_CAF:
		case SF_FORMAT_FLAC:
		case SF_FORMAT_OGG:
			return true;
		default:
			return false;
	}
}

static void
format_name(int format, char *dst, size_t size)
{
	SF_FORMAT_INFO fi = {.format = format};

	if (sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof(fi)) == 0 && fi.name)
		snprintf(dst, size, "%s", fi.name);
	else
		snprintf(dst, size, "0x%x", (unsigned) format);
}

static void
free_stream(is_audio_stream *s)
{
	if (s->sf)
		sf_close(s->sf);
	if (s->src_state)
		src_delete(s->src_state);
	free(s->block);
	free(s->mono);
	free(s);
}

static bool
valid_rate(int rate)
{
	return rate >= IS_AUDIO_MIN_RATE && rate <= IS_AUDIO_MAX_RATE;
}

/* Opens libsndfile on the source and validates the header into s->info. */
static is_audio_status
open_sndfile(is_audio_stream *s, is_audio_error *err)
{
	SF_VIRTUAL_IO vio = {vio_length, vio_seek, vio_read, vio_write, vio_tell};
	SF_INFO		sfi = {0};
	is_audio_info *info = &s->info;
	is_audio_status st;

	if (s->src.length <= 0)
		return is_audio_set_error(err, IS_AUDIO_EMPTY, "audio data is empty");
	st = is_audio_sniff(&s->src, err);
	if (st != IS_AUDIO_OK)
		return st;
	s->sf = sf_open_virtual(&vio, SFM_READ, &sfi, s);
	if (s->source_failed)
		return is_audio_set_error(err, IS_AUDIO_SOURCE_ERROR, "could not read the audio data");
	if (!s->sf)
		return is_audio_set_error(err, IS_AUDIO_UNRECOGNISED, "not a recognised audio file: %s",
					sf_strerror(NULL));
	if (!supported_container(sfi.format & SF_FORMAT_TYPEMASK))
		return is_audio_set_error(err, IS_AUDIO_UNRECOGNISED,
					"unsupported audio container (use WAV, FLAC, OGG, AIFF, CAF, W64 or RF64)");
	if (!valid_rate(sfi.samplerate))
		return is_audio_set_error(err, IS_AUDIO_BAD_RATE,
					"sample rate %d Hz is outside %d..%d Hz", sfi.samplerate,
					IS_AUDIO_MIN_RATE, IS_AUDIO_MAX_RATE);
	if (sfi.channels < 1 || sfi.channels > IS_AUDIO_MAX_CHANNELS)
		return is_audio_set_error(err, IS_AUDIO_BAD_CHANNELS,
					"channel count %d is outside 1..%d", sfi.channels,
					IS_AUDIO_MAX_CHANNELS);
	if (sfi.frames < 0)
		return is_audio_set_error(err, IS_AUDIO_CORRUPT, "negative frame count in header");

	info->sample_rate = sfi.samplerate;
	info->channels = sfi.channels;
	info->frames = sfi.frames == SF_COUNT_MAX ? -1 : sfi.frames;
	info->seconds = info->frames < 0 ? -1.0 : (double) sfi.frames / sfi.samplerate;
	format_name(sfi.format & SF_FORMAT_TYPEMASK, info->format, sizeof(info->format));
	format_name(sfi.format & SF_FORMAT_SUBMASK, info->encoding, sizeof(info->encoding));
	return IS_AUDIO_OK;
}

static is_audio_status
start_stream(is_audio_stream *s, int target_rate, is_audio_error *err)
{
	is_audio_status st = open_sndfile(s, err);
	int			src_err = 0;

	if (st != IS_AUDIO_OK)
		return st;
	s->block = malloc(sizeof(float) * IS_AUDIO_BLOCK * s->info.channels);
	if (!s->block)
		return is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "out of memory for the decode buffer");
	if (s->info.sample_rate == target_rate)
		return IS_AUDIO_OK;

	s->ratio = (double) target_rate / s->info.sample_rate;
	s->mono = malloc(sizeof(float) * IS_AUDIO_BLOCK);
	if (!s->mono)
		return is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "out of memory for the resample buffer");
	s->src_state = src_new(IS_AUDIO_CONVERTER, 1, &src_err);
	if (!s->src_state)
		return is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "cannot create resampler: %s",
					src_strerror(src_err));
	return IS_AUDIO_OK;
}

/* Takes ownership of s (freed on failure). */
static is_audio_status
finish_open(is_audio_stream *s, int target_rate, is_audio_stream **out,
			is_audio_error *err)
{
	is_audio_status st;

	if (!valid_rate(target_rate))
		st = is_audio_set_error(err, IS_AUDIO_INVALID_ARG, "target sample rate %d Hz is outside %d..%d Hz",
				  target_rate, IS_AUDIO_MIN_RATE, IS_AUDIO_MAX_RATE);
	else
		st = start_stream(s, target_rate, err);
	if (st != IS_AUDIO_OK)
	{
		free_stream(s);
		return st;
	}
	*out = s;
	return IS_AUDIO_OK;
}

is_audio_status
is_audio_open_source(const is_audio_source *src, int target_rate,
					 is_audio_stream **out, is_audio_error *err)
{
	is_audio_stream *s;

	if (out)
		*out = NULL;
	if (!src || !out || (src->length > 0 && !src->read_at))
		return is_audio_set_error(err, IS_AUDIO_INVALID_ARG, "missing audio source or output");
	s = calloc(1, sizeof(*s));
	if (!s)
		return is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "out of memory for the audio stream");
	s->src = *src;
	return finish_open(s, target_rate, out, err);
}

is_audio_status
is_audio_open(const void *data, size_t len, int target_rate,
			  is_audio_stream **out, is_audio_error *err)
{
	is_audio_stream *s;

	if (out)
		*out = NULL;
	if ((!data && len > 0) || !out)
		return is_audio_set_error(err, IS_AUDIO_INVALID_ARG, "missing audio data or output");
	s = calloc(1, sizeof(*s));
	if (!s)
		return is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "out of memory for the audio stream");
	s->mem = (memory_source) {data, len};
	s->src = (is_audio_source) {.length = (int64_t) len,.read_at = memory_read_at,.ctx = &s->mem};
	return finish_open(s, target_rate, out, err);
}

is_audio_status
is_audio_probe(const void *data, size_t len, is_audio_info *info,
			   is_audio_error *err)
{
	memory_source m = {data, len};
	is_audio_stream s = {.src = {.length = (int64_t) len,.read_at = memory_read_at,.ctx = &m}};
	is_audio_status st;

	if (!info || (!data && len > 0))
		return is_audio_set_error(err, IS_AUDIO_INVALID_ARG, "missing audio data or info");
	st = open_sndfile(&s, err);
	if (st == IS_AUDIO_OK)
		*info = s.info;
	if (s.sf)
		sf_close(s.sf);
	return st;
}

const is_audio_info *
is_audio_stream_info(const is_audio_stream *s)
{
	return &s->info;
}

void
is_audio_close(is_audio_stream *s)
{
	if (!s)
		return;
	free_stream(s);
}

/* ---- reading ------------------------------------------------------------- */

static ssize_t
stream_failed(is_audio_stream *s, is_audio_error *err, is_audio_status status,
			  const char *msg)
{
	if (s->failure.status == IS_AUDIO_OK)
		is_audio_set_error(&s->failure, status, "%s", msg);
	if (err)
		*err = s->failure;
	return -1;
}

/*
 * libsndfile recovers the samples present in a WAV/AIFF cut inside its data
 * (and shrinks the declared length to match, which is also how it accepts
 * streamed WAVs whose header never got the final size); FLAC and OGG cut
 * inside a frame fail to decode.  So a stream that ends before the length its
 * header declares is truncated.  (An OGG cut exactly between pages is
 * indistinguishable from a shorter file.)
 */
static ssize_t
end_of_data(is_audio_stream *s, is_audio_error *err)
{
	char		msg[128];

	if (sf_error(s->sf) != SF_ERR_NO_ERROR)
		return stream_failed(s, err, IS_AUDIO_CORRUPT, sf_strerror(s->sf));
	/* libsndfile reports an OGG cut mid-page as of unknown length and empty. */
	if (s->info.frames < 0 && s->decoded == 0)
		return stream_failed(s, err, IS_AUDIO_CORRUPT,
							 "no audio could be decoded (truncated file?)");
	if (s->decoded < s->info.frames)
	{
		snprintf(msg, sizeof(msg), "audio data ends after %lld of %lld frames (truncated file?)",
				 (long long) s->decoded, (long long) s->info.frames);
		return stream_failed(s, err, IS_AUDIO_CORRUPT, msg);
	}
	return 0;
}

/*
 * Decodes up to n (<= IS_AUDIO_BLOCK) frames at the file's rate, averaged to
 * mono into dst.  Returns the count, 0 at the end, -1 on failure.
 */
static ssize_t
decode_mono(is_audio_stream *s, float *dst, size_t n, is_audio_error *err)
{
	int			ch = s->info.channels;
	float	   *in = ch == 1 ? dst : s->block;
	sf_count_t	got = sf_readf_float(s->sf, in, (sf_count_t) n);
	float		scale = 1.0f / ch;
	int			bad = 0;

	if (s->source_failed)
		return stream_failed(s, err, IS_AUDIO_SOURCE_ERROR, "could not read the audio data");
	if (got <= 0)
		return end_of_data(s, err);
	s->decoded += got;
	if (ch > 1)
		for (sf_count_t i = 0; i < got; i++)
		{
			float		sum = 0.0f;

			for (int c = 0; c < ch; c++)
				sum += in[i * ch + c];
			dst[i] = sum * scale;
		}
	/* NaN fails the comparison too. */
#pragma omp simd reduction(|:bad)
	for (sf_count_t i = 0; i < got; i++)
		bad |= !(fabsf(dst[i]) <= IS_AUDIO_MAX_SAMPLE);
	if (bad)
		return stream_failed(s, err, IS_AUDIO_CORRUPT,
							 "audio contains non-finite or out-of-range samples");
	return (ssize_t) got;
}

static ssize_t
read_direct(is_audio_stream *s, float *buf, size_t max, is_audio_error *err)
{
	size_t		done = 0;

	while (done < max)
	{
		size_t		want = max - done < IS_AUDIO_BLOCK ? max - done : IS_AUDIO_BLOCK;
		ssize_t		got = decode_mono(s, buf + done, want, err);

		if (got < 0)
			return -1;
		if (got == 0)
			break;
		done += (size_t) got;
	}
	return (ssize_t) done;
}

static ssize_t
read_resampled(is_audio_stream *s, float *buf, size_t max, is_audio_error *err)
{
	size_t		done = 0;

	while (done < max)
	{
		SRC_DATA	d;
		int			e;

		if (s->mono_pos == s->mono_len && !s->eof)
		{
			ssize_t		got = decode_mono(s, s->mono, IS_AUDIO_BLOCK, err);

			if (got < 0)
				return -1;
			s->eof = got == 0;
			s->mono_pos = 0;
			s->mono_len = (size_t) got;
		}
		d = (SRC_DATA) {
			.data_in = s->mono + s->mono_pos,
			.input_frames = (long) (s->mono_len - s->mono_pos),
			.data_out = buf + done,
			.output_frames = (long) (max - done < IS_AUDIO_BLOCK ? max - done : IS_AUDIO_BLOCK),
			.end_of_input = s->eof,
			.src_ratio = s->ratio
		};
		e = src_process(s->src_state, &d);
		if (e)
			return stream_failed(s, err, IS_AUDIO_CORRUPT, src_strerror(e));
		s->mono_pos += (size_t) d.input_frames_used;
		done += (size_t) d.output_frames_gen;
		/* With all input consumed and flushed, nothing more will come. */
		if (d.output_frames_gen == 0 && d.input_frames_used == 0 && s->eof)
			break;
	}
	return (ssize_t) done;
}

ssize_t
is_audio_read(is_audio_stream *s, float *buf, size_t max, is_audio_error *err)
{
	if (!s || (!buf && max > 0))
	{
		is_audio_set_error(err, IS_AUDIO_INVALID_ARG, "missing stream or buffer");
		return -1;
	}
	if (s->failure.status != IS_AUDIO_OK)
		return stream_failed(s, err, s->failure.status, "");
	return s->src_state ? read_resampled(s, buf, max, err) : read_direct(s, buf, max, err);
}

is_audio_status
is_audio_decode(const void *data, size_t len, int target_rate, size_t max_frames,
				float **out, size_t *n_out, is_audio_error *err)
{
	is_audio_stream *s;
	is_audio_status st;
	float	   *buf = NULL;
	size_t		cap = 0;
	size_t		n = 0;
	/* One frame over the limit tells "too long" from "exactly max_frames". */
	size_t		limit = max_frames < SIZE_MAX / sizeof(float) ? max_frames + 1 : SIZE_MAX / sizeof(float);

	if (!out || !n_out)
		return is_audio_set_error(err, IS_AUDIO_INVALID_ARG, "missing output");
	*out = NULL;
	*n_out = 0;
	st = is_audio_open(data, len, target_rate, &s, err);
	if (st != IS_AUDIO_OK)
		return st;
	for (;;)
	{
		ssize_t		got;

		if (n == cap)
		{
			size_t		want = cap ? cap * 2 : (size_t) IS_AUDIO_BLOCK * 16;
			float	   *grown;

			if (cap >= limit)
			{
				st = is_audio_set_error(err, IS_AUDIO_TOO_LONG, "audio is longer than %zu frames", max_frames);
				break;
			}
			if (want > limit)
				want = limit;
			grown = realloc(buf, want * sizeof(float));
			if (!grown)
			{
				st = is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "out of memory for %zu frames", want);
				break;
			}
			buf = grown;
			cap = want;
		}
		got = is_audio_read(s, buf + n, cap - n, err);
		if (got < 0)
		{
			st = s->failure.status;
			break;
		}
		if (got == 0)
			break;
		n += (size_t) got;
	}
	is_audio_close(s);
	if (st != IS_AUDIO_OK)
	{
		free(buf);
		return st;
	}
	*out = buf;
	*n_out = n;
	return IS_AUDIO_OK;
}
