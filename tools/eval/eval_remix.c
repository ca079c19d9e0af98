#include "eval_remix.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "eval.h"
#include "eval_inst.h"
#include "mel.h"
#include "model.h"
#include "rng.h"
#include "segment.h"

#define EMBED_BATCH 64

int
eval_remix_pairs(int n, int want, uint64_t seed, int *a, int *b)
{
	int			total = n > 1 ? n * (n - 1) : 0;
	int		   *order = malloc(sizeof(int) * (total ? total : 1));
	is_rng		rng;
	int			m = 0;

	if (!order)
		return -1;
	for (int i = 0; i < total; i++)
		order[i] = i;
	is_rng_seed(&rng, seed);
	is_rng_shuffle(&rng, order, total);
	for (; m < want && m < total; m++)
	{
		int			i = order[m] / (n - 1),
					j = order[m] % (n - 1);

		a[m] = i;
		b[m] = j < i ? j : j + 1;	/* the n - 1 tracks other than i */
	}
	free(order);
	return m;
}

static double
cos_dist(const float *x, const float *y, int dim)
{
	double		dot = 0;

	for (int i = 0; i < dim; i++)
		dot += (double) x[i] * y[i];
	return 1.0 - dot;
}

void
eval_remix_score(const float *mix, int n_tracks, const float *remix,
				 const int *a, const int *b, int n_pairs, int dim,
				 int *nearer, int *rank1)
{
	*nearer = *rank1 = 0;
	for (int p = 0; p < n_pairs; p++)
	{
		const float *r = remix + (size_t) p * dim;
		double		da = cos_dist(r, mix + (size_t) a[p] * dim, dim);
		int			best = 0;
		double		best_d = INFINITY;

		*nearer += da < cos_dist(r, mix + (size_t) b[p] * dim, dim);
		for (int t = 0; t < n_tracks; t++)
		{
			double		d = cos_dist(r, mix + (size_t) t * dim, dim);

			if (d < best_d)
				best_d = d, best = t;
		}
		*rank1 += best == a[p];
	}
}

/* ---- embedding a window ------------------------------------------------ */

/* The models of one run, their plans, and buffers for one window's segments. */
typedef struct embedder
{
	int			n_models;
	is_model   *models;
	is_infer  **plans;
	is_mel	   *mel;
	int			dim;
	int			cap;			/* segments a window can hold */
	size_t		image;
	float	   *images;			/* cap images */
	float	   *seg_emb;		/* cap x dim */
	int		   *zero_labels;	/* cap zeros: one "track" for the centroid */
} embedder;

static void
embedder_free(embedder *e)
{
	for (int j = 0; j < e->n_models; j++)
	{
		if (e->plans)
			is_infer_free(e->plans[j]);
		if (e->models)
			is_model_free(&e->models[j]);
	}
	free(e->models);
	free(e->plans);
	is_mel_free(e->mel);
	free(e->images);
	free(e->seg_emb);
	free(e->zero_labels);
	memset(e, 0, sizeof(*e));
}

static int
embedder_init(embedder *e, const eval_model *models, int n_models, slakh_inst inst,
			  is_input_kind named, double window_s, int jobs, char *err, size_t errlen)
{
	is_infer_opts opts = {.max_batch = EMBED_BATCH, .threads = jobs, .conv = IS_CONV_AUTO};
	char		merr[256];

	memset(e, 0, sizeof(*e));
	e->n_models = n_models;
	e->models = calloc(n_models, sizeof(is_model));
	e->plans = calloc(n_models, sizeof(is_infer *));
	if (!e->models || !e->plans)
		return is_fail(err, errlen, "out of memory");
	for (int j = 0; j < n_models; j++)
	{
		is_model   *m = &e->models[j];

		if (is_model_load_file(m, models[j].path, merr, sizeof(merr)) != 0)
			return is_fail(err, errlen, "%s: %s", models[j].path, merr);
		if (strcmp(m->instrument, slakh_inst_name(inst)) != 0 || m->input != named)
			fprintf(stderr, "warning: %s is a %s model with %s input, named as %s with %s input\n",
					models[j].path, m->instrument, is_input_kind_name(m->input),
					slakh_inst_name(inst), is_input_kind_name(named));
		if (m->fe.sample_rate != SLAKH_RATE || !is_frontend_same(&m->fe, &e->models[0].fe) ||
			is_net_out_dim(&m->net) != is_net_out_dim(&e->models[0].net))
			return is_fail(err, errlen, "%s: the remix test wants models at %d Hz with one front end "
						   "and embedding size", models[j].path, SLAKH_RATE);
		if (!(e->plans[j] = is_infer_create(&m->net, &opts, merr, sizeof(merr))))
			return is_fail(err, errlen, "%s: inference plan: %s", models[j].path, merr);
	}
	e->dim = is_net_out_dim(&e->models[0].net);
	e->cap = (int) (window_s * SLAKH_RATE / is_segment_hop_samples(&e->models[0].fe)) + 1;
	e->image = (size_t) e->models[0].fe.n_mels * is_frontend_frames(&e->models[0].fe);
	e->mel = is_mel_new(&e->models[0].fe, is_segment_samples(&e->models[0].fe), merr, sizeof(merr));
	e->images = malloc(sizeof(float) * e->image * e->cap);
	e->seg_emb = malloc(sizeof(float) * e->dim * e->cap);
	e->zero_labels = calloc(e->cap, sizeof(int));
	if (!e->mel || !e->images || !e->seg_emb || !e->zero_labels)
		return is_fail(err, errlen, "mel stage or memory: %s", e->mel ? "out of memory" : merr);
	return 0;
}

/*
 * Track vectors of x (n samples) for every model: out[j * dim ..].  Returns
 * the number of non-silent segments (0: out untouched), or -1.
 */
static int
embed_window(embedder *e, const float *x, size_t n, float *out, char *err, size_t errlen)
{
	is_sample_buffer buf = {x, n, 0};
	is_segmenter *sg;
	is_segment	seg;
	is_audio_error ae = {0};
	int			n_seg = 0,
				rc = 0;
	char		ierr[256];

	if (is_segmenter_new(&e->models[0].fe, e->cap, is_segment_read_buffer, &buf, &sg, &ae) != IS_AUDIO_OK)
		return is_fail(err, errlen, "segmenter: %s", ae.message);
	while (n_seg < e->cap && (rc = is_segmenter_next(sg, &seg, &ae)) == 1)
		is_mel_compute(e->mel, seg.samples, e->images + e->image * n_seg++);
	is_segmenter_free(sg);
	if (rc < 0)
		return is_fail(err, errlen, "segmenter: %s", ae.message);
	if (n_seg == 0)
		return 0;
	for (int j = 0; j < e->n_models; j++)
	{
		if (is_infer_run(e->plans[j], e->images, n_seg, e->seg_emb, ierr, sizeof(ierr)) != 0)
			return is_fail(err, errlen, "inference: %s", ierr);
		is_track_centroids(e->seg_emb, e->zero_labels, n_seg, e->dim, 1, out + (size_t) j * e->dim);
	}
	return n_seg;
}

/* ---- the tracks' windows ------------------------------------------------ */

typedef struct window
{
	float	   *own,
			   *rest;			/* the instrument's stems, the others */
	size_t		n;
} window;

/* Cuts [start, start + len) out of the split track, start clamped so it fits. */
static int
load_window(const char *root, const char *track, slakh_inst inst, const remix_opts *o,
			window *w, char *err, size_t errlen)
{
	char		dir[4096],
				path[4200];
	slakh_meta	meta;
	float	   *own,
			   *rest;
	size_t		n,
				len = (size_t) (o->window_s * SLAKH_RATE),
				at = (size_t) (o->start_s * SLAKH_RATE);
	int			rc;

	snprintf(dir, sizeof(dir), "%s/%s", root, track);
	snprintf(path, sizeof(path), "%s/%s", dir, SLAKH_META_FILE);
	if (slakh_meta_read(path, &meta, err, errlen) != 0)
		return -1;
	rc = slakh_load_split(dir, &meta, inst, &own, &rest, &n, err, errlen);
	slakh_meta_free(&meta);
	if (rc != 0)
		return -1;
	if (at + len > n)
		at = n > len ? n - len : 0;
	w->n = n - at < len ? n - at : len;
	w->own = malloc(sizeof(float) * (w->n + 1));
	w->rest = malloc(sizeof(float) * (w->n + 1));
	if (w->own && w->rest && w->n)
	{
		memcpy(w->own, own + at, sizeof(float) * w->n);
		memcpy(w->rest, rest + at, sizeof(float) * w->n);
	}
	free(own);
	free(rest);
	return w->own && w->rest ? 0 : is_fail(err, errlen, "out of memory");
}

/* a's own part plus b's rest, the shorter one zero-padded (buf: room for both). */
static size_t
mix_parts(const window *a, const window *b, float *buf)
{
	size_t		n = a->n > b->n ? a->n : b->n;

	for (size_t i = 0; i < n; i++)
		buf[i] = (i < a->n ? a->own[i] : 0.0f) + (i < b->n ? b->rest[i] : 0.0f);
	return n;
}

int
eval_remix_run(const char *root, const slakh_tracks *test, slakh_inst inst,
			   is_input_kind named, const eval_model *models, int n_models, const remix_opts *o,
			   remix_result *out, char *err, size_t errlen)
{
	embedder	e = {0};
	int			nt = test->n,
				n_pairs = 0,
				rc;
	window	   *w = calloc(nt ? nt : 1, sizeof(window));
	bool	   *audible = calloc(nt ? nt : 1, sizeof(bool));
	int		   *a = malloc(sizeof(int) * (o->pairs + 1)),
			   *b = malloc(sizeof(int) * (o->pairs + 1));
	float	   *buf = malloc(sizeof(float) * ((size_t) (o->window_s * SLAKH_RATE) + 1));
	float	   *mix = NULL,
			   *remix = NULL,
			   *tmp = NULL;
	int		   *scored = NULL;

	memset(out, 0, sizeof(*out));
	out->n_models = n_models;
	rc = w && audible && a && b && buf ? 0 : is_fail(err, errlen, "out of memory");
	if (rc == 0)
		rc = embedder_init(&e, models, n_models, inst, named, o->window_s, o->jobs, err, errlen);
	if (rc == 0)
	{
		mix = calloc((size_t) n_models * nt * e.dim + 1, sizeof(float));
		remix = calloc((size_t) n_models * o->pairs * e.dim + 1, sizeof(float));
		tmp = malloc(sizeof(float) * n_models * e.dim);
		scored = malloc(sizeof(int) * (o->pairs + 1));
		if (!mix || !remix || !tmp || !scored)
			rc = is_fail(err, errlen, "out of memory");
	}
	/* every track's mix over its window, and whether its instrument plays there */
	for (int t = 0; t < nt && rc == 0; t++)
	{
		int			s;

		if ((rc = load_window(root, test->names[t], inst, o, &w[t], err, errlen)) != 0)
			break;
		for (size_t i = 0; i < w[t].n; i++)
			buf[i] = w[t].own[i] + w[t].rest[i];
		if ((s = embed_window(&e, buf, w[t].n, tmp, err, errlen)) < 0)
			rc = -1;
		else if (s == 0)
			rc = is_fail(err, errlen, "%s: the mix is silent from %g s for %g s (try another --remix-start)",
						 test->names[t], o->start_s, o->window_s);
		for (int j = 0; rc == 0 && j < n_models; j++)
			memcpy(mix + ((size_t) j * nt + t) * e.dim, tmp + (size_t) j * e.dim, sizeof(float) * e.dim);
		if (rc == 0 && (s = embed_window(&e, w[t].own, w[t].n, tmp, err, errlen)) < 0)
			rc = -1;
		audible[t] = s > 0;
	}
	if (rc == 0 && (n_pairs = eval_remix_pairs(nt, o->pairs, o->seed, a, b)) < 0)
		rc = is_fail(err, errlen, "out of memory");
	for (int p = 0; p < n_pairs && rc == 0; p++)
	{
		int			s = 0;

		if (audible[a[p]])
			s = embed_window(&e, buf, mix_parts(&w[a[p]], &w[b[p]], buf), tmp, err, errlen);
		if (s < 0)
			rc = -1;
		else if (s == 0)
			out->n_skipped++;
		else
		{
			scored[out->n_pairs] = p;
			for (int j = 0; j < n_models; j++)
				memcpy(remix + ((size_t) j * o->pairs + out->n_pairs) * e.dim,
					   tmp + (size_t) j * e.dim, sizeof(float) * e.dim);
			out->n_pairs++;
		}
	}
	if (rc == 0 && out->n_pairs == 0)
		rc = is_fail(err, errlen, "%s: no pair could be scored", slakh_inst_name(inst));
	for (int p = 0; rc == 0 && p < out->n_pairs; p++)
	{
		/* the scored pairs, packed */
		a[p] = a[scored[p]];
		b[p] = b[scored[p]];
	}
	for (int j = 0; rc == 0 && j < n_models; j++)
	{
		int			nearer,
					rank1;

		eval_remix_score(mix + (size_t) j * nt * e.dim, nt, remix + (size_t) j * o->pairs * e.dim,
						 a, b, out->n_pairs, e.dim, &nearer, &rank1);
		out->nearer += (double) nearer / out->n_pairs / n_models;
		out->rank1 += (double) rank1 / out->n_pairs / n_models;
	}
	if (e.models)
		embedder_free(&e);
	for (int t = 0; w && t < nt; t++)
	{
		free(w[t].own);
		free(w[t].rest);
	}
	free(w);
	free(audible);
	free(a);
	free(b);
	free(buf);
	free(mix);
	free(remix);
	free(tmp);
	free(scored);
	return rc;
}
