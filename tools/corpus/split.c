#include "split.h"
#include "errbuf.h"
#include "yaml_util.h"

#include <stdlib.h>
#include <string.h>

static const char *const list_keys[] = {"train", "test", "excluded"};

static slakh_tracks *
list_of(corpus_split *s, int k)
{
	return k == 0 ? &s->train : k == 1 ? &s->test : &s->excluded;
}

static int
read_list(yaml_document_t *doc, yaml_node_t *seq, slakh_tracks *t,
		  const char *key, const char *path, char *err, size_t errlen)
{
	if (!seq)
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return is_fail(err, errlen, "%s: \"%s\" must be a list of track paths", path, key);
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
		 it < seq->data.sequence.items.top; it++)
	{
		const char *name = yu_scalar(doc, yaml_document_get_node(doc, *it));

		if (!name || !*name || strstr(name, ".."))
			return is_fail(err, errlen, "%s: bad track path in \"%s\"", path, key);
		if (slakh_tracks_add(t, name) != 0)
			return is_fail(err, errlen, "out of memory reading %s", path);
	}
	return 0;
}

int
split_read(const char *path, corpus_split *s, char *err, size_t errlen)
{
	yaml_document_t doc;
	yaml_node_t *root;
	const char *v;
	int			rc = 0;

	memset(s, 0, sizeof(*s));
	if (yu_load(path, &doc, err, errlen) != 0)
		return -1;
	root = yaml_document_get_root_node(&doc);
	if ((v = yu_scalar(&doc, yu_get(&doc, root, "min_segments"))) != NULL)
		s->min_segments = atoi(v);
	if ((v = yu_scalar(&doc, yu_get(&doc, root, "seed"))) != NULL)
		s->seed = strtoull(v, NULL, 10);
	for (int k = 0; k < 3 && rc == 0; k++)
		rc = read_list(&doc, yu_get(&doc, root, list_keys[k]), list_of(s, k),
					   list_keys[k], path, err, errlen);
	yaml_document_delete(&doc);
	if (rc == 0 && s->train.n + s->test.n == 0)
		rc = is_fail(err, errlen, "%s: no train or test tracks", path);
	if (rc != 0)
		split_free(s);
	return rc;
}

int
split_write(const char *path, const corpus_split *s, char *err, size_t errlen)
{
	yu_writer	w;

	if (yu_emit_begin(&w, path, err, errlen) != 0)
		return -1;
	yu_map_start(&w);
	yu_str(&w, "min_segments");
	yu_int(&w, s->min_segments);
	yu_str(&w, "seed");
	yu_uint(&w, (unsigned long long) s->seed);
	for (int k = 0; k < 3; k++)
	{
		const slakh_tracks *t = list_of((corpus_split *) s, k);

		yu_str(&w, list_keys[k]);
		yu_seq_start(&w);
		for (int i = 0; i < t->n; i++)
			yu_str(&w, t->names[i]);
		yu_seq_end(&w);
	}
	yu_map_end(&w);
	return yu_emit_end(&w, path, err, errlen);
}

void
split_free(corpus_split *s)
{
	slakh_tracks_free(&s->train);
	slakh_tracks_free(&s->test);
	slakh_tracks_free(&s->excluded);
}
