#include "remix_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "errbuf.h"
#include "fastmath.h"
#include "frozen_trunk.h"
#include "simd_clones.h"
#include "train_conv.h"

#define DRAWS 16				/* tries to find a song that has an instrument */

/*
 * Part by part over the whole image, so that each pass is one vector loop
 * (a loop over parts inside a loop over pixels would not vectorise); the
 * power sum is float, which holds the few parts summed here to float
 * precision.  It runs on the trainer's one thread between batches, so its
 * speed is the epoch's.
 */
IS_SIMD_CLONES void
remix_compose(const float *const *in, const float *gain, int k, size_t pixels, float log_offset, float *out)
{
	if (k < 1)					/* no part: silence */
		memset(out, 0, sizeof(float) * pixels);
	for (int i = 0; i < k; i++)
	{
		const float *x = in[i];
		float		g = gain ? gain[i] : 1.0f;

#pragma omp simd
		for (size_t j = 0; j < pixels; j++)
		{
			float		q = is_exp_float(x[j]) - log_offset;

			q = q > 0.0f ? g * q : 0.0f;
			out[j] = i == 0 ? q : out[j] + q;
		}
	}
#pragma omp simd
	for (size_t j = 0; j < pixels; j++)
		out[j] = is_log_positive(out[j] + log_offset);
}

/*
 * The index (into set's images) of a random segment of a track other than
 * avoid, drawing up to tries tracks; -1 if none of them has one.
 */
static ptrdiff_t
draw_part(const mel_set *set, is_rng *rng, int avoid, int tries, int *track)
{
	for (int t = 0; t < tries; t++)
	{
		int			k = is_rng_below(rng, set->n_tracks);

		if (k != avoid && set->n_segs[k] > 0)
		{
			*track = k;
			return (ptrdiff_t) (set->first[k] + is_rng_below(rng, set->n_segs[k]));
		}
	}
	return -1;
}

static const float *
image_at(const mel_set *set, ptrdiff_t i)
{
	return i < 0 ? NULL : mel_set_image_at(set, (size_t) i);
}

/*
 * One background set: a segment of every instrument but X, from songs other
 * than a, and the other stems of one random song other than a when it has
 * them (a single draw: backgrounds hold them as often as songs do).
 */
static int
draw_background(const remix_src *src, is_rng *rng, int a, const float **parts)
{
	int			k = 0,
				track;

	for (int y = SLAKH_DRUMS; y < SLAKH_N_INST; y++)
		if (y != (int) src->target && (parts[k] = image_at(src->part[y], draw_part(src->part[y], rng, a, DRAWS, &track))))
			k++;
	if (src->part[SLAKH_OTHER] &&
		(parts[k] = image_at(src->part[SLAKH_OTHER], draw_part(src->part[SLAKH_OTHER], rng, a, 1, &track))))
		k++;
	return k;
}

/*
 * Power factors for a composite's parts: X (part 0) at its stored level, the
 * k background parts each moved by its own uniform draw in +-gain_db dB.
 * NULL without gain_db, which draws nothing, so runs without it stay as
 * they were.
 */
static const float *
draw_gains(const remix_src *src, is_rng *rng, int k, float *gain)
{
	if (!(src->gain_db > 0.0))
		return NULL;
	gain[0] = 1.0f;
	for (int i = 1; i <= k; i++)
		gain[i] = (float) pow(10.0, src->gain_db * (2.0 * is_rng_unit(rng) - 1.0) / 10.0);
	return gain;
}

int
remix_triplet(const remix_src *src, is_rng *rng, int a, int i, int n,
			  float *batch, size_t *ximage, int *label)
{
	const mel_set *x = src->part[src->target],
			   *mix = src->part[SLAKH_MIX];
	size_t		pixels = mel_set_pixels(x);
	const float *bg[2][SLAKH_OTHER + 1];	/* X, three instruments, other */
	float		gain[2][SLAKH_OTHER + 1];
	const float *bg_gain[2];
	int			n_bg[2],
				neg,
				s1,
				s2;
	ptrdiff_t	src_img[3];
	int			src_track[3];
	bool		own;

	if (x->n_segs[a] < 2)
		return -1;
	s1 = is_rng_below(rng, x->n_segs[a]);
	s2 = is_rng_below(rng, x->n_segs[a] - 1);
	s2 += s2 >= s1;				/* another segment of the same source */
	if ((src_img[2] = draw_part(x, rng, a, DRAWS, &neg)) < 0)
		return -1;
	src_img[0] = (ptrdiff_t) (x->first[a] + s1);
	src_img[1] = (ptrdiff_t) (x->first[a] + s2);
	src_track[0] = src_track[1] = a;
	src_track[2] = neg;
	n_bg[0] = draw_background(src, rng, a, bg[0] + 1);
	/*
	 * Drawn only when asked for, so that own = 0 keeps the remixes of before;
	 * and before the positive's background, which a positive from the own
	 * mix does not need.
	 */
	own = src->own > 0.0 && mix && mix->n_segs[a] > 0 && is_rng_unit(rng) < src->own;
	n_bg[1] = own ? 0 : draw_background(src, rng, a, bg[1] + 1);
	/* per background, so that the negative hears the anchor's at its levels */
	bg_gain[0] = draw_gains(src, rng, n_bg[0], gain[0]);
	bg_gain[1] = own ? NULL : draw_gains(src, rng, n_bg[1], gain[1]);
	for (int j = 0; j < 3; j++)
	{
		int			b = j == 1;		/* the positive has its own background */
		size_t		row = (size_t) (j * n + i);

		if (b && own)
		{
			size_t		m = mix->first[a] + (size_t) is_rng_below(rng, mix->n_segs[a]);
			ptrdiff_t	xm = mel_set_find_window(x, a, mix->window[m]);

			memcpy(batch + row * pixels, mel_set_image_at(mix, m), sizeof(float) * pixels);
			ximage[row] = xm < 0 ? REMIX_NO_IMAGE : (size_t) xm;
		}
		else
		{
			bg[b][0] = image_at(x, src_img[j]);
			remix_compose(bg[b], bg_gain[b], n_bg[b] + 1, pixels, src->log_offset,
						  batch + row * pixels);
			ximage[row] = (size_t) src_img[j];
		}
		label[row] = src_track[j];
	}
	return own;
}

/*
 * Loads the model at path into *t and checks that it can teach targets[k]'s
 * student.  On failure *t may hold the loaded model: the caller frees it.
 */
static int
open_teacher(remix_aug *g, int k, const char *path, const is_frontend *fe, int threads,
			 is_model *t, is_infer **plan, char *err, size_t errlen)
{
	is_infer_opts opts = {.max_batch = g->max_rows, .threads = threads};
	const char *want = slakh_inst_name(g->targets[k]);
	char		merr[256];

	if (is_train_conv_kind(&opts.conv, merr, sizeof(merr)) < 0)
		return is_fail(err, errlen, "teacher %s: %s", path, merr);
	if (is_model_load_file(t, path, merr, sizeof(merr)) < 0)
		return is_fail(err, errlen, "teacher %s: %s", path, merr);
	if (strcmp(t->instrument, want) != 0)
		return is_fail(err, errlen, "teacher %s is a %s model; want a %s model",
					   path, t->instrument, want);
	if (!is_frontend_same(&t->fe, fe))
		return is_fail(err, errlen, "teacher %s has another front end than the trainer's", path);
	if (is_net_out_dim(&t->net) != g->emb_dim)
		return is_fail(err, errlen, "teacher %s embeds into %d dimensions, the student into %d",
					   path, is_net_out_dim(&t->net), g->emb_dim);
	if (!(*plan = is_infer_create(&t->net, &opts, merr, sizeof(merr))))
		return is_fail(err, errlen, "teacher %s: %s", path, merr);
	return 0;
}

/*
 * Only stem teachers join an ensemble: their targets are a table computed
 * once, so an ensemble costs nothing per batch, where a mix teacher would
 * run on every batch once per member.
 */
#define MIX_IN_ENSEMBLE "teacher %s is a mix model; an ensemble of teachers takes stem models only"

/* Adds the embeddings of one more stem model of an ensemble (path) to the table of teacher k. */
static int
add_ensemble_member(remix_aug *g, int k, const char *path, const is_frontend *fe, int threads,
					char *err, size_t errlen)
{
	const mel_set *x = &g->parts[g->targets[k]];
	is_model	t = {0};
	is_infer   *plan = NULL;
	float	   *table = NULL;
	char		merr[256];
	int			rc = open_teacher(g, k, path, fe, threads, &t, &plan, err, errlen);

	if (rc == 0 && t.input != IS_INPUT_STEM)
		rc = is_fail(err, errlen, MIX_IN_ENSEMBLE, path);
	if (rc == 0 && !(table = remix_teacher_table(plan, x, g->max_rows, g->emb_dim, merr, sizeof(merr))))
		rc = is_fail(err, errlen, "teacher %s: %s", path, merr);
	if (rc == 0)
		for (size_t i = 0; i < x->n_images * (size_t) g->emb_dim; i++)
			g->teacher_emb[k][i] += table[i];
	free(table);
	is_infer_free(plan);
	is_model_free(&t);
	return rc;
}

/*
 * Loads teacher k: the stem model of targets[k] fitting the student, or an
 * ensemble of stem models joined by '+', whose target is the direction of
 * the sum of their embeddings (the mean direction, renormalised).
 */
static int
load_teacher(remix_aug *g, int k, const char *spec, const is_frontend *fe, int threads,
			 char *err, size_t errlen)
{
	char	   *paths = strdup(spec);
	char	   *rest = NULL;
	char	   *first;
	char		merr[256];
	int			rc = 0;

	if (!paths)
		return is_fail(err, errlen, "out of memory for the teacher's paths");
	/* "a+" would otherwise teach as "a": a member left out is a typo to report */
	if (!*spec || spec[0] == '+' || spec[strlen(spec) - 1] == '+' || strstr(spec, "++"))
	{
		free(paths);
		return is_fail(err, errlen, "teacher \"%s\": an empty model path (an ensemble is A+B+...)", spec);
	}
	/* the check above leaves a first member */
	first = strtok_r(paths, "+", &rest);
	rc = open_teacher(g, k, first, fe, threads, &g->teacher[k], &g->plan[k], err, errlen);
	if (rc == 0 && g->teacher[k].input == IS_INPUT_STEM &&
		!(g->teacher_emb[k] = remix_teacher_table(g->plan[k], &g->parts[g->targets[k]], g->max_rows,
												  g->emb_dim, merr, sizeof(merr))))
		rc = is_fail(err, errlen, "teacher %s: %s", first, merr);
	if (rc == 0 && rest && *rest)
	{
		const mel_set *x = &g->parts[g->targets[k]];

		if (!g->teacher_emb[k])
			rc = is_fail(err, errlen, MIX_IN_ENSEMBLE, first);
		for (char *p = strtok_r(NULL, "+", &rest); rc == 0 && p; p = strtok_r(NULL, "+", &rest))
			rc = add_ensemble_member(g, k, p, fe, threads, err, errlen);
		for (size_t i = 0; rc == 0 && i < x->n_images; i++)
			is_l2_normalize(g->teacher_emb[k] + i * (size_t) g->emb_dim, g->emb_dim);
	}
	free(paths);
	return rc;
}

float *
remix_teacher_table(is_infer *plan, const mel_set *x, int max_rows, int emb_dim, char *err, size_t errlen)
{
	float	   *table;

	if (max_rows < 1)
		return is_fail(err, errlen, "%d rows per pass, want at least 1", max_rows), NULL;
	table = malloc(sizeof(float) * emb_dim * (x->n_images ? x->n_images : 1));
	if (!table)
		return is_fail(err, errlen, "out of memory for the teacher's embeddings"), NULL;
	for (size_t i = 0; i < x->n_images; i += (size_t) max_rows)
	{
		int			m = (int) (x->n_images - i < (size_t) max_rows ? x->n_images - i : (size_t) max_rows);

		if (is_infer_run(plan, mel_set_image_at(x, i), m, table + i * emb_dim, err, errlen) != 0)
		{
			free(table);
			return NULL;
		}
	}
	return table;
}

int
remix_aug_init(remix_aug *g, const char *root, const slakh_tracks *tracks,
			   const slakh_inst *targets, int n_targets, const is_frontend *fe,
			   int max_segs, int threads, const char *cache_dir, double p, bool other,
			   const char *const *teacher_paths, int emb_dim,
			   int max_rows, char *err, size_t errlen)
{
	size_t		pixels;
	bool		mix_teacher = false;

	memset(g, 0, sizeof(*g));
	if (n_targets < 1 || n_targets > REMIX_MAX_TARGETS)
		return is_fail(err, errlen, "%d target instruments, want 1 to %d", n_targets, REMIX_MAX_TARGETS);
	g->p = p;
	g->max_rows = max_rows;
	g->emb_dim = emb_dim;
	g->n_targets = n_targets;
	memcpy(g->targets, targets, sizeof(slakh_inst) * n_targets);
	g->src = (remix_src) {.target = targets[0], .log_offset = (float) fe->log_offset};
	for (int y = SLAKH_DRUMS; y <= (other ? SLAKH_OTHER : SLAKH_GUITAR); y++)
	{
		if (mel_set_build(root, tracks, (slakh_inst) y, fe, max_segs, threads, cache_dir,
						  &g->parts[y], err, errlen) < 0)
			return -1;
		g->src.part[y] = &g->parts[y];
	}
	pixels = mel_set_pixels(&g->parts[SLAKH_DRUMS]);
	g->ximage = calloc(max_rows, sizeof(size_t));
	g->target = malloc(sizeof(float) * emb_dim * max_rows);
	g->has = calloc(max_rows, 1);
	g->row_target = calloc(max_rows, sizeof(int));
	if (!g->ximage || !g->target || !g->has || !g->row_target)
		return is_fail(err, errlen, "out of memory for remixed batches");
	if (!teacher_paths)
		return 0;
	g->have_teacher = true;
	for (int k = 0; k < n_targets; k++)
	{
		if (load_teacher(g, k, teacher_paths[k], fe, threads, err, errlen) < 0)
			return -1;
		mix_teacher |= !g->teacher_emb[k];
	}
	if (!mix_teacher)
		return 0;
	/* a mix teacher hears the batch: its rows are gathered for it */
	g->gather = malloc(sizeof(float) * pixels * max_rows);
	g->gather_emb = malloc(sizeof(float) * emb_dim * max_rows);
	g->gather_row = malloc(sizeof(int) * max_rows);
	if (!g->gather || !g->gather_emb || !g->gather_row)
		return is_fail(err, errlen, "out of memory for remixed batches");
	return 0;
}

int
remix_aug_triplet(remix_aug *g, is_rng *rng, int k, int a, int i, int n, float *batch, int *label)
{
	int			rc = -1;

	g->src.target = g->targets[k];
	if (is_rng_unit(rng) < g->p)
		rc = remix_triplet(&g->src, rng, a, i, n, batch, g->ximage, label);
	for (int j = 0; j < 3; j++)
	{
		size_t		row = (size_t) (j * n + i);
		bool		own_positive = rc == 1 && j == 1;

		/* an own-mix positive: only when asked for and where X sounds */
		g->has[row] = (unsigned char) (rc >= 0 &&
									   (!own_positive || (g->distill_own && g->ximage[row] != REMIX_NO_IMAGE)));
		g->row_target[row] = k;
	}
	return rc >= 0;
}

/*
 * A stem teacher's targets are looked up (remix_teacher_table); a mix
 * teacher runs on the remixed rows of its target only, so that such
 * teachers together cost one pass.
 */
const float *
remix_aug_targets(remix_aug *g, const float *batch, int n, char *err, size_t errlen)
{
	size_t		pixels = mel_set_pixels(&g->parts[SLAKH_DRUMS]);
	size_t		dim = (size_t) g->emb_dim;
	char		ierr[256];

	if (!g->have_teacher)
		return NULL;
	for (int r = 0; r < 3 * n; r++)
		if (g->has[r] && g->teacher_emb[g->row_target[r]])
		{
			memcpy(g->target + dim * r, g->teacher_emb[g->row_target[r]] + dim * g->ximage[r],
				   sizeof(float) * dim);
			if (g->teacher_map)
				memcpy(g->target_map + g->map_floats * r, g->teacher_map + g->map_floats * g->ximage[r],
					   sizeof(float) * g->map_floats);
		}
	for (int k = 0; k < g->n_targets; k++)
	{
		int			m = 0;

		if (g->teacher_emb[k])
			continue;
		for (int r = 0; r < 3 * n; r++)
			if (g->has[r] && g->row_target[r] == k)
			{
				memcpy(g->gather + pixels * m, batch + pixels * r, sizeof(float) * pixels);
				g->gather_row[m++] = r;
			}
		if (m == 0)
			continue;
		if (is_infer_run(g->plan[k], g->gather, m, g->gather_emb, ierr, sizeof(ierr)) != 0)
			return is_fail(err, errlen, "teacher of %s: %s", slakh_inst_name(g->targets[k]), ierr), NULL;
		for (int j = 0; j < m; j++)
			memcpy(g->target + dim * g->gather_row[j], g->gather_emb + dim * j, sizeof(float) * dim);
	}
	return g->target;
}

int
remix_aug_maps(remix_aug *g, const char *teacher_path, int blocks, size_t map_floats,
			   int threads, char *err, size_t errlen)
{
	const mel_set *x = &g->parts[g->targets[0]];
	is_trunk	t;
	size_t		have;
	int			rc;

	if (g->n_targets != 1 || !g->have_teacher || !g->teacher_emb[0])
		return is_fail(err, errlen, "a feature-map hint needs one instrument and its stem model as the teacher");
	if (is_trunk_open(&t, teacher_path, blocks, threads, err, errlen) < 0)
	{
		is_trunk_close(&t);
		return -1;
	}
	have = (size_t) t.act.c * t.act.h * t.act.w;
	if (have != map_floats)
	{
		is_fail(err, errlen, "teacher %s: its map after %d blocks is %d x %d x %d, the student's %zu floats",
				teacher_path, blocks, t.act.c, t.act.h, t.act.w, map_floats);
		is_trunk_close(&t);
		return -1;
	}
	g->map_floats = map_floats;
	g->teacher_map = malloc(sizeof(float) * map_floats * (x->n_images ? x->n_images : 1));
	g->target_map = malloc(sizeof(float) * map_floats * g->max_rows);
	if (!g->teacher_map || !g->target_map)
		rc = is_fail(err, errlen, "out of memory for the teacher's feature maps (%zu images of %zu floats)",
					 x->n_images, map_floats);
	else
		rc = is_trunk_run(&t, x->data, (int) x->n_images, g->teacher_map, err, errlen);
	is_trunk_close(&t);
	return rc;
}

void
remix_aug_free(remix_aug *g)
{
	for (int y = 0; y <= SLAKH_OTHER; y++)
		mel_set_free(&g->parts[y]);
	for (int k = 0; k < g->n_targets; k++)
	{
		is_infer_free(g->plan[k]);
		is_model_free(&g->teacher[k]);
		free(g->teacher_emb[k]);
	}
	free(g->ximage);
	free(g->target);
	free(g->has);
	free(g->row_target);
	free(g->gather);
	free(g->gather_emb);
	free(g->gather_row);
	free(g->teacher_map);
	free(g->target_map);
	memset(g, 0, sizeof(*g));
}
