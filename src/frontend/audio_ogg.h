/*
 * Checks the headers of an Ogg Vorbis or Opus stream before libsndfile sees
 * it.  libsndfile 1.2 leaks the Vorbis codec setup (about 6 KiB of malloc,
 * outside any PostgreSQL memory context) whenever it fails to open an OGG
 * file, so a damaged file must be refused before that: every page up to the
 * end of the codec's header packets must pass its CRC, and the
 * identification and comment headers must be what libvorbis accepts.
 */
#ifndef INSTSIM_AUDIO_OGG_H
#define INSTSIM_AUDIO_OGG_H

#include <stddef.h>

#include "audio.h"

/*
 * IS_AUDIO_OK for a sound Ogg header or a source that is not Ogg (it starts
 * otherwise, or carries another codec); IS_AUDIO_CORRUPT or
 * IS_AUDIO_SOURCE_ERROR with err set.
 */
is_audio_status is_ogg_check_headers(const is_audio_source *src, is_audio_error *err);

#endif
