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
	is_embedder *e;
	is_segmenter *sg;
};

is_embedder *
is_embedder_new(const is_model *m, int max_batch, int threads, char *err, size_t errlen)
{
	is_embedder *e = calloc(1, sizeof(is_embedder));
	is_infer_opts opts = {.max_batch = max_batch, .threads = threads, .conv = IS_CONV_AUTO};

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
	e->plan = is_infer_create(&m->net, &opts, err, errlen);
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

is_embed_run *
is_embed_begin(is_embedder *e, is_sample_reader read, void *read_ctx, int max_segments,
			   is_audio_error *err)
{
	is_embed_run *r = calloc(1, sizeof(is_embed_run));

	if (!r)
	{
		is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "out of memory");
		return NULL;
	}
	r->e = e;
	if (is_segmenter_new(&e->fe, max_segments, read, read_ctx, &r->sg, err) != IS_AUDIO_OK)
	{
		free(r);
		return NULL;
	}
	return r;
}

int
is_embed_next(is_embed_run *r, float *emb, int64_t *index, double *start_s,
			  is_audio_error *err)
{
	is_embedder *e = r->e;
	int			n = 0;
	char		msg[256];

	while (n < e->max_batch)
	{
		is_segment seg;
		int			got = is_segmenter_next(r->sg, &seg, err);

		if (got < 0)
			return -1;
		if (got == 0)
			break;
		is_mel_compute(e->mel, seg.samples, e->mel_buf + (size_t) n * e->mel_size);
		if (index)
			index[n] = seg.index;
		if (start_s)
			start_s[n] = seg.start_s;
		n++;
	}
	if (n == 0)
		return 0;
	if (is_infer_run(e->plan, e->mel_buf, n, emb, msg, sizeof(msg)) != 0)
	{
		is_audio_set_error(err, IS_AUDIO_NO_MEMORY, "%s", msg);
		return -1;
	}
	return n;
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
