/*
 * Log-mel images of a set of corpus tracks for training and evaluation,
 * computed once and cached on disk: the trainer reads each track's signal
 * (slakh_load), cuts the front end's segments (silent ones skipped, at most
 * max_segs per track: the paper trains on the first 40) and stores every
 * segment's n_mels x frames image and its window number, so that the
 * images of two signals of one track (its mix and a stem) can be matched
 * window for window although each skips its own silent windows.
 *
 * The cache holds one file per track and signal, cache_dir/mel-<instrument>-
 * <key>.bin, where key hashes the track's files (name, size and modification
 * time, its stems' directory included), the signal, every front-end
 * parameter and max_segs: a changed input never reuses stale features, and
 * the sets of several instruments (whose track lists differ a little), or
 * corpora that link the same tracks under other names, share the files.
 */
#ifndef INSTSIM_MELCACHE_H
#define INSTSIM_MELCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "frontend.h"
#include "slakh.h"

typedef struct mel_set
{
	int			n_tracks;
	int			n_mels, frames;
	int		   *n_segs;			/* per track (0 for a track without the signal) */
	size_t	   *first;			/* per track: index of its first image */
	size_t		n_images;
	int32_t    *window;			/* per image: its window number in the track
								 * (is_segment.index, silent windows counted) */
	float	   *data;			/* n_images x n_mels x frames */
} mel_set;

/*
 * Reads each track's images from its cache file or computes and writes them
 * (with jobs threads and a progress report).  cache_dir NULL: no cache.  0
 * or -1.
 */
int			mel_set_build(const char *root, const slakh_tracks *tracks, slakh_inst inst,
						  const is_frontend *fe, int max_segs, int jobs,
						  const char *cache_dir, mel_set *out, char *err, size_t errlen);

/* Floats in one image: n_mels x frames. */
static inline size_t
mel_set_pixels(const mel_set *s)
{
	return (size_t) s->n_mels * s->frames;
}

/* Image i of the whole set, 0 <= i < n_images (track t's are first[t] on). */
static inline const float *
mel_set_image_at(const mel_set *s, size_t i)
{
	return s->data + i * mel_set_pixels(s);
}

static inline const float *
mel_set_image(const mel_set *s, int track, int seg)
{
	return mel_set_image_at(s, s->first[track] + seg);
}

/*
 * The image of track's window number `window`, or -1 when the set has none
 * (the signal is silent there, or past max_segs).
 */
ptrdiff_t	mel_set_find_window(const mel_set *s, int track, int32_t window);

/*
 * Keeps of s (in order) only the images of windows that `by`, built over the
 * same tracks, holds too: a mix set narrowed to where an instrument plays.
 * Returns how many images are kept.
 */
size_t		mel_set_keep_windows(mel_set *s, const mel_set *by);

void		mel_set_free(mel_set *s);

#endif
