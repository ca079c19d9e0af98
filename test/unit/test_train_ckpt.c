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

int
main(void)
{
	char		path[] = "/tmp/instsim-ckpt-XXXXXX";
	char		err[256];
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

	tap_ok(is_ckpt_save(path, &a, 0, &aa, 12, &ra, err, sizeof(err)) == 0, "save");
	tap_ok(is_ckpt_load(path, &b, 0, &ab, &epoch, &rb, err, sizeof(err)) == 0, "load");
	tap_ok(memcmp(a.params, b.params, sizeof(float) * a.n_floats) == 0, "parameters restored");
	tap_ok(memcmp(aa.m, ab.m, sizeof(float) * a.n_floats) == 0 &&
		   memcmp(aa.v, ab.v, sizeof(float) * a.n_floats) == 0 && ab.step == 77,
		   "Adam moments and step restored");
	tap_ok(epoch == 12 && is_rng_next(&ra) == is_rng_next(&rb), "epoch and sampler state restored");
	err[0] = '\0';
	tap_ok(is_ckpt_load(path, &b, 7, &ab, &epoch, &rb, err, sizeof(err)) < 0 && strstr(err, "frozen trunk"),
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
	tap_ok(is_ckpt_load(path, &b, 0, &ab, &epoch, &rb, err, sizeof(err)) < 0 &&
		   strstr(err, "another network"), "other network refused: %s", err);

	/* truncated */
	tap_ok(truncate(path, 200) == 0, "truncate");
	tap_ok(is_ckpt_load(path, &a, 0, &aa, &epoch, &ra, err, sizeof(err)) < 0, "truncated refused: %s", err);

	/* not a checkpoint */
	f = fopen(path, "wb");
	fputs("hello, this is not a checkpoint at all, just some text to be long enough", f);
	fclose(f);
	tap_ok(is_ckpt_load(path, &a, 0, &aa, &epoch, &ra, err, sizeof(err)) < 0 &&
		   strstr(err, "not an instsim checkpoint"), "foreign file refused: %s", err);
	tap_ok(is_ckpt_load("/nonexistent/x", &a, 0, &aa, &epoch, &ra, err, sizeof(err)) < 0,
		   "missing file refused: %s", err);

	unlink(path);
	is_net_free(&a);
	is_net_free(&b);
	is_adam_free(&aa);
	is_adam_free(&ab);
	return tap_done();
}
