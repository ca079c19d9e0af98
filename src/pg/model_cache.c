/*
 * Per-backend model cache.
 *
 * Building an embedder means parsing the file, folding batch-norm, packing
 * weights and planning the FFT: far more than embedding one track, so it is
 * done once per backend and model.  Whether the cached copy is current is
 * checked against the row's sha256, which is cheap to read; within one command
 * of one transaction the row cannot change under us, so the check is done
 * once per command, not once per row.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "model_cache.h"
#include "model_check.h"

/* Segments per pass: instsim.max_model_arena is checked for this batch. */
#define CACHE_MAX_BATCH 16

typedef struct CachedModel
{
	char		name[NAMEDATALEN];	/* hash key; pg_model_check_name bounds names */
	char		sha256[65];
	is_embedder *embedder;
	int			conv;			/* instsim.conv_kernel it was planned with */
	LocalTransactionId checked_lxid;	/* command in which sha256 was checked */
	CommandId	checked_cid;
} CachedModel;

/* model checks when a model is stored */
int			instsim_max_model_arena = IS_MODEL_DEFAULT_MAX_ARENA_MB;
double		instsim_max_model_gflops = IS_MODEL_DEFAULT_MAX_GFLOPS;

/*
 * The convolution kernel every model of this backend runs.  A setting, not
 * only the environment variable the tools read, so that SHOW tells which one
 * filled a column and an administrator can change it with ALTER SYSTEM.
 */
int			instsim_conv_kernel = IS_CONV_AUTO;
static struct config_enum_entry conv_kernel_options[IS_CONV_KINDS + 1];

static HTAB *model_cache;

static bool
check_conv_kernel(int *newval, void **extra, GucSource source)
{
	if (is_conv_supported((is_conv_kind) *newval))
		return true;
	GUC_check_errdetail("This CPU does not run the %s convolution kernel.",
						is_conv_kind_name((is_conv_kind) *newval));
	GUC_check_errhint("auto runs the fastest float32 kernel this CPU has.");
	return false;
}

void
model_cache_init_gucs(void)
{
	/* superuser-only: a role allowed to load models must not lift the limits */
	DefineCustomIntVariable("instsim.max_model_arena",
							"Largest inference arena a model may need, per backend.",
							"A model whose activations for one batch of 16 segments "
							"need more memory is refused when it is loaded or first used.",
							&instsim_max_model_arena, IS_MODEL_DEFAULT_MAX_ARENA_MB, 1, 65536,
							PGC_SUSET, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomRealVariable("instsim.max_model_gflops",
							 "Most floating-point work a model may do per segment, in GFLOP.",
							 "A model whose network needs more per 3-s segment is refused "
							 "when it is loaded.",
							 &instsim_max_model_gflops, IS_MODEL_DEFAULT_MAX_GFLOPS, 0.001, 1e6,
							 PGC_SUSET, 0, NULL, NULL, NULL);

	for (int k = 0; k < IS_CONV_KINDS; k++)
		conv_kernel_options[k] = (struct config_enum_entry)
		{
			is_conv_kind_name((is_conv_kind) k), k, false
		};

	/*
	 * superuser-only (or GRANT SET): embeddings made with different kernels
	 * differ slightly, so one column should be filled with one of them
	 */
	DefineCustomEnumVariable("instsim.conv_kernel",
							 "Convolution kernel the models run in this session.",
							 "auto: the fastest float32 kernel of this CPU, or the server's "
							 "INSTSIM_CONV_KERNEL environment variable when set.  wino-bf16 "
							 "(CPUs with AVX512_BF16) computes in bfloat16: faster, with "
							 "embeddings within cosine distance 2e-3 of float32's.",
							 &instsim_conv_kernel, IS_CONV_AUTO, conv_kernel_options,
							 PGC_SUSET, 0, check_conv_kernel, NULL, NULL);
}

static size_t
max_arena_bytes(void)
{
	return (size_t) instsim_max_model_arena << 20;
}

/* The file's format only: what a backend that uses a stored model re-checks. */
static void
parse_format(const bytea *weights, is_model *m)
{
	char		err[512];

	if (is_model_load(m, VARDATA_ANY(weights), VARSIZE_ANY_EXHDR(weights), err, sizeof(err)) != 0)
	{
		is_model_free(m);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid model file: %s", err),
				 errhint("Model files are safetensors files written by instsim-train; "
						 "a truncated or modified file fails its checksum.")));
	}
}

void
pg_model_parse(const bytea *weights, is_model *m)
{
	is_model_limits lim = {.max_batch = CACHE_MAX_BATCH, .max_arena = max_arena_bytes(),
	.max_flops = instsim_max_model_gflops * 1e9};
	char		err[512];
	int			rc;

	parse_format(weights, m);
	rc = is_model_check(m, &lim, err, sizeof(err));
	if (rc == IS_MODEL_OVER_LIMIT)
	{
		is_model_free(m);
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model too large: %s", err),
				 errhint("The limits are instsim.max_model_arena and instsim.max_model_gflops.")));
	}
	if (rc != 0)
	{
		is_model_free(m);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model cannot be used: %s", err)));
	}
}

void
pg_model_check_name(const char *name)
{
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty")));
	if (strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("model name \"%.*s...\" is too long",
						pg_mbcliplen(name, strlen(name), 20), name),
				 errdetail("Model names have at most %d bytes; this one has %zu.",
						   NAMEDATALEN - 1, strlen(name))));
}

/*
 * The inference plan's interrupt callback: stop a pass when
 * CHECK_FOR_INTERRUPTS would act.  Called on this backend's own thread only.
 */
static int
interrupt_pending(void *arg)
{
	return INTERRUPTS_PENDING_CONDITION() && INTERRUPTS_CAN_BE_PROCESSED();
}

char *
pg_model_params_json(const is_model *m)
{
	StringInfoData s;
	const is_frontend *fe = &m->fe;

	initStringInfo(&s);
	appendStringInfoString(&s, "{\"instrument\": ");
	escape_json(&s, m->instrument);
	appendStringInfo(&s, ", \"input\": \"%s\"", is_input_kind_name(m->input));
	appendStringInfo(&s, ", \"embedding_dim\": %d, \"input_shape\": [%d, %d, %d]",
					 is_net_out_dim(&m->net), m->net.in_c, m->net.in_h, m->net.in_w);
	appendStringInfo(&s, ", \"parameters\": %zu, \"mflop_per_segment\": %.1f",
					 m->net.n_floats, is_net_flops(&m->net) / 1e6);
	appendStringInfo(&s, ", \"frontend\": {\"sample_rate\": %d, \"segment_s\": %g, \"hop_s\": %g"
					 ", \"silence_dbfs\": %g, \"n_fft\": %d, \"hop_length\": %d, \"n_mels\": %d"
					 ", \"f_min\": %g, \"f_max\": %g, \"log_offset\": %g}",
					 fe->sample_rate, fe->segment_s, fe->hop_s, fe->silence_dbfs, fe->n_fft,
					 fe->hop_length, fe->n_mels, fe->f_min, fe->f_max, fe->log_offset);
	appendStringInfoString(&s, ", \"layers\": [");
	for (int i = 0; i < m->net.n_layers; i++)
	{
		const is_layer *l = &m->net.layers[i];

		appendStringInfo(&s, "%s{\"type\": \"%s\"", i ? ", " : "", is_layer_kind_name(l->kind));
		if (l->kind == IS_LAYER_CONV3X3 || l->kind == IS_LAYER_LINEAR)
			appendStringInfo(&s, ", \"out\": %d", l->out);
		appendStringInfoChar(&s, '}');
	}
	appendStringInfoString(&s, "]}");
	return s.data;
}

static void
unknown_model(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("instsim model \"%s\" does not exist", name),
			 errhint("SELECT name FROM instsim.models lists the models; "
					 "instsim_model_load(name, bytea) adds one.")));
}

/*
 * Runs a one-row, one-column query on the model table; returns the value
 * copied into the caller's context, or NULL when there is no such model.
 */
static Datum
fetch_model_column(const char *query, const char *name, bool *found)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	Datum		result = (Datum) 0;
	bool		isnull;
	int			rc;

	SPI_connect();
	rc = SPI_execute_with_args(query, 1, argtypes, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	*found = SPI_processed == 1;
	if (*found)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext spi = MemoryContextSwitchTo(caller);

		/* text and bytea alike: a detoasted copy that outlives SPI_finish */
		result = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return result;
}

static void
reload(CachedModel *entry, const char *name)
{
	bool		found;
	Datum		d = fetch_model_column("SELECT weights FROM instsim.model WHERE name OPERATOR(pg_catalog.=) $1",
									   name, &found);
	bytea	   *weights = (bytea *) DatumGetPointer(d);
	is_model	m;
	char		err[512];
	is_embedder *e;
	is_infer_opts opts = {.max_batch = CACHE_MAX_BATCH, .threads = 1,
		.conv = (is_conv_kind) instsim_conv_kernel,
	.max_arena = max_arena_bytes()};

	if (!found)
		unknown_model(name);
	parse_format(weights, &m);
	e = is_embedder_new_opts(&m, &opts, err, sizeof(err));
	strlcpy(entry->sha256, m.sha256, sizeof(entry->sha256));
	is_model_free(&m);
	if (!e)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("model \"%s\" cannot be used: %s", name, err)));
	is_embedder_set_interrupt(e, interrupt_pending, NULL);
	entry->embedder = e;
	entry->conv = instsim_conv_kernel;
	pfree(weights);
}

is_embedder *
pg_model_embedder(const char *name)
{
	CachedModel *entry;
	bool		found;
	text	   *sha;
	char	   *current;

	pg_model_check_name(name);
	if (!model_cache)
	{
		HASHCTL		ctl = {.keysize = NAMEDATALEN,.entrysize = sizeof(CachedModel),
		.hcxt = TopMemoryContext};

		model_cache = hash_create("instsim models", 8, &ctl,
								  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	entry = hash_search(model_cache, name, HASH_ENTER, &found);
	if (!found)
	{
		entry->embedder = NULL;
		entry->sha256[0] = '\0';
		entry->checked_lxid = InvalidLocalTransactionId;
	}
	if (entry->embedder && entry->conv == instsim_conv_kernel && entry->checked_lxid == MyProc->lxid &&
		entry->checked_cid == GetCurrentCommandId(false))
		return entry->embedder;

	sha = (text *) DatumGetPointer(fetch_model_column("SELECT sha256 FROM instsim.model WHERE name OPERATOR(pg_catalog.=) $1",
													  name, &found));
	if (!found)
		unknown_model(name);
	current = text_to_cstring(sha);
	if (!entry->embedder || strcmp(current, entry->sha256) != 0 || entry->conv != instsim_conv_kernel)
	{
		is_embedder_free(entry->embedder);
		entry->embedder = NULL;
		reload(entry, name);
	}
	entry->checked_lxid = MyProc->lxid;
	entry->checked_cid = GetCurrentCommandId(false);
	return entry->embedder;
}

/*
 * As pg_model_embedder, for a caller that names the model's version: unless
 * the stored model's SHA-256 is sha256, raises 55000.  The same arguments
 * then embed with the same weights or not at all, which is what lets
 * instsim_embed(audio, model, sha256) be IMMUTABLE in truth.
 */
is_embedder *
pg_model_embedder_version(const char *name, const char *sha256)
{
	is_embedder *e = pg_model_embedder(name);
	CachedModel *entry = hash_search(model_cache, name, HASH_FIND, NULL);

	if (strcmp(entry->sha256, sha256) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" is not the version named", name),
				 errdetail("Its SHA-256 is %s, not \"%s\".", entry->sha256, sha256),
				 errhint("The model was replaced, or the SHA-256 is mistyped: "
						 "instsim.models shows the current one.")));
	return e;
}
