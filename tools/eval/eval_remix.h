/*
 * The remix test of issue #14: can a model that answers for instrument X
 * from the mix be fooled by the rest of the mix?  For random ordered pairs
 * (A, B) of held-out tracks, the remix is A's X stems plus every other stem
 * of B over the same window, each song's stems at their stored levels (no
 * re-normalisation: the corpus levels each song so that its own mix peaks at
 * the same value).  The remix's X embedding should be nearer the X embedding
 * of A's mix than of B's mix: a model that follows the whole mix hears
 * mostly B and fails.
 *
 * Track and remix embeddings are the paper's track vector over the window:
 * the L2-normalised centroid of the non-silent segments' embeddings.  A
 * track's mix is the sum of all its stems (what instsim-synth writes as
 * mix.flac, without the 16-bit rounding), so originals and remixes are made
 * the same way.
 */
#ifndef INSTSIM_EVAL_REMIX_H
#define INSTSIM_EVAL_REMIX_H

#include <stddef.h>
#include <stdint.h>

#include "eval_models.h"
#include "slakh.h"

typedef struct remix_opts
{
	int			pairs;			/* ordered pairs drawn (all of them when fewer exist) */
	uint64_t	seed;			/* of the draw */
	double		start_s;		/* window start, clamped so the window fits the track */
	double		window_s;		/* window length (30 s) */
	int			jobs;
} remix_opts;

/* The remix test of one set of models of one instrument and input kind. */
typedef struct remix_result
{
	int			n_models;
	int			n_pairs;		/* pairs scored */
	int			n_skipped;		/* pairs whose A has no audible X in the window */
	double		nearer;			/* share of pairs nearer A's mix, mean over models */
	double		rank1;			/* share of pairs whose nearest test mix is A's */
} remix_result;

/*
 * All ordered pairs (a != b) of n tracks in an order drawn from seed; the
 * first min(want, n (n - 1)) are written to a and b.  Returns that count.
 */
int			eval_remix_pairs(int n, int want, uint64_t seed, int *a, int *b);

/*
 * Scores remixes against track vectors (rows of dim floats, unit length):
 * *nearer counts pairs whose remix is strictly nearer (cosine) mix[a] than
 * mix[b], *rank1 those whose nearest of the n_tracks mixes is mix[a].
 */
void		eval_remix_score(const float *mix, int n_tracks, const float *remix,
							 const int *a, const int *b, int n_pairs, int dim,
							 int *nearer, int *rank1);

/*
 * Runs the test for inst (drums .. guitar) with the n_models models on the
 * test tracks of the corpus at root; named is the input kind their file
 * names give (a model whose metadata says otherwise is warned about).  Every
 * model is fed the mix, whatever its kind.  0, or -1 with a message.
 */
int			eval_remix_run(const char *root, const slakh_tracks *test, slakh_inst inst,
						   is_input_kind named, const eval_model *models, int n_models, const remix_opts *o,
						   remix_result *out, char *err, size_t errlen);

#endif
