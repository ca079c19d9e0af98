/*
 * Front-end parameters: how audio becomes network input.  A model stores the
 * values it was trained with in its metadata, and everything downstream
 * (segmenter, mel, server functions, trainer) reads them from there, so the
 * defaults below are written exactly once.
 */
#ifndef INSTSIM_FRONTEND_H
#define INSTSIM_FRONTEND_H

typedef struct is_frontend
{
	int			sample_rate;	/* Hz; audio is resampled to this */
	double		segment_s;		/* segment length, seconds */
	double		hop_s;			/* segment hop, seconds (50% overlap) */
	double		silence_dbfs;	/* segment RMS below this is silent */
	int			n_fft;			/* STFT size (Hann window of the same length) */
	int			hop_length;		/* STFT hop, samples; frames are centred */
	int			n_mels;			/* Slaney-normalised, Slaney-scale mel bands */
	double		f_min;
	double		f_max;
	double		log_offset;		/* log-mel = ln(mel_power + log_offset) */
} is_frontend;

/* The paper's 3-s / 1.5-s segmentation at 44.1 kHz (docs/evaluation.md). */
#define IS_FRONTEND_DEFAULT { \
	.sample_rate = 44100, .segment_s = 3.0, .hop_s = 1.5, .silence_dbfs = -60.0, \
	.n_fft = 2048, .hop_length = 1024, .n_mels = 128, .f_min = 0.0, \
	.f_max = 22050.0, .log_offset = 1e-6 }

/*
 * Do two front ends cut and transform audio identically, so that one
 * model's input images serve another (field by field: padding bytes are not
 * compared)?
 */
static inline int
is_frontend_same(const is_frontend *a, const is_frontend *b)
{
	return a->sample_rate == b->sample_rate && a->segment_s == b->segment_s &&
		a->hop_s == b->hop_s && a->silence_dbfs == b->silence_dbfs &&
		a->n_fft == b->n_fft && a->hop_length == b->hop_length &&
		a->n_mels == b->n_mels && a->f_min == b->f_min && a->f_max == b->f_max &&
		a->log_offset == b->log_offset;
}

#endif
