/*
 * The "__metadata__" map of a model file (model.h lists the keys), between
 * its JSON strings and is_model.  Internal to model.c.
 */
#ifndef INSTSIM_MODEL_META_H
#define INSTSIM_MODEL_META_H

#include <json-c/json.h>

#include "model.h"

/* Adds every metadata key except sha256 to the object meta. */
int			is_meta_encode(const is_model *m, json_object *meta, char *err, size_t errlen);

/*
 * Reads instrument, front end and layer table from meta, checks them against
 * each other and builds m->net with is_net_init (zeroed parameters).
 */
int			is_meta_decode(is_model *m, json_object *meta, char *err, size_t errlen);

/* Parses len bytes of strict JSON (whitespace may follow); NULL on error. */
json_object *is_json_parse(const char *s, size_t len, char *err, size_t errlen);

#endif
