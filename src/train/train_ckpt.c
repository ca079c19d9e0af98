#include "train_ckpt.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CKPT_MAGIC "ISCKPT01"

/* The table a checkpoint belongs to: input shape and each layer's kind and size. */
static uint64_t
table_hash(const is_net *net)
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	int			v[3 + 2 * IS_NET_MAX_LAYERS];
	int			n = 0;

	v[n++] = net->in_c;
	v[n++] = net->in_h;
	v[n++] = net->in_w;
	for (int i = 0; i < net->n_layers; i++)
	{
		v[n++] = net->layers[i].kind;
		v[n++] = net->layers[i].out_c;
	}
	for (size_t i = 0; i < sizeof(int) * n; i++)
		h = (h ^ ((const unsigned char *) v)[i]) * 0x100000001b3ULL;
	return h;
}

typedef struct ckpt_head
{
	char		magic[8];
	uint64_t	table;
	uint64_t	n_floats;
	int64_t		epoch;
	int64_t		step;
	uint64_t	rng[4];
} ckpt_head;

int
is_ckpt_save(const char *path, const is_net *net, uint64_t frozen, const is_adam *adam, int epoch,
			 const is_rng *rng, char *err, size_t errlen)
{
	char		tmp[4200];
	ckpt_head	h = {.table = table_hash(net) ^ frozen, .n_floats = net->n_floats,
	.epoch = epoch, .step = adam->step};
	FILE	   *f;
	int			ok;

	memcpy(h.magic, CKPT_MAGIC, 8);
	memcpy(h.rng, rng->s, sizeof(h.rng));
	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long) getpid());
	if (!(f = fopen(tmp, "wb")))
	{
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	ok = fwrite(&h, sizeof(h), 1, f) == 1 &&
		fwrite(net->params, sizeof(float), net->n_floats, f) == net->n_floats &&
		fwrite(adam->m, sizeof(float), net->n_floats, f) == net->n_floats &&
		fwrite(adam->v, sizeof(float), net->n_floats, f) == net->n_floats;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0)
	{
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
is_ckpt_load(const char *path, is_net *net, uint64_t frozen, is_adam *adam, int *epoch, is_rng *rng,
			 char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "rb");
	ckpt_head	h;
	int			ok;

	if (!f)
	{
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fread(&h, sizeof(h), 1, f) != 1 || memcmp(h.magic, CKPT_MAGIC, 8) != 0)
	{
		fclose(f);
		snprintf(err, errlen, "%s is not an instsim checkpoint", path);
		return -1;
	}
	if (h.table != (table_hash(net) ^ frozen) || h.n_floats != net->n_floats || adam->n != net->n_floats ||
		h.epoch < 0 || h.epoch > 1000000 || h.step < 0)
	{
		fclose(f);
		snprintf(err, errlen, "%s belongs to another network (layer table, size or frozen trunk differs)", path);
		return -1;
	}
	ok = fread(net->params, sizeof(float), net->n_floats, f) == net->n_floats &&
		fread(adam->m, sizeof(float), net->n_floats, f) == net->n_floats &&
		fread(adam->v, sizeof(float), net->n_floats, f) == net->n_floats &&
		fgetc(f) == EOF;
	fclose(f);
	if (!ok)
	{
		snprintf(err, errlen, "%s is truncated or has trailing data", path);
		return -1;
	}
	*epoch = (int) h.epoch;
	adam->step = h.step;
	memcpy(rng->s, h.rng, sizeof(h.rng));
	return 0;
}
