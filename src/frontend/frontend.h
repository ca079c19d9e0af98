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

#endif
