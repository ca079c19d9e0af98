/*
 * Checkpoints: a save/load round trip restores parameters, Adam state, epoch
 * and sampler state bit for bit, so a resumed run continues exactly; a
 * checkpoint of another network, a truncated file and a foreign file are
 * refused with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "train_ckpt.h"
#include "train_net.h"
#include "train_nets.h"

#define ERRLEN 256

/* the sampler's order saved, and where a load puts it */
static is_seg_ref saved_order[3] = {{2, 1}, {0, 0}, {1, 5}};
static is_seg_ref loaded_order[3];
static int	n_loaded_order = 3;

static int
save(const char *path, const is_net *net, uint64_t frozen, is_adam *adam, is_bank *bank, int epoch,
	 is_rng *rng, char *err)
{
	is_ckpt		c = {.frozen = frozen, .adam = adam, .bank = bank, .order = saved_order,
	.n_order = 3, .epoch = epoch, .rng = rng};

	return is_ckpt_save(path, net, &c, err, ERRLEN);
}

static int
load(const char *path, is_net *net, uint64_t frozen, is_adam *adam, is_bank *bank, int *epoch,
	 is_rng *rng, char *err)
{
	is_ckpt		c = {.frozen = frozen, .adam = adam, .bank = bank, .order = loaded_order,
	.n_order = n_loaded_order, .rng = rng};
	int			rc = is_ckpt_load(path, net, &c, err, ERRLEN);

	*epoch = c.epoch;
	return rc;
}

int
main(void)
{
	char		path[] = "/tmp/instsim-ckpt-XXXXXX";
	char		err[ERRLEN];
	is_net		a,
				b;
	is_adam		aa,
				ab;
	is_rng		ra,
				rb;
	int			epoch = 0;
	int			fd = mkstemp(path);
	FILE	   *f;

	if (fd < 0)
		return 1;
	close(fd);
	train_net_build(&a, 2, 9, 7, train_all_kinds, TRAIN_ALL_KINDS_N, err, sizeof(err));
	train_net_build(&b, 2, 9, 7, train_all_kinds, TRAIN_ALL_KINDS_N, err, sizeof(err));
	is_net_init_params(&a, 1);
	is_adam_init(&aa, a.n_floats, 1e-3f, err, sizeof(err));
	is_adam_init(&ab, b.n_floats, 1e-3f, err, sizeof(err));
	for (size_t i = 0; i < a.n_floats; i++)
	{
		aa.m[i] = (float) i;
		aa.v[i] = (float) (2 * i);
	}
	aa.step = 77;
	is_rng_seed(&ra, 5);
	is_rng_next(&ra);

	tap_ok(save(path, &a, 0, &aa, NULL, 12, &ra, err) == 0, "save");
	tap_ok(load(path, &b, 0, &ab, NULL, &epoch, &rb, err) == 0, "load");
	tap_ok(memcmp(a.params, b.params, sizeof(float) * a.n_floats) == 0, "parameters restored");
	tap_ok(memcmp(aa.m, ab.m, sizeof(float) * a.n_floats) == 0 &&
		   memcmp(aa.v, ab.v, sizeof(float) * a.n_floats) == 0 && ab.step == 77,
		   "Adam moments and step restored");
	tap_ok(epoch == 12 && is_rng_next(&ra) == is_rng_next(&rb), "epoch and sampler state restored");
	tap_ok(memcmp(saved_order, loaded_order, sizeof(saved_order)) == 0, "the sampler's order restored");
	n_loaded_order = 4;
	tap_ok(load(path, &b, 0, &ab, NULL, &epoch, &rb, err) < 0 && strstr(err, "training set of 3 segments"),
		   "a checkpoint of another number of segments is refused: %s", err);
	n_loaded_order = 3;

	/* with a mining bank: its ring comes back, and the two kinds are not mixed up */
	{
		is_bank		ka,
					kb;
		float		row[3 * 4] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 3, 4};
		int			lab[3] = {5, 6, 7};

		is_bank_init(&ka, 2, 4, 1, err, sizeof(err));
		is_bank_init(&kb, 2, 4, 1, err, sizeof(err));
		is_bank_push(&ka, row, lab, 3);
		tap_ok(save(path, &a, 0, &aa, &ka, 12, &ra, err) == 0 &&
			   load(path, &b, 0, &ab, &kb, &epoch, &rb, err) == 0 &&
			   kb.n == 2 && kb.next == 1 && memcmp(ka.rows, kb.rows, sizeof(float) * 8) == 0 &&
			   kb.label[0] == 7 && kb.label[1] == 6, "a mining bank restored: %s", err);
		tap_ok(load(path, &b, 0, &ab, NULL, &epoch, &rb, err) < 0 &&
			   strstr(err, "--mining-bank"), "a checkpoint with a bank, resumed without: %s", err);
		is_bank_free(&kb);
		is_bank_init(&kb, 3, 4, 1, err, sizeof(err));
		tap_ok(load(path, &b, 0, &ab, &kb, &epoch, &rb, err) < 0 &&
			   strstr(err, "3 rows"), "... or with a bank of another size: %s", err);
		tap_ok(save(path, &a, 0, &aa, NULL, 12, &ra, err) == 0 &&
			   load(path, &b, 0, &ab, &kb, &epoch, &rb, err) < 0 &&
			   strstr(err, "--mining-bank"), "a checkpoint without a bank, resumed with one: %s", err);
		is_bank_free(&ka);
		is_bank_free(&kb);
		tap_ok(save(path, &a, 0, &aa, NULL, 12, &ra, err) == 0, "saved again without");
	}
	err[0] = '\0';
	tap_ok(load(path, &b, 7, &ab, NULL, &epoch, &rb, err) < 0 && strstr(err, "frozen trunk"),
		   "the same layers behind another frozen trunk are refused: %s", err);

	/* another layer table */
	is_net_free(&b);
	{
		is_layer	other[TRAIN_ALL_KINDS_N];

		memcpy(other, train_all_kinds, sizeof(other));
		other[0].out = 5;
		train_net_build(&b, 2, 9, 7, other, TRAIN_ALL_KINDS_N, err, sizeof(err));
	}
	is_adam_free(&ab);
	is_adam_init(&ab, b.n_floats, 1e-3f, err, sizeof(err));
	tap_ok(load(path, &b, 0, &ab, NULL, &epoch, &rb, err) < 0 &&
		   strstr(err, "another network"), "other network refused: %s", err);

	/* truncated */
	tap_ok(truncate(path, 200) == 0, "truncate");
	tap_ok(load(path, &a, 0, &aa, NULL, &epoch, &ra, err) < 0, "truncated refused: %s", err);

	/* not a checkpoint */
	f = fopen(path, "wb");
	fputs("hello, this is not a checkpoint at all, just some text to be long enough", f);
	fclose(f);
	tap_ok(load(path, &a, 0, &aa, NULL, &epoch, &ra, err) < 0 &&
		   strstr(err, "not an instsim checkpoint"), "foreign file refused: %s", err);
	tap_ok(load("/nonexistent/x", &a, 0, &aa, NULL, &epoch, &ra, err) < 0,
		   "missing file refused: %s", err);

	unlink(path);
	is_net_free(&a);
	is_net_free(&b);
	is_adam_free(&aa);
	is_adam_free(&ab);
	return tap_done();
}
