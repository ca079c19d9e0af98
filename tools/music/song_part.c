#include "song_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
part_feel(song *s, part *p, const feel *f)
{
	p->timing_ms = rand_range(&s->rng, f->timing_ms[0], f->timing_ms[1]);
	p->vel_spread = rand_range(&s->rng, f->vel_spread[0], f->vel_spread[1]);
	p->volume = rand_range(&s->rng, f->volume[0], f->volume[1]);
	p->pan = rand_range(&s->rng, f->pan[0], f->pan[1]);
	p->reverb = rand_range(&s->rng, f->reverb[0], f->reverb[1]);
	p->chorus = rand_range(&s->rng, f->chorus[0], f->chorus[1]);
}

void
part_note(part *p, double tick, double dur, int key, int vel)
{
	if (p->failed || key < 0 || key > 127 || dur <= 0)
		return;
	if (p->n == p->cap)
	{
		size_t		cap = p->cap ? p->cap * 2 : 1024;
		note	   *n = realloc(p->notes, cap * sizeof(note));

		if (!n)
		{
			p->failed = true;
			return;
		}
		p->notes = n;
		p->cap = cap;
	}
	p->notes[p->n++] = (note)
	{
		tick, dur, key, vel < 1 ? 1 : vel > 127 ? 127 : vel
	};
}

static int
cmp_note(const void *a, const void *b)
{
	const note *x = a,
			   *y = b;

	if (x->tick != y->tick)
		return x->tick < y->tick ? -1 : 1;
	return x->key - y->key;
}

/* Timing and velocity spread, then integer ticks. */
static void
humanise(song *s, part *p)
{
	double		ticks_per_ms = s->bpm / 60.0 * PPQ / 1000.0;

	for (size_t i = 0; i < p->n; i++)
	{
		note	   *n = &p->notes[i];
		double		t = n->tick + song_noise(s) * p->timing_ms * ticks_per_ms;

		n->tick = floor(t < 0 ? 0 : t + 0.5);
		n->dur = floor(n->dur + 0.5);
		if (n->dur < 1)
			n->dur = 1;
		n->vel += (int) lrint(song_noise(s) * p->vel_spread);
		n->vel = n->vel < 1 ? 1 : n->vel > 127 ? 127 : n->vel;
	}
	qsort(p->notes, p->n, sizeof(note), cmp_note);
}

void
part_to_smf(song *s, part *p, smf *out, int t)
{
	ptrdiff_t	last[128];

	humanise(s, p);
	for (int k = 0; k < 128; k++)
		last[k] = -1;
	/* A repeated key must end before it sounds again, or its note-off would cut the new note. */
	for (size_t i = 0; i < p->n; i++)
	{
		note	   *n = &p->notes[i];
		ptrdiff_t	j = last[n->key];

		if (j >= 0)
		{
			note	   *prev = &p->notes[j];

			if (prev->tick >= n->tick)
			{
				n->vel = 0;		/* same key, same tick: keep the first */
				continue;
			}
			if (prev->tick + prev->dur >= n->tick)
				prev->dur = n->tick - prev->tick - 1 > 0 ? n->tick - prev->tick - 1 : 1;
		}
		last[n->key] = (ptrdiff_t) i;
	}
	smf_program(out, t, 0, p->channel, p->program);
	smf_cc(out, t, 0, p->channel, 7, p->volume);
	smf_cc(out, t, 0, p->channel, 10, p->pan);
	smf_cc(out, t, 0, p->channel, 91, p->reverb);
	smf_cc(out, t, 0, p->channel, 93, p->chorus);
	for (size_t i = 0; i < p->n; i++)
		if (p->notes[i].vel > 0)
			smf_note(out, t, (uint32_t) p->notes[i].tick, (uint32_t) p->notes[i].dur,
					 p->channel, p->notes[i].key, p->notes[i].vel);
}

void
cell_add(cell *c, double step, double len, int tone, int vel)
{
	if (c->n < CELL_MAX)
		c->hit[c->n++] = (cell_hit)
		{
			step, len, tone, vel
		};
}

int
cell_interval(const chord *ch, int tone)
{
	if (tone == CELL_OCTAVE)
		return 12;
	if (tone == CELL_FIFTH)
		return 7;
	return ch->iv[tone % ch->n] + 12 * (tone / ch->n);
}

int
key_at_or_above(int pc, int lo)
{
	return lo + ((pc - lo) % 12 + 12) % 12;
}

void
song_ending(song *s, part *p, const int *keys, int n)
{
	for (int i = 0; i < n; i++)
		part_note(p, song_tick(s, s->n_bars, 0) + i * 8.0, PPQ * 2.0, keys[i], 92);
}

int
song_voicing(const chord *ch, int lo, int *keys)
{
	for (int i = 0; i < ch->n; i++)
		keys[i] = key_at_or_above((ch->root + ch->iv[i]) % 12, lo);
	return ch->n;
}
