/*
 * Fuzz the decoder with thousands of damaged files: bit flips, truncations,
 * overwritten runs, tampered headers and random bytes behind a valid magic.
 * Every outcome must be either an error with a message or bounded, finite
 * audio; a crash or hang fails the whole program.  Deterministic (fixed seed).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio_encode.h"
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

/* Decodes one damaged file both whole and through the segmenter. */
static int
try_decode(const unsigned char *buf, size_t n, int *decoded)
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
		if (bad)
			return 0;
	}
	else if (mono || err.status != st || !err.message[0])
		return 0;
	if (is_audio_open(buf, n, RATE, &s, &err) == IS_AUDIO_OK &&
		is_segmenter_new(&fe, 3, is_segment_read_stream, s, &sg, &err) == IS_AUDIO_OK)
		while (is_segmenter_next(sg, &seg, &err) == 1)
			;
	is_segmenter_free(sg);
	is_audio_close(s);
	return 1;
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

	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
	{
		unsigned char *orig = NULL;
		size_t		len = 0;
		is_audio_error err = {0};
		unsigned char *buf;
		int			ok = 1,
					decoded = 0;

		if (is_audio_encode(x, (size_t) frames, 2, RATE, bases[b].c, &orig, &len, &err) != IS_AUDIO_OK)
		{
			tap_ok(0, "%s: encode base file: %s", bases[b].name, err.message);
			continue;
		}
		buf = malloc(len);
		for (int i = 0; i < PER_BASE && ok; i++)
			ok = try_decode(buf, mutate(buf, orig, len), &decoded);
		tap_ok(ok, "%s: %d damaged files, each an error or finite bounded audio (%d decoded)",
			   bases[b].name, PER_BASE, decoded);
		free(buf);
		free(orig);
	}
	free(x);
	return tap_done();
}
