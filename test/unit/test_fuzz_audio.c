/*
 * Fuzz the decoder with thousands of damaged files: bit flips, truncations,
 * overwritten runs, tampered headers and random bytes behind a valid magic.
 * Every outcome must be either an error with a documented status and a
 * message, or bounded, finite audio whose segment embeddings are finite and
 * of unit length; a crash or hang fails the whole program.  Damaged OGG files
 * must not leak (libsndfile's open error path does; audio_ogg.c guards it).
 * Deterministic (fixed seed).
 */
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio_encode.h"
#include "embed.h"
#include "nn_synth.h"
#include "segment.h"
#include "tap.h"

#define RATE 44100
#ifndef PER_BASE
#define PER_BASE 1200
#endif
#define MAX_FRAMES (4 * RATE)

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t) (rng >> 16);
}

static size_t
mutate(unsigned char *buf, const unsigned char *orig, size_t len)
{
	size_t		n = len;

	memcpy(buf, orig, len);
	switch (next_rand() % 5)
	{
		case 0:					/* bit flips anywhere */
			for (int k = 1 + next_rand() % 8; k > 0; k--)
				buf[next_rand() % len] ^= (unsigned char) (1u << (next_rand() % 8));
			break;
		case 1:					/* truncation */
			n = next_rand() % len;
			break;
		case 2:					/* a run of random bytes */
			{
				size_t		at = next_rand() % len;
				size_t		run = 1 + next_rand() % 256;

				for (size_t i = at; i < len && i < at + run; i++)
					buf[i] = (unsigned char) next_rand();
			}
			break;
		case 3:					/* header fields set to extremes */
			{
				static const unsigned char special[] = {0x00, 0xff, 0x7f, 0x80, 0x01};

				for (int k = 1 + next_rand() % 4; k > 0; k--)
					buf[next_rand() % (len < 128 ? len : 128)] = special[next_rand() % 5];
			}
			break;
		default:				/* valid magic, random body */
			for (size_t i = 16; i < len; i++)
				buf[i] = (unsigned char) next_rand();
			n = 16 + next_rand() % (len - 16);
			break;
	}
	return n;
}

static float *
test_tone(int frames)
{
	float	   *x = malloc(sizeof(float) * 2 * frames);

	for (int i = 0; x && i < frames; i++)
	{
		x[2 * i] = (float) (0.5 * sin(i * 0.0627));
		x[2 * i + 1] = (float) (0.3 * sin(i * 0.0411));
	}
	return x;
}

static is_embedder *embedder;

/* What a damaged file may fail with (audio.h); anything else is a defect. */
static int
documented_failure(is_audio_status st)
{
	return st == IS_AUDIO_EMPTY || st == IS_AUDIO_UNRECOGNISED || st == IS_AUDIO_BAD_RATE ||
		st == IS_AUDIO_BAD_CHANNELS || st == IS_AUDIO_CORRUPT || st == IS_AUDIO_TOO_LONG;
}

/* Up to 3 segment embeddings of an accepted file: finite and of unit length. */
static int
embeddings_sound(const unsigned char *buf, size_t n, int *embedded)
{
	is_audio_stream *s = NULL;
	is_audio_error err = {0};
	is_embed_run *r = NULL;
	float		emb[16 * 128];
	int			got = 0,
				ok = 1;

	if (is_audio_open(buf, n, RATE, &s, &err) == IS_AUDIO_OK)
		r = is_embed_begin(embedder, is_segment_read_stream, s, 3, &err);
	if (r)
		got = is_embed_next(r, emb, NULL, NULL, &err);
	if (got < 0)
		ok = documented_failure(err.status);
	*embedded += got > 0;
	for (int i = 0; i < got; i++)
	{
		double		ss = 0;

		for (int d = 0; d < 128; d++)
			ss += (double) emb[i * 128 + d] * emb[i * 128 + d];
		ok &= fabs(ss - 1.0) < 1e-3;	/* false for NaN too */
	}
	is_embed_end(r);
	is_audio_close(s);
	return ok;
}

/* Decodes one damaged file whole, through the segmenter and through a model. */
static int
try_decode(const unsigned char *buf, size_t n, int *decoded, int *embedded)
{
	is_frontend fe = IS_FRONTEND_DEFAULT;
	is_audio_info info;
	is_audio_error err = {0};
	float	   *mono = NULL;
	size_t		frames = 0;
	int			target = next_rand() % 4 == 0 ? 48000 : RATE;
	is_audio_status st = is_audio_decode(buf, n, target, MAX_FRAMES, &mono, &frames, &err);
	is_audio_stream *s = NULL;
	is_segmenter *sg = NULL;
	is_segment	seg;

	is_audio_probe(buf, n, &info, &err);
	if (st == IS_AUDIO_OK)
	{
		int			bad = frames > MAX_FRAMES;

		(*decoded)++;
		for (size_t i = 0; i < frames; i++)
			bad |= !(fabsf(mono[i]) <= IS_AUDIO_MAX_SAMPLE);
		free(mono);
		if (bad || !embeddings_sound(buf, n, embedded))
			return 0;
	}
	else if (mono || err.status != st || !err.message[0] || !documented_failure(st))
		return 0;
	if (is_audio_open(buf, n, RATE, &s, &err) == IS_AUDIO_OK &&
		is_segmenter_new(&fe, 3, is_segment_read_stream, s, &sg, &err) == IS_AUDIO_OK)
		while (is_segmenter_next(sg, &seg, &err) == 1)
			;
	is_segmenter_free(sg);
	is_audio_close(s);
	return 1;
}

static size_t
heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/*
 * Opening 2000 damaged OGG files leaves the heap as it was (libsndfile alone
 * loses about 6 KiB per file it fails to open).
 */
static void
test_ogg_leak(const unsigned char *orig, size_t len)
{
	unsigned char *buf = malloc(len);
	size_t		before = 0;
	int			failed = 0;

	for (int i = 0; i < 2200; i++)
	{
		size_t		n = mutate(buf, orig, len);
		is_audio_stream *s = NULL;
		is_audio_error err;

		if (i == 200)
			before = heap_bytes();	/* after libraries' one-time allocations */
		if (is_audio_open(buf, n, RATE, &s, &err) != IS_AUDIO_OK)
			failed += i >= 200;
		is_audio_close(s);
	}
	tap_ok(heap_bytes() <= before + 65536, "OGG: %d of 2000 damaged files refused, heap grew by %zd bytes",
		   failed, (ssize_t) (heap_bytes() - before));
	free(buf);
}

int
main(void)
{
	static const struct
	{
		is_audio_container c;
		const char *name;
	}			bases[] = {
		{IS_AUDIO_WAV_PCM16, "WAV 16-bit"},
		{IS_AUDIO_WAV_FLOAT, "WAV float"},
		{IS_AUDIO_FLAC_PCM16, "FLAC"},
		{IS_AUDIO_OGG_VORBIS, "OGG Vorbis"},
		{IS_AUDIO_AIFF_PCM16, "AIFF"},
	};
	int			frames = RATE / 4;
	float	   *x = test_tone(frames);
	/* 0.2-s segments, so that the 0.25-s test files reach the network */
	is_frontend fe = {.sample_rate = RATE,.segment_s = 0.2,.hop_s = 0.05,.silence_dbfs = -60.0,
		.n_fft = 512,.hop_length = 256,.n_mels = 32,.f_min = 0.0,.f_max = RATE / 2.0,
	.log_offset = 1e-6};
	is_model	m;
	char		merr[256];

	if (is_model_synth(&m, "mix", &fe, 1, merr, sizeof(merr)) < 0 ||
		!(embedder = is_embedder_new(&m, 16, 1, merr, sizeof(merr))))
	{
		tap_ok(0, "synthetic model: %s", merr);
		return tap_done();
	}
	is_model_free(&m);

	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
	{
		unsigned char *orig = NULL;
		size_t		len = 0;
		is_audio_error err = {0};
		unsigned char *buf;
		int			ok = 1,
					decoded = 0,
					embedded = 0;

		if (is_audio_encode(x, (size_t) frames, 2, RATE, bases[b].c, &orig, &len, &err) != IS_AUDIO_OK)
		{
			tap_ok(0, "%s: encode base file: %s", bases[b].name, err.message);
			continue;
		}
		buf = malloc(len);
		for (int i = 0; i < PER_BASE && ok; i++)
			ok = try_decode(buf, mutate(buf, orig, len), &decoded, &embedded);
		tap_ok(ok, "%s: %d damaged files, each a documented error or finite bounded audio "
			   "with unit-length embeddings (%d decoded, %d embedded)", bases[b].name, PER_BASE,
			   decoded, embedded);
		if (bases[b].c == IS_AUDIO_OGG_VORBIS)
			test_ogg_leak(orig, len);
		free(buf);
		free(orig);
	}
	free(x);
	is_embedder_free(embedder);
	return tap_done();
}
