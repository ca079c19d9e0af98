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
	/*
	 * Every name qualified: the caller's search_path may hold a schema where
	 * anyone can create functions or operators.  A shipped row is refreshed
	 * only while it is still the shipped one: a model that replaced it stays.
	 */
	SPI_connect();
	rc = SPI_execute_with_args(
							   "INSERT INTO instsim.model AS m (name, instrument, params, weights, sha256, builtin) "
							   "VALUES ($1, $2, $3::pg_catalog.jsonb, $4, $5, $6) "
							   "ON CONFLICT (name) DO UPDATE SET instrument = EXCLUDED.instrument, "
							   "params = EXCLUDED.params, weights = EXCLUDED.weights, sha256 = EXCLUDED.sha256, "
							   "builtin = EXCLUDED.builtin, created = pg_catalog.now() "
							   "WHERE NOT EXCLUDED.builtin OR m.builtin",
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
 * Names of the shipped models: files <share>/extension/instsim_models/
 * NAME.safetensors, in name order so that loading them does not depend on
 * directory order.  dir receives the directory (MAXPGPATH bytes).
 */
static List *
shipped_names(char *dir)
{
	char		share[MAXPGPATH];
	DIR		   *d;
	struct dirent *de;
	List	   *names = NIL;
	const char *ext = ".safetensors";

	get_share_path(my_exec_path, share);
	snprintf(dir, MAXPGPATH, "%s/extension/instsim_models", share);
	d = AllocateDir(dir);
	if (!d)
		return NIL;
	while ((de = ReadDir(d, dir)) != NULL)
	{
		size_t		len = strlen(de->d_name);

		if (len > strlen(ext) && strcmp(de->d_name + len - strlen(ext), ext) == 0)
			names = lappend(names, pnstrdup(de->d_name, len - strlen(ext)));
	}
	FreeDir(d);
	list_sort(names, compare_names);
	return names;
}

static void
store_shipped(const char *dir, const char *name)
{
	char		path[MAXPGPATH];

	snprintf(path, sizeof(path), "%s/%s.safetensors", dir, name);
	store_model(name, read_whole_file(path), true);
}

PG_FUNCTION_INFO_V1(instsim_install_builtin_models);
Datum
instsim_install_builtin_models(PG_FUNCTION_ARGS)
{
	char		dir[MAXPGPATH];
	List	   *names = shipped_names(dir);
	ListCell   *lc;

	foreach(lc, names)
	{
		CHECK_FOR_INTERRUPTS();
		store_shipped(dir, lfirst(lc));
	}
	PG_RETURN_INT32(list_length(names));
}

static bool
is_shipped_name(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp(lfirst(lc), name) == 0)
			return true;
	return false;
}

/*
 * Drops a model.  A shipped model cannot be dropped (CREATE EXTENSION and so
 * every restore would bring it back, so a dump could not say it was gone);
 * dropping a model that replaced a shipped one puts the shipped one back.
 */
PG_FUNCTION_INFO_V1(instsim_model_drop);
Datum
instsim_model_drop(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		dir[MAXPGPATH];
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {PG_GETARG_DATUM(0)};
	bool		isnull;
	bool		builtin;
	int			rc;

	SPI_connect();
	rc = SPI_execute_with_args("DELETE FROM instsim.model m WHERE m.name OPERATOR(pg_catalog.=) $1 "
							   "RETURNING m.builtin", 1, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "dropping model \"%s\" failed: %s", name, SPI_result_code_string(rc));
	if (SPI_processed == 0)
	{
		SPI_finish();
		PG_RETURN_BOOL(false);
	}
	builtin = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (builtin)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot drop model \"%s\": it is shipped with instsim", name),
				 errdetail("CREATE EXTENSION, and so every restore of a dump, re-creates the shipped models."),
				 errhint("Replace it with instsim_model_load('%s', ...), or load your model under another name.",
						 name)));
	if (is_shipped_name(shipped_names(dir), name))
	{
		store_shipped(dir, name);
		ereport(NOTICE,
				(errmsg("model \"%s\" is the shipped model again", name)));
	}
	PG_RETURN_BOOL(true);
}
