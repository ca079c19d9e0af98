/*
 * MIDI inside WAD files: the directory parser on a tiny WAD built here (MIDI,
 * MUS, marker and graphic lumps), every kind of damage with its message, then
 * thousands of random and mutated WADs, which must give an error with a
 * message or lumps that lie inside the data and start with MThd, never a
 * crash.  Then the song list (midi_set.h): WADs and MIDI files from disk,
 * lump names, files that are neither, and songs given twice.
 * Deterministic (fixed seed).
 */
#include "tap.h"

#include "errbuf.h"
#include "midi_set.h"
#include "rng.h"
#include "wad.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 20000
#define MAX_LUMPS 16

static is_rng rng;

static uint32_t
rnd(uint32_t n)
{
	return (uint32_t) is_rng_below(&rng, (int) n);
}

/* One note, format 0; key makes songs that differ. */
static size_t
tiny_midi(uint8_t *out, int key)
{
	const uint8_t song[] = {
		'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0,
		'M', 'T', 'r', 'k', 0, 0, 0, 12,
		0x00, 0x90, (uint8_t) key, 100,
		0x83, 0x60, 0x80, (uint8_t) key, 0,
		0x00, 0xFF, 0x2F, 0x00,
	};

	memcpy(out, song, sizeof(song));
	return sizeof(song);
}

typedef struct wad_builder
{
	uint8_t		data[8192];
	size_t		len;
	int			n;
	uint8_t		dir[MAX_LUMPS][16];
} wad_builder;

static void
put32(uint8_t *p, int32_t v)
{
	uint32_t	u = (uint32_t) v;

	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t) (u >> (8 * i));
}

static void
wb_lump(wad_builder *b, const char *name, const void *data, size_t size)
{
	uint8_t    *e = b->dir[b->n++];

	if (b->len == 0)
		b->len = 12;
	put32(e, (int32_t) b->len);
	put32(e + 4, (int32_t) size);
	memset(e + 8, 0, 8);
	memcpy(e + 8, name, strnlen(name, 8));
	if (size)
		memcpy(b->data + b->len, data, size);
	b->len += size;
}

/* Header and directory (at the end, as Doom's tools put it); returns the length. */
static size_t
wb_finish(wad_builder *b, const char *magic)
{
	memcpy(b->data, magic, 4);
	put32(b->data + 4, b->n);
	put32(b->data + 8, (int32_t) b->len);
	memcpy(b->data + b->len, b->dir, (size_t) b->n * 16);
	return b->len + (size_t) b->n * 16;
}

/* D_ONE, a MUS song, a marker, a graphic, D_TWO, and D_ONE again as D_AGAIN. */
static size_t
sample_wad(uint8_t *out)
{
	static wad_builder b;
	uint8_t		midi[64];
	const uint8_t mus[] = {'M', 'U', 'S', 0x1A, 8, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0};
	uint8_t		graphic[40];
	size_t		n,
				len;

	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i < sizeof(graphic); i++)
		graphic[i] = (uint8_t) (i * 37);
	n = tiny_midi(midi, 60);
	wb_lump(&b, "D_ONE", midi, n);
	wb_lump(&b, "D_E1M1", mus, sizeof(mus));
	wb_lump(&b, "F_START", NULL, 0);
	wb_lump(&b, "TITLEPIC", graphic, sizeof(graphic));
	n = tiny_midi(midi, 64);
	wb_lump(&b, "D_TWO", midi, n);
	n = tiny_midi(midi, 60);
	wb_lump(&b, "D_AGAIN", midi, n);
	len = wb_finish(&b, "PWAD");
	memcpy(out, b.data, len);
	return len;
}

static void
test_valid(void)
{
	uint8_t		w[8192];
	size_t		len = sample_wad(w);
	wad_music	m;
	char		err[TOOL_ERRLEN] = "";

	tap_ok(wad_is_wad(w, len) && !wad_is_wad("MThd", 4), "WAD signature recognised");
	err[0] = '\0';
	tap_ok(wad_find_midi(w, len, &m, err, sizeof(err)) == 0 && !err[0], "sample WAD parses");
	tap_ok(m.n_lumps == 6 && m.n_midi == 3 && m.n_mus == 1 && m.n_empty == 1 && m.n_other == 1,
		   "3 MIDI lumps; MUS, marker and graphic counted as skipped (%d %d %d %d %d)",
		   m.n_lumps, m.n_midi, m.n_mus, m.n_empty, m.n_other);
	tap_ok(m.n_midi == 3 && strcmp(m.midi[0].name, "D_ONE") == 0 && m.midi[0].index == 0 &&
		   strcmp(m.midi[1].name, "D_TWO") == 0 && m.midi[1].index == 4 &&
		   memcmp(w + m.midi[1].offset, "MThd", 4) == 0 && m.midi[1].size == 35,
		   "lumps in directory order with names, offsets and sizes");
	wad_music_free(&m);
	memcpy(w, "IWAD", 4);
	tap_ok(wad_find_midi(w, len, &m, err, sizeof(err)) == 0 && m.n_midi == 3, "IWAD too");
	wad_music_free(&m);
}

/* Changes one 32-bit field of a copy of the sample WAD and parses it. */
static int
parse_edited(size_t at, int32_t value, size_t cut, char *err, size_t errlen, wad_music *m)
{
	uint8_t		w[8192];
	size_t		len = sample_wad(w);

	err[0] = '\0';
	put32(w + at, value);
	if (cut)
		len -= cut;
	return wad_find_midi(w, len, m, err, errlen);
}

static void
expect_error(size_t at, int32_t value, size_t cut, const char *needle, const char *what)
{
	char		err[TOOL_ERRLEN] = "";
	wad_music	m;
	int			rc = parse_edited(at, value, cut, err, sizeof(err), &m);

	tap_ok(rc == -1 && strstr(err, needle) != NULL, "%s: %s", what, err);
	if (rc == 0)
		wad_music_free(&m);
}

static void
test_damage(void)
{
	uint8_t		w[8192];
	size_t		len = sample_wad(w);
	size_t		dir = len - 6 * 16;
	char		err[TOOL_ERRLEN] = "";
	wad_music	m;
	bool		prefixes_ok = true;
	int			rc;

	tap_ok(wad_find_midi(w, 11, &m, err, sizeof(err)) == -1 && strstr(err, "too short"),
		   "a file shorter than the header: %s", err);
	tap_ok(wad_find_midi("JUNKJUNKJUNKJUNK", 16, &m, err, sizeof(err)) == -1 &&
		   strstr(err, "not a WAD"), "no signature: %s", err);
	expect_error(4, -1, 0, "negative lump count", "lump count -1");
	expect_error(8, -16, 0, "negative directory offset", "directory offset -16");
	expect_error(4, INT32_MAX, 0, "ends past the end", "a lump count whose directory would "
				 "overflow 32 bits");
	expect_error(8, INT32_MAX, 0, "ends past the end", "directory offset near 2^31");
	expect_error(4, 6, 1, "ends past the end", "the last byte cut off");
	expect_error(dir + 4, INT32_MAX, 0, "not inside the file", "a lump size near 2^31");
	expect_error(dir + 4, -1, 0, "not inside the file", "a negative lump size");
	expect_error(dir, INT32_MAX, 0, "lump 0 (D_ONE)", "a lump offset past the end");
	expect_error(dir + 16 * 4, (int32_t) len - 34, 0, "lump 4 (D_TWO)",
				 "a lump ending one byte past the end");
	tap_ok(parse_edited(dir + 16 * 4, (int32_t) len - 35, 0, err, sizeof(err), &m) == 0 &&
		   m.n_midi == 2 && m.n_other == 2, "a lump ending at the last byte is inside %s", err);
	wad_music_free(&m);
	tap_ok(parse_edited(dir + 16 * 2, INT32_MAX, 0, err, sizeof(err), &m) == 0 && m.n_empty == 1,
		   "a marker may carry any offset: it has no data");
	wad_music_free(&m);
	/* the name field of lump 4 holds eight bytes, no NUL, two unprintable */
	memcpy(w + dir + 16 * 4 + 8, "D_\x01X\xffYZW", 8);
	rc = wad_find_midi(w, len, &m, err, sizeof(err));
	tap_ok(rc == 0 && m.n_midi == 3 && strcmp(m.midi[1].name, "D_?X?YZW") == 0,
		   "an 8-byte name without NUL, unprintable bytes masked: %s",
		   rc == 0 && m.n_midi == 3 ? m.midi[1].name : err);
	wad_music_free(&m);
	for (size_t cut = 0; cut < len; cut++)
	{
		int			rc = wad_find_midi(w, cut, &m, err, sizeof(err));

		prefixes_ok &= rc == -1 && err[0];
		if (rc == 0)
			wad_music_free(&m);
	}
	tap_ok(prefixes_ok, "every truncation of the WAD (0 .. %zu bytes) is an error", len - 1);
}

/* A parse that succeeded must describe only data inside the buffer. */
static bool
sound_result(const uint8_t *w, size_t len, const wad_music *m)
{
	bool		ok = m->n_midi + m->n_mus + m->n_empty + m->n_other == m->n_lumps;

	for (int i = 0; i < m->n_midi && ok; i++)
	{
		const wad_lump *l = &m->midi[i];

		ok = l->size >= 4 && l->offset <= len && l->size <= len - l->offset &&
			memcmp(w + l->offset, "MThd", 4) == 0 && strlen(l->name) <= WAD_NAME_LEN &&
			l->index >= 0 && l->index < m->n_lumps && (i == 0 || l->index > m->midi[i - 1].index);
		for (const char *c = l->name; *c && ok; c++)
			ok = *c > 0x20 && *c < 0x7f;
	}
	return ok;
}

static void
mutate(uint8_t *w, size_t *len, size_t cap)
{
	static const int32_t special[] = {0, 1, -1, 4, 12, 16, INT32_MAX, INT32_MIN, 0x10000};
	size_t		dir = *len >= 6 * 16 ? *len - 6 * 16 : 0;

	switch (rnd(6))
	{
		case 0:
			w[rnd((uint32_t) *len)] ^= (uint8_t) (1u << rnd(8));
			break;
		case 1:
			/* a header or directory field: where the parser's trust lies */
			{
				size_t		at = rnd(2) ? 4 * rnd(3) : dir + 4 * rnd(6 * 4);

				if (at + 4 <= *len)
					put32(w + at, rnd(3) ? special[rnd(9)] : (int32_t) (rnd(1u << 16) - 100));
			}
			break;
		case 2:
			*len = rnd((uint32_t) *len + 1);
			break;
		case 3:
			while (*len < cap && rnd(8))
				w[(*len)++] = (uint8_t) rnd(256);
			break;
		case 4:
			w[rnd((uint32_t) *len)] = (uint8_t) rnd(256);
			break;
		default:
			/* a lump offset anywhere, size to the end or beyond */
			if (dir + 16 * 6 <= *len)
			{
				size_t		e = dir + 16 * rnd(6);

				put32(w + e, (int32_t) rnd((uint32_t) *len + 8));
				put32(w + e + 4, (int32_t) rnd((uint32_t) *len + 8));
			}
			break;
	}
}

static void
test_fuzz(void)
{
	static uint8_t orig[8192],
				w[16384];
	size_t		orig_len = sample_wad(orig);
	char		err[TOOL_ERRLEN];
	int			parsed = 0,
				with_midi = 0;
	bool		ok = true;

	for (int r = 0; r < ROUNDS; r++)
	{
		size_t		len;
		wad_music	m;

		if (r % 10 == 0)
		{
			/* random bytes behind a valid signature */
			len = rnd(600);
			for (size_t i = 0; i < len; i++)
				w[i] = (uint8_t) rnd(256);
			if (len >= 4)
				memcpy(w, "PWAD", 4);
		}
		else
		{
			int			n = 1 + (int) rnd(4);

			memcpy(w, orig, orig_len);
			len = orig_len;
			for (int i = 0; i < n && len > 0; i++)
				mutate(w, &len, sizeof(w));
		}
		err[0] = '\0';
		if (wad_find_midi(w, len, &m, err, sizeof(err)) == 0)
		{
			parsed++;
			with_midi += m.n_midi > 0;
			ok &= sound_result(w, len, &m);
			wad_music_free(&m);
		}
		else
			ok &= err[0] != '\0';
	}
	tap_ok(ok, "%d random and mutated WADs: every refusal has a message, every accepted "
		   "directory lies inside the data", ROUNDS);
	tap_ok(parsed > ROUNDS / 20 && parsed < ROUNDS, "the mutations reach both outcomes "
		   "(%d parsed, %d with MIDI lumps)", parsed, with_midi);
}

static int
write_file(const char *dir, const char *name, const void *data, size_t len, char *path)
{
	FILE	   *f;

	snprintf(path, PATH_MAX, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	fwrite(data, 1, len, f);
	return fclose(f);
}

typedef struct dropped_log
{
	int			n;
	char		text[512];
} dropped_log;

static void
log_dropped(void *ctx, const char *source, const char *kept)
{
	dropped_log *d = ctx;
	size_t		at = strlen(d->text);

	snprintf(d->text + at, sizeof(d->text) - at, "%s=%s;", source, kept);
	d->n++;
}

static void
test_midi_set(const char *dir)
{
	uint8_t		w[8192],
				midi[64];
	size_t		len = sample_wad(w),
				n;
	char		wad_path[PATH_MAX],
				broken[PATH_MAX],
				song[PATH_MAX],
				dup[PATH_MAX],
				junk[PATH_MAX],
				err[TOOL_ERRLEN] = "";
	midi_set	s = {0};
	bool		is_wad;
	wad_music	m;
	dropped_log d = {0};
	uint8_t    *buf;
	size_t		buf_len;
	int			rc;

	write_file(dir, "tiny.wad", w, len, wad_path);
	write_file(dir, "broken.wad", w, len - 1, broken);
	n = tiny_midi(midi, 67);
	write_file(dir, "song.mid", midi, n, song);
	n = tiny_midi(midi, 64);
	write_file(dir, "two.mid", midi, n, dup);
	write_file(dir, "notes.mid", "hello, world", 12, junk);

	rc = midi_set_add_file(&s, wad_path, &is_wad, &m, err, sizeof(err));
	tap_ok(rc == 0 && is_wad && m.n_midi == 3 && m.n_mus == 1 && m.n_empty == 1 &&
		   m.n_other == 1 && !m.midi, "a WAD adds its MIDI lumps and reports what it skipped %s",
		   rc ? err : "");
	tap_ok(s.n == 3 && strcmp(s.songs[0].source, "tiny.wad:D_ONE") == 0 &&
		   strcmp(s.songs[2].source, "tiny.wad:D_AGAIN") == 0 && !s.songs[0].path,
		   "lumps are named WAD:LUMP by the WAD's file name (%s)", s.n ? s.songs[0].source : "");
	tap_ok(midi_set_add_file(&s, song, &is_wad, &m, err, sizeof(err)) == 0 && !is_wad &&
		   s.n == 4 && strcmp(s.songs[3].source, song) == 0, "a MIDI file is named by its path");
	midi_set_add_file(&s, dup, &is_wad, &m, err, sizeof(err));
	tap_ok(midi_set_add_file(&s, junk, &is_wad, &m, err, sizeof(err)) == -1 &&
		   strstr(err, "neither") && s.n == 5, "a .mid file that is no MIDI is refused: %s", err);
	tap_ok(midi_set_add_file(&s, broken, &is_wad, &m, err, sizeof(err)) == -1 &&
		   strstr(err, "broken.wad") && strstr(err, "truncated") && is_wad && s.n == 5,
		   "a truncated WAD is refused, naming the file: %s", err);
	tap_ok(midi_set_add_file(&s, "/nonexistent/x.wad", &is_wad, &m, err, sizeof(err)) == -1 &&
		   strstr(err, "cannot open"), "a missing file: %s", err);
	tap_ok(midi_set_drop_duplicates(&s, log_dropped, &d) == 2 && d.n == 2 && s.n == 3,
		   "songs given twice are dropped: %s", d.text);
	tap_ok(strstr(d.text, "tiny.wad:D_AGAIN=tiny.wad:D_ONE;") &&
		   strstr(d.text, "two.mid=tiny.wad:D_TWO;"), "the first of each is kept, across files");
	tap_ok(s.n == 3 && strcmp(s.songs[1].source, "tiny.wad:D_TWO") == 0 &&
		   strcmp(s.songs[2].source, song) == 0, "the others keep their order");
	n = tiny_midi(midi, 67);
	tap_ok(s.n == 3 && midi_song_read(&s.songs[2], &buf, &buf_len, err, sizeof(err)) == 0 &&
		   buf_len == n && memcmp(buf, midi, n) == 0, "a file song reads back");
	free(buf);
	n = tiny_midi(midi, 64);
	tap_ok(midi_song_read(&s.songs[1], &buf, &buf_len, err, sizeof(err)) == 0 &&
		   buf_len == n && memcmp(buf, midi, n) == 0, "a lump song reads back from memory");
	free(buf);
	midi_set_free(&s);
	unlink(wad_path);
	unlink(broken);
	unlink(song);
	unlink(dup);
	unlink(junk);
}

int
main(void)
{
	char		dir[] = "/tmp/instsim_wad_XXXXXX";

	if (!mkdtemp(dir))
		return 1;
	is_rng_seed(&rng, 0x3ad5eed);
	test_valid();
	test_damage();
	test_fuzz();
	test_midi_set(dir);
	rmdir(dir);
	return tap_done();
}
