/*
 * Audio to embeddings: the pipeline that the SQL functions, the CLI tools and
 * the tests share.  A model's front end cuts the stream into segments (silent
 * ones skipped), each becomes a log-mel image, and the network turns batches of
 * them into L2-normalised embeddings.
 *
 * Two objects, so that the expensive part is built once:
 *   is_embedder  per model: the mel context (FFTW plan) and the inference plan
 *                (folded, packed weights and the activation arena).  The server
 *                caches one per model and backend.
 *   is_embed_run per audio stream: the segmenter and its window.  It is driven
 *                batch by batch, so the caller can check for interrupts and
 *                stop between batches, and memory is bounded by one window plus
 *                one batch whatever the length of the audio.  One run may feed
 *                several models with the same front end: the audio is decoded
 *                and each batch's log-mel computed once, then every network
 *                runs on the same images.
 * Neither is thread-safe; a thread needs its own embedder.
 */
#ifndef INSTSIM_EMBED_H
#define INSTSIM_EMBED_H

#include <stdint.h>

#include "audio.h"
#include "model.h"
#include "segment.h"

typedef struct is_embedder is_embedder;
typedef struct is_embed_run is_embed_run;

/* Copies what it needs from m: the model may be freed afterwards. */
is_embedder *is_embedder_new(const is_model *m, int max_batch, int threads,
							 char *err, size_t errlen);
/* The same with every inference option (e.g. an arena limit). */
is_embedder *is_embedder_new_opts(const is_model *m, const is_infer_opts *opts,
								  char *err, size_t errlen);
/* Interrupt callback of the embedder's network (see is_infer_set_interrupt). */
void		is_embedder_set_interrupt(is_embedder *e, is_interrupt_fn fn, void *arg);
void		is_embedder_free(is_embedder *e);

int			is_embedder_dim(const is_embedder *e);
int			is_embedder_max_batch(const is_embedder *e);
const is_frontend *is_embedder_frontend(const is_embedder *e);

/* Mel image size of one segment: n_mels * frames floats. */
int			is_embedder_mel_size(const is_embedder *e);

/*
 * 0 when a and b cut and transform audio identically (every field equal);
 * otherwise 1 with the first differing field and both values in msg.
 */
int			is_frontend_differs(const is_frontend *a, const is_frontend *b,
								char *msg, size_t msglen);

/*
 * Starts a run of n_models embedders (1 or more, all with the same front end,
 * else IS_AUDIO_INVALID_ARG) over mono samples at their sample rate (see
 * is_sample_reader; is_segment_read_stream adapts an is_audio_stream).  The
 * same embedder may appear more than once.  max_segments <= 0: all non-silent
 * segments.  NULL on failure with err set.
 */
is_embed_run *is_embed_begin_multi(is_embedder *const *e, int n_models,
								   is_sample_reader read, void *read_ctx,
								   int max_segments, is_audio_error *err);

/*
 * Embeds up to the smallest max_batch of the run's embedders further
 * non-silent segments: emb[m] receives n x dim floats from model m, index /
 * start_s (either may be NULL) each segment's window number and start time.
 * Returns n (0 at the end) or -1 with err set.  Every output is finite: a
 * network that overflows fails with IS_AUDIO_NOT_FINITE, a NULL emb[m] with
 * IS_AUDIO_INVALID_ARG (is_embed_failed_model tells which).  IS_AUDIO_STOPPED
 * means an interrupt callback stopped a pass: the run stays usable, and the
 * next call with the same buffers resumes the same batch.
 */
int			is_embed_next_multi(is_embed_run *r, float *const *emb, int64_t *index,
								double *start_s, is_audio_error *err);
int			is_embed_failed_model(const is_embed_run *r);

/*
 * The model of the run whose pass model m continues: m itself, or an earlier
 * model computing the same first operations (is_infer_shared_prefix: heads
 * trained together, models on another's frozen blocks), and how many of
 * them m takes from it (0 when it runs alone).  Each model continues from
 * the one it shares most with, so passes are shared as a tree.  Results are
 * those of separate runs either way; only the work is shared.
 */
int			is_embed_trunk_of(const is_embed_run *r, int m);
int			is_embed_shared_ops(const is_embed_run *r, int m);

/* The one-model case of the two above. */
is_embed_run *is_embed_begin(is_embedder *e, is_sample_reader read, void *read_ctx,
							 int max_segments, is_audio_error *err);
int			is_embed_next(is_embed_run *r, float *emb, int64_t *index, double *start_s,
						  is_audio_error *err);

/* The log-mel image (n_mels x frames) of one segment's samples, for inspection. */
void		is_embedder_mel(is_embedder *e, const float *samples, float *out);

/* Windows seen so far, and how many were silent. */
int64_t		is_embed_windows(const is_embed_run *r);
int64_t		is_embed_silent(const is_embed_run *r);

void		is_embed_end(is_embed_run *r);

/* In place: x (dim floats) scaled to unit length; a zero vector stays zero. */
void		is_l2_normalize(float *x, int dim);

#endif
