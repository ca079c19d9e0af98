/*
 * Internals shared by the song generator's files: the song plan (form,
 * harmony, metre, feel) and a note buffer per part that is humanised and
 * cleaned (no overlapping repeats of one key) before it becomes MIDI.
 */
#ifndef INSTSIM_SONG_INT_H
#define INSTSIM_SONG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "rand.h"
#include "song.h"

#define PPQ 480
#define MAX_SECTIONS 24
#define MAX_BARS 512
#define CHORD_TONES 4

enum drum_style
{
	DR_ROCK, DR_POP, DR_FUNK, DR_DISCO, DR_HALFTIME, DR_SHUFFLE, DR_JAZZ,
	DR_BOSSA, DR_REGGAE, DR_HIPHOP, DR_WALTZ, DR_N
};

enum section_kind
{
	SEC_INTRO, SEC_VERSE, SEC_CHORUS, SEC_BRIDGE, SEC_OUTRO
};

typedef struct chord
{
	int			root;			/* pitch class */
	int			n;				/* tones, root first */
	int			iv[CHORD_TONES];	/* semitones above the root */
} chord;

typedef struct section
{
	int			kind;
	int			start_bar;
	int			n_bars;
	int			energy;			/* 0 quiet, 1 normal, 2 full */
} section;

typedef struct note
{
	double		tick;
	double		dur;
	int			key;
	int			vel;
} note;

typedef struct part
{
	const char *role;			/* "drums", "bass", ... */
	int			channel;
	int			program;
	int			style;
	double		timing_ms;		/* humanisation: timing spread */
	int			vel_spread;
	int			volume, pan, reverb, chorus;
	note	   *notes;
	size_t		n, cap;
	bool		failed;
} part;

typedef struct song
{
	is_rng	rng;
	double		bpm;
	int			beats;			/* per bar: 4 or 3 */
	int			steps;			/* sixteenths per bar */
	double		swing8;			/* delay of off-beat eighths, in sixteenths (shuffle: 0.67) */
	double		swing16;		/* delay of off-beat sixteenths, in sixteenths */
	bool		sevenths;		/* jazzier harmony: four-note chords */
	int			key;
	bool		minor;
	int			n_bars;
	int			n_sections;
	section		sec[MAX_SECTIONS];
	int			sec_of_bar[MAX_BARS];
	chord		chords[MAX_BARS][2];	/* first and second half of each bar */
	int			drum_style;
	int			tacet_part;		/* part index resting through the intro, or -1 */
	int			n_parts;
	part		parts[SONG_MAX_PARTS];
	char		summary[256];
} song;

/*
 * Queries of the plan (song_plan.c), the only part of the song the parts
 * read: they sit below the instrument files, which never call song.c.
 */
/* Tick of sixteenth `step` of `bar`, with the song's swing applied. */
double		song_tick(const song *s, int bar, double step);
const chord *song_chord_at(const song *s, int bar, double step);
const section *song_section(const song *s, int bar);
bool		song_last_bar_of_section(const song *s, int bar);
/* Does part p rest in this bar (arrangement: one part may sit out the intro)? */
bool		song_tacet(const song *s, const part *p, int bar);
/* Symmetric triangular noise in [-1, 1]. */
double		song_noise(song *s);

/* Adds the final chord's notes (keys) on the downbeat after the last bar. */
void		song_ending(song *s, part *p, const int *keys, int n);
/* Keys of chord ch closed-voiced in the octave starting at lo. */
int			song_voicing(const chord *ch, int lo, int *keys);

/* Ranges (inclusive) of a part's playing feel and mix settings, drawn per song. */
typedef struct feel
{
	int			timing_ms[2];
	int			vel_spread[2];
	int			volume[2];		/* CC 7 */
	int			pan[2];			/* CC 10 */
	int			reverb[2];		/* CC 91 */
	int			chorus[2];		/* CC 93 */
} feel;

void		part_feel(song *s, part *p, const feel *f);

/* Adds a note (tick and duration in ticks) to a part; humanised later. */
void		part_note(part *p, double tick, double dur, int key, int vel);

/* Humanises, removes overlaps of one key and writes the part into track t. */
void		part_to_smf(song *s, part *p, smf *out, int t);

/* Styles: each picks its own variant with the song's PRNG and appends its notes. */
/* The groove decides the genre: tempo range, metre and swing. */
void		drums_genre(song *s);
int			drums_pick(song *s, part *p);
void		drums_compose(song *s, part *p);
void		bass_compose(song *s, part *p);
void		piano_compose(song *s, part *p);
void		guitar_compose(song *s, part *p);
void		extra_compose(song *s, part *p);
/* Style names for the summary, and program choice per role. */
const char *drums_style_name(int style);
const char *bass_style_name(int style);
const char *piano_style_name(int style);
const char *guitar_style_name(int style);
int			bass_pick(song *s, part *p);
int			piano_pick(song *s, part *p);
int			guitar_pick(song *s, part *p);
int			extra_pick(song *s, part *p);

/*
 * A one-bar rhythm cell: hits on the sixteenth grid, each naming a chord tone
 * (index into the chord, 0 = root; CELL_OCTAVE = root an octave up, CELL_FIFTH
 * = the fifth even in a triad without one) and a length.  Composers build one
 * per song and replay it over the changing chords, as players do.
 */
#define CELL_MAX 24
#define CELL_OCTAVE 10
#define CELL_FIFTH 11

typedef struct cell_hit
{
	double		step;
	double		len;			/* in sixteenths */
	int			tone;
	int			vel;
} cell_hit;

typedef struct cell
{
	int			n;
	cell_hit	hit[CELL_MAX];
} cell;

void		cell_add(cell *c, double step, double len, int tone, int vel);
/* Semitones above the chord root of a cell tone. */
int			cell_interval(const chord *ch, int tone);
/* The lowest key >= lo with pitch class pc. */
int			key_at_or_above(int pc, int lo);

#endif
