/*
 * SQL functions that add models to instsim.model: from a bytea, or the
 * models shipped in the extension's share directory.
 */
#include "postgres.h"

#include <sys/stat.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "model_cache.h"

/* Shipped models are a few MB; anything far larger is not one of ours. */
#define BUILTIN_MAX_BYTES ((off_t) 512 << 20)

PG_FUNCTION_INFO_V1(instsim_model_inspect);
Datum
instsim_model_inspect(PG_FUNCTION_ARGS)
{
	bytea	   *weights = PG_GETARG_BYTEA_PP(0);
	is_model	m;
	char	   *json;

	pg_model_parse(weights, &m);
	json = pg_model_params_json(&m);
	is_model_free(&m);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

/* Validates and upserts one model; returns its sha256 (palloc'd). */
static char *
store_model(const char *name, bytea *weights, bool builtin)
{
	is_model	m;
	char	   *json;
	char		instrument[IS_MODEL_INSTRUMENT_LEN];
	char		sha[65];
	Oid			argtypes[6] = {TEXTOID, TEXTOID, TEXTOID, BYTEAOID, TEXTOID, BOOLOID};
	Datum		args[6];
	int			rc;

	pg_model_check_name(name);
	pg_model_parse(weights, &m);
	json = pg_model_params_json(&m);
	strlcpy(instrument, m.instrument, sizeof(instrument));
	strlcpy(sha, m.sha256, sizeof(sha));
	is_model_free(&m);

	args[0] = CStringGetTextDatum(name);
	args[1] = CStringGetTextDatum(instrument);
	args[2] = CStringGetTextDatum(json);
	args[3] = PointerGetDatum(weights);
	args[4] = CStringGetTextDatum(sha);
	args[5] = BoolGetDatum(builtin);
	SPI_connect();
	rc = SPI_execute_with_args(
							   "INSERT INTO instsim.model AS m (name, instrument, params, weights, sha256, builtin) "
							   "VALUES ($1, $2, $3::jsonb, $4, $5, $6) "
							   "ON CONFLICT (name) DO UPDATE SET instrument = EXCLUDED.instrument, "
							   "params = EXCLUDED.params, weights = EXCLUDED.weights, sha256 = EXCLUDED.sha256, "
							   "builtin = EXCLUDED.builtin, created = now()",
							   6, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "storing model \"%s\" failed: %s", name, SPI_result_code_string(rc));
	SPI_finish();
	return pstrdup(sha);
}

PG_FUNCTION_INFO_V1(instsim_model_load);
Datum
instsim_model_load(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bytea	   *weights = PG_GETARG_BYTEA_PP(1);

	PG_RETURN_TEXT_P(cstring_to_text(store_model(name, weights, false)));
}

static bytea *
read_whole_file(const char *path)
{
	struct stat st;
	FILE	   *f;
	bytea	   *b;

	if (stat(path, &st) != 0 || st.st_size > BUILTIN_MAX_BYTES)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read model file \"%s\": missing or larger than %lld bytes",
						path, (long long) BUILTIN_MAX_BYTES)));
	f = AllocateFile(path, PG_BINARY_R);
	if (!f)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open model file \"%s\": %m", path)));
	b = palloc(VARHDRSZ + st.st_size);
	if (fread(VARDATA(b), 1, st.st_size, f) != (size_t) st.st_size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read model file \"%s\": %m", path)));
	FreeFile(f);
	SET_VARSIZE(b, VARHDRSZ + st.st_size);
	return b;
}

static int
compare_names(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/*
 * Files <share>/extension/instsim_models/NAME.safetensors become models NAME,
 * in name order so the result does not depend on directory order.
 */
PG_FUNCTION_INFO_V1(instsim_install_builtin_models);
Datum
instsim_install_builtin_models(PG_FUNCTION_ARGS)
{
	char		share[MAXPGPATH];
	char		dir[MAXPGPATH];
	DIR		   *d;
	struct dirent *de;
	List	   *names = NIL;
	ListCell   *lc;
	int			count = 0;

	get_share_path(my_exec_path, share);
	snprintf(dir, sizeof(dir), "%s/extension/instsim_models", share);
	d = AllocateDir(dir);
	if (!d)
		PG_RETURN_INT32(0);
	while ((de = ReadDir(d, dir)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		const char *ext = ".safetensors";

		if (len > strlen(ext) && strcmp(de->d_name + len - strlen(ext), ext) == 0)
			names = lappend(names, pnstrdup(de->d_name, len - strlen(ext)));
	}
	FreeDir(d);
	list_sort(names, compare_names);
	foreach(lc, names)
	{
		char		path[MAXPGPATH];

		CHECK_FOR_INTERRUPTS();
		snprintf(path, sizeof(path), "%s/%s.safetensors", dir, (char *) lfirst(lc));
		store_model(lfirst(lc), read_whole_file(path), true);
		count++;
	}
	PG_RETURN_INT32(count);
}
