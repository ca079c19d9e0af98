/*
 * Opening a bytea argument as an audio stream with bounded memory and with
 * PostgreSQL's error handling around the core decoder.
 */
#ifndef INSTSIM_AUDIO_INPUT_H
#define INSTSIM_AUDIO_INPUT_H

#include "postgres.h"

#include "audio.h"
#include "embed.h"

typedef struct AudioInput AudioInput;

/*
 * Opens the (possibly toasted) bytea datum as mono audio at target_rate.  A
 * large uncompressed out-of-line value is read in slices through the TOAST
 * table, never detoasted whole; anything else is detoasted (it is small, or
 * compressed and so must be inflated anyway: a NOTICE, once per session,
 * recommends SET STORAGE EXTERNAL when that is more than one slice).  Raises an error for audio the
 * decoder refuses.  Everything the decoder allocates is released when the
 * current memory context is reset, including after an error.
 */
extern AudioInput *audio_input_open(Datum audio, int target_rate);

/* The stream, for is_audio_stream_info and the segmenter. */
extern is_audio_stream *audio_input_stream(AudioInput *in);

/*
 * Starts an embedding run over the input (max_segments <= 0: all) with one
 * model, or with several that share a front end (see is_embed_begin_multi).
 */
extern is_embed_run *audio_input_embed(AudioInput *in, is_embedder *const *e, int n_models,
									   int max_segments);

/* A segmenter over the input, for callers that need the samples themselves. */
extern is_segmenter *audio_input_segments(AudioInput *in, const is_frontend *fe);

/*
 * Raises the error for a failed core call on this input: a TOAST read error
 * is re-thrown as it was, the decoder's own errors with a fitting SQLSTATE.
 */
extern void audio_input_error(AudioInput *in, const is_audio_error *err) pg_attribute_noreturn();

/* Releases the decoder now (it is otherwise released with the context). */
extern void audio_input_close(AudioInput *in);

#endif
