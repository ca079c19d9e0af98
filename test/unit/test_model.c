/*
 * Model files: write/load round trip, and every validation error of the
 * loader (truncation, flipped bytes, wrong dtype or shape, bad JSON, bad
 * header length, inconsistent metadata, checksum), and is_model_check's
 * limits and probe.
 */
#define _GNU_SOURCE				/* memmem in model_edit.h */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_check.h"
#include "model_edit.h"
#include "nn_synth.h"
#include "tap.h"

static unsigned char *model_buf;
static size_t model_len;

static int
params_equal(const is_net *a, const is_net *b)
{
	return a->n_floats == b->n_floats &&
		memcmp(a->params, b->params, a->n_floats * sizeof(float)) == 0;
}

static void
test_round_trip(const is_model *orig)
{
	is_model	m;
	char		err[256] = "";
	char		path[] = "/tmp/instsim_test_model_XXXXXX";
	int			fd = mkstemp(path);
	int			same_layers = 1;

	tap_ok(is_model_load(&m, model_buf, model_len, err, sizeof(err)) == 0, "load what save wrote: %s", err);
	tap_ok(params_equal(&m.net, &orig->net), "every parameter survives bit for bit");
	tap_ok(strcmp(m.instrument, "drums") == 0 && strcmp(m.sha256, orig->sha256) == 0,
		   "instrument and checksum survive");
	tap_ok(memcmp(&m.fe, &orig->fe, sizeof(m.fe)) == 0, "front-end parameters survive");
	for (int i = 0; i < orig->net.n_layers; i++)
		same_layers &= m.net.layers[i].kind == orig->net.layers[i].kind &&
			m.net.layers[i].out == orig->net.layers[i].out && m.net.layers[i].eps == orig->net.layers[i].eps;
	tap_ok(m.net.n_layers == orig->net.n_layers && same_layers, "layer table survives");
	tap_ok(model_len % 8 == 0 && (edit_hlen(model_buf) % 8) == 0, "data section is 8-byte aligned");
	is_model_free(&m);

	close(fd);
	tap_ok(is_model_save_file(&m, path, err, sizeof(err)) < 0, "saving a model without parameters is an error: %s", err);
	{
		is_model	copy = *orig;

		tap_ok(is_model_save_file(&copy, path, err, sizeof(err)) == 0 &&
			   is_model_load_file(&m, path, err, sizeof(err)) == 0 && params_equal(&m.net, &orig->net),
			   "file round trip: %s", err);
		is_model_free(&m);
	}
	unlink(path);
	tap_ok(is_model_load_file(&m, "/nonexistent/model.safetensors", err, sizeof(err)) < 0 &&
		   strstr(err, "No such file"), "missing file: %s", err);
}

static void
expect_fail(const unsigned char *buf, size_t len, const char *want, const char *what)
{
	is_model	m;
	char		err[256] = "";
	int			rc = is_model_load(&m, buf, len, err, sizeof(err));

	tap_ok(rc < 0 && (!want || strstr(err, want)), "%s: %s", what, err);
	is_model_free(&m);
}

static void
expect_edit_fail(const char *from, const char *to, const char *want, const char *what)
{
	size_t		len;
	unsigned char *buf = edit_header(model_buf, model_len, from, to, &len);

	if (!buf)
	{
		tap_ok(0, "%s: \"%s\" not found in the header", what, from);
		return;
	}
	expect_fail(buf, len, want, what);
	free(buf);
}

/*
 * The input kind: a stem model's file has no "input" key (so files written
 * before it existed read as stems, and stem files stay byte-identical); a mix
 * model's round-trips; an unknown kind is refused.
 */
static void
test_input_kind(const is_model *orig)
{
	is_model	copy = *orig,
				m;
	unsigned char *buf = NULL;
	size_t		len = 0;
	char		err[256] = "";

	tap_ok(!memmem(model_buf + 8, edit_hlen(model_buf), "\"input\":", 8) &&
		   is_model_load(&m, model_buf, model_len, err, sizeof(err)) == 0 && m.input == IS_INPUT_STEM,
		   "a stem model's file has no input key and reads as stem: %s", err);
	is_model_free(&m);
	copy.input = IS_INPUT_MIX;
	tap_ok(is_model_save(&copy, &buf, &len, err, sizeof(err)) == 0 &&
		   memmem(buf + 8, edit_hlen(buf), "\"input\":\"mix\"", 13) &&
		   is_model_load(&m, buf, len, err, sizeof(err)) == 0 && m.input == IS_INPUT_MIX &&
		   strcmp(m.instrument, "drums") == 0 && params_equal(&m.net, &orig->net),
		   "a mix model round-trips with its input kind: %s", err);
	is_model_free(&m);
	if (buf)
	{
		size_t		elen;
		unsigned char *bad = edit_header(buf, len, "\"input\":\"mix\"", "\"input\":\"mux\"", &elen);

		expect_fail(bad, elen, "not \"stem\" or \"mix\"", "unknown input kind");
		free(bad);
		bad = edit_header(buf, len, "\"input\":\"mix\"", "\"input\":3", &elen);
		expect_fail(bad, elen, "input", "input kind not a string");
		free(bad);
	}
	free(buf);
	tap_ok(strcmp(is_input_kind_name(IS_INPUT_MIX), "mix") == 0 &&
		   strcmp(is_input_kind_name(IS_INPUT_STEM), "stem") == 0, "input kind names");
}

static void
test_truncation(void)
{
	size_t		hlen = edit_hlen(model_buf);
	size_t		cuts[] = {0, 1, 7, 8, 9, 100, 8 + hlen / 2, 8 + hlen - 1, 8 + hlen, 8 + hlen + 1,
	8 + hlen + 4, model_len / 2, model_len - 4, model_len - 1};
	int			all = 1;

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
	{
		char		what[64];

		snprintf(what, sizeof(what), "truncated to %zu of %zu bytes", cuts[i], model_len);
		expect_fail(model_buf, cuts[i], NULL, what);
	}
	/* and every 509th length, silently */
	for (size_t cut = 0; cut < model_len; cut += 509)
	{
		is_model	m;
		char		err[256];

		all &= is_model_load(&m, model_buf, cut, err, sizeof(err)) < 0;
		is_model_free(&m);
	}
	tap_ok(all, "every 509th truncation is an error");
}

static void
test_flips(void)
{
	size_t		hlen = edit_hlen(model_buf);
	unsigned char *buf = malloc(model_len);
	int			header_ok = 1,
				data_ok = 1;

	for (size_t at = 8; at < model_len; at += at < 8 + hlen ? 7 : 4099)
	{
		is_model	m;
		char		err[256];

		memcpy(buf, model_buf, model_len);
		buf[at] ^= 0x10;
		if (is_model_load(&m, buf, model_len, err, sizeof(err)) == 0)
			*(at < 8 + hlen ? &header_ok : &data_ok) = 0;
		is_model_free(&m);
	}
	tap_ok(header_ok, "a flipped bit anywhere in the header (every 7th byte) is an error");
	tap_ok(data_ok, "a flipped bit in the tensor data (every 4099th byte) is an error");
	memcpy(buf, model_buf, model_len);
	buf[model_len - 1] ^= 1;
	expect_fail(buf, model_len, "checksum mismatch", "last data byte flipped");
	free(buf);
}

static void
test_header_edits(void)
{
	/* header text replaced (checksum recomputed) -> error message containing want */
	static const struct
	{
		const char *from,
				   *to,
				   *want,
				   *what;
	}			edits[] = {
		{"\"0.bias\":{\"dtype\":\"F32\"", "\"0.bias\":{\"dtype\":\"I32\"", "want F32", "wrong dtype"},
		{"\"0.bias\":{\"dtype\":\"F32\"", "\"0.bias\":{\"dtype\":\"Q7\"", "unknown dtype", "unknown dtype"},
		{"\"shape\":[16],\"data_offsets\":[576,640]", "\"shape\":[15],\"data_offsets\":[576,636]", "dimension 0 is 15", "wrong shape"},
		{"\"shape\":[16,1,3,3]", "\"shape\":[16,1,9]", "dimensions", "wrong rank"},
		{"[576,640]", "[512,576]", "overlap", "overlapping offsets"},
		{"[576,640]", "[576,644]", "cover", "offsets disagree with the shape"},
		{"[576,640]", "[576,99999999999]", "outside", "offset past the end"},
		{"\"0.bias\"", "\"0.bias2\"", "unexpected tensor", "unknown tensor"},
		{"\"0.bias\":{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":[576,640]},", "", "missing", "missing tensor"},
		{"{\"__metadata__\":{", "{\"__metadata__\":{,", "malformed JSON", "bad JSON"},
		{"\"format_version\":\"1\"", "\"format_version\":\"2\"", "format_version", "future version"},
		{"\"format\":\"instsim-model\"", "\"format\":\"other\"", "format", "foreign format"},
		{"\"instrument\":\"drums\"", "\"instrument\":\"\"", "instrument", "empty instrument"},
		{"\"instrument\":\"drums\"", "\"instrument\":7", "instrument", "instrument not a string"},
		{"[1,128,130]", "[1,128,131]", "does not match", "input shape against the front end"},
		{"\\\"n_mels\\\":128", "\\\"n_mels\\\":-3", "n_mels", "negative n_mels"},
		{"\\\"sample_rate\\\":44100", "\\\"sample_rate\\\":4.5", "sample_rate", "fractional sample rate"},
		{"{\\\"type\\\":\\\"conv3x3\\\",\\\"out\\\":16}", "{\\\"type\\\":\\\"conv3x3\\\",\\\"out\\\":17}", "dimension 0 is 16, want 17", "layer table against tensor shapes"},
		{"{\\\"type\\\":\\\"relu\\\"}", "{\\\"type\\\":\\\"gelu\\\"}", "known", "unknown layer type"},
		{"\"embedding_dim\":\"128\"", "\"embedding_dim\":\"129\"", "embedding_dim", "embedding_dim"},
		{"\"layers\":\"[", "\"layers\":\"[[", "JSON", "layer table not JSON"},
		{"\\\"f_max\\\":22050.0", "\\\"f_max\\\":30000.0", "Nyquist", "f_max above the Nyquist frequency"},
	};
	unsigned char *buf = malloc(model_len);

	memcpy(buf, model_buf, model_len);
	buf[0] = 0xff;
	buf[7] = 0x7f;
	expect_fail(buf, model_len, "header length", "header length 2^63");
	memcpy(buf, model_buf, model_len);
	memset(buf, 0, 8);
	buf[0] = 1;
	expect_fail(buf, model_len, "header length", "header length 1");
	memcpy(buf, model_buf, model_len);
	buf[8] = '[';
	expect_fail(buf, model_len, "does not start", "header not an object");
	free(buf);

	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++)
		expect_edit_fail(edits[i].from, edits[i].to, edits[i].want, edits[i].what);

	/* a NaN weight, checksum redone: the network would only ever give NaN */
	buf = malloc(model_len);
	memcpy(buf, model_buf, model_len);
	memcpy(buf + 8 + edit_hlen(buf) + 4, "\x00\x00\xc0\x7f", 4);
	edit_reseal(buf, model_len);
	expect_fail(buf, model_len, "not finite", "non-finite parameter");
	free(buf);

	{
		size_t		len = 0;
		unsigned char *b = edit_header(model_buf, model_len, "\"instrument\":\"drums\"", "\"instrument\":\"bass!\"", &len);
		unsigned char *hex = (unsigned char *) memmem(b + 8, edit_hlen(b), "\"sha256\":\"", 10) + 10;

		hex[5] = hex[5] == 'a' ? 'b' : 'a';
		expect_fail(b, len, "checksum mismatch", "edited header with a stale checksum");
		hex[5] = 'G';
		expect_fail(b, len, "hex", "checksum not hex");
		free(b);
	}
}

/* conv3x3(out) on a 1 x h x w input, then gap, linear(8), l2norm; seeded weights. */
static int
one_conv_model(is_model *m, const is_frontend *fe, int out, char *err, size_t errlen)
{
	static const is_layer_kind kinds[] = {IS_LAYER_CONV3X3, IS_LAYER_RELU, IS_LAYER_GAP,
	IS_LAYER_LINEAR, IS_LAYER_L2NORM};

	memset(m, 0, sizeof(*m));
	strcpy(m->instrument, "mix");
	m->fe = *fe;
	m->net.in_c = 1;
	m->net.in_h = fe->n_mels;
	m->net.in_w = is_frontend_frames(fe);
	m->net.n_layers = 5;
	for (int i = 0; i < 5; i++)
		m->net.layers[i] = (is_layer) {.kind = kinds[i], .out = i == 0 ? out : 8};
	if (is_net_init(&m->net, err, errlen) < 0)
		return -1;
	is_net_synth_params(&m->net, 3);
	return 0;
}

/*
 * is_model_check: the shipped models pass the default limits by a wide
 * margin; a model over either limit, one whose weights overflow and the
 * issue's 1024 x 1899-input single-convolution model are refused.
 */
static void
test_checks(void)
{
	static const char *const shipped[] = {"mix", "drums", "bass", "guitar", "piano"};
	is_model_limits lim = {.max_batch = 16,
		.max_arena = (size_t) IS_MODEL_DEFAULT_MAX_ARENA_MB << 20,
	.max_flops = IS_MODEL_DEFAULT_MAX_GFLOPS * 1e9};
	is_infer_opts opts = {.max_batch = 16, .threads = 1};
	is_frontend wide = IS_FRONTEND_DEFAULT;
	is_model	m;
	char		err[256] = "";
	size_t		arena = 0;
	is_model_limits tight;

	for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++)
	{
		char		path[64];

		int			ok;

		snprintf(path, sizeof(path), "../../models/%s.safetensors", shipped[i]);
		ok = is_model_load_file(&m, path, err, sizeof(err)) == 0 &&
			is_model_check(&m, &lim, err, sizeof(err)) == 0 &&
			is_infer_plan_bytes(&m.net, &opts, &arena, err, sizeof(err)) == 0;
		tap_ok(ok && arena * 4 < lim.max_arena && is_net_flops(&m.net) * 20 < lim.max_flops,
			   "shipped model %s: %.2f GFLOP per segment, %zu-MB arena, within limits/4 %s",
			   shipped[i], is_net_flops(&m.net) / 1e9, arena >> 20, err);
		is_model_free(&m);
	}

	is_model_load(&m, model_buf, model_len, err, sizeof(err));
	is_infer_plan_bytes(&m.net, &opts, &arena, err, sizeof(err));
	tight = lim;
	tight.max_flops = is_net_flops(&m.net) / 2;
	tap_ok(is_model_check(&m, &tight, err, sizeof(err)) == IS_MODEL_OVER_LIMIT && strstr(err, "GFLOP"),
		   "FLOPs per segment over the limit: %s", err);
	tight = lim;
	tight.max_arena = arena / 2;
	tap_ok(is_model_check(&m, &tight, err, sizeof(err)) == IS_MODEL_OVER_LIMIT && strstr(err, "arena"),
		   "arena over the limit: %s", err);
	for (size_t i = 0; i < m.net.n_floats; i++)
		m.net.params[i] *= 1e20f;
	tap_ok(is_model_check(&m, &lim, err, sizeof(err)) == -1 && strstr(err, "non-finite"),
		   "weights that overflow on the probe: %s", err);
	is_model_free(&m);

	/* 1024 mels x 1891 frames into conv3x3(1): a 1.7-KB file, a 2-GB arena */
	wide.n_mels = 1024;
	wide.hop_length = 70;
	tap_ok(one_conv_model(&m, &wide, 1, err, sizeof(err)) == 0 &&
		   is_model_check(&m, &lim, err, sizeof(err)) == IS_MODEL_OVER_LIMIT,
		   "tiny model with a huge input: %s", err);
	is_model_free(&m);
}

int
main(void)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;
	is_model	m;
	char		err[256] = "";

	if (is_model_synth(&m, "drums", &fe, 7, err, sizeof(err)) < 0 ||
		is_model_save(&m, &model_buf, &model_len, err, sizeof(err)) < 0)
	{
		tap_ok(0, "synthetic model: %s", err);
		return tap_done();
	}
	test_round_trip(&m);
	test_input_kind(&m);
	test_truncation();
	test_flips();
	test_header_edits();
	test_checks();
	is_model_free(&m);
	free(model_buf);
	return tap_done();
}
