#include "slakh.h"
#include "audio_io.h"
#include "errbuf.h"
#include "yaml_util.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char *const inst_names[] = {"mix", "drums", "bass", "piano", "guitar", "other"};

/* Slakh2100's split directories, searched when the root holds no tracks itself. */
static const char *const split_dirs[] = {"train", "validation", "test", "omitted"};

const char *
slakh_inst_name(slakh_inst inst)
{
	return inst >= SLAKH_MIX && inst <= SLAKH_OTHER ? inst_names[inst] : "?";
}

int
slakh_inst_parse(const char *name)
{
	for (int i = 0; i < SLAKH_N_INST; i++)
		if (strcasecmp(name, inst_names[i]) == 0)
			return i;
	return -1;
}

slakh_inst
slakh_inst_of_class(const char *inst_class)
{
	int			i = slakh_inst_parse(inst_class);

	return i > SLAKH_MIX ? (slakh_inst) i : SLAKH_OTHER;
}

/* ---- metadata.yaml --------------------------------------------------------- */

static int
read_int(const char *s, int *v)
{
	char	   *end;
	double		d;

	if (!s)
		return -1;
	d = strtod(s, &end);
	if (end == s || *end || d < INT_MIN || d > INT_MAX)
		return -1;
	*v = (int) d;
	return 0;
}

static int
read_stem(yaml_document_t *doc, const char *id, yaml_node_t *node,
		  slakh_stem *st, const char *path, char *err, size_t errlen)
{
	const char *s;
	int			b;

	if (!node || node->type != YAML_MAPPING_NODE)
		return is_fail(err, errlen, "%s: stem %s is not a mapping", path, id);
	memset(st, 0, sizeof(*st));
	yu_copy(st->id, sizeof(st->id), id);
	yu_copy(st->inst_class, sizeof(st->inst_class),
			yu_scalar(doc, yu_get(doc, node, "inst_class")));
	yu_copy(st->midi_program_name, sizeof(st->midi_program_name),
			yu_scalar(doc, yu_get(doc, node, "midi_program_name")));
	yu_copy(st->plugin_name, sizeof(st->plugin_name),
			yu_scalar(doc, yu_get(doc, node, "plugin_name")));
	yu_copy(st->soundfont, sizeof(st->soundfont),
			yu_scalar(doc, yu_get(doc, node, "soundfont")));
	s = yu_scalar(doc, yu_get(doc, node, "program_num"));
	if (s && read_int(s, &st->program_num) != 0)
		return is_fail(err, errlen, "%s: stem %s: program_num \"%s\" is not a number",
					   path, id, s);
	st->is_drum = yu_bool(yu_scalar(doc, yu_get(doc, node, "is_drum"))) == 1;
	/* A stem without the flag predates it: its audio is expected to exist. */
	b = yu_bool(yu_scalar(doc, yu_get(doc, node, "audio_rendered")));
	st->audio_rendered = b != 0;
	if (!st->inst_class[0])
		return is_fail(err, errlen, "%s: stem %s has no inst_class", path, id);
	return 0;
}

static int
read_meta_doc(yaml_document_t *doc, slakh_meta *m, const char *path,
			  char *err, size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	yaml_node_t *stems = yu_get(doc, root, "stems");
	const char *s;
	size_t		n;

	yu_copy(m->uuid, sizeof(m->uuid), yu_scalar(doc, yu_get(doc, root, "UUID")));
	yu_copy(m->audio_dir, sizeof(m->audio_dir), yu_scalar(doc, yu_get(doc, root, "audio_dir")));
	if (!m->audio_dir[0])
		strcpy(m->audio_dir, "stems");
	yu_copy(m->midi_dir, sizeof(m->midi_dir), yu_scalar(doc, yu_get(doc, root, "midi_dir")));
	yu_copy(m->source, sizeof(m->source), yu_scalar(doc, yu_get(doc, root, "source")));
	m->normalized = yu_bool(yu_scalar(doc, yu_get(doc, root, "normalized"))) == 1;
	m->overall_gain = 1.0;
	s = yu_scalar(doc, yu_get(doc, root, "overall_gain"));
	if (s && *s)
	{
		char	   *end;

		m->overall_gain = strtod(s, &end);
		if (end == s || *end)
			return is_fail(err, errlen, "%s: overall_gain \"%s\" is not a number", path, s);
	}
	if (strstr(m->audio_dir, "..") || strchr(m->audio_dir, '/'))
		return is_fail(err, errlen, "%s: audio_dir \"%s\" must name a subdirectory",
					   path, m->audio_dir);
	if (!stems || stems->type != YAML_MAPPING_NODE)
		return is_fail(err, errlen, "%s: no \"stems\" mapping", path);
	n = (size_t) (stems->data.mapping.pairs.top - stems->data.mapping.pairs.start);
	m->stems = calloc(n ? n : 1, sizeof(slakh_stem));
	if (!m->stems)
		return is_fail(err, errlen, "%s: out of memory", path);
	for (size_t i = 0; i < n; i++)
	{
		yaml_node_pair_t *p = stems->data.mapping.pairs.start + i;
		const char *id = yu_scalar(doc, yaml_document_get_node(doc, p->key));

		if (!id || !*id || strchr(id, '/') || strstr(id, ".."))
			return is_fail(err, errlen, "%s: bad stem name", path);
		if (read_stem(doc, id, yaml_document_get_node(doc, p->value),
					  &m->stems[i], path, err, errlen) != 0)
			return -1;
		m->n_stems++;
	}
	return 0;
}

int
slakh_meta_read(const char *path, slakh_meta *m, char *err, size_t errlen)
{
	yaml_document_t doc;
	int			rc;

	memset(m, 0, sizeof(*m));
	if (yu_load(path, &doc, err, errlen) != 0)
		return -1;
	rc = read_meta_doc(&doc, m, path, err, errlen);
	yaml_document_delete(&doc);
	if (rc != 0)
		slakh_meta_free(m);
	return rc;
}

int
slakh_meta_write(const char *path, const slakh_meta *m, char *err, size_t errlen)
{
	yu_writer	w;

	if (yu_emit_begin(&w, path, err, errlen) != 0)
		return -1;
	/* Keys in sorted order, as Slakh's (PyYAML-written) files have them. */
	yu_map_start(&w);
	yu_str(&w, "UUID");
	yu_str(&w, m->uuid);
	yu_str(&w, "audio_dir");
	yu_str(&w, m->audio_dir[0] ? m->audio_dir : "stems");
	if (m->midi_dir[0])
	{
		yu_str(&w, "midi_dir");
		yu_str(&w, m->midi_dir);
	}
	yu_str(&w, "normalized");
	yu_boolv(&w, m->normalized);
	yu_str(&w, "overall_gain");
	yu_num(&w, m->overall_gain);
	if (m->source[0])
	{
		yu_str(&w, "source");
		yu_str(&w, m->source);
	}
	yu_str(&w, "stems");
	yu_map_start(&w);
	for (int i = 0; i < m->n_stems; i++)
	{
		const slakh_stem *st = &m->stems[i];

		yu_str(&w, st->id);
		yu_map_start(&w);
		yu_str(&w, "audio_rendered");
		yu_boolv(&w, st->audio_rendered);
		yu_str(&w, "inst_class");
		yu_str(&w, st->inst_class);
		yu_str(&w, "is_drum");
		yu_boolv(&w, st->is_drum);
		yu_str(&w, "midi_program_name");
		yu_str(&w, st->midi_program_name);
		yu_str(&w, "plugin_name");
		yu_str(&w, st->plugin_name);
		yu_str(&w, "program_num");
		yu_int(&w, st->program_num);
		if (st->soundfont[0])
		{
			yu_str(&w, "soundfont");
			yu_str(&w, st->soundfont);
		}
		yu_map_end(&w);
	}
	yu_map_end(&w);
	yu_map_end(&w);
	return yu_emit_end(&w, path, err, errlen);
}

void
slakh_meta_free(slakh_meta *m)
{
	free(m->stems);
	m->stems = NULL;
	m->n_stems = 0;
}

/* ---- track lists ----------------------------------------------------------- */

int
slakh_tracks_add(slakh_tracks *t, const char *name)
{
	char	  **names = realloc(t->names, sizeof(char *) * (size_t) (t->n + 1));

	if (!names)
		return -1;
	t->names = names;
	t->names[t->n] = strdup(name);
	if (!t->names[t->n])
		return -1;
	t->n++;
	return 0;
}

void
slakh_tracks_free(slakh_tracks *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->names[i]);
	free(t->names);
	t->names = NULL;
	t->n = 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Adds prefix/TrackX for every TrackX under dir that has a metadata file. */
static int
scan_dir(const char *dir, const char *prefix, slakh_tracks *t, char *err, size_t errlen)
{
	DIR		   *d = opendir(dir);
	struct dirent *e;
	char		path[PATH_MAX];
	char		name[PATH_MAX];
	struct stat sb;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
	{
		if (strncmp(e->d_name, "Track", 5) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/%s", dir, e->d_name, SLAKH_META_FILE) >= (int) sizeof(path) ||
			stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "/" : "", e->d_name);
		if (slakh_tracks_add(t, name) != 0)
		{
			closedir(d);
			return is_fail(err, errlen, "out of memory listing %s", dir);
		}
	}
	closedir(d);
	return 0;
}

int
slakh_list_tracks(const char *root, slakh_tracks *out, char *err, size_t errlen)
{
	char		dir[PATH_MAX];
	struct stat sb;

	memset(out, 0, sizeof(*out));
	if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return is_fail(err, errlen, "%s is not a directory", root);
	if (scan_dir(root, "", out, err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof(split_dirs) / sizeof(split_dirs[0]); i++)
	{
		snprintf(dir, sizeof(dir), "%s/%s", root, split_dirs[i]);
		if (scan_dir(dir, split_dirs[i], out, err, errlen) != 0)
			goto fail;
	}
	if (out->n > 1)
		qsort(out->names, (size_t) out->n, sizeof(char *), cmp_names);
	return 0;
fail:
	slakh_tracks_free(out);
	return -1;
}

/* ---- signals --------------------------------------------------------------- */

/* Zero-fills acc from *n up to m samples (nothing when it is that long). */
static int
grow(float **acc, size_t *n, size_t m)
{
	if (m > *n)
	{
		float	   *grown = realloc(*acc, sizeof(float) * m);

		if (!grown)
			return -1;
		memset(grown + *n, 0, sizeof(float) * (m - *n));
		*acc = grown;
		*n = m;
	}
	return 0;
}

/* acc[0..*n) += x[0..m), growing acc (zero-filled) when x is longer. */
static int
accumulate(float **acc, size_t *n, const float *x, size_t m)
{
	if (grow(acc, n, m) != 0)
		return -1;
	for (size_t i = 0; i < m; i++)
		(*acc)[i] += x[i];
	return 0;
}

/* Sums the rendered stems that feed inst (or, with others, all that do not). */
static int
load_stems(const char *track_dir, const slakh_meta *meta, slakh_inst inst, bool others,
		   float **x, size_t *n, char *err, size_t errlen)
{
	char		path[PATH_MAX];

	for (int i = 0; i < meta->n_stems; i++)
	{
		const slakh_stem *st = &meta->stems[i];
		float	   *y;
		size_t		m;
		int			rc;

		if (!st->audio_rendered || (slakh_inst_of_class(st->inst_class) == inst) == others)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/%s.flac", track_dir,
					 meta->audio_dir, st->id) >= (int) sizeof(path))
			return is_fail(err, errlen, "path too long under %s", track_dir);
		if (audio_read_mono(path, SLAKH_RATE, &y, &m, err, errlen) != 0)
			return -1;
		rc = accumulate(x, n, y, m);
		free(y);
		if (rc != 0)
			return is_fail(err, errlen, "out of memory summing stems of %s", track_dir);
	}
	return 0;
}

int
slakh_load(const char *track_dir, const slakh_meta *meta, slakh_inst inst,
		   float **x, size_t *n, char *err, size_t errlen)
{
	char		path[PATH_MAX];
	slakh_meta	own;
	int			rc;

	*x = NULL;
	*n = 0;
	if (inst < SLAKH_MIX || inst > SLAKH_OTHER)
		return is_fail(err, errlen, "no such instrument (%d)", (int) inst);
	if (inst == SLAKH_MIX)
	{
		if (snprintf(path, sizeof(path), "%s/%s", track_dir, SLAKH_MIX_FILE) >= (int) sizeof(path))
			return is_fail(err, errlen, "path too long: %s", track_dir);
		return audio_read_mono(path, SLAKH_RATE, x, n, err, errlen);
	}
	if (!meta)
	{
		if (snprintf(path, sizeof(path), "%s/%s", track_dir, SLAKH_META_FILE) >= (int) sizeof(path))
			return is_fail(err, errlen, "path too long: %s", track_dir);
		if (slakh_meta_read(path, &own, err, errlen) != 0)
			return -1;
		meta = &own;
	}
	rc = load_stems(track_dir, meta, inst, false, x, n, err, errlen);
	if (meta == &own)
		slakh_meta_free(&own);
	if (rc != 0)
	{
		free(*x);
		*x = NULL;
		*n = 0;
	}
	return rc;
}

int
slakh_load_split(const char *track_dir, const slakh_meta *meta, slakh_inst inst,
				 float **own, float **rest, size_t *n, char *err, size_t errlen)
{
	size_t		n_own = 0,
				n_rest = 0;
	int			rc;

	*own = *rest = NULL;
	*n = 0;
	if (inst <= SLAKH_MIX || inst >= SLAKH_N_INST)
		return is_fail(err, errlen, "no such instrument to split a track by (%d)", (int) inst);
	rc = load_stems(track_dir, meta, inst, false, own, &n_own, err, errlen);
	if (rc == 0)
		rc = load_stems(track_dir, meta, inst, true, rest, &n_rest, err, errlen);
	*n = n_own > n_rest ? n_own : n_rest;
	if (rc == 0 && *n > 0 && (grow(own, &n_own, *n) != 0 || grow(rest, &n_rest, *n) != 0))
		rc = is_fail(err, errlen, "out of memory summing stems of %s", track_dir);
	if (rc != 0)
	{
		free(*own);
		free(*rest);
		*own = *rest = NULL;
		*n = 0;
	}
	return rc;
}
