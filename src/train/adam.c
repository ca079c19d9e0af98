#include "adam.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

int
is_adam_init(is_adam *a, size_t n, float lr, char *err, size_t errlen)
{
	a->lr = lr;
	a->beta1 = 0.9f;
	a->beta2 = 0.999f;
	a->eps = 1e-8f;
	a->weight_decay = 0.0f;
	a->step = 0;
	a->n = n;
	a->m = calloc(n ? n : 1, sizeof(float));
	a->v = calloc(n ? n : 1, sizeof(float));
	if (!a->m || !a->v)
	{
		is_adam_free(a);
		snprintf(err, errlen, "out of memory for the optimiser state of %zu parameters", n);
		return -1;
	}
	return 0;
}

void
is_adam_free(is_adam *a)
{
	free(a->m);
	free(a->v);
	a->m = a->v = NULL;
}

void
is_adam_begin(is_adam *a)
{
	a->step++;
}

void
is_adam_update(is_adam *a, float *params, const float *grad, size_t off, size_t count)
{
	const float b1 = a->beta1,
				b2 = a->beta2,
				wd = a->weight_decay,
				eps = a->eps;
	const double t = (double) a->step;
	const float step_size = (float) (a->lr / (1.0 - pow(b1, t)));
	const float bc2 = (float) sqrt(1.0 - pow(b2, t));
	float	   *p = params + off,
			   *m = a->m + off,
			   *v = a->v + off;
	const float *g = grad + off;

#pragma omp simd
	for (size_t i = 0; i < count; i++)
	{
		float		gi = g[i] + wd * p[i];

		m[i] = b1 * m[i] + (1.0f - b1) * gi;
		v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
		p[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2 + eps);
	}
}

static const char *const schedule_names[] = {
	[IS_LR_CONSTANT] = "constant",
	[IS_LR_COSINE] = "cosine",
};

int
is_lr_schedule_parse(const char *s, is_lr_schedule *out)
{
	int			i = is_name_index(schedule_names, IS_N_NAMES(schedule_names), s);

	if (i >= 0)
		*out = (is_lr_schedule) i;
	return i < 0 ? -1 : 0;
}

float
is_lr_at(is_lr_schedule schedule, float base, int64_t step, int64_t total)
{
	if (schedule == IS_LR_CONSTANT || total <= 0)
		return base;
	return (float) (0.5 * base * (1.0 + cos(M_PI * (double) step / (double) total)));
}
