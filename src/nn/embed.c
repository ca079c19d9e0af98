#include "embed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distance.h"
#include "mel.h"

struct is_embedder
{
	is_frontend fe;
	is_mel	   *mel;
	is_infer   *plan;
	int			dim;
	int			max_batch;
	int			mel_size;
	float	   *mel_buf;		/* max_batch mel images: the network input */
};

struct is_embed_run
{
	is_segmenter *sg;
	int			batch;			/* smallest max_batch of the embedders */
	int			n_models;
	/* a batch whose mel images are made but not yet through every network */
	int			pending;		/* its segments; 0 when none */
	int			next_model;		/* the first network it has not been through */
	int			failed_model;	/* the network behind IS_AUDIO_NOT_FINITE or _INVALID_ARG */
	double	   *start_s;		/* batch start times, for messages */
	/*
	 * Models that compute the same first operations (heads trained together,
	 * models on another's frozen blocks) share those passes, as a tree: model
	 * m continues from parent[m]'s activation after start[m] operations (m
	 * itself and 0: it runs from the mel images).  Model m keeps its
	 * activation at each of its n_saves[m] cuts save_at[m][] (ascending, for
	 * its children) in save_act[m][].  So mix, three models on mix's first
	 * two blocks and one on its first block run block 1 once and block 2
	 * twice, not four times.
	 */
	int		   *parent;
	int		   *start;
	int		   *n_saves;
	int		  **save_at;
	float	 ***save_act;
	is_embedder *e[];			/* e[0]'s mel context and buffer serve all */
};

is_embedder *
is_embedder_new(const is_model *m, int max_batch, int threads, char *err, size_t errlen)
{
	is_infer_opts opts = {.max_batch = max_batch, .threads = threads, .conv = IS_CONV_AUTO};

	return is_embedder_new_opts(m, &opts, err, errlen);
}

is_embedder *
is_embedder_new_opts(const is_model *m, const is_infer_opts *opts, char *err, size_t errlen)
{
	is_embedder *e = calloc(1, sizeof(is_embedder));
	int			max_batch = opts->max_batch;

	if (!e)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->fe = m->fe;
	e->max_batch = max_batch;
	e->dim = is_net_out_dim(&m->net);
	e->mel = is_mel_new(&m->fe, is_segment_samples(&m->fe), err, errlen);
	if (!e->mel)
		goto fail;
	e->mel_size = is_mel_bands(e->mel) * is_mel_frames(e->mel);
	if (m->net.in_c != 1 || m->net.in_h * m->net.in_w != e->mel_size ||
		m->net.in_h != is_mel_bands(e->mel))
	{
		snprintf(err, errlen, "the network expects %d x %d x %d inputs but the front end makes 1 x %d x %d",
				 m->net.in_c, m->net.in_h, m->net.in_w, is_mel_bands(e->mel),
				 is_mel_frames(e->mel));
		goto fail;
	}
	e->plan = is_infer_create(&m->net, opts, err, errlen);
	if (!e->plan)
		goto fail;
	e->mel_buf = malloc(sizeof(float) * (size_t) max_batch * e->mel_size);
	if (!e->mel_buf)
	{
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return e;

fail:
	is_embedder_free(e);
	return NULL;
}

void
is_embedder_set_interrupt(is_embedder *e, is_interrupt_fn fn, void *arg)
{
	is_infer_set_interrupt(e->plan, fn, arg);
}

void
is_embedder_free(is_embedder *e)
{
	if (!e)
		return;
	if (e->mel)
		is_mel_free(e->mel);
	if (e->plan)
		is_infer_free(e->plan);
	free(e->mel_buf);
	free(e);
}

int
is_embedder_dim(const is_embedder *e)
{
	return e->dim;
}

int
is_embedder_max_batch(const is_embedder *e)
{
	return e->max_batch;
}

const is_frontend *
is_embedder_frontend(const is_embedder *e)
{
	return &e->fe;
}

int
is_embedder_mel_size(const is_embedder *e)
{
	return e->mel_size;
}

/* Every field, exactly: models trained on one front end share its defaults. */
int
is_frontend_differs(const is_frontend *a, const is_frontend *b, char *msg, size_t msglen)
{
#define DIFFERS(field, fmt) \
	if (a->field != b->field) \
	{ \
		snprintf(msg, msglen, #field " " fmt " vs " fmt, a->field, b->field); \
		return 1; \
	}
	DIFFERS(sample_rate, "%d");
	DIFFERS(segment_s, "%g");
	DIFFERS(hop_s, "%g");
	DIFFERS(silence_dbfs, "%g");
	DIFFERS(n_fft, "%d");
	DIFFERS(hop_length, "%d");
	DIFFERS(n_mels, "%d");
	DIFFERS(f_min, "%g");
	DIFFERS(f_max, "%g");
	DIFFERS(log_offset, "%g");
#undef DIFFERS
	return 0;
}

/*
 * Each model continues from the earlier model with which it shares the most
 * operations (the earliest among equals), provided that model computes the
 * activation there itself rather than taking it from its own parent.  The
 * earliest among equals is the one nearest the root, so a parent never has
 * to keep an activation before its own start.
 */
static int
plan_trunks(is_embed_run *r)
{
	int			n = r->n_models;

	r->parent = malloc(sizeof(int) * (size_t) n);
	r->start = calloc((size_t) n, sizeof(int));
	r->n_saves = calloc((size_t) n, sizeof(int));
	r->save_at = calloc((size_t) n, sizeof(int *));
	r->save_act = calloc((size_t) n, sizeof(float **));
	if (!r->parent || !r->start || !r->n_saves || !r->save_at || !r->save_act)
		return -1;
	for (int m = 0; m < n; m++)
	{
		r->parent[m] = m;
		for (int j = 0; j < m; j++)
		{
			int			k = is_infer_shared_prefix(r->e[j]->plan, r->e[m]->plan);

			if (k > r->start[m] && k > r->start[j])
			{
				r->parent[m] = j;
				r->start[m] = k;
			}
		}
	}
	for (int m = 0; m < n; m++)
	{
		int			p = r->parent[m],
					i;

		if (p == m)
			continue;
		if (!r->save_at[p] && !(r->save_at[p] = malloc(sizeof(int) * (size_t) n)))
			return -1;
		for (i = 0; i < r->n_saves[p] && r->save_at[p][i] < r->start[m]; i++)
			;
		if (i < r->n_saves[p] && r->save_at[p][i] == r->start[m])
			continue;
		memmove(r->save_at[p] + i + 1, r->save_at[p] + i, sizeof(int) * (size_t) (r->n_saves[p] - i));
		r->save_at[p][i] = r->start[m];
		r->n_saves[p]++;
	}
	/*
	 * At most one kept batch of activations per child, each no larger than a
	 * layer of the parent's own arena (bounded by max_arena): the tree can at
	 * most double what the models' plans already hold.
	 */
	for (int m = 0; m < n; m++)
	{
		if (r->n_saves[m] == 0)
			continue;
		if (!(r->save_act[m] = calloc((size_t) r->n_saves[m], sizeof(float *))))
			return -1;
		for (int i = 0; i < r->n_saves[m]; i++)
			if (!(r->save_act[m][i] = malloc(sizeof(float) * r->batch *
											 is_infer_prefix_floats(r->e[m]->plan, r->save_at[m][i]))))
				return -1;
	}
	return 0;
}

/* Model m's activation after k operations, which m keeps for a child. */
static const float *
saved_act(const is_embed_run *r, int m, int k)
{
	for (int i = 0; i < r->n_saves[m]; i++)
		if (r->save_at[m][i] == k)
			return r->save_act[m][i];
	return NULL;
}

/*
 * Model m's pass over n images: from its parent's activation (or the mel
 * images) through each cut it keeps for its children to its embedding.
 */
static int
run_model(is_embed_run *r, int m, int n, float *emb, char *msg, size_t msglen)
{
	is_infer   *plan = r->e[m]->plan;
	int			from = r->start[m];
	const float *in = from > 0 ? saved_act(r, r->parent[m], from) : r->e[0]->mel_buf;

	for (int i = 0; i < r->n_saves[m]; i++)
	{
		int			rc = is_infer_run_ops(plan, from, r->save_at[m][i], in, n,
										  r->save_act[m][i], msg, msglen);

		if (rc != 0)
			return rc;
		from = r->save_at[m][i];
		in = r->save_act[m][i];
	}
	return is_infer_run_ops(plan, from, is_infer_n_ops(plan), in, n, emb, msg, msglen);
}

is_embed_run *
is_embed_begin_multi(is_embedder *const *e, int n_models, is_sample_reader read,
					 void *read_ctx, int max_segments, is_audio_error *err)
{
	is_embed_run *r;
	char		msg[192];

	if (n_models < 1 || !e)
	{
		is_audio_set_error(err, IS_AUDIO_INVALID_ARG, "no model to run");
		return NULL;
	}
	for (int m = 0; m < n_models; m++)
	{
		if (!e[m])
		{
			is_audio_set_error(err, IS_AUDIO_INVALID_ARG, "model %d is missing", m + 1);
			return NULL;
		}
		if (is_frontend_differs(&e[0]->fe, &e[m]->fe, msg, sizeof(msg)))
		{
			is_audio_set_error(err, IS_AUDIO_INVALID_ARG,
							   "models 1 and %d have different front ends (%s): "
							   "one run needs one front end", m + 1, msg);
			return NULL;
		}
	}
	r = calloc(1, sizeof(is_embed_run) + sizeof(is_embedder *) * (size_t) n_models);
	if (!r)
	{
		is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "out of memory");
		return NULL;
	}
	r->n_models = n_models;
	r->batch = e[0]->max_batch;
	for (int m = 0; m < n_models; m++)
	{
		r->e[m] = e[m];
		if (e[m]->max_batch < r->batch)
			r->batch = e[m]->max_batch;
	}
	r->start_s = malloc(sizeof(double) * (size_t) r->batch);
	if (!r->start_s || plan_trunks(r) < 0)
	{
		is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "out of memory");
		is_embed_end(r);
		return NULL;
	}
	if (is_segmenter_new(&e[0]->fe, max_segments, read, read_ctx, &r->sg, err) != IS_AUDIO_OK)
	{
		is_embed_end(r);
		return NULL;
	}
	return r;
}

is_embed_run *
is_embed_begin(is_embedder *e, is_sample_reader read, void *read_ctx, int max_segments,
			   is_audio_error *err)
{
	return is_embed_begin_multi(&e, 1, read, read_ctx, max_segments, err);
}

/* The next batch's mel images into e[0]'s buffer; the segment count, or -1. */
static int
next_images(is_embed_run *r, int64_t *index, double *start_s, is_audio_error *err)
{
	is_embedder *first = r->e[0];
	int			n = 0;

	while (n < r->batch)
	{
		is_segment seg;
		int			got = is_segmenter_next(r->sg, &seg, err);

		if (got < 0)
			return -1;
		if (got == 0)
			break;
		is_mel_compute(first->mel, seg.samples, first->mel_buf + (size_t) n * first->mel_size);
		if (index)
			index[n] = seg.index;
		if (start_s)
			start_s[n] = seg.start_s;
		r->start_s[n] = seg.start_s;
		n++;
	}
	return n;
}

/*
 * A network whose weights overflow gives inf or NaN, which would poison every
 * distance computed from the embedding: refused, naming the first segment.
 */
static int
check_finite(is_embed_run *r, int m, const float *emb, int n, is_audio_error *err)
{
	int			dim = r->e[m]->dim;

	for (int i = 0; i < n; i++)
		for (int d = 0; d < dim; d++)
			if (!isfinite(emb[(size_t) i * dim + d]))
			{
				r->failed_model = m;
				is_audio_set_error(err, IS_AUDIO_NOT_FINITE,
								   "the network gave a non-finite embedding for the segment at %.1f s",
								   r->start_s[i]);
				return -1;
			}
	return 0;
}

int
is_embed_next_multi(is_embed_run *r, float *const *emb, int64_t *index, double *start_s,
					is_audio_error *err)
{
	int			n = r->pending;
	char		msg[256];

	if (n == 0)
	{
		n = next_images(r, index, start_s, err);
		if (n <= 0)
			return n;
		r->next_model = 0;
	}
	r->pending = n;
	for (; r->next_model < r->n_models; r->next_model++)
	{
		int			m = r->next_model;
		int			rc = run_model(r, m, n, emb[m], msg, sizeof(msg));

		if (rc == IS_INFER_STOPPED)
		{
			is_audio_set_error(err, IS_AUDIO_STOPPED, "stopped by the interrupt callback");
			return -1;
		}
		if (rc != 0)
		{
			/* the plans are built and sized: only the caller's buffers can be at fault */
			r->failed_model = m;
			is_audio_set_error(err, IS_AUDIO_INVALID_ARG, "model %d: %s", m + 1, msg);
			return -1;
		}
		if (check_finite(r, m, emb[m], n, err) < 0)
			return -1;
	}
	r->pending = 0;
	return n;
}

int
is_embed_failed_model(const is_embed_run *r)
{
	return r->failed_model;
}

int
is_embed_trunk_of(const is_embed_run *r, int m)
{
	return r->parent[m];
}

int
is_embed_shared_ops(const is_embed_run *r, int m)
{
	return r->start[m];
}

int
is_embed_next(is_embed_run *r, float *emb, int64_t *index, double *start_s,
			  is_audio_error *err)
{
	if (r->n_models != 1)
	{
		is_audio_set_error(err, IS_AUDIO_INVALID_ARG,
						   "a run of %d models needs is_embed_next_multi", r->n_models);
		return -1;
	}
	return is_embed_next_multi(r, &emb, index, start_s, err);
}

void
is_embedder_mel(is_embedder *e, const float *samples, float *out)
{
	is_mel_compute(e->mel, samples, out);
}

int64_t
is_embed_windows(const is_embed_run *r)
{
	return is_segmenter_windows(r->sg);
}

int64_t
is_embed_silent(const is_embed_run *r)
{
	return is_segmenter_silent(r->sg);
}

void
is_embed_end(is_embed_run *r)
{
	if (!r)
		return;
	is_segmenter_free(r->sg);
	free(r->start_s);
	for (int m = 0; r->save_act && m < r->n_models; m++)
	{
		for (int i = 0; r->save_act[m] && i < r->n_saves[m]; i++)
			free(r->save_act[m][i]);
		free(r->save_act[m]);
	}
	for (int m = 0; r->save_at && m < r->n_models; m++)
		free(r->save_at[m]);
	free(r->parent);
	free(r->start);
	free(r->n_saves);
	free(r->save_at);
	free(r->save_act);
	free(r);
}

void
is_l2_normalize(float *x, int dim)
{
	double		norm = sqrt((double) is_norm_squared(x, dim));

	if (norm > 0.0)
		for (int i = 0; i < dim; i++)
			x[i] = (float) (x[i] / norm);
}
