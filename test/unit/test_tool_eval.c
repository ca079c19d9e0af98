/*
 * instsim-eval's own helpers: model file naming and discovery, the mean and
 * variance over seeds, and the paper's reference values.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval_inst.h"
#include "eval_models.h"
#include "eval_out.h"
#include "eval_remix.h"
#include "tap.h"

static void
test_names(void)
{
	slakh_inst	inst;
	is_input_kind input;
	int			seed;

	tap_ok(eval_parse_model_name("bass-seed3.safetensors", &inst, &input, &seed) == 0 &&
		   inst == SLAKH_BASS && input == IS_INPUT_STEM && seed == 3, "bass-seed3 is bass, seed 3");
	tap_ok(eval_parse_model_name("drums_mix-seed2.safetensors", &inst, &input, &seed) == 0 &&
		   inst == SLAKH_DRUMS && input == IS_INPUT_MIX && seed == 2,
		   "drums_mix-seed2 is drums from the mix, seed 2");
	tap_ok(eval_parse_model_name("piano_mix.safetensors", &inst, &input, &seed) == 0 &&
		   inst == SLAKH_PIANO && input == IS_INPUT_MIX && seed == -1,
		   "piano_mix.safetensors is a single piano-from-the-mix model");
	tap_ok(eval_parse_model_name("mix_mix.safetensors", &inst, &input, &seed) != 0 &&
		   eval_parse_model_name("_mix.safetensors", &inst, &input, &seed) != 0,
		   "mix_mix and a bare _mix name nothing");
	tap_ok(eval_parse_model_name("mix.safetensors", &inst, &input, &seed) == 0 &&
		   inst == SLAKH_MIX && seed == -1, "mix.safetensors is a single mix model");
	tap_ok(eval_parse_model_name("guitar-seed0.safetensors", &inst, &input, &seed) == 0 && seed == 0,
		   "seed 0 is allowed");
	tap_ok(eval_parse_model_name("violin-seed1.safetensors", &inst, &input, &seed) != 0,
		   "unknown instrument refused");
	tap_ok(eval_parse_model_name("bass-seed.safetensors", &inst, &input, &seed) != 0,
		   "seed without digits refused");
	tap_ok(eval_parse_model_name("bass-seed-1.safetensors", &inst, &input, &seed) != 0,
		   "negative seed refused");
	tap_ok(eval_parse_model_name("bass-seed1x.safetensors", &inst, &input, &seed) != 0,
		   "trailing junk refused");
	tap_ok(eval_parse_model_name("bass-seed1.bin", &inst, &input, &seed) != 0, "other extension refused");
	tap_ok(eval_parse_model_name(".safetensors", &inst, &input, &seed) != 0, "empty stem refused");
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
	touch(dir, "drums_mix-seed1.safetensors");
	tap_ok(eval_find_models(dir, SLAKH_DRUMS, IS_INPUT_STEM, 0, &m, &n, err, sizeof(err)) == 0 && n == 3,
		   "three drum models in the directory");
	tap_ok(n == 3 && m[0].seed == 1 && m[1].seed == 2 && m[2].seed == 10,
		   "sorted by seed numerically");
	free(m);
	tap_ok(eval_find_models(dir, SLAKH_DRUMS, IS_INPUT_MIX, 0, &m, &n, err, sizeof(err)) == 0 && n == 1 &&
		   m[0].seed == 1 && strstr(m[0].path, "drums_mix-seed1"),
		   "the mix-input drums model is found apart from the stem ones");
	free(m);
	tap_ok(eval_find_models(dir, SLAKH_DRUMS, IS_INPUT_STEM, 2, &m, &n, err, sizeof(err)) == 0 && n == 2 &&
		   m[1].seed == 2, "--seeds 2 keeps the two lowest seeds");
	free(m);
	tap_ok(eval_find_models(dir, SLAKH_PIANO, IS_INPUT_STEM, 0, &m, &n, err, sizeof(err)) == 0 && n == 0 &&
		   !m, "no piano model: none found, no error");
	snprintf(list, sizeof(list), "%s/bass-seed1.safetensors,%s/drums-seed2.safetensors", dir, dir);
	tap_ok(eval_find_models(list, SLAKH_BASS, IS_INPUT_STEM, 0, &m, &n, err, sizeof(err)) == 0 && n == 1 &&
		   strstr(m[0].path, "bass-seed1"), "a list picks the instrument's files");
	free(m);
	tap_ok(eval_find_models("x/model.bin", SLAKH_BASS, IS_INPUT_STEM, 0, &m, &n, err, sizeof(err)) != 0 &&
		   strstr(err, "not a model file name"), "a list entry with a bad name is an error");
	touch(dir, "drums.safetensors");
	tap_ok(eval_find_models(dir, SLAKH_DRUMS, IS_INPUT_STEM, 0, &m, &n, err, sizeof(err)) == 0 && n == 4 &&
		   m[0].seed == -1, "a single model sorts first");
	free(m);
	snprintf(list, sizeof(list), "%s/drums-seed1.safetensors,%s/drums-seed1.safetensors", dir, dir);
	tap_ok(eval_find_models(list, SLAKH_DRUMS, IS_INPUT_STEM, 0, &m, &n, err, sizeof(err)) != 0 && n == 0 &&
		   strstr(err, "seed 1"), "two models with one seed are an error");
	tap_ok(eval_find_models("/nonexistent/dir/", SLAKH_DRUMS, IS_INPUT_STEM, 0, &m, &n, err, sizeof(err)) != 0,
		   "missing path is an error");
	{
		const char *names[] = {"drums-seed10.safetensors", "drums-seed2.safetensors",
			"drums-seed1.safetensors", "bass-seed1.safetensors", "notes.txt",
		"drums.safetensors", "drums_mix-seed1.safetensors"};

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

/* Pairs: every ordered pair once, never a track with itself, fixed by the seed. */
static void
test_remix_pairs(void)
{
	int			a[30],
				b[30],
				a2[30],
				b2[30],
				seen[6][6] = {{0}};
	bool		ok = true,
				differs = false;
	int			n = eval_remix_pairs(6, 100, 7, a, b);

	for (int p = 0; p < n; p++)
	{
		ok &= a[p] >= 0 && a[p] < 6 && b[p] >= 0 && b[p] < 6 && a[p] != b[p];
		if (ok)
			seen[a[p]][b[p]]++;
	}
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++)
			ok &= seen[i][j] == (i != j);
	tap_ok(n == 30 && ok, "more pairs asked than exist: all 30 ordered pairs of 6 tracks, once each");
	tap_ok(eval_remix_pairs(6, 10, 7, a2, b2) == 10 && memcmp(a, a2, sizeof(int) * 10) == 0 &&
		   memcmp(b, b2, sizeof(int) * 10) == 0, "fewer: the first of the same seeded order");
	eval_remix_pairs(6, 10, 8, a2, b2);
	for (int p = 0; p < 10; p++)
		differs |= a[p] != a2[p] || b[p] != b2[p];
	tap_ok(differs, "another seed draws other pairs");
	tap_ok(eval_remix_pairs(1, 10, 7, a, b) == 0, "one track makes no pair");
}

/*
 * Scoring: track vectors are the unit axes; a remix equal to A's vector is
 * nearer A and ranks A first, one leaning towards B is neither, and a
 * remix between A and a third track C is nearer A than B yet ranks C first.
 */
static void
test_remix_score(void)
{
	enum
	{
		DIM = 4
	};
	float		mix[DIM * DIM] = {0},
				remix[3 * DIM] = {0};
	int			a[3] = {0, 1, 2},
				b[3] = {1, 0, 3},
				nearer,
				rank1;

	for (int t = 0; t < DIM; t++)
		mix[t * DIM + t] = 1.0f;
	remix[0 * DIM + 0] = 1.0f;	/* pair 0: exactly A (0) */
	remix[1 * DIM + 1] = 0.6f;	/* pair 1: A = 1, leaning to B = 0 */
	remix[1 * DIM + 0] = 0.8f;
	remix[2 * DIM + 2] = 0.6f;	/* pair 2: A = 2, B = 3, nearest is track 0 */
	remix[2 * DIM + 0] = 0.8f;
	eval_remix_score(mix, DIM, remix, a, b, 3, DIM, &nearer, &rank1);
	tap_ok(nearer == 2 && rank1 == 1, "nearer A in pairs 0 and 2, rank-1 only in pair 0 (%d, %d)",
		   nearer, rank1);
}

/*
 * Music-ID on sets of fewer tracks: tracks 0 and 1 have one embedding, so
 * in a set holding both, track 0's segments win every vote (ties go to the
 * lower index) and track 1's lose all; tracks 2 and 3 are apart, track 4 has
 * no segment.  Whole: 18 of 24.  Sets of 2: {0,1} scores 1/2, the other five
 * pairs 1; sets of 3: the two holding 0 and 1 score 2/3, the other two 1.
 */
static void
test_subset_accuracy(void)
{
	enum
	{
		TRACKS = 5, PER = 6, DIM = 3, N = 4 * PER
	};
	float		emb[N * DIM] = {0};
	int			labels[N],
				segs[TRACKS] = {PER, PER, PER, PER, 0};
	eval_inst	e = {.inst = SLAKH_PIANO, .k = 5, .n_models = 1, .n_tracks = TRACKS, .track_segs = segs,
	.n = N, .dim = DIM, .labels = labels, .emb = emb};
	double		whole = 0,
				all = 0,
				two = 0,
				three = 0,
				without = 0;
	int			used[5],
				no_three[TRACKS] = {PER, PER, PER, 0, PER};
	eval_inst	also = {.n_tracks = TRACKS, .track_segs = no_three};
	char		err[256] = "";

	for (int i = 0; i < N; i++)
	{
		labels[i] = i / PER;
		emb[i * DIM + (labels[i] < 2 ? 0 : labels[i] - 1)] = 1.0f;
	}
	tap_ok(eval_inst_subset_accuracy(&e, NULL, 4, 50, 1, &whole, &used[0], err, sizeof(err)) == 0 &&
		   eval_inst_subset_accuracy(&e, NULL, 19, 50, 1, &all, &used[1], err, sizeof(err)) == 0 &&
		   eval_inst_subset_accuracy(&e, NULL, 2, 3000, 1, &two, &used[2], err, sizeof(err)) == 0 &&
		   eval_inst_subset_accuracy(&e, NULL, 3, 3000, 2, &three, &used[3], err, sizeof(err)) == 0 &&
		   eval_inst_subset_accuracy(&e, &also, 19, 50, 1, &without, &used[4], err, sizeof(err)) == 0,
		   "ran: %s", err);
	tap_ok(fabs(whole - 0.75) < 1e-12 && fabs(all - 0.75) < 1e-12 && used[0] == 4 && used[1] == 4,
		   "sets as large as the tracks with segments are the whole: 18 of 24 (%.4f, %.4f; %d and %d tracks)",
		   whole, all, used[0], used[1]);
	tap_ok(fabs(two - 11.0 / 12.0) < 0.01 && used[2] == 2, "sets of 2: 11/12 on average (%.4f)", two);
	tap_ok(fabs(three - 5.0 / 6.0) < 0.01 && used[3] == 3, "sets of 3: 5/6 on average (%.4f)", three);
	tap_ok(fabs(without - 2.0 / 3.0) < 1e-12 && used[4] == 3,
		   "tracks without segments in the other evaluation are left out: 12 of 18 on 0-2 (%.4f, %d tracks)",
		   without, used[4]);
	e.k = PER;
	tap_ok(eval_inst_subset_accuracy(&e, NULL, 1, 10, 1, &two, &used[0], err, sizeof(err)) == 0 && isnan(two),
		   "sets of no more segments than k have no figure (NaN), and no error: %s", err);
}

int
main(void)
{
	test_names();
	test_find();
	test_stats();
	test_paper();
	test_remix_pairs();
	test_remix_score();
	test_subset_accuracy();
	return tap_done();
}
