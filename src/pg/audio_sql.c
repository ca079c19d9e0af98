/*
 * The SQL functions that turn stored audio into embeddings.  Each is a thin
 * loop over the core pipeline (src/nn/embed.c): decode, segment, log-mel,
 * CNN, checking for interrupts between batches of segments and, through the
 * plan's interrupt callback (model_cache.c), between the network's layers.
 *
 * Memory per call, whatever the audio's length: the input as described in
 * audio_input.h (a 1 MiB TOAST slice for large out-of-line values), about
 * 2 MiB of decoder and resampler state, one 3-s window (517 KiB), one batch of
 * 16 mel images (1 MiB) and each model's cached activation arena; plus, for
 * instsim_segments, its result rows (512 B each, spilled to disk past
 * work_mem).  Several models in one call share the decode, the window and the
 * mel images.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "array_args.h"
#include "audio_input.h"
#include "embedding.h"
#include "model_cache.h"

PG_FUNCTION_INFO_V1(instsim_audio_info);
Datum
instsim_audio_info(PG_FUNCTION_ARGS)
{
	AudioInput *in;
	const is_audio_info *info;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "instsim_audio_info must return a record");
	/* any valid rate will do: only the file's own header is reported */
	in = audio_input_open(PG_GETARG_DATUM(0), IS_AUDIO_MIN_RATE);
	info = is_audio_stream_info(audio_input_stream(in));
	values[0] = Int32GetDatum(info->sample_rate);
	values[1] = Int32GetDatum(info->channels);
	values[2] = Int64GetDatum(info->frames);
	values[3] = Float8GetDatum(info->seconds);
	values[4] = CStringGetTextDatum(info->format);
	values[5] = CStringGetTextDatum(info->encoding);
	nulls[2] = nulls[3] = info->frames < 0;
	audio_input_close(in);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* Per call: the models' embedders and one run of them over the argument's audio. */
typedef struct EmbedCall
{
	AudioInput *in;
	int			n_models;
	char	  **models;
	is_embedder **embedders;
	is_embed_run *run;
	int		   *dim;
	float	  **emb;			/* per model, one batch of embeddings */
	int64	   *index;
	double	   *start;
} EmbedCall;

/*
 * Fetches every model before opening the audio; models whose front ends
 * differ are refused here, where the error can name them.
 */
static void
embed_call_begin(EmbedCall *c, Datum audio, char **models, int n_models)
{
	const is_frontend *fe;
	int			batch = INT_MAX;
	char		msg[192];

	c->n_models = n_models;
	c->models = models;
	c->embedders = palloc(sizeof(is_embedder *) * n_models);
	c->dim = palloc(sizeof(int) * n_models);
	c->emb = palloc(sizeof(float *) * n_models);
	for (int m = 0; m < n_models; m++)
	{
		c->embedders[m] = pg_model_embedder(models[m]);
		c->dim[m] = is_embedder_dim(c->embedders[m]);
		batch = Min(batch, is_embedder_max_batch(c->embedders[m]));
	}
	fe = is_embedder_frontend(c->embedders[0]);
	for (int m = 1; m < n_models; m++)
		if (is_frontend_differs(fe, is_embedder_frontend(c->embedders[m]), msg, sizeof(msg)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("models \"%s\" and \"%s\" have different front ends",
							models[0], models[m]),
					 errdetail("They differ in %s.", msg),
					 errhint("One call embeds with models that share a front end; "
							 "call instsim_embed once per front end.")));
	for (int m = 0; m < n_models; m++)
		c->emb[m] = palloc(sizeof(float) * batch * c->dim[m]);
	c->index = palloc(sizeof(int64) * batch);
	c->start = palloc(sizeof(double) * batch);
	c->in = audio_input_open(audio, fe->sample_rate);
	c->run = audio_input_embed(c->in, c->embedders, n_models, 0);
}

/* For the functions whose second argument names one model. */
static void
embed_call_begin_one(EmbedCall *c, FunctionCallInfo fcinfo)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(1));

	embed_call_begin(c, PG_GETARG_DATUM(0), &model, 1);
}

/*
 * The next batch of segment embeddings, every model's; 0 at the end.  A pass
 * the interrupt callback stopped is resumed once CHECK_FOR_INTERRUPTS has
 * returned (it found nothing to act on after all).
 */
static int
embed_call_next(EmbedCall *c)
{
	is_audio_error err;
	int			n;

	do
	{
		CHECK_FOR_INTERRUPTS();
		n = is_embed_next_multi(c->run, c->emb, c->index, c->start, &err);
	} while (n < 0 && err.status == IS_AUDIO_STOPPED);
	if (n < 0 && err.status == IS_AUDIO_NOT_FINITE)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("model \"%s\" overflows: %s",
						c->models[is_embed_failed_model(c->run)], err.message),
				 errhint("The model's weights are unusable; load a retrained model.")));
	if (n < 0)
		audio_input_error(c->in, &err);
	return n;
}

/*
 * Runs the call to the end and sets each model's track vector; false when no
 * segment is audible (the same segments feed every model, so that holds for
 * all of them or none).
 */
static bool
embed_call_tracks(EmbedCall *c, Embedding **tracks)
{
	double	  **sum = palloc(sizeof(double *) * c->n_models);
	int64		count = 0;
	int			n;

	for (int m = 0; m < c->n_models; m++)
		sum[m] = palloc0(sizeof(double) * c->dim[m]);
	while ((n = embed_call_next(c)) > 0)
	{
		for (int m = 0; m < c->n_models; m++)
			for (int i = 0; i < n; i++)
				for (int d = 0; d < c->dim[m]; d++)
					sum[m][d] += c->emb[m][i * c->dim[m] + d];
		count += n;
	}
	audio_input_close(c->in);
	if (count == 0)
		return false;

	/* the centroid's direction is the sum's; normalising it is the paper's track vector */
	for (int m = 0; m < c->n_models; m++)
	{
		tracks[m] = new_embedding(c->dim[m]);
		for (int d = 0; d < c->dim[m]; d++)
			tracks[m]->x[d] = (float) sum[m][d];
		is_l2_normalize(tracks[m]->x, c->dim[m]);
	}
	return true;
}

PG_FUNCTION_INFO_V1(instsim_embed);
Datum
instsim_embed(PG_FUNCTION_ARGS)
{
	EmbedCall	c;
	Embedding  *track;

	embed_call_begin_one(&c, fcinfo);
	if (!embed_call_tracks(&c, &track))
		PG_RETURN_NULL();
	PG_RETURN_EMBEDDING_P(track);
}

/* instsim_embed(audio, model, sha256): the same, with that version of the model only. */
PG_FUNCTION_INFO_V1(instsim_embed_version);
Datum
instsim_embed_version(PG_FUNCTION_ARGS)
{
	pg_model_embedder_version(text_to_cstring(PG_GETARG_TEXT_PP(1)),
							  text_to_cstring(PG_GETARG_TEXT_PP(2)));
	return instsim_embed(fcinfo);
}

/*
 * The names in a text[] argument: one-dimensional, at least one, no NULLs
 * (the messages name the argument, what).
 */
static char **
text_array_names(ArrayType *names, const char *what, int *n)
{
	Datum	   *datums = array_arg_elements(names, what, n);
	char	  **out;

	if (*n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must name at least one model", what),
				 errhint("For example ARRAY['mix', 'drums']; SELECT name FROM instsim.models "
						 "lists the models.")));
	out = palloc(sizeof(char *) * *n);
	for (int m = 0; m < *n; m++)
		out[m] = TextDatumGetCString(datums[m]);
	return out;
}

/* An embedding[] of the n embeddings of one segment or track. */
static ArrayType *
embedding_array(Embedding **embs, int n, Oid elem_type)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (!OidIsValid(elem_type))
		elog(ERROR, "an embedding[] result was expected");
	for (int m = 0; m < n; m++)
		elems[m] = PointerGetDatum(embs[m]);
	get_typlenbyvalalign(elem_type, &typlen, &typbyval, &typalign);
	return construct_array(elems, n, elem_type, typlen, typbyval, typalign);
}

/* instsim_embed(audio, models text[]): one decode and log-mel for all models. */
PG_FUNCTION_INFO_V1(instsim_embed_models);
Datum
instsim_embed_models(PG_FUNCTION_ARGS)
{
	int			n;
	char	  **models = text_array_names(PG_GETARG_ARRAYTYPE_P(1), "models", &n);
	EmbedCall	c;
	Embedding **tracks;

	embed_call_begin(&c, PG_GETARG_DATUM(0), models, n);
	tracks = palloc(sizeof(Embedding *) * n);
	if (!embed_call_tracks(&c, tracks))
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(embedding_array(tracks, n,
										  get_element_type(get_func_rettype(fcinfo->flinfo->fn_oid))));
}

PG_FUNCTION_INFO_V1(instsim_segments);
Datum
instsim_segments(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EmbedCall	c;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	embed_call_begin_one(&c, fcinfo);
	while ((n = embed_call_next(&c)) > 0)
	{
		for (int i = 0; i < n; i++)
		{
			Embedding  *e = new_embedding(c.dim[0]);
			Datum		values[3];
			bool		nulls[3] = {false};

			memcpy(e->x, c.emb[0] + i * c.dim[0], sizeof(float) * c.dim[0]);
			values[0] = Int32GetDatum((int32) Min(c.index[i], PG_INT32_MAX));
			values[1] = Float4GetDatum((float4) c.start[i]);
			values[2] = PointerGetDatum(e);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			pfree(e);
		}
	}
	audio_input_close(c.in);
	return (Datum) 0;
}

/*
 * instsim_segments(audio, models text[] [, model_sha256 text[]]): every
 * non-silent segment's embeddings under several models, in the order named,
 * from one decode and one log-mel image per segment; with the SHA-256s, only
 * those versions of the models (else 55000).
 */
PG_FUNCTION_INFO_V1(instsim_segments_models);
Datum
instsim_segments_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n;
	char	  **models = text_array_names(PG_GETARG_ARRAYTYPE_P(1), "models", &n);
	Oid			elem_type;
	Embedding **embs;
	EmbedCall	c;
	int			count;

	if (PG_NARGS() > 2)
	{
		int			n_sha;
		char	  **shas = text_array_names(PG_GETARG_ARRAYTYPE_P(2), "model_sha256", &n_sha);

		if (n_sha != n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("model_sha256 has %d elements, models %d", n_sha, n),
					 errhint("Give one SHA-256 per model, from instsim.models.sha256.")));
		for (int m = 0; m < n; m++)
			pg_model_embedder_version(models[m], shas[m]);
	}
	InitMaterializedSRF(fcinfo, 0);
	elem_type = get_element_type(TupleDescAttr(rsinfo->setDesc, 2)->atttypid);
	embs = palloc(sizeof(Embedding *) * n);
	embed_call_begin(&c, PG_GETARG_DATUM(0), models, n);
	while ((count = embed_call_next(&c)) > 0)
	{
		for (int i = 0; i < count; i++)
		{
			Datum		values[3];
			bool		nulls[3] = {false};
			ArrayType  *a;

			for (int m = 0; m < n; m++)
			{
				embs[m] = new_embedding(c.dim[m]);
				memcpy(embs[m]->x, c.emb[m] + i * c.dim[m], sizeof(float) * c.dim[m]);
			}
			a = embedding_array(embs, n, elem_type);
			values[0] = Int32GetDatum((int32) Min(c.index[i], PG_INT32_MAX));
			values[1] = Float4GetDatum((float4) c.start[i]);
			values[2] = PointerGetDatum(a);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			pfree(a);
			for (int m = 0; m < n; m++)
				pfree(embs[m]);
		}
	}
	audio_input_close(c.in);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(instsim_mel);
Datum
instsim_mel(PG_FUNCTION_ARGS)
{
	double		start_s = PG_GETARG_FLOAT8(1);
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(2));
	is_embedder *e = pg_model_embedder(model);
	const is_frontend *fe = is_embedder_frontend(e);
	AudioInput *in = audio_input_open(PG_GETARG_DATUM(0), fe->sample_rate);
	is_segmenter *sg;
	is_segment	seg;
	is_audio_error err;
	int			got;
	int			size = is_embedder_mel_size(e);
	float	   *mel;
	Datum	   *elems;
	int			dims[2] = {fe->n_mels, size / fe->n_mels};
	int			lbs[2] = {1, 1};

	sg = audio_input_segments(in, fe);
	do
	{
		CHECK_FOR_INTERRUPTS();
		got = is_segmenter_next(sg, &seg, &err);
	} while (got > 0 && seg.start_s < start_s - 1e-9);
	if (got < 0)
		audio_input_error(in, &err);
	if (got == 0)
	{
		audio_input_close(in);
		PG_RETURN_NULL();
	}
	mel = palloc(sizeof(float) * size);
	is_embedder_mel(e, seg.samples, mel);
	audio_input_close(in);

	elems = palloc(sizeof(Datum) * size);
	for (int i = 0; i < size; i++)
		elems[i] = Float4GetDatum(mel[i]);
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, NULL, 2, dims, lbs, FLOAT4OID,
											 sizeof(float4), true, TYPALIGN_INT));
}
