/*
 * Writing one rendered track in the Slakh2100 layout (see slakh.h).
 *
 * Level: the mix is the sample sum of the stems, and one gain (recorded as
 * overall_gain) scales every stem and the mix together so that the mix peaks
 * at CORPUS_PEAK (-1 dBFS): the stems still add up to the mix (to 16-bit
 * rounding), the mix never clips and quiet songs are not lost in the
 * quantisation.  Stems are not loudness-normalised one by one (normalized:
 * false): the balance between parts is the arrangement's, as in the MIDI.
 */
#ifndef INSTSIM_CORPUS_H
#define INSTSIM_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "render.h"

#define CORPUS_PEAK 0.891f		/* -1 dBFS */

/* Optional per-stem MIDI (Slakh's MIDI/SNN.mid), one entry per rendered part. */
typedef struct corpus_part_midi
{
	const uint8_t *data[RENDER_MAX_PARTS];
	size_t		len[RENDER_MAX_PARTS];
} corpus_part_midi;

/*
 * Writes track_dir (created if missing) from r, whose stems are scaled in
 * place.  midi is saved as all_src.mid; part_midi may be NULL.  source is a
 * free-text origin recorded in the metadata.
 */
int			corpus_write_track(const char *track_dir, render_out *r,
							   const void *midi, size_t midi_len,
							   const corpus_part_midi *part_midi,
							   const char *source, char *err, size_t errlen);

#endif
