/*
 * instsim-eval --remix: how well models answer for an instrument from the
 * mix (issue #14), for every instrument (drums .. guitar) and input kind
 * with models: the stem models (INSTRUMENT[-seedS]) fed the mix are the
 * baseline, the mix-input models (INSTRUMENT_mix[-seedS]) the candidates.
 * Per row, on the held-out tracks:
 *
 *   - the remix test (eval_remix.h): % of pairs whose remix is nearer A's
 *     mix than B's (chance 50) and % whose nearest test mix is A's;
 *   - music-ID accuracy from the mix: the paper's kNN vote (eval_inst.h)
 *     over every non-silent segment of the test tracks' mixes, and the
 *     same as on a test set of the paper's size (id_tracks), with the stem
 *     models' figure on stems beside each;
 *   - Pearson and mean Spearman (Table III's statistics) between the row's
 *     track-distance matrix (models fed whole mixes) and the instrument's
 *     stem models' matrix (fed its stems), when stem models are given.
 *
 * Outputs in the output directory: remix.csv (one row each) and remix.md
 * (the same as a table, with the run and the paper's separated-stem row).
 */
#ifndef INSTSIM_EVAL_MIXIN_H
#define INSTSIM_EVAL_MIXIN_H

#include <stdbool.h>

#include "eval_remix.h"

typedef struct mixin_run
{
	const char *corpus;
	const char *models;			/* --models: directory or list */
	bool		wanted[SLAKH_N_INST];	/* instruments to evaluate */
	const char *command;
	const slakh_tracks *test;
	int			seeds;			/* at most this many models per row (0: all) */
	int			k;
	bool		plays_only;		/* --mix-windows plays */
	int			id_tracks;		/* music-ID also as on a test set of this many tracks
								 * (eval_inst_subset_accuracy; 0: not) */
	int			id_draws;		/* sets drawn for it */
	remix_opts	remix;
} mixin_run;

/* Runs every row, prints it, writes remix.csv and remix.md into dir. */
int			eval_mixin_report(const mixin_run *run, const char *dir, char *err, size_t errlen);

#endif
