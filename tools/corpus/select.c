#include "select.h"
#include "errbuf.h"
#include "rand.h"
#include "sample_array.h"

#include "frontend.h"
#include "segment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
select_count_segments(const float *x, size_t n, int cap, char *err, size_t errlen)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;
	sample_array rd = {x, n, 0};
	is_segmenter *sg;
	is_audio_error ae = {0};
	is_segment seg;
	int			count = 0;
	int			rc;

	if (is_segmenter_new(&fe, cap > 0 ? cap : 0, sample_array_read, &rd, &sg, &ae) != IS_AUDIO_OK)
		return is_fail(err, errlen, "segmenter: %s", ae.message);
	while ((rc = is_segmenter_next(sg, &seg, &ae)) == 1)
		count++;
	is_segmenter_free(sg);
	if (rc < 0)
		return is_fail(err, errlen, "segmenter: %s", ae.message);
	return count;
}

int
select_count_track(const char *track_dir, int cap, unsigned signals, int counts[SLAKH_N_INST],
				   char *err, size_t errlen)
{
	char		path[4096];
	slakh_meta	m;

	snprintf(path, sizeof(path), "%s/%s", track_dir, SLAKH_META_FILE);
	if (slakh_meta_read(path, &m, err, errlen) != 0)
		return -1;
	for (int i = 0; i < SLAKH_N_INST; i++)
	{
		float	   *x;
		size_t		n;

		counts[i] = 0;
		if (!(signals & SELECT_SIGNAL(i)))
			continue;
		if (slakh_load(track_dir, &m, (slakh_inst) i, &x, &n, err, errlen) != 0)
		{
			slakh_meta_free(&m);
			return -1;
		}
		counts[i] = n ? select_count_segments(x, n, cap, err, errlen) : 0;
		free(x);
		if (counts[i] < 0)
		{
			slakh_meta_free(&m);
			return -1;
		}
	}
	slakh_meta_free(&m);
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
sort_list(slakh_tracks *t)
{
	if (t->n > 1)
		qsort(t->names, (size_t) t->n, sizeof(char *), cmp_names);
}

int
select_split(const slakh_tracks *names, const int (*counts)[SLAKH_N_INST],
			 const select_rule *rule, corpus_split *out)
{
	int		   *ok = malloc(sizeof(int) * (size_t) (names->n ? names->n : 1));
	int			n_ok = 0;
	int			n_test;
	is_rng	rs;

	memset(out, 0, sizeof(*out));
	if (!ok)
		return -1;
	out->min_segments = rule->min_segments;
	out->seed = rule->seed;
	for (int i = 0; i < names->n; i++)
	{
		bool		good = !rule->held_out || rule->held_out[i] >= 0;

		for (int k = 0; k < SLAKH_N_INST; k++)
			good &= !(rule->signals & SELECT_SIGNAL(k)) || counts[i][k] >= rule->min_segments;
		if (good)
			ok[n_ok++] = i;
		else if (slakh_tracks_add(&out->excluded, names->names[i]) != 0)
			goto fail;
	}
	if (rule->held_out)
	{
		for (int i = 0; i < n_ok; i++)
			if (slakh_tracks_add(rule->held_out[ok[i]] ? &out->test : &out->train, names->names[ok[i]]) != 0)
				goto fail;
		n_ok = 0;
	}
	/* Fisher-Yates over the qualifying tracks; the first n_test go to test. */
	is_rng_seed(&rs, rule->seed);
	for (int i = n_ok - 1; i > 0; i--)
	{
		int			j = (int) rand_below(&rs, (uint32_t) i + 1);
		int			t = ok[i];

		ok[i] = ok[j];
		ok[j] = t;
	}
	n_test = (int) (n_ok * rule->test_fraction);
	if (n_test < 1 && n_ok >= 2 && rule->test_fraction > 0)
		n_test = 1;
	for (int i = 0; i < n_ok; i++)
		if (slakh_tracks_add(i < n_test ? &out->test : &out->train, names->names[ok[i]]) != 0)
			goto fail;
	sort_list(&out->train);
	sort_list(&out->test);
	sort_list(&out->excluded);
	free(ok);
	return 0;
fail:
	free(ok);
	split_free(out);
	return -1;
}
