/*
 * Audio decoding for the front end: compressed or PCM audio held in memory (or
 * behind a read-at-offset callback, e.g. TOAST slices of a bytea) becomes a
 * stream of mono float samples at the front end's sample rate.
 *
 * Decoding is by libsndfile through its virtual I/O, so WAV, FLAC, OGG
 * (Vorbis/Opus), AIFF and the other containers listed in audio.c are read
 * without temporary files.  Channels are averaged to mono (the same as
 * torchaudio/librosa mono conversion), then resampled with libsamplerate's
 * SRC_SINC_MEDIUM_QUALITY converter when the file's rate differs from the
 * target: it keeps 90% of the band (up to 19.8 kHz at 44.1 kHz) at about 97 dB
 * SNR, several times faster than SINC_BEST, while SINC_FASTEST would cut the
 * band at 80%, i.e. empty the top mel bands.  It is still the costliest step
 * when it runs (about 5.5 M output samples/s on one core here: 8 ms per second
 * of audio, far more than the log-mel); 44.1 kHz inputs skip it.
 *
 * Memory bound: a stream holds libsndfile's decoder state, one block of
 * IS_AUDIO_BLOCK interleaved frames (at most IS_AUDIO_MAX_CHANNELS channels:
 * 4096 * 64 * 4 B = 1 MiB), one mono block and the resampler's filter state
 * (a few hundred KiB) -- about 2 MiB in the worst case, independent of the
 * duration, so 8 hours of audio stream through the same buffers as 3 s.  The
 * compressed input itself belongs to the caller (or stays behind the source
 * callback).  Only is_audio_decode() materialises a whole signal, and it is
 * capped by its max_frames argument.
 *
 * No function aborts or prints: every failure returns a status and fills
 * is_audio_error with a message fit to show a user.  Upstream defect guarded
 * against: libsndfile 1.2.0 leaks about 6 KiB (libvorbis's codec setup,
 * malloc'd outside any PostgreSQL memory context) per OGG file it fails to
 * open, so audio_ogg.c refuses damaged OGG headers before libsndfile opens
 * them.  A file crafted with valid CRCs and a malformed Vorbis setup header
 * still reaches that path.
 */
#ifndef INSTSIM_AUDIO_H
#define INSTSIM_AUDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Plausible audio: anything outside is refused as a corrupt header. */
#define IS_AUDIO_MIN_RATE		1000
#define IS_AUDIO_MAX_RATE		384000
#define IS_AUDIO_MAX_CHANNELS	64
/* A sample beyond 120 dB over full scale (1.0) is damage, not audio. */
#define IS_AUDIO_MAX_SAMPLE		1e6f
/* Frames decoded per libsndfile call. */
#define IS_AUDIO_BLOCK			4096

typedef enum is_audio_status
{
	IS_AUDIO_OK = 0,
	IS_AUDIO_INVALID_ARG,		/* caller passed a NULL/impossible argument */
	IS_AUDIO_EMPTY,				/* zero-length input */
	IS_AUDIO_UNRECOGNISED,		/* not audio, unsupported format or bad header */
	IS_AUDIO_BAD_RATE,			/* sample rate outside the plausible range */
	IS_AUDIO_BAD_CHANNELS,		/* 0 or more than IS_AUDIO_MAX_CHANNELS */
	IS_AUDIO_CORRUPT,			/* decoding failed part-way or bad samples */
	IS_AUDIO_TOO_LONG,			/* is_audio_decode(): more than max_frames */
	IS_AUDIO_NO_MEMORY,
	IS_AUDIO_SOURCE_ERROR,		/* the caller's read callback failed */
	IS_AUDIO_NOT_FINITE,		/* embed.c: a network gave a non-finite output */
	IS_AUDIO_STOPPED			/* embed.c: the interrupt callback stopped a pass */
} is_audio_status;

typedef struct is_audio_error
{
	is_audio_status status;
	char		message[256];
} is_audio_error;

typedef struct is_audio_info
{
	int			sample_rate;	/* of the file, Hz */
	int			channels;
	int64_t		frames;			/* per channel as declared; -1 if unknown */
	double		seconds;		/* frames / sample_rate; -1 if unknown */
	char		format[64];		/* libsndfile's container name, e.g. "FLAC ..." */
	char		encoding[64];	/* libsndfile's subtype, e.g. "Signed 16 bit PCM" */
} is_audio_info;

/*
 * Random-access input.  read_at copies up to n bytes from offset into buf and
 * returns the count (0 past the end) or -1 on failure.  It is called many times
 * with small n, so a slow backend should buffer.
 */
typedef struct is_audio_source
{
	int64_t		length;
	ssize_t		(*read_at) (void *ctx, int64_t offset, void *buf, size_t n);
	void	   *ctx;
} is_audio_source;

typedef struct is_audio_stream is_audio_stream;

/* Reads the header only: cheap even for hours of audio. */
is_audio_status is_audio_probe(const void *data, size_t len,
							   is_audio_info *info, is_audio_error *err);

/*
 * Opens a decoding stream producing mono float at target_rate.  data must stay
 * valid (and unchanged) until is_audio_close().  *out is NULL on failure.
 */
is_audio_status is_audio_open(const void *data, size_t len, int target_rate,
							  is_audio_stream **out, is_audio_error *err);
is_audio_status is_audio_open_source(const is_audio_source *src, int target_rate,
									 is_audio_stream **out, is_audio_error *err);

const is_audio_info *is_audio_stream_info(const is_audio_stream *s);

/*
 * Fills buf with up to max mono frames at the target rate.  Returns the number
 * written (it fills buf completely except at the end of the audio), 0 at the
 * end, or -1 with err set; after an error the stream only returns -1.
 */
ssize_t		is_audio_read(is_audio_stream *s, float *buf, size_t max,
						  is_audio_error *err);

void		is_audio_close(is_audio_stream *s);

/*
 * Whole-signal convenience for short files (tests, training stems): *out is
 * malloc'd (free() it), *n_out its length.  More than max_frames output frames
 * is IS_AUDIO_TOO_LONG, so the caller chooses the memory ceiling.
 */
is_audio_status is_audio_decode(const void *data, size_t len, int target_rate,
								size_t max_frames, float **out, size_t *n_out,
								is_audio_error *err);

const char *is_audio_status_name(is_audio_status status);

/* Fills err (if not NULL) with status and a printf-style message; returns status. */
is_audio_status is_audio_set_error(is_audio_error *err, is_audio_status status,
								   const char *fmt,...) __attribute__((format(printf, 3, 4)));

#endif
