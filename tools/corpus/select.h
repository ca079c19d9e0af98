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
#define SELECT_SIGNAL(i) (1u << (i))
#define SELECT_ALL ((1u << SLAKH_N_INST) - 1)
#define SELECT_TEST_FRACTION 0.1

/* Non-silent windows of x (mono, SLAKH_RATE), counting no further than cap (<= 0: all). */
int			select_count_segments(const float *x, size_t n, int cap,
								  char *err, size_t errlen);

/*
 * counts[i] = non-silent windows of signal i of the track (capped at cap),
 * 0 for an instrument the track lacks or one not in signals (a mask of
 * SELECT_SIGNAL bits: the signals that matter, the others not decoded).
 */
int			select_count_track(const char *track_dir, int cap, unsigned signals,
							   int counts[SLAKH_N_INST], char *err, size_t errlen);

/* Which tracks qualify and how they are split. */
typedef struct select_rule
{
	/*
	 * Bit (1 << i) set: signal i needs min_segments windows.  The paper's rule
	 * is all five (SELECT_ALL); a model of one instrument can take every track
	 * that has its instrument and the mix (SELECT_SIGNAL(SLAKH_MIX) |
	 * SELECT_SIGNAL(X)), which keeps real songs without a piano, say.
	 */
	unsigned	signals;
	int			min_segments;
	double		test_fraction;	/* random share held out ... */
	uint64_t	seed;
	/*
	 * ... unless held_out is given: per track 1 = test, 0 = train, -1 =
	 * excluded whatever its counts (e.g. the tracks played by one soundfont
	 * held out, those playing it in part excluded)
	 */
	const signed char *held_out;
} select_rule;

/*
 * Builds the split from per-track counts (names[i] has counts[i]):
 * qualifying tracks go to test with probability test_fraction (exactly
 * floor(n * test_fraction) of them, at least 1 when n >= 2), or as held_out
 * says; the rest to train; lists come out sorted.
 */
int			select_split(const slakh_tracks *names, const int (*counts)[SLAKH_N_INST],
						 const select_rule *rule, corpus_split *out);

#endif
