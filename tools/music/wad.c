#include "wad.h"
#include "errbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 12
#define ENTRY_BYTES 16

/* WAD fields are signed: a negative one can only come from a damaged file. */
static int32_t
le32(const uint8_t *p)
{
	return (int32_t) ((uint32_t) p[0] | (uint32_t) p[1] << 8 |
					  (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24);
}

bool
wad_is_wad(const void *data, size_t len)
{
	return len >= 4 && (memcmp(data, "IWAD", 4) == 0 || memcmp(data, "PWAD", 4) == 0);
}

/* The name goes into metadata and messages: stop at NUL, mask the unprintable. */
static void
copy_name(char *dst, const uint8_t *src)
{
	int			i;

	for (i = 0; i < WAD_NAME_LEN && src[i]; i++)
		dst[i] = src[i] > 0x20 && src[i] < 0x7f ? (char) src[i] : '?';
	dst[i] = '\0';
}

static int
add_midi(wad_music *w, int *cap, const wad_lump *l)
{
	if (w->n_midi == *cap)
	{
		/* cap <= 2 n_lumps, which the directory size bounds: no overflow. */
		int			want = *cap ? *cap * 2 : 64;
		wad_lump   *grown = realloc(w->midi, sizeof(wad_lump) * (size_t) want);

		if (!grown)
			return -1;
		w->midi = grown;
		*cap = want;
	}
	w->midi[w->n_midi++] = *l;
	return 0;
}

int
wad_find_midi(const void *data, size_t len, wad_music *out, char *err, size_t errlen)
{
	const uint8_t *d = data;
	int32_t		n,
				dir;
	int			cap = 0;

	memset(out, 0, sizeof(*out));
	if (len < HEADER_BYTES)
		return is_fail(err, errlen, "too short for a WAD header (%zu bytes)", len);
	if (!wad_is_wad(d, len))
		return is_fail(err, errlen, "not a WAD file (no IWAD or PWAD signature)");
	n = le32(d + 4);
	dir = le32(d + 8);
	if (n < 0)
		return is_fail(err, errlen, "damaged WAD: negative lump count %d", (int) n);
	if (dir < 0)
		return is_fail(err, errlen, "damaged WAD: negative directory offset %d", (int) dir);
	/* 64-bit arithmetic: n * 16 does not overflow for any 31-bit n. */
	if ((uint64_t) dir + (uint64_t) n * ENTRY_BYTES > len)
		return is_fail(err, errlen,
					   "damaged or truncated WAD: its directory (%d entries at offset %d) "
					   "ends past the end of the file (%zu bytes)", (int) n, (int) dir, len);
	out->n_lumps = n;
	for (int32_t i = 0; i < n; i++)
	{
		const uint8_t *e = d + (size_t) dir + (size_t) i * ENTRY_BYTES;
		int32_t		off = le32(e),
					size = le32(e + 4);
		wad_lump	l = {.index = i};

		copy_name(l.name, e + 8);
		if (size == 0)
		{
			/* Markers carry no data, and some editors leave any offset in them. */
			out->n_empty++;
			continue;
		}
		if (off < 0 || size < 0 || (uint64_t) off + (uint64_t) size > len)
		{
			wad_music_free(out);
			return is_fail(err, errlen,
						   "damaged or truncated WAD: lump %d (%s) at offset %d, size %d "
						   "is not inside the file (%zu bytes)", (int) i, l.name, (int) off,
						   (int) size, len);
		}
		l.offset = (size_t) off;
		l.size = (size_t) size;
		if (l.size >= 4 && memcmp(d + l.offset, "MThd", 4) == 0)
		{
			if (add_midi(out, &cap, &l) != 0)
			{
				wad_music_free(out);
				return is_fail(err, errlen, "out of memory listing WAD lumps");
			}
		}
		else if (l.size >= 4 && memcmp(d + l.offset, "MUS\x1a", 4) == 0)
			out->n_mus++;
		else
			out->n_other++;
	}
	return 0;
}

void
wad_music_free(wad_music *w)
{
	free(w->midi);
	memset(w, 0, sizeof(*w));
}
