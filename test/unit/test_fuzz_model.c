/*
 * Fuzzing the model loader: thousands of mutated model files (bit flips,
 * byte overwrites, insertions, deletions, truncations, header digit edits),
 * half of them with the checksum recomputed so that mutations reach the
 * deeper checks.  The loader must return an error with a message or a model;
 * a model that also passes is_model_check (the server's load-time check) must
 * embed audio into finite, unit-length vectors or fail with the documented
 * IS_AUDIO_NOT_FINITE, never return a non-finite one, and save and load back
 * unchanged.  Never crash.
 * Deterministic (fixed seed).
 */
#define _GNU_SOURCE				/* memmem in model_edit.h */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "model_check.h"
#include "model_edit.h"
#include "nn_synth.h"
#include "tap.h"

#define ROUNDS 10000

static uint64_t rng = 0x5eed;

static uint32_t
rnd(uint32_t n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t) ((rng >> 33) % n);
}

/* One random mutation of buf (capacity cap) of length *len, mostly in the header. */
static void
mutate(unsigned char *buf, size_t *len, size_t cap)
{
	size_t		hend = 8 + (size_t) edit_hlen(buf);
	size_t		span = hend < *len && rnd(4) ? hend : *len;
	size_t		at = rnd((uint32_t) span);

	switch (rnd(6))
	{
		case 0:
			buf[at] ^= (unsigned char) (1u << rnd(8));
			break;
		case 1:
			buf[at] = "0123456789{}[]\",:-.e \\"[rnd(22)];
			break;
		case 2:
			if (*len + 1 <= cap)
			{
				memmove(buf + at + 1, buf + at, *len - at);
				buf[at] = "0123456789{}[]\",:"[rnd(17)];
				(*len)++;
			}
			break;
		case 3:
			memmove(buf + at, buf + at + 1, *len - at - 1);
			(*len)--;
			break;
		case 4:
			*len = rnd((uint32_t) *len);
			break;
		default:
			buf[rnd(8)] = (unsigned char) rnd(256);
			break;
	}
}

/*
 * A model that passed every check embeds 4.5 s of noise (not the probe's
 * chord): finite unit-length vectors (the synthetic table ends in l2norm,
 * which a mutant cannot drop without changing a tensor) or IS_AUDIO_NOT_FINITE.
 */
static int
embeds_soundly(const is_model *m, is_sample_buffer *audio, int *overflowed)
{
	char		err[256];
	is_embedder *e = is_embedder_new(m, 4, 1, err, sizeof(err));
	is_audio_error aerr = {0};
	is_embed_run *r;
	float	   *emb;
	int			dim,
				n,
				ok = 1;

	if (!e)
		return 0;
	dim = is_embedder_dim(e);
	emb = malloc(sizeof(float) * 4 * dim);
	audio->at = 0;
	r = is_embed_begin(e, is_segment_read_buffer, audio, 0, &aerr);
	n = r ? is_embed_next(r, emb, NULL, NULL, &aerr) : -1;
	if (n < 0)
	{
		ok = aerr.status == IS_AUDIO_NOT_FINITE;
		*overflowed += ok;
	}
	for (int i = 0; i < n; i++)
	{
		double		ss = 0;

		for (int d = 0; d < dim; d++)
			ss += (double) emb[i * dim + d] * emb[i * dim + d];
		ok &= n > 0 && fabs(ss - 1.0) < 1e-3;	/* false for NaN too */
	}
	is_embed_end(r);
	is_embedder_free(e);
	free(emb);
	return ok;
}

/* save(m) loads back to m: what the server stores is what it runs. */
static int
saves_identically(is_model *m)
{
	unsigned char *buf;
	size_t		len;
	char		err[256];
	is_model	back;
	int			same;

	if (is_model_save(m, &buf, &len, err, sizeof(err)) < 0)
		return 0;
	same = is_model_load(&back, buf, len, err, sizeof(err)) == 0 &&
		back.net.n_floats == m->net.n_floats &&
		memcmp(back.net.params, m->net.params, m->net.n_floats * sizeof(float)) == 0 &&
		!is_frontend_differs(&back.fe, &m->fe, err, sizeof(err)) && strcmp(back.instrument, m->instrument) == 0;
	is_model_free(&back);
	free(buf);
	return same;
}

int
main(void)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;
	is_model	m;
	unsigned char *orig,
			   *buf;
	size_t		orig_len;
	char		err[256] = "";
	int			loaded = 0,
				accepted = 0,
				overflowed = 0,
				ran = 1,
				sound = 1,
				round_trip = 1;
	float	   *in,
			   *out;
	is_model_limits lim = {.max_batch = 1, .max_arena = (size_t) IS_MODEL_DEFAULT_MAX_ARENA_MB << 20,
	.max_flops = IS_MODEL_DEFAULT_MAX_GFLOPS * 1e9};
	is_sample_buffer noise = {.n = (size_t) (4.5 * fe.sample_rate)};
	float	   *noise_x;

	if (is_model_synth(&m, "bass", &fe, 3, err, sizeof(err)) < 0 ||
		is_model_save(&m, &orig, &orig_len, err, sizeof(err)) < 0)
	{
		tap_ok(0, "synthetic model: %s", err);
		return tap_done();
	}
	is_model_free(&m);
	buf = malloc(orig_len + 64);
	noise.x = noise_x = malloc(sizeof(float) * noise.n);
	for (size_t i = 0; i < noise.n; i++)
		noise_x[i] = (float) rnd(2001) / 1000.0f - 1.0f;
	in = calloc(128 * 130, sizeof(float));
	out = calloc(4096, sizeof(float));
	for (int r = 0; r < ROUNDS; r++)
	{
		size_t		len = orig_len;
		int			n = 1 + (int) rnd(3),
					rc;

		memcpy(buf, orig, orig_len);
		for (int i = 0; i < n; i++)
			if (len > 8)
				mutate(buf, &len, orig_len + 64);
		if (rnd(2))
			edit_reseal(buf, len);
		if (is_model_load(&m, buf, len, err, sizeof(err)) == 0)
		{
			is_infer_opts opts = {.max_batch = 1, .threads = 1, .conv = IS_CONV_AUTO};
			is_infer   *p = is_infer_create(&m.net, &opts, err, sizeof(err));

			loaded++;
			/* a model that loads may have other weights, never another shape */
			if (m.net.in_c * m.net.in_h * m.net.in_w == 128 * 130 && is_net_out_dim(&m.net) <= 4096)
				ran &= !p || is_infer_run(p, in, 1, out, err, sizeof(err)) == 0;
			is_infer_free(p);
			rc = is_model_check(&m, &lim, err, sizeof(err));
			if (rc == 0)
			{
				accepted++;
				sound &= embeds_soundly(&m, &noise, &overflowed);
				round_trip &= saves_identically(&m);
			}
			else
				sound &= (rc == -1 || rc == IS_MODEL_OVER_LIMIT) && err[0];
		}
		else
			ran &= err[0] != '\0';
		is_model_free(&m);
	}
	tap_ok(1, "%d mutated model files loaded without a crash", ROUNDS);
	tap_ok(ran, "every rejection has a message and every loaded model runs");
	tap_ok(sound, "every model that passes is_model_check embeds into finite unit vectors or says it overflows; "
		   "every refusal is documented");
	tap_ok(round_trip, "every accepted model saves and loads back to the same parameters and metadata");
	tap_diag("%d of %d mutants still loaded (changed weights with a valid checksum), %d passed "
			 "is_model_check, %d of them overflowed on noise", loaded, ROUNDS, accepted, overflowed);
	free(buf);
	free(orig);
	free(in);
	free(out);
	free(noise_x);
	return tap_done();
}
