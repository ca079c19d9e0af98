#include "eval_inst.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "eval.h"
#include "melcache.h"
#include "model.h"
#include "rng.h"

#define EMBED_BATCH 64

void
eval_mean_var(const double *x, int n, double *mean, double *var)
{
	double		m = 0,
				v = 0;

	for (int i = 0; i < n; i++)
		m += x[i];
	m = n > 0 ? m / n : 0;
	for (int i = 0; i < n; i++)
		v += (x[i] - m) * (x[i] - m);
	*mean = m;
	*var = n > 0 ? v / n : 0;
}

/* Runs the network over every image of the set, EMBED_BATCH at a time. */
static int
embed_set(const is_model *m, const mel_set *set, int threads, float *out,
		  char *err, size_t errlen)
{
	is_infer_opts opts = {.max_batch = EMBED_BATCH, .threads = threads, .conv = IS_CONV_AUTO};
	is_infer   *plan;
	size_t		image = mel_set_pixels(set);
	int			dim = is_net_out_dim(&m->net);
	char		ierr[256];

	if (m->net.in_c != 1 || m->net.in_h != set->n_mels || m->net.in_w != set->frames)
		return is_fail(err, errlen, "network input %dx%dx%d does not match the front end's %dx%d mel image",
					   m->net.in_c, m->net.in_h, m->net.in_w, set->n_mels, set->frames);
	plan = is_infer_create(&m->net, &opts, ierr, sizeof(ierr));
	if (!plan)
		return is_fail(err, errlen, "inference plan: %s", ierr);
	for (size_t i = 0; i < set->n_images; i += EMBED_BATCH)
	{
		int			b = (int) (set->n_images - i < EMBED_BATCH ? set->n_images - i : EMBED_BATCH);

		if (is_infer_run(plan, set->data + i * image, b, out + i * dim, ierr, sizeof(ierr)) != 0)
		{
			is_infer_free(plan);
			return is_fail(err, errlen, "inference: %s", ierr);
		}
	}
	is_infer_free(plan);
	return 0;
}

/* Shapes the result from the first model's feature set. */
static int
alloc_inst(eval_inst *e, const mel_set *set, int n_models, int dim, int k)
{
	int			n = (int) set->n_images;

	e->n_tracks = set->n_tracks;
	e->n = n;
	e->dim = dim;
	e->track_segs = malloc(sizeof(int) * (set->n_tracks ? set->n_tracks : 1));
	e->labels = malloc(sizeof(int) * (n ? n : 1));
	e->emb = malloc(sizeof(float) * (size_t) n_models * n * dim + 1);
	e->nn = malloc(sizeof(int) * (size_t) n_models * n * k + 1);
	e->dist = calloc((size_t) set->n_tracks * set->n_tracks + 1, sizeof(double));
	if (!e->track_segs || !e->labels || !e->emb || !e->nn || !e->dist)
		return -1;
	for (int t = 0; t < set->n_tracks; t++)
	{
		e->track_segs[t] = set->n_segs[t];
		for (int s = 0; s < set->n_segs[t]; s++)
			e->labels[set->first[t] + s] = t;
	}
	return 0;
}

/* kNN accuracy and centroid distances of model j, whose embeddings are in place. */
static int
score_model(eval_inst *e, int j, char *err, size_t errlen)
{
	const float *x = e->emb + (size_t) j * e->n * e->dim;
	int		   *nn = e->nn + (size_t) j * e->n * e->k;
	float	   *cent = malloc(sizeof(float) * e->n_tracks * e->dim + 1);
	double	   *d = malloc(sizeof(double) * e->n_tracks * e->n_tracks + 1);

	if (!cent || !d || is_knn_exact(x, e->n, e->dim, e->k, nn) != 0)
	{
		free(cent);
		free(d);
		return is_fail(err, errlen, "%s: kNN needs more than k = %d segments (have %d) and memory",
					   slakh_inst_name(e->inst), e->k, e->n);
	}
	e->res[j].accuracy = is_knn_accuracy(e->labels, nn, e->n, e->k, NULL);
	is_track_centroids(x, e->labels, e->n, e->dim, e->n_tracks, cent);
	is_distance_matrix(cent, e->n_tracks, e->dim, d);
	for (int i = 0; i < e->n_tracks * e->n_tracks; i++)
		e->dist[i] += d[i] / e->n_models;
	free(cent);
	free(d);
	return 0;
}

/*
 * Features of `signal` for model m: reuses *set when the front end is
 * unchanged.  plays_only: the mix heard for an instrument only at the
 * windows where that instrument plays (its stem is not silent).
 */
static int
features_for(const char *root, const slakh_tracks *test, slakh_inst inst, slakh_inst signal,
			 bool plays_only, const is_model *m, int jobs, mel_set *set, is_frontend *set_fe,
			 char *err, size_t errlen)
{
	mel_set		plays = {0};
	int			rc;

	if (set->data && is_frontend_same(&m->fe, set_fe))
		return 0;
	if (set->data)
		mel_set_free(set);
	*set_fe = m->fe;
	rc = mel_set_build(root, test, signal, &m->fe, 0, jobs, NULL, set, err, errlen);
	if (rc != 0 || !plays_only || signal == inst)
		return rc;
	rc = mel_set_build(root, test, inst, &m->fe, 0, jobs, NULL, &plays, err, errlen);
	if (rc == 0)
		mel_set_keep_windows(set, &plays);
	mel_set_free(&plays);
	return rc;
}

int
eval_inst_run(const char *root, const slakh_tracks *test, slakh_inst inst,
			  slakh_inst signal, bool plays_only, const eval_model *models, int n_models, int k, int jobs,
			  eval_inst *out, char *err, size_t errlen)
{
	mel_set		set = {0};
	is_frontend set_fe = {0};
	int			rc = 0;

	memset(out, 0, sizeof(*out));
	out->inst = inst;
	out->k = k;
	out->n_models = n_models;
	out->res = calloc(n_models, sizeof(eval_model_result));
	if (!out->res)
		return is_fail(err, errlen, "out of memory");
	for (int j = 0; j < n_models && rc == 0; j++)
	{
		is_model	m = {0};
		char		merr[256];

		out->res[j].model = models[j];
		if (is_model_load_file(&m, models[j].path, merr, sizeof(merr)) != 0)
			rc = is_fail(err, errlen, "%s: %s", models[j].path, merr);
		else if (strcmp(m.instrument, slakh_inst_name(inst)) != 0)
			fprintf(stderr, "warning: %s is a %s model, evaluated as %s\n",
					models[j].path, m.instrument, slakh_inst_name(inst));
		if (rc == 0)
			rc = features_for(root, test, inst, signal, plays_only, &m, jobs, &set, &set_fe, err, errlen);
		if (rc == 0 && j == 0 && alloc_inst(out, &set, n_models, is_net_out_dim(&m.net), k) != 0)
			rc = is_fail(err, errlen, "out of memory");
		if (rc == 0 && ((int) set.n_images != out->n || is_net_out_dim(&m.net) != out->dim))
			rc = is_fail(err, errlen, "%s: models of one instrument must cut the same segments "
						 "and have the same embedding size", models[j].path);
		if (rc == 0)
			rc = embed_set(&m, &set, jobs, out->emb + (size_t) j * out->n * out->dim,
						   err, errlen);
		if (rc == 0)
			rc = score_model(out, j, err, errlen);
		is_model_free(&m);
	}
	mel_set_free(&set);
	if (rc == 0)
	{
		double	   *acc = malloc(sizeof(double) * n_models);

		if (!acc)
			return is_fail(err, errlen, "out of memory");
		for (int j = 0; j < n_models; j++)
			acc[j] = out->res[j].accuracy;
		eval_mean_var(acc, n_models, &out->mean, &out->var);
		free(acc);
	}
	return rc;
}

void
eval_inst_free(eval_inst *e)
{
	free(e->res);
	free(e->track_segs);
	free(e->labels);
	free(e->emb);
	free(e->nn);
	free(e->dist);
	memset(e, 0, sizeof(*e));
}

/*
 * Accuracy of model j when only the tracks marked in `in` exist: their
 * segments, gathered, vote among themselves.  NaN when they are no more
 * than k; -1 when memory runs out.
 */
static int
set_accuracy(const eval_inst *e, int j, const bool *in, float *x, int *labels, int *nn, double *acc)
{
	const float *emb = e->emb + (size_t) j * e->n * e->dim;
	int			m = 0;

	for (int i = 0; i < e->n; i++)
		if (in[e->labels[i]])
		{
			memcpy(x + (size_t) m * e->dim, emb + (size_t) i * e->dim, sizeof(float) * e->dim);
			labels[m++] = e->labels[i];
		}
	*acc = NAN;
	if (m <= e->k)
		return 0;
	if (is_knn_exact(x, m, e->dim, e->k, nn) != 0)
		return -1;
	*acc = is_knn_accuracy(labels, nn, m, e->k, NULL);
	return isnan(*acc) ? -1 : 0;
}

int
eval_inst_subset_accuracy(const eval_inst *e, const eval_inst *also, int tracks, int draws,
						  uint64_t seed, double *mean, int *used, char *err, size_t errlen)
{
	int		   *pool = malloc(sizeof(int) * (e->n_tracks + 1)),
			   *labels = malloc(sizeof(int) * (e->n + 1)),
			   *nn = malloc(sizeof(int) * ((size_t) e->n * e->k + 1));
	bool	   *in = calloc(e->n_tracks + 1, sizeof(bool));
	float	   *x = malloc(sizeof(float) * ((size_t) e->n * e->dim + 1));
	int			n_pool = 0,
				take,
				rc = 0;
	double		sum = 0.0;
	is_rng		rng;

	if (!pool || !labels || !nn || !in || !x)
		rc = is_fail(err, errlen, "out of memory");
	for (int t = 0; rc == 0 && t < e->n_tracks; t++)
		if (e->track_segs[t] > 0 && (!also || (t < also->n_tracks && also->track_segs[t] > 0)))
			pool[n_pool++] = t;
	take = n_pool < tracks ? n_pool : tracks;
	if (take == n_pool)
		draws = 1;				/* every track: one set, the whole */
	is_rng_seed(&rng, seed);
	for (int d = 0; rc == 0 && d < draws; d++)
	{
		memset(in, 0, sizeof(bool) * e->n_tracks);
		for (int i = 0; i < take; i++)
		{
			int			r = i + is_rng_below(&rng, n_pool - i),
						t = pool[r];

			pool[r] = pool[i];
			pool[i] = t;
			in[t] = true;
		}
		for (int j = 0; rc == 0 && j < e->n_models; j++)
		{
			double		acc = 0.0;

			if (set_accuracy(e, j, in, x, labels, nn, &acc) != 0)
				rc = is_fail(err, errlen, "out of memory for music-ID on sets of %d tracks", take);
			sum += acc;			/* NaN sticks: no figure at this size */
		}
	}
	*mean = rc == 0 ? sum / ((double) draws * e->n_models) : NAN;
	*used = take;
	free(pool);
	free(labels);
	free(nn);
	free(in);
	free(x);
	return rc;
}
