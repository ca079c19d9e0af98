#include "eval_models.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errbuf.h"

#define MODEL_EXT ".safetensors"
#define SEED_TAG "-seed"
#define MIX_TAG "_mix"

int
eval_parse_model_name(const char *base, slakh_inst *inst, is_input_kind *input, int *seed)
{
	size_t		len = strlen(base);
	size_t		ext = strlen(MODEL_EXT);
	char		stem[64];
	char	   *tag;
	int			i;

	if (len <= ext || len - ext >= sizeof(stem) || strcmp(base + len - ext, MODEL_EXT) != 0)
		return -1;
	memcpy(stem, base, len - ext);
	stem[len - ext] = '\0';
	*seed = -1;
	tag = strstr(stem, SEED_TAG);
	if (tag)
	{
		char	   *digits = tag + strlen(SEED_TAG);
		char	   *end;
		long		s;

		errno = 0;
		s = strtol(digits, &end, 10);
		if (end == digits || *end || errno || s < 0 || s > INT_MAX)
			return -1;
		*seed = (int) s;
		*tag = '\0';
	}
	*input = IS_INPUT_STEM;
	len = strlen(stem);
	if (len > strlen(MIX_TAG) && strcmp(stem + len - strlen(MIX_TAG), MIX_TAG) == 0)
	{
		*input = IS_INPUT_MIX;
		stem[len - strlen(MIX_TAG)] = '\0';
	}
	i = slakh_inst_parse(stem);
	/* the mix model hears the mix already: "mix_mix" names nothing */
	if (i < 0 || (i == SLAKH_MIX && *input == IS_INPUT_MIX))
		return -1;
	*inst = (slakh_inst) i;
	return 0;
}

static int
by_seed(const void *a, const void *b)
{
	const eval_model *x = a,
			   *y = b;

	return (x->seed > y->seed) - (x->seed < y->seed);
}

/* Keeps path if its name is a model of inst; grows the array as needed. */
static int
consider(const char *path, slakh_inst inst, is_input_kind input, eval_model **list, int *n, int *cap)
{
	const char *slash = strrchr(path, '/');
	slakh_inst	i;
	is_input_kind k;
	int			seed;

	if (eval_parse_model_name(slash ? slash + 1 : path, &i, &k, &seed) != 0 || i != inst || k != input)
		return 0;
	if (strlen(path) >= EVAL_PATH_MAX)
		return -1;
	if (*n == *cap)
	{
		int			c = *cap ? *cap * 2 : 8;
		eval_model *l = realloc(*list, sizeof(eval_model) * c);

		if (!l)
			return -1;
		*list = l;
		*cap = c;
	}
	strcpy((*list)[*n].path, path);
	(*list)[(*n)++].seed = seed;
	return 0;
}

static int
scan_dir(const char *dir, slakh_inst inst, is_input_kind input, eval_model **list, int *n, int *cap,
		 char *err, size_t errlen)
{
	DIR		   *d = opendir(dir);
	struct dirent *e;
	char		path[EVAL_PATH_MAX];

	if (!d)
		return is_fail(err, errlen, "cannot open model directory %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL)
	{
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (consider(path, inst, input, list, n, cap) != 0)
		{
			closedir(d);
			return is_fail(err, errlen, "out of memory or path too long: %s", path);
		}
	}
	closedir(d);
	return 0;
}

static int
scan_list(const char *spec, slakh_inst inst, is_input_kind input, eval_model **list, int *n, int *cap,
		  char *err, size_t errlen)
{
	char	   *copy = strdup(spec);
	char	   *save = NULL;
	int			rc = 0;

	if (!copy)
		return is_fail(err, errlen, "out of memory");
	for (char *p = strtok_r(copy, ",", &save); p && rc == 0; p = strtok_r(NULL, ",", &save))
	{
		slakh_inst	i;
		is_input_kind k;
		int			seed;
		const char *slash = strrchr(p, '/');

		if (eval_parse_model_name(slash ? slash + 1 : p, &i, &k, &seed) != 0)
			rc = is_fail(err, errlen, "%s: not a model file name (want INSTRUMENT[_mix].safetensors "
						 "or INSTRUMENT[_mix]-seedS.safetensors)", p);
		else if (consider(p, inst, input, list, n, cap) != 0)
			rc = is_fail(err, errlen, "out of memory or path too long: %s", p);
	}
	free(copy);
	return rc;
}

int
eval_find_models(const char *spec, slakh_inst inst, is_input_kind input, int max_models,
				 eval_model **out, int *n, char *err, size_t errlen)
{
	struct stat st;
	int			cap = 0;
	int			rc;

	*out = NULL;
	*n = 0;
	if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode))
		rc = scan_dir(spec, inst, input, out, n, &cap, err, errlen);
	else
		rc = scan_list(spec, inst, input, out, n, &cap, err, errlen);
	if (rc != 0)
	{
		free(*out);
		*out = NULL;
		*n = 0;
		return -1;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(eval_model), by_seed);
	for (int i = 1; i < *n; i++)
		if ((*out)[i].seed == (*out)[i - 1].seed)
		{
			is_fail(err, errlen, "two %s%s models with seed %d: %s and %s",
					slakh_inst_name(inst), input == IS_INPUT_MIX ? MIX_TAG : "", (*out)[i].seed, (*out)[i - 1].path, (*out)[i].path);
			free(*out);
			*out = NULL;
			*n = 0;
			return -1;
		}
	if (max_models > 0 && *n > max_models)
		*n = max_models;
	return 0;
}
