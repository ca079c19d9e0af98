/*
 * Fuzzing the model loader: thousands of mutated model files (bit flips,
 * byte overwrites, insertions, deletions, truncations, header digit edits),
 * half of them with the checksum recomputed so that mutations reach the
 * deeper checks.  The loader must return an error or a model that an
 * inference plan runs on; never crash.  Deterministic (fixed seed).
 */
#define _GNU_SOURCE				/* memmem in model_edit.h */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
				ran = 1;
	float	   *in,
			   *out;

	if (is_model_synth(&m, "bass", &fe, 3, err, sizeof(err)) < 0 ||
		is_model_save(&m, &orig, &orig_len, err, sizeof(err)) < 0)
	{
		tap_ok(0, "synthetic model: %s", err);
		return tap_done();
	}
	is_model_free(&m);
	buf = malloc(orig_len + 64);
	in = calloc(128 * 130, sizeof(float));
	out = calloc(4096, sizeof(float));
	for (int r = 0; r < ROUNDS; r++)
	{
		size_t		len = orig_len;
		int			n = 1 + (int) rnd(3);

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
		}
		else
			ran &= err[0] != '\0';
		is_model_free(&m);
	}
	tap_ok(1, "%d mutated model files loaded without a crash", ROUNDS);
	tap_ok(ran, "every rejection has a message and every loaded model runs");
	tap_diag("%d of %d mutants still loaded (changed weights with a valid checksum)", loaded, ROUNDS);
	free(buf);
	free(orig);
	free(in);
	free(out);
	return tap_done();
}
