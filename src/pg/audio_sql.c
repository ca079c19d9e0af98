/*
 * The SQL functions that turn stored audio into embeddings.  Each is a thin
 * loop over the core pipeline (src/core/embed.c): decode, segment, log-mel,
 * CNN, checking for interrupts between batches of segments.
 *
 * Memory per call, whatever the audio's length: the input as described in
 * audio_input.h (a 1 MiB TOAST slice for large out-of-line values), about
 * 2 MiB of decoder and resampler state, one 3-s window (517 KiB), one batch of
 * 16 mel images (1 MiB) and the model's cached activation arena; plus, for
 * instsim_segments, its result rows (512 B each, spilled to disk past
 * work_mem).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

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

/* Per call: the model's embedder and a run over the argument's audio. */
typedef struct EmbedCall
{
	AudioInput *in;
	is_embedder *embedder;
	is_embed_run *run;
	int			dim;
	float	   *emb;			/* one batch of embeddings */
	int64	   *index;
	double	   *start;
} EmbedCall;

static void
embed_call_begin(EmbedCall *c, FunctionCallInfo fcinfo, int model_arg)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(model_arg));
	int			batch;

	c->embedder = pg_model_embedder(model);
	c->dim = is_embedder_dim(c->embedder);
	batch = is_embedder_max_batch(c->embedder);
	c->emb = palloc(sizeof(float) * batch * c->dim);
	c->index = palloc(sizeof(int64) * batch);
	c->start = palloc(sizeof(double) * batch);
	c->in = audio_input_open(PG_GETARG_DATUM(0), is_embedder_frontend(c->embedder)->sample_rate);
	c->run = audio_input_embed(c->in, c->embedder, 0);
}

/* The next batch of segment embeddings; 0 at the end. */
static int
embed_call_next(EmbedCall *c)
{
	is_audio_error err;
	int			n;

	CHECK_FOR_INTERRUPTS();
	n = is_embed_next(c->run, c->emb, c->index, c->start, &err);
	if (n < 0)
		audio_input_error(c->in, &err);
	return n;
}

PG_FUNCTION_INFO_V1(instsim_embed);
Datum
instsim_embed(PG_FUNCTION_ARGS)
{
	EmbedCall	c;
	double	   *sum;
	int64		count = 0;
	int			n;
	Embedding  *result;

	embed_call_begin(&c, fcinfo, 1);
	sum = palloc0(sizeof(double) * c.dim);
	while ((n = embed_call_next(&c)) > 0)
	{
		for (int i = 0; i < n; i++)
			for (int d = 0; d < c.dim; d++)
				sum[d] += c.emb[i * c.dim + d];
		count += n;
	}
	audio_input_close(c.in);
	if (count == 0)
		PG_RETURN_NULL();

	/* the centroid's direction is the sum's; normalising it is the paper's track vector */
	result = new_embedding(c.dim);
	for (int d = 0; d < c.dim; d++)
		result->x[d] = (float) sum[d];
	is_l2_normalize(result->x, c.dim);
	PG_RETURN_EMBEDDING_P(result);
}

PG_FUNCTION_INFO_V1(instsim_segments);
Datum
instsim_segments(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EmbedCall	c;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	embed_call_begin(&c, fcinfo, 1);
	while ((n = embed_call_next(&c)) > 0)
	{
		for (int i = 0; i < n; i++)
		{
			Embedding  *e = new_embedding(c.dim);
			Datum		values[3];
			bool		nulls[3] = {false};

			memcpy(e->x, c.emb + i * c.dim, sizeof(float) * c.dim);
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
