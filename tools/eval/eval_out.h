/*
 * instsim-eval's outputs, every number in machine-readable form for the
 * report and plots (tools/plot_eval.py):
 *
 *   results.json         run (corpus, tracks, seeds, command), per instrument
 *                        and model: accuracy exact and through SQL with the
 *                        cross-check; Table II (mean, variance); Table III;
 *                        the averaged distance matrices
 *   table2.csv           instrument, models, segments, mean %, variance, paper %
 *   table3.csv           pair, Pearson, mean Spearman, and the paper's values
 *   accuracy.csv         one row per instrument and model
 *   distances_<inst>.csv the averaged centroid distance matrix (Fig. 4)
 *   segments_<inst>.csv  track and embedding of every segment under the first
 *                        model (Fig. 3)
 */
#ifndef INSTSIM_EVAL_OUT_H
#define INSTSIM_EVAL_OUT_H

#include <stdbool.h>

#include "eval_inst.h"

typedef struct eval_run_info
{
	const char *corpus;
	const char *command;
	const slakh_tracks *test;
	int			k;
	bool		sql;			/* the SQL path ran */
	bool		index;			/* ... with the instsim_hnsw index */
	int			ef_search;
} eval_run_info;

/* The paper's test set: 19 tracks, every figure of its Tables II and III on them. */
#define EVAL_PAPER_TEST_TRACKS 19

/* The paper's Table II figure (%) for an instrument, original stems. */
double		eval_paper_accuracy(slakh_inst inst);

/* Table II's separated row (%): NaN where the paper has none (mix, guitar). */
double		eval_paper_separated(slakh_inst inst);

/* The paper's Table III values for a pair (a < b); 0 if the pair is unknown. */
int			eval_paper_correlation(slakh_inst a, slakh_inst b, double *pearson,
								   double *spearman);

/* Writes every file into dir (created if missing).  insts: the evaluated ones. */
int			eval_write_outputs(const char *dir, const eval_run_info *info,
							   const eval_inst *insts, int n_insts,
							   char *err, size_t errlen);

#endif
