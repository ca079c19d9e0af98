#include "midi_set.h"
#include "errbuf.h"
#include "file_read.h"
#include "hash.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
is_midi(const void *data, size_t len)
{
	return len >= 4 && memcmp(data, "MThd", 4) == 0;
}

/* Appends a song; source and path are copied, data (may be NULL) is taken. */
static int
add_song(midi_set *s, const char *source, const char *path, uint8_t *data,
		 size_t len, uint64_t hash)
{
	midi_song  *song;

	if (s->n == s->cap)
	{
		int			want = s->cap ? s->cap * 2 : 64;
		midi_song  *grown = want > 0 ? realloc(s->songs, sizeof(midi_song) * (size_t) want) : NULL;

		if (!grown)
			return -1;
		s->songs = grown;
		s->cap = want;
	}
	song = &s->songs[s->n];
	memset(song, 0, sizeof(*song));
	song->source = strdup(source);
	song->path = path ? strdup(path) : NULL;
	if (!song->source || (path && !song->path))
	{
		free(song->source);
		free(song->path);
		return -1;
	}
	song->data = data;
	song->len = len;
	song->hash = hash;
	s->n++;
	return 0;
}

static void
free_song(midi_song *song)
{
	free(song->source);
	free(song->path);
	free(song->data);
}

static int
add_wad(midi_set *s, const char *path, const uint8_t *data, size_t len,
		wad_music *wad, char *err, size_t errlen)
{
	const char *base = strrchr(path, '/');
	int			n0 = s->n;

	base = base ? base + 1 : path;
	if (wad_find_midi(data, len, wad, err, errlen) != 0)
		return -1;
	for (int i = 0; i < wad->n_midi; i++)
	{
		const wad_lump *l = &wad->midi[i];
		char		source[PATH_MAX];
		uint8_t    *copy = malloc(l->size);

		if (l->name[0])
			snprintf(source, sizeof(source), "%s:%s", base, l->name);
		else
			snprintf(source, sizeof(source), "%s:#%d", base, l->index);
		if (!copy)
			goto oom;
		memcpy(copy, data + l->offset, l->size);
		if (add_song(s, source, NULL, copy, l->size, fnv1a64(FNV1A64_BASIS, copy, l->size)) != 0)
		{
			free(copy);
			goto oom;
		}
	}
	free(wad->midi);
	wad->midi = NULL;
	return 0;
oom:
	while (s->n > n0)
		free_song(&s->songs[--s->n]);
	wad_music_free(wad);
	return is_fail(err, errlen, "out of memory reading %s", path);
}

int
midi_set_add_file(midi_set *s, const char *path, bool *is_wad, wad_music *wad,
				  char *err, size_t errlen)
{
	char	   *data;
	size_t		len;
	int			rc;

	memset(wad, 0, sizeof(*wad));
	*is_wad = false;
	if (file_read(path, MIDI_SET_MAX_WAD_BYTES, &data, &len, err, errlen) != 0)
		return -1;
	if (wad_is_wad(data, len))
	{
		char		msg[TOOL_ERRLEN];

		*is_wad = true;
		rc = add_wad(s, path, (const uint8_t *) data, len, wad, msg, sizeof(msg));
		if (rc != 0)
			is_fail(err, errlen, "%s: %s", path, msg);
	}
	else if (!is_midi(data, len))
		rc = is_fail(err, errlen, "%s is neither a Standard MIDI File (MThd) nor a WAD "
					 "(IWAD, PWAD)", path);
	else if (len > MIDI_SET_MAX_MIDI_BYTES)
		rc = is_fail(err, errlen, "%s: a MIDI file of %zu bytes is larger than the %u allowed",
					 path, len, MIDI_SET_MAX_MIDI_BYTES);
	else if ((rc = add_song(s, path, path, NULL, len, fnv1a64(FNV1A64_BASIS, data, len))) != 0)
		is_fail(err, errlen, "out of memory listing %s", path);
	free(data);
	return rc;
}

typedef struct by_print
{
	uint64_t	hash;
	size_t		len;
	int			pos;
} by_print;

static int
cmp_print(const void *a, const void *b)
{
	const by_print *x = a,
			   *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

int
midi_set_drop_duplicates(midi_set *s,
						 void (*dropped) (void *ctx, const char *source, const char *kept),
						 void *ctx)
{
	by_print   *order = malloc(sizeof(by_print) * (size_t) (s->n ? s->n : 1));
	int		   *kept_as = malloc(sizeof(int) * (size_t) (s->n ? s->n : 1));
	int			n_dropped = 0,
				w = 0;

	if (!order || !kept_as)
	{
		free(order);
		free(kept_as);
		return -1;
	}
	for (int i = 0; i < s->n; i++)
	{
		order[i].hash = s->songs[i].hash;
		order[i].len = s->songs[i].len;
		order[i].pos = i;
	}
	qsort(order, (size_t) s->n, sizeof(by_print), cmp_print);
	/* Sorted by fingerprint, then position: the first of each run is the earliest. */
	for (int i = 0; i < s->n; i++)
		kept_as[order[i].pos] = i > 0 && order[i].hash == order[i - 1].hash &&
			order[i].len == order[i - 1].len ? kept_as[order[i - 1].pos] : order[i].pos;
	for (int i = 0; i < s->n; i++)
	{
		if (kept_as[i] != i)
		{
			if (dropped)
				dropped(ctx, s->songs[i].source, s->songs[kept_as[i]].source);
			n_dropped++;
		}
	}
	for (int i = 0; i < s->n; i++)
	{
		if (kept_as[i] != i)
			free_song(&s->songs[i]);
		else
			s->songs[w++] = s->songs[i];
	}
	s->n = w;
	free(order);
	free(kept_as);
	return n_dropped;
}

int
midi_song_read(const midi_song *song, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	if (song->path)
		return file_read(song->path, MIDI_SET_MAX_MIDI_BYTES, (char **) buf, len, err, errlen);
	*buf = malloc(song->len ? song->len : 1);
	if (!*buf)
		return is_fail(err, errlen, "out of memory");
	memcpy(*buf, song->data, song->len);
	*len = song->len;
	return 0;
}

void
midi_set_free(midi_set *s)
{
	for (int i = 0; i < s->n; i++)
		free_song(&s->songs[i]);
	free(s->songs);
	memset(s, 0, sizeof(*s));
}
