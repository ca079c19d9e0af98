#include "model_check.h"
#include "embed.h"
#include "errmsg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One segment: three partials an octave apart over LCG noise, about -9 dBFS. */
static void
probe_fill(float *x, size_t n, const is_frontend *fe)
{
	uint32_t	s = 12345;

	for (size_t i = 0; i < n; i++)
	{
		double		t = (double) i / fe->sample_rate;

		s = s * 1664525u + 1013904223u;
		x[i] = (float) (0.4 * sin(2 * M_PI * 220.0 * t) + 0.25 * sin(2 * M_PI * 440.0 * t) +
						0.15 * sin(2 * M_PI * 880.0 * t) + 0.2 * ((double) s / 4294967296.0 - 0.5));
	}
}

static int
run_probe(is_embedder *e, char *err, size_t errlen)
{
	const is_frontend *fe = is_embedder_frontend(e);
	size_t		n = (size_t) is_segment_samples(fe);
	float	   *x = malloc(sizeof(float) * n);
	is_sample_buffer p = {.x = x,.n = n};
	float	   *emb = malloc(sizeof(float) * (size_t) is_embedder_dim(e));
	is_embed_run *r;
	is_audio_error aerr = {0};
	int			got = -1;

	if (!x || !emb)
		is_audio_set_error(&aerr, IS_AUDIO_NO_MEMORY, "out of memory");
	else
	{
		probe_fill(x, n, fe);
		r = is_embed_begin(e, is_segment_read_buffer, &p, 1, &aerr);
		if (r)
			got = is_embed_next(r, emb, NULL, NULL, &aerr);
		is_embed_end(r);
	}
	free(x);
	free(emb);
	if (got < 0)
		return is_fail(err, errlen, "probe input: %s", aerr.message);
	if (got == 0)
		return is_fail(err, errlen, "probe input: silence_dbfs %g finds a -9 dBFS segment silent",
					   fe->silence_dbfs);
	return 0;
}

int
is_model_check(const is_model *m, const is_model_limits *lim, char *err, size_t errlen)
{
	is_infer_opts opts = {.max_batch = lim->max_batch, .threads = 1, .conv = IS_CONV_AUTO,
	.max_arena = lim->max_arena};
	double		flops = is_net_flops(&m->net);
	size_t		arena;
	is_embedder *e;
	int			rc;

	if (flops > lim->max_flops)
	{
		is_fail(err, errlen, "the network needs %.3g GFLOP per segment, more than the %.3g-GFLOP limit",
				flops / 1e9, lim->max_flops / 1e9);
		return IS_MODEL_OVER_LIMIT;
	}
	if (is_infer_plan_bytes(&m->net, &opts, &arena, err, errlen) < 0)
		return -1;
	if (arena > lim->max_arena)
	{
		is_fail(err, errlen, "the network needs a %zu-MB inference arena for %d segments, more than the %zu-MB limit",
				arena >> 20, lim->max_batch, lim->max_arena >> 20);
		return IS_MODEL_OVER_LIMIT;
	}
	e = is_embedder_new_opts(m, &opts, err, errlen);
	if (!e)
		return -1;
	rc = run_probe(e, err, errlen);
	is_embedder_free(e);
	return rc;
}
