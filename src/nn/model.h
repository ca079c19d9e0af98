/*
 * Model files: safetensors (8-byte little-endian header length, JSON header,
 * raw little-endian tensor data), readable by the Python safetensors package,
 * numpy and other tools.  The tensors are the network's parameters named as a
 * PyTorch nn.Sequential state_dict ("0.weight", "1.running_mean", ...), all
 * F32.  The "__metadata__" string map holds:
 *
 *   format          "instsim-model"
 *   format_version  "1"
 *   instrument      e.g. "mix", "drums"
 *   input           optional: "stem" (the network hears the instrument's
 *                   own signal; for the mix model that is the mix) or "mix"
 *                   (it hears the whole mix and answers for the
 *                   instrument).  Absent means "stem", so files written
 *                   before the key existed keep their meaning, and it is
 *                   written only for "mix", so stem files stay byte-identical
 *   frontend        JSON object with every field of is_frontend
 *   input_shape     JSON array [channels, mels, frames]
 *   layers          JSON array, e.g. [{"type":"conv3x3","out":16},
 *                   {"type":"batchnorm","eps":1e-05},{"type":"relu"}, ...]
 *   embedding_dim   decimal
 *   sha256          64 hex digits: SHA-256 of the whole file with these 64
 *                   digits replaced by ASCII '0', so any changed byte, in the
 *                   tensor data or in the header, is detected
 *
 * Batch-norm layers are stored as a trainer saves them (weight, bias,
 * running_mean, running_var; eps in the layer table) and folded when an
 * inference plan is built.  PyTorch's integer num_batches_tracked tensors
 * are accepted and ignored.
 */
#ifndef INSTSIM_MODEL_H
#define INSTSIM_MODEL_H

#include <stddef.h>

#include "frontend.h"
#include "nn.h"

#define IS_MODEL_FORMAT "instsim-model"
#define IS_MODEL_VERSION 1
#define IS_MODEL_MAX_HEADER ((size_t) 16 << 20)
#define IS_MODEL_INSTRUMENT_LEN 64

/* What a model's segments are cut from; zero (stem) is the default. */
typedef enum is_input_kind
{
	IS_INPUT_STEM = 0,
	IS_INPUT_MIX
} is_input_kind;

typedef struct is_model
{
	char		instrument[IS_MODEL_INSTRUMENT_LEN];
	is_input_kind input;
	is_frontend fe;
	is_net		net;
	char		sha256[65];		/* hex, set by load and save */
} is_model;

/*
 * Validates and loads a model file held in memory: header bounds, JSON,
 * metadata, layer table, every tensor (present, F32, shape, offsets in bounds,
 * no overlap or gap) and the checksum.  Returns 0, or -1 with a message in err
 * (m is then left empty; is_model_free is still safe).
 */
int			is_model_load(is_model *m, const void *buf, size_t len, char *err, size_t errlen);

/* Serialises m into a malloc'd buffer and stores the checksum in m->sha256. */
int			is_model_save(is_model *m, unsigned char **buf, size_t *len, char *err, size_t errlen);

int			is_model_load_file(is_model *m, const char *path, char *err, size_t errlen);
int			is_model_save_file(is_model *m, const char *path, char *err, size_t errlen);

void		is_model_free(is_model *m);

/* "stem" or "mix"; is_input_kind_parse returns -1 for any other name. */
const char *is_input_kind_name(is_input_kind k);
int			is_input_kind_parse(const char *name, is_input_kind *k);

/* Frames of one segment as the front end produces them (centred STFT). */
int			is_frontend_frames(const is_frontend *fe);

#endif
