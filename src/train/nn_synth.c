#include "nn_synth.h"
#include "errmsg.h"

#include <math.h>
#include <string.h>

/* splitmix64: tiny, and its output is fixed by definition on every platform */
static uint64_t
next(uint64_t *s)
{
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi), 24 bits, exactly representable. */
static float
uniform(uint64_t *s, float lo, float hi)
{
	return lo + (hi - lo) * (float) (next(s) >> 40) * (1.0f / 16777216.0f);
}

static void
fill(float *p, size_t n, uint64_t *s, float lo, float hi)
{
	for (size_t i = 0; i < n; i++)
		p[i] = uniform(s, lo, hi);
}

void
is_net_synth_params(is_net *net, uint64_t seed)
{
	uint64_t	s = seed;

	for (int i = 0; i < net->n_layers; i++)
	{
		is_layer   *l = &net->layers[i];
		size_t		fan_in = (size_t) l->in_c * (l->kind == IS_LAYER_CONV3X3 ? 9 : 1);
		float		a = sqrtf(6.0f / (float) fan_in);

		switch (l->kind)
		{
			case IS_LAYER_CONV3X3:
			case IS_LAYER_LINEAR:
				fill(l->param[0], (size_t) l->out_c * fan_in, &s, -a, a);
				fill(l->param[1], (size_t) l->out_c, &s, -0.1f, 0.1f);
				break;
			case IS_LAYER_BATCHNORM:
				fill(l->param[0], (size_t) l->in_c, &s, 0.5f, 1.5f);
				fill(l->param[1], (size_t) l->in_c, &s, -0.2f, 0.2f);
				fill(l->param[2], (size_t) l->in_c, &s, -0.3f, 0.3f);
				fill(l->param[3], (size_t) l->in_c, &s, 0.5f, 2.0f);
				break;
			default:
				break;
		}
	}
}

int
is_model_synth(is_model *m, const char *instrument, const is_frontend *fe,
			   uint64_t seed, char *err, size_t errlen)
{
	static const int channels[] = {16, 32, 64, 128};
	is_net	   *net = &m->net;

	memset(m, 0, sizeof(*m));
	if (strlen(instrument) >= sizeof(m->instrument) || !*instrument)
		return is_fail(err, errlen, "instrument name must have 1..%d characters",
					   IS_MODEL_INSTRUMENT_LEN - 1);
	strcpy(m->instrument, instrument);
	m->fe = *fe;
	if (is_net_default(net, 1, fe->n_mels, is_frontend_frames(fe), channels, 4, 128,
					   err, errlen) < 0)
		return -1;
	is_net_synth_params(net, seed);
	return 0;
}
