/*
 * instsim-eval --listening: the listening test's report (the paper's Table
 * IV).  Per instrument, over the rated pairs: Spearman's rho between a
 * pair's mean rating and its distance, reported as is, so agreement of ears
 * and metric is NEGATIVE (closer pairs rated more alike), with a percentile
 * bootstrap 95% interval (pairs resampled); and inter-rater agreement, the
 * mean Spearman between two raters' ratings over the pairs both rated
 * (every pair of raters with at least 3 such pairs).
 */
#ifndef INSTSIM_EVAL_LISTEN_H
#define INSTSIM_EVAL_LISTEN_H

#include <stddef.h>
#include <stdint.h>

/* One rating as instsim.listening_ratings gives it (the latest per rater). */
typedef struct listen_rating
{
	int			pair;
	double		distance;
	int			rater;			/* 0-based rater number */
	int			rating;
} listen_rating;

typedef struct listen_result
{
	int			pairs;
	int			ratings;
	int			raters;
	double		rho;			/* NaN with fewer than 3 pairs or no spread */
	double		lo,
				hi;				/* the bootstrap interval (NaN: too few resamples) */
	double		agreement;		/* NaN without two raters sharing 3 pairs */
	int			rater_pairs;	/* the pairs of raters it averages */
} listen_result;

/* One instrument's ratings, sorted by pair; 0, or -1 without memory. */
int			listen_evaluate(const listen_rating *r, int n, int bootstrap, uint64_t seed,
							listen_result *out);

/* Reads every instrument's ratings from the database and prints the report. */
int			listen_report(const char *conninfo, const char *catalogue, int bootstrap,
						  uint64_t seed, char *err, size_t errlen);

#endif
