/*
 * One instrument's evaluation over its N models, in memory: every non-silent
 * segment of the test tracks is embedded by each model (the log-mel images
 * are computed once and shared by the models that have the same front end),
 * then the exact cosine kNN gives the music-ID accuracy (Table II) and the
 * track centroids give a distance matrix, averaged over the models (Fig. 4).
 * The SQL path (eval_db.h) fills in the sql_* fields afterwards.
 */
#ifndef INSTSIM_EVAL_INST_H
#define INSTSIM_EVAL_INST_H

#include <stdbool.h>
#include <stdint.h>

#include "eval_models.h"
#include "slakh.h"

typedef struct eval_model_result
{
	eval_model	model;
	double		accuracy;		/* exact in-memory kNN vote, 0..1 */
	/* Through the extension (valid when sql_done). */
	bool		sql_done;
	bool		sql_index_used;	/* the kNN query plan used the instsim_hnsw index */
	double		sql_accuracy;
	double		sql_recall;		/* share of the exact k neighbours the query returned */
	int			sql_list_mismatch;	/* queries whose k distances differ from the exact ones */
	int			sql_pred_mismatch;	/* queries whose vote differs */
	double		sql_max_emb_diff;	/* largest |server - in-memory| embedding component */
} eval_model_result;

typedef struct eval_inst
{
	slakh_inst	inst;
	int			k;
	int			n_models;
	eval_model_result *res;
	int			n_tracks;
	int		   *track_segs;		/* non-silent segments per test track */
	int			n;				/* segments in all */
	int			dim;
	int		   *labels;			/* n: track index of each segment */
	float	   *emb;			/* n_models x n x dim, segments in track order */
	int		   *nn;				/* n_models x n x k, exact neighbours */
	double	   *dist;			/* n_tracks x n_tracks, mean over the models */
	double		mean;			/* of accuracy over the models */
	double		var;			/* population variance of accuracy (fractions) */
} eval_inst;

/*
 * Evaluates inst on the test tracks of the corpus at root with the given
 * models (n_models >= 1), fed the signal named by signal: inst itself (its
 * stems), or SLAKH_MIX for models that answer for inst from the mix (and
 * stem models tried on the mix, their baseline).  plays_only: with the mix,
 * only the windows where inst's stem is not silent (the paper scores
 * separated stems on their non-silent segments alike).  jobs: threads for
 * features and inference.
 */
int			eval_inst_run(const char *root, const slakh_tracks *test, slakh_inst inst,
						  slakh_inst signal, bool plays_only, const eval_model *models, int n_models, int k, int jobs,
						  eval_inst *out, char *err, size_t errlen);

void		eval_inst_free(eval_inst *e);

/*
 * Music-ID as on a test set of `tracks` tracks: the mean, over the models
 * and over `draws` sets of `tracks` tracks drawn at random (seed), of the kNN
 * vote's accuracy when a set's segments vote among themselves only.  The
 * paper's test set holds 19 tracks, and a vote among fewer tracks errs less,
 * so a figure on more tracks is not its figure.  Sets are drawn from the
 * tracks with segments in e and, when also is given, in also too: two calls
 * with the same seed and the pair swapped score the same sets.  With no
 * more such tracks than `tracks`, one set of all of them.  *used: the
 * tracks per set.  *mean is NaN when a set has no more than k segments (no
 * vote at that size).  Returns 0, or -1 (err set) when memory runs out.
 */
int			eval_inst_subset_accuracy(const eval_inst *e, const eval_inst *also, int tracks, int draws,
									  uint64_t seed, double *mean, int *used, char *err, size_t errlen);

/* Mean and population variance of n values. */
void		eval_mean_var(const double *x, int n, double *mean, double *var);

#endif
