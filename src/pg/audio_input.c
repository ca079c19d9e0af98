#include "postgres.h"

#include "access/detoast.h"
#include "fmgr.h"
#include "utils/memutils.h"

#include "audio_input.h"

/* TOAST bytes fetched per slice: libsndfile reads a few KB at a time. */
#define SLICE_BYTES (1024 * 1024)

static bool compressed_notice_sent = false;

struct AudioInput
{
	is_audio_stream *stream;
	is_embed_run *run;
	is_segmenter *segmenter;
	MemoryContextCallback cleanup;

	/* slice reader state, for out-of-line values */
	struct varlena *toast_pointer;
	int64		length;
	bytea	   *slice;
	int64		slice_start;
	ErrorData  *read_error;		/* a TOAST read error, re-thrown later */
	MemoryContext cxt;
};

static void
release(void *arg)
{
	AudioInput *in = arg;

	if (in->run)
		is_embed_end(in->run);
	if (in->segmenter)
		is_segmenter_free(in->segmenter);
	if (in->stream)
		is_audio_close(in->stream);
	in->run = NULL;
	in->segmenter = NULL;
	in->stream = NULL;
}

/*
 * Replaces the cached slice by the one starting at offset.  Called from inside
 * libsndfile, so an ERROR must not longjmp through it: a failure is caught and
 * kept for audio_input_error, and reported to the decoder as a read error.
 */
static bool
fetch_slice(AudioInput *in, int64 offset)
{
	MemoryContext old = MemoryContextSwitchTo(in->cxt);

	PG_TRY();
	{
		if (in->slice)
			pfree(in->slice);
		in->slice = NULL;
		in->slice = (bytea *) detoast_attr_slice(in->toast_pointer, offset, SLICE_BYTES);
		in->slice_start = offset;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(in->cxt);
		in->read_error = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	return in->read_error == NULL;
}

static ssize_t
read_slice(void *ctx, int64_t offset, void *buf, size_t n)
{
	AudioInput *in = ctx;
	int64		have;

	if (offset >= in->length)
		return 0;
	if ((!in->slice || offset < in->slice_start ||
		 offset >= in->slice_start + (int64) VARSIZE_ANY_EXHDR(in->slice)) &&
		!fetch_slice(in, offset))
		return -1;
	have = in->slice_start + VARSIZE_ANY_EXHDR(in->slice) - offset;
	if ((int64) n > have)
		n = have;
	memcpy(buf, VARDATA_ANY(in->slice) + (offset - in->slice_start), n);
	return n;
}

void
audio_input_error(AudioInput *in, const is_audio_error *err)
{
	int			code;

	if (in && in->read_error)
		ReThrowError(in->read_error);
	switch (err->status)
	{
		case IS_AUDIO_EMPTY:
		case IS_AUDIO_INVALID_ARG:
			code = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		case IS_AUDIO_NO_MEMORY:
			code = ERRCODE_OUT_OF_MEMORY;
			break;
		case IS_AUDIO_TOO_LONG:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		default:
			code = ERRCODE_INVALID_BINARY_REPRESENTATION;
			break;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("cannot decode audio: %s", err->message),
			 errhint("instsim reads WAV, FLAC, OGG (Vorbis/Opus) and AIFF files stored as bytea.")));
}

/*
 * A compressed value cannot be read in slices (PostgreSQL inflates it from
 * the start), so it is detoasted whole: once per session, say so when that is
 * more than one slice, with the fix.  Compressing audio gains little anyway.
 */
static void
notice_compressed(struct varlena *raw)
{
	Size		size = toast_raw_datum_size(PointerGetDatum(raw)) - VARHDRSZ;

	if (compressed_notice_sent || size <= SLICE_BYTES)
		return;
	compressed_notice_sent = true;
	ereport(NOTICE,
			(errmsg("compressed audio value of %zu bytes is decompressed whole in memory", size),
			 errdetail("Uncompressed out-of-line values are read in %d-MB slices.",
					   SLICE_BYTES >> 20),
			 errhint("Use ALTER TABLE ... ALTER COLUMN ... SET STORAGE EXTERNAL for audio columns; "
					 "it applies to values stored afterwards.")));
}

AudioInput *
audio_input_open(Datum audio, int target_rate)
{
	AudioInput *in = palloc0(sizeof(AudioInput));
	struct varlena *raw = (struct varlena *) DatumGetPointer(audio);
	is_audio_error err;
	is_audio_status st;

	in->cxt = CurrentMemoryContext;
	in->cleanup.func = release;
	in->cleanup.arg = in;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &in->cleanup);

	if (VARATT_IS_EXTERNAL_ONDISK(raw))
	{
		struct varatt_external ext;

		VARATT_EXTERNAL_GET_POINTER(ext, raw);
		if (!VARATT_EXTERNAL_IS_COMPRESSED(ext))
		{
			is_audio_source src = {.length = VARATT_EXTERNAL_GET_EXTSIZE(ext),
			.read_at = read_slice,.ctx = in};

			in->toast_pointer = raw;
			in->length = src.length;
			st = is_audio_open_source(&src, target_rate, &in->stream, &err);
			if (st != IS_AUDIO_OK)
				audio_input_error(in, &err);
			return in;
		}
	}
	if (VARATT_IS_EXTERNAL_ONDISK(raw) || VARATT_IS_COMPRESSED(raw))
		notice_compressed(raw);
	{
		bytea	   *b = DatumGetByteaPP(audio);

		st = is_audio_open(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), target_rate, &in->stream, &err);
		if (st != IS_AUDIO_OK)
			audio_input_error(in, &err);
	}
	return in;
}

is_audio_stream *
audio_input_stream(AudioInput *in)
{
	return in->stream;
}

is_embed_run *
audio_input_embed(AudioInput *in, is_embedder *const *e, int n_models, int max_segments)
{
	is_audio_error err;

	in->run = is_embed_begin_multi(e, n_models, is_segment_read_stream, in->stream,
								   max_segments, &err);
	if (!in->run)
		audio_input_error(in, &err);
	return in->run;
}

is_segmenter *
audio_input_segments(AudioInput *in, const is_frontend *fe)
{
	is_audio_error err;

	if (is_segmenter_new(fe, 0, is_segment_read_stream, in->stream, &in->segmenter, &err) != IS_AUDIO_OK)
		audio_input_error(in, &err);
	return in->segmenter;
}

void
audio_input_close(AudioInput *in)
{
	release(in);
}
