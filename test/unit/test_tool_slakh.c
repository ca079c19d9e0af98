/*
 * Slakh2100 layout: metadata round trip, reading a real-Slakh-style fixture,
 * track listing (split subdirectories), GM classification, and loading an
 * instrument as the sum of its rendered stems.
 */
#include "tap.h"

#include "audio_io.h"
#include "errbuf.h"
#include "gm.h"
#include "slakh.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define FIXTURE "data/slakh"

static void
test_classes(void)
{
	tap_ok(strcmp(gm_inst_class(0, false), "Piano") == 0, "program 0 is Piano");
	tap_ok(strcmp(gm_inst_class(7, false), "Piano") == 0, "program 7 (clavinet) is Piano");
	tap_ok(strcmp(gm_inst_class(30, false), "Guitar") == 0, "program 30 is Guitar");
	tap_ok(strcmp(gm_inst_class(33, false), "Bass") == 0, "program 33 is Bass");
	tap_ok(strcmp(gm_inst_class(48, false), "Strings (continued)") == 0, "program 48 as Slakh names it");
	tap_ok(strcmp(gm_inst_class(33, true), "Drums") == 0, "drum channel wins over program");
	tap_ok(slakh_inst_of_class("Bass") == SLAKH_BASS, "Bass feeds bass");
	tap_ok(slakh_inst_of_class("Drums") == SLAKH_DRUMS, "Drums feeds drums");
	tap_ok(slakh_inst_of_class("Organ") == SLAKH_OTHER, "Organ feeds no instrument");
	tap_ok(slakh_inst_of_class("mix") == SLAKH_OTHER, "a stem never feeds the mix alone");
	tap_ok(slakh_inst_parse("GUITAR") == SLAKH_GUITAR && slakh_inst_parse("x") == -1,
		   "instrument names parse");
	tap_ok(strcmp(gm_program_name(127), "Gunshot") == 0 && gm_program_name(128)[0] == 0,
		   "GM program names");
}

static void
test_fixture(void)
{
	char		err[TOOL_ERRLEN] = "";
	slakh_meta	m;
	slakh_tracks t;

	tap_ok(slakh_list_tracks(FIXTURE, &t, err, sizeof(err)) == 0 && t.n == 1 &&
		   strcmp(t.names[0], "train/Track00042") == 0,
		   "tracks are found in Slakh's split directories %s", err);
	slakh_tracks_free(&t);
	tap_ok(slakh_meta_read(FIXTURE "/train/Track00042/" SLAKH_META_FILE, &m, err, sizeof(err)) == 0,
		   "real-Slakh-style metadata reads %s", err);
	tap_ok(m.n_stems == 5, "five stems");
	tap_ok(strcmp(m.uuid, "0a1b2c3d4e5f60718293a4b5c6d7e8f9") == 0, "UUID");
	tap_ok(strcmp(m.audio_dir, "stems") == 0 && strcmp(m.midi_dir, "MIDI") == 0, "dirs");
	tap_ok(m.normalized && m.overall_gain == 0.25, "normalized, overall_gain");
	tap_ok(m.stems[0].is_drum && strcmp(m.stems[0].inst_class, "Drums") == 0 &&
		   m.stems[0].program_num == 128, "drum stem");
	tap_ok(strcmp(m.stems[1].id, "S01") == 0 && m.stems[1].program_num == 30 &&
		   strcmp(m.stems[1].midi_program_name, "Distortion Guitar") == 0, "guitar stem");
	tap_ok(m.stems[3].plugin_name[0] == 0, "~ reads as empty");
	tap_ok(m.stems[0].soundfont[0] == 0, "real Slakh has no soundfont key");
	tap_ok(!m.stems[4].audio_rendered && m.stems[3].audio_rendered, "audio_rendered flags");
	slakh_meta_free(&m);
}

static void
test_round_trip(const char *dir)
{
	char		err[TOOL_ERRLEN] = "";
	char		path[PATH_MAX];
	slakh_stem	st[2] = {
		{.id = "S00", .inst_class = "Piano", .program_num = 4,
		.midi_program_name = "Electric Piano 1", .plugin_name = "true",
		.soundfont = "MuseScore_General_Lite.sf3", .audio_rendered = true},
		{.id = "S01", .inst_class = "Drums", .program_num = 0, .is_drum = true,
		.midi_program_name = "Drums", .plugin_name = "Standard: kit", .audio_rendered = false},
	};
	slakh_meta	m = {.uuid = "0123", .audio_dir = "stems", .source = "seed 7, track 3",
	.overall_gain = 0.1234567890123456789, .n_stems = 2, .stems = st};
	slakh_meta	r;

	snprintf(path, sizeof(path), "%s/meta.yaml", dir);
	tap_ok(slakh_meta_write(path, &m, err, sizeof(err)) == 0, "metadata writes %s", err);
	tap_ok(slakh_meta_read(path, &r, err, sizeof(err)) == 0, "and reads back %s", err);
	tap_ok(strcmp(r.uuid, "0123") == 0, "numeric-looking UUID stays a string");
	tap_ok(r.overall_gain == m.overall_gain, "gain round-trips exactly");
	tap_ok(strcmp(r.source, m.source) == 0 && r.midi_dir[0] == 0 && !r.normalized, "top-level fields");
	tap_ok(r.n_stems == 2 && strcmp(r.stems[0].plugin_name, "true") == 0 &&
		   strcmp(r.stems[1].plugin_name, "Standard: kit") == 0,
		   "strings that look like YAML values survive");
	tap_ok(r.stems[1].is_drum && !r.stems[1].audio_rendered && r.stems[0].program_num == 4,
		   "stem fields");
	tap_ok(strcmp(r.stems[0].soundfont, "MuseScore_General_Lite.sf3") == 0 &&
		   r.stems[1].soundfont[0] == 0, "the soundfont that played a stem; none written, none read");
	slakh_meta_free(&r);
	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	{
		FILE	   *f = fopen(path, "w");

		fputs("stems: [1, 2\n", f);
		fclose(f);
	}
	tap_ok(slakh_meta_read(path, &r, err, sizeof(err)) == -1 && strstr(err, "bad.yaml"),
		   "broken YAML is an error naming the file: %s", err);
}

/* Copies the fixture's metadata into dir and gives its rendered stems audio. */
static void
test_load(const char *dir)
{
	char		err[TOOL_ERRLEN] = "";
	char		path[PATH_MAX];
	float		a[100],
				b[60];
	float	   *x;
	size_t		n;
	slakh_meta	m;
	bool		ok = true;

	slakh_meta_read(FIXTURE "/train/Track00042/" SLAKH_META_FILE, &m, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/Track00001", dir);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/Track00001/stems", dir);
	mkdir(path, 0777);
	for (int i = 0; i < 100; i++)
		a[i] = 0.25f * (float) ((i % 7) - 3) / 3.0f;
	for (int i = 0; i < 60; i++)
		b[i] = 0.125f;
	snprintf(path, sizeof(path), "%s/Track00001/stems/S01.flac", dir);
	audio_write_flac(path, a, 100, SLAKH_RATE, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/Track00001/stems/S03.flac", dir);
	audio_write_flac(path, b, 60, SLAKH_RATE, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/Track00001/" SLAKH_META_FILE, dir);
	slakh_meta_write(path, &m, err, sizeof(err));
	slakh_meta_free(&m);

	snprintf(path, sizeof(path), "%s/Track00001", dir);
	tap_ok(slakh_load(path, NULL, SLAKH_GUITAR, &x, &n, err, sizeof(err)) == 0 && n == 100,
		   "guitar = both guitar stems, padded to the longer %s", err);
	for (size_t i = 0; x && i < n; i++)
		ok &= fabsf(x[i] - (a[i] + (i < 60 ? b[i] : 0.0f))) < 1e-4f;
	tap_ok(ok, "guitar samples are the sum");
	free(x);
	tap_ok(slakh_load(path, NULL, SLAKH_PIANO, &x, &n, err, sizeof(err)) == 0 && n == 0 && !x,
		   "a track without piano loads as empty");
	tap_ok(slakh_load(path, NULL, SLAKH_BASS, &x, &n, err, sizeof(err)) == -1 && strstr(err, "S02"),
		   "a missing stem file is an error naming it: %s", err);
	tap_ok(slakh_load(path, NULL, SLAKH_MIX, &x, &n, err, sizeof(err)) == -1,
		   "a missing mix is an error");
}

/*
 * A track cut by instrument: after test_load, with the drums and bass stems
 * written too, guitar's own part and the rest add up to every rendered stem
 * (S04 is not rendered), both padded to the longest stem.
 */
static void
test_load_split(const char *dir)
{
	char		err[TOOL_ERRLEN] = "";
	char		path[PATH_MAX];
	float		drums[80],
				bass[40];
	float	   *all,
			   *own,
			   *rest;
	size_t		n_all,
				n;
	slakh_meta	m;
	bool		ok = true;

	for (int i = 0; i < 80; i++)
		drums[i] = i % 2 ? 0.5f : -0.5f;
	for (int i = 0; i < 40; i++)
		bass[i] = -0.0625f;
	snprintf(path, sizeof(path), "%s/Track00001/stems/S00.flac", dir);
	audio_write_flac(path, drums, 80, SLAKH_RATE, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/Track00001/stems/S02.flac", dir);
	audio_write_flac(path, bass, 40, SLAKH_RATE, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/Track00001/" SLAKH_META_FILE, dir);
	slakh_meta_read(path, &m, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/Track00001", dir);
	slakh_load(path, &m, SLAKH_GUITAR, &all, &n_all, err, sizeof(err));
	tap_ok(slakh_load_split(path, &m, SLAKH_GUITAR, &own, &rest, &n, err, sizeof(err)) == 0 &&
		   n == 100 && n_all == 100, "guitar and the rest, both as long as the longest stem: %s", err);
	for (size_t i = 0; own && all && i < n; i++)
		ok &= fabsf(own[i] - all[i]) < 1e-4f &&
			fabsf(rest[i] - ((i < 80 ? drums[i] : 0.0f) + (i < 40 ? bass[i] : 0.0f))) < 1e-4f;
	tap_ok(ok, "own = the guitar signal, rest = drums + bass");
	free(own);
	free(rest);
	ok = slakh_load_split(path, &m, SLAKH_DRUMS, &own, &rest, &n, err, sizeof(err)) == 0 && n == 100;
	for (size_t i = 0; ok && all && i < n; i++)
		ok &= own[i] == (i < 80 ? drums[i] : 0.0f) &&
			fabsf(rest[i] - (all[i] + (i < 40 ? bass[i] : 0.0f))) < 1e-4f;
	tap_ok(ok, "drums split: own padded with zeros, rest = guitars + bass");
	free(all);
	free(own);
	free(rest);
	tap_ok(slakh_load_split(path, &m, SLAKH_MIX, &own, &rest, &n, err, sizeof(err)) == -1 && !own && !rest,
		   "the mix cannot split a track: %s", err);
	slakh_meta_free(&m);
}

int
main(void)
{
	char		dir[] = "/tmp/instsim_slakh_XXXXXX";

	if (!mkdtemp(dir))
		return 1;
	test_classes();
	test_fixture();
	test_round_trip(dir);
	test_load(dir);
	test_load_split(dir);
	{
		char		cmd[PATH_MAX];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("could not remove %s", dir);
	}
	return tap_done();
}
