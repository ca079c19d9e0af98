#include "sample_array.h"

#include <string.h>

ssize_t
sample_array_read(void *ctx, float *buf, size_t max, is_audio_error *err)
{
	sample_array *a = ctx;
	size_t		k = a->n - a->pos < max ? a->n - a->pos : max;

	(void) err;
	memcpy(buf, a->x + a->pos, k * sizeof(float));
	a->pos += k;
	return (ssize_t) k;
}
