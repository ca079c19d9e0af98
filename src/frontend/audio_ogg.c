#include "audio_ogg.h"
#include "audio_sniff.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Header packets larger than this are not from any encoder (setup is ~4 KiB). */
#define MAX_PACKET (1 << 20)
#define MAX_PAGES 1024

typedef struct ogg_walk
{
	const is_audio_source *src;
	int64_t		pos;
	unsigned char *packet;
	size_t		len,
				cap;
	int			done;			/* complete header packets */
	int			need;			/* 3 for Vorbis, 2 for Opus; 0 before the first */
} ogg_walk;

static uint32_t
page_crc(const unsigned char *p, size_t n, uint32_t crc)
{
	for (size_t i = 0; i < n; i++)
	{
		crc ^= (uint32_t) p[i] << 24;
		for (int b = 0; b < 8; b++)
			crc = crc & 0x80000000u ? crc << 1 ^ 0x04c11db7u : crc << 1;
	}
	return crc;
}

static uint32_t
le32(const unsigned char *p)
{
	return p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* The length-prefixed strings of a Vorbis or Opus comment header from byte at. */
static bool
comments_fit(const unsigned char *p, size_t len, size_t at, bool framing)
{
	uint32_t	n;

	if (at + 4 > len || le32(p + at) > len - at - 4)
		return false;
	at += 4 + le32(p + at);
	if (at + 4 > len)
		return false;
	n = le32(p + at);
	at += 4;
	for (uint32_t i = 0; i < n; i++)
	{
		if (at + 4 > len || le32(p + at) > len - at - 4)
			return false;
		at += 4 + le32(p + at);
	}
	return !framing || (at < len && (p[at] & 1));
}

static bool
more_headers(const ogg_walk *w)
{
	return w->need == 0 || w->done < w->need;
}

/* Checks complete header packet w->done; sets w->need from the first. */
static const char *
check_packet(ogg_walk *w)
{
	const unsigned char *p = w->packet;
	size_t		n = w->len;

	if (w->done == 0)
	{
		if (n >= 7 && memcmp(p, "\x01vorbis", 7) == 0)
		{
			int			bs0 = p[28] & 15,
						bs1 = p[28] >> 4;

			w->need = 3;
			if (n < 30 || le32(p + 7) != 0 || p[11] < 1 || le32(p + 12) < 1 ||
				bs0 < 6 || bs1 < bs0 || bs1 > 13 || !(p[29] & 1))
				return "bad Vorbis identification header";
		}
		else if (n >= 8 && memcmp(p, "OpusHead", 8) == 0)
		{
			w->need = 2;
			if (n < 19 || p[8] >= 16 || p[9] < 1)
				return "bad Opus identification header";
		}
		else
			w->need = -1;		/* another codec: libsndfile's own checks */
	}
	else if (w->need == 3 && w->done == 1)
	{
		if (n < 7 || memcmp(p, "\x03vorbis", 7) != 0 || !comments_fit(p, n, 7, true))
			return "bad Vorbis comment header";
	}
	else if (w->need == 3)
	{
		if (n < 7 || memcmp(p, "\x05vorbis", 7) != 0)
			return "bad Vorbis setup header";
	}
	else if (n < 8 || memcmp(p, "OpusTags", 8) != 0 || !comments_fit(p, n, 8, false))
		return "bad Opus comment header";
	return NULL;
}

/* One page at w->pos: CRC, then its packet segments.  NULL, or what is wrong. */
static const char *
walk_page(ogg_walk *w, uint32_t *serial, bool *failed)
{
	unsigned char hdr[27 + 255];
	unsigned char *body;
	size_t		nseg,
				body_len = 0;
	uint32_t	crc;
	const char *bad = NULL;

	if (!is_audio_read_exact(w->src, w->pos, hdr, 27, failed) || memcmp(hdr, "OggS", 4) != 0 || hdr[4] != 0)
		return *failed ? NULL : "the header pages are truncated or not Ogg pages";
	nseg = hdr[26];
	if (!is_audio_read_exact(w->src, w->pos + 27, hdr + 27, nseg, failed))
		return *failed ? NULL : "the header pages are truncated";
	for (size_t i = 0; i < nseg; i++)
		body_len += hdr[27 + i];
	body = malloc(body_len ? body_len : 1);
	if (!body)
		return "out of memory";
	if (!is_audio_read_exact(w->src, w->pos + 27 + (int64_t) nseg, body, body_len, failed))
	{
		free(body);
		return *failed ? NULL : "the header pages are truncated";
	}
	crc = le32(hdr + 22);
	memset(hdr + 22, 0, 4);
	if (page_crc(body, body_len, page_crc(hdr, 27 + nseg, 0)) != crc)
		bad = "a header page fails its CRC";
	if (w->pos == 0)
		*serial = le32(hdr + 14);
	/* pages of other multiplexed streams are skipped */
	for (size_t i = 0, at = 0; !bad && le32(hdr + 14) == *serial && i < nseg && more_headers(w); i++)
	{
		size_t		seg = hdr[27 + i];

		if (w->len + seg > MAX_PACKET)
			bad = "a header packet is larger than 1 MiB";
		else if (w->len + seg > w->cap && !(w->packet = realloc(w->packet, w->cap = 2 * w->cap + seg)))
			bad = "out of memory";
		else
		{
			memcpy(w->packet + w->len, body + at, seg);
			w->len += seg;
			at += seg;
			if (seg < 255)
			{
				bad = check_packet(w);
				w->done++;
				w->len = 0;
			}
		}
	}
	free(body);
	w->pos += 27 + (int64_t) nseg + (int64_t) body_len;
	return bad;
}

is_audio_status
is_ogg_check_headers(const is_audio_source *src, is_audio_error *err)
{
	ogg_walk	w = {.src = src};
	unsigned char magic[4];
	bool		failed = false;
	uint32_t	serial = 0;
	const char *bad = NULL;

	if (!is_audio_read_exact(src, 0, magic, 4, &failed) || memcmp(magic, "OggS", 4) != 0)
		return failed ? is_audio_set_error(err, IS_AUDIO_SOURCE_ERROR, "could not read the audio data")
			: IS_AUDIO_OK;
	for (int page = 0; !bad && !failed && more_headers(&w); page++)
		bad = page == MAX_PAGES ? "no complete header in 1024 pages" : walk_page(&w, &serial, &failed);
	free(w.packet);
	if (failed)
		return is_audio_set_error(err, IS_AUDIO_SOURCE_ERROR, "could not read the audio data");
	if (bad)
		return is_audio_set_error(err, IS_AUDIO_CORRUPT, "damaged OGG file: %s", bad);
	return IS_AUDIO_OK;
}
