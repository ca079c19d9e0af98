#include "audio_io.h"
#include "errbuf.h"

#include <samplerate.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decoded in blocks so a stereo file never needs a second full-size buffer. */
#define READ_BLOCK 8192

static int
read_native(SNDFILE *f, const SF_INFO *info, float *mono, char *err,
			size_t errlen, const char *path)
{
	int			ch = info->channels;
	float	   *block = malloc(sizeof(float) * READ_BLOCK * ch);
	sf_count_t	done = 0;

	if (!block)
		return is_fail(err, errlen, "%s: out of memory", path);
	while (done < info->frames)
	{
		sf_count_t	want = info->frames - done < READ_BLOCK ? info->frames - done : READ_BLOCK;
		sf_count_t	got = sf_readf_float(f, block, want);

		if (got <= 0)
		{
			free(block);
			return is_fail(err, errlen, "%s: truncated after %lld of %lld frames",
						   path, (long long) done, (long long) info->frames);
		}
		for (sf_count_t i = 0; i < got; i++)
		{
			float		s = 0.0f;

			for (int c = 0; c < ch; c++)
				s += block[i * ch + c];
			mono[done + i] = s / ch;
		}
		done += got;
	}
	free(block);
	return 0;
}

static int
resample(float **x, size_t *n, int from, int to, char *err, size_t errlen,
		 const char *path)
{
	double		ratio = (double) to / from;
	size_t		out_n = (size_t) ((double) *n * ratio);
	float	   *out = malloc(sizeof(float) * (out_n ? out_n : 1));
	SRC_DATA	d = {0};
	int			rc;

	if (!out)
		return is_fail(err, errlen, "%s: out of memory", path);
	d.data_in = *x;
	d.input_frames = (long) *n;
	d.data_out = out;
	d.output_frames = (long) out_n;
	d.src_ratio = ratio;
	rc = src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1);
	if (rc != 0)
	{
		free(out);
		return is_fail(err, errlen, "%s: resampling %d -> %d Hz failed: %s",
					   path, from, to, src_strerror(rc));
	}
	free(*x);
	*x = out;
	*n = (size_t) d.output_frames_gen;
	return 0;
}

int
audio_read_mono(const char *path, int sample_rate, float **x, size_t *n,
				char *err, size_t errlen)
{
	SF_INFO		info = {0};
	SNDFILE    *f;
	float	   *mono;

	*x = NULL;
	*n = 0;
	f = sf_open(path, SFM_READ, &info);
	if (!f)
		return is_fail(err, errlen, "cannot read audio %s: %s", path, sf_strerror(NULL));
	if (info.channels < 1 || info.samplerate < 1 || info.frames < 0 ||
		(uint64_t) info.frames > SIZE_MAX / sizeof(float))
	{
		sf_close(f);
		return is_fail(err, errlen, "%s: implausible header (%d channels, %d Hz)",
					   path, info.channels, info.samplerate);
	}
	if (info.frames == 0)
	{
		sf_close(f);
		return 0;
	}
	mono = malloc(sizeof(float) * (size_t) info.frames);
	if (!mono)
	{
		sf_close(f);
		return is_fail(err, errlen, "%s: out of memory for %lld frames", path,
					   (long long) info.frames);
	}
	if (read_native(f, &info, mono, err, errlen, path) != 0)
	{
		sf_close(f);
		free(mono);
		return -1;
	}
	sf_close(f);
	*x = mono;
	*n = (size_t) info.frames;
	if (info.samplerate != sample_rate &&
		resample(x, n, info.samplerate, sample_rate, err, errlen, path) != 0)
	{
		free(*x);
		*x = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int
audio_write_flac(const char *path, const float *x, size_t n, int sample_rate,
				 char *err, size_t errlen)
{
	SF_INFO		info = {0};
	SNDFILE    *f;
	sf_count_t	put;

	info.samplerate = sample_rate;
	info.channels = 1;
	info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
	f = sf_open(path, SFM_WRITE, &info);
	if (!f)
		return is_fail(err, errlen, "cannot write %s: %s", path, sf_strerror(NULL));
	sf_command(f, SFC_SET_CLIPPING, NULL, SF_TRUE);
	put = n ? sf_writef_float(f, x, (sf_count_t) n) : 0;
	if (put != (sf_count_t) n)
	{
		is_fail(err, errlen, "writing %s failed: %s", path, sf_strerror(f));
		sf_close(f);
		return -1;
	}
	if (sf_close(f) != 0)
		return is_fail(err, errlen, "closing %s failed", path);
	return 0;
}
