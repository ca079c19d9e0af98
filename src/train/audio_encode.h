/*
 * Encoding float audio into an in-memory file, the inverse of audio.h: the
 * corpus tool writes stems with it, separated stems are returned as bytea,
 * and the tests build their WAV/FLAC/OGG/AIFF inputs without touching disk.
 */
#ifndef INSTSIM_AUDIO_ENCODE_H
#define INSTSIM_AUDIO_ENCODE_H

#include "audio.h"

typedef enum is_audio_container
{
	IS_AUDIO_WAV_PCM16,
	IS_AUDIO_WAV_FLOAT,
	IS_AUDIO_FLAC_PCM16,
	IS_AUDIO_OGG_VORBIS,
	IS_AUDIO_AIFF_PCM16
} is_audio_container;

/*
 * Encodes frames x channels interleaved samples (full scale 1.0; PCM
 * encodings clip beyond it).  *out is malloc'd (free() it), *out_len its size.
 */
is_audio_status is_audio_encode(const float *interleaved, size_t frames,
								int channels, int sample_rate,
								is_audio_container container,
								unsigned char **out, size_t *out_len,
								is_audio_error *err);

#endif
