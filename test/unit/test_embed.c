/*
 * The audio -> embedding pipeline: segmentation with silence skipping, batch
 * boundaries that do not change results, unit-length outputs, one run over
 * several models equal to separate runs, shape checks between a model's
 * front end and its network, passes stopped by the interrupt callback and
 * resumed, and non-finite outputs refused.
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

typedef struct layer_spec
{
	is_layer_kind kind;
	int			out;
} layer_spec;

static void
add_layers(is_net *net, const layer_spec *spec, int n)
{
	for (int i = 0; i < n; i++, net->n_layers++)
	{
		net->layers[net->n_layers].kind = spec[i].kind;
		net->layers[net->n_layers].out = spec[i].out;
		net->layers[net->n_layers].eps = 1e-5f;
	}
}

/*
 * A small conv net over the default front end, with seeded weights: two
 * conv blocks with a pool between them, or three, then GAP, linear and L2.
 */
static int
make_model_blocks(is_model *m, int n_mels_in, int blocks)
{
	static const layer_spec two_blocks[] = {
		{IS_LAYER_CONV3X3, 4}, {IS_LAYER_BATCHNORM, 0}, {IS_LAYER_RELU, 0},
		{IS_LAYER_MAXPOOL2, 0}, {IS_LAYER_CONV3X3, 8}, {IS_LAYER_RELU, 0},
	},			third_block[] = {{IS_LAYER_CONV3X3, 8}, {IS_LAYER_RELU, 0}},
				head[] = {{IS_LAYER_GAP, 0}, {IS_LAYER_LINEAR, 16}, {IS_LAYER_L2NORM, 0}};
	is_frontend fe = IS_FRONTEND_DEFAULT;
	char		err[256];

	memset(m, 0, sizeof(*m));
	strcpy(m->instrument, "mix");
	m->fe = fe;
	m->net.in_c = 1;
	m->net.in_h = n_mels_in;
	m->net.in_w = is_frontend_frames(&fe);
	add_layers(&m->net, two_blocks, 6);
	if (blocks == 3)
		add_layers(&m->net, third_block, 2);
	add_layers(&m->net, head, 3);
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

static int
make_model(is_model *m, int n_mels_in)
{
	return make_model_blocks(m, n_mels_in, 2);
}

/*
 * dst = src with its own parameter storage and the weights of its layer of
 * the given kind, `from_last` such layers before the last, negated and
 * shifted: another head on the same trunk.
 */
static int
other_head_at(const is_model *src, is_layer_kind kind, int from_last, is_model *dst)
{
	char		err[256];
	int			at = -1;
	is_tensor	t;

	for (int i = src->net.n_layers - 1, seen = 0; i >= 0 && at < 0; i--)
		if (src->net.layers[i].kind == kind && seen++ == from_last)
			at = i;
	if (at < 0)
		return -1;
	*dst = *src;
	dst->net.params = NULL;
	if (is_net_init(&dst->net, err, sizeof(err)) != 0)
		return -1;
	memcpy(dst->net.params, src->net.params, sizeof(float) * src->net.n_floats);
	for (int i = 0; i < is_net_tensor_count(&dst->net); i++)
		if (is_net_tensor(&dst->net, i, &t) == 0 && t.data == dst->net.layers[at].param[0])
			for (size_t j = 0; j < t.count; j++)
				t.data[j] = -t.data[j] + 0.01f * (j % 7);
	return 0;
}

/* dst = src with another last layer of the given kind. */
static int
other_head(const is_model *src, is_layer_kind kind, is_model *dst)
{
	return other_head_at(src, kind, 0, dst);
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

/*
 * Runs the whole pipeline with n (at most 5) models: the one-model API for n == 1, the
 * multi-model one otherwise.  Returns the number of segments (-1 on error).
 */
static int
embed_models(is_embedder **e, int n_models, const unsigned char *audio, size_t len,
			 float **emb, int64_t *index, double *start)
{
	is_audio_stream *s;
	is_audio_error err;
	is_embed_run *r;
	float	   *out[5];
	int			total = 0,
				n;

	if (is_audio_open(audio, len, is_embedder_frontend(e[0])->sample_rate, &s, &err) != IS_AUDIO_OK)
		return -1;
	r = is_embed_begin_multi(e, n_models, is_segment_read_stream, s, 0, &err);
	if (!r)
	{
		is_audio_close(s);
		return -1;
	}
	do
	{
		for (int m = 0; m < n_models; m++)
			out[m] = emb[m] + (size_t) total * is_embedder_dim(e[m]);
		n = n_models == 1
			? is_embed_next(r, out[0], index + total, start + total, &err)
			: is_embed_next_multi(r, out, index + total, start + total, &err);
		total += n > 0 ? n : 0;
		/* a stopped pass resumes with the same buffers */
	} while (n > 0 || (n < 0 && err.status == IS_AUDIO_STOPPED));
	is_embed_end(r);
	is_audio_close(s);
	return n < 0 ? -1 : total;
}

static int
embed_all(is_embedder *e, const unsigned char *audio, size_t len, float *emb,
		  int64_t *index, double *start)
{
	return embed_models(&e, 1, audio, len, &emb, index, start);
}

/* The shared-trunk runs of test_multi: the head, batch and threads. */
static const struct
{
	is_layer_kind head;
	int			batch,
				threads;
}			trunk_runs[] = {
	{IS_LAYER_LINEAR, 16, 1}, {IS_LAYER_CONV3X3, 16, 1},
	{IS_LAYER_CONV3X3, 16, 3}, {IS_LAYER_CONV3X3, 2, 3},
};

/*
 * One run over three models (two different networks, one repeated) gives
 * bit for bit what three single runs give; a run over models whose front
 * ends differ is refused.
 */
static void
test_multi(const is_model *m, is_embedder *e1, const unsigned char *audio, size_t len)
{
	is_model	m2;
	is_embedder *e2,
			   *other_fe,
			   *models[3];
	float		single[3][16 * 16],
				multi[3][16 * 16],
			   *out_multi[3] = {multi[0], multi[1], multi[2]};
	int64_t		idx[16],
				idx_multi[16];
	double		st[16],
				st_multi[16];
	int			n_single[3],
				n_multi,
				same = 1;
	char		err[256];
	is_frontend fe = m->fe;
	is_model	quieter = *m;
	is_audio_error aerr;
	is_embed_run *r;

	tap_ok(make_model(&m2, 128) == 0, "second model builds");
	e2 = is_embedder_new(&m2, 16, 1, err, sizeof(err));
	models[0] = e1;
	models[1] = e2;
	models[2] = e1;
	for (int k = 0; k < 3; k++)
		n_single[k] = embed_all(models[k], audio, len, single[k], idx, st);
	n_multi = embed_models(models, 3, audio, len, out_multi, idx_multi, st_multi);
	tap_ok(n_multi == 4 && n_single[0] == 4 && n_single[1] == 4,
		   "multi run sees the same 4 segments (got %d)", n_multi);
	for (int k = 0; k < 3 && n_multi == 4; k++)
		same &= memcmp(single[k], multi[k], sizeof(float) * 4 * 16) == 0;
	tap_ok(n_multi == 4 && same, "multi run embeddings equal single runs exactly, model by model");
	tap_ok(n_multi == 4 && memcmp(idx, idx_multi, sizeof(idx[0]) * 4) == 0 &&
		   memcmp(st, st_multi, sizeof(st[0]) * 4) == 0,
		   "multi run reports the same window numbers and start times");
	tap_ok(memcmp(single[0], single[1], sizeof(float) * 16) != 0,
		   "the two networks differ (so the test compares something)");

	/*
	 * A model with m's trunk and another head (heads trained together)
	 * shares the trunk pass of m's model in one run, with the results of
	 * separate runs; m2, another network, does not.  The head is the linear
	 * layer (the trunk ends at the pool) or the last convolution on (the
	 * trunk is the first block); the passes on 3 threads, image by image
	 * (batch 16) and layer by layer with barriers (batch 2, fewer images
	 * than threads).  Every model of a run
	 * has the run's batch and threads, as in the server: a run takes its
	 * models' smallest batch, and the batch may change the last bits (on
	 * some CPUs the GEMM's blocking follows the batch).
	 */
	for (int h = 0; h < (int) (sizeof(trunk_runs) / sizeof(trunk_runs[0])); h++)
	{
		is_model	m3;
		int			batch = trunk_runs[h].batch,
					threads = trunk_runs[h].threads;
		is_embedder *e3 = NULL,
				   *lead = is_embedder_new(m, batch, threads, err, sizeof(err)),
				   *other = is_embedder_new(&m2, batch, threads, err, sizeof(err));
		is_audio_stream *s;
		int			trunk_of[3] = {-1, -1, -1};
		char		head[64];

		snprintf(head, sizeof(head), "%s (batch %d, %d threads)",
				 trunk_runs[h].head == IS_LAYER_LINEAR ? "linear layer" : "last convolution block",
				 batch, threads);
		if (other_head(m, trunk_runs[h].head, &m3) == 0)
			e3 = is_embedder_new(&m3, batch, threads, err, sizeof(err));
		models[0] = lead;
		models[1] = other;
		models[2] = e3;
		for (int k = 0; k < 3; k++)
			n_single[k] = models[k] ? embed_all(models[k], audio, len, single[k], idx, st) : -1;
		n_multi = lead && other && e3 ? embed_models(models, 3, audio, len, out_multi, idx_multi, st_multi) : -1;
		if (n_multi >= 0 && is_audio_open(audio, len, fe.sample_rate, &s, &aerr) == IS_AUDIO_OK)
		{
			r = is_embed_begin_multi(models, 3, is_segment_read_stream, s, 0, &aerr);
			for (int k = 0; k < 3 && r; k++)
				trunk_of[k] = is_embed_trunk_of(r, k);
			is_embed_end(r);
			is_audio_close(s);
		}
		tap_ok(trunk_of[0] == 0 && trunk_of[1] == 1 && trunk_of[2] == 0,
			   "another %s on the same trunk runs on the first model's trunk "
			   "(trunk of each: %d %d %d)", head, trunk_of[0], trunk_of[1], trunk_of[2]);
		same = n_multi == 4 && n_single[0] == 4 && n_single[1] == 4 && n_single[2] == 4;
		for (int k = 0; k < 3 && same; k++)
			same &= memcmp(single[k], multi[k], sizeof(float) * 4 * 16) == 0;
		tap_ok(same, "... with the embeddings of separate runs, bit for bit");
		tap_ok(n_multi == 4 && memcmp(multi[0], multi[2], sizeof(float) * 16) != 0,
			   "... which differ from the first model's (the heads differ)");
		is_embedder_free(e3);
		is_embedder_free(other);
		is_embedder_free(lead);
		is_model_free(&m3);
	}
	models[0] = e1;
	models[1] = e2;
	models[2] = e1;

	/* a run of two models cannot be read with the one-model call */
	{
		is_audio_stream *s;
		float		buf[16 * 16];
		int			n = -2;

		if (is_audio_open(audio, len, fe.sample_rate, &s, &aerr) == IS_AUDIO_OK)
		{
			r = is_embed_begin_multi(models, 2, is_segment_read_stream, s, 0, &aerr);
			n = r ? is_embed_next(r, buf, NULL, NULL, &aerr) : -2;
			is_embed_end(r);
			is_audio_close(s);
		}
		tap_ok(n == -1 && aerr.status == IS_AUDIO_INVALID_ARG,
			   "is_embed_next refuses a two-model run: %s", aerr.message);
	}

	/* a missing output buffer is the caller's error, naming the model, not a lack of memory */
	{
		is_audio_stream *s;
		float		buf[16 * 16],
				   *out[2] = {buf, NULL};
		int			n = -2,
					failed = -1;

		if (is_audio_open(audio, len, fe.sample_rate, &s, &aerr) == IS_AUDIO_OK)
		{
			r = is_embed_begin_multi(models, 2, is_segment_read_stream, s, 0, &aerr);
			n = r ? is_embed_next_multi(r, out, NULL, NULL, &aerr) : -2;
			failed = r ? is_embed_failed_model(r) : -1;
			is_embed_end(r);
			is_audio_close(s);
		}
		tap_ok(n == -1 && aerr.status == IS_AUDIO_INVALID_ARG && failed == 1 &&
			   strncmp(aerr.message, "model 2:", 8) == 0,
			   "a NULL output of model 2 is refused, naming it: %s", aerr.message);
	}

	quieter.fe.silence_dbfs = -50.0;
	other_fe = is_embedder_new(&quieter, 16, 1, err, sizeof(err));
	models[1] = other_fe;
	r = other_fe ? is_embed_begin_multi(models, 2, is_segment_read_stream, NULL, 0, &aerr) : NULL;
	tap_ok(other_fe && !r && aerr.status == IS_AUDIO_INVALID_ARG &&
		   strstr(aerr.message, "silence_dbfs -60 vs -50"),
		   "models with different front ends are refused: %s", aerr.message);
	tap_ok(!is_embed_begin_multi(models, 0, is_segment_read_stream, NULL, 0, &aerr) &&
		   aerr.status == IS_AUDIO_INVALID_ARG, "a run of no model is refused");
	is_embedder_free(other_fe);
	is_embedder_free(e2);
	is_model_free(&m2);
}

/* One tree's outcome: each model alone, then all of them in one call. */
typedef struct tree_run
{
	int			alone,			/* every model alone gave 4 segments */
				n_multi,		/* segments of the call, -1 on error */
				same,			/* the call's embeddings are the alone runs', bit for bit */
				parent[5],
				start[5];
	float		multi[5][16 * 16];
} tree_run;

static void
run_tree(const is_model *m, int n, int batch, int threads, const unsigned char *audio, size_t len,
		 tree_run *t)
{
	is_embedder *e[5] = {NULL};
	float		single[5][16 * 16],
			   *out[5];
	int64_t		idx[16];
	double		st[16];
	char		err[256];

	*t = (tree_run) {.alone = 1, .n_multi = -1, .parent = {-1, -1, -1, -1, -1},
	.start = {-1, -1, -1, -1, -1}};
	for (int k = 0; k < n; k++)
	{
		e[k] = is_embedder_new(&m[k], batch, threads, err, sizeof(err));
		out[k] = t->multi[k];
		t->alone &= e[k] && embed_all(e[k], audio, len, single[k], idx, st) == 4;
	}
	if (t->alone)
	{
		is_audio_stream *s;
		is_audio_error aerr;

		t->n_multi = embed_models(e, n, audio, len, out, idx, st);
		if (is_audio_open(audio, len, m[0].fe.sample_rate, &s, &aerr) == IS_AUDIO_OK)
		{
			is_embed_run *r = is_embed_begin_multi(e, n, is_segment_read_stream, s, 0, &aerr);

			for (int k = 0; k < n && r; k++)
			{
				t->parent[k] = is_embed_trunk_of(r, k);
				t->start[k] = is_embed_shared_ops(r, k);
			}
			is_embed_end(r);
			is_audio_close(s);
		}
	}
	t->same = t->n_multi == 4;
	for (int k = 0; k < n && t->same; k++)
		t->same = memcmp(single[k], t->multi[k], sizeof(float) * 4 * 16) == 0;
	for (int k = 0; k < n; k++)
		is_embedder_free(e[k]);
}

/*
 * Passes shared as a tree: B is A's first block and another second, C is B
 * up to the pool and another linear layer, D is A up to the pool and another
 * linear layer, E another network.  C continues from B's pass (it shares
 * more with B than with A), B and D from A's at their own cuts, E alone; and
 * each gives what its own run gives, bit for bit.  Batch 2 on 3 threads
 * crosses the cuts several times per call, layer by layer; batch 4 on 2
 * threads runs image by image through the operations between two cuts.
 */
static void
test_tree(const is_model *a, const unsigned char *audio, size_t len, int batch, int threads)
{
	is_model	m[5];
	tree_run	t = {.alone = 0};
	int			built = 0;

	m[0] = *a;
	built += other_head(a, IS_LAYER_CONV3X3, &m[1]) == 0;
	built += built == 1 && other_head(&m[1], IS_LAYER_LINEAR, &m[2]) == 0;
	built += built == 2 && other_head(a, IS_LAYER_LINEAR, &m[3]) == 0;
	built += built == 3 && make_model(&m[4], 128) == 0;
	if (built == 4)
		run_tree(m, 5, batch, threads, audio, len, &t);
	tap_ok(built == 4 && t.alone, "batch %d on %d threads: five models build and embed alone", batch, threads);
	tap_ok(t.parent[0] == 0 && t.parent[1] == 0 && t.parent[2] == 1 && t.parent[3] == 0 && t.parent[4] == 4,
		   "C continues from B, B and D from A, E alone (parents %d %d %d %d %d)",
		   t.parent[0], t.parent[1], t.parent[2], t.parent[3], t.parent[4]);
	tap_ok(t.start[0] == 0 && t.start[4] == 0 && t.start[1] > 0 && t.start[2] > t.start[1] &&
		   t.start[3] == t.start[2],
		   "B takes A's first block, C and D the operations up to the pool (%d %d %d %d %d)",
		   t.start[0], t.start[1], t.start[2], t.start[3], t.start[4]);
	tap_ok(t.same, "... with the embeddings of separate runs, bit for bit");
	tap_ok(t.same && memcmp(t.multi[1], t.multi[0], sizeof(float) * 16) != 0 &&
		   memcmp(t.multi[2], t.multi[1], sizeof(float) * 16) != 0 &&
		   memcmp(t.multi[2], t.multi[3], sizeof(float) * 16) != 0,
		   "... which differ where the networks differ");
	for (int k = 1; k <= built; k++)
		is_model_free(&m[k]);
}

/*
 * A parent keeping two feature maps: on three conv blocks, P changes the
 * second block and Q the third, so both continue from A's pass, P after
 * A's first block and Q after its second; A runs the span between the two
 * cuts on its own, ending at a feature map.  Layer by layer (batch 2 on 3
 * threads) and image by image (batch 4 on 2), bit for bit as separate runs.
 */
static void
test_tree_maps(const unsigned char *audio, size_t len)
{
	is_model	m[3];
	int			built = 0;

	built += make_model_blocks(&m[0], 128, 3) == 0;
	built += built == 1 && other_head_at(&m[0], IS_LAYER_CONV3X3, 1, &m[1]) == 0;
	built += built == 2 && other_head_at(&m[0], IS_LAYER_CONV3X3, 0, &m[2]) == 0;
	for (int c = 0; c < 2; c++)
	{
		int			batch = c == 0 ? 2 : 4,
					threads = c == 0 ? 3 : 2;
		tree_run	t = {.alone = 0};

		if (built == 3)
			run_tree(m, 3, batch, threads, audio, len, &t);
		tap_ok(built == 3 && t.alone, "three conv blocks, batch %d on %d threads: three models embed alone",
			   batch, threads);
		tap_ok(t.parent[0] == 0 && t.parent[1] == 0 && t.parent[2] == 0 && t.start[0] == 0 &&
			   t.start[1] > 0 && t.start[2] > t.start[1],
			   "... P and Q continue from A, after its first and second block (cuts %d %d %d)",
			   t.start[0], t.start[1], t.start[2]);
		tap_ok(t.same && memcmp(t.multi[1], t.multi[2], sizeof(float) * 16) != 0,
			   "... with the embeddings of separate runs, bit for bit");
	}
	for (int k = 0; k < built; k++)
		is_model_free(&m[k]);
}

/* An interrupt callback that stops the pass at every `every`-th poll, `max` times. */
typedef struct stopper
{
	int			every,
				max,
				polls,
				stops;
} stopper;

static int
stop_sometimes(void *arg)
{
	stopper    *s = arg;

	if (++s->polls % s->every || s->stops == s->max)
		return 0;
	s->stops++;
	return 1;
}

/*
 * Stopped passes (one thread; three threads with an image each, and with the
 * rows of each layer split at barriers) leave no thread behind and resume to
 * the embeddings of an uninterrupted run; one thread is polled after every
 * convolution of every image.
 */
static void
test_interrupts(const is_model *m, const unsigned char *audio, size_t len,
				const float *want, int n_want)
{
	static const struct
	{
		int			batch,
					threads;
	}			cases[] = {{16, 1}, {16, 3}, {2, 3}};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		is_infer_opts opts = {.max_batch = cases[c].batch, .threads = cases[c].threads};
		stopper		s = {.every = 2, .max = 2};
		char		err[256] = "";
		is_embedder *e = is_embedder_new_opts(m, &opts, err, sizeof(err));
		float		emb[16 * 16];
		int64_t		idx[16];
		double		st[16],
					maxdiff = 0;
		int			n = -1;

		if (e)
		{
			is_embedder_set_interrupt(e, stop_sometimes, &s);
			n = embed_all(e, audio, len, emb, idx, st);
		}
		for (int i = 0; n == n_want && i < n * 16; i++)
			maxdiff = fmax(maxdiff, fabs(emb[i] - want[i]));
		tap_ok(n == n_want && maxdiff < 1e-5 && s.stops == s.max,
			   "batch %d, %d threads: %d stops in %d polls, resumed to the same embeddings (max diff %.2g) %s",
			   cases[c].batch, cases[c].threads, s.stops, s.polls, maxdiff, err);
		if (cases[c].threads == 1)
			tap_ok(s.polls >= n_want * 2 + s.stops, "one thread: polled after each of 2 convolutions of %d segments",
				   n_want);
		is_embedder_free(e);
	}
}

/* Weights that overflow float: the run fails, naming the model, never returns NaN. */
static void
test_not_finite(is_model *m, const unsigned char *audio, size_t len)
{
	char		err[256] = "";
	is_embedder *e;
	is_audio_stream *s = NULL;
	is_audio_error aerr = {0};
	is_embed_run *r = NULL;
	float		emb[16 * 16];
	int			n = 0;

	for (size_t i = 0; i < m->net.n_floats; i++)
		m->net.params[i] *= 1e20f;
	e = is_embedder_new(m, 16, 1, err, sizeof(err));
	if (e && is_audio_open(audio, len, 44100, &s, &aerr) == IS_AUDIO_OK &&
		(r = is_embed_begin(e, is_segment_read_stream, s, 0, &aerr)) != NULL)
		n = is_embed_next(r, emb, NULL, NULL, &aerr);
	tap_ok(n == -1 && aerr.status == IS_AUDIO_NOT_FINITE && is_embed_failed_model(r) == 0,
		   "an overflowing network is an error: %s", aerr.message);
	is_embed_end(r);
	is_audio_close(s);
	is_embedder_free(e);
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
	test_multi(&m, e1, audio, len);
	test_tree(&m, audio, len, 2, 3);
	test_tree(&m, audio, len, 4, 2);
	test_tree_maps(audio, len);
	test_interrupts(&m, audio, len, emb1, n1);

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
	test_not_finite(&m, audio, len);
	is_model_free(&m);
	is_model_free(&bad);
	free(audio);
	return tap_done();
}
