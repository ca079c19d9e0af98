/*
 * instsim-eval's own helpers: model file naming and discovery, the mean and
 * variance over seeds, and the paper's reference values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval_inst.h"
#include "eval_models.h"
#include "eval_out.h"
#include "tap.h"

static void
test_names(void)
{
	slakh_inst	inst;
	int			seed;

	tap_ok(eval_parse_model_name("bass-seed3.safetensors", &inst, &seed) == 0 &&
		   inst == SLAKH_BASS && seed == 3, "bass-seed3 is bass, seed 3");
	tap_ok(eval_parse_model_name("mix.safetensors", &inst, &seed) == 0 &&
		   inst == SLAKH_MIX && seed == -1, "mix.safetensors is a single mix model");
	tap_ok(eval_parse_model_name("guitar-seed0.safetensors", &inst, &seed) == 0 && seed == 0,
		   "seed 0 is allowed");
	tap_ok(eval_parse_model_name("violin-seed1.safetensors", &inst, &seed) != 0,
		   "unknown instrument refused");
	tap_ok(eval_parse_model_name("bass-seed.safetensors", &inst, &seed) != 0,
		   "seed without digits refused");
	tap_ok(eval_parse_model_name("bass-seed-1.safetensors", &inst, &seed) != 0,
		   "negative seed refused");
	tap_ok(eval_parse_model_name("bass-seed1x.safetensors", &inst, &seed) != 0,
		   "trailing junk refused");
	tap_ok(eval_parse_model_name("bass-seed1.bin", &inst, &seed) != 0, "other extension refused");
	tap_ok(eval_parse_model_name(".safetensors", &inst, &seed) != 0, "empty stem refused");
}

static void
touch(const char *dir, const char *name)
{
	char		path[512];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f)
		fclose(f);
}

static void
test_find(void)
{
	char		dir[] = "/tmp/instsim-evalXXXXXX";
	char		err[512],
				list[1024];
	eval_model *m;
	int			n;

	if (!mkdtemp(dir))
	{
		tap_ok(0, "temporary directory");
		return;
	}
	touch(dir, "drums-seed10.safetensors");
	touch(dir, "drums-seed2.safetensors");
	touch(dir, "drums-seed1.safetensors");
	touch(dir, "bass-seed1.safetensors");
	touch(dir, "notes.txt");
	tap_ok(eval_find_models(dir, SLAKH_DRUMS, 0, &m, &n, err, sizeof(err)) == 0 && n == 3,
		   "three drum models in the directory");
	tap_ok(n == 3 && m[0].seed == 1 && m[1].seed == 2 && m[2].seed == 10,
		   "sorted by seed numerically");
	free(m);
	tap_ok(eval_find_models(dir, SLAKH_DRUMS, 2, &m, &n, err, sizeof(err)) == 0 && n == 2 &&
		   m[1].seed == 2, "--seeds 2 keeps the two lowest seeds");
	free(m);
	tap_ok(eval_find_models(dir, SLAKH_PIANO, 0, &m, &n, err, sizeof(err)) == 0 && n == 0 &&
		   !m, "no piano model: none found, no error");
	snprintf(list, sizeof(list), "%s/bass-seed1.safetensors,%s/drums-seed2.safetensors", dir, dir);
	tap_ok(eval_find_models(list, SLAKH_BASS, 0, &m, &n, err, sizeof(err)) == 0 && n == 1 &&
		   strstr(m[0].path, "bass-seed1"), "a list picks the instrument's files");
	free(m);
	tap_ok(eval_find_models("x/model.bin", SLAKH_BASS, 0, &m, &n, err, sizeof(err)) != 0 &&
		   strstr(err, "not a model file name"), "a list entry with a bad name is an error");
	touch(dir, "drums.safetensors");
	tap_ok(eval_find_models(dir, SLAKH_DRUMS, 0, &m, &n, err, sizeof(err)) == 0 && n == 4 &&
		   m[0].seed == -1, "a single model sorts first");
	free(m);
	snprintf(list, sizeof(list), "%s/drums-seed1.safetensors,%s/drums-seed1.safetensors", dir, dir);
	tap_ok(eval_find_models(list, SLAKH_DRUMS, 0, &m, &n, err, sizeof(err)) != 0 && n == 0 &&
		   strstr(err, "seed 1"), "two models with one seed are an error");
	tap_ok(eval_find_models("/nonexistent/dir/", SLAKH_DRUMS, 0, &m, &n, err, sizeof(err)) != 0,
		   "missing path is an error");
	{
		const char *names[] = {"drums-seed10.safetensors", "drums-seed2.safetensors",
			"drums-seed1.safetensors", "bass-seed1.safetensors", "notes.txt",
		"drums.safetensors"};

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		{
			snprintf(list, sizeof(list), "%s/%s", dir, names[i]);
			unlink(list);
		}
		rmdir(dir);
	}
}

static void
test_stats(void)
{
	double		x[] = {0.90, 0.92, 0.94, 0.96, 0.98};
	double		one = 0.5;
	double		mean,
				var;

	eval_mean_var(x, 5, &mean, &var);
	tap_near(mean, 0.94, 1e-12, "mean of five accuracies");
	/* deviations -0.04..0.04 step 0.02: (16+4+0+4+16)e-4 / 5 = 8e-4 */
	tap_near(var, 8e-4, 1e-12, "population variance");
	eval_mean_var(&one, 1, &mean, &var);
	tap_ok(mean == 0.5 && var == 0, "one model: variance 0");
}

static void
test_paper(void)
{
	double		p,
				s;

	tap_near(eval_paper_accuracy(SLAKH_BASS), 84.63, 1e-9, "paper: bass 84.63%");
	tap_ok(eval_paper_correlation(SLAKH_DRUMS, SLAKH_BASS, &p, &s) == 0 &&
		   p == -0.0016 && s == 0.076, "paper: drums-bass");
	tap_ok(eval_paper_correlation(SLAKH_MIX, SLAKH_GUITAR, &p, &s) == 0 && p == 0.32,
		   "paper: mix-guitar");
	tap_ok(eval_paper_correlation(SLAKH_BASS, SLAKH_DRUMS, &p, &s) != 0,
		   "pairs are asked in instrument order");
}

int
main(void)
{
	test_names();
	test_find();
	test_stats();
	test_paper();
	return tap_done();
}
