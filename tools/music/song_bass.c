/*
 * Bass lines: a per-song rhythm cell replayed over the chords (root pulse,
 * root-fifth, syncopated funk, disco octaves, kick-following, sustained,
 * reggae), or a walking line that approaches each next chord.
 */
#include "song_int.h"

enum bass_style
{
	B_ROOT8, B_ROOT_FIFTH, B_WALKING, B_SYNCO, B_OCTAVE, B_KICK, B_SUSTAIN,
	B_REGGAE, B_N
};

static const char *const names[B_N] = {
	"root-eighths", "root-fifth", "walking", "syncopated", "octaves",
	"kick-following", "sustained", "one-drop"
};

/* Styles and programs that suit each groove (-1 ends a list). */
static const int styles_for[DR_N][4] = {
	[DR_ROCK] = {B_ROOT8, B_KICK, B_ROOT_FIFTH, -1},
	[DR_POP] = {B_KICK, B_ROOT8, B_SUSTAIN, B_OCTAVE},
	[DR_FUNK] = {B_SYNCO, B_OCTAVE, -1},
	[DR_DISCO] = {B_OCTAVE, B_SYNCO, -1},
	[DR_HALFTIME] = {B_SUSTAIN, B_ROOT8, B_KICK, -1},
	[DR_SHUFFLE] = {B_WALKING, B_ROOT_FIFTH, -1},
	[DR_JAZZ] = {B_WALKING, -1},
	[DR_BOSSA] = {B_ROOT_FIFTH, -1},
	[DR_REGGAE] = {B_REGGAE, -1},
	[DR_HIPHOP] = {B_SUSTAIN, B_KICK, B_SYNCO, -1},
	[DR_WALTZ] = {B_ROOT_FIFTH, B_SUSTAIN, -1},
};

static const int programs_for[DR_N][4] = {
	[DR_ROCK] = {33, 34, 34, 33},
	[DR_POP] = {33, 34, 38, 35},
	[DR_FUNK] = {36, 37, 33, 38},
	[DR_DISCO] = {33, 38, 39, 36},
	[DR_HALFTIME] = {34, 33, 39, 38},
	[DR_SHUFFLE] = {32, 33, 32, 34},
	[DR_JAZZ] = {32, 32, 35, 33},
	[DR_BOSSA] = {32, 35, 33, 32},
	[DR_REGGAE] = {33, 35, 38, 33},
	[DR_HIPHOP] = {38, 39, 33, 35},
	[DR_WALTZ] = {32, 33, 35, 32},
};

static const feel bass_feel = {{4, 12}, {4, 12}, {95, 120}, {56, 72}, {0, 30}, {20, 60}};

const char *
bass_style_name(int style)
{
	return style >= 0 && style < B_N ? names[style] : "?";
}

int
bass_pick(song *s, part *p)
{
	const int  *st = styles_for[s->drum_style];
	int			n = 0;

	while (n < 4 && st[n] >= 0)
		n++;
	p->style = st[rand_below(&s->rng, (uint32_t) n)];
	p->program = programs_for[s->drum_style][rand_below(&s->rng, 4)];
	part_feel(s, p, &bass_feel);
	if (p->program != 35)		/* only the fretless gets chorus */
		p->chorus = 0;
	return 0;
}

static void
build_cell(song *s, int style, cell *c)
{
	int			steps = s->steps;

	switch (style)
	{
		case B_ROOT8:
			for (int st = 0; st < steps; st += 2)
				cell_add(c, st, 1.7, 0, st % 4 == 0 ? 100 : 84);
			break;
		case B_ROOT_FIFTH:
			if (s->beats == 3)
				cell_add(c, 0, 11, 0, 100);
			else
			{
				cell_add(c, 0, 6, 0, 100);
				if (rand_chance(&s->rng, 0.5))
					cell_add(c, 6, 2, CELL_FIFTH, 80);
				cell_add(c, 8, 7, CELL_FIFTH, 92);
			}
			break;
		case B_OCTAVE:
			for (int st = 0; st < steps; st += 2)
				cell_add(c, st, 1.5, st % 4 == 0 ? 0 : CELL_OCTAVE, st % 4 == 0 ? 100 : 88);
			break;
		case B_SUSTAIN:
			cell_add(c, 0, steps / 2.0 - 0.5, 0, 96);
			cell_add(c, steps / 2.0, steps / 2.0 - 0.5, rand_chance(&s->rng, 0.3) ? CELL_FIFTH : 0, 88);
			break;
		case B_REGGAE:
			cell_add(c, 2, 1.5, 0, 96);
			cell_add(c, 4, 2.5, 0, 92);
			cell_add(c, 7, 1, CELL_FIFTH, 80);
			cell_add(c, 10, 1.5, 2, 88);
			if (rand_chance(&s->rng, 0.5))
				cell_add(c, 13, 2, CELL_OCTAVE, 80);
			break;
		case B_SYNCO:
		case B_KICK:
			{
				double		p_hit = style == B_SYNCO ? 0.45 : 0.3;
				int			grid = style == B_SYNCO ? 1 : 2;
				int			last = 0;

				cell_add(c, 0, 1, 0, 108);
				for (int st = grid; st < steps; st += grid)
				{
					int			tone;

					if (!rand_chance(&s->rng, p_hit))
						continue;
					c->hit[c->n - 1].len = (st - last) * (style == B_SYNCO ? 0.6 : 0.9);
					if (rand_chance(&s->rng, 0.5))
						tone = 0;
					else if (style == B_SYNCO && rand_chance(&s->rng, 0.5))
						tone = rand_chance(&s->rng, 0.6) ? CELL_OCTAVE : 3;
					else
						tone = CELL_FIFTH;
					cell_add(c, st, 1, tone, st % 4 == 0 ? 100 : 84);
					last = st;
				}
				c->hit[c->n - 1].len = (steps - last) * 0.8;
			}
			break;
	}
}

/* A walking line: chord tones on beats 1-3, a chromatic or scale approach on 4. */
static void
walk(song *s, part *p, int bar, int lo)
{
	for (int beat = 0; beat < s->beats; beat++)
	{
		const chord *ch = song_chord_at(s, bar, beat * 4);
		int			root = key_at_or_above(ch->root, lo);
		int			key;

		if (beat == 0)
			key = root;
		else if (beat == s->beats - 1)
		{
			const chord *next = song_chord_at(s, bar + 1, 0);
			int			target = key_at_or_above(next->root, lo);

			key = target + (rand_chance(&s->rng, 0.5) ? 1 : -1) * (rand_chance(&s->rng, 0.6) ? 1 : 2);
		}
		else
			key = root + cell_interval(ch, (int) rand_below(&s->rng, (uint32_t) ch->n));
		part_note(p, song_tick(s, bar, beat * 4), PPQ * 0.9, key,
				  beat == 0 ? 100 : 88);
	}
}

void
bass_compose(song *s, part *p)
{
	cell		c = {0};
	int			lo = (p->program >= 38 && rand_chance(&s->rng, 0.3)) ? 36 : 28;

	build_cell(s, p->style, &c);
	for (int bar = 0; bar < s->n_bars; bar++)
	{
		const section *sec = song_section(s, bar);

		if (p->style == B_WALKING && sec->energy > 0)
		{
			walk(s, p, bar, lo);
			continue;
		}
		for (int i = 0; i < c.n; i++)
		{
			const cell_hit *h = &c.hit[i];
			const chord *ch = song_chord_at(s, bar, h->step);
			int			root = key_at_or_above(ch->root, lo);

			/* Quiet sections keep only the downbeats. */
			if (sec->energy == 0 && (int) h->step % (s->steps / 2) != 0)
				continue;
			part_note(p, song_tick(s, bar, h->step), h->len * PPQ / 4.0,
					  root + cell_interval(ch, h->tone), h->vel - (sec->energy == 0 ? 12 : 0));
		}
	}
	{
		const chord *ch = song_chord_at(s, s->n_bars - 1, s->steps - 1);

		part_note(p, song_tick(s, s->n_bars, 0), PPQ * 2.0, key_at_or_above(ch->root, lo), 100);
	}
}
