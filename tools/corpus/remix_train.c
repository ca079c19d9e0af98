#include "remix_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

#define DRAWS 16				/* tries to find a song that has an instrument */

void
remix_compose(const float *const *in, int k, size_t pixels, float log_offset, float *out)
{
	for (size_t j = 0; j < pixels; j++)
	{
		double		p = 0.0;

		for (int i = 0; i < k; i++)
		{
			double		q = exp((double) in[i][j]) - log_offset;

			p += q > 0.0 ? q : 0.0;
		}
		out[j] = (float) log(p + log_offset);
	}
}

/* A random segment of inst from a track other than avoid; NULL if none found. */
static const float *
draw_part(const mel_set *set, is_rng *rng, int avoid, int *track)
{
	for (int t = 0; t < DRAWS; t++)
	{
		int			k = is_rng_below(rng, set->n_tracks);

		if (k != avoid && set->n_segs[k] > 0)
		{
			*track = k;
			return mel_set_image(set, k, is_rng_below(rng, set->n_segs[k]));
		}
	}
	return NULL;
}

/* One background set: a segment of every instrument but X, from songs other than a. */
static int
draw_background(const remix_src *src, is_rng *rng, int a, const float **parts)
{
	int			k = 0,
				track;

	for (int y = SLAKH_DRUMS; y < SLAKH_N_INST; y++)
		if (y != (int) src->target && (parts[k] = draw_part(src->part[y], rng, a, &track)))
			k++;
	return k;
}

int
remix_triplet(const remix_src *src, is_rng *rng, int a, int i, int n,
			  float *batch, float *xbatch, int *label)
{
	const mel_set *x = src->part[src->target];
	size_t		pixels = (size_t) x->n_mels * x->frames;
	const float *bg[2][SLAKH_N_INST + 1];
	int			n_bg[2],
				neg,
				s1,
				s2;
	const float *src_img[3];
	int			src_track[3];

	if (x->n_segs[a] < 2)
		return -1;
	s1 = is_rng_below(rng, x->n_segs[a]);
	s2 = is_rng_below(rng, x->n_segs[a] - 1);
	s2 += s2 >= s1;				/* another segment of the same source */
	if (!(src_img[2] = draw_part(x, rng, a, &neg)))
		return -1;
	src_img[0] = mel_set_image(x, a, s1);
	src_img[1] = mel_set_image(x, a, s2);
	src_track[0] = src_track[1] = a;
	src_track[2] = neg;
	n_bg[0] = draw_background(src, rng, a, bg[0] + 1);
	n_bg[1] = draw_background(src, rng, a, bg[1] + 1);
	for (int j = 0; j < 3; j++)
	{
		int			b = j == 1;		/* the positive has its own background */
		size_t		row = (size_t) (j * n + i) * pixels;

		bg[b][0] = src_img[j];
		remix_compose(bg[b], n_bg[b] + 1, pixels, src->log_offset, batch + row);
		memcpy(xbatch + row, src_img[j], sizeof(float) * pixels);
		label[j * n + i] = src_track[j];
	}
	return 0;
}

int
remix_aug_init(remix_aug *g, const char *root, const slakh_tracks *tracks,
			   slakh_inst target, const is_frontend *fe, int max_segs, int threads,
			   const char *cache_dir, double p, const char *teacher_path, int emb_dim,
			   int max_rows, char *err, size_t errlen)
{
	is_infer_opts opts = {.max_batch = max_rows, .threads = threads, .conv = IS_CONV_AUTO};
	size_t		pixels;
	char		merr[256];

	memset(g, 0, sizeof(*g));
	g->p = p;
	g->max_rows = max_rows;
	g->src = (remix_src) {.target = target, .log_offset = (float) fe->log_offset};
	for (int y = SLAKH_DRUMS; y < SLAKH_N_INST; y++)
	{
		if (mel_set_build(root, tracks, (slakh_inst) y, fe, max_segs, threads, cache_dir,
						  &g->parts[y], err, errlen) < 0)
			return -1;
		g->src.part[y] = &g->parts[y];
	}
	pixels = (size_t) g->parts[target].n_mels * g->parts[target].frames;
	g->xbatch = calloc(pixels * max_rows, sizeof(float));	/* rows never remixed still reach the teacher */
	g->target = malloc(sizeof(float) * emb_dim * max_rows);
	g->has = calloc(max_rows, 1);
	if (!g->xbatch || !g->target || !g->has)
		return is_fail(err, errlen, "out of memory for remixed batches");
	if (!teacher_path)
		return 0;
	if (is_model_load_file(&g->teacher, teacher_path, merr, sizeof(merr)) < 0)
		return is_fail(err, errlen, "teacher %s: %s", teacher_path, merr);
	g->have_teacher = true;
	if (strcmp(g->teacher.instrument, slakh_inst_name(target)) != 0 || g->teacher.input != IS_INPUT_STEM)
		return is_fail(err, errlen, "teacher %s is a %s model with %s input; want the %s stem model",
					   teacher_path, g->teacher.instrument, is_input_kind_name(g->teacher.input),
					   slakh_inst_name(target));
	if (!is_frontend_same(&g->teacher.fe, fe))
		return is_fail(err, errlen, "teacher %s has another front end than the trainer's", teacher_path);
	if (is_net_out_dim(&g->teacher.net) != emb_dim)
		return is_fail(err, errlen, "teacher %s embeds into %d dimensions, the student into %d",
					   teacher_path, is_net_out_dim(&g->teacher.net), emb_dim);
	if (!(g->plan = is_infer_create(&g->teacher.net, &opts, merr, sizeof(merr))))
		return is_fail(err, errlen, "teacher %s: %s", teacher_path, merr);
	return 0;
}

int
remix_aug_triplet(remix_aug *g, is_rng *rng, int a, int i, int n, float *batch, int *label)
{
	int			mixed = is_rng_unit(rng) < g->p &&
		remix_triplet(&g->src, rng, a, i, n, batch, g->xbatch, label) == 0;

	for (int j = 0; j < 3; j++)
		g->has[j * n + i] = (unsigned char) mixed;
	return mixed;
}

const float *
remix_aug_targets(remix_aug *g, int n, char *err, size_t errlen)
{
	char		ierr[256];

	if (!g->have_teacher)
		return NULL;
	if (is_infer_run(g->plan, g->xbatch, 3 * n, g->target, ierr, sizeof(ierr)) != 0)
		return is_fail(err, errlen, "teacher: %s", ierr), NULL;
	return g->target;
}

void
remix_aug_free(remix_aug *g)
{
	for (int y = 0; y < SLAKH_N_INST; y++)
		mel_set_free(&g->parts[y]);
	is_infer_free(g->plan);
	if (g->have_teacher)
		is_model_free(&g->teacher);
	free(g->xbatch);
	free(g->target);
	free(g->has);
	memset(g, 0, sizeof(*g));
}
