/*
 * The audio -> embedding pipeline: segmentation with silence skipping, batch
 * boundaries that do not change results, unit-length outputs, and shape
 * checks between a model's front end and its network.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio_encode.h"
#include "embed.h"
#include "mel.h"
#include "rng.h"
#include "tap.h"

static is_rng rng;

/* Uniform in [-1, 1); the sequence is fixed by the seed set in main(). */
static float
uniform(void)
{
	return (float) (2.0 * is_rng_unit(&rng) - 1.0);
}

/* A small conv net over the default front end, with seeded weights. */
static int
make_model(is_model *m, int n_mels_in)
{
	static const struct
	{
		is_layer_kind kind;
		int			out;
	}			table[] = {
		{IS_LAYER_CONV3X3, 4}, {IS_LAYER_BATCHNORM, 0}, {IS_LAYER_RELU, 0},
		{IS_LAYER_MAXPOOL2, 0}, {IS_LAYER_CONV3X3, 8}, {IS_LAYER_RELU, 0},
		{IS_LAYER_GAP, 0}, {IS_LAYER_LINEAR, 16}, {IS_LAYER_L2NORM, 0},
	};
	is_frontend fe = IS_FRONTEND_DEFAULT;
	char		err[256];

	memset(m, 0, sizeof(*m));
	strcpy(m->instrument, "mix");
	m->fe = fe;
	m->net.in_c = 1;
	m->net.in_h = n_mels_in;
	m->net.in_w = is_frontend_frames(&fe);
	m->net.n_layers = sizeof(table) / sizeof(table[0]);
	for (int i = 0; i < m->net.n_layers; i++)
	{
		m->net.layers[i].kind = table[i].kind;
		m->net.layers[i].out = table[i].out;
		m->net.layers[i].eps = 1e-5f;
	}
	if (is_net_init(&m->net, err, sizeof(err)) != 0)
	{
		tap_diag("is_net_init: %s", err);
		return -1;
	}
	for (int i = 0; i < is_net_tensor_count(&m->net); i++)
	{
		is_tensor	t;

		is_net_tensor(&m->net, i, &t);
		for (size_t j = 0; j < t.count; j++)
			t.data[j] = strstr(t.name, "running_var") ? 1.0f + 0.5f * fabsf(uniform())
				: 0.3f * uniform();
	}
	return 0;
}

/* 10 s at 48 kHz stereo: 3 s of silence, then a chord with some noise. */
static unsigned char *
make_audio(size_t *len)
{
	int			rate = 48000;
	size_t		frames = (size_t) rate * 10;
	float	   *x = malloc(sizeof(float) * frames * 2);
	unsigned char *out = NULL;
	is_audio_error err;

	for (size_t i = 0; i < frames; i++)
	{
		double		t = (double) i / rate;
		float		v = t < 3.0 ? 0.0f
			: (float) (0.2 * sin(2 * M_PI * 220 * t) + 0.1 * sin(2 * M_PI * 330 * t * (1 + 0.01 * t))
					   + 0.02 * uniform());

		x[2 * i] = v;
		x[2 * i + 1] = 0.5f * v;
	}
	is_audio_encode(x, frames, 2, rate, IS_AUDIO_FLAC_PCM16, &out, len, &err);
	free(x);
	return out;
}

/* Runs the whole pipeline; returns the number of segments (-1 on error). */
static int
embed_all(is_embedder *e, const unsigned char *audio, size_t len, float *emb,
		  int64_t *index, double *start)
{
	is_audio_stream *s;
	is_audio_error err;
	is_embed_run *r;
	int			total = 0,
				n;

	if (is_audio_open(audio, len, is_embedder_frontend(e)->sample_rate, &s, &err) != IS_AUDIO_OK)
		return -1;
	r = is_embed_begin(e, is_segment_read_stream, s, 0, &err);
	while ((n = is_embed_next(r, emb + (size_t) total * is_embedder_dim(e), index + total,
							  start + total, &err)) > 0)
		total += n;
	is_embed_end(r);
	is_audio_close(s);
	return n < 0 ? -1 : total;
}

int
main(void)
{
	is_model	m,
				bad;
	char		err[256];
	size_t		len;
	unsigned char *audio;
	float		emb1[16 * 16],
				emb3[16 * 16];
	int64_t		idx1[16],
				idx3[16];
	double		st1[16],
				st3[16];
	is_embedder *e1,
			   *e3;
	int			n1,
				n3;
	double		maxdiff = 0;
	int			unit = 1;

	is_rng_seed(&rng, 2);
	audio = make_audio(&len);
	tap_ok(audio != NULL, "test audio encodes");
	tap_ok(make_model(&m, 128) == 0, "model builds");
	e1 = is_embedder_new(&m, 16, 1, err, sizeof(err));
	e3 = is_embedder_new(&m, 3, 1, err, sizeof(err));
	tap_ok(e1 && e3, "embedders build");
	tap_ok(is_embedder_dim(e1) == 16 && is_embedder_mel_size(e1) == 128 * 130,
		   "embedder reports dim 16 and 128 x 130 mel images");

	n1 = embed_all(e1, audio, len, emb1, idx1, st1);
	n3 = embed_all(e3, audio, len, emb3, idx3, st3);
	/* windows start every 1.5 s; 0-3 s is silent, the last whole one is 6-9 s */
	tap_ok(n1 == 4, "4 non-silent segments in 10 s with 3 s of leading silence (got %d)", n1);
	tap_ok(n3 == n1, "batch size does not change the segment count");
	tap_ok(n1 == 4 && idx1[0] == 1 && idx1[3] == 4, "window numbers count the silent one");
	tap_near(st1[0], 1.5, 1e-9, "first segment starts at 1.5 s");
	tap_near(st1[3], 6.0, 1e-9, "last segment starts at 6 s");
	for (int i = 0; i < n1 * 16 && n1 == n3; i++)
		maxdiff = fmax(maxdiff, fabs(emb1[i] - emb3[i]));
	tap_ok(n1 == n3 && maxdiff < 1e-5, "batch of 3 and of 16 give the same embeddings (max diff %.2g)", maxdiff);
	for (int i = 0; i < n1; i++)
	{
		double		s = 0;

		for (int d = 0; d < 16; d++)
			s += emb1[i * 16 + d] * emb1[i * 16 + d];
		unit &= fabs(s - 1.0) < 1e-4;
	}
	tap_ok(unit, "every segment embedding has unit length");

	/* a network whose input does not match the front end is refused */
	tap_ok(make_model(&bad, 64) == 0, "mismatched model builds");
	tap_ok(is_embedder_new(&bad, 4, 1, err, sizeof(err)) == NULL && strstr(err, "expects"),
		   "front end / network shape mismatch is an error: %s", err);

	{
		float		v[3] = {3, 0, 4},
					z[2] = {0, 0};

		is_l2_normalize(v, 3);
		is_l2_normalize(z, 2);
		tap_ok(fabsf(v[0] - 0.6f) < 1e-6f && fabsf(v[2] - 0.8f) < 1e-6f, "l2 normalise");
		tap_ok(z[0] == 0 && z[1] == 0, "l2 normalise leaves a zero vector zero");
	}
	is_embedder_free(e1);
	is_embedder_free(e3);
	is_model_free(&m);
	is_model_free(&bad);
	free(audio);
	return tap_done();
}
