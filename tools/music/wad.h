/*
 * The MIDI songs inside a Doom WAD file (Freedoom's freedoom1.wad and
 * freedoom2.wad keep their music this way).
 *
 * A WAD is a 12-byte header ("IWAD" or "PWAD", lump count, directory offset,
 * little-endian 32-bit signed) and a directory of 16-byte entries (offset,
 * size, 8-byte NUL-padded name) pointing at lumps anywhere in the file.  Music
 * lumps are Standard MIDI Files (data starting with "MThd") or id's older MUS
 * format; everything else is levels, graphics and sounds.  Only MIDI lumps
 * are kept.  The file comes from anywhere, so every count, offset and size is
 * checked against the data before use.
 */
#ifndef INSTSIM_WAD_H
#define INSTSIM_WAD_H

#include <stdbool.h>
#include <stddef.h>

#define WAD_NAME_LEN 8

typedef struct wad_lump
{
	char		name[WAD_NAME_LEN + 1]; /* printable; others shown as '?' */
	int			index;			/* position in the directory */
	size_t		offset;			/* data at offset .. offset + size in the file */
	size_t		size;
} wad_lump;

typedef struct wad_music
{
	int			n_lumps;		/* directory entries */
	int			n_midi;
	wad_lump   *midi;			/* the MIDI lumps, in directory order; malloc'd */
	/* what was skipped */
	int			n_mus;			/* MUS music, which FluidSynth cannot play */
	int			n_empty;		/* size 0: markers such as F_START */
	int			n_other;		/* anything else */
} wad_music;

/* Whether data[0..len) starts like a WAD. */
bool		wad_is_wad(const void *data, size_t len);

/*
 * Lists the MIDI lumps of the WAD in data[0..len) into out (free with
 * wad_music_free).  0, or -1 with err saying what is wrong with the file.
 */
int			wad_find_midi(const void *data, size_t len, wad_music *out,
						  char *err, size_t errlen);

void		wad_music_free(wad_music *w);

#endif
