/*
 * A SoundFont 2 file small enough to write from a test: one preset, bank 0
 * program 0 ("Sine"), playing a looped 441 Hz sine over the whole keyboard.
 * Its timbre is nothing like FluidR3's piano, and it lacks every other
 * program and all drum kits, so a test can tell which soundfont played a
 * part and watch the fallback for presets it does not have.  Layout after the
 * SoundFont 2.01 specification: RIFF sfbk with INFO, sdta (16-bit samples)
 * and pdta (preset, instrument and sample headers, each list closed by its
 * terminal record).
 */
#ifndef INSTSIM_TINY_SF2_H
#define INSTSIM_TINY_SF2_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TINY_SF2_FRAMES 2000	/* 20 periods of 100 samples */
#define TINY_SF2_PAD 46			/* zero samples the format asks after each sample */

typedef struct tiny_buf
{
	uint8_t		b[8192];
	size_t		n;
} tiny_buf;

static void
tiny_put(tiny_buf *t, const void *p, size_t n)
{
	memcpy(t->b + t->n, p, n);
	t->n += n;
}

static void
tiny_u16(tiny_buf *t, unsigned v)
{
	uint8_t		b[2] = {(uint8_t) v, (uint8_t) (v >> 8)};

	tiny_put(t, b, 2);
}

static void
tiny_u32(tiny_buf *t, uint32_t v)
{
	tiny_u16(t, v & 0xffff);
	tiny_u16(t, v >> 16);
}

static void
tiny_name(tiny_buf *t, const char *s)
{
	char		name[20] = {0};

	strncpy(name, s, sizeof(name) - 1);
	tiny_put(t, name, sizeof(name));
}

/* A chunk (id, length, body); bodies here are of even length, as RIFF wants. */
static void
tiny_chunk(tiny_buf *t, const char *id, const tiny_buf *body)
{
	tiny_put(t, id, 4);
	tiny_u32(t, (uint32_t) body->n);
	tiny_put(t, body->b, body->n);
}

static void
tiny_list(tiny_buf *t, const char *type, const tiny_buf *body)
{
	tiny_buf	l = {.n = 0};

	tiny_put(&l, type, 4);
	tiny_put(&l, body->b, body->n);
	tiny_chunk(t, "LIST", &l);
}

/* Writes the soundfont to path; 0 or -1. */
static int
tiny_sf2_write(const char *path)
{
	static tiny_buf riff,
				info,
				sdta,
				pdta,
				c;
	uint8_t		smpl[2 * (TINY_SF2_FRAMES + TINY_SF2_PAD)] = {0};
	FILE	   *f;
	size_t		ok;

	memset(&riff, 0, sizeof(riff));
	memset(&info, 0, sizeof(info));
	memset(&sdta, 0, sizeof(sdta));
	memset(&pdta, 0, sizeof(pdta));
#define TINY_CHUNK(list, id, ...) do { c.n = 0; __VA_ARGS__; tiny_chunk(&list, id, &c); } while (0)
	TINY_CHUNK(info, "ifil", tiny_u16(&c, 2); tiny_u16(&c, 1));
	TINY_CHUNK(info, "isng", tiny_put(&c, "EMU8000", 8));
	TINY_CHUNK(info, "INAM", tiny_put(&c, "Tiny sine", 10));
	for (int i = 0; i < TINY_SF2_FRAMES; i++)
	{
		int16_t		v = (int16_t) lrint(16000 * sin(2 * M_PI * i / 100.0));

		smpl[2 * i] = (uint8_t) v;
		smpl[2 * i + 1] = (uint8_t) ((uint16_t) v >> 8);
	}
	TINY_CHUNK(sdta, "smpl", tiny_put(&c, smpl, sizeof(smpl)));
	/* one preset zone pointing at instrument 0, then the terminal records */
	TINY_CHUNK(pdta, "phdr",
			   tiny_name(&c, "Sine"); tiny_u16(&c, 0); tiny_u16(&c, 0); tiny_u16(&c, 0);
			   tiny_u32(&c, 0); tiny_u32(&c, 0); tiny_u32(&c, 0);
			   tiny_name(&c, "EOP"); tiny_u16(&c, 0); tiny_u16(&c, 0); tiny_u16(&c, 1);
			   tiny_u32(&c, 0); tiny_u32(&c, 0); tiny_u32(&c, 0));
	TINY_CHUNK(pdta, "pbag", tiny_u16(&c, 0); tiny_u16(&c, 0); tiny_u16(&c, 1); tiny_u16(&c, 0));
	TINY_CHUNK(pdta, "pmod", for (int i = 0; i < 5; i++) tiny_u16(&c, 0));
	/* generator 41: instrument (last in a preset zone) */
	TINY_CHUNK(pdta, "pgen", tiny_u16(&c, 41); tiny_u16(&c, 0); tiny_u16(&c, 0); tiny_u16(&c, 0));
	TINY_CHUNK(pdta, "inst",
			   tiny_name(&c, "Sine"); tiny_u16(&c, 0);
			   tiny_name(&c, "EOI"); tiny_u16(&c, 1));
	TINY_CHUNK(pdta, "ibag", tiny_u16(&c, 0); tiny_u16(&c, 0); tiny_u16(&c, 2); tiny_u16(&c, 0));
	TINY_CHUNK(pdta, "imod", for (int i = 0; i < 5; i++) tiny_u16(&c, 0));
	/* 54 sampleModes = 1 (loop), 53 sampleID = 0 (last in an instrument zone) */
	TINY_CHUNK(pdta, "igen",
			   tiny_u16(&c, 54); tiny_u16(&c, 1); tiny_u16(&c, 53); tiny_u16(&c, 0);
			   tiny_u16(&c, 0); tiny_u16(&c, 0));
	/* 441 Hz at 44.1 kHz: A4 (key 69), 4 cents sharp */
	TINY_CHUNK(pdta, "shdr",
			   tiny_name(&c, "Sine"); tiny_u32(&c, 0); tiny_u32(&c, TINY_SF2_FRAMES);
			   tiny_u32(&c, 0); tiny_u32(&c, TINY_SF2_FRAMES); tiny_u32(&c, 44100);
			   tiny_put(&c, "\x45\xfc", 2); tiny_u16(&c, 0); tiny_u16(&c, 1);
			   tiny_name(&c, "EOS"); for (int i = 0; i < 5; i++) tiny_u32(&c, 0);
			   tiny_put(&c, "\0\0", 2); tiny_u16(&c, 0); tiny_u16(&c, 0));
#undef TINY_CHUNK
	c.n = 0;
	tiny_put(&c, "sfbk", 4);
	tiny_list(&c, "INFO", &info);
	tiny_list(&c, "sdta", &sdta);
	tiny_list(&c, "pdta", &pdta);
	tiny_chunk(&riff, "RIFF", &c);
	if (!(f = fopen(path, "wb")))
		return -1;
	ok = fwrite(riff.b, 1, riff.n, f);
	return fclose(f) == 0 && ok == riff.n ? 0 : -1;
}

#endif
