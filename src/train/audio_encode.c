#include "audio_encode.h"
#include "audio_vio.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

/* A growable in-memory file for libsndfile's virtual I/O. */
typedef struct memory_file
{
	unsigned char *data;
	sf_count_t	len;
	sf_count_t	cap;
	sf_count_t	pos;
	bool		oom;
} memory_file;

static sf_count_t
mf_length(void *user)
{
	return ((memory_file *) user)->len;
}

static sf_count_t
mf_seek(sf_count_t offset, int whence, void *user)
{
	memory_file *f = user;
	int64_t		to = is_vio_seek(offset, whence, f->pos, f->len);

	if (to >= 0)
		f->pos = to;
	return to;
}

static sf_count_t
mf_read(void *ptr, sf_count_t count, void *user)
{
	memory_file *f = user;

	if (count <= 0 || f->pos >= f->len)
		return 0;
	if (count > f->len - f->pos)
		count = f->len - f->pos;
	memcpy(ptr, f->data + f->pos, (size_t) count);
	f->pos += count;
	return count;
}

static sf_count_t
mf_write(const void *ptr, sf_count_t count, void *user)
{
	memory_file *f = user;
	sf_count_t	end = f->pos + count;

	if (count <= 0)
		return 0;
	if (end > f->cap)
	{
		sf_count_t	cap = f->cap ? f->cap : 65536;
		unsigned char *grown;

		while (cap < end)
			cap *= 2;
		grown = realloc(f->data, (size_t) cap);
		if (!grown)
		{
			f->oom = true;
			return 0;
		}
		f->data = grown;
		f->cap = cap;
	}
	/* A seek past the end followed by a write leaves a hole of zeros. */
	if (f->pos > f->len)
		memset(f->data + f->len, 0, (size_t) (f->pos - f->len));
	memcpy(f->data + f->pos, ptr, (size_t) count);
	f->pos = end;
	if (end > f->len)
		f->len = end;
	return count;
}

static sf_count_t
mf_tell(void *user)
{
	return ((memory_file *) user)->pos;
}

static int
sndfile_format(is_audio_container container)
{
	switch (container)
	{
		case IS_AUDIO_WAV_PCM16:
			return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
		case IS_AUDIO_WAV_FLOAT:
			return SF_FORMAT_WAV | SF_FORMAT_FLOAT;
		case IS_AUDIO_FLAC_PCM16:
			return SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
		case IS_AUDIO_OGG_VORBIS:
			return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
		case IS_AUDIO_AIFF_PCM16:
			return SF_FORMAT_AIFF | SF_FORMAT_PCM_16;
	}
	return 0;
}

is_audio_status
is_audio_encode(const float *interleaved, size_t frames, int channels,
				int sample_rate, is_audio_container container,
				unsigned char **out, size_t *out_len, is_audio_error *err)
{
	SF_VIRTUAL_IO vio = {mf_length, mf_seek, mf_read, mf_write, mf_tell};
	SF_INFO		sfi = {.samplerate = sample_rate,.channels = channels,
	.format = sndfile_format(container)};
	memory_file f = {0};
	SNDFILE    *sf;
	sf_count_t	written;
	int			close_err;

	if (!out || !out_len || (!interleaved && frames > 0))
		return is_audio_set_error(err, IS_AUDIO_INVALID_ARG, "missing samples or output");
	*out = NULL;
	*out_len = 0;
	if (!sf_format_check(&sfi))
		return is_audio_set_error(err, IS_AUDIO_INVALID_ARG,
								  "cannot encode %d channels at %d Hz in this container",
								  channels, sample_rate);
	sf = sf_open_virtual(&vio, SFM_WRITE, &sfi, &f);
	if (!sf)
	{
		free(f.data);
		return is_audio_set_error(err, IS_AUDIO_INVALID_ARG, "cannot start encoding: %s",
								  sf_strerror(NULL));
	}
	/* Clip rather than wrap around when a PCM sample exceeds full scale. */
	sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	written = sf_writef_float(sf, interleaved, (sf_count_t) frames);
	close_err = sf_close(sf);
	if (f.oom)
	{
		free(f.data);
		return is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "out of memory while encoding");
	}
	if (written != (sf_count_t) frames || close_err != 0)
	{
		free(f.data);
		return is_audio_set_error(err, IS_AUDIO_CORRUPT, "encoding failed");
	}
	*out = f.data;
	*out_len = (size_t) f.len;
	return IS_AUDIO_OK;
}
