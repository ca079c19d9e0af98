/*
 * Position arithmetic shared by the libsndfile virtual-I/O callbacks of the
 * decoder (audio.c) and the encoder (audio_encode.c).
 */
#ifndef INSTSIM_AUDIO_VIO_H
#define INSTSIM_AUDIO_VIO_H

#include <stdint.h>
#include <stdio.h>

/*
 * The position a seek moves to, or -1 before the start.  Seeking past the end
 * is allowed: libsndfile probes there, and reads then return 0.
 */
static inline int64_t
is_vio_seek(int64_t offset, int whence, int64_t pos, int64_t length)
{
	int64_t		base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? pos : length;

	return offset < -base ? -1 : base + offset;
}

#endif
