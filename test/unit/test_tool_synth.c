/*
 * Corpus generation: the SMF writer, deterministic songs, FluidSynth
 * rendering of a tiny two-part file into stems that add up to the mix,
 * several soundfonts (FluidR3 and a one-preset soundfont written here) drawn
 * per song or per part, and the paper's selection and split.
 */
#include "tap.h"

#include "corpus.h"
#include "errbuf.h"
#include "hash.h"
#include "render.h"
#include "select.h"
#include "slakh.h"
#include "smf.h"
#include "song.h"
#include "soundfonts.h"
#include "split.h"
#include "tiny_sf2.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
test_smf(void)
{
	smf			s;
	uint8_t    *buf;
	size_t		len;
	int			t;

	smf_init(&s, 480);
	t = smf_add_track(&s, "tempo");
	smf_tempo(&s, t, 0, 120);
	t = smf_add_track(&s, NULL);
	smf_note(&s, t, 480, 200, 0, 60, 100);
	smf_note(&s, t, 0, 480, 0, 60, 90);	/* ends where the next one starts */
	tap_ok(smf_write(&s, NULL, &buf, &len) == 0, "SMF writes");
	tap_ok(len > 14 && memcmp(buf, "MThd", 4) == 0 && buf[9] == 1 && buf[11] == 2,
		   "format 1 header with two tracks");
	/* Track 2: delta 0 note-on, delta 480 note-off then note-on at the same tick. */
	{
		const uint8_t want[] = {0x00, 0x90, 60, 90, 0x83, 0x60, 0x80, 60, 64, 0x00, 0x90, 60, 100};
		bool		found = false;

		for (size_t i = 0; i + sizeof(want) <= len; i++)
			found |= memcmp(buf + i, want, sizeof(want)) == 0;
		tap_ok(found, "events sorted, note-off before a note-on at the same tick, VLQ deltas");
	}
	free(buf);
	smf_free(&s);
}

static void
test_song_determinism(void)
{
	char		err[TOOL_ERRLEN] = "";
	uint8_t    *a,
			   *b,
			   *c;
	size_t		la,
				lb,
				lc;
	smf			s;
	song_info	info,
				info_c;
	bool		styles_differ = false;

	song_generate(42, 70, &s, &info, err, sizeof(err));
	smf_write(&s, NULL, &a, &la);
	smf_free(&s);
	song_generate(42, 70, &s, &info, err, sizeof(err));
	smf_write(&s, NULL, &b, &lb);
	smf_free(&s);
	tap_ok(la == lb && memcmp(a, b, la) == 0, "same seed, same MIDI bytes (%zu)", la);
	song_generate(43, 70, &s, &info_c, err, sizeof(err));
	smf_write(&s, NULL, &c, &lc);
	smf_free(&s);
	tap_ok(la != lc || memcmp(a, c, la) != 0, "another seed, another song");
	tap_ok(info.n_parts >= 4 && info.part_channel[0] == 9, "drums on channel 10 plus three parts");
	tap_ok(info.n_bars * info.beats_per_bar * 60.0 / info.bpm >= 70,
		   "song is at least as long as asked: %s", info.summary);
	for (uint64_t seed = 1; seed < 12; seed++)
	{
		song_generate(seed, 30, &s, &info_c, err, sizeof(err));
		smf_free(&s);
		styles_differ |= strncmp(info.summary, info_c.summary, 8) != 0;
	}
	tap_ok(styles_differ, "seeds give different grooves");
	tap_ok(song_generate(1, -5, &s, &info, err, sizeof(err)) == -1, "bad length refused: %s", err);
	free(a);
	free(b);
	free(c);
}

/*
 * Piano (program 0) on channel 1 and bass (program 33) on channel 2, two
 * seconds; with second_piano, another piano part on channel 3.
 */
static void
tiny_midi(uint8_t **buf, size_t *len, bool second_piano)
{
	smf			s;
	int			t;

	smf_init(&s, 480);
	t = smf_add_track(&s, "tempo");
	smf_tempo(&s, t, 0, 120);
	t = smf_add_track(&s, "piano");
	smf_program(&s, t, 0, 0, 0);
	smf_note(&s, t, 0, 900, 0, 60, 100);
	smf_note(&s, t, 960, 900, 0, 64, 100);
	t = smf_add_track(&s, "bass");
	smf_program(&s, t, 0, 1, 33);
	smf_note(&s, t, 0, 1800, 1, 36, 110);
	if (second_piano)
	{
		t = smf_add_track(&s, "piano 2");
		smf_program(&s, t, 0, 2, 0);
		smf_note(&s, t, 0, 900, 2, 67, 100);
	}
	smf_write(&s, NULL, buf, len);
	smf_free(&s);
}

static double
energy(const float *x, size_t from, size_t to)
{
	double		e = 0;

	for (size_t i = from; i < to; i++)
		e += (double) x[i] * x[i];
	return e;
}

/*
 * A format-0 file (one track, two channels) whose channel 1 switches from
 * piano to bass half-way: three parts, the switch splitting channel 1.
 */
static void
test_format0(renderer *r)
{
	static const uint8_t events[] = {
		0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,	/* 120 bpm */
		0x00, 0xC0, 0x00,		/* channel 1: piano */
		0x00, 0x90, 60, 100,
		0x00, 0x99, 36, 100,	/* channel 10: kick */
		0x83, 0x60, 0x80, 60, 64,	/* one beat later */
		0x00, 0x89, 36, 64,
		0x00, 0xC0, 33,			/* channel 1: fingered bass */
		0x00, 0x90, 36, 100,
		0x83, 0x60, 0x80, 36, 64,
		0x00, 0xFF, 0x2F, 0x00,
	};
	uint8_t		midi[22 + sizeof(events)] = {
		'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0,
		'M', 'T', 'r', 'k', 0, 0, 0, (uint8_t) sizeof(events)
	};
	char		err[TOOL_ERRLEN] = "";
	render_out	out;
	size_t		beat = 22050;

	memcpy(midi + 22, events, sizeof(events));
	tap_ok(renderer_render(r, midi, sizeof(midi), 60, 0, &out, err, sizeof(err)) == 0,
		   "format 0 renders %s", err);
	tap_ok(out.n_parts == 3 && out.parts[0].channel == 0 && out.parts[0].program == 0 &&
		   out.parts[1].channel == 0 && out.parts[1].program == 33 &&
		   out.parts[2].is_drum && out.parts[2].channel == 9,
		   "a program change splits a channel into two parts; channel 10 is drums");
	if (out.n_parts == 3)
	{
		/* "silent": FluidSynth's reverb leaves a residue far below -100 dBFS */
		tap_ok(energy(out.stem[0], 0, beat) > 1e-3 && energy(out.stem[1], 0, beat - 2048) < 1e-9 &&
			   energy(out.stem[1], beat + 2048, 2 * beat) > 1e-3,
			   "each part sounds only when it plays (%.2g %.2g %.2g)", energy(out.stem[0], 0, beat),
			   energy(out.stem[1], 0, beat - 2048), energy(out.stem[1], beat + 2048, 2 * beat));
		tap_ok(energy(out.stem[2], 0, beat) > 1e-3, "the drum part has its kick");
	}
	render_out_free(&out);
}

static void
test_render(const char *dir)
{
	char		err[TOOL_ERRLEN] = "";
	char		track[PATH_MAX];
	renderer   *r = renderer_new(NULL, 0, RENDER_CHOICE_SONG, true, err, sizeof(err));
	render_out	out;
	uint8_t    *midi;
	size_t		len;
	float	   *mix = NULL,
			   *piano = NULL,
			   *bass = NULL,
			   *drums = NULL;
	size_t		n_mix = 0,
				n_piano = 0,
				n_bass = 0,
				n_drums = 0;
	double		max_err = 0,
				energy = 0;

	tap_ok(r != NULL, "renderer loads the GM soundfont %s", err);
	if (!r)
		return;
	tiny_midi(&midi, &len, false);
	tap_ok(renderer_render(r, "junk", 4, 10, 0, &out, err, sizeof(err)) == -1,
		   "non-MIDI data is refused: %s", err);
	tap_ok(renderer_render(r, midi, len, 60, 0, &out, err, sizeof(err)) == 0, "renders %s", err);
	tap_ok(out.n_parts == 2 && out.parts[0].program == 0 && out.parts[1].program == 33 &&
		   !out.parts[0].is_drum, "two parts found with their programs");
	tap_ok(out.n_frames >= 2 * 44100 && out.n_frames < 6 * 44100 && !out.truncated,
		   "length covers the notes and the tail (%zu frames)", out.n_frames);
	snprintf(track, sizeof(track), "%s/Track00001", dir);
	tap_ok(corpus_write_track(track, &out, midi, len, NULL, "test", err, sizeof(err)) == 0,
		   "track written %s", err);
	render_out_free(&out);
	slakh_load(track, NULL, SLAKH_MIX, &mix, &n_mix, err, sizeof(err));
	slakh_load(track, NULL, SLAKH_PIANO, &piano, &n_piano, err, sizeof(err));
	slakh_load(track, NULL, SLAKH_BASS, &bass, &n_bass, err, sizeof(err));
	slakh_load(track, NULL, SLAKH_DRUMS, &drums, &n_drums, err, sizeof(err));
	tap_ok(n_mix > 0 && n_mix == n_piano && n_mix == n_bass && n_drums == 0,
		   "mix, piano and bass load with one length; no drums");
	for (size_t i = 0; i < n_mix && n_mix == n_piano && n_mix == n_bass; i++)
	{
		max_err = fmax(max_err, fabs(mix[i] - piano[i] - bass[i]));
		energy += (double) piano[i] * piano[i] + (double) bass[i] * bass[i];
	}
	tap_ok(energy > 100 && max_err < 3.0 / 32768, "stems sum to the mix (max error %.2g)", max_err);
	free(mix);
	free(piano);
	free(bass);
	/* Same file again on the same renderer: identical audio. */
	{
		render_out	a,
					b;

		renderer_render(r, midi, len, 60, 0, &a, err, sizeof(err));
		renderer_render(r, midi, len, 60, 0, &b, err, sizeof(err));
		tap_ok(a.n_frames == b.n_frames &&
			   memcmp(a.stem[0], b.stem[0], a.n_frames * sizeof(float)) == 0 &&
			   memcmp(a.stem[1], b.stem[1], a.n_frames * sizeof(float)) == 0,
			   "rendering does not depend on what was rendered before");
		render_out_free(&a);
		render_out_free(&b);
	}
	free(midi);
	test_format0(r);
	renderer_free(r);
}

/* What render.h promises: the soundfont of a slot is drawn from the seed and the MIDI bytes. */
static const char *
expected_soundfont(uint64_t seed, const uint8_t *midi, size_t len, int slot)
{
	static const char *const names[] = {"FluidR3_GM.sf2", "Tiny.sf2"};

	return names[soundfonts_draw(seed ^ fnv1a64(FNV1A64_BASIS, midi, len), slot, 2)];
}

static void
test_soundfonts(const char *dir)
{
	char		err[TOOL_ERRLEN] = "";
	char		tiny[PATH_MAX],
				alias[PATH_MAX],
				track[PATH_MAX];
	const char *fonts[2] = {RENDER_DEFAULT_SOUNDFONT, tiny};
	renderer   *song_r,
			   *stem_r,
			   *other;
	uint8_t    *midi;
	size_t		len;
	bool		song_ok = true,
				stem_ok = true,
				fallback_ok = true,
				song_same = true,
				stem_split = false,
				tiny_seen = false,
				fluid_seen = false;
	render_out	a,
				b;

	snprintf(tiny, sizeof(tiny), "%s/Tiny.sf2", dir);
	tap_ok(tiny_sf2_write(tiny) == 0, "one-preset soundfont written");
	song_r = renderer_new(fonts, 2, RENDER_CHOICE_SONG, true, err, sizeof(err));
	stem_r = renderer_new(fonts, 2, RENDER_CHOICE_STEM, true, err, sizeof(err));
	tap_ok(song_r && stem_r, "FluidR3 and the tiny soundfont load together %s", err);
	if (!song_r || !stem_r)
		return;
	tiny_midi(&midi, &len, true);
	for (uint64_t seed = 0; seed < 12; seed++)
	{
		if (renderer_render(song_r, midi, len, 10, seed, &a, err, sizeof(err)) != 0 ||
			renderer_render(stem_r, midi, len, 10, seed, &b, err, sizeof(err)) != 0 ||
			a.n_parts != 3 || b.n_parts != 3)
		{
			tap_ok(0, "three parts render with two soundfonts: %s", err);
			free(midi);
			return;
		}
		/* parts: piano (channel 1), bass (2), piano (3) */
		song_ok &= strcmp(a.parts[0].soundfont, expected_soundfont(seed, midi, len, 0)) == 0;
		song_same &= strcmp(a.parts[0].soundfont, a.parts[2].soundfont) == 0;
		stem_ok &= strcmp(b.parts[0].soundfont, expected_soundfont(seed, midi, len, 0)) == 0 &&
			strcmp(b.parts[2].soundfont, expected_soundfont(seed, midi, len, 2)) == 0;
		stem_split |= strcmp(b.parts[0].soundfont, b.parts[2].soundfont) != 0;
		/* Tiny has no bass: it falls back to FluidR3 whatever was drawn */
		fallback_ok &= strcmp(a.parts[1].soundfont, "FluidR3_GM.sf2") == 0 &&
			strcmp(b.parts[1].soundfont, "FluidR3_GM.sf2") == 0 &&
			strcmp(a.parts[1].preset, "Fingered Bass") == 0;
		for (int p = 0; p < 3; p += 2)
		{
			bool		is_tiny = strcmp(b.parts[p].soundfont, "Tiny.sf2") == 0;

			tiny_seen |= is_tiny;
			fluid_seen |= !is_tiny;
			stem_ok &= strcmp(b.parts[p].preset, is_tiny ? "Sine" : "Yamaha Grand Piano") == 0;
		}
		render_out_free(&a);
		render_out_free(&b);
	}
	tap_ok(song_ok && song_same, "per song: one soundfont for the whole song, drawn from seed and MIDI");
	tap_ok(stem_ok && stem_split, "per stem: each part's own draw, and the two pianos sometimes differ");
	tap_ok(tiny_seen && fluid_seen, "both soundfonts are drawn over 12 seeds");
	tap_ok(fallback_ok, "a preset the drawn soundfont lacks comes from the other one");

	/* A seed where per-stem puts the two pianos on different soundfonts: different audio. */
	for (uint64_t seed = 0; seed < 64; seed++)
		if (strcmp(expected_soundfont(seed, midi, len, 0), expected_soundfont(seed, midi, len, 2)) != 0)
		{
			int			t = strcmp(expected_soundfont(seed, midi, len, 0), "Tiny.sf2") == 0 ? 0 : 2;

			other = renderer_new(fonts, 2, RENDER_CHOICE_STEM, true, err, sizeof(err));
			renderer_render(stem_r, midi, len, 10, seed, &a, err, sizeof(err));
			/* a second worker, after another song: the same bytes */
			renderer_render(other, midi, len, 10, seed + 1, &b, err, sizeof(err));
			render_out_free(&b);
			renderer_render(other, midi, len, 10, seed, &b, err, sizeof(err));
			tap_ok(a.n_frames == b.n_frames && a.n_parts == 3 && b.n_parts == 3 &&
				   memcmp(a.stem[0], b.stem[0], a.n_frames * sizeof(float)) == 0 &&
				   memcmp(a.stem[2], b.stem[2], a.n_frames * sizeof(float)) == 0,
				   "same seed on another renderer, after another song: identical stems");
			tap_ok(a.n_parts == 3 && energy(a.stem[t], 0, 22050) > 1 &&
				   energy(a.stem[2 - t], 0, 22050) > 1,
				   "the sine piano sounds (%.3g) as the FluidR3 piano does (%.3g)",
				   a.n_parts == 3 ? energy(a.stem[t], 0, 22050) : 0,
				   a.n_parts == 3 ? energy(a.stem[2 - t], 0, 22050) : 0);
			snprintf(track, sizeof(track), "%s/Track00002", dir);
			tap_ok(corpus_write_track(track, &a, midi, len, NULL, "test", err, sizeof(err)) == 0,
				   "track written %s", err);
			{
				slakh_meta	m;
				char		path[PATH_MAX];

				snprintf(path, sizeof(path), "%s/%s", track, SLAKH_META_FILE);
				tap_ok(slakh_meta_read(path, &m, err, sizeof(err)) == 0 && m.n_stems == 3 &&
					   strcmp(m.stems[t].soundfont, "Tiny.sf2") == 0 &&
					   strcmp(m.stems[t].plugin_name, "Sine") == 0 &&
					   strcmp(m.stems[2 - t].soundfont, "FluidR3_GM.sf2") == 0,
					   "each stem's metadata names the soundfont that played it %s", err);
				slakh_meta_free(&m);
			}
			render_out_free(&a);
			render_out_free(&b);
			renderer_free(other);
			break;
		}
	free(midi);
	renderer_free(song_r);
	renderer_free(stem_r);

	snprintf(alias, sizeof(alias), "%s/other/Tiny.sf2", dir);
	fonts[0] = tiny;
	fonts[1] = alias;
	tap_ok(!renderer_new(fonts, 2, RENDER_CHOICE_SONG, true, err, sizeof(err)) &&
		   strstr(err, "two soundfonts named Tiny.sf2"), "two soundfonts with one file name: %s", err);
	fonts[0] = "/nonexistent.sf2";
	tap_ok(!renderer_new(fonts, 2, RENDER_CHOICE_SONG, true, err, sizeof(err)) &&
		   strstr(err, "cannot load soundfont /nonexistent.sf2"), "a missing soundfont: %s", err);
	unlink(tiny);
}

static void
test_selection(void)
{
	char		err[TOOL_ERRLEN] = "";
	size_t		n = 44100 * 20;
	float	   *x = calloc(n, sizeof(float));
	slakh_tracks names = {0};
	int			counts[5][SLAKH_N_INST];
	corpus_split sp;
	select_rule rule;

	/*
	 * 20 s with sound (-23 dBFS) in the first 10 s: of the windows starting
	 * every 1.5 s, those starting at 0 .. 9 s hold some of it, the quietest
	 * (9-12 s) at about -28 dBFS.
	 */
	for (size_t i = 0; i < 44100 * 10; i++)
		x[i] = 0.1f * sinf((float) i * 0.05f);
	tap_ok(select_count_segments(x, n, 0, err, sizeof(err)) == 7,
		   "non-silent windows counted (%d)", select_count_segments(x, n, 0, err, sizeof(err)));
	tap_ok(select_count_segments(x, n, 3, err, sizeof(err)) == 3, "count stops at the cap");
	free(x);

	for (int i = 0; i < 5; i++)
	{
		char		name[32];

		snprintf(name, sizeof(name), "Track%05d", i + 1);
		slakh_tracks_add(&names, name);
		for (int k = 0; k < SLAKH_N_INST; k++)
			counts[i][k] = 40;
	}
	counts[2][SLAKH_PIANO] = 39;
	rule = (select_rule) {.signals = SELECT_ALL, .min_segments = 40, .test_fraction = 0.25, .seed = 7};
	tap_ok(select_split(&names, (const int (*)[SLAKH_N_INST]) counts, &rule, &sp) == 0,
		   "split made");
	tap_ok(sp.excluded.n == 1 && strcmp(sp.excluded.names[0], "Track00003") == 0,
		   "a track short of piano segments is excluded");
	tap_ok(sp.test.n == 1 && sp.train.n == 3, "25%% of four selected tracks held out");
	{
		corpus_split again;
		bool		same;

		select_split(&names, (const int (*)[SLAKH_N_INST]) counts, &rule, &again);
		same = strcmp(again.test.names[0], sp.test.names[0]) == 0;
		tap_ok(same, "the draw is fixed by its seed");
		split_free(&again);
	}
	{
		/* a split for a bass model: piano does not count; tracks held out by hand */
		select_rule bass = {.signals = SELECT_SIGNAL(SLAKH_MIX) | SELECT_SIGNAL(SLAKH_BASS),
		.min_segments = 40};
		signed char held[5] = {1, 0, 0, -1, 1};
		corpus_split b;

		counts[4][SLAKH_BASS] = 10;
		select_split(&names, (const int (*)[SLAKH_N_INST]) counts, &bass, &b);
		tap_ok(b.train.n == 4 && b.test.n == 0 && b.excluded.n == 1 &&
			   strcmp(b.excluded.names[0], "Track00005") == 0,
			   "--instrument bass: the track short of piano qualifies, the one short of bass not");
		split_free(&b);
		bass.held_out = held;
		select_split(&names, (const int (*)[SLAKH_N_INST]) counts, &bass, &b);
		tap_ok(b.test.n == 1 && strcmp(b.test.names[0], "Track00001") == 0 && b.train.n == 2 &&
			   b.excluded.n == 2, "held out by hand: test, train, and excluded as marked");
		split_free(&b);
		counts[4][SLAKH_BASS] = 40;
	}
	{
		char		path[] = "/tmp/instsim_split_XXXXXX";
		int			fd = mkstemp(path);
		corpus_split back;

		close(fd);
		tap_ok(split_write(path, &sp, err, sizeof(err)) == 0 &&
			   split_read(path, &back, err, sizeof(err)) == 0, "split.yaml round trip %s", err);
		tap_ok(back.train.n == 3 && back.test.n == 1 && back.excluded.n == 1 &&
			   back.min_segments == 40 && back.seed == 7 &&
			   strcmp(back.test.names[0], sp.test.names[0]) == 0, "split fields survive");
		split_free(&back);
		unlink(path);
	}
	split_free(&sp);
	slakh_tracks_free(&names);
}

int
main(void)
{
	char		dir[] = "/tmp/instsim_synth_XXXXXX";
	char		cmd[PATH_MAX];

	if (!mkdtemp(dir))
		return 1;
	test_smf();
	test_song_determinism();
	test_selection();
	test_render(dir);
	test_soundfonts(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done();
}
