/*
 * A minimal Standard MIDI File writer (format 1) for the generated songs:
 * FluidSynth reads SMF but cannot write it, and Debian's libsmf is
 * unmaintained.  Events are collected per track in any order and sorted on
 * output (ties: meta, note-off, controllers/programs, note-on, then insertion
 * order), so the bytes depend only on what was added.
 */
#ifndef INSTSIM_SMF_H
#define INSTSIM_SMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMF_MAX_TRACKS 32
#define SMF_EVENT_BYTES 24		/* longest event kept (track names are cut) */

typedef struct smf_event
{
	uint32_t	tick;
	uint32_t	seq;			/* insertion order, the last sort key */
	uint8_t		rank;			/* sort rank among events of one tick */
	uint8_t		len;
	uint8_t		data[SMF_EVENT_BYTES];
} smf_event;

typedef struct smf_track
{
	smf_event  *ev;
	size_t		n;
	size_t		cap;
} smf_track;

typedef struct smf
{
	int			division;		/* ticks per quarter note */
	int			n_tracks;
	uint32_t	next_seq;
	bool		failed;			/* an allocation failed; smf_write reports it */
	smf_track	tracks[SMF_MAX_TRACKS];
} smf;

void		smf_init(smf *s, int division);
void		smf_free(smf *s);

/* Appends an empty track and returns its index, or -1 when full. */
int			smf_add_track(smf *s, const char *name);

void		smf_tempo(smf *s, int track, uint32_t tick, double bpm);
void		smf_time_signature(smf *s, int track, uint32_t tick, int num, int den_pow2);
void		smf_program(smf *s, int track, uint32_t tick, int channel, int program);
void		smf_cc(smf *s, int track, uint32_t tick, int channel, int control, int value);
void		smf_pitch_bend(smf *s, int track, uint32_t tick, int channel, int value14);
/* A note-on at tick and its note-off dur ticks later (dur >= 1). */
void		smf_note(smf *s, int track, uint32_t tick, uint32_t dur, int channel,
					 int key, int velocity);

/*
 * Serialises to a malloc'd buffer.  keep (may be NULL) selects tracks; track
 * 0, the conductor track with tempo and metre, is always written.
 */
int			smf_write(const smf *s, const bool *keep, uint8_t **buf, size_t *len);

#endif
