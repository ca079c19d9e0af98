/*
 * Remix augmentation for training a model that answers for instrument X
 * from the mix (issue #14).  Trained on real mixes alone, such a model can
 * recognise a song by its other parts; remixed triplets take that shortcut
 * away, because the positive is defined by X's source and nothing else:
 *
 *   anchor   = X segment s1 of song A + backgrounds B1
 *   positive = X segment s2 of song A + backgrounds B2
 *   negative = X segment of song N    + backgrounds B1 (the anchor's own)
 *
 * where a background set holds, for every other instrument Y (of drums,
 * bass, piano, guitar), one segment of Y's stems from a random song other
 * than A, and, when one more random song other than A has them, a segment of
 * its stems that none of the four uses (pads, organ, strings, leads).  Those
 * belong to "everything else" of the remix test (eval_remix.c), and they
 * sound most like piano and guitar: a background without them never taught a
 * model to ignore them.  A model that follows the backgrounds finds the
 * negative nearer than the positive.
 *
 * The parts are summed in the power domain from the cached log-mel images
 * of each instrument's stems (melcache.h): with L = log(P + o) for a mel
 * power P and the front end's log offset o, the sum is
 * log(sum_i (exp(L_i) - o) + o).  This ignores the phase interference of a
 * real sum of waveforms (expected power of independent sources); triplets
 * of real mixes (the rest of the batch) keep the model on real audio.  Each
 * part keeps its song's level (the corpus levels each song to its own mix
 * peak), unless gain_db moves the background parts' levels at random.
 */
#ifndef INSTSIM_REMIX_TRAIN_H
#define INSTSIM_REMIX_TRAIN_H

#include <stdbool.h>

#include "melcache.h"
#include "model.h"
#include "nn.h"
#include "rng.h"

typedef struct remix_src
{
	const mel_set *part[SLAKH_OTHER + 1];	/* drums .. guitar, other: their stems'
											 * images of the same track list ([SLAKH_MIX]:
											 * the songs' own mixes, or NULL;
											 * [SLAKH_OTHER] NULL: no such part) */
	slakh_inst	target;			/* X */
	float		log_offset;		/* the front end's */
	double		own;			/* share of triplets whose positive is song A's own mix */
	double		gain_db;		/* each background part's level: +- this many dB, uniform
								 * (0: the stored levels) */
} remix_src;

/*
 * out = the power-domain sum of the k log-mel images in[0..k) of pixels
 * floats each (k = 0: silence), image i's power times gain[i] (gain NULL:
 * all 1).  out may be in[0] but no other input: it
 * accumulates part by part.
 */
void		remix_compose(const float *const *in, const float *gain, int k, size_t pixels, float log_offset, float *out);

/*
 * Writes a remixed triplet anchored on track a (an index into the part
 * sets): rows i, n + i and 2n + i of batch (the composites), of ximage (the
 * index of each row's X image among part[target]'s images, for a teacher)
 * and of label (the X source tracks).  -1 (nothing written) when track a
 * has fewer than 2 X segments or no other track has X, so that the caller
 * uses a plain triplet.
 *
 * With probability src->own (and part[SLAKH_MIX] set) the positive is
 * instead a random segment of song A's own mix: X among the very parts it
 * was played with, in the same key and on the same beat, as catalogue mixes
 * hold it, where the foreign backgrounds of the remixes are in other keys
 * and easier to tell apart.  The anchor still holds none of A's other
 * parts, and the negative still shares the anchor's background, so
 * following A's other parts gains nothing.  Returns 1 then, and the
 * positive's ximage is the X image of the same window of A (the stem a
 * teacher would hear there), or REMIX_NO_IMAGE when X is silent there.
 */
#define REMIX_NO_IMAGE ((size_t) -1)

int			remix_triplet(const remix_src *src, is_rng *rng, int a, int i, int n,
						  float *batch, size_t *ximage, int *label);

/*
 * What instsim-train --remix P [--teacher MODEL,...] holds: the cached images
 * of the four instruments' stems of the training tracks, the share p of
 * remixed triplets, and per target instrument (one, or several for a model
 * with a head per instrument) the teacher (its stem model, an ensemble of
 * stem models, or a mix model of the instrument) that gives the
 * distillation targets of remixed rows.
 */
#define REMIX_MAX_TARGETS SLAKH_N_INST

typedef struct remix_aug
{
	mel_set		parts[SLAKH_OTHER + 1];
	remix_src	src;
	double		p;
	int			n_targets;
	slakh_inst	targets[REMIX_MAX_TARGETS];
	bool		have_teacher;
	bool		distill_own;	/* positives from A's own mix where X sounds get
								 * a target: a stem teacher's embedding of X's
								 * stem in the same window (a mix teacher's of
								 * the row itself) */
	is_model	teacher[REMIX_MAX_TARGETS];	/* an ensemble's first member */
	is_infer   *plan[REMIX_MAX_TARGETS];
	float	   *teacher_emb[REMIX_MAX_TARGETS];	/* a stem teacher's (an
													 * ensemble's) embedding of
													 * each image of its target's
													 * part set; NULL: a mix teacher */
	size_t	   *ximage;			/* the X image of each batch row (its index) */
	float	   *target;			/* the teacher's embedding of each */
	unsigned char *has;			/* rows of the current batch with a teacher target */
	int		   *row_target;		/* each row's target (index into targets) */
	float	   *gather;			/* a mix teacher's rows of the batch, then their embeddings */
	float	   *gather_emb;
	int		   *gather_row;
	int			max_rows;
	int			emb_dim;
	float	   *teacher_map;	/* remix_aug_maps: the teacher's map of each X image */
	size_t		map_floats;		/* per image (0: no maps) */
	float	   *target_map;		/* the map of each batch row */
} remix_aug;

/*
 * Builds (or reads from the cache, as the trainer does) the stem images of
 * drums, bass, piano, guitar and, with other, the other stems of the tracks
 * (without: backgrounds never hold them, as before they were added), and
 * loads the teachers if teacher_paths is not NULL: teacher_paths[k] must be the stem model of
 * targets[k] with the front end fe and an embedding of emb_dim, several such
 * joined by '+' (an ensemble: the target is their embeddings' renormalised
 * sum), or a mix model of targets[k].  max_rows: rows per batch.
 */
int			remix_aug_init(remix_aug *g, const char *root, const slakh_tracks *tracks,
						   const slakh_inst *targets, int n_targets, const is_frontend *fe,
						   int max_segs, int threads, const char *cache_dir, double p, bool other,
						   const char *const *teacher_paths, int emb_dim,
						   int max_rows, char *err, size_t errlen);

/*
 * For a feature-map hint (is_step_set_hint): the teacher's map after its
 * first `blocks` conv blocks, of every image of the target's part set (one
 * target, a stem teacher), which remix_aug_targets then hands out with the
 * embeddings.  map_floats must be the student's map size, so a teacher of
 * other widths is refused.  0 or -1.
 */
int			remix_aug_maps(remix_aug *g, const char *teacher_path, int blocks, size_t map_floats,
						   int threads, char *err, size_t errlen);

/*
 * With probability p, writes a remixed triplet for targets[k] anchored on
 * track a (see remix_triplet) and returns 1; otherwise, or when a cannot
 * anchor one, marks the rows plain and returns 0 (the caller writes them).
 */
int			remix_aug_triplet(remix_aug *g, is_rng *rng, int k, int a, int i, int n,
							  float *batch, int *label);

/*
 * The embedding of x's images by the teacher plan, x->n_images rows of
 * emb_dim floats (a malloc'd table), or NULL with *err set.  max_rows at a
 * time: the plan's batch, which it was created for.
 */
float	   *remix_teacher_table(is_infer *plan, const mel_set *x, int max_rows, int emb_dim,
								char *err, size_t errlen);

/*
 * The teachers' embeddings of the 3n rows, each row by the teacher of its
 * triplet's target (a stem teacher's of the row's X image, a mix teacher's
 * of the composite; rows not remixed, and positives from the song's own
 * mix without a target (see distill_own), hold garbage: g->has tells them
 * apart), or NULL without teachers or on error (*err set then).
 */
const float *remix_aug_targets(remix_aug *g, const float *batch, int n, char *err, size_t errlen);

void		remix_aug_free(remix_aug *g);

#endif
