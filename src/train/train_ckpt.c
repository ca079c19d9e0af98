#include "train_ckpt.h"
#include "hash.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* 02: the sampler's order of segments after the optimiser's state (01 had none: resumed runs drew other batches) */
#define CKPT_MAGIC "ISCKPT02"
/* after the optimiser's state, when training mines a bank: its ring as it stands */
#define BANK_MAGIC "ISBANK01"

/* The table a checkpoint belongs to: input shape and each layer's kind and size. */
static uint64_t
table_hash(const is_net *net)
{
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
	return fnv1a64(FNV1A64_BASIS, v, sizeof(int) * n);
}

typedef struct ckpt_head
{
	char		magic[8];
	uint64_t	table;
	uint64_t	n_floats;
	int64_t		epoch;
	int64_t		step;
	uint64_t	rng[4];
	int64_t		n_order;
} ckpt_head;

static bool
bank_write(FILE *f, const is_bank *b)
{
	int32_t		dims[4] = {b->cap, b->n, b->next, b->dim};

	return fwrite(BANK_MAGIC, 8, 1, f) == 1 && fwrite(dims, sizeof(dims), 1, f) == 1 &&
		fwrite(b->rows, sizeof(float) * b->dim, b->cap, f) == (size_t) b->cap &&
		fwrite(b->label, sizeof(int), b->cap, f) == (size_t) b->cap;
}

static bool
bank_read(FILE *f, is_bank *b)
{
	char		magic[8];
	int32_t		dims[4];

	if (fread(magic, 8, 1, f) != 1 || memcmp(magic, BANK_MAGIC, 8) != 0 ||
		fread(dims, sizeof(dims), 1, f) != 1 || dims[0] != b->cap || dims[3] != b->dim ||
		dims[1] < 0 || dims[1] > b->cap || dims[2] < 0 || dims[2] >= b->cap)
		return false;
	b->n = dims[1];
	b->next = dims[2];
	return fread(b->rows, sizeof(float) * b->dim, b->cap, f) == (size_t) b->cap &&
		fread(b->label, sizeof(int), b->cap, f) == (size_t) b->cap;
}

int
is_ckpt_save(const char *path, const is_net *net, const is_ckpt *c, char *err, size_t errlen)
{
	char		tmp[4200];
	ckpt_head	h = {.table = table_hash(net) ^ c->frozen, .n_floats = net->n_floats,
	.epoch = c->epoch, .step = c->adam->step, .n_order = c->order ? c->n_order : 0};
	FILE	   *f;
	int			ok;

	memcpy(h.magic, CKPT_MAGIC, 8);
	memcpy(h.rng, c->rng->s, sizeof(h.rng));
	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long) getpid());
	if (!(f = fopen(tmp, "wb")))
	{
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	ok = fwrite(&h, sizeof(h), 1, f) == 1 &&
		fwrite(net->params, sizeof(float), net->n_floats, f) == net->n_floats &&
		fwrite(c->adam->m, sizeof(float), net->n_floats, f) == net->n_floats &&
		fwrite(c->adam->v, sizeof(float), net->n_floats, f) == net->n_floats &&
		fwrite(c->order, sizeof(is_seg_ref), h.n_order, f) == (size_t) h.n_order &&
		(!c->bank || !c->bank->cap || bank_write(f, c->bank));
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
is_ckpt_load(const char *path, is_net *net, is_ckpt *c, char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "rb");
	ckpt_head	h;
	int64_t		n_order = c->order ? c->n_order : 0;
	int			ok;

	if (!f)
	{
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fread(&h, sizeof(h), 1, f) != 1 || memcmp(h.magic, CKPT_MAGIC, 6) != 0)
	{
		fclose(f);
		snprintf(err, errlen, "%s is not an instsim checkpoint", path);
		return -1;
	}
	if (memcmp(h.magic, CKPT_MAGIC, 8) != 0)
	{
		fclose(f);
		snprintf(err, errlen, "%s was written by another version of instsim-train: start the run again",
				 path);
		return -1;
	}
	if (h.table != (table_hash(net) ^ c->frozen) || h.n_floats != net->n_floats ||
		c->adam->n != net->n_floats || h.epoch < 0 || h.epoch > 1000000 || h.step < 0)
	{
		fclose(f);
		snprintf(err, errlen, "%s belongs to another network (layer table, size or frozen trunk differs)", path);
		return -1;
	}
	if (h.n_order != n_order)
	{
		fclose(f);
		snprintf(err, errlen, "%s was saved from a training set of %lld segments, this one has %lld",
				 path, (long long) h.n_order, (long long) n_order);
		return -1;
	}
	ok = fread(net->params, sizeof(float), net->n_floats, f) == net->n_floats &&
		fread(c->adam->m, sizeof(float), net->n_floats, f) == net->n_floats &&
		fread(c->adam->v, sizeof(float), net->n_floats, f) == net->n_floats &&
		fread(c->order, sizeof(is_seg_ref), n_order, f) == (size_t) n_order;
	if (ok && c->bank && c->bank->cap && !bank_read(f, c->bank))
	{
		fclose(f);
		snprintf(err, errlen, "%s holds no mining bank of %d rows: resume with the --mining-bank "
				 "it was saved with", path, c->bank->cap);
		return -1;
	}
	ok = ok && fgetc(f) == EOF;
	fclose(f);
	if (!ok)
	{
		snprintf(err, errlen, "%s is truncated or has trailing data (such as the mining bank of "
				 "a run with --mining-bank)", path);
		return -1;
	}
	c->epoch = (int) h.epoch;
	c->adam->step = h.step;
	memcpy(c->rng->s, h.rng, sizeof(h.rng));
	return 0;
}
