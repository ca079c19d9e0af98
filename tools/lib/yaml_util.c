#include "yaml_util.h"
#include "errbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
yu_load(const char *path, yaml_document_t *doc, char *err, size_t errlen)
{
	yaml_parser_t parser;
	FILE	   *f = fopen(path, "rb");
	yaml_node_t *root;

	if (!f)
		return is_fail(err, errlen, "cannot open %s", path);
	if (!yaml_parser_initialize(&parser))
	{
		fclose(f);
		return is_fail(err, errlen, "%s: out of memory", path);
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, doc))
	{
		is_fail(err, errlen, "%s:%zu: %s", path, parser.problem_mark.line + 1,
				parser.problem ? parser.problem : "YAML parse error");
		yaml_parser_delete(&parser);
		fclose(f);
		return -1;
	}
	yaml_parser_delete(&parser);
	fclose(f);
	root = yaml_document_get_root_node(doc);
	if (!root || root->type != YAML_MAPPING_NODE)
	{
		yaml_document_delete(doc);
		return is_fail(err, errlen, "%s: expected a YAML mapping at the top", path);
	}
	return 0;
}

const char *
yu_scalar(yaml_document_t *doc, yaml_node_t *node)
{
	(void) doc;
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *) node->data.scalar.value;
}

yaml_node_t *
yu_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
		 p < map->data.mapping.pairs.top; p++)
	{
		const char *k = yu_scalar(doc, yaml_document_get_node(doc, p->key));

		if (k && strcmp(k, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

int
yu_bool(const char *s)
{
	static const char *const yes[] = {"true", "yes", "on", "y"};
	static const char *const no[] = {"false", "no", "off", "n"};

	if (!s)
		return -1;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
	{
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static bool
is_null(const char *s)
{
	return !s || !*s || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0;
}

void
yu_copy(char *dst, size_t dstlen, const char *s)
{
	snprintf(dst, dstlen, "%s", is_null(s) ? "" : s);
}

static int
write_handler(void *data, unsigned char *buf, size_t size)
{
	return fwrite(buf, 1, size, (FILE *) data) == size;
}

static void
emit(yu_writer *w, yaml_event_t *ev, int ok)
{
	if (w->failed)
	{
		if (ok)
			yaml_event_delete(ev);
		return;
	}
	if (!ok || !yaml_emitter_emit(&w->emitter, ev))
		w->failed = true;
}

int
yu_emit_begin(yu_writer *w, const char *path, char *err, size_t errlen)
{
	yaml_event_t ev;

	memset(w, 0, sizeof(*w));
	w->file = fopen(path, "wb");
	if (!w->file)
		return is_fail(err, errlen, "cannot create %s", path);
	if (!yaml_emitter_initialize(&w->emitter))
	{
		fclose(w->file);
		return is_fail(err, errlen, "%s: out of memory", path);
	}
	yaml_emitter_set_output(&w->emitter, write_handler, w->file);
	yaml_emitter_set_unicode(&w->emitter, 1);
	emit(w, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	emit(w, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
	return 0;
}

int
yu_emit_end(yu_writer *w, const char *path, char *err, size_t errlen)
{
	yaml_event_t ev;
	bool		failed;

	emit(w, &ev, yaml_document_end_event_initialize(&ev, 1));
	emit(w, &ev, yaml_stream_end_event_initialize(&ev));
	if (!w->failed && !yaml_emitter_flush(&w->emitter))
		w->failed = true;
	failed = w->failed;
	yaml_emitter_delete(&w->emitter);
	if (fclose(w->file) != 0)
		failed = true;
	if (failed)
		return is_fail(err, errlen, "writing %s failed", path);
	return 0;
}

void
yu_map_start(yu_writer *w)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
													 YAML_BLOCK_MAPPING_STYLE));
}

void
yu_map_end(yu_writer *w)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_mapping_end_event_initialize(&ev));
}

void
yu_seq_start(yu_writer *w)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
													  YAML_BLOCK_SEQUENCE_STYLE));
}

void
yu_seq_end(yu_writer *w)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_sequence_end_event_initialize(&ev));
}

static void
scalar(yu_writer *w, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	emit(w, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL,
											  (yaml_char_t *) s, (int) strlen(s),
											  1, 1, style));
}

/* Would a YAML 1.1 reader resolve this plain scalar to something else than a string? */
static bool
looks_typed(const char *s)
{
	char	   *end;

	if (is_null(s) || yu_bool(s) >= 0)
		return true;
	strtod(s, &end);
	return end != s && *end == '\0';
}

void
yu_str(yu_writer *w, const char *s)
{
	scalar(w, s, looks_typed(s) ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
}

void
yu_int(yu_writer *w, long long v)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	scalar(w, buf, YAML_PLAIN_SCALAR_STYLE);
}

void
yu_uint(yu_writer *w, unsigned long long v)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	scalar(w, buf, YAML_PLAIN_SCALAR_STYLE);
}

void
yu_num(yu_writer *w, double v)
{
	char		buf[40];

	snprintf(buf, sizeof(buf), "%.17g", v);
	/* PyYAML needs a dot or exponent to read a float back as a float. */
	if (!strpbrk(buf, ".eEn"))
		strcat(buf, ".0");
	scalar(w, buf, YAML_PLAIN_SCALAR_STYLE);
}

void
yu_boolv(yu_writer *w, bool v)
{
	scalar(w, v ? "true" : "false", YAML_PLAIN_SCALAR_STYLE);
}
