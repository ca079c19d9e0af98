/*
 * The Slakh2100 corpus layout, the interchange format between the corpus
 * tool, the trainer and the evaluator:
 *
 *   ROOT/TrackNNNNN/metadata.yaml   track and per-stem metadata (below)
 *   ROOT/TrackNNNNN/mix.flac        the mix
 *   ROOT/TrackNNNNN/stems/SNN.flac  one file per rendered stem (audio_dir)
 *   ROOT/TrackNNNNN/all_src.mid     optional: the MIDI the track came from
 *   ROOT/TrackNNNNN/MIDI/SNN.mid    optional: each stem's MIDI (midi_dir)
 *
 * Real Slakh2100 releases put the track directories either directly in ROOT or
 * in ROOT/{train,validation,test,omitted}/; both are accepted, so a user points
 * the tools at an unpacked Slakh2100 unchanged.  Stems whose audio_rendered is
 * false have no audio file and are skipped.  An instrument's signal is the sum
 * of the stems whose inst_class names it (e.g. two guitar parts).
 */
#ifndef INSTSIM_SLAKH_H
#define INSTSIM_SLAKH_H

#include <stdbool.h>
#include <stddef.h>

#define SLAKH_META_FILE	"metadata.yaml"
#define SLAKH_MIX_FILE	"mix.flac"
#define SLAKH_MIDI_FILE	"all_src.mid"
#define SLAKH_RATE		44100
#define SLAKH_STR		128		/* longest string field kept, with its NUL */

/* The paper's five signals.  SLAKH_OTHER: a stem none of them uses alone. */
typedef enum slakh_inst
{
	SLAKH_MIX = 0,
	SLAKH_DRUMS,
	SLAKH_BASS,
	SLAKH_PIANO,
	SLAKH_GUITAR,
	SLAKH_N_INST,
	SLAKH_OTHER = SLAKH_N_INST
} slakh_inst;

typedef struct slakh_stem
{
	char		id[SLAKH_STR];	/* "S00": audio in audio_dir/S00.flac */
	char		inst_class[SLAKH_STR];	/* "Drums", "Bass", "Piano", "Guitar", ... */
	int			program_num;	/* GM program (drum kit for drums) */
	bool		is_drum;
	char		midi_program_name[SLAKH_STR];
	char		plugin_name[SLAKH_STR];	/* what rendered it (here: the soundfont preset) */
	char		soundfont[SLAKH_STR];	/* instsim-synth's own key: the soundfont's file
										 * name; "" when absent (real Slakh2100) */
	bool		audio_rendered;
} slakh_stem;

typedef struct slakh_meta
{
	char		uuid[SLAKH_STR];
	char		audio_dir[SLAKH_STR];	/* "stems" */
	char		midi_dir[SLAKH_STR];	/* "MIDI", or "" when absent */
	char		source[SLAKH_STR * 2];	/* where the track came from; "" if unknown */
	bool		normalized;
	double		overall_gain;	/* gain applied to every stem and the mix */
	int			n_stems;
	slakh_stem *stems;			/* in file order */
} slakh_meta;

/* A list of track directories, relative to the corpus root ("Track00001"). */
typedef struct slakh_tracks
{
	int			n;
	char	  **names;
} slakh_tracks;

/* "mix", "drums", "bass", "piano", "guitar" (and "other"). */
const char *slakh_inst_name(slakh_inst inst);

/* Inverse of slakh_inst_name over the five signals; -1 if unknown. */
int			slakh_inst_parse(const char *name);

/* Which of the paper's instruments a stem's inst_class feeds (or SLAKH_OTHER). */
slakh_inst	slakh_inst_of_class(const char *inst_class);

int			slakh_meta_read(const char *path, slakh_meta *m, char *err, size_t errlen);
int			slakh_meta_write(const char *path, const slakh_meta *m, char *err, size_t errlen);
void		slakh_meta_free(slakh_meta *m);

/* Track directories under root (and its split subdirectories), sorted. */
int			slakh_list_tracks(const char *root, slakh_tracks *out, char *err, size_t errlen);
int			slakh_tracks_add(slakh_tracks *t, const char *name);
void		slakh_tracks_free(slakh_tracks *t);

/*
 * Loads one signal of a track (track_dir = ROOT/TrackNNNNN) as mono float at
 * SLAKH_RATE: the mix file, or the sum of the rendered stems of that
 * instrument (SLAKH_OTHER: of the stems none of the four instruments uses),
 * zero-padded to the longest.  A track without such a stem gives
 * 0 with *x = NULL and *n = 0.  Pass meta = NULL to read metadata.yaml here.
 */
int			slakh_load(const char *track_dir, const slakh_meta *meta,
					   slakh_inst inst, float **x, size_t *n,
					   char *err, size_t errlen);

/*
 * One track cut in two by instrument (not the mix), meta being its
 * metadata (slakh_meta_read): *own is the sum of the
 * rendered stems that feed inst, *rest the sum of every other rendered stem
 * (other instruments and the stems none of the five uses), both at the
 * stems' stored levels and zero-padded to one length *n, so own + rest is
 * the track's mix (as instsim-synth writes mix.flac, before 16-bit
 * rounding).  A side without stems is all zeros; a track without any stem
 * gives *n = 0 and NULL arrays.  0 or -1.
 */
int			slakh_load_split(const char *track_dir, const slakh_meta *meta, slakh_inst inst,
							 float **own, float **rest, size_t *n, char *err, size_t errlen);

#endif
