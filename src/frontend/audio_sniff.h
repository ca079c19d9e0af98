/*
 * What the decoder refuses before libsndfile sees it.  libsndfile guesses a
 * format for bytes it does not recognise and hands anything resembling MPEG
 * (raw frames, or MPEG inside a WAV) to libmpg123, which prints warnings
 * straight to stderr, i.e. unprefixed into the PostgreSQL server log; and it
 * leaks on damaged OGG headers (audio_ogg.h).  So only the supported
 * containers pass, by their magic number, without MPEG-coded WAV data, and
 * OGG only with sound headers.
 */
#ifndef INSTSIM_AUDIO_SNIFF_H
#define INSTSIM_AUDIO_SNIFF_H

#include <stdbool.h>

#include "audio.h"

/* IS_AUDIO_OK, or IS_AUDIO_UNRECOGNISED / IS_AUDIO_CORRUPT / IS_AUDIO_SOURCE_ERROR with err set. */
is_audio_status is_audio_sniff(const is_audio_source *src, is_audio_error *err);

/*
 * n bytes at offset at of src; false at its end or on a read error (then
 * *failed is set).
 */
bool		is_audio_read_exact(const is_audio_source *src, int64_t at, void *buf, size_t n,
								bool *failed);

#endif
