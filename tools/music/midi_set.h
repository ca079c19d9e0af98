/*
 * The songs one render run plays: Standard MIDI Files and the MIDI lumps of
 * WAD files (wad.h), in the order they were added, each with the name its
 * track's metadata records as source: the path of a file, "WAD:LUMP" for a
 * lump (e.g. "freedoom2.wad:D_RUNNIN", the WAD by its file name so the name
 * does not depend on where it was installed).
 *
 * Files are read once here, to check and fingerprint them, and again when
 * rendered, so that a large directory is never held in memory; WAD lumps are
 * small and are kept.
 */
#ifndef INSTSIM_MIDI_SET_H
#define INSTSIM_MIDI_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wad.h"

#define MIDI_SET_MAX_MIDI_BYTES (64u << 20)
#define MIDI_SET_MAX_WAD_BYTES (1u << 30)

typedef struct midi_song
{
	char	   *source;
	char	   *path;			/* a MIDI file, or NULL for a lump held in data */
	uint8_t    *data;
	size_t		len;			/* bytes of MIDI */
	uint64_t	hash;			/* fnv1a64 of the MIDI bytes */
} midi_song;

typedef struct midi_set
{
	int			n;
	int			cap;
	midi_song  *songs;
} midi_set;

/*
 * Adds the MIDI file or the WAD at path (WADs are known by their signature,
 * whatever the name).  *is_wad tells which; for a WAD, *wad gets its counts of
 * MIDI and skipped lumps (its lump list is not kept).  A file that is neither
 * is refused.  0, or -1 with err; the set is unchanged on error.
 */
int			midi_set_add_file(midi_set *s, const char *path, bool *is_wad,
							  wad_music *wad, char *err, size_t errlen);

/*
 * Drops every song whose MIDI bytes equal an earlier song's (same length and
 * fingerprint), calling dropped(ctx, its source, the kept song's source) for
 * each before it goes; returns how many were dropped, or -1 when out of
 * memory (nothing dropped).  Freedoom uses some
 * tunes under two names, and one song on both sides of a train/test split
 * would flatter the test.
 */
int			midi_set_drop_duplicates(midi_set *s,
									 void (*dropped) (void *ctx, const char *source,
													  const char *kept),
									 void *ctx);

/* The song's MIDI bytes in a malloc'd buffer.  0, or -1 with err. */
int			midi_song_read(const midi_song *song, uint8_t **buf, size_t *len,
						   char *err, size_t errlen);

void		midi_set_free(midi_set *s);

#endif
