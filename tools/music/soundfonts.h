/*
 * The General MIDI soundfonts a renderer plays with (render.h): each loaded
 * once, then lent to every per-file synthesiser, and the deterministic draw
 * of which one plays a song or a part, so that a corpus rendered with several
 * soundfonts is reproducible and models do not learn one soundfont's timbres.
 */
#ifndef INSTSIM_SOUNDFONTS_H
#define INSTSIM_SOUNDFONTS_H

#include <fluidsynth.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOUNDFONTS_MAX 8
#define SOUNDFONTS_NAME_LEN 128

typedef struct soundfonts
{
	int			n;
	fluid_sfont_t *sfont[SOUNDFONTS_MAX];	/* owned by the loading synthesiser */
	char		name[SOUNDFONTS_MAX][SOUNDFONTS_NAME_LEN];	/* file name, no directory */
} soundfonts;

/*
 * Loads paths[0..n) into owner, which keeps them until it is deleted.  Two
 * files with one file name are refused: metadata records soundfonts by file
 * name.  0, or -1 with err.
 */
int			soundfonts_load(soundfonts *s, fluid_synth_t *owner, const char *const *paths,
							int n, char *err, size_t errlen);

/* Which of n soundfonts plays slot (a part, or 0 for a whole song) under key. */
int			soundfonts_draw(uint64_t key, int slot, int n);

/* Lends every soundfont to synth; ids[i] is soundfont i's id there. */
int			soundfonts_attach(const soundfonts *s, fluid_synth_t *synth, int *ids);

/* Takes them back before synth is deleted (they belong to the owner). */
void		soundfonts_detach(const soundfonts *s, fluid_synth_t *synth);

/*
 * Puts bank:*program of soundfont want (ids from soundfonts_attach) on
 * channel chan.  A drum kit the soundfont lacks falls back to its standard
 * kit 0 (as GM players do), and a preset missing altogether to the next
 * soundfont that has it.  Returns the soundfont used, *program updated, or -1
 * when none has it (the channel stays silent).
 */
int			soundfonts_select(const soundfonts *s, fluid_synth_t *synth, const int *ids,
							  int chan, int want, bool drum, int *program);

#endif
