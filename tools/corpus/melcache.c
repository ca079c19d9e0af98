#include "melcache.h"
#include "errbuf.h"
#include "hash.h"
#include "pool.h"
#include "sample_array.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mel.h"
#include "segment.h"

/*
 * One file per track and signal.  03: per track (02 and before were one file
 * per set of tracks, which each instrument's set repeated: four instruments
 * held four copies of every track's mix, 36 GB for the shipped models'
 * corpora, and computed each again).
 */
#define CACHE_MAGIC "ISMELT03"

/*
 * The files of a directory and of its subdirectories (one level: a track's
 * metadata, mix and stems), each by name, size and modification time, summed
 * so that the directory's listing order does not matter.  A track rendered
 * again gets new times, so the cache misses rather than serve the old audio's
 * features; stat follows the links a combined corpus is made of.
 */
static uint64_t
dir_files_hash(const char *dir, int depth)
{
	uint64_t	sum = 0;
	DIR		   *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
	{
		char		path[4096];
		struct stat st;
		int64_t		v[3];

		if (e->d_name[0] == '.' ||
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int) sizeof(path) ||
			stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
		{
			if (depth > 0)
				sum += fnv1a64(dir_files_hash(path, depth - 1), e->d_name, strlen(e->d_name) + 1);
			continue;
		}
		v[0] = st.st_size;
		v[1] = st.st_mtim.tv_sec;
		v[2] = st.st_mtim.tv_nsec;
		sum += fnv1a64(fnv1a64(FNV1A64_BASIS, e->d_name, strlen(e->d_name) + 1), v, sizeof(v));
	}
	closedir(d);
	return sum;
}

/*
 * A track's signal under one front end: its files (not its name, so the same
 * track linked into several combined corpora shares one file), the signal,
 * every front-end parameter and max_segs.
 */
static uint64_t
track_key(const char *dir, slakh_inst inst, const is_frontend *fe, int max_segs)
{
	uint64_t	files = dir_files_hash(dir, 1);
	double		f[] = {fe->sample_rate, fe->segment_s, fe->hop_s, fe->silence_dbfs, fe->n_fft,
	fe->hop_length, fe->n_mels, fe->f_min, fe->f_max, fe->log_offset, inst, max_segs};

	return fnv1a64(fnv1a64(FNV1A64_BASIS, &files, sizeof(files)), f, sizeof(f));
}

/* ---- one track's cache file ------------------------------------------ */

typedef struct build_ctx
{
	const char *root;
	const slakh_tracks *tracks;
	slakh_inst	inst;
	const is_frontend *fe;
	int			max_segs;
	const char *cache_dir;		/* NULL: no cache */
	int			n_mels,
				frames;
	size_t		image;			/* floats per image */
	float	  **images;			/* per track, malloc'd */
	int32_t   **windows;		/* per track, malloc'd */
	uint64_t   *keys;			/* per track: its cache file's key */
	int		   *n_segs;
	char	   *how;			/* per track: TRACK_CUT, TRACK_READ or TRACK_ABSENT */
} build_ctx;

enum
{
	TRACK_CUT,					/* computed from the audio */
	TRACK_READ,					/* read from its cache file */
	TRACK_ABSENT				/* the track lacks the signal */
};

/* The cache file of the track whose key is key, for this set's signal. */
static void
cache_path(const build_ctx *c, uint64_t key, char *path, size_t len)
{
	snprintf(path, len, "%s/mel-%s-%016llx.bin", c->cache_dir, slakh_inst_name(c->inst),
			 (unsigned long long) key);
}

/*
 * Header: magic, key, n_mels, frames, n_segs; then the window numbers and the
 * images.  A file that does not match in every part is not used: its track
 * is computed again and the file replaced.
 */
#define HEAD_BYTES (8 + sizeof(uint64_t) + 3 * sizeof(int32_t))

/*
 * The header and window numbers of a track's file, checked against the
 * file's size; the images stay on disk until the set is laid out
 * (read_images), so they are read once, into their place.
 */
static int
track_head(const char *path, uint64_t key, build_ctx *c, int item)
{
	FILE	   *f = fopen(path, "rb");
	char		magic[8];
	uint64_t	k;
	int32_t		dims[3];
	struct stat st;
	int			n,
				ok = 0;

	if (!f)
		return -1;
	if (fread(magic, 8, 1, f) == 1 && memcmp(magic, CACHE_MAGIC, 8) == 0 &&
		fread(&k, sizeof(k), 1, f) == 1 && k == key &&
		fread(dims, sizeof(dims), 1, f) == 1 && dims[0] == c->n_mels && dims[1] == c->frames &&
		dims[2] >= 0 && dims[2] < (1 << 24) && fstat(fileno(f), &st) == 0 &&
		(size_t) st.st_size == HEAD_BYTES + (size_t) dims[2] * (sizeof(int32_t) + sizeof(float) * c->image))
	{
		n = dims[2];
		c->windows[item] = malloc(sizeof(int32_t) * (n ? n : 1));
		ok = c->windows[item] && fread(c->windows[item], sizeof(int32_t), n, f) == (size_t) n;
		/*
		 * mel_set_find_window bisects a track's window numbers: numbers that
		 * do not ascend would match the wrong images
		 */
		for (int i = 0; ok && i < n; i++)
			ok = c->windows[item][i] >= 0 && (i == 0 || c->windows[item][i] > c->windows[item][i - 1]);
	}
	fclose(f);
	if (!ok)
	{
		free(c->windows[item]);
		c->windows[item] = NULL;
		return -1;
	}
	c->n_segs[item] = dims[2];
	return 0;
}

/*
 * The images of the tracks found in the cache, straight into the set.  A file
 * that cannot be read now (it passed track_head) is removed, so that the
 * next run computes its track again.
 */
static int
read_images(const build_ctx *c, const mel_set *s, char *err, size_t errlen)
{
	for (int k = 0; k < c->tracks->n; k++)
	{
		char		path[4096];
		FILE	   *f;
		int			ok;

		if (c->how[k] != TRACK_READ)
			continue;
		cache_path(c, c->keys[k], path, sizeof(path));
		f = fopen(path, "rb");
		ok = f && fseek(f, (long) (HEAD_BYTES + sizeof(int32_t) * s->n_segs[k]), SEEK_SET) == 0 &&
			fread(s->data + s->first[k] * c->image, sizeof(float) * c->image, s->n_segs[k], f) ==
			(size_t) s->n_segs[k];
		if (f)
			fclose(f);
		if (!ok)
		{
			unlink(path);
			return is_fail(err, errlen, "%s: cannot read %s (removed: the next run computes it again)",
						   c->tracks->names[k], path);
		}
	}
	return 0;
}

/* Written to a temporary name and renamed, so a crash never leaves half a file. */
static int
track_write(const char *path, uint64_t key, const build_ctx *c, int item, char *err, size_t errlen)
{
	char		tmp[4200];
	FILE	   *f;
	int			n = c->n_segs[item];
	int32_t		dims[3] = {c->n_mels, c->frames, n};
	int			ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp%ld.%d", path, (long) getpid(), item);
	f = fopen(tmp, "wb");
	if (!f)
		return is_fail(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
	ok = fwrite(CACHE_MAGIC, 8, 1, f) == 1 && fwrite(&key, sizeof(key), 1, f) == 1 &&
		fwrite(dims, sizeof(dims), 1, f) == 1 &&
		fwrite(c->windows[item], sizeof(int32_t), n, f) == (size_t) n &&
		fwrite(c->images[item], sizeof(float) * c->image, n, f) == (size_t) n;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0)
	{
		unlink(tmp);
		return is_fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

/* ---- computing --------------------------------------------------------- */

static void *
worker_init(void *p, char *err, size_t errlen)
{
	build_ctx  *c = p;

	return is_mel_new(c->fe, is_segment_samples(c->fe), err, errlen);
}

static void
worker_fini(void *state)
{
	is_mel_free(state);
}

/* The track's images from the signal: 1 when it lacks the signal, else 0 or -1. */
static int
cut_track(build_ctx *c, void *state, int item, const char *dir, char *err, size_t errlen)
{
	float	   *x = NULL;
	size_t		n = 0;
	sample_array rd;
	is_segmenter *sg;
	is_segment	seg;
	is_audio_error ae = {0};
	int			rc,
				cap = c->max_segs;

	if (slakh_load(dir, NULL, c->inst, &x, &n, err, errlen) != 0)
		return -1;
	if (!x)
		return 1;
	if (cap <= 0)
		cap = (int) (n / is_segment_hop_samples(c->fe)) + 1;
	c->images[item] = malloc(sizeof(float) * c->image * cap);
	c->windows[item] = malloc(sizeof(int32_t) * cap);
	rd = (sample_array) {x, n, 0};
	if (!c->images[item] || !c->windows[item] ||
		is_segmenter_new(c->fe, cap, sample_array_read, &rd, &sg, &ae) != IS_AUDIO_OK)
	{
		free(x);
		return is_fail(err, errlen, "%s: %s", c->tracks->names[item],
					   c->images[item] && c->windows[item] ? ae.message : "out of memory");
	}
	while ((rc = is_segmenter_next(sg, &seg, &ae)) == 1 && c->n_segs[item] < cap)
	{
		c->windows[item][c->n_segs[item]] = (int32_t) seg.index;
		is_mel_compute(state, seg.samples, c->images[item] + c->image * c->n_segs[item]++);
	}
	is_segmenter_free(sg);
	free(x);
	if (rc < 0)
		return is_fail(err, errlen, "%s: %s", c->tracks->names[item], ae.message);
	return 0;
}

static int
build_track(void *p, void *state, int item, char *err, size_t errlen)
{
	build_ctx  *c = p;
	char		dir[4096],
				path[4096] = "",
				werr[512];
	uint64_t	key = 0;
	int			rc;

	snprintf(dir, sizeof(dir), "%s/%s", c->root, c->tracks->names[item]);
	if (c->cache_dir)
	{
		key = c->keys[item] = track_key(dir, c->inst, c->fe, c->max_segs);
		cache_path(c, key, path, sizeof(path));
		if (track_head(path, key, c, item) == 0)
		{
			c->how[item] = TRACK_READ;
			return 0;
		}
	}
	rc = cut_track(c, state, item, dir, err, errlen);
	if (rc < 0)
		return -1;
	c->how[item] = rc == 0 ? TRACK_CUT : TRACK_ABSENT;
	/* a track without the signal has no file: its metadata says so cheaply */
	if (rc == 0 && c->cache_dir && track_write(path, key, c, item, werr, sizeof(werr)) < 0)
		fprintf(stderr, "warning: %s (features not cached)\n", werr);
	return 0;
}

/*
 * A set's images: gigabytes, filled once from the cache, so on 2 MB pages
 * where the kernel offers them (transparent huge pages on request): 512
 * times fewer page faults while the cache is read (a piano run's start:
 * system time 33 -> 14 s).  The advice covers the allocation only, never a
 * neighbour's memory.  free() releases it.
 */
static float *
alloc_images(size_t floats)
{
	const size_t huge = (size_t) 2 << 20;
	size_t		bytes = sizeof(float) * (floats ? floats : 1);
	void	   *p = NULL;

	if (bytes < huge)
		return malloc(bytes);
	if (posix_memalign(&p, huge, bytes) != 0)
		return NULL;
	(void) madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

static int
alloc_set(mel_set *s, int n_tracks)
{
	s->n_tracks = n_tracks;
	s->n_segs = calloc(n_tracks ? n_tracks : 1, sizeof(int));
	s->first = calloc(n_tracks ? n_tracks : 1, sizeof(size_t));
	return s->n_segs && s->first ? 0 : -1;
}

/*
 * Every track's images, each read from its cache file or computed; count[k]:
 * how many tracks were TRACK_CUT, TRACK_READ and TRACK_ABSENT.
 */
static int
compute(build_ctx *c, int jobs, mel_set *s, int count[3], char *err, size_t errlen)
{
	int			n = c->tracks->n;
	pool_task	task = {.n_items = n, .jobs = jobs, .what = "tracks", .ctx = c,
	.init = worker_init, .fini = worker_fini, .run = build_track};
	int			failed;

	c->images = calloc(n ? n : 1, sizeof(float *));
	c->windows = calloc(n ? n : 1, sizeof(int32_t *));
	c->keys = calloc(n ? n : 1, sizeof(uint64_t));
	c->how = calloc(n ? n : 1, sizeof(char));
	failed = c->images && c->windows && c->keys && c->how ? pool_run(&task, err, errlen)
		: is_fail(err, errlen, "out of memory");
	count[TRACK_CUT] = count[TRACK_READ] = count[TRACK_ABSENT] = 0;
	if (failed == 0)
	{
		for (int k = 0; k < n; k++)
		{
			s->first[k] = s->n_images;
			s->n_images += s->n_segs[k];
			count[(int) c->how[k]]++;
		}
		s->data = alloc_images(c->image * s->n_images);
		s->window = malloc(sizeof(int32_t) * (s->n_images ? s->n_images : 1));
		if (!s->data || !s->window)
			failed = is_fail(err, errlen, "out of memory for %zu mel images", s->n_images);
		for (int k = 0; failed == 0 && k < n; k++)
			if (s->n_segs[k])
			{
				if (c->images[k])
					memcpy(s->data + s->first[k] * c->image, c->images[k], sizeof(float) * c->image * s->n_segs[k]);
				memcpy(s->window + s->first[k], c->windows[k], sizeof(int32_t) * s->n_segs[k]);
			}
		if (failed == 0 && count[TRACK_READ])
			failed = read_images(c, s, err, errlen) < 0 ? -1 : 0;
	}
	else if (failed > 0)
		is_fail(err, errlen, "%d track(s) could not be read (see above)", failed);
	for (int k = 0; k < n && c->images && c->windows; k++)
	{
		free(c->images[k]);
		free(c->windows[k]);
	}
	free(c->images);
	free(c->windows);
	free(c->keys);
	free(c->how);
	return failed == 0 ? 0 : -1;
}

int
mel_set_build(const char *root, const slakh_tracks *tracks, slakh_inst inst,
			  const is_frontend *fe, int max_segs, int jobs, const char *cache_dir,
			  mel_set *out, char *err, size_t errlen)
{
	char		merr[256];
	is_mel	   *probe = is_mel_new(fe, is_segment_samples(fe), merr, sizeof(merr));
	build_ctx	c = {.root = root, .tracks = tracks, .inst = inst, .fe = fe, .max_segs = max_segs};
	int			count[3];

	memset(out, 0, sizeof(*out));
	if (!probe)
		return is_fail(err, errlen, "front end: %s", merr);
	out->n_mels = c.n_mels = is_mel_bands(probe);
	out->frames = c.frames = is_mel_frames(probe);
	c.image = mel_set_pixels(out);
	is_mel_free(probe);
	if (alloc_set(out, tracks->n) < 0)
		return is_fail(err, errlen, "out of memory");
	c.n_segs = out->n_segs;
	if (cache_dir && mkdir(cache_dir, 0777) != 0 && errno != EEXIST)
		fprintf(stderr, "warning: cannot create %s: %s (features not cached)\n",
				cache_dir, strerror(errno));
	else
		c.cache_dir = cache_dir;
	if (compute(&c, jobs, out, count, err, errlen) < 0)
	{
		mel_set_free(out);
		return -1;
	}
	if (c.cache_dir)
		fprintf(stderr, "mel features (%s): %zu segments; %d tracks read from %s, %d computed, "
				"%d without the signal\n", slakh_inst_name(inst), out->n_images, count[TRACK_READ],
				cache_dir, count[TRACK_CUT], count[TRACK_ABSENT]);
	return 0;
}

ptrdiff_t
mel_set_find_window(const mel_set *s, int track, int32_t window)
{
	/* a track's windows ascend: the segmenter reads forward */
	size_t		lo = s->first[track],
				end = lo + (size_t) s->n_segs[track],
				hi = end;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (s->window[mid] < window)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < end && s->window[lo] == window ? (ptrdiff_t) lo : -1;
}

size_t
mel_set_keep_windows(mel_set *s, const mel_set *by)
{
	size_t		pixels = mel_set_pixels(s),
				kept = 0;

	for (int t = 0; t < s->n_tracks; t++)
	{
		size_t		from = s->first[t];
		int			n = s->n_segs[t];

		s->first[t] = kept;
		s->n_segs[t] = 0;
		for (size_t i = from; i < from + (size_t) n; i++)
		{
			if (t >= by->n_tracks || mel_set_find_window(by, t, s->window[i]) < 0)
				continue;
			/* kept <= i: moves only ever go toward the front */
			s->window[kept] = s->window[i];
			memmove(s->data + kept * pixels, s->data + i * pixels, sizeof(float) * pixels);
			s->n_segs[t]++;
			kept++;
		}
	}
	s->n_images = kept;
	return kept;
}

void
mel_set_free(mel_set *s)
{
	free(s->n_segs);
	free(s->first);
	free(s->window);
	free(s->data);
	memset(s, 0, sizeof(*s));
}
