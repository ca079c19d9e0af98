/*
 * Guitar parts, voiced like a six-string: chords take E- or A-shape barre
 * voicings (root on the 6th or 5th string below the 8th fret) and strums
 * spread their notes string by string.  Styles: strummed patterns, finger
 * picking, palm-muted power chords, funk scratches with stabs, a pentatonic
 * riff per song replayed on each chord, off-beat skanks, four-to-the-bar
 * jazz comping.
 */
#include "song_int.h"

enum guitar_style
{
	G_STRUM, G_PICK, G_POWER, G_FUNK, G_RIFF, G_SKANK, G_COMP, G_N
};

static const char *const names[G_N] = {
	"strum", "picking", "power-chords", "funk", "riff", "skank", "comping"
};

static const int styles_for[DR_N][3] = {
	[DR_ROCK] = {G_POWER, G_STRUM, G_RIFF},
	[DR_POP] = {G_STRUM, G_PICK, G_STRUM},
	[DR_FUNK] = {G_FUNK, G_FUNK, G_RIFF},
	[DR_DISCO] = {G_FUNK, G_SKANK, G_FUNK},
	[DR_HALFTIME] = {G_POWER, G_RIFF, G_PICK},
	[DR_SHUFFLE] = {G_RIFF, G_STRUM, G_COMP},
	[DR_JAZZ] = {G_COMP, G_PICK, G_COMP},
	[DR_BOSSA] = {G_PICK, G_COMP, G_PICK},
	[DR_REGGAE] = {G_SKANK, G_SKANK, G_PICK},
	[DR_HIPHOP] = {G_PICK, G_FUNK, G_RIFF},
	[DR_WALTZ] = {G_STRUM, G_PICK, G_PICK},
};

static const int programs_for[G_N][3] = {
	[G_STRUM] = {25, 24, 27},
	[G_PICK] = {24, 25, 27},
	[G_POWER] = {30, 29, 30},
	[G_FUNK] = {27, 28, 26},
	[G_RIFF] = {29, 30, 27},
	[G_SKANK] = {27, 28, 26},
	[G_COMP] = {26, 26, 27},
};

/* Strum patterns over the bar's eighths: D down, U up, '.' rest. */
static const char *const strums4[] = {"D.DU.UDU", "D.D.D.D.", "D.DUD.DU", "DUDUDUDU", "D..UD.DU"};
static const char *const strums3[] = {"D.DUDU", "D.D.D.", "D..UDU"};

#define GUITAR_STRINGS 6

typedef struct guitar
{
	double		stagger;		/* ticks between strings in a strum */
	const char *strum;
	cell		cell;			/* rhythm (funk, skank) or riff */
	int			power_lo;
} guitar;

const char *
guitar_style_name(int style)
{
	return style >= 0 && style < G_N ? names[style] : "?";
}

static const feel guitar_feel = {{6, 16}, {6, 14}, {80, 110}, {20, 108}, {10, 70}, {0, 70}};

int
guitar_pick(song *s, part *p)
{
	p->style = styles_for[s->drum_style][rand_below(&s->rng, 3)];
	p->program = programs_for[p->style][rand_below(&s->rng, 3)];
	part_feel(s, p, &guitar_feel);
	if (p->program != 26 && p->program != 27)	/* chorus on clean and jazz guitars */
		p->chorus = 0;
	return 0;
}

/* A barre voicing, low string first; returns the number of strings. */
static int
shape(const chord *ch, int *keys)
{
	int			root = key_at_or_above(ch->root, 40);	/* 6th string, fret 0-11 */
	int			third = ch->iv[1];
	int			fifth = ch->iv[2];
	int			top = ch->n == 4 ? ch->iv[3] : 12;
	int			n = GUITAR_STRINGS;

	if (root > 47)
	{
		root = key_at_or_above(ch->root, 45);	/* A shape on the 5th string */
		n = 5;
	}
	keys[0] = root;
	keys[1] = root + fifth;
	keys[2] = root + top;
	keys[3] = root + 12 + third;
	keys[4] = root + 12 + fifth;
	keys[5] = root + 24;
	return n;
}

static void
strum(song *s, part *p, const guitar *g, double tick, double dur, const chord *ch,
	  bool up, int vel, int first, int last)
{
	int			keys[GUITAR_STRINGS];
	int			n = shape(ch, keys);

	if (last > n)
		last = n;
	for (int i = first; i < last; i++)
	{
		int			k = up ? last - 1 - (i - first) : i;

		part_note(p, tick + (i - first) * g->stagger, dur, keys[k], vel - (up ? 12 : 0));
	}
}

static void
build(song *s, part *p, guitar *g)
{
	double		ticks_per_ms = s->bpm / 60.0 * PPQ / 1000.0;

	g->stagger = (5 + 10 * is_rng_unit(&s->rng)) * ticks_per_ms;
	g->strum = s->beats == 3 ? strums3[rand_below(&s->rng, 3)] : strums4[rand_below(&s->rng, 5)];
	g->power_lo = rand_chance(&s->rng, 0.6) ? 40 : 45;
	if (p->style == G_FUNK)
		for (int st = 0; st < s->steps; st++)
			cell_add(&g->cell, st, rand_chance(&s->rng, 0.3) ? 1.2 : 0.3, 0,
					 rand_chance(&s->rng, 0.3) ? 96 : 44);
	else if (p->style == G_SKANK)
		for (int st = s->drum_style == DR_REGGAE ? 4 : 2; st < s->steps;
			 st += s->drum_style == DR_REGGAE ? 8 : 4)
			cell_add(&g->cell, st, 1.2, 0, 88);
	else if (p->style == G_RIFF)
	{
		static const int penta_minor[] = {0, 3, 5, 7, 10, 12};
		static const int penta_major[] = {0, 2, 4, 7, 9, 12};
		const int  *scale = s->minor || rand_chance(&s->rng, 0.5) ? penta_minor : penta_major;

		for (int st = 0; st < s->steps && g->cell.n < CELL_MAX;)
		{
			int			len = rand_chance(&s->rng, 0.6) ? 2 : 1;

			if (st == 0 || rand_chance(&s->rng, 0.75))
				cell_add(&g->cell, st, len * 0.9, scale[st == 0 ? 0 : rand_below(&s->rng, 6)],
						 st % 4 == 0 ? 100 : 86);
			st += len;
		}
	}
}

static void
guitar_bar(song *s, part *p, const guitar *g, int bar)
{
	const section *sec = song_section(s, bar);
	int			vel = sec->energy == 0 ? 66 : sec->energy == 1 ? 80 : 94;
	int			keys[GUITAR_STRINGS];

	switch (p->style)
	{
		case G_STRUM:
			for (int e = 0; g->strum[e]; e++)
				if (g->strum[e] != '.' && (sec->energy > 0 || e % 4 == 0))
					strum(s, p, g, song_tick(s, bar, 2 * e), (sec->energy ? 2.0 : 8.0) * PPQ / 4.0,
						  song_chord_at(s, bar, 2 * e), g->strum[e] == 'U', vel,
						  g->strum[e] == 'U' ? 2 : 0, GUITAR_STRINGS);
			break;
		case G_PICK:
			{
				static const int order[] = {0, 3, 2, 4, 1, 3, 5, 4};

				for (int e = 0; e < s->steps / 2; e++)
				{
					int			n = shape(song_chord_at(s, bar, 2 * e), keys);
					int			string = order[e % 8] < n ? order[e % 8] : n - 1;

					part_note(p, song_tick(s, bar, 2 * e), 5 * PPQ / 4.0, keys[string],
							  vel - (e % 2 ? 10 : 0));
				}
			}
			break;
		case G_POWER:
			for (int st = 0; st < s->steps; st += sec->energy == 2 ? 2 : s->steps / 2)
			{
				const chord *ch = song_chord_at(s, bar, st);
				int			root = key_at_or_above(ch->root, g->power_lo);
				double		len = sec->energy == 2 ? 1.0 : s->steps / 2.0 - 0.5;

				part_note(p, song_tick(s, bar, st), len * PPQ / 4.0, root, vel);
				part_note(p, song_tick(s, bar, st) + g->stagger, len * PPQ / 4.0, root + 7, vel);
				part_note(p, song_tick(s, bar, st) + 2 * g->stagger, len * PPQ / 4.0, root + 12, vel);
			}
			break;
		case G_FUNK:
		case G_SKANK:
			for (int i = 0; i < g->cell.n; i++)
			{
				const cell_hit *h = &g->cell.hit[i];

				strum(s, p, g, song_tick(s, bar, h->step), h->len * PPQ / 4.0,
					  song_chord_at(s, bar, h->step), i % 2 == 1, h->vel + vel - 80, 2, 5);
			}
			break;
		case G_RIFF:
			for (int i = 0; i < g->cell.n; i++)
			{
				const cell_hit *h = &g->cell.hit[i];
				const chord *ch = song_chord_at(s, bar, h->step);

				part_note(p, song_tick(s, bar, h->step), h->len * PPQ / 4.0,
						  key_at_or_above(ch->root, g->power_lo) + h->tone, h->vel + vel - 80);
			}
			break;
		case G_COMP:
			for (int beat = 0; beat < s->beats; beat++)
				strum(s, p, g, song_tick(s, bar, 4 * beat), 1.5 * PPQ / 4.0,
					  song_chord_at(s, bar, 4 * beat), false, vel - 6, 0, 4);
			break;
	}
}

void
guitar_compose(song *s, part *p)
{
	guitar		g = {0};
	int			keys[GUITAR_STRINGS];

	build(s, p, &g);
	for (int bar = 0; bar < s->n_bars; bar++)
		if (!song_tacet(s, p, bar))
			guitar_bar(s, p, &g, bar);
	song_ending(s, p, keys, shape(song_chord_at(s, s->n_bars - 1, s->steps - 1), keys));
}
