/*
 * FNV-1a, 64 bits: a stable fingerprint of MIDI data (track ids, a song
 * given twice, the soundfont draw), of a track's files (its mel cache key)
 * and of a network's layer table (checkpoints).  Not for anything an
 * adversary chooses to collide.
 */
#ifndef INSTSIM_HASH_H
#define INSTSIM_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_BASIS 0xcbf29ce484222325ULL

/* Continues the hash h over data[0..len); start from FNV1A64_BASIS. */
static inline uint64_t
fnv1a64(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

#endif
