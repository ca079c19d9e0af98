/*
 * The mel image sets of the trainer (melcache.h): each image keeps its window
 * number, so that a track's mix and a stem that enters late can be matched
 * window for window, and the numbers survive the cache file.
 */
#include "tap.h"

#include "audio_io.h"
#include "errbuf.h"
#include "melcache.h"
#include "slakh.h"

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECONDS 12
#define PIANO_FROM 6.0			/* s: windows 0-2 (0-3, 1.5-4.5, 3-6 s) are silent */

/*
 * One track: a piano stem silent for its first PIANO_FROM s, a drums stem
 * sounding throughout, and their sum as the mix.
 */
static void
write_track(const char *root)
{
	char		err[TOOL_ERRLEN] = "";
	char		path[PATH_MAX];
	size_t		n = (size_t) SECONDS * SLAKH_RATE;
	float	   *drums = malloc(sizeof(float) * n),
			   *piano = malloc(sizeof(float) * n),
			   *mix = malloc(sizeof(float) * n);
	slakh_stem	st[2] = {
		{.id = "S00", .inst_class = "Drums", .is_drum = true, .audio_rendered = true},
		{.id = "S01", .inst_class = "Piano", .program_num = 0, .audio_rendered = true},
	};
	slakh_meta	m = {.uuid = "1", .audio_dir = "stems", .n_stems = 2, .stems = st};
	bool		ok;

	for (size_t i = 0; i < n; i++)
	{
		double		t = (double) i / SLAKH_RATE;

		drums[i] = (float) (0.2 * sin(2.0 * M_PI * 90.0 * t) * (fmod(t, 0.5) < 0.1));
		piano[i] = t < PIANO_FROM ? 0.0f : (float) (0.3 * sin(2.0 * M_PI * 440.0 * t));
		mix[i] = drums[i] + piano[i];
	}
	mkdir(root, 0777);
	snprintf(path, sizeof(path), "%s/Track00001", root);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/Track00001/stems", root);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/Track00001/stems/S00.flac", root);
	ok = audio_write_flac(path, drums, n, SLAKH_RATE, err, sizeof(err)) == 0;
	snprintf(path, sizeof(path), "%s/Track00001/stems/S01.flac", root);
	ok = ok && audio_write_flac(path, piano, n, SLAKH_RATE, err, sizeof(err)) == 0;
	snprintf(path, sizeof(path), "%s/Track00001/mix.flac", root);
	ok = ok && audio_write_flac(path, mix, n, SLAKH_RATE, err, sizeof(err)) == 0;
	tap_ok(ok, "stems and mix written %s", err);
	snprintf(path, sizeof(path), "%s/Track00001/" SLAKH_META_FILE, root);
	tap_ok(slakh_meta_write(path, &m, err, sizeof(err)) == 0, "metadata written %s", err);
	free(drums);
	free(piano);
	free(mix);
}

/*
 * mel_set_keep_windows over two tracks of 1-pixel images (the pixel: 10 x
 * track + window): the second track's images move across the first's
 * dropped ones, and a track `by` lacks keeps none.
 */
static void
test_keep_two_tracks(void)
{
	int			n_segs[2] = {3, 3},
				by_segs[2] = {2, 1};
	size_t		first[2] = {0, 3},
				by_first[2] = {0, 2};
	int32_t		window[6] = {0, 1, 2, 4, 5, 6},
				by_window[3] = {0, 2, 5};
	float		data[6] = {0, 1, 2, 14, 15, 16},
				by_data[3] = {0};
	mel_set		s = {.n_tracks = 2, .n_mels = 1, .frames = 1, .n_segs = n_segs, .first = first,
		.n_images = 6, .window = window, .data = data},
				by = {.n_tracks = 2, .n_mels = 1, .frames = 1, .n_segs = by_segs, .first = by_first,
		.n_images = 3, .window = by_window, .data = by_data},
				one = by;

	tap_ok(mel_set_keep_windows(&s, &by) == 3 && s.n_segs[0] == 2 && s.n_segs[1] == 1 &&
		   s.first[0] == 0 && s.first[1] == 2 && s.window[2] == 5 &&
		   data[0] == 0 && data[1] == 2 && data[2] == 15,
		   "two tracks: windows 0 2 of the first, 5 of the second, each with its own image");
	one.n_tracks = 1;
	tap_ok(mel_set_keep_windows(&s, &one) == 2 && s.n_segs[1] == 0 && s.first[1] == 2,
		   "a track the other set lacks keeps none");
}

static bool
same_set(const mel_set *a, const mel_set *b)
{
	return a->n_images == b->n_images && a->n_segs[0] == b->n_segs[0] &&
		memcmp(a->window, b->window, sizeof(int32_t) * a->n_images) == 0 &&
		memcmp(a->data, b->data, sizeof(float) * mel_set_pixels(a) * a->n_images) == 0;
}

/*
 * Builds the piano set as mel_set_build does and says whether its report on
 * stderr holds what ("; 1 tracks read" when it read the track's file).
 */
static bool
build_logged(const char *root, const slakh_tracks *tracks, const is_frontend *fe,
			 const char *cache, mel_set *out, const char *dir, const char *what)
{
	char		path[PATH_MAX],
				log[4096] = "",
				err[TOOL_ERRLEN] = "";
	int			saved = dup(STDERR_FILENO),
				rc;
	FILE	   *f;
	size_t		n;

	snprintf(path, sizeof(path), "%s/stderr.log", dir);
	fflush(stderr);
	if (!(f = fopen(path, "w+")))
		return false;
	dup2(fileno(f), STDERR_FILENO);
	rc = mel_set_build(root, tracks, SLAKH_PIANO, fe, 0, 1, cache, out, err, sizeof(err));
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(log, 1, sizeof(log) - 1, f);
	log[n] = 0;
	fclose(f);
	return rc == 0 && strstr(log, what) != NULL;
}

/* The path of the cache file of cache_dir named prefix..., or false. */
static bool
cache_file(const char *cache_dir, const char *prefix, char *path, size_t len)
{
	DIR		   *d = opendir(cache_dir);
	struct dirent *de;

	path[0] = '\0';
	while (d && (de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			snprintf(path, len, "%s/%s", cache_dir, de->d_name);
	if (d)
		closedir(d);
	return path[0] != '\0';
}

/*
 * Damages the cache file of cache_dir named prefix...: swaps its first two
 * window numbers (after the magic, key, n_mels, frames and count: 28 bytes
 * in).
 */
static bool
swap_first_windows(const char *cache_dir, const char *prefix)
{
	char		path[PATH_MAX];
	int32_t		w[2],
				swapped[2];
	FILE	   *f;
	bool		ok;

	if (!cache_file(cache_dir, prefix, path, sizeof(path)) || !(f = fopen(path, "r+b")))
		return false;
	ok = fseek(f, 28, SEEK_SET) == 0 && fread(w, sizeof(w), 1, f) == 1;
	swapped[0] = w[1];
	swapped[1] = w[0];
	ok = ok && fseek(f, 28, SEEK_SET) == 0 && fwrite(swapped, sizeof(swapped), 1, f) == 1;
	return fclose(f) == 0 && ok;
}

/* Cuts the last 4 bytes (of the last image) off that file. */
static bool
cut_short(const char *cache_dir, const char *prefix)
{
	char		path[PATH_MAX];
	struct stat st;

	return cache_file(cache_dir, prefix, path, sizeof(path)) && stat(path, &st) == 0 &&
		truncate(path, st.st_size - 4) == 0;
}

int
main(void)
{
	char		dir[] = "/tmp/instsim_melcache_XXXXXX";
	char		root[PATH_MAX],
				root_track[PATH_MAX],
				other[PATH_MAX],
				link[PATH_MAX],
				cache[PATH_MAX],
				cmd[PATH_MAX + 16];
	char		err[TOOL_ERRLEN] = "";
	is_frontend fe = IS_FRONTEND_DEFAULT;
	slakh_tracks tracks = {0},
				linked = {0};
	mel_set		mix,
				piano,
				again;
	bool		ok = true;

	if (!mkdtemp(dir))
		return 1;
	snprintf(root, sizeof(root), "%s/corpus", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	write_track(root);
	snprintf(root_track, sizeof(root_track), "%s/Track00001", root);
	slakh_tracks_add(&tracks, "Track00001");

	tap_ok(mel_set_build(root, &tracks, SLAKH_MIX, &fe, 0, 1, cache, &mix, err, sizeof(err)) == 0 &&
		   mel_set_build(root, &tracks, SLAKH_PIANO, &fe, 0, 1, cache, &piano, err, sizeof(err)) == 0,
		   "the mix and the piano stem cut into images %s", err);
	/* 12 s in 3-s windows every 1.5 s: 7 windows; piano's first 3 are silent */
	tap_ok(mix.n_segs[0] == 7 && piano.n_segs[0] == 4,
		   "the mix has 7 windows, the piano stem 4 sounding ones (%d, %d)", mix.n_segs[0], piano.n_segs[0]);
	for (int k = 0; k < mix.n_segs[0]; k++)
		ok &= mix.window[k] == k;
	tap_ok(ok, "the mix's images are windows 0..6");
	tap_ok(piano.n_segs[0] == 4 && piano.window[0] == 3 && piano.window[3] == 6,
		   "the piano's are windows 3..6, counting the silent ones");
	ok = true;
	for (int w = 0; w < 7; w++)
		ok &= mel_set_find_window(&piano, 0, w) == (w < 3 ? -1 : w - 3);
	tap_ok(ok, "each mix window finds the piano image of the same window, or none where it is silent");
	tap_ok(mel_set_find_window(&piano, 0, 7) == -1 && mel_set_find_window(&piano, 0, -1) == -1,
		   "windows outside the track find none");

	/* the mix narrowed to where the piano plays: windows 3..6, their own images */
	tap_ok(mel_set_build(root, &tracks, SLAKH_MIX, &fe, 0, 1, cache, &again, err, sizeof(err)) == 0 &&
		   mel_set_keep_windows(&again, &piano) == 4 && again.n_images == 4 && again.n_segs[0] == 4 &&
		   again.first[0] == 0 && again.window[0] == 3 && again.window[3] == 6 &&
		   memcmp(again.data, mel_set_image(&mix, 0, 3), sizeof(float) * mel_set_pixels(&mix) * 4) == 0,
		   "the mix kept at the piano's windows: 4 images, windows 3..6, the mix's images of them");
	tap_ok(mel_set_keep_windows(&again, &piano) == 4 && again.window[0] == 3,
		   "narrowing again by the same windows keeps them all");
	mel_set_free(&again);

	tap_ok(build_logged(root, &tracks, &fe, cache, &again, dir, "; 1 tracks read") &&
		   same_set(&piano, &again), "read back from the cache: the same images and window numbers");
	mel_set_free(&again);
	for (int damage = 0; damage < 2; damage++)
	{
		tap_ok((damage ? cut_short : swap_first_windows) (cache, "mel-piano-") &&
			   build_logged(root, &tracks, &fe, cache, &again, dir, "; 0 tracks read") &&
			   same_set(&piano, &again), "a cache file %s is computed anew",
			   damage ? "cut short" : "whose window numbers do not ascend");
		mel_set_free(&again);
		tap_ok(build_logged(root, &tracks, &fe, cache, &again, dir, "; 1 tracks read") &&
			   same_set(&piano, &again), "... and its file written again");
		mel_set_free(&again);
	}

	/*
	 * the same track linked into another corpus under another name (as the
	 * combined corpora are made) is read from the same file
	 */
	snprintf(other, sizeof(other), "%s/other", dir);
	snprintf(link, sizeof(link), "%s/TrackB00001", other);
	slakh_tracks_add(&linked, "TrackB00001");
	tap_ok(mkdir(other, 0777) == 0 && symlink(root_track, link) == 0 &&
		   build_logged(other, &linked, &fe, cache, &again, dir, "; 1 tracks read") &&
		   same_set(&piano, &again), "a track linked under another name shares its cache file");
	mel_set_free(&again);
	slakh_tracks_free(&linked);
	tap_ok(mel_set_build(root, &tracks, SLAKH_PIANO, &fe, 2, 1, cache, &again, err, sizeof(err)) == 0 &&
		   again.n_segs[0] == 2 && again.window[1] == 4, "at most 2 per track: the first two sounding windows");
	mel_set_free(&again);

	mel_set_free(&mix);
	mel_set_free(&piano);
	slakh_tracks_free(&tracks);
	test_keep_two_tracks();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done();
}
