#include "corpus.h"
#include "audio_io.h"
#include "errbuf.h"
#include "gm.h"
#include "hash.h"
#include "slakh.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int
make_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0777) != 0 && errno != EEXIST)
		return is_fail(err, errlen, "cannot create %s: %s", path, strerror(errno));
	return 0;
}

static int
write_file(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	FILE	   *f = fopen(path, "wb");
	bool		ok;

	if (!f)
		return is_fail(err, errlen, "cannot create %s: %s", path, strerror(errno));
	ok = fwrite(data, 1, len, f) == len;
	if (fclose(f) != 0)
		ok = false;
	return ok ? 0 : is_fail(err, errlen, "writing %s failed", path);
}

/* FNV-1a over the MIDI bytes and the source, twice with different bases: a stable 128-bit id. */
static void
track_uuid(const void *midi, size_t len, const char *source, char *out, size_t outlen)
{
	uint64_t	h[2] = {FNV1A64_BASIS, 0x84222325cbf29ce4ULL};

	for (int k = 0; k < 2; k++)
		h[k] = fnv1a64(fnv1a64(h[k], midi, len), source, strlen(source));
	snprintf(out, outlen, "%016llx%016llx", (unsigned long long) h[0],
			 (unsigned long long) h[1]);
}

/* Scales stems to put the mix peak at CORPUS_PEAK; returns the mix (malloc'd) and the gain. */
static float *
mix_and_level(render_out *r, double *gain)
{
	float	   *mix = calloc(r->n_frames ? r->n_frames : 1, sizeof(float));
	float		peak = 0.0f;
	float		g;

	if (!mix)
		return NULL;
	for (int p = 0; p < r->n_parts; p++)
		for (size_t i = 0; i < r->n_frames; i++)
			mix[i] += r->stem[p][i];
	for (size_t i = 0; i < r->n_frames; i++)
		peak = fmaxf(peak, fabsf(mix[i]));
	g = peak > 0.0f ? CORPUS_PEAK / peak : 1.0f;
	for (size_t i = 0; i < r->n_frames; i++)
		mix[i] *= g;
	for (int p = 0; p < r->n_parts; p++)
		for (size_t i = 0; i < r->n_frames; i++)
			r->stem[p][i] *= g;
	*gain = g;
	return mix;
}

static void
fill_stem(slakh_stem *st, int i, const render_part *p)
{
	snprintf(st->id, sizeof(st->id), "S%02d", i);
	snprintf(st->inst_class, sizeof(st->inst_class), "%s", gm_inst_class(p->program, p->is_drum));
	st->program_num = p->program;
	st->is_drum = p->is_drum;
	snprintf(st->midi_program_name, sizeof(st->midi_program_name), "%s",
			 p->is_drum ? "Drums" : gm_program_name(p->program));
	snprintf(st->plugin_name, sizeof(st->plugin_name), "%s", p->preset);
	snprintf(st->soundfont, sizeof(st->soundfont), "%s", p->soundfont);
	st->audio_rendered = true;
}

static int
write_midi_files(const char *track_dir, const render_out *r, const void *midi,
				 size_t midi_len, const corpus_part_midi *part_midi,
				 char *err, size_t errlen)
{
	char		path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", track_dir, SLAKH_MIDI_FILE);
	if (write_file(path, midi, midi_len, err, errlen) != 0)
		return -1;
	if (!part_midi)
		return 0;
	snprintf(path, sizeof(path), "%s/MIDI", track_dir);
	if (make_dir(path, err, errlen) != 0)
		return -1;
	for (int i = 0; i < r->n_parts; i++)
	{
		snprintf(path, sizeof(path), "%s/MIDI/S%02d.mid", track_dir, i);
		if (part_midi->data[i] &&
			write_file(path, part_midi->data[i], part_midi->len[i], err, errlen) != 0)
			return -1;
	}
	return 0;
}

int
corpus_write_track(const char *track_dir, render_out *r, const void *midi,
				   size_t midi_len, const corpus_part_midi *part_midi,
				   const char *source, char *err, size_t errlen)
{
	char		path[PATH_MAX];
	slakh_meta	m = {0};
	slakh_stem	stems[RENDER_MAX_PARTS];
	float	   *mix;
	int			rc = 0;

	if (strlen(track_dir) > PATH_MAX - 32)
		return is_fail(err, errlen, "path too long: %s", track_dir);
	snprintf(path, sizeof(path), "%s/stems", track_dir);
	if (make_dir(track_dir, err, errlen) != 0 || make_dir(path, err, errlen) != 0)
		return -1;
	mix = mix_and_level(r, &m.overall_gain);
	if (!mix)
		return is_fail(err, errlen, "out of memory mixing %s", track_dir);
	for (int i = 0; i < r->n_parts && rc == 0; i++)
	{
		fill_stem(&stems[i], i, &r->parts[i]);
		snprintf(path, sizeof(path), "%s/stems/%s.flac", track_dir, stems[i].id);
		rc = audio_write_flac(path, r->stem[i], r->n_frames, r->rate, err, errlen);
	}
	snprintf(path, sizeof(path), "%s/%s", track_dir, SLAKH_MIX_FILE);
	if (rc == 0)
		rc = audio_write_flac(path, mix, r->n_frames, r->rate, err, errlen);
	free(mix);
	if (rc == 0)
		rc = write_midi_files(track_dir, r, midi, midi_len, part_midi, err, errlen);
	if (rc != 0)
		return -1;
	track_uuid(midi, midi_len, source ? source : "", m.uuid, sizeof(m.uuid));
	strcpy(m.audio_dir, "stems");
	if (part_midi)
		strcpy(m.midi_dir, "MIDI");
	snprintf(m.source, sizeof(m.source), "%s", source ? source : "");
	m.normalized = false;
	m.n_stems = r->n_parts;
	m.stems = stems;
	snprintf(path, sizeof(path), "%s/%s", track_dir, SLAKH_META_FILE);
	return slakh_meta_write(path, &m, err, errlen);
}
