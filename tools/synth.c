/*
 * instsim-synth: builds training corpora in the Slakh2100 layout.
 *
 *   generate  composes songs from a seed and renders them (see song.h)
 *   render    renders Standard MIDI Files and the MIDI songs inside WAD
 *             files, one stem per instrument part
 *   select    applies the paper's selection and writes ROOT/split.yaml
 *
 * generate and render finish with select.  Tracks are spread over --jobs
 * threads, each with its own FluidSynth renderer and soundfonts; the output
 * does not depend on the number of jobs.
 */
#define _GNU_SOURCE				/* nftw */

#include "corpus.h"
#include "errbuf.h"
#include "midi_set.h"
#include "pool.h"
#include "rand.h"
#include "render.h"
#include "select.h"
#include "slakh.h"
#include "song.h"
#include "soundfonts.h"
#include "split.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_SECONDS 900.0
#define MAX_MIDI_ARGS 64

typedef struct options
{
	const char *out;
	int			n_midi;
	const char *midi[MAX_MIDI_ARGS];
	int			n_soundfonts;
	const char *soundfont[SOUNDFONTS_MAX];
	render_choice choice;
	const char *split_out;
	int			tracks;
	int			jobs;
	uint64_t	seed;
	uint64_t	split_seed;
	double		seconds;
	double		max_seconds;
	double		test_fraction;
	int			min_segments;
	int			select_inst;	/* -1: every instrument, else the mix and this one */
	const char *test_soundfont;	/* hold out the tracks it played */
	bool		dry;
	bool		no_select;
} options;

static void
usage(FILE *f)
{
	fprintf(f,
			"usage:\n"
			"  instsim-synth generate --out DIR --tracks N --seed S [--seconds SEC] [options]\n"
			"  instsim-synth render --midi FILE_OR_DIR [--midi ...] --out DIR [options]\n"
			"  instsim-synth select DIR [--split-out FILE] [selection options]\n"
			"\n"
			"Writes tracks in the Slakh2100 layout (DIR/TrackNNNNN/{metadata.yaml,mix.flac,\n"
			"stems/SNN.flac,all_src.mid}), then selects tracks with enough non-silent\n"
			"segments in every instrument and writes the train/test split to DIR/%s.\n"
			"render takes MIDI files, WAD files (their MIDI lumps) and directories of\n"
			"them (*.mid, *.midi, *.wad).\n"
			"\n"
			"options:\n"
			"  --jobs J            worker threads (default: online CPUs)\n"
			"  --seed S            generate: the songs; both: the soundfont draw (default 0)\n"
			"  --seconds SEC       generate: minimum song length (default %.0f)\n"
			"  --max-seconds SEC   render: cut longer MIDI files (default %.0f)\n"
			"  --soundfont FILE    .sf2 or .sf3; give it up to %d times (default %s)\n"
			"  --soundfont-choice song|stem\n"
			"                      with several soundfonts, draw one per song (default)\n"
			"                      or one per part\n"
			"  --dry               no reverb or chorus\n"
			"  --no-select         skip the selection step\n"
			"selection options:\n"
			"  --min-segments N    non-silent 3-s segments needed per instrument (default %d)\n"
			"  --test-fraction F   share of selected tracks held out (default %.2f)\n"
			"  --split-seed S      seed of the test draw (default 0)\n"
			"  --instrument X      only the mix and X need the segments (a split for a model\n"
			"                      of X; keeps songs that lack another instrument)\n"
			"  --test-soundfont F  hold out every track played by soundfont F (its file name,\n"
			"                      with or without extension) instead of a random share;\n"
			"                      tracks it played in part are left out\n",
			SPLIT_FILE, SONG_DEFAULT_SECONDS, DEFAULT_MAX_SECONDS, SOUNDFONTS_MAX,
			RENDER_DEFAULT_SOUNDFONT, SELECT_MIN_SEGMENTS, SELECT_TEST_FRACTION);
}

static int
parse_u64(const char *s, uint64_t *v)
{
	char	   *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || end == s || *end || *s == '-' ? -1 : 0;
}

static int
parse_double(const char *s, double *v)
{
	char	   *end;

	*v = strtod(s, &end);
	return end == s || *end ? -1 : 0;
}

static int
parse_options(int argc, char **argv, options *o)
{
	static const struct option longopts[] = {
		{"out", required_argument, NULL, 'o'},
		{"midi", required_argument, NULL, 'm'},
		{"tracks", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"seconds", required_argument, NULL, 'S'},
		{"max-seconds", required_argument, NULL, 'M'},
		{"jobs", required_argument, NULL, 'j'},
		{"soundfont", required_argument, NULL, 'f'},
		{"soundfont-choice", required_argument, NULL, 'c'},
		{"dry", no_argument, NULL, 'd'},
		{"no-select", no_argument, NULL, 'N'},
		{"min-segments", required_argument, NULL, 'g'},
		{"test-fraction", required_argument, NULL, 't'},
		{"split-seed", required_argument, NULL, 'p'},
		{"split-out", required_argument, NULL, 'O'},
		{"instrument", required_argument, NULL, 'I'},
		{"test-soundfont", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	long		cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int			c;
	int			li = 0;
	uint64_t	u;

	memset(o, 0, sizeof(*o));
	o->jobs = cpus > 0 ? (int) cpus : 1;
	o->seconds = SONG_DEFAULT_SECONDS;
	o->max_seconds = DEFAULT_MAX_SECONDS;
	o->test_fraction = SELECT_TEST_FRACTION;
	o->min_segments = SELECT_MIN_SEGMENTS;
	o->select_inst = -1;
	while ((c = getopt_long(argc, argv, "", longopts, &li)) != -1)
	{
		bool		bad = false;

		switch (c)
		{
			case 'o':
				o->out = optarg;
				break;
			case 'm':
				if (o->n_midi == MAX_MIDI_ARGS)
				{
					fprintf(stderr, "instsim-synth: at most %d --midi (name a directory "
							"holding them)\n", MAX_MIDI_ARGS);
					return -1;
				}
				o->midi[o->n_midi++] = optarg;
				break;
			case 'n':
				bad = parse_u64(optarg, &u) || u < 1 || u > 99999;
				o->tracks = (int) u;
				break;
			case 's':
				bad = parse_u64(optarg, &o->seed);
				break;
			case 'S':
				bad = parse_double(optarg, &o->seconds) || !(o->seconds >= 1 && o->seconds <= 1800);
				break;
			case 'M':
				bad = parse_double(optarg, &o->max_seconds) || !(o->max_seconds >= 1);
				break;
			case 'j':
				bad = parse_u64(optarg, &u) || u < 1 || u > 256;
				o->jobs = (int) u;
				break;
			case 'f':
				if (o->n_soundfonts == SOUNDFONTS_MAX)
				{
					fprintf(stderr, "instsim-synth: at most %d --soundfont\n", SOUNDFONTS_MAX);
					return -1;
				}
				o->soundfont[o->n_soundfonts++] = optarg;
				break;
			case 'c':
				bad = strcmp(optarg, "song") != 0 && strcmp(optarg, "stem") != 0;
				o->choice = strcmp(optarg, "stem") == 0 ? RENDER_CHOICE_STEM : RENDER_CHOICE_SONG;
				break;
			case 'd':
				o->dry = true;
				break;
			case 'N':
				o->no_select = true;
				break;
			case 'g':
				bad = parse_u64(optarg, &u) || u > 100000;
				o->min_segments = (int) u;
				break;
			case 't':
				bad = parse_double(optarg, &o->test_fraction) ||
					!(o->test_fraction >= 0 && o->test_fraction < 1);
				break;
			case 'p':
				bad = parse_u64(optarg, &o->split_seed);
				break;
			case 'O':
				o->split_out = optarg;
				break;
			case 'I':
				bad = (o->select_inst = slakh_inst_parse(optarg)) < 0;
				break;
			case 'F':
				o->test_soundfont = optarg;
				break;
			case 'h':
				usage(stdout);
				exit(0);
			default:
				return -1;
		}
		if (bad)
		{
			fprintf(stderr, "instsim-synth: bad value \"%s\" for --%s\n", optarg,
					longopts[li].name);
			return -1;
		}
	}
	return 0;
}

static int
make_out_dir(const char *dir)
{
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
	{
		fprintf(stderr, "instsim-synth: cannot create %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- rendering workers ----------------------------------------------------- */

static void *
renderer_init(void *ctx, char *err, size_t errlen)
{
	const options *o = ctx;

	return renderer_new(o->soundfont, o->n_soundfonts, o->choice, !o->dry, err, errlen);
}

static void
renderer_fini(void *state)
{
	renderer_free(state);
}

static void
track_dir(const options *o, int item, char *path, size_t len)
{
	snprintf(path, len, "%s/Track%05d", o->out, item + 1);
}

/* The per-track seed: tracks are independent of each other and of --tracks. */
static uint64_t
track_seed(uint64_t seed, int item)
{
	uint64_t	x = seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t) (item + 1));

	return is_rng_splitmix(&x);
}

static int
generate_one(void *ctx, void *state, int item, char *err, size_t errlen)
{
	const options *o = ctx;
	char		dir[PATH_MAX];
	char		source[512];
	smf			song_midi;
	song_info	info;
	uint8_t    *all = NULL;
	size_t		all_len = 0;
	corpus_part_midi parts = {0};
	uint8_t    *part_buf[SONG_MAX_PARTS] = {0};
	size_t		part_len[SONG_MAX_PARTS] = {0};
	render_out	r;
	int			rc;

	track_dir(o, item, dir, sizeof(dir));
	if (song_generate(track_seed(o->seed, item), o->seconds, &song_midi, &info, err, errlen) != 0)
		return -1;
	rc = smf_write(&song_midi, NULL, &all, &all_len);
	for (int i = 0; rc == 0 && i < info.n_parts; i++)
	{
		bool		keep[SMF_MAX_TRACKS] = {false};

		keep[info.part_track[i]] = true;
		rc = smf_write(&song_midi, keep, &part_buf[i], &part_len[i]);
	}
	smf_free(&song_midi);
	if (rc != 0)
		rc = is_fail(err, errlen, "out of memory writing MIDI");
	if (rc == 0)
		rc = renderer_render(state, all, all_len, o->seconds * 4 + 60, o->seed, &r, err, errlen);
	if (rc == 0)
	{
		/* Stems are rendered per channel; each song part has a channel of its own. */
		for (int k = 0; k < r.n_parts; k++)
			for (int i = 0; i < info.n_parts; i++)
				if (info.part_channel[i] == r.parts[k].channel)
				{
					parts.data[k] = part_buf[i];
					parts.len[k] = part_len[i];
				}
		snprintf(source, sizeof(source), "instsim-synth generate --seed %llu, track %d: %s",
				 (unsigned long long) o->seed, item + 1, info.summary);
		rc = corpus_write_track(dir, &r, all, all_len, &parts, source, err, errlen);
		render_out_free(&r);
	}
	free(all);
	for (int i = 0; i < SONG_MAX_PARTS; i++)
		free(part_buf[i]);
	if (rc != 0)
	{
		char		msg[TOOL_ERRLEN];

		snprintf(msg, sizeof(msg), "%s", err);
		is_fail(err, errlen, "%s: %s", dir, msg);
	}
	return rc;
}

/* ---- MIDI input ------------------------------------------------------------ */

static midi_set songs;
static slakh_tracks dir_files;	/* collect_file's result, one directory at a time */

static int
collect_file(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	const char *dot = strrchr(path, '.');

	(void) sb;
	(void) ftw;
	if (type == FTW_F && dot && (strcasecmp(dot, ".mid") == 0 || strcasecmp(dot, ".midi") == 0 ||
								 strcasecmp(dot, ".wad") == 0))
		return slakh_tracks_add(&dir_files, path) != 0;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Adds one file; a file that cannot be used is reported and skipped, as a failed track is. */
static void
add_input(const char *path, int *n_bad)
{
	char		err[TOOL_ERRLEN];
	bool		is_wad;
	wad_music	w;

	if (midi_set_add_file(&songs, path, &is_wad, &w, err, sizeof(err)) != 0)
	{
		fprintf(stderr, "instsim-synth: %s (skipped)\n", err);
		(*n_bad)++;
	}
	else if (is_wad)
		printf("%s: %d MIDI songs; skipped %d MUS songs, %d empty markers and %d other "
			   "lumps (levels, graphics, sounds) of %d\n", path, w.n_midi, w.n_mus,
			   w.n_empty, w.n_other, w.n_lumps);
}

/* A file, a WAD, or a directory of them (searched in name order). */
static int
add_inputs(const char *path, int *n_bad)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
	{
		fprintf(stderr, "instsim-synth: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode))
	{
		add_input(path, n_bad);
		return 0;
	}
	if (nftw(path, collect_file, 32, FTW_PHYS) != 0)
	{
		fprintf(stderr, "instsim-synth: cannot list %s\n", path);
		slakh_tracks_free(&dir_files);
		return -1;
	}
	if (dir_files.n > 1)
		qsort(dir_files.names, (size_t) dir_files.n, sizeof(char *), cmp_str);
	for (int i = 0; i < dir_files.n; i++)
		add_input(dir_files.names[i], n_bad);
	slakh_tracks_free(&dir_files);
	return 0;
}

static void
report_duplicate(void *ctx, const char *source, const char *kept)
{
	(void) ctx;
	printf("%s: skipped, the same MIDI data as %s\n", source, kept);
}

static int
render_one(void *ctx, void *state, int item, char *err, size_t errlen)
{
	const options *o = ctx;
	const midi_song *song = &songs.songs[item];
	char		dir[PATH_MAX];
	uint8_t    *midi;
	size_t		len = 0;
	render_out	r;
	int			rc;

	track_dir(o, item, dir, sizeof(dir));
	if (midi_song_read(song, &midi, &len, err, errlen) != 0)
		return -1;
	rc = renderer_render(state, midi, len, o->max_seconds, o->seed, &r, err, errlen);
	if (rc == 0)
	{
		rc = corpus_write_track(dir, &r, midi, len, NULL, song->source, err, errlen);
		render_out_free(&r);
	}
	free(midi);
	if (rc != 0)
	{
		char		msg[TOOL_ERRLEN];

		snprintf(msg, sizeof(msg), "%s", err);
		is_fail(err, errlen, "%s: %s", song->source, msg);
	}
	return rc;
}

/* ---- selection ------------------------------------------------------------- */

typedef struct select_job
{
	const char *root;
	const options *o;
	slakh_tracks tracks;
	int			(*counts)[SLAKH_N_INST];
	signed char *held_out;		/* with --test-soundfont */
	unsigned	signals;		/* the signals that count */
} select_job;

/* key (a stem's soundfont file name) names soundfont, with or without extension */
static bool
same_soundfont(const char *key, const char *soundfont)
{
	size_t		n = strlen(soundfont);

	return strncmp(key, soundfont, n) == 0 && (key[n] == '\0' || key[n] == '.');
}

/* 1 when soundfont played every stem of the track, 0 when none, -1 when some. */
static int
played_by(const char *dir, const char *soundfont, char *err, size_t errlen)
{
	char		path[PATH_MAX];
	slakh_meta	m;
	int			hits = 0,
				stems;

	snprintf(path, sizeof(path), "%s/%s", dir, SLAKH_META_FILE);
	if (slakh_meta_read(path, &m, err, errlen) != 0)
		return -2;
	for (int i = 0; i < m.n_stems; i++)
		hits += same_soundfont(m.stems[i].soundfont, soundfont);
	stems = m.n_stems;
	slakh_meta_free(&m);
	return hits == 0 ? 0 : hits == stems ? 1 : -1;
}

static int
count_one(void *ctx, void *state, int item, char *err, size_t errlen)
{
	select_job *j = ctx;
	char		dir[PATH_MAX];

	(void) state;
	snprintf(dir, sizeof(dir), "%s/%s", j->root, j->tracks.names[item]);
	if (select_count_track(dir, j->o->min_segments, j->signals, j->counts[item], err, errlen) != 0 ||
		(j->held_out && (j->held_out[item] = (signed char) played_by(dir, j->o->test_soundfont,
																	 err, errlen)) == -2))
	{
		char		msg[TOOL_ERRLEN];

		snprintf(msg, sizeof(msg), "%s", err);
		is_fail(err, errlen, "%s (excluded): %s", dir, msg);
		return -1;
	}
	return 0;
}

static int
run_select(const char *root, const options *o)
{
	select_job	j = {.root = root, .o = o};
	pool_task	t = {.jobs = o->jobs, .what = "tracks checked", .ctx = &j, .run = count_one};
	corpus_split split;
	select_rule rule;
	char		err[TOOL_ERRLEN];
	char		path[PATH_MAX];
	int			rc;

	if (slakh_list_tracks(root, &j.tracks, err, sizeof(err)) != 0)
	{
		fprintf(stderr, "instsim-synth: %s\n", err);
		return 1;
	}
	if (j.tracks.n == 0)
	{
		fprintf(stderr, "instsim-synth: no Track*/%s under %s\n", SLAKH_META_FILE, root);
		return 1;
	}
	j.counts = calloc((size_t) j.tracks.n, sizeof(*j.counts));
	if (o->test_soundfont)
		j.held_out = calloc((size_t) j.tracks.n, 1);
	if (!j.counts || (o->test_soundfont && !j.held_out))
	{
		free(j.counts);
		slakh_tracks_free(&j.tracks);
		fprintf(stderr, "instsim-synth: out of memory\n");
		return 1;
	}
	t.n_items = j.tracks.n;
	j.signals = o->select_inst < 0 ? SELECT_ALL : SELECT_SIGNAL(SLAKH_MIX) | SELECT_SIGNAL(o->select_inst);
	rule = (select_rule) {.signals = j.signals, .min_segments = o->min_segments,
	.test_fraction = o->test_fraction, .seed = o->split_seed, .held_out = j.held_out};
	rc = pool_run(&t, err, sizeof(err)) < 0 ||
		select_split(&j.tracks, (const int (*)[SLAKH_N_INST]) j.counts, &rule, &split) != 0;
	if (!rc)
	{
		if (o->split_out)
			snprintf(path, sizeof(path), "%s", o->split_out);
		else
			snprintf(path, sizeof(path), "%s/%s", root, SPLIT_FILE);
		rc = split_write(path, &split, err, sizeof(err)) != 0;
		if (!rc)
		{
			char		test_by[PATH_MAX] = "",
						signals[64];

			if (o->test_soundfont)
				snprintf(test_by, sizeof(test_by), " (played by %s)", o->test_soundfont);
			if (o->select_inst < 0)
				snprintf(signals, sizeof(signals), "some instrument");
			else if (o->select_inst == SLAKH_MIX)
				snprintf(signals, sizeof(signals), "the mix");
			else
				snprintf(signals, sizeof(signals), "the mix or %s", slakh_inst_name(o->select_inst));
			printf("%d tracks: %d train, %d test%s, %d excluded (fewer than %d non-silent "
				   "segments in %s%s); split in %s\n",
				   j.tracks.n, split.train.n, split.test.n, test_by, split.excluded.n,
				   o->min_segments, signals, o->test_soundfont ? ", or played by it in part" : "", path);
		}
		split_free(&split);
	}
	if (rc)
		fprintf(stderr, "instsim-synth: %s\n", err[0] ? err : "out of memory");
	free(j.counts);
	free(j.held_out);
	slakh_tracks_free(&j.tracks);
	return rc;
}

/* ---- commands -------------------------------------------------------------- */

static int
run_pool(const options *o, int n, int (*run) (void *, void *, int, char *, size_t))
{
	pool_task	t = {.n_items = n, .jobs = o->jobs, .what = "tracks rendered",
	.ctx = (void *) o, .init = renderer_init, .fini = renderer_fini, .run = run};
	char		err[TOOL_ERRLEN] = "";
	int			failed = pool_run(&t, err, sizeof(err));

	if (failed < 0)
	{
		fprintf(stderr, "instsim-synth: %s\n", err);
		return 1;
	}
	if (failed == n)
	{
		fprintf(stderr, "instsim-synth: no track could be rendered\n");
		return 1;
	}
	return o->no_select ? 0 : run_select(o->out, o);
}

static int
cmd_generate(const options *o)
{
	if (!o->out || o->tracks < 1)
	{
		fprintf(stderr, "instsim-synth generate: --out and --tracks are required\n");
		return 2;
	}
	if (make_out_dir(o->out) != 0)
		return 1;
	return run_pool(o, o->tracks, generate_one);
}

static int
cmd_render(const options *o)
{
	int			n_bad = 0;
	int			n_dup;
	int			rc;

	if (!o->out || o->n_midi == 0)
	{
		fprintf(stderr, "instsim-synth render: --midi and --out are required\n");
		return 2;
	}
	for (int i = 0; i < o->n_midi; i++)
		if (add_inputs(o->midi[i], &n_bad) != 0)
		{
			midi_set_free(&songs);
			return 1;
		}
	if ((n_dup = midi_set_drop_duplicates(&songs, report_duplicate, NULL)) < 0)
	{
		fprintf(stderr, "instsim-synth: out of memory\n");
		midi_set_free(&songs);
		return 1;
	}
	printf("%d songs to render (%d duplicates and %d unusable files skipped)\n",
		   songs.n, n_dup, n_bad);
	if (songs.n == 0)
	{
		fprintf(stderr, "instsim-synth: no MIDI songs in the --midi inputs\n");
		return 1;
	}
	fflush(stdout);				/* before the workers' progress on stderr */
	rc = make_out_dir(o->out) != 0 ? 1 : run_pool(o, songs.n, render_one);
	midi_set_free(&songs);
	return rc;
}

int
main(int argc, char **argv)
{
	options		o;
	const char *cmd = argc > 1 ? argv[1] : "";

	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
	{
		usage(stdout);
		return 0;
	}
	if (parse_options(argc - 1, argv + 1, &o) != 0)
	{
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "generate") == 0)
		return cmd_generate(&o);
	if (strcmp(cmd, "render") == 0)
		return cmd_render(&o);
	if (strcmp(cmd, "select") == 0)
	{
		if (optind + 1 != argc - 1)
		{
			fprintf(stderr, "instsim-synth select: give one corpus directory\n");
			return 2;
		}
		return run_select(argv[optind + 1], &o);
	}
	usage(stderr);
	return 2;
}
