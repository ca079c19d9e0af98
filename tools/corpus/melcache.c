#include "melcache.h"
#include "errbuf.h"
#include "pool.h"
#include "sample_array.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mel.h"
#include "segment.h"

#define CACHE_MAGIC "ISMELC02"	/* 02: with the window numbers */

/* FNV-1a, 64 bit. */
static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

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
				sum += fnv(dir_files_hash(path, depth - 1), e->d_name, strlen(e->d_name) + 1);
			continue;
		}
		v[0] = st.st_size;
		v[1] = st.st_mtim.tv_sec;
		v[2] = st.st_mtim.tv_nsec;
		sum += fnv(fnv(0xcbf29ce484222325ULL, e->d_name, strlen(e->d_name) + 1), v, sizeof(v));
	}
	closedir(d);
	return sum;
}

static uint64_t
cache_key(const char *root, const slakh_tracks *tracks, slakh_inst inst,
		  const is_frontend *fe, int max_segs)
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	double		f[] = {fe->sample_rate, fe->segment_s, fe->hop_s, fe->silence_dbfs, fe->n_fft,
	fe->hop_length, fe->n_mels, fe->f_min, fe->f_max, fe->log_offset, inst, max_segs};

	h = fnv(h, root, strlen(root) + 1);
	for (int i = 0; i < tracks->n; i++)
	{
		char		dir[4096];
		uint64_t	files;

		h = fnv(h, tracks->names[i], strlen(tracks->names[i]) + 1);
		snprintf(dir, sizeof(dir), "%s/%s", root, tracks->names[i]);
		files = dir_files_hash(dir, 1);
		h = fnv(h, &files, sizeof(files));
	}
	return fnv(h, f, sizeof(f));
}

/* ---- computing --------------------------------------------------------- */

typedef struct build_ctx
{
	const char *root;
	const slakh_tracks *tracks;
	slakh_inst	inst;
	const is_frontend *fe;
	int			max_segs;
	size_t		image;			/* floats per image */
	float	  **images;			/* per track, malloc'd */
	int32_t   **windows;		/* per track, malloc'd */
	int		   *n_segs;
} build_ctx;

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

static int
build_track(void *p, void *state, int item, char *err, size_t errlen)
{
	build_ctx  *c = p;
	char		dir[4096];
	float	   *x = NULL;
	size_t		n = 0;
	sample_array rd;
	is_segmenter *sg;
	is_segment	seg;
	is_audio_error ae = {0};
	int			rc,
				cap = c->max_segs;

	snprintf(dir, sizeof(dir), "%s/%s", c->root, c->tracks->names[item]);
	if (slakh_load(dir, NULL, c->inst, &x, &n, err, errlen) != 0)
		return -1;
	if (!x)
		return 0;				/* the track lacks this instrument */
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
alloc_set(mel_set *s, int n_tracks)
{
	s->n_tracks = n_tracks;
	s->n_segs = calloc(n_tracks ? n_tracks : 1, sizeof(int));
	s->first = calloc(n_tracks ? n_tracks : 1, sizeof(size_t));
	return s->n_segs && s->first ? 0 : -1;
}

static int
compute(const char *root, const slakh_tracks *tracks, slakh_inst inst,
		const is_frontend *fe, int max_segs, int jobs, mel_set *s, char *err, size_t errlen)
{
	build_ctx	c = {root, tracks, inst, fe, max_segs, mel_set_pixels(s),
		calloc(tracks->n ? tracks->n : 1, sizeof(float *)),
	calloc(tracks->n ? tracks->n : 1, sizeof(int32_t *)), s->n_segs};
	pool_task	task = {.n_items = tracks->n, .jobs = jobs, .what = "tracks", .ctx = &c,
	.init = worker_init, .fini = worker_fini, .run = build_track};
	int			failed;

	if (!c.images || !c.windows)
	{
		free(c.images);
		free(c.windows);
		return is_fail(err, errlen, "out of memory");
	}
	failed = pool_run(&task, err, errlen);
	if (failed == 0)
	{
		for (int k = 0; k < tracks->n; k++)
		{
			s->first[k] = s->n_images;
			s->n_images += s->n_segs[k];
		}
		s->data = malloc(sizeof(float) * c.image * (s->n_images ? s->n_images : 1));
		s->window = malloc(sizeof(int32_t) * (s->n_images ? s->n_images : 1));
		if (!s->data || !s->window)
			failed = is_fail(err, errlen, "out of memory for %zu mel images", s->n_images);
		for (int k = 0; failed == 0 && k < tracks->n; k++)
			if (s->n_segs[k])
			{
				memcpy(s->data + s->first[k] * c.image, c.images[k], sizeof(float) * c.image * s->n_segs[k]);
				memcpy(s->window + s->first[k], c.windows[k], sizeof(int32_t) * s->n_segs[k]);
			}
	}
	else if (failed > 0)
		is_fail(err, errlen, "%d track(s) could not be read (see above)", failed);
	for (int k = 0; k < tracks->n; k++)
	{
		free(c.images[k]);
		free(c.windows[k]);
	}
	free(c.images);
	free(c.windows);
	return failed == 0 ? 0 : -1;
}

/* ---- the cache file ---------------------------------------------------- */

/*
 * mel_set_find_window searches a track's window numbers by bisection: a
 * damaged cache whose numbers do not ascend would match the wrong images.
 */
static bool
windows_ascend(const mel_set *s)
{
	for (int t = 0; t < s->n_tracks; t++)
		for (int i = 0; i < s->n_segs[t]; i++)
		{
			int32_t		w = s->window[s->first[t] + i];

			if (w < 0 || (i > 0 && w <= s->window[s->first[t] + i - 1]))
				return false;
		}
	return true;
}

/* Header: magic, key, n_tracks, n_mels, frames; then n_segs[], window[], images. */
static int
cache_read(const char *path, uint64_t key, mel_set *s)
{
	FILE	   *f = fopen(path, "rb");
	char		magic[8];
	uint64_t	k;
	int32_t		dims[3];
	int			ok = 0;

	if (!f)
		return -1;
	if (fread(magic, 8, 1, f) == 1 && memcmp(magic, CACHE_MAGIC, 8) == 0 &&
		fread(&k, sizeof(k), 1, f) == 1 && k == key &&
		fread(dims, sizeof(dims), 1, f) == 1 && dims[0] == s->n_tracks &&
		dims[1] == s->n_mels && dims[2] == s->frames &&
		fread(s->n_segs, sizeof(int), s->n_tracks, f) == (size_t) s->n_tracks)
	{
		size_t		image = mel_set_pixels(s);

		ok = 1;
		for (int t = 0; t < s->n_tracks; t++)
		{
			ok &= s->n_segs[t] >= 0 && s->n_segs[t] < (1 << 24);
			s->first[t] = s->n_images;
			s->n_images += s->n_segs[t];
		}
		s->window = ok ? malloc(sizeof(int32_t) * (s->n_images ? s->n_images : 1)) : NULL;
		s->data = ok ? malloc(sizeof(float) * image * (s->n_images ? s->n_images : 1)) : NULL;
		ok = s->data && s->window &&
			fread(s->window, sizeof(int32_t), s->n_images, f) == s->n_images &&
			windows_ascend(s) &&
			fread(s->data, sizeof(float) * image, s->n_images, f) == s->n_images &&
			fgetc(f) == EOF;
	}
	fclose(f);
	if (!ok)
	{
		free(s->data);
		free(s->window);
		s->data = NULL;
		s->window = NULL;
		s->n_images = 0;
		memset(s->n_segs, 0, sizeof(int) * s->n_tracks);
	}
	return ok ? 0 : -1;
}

/* Written to a temporary name and renamed, so a crash never leaves half a cache. */
static int
cache_write(const char *path, uint64_t key, const mel_set *s, char *err, size_t errlen)
{
	char		tmp[4200];
	FILE	   *f;
	int32_t		dims[3] = {s->n_tracks, s->n_mels, s->frames};
	int			ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long) getpid());
	f = fopen(tmp, "wb");
	if (!f)
		return is_fail(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
	ok = fwrite(CACHE_MAGIC, 8, 1, f) == 1 && fwrite(&key, sizeof(key), 1, f) == 1 &&
		fwrite(dims, sizeof(dims), 1, f) == 1 &&
		fwrite(s->n_segs, sizeof(int), s->n_tracks, f) == (size_t) s->n_tracks &&
		fwrite(s->window, sizeof(int32_t), s->n_images, f) == s->n_images &&
		fwrite(s->data, sizeof(float) * mel_set_pixels(s), s->n_images, f) == s->n_images;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0)
	{
		unlink(tmp);
		return is_fail(err, errlen, "cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

int
mel_set_build(const char *root, const slakh_tracks *tracks, slakh_inst inst,
			  const is_frontend *fe, int max_segs, int jobs, const char *cache_dir,
			  mel_set *out, char *err, size_t errlen)
{
	char		path[4096] = "";
	uint64_t	key = cache_key(root, tracks, inst, fe, max_segs);
	char		merr[256];
	is_mel	   *probe = is_mel_new(fe, is_segment_samples(fe), merr, sizeof(merr));

	memset(out, 0, sizeof(*out));
	if (!probe)
		return is_fail(err, errlen, "front end: %s", merr);
	out->n_mels = is_mel_bands(probe);
	out->frames = is_mel_frames(probe);
	is_mel_free(probe);
	if (alloc_set(out, tracks->n) < 0)
		return is_fail(err, errlen, "out of memory");
	if (cache_dir)
	{
		snprintf(path, sizeof(path), "%s/mel-%s-%016llx.bin", cache_dir,
				 slakh_inst_name(inst), (unsigned long long) key);
		if (cache_read(path, key, out) == 0)
		{
			fprintf(stderr, "mel features: %zu segments from %s\n", out->n_images, path);
			return 0;
		}
	}
	if (compute(root, tracks, inst, fe, max_segs, jobs, out, err, errlen) < 0)
	{
		mel_set_free(out);
		return -1;
	}
	if (cache_dir)
	{
		if (mkdir(cache_dir, 0777) != 0 && errno != EEXIST)
			fprintf(stderr, "warning: cannot create %s: %s (features not cached)\n",
					cache_dir, strerror(errno));
		else if (cache_write(path, key, out, merr, sizeof(merr)) < 0)
			fprintf(stderr, "warning: %s (features not cached)\n", merr);
	}
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
