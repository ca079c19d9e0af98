#include "audio_sniff.h"
#include "audio_ogg.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MAX_CHUNKS 64

/* WAVE format tags of MPEG audio (plain and layer 3). */
#define TAG_MPEG 0x0050
#define TAG_MPEGLAYER3 0x0055
#define TAG_EXTENSIBLE 0xfffe

bool
is_audio_read_exact(const is_audio_source *src, int64_t at, void *buf, size_t n, bool *failed)
{
	size_t		got = 0;

	if (at < 0 || at > src->length || (int64_t) n > src->length - at)
		return false;
	while (got < n)
	{
		ssize_t		r = src->read_at(src->ctx, at + (int64_t) got, (char *) buf + got, n - got);

		if (r <= 0)
		{
			*failed = r < 0;
			return false;
		}
		got += (size_t) r;
	}
	return true;
}

static uint32_t
u32(const unsigned char *p, bool big)
{
	return big ? (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3]
		: p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static unsigned
u16(const unsigned char *p, bool big)
{
	return big ? (unsigned) p[0] << 8 | p[1] : p[0] | (unsigned) p[1] << 8;
}

/* Whether the fmt chunk of a RIFF/RIFX/RF64 WAVE file declares MPEG data. */
static bool
wave_is_mpeg(const is_audio_source *src, bool big, bool *failed)
{
	int64_t		at = 12;

	for (int i = 0; i < MAX_CHUNKS; i++)
	{
		unsigned char hdr[8],
					fmt[26];
		uint32_t	size;

		if (!is_audio_read_exact(src, at, hdr, 8, failed))
			return false;
		size = u32(hdr + 4, big);
		if (memcmp(hdr, "fmt ", 4) == 0)
		{
			unsigned	tag;

			if (size < 2 || !is_audio_read_exact(src, at + 8, fmt, size < sizeof(fmt) ? size : sizeof(fmt), failed))
				return false;
			tag = u16(fmt, big);
			if (tag == TAG_EXTENSIBLE && size >= sizeof(fmt))
				tag = u16(fmt + 24, big);	/* the subformat GUID's first two bytes */
			return tag == TAG_MPEG || tag == TAG_MPEGLAYER3;
		}
		if (memcmp(hdr, "data", 4) == 0)
			return false;
		at += 8 + (int64_t) size + (size & 1);
	}
	return false;
}

/* The 10-byte ID3v2 header's syncsafe size: the tag that may precede FLAC. */
static int64_t
id3_length(const unsigned char *p)
{
	return 10 + ((int64_t) (p[6] & 0x7f) << 21 | (p[7] & 0x7f) << 14 | (p[8] & 0x7f) << 7 | (p[9] & 0x7f));
}

is_audio_status
is_audio_sniff(const is_audio_source *src, is_audio_error *err)
{
	static const unsigned char w64_riff[16] = {'r', 'i', 'f', 'f', 0x2e, 0x91, 0xcf, 0x11,
	0xa5, 0xd6, 0x28, 0xdb, 0x04, 0xc1, 0x00, 0x00};
	unsigned char m[16] = {0};
	bool		failed = false;
	bool		big;

	is_audio_read_exact(src, 0, m, src->length < 16 ? (size_t) src->length : 16, &failed);
	if (failed)
		return is_audio_set_error(err, IS_AUDIO_SOURCE_ERROR, "could not read the audio data");
	if (memcmp(m, "ID3", 3) == 0 && src->length >= 10)
	{
		unsigned char flac[4];

		if (is_audio_read_exact(src, id3_length(m), flac, 4, &failed) && memcmp(flac, "fLaC", 4) == 0)
			return IS_AUDIO_OK;
	}
	else if ((big = memcmp(m, "RIFX", 4) == 0) || memcmp(m, "RIFF", 4) == 0 || memcmp(m, "RF64", 4) == 0)
	{
		if (memcmp(m + 8, "WAVE", 4) != 0)
			return is_audio_set_error(err, IS_AUDIO_UNRECOGNISED, "a RIFF file that is not WAVE");
		if (wave_is_mpeg(src, big, &failed))
			return is_audio_set_error(err, IS_AUDIO_UNRECOGNISED, "MPEG audio in WAV is not supported");
		if (!failed)
			return IS_AUDIO_OK;
	}
	else if (memcmp(m, "OggS", 4) == 0)
		return is_ogg_check_headers(src, err);
	else if (memcmp(m, "fLaC", 4) == 0 || memcmp(m, "caff", 4) == 0 || memcmp(m, w64_riff, 16) == 0 ||
			 (memcmp(m, "FORM", 4) == 0 && (memcmp(m + 8, "AIFF", 4) == 0 || memcmp(m + 8, "AIFC", 4) == 0)))
		return IS_AUDIO_OK;
	if (failed)
		return is_audio_set_error(err, IS_AUDIO_SOURCE_ERROR, "could not read the audio data");
	/* libsndfile's words for it, which users and tests already know */
	return is_audio_set_error(err, IS_AUDIO_UNRECOGNISED, "not a recognised audio file: Format not recognised.");
}
