#include "smf.h"

#include <stdlib.h>
#include <string.h>

enum
{
	RANK_META, RANK_NOTE_OFF, RANK_CONTROL, RANK_NOTE_ON
};

void
smf_init(smf *s, int division)
{
	memset(s, 0, sizeof(*s));
	s->division = division;
}

void
smf_free(smf *s)
{
	for (int t = 0; t < s->n_tracks; t++)
		free(s->tracks[t].ev);
	memset(s, 0, sizeof(*s));
}

static void
add(smf *s, int track, uint32_t tick, int rank, const uint8_t *data, size_t len)
{
	smf_track  *t;

	if (track < 0 || track >= s->n_tracks || s->failed)
	{
		s->failed = true;
		return;
	}
	t = &s->tracks[track];
	if (t->n == t->cap)
	{
		size_t		cap = t->cap ? t->cap * 2 : 256;
		smf_event  *ev = realloc(t->ev, cap * sizeof(smf_event));

		if (!ev)
		{
			s->failed = true;
			return;
		}
		t->ev = ev;
		t->cap = cap;
	}
	if (len > SMF_EVENT_BYTES)
		len = SMF_EVENT_BYTES;
	t->ev[t->n].tick = tick;
	t->ev[t->n].seq = s->next_seq++;
	t->ev[t->n].rank = (uint8_t) rank;
	t->ev[t->n].len = (uint8_t) len;
	memcpy(t->ev[t->n].data, data, len);
	t->n++;
}

int
smf_add_track(smf *s, const char *name)
{
	uint8_t		ev[SMF_EVENT_BYTES];
	size_t		n = name ? strlen(name) : 0;

	if (s->n_tracks >= SMF_MAX_TRACKS)
		return -1;
	s->n_tracks++;
	if (n)
	{
		if (n > SMF_EVENT_BYTES - 3)
			n = SMF_EVENT_BYTES - 3;
		ev[0] = 0xFF;
		ev[1] = 0x03;
		ev[2] = (uint8_t) n;
		memcpy(ev + 3, name, n);
		add(s, s->n_tracks - 1, 0, RANK_META, ev, n + 3);
	}
	return s->n_tracks - 1;
}

static uint8_t
b7(int v)
{
	return (uint8_t) (v < 0 ? 0 : v > 127 ? 127 : v);
}

void
smf_tempo(smf *s, int track, uint32_t tick, double bpm)
{
	uint32_t	us = (uint32_t) (60000000.0 / bpm + 0.5);
	uint8_t		ev[] = {0xFF, 0x51, 0x03, (uint8_t) (us >> 16), (uint8_t) (us >> 8), (uint8_t) us};

	add(s, track, tick, RANK_META, ev, sizeof(ev));
}

void
smf_time_signature(smf *s, int track, uint32_t tick, int num, int den_pow2)
{
	uint8_t		ev[] = {0xFF, 0x58, 0x04, (uint8_t) num, (uint8_t) den_pow2, 24, 8};

	add(s, track, tick, RANK_META, ev, sizeof(ev));
}

void
smf_program(smf *s, int track, uint32_t tick, int channel, int program)
{
	uint8_t		ev[] = {(uint8_t) (0xC0 | (channel & 15)), b7(program)};

	add(s, track, tick, RANK_CONTROL, ev, sizeof(ev));
}

void
smf_cc(smf *s, int track, uint32_t tick, int channel, int control, int value)
{
	uint8_t		ev[] = {(uint8_t) (0xB0 | (channel & 15)), b7(control), b7(value)};

	add(s, track, tick, RANK_CONTROL, ev, sizeof(ev));
}

void
smf_pitch_bend(smf *s, int track, uint32_t tick, int channel, int value14)
{
	int			v = value14 < 0 ? 0 : value14 > 16383 ? 16383 : value14;
	uint8_t		ev[] = {(uint8_t) (0xE0 | (channel & 15)), (uint8_t) (v & 127), (uint8_t) (v >> 7)};

	add(s, track, tick, RANK_CONTROL, ev, sizeof(ev));
}

void
smf_note(smf *s, int track, uint32_t tick, uint32_t dur, int channel, int key,
		 int velocity)
{
	uint8_t		on[] = {(uint8_t) (0x90 | (channel & 15)), b7(key), (uint8_t) (velocity < 1 ? 1 : b7(velocity))};
	uint8_t		off[] = {(uint8_t) (0x80 | (channel & 15)), b7(key), 64};

	add(s, track, tick, RANK_NOTE_ON, on, sizeof(on));
	add(s, track, tick + (dur ? dur : 1), RANK_NOTE_OFF, off, sizeof(off));
}

static int
cmp_event(const void *pa, const void *pb)
{
	const smf_event *a = pa,
			   *b = pb;

	if (a->tick != b->tick)
		return a->tick < b->tick ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

typedef struct out_buf
{
	uint8_t    *p;
	size_t		n;
	size_t		cap;
	bool		failed;
} out_buf;

static void
put(out_buf *o, const uint8_t *data, size_t len)
{
	if (o->failed)
		return;
	if (o->n + len > o->cap)
	{
		size_t		cap = o->cap ? o->cap : 4096;
		uint8_t    *p;

		while (cap < o->n + len)
			cap *= 2;
		p = realloc(o->p, cap);
		if (!p)
		{
			o->failed = true;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->n, data, len);
	o->n += len;
}

static void
put_be(out_buf *o, uint32_t v, int bytes)
{
	uint8_t		b[4];

	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t) (v >> (8 * (bytes - 1 - i)));
	put(o, b, (size_t) bytes);
}

static void
put_vlq(out_buf *o, uint32_t v)
{
	uint8_t		b[5];
	int			n = 0;

	b[4 - n++] = (uint8_t) (v & 0x7F);
	while ((v >>= 7) != 0)
		b[4 - n++] = (uint8_t) (0x80 | (v & 0x7F));
	put(o, b + 5 - n, (size_t) n);
}

static int
put_track(out_buf *o, const smf_track *t)
{
	static const uint8_t eot[] = {0xFF, 0x2F, 0x00};
	smf_event  *ev = malloc((t->n ? t->n : 1) * sizeof(smf_event));
	size_t		len_at;
	uint32_t	now = 0;

	if (!ev)
		return -1;
	memcpy(ev, t->ev, t->n * sizeof(smf_event));
	qsort(ev, t->n, sizeof(smf_event), cmp_event);
	put(o, (const uint8_t *) "MTrk", 4);
	len_at = o->n;
	put_be(o, 0, 4);
	for (size_t i = 0; i < t->n; i++)
	{
		put_vlq(o, ev[i].tick - now);
		now = ev[i].tick;
		put(o, ev[i].data, ev[i].len);
	}
	put_vlq(o, 0);
	put(o, eot, sizeof(eot));
	free(ev);
	if (!o->failed)
	{
		uint32_t	len = (uint32_t) (o->n - len_at - 4);

		for (int i = 0; i < 4; i++)
			o->p[len_at + i] = (uint8_t) (len >> (8 * (3 - i)));
	}
	return 0;
}

int
smf_write(const smf *s, const bool *keep, uint8_t **buf, size_t *len)
{
	out_buf		o = {0};
	int			n = 0;

	*buf = NULL;
	*len = 0;
	if (s->failed || s->n_tracks < 1)
		return -1;
	for (int t = 0; t < s->n_tracks; t++)
		n += t == 0 || !keep || keep[t];
	put(&o, (const uint8_t *) "MThd", 4);
	put_be(&o, 6, 4);
	put_be(&o, 1, 2);
	put_be(&o, (uint32_t) n, 2);
	put_be(&o, (uint32_t) s->division, 2);
	for (int t = 0; t < s->n_tracks; t++)
		if ((t == 0 || !keep || keep[t]) && put_track(&o, &s->tracks[t]) != 0)
			o.failed = true;
	if (o.failed)
	{
		free(o.p);
		return -1;
	}
	*buf = o.p;
	*len = o.n;
	return 0;
}
