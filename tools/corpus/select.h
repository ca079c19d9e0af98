/*
 * The paper's track selection: a track qualifies when every one of its five
 * signals (mix, drums, bass, piano, guitar) has at least min_segments
 * non-silent windows (40 in the paper; windows, hop and the silence threshold
 * are the front end's, counted by the core segmenter so that selection and
 * training agree).  Qualifying tracks are split at random, but reproducibly
 * from a seed, into train and test; the paper's 180/19 is a 10% test share.
 */
#ifndef INSTSIM_SELECT_H
#define INSTSIM_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "slakh.h"
#include "split.h"

#define SELECT_MIN_SEGMENTS 40
#define SELECT_TEST_FRACTION 0.1

/* Non-silent windows of x (mono, SLAKH_RATE), counting no further than cap (<= 0: all). */
int			select_count_segments(const float *x, size_t n, int cap,
								  char *err, size_t errlen);

/*
 * counts[i] = non-silent windows of signal i of the track (capped at cap),
 * 0 for an instrument the track lacks.
 */
int			select_count_track(const char *track_dir, int cap,
							   int counts[SLAKH_N_INST], char *err, size_t errlen);

/*
 * Builds the split from per-track counts (names[i] has counts[i]):
 * qualifying tracks go to test with probability test_fraction (exactly
 * floor(n * test_fraction) of them, at least 1 when n >= 2), the rest to
 * train; lists come out sorted.
 */
int			select_split(const slakh_tracks *names, const int (*counts)[SLAKH_N_INST],
						 int min_segments, double test_fraction, uint64_t seed,
						 corpus_split *out);

#endif
