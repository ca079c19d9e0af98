#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* memmem */
#endif
/*
 * The safetensors container of a model (format in model.h): strict parsing
 * of untrusted bytes, the whole-file checksum, and writing.
 */
#include "model.h"
#include "errmsg.h"
#include "model_meta.h"

#include <errno.h>
#include <math.h>
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEX_LEN 64


int
is_frontend_frames(const is_frontend *fe)
{
	long		samples = (long) (fe->segment_s * fe->sample_rate + 0.5);

	return (int) (samples / fe->hop_length + 1);
}

/* SHA-256 of buf with the HEX_LEN bytes at hex replaced by '0'. */
static void
file_digest(const unsigned char *buf, size_t len, const unsigned char *hex, char out[HEX_LEN + 1])
{
	static const unsigned char zeros[HEX_LEN] = {[0 ... HEX_LEN - 1] = '0'};
	struct sha256_ctx ctx;
	uint8_t		d[SHA256_DIGEST_SIZE];
	size_t		at = (size_t) (hex - buf);

	sha256_init(&ctx);
	sha256_update(&ctx, at, buf);
	sha256_update(&ctx, HEX_LEN, zeros);
	sha256_update(&ctx, len - at - HEX_LEN, buf + at + HEX_LEN);
	sha256_digest(&ctx, sizeof(d), d);
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- loading ----------------------------------------------------------- */

typedef struct span
{
	const char *name;
	uint64_t	begin, end;
} span;

static int
span_cmp(const void *a, const void *b)
{
	const span *x = a,
			   *y = b;

	return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

static int
dtype_size(const char *d)
{
	static const char *const names[] = {"F64", "I64", "U64", "F32", "I32", "U32", "F16", "BF16",
	"I16", "U16", "I8", "U8", "BOOL"};
	static const int sizes[] = {8, 8, 8, 4, 4, 4, 2, 2, 2, 2, 1, 1, 1};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (strcmp(d, names[i]) == 0)
			return sizes[i];
	return 0;
}

/* Checks one tensor entry of the header: dtype, shape, offsets; fills *s. */
static int
check_entry(const char *name, json_object *e, uint64_t data_len, span *s,
			const is_tensor *want, char *err, size_t errlen)
{
	json_object *dtype,
			   *shape,
			   *offs;
	uint64_t	count = 1;
	int			esize;
	size_t		nd;

	if (!json_object_is_type(e, json_type_object) ||
		!json_object_object_get_ex(e, "dtype", &dtype) || !json_object_is_type(dtype, json_type_string) ||
		!json_object_object_get_ex(e, "shape", &shape) || !json_object_is_type(shape, json_type_array) ||
		!json_object_object_get_ex(e, "data_offsets", &offs) || !json_object_is_type(offs, json_type_array) ||
		json_object_array_length(offs) != 2)
		return is_fail(err, errlen, "tensor %s: needs dtype, shape and data_offsets [begin, end]", name);
	esize = dtype_size(json_object_get_string(dtype));
	if (!esize)
		return is_fail(err, errlen, "tensor %s: unknown dtype %.20s", name, json_object_get_string(dtype));
	if (want && strcmp(json_object_get_string(dtype), "F32") != 0)
		return is_fail(err, errlen, "tensor %s: dtype %.20s, want F32", name, json_object_get_string(dtype));
	nd = json_object_array_length(shape);
	if (nd > 8 || (want && nd != (size_t) want->ndim))
		return is_fail(err, errlen, "tensor %s: %zu dimensions, want %d", name, nd, want ? want->ndim : 8);
	for (size_t d = 0; d < nd; d++)
	{
		json_object *v = json_object_array_get_idx(shape, d);
		int64_t		x = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;

		if (x < 0 || x > ((int64_t) 1 << 32) || (want && x != want->shape[d]))
			return is_fail(err, errlen, "tensor %s: dimension %zu is %lld, want %d", name, d,
						(long long) x, want ? want->shape[d] : 0);
		if (x > 0 && count > data_len / (uint64_t) x)
			return is_fail(err, errlen, "tensor %s: larger than the data section", name);
		count *= (uint64_t) x;
	}
	for (int i = 0; i < 2; i++)
	{
		json_object *v = json_object_array_get_idx(offs, i);
		int64_t		x = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;

		if (x < 0 || (uint64_t) x > data_len)
			return is_fail(err, errlen, "tensor %s: data offset %lld outside the %llu-byte data section",
						name, (long long) x, (unsigned long long) data_len);
		*(i ? &s->end : &s->begin) = (uint64_t) x;
	}
	if (s->end < s->begin || s->end - s->begin != count * esize)
		return is_fail(err, errlen, "tensor %s: data_offsets cover %lld bytes, shape needs %llu",
					name, (long long) (s->end - s->begin), (unsigned long long) (count * esize));
	s->name = name;
	return 0;
}

static void
read_f32(float *dst, const unsigned char *src, size_t count)
{
	for (size_t i = 0; i < count; i++, src += 4)
	{
		uint32_t	u = src[0] | (uint32_t) src[1] << 8 | (uint32_t) src[2] << 16 | (uint32_t) src[3] << 24;

		memcpy(&dst[i], &u, 4);
	}
}

/* Tensors of the header against the network; copies the data. */
static int
load_tensors(is_model *m, json_object *hdr, const unsigned char *data, uint64_t data_len,
			 char *err, size_t errlen)
{
	int			nt = is_net_tensor_count(&m->net);
	size_t		n_entries = (size_t) json_object_object_length(hdr);
	span	   *spans = calloc(n_entries ? n_entries : 1, sizeof(span));
	char	   *found = calloc(nt ? nt : 1, 1);
	size_t		ns = 0;
	int			rc = spans && found ? 0 : is_fail(err, errlen, "out of memory");

	json_object_object_foreach(hdr, name, e)
	{
		is_tensor	t;
		int			idx = -1;

		if (rc || strcmp(name, "__metadata__") == 0)
			continue;
		for (int i = 0; i < nt && idx < 0; i++)
			if (is_net_tensor(&m->net, i, &t) == 0 && strcmp(t.name, name) == 0)
				idx = i;
		if (idx < 0 && !(strlen(name) > 20 && strcmp(name + strlen(name) - 20, ".num_batches_tracked") == 0))
			rc = is_fail(err, errlen, "unexpected tensor \"%.40s\" (not in the layer table)", name);
		else
			rc = check_entry(name, e, data_len, &spans[ns++], idx < 0 ? NULL : &t, err, errlen);
		if (rc == 0 && idx >= 0)
		{
			found[idx] = 1;
			read_f32(t.data, data + spans[ns - 1].begin, t.count);
			for (size_t k = 0; rc == 0 && k < t.count; k++)
				if (!isfinite(t.data[k]))
					rc = is_fail(err, errlen, "tensor %s: element %zu is not finite", name, k);
		}
	}
	for (int i = 0; rc == 0 && i < nt; i++)
	{
		is_tensor	t;

		is_net_tensor(&m->net, i, &t);
		if (!found[i])
			rc = is_fail(err, errlen, "tensor %s is missing", t.name);
	}
	if (rc == 0)
	{
		uint64_t	at = 0;

		/* safetensors: the data section is covered exactly, without holes or overlaps */
		qsort(spans, ns, sizeof(span), span_cmp);
		for (size_t i = 0; rc == 0 && i < ns; i++)
		{
			if (spans[i].begin != at)
				rc = is_fail(err, errlen, "tensor %s: starts at byte %llu, expected %llu (overlap or hole)",
						  spans[i].name, (unsigned long long) spans[i].begin, (unsigned long long) at);
			at = spans[i].end;
		}
		if (rc == 0 && at != data_len)
			rc = is_fail(err, errlen, "the data section has %llu bytes, the tensors cover %llu",
					  (unsigned long long) data_len, (unsigned long long) at);
	}
	free(spans);
	free(found);
	return rc;
}

/* Locates the checksum value inside the raw header and verifies the file. */
static int
check_digest(is_model *m, const unsigned char *buf, size_t len, size_t hlen, const char *hex,
			 char *err, size_t errlen)
{
	const unsigned char *hdr = buf + 8;
	const unsigned char *at = NULL;
	char		got[HEX_LEN + 1];

	if (strlen(hex) != HEX_LEN || strspn(hex, "0123456789abcdef") != HEX_LEN)
		return is_fail(err, errlen, "metadata sha256 must be 64 lowercase hex digits");
	for (size_t i = 0; i + HEX_LEN + 2 <= hlen; i++)
		if (hdr[i] == '"' && hdr[i + HEX_LEN + 1] == '"' && memcmp(hdr + i + 1, hex, HEX_LEN) == 0)
		{
			if (at)
				return is_fail(err, errlen, "the sha256 value appears twice in the header");
			at = hdr + i + 1;
		}
	if (!at)
		return is_fail(err, errlen, "the sha256 value is escaped in the header; rewrite the file");
	file_digest(buf, len, at, got);
	if (strcmp(got, hex) != 0)
		return is_fail(err, errlen, "checksum mismatch: the file says sha256 %.12s..., its content hashes to %.12s...",
					hex, got);
	memcpy(m->sha256, hex, HEX_LEN + 1);
	return 0;
}

int
is_model_load(is_model *m, const void *buffer, size_t len, char *err, size_t errlen)
{
	const unsigned char *buf = buffer;
	uint64_t	hlen = 0;
	json_object *hdr,
			   *meta;
	int			rc;

	memset(m, 0, sizeof(*m));
	if (len < 8)
		return is_fail(err, errlen, "truncated model: %zu bytes, less than the 8-byte header length", len);
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | buf[i];
	if (hlen < 2 || hlen > IS_MODEL_MAX_HEADER || hlen > len - 8)
		return is_fail(err, errlen, "header length %llu is impossible for a %zu-byte file (limit %zu)",
					(unsigned long long) hlen, len, IS_MODEL_MAX_HEADER);
	if (buf[8] != '{')
		return is_fail(err, errlen, "the header does not start with '{': not a safetensors file");
	hdr = is_json_parse((const char *) buf + 8, hlen, err, errlen);
	if (!hdr)
		return -1;
	if (!json_object_is_type(hdr, json_type_object) ||
		!json_object_object_get_ex(hdr, "__metadata__", &meta) || !json_object_is_type(meta, json_type_object))
		rc = is_fail(err, errlen, "the header has no __metadata__ object: not an instsim model");
	else
	{
		json_object *sha;

		rc = is_meta_decode(m, meta, err, errlen);
		if (rc == 0)
			rc = load_tensors(m, hdr, buf + 8 + hlen, len - 8 - hlen, err, errlen);
		if (rc == 0 && (!json_object_object_get_ex(meta, "sha256", &sha) || !json_object_is_type(sha, json_type_string)))
			rc = is_fail(err, errlen, "metadata key \"sha256\" is missing or not a string");
		if (rc == 0)
			rc = check_digest(m, buf, len, hlen, json_object_get_string(sha), err, errlen);
	}
	json_object_put(hdr);
	if (rc)
		is_model_free(m);
	return rc;
}

/* ---- writing ----------------------------------------------------------- */

static json_object *
build_header(is_model *m, size_t *data_len, char *err, size_t errlen)
{
	json_object *hdr = json_object_new_object();
	json_object *meta = json_object_new_object();
	char		zeros[HEX_LEN + 1];
	uint64_t	at = 0;

	memset(zeros, '0', HEX_LEN);
	zeros[HEX_LEN] = '\0';
	if (!hdr || !meta || is_meta_encode(m, meta, err, errlen) < 0 ||
		json_object_object_add(meta, "sha256", json_object_new_string(zeros)) < 0 ||
		json_object_object_add(hdr, "__metadata__", meta) < 0)
	{
		json_object_put(hdr);
		return is_fail(err, errlen, "out of memory"), NULL;
	}
	for (int i = 0; i < is_net_tensor_count(&m->net); i++)
	{
		is_tensor	t;
		json_object *e = json_object_new_object();
		json_object *shape = json_object_new_array();
		json_object *offs = json_object_new_array();

		is_net_tensor(&m->net, i, &t);
		for (int d = 0; d < t.ndim; d++)
			json_object_array_add(shape, json_object_new_int(t.shape[d]));
		json_object_array_add(offs, json_object_new_int64((int64_t) at));
		at += t.count * 4;
		json_object_array_add(offs, json_object_new_int64((int64_t) at));
		json_object_object_add(e, "dtype", json_object_new_string("F32"));
		json_object_object_add(e, "shape", shape);
		json_object_object_add(e, "data_offsets", offs);
		json_object_object_add(hdr, t.name, e);
	}
	*data_len = at;
	return hdr;
}

int
is_model_save(is_model *m, unsigned char **out, size_t *out_len, char *err, size_t errlen)
{
	size_t		data_len;
	json_object *hdr = m->net.params ? build_header(m, &data_len, err, errlen) : NULL;
	const char *text;
	size_t		tlen,
				hlen,
				len;
	unsigned char *buf,
			   *p,
			   *hex;

	if (!m->net.params)
		return is_fail(err, errlen, "the model has no parameters (is_net_init not called)");
	if (!hdr)
		return -1;
	text = json_object_to_json_string_ext(hdr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	tlen = strlen(text);
	hlen = (tlen + 7) & ~(size_t) 7;	/* spaces pad the data section to 8-byte alignment */
	len = 8 + hlen + data_len;
	buf = malloc(len);
	if (!buf)
	{
		json_object_put(hdr);
		return is_fail(err, errlen, "out of memory for a %zu-byte model", len);
	}
	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char) ((uint64_t) hlen >> (8 * i));
	memcpy(buf + 8, text, tlen);
	memset(buf + 8 + tlen, ' ', hlen - tlen);
	json_object_put(hdr);
	p = buf + 8 + hlen;
	for (int i = 0; i < is_net_tensor_count(&m->net); i++)
	{
		is_tensor	t;

		is_net_tensor(&m->net, i, &t);
		for (size_t k = 0; k < t.count; k++)
		{
			uint32_t	u;

			memcpy(&u, &t.data[k], 4);
			for (int b = 0; b < 4; b++)
				*p++ = (unsigned char) (u >> (8 * b));
		}
	}
	hex = memmem(buf + 8, hlen, "\"sha256\":\"", 10);
	if (!hex)
	{
		free(buf);
		return is_fail(err, errlen, "internal error: checksum placeholder not found");
	}
	hex += 10;
	file_digest(buf, len, hex, m->sha256);
	memcpy(hex, m->sha256, HEX_LEN);
	*out = buf;
	*out_len = len;
	return 0;
}

int
is_model_load_file(is_model *m, const char *path, char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long		len;
	int			rc;

	memset(m, 0, sizeof(*m));
	if (!f)
		return is_fail(err, errlen, "%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
		!(buf = malloc(len ? (size_t) len : 1)) || fread(buf, 1, (size_t) len, f) != (size_t) len)
		rc = is_fail(err, errlen, "%s: cannot read", path);
	else
		rc = is_model_load(m, buf, (size_t) len, err, errlen);
	free(buf);
	fclose(f);
	return rc;
}

int
is_model_save_file(is_model *m, const char *path, char *err, size_t errlen)
{
	unsigned char *buf;
	size_t		len;
	FILE	   *f;
	int			rc = 0;

	if (is_model_save(m, &buf, &len, err, errlen) < 0)
		return -1;
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len)
		rc = is_fail(err, errlen, "%s: %s", path, strerror(errno));
	if (f && fclose(f) != 0 && rc == 0)
		rc = is_fail(err, errlen, "%s: %s", path, strerror(errno));
	free(buf);
	return rc;
}

void
is_model_free(is_model *m)
{
	is_net_free(&m->net);
}
