/*
 * Procedural songs for a training corpus when no MIDI is at hand.
 *
 * Per-instrument similarity must be learnt from differences real songs have,
 * so each song draws, from its own seed: tempo, metre, key and mode, a chord
 * progression per section, a song form (intro / verse / chorus / bridge /
 * outro with their own energy), a drum groove and kit (rock, pop, funk,
 * disco, half-time, shuffle, jazz ride, bossa, reggae one-drop, hip-hop,
 * waltz), a bass line style (root pulse, root-fifth, walking, syncopated,
 * octave, kick-following, sustained), a piano style (block chords, pulsing,
 * arpeggios, comping, ballad, stride) with voice-led voicings, a guitar style
 * (strummed with string stagger, finger-picked, power-chord chugs, funk
 * scratches, riffs, off-beat skanks), the GM program of every part from its
 * class, mix levels, pan and effect sends, swing and humanisation (timing and
 * velocity).  Optionally a fifth part (pad, strings, organ or a lead melody)
 * plays in the mix.  Drums, bass, piano and guitar play through most of the
 * song so every instrument yields enough non-silent segments.
 *
 * Everything comes from the tool's own PRNG: the same seed gives the same
 * MIDI bytes on every machine.
 */
#ifndef INSTSIM_SONG_H
#define INSTSIM_SONG_H

#include <stddef.h>
#include <stdint.h>

#include "smf.h"

#define SONG_DEFAULT_SECONDS 90.0
#define SONG_MAX_PARTS 5

typedef struct song_info
{
	double		bpm;
	int			beats_per_bar;
	int			key;			/* pitch class of the tonic, 0 = C */
	int			minor;
	int			n_bars;
	char		summary[256];	/* human-readable: groove, styles, programs */
	int			n_parts;
	int			part_track[SONG_MAX_PARTS];	/* SMF track of each part */
	int			part_channel[SONG_MAX_PARTS];
} song_info;

/*
 * Composes a song of about `seconds` (at least) into out (smf_init'ed by the
 * callee; smf_free it).  0, or -1 with err.
 */
int			song_generate(uint64_t seed, double seconds, smf *out, song_info *info,
						  char *err, size_t errlen);

#endif
