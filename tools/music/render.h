/*
 * Offline rendering of a Standard MIDI File into one mono stem per part with
 * FluidSynth, the way Slakh2100 was rendered from Lakh MIDI.
 *
 * FluidSynth's own MIDI player parses the file (format 0 or 1, tempo maps,
 * any number of tracks) and is clocked by the synthesiser's sample counter, so
 * rendering runs as fast as the CPU allows.  A part is one (channel, program)
 * pair: the player merges tracks into channel events, and a channel that
 * changes program mid-song plays two instruments, which Slakh would file as
 * two stems.  Channel 10 is one drum part whatever its kit.  A first pass over
 * the file (events only, no synthesis) finds the parts; the second pass routes
 * each part to a synthesiser channel of its own, whose audio group and effects
 * unit (reverb, chorus) are its own too, so that the stems add up to the full
 * mix exactly, effects included.
 *
 * A renderer holds its loaded soundfonts (about 0.5 s to load FluidR3_GM,
 * 5 s and 215 MB to decode MuseScore_General_Lite.sf3) and is reused for many
 * files, each rendered by a fresh synthesiser sharing them, so the output
 * depends only on the file and the seed.  With several soundfonts, one is
 * drawn per song or per part from the seed and the MIDI bytes (soundfonts.h).
 * It is not thread-safe: use one per thread.
 */
#ifndef INSTSIM_RENDER_H
#define INSTSIM_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RENDER_MAX_PARTS 64
#define RENDER_DEFAULT_SOUNDFONT "/usr/share/sounds/sf2/FluidR3_GM.sf2"
#define RENDER_MAX_SECONDS 86400	/* longest rendering allowed (memory: 4 B/frame/part) */
#define RENDER_TAIL_SECONDS 2.0	/* rendered after the last event: releases, reverb */

typedef struct render_part
{
	int			channel;		/* MIDI channel in the file, from 0 */
	int			program;		/* GM program; the drum kit for drum parts */
	bool		is_drum;
	int			n_notes;
	char		preset[128];	/* soundfont preset that played it */
	char		soundfont[128];	/* file name of the soundfont that played it */
} render_part;

typedef struct render_out
{
	int			n_parts;
	render_part parts[RENDER_MAX_PARTS];	/* sorted by channel, then first note */
	size_t		n_frames;		/* length of every stem, at rate */
	int			rate;
	bool		truncated;		/* the file was longer than max_seconds */
	float	   *stem[RENDER_MAX_PARTS];	/* mono; malloc'd */
} render_out;

/* Which soundfont plays: one drawn per song, or one per part. */
typedef enum render_choice
{
	RENDER_CHOICE_SONG,
	RENDER_CHOICE_STEM
} render_choice;

typedef struct renderer renderer;

/*
 * Loads soundfonts[0..n) (n = 0: RENDER_DEFAULT_SOUNDFONT).  effects = false
 * renders dry stems (no reverb or chorus).
 */
renderer   *renderer_new(const char *const *soundfonts, int n, render_choice choice,
						 bool effects, char *err, size_t errlen);
void		renderer_free(renderer *r);

/*
 * Renders midi[0..len) into out (free with render_out_free).  Rendering stops
 * at max_seconds of audio (out->truncated).  A file without notes is an error.
 * seed and the MIDI bytes draw the soundfonts: same seed and file, same audio.
 */
int			renderer_render(renderer *r, const void *midi, size_t len,
							double max_seconds, uint64_t seed, render_out *out,
							char *err, size_t errlen);

void		render_out_free(render_out *out);

#endif
