/*
 * Model metadata: instrument, front-end parameters, input shape, layer table
 * and embedding size as the string values of the safetensors "__metadata__"
 * map (nested values are JSON text, since safetensors metadata is a map of
 * strings).  Decoding trusts nothing: every value is type- and range-checked.
 */
#include "model_meta.h"
#include "errmsg.h"
#include "names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The front-end fields, so encoding and decoding cannot drift apart. */
typedef struct fe_field
{
	const char *name;
	size_t		off;
	int			is_int;
	double		lo, hi;
} fe_field;

#define FE_INT(f, lo, hi) {#f, offsetof(is_frontend, f), 1, lo, hi}
#define FE_DBL(f, lo, hi) {#f, offsetof(is_frontend, f), 0, lo, hi}

static const fe_field fe_fields[] = {
	FE_INT(sample_rate, 1000, 384000),
	FE_DBL(segment_s, 0.01, 60.0),
	FE_DBL(hop_s, 0.01, 60.0),
	FE_DBL(silence_dbfs, -200.0, 0.0),
	FE_INT(n_fft, 16, 65536),
	FE_INT(hop_length, 1, 65536),
	FE_INT(n_mels, 1, 1024),
	FE_DBL(f_min, 0.0, 192000.0),
	FE_DBL(f_max, 0.0, 192000.0),
	FE_DBL(log_offset, 1e-30, 1.0),
};

#define N_FE_FIELDS (sizeof(fe_fields) / sizeof(fe_fields[0]))

static const char *const input_names[] = {"stem", "mix"};

const char *
is_input_kind_name(is_input_kind k)
{
	return is_name_of(input_names, IS_N_NAMES(input_names), (int) k);
}

int
is_input_kind_parse(const char *name, is_input_kind *k)
{
	int			i = is_name_index(input_names, IS_N_NAMES(input_names), name);

	if (i >= 0)
		*k = (is_input_kind) i;
	return i < 0 ? -1 : 0;
}

json_object *
is_json_parse(const char *s, size_t len, char *err, size_t errlen)
{
	json_tokener *tok;
	json_object *obj;
	size_t		end;

	if (len > (size_t) 0x7fffffff || memchr(s, '\0', len))
		return is_fail(err, errlen, "JSON text contains a NUL byte or is too long"), NULL;
	tok = json_tokener_new_ex(32);
	if (!tok)
		return is_fail(err, errlen, "out of memory"), NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	obj = json_tokener_parse_ex(tok, s, (int) len);
	if (!obj)
	{
		enum json_tokener_error e = json_tokener_get_error(tok);

		is_fail(err, errlen, "malformed JSON at byte %zu: %s", json_tokener_get_parse_end(tok),
			 e == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(e));
		json_tokener_free(tok);
		return NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; end < len; end++)
		if (!strchr(" \t\r\n", s[end]))
		{
			json_object_put(obj);
			return is_fail(err, errlen, "unexpected text after the JSON value at byte %zu", end), NULL;
		}
	return obj;
}

static int
add_json(json_object *meta, const char *key, json_object *val)
{
	const char *s = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int			rc = s ? json_object_object_add(meta, key, json_object_new_string(s)) : -1;

	json_object_put(val);
	return rc;
}

static int
add_int(json_object *meta, const char *key, int v)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%d", v);
	return json_object_object_add(meta, key, json_object_new_string(buf));
}

int
is_meta_encode(const is_model *m, json_object *meta, char *err, size_t errlen)
{
	const is_net *net = &m->net;
	json_object *fe = json_object_new_object();
	json_object *shape = json_object_new_array();
	json_object *layers = json_object_new_array();
	int			rc = 0;

	for (size_t i = 0; i < N_FE_FIELDS; i++)
	{
		const char *p = (const char *) &m->fe + fe_fields[i].off;

		json_object_object_add(fe, fe_fields[i].name, fe_fields[i].is_int ?
							   json_object_new_int(*(const int *) p) :
							   json_object_new_double(*(const double *) p));
	}
	json_object_array_add(shape, json_object_new_int(net->in_c));
	json_object_array_add(shape, json_object_new_int(net->in_h));
	json_object_array_add(shape, json_object_new_int(net->in_w));
	for (int i = 0; i < net->n_layers; i++)
	{
		const is_layer *l = &net->layers[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "type", json_object_new_string(is_layer_kind_name(l->kind)));
		if (l->kind == IS_LAYER_CONV3X3 || l->kind == IS_LAYER_LINEAR)
			json_object_object_add(o, "out", json_object_new_int(l->out));
		if (l->kind == IS_LAYER_BATCHNORM)
		{
			char		eps[32];

			/* shortest text that reads back as the same float: 1e-05, not 9.99999975e-06 */
			for (int prec = 1; prec <= 9; prec++)
				if (snprintf(eps, sizeof(eps), "%.*g", prec, l->eps), strtof(eps, NULL) == l->eps)
					break;
			json_object_object_add(o, "eps", json_object_new_double_s(l->eps, eps));
		}
		json_object_array_add(layers, o);
	}
	rc |= json_object_object_add(meta, "format", json_object_new_string(IS_MODEL_FORMAT));
	rc |= add_int(meta, "format_version", IS_MODEL_VERSION);
	rc |= json_object_object_add(meta, "instrument", json_object_new_string(m->instrument));
	if (m->input != IS_INPUT_STEM)
		rc |= json_object_object_add(meta, "input", json_object_new_string(is_input_kind_name(m->input)));
	rc |= add_json(meta, "frontend", fe);
	rc |= add_json(meta, "input_shape", shape);
	rc |= add_json(meta, "layers", layers);
	rc |= add_int(meta, "embedding_dim", is_net_out_dim(net));
	return rc ? is_fail(err, errlen, "out of memory") : 0;
}

/* ---- decoding ---------------------------------------------------------- */

static const char *
meta_string(json_object *meta, const char *key, char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(meta, key, &v) || !json_object_is_type(v, json_type_string))
		return is_fail(err, errlen, "metadata key \"%s\" is missing or not a string", key), NULL;
	return json_object_get_string(v);
}

/* A JSON integer in [lo, hi]. */
static int
json_int(json_object *v, long lo, long hi, int *out)
{
	int64_t		x;

	if (!v || !json_object_is_type(v, json_type_int))
		return -1;
	x = json_object_get_int64(v);
	if (x < lo || x > hi)
		return -1;
	*out = (int) x;
	return 0;
}

static int
decode_frontend(is_frontend *fe, const char *text, char *err, size_t errlen)
{
	json_object *o = is_json_parse(text, strlen(text), err, errlen);
	int			rc = 0;

	if (!o)
		return -1;
	if (!json_object_is_type(o, json_type_object))
		rc = is_fail(err, errlen, "metadata frontend is not a JSON object");
	for (size_t i = 0; rc == 0 && i < N_FE_FIELDS; i++)
	{
		const fe_field *f = &fe_fields[i];
		char	   *p = (char *) fe + f->off;
		json_object *v;
		double		d;

		if (!json_object_object_get_ex(o, f->name, &v))
			rc = is_fail(err, errlen, "metadata frontend lacks %s", f->name);
		else if (f->is_int)
		{
			if (json_int(v, (long) f->lo, (long) f->hi, (int *) p) < 0)
				rc = is_fail(err, errlen, "frontend %s must be an integer in %g..%g", f->name, f->lo, f->hi);
		}
		else if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
			rc = is_fail(err, errlen, "frontend %s must be a number", f->name);
		else if (d = json_object_get_double(v), !(d >= f->lo && d <= f->hi))
			rc = is_fail(err, errlen, "frontend %s = %g is outside %g..%g", f->name, d, f->lo, f->hi);
		else
			*(double *) p = d;
	}
	if (rc == 0 && !(fe->f_max > fe->f_min && fe->hop_length <= fe->n_fft))
		rc = is_fail(err, errlen, "frontend needs f_min < f_max and hop_length <= n_fft");
	if (rc == 0 && fe->f_max > fe->sample_rate / 2.0)
		rc = is_fail(err, errlen, "frontend f_max = %g is above the Nyquist frequency %g of sample_rate %d",
					 fe->f_max, fe->sample_rate / 2.0, fe->sample_rate);
	json_object_put(o);
	return rc;
}

static int
decode_layer(is_layer *l, json_object *o, int i, char *err, size_t errlen)
{
	json_object *v;

	memset(l, 0, sizeof(*l));
	if (!json_object_is_type(o, json_type_object) ||
		!json_object_object_get_ex(o, "type", &v) || !json_object_is_type(v, json_type_string) ||
		is_layer_kind_parse(json_object_get_string(v), &l->kind) < 0)
		return is_fail(err, errlen, "layer %d: not an object with a known \"type\"", i);
	if (l->kind == IS_LAYER_CONV3X3 || l->kind == IS_LAYER_LINEAR)
	{
		json_object_object_get_ex(o, "out", &v);
		if (json_int(v, 1, 65536, &l->out) < 0)
			return is_fail(err, errlen, "layer %d: \"out\" must be an integer in 1..65536", i);
	}
	if (l->kind == IS_LAYER_BATCHNORM)
	{
		if (!json_object_object_get_ex(o, "eps", &v) ||
			!(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
			return is_fail(err, errlen, "layer %d: batchnorm needs a numeric \"eps\"", i);
		l->eps = (float) json_object_get_double(v);
	}
	return 0;
}

static int
decode_layers(is_net *net, const char *shape_text, const char *layers_text, char *err, size_t errlen)
{
	json_object *shape = is_json_parse(shape_text, strlen(shape_text), err, errlen);
	json_object *layers = shape ? is_json_parse(layers_text, strlen(layers_text), err, errlen) : NULL;
	int			rc = shape && layers ? 0 : -1;

	memset(net, 0, sizeof(*net));
	if (rc == 0 && (!json_object_is_type(shape, json_type_array) || json_object_array_length(shape) != 3 ||
					json_int(json_object_array_get_idx(shape, 0), 1, 4096, &net->in_c) < 0 ||
					json_int(json_object_array_get_idx(shape, 1), 1, 4096, &net->in_h) < 0 ||
					json_int(json_object_array_get_idx(shape, 2), 1, 4096, &net->in_w) < 0))
		rc = is_fail(err, errlen, "metadata input_shape must be [channels, height, width] in 1..4096");
	if (rc == 0 && (!json_object_is_type(layers, json_type_array) ||
					json_object_array_length(layers) < 1 ||
					json_object_array_length(layers) > IS_NET_MAX_LAYERS))
		rc = is_fail(err, errlen, "metadata layers must be an array of 1..%d layers", IS_NET_MAX_LAYERS);
	if (rc == 0)
		net->n_layers = (int) json_object_array_length(layers);
	for (int i = 0; rc == 0 && i < net->n_layers; i++)
		rc = decode_layer(&net->layers[i], json_object_array_get_idx(layers, i), i, err, errlen);
	if (rc == 0)
		rc = is_net_init(net, err, errlen);
	json_object_put(shape);
	json_object_put(layers);
	return rc;
}

int
is_meta_decode(is_model *m, json_object *meta, char *err, size_t errlen)
{
	const char *s;
	int			dim;

	if (!(s = meta_string(meta, "format", err, errlen)))
		return -1;
	if (strcmp(s, IS_MODEL_FORMAT) != 0)
		return is_fail(err, errlen, "metadata format is \"%.40s\", not \"%s\"", s, IS_MODEL_FORMAT);
	if (!(s = meta_string(meta, "format_version", err, errlen)))
		return -1;
	if (strcmp(s, "1") != 0)
		return is_fail(err, errlen, "unsupported format_version \"%.20s\" (this build reads 1)", s);
	if (!(s = meta_string(meta, "instrument", err, errlen)))
		return -1;
	if (!*s || strlen(s) >= sizeof(m->instrument))
		return is_fail(err, errlen, "instrument name must have 1..%d characters", IS_MODEL_INSTRUMENT_LEN - 1);
	strcpy(m->instrument, s);
	m->input = IS_INPUT_STEM;
	if (json_object_object_get_ex(meta, "input", NULL))
	{
		if (!(s = meta_string(meta, "input", err, errlen)))
			return -1;
		if (is_input_kind_parse(s, &m->input) < 0)
			return is_fail(err, errlen, "metadata input is \"%.20s\", not \"stem\" or \"mix\"", s);
	}
	if (!(s = meta_string(meta, "frontend", err, errlen)) || decode_frontend(&m->fe, s, err, errlen) < 0)
		return -1;
	{
		const char *shape = meta_string(meta, "input_shape", err, errlen);
		const char *layers = shape ? meta_string(meta, "layers", err, errlen) : NULL;

		if (!layers || decode_layers(&m->net, shape, layers, err, errlen) < 0)
			return -1;
	}
	if (!(s = meta_string(meta, "embedding_dim", err, errlen)))
		return -1;
	dim = atoi(s);
	if (dim != is_net_out_dim(&m->net) || strspn(s, "0123456789") != strlen(s))
		return is_fail(err, errlen, "embedding_dim \"%.20s\" does not match the layer table's %d outputs",
					s, is_net_out_dim(&m->net));
	if (m->net.in_h != m->fe.n_mels || m->net.in_w != is_frontend_frames(&m->fe))
		return is_fail(err, errlen, "input_shape %dx%d does not match the front end's %d mels x %d frames",
					m->net.in_h, m->net.in_w, m->fe.n_mels, is_frontend_frames(&m->fe));
	return 0;
}
